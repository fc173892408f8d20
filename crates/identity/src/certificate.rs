//! Member certificates issued by the enterprise root key, and [`Verified`].

use serde::{Deserialize, Serialize};
use tally_ledger::Role;

use crate::error::IdentityError;
use crate::keys::{Domain, PublicKey, SecretKey, Signature};

/// Longest member name, in UTF-8 bytes. Names are shown in audit views and
/// stored in every certificate on chain; 128 bytes fits any real name and
/// bounds what one certificate can add to a block.
pub const MAX_NAME_BYTES: usize = 128;

/// Longest department, in UTF-8 bytes. Same reasoning as
/// [`MAX_NAME_BYTES`]: a label, not a document.
pub const MAX_DEPARTMENT_BYTES: usize = 128;

/// What the root vouches for: this key belongs to this person or service,
/// with this role, in this department, between these two times.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MemberCertificate {
    /// The member's signing key.
    pub member: PublicKey,
    /// Display name, 1 to [`MAX_NAME_BYTES`] bytes.
    pub name: String,
    /// What the member may do on the ledger.
    pub role: Role,
    /// Department label, at most [`MAX_DEPARTMENT_BYTES`] bytes (may be empty).
    pub department: String,
    /// First millisecond (Unix time) the certificate covers.
    pub valid_from_ms: u64,
    /// Last millisecond (Unix time) the certificate covers, inclusive.
    pub valid_until_ms: u64,
}

impl MemberCertificate {
    /// The rules a certificate's fields must keep, independent of any
    /// signature: a non-empty name within [`MAX_NAME_BYTES`], a department
    /// within [`MAX_DEPARTMENT_BYTES`], and `valid_from_ms <= valid_until_ms`.
    pub fn validate(&self) -> Result<(), IdentityError> {
        let invalid = |reason: String| Err(IdentityError::CertificateInvalid { reason });
        if self.name.is_empty() {
            return invalid("name is empty".to_owned());
        }
        if self.name.len() > MAX_NAME_BYTES {
            return invalid(format!(
                "name is {} bytes long; the limit is {MAX_NAME_BYTES} bytes",
                self.name.len()
            ));
        }
        if self.department.len() > MAX_DEPARTMENT_BYTES {
            return invalid(format!(
                "department is {} bytes long; the limit is {MAX_DEPARTMENT_BYTES} bytes",
                self.department.len()
            ));
        }
        if self.valid_until_ms < self.valid_from_ms {
            return invalid(format!(
                "valid_until_ms ({}) is before valid_from_ms ({})",
                self.valid_until_ms, self.valid_from_ms
            ));
        }
        Ok(())
    }

    /// The canonical bytes the root signs (under [`Domain::Certificate`]).
    /// Every variable-length field carries its length, so no two distinct
    /// certificates encode alike:
    ///
    /// ```text
    /// member          32 bytes (the public key's encoding)
    /// name            u64 big-endian byte length || UTF-8 bytes
    /// role            u64 big-endian byte length || role.as_str() bytes
    /// department      u64 big-endian byte length || UTF-8 bytes
    /// valid_from_ms   u64 big-endian
    /// valid_until_ms  u64 big-endian
    /// ```
    ///
    /// Lengths are 64-bit so the encoding is unambiguous even for a
    /// certificate that breaks the length limits. The role is written by
    /// its name, not its enum position, so reordering `Role` cannot change
    /// what an existing signature means.
    pub fn signing_payload(&self) -> Vec<u8> {
        let role = self.role.as_str();
        let mut out =
            Vec::with_capacity(32 + 8 * 5 + self.name.len() + role.len() + self.department.len());
        out.extend_from_slice(self.member.as_bytes());
        put_bytes(&mut out, self.name.as_bytes());
        put_bytes(&mut out, role.as_bytes());
        put_bytes(&mut out, self.department.as_bytes());
        out.extend_from_slice(&self.valid_from_ms.to_be_bytes());
        out.extend_from_slice(&self.valid_until_ms.to_be_bytes());
        out
    }

    /// True if `valid_from_ms <= time_ms <= valid_until_ms`.
    pub fn is_valid_at(&self, time_ms: u64) -> bool {
        self.valid_from_ms <= time_ms && time_ms <= self.valid_until_ms
    }
}

/// Appends `u64 BE length || bytes`.
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// A certificate together with the root's signature over it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CertifiedMember {
    /// What is certified.
    pub certificate: MemberCertificate,
    /// The key that signed it (must be the chain's root key).
    pub issuer: PublicKey,
    /// The issuer's signature over
    /// [`MemberCertificate::signing_payload`] in [`Domain::Certificate`].
    pub signature: Signature,
}

