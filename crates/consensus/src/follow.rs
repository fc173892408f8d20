//! Following a chain without voting: an observer node takes finalized blocks from validators it
//! does not trust, and commits only what a quorum of the validators finalized.
//!
//! A block is accepted when its own finalization certificate verifies against the validator set
//! of the block's epoch (the genesis's, or the one the last boundary block committed), or when it is an ancestor, by parent links, of a block whose certificate does
//! (marshal finalizes some blocks only through a descendant's certificate). Blocks without a
//! certificate of their own are held until such a descendant arrives, up to
//! [`FOLLOW_HELD_MAX`]. Each accepted block is then executed on the observer's own state, so a
//! certified block that does not execute to the roots in its header is refused too.
//!
//! A boundary block always carries its own certificate, so held blocks never span an epoch.
//!
//! Invariant: nothing is committed that a quorum of its epoch's validators did not finalize;
//! a refused offer drops every held block and leaves the committed state as it was.

use tally_chain::{header_digest, Block};

use crate::certificate::{CertificateError, CertificateVerifier};
use crate::handle::{ChainHandle, CommitError};

/// Most blocks held while waiting for a certified descendant. Marshal certifies nearly every
/// block itself; a source that sends this many uncertified blocks in a row is not serving
/// finalized blocks, and holding more would only grow memory.
pub const FOLLOW_HELD_MAX: usize = 1_024;

/// Why an offered block was refused. Nothing was committed, and the held blocks were dropped.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("block {got} offered where block {expected} comes next")]
    WrongHeight { expected: u64, got: u64 },
    #[error("block {height} is not a block of chain '{chain}'")]
    WrongChain { height: u64, chain: String },
    #[error("block {height} does not extend block {parent_height}: its parent is {got}, the chain's block is {expected}")]
    WrongParent {
        height: u64,
        parent_height: u64,
        expected: String,
        got: String,
    },
    #[error("block {height}: its finalization certificate does not verify: {source}")]
    Certificate {
        height: u64,
        source: CertificateError,
    },
    #[error("{held} blocks from height {from} came without a certificate covering them")]
    TooManyUncertified { from: u64, held: usize },
    #[error("certified block {height} cannot be committed: {source}")]
    Commit {
        height: u64,
        source: Box<CommitError>,
    },
}

/// Takes blocks in height order and commits those a certificate covers.
pub struct Follower {
    chain: ChainHandle,
    verifier: CertificateVerifier,
    held: Vec<Block>,
}

impl Follower {
    pub fn new(chain: ChainHandle) -> Result<Follower, CertificateError> {
        // The handle's verifier: it learns each epoch's validators as its boundary is committed.
        let verifier = match chain.certificate_verifier() {
            Some(verifier) => verifier.clone(),
            None => CertificateVerifier::new(chain.genesis())?,
        };
        Ok(Follower {
            chain,
            verifier,
            held: Vec::new(),
        })
    }

    /// The height of the next block to offer: after the committed blocks and those held.
    pub fn next_height(&self) -> u64 {
        self.chain.state().height + 1 + self.held.len() as u64
    }

    /// Blocks held for a certified descendant.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Offers the next block with its own certificate, if it has one. Returns how many blocks
    /// were committed (this one and the held ancestors its certificate covers), 0 if it is held.
    pub fn offer(&mut self, block: Block, certificate: Option<&[u8]>) -> Result<u64, FollowError> {
        let result = self.accept(block, certificate);
        if result.is_err() {
            self.held.clear();
        }
        result
    }

    fn accept(&mut self, block: Block, certificate: Option<&[u8]>) -> Result<u64, FollowError> {
        let committed = self.chain.state();
        let expected = self.next_height();
        let height = block.height();
        if height != expected {
            return Err(FollowError::WrongHeight {
                expected,
                got: height,
            });
        }
        if block.header.chain != committed.chain_hash() {
            return Err(FollowError::WrongChain {
                height,
                chain: self.chain.chain_id().to_string(),
            });
        }
        let parent = match self.held.last() {
            Some(previous) => header_digest(&previous.header).0,
            None => committed.tip,
        };
        if block.header.parent != parent {
            return Err(FollowError::WrongParent {
                height,
                parent_height: height - 1,
                expected: hex::encode(parent),
                got: hex::encode(block.header.parent),
            });
        }
        let Some(certificate) = certificate else {
            if self.held.len() >= FOLLOW_HELD_MAX {
                return Err(FollowError::TooManyUncertified {
                    from: committed.height + 1,
                    held: self.held.len(),
                });
            }
            self.held.push(block);
            return Ok(0);
        };
        self.verifier
            .verify(height, certificate, &header_digest(&block.header))
            .map_err(|source| FollowError::Certificate { height, source })?;
        // The certificate covers this block and, through the parent links checked above, every
        // held ancestor: commit them oldest first.
        let mut committed_blocks = 0;
        for ancestor in std::mem::take(&mut self.held) {
            let ancestor_height = ancestor.height();
            self.chain
                .commit_finalized(&ancestor, None)
                .map_err(|source| FollowError::Commit {
                    height: ancestor_height,
                    source: Box::new(source),
                })?;
            committed_blocks += 1;
        }
        self.chain
            .commit_finalized(&block, Some(certificate))
            .map_err(|source| FollowError::Commit {
                height,
                source: Box::new(source),
            })?;
        Ok(committed_blocks + 1)
    }
}
