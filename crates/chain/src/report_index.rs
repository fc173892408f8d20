//! The report index: what accounting reports read instead of blocks, written by
//! [`Store::commit`](crate::Store::commit) in the same atomic transaction as the block, so it
//! always describes the same height as the blocks and the state snapshot.
//!
//! Tables (all keyed so that the reads below are ranges, never scans of the whole chain):
//! - `report_posting_runs` (account, currency, seq of the run's first posting) → a run of
//!   [`PostingRecord`]s: every posting in commit order per account and currency, with the
//!   account's running totals after it, kept in runs of the postings one block made to the
//!   account (at most [`POSTING_RUN_MAX`] a run): a row per posting made the index a B-tree
//!   insert per posting, the largest cost of committing a block. The account ledger pages
//!   through the runs, and the balance of an account at a past height is the running total of
//!   its last posting at or below that height (one lookup). Stores written with a row per
//!   posting (`report_postings`) have them moved into runs of one when they open.
//! - `report_heights` height → entries in the log after that block: where a height ends in
//!   posting sequence numbers.
//! - `report_items` (account, currency, partner, document) → [`ItemState`]: the open items of
//!   sub-ledger accounts (closed items are deleted), and `report_age_totals` (account, currency,
//!   partner, since) → net and count of the open items with that date: what the ageing of the
//!   head reads, a row per partner and day rather than per item.
//! - `report_departments` (department, date, account, currency) → totals posted by the
//!   department's members with that accounting date.
//! - `report_fx_rates` (from, to, date, seq) → a rate an entry recorded through the FX trading
//!   account (see `tally_reports::fx_observations`).
//!
//! A store written before this index existed has none of it for its earlier blocks; the index
//! must start at the genesis (a node rebuilds its store by catching up from peers).

use std::collections::HashMap;

use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use tally_ledger::{
    codes, AccountCode, Balance, Currency, Date, EntryDraft, EntryId, Reference, Side,
};
use tally_reports::{
    fx_observations, has_document, item_ref, item_step, posting_seq, ItemRef, ItemState,
    PostingRecord, Rate, SEQ_PER_ENTRY,
};

use crate::state::{CommittedEntry, Executed};
use crate::store::{StoreError, Text, ENTRIES};

/// Runs of postings per account and currency, keyed by the seq of each run's first posting.
const POSTING_RUNS: TableDefinition<(Text, Text, u64), &[u8]> =
    TableDefinition::new("report_posting_runs");
/// A row per posting, as stores kept them before runs; moved into runs on open.
const LEGACY_POSTINGS: TableDefinition<(Text, Text, u64), &[u8]> =
    TableDefinition::new("report_postings");

/// Most postings in one run. A block's postings to one account are one run up to this; a
/// longer run would make a reader of one page of the account ledger decode more than it shows.
pub const POSTING_RUN_MAX: usize = 256;
const HEIGHTS: TableDefinition<u64, u64> = TableDefinition::new("report_heights");
const ITEMS: TableDefinition<(Text, Text, Text, Text), &[u8]> =
    TableDefinition::new("report_items");
const AGE_TOTALS: TableDefinition<(Text, Text, Text, u32), &[u8]> =
    TableDefinition::new("report_age_totals");
const DEPARTMENTS: TableDefinition<(Text, u32, Text, Text), &[u8]> =
    TableDefinition::new("report_departments");
const FX_RATES: TableDefinition<(Text, Text, u32, u64), &[u8]> =
    TableDefinition::new("report_fx_rates");
/// The latest accounting date of any posting to a sub-ledger account, packed.
const ITEM_DATES: TableDefinition<Text, u32> = TableDefinition::new("report_item_dates");
const ITEM_DATE_KEY: &str = "latest";

/// Open items of one (account, currency, partner, since): their net (as debit and credit
/// totals) and how many there are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeTotal {
    pub balance: Balance,
    pub items: u64,
}

/// A stored rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct StoredRate {
    from_minor: u128,
    to_minor: u128,
    height: u64,
    entry: String,
}

fn storage<E: std::fmt::Display>(error: E) -> StoreError {
    StoreError::Storage(error.to_string())
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("serialising to a Vec cannot fail")
}

