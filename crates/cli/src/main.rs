//! `tally`: the command-line interface. A thin binary over the library crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc rather than the system allocator: the node allocates and frees many small objects
/// across the runtime's threads (decoded transactions, entries, state copies), where glibc's
/// malloc spent a seventh of all CPU in the trade benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod audit;
mod bench;
mod bench_audit;
mod bench_import;
mod bench_reports;
mod bench_trades;
mod client;
mod close;
mod contract;
mod demo;
mod export;
mod import;
mod import_shopify;
mod local;
mod output;
mod sealed;
mod topology;

/// An error in what the user asked for (bad input, refused by the node): exit code 2.
#[derive(Debug)]
pub struct UserError(pub String);

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UserError {}

pub fn user_error(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UserError(message.into()))
}

#[derive(Parser)]
#[command(
    name = "tally",
    version,
    about = "Tally: a permissioned blockchain ledger for e-commerce accounting"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the two-tier topology in this process (4 enterprises of 4 department validators, plus
    /// the consortium chain) with a seeded trade workload.
    Demo(demo::DemoArgs),
    /// Set up a local multi-process network.
    Devnet {
        #[command(subcommand)]
        command: DevnetCommand,
    },
    /// Run one node from its configuration file.
    Node {
        /// The node's configuration (written by `tally devnet init`).
        #[arg(long)]
        config: std::path::PathBuf,
    },
    /// Sign an entry with a member key and submit it to a node.
    Submit(client::SubmitArgs),
    /// Sign off a period close with a member key whose role the close policy names.
    ClosePeriod(close::ClosePeriodArgs),
    /// Consortium contracts: sign and submit a call (propose, confirm, ship, settle, ...), or
    /// show a contract and its events.
    Contract {
        #[command(subcommand)]
        command: contract::ContractCommand,
    },
    /// Book other systems' files: ledger / hledger / beancount journals (accounts opened,
    /// entries in signed batches) and Shopify order exports (customer data sealed); entries
    /// already on the chain are skipped.
    Import {
        #[command(subcommand)]
        command: import::ImportCommand,
    },
    /// Write a node's books as an hledger journal, a beancount file or CSV.
    Export(export::ExportArgs),
    /// Reports from a node.
    Report {
        #[command(subcommand)]
        command: client::ReportCommand,
    },
    /// Member keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Measure throughput and latency of a local chain.
    Bench(bench::BenchArgs),
    /// Audit a node's stored chains offline: hashes, links, roots, signatures, certificates,
    /// and the state rebuilt by replay. Exit code 3 names the first damage found.
    Verify(audit::VerifyArgs),
    /// Show an entry, who signed it, when it became final, and every later reversal or
    /// adjustment of it with authors and reasons.
    History(audit::HistoryArgs),
    /// Write and check self-contained proofs (entry inclusion, chain consistency).
    Proof {
        #[command(subcommand)]
        command: audit::ProofCommand,
    },
    /// Audit speed (entries/s) and entry proof size and check time, on stored chains.
    BenchAudit(bench_audit::BenchAuditArgs),
    /// Import a generated journal into an in-process chain and time parse, submit-to-final and
    /// the trial balance, beside ledger-cli and hledger on the same file.
    BenchImport(bench_import::BenchImportArgs),
    /// How long reports take on a large chain, cold and repeated.
    BenchReports(bench_reports::BenchReportsArgs),
    /// Consortium trades per second from proposal to booked on both sides, with latency.
    BenchTrades(bench_trades::BenchTradesArgs),
    /// Key epochs of the sealed-field categories (customer-pii, partner-banking): open (rotate),
    /// grant, revoke, erase, list.
    Epoch {
        #[command(subcommand)]
        command: sealed::EpochCommand,
    },
    /// Read an entry's sealed fields with a member key; the read is recorded on the chain.
    Read(sealed::ReadArgs),
    /// Check a disclosed field value against the chain's commitment.
    Disclosure {
        #[command(subcommand)]
        command: sealed::DisclosureCommand,
    },
    /// Who read which sealed fields of which entries, and when.
    AccessLog(sealed::AccessLogArgs),
    /// Print an API token signed by a member key, for `Authorization: Bearer <token>` (curl,
    /// the dashboard). Every other command makes its own.
    Token(client::TokenArgs),
}

