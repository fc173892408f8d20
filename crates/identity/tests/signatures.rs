//! Keys, signatures, domain separation and batch verification.

use serde::de::value::{Error as DeError, StrDeserializer};
use serde::Deserialize;
use tally_identity::{
    signing_bytes, verify_many, BatchVerifyError, Domain, IdentityError, PublicKey, SecretKey,
    Signature, SignatureCheck, MAX_CHAIN_ID_BYTES,
};

const CHAIN: &str = "tally-test";

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed([n; 32])
}

#[test]
fn sign_verify_round_trip_in_every_domain() {
    let secret = key(1);
    let public = secret.public_key();
    for domain in Domain::ALL {
        let signature = secret.sign(domain, CHAIN, b"pay 10.00 EUR");
        assert_eq!(
            public.verify(domain, CHAIN, b"pay 10.00 EUR", &signature),
            Ok(())
        );
    }
    // Empty message and empty chain id are allowed.
    let signature = secret.sign(Domain::Request, "", b"");
    assert_eq!(public.verify(Domain::Request, "", b"", &signature), Ok(()));
}

#[test]
fn signing_is_deterministic_for_a_seed() {
    let a = key(7).sign(Domain::Transaction, CHAIN, b"m");
    let b = key(7).sign(Domain::Transaction, CHAIN, b"m");
    assert_eq!(a, b);
    assert_eq!(key(7).public_key(), key(7).public_key());
    assert_ne!(key(7).public_key(), key(8).public_key());
}

#[test]
fn a_signature_for_one_domain_fails_in_every_other() {
    let secret = key(2);
    let public = secret.public_key();
    for signed_in in Domain::ALL {
        let signature = secret.sign(signed_in, CHAIN, b"message");
        for checked_in in Domain::ALL {
            let result = public.verify(checked_in, CHAIN, b"message", &signature);
            if signed_in == checked_in {
                assert_eq!(result, Ok(()));
            } else {
                assert_eq!(
                    result,
                    Err(IdentityError::BadSignature),
                    "{signed_in:?} vs {checked_in:?}"
                );
            }
        }
    }
}

#[test]
fn a_signature_for_one_chain_fails_on_another() {
    let secret = key(3);
    let public = secret.public_key();
    let signature = secret.sign(Domain::Transaction, "tally-main", b"tx");
    assert_eq!(
        public.verify(Domain::Transaction, "tally-test", b"tx", &signature),
        Err(IdentityError::BadSignature)
    );
    // The chain id is length-prefixed: moving bytes between the chain id
    // and the message does not give the same signed bytes.
    let signature = secret.sign(Domain::Transaction, "ab", b"c");
    assert_eq!(
        public.verify(Domain::Transaction, "a", b"bc", &signature),
        Err(IdentityError::BadSignature)
    );
    assert_ne!(
        signing_bytes(Domain::Transaction, "ab", b"c").unwrap(),
        signing_bytes(Domain::Transaction, "a", b"bc").unwrap()
    );
}

#[test]
fn signing_bytes_layout() {
    let bytes = signing_bytes(Domain::Batch, "xy", b"\x01\x02").unwrap();
    assert_eq!(bytes, b"tally/v1/batch\x00\x00\x02xy\x01\x02".to_vec());
}

#[test]
fn over_long_chain_id_is_refused() {
    let secret = key(4);
    let long = "c".repeat(MAX_CHAIN_ID_BYTES + 1);
    let fits = "c".repeat(MAX_CHAIN_ID_BYTES);
    assert_eq!(
        secret.try_sign(Domain::Transaction, &long, b"m"),
        Err(IdentityError::ChainIdTooLong {
            len: MAX_CHAIN_ID_BYTES + 1
        })
    );
    let signature = secret.sign(Domain::Transaction, &fits, b"m");
    let public = secret.public_key();
    assert_eq!(
        public.verify(Domain::Transaction, &fits, b"m", &signature),
        Ok(())
    );
    let err = public
        .verify(Domain::Transaction, &long, b"m", &signature)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "chain id is {} bytes long; the limit is {MAX_CHAIN_ID_BYTES} bytes",
            MAX_CHAIN_ID_BYTES + 1
        )
    );
}

#[test]
fn flipping_any_byte_of_message_or_signature_fails() {
    let secret = key(5);
    let public = secret.public_key();
    let message = b"invoice 2024-0042: 1234.56 EUR".to_vec();
    let signature = secret.sign(Domain::Transaction, CHAIN, &message);
    for i in 0..message.len() {
        let mut tampered = message.clone();
        tampered[i] ^= 0x01;
        assert_eq!(
            public.verify(Domain::Transaction, CHAIN, &tampered, &signature),
            Err(IdentityError::BadSignature)
        );
    }
    for i in 0..64 {
        let mut bytes = signature.to_bytes();
        bytes[i] ^= 0x80;
        let tampered = Signature::from_bytes(&bytes);
        assert_eq!(
            public.verify(Domain::Transaction, CHAIN, &message, &tampered),
            Err(IdentityError::BadSignature),
            "byte {i}"
        );
    }
    // Right signature, wrong key.
    assert_eq!(
        key(6)
            .public_key()
            .verify(Domain::Transaction, CHAIN, &message, &signature),
        Err(IdentityError::BadSignature)
    );
}

