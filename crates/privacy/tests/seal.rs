//! Sealing and opening fields: round trips, and every way a field can be wrong.

mod common;

use common::{name, pii, rng, CONTEXT};
use proptest::prelude::*;
use tally_ledger::{
    AccountCode, Currency, Date, EntryDraft, EntryId, Posting, SealedField, Side,
    SEALED_CIPHERTEXT_LEN_MAX, SEALED_CIPHERTEXT_LEN_MIN, SEALED_VALUE_LEN_MAX,
};
use tally_privacy::{
    open, seal, EpochSecret, FieldKey, Keyring, OpenError, SealContext, SealError, Sealer,
};

fn field_key(seed: u64) -> FieldKey {
    FieldKey::generate(&mut rng(seed))
}

fn sealed_email(key: &FieldKey) -> SealedField {
    seal(key, &pii(), 3, &CONTEXT, &name("email"), "ada@example.com").unwrap()
}

const NOT_OPEN: &str =
    "sealed field 'email' does not open with this key: wrong key, or the field was altered or moved";

fn assert_does_not_open(key: &FieldKey, field: &SealedField, context: &SealContext<'_>) {
    let error = open(key, field, context).unwrap_err();
    assert_eq!(
        error,
        OpenError::Authentication {
            name: name("email")
        }
    );
    assert_eq!(error.to_string(), NOT_OPEN);
}

#[test]
fn round_trip() {
    let key = field_key(7);
    let field = sealed_email(&key);
    assert_eq!(field.epoch, 3);
    assert_eq!(field.category, pii());
    assert_eq!(
        field.ciphertext.len(),
        SEALED_CIPHERTEXT_LEN_MIN + "ada@example.com".len()
    );
    let opened = open(&key, &field, &CONTEXT).unwrap();
    assert_eq!(opened.value, "ada@example.com");
    assert!(!format!("{opened:?}").contains("ada"));
}

/// The salt comes from the key and the field's place: equal values in other fields or other
/// entries have unrelated commitments, so unrelated nonces (derived from the commitment) and
/// ciphertexts; the same field sealed again (a writer's retry) is the same bytes; another value
/// in the same place gets another nonce, never the first one's.
#[test]
fn equal_values_seal_differently() {
    let key = field_key(7);
    let city = |context: &SealContext<'_>, field: &str| {
        seal(&key, &pii(), 3, context, &name(field), "Berlin").unwrap()
    };
    let a = city(&CONTEXT, "city");
    let other_entry = SealContext {
        entry_id: "order-1002",
        ..CONTEXT
    };
    let b = city(&other_entry, "city");
    let c = city(&CONTEXT, "billing_city");
    assert_ne!(a.commitment, b.commitment);
    assert_ne!(a.commitment, c.commitment);
    assert_ne!(b.commitment, c.commitment);
    assert_ne!(a.nonce, b.nonce);
    assert_ne!(a.nonce, c.nonce);
    assert_ne!(a.ciphertext[..6], b.ciphertext[..6]);
    let again = city(&CONTEXT, "city");
    assert_eq!(again, a);
    let moved = seal(&key, &pii(), 3, &CONTEXT, &name("city"), "Bonn").unwrap();
    assert_ne!(moved.commitment, a.commitment);
    assert_ne!(moved.nonce, a.nonce);
    for field in [&a, &b, &c, &moved] {
        assert_eq!(field.nonce, field.commitment[..12]);
    }
}

#[test]
fn wrong_key_fails() {
    let field = sealed_email(&field_key(7));
    assert_does_not_open(&field_key(8), &field, &CONTEXT);
}

#[test]
fn every_flipped_bit_fails() {
    let key = field_key(7);
    let field = sealed_email(&key);
    for index in 0..field.ciphertext.len() {
        let mut bad = field.clone();
        bad.ciphertext[index] ^= 0x01;
        assert_does_not_open(&key, &bad, &CONTEXT);
    }
    for index in 0..field.nonce.len() {
        let mut bad = field.clone();
        bad.nonce[index] ^= 0x80;
        assert_does_not_open(&key, &bad, &CONTEXT);
    }
    for index in 0..field.commitment.len() {
        let mut bad = field.clone();
        bad.commitment[index] ^= 0x10;
        assert_does_not_open(&key, &bad, &CONTEXT);
    }
}

