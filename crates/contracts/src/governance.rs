//! Changes to the registry, decided by a threshold of active enterprises.
//!
//! An action is checked against the registry when it is proposed and again
//! when it would be applied, because other proposals may have changed the
//! registry in between (the same name added twice, say).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::ContractError;
use crate::names::EnterpriseName;
use crate::registry::{check_validator_key, EnterpriseRecord, ENTERPRISES_MAX};

/// A change of the registry.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GovernanceAction {
    /// Admits a new, active enterprise under a name never used before.
    AddEnterprise {
        /// Its name.
        name: EnterpriseName,
        /// Its record; `active` must be true.
        record: EnterpriseRecord,
    },
    /// Deactivates an enterprise. Its name stays taken and its contracts stay,
    /// but it may no longer sign or enter contracts.
    RemoveEnterprise {
        /// The enterprise.
        name: EnterpriseName,
    },
    /// Replaces an active enterprise's consensus key.
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
/// active, root keys unique, validator keys well formed.
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
    for (name, record) in enterprises {
        if let Some(other) = roots.insert(record.root_key, name) {
            return Err(ContractError::DuplicateRootKey {
                enterprise: name.clone(),
                other: other.clone(),
            });
        }
        if let Some(key) = &record.validator_key {
            check_validator_key(name, key)?;
        }
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
    /// Whether the action can be applied to `enterprises` now.
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
                Ok(())
            }
            GovernanceAction::RotateValidatorKey {
                enterprise,
                new_key,
            } => {
                require_active(enterprises, enterprise)?;
                check_validator_key(enterprise, new_key)
            }
        }
    }

    /// Applies an action that [`check`](Self::check) accepted on this same
    /// registry; it cannot fail then.
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
    }
}
