//! Key grants and seal keys: they unwrap for the member, chain, category and epoch they were
//! made for, and for nothing else.

mod common;

use common::{pii, rng};
use tally_identity::SecretKey;
use tally_ledger::Category;
use tally_privacy::{
    derive_field_key, unwrap_field_key, unwrap_key, wrap_field_key, wrap_key, EpochPublicKey,
    EpochSecret, FieldKey, GrantContext, SealKeyContext, SealPublicKey, SealSecretKey, UnwrapError,
    WrappedKey, WRAPPED_KEY_BYTES,
};

fn member(seed: u8) -> SecretKey {
    SecretKey::from_seed([seed; 32])
}

struct Fixture {
    secret: EpochSecret,
    public: EpochPublicKey,
    reader: SecretKey,
}

fn fixture() -> Fixture {
    let secret = EpochSecret::generate(&mut rng(21));
    let public = secret.public_key();
    Fixture {
        secret,
        public,
        reader: member(1),
    }
}

fn grant(fixture: &Fixture) -> WrappedKey {
    let member = fixture.reader.public_key();
    let context = GrantContext {
        chain_id: "merchant",
        category: &pii(),
        epoch: 2,
        epoch_key: &fixture.public,
        member: &member,
    };
    wrap_key(&fixture.secret, &context, &mut rng(22)).unwrap()
}

const NOT_FOR_YOU: &str = "the key grant for customer-pii (epoch 2) does not unwrap with this member's key: it was made for another member, chain, category or epoch, or it was altered";

#[test]
fn derived_x25519_keys_match() {
    for seed in 0..16u8 {
        let secret = member(seed);
        assert_eq!(
            SealSecretKey::from_member(&secret).public_key(),
            SealPublicKey::from_member(&secret.public_key())
        );
    }
    assert!(!format!("{:?}", SealSecretKey::from_member(&member(1))).contains("0101"));
}

#[test]
fn a_grant_unwraps_for_its_member() {
    let fixture = fixture();
    let wrapped = grant(&fixture);
    assert_eq!(wrapped.ciphertext.len(), WRAPPED_KEY_BYTES);
    let member = fixture.reader.public_key();
    let context = GrantContext {
        chain_id: "merchant",
        category: &pii(),
        epoch: 2,
        epoch_key: &fixture.public,
        member: &member,
    };
    let secret = SealSecretKey::from_member(&fixture.reader);
    let unwrapped = unwrap_key(&wrapped, &secret, &context).unwrap();
    assert_eq!(unwrapped.to_bytes(), fixture.secret.to_bytes());
}

#[test]
fn a_grant_fails_for_another_member_or_context() {
    let fixture = fixture();
    let wrapped = grant(&fixture);
    let reader = fixture.reader.public_key();
    let base = GrantContext {
        chain_id: "merchant",
        category: &pii(),
        epoch: 2,
        epoch_key: &fixture.public,
        member: &reader,
    };
    let own = SealSecretKey::from_member(&fixture.reader);

    // Another member's secret, whichever member the context names.
    let other = member(2);
    let other_public = other.public_key();
    for context in [
        base,
        GrantContext {
            member: &other_public,
            ..base
        },
    ] {
        let error =
            unwrap_key(&wrapped, &SealSecretKey::from_member(&other), &context).unwrap_err();
        assert_eq!(error.to_string(), NOT_FOR_YOU);
    }
    // The right member, the wrong context.
    let banking = Category::partner_banking();
    let other_epoch_key = EpochSecret::generate(&mut rng(99)).public_key();
    let contexts = [
        GrantContext {
            chain_id: "supplier",
            ..base
        },
        GrantContext { epoch: 3, ..base },
        GrantContext {
            category: &banking,
            ..base
        },
        GrantContext {
            epoch_key: &other_epoch_key,
            ..base
        },
        GrantContext {
            member: &other_public,
            ..base
        },
    ];
    for context in contexts {
        assert!(
            matches!(
                unwrap_key(&wrapped, &own, &context),
                Err(UnwrapError::NotForYou { .. })
            ),
            "{context:?}"
        );
    }
}

