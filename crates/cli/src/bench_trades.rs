//! `tally bench-trades`: consortium trades per second, from the proposal to the payment booked
//! in both parties' private chains, with p50/p99 latency. Runs the whole demo topology in this
//! process (four enterprises of four validators plus the consortium chain, durable, every
//! signature checked) at an offered rate of new trades per second.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use commonware_runtime::{tokio as cw_tokio, Runner};
use tally_node::topology::TopologyPlan;

use crate::topology::{data_dir, start_topology};
use crate::user_error;

#[derive(Args)]
pub struct BenchTradesArgs {
    /// New trades started per second.
    #[arg(long, default_value_t = 50)]
    rate: u64,
    /// Seconds to start trades for (then the ones in flight finish).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seed of the trade workload.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to keep the chains' data (a temporary directory if not given).
    #[arg(long)]
    data: Option<PathBuf>,
}

fn percentile(sorted: &[u64], fraction: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

pub fn run(args: BenchTradesArgs) -> anyhow::Result<()> {
    if args.rate == 0 || args.seconds == 0 {
        return Err(user_error("--rate and --seconds must be at least 1"));
    }
    let (data, _temporary) = data_dir(args.data.as_deref(), "bench-trades")?;
    let runtime = cw_tokio::Config::new().with_storage_directory(data.join("consensus"));
    cw_tokio::Runner::new(runtime).start(|context| async move {
        let plan = TopologyPlan::new(&mut rand::rngs::OsRng, 0, crate::local::now_ms());
        let topology = start_topology(context, &data, plan).await?;
        topology.post_openings().await?;
        eprintln!(
            "bench-trades: offering {} trades/s for {} s (seed {})",
            args.rate, args.seconds, args.seed
        );
        let start = Instant::now();
        let stats = topology
            .run_trades(
                args.seed,
                args.rate,
                Some(Duration::from_secs(args.seconds)),
                |_, _| {},
            )
            .await;
        let elapsed = start.elapsed().as_secs_f64();
        let sorted = |values: &[u64]| {
            let mut values = values.to_vec();
            values.sort_unstable();
            values
        };
        let latencies = sorted(&stats.booked_latencies_ms);
        let booking = sorted(&stats.booking_latencies_ms);
        let calls = sorted(&stats.call_latencies_ms);
        let booked = latencies.len();
        println!(
            "trades started {}  completed {}  failed {}  booked on both sides {}",
            stats.started, stats.completed, stats.failed, booked
        );
        println!(
            "booked trades/s {:.1}  (over {:.1} s)  contract calls final/s {:.1}",
            booked as f64 / elapsed,
            elapsed,
            calls.len() as f64 / elapsed,
        );
        println!(
            "latency settlement final->booked on both sides  p50 {} ms  p99 {} ms",
            percentile(&booking, 0.5),
            percentile(&booking, 0.99)
        );
        println!(
            "latency contract call submitted->final          p50 {} ms  p99 {} ms",
            percentile(&calls, 0.5),
            percentile(&calls, 0.99)
        );
        println!(
            "latency proposal->booked on both sides (the calls up to the settlement, each sent when the last is final; {:.1} calls per trade on average)  p50 {} ms  p99 {} ms",
            calls.len() as f64 / stats.completed.max(1) as f64,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
        for failure in stats.failures.iter().take(5) {
            eprintln!("trade failed: {failure}");
        }
        topology.settle(Duration::from_secs(30)).await;
        let summary = topology.summary();
        println!(
            "reconciled: {}  chains balanced: {}  validators agree: {}",
            summary.reconciled,
            summary.chains.iter().all(|chain| chain.balanced),
            summary.chains.iter().all(|chain| chain.agreed)
        );
        for chain in &summary.chains {
            println!(
                "chain {:<20} blocks {:>6} ({:.1}/s)  entries {:>7}  contract events {:>6}",
                chain.chain_id,
                chain.blocks,
                chain.blocks as f64 / elapsed,
                chain.entries,
                chain.contract_events
            );
        }
        anyhow::Ok(())
    })
}
