//! Accounting dates.
//!
//! An entry's date is the day it belongs to in the books, chosen by the client,
//! not a clock reading: the ledger has no clock, so that every node replaying
//! the same entries reaches the same state.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::text::echo;

/// Earliest year a date may have. Nothing in e-commerce predates 1900, and a
/// floor catches typos such as "0226" for "2026".
pub const YEAR_MIN: u32 = 1900;

/// Latest year a date may have: the last one with four digits, so that the
/// text form is always exactly "YYYY-MM-DD" and sorts like the date.
pub const YEAR_MAX: u32 = 9999;

/// A calendar date, packed as the number `yyyymmdd` so that comparing the
/// numbers compares the dates.
///
/// It (de)serializes as the text "2026-11-24" in human-readable formats (JSON) and as the packed
/// number in binary ones (postcard): every entry is hashed in its binary form, and formatting a
/// date to text there cost more than hashing it. Deserialization validates either way.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Date(u32);

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&String::from(*self))
        } else {
            serializer.serialize_u32(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            Date::try_from(text).map_err(serde::de::Error::custom)
        } else {
            let packed = u32::deserialize(deserializer)?;
            Date::from_packed(packed).map_err(serde::de::Error::custom)
        }
    }
}

/// Why a date was refused.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum DateError {
    /// Not of the form YYYY-MM-DD.
    #[error("invalid date '{text}' (expected YYYY-MM-DD, e.g. 2026-11-24)")]
    Malformed {
        /// The rejected text.
        text: String,
    },
    /// The year is outside [`YEAR_MIN`]..=[`YEAR_MAX`].
    #[error("year {year} is out of range ({YEAR_MIN} to {YEAR_MAX})")]
    YearOutOfRange {
        /// The rejected year.
        year: u32,
    },
    /// The month is not 1..=12.
    #[error("month {month} does not exist (1 to 12)")]
    MonthOutOfRange {
        /// The rejected month.
        month: u32,
    },
    /// The day does not exist in that month.
    #[error("day {day} does not exist in {year:04}-{month:02} (it has {days} days)")]
    DayOutOfRange {
        /// The year.
        year: u32,
        /// The month.
        month: u32,
        /// The rejected day.
        day: u32,
        /// How many days the month has.
        days: u32,
    },
}

