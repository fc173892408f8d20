//! Deterministic execution: the state a block leads to, and the rules a block must keep.
//!
//! Nothing here reads the clock or randomness: time comes from the block header, which the
//! proposer stamped. Every honest validator that executes the same block on the same parent state
//! reaches the same state root, or rejects the block for the same reason.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tally_identity::{merkle_root, CertifiedMember, Digest, PublicKey};
use tally_ledger::{
    AccountError, BalancedEntry, EntryDraft, EntryError, EntryId, EntryLookup, KnownEntry, Ledger,
    PostError, Role, ADJUSTS_REFERENCE, SEALED_FIELDS_PER_ENTRY_MAX,
};

use tally_contracts::{Consortium, ContractError, EnterpriseName, HistoryChanges, Signer};

use crate::{
    block::{header_digest, Block, BlockDigest, Header, TXS_PER_BLOCK_MAX},
    close::{CloseError, CloseProgress, CloseSigner, PeriodCloses, TxPlace},
    consortium::{certifying_enterprise, ChainEvent},
    epochs::epoch_state_root,
    log::EntryLog,
    sealing::{MemberStanding, Sealing, SealingError},
    tx::{
        verify_signatures_of, ReadRecord, SealedSpan, SignedTx, Transaction, TxBody, TxDigests,
        BATCH_ENTRIES_MAX, READ_AGE_MAX_MS, READ_SKEW_MAX_MS,
    },
};

/// A member as the chain knows it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MemberRecord {
    pub member: CertifiedMember,
    pub revoked: bool,
    /// On the consortium chain, the enterprise whose root key certified the member; on a private
    /// chain `None` (every member belongs to the chain's enterprise).
    pub enterprise: Option<EnterpriseName>,
}

/// Everything the validity of the next block depends on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChainState {
    pub chain_id: String,
    pub root_key: PublicKey,
    pub height: u64,
    /// Digest of the block this state follows.
    pub tip: [u8; 32],
    pub time_ms: u64,
    pub ledger: Ledger,
    pub members: BTreeMap<PublicKey, MemberRecord>,
    pub log: EntryLog,
    /// The enterprises and contracts of a consortium chain; `None` on a private chain.
    pub consortium: Option<Consortium>,
    /// Append-only log of every contract event (see [`ChainEvent::leaf`]); empty on private chains.
    pub contract_log: EntryLog,
    /// The close policy, the sign-offs of a close under way and every completed close.
    pub closes: PeriodCloses,
    /// The key epochs and grants of the sealed-field categories.
    pub sealing: Sealing,
    /// How many reads of sealed fields the chain recorded.
    pub reads_logged: u64,
    /// Whether the chain's genesis sets `epoch_blocks`: then [`Self::state_root`] also commits to
    /// the validators named for the next epoch. It is not in the snapshot (the snapshot's
    /// encoding stays as it was): [`Genesis::initial_state`](crate::Genesis::initial_state) sets
    /// it and [`Store::state`](crate::Store::state) restores it from the store's genesis.
    #[serde(skip)]
    pub(crate) epochs_enabled: bool,
}

impl ChainState {
    /// The digest every block header carries as `state_root`: the [`Self::legacy_state_root`]
    /// on a chain without epochs; on a chain with epochs, [`epoch_state_root`] of it and the
    /// validators this state names for the next epoch ([`Self::committed_validators`]).
    pub fn state_root(&self) -> Digest {
        let legacy = self.legacy_state_root();
        if self.epochs_enabled {
            epoch_state_root(&legacy, &self.committed_validators())
        } else {
            legacy
        }
    }

    /// Whether this state is of a chain with validator-set epochs (see [`Self::state_root`]).
    pub fn epochs_enabled(&self) -> bool {
        self.epochs_enabled
    }

    /// Digest over the ledger, the membership and the period closes. Entries themselves are
    /// committed by the log root. It is the whole state root of a chain without epochs.
    pub fn legacy_state_root(&self) -> Digest {
        let mut hasher = Sha256::new();
        hasher.update(b"tally/v1/state");
        hasher.update(self.ledger.state_digest());
        hasher.update((self.members.len() as u64).to_be_bytes());
        for (key, record) in &self.members {
            let bytes = postcard::to_stdvec(record).expect("serialising to a Vec cannot fail");
            hasher.update(key.as_bytes());
            hasher.update((bytes.len() as u64).to_be_bytes());
            hasher.update(&bytes);
        }
        // One short record per closed period: hashing them all is cheap, unlike the trial
        // balances, which their sign-off transactions carry (see `close.rs`).
        let closes = postcard::to_stdvec(&self.closes).expect("serialising to a Vec cannot fail");
        hasher.update((closes.len() as u64).to_be_bytes());
        hasher.update(&closes);
        hasher.update(self.sealing.digest());
        hasher.update(self.reads_logged.to_be_bytes());
        if let Some(consortium) = &self.consortium {
            // Contracts are committed through the contract log: hashing every open contract in
            // every block would cost more with each trade.
            hasher.update(consortium.registry_digest());
            hasher.update(self.contract_log.len().to_be_bytes());
            hasher.update(self.contract_log.root());
        }
        hasher.finalize().into()
    }