fn decode<T: for<'de> Deserialize<'de>>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|error| StoreError::Corrupt(format!("{what}: {error}")))
}

/// A report index total overflowed: the ledger's own totals, which bound every index total,
/// would have overflowed first, so this is damage or a bug.
fn overflow(what: &str) -> StoreError {
    StoreError::Corrupt(format!("report index total of {what} overflows"))
}

/// The references that decide a posting's open item: the entry's own, or, for a reversal that
/// names no document, its original's (in this block or committed before).
fn item_references(
    write: &WriteTransaction,
    committed: &CommittedEntry,
    block: &[CommittedEntry],
) -> Result<Vec<Reference>, StoreError> {
    let draft = &committed.entry;
    let Some(original) = draft
        .reverses
        .as_ref()
        .filter(|_| !has_document(&draft.references))
    else {
        return Ok(draft.references.clone());
    };
    if let Some(earlier) = block.iter().find(|other| &other.entry.id == original) {
        return Ok(earlier.entry.references.clone());
    }
    let entries = write.open_table(ENTRIES).map_err(storage)?;
    let Some(bytes) = entries.get(original.as_str()).map_err(storage)? else {
        return Ok(draft.references.clone());
    };
    let stored: CommittedEntry = decode(&format!("entry {original}"), bytes.value())?;
    Ok(stored.entry.references)
}

/// An open item's key as stored: account, currency, partner, document.
type ItemKeyText = (String, String, String, String);
/// An age total's key as stored: account, currency, partner, since (packed).
type AgeKeyText = (String, String, String, u32);

/// What one block does to the open items and their age totals, gathered in memory so that
/// each touched item and total is read and written once per block rather than per posting.
#[derive(Default)]
struct ItemChanges {
    /// Every touched item's state after the block so far (`None`: closed).
    items: HashMap<ItemKeyText, Option<ItemState>>,
    /// Per age total: balances added, balances taken out, and the change in item count.
    ages: HashMap<AgeKeyText, (Balance, Balance, i64)>,
}

fn add_balance(total: &mut Balance, more: &Balance, what: &str) -> Result<(), StoreError> {
    total.debit = total
        .debit
        .checked_add(more.debit)
        .ok_or_else(|| overflow(what))?;
    total.credit = total
        .credit
        .checked_add(more.credit)
        .ok_or_else(|| overflow(what))?;
    Ok(())
}

impl ItemChanges {
    /// Moves one open item by a posting (see `tally_reports::item_step`).
    #[allow(clippy::too_many_arguments)]
    fn post(
        &mut self,
        stored: &redb::Table<(Text, Text, Text, Text), &[u8]>,
        account: &str,
        currency: &str,
        item: &ItemRef,
        date: Date,
        side: Side,
        amount: u64,
    ) -> Result<(), StoreError> {
        let key: ItemKeyText = (
            account.to_string(),
            currency.to_string(),
            item.partner.clone(),
            item.document.clone(),
        );
        let before = match self.items.get(&key) {
            Some(state) => *state,
            None => {
                let value = stored
                    .get((
                        account,
                        currency,
                        item.partner.as_str(),
                        item.document.as_str(),
                    ))
                    .map_err(storage)?;
                match value {
                    Some(bytes) => Some(decode::<ItemState>("open item", bytes.value())?),
                    None => None,
                }
            }
        };
        let after = item_step(before, date, side, amount);
        let age_key = |since: Date| -> AgeKeyText {
            (
                account.to_string(),
                currency.to_string(),
                item.partner.clone(),
                since.packed(),
            )
        };
        if let Some(before) = &before {
            let change = self.ages.entry(age_key(before.since)).or_default();
            add_balance(&mut change.1, &before.balance, account)?;
            change.2 -= 1;
        }
        if let Some(after) = &after {
            let change = self.ages.entry(age_key(after.since)).or_default();
            add_balance(&mut change.0, &after.balance, account)?;
            change.2 += 1;
        }
        self.items.insert(key, after);
        Ok(())
    }

