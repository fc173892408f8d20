//! Posting rules: the exact entries each party books, and that both sides of
//! a trade mirror each other.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde::de::value::{Error as ValueError, MapDeserializer};
use serde::Deserialize;
use tally_contracts::{
    derive_entry, derived_entry_id, Consortium, ContractCall, ContractEvent, EnterpriseName,
    PostingRules,
};
use tally_ledger::{Date, EntryDraft, Side};

const D: Side = Side::Debit;
const C: Side = Side::Credit;

/// Applies `call` and returns every event with the contract as it is after it.
fn run(
    c: &mut Consortium,
    call: ContractCall,
    by: &str,
) -> Vec<(ContractEvent, tally_contracts::Contract)> {
    let events = c.apply(&call, &signer(by)).unwrap();
    events
        .into_iter()
        .map(|event| {
            let after = c.contract(&event.contract).unwrap().clone();
            (event, after)
        })
        .collect()
}

fn tx(n: u8) -> [u8; 32] {
    [n; 32]
}

fn date() -> Date {
    Date::from_ymd(2026, 11, 24).unwrap()
}

/// The entry `me` books for the single event of `call`.
fn book(c: &mut Consortium, call: ContractCall, by: &str, me: &str) -> Option<EntryDraft> {
    let events = run(c, call, by);
    assert_eq!(events.len(), 1);
    let (event, after) = &events[0];
    derive_entry(
        event,
        after,
        &name(me),
        &PostingRules::default(),
        &tx(1),
        0,
        date(),
    )
}

/// Books the same event for several parties (the call is applied once).
fn book_for(
    c: &mut Consortium,
    call: ContractCall,
    by: &str,
    parties: &[&str],
) -> Vec<Option<EntryDraft>> {
    let events = run(c, call, by);
    assert_eq!(events.len(), 1);
    let (event, after) = &events[0];
    parties
        .iter()
        .map(|me| {
            derive_entry(
                event,
                after,
                &name(me),
                &PostingRules::default(),
                &tx(1),
                0,
                date(),
            )
        })
        .collect()
}

fn lines(entry: &Option<EntryDraft>) -> Vec<(String, Side, u64)> {
    let entry = entry.as_ref().expect("an entry");
    assert!(entry.clone().check().is_ok(), "{entry:?}");
    entry
        .postings
        .iter()
        .map(|posting| (posting.account.to_string(), posting.side, posting.amount))
        .collect()
}

fn l(account: &str, side: Side, amount: u64) -> (String, Side, u64) {
    (account.to_owned(), side, amount)
}

#[test]
fn trade_entries_for_seller_and_buyer() {
    let mut c = consortium();
    trade_at(&mut c, "T-1", 1);
    // Shipping moves the seller's stock to cost of goods sold; the buyer books nothing.
    let shipped = book_for(
        &mut c,
        ContractCall::ShipTrade {
            id: cid("T-1"),
            cost: 1200,
        },
        SUPPLIER,
        &[SUPPLIER, MERCHANT, OUTSIDER],
    );
    assert_eq!(
        lines(&shipped[0]),
        vec![l("5000", D, 1200), l("1200", C, 1200)]
    );
    assert_eq!(shipped[1], None);
    assert_eq!(shipped[2], None);
    assert_eq!(
        book(
            &mut c,
            ContractCall::DeliverTrade { id: cid("T-1") },
            MERCHANT,
            MERCHANT
        ),
        None
    );
    let invoiced = book_for(
        &mut c,
        ContractCall::InvoiceTrade { id: cid("T-1") },
        SUPPLIER,
        &[SUPPLIER, MERCHANT],
    );
    assert_eq!(
        lines(&invoiced[0]),
        vec![
            l("1100", D, 3070),
            l("4000", C, 2200),
            l("4100", C, 490),
            l("2100", C, 380)
        ]
    );
    assert_eq!(
        lines(&invoiced[1]),
        vec![l("1200", D, 2690), l("1300", D, 380), l("2000", C, 3070)]
    );
    let seller_entry = invoiced[0].as_ref().unwrap();
    assert_eq!(seller_entry.description, "trade T-1 invoiced to merchant");
    assert_eq!(
        invoiced[1].as_ref().unwrap().description,
        "trade T-1 invoiced by supplier"
    );
    assert_eq!(seller_entry.id, derived_entry_id(&tx(1), 0));
    assert_eq!(seller_entry.id, invoiced[1].as_ref().unwrap().id);
    assert_eq!(seller_entry.date, date());
    assert_eq!(seller_entry.reverses, None);
    let references: Vec<(&str, &str)> = seller_entry
        .references
        .iter()
        .map(|r| (r.kind.as_str(), r.value.as_str()))
        .collect();
    assert_eq!(
        references,
        vec![("trade", "T-1"), ("consortium-tx", &*hex::encode(tx(1)))]
    );
    // Refund before settlement: reduces the debt.
    let refunded = book_for(
        &mut c,
        ContractCall::RefundTrade {
            id: cid("T-1"),
            net: 1000,
            shipping: 490,
            tax: 0,
        },
        SUPPLIER,
        &[SUPPLIER, MERCHANT],
    );
    assert_eq!(
        lines(&refunded[0]),
        vec![l("4900", D, 1000), l("4100", D, 490), l("1100", C, 1490)]
    );
    assert_eq!(
        lines(&refunded[1]),
        vec![l("2000", D, 1490), l("1200", C, 1490)]
    );
    // Settlement pays what is left: 30.70 - 14.90 = 15.80.
    let settled = book_for(
        &mut c,
        ContractCall::Settle {
            id: cid("T-1"),
            fee: 80,
        },
        PAYMENTS,
        &[SUPPLIER, MERCHANT, PAYMENTS],
    );
    assert_eq!(
        lines(&settled[0]),
        vec![l("1000", D, 1500), l("5200", D, 80), l("1100", C, 1580)]
    );
    assert_eq!(
        lines(&settled[1]),
        vec![l("2000", D, 1580), l("1000", C, 1580)]
    );
    assert_eq!(settled[2], None, "the payment provider is not a party");
    // Refund after settlement: money goes back through the bank.
    let refunded = book_for(
        &mut c,
        ContractCall::RefundTrade {
            id: cid("T-1"),
            net: 200,
            shipping: 0,
            tax: 38,
        },
        SUPPLIER,
        &[SUPPLIER, MERCHANT],
    );
    assert_eq!(
        lines(&refunded[0]),
        vec![l("4900", D, 200), l("2100", D, 38), l("1000", C, 238)]
    );
    assert_eq!(
        lines(&refunded[1]),
        vec![l("1000", D, 238), l("1200", C, 200), l("1300", C, 38)]
    );
}

