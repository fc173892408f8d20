//! Changes to the registry, decided by a threshold of active enterprises.
//!
//! An action is checked against the registry when it is proposed and again
//! when it would be applied, because other proposals may have changed the
//! registry in between (the same name added twice, say).
//!
//! The consortium chain's validator set is derived from the registry: the
//! validator keys of the active enterprises that have one. Governance keeps
//! that set well formed:
//! - no two records share a validator key, removed enterprises included,
//!   since certificates of past epochs are signed with their keys. Only
//!   current keys are known: a key rotated away is not remembered, so it is
//!   not protected;
//! - a set that is not empty never becomes empty: the last active enterprise
//!   with a validator key cannot be removed;
//! - it stays within [`VALIDATORS_MAX`](crate::VALIDATORS_MAX), because keys
//!   are unique and the registry holds at most [`ENTERPRISES_MAX`] records.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::ContractError;
use crate::names::EnterpriseName;
use crate::registry::{check_validator_key, EnterpriseRecord, ENTERPRISES_MAX};

/// A change of the registry.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GovernanceAction {
    /// Admits a new, active enterprise under a name never used before, with a
    /// root key and a validator key (if any) no other record has.
    AddEnterprise {
        /// Its name.
        name: EnterpriseName,
        /// Its record; `active` must be true.
        record: EnterpriseRecord,
    },
    /// Deactivates an enterprise. Its name stays taken and its contracts stay,
    /// but it may no longer sign or enter contracts. Its validator key leaves
    /// the validator set but stays taken. Refused for the last active
    /// enterprise, and for the last active one with a validator key.
    RemoveEnterprise {
        /// The enterprise.
        name: EnterpriseName,
    },
    /// Replaces an active enterprise's consensus key (or gives it one) by a
    /// key that differs from its current one and that no other record of the
    /// registry has, removed enterprises included.
    RotateValidatorKey {
        /// The enterprise.
        enterprise: EnterpriseName,
        /// Hex of the new key.
        new_key: String,
    },
}

/// A governance proposal and who approved it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Proposal {
    /// The change.
    pub action: GovernanceAction,
    /// Enterprises that approved, the proposer included. Only active ones
    /// count towards the threshold.
    pub approvals: BTreeSet<EnterpriseName>,
    /// Whether the change was applied; an applied proposal is closed.
    pub applied: bool,
}

/// The registry a governance action works on.
pub(crate) type Registry = BTreeMap<EnterpriseName, EnterpriseRecord>;

