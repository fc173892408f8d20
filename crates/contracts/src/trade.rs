//! The trade contract: a sale from a seller to a buyer, from proposal to
//! settlement, with cancellation, returns and refunds.
//!
//! Each transition is a pure function from the trade before to the trade after
//! plus its events; the consortium checks the signer's membership and commits
//! the result only if the transition succeeded.

use serde::{Deserialize, Serialize};
use tally_ledger::Currency;

use crate::call::EventKind;
use crate::error::ContractError;
use crate::names::{ContractId, EnterpriseName};

/// Most lines in one trade. A trade is replicated to every validator and
/// checked line by line; orders with more lines are split into several trades.
pub const TRADE_LINES_MAX: usize = 64;

/// Longest SKU, in bytes: stock-keeping units are short codes, and 64 bytes
/// also holds a GTIN with a variant suffix.
pub const SKU_LEN_MAX: usize = 64;

/// Contract kind name used in messages and events.
const KIND: &str = "trade";

/// One line of a trade: so many units of one SKU at one price.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TradeLine {
    /// The seller's stock-keeping unit, 1..=[`SKU_LEN_MAX`] bytes, no control
    /// characters.
    pub sku: String,
    /// Units, greater than zero.
    pub quantity: u32,
    /// Price of one unit in minor units, greater than zero.
    pub unit_price: u64,
}

/// What seller and buyer agree on. Amounts are minor units of `currency`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TradeTerms {
    /// The party that delivers goods and is paid.
    pub seller: EnterpriseName,
    /// The party that receives goods and pays.
    pub buyer: EnterpriseName,
    /// True when the buyer is a marketplace buying on behalf of consumers: it
    /// then books the trade as money it collects and passes on, not as stock.
    pub buyer_is_agent: bool,
    /// The currency of every amount.
    pub currency: Currency,
    /// 1..=[`TRADE_LINES_MAX`] lines.
    pub lines: Vec<TradeLine>,
    /// Reduction of the goods total; at most the goods total.
    pub discount: u64,
    /// Shipping charged to the buyer.
    pub shipping: u64,
    /// Tax charged to the buyer.
    pub tax: u64,
}

impl TradeTerms {
    /// Sum of quantity × unit price over the lines.
    pub fn goods(&self) -> Result<u64, ContractError> {
        self.lines.iter().try_fold(0u64, |total, line| {
            u64::from(line.quantity)
                .checked_mul(line.unit_price)
                .and_then(|amount| total.checked_add(amount))
                .ok_or(ContractError::AmountOverflow)
        })
    }

    /// Goods minus discount: the revenue of the sale.
    pub fn net(&self) -> Result<u64, ContractError> {
        let goods = self.goods()?;
        goods
            .checked_sub(self.discount)
            .ok_or(ContractError::DiscountExceedsGoods {
                discount: self.discount,
                goods,
                currency: self.currency,
            })
    }

    /// Net plus shipping plus tax: what the buyer owes.
    pub fn gross(&self) -> Result<u64, ContractError> {
        self.net()?
            .checked_add(self.shipping)
            .and_then(|amount| amount.checked_add(self.tax))
            .ok_or(ContractError::AmountOverflow)
    }

    /// Checks everything about the terms that needs no registry: the lines
    /// and that the amounts add up without overflow.
    pub(crate) fn validate(&self, id: &ContractId) -> Result<(), ContractError> {
        if self.lines.is_empty() || self.lines.len() > TRADE_LINES_MAX {
            return Err(ContractError::LineCount {
                id: id.clone(),
                count: self.lines.len(),
            });
        }
        for (index, line) in self.lines.iter().enumerate() {
            let forbidden = |ch: char| {
                ch.is_control()
                    || matches!(ch, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
            };
            if line.sku.is_empty() || line.sku.len() > SKU_LEN_MAX || line.sku.contains(forbidden) {
                return Err(ContractError::SkuInvalid {
                    id: id.clone(),
                    index,
                });
            }
            let zero = |field| ContractError::ZeroLineValue {
                id: id.clone(),
                index,
                field,
            };
            if line.quantity == 0 {
                return Err(zero("quantity"));
            }
            if line.unit_price == 0 {
                return Err(zero("unit_price"));
            }
        }
        self.gross().map(|_| ())
    }
}

/// Where a trade is in its life.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TradeState {
    /// One party proposed; the other has not confirmed.
    Proposed,
    /// Both parties agreed.
    Confirmed,
    /// The seller sent the goods.
    Shipped,
    /// The buyer received the goods.
    Delivered,
    /// The seller invoiced the buyer: the sale is booked.
    Invoiced,
    /// The buyer's payment reached the seller.
    Settled,
    /// Both parties cancelled before shipment.
    Cancelled,
}

