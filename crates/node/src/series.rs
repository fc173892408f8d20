//! `GET /v1/reports/series`: an account's balance in one currency at the end of each day, week
//! or month, for the dashboard's revenue and cash charts.
//!
//! The balance at the end of an interval is every posting dated on or before its last day, on
//! the account kind's natural side (what the account ledger's running balance shows when
//! entries are booked in date order). It is read from the report index: the account's postings
//! in commit order, summed per date once, then swept over the interval ends.

use std::collections::BTreeMap;

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::StatusCode,
    Json,
};
use tally_consensus::ChainHandle;
use tally_ledger::{format_signed, AccountCode, AccountKind, Currency, Date, Side};

use crate::api::{internal, ApiError};
use crate::wire::{ErrorJson, SeriesJson, SeriesPointJson};

/// Most points one series may have: a chart of a thousand points is already denser than a
/// screen, and the answer stays small. Beyond it the request is refused with what to change.
pub const SERIES_POINTS_MAX: usize = 1_000;

/// Postings read from the index at a time: bounds the memory of one read, not the series.
const SERIES_READ_PAGE: usize = 10_000;

/// Most postings one series reads. The balance at any date needs every earlier posting of the
/// account, so this bounds the work of one request on a busy account; past it the request is
/// refused (the account ledger pages through such an account instead).
pub const SERIES_POSTINGS_MAX: usize = 2_000_000;

const MS_PER_DAY: u64 = 86_400_000;

/// The query, as text so each error names its parameter.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesQuery {
    account: Option<String>,
    currency: Option<String>,
    interval: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The length of the intervals a series is cut into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    Month,
}

impl Interval {
    fn parse(text: &str) -> Result<Interval, ApiError> {
        match text {
            "day" => Ok(Interval::Day),
            "week" => Ok(Interval::Week),
            "month" => Ok(Interval::Month),
            _ => Err(malformed(format!(
                "interval: '{text}' is not one of day, week, month"
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
        }
    }

    /// The last day of the interval holding `date`.
    fn end_of(self, date: Date) -> Date {
        match self {
            Interval::Day => date,
            Interval::Week => {
                let days = days_since_epoch(date);
                // 1970-01-01 was a Thursday: day 0 is weekday 3 counted from Monday.
                let weekday = (days + 3).rem_euclid(7);
                date_of_days(days + (6 - weekday))
            }
            Interval::Month => {
                let (year, month) = if date.month() == 12 {
                    (date.year() + 1, 1)
                } else {
                    (date.year(), date.month() + 1)
                };
                match Date::from_ymd(year, month, 1) {
                    Ok(first_of_next) => date_of_days(days_since_epoch(first_of_next) - 1),
                    // Only December of the last representable year has no next month.
                    Err(_) => date,
                }
            }
        }
    }
}

fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "malformed_request", message)
}

/// Days from 1970-01-01 to `date` (Howard Hinnant's `days_from_civil`), negative before it.
fn days_since_epoch(date: Date) -> i64 {
    let (year, month, day) = (
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    );
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01; days before it are clamped to it (Unix times start there).
fn date_of_days(days: i64) -> Date {
    Date::from_unix_ms(u64::try_from(days).unwrap_or(0).saturating_mul(MS_PER_DAY))
}

/// The interval ends from the one holding `from` to the one holding `to`, the last clipped to
/// `to` (the balance so far); an error if there would be more than [`SERIES_POINTS_MAX`].
pub fn interval_ends(from: Date, to: Date, interval: Interval) -> Result<Vec<Date>, ApiError> {
    let mut ends = Vec::new();
    let mut end = interval.end_of(from);
    loop {
        if ends.len() == SERIES_POINTS_MAX {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "too_many_points",
                format!(
                    "from {from} to {to} by {} is more than {SERIES_POINTS_MAX} points; ask for a shorter range or a longer interval",
                    interval.as_str()
                ),
            ));
        }
        if end >= to {
            ends.push(to);
            return Ok(ends);
        }
        ends.push(end);
        let next = interval.end_of(date_of_days(days_since_epoch(end) + 1));
        if next <= end {
            // The last representable date: nothing follows it.
            return Ok(ends);
        }
        end = next;
    }
}

