//! Why a name, a call or a consortium was refused.
//!
//! Messages are shown to the person or service that signed the call, so each
//! names the contract and says what was expected. Fields are structured so
//! that callers (the node's API) can react to a kind of error without parsing
//! text.

use tally_ledger::{format_amount, Currency, Role};

use crate::names::{ContractId, EnterpriseName};
use crate::registry::EnterpriseKind;
use crate::trade::{SKU_LEN_MAX, TRADE_LINES_MAX};
use crate::{ANCHOR_CHAIN_ID_LEN_MAX, ENTERPRISES_MAX, VALIDATOR_KEY_HEX_LEN};

/// Why a text is not a valid [`EnterpriseName`] or [`ContractId`].
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum NameError {
    /// Empty text.
    #[error("{what} is empty")]
    Empty {
        /// "enterprise name" or "contract id".
        what: &'static str,
    },
    /// Longer than the type's limit.
    #[error("{what} is {len} bytes long (at most {max})")]
    TooLong {
        /// "enterprise name" or "contract id".
        what: &'static str,
        /// Length of the rejected text in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character outside the type's alphabet.
    #[error("{what} '{text}' contains {character:?}; allowed are {alphabet}")]
    ForbiddenCharacter {
        /// "enterprise name" or "contract id".
        what: &'static str,
        /// The rejected text, shortened, hidden characters spelled out.
        text: String,
        /// The first offending character.
        character: char,
        /// The allowed characters, in words.
        alphabet: &'static str,
    },
}

/// Why a consortium call (or building a consortium) was refused. A refused
/// call changes nothing.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ContractError {
    /// A sum or product of amounts does not fit in `u64`.
    #[error("amount overflow")]
    AmountOverflow,
    /// Sealed terms that fail the shape checks.
    #[error("sealed terms of contract {id}: {reason}")]
    InvalidSealedTerms {
        /// The contract.
        id: ContractId,
        /// What is wrong.
        reason: String,
    },
    /// No contract or proposal has this id.
    #[error("unknown contract {id}")]
    UnknownContract {
        /// The id asked for.
        id: ContractId,
    },
    /// A proposal reuses the id of an existing contract or governance proposal.
    #[error("contract {id} already exists")]
    ContractExists {
        /// The id in use.
        id: ContractId,
    },
    /// The call applies to another kind of contract.
    #[error("contract {id} is a {actual} contract, not a {expected} contract (cannot {action})")]
    WrongKind {
        /// The contract.
        id: ContractId,
        /// What the call tried to do.
        action: &'static str,
        /// The kind the call applies to.
        expected: &'static str,
        /// The contract's kind.
        actual: &'static str,
    },
    /// The signer's enterprise is not in the registry.
    #[error("enterprise {enterprise} is not a member of the consortium")]
    NotMember {
        /// The enterprise.
        enterprise: EnterpriseName,
    },
    /// The signer's enterprise was removed by governance.
    #[error("enterprise {enterprise} was removed from the consortium")]
    Removed {
        /// The enterprise.
        enterprise: EnterpriseName,
    },
    /// A role that may read but never sign (the auditor).
    #[error("role '{role}' may not sign consortium transactions")]
    ReadOnlyRole {
        /// The signer's role.
        role: Role,
    },
    /// The signer's role may not make this kind of call.
    #[error("role '{role}' may not {action} (needs {needs})")]
    RoleNotAllowed {
        /// The signer's role.
        role: Role,
        /// What the call tried to do.
        action: &'static str,
        /// The roles that may, in words.
        needs: &'static str,
    },
    /// The contract is not in a state where the call applies.
    #[error("{kind} {id}: {action} needs state {needs}, it is {actual}")]
    WrongState {
        /// "trade", "shipping" or "commission".
        kind: &'static str,
        /// The contract.
        id: ContractId,
        /// What the call tried to do.
        action: &'static str,
        /// The state(s) the call needs, in words.
        needs: &'static str,
        /// The contract's state.
        actual: &'static str,
    },
    /// The call must be signed by one particular party.
    #[error("{kind} {id}: only {allowed} ({relation}) may {action}; {signer} signed")]
    WrongParty {
        /// "trade", "shipping" or "commission".
        kind: &'static str,
        /// The contract.
        id: ContractId,
        /// What the call tried to do.
        action: &'static str,
        /// The party that may.
        allowed: EnterpriseName,
        /// Why that party: "the seller", "the party that did not propose", ...
        relation: &'static str,
        /// The enterprise that signed.
        signer: EnterpriseName,
    },
    /// The call may be signed by either party, and the signer is neither.
    #[error("{kind} {id}: only a party may {action}; {signer} signed")]
    NotAParty {
        /// "trade", "shipping" or "commission".
        kind: &'static str,
        /// The contract.
        id: ContractId,
        /// What the call tried to do.
        action: &'static str,
        /// The enterprise that signed.
        signer: EnterpriseName,
    },
    /// A settlement signed by neither the payee nor a payment provider.
    #[error(
        "{kind} {id}: only {payee} (the payee) or a payment provider may settle; {signer} signed"
    )]
    NotPayee {
        /// "trade", "shipping" or "commission".
        kind: &'static str,
        /// The contract.
        id: ContractId,
        /// The party paid.
        payee: EnterpriseName,
        /// The enterprise that signed.
        signer: EnterpriseName,
    },
    /// Both sides of a contract are the same enterprise.
    #[error("{kind} {id}: {enterprise} cannot contract with itself")]
    SameParty {
        /// "trade", "shipping" or "commission".
        kind: &'static str,
        /// The contract.
        id: ContractId,
        /// The enterprise named twice.
        enterprise: EnterpriseName,
    },
    /// A party named in new terms is unknown or removed.
    #[error("{kind} {id}: {role} {enterprise} is not an active member of the consortium")]
    PartyNotActive {
        /// "trade", "shipping" or "commission".
        kind: &'static str,
        /// The contract.
        id: ContractId,
        /// The party's role in the terms: "seller", "carrier", ...
        role: &'static str,
        /// The party.
        enterprise: EnterpriseName,
    },
    /// A party named in new terms is the wrong kind of enterprise.
    #[error("{kind} {id}: {role} {enterprise} is a {actual}, not a {expected}")]
    WrongEnterpriseKind {
        /// "trade", "shipping" or "commission".
        kind: &'static str,
        /// The contract.
        id: ContractId,
        /// The party's role in the terms: "carrier", "agent buyer", ...
        role: &'static str,
        /// The party.
        enterprise: EnterpriseName,
        /// The kind the role needs.
        expected: EnterpriseKind,
        /// The party's kind.
        actual: EnterpriseKind,
    },
    /// A shipping or commission contract names a trade the party has no part in.
    #[error("{kind} {id}: {enterprise} is not {relation} of trade {trade}")]
    NotPartyToTrade {
        /// "shipping" or "commission".
        kind: &'static str,
        /// The contract.
        id: ContractId,
        /// The referenced trade.
        trade: ContractId,
        /// The enterprise that should be part of it.
        enterprise: EnterpriseName,
        /// "the seller" or "a party".
        relation: &'static str,
    },
    /// A trade with no lines or too many.
    #[error("trade {id} has {count} lines (1 to {TRADE_LINES_MAX})")]
    LineCount {
        /// The trade.
        id: ContractId,
        /// How many lines it has.
        count: usize,
    },
    /// A line's SKU is empty, too long or contains control characters.
    #[error("trade {id}: lines[{index}].sku must be 1 to {SKU_LEN_MAX} bytes without control characters")]
    SkuInvalid {
        /// The trade.
        id: ContractId,
        /// Position of the line, counting from 0.
        index: usize,
    },
    /// A line with a quantity or unit price of zero.
    #[error("trade {id}: lines[{index}].{field} must be greater than zero")]
    ZeroLineValue {
        /// The trade.
        id: ContractId,
        /// Position of the line, counting from 0.
        index: usize,
        /// "quantity" or "unit_price".
        field: &'static str,
    },
    /// An amount of the terms that must be positive is zero.
    #[error("{kind} {id}: {field} must be greater than zero")]
    ZeroAmount {
        /// "shipping" or "commission".
        kind: &'static str,
        /// The contract.
        id: ContractId,
        /// The field.
        field: &'static str,
    },
    /// The discount is larger than the goods it reduces.
    #[error("discount {} exceeds the goods total {}", format_amount(u128::from(*.discount), *.currency), format_amount(u128::from(*.goods), *.currency))]
    DiscountExceedsGoods {
        /// The discount.
        discount: u64,
        /// The goods total.
        goods: u64,
        /// The trade's currency.
        currency: Currency,
    },
    /// The same party asked to cancel twice.
    #[error("trade {id}: {enterprise} already requested cancellation")]
    CancelAlreadyRequested {
        /// The trade.
        id: ContractId,
        /// The party that asked again.
        enterprise: EnterpriseName,
    },
    /// The buyer asked for a return twice.
    #[error("trade {id}: a return was already requested")]
    ReturnAlreadyRequested {
        /// The trade.
        id: ContractId,
    },
    /// A refund of nothing.
    #[error("trade {id}: a refund needs an amount greater than zero")]
    EmptyRefund {
        /// The trade.
        id: ContractId,
    },
    /// A refund larger than what is left of a component of the trade.
    #[error("trade {id}: refund of {component} {} exceeds what is left ({})", format_amount(u128::from(*.amount), *.currency), format_amount(u128::from(*.left), *.currency))]
    RefundExceeds {
        /// The trade.
        id: ContractId,
        /// "net", "shipping" or "tax".
        component: &'static str,
        /// The refund asked for.
        amount: u64,
        /// What is left of the component after earlier refunds.
        left: u64,
        /// The trade's currency.
        currency: Currency,
    },
    /// A payment fee larger than the payment.
    #[error("{kind} {id}: fee {} exceeds the amount settled ({})", format_amount(u128::from(*.fee), *.currency), format_amount(u128::from(*.amount), *.currency))]
    FeeExceeds {
        /// "trade", "shipping" or "commission".
        kind: &'static str,
        /// The contract.
        id: ContractId,
        /// The fee.
        fee: u64,
        /// The amount settled.
        amount: u64,
        /// The contract's currency.
        currency: Currency,
    },
    /// A threshold that is zero or above one.
    #[error("threshold {numerator}/{denominator} is invalid (needs 0 < numerator <= denominator)")]
    ThresholdInvalid {
        /// The numerator.
        numerator: u32,
        /// The denominator.
        denominator: u32,
    },
    /// A consortium with no active member.
    #[error("a consortium needs at least one active enterprise")]
    NoActiveEnterprise,
    /// More enterprises than [`ENTERPRISES_MAX`].
    #[error("a consortium may have at most {ENTERPRISES_MAX} enterprises, got {count}")]
    TooManyEnterprises {
        /// How many there would be.
        count: usize,
    },
    /// Two enterprises with the same root key, which would make
    /// [`Consortium::enterprise_of_root`](crate::Consortium::enterprise_of_root) ambiguous.
    #[error("enterprise {enterprise} uses the root key of enterprise {other}")]
    DuplicateRootKey {
        /// The enterprise being checked or added.
        enterprise: EnterpriseName,
        /// The enterprise that has the key already.
        other: EnterpriseName,
    },
    /// A validator key that is not an Ed25519 key in hex.
    #[error("enterprise {enterprise}: validator key must be {VALIDATOR_KEY_HEX_LEN} lower-case hex characters")]
    ValidatorKeyInvalid {
        /// The enterprise.
        enterprise: EnterpriseName,
    },
    /// A validator key that another enterprise of the registry has, removed
    /// enterprises included: certificates of past epochs are signed with it,
    /// so it must keep naming one enterprise.
    #[error("validator key of {enterprise} is already used by {other}")]
    ValidatorKeyInUse {
        /// The enterprise being checked, added or rotated.
        enterprise: EnterpriseName,
        /// The enterprise that has the key already.
        other: EnterpriseName,
    },
    /// A rotation to the key the enterprise has already, which would change
    /// nothing.
    #[error("enterprise {enterprise} already has this validator key")]
    ValidatorKeyUnchanged {
        /// The enterprise named by the rotation.
        enterprise: EnterpriseName,
    },
    /// Removing the last active enterprise that has a validator key would
    /// leave the consortium chain with an empty validator set.
    #[error("removing {enterprise} would leave the consortium without validators")]
    LastValidator {
        /// The enterprise named by the removal.
        enterprise: EnterpriseName,
    },
    /// Adding an enterprise whose name is taken (also by a removed one).
    #[error("enterprise name {enterprise} is already taken")]
    EnterpriseExists {
        /// The name.
        enterprise: EnterpriseName,
    },
    /// Adding an enterprise with `active: false`.
    #[error("enterprise {enterprise} must be added as active")]
    AddedInactive {
        /// The enterprise.
        enterprise: EnterpriseName,
    },
    /// Removing the only active enterprise would leave nobody to govern.
    #[error("enterprise {enterprise} is the last active member and cannot be removed")]
    LastEnterprise {
        /// The enterprise.
        enterprise: EnterpriseName,
    },
    /// A governance action on an enterprise that is not active.
    #[error("governance: enterprise {enterprise} is not an active member of the consortium")]
    TargetNotActive {
        /// The enterprise named by the action.
        enterprise: EnterpriseName,
    },
    /// No governance proposal has this id.
    #[error("unknown governance proposal {id}")]
    UnknownProposal {
        /// The id asked for.
        id: ContractId,
    },
    /// An enterprise approving a proposal it approved already.
    #[error("governance {id}: {enterprise} already approved it")]
    AlreadyApproved {
        /// The proposal.
        id: ContractId,
        /// The enterprise.
        enterprise: EnterpriseName,
    },
    /// Approving a proposal that was applied.
    #[error("governance {id} was already applied")]
    ProposalApplied {
        /// The proposal.
        id: ContractId,
    },
    /// An anchor's chain id is empty, too long or has control characters.
    #[error(
        "anchor chain id must be 1 to {ANCHOR_CHAIN_ID_LEN_MAX} bytes without control characters"
    )]
    ChainIdInvalid,
    /// An anchor that does not move forward.
    #[error(
        "anchor height {height} for chain {chain_id} is not above the last anchored height {last}"
    )]
    AnchorNotAbove {
        /// The chain anchored.
        chain_id: String,
        /// The height given.
        height: u64,
        /// The last height anchored by this enterprise for this chain.
        last: u64,
    },
}
