//! Tally's consensus adapter: runs a chain as an application of commonware's simplex BFT
//! consensus, with marshal delivering finalized blocks in order and backfilling from peers.
//!
//! Invariants:
//! - a block is voted for only after it executed on its parent's state with every root matching;
//! - a finalized block is acknowledged to marshal only after it is durably committed to the store,
//!   so a restarted node is redelivered everything it had not committed;
//! - this crate does not know HTTP, JSON or how peers are addressed: the node passes in
//!   registered network channels and a runtime context.

mod application;
mod certificate;
mod engine;
mod follow;
mod handle;
mod mempool;
mod relay;
mod repair;

pub use application::{Finalizer, Scheme, TallyApp, BLOCK_ENTRIES_MAX, CLOCK_SKEW_MAX, IDLE_WAIT};
pub use certificate::{
    consensus_namespace, participants_of, CertificateError, CertificateVerifier, Certified,
    ChainPeers, EpochSet,
};
pub use engine::{channel, start_validator, Networks, Timing, ValidatorConfig};
pub use follow::{FollowError, Follower, FOLLOW_HELD_MAX};
pub use handle::{
    ChainHandle, CommitError, FinalityLag, Outcome, Receipt, Speculative, Stats, SubmitError,
    FINALITY_LAG_SAMPLES_MAX, OUTCOMES_MAX,
};
pub use mempool::{AdmitError, Mempool, MEMPOOL_ENTRIES_MAX};
pub use relay::{
    RELAY_MESSAGE_BYTES_MAX, RELAY_MESSAGE_TXS_MAX, RELAY_QUEUE_MAX, RELAY_TX_ENTRIES_MAX,
};
pub use repair::{ReadError, REPAIR_TIMEOUT};
