//! The contracts the consortium holds, as one enum, and what all kinds share:
//! parties, names, currency and settlement.

use serde::{Deserialize, Serialize};
use tally_ledger::Currency;

use crate::call::EventKind;
use crate::error::ContractError;
use crate::names::{ContractId, EnterpriseName};
use crate::services::{Commission, Shipping, COMMISSION, SHIPPING};
use crate::trade::Trade;

/// Name of the trade kind, as [`Contract::kind_name`] returns it.
pub(crate) const TRADE: &str = "trade";

/// A contract held by the consortium.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Contract {
    /// A sale between a seller and a buyer.
    Trade(Trade),
    /// A carrier's shipping service for a merchant.
    Shipping(Shipping),
    /// A marketplace's commission on a merchant's sale.
    Commission(Commission),
}

impl Contract {
    /// The enterprises bound by the contract, the paying side last.
    pub fn parties(&self) -> Vec<&EnterpriseName> {
        match self {
            Contract::Trade(trade) => vec![&trade.terms.seller, &trade.terms.buyer],
            Contract::Shipping(shipping) => {
                vec![&shipping.terms.carrier, &shipping.terms.merchant]
            }
            Contract::Commission(commission) => {
                vec![&commission.terms.platform, &commission.terms.merchant]
            }
        }
    }

    /// "trade", "shipping" or "commission".
    pub fn kind_name(&self) -> &'static str {
        match self {
            Contract::Trade(_) => TRADE,
            Contract::Shipping(_) => SHIPPING,
            Contract::Commission(_) => COMMISSION,
        }
    }

    /// The state's lower-case name ("proposed", "settled", ...).
    pub fn state_name(&self) -> &'static str {
        match self {
            Contract::Trade(trade) => trade.state.as_str(),
            Contract::Shipping(shipping) => shipping.state.as_str(),
            Contract::Commission(commission) => commission.state.as_str(),
        }
    }

    /// The currency of the contract's amounts.
    pub fn currency(&self) -> Currency {
        match self {
            Contract::Trade(trade) => trade.terms.currency,
            Contract::Shipping(shipping) => shipping.terms.currency,
            Contract::Commission(commission) => commission.terms.currency,
        }
    }

    /// The trade a service contract belongs to, if any (none for a trade).
    pub fn related_trade(&self) -> Option<&ContractId> {
        match self {
            Contract::Trade(_) => None,
            Contract::Shipping(shipping) => shipping.terms.trade.as_ref(),
            Contract::Commission(commission) => Some(&commission.terms.trade),
        }
    }

    /// The party a settlement pays.
    pub fn payee(&self) -> &EnterpriseName {
        match self {
            Contract::Trade(trade) => &trade.terms.seller,
            Contract::Shipping(shipping) => &shipping.terms.carrier,
            Contract::Commission(commission) => &commission.terms.platform,
        }
    }

    /// What a settlement of the contract pays (for a trade, net of refunds
    /// made before it; see [`Trade::settlement_amount`]).
    pub fn settlement_amount(&self) -> Result<u64, ContractError> {
        match self {
            Contract::Trade(trade) => trade.settlement_amount(),
            Contract::Shipping(shipping) => shipping.terms.gross(),
            Contract::Commission(commission) => commission.terms.gross(),
        }
    }

    /// Settles the contract; each kind checks its own state.
    pub(crate) fn settle(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
        signer_is_provider: bool,
        fee: u64,
    ) -> Result<(Contract, Vec<EventKind>), ContractError> {
        Ok(match self {
            Contract::Trade(trade) => {
                let (next, events) = trade.settle(id, signer, signer_is_provider, fee)?;
                (Contract::Trade(next), events)
            }
            Contract::Shipping(shipping) => {
                let (next, events) = shipping.settle(id, signer, signer_is_provider, fee)?;
                (Contract::Shipping(next), events)
            }
            Contract::Commission(commission) => {
                let (next, events) = commission.settle(id, signer, signer_is_provider, fee)?;
                (Contract::Commission(next), events)
            }
        })
    }
}
