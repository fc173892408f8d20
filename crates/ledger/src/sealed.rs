//! Sealed fields: the sensitive parts of an entry (a customer's name, address, phone, e-mail; a
//! partner's bank details) as the ledger carries them, encrypted.
//!
//! This module knows only their shape: which key category and epoch a field is sealed under, its
//! name, the salted commitment to its value and the ciphertext, each bounded; and the entry's
//! [`SealKey`]s: the random key its fields were sealed with, wrapped to the public key of the
//! category's epoch, so that whoever writes an entry can seal without being able to read others'. Sealing and opening
//! (AES-256-GCM) live in the privacy crate; whether the category and epoch exist and may still be
//! used is the chain's business. A validator checks a sealed field without being able to read it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::echo;

/// Most sealed fields on one entry: an order's customer has a name, e-mail, phone and a few
/// address lines; 16 leaves room for billing and shipping addresses both.
pub const SEALED_FIELDS_PER_ENTRY_MAX: usize = 16;

/// Longest field name, in bytes ("customer_name", "address1", "iban").
pub const FIELD_NAME_LEN_MAX: usize = 32;

/// Longest key category name, in bytes ("customer-pii", "partner-banking").
pub const CATEGORY_LEN_MAX: usize = 32;

/// Longest plaintext value of a sealed field, in bytes. An address line or an IBAN is far
/// shorter; free-form notes do not belong in sealed fields.
pub const SEALED_VALUE_LEN_MAX: usize = 1024;

/// Bytes of the salt of each value's commitment, which makes it hiding: equal values (the same
/// city on many orders) have unrelated commitments. Derived from the field key and the field's
/// place, so it is not stored; fields sealed before it was derived carry it at the start of
/// their ciphertext.
pub const SEAL_SALT_BYTES: usize = 16;

/// Bytes of the AES-GCM authentication tag that ends each ciphertext.
pub const SEAL_TAG_BYTES: usize = 16;

/// Bytes of the AES-GCM nonce stored with each ciphertext.
pub const SEAL_NONCE_BYTES: usize = 12;

/// Bytes of a commitment (SHA-256).
pub const COMMITMENT_BYTES: usize = 32;

/// Bytes of an X25519 public key (the encapsulated key of a wrapped seal key).
pub const ENCAPPED_KEY_BYTES: usize = 32;

/// Longest wrapped seal key: a 32-byte key and a 16-byte tag, with room to spare for another
/// AEAD.
pub const WRAPPED_SEAL_KEY_LEN_MAX: usize = 64;

/// Shortest ciphertext: the tag of an empty value.
pub const SEALED_CIPHERTEXT_LEN_MIN: usize = SEAL_TAG_BYTES;

/// Longest ciphertext: the longest value and the tag, after a salt in fields sealed before salts
/// were derived.
pub const SEALED_CIPHERTEXT_LEN_MAX: usize =
    SEAL_SALT_BYTES + SEALED_VALUE_LEN_MAX + SEAL_TAG_BYTES;

/// Why a text is not a category or field name.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum NameError {
    /// The empty text.
    #[error("a {what} may not be empty")]
    Empty {
        /// "category" or "field name".
        what: &'static str,
    },
    /// Longer than its limit.
    #[error("{what} '{text}' is {len} bytes long (at most {max})")]
    TooLong {
        /// "category" or "field name".
        what: &'static str,
        /// The text, shortened for display.
        text: String,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character outside the allowed set.
    #[error("{what} '{text}' may contain only {allowed}")]
    Character {
        /// "category" or "field name".
        what: &'static str,
        /// The text, shortened and with hidden characters spelled out.
        text: String,
        /// The allowed characters, in words.
        allowed: &'static str,
    },
}

/// Checks `text` against a name's rules: non-empty, at most `max` bytes, ASCII lowercase letters
/// and digits plus `extra`.
fn check_name(
    text: &str,
    what: &'static str,
    max: usize,
    extra: char,
    allowed: &'static str,
) -> Result<(), NameError> {
    if text.is_empty() {
        return Err(NameError::Empty { what });
    }
    if text.len() > max {
        return Err(NameError::TooLong {
            what,
            text: echo(text),
            len: text.len(),
            max,
        });
    }
    if !text
        .chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == extra)
    {
        return Err(NameError::Character {
            what,
            text: echo(text),
            allowed,
        });
    }
    Ok(())
}

/// Bytes an [`Inline`] name holds: the longer of the two name limits.
const INLINE_NAME_BYTES: usize = 32;
const _: () =
    assert!(CATEGORY_LEN_MAX <= INLINE_NAME_BYTES && FIELD_NAME_LEN_MAX <= INLINE_NAME_BYTES);