#[test]
fn public_key_from_bytes_accepts_only_large_order_canonical_points() {
    let good = key(9).public_key();
    assert_eq!(PublicKey::from_bytes(&good.to_bytes()), Ok(good));

    // Identity (y = 1) and y = -1: on the curve but of small order.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        PublicKey::from_bytes(&identity),
        Err(IdentityError::BadPublicKey)
    );
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    assert_eq!(
        PublicKey::from_bytes(&minus_one),
        Err(IdentityError::BadPublicKey)
    );
    assert_eq!(
        PublicKey::from_bytes(&[0u8; 32]),
        Err(IdentityError::BadPublicKey)
    );

    // Not on the curve: some y has no x. Find one among small y values.
    let off_curve = (2u8..=255)
        .map(|y| {
            let mut bytes = [0u8; 32];
            bytes[0] = y;
            bytes
        })
        .find(|bytes| ed25519_dalek::VerifyingKey::from_bytes(bytes).is_err())
        .expect("some small y is not on the curve");
    assert_eq!(
        PublicKey::from_bytes(&off_curve),
        Err(IdentityError::BadPublicKey)
    );

    // Non-canonical: y + p encodes the same point as a valid small y.
    let mut found = false;
    for y in 2u8..=18 {
        let mut canonical = [0u8; 32];
        canonical[0] = y;
        if PublicKey::from_bytes(&canonical).is_ok() {
            let mut non_canonical = [0xffu8; 32];
            non_canonical[0] = 0xed + y;
            non_canonical[31] = 0x7f;
            assert!(ed25519_dalek::VerifyingKey::from_bytes(&non_canonical).is_ok());
            assert_eq!(
                PublicKey::from_bytes(&non_canonical),
                Err(IdentityError::BadPublicKey)
            );
            found = true;
        }
    }
    assert!(found, "no valid large-order point with y in 2..=18");
}

#[test]
fn hex_forms_round_trip_and_are_strict() {
    let public = key(10).public_key();
    let text = public.to_string();
    assert_eq!(text.len(), 64);
    assert_eq!(text, text.to_lowercase());
    assert_eq!(text.parse::<PublicKey>(), Ok(public));
    assert_eq!(format!("{public:?}"), format!("PublicKey({text})"));

    let err = text.to_uppercase().parse::<PublicKey>().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "public key is not valid: character {:?} at position {} is not a lower-case hex digit (upper-case hex is not accepted)",
            text.to_uppercase().chars().find(|c| c.is_ascii_alphabetic()).unwrap(),
            text.find(|c: char| c.is_ascii_alphabetic()).unwrap()
        )
    );
    assert_eq!(
        text[..62].parse::<PublicKey>().unwrap_err().to_string(),
        "public key is not valid: expected 64 hex characters, found 62"
    );

    let signature = key(10).sign(Domain::Request, CHAIN, b"r");
    let text = signature.to_string();
    assert_eq!(text.len(), 128);
    assert_eq!(text.parse::<Signature>(), Ok(signature));
    assert_eq!(Signature::from_bytes(&signature.to_bytes()), signature);
}

#[test]
fn serde_reads_hex_and_checks_the_point() {
    let public = key(11).public_key();
    let text = public.to_string();
    let parsed = PublicKey::deserialize(StrDeserializer::<DeError>::new(&text)).unwrap();
    assert_eq!(parsed, public);
    let zero = "00".repeat(32);
    let err = PublicKey::deserialize(StrDeserializer::<DeError>::new(&zero)).unwrap_err();
    assert_eq!(err.to_string(), IdentityError::BadPublicKey.to_string());

    let signature = key(11).sign(Domain::Batch, CHAIN, b"b");
    let text = signature.to_string();
    let parsed = Signature::deserialize(StrDeserializer::<DeError>::new(&text)).unwrap();
    assert_eq!(parsed, signature);
}

#[test]
fn secret_key_debug_shows_only_the_public_key() {
    let secret = key(12);
    let debug = format!("{secret:?}");
    assert!(!debug.contains(&secret.to_hex()), "{debug}");
    assert!(debug.contains(&secret.public_key().to_string()), "{debug}");
}

