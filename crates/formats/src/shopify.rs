//! Shopify order exports (CSV): read into typed orders, then turned into balanced Tally entries.
//!
//! Shopify's "Export orders" writes one row per line item. The first row of an order carries the
//! order-level cells (statuses, totals, customer); its other rows, which follow it directly and
//! repeat its Name, carry only line-item cells. [`read_orders`] groups those rows into
//! [`ShopifyOrder`]s and checks each order as a whole: a fault anywhere in an order (a bad
//! amount, totals that do not add up, rows out of place) leaves the whole order out and reports
//! it as a [`RowProblem`] with the file line it was found on, so an import never books half an
//! order. Faults that make the file unreadable are a [`ShopifyError`].
//!
//! [`order_entries`] applies the default posting rules to one order (a sale entry and, when
//! money was refunded, a refund entry); their ids derive from the order name, so importing the
//! same export twice is refused by the chain as duplicate ids instead of booking it twice.
//!
//! The customer's personal data (name, email, address, phone) is kept apart in
//! [`ShopifyOrder::customer`] for the caller to encrypt; it never appears in an entry's
//! description or references.

mod columns;
mod entries;
mod model;
mod read;
mod rules;

pub use columns::ShopifyError;
pub use entries::{
    order_entries, OrderEntryError, ENTRY_ID_PREFIX, ORDER_REFERENCE_KIND, REFUND_ID_SUFFIX,
    SALE_ID_SUFFIX, SOURCE_REFERENCE_KIND, SOURCE_REFERENCE_VALUE,
};
pub use model::{
    customer_fields, FinancialStatus, LineItem, RowProblem, ShopifyFile, ShopifyOrder,
};
pub use read::{read_orders, CELL_LEN_MAX, LINE_ITEMS_PER_ORDER_MAX, QUANTITY_MAX};
pub use rules::{OrderProblem, ORDER_NAME_LEN_MAX};