/// A checked name kept in place, padded with zeros: no allocation to decode, clone or drop one.
///
/// Every sealed field carries a name and a category, and an entry with seven sealed fields is
/// decoded, cloned and dropped several times on its way into the chain; as `String`s that was
/// fourteen allocations each time. Names never contain a zero byte (their characters are
/// checked), so the zero padding marks the end, and comparing the padded bytes orders names as
/// their text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Inline([u8; INLINE_NAME_BYTES]);

impl Inline {
    /// `text`, which has been checked: at most [`INLINE_NAME_BYTES`] bytes, none of them zero.
    fn new(text: &str) -> Inline {
        let mut bytes = [0u8; INLINE_NAME_BYTES];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Inline(bytes)
    }

    fn as_str(&self) -> &str {
        let len = self
            .0
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(INLINE_NAME_BYTES);
        std::str::from_utf8(&self.0[..len]).expect("a checked name is ASCII")
    }
}

/// Reads a name as text, borrowed where the format allows, and checks it with `check`.
struct NameVisitor<T>(fn(&str) -> Result<T, NameError>);

impl<T> serde::de::Visitor<'_> for NameVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a name")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        (self.0)(text).map_err(E::custom)
    }
}

/// A key category: the kind of sensitive data a key protects, and so who may read it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Category(Inline);

impl Category {
    /// Customers' personal data: name, e-mail, phone, addresses.
    pub const CUSTOMER_PII: &'static str = "customer-pii";
    /// Partners' bank details.
    pub const PARTNER_BANKING: &'static str = "partner-banking";
    /// A consortium contract's private terms (a delivery address), readable by its parties.
    pub const CONTRACT_PRIVATE: &'static str = "contract-private";

    /// Validates a category name: 1 to [`CATEGORY_LEN_MAX`] bytes of lowercase ASCII letters,
    /// digits and '-'.
    pub fn new(text: &str) -> Result<Category, NameError> {
        check_name(
            text,
            "category",
            CATEGORY_LEN_MAX,
            '-',
            "lowercase letters, digits and '-'",
        )?;
        Ok(Category(Inline::new(text)))
    }

    /// The customer-pii category.
    pub fn customer_pii() -> Category {
        Category(Inline::new(Self::CUSTOMER_PII))
    }

    /// The partner-banking category.
    pub fn partner_banking() -> Category {
        Category(Inline::new(Self::PARTNER_BANKING))
    }

    /// The contract-private category.
    pub fn contract_private() -> Category {
        Category(Inline::new(Self::CONTRACT_PRIVATE))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<String> for Category {
    type Error = NameError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Category::new(&text)
    }
}

// Written as the text it is, so the bytes are those of a `String`.
impl Serialize for Category {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(NameVisitor(Category::new))
    }
}

impl From<Category> for String {
    fn from(category: Category) -> String {
        category.as_str().to_owned()
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Category").field(&self.as_str()).finish()
    }
}

/// The name of a sealed field within its entry ("customer_name", "address1").
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldName(Inline);

impl FieldName {
    /// Validates a field name: 1 to [`FIELD_NAME_LEN_MAX`] bytes of lowercase ASCII letters,
    /// digits and '_'.
    pub fn new(text: &str) -> Result<FieldName, NameError> {
        check_name(
            text,
            "field name",
            FIELD_NAME_LEN_MAX,
            '_',
            "lowercase letters, digits and '_'",
        )?;
        Ok(FieldName(Inline::new(text)))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<String> for FieldName {
    type Error = NameError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        FieldName::new(&text)
    }
}

// Written as the text it is, so the bytes are those of a `String`.
impl Serialize for FieldName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FieldName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(NameVisitor(FieldName::new))
    }
}

impl From<FieldName> for String {
    fn from(name: FieldName) -> String {
        name.as_str().to_owned()
    }
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FieldName").field(&self.as_str()).finish()
    }
}

/// One encrypted field of an entry.
///
/// `ciphertext` is AES-256-GCM of the value (of salt and value, in fields sealed before salts
/// were derived) under the category's key for `epoch`, with the tag at its end; `commitment` is a
/// salted hash of the value, so that the value can later be
/// disclosed to someone without the key and checked against what the chain recorded.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct SealedField {
    /// The field's name within the entry.
    pub name: FieldName,
    /// The key category it is sealed under.
    pub category: Category,
    /// The key epoch of that category.
    pub epoch: u32,
    /// Salted hash of the value.
    pub commitment: [u8; COMMITMENT_BYTES],
    /// The AES-GCM nonce.
    pub nonce: [u8; SEAL_NONCE_BYTES],
    /// The value encrypted, then the tag.
    #[serde(with = "byte_string")]
    pub ciphertext: Vec<u8>,
}

