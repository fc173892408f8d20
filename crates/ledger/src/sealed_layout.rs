//! How an entry's sealed fields are written on the chain (postcard): the long layout every
//! field first had, the short one fields sealed with a derived nonce take, and the grouped one
//! of fields sealed together ([`SealedGroup`]).
//!
//! An order's customer data is seven fields of one category and epoch. In the long layout each
//! field repeats the category and epoch and carries its own random nonce: 26 bytes a field that
//! every validator hashes, sends, stores and decodes. A field's nonce is now derived from its
//! commitment ([`derived_nonce`]), so a reader computes it, and when every field of an entry shares
//! one category and epoch and has the derived nonce, the entry writes them once:
//!
//! ```text
//! long:  count, then per field: name, category, epoch, commitment, nonce, ciphertext
//! short: 1, 0, then one byte string:
//!        category (u8 length, bytes), epoch (u32 LE), count (u8),
//!        per field: name (u8 length, bytes), commitment (32 bytes), ciphertext (u16 LE length, bytes)
//! ```
//!
//! Fields sealed together are written in one byte string too, told from the short layout by its
//! first byte (0, where the short layout starts with the category's length, never 0):
//!
//! ```text
//! grouped: 1, 0, then one byte string:
//!          0, group count (varint),
//!          per group: category (varint length, bytes), epoch (u32 LE), name count (varint),
//!          per name: (varint length, bytes), then commitment (32 bytes),
//!          ciphertext (varint length, bytes)
//! ```
//!
//! The varints are LEB128, written and accepted in their shortest form only; every length a
//! group has fits them, so writing never fails, and the entry's check bounds what it holds.
//!
//! The long and the short layouts are told apart by the byte after the count: in the long layout
//! it starts the first field's name, whose length is never 0. Which layout an entry takes follows from its fields
//! (the short one whenever it can hold them), so each entry has one encoding, and a decoder
//! refuses the long layout for fields the short one holds: a block cannot carry an entry in bytes
//! other than the ones its signature and hashes were computed over. Entries written before the
//! short layout have random nonces and keep their bytes.
//!
//! JSON, read by people and API clients, always carries every field whole.

use std::fmt;

use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, SerializeTuple};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::sealed::{
    byte_string, Category, FieldName, SealKey, Sealed, SealedField, SealedGroup, CATEGORY_LEN_MAX,
    COMMITMENT_BYTES, FIELD_NAME_LEN_MAX, SEAL_NONCE_BYTES,
};

/// Most fields the short layout holds (its count is one byte); an entry may have far fewer
/// (`SEALED_FIELDS_PER_ENTRY_MAX`), and more are written long, to be refused by the entry's check.
const SHORT_FIELDS_MAX: usize = u8::MAX as usize;

/// Longest ciphertext the short layout holds (its length is two bytes); every valid ciphertext
/// is far shorter (`SEALED_CIPHERTEXT_LEN_MAX`).
const SHORT_CIPHERTEXT_LEN_MAX: usize = u16::MAX as usize;

/// What the long layout's first field is read as, one part at a time: the name's length, its
/// bytes (at most [`FIELD_NAME_LEN_MAX`]), then category, epoch, commitment, nonce, ciphertext.
const LONG_FIRST_FIELD_PARTS_MAX: usize = 1 + FIELD_NAME_LEN_MAX + 5;

/// The nonce of a field sealed with a derived nonce: the first bytes of its commitment.
///
/// The commitment is a hash of the field's value and of a salt derived from the field key and
/// the field's place (chain, entry, name, category, epoch), so under one key two different fields,
/// or one field with two values, get different nonces, as likely to collide as random ones; only
/// the same value sealed again in the same place repeats its nonce, and then its ciphertext.
pub fn derived_nonce(commitment: &[u8; COMMITMENT_BYTES]) -> [u8; SEAL_NONCE_BYTES] {
    let mut nonce = [0u8; SEAL_NONCE_BYTES];
    nonce.copy_from_slice(&commitment[..SEAL_NONCE_BYTES]);
    nonce
}

