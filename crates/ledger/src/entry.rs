//! Journal entries: drafts as clients send them, and the checks that turn a
//! draft into a [`BalancedEntry`].
//!
//! The checks here need nothing but the draft itself (counts, lengths,
//! amounts, balance per currency). Checks that need the ledger's state, such as
//! whether an account exists or a period is closed, live in `ledger.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::account::AccountCode;
use crate::date::Date;
use crate::money::{format_amount, Currency};
use crate::sealed::{
    Category, FieldName, SealKey, Sealed, SealedField, SealedGroup, SEALED_CIPHERTEXT_LEN_MAX,
    SEALED_CIPHERTEXT_LEN_MIN, SEALED_FIELDS_PER_ENTRY_MAX, WRAPPED_SEAL_KEY_LEN_MAX,
};
use crate::text::{echo, first_control_or_bidi};

/// Longest entry id, in bytes. Ids are idempotency keys that clients derive
/// from their own ids ("order:2026/000123:invoice"); 64 bytes holds those and
/// keeps the index of committed ids small.
pub const ENTRY_ID_LEN_MAX: usize = 64;

/// Fewest postings in an entry: double entry needs a debit and a credit.
pub const POSTINGS_PER_ENTRY_MIN: usize = 2;

/// Most postings in an entry.
///
/// Checking and applying an entry is linear in its postings and every block
/// carries them, so the count must be bounded. An order with many lines is
/// booked with one posting per account and currency, which stays far below 64.
pub const POSTINGS_PER_ENTRY_MAX: usize = 64;

/// Longest description, in bytes: a line or a short paragraph for people
/// reading the journal, not a place for documents.
pub const DESCRIPTION_LEN_MAX: usize = 512;

/// Most references (order, invoice, trade ids) on one entry. An entry links a
/// handful of business documents; more would mean it should be split.
pub const REFERENCES_PER_ENTRY_MAX: usize = 16;

/// Longest reference kind, in bytes: a word such as "order" or "invoice".
pub const REFERENCE_KIND_LEN_MAX: usize = 32;

/// Longest reference value, in bytes: an external document number or URL-like
/// id from a marketplace, payment processor or ERP system.
pub const REFERENCE_VALUE_LEN_MAX: usize = 128;
/// The reference kind of an adjusting entry: its value is the id of the committed entry it
/// adjusts. The chain refuses one that names no committed entry, and links the two, so the
/// history of an entry lists its adjustments as it lists its reversal.
pub const ADJUSTS_REFERENCE: &str = "adjusts";

/// A client-chosen idempotency key: 1..=[`ENTRY_ID_LEN_MAX`] bytes of
/// `[A-Za-z0-9._:/-]`. A second entry with a committed id is refused, so a
/// client may safely resend an entry after a timeout.
///
/// It (de)serializes as a plain string and deserialization validates.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Deserialize)]
#[serde(try_from = "String")]
pub struct EntryId(String);

// Written by hand so serializing (every hashed entry) does not allocate.
impl Serialize for EntryId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Why an entry id was refused.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum EntryIdError {
    /// Empty text.
    #[error("entry id is empty")]
    Empty,
    /// Longer than [`ENTRY_ID_LEN_MAX`] bytes.
    #[error("entry id is {len} bytes long (at most {max})")]
    TooLong {
        /// Length of the rejected id in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character outside `[A-Za-z0-9._:/-]`.
    #[error("entry id '{text}' contains {character:?}; allowed are letters A-Z and a-z, digits and . _ : / -")]
    ForbiddenCharacter {
        /// The rejected id, shortened and with hidden characters spelled out.
        text: String,
        /// The first offending character.
        character: char,
    },
}

impl EntryId {
    /// Validates `text` as an entry id.
    pub fn new(text: &str) -> Result<EntryId, EntryIdError> {
        if text.is_empty() {
            return Err(EntryIdError::Empty);
        }
        if text.len() > ENTRY_ID_LEN_MAX {
            return Err(EntryIdError::TooLong {
                len: text.len(),
                max: ENTRY_ID_LEN_MAX,
            });
        }
        let allowed =
            |ch: char| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | ':' | '/' | '-');
        if let Some(character) = text.chars().find(|&ch| !allowed(ch)) {
            return Err(EntryIdError::ForbiddenCharacter {
                text: echo(text),
                character,
            });
        }
        Ok(EntryId(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for EntryId {
    type Err = EntryIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        EntryId::new(text)
    }
}

impl TryFrom<String> for EntryId {
    type Error = EntryIdError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        EntryId::new(&text)
    }
}

impl From<EntryId> for String {
    fn from(id: EntryId) -> String {
        id.0
    }
}

impl AsRef<str> for EntryId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Which column a posting goes to. Serialized in lower case ("debit").
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Left column: increases assets and expenses.
    Debit,
    /// Right column: increases liabilities, equity and revenue.
    Credit,
}

/// A word that is not a side.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("unknown side '{given}' (expected debit or credit)")]
pub struct ParseSideError {
    /// The rejected word.
    pub given: String,
}

impl Side {
    /// "debit" or "credit".
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Debit => "debit",
            Side::Credit => "credit",
        }
    }

    /// The other side; a reversal swaps every posting's side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Debit => Side::Credit,
            Side::Credit => Side::Debit,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Side {
    type Err = ParseSideError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "debit" => Ok(Side::Debit),
            "credit" => Ok(Side::Credit),
            _ => Err(ParseSideError { given: echo(text) }),
        }
    }
}

