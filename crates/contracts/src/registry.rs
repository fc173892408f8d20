//! Who is in the consortium: enterprises, their records, the governance
//! threshold and the signer of a call.

use std::fmt;

use serde::{Deserialize, Serialize};
use tally_identity::PublicKey;
use tally_ledger::Role;

use crate::error::ContractError;
use crate::names::EnterpriseName;

/// Most enterprises a consortium may register, removed ones included.
///
/// Every enterprise runs a validator of the consortium chain, and a chain has
/// at most 64 validators (all-to-all voting must stay affordable); removed
/// names stay registered so that they cannot be taken over, which the bound
/// also covers.
pub const ENTERPRISES_MAX: usize = 64;

/// Most validators a chain may have; mirrors `tally_chain::VALIDATORS_MAX`
/// (`crates/chain/src/genesis.rs`), which this crate cannot import because the
/// chain depends on it. Keep the two equal.
///
/// The consortium's validator set is the validator keys of its active
/// enterprises. Validator keys are unique across the registry (see
/// [`Consortium::new`](crate::Consortium::new)), so the set is never larger
/// than the registry, which holds at most [`ENTERPRISES_MAX`] records: the
/// assertion below keeps that bound within this one, so that no governance
/// action needs a separate check. Raising [`ENTERPRISES_MAX`] above it means
/// adding that check.
pub const VALIDATORS_MAX: usize = 64;

const _: () = assert!(
    ENTERPRISES_MAX <= VALIDATORS_MAX,
    "the registry bound must keep the validator set within VALIDATORS_MAX"
);

/// Length of a validator key in hex: an Ed25519 consensus key is 32 bytes.
pub const VALIDATOR_KEY_HEX_LEN: usize = 64;

/// What an enterprise does in the consortium. Some roles in contracts need a
/// kind: a carrier must be a carrier, a marketplace buying as agent or taking
/// a commission must be a marketplace, and only a payment provider may settle
/// contracts it is not paid by. Serialized in lower case.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnterpriseKind {
    /// Sells goods.
    Merchant,
    /// Sells goods to merchants.
    Supplier,
    /// Ships goods.
    Carrier,
    /// Runs a platform that sells merchants' goods for a commission.
    Marketplace,
    /// Moves the money and confirms settlements.
    PaymentProvider,
}

impl EnterpriseKind {
    /// The lower-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            EnterpriseKind::Merchant => "merchant",
            EnterpriseKind::Supplier => "supplier",
            EnterpriseKind::Carrier => "carrier",
            EnterpriseKind::Marketplace => "marketplace",
            EnterpriseKind::PaymentProvider => "paymentprovider",
        }
    }
}

impl fmt::Display for EnterpriseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One enterprise of the registry.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EnterpriseRecord {
    /// The root key that certifies the enterprise's members; a signer is
    /// mapped to its enterprise through it.
    pub root_key: PublicKey,
    /// What the enterprise does.
    pub kind: EnterpriseKind,
    /// False once governance removed it. Removed enterprises stay in the
    /// registry so that their name cannot be reused for someone else.
    pub active: bool,
    /// Hex of the enterprise's consensus key, if it runs a validator. Rotated
    /// by governance.
    pub validator_key: Option<String>,
}

/// Checks a validator key's form: exactly [`VALIDATOR_KEY_HEX_LEN`] lower-case
/// hex characters. Lower case only, so each key has one spelling and two
/// records cannot name the same key differently.
pub(crate) fn check_validator_key(
    enterprise: &EnterpriseName,
    key: &str,
) -> Result<(), ContractError> {
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if key.len() == VALIDATOR_KEY_HEX_LEN && key.bytes().all(lower_hex) {
        Ok(())
    } else {
        Err(ContractError::ValidatorKeyInvalid {
            enterprise: enterprise.clone(),
        })
    }
}

/// The share of active enterprises whose approval applies a governance
/// action: a proposal passes when `approvals * denominator >= numerator *
/// active`, so 2/3 of 4 enterprises needs 3.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Threshold {
    /// Top of the fraction, greater than zero.
    pub numerator: u32,
    /// Bottom of the fraction, at least the numerator.
    pub denominator: u32,
}

impl Threshold {
    /// Refuses a zero threshold (anyone alone could change the registry
    /// without even proposing) and one above one (nothing could pass).
    pub fn validate(&self) -> Result<(), ContractError> {
        if self.numerator == 0 || self.numerator > self.denominator {
            return Err(ContractError::ThresholdInvalid {
                numerator: self.numerator,
                denominator: self.denominator,
            });
        }
        Ok(())
    }

    /// Whether `approvals` of `active` enterprises meet the threshold (never
    /// with zero approvals). Computed in `u128`, where the products of a count
    /// and a `u32` cannot overflow.
    pub fn is_met(&self, approvals: usize, active: usize) -> bool {
        let approvals = u64::try_from(approvals).unwrap_or(u64::MAX);
        let active = u64::try_from(active).unwrap_or(u64::MAX);
        approvals > 0
            && u128::from(approvals) * u128::from(self.denominator)
                >= u128::from(self.numerator) * u128::from(active)
    }
}

/// Who signed a call: the enterprise (found from the certificate's root key,
/// see [`Consortium::enterprise_of_root`](crate::Consortium::enterprise_of_root))
/// and the member's role within it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Signer {
    /// The signer's enterprise.
    pub enterprise: EnterpriseName,
    /// The signer's role in its enterprise.
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_counts() {
        let two_thirds = Threshold {
            numerator: 2,
            denominator: 3,
        };
        assert!(two_thirds.validate().is_ok());
        assert!(!two_thirds.is_met(2, 4));
        assert!(two_thirds.is_met(3, 4));
        assert!(two_thirds.is_met(2, 3));
        assert!(!two_thirds.is_met(0, 0));
        assert!(two_thirds.is_met(1, 1));
        let all = Threshold {
            numerator: 1,
            denominator: 1,
        };
        assert!(!all.is_met(3, 4));
        assert!(all.is_met(4, 4));
        let max = Threshold {
            numerator: u32::MAX,
            denominator: u32::MAX,
        };
        assert!(max.is_met(64, 64));
        for (numerator, denominator) in [(0, 3), (4, 3), (0, 0)] {
            let threshold = Threshold {
                numerator,
                denominator,
            };
            assert!(threshold.validate().is_err());
        }
        assert_eq!(
            Threshold {
                numerator: 0,
                denominator: 3
            }
            .validate()
            .unwrap_err()
            .to_string(),
            "threshold 0/3 is invalid (needs 0 < numerator <= denominator)"
        );
    }

    #[test]
    fn validator_keys() {
        let acme = EnterpriseName::new("acme").unwrap();
        assert!(check_validator_key(&acme, &"ab".repeat(32)).is_ok());
        assert!(check_validator_key(&acme, &"AB".repeat(32)).is_err());
        assert!(check_validator_key(&acme, &"ab".repeat(31)).is_err());
        assert!(check_validator_key(&acme, &"zz".repeat(32)).is_err());
    }
}
