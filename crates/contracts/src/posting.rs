//! Posting rules: the journal entry each party books for a contract event.
//!
//! Both parties derive their entries from the same event, so the entries
//! mirror each other: what the seller books as receivable, the buyer books as
//! payable (or, buying as an agent, as owed to the seller through the
//! marketplace), event by event. The entry id depends only on the consortium
//! transaction and the event's position in it, so deriving again after a crash
//! gives the same id and the ledger refuses the duplicate: exactly-once posting.

use serde::{Deserialize, Serialize};
use tally_ledger::{
    codes, AccountCode, Currency, Date, EntryDraft, EntryId, Posting, Reference, Side,
};

use crate::call::{ContractEvent, EventKind};
use crate::contract::Contract;
use crate::names::EnterpriseName;
use crate::services::{Commission, Shipping};
use crate::trade::Trade;

/// How many bytes of the consortium transaction hash a derived entry id
/// carries: 160 bits make a collision between two transactions negligible,
/// and "auto:" + 40 hex + ":" + a `u32` stays within the ledger's 64-byte id.
pub const DERIVED_ID_HASH_BYTES: usize = 20;

/// Prefix of derived entry ids, so that they can never clash with ids that
/// clients choose for manual entries unless a client copies the form.
pub const DERIVED_ID_PREFIX: &str = "auto:";

// "auto:" + hex + ":" + the longest u32 must be a valid entry id.
const _: () = assert!(
    DERIVED_ID_PREFIX.len() + 2 * DERIVED_ID_HASH_BYTES + 1 + 10 <= tally_ledger::ENTRY_ID_LEN_MAX
);

/// Which account of an enterprise's chart each rule posts to. Every field
/// defaults to the default chart, so a configuration file may remap only some;
/// unknown fields are refused so that a misspelt key is not silently ignored.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostingRules {
    /// Money in the bank.
    pub bank: AccountCode,
    /// Owed by customers (trade buyers, merchants owing commission or shipping).
    pub receivable: AccountCode,
    /// Owed to suppliers and carriers.
    pub payable: AccountCode,
    /// Goods in stock.
    pub inventory: AccountCode,
    /// VAT paid, to reclaim.
    pub input_vat: AccountCode,
    /// VAT charged, to pay.
    pub output_vat: AccountCode,
    /// Sales revenue.
    pub revenue: AccountCode,
    /// Shipping charged on sales.
    pub shipping_income: AccountCode,
    /// Returns and refunds of sales.
    pub returns: AccountCode,
    /// Cost of goods sold.
    pub cogs: AccountCode,
    /// Commission paid to marketplaces.
    pub commission_expense: AccountCode,
    /// Payment fees.
    pub payment_fees: AccountCode,
    /// Shipping paid to carriers.
    pub shipping_expense: AccountCode,
    /// Owed to (or by) a marketplace.
    pub marketplace_payable: AccountCode,
    /// Money collected as an agent and not yet passed on.
    pub clearing: AccountCode,
    /// A carrier's revenue from shipping services.
    pub carrier_revenue: AccountCode,
    /// A marketplace's revenue from commissions.
    pub commission_revenue: AccountCode,
}

impl Default for PostingRules {
    fn default() -> Self {
        // The default chart's codes are valid account codes; a unit test
        // builds these rules, so a bad constant fails the tests, not a node.
        let code = |text: &str| match AccountCode::new(text) {
            Ok(code) => code,
            Err(error) => panic!("default chart code {text} is invalid: {error}"),
        };
        PostingRules {
            bank: code(codes::BANK),
            receivable: code(codes::ACCOUNTS_RECEIVABLE),
            payable: code(codes::ACCOUNTS_PAYABLE),
            inventory: code(codes::INVENTORY),
            input_vat: code(codes::INPUT_VAT),
            output_vat: code(codes::OUTPUT_VAT),
            revenue: code(codes::SALES_REVENUE),
            shipping_income: code(codes::SHIPPING_INCOME),
            returns: code(codes::SALES_RETURNS),
            cogs: code(codes::COST_OF_GOODS_SOLD),
            commission_expense: code(codes::MARKETPLACE_COMMISSION),
            payment_fees: code(codes::PAYMENT_FEES),
            shipping_expense: code(codes::SHIPPING_EXPENSE),
            marketplace_payable: code(codes::MARKETPLACE_PAYABLE),
            clearing: code(codes::PAYMENT_CLEARING),
            carrier_revenue: code(codes::SHIPPING_INCOME),
            commission_revenue: code(codes::SALES_REVENUE),
        }
    }
}

