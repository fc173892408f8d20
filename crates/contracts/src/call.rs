//! What members send to the consortium (calls) and what the consortium
//! reports back (events). Events are what posting rules book.

use serde::{Deserialize, Serialize};

use crate::governance::GovernanceAction;
use crate::names::{ContractId, EnterpriseName};
use crate::services::{CommissionTerms, ShippingTerms};
use crate::trade::TradeTerms;

/// One signed call to the consortium. Who may sign each call and in which
/// state is documented per variant and enforced by
/// [`Consortium::apply`](crate::Consortium::apply).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractCall {
    /// Seller or buyer proposes a trade with a new id; both must be active
    /// and different.
    ProposeTrade {
        /// The new trade's id.
        id: ContractId,
        /// The terms.
        terms: TradeTerms,
    },
    /// The party that did not propose agrees: proposed → confirmed.
    ConfirmTrade {
        /// The trade.
        id: ContractId,
    },
    /// The seller sends the goods: confirmed → shipped.
    ShipTrade {
        /// The trade.
        id: ContractId,
        /// The seller's cost of the goods shipped (may be zero).
        cost: u64,
    },
    /// The buyer received the goods: shipped → delivered.
    DeliverTrade {
        /// The trade.
        id: ContractId,
    },
    /// The seller invoices: delivered → invoiced.
    InvoiceTrade {
        /// The trade.
        id: ContractId,
    },
    /// Either party asks to cancel, before shipment; cancelled once both did.
    RequestCancel {
        /// The trade.
        id: ContractId,
    },
    /// The buyer asks to return goods: in delivered, invoiced or settled.
    RequestReturn {
        /// The trade.
        id: ContractId,
    },
    /// The seller refunds part or all of the trade: in invoiced or settled.
    RefundTrade {
        /// The trade.
        id: ContractId,
        /// Net revenue refunded.
        net: u64,
        /// Shipping refunded.
        shipping: u64,
        /// Tax refunded.
        tax: u64,
    },
    /// The merchant orders a shipment with a new id.
    ProposeShipping {
        /// The new contract's id.
        id: ContractId,
        /// The terms.
        terms: ShippingTerms,
    },
    /// The carrier accepts: proposed → accepted.
    AcceptShipping {
        /// The shipping contract.
        id: ContractId,
    },
    /// The carrier delivered: accepted → delivered.
    DeliverShipment {
        /// The shipping contract.
        id: ContractId,
    },
    /// The platform claims a commission on one of the merchant's trades.
    ProposeCommission {
        /// The new contract's id.
        id: ContractId,
        /// The terms.
        terms: CommissionTerms,
    },
    /// The merchant agrees: proposed → confirmed.
    ConfirmCommission {
        /// The commission contract.
        id: ContractId,
    },
    /// The payment moved: trade invoiced → settled, shipping delivered →
    /// settled, commission confirmed → settled. Signed by the payee or by a
    /// payment provider.
    Settle {
        /// The contract.
        id: ContractId,
        /// The payment fee the payee bears, at most the amount settled.
        fee: u64,
    },
    /// An admin proposes a change of the registry; counts as its approval.
    ProposeGovernance {
        /// The new proposal's id.
        id: ContractId,
        /// The change.
        action: GovernanceAction,
    },
    /// An admin of another enterprise approves a proposal.
    ApproveGovernance {
        /// The proposal.
        id: ContractId,
    },
    /// A party attaches private terms to a contract (a delivery address): fields only the
    /// members holding a key read; everyone sees their commitments.
    SealTerms {
        /// The contract.
        id: ContractId,
        /// The sealed fields and the keys of the parties' members.
        terms: crate::sealed_terms::SealedTerms,
    },
    /// An admin or bookkeeper commits its private chain's head.
    Anchor {
        /// The private chain's id.
        chain_id: String,
        /// The anchored height; above the last one for this chain.
        height: u64,
        /// The block's digest at that height.
        block_hash: [u8; 32],
    },
}

/// Something that happened to a contract, as a result of one call. A call
/// may cause several (a second cancel request both records the request and
/// cancels the trade).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ContractEvent {
    /// The contract or proposal; for anchors `"anchor:<enterprise>"`.
    pub contract: ContractId,
    /// What happened.
    pub kind: EventKind,
}

/// What happened. Amounts are minor units of the contract's currency.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A trade was proposed.
    TradeProposed,
    /// A trade was confirmed by the other party.
    TradeConfirmed,
    /// A party asked to cancel.
    CancelRequested {
        /// The party.
        by: EnterpriseName,
    },
    /// Both parties asked: the trade is cancelled.
    TradeCancelled,
    /// The goods left the seller.
    TradeShipped {
        /// The seller's cost of the goods.
        cost: u64,
    },
    /// The goods reached the buyer.
    TradeDelivered,
    /// The sale was invoiced.
    TradeInvoiced,
    /// The buyer asked to return goods.
    ReturnRequested,
    /// The seller refunded part of the trade.
    TradeRefunded {
        /// Net revenue refunded.
        net: u64,
        /// Shipping refunded.
        shipping: u64,
        /// Tax refunded.
        tax: u64,
        /// Whether the trade was already paid, so the money goes back
        /// through the bank rather than reducing the debt.
        after_settlement: bool,
    },
    /// A shipment was ordered.
    ShippingProposed,
    /// The carrier accepted it.
    ShippingAccepted,
    /// The carrier delivered it.
    ShipmentDelivered,
    /// A commission was claimed.
    CommissionProposed,
    /// The merchant agreed to it.
    CommissionConfirmed,
    /// The payment moved.
    Settled {
        /// The payment fee the payee bears.
        fee: u64,
    },
    /// A registry change was proposed.
    GovernanceProposed,
    /// An enterprise approved a proposal.
    GovernanceApproved {
        /// The enterprise.
        by: EnterpriseName,
    },
    /// A proposal met the threshold and changed the registry.
    GovernanceApplied {
        /// The change.
        action: GovernanceAction,
    },
    /// A party sealed private terms onto the contract: their names and commitments.
    TermsSealed {
        /// Each field's name and salted commitment.
        commitments: Vec<(
            tally_ledger::FieldName,
            [u8; tally_ledger::COMMITMENT_BYTES],
        )>,
    },
    /// An enterprise anchored its private chain.
    Anchored {
        /// The enterprise.
        enterprise: EnterpriseName,
        /// Its chain.
        chain_id: String,
        /// The anchored height.
        height: u64,
        /// The block's digest.
        block_hash: [u8; 32],
    },
}
