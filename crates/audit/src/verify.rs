//! The offline full audit of one chain's store: every block hash and parent link, every Merkle
//! root, every signature, every finalization certificate, and the state rebuilt by replay, each
//! compared with what the store holds. It stops at the first problem and names where it is.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use tally_chain::{
    execute_block, header_digest, linked_ids, Block, BlockError, ChainEvent, ChainState,
    CommittedEntry, EpochRecord, EpochSchedule, Genesis, SignedTx, Store, StoreError, Transaction,
    TxBody,
};
use tally_consensus::{CertificateError, CertificateVerifier};
use tally_ledger::{EntryDraft, EntryId, KnownEntry};

/// Where in a store a problem was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole (it does not open, or is not a Tally store).
    File,
    Genesis,
    Block {
        height: u64,
    },
    Certificate {
        height: u64,
    },
    Entry {
        id: String,
    },
    Event {
        height: u64,
        position: u32,
    },
    /// The snapshot of the state after the last block.
    State,
    /// The stored record of a validator-set epoch.
    Epoch {
        epoch: u64,
    },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File => write!(f, "store file"),
            Location::Genesis => write!(f, "genesis"),
            Location::Epoch { epoch } => write!(f, "record of validator-set epoch {epoch}"),
            Location::Block { height } => write!(f, "block {height}"),
            Location::Certificate { height } => {
                write!(f, "finalization certificate of block {height}")
            }
            Location::Entry { id } => write!(f, "entry '{id}'"),
            Location::Event { height, position } => {
                write!(f, "contract event {position} of block {height}")
            }
            Location::State => write!(f, "state snapshot"),
        }
    }
}

/// What is wrong at a [`Location`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Problem {
    #[error("cannot be read: {0}")]
    Unreadable(String),
    #[error("does not decode: {0}")]
    Malformed(String),
    #[error("is missing")]
    Missing,
    #[error("is stored under height {stored_under} but its header says {header}")]
    MisplacedBlock { stored_under: u64, header: u64 },
    #[error("the stored genesis differs from the genesis given to check against")]
    GenesisMismatch,
    #[error("does not match the genesis it was created from")]
    GenesisBlockMismatch,
    #[error("fails on replay: {0}")]
    Replay(Box<BlockError>),
    #[error("{0}")]
    Certificate(CertificateError),
    #[error(
        "no finalization certificate covers it (the last certified block is {last_certified})"
    )]
    Uncertified { last_certified: u64 },
    #[error("is stored but the chain has no such block")]
    NoSuchBlock,
    #[error("differs from what block {height} committed")]
    Differs { height: u64 },
    #[error("is not in any block of the chain")]
    NotInChain,
    #[error("says it is reversed by '{claimed}', but the chain reverses it by {actual}")]
    WrongReversal { claimed: String, actual: String },
    #[error("has no history link to '{linking}', which reverses or adjusts it")]
    MissingLink { linking: String },
    #[error("the store holds {stored} history links, the chain {chain}")]
    LinkCount { stored: u64, chain: u64 },
    #[error("differs from the state rebuilt by replaying every block")]
    StateDiffers,
    #[error("the store holds {stored} contract events, the chain {chain}")]
    EventCount { stored: u64, chain: u64 },
    #[error("has no finalization certificate of its own, but closes a validator-set epoch")]
    BoundaryUncertified,
    #[error("differs from the validator set the replayed chain names for it")]
    EpochRecord,
    #[error("the legacy state root stored with it differs from the replayed boundary block's")]
    EpochLegacyRoot,
}

/// The first problem found in a chain's store.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("chain '{chain}', {location}: {problem}")]
pub struct VerifyError {
    pub chain: String,
    pub location: Location,
    pub problem: Problem,
}

/// What a clean audit covered.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    pub chain_id: String,
    /// Height of the last block.
    pub height: u64,
    /// Blocks checked, the genesis block included.
    pub blocks: u64,
    pub transactions: u64,
    pub entries: u64,
    pub events: u64,
    /// Blocks with a finalization certificate of their own (the others are final through a
    /// certified descendant).
    pub certificates: u64,
    /// Validator-set epochs after the genesis's that the chain has entered.
    pub epochs: u64,
    #[serde(skip)]
    pub elapsed: Duration,
}

