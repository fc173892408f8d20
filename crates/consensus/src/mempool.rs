//! The mempool: signed transactions waiting for a block, in arrival order.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use tally_chain::{Transaction, TxBody, TxDigests};
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

/// A transaction in the mempool, with what admission computed from its encoding: its hash, its
/// entries' leaf hashes and sealed spans (which the proposer needs again) and its size.
struct Waiting {
    tx: Arc<Transaction>,
    digests: Arc<TxDigests>,
}

/// A transaction the proposer may put in a block, and its digests.
pub type Candidate = (Arc<Transaction>, Arc<TxDigests>);

#[derive(Default)]
pub struct Mempool {
    /// The waiting transactions, oldest first.
    queue: VecDeque<Waiting>,
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
    /// Queues a transaction whose signature verified, with its [`TxDigests`].
    pub fn admit(
        &mut self,
        tx: Arc<Transaction>,
        digests: Arc<TxDigests>,
    ) -> Result<(), AdmitError> {
        let hash = digests.hash;
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
        self.queue.push_back(Waiting { tx, digests });
        Ok(())
    }

    /// Up to `entries_max` entries' and `bytes_max` encoded bytes' worth of transactions, oldest
    /// first, skipping `exclude`. The first transaction is taken whatever its size, so one that
    /// alone exceeds a bound still gets a block.
    pub fn candidates(
        &self,
        entries_max: usize,
        bytes_max: usize,
        exclude: &HashSet<Digest>,
    ) -> Vec<Candidate> {
        let mut out = Vec::new();
        let mut entries = 0;
        let mut bytes = 0;
        for waiting in &self.queue {
            if exclude.contains(&waiting.digests.hash) {
                continue;
            }
            let count = waiting.tx.entry_count().max(1);
            let size = waiting.digests.len;
            if (entries + count > entries_max || bytes + size > bytes_max) && !out.is_empty() {
                break;
            }
            entries += count;
            bytes += size;
            out.push((waiting.tx.clone(), waiting.digests.clone()));
        }
        out
    }

