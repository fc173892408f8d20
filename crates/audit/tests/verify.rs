//! `verify_file` passes on a clean store and, on each kind of damage, fails naming the spot.

mod common;

use common::*;
use commonware_cryptography::Signer as _;
use rand::{Rng, SeedableRng};
use redb::{Database, ReadableTable, TableDefinition};
use tally_audit::{verify_file, Location, Problem, VerifyError};
use tally_chain::{header_digest, Store};
use tally_consensus::CertificateError;

const BLOCKS_TABLE: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("block_chunks");
const CERTIFICATES_TABLE: TableDefinition<u64, &[u8]> = TableDefinition::new("certificates");

fn verify(path: &std::path::Path) -> Result<tally_audit::ChainReport, VerifyError> {
    verify_file(path, None, &mut |_| {})
}

fn damage(result: Result<tally_audit::ChainReport, VerifyError>) -> (Location, Problem) {
    let error = result.expect_err("the damage must be found");
    assert_eq!(error.chain, CHAIN, "{error}");
    (error.location, error.problem)
}

#[test]
fn a_clean_store_verifies_with_a_summary() {
    let chain = build();
    let mut seen = Vec::new();
    let report = verify_file(&chain.path, Some(&chain.genesis), &mut |progress| {
        seen.push((progress.done, progress.total))
    })
    .unwrap();
    assert_eq!(report.height, BLOCKS);
    assert_eq!(report.blocks, BLOCKS + 1);
    assert_eq!(report.entries, BLOCKS * ENTRIES_PER_BLOCK + 1);
    assert_eq!(report.certificates, BLOCKS);
    assert_eq!(seen.last(), Some(&(BLOCKS + 1, BLOCKS + 1)));
}

#[test]
fn a_flipped_byte_in_a_block_is_found_at_that_block() {
    let chain = build();
    for height in [1, 5, BLOCKS] {
        let (_dir, path) = copy(&chain);
        let bytes = chain.blocks[height as usize - 1].to_bytes();
        // Inside the transactions (the signed entry text) and inside the header.
        for offset in [bytes.len() - 40, 40] {
            let (_dir, path) = copy(&chain);
            flip_in_record(&path, &bytes, offset);
            let (location, _) = damage(verify(&path));
            assert_eq!(location, Location::Block { height }, "offset {offset}");
        }
        drop(path);
    }
}

#[test]
fn a_flipped_byte_in_an_entry_record_is_found_at_that_entry() {
    let chain = build();
    let store = Store::open(&chain.path, &chain.genesis).unwrap();
    let raw = store.raw_entry("sale-7-1").unwrap().unwrap();
    drop(store);
    let (_dir, path) = copy(&chain);
    // The amount, near the end of the record.
    flip_in_record(&path, &raw, raw.len() - 30);
    let (location, problem) = damage(verify(&path));
    assert_eq!(
        location,
        Location::Entry {
            id: "sale-7-1".into()
        }
    );
    assert!(
        matches!(
            problem,
            Problem::Differs { height: 7 } | Problem::Malformed(_)
        ),
        "{problem}"
    );
}

#[test]
fn a_flipped_byte_in_the_state_snapshot_is_found() {
    let chain = build();
    let store = Store::open(&chain.path, &chain.genesis).unwrap();
    let raw = store.raw_state().unwrap().unwrap();
    drop(store);
    let (_dir, path) = copy(&chain);
    flip_in_record(&path, &raw, raw.len() / 2);
    let (location, problem) = damage(verify(&path));
    assert_eq!(location, Location::State);
    assert_eq!(problem, Problem::StateDiffers);
}

#[test]
fn a_truncated_file_is_reported_not_crashed_on() {
    let chain = build();
    let (_dir, path) = copy(&chain);
    let length = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(length / 2).unwrap();
    drop(file);
    let error = verify(&path).expect_err("a truncated store must fail");
    assert!(!error.to_string().is_empty());
}

