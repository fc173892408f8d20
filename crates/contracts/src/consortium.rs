//! The consortium's state and the one entry point that changes it,
//! [`Consortium::apply`].
//!
//! `apply` first plans: it checks the signer and the call against the state
//! and computes the one change the call makes, without touching `self`. Only
//! a plan that succeeded is committed, and committing cannot fail, so a
//! refused call changes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use imbl::{OrdMap, Vector};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tally_identity::PublicKey;
use tally_ledger::Role;

use crate::call::{ContractCall, ContractEvent, EventKind};
use crate::contract::{Contract, TRADE};
use crate::error::ContractError;
use crate::governance::{check_registry, GovernanceAction, Proposal};
use crate::names::{ContractId, EnterpriseName};
use crate::registry::{EnterpriseKind, EnterpriseRecord, Signer, Threshold};
use crate::sealed_terms::SealedTerms;
use crate::services::{
    Commission, CommissionState, CommissionTerms, Shipping, ShippingState, ShippingTerms,
    COMMISSION, SHIPPING,
};
use crate::trade::{require_party_of, Trade, TradeTerms};

/// Longest chain id an anchor may name, in bytes. Chain ids are short names
/// from a genesis file ("acme-books"); the bound keeps the anchor map small.
pub const ANCHOR_CHAIN_ID_LEN_MAX: usize = 64;

/// First bytes hashed by [`Consortium::registry_digest`]. The version lets a
/// future encoding coexist without two encodings ever sharing a digest.
pub const REGISTRY_DIGEST_DOMAIN: &[u8] = b"tally/contracts/registry/v1\0";

/// One anchored head of an enterprise's private chain.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Anchor {
    /// The anchored height.
    pub height: u64,
    /// The block's digest at that height.
    pub block_hash: [u8; 32],
}

/// The consortium chain's contract state: who is in, the governance threshold,
/// the contracts, the governance proposals and the anchors.
///
/// It (de)serializes (postcard) for the chain's own store; decoding does not
/// re-validate, so only decode what this crate encoded.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Consortium {
    /// Every enterprise ever admitted, removed ones with `active: false`.
    pub enterprises: BTreeMap<EnterpriseName, EnterpriseRecord>,
    /// The share of active enterprises that applies a governance action.
    pub threshold: Threshold,
    /// Every contract, by id.
    ///
    /// The state is cloned for every block executed on it, and these collections only grow,
    /// so they are persistent structures: a clone shares them and costs O(1), an insert copies
    /// one path of the tree. Contracts are kept behind an `Arc` so that copying a path copies
    /// pointers, not contracts. They encode like the `BTreeMap`s and `Vec`s they replace.
    pub contracts: OrdMap<ContractId, Arc<Contract>>,
    /// Every governance proposal, by id (ids are shared with contracts).
    pub proposals: OrdMap<ContractId, Proposal>,
    /// Every anchor, per enterprise and chain, oldest first. The whole
    /// history is kept: it is the proof partners hold of past books.
    pub anchors: OrdMap<(EnterpriseName, String), Vector<Anchor>>,
    /// The private terms sealed onto each contract, oldest first; they never change once sealed.
    pub sealed: OrdMap<ContractId, Vec<Arc<SealedTerms>>>,
}

/// The one change a successful call makes.
enum Change {
    /// A new or changed contract.
    Contract(Contract),
    /// A new or approved proposal, applied to the registry if `apply`.
    Proposal { proposal: Proposal, apply: bool },
    /// Private terms sealed onto a contract.
    Sealed(Arc<SealedTerms>),
    /// A new anchor.
    Anchor {
        key: (EnterpriseName, String),
        anchor: Anchor,
    },
}

/// A successful plan: the id the events carry, the change, and the events.
type Plan = (ContractId, Change, Vec<EventKind>);

