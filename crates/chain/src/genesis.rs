//! Genesis: the validator set, the enterprise root key, the first members, the chart and the
//! close policy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tally_identity::{CertifiedMember, PublicKey};
use tally_ledger::{Account, Ledger};

use crate::{
    block::{header_digest, Block, Header},
    close::{ClosePolicy, ClosePolicyError, PeriodCloses},
    consortium::{certifying_enterprise, ConsortiumGenesis},
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
}

impl Genesis {
    /// A digest of the whole genesis document: the genesis block's parent.
    pub fn digest(&self) -> [u8; 32] {
        let bytes = postcard::to_stdvec(self).expect("serialising to a Vec cannot fail");
        Sha256::digest([b"tally/v1/genesis".as_slice(), &bytes].concat()).into()
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