/// Bytes of the length (u16, little-endian) before each value in a [`SealedGroup`]'s plaintext.
pub const GROUP_VALUE_PREFIX_BYTES: usize = 2;

/// An entry's fields of one category and epoch sealed together, as [`SealedField`]s are one by
/// one: the way entries are sealed now, because an order's customer data is seven fields of one
/// category that are written, sent and read together.
///
/// `ciphertext` is one AES-256-GCM of the values (each after its length,
/// [`GROUP_VALUE_PREFIX_BYTES`]), in the order of `names`, with one tag at its end and the nonce
/// derived from `commitment`. `commitment` is the root over the fields' own salted commitments,
/// each computed as a [`SealedField`]'s is: one field can still be disclosed on its own, with
/// the other fields' commitments (which hide their values) as the path to the root. Against one
/// [`SealedField`] per value this saves, per field after the first, a 32-byte commitment and a
/// 16-byte tag.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct SealedGroup {
    /// The key category the fields are sealed under.
    pub category: Category,
    /// The key epoch of that category.
    pub epoch: u32,
    /// The fields' names, in the order of their values in the plaintext.
    pub names: Vec<FieldName>,
    /// The root over the fields' salted commitments.
    pub commitment: [u8; COMMITMENT_BYTES],
    /// The values encrypted, then the tag.
    #[serde(with = "byte_string")]
    pub ciphertext: Vec<u8>,
}

impl SealedGroup {
    /// Shortest ciphertext of this many fields: every value empty.
    pub fn ciphertext_len_min(fields: usize) -> usize {
        fields * GROUP_VALUE_PREFIX_BYTES + SEAL_TAG_BYTES
    }

    /// Longest ciphertext of this many fields: every value as long as allowed.
    pub fn ciphertext_len_max(fields: usize) -> usize {
        fields * (GROUP_VALUE_PREFIX_BYTES + SEALED_VALUE_LEN_MAX) + SEAL_TAG_BYTES
    }
}

/// An entry's sealed fields: one by one, as entries were first sealed and contracts' terms
/// still are, or in groups, one per category and epoch, as entries are sealed now. One entry
/// has one form or the other.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Sealed {
    /// Each field sealed on its own.
    Fields(Vec<SealedField>),
    /// Fields sealed together, one group per category and epoch.
    Groups(Vec<SealedGroup>),
}

impl Default for Sealed {
    fn default() -> Sealed {
        Sealed::Fields(Vec::new())
    }
}

impl Sealed {
    /// Whether the entry has no sealed field.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many sealed fields the entry has.
    pub fn len(&self) -> usize {
        match self {
            Sealed::Fields(fields) => fields.len(),
            Sealed::Groups(groups) => groups.iter().map(|group| group.names.len()).sum(),
        }
    }

    /// Each sealing (a field sealed alone, or a group) by its first field's name, its category
    /// and its epoch.
    pub fn sealings(&self) -> impl Iterator<Item = (&FieldName, &Category, u32)> {
        let fields = self
            .fields()
            .iter()
            .map(|field| (&field.name, &field.category, field.epoch));
        let groups = self
            .groups()
            .iter()
            .filter_map(|group| Some((group.names.first()?, &group.category, group.epoch)));
        fields.chain(groups)
    }

    /// Whether a field is sealed under `category` and `epoch`.
    pub fn uses(&self, category: &Category, epoch: u32) -> bool {
        self.sealings()
            .any(|(_, used, used_epoch)| used == category && used_epoch == epoch)
    }

    /// The fields sealed one by one (none if the entry's are grouped).
    pub fn fields(&self) -> &[SealedField] {
        match self {
            Sealed::Fields(fields) => fields,
            Sealed::Groups(_) => &[],
        }
    }

    /// The groups of fields (none if the entry's are sealed one by one).
    pub fn groups(&self) -> &[SealedGroup] {
        match self {
            Sealed::Fields(_) => &[],
            Sealed::Groups(groups) => groups,
        }
    }
}

/// The key an entry's fields of one category were sealed with, for holders of that category
/// epoch's secret (granted on the chain) only: an HPKE encapsulation to the epoch's public key
/// from which they derive it (`wrapped` empty), or, in entries sealed before, a random key
/// wrapped (HPKE) to that public key. One per (category, epoch) the entry's fields use; a writer
/// may reuse one for many entries.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct SealKey {
    /// The key category.
    pub category: Category,
    /// The category's key epoch, whose public key this is wrapped to.
    pub epoch: u32,
    /// The sender's ephemeral X25519 public key.
    pub encapped: [u8; ENCAPPED_KEY_BYTES],
    /// The wrapped key; empty when the key is derived from `encapped`.
    #[serde(with = "byte_string")]
    pub wrapped: Vec<u8>,
}

