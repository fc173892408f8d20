//! Talking to a node over HTTP: the one client every command uses ([`connect`], which
//! authenticates with a token minted from the member's key), `tally submit`, `tally report` and
//! `tally token`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use tally_chain::{SignedTx, Transaction, TxBody};
use tally_identity::{SecretKey, API_TOKEN_LIFETIME_MAX_MS};
use tally_node::auth::{mint, IdentityJson, COMMAND_TOKEN_LIFETIME_MS};
use tally_node::wire::{
    EntryJson, ErrorJson, StatusJson, SubmitJson, TrialBalanceJson, TxStatusJson,
};

use crate::output::{
    print_account_ledger, print_ageing, print_balance_sheet, print_departments,
    print_income_statement, print_reconciliation, print_trial_balance, Format,
};
use crate::user_error;
use tally_node::reconcile::IntercompanyLine;

#[derive(Args)]
pub struct SubmitArgs {
    /// The node's API, e.g. http://127.0.0.1:27100
    #[arg(long)]
    node: String,
    /// The member key to sign with.
    #[arg(long)]
    key: PathBuf,
    /// Seconds to wait for the entry to become final (0: do not wait).
    #[arg(long, default_value_t = 30)]
    wait: u64,
    /// The entry, as JSON (see README).
    entry: PathBuf,
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Net balance of every account per currency.
    TrialBalance {
        #[command(flatten)]
        at: ReportAt,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Assets, liabilities and equity with the result, per currency.
    BalanceSheet {
        #[command(flatten)]
        at: ReportAt,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Revenue, expenses and the result, per currency.
    IncomeStatement {
        #[command(flatten)]
        at: ReportAt,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Every posting to one account in commit order, with its running balance (one page).
    Ledger {
        /// The account code, e.g. 1100.
        account: String,
        #[command(flatten)]
        at: ReportAt,
        /// Start after this posting number (the previous page's `next`).
        #[arg(long)]
        after: Option<u64>,
        /// Postings per page (1 to 1000; the node's default is 100).
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Open receivables or payables by partner, in buckets of 0-30, 31-60, 61-90, >90 days.
    Ageing {
        #[arg(long, value_enum, default_value_t = AgeingSideArg::Receivable)]
        side: AgeingSideArg,
        #[command(flatten)]
        at: ReportAt,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// What each department's members posted, per account and currency.
    Departments {
        #[command(flatten)]
        at: ReportAt,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Both parties' automatic bookings per contract, side by side, and any difference.
    Reconcile {
        /// The partner enterprise, e.g. supplier.
        #[arg(long = "with")]
        partner: String,
        /// Our node's API (serving our private chain).
        #[arg(long)]
        node: String,
        /// The partner's node API (serving its private chain).
        #[arg(long)]
        partner_node: String,
        // Our member key, for our node's token (default: the file in TALLY_KEY).
        #[command(flatten)]
        key: KeyArg,
        /// A member key of the partner's private chain (the partner's books serve its members
        /// only; a partner grants one, e.g. an auditor, for reconciliation).
        #[arg(long, value_name = "FILE")]
        partner_key: PathBuf,
        /// Our enterprise's name, as the partner's books name us.
        #[arg(long)]
        enterprise: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Where a report stands: the node, and optionally a date, a past height and a reporting
/// currency (passed to the node as `as_of`, `height`, `currency`).
#[derive(Args, Clone)]
pub struct ReportAt {
    /// The node's API, e.g. http://127.0.0.1:27100
    #[arg(long)]
    node: String,
    #[command(flatten)]
    key: KeyArg,
    /// Count only entries dated on or before this day (YYYY-MM-DD).
    #[arg(long)]
    as_of: Option<String>,
    /// The books as they were after this block.
    #[arg(long)]
    height: Option<u64>,
    /// Convert into this currency at the latest rate recorded on the chain.
    #[arg(long)]
    currency: Option<String>,
}

impl ReportAt {
    /// The URL of a report with these parameters and `extra` ones.
    fn url(&self, path: &str, extra: &[(&str, String)]) -> String {
        let mut parameters: Vec<(&str, String)> = Vec::new();
        if let Some(as_of) = &self.as_of {
            parameters.push(("as_of", as_of.clone()));
        }
        if let Some(height) = self.height {
            parameters.push(("height", height.to_string()));
        }
        if let Some(currency) = &self.currency {
            parameters.push(("currency", currency.clone()));
        }
        parameters.extend(extra.iter().cloned());
        let query: Vec<String> = parameters
            .iter()
            .map(|(name, value)| format!("{name}={}", percent_encode(value)))
            .collect();
        let base = self.node.trim_end_matches('/');
        if query.is_empty() {
            format!("{base}{path}")
        } else {
            format!("{base}{path}?{}", query.join("&"))
        }
    }

    fn get<T: serde::de::DeserializeOwned>(&self, url: String) -> anyhow::Result<T> {
        let key = self.key.load()?;
        let base = self.node.trim_end_matches('/').to_string();
        runtime()?.block_on(async move {
            let client = connect(&base, &key, None).await?;
            get_json(&client, &url).await
        })
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for query values.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AgeingSideArg {
    Receivable,
    Payable,
}

/// An HTTP client without credentials, for the open discovery document.
fn plain_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// The member key of a command that only reads: `--key FILE`, else the file named by the
/// environment variable `TALLY_KEY`.
#[derive(Args, Clone)]
pub struct KeyArg {
    /// The member key that signs this command's API token (default: the file in TALLY_KEY).
    #[arg(long = "key", env = "TALLY_KEY", value_name = "FILE")]
    key: Option<PathBuf>,
}

impl KeyArg {
    /// Reads the key, or says how to give one.
    pub fn load(&self) -> anyhow::Result<SecretKey> {
        let path = self.key.as_ref().ok_or_else(|| {
            user_error(
                "this command talks to a node, which serves members only: give a member key with --key FILE or the environment variable TALLY_KEY",
            )
        })?;
        read_key(path)
    }
}

/// Reads a member key file, a user error if it cannot.
pub(crate) fn read_key(path: &std::path::Path) -> anyhow::Result<SecretKey> {
    SecretKey::read_file(path).map_err(|error| user_error(error.to_string()))
}

/// The chains the node at `base` hosts (`GET /v1/identity`, open to anyone).
pub(crate) async fn identity(base: &str) -> anyhow::Result<IdentityJson> {
    get_json(&plain_client()?, &format!("{base}/v1/identity")).await
}

/// The one way commands talk to a node: reads which chains the node at `base` hosts, mints a
/// token for `chain` (default: the node's home chain) signed by `key`, valid for
/// [`COMMAND_TOKEN_LIFETIME_MS`], and returns a client that sends it with every request.
pub(crate) async fn connect(
    base: &str,
    key: &SecretKey,
    chain: Option<&str>,
) -> anyhow::Result<reqwest::Client> {
    let identity = identity(base).await?;
    let chain = chain.unwrap_or(&identity.home);
    if !identity.chains.iter().any(|hosted| hosted == chain) {
        return Err(user_error(format!(
            "the node at {base} does not host chain '{chain}' (it hosts: {})",
            identity.chains.join(", ")
        )));
    }
    let token = mint(key, chain, COMMAND_TOKEN_LIFETIME_MS)
        .map_err(|error| user_error(format!("cannot make an API token: {error}")))?;
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .context("an API token is hex")?;
    value.set_sensitive(true);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, value);
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .default_headers(headers)
        .build()?)
}

#[derive(Args)]
pub struct TokenArgs {
    /// The member key that signs the token.
    #[arg(long, env = "TALLY_KEY", value_name = "FILE")]
    key: PathBuf,
    /// A node's API: the token is for its home chain (or --chain, if it hosts that).
    #[arg(long, required_unless_present = "chain")]
    node: Option<String>,
    /// The chain the token is for.
    #[arg(long)]
    chain: Option<String>,
    /// Minutes the token is valid (at most 1440, a day).
    #[arg(long, default_value_t = 60)]
    minutes: u64,
}

/// `tally token`: prints a token for `curl -H "Authorization: Bearer $(tally token ...)"` and
/// the dashboard.
pub fn token(args: TokenArgs) -> anyhow::Result<()> {
    let lifetime_ms = args.minutes.saturating_mul(60_000);
    if args.minutes == 0 || lifetime_ms > API_TOKEN_LIFETIME_MAX_MS {
        return Err(user_error(format!(
            "--minutes {} is not between 1 and {} (a day)",
            args.minutes,
            API_TOKEN_LIFETIME_MAX_MS / 60_000
        )));
    }
    let key = read_key(&args.key)?;
    let chain = match (&args.node, &args.chain) {
        (None, Some(chain)) => chain.clone(),
        (Some(node), chain) => {
            let base = node.trim_end_matches('/').to_string();
            let identity = runtime()?.block_on(identity(&base))?;
            match chain {
                Some(chain) if !identity.chains.contains(chain) => {
                    return Err(user_error(format!(
                        "the node at {base} does not host chain '{chain}' (it hosts: {})",
                        identity.chains.join(", ")
                    )))
                }
                Some(chain) => chain.clone(),
                None => identity.home,
            }
        }
        (None, None) => return Err(user_error("give --node URL or --chain ID")),
    };
    let token = mint(&key, &chain, lifetime_ms)
        .map_err(|error| user_error(format!("cannot make an API token: {error}")))?;
    println!("{token}");
    Ok(())
}

/// A runtime for one command's requests.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub(crate) async fn error_of(response: reqwest::Response) -> anyhow::Error {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorJson>(&text) {
        Ok(body) if status.is_client_error() => {
            user_error(format!("{} ({})", body.error.message, body.error.code))
        }
        Ok(body) => anyhow::anyhow!("node error {status}: {}", body.error.message),
        Err(_) => anyhow::anyhow!("node answered {status}: {text}"),
    }
}

pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
) -> anyhow::Result<T> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}; is the node running?"))?;
    if !response.status().is_success() {
        return Err(error_of(response).await);
    }
    Ok(response.json().await?)
}

pub fn submit(args: SubmitArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.entry)
        .map_err(|error| user_error(format!("cannot read {}: {error}", args.entry.display())))?;
    let entry: EntryJson = serde_json::from_str(&text).map_err(|error| {
        user_error(format!(
            "{} is not a valid entry: {error}",
            args.entry.display()
        ))
    })?;
    let draft = entry
        .to_draft()
        .map_err(|error| user_error(format!("{}: {error}", args.entry.display())))?;
    let key = read_key(&args.key)?;
    let base = args.node.trim_end_matches('/').to_string();
    runtime()?.block_on(async move {
        let client = connect(&base, &key, None).await?;
        let status: StatusJson = get_json(&client, &format!("{base}/v1/status")).await?;
        let tx = Transaction::Single(SignedTx::sign(
            &key,
            &status.chain_id,
            TxBody::Post(draft.clone()),
        ));
        let what = format!("entry {}", draft.id);
        let sent = send(&client, &format!("{base}/v1"), &tx, args.wait, &what).await?;
        print_sent(&what, &sent);
        Ok(())
    })
}

/// Says what became of `what`, sent with [`send`].
pub(crate) fn print_sent(what: &str, sent: &Sent) {
    match sent {
        Sent::AlreadyCommitted { height } => {
            println!("{what} was already committed at height {height}; nothing changed")
        }
        Sent::Accepted { hash } => println!("{what} accepted (transaction {hash})"),
        Sent::Committed(status) => {
            println!("{what} committed at height {}", status.height.unwrap_or(0))
        }
    }
}

/// What became of a transaction sent with [`send`].
pub(crate) enum Sent {
    /// The node had committed exactly this transaction before: nothing changed.
    AlreadyCommitted { height: u64 },
    /// Accepted and not waited for.
    Accepted { hash: String },
    /// Committed in a block: its status, with the height.
    Committed(TxStatusJson),
}

/// Posts a signed transaction to the chain API at `api` (`{node}/v1` for the node's home chain,
/// `{node}/v1/chains/{id}` for another) and, unless `wait_s` is 0, waits until it is
/// committed or rejected. `what` names it in messages ("entry order-1"). A refusal or rejection
/// is a user error; not being final in time is a failure.
pub(crate) async fn send(
    client: &reqwest::Client,
    api: &str,
    tx: &Transaction,
    wait_s: u64,
    what: &str,
) -> anyhow::Result<Sent> {
    let response = client
        .post(format!("{api}/transactions"))
        .json(tx)
        .send()
        .await
        .with_context(|| format!("cannot reach {api}; is the node running?"))?;
    if !response.status().is_success() {
        return Err(error_of(response).await);
    }
    let receipt: SubmitJson = response.json().await?;
    if receipt.status == "committed" {
        return Ok(Sent::AlreadyCommitted {
            height: receipt.height.unwrap_or(0),
        });
    }
    if wait_s == 0 {
        return Ok(Sent::Accepted { hash: receipt.hash });
    }
    let deadline = Instant::now() + Duration::from_secs(wait_s);
    loop {
        let status: TxStatusJson =
            get_json(client, &format!("{api}/transactions/{}", receipt.hash)).await?;
        match status.status.as_str() {
            "committed" => return Ok(Sent::Committed(status)),
            "rejected" => {
                return Err(user_error(format!(
                    "{what} rejected: {}",
                    status.reason.unwrap_or_default()
                )))
            }
            _ if Instant::now() > deadline => {
                anyhow::bail!(
                    "{what} not final after {wait_s} s (transaction {}); check later with the API",
                    receipt.hash
                )
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

pub fn report(command: ReportCommand) -> anyhow::Result<()> {
    match command {
        ReportCommand::TrialBalance { at, format } => {
            let lines: Vec<TrialBalanceJson> = at.get(at.url("/v1/reports/trial-balance", &[]))?;
            print_trial_balance(&lines, format)
        }
        ReportCommand::BalanceSheet { at, format } => {
            let sheet = at.get(at.url("/v1/reports/balance-sheet", &[]))?;
            print_balance_sheet(&sheet, format)
        }
        ReportCommand::IncomeStatement { at, format } => {
            let statement = at.get(at.url("/v1/reports/income-statement", &[]))?;
            print_income_statement(&statement, format)
        }
        ReportCommand::Ledger {
            account,
            at,
            after,
            limit,
            format,
        } => {
            let mut extra = Vec::new();
            if let Some(after) = after {
                extra.push(("after", after.to_string()));
            }
            if let Some(limit) = limit {
                extra.push(("limit", limit.to_string()));
            }
            let path = format!("/v1/reports/ledger/{}", percent_encode(&account));
            let ledger = at.get(at.url(&path, &extra))?;
            print_account_ledger(&ledger, format)
        }
        ReportCommand::Ageing { side, at, format } => {
            let side = match side {
                AgeingSideArg::Receivable => "receivable",
                AgeingSideArg::Payable => "payable",
            };
            let report = at.get(at.url("/v1/reports/ageing", &[("side", side.to_string())]))?;
            print_ageing(&report, format)
        }
        ReportCommand::Departments { at, format } => {
            let report = at.get(at.url("/v1/reports/departments", &[]))?;
            print_departments(&report, format)
        }
        ReportCommand::Reconcile {
            partner,
            node,
            partner_node,
            enterprise,
            key,
            partner_key,
            format,
        } => {
            let base = node.trim_end_matches('/').to_string();
            let partner_base = partner_node.trim_end_matches('/').to_string();
            let key = key.load()?;
            let partner_key = read_key(&partner_key)?;
            let runtime = runtime()?;
            let (ours, theirs): (Vec<IntercompanyLine>, Vec<IntercompanyLine>) =
                runtime.block_on(async move {
                    let client = connect(&base, &key, None).await?;
                    let partner_client = connect(&partner_base, &partner_key, None).await?;
                    let ours = get_json(
                        &client,
                        &format!("{base}/v1/reports/intercompany?with={partner}"),
                    )
                    .await?;
                    let theirs = get_json(
                        &partner_client,
                        &format!("{partner_base}/v1/reports/intercompany?with={enterprise}"),
                    )
                    .await?;
                    anyhow::Ok((ours, theirs))
                })?;
            let lines = tally_node::reconcile::reconcile(&ours, &theirs);
            print_reconciliation(&lines, format)?;
            let differences = lines
                .iter()
                .filter(|line| line.difference_minor != 0)
                .count();
            if differences > 0 {
                return Err(user_error(format!(
                    "{differences} of {} contracts do not reconcile",
                    lines.len()
                )));
            }
            Ok(())
        }
    }
}