/// Progress of an audit, for a progress bar: blocks checked out of the total.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// Opens the store at `path` and audits it. With `expected`, the stored genesis must equal it (a
/// store whose genesis was swapped would otherwise check out against itself).
pub fn verify_file(
    path: &Path,
    expected: Option<&Genesis>,
    progress: &mut dyn FnMut(Progress),
) -> Result<ChainReport, VerifyError> {
    let chain_of_file = path.display().to_string();
    let (store, genesis) =
        guarded(|| Store::open_existing(path)).map_err(|problem| VerifyError {
            chain: chain_of_file.clone(),
            location: Location::File,
            problem,
        })?;
    if let Some(expected) = expected {
        if *expected != genesis {
            return Err(VerifyError {
                chain: genesis.chain_id.clone(),
                location: Location::Genesis,
                problem: Problem::GenesisMismatch,
            });
        }
    }
    verify_store(&store, &genesis, progress)
}

/// Reads from the store, turning storage errors, and panics of the storage engine on damaged
/// pages, into a [`Problem`]: an audit reports damage, it does not crash on it.
fn guarded<T>(read: impl FnOnce() -> Result<T, StoreError>) -> Result<T, Problem> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(StoreError::Corrupt(reason))) => Err(Problem::Malformed(reason)),
        Ok(Err(error)) => Err(Problem::Unreadable(error.to_string())),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_else(|| "the storage engine failed on damaged data".into());
            Err(Problem::Unreadable(reason))
        }
    }
}

