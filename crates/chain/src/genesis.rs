//! Genesis: the validator set, the enterprise root key, the first members, the chart, the close
//! policy and the length of a validator-set epoch.
//!
//! Compatibility: a genesis is stored and hashed in its postcard encoding, which is not
//! self-describing. `epoch_blocks`, the last field, is left out of the encoding when it is `None`,
//! so a genesis without epochs encodes (and hashes) exactly as before the field existed, and
//! [`Genesis::from_stored_bytes`] reads both layouts.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tally_contracts::Consortium;
use tally_identity::{CertifiedMember, PublicKey};
use tally_ledger::{Account, Ledger};

use crate::{
    block::{header_digest, Block, Header},
    close::{ClosePolicy, ClosePolicyError, PeriodCloses},
    consortium::{certifying_enterprise, ConsortiumGenesis},
    epochs::{decode_validator_key, EPOCH_BLOCKS_MAX, EPOCH_BLOCKS_MIN},
    log::EntryLog,
    sealing::{ReadPolicy, ReadPolicyError, Sealing},
    state::{chain_hash, ChainState, MemberRecord},
};

/// Validators of one chain. At least 3f+1 = 4 tolerate one faulty validator; the upper bound
/// keeps certificates and all-to-all voting affordable.
pub const VALIDATORS_MAX: usize = 64;

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Validator {
    pub name: String,
    /// Hex of the validator's consensus (Ed25519) public key; it also names the node on p2p.
    pub consensus_key: String,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Genesis {
    pub chain_id: String,
    pub enterprise: String,
    /// Time of the genesis block, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The enterprise root key that certifies members.
    pub root_key: PublicKey,
    pub validators: Vec<Validator>,
    pub members: Vec<CertifiedMember>,
    pub chart: Vec<Account>,
    /// Present on the consortium chain: its enterprises and their root keys. Its members are
    /// certified by their own enterprise's root key; `root_key` is the convening enterprise's.
    #[serde(default)]
    pub consortium: Option<ConsortiumGenesis>,
    /// The roles that must each sign off a period close; finance alone when left out.
    #[serde(default)]
    pub close_policy: ClosePolicy,
    /// The roles that may be granted each sealed-field category's keys; logistics and customer
    /// service read customer-pii and finance reads partner-banking when left out.
    #[serde(default)]
    pub read_policy: ReadPolicy,
    /// Blocks per validator-set epoch (see `EpochSchedule`): at each epoch's last block the
    /// consortium registry's validator keys become the next epoch's validator set. `None` means
    /// one epoch forever: the validator set stays the genesis's. Left out of the encoding when
    /// `None`, so older genesis documents and their digests stay as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch_blocks: Option<NonZeroU64>,
}

/// The stored layout of a [`Genesis`] written before `epoch_blocks` existed: the same fields, in
/// the same order, without it. Postcard reads fields by position, so the current layout fails at
/// the end of such bytes.
#[derive(Serialize, Deserialize)]
struct LegacyGenesis {
    chain_id: String,
    enterprise: String,
    time_ms: u64,
    root_key: PublicKey,
    validators: Vec<Validator>,
    members: Vec<CertifiedMember>,
    chart: Vec<Account>,
    consortium: Option<ConsortiumGenesis>,
    close_policy: ClosePolicy,
    read_policy: ReadPolicy,
}

impl From<LegacyGenesis> for Genesis {
    fn from(legacy: LegacyGenesis) -> Genesis {
        let LegacyGenesis {
            chain_id,
            enterprise,
            time_ms,
            root_key,
            validators,
            members,
            chart,
            consortium,
            close_policy,
            read_policy,
        } = legacy;
        Genesis {
            chain_id,
            enterprise,
            time_ms,
            root_key,
            validators,
            members,
            chart,
            consortium,
            close_policy,
            read_policy,
            epoch_blocks: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("genesis names no validators")]
    NoValidators,
    #[error("genesis names {count} validators, more than the limit of {max}", max = VALIDATORS_MAX)]
    TooManyValidators { count: usize },
    #[error("genesis member {name}: {reason}")]
    BadMember { name: String, reason: String },
    #[error("genesis chart: {0}")]
    BadChart(String),
    #[error("genesis names member {0} twice")]
    DuplicateMember(PublicKey),
    #[error("genesis consortium: {0}")]
    BadConsortium(String),
    #[error("genesis close policy: {0}")]
    ClosePolicy(#[from] ClosePolicyError),
    #[error("genesis read policy: {0}")]
    ReadPolicy(#[from] ReadPolicyError),
    #[error("cannot read genesis {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("genesis epoch_blocks must be at least {min} (got {got})", min = EPOCH_BLOCKS_MIN)]
    EpochBlocksTooFew { got: u64 },
    #[error(
        "genesis epoch_blocks must be at most {max} (got {got}); leave it out for one epoch forever",
        max = EPOCH_BLOCKS_MAX
    )]
    EpochBlocksTooMany { got: u64 },
    #[error("genesis validator {name}: consensus key {key:?} is not 32 bytes of hex")]
    BadValidatorKey { name: String, key: String },
    #[error("genesis names validator key {0} twice")]
    DuplicateValidatorKey(String),
    #[error(
        "genesis consortium enterprise {enterprise}: validator_key {key:?} is not 32 bytes of hex"
    )]
    BadRegistryValidatorKey { enterprise: String, key: String },
    #[error(
        "genesis validator key {0} is not the validator_key of an active consortium enterprise; \
         with epoch_blocks set, the registry's validator keys are the validator set"
    )]
    ValidatorNotInRegistry(String),
    #[error(
        "genesis consortium enterprise {enterprise}: validator_key {key} is not a genesis \
         validator; with epoch_blocks set, the registry's validator keys are the validator set"
    )]
    RegistryKeyNotValidator { enterprise: String, key: String },
}

