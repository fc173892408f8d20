//! Property tests: random trade terms and random paths through the trade
//! machine, signed by the right party or by someone random.

mod common;

use std::collections::BTreeSet;

use common::*;
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use tally_contracts::{
    derive_entry, derived_entry_id, Contract, ContractCall, ContractError, PostingRules, Trade,
    TradeLine, TradeState, TradeTerms,
};
use tally_ledger::{Currency, Date, EntryId, Side};

/// Terms with sensible amounts: always valid.
fn valid_terms() -> impl Strategy<Value = (TradeTerms, bool)> {
    (
        prop::collection::vec((1u32..=1_000, 1u64..=1_000_000_000), 1..=6),
        any::<bool>(),
        0u64..=100,
        0u64..=100_000_000,
        0u64..=100_000_000,
        prop::sample::select(vec![Currency::EUR, Currency::JPY, Currency::KWD]),
    )
        .prop_map(
            |(lines, agent, discount_percent, shipping, tax, currency)| {
                let buyer = if agent { MARKET } else { MERCHANT };
                let mut terms = terms(SUPPLIER, buyer);
                terms.buyer_is_agent = agent;
                terms.currency = currency;
                terms.lines = lines
                    .into_iter()
                    .enumerate()
                    .map(|(index, (quantity, unit_price))| TradeLine {
                        sku: format!("SKU-{index}"),
                        quantity,
                        unit_price,
                    })
                    .collect();
                let goods = terms.goods().unwrap();
                terms.discount = goods / 100 * discount_percent;
                terms.shipping = shipping;
                terms.tax = tax;
                (terms, agent)
            },
        )
}

/// One step of a path: which call, whether the right party signs it, and
/// raw numbers for its amounts.
type Step = (u8, u8, u64, u64, u64);

fn trade_of(c: &tally_contracts::Consortium) -> Trade {
    match c.contract(&cid("T-1")) {
        Some(Contract::Trade(trade)) => trade.clone(),
        other => panic!("{other:?}"),
    }
}

/// Picks a call and its signer for `step` given the trade now.
fn call_for(trade: &Trade, step: Step) -> (ContractCall, &'static str) {
    let (action, pick, a, b, c) = step;
    let id = cid("T-1");
    let seller = SUPPLIER;
    let buyer = if trade.terms.buyer_is_agent {
        MARKET
    } else {
        MERCHANT
    };
    let other = if trade.proposed_by.as_str() == seller {
        buyer
    } else {
        seller
    };
    let left = |charged: u64, refunded: u64, raw: u64| {
        let left = charged - refunded;
        // Mostly within what is left, sometimes one above.
        raw % (left + 2)
    };
    let net = trade.terms.net().unwrap();
    // Two steps in three follow the trade's life forward, so that paths reach
    // invoicing, settlement and refunds often; the rest are random calls.
    let action = if action % 3 == 0 {
        action / 3
    } else {
        match trade.state {
            TradeState::Proposed => 0,
            TradeState::Confirmed => 1,
            TradeState::Shipped => 2,
            TradeState::Delivered => 3,
            TradeState::Invoiced => [7, 8, 6][usize::from(action) % 3],
            TradeState::Settled => [7, 6][usize::from(action) % 2],
            TradeState::Cancelled => action / 3,
        }
    };
    let (call, right) = match action % 9 {
        0 => (ContractCall::ConfirmTrade { id }, other),
        1 => (
            ContractCall::ShipTrade {
                id,
                cost: a % 1_000_000,
            },
            seller,
        ),
        2 => (ContractCall::DeliverTrade { id }, buyer),
        3 => (ContractCall::InvoiceTrade { id }, seller),
        4 => (ContractCall::RequestCancel { id }, seller),
        5 => (ContractCall::RequestCancel { id }, buyer),
        6 => (ContractCall::RequestReturn { id }, buyer),
        7 => (
            ContractCall::RefundTrade {
                id,
                net: left(net, trade.refunded_net, a),
                shipping: left(trade.terms.shipping, trade.refunded_shipping, b),
                tax: left(trade.terms.tax, trade.refunded_tax, c),
            },
            seller,
        ),
        _ => {
            let amount = trade.settlement_amount().unwrap();
            (
                ContractCall::Settle {
                    id,
                    fee: a % (amount / 10 + 2),
                },
                if pick % 2 == 0 { seller } else { PAYMENTS },
            )
        }
    };
    let signer = match pick % 5 {
        0 => [SUPPLIER, MERCHANT, MARKET, OUTSIDER, PAYMENTS, CARRIER][usize::from(pick / 5) % 6],
        _ => right,
    };
    (call, signer)
}

