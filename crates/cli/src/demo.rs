//! `tally demo`: a 4-validator private chain of one enterprise in this process, fed by a
//! realistic e-commerce workload, with a live progress line and a summary at the end.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use commonware_runtime::{tokio as cw_tokio, Runner};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tally_chain::{SignedBatch, Transaction};
use tally_ledger::{Date, EntryDraft};
use tally_node::{wire::TrialBalanceJson, workload::Workload};

use crate::local::{start_local, LocalNetwork};
use crate::user_error;

/// Entries per signed batch the demo's departments submit.
const DEMO_BATCH_ENTRIES: usize = 200;

#[derive(Args)]
pub struct DemoArgs {
    /// Where the nodes keep their data (a fresh temporary directory if not given).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    seconds: Option<u64>,
    /// Write a JSON summary to this file at the end.
    #[arg(long)]
    summary_json: Option<PathBuf>,
    /// Entries per second the workload aims for.
    #[arg(long, default_value_t = 2_000)]
    rate: u64,
}

#[derive(Serialize)]
struct Summary {
    blocks: u64,
    entries: u64,
    validators: usize,
    balanced: bool,
    agreed: bool,
    state_root: String,
    trial_balance: Vec<TrialBalanceJson>,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    if args.rate == 0 {
        return Err(user_error("--rate must be at least 1"));
    }
    let (data, _temporary) = match &args.data {
        Some(dir) => {
            if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
                return Err(user_error(format!(
                    "{} is not empty; the demo starts a new chain, so give it an empty or new directory",
                    dir.display()
                )));
            }
            (dir.clone(), None)
        }
        None => {
            let dir = std::env::temp_dir().join(format!("tally-demo-{}", std::process::id()));
            (dir.clone(), Some(TempDir(dir)))
        }
    };
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let runtime = cw_tokio::Config::new().with_storage_directory(data.join("consensus"));
    cw_tokio::Runner::new(runtime).start(|context| async move {
        let network = start_local(context, &data, 4, "merchant-private").await?;
        eprintln!(
            "demo: 4 validators ({}) of chain '{}' running; data in {}",
            tally_node::devnet::DEPARTMENTS.join(", "),
            network.plan.genesis.chain_id,
            data.display()
        );
        let summary = drive(&network, args.seconds, args.rate).await?;
        print_summary(&summary);
        if let Some(path) = &args.summary_json {
            let text = serde_json::to_string_pretty(&summary)?;
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        if !summary.balanced || !summary.agreed {
            anyhow::bail!("the validators' books do not agree or do not balance");
        }
        anyhow::Ok(())
    })
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn drive(network: &LocalNetwork, seconds: Option<u64>, rate: u64) -> anyhow::Result<Summary> {
    let chains = &network.chains;
    let chain_id = network.plan.genesis.chain_id.clone();
    let today = Date::parse("2026-11-24").expect("valid date");
    let mut workload = Workload::new(now_seed(), "", today);
    crate::local::post_opening(network, &mut workload).await?;
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .expect("valid template"),
    );
    progress.enable_steady_tick(Duration::from_millis(200));
    let start = Instant::now();
    let deadline = seconds.map(|seconds| start + Duration::from_secs(seconds));
    let tick = Duration::from_millis(100);
    let per_tick = (rate / 10).max(1) as usize;
    let mut submitted: u64 = 0;
    let mut refused: u64 = 0;
    let mut next_node = 0usize;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            break;
        }
        // Group this tick's events by the member that posts them, one signed batch each.
        let mut by_member: HashMap<&'static str, Vec<EntryDraft>> = HashMap::new();
        for _ in 0..per_tick {
            let (member, entry) = workload.next_event();
            by_member.entry(member).or_default().push(entry);
        }
        for (member, entries) in by_member {
            let key = network
                .plan
                .member(member)
                .expect("the plan has every workload member");
            for chunk in entries.chunks(DEMO_BATCH_ENTRIES) {
                let tx = Transaction::Batch(SignedBatch::sign(key, &chain_id, chunk.to_vec()));
                let chain = &chains[next_node % chains.len()];
                next_node += 1;
                match chain.submit(tx) {
                    Ok(_) => submitted += chunk.len() as u64,
                    Err(error) => {
                        refused += chunk.len() as u64;
                        tracing::warn!(%error, "batch refused");
                    }
                }
            }
        }
        let state = chains[0].state();
        progress.set_message(format!(
            "height {:>6}  entries {:>9}  submitted {:>9}  refused {:>5}  {:>7.0} entries/s",
            state.height,
            state.log.len(),
            submitted,
            refused,
            state.log.len() as f64 / start.elapsed().as_secs_f64().max(0.001)
        ));
        tokio::select! {
            _ = tokio::time::sleep(tick) => {},
            _ = &mut ctrl_c => break,
        }
    }
    progress.set_message("stopping: waiting for submitted entries to be final on every validator");
    let wait_until = Instant::now() + Duration::from_secs(60);
    loop {
        let pending: usize = chains.iter().map(|chain| chain.mempool_entries()).sum();
        let heights: Vec<u64> = chains.iter().map(|chain| chain.state().height).collect();
        let same = heights.iter().all(|height| *height == heights[0]);
        if (pending == 0 && same) || Instant::now() > wait_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    progress.finish_and_clear();
    let state = chains[0].state();
    let roots: Vec<_> = chains
        .iter()
        .map(|chain| chain.state().state_root())
        .collect();
    let agreed = roots.iter().all(|root| *root == roots[0]);
    Ok(Summary {
        blocks: state.height,
        entries: state.log.len(),
        validators: chains.len(),
        balanced: state.ledger.is_balanced(),
        agreed,
        state_root: hex::encode(state.state_root()),
        trial_balance: state
            .ledger
            .trial_balance()
            .iter()
            .map(TrialBalanceJson::from_line)
            .collect(),
    })
}

fn now_seed() -> u64 {
    crate::local::now_ms()
}

fn print_summary(summary: &Summary) {
    println!(
        "{} blocks, {} entries on {} validators; books {}; validators {}",
        summary.blocks,
        summary.entries,
        summary.validators,
        if summary.balanced {
            "balance"
        } else {
            "DO NOT BALANCE"
        },
        if summary.agreed { "agree" } else { "DISAGREE" }
    );
    println!("state root {}", summary.state_root);
    println!();
    crate::output::print_trial_balance_table(&summary.trial_balance);
}