#[test]
fn an_agent_buyer_books_collected_money_not_stock() {
    let mut c = consortium();
    let mut agent_terms = terms(MERCHANT, MARKET);
    agent_terms.buyer_is_agent = true;
    ok(
        &mut c,
        ContractCall::ProposeTrade {
            id: cid("M-1"),
            terms: agent_terms,
        },
        &signer(MARKET),
    );
    for (call, by) in [
        (ContractCall::ConfirmTrade { id: cid("M-1") }, MERCHANT),
        (
            ContractCall::ShipTrade {
                id: cid("M-1"),
                cost: 0,
            },
            MERCHANT,
        ),
        (ContractCall::DeliverTrade { id: cid("M-1") }, MARKET),
    ] {
        ok(&mut c, call, &signer(by));
    }
    let invoiced = book_for(
        &mut c,
        ContractCall::InvoiceTrade { id: cid("M-1") },
        MERCHANT,
        &[MARKET],
    );
    assert_eq!(
        lines(&invoiced[0]),
        vec![l("1400", D, 3070), l("2200", C, 3070)]
    );
    let settled = book_for(
        &mut c,
        ContractCall::Settle {
            id: cid("M-1"),
            fee: 0,
        },
        MERCHANT,
        &[MERCHANT, MARKET],
    );
    assert_eq!(
        lines(&settled[0]),
        vec![l("1000", D, 3070), l("1100", C, 3070)]
    );
    assert_eq!(
        lines(&settled[1]),
        vec![l("2200", D, 3070), l("1400", C, 3070)]
    );
    let refunded = book_for(
        &mut c,
        ContractCall::RefundTrade {
            id: cid("M-1"),
            net: 100,
            shipping: 0,
            tax: 0,
        },
        MERCHANT,
        &[MARKET],
    );
    assert_eq!(
        lines(&refunded[0]),
        vec![l("1000", D, 100), l("1400", C, 100)]
    );
}

