//! The keyring: what a member holds, what it was never granted, and what it erased.

mod common;

use common::{pii, rng};
use tally_ledger::Category;
use tally_privacy::{EpochSecret, Keyring, KeyringError};

#[test]
fn missing_and_erased_keys_say_why() {
    let mut keyring = Keyring::new();
    let secret = EpochSecret::generate(&mut rng(60));
    let public = secret.public_key();
    assert!(keyring.insert(pii(), 3, secret));
    assert_eq!(keyring.get(&pii(), 3).unwrap().public_key(), public);
    assert_eq!(
        keyring.get(&pii(), 4).unwrap_err().to_string(),
        "not authorised for customer-pii (epoch 4): no key grant for this member"
    );
    assert_eq!(
        keyring
            .get(&Category::partner_banking(), 3)
            .unwrap_err()
            .to_string(),
        "not authorised for partner-banking (epoch 3): no key grant for this member"
    );

    assert!(keyring.erase(&pii(), 3));
    assert!(keyring.is_erased(&pii(), 3));
    let error = keyring.get(&pii(), 3).unwrap_err();
    assert_eq!(
        error,
        KeyringError::Erased {
            category: pii(),
            epoch: 3
        }
    );
    assert_eq!(
        error.to_string(),
        "customer-pii epoch 3 was erased: its fields can no longer be read"
    );
    // An erased epoch stays erased, even if its grant is unwrapped again.
    assert!(!keyring.insert(pii(), 3, EpochSecret::generate(&mut rng(61))));
    assert!(keyring.get(&pii(), 3).is_err());
    assert_eq!(keyring.held().count(), 0);
    // Erasing what was never held still records the erasure.
    assert!(!keyring.erase(&pii(), 9));
    assert!(keyring.is_erased(&pii(), 9));
}
