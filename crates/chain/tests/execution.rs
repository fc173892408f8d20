//! Block rules: every way a block or one of its transactions can be refused, with the exact
//! error (variant and message), and the positive cases next to them so that no refusal is an
//! accident of a fixture that refuses everything.

mod common;

use std::collections::HashMap;

use bytes::Bytes;
use commonware_codec::{Decode, Encode, EncodeSize, Error as CodecError};
use redb::ReadableTable;
use tally_chain::{
    build_block, execute_block, execute_block_with, header_digest, replay, Block, BlockDecodeError,
    BlockError, ChainState, CloseError, ClosePolicy, CloseProgress, CloseSigner, Closing, Executed,
    GenesisError, Store, Transaction, TxBody, TxError, BLOCK_BYTES_MAX, TXS_PER_BLOCK_MAX,
};
use tally_ledger::{
    codes::*, Currency, Date, EntryError, EntryLookup, PeriodError, PostError, Role, RoleSet, Side,
    TrialBalanceLine,
};

use common::*;

fn open(fx: &Fixture) -> (Store, ChainState) {
    let store = Store::open_in_memory(&fx.genesis).unwrap();
    let state = store.state().unwrap();
    (store, state)
}

/// Builds a block of `candidates` on the store's state, which must all be included, and
/// commits it.
fn commit_all(store: &Store, time_ms: u64, candidates: Vec<Transaction>) -> (Block, Executed) {
    let parent = store.state().unwrap();
    let (block, executed) = build_all(&parent, store, time_ms, candidates);
    store.commit(&block, &executed).unwrap();
    (block, executed)
}

/// The error `execute_block` gives for a block on committed state (the store's lookup).
fn refusal(parent: &ChainState, lookup: &impl EntryLookup, block: &Block) -> BlockError {
    match execute_block(parent, lookup, HashMap::new(), block) {
        Ok(_) => panic!("block {} was accepted", block.height()),
        Err(error) => error,
    }
}

fn net_eur(state: &ChainState, account: &str) -> Option<(Side, u128)> {
    state.ledger.balance(&code(account), Currency::EUR).net()
}

// ------------------------------------------------------------------------------------------
// A valid block.

#[test]
fn valid_block_executes_and_its_roots_match_a_fresh_replay() {
    let fx = fixture();
    let (store, genesis_state) = open(&fx);
    let candidates = vec![
        post(&fx.finance, simple("dep-1", BANK, OPENING_EQUITY, 10_000)),
        post(
            &fx.sales,
            simple("sale-1", ACCOUNTS_RECEIVABLE, SALES_REVENUE, 2_500),
        ),
        batch(
            &fx.bookkeeper,
            vec![
                simple("b-1", PAYMENT_FEES, BANK, 100),
                simple("b-2", CASH, BANK, 400),
            ],
        ),
        post(&fx.service, simple("ref-1", SALES_RETURNS, BANK, 1_000)),
    ];
    let (block, built) = build_all(&genesis_state, &empty_lookup(), T0 + 1_000, candidates);

    // The header follows the genesis block.
    let genesis_block = fx.genesis.block().unwrap();
    assert_eq!(block.header.parent, header_digest(&genesis_block.header).0);
    assert_eq!(block.header.height, 1);
    assert_eq!(block.header.time_ms, T0 + 1_000);
    assert_eq!(block.header.log_size, 5);
    assert_eq!(block.entry_count(), 5);

    // A validator executing it reaches the same state.
    let executed = execute_block(&genesis_state, &empty_lookup(), HashMap::new(), &block).unwrap();
    assert_eq!(executed.state.state_root(), block.header.state_root);
    assert_eq!(executed.state.log.root(), block.header.log_root);
    assert_eq!(executed.state.tip, header_digest(&block.header).0);
    assert_eq!(executed.state.tip, built.state.tip);
    assert_eq!(executed.entries, built.entries);

    // So does a replay from the genesis.
    let replayed = replay(&fx.genesis, [&block]).unwrap();
    assert_eq!(replayed.state_root(), block.header.state_root);
    assert_eq!(replayed.log.root(), block.header.log_root);
    assert_eq!(replayed.log.len(), 5);
    assert_eq!(replayed.height, 1);
    assert_eq!(replayed.time_ms, T0 + 1_000);
    assert_eq!(replayed.tip, digest(&block).0);
    assert!(replayed.ledger.is_balanced());
    assert_eq!(replayed.ledger.entry_count(), 5);
    // 100.00 in, 1.00 + 4.00 + 10.00 out.
    assert_eq!(net_eur(&replayed, BANK), Some((Side::Debit, 8_500)));

    // The store keeps the block, the entries and a snapshot with the same roots.
    store.commit(&block, &executed).unwrap();
    assert_eq!(store.height().unwrap(), 1);
    assert_eq!(store.block(1).unwrap(), Some(block.clone()));
    let snapshot = store.state().unwrap();
    assert_eq!(snapshot.state_root(), block.header.state_root);
    assert_eq!(snapshot.log.root(), block.header.log_root);
    assert_eq!(snapshot.tip, digest(&block).0);
    let b2 = store.entry(&id("b-2")).unwrap().unwrap();
    assert_eq!(
        (
            b2.height,
            b2.tx_index,
            b2.item_index,
            b2.log_index,
            b2.time_ms
        ),
        (1, 2, 1, 3, T0 + 1_000)
    );
    assert_eq!(b2.signer, fx.bookkeeper.public_key());
    assert_eq!(store.entry(&id("nope")).unwrap(), None);

    // The consensus codec round-trips the block.
    let encoded = block.encode();
    assert_eq!(encoded.len(), block.encode_size());
    assert_eq!(Block::decode_cfg(encoded, &()).unwrap(), block);
    assert_eq!(Block::decode_checked(&block.to_bytes()).unwrap(), block);

    // A second block continues from the snapshot, and replay covers both.
    let (second, _) = commit_all(
        &store,
        T0 + 2_000,
        vec![post(&fx.finance, simple("dep-2", BANK, OPENING_EQUITY, 1))],
    );
    let replayed = replay(&fx.genesis, [&block, &second]).unwrap();
    assert_eq!(replayed.state_root(), second.header.state_root);
    assert_eq!(replayed.log.root(), second.header.log_root);
    assert_eq!(replayed.tip, store.state().unwrap().tip);
    assert_ne!(second.header.log_root, block.header.log_root);
}

#[test]
fn an_empty_block_is_valid_and_keeps_the_roots_but_not_the_tip() {
    let fx = fixture();
    let (_store, state) = open(&fx);
    let (block, executed) = build_all(&state, &empty_lookup(), T0, Vec::new());
    assert_eq!(block.header.state_root, state.state_root());
    assert_eq!(block.header.log_root, state.log.root());
    assert_ne!(executed.state.tip, state.tip);
    execute_block(&state, &empty_lookup(), HashMap::new(), &block).unwrap();
}

// ------------------------------------------------------------------------------------------
// Header rules.

#[test]
fn a_block_of_another_chain_is_refused() {
    let ours = fixture();
    let theirs = fixture_on("tally-other");
    let (_store, state) = open(&ours);
    let their_state = theirs.genesis.initial_state().unwrap();
    let tx = tally_chain::Transaction::Single(tally_chain::SignedTx::sign(
        &theirs.finance,
        "tally-other",
        TxBody::Post(simple("dep-1", BANK, OPENING_EQUITY, 100)),
    ));
    let (block, _) = build_all(&their_state, &empty_lookup(), T0 + 1, vec![tx.clone()]);

    let error = refusal(&state, &empty_lookup(), &block);
    assert_eq!(error, BlockError::WrongChain);
    assert_eq!(error.to_string(), "block is for another chain");

    // Their transaction in a block for our chain: the signature covers the chain id.
    let error = refusal(&state, &empty_lookup(), &forge(&state, T0 + 1, vec![tx]));
    assert_eq!(error, BlockError::BadSignature { index: 0 });
}

#[test]
fn a_block_at_the_wrong_height_is_refused() {
    let fx = fixture();
    let (store, state) = open(&fx);
    let (block, _) = build_all(&state, &empty_lookup(), T0 + 1, Vec::new());

    let mut skipping = block.clone();
    skipping.header.height = 2;
    let error = refusal(&state, &empty_lookup(), &skipping);
    assert_eq!(error, BlockError::WrongHeight { got: 2, parent: 0 });
    assert_eq!(error.to_string(), "block height 2 does not follow 0");

    // The same block again on the state it led to.
    let executed = execute_block(&state, &store, HashMap::new(), &block).unwrap();
    store.commit(&block, &executed).unwrap();
    let error = refusal(&store.state().unwrap(), &store, &block);
    assert_eq!(error, BlockError::WrongHeight { got: 1, parent: 1 });
}

