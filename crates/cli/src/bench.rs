//! `tally bench`: throughput and submit-to-final latency of a local chain, durable (redb fsync
//! per block) and with every signature checked.
//!
//! Batches are generated and signed before the clock starts: signing is the client's work. The
//! measured path is submission (signature check, rule check, mempool), consensus, execution on
//! every validator, and the durable commit.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use commonware_runtime::{tokio as cw_tokio, Runner};
use tally_chain::{SignedBatch, Transaction};
use tally_consensus::SubmitError;
use tally_ledger::Date;
use tally_node::workload::Workload;

use crate::local::start_local;
use crate::user_error;

#[derive(Args)]
pub struct BenchArgs {
    /// Validators in the chain (run once per value).
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    validators: Vec<usize>,
    /// Entries to commit per run.
    #[arg(long, default_value_t = 200_000)]
    entries: usize,
    /// Entries per signed batch.
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Submit at this many entries per second (default: as fast as the mempool takes them).
    /// Latency below saturation is measured with a rate the chain can sustain.
    #[arg(long)]
    rate: Option<u64>,
    /// Where to keep the chains' data (a temporary directory if not given).
    #[arg(long)]
    data: Option<PathBuf>,
}

struct Run {
    validators: usize,
    entries: u64,
    seconds: f64,
    latencies_ms: Vec<f64>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.batch == 0 || args.batch > tally_chain::BATCH_ENTRIES_MAX {
        return Err(user_error(format!(
            "--batch must be between 1 and {}",
            tally_chain::BATCH_ENTRIES_MAX
        )));
    }
    if args
        .validators
        .iter()
        .any(|count| *count == 0 || *count > tally_chain::VALIDATORS_MAX)
    {
        return Err(user_error("--validators takes counts between 1 and 64"));
    }
    let base = args.data.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("tally-bench-{}", std::process::id()))
    });
    let mut runs = Vec::new();
    for &validators in &args.validators {
        let data = base.join(format!("v{validators}"));
        if data.exists() {
            std::fs::remove_dir_all(&data)
                .with_context(|| format!("clearing {}", data.display()))?;
        }
        std::fs::create_dir_all(&data)?;
        eprintln!(
            "bench: {validators} validator(s), {} entries in batches of {}",
            args.entries, args.batch
        );
        let runtime = cw_tokio::Config::new().with_storage_directory(data.join("consensus"));
        let (entries, batch, rate) = (args.entries, args.batch, args.rate);
        let run_data = data.clone();
        let run = cw_tokio::Runner::new(runtime).start(|context| async move {
            let network = start_local(context, &run_data, validators, "bench").await?;
            measure(&network, validators, entries, batch, rate).await
        })?;
        runs.push(run);
        if args.data.is_none() {
            let _ = std::fs::remove_dir_all(&data);
        }
    }
    let offered = args.rate.map_or("max".to_string(), |rate| rate.to_string());
    println!(
        "{:>10}  {:>9}  {:>7}  {:>8}  {:>8}  {:>10}  {:>8}  {:>8}",
        "validators", "entries", "batch", "offered", "seconds", "entries/s", "p50 ms", "p99 ms"
    );
    for run in &runs {
        let mut latencies = run.latencies_ms.clone();
        latencies.sort_by(f64::total_cmp);
        let percentile = |p: f64| {
            if latencies.is_empty() {
                return 0.0;
            }
            let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
            latencies[index]
        };
        println!(
            "{:>10}  {:>9}  {:>7}  {:>8}  {:>8.2}  {:>10.0}  {:>8.1}  {:>8.1}",
            run.validators,
            run.entries,
            args.batch,
            offered,
            run.seconds,
            run.entries as f64 / run.seconds,
            percentile(0.50),
            percentile(0.99)
        );
    }
    Ok(())
}

async fn measure(
    network: &crate::local::LocalNetwork,
    validators: usize,
    entries: usize,
    batch: usize,
    rate: Option<u64>,
) -> anyhow::Result<Run> {
    let chain_id = network.plan.genesis.chain_id.clone();
    let key = network
        .plan
        .member("finance")
        .expect("the plan has a finance member");
    let today = Date::parse("2026-11-24").expect("valid date");
    let mut workload = Workload::new(7, "bench-", today);
    crate::local::post_opening(network, &mut workload).await?;
    // The finance role may post every event of the workload, so one signer suffices.
    let mut batches = Vec::new();
    let mut remaining = entries;
    while remaining > 0 {
        let size = remaining.min(batch);
        let drafts = (0..size).map(|_| workload.next_event().1).collect();
        batches.push(Transaction::Batch(SignedBatch::sign(
            key, &chain_id, drafts,
        )));
        remaining -= size;
    }
    let chain = network.chains[0].clone();
    let start_entries = chain.state().log.len();
    let mut heights = chain.subscribe();
    let mut submitted_at: HashMap<[u8; 32], Instant> = HashMap::new();
    let mut latencies = Vec::new();
    let mut seen_height = chain.state().height;
    let start = Instant::now();
    let mut queue = batches.into_iter();
    let mut next = queue.next();
    let target = start_entries + entries as u64;
    while chain.state().log.len() < target {
        // Submit as much as the mempool takes, or as the rate allows by now.
        while let Some(tx) = next.take() {
            if let Some(rate) = rate {
                let allowed = (start.elapsed().as_secs_f64() * rate as f64) as usize;
                if submitted_at.len() * batch >= allowed {
                    next = Some(tx);
                    break;
                }
            }
            let hash = tx.hash();
            let node = &network.chains[submitted_at.len() % network.chains.len()];
            match node.submit(tx.clone()) {
                Ok(_) => {
                    submitted_at.insert(hash, Instant::now());
                    next = queue.next();
                }
                Err(SubmitError::Mempool(tally_consensus::AdmitError::Full)) => {
                    next = Some(tx);
                    break;
                }
                Err(error) => anyhow::bail!("bench batch refused: {error}"),
            }
        }
        // Wait for the next commit, then time every batch it made final.
        let wait = if rate.is_some() { 5 } else { 50 };
        let _ = tokio::time::timeout(Duration::from_millis(wait), heights.changed()).await;
        let height = chain.state().height;
        for committed in seen_height + 1..=height {
            if let Some(block) = chain.store().block(committed)? {
                let now = Instant::now();
                for tx in &block.transactions {
                    if let Some(at) = submitted_at.get(&tx.hash()) {
                        latencies.push(now.duration_since(*at).as_secs_f64() * 1000.0);
                    }
                }
            }
        }
        seen_height = height;
        if start.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("bench did not finish within 10 minutes");
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(Run {
        validators,
        entries: chain.state().log.len() - start_entries,
        seconds,
        latencies_ms: latencies,
    })
}