/// The id of the entry derived from event `event_index` of consortium
/// transaction `consortium_tx`: "auto:" + the first
/// [`DERIVED_ID_HASH_BYTES`] bytes of the hash in hex + ":" + the index. Every
/// party derives the same id for the same event, and no two events share one.
pub fn derived_entry_id(consortium_tx: &[u8; 32], event_index: u32) -> EntryId {
    let prefix = consortium_tx
        .get(..DERIVED_ID_HASH_BYTES)
        .unwrap_or(consortium_tx);
    let text = format!("{DERIVED_ID_PREFIX}{}:{event_index}", hex::encode(prefix));
    // Hex digits, ':' and decimal digits are in the id alphabet and the length
    // is checked at compile time above, so this cannot fail.
    match EntryId::new(&text) {
        Ok(id) => id,
        Err(error) => panic!("derived entry id {text} is invalid: {error}"),
    }
}

/// The journal entry `me` books for `event`, or `None` if the event has no
/// accounting effect for `me` (it is not a party, the event moves no money,
/// or every amount is zero).
///
/// `contract_after` must be the contract's state right after the event (a
/// settlement pays the gross minus refunds made before it, read from there).
/// The entry has no zero postings, balances, and passes
/// [`EntryDraft::check`].
pub fn derive_entry(
    event: &ContractEvent,
    contract_after: &Contract,
    me: &EnterpriseName,
    rules: &PostingRules,
    consortium_tx: &[u8; 32],
    event_index: u32,
    date: Date,
) -> Option<EntryDraft> {
    let booking = match contract_after {
        Contract::Trade(trade) => trade_booking(&event.kind, trade, me, rules),
        Contract::Shipping(shipping) => shipping_booking(&event.kind, shipping, me, rules),
        Contract::Commission(commission) => commission_booking(&event.kind, commission, me, rules),
    }?;
    let currency = contract_after.currency();
    let postings = booking.postings(currency);
    if postings.len() < tally_ledger::POSTINGS_PER_ENTRY_MIN {
        return None;
    }
    let id = &event.contract;
    let description = format!(
        "{} {id} {} {}",
        contract_after.kind_name(),
        booking.what,
        booking.counterparty
    );
    let mut references = Vec::new();
    match contract_after {
        Contract::Trade(_) => references.push(reference("trade", id.as_str())),
        _ => {
            references.push(reference("contract", id.as_str()));
            if let Some(trade) = contract_after.related_trade() {
                references.push(reference("trade", trade.as_str()));
            }
        }
    }
    references.push(reference("consortium-tx", &hex::encode(consortium_tx)));
    Some(EntryDraft {
        id: derived_entry_id(consortium_tx, event_index),
        date,
        description,
        postings,
        references,
        reverses: None,
        sealed: Default::default(),
        seal_keys: Vec::new(),
    })
}

fn reference(kind: &str, value: &str) -> Reference {
    Reference {
        kind: kind.to_owned(),
        value: value.to_owned(),
    }
}

/// The lines of one entry before they become postings, and the words that
/// describe it ("invoiced to" + the counterparty).
struct Booking<'a> {
    lines: Vec<(&'a AccountCode, Side, u64)>,
    what: &'static str,
    counterparty: &'a EnterpriseName,
}

