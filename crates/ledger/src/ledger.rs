//! The ledger state: chart of accounts, balances, the closed period and a close
//! under way, what was posted with each open date, entry count; and the rules
//! that decide whether an entry may be posted and a period closed.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::account::{Account, AccountCode, AccountError, Role, ACCOUNTS_MAX};
use crate::date::Date;
use crate::digest::Encoder;
use crate::entry::{BalancedEntry, EntryId, Posting, Side};
use crate::money::Currency;
use crate::movements::{Movements, Totals};

/// Running debit and credit totals of one account in one currency, in minor
/// units. Totals only grow; the net balance is their difference. Keeping both
/// columns (rather than a signed net) means no value ever has to go negative
/// and the trial balance can show turnover as well as balance.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Balance {
    /// Sum of all debits.
    pub debit: u128,
    /// Sum of all credits.
    pub credit: u128,
}

impl Balance {
    /// The net balance: the side with the larger total and by how much, or
    /// `None` when the two totals are equal.
    pub fn net(&self) -> Option<(Side, u128)> {
        let difference = self.debit.abs_diff(self.credit);
        if self.debit > self.credit {
            Some((Side::Debit, difference))
        } else if self.credit > self.debit {
            Some((Side::Credit, difference))
        } else {
            None
        }
    }

    /// This balance after one more posting, or `None` if a total would
    /// overflow.
    pub fn plus(&self, side: Side, amount: u64) -> Option<Balance> {
        let amount = u128::from(amount);
        Some(match side {
            Side::Debit => Balance {
                debit: self.debit.checked_add(amount)?,
                credit: self.credit,
            },
            Side::Credit => Balance {
                debit: self.debit,
                credit: self.credit.checked_add(amount)?,
            },
        })
    }

    /// This balance less `other`, column by column, or `None` if `other`
    /// holds more in either column.
    pub fn less(&self, other: &Balance) -> Option<Balance> {
        Some(Balance {
            debit: self.debit.checked_sub(other.debit)?,
            credit: self.credit.checked_sub(other.credit)?,
        })
    }

    /// Whether nothing was ever posted.
    pub fn is_empty(&self) -> bool {
        self.debit == 0 && self.credit == 0
    }
}

/// One line of the trial balance: the NET balance of one account in one
/// currency, shown on its side with the other side 0, so that per currency the
/// debit column adds up to the credit column.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TrialBalanceLine {
    /// The account.
    pub account: AccountCode,
    /// The currency.
    pub currency: Currency,
    /// Net debit balance, or 0.
    pub debit: u128,
    /// Net credit balance, or 0.
    pub credit: u128,
}

/// What the ledger needs to know about a committed entry: its postings (to
/// check a reversal mirrors them) and whether it was reversed already.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct KnownEntry {
    /// The committed postings.
    pub postings: Vec<Posting>,
    /// The id of the entry that reversed this one, if any.
    pub reversed_by: Option<EntryId>,
}

impl KnownEntry {
    /// The record of a freshly committed entry (not reversed yet).
    pub fn from_entry(entry: &BalancedEntry) -> KnownEntry {
        KnownEntry {
            postings: entry.postings().to_vec(),
            reversed_by: None,
        }
    }
}

/// Access to committed entries by id. The ledger keeps balances, not the
/// journal; the journal lives in the chain's store, which implements this.
pub trait EntryLookup {
    /// The committed entry with this id, if there is one.
    fn lookup(&self, id: &EntryId) -> Option<KnownEntry>;
}

impl EntryLookup for BTreeMap<EntryId, KnownEntry> {
    fn lookup(&self, id: &EntryId) -> Option<KnownEntry> {
        self.get(id).cloned()
    }
}

impl<S: BuildHasher> EntryLookup for HashMap<EntryId, KnownEntry, S> {
    fn lookup(&self, id: &EntryId) -> Option<KnownEntry> {
        self.get(id).cloned()
    }
}

/// Why an entry may not be posted to this ledger.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum PostError {
    /// A posting names an account that is not in the chart.
    #[error("unknown account '{account}'")]
    UnknownAccount {
        /// The missing account.
        account: AccountCode,
    },
    /// A posting names a closed account.
    #[error("account '{account}' is closed")]
    AccountClosed {
        /// The closed account.
        account: AccountCode,
    },
    /// The author's role may not post to the account (auditors never post).
    #[error("role '{role}' may not post to account '{account}'")]
    RoleNotAllowed {
        /// The author's role.
        role: Role,
        /// The first account it may not post to.
        account: AccountCode,
    },
    /// The entry's date is on or before the end of the closed period.
    #[error("{date} is in a closed period (closed through {closed_through})")]
    PeriodClosed {
        /// The entry's date.
        date: Date,
        /// The last closed day.
        closed_through: Date,
    },
    /// The entry's date is on or before the last day of a close under way:
    /// the books through that day are frozen while the close is signed off.
    #[error("{date} is in a period being closed (closing through {closing_through})")]
    PeriodClosing {
        /// The entry's date.
        date: Date,
        /// The last day of the period being closed.
        closing_through: Date,
    },
    /// An entry with this id is already committed.
    #[error("entry id '{id}' was already committed")]
    DuplicateId {
        /// The id.
        id: EntryId,
    },
    /// The entry to be reversed was never committed.
    #[error("cannot reverse entry '{id}': no such entry was committed")]
    ReversedEntryUnknown {
        /// The id of the entry to be reversed.
        id: EntryId,
    },
    /// The entry to be reversed was reversed already.
    #[error("entry '{id}' was already reversed by '{by}'")]
    AlreadyReversed {
        /// The id of the entry to be reversed.
        id: EntryId,
        /// The id of the entry that reversed it.
        by: EntryId,
    },
    /// A reversal's postings are not the original's with sides swapped.
    #[error(
        "a reversal of entry '{id}' must post exactly its postings with debit and credit swapped"
    )]
    NotAMirror {
        /// The id of the entry to be reversed.
        id: EntryId,
    },
    /// A no-negative account's balance would cross to the wrong side.
    #[error("account '{account}' may not go below zero in {currency}")]
    WouldGoNegative {
        /// The account.
        account: AccountCode,
        /// The currency.
        currency: Currency,
    },
    /// A running total would not fit in `u128`.
    #[error("the {currency} totals of account '{account}' would overflow")]
    BalanceOverflow {
        /// The account.
        account: AccountCode,
        /// The currency.
        currency: Currency,
    },
    /// The entry counter is at `u64::MAX`.
    #[error("the ledger holds the largest possible number of entries")]
    LedgerFull,
}

/// Why a close could not start or complete. Who may close is not the
/// ledger's business: the chain's close policy decides that.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum PeriodError {
    /// Periods are closed for good: the closing date may not move back,
    /// otherwise closed books could be changed after the fact.
    #[error("cannot move the period close back to {requested} (closed through {closed_through})")]
    Backwards {
        /// The requested date.
        requested: Date,
        /// The current closing date.
        closed_through: Date,
    },
    /// The books are closed through that very day already.
    #[error("the books are already closed through {through}")]
    AlreadyClosed {
        /// The requested (and current) closing date.
        through: Date,
    },
    /// Another close is under way; one close at a time, so that the period
    /// frozen for signing is the one being signed.
    #[error("cannot close through {requested} while the close through {pending} is under way")]
    OtherClosePending {
        /// The requested date.
        requested: Date,
        /// The last day of the close under way.
        pending: Date,
    },
}

/// Why balances as of a date cannot be given.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum AsOfError {
    /// A close forgets the per-date detail of the period it closes; what is
    /// kept of it is the closing trial balance.
    #[error("balances as of {as_of} are not kept: the books are closed through {closed_through}, and a closed period keeps only its closing trial balance")]
    BeforeClose {
        /// The requested date.
        as_of: Date,
        /// The last closed day.
        closed_through: Date,
    },
}

/// The accounting state.
///
/// Invariants, kept by every method that changes the state:
/// - every balance belongs to an account of the chart;
/// - per currency, the debit totals of all accounts add up to the credit totals;
/// - a `no_negative` account's net balance never stands on the side opposite
///   to its kind's normal side;
/// - totals never overflow: every addition is checked before it is made;
/// - a close under way is after the closed period, and every date with
///   movements is after the closed period (see the `movements` module).
///
/// It serializes as `{accounts: [Account], balances: [{account, currency,
/// debit, credit}], closed_through, closing, movements: [{date, account,
/// currency, debit, credit}], entries}` (lists rather than maps with tuple
/// keys, so JSON can carry it too); deserialization re-checks the invariants
/// above.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Ledger {
    accounts: BTreeMap<AccountCode, Account>,
    /// Running totals of everything ever posted.
    balances: Totals,
    closed_through: Option<Date>,
    /// The last day of a close that has started and not completed (a soft
    /// close): entries dated on or before it are refused, so the closing trial
    /// balance cannot move while the close is signed off.
    closing: Option<Date>,
    /// What was posted with each date after `closed_through`.
    movements: Movements,
    entries: u64,
}

