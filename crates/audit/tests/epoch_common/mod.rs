//! Chains with validator-set epochs on disk, with real finalization certificates (built on the
//! `common` module's keys and entries): every block is certified by three validators of its own
//! epoch, in that epoch.
//!
//! - [`consortium`]: a consortium of four enterprises whose registry keys are the genesis
//!   validators; at height 1 enterprise `e2` rotates its validator key to [`rotated_key`], so
//!   epoch 1 on has another set than the genesis's.
//! - [`private`]: the private test chain of `common::genesis` with epochs, posting one entry
//!   per block; it names no next set, so every epoch keeps the genesis's.
#![allow(dead_code)]

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::PathBuf;

use commonware_codec::Encode as _;
use commonware_cryptography::{ed25519, Signer as _};
use tally_chain::{
    build_block, header_digest, Block, ConsortiumGenesis, EnterpriseGenesis, Genesis, SignedTx,
    Store, Transaction, TxBody, Validator,
};
use tally_contracts::{
    ContractCall, ContractId, EnterpriseKind, EnterpriseName, GovernanceAction, Threshold,
};
use tally_identity::{CertifiedMember, MemberCertificate, SecretKey};
use tally_ledger::{EntryId, KnownEntry, Role};

use crate::common::{entry, finalization, validator_keys, T0};

/// The consortium chain's id.
pub const CONSORTIUM: &str = "audit-epochs";
/// Blocks per epoch: epoch 0 is heights 0..=3, epoch 1 is 4..=7, epoch 2 is 8..=11.
pub const EPOCH_BLOCKS: u64 = 4;
/// Blocks built after the genesis: the chains span epochs 0, 1 and 2.
pub const HEIGHT: u64 = 10;
/// The height at which `e2` rotates its validator key.
pub const ROTATION_HEIGHT: u64 = 1;

/// The key `e2` rotates its validator key to (the genesis's validators are seeds 1..=4).
pub fn rotated_key() -> ed25519::PrivateKey {
    ed25519::PrivateKey::from_seed(5)
}

/// Every validator key the chains may use.
fn key_pool() -> Vec<ed25519::PrivateKey> {
    let mut keys = validator_keys();
    keys.push(rotated_key());
    keys
}

fn raw(key: &ed25519::PrivateKey) -> [u8; 32] {
    key.public_key()
        .encode()
        .as_ref()
        .try_into()
        .expect("32 bytes")
}

/// A chain with epochs on disk, and the private keys of each epoch's validators.
pub struct EpochChain {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub genesis: Genesis,
    /// Blocks 1..=[`HEIGHT`].
    pub blocks: Vec<Block>,
    /// Per epoch, its validators' private keys, in the order of the epoch's record.
    pub sets: Vec<Vec<ed25519::PrivateKey>>,
}

impl EpochChain {
    /// The block at `height` (at least 1).
    pub fn block(&self, height: u64) -> &Block {
        &self.blocks[height as usize - 1]
    }

    /// A finalization of the block at `height` by three validators of `set`'s epoch set,
    /// labelled with `epoch`.
    pub fn certificate(&self, height: u64, set: usize, epoch: u64) -> Vec<u8> {
        let keys = &self.sets[set];
        finalization(
            &self.genesis.chain_id,
            keys,
            &keys[..3],
            header_digest(&self.block(height).header),
            epoch,
            height,
        )
    }
}

fn name(index: usize) -> EnterpriseName {
    EnterpriseName::new(&format!("e{}", index + 1)).unwrap()
}

fn admin(index: usize) -> SecretKey {
    SecretKey::from_seed([20 + index as u8; 32])
}

