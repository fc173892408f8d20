//! Fixtures shared by the integration tests: a consortium of one enterprise of
//! each kind plus an outsider, and short constructors for calls and ids.
#![allow(dead_code)]

use std::collections::BTreeMap;

use tally_contracts::{
    CommissionTerms, Consortium, ContractCall, ContractError, ContractEvent, ContractId,
    EnterpriseKind, EnterpriseName, EnterpriseRecord, EventKind, ShippingTerms, Signer, Threshold,
    TradeLine, TradeTerms,
};
use tally_identity::SecretKey;
use tally_ledger::{Currency, Role};

pub const SUPPLIER: &str = "supplier";
pub const MERCHANT: &str = "merchant";
pub const MARKET: &str = "market";
pub const CARRIER: &str = "carrier";
pub const PAYMENTS: &str = "payments";
pub const OUTSIDER: &str = "outsider";

pub fn name(text: &str) -> EnterpriseName {
    EnterpriseName::new(text).unwrap()
}

pub fn cid(text: &str) -> ContractId {
    ContractId::new(text).unwrap()
}

pub fn record(seed: u8, kind: EnterpriseKind) -> EnterpriseRecord {
    EnterpriseRecord {
        root_key: SecretKey::from_seed([seed; 32]).public_key(),
        kind,
        active: true,
        validator_key: Some(format!("{seed:02x}").repeat(32)),
    }
}

/// One enterprise of each kind, plus an outsider merchant that is party to
/// nothing; threshold 2/3.
pub fn consortium() -> Consortium {
    let enterprises = BTreeMap::from([
        (name(SUPPLIER), record(1, EnterpriseKind::Supplier)),
        (name(MERCHANT), record(2, EnterpriseKind::Merchant)),
        (name(MARKET), record(3, EnterpriseKind::Marketplace)),
        (name(CARRIER), record(4, EnterpriseKind::Carrier)),
        (name(PAYMENTS), record(5, EnterpriseKind::PaymentProvider)),
        (name(OUTSIDER), record(6, EnterpriseKind::Merchant)),
    ]);
    Consortium::new(
        enterprises,
        Threshold {
            numerator: 2,
            denominator: 3,
        },
    )
    .unwrap()
}

pub fn signer(enterprise: &str) -> Signer {
    Signer {
        enterprise: name(enterprise),
        role: Role::Finance,
    }
}

pub fn signer_as(enterprise: &str, role: Role) -> Signer {
    Signer {
        enterprise: name(enterprise),
        role,
    }
}

/// 2 × 10.00 + 1 × 5.00 = 25.00 goods, 3.00 discount, 4.90 shipping, 3.80 tax:
/// net 22.00, gross 30.70.
pub fn terms(seller: &str, buyer: &str) -> TradeTerms {
    TradeTerms {
        seller: name(seller),
        buyer: name(buyer),
        buyer_is_agent: false,
        currency: Currency::EUR,
        lines: vec![
            TradeLine {
                sku: "MUG-RED".to_owned(),
                quantity: 2,
                unit_price: 1000,
            },
            TradeLine {
                sku: "TEA-50G".to_owned(),
                quantity: 1,
                unit_price: 500,
            },
        ],
        discount: 300,
        shipping: 490,
        tax: 380,
    }
}

pub fn shipping_terms(trade: Option<&str>) -> ShippingTerms {
    ShippingTerms {
        merchant: name(MERCHANT),
        carrier: name(CARRIER),
        trade: trade.map(cid),
        currency: Currency::EUR,
        fee: 700,
        tax: 133,
    }
}

pub fn commission_terms(trade: &str) -> CommissionTerms {
    CommissionTerms {
        platform: name(MARKET),
        merchant: name(MERCHANT),
        trade: cid(trade),
        currency: Currency::EUR,
        amount: 250,
        tax: 48,
    }
}

/// Applies and unwraps, returning only the event kinds.
pub fn ok(consortium: &mut Consortium, call: ContractCall, by: &Signer) -> Vec<EventKind> {
    match consortium.apply(&call, by) {
        Ok(events) => events.into_iter().map(|event| event.kind).collect(),
        Err(error) => panic!("{call:?} signed by {by:?} failed: {error}"),
    }
}

/// Applies a call that must fail, checks nothing changed, returns the error.
pub fn refused(consortium: &mut Consortium, call: ContractCall, by: &Signer) -> ContractError {
    let before = postcard::to_allocvec(&*consortium).unwrap();
    let result: Result<Vec<ContractEvent>, ContractError> = consortium.apply(&call, by);
    let error = match result {
        Ok(events) => panic!("{call:?} signed by {by:?} succeeded: {events:?}"),
        Err(error) => error,
    };
    assert_eq!(
        postcard::to_allocvec(&*consortium).unwrap(),
        before,
        "a refused call changed the consortium"
    );
    error
}

/// Proposes T-1 (supplier sells to merchant, supplier proposes) and drives it
/// through the given number of steps: 0 proposed, 1 confirmed, 2 shipped,
/// 3 delivered, 4 invoiced, 5 settled.
pub fn trade_at(consortium: &mut Consortium, id: &str, steps: usize) {
    let t = cid(id);
    ok(
        consortium,
        ContractCall::ProposeTrade {
            id: t.clone(),
            terms: terms(SUPPLIER, MERCHANT),
        },
        &signer(SUPPLIER),
    );
    let path = [
        (ContractCall::ConfirmTrade { id: t.clone() }, MERCHANT),
        (
            ContractCall::ShipTrade {
                id: t.clone(),
                cost: 1200,
            },
            SUPPLIER,
        ),
        (ContractCall::DeliverTrade { id: t.clone() }, MERCHANT),
        (ContractCall::InvoiceTrade { id: t.clone() }, SUPPLIER),
        (
            ContractCall::Settle {
                id: t.clone(),
                fee: 90,
            },
            SUPPLIER,
        ),
    ];
    for (call, by) in path.into_iter().take(steps) {
        ok(consortium, call, &signer(by));
    }
}