/// Checks that a registry's records are consistent: few enough, at least one
/// active, root keys unique, validator keys well formed and unique (removed
/// enterprises included).
///
/// It does not require any validator key: a consortium whose chain takes its
/// validators from the genesis alone registers none.
pub(crate) fn check_registry(enterprises: &Registry) -> Result<(), ContractError> {
    if enterprises.len() > ENTERPRISES_MAX {
        return Err(ContractError::TooManyEnterprises {
            count: enterprises.len(),
        });
    }
    if !enterprises.values().any(|record| record.active) {
        return Err(ContractError::NoActiveEnterprise);
    }
    let mut roots = BTreeMap::new();
    let mut validators: BTreeMap<&str, &EnterpriseName> = BTreeMap::new();
    for (name, record) in enterprises {
        if let Some(other) = roots.insert(record.root_key, name) {
            return Err(ContractError::DuplicateRootKey {
                enterprise: name.clone(),
                other: other.clone(),
            });
        }
        if let Some(key) = &record.validator_key {
            check_validator_key(name, key)?;
            if let Some(other) = validators.insert(key, name) {
                return Err(ContractError::ValidatorKeyInUse {
                    enterprise: name.clone(),
                    other: other.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Whether `record` contributes a key to the validator set: it is active and
/// has a validator key.
fn is_validator(record: &EnterpriseRecord) -> bool {
    record.active && record.validator_key.is_some()
}

/// Refuses `key` as the validator key of `enterprise` when another record of
/// the registry, active or removed, has it. A record of `enterprise` itself
/// is not an owner: callers refuse a rotation to the current key first.
fn require_validator_key_free(
    enterprises: &Registry,
    enterprise: &EnterpriseName,
    key: &str,
) -> Result<(), ContractError> {
    let owner = enterprises
        .iter()
        .find(|(name, record)| *name != enterprise && record.validator_key.as_deref() == Some(key));
    match owner {
        Some((other, _)) => Err(ContractError::ValidatorKeyInUse {
            enterprise: enterprise.clone(),
            other: other.clone(),
        }),
        None => Ok(()),
    }
}

/// Refuses taking `enterprise` out of the validator set (deactivating it or
/// clearing its key) when it is the last active enterprise with a validator
/// key: the consortium chain would have no validators. A registry whose set
/// is empty already (validators from the genesis alone) is not concerned.
fn require_other_validator(
    enterprises: &Registry,
    enterprise: &EnterpriseName,
) -> Result<(), ContractError> {
    let is_one = enterprises.get(enterprise).is_some_and(is_validator);
    let others = enterprises
        .iter()
        .any(|(name, record)| name != enterprise && is_validator(record));
    if is_one && !others {
        return Err(ContractError::LastValidator {
            enterprise: enterprise.clone(),
        });
    }
    Ok(())
}

/// Refuses an action on an enterprise that is not active.
fn require_active(enterprises: &Registry, name: &EnterpriseName) -> Result<(), ContractError> {
    match enterprises.get(name) {
        Some(record) if record.active => Ok(()),
        _ => Err(ContractError::TargetNotActive {
            enterprise: name.clone(),
        }),
    }
}

impl GovernanceAction {
    /// Whether the action can be applied to `enterprises` now. Called when the
    /// action is proposed and again, on the registry of that moment, when the
    /// approval that meets the threshold would apply it; a refusal then
    /// refuses that approval, and nothing changes.
    pub(crate) fn check(&self, enterprises: &Registry) -> Result<(), ContractError> {
        match self {
            GovernanceAction::AddEnterprise { name, record } => {
                if enterprises.contains_key(name) {
                    return Err(ContractError::EnterpriseExists {
                        enterprise: name.clone(),
                    });
                }
                if !record.active {
                    return Err(ContractError::AddedInactive {
                        enterprise: name.clone(),
                    });
                }
                if enterprises.len() >= ENTERPRISES_MAX {
                    return Err(ContractError::TooManyEnterprises {
                        count: enterprises.len().saturating_add(1),
                    });
                }
                if let Some((other, _)) = enterprises
                    .iter()
                    .find(|(_, existing)| existing.root_key == record.root_key)
                {
                    return Err(ContractError::DuplicateRootKey {
                        enterprise: name.clone(),
                        other: other.clone(),
                    });
                }
                if let Some(key) = &record.validator_key {
                    check_validator_key(name, key)?;
                    require_validator_key_free(enterprises, name, key)?;
                }
                Ok(())
            }
            GovernanceAction::RemoveEnterprise { name } => {
                require_active(enterprises, name)?;
                let active = enterprises.values().filter(|record| record.active).count();
                if active <= 1 {
                    return Err(ContractError::LastEnterprise {
                        enterprise: name.clone(),
                    });
                }
                require_other_validator(enterprises, name)
            }
            GovernanceAction::RotateValidatorKey {
                enterprise,
                new_key,
            } => {
                require_active(enterprises, enterprise)?;
                check_validator_key(enterprise, new_key)?;
                let current = enterprises
                    .get(enterprise)
                    .and_then(|record| record.validator_key.as_deref());
                if current == Some(new_key.as_str()) {
                    return Err(ContractError::ValidatorKeyUnchanged {
                        enterprise: enterprise.clone(),
                    });
                }
                // The enterprise keeps (or gains) a key, so the validator set
                // cannot become empty.
                require_validator_key_free(enterprises, enterprise, new_key)
            }
        }
    }

    /// Applies an action that [`check`](Self::check) accepted on this same
    /// registry; it cannot fail then, and the registry stays consistent
    /// ([`check_registry`], asserted in debug builds).
    pub(crate) fn apply_to(&self, enterprises: &mut Registry) {
        match self {
            GovernanceAction::AddEnterprise { name, record } => {
                enterprises.insert(name.clone(), record.clone());
            }
            GovernanceAction::RemoveEnterprise { name } => {
                if let Some(record) = enterprises.get_mut(name) {
                    record.active = false;
                }
            }
            GovernanceAction::RotateValidatorKey {
                enterprise,
                new_key,
            } => {
                if let Some(record) = enterprises.get_mut(enterprise) {
                    record.validator_key = Some(new_key.clone());
                }
            }
        }
        debug_assert_eq!(
            check_registry(enterprises),
            Ok(()),
            "{self:?} was not checked"
        );
    }
}
