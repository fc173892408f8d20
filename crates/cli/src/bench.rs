//! `tally bench`: throughput and submit-to-final latency of a local chain, durable (redb fsync
//! per block) and with every signature checked.
//!
//! Batches are generated and signed before the clock starts: signing is the client's work. The
//! measured path is submission (signature check, rule check, mempool), consensus, execution on
//! every validator, and the durable commit.
//!
//! `--sealed off,plain,orders,on` runs each chain four times: without customer data; with seven
//! customer fields (name, e-mail, phone, address, city, zip, country; synthetic values) on every
//! order (the workload's sale entries, about half of them: the customer belongs to the order, as
//! `tally import shopify` seals it onto the sale) in plain text, written into the entry's
//! description as a ledger without sealed fields would carry them; the same fields sealed; and
//! sealed on every entry, the worst case. `plain` against `orders` is the cost of encrypting
//! the customer data, `off` against `orders` the cost of carrying it encrypted at all. Fields are
//! sealed under a customer-pii epoch, one field key per batch. The client's sealing time is
//! printed next to the chain's time, so the whole cost of encrypted customer data on the ingest
//! path is in the table.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use commonware_runtime::{tokio as cw_tokio, Runner};
use tally_chain::{SignedBatch, Transaction};
use tally_consensus::SubmitError;
use tally_ledger::{Date, EntryId};
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
    /// Seven customer fields: none (`off`), in plain text on every order (`plain`), sealed on
    /// every order (`orders`), sealed on every entry (`on`), or several runs
    /// (`off,plain,orders,on`).
    #[arg(long, value_delimiter = ',', default_value = "off")]
    sealed: Vec<Sealed>,
    /// Runs of each configuration, taken in turn (all configurations once, then again), so a
    /// machine's drift spreads over all of them. With more than one, a summary gives each
    /// configuration's median and what customer fields cost against `off` and `plain`.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
}

/// Most runs of one configuration `--repeat` asks for.
const BENCH_REPEAT_MAX: usize = 20;

/// Which entries carry sealed customer fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Sealed {
    /// None.
    Off,
    /// The entry of every order carries the fields unencrypted, in its description: the
    /// baseline for the cost of encryption itself.
    Plain,
    /// The entry of every order (a sale), as `tally import shopify` books them.
    Orders,
    /// Every entry: the worst case.
    On,
}

impl Sealed {
    /// Its name in the table.
    fn label(self) -> &'static str {
        match self {
            Sealed::Off => "no",
            Sealed::Plain => "plain",
            Sealed::Orders => "orders",
            Sealed::On => "all",
        }
    }

    /// Whether a workload entry posted by `department` gets customer fields: orders are the
    /// entries sales posts.
    fn carries(self, department: &str) -> bool {
        match self {
            Sealed::Off => false,
            Sealed::Plain | Sealed::Orders => department == tally_node::workload::SALES,
            Sealed::On => true,
        }
    }
}

struct Run {
    validators: usize,
    sealed: Sealed,
    /// Client time spent sealing fields, in seconds.
    sealing_seconds: f64,
    /// Entries that carry customer fields (sealed, or in plain text).
    sealed_entries: u64,
    entries: u64,
    seconds: f64,
    /// CPU time the whole process (every validator, the client's submissions) spent while the
    /// entries were committed, in seconds; `None` where the system does not report it.
    cpu_seconds: Option<f64>,
    latencies_ms: Vec<f64>,
}

/// Clock ticks per second of the CPU times in `/proc/self/stat` (Linux's `USER_HZ`, fixed at
/// 100 in its ABI whatever the kernel's own tick rate).
const PROC_TICKS_PER_SECOND: f64 = 100.0;

/// CPU time (user and system, all threads) this process has used so far, from
/// `/proc/self/stat`; `None` on systems without it.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_cpu_seconds(&stat)
}

