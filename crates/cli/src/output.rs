//! Report output: aligned tables for people, CSV and JSON for programs.

use tally_node::wire::TrialBalanceJson;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

pub(crate) fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

pub fn print_trial_balance(lines: &[TrialBalanceJson], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(lines)?),
        Format::Csv => {
            println!("account,currency,debit,credit");
            for line in lines {
                println!(
                    "{},{},{},{}",
                    csv_field(&line.account),
                    line.currency,
                    line.debit,
                    line.credit
                );
            }
        }
        Format::Table => print_trial_balance_table(lines),
    }
    Ok(())
}

pub fn print_trial_balance_table(lines: &[TrialBalanceJson]) {
    let width = lines
        .iter()
        .map(|line| line.account.len())
        .max()
        .unwrap_or(7)
        .max(7);
    println!(
        "{:<width$}  {:<8}  {:>18}  {:>18}",
        "account", "currency", "debit", "credit"
    );
    for line in lines {
        println!(
            "{:<width$}  {:<8}  {:>18}  {:>18}",
            line.account, line.currency, line.debit, line.credit
        );
    }
}

pub fn print_reconciliation(
    lines: &[tally_node::reconcile::ReconcileLine],
    format: Format,
) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(lines)?),
        Format::Csv => {
            println!("trade,contract,currency,ours,theirs,difference");
            for line in lines {
                println!(
                    "{},{},{},{},{},{}",
                    csv_field(&line.trade),
                    csv_field(&line.contract),
                    line.currency,
                    line.ours,
                    line.theirs,
                    line.difference
                );
            }
        }
        Format::Table => {
            println!(
                "{:<24}  {:<24}  {:<8}  {:>14}  {:>14}  {:>12}",
                "trade", "contract", "currency", "ours", "theirs", "difference"
            );
            for line in lines {
                println!(
                    "{:<24}  {:<24}  {:<8}  {:>14}  {:>14}  {:>12}",
                    line.trade,
                    line.contract,
                    line.currency,
                    line.ours,
                    line.theirs,
                    line.difference
                );
            }
            let open = lines
                .iter()
                .filter(|line| line.difference_minor != 0)
                .count();
            println!("{} contracts, {open} with a difference", lines.len());
        }
    }
    Ok(())
}
