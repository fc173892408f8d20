//! Accounting reports over HTTP: trial balance, balance sheet, income statement, account ledger,
//! AR/AP ageing and department totals, as of the head, a past height (`height=H`) or a date
//! (`as_of=YYYY-MM-DD`), optionally in a reporting currency (`currency=EUR`).
//!
//! Where the numbers come from, and what each costs (n = postings of the accounts concerned):
//! - the head: the committed ledger's balances (in memory) and the report index's head tables
//!   (open-item totals per partner and day, department totals per day): no postings are read;
//! - a date from the last close on, at the head: the ledger's movements per open date;
//! - a past height: each (account, currency)'s running balance at that height, one index lookup
//!   each;
//! - a past height and a date, or a date before the last close: the indexed postings, O(n);
//! - the ageing of a day before the latest sub-ledger posting's date, or of a past height:
//!   the indexed postings of the sub-ledger accounts, replayed into open items, O(n);
//! - the account ledger: a page of the index, O(limit), with the stored running balances; as of a
//!   date, the account's postings are read to recompute them, O(n).
//!
//! Nothing here reads a block.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use tally_chain::{ChainState, ReportReader, StoreError};
use tally_consensus::ChainHandle;
use tally_ledger::{
    format_amount, format_signed, Account, AccountCode, AccountKind, Balance, Currency, Date,
    TrialBalanceLine,
};
use tally_reports::{
    ageing, balance_sheet, income_statement, net_lines_of, running_balances, AgeingInput,
    AgeingSide, Converter, DepartmentTotals, FxError, ItemBook, ItemKey, NetLine, PostingRecord,
    Rate, ReportError, StatementLine,
};
use utoipa::ToSchema;

use crate::api::{internal, ApiError};
use crate::wire::{ErrorJson, TrialBalanceJson};

/// Postings per account ledger page when the request names no `limit`.
pub const LEDGER_PAGE_DEFAULT: usize = 100;
/// The largest account ledger page: a page is read and described (one entry lookup per posting)
/// in one request.
pub const LEDGER_PAGE_MAX: usize = 1_000;
/// The ageing buckets' names, in order (see `tally_reports::BUCKET_LIMITS_DAYS`).
pub const AGEING_BUCKETS: [&str; 4] = ["0-30", "31-60", "61-90", "over 90"];

/// The request's point in time and reporting currency, checked.
#[derive(Clone, Debug)]
pub struct ReportPoint {
    pub as_of: Option<Date>,
    /// `None`: the head.
    pub height: Option<u64>,
    pub currency: Option<Currency>,
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "malformed_request", message)
}

fn store_error(error: StoreError) -> ApiError {
    internal(error)
}

fn report_error(error: ReportError) -> ApiError {
    match error {
        ReportError::Fx(FxError::NoRate { .. }) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_fx_rate",
            error.to_string(),
        ),
        ReportError::Overflow { .. } | ReportError::Fx(FxError::Overflow { .. }) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "overflow",
            error.to_string(),
        ),
        ReportError::UnknownAccount { .. } => internal(error),
    }
}