/// New totals of every (account, currency) an entry touches.
type Updates = Totals;

impl Ledger {
    /// A ledger with the given chart, no balances, no closed period. Accounts
    /// are validated; duplicates and charts over [`ACCOUNTS_MAX`] are refused.
    /// Unlike [`open_account`](Self::open_account), a chart may contain closed
    /// accounts, so that a ledger can be recreated as it was.
    pub fn new(chart: Vec<Account>) -> Result<Ledger, AccountError> {
        if chart.len() > ACCOUNTS_MAX {
            return Err(AccountError::TooManyAccounts { max: ACCOUNTS_MAX });
        }
        let mut accounts = BTreeMap::new();
        for account in chart {
            account.validate()?;
            if accounts.contains_key(&account.code) {
                return Err(AccountError::Duplicate { code: account.code });
            }
            accounts.insert(account.code.clone(), account);
        }
        Ok(Ledger {
            accounts,
            ..Ledger::default()
        })
    }

    /// Decides whether `entry`, written by someone with role `author`, may be
    /// posted now. `known` gives the committed entries (including earlier
    /// entries of the same block). Changes nothing.
    ///
    /// The checks run in a fixed order so every node reports the same error:
    /// duplicate id first (a resent entry is reported as such whatever else
    /// changed since), then the closed period, then a period being closed, then
    /// for each posting in order the account's existence, openness and the
    /// author's right to post, then the reversal rules, and last the effect on
    /// balances.
    pub fn check_entry(
        &self,
        entry: &BalancedEntry,
        author: Role,
        known: &impl EntryLookup,
    ) -> Result<(), PostError> {
        if known.lookup(entry.id()).is_some() {
            return Err(PostError::DuplicateId {
                id: entry.id().clone(),
            });
        }
        if let Some(closed_through) = self.closed_through {
            if entry.date() <= closed_through {
                return Err(PostError::PeriodClosed {
                    date: entry.date(),
                    closed_through,
                });
            }
        }
        if let Some(closing_through) = self.closing {
            if entry.date() <= closing_through {
                return Err(PostError::PeriodClosing {
                    date: entry.date(),
                    closing_through,
                });
            }
        }
        for posting in entry.postings() {
            let account = self.account_for_posting(&posting.account)?;
            if !account.allows(author) {
                return Err(PostError::RoleNotAllowed {
                    role: author,
                    account: posting.account.clone(),
                });
            }
        }
        if let Some(original) = entry.reverses() {
            check_reversal(entry, original, known)?;
        }
        if self.entries.checked_add(1).is_none() {
            return Err(PostError::LedgerFull);
        }
        let updates = self.updates(entry)?;
        for ((code, currency), balance) in &updates {
            let account = self.account_for_posting(code)?;
            let wrong_side = balance
                .net()
                .is_some_and(|(side, _)| side != account.kind.normal_side());
            if account.no_negative && wrong_side {
                return Err(PostError::WouldGoNegative {
                    account: code.clone(),
                    currency: *currency,
                });
            }
        }
        Ok(())
    }

    /// Applies an entry that [`check_entry`](Self::check_entry) accepted
    /// against this very state.
    ///
    /// # Panics
    /// If the entry names an unknown account or would overflow a total, which
    /// `check_entry` refuses; reaching that is a bug in the caller.
    pub fn apply_entry(&mut self, entry: &BalancedEntry) {
        let updates = match self.updates(entry) {
            Ok(updates) => updates,
            Err(err) => panic!("apply_entry called without a successful check_entry: {err}"),
        };
        for (code, _) in updates.keys() {
            assert!(
                self.accounts.contains_key(code),
                "apply_entry called without a successful check_entry: unknown account '{code}'"
            );
        }
        let entries = self.entries.checked_add(1);
        let Some(entries) = entries else {
            panic!("apply_entry called without a successful check_entry: entry counter is full");
        };
        self.balances.extend(updates);
        self.movements.record(entry);
        self.entries = entries;
    }

    /// Checks and, if allowed, applies an entry. On error nothing changes.
    pub fn post(
        &mut self,
        entry: &BalancedEntry,
        author: Role,
        known: &impl EntryLookup,
    ) -> Result<(), PostError> {
        self.check_entry(entry, author, known)?;
        self.apply_entry(entry);
        Ok(())
    }

    /// Adds an account to the chart. Only admin and finance may; the account
    /// must be valid, open, and its code never used before (closed accounts
    /// keep their code so that history stays unambiguous).
    pub fn open_account(&mut self, account: Account, author: Role) -> Result<(), AccountError> {
        if !author.administers_chart() {
            return Err(AccountError::RoleNotAllowed { role: author });
        }
        if !account.open {
            return Err(AccountError::OpenedClosed { code: account.code });
        }
        account.validate()?;
        if self.accounts.contains_key(&account.code) {
            return Err(AccountError::Duplicate { code: account.code });
        }
        if self.accounts.len() >= ACCOUNTS_MAX {
            return Err(AccountError::TooManyAccounts { max: ACCOUNTS_MAX });
        }
        self.accounts.insert(account.code.clone(), account);
        Ok(())
    }

    /// Closes an account so it takes no more postings. Only admin and finance
    /// may, and only when its net balance is zero in every currency: closing an
    /// account that still holds money would hide that money from the books.
    pub fn close_account(&mut self, code: &AccountCode, author: Role) -> Result<(), AccountError> {
        if !author.administers_chart() {
            return Err(AccountError::RoleNotAllowed { role: author });
        }
        let Some(account) = self.accounts.get(code) else {
            return Err(AccountError::Unknown { code: code.clone() });
        };
        if !account.open {
            return Err(AccountError::AlreadyClosed { code: code.clone() });
        }
        if let Some((currency, (side, amount))) = self
            .balances_of(code)
            .find_map(|(currency, balance)| balance.net().map(|net| (currency, net)))
        {
            return Err(AccountError::NonZeroBalance {
                code: code.clone(),
                currency,
                side,
                amount,
            });
        }
        if let Some(account) = self.accounts.get_mut(code) {
            account.open = false;
        }
        Ok(())
    }

    /// Decides whether the books may be closed through `through` now: the
    /// date must be after the closed period, and no close through another date
    /// may be under way. Changes nothing.
    pub fn check_close(&self, through: Date) -> Result<(), PeriodError> {
        match self.closed_through {
            Some(closed_through) if through < closed_through => {
                return Err(PeriodError::Backwards {
                    requested: through,
                    closed_through,
                })
            }
            Some(closed_through) if through == closed_through => {
                return Err(PeriodError::AlreadyClosed { through })
            }
            _ => {}
        }
        match self.closing {
            Some(pending) if pending != through => Err(PeriodError::OtherClosePending {
                requested: through,
                pending,
            }),
            _ => Ok(()),
        }
    }

    /// Starts a close through `through` (inclusive), or confirms the one under
    /// way: from now on entries dated on or before it are refused, so the
    /// balances as of that day stay what they are until
    /// [`close_period`](Self::close_period) completes the close.
    pub fn begin_close(&mut self, through: Date) -> Result<(), PeriodError> {
        self.check_close(through)?;
        self.closing = Some(through);
        Ok(())
    }

    /// Closes the books through `through` (inclusive), whether or not
    /// [`begin_close`](Self::begin_close) started it: no entry dated on or
    /// before it will be accepted again. Returns the closing trial balance, the
    /// net balances counting only entries dated on or before `through`; the
    /// per-date detail of the closed days is forgotten.
    pub fn close_period(&mut self, through: Date) -> Result<Vec<TrialBalanceLine>, PeriodError> {
        self.check_close(through)?;
        let closing = net_lines(&self.movements.as_of(&self.balances, through));
        self.closed_through = Some(through);
        self.closing = None;
        self.movements.close_through(through);
        Ok(closing)
    }

    /// The account with this code.
    pub fn account(&self, code: &AccountCode) -> Option<&Account> {
        self.accounts.get(code)
    }

    /// All accounts, by code.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    /// The totals of one account in one currency (zero if never posted).
    pub fn balance(&self, code: &AccountCode, currency: Currency) -> Balance {
        self.balances
            .get(&(code.clone(), currency))
            .copied()
            .unwrap_or_default()
    }

