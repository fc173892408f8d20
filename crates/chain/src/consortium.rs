//! The consortium chain: the enterprises of its genesis, who signs for which enterprise, and the
//! contract events its blocks produce.
//!
//! A consortium chain is an ordinary Tally chain whose genesis also names enterprises and their
//! root keys. Its members are certified by their own enterprise's root key, and it carries
//! contract calls instead of journal entries; the contract state machines live in
//! `tally-contracts`. Every event a block produces is appended to the chain's contract log, whose
//! root the state root covers, and stored, so each party's node can derive its own bookings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tally_contracts::{
    Consortium, Contract, ContractEvent, EnterpriseKind, EnterpriseName, EnterpriseRecord,
    Threshold,
};
use tally_identity::{CertifiedMember, Digest, PublicKey};

/// One enterprise as the consortium genesis names it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EnterpriseGenesis {
    pub name: EnterpriseName,
    pub kind: EnterpriseKind,
    /// The enterprise's root key: it certifies the enterprise's members on every chain.
    pub root_key: PublicKey,
    /// Hex of the consensus key of the enterprise's consortium validator, if it runs one.
    #[serde(default)]
    pub validator_key: Option<String>,
}

/// The consortium part of a genesis.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ConsortiumGenesis {
    /// Share of active enterprises whose administrators must approve a membership change.
    pub threshold: Threshold,
    pub enterprises: Vec<EnterpriseGenesis>,
}

impl ConsortiumGenesis {
    pub fn initial(&self) -> Result<Consortium, String> {
        let mut enterprises = BTreeMap::new();
        for enterprise in &self.enterprises {
            let record = EnterpriseRecord {
                root_key: enterprise.root_key,
                kind: enterprise.kind,
                active: true,
                validator_key: enterprise.validator_key.clone(),
            };
            if enterprises
                .insert(enterprise.name.clone(), record)
                .is_some()
            {
                return Err(format!("enterprise {} is named twice", enterprise.name));
            }
        }
        Consortium::new(enterprises, self.threshold).map_err(|error| error.to_string())
    }
}

/// The enterprise whose root key certified `member`, among the consortium's enterprises.
pub fn certifying_enterprise(
    consortium: &Consortium,
    member: &CertifiedMember,
    chain_id: &str,
) -> Option<EnterpriseName> {
    consortium
        .enterprises
        .iter()
        .find(|(_, record)| member.verify(&record.root_key, chain_id).is_ok())
        .map(|(name, _)| name.clone())
}

/// A contract event as committed: the event, the contract's state right after it, and where the
/// transaction that caused it sits. Parties derive their bookings from these.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ChainEvent {
    pub height: u64,
    /// Proposer time of the block, in Unix milliseconds: the accounting date of derived entries.
    pub time_ms: u64,
    pub tx_index: u32,
    /// Hash of the consortium transaction (see [`crate::Transaction::hash`]).
    pub tx_hash: Digest,
    /// Index of the event among those of its transaction.
    pub index: u32,
    pub event: ContractEvent,
    /// The contract after the event; `None` for events outside contracts (governance, anchors).
    pub contract: Option<Contract>,
}

impl ChainEvent {
    /// The event's leaf in the contract log.
    pub fn leaf(&self) -> Digest {
        let bytes = postcard::to_stdvec(self).expect("serialising to a Vec cannot fail");
        let mut hasher = Sha256::new();
        hasher.update(b"tally/v1/contract-event");
        hasher.update(&bytes);
        hasher.finalize().into()
    }
}