#[test]
fn a_block_with_the_wrong_parent_is_refused() {
    let fx = fixture();
    let (_store, state) = open(&fx);
    let (block, _) = build_all(&state, &empty_lookup(), T0 + 1, Vec::new());
    let mut orphan = block.clone();
    orphan.header.parent[31] ^= 0x01;
    let error = refusal(&state, &empty_lookup(), &orphan);
    assert_eq!(error, BlockError::WrongParent);
    assert_eq!(
        error.to_string(),
        "block parent does not match the parent state"
    );
}

#[test]
fn time_may_stand_still_but_not_go_back() {
    let fx = fixture();
    let (store, _) = open(&fx);
    commit_all(&store, T0 + 5_000, Vec::new());
    let parent = store.state().unwrap();
    assert_eq!(parent.time_ms, T0 + 5_000);

    let error = refusal(&parent, &store, &forge(&parent, T0 + 4_999, Vec::new()));
    assert_eq!(
        error,
        BlockError::TimeWentBack {
            got: T0 + 4_999,
            parent: T0 + 5_000
        }
    );
    assert_eq!(
        error.to_string(),
        format!(
            "block time {} ms is before its parent's {} ms",
            T0 + 4_999,
            T0 + 5_000
        )
    );

    // The same time is fine, and a proposer's late clock is lifted to the parent's time.
    let (same, _) = build_all(&parent, &store, T0 + 5_000, Vec::new());
    execute_block(&parent, &store, HashMap::new(), &same).unwrap();
    let (late, _) = build_all(&parent, &store, T0, Vec::new());
    assert_eq!(late.header.time_ms, T0 + 5_000);
    execute_block(&parent, &store, HashMap::new(), &late).unwrap();
}

// ------------------------------------------------------------------------------------------
// Signatures and roots.

#[test]
fn a_flipped_signature_byte_names_the_transaction() {
    let fx = fixture();
    let (_store, state) = open(&fx);
    let good_a = post(&fx.finance, simple("a", BANK, OPENING_EQUITY, 100));
    let good_c = post(&fx.finance, simple("c", BANK, OPENING_EQUITY, 100));
    let bad_single = with_bad_signature(post(&fx.finance, simple("b", BANK, OPENING_EQUITY, 1)));
    let bad_batch = with_bad_signature(batch(
        &fx.finance,
        vec![simple("b", BANK, OPENING_EQUITY, 1)],
    ));

    for bad in [bad_single, bad_batch] {
        let block = forge(
            &state,
            T0 + 1,
            vec![good_a.clone(), bad.clone(), good_c.clone()],
        );
        let error = refusal(&state, &empty_lookup(), &block);
        assert_eq!(error, BlockError::BadSignature { index: 1 });
        assert_eq!(error.to_string(), "transaction 1 has a bad signature");

        // A node that verified the good ones before (they wait in its mempool) checks only the
        // others, and still names the bad one by its place in the block.
        let known = [good_a.hash(), good_c.hash()];
        let error = execute_block_with(&state, &empty_lookup(), HashMap::new(), &block, |hash| {
            known.contains(hash)
        })
        .map(|_| ())
        .unwrap_err();
        assert_eq!(error, BlockError::BadSignature { index: 1 });

        // `build_block` trusts that the mempool checked signatures; whatever it makes of such
        // a candidate, a block carrying it must never execute.
        let (built, _, _) = build_block(
            &state,
            &empty_lookup(),
            HashMap::new(),
            T0 + 1,
            vec![good_a.clone(), bad.clone()],
        );
        if let Some(index) = built.transactions.iter().position(|tx| *tx == bad) {
            assert_eq!(
                refusal(&state, &empty_lookup(), &built),
                BlockError::BadSignature { index }
            );
        }
    }

    // The same block with good signatures executes as far as its (zeroed) roots.
    let block = forge(&state, T0 + 1, vec![good_a, good_c]);
    assert_eq!(
        refusal(&state, &empty_lookup(), &block),
        BlockError::RootMismatch { field: "log_root" }
    );
}

#[test]
fn tampered_header_roots_are_refused() {
    let fx = fixture();
    let (_store, state) = open(&fx);
    let (block, _) = build_all(
        &state,
        &empty_lookup(),
        T0 + 1,
        vec![
            post(&fx.finance, simple("dep-1", BANK, OPENING_EQUITY, 100)),
            post(
                &fx.sales,
                simple("sale-1", ACCOUNTS_RECEIVABLE, SALES_REVENUE, 100),
            ),
        ],
    );
    execute_block(&state, &empty_lookup(), HashMap::new(), &block).unwrap();

    let mut bad_state = block.clone();
    bad_state.header.state_root[0] ^= 0x01;
    let error = refusal(&state, &empty_lookup(), &bad_state);
    assert_eq!(
        error,
        BlockError::RootMismatch {
            field: "state_root"
        }
    );
    assert_eq!(
        error.to_string(),
        "header state_root does not match the executed block"
    );
    // It still decodes: only execution can tell.
    assert_eq!(
        Block::decode_checked(&bad_state.to_bytes()).unwrap(),
        bad_state
    );

    let mut bad_log = block.clone();
    bad_log.header.log_root[31] ^= 0x80;
    let error = refusal(&state, &empty_lookup(), &bad_log);
    assert_eq!(error, BlockError::RootMismatch { field: "log_root" });
    assert_eq!(
        error.to_string(),
        "header log_root does not match the executed block"
    );

    let mut bad_size = block.clone();
    bad_size.header.log_size += 1;
    assert_eq!(
        refusal(&state, &empty_lookup(), &bad_size),
        BlockError::RootMismatch { field: "log_size" }
    );

    // A wrong transaction root is caught when the block is decoded...
    let mut bad_tx_root = block.clone();
    bad_tx_root.header.tx_root[5] ^= 0x01;
    let error = Block::decode_checked(&bad_tx_root.to_bytes()).unwrap_err();
    assert_eq!(error, BlockDecodeError::TxRootMismatch { height: 1 });
    assert_eq!(
        error.to_string(),
        "block 1: transactions do not match the header's transaction root"
    );
    assert!(matches!(
        Block::decode_cfg(bad_tx_root.encode(), &()),
        Err(CodecError::Invalid("Block", _))
    ));
    // ... and by execution, for a block that never went through bytes.
    assert_eq!(
        refusal(&state, &empty_lookup(), &bad_tx_root),
        BlockError::RootMismatch { field: "tx_root" }
    );

    // Reordered or swapped transactions no longer match the root either.
    let mut reordered = block.clone();
    reordered.transactions.reverse();
    assert_eq!(
        Block::decode_checked(&reordered.to_bytes()).unwrap_err(),
        BlockDecodeError::TxRootMismatch { height: 1 }
    );
    let mut swapped = block.clone();
    swapped.transactions[1] = post(
        &fx.sales,
        simple("sale-2", ACCOUNTS_RECEIVABLE, SALES_REVENUE, 100),
    );
    assert_eq!(
        Block::decode_checked(&swapped.to_bytes()).unwrap_err(),
        BlockDecodeError::TxRootMismatch { height: 1 }
    );
}

// ------------------------------------------------------------------------------------------
// Who may sign.

#[test]
fn a_signer_who_is_not_a_member_is_refused() {
    let fx = fixture();
    let (_store, state) = open(&fx);
    let tx = post(&fx.outsider, simple("x-1", BANK, OPENING_EQUITY, 100));
    let signer = fx.outsider.public_key();

    let error = rejection(&state, &empty_lookup(), T0 + 1, tx.clone());
    assert_eq!(error, TxError::UnknownSigner { signer });

    let error = refusal(&state, &empty_lookup(), &forge(&state, T0 + 1, vec![tx]));
    assert_eq!(
        error,
        BlockError::Transaction {
            index: 0,
            source: TxError::UnknownSigner { signer }
        }
    );
    assert_eq!(
        error.to_string(),
        format!("transaction 0: signer {signer} is not a member of this chain")
    );
}

