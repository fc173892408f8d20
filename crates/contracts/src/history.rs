//! The consortium's history: its contracts, their sealed terms and the anchors. These grow with
//! every trade for as long as the consortium runs, unlike the registry and the governance
//! proposals. A store keeps them in tables of its own, writing one block's [`HistoryChanges`]
//! at a time, instead of encoding all of them into the state snapshot it writes after every
//! block (1.7 MB a block after 3,000 trades, growing without bound).

use std::sync::Arc;

use imbl::ordmap::DiffItem;
use imbl::OrdMap;

use crate::consortium::{Anchor, Consortium};
use crate::contract::Contract;
use crate::names::{ContractId, EnterpriseName};
use crate::sealed_terms::SealedTerms;

/// The anchors of one enterprise's chain that changed: `anchors` replace positions `from..`,
/// and the history now has `from + anchors.len()` anchors where it had `len_before`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AnchorChange {
    /// The anchoring enterprise.
    pub enterprise: EnterpriseName,
    /// Its private chain.
    pub chain_id: String,
    /// The first position written.
    pub from: u64,
    /// The anchors from position `from` on.
    pub anchors: Vec<Anchor>,
    /// How many anchors the history had before.
    pub len_before: u64,
}

/// What changed in the history between two states of the consortium. `None`: removed.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct HistoryChanges {
    /// New and changed contracts.
    pub contracts: Vec<(ContractId, Option<Arc<Contract>>)>,
    /// Contracts whose sealed terms changed, with all of their terms.
    pub sealed: Vec<(ContractId, Option<Vec<Arc<SealedTerms>>>)>,
    /// Enterprise chains with new anchors.
    pub anchors: Vec<AnchorChange>,
}

impl HistoryChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.contracts.is_empty() && self.sealed.is_empty() && self.anchors.is_empty()
    }
}

/// The keys whose values differ between two maps, with the new value (`None`: removed).
fn changed<K: Ord + Clone, V: PartialEq + Clone>(
    before: &OrdMap<K, V>,
    after: &OrdMap<K, V>,
) -> Vec<(K, Option<V>)> {
    before
        .diff(after)
        .map(|item| match item {
            DiffItem::Add(key, value)
            | DiffItem::Update {
                new: (key, value), ..
            } => (key.clone(), Some(value.clone())),
            DiffItem::Remove(key, _) => (key.clone(), None),
        })
        .collect()
}

impl Consortium {
    /// What changed in the history from `before` (`None`: an empty history) to `self`. The maps
    /// share their unchanged parts, which the comparison skips: its cost is that of the change.
    pub fn history_changes(&self, before: Option<&Consortium>) -> HistoryChanges {
        let empty;
        let before = match before {
            Some(before) => before,
            None => {
                empty = self.without_history();
                &empty
            }
        };
        let contracts = changed(&before.contracts, &self.contracts);
        let sealed = changed(&before.sealed, &self.sealed);
        let anchors = before
            .anchors
            .diff(&self.anchors)
            .map(|item| {
                let (key, old, new) = match item {
                    DiffItem::Add(key, new) => (key, None, Some(new)),
                    DiffItem::Update {
                        old: (key, old),
                        new: (_, new),
                    } => (key, Some(old), Some(new)),
                    DiffItem::Remove(key, old) => (key, Some(old), None),
                };
                let len_before = old.map_or(0, |old| old.len());
                // Anchors are only ever appended, so this is normally the old length.
                let from = match (old, new) {
                    (Some(old), Some(new)) => old
                        .iter()
                        .zip(new.iter())
                        .position(|(a, b)| a != b)
                        .unwrap_or(old.len().min(new.len())),
                    _ => 0,
                };
                AnchorChange {
                    enterprise: key.0.clone(),
                    chain_id: key.1.clone(),
                    from: from as u64,
                    anchors: new
                        .map_or_else(Vec::new, |new| new.iter().skip(from).copied().collect()),
                    len_before: len_before as u64,
                }
            })
            .collect();
        HistoryChanges {
            contracts,
            sealed,
            anchors,
        }
    }

    /// The same consortium without its history: the registry, the threshold and the proposals.
    pub fn without_history(&self) -> Consortium {
        Consortium {
            enterprises: self.enterprises.clone(),
            threshold: self.threshold,
            contracts: Default::default(),
            proposals: self.proposals.clone(),
            anchors: Default::default(),
            sealed: Default::default(),
        }
    }

    /// Puts back one contract of the history (loading a store).
    pub fn restore_contract(&mut self, id: ContractId, contract: Contract) {
        self.contracts.insert(id, Arc::new(contract));
    }

    /// Puts back one contract's sealed terms (loading a store).
    pub fn restore_sealed(&mut self, id: ContractId, terms: Vec<SealedTerms>) {
        self.sealed
            .insert(id, terms.into_iter().map(Arc::new).collect());
    }

    /// Appends one anchor to an enterprise chain's history (loading a store, oldest first).
    pub fn restore_anchor(&mut self, enterprise: EnterpriseName, chain_id: String, anchor: Anchor) {
        self.anchors
            .entry((enterprise, chain_id))
            .or_default()
            .push_back(anchor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor(height: u64) -> Anchor {
        Anchor {
            height,
            block_hash: [height as u8; 32],
        }
    }

    fn consortium() -> Consortium {
        let record = |seed: u8, kind| crate::registry::EnterpriseRecord {
            kind,
            root_key: tally_identity::SecretKey::from_seed([seed; 32]).public_key(),
            validator_key: None,
            active: true,
        };
        Consortium::new(
            [
                (
                    EnterpriseName::new("acme").unwrap(),
                    record(1, crate::EnterpriseKind::Merchant),
                ),
                (
                    EnterpriseName::new("bolt").unwrap(),
                    record(2, crate::EnterpriseKind::Supplier),
                ),
            ]
            .into_iter()
            .collect(),
            crate::Threshold {
                numerator: 2,
                denominator: 3,
            },
        )
        .unwrap()
    }

    #[test]
    fn changes_rebuild_the_history_that_was_left_out() {
        let mut before = consortium();
        let acme = EnterpriseName::new("acme").unwrap();
        before.restore_anchor(acme.clone(), "acme-books".into(), anchor(1));
        let mut after = before.clone();
        after.restore_anchor(acme.clone(), "acme-books".into(), anchor(2));
        after.restore_anchor(acme.clone(), "acme-books".into(), anchor(3));
        let changes = after.history_changes(Some(&before));
        assert_eq!(
            changes.anchors,
            vec![AnchorChange {
                enterprise: acme.clone(),
                chain_id: "acme-books".into(),
                from: 1,
                anchors: vec![anchor(2), anchor(3)],
                len_before: 1,
            }]
        );
        assert!(changes.contracts.is_empty() && changes.sealed.is_empty());
        assert!(after.history_changes(Some(&after)).is_empty());

        // From nothing: everything; replayed onto the history-less state, the same consortium.
        let all = after.history_changes(None);
        let mut rebuilt = after.without_history();
        for change in all.anchors {
            for anchor in change.anchors {
                rebuilt.restore_anchor(change.enterprise.clone(), change.chain_id.clone(), anchor);
            }
        }
        assert_eq!(rebuilt, after);
    }
}
