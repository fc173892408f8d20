//! `tally import journal`: a ledger / hledger or beancount journal read with the formats
//! crate, its accounts opened and its entries submitted as signed batches.
//!
//! The work is split so that the benchmark runs the same code without HTTP: [`read_file`]
//! reads and reports problems, [`import`] opens the missing accounts and submits the entries
//! through a [`Target`], which is a node's HTTP API ([`HttpTarget`]) or a chain in this
//! process (`bench_import.rs`).
//!
//! A re-import books nothing twice: entry ids are content hashes, a batch whose entries were
//! all committed before is answered "already committed", and a batch refused for a duplicate
//! id is sent again without the ids the chain already holds.

use std::collections::{HashSet, VecDeque};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use futures::StreamExt as _;
use indicatif::{ProgressBar, ProgressStyle};
use tally_chain::{SignedBatch, SignedTx, Transaction, TxBody};
use tally_formats::journal::{read_journal, Journal, JournalAccount, JOURNAL_BYTES_MAX};
use tally_identity::{Digest, SecretKey};
use tally_ledger::{Account, AccountCode, EntryDraft, EntryId, Role, RoleSet};
use tally_node::wire::{AccountJson, ErrorJson, StatusJson, SubmitJson, TxStatusJson};

use crate::client::{connect, get_json, runtime};
use crate::user_error;

/// Entries per signed batch when `--batch` is not given: large enough that the batch
/// signature and the HTTP round trip are paid rarely, small enough that a block carries
/// several batches.
pub const IMPORT_BATCH_DEFAULT: usize = 1_000;

/// Entries submitted and not yet final at any time, in whole batches (at least one). One
/// batch at a time would leave the chain idle while the client waits for each block; this
/// many keep blocks full (a block is final in about a second under load) while a refusal
/// still stops the import after bounded work, well inside the mempool's bound.
pub const ENTRIES_IN_FLIGHT_MAX: usize = 65_536;

/// Times one batch is sent again after a refusal for a duplicate id, each time without the
/// ids found committed. More than one only happens when another import of the same entries
/// runs at the same time.
const DUPLICATE_RETRIES_MAX: usize = 4;

/// Entries looked up at once when finding which ids of a refused batch the chain holds.
const LOOKUPS_IN_FLIGHT_MAX: usize = 16;

/// How long to wait before offering a batch again to a node whose mempool is full.
const BUSY_PAUSE: Duration = Duration::from_millis(100);

/// Seconds to wait for each batch to become final when `--wait` is not given.
pub const WAIT_DEFAULT_S: u64 = 60;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// A ledger-cli / hledger journal, or a beancount file (`.beancount`, `.bean`).
    Journal(ImportJournalArgs),
    /// A Shopify order export (CSV): a sale entry per order and a refund entry where money was
    /// refunded, the customer's data sealed under customer-pii.
    Shopify(crate::import_shopify::ShopifyArgs),
}

#[derive(Args)]
pub struct ImportJournalArgs {
    /// The journal file.
    file: PathBuf,
    /// The node's API, e.g. http://127.0.0.1:27100
    #[arg(long)]
    node: String,
    /// The member key to sign with (its role must open accounts and post to them: finance).
    #[arg(long)]
    key: PathBuf,
    /// Entries per signed batch.
    #[arg(long, default_value_t = IMPORT_BATCH_DEFAULT)]
    batch: usize,
    /// Import nothing if any line of the file has a problem (default: skip the transactions
    /// with problems and import the rest).
    #[arg(long)]
    strict: bool,
    /// Seconds to wait for each batch to become final.
    #[arg(long, default_value_t = WAIT_DEFAULT_S)]
    wait: u64,
}

/// A journal read from a file, with the time reading took.
pub(crate) struct ReadJournal {
    pub journal: Journal,
    pub seconds: f64,
}

