//! Disclosures: one field's value and salt, given by someone who opened it to someone without
//! the key, who checks them against the commitment the chain recorded.

use serde::{Deserialize, Serialize};
use tally_ledger::{FieldName, SealedField, SEAL_SALT_BYTES};

use crate::encoding::hex_bytes;
use crate::seal::{commitment, Opened};

/// One field's value revealed, with the salt that makes it checkable against the field's
/// commitment. Serialized with the salt in hex, for JSON.
///
/// The commitment binds the category, field name, salt and value, not the entry: the verifier
/// takes the field from the entry `entry_id` names (proven on the chain, e.g. by an inclusion
/// proof) and calls [`Disclosure::check`] with it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Disclosure {
    /// The entry whose field this is.
    pub entry_id: String,
    /// The field's name.
    pub name: FieldName,
    /// The value.
    pub value: String,
    /// The commitment's salt.
    #[serde(with = "hex_bytes")]
    pub salt: [u8; SEAL_SALT_BYTES],
}

/// Why a disclosure does not prove a field.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum DisclosureError {
    /// The disclosure is of another field than the one checked against.
    #[error("the disclosure is of field '{disclosed}', not of field '{field}'")]
    OtherField {
        /// The field the disclosure names.
        disclosed: FieldName,
        /// The field checked against.
        field: FieldName,
    },
    /// Value and salt do not hash to the commitment on the chain.
    #[error("the disclosed value of field '{name}' does not match its commitment on the chain: the value or the salt is not the one sealed")]
    Mismatch {
        /// The field.
        name: FieldName,
    },
}

impl Disclosure {
    /// Discloses a field of the entry `entry_id`, opened as `opened`.
    pub fn new(entry_id: &str, name: &FieldName, opened: &Opened) -> Disclosure {
        Disclosure {
            entry_id: entry_id.to_owned(),
            name: *name,
            value: opened.value.clone(),
            salt: opened.salt,
        }
    }

    /// Checks that the disclosed value is the one sealed in `field`, by recomputing its
    /// commitment. Needs no key.
    pub fn check(&self, field: &SealedField) -> Result<(), DisclosureError> {
        if self.name != field.name {
            return Err(DisclosureError::OtherField {
                disclosed: self.name,
                field: field.name,
            });
        }
        if commitment(&field.category, &self.name, &self.salt, &self.value) != field.commitment {
            return Err(DisclosureError::Mismatch { name: self.name });
        }
        Ok(())
    }
}
