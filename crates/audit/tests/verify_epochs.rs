//! `verify_file` on a chain with validator-set epochs: it passes on a store spanning three epochs
//! with one key rotation, and finds each certificate or epoch record that does not match the set
//! the replayed chain names.

mod common;
mod epoch_common;

use epoch_common::*;
use redb::{Database, TableDefinition};
use tally_audit::{verify_file, ChainReport, Location, Problem, VerifyError};
use tally_chain::{EpochRecord, Store};
use tally_consensus::CertificateError;

const CERTIFICATES_TABLE: TableDefinition<u64, &[u8]> = TableDefinition::new("certificates");
const EPOCHS_TABLE: TableDefinition<u64, &[u8]> = TableDefinition::new("epochs");
const LEGACY_ROOTS_TABLE: TableDefinition<u64, &[u8]> = TableDefinition::new("epoch_legacy_roots");

/// A height inside epoch 1 that is not its boundary.
const IN_EPOCH_1: u64 = 5;
/// The boundary block of epoch 0.
const BOUNDARY_0: u64 = EPOCH_BLOCKS - 1;

fn verify(chain: &EpochChain) -> Result<ChainReport, VerifyError> {
    verify_file(&chain.path, Some(&chain.genesis), &mut |_| {})
}

fn damage(result: Result<ChainReport, VerifyError>) -> (Location, Problem) {
    let error = result.expect_err("the damage must be found");
    assert_eq!(error.chain, CONSORTIUM, "{error}");
    (error.location, error.problem)
}

/// Writes (or with `None` removes) the row `key` of `table` in the closed store.
fn write_row(
    chain: &EpochChain,
    table: TableDefinition<u64, &[u8]>,
    key: u64,
    bytes: Option<&[u8]>,
) {
    let db = Database::open(&chain.path).unwrap();
    let write = db.begin_write().unwrap();
    {
        let mut table = write.open_table(table).unwrap();
        match bytes {
            Some(bytes) => {
                table.insert(key, bytes).unwrap();
            }
            None => {
                assert!(table.remove(key).unwrap().is_some());
            }
        }
    }
    write.commit().unwrap();
}

#[test]
fn a_store_spanning_three_epochs_with_a_rotation_verifies() {
    let chain = consortium();
    // The rotation took effect at the first boundary: set 1 is not the genesis's.
    assert_ne!(store_keys(&chain.sets[0]), store_keys(&chain.sets[1]));
    assert_eq!(store_keys(&chain.sets[1]), store_keys(&chain.sets[2]));
    assert!(store_keys(&chain.sets[1]).contains(&store_keys(&[rotated_key()])[0]));
    let report = verify(&chain).unwrap();
    assert_eq!(report.height, HEIGHT);
    assert_eq!(report.epochs, 2);
    assert_eq!(report.certificates, HEIGHT);
}

#[test]
fn a_certificate_of_epoch_1_signed_by_the_genesis_set_is_refused() {
    let chain = consortium();
    let forged = chain.certificate(IN_EPOCH_1, 0, 1);
    write_row(&chain, CERTIFICATES_TABLE, IN_EPOCH_1, Some(&forged));
    assert_eq!(
        damage(verify(&chain)),
        (
            Location::Certificate { height: IN_EPOCH_1 },
            Problem::Certificate(CertificateError::BadSignatures { epoch: 1 })
        )
    );
}

#[test]
fn a_certificate_with_another_epoch_label_is_refused() {
    let chain = consortium();
    for (set, label) in [(1, 0), (1, 2), (0, 0)] {
        let relabelled = chain.certificate(IN_EPOCH_1, set, label);
        write_row(&chain, CERTIFICATES_TABLE, IN_EPOCH_1, Some(&relabelled));
        assert_eq!(
            damage(verify(&chain)),
            (
                Location::Certificate { height: IN_EPOCH_1 },
                Problem::Certificate(CertificateError::WrongEpoch {
                    certified: label,
                    expected: 1,
                    height: IN_EPOCH_1,
                })
            ),
            "set {set} labelled {label}"
        );
    }
    // The right set and label again: the store verifies.
    let genuine = chain.certificate(IN_EPOCH_1, 1, 1);
    write_row(&chain, CERTIFICATES_TABLE, IN_EPOCH_1, Some(&genuine));
    verify(&chain).unwrap();
}

#[test]
fn a_boundary_block_without_its_certificate_is_refused() {
    let chain = consortium();
    write_row(&chain, CERTIFICATES_TABLE, BOUNDARY_0, None);
    assert_eq!(
        damage(verify(&chain)),
        (
            Location::Certificate { height: BOUNDARY_0 },
            Problem::BoundaryUncertified
        )
    );
}

#[test]
fn an_altered_epoch_record_is_refused() {
    let chain = consortium();
    let store = Store::open(&chain.path, &chain.genesis).unwrap();
    let record = store.epochs().unwrap()[1].clone();
    drop(store);
    // The genesis's set instead of the rotated one; another first height; another boundary.
    let altered = [
        EpochRecord {
            validators: store_keys(&chain.sets[0]),
            ..record.clone()
        },
        EpochRecord {
            first_height: record.first_height + 1,
            ..record.clone()
        },
        EpochRecord {
            boundary: [7; 32],
            ..record.clone()
        },
    ];
    for altered in altered {
        write_row(
            &chain,
            EPOCHS_TABLE,
            1,
            Some(&postcard::to_stdvec(&altered).unwrap()),
        );
        assert_eq!(
            damage(verify(&chain)),
            (Location::Epoch { epoch: 1 }, Problem::EpochRecord),
            "{altered:?}"
        );
    }
    write_row(
        &chain,
        EPOCHS_TABLE,
        1,
        Some(&postcard::to_stdvec(&record).unwrap()),
    );
    verify(&chain).unwrap();

    // The legacy root stored with it, which light proofs carry, is checked too.
    write_row(&chain, LEGACY_ROOTS_TABLE, 2, Some(&[3; 32]));
    assert_eq!(
        damage(verify(&chain)),
        (Location::Epoch { epoch: 2 }, Problem::EpochLegacyRoot)
    );
}

/// The raw public keys of `keys`, sorted as an epoch record holds them.
fn store_keys(keys: &[commonware_cryptography::ed25519::PrivateKey]) -> Vec<[u8; 32]> {
    use commonware_codec::Encode as _;
    use commonware_cryptography::Signer as _;
    let mut raw: Vec<[u8; 32]> = keys
        .iter()
        .map(|key| key.public_key().encode().as_ref().try_into().unwrap())
        .collect();
    raw.sort();
    raw
}