/// Reads `path` (at most [`JOURNAL_BYTES_MAX`] bytes) with the reader its extension names, and
/// prints every problem as `FILE:LINE: message` on stderr.
pub(crate) fn read_file(path: &Path) -> anyhow::Result<ReadJournal> {
    let started = Instant::now();
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|error| user_error(format!("cannot read {shown}: {error}")))?;
    let mut bytes = Vec::new();
    // One byte past the bound tells a file at the bound from a larger one without trusting
    // the size the file system reports.
    let bound = u64::try_from(JOURNAL_BYTES_MAX)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    file.take(bound)
        .read_to_end(&mut bytes)
        .map_err(|error| user_error(format!("cannot read {shown}: {error}")))?;
    if bytes.len() > JOURNAL_BYTES_MAX {
        return Err(user_error(format!(
            "{shown} is larger than {JOURNAL_BYTES_MAX} bytes, the most a journal may have"
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|error| user_error(format!("{shown} is not UTF-8 text: {error}")))?;
    let journal = read_journal(&path.to_string_lossy(), &text);
    for problem in &journal.problems {
        if problem.line == 0 {
            eprintln!("{shown}: {}", problem.message);
        } else {
            eprintln!("{shown}:{}: {}", problem.line, problem.message);
        }
    }
    Ok(ReadJournal {
        journal,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What an import did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ImportSummary {
    /// Accounts opened.
    pub accounts_opened: usize,
    /// Entries committed by this import.
    pub imported: u64,
    /// Entries the chain held already.
    pub present: u64,
}

/// What a node said to a submitted transaction.
pub(crate) enum Submitted {
    /// Admitted to the mempool.
    Accepted,
    /// Exactly this transaction was committed before.
    AlreadyCommitted,
    /// Refused because an entry id is committed already.
    Duplicate,
    /// The mempool is full or holds one of its ids: offer it again shortly.
    Busy,
    /// Refused for another reason, as the node put it.
    Refused(String),
}

/// What became of an admitted transaction.
pub(crate) enum Finality {
    /// Not in a block yet.
    Pending,
    /// Committed.
    Committed,
    /// Refused when its block was executed.
    Rejected(String),
}

/// Where an import sends its transactions: a node's API, or a chain in this process.
pub(crate) trait Target {
    /// The chain's id, which signatures cover.
    fn chain_id(&self) -> &str;
    /// How long to wait between two looks at a transaction's outcome.
    fn poll_interval(&self) -> Duration;
    /// The codes of the chart's accounts, open and closed.
    async fn account_codes(&self) -> anyhow::Result<HashSet<AccountCode>>;
    /// Offers a signed transaction.
    async fn submit(&self, tx: &Transaction) -> anyhow::Result<Submitted>;
    /// What became of a transaction offered before.
    async fn finality(&self, hash: &Digest) -> anyhow::Result<Finality>;
    /// Which of `ids` are committed, in the same order.
    async fn committed(&self, ids: &[EntryId]) -> anyhow::Result<Vec<bool>>;
}

/// Opens the accounts of `journal` that the chart lacks, then submits its entries in signed
/// batches of `batch`, each waited for at most `wait`.
pub(crate) async fn import(
    target: &impl Target,
    key: &SecretKey,
    journal: Journal,
    batch: usize,
    wait: Duration,
    progress: &ProgressBar,
) -> anyhow::Result<ImportSummary> {
    let accounts_opened = open_accounts(target, key, &journal.accounts, wait).await?;
    // Moved, not cloned: a large journal's entries are most of the memory an import uses.
    let entries: Vec<EntryDraft> = journal
        .transactions
        .into_iter()
        .map(|transaction| transaction.entry)
        .collect();
    let mut batches = Vec::new();
    let mut rest = entries.into_iter();
    loop {
        let chunk: Vec<EntryDraft> = rest.by_ref().take(batch.max(1)).collect();
        if chunk.is_empty() {
            break;
        }
        batches.push(chunk);
    }
    let mut summary = submit_batches(target, key, batches, wait, progress).await?;
    summary.accounts_opened = accounts_opened;
    Ok(summary)
}

/// The roles that may post to an account an import opens: the two that post everywhere in
/// the default chart. An empty set would let nobody post (see `Account::allows`).
fn imported_posting_roles() -> RoleSet {
    RoleSet::of(&[Role::Finance, Role::Bookkeeper])
}

/// Opens, one transaction each, the accounts a journal declares or uses that the chart lacks,
/// and waits until all are committed. Returns how many were opened.
async fn open_accounts(
    target: &impl Target,
    key: &SecretKey,
    accounts: &[JournalAccount],
    wait: Duration,
) -> anyhow::Result<usize> {
    let known = target.account_codes().await?;
    let mut pending = Vec::new();
    for account in accounts
        .iter()
        .filter(|account| !known.contains(&account.code))
    {
        let opened = Account::new(
            account.code.clone(),
            account.code.as_str(),
            account.kind,
            imported_posting_roles(),
        );
        let tx = Transaction::Single(SignedTx::sign(
            key,
            target.chain_id(),
            TxBody::OpenAccount(opened),
        ));
        let what = format!("opening account '{}'", account.code);
        loop {
            match target.submit(&tx).await? {
                Submitted::Accepted => {
                    pending.push((tx.hash(), what));
                    break;
                }
                Submitted::AlreadyCommitted => break,
                Submitted::Busy => tokio::time::sleep(BUSY_PAUSE).await,
                Submitted::Duplicate => return Err(user_error(format!("{what}: duplicate"))),
                Submitted::Refused(reason) => {
                    return Err(user_error(format!("{what} was refused: {reason}")))
                }
            }
        }
    }
    let opened = pending.len();
    for (hash, what) in pending {
        if let Some(reason) = wait_final(target, &hash, wait, &what).await? {
            return Err(user_error(format!("{what} was rejected: {reason}")));
        }
    }
    Ok(opened)
}

/// Waits until `hash` is final: `None` when committed, the reason when rejected; an error
/// after `wait`.
async fn wait_final(
    target: &impl Target,
    hash: &Digest,
    wait: Duration,
    what: &str,
) -> anyhow::Result<Option<String>> {
    let deadline = Instant::now() + wait;
    loop {
        match target.finality(hash).await? {
            Finality::Committed => return Ok(None),
            Finality::Rejected(reason) => return Ok(Some(reason)),
            Finality::Pending if Instant::now() > deadline => anyhow::bail!(
                "{what} not final after {} s (transaction {}); run the import again to \
                 continue, nothing is booked twice",
                wait.as_secs(),
                hex::encode(hash)
            ),
            Finality::Pending => tokio::time::sleep(target.poll_interval()).await,
        }
    }
}

/// A batch admitted and not yet final.
struct InFlight {
    hash: Digest,
    entries: Vec<EntryDraft>,
}

/// Submits `batches` as signed batches, at most [`ENTRIES_IN_FLIGHT_MAX`] entries waiting to be
/// final at a time, and waits for each batch in order. Entries the chain holds already are
/// left out and counted as present, so a re-import books nothing twice.
pub(crate) async fn submit_batches(
    target: &impl Target,
    key: &SecretKey,
    batches: Vec<Vec<EntryDraft>>,
    wait: Duration,
    progress: &ProgressBar,
) -> anyhow::Result<ImportSummary> {
    let mut summary = ImportSummary::default();
    let largest = batches.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let mut chunks: VecDeque<Vec<EntryDraft>> = batches.into();
    let batches_in_flight_max = (ENTRIES_IN_FLIGHT_MAX / largest).max(1);
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    while !chunks.is_empty() || !in_flight.is_empty() {
        while in_flight.len() < batches_in_flight_max {
            let Some(chunk) = chunks.pop_front() else {
                break;
            };
            match offer(target, key, chunk, &mut summary, progress).await? {
                Offer::Admitted(flight) => in_flight.push_back(flight),
                Offer::Done => {}
                Offer::Busy(chunk) => {
                    chunks.push_front(chunk);
                    if in_flight.is_empty() {
                        tokio::time::sleep(BUSY_PAUSE).await;
                    }
                    break;
                }
            }
        }
        let Some(flight) = in_flight.pop_front() else {
            continue;
        };
        let count = flight.entries.len() as u64;
        let what = format!("batch of {count} entries");
        match wait_final(target, &flight.hash, wait, &what).await? {
            None => {
                summary.imported += count;
                progress.inc(count);
            }
            Some(reason) => {
                // A duplicate committed between the check at submission and the block (a
                // concurrent import): send the rest again. Any other reason stops the import.
                let (fresh, present) = without_committed(target, flight.entries).await?;
                if present == 0 {
                    return Err(user_error(format!("{what} was rejected: {reason}")));
                }
                summary.present += present;
                progress.inc(present);
                if !fresh.is_empty() {
                    chunks.push_front(fresh);
                }
            }
        }
    }
    Ok(summary)
}

/// What offering one batch came to.
enum Offer {
    /// Admitted; wait for it.
    Admitted(InFlight),
    /// Nothing left to wait for: every entry was committed before.
    Done,
    /// The node cannot take it now.
    Busy(Vec<EntryDraft>),
}

/// Signs and offers `entries` as one batch; on a refusal for a duplicate id, leaves out the
/// ids the chain holds and offers the rest.
async fn offer(
    target: &impl Target,
    key: &SecretKey,
    mut entries: Vec<EntryDraft>,
    summary: &mut ImportSummary,
    progress: &ProgressBar,
) -> anyhow::Result<Offer> {
    for _ in 0..DUPLICATE_RETRIES_MAX {
        if entries.is_empty() {
            return Ok(Offer::Done);
        }
        let count = entries.len() as u64;
        let tx = Transaction::Batch(SignedBatch::sign(key, target.chain_id(), entries));
        let hash = tx.hash();
        match target.submit(&tx).await? {
            Submitted::Accepted => {
                return Ok(Offer::Admitted(InFlight {
                    hash,
                    entries: batch_entries(tx),
                }));
            }
            Submitted::AlreadyCommitted => {
                summary.present += count;
                progress.inc(count);
                return Ok(Offer::Done);
            }
            Submitted::Busy => {
                return Ok(Offer::Busy(batch_entries(tx)));
            }
            Submitted::Duplicate => {
                let (fresh, present) = without_committed(target, batch_entries(tx)).await?;
                summary.present += present;
                progress.inc(present);
                entries = fresh;
            }
            Submitted::Refused(reason) => {
                return Err(user_error(format!(
                    "batch of {count} entries was refused: {reason}"
                )))
            }
        }
    }
    Err(user_error(format!(
        "a batch was refused for duplicate ids {DUPLICATE_RETRIES_MAX} times; is another import of the same journal running?"
    )))
}

/// The entries of a batch (none of a single transaction), taken back after it was offered.
fn batch_entries(tx: Transaction) -> Vec<EntryDraft> {
    match tx {
        Transaction::Batch(batch) => std::sync::Arc::unwrap_or_clone(batch.entries),
        Transaction::Single(_) => Vec::new(),
    }
}

/// The entries whose ids the chain does not hold, and how many it does.
async fn without_committed(
    target: &impl Target,
    entries: Vec<EntryDraft>,
) -> anyhow::Result<(Vec<EntryDraft>, u64)> {
    let ids: Vec<EntryId> = entries.iter().map(|entry| entry.id.clone()).collect();
    let committed = target.committed(&ids).await?;
    let mut present = 0;
    let fresh = entries
        .into_iter()
        .zip(committed)
        .filter_map(|(entry, committed)| {
            if committed {
                present += 1;
                None
            } else {
                Some(entry)
            }
        })
        .collect();
    Ok((fresh, present))
}

/// A progress bar of entries on stderr (hidden when stderr is not a terminal).
pub(crate) fn entry_progress(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("[{bar:30}] {pos}/{len} entries ({per_sec}, eta {eta})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar
}

/// The summary line of an import.
pub(crate) fn summary_line(summary: &ImportSummary, problems: usize, seconds: f64) -> String {
    format!(
        "imported {} transactions, skipped {} already present, {} problems, {} accounts opened, {seconds:.2} s",
        summary.imported, summary.present, problems, summary.accounts_opened
    )
}

/// `tally import journal`.
pub fn run(command: ImportCommand) -> anyhow::Result<()> {
    let args = match command {
        ImportCommand::Journal(args) => args,
        ImportCommand::Shopify(args) => return crate::import_shopify::run(args),
    };
    if args.batch == 0 || args.batch > tally_chain::BATCH_ENTRIES_MAX {
        return Err(user_error(format!(
            "--batch must be between 1 and {}",
            tally_chain::BATCH_ENTRIES_MAX
        )));
    }
    let started = Instant::now();
    let read = read_file(&args.file)?;
    let problems = read.journal.problems.len();
    if args.strict && problems > 0 {
        return Err(user_error(format!(
            "{} has {problems} problem(s); nothing was imported (--strict)",
            args.file.display()
        )));
    }
    let key = SecretKey::read_file(&args.key).map_err(|error| user_error(error.to_string()))?;
    let base = args.node.trim_end_matches('/').to_string();
    let wait = Duration::from_secs(args.wait);
    let summary = runtime()?.block_on(async {
        let target = HttpTarget::connect(&base, &key).await?;
        let progress = entry_progress(read.journal.transactions.len() as u64);
        let summary = import(&target, &key, read.journal, args.batch, wait, &progress).await;
        progress.finish_and_clear();
        summary
    })?;
    println!(
        "{}",
        summary_line(&summary, problems, started.elapsed().as_secs_f64())
    );
    Ok(())
}

/// A node's HTTP API as an import target.
pub(crate) struct HttpTarget {
    client: reqwest::Client,
    base: String,
    chain_id: String,
}

/// How often the import asks a node whether a batch is final.
const HTTP_POLL_INTERVAL: Duration = Duration::from_millis(20);

impl HttpTarget {
    /// Connects to the node at `base` as the member `key` and learns its chain id.
    pub async fn connect(base: &str, key: &SecretKey) -> anyhow::Result<HttpTarget> {
        let client = connect(base, key, None).await?;
        let status: StatusJson = get_json(&client, &format!("{base}/v1/status")).await?;
        Ok(HttpTarget {
            client,
            base: base.to_string(),
            chain_id: status.chain_id,
        })
    }

    /// The authenticated client, for other requests to the same node.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The URL of `/v1/entries/{id}`, the id escaped as a path segment.
    fn entry_url(&self, id: &EntryId) -> anyhow::Result<reqwest::Url> {
        let mut url = reqwest::Url::parse(&self.base)
            .with_context(|| format!("'{}' is not a URL", self.base))?;
        url.path_segments_mut()
            .map_err(|()| user_error(format!("'{}' cannot be a base URL", self.base)))?
            .pop_if_empty()
            .extend(["v1", "entries", id.as_str()]);
        Ok(url)
    }
}

impl Target for HttpTarget {
    fn chain_id(&self) -> &str {
        &self.chain_id
    }

    fn poll_interval(&self) -> Duration {
        HTTP_POLL_INTERVAL
    }

    async fn account_codes(&self) -> anyhow::Result<HashSet<AccountCode>> {
        let accounts: Vec<AccountJson> =
            get_json(&self.client, &format!("{}/v1/accounts", self.base)).await?;
        accounts
            .iter()
            .map(|account| {
                AccountCode::new(&account.code)
                    .with_context(|| format!("the node listed account '{}'", account.code))
            })
            .collect()
    }

    async fn submit(&self, tx: &Transaction) -> anyhow::Result<Submitted> {
        let base = &self.base;
        let response = self
            .client
            .post(format!("{base}/v1/transactions"))
            .json(tx)
            .send()
            .await
            .with_context(|| format!("cannot reach {base}; is the node running?"))?;
        let status = response.status();
        if status.is_success() {
            let receipt: SubmitJson = response.json().await?;
            return Ok(if receipt.status == "committed" {
                Submitted::AlreadyCommitted
            } else {
                Submitted::Accepted
            });
        }
        let text = response.text().await.unwrap_or_default();
        let Ok(body) = serde_json::from_str::<ErrorJson>(&text) else {
            anyhow::bail!("node answered {status}: {text}");
        };
        Ok(match body.error.code.as_str() {
            "duplicate_id" => Submitted::Duplicate,
            "mempool_full" | "already_pending" => Submitted::Busy,
            code if status.is_client_error() => {
                Submitted::Refused(format!("{} ({code})", body.error.message))
            }
            _ => anyhow::bail!("node error {status}: {}", body.error.message),
        })
    }

    async fn finality(&self, hash: &Digest) -> anyhow::Result<Finality> {
        let url = format!("{}/v1/transactions/{}", self.base, hex::encode(hash));
        let status: TxStatusJson = get_json(&self.client, &url).await?;
        Ok(match status.status.as_str() {
            "committed" => Finality::Committed,
            "rejected" => Finality::Rejected(status.reason.unwrap_or_default()),
            _ => Finality::Pending,
        })
    }

    async fn committed(&self, ids: &[EntryId]) -> anyhow::Result<Vec<bool>> {
        let urls = ids
            .iter()
            .map(|id| self.entry_url(id))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let lookups = urls.into_iter().map(|url| {
            let client = self.client.clone();
            async move {
                let response = client
                    .get(url.clone())
                    .send()
                    .await
                    .with_context(|| format!("cannot reach {url}; is the node running?"))?;
                match response.status().as_u16() {
                    200 => Ok(true),
                    404 => Ok(false),
                    _ => Err(crate::client::error_of(response).await),
                }
            }
        });
        futures::stream::iter(lookups)
            .buffered(LOOKUPS_IN_FLIGHT_MAX)
            .collect::<Vec<anyhow::Result<bool>>>()
            .await
            .into_iter()
            .collect()
    }
}
