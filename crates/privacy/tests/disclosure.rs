//! Disclosures: a value proven against its commitment without the key, and forgeries refused.

mod common;

use common::{name, pii, rng, CONTEXT};
use tally_privacy::{open, open_group, seal, seal_group, Disclosure, DisclosureError, FieldKey};

#[test]
fn a_disclosure_checks_and_forgeries_fail() {
    let key = FieldKey::generate(&mut rng(50));
    let field = seal(
        &key,
        &pii(),
        1,
        &CONTEXT,
        &name("phone"),
        "+44 20 7946 0958",
    )
    .unwrap();
    let opened = open(&key, &field, &CONTEXT).unwrap();
    let disclosure = Disclosure::new(CONTEXT.entry_id, &field.name, &opened);
    disclosure.check(&field).unwrap();

    // It travels as JSON, salt in hex, and still checks.
    let json = serde_json::to_string(&disclosure).unwrap();
    assert!(json.contains(&format!("\"salt\":\"{}\"", hex::encode(opened.salt))));
    let received: Disclosure = serde_json::from_str(&json).unwrap();
    received.check(&field).unwrap();

    let mismatch = "the disclosed value of field 'phone' does not match its commitment on the chain: the value or the salt is not the one sealed";
    let mut forged_value = disclosure.clone();
    forged_value.value = "+44 20 7946 0959".into();
    assert_eq!(
        forged_value.check(&field).unwrap_err(),
        DisclosureError::Mismatch {
            name: name("phone")
        }
    );
    assert_eq!(
        forged_value.check(&field).unwrap_err().to_string(),
        mismatch
    );
    let mut forged_salt = disclosure.clone();
    forged_salt.salt[0] ^= 1;
    assert_eq!(forged_salt.check(&field).unwrap_err().to_string(), mismatch);

    let mut other_field = disclosure;
    other_field.name = name("email");
    assert_eq!(
        other_field.check(&field).unwrap_err().to_string(),
        "the disclosure is of field 'email', not of field 'phone'"
    );
}

#[test]
fn a_field_of_a_group_is_disclosed_alone_and_forgeries_fail() {
    let key = FieldKey::generate(&mut rng(51));
    let fields = [
        (name("customer_name"), "Ada Lovelace"),
        (name("phone"), "+44 20 7946 0958"),
        (name("zip"), "SW1Y 4JH"),
    ];
    let group = seal_group(&key, &pii(), 1, &CONTEXT, &fields).unwrap();
    let opened = open_group(&key, &group, &CONTEXT).unwrap();
    let disclosure = Disclosure::in_group(CONTEXT.entry_id, &name("phone"), &opened).unwrap();
    assert!(Disclosure::in_group(CONTEXT.entry_id, &name("email"), &opened).is_none());
    // The JSON carries the phone number, and of the others only their commitments.
    let json = serde_json::to_string(&disclosure).unwrap();
    assert!(json.contains("+44 20 7946 0958") && !json.contains("Ada") && !json.contains("SW1Y"));
    let received: Disclosure = serde_json::from_str(&json).unwrap();
    received.check_group(&group).unwrap();

    let mismatch = "the disclosed value of field 'phone' does not match its commitment on the chain: the value or the salt is not the one sealed";
    let mut forged_value = disclosure.clone();
    forged_value.value = "+44 20 7946 0959".into();
    assert_eq!(
        forged_value.check_group(&group).unwrap_err().to_string(),
        mismatch
    );
    // A forged value with its own commitment put in the list: the root no longer matches.
    let mut forged_list = forged_value.clone();
    forged_list.group[1].0 = tally_privacy::commitment(
        &pii(),
        &name("phone"),
        &forged_value.salt,
        &forged_value.value,
    );
    assert_eq!(
        forged_list.check_group(&group).unwrap_err().to_string(),
        mismatch
    );
    // Another field's value passed off as the phone's.
    let mut moved = disclosure.clone();
    moved.value = "Ada Lovelace".into();
    assert_eq!(moved.check_group(&group).unwrap_err().to_string(), mismatch);
    let mut short = disclosure.clone();
    short.group.pop();
    assert_eq!(
        short.check_group(&group).unwrap_err(),
        DisclosureError::GroupShape {
            name: name("phone"),
            given: 2,
            fields: 3
        }
    );
    let mut other = disclosure;
    other.name = name("email");
    assert_eq!(
        other.check_group(&group).unwrap_err().to_string(),
        "the disclosure is of field 'email', which the group of sealed fields does not name"
    );
}
