//! `tally demo`: four enterprises (merchant, supplier, carrier, marketplace), each a private
//! chain of four department validators, joined by the consortium chain, all in this process. The
//! workload buys stock from the supplier, sells to consumers through the marketplace, ships
//! through the carrier, settles and refunds; each party's bookkeeper books its side. A live
//! progress line, then a summary per chain and whether every pair of partners reconciles.
//!
//! While it runs, each enterprise's first department node serves the HTTP API and the
//! dashboard of the chains it hosts (its private chain, then the consortium chain): the
//! merchant's on the `--api` address, the others on the ports that follow.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use commonware_runtime::{tokio as cw_tokio, Runner};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tally_node::{topology::TopologyPlan, wire::TrialBalanceJson};

use crate::topology::{data_dir, start_topology, ChainSummary, PairSummary};
use crate::user_error;

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
    /// New trades per second the workload starts.
    #[arg(long, default_value_t = 20)]
    rate: u64,
    /// Seed of the trade workload (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Where the merchant's node serves the API and the dashboard (HOST:PORT, or `off`); the
    /// other enterprises' nodes take the following ports (any free ones with port 0).
    #[arg(long, default_value = "127.0.0.1:8080")]
    api: String,
}

/// The address of the first enterprise's API, `None` for `--api off`.
fn api_address(text: &str) -> anyhow::Result<Option<std::net::SocketAddr>> {
    if text == "off" {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        user_error(format!(
            "--api: '{text}' is not HOST:PORT (e.g. 127.0.0.1:8080) or off"
        ))
    })
}

/// Serves each enterprise's first node's chains on `first` and the ports after it (or on any
/// free ports when `first` has port 0), and prints where each dashboard is.
async fn serve_dashboards(
    topology: &crate::topology::RunningTopology,
    first: std::net::SocketAddr,
) -> anyhow::Result<()> {
    for (index, running) in topology.enterprises.iter().enumerate() {
        let mut address = first;
        if first.port() != 0 {
            let port = u16::try_from(usize::from(first.port()) + index).map_err(|_| {
                user_error(format!(
                    "--api: no port after {} for {}",
                    first.port(),
                    running.name
                ))
            })?;
            address.set_port(port);
        }
        let listener = tokio::net::TcpListener::bind(address).await.map_err(|error| {
            user_error(format!(
                "--api: cannot listen on {address} for {}: {error}; choose another with --api HOST:PORT, or --api off",
                running.name
            ))
        })?;
        let bound = listener.local_addr()?;
        let chains = vec![running.private[0].clone(), running.consortium.clone()];
        // The dashboard signs in with a token of the enterprise's auditor, who reads all of
        // its books (and, on its own node, the consortium chain) but posts nothing.
        let enterprise = topology
            .plan
            .enterprise(running.name.as_str())
            .ok_or_else(|| anyhow::anyhow!("no plan for {}", running.name))?;
        let auditor = enterprise
            .chain
            .members
            .iter()
            .find(|member| member.role == tally_ledger::Role::Auditor)
            .ok_or_else(|| anyhow::anyhow!("{} has no auditor", running.name))?;
        let token = tally_node::auth::mint(
            &auditor.key,
            enterprise.chain_id(),
            tally_identity::API_TOKEN_LIFETIME_MAX_MS,
        )?;
        tokio::spawn(async move {
            tally_node::serve_api(listener, chains, &Default::default(), None).await
        });
        eprintln!(
            "dashboard: http://{bound}/dashboard/#token={token} ({}; the token is its auditor's, valid 24 h)",
            running.name
        );
    }
    Ok(())
}