impl<'a> Booking<'a> {
    fn new(what: &'static str, counterparty: &'a EnterpriseName) -> Booking<'a> {
        Booking {
            lines: Vec::new(),
            what,
            counterparty,
        }
    }

    fn debit(mut self, account: &'a AccountCode, amount: u64) -> Booking<'a> {
        self.lines.push((account, Side::Debit, amount));
        self
    }

    fn credit(mut self, account: &'a AccountCode, amount: u64) -> Booking<'a> {
        self.lines.push((account, Side::Credit, amount));
        self
    }

    /// The non-zero lines as postings, in rule order, nothing merged.
    fn postings(&self, currency: Currency) -> Vec<Posting> {
        self.lines
            .iter()
            .filter(|(_, _, amount)| *amount > 0)
            .map(|(account, side, amount)| Posting {
                account: (*account).clone(),
                side: *side,
                amount: *amount,
                currency,
            })
            .collect()
    }
}

/// The payee's side of a settlement: the bank receives the amount less the
/// fee, the fee is an expense, the receivable is cleared.
fn payee_settles<'a>(
    booking: Booking<'a>,
    rules: &'a PostingRules,
    amount: u64,
    fee: u64,
) -> Option<Booking<'a>> {
    Some(
        booking
            .debit(&rules.bank, amount.checked_sub(fee)?)
            .debit(&rules.payment_fees, fee)
            .credit(&rules.receivable, amount),
    )
}

fn trade_booking<'a>(
    kind: &EventKind,
    trade: &'a Trade,
    me: &EnterpriseName,
    rules: &'a PostingRules,
) -> Option<Booking<'a>> {
    let terms = &trade.terms;
    let seller = *me == terms.seller;
    let buyer = *me == terms.buyer;
    if !seller && !buyer {
        return None;
    }
    let agent = terms.buyer_is_agent;
    match kind {
        EventKind::TradeShipped { cost } if seller => Some(
            Booking::new("shipped to", &terms.buyer)
                .debit(&rules.cogs, *cost)
                .credit(&rules.inventory, *cost),
        ),
        EventKind::TradeInvoiced => {
            let (net, gross) = (terms.net().ok()?, terms.gross().ok()?);
            Some(if seller {
                Booking::new("invoiced to", &terms.buyer)
                    .debit(&rules.receivable, gross)
                    .credit(&rules.revenue, net)
                    .credit(&rules.shipping_income, terms.shipping)
                    .credit(&rules.output_vat, terms.tax)
            } else if agent {
                Booking::new("invoiced by", &terms.seller)
                    .debit(&rules.clearing, gross)
                    .credit(&rules.marketplace_payable, gross)
            } else {
                Booking::new("invoiced by", &terms.seller)
                    .debit(&rules.inventory, net.checked_add(terms.shipping)?)
                    .debit(&rules.input_vat, terms.tax)
                    .credit(&rules.payable, gross)
            })
        }
        EventKind::Settled { fee } => {
            let amount = trade.settlement_amount().ok()?;
            if seller {
                payee_settles(
                    Booking::new("settled by", &terms.buyer),
                    rules,
                    amount,
                    *fee,
                )
            } else if agent {
                Some(
                    Booking::new("paid to", &terms.seller)
                        .debit(&rules.marketplace_payable, amount)
                        .credit(&rules.clearing, amount),
                )
            } else {
                Some(
                    Booking::new("paid to", &terms.seller)
                        .debit(&rules.payable, amount)
                        .credit(&rules.bank, amount),
                )
            }
        }
        EventKind::TradeRefunded {
            net,
            shipping,
            tax,
            after_settlement,
        } => {
            let total = net.checked_add(*shipping)?.checked_add(*tax)?;
            Some(if seller {
                let source = if *after_settlement {
                    &rules.bank
                } else {
                    &rules.receivable
                };
                Booking::new("refunded to", &terms.buyer)
                    .debit(&rules.returns, *net)
                    .debit(&rules.shipping_income, *shipping)
                    .debit(&rules.output_vat, *tax)
                    .credit(source, total)
            } else if agent {
                // After settlement the seller pays the refund back through the
                // bank, so the agent receives it there; before, it reduces
                // what the agent owes the seller.
                let target = if *after_settlement {
                    &rules.bank
                } else {
                    &rules.marketplace_payable
                };
                Booking::new("refunded by", &terms.seller)
                    .debit(target, total)
                    .credit(&rules.clearing, total)
            } else {
                let target = if *after_settlement {
                    &rules.bank
                } else {
                    &rules.payable
                };
                Booking::new("refunded by", &terms.seller)
                    .debit(target, total)
                    .credit(&rules.inventory, net.checked_add(*shipping)?)
                    .credit(&rules.input_vat, *tax)
            })
        }
        _ => None,
    }
}

