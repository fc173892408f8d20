//! The chain handle: what the consensus application and the node's API share for one chain.
//!
//! It owns the store, the committed state, the speculative states of blocks not yet final, the
//! mempool and the outcomes of recent transactions.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use tally_chain::{
    execute_block_with, verify_signatures_of, Block, BlockError, ChainState, CloseProgress,
    CommittedEntry, Executed, Executor, Genesis, Store, StoreError, Transaction, TxDigests,
    TxError,
};
use tally_identity::Digest;
use tally_ledger::{EntryId, PostError};
use tokio::sync::watch;

use crate::mempool::{AdmitError, Mempool};

/// Outcomes of recent transactions kept for clients that ask later. Older ones are forgotten;
/// committed entries stay findable by id in the store.
pub const OUTCOMES_MAX: usize = 200_000;

/// Commits whose finality lag is kept for the median: enough to smooth one slow round, few
/// enough that the median follows the network as it changes.
pub const FINALITY_LAG_SAMPLES_MAX: usize = 100;

/// The result of one transaction, as a client may ask for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Committed {
        height: u64,
        /// For a period close sign-off: whether it closed the period, or who still has to sign.
        close: Option<CloseProgress>,
    },
    Rejected {
        reason: String,
    },
}

/// What `submit` answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Receipt {
    /// Waiting for a block.
    Accepted { hash: Digest },
    /// The same transaction was committed before: nothing changed.
    AlreadyCommitted { hash: Digest, height: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("bad signature: the transaction is not signed by {signer} for chain '{chain}'")]
    BadSignature { signer: String, chain: String },
    #[error("{0}")]
    Rejected(#[from] TxError),
    #[error("{0}")]
    Mempool(#[from] AdmitError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("this node observes chain '{chain}' and does not take transactions; submit to one of its validators")]
    Observer { chain: String },
}

/// Execution of a block not yet final, kept so its children can be built and checked.
pub struct Speculative {
    pub block: Arc<Block>,
    pub executed: Executed,
    /// Hashes of this block's transactions and of its uncommitted ancestors'.
    pub chain_txs: HashSet<Digest>,
}

#[derive(Default)]
struct Outcomes {
    map: HashMap<Digest, Outcome>,
    order: VecDeque<Digest>,
}

impl Outcomes {
    fn record(&mut self, hash: Digest, outcome: Outcome) {
        if self.map.insert(hash, outcome).is_none() {
            self.order.push_back(hash);
            if self.order.len() > OUTCOMES_MAX {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }
}

/// Counters for status and metrics.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub blocks: u64,
    pub entries: u64,
    /// Highest height known finalized by consensus (may run ahead of what is committed here).
    pub finalized_tip: u64,
}

/// How long blocks took from their proposer's stamp to their commit on this node, in
/// milliseconds: the last one and the median of the last [`FINALITY_LAG_SAMPLES_MAX`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FinalityLag {
    pub last_ms: Option<u64>,
    pub p50_ms: Option<u64>,
    /// How many commits the median is taken over.
    pub samples: usize,
}

struct Inner {
    genesis: Genesis,
    store: Store,
    committed: RwLock<Arc<ChainState>>,
    speculative: Mutex<HashMap<[u8; 32], Arc<Speculative>>>,
    mempool: Mutex<Mempool>,
    outcomes: Mutex<Outcomes>,
    stats: Mutex<Stats>,
    /// Finality lag of the last commits, oldest first.
    finality_lags: Mutex<VecDeque<u64>>,
    height: watch::Sender<u64>,
    /// Marshal's mailbox, once consensus started: where good copies of damaged blocks come from.
    marshal: std::sync::OnceLock<crate::application::MarshalMailbox>,
    certificates: Option<crate::certificate::CertificateVerifier>,
    repairs: crate::repair::RepairCounters,
    /// Set on an observer's copy: it follows validators and never proposes, so a transaction
    /// left in its mempool would never be committed.
    observer: std::sync::atomic::AtomicBool,
    /// Where submitted transactions go to be relayed to the other validators, once consensus
    /// started (see `relay.rs`).
    relay: std::sync::OnceLock<tokio::sync::mpsc::Sender<Arc<Transaction>>>,
}

#[derive(Clone)]
pub struct ChainHandle {
    inner: Arc<Inner>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("finalized block {height} does not execute on the committed state: {source}")]
    Diverged { height: u64, source: BlockError },
    #[error("finalized block {got} skips ahead of the committed height {committed}")]
    Gap { got: u64, committed: u64 },
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl ChainHandle {
    pub fn new(genesis: Genesis, store: Store) -> Result<ChainHandle, StoreError> {
        let state = store.state()?;
        let stats = Stats {
            blocks: state.height,
            entries: state.log.len(),
            finalized_tip: state.height,
        };
        let (height, _) = watch::channel(state.height);
        // A chain with epochs knows each one's set from its store; a genesis whose validator keys
        // do not decode (test fixtures) has no verifier, and no consensus.
        let records = if store.epoch_schedule().is_enabled() {
            store.epochs()?
        } else {
            Vec::new()
        };
        let certificates =
            crate::certificate::CertificateVerifier::with_epochs(&genesis, records).ok();
        Ok(ChainHandle {
            inner: Arc::new(Inner {
                genesis,
                store,
                committed: RwLock::new(Arc::new(state)),
                speculative: Mutex::new(HashMap::new()),
                mempool: Mutex::new(Mempool::default()),
                outcomes: Mutex::new(Outcomes::default()),
                stats: Mutex::new(stats),
                finality_lags: Mutex::new(VecDeque::new()),
                height,
                marshal: std::sync::OnceLock::new(),
                certificates,
                repairs: crate::repair::RepairCounters::default(),
                observer: std::sync::atomic::AtomicBool::new(false),
                relay: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Marks this copy as an observer's: it follows validators (see [`crate::Follower`]) and
    /// refuses transactions, which only validators propose.
    pub fn set_observer(&self) {
        self.inner
            .observer
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_observer(&self) -> bool {
        self.inner
            .observer
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn genesis(&self) -> &Genesis {
        &self.inner.genesis
    }

    pub fn chain_id(&self) -> &str {
        &self.inner.genesis.chain_id
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Gives the handle marshal's mailbox, to repair damaged blocks from (set once, at start).
    pub fn set_marshal(&self, mailbox: crate::application::MarshalMailbox) {
        let _ = self.inner.marshal.set(mailbox);
    }

    pub(crate) fn marshal(&self) -> Option<&crate::application::MarshalMailbox> {
        self.inner.marshal.get()
    }

    /// The chain's certificate verifier, which knows the validator set of every epoch committed
    /// here (none if the genesis names a malformed validator key).
    pub fn certificate_verifier(&self) -> Option<&crate::certificate::CertificateVerifier> {
        self.inner.certificates.as_ref()
    }

    pub(crate) fn repair_counters(&self) -> &crate::repair::RepairCounters {
        &self.inner.repairs
    }

    /// The state after the last committed block.
    pub fn state(&self) -> Arc<ChainState> {
        self.inner.committed.read().expect("lock").clone()
    }

    pub fn stats(&self) -> Stats {
        *self.inner.stats.lock().expect("lock")
    }

    /// The finality lag of the last commits (none before the first commit since start).
    pub fn finality_lag(&self) -> FinalityLag {
        let lags = self.inner.finality_lags.lock().expect("lock");
        let mut sorted: Vec<u64> = lags.iter().copied().collect();
        sorted.sort_unstable();
        FinalityLag {
            last_ms: lags.back().copied(),
            p50_ms: sorted.get(sorted.len() / 2).copied(),
            samples: sorted.len(),
        }
    }

    /// Records how long a block took from its proposer's stamp to its commit here. The clock is
    /// read for people only: nothing the chain executes depends on it. A proposer clock ahead
    /// of this node's counts as no lag rather than a negative one.
    fn note_finality_lag(&self, proposed_ms: u64) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as u64)
            .unwrap_or(0);
        let mut lags = self.inner.finality_lags.lock().expect("lock");
        lags.push_back(now_ms.saturating_sub(proposed_ms));
        if lags.len() > FINALITY_LAG_SAMPLES_MAX {
            lags.pop_front();
        }
    }

    pub fn mempool_entries(&self) -> usize {
        self.inner.mempool.lock().expect("lock").entries()
    }

    /// A receiver that changes whenever a block is committed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.height.subscribe()
    }

    pub fn outcome(&self, hash: &Digest) -> Option<Outcome> {
        if self.inner.mempool.lock().expect("lock").contains(hash) {
            return Some(Outcome::Pending);
        }
        self.inner
            .outcomes
            .lock()
            .expect("lock")
            .map
            .get(hash)
            .cloned()
    }

    pub fn entry(&self, id: &EntryId) -> Result<Option<CommittedEntry>, StoreError> {
        self.inner.store.entry(id)
    }

    /// Checks a client's transaction against the committed state and queues it for a block.
    ///
    /// Bad signatures and transactions that cannot apply are refused here with the reason, so
    /// the client hears at once. A transaction committed before is answered with its original
    /// result and changes nothing.
    pub fn submit(&self, tx: Transaction) -> Result<Receipt, SubmitError> {
        let chain_id = self.chain_id().to_string();
        if self.is_observer() {
            return Err(SubmitError::Observer { chain: chain_id });
        }
        // Each entry is encoded and hashed once here, for the transaction's hash, the
        // signature's batch root and the pre-execution: entries with sealed fields are a
        // kilobyte each.
        let digests = TxDigests::of(&tx);
        let hash = digests.hash;
        let (domain, message) = tx.signed_message_with(&digests.leaves);
        tx.signer()
            .verify(domain, &chain_id, &message, tx.signature())
            .map_err(|_| SubmitError::BadSignature {
                signer: tx.signer().to_string(),
                chain: chain_id.clone(),
            })?;
        let state = self.state();
        let check = {
            // One read snapshot, as of the state checked against, for all the lookups.
            let base = self.inner.store.at(state.height);
            let mut executor = Executor::new(&state, &base, HashMap::new(), state.time_ms);
            executor.apply_digested(&tx, &digests)
        };
        if let Err(error) = check {
            if let Some(height) = self.committed_before(&tx, &error)? {
                return Ok(Receipt::AlreadyCommitted { hash, height });
            }
            return Err(SubmitError::Rejected(error));
        }
        let tx = Arc::new(tx);
        self.inner
            .mempool
            .lock()
            .expect("lock")
            .admit(tx.clone(), Arc::new(digests))?;
        if let Some(relay) = self.inner.relay.get() {
            // Best effort: when the queue is full the transaction waits for this validator's turn.
            if tx.entry_count().max(1) <= crate::relay::RELAY_TX_ENTRIES_MAX {
                let _ = relay.try_send(tx);
            }
        }
        Ok(Receipt::Accepted { hash })
    }

    pub(crate) fn set_relay(&self, relay: tokio::sync::mpsc::Sender<Arc<Transaction>>) {
        let _ = self.inner.relay.set(relay);
    }

    /// Admits transactions another validator relayed: those not already waiting or decided here
    /// whose signatures verify. Their rules are checked when a block is built on them, like
    /// every candidate's; a relayed transaction is never relayed again. Returns how many were
    /// admitted.
    pub(crate) fn admit_relayed(&self, txs: Vec<Transaction>) -> usize {
        if self.is_observer() {
            return 0;
        }
        let hashed: Vec<(Transaction, TxDigests)> = txs
            .into_iter()
            .map(|tx| {
                let digests = TxDigests::of(&tx);
                (tx, digests)
            })
            .collect();
        let fresh: Vec<(Transaction, TxDigests)> = {
            let mempool = self.inner.mempool.lock().expect("lock");
            let outcomes = self.inner.outcomes.lock().expect("lock");
            hashed
                .into_iter()
                .filter(|(_, digests)| {
                    !mempool.contains(&digests.hash) && !outcomes.map.contains_key(&digests.hash)
                })
                .collect()
        };
        if fresh.is_empty() {
            return 0;
        }
        let chain_id = self.chain_id().to_string();
        let items: Vec<(&Transaction, &[Digest])> = fresh
            .iter()
            .map(|(tx, digests)| (tx, digests.leaves.as_slice()))
            .collect();
        // All at once (batch verification) and, if any fails, one by one to keep the good ones.
        // Verified before the mempool is locked, so proposals and submissions never wait on it.
        let all_good = verify_signatures_of(&chain_id, &items).is_ok();
        let good: Vec<bool> = items
            .iter()
            .map(|item| {
                all_good || verify_signatures_of(&chain_id, std::slice::from_ref(item)).is_ok()
            })
            .collect();
        let mut mempool = self.inner.mempool.lock().expect("lock");
        fresh
            .into_iter()
            .zip(good)
            .filter(|(_, good)| *good)
            .map(|((tx, digests), _)| mempool.admit(Arc::new(tx), Arc::new(digests)).is_ok())
            .filter(|admitted| *admitted)
            .count()
    }

    /// If `tx` failed only because exactly it was committed before, the height it was committed at.
    fn committed_before(
        &self,
        tx: &Transaction,
        error: &TxError,
    ) -> Result<Option<u64>, StoreError> {
        let duplicate = match error {
            TxError::Post(PostError::DuplicateId { .. }) => true,
            TxError::InBatch { source, .. } => {
                matches!(**source, TxError::Post(PostError::DuplicateId { .. }))
            }
            _ => false,
        };
        if !duplicate {
            return Ok(None);
        }
        let drafts: Vec<_> = match tx {
            Transaction::Single(single) => match &single.body {
                tally_chain::TxBody::Post(draft) => vec![draft],
                _ => return Ok(None),
            },
            Transaction::Batch(batch) => batch.entries.iter().collect(),
        };
        let mut height = 0;
        for draft in drafts {
            match self.inner.store.entry(&draft.id)? {
                Some(committed)
                    if committed.entry == *draft && committed.signer == *tx.signer() =>
                {
                    height = height.max(committed.height);
                }
                _ => return Ok(None),
            }
        }
        Ok(Some(height))
    }

    /// Transactions for the next block on top of a chain whose uncommitted part holds `exclude`.
    pub(crate) fn candidates(
        &self,
        entries_max: usize,
        bytes_max: usize,
        exclude: &HashSet<Digest>,
    ) -> Vec<(Transaction, Arc<TxDigests>)> {
        self.inner
            .mempool
            .lock()
            .expect("lock")
            .candidates(entries_max, bytes_max, exclude)
            .into_iter()
            .map(|(tx, digests)| ((*tx).clone(), digests))
            .collect()
    }

    /// Whether a transaction with this hash (which covers its signature) waits in the mempool,
    /// where only transactions whose signature verified are admitted.
    pub(crate) fn has_verified(&self, hash: &Digest) -> bool {
        self.inner.mempool.lock().expect("lock").contains(hash)
    }

    pub(crate) fn mempool_is_empty(&self) -> bool {
        self.inner.mempool.lock().expect("lock").is_empty()
    }

    /// Whether the mempool holds a transaction that is not in `exclude` (the transactions of
    /// the proposal's uncommitted ancestors), that is, one a proposal could include.
    pub(crate) fn has_candidates(&self, exclude: &HashSet<Digest>) -> bool {
        self.inner
            .mempool
            .lock()
            .expect("lock")
            .has_candidates(exclude)
    }

    /// Drops transactions a proposal found invalid and remembers why.
    pub(crate) fn reject(&self, rejected: Vec<(Transaction, TxError)>) {
        if rejected.is_empty() {
            return;
        }
        let mut hashes = HashSet::new();
        let mut outcomes = self.inner.outcomes.lock().expect("lock");
        for (tx, error) in rejected {
            let hash = tx.hash();
            hashes.insert(hash);
            outcomes.record(
                hash,
                Outcome::Rejected {
                    reason: error.to_string(),
                },
            );
        }
        drop(outcomes);
        self.inner.mempool.lock().expect("lock").remove(&hashes);
    }

    pub(crate) fn speculative(&self, digest: &[u8; 32]) -> Option<Arc<Speculative>> {
        self.inner
            .speculative
            .lock()
            .expect("lock")
            .get(digest)
            .cloned()
    }

    pub(crate) fn remember(&self, speculative: Speculative) -> Arc<Speculative> {
        let digest = speculative.executed.state.tip;
        let speculative = Arc::new(speculative);
        self.inner
            .speculative
            .lock()
            .expect("lock")
            .insert(digest, speculative.clone());
        speculative
    }

    pub(crate) fn note_finalized_tip(&self, height: u64) {
        let mut stats = self.inner.stats.lock().expect("lock");
        stats.finalized_tip = stats.finalized_tip.max(height);
    }

    /// Commits a finalized block: executes it (or reuses its speculative execution), writes it
    /// durably, then updates the in-memory state. Redelivered blocks are ignored.
    pub fn commit_finalized(
        &self,
        block: &Block,
        certificate: Option<&[u8]>,
    ) -> Result<(), CommitError> {
        let committed = self.state();
        let height = block.height();
        if height <= committed.height {
            return Ok(());
        }
        if height != committed.height + 1 {
            return Err(CommitError::Gap {
                got: height,
                committed: committed.height,
            });
        }
        let digest = tally_chain::header_digest(&block.header).0;
        // Reuse the execution done when the block was proposed or verified; only the state is
        // copied out of it (entries and the pending overlay can be large).
        let speculative = self
            .speculative(&digest)
            .filter(|_| block.header.parent == committed.tip);
        let fresh;
        let executed: &Executed = match &speculative {
            Some(speculative) => &speculative.executed,
            None => {
                fresh = execute_block_with(
                    &committed,
                    &self.inner.store.at(committed.height),
                    HashMap::new(),
                    block,
                    |hash| self.has_verified(hash),
                )
                .map_err(|source| CommitError::Diverged { height, source })?;
                &fresh
            }
        };
        self.inner
            .store
            .commit_certified(block, executed, certificate)?;
        // A boundary block's commit also stored the validator set of the next epoch: consensus
        // (marshal's provider, the engine of the next epoch) and readers use it from now on.
        if let Some(verifier) = &self.inner.certificates {
            if verifier.schedule().is_last(height) {
                if let Some(record) = self.inner.store.epochs()?.pop() {
                    if let Err(error) = verifier.add_epoch(record) {
                        tracing::error!(%error, height, "the next epoch's validator set is unusable");
                    }
                }
            }
        }
        let state = executed.state.clone();
        let hashes = &executed.tx_hashes;
        *self.inner.committed.write().expect("lock") = Arc::new(state);
        // Outcomes first, then out of the mempool: `outcome` looks in the mempool, then in the
        // outcomes, so a transaction is always in one of them. The other order left a moment
        // when a committed transaction was unknown, and a client that resent it then was told
        // its (already applied) call no longer applies.
        {
            let mut closes: HashMap<u32, &CloseProgress> = executed
                .sign_offs
                .iter()
                .map(|(index, progress)| (*index, progress))
                .collect();
            let mut outcomes = self.inner.outcomes.lock().expect("lock");
            for (index, hash) in hashes.iter().enumerate() {
                let close = closes.remove(&(index as u32)).cloned();
                outcomes.record(*hash, Outcome::Committed { height, close });
            }
        }
        self.inner
            .mempool
            .lock()
            .expect("lock")
            .remove(&hashes.iter().copied().collect());
        self.inner
            .speculative
            .lock()
            .expect("lock")
            .retain(|_, speculative| speculative.block.height() > height);
        {
            let mut stats = self.inner.stats.lock().expect("lock");
            stats.blocks = height;
            stats.entries += block.entry_count() as u64;
            stats.finalized_tip = stats.finalized_tip.max(height);
        }
        self.note_finality_lag(block.header.time_ms);
        self.inner.height.send_replace(height);
        Ok(())
    }

    /// Whether an entry id is waiting in the mempool.
    pub fn is_pending(&self, id: &EntryId) -> bool {
        self.inner.mempool.lock().expect("lock").has_id(id)
    }
}