#[derive(Serialize)]
struct Summary {
    seed: u64,
    trades_started: u64,
    trades_completed: u64,
    trades_failed: u64,
    reconciled: bool,
    balanced: bool,
    agreed: bool,
    /// The merchant's trial balance.
    trial_balance: Vec<TrialBalanceJson>,
    chains: Vec<ChainSummary>,
    reconciliation: Vec<PairSummary>,
    stuck_entries: usize,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    if args.rate == 0 {
        return Err(user_error("--rate must be at least 1"));
    }
    let api = api_address(&args.api)?;
    let (data, _temporary) = data_dir(args.data.as_deref(), "demo")?;
    let seed = args.seed.unwrap_or_else(crate::local::now_ms);
    let runtime = cw_tokio::Config::new().with_storage_directory(data.join("consensus"));
    cw_tokio::Runner::new(runtime).start(|context| async move {
        let plan = TopologyPlan::new(&mut rand::rngs::OsRng, 0, crate::local::now_ms());
        let topology = start_topology(context, &data, plan).await?;
        eprintln!(
            "demo: 4 enterprises ({}) x 4 department validators, plus the consortium chain; data in {}",
            topology
                .enterprises
                .iter()
                .map(|running| running.name.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            data.display()
        );
        if let Some(api) = api {
            serve_dashboards(&topology, api).await?;
        }
        topology.post_openings().await?;
        let progress = ProgressBar::new_spinner();
        progress.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .expect("valid template"),
        );
        progress.enable_steady_tick(Duration::from_millis(200));
        let consortium = topology.enterprises[0].consortium.clone();
        let merchant = topology.enterprises[0].private[0].clone();
        let stats = topology
            .run_trades(
                seed,
                args.rate,
                args.seconds.map(Duration::from_secs),
                |stats, in_flight| {
                    progress.set_message(format!(
                        "consortium height {:>5}  trades started {:>6} done {:>6} failed {:>3} in flight {:>4}  merchant entries {:>7}",
                        consortium.state().height,
                        stats.started,
                        stats.completed,
                        stats.failed,
                        in_flight,
                        merchant.state().log.len(),
                    ))
                },
            )
            .await;
        progress.set_message("stopping: waiting for every chain and bookkeeper to catch up");
        topology.settle(Duration::from_secs(30)).await;
        progress.finish_and_clear();
        for failure in stats.failures.iter().take(5) {
            eprintln!("trade failed: {failure}");
        }
        let overview = topology.summary();
        let summary = Summary {
            seed,
            trades_started: stats.started,
            trades_completed: stats.completed,
            trades_failed: stats.failed,
            reconciled: overview.reconciled,
            balanced: overview.chains.iter().all(|chain| chain.balanced),
            agreed: overview.chains.iter().all(|chain| chain.agreed),
            trial_balance: overview.chains[0].trial_balance.clone(),
            chains: overview.chains,
            reconciliation: overview.reconciliation,
            stuck_entries: overview.stuck_entries,
        };
        print_summary(&summary);
        if let Some(path) = &args.summary_json {
            let text = serde_json::to_string_pretty(&summary)?;
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        if !summary.balanced || !summary.agreed || !summary.reconciled {
            anyhow::bail!(
                "the books do not balance, the validators disagree, or partners do not reconcile"
            );
        }
        anyhow::Ok(())
    })
}

fn print_summary(summary: &Summary) {
    println!(
        "{} trades started, {} completed, {} failed (seed {})",
        summary.trades_started, summary.trades_completed, summary.trades_failed, summary.seed
    );
    println!(
        "{:<12} {:>10} {:>7} {:>9} {:>8} {:>9} {:>7}",
        "chain", "validators", "blocks", "entries", "events", "balanced", "agreed"
    );
    for chain in &summary.chains {
        println!(
            "{:<12} {:>10} {:>7} {:>9} {:>8} {:>9} {:>7}",
            chain.chain_id,
            chain.validators,
            chain.blocks,
            chain.entries,
            chain.contract_events,
            chain.balanced,
            chain.agreed
        );
    }
    for pair in &summary.reconciliation {
        println!(
            "reconciliation {:<24} {:>6} contracts, {} differences",
            pair.parties, pair.contracts, pair.differences
        );
    }
    println!(
        "partners reconciled: {}",
        if summary.reconciled { "yes" } else { "NO" }
    );
    println!();
    println!("merchant trial balance:");
    crate::output::print_trial_balance_table(&summary.trial_balance);
}