    pub fn chain_hash(&self) -> Digest {
        chain_hash(&self.chain_id)
    }

    /// The role of an active member at a time, or why it may not act.
    pub fn authorise(&self, signer: &PublicKey, time_ms: u64) -> Result<Role, TxError> {
        let record = self
            .members
            .get(signer)
            .ok_or(TxError::UnknownSigner { signer: *signer })?;
        if record.revoked {
            return Err(TxError::SignerRevoked { signer: *signer });
        }
        if !record.member.is_valid_at(time_ms) {
            return Err(TxError::CertificateExpired { signer: *signer });
        }
        if let (Some(consortium), Some(enterprise)) = (&self.consortium, &record.enterprise) {
            if !consortium.is_active(enterprise) {
                return Err(TxError::EnterpriseRemoved {
                    enterprise: enterprise.clone(),
                });
            }
        }
        Ok(record.member.certificate.role)
    }

    /// The enterprise and role a consortium transaction's signer acts for.
    fn consortium_signer(&self, signer: &PublicKey, role: Role) -> Result<Signer, TxError> {
        let enterprise = self
            .members
            .get(signer)
            .and_then(|record| record.enterprise.clone())
            .ok_or(TxError::NotConsortium)?;
        Ok(Signer { enterprise, role })
    }
}

pub fn chain_hash(chain_id: &str) -> Digest {
    Sha256::digest(format!("tally/v1/chain/{chain_id}").as_bytes()).into()
}

/// An entry as committed: the draft plus who, where and when.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CommittedEntry {
    pub entry: EntryDraft,
    pub signer: PublicKey,
    pub height: u64,
    pub time_ms: u64,
    /// Index of the carrying transaction in its block.
    pub tx_index: u32,
    /// Index inside a batch (0 for a single transaction).
    pub item_index: u32,
    /// Position in the entry log.
    pub log_index: u64,
    pub reversed_by: Option<EntryId>,
}

impl CommittedEntry {
    pub fn known(&self) -> KnownEntry {
        KnownEntry {
            postings: self.entry.postings.clone(),
            reversed_by: self.reversed_by.clone(),
        }
    }

    /// The entry's leaf in the entry log, from its [`entry_leaf`](crate::entry_leaf): it binds the entry to its
    /// signer.
    pub fn log_leaf_of(entry_leaf: &Digest, signer: &PublicKey) -> Digest {
        let mut hasher = Sha256::new();
        hasher.update(entry_leaf);
        hasher.update(signer.as_bytes());
        hasher.finalize().into()
    }
}

/// The ids an entry names as adjusted, through references of kind [`ADJUSTS_REFERENCE`].
pub fn adjusted_ids(draft: &EntryDraft) -> impl Iterator<Item = &str> {
    draft
        .references
        .iter()
        .filter(|reference| reference.kind == ADJUSTS_REFERENCE)
        .map(|reference| reference.value.as_str())
}

/// The entries a committed entry links back to (the one it reverses, those it adjusts): the
/// links an entry's history follows forward.
pub fn linked_ids(draft: &EntryDraft) -> Vec<&str> {
    draft
        .reverses
        .iter()
        .map(|id| id.as_str())
        .chain(adjusted_ids(draft))
        .collect()
}

