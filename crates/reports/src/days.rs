//! Day arithmetic on accounting dates, for the age of an open item.

use tally_ledger::Date;

/// Days from 1970-01-01 to `date` (Howard Hinnant's `days_from_civil`); negative before 1970.
fn days_from_epoch(date: Date) -> i64 {
    let month = i64::from(date.month());
    let day = i64::from(date.day());
    let year = i64::from(date.year()) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Whole days from `earlier` to `later` (negative when `later` is before `earlier`).
pub fn days_between(earlier: Date, later: Date) -> i64 {
    days_from_epoch(later) - days_from_epoch(earlier)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn counts_days_across_months_and_leap_years() {
        assert_eq!(days_from_epoch(date("1970-01-01")), 0);
        assert_eq!(days_between(date("2024-02-28"), date("2024-03-01")), 2);
        assert_eq!(days_between(date("2023-02-28"), date("2023-03-01")), 1);
        assert_eq!(days_between(date("2026-01-01"), date("2026-12-31")), 364);
        assert_eq!(days_between(date("2026-03-01"), date("2026-01-01")), -59);
    }

    #[test]
    fn agrees_with_the_ledger_calendar() {
        // from_unix_ms is the inverse: every day of four years round-trips.
        for day in 19_000..(19_000 + 4 * 366) {
            let date = Date::from_unix_ms(day as u64 * 86_400_000);
            assert_eq!(days_from_epoch(date), day);
        }
    }
}
