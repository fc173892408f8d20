//! Open items of receivable and payable accounts: what ageing counts.
//!
//! An *item* is the net of every posting to one sub-ledger account (an account whose chart row
//! names a sub-ledger: receivables from customers, payables to suppliers, ...) in one currency
//! for one partner and one business document:
//! - the partner is the value of the entry's first reference of a kind in [`PARTNER_KINDS`]
//!   (automatic bookkeeping writes `counterparty`), else the account's sub-ledger name (e.g.
//!   "customers": an order import names no customer in the clear);
//! - the document is the first reference of a kind in [`DOCUMENT_KINDS`], as `kind:value`
//!   (`contract:...`, `trade:...`, `order:1001`), else the entry itself (`entry:ID`); a reversal
//!   without references of its own belongs to its original's item.
//!
//! An item is *open* while its net balance is not zero. Its date (`since`) is the earliest
//! accounting date of the postings since it was last zero, taken in commit order: an invoice
//! paid and later refunded opens a new item dated by the refund. Both the head's index and a
//! replay of indexed postings apply [`item_step`], so they agree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tally_ledger::{AccountCode, Balance, Currency, Date, EntryId, Reference, Side};

/// Reference kinds naming the partner, most specific first.
pub const PARTNER_KINDS: [&str; 4] = ["counterparty", "partner", "customer", "supplier"];

/// Reference kinds naming the document an item follows, most specific first: a service contract
/// of a trade is its own item, a trade's events share the trade's.
pub const DOCUMENT_KINDS: [&str; 4] = ["contract", "trade", "invoice", "order"];

/// The partner and document of an item.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct ItemRef {
    /// Who owes or is owed.
    pub partner: String,
    /// `kind:value` of the document, or `entry:ID`.
    pub document: String,
}

fn first_of<'a>(references: &'a [Reference], kinds: &[&str]) -> Option<&'a Reference> {
    kinds
        .iter()
        .find_map(|kind| references.iter().find(|reference| reference.kind == *kind))
}

/// The item a posting of entry `id` with `references` belongs to on an account of sub-ledger
/// `sub_ledger`. For a reversal, pass the original's references when the reversal has none.
pub fn item_ref(references: &[Reference], id: &EntryId, sub_ledger: &str) -> ItemRef {
    let partner = first_of(references, &PARTNER_KINDS)
        .map(|reference| reference.value.clone())
        .unwrap_or_else(|| sub_ledger.to_string());
    let document = first_of(references, &DOCUMENT_KINDS)
        .map(|reference| format!("{}:{}", reference.kind, reference.value))
        .unwrap_or_else(|| format!("entry:{id}"));
    ItemRef { partner, document }
}

/// Whether an entry's references name a document of its own.
pub fn has_document(references: &[Reference]) -> bool {
    first_of(references, &DOCUMENT_KINDS).is_some()
}

/// An item's key: account, currency, partner, document.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ItemKey {
    pub account: AccountCode,
    pub currency: Currency,
    pub item: ItemRef,
}

/// An open item: since when, and its debit and credit totals since it was last zero.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ItemState {
    pub since: Date,
    pub balance: Balance,
}

impl ItemState {
    /// Net balance, debit positive; `None` beyond `i128`, which `u64` postings never reach in
    /// practice (it would take 2^63 of them).
    pub fn net(&self) -> Option<i128> {
        let debit = i128::try_from(self.balance.debit).ok()?;
        let credit = i128::try_from(self.balance.credit).ok()?;
        debit.checked_sub(credit)
    }
}

/// The item after one more posting: `None` when it nets to zero (closed), else its new state.
/// Totals are kept only while the item is open, so they restart at zero when it reopens.
/// `None` is also returned if a total would overflow `u128`, which the ledger's own totals
/// exclude.
pub fn item_step(
    before: Option<ItemState>,
    date: Date,
    side: Side,
    amount: u64,
) -> Option<ItemState> {
    let (since, balance) = match before {
        Some(state) => (state.since.min(date), state.balance),
        None => (date, Balance::default()),
    };
    let balance = balance.plus(side, amount)?;
    (balance.debit != balance.credit).then_some(ItemState { since, balance })
}

/// Open items built by applying postings in commit order: the model the store's item index
/// follows, and what ageing at a past date or height replays.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemBook {
    items: BTreeMap<ItemKey, ItemState>,
}

impl ItemBook {
    /// Applies one posting to its item.
    pub fn apply(&mut self, key: ItemKey, date: Date, side: Side, amount: u64) {
        let before = self.items.get(&key).copied();
        match item_step(before, date, side, amount) {
            Some(state) => {
                self.items.insert(key, state);
            }
            None => {
                self.items.remove(&key);
            }
        }
    }

    /// The open items, by key.
    pub fn open(&self) -> impl Iterator<Item = (&ItemKey, &ItemState)> {
        self.items.iter()
    }
}
