//! The default posting rules: an order's sale and refund as balanced journal entries.
//!
//! Sale, dated the day the order was created: the customer's money is debited where it sits
//! (the payment processor's clearing account once captured, else accounts receivable) and
//! credited to sales revenue (net of discount), shipping income and output VAT.
//!
//! Refund, dated the day the order was paid (the export has no refund date): sales returns
//! debited, the payment processor's clearing account credited.
//!
//! Nothing else is booked: a voided order moved no money and nobody owes any, and an order
//! whose total is zero has nothing to post (postings must be greater than zero). Neither is a
//! problem; [`order_entries`] returns no sale entry for them.

use tally_ledger::{
    codes, AccountCode, AccountCodeError, Currency, Date, EntryDraft, EntryError, EntryId,
    EntryIdError, Posting, Reference, Side,
};

use super::model::{FinancialStatus, ShopifyOrder};
use super::rules::{check_order, OrderProblem};

/// The start of every entry id this module makes: `shopify:{number}:sale`.
pub const ENTRY_ID_PREFIX: &str = "shopify:";

/// The end of a sale entry's id.
pub const SALE_ID_SUFFIX: &str = ":sale";

/// The end of a refund entry's id.
pub const REFUND_ID_SUFFIX: &str = ":refund";

/// The reference kind whose value is the order name ("#1001").
pub const ORDER_REFERENCE_KIND: &str = "order";

/// The reference kind that names the system an entry came from.
pub const SOURCE_REFERENCE_KIND: &str = "source";

/// The value of the source reference.
pub const SOURCE_REFERENCE_VALUE: &str = "shopify";

/// Why an order cannot be turned into entries.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum OrderEntryError {
    /// The order does not hold together (see [`OrderProblem`]). Orders from
    /// [`super::read_orders`] always do; one built by hand may not.
    #[error("order {order} cannot be booked: {problem}")]
    Invalid {
        /// The order's name.
        order: String,
        /// What is wrong with it.
        problem: OrderProblem,
    },
    /// The entry id made from the order name was refused.
    #[error("order {order} cannot be booked: {source}")]
    Id {
        /// The order's name.
        order: String,
        /// Why the id was refused.
        source: EntryIdError,
    },
    /// An account code of the posting rules was refused (a bug in the rules).
    #[error("order {order} cannot be booked: {source}")]
    Account {
        /// The order's name.
        order: String,
        /// Why the code was refused.
        source: AccountCodeError,
    },
    /// An entry of the rules did not check (a bug in the rules: a checked order balances).
    #[error("order {order} cannot be booked: entry '{id}': {source}")]
    Entry {
        /// The order's name.
        order: String,
        /// The entry's id.
        id: String,
        /// Why the entry was refused (boxed: an entry error names sealed fields in place).
        source: Box<EntryError>,
    },
}

/// The entries of one order under the default posting rules: its sale when the total is not
/// zero and the order was not voided, then its refund when money was refunded. Every entry
/// returned passed [`EntryDraft::check`].
pub fn order_entries(order: &ShopifyOrder) -> Result<Vec<EntryDraft>, OrderEntryError> {
    check_order(order).map_err(|problem| OrderEntryError::Invalid {
        order: order.name.clone(),
        problem,
    })?;
    let mut drafts = Vec::new();
    if order.financial_status == FinancialStatus::Voided {
        return Ok(drafts);
    }
    if order.total > 0 {
        drafts.push(sale(order)?);
    }
    if order.refunded > 0 {
        drafts.push(refund(order)?);
    }
    Ok(drafts)
}

/// The sale: the total debited where the customer's money is, credited to what it paid for.
fn sale(order: &ShopifyOrder) -> Result<EntryDraft, OrderEntryError> {
    let money_at = if order.financial_status.was_captured() {
        codes::PAYMENT_CLEARING
    } else {
        codes::ACCOUNTS_RECEIVABLE
    };
    let lines = [
        (money_at, Side::Debit, order.total),
        (codes::SALES_REVENUE, Side::Credit, order.subtotal),
        (codes::SHIPPING_INCOME, Side::Credit, order.shipping),
        (codes::OUTPUT_VAT, Side::Credit, order.taxes),
    ];
    let count = order.item_count();
    let plural = if count == 1 { "" } else { "s" };
    let description = format!("Shopify order {} ({count} item{plural})", order.name);
    entry(order, SALE_ID_SUFFIX, order.created, description, &lines)
}

/// The refund: sales returns debited, the payment processor's clearing account credited.
fn refund(order: &ShopifyOrder) -> Result<EntryDraft, OrderEntryError> {
    let lines = [
        (codes::SALES_RETURNS, Side::Debit, order.refunded),
        (codes::PAYMENT_CLEARING, Side::Credit, order.refunded),
    ];
    let description = format!("Refund of Shopify order {}", order.name);
    let date = order.paid.unwrap_or(order.created);
    entry(order, REFUND_ID_SUFFIX, date, description, &lines)
}

/// One checked entry of `order`: zero amounts are left out, the order and source references
/// added, the id made from the order's number and `suffix`.
fn entry(
    order: &ShopifyOrder,
    suffix: &str,
    date: Date,
    description: String,
    lines: &[(&str, Side, u64)],
) -> Result<EntryDraft, OrderEntryError> {
    let id_text = format!("{ENTRY_ID_PREFIX}{}{suffix}", order.number());
    let id = EntryId::new(&id_text).map_err(|source| OrderEntryError::Id {
        order: order.name.clone(),
        source,
    })?;
    let mut postings = Vec::with_capacity(lines.len());
    for &(code, side, amount) in lines.iter().filter(|line| line.2 > 0) {
        let account = AccountCode::new(code).map_err(|source| OrderEntryError::Account {
            order: order.name.clone(),
            source,
        })?;
        postings.push(posting(account, side, amount, order.currency));
    }
    let references = vec![
        Reference {
            kind: ORDER_REFERENCE_KIND.to_owned(),
            value: order.name.clone(),
        },
        Reference {
            kind: SOURCE_REFERENCE_KIND.to_owned(),
            value: SOURCE_REFERENCE_VALUE.to_owned(),
        },
    ];
    let checked = draft(id, date, description, postings, references)
        .check()
        .map_err(|source| OrderEntryError::Entry {
            order: order.name.clone(),
            id: id_text,
            source: Box::new(source),
        })?;
    Ok(checked.into_draft())
}

fn posting(account: AccountCode, side: Side, amount: u64, currency: Currency) -> Posting {
    Posting {
        account,
        side,
        amount,
        currency,
    }
}

/// The one place this module builds an [`EntryDraft`], so a field added to drafts is set
/// here only. Shopify entries reverse nothing and carry no sealed fields or seal keys: the
/// customer's data stays in [`ShopifyOrder::customer`] for the caller to seal.
fn draft(
    id: EntryId,
    date: Date,
    description: String,
    postings: Vec<Posting>,
    references: Vec<Reference>,
) -> EntryDraft {
    EntryDraft {
        id,
        date,
        description,
        postings,
        references,
        reverses: None,
        sealed: Default::default(),
        seal_keys: Vec::new(),
    }
}
