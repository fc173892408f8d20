//! Shipping and commission contracts.

mod common;

use common::*;
use tally_contracts::{
    CommissionState, Contract, ContractCall, ContractError, EventKind, ShippingState,
};

fn shipping_state(c: &tally_contracts::Consortium, id: &str) -> ShippingState {
    match c.contract(&cid(id)) {
        Some(Contract::Shipping(shipping)) => shipping.state,
        other => panic!("{other:?}"),
    }
}

fn commission_state(c: &tally_contracts::Consortium, id: &str) -> CommissionState {
    match c.contract(&cid(id)) {
        Some(Contract::Commission(commission)) => commission.state,
        other => panic!("{other:?}"),
    }
}

#[test]
fn shipping_happy_path() {
    let mut c = consortium();
    trade_at(&mut c, "T-1", 1);
    let s = cid("S-1");
    assert_eq!(
        ok(
            &mut c,
            ContractCall::ProposeShipping {
                id: s.clone(),
                terms: shipping_terms(Some("T-1")),
            },
            &signer(MERCHANT),
        ),
        vec![EventKind::ShippingProposed]
    );
    assert_eq!(shipping_state(&c, "S-1"), ShippingState::Proposed);
    let steps = [
        (
            ContractCall::AcceptShipping { id: s.clone() },
            CARRIER,
            EventKind::ShippingAccepted,
            ShippingState::Accepted,
        ),
        (
            ContractCall::DeliverShipment { id: s.clone() },
            CARRIER,
            EventKind::ShipmentDelivered,
            ShippingState::Delivered,
        ),
        (
            ContractCall::Settle {
                id: s.clone(),
                fee: 20,
            },
            CARRIER,
            EventKind::Settled { fee: 20 },
            ShippingState::Settled,
        ),
    ];
    for (call, by, event, state) in steps {
        assert_eq!(ok(&mut c, call, &signer(by)), vec![event]);
        assert_eq!(shipping_state(&c, "S-1"), state);
    }
    let contract = c.contract(&s).unwrap();
    assert_eq!(contract.kind_name(), "shipping");
    assert_eq!(contract.related_trade(), Some(&cid("T-1")));
    assert_eq!(contract.parties(), vec![&name(CARRIER), &name(MERCHANT)]);
}

#[test]
fn shipping_refusals() {
    let mut c = consortium();
    let propose = |terms| ContractCall::ProposeShipping {
        id: cid("S-1"),
        terms,
    };
    let error = refused(&mut c, propose(shipping_terms(None)), &signer(CARRIER));
    assert_eq!(
        error.to_string(),
        "shipping S-1: only merchant (the merchant) may propose; carrier signed"
    );
    let mut terms = shipping_terms(None);
    terms.carrier = name(SUPPLIER);
    let error = refused(&mut c, propose(terms), &signer(MERCHANT));
    assert_eq!(
        error.to_string(),
        "shipping S-1: carrier supplier is a supplier, not a carrier"
    );
    let mut terms = shipping_terms(None);
    terms.fee = 0;
    let error = refused(&mut c, propose(terms), &signer(MERCHANT));
    assert_eq!(
        error.to_string(),
        "shipping S-1: fee must be greater than zero"
    );
    let mut terms = shipping_terms(None);
    terms.fee = u64::MAX;
    assert_eq!(
        refused(&mut c, propose(terms), &signer(MERCHANT)),
        ContractError::AmountOverflow
    );
    let error = refused(
        &mut c,
        propose(shipping_terms(Some("T-9"))),
        &signer(MERCHANT),
    );
    assert_eq!(error.to_string(), "unknown contract T-9");
    // A trade between others.
    ok(
        &mut c,
        ContractCall::ProposeTrade {
            id: cid("T-2"),
            terms: terms_between(SUPPLIER, OUTSIDER),
        },
        &signer(SUPPLIER),
    );
    let error = refused(
        &mut c,
        propose(shipping_terms(Some("T-2"))),
        &signer(MERCHANT),
    );
    assert_eq!(
        error.to_string(),
        "shipping S-1: merchant is not a party of trade T-2"
    );

    ok(&mut c, propose(shipping_terms(None)), &signer(MERCHANT));
    let deliver = ContractCall::DeliverShipment { id: cid("S-1") };
    let error = refused(&mut c, deliver, &signer(CARRIER));
    assert_eq!(
        error.to_string(),
        "shipping S-1: deliver needs state accepted, it is proposed"
    );
    let accept = ContractCall::AcceptShipping { id: cid("S-1") };
    let error = refused(&mut c, accept.clone(), &signer(MERCHANT));
    assert_eq!(
        error.to_string(),
        "shipping S-1: only carrier (the carrier) may accept; merchant signed"
    );
    let settle = ContractCall::Settle {
        id: cid("S-1"),
        fee: 0,
    };
    let error = refused(&mut c, settle.clone(), &signer(CARRIER));
    assert_eq!(
        error.to_string(),
        "shipping S-1: settle needs state delivered, it is proposed"
    );
    ok(&mut c, accept, &signer(CARRIER));
    ok(
        &mut c,
        ContractCall::DeliverShipment { id: cid("S-1") },
        &signer(CARRIER),
    );
    let error = refused(&mut c, settle.clone(), &signer(MERCHANT));
    assert!(matches!(error, ContractError::NotPayee { .. }), "{error}");
    let error = refused(
        &mut c,
        ContractCall::Settle {
            id: cid("S-1"),
            fee: 834,
        },
        &signer(PAYMENTS),
    );
    assert_eq!(
        error.to_string(),
        "shipping S-1: fee 8.34 exceeds the amount settled (8.33)"
    );
    ok(&mut c, settle, &signer(PAYMENTS));
}

