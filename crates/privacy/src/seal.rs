//! Sealing and opening one field: AES-256-GCM of (salt, value) under the category's epoch key,
//! with the field's place (chain, entry, name, category, epoch) and its commitment as associated
//! data.

use std::fmt;

use aes_gcm::aead::{AeadInOut, Key, KeyInit, Nonce};
use aes_gcm::Aes256Gcm;
use commonware_rand_core::CryptoRng;
use tally_ledger::{
    Category, FieldName, SealedField, COMMITMENT_BYTES, SEALED_CIPHERTEXT_LEN_MAX,
    SEALED_CIPHERTEXT_LEN_MIN, SEALED_VALUE_LEN_MAX, SEAL_NONCE_BYTES, SEAL_SALT_BYTES,
};
use zeroize::Zeroize;

use crate::encoding::Frame;
use crate::key::FieldKey;

/// Domain tag of [`commitment`].
const COMMITMENT_TAG: &str = "commitment";

/// Domain tag of a sealed field's associated data.
const ASSOCIATED_DATA_TAG: &str = "sealed-field";

/// Where a field is sealed: bound into its associated data, so that its ciphertext copied into
/// another entry or onto another chain does not open.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SealContext<'a> {
    /// The chain the entry is written to.
    pub chain_id: &'a str,
    /// The entry's id (its idempotency key, fixed before sealing).
    pub entry_id: &'a str,
}

/// A field opened: its value and the salt of its commitment (kept to make a
/// [`crate::Disclosure`]).
///
/// `Debug` shows the value's length only, so a log line never carries personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct Opened {
    /// The plaintext value.
    pub value: String,
    /// The commitment's salt.
    pub salt: [u8; SEAL_SALT_BYTES],
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Opened {{ value: <{} bytes>, .. }}", self.value.len())
    }
}

/// Why a value cannot be sealed.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum SealError {
    /// The value is longer than [`SEALED_VALUE_LEN_MAX`].
    #[error("sealed field '{name}' is {len} bytes long (at most {max})")]
    TooLong {
        /// The field.
        name: FieldName,
        /// The value's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The cipher refused (it does so only for inputs far beyond this crate's bounds).
    #[error("sealed field '{name}' could not be encrypted")]
    Cipher {
        /// The field.
        name: FieldName,
    },
}

/// Why a sealed field does not open.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum OpenError {
    /// The ciphertext's length is outside the bounds every sealed field keeps.
    #[error(
        "sealed field '{name}' has a ciphertext of {len} bytes (expected {min} to {max})",
        min = SEALED_CIPHERTEXT_LEN_MIN,
        max = SEALED_CIPHERTEXT_LEN_MAX
    )]
    Length {
        /// The field.
        name: FieldName,
        /// The ciphertext's length.
        len: usize,
    },
    /// Authentication failed. AES-GCM cannot tell a wrong key from an altered ciphertext, nonce
    /// or commitment, or a field copied to another entry, chain, name or epoch, so neither can
    /// this message.
    #[error(
        "sealed field '{name}' does not open with this key: wrong key, or the field was altered or moved"
    )]
    Authentication {
        /// The field.
        name: FieldName,
    },
    /// It decrypted, but the value is not UTF-8 text: whoever sealed it did not use this crate.
    #[error("sealed field '{name}' opened, but its value is not UTF-8 text")]
    NotText {
        /// The field.
        name: FieldName,
    },
    /// It decrypted, but the commitment on the chain is not the one of the value: whoever
    /// sealed it recorded a false commitment, so no disclosure of it could be trusted.
    #[error("sealed field '{name}' opened, but its value does not match its commitment on the chain: it was sealed with a false commitment")]
    CommitmentMismatch {
        /// The field.
        name: FieldName,
    },
}

/// The salted commitment to a field's value: SHA-256 over a domain tag, then the category,
/// name, salt and value, each prefixed by its length.
///
/// Hiding (the 16-byte random salt makes equal values unrelated) and binding (SHA-256), it lets a
/// holder of the value and salt prove it to someone without the key ([`crate::Disclosure`]).
pub fn commitment(
    category: &Category,
    name: &FieldName,
    salt: &[u8; SEAL_SALT_BYTES],
    value: &str,
) -> [u8; COMMITMENT_BYTES] {
    Frame::new(COMMITMENT_TAG)
        .part(category.as_str().as_bytes())
        .part(name.as_str().as_bytes())
        .part(salt)
        .part(value.as_bytes())
        .digest()
}

