//! `tally verify`: the offline full audit of a node's stored chains.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use tally_audit::{verify_file, ChainReport, Progress};
use tally_chain::{Genesis, Store};

/// How deep under `--data` chain stores are looked for (a node keeps `<chain>/ledger.redb`, the
/// demo `<chain>.redb` per node directory).
const SEARCH_DEPTH_MAX: usize = 4;
/// The file name ending of a chain store.
const STORE_SUFFIX: &str = ".redb";

/// Audit found damage: exit code 3, so scripts can tell it from a failure to run (1) or bad input (2).
#[derive(Debug)]
pub struct Damaged(pub String);

impl std::fmt::Display for Damaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Damaged {}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// A node's data directory (or any directory holding chain stores); searched for `*.redb`.
    #[arg(long)]
    data: PathBuf,
    /// Audit only this chain.
    #[arg(long)]
    chain: Option<String>,
    /// The genesis file the chain must have been created from (recommended: otherwise the
    /// genesis stored with the data is trusted).
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// A partner's node API (repeatable): anchors of the chains it serves are checked against
    /// the blocks it shows now.
    #[arg(long = "partner")]
    partners: Vec<String>,
    // With --partner: a member key of the consortium chain, for the partners' nodes (they
    // serve block headers to consortium members). Default: the file in TALLY_KEY.
    #[command(flatten)]
    key: crate::client::KeyArg,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    if !args.data.is_dir() {
        return Err(crate::user_error(format!(
            "{} is not a directory",
            args.data.display()
        )));
    }
    let expected = match &args.genesis {
        Some(path) => {
            Some(Genesis::read(path).map_err(|error| crate::user_error(error.to_string()))?)
        }
        None => None,
    };
    let mut stores = Vec::new();
    find_stores(&args.data, 0, &mut stores)
        .with_context(|| format!("searching {}", args.data.display()))?;
    stores.sort();
    // Select by the chain id stored in each file, so a renamed file is still found.
    let mut selected = Vec::new();
    for path in stores {
        let chain_id = match Store::open_existing(&path) {
            Ok((_, genesis)) => genesis.chain_id,
            // Unreadable stores are audited (and reported) below whatever the filter.
            Err(_) => String::new(),
        };
        let wanted = args
            .chain
            .as_ref()
            .is_none_or(|chain| *chain == chain_id || chain_id.is_empty());
        let matches_genesis = expected
            .as_ref()
            .is_none_or(|genesis| genesis.chain_id == chain_id || chain_id.is_empty());
        if wanted && matches_genesis {
            selected.push(path);
        }
    }
    if selected.is_empty() {
        return Err(crate::user_error(match &args.chain {
            Some(chain) => format!("no store of chain '{chain}' under {}", args.data.display()),
            None => format!(
                "no chain store (*{STORE_SUFFIX}) under {}",
                args.data.display()
            ),
        }));
    }

    let mut reports: Vec<(PathBuf, ChainReport)> = Vec::new();
    for path in &selected {
        let bar = if args.quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:30} [{bar:30}] {pos}/{len} blocks ({per_sec}, eta {eta})",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_message(short(path, &args.data));
        let mut on_progress = |progress: Progress| {
            bar.set_length(progress.total);
            bar.set_position(progress.done);
        };
        let result = verify_file(path, expected.as_ref(), &mut on_progress);
        bar.finish_and_clear();
        match result {
            Ok(report) => reports.push((path.clone(), report)),
            Err(error) => {
                return Err(anyhow::Error::new(Damaged(format!(
                    "{error} (in {})",
                    path.display()
                ))))
            }
        }
    }

    let mut total = Duration::ZERO;
    let (mut blocks, mut entries) = (0u64, 0u64);
    for (path, report) in &reports {
        // A chain with validator-set epochs says how many it passed, each checked with its set.
        let epochs = if report.epochs > 0 {
            format!("  {} validator-set epochs", report.epochs + 1)
        } else {
            String::new()
        };
        println!(
            "ok  {:<24} height {:>7}  {:>7} blocks  {:>9} entries  {:>7} events  {:>7} certificates{epochs}  {:.2}s  ({})",
            report.chain_id,
            report.height,
            report.blocks,
            report.entries,
            report.events,
            report.certificates,
            report.elapsed.as_secs_f64(),
            short(path, &args.data),
        );
        total += report.elapsed;
        blocks += report.blocks;
        entries += report.entries;
    }
    check_partner_anchors(&reports, &args.partners, &args.key)?;
    let seconds = total.as_secs_f64();
    println!(
        "verified {} store(s): {blocks} blocks, {entries} entries in {seconds:.2}s ({:.0} entries/s); no problems found",
        reports.len(),
        if seconds > 0.0 { entries as f64 / seconds } else { 0.0 },
    );
    Ok(())
}

