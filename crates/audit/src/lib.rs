//! Tally's audit: checks, with nothing but stored bytes and a genesis, that the books are what the
//! chain says.
//!
//! - [`verify`]: the offline full audit of a node's stored chain (`tally verify`): every block
//!   hash and parent link, Merkle root, signature and finalization certificate, and the state
//!   rebuilt by replay compared byte for byte with the stored snapshot.
//! - [`proof`]: self-contained entry inclusion and chain consistency proofs (`tally proof`),
//!   checked offline against the genesis alone.
//! - [`anchors`]: partners' private chain heads anchored on the consortium chain, compared with
//!   what their chains show now.
//!
//! Invariant: an audit never writes to what it audits, and never panics on damaged data; it names
//! the chain, the record and what is wrong.

pub mod anchors;
pub mod proof;
pub mod verify;

pub use anchors::{check_anchors, AnchorMismatch, AnchorReport};
pub use proof::{
    prove_closing, prove_consistency, prove_entry, CheckError, ClosingProof, ConsistencyProof,
    EntryProof, EpochHandoff, Proof, ProveError, Proven, TxInclusion, PROOF_BYTES_MAX,
    PROOF_HEADERS_MAX, PROOF_MAGIC, PROOF_MAGIC_V2,
};
pub use verify::{
    verify_file, verify_store, ChainReport, Location, Problem, Progress, VerifyError,
};