#[test]
fn a_revoked_member_may_no_longer_sign() {
    let fx = fixture();
    let (store, state) = open(&fx);
    let sales = fx.sales.public_key();
    let revoke = single(&fx.admin, TxBody::RevokeMember(sales));
    let sale = |n: &str| {
        post(
            &fx.sales,
            simple(n, ACCOUNTS_RECEIVABLE, SALES_REVENUE, 100),
        )
    };

    // Only an admin revokes, and only members.
    assert_eq!(
        rejection(
            &state,
            &store,
            T0 + 1,
            single(&fx.finance, TxBody::RevokeMember(sales))
        ),
        TxError::NotAllowed {
            role: "finance",
            action: "revoke members"
        }
    );
    let outsider = fx.outsider.public_key();
    let error = rejection(
        &state,
        &store,
        T0 + 1,
        single(&fx.admin, TxBody::RevokeMember(outsider)),
    );
    assert_eq!(error, TxError::MemberUnknown(outsider));
    assert_eq!(
        error.to_string(),
        format!("member {outsider} is not registered")
    );

    // In one block: before the revocation the member signs, after it not.
    let block = forge(
        &state,
        T0 + 1,
        vec![sale("s-0"), revoke.clone(), sale("s-1")],
    );
    let error = refusal(&state, &store, &block);
    assert_eq!(
        error,
        BlockError::Transaction {
            index: 2,
            source: TxError::SignerRevoked { signer: sales }
        }
    );
    assert_eq!(
        error.to_string(),
        format!("transaction 2: signer {sales} was revoked")
    );

    commit_all(&store, T0 + 1, vec![sale("s-0"), revoke]);
    let parent = store.state().unwrap();
    assert!(parent.members[&sales].revoked);
    assert!(!parent.members[&fx.finance.public_key()].revoked);
    assert_eq!(store.entry(&id("s-0")).unwrap().unwrap().height, 1);

    // In a later block, singles and batches alike.
    assert_eq!(
        rejection(&parent, &store, T0 + 2, sale("s-2")),
        TxError::SignerRevoked { signer: sales }
    );
    let sales_batch = batch(
        &fx.sales,
        vec![simple("s-3", ACCOUNTS_RECEIVABLE, SALES_REVENUE, 1)],
    );
    assert_eq!(
        rejection(&parent, &store, T0 + 2, sales_batch),
        TxError::SignerRevoked { signer: sales }
    );
    // The others still sign.
    build_all(
        &parent,
        &store,
        T0 + 2,
        vec![post(
            &fx.finance,
            simple("f-1", ACCOUNTS_RECEIVABLE, SALES_REVENUE, 1),
        )],
    );
}

#[test]
fn a_certificate_counts_only_inside_its_validity_window() {
    let fx = fixture();
    let (_store, state) = open(&fx);
    let temp = fx.temp.public_key();
    let future = fx.future.public_key();
    let entry = |n: &str| simple(n, CASH, OPENING_EQUITY, 100);

    // The last millisecond is still covered.
    let (block, _) = build_all(
        &state,
        &empty_lookup(),
        TEMP_UNTIL,
        vec![post(&fx.temp, entry("t-1"))],
    );
    execute_block(&state, &empty_lookup(), HashMap::new(), &block).unwrap();

    // One millisecond later it is not, for singles and batches.
    let error = rejection(
        &state,
        &empty_lookup(),
        TEMP_UNTIL + 1,
        post(&fx.temp, entry("t-1")),
    );
    assert_eq!(error, TxError::CertificateExpired { signer: temp });
    assert_eq!(
        error.to_string(),
        format!("the certificate of signer {temp} is not valid at the block time")
    );
    assert_eq!(
        rejection(
            &state,
            &empty_lookup(),
            TEMP_UNTIL + 1,
            batch(&fx.temp, vec![entry("t-1")])
        ),
        TxError::CertificateExpired { signer: temp }
    );
    let block = forge(&state, TEMP_UNTIL + 1, vec![post(&fx.temp, entry("t-1"))]);
    assert_eq!(
        refusal(&state, &empty_lookup(), &block),
        BlockError::Transaction {
            index: 0,
            source: TxError::CertificateExpired { signer: temp }
        }
    );

    // A certificate that has not started yet is refused the same way, until it starts.
    assert_eq!(
        rejection(
            &state,
            &empty_lookup(),
            T0 + 1,
            post(&fx.future, entry("f-1"))
        ),
        TxError::CertificateExpired { signer: future }
    );
    build_all(
        &state,
        &empty_lookup(),
        FUTURE_FROM,
        vec![post(&fx.future, entry("f-1"))],
    );
}

#[test]
fn an_admin_registers_a_member_who_may_sign_in_the_same_block() {
    let fx = fixture();
    let (_store, state) = open(&fx);
    let newcomer = key(50);
    let member = certify(
        &fx.root,
        CHAIN,
        &newcomer,
        "newcomer",
        Role::Sales,
        T0,
        FOREVER,
    );
    let sale = post(
        &newcomer,
        simple("n-1", ACCOUNTS_RECEIVABLE, SALES_REVENUE, 100),
    );
    let register = single(&fx.admin, TxBody::RegisterMember(member.clone()));

    let (block, executed) = build_all(
        &state,
        &empty_lookup(),
        T0 + 1,
        vec![register.clone(), sale],
    );
    assert_eq!(executed.state.members.len(), state.members.len() + 1);
    let replayed = replay(&fx.genesis, [&block]).unwrap();
    assert_eq!(replayed.state_root(), block.header.state_root);
    // Membership is part of the state root.
    assert_ne!(block.header.state_root, state.state_root());

    // Twice is refused; so is a certificate from another root, and a non-admin registering.
    let error = refusal(
        &state,
        &empty_lookup(),
        &forge(&state, T0 + 1, vec![register.clone(), register]),
    );
    assert_eq!(
        error,
        BlockError::Transaction {
            index: 1,
            source: TxError::MemberExists(newcomer.public_key())
        }
    );
    let forged = certify(
        &key(51),
        CHAIN,
        &newcomer,
        "newcomer",
        Role::Finance,
        T0,
        FOREVER,
    );
    assert!(matches!(
        rejection(
            &state,
            &empty_lookup(),
            T0 + 1,
            single(&fx.admin, TxBody::RegisterMember(forged))
        ),
        TxError::Certificate(_)
    ));
    assert_eq!(
        rejection(
            &state,
            &empty_lookup(),
            T0 + 1,
            single(&fx.finance, TxBody::RegisterMember(member))
        ),
        TxError::NotAllowed {
            role: "finance",
            action: "register members"
        }
    );
}

// ------------------------------------------------------------------------------------------
// Batches.

#[test]
fn a_batch_with_one_bad_entry_is_refused_whole() {
    let fx = fixture();
    let (_store, state) = open(&fx);
    let mut unbalanced = simple("b-2", CASH, OPENING_EQUITY, 100);
    unbalanced.postings[1].amount = 101;
    let bad = batch(
        &fx.bookkeeper,
        vec![
            simple("b-1", CASH, OPENING_EQUITY, 100),
            unbalanced,
            simple("b-3", CASH, OPENING_EQUITY, 100),
        ],
    );
    let before = post(&fx.finance, simple("s-1", CASH, OPENING_EQUITY, 7));
    let after = post(&fx.finance, simple("s-2", CASH, OPENING_EQUITY, 9));
    // The ids of the refused batch are free again, in the same block.
    let reuse = batch(
        &fx.bookkeeper,
        vec![simple("b-1", CASH, OPENING_EQUITY, 1_000)],
    );

    let expected = TxError::InBatch {
        index: 1,
        source: Box::new(TxError::Entry(EntryError::Unbalanced {
            currency: Currency::EUR,
            debits: 100,
            credits: 101,
        })),
    };
    let block = forge(
        &state,
        T0 + 1,
        vec![before.clone(), bad.clone(), after.clone()],
    );
    let error = refusal(&state, &empty_lookup(), &block);
    assert_eq!(
        error,
        BlockError::Transaction {
            index: 1,
            source: expected.clone()
        }
    );
    assert_eq!(
        error.to_string(),
        "transaction 1: entry 1 of the batch: unbalanced: EUR debits 1.00, credits 1.01"
    );

    let (block, executed, rejected) = build_block(
        &state,
        &empty_lookup(),
        HashMap::new(),
        T0 + 1,
        vec![before.clone(), bad.clone(), after.clone(), reuse.clone()],
    );
    assert_eq!(block.transactions, vec![before, after, reuse]);
    assert_eq!(rejected, vec![(bad, expected)]);
    let ids: Vec<&str> = executed
        .entries
        .iter()
        .map(|e| e.entry.id.as_str())
        .collect();
    assert_eq!(ids, ["s-1", "s-2", "b-1"]);
    assert_eq!(executed.entries[2].tx_index, 2);
    assert_eq!(executed.state.ledger.entry_count(), 3);
    assert_eq!(net_eur(&executed.state, CASH), Some((Side::Debit, 1_016)));
    assert!(!executed.pending.contains_key(&id("b-3")));
    let replayed = execute_block(&state, &empty_lookup(), HashMap::new(), &block).unwrap();
    assert_eq!(replayed.state.state_root(), block.header.state_root);

    // An empty batch is refused.
    let error = rejection(
        &state,
        &empty_lookup(),
        T0 + 1,
        batch(&fx.finance, Vec::new()),
    );
    assert_eq!(error, TxError::EmptyBatch);
    assert_eq!(error.to_string(), "batch is empty");
}

