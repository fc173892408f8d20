//! Key epochs of the sealed-field categories: who may read customer data and partner secrets.
//!
//! Each category (customer-pii, partner-banking, ...) has a sequence of epochs. An epoch is an
//! X25519 key pair: its public key is on the chain, so any writer (the sales desk importing
//! orders) seals fields to it without being able to read; its secret is granted on the chain to
//! each reader, wrapped (HPKE) to the reader's member key. The chain checks who may be granted
//! (the roles the genesis read policy names for the category, and auditors) but cannot see the
//! keys themselves.
//!
//! - Opening a new epoch (rotation) retires the previous one: fields are sealed only under the
//!   current epoch, while old ones stay readable by their grantees.
//! - Revoking a reader keeps it out of every later epoch and retires the current epoch if it holds
//!   its key, so nothing written from then on is readable to it. Revocation does not reach back:
//!   what it could read before, it already could have copied.
//! - Erasing an epoch (a customer's right to be forgotten) drops its grants from the state and
//!   refuses any further use; nodes and clients then refuse to open its fields. The chain still
//!   verifies: ciphertexts and commitments stay where they are. The wrapped grants in the blocks
//!   that carried them stay too, so a reader that kept its unwrapped epoch key, or that unwraps its
//!   old grant with its member key, can still read: erasure is as strong as the grantees' honesty
//!   about deleting keys, which is the limit of every key-destruction scheme with past readers.
//!
//! Every change here is an administrator's transaction. A refused change changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tally_identity::PublicKey;
use tally_ledger::{Category, Role, ENCAPPED_KEY_BYTES};

/// Most grants in one transaction: every reader of a large enterprise at once.
pub const GRANTS_PER_TX_MAX: usize = 256;

/// Longest wrapped epoch secret: 32 bytes and a 16-byte tag, with room to spare.
pub const WRAPPED_GRANT_LEN_MAX: usize = 64;

/// Most categories in a read policy.
pub const CATEGORIES_MAX: usize = 16;

/// Most epochs of one category: a rotation a day for decades. Bounds the state.
pub const EPOCHS_PER_CATEGORY_MAX: usize = 16_384;

/// Bytes of an epoch's X25519 public key.
pub const EPOCH_PUBLIC_KEY_BYTES: usize = 32;

/// Which roles may be granted each category's keys. Auditors may be granted any category: an
/// auditor reads what its grant says.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ReadPolicy {
    /// The categories and the roles that read them.
    pub readers: BTreeMap<Category, Vec<Role>>,
}

impl Default for ReadPolicy {
    /// Logistics and customer service read customer data (they ship and answer customers);
    /// finance reads partners' bank details (it pays them). Finance does not read customer data.
    fn default() -> Self {
        ReadPolicy {
            readers: BTreeMap::from([
                (
                    Category::customer_pii(),
                    vec![Role::Logistics, Role::Service],
                ),
                (Category::partner_banking(), vec![Role::Finance]),
            ]),
        }
    }
}

/// A read policy the chain cannot start with.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ReadPolicyError {
    #[error("the read policy names {count} categories, more than {CATEGORIES_MAX}")]
    TooManyCategories { count: usize },
}

impl ReadPolicy {
    pub fn validate(&self) -> Result<(), ReadPolicyError> {
        if self.readers.len() > CATEGORIES_MAX {
            return Err(ReadPolicyError::TooManyCategories {
                count: self.readers.len(),
            });
        }
        Ok(())
    }
}

/// One reader's copy of an epoch secret, wrapped to its member key.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct KeyGrant {
    /// The reader.
    pub member: PublicKey,
    /// The sender's ephemeral X25519 public key.
    pub encapped: [u8; ENCAPPED_KEY_BYTES],
    /// The epoch secret, sealed to the reader.
    pub wrapped: Vec<u8>,
}