/// The user and system times of a `/proc/PID/stat` line, in seconds. The fields after the
/// command name (which may hold spaces and parentheses, so it ends at the last `)`) start with
/// the state; user and system times are the 12th and 13th of them.
fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / PROC_TICKS_PER_SECOND)
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
    if args.repeat == 0 || args.repeat > BENCH_REPEAT_MAX {
        return Err(user_error(format!(
            "--repeat must be between 1 and {BENCH_REPEAT_MAX}"
        )));
    }
    let base = args.data.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("tally-bench-{}", std::process::id()))
    });
    let mut runs = Vec::new();
    let configurations: Vec<(usize, Sealed)> = args
        .validators
        .iter()
        .flat_map(|&validators| args.sealed.iter().map(move |&sealed| (validators, sealed)))
        .collect();
    let plans: Vec<(usize, Sealed)> = (0..args.repeat)
        .flat_map(|_| configurations.iter().copied())
        .collect();
    for (validators, sealed) in plans {
        let data = base.join(format!("v{validators}-{}", sealed.label()));
        if data.exists() {
            std::fs::remove_dir_all(&data)
                .with_context(|| format!("clearing {}", data.display()))?;
        }
        std::fs::create_dir_all(&data)?;
        eprintln!(
            "bench: {validators} validator(s), {} entries in batches of {}{}",
            args.entries,
            args.batch,
            match sealed {
                Sealed::Off => "",
                Sealed::Plain => ", 7 plain-text customer fields on every order",
                Sealed::Orders => ", 7 sealed customer fields on every order",
                Sealed::On => ", 7 sealed customer fields on every entry",
            }
        );
        let runtime = cw_tokio::Config::new().with_storage_directory(data.join("consensus"));
        let (entries, batch, rate) = (args.entries, args.batch, args.rate);
        let run_data = data.clone();
        let run = cw_tokio::Runner::new(runtime).start(|context| async move {
            let network = start_local(context, &run_data, validators, "bench").await?;
            measure(&network, validators, sealed, entries, batch, rate).await
        })?;
        runs.push(run);
        if args.data.is_none() {
            let _ = std::fs::remove_dir_all(&data);
        }
    }
    let offered = args.rate.map_or("max".to_string(), |rate| rate.to_string());
    println!(
        "{:>10}  {:>6}  {:>9}  {:>9}  {:>7}  {:>8}  {:>8}  {:>10}  {:>8}  {:>8}  {:>9}  {:>12}",
        "validators",
        "sealed",
        "entries",
        "w/ fields",
        "batch",
        "offered",
        "seconds",
        "entries/s",
        "p50 ms",
        "p99 ms",
        "sealing s",
        "cpu us/entry"
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
            "{:>10}  {:>6}  {:>9}  {:>9}  {:>7}  {:>8}  {:>8.2}  {:>10.0}  {:>8.1}  {:>8.1}  {:>9.2}  {:>12}",
            run.validators,
            run.sealed.label(),
            run.entries,
            run.sealed_entries,
            args.batch,
            offered,
            run.seconds,
            run.entries_per_second(),
            percentile(0.50),
            percentile(0.99),
            run.sealing_seconds,
            run.cpu_micros_per_entry()
                .map_or("-".to_string(), |micros| format!("{micros:.2}"))
        );
    }
    if args.repeat > 1 {
        print_summary(&configurations, &runs);
    }
    Ok(())
}

impl Run {
    fn entries_per_second(&self) -> f64 {
        self.entries as f64 / self.seconds
    }

    /// CPU time per committed entry, in microseconds: steadier than entries/s on a machine
    /// whose other tenants take turns on its cores.
    fn cpu_micros_per_entry(&self) -> Option<f64> {
        self.cpu_seconds
            .map(|seconds| seconds * 1e6 / self.entries.max(1) as f64)
    }
}

/// One configuration over its runs: median, lowest and highest entries/s, and the cost of
/// customer fields, in percent: how much lower its median is than that of the same chain
/// without them (`off`) and with them in plain text (`plain`), when those ran.
#[derive(Debug, PartialEq)]
struct Summary {
    validators: usize,
    sealed: Sealed,
    median: f64,
    lowest: f64,
    highest: f64,
    cost_vs_off: Option<f64>,
    cost_vs_plain: Option<f64>,
    /// Median CPU time per entry, in microseconds, if the system reports it.
    cpu_micros: Option<f64>,
    /// How much more CPU time per entry than with the customer in plain text, in percent.
    cpu_cost_vs_plain: Option<f64>,
}

/// The median of `values` (the mean of the middle two for an even count), sorted in place.
fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    match values.len() {
        0 => None,
        len if len % 2 == 1 => Some(values[middle]),
        _ => Some((values[middle - 1] + values[middle]) / 2.0),
    }
}