/// The consortium's genesis: enterprises `e1`..`e4` with root keys of seeds `10..`, one admin
/// each (seeds `20..`), the validator keys of [`validator_keys`], and a threshold that one
/// admin's proposal alone meets.
pub fn consortium_genesis() -> Genesis {
    let roots: Vec<SecretKey> = (0..4)
        .map(|index| SecretKey::from_seed([10 + index; 32]))
        .collect();
    let validators = validator_keys();
    let members = roots
        .iter()
        .enumerate()
        .map(|(index, root)| {
            CertifiedMember::issue(
                root,
                CONSORTIUM,
                MemberCertificate {
                    member: admin(index).public_key(),
                    name: format!("admin-{}", index + 1),
                    role: Role::Admin,
                    department: "board".into(),
                    valid_from_ms: T0 - 1_000,
                    valid_until_ms: T0 + 365 * 24 * 3_600_000,
                },
            )
        })
        .collect();
    Genesis {
        chain_id: CONSORTIUM.into(),
        enterprise: "e1".into(),
        time_ms: T0,
        root_key: roots[0].public_key(),
        validators: validators
            .iter()
            .enumerate()
            .map(|(index, key)| Validator {
                name: format!("v{index}"),
                consensus_key: hex::encode(raw(key)),
            })
            .collect(),
        members,
        chart: Vec::new(),
        consortium: Some(ConsortiumGenesis {
            threshold: Threshold {
                numerator: 1,
                denominator: 4,
            },
            enterprises: roots
                .iter()
                .zip(&validators)
                .enumerate()
                .map(|(index, (root, key))| EnterpriseGenesis {
                    name: name(index),
                    kind: EnterpriseKind::Merchant,
                    root_key: root.public_key(),
                    validator_key: Some(hex::encode(raw(key))),
                })
                .collect(),
        }),
        close_policy: Default::default(),
        read_policy: Default::default(),
        epoch_blocks: NonZeroU64::new(EPOCH_BLOCKS),
    }
}

/// Builds and stores the consortium chain: `e2` rotates its key at [`ROTATION_HEIGHT`], the
/// other blocks are empty.
pub fn consortium() -> EpochChain {
    let genesis = consortium_genesis();
    build_epochs(genesis, |height| {
        if height != ROTATION_HEIGHT {
            return Vec::new();
        }
        vec![Transaction::Single(SignedTx::sign(
            &admin(1),
            CONSORTIUM,
            TxBody::Contract(ContractCall::ProposeGovernance {
                id: ContractId::new("rotate-e2").unwrap(),
                action: GovernanceAction::RotateValidatorKey {
                    enterprise: name(1),
                    new_key: hex::encode(raw(&rotated_key())),
                },
            }),
        ))]
    })
}

/// Builds and stores the private test chain with epochs: one entry `sale-{height}` per block.
pub fn private() -> EpochChain {
    let (mut genesis, finance) = crate::common::genesis();
    genesis.epoch_blocks = NonZeroU64::new(EPOCH_BLOCKS);
    let chain = genesis.chain_id.clone();
    build_epochs(genesis, move |height| {
        vec![Transaction::Single(SignedTx::sign(
            &finance,
            &chain,
            TxBody::Post(entry(&format!("sale-{height}"), 1_000 * height)),
        ))]
    })
}

/// Builds blocks 1..=[`HEIGHT`] of `transactions(height)` each, and commits each with a
/// certificate of three validators of its epoch, made in that epoch.
fn build_epochs(genesis: Genesis, transactions: impl Fn(u64) -> Vec<Transaction>) -> EpochChain {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{}.redb", genesis.chain_id));
    let store = Store::open(&path, &genesis).unwrap();
    let schedule = store.epoch_schedule();
    let pool = key_pool();
    let keys_of = |validators: &[[u8; 32]]| -> Vec<ed25519::PrivateKey> {
        validators
            .iter()
            .map(|public| {
                pool.iter()
                    .find(|key| raw(key) == *public)
                    .cloned()
                    .expect("a key of the pool")
            })
            .collect()
    };
    let mut state = store.state().unwrap();
    let mut known: HashMap<EntryId, KnownEntry> = HashMap::new();
    let mut blocks = Vec::new();
    for height in 1..=HEIGHT {
        let candidates = transactions(height);
        let count = candidates.len();
        let (block, executed, rejected) = build_block(
            &state,
            &known,
            HashMap::new(),
            T0 + height * 1_000,
            candidates,
        );
        assert!(
            rejected.is_empty(),
            "{:?}",
            rejected
                .iter()
                .map(|(_, error)| error.to_string())
                .collect::<Vec<_>>()
        );
        assert_eq!(block.transactions.len(), count);
        let epoch = schedule.epoch_of(height);
        let set = keys_of(&store.epochs().unwrap()[epoch as usize].validators);
        let certificate = finalization(
            &genesis.chain_id,
            &set,
            &set[..3],
            header_digest(&block.header),
            epoch,
            height,
        );
        store
            .commit_certified(&block, &executed, Some(&certificate))
            .unwrap();
        known.extend(executed.pending.entries());
        state = executed.state;
        blocks.push(block);
    }
    let sets = store
        .epochs()
        .unwrap()
        .iter()
        .map(|record| keys_of(&record.validators))
        .collect();
    drop(store);
    EpochChain {
        dir,
        path,
        genesis,
        blocks,
        sets,
    }
}
