//! Reads that protect themselves: a stored block is checked against the digest the chain
//! committed to (its own finalization certificate, or its child's parent link) before it is
//! served. A block that fails is reported, fetched again (marshal's archive first, then peers by
//! the certified round), checked, and written back; the node keeps running either way.

use std::sync::atomic::Ordering;
use std::time::Duration;

use commonware_consensus::marshal::core::DigestFallback;
use commonware_consensus::types::{Epoch, Height, Round, View};
use commonware_cryptography::Digestible as _;
use tally_chain::{header_digest, Block, BlockDigest, StoreError};
use tracing::{error, warn};

use crate::handle::ChainHandle;

/// How long a read waits for peers to deliver a good copy of a damaged block.
pub const REPAIR_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("block {height} is damaged on this node ({reason}) and no good copy was found yet")]
    Damaged { height: u64, reason: String },
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl ChainHandle {
    /// The digest the chain committed to for the block at `height`, and the round that finalized
    /// it when the block has a certificate of its own (to fetch it from peers).
    fn committed_digest(&self, height: u64) -> Option<(BlockDigest, Option<Round>)> {
        if let Ok(Some(bytes)) = self.store().certificate(height) {
            if let Some(verifier) = self.certificate_verifier() {
                if let Ok((digest, certified)) = verifier.certified_block(height, &bytes) {
                    let round = Round::new(Epoch::new(certified.epoch), View::new(certified.view));
                    return Some((digest, Some(round)));
                }
            }
        }
        match self.store().block(height + 1) {
            Ok(Some(child)) => Some((tally_chain::BlockDigest::from(child.header.parent), None)),
            _ => None,
        }
    }

    /// The finalized block at `height`, checked; repaired first if the stored copy is damaged.
    pub async fn checked_block(&self, height: u64) -> Result<Option<Block>, ReadError> {
        if height > self.store().height()? {
            return Ok(None);
        }
        if height == 0 {
            return Ok(self.store().block(0)?);
        }
        let expected = self.committed_digest(height);
        let fault = match self.store().block(height) {
            Ok(Some(block)) => match &expected {
                Some((digest, _)) if header_digest(&block.header) != *digest => {
                    format!(
                        "its digest {} is not the committed {}",
                        hex::encode(header_digest(&block.header)),
                        hex::encode(digest)
                    )
                }
                _ if block.height() != height => {
                    format!("it says it is block {}", block.height())
                }
                _ => return Ok(Some(block)),
            },
            Ok(None) => "it is missing".to_string(),
            Err(error) => error.to_string(),
        };
        self.note_damaged();
        error!(chain = self.chain_id(), height, %fault, "stored block failed its check; repairing");
        let Some((digest, round)) = expected else {
            return Err(ReadError::Damaged {
                height,
                reason: format!("{fault}; nothing on this node says what it should be"),
            });
        };
        let Some(good) = self.fetch_good_copy(height, digest, round).await else {
            return Err(ReadError::Damaged {
                height,
                reason: fault,
            });
        };
        self.store().replace_block(height, &good)?;
        self.note_repaired();
        warn!(
            chain = self.chain_id(),
            height, "repaired a damaged block from a good copy"
        );
        Ok(Some(good))
    }

    async fn fetch_good_copy(
        &self,
        height: u64,
        digest: BlockDigest,
        round: Option<Round>,
    ) -> Option<Block> {
        let marshal = self.marshal()?;
        if let Some(block) = marshal.get_block(Height::new(height)).await {
            if block.digest() == digest {
                return Some(block.inner().clone());
            }
        }
        let fallback = match round {
            Some(round) => DigestFallback::FetchByRound { round },
            None => DigestFallback::Wait,
        };
        let receiver = marshal.subscribe_by_digest(digest, fallback);
        match tokio::time::timeout(REPAIR_TIMEOUT, receiver).await {
            Ok(Ok(block)) if block.digest() == digest && block.inner().height() == height => {
                Some(block.inner().clone())
            }
            _ => None,
        }
    }
}

/// Counters of the self-check, for status and tests.
#[derive(Debug, Default)]
pub(crate) struct RepairCounters {
    pub damaged: std::sync::atomic::AtomicU64,
    pub repaired: std::sync::atomic::AtomicU64,
}

impl ChainHandle {
    fn note_damaged(&self) {
        self.repair_counters()
            .damaged
            .fetch_add(1, Ordering::Relaxed);
    }

    fn note_repaired(&self) {
        self.repair_counters()
            .repaired
            .fetch_add(1, Ordering::Relaxed);
    }

    /// (damaged blocks found on read, of which repaired) since the node started.
    pub fn repair_counts(&self) -> (u64, u64) {
        let counters = self.repair_counters();
        (
            counters.damaged.load(Ordering::Relaxed),
            counters.repaired.load(Ordering::Relaxed),
        )
    }
}