/// The associated data of a field: everything that says where it belongs, and its commitment.
fn associated_data(
    context: &SealContext<'_>,
    name: &FieldName,
    category: &Category,
    epoch: u32,
    commitment: &[u8; COMMITMENT_BYTES],
) -> Vec<u8> {
    Frame::new(ASSOCIATED_DATA_TAG)
        .part(context.chain_id.as_bytes())
        .part(context.entry_id.as_bytes())
        .part(name.as_str().as_bytes())
        .part(category.as_str().as_bytes())
        .number(epoch)
        .part(commitment)
        .finish()
}

/// Seals `value` as field `name` of the entry `context` names, under `key`, the field key the
/// entry records (wrapped) for `category` and `epoch`.
///
/// A random salt and nonce are drawn from `rng`; the ciphertext is AES-256-GCM of salt then
/// value, tag last, so its length is [`SEALED_CIPHERTEXT_LEN_MIN`] plus the value's, within the
/// bounds `tally_ledger::EntryDraft::check` enforces. Nonces are random 96-bit values: a writer
/// that reuses one field key for many entries should draw a new one well before 2^32 fields
/// (the chance of a repeated nonce is then about 2^-33); [`crate::Sealer`] draws a new one
/// after [`crate::FIELDS_PER_FIELD_KEY_MAX`] fields.
pub fn seal(
    key: &FieldKey,
    category: &Category,
    epoch: u32,
    context: &SealContext<'_>,
    name: &FieldName,
    value: &str,
    rng: &mut impl CryptoRng,
) -> Result<SealedField, SealError> {
    let mut salt = [0u8; SEAL_SALT_BYTES];
    rng.fill_bytes(&mut salt);
    let mut nonce = [0u8; SEAL_NONCE_BYTES];
    rng.fill_bytes(&mut nonce);
    seal_with(
        key,
        category,
        epoch,
        context,
        name,
        value,
        salt,
        nonce,
        |salt| commitment(category, name, salt, value),
    )
}

/// [`seal`] with the salt and nonce given, and the commitment computed by `commit` (the true one
/// except in the test of a lying sealer).
#[allow(clippy::too_many_arguments)]
fn seal_with(
    key: &FieldKey,
    category: &Category,
    epoch: u32,
    context: &SealContext<'_>,
    name: &FieldName,
    value: &str,
    salt: [u8; SEAL_SALT_BYTES],
    nonce: [u8; SEAL_NONCE_BYTES],
    commit: impl FnOnce(&[u8; SEAL_SALT_BYTES]) -> [u8; COMMITMENT_BYTES],
) -> Result<SealedField, SealError> {
    if value.len() > SEALED_VALUE_LEN_MAX {
        return Err(SealError::TooLong {
            name: *name,
            len: value.len(),
            max: SEALED_VALUE_LEN_MAX,
        });
    }
    let commitment = commit(&salt);
    let aad = associated_data(context, name, category, epoch, &commitment);
    let mut buffer = Vec::with_capacity(SEALED_CIPHERTEXT_LEN_MIN + value.len());
    buffer.extend_from_slice(&salt);
    buffer.extend_from_slice(value.as_bytes());
    let cipher = cipher(key);
    if cipher
        .encrypt_in_place(&Nonce::<Aes256Gcm>::from(nonce), &aad, &mut buffer)
        .is_err()
    {
        buffer.zeroize();
        return Err(SealError::Cipher { name: *name });
    }
    debug_assert_eq!(buffer.len(), SEALED_CIPHERTEXT_LEN_MIN + value.len());
    Ok(SealedField {
        name: *name,
        category: *category,
        epoch,
        commitment,
        nonce,
        ciphertext: buffer,
    })
}