/// The balance of an account at the end of each interval.
#[utoipa::path(
    get,
    path = "/reports/series",
    tag = "reports",
    params(crate::openapi::SeriesParams),
    responses(
        (status = 200, description = "The account's balance on its natural side at the end of \
             each interval, oldest first.", body = SeriesJson),
        (status = 400, description = "`malformed_request`: a missing account, an unknown \
             parameter or one that is not valid (each message names it); `too_many_points`: \
             more than 1,000 intervals.", body = ErrorJson),
        (status = 404, description = "`unknown_account`: no such account.", body = ErrorJson),
        (status = 422, description = "`too_many_postings`: the account has more postings than \
             a series reads; page through its ledger instead.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its index.",
             body = ErrorJson),
    ),
)]
pub async fn series_handler(
    State(chain): State<ChainHandle>,
    query: Result<Query<SeriesQuery>, QueryRejection>,
) -> Result<Json<SeriesJson>, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        malformed(format!(
            "{}; the parameters are account, currency, interval, from and to",
            rejection.body_text()
        ))
    })?;
    let code = match &query.account {
        Some(text) => {
            AccountCode::new(text).map_err(|error| malformed(format!("account: {error}")))?
        }
        None => {
            return Err(malformed(
                "account: name the account with ?account=CODE (e.g. 4000 for sales revenue)",
            ))
        }
    };
    let interval = query
        .interval
        .as_deref()
        .map(Interval::parse)
        .transpose()?
        .unwrap_or(Interval::Day);
    let parse_date = |field: &str, text: &Option<String>| {
        text.as_deref()
            .map(|text| Date::parse(text).map_err(|error| malformed(format!("{field}: {error}"))))
            .transpose()
    };
    let from = parse_date("from", &query.from)?;
    let to = parse_date("to", &query.to)?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(malformed(format!("from {from} is after to {to}")));
        }
    }
    let state = chain.state();
    let account = state.ledger.account(&code).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_account",
            format!("no account '{code}' in the chart"),
        )
    })?;
    let (name, kind) = (account.name.clone(), account.kind);
    let currencies: Vec<Currency> = state
        .ledger
        .balances_of(&code)
        .map(|(currency, _)| currency)
        .collect();
    let currency = match &query.currency {
        Some(text) => {
            Currency::from_code(text).map_err(|error| malformed(format!("currency: {error}")))?
        }
        None => match currencies.as_slice() {
            [only] => *only,
            [] => {
                return Err(malformed(format!(
                    "currency: account {code} has no postings yet; name the currency with ?currency=CODE"
                )))
            }
            several => {
                let codes: Vec<&str> = several.iter().map(|currency| currency.code()).collect();
                return Err(malformed(format!(
                    "currency: account {code} has balances in {}; name one with ?currency=CODE",
                    codes.join(", ")
                )));
            }
        },
    };
    let account_code = code.to_string();
    let head_date = Date::from_unix_ms(state.time_ms);
    let (height, per_date) =
        tokio::task::spawn_blocking(move || totals_per_date(&chain, &code, currency, kind))
            .await
            .map_err(internal)??;
    // By default the series runs to the head block's day, or to the last posting's date when
    // entries were dated later than the block that committed them.
    let to = to.unwrap_or_else(|| {
        per_date
            .keys()
            .next_back()
            .map_or(head_date, |last| (*last).max(head_date))
    });
    if let Some(from) = from.filter(|from| *from > to) {
        return Err(malformed(format!(
            "from {from} is after to {to} (when to is not given, the later of the head block's day and the last posting's date)"
        )));
    }
    let ends = match from {
        Some(from) => interval_ends(from, to, interval)?,
        // By default the series starts at the account's first posting, and keeps the latest
        // points when that is too far back for one series.
        None => {
            let first = per_date.keys().next().copied().unwrap_or(to).min(to);
            match interval_ends(first, to, interval) {
                Ok(ends) => ends,
                Err(_) => {
                    let days_back = match interval {
                        Interval::Day => SERIES_POINTS_MAX as i64 - 1,
                        Interval::Week => 7 * (SERIES_POINTS_MAX as i64 - 1),
                        Interval::Month => 31 * (SERIES_POINTS_MAX as i64 - 2),
                    };
                    let from = date_of_days(days_since_epoch(to) - days_back);
                    interval_ends(from, to, interval)?
                }
            }
        }
    };
    let mut points = Vec::with_capacity(ends.len());
    let mut dates = per_date.iter().peekable();
    let mut balance: i128 = 0;
    for end in ends {
        while let Some((_, delta)) = dates.next_if(|(date, _)| **date <= end) {
            balance = balance
                .checked_add(*delta)
                .ok_or_else(|| internal("a series balance overflows"))?;
        }
        points.push(SeriesPointJson {
            date: end.to_string(),
            balance: format_signed(balance, currency),
        });
    }
    Ok(Json(SeriesJson {
        account: account_code,
        name,
        kind: kind.as_str().to_string(),
        currency: currency.code().to_string(),
        interval: interval.as_str().to_string(),
        height,
        points,
    }))
}