    /// Drops transactions that were committed or can never apply.
    pub fn remove(&mut self, hashes: &HashSet<Digest>) {
        if hashes.is_empty() {
            return;
        }
        let mut kept = VecDeque::with_capacity(self.queue.len());
        for waiting in self.queue.drain(..) {
            if hashes.contains(&waiting.digests.hash) {
                self.hashes.remove(&waiting.digests.hash);
                self.entries -= waiting.tx.entry_count().max(1);
                for id in entry_ids(&waiting.tx) {
                    self.ids.remove(id);
                }
            } else {
                kept.push_back(waiting);
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

    /// Whether a transaction not in `exclude` waits, that is, whether
    /// [`candidates`](Self::candidates) with the same `exclude` would return any.
    pub fn has_candidates(&self, exclude: &HashSet<Digest>) -> bool {
        self.queue
            .iter()
            .any(|waiting| !exclude.contains(&waiting.digests.hash))
    }

    pub fn entries(&self) -> usize {
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_chain::{SignedBatch, SignedTx};
    use tally_identity::SecretKey;
    use tally_ledger::{AccountCode, Currency, Date, EntryDraft, Posting, Side};

    fn draft(id: &str) -> EntryDraft {
        let eur = Currency::from_code("EUR").unwrap();
        let posting = |account: &str, side| Posting {
            account: AccountCode::new(account).unwrap(),
            side,
            amount: 100,
            currency: eur,
        };
        EntryDraft {
            id: EntryId::new(id).unwrap(),
            date: Date::parse("2026-11-24").unwrap(),
            description: String::new(),
            postings: vec![posting("1100", Side::Debit), posting("4000", Side::Credit)],
            references: Vec::new(),
            reverses: None,
            sealed: Default::default(),
            seal_keys: Vec::new(),
        }
    }

    fn digests(tx: &Transaction) -> Arc<TxDigests> {
        Arc::new(TxDigests::of(tx))
    }

    fn single(id: &str) -> Arc<Transaction> {
        let key = SecretKey::from_seed([1; 32]);
        Arc::new(Transaction::Single(SignedTx::sign(
            &key,
            "c",
            TxBody::Post(draft(id)),
        )))
    }

    #[test]
    fn admits_once_and_refuses_a_pending_id_in_another_transaction() {
        let mut pool = Mempool::default();
        let tx = single("a");
        pool.admit(tx.clone(), digests(&tx)).unwrap();
        assert_eq!(
            pool.admit(tx.clone(), digests(&tx)),
            Err(AdmitError::AlreadyPending)
        );
        let key = SecretKey::from_seed([2; 32]);
        let batch = Arc::new(Transaction::Batch(SignedBatch::sign(
            &key,
            "c",
            vec![draft("b"), draft("a")],
        )));
        assert_eq!(
            pool.admit(batch.clone(), digests(&batch)),
            Err(AdmitError::IdPending(EntryId::new("a").unwrap()))
        );
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.entries(), 1);
        assert!(pool.has_id(&EntryId::new("a").unwrap()));
        assert!(!pool.has_id(&EntryId::new("b").unwrap()));
    }

    #[test]
    fn candidates_respect_the_entry_budget_order_and_exclusions() {
        let mut pool = Mempool::default();
        let txs: Vec<_> = (0..5).map(|i| single(&format!("e{i}"))).collect();
        for tx in &txs {
            pool.admit(tx.clone(), digests(tx)).unwrap();
        }
        let exclude: HashSet<Digest> = [txs[1].hash()].into_iter().collect();
        let picked = pool.candidates(3, usize::MAX, &exclude);
        let hashes: Vec<Digest> = picked.iter().map(|(_, digests)| digests.hash).collect();
        assert_eq!(hashes, vec![txs[0].hash(), txs[2].hash(), txs[3].hash()]);
    }

    #[test]
    fn transactions_of_uncommitted_ancestors_are_no_candidates() {
        let mut pool = Mempool::default();
        assert!(!pool.has_candidates(&HashSet::new()));
        let txs: Vec<_> = (0..2).map(|i| single(&format!("e{i}"))).collect();
        for tx in &txs {
            pool.admit(tx.clone(), digests(tx)).unwrap();
        }
        let mut proposed: HashSet<Digest> = [txs[0].hash()].into_iter().collect();
        assert!(pool.has_candidates(&proposed));
        proposed.insert(txs[1].hash());
        assert!(!pool.has_candidates(&proposed));
        assert!(pool
            .candidates(usize::MAX, usize::MAX, &proposed)
            .is_empty());
        assert!(!pool.is_empty());
    }

    #[test]
    fn candidates_respect_the_byte_budget_but_always_take_one() {
        let mut pool = Mempool::default();
        let txs: Vec<_> = (0..5).map(|i| single(&format!("e{i}"))).collect();
        for tx in &txs {
            pool.admit(tx.clone(), digests(tx)).unwrap();
        }
        let size = postcard::experimental::serialized_size(&*txs[0]).unwrap();
        let none = HashSet::new();
        let two = pool.candidates(usize::MAX, 2 * size + size / 2, &none);
        assert_eq!(two.len(), 2);
        let one = pool.candidates(usize::MAX, 1, &none);
        assert_eq!(
            one.len(),
            1,
            "a transaction over the budget alone still gets a block"
        );
    }

    #[test]
    fn remove_forgets_ids_and_counts() {
        let mut pool = Mempool::default();
        let tx = single("a");
        pool.admit(tx.clone(), digests(&tx)).unwrap();
        pool.remove(&[tx.hash()].into_iter().collect());
        assert!(pool.is_empty());
        assert_eq!(pool.entries(), 0);
        assert!(!pool.has_id(&EntryId::new("a").unwrap()));
        pool.admit(tx.clone(), digests(&tx)).unwrap();
    }
}
