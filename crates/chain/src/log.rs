//! The entry log: an append-only Merkle Mountain Range over every entry ever committed.
//!
//! Its root in each block header lets an auditor who kept an old header check that a later one
//! extends it. Only the peaks are kept in memory (and in the state snapshot): that is all an
//! append and a root need, so cloning the log for speculative execution costs a few hashes.

use commonware_cryptography::{sha256, Sha256};
use commonware_storage::merkle::{
    hasher::Standard,
    mem::Config,
    mmr::{mem::Mmr, Location},
    Bagging,
};
use serde::{Deserialize, Serialize};
use tally_identity::Digest;

#[derive(Clone, Debug)]
pub struct EntryLog {
    mmr: Mmr<sha256::Digest>,
}

/// The persisted form: leaf count and peak digests, oldest peak first.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EntryLogPeaks {
    pub leaves: u64,
    pub peaks: Vec<[u8; 32]>,
}

fn hasher() -> Standard<Sha256> {
    Standard::new(Bagging::ForwardFold)
}

impl Default for EntryLog {
    fn default() -> Self {
        EntryLog { mmr: Mmr::new() }
    }
}

impl EntryLog {
    /// Appends leaves (one per committed entry, in commit order).
    pub fn append(&mut self, leaves: &[Digest]) {
        if leaves.is_empty() {
            return;
        }
        let hasher = hasher();
        let mut batch = self.mmr.new_batch();
        for leaf in leaves {
            batch = batch.add(&hasher, leaf);
        }
        let batch = batch.merkleize(&self.mmr, &hasher);
        self.mmr
            .apply_batch(&batch)
            .expect("a batch built on this log applies to it");
        self.mmr.prune_all();
    }

    pub fn root(&self) -> Digest {
        self.mmr
            .root(&hasher(), 0)
            .expect("the root of a well-formed log exists")
            .0
    }

    pub fn len(&self) -> u64 {
        *self.mmr.leaves()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn peaks(&self) -> EntryLogPeaks {
        let peaks = self
            .mmr
            .peak_iterator()
            .map(|(position, _)| {
                self.mmr
                    .get_node(position)
                    .expect("peaks are pinned after pruning")
                    .0
            })
            .collect();
        EntryLogPeaks {
            leaves: self.len(),
            peaks,
        }
    }

    pub fn from_peaks(saved: &EntryLogPeaks) -> Option<EntryLog> {
        let mmr = Mmr::init(Config {
            nodes: Vec::new(),
            pruning_boundary: Location::new(saved.leaves),
            pinned_nodes: saved
                .peaks
                .iter()
                .map(|peak| sha256::Digest(*peak))
                .collect(),
        })
        .ok()?;
        Some(EntryLog { mmr })
    }
}

impl Serialize for EntryLog {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.peaks().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EntryLog {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let saved = EntryLogPeaks::deserialize(deserializer)?;
        EntryLog::from_peaks(&saved)
            .ok_or_else(|| serde::de::Error::custom("entry log peaks do not match its size"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_after_restore_matches_and_appends_continue() {
        let leaves: Vec<Digest> = (0u8..37).map(|i| [i; 32]).collect();
        let mut whole = EntryLog::default();
        whole.append(&leaves);
        let mut split = EntryLog::default();
        split.append(&leaves[..10]);
        let mut restored = EntryLog::from_peaks(&split.peaks()).unwrap();
        restored.append(&leaves[10..]);
        assert_eq!(restored.root(), whole.root());
        assert_eq!(restored.len(), 37);
        let mut other = EntryLog::default();
        other.append(&leaves[1..]);
        assert_ne!(other.root(), whole.root());
    }
}