/// One line of an entry: an amount in minor units on one side of one account.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Posting {
    /// The account posted to.
    pub account: AccountCode,
    /// Debit or credit.
    pub side: Side,
    /// Minor units, greater than zero (see [`crate::parse_amount`]).
    pub amount: u64,
    /// The currency of `amount`.
    pub currency: Currency,
}

impl Posting {
    /// The same posting on the other side, as a reversal books it.
    pub fn mirrored(&self) -> Posting {
        Posting {
            side: self.side.opposite(),
            ..self.clone()
        }
    }
}

/// A link from an entry to a business document, e.g. kind "order", value
/// "2026-000123". Both parts are non-empty, bounded and free of control
/// characters.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Reference {
    /// What the value identifies: "order", "trade", "invoice", ...
    pub kind: String,
    /// The document's id in its own system.
    pub value: String,
}

/// An entry as a client proposes it. Nothing is checked until [`check`](Self::check).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct EntryDraft {
    /// The idempotency key.
    pub id: EntryId,
    /// The accounting date.
    pub date: Date,
    /// Free text for people reading the journal (may be empty).
    pub description: String,
    /// The debits and credits.
    pub postings: Vec<Posting>,
    /// Links to business documents.
    pub references: Vec<Reference>,
    /// The committed entry this one cancels, if it is a reversal.
    pub reverses: Option<EntryId>,
    /// Encrypted sensitive fields (customer name, address, ...), readable only with their
    /// category's key.
    /// Sealed in groups (one per category and epoch), or one by one as entries were first
    /// sealed (see `sealed_layout` for how each is written).
    #[serde(default, with = "crate::sealed_layout")]
    pub sealed: Sealed,
    /// The wrapped keys `sealed` was sealed with, one per (category, epoch) used.
    #[serde(default)]
    pub seal_keys: Vec<SealKey>,
}