impl Consortium {
    /// A consortium of `enterprises` (at most [`crate::ENTERPRISES_MAX`], at
    /// least one active, distinct root keys, well-formed and distinct
    /// validator keys, removed enterprises included) deciding with
    /// `threshold`, with no contracts yet.
    pub fn new(
        enterprises: BTreeMap<EnterpriseName, EnterpriseRecord>,
        threshold: Threshold,
    ) -> Result<Consortium, ContractError> {
        threshold.validate()?;
        check_registry(&enterprises)?;
        Ok(Consortium {
            enterprises,
            threshold,
            contracts: OrdMap::new(),
            proposals: OrdMap::new(),
            anchors: OrdMap::new(),
            sealed: OrdMap::new(),
        })
    }

    /// Applies one signed call and returns what happened. On error nothing
    /// changes. The result depends only on the state, the call and the signer.
    pub fn apply(
        &mut self,
        call: &ContractCall,
        signer: &Signer,
    ) -> Result<Vec<ContractEvent>, ContractError> {
        let (contract, change, kinds) = self.plan(call, signer)?;
        self.commit(&contract, change);
        Ok(kinds
            .into_iter()
            .map(|kind| ContractEvent {
                contract: contract.clone(),
                kind,
            })
            .collect())
    }

    /// Whether `enterprise` is registered and not removed.
    pub fn is_active(&self, enterprise: &EnterpriseName) -> bool {
        self.enterprises
            .get(enterprise)
            .is_some_and(|record| record.active)
    }

    /// The enterprise whose root key is `root` (removed ones included, so that
    /// their signers get a precise refusal).
    pub fn enterprise_of_root(&self, root: &PublicKey) -> Option<&EnterpriseName> {
        self.enterprises
            .iter()
            .find(|(_, record)| record.root_key == *root)
            .map(|(name, _)| name)
    }

    /// The contract with this id.
    pub fn contract(&self, id: &ContractId) -> Option<&Contract> {
        self.contracts.get(id).map(Arc::as_ref)
    }

    /// The governance proposal with this id.
    pub fn proposal(&self, id: &ContractId) -> Option<&Proposal> {
        self.proposals.get(id)
    }

    /// The last anchor `enterprise` made for `chain_id`.
    pub fn latest_anchor(&self, enterprise: &EnterpriseName, chain_id: &str) -> Option<&Anchor> {
        self.anchors
            .get(&(enterprise.clone(), chain_id.to_owned()))
            .and_then(|anchors| anchors.last())
    }

    /// How many enterprises are active.
    pub fn active_count(&self) -> usize {
        self.enterprises
            .values()
            .filter(|record| record.active)
            .count()
    }

    /// SHA-256 of [`REGISTRY_DIGEST_DOMAIN`] followed by the postcard
    /// encodings of the enterprises, the threshold, the proposals and the
    /// latest anchor per (enterprise, chain), maps in key order.
    ///
    /// Contracts are left out: the chain commits contract states through its
    /// own log. Postcard encodings are self-delimiting, so the concatenation
    /// is unambiguous.
    pub fn registry_digest(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(REGISTRY_DIGEST_DOMAIN);
        let latest: BTreeMap<&(EnterpriseName, String), &Anchor> = self
            .anchors
            .iter()
            .filter_map(|(key, anchors)| anchors.last().map(|anchor| (key, anchor)))
            .collect();
        hash_encoding(&mut hasher, &self.enterprises);
        hash_encoding(&mut hasher, &self.threshold);
        hash_encoding(&mut hasher, &self.proposals);
        hash_encoding(&mut hasher, &latest);
        hasher.finalize().into()
    }

