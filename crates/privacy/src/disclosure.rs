//! Disclosures: one field's value and salt, given by someone who opened it to someone without
//! the key, who checks them against the commitment the chain recorded: the field's own, or, for
//! a field sealed in a group, the group's root, recomputed with the other fields' commitments.

use serde::{Deserialize, Serialize};
use tally_ledger::{FieldName, SealedField, SealedGroup, COMMITMENT_BYTES, SEAL_SALT_BYTES};

use crate::encoding::hex_bytes;
use crate::group::{group_root, OpenedField};
use crate::seal::{commitment, Opened};

/// A field's commitment, in hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldCommitment(#[serde(with = "hex_bytes")] pub [u8; COMMITMENT_BYTES]);

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
    /// For a field sealed in a group: the commitments of every field of the group, in its order
    /// (the disclosed field's among them). They hide the other values, and give the root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<FieldCommitment>,
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
    /// The disclosure is of a field the group does not name.
    #[error("the disclosure is of field '{name}', which the group of sealed fields does not name")]
    NotInGroup {
        /// The field the disclosure names.
        name: FieldName,
    },
    /// The disclosure carries no group commitments, or not one per field of the group.
    #[error("the disclosure of field '{name}' carries {given} group commitments, the group on the chain has {fields} fields")]
    GroupShape {
        /// The field.
        name: FieldName,
        /// Commitments in the disclosure.
        given: usize,
        /// Fields of the group on the chain.
        fields: usize,
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
            group: Vec::new(),
        }
    }

    /// Discloses field `name` of a group of the entry `entry_id`, opened as `fields`; `None` if
    /// the group has no such field.
    pub fn in_group(
        entry_id: &str,
        name: &FieldName,
        fields: &[OpenedField],
    ) -> Option<Disclosure> {
        let field = fields.iter().find(|field| &field.name == name)?;
        Some(Disclosure {
            group: fields
                .iter()
                .map(|field| FieldCommitment(field.commitment))
                .collect(),
            ..Disclosure::new(entry_id, name, &field.opened)
        })
    }

    /// Checks that the disclosed value is the one sealed as its field in `group`: its
    /// commitment is among the group's, at the field's place, and they give the group's root.
    /// Needs no key.
    pub fn check_group(&self, group: &SealedGroup) -> Result<(), DisclosureError> {
        let index = group
            .names
            .iter()
            .position(|name| name == &self.name)
            .ok_or(DisclosureError::NotInGroup { name: self.name })?;
        if self.group.len() != group.names.len() {
            return Err(DisclosureError::GroupShape {
                name: self.name,
                given: self.group.len(),
                fields: group.names.len(),
            });
        }
        let commitments: Vec<_> = self.group.iter().map(|commitment| commitment.0).collect();
        let own = commitment(&group.category, &self.name, &self.salt, &self.value);
        if own != commitments[index]
            || group_root(&group.category, &group.names, &commitments) != group.commitment
        {
            return Err(DisclosureError::Mismatch { name: self.name });
        }
        Ok(())
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
