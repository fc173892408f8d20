//! Light proofs across validator-set epochs (format 2): a proof of a block in epoch `E` carries
//! one handoff per boundary before it, and checks against the genesis alone; a missing, edited,
//! misplaced or wrongly signed handoff is refused with its own error. Chains without epochs keep
//! format-1 proofs and their state roots, byte for byte.

mod common;
mod epoch_common;

use common::*;
use epoch_common::*;
use tally_audit::{
    prove_consistency, prove_entry, CheckError, EpochHandoff, Proof, Proven, PROOF_MAGIC,
    PROOF_MAGIC_V2,
};
use tally_chain::{epoch_state_root, header_digest, Store};
use tally_consensus::CertificateError;
use tally_ledger::EntryId;

/// The boundary blocks of epochs 0 and 1.
const BOUNDARY_0: u64 = EPOCH_BLOCKS - 1;
const BOUNDARY_1: u64 = 2 * EPOCH_BLOCKS - 1;

/// The state roots of blocks 1..=12 of the legacy test chain ([`build`]) and the header digest
/// of its genesis block, as computed before chains with epochs committed to their next set.
const LEGACY_GENESIS_BLOCK: &str =
    "600e3f0cda6fc50400be35d9c300a0c26d2bca56e4eb66ce2a3b949f483dceb9";
const LEGACY_STATE_ROOTS: [&str; 12] = [
    "6b9439c4c1a41da119dae972d7e7ad94b14e325c5305b59176280ccf13ae9f2d",
    "4c06741ee2309ff6f25dcf464bddafb142aa9071f6718feb6314c1bd20f3104d",
    "a079ee67dc9e61397a6aeb481f8faf111fc4d645de7e5f421487dfd3a52d6820",
    "0e9a2f31e3de29a19629908a41eeabeb40b50d429fc3637045b512b22b420b79",
    "ca4fde0d47cc9a28e1620ca1120118509dc4c34b9aa3c65e65ad7fd0a5aa7471",
    "6c6ee49db7c1e3fbdd5929210015012c678e28851322ed264b54c2fdb5da1d6e",
    "13456f107f3d982a90f6fb3ac457b4b319e13b9b058f1fad0afcd824c6428b1b",
    "353196ec18a9a728f5d96bb3ea60a14a3af145e5ea12b41d2c6e3fd33384819e",
    "29da81b58e67b732b11a51acda91534322242b2a611df279845e0bbabf798917",
    "7d53748c61e3977319b2db55fe1b4853b16105028a95c44f817b5b34e22f8177",
    "908701fd0ad52c3716009223fa5dda5ee632e832ce006c8cd86708cebcb59850",
    "fe2270921f60b8e22aef2baef821dca89c85af9c2262a2db7a26355f10f85a56",
];

fn open(chain: &EpochChain) -> Store {
    Store::open(&chain.path, &chain.genesis).unwrap()
}

/// The consistency proof of the consortium chain from height 1 to [`HEIGHT`] (epoch 2).
fn across_the_rotation(chain: &EpochChain) -> Proof {
    prove_consistency(&open(chain), CONSORTIUM, 1, HEIGHT).unwrap()
}

fn handoffs(proof: &mut Proof) -> &mut Vec<EpochHandoff> {
    proof.handoffs_mut()
}

#[test]
fn an_entry_proof_from_epoch_2_checks_against_the_genesis_alone() {
    let chain = private();
    let store = open(&chain);
    let id = EntryId::new("sale-9").unwrap();
    let proof = prove_entry(&store, &store.state().unwrap(), &id).unwrap();
    let bytes = proof.to_bytes();
    assert_eq!(&bytes[..8], PROOF_MAGIC_V2);
    let decoded = Proof::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, proof);
    // A private chain names no next set: each handoff keeps the genesis's.
    assert_eq!(decoded.handoffs().len(), 2);
    for (epoch, handoff) in decoded.handoffs().iter().enumerate() {
        assert_eq!(
            handoff.boundary,
            chain.block(BOUNDARY_0 + 4 * epoch as u64).header
        );
        assert!(handoff.validators.is_empty());
    }
    match decoded.check(&chain.genesis).unwrap() {
        Proven::Entry {
            entry,
            height,
            block,
            certified_height,
            signers,
            ..
        } => {
            assert_eq!(entry.id, id);
            assert_eq!((height, certified_height), (9, 9));
            assert_eq!(block, header_digest(&chain.block(9).header));
            assert_eq!(signers, 3);
        }
        other => panic!("{other:?}"),
    }

    // An entry of epoch 0 needs no handoff: its proof is format 1.
    let early = prove_entry(
        &store,
        &store.state().unwrap(),
        &EntryId::new("sale-2").unwrap(),
    )
    .unwrap();
    assert!(early.handoffs().is_empty());
    assert_eq!(&early.to_bytes()[..8], PROOF_MAGIC);
    Proof::from_bytes(&early.to_bytes())
        .unwrap()
        .check(&chain.genesis)
        .unwrap();
}