    /// Writes the items and age totals the block changed.
    fn write(self, write: &WriteTransaction) -> Result<(), StoreError> {
        let mut items = write.open_table(ITEMS).map_err(storage)?;
        for ((account, currency, partner, document), state) in &self.items {
            let key = (
                account.as_str(),
                currency.as_str(),
                partner.as_str(),
                document.as_str(),
            );
            match state {
                Some(state) => {
                    items
                        .insert(key, encode(state).as_slice())
                        .map_err(storage)?;
                }
                None => {
                    items.remove(key).map_err(storage)?;
                }
            }
        }
        let mut totals = write.open_table(AGE_TOTALS).map_err(storage)?;
        for ((account, currency, partner, since), (added, taken, count)) in &self.ages {
            let key = (
                account.as_str(),
                currency.as_str(),
                partner.as_str(),
                *since,
            );
            let mut total: AgeTotal = match totals.get(key).map_err(storage)? {
                Some(bytes) => decode("age total", bytes.value())?,
                None => AgeTotal::default(),
            };
            add_balance(&mut total.balance, added, account)?;
            total.balance = total.balance.less(taken).ok_or_else(|| {
                StoreError::Corrupt(format!("age total of {account} below its items"))
            })?;
            let items = i64::try_from(total.items)
                .ok()
                .and_then(|items| items.checked_add(*count))
                .and_then(|items| u64::try_from(items).ok())
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("age total of {account} counts below zero"))
                })?;
            total.items = items;
            if total.items == 0 {
                totals.remove(key).map_err(storage)?;
            } else {
                totals
                    .insert(key, encode(&total).as_slice())
                    .map_err(storage)?;
            }
        }
        Ok(())
    }
}

/// The running totals of `account` in `currency` after its last posting numbered below
/// `seq_end` (nothing posted: zero).
fn running_before<T>(
    runs: &T,
    account: &str,
    currency: &str,
    seq_end: u64,
) -> Result<Balance, StoreError>
where
    T: ReadableTable<(Text, Text, u64), &'static [u8]>,
{
    let range = (account, currency, 0)..(account, currency, seq_end);
    let Some(item) = runs.range(range).map_err(storage)?.next_back() else {
        return Ok(Balance::default());
    };
    let (key, value) = item.map_err(storage)?;
    let run: Vec<PostingRecord> = decode("posting run", value.value())?;
    run.iter()
        .rev()
        .find(|record| record.seq < seq_end)
        .map(|record| record.running)
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "posting run {} of {account} {currency} holds no posting from its first",
                key.value().2
            ))
        })
}

/// Moves the postings of a store written with a row per posting into runs of one, in one
/// transaction; does nothing to a store without them.
pub(crate) fn move_postings_into_runs(write: &WriteTransaction) -> Result<(), StoreError> {
    {
        let legacy = write.open_table(LEGACY_POSTINGS).map_err(storage)?;
        let mut runs = write.open_table(POSTING_RUNS).map_err(storage)?;
        for item in legacy.iter().map_err(storage)? {
            let (key, value) = item.map_err(storage)?;
            let record: PostingRecord = decode("posting", value.value())?;
            runs.insert(key.value(), encode(&vec![record]).as_slice())
                .map_err(storage)?;
        }
    }
    write.delete_table(LEGACY_POSTINGS).map_err(storage)?;
    Ok(())
}

/// Whether the store still has a row per posting, from before runs.
pub(crate) fn has_legacy_postings(read: &ReadTransaction) -> Result<bool, StoreError> {
    Ok(table(read, LEGACY_POSTINGS)?.is_some())
}