/// Opens `field` with `key` (the field key its entry records for its category and epoch, once
/// unwrapped), as sealed in the entry `context` names.
///
/// Returns the value only if it authenticates and matches the field's commitment: never a
/// value that was altered, moved, or recorded with a false commitment.
pub fn open(
    key: &FieldKey,
    field: &SealedField,
    context: &SealContext<'_>,
) -> Result<Opened, OpenError> {
    let len = field.ciphertext.len();
    if !(SEALED_CIPHERTEXT_LEN_MIN..=SEALED_CIPHERTEXT_LEN_MAX).contains(&len) {
        return Err(OpenError::Length {
            name: field.name,
            len,
        });
    }
    let aad = associated_data(
        context,
        &field.name,
        &field.category,
        field.epoch,
        &field.commitment,
    );
    let mut buffer = field.ciphertext.clone();
    if cipher(key)
        .decrypt_in_place(&Nonce::<Aes256Gcm>::from(field.nonce), &aad, &mut buffer)
        .is_err()
    {
        return Err(OpenError::Authentication { name: field.name });
    }
    // The length was checked above, so the plaintext holds the whole salt.
    let mut salt = [0u8; SEAL_SALT_BYTES];
    salt.copy_from_slice(&buffer[..SEAL_SALT_BYTES]);
    let value = match String::from_utf8(buffer.split_off(SEAL_SALT_BYTES)) {
        Ok(value) => value,
        Err(error) => {
            error.into_bytes().zeroize();
            return Err(OpenError::NotText { name: field.name });
        }
    };
    if commitment(&field.category, &field.name, &salt, &value) != field.commitment {
        return Err(OpenError::CommitmentMismatch { name: field.name });
    }
    Ok(Opened { value, salt })
}

/// The cipher for a key. (AES key expansion per call costs far less than a field's hashing.)
fn cipher(key: &FieldKey) -> Aes256Gcm {
    Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> FieldName {
        FieldName::new(text).unwrap()
    }

    const CONTEXT: SealContext<'static> = SealContext {
        chain_id: "shop",
        entry_id: "order-1",
    };

    #[test]
    fn a_lying_commitment_is_caught_on_open() {
        let key = FieldKey::from_bytes([9; 32]);
        let pii = Category::customer_pii();
        let email = name("email");
        let value = "ada@example.com";
        // The sealer commits to another value, and authenticates that false commitment.
        let lie = seal_with(
            &key,
            &pii,
            1,
            &CONTEXT,
            &email,
            value,
            [1; SEAL_SALT_BYTES],
            [2; SEAL_NONCE_BYTES],
            |salt| commitment(&pii, &email, salt, "someone@else.org"),
        )
        .unwrap();
        let error = open(&key, &lie, &CONTEXT).unwrap_err();
        assert_eq!(error, OpenError::CommitmentMismatch { name: email });
        assert_eq!(
            error.to_string(),
            "sealed field 'email' opened, but its value does not match its commitment on the chain: it was sealed with a false commitment"
        );
    }

    #[test]
    fn a_value_that_is_not_text_is_refused() {
        // Seal bytes that are not UTF-8 the way a foreign client could.
        let key = FieldKey::from_bytes([9; 32]);
        let pii = Category::customer_pii();
        let city = name("city");
        let salt = [3; SEAL_SALT_BYTES];
        let nonce = [4; SEAL_NONCE_BYTES];
        let commitment = [5; COMMITMENT_BYTES];
        let aad = associated_data(&CONTEXT, &city, &pii, 1, &commitment);
        let mut buffer = salt.to_vec();
        buffer.extend_from_slice(&[0xff, 0xfe]);
        cipher(&key)
            .encrypt_in_place(&Nonce::<Aes256Gcm>::from(nonce), &aad, &mut buffer)
            .unwrap();
        let field = SealedField {
            name: city,
            category: pii,
            epoch: 1,
            commitment,
            nonce,
            ciphertext: buffer,
        };
        assert_eq!(
            open(&key, &field, &CONTEXT).unwrap_err().to_string(),
            "sealed field 'city' opened, but its value is not UTF-8 text"
        );
    }

    #[test]
    fn commitment_parts_are_unambiguous() {
        let pii = Category::customer_pii();
        let salt = [0; SEAL_SALT_BYTES];
        assert_ne!(
            commitment(&pii, &name("a"), &salt, "bc"),
            commitment(&pii, &name("ab"), &salt, "c")
        );
    }
}