#[test]
fn a_refused_batch_leaves_no_reversal_behind() {
    let fx = fixture();
    let (store, _) = open(&fx);
    let original = simple("orig", ACCOUNTS_RECEIVABLE, SALES_REVENUE, 500);
    commit_all(&store, T0 + 1, vec![post(&fx.sales, original.clone())]);
    let parent = store.state().unwrap();

    // A batch that reverses the entry and then fails: the reversal must be undone.
    let failing = batch(
        &fx.finance,
        vec![
            reversal("rev-a", &original),
            simple("over", PAYMENT_FEES, BANK, 1),
        ],
    );
    let (block, executed, rejected) = build_block(
        &parent,
        &store,
        HashMap::new(),
        T0 + 2,
        vec![failing, post(&fx.finance, reversal("rev-b", &original))],
    );
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        rejected[0].1,
        TxError::InBatch {
            index: 1,
            source: Box::new(TxError::Post(PostError::WouldGoNegative {
                account: code(BANK),
                currency: Currency::EUR
            }))
        }
    );
    assert_eq!(block.transactions.len(), 1);
    assert_eq!(executed.reversals, vec![(id("orig"), id("rev-b"))]);
    assert_eq!(
        executed.pending.get(&id("orig")).unwrap().reversed_by,
        Some(id("rev-b"))
    );
    assert!(!executed.pending.contains_key(&id("rev-a")));
    store.commit(&block, &executed).unwrap();
    assert_eq!(
        store.entry(&id("orig")).unwrap().unwrap().reversed_by,
        Some(id("rev-b"))
    );
    assert_eq!(store.entry(&id("rev-a")).unwrap(), None);
}

// ------------------------------------------------------------------------------------------
// Entry ids.

#[test]
fn an_entry_id_is_used_once_within_a_block() {
    let fx = fixture();
    let (_store, state) = open(&fx);
    let first = post(&fx.finance, simple("dup", CASH, OPENING_EQUITY, 100));
    let second = post(&fx.bookkeeper, simple("dup", CASH, OPENING_EQUITY, 200));

    let error = refusal(
        &state,
        &empty_lookup(),
        &forge(&state, T0 + 1, vec![first.clone(), second.clone()]),
    );
    assert_eq!(
        error,
        BlockError::Transaction {
            index: 1,
            source: TxError::Post(PostError::DuplicateId { id: id("dup") })
        }
    );
    assert_eq!(
        error.to_string(),
        "transaction 1: entry id 'dup' was already committed"
    );

    let (block, executed, rejected) = build_block(
        &state,
        &empty_lookup(),
        HashMap::new(),
        T0 + 1,
        vec![first.clone(), second.clone()],
    );
    assert_eq!(block.transactions, vec![first]);
    assert_eq!(rejected.len(), 1);
    assert_eq!(executed.state.ledger.entry_count(), 1);

    // Inside one batch too.
    let twice = batch(
        &fx.finance,
        vec![
            simple("dup", CASH, OPENING_EQUITY, 100),
            simple("dup", CASH, OPENING_EQUITY, 100),
        ],
    );
    assert_eq!(
        rejection(&state, &empty_lookup(), T0 + 1, twice),
        TxError::InBatch {
            index: 1,
            source: Box::new(TxError::DuplicateInTransaction(id("dup")))
        }
    );
}

#[test]
fn an_entry_id_is_used_once_across_blocks_as_of_each_height() {
    let fx = fixture();
    let (store, genesis_state) = open(&fx);
    let entry = post(&fx.finance, simple("x", CASH, OPENING_EQUITY, 100));
    let again = post(&fx.bookkeeper, simple("x", CASH, OPENING_EQUITY, 300));
    let (block1, executed1) = build_all(&genesis_state, &store, T0 + 1, vec![entry.clone()]);

    // Before block 1 is committed, the next block sees its entries through `pending`.
    let (_, _, rejected) = build_block(
        &executed1.state,
        &empty_lookup(),
        executed1.pending.clone(),
        T0 + 2,
        vec![again.clone()],
    );
    assert_eq!(
        rejected[0].1,
        TxError::Post(PostError::DuplicateId { id: id("x") })
    );

    store.commit(&block1, &executed1).unwrap();
    let state1 = store.state().unwrap();

    // Visible as of height 1, invisible as of height 0.
    assert!(store.at(1).lookup(&id("x")).is_some());
    assert!(store.at(2).lookup(&id("x")).is_some());
    assert_eq!(store.at(0).lookup(&id("x")), None);
    assert!(store.lookup(&id("x")).is_some());

    // A later block may not reuse the id.
    let error = rejection(&state1, &store.at(1), T0 + 2, again.clone());
    assert_eq!(error, TxError::Post(PostError::DuplicateId { id: id("x") }));
    let block2 = forge(&state1, T0 + 2, vec![again.clone()]);
    assert_eq!(
        refusal(&state1, &store.at(1), &block2),
        BlockError::Transaction {
            index: 0,
            source: TxError::Post(PostError::DuplicateId { id: id("x") })
        }
    );

    // A competing block at height 1, executed as of height 0, may: the committed block 1 is
    // not its ancestor.
    let (sibling, _) = build_all(&genesis_state, &store.at(0), T0 + 3, vec![again.clone()]);
    execute_block(&genesis_state, &store.at(0), HashMap::new(), &sibling).unwrap();
    assert_eq!(
        refusal(&genesis_state, &store.at(1), &sibling),
        BlockError::Transaction {
            index: 0,
            source: TxError::Post(PostError::DuplicateId { id: id("x") })
        }
    );
}

// ------------------------------------------------------------------------------------------
// Reversals.

#[test]
fn an_entry_is_reversed_once_by_its_mirror() {
    let fx = fixture();
    let (store, _) = open(&fx);
    let original = draft(
        "sale-1",
        date(2026, 1, 10),
        vec![
            posting(ACCOUNTS_RECEIVABLE, Side::Debit, 1_190, Currency::EUR),
            posting(SALES_REVENUE, Side::Credit, 1_000, Currency::EUR),
            posting(OUTPUT_VAT, Side::Credit, 190, Currency::EUR),
        ],
    );
    commit_all(&store, T0 + 1, vec![post(&fx.sales, original.clone())]);
    let state1 = store.state().unwrap();
    assert_eq!(
        net_eur(&state1, ACCOUNTS_RECEIVABLE),
        Some((Side::Debit, 1_190))
    );

    // Not a mirror, or of an unknown entry: refused.
    let mut lopsided = reversal("rev-x", &original);
    lopsided.postings[0].amount = 1_000;
    lopsided.postings[1].amount = 810;
    assert_eq!(
        rejection(&state1, &store, T0 + 2, post(&fx.sales, lopsided)),
        TxError::Post(PostError::NotAMirror { id: id("sale-1") })
    );
    let mut unknown = reversal("rev-x", &original);
    unknown.reverses = Some(id("sale-404"));
    assert_eq!(
        rejection(&state1, &store, T0 + 2, post(&fx.sales, unknown)),
        TxError::Post(PostError::ReversedEntryUnknown { id: id("sale-404") })
    );

    // The mirror is accepted (postings in any order) and brings the balances back to zero.
    let mut mirror = reversal("rev-1", &original);
    mirror.postings.reverse();
    let (block2, executed2) = commit_all(&store, T0 + 2, vec![post(&fx.sales, mirror)]);
    assert_eq!(executed2.reversals, vec![(id("sale-1"), id("rev-1"))]);
    let state2 = store.state().unwrap();
    for account in [ACCOUNTS_RECEIVABLE, SALES_REVENUE, OUTPUT_VAT] {
        assert_eq!(net_eur(&state2, account), None, "{account}");
    }
    assert_eq!(
        store.entry(&id("sale-1")).unwrap().unwrap().reversed_by,
        Some(id("rev-1"))
    );
    // The reversal is visible only as of its own height.
    assert_eq!(store.at(1).lookup(&id("sale-1")).unwrap().reversed_by, None);
    assert_eq!(
        store.at(2).lookup(&id("sale-1")).unwrap().reversed_by,
        Some(id("rev-1"))
    );

    // A second reversal is refused, in a later block or the same one.
    let second = post(&fx.finance, reversal("rev-2", &original));
    let error = rejection(&state2, &store, T0 + 3, second.clone());
    let expected = TxError::Post(PostError::AlreadyReversed {
        id: id("sale-1"),
        by: id("rev-1"),
    });
    assert_eq!(error, expected);
    assert_eq!(
        error.to_string(),
        "entry 'sale-1' was already reversed by 'rev-1'"
    );
    let both = forge(
        &state1,
        T0 + 2,
        vec![
            post(&fx.sales, reversal("rev-1", &original)),
            second.clone(),
        ],
    );
    assert_eq!(
        refusal(&state1, &store.at(1), &both),
        BlockError::Transaction {
            index: 1,
            source: expected
        }
    );
    // As of height 1 (block 2 not yet an ancestor) a reversal is still possible.
    build_all(&state1, &store.at(1), T0 + 2, vec![second]);

    // Replay agrees with the store.
    let block1 = store.block(1).unwrap().unwrap();
    let replayed = replay(&fx.genesis, [&block1, &block2]).unwrap();
    assert_eq!(replayed.state_root(), state2.state_root());
}

