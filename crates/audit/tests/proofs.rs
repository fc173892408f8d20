//! Entry and consistency proofs: built from a store, checked with the genesis alone, and refused
//! after any altered byte.

mod common;

use common::*;
use tally_audit::{prove_consistency, prove_entry, CheckError, Proof, ProveError, Proven};
use tally_chain::{header_digest, Store};
use tally_ledger::EntryId;

fn open(chain: &TestChain) -> Store {
    Store::open(&chain.path, &chain.genesis).unwrap()
}

#[test]
fn an_entry_proof_round_trips_through_bytes_and_checks() {
    let chain = build();
    let store = open(&chain);
    for (id, height) in [
        ("sale-3-0", 3),
        ("sale-3-2", 3),
        ("reversal-of-sale-2-0", REVERSAL_BLOCK),
    ] {
        let proof =
            prove_entry(&store, &store.state().unwrap(), &EntryId::new(id).unwrap()).unwrap();
        let bytes = proof.to_bytes();
        let decoded = Proof::from_bytes(&bytes).unwrap();
        assert_eq!(decoded, proof);
        match decoded.check(&chain.genesis).unwrap() {
            Proven::Entry {
                entry,
                member,
                height: proven_height,
                block,
                signers,
                ..
            } => {
                assert_eq!(entry.id.as_str(), id);
                assert_eq!(member.role(), tally_ledger::Role::Finance);
                assert_eq!(proven_height, height);
                assert_eq!(
                    block,
                    header_digest(&chain.blocks[height as usize - 1].header)
                );
                assert_eq!(signers, 3);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn an_unknown_entry_has_no_proof() {
    let chain = build();
    let store = open(&chain);
    let error = prove_entry(
        &store,
        &store.state().unwrap(),
        &EntryId::new("nope").unwrap(),
    )
    .unwrap_err();
    assert!(matches!(error, ProveError::UnknownEntry(_)), "{error}");
}

#[test]
fn every_altered_byte_of_an_entry_proof_is_refused() {
    let chain = build();
    let store = open(&chain);
    let proof = prove_entry(
        &store,
        &store.state().unwrap(),
        &EntryId::new("sale-5-1").unwrap(),
    )
    .unwrap();
    let bytes = proof.to_bytes();
    for at in 0..bytes.len() {
        let mut altered = bytes.clone();
        altered[at] ^= 0x01;
        // A changed byte must never yield a checked statement, not even about the same entry.
        if let Ok(proven) =
            Proof::from_bytes(&altered).and_then(|proof| proof.check(&chain.genesis))
        {
            panic!("byte {at} altered and the proof still checks: {proven:?}");
        }
    }
    println!("{} bytes, each altered alone: all refused", bytes.len());
}

#[test]
fn a_proof_does_not_check_against_another_genesis() {
    let chain = build();
    let store = open(&chain);
    let proof = prove_entry(
        &store,
        &store.state().unwrap(),
        &EntryId::new("sale-1-0").unwrap(),
    )
    .unwrap();
    let mut other = chain.genesis.clone();
    other.chain_id = "elsewhere".into();
    assert_eq!(
        proof.check(&other).unwrap_err(),
        CheckError::WrongChain {
            proof: CHAIN.into(),
            genesis: "elsewhere".into()
        }
    );
    // Same chain id, another enterprise root: the member certificate no longer checks.
    let mut other = chain.genesis.clone();
    other.root_key = tally_identity::SecretKey::from_seed([9; 32]).public_key();
    assert_eq!(proof.check(&other).unwrap_err(), CheckError::BadMember);
}

#[test]
fn a_consistency_proof_links_two_heads() {
    let chain = build();
    let store = open(&chain);
    let proof = prove_consistency(&store, CHAIN, 2, 9).unwrap();
    let bytes = proof.to_bytes();
    match Proof::from_bytes(&bytes)
        .unwrap()
        .check(&chain.genesis)
        .unwrap()
    {
        Proven::Consistency {
            from,
            from_digest,
            to,
            to_digest,
            ..
        } => {
            // Every test block has its own certificate, so the proof ends where asked.
            assert_eq!((from, to), (2, 9));
            assert_eq!(from_digest, header_digest(&chain.blocks[1].header));
            assert_eq!(to_digest, header_digest(&chain.blocks[8].header));
        }
        other => panic!("{other:?}"),
    }
    for at in 0..bytes.len() {
        let mut altered = bytes.clone();
        altered[at] ^= 0x01;
        let result = Proof::from_bytes(&altered).and_then(|proof| proof.check(&chain.genesis));
        assert!(
            result.is_err(),
            "byte {at} altered and the proof still checks"
        );
    }
    assert!(matches!(
        prove_consistency(&store, CHAIN, 9, 2).unwrap_err(),
        ProveError::BadRange { from: 9, to: 2 }
    ));
    assert!(matches!(
        prove_consistency(&store, CHAIN, 2, BLOCKS + 5).unwrap_err(),
        ProveError::NotCertified(_)
    ));
}

#[test]
fn a_header_removed_from_a_consistency_proof_breaks_the_link() {
    let chain = build();
    let store = open(&chain);
    let Proof::Consistency(mut proof) = prove_consistency(&store, CHAIN, 2, 6).unwrap() else {
        panic!("a consistency proof")
    };
    proof.headers.remove(2);
    assert_eq!(
        Proof::Consistency(proof).check(&chain.genesis).unwrap_err(),
        CheckError::BrokenLink {
            index: 2,
            height: 5
        }
    );
}

#[test]
fn an_entry_in_a_block_without_its_own_certificate_is_proven_through_a_descendant() {
    let chain = build();
    let (_dir, path) = copy(&chain);
    {
        let db = redb::Database::open(&path).unwrap();
        let write = db.begin_write().unwrap();
        let table: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("certificates");
        write.open_table(table).unwrap().remove(5).unwrap();
        write.commit().unwrap();
    }
    let (store, _) = Store::open_existing(&path).unwrap();
    let proof = prove_entry(
        &store,
        &store.state().unwrap(),
        &EntryId::new("sale-5-1").unwrap(),
    )
    .unwrap();
    let Proof::Entry(entry) = &proof else {
        panic!("an entry proof")
    };
    assert_eq!(
        entry.inclusion.headers.len(),
        2,
        "block 5 and its certified child"
    );
    match proof.check(&chain.genesis).unwrap() {
        Proven::Entry {
            height,
            certified_height,
            ..
        } => {
            assert_eq!((height, certified_height), (5, 6));
        }
        other => panic!("{other:?}"),
    }
}