#[test]
fn a_consistency_proof_across_a_rotation_checks_against_the_genesis_alone() {
    let chain = consortium();
    let proof = across_the_rotation(&chain);
    let bytes = proof.to_bytes();
    assert_eq!(&bytes[..8], PROOF_MAGIC_V2);
    let decoded = Proof::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, proof);
    let store = open(&chain);
    let records = store.epochs().unwrap();
    assert_eq!(decoded.handoffs().len(), 2);
    for (epoch, handoff) in decoded.handoffs().iter().enumerate() {
        // The rotated set, as the registry named it at each boundary.
        assert_eq!(handoff.validators, records[epoch + 1].validators);
        assert_ne!(handoff.validators, records[0].validators);
        assert_eq!(
            epoch_state_root(&handoff.legacy_root, &handoff.validators),
            handoff.boundary.state_root
        );
    }
    assert_eq!(
        decoded.check(&chain.genesis).unwrap(),
        Proven::Consistency {
            chain_id: CONSORTIUM.into(),
            from: 1,
            from_digest: header_digest(&chain.block(1).header),
            to: HEIGHT,
            to_digest: header_digest(&chain.block(HEIGHT).header),
            signers: 3,
        }
    );

    // Within one epoch, and within epoch 0.
    for (from, to, handoffs) in [(9, HEIGHT, 2), (4, 6, 1), (1, 2, 0)] {
        let proof = prove_consistency(&store, CONSORTIUM, from, to).unwrap();
        assert_eq!(proof.handoffs().len(), handoffs, "{from}..{to}");
        Proof::from_bytes(&proof.to_bytes())
            .unwrap()
            .check(&chain.genesis)
            .unwrap();
    }
}

#[test]
fn a_missing_or_extra_handoff_is_refused() {
    let chain = consortium();
    for keep in [0, 1] {
        let mut proof = across_the_rotation(&chain);
        handoffs(&mut proof).truncate(keep);
        // Through bytes too: without handoffs the proof is written as format 1.
        let proof = Proof::from_bytes(&proof.to_bytes()).unwrap();
        assert_eq!(
            proof.check(&chain.genesis).unwrap_err(),
            CheckError::HandoffCount {
                got: keep,
                epoch: 2,
                height: HEIGHT
            }
        );
    }
    let mut proof = across_the_rotation(&chain);
    handoffs(&mut proof).remove(0);
    assert!(matches!(
        proof.check(&chain.genesis).unwrap_err(),
        CheckError::HandoffCount { got: 1, .. }
    ));
    let mut proof = across_the_rotation(&chain);
    let extra = handoffs(&mut proof)[1].clone();
    handoffs(&mut proof).push(extra);
    assert!(matches!(
        proof.check(&chain.genesis).unwrap_err(),
        CheckError::HandoffCount { got: 3, .. }
    ));
}

/// An edit of a handoff's validator list, given the genesis's set.
type EditList = fn(&mut Vec<[u8; 32]>, &[[u8; 32]]);

