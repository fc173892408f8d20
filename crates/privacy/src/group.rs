//! Sealing and opening an entry's fields of one category and epoch together
//! ([`SealedGroup`]): one AES-256-GCM of all the values, one tag, and one root over the fields'
//! commitments on the chain, where [`crate::seal`] writes a commitment and a tag per field.
//!
//! Each field's commitment is the one [`crate::seal`] computes ([`commitment`], salted by the
//! field key and the field's place). The group's commitment is their root: SHA-256 over a domain
//! tag, the category, then each field's name and commitment. The nonce is the first bytes of the
//! root ([`derived_nonce`]), and the associated data binds the chain, the entry, the category,
//! the epoch and the root, so the ciphertext opens only in its place, with its names, in their
//! order. The plaintext is each value after its length (two bytes, little-endian).
//!
//! Opening checks the tag, then recomputes every field's commitment and the root: a group sealed
//! with a false root does not open, so a value returned is always one a disclosure can prove.

use aes_gcm::aead::{AeadInOut, Nonce};
use aes_gcm::Aes256Gcm;
use tally_ledger::{
    derived_nonce, Category, FieldName, SealedGroup, COMMITMENT_BYTES, GROUP_VALUE_PREFIX_BYTES,
    SEALED_VALUE_LEN_MAX,
};
use zeroize::Zeroize;

use crate::encoding::Frame;
use crate::key::FieldKey;
use crate::seal::{cipher, commitment, field_salt, OpenError, Opened, SealContext, SealError};

/// Domain tag of [`group_root`].
const ROOT_TAG: &str = "sealed-group-root";

/// Domain tag of a group's associated data.
const GROUP_DATA_TAG: &str = "sealed-group";

/// The root over a group's field commitments, in the order of its names.
pub fn group_root(
    category: &Category,
    names: &[FieldName],
    commitments: &[[u8; COMMITMENT_BYTES]],
) -> [u8; COMMITMENT_BYTES] {
    debug_assert_eq!(names.len(), commitments.len());
    let mut frame = Frame::new(ROOT_TAG).part(category.as_str().as_bytes());
    for (name, commitment) in names.iter().zip(commitments) {
        frame = frame.part(name.as_str().as_bytes()).part(commitment);
    }
    frame.digest()
}

/// The associated data of a group: where it belongs, and its root (which binds its names).
fn group_data(
    context: &SealContext<'_>,
    category: &Category,
    epoch: u32,
    root: &[u8; COMMITMENT_BYTES],
) -> Vec<u8> {
    Frame::new(GROUP_DATA_TAG)
        .part(context.chain_id.as_bytes())
        .part(context.entry_id.as_bytes())
        .part(category.as_str().as_bytes())
        .number(epoch)
        .part(root)
        .finish()
}

/// Seals `fields` (name, value) of the entry `context` names together, under `key`, the field
/// key the entry records for `category` and `epoch`. Nothing random is drawn: sealing the same
/// values again in the same place gives the same group.
///
/// The caller gives each name once (the entry's check refuses a name twice) and at most
/// `SEALED_FIELDS_PER_ENTRY_MAX` of them.
pub fn seal_group<V: AsRef<str>>(
    key: &FieldKey,
    category: &Category,
    epoch: u32,
    context: &SealContext<'_>,
    fields: &[(FieldName, V)],
) -> Result<SealedGroup, SealError> {
    let mut names = Vec::with_capacity(fields.len());
    let mut commitments = Vec::with_capacity(fields.len());
    let mut len = 0;
    for (name, value) in fields {
        let value = value.as_ref();
        if value.len() > SEALED_VALUE_LEN_MAX {
            return Err(SealError::TooLong {
                name: *name,
                len: value.len(),
                max: SEALED_VALUE_LEN_MAX,
            });
        }
        let salt = field_salt(key, category, epoch, context, name);
        names.push(*name);
        commitments.push(commitment(category, name, &salt, value));
        len += GROUP_VALUE_PREFIX_BYTES + value.len();
    }
    let root = group_root(category, &names, &commitments);
    let mut buffer = Vec::with_capacity(SealedGroup::ciphertext_len_min(0) + len);
    for (_, value) in fields {
        let value = value.as_ref();
        // At most SEALED_VALUE_LEN_MAX, checked above, so it fits two bytes.
        buffer.extend_from_slice(&(value.len() as u16).to_le_bytes());
        buffer.extend_from_slice(value.as_bytes());
    }
    let aad = group_data(context, category, epoch, &root);
    if cipher(key)
        .encrypt_in_place(
            &Nonce::<Aes256Gcm>::from(derived_nonce(&root)),
            &aad,
            &mut buffer,
        )
        .is_err()
    {
        buffer.zeroize();
        return Err(SealError::Cipher {
            name: *names.first().expect("a group has fields"),
        });
    }
    Ok(SealedGroup {
        category: *category,
        epoch,
        names,
        commitment: root,
        ciphertext: buffer,
    })
}