fn tx_hash(step: usize) -> [u8; 32] {
    Sha256::digest(step.to_le_bytes()).into()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_paths_keep_books_balanced_and_matching(
        (terms, agent) in valid_terms(),
        steps in prop::collection::vec(any::<Step>(), 0..40),
    ) {
        let mut c = consortium();
        let rules = PostingRules::default();
        let date = Date::from_ymd(2026, 11, 24).unwrap();
        let seller = name(SUPPLIER);
        let buyer = name(if agent { MARKET } else { MERCHANT });
        // Either party may propose; the first step's parity picks which.
        let proposer = if steps.first().is_some_and(|s| s.0 % 2 == 1) { &buyer } else { &seller };
        c.apply(
            &ContractCall::ProposeTrade { id: cid("T-1"), terms: terms.clone() },
            &signer(proposer.as_str()),
        ).unwrap();
        let mut ids: BTreeSet<EntryId> = BTreeSet::new();
        let mut seller_receivable: i128 = 0;
        let mut buyer_payable: i128 = 0;
        for (index, step) in steps.into_iter().enumerate() {
            let (call, by) = call_for(&trade_of(&c), step);
            let before = postcard::to_allocvec(&c).unwrap();
            let events = match c.apply(&call, &signer(by)) {
                Ok(events) => events,
                Err(_) => {
                    prop_assert_eq!(postcard::to_allocvec(&c).unwrap(), before);
                    continue;
                }
            };
            let tx = tx_hash(index);
            let after = c.contract(&cid("T-1")).unwrap().clone();
            for (event_index, event) in events.iter().enumerate() {
                let event_index = u32::try_from(event_index).unwrap();
                let id = derived_entry_id(&tx, event_index);
                prop_assert_eq!(&id, &derived_entry_id(&tx, event_index));
                prop_assert!(ids.insert(id.clone()), "duplicate id {}", id);
                for (me, account, sign) in [
                    (&seller, &rules.receivable, 1i128),
                    (&buyer, if agent { &rules.marketplace_payable } else { &rules.payable }, -1),
                ] {
                    let entry = derive_entry(event, &after, me, &rules, &tx, event_index, date);
                    let again = derive_entry(event, &after, me, &rules, &tx, event_index, date);
                    prop_assert_eq!(&entry, &again);
                    let Some(entry) = entry else { continue };
                    prop_assert_eq!(&entry.id, &id);
                    prop_assert!(entry.references.iter().any(|r| r.kind == "trade" && r.value == "T-1"));
                    prop_assert!(entry.postings.iter().all(|p| p.currency == terms.currency && p.amount > 0));
                    for posting in entry.postings.iter().filter(|p| &p.account == account) {
                        let amount = i128::from(posting.amount);
                        let signed = if posting.side == Side::Debit { amount } else { -amount };
                        if sign > 0 { seller_receivable += signed } else { buyer_payable -= signed }
                    }
                    let checked = entry.clone().check();
                    prop_assert!(checked.is_ok(), "{:?}: {:?}", entry, checked);
                }
            }
            prop_assert_eq!(seller_receivable, buyer_payable);
        }
        let trade = trade_of(&c);
        prop_assert!(trade.refunded_net <= terms.net().unwrap());
        prop_assert!(trade.refunded_shipping <= terms.shipping);
        prop_assert!(trade.refunded_tax <= terms.tax);
        // A settled trade with no later refunds owes nothing.
        prop_assert!(seller_receivable >= 0);
    }

    #[test]
    fn overflowing_terms_give_errors_never_panics(
        lines in prop::collection::vec((any::<u32>(), any::<u64>()), 0..=66),
        discount in any::<u64>(),
        shipping in any::<u64>(),
        tax in any::<u64>(),
    ) {
        let mut terms = terms(SUPPLIER, MERCHANT);
        terms.lines = lines
            .into_iter()
            .map(|(quantity, unit_price)| TradeLine { sku: "X".to_owned(), quantity, unit_price })
            .collect();
        terms.discount = discount;
        terms.shipping = shipping;
        terms.tax = tax;
        let expected_gross: Option<u128> = terms
            .lines
            .iter()
            .map(|line| u128::from(line.quantity) * u128::from(line.unit_price))
            .sum::<u128>()
            .checked_sub(u128::from(discount))
            .map(|net| net + u128::from(shipping) + u128::from(tax));
        match terms.gross() {
            Ok(gross) => prop_assert_eq!(Some(u128::from(gross)), expected_gross),
            Err(ContractError::AmountOverflow) => prop_assert!(
                expected_gross.is_none_or(|gross| gross > u128::from(u64::MAX))
                    || terms.goods().is_err()
            ),
            Err(ContractError::DiscountExceedsGoods { .. }) => prop_assert!(expected_gross.is_none()),
            Err(other) => prop_assert!(false, "unexpected {}", other),
        }
        let mut c = consortium();
        let result = c.apply(
            &ContractCall::ProposeTrade { id: cid("T-1"), terms: terms.clone() },
            &signer(SUPPLIER),
        );
        let valid_lines = (1..=64).contains(&terms.lines.len())
            && terms.lines.iter().all(|line| line.quantity > 0 && line.unit_price > 0);
        prop_assert_eq!(result.is_ok(), valid_lines && terms.gross().is_ok());
    }

    #[test]
    fn derived_ids_are_deterministic_and_distinct(
        a in any::<[u8; 32]>(),
        b in any::<[u8; 32]>(),
        i in any::<u32>(),
        j in any::<u32>(),
    ) {
        prop_assert_eq!(derived_entry_id(&a, i), derived_entry_id(&a, i));
        let same_event = a[..20] == b[..20] && i == j;
        prop_assert_eq!(derived_entry_id(&a, i) == derived_entry_id(&b, j), same_event);
    }
}
