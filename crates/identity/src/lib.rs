//! Tally's identity layer: who signs what.
//!
//! A Tally chain is permissioned. An enterprise *root* key issues a
//! [`MemberCertificate`] to every member (a person or service with a
//! [`Role`](tally_ledger::Role)); members sign transactions, validators sign
//! batches, and every signature is checked against a certified key. This
//! crate owns the keys ([`SecretKey`], [`PublicKey`]), the signatures
//! ([`Signature`], domain-separated by [`Domain`] and the chain id), the
//! certificates ([`CertifiedMember`]), batch verification ([`verify_many`]),
//! the Merkle tree over a batch's entries ([`merkle_root`]) and the API tokens
//! a member signs for itself to use a node's HTTP API ([`ApiToken`]).
//!
//! # Invariants
//!
//! * A [`PublicKey`] is always a canonical encoding of an Ed25519 curve point
//!   that is not of small order: it can only be built through
//!   [`PublicKey::from_bytes`] (or parsing, which goes through it).
//! * Every signature covers `b"tally/v1/" || domain tag || 0x00 ||
//!   len(chain_id) as u16 BE || chain_id || message` (see [`signing_bytes`]).
//!   A signature made for one [`Domain`] never verifies for another, and one
//!   made for one chain never verifies on another.
//! * Verification is Ed25519 *strict* verification (`verify_strict`): no
//!   small-order keys or `R` points, no non-canonical `s`.
//! * [`verify_many`] rejects exactly when at least one of its checks fails
//!   [`PublicKey::verify`], and then names the first such index.
//! * A [`Verified<T>`] exists only for a payload whose signature checked
//!   against a certified member key (or, for a certificate, against the
//!   root key that issued it): it has no public constructor and no
//!   `Deserialize`.
//! * Certificates are signed over an explicit, length-prefixed encoding
//!   ([`MemberCertificate::signing_payload`]), never over a serde format.
//!
//! ```
//! use tally_identity::{Domain, SecretKey};
//!
//! let member = SecretKey::from_seed([7; 32]);
//! let signature = member.sign(Domain::Transaction, "tally-demo", b"entry 1");
//! let public = member.public_key();
//! assert!(public.verify(Domain::Transaction, "tally-demo", b"entry 1", &signature).is_ok());
//! // Useless in another domain or on another chain:
//! assert!(public.verify(Domain::Request, "tally-demo", b"entry 1", &signature).is_err());
//! assert!(public.verify(Domain::Transaction, "tally-prod", b"entry 1", &signature).is_err());
//! ```
//!
//! This crate reads no clock (callers pass times in milliseconds) and does
//! no I/O except the key-file helpers [`SecretKey::write_file`] and
//! [`SecretKey::read_file`]. Nothing here panics on untrusted input.

#![warn(missing_docs)]

mod batch;
mod certificate;
mod error;
mod hexfmt;
mod keys;
mod merkle;
mod token;

pub use batch::{verify_many, SignatureCheck};
pub use certificate::{
    CertifiedMember, MemberCertificate, Verified, MAX_DEPARTMENT_BYTES, MAX_NAME_BYTES,
};
pub use error::{BatchVerifyError, IdentityError, KeyFileError};
pub use keys::{
    signing_bytes, Domain, PublicKey, SecretKey, Signature, MAX_CHAIN_ID_BYTES, MAX_KEY_FILE_BYTES,
    PUBLIC_KEY_BYTES, SECRET_KEY_BYTES, SIGNATURE_BYTES, SIGNING_PREFIX,
};
pub use merkle::{leaf_hash, merkle_proof, merkle_root, verify_merkle_proof, Digest};
pub use token::{
    utc, ApiToken, TokenError, API_TOKEN_CLOCK_SKEW_MAX_MS, API_TOKEN_ENCODED_BYTES_MAX,
    API_TOKEN_LIFETIME_MAX_MS, API_TOKEN_TEXT_BYTES_MAX, API_TOKEN_VERSION,
};