/// Ciphertexts written as one byte string rather than as a sequence of numbers.
///
/// The bytes are the same in both formats the system uses: postcard writes a sequence of `u8`
/// and a byte string alike (a length, then the bytes), and JSON writes a byte string as an array
/// of numbers. But a sequence goes through the serializer one byte at a time, and the ciphertexts
/// are most of an entry with sealed fields, which is encoded to be hashed, sent and stored
/// several times on its way into the chain.
pub mod byte_string {
    use std::fmt;

    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_byte_buf(Bytes)
    }

    /// Takes a byte string (postcard) or an array of numbers (JSON).
    struct Bytes;

    impl<'de> Visitor<'de> for Bytes {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("bytes")
        }

        fn visit_bytes<E: Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
            Ok(bytes.to_vec())
        }

        fn visit_byte_buf<E: Error>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(bytes)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            // The hint comes from the input: bounded so a forged length cannot reserve much.
            let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(byte) = seq.next_element()? {
                bytes.push(byte);
            }
            Ok(bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_encode_as_their_text_and_decode_checked() {
        // Entries stored and hashed before names were written without a clone must keep
        // their bytes: a name encodes exactly as the string it is.
        let category = Category::customer_pii();
        let name = FieldName::new("address1").unwrap();
        assert_eq!(
            postcard::to_stdvec(&category).unwrap(),
            postcard::to_stdvec("customer-pii").unwrap()
        );
        assert_eq!(
            postcard::to_stdvec(&name).unwrap(),
            postcard::to_stdvec("address1").unwrap()
        );
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"address1\"");
        let bytes = postcard::to_stdvec(&category).unwrap();
        assert_eq!(postcard::from_bytes::<Category>(&bytes).unwrap(), category);
        let bad = postcard::to_stdvec("Customer PII").unwrap();
        assert!(postcard::from_bytes::<Category>(&bad).is_err());
    }

    #[test]
    fn names_kept_in_place_order_and_print_as_their_text() {
        let texts = ["a", "ab", "abc", "address1", "address2", "b", "zip"];
        let names: Vec<FieldName> = texts.iter().map(|t| FieldName::new(t).unwrap()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(sorted, names, "padded names order as their text");
        let longest = "a".repeat(FIELD_NAME_LEN_MAX);
        assert_eq!(FieldName::new(&longest).unwrap().as_str(), longest);
        assert_eq!(format!("{:?}", names[3]), "FieldName(\"address1\")");
        assert_eq!(
            format!("{}", Category::partner_banking()),
            "partner-banking"
        );
        assert_eq!(
            serde_json::from_str::<Category>("\"Customer PII\"")
                .unwrap_err()
                .to_string(),
            "category 'Customer PII' may contain only lowercase letters, digits and '-' at line 1 column 14"
        );
        let category: Category = serde_json::from_value(serde_json::json!("customer-pii")).unwrap();
        assert_eq!(category, Category::customer_pii());
    }

    /// The field as it was derived before ciphertexts were written as byte strings.
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Before {
        name: String,
        category: String,
        epoch: u32,
        commitment: [u8; COMMITMENT_BYTES],
        nonce: [u8; SEAL_NONCE_BYTES],
        ciphertext: Vec<u8>,
    }

    #[test]
    fn ciphertexts_keep_their_encoding_in_postcard_and_json() {
        let before = Before {
            name: "email".into(),
            category: "customer-pii".into(),
            epoch: 3,
            commitment: [7; COMMITMENT_BYTES],
            nonce: [9; SEAL_NONCE_BYTES],
            ciphertext: (0..=255u8).chain(0..40).collect(),
        };
        let field = SealedField {
            name: FieldName::new("email").unwrap(),
            category: Category::customer_pii(),
            epoch: 3,
            commitment: before.commitment,
            nonce: before.nonce,
            ciphertext: before.ciphertext.clone(),
        };
        let bytes = postcard::to_stdvec(&field).unwrap();
        assert_eq!(bytes, postcard::to_stdvec(&before).unwrap());
        assert_eq!(postcard::from_bytes::<SealedField>(&bytes).unwrap(), field);
        let json = serde_json::to_string(&field).unwrap();
        assert_eq!(json, serde_json::to_string(&before).unwrap());
        assert_eq!(serde_json::from_str::<SealedField>(&json).unwrap(), field);
        // A truncated ciphertext is an error, not a shorter field.
        assert!(postcard::from_bytes::<SealedField>(&bytes[..bytes.len() - 1]).is_err());
    }
}