#[test]
fn a_tampered_grant_fails() {
    let fixture = fixture();
    let wrapped = grant(&fixture);
    let reader = fixture.reader.public_key();
    let context = GrantContext {
        chain_id: "merchant",
        category: &pii(),
        epoch: 2,
        epoch_key: &fixture.public,
        member: &reader,
    };
    let own = SealSecretKey::from_member(&fixture.reader);
    for index in 0..WRAPPED_KEY_BYTES {
        let mut bad = wrapped.clone();
        bad.ciphertext[index] ^= 0x04;
        assert_eq!(
            unwrap_key(&bad, &own, &context).unwrap_err().to_string(),
            NOT_FOR_YOU
        );
    }
    let mut bad = wrapped.clone();
    bad.encapped[5] ^= 0x01;
    assert_eq!(
        unwrap_key(&bad, &own, &context).unwrap_err().to_string(),
        NOT_FOR_YOU
    );
    // A small-order encapsulated key (zero) and a wrong length are malformed, not panics.
    let mut zero = wrapped.clone();
    zero.encapped = [0; 32];
    assert_eq!(
        unwrap_key(&zero, &own, &context).unwrap_err().to_string(),
        "the key grant for customer-pii (epoch 2) is malformed: its encapsulated key is a point of small order"
    );
    let mut short = wrapped;
    short.ciphertext.pop();
    assert_eq!(
        unwrap_key(&short, &own, &context).unwrap_err().to_string(),
        "the key grant for customer-pii (epoch 2) is malformed: its ciphertext is 47 bytes long (expected 48)"
    );
}

#[test]
fn a_grant_of_the_wrong_secret_is_caught() {
    let fixture = fixture();
    let reader = fixture.reader.public_key();
    let context = GrantContext {
        chain_id: "merchant",
        category: &pii(),
        epoch: 2,
        epoch_key: &fixture.public,
        member: &reader,
    };
    // A granter wraps some other secret while naming the epoch's public key.
    let impostor = EpochSecret::generate(&mut rng(23));
    let wrapped = wrap_key(&impostor, &context, &mut rng(24)).unwrap();
    assert_eq!(
        unwrap_key(&wrapped, &SealSecretKey::from_member(&fixture.reader), &context)
            .unwrap_err()
            .to_string(),
        "the key grant for customer-pii (epoch 2) holds a secret that is not the epoch's: its public key differs from the one on the chain"
    );
}

#[test]
fn seal_keys_unwrap_with_the_epoch_secret_only() {
    let fixture = fixture();
    let key = FieldKey::generate(&mut rng(30));
    let context = SealKeyContext {
        chain_id: "merchant",
        category: &pii(),
        epoch: 2,
    };
    let seal_key = wrap_field_key(&key, &fixture.public, &context, &mut rng(31)).unwrap();
    assert_eq!(seal_key.category, pii());
    assert_eq!(seal_key.epoch, 2);
    assert!(seal_key.wrapped.len() <= tally_ledger::WRAPPED_SEAL_KEY_LEN_MAX);
    let unwrapped = unwrap_field_key(&seal_key, &fixture.secret, "merchant").unwrap();
    assert_eq!(unwrapped.to_bytes(), key.to_bytes());

    let stranger = EpochSecret::generate(&mut rng(32));
    let expected = "the seal key for customer-pii (epoch 2) does not unwrap with this epoch secret: wrong secret or chain, or the seal key was altered";
    assert_eq!(
        unwrap_field_key(&seal_key, &stranger, "merchant")
            .unwrap_err()
            .to_string(),
        expected
    );
    assert_eq!(
        unwrap_field_key(&seal_key, &fixture.secret, "supplier")
            .unwrap_err()
            .to_string(),
        expected
    );
    let mut moved = seal_key.clone();
    moved.epoch = 3;
    assert!(unwrap_field_key(&moved, &fixture.secret, "merchant").is_err());
    let mut long = seal_key;
    long.wrapped.push(0);
    assert_eq!(
        unwrap_field_key(&long, &fixture.secret, "merchant")
            .unwrap_err()
            .to_string(),
        "the seal key for customer-pii (epoch 2) is malformed: its ciphertext is 49 bytes long (expected 48)"
    );
}