/// The category and epoch the short layout writes once for `fields`, if it can hold them: at
/// least one field and at most [`SHORT_FIELDS_MAX`], all of one category and epoch, each with its
/// derived nonce and a ciphertext of at most [`SHORT_CIPHERTEXT_LEN_MAX`] bytes.
fn short_form(fields: &[SealedField]) -> Option<(Category, u32)> {
    let first = fields.first()?;
    let holds = fields.len() <= SHORT_FIELDS_MAX
        && fields.iter().all(|field| {
            field.category == first.category
                && field.epoch == first.epoch
                && field.nonce == derived_nonce(&field.commitment)
                && field.ciphertext.len() <= SHORT_CIPHERTEXT_LEN_MAX
        });
    holds.then_some((first.category, first.epoch))
}

/// The short layout's byte string for `fields`, which [`short_form`] found it holds.
fn short_bytes(fields: &[SealedField], category: &Category, epoch: u32) -> Vec<u8> {
    let len = 1
        + category.as_str().len()
        + 4
        + 1
        + fields
            .iter()
            .map(|field| {
                1 + field.name.as_str().len() + COMMITMENT_BYTES + 2 + field.ciphertext.len()
            })
            .sum::<usize>();
    let mut bytes = Vec::with_capacity(len);
    let push_name = |bytes: &mut Vec<u8>, name: &str| {
        bytes.push(name.len() as u8);
        bytes.extend_from_slice(name.as_bytes());
    };
    push_name(&mut bytes, category.as_str());
    bytes.extend_from_slice(&epoch.to_le_bytes());
    bytes.push(fields.len() as u8);
    for field in fields {
        push_name(&mut bytes, field.name.as_str());
        bytes.extend_from_slice(&field.commitment);
        bytes.extend_from_slice(&(field.ciphertext.len() as u16).to_le_bytes());
        bytes.extend_from_slice(&field.ciphertext);
    }
    debug_assert_eq!(bytes.len(), len);
    bytes
}

/// Reads the short layout's byte string: every byte used, every name checked.
fn parse_short(bytes: &[u8]) -> Result<Vec<SealedField>, String> {
    let mut reader = Reader {
        rest: bytes,
        layout: "short sealed fields",
    };
    let len = reader.take(1, "the category's length")?[0] as usize;
    let category =
        Category::new(reader.text(len, "the category")?).map_err(|error| error.to_string())?;
    let epoch = u32::from_le_bytes(reader.take(4, "the epoch")?.try_into().expect("4 bytes"));
    let count = reader.take(1, "the field count")?[0] as usize;
    if count == 0 {
        return Err("short sealed fields hold no field".into());
    }
    let mut fields = Vec::with_capacity(count);
    for _ in 0..count {
        let len = reader.take(1, "a field name's length")?[0] as usize;
        let name =
            FieldName::new(reader.text(len, "a field name")?).map_err(|error| error.to_string())?;
        let commitment: [u8; COMMITMENT_BYTES] = reader
            .take(COMMITMENT_BYTES, "a commitment")?
            .try_into()
            .expect("a commitment's length");
        let len = u16::from_le_bytes(
            reader
                .take(2, "a ciphertext's length")?
                .try_into()
                .expect("2 bytes"),
        );
        let ciphertext = reader.take(len as usize, "a ciphertext")?.to_vec();
        fields.push(SealedField {
            name,
            category,
            epoch,
            commitment,
            nonce: derived_nonce(&commitment),
            ciphertext,
        });
    }
    reader.finish()?;
    Ok(fields)
}

/// The first byte of the grouped layout's byte string.
const GROUPED_MARK: u8 = 0;

/// Most bytes of a LEB128 varint of a `u64`.
const VARINT_BYTES_MAX: usize = 10;

