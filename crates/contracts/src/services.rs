//! Service contracts around a trade: a carrier's shipping service for a
//! merchant and a marketplace's commission on a merchant's sale.

use serde::{Deserialize, Serialize};
use tally_ledger::Currency;

use crate::call::EventKind;
use crate::error::ContractError;
use crate::names::{ContractId, EnterpriseName};
use crate::trade::{check_fee, require_party_of, require_payee};

/// Contract kind names used in messages and events.
pub(crate) const SHIPPING: &str = "shipping";
pub(crate) const COMMISSION: &str = "commission";

/// What a merchant and a carrier agree on.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ShippingTerms {
    /// The party that orders and pays for the shipment.
    pub merchant: EnterpriseName,
    /// The party that carries the goods and is paid.
    pub carrier: EnterpriseName,
    /// The trade whose goods are shipped, if the shipment belongs to one.
    pub trade: Option<ContractId>,
    /// The currency of the amounts.
    pub currency: Currency,
    /// The carrier's fee, greater than zero.
    pub fee: u64,
    /// Tax on the fee.
    pub tax: u64,
}

impl ShippingTerms {
    /// Fee plus tax: what the merchant owes the carrier.
    pub fn gross(&self) -> Result<u64, ContractError> {
        self.fee
            .checked_add(self.tax)
            .ok_or(ContractError::AmountOverflow)
    }

    /// Checks the amounts; parties are checked against the registry by the
    /// consortium.
    pub(crate) fn validate(&self, id: &ContractId) -> Result<(), ContractError> {
        if self.fee == 0 {
            return Err(ContractError::ZeroAmount {
                kind: SHIPPING,
                id: id.clone(),
                field: "fee",
            });
        }
        self.gross().map(|_| ())
    }
}

/// Where a shipping contract is in its life.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShippingState {
    /// The merchant asked for the service.
    Proposed,
    /// The carrier accepted.
    Accepted,
    /// The carrier delivered: both parties book the service.
    Delivered,
    /// The merchant's payment reached the carrier.
    Settled,
}

impl ShippingState {
    /// The lower-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            ShippingState::Proposed => "proposed",
            ShippingState::Accepted => "accepted",
            ShippingState::Delivered => "delivered",
            ShippingState::Settled => "settled",
        }
    }
}

/// A shipping contract.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Shipping {
    /// The agreed terms.
    pub terms: ShippingTerms,
    /// Where the contract is.
    pub state: ShippingState,
}

/// A transition's result: the contract after it and what happened.
type Step<T> = (T, Vec<EventKind>);

impl Shipping {
    /// Moves from `from` to `to`, signed by the carrier.
    fn carrier_moves(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
        action: &'static str,
        from: ShippingState,
        to: ShippingState,
    ) -> Result<Shipping, ContractError> {
        require_party_of(
            SHIPPING,
            id,
            signer,
            action,
            &self.terms.carrier,
            "the carrier",
        )?;
        require_state(
            SHIPPING,
            id,
            action,
            self.state == from,
            from.as_str(),
            self.state.as_str(),
        )?;
        Ok(Shipping {
            state: to,
            ..self.clone()
        })
    }

    /// The carrier takes the job: proposed → accepted.
    pub(crate) fn accept(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
    ) -> Result<Step<Shipping>, ContractError> {
        let next = self.carrier_moves(
            id,
            signer,
            "accept",
            ShippingState::Proposed,
            ShippingState::Accepted,
        )?;
        Ok((next, vec![EventKind::ShippingAccepted]))
    }

    /// The carrier delivered: accepted → delivered.
    pub(crate) fn deliver(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
    ) -> Result<Step<Shipping>, ContractError> {
        let next = self.carrier_moves(
            id,
            signer,
            "deliver",
            ShippingState::Accepted,
            ShippingState::Delivered,
        )?;
        Ok((next, vec![EventKind::ShipmentDelivered]))
    }

