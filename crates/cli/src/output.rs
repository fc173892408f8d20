//! Report output: aligned tables for people, CSV and JSON for programs.

use tally_node::reports::{
    AccountLedgerJson, AgeingJson, BalanceSheetJson, DepartmentsJson, IncomeStatementJson,
    ReportHeaderJson, StatementLineJson,
};
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

/// How a table column lines up: text to the left, amounts to the right.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// Prints `rows` under `headers` as an aligned table or as CSV.
fn print_rows(headers: &[(&str, Align)], rows: &[Vec<String>], format: Format) {
    if format == Format::Csv {
        let names: Vec<String> = headers.iter().map(|(name, _)| csv_field(name)).collect();
        println!("{}", names.join(","));
        for row in rows {
            let fields: Vec<String> = row.iter().map(|field| csv_field(field)).collect();
            println!("{}", fields.join(","));
        }
        return;
    }
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(column, (name, _))| {
            rows.iter()
                .map(|row| row.get(column).map_or(0, |field| field.chars().count()))
                .max()
                .unwrap_or(0)
                .max(name.len())
        })
        .collect();
    let line = |fields: Vec<&str>| {
        let cells: Vec<String> = fields
            .iter()
            .zip(headers)
            .zip(&widths)
            .map(|((field, (_, align)), width)| match align {
                Align::Left => format!("{field:<width$}"),
                Align::Right => format!("{field:>width$}"),
            })
            .collect();
        println!("{}", cells.join("  ").trim_end());
    };
    line(headers.iter().map(|(name, _)| *name).collect());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

fn print_header(header: &ReportHeaderJson) {
    let mut words = vec![format!("height {}", header.height)];
    if let Some(as_of) = &header.as_of {
        words.push(format!("as of {as_of}"));
    }
    if let Some(currency) = &header.reporting_currency {
        words.push(format!("in {currency}"));
    }
    println!("{}", words.join(", "));
    for rate in &header.rates {
        println!(
            "rate: {} {} = {} {} (entry {}, {})",
            rate.from_amount, rate.from, rate.to_amount, rate.to, rate.entry, rate.date
        );
    }
}

fn statement_rows(
    rows: &mut Vec<Vec<String>>,
    currency: &str,
    section: &str,
    lines: &[StatementLineJson],
) {
    for line in lines {
        rows.push(vec![
            currency.to_string(),
            section.to_string(),
            line.account.clone(),
            line.name.clone(),
            line.amount.clone(),
        ]);
    }
}

fn total_row(currency: &str, what: &str, amount: &str) -> Vec<String> {
    vec![
        currency.to_string(),
        what.to_string(),
        String::new(),
        String::new(),
        amount.to_string(),
    ]
}

const STATEMENT_HEADERS: [(&str, Align); 5] = [
    ("currency", Align::Left),
    ("section", Align::Left),
    ("account", Align::Left),
    ("name", Align::Left),
    ("amount", Align::Right),
];

pub fn print_balance_sheet(sheet: &BalanceSheetJson, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(sheet)?);
        return Ok(());
    }
    let mut rows = Vec::new();
    for section in &sheet.sections {
        let currency = section.currency.as_str();
        statement_rows(&mut rows, currency, "assets", &section.assets);
        rows.push(total_row(currency, "total assets", &section.total_assets));
        statement_rows(&mut rows, currency, "liabilities", &section.liabilities);
        rows.push(total_row(
            currency,
            "total liabilities",
            &section.total_liabilities,
        ));
        statement_rows(&mut rows, currency, "equity", &section.equity);
        rows.push(total_row(currency, "total equity", &section.total_equity));
        rows.push(total_row(currency, "result", &section.result));
        rows.push(total_row(
            currency,
            "total liabilities and equity",
            &section.total_liabilities_and_equity,
        ));
    }
    if format == Format::Table {
        print_header(&sheet.header);
    }
    print_rows(&STATEMENT_HEADERS, &rows, format);
    if format == Format::Table {
        for section in sheet.sections.iter().filter(|section| !section.balanced) {
            println!(
                "{}: assets differ from liabilities, equity and result",
                section.currency
            );
        }
    }
    Ok(())
}

pub fn print_income_statement(
    statement: &IncomeStatementJson,
    format: Format,
) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(statement)?);
        return Ok(());
    }
    let mut rows = Vec::new();
    for section in &statement.sections {
        let currency = section.currency.as_str();
        statement_rows(&mut rows, currency, "revenue", &section.revenue);
        rows.push(total_row(currency, "total revenue", &section.total_revenue));
        statement_rows(&mut rows, currency, "expenses", &section.expenses);
        rows.push(total_row(
            currency,
            "total expenses",
            &section.total_expenses,
        ));
        rows.push(total_row(currency, "result", &section.result));
    }
    if format == Format::Table {
        print_header(&statement.header);
    }
    print_rows(&STATEMENT_HEADERS, &rows, format);
    Ok(())
}

pub fn print_account_ledger(ledger: &AccountLedgerJson, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(ledger)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = ledger
        .postings
        .iter()
        .map(|posting| {
            vec![
                posting.seq.to_string(),
                posting.date.clone(),
                posting.entry.clone(),
                posting.currency.clone(),
                posting.debit.clone(),
                posting.credit.clone(),
                posting.balance.clone(),
                posting.description.clone(),
            ]
        })
        .collect();
    if format == Format::Table {
        println!("{} {} ({})", ledger.account, ledger.name, ledger.kind);
        print_header(&ledger.header);
    }
    print_rows(
        &[
            ("seq", Align::Right),
            ("date", Align::Left),
            ("entry", Align::Left),
            ("currency", Align::Left),
            ("debit", Align::Right),
            ("credit", Align::Right),
            ("balance", Align::Right),
            ("description", Align::Left),
        ],
        &rows,
        format,
    );
    if format == Format::Table {
        if let Some(next) = ledger.next {
            println!("more postings follow: --after {next}");
        }
    }
    Ok(())
}

pub fn print_ageing(report: &AgeingJson, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = report
        .partners
        .iter()
        .map(|line| {
            vec![
                line.partner.clone(),
                line.currency.clone(),
                line.days_0_30.clone(),
                line.days_31_60.clone(),
                line.days_61_90.clone(),
                line.days_over_90.clone(),
                line.total.clone(),
                line.items.to_string(),
            ]
        })
        .collect();
    if format == Format::Table {
        println!(
            "{} ageing on {} (accounts {})",
            report.side,
            report.aged_on,
            report.accounts.join(", ")
        );
        print_header(&report.header);
    }
    print_rows(
        &[
            ("partner", Align::Left),
            ("currency", Align::Left),
            ("0-30", Align::Right),
            ("31-60", Align::Right),
            ("61-90", Align::Right),
            ("over 90", Align::Right),
            ("total", Align::Right),
            ("items", Align::Right),
        ],
        &rows,
        format,
    );
    Ok(())
}

pub fn print_departments(report: &DepartmentsJson, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = report
        .lines
        .iter()
        .map(|line| {
            vec![
                line.department.clone(),
                line.account.clone(),
                line.currency.clone(),
                line.debit.clone(),
                line.credit.clone(),
            ]
        })
        .collect();
    if format == Format::Table {
        print_header(&report.header);
    }
    print_rows(
        &[
            ("department", Align::Left),
            ("account", Align::Left),
            ("currency", Align::Left),
            ("debit", Align::Right),
            ("credit", Align::Right),
        ],
        &rows,
        format,
    );
    Ok(())
}