impl TradeState {
    /// Every state, in life order.
    pub const ALL: [TradeState; 7] = [
        TradeState::Proposed,
        TradeState::Confirmed,
        TradeState::Shipped,
        TradeState::Delivered,
        TradeState::Invoiced,
        TradeState::Settled,
        TradeState::Cancelled,
    ];

    /// The lower-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            TradeState::Proposed => "proposed",
            TradeState::Confirmed => "confirmed",
            TradeState::Shipped => "shipped",
            TradeState::Delivered => "delivered",
            TradeState::Invoiced => "invoiced",
            TradeState::Settled => "settled",
            TradeState::Cancelled => "cancelled",
        }
    }
}

/// A trade contract: its terms and what has happened to it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Trade {
    /// The agreed terms; they never change after the proposal.
    pub terms: TradeTerms,
    /// Where the trade is.
    pub state: TradeState,
    /// The party that proposed; the other one confirms.
    pub proposed_by: EnterpriseName,
    /// The first party that asked to cancel, if any.
    pub cancel_requested_by: Option<EnterpriseName>,
    /// Whether the buyer asked to return goods.
    pub return_requested: bool,
    /// Net revenue refunded so far.
    pub refunded_net: u64,
    /// Shipping refunded so far.
    pub refunded_shipping: u64,
    /// Tax refunded so far.
    pub refunded_tax: u64,
}

/// A transition's result: the trade after it and what happened.
pub(crate) type Step = (Trade, Vec<EventKind>);

impl Trade {
    /// A new trade proposed by `proposer`.
    pub(crate) fn proposed(terms: TradeTerms, proposer: EnterpriseName) -> Trade {
        Trade {
            terms,
            state: TradeState::Proposed,
            proposed_by: proposer,
            cancel_requested_by: None,
            return_requested: false,
            refunded_net: 0,
            refunded_shipping: 0,
            refunded_tax: 0,
        }
    }

    /// Whether `enterprise` is the seller or the buyer.
    pub fn is_party(&self, enterprise: &EnterpriseName) -> bool {
        *enterprise == self.terms.seller || *enterprise == self.terms.buyer
    }

    /// The party that did not propose, and so confirms.
    fn confirmer(&self) -> &EnterpriseName {
        if self.proposed_by == self.terms.seller {
            &self.terms.buyer
        } else {
            &self.terms.seller
        }
    }

    /// Total refunded so far, over all components.
    pub fn refunded_total(&self) -> Result<u64, ContractError> {
        self.refunded_net
            .checked_add(self.refunded_shipping)
            .and_then(|amount| amount.checked_add(self.refunded_tax))
            .ok_or(ContractError::AmountOverflow)
    }

    /// What the settlement pays: the gross minus the refunds made so far.
    ///
    /// Refunds before settlement (in state invoiced) already reduced the debt,
    /// so paying the full gross would overpay. Read it from the trade as it is
    /// right after the settlement: later refunds (after settlement) go through
    /// the bank and would lower this figure without changing what was paid.
    pub fn settlement_amount(&self) -> Result<u64, ContractError> {
        self.terms
            .gross()?
            .checked_sub(self.refunded_total()?)
            .ok_or(ContractError::AmountOverflow)
    }

    /// Refuses unless the trade is in one of `allowed`.
    fn require_state(
        &self,
        id: &ContractId,
        action: &'static str,
        allowed: &[TradeState],
        needs: &'static str,
    ) -> Result<(), ContractError> {
        if allowed.contains(&self.state) {
            return Ok(());
        }
        Err(ContractError::WrongState {
            kind: KIND,
            id: id.clone(),
            action,
            needs,
            actual: self.state.as_str(),
        })
    }