    /// The payment reached the carrier: delivered → settled.
    pub(crate) fn settle(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
        signer_is_provider: bool,
        fee: u64,
    ) -> Result<Step<Shipping>, ContractError> {
        require_payee(
            SHIPPING,
            id,
            signer,
            &self.terms.carrier,
            signer_is_provider,
        )?;
        let from = ShippingState::Delivered;
        require_state(
            SHIPPING,
            id,
            "settle",
            self.state == from,
            from.as_str(),
            self.state.as_str(),
        )?;
        check_fee(SHIPPING, id, fee, self.terms.gross()?, self.terms.currency)?;
        let next = Shipping {
            state: ShippingState::Settled,
            ..self.clone()
        };
        Ok((next, vec![EventKind::Settled { fee }]))
    }
}

/// What a marketplace and a merchant agree on for one sale.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CommissionTerms {
    /// The marketplace that takes the commission and is paid.
    pub platform: EnterpriseName,
    /// The merchant that sold through it and pays.
    pub merchant: EnterpriseName,
    /// The trade the commission is taken on; the merchant is its seller.
    pub trade: ContractId,
    /// The currency of the amounts.
    pub currency: Currency,
    /// The commission, greater than zero.
    pub amount: u64,
    /// Tax on the commission.
    pub tax: u64,
}

impl CommissionTerms {
    /// Amount plus tax: what the merchant owes the platform.
    pub fn gross(&self) -> Result<u64, ContractError> {
        self.amount
            .checked_add(self.tax)
            .ok_or(ContractError::AmountOverflow)
    }

    /// Checks the amounts; parties and the trade are checked against the
    /// consortium by the caller.
    pub(crate) fn validate(&self, id: &ContractId) -> Result<(), ContractError> {
        if self.amount == 0 {
            return Err(ContractError::ZeroAmount {
                kind: COMMISSION,
                id: id.clone(),
                field: "amount",
            });
        }
        self.gross().map(|_| ())
    }
}

/// Where a commission contract is in its life.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommissionState {
    /// The platform claimed the commission.
    Proposed,
    /// The merchant agreed: both parties book it.
    Confirmed,
    /// The merchant's payment reached the platform.
    Settled,
}

impl CommissionState {
    /// The lower-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            CommissionState::Proposed => "proposed",
            CommissionState::Confirmed => "confirmed",
            CommissionState::Settled => "settled",
        }
    }
}

/// A commission contract.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Commission {
    /// The agreed terms.
    pub terms: CommissionTerms,
    /// Where the contract is.
    pub state: CommissionState,
}

impl Commission {
    /// The merchant agrees: proposed → confirmed.
    pub(crate) fn confirm(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
    ) -> Result<Step<Commission>, ContractError> {
        let action = "confirm";
        require_party_of(
            COMMISSION,
            id,
            signer,
            action,
            &self.terms.merchant,
            "the merchant",
        )?;
        let from = CommissionState::Proposed;
        require_state(
            COMMISSION,
            id,
            action,
            self.state == from,
            from.as_str(),
            self.state.as_str(),
        )?;
        let next = Commission {
            state: CommissionState::Confirmed,
            ..self.clone()
        };
        Ok((next, vec![EventKind::CommissionConfirmed]))
    }

    /// The payment reached the platform: confirmed → settled.
    pub(crate) fn settle(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
        signer_is_provider: bool,
        fee: u64,
    ) -> Result<Step<Commission>, ContractError> {
        require_payee(
            COMMISSION,
            id,
            signer,
            &self.terms.platform,
            signer_is_provider,
        )?;
        let from = CommissionState::Confirmed;
        require_state(
            COMMISSION,
            id,
            "settle",
            self.state == from,
            from.as_str(),
            self.state.as_str(),
        )?;
        check_fee(
            COMMISSION,
            id,
            fee,
            self.terms.gross()?,
            self.terms.currency,
        )?;
        let next = Commission {
            state: CommissionState::Settled,
            ..self.clone()
        };
        Ok((next, vec![EventKind::Settled { fee }]))
    }
}

/// Refuses unless `ok`, naming the state needed and the actual one.
fn require_state(
    kind: &'static str,
    id: &ContractId,
    action: &'static str,
    ok: bool,
    needs: &'static str,
    actual: &'static str,
) -> Result<(), ContractError> {
    if ok {
        return Ok(());
    }
    Err(ContractError::WrongState {
        kind,
        id: id.clone(),
        action,
        needs,
        actual,
    })
}