fn terms_between(seller: &str, buyer: &str) -> tally_contracts::TradeTerms {
    terms(seller, buyer)
}

#[test]
fn commission_happy_path() {
    let mut c = consortium();
    ok(
        &mut c,
        ContractCall::ProposeTrade {
            id: cid("T-1"),
            terms: terms(MERCHANT, OUTSIDER),
        },
        &signer(MERCHANT),
    );
    let k = cid("C-1");
    assert_eq!(
        ok(
            &mut c,
            ContractCall::ProposeCommission {
                id: k.clone(),
                terms: commission_terms("T-1"),
            },
            &signer(MARKET),
        ),
        vec![EventKind::CommissionProposed]
    );
    assert_eq!(commission_state(&c, "C-1"), CommissionState::Proposed);
    assert_eq!(
        ok(
            &mut c,
            ContractCall::ConfirmCommission { id: k.clone() },
            &signer(MERCHANT)
        ),
        vec![EventKind::CommissionConfirmed]
    );
    assert_eq!(commission_state(&c, "C-1"), CommissionState::Confirmed);
    assert_eq!(
        ok(
            &mut c,
            ContractCall::Settle {
                id: k.clone(),
                fee: 5
            },
            &signer(PAYMENTS)
        ),
        vec![EventKind::Settled { fee: 5 }]
    );
    assert_eq!(commission_state(&c, "C-1"), CommissionState::Settled);
    assert_eq!(c.contract(&k).unwrap().state_name(), "settled");
}

#[test]
fn commission_refusals() {
    let mut c = consortium();
    trade_at(&mut c, "T-1", 0);
    let propose = |terms| ContractCall::ProposeCommission {
        id: cid("C-1"),
        terms,
    };
    // The merchant is the buyer of T-1, not its seller.
    let error = refused(&mut c, propose(commission_terms("T-1")), &signer(MARKET));
    assert_eq!(
        error.to_string(),
        "commission C-1: merchant is not the seller of trade T-1"
    );
    let error = refused(&mut c, propose(commission_terms("T-1")), &signer(MERCHANT));
    assert!(matches!(error, ContractError::WrongParty { .. }), "{error}");
    let mut terms = commission_terms("T-1");
    terms.platform = name(OUTSIDER);
    let error = refused(&mut c, propose(terms), &signer(OUTSIDER));
    assert_eq!(
        error.to_string(),
        "commission C-1: platform outsider is a merchant, not a marketplace"
    );
    let mut terms = commission_terms("T-1");
    terms.amount = 0;
    let error = refused(&mut c, propose(terms), &signer(MARKET));
    assert_eq!(
        error.to_string(),
        "commission C-1: amount must be greater than zero"
    );
    ok(
        &mut c,
        ContractCall::ProposeShipping {
            id: cid("S-1"),
            terms: shipping_terms(None),
        },
        &signer(MERCHANT),
    );
    let error = refused(&mut c, propose(commission_terms("S-1")), &signer(MARKET));
    assert_eq!(
        error.to_string(),
        "contract S-1 is a shipping contract, not a trade contract (cannot take a commission)"
    );
}
