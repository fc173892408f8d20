//! Validator-set epochs in the store: the record of epoch `e + 1` is written with block
//! `last(e)`, in the same transaction, from the registry as governance left it; it survives a
//! reopen; a block that fails to commit leaves none; a chain without epochs writes none.

mod common;

use std::num::NonZeroU64;
use std::path::Path;

use redb::{ReadableTable, TableDefinition};
use tally_chain::{
    genesis_epoch, header_digest, Block, ChainState, ConsortiumGenesis, EnterpriseGenesis,
    EpochRecord, Executed, Genesis, Store, StoreError, Transaction, TxBody, Validator,
};
use tally_contracts::{
    ContractCall, ContractId, EnterpriseKind, EnterpriseName, GovernanceAction, Threshold,
};
use tally_identity::SecretKey;
use tally_ledger::Role;

use common::*;

/// The store's table of epoch records, opened directly to damage it.
const EPOCHS: TableDefinition<u64, &[u8]> = TableDefinition::new("epochs");

/// Blocks per epoch in these tests: epoch 0 is heights 0..=2, epoch 1 is 3..=5, and so on.
const EPOCH_BLOCKS: u64 = 3;

fn validator_key(byte: u8) -> [u8; 32] {
    [byte; 32]
}

fn name(text: &str) -> EnterpriseName {
    EnterpriseName::new(text).unwrap()
}

/// A consortium of enterprises `e1`, `e2`, `e3` (root keys `key(11..=13)`, admins
/// `key(21..=23)`, validator keys `validator_key(1..=3)`), where one admin's proposal alone
/// passes, with epochs of [`EPOCH_BLOCKS`].
struct Consortium {
    genesis: Genesis,
    admins: Vec<SecretKey>,
}

fn consortium() -> Consortium {
    let roots: Vec<SecretKey> = (11..=13).map(key).collect();
    let admins: Vec<SecretKey> = (21..=23).map(key).collect();
    let members = roots
        .iter()
        .zip(&admins)
        .enumerate()
        .map(|(index, (root, admin))| {
            certify(
                root,
                CHAIN,
                admin,
                &format!("admin-{}", index + 1),
                Role::Admin,
                T0 - 1_000,
                FOREVER,
            )
        })
        .collect();
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        enterprise: "e1".into(),
        time_ms: T0,
        root_key: roots[0].public_key(),
        validators: (1..=3u8)
            .map(|byte| Validator {
                name: format!("v{byte}"),
                consensus_key: hex::encode(validator_key(byte)),
            })
            .collect(),
        members,
        chart: Vec::new(),
        consortium: Some(ConsortiumGenesis {
            // 1 of 3 active: 1 * 4 >= 1 * 3.
            threshold: Threshold {
                numerator: 1,
                denominator: 4,
            },
            enterprises: roots
                .iter()
                .enumerate()
                .map(|(index, root)| EnterpriseGenesis {
                    name: name(&format!("e{}", index + 1)),
                    kind: EnterpriseKind::Merchant,
                    root_key: root.public_key(),
                    validator_key: Some(hex::encode(validator_key(index as u8 + 1))),
                })
                .collect(),
        }),
        close_policy: Default::default(),
        read_policy: Default::default(),
        epoch_blocks: NonZeroU64::new(EPOCH_BLOCKS),
    };
    Consortium { genesis, admins }
}

/// The standard private fixture with a well-formed validator key and `epoch_blocks`.
fn private(epoch_blocks: Option<u64>) -> Genesis {
    let mut genesis = fixture().genesis;
    genesis.validators = vec![Validator {
        name: "v".into(),
        consensus_key: hex::encode(validator_key(7)),
    }];
    genesis.epoch_blocks = epoch_blocks.and_then(NonZeroU64::new);
    genesis
}

fn governance(admin: &SecretKey, id: &str, action: GovernanceAction) -> Transaction {
    single(
        admin,
        TxBody::Contract(ContractCall::ProposeGovernance {
            id: ContractId::new(id).unwrap(),
            action,
        }),
    )
}

