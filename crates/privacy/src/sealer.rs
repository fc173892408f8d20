//! The writer's side: seals the fields of many entries, recording on each the seal key from which
//! holders of the category epoch's secret derive the field key ([`derive_field_key`]: an HPKE
//! encapsulation to the epoch's public key), so every entry passes the ledger's checks on its own.
//!
//! Drawing a field key costs an X25519 key agreement (about 150 µs here), sealing a field about
//! a microsecond. A [`Sealer`] therefore draws one field key per category epoch and uses it for
//! many entries (each entry still carries the seal key, and each field is bound to its entry
//! by the associated data), drawing a fresh one after [`FIELDS_PER_FIELD_KEY_MAX`] fields. An
//! importer uses one sealer per signed batch, so the key agreement is paid once per batch, not per
//! order.

use commonware_rand_core::CryptoRng;
use tally_ledger::{Category, FieldName, SealKey, SealedGroup};

use crate::grant::{derive_field_key, SealKeyContext, WrapError};
use crate::group::seal_group;
use crate::key::{EpochPublicKey, FieldKey};
use crate::seal::{SealContext, SealError};

/// Most fields sealed under one field key before a fresh one is drawn. Nonces are 96 bits of each
/// field's keyed commitment, as unpredictable as random ones: at 2^20 fields per key, the chance
/// of a repeated nonce stays below 2^-56.
pub const FIELDS_PER_FIELD_KEY_MAX: u64 = 1 << 20;

/// Why a field of an entry could not be sealed.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum EntrySealError {
    /// The value cannot be sealed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// No field key can be drawn for the epoch's public key.
    #[error(transparent)]
    Wrap(#[from] WrapError),
}

/// A field key in use, with its seal key and how many fields it sealed.
#[derive(Debug)]
struct HeldKey {
    category: Category,
    epoch: u32,
    key: FieldKey,
    seal_key: SealKey,
    uses: u64,
}

/// Seals the fields of entries of one chain. A writer needs only the epoch public keys, so it
/// seals what it cannot read. Field keys are wiped when the sealer is dropped.
#[derive(Debug)]
pub struct Sealer {
    chain_id: String,
    keys: Vec<HeldKey>,
}

impl Sealer {
    /// A sealer for entries of `chain_id`.
    pub fn new(chain_id: &str) -> Sealer {
        Sealer {
            chain_id: chain_id.to_owned(),
            keys: Vec::new(),
        }
    }

    /// Seals `fields` (name, value) of entry `entry_id` together under `category`'s epoch
    /// `epoch`, whose public key is `epoch_key`. Returns the entry's group of sealed fields
    /// and the one seal key it needs. Several categories on one entry: call once per category
    /// and give the entry every group and key.
    pub fn seal_entry<V: AsRef<str>>(
        &mut self,
        entry_id: &str,
        epoch_key: &EpochPublicKey,
        category: &Category,
        epoch: u32,
        fields: &[(FieldName, V)],
        rng: &mut impl CryptoRng,
    ) -> Result<(SealedGroup, SealKey), EntrySealError> {
        let count = fields.len() as u64;
        let position = self.keys.iter().position(|held| {
            &held.category == category
                && held.epoch == epoch
                && held.uses + count <= FIELDS_PER_FIELD_KEY_MAX
        });
        let index = match position {
            Some(index) => index,
            None => {
                self.keys
                    .retain(|held| !(&held.category == category && held.epoch == epoch));
                let context = SealKeyContext {
                    chain_id: &self.chain_id,
                    category,
                    epoch,
                };
                let (key, seal_key) = derive_field_key(epoch_key, &context, rng)?;
                self.keys.push(HeldKey {
                    category: *category,
                    epoch,
                    key,
                    seal_key,
                    uses: 0,
                });
                self.keys.len() - 1
            }
        };
        let held = &mut self.keys[index];
        let context = SealContext {
            chain_id: &self.chain_id,
            entry_id,
        };
        let sealed = seal_group(&held.key, category, epoch, &context, fields)?;
        held.uses += count;
        Ok((sealed, held.seal_key.clone()))
    }
}