// ------------------------------------------------------------------------------------------
// Ledger rules through the chain.

#[test]
fn a_role_posts_only_where_the_chart_allows() {
    let fx = fixture();
    let (_store, state) = open(&fx);
    let error = rejection(
        &state,
        &empty_lookup(),
        T0 + 1,
        post(&fx.sales, simple("s-1", BANK, SALES_REVENUE, 100)),
    );
    assert_eq!(
        error,
        TxError::Post(PostError::RoleNotAllowed {
            role: Role::Sales,
            account: code(BANK)
        })
    );
    assert_eq!(
        error.to_string(),
        "role 'sales' may not post to account '1000'"
    );
    let block = forge(
        &state,
        T0 + 1,
        vec![post(&fx.sales, simple("s-1", BANK, SALES_REVENUE, 100))],
    );
    assert_eq!(
        refusal(&state, &empty_lookup(), &block).to_string(),
        "transaction 0: role 'sales' may not post to account '1000'"
    );

    // Auditors and admins post nowhere, not even where sales may.
    for (signer, role) in [(&fx.auditor, Role::Auditor), (&fx.admin, Role::Admin)] {
        assert_eq!(
            rejection(
                &state,
                &empty_lookup(),
                T0 + 1,
                post(
                    signer,
                    simple("a-1", ACCOUNTS_RECEIVABLE, SALES_REVENUE, 100)
                ),
            ),
            TxError::Post(PostError::RoleNotAllowed {
                role,
                account: code(ACCOUNTS_RECEIVABLE)
            })
        );
    }
    // Sales may post there.
    build_all(
        &state,
        &empty_lookup(),
        T0 + 1,
        vec![post(
            &fx.sales,
            simple("s-1", ACCOUNTS_RECEIVABLE, SALES_REVENUE, 100),
        )],
    );
}

#[test]
fn the_bank_account_may_not_go_negative() {
    let fx = fixture();
    let (store, state) = open(&fx);
    let withdraw = |n: &str, amount| post(&fx.finance, simple(n, PAYMENT_FEES, BANK, amount));
    let overdraft = TxError::Post(PostError::WouldGoNegative {
        account: code(BANK),
        currency: Currency::EUR,
    });
    assert_eq!(
        rejection(&state, &store, T0 + 1, withdraw("w-1", 1)),
        overdraft
    );
    assert_eq!(
        overdraft.to_string(),
        "account '1000' may not go below zero in EUR"
    );

    let (_, executed) = commit_all(
        &store,
        T0 + 1,
        vec![
            post(&fx.finance, simple("d-1", BANK, OPENING_EQUITY, 500)),
            withdraw("w-1", 500),
        ],
    );
    assert_eq!(net_eur(&executed.state, BANK), None);
    assert_eq!(
        rejection(&store.state().unwrap(), &store, T0 + 2, withdraw("w-2", 1)),
        overdraft
    );
}

// ------------------------------------------------------------------------------------------
// Period close.

/// A EUR entry of `amount` from opening equity to cash, dated `on`.
fn cash_on(fx: &Fixture, entry_id: &str, on: Date, amount: u64) -> Transaction {
    let mut entry = simple(entry_id, CASH, OPENING_EQUITY, amount);
    entry.date = on;
    post(&fx.finance, entry)
}

fn eur_line(account: &str, debit: u128, credit: u128) -> TrialBalanceLine {
    TrialBalanceLine {
        account: code(account),
        currency: Currency::EUR,
        debit,
        credit,
    }
}

/// The fixture with a close policy of finance and admin.
fn two_role_fixture() -> Fixture {
    let mut fx = fixture();
    fx.genesis.close_policy = ClosePolicy {
        signers: vec![Role::Finance, Role::Admin],
    };
    fx
}

/// Asserts that offering `candidate` on `parent` leaves the state as an empty block would.
fn assert_refusal_changes_nothing(parent: &ChainState, store: &Store, candidate: Transaction) {
    let (empty, _, _) = build_block(parent, store, HashMap::new(), T0 + 500, Vec::new());
    let (block, _, rejected) =
        build_block(parent, store, HashMap::new(), T0 + 500, vec![candidate]);
    assert_eq!(rejected.len(), 1);
    assert_eq!(block.header.state_root, empty.header.state_root);
}

#[test]
fn a_closed_period_refuses_entries_dated_in_it() {
    let fx = fixture();
    let (store, state) = open(&fx);
    let through = date(2026, 1, 31);
    commit_all(
        &store,
        T0 + 1,
        vec![
            cash_on(&fx, "jan", date(2026, 1, 15), 100),
            cash_on(&fx, "feb", date(2026, 2, 1), 7),
        ],
    );
    let parent = store.state().unwrap();

    // The default policy: finance alone signs off.
    assert_eq!(state.closes.policy.signers, vec![Role::Finance]);
    let error = rejection(
        &parent,
        &store,
        T0 + 2,
        sign_off(&fx.sales, &parent, through),
    );
    assert_eq!(
        error,
        TxError::Close(CloseError::NotInPolicy {
            role: Role::Sales,
            policy: RoleSet::of(&[Role::Finance])
        })
    );
    assert_eq!(
        error.to_string(),
        "role 'sales' may not sign off a period close (the close policy names: finance)"
    );

    let (block, executed) = commit_all(
        &store,
        T0 + 2,
        vec![sign_off(&fx.finance, &parent, through)],
    );
    let closing_tb = vec![eur_line(CASH, 100, 0), eur_line(OPENING_EQUITY, 0, 100)];
    assert_eq!(
        executed.sign_offs,
        vec![(
            0,
            CloseProgress {
                through,
                signed: vec![Role::Finance],
                waiting_for: Vec::new()
            }
        )]
    );
    let parent = store.state().unwrap();
    assert_eq!(parent.ledger.closed_through(), Some(through));
    assert_eq!(parent.ledger.closing_through(), None);
    let closing = Closing {
        through,
        height: 2,
        time_ms: T0 + 2,
        tx_index: 0,
        signers: vec![CloseSigner {
            role: Role::Finance,
            member: fx.finance.public_key(),
        }],
    };
    assert_eq!(parent.closes.closings, vec![closing.clone()]);
    assert_eq!(parent.closes.closing(through), Some(&closing));
    // The closing trial balance is in the block, in the final sign-off.
    match &block.transactions[closing.tx_index as usize] {
        Transaction::Single(single) => match &single.body {
            TxBody::ClosePeriod(carried) => assert_eq!(carried.trial_balance, closing_tb),
            other => panic!("not a sign-off: {other:?}"),
        },
        other => panic!("not a single transaction: {other:?}"),
    }

    for on in [date(2026, 1, 15), through] {
        let error = rejection(&parent, &store, T0 + 3, cash_on(&fx, "p-1", on, 100));
        assert_eq!(
            error,
            TxError::Post(PostError::PeriodClosed {
                date: on,
                closed_through: through
            })
        );
        assert_eq!(
            error.to_string(),
            format!("{on} is in a closed period (closed through 2026-01-31)")
        );
    }
    build_all(
        &parent,
        &store,
        T0 + 3,
        vec![cash_on(&fx, "p-1", date(2026, 2, 1), 1)],
    );

    // A close never repeats and never moves back.
    let again = rejection(
        &parent,
        &store,
        T0 + 3,
        sign_off(&fx.finance, &parent, through),
    );
    assert_eq!(
        again,
        TxError::Close(CloseError::Period(PeriodError::AlreadyClosed { through }))
    );
    assert_eq!(
        again.to_string(),
        "the books are already closed through 2026-01-31"
    );
    assert_eq!(
        rejection(
            &parent,
            &store,
            T0 + 3,
            sign_off(&fx.finance, &parent, date(2026, 1, 1))
        ),
        TxError::Close(CloseError::Period(PeriodError::Backwards {
            requested: date(2026, 1, 1),
            closed_through: through
        }))
    );
}

