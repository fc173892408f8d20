//! The writer's side of an entry: seals its fields, drawing one field key per category epoch and
//! recording it wrapped to the epoch's public key, so the entry passes the ledger's checks.

use commonware_rand_core::CryptoRng;
use tally_ledger::{Category, FieldName, SealKey, SealedField};

use crate::grant::{wrap_field_key, SealKeyContext, WrapError};
use crate::key::{EpochPublicKey, FieldKey};
use crate::seal::{seal, SealContext, SealError};

/// Why a field of an entry could not be sealed.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum EntrySealError {
    /// The value cannot be sealed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The field key cannot be wrapped to the epoch's public key.
    #[error(transparent)]
    Wrap(#[from] WrapError),
}

/// Seals the fields of one entry. A writer needs only the epoch public keys, so it can seal what
/// it cannot read.
#[derive(Debug)]
pub struct EntrySealer<'a> {
    context: SealContext<'a>,
    keys: Vec<(Category, u32, FieldKey)>,
    sealed: Vec<SealedField>,
    seal_keys: Vec<SealKey>,
}

impl<'a> EntrySealer<'a> {
    /// Starts sealing the entry `context` names.
    pub fn new(context: SealContext<'a>) -> EntrySealer<'a> {
        EntrySealer {
            context,
            keys: Vec::new(),
            sealed: Vec::new(),
            seal_keys: Vec::new(),
        }
    }

    /// Seals `value` as field `name` under `category`'s epoch `epoch`, whose public key is
    /// `epoch_key`. The first field of a category epoch draws its field key and wraps it.
    pub fn seal(
        &mut self,
        epoch_key: &EpochPublicKey,
        category: &Category,
        epoch: u32,
        name: &FieldName,
        value: &str,
        rng: &mut impl CryptoRng,
    ) -> Result<(), EntrySealError> {
        let index = match self
            .keys
            .iter()
            .position(|(held, held_epoch, _)| held == category && *held_epoch == epoch)
        {
            Some(index) => index,
            None => {
                let key = FieldKey::generate(rng);
                let context = SealKeyContext {
                    chain_id: self.context.chain_id,
                    category,
                    epoch,
                };
                self.seal_keys
                    .push(wrap_field_key(&key, epoch_key, &context, rng)?);
                self.keys.push((category.clone(), epoch, key));
                self.keys.len() - 1
            }
        };
        let key = &self.keys[index].2;
        let field = seal(key, category, epoch, &self.context, name, value, rng)?;
        self.sealed.push(field);
        Ok(())
    }

    /// The sealed fields and the seal keys, for the entry's `sealed` and `seal_keys`. The field
    /// keys are wiped.
    pub fn finish(self) -> (Vec<SealedField>, Vec<SealKey>) {
        (self.sealed, self.seal_keys)
    }
}