/// Appends `value` as a LEB128 varint, shortest form.
fn push_varint(bytes: &mut Vec<u8>, value: usize) {
    let mut value = value as u64;
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

/// The grouped layout's byte string for `groups` (at least one).
fn grouped_bytes(groups: &[SealedGroup]) -> Vec<u8> {
    let len = 2 + groups
        .iter()
        .map(|group| {
            2 + group.category.as_str().len()
                + 4
                + 1
                + group
                    .names
                    .iter()
                    .map(|name| 1 + name.as_str().len())
                    .sum::<usize>()
                + COMMITMENT_BYTES
                + 2
                + group.ciphertext.len()
        })
        .sum::<usize>();
    let mut bytes = Vec::with_capacity(len);
    bytes.push(GROUPED_MARK);
    push_varint(&mut bytes, groups.len());
    let push_name = |bytes: &mut Vec<u8>, name: &str| {
        push_varint(bytes, name.len());
        bytes.extend_from_slice(name.as_bytes());
    };
    for group in groups {
        push_name(&mut bytes, group.category.as_str());
        bytes.extend_from_slice(&group.epoch.to_le_bytes());
        push_varint(&mut bytes, group.names.len());
        for name in &group.names {
            push_name(&mut bytes, name.as_str());
        }
        bytes.extend_from_slice(&group.commitment);
        push_varint(&mut bytes, group.ciphertext.len());
        bytes.extend_from_slice(&group.ciphertext);
    }
    bytes
}

/// A reader of the short or grouped layout's byte string that fails, naming what it was
/// reading, rather than read past its end.
struct Reader<'a> {
    rest: &'a [u8],
    layout: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], String> {
        if self.rest.len() < len {
            return Err(format!(
                "{} end inside {what} ({len} bytes wanted, {} left)",
                self.layout,
                self.rest.len()
            ));
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    /// A LEB128 varint in its shortest form, at most `max`.
    fn varint(&mut self, what: &str, max: usize) -> Result<usize, String> {
        let mut value: u64 = 0;
        for index in 0..VARINT_BYTES_MAX {
            let byte = self.take(1, what)?[0];
            let bits = u64::from(byte & 0x7f);
            if index == VARINT_BYTES_MAX - 1 && bits > 1 {
                return Err(format!("{}: {what} overflows", self.layout));
            }
            value |= bits << (7 * index);
            if byte & 0x80 == 0 {
                if index > 0 && byte == 0 {
                    return Err(format!(
                        "{}: {what} is not in its shortest form",
                        self.layout
                    ));
                }
                return match usize::try_from(value) {
                    Ok(value) if value <= max => Ok(value),
                    _ => Err(format!(
                        "{}: {what} is {value} (at most {max})",
                        self.layout
                    )),
                };
            }
        }
        Err(format!("{}: {what} overflows", self.layout))
    }

    fn text(&mut self, len: usize, what: &str) -> Result<&'a str, String> {
        let layout = self.layout;
        std::str::from_utf8(self.take(len, what)?)
            .map_err(|_| format!("{layout}: {what} is not UTF-8"))
    }

    fn finish(self) -> Result<(), String> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} have {} bytes past their end",
                self.layout,
                self.rest.len()
            ))
        }
    }
}

/// Reads the grouped layout's byte string, after its mark: every byte used, every name checked.
/// Counts and lengths are bounded by what the byte string can hold, so a forged count reserves
/// nothing; the entry's check bounds them further.
fn parse_groups(bytes: &[u8]) -> Result<Vec<SealedGroup>, String> {
    let mut reader = Reader {
        rest: bytes,
        layout: "grouped sealed fields",
    };
    let count = reader.varint("the group count", bytes.len())?;
    if count == 0 {
        return Err("grouped sealed fields hold no group".into());
    }
    let mut groups = Vec::new();
    for _ in 0..count {
        let len = reader.varint("a category's length", CATEGORY_LEN_MAX)?;
        let category =
            Category::new(reader.text(len, "a category")?).map_err(|error| error.to_string())?;
        let epoch = u32::from_le_bytes(reader.take(4, "an epoch")?.try_into().expect("4 bytes"));
        let names_count = reader.varint("a group's field count", reader.rest.len())?;
        if names_count == 0 {
            return Err(format!(
                "grouped sealed fields: the group of {category} epoch {epoch} holds no field"
            ));
        }
        let mut names = Vec::new();
        for _ in 0..names_count {
            let len = reader.varint("a field name's length", FIELD_NAME_LEN_MAX)?;
            names.push(
                FieldName::new(reader.text(len, "a field name")?)
                    .map_err(|error| error.to_string())?,
            );
        }
        let commitment: [u8; COMMITMENT_BYTES] = reader
            .take(COMMITMENT_BYTES, "a commitment")?
            .try_into()
            .expect("a commitment's length");
        let len = reader.varint("a ciphertext's length", reader.rest.len())?;
        let ciphertext = reader.take(len, "a ciphertext")?.to_vec();
        groups.push(SealedGroup {
            category,
            epoch,
            names,
            commitment,
            ciphertext,
        });
    }
    reader.finish()?;
    Ok(groups)
}