#[test]
fn a_two_role_close_freezes_its_period_until_the_last_role_signs() {
    let fx = two_role_fixture();
    let (store, _) = open(&fx);
    let through = date(2026, 1, 31);
    let mut blocks = Vec::new();
    blocks.push(
        commit_all(
            &store,
            T0 + 1,
            vec![
                cash_on(&fx, "jan", date(2026, 1, 15), 100),
                cash_on(&fx, "feb", date(2026, 2, 3), 20),
            ],
        )
        .0,
    );
    let before = store.state().unwrap();
    let closing_tb = before.ledger.trial_balance_as_of(through).unwrap();
    assert_eq!(
        closing_tb,
        vec![eur_line(CASH, 100, 0), eur_line(OPENING_EQUITY, 0, 100)]
    );

    // Finance signs first: the close is under way, not done.
    let (block, executed) = commit_all(
        &store,
        T0 + 2,
        vec![sign_off(&fx.finance, &before, through)],
    );
    blocks.push(block);
    assert_eq!(
        executed.sign_offs,
        vec![(
            0,
            CloseProgress {
                through,
                signed: vec![Role::Finance],
                waiting_for: vec![Role::Admin]
            }
        )]
    );
    let pending = store.state().unwrap();
    assert_eq!(pending.ledger.closing_through(), Some(through));
    assert_eq!(pending.ledger.closed_through(), None);
    assert!(pending.closes.closings.is_empty());
    let finance = CloseSigner {
        role: Role::Finance,
        member: fx.finance.public_key(),
    };
    assert_eq!(
        pending.closes.pending(&pending.ledger),
        Some((through, [finance].as_slice()))
    );

    // Entries dated in the period are refused, with the closing date; later ones are booked.
    let error = rejection(
        &pending,
        &store,
        T0 + 3,
        cash_on(&fx, "late", date(2026, 1, 20), 5),
    );
    assert_eq!(
        error,
        TxError::Post(PostError::PeriodClosing {
            date: date(2026, 1, 20),
            closing_through: through
        })
    );
    assert_eq!(
        error.to_string(),
        "2026-01-20 is in a period being closed (closing through 2026-01-31)"
    );
    blocks.push(
        commit_all(
            &store,
            T0 + 3,
            vec![cash_on(&fx, "feb-2", date(2026, 2, 10), 30)],
        )
        .0,
    );
    let pending = store.state().unwrap();
    assert_eq!(
        pending.ledger.trial_balance_as_of(through).unwrap(),
        closing_tb
    );

    // Every other sign-off is refused, each for its own reason, and changes nothing.
    let refusals = [
        (
            sign_off(&fx.finance, &pending, through),
            "role 'finance' has already signed off the close through 2026-01-31",
        ),
        (
            sign_off(&fx.admin, &pending, date(2026, 2, 28)),
            "cannot close through 2026-02-28 while the close through 2026-01-31 is under way",
        ),
        (
            sign_off(&fx.sales, &pending, through),
            "role 'sales' may not sign off a period close (the close policy names: admin, finance)",
        ),
        (
            sign_off(&fx.auditor, &pending, through),
            "role 'auditor' may not sign off a period close (the close policy names: admin, finance)",
        ),
        (
            sign_off_with(&fx.admin, through, vec![eur_line(CASH, 100, 0), eur_line(OPENING_EQUITY, 0, 99)]),
            "the trial balance signed off through 2026-01-31 differs from the books at account '3000' \
             in EUR; sign the trial balance as of 2026-01-31 again",
        ),
        (
            // The books as of today, not as of the closing date.
            sign_off_with(&fx.admin, through, pending.ledger.trial_balance()),
            "the trial balance signed off through 2026-01-31 differs from the books at account '1010' \
             in EUR; sign the trial balance as of 2026-01-31 again",
        ),
        (
            sign_off_with(&fx.admin, through, Vec::new()),
            "the trial balance signed off through 2026-01-31 differs from the books at account '1010' \
             in EUR; sign the trial balance as of 2026-01-31 again",
        ),
    ];
    for (candidate, message) in refusals {
        let error = rejection(&pending, &store, T0 + 4, candidate.clone());
        assert!(matches!(error, TxError::Close(_)), "{error:?}");
        assert_eq!(error.to_string(), message);
        assert_refusal_changes_nothing(&pending, &store, candidate);
    }
    assert_eq!(
        rejection(
            &pending,
            &store,
            T0 + 4,
            sign_off(&fx.finance, &pending, through)
        ),
        TxError::Close(CloseError::AlreadySigned {
            role: Role::Finance,
            through
        })
    );

    // Admin signs last: the period is closed with both sign-offs.
    let (block, executed) =
        commit_all(&store, T0 + 4, vec![sign_off(&fx.admin, &pending, through)]);
    blocks.push(block);
    assert_eq!(
        executed.sign_offs,
        vec![(
            0,
            CloseProgress {
                through,
                signed: vec![Role::Finance, Role::Admin],
                waiting_for: Vec::new()
            }
        )]
    );
    let closed = store.state().unwrap();
    assert_eq!(closed.ledger.closed_through(), Some(through));
    assert_eq!(closed.ledger.closing_through(), None);
    assert_eq!(closed.closes.pending(&closed.ledger), None);
    assert_eq!(
        closed.closes.closings,
        vec![Closing {
            through,
            height: 4,
            time_ms: T0 + 4,
            tx_index: 0,
            signers: vec![
                finance,
                CloseSigner {
                    role: Role::Admin,
                    member: fx.admin.public_key()
                }
            ],
        }]
    );
    assert_eq!(
        rejection(
            &closed,
            &store,
            T0 + 5,
            cash_on(&fx, "late", date(2026, 1, 20), 5)
        ),
        TxError::Post(PostError::PeriodClosed {
            date: date(2026, 1, 20),
            closed_through: through
        })
    );

    // The next period can close now, and a replay from the genesis reaches the same state.
    blocks.push(
        commit_all(
            &store,
            T0 + 5,
            vec![sign_off(&fx.admin, &closed, date(2026, 2, 28))],
        )
        .0,
    );
    let replayed = replay(&fx.genesis, &blocks).unwrap();
    let stored = store.state().unwrap();
    assert_eq!(replayed.state_root(), stored.state_root());
    assert_eq!(
        replayed.state_root(),
        blocks.last().unwrap().header.state_root
    );
    assert_eq!(replayed.closes, stored.closes);
    assert_eq!(replayed.ledger.closing_through(), Some(date(2026, 2, 28)));
}

#[test]
fn who_signed_a_close_under_way_is_part_of_the_state_root() {
    let fx = two_role_fixture();
    let state = fx.genesis.initial_state().unwrap();
    let through = date(2026, 1, 31);
    let (_, by_finance) = build_all(
        &state,
        &empty_lookup(),
        T0 + 1,
        vec![sign_off(&fx.finance, &state, through)],
    );
    let (_, by_admin) = build_all(
        &state,
        &empty_lookup(),
        T0 + 1,
        vec![sign_off(&fx.admin, &state, through)],
    );
    assert_eq!(by_finance.state.ledger, by_admin.state.ledger);
    assert_ne!(by_finance.state.state_root(), by_admin.state.state_root());
}

#[test]
fn both_sign_offs_in_one_block_close_the_period_and_entries_between_them_are_refused() {
    let fx = two_role_fixture();
    let (store, state) = open(&fx);
    let through = date(2026, 1, 31);
    let (block, executed, rejected) = build_block(
        &state,
        &store,
        HashMap::new(),
        T0 + 1,
        vec![
            cash_on(&fx, "jan", date(2026, 1, 15), 100),
            sign_off_with(
                &fx.admin,
                through,
                vec![eur_line(CASH, 100, 0), eur_line(OPENING_EQUITY, 0, 100)],
            ),
            cash_on(&fx, "late", date(2026, 1, 16), 5),
            sign_off_with(
                &fx.finance,
                through,
                vec![eur_line(CASH, 100, 0), eur_line(OPENING_EQUITY, 0, 100)],
            ),
        ],
    );
    assert_eq!(block.transactions.len(), 3);
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        rejected[0].1.to_string(),
        "2026-01-16 is in a period being closed (closing through 2026-01-31)"
    );
    let progress: Vec<(u32, bool)> = executed
        .sign_offs
        .iter()
        .map(|(index, progress)| (*index, progress.is_closed()))
        .collect();
    assert_eq!(progress, vec![(1, false), (2, true)]);
    assert_eq!(executed.state.closes.closings[0].tx_index, 2);
    assert_eq!(executed.state.ledger.closed_through(), Some(through));
    // Another validator executing the block agrees.
    let again = execute_block(&state, &store, HashMap::new(), &block).unwrap();
    assert_eq!(again.state.state_root(), block.header.state_root);
    assert_eq!(again.sign_offs, executed.sign_offs);
}

