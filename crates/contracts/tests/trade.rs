//! The trade machine: happy path, every (call, state) pair, forged and
//! foreign signatures, cancellation, returns and refunds.

mod common;

use common::*;
use tally_contracts::{
    Contract, ContractCall, ContractError, EnterpriseName, EventKind, Trade, TradeState,
};
use tally_ledger::Role;

fn trade(consortium: &tally_contracts::Consortium, id: &str) -> Trade {
    match consortium.contract(&cid(id)) {
        Some(Contract::Trade(trade)) => trade.clone(),
        other => panic!("{id} is not a trade: {other:?}"),
    }
}

#[test]
fn happy_path_from_proposal_to_settlement() {
    let mut c = consortium();
    let t = cid("T-1");
    let events = c
        .apply(
            &ContractCall::ProposeTrade {
                id: t.clone(),
                terms: terms(SUPPLIER, MERCHANT),
            },
            &signer(SUPPLIER),
        )
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].contract, t);
    assert_eq!(events[0].kind, EventKind::TradeProposed);
    let proposed = trade(&c, "T-1");
    assert_eq!(proposed.state, TradeState::Proposed);
    assert_eq!(proposed.proposed_by, name(SUPPLIER));
    assert_eq!(proposed.terms.gross(), Ok(3070));

    let steps: [(ContractCall, &str, EventKind, TradeState); 5] = [
        (
            ContractCall::ConfirmTrade { id: t.clone() },
            MERCHANT,
            EventKind::TradeConfirmed,
            TradeState::Confirmed,
        ),
        (
            ContractCall::ShipTrade {
                id: t.clone(),
                cost: 1200,
            },
            SUPPLIER,
            EventKind::TradeShipped { cost: 1200 },
            TradeState::Shipped,
        ),
        (
            ContractCall::DeliverTrade { id: t.clone() },
            MERCHANT,
            EventKind::TradeDelivered,
            TradeState::Delivered,
        ),
        (
            ContractCall::InvoiceTrade { id: t.clone() },
            SUPPLIER,
            EventKind::TradeInvoiced,
            TradeState::Invoiced,
        ),
        (
            ContractCall::Settle {
                id: t.clone(),
                fee: 90,
            },
            PAYMENTS,
            EventKind::Settled { fee: 90 },
            TradeState::Settled,
        ),
    ];
    for (call, by, event, state) in steps {
        assert_eq!(ok(&mut c, call, &signer(by)), vec![event]);
        assert_eq!(trade(&c, "T-1").state, state);
    }
    let settled = c.contract(&t).unwrap();
    assert_eq!(settled.kind_name(), "trade");
    assert_eq!(settled.state_name(), "settled");
    assert_eq!(settled.parties(), vec![&name(SUPPLIER), &name(MERCHANT)]);
}

#[test]
fn the_buyer_may_propose_and_the_seller_confirms() {
    let mut c = consortium();
    ok(
        &mut c,
        ContractCall::ProposeTrade {
            id: cid("PO-7"),
            terms: terms(SUPPLIER, MERCHANT),
        },
        &signer(MERCHANT),
    );
    let error = refused(
        &mut c,
        ContractCall::ConfirmTrade { id: cid("PO-7") },
        &signer(MERCHANT),
    );
    assert_eq!(
        error.to_string(),
        "trade PO-7: only supplier (the party that did not propose) may confirm; merchant signed"
    );
    ok(
        &mut c,
        ContractCall::ConfirmTrade { id: cid("PO-7") },
        &signer(SUPPLIER),
    );
}

