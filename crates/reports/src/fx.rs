//! Exchange rates recorded on the chain, and conversion into a reporting currency.
//!
//! The rule: an entry *records a rate* when its postings to the FX trading account (3900 in the
//! default chart) net, per currency, to non-zero amounts in exactly two currencies, one on each
//! side. Converting 100.00 EUR into 110.00 USD books EUR 100.00 credit and USD 110.00 debit
//! there, so the entry records 1 EUR = 1.10 USD (and 1 USD = 100/110 EUR). A rate is kept as the
//! two amounts in minor units, never as a float, and converts `amount * to / from`, rounded half
//! away from zero to the reporting currency's minor unit.
//!
//! A report converts each line at the latest rate recorded on or before its as-of date (by
//! accounting date, then commit order), directly between the two currencies; there is no
//! triangulation through a third currency. Without such a rate the report is refused
//! ([`FxError::NoRate`]) rather than guessed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tally_ledger::{AccountCode, Currency, Date, Posting, Side};

/// One direction of a rate one entry recorded: `from_minor` of `from` bought `to_minor` of `to`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct FxObservation {
    pub from: Currency,
    pub to: Currency,
    pub from_minor: u128,
    pub to_minor: u128,
}

/// The rates an entry with `postings` records through `fx_account`: both directions of one
/// pair, or none (see the module documentation).
pub fn fx_observations(postings: &[Posting], fx_account: &AccountCode) -> Vec<FxObservation> {
    let mut nets: BTreeMap<Currency, i128> = BTreeMap::new();
    for posting in postings.iter().filter(|p| &p.account == fx_account) {
        let amount = i128::from(posting.amount);
        let net = nets.entry(posting.currency).or_default();
        // 64 postings of u64 cannot overflow i128.
        *net += match posting.side {
            Side::Debit => amount,
            Side::Credit => -amount,
        };
    }
    nets.retain(|_, net| *net != 0);
    let pair: Vec<(Currency, i128)> = nets.into_iter().collect();
    let [(first, first_net), (second, second_net)] = pair[..] else {
        return Vec::new();
    };
    if (first_net > 0) == (second_net > 0) {
        return Vec::new();
    }
    let (first_minor, second_minor) = (first_net.unsigned_abs(), second_net.unsigned_abs());
    vec![
        FxObservation {
            from: first,
            to: second,
            from_minor: first_minor,
            to_minor: second_minor,
        },
        FxObservation {
            from: second,
            to: first,
            from_minor: second_minor,
            to_minor: first_minor,
        },
    ]
}

/// A rate as recorded: where it comes from, for the report to show.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Rate {
    pub from: Currency,
    pub to: Currency,
    pub from_minor: u128,
    pub to_minor: u128,
    /// The accounting date of the entry that recorded it.
    pub date: Date,
    /// The entry that recorded it.
    pub entry: String,
}

/// Why an amount cannot be converted.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum FxError {
    /// No entry recorded a rate between the two currencies on or before the date.
    #[error("no FX rate from {from} to {to} recorded on or before {as_of}: book a conversion through the FX trading account first")]
    NoRate {
        from: Currency,
        to: Currency,
        /// The as-of date, or "the head".
        as_of: String,
    },
    /// The converted amount does not fit.
    #[error("converting {from} to {to} overflows")]
    Overflow { from: Currency, to: Currency },
}

/// Converts into one reporting currency with one rate per other currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converter {
    target: Currency,
    rates: BTreeMap<Currency, Rate>,
}

impl Converter {
    /// A converter into `target` with the rates of `rates` (each `from` some currency `to`
    /// `target`; others are ignored).
    pub fn new(target: Currency, rates: impl IntoIterator<Item = Rate>) -> Converter {
        let rates = rates
            .into_iter()
            .filter(|rate| rate.to == target && rate.from != target && rate.from_minor != 0)
            .map(|rate| (rate.from, rate))
            .collect();
        Converter { target, rates }
    }

    /// The reporting currency.
    pub fn target(&self) -> Currency {
        self.target
    }

    /// The rates used, by source currency.
    pub fn rates(&self) -> impl Iterator<Item = &Rate> {
        self.rates.values()
    }

    /// `amount` minor units of `currency` in the reporting currency. `as_of` only words the
    /// error.
    pub fn convert(&self, amount: i128, currency: Currency, as_of: &str) -> Result<i128, FxError> {
        if currency == self.target {
            return Ok(amount);
        }
        let rate = self.rates.get(&currency).ok_or_else(|| FxError::NoRate {
            from: currency,
            to: self.target,
            as_of: as_of.to_string(),
        })?;
        let overflow = || FxError::Overflow {
            from: currency,
            to: self.target,
        };
        let magnitude = amount
            .unsigned_abs()
            .checked_mul(rate.to_minor)
            .ok_or_else(overflow)?;
        let quotient = magnitude / rate.from_minor;
        let remainder = magnitude % rate.from_minor;
        // Half away from zero: round up when the remainder is at least half the divisor.
        let rounded = if remainder >= rate.from_minor - remainder {
            quotient + 1
        } else {
            quotient
        };
        let rounded = i128::try_from(rounded).map_err(|_| overflow())?;
        Ok(if amount < 0 { -rounded } else { rounded })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::from_code(code).unwrap()
    }

    fn posting(account: &str, side: Side, amount: u64, code: &str) -> Posting {
        Posting {
            account: AccountCode::new(account).unwrap(),
            side,
            amount,
            currency: currency(code),
        }
    }

    #[test]
    fn a_conversion_through_the_trading_account_records_both_directions() {
        let fx = AccountCode::new("3900").unwrap();
        let postings = [
            posting("1000", Side::Debit, 11_000, "USD"),
            posting("3900", Side::Credit, 11_000, "USD"),
            posting("3900", Side::Debit, 10_000, "EUR"),
            posting("1000", Side::Credit, 10_000, "EUR"),
        ];
        let observed = fx_observations(&postings, &fx);
        assert_eq!(observed.len(), 2);
        assert!(observed.contains(&FxObservation {
            from: currency("EUR"),
            to: currency("USD"),
            from_minor: 10_000,
            to_minor: 11_000,
        }));
        // One currency, or both on one side, is no rate.
        assert!(fx_observations(&postings[..2], &fx).is_empty());
        let same_side = [
            posting("3900", Side::Debit, 1, "USD"),
            posting("3900", Side::Debit, 1, "EUR"),
        ];
        assert!(fx_observations(&same_side, &fx).is_empty());
    }

    #[test]
    fn converts_with_rounding_half_away_from_zero_and_refuses_unknown_pairs() {
        let rate = Rate {
            from: currency("USD"),
            to: currency("EUR"),
            from_minor: 11_000,
            to_minor: 10_000,
            date: Date::parse("2026-01-01").unwrap(),
            entry: "fx-1".into(),
        };
        let converter = Converter::new(currency("EUR"), [rate]);
        assert_eq!(converter.convert(1_100, currency("USD"), "x"), Ok(1_000));
        // 1 cent USD = 0.909 cents EUR -> 1; 0.5 -> away from zero.
        assert_eq!(converter.convert(1, currency("USD"), "x"), Ok(1));
        assert_eq!(converter.convert(-1, currency("USD"), "x"), Ok(-1));
        assert_eq!(converter.convert(5, currency("EUR"), "x"), Ok(5));
        let error = converter
            .convert(5, currency("GBP"), "2026-02-01")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "no FX rate from GBP to EUR recorded on or before 2026-02-01: book a conversion through the FX trading account first"
        );
    }
}