fn short(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

pub(crate) fn find_stores(
    dir: &Path,
    depth: usize,
    found: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    if depth > SEARCH_DEPTH_MAX {
        return Ok(());
    }
    for item in std::fs::read_dir(dir)? {
        let path = item?.path();
        if path.is_dir() {
            find_stores(&path, depth + 1, found)?;
        } else if path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.ends_with(STORE_SUFFIX))
        {
            found.push(path);
        }
    }
    Ok(())
}

/// Where a proof is built from: a running node, or a stopped node's data directory.
#[derive(clap::Args)]
pub struct ProofSource {
    /// A node's API, e.g. http://127.0.0.1:27100 (its home chain, or `--chain`).
    #[arg(long, conflicts_with = "data", required_unless_present = "data")]
    node: Option<String>,
    /// A stopped node's data directory.
    #[arg(long)]
    data: Option<PathBuf>,
    /// The chain, when the node or directory holds several.
    #[arg(long)]
    chain: Option<String>,
    // With --node: the member key that signs the API token (default: the file in TALLY_KEY).
    #[command(flatten)]
    key: crate::client::KeyArg,
}

#[derive(clap::Subcommand)]
pub enum ProofCommand {
    /// Write a self-contained inclusion proof of a committed entry.
    Entry {
        id: String,
        #[command(flatten)]
        source: ProofSource,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a proof that the block at `--to` extends the block at `--from`.
    Consistency {
        #[arg(long)]
        from: u64,
        #[arg(long)]
        to: u64,
        #[command(flatten)]
        source: ProofSource,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a proof of a period close's trial balance (the final sign-off, in a final block).
    Closing {
        /// The last day of the closed period (YYYY-MM-DD).
        #[arg(long)]
        through: String,
        #[command(flatten)]
        source: ProofSource,
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a proof offline against the chain's genesis file alone. Exit code 3 if it fails.
    Check {
        file: PathBuf,
        #[arg(long)]
        genesis: PathBuf,
    },
}

pub fn proof(command: ProofCommand) -> anyhow::Result<()> {
    match command {
        ProofCommand::Entry { id, source, out } => {
            let entry = tally_ledger::EntryId::new(&id)
                .map_err(|error| crate::user_error(error.to_string()))?;
            let bytes = fetch_proof(&source, &format!("proofs/entries/{id}"), |store, _| {
                tally_audit::prove_entry(store, &store.state()?, &entry)
            })?;
            write_proof(&out, &bytes)
        }
        ProofCommand::Consistency {
            from,
            to,
            source,
            out,
        } => {
            let bytes = fetch_proof(
                &source,
                &format!("proofs/consistency?from={from}&to={to}"),
                |store, chain_id| tally_audit::prove_consistency(store, chain_id, from, to),
            )?;
            write_proof(&out, &bytes)
        }
        ProofCommand::Closing {
            through,
            source,
            out,
        } => {
            let date = tally_ledger::Date::parse(&through)
                .map_err(|error| crate::user_error(format!("--through: {error}")))?;
            let bytes = fetch_proof(&source, &format!("proofs/closings/{date}"), |store, _| {
                tally_audit::prove_closing(store, &store.state()?, date)
            })?;
            write_proof(&out, &bytes)
        }
        ProofCommand::Check { file, genesis } => check_proof(&file, &genesis),
    }
}

fn write_proof(out: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}

fn fetch_proof(
    source: &ProofSource,
    path: &str,
    build: impl FnOnce(&Store, &str) -> Result<tally_audit::Proof, tally_audit::ProveError>,
) -> anyhow::Result<Vec<u8>> {
    if let Some(node) = &source.node {
        let base = node.trim_end_matches('/');
        let url = match &source.chain {
            Some(chain) => format!("{base}/v1/chains/{chain}/{path}"),
            None => format!("{base}/v1/{path}"),
        };
        let key = source.key.load()?;
        return crate::client::runtime()?.block_on(async {
            let response = crate::client::connect(base, &key, source.chain.as_deref())
                .await?
                .get(&url)
                .send()
                .await
                .with_context(|| format!("cannot reach {url}; is the node running?"))?;
            if !response.status().is_success() {
                return Err(crate::client::error_of(response).await);
            }
            Ok(response.bytes().await?.to_vec())
        });
    }
    let data = source
        .data
        .as_ref()
        .expect("clap requires --node or --data");
    let mut stores = Vec::new();
    find_stores(data, 0, &mut stores).with_context(|| format!("searching {}", data.display()))?;
    stores.sort();
    for path in stores {
        let Ok((store, genesis)) = Store::open_existing(&path) else {
            continue;
        };
        if source
            .chain
            .as_ref()
            .is_some_and(|chain| *chain != genesis.chain_id)
        {
            continue;
        }
        let proof = build(&store, &genesis.chain_id)
            .map_err(|error| crate::user_error(error.to_string()))?;
        return Ok(proof.to_bytes());
    }
    Err(crate::user_error(format!(
        "no readable chain store{} under {}",
        source
            .chain
            .as_ref()
            .map(|chain| format!(" of chain '{chain}'"))
            .unwrap_or_default(),
        data.display()
    )))
}

fn check_proof(file: &Path, genesis: &Path) -> anyhow::Result<()> {
    let genesis = Genesis::read(genesis).map_err(|error| crate::user_error(error.to_string()))?;
    let bytes = std::fs::read(file)
        .map_err(|error| crate::user_error(format!("cannot read {}: {error}", file.display())))?;
    let refused = |error: tally_audit::CheckError| {
        anyhow::Error::new(Damaged(format!(
            "proof {} does not check: {error}",
            file.display()
        )))
    };
    let proof = tally_audit::Proof::from_bytes(&bytes).map_err(refused)?;
    match proof.check(&genesis).map_err(refused)? {
        tally_audit::Proven::Entry {
            chain_id,
            entry,
            member,
            height,
            time_ms,
            block,
            certified_height,
            signers,
        } => {
            println!(
                "proof checks: entry '{}' is in chain '{chain_id}'",
                entry.id
            );
            print_inclusion(height, &block, signers, certified_height, time_ms, &member);
            println!("  date         {}", entry.date);
            println!("  description  {}", entry.description);
            println!(
                "{}",
                serde_json::to_string_pretty(&tally_node::wire::EntryJson::from_draft(&entry))?
            );
        }
        tally_audit::Proven::Closing {
            chain_id,
            sign_off,
            member,
            height,
            time_ms,
            block,
            certified_height,
            signers,
        } => {
            println!(
                "proof checks: chain '{chain_id}' accepted this trial balance as of {} in a period close sign-off",
                sign_off.through
            );
            print_inclusion(height, &block, signers, certified_height, time_ms, &member);
            let lines: Vec<tally_node::wire::TrialBalanceJson> = sign_off
                .trial_balance
                .iter()
                .map(tally_node::wire::TrialBalanceJson::from_line)
                .collect();
            crate::output::print_trial_balance_table(&lines);
        }
        tally_audit::Proven::Consistency {
            chain_id,
            from,
            from_digest,
            to,
            to_digest,
            signers,
        } => {
            println!("proof checks: in chain '{chain_id}', block {to} extends block {from}");
            println!("  block {from:<8} {}", hex::encode(from_digest));
            println!("  block {to:<8} {}", hex::encode(to_digest));
            println!("  final        by {signers} validator signatures on block {to}");
        }
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct HistoryArgs {
    /// The entry id.
    id: String,
    /// The node's API, e.g. http://127.0.0.1:27100
    #[arg(long)]
    node: String,
    /// The chain, when the node hosts several (default: its home chain).
    #[arg(long)]
    chain: Option<String>,
    #[command(flatten)]
    key: crate::client::KeyArg,
    /// Print the JSON the API returns.
    #[arg(long)]
    json: bool,
}

/// `tally history ENTRY_ID`: who changed what, when.
pub fn history(args: HistoryArgs) -> anyhow::Result<()> {
    tally_ledger::EntryId::new(&args.id).map_err(|error| crate::user_error(error.to_string()))?;
    let base = args.node.trim_end_matches('/');
    let url = match &args.chain {
        Some(chain) => format!("{base}/v1/chains/{chain}/entries/{}/history", args.id),
        None => format!("{base}/v1/entries/{}/history", args.id),
    };
    let key = args.key.load()?;
    let history: tally_node::history::EntryHistoryJson =
        crate::client::runtime()?.block_on(async {
            let client = crate::client::connect(base, &key, args.chain.as_deref()).await?;
            crate::client::get_json(&client, &url).await
        })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&history)?);
        return Ok(());
    }
    let when = |height: u64, time_ms: u64| {
        format!(
            "block {height}, {} (block time {time_ms} ms)",
            tally_ledger::Date::from_unix_ms(time_ms)
        )
    };
    let who = |author: &tally_node::history::AuthorJson| {
        format!(
            "{} ({}, {}) key {}",
            author.name, author.role, author.department, author.key
        )
    };
    let entry = &history.entry;
    println!(
        "entry {} dated {}: {}",
        entry.entry.id, entry.entry.date, entry.entry.description
    );
    println!("  signed by  {}", who(&history.author));
    println!("  final in   {}", when(entry.height, entry.time_ms));
    for posting in &entry.entry.postings {
        let (side, amount) = match (&posting.debit, &posting.credit) {
            (Some(amount), _) => ("debit", amount.as_str()),
            (None, Some(amount)) => ("credit", amount.as_str()),
            (None, None) => ("", ""),
        };
        println!(
            "  {side:<6} {:<8} {amount:>14} {}",
            posting.account, posting.currency
        );
    }
    if history.changes.is_empty() {
        println!("no later reversal or adjustment");
    }
    for (index, change) in history.changes.iter().enumerate() {
        println!(
            "{}. {} of {} by entry {}",
            index + 1,
            change.kind,
            change.changes,
            change.entry.entry.id
        );
        println!("     signed by  {}", who(&change.author));
        println!(
            "     final in   {}",
            when(change.entry.height, change.entry.time_ms)
        );
        println!("     reason     {}", change.reason);
    }
    if history.truncated {
        println!(
            "(more than {} changes; the list was cut)",
            tally_node::history::HISTORY_CHANGES_MAX
        );
    }
    Ok(())
}

/// Anchor mismatches named in `tally verify`'s message; the count says how many more there are.
const ANCHOR_MISMATCHES_SHOWN: usize = 5;

/// Compares every anchor on a verified consortium chain with the anchored private chain: a store
/// verified here, or a block a partner's node serves now. Any difference is damage (exit 3).
fn check_partner_anchors(
    reports: &[(PathBuf, ChainReport)],
    partners: &[String],
    key: &crate::client::KeyArg,
) -> anyhow::Result<()> {
    let mut local: std::collections::HashMap<String, Store> = std::collections::HashMap::new();
    let mut consortium = Vec::new();
    for (path, report) in reports {
        if local.contains_key(&report.chain_id) {
            continue;
        }
        let (store, genesis) = Store::open_existing(path)?;
        if genesis.consortium.is_some() {
            consortium.push(store.state()?);
        }
        local.insert(report.chain_id.clone(), store);
    }
    if consortium.is_empty() {
        if !partners.is_empty() {
            return Err(crate::user_error(
                "--partner needs a consortium chain store under --data (its anchors are checked)",
            ));
        }
        return Ok(());
    }
    let runtime = crate::client::runtime()?;
    // Which partner serves which chain, and a client with a consortium token for it.
    let mut served: std::collections::HashMap<String, (String, reqwest::Client)> =
        std::collections::HashMap::new();
    if !partners.is_empty() {
        let key = key.load()?;
        for partner in partners {
            let base = partner.trim_end_matches('/').to_string();
            let identity = runtime.block_on(crate::client::identity(&base))?;
            let Some(chain) = consortium
                .iter()
                .map(|state| &state.chain_id)
                .find(|chain| identity.chains.contains(chain))
            else {
                return Err(crate::user_error(format!(
                    "partner {base} does not host the consortium chain (it hosts: {})",
                    identity.chains.join(", ")
                )));
            };
            let client = runtime.block_on(crate::client::connect(&base, &key, Some(chain)))?;
            for chain_id in identity.chains {
                served
                    .entry(chain_id)
                    .or_insert_with(|| (base.clone(), client.clone()));
            }
        }
    }
    let mut lookup = |chain_id: &str, height: u64| -> Result<Option<Option<[u8; 32]>>, String> {
        if let Some(store) = local.get(chain_id) {
            let block = store.block(height).map_err(|error| error.to_string())?;
            return Ok(Some(
                block.map(|block| tally_chain::header_digest(&block.header).0),
            ));
        }
        let Some((base, client)) = served.get(chain_id) else {
            return Ok(None);
        };
        // The client carries the consortium token: no bearer to add.
        runtime
            .block_on(tally_node::partner_watch::fetch_digest(
                client, None, base, chain_id, height,
            ))
            .map(Some)
            .map_err(|error| error.to_string())
    };
    for state in &consortium {
        let report = tally_audit::check_anchors(state, &mut lookup)
            .map_err(|error| anyhow::anyhow!(error))?;
        println!(
            "anchors on '{}': {} checked against the anchored chains, {} mismatched{}",
            state.chain_id,
            report.checked,
            report.mismatches.len(),
            if report.unavailable.is_empty() {
                String::new()
            } else {
                format!(
                    "; not checked (chain not here, no --partner serving it): {}",
                    report
                        .unavailable
                        .iter()
                        .map(|(chain, count)| format!("{chain} ({count})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
        if !report.mismatches.is_empty() {
            let mut lines: Vec<String> = report
                .mismatches
                .iter()
                .take(ANCHOR_MISMATCHES_SHOWN)
                .map(|m| m.to_string())
                .collect();
            let more = report
                .mismatches
                .len()
                .saturating_sub(ANCHOR_MISMATCHES_SHOWN);
            if more > 0 {
                lines.push(format!("and {more} more"));
            }
            return Err(anyhow::Error::new(Damaged(format!(
                "a partner's private chain no longer matches its anchor: {}",
                lines.join("; ")
            ))));
        }
    }
    Ok(())
}

/// Where and by whom a proven transaction was included, as `tally proof check` prints it.
fn print_inclusion(
    height: u64,
    block: &tally_chain::BlockDigest,
    signers: usize,
    certified_height: u64,
    time_ms: u64,
    member: &tally_identity::CertifiedMember,
) {
    println!("  block        {height} ({})", hex::encode(block));
    println!("  final        by {signers} validator signatures on block {certified_height}");
    println!(
        "  block time   {time_ms} ms since the Unix epoch ({})",
        tally_ledger::Date::from_unix_ms(time_ms)
    );
    println!(
        "  signed by    {} ({}, {}), key {}",
        member.certificate.name,
        member.certificate.role,
        member.certificate.department,
        member.member()
    );
}