/// Whether `year` has a 29th of February (Gregorian rules).
// `u32::is_multiple_of` needs Rust 1.87; the workspace supports 1.85.
#[allow(clippy::manual_is_multiple_of)]
fn is_leap_year(year: u32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` of `year`; `month` must already be 1..=12.
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// Makes a date, checking that it exists.
    pub fn from_ymd(year: u32, month: u32, day: u32) -> Result<Date, DateError> {
        if !(YEAR_MIN..=YEAR_MAX).contains(&year) {
            return Err(DateError::YearOutOfRange { year });
        }
        if !(1..=12).contains(&month) {
            return Err(DateError::MonthOutOfRange { month });
        }
        let days = days_in_month(year, month);
        if !(1..=days).contains(&day) {
            return Err(DateError::DayOutOfRange {
                year,
                month,
                day,
                days,
            });
        }
        // year <= 9999, month <= 12 and day <= 31 keep this below 10^8.
        Ok(Date(year * 10_000 + month * 100 + day))
    }

    /// Parses "YYYY-MM-DD" (exactly four, two and two digits).
    pub fn parse(text: &str) -> Result<Date, DateError> {
        let malformed = || DateError::Malformed { text: echo(text) };
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
            return Err(malformed());
        }
        let number = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = bytes.get(range)?;
            part.iter().try_fold(0u32, |value, &b| {
                if !b.is_ascii_digit() {
                    return None;
                }
                value
                    .checked_mul(10)?
                    .checked_add(u32::from(b.wrapping_sub(b'0')))
            })
        };
        match (number(0..4), number(5..7), number(8..10)) {
            (Some(year), Some(month), Some(day)) => Date::from_ymd(year, month, day),
            _ => Err(malformed()),
        }
    }

    /// The UTC calendar day of a Unix time in milliseconds (block times are
    /// such times), clamped into [`YEAR_MIN`]..=[`YEAR_MAX`].
    ///
    /// Clamping instead of failing lets a caller book anything a header's
    /// time says: a `u64` of milliseconds reaches years far beyond 9999, and
    /// such a time can only come from a wrong clock, which the chain's own
    /// time rules catch. Unix times start in 1970, so the lower bound never
    /// applies in practice. Uses Howard Hinnant's `civil_from_days`.
    pub fn from_unix_ms(ms: u64) -> Date {
        const MS_PER_DAY: u64 = 86_400_000;
        // 1970-01-01 counted from 0000-03-01, the start of the algorithm's
        // era (years begin in March so that leap days fall at their end).
        const DAYS_FROM_ERA_START_TO_EPOCH: u64 = 719_468;
        const DAYS_PER_ERA: u64 = 146_097;
        let last = Date(YEAR_MAX * 10_000 + 12 * 100 + 31);
        let days = ms / MS_PER_DAY + DAYS_FROM_ERA_START_TO_EPOCH;
        let era = days / DAYS_PER_ERA;
        let day_of_era = days % DAYS_PER_ERA;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        };
        let year = era
            .saturating_mul(400)
            .saturating_add(year_of_era)
            .saturating_add(u64::from(month <= 2));
        if year > u64::from(YEAR_MAX) {
            return last;
        }
        if year < u64::from(YEAR_MIN) {
            return Date(YEAR_MIN * 10_000 + 100 + 1);
        }
        // The checks above keep the year in range, and the algorithm keeps
        // month in 1..=12 and day within the month, so these casts are exact.
        Date(year as u32 * 10_000 + month as u32 * 100 + day as u32)
    }

    /// Rebuilds a date from its packed `yyyymmdd` form, checking it.
    pub fn from_packed(packed: u32) -> Result<Date, DateError> {
        Date::from_ymd(packed / 10_000, packed / 100 % 100, packed % 100)
    }

    /// The packed `yyyymmdd` number.
    pub fn packed(self) -> u32 {
        self.0
    }

    /// The year, 1900..=9999.
    pub fn year(self) -> u32 {
        self.0 / 10_000
    }

    /// The month, 1..=12.
    pub fn month(self) -> u32 {
        self.0 / 100 % 100
    }

    /// The day of the month, 1..=31.
    pub fn day(self) -> u32 {
        self.0 % 100
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.year(),
            self.month(),
            self.day()
        )
    }
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Date::parse(text)
    }
}

impl TryFrom<String> for Date {
    type Error = DateError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Date::parse(&text)
    }
}

impl From<Date> for String {
    fn from(date: Date) -> String {
        date.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_and_prints_dates() {
        let date = Date::from_ymd(2026, 11, 24).unwrap();
        assert_eq!(date.to_string(), "2026-11-24");
        assert_eq!((date.year(), date.month(), date.day()), (2026, 11, 24));
        assert_eq!(date.packed(), 20261124);
        assert_eq!(Date::from_packed(20261124), Ok(date));
        assert_eq!(Date::parse("2026-11-24"), Ok(date));
        assert_eq!(
            "1900-01-01".parse::<Date>().unwrap().to_string(),
            "1900-01-01"
        );
        assert_eq!(
            Date::from_ymd(9999, 12, 31).unwrap().to_string(),
            "9999-12-31"
        );
    }

    #[test]
    fn ordering_is_date_ordering() {
        let a = Date::parse("2025-12-31").unwrap();
        let b = Date::parse("2026-01-01").unwrap();
        let c = Date::parse("2026-01-02").unwrap();
        assert!(a < b && b < c);
    }

    #[test]
    fn leap_years() {
        assert!(Date::from_ymd(2024, 2, 29).is_ok());
        assert!(Date::from_ymd(2000, 2, 29).is_ok());
        assert_eq!(
            Date::from_ymd(1900, 2, 29).unwrap_err().to_string(),
            "day 29 does not exist in 1900-02 (it has 28 days)"
        );
        assert!(Date::from_ymd(2026, 2, 29).is_err());
        assert!(Date::from_ymd(2026, 4, 31).is_err());
        assert!(Date::from_ymd(2026, 1, 31).is_ok());
    }

    #[test]
    fn refuses_bad_dates_with_exact_messages() {
        assert_eq!(
            Date::from_ymd(1899, 12, 31).unwrap_err().to_string(),
            "year 1899 is out of range (1900 to 9999)"
        );
        assert_eq!(
            Date::from_ymd(2026, 13, 1).unwrap_err().to_string(),
            "month 13 does not exist (1 to 12)"
        );
        assert_eq!(
            Date::from_ymd(2026, 1, 0).unwrap_err().to_string(),
            "day 0 does not exist in 2026-01 (it has 31 days)"
        );
        assert_eq!(
            Date::parse("24.11.2026").unwrap_err().to_string(),
            "invalid date '24.11.2026' (expected YYYY-MM-DD, e.g. 2026-11-24)"
        );
        for bad in [
            "",
            "2026-1-24",
            "2026-11-2x",
            "+026-11-24",
            "2026-11-240",
            "2026/11/24",
            "२०२६-११-२४",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Date::from_packed(0).is_err());
        assert!(Date::from_packed(u32::MAX).is_err());
    }

    #[test]
    fn from_unix_ms_gives_the_utc_day() {
        let day = |ms: u64| Date::from_unix_ms(ms).to_string();
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(86_399_999), "1970-01-01");
        assert_eq!(day(86_400_000), "1970-01-02");
        // 2000 is a leap year (divisible by 400): 2000-02-29 exists.
        assert_eq!(day(951_782_400_000), "2000-02-29");
        assert_eq!(day(951_868_800_000), "2000-03-01");
        // 2024-02-29 and the day after; 2023 has no 29 February.
        assert_eq!(day(1_709_164_800_000), "2024-02-29");
        assert_eq!(day(1_709_251_199_999), "2024-02-29");
        assert_eq!(day(1_709_251_200_000), "2024-03-01");
        assert_eq!(day(1_677_628_800_000), "2023-03-01");
        assert_eq!(day(1_677_628_799_999), "2023-02-28");
        // 2100 is not a leap year (divisible by 100, not by 400).
        assert_eq!(day(4_107_456_000_000), "2100-02-28");
        assert_eq!(day(4_107_542_400_000), "2100-03-01");
        assert_eq!(day(1_735_689_599_999), "2024-12-31");
        assert_eq!(day(1_735_689_600_000), "2025-01-01");
        // 9999-12-31T23:59:59.999Z is the last representable day; later
        // times clamp to it instead of failing or wrapping.
        assert_eq!(day(253_402_300_799_999), "9999-12-31");
        assert_eq!(day(253_402_300_800_000), "9999-12-31");
        assert_eq!(day(u64::MAX), "9999-12-31");
    }

    #[test]
    fn from_unix_ms_agrees_with_counting_days() {
        // Walks day by day from 1970 to 2100 and checks each result is the
        // day after the previous one, which covers every month end.
        let mut expected = Date::from_ymd(1970, 1, 1).unwrap();
        for index in 0..(130 * 366) {
            let ms = index * 86_400_000 + 43_200_000;
            let got = Date::from_unix_ms(ms);
            assert_eq!(got, expected, "day {index}");
            let (y, m, d) = (expected.year(), expected.month(), expected.day());
            expected = if d < days_in_month(y, m) {
                Date::from_ymd(y, m, d + 1).unwrap()
            } else if m < 12 {
                Date::from_ymd(y, m + 1, 1).unwrap()
            } else {
                Date::from_ymd(y + 1, 1, 1).unwrap()
            };
        }
    }

    #[test]
    fn string_round_trip() {
        let date = Date::from_ymd(2026, 3, 5).unwrap();
        let text: String = date.into();
        assert_eq!(text, "2026-03-05");
        assert_eq!(Date::try_from(text), Ok(date));
    }
}