fn summarise(configurations: &[(usize, Sealed)], runs: &[Run]) -> Vec<Summary> {
    let spread = |validators: usize, sealed: Sealed| -> Option<(f64, f64, f64)> {
        let mut rates: Vec<f64> = runs
            .iter()
            .filter(|run| run.validators == validators && run.sealed == sealed)
            .map(Run::entries_per_second)
            .collect();
        let median = median(&mut rates)?;
        Some((median, rates[0], rates[rates.len() - 1]))
    };
    let cpu = |validators: usize, sealed: Sealed| -> Option<f64> {
        let mut micros: Vec<f64> = runs
            .iter()
            .filter(|run| run.validators == validators && run.sealed == sealed)
            .map(Run::cpu_micros_per_entry)
            .collect::<Option<_>>()?;
        median(&mut micros)
    };
    configurations
        .iter()
        .filter_map(|&(validators, sealed)| {
            let (median, lowest, highest) = spread(validators, sealed)?;
            // Against a baseline that carries less: plain text and sealed fields against none,
            // sealed fields against plain text.
            let cost = |baseline: Sealed| {
                let carries_more = match baseline {
                    Sealed::Off => sealed != Sealed::Off,
                    _ => matches!(sealed, Sealed::Orders | Sealed::On),
                };
                let (base, _, _) = spread(validators, baseline).filter(|_| carries_more)?;
                Some((1.0 - median / base) * 100.0)
            };
            let cpu_micros = cpu(validators, sealed);
            let cpu_cost_vs_plain = matches!(sealed, Sealed::Orders | Sealed::On)
                .then(|| Some((cpu_micros? / cpu(validators, Sealed::Plain)? - 1.0) * 100.0))
                .flatten();
            Some(Summary {
                validators,
                sealed,
                median,
                lowest,
                highest,
                cost_vs_off: cost(Sealed::Off),
                cost_vs_plain: cost(Sealed::Plain),
                cpu_micros,
                cpu_cost_vs_plain,
            })
        })
        .collect()
}

fn print_summary(configurations: &[(usize, Sealed)], runs: &[Run]) {
    let percent = |cost: Option<f64>| cost.map_or("-".to_string(), |cost| format!("{cost:.1}%"));
    println!();
    println!(
        "{:>10}  {:>6}  {:>10}  {:>10}  {:>10}  {:>11}  {:>13}  {:>12}  {:>17}",
        "validators",
        "sealed",
        "median/s",
        "lowest/s",
        "highest/s",
        "cost vs no",
        "cost vs plain",
        "cpu us/entry",
        "cpu cost vs plain"
    );
    for row in summarise(configurations, runs) {
        println!(
            "{:>10}  {:>6}  {:>10.0}  {:>10.0}  {:>10.0}  {:>11}  {:>13}  {:>12}  {:>17}",
            row.validators,
            row.sealed.label(),
            row.median,
            row.lowest,
            row.highest,
            percent(row.cost_vs_off),
            percent(row.cost_vs_plain),
            row.cpu_micros
                .map_or("-".to_string(), |micros| format!("{micros:.2}")),
            percent(row.cpu_cost_vs_plain)
        );
    }
}

