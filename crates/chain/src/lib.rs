//! Tally's chain: signed transactions, blocks, deterministic execution and the redb store.
//!
//! A block is valid when, executed on its parent's state, every transaction applies and the
//! resulting roots equal those in its header. Execution never reads the clock or randomness: time
//! comes from the proposer's stamp in the header.
//!
//! Invariants:
//! - committed state always balances per currency (the ledger refuses anything else);
//! - replaying the same blocks from the same genesis yields the same state root;
//! - a consortium chain (a genesis with enterprises) carries contract calls and no journal
//!   entries; a private chain carries entries and no contract calls;
//! - a period closes only once every role of the genesis' close policy signed off the same trial
//!   balance, the one the ledger computes (see the `close` module);
//! - this crate knows nothing of consensus messages, the network or HTTP.

mod block;
mod close;
mod consortium;
mod epochs;
mod genesis;
mod log;
mod replay;
mod report_index;
mod sealing;
mod state;
mod store;
mod tx;

pub use block::{
    header_digest, Block, BlockDecodeError, BlockDigest, Header, BLOCK_BYTES_MAX, TXS_PER_BLOCK_MAX,
};
pub use close::{
    CloseError, ClosePolicy, ClosePolicyError, CloseProgress, CloseSignOff, CloseSigner, Closing,
    PeriodCloses, CLOSING_LINES_MAX,
};
pub use consortium::{certifying_enterprise, ChainEvent, ConsortiumGenesis, EnterpriseGenesis};
pub use epochs::{
    epoch_state_root, genesis_epoch, validators_digest, EpochRecord, EpochSchedule,
    EPOCH_BLOCKS_MAX, EPOCH_BLOCKS_MIN, LEGACY_EPOCH_BLOCKS, STATE_ROOT_V2_TAG,
    VALIDATORS_DIGEST_TAG, VALIDATOR_KEY_BYTES,
};
pub use genesis::{Genesis, GenesisError, Validator, VALIDATORS_MAX};
pub use log::{EntryLog, EntryLogPeaks};
pub use replay::{replay, ReplayError};
pub use report_index::{AgeTotal, ReportReader, POSTING_RUN_MAX};
pub use sealing::{
    CategoryKeys, EpochStatus, KeyChange, KeyEpoch, KeyGrant, MemberStanding, ReadPolicy,
    ReadPolicyError, Sealing, SealingError, CATEGORIES_MAX, EPOCHS_PER_CATEGORY_MAX,
    EPOCH_PUBLIC_KEY_BYTES, GRANTS_PER_TX_MAX, WRAPPED_GRANT_LEN_MAX,
};
pub use state::{
    adjusted_ids, build_block, build_block_hashed, chain_hash, execute_block, execute_block_with,
    linked_ids, BlockError, ChainState, CommittedEntry, Executed, Executor, MemberRecord, Overlay,
    Pending, TxError,
};
pub use store::{
    snapshot_bytes, EntryFilter, EntryPage, Store, StoreAt, StoreError, BLOCK_CHUNK_BYTES,
};
pub use tx::{
    batch_root, entry_leaf, entry_leaves, verify_signatures, verify_signatures_of,
    verify_signatures_with, ReadRecord, SealedSpan, SignedBatch, SignedTx, Transaction, TxBody,
    TxDigests, BATCH_ENTRIES_MAX, READ_AGE_MAX_MS, READ_SKEW_MAX_MS,
};