#[test]
fn an_edited_validator_list_is_refused() {
    let chain = consortium();
    let genesis_set = open(&chain).epochs().unwrap()[0].validators.clone();
    let edits: [(&str, EditList); 4] = [
        ("the genesis's set", |list, genesis| {
            *list = genesis.to_vec()
        }),
        ("a flipped key bit", |list, _| list[0][0] ^= 0x01),
        ("a dropped key", |list, _| {
            list.pop();
        }),
        ("emptied (keep the set)", |list, _| list.clear()),
    ];
    for epoch in [0, 1] {
        for (what, edit) in &edits {
            let mut proof = across_the_rotation(&chain);
            edit(&mut handoffs(&mut proof)[epoch].validators, &genesis_set);
            assert_eq!(
                proof.check(&chain.genesis).unwrap_err(),
                CheckError::HandoffStateRoot {
                    epoch: epoch as u64
                },
                "epoch {epoch}: {what}"
            );
        }
    }
    // The legacy root is bound the same way.
    let mut proof = across_the_rotation(&chain);
    handoffs(&mut proof)[1].legacy_root[31] ^= 0x01;
    assert_eq!(
        proof.check(&chain.genesis).unwrap_err(),
        CheckError::HandoffStateRoot { epoch: 1 }
    );
}

#[test]
fn a_handoff_signed_by_the_wrong_set_or_in_the_wrong_epoch_is_refused() {
    let chain = consortium();
    // The boundary of epoch 1 signed by the genesis's set, labelled epoch 1.
    let mut proof = across_the_rotation(&chain);
    handoffs(&mut proof)[1].certificate = chain.certificate(BOUNDARY_1, 0, 1);
    assert_eq!(
        proof.check(&chain.genesis).unwrap_err(),
        CheckError::HandoffCertificate {
            epoch: 1,
            error: CertificateError::BadSignatures { epoch: 1 }
        }
    );
    // The boundary of epoch 0 signed by the next set.
    let mut proof = across_the_rotation(&chain);
    handoffs(&mut proof)[0].certificate = chain.certificate(BOUNDARY_0, 1, 0);
    assert_eq!(
        proof.check(&chain.genesis).unwrap_err(),
        CheckError::HandoffCertificate {
            epoch: 0,
            error: CertificateError::BadSignatures { epoch: 0 }
        }
    );
    // The right set, the next epoch's label: a boundary is certified in the epoch it closes.
    let mut proof = across_the_rotation(&chain);
    handoffs(&mut proof)[1].certificate = chain.certificate(BOUNDARY_1, 1, 2);
    assert_eq!(
        proof.check(&chain.genesis).unwrap_err(),
        CheckError::HandoffCertificate {
            epoch: 1,
            error: CertificateError::WrongEpoch {
                certified: 2,
                expected: 1,
                height: BOUNDARY_1
            }
        }
    );
    // The proof's own certificate signed by the genesis's set.
    let Proof::Consistency(mut consistency) = across_the_rotation(&chain) else {
        unreachable!()
    };
    consistency.certificate = chain.certificate(HEIGHT, 0, 2);
    assert_eq!(
        Proof::Consistency(consistency)
            .check(&chain.genesis)
            .unwrap_err(),
        CheckError::Certificate(CertificateError::BadSignatures { epoch: 2 })
    );
}

#[test]
fn a_misplaced_or_foreign_handoff_is_refused() {
    let chain = consortium();
    let mut proof = across_the_rotation(&chain);
    handoffs(&mut proof).swap(0, 1);
    assert_eq!(
        proof.check(&chain.genesis).unwrap_err(),
        CheckError::HandoffMisplaced {
            epoch: 0,
            got: BOUNDARY_1,
            expected: BOUNDARY_0
        }
    );
    // A block inside epoch 0 instead of its last one.
    let mut proof = across_the_rotation(&chain);
    handoffs(&mut proof)[0].boundary = chain.block(2).header.clone();
    assert!(matches!(
        proof.check(&chain.genesis).unwrap_err(),
        CheckError::HandoffMisplaced {
            epoch: 0,
            got: 2,
            ..
        }
    ));
    // A header of another chain.
    let mut proof = across_the_rotation(&chain);
    handoffs(&mut proof)[1].boundary.chain[0] ^= 0x01;
    assert_eq!(
        proof.check(&chain.genesis).unwrap_err(),
        CheckError::HandoffChain { epoch: 1 }
    );
}

