//! `tally close-period`: one member's sign-off of a period close.
//!
//! The member signs the trial balance as of the period's last day as the node reports it; the
//! chain refuses the sign-off if its books say otherwise. Once every role of the chain's close
//! policy has signed off, the period is closed.

use std::path::PathBuf;

use clap::Args;
use tally_chain::{CloseSignOff, SignedTx, Transaction, TxBody};
use tally_ledger::Date;
use tally_node::wire::{StatusJson, TrialBalanceJson};

use crate::client::{connect, get_json, read_key, runtime, send, Sent};
use crate::user_error;

#[derive(Args)]
pub struct ClosePeriodArgs {
    /// The last day of the period to close, YYYY-MM-DD.
    #[arg(long)]
    through: String,
    /// The member key to sign with; its role must be one the chain's close policy names.
    #[arg(long)]
    key: PathBuf,
    /// The node's API, e.g. http://127.0.0.1:27100
    #[arg(long)]
    node: String,
    /// Seconds to wait for the sign-off to become final (0: do not wait).
    #[arg(long, default_value_t = 30)]
    wait: u64,
}

pub fn run(args: ClosePeriodArgs) -> anyhow::Result<()> {
    let through =
        Date::parse(&args.through).map_err(|error| user_error(format!("--through: {error}")))?;
    let key = read_key(&args.key)?;
    let base = args.node.trim_end_matches('/').to_string();
    runtime()?.block_on(async move {
        let client = connect(&base, &key, None).await?;
        let status: StatusJson = get_json(&client, &format!("{base}/v1/status")).await?;
        let lines: Vec<TrialBalanceJson> = get_json(
            &client,
            &format!("{base}/v1/reports/trial-balance?as_of={through}"),
        )
        .await?;
        let trial_balance = lines
            .iter()
            .map(TrialBalanceJson::to_line)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| {
                anyhow::anyhow!("the node sent an unreadable trial balance: {error}")
            })?;
        let sign_off = CloseSignOff {
            through,
            trial_balance,
        };
        let tx = Transaction::Single(SignedTx::sign(
            &key,
            &status.chain_id,
            TxBody::ClosePeriod(sign_off),
        ));
        let what = format!("sign-off of the close through {through}");
        match send(&client, &format!("{base}/v1"), &tx, args.wait, &what).await? {
            Sent::AlreadyCommitted { height } => {
                println!("{what} was already committed at height {height}; nothing changed")
            }
            Sent::Accepted { hash } => println!("{what} accepted (transaction {hash})"),
            Sent::Committed(status) => {
                let height = status.height.unwrap_or(0);
                match status.close {
                    Some(progress) if progress.closed => println!(
                        "period closed through {through} at height {height} (signed off by {})",
                        progress.signed.join(", ")
                    ),
                    Some(progress) => println!(
                        "{what} committed at height {height}; still to sign off: {}",
                        progress.waiting_for.join(", ")
                    ),
                    None => println!("{what} committed at height {height}"),
                }
            }
        }
        Ok(())
    })
}