/// Builds the next block of `candidates` on `parent` (all included).
fn next(store: &Store, parent: &ChainState, candidates: Vec<Transaction>) -> (Block, Executed) {
    build_all(parent, store, T0 + (parent.height + 1) * 1_000, candidates)
}

/// Builds and commits the next block of `candidates` on the store's state.
fn commit_next(store: &Store, candidates: Vec<Transaction>) -> Block {
    let parent = store.state().unwrap();
    let (block, executed) = next(store, &parent, candidates);
    store.commit(&block, &executed).unwrap();
    block
}

fn record(epoch: u64, boundary: &Block, validators: &[u8]) -> EpochRecord {
    EpochRecord {
        epoch,
        first_height: boundary.height() + 1,
        boundary: header_digest(&boundary.header).0,
        validators: validators.iter().map(|byte| validator_key(*byte)).collect(),
    }
}

#[test]
fn governance_changes_take_effect_at_the_next_boundary_and_survive_a_reopen() {
    let fx = consortium();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    let store = Store::open(&path, &fx.genesis).unwrap();
    let schedule = store.epoch_schedule();
    assert!(schedule.is_enabled());
    assert_eq!(schedule.blocks().get(), EPOCH_BLOCKS);
    let epoch0 = genesis_epoch(&fx.genesis).unwrap();
    assert_eq!(
        epoch0.validators,
        vec![validator_key(1), validator_key(2), validator_key(3)]
    );
    assert_eq!(store.epochs().unwrap(), vec![epoch0.clone()]);

    // Height 1: e2 rotates to 0xf2. Height 2 ends epoch 0.
    commit_next(
        &store,
        vec![governance(
            &fx.admins[1],
            "rotate-e2",
            GovernanceAction::RotateValidatorKey {
                enterprise: name("e2"),
                new_key: hex::encode(validator_key(0xf2)),
            },
        )],
    );
    assert_eq!(
        store.epochs().unwrap(),
        vec![epoch0.clone()],
        "not at a boundary yet"
    );
    let boundary1 = commit_next(&store, Vec::new());
    assert!(schedule.is_last(boundary1.height()));
    let epoch1 = record(1, &boundary1, &[1, 3, 0xf2]);
    assert_eq!(
        store.epochs().unwrap(),
        vec![epoch0.clone(), epoch1.clone()]
    );
    drop(store);

    // Reopened, through the node's path and the auditor's.
    let store = Store::open(&path, &fx.genesis).unwrap();
    assert_eq!(
        store.epochs().unwrap(),
        vec![epoch0.clone(), epoch1.clone()]
    );
    drop(store);
    let (store, stored) = Store::open_existing(&path).unwrap();
    assert_eq!(stored, fx.genesis);
    assert_eq!(store.epoch_schedule(), schedule);
    assert_eq!(
        store.epochs().unwrap(),
        vec![epoch0.clone(), epoch1.clone()]
    );
    drop(store);

    // Epoch 1 (heights 3..=5): e3 is removed at height 3.
    let store = Store::open(&path, &fx.genesis).unwrap();
    commit_next(
        &store,
        vec![governance(
            &fx.admins[0],
            "remove-e3",
            GovernanceAction::RemoveEnterprise { name: name("e3") },
        )],
    );
    commit_next(&store, Vec::new());
    let boundary2 = commit_next(&store, Vec::new());
    assert_eq!(boundary2.height(), 5);
    let epoch2 = record(2, &boundary2, &[1, 0xf2]);
    // Epoch 2 (heights 6..=8) changes nothing: epoch 3 has the same set.
    for _ in 6..8 {
        commit_next(&store, Vec::new());
    }
    let boundary3 = commit_next(&store, Vec::new());
    let epoch3 = record(3, &boundary3, &[1, 0xf2]);
    assert_eq!(
        store.epochs().unwrap(),
        vec![epoch0, epoch1, epoch2, epoch3]
    );
}