impl Genesis {
    /// A digest of the whole genesis document: the genesis block's parent.
    pub fn digest(&self) -> [u8; 32] {
        let bytes = postcard::to_stdvec(self).expect("serialising to a Vec cannot fail");
        Sha256::digest([b"tally/v1/genesis".as_slice(), &bytes].concat()).into()
    }

    /// Decodes a genesis from its stored postcard bytes, in the current layout or in the layout
    /// written before `epoch_blocks` existed (which decodes with `epoch_blocks: None`).
    ///
    /// The current layout is tried first: legacy bytes end where its last field would start, so
    /// it fails on them, and bytes of the current layout never reach the legacy decoder.
    pub fn from_stored_bytes(bytes: &[u8]) -> Result<Genesis, postcard::Error> {
        match postcard::from_bytes::<Genesis>(bytes) {
            Ok(genesis) => Ok(genesis),
            Err(error) => match postcard::from_bytes::<LegacyGenesis>(bytes) {
                Ok(legacy) => Ok(legacy.into()),
                Err(_) => Err(error),
            },
        }
    }

    /// The raw Ed25519 keys of the genesis validators, sorted ascending and without duplicates.
    pub fn validator_keys(&self) -> Result<Vec<[u8; 32]>, GenesisError> {
        let mut keys = BTreeSet::new();
        for validator in &self.validators {
            let key = decode_validator_key(&validator.consensus_key).ok_or_else(|| {
                GenesisError::BadValidatorKey {
                    name: validator.name.clone(),
                    key: validator.consensus_key.clone(),
                }
            })?;
            keys.insert(key);
        }
        Ok(keys.into_iter().collect())
    }