/// A derived field key travels as its encapsulation only; the epoch secret derives it again,
/// and any other secret, chain or epoch derives another key, with which no field opens.
#[test]
fn derived_field_keys_travel_as_an_encapsulation_and_come_back_with_the_epoch_secret() {
    let fixture = fixture();
    let context = SealKeyContext {
        chain_id: "merchant",
        category: &pii(),
        epoch: 2,
    };
    let (key, seal_key) = derive_field_key(&fixture.public, &context, &mut rng(33)).unwrap();
    assert!(seal_key.wrapped.is_empty());
    assert_eq!((seal_key.category, seal_key.epoch), (pii(), 2));
    let derive = |seal_key: &tally_ledger::SealKey, secret: &EpochSecret, chain: &str| {
        unwrap_field_key(seal_key, secret, chain)
            .unwrap()
            .to_bytes()
    };
    assert_eq!(
        derive(&seal_key, &fixture.secret, "merchant"),
        key.to_bytes()
    );
    let stranger = EpochSecret::generate(&mut rng(34));
    assert_ne!(derive(&seal_key, &stranger, "merchant"), key.to_bytes());
    assert_ne!(
        derive(&seal_key, &fixture.secret, "supplier"),
        key.to_bytes()
    );
    let mut moved = seal_key.clone();
    moved.epoch = 3;
    assert_ne!(derive(&moved, &fixture.secret, "merchant"), key.to_bytes());
    let mut altered = seal_key.clone();
    altered.encapped[5] ^= 1;
    assert_ne!(
        derive(&altered, &fixture.secret, "merchant"),
        key.to_bytes()
    );
    // Each draw is a fresh key.
    let (other, other_seal_key) =
        derive_field_key(&fixture.public, &context, &mut rng(35)).unwrap();
    assert_ne!(other.to_bytes(), key.to_bytes());
    assert_ne!(other_seal_key.encapped, seal_key.encapped);
    // A field sealed under it opens for the holder of the epoch secret only.
    let field = tally_privacy::seal(
        &key,
        &pii(),
        2,
        &tally_privacy::SealContext {
            chain_id: "merchant",
            entry_id: "order-7",
        },
        &tally_ledger::FieldName::new("email").unwrap(),
        "ada@example.com",
    )
    .unwrap();
    let reopen = |secret: &EpochSecret| {
        let key = unwrap_field_key(&seal_key, secret, "merchant").unwrap();
        tally_privacy::open(
            &key,
            &field,
            &tally_privacy::SealContext {
                chain_id: "merchant",
                entry_id: "order-7",
            },
        )
    };
    assert_eq!(reopen(&fixture.secret).unwrap().value, "ada@example.com");
    assert_eq!(
        reopen(&stranger).unwrap_err().to_string(),
        "sealed field 'email' does not open with this key: wrong key, or the field was altered or moved"
    );
    // To a small-order key, as wrapping.
    let zero = EpochPublicKey::from_bytes([0; 32]);
    assert_eq!(
        derive_field_key(&zero, &context, &mut rng(36))
            .unwrap_err()
            .to_string(),
        format!(
            "cannot wrap a key to customer-pii epoch 2: its X25519 key {} is of small order",
            "0".repeat(64)
        )
    );
    let mut small = seal_key;
    small.encapped = [0; 32];
    assert_eq!(
        unwrap_field_key(&small, &fixture.secret, "merchant")
            .unwrap_err()
            .to_string(),
        "the seal key for customer-pii (epoch 2) is malformed: its encapsulated key is a point of small order"
    );
}

#[test]
fn wrapping_to_a_small_order_key_is_an_error() {
    let key = FieldKey::generate(&mut rng(40));
    let context = SealKeyContext {
        chain_id: "merchant",
        category: &pii(),
        epoch: 2,
    };
    let zero = EpochPublicKey::from_bytes([0; 32]);
    assert_eq!(
        wrap_field_key(&key, &zero, &context, &mut rng(41))
            .unwrap_err()
            .to_string(),
        format!(
            "cannot wrap a key to customer-pii epoch 2: its X25519 key {} is of small order",
            "0".repeat(64)
        )
    );
}

#[test]
fn wrapped_keys_serialize_in_hex_and_bytes() {
    let wrapped = grant(&fixture());
    let json = serde_json::to_string(&wrapped).unwrap();
    assert_eq!(
        json,
        format!(
            "{{\"encapped\":\"{}\",\"ciphertext\":\"{}\"}}",
            hex::encode(wrapped.encapped),
            hex::encode(&wrapped.ciphertext)
        )
    );
    assert_eq!(serde_json::from_str::<WrappedKey>(&json).unwrap(), wrapped);
    let bytes = postcard::to_allocvec(&wrapped).unwrap();
    assert_eq!(bytes.len(), 1 + 32 + 1 + WRAPPED_KEY_BYTES);
    assert_eq!(postcard::from_bytes::<WrappedKey>(&bytes).unwrap(), wrapped);
    assert!(serde_json::from_str::<WrappedKey>(&json.replace('a', "A")).is_err());
}
