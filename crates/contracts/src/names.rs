//! Names of enterprises and ids of contracts: validated once, then trusted.
//!
//! Both appear in every contract, event, error message and derived entry, so
//! they are short, plain ASCII and impossible to confuse with one another on
//! screen.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::NameError;

/// Longest enterprise name, in bytes. A name is a short handle ("acme",
/// "north-carrier") that appears in every contract and in synthetic ids such as
/// `"anchor:<name>"`, which must still fit [`CONTRACT_ID_LEN_MAX`].
pub const ENTERPRISE_NAME_LEN_MAX: usize = 32;

/// Longest contract id, in bytes. Ids are chosen by the proposing client
/// (often its own order number) and are repeated in references of derived
/// entries; 48 bytes holds "anchor:" plus the longest enterprise name and
/// stays well under the ledger's reference-value limit.
pub const CONTRACT_ID_LEN_MAX: usize = 48;

/// Prefix of the synthetic contract id that anchor events carry.
pub const ANCHOR_ID_PREFIX: &str = "anchor:";

// An anchor event's id is the prefix plus a name; it must be a valid id.
const _: () = assert!(ANCHOR_ID_PREFIX.len() + ENTERPRISE_NAME_LEN_MAX <= CONTRACT_ID_LEN_MAX);

/// Shortens rejected input for an error message, so that a megabyte of junk
/// does not flood logs and hidden characters are spelled out.
fn echo(text: &str) -> String {
    /// How many characters of rejected input an error repeats.
    const ECHO_CHARS_MAX: usize = 64;
    let mut out = String::new();
    for (index, ch) in text.chars().enumerate() {
        if index == ECHO_CHARS_MAX {
            out.push('…');
            break;
        }
        if ch.is_control() || !ch.is_ascii() {
            out.extend(ch.escape_unicode());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Checks length and alphabet; shared by both name types.
fn check(
    text: &str,
    what: &'static str,
    max: usize,
    allowed: fn(char) -> bool,
    alphabet: &'static str,
) -> Result<(), NameError> {
    if text.is_empty() {
        return Err(NameError::Empty { what });
    }
    if text.len() > max {
        return Err(NameError::TooLong {
            what,
            len: text.len(),
            max,
        });
    }
    if let Some(character) = text.chars().find(|&ch| !allowed(ch)) {
        return Err(NameError::ForbiddenCharacter {
            what,
            text: echo(text),
            character,
            alphabet,
        });
    }
    Ok(())
}

/// The name of a member enterprise: 1..=[`ENTERPRISE_NAME_LEN_MAX`] bytes of
/// `[a-z0-9-]`. Lower case only, so that "Acme" and "acme" cannot be two
/// different members. It (de)serializes as a plain string and deserialization
/// validates.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EnterpriseName(String);

impl EnterpriseName {
    /// Validates `text` as an enterprise name.
    pub fn new(text: &str) -> Result<EnterpriseName, NameError> {
        check(
            text,
            "enterprise name",
            ENTERPRISE_NAME_LEN_MAX,
            |ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-',
            "lower-case letters a-z, digits and -",
        )?;
        Ok(EnterpriseName(text.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A contract's id: 1..=[`CONTRACT_ID_LEN_MAX`] bytes of `[A-Za-z0-9._:/-]`,
/// the same alphabet as ledger entry ids so that ids can be copied between
/// them. It (de)serializes as a plain string and deserialization validates.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContractId(String);

impl ContractId {
    /// Validates `text` as a contract id.
    pub fn new(text: &str) -> Result<ContractId, NameError> {
        check(
            text,
            "contract id",
            CONTRACT_ID_LEN_MAX,
            |ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | ':' | '/' | '-'),
            "letters A-Z and a-z, digits and . _ : / -",
        )?;
        Ok(ContractId(text.to_owned()))
    }

    /// The synthetic id `"anchor:<enterprise>"` that anchor events carry. Always
    /// valid: the prefix and every enterprise name are in the id alphabet and
    /// fit its length (checked at compile time above).
    pub fn for_anchor(enterprise: &EnterpriseName) -> ContractId {
        ContractId(format!("{ANCHOR_ID_PREFIX}{enterprise}"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The usual conversions, identical for both types.
macro_rules! text_conversions {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = NameError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $name::new(text)
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                $name::new(&text)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_conversions!(EnterpriseName);
text_conversions!(ContractId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enterprise_names() {
        assert_eq!(EnterpriseName::new("acme-2").unwrap().as_str(), "acme-2");
        assert_eq!(
            EnterpriseName::new("").unwrap_err().to_string(),
            "enterprise name is empty"
        );
        assert_eq!(
            EnterpriseName::new("Acme").unwrap_err().to_string(),
            "enterprise name 'Acme' contains 'A'; allowed are lower-case letters a-z, digits and -"
        );
        assert_eq!(
            EnterpriseName::new(&"a".repeat(33))
                .unwrap_err()
                .to_string(),
            "enterprise name is 33 bytes long (at most 32)"
        );
        assert!(EnterpriseName::new(&"a".repeat(32)).is_ok());
        assert!(EnterpriseName::new("a b").is_err());
        assert!(EnterpriseName::new("a\u{202e}").is_err());
    }

    #[test]
    fn contract_ids() {
        assert!(ContractId::new("order:2026/000123.a_b-c").is_ok());
        assert!(ContractId::new(&"x".repeat(48)).is_ok());
        assert!(ContractId::new(&"x".repeat(49)).is_err());
        assert!(ContractId::new("T 1").is_err());
        assert!(ContractId::new("").is_err());
        let longest = EnterpriseName::new(&"z".repeat(32)).unwrap();
        let anchor = ContractId::for_anchor(&longest);
        assert_eq!(ContractId::new(anchor.as_str()), Ok(anchor));
    }

    #[test]
    fn serde_validates() {
        let name: EnterpriseName = postcard::from_bytes(&postcard::to_allocvec("acme").unwrap())
            .expect("valid name decodes");
        assert_eq!(name.as_str(), "acme");
        let bad = postcard::to_allocvec("ACME").unwrap();
        assert!(postcard::from_bytes::<EnterpriseName>(&bad).is_err());
        let bad = postcard::to_allocvec("T 1").unwrap();
        assert!(postcard::from_bytes::<ContractId>(&bad).is_err());
        assert_eq!(
            postcard::to_allocvec(&name).unwrap(),
            postcard::to_allocvec("acme").unwrap()
        );
    }
}