/// Checks the query's parameters against those a report takes; every message names them.
fn parameters(query: &HashMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    for name in query.keys() {
        if !allowed.contains(&name.as_str()) {
            return Err(bad_request(format!(
                "unknown parameter '{name}'; this report takes: {}",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

/// Parses `as_of`, `height` and `currency` of a query.
pub fn parse_point(query: &HashMap<String, String>) -> Result<ReportPoint, ApiError> {
    let as_of = query
        .get("as_of")
        .map(|text| Date::parse(text).map_err(|error| bad_request(format!("as_of: {error}"))))
        .transpose()?;
    let height = query
        .get("height")
        .map(|text| {
            text.parse::<u64>()
                .map_err(|_| bad_request(format!("height: '{text}' is not a block height")))
        })
        .transpose()?;
    let currency = query
        .get("currency")
        .map(|text| {
            Currency::from_code(text).map_err(|error| bad_request(format!("currency: {error}")))
        })
        .transpose()?;
    Ok(ReportPoint {
        as_of,
        height,
        currency,
    })
}

/// One consistent snapshot to report from: the committed state and the index at its height.
pub struct Snapshot<'a> {
    pub state: &'a ChainState,
    pub reader: ReportReader,
    /// The height the index describes (the head).
    pub head: u64,
}

impl<'a> Snapshot<'a> {
    pub fn new(state: &'a ChainState, reader: ReportReader) -> Result<Snapshot<'a>, ApiError> {
        let head = reader.height().map_err(store_error)?.unwrap_or(0);
        Ok(Snapshot {
            state,
            reader,
            head,
        })
    }

    fn chart(&self) -> Vec<Account> {
        self.state.ledger.accounts().cloned().collect()
    }

    /// The height asked for, checked: `None` for the head (also when asked by number).
    fn past_height(&self, point: &ReportPoint) -> Result<Option<u64>, ApiError> {
        match point.height {
            None => Ok(None),
            Some(height) if height > self.head => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no block at height {height} yet; the head is {}", self.head),
            )),
            Some(height) if height == self.head => Ok(None),
            Some(height) => Ok(Some(height)),
        }
    }

    fn seq_end(&self, height: Option<u64>) -> Result<u64, ApiError> {
        let height = height.unwrap_or(self.head);
        self.reader
            .seq_end(height)
            .map_err(store_error)?
            .ok_or_else(|| internal(format!("the report index has no height {height}")))
    }

    /// Every (account, currency) the books ever held, by account then currency.
    fn keys(&self) -> Vec<(AccountCode, Currency)> {
        self.state
            .ledger
            .balances()
            .map(|(account, currency, _)| (account.clone(), currency))
            .collect()
    }

    /// The trial balance at the point (see the module documentation for the cost of each case).
    pub fn trial_balance(&self, point: &ReportPoint) -> Result<Vec<TrialBalanceLine>, ApiError> {
        let height = self.past_height(point)?;
        let ledger = &self.state.ledger;
        let movements_cover = |as_of: Date| ledger.closed_through().is_none_or(|c| as_of >= c);
        match (height, point.as_of) {
            (None, None) => Ok(ledger.trial_balance()),
            (None, Some(as_of)) if movements_cover(as_of) => ledger
                .trial_balance_as_of(as_of)
                .map_err(|error| internal(error.to_string())),
            (height, as_of) => {
                let seq_end = self.seq_end(height)?;
                let mut lines = Vec::new();
                for (account, currency) in self.keys() {
                    let balance = match as_of {
                        None => self
                            .reader
                            .balance_before(&account, currency, seq_end)
                            .map_err(store_error)?,
                        Some(as_of) => {
                            let postings = self
                                .reader
                                .postings(&account, currency, None, seq_end, None)
                                .map_err(store_error)?;
                            sum_until(&postings, as_of)
                                .ok_or_else(|| internal("a total overflows"))?
                        }
                    };
                    if let Some((side, net)) = balance.net() {
                        let (debit, credit) = match side {
                            tally_ledger::Side::Debit => (net, 0),
                            tally_ledger::Side::Credit => (0, net),
                        };
                        lines.push(TrialBalanceLine {
                            account,
                            currency,
                            debit,
                            credit,
                        });
                    }
                }
                Ok(lines)
            }
        }
    }

    /// The converter into the point's reporting currency for `currencies`: the latest rate of
    /// each recorded on or before the point. `None` without a reporting currency.
    pub fn converter(
        &self,
        point: &ReportPoint,
        currencies: impl IntoIterator<Item = Currency>,
    ) -> Result<Option<Converter>, ApiError> {
        let Some(target) = point.currency else {
            return Ok(None);
        };
        let height = self.past_height(point)?;
        let mut rates = Vec::new();
        let wanted: BTreeSet<Currency> = currencies.into_iter().collect();
        for currency in wanted {
            if currency == target {
                continue;
            }
            match self
                .reader
                .latest_rate(currency, target, point.as_of, height)
                .map_err(store_error)?
            {
                Some(rate) => rates.push(rate),
                None => {
                    return Err(report_error(ReportError::Fx(FxError::NoRate {
                        from: currency,
                        to: target,
                        as_of: self.point_text(point),
                    })))
                }
            }
        }
        Ok(Some(Converter::new(target, rates)))
    }

    /// How a point reads in messages: "2026-03-31", "height 12", "the head".
    fn point_text(&self, point: &ReportPoint) -> String {
        match (point.as_of, point.height) {
            (Some(as_of), _) => as_of.to_string(),
            (None, Some(height)) => format!("height {height}"),
            (None, None) => format!("height {} (the head)", self.head),
        }
    }
}

/// The totals of `postings` dated on or before `as_of`.
fn sum_until(postings: &[PostingRecord], as_of: Date) -> Option<Balance> {
    postings
        .iter()
        .filter(|posting| posting.date <= as_of)
        .try_fold(Balance::default(), |total, posting| {
            total.plus(posting.side, posting.amount)
        })
}

// ---------------------------------------------------------------------------------------------
// JSON

/// A rate a converted report used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RateJson {
    pub from: String,
    pub to: String,
    /// The two amounts the recording entry exchanged, as decimal strings.
    pub from_amount: String,
    pub to_amount: String,
    pub date: String,
    pub entry: String,
}

impl RateJson {
    fn from_rate(rate: &Rate) -> RateJson {
        RateJson {
            from: rate.from.code().to_string(),
            to: rate.to.code().to_string(),
            from_amount: format_amount(rate.from_minor, rate.from),
            to_amount: format_amount(rate.to_minor, rate.to),
            date: rate.date.to_string(),
            entry: rate.entry.clone(),
        }
    }
}

fn rates_of(converter: Option<&Converter>) -> Vec<RateJson> {
    converter
        .map(|converter| converter.rates().map(RateJson::from_rate).collect())
        .unwrap_or_default()
}

/// One account in a statement: its amount on its kind's natural side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatementLineJson {
    pub account: String,
    pub name: String,
    pub amount: String,
}

fn statement_lines(lines: &[StatementLine], currency: Currency) -> Vec<StatementLineJson> {
    lines
        .iter()
        .map(|line| StatementLineJson {
            account: line.account.to_string(),
            name: line.name.clone(),
            amount: format_signed(line.amount, currency),
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BalanceSheetSectionJson {
    pub currency: String,
    pub assets: Vec<StatementLineJson>,
    pub liabilities: Vec<StatementLineJson>,
    pub equity: Vec<StatementLineJson>,
    pub total_assets: String,
    pub total_liabilities: String,
    /// Equity accounts, without the result.
    pub total_equity: String,
    /// Revenue less expenses.
    pub result: String,
    /// Liabilities plus equity plus the result.
    pub total_liabilities_and_equity: String,
    pub balanced: bool,
}

/// What every report says about where its numbers stand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReportHeaderJson {
    /// The block height the report describes.
    pub height: u64,
    /// Only entries dated on or before this day count, if given.
    pub as_of: Option<String>,
    /// The reporting currency, if the report was converted.
    pub reporting_currency: Option<String>,
    /// The rates used for the conversion.
    pub rates: Vec<RateJson>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BalanceSheetJson {
    #[serde(flatten)]
    pub header: ReportHeaderJson,
    pub sections: Vec<BalanceSheetSectionJson>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncomeSectionJson {
    pub currency: String,
    pub revenue: Vec<StatementLineJson>,
    pub expenses: Vec<StatementLineJson>,
    pub total_revenue: String,
    pub total_expenses: String,
    pub result: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncomeStatementJson {
    #[serde(flatten)]
    pub header: ReportHeaderJson,
    pub sections: Vec<IncomeSectionJson>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LedgerPostingJson {
    /// The posting's place in commit order; pass the last one as `after` for the next page.
    pub seq: u64,
    pub entry: String,
    pub date: String,
    pub height: u64,
    pub description: String,
    pub currency: String,
    pub debit: String,
    pub credit: String,
    /// The account's balance in this currency after this posting, on its natural side.
    pub balance: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountLedgerJson {
    #[serde(flatten)]
    pub header: ReportHeaderJson,
    pub account: String,
    pub name: String,
    pub kind: String,
    pub postings: Vec<LedgerPostingJson>,
    /// `after` for the next page, or `null` on the last page.
    pub next: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgeingLineJson {
    pub partner: String,
    pub currency: String,
    pub days_0_30: String,
    pub days_31_60: String,
    pub days_61_90: String,
    pub days_over_90: String,
    pub total: String,
    pub items: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgeingJson {
    #[serde(flatten)]
    pub header: ReportHeaderJson,
    pub side: String,
    /// The day ages are counted to (the as-of date, else the head block's day).
    pub aged_on: String,
    pub accounts: Vec<String>,
    pub partners: Vec<AgeingLineJson>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DepartmentLineJson {
    pub department: String,
    pub account: String,
    pub currency: String,
    pub debit: String,
    pub credit: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DepartmentsJson {
    #[serde(flatten)]
    pub header: ReportHeaderJson,
    pub lines: Vec<DepartmentLineJson>,
}

// ---------------------------------------------------------------------------------------------
// The reports, as functions of a snapshot (the handlers below only parse and serialise).

fn header(
    snapshot: &Snapshot,
    point: &ReportPoint,
    converter: Option<&Converter>,
) -> Result<ReportHeaderJson, ApiError> {
    Ok(ReportHeaderJson {
        height: snapshot.past_height(point)?.unwrap_or(snapshot.head),
        as_of: point.as_of.map(|date| date.to_string()),
        reporting_currency: point.currency.map(|currency| currency.code().to_string()),
        rates: rates_of(converter),
    })
}

/// Net lines at the point, with the converter their currencies need.
fn net_lines_at(
    snapshot: &Snapshot,
    point: &ReportPoint,
) -> Result<(Vec<NetLine>, Option<Converter>), ApiError> {
    let lines = snapshot.trial_balance(point)?;
    let net = net_lines_of(&lines).map_err(report_error)?;
    let converter = snapshot.converter(point, net.iter().map(|line| line.currency))?;
    Ok((net, converter))
}

/// The trial balance in the existing endpoint's shape; converted lines are netted per account.
pub fn trial_balance_report(
    snapshot: &Snapshot,
    point: &ReportPoint,
) -> Result<Vec<TrialBalanceJson>, ApiError> {
    let lines = snapshot.trial_balance(point)?;
    if point.currency.is_none() {
        return Ok(lines.iter().map(TrialBalanceJson::from_line).collect());
    }
    let net = net_lines_of(&lines).map_err(report_error)?;
    let Some(converter) = snapshot.converter(point, net.iter().map(|line| line.currency))? else {
        return Err(internal("a reporting currency without a converter"));
    };
    let target = converter.target();
    let as_of = snapshot.point_text(point);
    let mut merged: BTreeMap<AccountCode, i128> = BTreeMap::new();
    for line in &net {
        let converted = converter
            .convert(line.net, line.currency, &as_of)
            .map_err(|error| report_error(error.into()))?;
        let sum = merged.entry(line.account.clone()).or_default();
        *sum = sum
            .checked_add(converted)
            .ok_or_else(|| report_error(ReportError::Overflow { currency: target }))?;
    }
    Ok(merged
        .into_iter()
        .filter(|(_, net)| *net != 0)
        .map(|(account, net)| TrialBalanceJson {
            account: account.to_string(),
            currency: target.code().to_string(),
            debit: format_amount(if net > 0 { net.unsigned_abs() } else { 0 }, target),
            credit: format_amount(if net < 0 { net.unsigned_abs() } else { 0 }, target),
        })
        .collect())
}

pub fn balance_sheet_report(
    snapshot: &Snapshot,
    point: &ReportPoint,
) -> Result<BalanceSheetJson, ApiError> {
    let (net, converter) = net_lines_at(snapshot, point)?;
    let as_of = snapshot.point_text(point);
    let sheet = balance_sheet(
        &snapshot.chart(),
        &net,
        converter
            .as_ref()
            .map(|converter| (converter, as_of.as_str())),
    )
    .map_err(report_error)?;
    let sections = sheet
        .sections
        .iter()
        .map(|section| {
            let currency = section.currency;
            let claims = section
                .total_liabilities
                .saturating_add(section.total_equity)
                .saturating_add(section.result);
            BalanceSheetSectionJson {
                currency: currency.code().to_string(),
                assets: statement_lines(&section.assets, currency),
                liabilities: statement_lines(&section.liabilities, currency),
                equity: statement_lines(&section.equity, currency),
                total_assets: format_signed(section.total_assets, currency),
                total_liabilities: format_signed(section.total_liabilities, currency),
                total_equity: format_signed(section.total_equity, currency),
                result: format_signed(section.result, currency),
                total_liabilities_and_equity: format_signed(claims, currency),
                balanced: section.balanced,
            }
        })
        .collect();
    Ok(BalanceSheetJson {
        header: header(snapshot, point, converter.as_ref())?,
        sections,
    })
}

pub fn income_statement_report(
    snapshot: &Snapshot,
    point: &ReportPoint,
) -> Result<IncomeStatementJson, ApiError> {
    let (net, converter) = net_lines_at(snapshot, point)?;
    let as_of = snapshot.point_text(point);
    let statement = income_statement(
        &snapshot.chart(),
        &net,
        converter
            .as_ref()
            .map(|converter| (converter, as_of.as_str())),
    )
    .map_err(report_error)?;
    let sections = statement
        .sections
        .iter()
        .map(|section| {
            let currency = section.currency;
            IncomeSectionJson {
                currency: currency.code().to_string(),
                revenue: statement_lines(&section.revenue, currency),
                expenses: statement_lines(&section.expenses, currency),
                total_revenue: format_signed(section.total_revenue, currency),
                total_expenses: format_signed(section.total_expenses, currency),
                result: format_signed(section.result, currency),
            }
        })
        .collect();
    Ok(IncomeStatementJson {
        header: header(snapshot, point, converter.as_ref())?,
        sections,
    })
}

/// A balance on an account kind's natural side, signed.
fn natural(balance: &Balance, kind: AccountKind) -> i128 {
    let debit = i128::try_from(balance.debit).unwrap_or(i128::MAX);
    let credit = i128::try_from(balance.credit).unwrap_or(i128::MAX);
    match kind {
        AccountKind::Asset | AccountKind::Expense => debit.saturating_sub(credit),
        _ => credit.saturating_sub(debit),
    }
}

/// One page of an account's postings in commit order, with running balances.
pub fn account_ledger_report(
    snapshot: &Snapshot,
    point: &ReportPoint,
    code: &AccountCode,
    after: Option<u64>,
    limit: usize,
) -> Result<AccountLedgerJson, ApiError> {
    let account = snapshot.state.ledger.account(code).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_account",
            format!("no account '{code}' in the chart"),
        )
    })?;
    let height = snapshot.past_height(point)?;
    let seq_end = snapshot.seq_end(height)?;
    let currencies: Vec<Currency> = snapshot
        .state
        .ledger
        .balances_of(code)
        .map(|(currency, _)| currency)
        .collect();
    let mut page: Vec<PostingRecord> = Vec::new();
    match point.as_of {
        None => {
            // One more than the page from each currency tells whether another page follows.
            for currency in &currencies {
                page.extend(
                    snapshot
                        .reader
                        .postings(code, *currency, after, seq_end, Some(limit + 1))
                        .map_err(store_error)?,
                );
            }
        }
        Some(as_of) => {
            for currency in &currencies {
                let mut postings = snapshot
                    .reader
                    .postings(code, *currency, None, seq_end, None)
                    .map_err(store_error)?;
                postings.retain(|posting| posting.date <= as_of);
                running_balances(&mut postings)
                    .ok_or_else(|| internal("a running balance overflows"))?;
                postings.retain(|posting| after.is_none_or(|after| posting.seq > after));
                page.extend(postings);
            }
        }
    }
    page.sort_by_key(|posting| posting.seq);
    let next = (page.len() > limit).then(|| page[limit - 1].seq);
    page.truncate(limit);
    let converter = snapshot.converter(point, currencies.iter().copied())?;
    let as_of_text = snapshot.point_text(point);
    let mut postings = Vec::with_capacity(page.len());
    for posting in &page {
        let description = snapshot
            .reader
            .entry(&posting.entry)
            .map_err(store_error)?
            .map(|committed| committed.entry.description)
            .unwrap_or_default();
        let (debit, credit) = match posting.side {
            tally_ledger::Side::Debit => (i128::from(posting.amount), 0),
            tally_ledger::Side::Credit => (0, i128::from(posting.amount)),
        };
        let balance = natural(&posting.running, account.kind);
        let (currency, debit, credit, balance) = match &converter {
            Some(converter) => {
                let convert = |amount| {
                    converter
                        .convert(amount, posting.currency, &as_of_text)
                        .map_err(|error| report_error(error.into()))
                };
                (
                    converter.target(),
                    convert(debit)?,
                    convert(credit)?,
                    convert(balance)?,
                )
            }
            None => (posting.currency, debit, credit, balance),
        };
        postings.push(LedgerPostingJson {
            seq: posting.seq,
            entry: posting.entry.to_string(),
            date: posting.date.to_string(),
            height: posting.height,
            description,
            currency: currency.code().to_string(),
            debit: format_signed(debit, currency),
            credit: format_signed(credit, currency),
            balance: format_signed(balance, currency),
        });
    }
    Ok(AccountLedgerJson {
        header: header(snapshot, point, converter.as_ref())?,
        account: code.to_string(),
        name: account.name.clone(),
        kind: account.kind.as_str().to_string(),
        postings,
        next,
    })
}

/// The accounts whose open items a side ages: asset (receivable) or liability (payable)
/// accounts with a sub-ledger.
pub fn ageing_accounts(state: &ChainState, side: AgeingSide) -> Vec<AccountCode> {
    let kind = match side {
        AgeingSide::Receivable => AccountKind::Asset,
        AgeingSide::Payable => AccountKind::Liability,
    };
    state
        .ledger
        .accounts()
        .filter(|account| account.kind == kind && account.sub_ledger.is_some())
        .map(|account| account.code.clone())
        .collect()
}

pub fn ageing_report(
    snapshot: &Snapshot,
    point: &ReportPoint,
    side: AgeingSide,
) -> Result<AgeingJson, ApiError> {
    let height = snapshot.past_height(point)?;
    let aged_on = point
        .as_of
        .unwrap_or_else(|| Date::from_unix_ms(snapshot.state.time_ms));
    let accounts = ageing_accounts(snapshot.state, side);
    let latest = snapshot.reader.latest_item_date().map_err(store_error)?;
    let head_covers = height.is_none() && latest.is_none_or(|latest| latest <= aged_on);
    let mut inputs = Vec::new();
    if head_covers {
        // The head's open items, already totalled per partner and day.
        for account in &accounts {
            for (currency, partner, since, total) in
                snapshot.reader.age_totals(account).map_err(store_error)?
            {
                inputs.push(AgeingInput {
                    partner,
                    currency,
                    since,
                    net: natural(&total.balance, AccountKind::Asset),
                    items: total.items,
                });
            }
        }
    } else {
        // Replay the indexed postings dated on or before the day into open items.
        let seq_end = snapshot.seq_end(height)?;
        let mut book = ItemBook::default();
        for account in &accounts {
            for (currency, _) in snapshot.state.ledger.balances_of(account) {
                for posting in snapshot
                    .reader
                    .postings(account, currency, None, seq_end, None)
                    .map_err(store_error)?
                {
                    let Some(item) = posting.item.filter(|_| posting.date <= aged_on) else {
                        continue;
                    };
                    let key = ItemKey {
                        account: account.clone(),
                        currency,
                        item,
                    };
                    book.apply(key, posting.date, posting.side, posting.amount);
                }
            }
        }
        for (key, state) in book.open() {
            inputs.push(AgeingInput {
                partner: key.item.partner.clone(),
                currency: key.currency,
                since: state.since,
                net: state
                    .net()
                    .ok_or_else(|| internal("an open item overflows"))?,
                items: 1,
            });
        }
    }
    let converter = snapshot.converter(point, inputs.iter().map(|input| input.currency))?;
    let lines = ageing(inputs, side, aged_on, converter.as_ref()).map_err(report_error)?;
    Ok(AgeingJson {
        header: header(snapshot, point, converter.as_ref())?,
        side: side.as_str().to_string(),
        aged_on: aged_on.to_string(),
        accounts: accounts.iter().map(ToString::to_string).collect(),
        partners: lines
            .iter()
            .map(|line| {
                let format = |amount| format_signed(amount, line.currency);
                AgeingLineJson {
                    partner: line.partner.clone(),
                    currency: line.currency.code().to_string(),
                    days_0_30: format(line.buckets[0]),
                    days_31_60: format(line.buckets[1]),
                    days_61_90: format(line.buckets[2]),
                    days_over_90: format(line.buckets[3]),
                    total: format(line.total),
                    items: line.items,
                }
            })
            .collect(),
    })
}

pub fn departments_report(
    snapshot: &Snapshot,
    point: &ReportPoint,
) -> Result<DepartmentsJson, ApiError> {
    let height = snapshot.past_height(point)?;
    let mut totals = DepartmentTotals::default();
    let overflow = || internal("a department total overflows");
    match height {
        None => {
            for (department, account, currency, balance) in snapshot
                .reader
                .department_totals(point.as_of)
                .map_err(store_error)?
            {
                totals
                    .add_balance(&department, &account, currency, balance)
                    .ok_or_else(overflow)?;
            }
        }
        Some(height) => {
            let seq_end = snapshot.seq_end(Some(height))?;
            for (account, currency) in snapshot.keys() {
                for posting in snapshot
                    .reader
                    .postings(&account, currency, None, seq_end, None)
                    .map_err(store_error)?
                {
                    if point.as_of.is_some_and(|as_of| posting.date > as_of) {
                        continue;
                    }
                    totals
                        .add(
                            &posting.department,
                            &account,
                            currency,
                            posting.side,
                            posting.amount,
                        )
                        .ok_or_else(overflow)?;
                }
            }
        }
    }
    let lines = totals.lines();
    let converter = snapshot.converter(point, lines.iter().map(|line| line.currency))?;
    let as_of_text = snapshot.point_text(point);
    let mut json = Vec::with_capacity(lines.len());
    for line in &lines {
        let (currency, debit, credit) = match &converter {
            Some(converter) => {
                let convert = |amount: u128| {
                    let amount = i128::try_from(amount).map_err(|_| {
                        report_error(ReportError::Overflow {
                            currency: line.currency,
                        })
                    })?;
                    converter
                        .convert(amount, line.currency, &as_of_text)
                        .map(i128::unsigned_abs)
                        .map_err(|error| report_error(error.into()))
                };
                (
                    converter.target(),
                    convert(line.debit)?,
                    convert(line.credit)?,
                )
            }
            None => (line.currency, line.debit, line.credit),
        };
        json.push(DepartmentLineJson {
            department: line.department.clone(),
            account: line.account.to_string(),
            currency: currency.code().to_string(),
            debit: format_amount(debit, currency),
            credit: format_amount(credit, currency),
        });
    }
    Ok(DepartmentsJson {
        header: header(snapshot, point, converter.as_ref())?,
        lines: json,
    })
}

// ---------------------------------------------------------------------------------------------
// Handlers

type QueryMap = Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

fn query_of(query: QueryMap) -> Result<HashMap<String, String>, ApiError> {
    query
        .map(|Query(map)| map)
        .map_err(|rejection| bad_request(rejection.body_text()))
}

/// Runs a report on a blocking thread (it reads the store) against one snapshot.
async fn run<T: Send + 'static>(
    chain: ChainHandle,
    report: impl FnOnce(&Snapshot) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || {
        let state = chain.state();
        let reader = chain.store().reports().map_err(store_error)?;
        let snapshot = Snapshot::new(&state, reader)?;
        report(&snapshot)
    })
    .await
    .map_err(internal)?
}

const POINT_PARAMETERS: [&str; 3] = ["as_of", "height", "currency"];

#[utoipa::path(
    get,
    path = "/reports/trial-balance",
    tag = "reports",
    operation_id = "trial_balance",
    summary = "The trial balance, per currency or in a reporting currency.",
    params(crate::openapi::PointParams),
    responses(
        (status = 200, description = "One line per account and currency with a balance (converted \
             lines are netted per account).", body = Vec<TrialBalanceJson>),
        (status = 400, description = "`malformed_request`: an unknown parameter, or `as_of`, \
             `height` or `currency` is not valid.", body = ErrorJson),
        (status = 404, description = "`not_found`: `height` is above the head.", body = ErrorJson),
        (status = 422, description = "`as_of_closed`: the books are closed after `as_of` and keep \
             only the closing trial balance (see `/v1/closings`); `no_fx_rate`: no rate into the \
             reporting currency is recorded on or before the point; `overflow`: a total does not \
             fit.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
pub(crate) async fn trial_balance(
    State(chain): State<ChainHandle>,
    query: QueryMap,
) -> Result<Json<Vec<TrialBalanceJson>>, ApiError> {
    let query = query_of(query)?;
    parameters(&query, &POINT_PARAMETERS)?;
    let point = parse_point(&query)?;
    // The head as of a closed day keeps its long-standing answer: the detail is in the index,
    // but the closing trial balance is the attested one.
    if point.height.is_none() {
        if let (Some(as_of), Some(closed)) = (point.as_of, chain.state().ledger.closed_through()) {
            if as_of < closed {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "as_of_closed",
                    format!(
                        "balances as of {as_of} are not kept: the books are closed through {closed}, and a closed period keeps only its closing trial balance; see /v1/closings"
                    ),
                ));
            }
        }
    }
    run(chain, move |snapshot| {
        trial_balance_report(snapshot, &point)
    })
    .await
    .map(Json)
}

#[utoipa::path(
    get,
    path = "/reports/balance-sheet",
    tag = "reports",
    operation_id = "balance_sheet",
    summary = "The balance sheet, per currency or in a reporting currency.",
    params(crate::openapi::PointParams),
    responses(
        (status = 200, description = "Assets, liabilities and equity per currency, with the result \
             and whether each section balances.", body = BalanceSheetJson),
        (status = 400, description = "`malformed_request`: an unknown parameter, or `as_of`, \
             `height` or `currency` is not valid.", body = ErrorJson),
        (status = 404, description = "`not_found`: `height` is above the head.", body = ErrorJson),
        (status = 422, description = "`no_fx_rate`: no rate into the reporting currency is \
             recorded on or before the point; `overflow`: a total does not fit.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
pub(crate) async fn balance_sheet_handler(
    State(chain): State<ChainHandle>,
    query: QueryMap,
) -> Result<Json<BalanceSheetJson>, ApiError> {
    let query = query_of(query)?;
    parameters(&query, &POINT_PARAMETERS)?;
    let point = parse_point(&query)?;
    run(chain, move |snapshot| {
        balance_sheet_report(snapshot, &point)
    })
    .await
    .map(Json)
}

#[utoipa::path(
    get,
    path = "/reports/income-statement",
    tag = "reports",
    operation_id = "income_statement",
    summary = "The income statement, per currency or in a reporting currency.",
    params(crate::openapi::PointParams),
    responses(
        (status = 200, description = "Revenue, expenses and the result per currency.",
             body = IncomeStatementJson),
        (status = 400, description = "`malformed_request`: an unknown parameter, or `as_of`, \
             `height` or `currency` is not valid.", body = ErrorJson),
        (status = 404, description = "`not_found`: `height` is above the head.", body = ErrorJson),
        (status = 422, description = "`no_fx_rate`: no rate into the reporting currency is \
             recorded on or before the point; `overflow`: a total does not fit.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
pub(crate) async fn income_statement_handler(
    State(chain): State<ChainHandle>,
    query: QueryMap,
) -> Result<Json<IncomeStatementJson>, ApiError> {
    let query = query_of(query)?;
    parameters(&query, &POINT_PARAMETERS)?;
    let point = parse_point(&query)?;
    run(chain, move |snapshot| {
        income_statement_report(snapshot, &point)
    })
    .await
    .map(Json)
}

#[utoipa::path(
    get,
    path = "/reports/ledger/{account}",
    tag = "reports",
    operation_id = "account_ledger",
    summary = "One account's postings in commit order with running balances, a page at a time.",
    params(("account" = String, Path, description = "The account code."
         ), crate::openapi::LedgerParams),
    responses(
        (status = 200, description = "A page of the account's postings; `next` is the `after` of \
             the following page, `null` on the last.", body = AccountLedgerJson),
        (status = 400, description = "`malformed_request`: an unknown parameter, or the account \
             code, `after`, `limit`, `as_of`, `height` or `currency` is not valid.",
             body = ErrorJson),
        (status = 404, description = "`unknown_account`: no such account in the chart; \
             `not_found`: `height` is above the head.", body = ErrorJson),
        (status = 422, description = "`no_fx_rate`: no rate into the reporting currency is \
             recorded on or before the point; `overflow`: a total does not fit.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
pub(crate) async fn ledger_handler(
    State(chain): State<ChainHandle>,
    Path(account): Path<String>,
    query: QueryMap,
) -> Result<Json<AccountLedgerJson>, ApiError> {
    let query = query_of(query)?;
    parameters(&query, &["as_of", "height", "currency", "after", "limit"])?;
    let point = parse_point(&query)?;
    let code = AccountCode::new(&account).map_err(|error| bad_request(error.to_string()))?;
    let after = query
        .get("after")
        .map(|text| {
            text.parse::<u64>().map_err(|_| {
                bad_request(format!(
                    "after: '{text}' is not a posting number (use the previous page's `next`)"
                ))
            })
        })
        .transpose()?;
    let limit = match query.get("limit") {
        None => LEDGER_PAGE_DEFAULT,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=LEDGER_PAGE_MAX).contains(&limit) => limit,
            _ => {
                return Err(bad_request(format!(
                    "limit: '{text}' is not a page size from 1 to {LEDGER_PAGE_MAX}"
                )))
            }
        },
    };
    run(chain, move |snapshot| {
        account_ledger_report(snapshot, &point, &code, after, limit)
    })
    .await
    .map(Json)
}

#[utoipa::path(
    get,
    path = "/reports/ageing",
    tag = "reports",
    operation_id = "ageing",
    summary = "Open receivables or payables per partner, aged in buckets of 0-30, 31-60, 61-90 and \
         over 90 days.",
    params(crate::openapi::AgeingParams),
    responses(
        (status = 200, description = "Per partner and currency, the open amounts per bucket.",
             body = AgeingJson),
        (status = 400, description = "`malformed_request`: an unknown parameter, or `side`, \
             `as_of`, `height` or `currency` is not valid.", body = ErrorJson),
        (status = 404, description = "`not_found`: `height` is above the head.", body = ErrorJson),
        (status = 422, description = "`no_fx_rate`: no rate into the reporting currency is \
             recorded on or before the point; `overflow`: a total does not fit.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
pub(crate) async fn ageing_handler(
    State(chain): State<ChainHandle>,
    query: QueryMap,
) -> Result<Json<AgeingJson>, ApiError> {
    let query = query_of(query)?;
    parameters(&query, &["as_of", "height", "currency", "side"])?;
    let point = parse_point(&query)?;
    let side = match query.get("side").map(String::as_str) {
        None | Some("receivable") => AgeingSide::Receivable,
        Some("payable") => AgeingSide::Payable,
        Some(other) => {
            return Err(bad_request(format!(
                "side: '{other}' is not receivable or payable"
            )))
        }
    };
    run(chain, move |snapshot| ageing_report(snapshot, &point, side))
        .await
        .map(Json)
}

#[utoipa::path(
    get,
    path = "/reports/departments",
    tag = "reports",
    operation_id = "departments",
    summary = "Debit and credit totals per department, account and currency.",
    params(crate::openapi::PointParams),
    responses(
        (status = 200, description = "One line per department, account and currency.",
             body = DepartmentsJson),
        (status = 400, description = "`malformed_request`: an unknown parameter, or `as_of`, \
             `height` or `currency` is not valid.", body = ErrorJson),
        (status = 404, description = "`not_found`: `height` is above the head.", body = ErrorJson),
        (status = 422, description = "`no_fx_rate`: no rate into the reporting currency is \
             recorded on or before the point; `overflow`: a total does not fit.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
pub(crate) async fn departments_handler(
    State(chain): State<ChainHandle>,
    query: QueryMap,
) -> Result<Json<DepartmentsJson>, ApiError> {
    let query = query_of(query)?;
    parameters(&query, &POINT_PARAMETERS)?;
    let point = parse_point(&query)?;
    run(chain, move |snapshot| departments_report(snapshot, &point))
        .await
        .map(Json)
}