#[test]
fn shipping_entries_for_merchant_and_carrier() {
    let mut c = consortium();
    trade_at(&mut c, "T-1", 1);
    ok(
        &mut c,
        ContractCall::ProposeShipping {
            id: cid("S-1"),
            terms: shipping_terms(Some("T-1")),
        },
        &signer(MERCHANT),
    );
    assert_eq!(
        book(
            &mut c,
            ContractCall::AcceptShipping { id: cid("S-1") },
            CARRIER,
            CARRIER
        ),
        None
    );
    let delivered = book_for(
        &mut c,
        ContractCall::DeliverShipment { id: cid("S-1") },
        CARRIER,
        &[MERCHANT, CARRIER, SUPPLIER],
    );
    assert_eq!(
        lines(&delivered[0]),
        vec![l("5300", D, 700), l("1300", D, 133), l("2000", C, 833)]
    );
    assert_eq!(
        lines(&delivered[1]),
        vec![l("1100", D, 833), l("4100", C, 700), l("2100", C, 133)]
    );
    assert_eq!(delivered[2], None);
    let entry = delivered[0].as_ref().unwrap();
    assert_eq!(entry.description, "shipping S-1 delivered by carrier");
    let references: Vec<(&str, &str)> = entry
        .references
        .iter()
        .map(|r| (r.kind.as_str(), r.value.as_str()))
        .collect();
    assert_eq!(
        references,
        vec![
            ("contract", "S-1"),
            ("trade", "T-1"),
            ("consortium-tx", &*hex::encode(tx(1)))
        ]
    );
    let settled = book_for(
        &mut c,
        ContractCall::Settle {
            id: cid("S-1"),
            fee: 33,
        },
        CARRIER,
        &[MERCHANT, CARRIER],
    );
    assert_eq!(
        lines(&settled[0]),
        vec![l("2000", D, 833), l("1000", C, 833)]
    );
    assert_eq!(
        lines(&settled[1]),
        vec![l("1000", D, 800), l("5200", D, 33), l("1100", C, 833)]
    );
}

#[test]
fn commission_entries_for_merchant_and_platform() {
    let mut c = consortium();
    ok(
        &mut c,
        ContractCall::ProposeTrade {
            id: cid("T-1"),
            terms: terms(MERCHANT, OUTSIDER),
        },
        &signer(MERCHANT),
    );
    ok(
        &mut c,
        ContractCall::ProposeCommission {
            id: cid("C-1"),
            terms: commission_terms("T-1"),
        },
        &signer(MARKET),
    );
    let confirmed = book_for(
        &mut c,
        ContractCall::ConfirmCommission { id: cid("C-1") },
        MERCHANT,
        &[MERCHANT, MARKET],
    );
    assert_eq!(
        lines(&confirmed[0]),
        vec![l("5100", D, 250), l("1300", D, 48), l("2200", C, 298)]
    );
    assert_eq!(
        lines(&confirmed[1]),
        vec![l("1100", D, 298), l("4000", C, 250), l("2100", C, 48)]
    );
    let settled = book_for(
        &mut c,
        ContractCall::Settle {
            id: cid("C-1"),
            fee: 0,
        },
        MARKET,
        &[MERCHANT, MARKET],
    );
    assert_eq!(
        lines(&settled[0]),
        vec![l("2200", D, 298), l("1000", C, 298)]
    );
    assert_eq!(
        lines(&settled[1]),
        vec![l("1000", D, 298), l("1100", C, 298)]
    );
}

#[test]
fn zero_amounts_are_omitted_and_all_zero_books_nothing() {
    let mut c = consortium();
    trade_at(&mut c, "T-1", 1);
    assert_eq!(
        book(
            &mut c,
            ContractCall::ShipTrade {
                id: cid("T-1"),
                cost: 0
            },
            SUPPLIER,
            SUPPLIER
        ),
        None
    );
    let mut c = consortium();
    let mut no_extras = terms(SUPPLIER, MERCHANT);
    no_extras.shipping = 0;
    no_extras.tax = 0;
    ok(
        &mut c,
        ContractCall::ProposeTrade {
            id: cid("T-1"),
            terms: no_extras,
        },
        &signer(SUPPLIER),
    );
    for (call, by) in [
        (ContractCall::ConfirmTrade { id: cid("T-1") }, MERCHANT),
        (
            ContractCall::ShipTrade {
                id: cid("T-1"),
                cost: 0,
            },
            SUPPLIER,
        ),
        (ContractCall::DeliverTrade { id: cid("T-1") }, MERCHANT),
    ] {
        ok(&mut c, call, &signer(by));
    }
    let invoiced = book_for(
        &mut c,
        ContractCall::InvoiceTrade { id: cid("T-1") },
        SUPPLIER,
        &[SUPPLIER, MERCHANT],
    );
    assert_eq!(
        lines(&invoiced[0]),
        vec![l("1100", D, 2200), l("4000", C, 2200)]
    );
    assert_eq!(
        lines(&invoiced[1]),
        vec![l("1200", D, 2200), l("2000", C, 2200)]
    );
}

#[test]
fn events_without_accounting_effect_book_nothing() {
    let mut c = consortium();
    let events = run(
        &mut c,
        ContractCall::ProposeTrade {
            id: cid("T-1"),
            terms: terms(SUPPLIER, MERCHANT),
        },
        SUPPLIER,
    );
    let (event, after) = &events[0];
    for me in [SUPPLIER, MERCHANT] {
        let entry = derive_entry(
            event,
            after,
            &name(me),
            &PostingRules::default(),
            &tx(1),
            0,
            date(),
        );
        assert_eq!(entry, None);
    }
}