#[derive(Subcommand)]
enum DevnetCommand {
    /// Write genesis, keys and one config per node for a network on 127.0.0.1.
    Init {
        /// Directory to write into.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Number of validators (4 tolerates one faulty validator).
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// First p2p port; API ports start at this plus 100.
        #[arg(long, default_value_t = 27_000)]
        base_port: u16,
        /// Chain id.
        #[arg(long, default_value = "merchant-private")]
        chain_id: String,
        /// Enterprise name.
        #[arg(long, default_value = "Merchant")]
        enterprise: String,
    },
    /// Write the two-tier topology for separate node processes: four enterprises (merchant,
    /// supplier, carrier, marketplace), each a private chain of department validators, and the
    /// consortium chain validated by each enterprise's first department, which also books its
    /// side of every trade and anchors its private chain.
    TwoTier {
        /// Directory to write into.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Department validators per private chain (4 tolerates one faulty department; 1 is a
        /// light network of four processes to try things on).
        #[arg(long, default_value_t = tally_node::topology::DEPARTMENT_VALIDATORS)]
        departments: usize,
        /// First p2p port; each enterprise takes ten from there, API ports are these plus 100.
        #[arg(long, default_value_t = 27_000)]
        base_port: u16,
        /// Private-chain blocks between two anchors of its head on the consortium chain.
        #[arg(long, default_value_t = 100)]
        anchor_every: u64,
        /// Seconds between two checks, by each enterprise's node, of its partners' anchors
        /// against the blocks their nodes serve.
        #[arg(long, default_value_t = tally_node::partner_watch::PARTNER_CHECK_SECONDS_DEFAULT)]
        partner_check_seconds: u64,
        /// Consortium blocks per validator-set epoch: a governance rotation of a validator key,
        /// or an enterprise's removal, takes effect at the next multiple (at least 2).
        #[arg(long, default_value_t = tally_node::topology::CONSORTIUM_EPOCH_BLOCKS)]
        epoch_blocks: u64,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Generate a member key file (hex) and print its public key.
    Generate {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Print the public key of a member key file.
    Show { key: std::path::PathBuf },
}

/// Turns transparent huge pages off for this process, before any thread starts.
///
/// mimalloc asks the kernel for huge pages for its arenas. Each 2 MiB page is then zeroed whole
/// when first touched, and again each time mimalloc gives it back and takes it anew. A node decodes,
/// hashes and frees blocks of several megabytes on every validator, so with 4 validators and sealed
/// orders the kernel's page zeroing was a fifth of all CPU: turning it off took `tally bench
/// --validators 4 --sealed orders` from 17,200 to 20,900 entries/s (system time 8.9 s to 3.6 s).
/// Where the kernel refuses, the node runs as before.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        eprintln!("note: transparent huge pages stay on ({error})");
    }
}

fn main() -> ExitCode {
    disable_transparent_huge_pages();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut message = format!("error: {error}");
            for cause in error.chain().skip(1) {
                message.push_str(&format!(": {cause}"));
            }
            eprintln!("{message}");
            if error.downcast_ref::<audit::Damaged>().is_some() {
                ExitCode::from(3)
            } else if error.downcast_ref::<UserError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TALLY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // One JSON object per line (time, level, target, fields) for log collectors; the default
    // is the human-readable text.
    let _ = match std::env::var("TALLY_LOG_FORMAT").as_deref() {
        Ok("json") => builder.json().flatten_event(true).try_init(),
        _ => builder.try_init(),
    };
}

fn run(cli: Cli) -> anyhow::Result<()> {
    init_logs();
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Devnet {
            command:
                DevnetCommand::Init {
                    out,
                    validators,
                    base_port,
                    chain_id,
                    enterprise,
                },
        } => local::devnet_init(&out, validators, base_port, &chain_id, &enterprise),
        Command::Devnet {
            command:
                DevnetCommand::TwoTier {
                    out,
                    departments,
                    base_port,
                    anchor_every,
                    partner_check_seconds,
                    epoch_blocks,
                },
        } => local::two_tier_init(
            &out,
            departments,
            base_port,
            epoch_blocks,
            tally_node::topology::WriteOptions {
                anchor_every_blocks: anchor_every,
                partner_check_seconds,
            },
        ),
        Command::Node { config } => local::run_node(&config),
        Command::Submit(args) => client::submit(args),
        Command::ClosePeriod(args) => close::run(args),
        Command::Contract { command } => contract::run(command),
        Command::Import { command } => import::run(command),
        Command::Export(args) => export::run(args),
        Command::Report { command } => client::report(command),
        Command::Keys { command } => match command {
            KeysCommand::Generate { out } => {
                let key = tally_identity::SecretKey::generate(&mut rand::rngs::OsRng);
                key.write_file(&out)
                    .map_err(|error| user_error(error.to_string()))?;
                println!("{}", key.public_key());
                Ok(())
            }
            KeysCommand::Show { key } => {
                let key = tally_identity::SecretKey::read_file(&key)
                    .map_err(|error| user_error(error.to_string()))?;
                println!("{}", key.public_key());
                Ok(())
            }
        },
        Command::Bench(args) => bench::run(args),
        Command::BenchTrades(args) => bench_trades::run(args),
        Command::BenchImport(args) => bench_import::run(args),
        Command::Verify(args) => audit::verify(args),
        Command::BenchAudit(args) => bench_audit::run(args),
        Command::BenchReports(args) => bench_reports::run(args),
        Command::Proof { command } => audit::proof(command),
        Command::History(args) => audit::history(args),
        Command::Epoch { command } => sealed::epoch(command),
        Command::Read(args) => sealed::read(args),
        Command::Disclosure { command } => sealed::disclosure(command),
        Command::AccessLog(args) => sealed::access_log(args),
        Command::Token(args) => client::token(args),
    }
}