/// The calls on an existing trade, each signed by the party allowed to make it.
fn calls(id: &str) -> Vec<(&'static str, ContractCall, &'static str)> {
    let id = cid(id);
    vec![
        (
            "confirm",
            ContractCall::ConfirmTrade { id: id.clone() },
            MERCHANT,
        ),
        (
            "ship",
            ContractCall::ShipTrade {
                id: id.clone(),
                cost: 0,
            },
            SUPPLIER,
        ),
        (
            "deliver",
            ContractCall::DeliverTrade { id: id.clone() },
            MERCHANT,
        ),
        (
            "invoice",
            ContractCall::InvoiceTrade { id: id.clone() },
            SUPPLIER,
        ),
        (
            "cancel",
            ContractCall::RequestCancel { id: id.clone() },
            SUPPLIER,
        ),
        (
            "request a return",
            ContractCall::RequestReturn { id: id.clone() },
            MERCHANT,
        ),
        (
            "refund",
            ContractCall::RefundTrade {
                id: id.clone(),
                net: 100,
                shipping: 0,
                tax: 19,
            },
            SUPPLIER,
        ),
        ("settle", ContractCall::Settle { id, fee: 0 }, SUPPLIER),
    ]
}

/// The state a successful call leaves; `None` if the call is refused there.
fn allowed(action: &str, state: TradeState) -> Option<TradeState> {
    use TradeState::*;
    match (action, state) {
        ("confirm", Proposed) => Some(Confirmed),
        ("ship", Confirmed) => Some(Shipped),
        ("deliver", Shipped) => Some(Delivered),
        ("invoice", Delivered) => Some(Invoiced),
        ("cancel", Proposed | Confirmed) => Some(state),
        ("request a return", Delivered | Invoiced | Settled) => Some(state),
        ("refund", Invoiced | Settled) => Some(state),
        ("settle", Invoiced) => Some(Settled),
        _ => None,
    }
}

/// A consortium with trade `T-1` in `state`.
fn at_state(state: TradeState) -> tally_contracts::Consortium {
    let mut c = consortium();
    let steps = match state {
        TradeState::Proposed | TradeState::Cancelled => 0,
        TradeState::Confirmed => 1,
        TradeState::Shipped => 2,
        TradeState::Delivered => 3,
        TradeState::Invoiced => 4,
        TradeState::Settled => 5,
    };
    trade_at(&mut c, "T-1", steps);
    if state == TradeState::Cancelled {
        for by in [MERCHANT, SUPPLIER] {
            ok(
                &mut c,
                ContractCall::RequestCancel { id: cid("T-1") },
                &signer(by),
            );
        }
    }
    assert_eq!(trade(&c, "T-1").state, state);
    c
}

#[test]
fn every_call_in_every_state() {
    let mut successes = 0;
    let mut refusals = 0;
    for state in TradeState::ALL {
        for (action, call, by) in calls("T-1") {
            let mut c = at_state(state);
            match allowed(action, state) {
                Some(next) => {
                    let events = ok(&mut c, call, &signer(by));
                    assert!(!events.is_empty());
                    assert_eq!(trade(&c, "T-1").state, next, "{action} in {state:?}");
                    successes += 1;
                }
                None => {
                    let error = refused(&mut c, call, &signer(by));
                    match &error {
                        ContractError::WrongState {
                            kind,
                            id,
                            action: refused_action,
                            actual,
                            ..
                        } => {
                            assert_eq!(*kind, "trade");
                            assert_eq!(id.as_str(), "T-1");
                            assert_eq!(refused_action, &action);
                            assert_eq!(*actual, state.as_str());
                        }
                        other => panic!("{action} in {state:?}: {other}"),
                    }
                    assert!(error
                        .to_string()
                        .starts_with(&format!("trade T-1: {action} needs state ")));
                    refusals += 1;
                }
            }
        }
    }
    assert_eq!(successes, 12);
    assert_eq!(successes + refusals, 8 * 7);
}

#[test]
fn wrong_state_messages() {
    let mut c = at_state(TradeState::Confirmed);
    let error = refused(
        &mut c,
        ContractCall::ConfirmTrade { id: cid("T-1") },
        &signer(MERCHANT),
    );
    assert_eq!(
        error.to_string(),
        "trade T-1: confirm needs state proposed, it is confirmed"
    );
    let error = refused(
        &mut c,
        ContractCall::RefundTrade {
            id: cid("T-1"),
            net: 1,
            shipping: 0,
            tax: 0,
        },
        &signer(SUPPLIER),
    );
    assert_eq!(
        error.to_string(),
        "trade T-1: refund needs state invoiced or settled, it is confirmed"
    );
}

