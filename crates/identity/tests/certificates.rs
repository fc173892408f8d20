//! Member certificates and `Verified`.

use tally_identity::{
    CertifiedMember, Domain, IdentityError, MemberCertificate, SecretKey, MAX_DEPARTMENT_BYTES,
    MAX_NAME_BYTES,
};
use tally_ledger::Role;

const CHAIN: &str = "tally-test";

fn root() -> SecretKey {
    SecretKey::from_seed([0xaa; 32])
}

fn member() -> SecretKey {
    SecretKey::from_seed([0x01; 32])
}

fn certificate() -> MemberCertificate {
    MemberCertificate {
        member: member().public_key(),
        name: "Ada Lovelace".to_owned(),
        role: Role::Finance,
        department: "Accounts payable".to_owned(),
        valid_from_ms: 1_000,
        valid_until_ms: 2_000,
    }
}

fn invalid(reason: &str) -> Result<(), IdentityError> {
    Err(IdentityError::CertificateInvalid {
        reason: reason.to_owned(),
    })
}

#[test]
fn issue_then_verify() {
    let root = root();
    let certified = CertifiedMember::issue(&root, CHAIN, certificate());
    assert_eq!(certified.issuer, root.public_key());
    assert_eq!(certified.verify(&root.public_key(), CHAIN), Ok(()));
    assert_eq!(certified.member(), member().public_key());
    assert_eq!(certified.role(), Role::Finance);
}

#[test]
fn wrong_root_is_refused() {
    let certified = CertifiedMember::issue(&root(), CHAIN, certificate());
    let other_root = SecretKey::from_seed([0xbb; 32]).public_key();
    let err = certified.verify(&other_root, CHAIN).unwrap_err();
    assert_eq!(
        err,
        IdentityError::WrongIssuer {
            expected: other_root,
            got: root().public_key()
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "certificate was issued by {}, not by the root key {other_root}",
            root().public_key()
        )
    );

    // Claiming the right issuer does not help a certificate signed by another key.
    let mut forged =
        CertifiedMember::issue(&SecretKey::from_seed([0xbb; 32]), CHAIN, certificate());
    forged.issuer = root().public_key();
    assert_eq!(
        forged.verify(&root().public_key(), CHAIN),
        Err(IdentityError::BadSignature)
    );
}

#[test]
fn any_changed_field_breaks_the_signature() {
    let root = root();
    let certified = CertifiedMember::issue(&root, CHAIN, certificate());
    let tamperings: Vec<fn(&mut MemberCertificate)> = vec![
        |c| c.member = SecretKey::from_seed([0x02; 32]).public_key(),
        |c| c.name.push('!'),
        |c| c.role = Role::Admin,
        |c| c.department = "Sales".to_owned(),
        |c| c.valid_from_ms -= 1,
        |c| c.valid_until_ms += 1,
    ];
    for tamper in tamperings {
        let mut changed = certified.clone();
        tamper(&mut changed.certificate);
        assert_eq!(
            changed.verify(&root.public_key(), CHAIN),
            Err(IdentityError::BadSignature),
            "{changed:?}"
        );
    }
    let mut bytes = certified.signature.to_bytes();
    bytes[0] ^= 1;
    let mut changed = certified.clone();
    changed.signature = tally_identity::Signature::from_bytes(&bytes);
    assert_eq!(
        changed.verify(&root.public_key(), CHAIN),
        Err(IdentityError::BadSignature)
    );
    // Another chain's certificate is not valid here.
    assert_eq!(
        certified.verify(&root.public_key(), "tally-other"),
        Err(IdentityError::BadSignature)
    );
}