impl CertifiedMember {
    /// Signs `certificate` with the root key for `chain_id`. It does not
    /// check the certificate: one that breaks [`MemberCertificate::validate`]
    /// is signed but never passes [`CertifiedMember::verify`]; call
    /// `validate` first to refuse it early.
    ///
    /// # Panics
    ///
    /// As [`SecretKey::sign`]: only for a chain id longer than
    /// [`MAX_CHAIN_ID_BYTES`](crate::MAX_CHAIN_ID_BYTES).
    pub fn issue(
        root: &SecretKey,
        chain_id: &str,
        certificate: MemberCertificate,
    ) -> CertifiedMember {
        let signature = root.sign(
            Domain::Certificate,
            chain_id,
            &certificate.signing_payload(),
        );
        CertifiedMember {
            certificate,
            issuer: root.public_key(),
            signature,
        }
    }

    /// Checks, in this order: the issuer is `root`
    /// ([`IdentityError::WrongIssuer`]), the fields keep the rules
    /// ([`IdentityError::CertificateInvalid`]), and the signature verifies
    /// ([`IdentityError::BadSignature`]). Does not look at the time: see
    /// [`CertifiedMember::is_valid_at`].
    pub fn verify(&self, root: &PublicKey, chain_id: &str) -> Result<(), IdentityError> {
        if self.issuer != *root {
            return Err(IdentityError::WrongIssuer {
                expected: *root,
                got: self.issuer,
            });
        }
        self.certificate.validate()?;
        root.verify(
            Domain::Certificate,
            chain_id,
            &self.certificate.signing_payload(),
            &self.signature,
        )
    }

    /// Verifies as [`CertifiedMember::verify`] and, on success, wraps the
    /// certificate as proof; its [`Verified::signer`] is the root.
    pub fn into_verified(
        self,
        root: &PublicKey,
        chain_id: &str,
    ) -> Result<Verified<CertifiedMember>, IdentityError> {
        self.verify(root, chain_id)?;
        Ok(Verified {
            value: self,
            signer: *root,
        })
    }

    /// True if the certificate covers `time_ms` (inclusive at both ends).
    /// Says nothing about the signature.
    pub fn is_valid_at(&self, time_ms: u64) -> bool {
        self.certificate.is_valid_at(time_ms)
    }

    /// The certified member's key.
    pub fn member(&self) -> PublicKey {
        self.certificate.member
    }

    /// The certified member's role.
    pub fn role(&self) -> Role {
        self.certificate.role
    }
}

/// A value whose signature has been checked.
///
/// Invariant: a `Verified<T>` exists only for a payload whose signature
/// checked against a certified member key — made by
/// [`Verified::<CertifiedMember>::verify_payload`] — or, for
/// `Verified<CertifiedMember>`, for a certificate whose signature checked
/// against the root key ([`CertifiedMember::into_verified`]). There is no
/// other constructor and no `Deserialize`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Verified<T> {
    value: T,
    signer: PublicKey,
}

impl<T> Verified<T> {
    /// The checked value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The key whose signature was checked.
    pub fn signer(&self) -> PublicKey {
        self.signer
    }

    /// Gives up the proof and returns the value.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl Verified<CertifiedMember> {
    /// Checks that this (already verified) member signed `message` in
    /// `domain` on `chain_id`, and that the certificate covers `time_ms`;
    /// then wraps `payload` (the decoded form of `message`) as verified,
    /// with this member as its signer.
    ///
    /// Errors: [`IdentityError::CertificateNotValidAt`],
    /// [`IdentityError::ChainIdTooLong`], [`IdentityError::BadSignature`].
    pub fn verify_payload<T>(
        &self,
        domain: Domain,
        chain_id: &str,
        time_ms: u64,
        message: &[u8],
        signature: &Signature,
        payload: T,
    ) -> Result<Verified<T>, IdentityError> {
        let certificate = &self.value.certificate;
        if !certificate.is_valid_at(time_ms) {
            return Err(IdentityError::CertificateNotValidAt {
                member: certificate.member,
                time_ms,
                valid_from_ms: certificate.valid_from_ms,
                valid_until_ms: certificate.valid_until_ms,
            });
        }
        certificate
            .member
            .verify(domain, chain_id, message, signature)?;
        Ok(Verified {
            value: payload,
            signer: certificate.member,
        })
    }
}
