//! Sealing and opening one field: AES-256-GCM of the value under the category's epoch key, with
//! the field's place (chain, entry, name, category, epoch) and its commitment as associated data.
//!
//! The commitment's salt is derived from the field key and the field's place, so it is not
//! stored: every sealed field is 16 bytes shorter than when the salt travelled in the ciphertext.
//! Fields sealed that way still open (see [`open`]).

use std::fmt;

use aes_gcm::aead::{AeadInOut, Key, KeyInit, Nonce};
use aes_gcm::Aes256Gcm;
#[cfg(test)]
use tally_ledger::SEAL_TAG_BYTES;
use tally_ledger::{
    derived_nonce, Category, FieldName, SealedField, COMMITMENT_BYTES, SEALED_CIPHERTEXT_LEN_MAX,
    SEALED_CIPHERTEXT_LEN_MIN, SEALED_VALUE_LEN_MAX, SEAL_SALT_BYTES,
};
use zeroize::Zeroize;

use crate::encoding::Frame;
use crate::key::FieldKey;

/// Domain tag of [`commitment`].
const COMMITMENT_TAG: &str = "commitment";

/// Domain tag of [`field_salt`].
const SALT_TAG: &str = "field-salt";

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
    /// A group's ciphertext is shorter than its fields' lengths and tag, or longer than their
    /// longest values, or the group names no field.
    #[error("sealed fields of {category} epoch {epoch} have a ciphertext of {len} bytes, not one {fields} fields can have")]
    GroupLength {
        /// The group's category.
        category: Category,
        /// The group's epoch.
        epoch: u32,
        /// The ciphertext's length.
        len: usize,
        /// How many fields the group names.
        fields: usize,
    },
    /// A group failed authentication: the wrong key, or the group was altered or moved.
    #[error(
        "sealed fields of {category} epoch {epoch} do not open with this key: wrong key, or the fields were altered or moved"
    )]
    GroupAuthentication {
        /// The group's category.
        category: Category,
        /// The group's epoch.
        epoch: u32,
    },
    /// A group decrypted, but its plaintext is not one value per name: whoever sealed it did not
    /// use this crate.
    #[error("sealed fields of {category} epoch {epoch} opened, but their plaintext does not hold {fields} values")]
    GroupLayout {
        /// The group's category.
        category: Category,
        /// The group's epoch.
        epoch: u32,
        /// How many fields the group names.
        fields: usize,
    },
    /// A group decrypted, but its values' commitments do not give the root on the chain.
    #[error("sealed fields of {category} epoch {epoch} opened, but their values do not match their commitment on the chain: they were sealed with a false commitment")]
    GroupCommitmentMismatch {
        /// The group's category.
        category: Category,
        /// The group's epoch.
        epoch: u32,
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

/// The salt of a field's commitment: SHA-256 over a domain tag, the field key, then the field's
/// place (chain, entry, name, category, epoch), each prefixed by its length, cut to
/// [`SEAL_SALT_BYTES`].
///
/// Only holders of the field key can compute it, so the commitment still hides the value (equal
/// values in different fields have unrelated commitments); the framing fixes where the key ends,
/// and the output is cut short, so nothing about it extends to another field's salt.
pub(crate) fn field_salt(
    key: &FieldKey,
    category: &Category,
    epoch: u32,
    context: &SealContext<'_>,
    name: &FieldName,
) -> [u8; SEAL_SALT_BYTES] {
    let digest = Frame::new(SALT_TAG)
        .part(key.as_bytes())
        .part(context.chain_id.as_bytes())
        .part(context.entry_id.as_bytes())
        .part(name.as_str().as_bytes())
        .part(category.as_str().as_bytes())
        .number(epoch)
        .digest();
    let mut salt = [0u8; SEAL_SALT_BYTES];
    salt.copy_from_slice(&digest[..SEAL_SALT_BYTES]);
    salt
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
/// The commitment's salt is derived (see [`field_salt`]), and so is the nonce: the first bytes of
/// the commitment ([`derived_nonce`]), which a reader computes, so it is not stored either. The
/// commitment is keyed by the salt, so under one key every other field, and every other value,
/// gets another nonce, as likely to collide as random ones (a writer should still draw a new key
/// well before 2^32 fields; [`crate::Sealer`] does after [`crate::FIELDS_PER_FIELD_KEY_MAX`]);
/// sealing one value again in the same place (a writer's retry) repeats the ciphertext, which tells
/// nothing new. The ciphertext is AES-256-GCM of the value, tag last, so its length is
/// [`SEALED_CIPHERTEXT_LEN_MIN`] plus the value's, within the bounds
/// `tally_ledger::EntryDraft::check` enforces. Nothing random is drawn.
pub fn seal(
    key: &FieldKey,
    category: &Category,
    epoch: u32,
    context: &SealContext<'_>,
    name: &FieldName,
    value: &str,
) -> Result<SealedField, SealError> {
    let salt = field_salt(key, category, epoch, context, name);
    seal_with(key, category, epoch, context, name, value, salt, |salt| {
        commitment(category, name, salt, value)
    })
}

/// [`seal`] with the commitment's salt given, and the commitment computed by `commit` (the true
/// one except in the test of a lying sealer).
#[allow(clippy::too_many_arguments)]
fn seal_with(
    key: &FieldKey,
    category: &Category,
    epoch: u32,
    context: &SealContext<'_>,
    name: &FieldName,
    value: &str,
    salt: [u8; SEAL_SALT_BYTES],
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
    let nonce = derived_nonce(&commitment);
    let aad = associated_data(context, name, category, epoch, &commitment);
    let mut buffer = Vec::with_capacity(SEALED_CIPHERTEXT_LEN_MIN + value.len());
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
///
/// A field sealed before salts were derived carries its salt before the value. The plaintext is
/// read both ways, and only a reading whose value matches the commitment is returned: the other
/// one would need a SHA-256 collision to match too.
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
    let derived = field_salt(key, &field.category, field.epoch, context, &field.name);
    let readings = [
        (derived, 0),
        // Sealed before salts were derived: the salt first, then the value.
        (
            buffer
                .get(..SEAL_SALT_BYTES)
                .and_then(|salt| salt.try_into().ok())
                .unwrap_or([0; SEAL_SALT_BYTES]),
            SEAL_SALT_BYTES,
        ),
    ];
    let mut text = false;
    for (salt, start) in readings {
        let Some(Ok(value)) = buffer.get(start..).map(std::str::from_utf8) else {
            continue;
        };
        text = true;
        if commitment(&field.category, &field.name, &salt, value) == field.commitment {
            let value = value.to_owned();
            buffer.zeroize();
            return Ok(Opened { value, salt });
        }
    }
    buffer.zeroize();
    if text {
        Err(OpenError::CommitmentMismatch { name: field.name })
    } else {
        Err(OpenError::NotText { name: field.name })
    }
}

/// The cipher for a key. (AES key expansion per call costs far less than a field's hashing.)
pub(crate) fn cipher(key: &FieldKey) -> Aes256Gcm {
    Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_ledger::SEAL_NONCE_BYTES;

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
        let nonce = [4; SEAL_NONCE_BYTES];
        let commitment = [5; COMMITMENT_BYTES];
        let aad = associated_data(&CONTEXT, &city, &pii, 1, &commitment);
        let mut buffer = vec![0xff, 0xfe];
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

    /// A field as it was sealed before salts were derived: a random salt in the ciphertext,
    /// before the value.
    fn sealed_with_salt_inside(key: &FieldKey, name: &FieldName, value: &str) -> SealedField {
        let pii = Category::customer_pii();
        let salt = [6; SEAL_SALT_BYTES];
        let nonce = [7; SEAL_NONCE_BYTES];
        let commitment = commitment(&pii, name, &salt, value);
        let aad = associated_data(&CONTEXT, name, &pii, 1, &commitment);
        let mut buffer = salt.to_vec();
        buffer.extend_from_slice(value.as_bytes());
        cipher(key)
            .encrypt_in_place(&Nonce::<Aes256Gcm>::from(nonce), &aad, &mut buffer)
            .unwrap();
        SealedField {
            name: *name,
            category: pii,
            epoch: 1,
            commitment,
            nonce,
            ciphertext: buffer,
        }
    }

    #[test]
    fn salts_are_derived_and_fields_sealed_with_the_salt_inside_still_open() {
        let key = FieldKey::from_bytes([9; 32]);
        let pii = Category::customer_pii();
        let email = name("email");
        let field = seal(&key, &pii, 1, &CONTEXT, &email, "ada@example.com").unwrap();
        assert_eq!(field.nonce, derived_nonce(&field.commitment));
        assert_eq!(
            field.ciphertext.len(),
            SEAL_TAG_BYTES + "ada@example.com".len()
        );
        let opened = open(&key, &field, &CONTEXT).unwrap();
        assert_eq!(opened.value, "ada@example.com");
        assert_eq!(opened.salt, field_salt(&key, &pii, 1, &CONTEXT, &email));
        // Equal values in two places: unrelated salts, so unrelated commitments.
        let elsewhere = SealContext {
            entry_id: "another-entry",
            ..CONTEXT
        };
        let other = seal(&key, &pii, 1, &elsewhere, &email, "ada@example.com").unwrap();
        assert_ne!(other.commitment, field.commitment);
        // Another key, the same place: another salt.
        let stranger = FieldKey::from_bytes([8; 32]);
        assert_ne!(
            field_salt(&stranger, &pii, 1, &CONTEXT, &email),
            opened.salt
        );

        // The older layout opens, to its own salt; a value of any length, the empty one too.
        for value in ["", "ada@example.com", "a value longer than sixteen bytes"] {
            let old = sealed_with_salt_inside(&key, &email, value);
            let opened = open(&key, &old, &CONTEXT).unwrap();
            assert_eq!(opened.value, value);
            assert_eq!(opened.salt, [6; SEAL_SALT_BYTES]);
        }
        // Neither reading is taken with a false commitment.
        let mut forged = sealed_with_salt_inside(&key, &email, "ada@example.com");
        forged.commitment = commitment(&pii, &email, &[6; SEAL_SALT_BYTES], "eve@example.com");
        assert!(matches!(
            open(&key, &forged, &CONTEXT),
            Err(OpenError::Authentication { .. })
        ));
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