#[test]
fn forged_confirmations_are_refused() {
    let mut c = at_state(TradeState::Proposed);
    let confirm = ContractCall::ConfirmTrade { id: cid("T-1") };
    let error = refused(&mut c, confirm.clone(), &signer(SUPPLIER));
    assert_eq!(
        error,
        ContractError::WrongParty {
            kind: "trade",
            id: cid("T-1"),
            action: "confirm",
            allowed: name(MERCHANT),
            relation: "the party that did not propose",
            signer: name(SUPPLIER),
        }
    );
    assert_eq!(
        error.to_string(),
        "trade T-1: only merchant (the party that did not propose) may confirm; supplier signed"
    );
    let error = refused(&mut c, confirm.clone(), &signer(OUTSIDER));
    assert!(matches!(error, ContractError::WrongParty { .. }), "{error}");
    // A payment provider may settle others' contracts but not confirm them.
    let error = refused(&mut c, confirm, &signer(PAYMENTS));
    assert!(matches!(error, ContractError::WrongParty { .. }), "{error}");
    assert_eq!(trade(&c, "T-1").state, TradeState::Proposed);
}

#[test]
fn every_call_by_a_non_party_is_refused() {
    for state in TradeState::ALL {
        for (action, call, _) in calls("T-1") {
            for stranger in [OUTSIDER, MARKET, CARRIER] {
                let mut c = at_state(state);
                let error = refused(&mut c, call.clone(), &signer(stranger));
                let wrong_signer = matches!(
                    error,
                    ContractError::WrongParty { .. }
                        | ContractError::NotAParty { .. }
                        | ContractError::NotPayee { .. }
                );
                assert!(wrong_signer, "{action} in {state:?} by {stranger}: {error}");
            }
        }
    }
    let mut c = consortium();
    let error = refused(
        &mut c,
        ContractCall::ProposeTrade {
            id: cid("T-2"),
            terms: terms(SUPPLIER, MERCHANT),
        },
        &signer(OUTSIDER),
    );
    assert_eq!(
        error.to_string(),
        "trade T-2: only a party may propose; outsider signed"
    );
}

#[test]
fn settlement_signers() {
    let mut c = at_state(TradeState::Invoiced);
    let settle = ContractCall::Settle {
        id: cid("T-1"),
        fee: 0,
    };
    let error = refused(&mut c, settle.clone(), &signer(MERCHANT));
    assert_eq!(
        error.to_string(),
        "trade T-1: only supplier (the payee) or a payment provider may settle; merchant signed"
    );
    let error = refused(
        &mut c,
        ContractCall::Settle {
            id: cid("T-1"),
            fee: 3071,
        },
        &signer(PAYMENTS),
    );
    assert_eq!(
        error.to_string(),
        "trade T-1: fee 30.71 exceeds the amount settled (30.70)"
    );
    ok(
        &mut c,
        ContractCall::Settle {
            id: cid("T-1"),
            fee: 3070,
        },
        &signer(PAYMENTS),
    );
}