/// One field of an opened group: its name, value and salt, and its own commitment, which a
/// disclosure of another field of the group carries.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OpenedField {
    /// The field's name.
    pub name: FieldName,
    /// Its value and its commitment's salt.
    pub opened: Opened,
    /// Its commitment.
    pub commitment: [u8; COMMITMENT_BYTES],
}

/// Opens `group` with `key` (the field key its entry records for its category and epoch, once
/// unwrapped), as sealed in the entry `context` names: every field, in the group's order.
///
/// Returns the values only if they authenticate and their commitments give the group's root.
pub fn open_group(
    key: &FieldKey,
    group: &SealedGroup,
    context: &SealContext<'_>,
) -> Result<Vec<OpenedField>, OpenError> {
    let (category, epoch) = (group.category, group.epoch);
    let len = group.ciphertext.len();
    let (min, max) = (
        SealedGroup::ciphertext_len_min(group.names.len()),
        SealedGroup::ciphertext_len_max(group.names.len()),
    );
    if group.names.is_empty() || !(min..=max).contains(&len) {
        return Err(OpenError::GroupLength {
            category,
            epoch,
            len,
            fields: group.names.len(),
        });
    }
    let aad = group_data(context, &category, epoch, &group.commitment);
    let mut buffer = group.ciphertext.clone();
    if cipher(key)
        .decrypt_in_place(
            &Nonce::<Aes256Gcm>::from(derived_nonce(&group.commitment)),
            &aad,
            &mut buffer,
        )
        .is_err()
    {
        return Err(OpenError::GroupAuthentication { category, epoch });
    }
    let fields = read_values(key, group, context, &buffer);
    buffer.zeroize();
    let fields = fields?;
    let commitments: Vec<_> = fields.iter().map(|field| field.commitment).collect();
    if group_root(&category, &group.names, &commitments) != group.commitment {
        return Err(OpenError::GroupCommitmentMismatch { category, epoch });
    }
    Ok(fields)
}