#[test]
fn close_policy_is_checked_at_genesis() {
    let cases = [
        (vec![], "genesis close policy: the close policy names no role; name at least one role that signs off a close"),
        (
            vec![Role::Finance, Role::Admin, Role::Finance],
            "genesis close policy: the close policy names role 'finance' twice",
        ),
        (
            vec![Role::Finance, Role::Auditor],
            "genesis close policy: the close policy names role 'auditor', which never signs (auditors only read)",
        ),
    ];
    for (signers, message) in cases {
        let mut fx = fixture();
        fx.genesis.close_policy = ClosePolicy { signers };
        let error = fx.genesis.initial_state().unwrap_err();
        assert!(matches!(error, GenesisError::ClosePolicy(_)), "{error:?}");
        assert_eq!(error.to_string(), message);
    }

    // A genesis document written before close policies existed gets finance alone.
    let fx = fixture();
    let mut json = serde_json::to_value(&fx.genesis).unwrap();
    assert_eq!(
        json["close_policy"],
        serde_json::json!({"signers": ["finance"]})
    );
    json.as_object_mut().unwrap().remove("close_policy");
    let read: tally_chain::Genesis = serde_json::from_value(json).unwrap();
    assert_eq!(read.close_policy, ClosePolicy::default());
    assert_eq!(read, fx.genesis);
}

// ------------------------------------------------------------------------------------------
// Decoding untrusted bytes.

/// A small deterministic generator (xorshift64*), so the garbage is the same on every run.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn sample_block(fx: &Fixture) -> Block {
    let state = fx.genesis.initial_state().unwrap();
    build_all(
        &state,
        &empty_lookup(),
        T0 + 1,
        vec![
            post(&fx.finance, simple("dep-1", BANK, OPENING_EQUITY, 10_000)),
            batch(
                &fx.sales,
                vec![
                    simple("s-1", ACCOUNTS_RECEIVABLE, SALES_REVENUE, 100),
                    simple("s-2", ACCOUNTS_RECEIVABLE, SALES_REVENUE, 200),
                ],
            ),
        ],
    )
    .0
}

