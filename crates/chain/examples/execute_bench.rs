//! Where the time of one block goes: build (proposer), execute (every other validator) and the
//! durable commit, for a block of signed batches. Prints per-phase times and entries per second.
//!
//! `cargo run --release -p tally-chain --example execute_bench -- [ENTRIES] [BATCH]`

use std::collections::HashMap;
use std::time::Instant;

use tally_chain::{
    build_block, execute_block, Genesis, SignedBatch, Store, Transaction, Validator,
};
use tally_identity::{CertifiedMember, MemberCertificate, SecretKey};
use tally_ledger::{
    codes, default_chart, AccountCode, Currency, Date, EntryDraft, EntryId, Posting, Role, Side,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let entries: usize = args
        .next()
        .map(|a| a.parse().expect("ENTRIES is a number"))
        .unwrap_or(16_384);
    let batch: usize = args
        .next()
        .map(|a| a.parse().expect("BATCH is a number"))
        .unwrap_or(1_000);
    let chain_id = "bench";
    let root = SecretKey::from_seed([1; 32]);
    let member = SecretKey::from_seed([2; 32]);
    let genesis = Genesis {
        chain_id: chain_id.into(),
        enterprise: "Bench".into(),
        time_ms: 0,
        root_key: root.public_key(),
        validators: vec![Validator {
            name: "v".into(),
            consensus_key: "00".into(),
        }],
        members: vec![CertifiedMember::issue(
            &root,
            chain_id,
            MemberCertificate {
                member: member.public_key(),
                name: "finance".into(),
                role: Role::Finance,
                department: "finance".into(),
                valid_from_ms: 0,
                valid_until_ms: u64::MAX,
            },
        )],
        chart: default_chart(),
        consortium: None,
        close_policy: Default::default(),
        read_policy: Default::default(),
    };
    let eur = Currency::from_code("EUR").unwrap();
    let date = Date::parse("2026-11-24").unwrap();
    let drafts: Vec<EntryDraft> = (0..entries)
        .map(|index| EntryDraft {
            id: EntryId::new(&format!("order-{index}")).unwrap(),
            date,
            description: format!("Order #{index}"),
            postings: vec![
                Posting {
                    account: AccountCode::new(codes::ACCOUNTS_RECEIVABLE).unwrap(),
                    side: Side::Debit,
                    amount: 11_900,
                    currency: eur,
                },
                Posting {
                    account: AccountCode::new(codes::SALES_REVENUE).unwrap(),
                    side: Side::Credit,
                    amount: 10_000,
                    currency: eur,
                },
                Posting {
                    account: AccountCode::new(codes::OUTPUT_VAT).unwrap(),
                    side: Side::Credit,
                    amount: 1_900,
                    currency: eur,
                },
            ],
            references: Vec::new(),
            reverses: None,
            sealed: Vec::new(),
            seal_keys: Vec::new(),
        })
        .collect();
    let transactions: Vec<Transaction> = drafts
        .chunks(batch)
        .map(|chunk| Transaction::Batch(SignedBatch::sign(&member, chain_id, chunk.to_vec())))
        .collect();

    let dir = std::env::temp_dir().join(format!("tally-execute-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir.join("ledger.redb"), &genesis).unwrap();
    let state = store.state().unwrap();

    let start = Instant::now();
    let (block, _, rejected) = build_block(&state, &store.at(0), HashMap::new(), 1, transactions);
    let build = start.elapsed();
    assert!(rejected.is_empty());

    let start = Instant::now();
    let bytes = block.to_bytes();
    let decoded = tally_chain::Block::decode_checked(&bytes).unwrap();
    let decode = start.elapsed();

    let start = Instant::now();
    let executed = execute_block(&state, &store.at(0), HashMap::new(), &decoded).unwrap();
    let execute = start.elapsed();

    let start = Instant::now();
    store.commit(&block, &executed).unwrap();
    let commit = start.elapsed();
    let _ = std::fs::remove_dir_all(&dir);

    let rate = |d: std::time::Duration| entries as f64 / d.as_secs_f64();
    println!(
        "block of {entries} entries in batches of {batch} ({} bytes)",
        bytes.len()
    );
    println!("{:<24} {:>10} {:>14}", "phase", "ms", "entries/s");
    for (phase, duration) in [
        ("build (proposer)", build),
        ("encode + decode", decode),
        ("execute (verifier)", execute),
        ("commit (redb, fsync)", commit),
    ] {
        println!(
            "{:<24} {:>10.1} {:>14.0}",
            phase,
            duration.as_secs_f64() * 1000.0,
            rate(duration)
        );
    }
}