    /// Checks the call and computes its change, reading `self` only.
    fn plan(&self, call: &ContractCall, signer: &Signer) -> Result<Plan, ContractError> {
        self.check_signer(signer)?;
        let me = &signer.enterprise;
        match call {
            ContractCall::ProposeTrade { id, terms } => self.propose_trade(id, terms, me),
            ContractCall::ConfirmTrade { id } => {
                self.step_trade(id, "confirm", |trade| trade.confirm(id, me))
            }
            ContractCall::ShipTrade { id, cost } => {
                self.step_trade(id, "ship", |trade| trade.ship(id, me, *cost))
            }
            ContractCall::DeliverTrade { id } => {
                self.step_trade(id, "deliver", |trade| trade.deliver(id, me))
            }
            ContractCall::InvoiceTrade { id } => {
                self.step_trade(id, "invoice", |trade| trade.invoice(id, me))
            }
            ContractCall::RequestCancel { id } => {
                self.step_trade(id, "cancel", |trade| trade.request_cancel(id, me))
            }
            ContractCall::RequestReturn { id } => {
                self.step_trade(id, "request a return", |trade| trade.request_return(id, me))
            }
            ContractCall::RefundTrade {
                id,
                net,
                shipping,
                tax,
            } => self.step_trade(id, "refund", |trade| {
                trade.refund(id, me, *net, *shipping, *tax)
            }),
            ContractCall::ProposeShipping { id, terms } => self.propose_shipping(id, terms, me),
            ContractCall::AcceptShipping { id } => {
                self.step_shipping(id, "accept", |shipping| shipping.accept(id, me))
            }
            ContractCall::DeliverShipment { id } => {
                self.step_shipping(id, "deliver", |shipping| shipping.deliver(id, me))
            }
            ContractCall::ProposeCommission { id, terms } => self.propose_commission(id, terms, me),
            ContractCall::ConfirmCommission { id } => {
                let commission = match self.existing(id)? {
                    Contract::Commission(commission) => commission,
                    other => return Err(wrong_kind(id, "confirm", COMMISSION, other)),
                };
                let (next, events) = commission.confirm(id, me)?;
                Ok((
                    id.clone(),
                    Change::Contract(Contract::Commission(next)),
                    events,
                ))
            }
            ContractCall::Settle { id, fee } => {
                let is_provider = self
                    .enterprises
                    .get(me)
                    .is_some_and(|record| record.kind == EnterpriseKind::PaymentProvider);
                let (next, events) = self.existing(id)?.settle(id, me, is_provider, *fee)?;
                Ok((id.clone(), Change::Contract(next), events))
            }
            ContractCall::ProposeGovernance { id, action } => {
                self.propose_governance(id, action, signer)
            }
            ContractCall::ApproveGovernance { id } => self.approve_governance(id, signer),
            ContractCall::Anchor {
                chain_id,
                height,
                block_hash,
            } => self.anchor(chain_id, *height, *block_hash, signer),
            ContractCall::SealTerms { id, terms } => self.seal_terms(id, terms, me),
        }
    }

    /// Writes a planned change. Cannot fail: everything was checked by `plan`.
    fn commit(&mut self, id: &ContractId, change: Change) {
        match change {
            Change::Contract(contract) => {
                self.contracts.insert(id.clone(), Arc::new(contract));
            }
            Change::Proposal { proposal, apply } => {
                if apply {
                    proposal.action.apply_to(&mut self.enterprises);
                }
                self.proposals.insert(id.clone(), proposal);
            }
            Change::Anchor { key, anchor } => {
                self.anchors.entry(key).or_default().push_back(anchor);
            }
            Change::Sealed(terms) => {
                self.sealed.entry(id.clone()).or_default().push(terms);
            }
        }
    }

    /// Private terms attached to a contract by one of its parties.
    fn seal_terms(
        &self,
        id: &ContractId,
        terms: &SealedTerms,
        me: &EnterpriseName,
    ) -> Result<Plan, ContractError> {
        let contract = self.existing(id)?;
        if !contract.parties().contains(&me) {
            return Err(ContractError::NotAParty {
                kind: contract.kind_name(),
                id: id.clone(),
                action: "seal its terms",
                signer: me.clone(),
            });
        }
        let already: Vec<tally_ledger::FieldName> = self
            .sealed_terms(id)
            .iter()
            .flat_map(|terms| terms.fields.iter().map(|field| field.name))
            .collect();
        terms.check(id, &already)?;
        let event = EventKind::TermsSealed {
            commitments: terms.commitments(),
        };
        Ok((
            id.clone(),
            Change::Sealed(Arc::new(terms.clone())),
            vec![event],
        ))
    }

    /// The private terms sealed onto a contract, oldest first.
    pub fn sealed_terms(&self, id: &ContractId) -> &[Arc<SealedTerms>] {
        self.sealed.get(id).map_or(&[], Vec::as_slice)
    }

