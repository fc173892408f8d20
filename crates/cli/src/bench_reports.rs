//! `tally bench-reports`: how long reports take on a large chain. It commits the demo workload
//! (orders, payouts, commissions, shipments, refunds; EUR and USD, with one conversion through
//! the FX trading account) straight into a store, block by block, through the same commit that
//! nodes use (so the report index is written as a node writes it), then times each report
//! cold and repeated, from a fresh read view each time, as the API serves them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use tally_chain::{build_block, Genesis, SignedBatch, Store, Transaction, Validator};
use tally_identity::{CertifiedMember, MemberCertificate, SecretKey};
use tally_ledger::{
    codes, default_chart, AccountCode, Currency, Date, EntryDraft, EntryId, Posting, Role, Side,
};
use tally_node::reports::{
    account_ledger_report, ageing_report, balance_sheet_report, departments_report,
    income_statement_report, trial_balance_report, ReportPoint, Snapshot,
};
use tally_node::workload::Workload;
use tally_reports::AgeingSide;

use crate::user_error;

/// Times each report is repeated after its first (cold) run.
const REPEATS: usize = 20;

#[derive(Args)]
pub struct BenchReportsArgs {
    /// Entries to commit before reporting.
    #[arg(long, default_value_t = 1_000_000)]
    entries: usize,
    /// Entries per block (one signed batch each).
    #[arg(long, default_value_t = 8_000)]
    block: usize,
    /// Where to keep the store (default: a temporary directory, removed afterwards).
    #[arg(long)]
    data: Option<PathBuf>,
}

const CHAIN: &str = "bench-reports";

fn genesis(root: &SecretKey, member: &SecretKey) -> Genesis {
    Genesis {
        chain_id: CHAIN.into(),
        enterprise: "Bench".into(),
        time_ms: 1_790_000_000_000,
        root_key: root.public_key(),
        validators: vec![Validator {
            name: "v".into(),
            consensus_key: "00".into(),
        }],
        members: vec![CertifiedMember::issue(
            root,
            CHAIN,
            MemberCertificate {
                member: member.public_key(),
                name: "finance".into(),
                role: Role::Finance,
                department: "finance".into(),
                valid_from_ms: 0,
                valid_until_ms: u64::MAX / 2,
            },
        )],
        chart: default_chart(),
        consortium: None,
        close_policy: Default::default(),
        read_policy: Default::default(),
        epoch_blocks: None,
    }
}

/// 1,000.00 EUR converted into 1,100.00 USD: records the rate USD reports convert at.
fn conversion(date: Date) -> EntryDraft {
    let posting = |account: &str, side, amount, currency: &str| Posting {
        account: AccountCode::new(account).expect("default code"),
        side,
        amount,
        currency: Currency::from_code(currency).expect("ISO code"),
    };
    EntryDraft {
        id: EntryId::new("bench-fx-1").expect("valid id"),
        date,
        description: "EUR into USD".into(),
        postings: vec![
            posting(codes::BANK, Side::Debit, 110_000, "USD"),
            posting(codes::FX_TRADING, Side::Credit, 110_000, "USD"),
            posting(codes::FX_TRADING, Side::Debit, 100_000, "EUR"),
            posting(codes::BANK, Side::Credit, 100_000, "EUR"),
        ],
        references: Vec::new(),
        reverses: None,
        sealed: Default::default(),
        seal_keys: Vec::new(),
    }
}