#[test]
fn field_rules_are_checked() {
    let root = root();
    let issue_with = |change: fn(&mut MemberCertificate)| {
        let mut c = certificate();
        change(&mut c);
        CertifiedMember::issue(&root, CHAIN, c).verify(&root.public_key(), CHAIN)
    };
    assert_eq!(issue_with(|c| c.name.clear()), invalid("name is empty"));
    assert_eq!(
        issue_with(|c| c.name = "n".repeat(MAX_NAME_BYTES + 1)),
        invalid("name is 129 bytes long; the limit is 128 bytes")
    );
    assert_eq!(issue_with(|c| c.name = "n".repeat(MAX_NAME_BYTES)), Ok(()));
    assert_eq!(
        issue_with(|c| c.department = "d".repeat(MAX_DEPARTMENT_BYTES + 1)),
        invalid("department is 129 bytes long; the limit is 128 bytes")
    );
    assert_eq!(issue_with(|c| c.department.clear()), Ok(()));
    assert_eq!(
        issue_with(|c| c.valid_until_ms = 999),
        invalid("valid_until_ms (999) is before valid_from_ms (1000)")
    );
    assert_eq!(issue_with(|c| c.valid_until_ms = 1_000), Ok(()));
    let err = issue_with(|c| c.name.clear()).unwrap_err();
    assert_eq!(err.to_string(), "certificate is invalid: name is empty");
}

#[test]
fn validity_window_is_inclusive() {
    let certified = CertifiedMember::issue(&root(), CHAIN, certificate());
    assert!(!certified.is_valid_at(999));
    assert!(certified.is_valid_at(1_000));
    assert!(certified.is_valid_at(1_500));
    assert!(certified.is_valid_at(2_000));
    assert!(!certified.is_valid_at(2_001));
}

#[test]
fn signing_payload_is_length_prefixed() {
    let mut a = certificate();
    a.name = "ab".to_owned();
    a.department = "c".to_owned();
    let mut b = certificate();
    b.name = "a".to_owned();
    b.department = "bc".to_owned();
    assert_ne!(a.signing_payload(), b.signing_payload());

    let payload = a.signing_payload();
    let mut expected = a.member.to_bytes().to_vec();
    expected.extend_from_slice(&2u64.to_be_bytes());
    expected.extend_from_slice(b"ab");
    expected.extend_from_slice(&(Role::Finance.as_str().len() as u64).to_be_bytes());
    expected.extend_from_slice(Role::Finance.as_str().as_bytes());
    expected.extend_from_slice(&1u64.to_be_bytes());
    expected.extend_from_slice(b"c");
    expected.extend_from_slice(&1_000u64.to_be_bytes());
    expected.extend_from_slice(&2_000u64.to_be_bytes());
    assert_eq!(payload, expected);
}

#[test]
fn verified_payloads_come_only_from_certified_members() {
    let root = root();
    let member = member();
    let verified_member = CertifiedMember::issue(&root, CHAIN, certificate())
        .into_verified(&root.public_key(), CHAIN)
        .unwrap();
    assert_eq!(verified_member.signer(), root.public_key());

    let message = b"journal entry 17";
    let signature = member.sign(Domain::Transaction, CHAIN, message);
    let verified = verified_member
        .verify_payload(
            Domain::Transaction,
            CHAIN,
            1_500,
            message,
            &signature,
            17u32,
        )
        .unwrap();
    assert_eq!(*verified.value(), 17);
    assert_eq!(verified.signer(), member.public_key());
    assert_eq!(verified.into_inner(), 17);

    let err = verified_member
        .verify_payload(Domain::Transaction, CHAIN, 2_001, message, &signature, ())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "certificate of {} is valid from 1000 ms to 2000 ms, not at 2001 ms",
            member.public_key()
        )
    );
    assert_eq!(
        verified_member
            .verify_payload(Domain::Request, CHAIN, 1_500, message, &signature, ())
            .unwrap_err(),
        IdentityError::BadSignature
    );

    // A certificate that does not verify gives no proof.
    assert!(CertifiedMember::issue(&member, CHAIN, certificate())
        .into_verified(&root.public_key(), CHAIN)
        .is_err());
}