#[test]
fn a_removed_block_is_found_at_its_height() {
    let chain = build();
    let (_dir, path) = copy(&chain);
    let db = Database::open(&path).unwrap();
    let write = db.begin_write().unwrap();
    write
        .open_table(BLOCKS_TABLE)
        .unwrap()
        .retain_in((4, 0)..=(4, u32::MAX), |_, _| false)
        .unwrap();
    write.commit().unwrap();
    drop(db);
    let (location, problem) = damage(verify(&path));
    assert_eq!(location, Location::Block { height: 4 });
    assert_eq!(problem, Problem::Missing);
}

#[test]
fn swapped_blocks_are_found_at_the_first() {
    let chain = build();
    let (_dir, path) = copy(&chain);
    let db = Database::open(&path).unwrap();
    let write = db.begin_write().unwrap();
    {
        let mut blocks = write.open_table(BLOCKS_TABLE).unwrap();
        // The test's blocks are small: one chunk each.
        let four = blocks.get((4, 0)).unwrap().unwrap().value().to_vec();
        let five = blocks.get((5, 0)).unwrap().unwrap().value().to_vec();
        assert!(blocks.get((4, 1)).unwrap().is_none() && blocks.get((5, 1)).unwrap().is_none());
        blocks.insert((4, 0), five.as_slice()).unwrap();
        blocks.insert((5, 0), four.as_slice()).unwrap();
    }
    write.commit().unwrap();
    drop(db);
    let (location, problem) = damage(verify(&path));
    assert_eq!(location, Location::Block { height: 4 });
    assert_eq!(
        problem,
        Problem::MisplacedBlock {
            stored_under: 4,
            header: 5
        }
    );
}

fn replace_certificate(path: &std::path::Path, height: u64, bytes: &[u8]) {
    let db = Database::open(path).unwrap();
    let write = db.begin_write().unwrap();
    write
        .open_table(CERTIFICATES_TABLE)
        .unwrap()
        .insert(height, bytes)
        .unwrap();
    write.commit().unwrap();
}

#[test]
fn forged_certificates_are_found() {
    let chain = build();
    let digest = header_digest(&chain.blocks[2].header);
    let keys = validator_keys();

    // Signed by a quorum of another validator set (keys the genesis does not name).
    let (_dir, path) = copy(&chain);
    let impostors: Vec<_> = (50..54)
        .map(commonware_cryptography::ed25519::PrivateKey::from_seed)
        .collect();
    replace_certificate(
        &path,
        3,
        &certificate_by(&impostors, &impostors[..3], digest, 3),
    );
    let (location, problem) = damage(verify(&path));
    assert_eq!(location, Location::Certificate { height: 3 });
    assert_eq!(
        problem,
        Problem::Certificate(CertificateError::BadSignatures { epoch: 0 })
    );

    // A valid certificate, but of another block.
    let (_dir, path) = copy(&chain);
    let other = certificate(&keys[..3], header_digest(&chain.blocks[3].header), 4);
    replace_certificate(&path, 3, &other);
    let (location, problem) = damage(verify(&path));
    assert_eq!(location, Location::Certificate { height: 3 });
    assert!(
        matches!(
            problem,
            Problem::Certificate(CertificateError::WrongBlock { .. })
        ),
        "{problem}"
    );

    // A certificate of the right block whose signature bytes were altered.
    let (_dir, path) = copy(&chain);
    let mut altered = certificate(&keys[1..], digest, 3);
    let last = altered.len() - 5;
    altered[last] ^= 0x01;
    replace_certificate(&path, 3, &altered);
    let (location, problem) = damage(verify(&path));
    assert_eq!(location, Location::Certificate { height: 3 });
    assert_eq!(
        problem,
        Problem::Certificate(CertificateError::BadSignatures { epoch: 0 })
    );

    // A certificate signed for another chain's namespace does not verify either: recorded as
    // garbage bytes here.
    let (_dir, path) = copy(&chain);
    replace_certificate(&path, 3, b"not a certificate");
    let (location, problem) = damage(verify(&path));
    assert_eq!(location, Location::Certificate { height: 3 });
    assert_eq!(problem, Problem::Certificate(CertificateError::Malformed));
}