/// An administrator's change to the keys of a category.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum KeyChange {
    /// Start the category's next epoch with this public key and these first grants; the
    /// previous epoch is retired. `epoch` must be the next number: the grants were wrapped for
    /// it, and two administrators opening an epoch at once must not both succeed.
    OpenEpoch {
        category: Category,
        epoch: u32,
        public: [u8; EPOCH_PUBLIC_KEY_BYTES],
        grants: Vec<KeyGrant>,
    },
    /// Grant an existing epoch to more readers (a new colleague, an auditor).
    Grant {
        category: Category,
        epoch: u32,
        grants: Vec<KeyGrant>,
    },
    /// Keep a member out of the category's later epochs.
    RevokeReader {
        category: Category,
        member: PublicKey,
    },
    /// Destroy an epoch: its grants leave the state and it may never be used again.
    EraseEpoch { category: Category, epoch: u32 },
}

/// Where an epoch stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum EpochStatus {
    /// The one fields are sealed under.
    Active,
    /// Readable by its grantees, no longer sealed under.
    Retired,
    /// Destroyed: no grants, no use.
    Erased,
}

impl EpochStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EpochStatus::Active => "active",
            EpochStatus::Retired => "retired",
            EpochStatus::Erased => "erased",
        }
    }
}

/// One epoch of a category.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct KeyEpoch {
    /// The public key fields are sealed to.
    pub public: [u8; EPOCH_PUBLIC_KEY_BYTES],
    /// The height of the block that opened it.
    pub opened_at: u64,
    pub status: EpochStatus,
    /// The wrapped secret of each reader (empty once erased).
    pub grants: BTreeMap<PublicKey, KeyGrant>,
}

/// The keys of one category.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CategoryKeys {
    /// The roles that may be granted it (auditors always may).
    pub readers: Vec<Role>,
    /// Its epochs, the index being the epoch number.
    pub epochs: Vec<KeyEpoch>,
    /// Members kept out of its later epochs.
    pub revoked: BTreeSet<PublicKey>,
}

/// What the sealing rules need to know of a member.
#[derive(Clone, Copy, Debug)]
pub struct MemberStanding {
    pub role: Role,
    /// Not revoked and within its certificate's validity.
    pub active: bool,
}

/// Why a key change, a sealed field or a read was refused.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum SealingError {
    #[error("role '{role}' may not change keys (administrators do)")]
    NotAdmin { role: &'static str },
    #[error("unknown key category '{category}' (this chain has: {known})")]
    UnknownCategory { category: Category, known: String },
    #[error("{category} epoch {given} cannot open: the next epoch is {next}")]
    EpochOutOfOrder {
        category: Category,
        given: u32,
        next: u32,
    },
    #[error("{category} has no epoch {epoch}")]
    UnknownEpoch { category: Category, epoch: u32 },
    #[error("{category} epoch {epoch} was erased: its fields can no longer be read or written")]
    Erased { category: Category, epoch: u32 },
    #[error("{category} epoch {epoch} is retired: seal under its current epoch {current}")]
    Retired {
        category: Category,
        epoch: u32,
        current: u32,
    },
    #[error("{category} has no open epoch: an administrator must open one first")]
    NoActiveEpoch { category: Category },
    #[error("member {member} (role {role}) may not read {category}")]
    NotReader {
        member: PublicKey,
        role: &'static str,
        category: Category,
    },
    #[error("member {member} was revoked from {category}")]
    ReaderRevoked {
        member: PublicKey,
        category: Category,
    },
    #[error("member {member} is not an active member of this chain")]
    InactiveMember { member: PublicKey },
    #[error("member {member} appears twice in the grants")]
    DuplicateGrant { member: PublicKey },
    #[error("member {member} already holds {category} epoch {epoch}")]
    AlreadyGranted {
        member: PublicKey,
        category: Category,
        epoch: u32,
    },
    #[error("{count} grants in one transaction, more than {GRANTS_PER_TX_MAX}")]
    TooManyGrants { count: usize },
    #[error("no grants given")]
    NoGrants,
    #[error("the grant for {member} is {len} bytes long (at most {WRAPPED_GRANT_LEN_MAX})")]
    GrantTooLong { member: PublicKey, len: usize },
    #[error("{category} already has {EPOCHS_PER_CATEGORY_MAX} epochs")]
    TooManyEpochs { category: Category },
    #[error("not authorised for {category} (epoch {epoch}): no key grant for member {member}")]
    NotAuthorised {
        category: Category,
        epoch: u32,
        member: PublicKey,
    },
}