/// Why a draft is not a valid entry on its own.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum EntryError {
    /// Fewer than [`POSTINGS_PER_ENTRY_MIN`] postings.
    #[error("an entry needs at least {POSTINGS_PER_ENTRY_MIN} postings, got {count}")]
    TooFewPostings {
        /// How many there were.
        count: usize,
    },
    /// More than [`POSTINGS_PER_ENTRY_MAX`] postings.
    #[error("an entry may have at most {max} postings, got {count}")]
    TooManyPostings {
        /// How many there were.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A posting of zero: it would change nothing and usually hides a bug in
    /// the client's amount conversion.
    #[error("postings[{index}] has a zero amount (amounts must be greater than zero)")]
    ZeroAmount {
        /// Position of the posting, counting from 0.
        index: usize,
    },
    /// Debits and credits differ in some currency (the first one in code order
    /// is reported).
    #[error("unbalanced: {currency} debits {}, credits {}", format_amount(*.debits, *.currency), format_amount(*.credits, *.currency))]
    Unbalanced {
        /// The currency that does not balance.
        currency: Currency,
        /// Its debit total in minor units.
        debits: u128,
        /// Its credit total in minor units.
        credits: u128,
    },
    /// Description longer than [`DESCRIPTION_LEN_MAX`] bytes.
    #[error("description is {len} bytes long (at most {max})")]
    DescriptionTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More than [`REFERENCES_PER_ENTRY_MAX`] references.
    #[error("an entry may have at most {max} references, got {count}")]
    TooManyReferences {
        /// How many there were.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A reference's kind or value is too long.
    #[error("references[{index}].{field} is {len} bytes long (at most {max})")]
    ReferenceTooLong {
        /// Position of the reference, counting from 0.
        index: usize,
        /// "kind" or "value".
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A reference's kind or value is empty.
    #[error("references[{index}].{field} is empty")]
    ReferenceEmpty {
        /// Position of the reference, counting from 0.
        index: usize,
        /// "kind" or "value".
        field: &'static str,
    },
    /// A control or text-reordering character in free text.
    #[error("{field} contains the forbidden character U+{:04X} (control and text-direction characters are not allowed)", u32::from(*.character))]
    ForbiddenCharacter {
        /// `description`, or `references[i].kind` / `references[i].value`.
        field: String,
        /// The first offending character.
        character: char,
    },
    /// A currency's total does not fit in `u128`. With at most
    /// [`POSTINGS_PER_ENTRY_MAX`] postings of at most `u64::MAX` this cannot
    /// happen, but the sum is checked anyway rather than trusted.
    #[error("the {currency} total of this entry is too large")]
    AmountOverflow {
        /// The currency whose total overflowed.
        currency: Currency,
    },
    /// An entry names itself as the entry it reverses.
    #[error("entry '{id}' cannot reverse itself")]
    SelfReversal {
        /// The entry's id.
        id: EntryId,
    },
    /// More than [`SEALED_FIELDS_PER_ENTRY_MAX`] sealed fields.
    #[error("an entry may have at most {max} sealed fields, got {count}")]
    TooManySealedFields {
        /// How many there were.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Two sealed fields with one name.
    #[error("sealed field '{name}' appears twice")]
    DuplicateSealedField {
        /// The repeated name.
        name: FieldName,
    },
    /// A ciphertext too short to hold salt and tag, or longer than the longest value allows.
    #[error("sealed field '{name}' has a ciphertext of {len} bytes (expected {min} to {max})")]
    SealedLength {
        /// The field's name.
        name: FieldName,
        /// Its ciphertext length.
        len: usize,
        /// Shortest possible ciphertext.
        min: usize,
        /// Longest allowed ciphertext.
        max: usize,
    },
    /// A sealed field whose (category, epoch) has no wrapped seal key in the entry.
    #[error("sealed field '{name}' has no seal key for {category} epoch {epoch}")]
    MissingSealKey {
        /// The field's name.
        name: FieldName,
        /// Its category.
        category: Category,
        /// Its epoch.
        epoch: u32,
    },
    /// Two groups of sealed fields of one category and epoch (an entry has at most one).
    #[error("sealed fields of {category} epoch {epoch} are in two groups (at most one each)")]
    DuplicateSealedGroup {
        /// The category.
        category: Category,
        /// The epoch.
        epoch: u32,
    },
    /// A group of sealed fields with no field.
    #[error("a group of sealed fields of {category} epoch {epoch} names no field")]
    EmptySealedGroup {
        /// The category.
        category: Category,
        /// The epoch.
        epoch: u32,
    },
    /// A group's ciphertext too short for its fields' lengths and tag, or longer than its
    /// fields' longest values allow.
    #[error("sealed fields of {category} epoch {epoch} have a ciphertext of {len} bytes (expected {min} to {max} for {fields} fields)")]
    SealedGroupLength {
        /// The group's category.
        category: Category,
        /// The group's epoch.
        epoch: u32,
        /// How many fields it names.
        fields: usize,
        /// Its ciphertext length.
        len: usize,
        /// Shortest possible ciphertext.
        min: usize,
        /// Longest allowed ciphertext.
        max: usize,
    },
    /// Two seal keys for one (category, epoch), or one that no field uses.
    #[error("seal key for {category} epoch {epoch} is {problem}")]
    SealKey {
        /// The key's category.
        category: Category,
        /// The key's epoch.
        epoch: u32,
        /// "given twice", "used by no sealed field" or "too long".
        problem: &'static str,
    },
}

/// Debit and credit totals per currency, in minor units.
type Totals = BTreeMap<Currency, (u128, u128)>;

impl EntryDraft {
    /// Checks everything that can be checked without the ledger and returns the
    /// entry as balanced. The checks run in a fixed order, so a draft with
    /// several faults always reports the same one.
    pub fn check(self) -> Result<BalancedEntry, EntryError> {
        self.check_rules()?;
        Ok(BalancedEntry { draft: self })
    }

    /// [`Self::check`] without taking the draft: the entry as balanced, without its sealed
    /// fields and keys (which were checked too).
    ///
    /// A chain keeps an entry's sealed fields where they lie in its block, and needs the rest
    /// as its own copy; a kilobyte of ciphertexts copied with it was a measurable share of
    /// executing a block.
    pub fn check_unsealed(&self) -> Result<BalancedEntry, EntryError> {
        self.check_rules()?;
        Ok(BalancedEntry {
            draft: EntryDraft {
                id: self.id.clone(),
                date: self.date,
                description: self.description.clone(),
                postings: self.postings.clone(),
                references: self.references.clone(),
                reverses: self.reverses.clone(),
                sealed: Sealed::default(),
                seal_keys: Vec::new(),
            },
        })
    }

    /// The checks of [`Self::check`], in their order.
    fn check_rules(&self) -> Result<(), EntryError> {
        let count = self.postings.len();
        if count < POSTINGS_PER_ENTRY_MIN {
            return Err(EntryError::TooFewPostings { count });
        }
        if count > POSTINGS_PER_ENTRY_MAX {
            return Err(EntryError::TooManyPostings {
                count,
                max: POSTINGS_PER_ENTRY_MAX,
            });
        }
        if let Some(index) = self.postings.iter().position(|posting| posting.amount == 0) {
            return Err(EntryError::ZeroAmount { index });
        }
        self.check_texts()?;
        self.check_sealed()?;
        if self.reverses.as_ref() == Some(&self.id) {
            return Err(EntryError::SelfReversal {
                id: self.id.clone(),
            });
        }
        let totals = self.totals()?;
        if let Some((&currency, &(debits, credits))) = totals
            .iter()
            .find(|(_, (debits, credits))| debits != credits)
        {
            return Err(EntryError::Unbalanced {
                currency,
                debits,
                credits,
            });
        }
        Ok(())
    }

    /// Description and reference bounds.
    fn check_texts(&self) -> Result<(), EntryError> {
        if self.description.len() > DESCRIPTION_LEN_MAX {
            return Err(EntryError::DescriptionTooLong {
                len: self.description.len(),
                max: DESCRIPTION_LEN_MAX,
            });
        }
        if let Some(character) = first_control_or_bidi(&self.description) {
            return Err(EntryError::ForbiddenCharacter {
                field: "description".to_owned(),
                character,
            });
        }
        if self.references.len() > REFERENCES_PER_ENTRY_MAX {
            return Err(EntryError::TooManyReferences {
                count: self.references.len(),
                max: REFERENCES_PER_ENTRY_MAX,
            });
        }
        for (index, reference) in self.references.iter().enumerate() {
            let parts = [
                ("kind", &reference.kind, REFERENCE_KIND_LEN_MAX),
                ("value", &reference.value, REFERENCE_VALUE_LEN_MAX),
            ];
            for (field, text, max) in parts {
                if text.is_empty() {
                    return Err(EntryError::ReferenceEmpty { index, field });
                }
                if text.len() > max {
                    return Err(EntryError::ReferenceTooLong {
                        index,
                        field,
                        len: text.len(),
                        max,
                    });
                }
                if let Some(character) = first_control_or_bidi(text) {
                    return Err(EntryError::ForbiddenCharacter {
                        field: format!("references[{index}].{field}"),
                        character,
                    });
                }
            }
        }
        Ok(())
    }

    /// Sealed field count, unique names and ciphertext bounds: all that can be checked without
    /// the key.
    fn check_sealed(&self) -> Result<(), EntryError> {
        match &self.sealed {
            Sealed::Fields(fields) => check_sealed_fields(fields)?,
            Sealed::Groups(groups) => check_sealed_groups(groups)?,
        }
        for (name, category, epoch) in self.sealed.sealings() {
            let keyed = |key: &SealKey| &key.category == category && key.epoch == epoch;
            if !self.seal_keys.iter().any(keyed) {
                return Err(EntryError::MissingSealKey {
                    name: *name,
                    category: *category,
                    epoch,
                });
            }
        }
        for (index, key) in self.seal_keys.iter().enumerate() {
            let same = |other: &SealKey| other.category == key.category && other.epoch == key.epoch;
            let problem = if self.seal_keys[..index].iter().any(same) {
                Some("given twice")
            } else if !self.sealed.uses(&key.category, key.epoch) {
                Some("used by no sealed field")
            } else if key.wrapped.len() > WRAPPED_SEAL_KEY_LEN_MAX {
                Some("too long")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(EntryError::SealKey {
                    category: key.category,
                    epoch: key.epoch,
                    problem,
                });
            }
        }
        Ok(())
    }

    /// Debit and credit totals per currency, with checked sums.
    fn totals(&self) -> Result<Totals, EntryError> {
        let mut totals = Totals::new();
        for posting in &self.postings {
            let (debits, credits) = totals.entry(posting.currency).or_default();
            let column = match posting.side {
                Side::Debit => debits,
                Side::Credit => credits,
            };
            *column = column.checked_add(u128::from(posting.amount)).ok_or(
                EntryError::AmountOverflow {
                    currency: posting.currency,
                },
            )?;
        }
        Ok(totals)
    }
}

/// The checks of an entry's groups of sealed fields that need no key: at most
/// [`SEALED_FIELDS_PER_ENTRY_MAX`] fields in all, unique names, one group per category and epoch,
/// none empty, ciphertexts within the bounds of their fields' count.
fn check_sealed_groups(groups: &[SealedGroup]) -> Result<(), EntryError> {
    let count = groups.iter().map(|group| group.names.len()).sum::<usize>();
    if count > SEALED_FIELDS_PER_ENTRY_MAX {
        return Err(EntryError::TooManySealedFields {
            count,
            max: SEALED_FIELDS_PER_ENTRY_MAX,
        });
    }
    for (index, group) in groups.iter().enumerate() {
        let (category, epoch) = (group.category, group.epoch);
        if groups[..index]
            .iter()
            .any(|seen| seen.category == category && seen.epoch == epoch)
        {
            return Err(EntryError::DuplicateSealedGroup { category, epoch });
        }
        if group.names.is_empty() {
            return Err(EntryError::EmptySealedGroup { category, epoch });
        }
        for (position, name) in group.names.iter().enumerate() {
            let earlier = groups[..index]
                .iter()
                .flat_map(|seen| &seen.names)
                .chain(&group.names[..position]);
            if earlier.into_iter().any(|seen| seen == name) {
                return Err(EntryError::DuplicateSealedField { name: *name });
            }
        }
        let fields = group.names.len();
        let (min, max) = (
            SealedGroup::ciphertext_len_min(fields),
            SealedGroup::ciphertext_len_max(fields),
        );
        let len = group.ciphertext.len();
        if !(min..=max).contains(&len) {
            return Err(EntryError::SealedGroupLength {
                category,
                epoch,
                fields,
                len,
                min,
                max,
            });
        }
    }
    Ok(())
}

/// The checks of sealed fields that need no key and no entry: at most
/// [`SEALED_FIELDS_PER_ENTRY_MAX`], unique names, ciphertexts within bounds. Entries and
/// consortium contracts' sealed terms both run them.
pub fn check_sealed_fields(fields: &[SealedField]) -> Result<(), EntryError> {
    if fields.len() > SEALED_FIELDS_PER_ENTRY_MAX {
        return Err(EntryError::TooManySealedFields {
            count: fields.len(),
            max: SEALED_FIELDS_PER_ENTRY_MAX,
        });
    }
    for (index, field) in fields.iter().enumerate() {
        if fields[..index].iter().any(|seen| seen.name == field.name) {
            return Err(EntryError::DuplicateSealedField { name: field.name });
        }
        let len = field.ciphertext.len();
        if !(SEALED_CIPHERTEXT_LEN_MIN..=SEALED_CIPHERTEXT_LEN_MAX).contains(&len) {
            return Err(EntryError::SealedLength {
                name: field.name,
                len,
                min: SEALED_CIPHERTEXT_LEN_MIN,
                max: SEALED_CIPHERTEXT_LEN_MAX,
            });
        }
    }
    Ok(())
}

/// A draft that passed [`EntryDraft::check`]: at least two non-zero postings,
/// debits equal credits in every currency, texts within bounds.
///
/// It is deliberately not `Deserialize`: received bytes decode to an
/// [`EntryDraft`] and must go through `check` again. It serializes exactly like
/// its draft, so decoding those bytes as a draft round-trips.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(transparent)]
pub struct BalancedEntry {
    draft: EntryDraft,
}

impl BalancedEntry {
    /// The checked draft.
    pub fn draft(&self) -> &EntryDraft {
        &self.draft
    }

    /// Gives the draft back, e.g. to edit it and check it again.
    pub fn into_draft(self) -> EntryDraft {
        self.draft
    }

    /// The idempotency key.
    pub fn id(&self) -> &EntryId {
        &self.draft.id
    }

    /// The accounting date.
    pub fn date(&self) -> Date {
        self.draft.date
    }

    /// The description.
    pub fn description(&self) -> &str {
        &self.draft.description
    }

    /// The postings.
    pub fn postings(&self) -> &[Posting] {
        &self.draft.postings
    }

    /// The references.
    pub fn references(&self) -> &[Reference] {
        &self.draft.references
    }

    /// The entry this one reverses, if any.
    pub fn reverses(&self) -> Option<&EntryId> {
        self.draft.reverses.as_ref()
    }

    /// The encrypted fields.
    pub fn sealed(&self) -> &Sealed {
        &self.draft.sealed
    }

    /// The wrapped keys of the encrypted fields.
    pub fn seal_keys(&self) -> &[SealKey] {
        &self.draft.seal_keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> EntryId {
        EntryId::new(text).unwrap()
    }

    fn posting(account: &str, side: Side, amount: u64, currency: Currency) -> Posting {
        Posting {
            account: AccountCode::new(account).unwrap(),
            side,
            amount,
            currency,
        }
    }

    fn draft(postings: Vec<Posting>) -> EntryDraft {
        EntryDraft {
            id: id("e-1"),
            date: Date::from_ymd(2026, 11, 24).unwrap(),
            description: "Order 123".into(),
            postings,
            references: vec![Reference {
                kind: "order".into(),
                value: "123".into(),
            }],
            reverses: None,
            sealed: Sealed::default(),
            seal_keys: Vec::new(),
        }
    }

    fn sale(amount: u64) -> EntryDraft {
        draft(vec![
            posting("1100", Side::Debit, amount, Currency::EUR),
            posting("4000", Side::Credit, amount, Currency::EUR),
        ])
    }

    fn sealed(name: &str, ciphertext_len: usize) -> SealedField {
        SealedField {
            name: FieldName::new(name).unwrap(),
            category: crate::sealed::Category::customer_pii(),
            epoch: 0,
            commitment: [7; crate::sealed::COMMITMENT_BYTES],
            nonce: [1; crate::sealed::SEAL_NONCE_BYTES],
            ciphertext: vec![0; ciphertext_len],
        }
    }

    fn seal_key(epoch: u32) -> SealKey {
        SealKey {
            category: Category::customer_pii(),
            epoch,
            encapped: [3; crate::sealed::ENCAPPED_KEY_BYTES],
            wrapped: vec![4; 48],
        }
    }

    #[test]
    fn sealed_fields_are_bounded_and_named_once() {
        let mut entry = sale(100);
        entry.sealed = Sealed::Fields(vec![
            sealed("email", SEALED_CIPHERTEXT_LEN_MIN),
            sealed("address1", SEALED_CIPHERTEXT_LEN_MAX),
        ]);
        assert_eq!(
            entry.clone().check().unwrap_err().to_string(),
            "sealed field 'email' has no seal key for customer-pii epoch 0"
        );
        entry.seal_keys = vec![seal_key(0)];
        let checked = entry.clone().check().unwrap();
        assert_eq!(checked.sealed().len(), 2);
        assert_eq!(checked.seal_keys().len(), 1);
        assert_eq!(
            checked.sealed().fields()[0].ciphertext.len(),
            SEALED_CIPHERTEXT_LEN_MIN
        );

        // Checked by reference: the same rules, the same error, and a copy without the sealed
        // parts.
        let unsealed = entry.check_unsealed().unwrap();
        assert!(unsealed.sealed().is_empty() && unsealed.seal_keys().is_empty());
        let mut whole = unsealed.into_draft();
        whole.sealed = entry.sealed.clone();
        whole.seal_keys = entry.seal_keys.clone();
        assert_eq!(whole, entry);
        let mut keyless = entry.clone();
        keyless.seal_keys.clear();
        assert_eq!(
            keyless.check_unsealed().unwrap_err(),
            keyless.clone().check().unwrap_err()
        );

        let mut unused = entry.clone();
        unused.seal_keys.push(seal_key(1));
        assert_eq!(
            unused.check().unwrap_err().to_string(),
            "seal key for customer-pii epoch 1 is used by no sealed field"
        );
        let mut doubled = entry.clone();
        doubled.seal_keys.push(seal_key(0));
        assert_eq!(
            doubled.check().unwrap_err().to_string(),
            "seal key for customer-pii epoch 0 is given twice"
        );
        let mut long = entry.clone();
        long.seal_keys[0].wrapped = vec![0; WRAPPED_SEAL_KEY_LEN_MAX + 1];
        assert_eq!(
            long.check().unwrap_err().to_string(),
            "seal key for customer-pii epoch 0 is too long"
        );

        let mut twice = entry.clone();
        fields_of(&mut twice).push(sealed("email", 40));
        assert_eq!(
            twice.check().unwrap_err().to_string(),
            "sealed field 'email' appears twice"
        );

        for len in [SEALED_CIPHERTEXT_LEN_MIN - 1, SEALED_CIPHERTEXT_LEN_MAX + 1] {
            let mut bad = entry.clone();
            fields_of(&mut bad)[0].ciphertext = vec![0; len];
            assert_eq!(
                bad.check().unwrap_err().to_string(),
                format!(
                    "sealed field 'email' has a ciphertext of {len} bytes (expected 16 to 1056)"
                )
            );
        }

        let mut many = sale(100);
        many.seal_keys = vec![seal_key(0)];
        many.sealed = Sealed::Fields(
            (0..=SEALED_FIELDS_PER_ENTRY_MAX)
                .map(|i| sealed(&format!("f{i}"), 40))
                .collect(),
        );
        assert_eq!(
            many.check().unwrap_err().to_string(),
            "an entry may have at most 16 sealed fields, got 17"
        );
    }

    fn fields_of(entry: &mut EntryDraft) -> &mut Vec<SealedField> {
        match &mut entry.sealed {
            Sealed::Fields(fields) => fields,
            Sealed::Groups(_) => panic!("the entry's fields are grouped"),
        }
    }

    fn group(epoch: u32, names: &[&str], ciphertext_len: usize) -> SealedGroup {
        SealedGroup {
            category: crate::sealed::Category::customer_pii(),
            epoch,
            names: names
                .iter()
                .map(|name| FieldName::new(name).unwrap())
                .collect(),
            commitment: [7; crate::sealed::COMMITMENT_BYTES],
            ciphertext: vec![2; ciphertext_len],
        }
    }

    #[test]
    fn sealed_groups_are_bounded_named_once_and_keyed() {
        let mut entry = sale(100);
        // Two fields: two length prefixes and the tag at least.
        entry.sealed = Sealed::Groups(vec![group(0, &["email", "zip"], 20)]);
        assert_eq!(
            entry.clone().check().unwrap_err().to_string(),
            "sealed field 'email' has no seal key for customer-pii epoch 0"
        );
        entry.seal_keys = vec![seal_key(0)];
        let checked = entry.clone().check().unwrap();
        assert_eq!(checked.sealed().len(), 2);
        assert_eq!(checked.sealed().groups().len(), 1);
        let unsealed = entry.check_unsealed().unwrap();
        assert!(unsealed.sealed().is_empty());

        for len in [19, 2 * (2 + 1024) + 16 + 1] {
            let mut bad = entry.clone();
            bad.sealed = Sealed::Groups(vec![group(0, &["email", "zip"], len)]);
            assert_eq!(
                bad.check().unwrap_err().to_string(),
                format!("sealed fields of customer-pii epoch 0 have a ciphertext of {len} bytes (expected 20 to 2068 for 2 fields)")
            );
        }
        let cases = [
            (
                vec![group(0, &["email", "email"], 40)],
                "sealed field 'email' appears twice",
            ),
            (
                vec![group(0, &["email"], 40), group(1, &["email"], 40)],
                "sealed field 'email' appears twice",
            ),
            (
                vec![group(0, &["email"], 40), group(0, &["zip"], 40)],
                "sealed fields of customer-pii epoch 0 are in two groups (at most one each)",
            ),
            (
                vec![group(0, &[], 16)],
                "a group of sealed fields of customer-pii epoch 0 names no field",
            ),
            (
                vec![group(
                    0,
                    &(0..=SEALED_FIELDS_PER_ENTRY_MAX)
                        .map(|i| format!("f{i}"))
                        .collect::<Vec<_>>()
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                    17 * 40,
                )],
                "an entry may have at most 16 sealed fields, got 17",
            ),
        ];
        for (groups, message) in cases {
            let mut bad = entry.clone();
            bad.sealed = Sealed::Groups(groups);
            assert_eq!(bad.check().unwrap_err().to_string(), message);
        }
        // A second group needs its own seal key, and a key no group uses is refused.
        let mut two = entry.clone();
        two.sealed = Sealed::Groups(vec![group(0, &["email"], 40), group(1, &["zip"], 40)]);
        assert_eq!(
            two.clone().check().unwrap_err().to_string(),
            "sealed field 'zip' has no seal key for customer-pii epoch 1"
        );
        two.seal_keys.push(seal_key(1));
        two.clone().check().unwrap();
        two.seal_keys.push(seal_key(2));
        assert_eq!(
            two.check().unwrap_err().to_string(),
            "seal key for customer-pii epoch 2 is used by no sealed field"
        );
    }

    #[test]
    fn category_and_field_names() {
        assert_eq!(
            Category::new("customer-pii").unwrap().as_str(),
            "customer-pii"
        );
        assert_eq!(
            Category::new("Customer PII").unwrap_err().to_string(),
            "category 'Customer PII' may contain only lowercase letters, digits and '-'"
        );
        assert_eq!(
            FieldName::new("").unwrap_err().to_string(),
            "a field name may not be empty"
        );
        assert_eq!(
            FieldName::new(&"a".repeat(33)).unwrap_err().to_string(),
            format!(
                "field name '{}' is 33 bytes long (at most 32)",
                "a".repeat(33)
            )
        );
        // Names are checked when decoded too, not only when built.
        let decoded: Result<FieldName, _> = serde_json::from_str("\"bad name\"");
        assert!(decoded.is_err());
        let decoded: Category = serde_json::from_str("\"partner-banking\"").unwrap();
        assert_eq!(decoded, Category::partner_banking());
    }

    #[test]
    fn entry_ids() {
        for good in [
            "a",
            "order:2026/000123",
            "A.b_c-d:e/f",
            &"x".repeat(ENTRY_ID_LEN_MAX),
        ] {
            assert_eq!(id(good).as_str(), good);
            assert_eq!(id(good).to_string(), good);
        }
        assert_eq!(
            EntryId::new("").unwrap_err().to_string(),
            "entry id is empty"
        );
        assert_eq!(
            EntryId::new(&"x".repeat(65)).unwrap_err().to_string(),
            "entry id is 65 bytes long (at most 64)"
        );
        assert_eq!(
            EntryId::new("a b").unwrap_err().to_string(),
            "entry id 'a b' contains ' '; allowed are letters A-Z and a-z, digits and . _ : / -"
        );
        assert!(EntryId::new("é").is_err());
        assert!(EntryId::new("a\n").is_err());
        assert_eq!(EntryId::try_from("x1".to_owned()), Ok(id("x1")));
        assert_eq!(String::from(id("x1")), "x1");
    }

    #[test]
    fn sides() {
        assert_eq!(Side::Debit.opposite(), Side::Credit);
        assert_eq!(Side::Credit.opposite(), Side::Debit);
        assert_eq!("debit".parse::<Side>(), Ok(Side::Debit));
        assert_eq!("credit".parse::<Side>(), Ok(Side::Credit));
        assert_eq!(Side::Credit.to_string(), "credit");
        assert_eq!(
            "Debit".parse::<Side>().unwrap_err().to_string(),
            "unknown side 'Debit' (expected debit or credit)"
        );
    }

    #[test]
    fn balanced_draft_passes_and_keeps_its_content() {
        let original = sale(10050);
        let entry = original.clone().check().unwrap();
        assert_eq!(entry.draft(), &original);
        assert_eq!(entry.id(), &id("e-1"));
        assert_eq!(entry.date(), original.date);
        assert_eq!(entry.description(), "Order 123");
        assert_eq!(entry.postings().len(), 2);
        assert_eq!(entry.references().len(), 1);
        assert_eq!(entry.reverses(), None);
        assert_eq!(entry.into_draft(), original);
    }

    #[test]
    fn multi_currency_entries_balance_per_currency() {
        let fx = draft(vec![
            posting("1000", Side::Debit, 11000, Currency::USD),
            posting("3900", Side::Credit, 11000, Currency::USD),
            posting("3900", Side::Debit, 10000, Currency::EUR),
            posting("1000", Side::Credit, 10000, Currency::EUR),
        ]);
        assert!(fx.check().is_ok());
        let mixed = draft(vec![
            posting("1000", Side::Debit, 100, Currency::USD),
            posting("4000", Side::Credit, 100, Currency::EUR),
        ]);
        assert_eq!(
            mixed.check().unwrap_err(),
            EntryError::Unbalanced {
                currency: Currency::EUR,
                debits: 0,
                credits: 100
            }
        );
    }

    #[test]
    fn posting_counts() {
        let one = draft(vec![posting("1100", Side::Debit, 1, Currency::EUR)]);
        assert_eq!(
            one.check().unwrap_err().to_string(),
            "an entry needs at least 2 postings, got 1"
        );
        assert_eq!(
            draft(vec![]).check().unwrap_err(),
            EntryError::TooFewPostings { count: 0 }
        );
        let mut many = Vec::new();
        for _ in 0..=POSTINGS_PER_ENTRY_MAX / 2 {
            many.push(posting("1100", Side::Debit, 1, Currency::EUR));
            many.push(posting("4000", Side::Credit, 1, Currency::EUR));
        }
        assert_eq!(
            draft(many).check().unwrap_err().to_string(),
            "an entry may have at most 64 postings, got 66"
        );
        let mut exactly = Vec::new();
        for _ in 0..POSTINGS_PER_ENTRY_MAX / 2 {
            exactly.push(posting("1100", Side::Debit, u64::MAX, Currency::EUR));
            exactly.push(posting("4000", Side::Credit, u64::MAX, Currency::EUR));
        }
        assert!(draft(exactly).check().is_ok());
    }

    #[test]
    fn zero_amounts_are_refused() {
        let zero = draft(vec![
            posting("1100", Side::Debit, 5, Currency::EUR),
            posting("4000", Side::Credit, 5, Currency::EUR),
            posting("4000", Side::Credit, 0, Currency::EUR),
        ]);
        assert_eq!(
            zero.check().unwrap_err().to_string(),
            "postings[2] has a zero amount (amounts must be greater than zero)"
        );
    }

    #[test]
    fn unbalanced_message_uses_the_exponent() {
        let entry = draft(vec![
            posting("1100", Side::Debit, 10000, Currency::EUR),
            posting("4000", Side::Credit, 9900, Currency::EUR),
        ]);
        assert_eq!(
            entry.check().unwrap_err().to_string(),
            "unbalanced: EUR debits 100.00, credits 99.00"
        );
        let yen = draft(vec![
            posting("1100", Side::Debit, 500, Currency::JPY),
            posting("4000", Side::Credit, 499, Currency::JPY),
        ]);
        assert_eq!(
            yen.check().unwrap_err().to_string(),
            "unbalanced: JPY debits 500, credits 499"
        );
    }

    #[test]
    fn description_rules() {
        let mut entry = sale(1);
        entry.description = "x".repeat(DESCRIPTION_LEN_MAX);
        assert!(entry.clone().check().is_ok());
        entry.description.push('x');
        assert_eq!(
            entry.clone().check().unwrap_err().to_string(),
            "description is 513 bytes long (at most 512)"
        );
        entry.description = "line\nbreak".into();
        assert_eq!(
            entry.clone().check().unwrap_err().to_string(),
            "description contains the forbidden character U+000A (control and text-direction characters are not allowed)"
        );
        entry.description = String::new();
        assert!(entry.check().is_ok());
    }

    #[test]
    fn reference_rules() {
        let reference = |kind: &str, value: &str| Reference {
            kind: kind.into(),
            value: value.into(),
        };
        let mut entry = sale(1);
        entry.references = vec![reference("order", "1"); REFERENCES_PER_ENTRY_MAX];
        assert!(entry.clone().check().is_ok());
        entry.references.push(reference("order", "1"));
        assert_eq!(
            entry.clone().check().unwrap_err().to_string(),
            "an entry may have at most 16 references, got 17"
        );
        entry.references = vec![
            reference("order", "1"),
            reference("invoice", &"9".repeat(129)),
        ];
        assert_eq!(
            entry.clone().check().unwrap_err().to_string(),
            "references[1].value is 129 bytes long (at most 128)"
        );
        entry.references = vec![reference(&"k".repeat(33), "1")];
        assert_eq!(
            entry.clone().check().unwrap_err().to_string(),
            "references[0].kind is 33 bytes long (at most 32)"
        );
        entry.references = vec![reference("", "1")];
        assert_eq!(
            entry.clone().check().unwrap_err().to_string(),
            "references[0].kind is empty"
        );
        entry.references = vec![reference("order", "1\u{202E}2")];
        assert_eq!(
            entry.check().unwrap_err().to_string(),
            "references[0].value contains the forbidden character U+202E (control and text-direction characters are not allowed)"
        );
    }

    #[test]
    fn self_reversal_is_refused() {
        let mut entry = sale(1);
        entry.reverses = Some(entry.id.clone());
        assert_eq!(
            entry.check().unwrap_err().to_string(),
            "entry 'e-1' cannot reverse itself"
        );
        let mut other = sale(1);
        other.reverses = Some(id("e-0"));
        assert_eq!(other.check().unwrap().reverses(), Some(&id("e-0")));
    }

    #[test]
    fn amount_overflow_message() {
        let err = EntryError::AmountOverflow {
            currency: Currency::EUR,
        };
        assert_eq!(err.to_string(), "the EUR total of this entry is too large");
    }

    #[test]
    fn mirrored_posting_swaps_only_the_side() {
        let original = posting("1000", Side::Debit, 7, Currency::JPY);
        let mirror = original.mirrored();
        assert_eq!(mirror.side, Side::Credit);
        assert_eq!(mirror.amount, 7);
        assert_eq!(mirror.mirrored(), original);
    }
}