    /// Checks `epoch_blocks` and, when it is set, the validator keys: well formed, each named
    /// once and, on a consortium chain, exactly the validator keys of the registry's active
    /// enterprises. Otherwise the first epoch boundary would replace the genesis set by the
    /// registry's without any governance decision.
    fn check_epochs(&self, consortium: Option<&Consortium>) -> Result<(), GenesisError> {
        let Some(blocks) = self.epoch_blocks else {
            return Ok(());
        };
        if blocks.get() < EPOCH_BLOCKS_MIN {
            return Err(GenesisError::EpochBlocksTooFew { got: blocks.get() });
        }
        if blocks.get() > EPOCH_BLOCKS_MAX {
            return Err(GenesisError::EpochBlocksTooMany { got: blocks.get() });
        }
        let mut validators = BTreeSet::new();
        for validator in &self.validators {
            let key = decode_validator_key(&validator.consensus_key).ok_or_else(|| {
                GenesisError::BadValidatorKey {
                    name: validator.name.clone(),
                    key: validator.consensus_key.clone(),
                }
            })?;
            if !validators.insert(key) {
                return Err(GenesisError::DuplicateValidatorKey(hex::encode(key)));
            }
        }
        let Some(consortium) = consortium else {
            return Ok(());
        };
        let mut registry = BTreeMap::new();
        for (name, record) in &consortium.enterprises {
            let Some(text) = record.validator_key.as_deref().filter(|_| record.active) else {
                continue;
            };
            let key = decode_validator_key(text).ok_or_else(|| {
                GenesisError::BadRegistryValidatorKey {
                    enterprise: name.to_string(),
                    key: text.to_string(),
                }
            })?;
            registry.insert(key, name);
        }
        let registry_keys: BTreeSet<[u8; 32]> = registry.keys().copied().collect();
        match validators.symmetric_difference(&registry_keys).next() {
            None => Ok(()),
            Some(key) => Err(match registry.get(key) {
                Some(enterprise) => GenesisError::RegistryKeyNotValidator {
                    enterprise: enterprise.to_string(),
                    key: hex::encode(key),
                },
                None => GenesisError::ValidatorNotInRegistry(hex::encode(key)),
            }),
        }
    }

    pub fn initial_state(&self) -> Result<ChainState, GenesisError> {
        if self.validators.is_empty() {
            return Err(GenesisError::NoValidators);
        }
        if self.validators.len() > VALIDATORS_MAX {
            return Err(GenesisError::TooManyValidators {
                count: self.validators.len(),
            });
        }
        self.close_policy.validate()?;
        self.read_policy.validate()?;
        let consortium = match &self.consortium {
            Some(genesis) => Some(genesis.initial().map_err(GenesisError::BadConsortium)?),
            None => None,
        };
        self.check_epochs(consortium.as_ref())?;
        let mut members = BTreeMap::new();
        for member in &self.members {
            let enterprise = match &consortium {
                Some(consortium) => Some(
                    certifying_enterprise(consortium, member, &self.chain_id).ok_or_else(|| {
                        GenesisError::BadMember {
                            name: member.certificate.name.clone(),
                            reason: "not certified by the root key of any consortium enterprise"
                                .into(),
                        }
                    })?,
                ),
                None => {
                    member
                        .verify(&self.root_key, &self.chain_id)
                        .map_err(|error| GenesisError::BadMember {
                            name: member.certificate.name.clone(),
                            reason: error.to_string(),
                        })?;
                    None
                }
            };
            let key = member.certificate.member;
            let record = MemberRecord {
                member: member.clone(),
                revoked: false,
                enterprise,
            };
            if members.insert(key, record).is_some() {
                return Err(GenesisError::DuplicateMember(key));
            }
        }
        let ledger = Ledger::new(self.chart.clone())
            .map_err(|error| GenesisError::BadChart(error.to_string()))?;
        let mut state = ChainState {
            chain_id: self.chain_id.clone(),
            root_key: self.root_key,
            height: 0,
            tip: [0; 32],
            time_ms: self.time_ms,
            ledger,
            members,
            log: EntryLog::default(),
            consortium,
            contract_log: EntryLog::default(),
            closes: PeriodCloses {
                policy: self.close_policy.clone(),
                ..PeriodCloses::default()
            },
            sealing: Sealing::from_policy(&self.read_policy),
            reads_logged: 0,
            epochs_enabled: self.epoch_blocks.is_some(),
        };
        state.tip = header_digest(&self.header(&state)).0;
        Ok(state)
    }

    fn header(&self, state: &ChainState) -> Header {
        Header {
            chain: chain_hash(&self.chain_id),
            height: 0,
            parent: self.digest(),
            time_ms: self.time_ms,
            tx_root: Block::tx_root(&[]),
            log_root: state.log.root(),
            log_size: 0,
            state_root: state.state_root(),
        }
    }

    /// The height-zero block every validator starts from.
    pub fn block(&self) -> Result<Block, GenesisError> {
        let state = self.initial_state()?;
        Ok(Block::new(self.header(&state), Vec::new()))
    }