/// Why one transaction cannot be applied.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TxError {
    #[error("signer {signer} is not a member of this chain")]
    UnknownSigner { signer: PublicKey },
    #[error("signer {signer} was revoked")]
    SignerRevoked { signer: PublicKey },
    #[error("the certificate of signer {signer} is not valid at the block time")]
    CertificateExpired { signer: PublicKey },
    #[error("bad signature")]
    BadSignature,
    #[error("role '{role}' may not {action}")]
    NotAllowed {
        role: &'static str,
        action: &'static str,
    },
    #[error("batch is empty")]
    EmptyBatch,
    #[error("batch has {count} entries, more than the limit of {max}", max = BATCH_ENTRIES_MAX)]
    BatchTooLarge { count: usize },
    #[error("entry {index} of the batch: {source}")]
    InBatch {
        index: usize,
        #[source]
        source: Box<TxError>,
    },
    #[error("{0}")]
    Entry(#[from] EntryError),
    #[error("{0}")]
    Post(#[from] PostError),
    #[error("{0}")]
    Account(#[from] AccountError),
    #[error("{0}")]
    Close(#[from] CloseError),
    #[error("entry id '{0}' appears more than once in this transaction")]
    DuplicateInTransaction(EntryId),
    #[error("the entry adjusts '{adjusted}', which is not a committed entry")]
    UnknownAdjusted { adjusted: String },
    #[error("member certificate: {0}")]
    Certificate(String),
    #[error("member {0} is already registered")]
    MemberExists(PublicKey),
    #[error("member {0} is not registered")]
    MemberUnknown(PublicKey),
    #[error("contract transactions belong on the consortium chain, not on a private chain")]
    NotConsortium,
    #[error("the consortium chain carries no journal entries or accounts; post to your enterprise's private chain")]
    OnConsortium,
    #[error("enterprise {enterprise} was removed from the consortium")]
    EnterpriseRemoved { enterprise: EnterpriseName },
    /// Boxed: contract errors carry names and amounts, and every `Result` of execution would
    /// otherwise grow to their size.
    #[error("{0}")]
    Contract(Box<ContractError>),
    #[error("{0}")]
    Sealing(#[from] SealingError),
    #[error("sealed terms of contract {contract}: {reason}")]
    PartyKey { contract: String, reason: String },
    #[error("the read record names no fields, or more than {max}", max = SEALED_FIELDS_PER_ENTRY_MAX)]
    ReadFields,
    #[error("the read of '{entry}' names an entry that is not committed")]
    ReadUnknownEntry { entry: EntryId },
    #[error("the read is stamped {at_ms} ms, too far from the block time {block_ms} ms (a replayed or delayed read)")]
    ReadStale { at_ms: u64, block_ms: u64 },
}

impl From<ContractError> for TxError {
    fn from(error: ContractError) -> Self {
        TxError::Contract(Box::new(error))
    }
}

/// Why a block is invalid.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BlockError {
    #[error("block is for another chain")]
    WrongChain,
    #[error("block height {got} does not follow {parent}")]
    WrongHeight { got: u64, parent: u64 },
    #[error("block parent does not match the parent state")]
    WrongParent,
    #[error("block time {got} ms is before its parent's {parent} ms")]
    TimeWentBack { got: u64, parent: u64 },
    #[error("block has {count} transactions, more than {max}", max = TXS_PER_BLOCK_MAX)]
    TooManyTransactions { count: usize },
    #[error("transaction {index} has a bad signature")]
    BadSignature { index: usize },
    #[error("transaction {index}: {source}")]
    Transaction { index: usize, source: TxError },
    #[error("header {field} does not match the executed block")]
    RootMismatch { field: &'static str },
}

/// Entries of executed blocks that are not committed yet: one shared layer per block, newest
/// last. A child block adds its own layer without copying its ancestors', and layers of blocks
/// that were committed meanwhile are dropped, so the overlay stays as deep as the uncommitted
/// part of the chain.
#[derive(Clone, Debug, Default)]
pub struct Pending {
    layers: Vec<(u64, Arc<HashMap<EntryId, KnownEntry>>)>,
}

impl Pending {
    /// The newest knowledge of an entry among the layers.
    pub fn get(&self, id: &EntryId) -> Option<&KnownEntry> {
        self.layers
            .iter()
            .rev()
            .find_map(|(_, layer)| layer.get(id))
    }

    pub fn contains_key(&self, id: &EntryId) -> bool {
        self.get(id).is_some()
    }

    /// Without the layers of blocks at or below `height`: the store holds their entries now.
    pub fn committed_through(&self, height: u64) -> Pending {
        Pending {
            layers: self
                .layers
                .iter()
                .filter(|(layer_height, _)| *layer_height > height)
                .cloned()
                .collect(),
        }
    }

    /// This overlay with one more block's layer on top.
    pub fn with_layer(&self, height: u64, layer: HashMap<EntryId, KnownEntry>) -> Pending {
        let mut layers = self.layers.clone();
        if !layer.is_empty() {
            layers.push((height, Arc::new(layer)));
        }
        Pending { layers }
    }

    /// All entries, newer layers overriding older ones.
    pub fn entries(&self) -> HashMap<EntryId, KnownEntry> {
        let mut all = HashMap::new();
        for (_, layer) in &self.layers {
            all.extend(layer.iter().map(|(id, known)| (id.clone(), known.clone())));
        }
        all
    }
}

impl From<HashMap<EntryId, KnownEntry>> for Pending {
    fn from(entries: HashMap<EntryId, KnownEntry>) -> Pending {
        Pending::default().with_layer(0, entries)
    }
}

/// Sees committed entries through `base`, then the uncommitted blocks' layers, then the block
/// being executed.
pub struct Overlay<'a, L: EntryLookup + ?Sized> {
    pub base: &'a L,
    pub pending: &'a Pending,
    pub own: &'a HashMap<EntryId, KnownEntry>,
}

impl<L: EntryLookup + ?Sized> EntryLookup for Overlay<'_, L> {
    fn lookup(&self, id: &EntryId) -> Option<KnownEntry> {
        match self.own.get(id).or_else(|| self.pending.get(id)) {
            Some(known) => Some(known.clone()),
            None => self.base.lookup(id),
        }
    }
}

/// The result of executing a block: the new state and what to index.
#[derive(Clone, Debug)]
pub struct Executed {
    pub state: ChainState,
    pub entries: Vec<CommittedEntry>,
    /// (original, reversal) pairs.
    pub reversals: Vec<(EntryId, EntryId)>,
    /// Entries this block and its uncommitted ancestors added, for the next block's overlay.
    pub pending: Pending,
    /// Contract events of this block, in order (consortium chains only).
    pub events: Vec<ChainEvent>,
    /// What each period close sign-off of this block achieved, with the index of its
    /// transaction in the block.
    pub sign_offs: Vec<(u32, CloseProgress)>,
    /// The hash of each of the block's transactions, in order: computed once per block, as
    /// hashing a block of entries with sealed fields costs as much as a fifth of executing it.
    pub tx_hashes: Vec<Digest>,
    /// One per entry of `entries`: where its sealed fields and keys lie in the block's
    /// encoding, counted from the first transaction's first byte; `None` for an entry without.
    /// `entries` hold their entries without them (see [`EntryDraft::check_unsealed`]).
    pub sealed_at: Vec<Option<SealedSpan>>,
    /// Bytes of the encoding of the block's transactions, from the first one's first byte to
    /// the block's end.
    pub tx_bytes: usize,
    /// What the block changed in the consortium's history (contracts, sealed terms, anchors),
    /// which the store keeps out of the state snapshot; empty on a private chain.
    pub history: HistoryChanges,
}

/// Executes transactions one by one on a working state.
pub struct Executor<'a, L: EntryLookup + ?Sized> {
    state: ChainState,
    /// The parent's consortium (its collections are shared, so this costs little), to tell
    /// what the block changed in the history.
    consortium_before: Option<Consortium>,
    base: &'a L,
    /// Entries of uncommitted ancestors.
    pending: Pending,
    /// Entries this block adds, and reversal marks it sets.
    own: HashMap<EntryId, KnownEntry>,
    entries: Vec<CommittedEntry>,
    /// The entry log leaf of each of `entries`.
    log_leaves: Vec<Digest>,
    /// Where the sealed fields of each of `entries` lie (see [`Executed::sealed_at`]).
    sealed_at: Vec<Option<SealedSpan>>,
    /// Bytes of the transactions applied so far.
    tx_bytes: usize,
    reversals: Vec<(EntryId, EntryId)>,
    events: Vec<ChainEvent>,
    sign_offs: Vec<(u32, CloseProgress)>,
    height: u64,
    time_ms: u64,
    applied: u32,
}

impl<'a, L: EntryLookup + ?Sized> Executor<'a, L> {
    /// Starts a block at `parent + 1`. `pending` holds entries of uncommitted ancestors.
    pub fn new(
        parent: &ChainState,
        base: &'a L,
        pending: impl Into<Pending>,
        time_ms: u64,
    ) -> Self {
        Executor {
            state: parent.clone(),
            consortium_before: parent.consortium.clone(),
            base,
            pending: pending.into(),
            own: HashMap::new(),
            entries: Vec::new(),
            log_leaves: Vec::new(),
            sealed_at: Vec::new(),
            tx_bytes: 0,
            reversals: Vec::new(),
            events: Vec::new(),
            sign_offs: Vec::new(),
            height: parent.height + 1,
            time_ms,
            applied: 0,
        }
    }

    /// Applies one transaction whose signature was already checked; on error nothing changes.
    pub fn apply(&mut self, tx: &Transaction) -> Result<(), TxError> {
        self.apply_digested(tx, &TxDigests::of(tx))
    }

    /// [`Self::apply`] with the transaction's [`TxDigests`] already computed.
    pub fn apply_digested(&mut self, tx: &Transaction, digests: &TxDigests) -> Result<(), TxError> {
        self.apply_unsized(tx, digests)?;
        self.tx_bytes += digests.len;
        Ok(())
    }

    /// [`Self::apply_digested`], but for counting the transaction's bytes.
    fn apply_unsized(&mut self, tx: &Transaction, digests: &TxDigests) -> Result<(), TxError> {
        let role = self.state.authorise(tx.signer(), self.time_ms)?;
        let tx_index = self.applied;
        match tx {
            Transaction::Single(SignedTx {
                body: TxBody::Contract(call),
                signer,
                ..
            }) => self.apply_contract(call, signer, role, tx_index, &digests.hash)?,
            Transaction::Single(single) => {
                self.apply_body(&single.body, &single.signer, role, tx_index, digests)?
            }
            Transaction::Batch(_) if self.state.consortium.is_some() => {
                return Err(TxError::OnConsortium)
            }
            Transaction::Batch(batch) => {
                if batch.entries.is_empty() {
                    return Err(TxError::EmptyBatch);
                }
                if batch.entries.len() > BATCH_ENTRIES_MAX {
                    return Err(TxError::BatchTooLarge {
                        count: batch.entries.len(),
                    });
                }
                // A batch applies whole or not at all: work on copies, keep them on success.
                let saved_ledger = self.state.ledger.clone();
                let saved_entries = self.entries.len();
                let saved_reversals = self.reversals.len();
                let mut added: Vec<EntryId> = Vec::new();
                // An id twice in one batch is the batch's own mistake, not a committed duplicate.
                let mut seen = std::collections::HashSet::with_capacity(batch.entries.len());
                for (index, draft) in batch.entries.iter().enumerate() {
                    let result = if seen.insert(&draft.id) {
                        self.post(
                            draft,
                            (&digests.leaves[index], digests.sealed[index]),
                            &batch.signer,
                            role,
                            tx_index,
                            index as u32,
                        )
                    } else {
                        Err(TxError::DuplicateInTransaction(draft.id.clone()))
                    };
                    match result {
                        Ok(()) => added.push(draft.id.clone()),
                        Err(source) => {
                            self.state.ledger = saved_ledger;
                            self.entries.truncate(saved_entries);
                            self.log_leaves.truncate(saved_entries);
                            self.sealed_at.truncate(saved_entries);
                            for (original, _) in self.reversals.drain(saved_reversals..) {
                                if let Some(known) = self.own.get_mut(&original) {
                                    known.reversed_by = None;
                                }
                            }
                            for id in added {
                                self.own.remove(&id);
                            }
                            return Err(TxError::InBatch {
                                index,
                                source: Box::new(source),
                            });
                        }
                    }
                }
            }
        }
        self.applied += 1;
        Ok(())
    }

    fn apply_contract(
        &mut self,
        call: &tally_contracts::ContractCall,
        signer: &PublicKey,
        role: Role,
        tx_index: u32,
        tx_hash: &Digest,
    ) -> Result<(), TxError> {
        let signer = self.state.consortium_signer(signer, role)?;
        if let tally_contracts::ContractCall::SealTerms { id, terms } = call {
            self.check_party_keys(id, terms)?;
        }
        let consortium = self
            .state
            .consortium
            .as_mut()
            .ok_or(TxError::NotConsortium)?;
        let events = consortium.apply(call, &signer)?;
        let tx_hash = *tx_hash;
        for (index, event) in events.into_iter().enumerate() {
            let contract = consortium.contract(&event.contract).cloned();
            self.events.push(ChainEvent {
                height: self.height,
                time_ms: self.time_ms,
                tx_index,
                tx_hash,
                index: index as u32,
                event,
                contract,
            });
        }
        Ok(())
    }

    /// Sealed terms' keys go only to active members of the contract's parties, and every party
    /// gets at least one: the parties read the terms, nobody else.
    fn check_party_keys(
        &self,
        id: &tally_contracts::ContractId,
        terms: &tally_contracts::SealedTerms,
    ) -> Result<(), TxError> {
        let Some(contract) = self
            .state
            .consortium
            .as_ref()
            .and_then(|consortium| consortium.contract(id))
        else {
            // The contract rules report the unknown contract.
            return Ok(());
        };
        let parties = contract.parties();
        let mut covered = std::collections::BTreeSet::new();
        for key in &terms.keys {
            let enterprise = self
                .state
                .members
                .get(&key.member)
                .filter(|record| !record.revoked && record.member.is_valid_at(self.time_ms))
                .and_then(|record| record.enterprise.as_ref())
                .filter(|enterprise| parties.contains(enterprise));
            match enterprise {
                Some(enterprise) => {
                    covered.insert(enterprise.clone());
                }
                None => {
                    return Err(TxError::PartyKey {
                        contract: id.to_string(),
                        reason: format!(
                            "member {} is not an active member of a party to it",
                            key.member
                        ),
                    })
                }
            }
        }
        if let Some(missing) = parties.iter().find(|party| !covered.contains(**party)) {
            return Err(TxError::PartyKey {
                contract: id.to_string(),
                reason: format!(
                    "no member of {missing} holds a key: every party must read its terms"
                ),
            });
        }
        Ok(())
    }

    fn apply_body(
        &mut self,
        body: &TxBody,
        signer: &PublicKey,
        role: Role,
        tx_index: u32,
        digests: &TxDigests,
    ) -> Result<(), TxError> {
        let on_consortium = self.state.consortium.is_some();
        match body {
            TxBody::Post(_)
            | TxBody::OpenAccount(_)
            | TxBody::CloseAccount(_)
            | TxBody::ClosePeriod(_)
            | TxBody::Keys(_)
            | TxBody::Read(_)
                if on_consortium =>
            {
                Err(TxError::OnConsortium)
            }
            TxBody::Contract(_) => Err(TxError::NotConsortium),
            TxBody::Keys(change) => {
                let time_ms = self.time_ms;
                let members = &self.state.members;
                let standing = |key: &PublicKey| {
                    members.get(key).map(|record| MemberStanding {
                        role: record.member.certificate.role,
                        active: !record.revoked && record.member.is_valid_at(time_ms),
                    })
                };
                Ok(self
                    .state
                    .sealing
                    .change(change, role, self.height, &standing)?)
            }
            TxBody::Read(record) => self.read(record),
            TxBody::Post(draft) => self.post(
                draft,
                (&digests.leaves[0], digests.sealed[0]),
                signer,
                role,
                tx_index,
                0,
            ),
            TxBody::OpenAccount(account) => {
                Ok(self.state.ledger.open_account(account.clone(), role)?)
            }
            TxBody::CloseAccount(code) => Ok(self.state.ledger.close_account(code, role)?),
            TxBody::ClosePeriod(sign_off) => {
                let signer = CloseSigner {
                    role,
                    member: *signer,
                };
                let place = TxPlace {
                    height: self.height,
                    time_ms: self.time_ms,
                    tx_index,
                };
                let progress =
                    self.state
                        .closes
                        .sign_off(&mut self.state.ledger, sign_off, signer, place)?;
                self.sign_offs.push((tx_index, progress));
                Ok(())
            }
            TxBody::RegisterMember(member) => {
                if role != Role::Admin {
                    return Err(TxError::NotAllowed {
                        role: role.as_str(),
                        action: "register members",
                    });
                }
                let enterprise = match &self.state.consortium {
                    // An administrator admits members of its own enterprise only.
                    Some(consortium) => {
                        let admin = self.state.consortium_signer(signer, role)?.enterprise;
                        let certified_by =
                            certifying_enterprise(consortium, member, &self.state.chain_id);
                        if certified_by.as_ref() != Some(&admin) {
                            return Err(TxError::Certificate(format!(
                                "not signed by the root key of enterprise {admin}"
                            )));
                        }
                        Some(admin)
                    }
                    None => {
                        member
                            .verify(&self.state.root_key, &self.state.chain_id)
                            .map_err(|error| TxError::Certificate(error.to_string()))?;
                        None
                    }
                };
                let key = member.certificate.member;
                if self.state.members.contains_key(&key) {
                    return Err(TxError::MemberExists(key));
                }
                self.state.members.insert(
                    key,
                    MemberRecord {
                        member: member.clone(),
                        revoked: false,
                        enterprise,
                    },
                );
                Ok(())
            }
            TxBody::RevokeMember(key) => {
                if role != Role::Admin {
                    return Err(TxError::NotAllowed {
                        role: role.as_str(),
                        action: "revoke members",
                    });
                }
                let admin_enterprise = self
                    .state
                    .members
                    .get(signer)
                    .and_then(|record| record.enterprise.clone());
                let record = self
                    .state
                    .members
                    .get_mut(key)
                    .ok_or(TxError::MemberUnknown(*key))?;
                if record.enterprise != admin_enterprise {
                    return Err(TxError::NotAllowed {
                        role: role.as_str(),
                        action: "revoke members of another enterprise",
                    });
                }
                record.revoked = true;
                self.state.sealing.member_revoked(key);
                Ok(())
            }
        }
    }

    /// Posts `draft`, whose leaf is `leaf` and whose sealed fields lie at `sealed` in its
    /// transaction's encoding.
    fn post(
        &mut self,
        draft: &EntryDraft,
        (leaf, sealed): (&Digest, Option<SealedSpan>),
        signer: &PublicKey,
        role: Role,
        tx_index: u32,
        item_index: u32,
    ) -> Result<(), TxError> {
        let entry: BalancedEntry = draft.check_unsealed()?;
        for key in &draft.seal_keys {
            self.state.sealing.check_seal(&key.category, key.epoch)?;
        }
        {
            let lookup = Overlay {
                base: self.base,
                pending: &self.pending,
                own: &self.own,
            };
            self.state.ledger.check_entry(&entry, role, &lookup)?;
            for adjusted in adjusted_ids(draft) {
                let known = EntryId::new(adjusted)
                    .ok()
                    .is_some_and(|id| lookup.lookup(&id).is_some());
                if !known {
                    return Err(TxError::UnknownAdjusted {
                        adjusted: adjusted.to_string(),
                    });
                }
            }
        }
        self.state.ledger.apply_entry(&entry);
        let id = draft.id.clone();
        if let Some(original) = &draft.reverses {
            let mut known = match self
                .own
                .get(original)
                .or_else(|| self.pending.get(original))
            {
                Some(known) => known.clone(),
                None => self
                    .base
                    .lookup(original)
                    .expect("check_entry confirmed the reversed entry exists"),
            };
            known.reversed_by = Some(id.clone());
            self.own.insert(original.clone(), known);
            self.reversals.push((original.clone(), id.clone()));
        }
        self.own.insert(
            id,
            KnownEntry {
                postings: draft.postings.clone(),
                reversed_by: None,
            },
        );
        // The checked copy, without the sealed fields (the store finds them in the block),
        // becomes the committed entry.
        self.sealed_at
            .push(sealed.map(|(offset, len)| (self.tx_bytes + offset, len)));
        self.entries.push(CommittedEntry {
            entry: entry.into_draft(),
            signer: *signer,
            height: self.height,
            time_ms: self.time_ms,
            tx_index,
            item_index,
            log_index: 0,
            reversed_by: None,
        });
        self.log_leaves
            .push(CommittedEntry::log_leaf_of(leaf, signer));
        Ok(())
    }

    /// Records a member's read of sealed fields: the entry must be committed (or earlier in this
    /// block) and the read recent by the block's clock.
    fn read(&mut self, record: &ReadRecord) -> Result<(), TxError> {
        if record.fields.is_empty() || record.fields.len() > SEALED_FIELDS_PER_ENTRY_MAX {
            return Err(TxError::ReadFields);
        }
        let oldest = self.time_ms.saturating_sub(READ_AGE_MAX_MS);
        let newest = self.time_ms.saturating_add(READ_SKEW_MAX_MS);
        if !(oldest..=newest).contains(&record.at_ms) {
            return Err(TxError::ReadStale {
                at_ms: record.at_ms,
                block_ms: self.time_ms,
            });
        }
        let lookup = Overlay {
            base: self.base,
            pending: &self.pending,
            own: &self.own,
        };
        if lookup.lookup(&record.entry).is_none() {
            return Err(TxError::ReadUnknownEntry {
                entry: record.entry.clone(),
            });
        }
        self.state.reads_logged += 1;
        Ok(())
    }

    /// Seals the block: appends the entries to the log and computes the roots. `tx_hashes` are
    /// the transactions' hashes, in order.
    pub fn finish(
        self,
        parent_digest: BlockDigest,
        transactions: Vec<Transaction>,
        tx_hashes: Vec<Digest>,
    ) -> (Block, Executed) {
        assert_eq!(
            transactions.len(),
            tx_hashes.len(),
            "one hash per transaction"
        );
        let (header, executed) = self.finish_header(parent_digest, tx_hashes);
        (Block::new(header, transactions), executed)
    }

    /// [`Self::finish`] for a block that exists already (one received to be checked): the
    /// header the execution leads to, without a copy of the transactions.
    pub fn finish_header(
        mut self,
        parent_digest: BlockDigest,
        tx_hashes: Vec<Digest>,
    ) -> (Header, Executed) {
        let start = self.state.log.len();
        self.state.log.append(&self.log_leaves);
        let event_leaves: Vec<Digest> = self.events.iter().map(ChainEvent::leaf).collect();
        self.state.contract_log.append(&event_leaves);
        for (offset, committed) in self.entries.iter_mut().enumerate() {
            committed.log_index = start + offset as u64;
        }
        let header = Header {
            chain: self.state.chain_hash(),
            height: self.height,
            parent: parent_digest.0,
            time_ms: self.time_ms,
            tx_root: merkle_root(&tx_hashes),
            log_root: self.state.log.root(),
            log_size: self.state.log.len(),
            state_root: self.state.state_root(),
        };
        self.state.height = self.height;
        self.state.time_ms = self.time_ms;
        self.state.tip = header_digest(&header).0;
        let history = match &self.state.consortium {
            Some(after) => after.history_changes(self.consortium_before.as_ref()),
            None => HistoryChanges::default(),
        };
        let executed = Executed {
            state: self.state,
            entries: self.entries,
            reversals: self.reversals,
            pending: self.pending.with_layer(self.height, self.own),
            events: self.events,
            sign_offs: self.sign_offs,
            tx_hashes,
            sealed_at: self.sealed_at,
            tx_bytes: self.tx_bytes,
            history,
        };
        (header, executed)
    }
}

/// Builds a block from candidate transactions, leaving out those that fail.
///
/// Signatures are not checked here: candidates come from the mempool, which admits only
/// transactions whose signature verified. A block with a bad signature fails `execute_block`.
///
/// Returns the block, its execution, and the rejected candidates with their reasons.
pub fn build_block<L: EntryLookup + ?Sized>(
    parent: &ChainState,
    base: &L,
    pending: impl Into<Pending>,
    time_ms: u64,
    candidates: Vec<Transaction>,
) -> (Block, Executed, Vec<(Transaction, TxError)>) {
    let candidates = candidates
        .into_iter()
        .map(|tx| {
            let digests = TxDigests::of(&tx);
            (tx, digests)
        })
        .collect();
    build_block_hashed(parent, base, pending, time_ms, candidates)
}

/// [`build_block`] from candidates whose [`TxDigests`] are known (the mempool keeps them from
/// admission).
pub fn build_block_hashed<L: EntryLookup + ?Sized, D: std::borrow::Borrow<TxDigests>>(
    parent: &ChainState,
    base: &L,
    pending: impl Into<Pending>,
    time_ms: u64,
    candidates: Vec<(Transaction, D)>,
) -> (Block, Executed, Vec<(Transaction, TxError)>) {
    let time_ms = time_ms.max(parent.time_ms);
    let mut executor = Executor::new(parent, base, pending, time_ms);
    let mut included = Vec::with_capacity(candidates.len());
    let mut hashes = Vec::with_capacity(candidates.len());
    let mut rejected = Vec::new();
    for (tx, digests) in candidates.into_iter().take(TXS_PER_BLOCK_MAX) {
        let digests = digests.borrow();
        match executor.apply_digested(&tx, digests) {
            Ok(()) => {
                included.push(tx);
                hashes.push(digests.hash);
            }
            Err(error) => rejected.push((tx, error)),
        }
    }
    let (block, executed) = executor.finish(BlockDigest::from(parent.tip), included, hashes);
    (block, executed, rejected)
}

/// Executes a block received from a peer and checks every rule and root.
pub fn execute_block<L: EntryLookup + ?Sized>(
    parent: &ChainState,
    base: &L,
    pending: impl Into<Pending>,
    block: &Block,
) -> Result<Executed, BlockError> {
    execute_block_with(parent, base, pending, block, |_| false)
}

/// [`execute_block`], not checking again the signature of a transaction for which `verified`
/// says yes: one with exactly this hash (which covers the signature) was checked before, when
/// it reached this node's mempool. Every other signature is checked.
pub fn execute_block_with<L: EntryLookup + ?Sized>(
    parent: &ChainState,
    base: &L,
    pending: impl Into<Pending>,
    block: &Block,
    verified: impl Fn(&Digest) -> bool,
) -> Result<Executed, BlockError> {
    let header = &block.header;
    if header.chain != parent.chain_hash() {
        return Err(BlockError::WrongChain);
    }
    if header.height != parent.height + 1 {
        return Err(BlockError::WrongHeight {
            got: header.height,
            parent: parent.height,
        });
    }
    if header.parent != parent.tip {
        return Err(BlockError::WrongParent);
    }
    if header.time_ms < parent.time_ms {
        return Err(BlockError::TimeWentBack {
            got: header.time_ms,
            parent: parent.time_ms,
        });
    }
    if block.transactions.len() > TXS_PER_BLOCK_MAX {
        return Err(BlockError::TooManyTransactions {
            count: block.transactions.len(),
        });
    }
    let digests: Vec<TxDigests> = block.transactions.iter().map(TxDigests::of).collect();
    // Every transaction this node has not verified before, checked at once (batch verification).
    let (indices, items): (Vec<usize>, Vec<(&Transaction, &[Digest])>) = (0..digests.len())
        .filter(|&index| !verified(&digests[index].hash))
        .map(|index| {
            (
                index,
                (&block.transactions[index], digests[index].leaves.as_slice()),
            )
        })
        .unzip();
    verify_signatures_of(&parent.chain_id, &items).map_err(|position| {
        BlockError::BadSignature {
            index: indices[position],
        }
    })?;
    let mut executor = Executor::new(parent, base, pending, header.time_ms);
    for (index, (tx, digests)) in block.transactions.iter().zip(&digests).enumerate() {
        executor
            .apply_digested(tx, digests)
            .map_err(|source| BlockError::Transaction { index, source })?;
    }
    let hashes = digests.iter().map(|digests| digests.hash).collect();
    let (rebuilt, executed) = executor.finish_header(BlockDigest::from(parent.tip), hashes);
    let checks = [
        ("tx_root", rebuilt.tx_root == header.tx_root),
        ("log_root", rebuilt.log_root == header.log_root),
        ("log_size", rebuilt.log_size == header.log_size),
        ("state_root", rebuilt.state_root == header.state_root),
    ];
    for (field, ok) in checks {
        if !ok {
            return Err(BlockError::RootMismatch { field });
        }
    }
    Ok(executed)
}