    /// Moves from `from` to `to` if `signer` is `allowed`.
    #[allow(clippy::too_many_arguments)]
    fn advance(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
        action: &'static str,
        allowed: &EnterpriseName,
        relation: &'static str,
        from: TradeState,
        to: TradeState,
    ) -> Result<Trade, ContractError> {
        require_party(id, signer, action, allowed, relation)?;
        self.require_state(id, action, &[from], from.as_str())?;
        Ok(Trade {
            state: to,
            ..self.clone()
        })
    }

    /// The party that did not propose agrees: proposed → confirmed.
    pub(crate) fn confirm(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
    ) -> Result<Step, ContractError> {
        let next = self.advance(
            id,
            signer,
            "confirm",
            self.confirmer(),
            "the party that did not propose",
            TradeState::Proposed,
            TradeState::Confirmed,
        )?;
        Ok((next, vec![EventKind::TradeConfirmed]))
    }

    /// The seller sends the goods: confirmed → shipped. `cost` is the
    /// seller's cost of the goods, which it moves from inventory to cost of
    /// goods sold.
    pub(crate) fn ship(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
        cost: u64,
    ) -> Result<Step, ContractError> {
        let next = self.advance(
            id,
            signer,
            "ship",
            &self.terms.seller,
            "the seller",
            TradeState::Confirmed,
            TradeState::Shipped,
        )?;
        Ok((next, vec![EventKind::TradeShipped { cost }]))
    }

    /// The buyer received the goods: shipped → delivered.
    pub(crate) fn deliver(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
    ) -> Result<Step, ContractError> {
        let next = self.advance(
            id,
            signer,
            "deliver",
            &self.terms.buyer,
            "the buyer",
            TradeState::Shipped,
            TradeState::Delivered,
        )?;
        Ok((next, vec![EventKind::TradeDelivered]))
    }

    /// The seller invoices: delivered → invoiced. Both parties book the sale.
    pub(crate) fn invoice(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
    ) -> Result<Step, ContractError> {
        let next = self.advance(
            id,
            signer,
            "invoice",
            &self.terms.seller,
            "the seller",
            TradeState::Delivered,
            TradeState::Invoiced,
        )?;
        Ok((next, vec![EventKind::TradeInvoiced]))
    }

    /// One party asks to cancel; the trade is cancelled once both have. Only
    /// before shipment: after it, goods have moved and need a return instead.
    pub(crate) fn request_cancel(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
    ) -> Result<Step, ContractError> {
        let action = "cancel";
        if !self.is_party(signer) {
            return Err(ContractError::NotAParty {
                kind: KIND,
                id: id.clone(),
                action,
                signer: signer.clone(),
            });
        }
        self.require_state(
            id,
            action,
            &[TradeState::Proposed, TradeState::Confirmed],
            "proposed or confirmed",
        )?;
        let by = EventKind::CancelRequested { by: signer.clone() };
        match &self.cancel_requested_by {
            Some(first) if first == signer => Err(ContractError::CancelAlreadyRequested {
                id: id.clone(),
                enterprise: signer.clone(),
            }),
            Some(_) => {
                let next = Trade {
                    state: TradeState::Cancelled,
                    ..self.clone()
                };
                Ok((next, vec![by, EventKind::TradeCancelled]))
            }
            None => {
                let next = Trade {
                    cancel_requested_by: Some(signer.clone()),
                    ..self.clone()
                };
                Ok((next, vec![by]))
            }
        }
    }

    /// The buyer asks to return goods it received. Only records the request:
    /// the money moves with a refund.
    pub(crate) fn request_return(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
    ) -> Result<Step, ContractError> {
        let action = "request a return";
        require_party(id, signer, action, &self.terms.buyer, "the buyer")?;
        self.require_state(
            id,
            action,
            &[
                TradeState::Delivered,
                TradeState::Invoiced,
                TradeState::Settled,
            ],
            "delivered, invoiced or settled",
        )?;
        if self.return_requested {
            return Err(ContractError::ReturnAlreadyRequested { id: id.clone() });
        }
        let next = Trade {
            return_requested: true,
            ..self.clone()
        };
        Ok((next, vec![EventKind::ReturnRequested]))
    }

