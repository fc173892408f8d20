//! One indexed posting: what the account ledger, the ageing of past dates and the department
//! totals of past heights read instead of blocks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tally_ledger::{Balance, Currency, Date, EntryId, Side, POSTINGS_PER_ENTRY_MAX};

use crate::items::ItemRef;

/// Sequence numbers reserved per entry: one per possible posting, so that a posting's number
/// (entry log position times this, plus its position in the entry) orders every posting of the
/// chain in commit order.
pub const SEQ_PER_ENTRY: u64 = POSTINGS_PER_ENTRY_MAX as u64;

/// The commit-order number of the `position`th posting of the entry at `log_index`.
pub fn posting_seq(log_index: u64, position: usize) -> u64 {
    // 2^64 / 64 entries is far beyond any chain; saturating keeps this total rather than panic.
    log_index
        .saturating_mul(SEQ_PER_ENTRY)
        .saturating_add(position as u64)
}

/// A posting as the report index keeps it, under (account, currency, seq).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PostingRecord {
    /// Commit order across the chain ([`posting_seq`]).
    pub seq: u64,
    /// The entry it belongs to.
    pub entry: EntryId,
    /// The entry's accounting date.
    pub date: Date,
    /// The block that committed it.
    pub height: u64,
    /// Debit or credit.
    pub side: Side,
    /// Minor units.
    pub amount: u64,
    /// The currency of `amount`.
    pub currency: Currency,
    /// The account's totals in this currency after this posting, in commit order.
    pub running: Balance,
    /// The department of the member who signed the entry.
    pub department: String,
    /// On an account with a sub-ledger: the open item (partner and document) it belongs to.
    pub item: Option<ItemRef>,
}

/// Recomputes `running` over `records` (one account, commit order) as if they were the only
/// postings: what the account ledger shows when later-dated postings are left out. `None` if a
/// total overflows, which a chain's own totals exclude.
pub fn running_balances(records: &mut [PostingRecord]) -> Option<()> {
    let mut totals: BTreeMap<Currency, Balance> = BTreeMap::new();
    for record in records {
        let total = totals.entry(record.currency).or_default();
        *total = total.plus(record.side, record.amount)?;
        record.running = *total;
    }
    Some(())
}
