//! An observer's follower over a chain with real finalization certificates (three of four
//! validators): it commits what a quorum finalized and refuses everything a lying source could
//! send, committing nothing of it.

#[path = "../../audit/tests/common/mod.rs"]
mod common;

use tally_chain::{header_digest, Block, Store};
use tally_consensus::{CertificateError, ChainHandle, FollowError, Follower};

/// A block and the certificate stored beside it, if it has its own.
type Certified = (Block, Option<Vec<u8>>);

/// The test chain's blocks with the certificates stored beside them.
fn source() -> (common::TestChain, Vec<Certified>) {
    let chain = common::build();
    let store = Store::open(&chain.path, &chain.genesis).unwrap();
    let blocks = (1..=common::BLOCKS)
        .map(|height| {
            (
                store.block(height).unwrap().unwrap(),
                store.certificate(height).unwrap(),
            )
        })
        .collect();
    (chain, blocks)
}

fn observer(chain: &common::TestChain) -> (ChainHandle, Follower) {
    let store = Store::open_in_memory(&chain.genesis).unwrap();
    let handle = ChainHandle::new(chain.genesis.clone(), store).unwrap();
    handle.set_observer();
    let follower = Follower::new(handle.clone()).unwrap();
    (handle, follower)
}

#[test]
fn an_observer_reaches_the_validators_state() {
    let (chain, blocks) = source();
    let (handle, mut follower) = observer(&chain);
    for (block, certificate) in &blocks {
        assert_eq!(
            follower
                .offer(block.clone(), certificate.as_deref())
                .unwrap(),
            1
        );
    }
    let validators = Store::open(&chain.path, &chain.genesis)
        .unwrap()
        .state()
        .unwrap();
    let state = handle.state();
    assert_eq!(state.height, common::BLOCKS);
    assert_eq!(state.tip, validators.tip);
    assert_eq!(state.state_root(), validators.state_root());
    // What it serves is what it verified: the certificates were kept with the blocks.
    assert_eq!(
        handle.store().certificate(common::BLOCKS).unwrap(),
        blocks.last().unwrap().1
    );
}

#[test]
fn blocks_without_a_certificate_wait_for_a_certified_descendant() {
    let (chain, blocks) = source();
    let (handle, mut follower) = observer(&chain);
    for (block, _) in &blocks[..3] {
        assert_eq!(follower.offer(block.clone(), None).unwrap(), 0);
    }
    assert_eq!(handle.state().height, 0);
    assert_eq!(follower.held(), 3);
    assert_eq!(follower.next_height(), 4);
    let (block, certificate) = &blocks[3];
    assert_eq!(
        follower
            .offer(block.clone(), certificate.as_deref())
            .unwrap(),
        4
    );
    assert_eq!(handle.state().height, 4);
    assert_eq!(follower.held(), 0);
}

#[test]
fn a_certificate_of_another_block_is_refused_and_the_held_blocks_dropped() {
    let (chain, blocks) = source();
    let (handle, mut follower) = observer(&chain);
    follower.offer(blocks[0].0.clone(), None).unwrap();
    let error = follower
        .offer(blocks[1].0.clone(), blocks[0].1.as_deref())
        .unwrap_err();
    assert!(
        matches!(
            error,
            FollowError::Certificate {
                height: 2,
                source: CertificateError::WrongBlock { .. }
            }
        ),
        "{error}"
    );
    assert_eq!(handle.state().height, 0);
    assert_eq!(follower.held(), 0);
    // The honest blocks still go in afterwards.
    for (block, certificate) in &blocks[..2] {
        follower
            .offer(block.clone(), certificate.as_deref())
            .unwrap();
    }
    assert_eq!(handle.state().height, 2);
}

#[test]
fn a_certificate_of_other_validators_is_refused() {
    let (chain, blocks) = source();
    let (handle, mut follower) = observer(&chain);
    let strangers: Vec<_> = (50..54)
        .map(|seed| {
            use commonware_cryptography::Signer as _;
            commonware_cryptography::ed25519::PrivateKey::from_seed(seed)
        })
        .collect();
    let block = &blocks[0].0;
    let forged =
        common::certificate_by(&strangers, &strangers[..3], header_digest(&block.header), 1);
    let error = follower.offer(block.clone(), Some(&forged)).unwrap_err();
    assert!(
        matches!(error, FollowError::Certificate { height: 1, .. }),
        "{error}"
    );
    let garbage = follower.offer(block.clone(), Some(b"not a certificate"));
    assert!(matches!(
        garbage,
        Err(FollowError::Certificate {
            source: CertificateError::Malformed,
            ..
        })
    ));
    assert_eq!(handle.state().height, 0);
}

#[test]
fn a_certified_header_over_other_transactions_is_refused_on_execution() {
    let (chain, blocks) = source();
    let (handle, mut follower) = observer(&chain);
    let (block, certificate) = &blocks[0];
    let mut altered = block.clone();
    altered.transactions.pop();
    let error = follower.offer(altered, certificate.as_deref()).unwrap_err();
    assert!(
        matches!(error, FollowError::Commit { height: 1, .. }),
        "{error}"
    );
    assert_eq!(handle.state().height, 0);
    assert_eq!(handle.store().block(1).unwrap(), None);
}

#[test]
fn blocks_out_of_order_or_off_the_chain_are_refused() {
    let (chain, blocks) = source();
    let (handle, mut follower) = observer(&chain);
    let error = follower
        .offer(blocks[1].0.clone(), blocks[1].1.as_deref())
        .unwrap_err();
    assert!(
        matches!(
            error,
            FollowError::WrongHeight {
                expected: 1,
                got: 2
            }
        ),
        "{error}"
    );
    // Block 1 with another parent does not extend the genesis.
    let mut orphan = blocks[0].0.clone();
    orphan.header.parent = [7; 32];
    assert!(matches!(
        follower.offer(orphan, None),
        Err(FollowError::WrongParent { height: 1, .. })
    ));
    // A block of another chain.
    let mut foreign = blocks[0].0.clone();
    foreign.header.chain = tally_chain::chain_hash("another-chain");
    assert!(matches!(
        follower.offer(foreign, None),
        Err(FollowError::WrongChain { height: 1, .. })
    ));
    assert_eq!(handle.state().height, 0);
}

#[test]
fn an_observer_refuses_transactions() {
    let (chain, _) = source();
    let (handle, _) = observer(&chain);
    let (_, finance) = common::genesis();
    let tx = tally_chain::Transaction::Single(tally_chain::SignedTx::sign(
        &finance,
        common::CHAIN,
        tally_chain::TxBody::Post(common::entry("late", 5)),
    ));
    let error = handle.submit(tx).unwrap_err();
    assert_eq!(
        error.to_string(),
        "this node observes chain 'audit-test' and does not take transactions; submit to one of its validators"
    );
    assert_eq!(handle.mempool_entries(), 0);
}
