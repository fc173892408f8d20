//! A member's keyring: the epoch secrets it holds, by category and epoch, and the epochs it
//! erased; and opening an entry's field with them.

use std::collections::{BTreeMap, BTreeSet};

use tally_ledger::{Category, FieldName, SealKey, SealedField, SealedGroup};

use crate::grant::{unwrap_field_key, UnwrapError};
use crate::group::{open_group, OpenedField};
use crate::key::EpochSecret;
use crate::seal::{open, OpenError, Opened, SealContext};

/// Why the keyring has no key for a category and epoch.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum KeyringError {
    /// No key was ever granted to this member (or inserted) for it.
    #[error("not authorised for {category} (epoch {epoch}): no key grant for this member")]
    NotGranted {
        /// The category.
        category: Category,
        /// The epoch.
        epoch: u32,
    },
    /// The key was erased: the epoch's fields are unreadable for good.
    #[error("{category} epoch {epoch} was erased: its fields can no longer be read")]
    Erased {
        /// The category.
        category: Category,
        /// The epoch.
        epoch: u32,
    },
}

/// Epoch secrets in memory, by (category, epoch). Dropping the keyring wipes every secret.
#[derive(Default, Debug)]
pub struct Keyring {
    keys: BTreeMap<(Category, u32), EpochSecret>,
    erased: BTreeSet<(Category, u32)>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Holds `key` for `category` and `epoch`, replacing (and wiping) any key held for them.
    /// An erased epoch stays erased: the key is dropped, and `false` returned.
    pub fn insert(&mut self, category: Category, epoch: u32, key: EpochSecret) -> bool {
        let slot = (category, epoch);
        if self.erased.contains(&slot) {
            return false;
        }
        self.keys.insert(slot, key);
        true
    }

    /// The key for `category` and `epoch`.
    pub fn get(&self, category: &Category, epoch: u32) -> Result<&EpochSecret, KeyringError> {
        let slot = (*category, epoch);
        if let Some(key) = self.keys.get(&slot) {
            return Ok(key);
        }
        if self.erased.contains(&slot) {
            return Err(KeyringError::Erased {
                category: *category,
                epoch,
            });
        }
        Err(KeyringError::NotGranted {
            category: *category,
            epoch,
        })
    }

    /// Drops (and so wipes) the key for `category` and `epoch`, and remembers the epoch as
    /// erased. Returns whether a key was held.
    ///
    /// This erases this keyring's copy only: see the crate documentation for what erasure can
    /// and cannot promise.
    pub fn erase(&mut self, category: &Category, epoch: u32) -> bool {
        let slot = (*category, epoch);
        let held = self.keys.remove(&slot).is_some();
        self.erased.insert(slot);
        held
    }

    /// Whether the epoch was erased.
    pub fn is_erased(&self, category: &Category, epoch: u32) -> bool {
        self.erased.contains(&(*category, epoch))
    }

    /// The (category, epoch) pairs held, in order.
    pub fn held(&self) -> impl Iterator<Item = (&Category, u32)> {
        self.keys.keys().map(|(category, epoch)| (category, *epoch))
    }

    /// Opens one sealed field of an entry: finds the entry's seal key for the field's category
    /// and epoch, unwraps it with the epoch secret held, and opens the field.
    pub fn open(
        &self,
        seal_keys: &[SealKey],
        field: &SealedField,
        context: &SealContext<'_>,
    ) -> Result<Opened, ReadError> {
        let secret = self.get(&field.category, field.epoch)?;
        let seal_key = seal_keys
            .iter()
            .find(|key| key.category == field.category && key.epoch == field.epoch)
            .ok_or(ReadError::NoSealKey {
                name: field.name,
                category: field.category,
                epoch: field.epoch,
            })?;
        let key = unwrap_field_key(seal_key, secret, context.chain_id)?;
        Ok(open(&key, field, context)?)
    }

    /// Opens a group of sealed fields of an entry, as [`Self::open`] opens one field.
    pub fn open_group(
        &self,
        seal_keys: &[SealKey],
        group: &SealedGroup,
        context: &SealContext<'_>,
    ) -> Result<Vec<OpenedField>, ReadError> {
        let secret = self.get(&group.category, group.epoch)?;
        let seal_key = seal_keys
            .iter()
            .find(|key| key.category == group.category && key.epoch == group.epoch)
            .ok_or(ReadError::NoSealKey {
                name: *group
                    .names
                    .first()
                    .ok_or(ReadError::Open(OpenError::GroupLength {
                        category: group.category,
                        epoch: group.epoch,
                        len: group.ciphertext.len(),
                        fields: 0,
                    }))?,
                category: group.category,
                epoch: group.epoch,
            })?;
        let key = unwrap_field_key(seal_key, secret, context.chain_id)?;
        Ok(open_group(&key, group, context)?)
    }
}

/// Why a field of an entry could not be read.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ReadError {
    /// No secret for the field's category and epoch.
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// The entry has no seal key for the field (the chain refuses such entries).
    #[error("sealed field '{name}' has no seal key for {category} epoch {epoch} in its entry")]
    NoSealKey {
        /// The field's name.
        name: FieldName,
        /// Its category.
        category: Category,
        /// Its epoch.
        epoch: u32,
    },
    /// The seal key does not unwrap.
    #[error(transparent)]
    Unwrap(#[from] UnwrapError),
    /// The field does not open.
    #[error(transparent)]
    Open(#[from] OpenError),
}
