//! The mempool: signed transactions waiting for a block, in arrival order.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use tally_chain::{Transaction, TxBody};
use tally_identity::Digest;
use tally_ledger::EntryId;

/// Entries the mempool holds at most. Bounds memory when consensus stalls; a client that meets
/// the bound is told to retry later instead of the node growing without limit.
pub const MEMPOOL_ENTRIES_MAX: usize = 500_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AdmitError {
    #[error("the mempool is full ({max} entries waiting); retry shortly", max = MEMPOOL_ENTRIES_MAX)]
    Full,
    #[error("transaction is already waiting for a block")]
    AlreadyPending,
    #[error("entry id '{0}' is already waiting for a block in another transaction")]
    IdPending(EntryId),
}

#[derive(Default)]
pub struct Mempool {
    queue: VecDeque<(Digest, Arc<Transaction>)>,
    hashes: HashSet<Digest>,
    ids: HashMap<EntryId, Digest>,
    entries: usize,
}

pub(crate) fn entry_ids(tx: &Transaction) -> Vec<&EntryId> {
    match tx {
        Transaction::Single(single) => match &single.body {
            TxBody::Post(entry) => vec![&entry.id],
            _ => Vec::new(),
        },
        Transaction::Batch(batch) => batch.entries.iter().map(|entry| &entry.id).collect(),
    }
}

impl Mempool {
    pub fn admit(&mut self, hash: Digest, tx: Arc<Transaction>) -> Result<(), AdmitError> {
        if self.hashes.contains(&hash) {
            return Err(AdmitError::AlreadyPending);
        }
        let count = tx.entry_count().max(1);
        if self.entries + count > MEMPOOL_ENTRIES_MAX {
            return Err(AdmitError::Full);
        }
        let ids = entry_ids(&tx);
        if let Some(id) = ids.iter().find(|id| self.ids.contains_key(**id)) {
            return Err(AdmitError::IdPending((*id).clone()));
        }
        for id in ids {
            self.ids.insert(id.clone(), hash);
        }
        self.entries += count;
        self.hashes.insert(hash);
        self.queue.push_back((hash, tx));
        Ok(())
    }

    /// Up to `entries_max` entries' worth of transactions, oldest first, skipping `exclude`.
    pub fn candidates(
        &self,
        entries_max: usize,
        exclude: &HashSet<Digest>,
    ) -> Vec<(Digest, Arc<Transaction>)> {
        let mut out = Vec::new();
        let mut entries = 0;
        for (hash, tx) in &self.queue {
            if exclude.contains(hash) {
                continue;
            }
            let count = tx.entry_count().max(1);
            if entries + count > entries_max && !out.is_empty() {
                break;
            }
            entries += count;
            out.push((*hash, tx.clone()));
        }
        out
    }

    /// Drops transactions that were committed or can never apply.
    pub fn remove(&mut self, hashes: &HashSet<Digest>) {
        if hashes.is_empty() {
            return;
        }
        let mut kept = VecDeque::with_capacity(self.queue.len());
        for (hash, tx) in self.queue.drain(..) {
            if hashes.contains(&hash) {
                self.hashes.remove(&hash);
                self.entries -= tx.entry_count().max(1);
                for id in entry_ids(&tx) {
                    self.ids.remove(id);
                }
            } else {
                kept.push_back((hash, tx));
            }
        }
        self.queue = kept;
    }

    pub fn contains(&self, hash: &Digest) -> bool {
        self.hashes.contains(hash)
    }

    pub fn has_id(&self, id: &EntryId) -> bool {
        self.ids.contains_key(id)
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn entries(&self) -> usize {
        self.entries
    }
}