/// The indexed height and the account's postings in `currency`, summed per accounting date on
/// the natural side of `kind`.
fn totals_per_date(
    chain: &ChainHandle,
    code: &AccountCode,
    currency: Currency,
    kind: AccountKind,
) -> Result<(u64, BTreeMap<Date, i128>), ApiError> {
    let reader = chain.store().reports().map_err(internal)?;
    let Some(height) = reader.height().map_err(internal)? else {
        return Ok((0, BTreeMap::new()));
    };
    let seq_end = reader
        .seq_end(height)
        .map_err(internal)?
        .ok_or_else(|| internal(format!("height {height} is not in the report index")))?;
    let debit_sign: i128 = match kind {
        AccountKind::Asset | AccountKind::Expense => 1,
        _ => -1,
    };
    let mut per_date: BTreeMap<Date, i128> = BTreeMap::new();
    let mut after = None;
    let mut read = 0usize;
    loop {
        let page = reader
            .postings(code, currency, after, seq_end, Some(SERIES_READ_PAGE))
            .map_err(internal)?;
        read += page.len();
        if read > SERIES_POSTINGS_MAX {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "too_many_postings",
                format!(
                    "account {code} has more than {SERIES_POSTINGS_MAX} postings in {}; page through /v1/reports/ledger/{code} instead",
                    currency.code()
                ),
            ));
        }
        for posting in &page {
            let signed = match posting.side {
                Side::Debit => debit_sign * i128::from(posting.amount),
                Side::Credit => -debit_sign * i128::from(posting.amount),
            };
            *per_date.entry(posting.date).or_default() += signed;
        }
        match page.last() {
            Some(last) if page.len() == SERIES_READ_PAGE => after = Some(last.seq),
            _ => return Ok((height, per_date)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn days_round_trip_through_the_epoch_count() {
        for text in ["1970-01-01", "2000-02-29", "2026-12-31", "2027-03-01"] {
            assert_eq!(date_of_days(days_since_epoch(date(text))), date(text));
        }
        assert_eq!(days_since_epoch(date("1970-01-02")), 1);
    }

    #[test]
    fn intervals_end_on_the_day_the_week_sunday_and_the_month_end() {
        // 2026-04-01 is a Wednesday.
        assert_eq!(
            Interval::Week.end_of(date("2026-04-01")),
            date("2026-04-05")
        );
        assert_eq!(
            Interval::Week.end_of(date("2026-04-05")),
            date("2026-04-05")
        );
        assert_eq!(
            Interval::Month.end_of(date("2024-02-10")),
            date("2024-02-29")
        );
        assert_eq!(
            Interval::Month.end_of(date("2026-12-02")),
            date("2026-12-31")
        );
        let ends: Vec<String> =
            interval_ends(date("2026-01-15"), date("2026-03-10"), Interval::Month)
                .ok()
                .expect("three months")
                .iter()
                .map(Date::to_string)
                .collect();
        assert_eq!(ends, ["2026-01-31", "2026-02-28", "2026-03-10"]);
        let ends = interval_ends(date("2026-04-01"), date("2026-04-03"), Interval::Day)
            .ok()
            .expect("three days");
        assert_eq!(ends.len(), 3);
    }

    #[test]
    fn a_series_longer_than_the_bound_is_refused_with_what_to_change() {
        let Err(error) = interval_ends(date("2020-01-01"), date("2026-01-01"), Interval::Day)
        else {
            panic!("six years of days is more than the bound");
        };
        let response = axum::response::IntoResponse::into_response(error);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}