/// A byte string written as one (postcard: a length, then the bytes).
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// How JSON writes an entry's sealed fields: the fields sealed one by one as an array (as they
/// always were), groups under `"groups"`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum SealedJson {
    Fields(Vec<SealedField>),
    Groups { groups: Vec<SealedGroup> },
}

/// Writes groups in the grouped layout, fields in the short layout when it holds them, else in
/// the long one; JSON always whole. For `#[serde(with = "crate::sealed_layout")]` on
/// `EntryDraft::sealed`.
pub fn serialize<S: Serializer>(sealed: &Sealed, serializer: S) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        return match sealed {
            Sealed::Fields(fields) => fields.serialize(serializer),
            Sealed::Groups(groups) => {
                #[derive(Serialize)]
                struct GroupsRef<'a> {
                    groups: &'a [SealedGroup],
                }
                GroupsRef { groups }.serialize(serializer)
            }
        };
    }
    let fields = match sealed {
        Sealed::Fields(fields) => fields,
        Sealed::Groups(groups) if groups.is_empty() => {
            return serializer.serialize_seq(Some(0))?.end()
        }
        Sealed::Groups(groups) => {
            let bytes = grouped_bytes(groups);
            let mut seq = serializer.serialize_seq(Some(1))?;
            seq.serialize_element(&ShortMark(&bytes))?;
            return seq.end();
        }
    };
    match short_form(fields) {
        Some((category, epoch)) => {
            let bytes = short_bytes(fields, &category, epoch);
            let mut seq = serializer.serialize_seq(Some(1))?;
            seq.serialize_element(&ShortMark(&bytes))?;
            seq.end()
        }
        None => fields.serialize(serializer),
    }
}

/// The one element of the short layout: a 0 where the long layout has a name's length, then the
/// byte string.
struct ShortMark<'a>(&'a [u8]);

impl Serialize for ShortMark<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(2)?;
        tuple.serialize_element(&0u32)?;
        tuple.serialize_element(&Bytes(self.0))?;
        tuple.end()
    }
}

/// Reads what [`serialize`] wrote, refusing fields in the long layout that the short one holds.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Sealed, D::Error> {
    if deserializer.is_human_readable() {
        return Ok(match SealedJson::deserialize(deserializer)? {
            SealedJson::Fields(fields) => Sealed::Fields(fields),
            SealedJson::Groups { groups } => Sealed::Groups(groups),
        });
    }
    deserializer.deserialize_seq(FieldsVisitor)
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Sealed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sealed fields")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let first = match seq.next_element_seed(FirstSeed)? {
            None => return Ok(Sealed::default()),
            Some(First::Short(sealed)) => {
                if seq.next_element::<SealedField>()?.is_some() {
                    return Err(A::Error::custom(
                        "short sealed fields followed by more fields",
                    ));
                }
                return Ok(sealed);
            }
            Some(First::Long(field)) => field,
        };
        let mut fields = vec![first];
        while let Some(field) = seq.next_element::<SealedField>()? {
            fields.push(field);
        }
        if short_form(&fields).is_some() {
            return Err(A::Error::custom(
                "sealed fields written long that the short layout holds: not their encoding",
            ));
        }
        Ok(Sealed::Fields(fields))
    }
}

/// The first element: the short or grouped layout whole, or the long layout's first field.
enum First {
    Short(Sealed),
    Long(SealedField),
}

struct FirstSeed;

impl<'de> DeserializeSeed<'de> for FirstSeed {
    type Value = First;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<First, D::Error> {
        deserializer.deserialize_tuple(LONG_FIRST_FIELD_PARTS_MAX, FirstVisitor)
    }
}

struct FirstVisitor;