async fn measure(
    network: &crate::local::LocalNetwork,
    validators: usize,
    sealed: Sealed,
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
    let epoch = match sealed {
        Sealed::Off | Sealed::Plain => None,
        Sealed::Orders | Sealed::On => Some(open_customer_epoch(network).await?),
    };
    // The finance role may post every event of the workload, so one signer suffices.
    let mut batches = Vec::new();
    let mut remaining = entries;
    let mut sealing = Duration::ZERO;
    let mut rng = tally_privacy::sealing_rng();
    let mut serial = 0usize;
    while remaining > 0 {
        let size = remaining.min(batch);
        let (departments, mut drafts): (Vec<&str>, Vec<_>) =
            (0..size).map(|_| workload.next_event()).unzip();
        let started = Instant::now();
        let mut sealer = tally_privacy::Sealer::new(&chain_id);
        let pii = tally_ledger::Category::customer_pii();
        for (department, draft) in departments.iter().zip(&mut drafts) {
            if !sealed.carries(department) {
                continue;
            }
            serial += 1;
            let fields = customer(serial);
            match &epoch {
                // In plain text, as a ledger without sealed fields would carry them.
                None => {
                    for (name, value) in fields {
                        draft.description.push_str(&format!("; {name}: {value}"));
                    }
                }
                Some(public) => {
                    let (fields, key) = sealer
                        .seal_entry(draft.id.as_str(), public, &pii, 0, &fields, &mut rng)
                        .map_err(|error| anyhow::anyhow!("sealing: {error}"))?;
                    draft.sealed = tally_ledger::Sealed::Groups(vec![fields]);
                    draft.seal_keys = vec![key];
                }
            }
        }
        if epoch.is_some() {
            sealing += started.elapsed();
        }
        batches.push(Transaction::Batch(SignedBatch::sign(
            key, &chain_id, drafts,
        )));
        remaining -= size;
    }
    let chain = network.chains[0].clone();
    let start_entries = chain.state().log.len();
    let mut heights = chain.subscribe();
    // A batch is final when its first entry is committed: looking that entry up costs one small
    // read, where decoding each committed block to hash its transactions cost the bench as much
    // CPU as a validator spends on the block, on the cores the chain is measured on.
    let mut waiting: Vec<(EntryId, Instant)> = Vec::new();
    let mut submitted = 0usize;
    let mut latencies = Vec::new();
    let mut seen_height = chain.state().height;
    let start = Instant::now();
    let cpu_at_start = process_cpu_seconds();
    let mut queue = batches.into_iter();
    let mut next = queue.next();
    let target = start_entries + entries as u64;
    while chain.state().log.len() < target {
        // Submit as much as the mempool takes, or as the rate allows by now.
        while let Some(tx) = next.take() {
            if let Some(rate) = rate {
                let allowed = (start.elapsed().as_secs_f64() * rate as f64) as usize;
                if submitted * batch >= allowed {
                    next = Some(tx);
                    break;
                }
            }
            let node = &network.chains[submitted % network.chains.len()];
            match node.submit(tx.clone()) {
                Ok(_) => {
                    waiting.push((first_entry(&tx)?, Instant::now()));
                    submitted += 1;
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
        if height > seen_height {
            let now = Instant::now();
            let mut still = Vec::with_capacity(waiting.len());
            for (id, at) in waiting.drain(..) {
                if chain.store().entry(&id)?.is_some() {
                    latencies.push(now.duration_since(at).as_secs_f64() * 1000.0);
                } else {
                    still.push((id, at));
                }
            }
            waiting = still;
        }
        seen_height = height;
        if start.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("bench did not finish within 10 minutes");
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = process_cpu_seconds()
        .zip(cpu_at_start)
        .map(|(end, start)| end - start);
    Ok(Run {
        validators,
        sealed,
        sealing_seconds: sealing.as_secs_f64(),
        sealed_entries: serial as u64,
        entries: chain.state().log.len() - start_entries,
        seconds,
        cpu_seconds,
        latencies_ms: latencies,
    })
}

/// The id of a bench batch's first entry, which tells when the batch is final.
fn first_entry(tx: &Transaction) -> anyhow::Result<EntryId> {
    match tx {
        Transaction::Batch(batch) => batch
            .entries
            .first()
            .map(|entry| entry.id.clone())
            .context("the bench signs no empty batches"),
        Transaction::Single(_) => anyhow::bail!("the bench submits only batches"),
    }
}

/// Opens customer-pii epoch 0 as the plan's administrator, granted to logistics, and waits
/// until it is committed. Returns its public key.
async fn open_customer_epoch(
    network: &crate::local::LocalNetwork,
) -> anyhow::Result<tally_privacy::EpochPublicKey> {
    let chain_id = &network.plan.genesis.chain_id;
    let admin = network.plan.member("admin").expect("the plan has an admin");
    let logistics = network
        .plan
        .member("logistics")
        .expect("the plan has logistics")
        .public_key();
    let pii = tally_ledger::Category::customer_pii();
    let mut rng = tally_privacy::os_rng();
    let secret = tally_privacy::EpochSecret::generate(&mut rng);
    let public = secret.public_key();
    let context = tally_privacy::GrantContext {
        chain_id,
        category: &pii,
        epoch: 0,
        epoch_key: &public,
        member: &logistics,
    };
    let wrapped = tally_privacy::wrap_key(&secret, &context, &mut rng)?;
    let change = tally_chain::KeyChange::OpenEpoch {
        category: pii,
        epoch: 0,
        public: public.to_bytes(),
        grants: vec![tally_chain::KeyGrant {
            member: logistics,
            encapped: wrapped.encapped,
            wrapped: wrapped.ciphertext,
        }],
    };
    let tx = Transaction::Single(tally_chain::SignedTx::sign(
        admin,
        chain_id,
        tally_chain::TxBody::Keys(change),
    ));
    let chain = &network.chains[0];
    chain
        .submit(tx)
        .map_err(|error| anyhow::anyhow!("opening the customer-pii epoch refused: {error}"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while network.chains.iter().any(|chain| {
        chain
            .state()
            .sealing
            .category(&pii)
            .map_or(true, |keys| keys.active().is_none())
    }) {
        if Instant::now() > deadline {
            anyhow::bail!("the chain did not open the customer-pii epoch within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(public)
}

/// Synthetic customer data of typical lengths for entry `serial`: the seven fields a Shopify
/// order carries.
fn customer(serial: usize) -> Vec<(tally_ledger::FieldName, String)> {
    const NAMES: [&str; 4] = ["Anna Becker", "Jean Dupont", "Maria Rossi", "Sam Taylor"];
    const CITIES: [&str; 4] = ["Berlin", "Lyon", "Bologna", "Manchester"];
    let field = |name: &str| tally_ledger::FieldName::new(name).expect("a valid field name");
    vec![
        (field("customer_name"), NAMES[serial % 4].to_string()),
        (field("email"), format!("customer{serial}@example.com")),
        (field("phone"), format!("+49 30 {:07}", serial % 10_000_000)),
        (
            field("address1"),
            format!("{} Market Street, Flat {}", serial % 997, serial % 31),
        ),
        (field("city"), CITIES[serial % 4].to_string()),
        (field("zip"), format!("{:05}", serial % 100_000)),
        (field("country"), "DE".to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(validators: usize, sealed: Sealed, entries_per_second: u64) -> Run {
        Run {
            validators,
            sealed,
            sealing_seconds: 0.0,
            sealed_entries: 0,
            entries: entries_per_second * 2,
            seconds: 2.0,
            // The same CPU time for every run: per entry, 2000 / rate microseconds.
            cpu_seconds: Some(0.004),
            latencies_ms: Vec::new(),
        }
    }

    #[test]
    fn cpu_times_are_read_from_proc_stat_lines() {
        // A command name with a space and a parenthesis; utime 250, stime 50 ticks.
        let line = "4242 (tally (x) y) R 1 4242 4242 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(parse_cpu_seconds(line), Some(3.0));
        assert_eq!(parse_cpu_seconds("4242 (tally) R 1 2"), None);
        assert_eq!(parse_cpu_seconds("no command name"), None);
        if cfg!(target_os = "linux") {
            // Spinning uses CPU time, which the process's line shows within a few ticks.
            let before = process_cpu_seconds().expect("Linux reports CPU times");
            let started = Instant::now();
            let mut spin = 0u64;
            while process_cpu_seconds().unwrap() <= before {
                for _ in 0..100_000 {
                    spin = std::hint::black_box(spin.wrapping_add(1));
                }
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "CPU time did not grow from {before} s"
                );
            }
        }
    }

    #[test]
    fn the_summary_takes_medians_and_compares_with_the_baselines_of_the_same_chain() {
        let configurations = [
            (1, Sealed::Off),
            (1, Sealed::Plain),
            (1, Sealed::Orders),
            (4, Sealed::Orders),
        ];
        let runs = [
            run(1, Sealed::Off, 100),
            run(1, Sealed::Plain, 80),
            run(1, Sealed::Orders, 70),
            run(4, Sealed::Orders, 10),
            run(1, Sealed::Off, 110),
            run(1, Sealed::Plain, 90),
            run(1, Sealed::Orders, 90),
            run(4, Sealed::Orders, 30),
            run(1, Sealed::Off, 90),
            run(1, Sealed::Plain, 85),
            run(1, Sealed::Orders, 76),
        ];
        let rows = summarise(&configurations, &runs);
        let medians: Vec<(usize, Sealed, f64, f64, f64)> = rows
            .iter()
            .map(|row| {
                (
                    row.validators,
                    row.sealed,
                    row.median,
                    row.lowest,
                    row.highest,
                )
            })
            .collect();
        assert_eq!(
            medians,
            [
                (1, Sealed::Off, 100.0, 90.0, 110.0),
                (1, Sealed::Plain, 85.0, 80.0, 90.0),
                (1, Sealed::Orders, 76.0, 70.0, 90.0),
                // An even count takes the mean of the middle two.
                (4, Sealed::Orders, 20.0, 10.0, 30.0),
            ]
        );
        let close = |cost: Option<f64>, expected: f64| {
            cost.is_some_and(|cost| (cost - expected).abs() < 1e-9)
        };
        assert_eq!((rows[0].cost_vs_off, rows[1].cost_vs_plain), (None, None));
        assert!(close(rows[1].cost_vs_off, 15.0));
        assert!(close(rows[2].cost_vs_off, 24.0));
        assert!(close(rows[2].cost_vs_plain, (1.0 - 76.0 / 85.0) * 100.0));
        // Baselines come from the same chain size only.
        assert_eq!((rows[3].cost_vs_off, rows[3].cost_vs_plain), (None, None));
        // CPU per entry: 2000 / rate microseconds; the sealed median against plain text's.
        assert!(close(rows[1].cpu_micros, 2000.0 / 85.0));
        assert!(close(
            rows[2].cpu_cost_vs_plain,
            ((2000.0 / 76.0) / (2000.0 / 85.0) - 1.0) * 100.0
        ));
        assert_eq!(
            (rows[0].cpu_cost_vs_plain, rows[3].cpu_cost_vs_plain),
            (None, None)
        );
    }
}