#[test]
fn a_store_whose_tip_has_no_certificate_is_not_final() {
    let chain = build();
    let (_dir, path) = copy(&chain);
    let db = Database::open(&path).unwrap();
    let write = db.begin_write().unwrap();
    write
        .open_table(CERTIFICATES_TABLE)
        .unwrap()
        .remove(BLOCKS)
        .unwrap();
    write.commit().unwrap();
    drop(db);
    let (location, problem) = damage(verify(&path));
    assert_eq!(location, Location::Block { height: BLOCKS });
    assert_eq!(
        problem,
        Problem::Uncertified {
            last_certified: BLOCKS - 1
        }
    );
}

#[test]
fn a_swapped_genesis_is_found_against_the_expected_one() {
    let chain = build();
    let mut other = chain.genesis.clone();
    other.enterprise = "Someone Else".into();
    let error = verify_file(&chain.path, Some(&other), &mut |_| {}).unwrap_err();
    assert_eq!(error.location, Location::Genesis);
    assert_eq!(error.problem, Problem::GenesisMismatch);
}

/// Everything the store says, in one byte string: what a flip must either change and be caught
/// for, or leave alone (it hit free space).
fn logical_dump(path: &std::path::Path) -> Option<Vec<u8>> {
    let run = || -> Result<Vec<u8>, tally_chain::StoreError> {
        let (store, genesis) = Store::open_existing(path)?;
        let mut dump = postcard_bytes(&genesis);
        for height in store.block_heights()? {
            dump.extend(store.raw_block(height)?.unwrap_or_default());
            dump.extend(store.certificate(height)?.unwrap_or_default());
            for (_, event) in store.raw_events_at(height)? {
                dump.extend(event);
            }
        }
        for id in store.entry_ids()? {
            dump.extend(id.as_bytes());
            dump.extend(store.raw_entry(&id)?.unwrap_or_default());
        }
        dump.extend(store.raw_state()?.unwrap_or_default());
        Ok(dump)
    };
    std::panic::catch_unwind(run).ok()?.ok()
}

fn postcard_bytes(genesis: &tally_chain::Genesis) -> Vec<u8> {
    format!("{genesis:?}").into_bytes()
}

/// Every record the store holds, as stored: blocks, certificates, entries, the state.
fn records(chain: &TestChain) -> Vec<Vec<u8>> {
    let (store, _) = Store::open_existing(&chain.path).unwrap();
    let mut records = Vec::new();
    for height in store.block_heights().unwrap() {
        records.push(store.raw_block(height).unwrap().unwrap());
        if let Some(certificate) = store.certificate(height).unwrap() {
            records.push(certificate);
        }
    }
    for id in store.entry_ids().unwrap() {
        records.push(store.raw_entry(&id).unwrap().unwrap());
    }
    records.push(store.raw_state().unwrap().unwrap());
    records
}

/// Flips one byte at a time: inside a random stored record (every copy of it in the file, so
/// the live one too), which the audit must find; and anywhere in the file, which the audit must
/// find unless the flip changed nothing the store says (free space, stale copies).
#[test]
fn any_flipped_byte_is_found_or_harmless() {
    let seed: u64 = std::env::var("TALLY_TEST_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(0x7a11_ca5e);
    let chain = build();
    let original = logical_dump(&chain.path).unwrap();
    let records = records(&chain);
    let length = std::fs::metadata(&chain.path).unwrap().len() as usize;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut found, mut harmless) = (0, 0);
    for round in 0..80 {
        let (_dir, path) = copy(&chain);
        let targeted = round % 4 != 0;
        let spot = if targeted {
            let record = &records[rng.gen_range(0..records.len())];
            let offset = rng.gen_range(0..record.len());
            flip_in_record(&path, record, offset);
            format!("offset {offset} of a {}-byte record", record.len())
        } else {
            let at = rng.gen_range(0..length);
            flip_byte(&path, at);
            format!("byte {at} of the file")
        };
        match verify(&path) {
            Err(_) => found += 1,
            Ok(_) => {
                assert!(
                    !targeted && logical_dump(&path).as_ref() == Some(&original),
                    "seed {seed}, round {round}: the flip at {spot} changed the data and the audit passed"
                );
                harmless += 1;
            }
        }
    }
    println!("seed {seed}: {found} flips found, {harmless} in free space");
}