    /// The totals of one account in every currency it was posted in, by
    /// currency code.
    pub fn balances_of<'a>(
        &'a self,
        code: &'a AccountCode,
    ) -> impl Iterator<Item = (Currency, Balance)> + 'a {
        self.balances
            .iter()
            .filter(move |((account, _), _)| account == code)
            .map(|((_, currency), balance)| (*currency, *balance))
    }

    /// Every (account, currency, totals) ever posted, by account then currency.
    pub fn balances(&self) -> impl Iterator<Item = (&AccountCode, Currency, Balance)> {
        self.balances
            .iter()
            .map(|((account, currency), balance)| (account, *currency, *balance))
    }

    /// The last closed day, if any period was closed.
    pub fn closed_through(&self) -> Option<Date> {
        self.closed_through
    }

    /// The last day of the close under way, if one started and has not
    /// completed.
    pub fn closing_through(&self) -> Option<Date> {
        self.closing
    }

    /// How many entries were applied.
    pub fn entry_count(&self) -> u64 {
        self.entries
    }

    /// Net balances by account then currency, leaving out those that net to
    /// zero.
    pub fn trial_balance(&self) -> Vec<TrialBalanceLine> {
        net_lines(&self.balances)
    }

    /// The trial balance counting only entries dated on or before `as_of`, in
    /// the form of [`trial_balance`](Self::trial_balance). Exact for any date
    /// from the last closed day on, whatever the order entries arrived in;
    /// earlier dates are refused, as a close keeps only its closing trial
    /// balance of the days it closed.
    pub fn trial_balance_as_of(&self, as_of: Date) -> Result<Vec<TrialBalanceLine>, AsOfError> {
        if let Some(closed_through) = self.closed_through {
            if as_of < closed_through {
                return Err(AsOfError::BeforeClose {
                    as_of,
                    closed_through,
                });
            }
        }
        Ok(net_lines(&self.movements.as_of(&self.balances, as_of)))
    }

    /// Whether, per currency, all debit totals add up to all credit totals.
    /// Always true for a ledger changed only through this type's methods; a
    /// check for tests, audits and loaded snapshots.
    pub fn is_balanced(&self) -> bool {
        let mut totals: BTreeMap<Currency, (WideSum, WideSum)> = BTreeMap::new();
        for ((_, currency), balance) in &self.balances {
            let (debits, credits) = totals.entry(*currency).or_default();
            debits.add(balance.debit);
            credits.add(balance.credit);
        }
        totals.values().all(|(debits, credits)| debits == credits)
    }

    /// SHA-256 of the canonical encoding of the whole state (chart, balances,
    /// closed period, close under way, movements per open date, entry count),
    /// as documented in the `digest` module.
    /// Nodes compare it to detect divergence.
    pub fn state_digest(&self) -> [u8; 32] {
        let mut encoder = Encoder::new();
        encoder.len(self.accounts.len());
        for account in self.accounts.values() {
            encoder.str(account.code.as_str());
            encoder.str(&account.name);
            encoder.kind(account.kind);
            encoder.u16(account.posting_roles.bits());
            match &account.sub_ledger {
                None => encoder.u8(0),
                Some(tag) => {
                    encoder.u8(1);
                    encoder.str(tag);
                }
            }
            encoder.bool(account.no_negative);
            encoder.bool(account.open);
        }
        // Balances that were never posted to carry no information; leaving
        // them out keeps the digest independent of how the map was filled.
        let posted = || {
            self.balances
                .iter()
                .filter(|(_, balance)| !balance.is_empty())
        };
        encoder.len(posted().count());
        for ((account, currency), balance) in posted() {
            encoder.str(account.as_str());
            encoder.str(currency.code());
            encoder.u8(currency.exponent());
            encoder.u128(balance.debit);
            encoder.u128(balance.credit);
        }
        encoder.date(self.closed_through);
        encoder.date(self.closing);
        encoder.len(self.movements.dates().count());
        for (date, day) in self.movements.dates() {
            encoder.u32(date.packed());
            encoder.len(day.len());
            for ((account, currency), sum) in day {
                encoder.str(account.as_str());
                encoder.str(currency.code());
                encoder.u8(currency.exponent());
                encoder.u128(sum.debit);
                encoder.u128(sum.credit);
            }
        }
        encoder.u64(self.entries);
        encoder.finish()
    }

    /// The account a posting names, if it exists and is open.
    fn account_for_posting(&self, code: &AccountCode) -> Result<&Account, PostError> {
        let Some(account) = self.accounts.get(code) else {
            return Err(PostError::UnknownAccount {
                account: code.clone(),
            });
        };
        if !account.open {
            return Err(PostError::AccountClosed {
                account: code.clone(),
            });
        }
        Ok(account)
    }

    /// The totals after `entry`, for every (account, currency) it touches,
    /// computed with checked additions.
    fn updates(&self, entry: &BalancedEntry) -> Result<Updates, PostError> {
        let mut updates = Updates::new();
        for posting in entry.postings() {
            let key = (posting.account.clone(), posting.currency);
            let current = match updates.get(&key) {
                Some(balance) => *balance,
                None => self.balance(&posting.account, posting.currency),
            };
            let Some(next) = current.plus(posting.side, posting.amount) else {
                return Err(PostError::BalanceOverflow {
                    account: posting.account.clone(),
                    currency: posting.currency,
                });
            };
            updates.insert(key, next);
        }
        Ok(updates)
    }
}

/// The trial balance of `balances`: each net balance on its side, the other
/// side 0, leaving out those that net to zero, by account then currency.
fn net_lines(balances: &Totals) -> Vec<TrialBalanceLine> {
    balances
        .iter()
        .filter_map(|((account, currency), balance)| {
            let (side, amount) = balance.net()?;
            let (debit, credit) = match side {
                Side::Debit => (amount, 0),
                Side::Credit => (0, amount),
            };
            Some(TrialBalanceLine {
                account: account.clone(),
                currency: *currency,
                debit,
                credit,
            })
        })
        .collect()
}

/// Checks that `entry` may reverse `original`: the original is committed, not
/// yet reversed, and `entry` posts exactly its postings with sides swapped.
/// The comparison is of multisets, so the order of postings does not matter
/// but every posting must be matched exactly once.
fn check_reversal(
    entry: &BalancedEntry,
    original: &EntryId,
    known: &impl EntryLookup,
) -> Result<(), PostError> {
    let Some(committed) = known.lookup(original) else {
        return Err(PostError::ReversedEntryUnknown {
            id: original.clone(),
        });
    };
    if let Some(by) = committed.reversed_by {
        return Err(PostError::AlreadyReversed {
            id: original.clone(),
            by,
        });
    }
    let mut expected: Vec<Posting> = committed.postings.iter().map(Posting::mirrored).collect();
    let mut actual: Vec<Posting> = entry.postings().to_vec();
    expected.sort_by(posting_order);
    actual.sort_by(posting_order);
    if expected != actual {
        return Err(PostError::NotAMirror {
            id: original.clone(),
        });
    }
    Ok(())
}

/// A total order on postings, used to compare them as multisets.
fn posting_order(a: &Posting, b: &Posting) -> std::cmp::Ordering {
    (&a.account, a.currency, a.side, a.amount).cmp(&(&b.account, b.currency, b.side, b.amount))
}

/// An exact sum of many `u128` values: a low word plus a count of carries.
///
/// Per-account totals are checked to fit `u128`, but the sum over all accounts
/// could in principle exceed it; counting carries keeps `is_balanced` exact
/// instead of reporting a false imbalance.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
struct WideSum {
    carries: u128,
    low: u128,
}

impl WideSum {
    fn add(&mut self, value: u128) {
        let (low, carried) = self.low.overflowing_add(value);
        self.low = low;
        // One carry per addition at most, so this counter cannot reach u128::MAX
        // before 2^128 additions; wrapping is therefore unreachable.
        self.carries = self.carries.wrapping_add(u128::from(carried));
    }
}

/// One balance as it appears in a serialized ledger.
#[derive(Serialize, Deserialize)]
struct BalanceRow<A> {
    account: A,
    currency: Currency,
    debit: u128,
    credit: u128,
}

/// What was posted with one open date, as it appears in a serialized ledger.
#[derive(Serialize, Deserialize)]
struct MovementRow<A> {
    date: Date,
    account: A,
    currency: Currency,
    debit: u128,
    credit: u128,
}

