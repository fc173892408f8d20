//! The serialized forms other crates rely on: JSON for the API, postcard for
//! the chain. Validating types must refuse invalid data when decoded.

use std::collections::BTreeMap;

use tally_ledger::{
    codes, default_chart, Account, AccountCode, AccountKind, BalancedEntry, Currency, Date,
    EntryDraft, EntryId, KnownEntry, Ledger, Posting, Reference, Role, RoleSet, Side,
};

fn sale() -> BalancedEntry {
    EntryDraft {
        id: EntryId::new("order:1").unwrap(),
        date: Date::parse("2026-11-24").unwrap(),
        description: "Order 1".into(),
        postings: vec![
            Posting {
                account: AccountCode::new(codes::ACCOUNTS_RECEIVABLE).unwrap(),
                side: Side::Debit,
                amount: 10050,
                currency: Currency::EUR,
            },
            Posting {
                account: AccountCode::new(codes::SALES_REVENUE).unwrap(),
                side: Side::Credit,
                amount: 10050,
                currency: Currency::EUR,
            },
        ],
        references: vec![Reference {
            kind: "order".into(),
            value: "1".into(),
        }],
        reverses: None,
        sealed: Default::default(),
        seal_keys: Vec::new(),
    }
    .check()
    .unwrap()
}

#[test]
fn json_forms_are_readable() {
    assert_eq!(serde_json::to_string(&Currency::EUR).unwrap(), "\"EUR\"");
    assert_eq!(
        serde_json::to_string(&Date::parse("2026-11-24").unwrap()).unwrap(),
        "\"2026-11-24\""
    );
    assert_eq!(serde_json::to_string(&Side::Debit).unwrap(), "\"debit\"");
    assert_eq!(
        serde_json::to_string(&Role::Bookkeeper).unwrap(),
        "\"bookkeeper\""
    );
    assert_eq!(
        serde_json::to_string(&AccountKind::Liability).unwrap(),
        "\"liability\""
    );
    assert_eq!(
        serde_json::to_string(&RoleSet::of(&[Role::Sales, Role::Finance])).unwrap(),
        "[\"finance\",\"sales\"]"
    );
    let json = serde_json::to_value(sale()).unwrap();
    assert_eq!(json["id"], "order:1");
    assert_eq!(json["postings"][0]["account"], "1100");
    assert_eq!(json["postings"][0]["side"], "debit");
    assert_eq!(json["postings"][0]["amount"], 10050);
    assert_eq!(json["postings"][0]["currency"], "EUR");
}

#[test]
fn decoding_validates() {
    assert_eq!(
        serde_json::from_str::<Currency>("\"JPY\"").unwrap(),
        Currency::JPY
    );
    let err = serde_json::from_str::<Currency>("\"XXX\"").unwrap_err();
    assert!(err.to_string().contains("unknown currency 'XXX'"), "{err}");
    assert!(serde_json::from_str::<Date>("\"2026-02-30\"").is_err());
    assert!(serde_json::from_str::<AccountCode>("\" 1000\"").is_err());
    assert!(serde_json::from_str::<EntryId>("\"a b\"").is_err());
    assert!(serde_json::from_str::<Role>("\"Admin\"").is_err());
    assert_eq!(
        serde_json::from_str::<RoleSet>("[\"sales\",\"sales\"]").unwrap(),
        RoleSet::of(&[Role::Sales])
    );
}

#[test]
fn balanced_entry_round_trips_as_a_draft() {
    let entry = sale();
    let bytes = postcard::to_stdvec(&entry).unwrap();
    let draft: EntryDraft = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(draft.check().unwrap(), entry);
    let json = serde_json::to_string(&entry).unwrap();
    let draft: EntryDraft = serde_json::from_str(&json).unwrap();
    assert_eq!(&draft, entry.draft());
}

#[test]
fn account_round_trips() {
    for account in default_chart() {
        let bytes = postcard::to_stdvec(&account).unwrap();
        assert_eq!(postcard::from_bytes::<Account>(&bytes).unwrap(), account);
        let json = serde_json::to_string(&account).unwrap();
        assert_eq!(serde_json::from_str::<Account>(&json).unwrap(), account);
    }
}

#[test]
fn ledger_snapshot_round_trips_in_both_encodings() {
    let mut ledger = Ledger::new(default_chart()).unwrap();
    let known: BTreeMap<EntryId, KnownEntry> = BTreeMap::new();
    ledger.post(&sale(), Role::Sales, &known).unwrap();
    ledger
        .close_period(Date::parse("2026-01-31").unwrap())
        .unwrap();
    ledger
        .begin_close(Date::parse("2026-12-31").unwrap())
        .unwrap();

    let bytes = postcard::to_stdvec(&ledger).unwrap();
    let back: Ledger = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, ledger);
    assert_eq!(back.state_digest(), ledger.state_digest());

    let json = serde_json::to_string(&ledger).unwrap();
    let back: Ledger = serde_json::from_str(&json).unwrap();
    assert_eq!(back, ledger);
}

#[test]
fn ledger_snapshot_invariants_are_rechecked() {
    let mut ledger = Ledger::new(default_chart()).unwrap();
    let known: BTreeMap<EntryId, KnownEntry> = BTreeMap::new();
    ledger.post(&sale(), Role::Sales, &known).unwrap();
    let good = serde_json::to_value(&ledger).unwrap();

    let mut unbalanced = good.clone();
    unbalanced["balances"][0]["debit"] = serde_json::json!(1);
    let err = serde_json::from_value::<Ledger>(unbalanced).unwrap_err();
    assert!(err.to_string().contains("not balanced"), "{err}");

    let mut unknown = good.clone();
    unknown["balances"][0]["account"] = serde_json::json!("9999");
    let err = serde_json::from_value::<Ledger>(unknown).unwrap_err();
    assert!(err.to_string().contains("unknown account '9999'"), "{err}");

    let mut duplicated = good.clone();
    let first = duplicated["balances"][0].clone();
    duplicated["balances"].as_array_mut().unwrap().push(first);
    let err = serde_json::from_value::<Ledger>(duplicated).unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");

    // The per-date movements are re-checked too.
    let mut unbalanced_day = good.clone();
    unbalanced_day["movements"][0]["debit"] = serde_json::json!(1);
    let err = serde_json::from_value::<Ledger>(unbalanced_day).unwrap_err();
    assert!(
        err.to_string()
            .contains("movements on 2026-11-24 are not balanced"),
        "{err}"
    );
    let mut beyond = good.clone();
    beyond["movements"][0]["debit"] = serde_json::json!(20100);
    beyond["movements"][1]["credit"] = serde_json::json!(20100);
    let err = serde_json::from_value::<Ledger>(beyond).unwrap_err();
    assert!(err.to_string().contains("exceed its totals"), "{err}");
    let mut in_closed = good.clone();
    in_closed["closed_through"] = serde_json::json!("2026-12-31");
    let err = serde_json::from_value::<Ledger>(in_closed).unwrap_err();
    assert!(
        err.to_string()
            .contains("movements dated 2026-11-24, in the closed period"),
        "{err}"
    );

    let mut negative_bank = good;
    negative_bank["balances"] = serde_json::json!([
        {"account": codes::BANK, "currency": "EUR", "debit": 0, "credit": 5},
        {"account": codes::CASH, "currency": "EUR", "debit": 5, "credit": 0},
    ]);
    let err = serde_json::from_value::<Ledger>(negative_bank).unwrap_err();
    assert!(err.to_string().contains("below zero"), "{err}");
}
