//! Disclosures: a value proven against its commitment without the key, and forgeries refused.

mod common;

use common::{name, pii, rng, CONTEXT};
use tally_privacy::{open, seal, Disclosure, DisclosureError, FieldKey};

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
