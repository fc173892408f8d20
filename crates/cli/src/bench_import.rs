//! `tally bench-import`: DESIGN.md section 8's journal workload. A seeded e-commerce journal
//! of `--transactions` transactions is generated, read, and imported into a one-validator
//! chain in this process (durable redb storage, every signature checked) through the same
//! code as `tally import journal` without HTTP; then the trial balance is timed, first and
//! repeated, and ledger-cli and hledger (when installed) are timed on the same file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use commonware_runtime::{tokio as cw_tokio, Runner};
use tally_chain::{Transaction, TxError};
use tally_consensus::{AdmitError, ChainHandle, Outcome, SubmitError};
use tally_formats::journal::generate_ledger_journal;
use tally_identity::Digest;
use tally_ledger::{AccountCode, EntryId, PostError};
use tally_node::wire::TrialBalanceJson;

use crate::import::{
    entry_progress, import, read_file, Finality, Submitted, Target, IMPORT_BATCH_DEFAULT,
};
use crate::local::start_local;
use crate::user_error;

/// Trial balances timed after the first; the median is reported.
const TRIAL_BALANCE_REPEATS: usize = 20;

/// How long one batch may take to become final before the run is abandoned.
const BATCH_WAIT: Duration = Duration::from_secs(300);

/// The seed of the generated journal: one seed, one file, comparable runs.
const JOURNAL_SEED: u64 = 7;

#[derive(Args)]
pub struct BenchImportArgs {
    /// Transactions in the generated journal.
    #[arg(long, default_value_t = 100_000)]
    transactions: usize,
    /// Entries per signed batch.
    #[arg(long, default_value_t = IMPORT_BATCH_DEFAULT)]
    batch: usize,
    /// Where to keep the journal and the chain's data (a temporary directory if not given).
    #[arg(long)]
    data: Option<PathBuf>,
}

/// What one run measured.
struct Measured {
    imported: u64,
    submit_seconds: f64,
    first_trial_balance_ms: f64,
    repeated_trial_balance_ms: f64,
    lines: usize,
}

pub fn run(args: BenchImportArgs) -> anyhow::Result<()> {
    if args.batch == 0 || args.batch > tally_chain::BATCH_ENTRIES_MAX {
        return Err(user_error(format!(
            "--batch must be between 1 and {}",
            tally_chain::BATCH_ENTRIES_MAX
        )));
    }
    let base = args.data.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("tally-bench-import-{}", std::process::id()))
    });
    if base.exists() {
        std::fs::remove_dir_all(&base).with_context(|| format!("clearing {}", base.display()))?;
    }
    std::fs::create_dir_all(&base)?;
    let journal_path = base.join("books.journal");
    let started = Instant::now();
    let file = std::fs::File::create(&journal_path)
        .with_context(|| format!("creating {}", journal_path.display()))?;
    generate_ledger_journal(
        args.transactions,
        JOURNAL_SEED,
        &mut std::io::BufWriter::new(file),
    )
    .with_context(|| format!("writing {}", journal_path.display()))?;
    let bytes = std::fs::metadata(&journal_path)?.len();
    eprintln!(
        "bench-import: generated {} transactions ({:.1} MB) in {:.2} s",
        args.transactions,
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let read = read_file(&journal_path)?;
    let transactions = read.journal.transactions.len();
    let parse_seconds = read.seconds;
    if !read.journal.problems.is_empty() {
        anyhow::bail!("the generated journal has problems (listed above)");
    }
    let data = base.join("chain");
    std::fs::create_dir_all(&data)?;
    let runtime = cw_tokio::Config::new().with_storage_directory(data.join("consensus"));
    let batch = args.batch;
    let measured = cw_tokio::Runner::new(runtime).start(|context| async move {
        let network = start_local(context, &data, 1, "bench-import").await?;
        let key = network
            .plan
            .member("finance")
            .context("the plan has a finance member")?;
        let target = LocalTarget {
            chain: network.chains[0].clone(),
        };
        let progress = entry_progress(transactions as u64);
        let started = Instant::now();
        let summary = import(&target, key, read.journal, batch, BATCH_WAIT, &progress).await;
        progress.finish_and_clear();
        let summary = summary?;
        let submit_seconds = started.elapsed().as_secs_f64();
        let (first, lines) = time_trial_balance(&target.chain);
        let mut repeated: Vec<f64> = (0..TRIAL_BALANCE_REPEATS)
            .map(|_| time_trial_balance(&target.chain).0)
            .collect();
        repeated.sort_by(f64::total_cmp);
        anyhow::Ok(Measured {
            imported: summary.imported,
            submit_seconds,
            first_trial_balance_ms: first,
            repeated_trial_balance_ms: repeated[repeated.len() / 2],
            lines,
        })
    })?;

    println!(
        "journal                 {} ({} transactions, {:.1} MB)",
        journal_path.display(),
        transactions,
        bytes as f64 / 1e6
    );
    println!(
        "parse                   {parse_seconds:.2} s ({:.0} transactions/s)",
        transactions as f64 / parse_seconds
    );
    println!(
        "submit to final         {:.2} s ({} entries, batches of {batch}, 1 validator, durable)",
        measured.submit_seconds, measured.imported
    );
    println!(
        "entries/s               {:.0}",
        measured.imported as f64 / measured.submit_seconds
    );
    println!(
        "import + trial balance  {:.2} s",
        parse_seconds + measured.submit_seconds + measured.first_trial_balance_ms / 1000.0
    );
    println!(
        "trial balance           first {:.2} ms, repeated {:.2} ms (median of {TRIAL_BALANCE_REPEATS}; {} lines, as JSON)",
        measured.first_trial_balance_ms, measured.repeated_trial_balance_ms, measured.lines
    );
    for tool in ["ledger", "hledger"] {
        match time_tool(tool, &journal_path)? {
            Some(seconds) => println!("{tool:<24}{seconds:.2} s ({tool} -f FILE balance)"),
            None => println!("{tool:<24}skipped: {tool} not installed"),
        }
    }
    if args.data.is_none() {
        let _ = std::fs::remove_dir_all(&base);
    }
    Ok(())
}