#[test]
fn cancellation_needs_both_parties_and_comes_before_shipment() {
    let mut c = at_state(TradeState::Confirmed);
    let cancel = ContractCall::RequestCancel { id: cid("T-1") };
    assert_eq!(
        ok(&mut c, cancel.clone(), &signer(MERCHANT)),
        vec![EventKind::CancelRequested { by: name(MERCHANT) }]
    );
    assert_eq!(trade(&c, "T-1").state, TradeState::Confirmed);
    let error = refused(&mut c, cancel.clone(), &signer(MERCHANT));
    assert_eq!(
        error.to_string(),
        "trade T-1: merchant already requested cancellation"
    );
    let error = refused(&mut c, cancel.clone(), &signer(OUTSIDER));
    assert_eq!(
        error.to_string(),
        "trade T-1: only a party may cancel; outsider signed"
    );
    assert_eq!(
        ok(&mut c, cancel.clone(), &signer(SUPPLIER)),
        vec![
            EventKind::CancelRequested { by: name(SUPPLIER) },
            EventKind::TradeCancelled
        ]
    );
    assert_eq!(trade(&c, "T-1").state, TradeState::Cancelled);
    let error = refused(&mut c, cancel, &signer(MERCHANT));
    assert_eq!(
        error.to_string(),
        "trade T-1: cancel needs state proposed or confirmed, it is cancelled"
    );

    let mut c = at_state(TradeState::Shipped);
    let error = refused(
        &mut c,
        ContractCall::RequestCancel { id: cid("T-1") },
        &signer(SUPPLIER),
    );
    assert_eq!(
        error.to_string(),
        "trade T-1: cancel needs state proposed or confirmed, it is shipped"
    );
}

#[test]
fn returns_are_requested_once() {
    let mut c = at_state(TradeState::Delivered);
    let request = ContractCall::RequestReturn { id: cid("T-1") };
    let error = refused(&mut c, request.clone(), &signer(SUPPLIER));
    assert!(matches!(error, ContractError::WrongParty { .. }));
    assert_eq!(
        ok(&mut c, request.clone(), &signer(MERCHANT)),
        vec![EventKind::ReturnRequested]
    );
    assert!(trade(&c, "T-1").return_requested);
    let error = refused(&mut c, request, &signer(MERCHANT));
    assert_eq!(
        error.to_string(),
        "trade T-1: a return was already requested"
    );
}

#[test]
fn partial_refunds_accumulate_and_cannot_exceed_the_trade() {
    let mut c = at_state(TradeState::Invoiced);
    let refund = |net, shipping, tax| ContractCall::RefundTrade {
        id: cid("T-1"),
        net,
        shipping,
        tax,
    };
    let supplier = signer(SUPPLIER);
    assert_eq!(
        ok(&mut c, refund(1000, 0, 190), &supplier),
        vec![EventKind::TradeRefunded {
            net: 1000,
            shipping: 0,
            tax: 190,
            after_settlement: false
        }]
    );
    ok(&mut c, refund(900, 490, 0), &supplier);
    let after = trade(&c, "T-1");
    assert_eq!(
        (
            after.refunded_net,
            after.refunded_shipping,
            after.refunded_tax
        ),
        (1900, 490, 190)
    );
    // Net is 22.00 and 19.00 is refunded: 3.00 is left.
    let error = refused(&mut c, refund(500, 0, 0), &supplier);
    assert_eq!(
        error.to_string(),
        "trade T-1: refund of net 5.00 exceeds what is left (3.00)"
    );
    let error = refused(&mut c, refund(0, 1, 0), &supplier);
    assert_eq!(
        error.to_string(),
        "trade T-1: refund of shipping 0.01 exceeds what is left (0.00)"
    );
    let error = refused(&mut c, refund(0, 0, 0), &supplier);
    assert_eq!(
        error.to_string(),
        "trade T-1: a refund needs an amount greater than zero"
    );
    let error = refused(&mut c, refund(u64::MAX, 0, 0), &supplier);
    assert!(matches!(error, ContractError::RefundExceeds { .. }));
    // Settlement pays what is still owed: 30.70 - 25.80 = 4.90.
    let error = refused(
        &mut c,
        ContractCall::Settle {
            id: cid("T-1"),
            fee: 491,
        },
        &supplier,
    );
    assert_eq!(
        error.to_string(),
        "trade T-1: fee 4.91 exceeds the amount settled (4.90)"
    );
    ok(
        &mut c,
        ContractCall::Settle {
            id: cid("T-1"),
            fee: 0,
        },
        &supplier,
    );
    assert_eq!(
        ok(&mut c, refund(300, 0, 190), &supplier),
        vec![EventKind::TradeRefunded {
            net: 300,
            shipping: 0,
            tax: 190,
            after_settlement: true
        }]
    );
    let error = refused(&mut c, refund(0, 0, 1), &supplier);
    assert_eq!(
        error.to_string(),
        "trade T-1: refund of tax 0.01 exceeds what is left (0.00)"
    );
}