/// The serialized form of a ledger, borrowing from it.
#[derive(Serialize)]
struct SnapshotOut<'a> {
    accounts: Vec<&'a Account>,
    balances: Vec<BalanceRow<&'a AccountCode>>,
    closed_through: Option<Date>,
    closing: Option<Date>,
    movements: Vec<MovementRow<&'a AccountCode>>,
    entries: u64,
}

/// The serialized form of a ledger, as read back.
#[derive(Deserialize)]
struct SnapshotIn {
    accounts: Vec<Account>,
    balances: Vec<BalanceRow<AccountCode>>,
    closed_through: Option<Date>,
    closing: Option<Date>,
    movements: Vec<MovementRow<AccountCode>>,
    entries: u64,
}

/// Why a serialized ledger was refused.
#[derive(Debug, thiserror::Error)]
enum SnapshotError {
    #[error("invalid chart in ledger snapshot: {0}")]
    Chart(#[from] AccountError),
    #[error("ledger snapshot has a balance for unknown account '{0}'")]
    UnknownAccount(AccountCode),
    #[error("ledger snapshot lists the {1} balance of account '{0}' twice")]
    DuplicateBalance(AccountCode, Currency),
    #[error("ledger snapshot has account '{0}' below zero in {1}")]
    Negative(AccountCode, Currency),
    #[error("ledger snapshot is not balanced: some currency's debits differ from its credits")]
    Unbalanced,
    #[error("ledger snapshot has a close under way through {0}, not after the closed period")]
    ClosingNotOpen(Date),
    #[error("ledger snapshot has movements dated {0}, in the closed period")]
    MovementClosed(Date),
    #[error("ledger snapshot lists the {2} movement of account '{1}' on {0} empty or twice")]
    BadMovement(Date, AccountCode, Currency),
    #[error("ledger snapshot's movements on {0} are not balanced")]
    MovementUnbalanced(Date),
    #[error("ledger snapshot's movements of account '{0}' in {1} exceed its totals")]
    MovementsExceedTotals(AccountCode, Currency),
}

impl Serialize for Ledger {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SnapshotOut {
            accounts: self.accounts.values().collect(),
            balances: self
                .balances
                .iter()
                .map(|((account, currency), balance)| BalanceRow {
                    account,
                    currency: *currency,
                    debit: balance.debit,
                    credit: balance.credit,
                })
                .collect(),
            closed_through: self.closed_through,
            closing: self.closing,
            movements: self
                .movements
                .dates()
                .flat_map(|(date, day)| {
                    day.iter()
                        .map(move |((account, currency), sum)| MovementRow {
                            date,
                            account,
                            currency: *currency,
                            debit: sum.debit,
                            credit: sum.credit,
                        })
                })
                .collect(),
            entries: self.entries,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Ledger {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let snapshot = SnapshotIn::deserialize(deserializer)?;
        Ledger::from_snapshot(snapshot).map_err(serde::de::Error::custom)
    }
}

impl Ledger {
    /// Rebuilds a ledger from its serialized form, re-checking the invariants
    /// so that a corrupted or forged snapshot cannot yield an impossible state.
    fn from_snapshot(snapshot: SnapshotIn) -> Result<Ledger, SnapshotError> {
        let mut ledger = Ledger::new(snapshot.accounts)?;
        for row in snapshot.balances {
            let Some(account) = ledger.accounts.get(&row.account) else {
                return Err(SnapshotError::UnknownAccount(row.account));
            };
            let balance = Balance {
                debit: row.debit,
                credit: row.credit,
            };
            if account.no_negative
                && balance
                    .net()
                    .is_some_and(|(side, _)| side != account.kind.normal_side())
            {
                return Err(SnapshotError::Negative(row.account, row.currency));
            }
            let key = (row.account, row.currency);
            if ledger.balances.contains_key(&key) {
                return Err(SnapshotError::DuplicateBalance(key.0, key.1));
            }
            ledger.balances.insert(key, balance);
        }
        if !ledger.is_balanced() {
            return Err(SnapshotError::Unbalanced);
        }
        ledger.closed_through = snapshot.closed_through;
        let after_close = |date: Date| snapshot.closed_through.is_none_or(|closed| date > closed);
        if let Some(closing) = snapshot.closing {
            if !after_close(closing) {
                return Err(SnapshotError::ClosingNotOpen(closing));
            }
        }
        ledger.closing = snapshot.closing;
        for row in snapshot.movements {
            if !after_close(row.date) {
                return Err(SnapshotError::MovementClosed(row.date));
            }
            if !ledger.accounts.contains_key(&row.account) {
                return Err(SnapshotError::UnknownAccount(row.account));
            }
            let sum = Balance {
                debit: row.debit,
                credit: row.credit,
            };
            let key = (row.account, row.currency);
            if sum.is_empty() || !ledger.movements.insert_row(row.date, key.clone(), sum) {
                return Err(SnapshotError::BadMovement(row.date, key.0, key.1));
            }
        }
        ledger.check_movements()?;
        ledger.entries = snapshot.entries;
        Ok(ledger)
    }

