//! Where the time of one block goes: build (proposer), execute (every other validator) and the
//! durable commit, for a block of signed batches. Prints per-phase times and entries per second.
//!
//! `cargo run --release -p tally-chain --example execute_bench -- [ENTRIES] [BATCH] [MODES] [ROUNDS]`
//!
//! MODES is a comma-separated list of `off` (no customer data, the default), `plain` (the
//! seven customer fields `tally bench --sealed plain` writes, in the description, as a ledger
//! without sealed fields would carry them) and `sealed` (the same fields really sealed, one field
//! key per batch, under a customer-pii epoch the state opens first). Each round runs every mode
//! in turn on a fresh store, so a machine's drift spreads over all of them, and the table gives
//! each phase's median over ROUNDS (default 5): one validator's work, on one thread, without the
//! scheduling noise of a whole network. `plain,sealed` side by side tell what sealing costs each
//! phase.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tally_chain::{
    build_block, execute_block, EpochStatus, Genesis, KeyEpoch, SignedBatch, Store, Transaction,
    Validator,
};
use tally_identity::{CertifiedMember, MemberCertificate, SecretKey};
use tally_ledger::{
    codes, default_chart, AccountCode, Category, Currency, Date, EntryDraft, EntryId, FieldName,
    Posting, Role, Side,
};
use tally_privacy::{os_rng, EpochPublicKey, EpochSecret, Sealer};

/// Most rounds one run takes.
const ROUNDS_MAX: usize = 100;

/// The phases timed, in order.
const PHASES: [&str; 4] = [
    "build (proposer)",
    "encode + decode",
    "execute (verifier)",
    "commit (redb, fsync)",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Off,
    Plain,
    Sealed,
}

impl Mode {
    fn parse(text: &str) -> Mode {
        match text {
            "off" => Mode::Off,
            "plain" => Mode::Plain,
            "sealed" => Mode::Sealed,
            other => panic!("a mode is 'off', 'plain' or 'sealed', not '{other}'"),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Plain => "plain",
            Mode::Sealed => "sealed",
        }
    }
}

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
    let modes: Vec<Mode> = args
        .next()
        .map(|a| a.split(',').map(Mode::parse).collect())
        .unwrap_or_else(|| vec![Mode::Off]);
    let rounds: usize = args
        .next()
        .map(|a| a.parse().expect("ROUNDS is a number"))
        .unwrap_or(5);
    assert!(
        (1..=ROUNDS_MAX).contains(&rounds),
        "ROUNDS is 1 to {ROUNDS_MAX}"
    );
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
    let epoch = EpochSecret::generate(&mut os_rng()).public_key();
    let blocks: Vec<(Mode, Vec<Transaction>)> = modes
        .iter()
        .map(|&mode| {
            let drafts = drafts(entries, batch, mode, chain_id, &epoch);
            let transactions = drafts
                .chunks(batch)
                .map(|chunk| {
                    Transaction::Batch(SignedBatch::sign(&member, chain_id, chunk.to_vec()))
                })
                .collect();
            (mode, transactions)
        })
        .collect();

    // Per mode: the block's size and each round's phase times.
    let mut times: Vec<(usize, Vec<[Duration; 4]>)> = vec![(0, Vec::new()); modes.len()];
    for round in 0..rounds {
        for (index, (mode, transactions)) in blocks.iter().enumerate() {
            let (size, phases) = run(&genesis, *mode, &epoch, transactions.clone(), round);
            times[index].0 = size;
            times[index].1.push(phases);
        }
    }

    println!("blocks of {entries} entries in batches of {batch}, medians of {rounds} rounds");
    println!(
        "{:<8} {:>10} {:>18} {:>18} {:>18} {:>20}",
        "mode", "bytes", PHASES[0], PHASES[1], PHASES[2], PHASES[3]
    );
    for ((mode, _), (size, rounds)) in blocks.iter().zip(&times) {
        let medians: Vec<String> = (0..PHASES.len())
            .map(|phase| {
                let mut values: Vec<Duration> = rounds.iter().map(|times| times[phase]).collect();
                values.sort();
                let median = values[values.len() / 2];
                format!(
                    "{:.1} ms {:>7.0}/s",
                    median.as_secs_f64() * 1000.0,
                    entries as f64 / median.as_secs_f64()
                )
            })
            .collect();
        println!(
            "{:<8} {:>10} {:>18} {:>18} {:>18} {:>20}",
            mode.label(),
            size,
            medians[0],
            medians[1],
            medians[2],
            medians[3]
        );
    }
}

/// The entries of one mode: orders, with the customer in plain text or sealed, or without.
fn drafts(
    entries: usize,
    batch: usize,
    mode: Mode,
    chain_id: &str,
    epoch: &EpochPublicKey,
) -> Vec<EntryDraft> {
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
    match mode {
        Mode::Off => {}
        Mode::Plain => {
            for draft in &mut drafts {
                for (name, value) in customer(draft.id.as_str()) {
                    draft.description.push_str(&format!("; {name}: {value}"));
                }
            }
        }
        Mode::Sealed => {
            let pii = Category::customer_pii();
            let mut rng = os_rng();
            for chunk in drafts.chunks_mut(batch) {
                // One sealer per batch, as an importer seals: one key agreement per batch.
                let mut sealer = Sealer::new(chain_id);
                for draft in chunk {
                    let fields = customer(draft.id.as_str());
                    let (group, key) = sealer
                        .seal_entry(draft.id.as_str(), epoch, &pii, 0, &fields, &mut rng)
                        .unwrap();
                    draft.sealed = tally_ledger::Sealed::Groups(vec![group]);
                    draft.seal_keys = vec![key];
                }
            }
        }
    }
    drafts
}

/// Builds, encodes and decodes, executes and commits one block of `transactions` on a fresh
/// store: the block's size and each phase's time.
fn run(
    genesis: &Genesis,
    mode: Mode,
    epoch: &EpochPublicKey,
    transactions: Vec<Transaction>,
    round: usize,
) -> (usize, [Duration; 4]) {
    let dir = std::env::temp_dir().join(format!(
        "tally-execute-bench-{}-{}-{round}",
        std::process::id(),
        mode.label()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir.join("ledger.redb"), genesis).unwrap();
    let mut state = store.state().unwrap();
    if mode == Mode::Sealed {
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
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    (bytes.len(), [build, decode, execute, commit])
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