    /// The seller refunds part of the trade. Each component is bounded by
    /// what the trade charged for it minus earlier refunds, so refunds can
    /// never exceed the sale.
    pub(crate) fn refund(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
        net: u64,
        shipping: u64,
        tax: u64,
    ) -> Result<Step, ContractError> {
        let action = "refund";
        require_party(id, signer, action, &self.terms.seller, "the seller")?;
        self.require_state(
            id,
            action,
            &[TradeState::Invoiced, TradeState::Settled],
            "invoiced or settled",
        )?;
        if net == 0 && shipping == 0 && tax == 0 {
            return Err(ContractError::EmptyRefund { id: id.clone() });
        }
        let refunded_net = self.add_refund(id, "net", self.terms.net()?, self.refunded_net, net)?;
        let refunded_shipping = self.add_refund(
            id,
            "shipping",
            self.terms.shipping,
            self.refunded_shipping,
            shipping,
        )?;
        let refunded_tax = self.add_refund(id, "tax", self.terms.tax, self.refunded_tax, tax)?;
        let next = Trade {
            refunded_net,
            refunded_shipping,
            refunded_tax,
            ..self.clone()
        };
        let event = EventKind::TradeRefunded {
            net,
            shipping,
            tax,
            after_settlement: self.state == TradeState::Settled,
        };
        Ok((next, vec![event]))
    }

    /// The new cumulative refund of one component, if it stays within `charged`.
    fn add_refund(
        &self,
        id: &ContractId,
        component: &'static str,
        charged: u64,
        refunded: u64,
        amount: u64,
    ) -> Result<u64, ContractError> {
        let left = charged.saturating_sub(refunded);
        if amount > left {
            return Err(ContractError::RefundExceeds {
                id: id.clone(),
                component,
                amount,
                left,
                currency: self.terms.currency,
            });
        }
        // amount <= charged - refunded, so this sum is at most `charged`.
        refunded
            .checked_add(amount)
            .ok_or(ContractError::AmountOverflow)
    }

    /// The payment reached the seller: invoiced → settled.
    /// `signer_is_provider` says whether the signer is a payment provider
    /// (looked up in the registry by the caller); otherwise only the seller may.
    pub(crate) fn settle(
        &self,
        id: &ContractId,
        signer: &EnterpriseName,
        signer_is_provider: bool,
        fee: u64,
    ) -> Result<Step, ContractError> {
        require_payee(KIND, id, signer, &self.terms.seller, signer_is_provider)?;
        self.require_state(id, "settle", &[TradeState::Invoiced], "invoiced")?;
        check_fee(
            KIND,
            id,
            fee,
            self.settlement_amount()?,
            self.terms.currency,
        )?;
        let next = Trade {
            state: TradeState::Settled,
            ..self.clone()
        };
        Ok((next, vec![EventKind::Settled { fee }]))
    }
}

/// Refuses unless `signer` is `allowed`.
pub(crate) fn require_party(
    id: &ContractId,
    signer: &EnterpriseName,
    action: &'static str,
    allowed: &EnterpriseName,
    relation: &'static str,
) -> Result<(), ContractError> {
    require_party_of(KIND, id, signer, action, allowed, relation)
}

/// Refuses unless `signer` is `allowed`, for any kind of contract.
pub(crate) fn require_party_of(
    kind: &'static str,
    id: &ContractId,
    signer: &EnterpriseName,
    action: &'static str,
    allowed: &EnterpriseName,
    relation: &'static str,
) -> Result<(), ContractError> {
    if signer == allowed {
        return Ok(());
    }
    Err(ContractError::WrongParty {
        kind,
        id: id.clone(),
        action,
        allowed: allowed.clone(),
        relation,
        signer: signer.clone(),
    })
}