    /// Checks the movements against the invariants: each date balanced per
    /// currency, and no account's sums beyond its totals.
    fn check_movements(&self) -> Result<(), SnapshotError> {
        let mut all = Totals::new();
        for (date, day) in self.movements.dates() {
            let mut columns: BTreeMap<Currency, (WideSum, WideSum)> = BTreeMap::new();
            for ((account, currency), sum) in day {
                let (debits, credits) = columns.entry(*currency).or_default();
                debits.add(sum.debit);
                credits.add(sum.credit);
                let total = all.entry((account.clone(), *currency)).or_default();
                *total = Balance {
                    debit: total.debit.saturating_add(sum.debit),
                    credit: total.credit.saturating_add(sum.credit),
                };
            }
            if columns.values().any(|(debits, credits)| debits != credits) {
                return Err(SnapshotError::MovementUnbalanced(date));
            }
        }
        for ((account, currency), sums) in all {
            if self.balance(&account, currency).less(&sums).is_none() {
                return Err(SnapshotError::MovementsExceedTotals(account, currency));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::{AccountKind, RoleSet};
    use crate::chart::{codes, default_chart};
    use crate::entry::{EntryDraft, Reference};

    type Known = BTreeMap<EntryId, KnownEntry>;

    fn code(text: &str) -> AccountCode {
        AccountCode::new(text).unwrap()
    }

    fn id(text: &str) -> EntryId {
        EntryId::new(text).unwrap()
    }

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    fn ledger() -> Ledger {
        Ledger::new(default_chart()).unwrap()
    }

    fn posting(account: &str, side: Side, amount: u64, currency: Currency) -> Posting {
        Posting {
            account: code(account),
            side,
            amount,
            currency,
        }
    }

    fn entry_on(entry_id: &str, day: &str, postings: Vec<Posting>) -> BalancedEntry {
        EntryDraft {
            id: id(entry_id),
            date: date(day),
            description: String::new(),
            postings,
            references: vec![Reference {
                kind: "order".into(),
                value: entry_id.into(),
            }],
            reverses: None,
            sealed: Default::default(),
            seal_keys: Vec::new(),
        }
        .check()
        .unwrap()
    }

    /// Debit `debit`, credit `credit`, `amount` EUR, dated 2026-06-15.
    fn transfer(entry_id: &str, debit: &str, credit: &str, amount: u64) -> BalancedEntry {
        entry_on(
            entry_id,
            "2026-06-15",
            vec![
                posting(debit, Side::Debit, amount, Currency::EUR),
                posting(credit, Side::Credit, amount, Currency::EUR),
            ],
        )
    }

    fn reversal(entry_id: &str, of: &BalancedEntry) -> BalancedEntry {
        let mut draft = of.draft().clone();
        draft.id = id(entry_id);
        draft.reverses = Some(of.id().clone());
        draft.postings = of.postings().iter().map(Posting::mirrored).collect();
        draft.check().unwrap()
    }

    /// Posts and records the entry as the chain's store would.
    fn commit(ledger: &mut Ledger, known: &mut Known, entry: &BalancedEntry, author: Role) {
        ledger.post(entry, author, known).unwrap();
        known.insert(entry.id().clone(), KnownEntry::from_entry(entry));
        if let Some(original) = entry.reverses() {
            if let Some(record) = known.get_mut(original) {
                record.reversed_by = Some(entry.id().clone());
            }
        }
    }

    /// EUR 100.00 from the bank exchanged for USD 110.00 through the FX
    /// trading account, dated 2026-06-15.
    fn exchange() -> BalancedEntry {
        entry_on(
            "fx-1",
            "2026-06-15",
            vec![
                posting(codes::BANK, Side::Debit, 11_000, Currency::USD),
                posting(codes::FX_TRADING, Side::Credit, 11_000, Currency::USD),
                posting(codes::FX_TRADING, Side::Debit, 10_000, Currency::EUR),
                posting(codes::BANK, Side::Credit, 10_000, Currency::EUR),
            ],
        )
    }

    fn fund_bank(ledger: &mut Ledger, known: &mut Known, amount: u64) {
        let entry = transfer("funding", codes::BANK, codes::OPENING_EQUITY, amount);
        commit(ledger, known, &entry, Role::Finance);
    }

    #[test]
    fn new_ledger_is_empty_and_balanced() {
        let ledger = ledger();
        assert_eq!(ledger.accounts().count(), default_chart().len());
        assert_eq!(ledger.entry_count(), 0);
        assert_eq!(ledger.closed_through(), None);
        assert!(ledger.trial_balance().is_empty());
        assert!(ledger.is_balanced());
        assert_eq!(
            ledger.balance(&code(codes::BANK), Currency::EUR),
            Balance::default()
        );
    }

    #[test]
    fn duplicate_chart_codes_are_refused() {
        let mut chart = default_chart();
        chart.push(chart[0].clone());
        assert_eq!(
            Ledger::new(chart).unwrap_err().to_string(),
            "account '1000' already exists"
        );
    }

    #[test]
    fn invalid_chart_accounts_are_refused() {
        let mut chart = default_chart();
        chart[0].name = String::new();
        assert_eq!(
            Ledger::new(chart).unwrap_err(),
            AccountError::NameEmpty { code: code("1000") }
        );
    }

    #[test]
    fn posting_updates_balances_and_counts() {
        let mut ledger = ledger();
        let mut known = Known::new();
        commit(
            &mut ledger,
            &mut known,
            &transfer(
                "sale-1",
                codes::ACCOUNTS_RECEIVABLE,
                codes::SALES_REVENUE,
                10050,
            ),
            Role::Sales,
        );
        assert_eq!(
            ledger.balance(&code(codes::ACCOUNTS_RECEIVABLE), Currency::EUR),
            Balance {
                debit: 10050,
                credit: 0
            }
        );
        assert_eq!(
            ledger.balance(&code(codes::SALES_REVENUE), Currency::EUR),
            Balance {
                debit: 0,
                credit: 10050
            }
        );
        assert_eq!(ledger.entry_count(), 1);
        assert!(ledger.is_balanced());
    }

    #[test]
    fn trial_balance_nets_and_sorts() {
        let mut ledger = ledger();
        let mut known = Known::new();
        let ar = codes::ACCOUNTS_RECEIVABLE;
        commit(
            &mut ledger,
            &mut known,
            &transfer("s1", ar, codes::SALES_REVENUE, 10000),
            Role::Sales,
        );
        commit(
            &mut ledger,
            &mut known,
            &transfer("p1", codes::BANK, ar, 10000),
            Role::Finance,
        );
        commit(
            &mut ledger,
            &mut known,
            &transfer("s2", ar, codes::SALES_REVENUE, 2500),
            Role::Sales,
        );
        let yen = entry_on(
            "s3",
            "2026-06-15",
            vec![
                posting(ar, Side::Debit, 700, Currency::JPY),
                posting(codes::SALES_REVENUE, Side::Credit, 700, Currency::JPY),
            ],
        );
        commit(&mut ledger, &mut known, &yen, Role::Sales);
        let lines = ledger.trial_balance();
        let line =
            |account: &str, currency: Currency, debit: u128, credit: u128| TrialBalanceLine {
                account: code(account),
                currency,
                debit,
                credit,
            };
        assert_eq!(
            lines,
            vec![
                line(codes::BANK, Currency::EUR, 10000, 0),
                line(ar, Currency::EUR, 2500, 0),
                line(ar, Currency::JPY, 700, 0),
                line(codes::SALES_REVENUE, Currency::EUR, 0, 12500),
                line(codes::SALES_REVENUE, Currency::JPY, 0, 700),
            ]
        );
        // AR in EUR nets 12500 - 10000 on the debit side; fully paid lines vanish.
        let ledger_with_zero_line = {
            let mut l = ledger.clone();
            let mut k = known.clone();
            commit(
                &mut l,
                &mut k,
                &transfer("p2", codes::BANK, ar, 2500),
                Role::Finance,
            );
            l
        };
        assert!(ledger_with_zero_line
            .trial_balance()
            .iter()
            .all(|line| !(line.account.as_str() == ar && line.currency == Currency::EUR)));
        let debits: u128 = lines
            .iter()
            .filter(|l| l.currency == Currency::EUR)
            .map(|l| l.debit)
            .sum();
        let credits: u128 = lines
            .iter()
            .filter(|l| l.currency == Currency::EUR)
            .map(|l| l.credit)
            .sum();
        assert_eq!(debits, credits);
    }

    #[test]
    fn unknown_account_is_refused() {
        let ledger = ledger();
        let entry = transfer("e1", "4999", codes::SALES_REVENUE, 100);
        let err = ledger
            .check_entry(&entry, Role::Finance, &Known::new())
            .unwrap_err();
        assert_eq!(err.to_string(), "unknown account '4999'");
        assert_eq!(
            err,
            PostError::UnknownAccount {
                account: code("4999")
            }
        );
    }

    #[test]
    fn closed_account_is_refused() {
        let mut ledger = ledger();
        ledger
            .close_account(&code(codes::CASH), Role::Finance)
            .unwrap();
        let entry = transfer("e1", codes::CASH, codes::OPENING_EQUITY, 100);
        assert_eq!(
            ledger
                .check_entry(&entry, Role::Finance, &Known::new())
                .unwrap_err()
                .to_string(),
            "account '1010' is closed"
        );
    }

    #[test]
    fn roles_are_enforced() {
        let ledger = ledger();
        let entry = transfer("e1", codes::BANK, codes::SALES_REVENUE, 100);
        assert_eq!(
            ledger
                .check_entry(&entry, Role::Sales, &Known::new())
                .unwrap_err()
                .to_string(),
            "role 'sales' may not post to account '1000'"
        );
        for role in [Role::Auditor, Role::Admin] {
            assert_eq!(
                ledger.check_entry(&entry, role, &Known::new()).unwrap_err(),
                PostError::RoleNotAllowed {
                    role,
                    account: code(codes::BANK)
                }
            );
        }
        assert_eq!(
            ledger.check_entry(&entry, Role::Bookkeeper, &Known::new()),
            Ok(())
        );
        assert_eq!(
            ledger.check_entry(&entry, Role::Finance, &Known::new()),
            Ok(())
        );
        let shipment = transfer("e2", codes::COST_OF_GOODS_SOLD, codes::INVENTORY, 100);
        assert_eq!(
            ledger.check_entry(&shipment, Role::Warehouse, &Known::new()),
            Ok(())
        );
        assert_eq!(
            ledger.check_entry(&shipment, Role::Logistics, &Known::new()),
            Ok(())
        );
        assert!(ledger
            .check_entry(&shipment, Role::Service, &Known::new())
            .is_err());
    }

    #[test]
    fn auditor_is_refused_even_where_listed() {
        let mut chart = default_chart();
        for account in &mut chart {
            account.posting_roles = RoleSet::all();
        }
        let ledger = Ledger::new(chart).unwrap();
        let entry = transfer("e1", codes::CASH, codes::OPENING_EQUITY, 100);
        assert_eq!(
            ledger
                .check_entry(&entry, Role::Auditor, &Known::new())
                .unwrap_err()
                .to_string(),
            "role 'auditor' may not post to account '1010'"
        );
    }

    #[test]
    fn closed_period_is_refused() {
        let mut ledger = ledger();
        ledger.close_period(date("2026-03-31")).unwrap();
        let early = entry_on(
            "e1",
            "2026-01-31",
            vec![
                posting(codes::CASH, Side::Debit, 1, Currency::EUR),
                posting(codes::OPENING_EQUITY, Side::Credit, 1, Currency::EUR),
            ],
        );
        assert_eq!(
            ledger
                .check_entry(&early, Role::Finance, &Known::new())
                .unwrap_err()
                .to_string(),
            "2026-01-31 is in a closed period (closed through 2026-03-31)"
        );
        let boundary = entry_on("e2", "2026-03-31", early.postings().to_vec());
        assert!(matches!(
            ledger.check_entry(&boundary, Role::Finance, &Known::new()),
            Err(PostError::PeriodClosed { .. })
        ));
        let next_day = entry_on("e3", "2026-04-01", early.postings().to_vec());
        assert_eq!(
            ledger.check_entry(&next_day, Role::Finance, &Known::new()),
            Ok(())
        );
    }

    #[test]
    fn duplicate_ids_are_refused_first() {
        let mut ledger = ledger();
        let mut known = Known::new();
        let entry = transfer(
            "order:1",
            codes::ACCOUNTS_RECEIVABLE,
            codes::SALES_REVENUE,
            100,
        );
        commit(&mut ledger, &mut known, &entry, Role::Sales);
        // Even by a role that could not post it, a resend reports the duplicate.
        let err = ledger
            .check_entry(&entry, Role::Auditor, &known)
            .unwrap_err();
        assert_eq!(err.to_string(), "entry id 'order:1' was already committed");
    }

    #[test]
    fn reversal_of_unknown_entry_is_refused() {
        let ledger = ledger();
        let original = transfer(
            "orig",
            codes::ACCOUNTS_RECEIVABLE,
            codes::SALES_REVENUE,
            100,
        );
        let undo = reversal("undo", &original);
        assert_eq!(
            ledger
                .check_entry(&undo, Role::Sales, &Known::new())
                .unwrap_err()
                .to_string(),
            "cannot reverse entry 'orig': no such entry was committed"
        );
    }

    #[test]
    fn reversal_restores_balances_and_only_once() {
        let mut ledger = ledger();
        let mut known = Known::new();
        let original = transfer(
            "orig",
            codes::ACCOUNTS_RECEIVABLE,
            codes::SALES_REVENUE,
            100,
        );
        commit(&mut ledger, &mut known, &original, Role::Sales);
        let undo = reversal("undo", &original);
        commit(&mut ledger, &mut known, &undo, Role::Sales);
        assert!(ledger.trial_balance().is_empty());
        assert_eq!(ledger.entry_count(), 2);
        let again = reversal("undo-2", &original);
        assert_eq!(
            ledger
                .check_entry(&again, Role::Sales, &known)
                .unwrap_err()
                .to_string(),
            "entry 'orig' was already reversed by 'undo'"
        );
        // A reversal of the reversal re-instates the original.
        let redo = reversal("redo", &undo);
        commit(&mut ledger, &mut known, &redo, Role::Sales);
        assert_eq!(
            ledger
                .balance(&code(codes::SALES_REVENUE), Currency::EUR)
                .net(),
            Some((Side::Credit, 100))
        );
    }

    #[test]
    fn reversal_must_mirror_exactly_as_a_multiset() {
        let mut ledger = ledger();
        let mut known = Known::new();
        let ar = codes::ACCOUNTS_RECEIVABLE;
        let original = entry_on(
            "orig",
            "2026-06-15",
            vec![
                posting(ar, Side::Debit, 60, Currency::EUR),
                posting(ar, Side::Debit, 60, Currency::EUR),
                posting(codes::SALES_REVENUE, Side::Credit, 120, Currency::EUR),
            ],
        );
        commit(&mut ledger, &mut known, &original, Role::Sales);
        let make = |postings: Vec<Posting>| {
            let mut draft = original.draft().clone();
            draft.id = id("undo");
            draft.reverses = Some(id("orig"));
            draft.postings = postings;
            draft.check().unwrap()
        };
        // Same totals but a different split: not a mirror.
        let merged = make(vec![
            posting(codes::SALES_REVENUE, Side::Debit, 120, Currency::EUR),
            posting(ar, Side::Credit, 120, Currency::EUR),
        ]);
        assert_eq!(
            ledger.check_entry(&merged, Role::Sales, &known).unwrap_err().to_string(),
            "a reversal of entry 'orig' must post exactly its postings with debit and credit swapped"
        );
        // Sides not swapped.
        let same = make(original.postings().to_vec());
        assert_eq!(
            ledger.check_entry(&same, Role::Sales, &known).unwrap_err(),
            PostError::NotAMirror { id: id("orig") }
        );
        // Mirrored in a different order: fine.
        let reordered = make(vec![
            posting(ar, Side::Credit, 60, Currency::EUR),
            posting(codes::SALES_REVENUE, Side::Debit, 120, Currency::EUR),
            posting(ar, Side::Credit, 60, Currency::EUR),
        ]);
        assert_eq!(ledger.check_entry(&reordered, Role::Sales, &known), Ok(()));
    }

    #[test]
    fn reversal_still_needs_posting_rights() {
        let mut ledger = ledger();
        let mut known = Known::new();
        fund_bank(&mut ledger, &mut known, 1000);
        let original = transfer("fee", codes::PAYMENT_FEES, codes::BANK, 100);
        commit(&mut ledger, &mut known, &original, Role::Finance);
        let undo = reversal("undo", &original);
        assert!(matches!(
            ledger.check_entry(&undo, Role::Service, &known),
            Err(PostError::RoleNotAllowed { .. })
        ));
    }

    #[test]
    fn no_negative_accounts_stay_on_their_side() {
        let mut ledger = ledger();
        let mut known = Known::new();
        let refund = transfer("refund", codes::SALES_RETURNS, codes::BANK, 100);
        let err = ledger
            .check_entry(&refund, Role::Service, &known)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "account '1000' may not go below zero in EUR"
        );
        fund_bank(&mut ledger, &mut known, 100);
        commit(&mut ledger, &mut known, &refund, Role::Service);
        assert_eq!(
            ledger.balance(&code(codes::BANK), Currency::EUR).net(),
            None
        );
        // Other currencies are separate: EUR in the bank does not cover USD.
        let usd = entry_on(
            "usd",
            "2026-06-15",
            vec![
                posting(codes::SALES_RETURNS, Side::Debit, 1, Currency::USD),
                posting(codes::BANK, Side::Credit, 1, Currency::USD),
            ],
        );
        assert_eq!(
            ledger.check_entry(&usd, Role::Service, &known).unwrap_err(),
            PostError::WouldGoNegative {
                account: code(codes::BANK),
                currency: Currency::USD
            }
        );
        // Cash has no such rule.
        let cash = transfer("cash", codes::SALES_RETURNS, codes::CASH, 5);
        assert_eq!(ledger.check_entry(&cash, Role::Finance, &known), Ok(()));
    }

    #[test]
    fn no_negative_credit_normal_account() {
        let mut chart = default_chart();
        chart.push(Account {
            no_negative: true,
            ..Account::new(
                code("2900"),
                "Customer deposits",
                AccountKind::Liability,
                RoleSet::of(&[Role::Finance]),
            )
        });
        let ledger = Ledger::new(chart).unwrap();
        let entry = transfer("e", "2900", codes::CASH, 5);
        assert_eq!(
            ledger
                .check_entry(&entry, Role::Finance, &Known::new())
                .unwrap_err()
                .to_string(),
            "account '2900' may not go below zero in EUR"
        );
        let fine = transfer("f", codes::CASH, "2900", 5);
        assert_eq!(
            ledger.check_entry(&fine, Role::Finance, &Known::new()),
            Ok(())
        );
    }

    #[test]
    fn balance_overflow_is_refused_not_wrapped() {
        let mut ledger = ledger();
        let key = (code(codes::CASH), Currency::EUR);
        ledger.balances.insert(
            key.clone(),
            Balance {
                debit: u128::MAX - 5,
                credit: 0,
            },
        );
        ledger.balances.insert(
            (code(codes::OPENING_EQUITY), Currency::EUR),
            Balance {
                debit: 0,
                credit: u128::MAX - 5,
            },
        );
        let entry = transfer("big", codes::CASH, codes::OPENING_EQUITY, 6);
        let err = ledger
            .check_entry(&entry, Role::Finance, &Known::new())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the EUR totals of account '1010' would overflow"
        );
        let ok = transfer("ok", codes::CASH, codes::OPENING_EQUITY, 5);
        assert_eq!(
            ledger.check_entry(&ok, Role::Finance, &Known::new()),
            Ok(())
        );
    }

    #[test]
    fn full_entry_counter_is_refused() {
        let mut ledger = ledger();
        ledger.entries = u64::MAX;
        let entry = transfer("e", codes::CASH, codes::OPENING_EQUITY, 1);
        assert_eq!(
            ledger
                .check_entry(&entry, Role::Finance, &Known::new())
                .unwrap_err()
                .to_string(),
            "the ledger holds the largest possible number of entries"
        );
    }

    #[test]
    #[should_panic(expected = "apply_entry called without a successful check_entry")]
    fn apply_without_check_on_unknown_account_is_a_bug() {
        let mut ledger = ledger();
        ledger.apply_entry(&transfer("e", "9999", codes::CASH, 1));
    }

    #[test]
    fn failed_post_changes_nothing() {
        let mut ledger = ledger();
        let before = ledger.clone();
        let digest = ledger.state_digest();
        let entry = transfer("refund", codes::SALES_RETURNS, codes::BANK, 100);
        assert!(ledger.post(&entry, Role::Service, &Known::new()).is_err());
        assert_eq!(ledger, before);
        assert_eq!(ledger.state_digest(), digest);
    }

    #[test]
    fn hash_map_lookup_works_too() {
        let mut ledger = ledger();
        let mut known: HashMap<EntryId, KnownEntry> = HashMap::new();
        let entry = transfer("e", codes::CASH, codes::OPENING_EQUITY, 1);
        ledger.post(&entry, Role::Finance, &known).unwrap();
        known.insert(entry.id().clone(), KnownEntry::from_entry(&entry));
        assert!(matches!(
            ledger.check_entry(&entry, Role::Finance, &known),
            Err(PostError::DuplicateId { .. })
        ));
    }

    #[test]
    fn open_account_rules() {
        let mut ledger = ledger();
        let account = Account::new(
            code("1500"),
            "Prepaid ads",
            AccountKind::Asset,
            RoleSet::of(&[Role::Finance]),
        );
        assert_eq!(
            ledger
                .open_account(account.clone(), Role::Sales)
                .unwrap_err()
                .to_string(),
            "role 'sales' may not open or close accounts (only admin and finance may)"
        );
        assert_eq!(
            ledger
                .open_account(
                    Account {
                        open: false,
                        ..account.clone()
                    },
                    Role::Admin
                )
                .unwrap_err()
                .to_string(),
            "account '1500' is marked closed; a new account must be opened with open = true"
        );
        ledger.open_account(account.clone(), Role::Admin).unwrap();
        assert_eq!(ledger.account(&code("1500")), Some(&account));
        assert_eq!(
            ledger
                .open_account(account, Role::Finance)
                .unwrap_err()
                .to_string(),
            "account '1500' already exists"
        );
        let unnamed = Account::new(code("1600"), "", AccountKind::Asset, RoleSet::empty());
        assert_eq!(
            ledger.open_account(unnamed, Role::Finance).unwrap_err(),
            AccountError::NameEmpty { code: code("1600") }
        );
    }

    #[test]
    fn chart_size_is_bounded() {
        let chart: Vec<Account> = (0..ACCOUNTS_MAX)
            .map(|n| {
                Account::new(
                    code(&n.to_string()),
                    "x",
                    AccountKind::Asset,
                    RoleSet::empty(),
                )
            })
            .collect();
        let mut ledger = Ledger::new(chart.clone()).unwrap();
        let extra = Account::new(code("extra"), "x", AccountKind::Asset, RoleSet::empty());
        assert_eq!(
            ledger
                .open_account(extra.clone(), Role::Finance)
                .unwrap_err()
                .to_string(),
            "the chart may hold at most 10000 accounts"
        );
        let mut too_big = chart;
        too_big.push(extra);
        assert_eq!(
            Ledger::new(too_big).unwrap_err(),
            AccountError::TooManyAccounts { max: ACCOUNTS_MAX }
        );
    }

    #[test]
    fn close_account_rules() {
        let mut ledger = ledger();
        let mut known = Known::new();
        fund_bank(&mut ledger, &mut known, 1234);
        let bank = code(codes::BANK);
        assert_eq!(
            ledger
                .close_account(&bank, Role::Bookkeeper)
                .unwrap_err()
                .to_string(),
            "role 'bookkeeper' may not open or close accounts (only admin and finance may)"
        );
        assert_eq!(
            ledger
                .close_account(&bank, Role::Finance)
                .unwrap_err()
                .to_string(),
            "account '1000' cannot be closed while it holds a balance (EUR 12.34 debit)"
        );
        assert_eq!(
            ledger
                .close_account(&code("7777"), Role::Finance)
                .unwrap_err()
                .to_string(),
            "unknown account '7777'"
        );
        let empty_out = transfer("out", codes::OPENING_EQUITY, codes::BANK, 1234);
        commit(&mut ledger, &mut known, &empty_out, Role::Finance);
        ledger.close_account(&bank, Role::Admin).unwrap();
        assert!(!ledger.account(&bank).unwrap().open);
        // History stays: the totals are still there.
        assert_eq!(
            ledger.balance(&bank, Currency::EUR),
            Balance {
                debit: 1234,
                credit: 1234
            }
        );
        assert_eq!(
            ledger
                .close_account(&bank, Role::Admin)
                .unwrap_err()
                .to_string(),
            "account '1000' is already closed"
        );
        assert!(ledger.is_balanced());
    }

    /// A EUR transfer of `amount` from `credit` to `debit` dated `day`.
    fn dated(entry_id: &str, day: &str, debit: &str, credit: &str, amount: u64) -> BalancedEntry {
        entry_on(
            entry_id,
            day,
            vec![
                posting(debit, Side::Debit, amount, Currency::EUR),
                posting(credit, Side::Credit, amount, Currency::EUR),
            ],
        )
    }

    fn line(account: &str, debit: u128, credit: u128) -> TrialBalanceLine {
        TrialBalanceLine {
            account: code(account),
            currency: Currency::EUR,
            debit,
            credit,
        }
    }

    #[test]
    fn close_period_rules() {
        let mut ledger = ledger();
        assert_eq!(ledger.close_period(date("2026-03-31")), Ok(Vec::new()));
        assert_eq!(
            ledger
                .close_period(date("2026-03-31"))
                .unwrap_err()
                .to_string(),
            "the books are already closed through 2026-03-31"
        );
        assert_eq!(
            ledger
                .close_period(date("2026-01-31"))
                .unwrap_err()
                .to_string(),
            "cannot move the period close back to 2026-01-31 (closed through 2026-03-31)"
        );
        ledger.begin_close(date("2026-06-30")).unwrap();
        // Confirming the close under way is fine; another date is not.
        ledger.begin_close(date("2026-06-30")).unwrap();
        let before = ledger.clone();
        for other in ["2026-05-31", "2026-07-31"] {
            assert_eq!(
                ledger.begin_close(date(other)).unwrap_err().to_string(),
                format!(
                    "cannot close through {other} while the close through 2026-06-30 is under way"
                )
            );
            assert_eq!(
                ledger.close_period(date(other)).unwrap_err(),
                PeriodError::OtherClosePending {
                    requested: date(other),
                    pending: date("2026-06-30")
                }
            );
        }
        assert_eq!(ledger, before, "a refused close changed the ledger");
        assert_eq!(ledger.closing_through(), Some(date("2026-06-30")));
        ledger.close_period(date("2026-06-30")).unwrap();
        assert_eq!(ledger.closed_through(), Some(date("2026-06-30")));
        assert_eq!(ledger.closing_through(), None);
    }

    #[test]
    fn a_close_under_way_freezes_its_period_and_only_it() {
        let mut ledger = ledger();
        let mut known = Known::new();
        let june = dated(
            "june",
            "2026-06-10",
            codes::CASH,
            codes::OPENING_EQUITY,
            100,
        );
        commit(&mut ledger, &mut known, &june, Role::Finance);
        ledger.begin_close(date("2026-06-30")).unwrap();

        let before = ledger.clone();
        let late = dated("late", "2026-06-30", codes::CASH, codes::OPENING_EQUITY, 7);
        let error = ledger.post(&late, Role::Finance, &known).unwrap_err();
        assert_eq!(
            error,
            PostError::PeriodClosing {
                date: date("2026-06-30"),
                closing_through: date("2026-06-30")
            }
        );
        assert_eq!(
            error.to_string(),
            "2026-06-30 is in a period being closed (closing through 2026-06-30)"
        );
        assert_eq!(ledger, before, "a refused entry changed the ledger");
        // A resent entry is still reported as a duplicate first.
        assert!(matches!(
            ledger.check_entry(&june, Role::Finance, &known),
            Err(PostError::DuplicateId { .. })
        ));
        // Entries dated after the period keep flowing and do not move its balances.
        let july = dated("july", "2026-07-01", codes::CASH, codes::OPENING_EQUITY, 50);
        commit(&mut ledger, &mut known, &july, Role::Finance);
        let closing = ledger.close_period(date("2026-06-30")).unwrap();
        assert_eq!(
            closing,
            vec![
                line(codes::CASH, 100, 0),
                line(codes::OPENING_EQUITY, 0, 100)
            ]
        );
        assert_eq!(
            ledger.post(&late, Role::Finance, &known).unwrap_err(),
            PostError::PeriodClosed {
                date: date("2026-06-30"),
                closed_through: date("2026-06-30")
            }
        );
        assert_eq!(
            ledger.trial_balance(),
            vec![
                line(codes::CASH, 150, 0),
                line(codes::OPENING_EQUITY, 0, 150)
            ]
        );
    }

    #[test]
    fn trial_balance_as_of_counts_entries_dated_up_to_that_day() {
        let mut ledger = ledger();
        let mut known = Known::new();
        // Arriving out of date order on purpose.
        for (entry_id, day, amount) in [
            ("c", "2026-03-05", 300),
            ("a", "2026-01-05", 100),
            ("b", "2026-02-05", 20),
        ] {
            let entry = dated(entry_id, day, codes::CASH, codes::OPENING_EQUITY, amount);
            commit(&mut ledger, &mut known, &entry, Role::Finance);
        }
        let refund = dated("r", "2026-02-06", codes::OPENING_EQUITY, codes::CASH, 20);
        commit(&mut ledger, &mut known, &refund, Role::Finance);
        let as_of = |ledger: &Ledger, day| ledger.trial_balance_as_of(date(day)).unwrap();
        assert_eq!(as_of(&ledger, "2025-12-31"), Vec::new());
        assert_eq!(
            as_of(&ledger, "2026-02-05"),
            vec![
                line(codes::CASH, 120, 0),
                line(codes::OPENING_EQUITY, 0, 120)
            ]
        );
        assert_eq!(
            as_of(&ledger, "2026-02-28"),
            vec![
                line(codes::CASH, 100, 0),
                line(codes::OPENING_EQUITY, 0, 100)
            ]
        );
        assert_eq!(as_of(&ledger, "2026-12-31"), ledger.trial_balance());

        // A reversal dated later moves the later balances only.
        let original = dated("c", "2026-03-05", codes::CASH, codes::OPENING_EQUITY, 300);
        let mut draft = reversal("undo-c", &original).into_draft();
        draft.date = date("2026-04-01");
        let undo = draft.check().unwrap();
        commit(&mut ledger, &mut known, &undo, Role::Finance);
        assert_eq!(
            as_of(&ledger, "2026-03-31"),
            vec![
                line(codes::CASH, 400, 0),
                line(codes::OPENING_EQUITY, 0, 400)
            ]
        );
        assert_eq!(
            as_of(&ledger, "2026-04-01"),
            vec![
                line(codes::CASH, 100, 0),
                line(codes::OPENING_EQUITY, 0, 100)
            ]
        );

        let closing = ledger.close_period(date("2026-02-28")).unwrap();
        assert_eq!(closing, as_of(&ledger, "2026-02-28"));
        // The closed days' detail is gone; the close's own day and later remain exact.
        let error = ledger.trial_balance_as_of(date("2026-02-27")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "balances as of 2026-02-27 are not kept: the books are closed through 2026-02-28, \
             and a closed period keeps only its closing trial balance"
        );
        assert_eq!(as_of(&ledger, "2026-02-28"), closing);
        assert_eq!(
            as_of(&ledger, "2026-03-31"),
            vec![
                line(codes::CASH, 400, 0),
                line(codes::OPENING_EQUITY, 0, 400)
            ]
        );
        let open_dates: Vec<Date> = ledger.movements.dates().map(|(day, _)| day).collect();
        assert_eq!(open_dates, [date("2026-03-05"), date("2026-04-01")]);
    }

    #[test]
    fn closing_in_several_currencies_balances_each() {
        let mut ledger = ledger();
        let mut known = Known::new();
        fund_bank(&mut ledger, &mut known, 10_000);
        commit(&mut ledger, &mut known, &exchange(), Role::Finance);
        let closing = ledger.close_period(date("2026-06-30")).unwrap();
        for currency in [Currency::EUR, Currency::USD] {
            let (debits, credits) = closing
                .iter()
                .filter(|line| line.currency == currency)
                .fold((0, 0), |(d, c), line| (d + line.debit, c + line.credit));
            assert_eq!(debits, credits, "{currency}");
            assert!(debits > 0, "{currency}");
        }
    }

    #[test]
    fn digest_covers_every_part_of_the_state() {
        let base = ledger();
        let digest = base.state_digest();
        assert_eq!(ledger().state_digest(), digest);

        let mut closed = base.clone();
        closed.close_period(date("2026-01-31")).unwrap();
        let mut closing = base.clone();
        closing.begin_close(date("2026-01-31")).unwrap();
        let mut posted_later = base.clone();
        posted_later
            .post(
                &entry_on(
                    "e",
                    "2026-06-16",
                    vec![
                        posting(codes::CASH, Side::Debit, 1, Currency::EUR),
                        posting(codes::OPENING_EQUITY, Side::Credit, 1, Currency::EUR),
                    ],
                ),
                Role::Finance,
                &Known::new(),
            )
            .unwrap();
        let mut posted = base.clone();
        posted
            .post(
                &transfer("e", codes::CASH, codes::OPENING_EQUITY, 1),
                Role::Finance,
                &Known::new(),
            )
            .unwrap();
        let mut account_closed = base.clone();
        account_closed
            .close_account(&code(codes::CASH), Role::Finance)
            .unwrap();
        let mut opened = base.clone();
        opened
            .open_account(
                Account::new(code("1500"), "x", AccountKind::Asset, RoleSet::empty()),
                Role::Finance,
            )
            .unwrap();
        let mut counted = base.clone();
        counted.entries = 1;
        let digests = [
            digest,
            closed.state_digest(),
            closing.state_digest(),
            // Same balances as `posted`, another date.
            posted_later.state_digest(),
            posted.state_digest(),
            account_closed.state_digest(),
            opened.state_digest(),
            counted.state_digest(),
        ];
        for (i, a) in digests.iter().enumerate() {
            for b in &digests[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn digest_ignores_balances_never_posted() {
        let base = ledger();
        let mut with_empty = base.clone();
        with_empty
            .balances
            .insert((code(codes::CASH), Currency::EUR), Balance::default());
        assert_eq!(base.state_digest(), with_empty.state_digest());
    }

    #[test]
    fn fx_trading_keeps_each_currency_balanced() {
        let mut ledger = ledger();
        let mut known = Known::new();
        fund_bank(&mut ledger, &mut known, 10_000);
        commit(&mut ledger, &mut known, &exchange(), Role::Finance);
        assert!(ledger.is_balanced());
        assert_eq!(
            ledger.balance(&code(codes::BANK), Currency::USD).net(),
            Some((Side::Debit, 11_000))
        );
        assert_eq!(
            ledger.balance(&code(codes::BANK), Currency::EUR).net(),
            None
        );
        let bank: Vec<Currency> = ledger
            .balances_of(&code(codes::BANK))
            .map(|(c, _)| c)
            .collect();
        assert_eq!(bank, [Currency::EUR, Currency::USD]);
        assert_eq!(ledger.balances().count(), 5);
    }

    #[test]
    fn is_balanced_is_exact_beyond_u128() {
        let mut ledger = ledger();
        let half = Balance {
            debit: u128::MAX,
            credit: 0,
        };
        let other = Balance {
            debit: 0,
            credit: u128::MAX,
        };
        ledger
            .balances
            .insert((code(codes::CASH), Currency::EUR), half);
        ledger
            .balances
            .insert((code(codes::INVENTORY), Currency::EUR), half);
        ledger
            .balances
            .insert((code(codes::OPENING_EQUITY), Currency::EUR), other);
        assert!(!ledger.is_balanced());
        ledger
            .balances
            .insert((code(codes::FX_TRADING), Currency::EUR), other);
        assert!(ledger.is_balanced());
    }

    #[test]
    fn balance_net_and_plus() {
        assert_eq!(Balance::default().net(), None);
        assert_eq!(
            Balance {
                debit: 5,
                credit: 3
            }
            .net(),
            Some((Side::Debit, 2))
        );
        assert_eq!(
            Balance {
                debit: 3,
                credit: 5
            }
            .net(),
            Some((Side::Credit, 2))
        );
        assert_eq!(
            Balance::default().plus(Side::Credit, 7),
            Some(Balance {
                debit: 0,
                credit: 7
            })
        );
        assert_eq!(
            Balance {
                debit: u128::MAX,
                credit: 0
            }
            .plus(Side::Debit, 1),
            None
        );
    }
}
