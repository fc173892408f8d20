//! Tally's consortium contracts and the posting rules that book their events.
//!
//! The consortium chain is shared by enterprises that trade with each other
//! (merchants, suppliers, carriers, marketplaces, payment providers). Its
//! state is a [`Consortium`]: the registry of enterprises, the governance
//! threshold, the contracts and the anchors of each enterprise's private
//! chain. Members change it only through signed [`ContractCall`]s, which
//! [`Consortium::apply`] checks and turns into [`ContractEvent`]s:
//!
//! - **trade** ([`Trade`]): proposed by seller or buyer, confirmed by the other
//!   party, shipped, delivered, invoiced, settled; cancelled by both parties
//!   before shipment; returns requested and refunds made after invoicing;
//! - **shipping** ([`Shipping`]): a merchant's order to a carrier;
//! - **commission** ([`Commission`]): a marketplace's share of a merchant's sale;
//! - **settlement**: the payee or a payment provider confirms the money moved;
//! - **governance** ([`GovernanceAction`]): adding or removing enterprises and
//!   rotating validator keys, applied once a [`Threshold`] of active
//!   enterprises approved;
//! - **anchors** ([`Anchor`]): an enterprise commits its private chain's head.
//!
//! Each party's node then calls [`derive_entry`] for every event, with its own
//! [`PostingRules`], to get the journal entry for its private books, under an
//! id ([`derived_entry_id`]) that depends only on the consortium transaction
//! and the event's index.
//!
//! Invariants:
//! - pure and deterministic: no I/O, no clock, no randomness; the same calls
//!   on the same state give the same state and events on every validator;
//! - a refused call changes nothing ([`Consortium::apply`] plans, then commits);
//! - amounts are `u64` minor units with checked arithmetic: overflow is an
//!   error ([`ContractError::AmountOverflow`]), never a panic or a wrap;
//! - every derived entry passes [`tally_ledger::EntryDraft::check`], and over a
//!   trade's events the seller's receivable moves exactly as the buyer's
//!   payable (a marketplace agent's marketplace payable): intercompany
//!   balances match by construction.
//!
//! Every limit is a named constant ([`TRADE_LINES_MAX`], [`ENTERPRISES_MAX`],
//! [`VALIDATORS_MAX`], [`CONTRACT_ID_LEN_MAX`], ...).

#![warn(missing_docs)]

mod call;
mod consortium;
mod contract;
mod error;
mod governance;
mod history;
mod names;
mod posting;
mod registry;
mod sealed_terms;
mod services;
mod trade;

pub use call::{ContractCall, ContractEvent, EventKind};
pub use consortium::{Anchor, Consortium, ANCHOR_CHAIN_ID_LEN_MAX, REGISTRY_DIGEST_DOMAIN};
pub use contract::Contract;
pub use error::{ContractError, NameError};
pub use governance::{GovernanceAction, Proposal};
pub use history::{AnchorChange, HistoryChanges};
pub use names::{
    ContractId, EnterpriseName, ANCHOR_ID_PREFIX, CONTRACT_ID_LEN_MAX, ENTERPRISE_NAME_LEN_MAX,
};
pub use posting::{
    derive_entry, derived_entry_id, PostingRules, DERIVED_ID_HASH_BYTES, DERIVED_ID_PREFIX,
};
pub use registry::{
    EnterpriseKind, EnterpriseRecord, Signer, Threshold, ENTERPRISES_MAX, VALIDATORS_MAX,
    VALIDATOR_KEY_HEX_LEN,
};
pub use sealed_terms::{PartyKey, SealedTerms, PARTY_KEYS_MAX};
pub use services::{
    Commission, CommissionState, CommissionTerms, Shipping, ShippingState, ShippingTerms,
};
pub use trade::{Trade, TradeLine, TradeState, TradeTerms, SKU_LEN_MAX, TRADE_LINES_MAX};
