//! AR/AP ageing: open items (see the `items` module) by partner, in buckets of age.
//!
//! The age of an item is the number of days from its date (`since`) to the as-of date. Buckets
//! are 0-30, 31-60, 61-90 and over 90 days ([`BUCKET_LIMITS_DAYS`]); an item dated after the
//! as-of date (only possible when asked for an earlier day than some item's) counts as 0 days.
//! Amounts are on the side's natural side: what partners owe us for receivables (debit
//! positive), what we owe them for payables (credit positive); an overpaid item is negative.
//! Per partner and currency, the buckets add up to the total of its open items.

use std::collections::BTreeMap;

use tally_ledger::{Currency, Date};

use crate::days::days_between;
use crate::fx::Converter;
use crate::ReportError;

/// The last day of each bucket but the last: 0-30, 31-60, 61-90, then over 90.
pub const BUCKET_LIMITS_DAYS: [i64; 3] = [30, 60, 90];

/// Which open items: what partners owe (asset accounts with a sub-ledger) or what is owed to
/// them (liability accounts with a sub-ledger).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AgeingSide {
    Receivable,
    Payable,
}

impl AgeingSide {
    pub fn as_str(self) -> &'static str {
        match self {
            AgeingSide::Receivable => "receivable",
            AgeingSide::Payable => "payable",
        }
    }
}

/// Open items of one partner, currency and date, netted (debit positive), and how many.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AgeingInput {
    pub partner: String,
    pub currency: Currency,
    pub since: Date,
    pub net: i128,
    pub items: u64,
}

/// One partner in one currency.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AgeingLine {
    pub partner: String,
    pub currency: Currency,
    /// 0-30, 31-60, 61-90, over 90 days.
    pub buckets: [i128; 4],
    pub total: i128,
    pub items: u64,
}

fn bucket(age_days: i64) -> usize {
    BUCKET_LIMITS_DAYS
        .iter()
        .position(|limit| age_days <= *limit)
        .unwrap_or(BUCKET_LIMITS_DAYS.len())
}

/// The ageing of `inputs` as of `as_of`, by partner then currency; with a converter, every
/// amount in its reporting currency.
pub fn ageing(
    inputs: impl IntoIterator<Item = AgeingInput>,
    side: AgeingSide,
    as_of: Date,
    converter: Option<&Converter>,
) -> Result<Vec<AgeingLine>, ReportError> {
    let mut lines: BTreeMap<(String, Currency), AgeingLine> = BTreeMap::new();
    let as_of_text = as_of.to_string();
    for input in inputs {
        let (currency, net) = match converter {
            Some(converter) => (
                converter.target(),
                converter.convert(input.net, input.currency, &as_of_text)?,
            ),
            None => (input.currency, input.net),
        };
        let overflow = ReportError::Overflow { currency };
        let amount = match side {
            AgeingSide::Receivable => net,
            AgeingSide::Payable => net.checked_neg().ok_or(overflow.clone())?,
        };
        let line = lines
            .entry((input.partner.clone(), currency))
            .or_insert_with(|| AgeingLine {
                partner: input.partner.clone(),
                currency,
                buckets: [0; 4],
                total: 0,
                items: 0,
            });
        let slot = &mut line.buckets[bucket(days_between(input.since, as_of).max(0))];
        *slot = slot.checked_add(amount).ok_or(overflow.clone())?;
        line.total = line.total.checked_add(amount).ok_or(overflow)?;
        line.items = line.items.saturating_add(input.items);
    }
    Ok(lines.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_edges() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(30), 0);
        assert_eq!(bucket(31), 1);
        assert_eq!(bucket(60), 1);
        assert_eq!(bucket(61), 2);
        assert_eq!(bucket(90), 2);
        assert_eq!(bucket(91), 3);
    }
}
