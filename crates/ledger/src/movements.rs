//! Movements per open date: the debit and credit sums of every (account,
//! currency) posted with each accounting date after the last close.
//!
//! The ledger keeps running totals for its rules (no-negative accounts,
//! overflow), but a period close needs the balances *as of* its last day while
//! entries dated later keep arriving, in any order. Keeping, for every date not
//! yet closed, what was posted with that date makes that exact: the balances as
//! of `d` are the totals minus what was posted with a date after `d`. A close
//! through `d` forgets the dates up to `d`: their sums are then part of the
//! closed balances for good, and the map holds only the open part of the books.
//!
//! Invariants, kept by the ledger:
//! - every date in the map is after the last closed day;
//! - per date and currency, the debit sums equal the credit sums (each entry
//!   balances per currency and lands on one date);
//! - per (account, currency), the sums over all dates never exceed the totals,
//!   because every posting is added to both.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::account::AccountCode;
use crate::date::Date;
use crate::entry::BalancedEntry;
use crate::ledger::Balance;
use crate::money::Currency;

/// Debit and credit sums per (account, currency).
pub(crate) type Totals = BTreeMap<(AccountCode, Currency), Balance>;

/// What was posted with each open date.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub(crate) struct Movements {
    by_date: BTreeMap<Date, Totals>,
}

impl Movements {
    /// Adds an entry the ledger has just applied to its totals.
    ///
    /// # Panics
    /// If a sum overflows: each sum is part of a total that `check_entry`
    /// proved does not, so reaching that is a bug in the caller.
    pub(crate) fn record(&mut self, entry: &BalancedEntry) {
        let day = self.by_date.entry(entry.date()).or_default();
        for posting in entry.postings() {
            let key = (posting.account.clone(), posting.currency);
            let sum = day.entry(key).or_default();
            *sum = sum.plus(posting.side, posting.amount).unwrap_or_else(|| {
                panic!(
                    "a date's sum cannot overflow when the account's total did not: '{}' {}",
                    posting.account, posting.currency
                )
            });
        }
    }

    /// `totals` less everything posted with a date after `as_of`: the totals as
    /// of the end of that day.
    ///
    /// # Panics
    /// If a sum exceeds its total, which the invariants above exclude.
    pub(crate) fn as_of(&self, totals: &Totals, as_of: Date) -> Totals {
        let mut balances = totals.clone();
        let later = self
            .by_date
            .range((Bound::Excluded(as_of), Bound::Unbounded));
        for (_, day) in later {
            for (key, sum) in day {
                let balance = balances.entry(key.clone()).or_default();
                *balance = balance.less(sum).unwrap_or_else(|| {
                    panic!("the sums of '{}' {} exceed its totals", key.0, key.1)
                });
            }
        }
        balances
    }

    /// Forgets every date on or before `through`: the period up to it is closed.
    pub(crate) fn close_through(&mut self, through: Date) {
        self.by_date.retain(|date, _| *date > through);
    }

    /// Every open date with its sums, ascending.
    pub(crate) fn dates(&self) -> impl Iterator<Item = (Date, &Totals)> {
        self.by_date.iter().map(|(date, day)| (*date, day))
    }

    /// Adds one stored row; `false` if that (date, account, currency) was
    /// there already.
    pub(crate) fn insert_row(
        &mut self,
        date: Date,
        key: (AccountCode, Currency),
        sum: Balance,
    ) -> bool {
        self.by_date
            .entry(date)
            .or_default()
            .insert(key, sum)
            .is_none()
    }
}