/// Writes the report index of one block's entries; `executed.state` is the state after it.
pub(crate) fn index_block(
    write: &WriteTransaction,
    height: u64,
    executed: &Executed,
) -> Result<(), StoreError> {
    write
        .open_table(HEIGHTS)
        .map_err(storage)?
        .insert(height, executed.state.log.len())
        .map_err(storage)?;
    if executed.entries.is_empty() {
        return Ok(());
    }
    let ledger = &executed.state.ledger;
    let fx_account = AccountCode::new(codes::FX_TRADING).expect("the default codes are valid");
    let mut department_totals: HashMap<(String, u32, AccountCode, Currency), Balance> =
        HashMap::new();
    let mut latest_item_date: Option<Date> = None;
    let mut changes = ItemChanges::default();
    let stored_items = write.open_table(ITEMS).map_err(storage)?;
    let mut runs = write.open_table(POSTING_RUNS).map_err(storage)?;
    // This block's postings per account and currency, in commit order.
    let mut block_postings: HashMap<(AccountCode, Currency), Vec<PostingRecord>> = HashMap::new();
    for committed in &executed.entries {
        let draft: &EntryDraft = &committed.entry;
        let department = executed
            .state
            .members
            .get(&committed.signer)
            .map(|record| record.member.certificate.department.clone())
            .unwrap_or_default();
        let mut references: Option<Vec<Reference>> = None;
        for (position, posting) in draft.postings.iter().enumerate() {
            let key = (posting.account.clone(), posting.currency);
            let before = match block_postings.get(&key).and_then(|records| records.last()) {
                Some(last) => last.running,
                None => running_before(
                    &runs,
                    posting.account.as_str(),
                    posting.currency.code(),
                    u64::MAX,
                )?,
            };
            let after = before
                .plus(posting.side, posting.amount)
                .ok_or_else(|| overflow(posting.account.as_str()))?;
            let sub_ledger = ledger
                .account(&posting.account)
                .and_then(|account| account.sub_ledger.as_deref());
            let item = match sub_ledger {
                Some(sub_ledger) => {
                    if references.is_none() {
                        references = Some(item_references(write, committed, &executed.entries)?);
                    }
                    let references = references.as_deref().unwrap_or_default();
                    Some(item_ref(references, &draft.id, sub_ledger))
                }
                None => None,
            };
            let record = PostingRecord {
                seq: posting_seq(committed.log_index, position),
                entry: draft.id.clone(),
                date: draft.date,
                height,
                side: posting.side,
                amount: posting.amount,
                currency: posting.currency,
                running: after,
                department: department.clone(),
                item,
            };
            if let Some(item) = &record.item {
                changes.post(
                    &stored_items,
                    posting.account.as_str(),
                    posting.currency.code(),
                    item,
                    draft.date,
                    posting.side,
                    posting.amount,
                )?;
                latest_item_date = latest_item_date.max(Some(draft.date));
            }
            let total = department_totals
                .entry((
                    department.clone(),
                    draft.date.packed(),
                    posting.account.clone(),
                    posting.currency,
                ))
                .or_default();
            *total = total
                .plus(posting.side, posting.amount)
                .ok_or_else(|| overflow(&department))?;
            block_postings.entry(key).or_default().push(record);
        }
        let observations = fx_observations(&draft.postings, &fx_account);
        if !observations.is_empty() {
            let mut rates = write.open_table(FX_RATES).map_err(storage)?;
            for observed in observations {
                let stored = StoredRate {
                    from_minor: observed.from_minor,
                    to_minor: observed.to_minor,
                    height,
                    entry: draft.id.to_string(),
                };
                rates
                    .insert(
                        (
                            observed.from.code(),
                            observed.to.code(),
                            draft.date.packed(),
                            posting_seq(committed.log_index, 0),
                        ),
                        encode(&stored).as_slice(),
                    )
                    .map_err(storage)?;
            }
        }
    }
    // Sorted, so the inserts walk the B-tree in key order.
    let mut block_postings: Vec<_> = block_postings.into_iter().collect();
    block_postings.sort_unstable_by(|(a, _), (b, _)| {
        (a.0.as_str(), a.1.code()).cmp(&(b.0.as_str(), b.1.code()))
    });
    for ((account, currency), records) in &block_postings {
        for run in records.chunks(POSTING_RUN_MAX) {
            runs.insert(
                (account.as_str(), currency.code(), run[0].seq),
                encode(&run).as_slice(),
            )
            .map_err(storage)?;
        }
    }
    drop(runs);
    drop(stored_items);
    changes.write(write)?;
    let mut departments = write.open_table(DEPARTMENTS).map_err(storage)?;
    for ((department, date, account, currency), added) in department_totals {
        let key = (department.as_str(), date, account.as_str(), currency.code());
        let mut total: Balance = match departments.get(key).map_err(storage)? {
            Some(bytes) => decode("department total", bytes.value())?,
            None => Balance::default(),
        };
        total.debit = total
            .debit
            .checked_add(added.debit)
            .ok_or_else(|| overflow(&department))?;
        total.credit = total
            .credit
            .checked_add(added.credit)
            .ok_or_else(|| overflow(&department))?;
        departments
            .insert(key, encode(&total).as_slice())
            .map_err(storage)?;
    }
    if let Some(date) = latest_item_date {
        let mut dates = write.open_table(ITEM_DATES).map_err(storage)?;
        let stored = dates
            .get(ITEM_DATE_KEY)
            .map_err(storage)?
            .map(|v| v.value());
        if stored.is_none_or(|stored| stored < date.packed()) {
            dates
                .insert(ITEM_DATE_KEY, date.packed())
                .map_err(storage)?;
        }
    }
    Ok(())
}