#[test]
fn garbage_bytes_never_decode_and_never_panic() {
    assert!(matches!(
        Block::decode_checked(&[]),
        Err(BlockDecodeError::Malformed(_))
    ));
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    for len in 0..600 {
        let bytes = noise.bytes(len);
        assert!(Block::decode_checked(&bytes).is_err(), "{bytes:?}");
        let mut framed = (bytes.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(&bytes);
        assert!(Block::decode_cfg(Bytes::from(framed), &()).is_err());
        assert!(Block::decode_cfg(Bytes::from(bytes), &()).is_err());
    }

    // Every proper prefix of a real block is refused.
    let fx = fixture();
    let bytes = sample_block(&fx).to_bytes();
    for cut in 0..bytes.len() {
        assert!(
            Block::decode_checked(&bytes[..cut]).is_err(),
            "prefix of {cut} bytes"
        );
    }
}

#[test]
fn oversized_blocks_and_lengths_are_refused_without_allocating_them() {
    let too_large = vec![0u8; BLOCK_BYTES_MAX + 1];
    let error = Block::decode_checked(&too_large).unwrap_err();
    assert_eq!(
        error,
        BlockDecodeError::TooLarge {
            bytes: BLOCK_BYTES_MAX + 1
        }
    );
    assert_eq!(
        error.to_string(),
        format!(
            "block of {} bytes exceeds the limit of {BLOCK_BYTES_MAX} bytes",
            BLOCK_BYTES_MAX + 1
        )
    );

    // A frame that announces more than the limit, or more than it carries.
    let huge = ((BLOCK_BYTES_MAX + 1) as u32).to_be_bytes().to_vec();
    assert!(matches!(
        Block::decode_cfg(Bytes::from(huge), &()),
        Err(CodecError::Invalid("Block", "too large"))
    ));
    let mut short = 1_000u32.to_be_bytes().to_vec();
    short.extend_from_slice(&[0; 10]);
    assert!(matches!(
        Block::decode_cfg(Bytes::from(short), &()),
        Err(CodecError::EndOfBuffer)
    ));
    assert!(matches!(
        Block::decode_cfg(Bytes::from(vec![0u8, 0]), &()),
        Err(CodecError::EndOfBuffer)
    ));
    // A frame followed by stray bytes.
    let fx = fixture();
    let mut framed = sample_block(&fx).encode().to_vec();
    framed.push(0);
    assert!(matches!(
        Block::decode_cfg(Bytes::from(framed), &()),
        Err(CodecError::ExtraData(1))
    ));

    // A header followed by a transaction count far beyond what the bytes hold: refused by the
    // count alone, before anything is reserved for it.
    let header = sample_block(&fx).header;
    for count in [
        u64::from(u32::MAX),
        u64::MAX,
        1 << 40,
        TXS_PER_BLOCK_MAX as u64 + 1,
    ] {
        let mut bytes = postcard::to_stdvec(&header).unwrap();
        let mut varint = [0u8; 10];
        bytes.extend_from_slice(postcard::to_slice(&count, &mut varint).unwrap());
        bytes.extend_from_slice(&[0; 64]);
        assert!(
            matches!(
                Block::decode_checked(&bytes),
                Err(BlockDecodeError::TooManyTransactions { count: got }) if got as u64 == count
            ),
            "count {count}"
        );
    }
}

#[test]
fn too_many_transactions_are_refused_at_decode_and_execution() {
    let fx = fixture();
    let state = fx.genesis.initial_state().unwrap();
    let tx = sign_off_with(&fx.finance, date(2026, 1, 1), Vec::new());
    let block = forge(&state, T0 + 1, vec![tx; TXS_PER_BLOCK_MAX + 1]);
    let count = TXS_PER_BLOCK_MAX + 1;
    assert_eq!(
        Block::decode_checked(&block.to_bytes()).unwrap_err(),
        BlockDecodeError::TooManyTransactions { count }
    );
    let error = refusal(&state, &empty_lookup(), &block);
    assert_eq!(error, BlockError::TooManyTransactions { count });
    assert_eq!(
        error.to_string(),
        format!("block has {count} transactions, more than {TXS_PER_BLOCK_MAX}")
    );
}

/// Regression: a block followed by extra bytes decoded to the same block (same digest), so a peer
/// could pad blocks up to `BLOCK_BYTES_MAX`. One block has exactly one encoding.
#[test]
fn bytes_after_a_block_are_refused() {
    let fx = fixture();
    let block = sample_block(&fx);
    let mut padded = block.to_bytes();
    padded.extend_from_slice(b"trailing garbage");
    assert!(Block::decode_checked(&padded).is_err());
    let mut framed = (padded.len() as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(&padded);
    assert!(Block::decode_cfg(Bytes::from(framed), &()).is_err());
}

// ------------------------------------------------------------------------------------------
// Store and replay bookkeeping.

#[test]
fn the_store_commits_blocks_only_in_order_and_replay_names_the_bad_block() {
    let fx = fixture();
    let (store, state) = open(&fx);
    let (block1, executed1) = build_all(
        &state,
        &store,
        T0 + 1,
        vec![post(&fx.finance, simple("d-1", BANK, OPENING_EQUITY, 100))],
    );
    let (block2, executed2) = build_all(
        &executed1.state,
        &empty_lookup(),
        T0 + 2,
        vec![post(&fx.finance, simple("d-2", BANK, OPENING_EQUITY, 100))],
    );
    let error = store.commit(&block2, &executed2).unwrap_err();
    assert!(matches!(
        error,
        tally_chain::StoreError::OutOfOrder { got: 2, stored: 0 }
    ));
    // Nothing of the refused block was written.
    assert_eq!(store.entry(&id("d-2")).unwrap(), None);
    assert_eq!(store.height().unwrap(), 0);
    assert_eq!(store.state().unwrap().state_root(), state.state_root());

    store.commit(&block1, &executed1).unwrap();
    assert!(matches!(
        store.commit(&block1, &executed1).unwrap_err(),
        tally_chain::StoreError::OutOfOrder { got: 1, stored: 1 }
    ));
    store.commit(&block2, &executed2).unwrap();
    assert_eq!(store.state().unwrap().tip, digest(&block2).0);

    // Replay refuses a gap and says where.
    let error = replay(&fx.genesis, [&block2]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "block 2: block height 2 does not follow 0"
    );
    assert!(matches!(
        error,
        tally_chain::ReplayError::Block {
            height: 2,
            source: BlockError::WrongHeight { got: 2, parent: 0 }
        }
    ));
}

/// A block of many chunks is stored in pieces and read back whole; a store written before
/// blocks were chunked (whole blocks in the "blocks" table) still reads, grows and repairs.
#[test]
fn blocks_are_stored_in_chunks_and_whole_blocks_of_older_stores_still_read() {
    const LEGACY: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("blocks");
    const CHUNKS: redb::TableDefinition<(u64, u32), &[u8]> =
        redb::TableDefinition::new("block_chunks");
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    let store = Store::open(&path, &fx.genesis).unwrap();
    let state = store.state().unwrap();
    let entries = (0..4_000)
        .map(|n| simple(&format!("big-{n}"), BANK, OPENING_EQUITY, 100 + n))
        .collect();
    let (block1, executed1) = build_all(&state, &store, T0 + 1, vec![batch(&fx.finance, entries)]);
    let bytes = block1.to_bytes();
    assert!(
        bytes.len() > 3 * tally_chain::BLOCK_CHUNK_BYTES,
        "{} bytes",
        bytes.len()
    );
    store.commit(&block1, &executed1).unwrap();
    assert_eq!(store.block(1).unwrap(), Some(block1.clone()));
    assert_eq!(store.raw_block(1).unwrap(), Some(bytes.clone()));
    drop(store);

    // Make it an older store: every block whole in the legacy table, no chunks.
    let db = redb::Database::open(&path).unwrap();
    let write = db.begin_write().unwrap();
    {
        let mut chunks = write.open_table(CHUNKS).unwrap();
        let mut legacy = write.open_table(LEGACY).unwrap();
        for height in [0, 1] {
            let mut whole = Vec::new();
            for item in chunks.range((height, 0)..=(height, u32::MAX)).unwrap() {
                whole.extend_from_slice(item.unwrap().1.value());
            }
            legacy.insert(height, whole.as_slice()).unwrap();
        }
        chunks.retain(|_, _| false).unwrap();
    }
    write.commit().unwrap();
    drop(db);

    let store = Store::open(&path, &fx.genesis).unwrap();
    assert_eq!(store.height().unwrap(), 1);
    assert_eq!(store.block_heights().unwrap(), vec![0, 1]);
    assert_eq!(store.block(1).unwrap(), Some(block1.clone()));
    // The next block must follow the legacy tip, and then goes into chunks.
    let error = store.commit(&block1, &executed1).unwrap_err();
    assert!(matches!(
        error,
        tally_chain::StoreError::OutOfOrder { got: 1, stored: 1 }
    ));
    let (block2, executed2) = build_all(
        &executed1.state,
        &store,
        T0 + 2,
        vec![post(&fx.finance, simple("after", BANK, OPENING_EQUITY, 7))],
    );
    store.commit(&block2, &executed2).unwrap();
    assert_eq!(store.height().unwrap(), 2);
    assert_eq!(store.block_heights().unwrap(), vec![0, 1, 2]);
    assert_eq!(store.block(2).unwrap(), Some(block2.clone()));
    // A legacy block replaced is written in chunks, and read from them.
    store.replace_block(1, &block1).unwrap();
    assert_eq!(store.raw_block(1).unwrap(), Some(bytes));
    let error = store.replace_block(5, &block1).unwrap_err();
    assert_eq!(
        error.to_string(),
        "stored data is corrupt: replacement for block 5 is block 1"
    );
    drop(store);
    let db = redb::Database::open(&path).unwrap();
    let read = db.begin_read().unwrap();
    assert!(read.open_table(LEGACY).unwrap().get(1).unwrap().is_none());
    assert!(read
        .open_table(CHUNKS)
        .unwrap()
        .get((1, 3))
        .unwrap()
        .is_some());
}

// ------------------------------------------------------------------------------------------
// Adjustments and history links.

#[test]
fn an_adjustment_must_name_a_committed_entry_and_is_linked_to_it() {
    let fx = fixture();
    let (store, _) = open(&fx);
    let original = simple("sale-1", "1100", "4000", 10_000);
    commit_all(
        &store,
        T0 + 1_000,
        vec![post(&fx.finance, original.clone())],
    );

    let adjusting = |id: &str, adjusted: &str| {
        let mut entry = simple(id, "4000", "1100", 1_500);
        entry.description = "price corrected".into();
        entry.references.push(tally_ledger::Reference {
            kind: tally_ledger::ADJUSTS_REFERENCE.into(),
            value: adjusted.into(),
        });
        entry
    };
    let parent = store.state().unwrap();
    let error = rejection(
        &parent,
        &store,
        T0 + 2_000,
        post(&fx.finance, adjusting("adj-0", "nope")),
    );
    assert_eq!(
        error,
        TxError::UnknownAdjusted {
            adjusted: "nope".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "the entry adjusts 'nope', which is not a committed entry"
    );
    assert!(store.links_to("nope").unwrap().is_empty());

    commit_all(
        &store,
        T0 + 2_000,
        vec![
            post(&fx.finance, adjusting("adj-1", "sale-1")),
            post(&fx.finance, reversal("rev-1", &original)),
        ],
    );
    assert_eq!(store.links_to("sale-1").unwrap(), vec!["adj-1", "rev-1"]);
    assert_eq!(store.link_count().unwrap(), 2);
}

/// The store lists entries in log order from a cursor, keeps only what the filter matches,
/// stops at the page limit or the scan bound with a cursor to continue from, and says when
/// the log has ended.
#[test]
fn entries_are_listed_in_log_order_with_filters_and_bounds() {
    let fx = fixture();
    let (store, _) = open(&fx);
    let mut first = simple("a", BANK, SALES_REVENUE, 100);
    first.references.push(tally_ledger::Reference {
        kind: "order".into(),
        value: "1".into(),
    });
    commit_all(
        &store,
        T0,
        vec![batch(
            &fx.finance,
            vec![
                first,
                simple("b", CASH, SALES_REVENUE, 200),
                draft(
                    "c",
                    date(2026, 2, 1),
                    vec![
                        posting(BANK, Side::Debit, 5, Currency::EUR),
                        posting(SALES_REVENUE, Side::Credit, 5, Currency::EUR),
                    ],
                ),
            ],
        )],
    );
    commit_all(
        &store,
        T0 + 1_000,
        vec![post(&fx.finance, simple("d", BANK, CASH, 1))],
    );
    let all = tally_chain::EntryFilter::default();
    let ids = |page: &tally_chain::EntryPage| -> Vec<String> {
        page.entries
            .iter()
            .map(|committed| committed.entry.id.as_str().to_owned())
            .collect()
    };

    let page = store.entries_in_log_order(None, &all, 10, 100).unwrap();
    assert_eq!(ids(&page), ["a", "b", "c", "d"]);
    assert_eq!(page.next, None, "the log ended");
    let page = store.entries_in_log_order(None, &all, 2, 100).unwrap();
    assert_eq!(
        (ids(&page), page.next),
        (vec!["a".into(), "b".into()], Some(1))
    );
    let page = store.entries_in_log_order(Some(1), &all, 2, 100).unwrap();
    assert_eq!(
        (ids(&page), page.next),
        (vec!["c".into(), "d".into()], None)
    );
    let page = store
        .entries_in_log_order(Some(u64::MAX), &all, 2, 100)
        .unwrap();
    assert_eq!((ids(&page), page.next), (Vec::<String>::new(), None));

    let bank = tally_chain::EntryFilter {
        account: Some(code(BANK)),
        ..Default::default()
    };
    let page = store.entries_in_log_order(None, &bank, 10, 100).unwrap();
    assert_eq!(ids(&page), ["a", "c", "d"]);
    // The scan bound ends a page early, even an empty one, with a cursor.
    let page = store.entries_in_log_order(Some(0), &bank, 10, 1).unwrap();
    assert_eq!((ids(&page), page.next), (Vec::<String>::new(), Some(1)));

    let february = tally_chain::EntryFilter {
        from: Some(date(2026, 2, 1)),
        to: Some(date(2026, 2, 28)),
        ..Default::default()
    };
    assert_eq!(
        ids(&store
            .entries_in_log_order(None, &february, 10, 100)
            .unwrap()),
        ["c"]
    );
    let order = tally_chain::EntryFilter {
        reference: Some(("order".into(), "1".into())),
        ..Default::default()
    };
    assert_eq!(
        ids(&store.entries_in_log_order(None, &order, 10, 100).unwrap()),
        ["a"]
    );
}