#[test]
fn a_moved_field_fails() {
    let key = field_key(7);
    let field = sealed_email(&key);
    let other_entry = SealContext {
        entry_id: "order-1002",
        ..CONTEXT
    };
    assert_does_not_open(&key, &field, &other_entry);
    let other_chain = SealContext {
        chain_id: "supplier",
        ..CONTEXT
    };
    assert_does_not_open(&key, &field, &other_chain);

    let mut renamed = field.clone();
    renamed.name = name("phone");
    assert_eq!(
        open(&key, &renamed, &CONTEXT).unwrap_err().to_string(),
        "sealed field 'phone' does not open with this key: wrong key, or the field was altered or moved"
    );
    let mut other_epoch = field.clone();
    other_epoch.epoch = 4;
    assert_does_not_open(&key, &other_epoch, &CONTEXT);
    let mut other_category = field;
    other_category.category = tally_ledger::Category::partner_banking();
    assert_does_not_open(&key, &other_category, &CONTEXT);
}

#[test]
fn malformed_lengths_are_refused_without_panic() {
    let key = field_key(7);
    let field = sealed_email(&key);
    for len in [
        0,
        1,
        SEALED_CIPHERTEXT_LEN_MIN - 1,
        SEALED_CIPHERTEXT_LEN_MAX + 1,
    ] {
        let mut bad = field.clone();
        bad.ciphertext = vec![0; len];
        assert_eq!(
            open(&key, &bad, &CONTEXT).unwrap_err().to_string(),
            format!("sealed field 'email' has a ciphertext of {len} bytes (expected 16 to 1056)")
        );
    }
    // Within the bounds but garbage: authentication fails.
    let mut garbage = field;
    garbage.ciphertext = vec![0; SEALED_CIPHERTEXT_LEN_MIN];
    assert_does_not_open(&key, &garbage, &CONTEXT);
}

#[test]
fn too_long_a_value_is_refused() {
    let value = "x".repeat(SEALED_VALUE_LEN_MAX + 1);
    let error = seal(&field_key(7), &pii(), 3, &CONTEXT, &name("note"), &value).unwrap_err();
    assert_eq!(
        error,
        SealError::TooLong {
            name: name("note"),
            len: SEALED_VALUE_LEN_MAX + 1,
            max: SEALED_VALUE_LEN_MAX
        }
    );
    assert_eq!(
        error.to_string(),
        "sealed field 'note' is 1025 bytes long (at most 1024)"
    );
}

