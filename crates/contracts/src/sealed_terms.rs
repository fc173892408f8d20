//! Private terms of a contract: fields only its parties read (the delivery address a merchant
//! gives its carrier, a partner's bank details), sealed like an entry's sealed fields.
//!
//! A party seals the fields under a random field key (category `contract-private`, epoch 0,
//! bound to the contract's id) and wraps that key to each member of the parties who is to read
//! them. Every validator checks the shape (bounds, unique names, the key holders are given) and
//! that the signer is a party; which members hold keys is checked by the chain, which knows the
//! members. Everyone else sees the salted commitments only, enough to check a value a party
//! discloses later.

use serde::{Deserialize, Serialize};
use tally_identity::PublicKey;
use tally_ledger::{
    check_sealed_fields, Category, FieldName, SealedField, COMMITMENT_BYTES, ENCAPPED_KEY_BYTES,
    WRAPPED_SEAL_KEY_LEN_MAX,
};

use crate::error::ContractError;
use crate::names::ContractId;

/// Most members one sealing wraps the field key to: the parties' bookkeepers, admins and a few
/// staff each.
pub const PARTY_KEYS_MAX: usize = 64;

/// The contract's field key wrapped to one member of a party.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct PartyKey {
    /// The member.
    pub member: PublicKey,
    /// The sender's ephemeral X25519 public key.
    pub encapped: [u8; ENCAPPED_KEY_BYTES],
    /// The field key, sealed to the member.
    pub wrapped: Vec<u8>,
}

/// Sealed fields of a contract and the keys its parties' members open them with.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct SealedTerms {
    /// The fields, category `contract-private`, epoch 0.
    pub fields: Vec<SealedField>,
    /// The field key, wrapped to each reading member.
    pub keys: Vec<PartyKey>,
}

impl SealedTerms {
    /// The shape checks every validator runs: 1 to the most fields an entry may have, unique
    /// names, category `contract-private` and epoch 0, ciphertexts within bounds, 1 to
    /// [`PARTY_KEYS_MAX`] keys for distinct members, each within bounds. `already` are the
    /// names the contract has sealed before: a name is sealed once.
    pub(crate) fn check(
        &self,
        id: &ContractId,
        already: &[FieldName],
    ) -> Result<(), ContractError> {
        let invalid = |reason: String| ContractError::InvalidSealedTerms {
            id: id.clone(),
            reason,
        };
        if self.fields.is_empty() {
            return Err(invalid("no fields given".into()));
        }
        check_sealed_fields(&self.fields).map_err(|error| invalid(error.to_string()))?;
        let category = Category::contract_private();
        for field in &self.fields {
            if field.category != category || field.epoch != 0 {
                return Err(invalid(format!(
                    "field '{}' is sealed under {} epoch {}, not {category} epoch 0",
                    field.name, field.category, field.epoch
                )));
            }
            if already.contains(&field.name) {
                return Err(invalid(format!(
                    "field '{}' was sealed on this contract before",
                    field.name
                )));
            }
        }
        if self.keys.is_empty() || self.keys.len() > PARTY_KEYS_MAX {
            return Err(invalid(format!(
                "{} keys given (1 to {PARTY_KEYS_MAX})",
                self.keys.len()
            )));
        }
        for (index, key) in self.keys.iter().enumerate() {
            if self.keys[..index]
                .iter()
                .any(|seen| seen.member == key.member)
            {
                return Err(invalid(format!("member {} has two keys", key.member)));
            }
            if key.wrapped.len() > WRAPPED_SEAL_KEY_LEN_MAX {
                return Err(invalid(format!(
                    "the key for member {} is {} bytes long (at most {WRAPPED_SEAL_KEY_LEN_MAX})",
                    key.member,
                    key.wrapped.len()
                )));
            }
        }
        Ok(())
    }

    /// Each field's name and commitment: what everyone may see.
    pub fn commitments(&self) -> Vec<(FieldName, [u8; COMMITMENT_BYTES])> {
        self.fields
            .iter()
            .map(|field| (field.name, field.commitment))
            .collect()
    }
}
