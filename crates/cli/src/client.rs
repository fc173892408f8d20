//! Talking to a node over HTTP: `tally submit` and `tally report`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use tally_chain::{SignedTx, Transaction, TxBody};
use tally_identity::SecretKey;
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
        runtime()?.block_on(async move {
            let client = client()?;
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

pub(crate) fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?)
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
    let key = SecretKey::read_file(&args.key).map_err(|error| user_error(error.to_string()))?;
    let base = args.node.trim_end_matches('/').to_string();
    runtime()?.block_on(async move {
        let client = client()?;
        let status: StatusJson = get_json(&client, &format!("{base}/v1/status")).await?;
        let tx = Transaction::Single(SignedTx::sign(
            &key,
            &status.chain_id,
            TxBody::Post(draft.clone()),
        ));
        let what = format!("entry {}", draft.id);
        match send(&client, &base, &tx, args.wait, &what).await? {
            Sent::AlreadyCommitted { height } => {
                println!("{what} was already committed at height {height}; nothing changed")
            }
            Sent::Accepted { hash } => println!("{what} accepted (transaction {hash})"),
            Sent::Committed(status) => {
                println!("{what} committed at height {}", status.height.unwrap_or(0))
            }
        }
        Ok(())
    })
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

/// Posts a signed transaction to the node at `base` and, unless `wait_s` is 0, waits until it is
/// committed or rejected. `what` names it in messages ("entry order-1"). A refusal or rejection
/// is a user error; not being final in time is a failure.
pub(crate) async fn send(
    client: &reqwest::Client,
    base: &str,
    tx: &Transaction,
    wait_s: u64,
    what: &str,
) -> anyhow::Result<Sent> {
    let response = client
        .post(format!("{base}/v1/transactions"))
        .json(tx)
        .send()
        .await
        .with_context(|| format!("cannot reach {base}; is the node running?"))?;
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
            get_json(client, &format!("{base}/v1/transactions/{}", receipt.hash)).await?;
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
            format,
        } => {
            let base = node.trim_end_matches('/').to_string();
            let partner_base = partner_node.trim_end_matches('/').to_string();
            let runtime = runtime()?;
            let (ours, theirs): (Vec<IntercompanyLine>, Vec<IntercompanyLine>) =
                runtime.block_on(async move {
                    let client = client()?;
                    let ours = get_json(
                        &client,
                        &format!("{base}/v1/reports/intercompany?with={partner}"),
                    )
                    .await?;
                    let theirs = get_json(
                        &client,
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
