//! Partners' anchors: each enterprise commits its private chain's head (height, block digest) to
//! the consortium chain. A private chain that later shows another block at an anchored height
//! has been rewritten, and is reported with both digests.

use std::collections::BTreeMap;

use tally_chain::ChainState;

/// One anchored head that the chain no longer shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorMismatch {
    pub enterprise: String,
    pub chain_id: String,
    pub height: u64,
    pub anchored: [u8; 32],
    /// What the chain shows at that height now: `None` if it has no block there.
    pub shown: Option<[u8; 32]>,
}

impl std::fmt::Display for AnchorMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "enterprise {} anchored block {} of chain '{}' as {}, but the chain now shows {}",
            self.enterprise,
            self.height,
            self.chain_id,
            hex::encode(self.anchored),
            match self.shown {
                Some(digest) => hex::encode(digest),
                None => "no block at that height".into(),
            }
        )
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnchorReport {
    /// Anchors compared with the chain they name.
    pub checked: u64,
    /// Anchors of chains neither stored here nor served by a given partner, per chain.
    pub unavailable: BTreeMap<String, u64>,
    pub mismatches: Vec<AnchorMismatch>,
}

/// How a private chain's block digest at a height is looked up: `Ok(None)` if the chain is not
/// available to this check, `Ok(Some(None))` if it has no block at that height.
pub type Lookup<'a> = dyn FnMut(&str, u64) -> Result<Option<Option<[u8; 32]>>, String> + 'a;

/// Compares every anchor in the consortium `state` with what `lookup` shows.
pub fn check_anchors(state: &ChainState, lookup: &mut Lookup<'_>) -> Result<AnchorReport, String> {
    let mut report = AnchorReport::default();
    let Some(consortium) = &state.consortium else {
        return Ok(report);
    };
    for ((enterprise, chain_id), anchors) in &consortium.anchors {
        for anchor in anchors {
            match lookup(chain_id, anchor.height)? {
                None => *report.unavailable.entry(chain_id.clone()).or_default() += 1,
                Some(shown) => {
                    report.checked += 1;
                    if shown != Some(anchor.block_hash) {
                        report.mismatches.push(AnchorMismatch {
                            enterprise: enterprise.to_string(),
                            chain_id: chain_id.clone(),
                            height: anchor.height,
                            anchored: anchor.block_hash,
                            shown,
                        });
                    }
                }
            }
        }
    }
    Ok(report)
}