    /// The signer's enterprise must be an active member and its role must be
    /// one that signs (every role but the auditor, who only reads).
    fn check_signer(&self, signer: &Signer) -> Result<(), ContractError> {
        let enterprise = signer.enterprise.clone();
        match self.enterprises.get(&signer.enterprise) {
            None => return Err(ContractError::NotMember { enterprise }),
            Some(record) if !record.active => return Err(ContractError::Removed { enterprise }),
            Some(_) => {}
        }
        if signer.role == Role::Auditor {
            return Err(ContractError::ReadOnlyRole { role: signer.role });
        }
        Ok(())
    }

    /// Refuses an id already used by a contract or a proposal: events and
    /// references name contracts by id alone, so ids must be unique across both.
    fn check_new_id(&self, id: &ContractId) -> Result<(), ContractError> {
        if self.contracts.contains_key(id) || self.proposals.contains_key(id) {
            return Err(ContractError::ContractExists { id: id.clone() });
        }
        Ok(())
    }

    /// Refuses a party of new terms that is not active, or (with `kind`) is
    /// not of the kind its role needs.
    fn check_party(
        &self,
        contract_kind: &'static str,
        id: &ContractId,
        role: &'static str,
        enterprise: &EnterpriseName,
        kind: Option<EnterpriseKind>,
    ) -> Result<(), ContractError> {
        let record = match self.enterprises.get(enterprise) {
            Some(record) if record.active => record,
            _ => {
                return Err(ContractError::PartyNotActive {
                    kind: contract_kind,
                    id: id.clone(),
                    role,
                    enterprise: enterprise.clone(),
                })
            }
        };
        match kind {
            Some(expected) if record.kind != expected => Err(ContractError::WrongEnterpriseKind {
                kind: contract_kind,
                id: id.clone(),
                role,
                enterprise: enterprise.clone(),
                expected,
                actual: record.kind,
            }),
            _ => Ok(()),
        }
    }

    /// The contract with this id, or an error naming it.
    fn existing(&self, id: &ContractId) -> Result<&Contract, ContractError> {
        self.contracts
            .get(id)
            .map(Arc::as_ref)
            .ok_or_else(|| ContractError::UnknownContract { id: id.clone() })
    }

    /// The trade with this id, or an error if there is none or it is another kind.
    fn existing_trade(
        &self,
        id: &ContractId,
        action: &'static str,
    ) -> Result<&Trade, ContractError> {
        match self.existing(id)? {
            Contract::Trade(trade) => Ok(trade),
            other => Err(wrong_kind(id, action, TRADE, other)),
        }
    }

    fn step_trade(
        &self,
        id: &ContractId,
        action: &'static str,
        step: impl FnOnce(&Trade) -> Result<(Trade, Vec<EventKind>), ContractError>,
    ) -> Result<Plan, ContractError> {
        let (next, events) = step(self.existing_trade(id, action)?)?;
        Ok((id.clone(), Change::Contract(Contract::Trade(next)), events))
    }

    fn step_shipping(
        &self,
        id: &ContractId,
        action: &'static str,
        step: impl FnOnce(&Shipping) -> Result<(Shipping, Vec<EventKind>), ContractError>,
    ) -> Result<Plan, ContractError> {
        let shipping = match self.existing(id)? {
            Contract::Shipping(shipping) => shipping,
            other => return Err(wrong_kind(id, action, SHIPPING, other)),
        };
        let (next, events) = step(shipping)?;
        Ok((
            id.clone(),
            Change::Contract(Contract::Shipping(next)),
            events,
        ))
    }

    fn propose_trade(
        &self,
        id: &ContractId,
        terms: &TradeTerms,
        me: &EnterpriseName,
    ) -> Result<Plan, ContractError> {
        self.check_new_id(id)?;
        if *me != terms.seller && *me != terms.buyer {
            return Err(ContractError::NotAParty {
                kind: TRADE,
                id: id.clone(),
                action: "propose",
                signer: me.clone(),
            });
        }
        if terms.seller == terms.buyer {
            return Err(ContractError::SameParty {
                kind: TRADE,
                id: id.clone(),
                enterprise: terms.seller.clone(),
            });
        }
        self.check_party(TRADE, id, "seller", &terms.seller, None)?;
        let buyer_kind = terms.buyer_is_agent.then_some(EnterpriseKind::Marketplace);
        let buyer_role = if terms.buyer_is_agent {
            "agent buyer"
        } else {
            "buyer"
        };
        self.check_party(TRADE, id, buyer_role, &terms.buyer, buyer_kind)?;
        terms.validate(id)?;
        let trade = Trade::proposed(terms.clone(), me.clone());
        Ok((
            id.clone(),
            Change::Contract(Contract::Trade(trade)),
            vec![EventKind::TradeProposed],
        ))
    }