/// Reads the values of an authenticated plaintext, one per name, and commits to each.
fn read_values(
    key: &FieldKey,
    group: &SealedGroup,
    context: &SealContext<'_>,
    plaintext: &[u8],
) -> Result<Vec<OpenedField>, OpenError> {
    let (category, epoch) = (group.category, group.epoch);
    let layout = || OpenError::GroupLayout {
        category,
        epoch,
        fields: group.names.len(),
    };
    let mut rest = plaintext;
    let mut fields = Vec::with_capacity(group.names.len());
    for name in &group.names {
        let (prefix, tail) = rest
            .split_at_checked(GROUP_VALUE_PREFIX_BYTES)
            .ok_or_else(layout)?;
        let len = u16::from_le_bytes(prefix.try_into().expect("two bytes")) as usize;
        let (value, tail) = tail.split_at_checked(len).ok_or_else(layout)?;
        rest = tail;
        let value = std::str::from_utf8(value).map_err(|_| OpenError::NotText { name: *name })?;
        let salt = field_salt(key, &category, epoch, context, name);
        fields.push(OpenedField {
            name: *name,
            commitment: commitment(&category, name, &salt, value),
            opened: Opened {
                value: value.to_owned(),
                salt,
            },
        });
    }
    if !rest.is_empty() {
        return Err(layout());
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTEXT: SealContext<'static> = SealContext {
        chain_id: "shop",
        entry_id: "order-1",
    };

    fn name(text: &str) -> FieldName {
        FieldName::new(text).unwrap()
    }

    fn order() -> Vec<(FieldName, &'static str)> {
        vec![
            (name("customer_name"), "Ada Lovelace"),
            (name("email"), "ada@example.com"),
            (name("zip"), ""),
        ]
    }

    #[test]
    fn a_group_opens_to_its_values_in_order_and_nowhere_else() {
        let key = FieldKey::from_bytes([9; 32]);
        let pii = Category::customer_pii();
        let group = seal_group(&key, &pii, 2, &CONTEXT, &order()).unwrap();
        assert_eq!(
            group.ciphertext.len(),
            SealedGroup::ciphertext_len_min(3) + "Ada Lovelace".len() + "ada@example.com".len()
        );
        // Deterministic.
        assert_eq!(
            seal_group(&key, &pii, 2, &CONTEXT, &order()).unwrap(),
            group
        );
        let opened = open_group(&key, &group, &CONTEXT).unwrap();
        let values: Vec<_> = opened
            .iter()
            .map(|field| (field.name, field.opened.value.as_str()))
            .collect();
        assert_eq!(values, order());
        // Each field's commitment is the one a field sealed alone would have.
        let alone = crate::seal(&key, &pii, 2, &CONTEXT, &name("email"), "ada@example.com");
        assert_eq!(opened[1].commitment, alone.unwrap().commitment);

        // Another entry, chain, key or epoch: it does not open.
        let auth = OpenError::GroupAuthentication {
            category: pii,
            epoch: 2,
        };
        let elsewhere = SealContext {
            entry_id: "order-2",
            ..CONTEXT
        };
        assert_eq!(open_group(&key, &group, &elsewhere).unwrap_err(), auth);
        let stranger = FieldKey::from_bytes([8; 32]);
        assert_eq!(open_group(&stranger, &group, &CONTEXT).unwrap_err(), auth);
        let mut later = group.clone();
        later.epoch = 3;
        assert!(matches!(
            open_group(&key, &later, &CONTEXT),
            Err(OpenError::GroupAuthentication { epoch: 3, .. })
        ));
        // Names swapped, or one renamed: the root no longer matches.
        let mut swapped = group.clone();
        swapped.names.swap(0, 1);
        assert_eq!(
            open_group(&key, &swapped, &CONTEXT).unwrap_err(),
            OpenError::GroupCommitmentMismatch {
                category: pii,
                epoch: 2
            }
        );
        // A flipped ciphertext bit.
        let mut flipped = group.clone();
        flipped.ciphertext[0] ^= 1;
        assert_eq!(open_group(&key, &flipped, &CONTEXT).unwrap_err(), auth);
        // A ciphertext too short for its names.
        let mut cut = group.clone();
        cut.ciphertext
            .truncate(SealedGroup::ciphertext_len_min(3) - 1);
        assert_eq!(
            open_group(&key, &cut, &CONTEXT).unwrap_err().to_string(),
            "sealed fields of customer-pii epoch 2 have a ciphertext of 21 bytes, not one 3 fields can have"
        );
    }

    #[test]
    fn a_group_sealed_with_a_false_root_or_layout_does_not_open() {
        let key = FieldKey::from_bytes([9; 32]);
        let pii = Category::customer_pii();
        let names = [name("email"), name("zip")];
        // A writer that authenticates a root of other commitments.
        let root = group_root(&pii, &names, &[[1; 32], [2; 32]]);
        let seal_raw = |plaintext: &[u8]| {
            let mut buffer = plaintext.to_vec();
            cipher(&key)
                .encrypt_in_place(
                    &Nonce::<Aes256Gcm>::from(derived_nonce(&root)),
                    &group_data(&CONTEXT, &pii, 1, &root),
                    &mut buffer,
                )
                .unwrap();
            SealedGroup {
                category: pii,
                epoch: 1,
                names: names.to_vec(),
                commitment: root,
                ciphertext: buffer,
            }
        };
        let lie = seal_raw(&[1, 0, b'a', 1, 0, b'b']);
        assert_eq!(
            open_group(&key, &lie, &CONTEXT).unwrap_err().to_string(),
            "sealed fields of customer-pii epoch 1 opened, but their values do not match their commitment on the chain: they were sealed with a false commitment"
        );
        // Values whose lengths do not add up to the plaintext.
        for plaintext in [&[1, 0, b'a', 5, 0, b'b'][..], &[1, 0, b'a', 1, 0, b'b', 0]] {
            assert_eq!(
                open_group(&key, &seal_raw(plaintext), &CONTEXT)
                    .unwrap_err()
                    .to_string(),
                "sealed fields of customer-pii epoch 1 opened, but their plaintext does not hold 2 values"
            );
        }
        // A value that is not text.
        assert_eq!(
            open_group(&key, &seal_raw(&[1, 0, 0xff, 0, 0]), &CONTEXT)
                .unwrap_err()
                .to_string(),
            "sealed field 'email' opened, but its value is not UTF-8 text"
        );
    }

    #[test]
    fn a_value_too_long_is_refused_before_sealing() {
        let key = FieldKey::from_bytes([9; 32]);
        let long = "x".repeat(SEALED_VALUE_LEN_MAX + 1);
        assert_eq!(
            seal_group(
                &key,
                &Category::customer_pii(),
                0,
                &CONTEXT,
                &[(name("note"), long.as_str())]
            )
            .unwrap_err()
            .to_string(),
            "sealed field 'note' is 1025 bytes long (at most 1024)"
        );
    }
}