/// One consistent view of the report index (one read transaction): every read through it sees
/// the same height.
pub struct ReportReader {
    read: ReadTransaction,
}

/// Opens a table that may not exist yet (no block wrote it).
fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
    read: &ReadTransaction,
    definition: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, StoreError> {
    match read.open_table(definition) {
        Ok(table) => Ok(Some(table)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(error) => Err(storage(error)),
    }
}

impl ReportReader {
    pub(crate) fn new(read: ReadTransaction) -> ReportReader {
        ReportReader { read }
    }

    /// The height this view describes (the last indexed block), `None` before the first block.
    pub fn height(&self) -> Result<Option<u64>, StoreError> {
        let Some(heights) = table(&self.read, HEIGHTS)? else {
            return Ok(None);
        };
        let last = heights.last().map_err(storage)?;
        Ok(last.map(|(height, _)| height.value()))
    }

    /// The first posting sequence number after block `height` (every posting committed at or
    /// below it has a smaller one), or `None` if that height is not indexed.
    pub fn seq_end(&self, height: u64) -> Result<Option<u64>, StoreError> {
        let Some(heights) = table(&self.read, HEIGHTS)? else {
            return Ok(None);
        };
        let value = heights.get(height).map_err(storage)?;
        Ok(value.map(|entries| entries.value().saturating_mul(SEQ_PER_ENTRY)))
    }

    /// The totals of `account` in `currency` after every posting numbered below `seq_end`.
    pub fn balance_before(
        &self,
        account: &AccountCode,
        currency: Currency,
        seq_end: u64,
    ) -> Result<Balance, StoreError> {
        let Some(runs) = table(&self.read, POSTING_RUNS)? else {
            return Ok(Balance::default());
        };
        running_before(&runs, account.as_str(), currency.code(), seq_end)
    }

    /// Up to `limit` postings of `account` in `currency` numbered after `after` (or from the
    /// first) and below `seq_end`, in commit order; `limit` `None` reads them all.
    pub fn postings(
        &self,
        account: &AccountCode,
        currency: Currency,
        after: Option<u64>,
        seq_end: u64,
        limit: Option<usize>,
    ) -> Result<Vec<PostingRecord>, StoreError> {
        let Some(runs) = table(&self.read, POSTING_RUNS)? else {
            return Ok(Vec::new());
        };
        let start = match after {
            Some(after) => after.saturating_add(1),
            None => 0,
        };
        if start >= seq_end {
            return Ok(Vec::new());
        }
        let (account, currency) = (account.as_str(), currency.code());
        // The run holding `start` may begin before it.
        let first = match runs
            .range((account, currency, 0)..=(account, currency, start))
            .map_err(storage)?
            .next_back()
        {
            Some(item) => item.map_err(storage)?.0.value().2,
            None => start,
        };
        let mut found = Vec::new();
        for item in runs
            .range((account, currency, first)..(account, currency, seq_end))
            .map_err(storage)?
        {
            let (_, value) = item.map_err(storage)?;
            let run: Vec<PostingRecord> = decode("posting run", value.value())?;
            for record in run {
                if record.seq < start {
                    continue;
                }
                if record.seq >= seq_end || limit.is_some_and(|limit| found.len() >= limit) {
                    return Ok(found);
                }
                found.push(record);
            }
        }
        Ok(found)
    }

    /// The open-item totals of `account` in every currency: (currency, partner, since, total).
    pub fn age_totals(
        &self,
        account: &AccountCode,
    ) -> Result<Vec<(Currency, String, Date, AgeTotal)>, StoreError> {
        let Some(totals) = table(&self.read, AGE_TOTALS)? else {
            return Ok(Vec::new());
        };
        let range = (account.as_str(), "", "", 0)..;
        let mut found = Vec::new();
        for item in totals.range(range).map_err(storage)? {
            let (key, value) = item.map_err(storage)?;
            let (stored_account, currency, partner, since) = key.value();
            if stored_account != account.as_str() {
                break;
            }
            let currency = Currency::from_code(currency)
                .map_err(|error| StoreError::Corrupt(format!("age total currency: {error}")))?;
            let since = Date::from_packed(since)
                .map_err(|error| StoreError::Corrupt(format!("age total date: {error}")))?;
            found.push((
                currency,
                partner.to_string(),
                since,
                decode("age total", value.value())?,
            ));
        }
        Ok(found)
    }

    /// The latest accounting date of any posting to a sub-ledger account.
    pub fn latest_item_date(&self) -> Result<Option<Date>, StoreError> {
        let Some(dates) = table(&self.read, ITEM_DATES)? else {
            return Ok(None);
        };
        let value = dates.get(ITEM_DATE_KEY).map_err(storage)?;
        value
            .map(|packed| {
                Date::from_packed(packed.value())
                    .map_err(|error| StoreError::Corrupt(format!("item date: {error}")))
            })
            .transpose()
    }

    /// Department totals of postings dated on or before `as_of` (all if `None`):
    /// (department, account, currency, totals), summed over dates.
    pub fn department_totals(
        &self,
        as_of: Option<Date>,
    ) -> Result<Vec<(String, AccountCode, Currency, Balance)>, StoreError> {
        let Some(departments) = table(&self.read, DEPARTMENTS)? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for item in departments.iter().map_err(storage)? {
            let (key, value) = item.map_err(storage)?;
            let (department, date, account, currency) = key.value();
            if as_of.is_some_and(|as_of| date > as_of.packed()) {
                continue;
            }
            let account = AccountCode::new(account)
                .map_err(|error| StoreError::Corrupt(format!("department account: {error}")))?;
            let currency = Currency::from_code(currency)
                .map_err(|error| StoreError::Corrupt(format!("department currency: {error}")))?;
            found.push((
                department.to_string(),
                account,
                currency,
                decode("department total", value.value())?,
            ));
        }
        Ok(found)
    }

    /// The latest rate from `from` to `to` recorded by an entry dated on or before `as_of` (any
    /// date if `None`) and committed at or below `height` (any if `None`): latest by date, then
    /// commit order.
    pub fn latest_rate(
        &self,
        from: Currency,
        to: Currency,
        as_of: Option<Date>,
        height: Option<u64>,
    ) -> Result<Option<Rate>, StoreError> {
        let Some(rates) = table(&self.read, FX_RATES)? else {
            return Ok(None);
        };
        let last_date = as_of.map(Date::packed).unwrap_or(u32::MAX);
        let range = (from.code(), to.code(), 0, 0)..=(from.code(), to.code(), last_date, u64::MAX);
        for item in rates.range(range).map_err(storage)?.rev() {
            let (key, value) = item.map_err(storage)?;
            let stored: StoredRate = decode("fx rate", value.value())?;
            if height.is_some_and(|height| stored.height > height) {
                continue;
            }
            let date = Date::from_packed(key.value().2)
                .map_err(|error| StoreError::Corrupt(format!("fx rate date: {error}")))?;
            return Ok(Some(Rate {
                from,
                to,
                from_minor: stored.from_minor,
                to_minor: stored.to_minor,
                date,
                entry: stored.entry,
            }));
        }
        Ok(None)
    }

    /// The committed entry with this id (for descriptions in the account ledger).
    pub fn entry(&self, id: &EntryId) -> Result<Option<CommittedEntry>, StoreError> {
        crate::store::EntryReader::new(&self.read)?.get(id.as_str())
    }
}