pub fn run(args: BenchReportsArgs) -> anyhow::Result<()> {
    if args.entries == 0 || args.block == 0 {
        return Err(user_error("--entries and --block must be at least 1"));
    }
    let root = SecretKey::from_seed([1; 32]);
    let member = SecretKey::from_seed([2; 32]);
    let genesis = genesis(&root, &member);
    let temporary = args.data.is_none();
    let dir = args.data.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("tally-bench-reports-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("ledger.redb");
    if path.exists() {
        return Err(user_error(format!(
            "{} exists; give an empty --data directory",
            path.display()
        )));
    }
    let store = Store::open(&path, &genesis)?;
    let start_date = Date::parse("2026-01-01").expect("valid date");
    let mut workload = Workload::new(7, "bench-", start_date);
    let mut pending: Vec<EntryDraft> = vec![workload.opening().1, conversion(start_date)];
    let mut committed = 0usize;
    let mut rejected = 0usize;
    let mut time = genesis.time_ms;
    let (mut building, mut committing) = (Duration::ZERO, Duration::ZERO);
    let ingest = Instant::now();
    while committed + rejected < args.entries + 2 {
        while pending.len() < args.block && committed + rejected + pending.len() < args.entries + 2
        {
            pending.push(workload.next_event().1);
        }
        let chunk: Vec<EntryDraft> = std::mem::take(&mut pending);
        let count = chunk.len();
        let tx = Transaction::Batch(SignedBatch::sign(&member, CHAIN, chunk));
        let state = store.state()?;
        time += 1_000;
        let started = Instant::now();
        let (block, executed, refused) = build_block(
            &state,
            &store.at(state.height),
            HashMap::new(),
            time,
            vec![tx],
        );
        building += started.elapsed();
        if !refused.is_empty() {
            // A batch is all or nothing: fall back to committing its entries one batch each
            // is not worth it here; count them and go on.
            rejected += count;
            continue;
        }
        let started = Instant::now();
        store.commit(&block, &executed)?;
        committing += started.elapsed();
        committed += count;
    }
    let ingest = ingest.elapsed();
    println!(
        "committed {committed} entries ({rejected} refused) in {:.1} s: build {:.1} s, commit with report index {:.1} s ({:.0} entries/s committed)",
        ingest.as_secs_f64(),
        building.as_secs_f64(),
        committing.as_secs_f64(),
        committed as f64 / committing.as_secs_f64()
    );

    let state = store.state()?;
    let head_day = Date::from_unix_ms(state.time_ms);
    let middle = state.height / 2;
    let point = |as_of: Option<Date>, height: Option<u64>, currency: Option<&str>| ReportPoint {
        as_of,
        height,
        currency: currency.map(|code| Currency::from_code(code).expect("ISO code")),
    };
    let receivable = AccountCode::new(codes::ACCOUNTS_RECEIVABLE).expect("default code");
    let later = Date::parse("2030-12-31").expect("valid date");
    type Report<'a> = Box<dyn Fn(&Snapshot) -> Result<(), tally_node::api::ApiError> + 'a>;
    let reports: Vec<(&str, Report)> = vec![
        (
            "trial balance (head)",
            Box::new(|s| trial_balance_report(s, &point(None, None, None)).map(drop)),
        ),
        (
            "trial balance (height/2)",
            Box::new(|s| trial_balance_report(s, &point(None, Some(middle), None)).map(drop)),
        ),
        (
            "balance sheet (head)",
            Box::new(|s| balance_sheet_report(s, &point(None, None, None)).map(drop)),
        ),
        (
            "balance sheet in EUR",
            Box::new(|s| balance_sheet_report(s, &point(None, None, Some("EUR"))).map(drop)),
        ),
        (
            "income statement (as of day)",
            Box::new(|s| income_statement_report(s, &point(Some(head_day), None, None)).map(drop)),
        ),
        (
            "ledger 1100, first page",
            Box::new(|s| {
                account_ledger_report(s, &point(None, None, None), &receivable, None, 100).map(drop)
            }),
        ),
        (
            "ledger 1100, page at 500k",
            Box::new(|s| {
                account_ledger_report(
                    s,
                    &point(None, None, None),
                    &receivable,
                    Some(500_000 * tally_reports::SEQ_PER_ENTRY),
                    100,
                )
                .map(drop)
            }),
        ),
        (
            "ageing receivable (head)",
            Box::new(|s| {
                ageing_report(s, &point(Some(later), None, None), AgeingSide::Receivable).map(drop)
            }),
        ),
        (
            "ageing payable (head)",
            Box::new(|s| {
                ageing_report(s, &point(Some(later), None, None), AgeingSide::Payable).map(drop)
            }),
        ),
        (
            "departments (head)",
            Box::new(|s| departments_report(s, &point(None, None, None)).map(drop)),
        ),
        (
            "ageing receivable (height/2)",
            Box::new(|s| {
                ageing_report(
                    s,
                    &point(Some(later), Some(middle), None),
                    AgeingSide::Receivable,
                )
                .map(drop)
            }),
        ),
    ];
    println!(
        "{:<32} {:>10} {:>12} {:>10}",
        "report", "cold ms", "median ms", "max ms"
    );
    for (name, report) in &reports {
        let mut times = Vec::with_capacity(REPEATS + 1);
        for _ in 0..=REPEATS {
            let started = Instant::now();
            let reader = store.reports()?;
            let snapshot = Snapshot::new(&state, reader)
                .map_err(|_| anyhow::anyhow!("the report index cannot be read"))?;
            report(&snapshot).map_err(|_| anyhow::anyhow!("{name} failed"))?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let cold = times[0];
        let mut repeated = times[1..].to_vec();
        repeated.sort_by(f64::total_cmp);
        println!(
            "{:<32} {:>10.2} {:>12.2} {:>10.2}",
            name,
            cold,
            repeated[repeated.len() / 2],
            repeated[repeated.len() - 1]
        );
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("store: {:.0} MiB", size as f64 / (1024.0 * 1024.0));
    drop(store);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