#[test]
fn a_sealed_entry_passes_the_ledger_and_opens_for_a_reader() {
    let mut draws = rng(11);
    let epoch_secret = EpochSecret::generate(&mut draws);
    let context = SealContext {
        chain_id: "merchant",
        entry_id: "order-1001",
    };
    let mut sealer = Sealer::new("merchant");
    let fields = [
        (name("customer_name"), "Ada Lovelace"),
        (name("email"), "ada@example.com"),
        (name("address1"), "12 St James's Square"),
    ];
    let (sealed, seal_key) = sealer
        .seal_entry(
            "order-1001",
            &epoch_secret.public_key(),
            &pii(),
            0,
            &fields,
            &mut draws,
        )
        .unwrap();
    let seal_keys = vec![seal_key];
    // The next entry reuses the field key (one wrap per batch), yet opens only as itself.
    let (other, other_key) = sealer
        .seal_entry(
            "order-1002",
            &epoch_secret.public_key(),
            &pii(),
            0,
            &fields[..1],
            &mut draws,
        )
        .unwrap();
    assert_eq!(other_key, seal_keys[0]);
    let field_key = tally_privacy::unwrap_field_key(&other_key, &epoch_secret, "merchant").unwrap();
    assert!(tally_privacy::open_group(&field_key, &other, &context).is_err());
    let account = |code: &str| AccountCode::new(code).unwrap();
    let draft = EntryDraft {
        id: EntryId::new("order-1001").unwrap(),
        date: Date::from_ymd(2026, 11, 24).unwrap(),
        description: "Order 1001".into(),
        postings: vec![
            Posting {
                account: account("1100"),
                side: Side::Debit,
                amount: 1999,
                currency: Currency::EUR,
            },
            Posting {
                account: account("4000"),
                side: Side::Credit,
                amount: 1999,
                currency: Currency::EUR,
            },
        ],
        references: Vec::new(),
        reverses: None,
        sealed: tally_ledger::Sealed::Groups(vec![sealed]),
        seal_keys,
    };
    let entry = draft.check().unwrap();

    let mut keyring = Keyring::new();
    keyring.insert(pii(), 0, epoch_secret);
    let group = &entry.sealed().groups()[0];
    let opened = keyring
        .open_group(entry.seal_keys(), group, &context)
        .unwrap();
    assert_eq!(opened.len(), fields.len());
    for (field, (field_name, value)) in opened.iter().zip(fields) {
        assert_eq!(field.name, field_name);
        assert_eq!(field.opened.value, value);
    }
    // Someone else's epoch secret derives another field key from the seal key, with which the
    // field does not open.
    let mut stranger = Keyring::new();
    stranger.insert(pii(), 0, EpochSecret::generate(&mut rng(12)));
    assert_eq!(
        stranger
            .open_group(entry.seal_keys(), group, &context)
            .unwrap_err()
            .to_string(),
        "sealed fields of customer-pii epoch 0 do not open with this key: wrong key, or the fields were altered or moved"
    );
    // Nor does the seal key on another chain.
    let elsewhere = SealContext {
        chain_id: "supplier",
        ..context
    };
    assert!(keyring
        .open_group(entry.seal_keys(), group, &elsewhere)
        .is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_value_round_trips(
        value in proptest::string::string_regex("(?s).{0,300}").unwrap(),
        repeat in 1usize..4,
        seed in any::<u64>(),
    ) {
        // Long values come from repeating a drawn one, up to the limit in bytes.
        let mut value = value.repeat(repeat);
        while value.len() > SEALED_VALUE_LEN_MAX {
            value.pop();
        }
        let key = field_key(seed);
        let field = seal(&key, &pii(), 1, &CONTEXT, &name("note"), &value)
            .map_err(|error| TestCaseError::fail(format!("seed {seed}: {error}")))?;
        prop_assert_eq!(field.ciphertext.len(), SEALED_CIPHERTEXT_LEN_MIN + value.len());
        let opened = open(&key, &field, &CONTEXT)
            .map_err(|error| TestCaseError::fail(format!("seed {seed}: {error}")))?;
        prop_assert_eq!(opened.value, value);
    }

    #[test]
    fn any_bytes_open_without_panic(
        ciphertext in proptest::collection::vec(any::<u8>(), 0..1100),
        nonce in any::<[u8; 12]>(),
    ) {
        let key = field_key(1);
        let mut field = sealed_email(&key);
        field.ciphertext = ciphertext;
        field.nonce = nonce;
        prop_assert!(open(&key, &field, &CONTEXT).is_err());
    }
}

#[test]
fn the_longest_value_seals_within_the_longest_ciphertext() {
    let value = "é".repeat(SEALED_VALUE_LEN_MAX / 2);
    let key = field_key(3);
    let field = seal(&key, &pii(), 1, &CONTEXT, &name("note"), &value).unwrap();
    // The bound keeps room for the salt that fields sealed before salts were derived carry.
    assert_eq!(
        field.ciphertext.len(),
        SEALED_CIPHERTEXT_LEN_MAX - tally_ledger::SEAL_SALT_BYTES
    );
    assert_eq!(open(&key, &field, &CONTEXT).unwrap().value, value);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any fields sealed together open to their values, in order; each one discloses alone
    /// against the root; and any altered byte of the ciphertext or root, or a renamed field,
    /// makes the group refuse to open rather than give other values.
    #[test]
    fn any_group_round_trips_discloses_and_refuses_alteration(
        values in proptest::collection::vec(
            proptest::string::string_regex("(?s).{0,120}").unwrap(),
            1..=tally_ledger::SEALED_FIELDS_PER_ENTRY_MAX,
        ),
        seed in any::<u64>(),
        pick in any::<proptest::sample::Index>(),
        flip in any::<proptest::sample::Index>(),
    ) {
        let key = field_key(seed);
        let fields: Vec<(tally_ledger::FieldName, &str)> = values
            .iter()
            .enumerate()
            .map(|(index, value)| (name(&format!("field_{index}")), value.as_str()))
            .collect();
        let group = tally_privacy::seal_group(&key, &pii(), 2, &CONTEXT, &fields).unwrap();
        let opened = tally_privacy::open_group(&key, &group, &CONTEXT).unwrap();
        let read: Vec<_> = opened
            .iter()
            .map(|field| (field.name, field.opened.value.as_str()))
            .collect();
        prop_assert_eq!(&read, &fields);

        let (chosen, _) = fields[pick.index(fields.len())];
        let disclosure =
            tally_privacy::Disclosure::in_group(CONTEXT.entry_id, &chosen, &opened).unwrap();
        prop_assert!(disclosure.check_group(&group).is_ok());

        let mut altered = group.clone();
        let byte = flip.index(altered.ciphertext.len());
        altered.ciphertext[byte] ^= 0x01;
        prop_assert!(tally_privacy::open_group(&key, &altered, &CONTEXT).is_err());
        let mut altered = group.clone();
        altered.commitment[flip.index(altered.commitment.len())] ^= 0x01;
        prop_assert!(tally_privacy::open_group(&key, &altered, &CONTEXT).is_err());
        let mut renamed = group.clone();
        let position = pick.index(renamed.names.len());
        renamed.names[position] = name("renamed");
        prop_assert!(tally_privacy::open_group(&key, &renamed, &CONTEXT).is_err());
    }
}
