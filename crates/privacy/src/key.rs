//! The keys: a category epoch's X25519 key pair, and the AES-256 field keys that seal entries'
//! fields and are wrapped to an epoch's public key.

use std::fmt;

use commonware_rand_core::CryptoRng;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, Serializable};
use zeroize::Zeroize;

/// Bytes of a field key (AES-256).
pub const FIELD_KEY_BYTES: usize = 32;

/// Bytes of an epoch secret (an X25519 scalar).
pub const EPOCH_SECRET_BYTES: usize = 32;

/// Bytes of an epoch public key (an X25519 `u` coordinate), as the chain records it.
pub const EPOCH_PUBLIC_KEY_BYTES: usize = 32;

/// The HPKE KEM of every wrap in this crate.
pub(crate) type WrapKem = X25519HkdfSha256;

/// A random AES-256 key that seals fields. A writer draws one, seals an entry's fields of one
/// category with it, and records it on the entry wrapped to the category epoch's public key
/// (`tally_ledger::SealKey`); it may reuse it for many entries. Wiped from memory when dropped;
/// `Debug` shows nothing of it.
///
/// Not `PartialEq`: comparing secrets byte by byte would leak timing.
#[derive(Clone)]
pub struct FieldKey([u8; FIELD_KEY_BYTES]);

impl FieldKey {
    /// A fresh key from a cryptographic random generator ([`crate::os_rng`] outside tests).
    pub fn generate(rng: &mut impl CryptoRng) -> FieldKey {
        let mut bytes = [0u8; FIELD_KEY_BYTES];
        rng.fill_bytes(&mut bytes);
        FieldKey(bytes)
    }

    /// The key with these bytes.
    pub fn from_bytes(bytes: [u8; FIELD_KEY_BYTES]) -> FieldKey {
        FieldKey(bytes)
    }

    /// The key's bytes. This is the secret: the caller wipes the copy.
    pub fn to_bytes(&self) -> [u8; FIELD_KEY_BYTES] {
        self.0
    }

    /// The key's bytes, borrowed (for the cipher and the wrap).
    pub(crate) fn as_bytes(&self) -> &[u8; FIELD_KEY_BYTES] {
        &self.0
    }
}

impl Drop for FieldKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for FieldKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FieldKey(..)")
    }
}

/// The public key of a category's epoch, recorded on the chain when the epoch opens. Writers
/// wrap field keys to it; a grantee checks the secret it unwrapped against it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EpochPublicKey([u8; EPOCH_PUBLIC_KEY_BYTES]);

impl EpochPublicKey {
    /// The key with this encoding (as the chain records it).
    pub fn from_bytes(bytes: [u8; EPOCH_PUBLIC_KEY_BYTES]) -> EpochPublicKey {
        EpochPublicKey(bytes)
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; EPOCH_PUBLIC_KEY_BYTES] {
        self.0
    }

    /// The encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; EPOCH_PUBLIC_KEY_BYTES] {
        &self.0
    }
}

impl fmt::Debug for EpochPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EpochPublicKey({})", hex::encode(self.0))
    }
}

/// The secret of a category's epoch: an X25519 key, granted to the epoch's readers and needed to
/// unwrap its field keys. Wiped from memory when dropped; `Debug` shows only the public key.
#[derive(Clone)]
pub struct EpochSecret(<WrapKem as Kem>::PrivateKey);

impl EpochSecret {
    /// A fresh epoch secret from a cryptographic random generator.
    pub fn generate(rng: &mut impl CryptoRng) -> EpochSecret {
        let mut bytes = [0u8; EPOCH_SECRET_BYTES];
        rng.fill_bytes(&mut bytes);
        let secret = EpochSecret::from_bytes(bytes);
        bytes.zeroize();
        secret
    }

    /// The secret with these bytes (read back from a key file, or unwrapped from a grant).
    /// Any 32 bytes are one: X25519 clamps them.
    pub fn from_bytes(mut bytes: [u8; EPOCH_SECRET_BYTES]) -> EpochSecret {
        let key = match <WrapKem as Kem>::PrivateKey::from_bytes(&bytes) {
            Ok(key) => key,
            // Unreachable: the only error is a length other than 32. A key derived from the
            // same bytes stays secret; it just opens nothing.
            Err(_) => <WrapKem as Kem>::derive_keypair(&bytes).0,
        };
        bytes.zeroize();
        EpochSecret(key)
    }

    /// The secret's bytes (clamped). This is the secret: the caller wipes the copy.
    pub fn to_bytes(&self) -> [u8; EPOCH_SECRET_BYTES] {
        self.0.to_bytes().into()
    }

    /// The matching public key.
    pub fn public_key(&self) -> EpochPublicKey {
        EpochPublicKey(<WrapKem as Kem>::sk_to_pk(&self.0).to_bytes().into())
    }

    /// The HPKE key.
    pub(crate) fn hpke(&self) -> &<WrapKem as Kem>::PrivateKey {
        &self.0
    }
}

impl fmt::Debug for EpochSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpochSecret")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secrets() {
        let key = FieldKey::from_bytes([0xab; FIELD_KEY_BYTES]);
        assert_eq!(format!("{key:?}"), "FieldKey(..)");
        let secret = EpochSecret::from_bytes([0xcd; EPOCH_SECRET_BYTES]);
        let shown = format!("{secret:?}");
        assert!(!shown.contains("cdcd"), "{shown}");
        assert!(shown.starts_with("EpochSecret { public_key: EpochPublicKey("));
    }

    #[test]
    fn secret_bytes_round_trip() {
        let secret = EpochSecret::from_bytes([7; EPOCH_SECRET_BYTES]);
        let again = EpochSecret::from_bytes(secret.to_bytes());
        assert_eq!(secret.public_key(), again.public_key());
    }
}
