//! Where the time of one block goes: build (proposer), execute (every other validator) and the
//! durable commit, for a block of signed batches. Prints per-phase times and entries per second.
//!
//! `cargo run --release -p tally-chain --example execute_bench -- [ENTRIES] [BATCH] [sealed]`
//!
//! With `sealed`, every entry carries the seven customer fields `tally bench --sealed on` seals
//! (really sealed, one field key per batch, under a customer-pii epoch the state opens first), so
//! the two runs side by side tell what sealed fields cost each phase.

use std::collections::HashMap;
use std::time::Instant;

use tally_chain::{
    build_block, execute_block, EpochStatus, Genesis, KeyEpoch, SignedBatch, Store, Transaction,
    Validator,
};
use tally_identity::{CertifiedMember, MemberCertificate, SecretKey};
use tally_ledger::{
    codes, default_chart, AccountCode, Category, Currency, Date, EntryDraft, EntryId, FieldName,
    Posting, Role, Side,
};
use tally_privacy::{os_rng, EpochSecret, Sealer};

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
    let sealed = match args.next().as_deref() {
        None => false,
        Some("sealed") => true,
        Some(other) => panic!("the third argument is 'sealed' or nothing, not '{other}'"),
    };
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
        epoch_blocks: None,
    };
    let eur = Currency::from_code("EUR").unwrap();
    let date = Date::parse("2026-11-24").unwrap();
    let mut drafts: Vec<EntryDraft> = (0..entries)
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
            sealed: Default::default(),
            seal_keys: Vec::new(),
        })
        .collect();
    let epoch = EpochSecret::generate(&mut os_rng()).public_key();
    if sealed {
        let pii = Category::customer_pii();
        let mut rng = os_rng();
        for chunk in drafts.chunks_mut(batch) {
            // One sealer per batch, as an importer seals: the field key is wrapped once.
            let mut sealer = Sealer::new(chain_id);
            for draft in chunk {
                let fields = customer(draft.id.as_str());
                let (fields, key) = sealer
                    .seal_entry(draft.id.as_str(), &epoch, &pii, 0, &fields, &mut rng)
                    .unwrap();
                draft.sealed = tally_ledger::Sealed::Groups(vec![fields]);
                draft.seal_keys = vec![key];
            }
        }
    }
    let transactions: Vec<Transaction> = drafts
        .chunks(batch)
        .map(|chunk| Transaction::Batch(SignedBatch::sign(&member, chain_id, chunk.to_vec())))
        .collect();

    let dir = std::env::temp_dir().join(format!("tally-execute-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir.join("ledger.redb"), &genesis).unwrap();
    let mut state = store.state().unwrap();
    if sealed {
        // The state an administrator's opening of customer-pii epoch 0 leads to.
        let keys = state
            .sealing
            .categories
            .get_mut(&Category::customer_pii())
            .expect("the default read policy has customer-pii");
        keys.epochs.push(KeyEpoch {
            public: epoch.to_bytes(),
            opened_at: 0,
            status: EpochStatus::Active,
            grants: Default::default(),
        });
    }

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
        "block of {entries} entries in batches of {batch}{} ({} bytes)",
        if sealed { ", 7 sealed fields each" } else { "" },
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

/// Synthetic customer data of typical lengths, as `tally bench` seals: the seven fields a
/// Shopify order carries.
fn customer(id: &str) -> Vec<(FieldName, String)> {
    let field = |name: &str| FieldName::new(name).unwrap();
    vec![
        (field("customer_name"), "Maria Rossi".to_string()),
        (field("email"), format!("customer-{id}@example.com")),
        (field("phone"), "+49 30 1234567".to_string()),
        (field("address1"), "997 Market Street, Flat 31".to_string()),
        (field("city"), "Bologna".to_string()),
        (field("zip"), "40121".to_string()),
        (field("country"), "IT".to_string()),
    ]
}