/// The keys of every category of a chain.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Sealing {
    pub categories: BTreeMap<Category, CategoryKeys>,
}

impl Sealing {
    /// The categories of a read policy, with no epochs yet.
    pub fn from_policy(policy: &ReadPolicy) -> Sealing {
        Sealing {
            categories: policy
                .readers
                .iter()
                .map(|(category, readers)| {
                    let keys = CategoryKeys {
                        readers: readers.clone(),
                        epochs: Vec::new(),
                        revoked: BTreeSet::new(),
                    };
                    (*category, keys)
                })
                .collect(),
        }
    }

    /// A digest of everything here, for the state root.
    pub fn digest(&self) -> [u8; 32] {
        let bytes = postcard::to_stdvec(self).expect("serialising to a Vec cannot fail");
        Sha256::digest([b"tally/v1/sealing".as_slice(), &bytes].concat()).into()
    }

    /// A category's keys, or an error naming the known ones.
    pub fn category(&self, category: &Category) -> Result<&CategoryKeys, SealingError> {
        self.categories
            .get(category)
            .ok_or_else(|| SealingError::UnknownCategory {
                category: *category,
                known: self.known(),
            })
    }

    fn known(&self) -> String {
        let names: Vec<&str> = self.categories.keys().map(Category::as_str).collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    }

    /// An epoch of a category, whatever its status.
    pub fn epoch(&self, category: &Category, epoch: u32) -> Result<&KeyEpoch, SealingError> {
        self.category(category)?
            .epochs
            .get(epoch as usize)
            .ok_or(SealingError::UnknownEpoch {
                category: *category,
                epoch,
            })
    }

    /// Whether a field may be sealed under this epoch now: only the active one.
    pub fn check_seal(&self, category: &Category, epoch: u32) -> Result<(), SealingError> {
        let keys = self.category(category)?;
        match self.epoch(category, epoch)?.status {
            EpochStatus::Active => Ok(()),
            EpochStatus::Erased => Err(SealingError::Erased {
                category: *category,
                epoch,
            }),
            EpochStatus::Retired => match keys.active() {
                Some(current) => Err(SealingError::Retired {
                    category: *category,
                    epoch,
                    current,
                }),
                None => Err(SealingError::NoActiveEpoch {
                    category: *category,
                }),
            },
        }
    }

    /// The grant a member holds for an epoch, which it needs to read fields sealed under it.
    pub fn grant_of(
        &self,
        category: &Category,
        epoch: u32,
        member: &PublicKey,
    ) -> Result<&KeyGrant, SealingError> {
        let record = self.epoch(category, epoch)?;
        if record.status == EpochStatus::Erased {
            return Err(SealingError::Erased {
                category: *category,
                epoch,
            });
        }
        record
            .grants
            .get(member)
            .ok_or(SealingError::NotAuthorised {
                category: *category,
                epoch,
                member: *member,
            })
    }