    pub fn read(path: &std::path::Path) -> Result<Genesis, GenesisError> {
        let text = std::fs::read_to_string(path).map_err(|error| GenesisError::Read {
            path: path.display().to_string(),
            reason: error.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|error| GenesisError::Read {
            path: path.display().to_string(),
            reason: error.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use tally_contracts::{EnterpriseKind, EnterpriseName, Threshold};
    use tally_identity::SecretKey;

    use super::*;
    use crate::consortium::EnterpriseGenesis;

    /// The digest of [`golden`] as computed before `epoch_blocks` existed.
    const GOLDEN_DIGEST: &str = "73e40a498335531a7aa608a9fd04e345085088fbd0c33f33bedf32370496efa1";

    fn key_hex(byte: u8) -> String {
        hex::encode([byte; 32])
    }

    /// A fixed consortium genesis with two validators and one enterprise (whose validator key is
    /// the first validator's), without epochs.
    fn golden() -> Genesis {
        let root = SecretKey::from_seed([7; 32]).public_key();
        Genesis {
            chain_id: "golden".into(),
            enterprise: "Golden Enterprise".into(),
            time_ms: 1_767_225_600_000,
            root_key: root,
            validators: vec![
                Validator {
                    name: "v0".into(),
                    consensus_key: key_hex(0x11),
                },
                Validator {
                    name: "v1".into(),
                    consensus_key: key_hex(0x22),
                },
            ],
            members: Vec::new(),
            chart: Vec::new(),
            consortium: Some(ConsortiumGenesis {
                threshold: Threshold {
                    numerator: 2,
                    denominator: 3,
                },
                enterprises: vec![EnterpriseGenesis {
                    name: EnterpriseName::new("acme").unwrap(),
                    kind: EnterpriseKind::Merchant,
                    root_key: root,
                    validator_key: Some(key_hex(0x11)),
                }],
            }),
            close_policy: Default::default(),
            read_policy: Default::default(),
            epoch_blocks: None,
        }
    }

    fn legacy_of(genesis: &Genesis) -> LegacyGenesis {
        LegacyGenesis {
            chain_id: genesis.chain_id.clone(),
            enterprise: genesis.enterprise.clone(),
            time_ms: genesis.time_ms,
            root_key: genesis.root_key,
            validators: genesis.validators.clone(),
            members: genesis.members.clone(),
            chart: genesis.chart.clone(),
            consortium: genesis.consortium.clone(),
            close_policy: genesis.close_policy.clone(),
            read_policy: genesis.read_policy.clone(),
        }
    }

    /// A consortium genesis with epochs of `blocks`: enterprises `a`, `b`, `c` whose validator
    /// keys are 0x01.., 0x02.., 0x03.., and the same three keys as validators.
    fn with_epochs(blocks: u64) -> Genesis {
        let enterprises = (1..=3u8)
            .map(|byte| EnterpriseGenesis {
                name: EnterpriseName::new(&format!("e{byte}")).unwrap(),
                kind: EnterpriseKind::Merchant,
                root_key: SecretKey::from_seed([byte; 32]).public_key(),
                validator_key: Some(key_hex(byte)),
            })
            .collect();
        Genesis {
            validators: (1..=3u8)
                .rev()
                .map(|byte| Validator {
                    name: format!("v{byte}"),
                    consensus_key: key_hex(byte),
                })
                .collect(),
            consortium: Some(ConsortiumGenesis {
                threshold: Threshold {
                    numerator: 2,
                    denominator: 3,
                },
                enterprises,
            }),
            epoch_blocks: NonZeroU64::new(blocks),
            ..golden()
        }
    }

    #[test]
    fn the_digest_of_a_genesis_without_epochs_is_unchanged() {
        let genesis = golden();
        assert_eq!(hex::encode(genesis.digest()), GOLDEN_DIGEST);
        assert_eq!(
            postcard::to_stdvec(&genesis).unwrap(),
            postcard::to_stdvec(&legacy_of(&genesis)).unwrap(),
            "the encoding without epochs is the layout from before the field"
        );
    }

    #[test]
    fn a_genesis_with_epochs_has_another_digest() {
        let mut genesis = golden();
        genesis.epoch_blocks = NonZeroU64::new(20);
        assert_ne!(hex::encode(genesis.digest()), GOLDEN_DIGEST);
    }

    #[test]
    fn stored_bytes_decode_in_either_layout() {
        let genesis = golden();
        let legacy = postcard::to_stdvec(&legacy_of(&genesis)).unwrap();
        assert!(
            postcard::from_bytes::<Genesis>(&legacy).is_err(),
            "postcard alone cannot read the legacy layout"
        );
        assert_eq!(Genesis::from_stored_bytes(&legacy).unwrap(), genesis);

        let mut with_epochs = golden();
        with_epochs.epoch_blocks = NonZeroU64::new(1_000);
        let bytes = postcard::to_stdvec(&with_epochs).unwrap();
        assert_eq!(bytes.len(), legacy.len() + 3, "tag and a two-byte varint");
        assert_eq!(Genesis::from_stored_bytes(&bytes).unwrap(), with_epochs);

        assert!(Genesis::from_stored_bytes(&legacy[..legacy.len() - 1]).is_err());
    }

    #[test]
    fn json_without_the_field_loads_and_none_is_left_out() {
        let genesis = golden();
        let json = serde_json::to_string(&genesis).unwrap();
        assert!(!json.contains("epoch_blocks"));
        let read: Genesis = serde_json::from_str(&json).unwrap();
        assert_eq!(read, genesis);

        let mut with_epochs = golden();
        with_epochs.epoch_blocks = NonZeroU64::new(20);
        let json = serde_json::to_string(&with_epochs).unwrap();
        assert!(json.contains("\"epoch_blocks\":20"));
        assert_eq!(serde_json::from_str::<Genesis>(&json).unwrap(), with_epochs);
    }

    #[test]
    fn epoch_blocks_must_be_at_least_two_and_below_the_legacy_length() {
        let error = with_epochs(1).initial_state().unwrap_err();
        assert_eq!(
            error.to_string(),
            "genesis epoch_blocks must be at least 2 (got 1)"
        );
        let error = with_epochs(crate::LEGACY_EPOCH_BLOCKS)
            .initial_state()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "genesis epoch_blocks must be at most {} (got {}); leave it out for one epoch \
                 forever",
                crate::LEGACY_EPOCH_BLOCKS - 1,
                crate::LEGACY_EPOCH_BLOCKS
            )
        );
        with_epochs(2).initial_state().unwrap();
        with_epochs(crate::EPOCH_BLOCKS_MAX)
            .initial_state()
            .unwrap();
    }

    #[test]
    fn with_epochs_the_validators_must_be_the_registry_keys() {
        with_epochs(20).initial_state().unwrap();

        let mut extra = with_epochs(20);
        extra.validators.push(Validator {
            name: "v9".into(),
            consensus_key: key_hex(9),
        });
        assert_eq!(
            extra.initial_state().unwrap_err().to_string(),
            format!(
                "genesis validator key {} is not the validator_key of an active consortium \
                 enterprise; with epoch_blocks set, the registry's validator keys are the \
                 validator set",
                key_hex(9)
            )
        );

        let mut missing = with_epochs(20);
        missing.validators.retain(|v| v.consensus_key != key_hex(2));
        assert_eq!(
            missing.initial_state().unwrap_err().to_string(),
            format!(
                "genesis consortium enterprise e2: validator_key {} is not a genesis validator; \
                 with epoch_blocks set, the registry's validator keys are the validator set",
                key_hex(2)
            )
        );

        // Without epochs the two sets are unrelated, as before.
        let mut legacy = extra.clone();
        legacy.epoch_blocks = None;
        legacy.initial_state().unwrap();
    }

    #[test]
    fn with_epochs_validator_keys_must_be_well_formed_and_distinct() {
        let mut bad = with_epochs(20);
        bad.validators[0].consensus_key = "00".into();
        assert_eq!(
            bad.initial_state().unwrap_err().to_string(),
            "genesis validator v3: consensus key \"00\" is not 32 bytes of hex"
        );
        let mut twice = with_epochs(20);
        let first = twice.validators[0].clone();
        twice.validators.push(Validator {
            name: "again".into(),
            ..first
        });
        assert_eq!(
            twice.initial_state().unwrap_err().to_string(),
            format!("genesis names validator key {} twice", key_hex(3))
        );
    }

    #[test]
    fn a_private_chain_with_epochs_needs_no_registry() {
        let mut private = with_epochs(20);
        private.consortium = None;
        private.initial_state().unwrap();
    }
}