#[test]
fn a_boundary_block_that_fails_to_commit_leaves_no_record() {
    let fx = consortium();
    let store = Store::open_in_memory(&fx.genesis).unwrap();
    let genesis_state = store.state().unwrap();
    let (block1, executed1) = next(&store, &genesis_state, Vec::new());
    let (block2, executed2) = next(&store, &executed1.state, Vec::new());
    assert!(store.epoch_schedule().is_last(block2.height()));

    let error = store.commit(&block2, &executed2).unwrap_err();
    assert!(matches!(
        error,
        StoreError::OutOfOrder { got: 2, stored: 0 }
    ));
    assert_eq!(store.epochs().unwrap().len(), 1, "only epoch 0");
    assert_eq!(store.height().unwrap(), 0);

    store.commit(&block1, &executed1).unwrap();
    store.commit(&block2, &executed2).unwrap();
    assert_eq!(
        store.epochs().unwrap()[1..],
        [record(1, &block2, &[1, 2, 3])]
    );
}

/// Removes the record of `epoch` from the store at `path` (which must be closed).
fn remove_record(path: &Path, epoch: u64) {
    let db = redb::Database::open(path).unwrap();
    let write = db.begin_write().unwrap();
    {
        let mut epochs = write.open_table(EPOCHS).unwrap();
        assert!(epochs.remove(epoch).unwrap().is_some());
    }
    write.commit().unwrap();
}

#[test]
fn a_private_chain_keeps_its_set_and_a_failed_record_write_leaves_no_block() {
    let genesis = private(Some(EPOCH_BLOCKS));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    let store = Store::open(&path, &genesis).unwrap();
    commit_next(&store, Vec::new());
    let boundary1 = commit_next(&store, Vec::new());
    // No consortium names a set: epoch 1 keeps the genesis's.
    let epoch1 = record(1, &boundary1, &[7]);
    assert_eq!(store.epochs().unwrap()[1..], [epoch1]);
    drop(store);

    // Without the record of epoch 1, the next boundary cannot say which set it keeps: the block
    // is refused with its record, and the store stays at the block before.
    remove_record(&path, 1);
    let store = Store::open(&path, &genesis).unwrap();
    commit_next(&store, Vec::new());
    commit_next(&store, Vec::new());
    let parent = store.state().unwrap();
    let (boundary2, executed) = next(&store, &parent, Vec::new());
    assert!(store.epoch_schedule().is_last(boundary2.height()));
    let error = store.commit(&boundary2, &executed).unwrap_err();
    assert_eq!(
        error.to_string(),
        "stored data is corrupt: no record of epoch 1"
    );
    assert_eq!(store.height().unwrap(), 4);
    assert_eq!(store.block(5).unwrap(), None);
    assert_eq!(store.state().unwrap().height, 4);
    assert_eq!(store.epochs().unwrap().len(), 1, "only epoch 0");
    let db_epochs = {
        drop(store);
        let db = redb::Database::open(&path).unwrap();
        let read = db.begin_read().unwrap();
        let table = read.open_table(EPOCHS).unwrap();
        table.iter().unwrap().count()
    };
    assert_eq!(db_epochs, 0);
}

#[test]
fn a_chain_without_epochs_writes_no_record() {
    let genesis = private(None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    let store = Store::open(&path, &genesis).unwrap();
    assert!(!store.epoch_schedule().is_enabled());
    for _ in 0..7 {
        commit_next(&store, Vec::new());
    }
    assert_eq!(
        store.epochs().unwrap(),
        vec![genesis_epoch(&genesis).unwrap()]
    );
    drop(store);
    let db = redb::Database::open(&path).unwrap();
    let read = db.begin_read().unwrap();
    assert!(matches!(
        read.open_table(EPOCHS),
        Err(redb::TableError::TableDoesNotExist(_))
    ));
}

#[test]
fn a_store_opens_only_with_its_own_epoch_length() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    let legacy = private(None);
    drop(Store::open(&path, &legacy).unwrap());
    let error = Store::open(&path, &private(Some(EPOCH_BLOCKS)))
        .err()
        .unwrap();
    assert!(matches!(error, StoreError::WrongChain { .. }), "{error}");
    let (_, stored) = Store::open_existing(&path).unwrap();
    assert_eq!(stored.epoch_blocks, None);
    assert_eq!(stored, legacy);
}