    fn propose_shipping(
        &self,
        id: &ContractId,
        terms: &ShippingTerms,
        me: &EnterpriseName,
    ) -> Result<Plan, ContractError> {
        self.check_new_id(id)?;
        require_party_of(SHIPPING, id, me, "propose", &terms.merchant, "the merchant")?;
        if terms.merchant == terms.carrier {
            return Err(ContractError::SameParty {
                kind: SHIPPING,
                id: id.clone(),
                enterprise: terms.merchant.clone(),
            });
        }
        self.check_party(SHIPPING, id, "merchant", &terms.merchant, None)?;
        self.check_party(
            SHIPPING,
            id,
            "carrier",
            &terms.carrier,
            Some(EnterpriseKind::Carrier),
        )?;
        terms.validate(id)?;
        if let Some(trade_id) = &terms.trade {
            let trade = self.existing_trade(trade_id, "ship")?;
            if !trade.is_party(&terms.merchant) {
                return Err(ContractError::NotPartyToTrade {
                    kind: SHIPPING,
                    id: id.clone(),
                    trade: trade_id.clone(),
                    enterprise: terms.merchant.clone(),
                    relation: "a party",
                });
            }
        }
        let shipping = Shipping {
            terms: terms.clone(),
            state: ShippingState::Proposed,
        };
        Ok((
            id.clone(),
            Change::Contract(Contract::Shipping(shipping)),
            vec![EventKind::ShippingProposed],
        ))
    }

    fn propose_commission(
        &self,
        id: &ContractId,
        terms: &CommissionTerms,
        me: &EnterpriseName,
    ) -> Result<Plan, ContractError> {
        self.check_new_id(id)?;
        require_party_of(
            COMMISSION,
            id,
            me,
            "propose",
            &terms.platform,
            "the platform",
        )?;
        if terms.platform == terms.merchant {
            return Err(ContractError::SameParty {
                kind: COMMISSION,
                id: id.clone(),
                enterprise: terms.platform.clone(),
            });
        }
        self.check_party(
            COMMISSION,
            id,
            "platform",
            &terms.platform,
            Some(EnterpriseKind::Marketplace),
        )?;
        self.check_party(COMMISSION, id, "merchant", &terms.merchant, None)?;
        terms.validate(id)?;
        let trade = self.existing_trade(&terms.trade, "take a commission")?;
        if trade.terms.seller != terms.merchant {
            return Err(ContractError::NotPartyToTrade {
                kind: COMMISSION,
                id: id.clone(),
                trade: terms.trade.clone(),
                enterprise: terms.merchant.clone(),
                relation: "the seller",
            });
        }
        let commission = Commission {
            terms: terms.clone(),
            state: CommissionState::Proposed,
        };
        Ok((
            id.clone(),
            Change::Contract(Contract::Commission(commission)),
            vec![EventKind::CommissionProposed],
        ))
    }

    /// Whether `approvals` meet the threshold; removed enterprises' approvals
    /// do not count, and the base is today's active enterprises.
    fn threshold_met(&self, approvals: &BTreeSet<EnterpriseName>) -> bool {
        let active_approvals = approvals.iter().filter(|name| self.is_active(name)).count();
        self.threshold.is_met(active_approvals, self.active_count())
    }