#[test]
fn proposals_are_validated() {
    let mut c = consortium();
    let propose = |id: &str, terms| ContractCall::ProposeTrade { id: cid(id), terms };
    let supplier = signer(SUPPLIER);
    let error = refused(&mut c, propose("T-1", terms(SUPPLIER, SUPPLIER)), &supplier);
    assert_eq!(
        error.to_string(),
        "trade T-1: supplier cannot contract with itself"
    );
    let error = refused(&mut c, propose("T-1", terms(SUPPLIER, "ghost")), &supplier);
    assert_eq!(
        error.to_string(),
        "trade T-1: buyer ghost is not an active member of the consortium"
    );
    let mut agent = terms(SUPPLIER, MERCHANT);
    agent.buyer_is_agent = true;
    let error = refused(&mut c, propose("T-1", agent), &supplier);
    assert_eq!(
        error.to_string(),
        "trade T-1: agent buyer merchant is a merchant, not a marketplace"
    );
    let mut discounted = terms(SUPPLIER, MERCHANT);
    discounted.discount = 2501;
    let error = refused(&mut c, propose("T-1", discounted), &supplier);
    assert_eq!(
        error.to_string(),
        "discount 25.01 exceeds the goods total 25.00"
    );
    let mut huge = terms(SUPPLIER, MERCHANT);
    huge.lines[0].unit_price = u64::MAX;
    let error = refused(&mut c, propose("T-1", huge), &supplier);
    assert_eq!(error, ContractError::AmountOverflow);
    assert_eq!(error.to_string(), "amount overflow");

    ok(&mut c, propose("T-1", terms(SUPPLIER, MERCHANT)), &supplier);
    let error = refused(&mut c, propose("T-1", terms(SUPPLIER, MERCHANT)), &supplier);
    assert_eq!(error.to_string(), "contract T-1 already exists");
    let error = refused(
        &mut c,
        ContractCall::ConfirmTrade { id: cid("T-9") },
        &signer(MERCHANT),
    );
    assert_eq!(error.to_string(), "unknown contract T-9");
}

#[test]
fn signers_must_be_members_with_a_signing_role() {
    let mut c = at_state(TradeState::Proposed);
    let confirm = ContractCall::ConfirmTrade { id: cid("T-1") };
    let error = refused(&mut c, confirm.clone(), &signer("acme"));
    assert_eq!(
        error.to_string(),
        "enterprise acme is not a member of the consortium"
    );
    let error = refused(&mut c, confirm.clone(), &signer_as(MERCHANT, Role::Auditor));
    assert_eq!(
        error.to_string(),
        "role 'auditor' may not sign consortium transactions"
    );
    ok(&mut c, confirm, &signer_as(MERCHANT, Role::Sales));
}

#[test]
fn calls_for_another_kind_of_contract_are_refused() {
    let mut c = consortium();
    ok(
        &mut c,
        ContractCall::ProposeShipping {
            id: cid("S-1"),
            terms: shipping_terms(None),
        },
        &signer(MERCHANT),
    );
    let error = refused(
        &mut c,
        ContractCall::ConfirmTrade { id: cid("S-1") },
        &signer(CARRIER),
    );
    assert_eq!(
        error.to_string(),
        "contract S-1 is a shipping contract, not a trade contract (cannot confirm)"
    );
}

#[test]
fn enterprise_names_in_terms_are_validated_when_decoded() {
    let terms = terms(SUPPLIER, MERCHANT);
    let mut bytes = postcard::to_allocvec(&terms).unwrap();
    // The seller's name starts after its length byte; upper case is refused.
    bytes[1] = b'S';
    assert!(postcard::from_bytes::<tally_contracts::TradeTerms>(&bytes).is_err());
    let ok_name: Result<EnterpriseName, _> = "supplier".parse();
    assert!(ok_name.is_ok());
}