#[test]
fn a_range_header_at_a_boundary_must_be_the_certified_handoff() {
    let chain = consortium();
    // Set 0 certifies another block at the boundary of epoch 0 (a fork its keys signed): the
    // handoff checks on its own, but the proof's headers are of the other branch.
    let mut fork = chain.block(BOUNDARY_0).header.clone();
    fork.time_ms += 1;
    let digest = header_digest(&fork);
    let keys = &chain.sets[0];
    let certificate = finalization(CONSORTIUM, keys, &keys[..3], digest, 0, BOUNDARY_0 + 100);
    let mut proof = across_the_rotation(&chain);
    let handoff = &mut handoffs(&mut proof)[0];
    handoff.boundary = fork;
    handoff.certificate = certificate;
    assert_eq!(
        proof.check(&chain.genesis).unwrap_err(),
        CheckError::BoundaryMismatch {
            epoch: 0,
            height: BOUNDARY_0
        }
    );
}

#[test]
fn every_altered_byte_of_a_format_2_proof_is_refused() {
    let chain = consortium();
    let proof = prove_consistency(&open(&chain), CONSORTIUM, 9, HEIGHT).unwrap();
    let proven = proof.check(&chain.genesis).unwrap();
    let bytes = proof.to_bytes();
    for at in 0..bytes.len() {
        let mut altered = bytes.clone();
        altered[at] ^= 0x01;
        if let Ok(other) = Proof::from_bytes(&altered).and_then(|proof| proof.check(&chain.genesis))
        {
            assert_ne!(other, proven, "byte {at} changed nothing that is checked");
        }
    }
    // Trailing bytes, and a format-2 file that carries no handoff, are malformed.
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        Proof::from_bytes(&longer).unwrap_err(),
        CheckError::Malformed(_)
    ));
    let Proof::Consistency(mut bare) = proof else {
        unreachable!()
    };
    bare.handoffs.clear();
    let mut empty = PROOF_MAGIC_V2.to_vec();
    empty.extend(&Proof::Consistency(bare).to_bytes()[8..]);
    empty.push(0);
    assert_eq!(
        Proof::from_bytes(&empty).unwrap_err(),
        CheckError::Malformed("a TALLYPF2 proof carries no epoch handoff".into())
    );
}

#[test]
fn a_chain_without_epochs_keeps_its_state_roots_and_format_1_proofs() {
    let chain = build();
    assert_eq!(
        hex::encode(header_digest(&chain.genesis.block().unwrap().header).0),
        LEGACY_GENESIS_BLOCK
    );
    for (block, expected) in chain.blocks.iter().zip(LEGACY_STATE_ROOTS) {
        assert_eq!(
            hex::encode(block.header.state_root),
            expected,
            "height {}",
            block.height()
        );
    }
    let store = Store::open(&chain.path, &chain.genesis).unwrap();
    let state = store.state().unwrap();
    assert!(!state.epochs_enabled());
    assert_eq!(state.state_root(), state.legacy_state_root());
    let proof = prove_entry(&store, &state, &EntryId::new("sale-12-1").unwrap()).unwrap();
    assert!(proof.handoffs().is_empty());
    let bytes = proof.to_bytes();
    assert_eq!(&bytes[..8], PROOF_MAGIC);
    Proof::from_bytes(&bytes)
        .unwrap()
        .check(&chain.genesis)
        .unwrap();
    let consistency = prove_consistency(&store, CHAIN, 1, BLOCKS).unwrap();
    assert_eq!(&consistency.to_bytes()[..8], PROOF_MAGIC);
    consistency.check(&chain.genesis).unwrap();
}

#[test]
fn a_proof_is_not_built_over_a_boundary_stored_without_its_certificate() {
    let chain = consortium();
    {
        let db = redb::Database::open(&chain.path).unwrap();
        let write = db.begin_write().unwrap();
        {
            let certificates: redb::TableDefinition<u64, &[u8]> =
                redb::TableDefinition::new("certificates");
            let mut table = write.open_table(certificates).unwrap();
            assert!(table.remove(BOUNDARY_1).unwrap().is_some());
        }
        write.commit().unwrap();
    }
    let error = prove_consistency(&open(&chain), CONSORTIUM, 9, HEIGHT).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "stored data does not match: block {BOUNDARY_1} closes epoch 1 but has no \
             finalization certificate of its own"
        )
    );
}