fn shipping_booking<'a>(
    kind: &EventKind,
    shipping: &'a Shipping,
    me: &EnterpriseName,
    rules: &'a PostingRules,
) -> Option<Booking<'a>> {
    let terms = &shipping.terms;
    let carrier = *me == terms.carrier;
    if !carrier && *me != terms.merchant {
        return None;
    }
    let gross = terms.gross().ok()?;
    match kind {
        EventKind::ShipmentDelivered => Some(if carrier {
            Booking::new("delivered for", &terms.merchant)
                .debit(&rules.receivable, gross)
                .credit(&rules.carrier_revenue, terms.fee)
                .credit(&rules.output_vat, terms.tax)
        } else {
            Booking::new("delivered by", &terms.carrier)
                .debit(&rules.shipping_expense, terms.fee)
                .debit(&rules.input_vat, terms.tax)
                .credit(&rules.payable, gross)
        }),
        EventKind::Settled { fee } => {
            if carrier {
                payee_settles(
                    Booking::new("settled by", &terms.merchant),
                    rules,
                    gross,
                    *fee,
                )
            } else {
                Some(
                    Booking::new("paid to", &terms.carrier)
                        .debit(&rules.payable, gross)
                        .credit(&rules.bank, gross),
                )
            }
        }
        _ => None,
    }
}

fn commission_booking<'a>(
    kind: &EventKind,
    commission: &'a Commission,
    me: &EnterpriseName,
    rules: &'a PostingRules,
) -> Option<Booking<'a>> {
    let terms = &commission.terms;
    let platform = *me == terms.platform;
    if !platform && *me != terms.merchant {
        return None;
    }
    let gross = terms.gross().ok()?;
    match kind {
        EventKind::CommissionConfirmed => Some(if platform {
            Booking::new("charged to", &terms.merchant)
                .debit(&rules.receivable, gross)
                .credit(&rules.commission_revenue, terms.amount)
                .credit(&rules.output_vat, terms.tax)
        } else {
            Booking::new("charged by", &terms.platform)
                .debit(&rules.commission_expense, terms.amount)
                .debit(&rules.input_vat, terms.tax)
                .credit(&rules.marketplace_payable, gross)
        }),
        EventKind::Settled { fee } => {
            if platform {
                payee_settles(
                    Booking::new("settled by", &terms.merchant),
                    rules,
                    gross,
                    *fee,
                )
            } else {
                Some(
                    Booking::new("paid to", &terms.platform)
                        .debit(&rules.marketplace_payable, gross)
                        .credit(&rules.bank, gross),
                )
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_are_the_default_chart() {
        let rules = PostingRules::default();
        assert_eq!(rules.bank.as_str(), "1000");
        assert_eq!(rules.carrier_revenue.as_str(), "4100");
        assert_eq!(rules.commission_revenue.as_str(), "4000");
        assert_eq!(rules.clearing.as_str(), "1400");
    }

    #[test]
    fn derived_ids() {
        let mut tx = [0u8; 32];
        tx[0] = 0xab;
        tx[19] = 0x01;
        tx[20] = 0xff;
        let id = derived_entry_id(&tx, 7);
        assert_eq!(
            id.as_str(),
            "auto:ab00000000000000000000000000000000000001:7"
        );
        assert_eq!(derived_entry_id(&tx, 7), id);
        assert_ne!(derived_entry_id(&tx, 8), id);
        assert!(derived_entry_id(&[0xff; 32], u32::MAX).as_str().len() <= 64);
    }
}