impl<'de> Visitor<'de> for FirstVisitor {
    type Value = First;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sealed field")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut parts: A) -> Result<First, A::Error> {
        let missing = || A::Error::custom("a sealed field ends early");
        let lead: u32 = parts.next_element()?.ok_or_else(missing)?;
        if lead == 0 {
            return parts
                .next_element_seed(ShortSeed)?
                .map(First::Short)
                .ok_or_else(missing);
        }
        // The long layout: `lead` is the length of the first field's name.
        let len = lead as usize;
        if len > FIELD_NAME_LEN_MAX {
            return Err(A::Error::custom(format!(
                "field name is {len} bytes long (at most {FIELD_NAME_LEN_MAX})"
            )));
        }
        let mut name = [0u8; FIELD_NAME_LEN_MAX];
        for byte in &mut name[..len] {
            *byte = parts.next_element()?.ok_or_else(missing)?;
        }
        let name = std::str::from_utf8(&name[..len])
            .map_err(|_| A::Error::custom("a field name is not UTF-8"))?;
        let name = FieldName::new(name).map_err(A::Error::custom)?;
        let category: Category = parts.next_element()?.ok_or_else(missing)?;
        let epoch: u32 = parts.next_element()?.ok_or_else(missing)?;
        let commitment: [u8; COMMITMENT_BYTES] = parts.next_element()?.ok_or_else(missing)?;
        let nonce: [u8; SEAL_NONCE_BYTES] = parts.next_element()?.ok_or_else(missing)?;
        let Ciphertext(ciphertext) = parts.next_element()?.ok_or_else(missing)?;
        Ok(First::Long(SealedField {
            name,
            category,
            epoch,
            commitment,
            nonce,
            ciphertext,
        }))
    }
}

/// A ciphertext as the long layout writes it.
struct Ciphertext(Vec<u8>);

impl<'de> Deserialize<'de> for Ciphertext {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        byte_string::deserialize(deserializer).map(Ciphertext)
    }
}

struct ShortSeed;

impl<'de> DeserializeSeed<'de> for ShortSeed {
    type Value = Sealed;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_bytes(ShortVisitor)
    }
}

struct ShortVisitor;

impl<'de> Visitor<'de> for ShortVisitor {
    type Value = Sealed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("short or grouped sealed fields")
    }

    fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Self::Value, E> {
        match bytes.split_first() {
            Some((&GROUPED_MARK, groups)) => parse_groups(groups).map(Sealed::Groups),
            _ => parse_short(bytes).map(Sealed::Fields),
        }
        .map_err(E::custom)
    }
}

/// An entry's sealed fields and seal keys as its encoding ends with them, borrowed: what a chain
/// hashes apart and finds again in a block.
#[derive(Serialize)]
pub struct SealedPartRef<'a> {
    #[serde(with = "crate::sealed_layout")]
    pub fields: &'a Sealed,
    pub keys: &'a [SealKey],
}