    fn propose_governance(
        &self,
        id: &ContractId,
        action: &GovernanceAction,
        signer: &Signer,
    ) -> Result<Plan, ContractError> {
        require_role(signer, "propose governance", &[Role::Admin], "admin")?;
        self.check_new_id(id)?;
        action.check(&self.enterprises)?;
        let approvals = BTreeSet::from([signer.enterprise.clone()]);
        let apply = self.threshold_met(&approvals);
        let mut events = vec![EventKind::GovernanceProposed];
        if apply {
            events.push(EventKind::GovernanceApplied {
                action: action.clone(),
            });
        }
        let proposal = Proposal {
            action: action.clone(),
            approvals,
            applied: apply,
        };
        Ok((id.clone(), Change::Proposal { proposal, apply }, events))
    }

    fn approve_governance(&self, id: &ContractId, signer: &Signer) -> Result<Plan, ContractError> {
        require_role(signer, "approve governance", &[Role::Admin], "admin")?;
        let proposal = self
            .proposals
            .get(id)
            .ok_or_else(|| ContractError::UnknownProposal { id: id.clone() })?;
        if proposal.applied {
            return Err(ContractError::ProposalApplied { id: id.clone() });
        }
        let me = &signer.enterprise;
        if proposal.approvals.contains(me) {
            return Err(ContractError::AlreadyApproved {
                id: id.clone(),
                enterprise: me.clone(),
            });
        }
        let mut approvals = proposal.approvals.clone();
        approvals.insert(me.clone());
        let apply = self.threshold_met(&approvals);
        let mut events = vec![EventKind::GovernanceApproved { by: me.clone() }];
        if apply {
            // The registry may have changed since the proposal was made.
            proposal.action.check(&self.enterprises)?;
            events.push(EventKind::GovernanceApplied {
                action: proposal.action.clone(),
            });
        }
        let proposal = Proposal {
            action: proposal.action.clone(),
            approvals,
            applied: apply,
        };
        Ok((id.clone(), Change::Proposal { proposal, apply }, events))
    }

    fn anchor(
        &self,
        chain_id: &str,
        height: u64,
        block_hash: [u8; 32],
        signer: &Signer,
    ) -> Result<Plan, ContractError> {
        require_role(
            signer,
            "anchor a chain",
            &[Role::Admin, Role::Bookkeeper],
            "admin or bookkeeper",
        )?;
        let forbidden = |ch: char| {
            ch.is_control()
                || matches!(ch, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
        };
        if chain_id.is_empty()
            || chain_id.len() > ANCHOR_CHAIN_ID_LEN_MAX
            || chain_id.contains(forbidden)
        {
            return Err(ContractError::ChainIdInvalid);
        }
        let me = &signer.enterprise;
        if let Some(last) = self.latest_anchor(me, chain_id) {
            if height <= last.height {
                return Err(ContractError::AnchorNotAbove {
                    chain_id: chain_id.to_owned(),
                    height,
                    last: last.height,
                });
            }
        }
        let event = EventKind::Anchored {
            enterprise: me.clone(),
            chain_id: chain_id.to_owned(),
            height,
            block_hash,
        };
        let change = Change::Anchor {
            key: (me.clone(), chain_id.to_owned()),
            anchor: Anchor { height, block_hash },
        };
        Ok((ContractId::for_anchor(me), change, vec![event]))
    }
}

/// Refuses a signer whose role is not in `allowed`.
fn require_role(
    signer: &Signer,
    action: &'static str,
    allowed: &[Role],
    needs: &'static str,
) -> Result<(), ContractError> {
    if allowed.contains(&signer.role) {
        return Ok(());
    }
    Err(ContractError::RoleNotAllowed {
        role: signer.role,
        action,
        needs,
    })
}

/// The error for a call on the wrong kind of contract.
fn wrong_kind(
    id: &ContractId,
    action: &'static str,
    expected: &'static str,
    actual: &Contract,
) -> ContractError {
    ContractError::WrongKind {
        id: id.clone(),
        action,
        expected,
        actual: actual.kind_name(),
    }
}

/// Feeds the postcard encoding of `value` to `hasher`.
fn hash_encoding<T: Serialize>(hasher: &mut Sha256, value: &T) {
    // Postcard fails only on types it cannot represent (maps of unknown
    // length, `serialize_any`); the registry types are all representable, so
    // a failure here is a bug in this crate, not bad input.
    if let Err(error) = postcard::to_io(value, &mut *hasher) {
        panic!("registry types always encode with postcard: {error}");
    }
}
