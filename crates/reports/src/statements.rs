//! The balance sheet and the income statement, per currency, from net balances.
//!
//! Amounts are signed minor units on each account kind's natural side: assets and expenses
//! debit-positive, liabilities, equity and revenue credit-positive (a bank overdraft shows as a
//! negative asset). The result is revenue less expenses. Closing a period in Tally does not move
//! the result into equity (a close freezes and attests balances, it books nothing), so the
//! result is everything revenue and expense accounts hold as of the report's date, and the
//! balance sheet shows it as its own line of equity. The FX trading account is equity: its
//! per-currency balances are the currency positions that let each currency balance on its own.

use std::collections::BTreeMap;

use tally_ledger::{Account, AccountCode, AccountKind, Currency, TrialBalanceLine};

use crate::fx::Converter;
use crate::ReportError;

/// A net balance, debit positive.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NetLine {
    pub account: AccountCode,
    pub currency: Currency,
    pub net: i128,
}

/// Net lines of a trial balance.
pub fn net_lines_of(lines: &[TrialBalanceLine]) -> Result<Vec<NetLine>, ReportError> {
    lines
        .iter()
        .map(|line| {
            let overflow = || ReportError::Overflow {
                currency: line.currency,
            };
            let debit = i128::try_from(line.debit).map_err(|_| overflow())?;
            let credit = i128::try_from(line.credit).map_err(|_| overflow())?;
            Ok(NetLine {
                account: line.account.clone(),
                currency: line.currency,
                net: debit.checked_sub(credit).ok_or_else(overflow)?,
            })
        })
        .collect()
}

/// One account's line in a statement, on its natural side.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StatementLine {
    pub account: AccountCode,
    pub name: String,
    pub kind: AccountKind,
    pub amount: i128,
}

/// The balance sheet of one currency.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BalanceSheetSection {
    pub currency: Currency,
    pub assets: Vec<StatementLine>,
    pub liabilities: Vec<StatementLine>,
    pub equity: Vec<StatementLine>,
    pub total_assets: i128,
    pub total_liabilities: i128,
    /// The equity accounts, without the result.
    pub total_equity: i128,
    /// Revenue less expenses.
    pub result: i128,
    /// `total_assets == total_liabilities + total_equity + result`.
    pub balanced: bool,
}

/// A balance sheet: one section per currency, by currency code.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct BalanceSheet {
    pub sections: Vec<BalanceSheetSection>,
}

/// The income statement of one currency.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct IncomeSection {
    pub currency: Currency,
    pub revenue: Vec<StatementLine>,
    pub expenses: Vec<StatementLine>,
    pub total_revenue: i128,
    pub total_expenses: i128,
    /// `total_revenue - total_expenses`.
    pub result: i128,
}

/// An income statement: one section per currency, by currency code.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct IncomeStatement {
    pub sections: Vec<IncomeSection>,
}

/// Lines grouped per currency (converted into the reporting currency first if a converter is
/// given; lines of one account then merge), each on its account's natural side.
fn by_currency(
    chart: &[Account],
    lines: &[NetLine],
    converter: Option<(&Converter, &str)>,
) -> Result<BTreeMap<Currency, Vec<StatementLine>>, ReportError> {
    let accounts: BTreeMap<&AccountCode, &Account> = chart
        .iter()
        .map(|account| (&account.code, account))
        .collect();
    let mut merged: BTreeMap<(Currency, &AccountCode), i128> = BTreeMap::new();
    for line in lines {
        let (currency, net) = match converter {
            Some((converter, as_of)) => (
                converter.target(),
                converter.convert(line.net, line.currency, as_of)?,
            ),
            None => (line.currency, line.net),
        };
        let sum = merged.entry((currency, &line.account)).or_default();
        *sum = sum
            .checked_add(net)
            .ok_or(ReportError::Overflow { currency })?;
    }
    let mut sections: BTreeMap<Currency, Vec<StatementLine>> = BTreeMap::new();
    for ((currency, code), net) in merged {
        if net == 0 {
            continue;
        }
        let account = accounts
            .get(code)
            .ok_or_else(|| ReportError::UnknownAccount {
                account: code.clone(),
            })?;
        let amount = match account.kind {
            AccountKind::Asset | AccountKind::Expense => net,
            _ => net
                .checked_neg()
                .ok_or(ReportError::Overflow { currency })?,
        };
        sections.entry(currency).or_default().push(StatementLine {
            account: code.clone(),
            name: account.name.clone(),
            kind: account.kind,
            amount,
        });
    }
    Ok(sections)
}

fn total(lines: &[StatementLine], currency: Currency) -> Result<i128, ReportError> {
    lines.iter().try_fold(0i128, |sum, line| {
        sum.checked_add(line.amount)
            .ok_or(ReportError::Overflow { currency })
    })
}

fn of_kind(lines: &[StatementLine], kind: AccountKind) -> Vec<StatementLine> {
    lines
        .iter()
        .filter(|line| line.kind == kind)
        .cloned()
        .collect()
}

/// The balance sheet of the net balances `lines` with the accounts of `chart`; with a
/// converter, in its reporting currency (`as_of` words a missing rate's error).
pub fn balance_sheet(
    chart: &[Account],
    lines: &[NetLine],
    converter: Option<(&Converter, &str)>,
) -> Result<BalanceSheet, ReportError> {
    let mut sheet = BalanceSheet::default();
    for (currency, lines) in by_currency(chart, lines, converter)? {
        let assets = of_kind(&lines, AccountKind::Asset);
        let liabilities = of_kind(&lines, AccountKind::Liability);
        let equity = of_kind(&lines, AccountKind::Equity);
        let revenue = total(&of_kind(&lines, AccountKind::Revenue), currency)?;
        let expenses = total(&of_kind(&lines, AccountKind::Expense), currency)?;
        let overflow = ReportError::Overflow { currency };
        let result = revenue.checked_sub(expenses).ok_or(overflow.clone())?;
        let total_assets = total(&assets, currency)?;
        let total_liabilities = total(&liabilities, currency)?;
        let total_equity = total(&equity, currency)?;
        let claims = total_liabilities
            .checked_add(total_equity)
            .and_then(|sum| sum.checked_add(result))
            .ok_or(overflow)?;
        sheet.sections.push(BalanceSheetSection {
            currency,
            assets,
            liabilities,
            equity,
            total_assets,
            total_liabilities,
            total_equity,
            result,
            balanced: total_assets == claims,
        });
    }
    Ok(sheet)
}

/// The income statement of the net balances `lines`; see [`balance_sheet`].
pub fn income_statement(
    chart: &[Account],
    lines: &[NetLine],
    converter: Option<(&Converter, &str)>,
) -> Result<IncomeStatement, ReportError> {
    let mut statement = IncomeStatement::default();
    for (currency, lines) in by_currency(chart, lines, converter)? {
        let revenue = of_kind(&lines, AccountKind::Revenue);
        let expenses = of_kind(&lines, AccountKind::Expense);
        if revenue.is_empty() && expenses.is_empty() {
            continue;
        }
        let total_revenue = total(&revenue, currency)?;
        let total_expenses = total(&expenses, currency)?;
        statement.sections.push(IncomeSection {
            currency,
            revenue,
            expenses,
            total_revenue,
            total_expenses,
            result: total_revenue
                .checked_sub(total_expenses)
                .ok_or(ReportError::Overflow { currency })?,
        });
    }
    Ok(statement)
}