/// Audits an open store against `genesis`.
pub fn verify_store(
    store: &Store,
    genesis: &Genesis,
    progress: &mut dyn FnMut(Progress),
) -> Result<ChainReport, VerifyError> {
    let started = Instant::now();
    let chain = genesis.chain_id.clone();
    let fail = |location: Location, problem: Problem| VerifyError {
        chain: chain.clone(),
        location,
        problem,
    };
    let certificates = CertificateVerifier::new(genesis)
        .map_err(|error| fail(Location::Genesis, Problem::Certificate(error)))?;

    let heights =
        guarded(|| store.block_heights()).map_err(|problem| fail(Location::File, problem))?;
    // Keys must be exactly 0..=tip: a gap is a removed block; a block under the wrong key, a
    // reordered one (its header, hashed into its child's parent link, says where it belongs).
    for (expected, stored) in heights.iter().enumerate() {
        let expected = expected as u64;
        if *stored != expected {
            return Err(fail(Location::Block { height: expected }, Problem::Missing));
        }
    }
    let Some(&tip) = heights.last() else {
        return Err(fail(Location::Block { height: 0 }, Problem::Missing));
    };
    let total = tip + 1;

    // The genesis block must be the one the genesis makes.
    let genesis_block = genesis
        .block()
        .map_err(|error| fail(Location::Genesis, Problem::Malformed(error.to_string())))?;
    let stored_genesis =
        read_block(store, 0).map_err(|problem| fail(Location::Block { height: 0 }, problem))?;
    if stored_genesis != genesis_block {
        return Err(fail(
            Location::Block { height: 0 },
            Problem::GenesisBlockMismatch,
        ));
    }
    progress(Progress { done: 1, total });

    let certified: Vec<u64> =
        guarded(|| store.certificate_heights()).map_err(|problem| fail(Location::File, problem))?;
    if let Some(&beyond) = certified
        .iter()
        .find(|height| **height > tip || **height == 0)
    {
        return Err(fail(
            Location::Certificate { height: beyond },
            Problem::NoSuchBlock,
        ));
    }
    let last_certified = certified.last().copied().unwrap_or(0);
    if tip > last_certified {
        return Err(fail(
            Location::Block { height: tip },
            Problem::Uncertified { last_certified },
        ));
    }

    let mut state = genesis
        .initial_state()
        .map_err(|error| fail(Location::Genesis, Problem::Malformed(error.to_string())))?;
    let mut known: HashMap<EntryId, KnownEntry> = HashMap::new();
    // Reversals the entry index claims, not yet seen in the chain: reversal id -> original id.
    let mut claimed: BTreeMap<String, String> = BTreeMap::new();
    let mut report = ChainReport {
        chain_id: chain.clone(),
        height: tip,
        blocks: 1,
        transactions: 0,
        entries: 0,
        events: 0,
        certificates: 0,
        epochs: 0,
        elapsed: Duration::ZERO,
    };
    let mut parent_digest = header_digest(&genesis_block.header);
    let schedule = EpochSchedule::of(genesis);
    let stored_epochs =
        guarded(|| store.epochs()).map_err(|problem| fail(Location::File, problem))?;
    let mut epoch = stored_epochs
        .first()
        .cloned()
        .ok_or_else(|| fail(Location::Epoch { epoch: 0 }, Problem::EpochRecord))?;
    if epoch
        != tally_chain::genesis_epoch(genesis)
            .map_err(|error| fail(Location::Genesis, Problem::Malformed(error.to_string())))?
    {
        return Err(fail(Location::Epoch { epoch: 0 }, Problem::EpochRecord));
    }
    let mut report_links = 0u64;
    for height in 1..=tip {
        let here = Location::Block { height };
        let block = read_block(store, height).map_err(|problem| fail(here.clone(), problem))?;
        if block.height() != height {
            return Err(fail(
                here,
                Problem::MisplacedBlock {
                    stored_under: height,
                    header: block.height(),
                },
            ));
        }
        // Parent link, chain, height, time, signatures, transaction/log/state roots.
        let executed = execute_block(&state, &known, HashMap::new(), &block)
            .map_err(|error| fail(here.clone(), Problem::Replay(Box::new(error))))?;
        let digest = header_digest(&block.header);
        debug_assert_eq!(block.header.parent, parent_digest.0);
        parent_digest = digest;

        // Its own certificate, if it has one, checked with the validators of its epoch. A
        // boundary block must have one: the next epoch's validators are trusted through it.
        let certificate_at = Location::Certificate { height };
        let bytes = guarded(|| store.certificate(height))
            .map_err(|problem| fail(certificate_at.clone(), problem))?;
        let next_epoch = EpochRecord::after(&schedule, &epoch, &block, &executed.state);
        match bytes {
            Some(bytes) => {
                certificates
                    .verify(height, &bytes, &digest)
                    .map_err(|error| fail(certificate_at, Problem::Certificate(error)))?;
                report.certificates += 1;
            }
            None if next_epoch.is_some() => {
                return Err(fail(certificate_at, Problem::BoundaryUncertified));
            }
            None => {}
        }
        // The set of the next epoch, as the replayed state names it, and as the store says.
        if let Some(next) = next_epoch {
            let stored = stored_epochs.get(next.epoch as usize);
            if stored != Some(&next) {
                return Err(fail(
                    Location::Epoch { epoch: next.epoch },
                    Problem::EpochRecord,
                ));
            }
            // The legacy root stored with it opens the boundary block's state root for light
            // proofs (see `proof`): it must be the replayed state's.
            let legacy_root = guarded(|| store.epoch_legacy_root(next.epoch))
                .map_err(|problem| fail(Location::Epoch { epoch: next.epoch }, problem))?;
            if legacy_root != Some(executed.state.legacy_state_root()) {
                return Err(fail(
                    Location::Epoch { epoch: next.epoch },
                    Problem::EpochLegacyRoot,
                ));
            }
            certificates.add_epoch(next.clone()).map_err(|error| {
                fail(
                    Location::Epoch { epoch: next.epoch },
                    Problem::Certificate(error),
                )
            })?;
            epoch = next;
            report.epochs += 1;
        }

        // The entry index holds exactly what the block committed.
        for committed in &executed.entries {
            let id = committed.entry.id.as_str().to_string();
            let at = Location::Entry { id: id.clone() };
            let stored = read_entry(store, &committed.entry.id)
                .map_err(|problem| fail(at.clone(), problem))?;
            let mut comparable = stored.clone();
            comparable.reversed_by = None;
            // Execution keeps an entry without its sealed fields: they are compared with the
            // block's.
            let sealed = std::mem::take(&mut comparable.entry.sealed);
            let seal_keys = std::mem::take(&mut comparable.entry.seal_keys);
            let carried = carried_entry(&block, committed)
                .is_some_and(|entry| entry.sealed == sealed && entry.seal_keys == seal_keys);
            if comparable != *committed || !carried {
                return Err(fail(at, Problem::Differs { height }));
            }
            for linked in linked_ids(&committed.entry) {
                let links = guarded(|| store.links_to(linked)).map_err(|problem| {
                    fail(
                        Location::Entry {
                            id: linked.to_string(),
                        },
                        problem,
                    )
                })?;
                if !links.contains(&id) {
                    return Err(fail(
                        Location::Entry {
                            id: linked.to_string(),
                        },
                        Problem::MissingLink {
                            linking: id.clone(),
                        },
                    ));
                }
                report_links += 1;
            }
            if let Some(reversal) = stored.reversed_by {
                claimed.insert(reversal.as_str().to_string(), id);
            }
        }
        for (original, reversal) in &executed.reversals {
            let claim = claimed.remove(reversal.as_str());
            if claim.as_deref() != Some(original.as_str()) {
                let stored = read_entry(store, original).map_err(|problem| {
                    fail(
                        Location::Entry {
                            id: original.to_string(),
                        },
                        problem,
                    )
                })?;
                return Err(fail(
                    Location::Entry {
                        id: original.to_string(),
                    },
                    Problem::WrongReversal {
                        claimed: stored
                            .reversed_by
                            .map(|id| id.to_string())
                            .unwrap_or_else(|| "nothing".into()),
                        actual: format!("'{reversal}' in block {height}"),
                    },
                ));
            }
        }

        // The stored contract events are the ones the block produced.
        let stored_events = guarded(|| store.raw_events_at(height))
            .map_err(|problem| fail(here.clone(), problem))?;
        for (position, event) in executed.events.iter().enumerate() {
            let at = Location::Event {
                height,
                position: position as u32,
            };
            let Some((_, bytes)) = stored_events
                .iter()
                .find(|(stored, _)| *stored == position as u32)
            else {
                return Err(fail(at, Problem::Missing));
            };
            let stored: ChainEvent = postcard::from_bytes(bytes)
                .map_err(|error| fail(at.clone(), Problem::Malformed(error.to_string())))?;
            if stored != *event {
                return Err(fail(at, Problem::Differs { height }));
            }
        }
        if stored_events.len() > executed.events.len() {
            return Err(fail(
                Location::Event {
                    height,
                    position: executed.events.len() as u32,
                },
                Problem::NotInChain,
            ));
        }

        report.blocks += 1;
        report.transactions += block.transactions.len() as u64;
        report.entries += executed.entries.len() as u64;
        report.events += executed.events.len() as u64;
        known.extend(executed.pending.entries());
        state = executed.state;
        progress(Progress {
            done: height + 1,
            total,
        });
    }

    if let Some((reversal, original)) = claimed.into_iter().next() {
        return Err(fail(
            Location::Entry { id: original },
            Problem::WrongReversal {
                claimed: reversal,
                actual: "nothing".into(),
            },
        ));
    }
    // No entry in the index that no block committed.
    let ids = guarded(|| store.entry_ids()).map_err(|problem| fail(Location::File, problem))?;
    if ids.len() as u64 != report.entries {
        for id in ids {
            let in_chain = EntryId::new(&id).is_ok_and(|entry| known.contains_key(&entry));
            if !in_chain {
                return Err(fail(Location::Entry { id }, Problem::NotInChain));
            }
        }
    }
    let stored_links =
        guarded(|| store.link_count()).map_err(|problem| fail(Location::File, problem))?;
    if stored_links != report_links {
        return Err(fail(
            Location::File,
            Problem::LinkCount {
                stored: stored_links,
                chain: report_links,
            },
        ));
    }
    let stored_events =
        guarded(|| store.event_count()).map_err(|problem| fail(Location::File, problem))?;
    if stored_events != report.events {
        return Err(fail(
            Location::File,
            Problem::EventCount {
                stored: stored_events,
                chain: report.events,
            },
        ));
    }
    // No epoch record beyond those the chain's boundaries committed.
    if let Some(extra) = stored_epochs.get(epoch.epoch as usize + 1) {
        return Err(fail(
            Location::Epoch { epoch: extra.epoch },
            Problem::NoSuchBlock,
        ));
    }
    // The snapshot a restarted node resumes from is the replayed state, byte for byte, and so
    // is what it loads with the consortium's history tables.
    let snapshot = guarded(|| store.raw_state())
        .map_err(|problem| fail(Location::State, problem))?
        .ok_or_else(|| fail(Location::State, Problem::Missing))?;
    if !snapshot_matches(&snapshot, &state) {
        return Err(fail(Location::State, Problem::StateDiffers));
    }
    if state.consortium.is_some() {
        let loaded = guarded(|| store.state()).map_err(|problem| fail(Location::State, problem))?;
        if encode(&loaded) != encode(&state) {
            return Err(fail(Location::State, Problem::StateDiffers));
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

fn encode(state: &ChainState) -> Vec<u8> {
    postcard::to_stdvec(state).expect("serialising to a Vec cannot fail")
}

/// Whether `snapshot` is how a store keeps `state`: without the consortium's history, which has
/// tables of its own, or with it, in a consortium store no node has opened since the history
/// got those tables (a node moves it when it opens the store).
fn snapshot_matches(snapshot: &[u8], state: &ChainState) -> bool {
    snapshot == tally_chain::snapshot_bytes(state).as_slice()
        || (state.consortium.is_some() && snapshot == encode(state).as_slice())
}

fn read_block(store: &Store, height: u64) -> Result<Block, Problem> {
    let bytes = guarded(|| store.raw_block(height))?.ok_or(Problem::Missing)?;
    Block::decode_checked(&bytes).map_err(|error| Problem::Malformed(error.to_string()))
}

/// The entry as `block` carries it, where `committed` says it is.
fn carried_entry<'b>(block: &'b Block, committed: &CommittedEntry) -> Option<&'b EntryDraft> {
    match block.transactions.get(committed.tx_index as usize)? {
        Transaction::Batch(batch) => batch.entries.get(committed.item_index as usize),
        Transaction::Single(SignedTx {
            body: TxBody::Post(entry),
            ..
        }) => Some(entry),
        Transaction::Single(_) => None,
    }
}

/// The stored entry whole: its index row, and its sealed fields from where the index says they
/// lie in its block when the row was stored without them.
fn read_entry(store: &Store, id: &EntryId) -> Result<CommittedEntry, Problem> {
    guarded(|| store.entry(id))?.ok_or(Problem::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consortium_state() -> ChainState {
        let root = tally_identity::SecretKey::from_seed([1; 32]).public_key();
        let genesis = Genesis {
            chain_id: "consortium".into(),
            enterprise: "acme".into(),
            time_ms: 1,
            root_key: root,
            validators: vec![tally_chain::Validator {
                name: "v0".into(),
                consensus_key: "00".into(),
            }],
            members: Vec::new(),
            chart: Vec::new(),
            consortium: Some(tally_chain::ConsortiumGenesis {
                threshold: tally_contracts::Threshold {
                    numerator: 1,
                    denominator: 1,
                },
                enterprises: vec![tally_chain::EnterpriseGenesis {
                    name: tally_contracts::EnterpriseName::new("acme").unwrap(),
                    kind: tally_contracts::EnterpriseKind::Merchant,
                    root_key: root,
                    validator_key: None,
                }],
            }),
            close_policy: Default::default(),
            read_policy: Default::default(),
            epoch_blocks: None,
        };
        let mut state = genesis.initial_state().unwrap();
        state.consortium.as_mut().unwrap().restore_anchor(
            tally_contracts::EnterpriseName::new("acme").unwrap(),
            "acme-books".into(),
            tally_contracts::Anchor {
                height: 3,
                block_hash: [3; 32],
            },
        );
        state
    }

    #[test]
    fn a_snapshot_matches_in_either_layout_of_the_consortium_history() {
        let state = consortium_state();
        assert!(snapshot_matches(
            &tally_chain::snapshot_bytes(&state),
            &state
        ));
        assert!(
            snapshot_matches(&encode(&state), &state),
            "the layout before the tables"
        );
        let mut other = state.clone();
        other.height += 1;
        assert!(!snapshot_matches(
            &tally_chain::snapshot_bytes(&other),
            &state
        ));
        assert!(!snapshot_matches(&encode(&other), &state));
        // A private chain has one layout.
        let mut private = state.clone();
        private.consortium = None;
        let mut longer = encode(&private);
        longer.push(0);
        assert!(!snapshot_matches(&longer, &private));
        assert!(snapshot_matches(&encode(&private), &private));
    }
}