#[test]
fn generated_keys_differ_and_work() {
    let mut rng = rand::rngs::OsRng;
    let a = SecretKey::generate(&mut rng);
    let b = SecretKey::generate(&mut rng);
    assert_ne!(a.public_key(), b.public_key());
    let signature = a.sign(Domain::Transaction, CHAIN, b"x");
    assert_eq!(
        a.public_key()
            .verify(Domain::Transaction, CHAIN, b"x", &signature),
        Ok(())
    );
}

/// `count` distinct signers, each signing its own message.
fn signed_set(count: usize) -> (Vec<PublicKey>, Vec<Vec<u8>>, Vec<Signature>) {
    let mut keys = Vec::new();
    let mut messages = Vec::new();
    let mut signatures = Vec::new();
    for i in 0..count {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
        seed[31] = 0x5a;
        let secret = SecretKey::from_seed(seed);
        let message = format!("transaction {i}").into_bytes();
        signatures.push(secret.sign(Domain::Transaction, CHAIN, &message));
        keys.push(secret.public_key());
        messages.push(message);
    }
    (keys, messages, signatures)
}

fn checks<'a>(
    keys: &'a [PublicKey],
    messages: &'a [Vec<u8>],
    signatures: &'a [Signature],
) -> Vec<SignatureCheck<'a>> {
    keys.iter()
        .zip(messages)
        .zip(signatures)
        .map(|((key, message), signature)| SignatureCheck {
            key,
            domain: Domain::Transaction,
            chain_id: CHAIN,
            message,
            signature,
        })
        .collect()
}

#[test]
fn verify_many_accepts_empty_and_all_good() {
    assert_eq!(verify_many(&[]), Ok(()));
    let (keys, messages, signatures) = signed_set(50);
    assert_eq!(verify_many(&checks(&keys, &messages, &signatures)), Ok(()));
}

#[test]
fn verify_many_finds_a_single_bad_signature_among_50() {
    let (keys, messages, signatures) = signed_set(50);
    for bad in [0, 1, 17, 48, 49] {
        // Kinds of badness: tampered signature, wrong message, wrong key.
        let mut signatures = signatures.clone();
        let mut bytes = signatures[bad].to_bytes();
        bytes[40] ^= 0x04;
        signatures[bad] = Signature::from_bytes(&bytes);
        assert_eq!(
            verify_many(&checks(&keys, &messages, &signatures)),
            Err(BatchVerifyError {
                index: bad,
                count: 50,
                reason: IdentityError::BadSignature
            })
        );
    }
    let mut wrong_message = messages.clone();
    wrong_message[23] = b"transaction 9999".to_vec();
    assert_eq!(
        verify_many(&checks(&keys, &wrong_message, &signatures))
            .unwrap_err()
            .index,
        23
    );

    let mut wrong_key = keys.clone();
    wrong_key[31] = keys[30];
    assert_eq!(
        verify_many(&checks(&wrong_key, &messages, &signatures))
            .unwrap_err()
            .index,
        31
    );

    // A check in the wrong domain is found too.
    let mut all = checks(&keys, &messages, &signatures);
    all[12].domain = Domain::Batch;
    let err = verify_many(&all).unwrap_err();
    assert_eq!(err.index, 12);
    assert_eq!(
        err.to_string(),
        "signature 12 of 50 is invalid: signature does not verify"
    );
}

#[test]
fn verify_many_reports_the_first_of_several_bad() {
    let (keys, messages, mut signatures) = signed_set(20);
    signatures.swap(5, 14);
    assert_eq!(
        verify_many(&checks(&keys, &messages, &signatures))
            .unwrap_err()
            .index,
        5
    );
}

#[test]
fn verify_many_refuses_malformed_r_and_long_chain_ids() {
    let (keys, messages, mut signatures) = signed_set(10);
    // R = identity (small order), s = 0: rejected before batching.
    let mut bytes = [0u8; 64];
    bytes[0] = 1;
    signatures[7] = Signature::from_bytes(&bytes);
    assert_eq!(
        verify_many(&checks(&keys, &messages, &signatures))
            .unwrap_err()
            .index,
        7
    );
    // A non-canonical s (all ones) fails as well.
    let (keys, messages, mut signatures) = signed_set(10);
    let mut bytes = signatures[2].to_bytes();
    bytes[32..].fill(0xff);
    signatures[2] = Signature::from_bytes(&bytes);
    assert_eq!(
        verify_many(&checks(&keys, &messages, &signatures))
            .unwrap_err()
            .index,
        2
    );

    let (keys, messages, signatures) = signed_set(4);
    let long = "x".repeat(MAX_CHAIN_ID_BYTES + 1);
    let mut all = checks(&keys, &messages, &signatures);
    all[3].chain_id = &long;
    assert_eq!(
        verify_many(&all),
        Err(BatchVerifyError {
            index: 3,
            count: 4,
            reason: IdentityError::ChainIdTooLong {
                len: MAX_CHAIN_ID_BYTES + 1
            }
        })
    );
}