/// Refuses a settlement signed by neither the payee nor a payment provider.
pub(crate) fn require_payee(
    kind: &'static str,
    id: &ContractId,
    signer: &EnterpriseName,
    payee: &EnterpriseName,
    signer_is_provider: bool,
) -> Result<(), ContractError> {
    if signer == payee || signer_is_provider {
        return Ok(());
    }
    Err(ContractError::NotPayee {
        kind,
        id: id.clone(),
        payee: payee.clone(),
        signer: signer.clone(),
    })
}

/// Refuses a payment fee larger than the amount settled.
pub(crate) fn check_fee(
    kind: &'static str,
    id: &ContractId,
    fee: u64,
    amount: u64,
    currency: Currency,
) -> Result<(), ContractError> {
    if fee <= amount {
        return Ok(());
    }
    Err(ContractError::FeeExceeds {
        kind,
        id: id.clone(),
        fee,
        amount,
        currency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(lines: Vec<TradeLine>, discount: u64, shipping: u64, tax: u64) -> TradeTerms {
        TradeTerms {
            seller: EnterpriseName::new("supplier").unwrap(),
            buyer: EnterpriseName::new("merchant").unwrap(),
            buyer_is_agent: false,
            currency: Currency::EUR,
            lines,
            discount,
            shipping,
            tax,
        }
    }

    fn line(quantity: u32, unit_price: u64) -> TradeLine {
        TradeLine {
            sku: "SKU-1".to_owned(),
            quantity,
            unit_price,
        }
    }

    #[test]
    fn amounts() {
        let t = terms(vec![line(2, 1000), line(1, 500)], 300, 490, 380);
        assert_eq!(t.goods(), Ok(2500));
        assert_eq!(t.net(), Ok(2200));
        assert_eq!(t.gross(), Ok(3070));
        let t = terms(vec![line(1, 100)], 101, 0, 0);
        assert_eq!(
            t.net().unwrap_err().to_string(),
            "discount 1.01 exceeds the goods total 1.00"
        );
    }

    #[test]
    fn overflow_is_an_error() {
        let t = terms(vec![line(u32::MAX, u64::MAX)], 0, 0, 0);
        assert_eq!(t.goods(), Err(ContractError::AmountOverflow));
        let t = terms(vec![line(1, u64::MAX), line(1, 1)], 0, 0, 0);
        assert_eq!(t.goods(), Err(ContractError::AmountOverflow));
        let t = terms(vec![line(1, u64::MAX)], 0, 1, 0);
        assert_eq!(t.gross(), Err(ContractError::AmountOverflow));
        assert_eq!(t.gross().unwrap_err().to_string(), "amount overflow");
        let t = terms(vec![line(1, u64::MAX - 1)], 0, 1, 1);
        assert_eq!(t.gross(), Err(ContractError::AmountOverflow));
    }

    #[test]
    fn line_validation() {
        let id = ContractId::new("T-1").unwrap();
        let message = |t: TradeTerms| t.validate(&id).unwrap_err().to_string();
        assert_eq!(
            message(terms(vec![], 0, 0, 0)),
            "trade T-1 has 0 lines (1 to 64)"
        );
        assert_eq!(
            message(terms(vec![line(1, 1); 65], 0, 0, 0)),
            "trade T-1 has 65 lines (1 to 64)"
        );
        assert!(terms(vec![line(1, 1); 64], 0, 0, 0).validate(&id).is_ok());
        assert_eq!(
            message(terms(vec![line(0, 1)], 0, 0, 0)),
            "trade T-1: lines[0].quantity must be greater than zero"
        );
        assert_eq!(
            message(terms(vec![line(1, 1), line(1, 0)], 0, 0, 0)),
            "trade T-1: lines[1].unit_price must be greater than zero"
        );
        for sku in ["", "a\nb", "a\u{202e}b", &"s".repeat(65)] {
            let mut bad = line(1, 1);
            bad.sku = sku.to_owned();
            assert_eq!(
                message(terms(vec![bad], 0, 0, 0)),
                "trade T-1: lines[0].sku must be 1 to 64 bytes without control characters"
            );
        }
    }
}
