//! `tally export hledger|beancount|csv`: a node's books written by the formats crate's
//! writers, the chart from `GET /v1/accounts` and the entries paged through `GET /v1/entries`
//! in commit order.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use tally_formats::journal::{write_beancount, write_csv, write_hledger};
use tally_ledger::{AccountCode, AccountKind, EntryDraft};
use tally_node::api::ENTRIES_PAGE_MAX;
use tally_node::wire::{AccountJson, EntriesPageJson};

use crate::client::{connect, get_json, runtime, KeyArg};
use crate::user_error;

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// An hledger journal (ledger-cli reads it too).
    Hledger,
    /// A beancount file.
    Beancount,
    /// One CSV row per posting.
    Csv,
}

#[derive(Args)]
pub struct ExportArgs {
    /// What to write.
    #[arg(value_enum)]
    format: ExportFormat,
    /// The node's API, e.g. http://127.0.0.1:27100
    #[arg(long)]
    node: String,
    /// The file to write (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    key: KeyArg,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let base = args.node.trim_end_matches('/').to_string();
    let key = args.key.load()?;
    let (chart, entries) = runtime()?.block_on(async {
        let client = connect(&base, &key, None).await?;
        fetch_books(&client, &base).await
    })?;
    let mut out: Box<dyn std::io::Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|error| user_error(format!("cannot write {}: {error}", path.display())))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match args.format {
        ExportFormat::Hledger => write_hledger(&mut out, &chart, &entries),
        ExportFormat::Beancount => write_beancount(&mut out, &chart, &entries),
        ExportFormat::Csv => write_csv(&mut out, &entries),
    }
    .context("exporting the books")?;
    out.flush().context("exporting the books")?;
    if let Some(path) = &args.out {
        eprintln!(
            "wrote {} entries and {} accounts to {}",
            entries.len(),
            chart.len(),
            path.display()
        );
    }
    Ok(())
}

/// The chart and every committed entry of the node at `base`, in commit order.
async fn fetch_books(
    client: &reqwest::Client,
    base: &str,
) -> anyhow::Result<(Vec<(AccountCode, AccountKind)>, Vec<EntryDraft>)> {
    let accounts: Vec<AccountJson> = get_json(client, &format!("{base}/v1/accounts")).await?;
    let chart = accounts
        .iter()
        .map(|account| {
            account
                .code_and_kind()
                .with_context(|| format!("the node listed account '{}'", account.code))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut entries = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let mut url = format!("{base}/v1/entries?limit={ENTRIES_PAGE_MAX}");
        if let Some(after) = after {
            url.push_str(&format!("&after={after}"));
        }
        let page: EntriesPageJson = get_json(client, &url).await?;
        for committed in &page.entries {
            let draft = committed
                .entry
                .to_draft()
                .with_context(|| format!("the node served entry '{}'", committed.entry.id))?;
            entries.push(draft);
        }
        match page.next {
            // A cursor that does not move on would loop for ever.
            Some(next) if after.is_none_or(|after| next > after) => after = Some(next),
            Some(next) => anyhow::bail!("the node's entry listing did not move past {next}"),
            None => break,
        }
    }
    Ok((chart, entries))
}
