//! Typed errors of the identity layer.

use std::path::PathBuf;

use thiserror::Error;

use crate::keys::{PublicKey, MAX_CHAIN_ID_BYTES};

/// Why a key, signature or certificate was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IdentityError {
    /// The signature does not verify for this key, domain, chain id and
    /// message (or is malformed: non-canonical `s`, small-order `R`).
    #[error("signature does not verify")]
    BadSignature,
    /// The 32 bytes are not a canonical encoding of an Ed25519 point of
    /// large order.
    #[error("public key is not a valid Ed25519 key (not a canonical curve point of large order)")]
    BadPublicKey,
    /// A certificate names an issuer other than the root it was checked
    /// against.
    #[error("certificate was issued by {got}, not by the root key {expected}")]
    WrongIssuer {
        /// The root key the certificate was checked against.
        expected: PublicKey,
        /// The issuer the certificate names.
        got: PublicKey,
    },
    /// A certificate's fields break a rule (length limits, validity window).
    #[error("certificate is invalid: {reason}")]
    CertificateInvalid {
        /// What is wrong, for a person.
        reason: String,
    },
    /// A certificate that is otherwise valid does not cover the given time.
    #[error(
        "certificate of {member} is valid from {valid_from_ms} ms to {valid_until_ms} ms, not at {time_ms} ms"
    )]
    CertificateNotValidAt {
        /// The certified member.
        member: PublicKey,
        /// The time that was asked about.
        time_ms: u64,
        /// First millisecond the certificate covers.
        valid_from_ms: u64,
        /// Last millisecond the certificate covers (inclusive).
        valid_until_ms: u64,
    },
    /// A chain id longer than [`MAX_CHAIN_ID_BYTES`].
    #[error("chain id is {len} bytes long; the limit is {MAX_CHAIN_ID_BYTES} bytes")]
    ChainIdTooLong {
        /// Length of the refused chain id in bytes.
        len: usize,
    },
    /// A textual key or signature that is not the expected lower-case hex.
    #[error("{what} is not valid: {reason}")]
    MalformedHex {
        /// What was being parsed ("public key", "signature").
        what: &'static str,
        /// What is wrong, for a person.
        reason: String,
    },
}

/// Why a secret key could not be read, written or parsed.
#[derive(Debug, Error)]
pub enum KeyFileError {
    /// The file could not be opened, read, created or written.
    #[error("key file {}: {source}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file was read but does not hold a secret key.
    #[error("key file {}: {reason}", path.display())]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong, for a person.
        reason: String,
    },
    /// A secret key given as text (not from a file) is not valid hex.
    #[error("secret key is not valid: {reason}")]
    BadHex {
        /// What is wrong, for a person.
        reason: String,
    },
}

/// The first failing check of a [`verify_many`](crate::verify_many) call.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("signature {index} of {count} is invalid: {reason}")]
pub struct BatchVerifyError {
    /// Index (0-based) of the first failing check in the input slice.
    pub index: usize,
    /// Number of checks in the call.
    pub count: usize,
    /// Why that check failed, exactly as [`PublicKey::verify`] reports it.
    pub reason: IdentityError,
}