/// Milliseconds to compute the trial balance and render it as the API's JSON, and its lines.
fn time_trial_balance(chain: &ChainHandle) -> (f64, usize) {
    let started = Instant::now();
    let state = chain.state();
    let lines: Vec<TrialBalanceJson> = state
        .ledger
        .trial_balance()
        .iter()
        .map(TrialBalanceJson::from_line)
        .collect();
    let json = serde_json::to_vec(&lines).unwrap_or_default();
    let milliseconds = started.elapsed().as_secs_f64() * 1000.0;
    std::hint::black_box(json);
    (milliseconds, lines.len())
}

/// Wall seconds of `TOOL -f FILE balance`, or `None` when the tool is not installed.
fn time_tool(tool: &str, journal: &Path) -> anyhow::Result<Option<f64>> {
    let installed = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        return Ok(None);
    }
    let started = Instant::now();
    let status = Command::new(tool)
        .arg("-f")
        .arg(journal)
        .arg("balance")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("running {tool}"))?;
    if !status.success() {
        anyhow::bail!("{tool} -f {} balance failed: {status}", journal.display());
    }
    Ok(Some(started.elapsed().as_secs_f64()))
}

/// A chain in this process as an import target: the node's own submission path without HTTP.
struct LocalTarget {
    chain: ChainHandle,
}

/// How often the benchmark looks at a batch's outcome: a lock and a map lookup.
const LOCAL_POLL_INTERVAL: Duration = Duration::from_millis(2);

fn is_duplicate(error: &TxError) -> bool {
    match error {
        TxError::Post(PostError::DuplicateId { .. }) => true,
        TxError::InBatch { source, .. } => is_duplicate(source),
        _ => false,
    }
}

impl Target for LocalTarget {
    fn chain_id(&self) -> &str {
        self.chain.chain_id()
    }

    fn poll_interval(&self) -> Duration {
        LOCAL_POLL_INTERVAL
    }

    async fn account_codes(&self) -> anyhow::Result<HashSet<AccountCode>> {
        let state = self.chain.state();
        Ok(state
            .ledger
            .accounts()
            .map(|account| account.code.clone())
            .collect())
    }

    async fn submit(&self, tx: &Transaction) -> anyhow::Result<Submitted> {
        Ok(match self.chain.submit(tx.clone()) {
            Ok(tally_consensus::Receipt::Accepted { .. }) => Submitted::Accepted,
            Ok(tally_consensus::Receipt::AlreadyCommitted { .. }) => Submitted::AlreadyCommitted,
            Err(SubmitError::Rejected(error)) if is_duplicate(&error) => Submitted::Duplicate,
            Err(SubmitError::Mempool(
                AdmitError::Full | AdmitError::AlreadyPending | AdmitError::IdPending(_),
            )) => Submitted::Busy,
            Err(SubmitError::Store(error)) => return Err(error.into()),
            Err(error) => Submitted::Refused(error.to_string()),
        })
    }

    async fn finality(&self, hash: &Digest) -> anyhow::Result<Finality> {
        Ok(match self.chain.outcome(hash) {
            Some(Outcome::Committed { .. }) => Finality::Committed,
            Some(Outcome::Rejected { reason }) => Finality::Rejected(reason),
            Some(Outcome::Pending) | None => Finality::Pending,
        })
    }

    async fn committed(&self, ids: &[EntryId]) -> anyhow::Result<Vec<bool>> {
        ids.iter()
            .map(|id| Ok(self.chain.entry(id)?.is_some()))
            .collect()
    }
}