    /// Applies an administrator's change; on error nothing changes. `standing` tells a member's
    /// role and whether it is active.
    pub fn change(
        &mut self,
        change: &KeyChange,
        role: Role,
        height: u64,
        standing: &dyn Fn(&PublicKey) -> Option<MemberStanding>,
    ) -> Result<(), SealingError> {
        if role != Role::Admin {
            return Err(SealingError::NotAdmin {
                role: role.as_str(),
            });
        }
        match change {
            KeyChange::OpenEpoch {
                category,
                epoch: given,
                public,
                grants,
            } => {
                let keys = self.category(category)?;
                if keys.epochs.len() >= EPOCHS_PER_CATEGORY_MAX {
                    return Err(SealingError::TooManyEpochs {
                        category: *category,
                    });
                }
                let epoch = keys.epochs.len() as u32;
                if *given != epoch {
                    return Err(SealingError::EpochOutOfOrder {
                        category: *category,
                        given: *given,
                        next: epoch,
                    });
                }
                let granted = check_grants(keys, category, epoch, None, grants, standing)?;
                let keys = self.categories.get_mut(category).expect("checked above");
                for old in &mut keys.epochs {
                    if old.status == EpochStatus::Active {
                        old.status = EpochStatus::Retired;
                    }
                }
                keys.epochs.push(KeyEpoch {
                    public: *public,
                    opened_at: height,
                    status: EpochStatus::Active,
                    grants: granted,
                });
                Ok(())
            }
            KeyChange::Grant {
                category,
                epoch,
                grants,
            } => {
                let record = self.epoch(category, *epoch)?;
                if record.status == EpochStatus::Erased {
                    return Err(SealingError::Erased {
                        category: *category,
                        epoch: *epoch,
                    });
                }
                let keys = self.category(category)?;
                let granted = check_grants(keys, category, *epoch, Some(record), grants, standing)?;
                let keys = self.categories.get_mut(category).expect("checked above");
                keys.epochs[*epoch as usize].grants.extend(granted);
                Ok(())
            }
            KeyChange::RevokeReader { category, member } => {
                self.category(category)?;
                let keys = self.categories.get_mut(category).expect("checked above");
                keys.revoked.insert(*member);
                keys.retire_if_held(member);
                Ok(())
            }
            KeyChange::EraseEpoch { category, epoch } => {
                let record = self.epoch(category, *epoch)?;
                if record.status == EpochStatus::Erased {
                    return Err(SealingError::Erased {
                        category: *category,
                        epoch: *epoch,
                    });
                }
                let keys = self.categories.get_mut(category).expect("checked above");
                let record = &mut keys.epochs[*epoch as usize];
                record.status = EpochStatus::Erased;
                record.grants.clear();
                Ok(())
            }
        }
    }

    /// A member left the chain: it is kept out of every category's later epochs, and each
    /// active epoch it holds is retired.
    pub fn member_revoked(&mut self, member: &PublicKey) {
        for keys in self.categories.values_mut() {
            let holds = keys
                .epochs
                .iter()
                .any(|epoch| epoch.grants.contains_key(member));
            if holds {
                keys.revoked.insert(*member);
                keys.retire_if_held(member);
            }
        }
    }
}

impl CategoryKeys {
    /// The epoch fields are sealed under now, if any.
    pub fn active(&self) -> Option<u32> {
        self.epochs
            .iter()
            .position(|epoch| epoch.status == EpochStatus::Active)
            .map(|index| index as u32)
    }

    /// Retires the active epoch if `member` holds its key.
    fn retire_if_held(&mut self, member: &PublicKey) {
        for epoch in &mut self.epochs {
            if epoch.status == EpochStatus::Active && epoch.grants.contains_key(member) {
                epoch.status = EpochStatus::Retired;
            }
        }
    }
}

/// Checks a list of grants for an epoch and returns them by member.
fn check_grants(
    keys: &CategoryKeys,
    category: &Category,
    epoch: u32,
    existing: Option<&KeyEpoch>,
    grants: &[KeyGrant],
    standing: &dyn Fn(&PublicKey) -> Option<MemberStanding>,
) -> Result<BTreeMap<PublicKey, KeyGrant>, SealingError> {
    if grants.len() > GRANTS_PER_TX_MAX {
        return Err(SealingError::TooManyGrants {
            count: grants.len(),
        });
    }
    if existing.is_some() && grants.is_empty() {
        return Err(SealingError::NoGrants);
    }
    let mut granted = BTreeMap::new();
    for grant in grants {
        let member = grant.member;
        let Some(standing) = standing(&member).filter(|standing| standing.active) else {
            return Err(SealingError::InactiveMember { member });
        };
        if standing.role != Role::Auditor && !keys.readers.contains(&standing.role) {
            return Err(SealingError::NotReader {
                member,
                role: standing.role.as_str(),
                category: *category,
            });
        }
        if keys.revoked.contains(&member) {
            return Err(SealingError::ReaderRevoked {
                member,
                category: *category,
            });
        }
        if grant.wrapped.len() > WRAPPED_GRANT_LEN_MAX {
            return Err(SealingError::GrantTooLong {
                member,
                len: grant.wrapped.len(),
            });
        }
        if existing.is_some_and(|epoch| epoch.grants.contains_key(&member)) {
            return Err(SealingError::AlreadyGranted {
                member,
                category: *category,
                epoch,
            });
        }
        if granted.insert(member, grant.clone()).is_some() {
            return Err(SealingError::DuplicateGrant { member });
        }
    }
    Ok(granted)
}