/// [`SealedPartRef`] read back.
#[derive(Deserialize, PartialEq, Eq, Debug)]
pub struct SealedPart {
    #[serde(with = "crate::sealed_layout")]
    pub fields: Sealed,
    pub keys: Vec<SealKey>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, seed: u8, derived: bool, len: usize) -> SealedField {
        let commitment = [seed; COMMITMENT_BYTES].map(|byte| byte.wrapping_mul(31));
        SealedField {
            name: FieldName::new(name).unwrap(),
            category: Category::customer_pii(),
            epoch: 3,
            commitment,
            nonce: if derived {
                derived_nonce(&commitment)
            } else {
                [seed ^ 0x55; SEAL_NONCE_BYTES]
            },
            ciphertext: (0..len).map(|i| i as u8 ^ seed).collect(),
        }
    }

    /// The entry's two last parts, as `EntryDraft` writes them.
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Entry {
        #[serde(with = "crate::sealed_layout")]
        sealed: Sealed,
        tail: u8,
    }

    fn round_trip(fields: Vec<SealedField>) -> Vec<u8> {
        round_trip_sealed(Sealed::Fields(fields))
    }

    fn round_trip_sealed(sealed: Sealed) -> Vec<u8> {
        let entry = Entry { sealed, tail: 0xAB };
        let bytes = postcard::to_stdvec(&entry).unwrap();
        assert_eq!(postcard::from_bytes::<Entry>(&bytes).unwrap(), entry);
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), entry);
        bytes
    }

    #[test]
    fn fields_with_random_nonces_keep_the_long_layout_byte_for_byte() {
        for fields in [
            vec![],
            vec![field("email", 1, false, 30)],
            vec![field("email", 1, false, 30), field("zip", 2, false, 21)],
            // One derived nonce among random ones does not make the short layout.
            vec![field("email", 1, true, 30), field("zip", 2, false, 21)],
        ] {
            let bytes = round_trip(fields.clone());
            let mut long = postcard::to_stdvec(&fields).unwrap();
            long.push(0xAB);
            assert_eq!(bytes, long);
        }
    }

    #[test]
    fn derived_nonces_of_one_category_and_epoch_take_the_short_layout() {
        let fields = vec![
            field("customer_name", 1, true, 27),
            field("email", 2, true, 40),
            field("zip", 3, true, 16),
        ];
        let bytes = round_trip(fields.clone());
        let long = postcard::to_stdvec(&fields).unwrap().len() + 1;
        // The category, epoch and nonce of each field but the first: 26 bytes each, less the
        // short layout's header.
        assert_eq!(bytes[..2], [1, 0]);
        assert!(
            long - bytes.len() >= 3 * 26 - 24,
            "{long} -> {}",
            bytes.len()
        );
        // A field of another epoch, or another category, keeps them all long.
        let mut mixed = fields.clone();
        mixed[1].epoch = 4;
        mixed[1].nonce = derived_nonce(&mixed[1].commitment);
        let bytes = round_trip(mixed.clone());
        assert_eq!(bytes[0], 3);
        assert_ne!(bytes[1], 0);
    }

    #[test]
    fn fields_the_short_layout_holds_are_refused_written_long() {
        let fields = vec![field("email", 1, true, 30), field("zip", 2, true, 21)];
        let mut long = postcard::to_stdvec(&fields).unwrap();
        long.push(0xAB);
        let error = postcard::from_bytes::<Entry>(&long).unwrap_err();
        assert_eq!(error, postcard::Error::SerdeDeCustom);
    }

    #[test]
    fn malformed_short_layouts_are_errors_not_fields() {
        let fields = vec![field("email", 1, true, 30), field("zip", 2, true, 21)];
        let bytes = round_trip(fields.clone());
        // Every truncation fails, in the byte string or around it.
        for cut in 0..bytes.len() - 1 {
            assert!(
                postcard::from_bytes::<Entry>(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let short = short_bytes(&fields, &Category::customer_pii(), 3);
        assert_eq!(parse_short(&short).unwrap(), fields);
        let mut extra = short.clone();
        extra.push(0);
        assert_eq!(
            parse_short(&extra).unwrap_err(),
            "short sealed fields have 1 bytes past their end"
        );
        let mut no_fields = short[..1 + 12 + 4].to_vec();
        no_fields.push(0);
        assert_eq!(
            parse_short(&no_fields).unwrap_err(),
            "short sealed fields hold no field"
        );
        let mut bad_name = short.clone();
        bad_name[1 + 12 + 4 + 1 + 1] = b'E';
        assert_eq!(
            parse_short(&bad_name).unwrap_err(),
            "field name 'Email' may contain only lowercase letters, digits and '_'"
        );
        let mut long_count = short.clone();
        long_count[1 + 12 + 4] = 3;
        assert!(parse_short(&long_count)
            .unwrap_err()
            .starts_with("short sealed fields end inside a field name's length"));
    }

    fn group(category: Category, epoch: u32, names: &[&str], len: usize) -> SealedGroup {
        SealedGroup {
            category,
            epoch,
            names: names
                .iter()
                .map(|name| FieldName::new(name).unwrap())
                .collect(),
            commitment: [epoch as u8; COMMITMENT_BYTES],
            ciphertext: (0..len).map(|i| i as u8).collect(),
        }
    }

    #[test]
    fn groups_take_the_grouped_layout_and_read_back() {
        let order = group(
            Category::customer_pii(),
            3,
            &[
                "customer_name",
                "email",
                "phone",
                "address1",
                "city",
                "zip",
                "country",
            ],
            16 + 7 * 2 + 120,
        );
        let bytes = round_trip_sealed(Sealed::Groups(vec![order.clone()]));
        // count 1, lead 0, the byte string's length (2 bytes), the mark, one group.
        assert_eq!(bytes[..2], [1, 0]);
        assert_eq!(bytes[4], GROUPED_MARK);
        let names: usize = order.names.iter().map(|name| 1 + name.as_str().len()).sum();
        let expected = 4 + 2 + (1 + 12) + 4 + 1 + names + 32 + 2 + order.ciphertext.len() + 1;
        assert_eq!(bytes.len(), expected);
        // Several groups; a ciphertext long enough for a two-byte length.
        let two = vec![
            order.clone(),
            group(Category::partner_banking(), 0, &["iban"], 300),
        ];
        round_trip_sealed(Sealed::Groups(two.clone()));
        let short = grouped_bytes(&two);
        assert_eq!(parse_groups(&short[1..]).unwrap(), two);
        // No groups is no fields.
        let entry = Entry {
            sealed: Sealed::Groups(Vec::new()),
            tail: 0xAB,
        };
        let bytes = postcard::to_stdvec(&entry).unwrap();
        assert_eq!(bytes, [0, 0xAB]);
        assert_eq!(
            postcard::from_bytes::<Entry>(&bytes).unwrap().sealed,
            Sealed::default()
        );
        // JSON names the groups.
        let json = serde_json::to_value(&Entry {
            sealed: Sealed::Groups(vec![order]),
            tail: 0,
        })
        .unwrap();
        assert_eq!(json["sealed"]["groups"][0]["epoch"], 3);
    }

    #[test]
    fn malformed_grouped_layouts_are_errors_not_groups() {
        let groups = vec![group(Category::customer_pii(), 1, &["email", "zip"], 40)];
        let bytes = round_trip_sealed(Sealed::Groups(groups.clone()));
        for cut in 0..bytes.len() - 1 {
            assert!(
                postcard::from_bytes::<Entry>(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let whole = grouped_bytes(&groups);
        let body = &whole[1..];
        let mut extra = body.to_vec();
        extra.push(0);
        assert_eq!(
            parse_groups(&extra).unwrap_err(),
            "grouped sealed fields have 1 bytes past their end"
        );
        assert_eq!(
            parse_groups(&[0]).unwrap_err(),
            "grouped sealed fields hold no group"
        );
        // A count in a longer form than it needs.
        let mut padded = vec![0x81, 0x00];
        padded.extend_from_slice(&body[1..]);
        assert_eq!(
            parse_groups(&padded).unwrap_err(),
            "grouped sealed fields: the group count is not in its shortest form"
        );
        // A group naming no field.
        let mut empty = body[..1 + 1 + 12 + 4].to_vec();
        empty.push(0);
        assert_eq!(
            parse_groups(&empty).unwrap_err(),
            "grouped sealed fields: the group of customer-pii epoch 1 holds no field"
        );
        // A field name the rules refuse.
        let mut bad_name = body.to_vec();
        bad_name[1 + 1 + 12 + 4 + 1 + 1] = b'E';
        assert_eq!(
            parse_groups(&bad_name).unwrap_err(),
            "field name 'Email' may contain only lowercase letters, digits and '_'"
        );
        // A name longer than any field name.
        let mut long_name = body.to_vec();
        long_name[1 + 1 + 12 + 4 + 1] = 33;
        assert_eq!(
            parse_groups(&long_name).unwrap_err(),
            "grouped sealed fields: a field name's length is 33 (at most 32)"
        );
    }

    #[test]
    fn the_sealed_part_reads_back_what_the_entry_wrote() {
        let fields = vec![field("email", 1, true, 30), field("zip", 2, true, 21)];
        let keys = vec![SealKey {
            category: Category::customer_pii(),
            epoch: 3,
            encapped: [9; 32],
            wrapped: vec![1; 48],
        }];
        for sealed in [
            Sealed::Fields(fields),
            Sealed::Groups(vec![group(Category::customer_pii(), 3, &["email"], 40)]),
        ] {
            let bytes = postcard::to_stdvec(&SealedPartRef {
                fields: &sealed,
                keys: &keys,
            })
            .unwrap();
            assert_eq!(
                postcard::from_bytes::<SealedPart>(&bytes).unwrap(),
                SealedPart {
                    fields: sealed,
                    keys: keys.clone()
                }
            );
        }
    }
}