#[test]
fn rules_may_remap_some_accounts() {
    let pairs = vec![("bank", "Assets:Bank:EUR"), ("revenue", "4010")];
    let rules = PostingRules::deserialize(MapDeserializer::<_, ValueError>::new(pairs.into_iter()))
        .unwrap();
    assert_eq!(rules.bank.as_str(), "Assets:Bank:EUR");
    assert_eq!(rules.revenue.as_str(), "4010");
    assert_eq!(rules.receivable.as_str(), "1100");
    let typo = vec![("bnak", "1000")];
    assert!(
        PostingRules::deserialize(MapDeserializer::<_, ValueError>::new(typo.into_iter())).is_err()
    );
    let bad = vec![("bank", " 1000")];
    assert!(
        PostingRules::deserialize(MapDeserializer::<_, ValueError>::new(bad.into_iter())).is_err()
    );
    // Remapped accounts are used.
    let mut c = consortium();
    trade_at(&mut c, "T-1", 4);
    let events = run(
        &mut c,
        ContractCall::Settle {
            id: cid("T-1"),
            fee: 0,
        },
        SUPPLIER,
    );
    let (event, after) = &events[0];
    let entry = derive_entry(event, after, &name(SUPPLIER), &rules, &tx(2), 3, date());
    assert_eq!(
        lines(&entry),
        vec![l("Assets:Bank:EUR", D, 3070), l("1100", C, 3070)]
    );
    assert_eq!(entry.unwrap().id, derived_entry_id(&tx(2), 3));
}

/// Receivable movement (debit positive) of the seller, payable movement
/// (credit positive) of the buyer, over all events of a trade.
fn intercompany(c: &mut Consortium, calls: Vec<(ContractCall, &str)>, agent: bool) {
    let rules = PostingRules::default();
    let (seller, buyer) = (name(SUPPLIER), name(if agent { MARKET } else { MERCHANT }));
    let mut balances: BTreeMap<EnterpriseName, i128> = BTreeMap::new();
    for (index, (call, by)) in calls.into_iter().enumerate() {
        for (event, after) in run(c, call, by) {
            for (me, account, sign) in [
                (&seller, &rules.receivable, 1i128),
                (
                    &buyer,
                    if agent {
                        &rules.marketplace_payable
                    } else {
                        &rules.payable
                    },
                    -1,
                ),
            ] {
                let index = u32::try_from(index).unwrap();
                if let Some(entry) = derive_entry(&event, &after, me, &rules, &tx(9), index, date())
                {
                    for posting in entry.postings.iter().filter(|p| &p.account == account) {
                        let amount = i128::from(posting.amount);
                        let signed = if posting.side == Side::Debit {
                            amount
                        } else {
                            -amount
                        };
                        *balances.entry(me.clone()).or_default() += sign * signed;
                    }
                }
            }
        }
    }
    assert_eq!(
        balances.get(&seller).copied().unwrap_or(0),
        balances.get(&buyer).copied().unwrap_or(0),
        "{balances:?}"
    );
}

#[test]
fn intercompany_balances_match() {
    for agent in [false, true] {
        let mut c = consortium();
        let buyer = if agent { MARKET } else { MERCHANT };
        let mut trade_terms = terms(SUPPLIER, buyer);
        trade_terms.buyer_is_agent = agent;
        let id = cid("T-1");
        let calls = vec![
            (
                ContractCall::ProposeTrade {
                    id: id.clone(),
                    terms: trade_terms,
                },
                SUPPLIER,
            ),
            (ContractCall::ConfirmTrade { id: id.clone() }, buyer),
            (
                ContractCall::ShipTrade {
                    id: id.clone(),
                    cost: 900,
                },
                SUPPLIER,
            ),
            (ContractCall::DeliverTrade { id: id.clone() }, buyer),
            (ContractCall::InvoiceTrade { id: id.clone() }, SUPPLIER),
            (
                ContractCall::RefundTrade {
                    id: id.clone(),
                    net: 500,
                    shipping: 100,
                    tax: 95,
                },
                SUPPLIER,
            ),
            (
                ContractCall::Settle {
                    id: id.clone(),
                    fee: 40,
                },
                PAYMENTS,
            ),
            (
                ContractCall::RefundTrade {
                    id: id.clone(),
                    net: 300,
                    shipping: 0,
                    tax: 57,
                },
                SUPPLIER,
            ),
        ];
        intercompany(&mut c, calls, agent);
    }
}
