//! `tally bench-audit`: how fast `tally verify` audits stored chains (entries/s), and the size,
//! build time and check time of entry proofs, on data a node, `tally bench` or `tally demo` wrote.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use tally_audit::{prove_entry, verify_store, Proof};
use tally_chain::Store;
use tally_ledger::EntryId;

use crate::audit::find_stores;
use crate::user_error;

#[derive(Args)]
pub struct BenchAuditArgs {
    /// A data directory holding chain stores (searched for `*.redb`), e.g. `tally bench --data`.
    #[arg(long)]
    data: PathBuf,
    /// Entry proofs to build and check per store, spread evenly over its entries.
    #[arg(long, default_value_t = 100)]
    proofs: usize,
}

pub fn run(args: BenchAuditArgs) -> anyhow::Result<()> {
    let mut stores = Vec::new();
    find_stores(&args.data, 0, &mut stores)
        .with_context(|| format!("searching {}", args.data.display()))?;
    stores.sort();
    if stores.is_empty() {
        return Err(user_error(format!(
            "no chain store (*.redb) under {}",
            args.data.display()
        )));
    }
    println!(
        "{:<28} {:>8} {:>10} {:>9} {:>12} | {:>6} {:>10} {:>10} {:>10} {:>10}",
        "store",
        "blocks",
        "entries",
        "verify s",
        "entries/s",
        "proofs",
        "avg bytes",
        "max bytes",
        "build ms",
        "check ms"
    );
    for path in stores {
        let (store, genesis) = Store::open_existing(&path)
            .map_err(|error| user_error(format!("{}: {error}", path.display())))?;
        let started = Instant::now();
        let report = verify_store(&store, &genesis, &mut |_| {})
            .map_err(|error| anyhow::Error::new(crate::audit::Damaged(error.to_string())))?;
        let verify_seconds = started.elapsed().as_secs_f64();

        let ids = store.entry_ids()?;
        let state = store.state()?;
        let step = (ids.len() / args.proofs.max(1)).max(1);
        let (mut count, mut total_bytes, mut max_bytes) = (0usize, 0usize, 0usize);
        let (mut build, mut check) = (0.0f64, 0.0f64);
        for id in ids.iter().step_by(step).take(args.proofs) {
            let id = EntryId::new(id).map_err(|error| anyhow::anyhow!("{error}"))?;
            let started = Instant::now();
            let proof = prove_entry(&store, &state, &id)
                .map_err(|error| anyhow::anyhow!("proof of {id}: {error}"))?;
            let bytes = proof.to_bytes();
            build += started.elapsed().as_secs_f64();
            let started = Instant::now();
            Proof::from_bytes(&bytes)
                .and_then(|proof| proof.check(&genesis))
                .map_err(|error| anyhow::anyhow!("proof of {id} does not check: {error}"))?;
            check += started.elapsed().as_secs_f64();
            count += 1;
            total_bytes += bytes.len();
            max_bytes = max_bytes.max(bytes.len());
        }
        let per = |seconds: f64| {
            if count == 0 {
                0.0
            } else {
                seconds * 1_000.0 / count as f64
            }
        };
        let name = path
            .strip_prefix(&args.data)
            .unwrap_or(&path)
            .display()
            .to_string();
        println!(
            "{:<28} {:>8} {:>10} {:>9.2} {:>12.0} | {:>6} {:>10} {:>10} {:>10.2} {:>10.2}",
            name,
            report.blocks,
            report.entries,
            verify_seconds,
            report.entries as f64 / verify_seconds.max(f64::EPSILON),
            count,
            total_bytes.checked_div(count).unwrap_or(0),
            max_bytes,
            per(build),
            per(check),
        );
    }
    Ok(())
}
