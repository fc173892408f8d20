//! What makes an order unusable, and the checks of a whole order that need no file: its name
//! must make entry ids, its amounts must add up and its refund must fit its status.
//!
//! [`super::read_orders`] runs [`check_order`] on every order it reads and [`super::order_entries`]
//! runs it again, because a [`ShopifyOrder`] has public fields and may have been built by hand.

use tally_ledger::{
    format_amount, AmountError, Currency, CurrencyError, DateError, ENTRY_ID_LEN_MAX,
};

use super::entries::{ENTRY_ID_PREFIX, REFUND_ID_SUFFIX, SALE_ID_SUFFIX};
use super::model::{FinancialStatus, ShopifyOrder};
use super::read::{LINE_ITEMS_PER_ORDER_MAX, QUANTITY_MAX};

/// The longer of the entry id suffixes.
const ID_SUFFIX_LEN_MAX: usize = if REFUND_ID_SUFFIX.len() > SALE_ID_SUFFIX.len() {
    REFUND_ID_SUFFIX.len()
} else {
    SALE_ID_SUFFIX.len()
};

/// Longest order name, in bytes, without its leading '#': the entry ids
/// `shopify:{name}:refund` must fit in [`ENTRY_ID_LEN_MAX`] bytes. Shopify's own names
/// ("#1001", or with a shop prefix such as "#EU-1001") are far shorter.
pub const ORDER_NAME_LEN_MAX: usize = ENTRY_ID_LEN_MAX - ENTRY_ID_PREFIX.len() - ID_SUFFIX_LEN_MAX;

/// Why an order cannot be imported. The message says what is wrong and what was expected.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum OrderProblem {
    /// A record is not as wide as the header.
    #[error("the row has {cells} cells but the header has {expected} (expected one cell per header column)")]
    CellCount {
        /// Cells in the row.
        cells: usize,
        /// Cells in the header.
        expected: usize,
    },
    /// A cell that is not UTF-8 text.
    #[error("'{column}' is not UTF-8 text")]
    NotUtf8 {
        /// The column's header name.
        column: &'static str,
    },
    /// A cell longer than [`super::CELL_LEN_MAX`].
    #[error("'{column}' is {len} bytes long (at most {max})")]
    CellTooLong {
        /// The column's header name.
        column: &'static str,
        /// The cell's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A cell the order needs is empty.
    #[error("'{column}' is empty (expected {expected})")]
    Empty {
        /// The column's header name.
        column: &'static str,
        /// What the cell should hold.
        expected: &'static str,
    },
    /// The order name is too long to make entry ids.
    #[error("order name '{name}' is {len} bytes long without its '#' (at most {max}, so that its entry ids fit in {ENTRY_ID_LEN_MAX} bytes)")]
    NameTooLong {
        /// The name.
        name: String,
        /// Its length without the '#', in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The order name has a character entry ids do not allow.
    #[error("order name '{name}' contains {character:?} (expected letters A-Z and a-z, digits and . _ : / - after an optional leading '#', the characters of an entry id)")]
    NameCharacter {
        /// The name, with hidden characters spelled out.
        name: String,
        /// The first character not allowed.
        character: char,
    },
    /// "Currency" is not a known ISO 4217 code.
    #[error("'Currency': {source}")]
    Currency {
        /// Why the code was refused.
        source: CurrencyError,
    },
    /// An amount that does not parse in the order's currency.
    #[error("'{column}': {source}")]
    Amount {
        /// The column's header name.
        column: &'static str,
        /// Why the amount was refused.
        source: AmountError,
    },
    /// "Financial Status" is not a status Tally knows how to book.
    #[error("'Financial Status' is '{text}' (expected one of paid, pending, refunded, partially_refunded, authorized, voided)")]
    Status {
        /// The cell.
        text: String,
    },
    /// A time cell not in Shopify's format.
    #[error("'{column}' is '{text}' (expected a Shopify time such as 2026-03-01 10:15:00 +0100)")]
    Time {
        /// The column's header name.
        column: &'static str,
        /// The cell.
        text: String,
    },
    /// A time cell in Shopify's format whose day does not exist.
    #[error("'{column}': {source}")]
    Date {
        /// The column's header name.
        column: &'static str,
        /// Why the day was refused.
        source: DateError,
    },
    /// "Lineitem quantity" is not a whole number in 1..=[`QUANTITY_MAX`].
    #[error("'Lineitem quantity' is '{text}' (expected a whole number from 1 to {QUANTITY_MAX})")]
    Quantity {
        /// The cell.
        text: String,
    },
    /// The first row seen of an order has no order-level cells: its real first row is missing.
    #[error("the row has only line-item cells and no earlier row gives the order's Financial Status, Subtotal and Total (expected the order's first row before its other rows)")]
    MissingFirstRow,
    /// A later row of an order carries order-level cells, as only the first row may.
    #[error("a second row with order totals ('{column}' is '{text}'); expected only line-item cells after the order's first row on line {first_line}")]
    SecondFirstRow {
        /// The first order-level column found filled.
        column: &'static str,
        /// Its cell.
        text: String,
        /// The line of the order's first row.
        first_line: u64,
    },
    /// More line items than [`LINE_ITEMS_PER_ORDER_MAX`].
    #[error("the order has more than {LINE_ITEMS_PER_ORDER_MAX} line items")]
    TooManyLineItems,
    /// The order's rows are not all together: its name comes back after other rows.
    #[error("the order appears again after other rows (expected all its rows together; it started on line {first_line}), so the whole order is left out")]
    Repeated {
        /// The line of the order's first row.
        first_line: u64,
    },
    /// The discount is larger than the line items.
    #[error("Discount Amount {} is more than the line items' {} (sum of quantity × price)", format_amount(u128::from(*.discount), *.currency), format_amount(*.items, *.currency))]
    DiscountTooLarge {
        /// The order's currency.
        currency: Currency,
        /// "Discount Amount".
        discount: u64,
        /// Sum of quantity × price.
        items: u128,
    },
    /// The line items less the discount are not the subtotal.
    #[error("Subtotal is {} but the line items' {} less Discount Amount {} is {} (expected Subtotal = sum of quantity × price − Discount Amount)", format_amount(u128::from(*.subtotal), *.currency), format_amount(*.items, *.currency), format_amount(u128::from(*.discount), *.currency), format_amount(.items.saturating_sub(u128::from(*.discount)), *.currency))]
    Subtotal {
        /// The order's currency.
        currency: Currency,
        /// "Subtotal".
        subtotal: u64,
        /// Sum of quantity × price.
        items: u128,
        /// "Discount Amount".
        discount: u64,
    },
    /// Subtotal, shipping and taxes do not make the total.
    #[error("Total is {} but Subtotal {} + Shipping {} + Taxes {} is {} (expected Total = Subtotal + Shipping + Taxes)", format_amount(u128::from(*.total), *.currency), format_amount(u128::from(*.subtotal), *.currency), format_amount(u128::from(*.shipping), *.currency), format_amount(u128::from(*.taxes), *.currency), format_amount(u128::from(*.subtotal) + u128::from(*.shipping) + u128::from(*.taxes), *.currency))]
    Total {
        /// The order's currency.
        currency: Currency,
        /// "Subtotal".
        subtotal: u64,
        /// "Shipping".
        shipping: u64,
        /// "Taxes".
        taxes: u64,
        /// "Total".
        total: u64,
    },
    /// More was refunded than the order's total.
    #[error("Refunded Amount {} is more than Total {}", format_amount(u128::from(*.refunded), *.currency), format_amount(u128::from(*.total), *.currency))]
    RefundTooLarge {
        /// The order's currency.
        currency: Currency,
        /// "Refunded Amount".
        refunded: u64,
        /// "Total".
        total: u64,
    },
    /// The refunded amount contradicts the financial status.
    #[error("Refunded Amount is {} but Financial Status is '{status}' (expected {})", format_amount(u128::from(*.refunded), *.currency), expected_refund(*.status, *.total, *.currency))]
    RefundStatus {
        /// The order's currency.
        currency: Currency,
        /// "Refunded Amount".
        refunded: u64,
        /// "Total".
        total: u64,
        /// "Financial Status".
        status: FinancialStatus,
    },
}

/// What "Refunded Amount" must be for an order of `status`, for a message.
fn expected_refund(status: FinancialStatus, total: u64, currency: Currency) -> String {
    match status {
        FinancialStatus::Refunded => {
            format!(
                "the whole Total, {}",
                format_amount(u128::from(total), currency)
            )
        }
        FinancialStatus::PartiallyRefunded => format!(
            "more than 0 and less than Total {}",
            format_amount(u128::from(total), currency)
        ),
        other => format!("0 for a {other} order"),
    }
}

/// What an empty "Name" should have held, for the message.
pub(crate) const NAME_EXPECTED: &str = "the order name, e.g. #1001";

/// Checks that `name` can make entry ids: at most [`ORDER_NAME_LEN_MAX`] bytes after an
/// optional leading '#', and only the characters entry ids allow.
pub(crate) fn check_name(name: &str) -> Result<(), OrderProblem> {
    let number = name.strip_prefix('#').unwrap_or(name);
    if number.is_empty() {
        return Err(OrderProblem::Empty {
            column: "Name",
            expected: NAME_EXPECTED,
        });
    }
    if number.len() > ORDER_NAME_LEN_MAX {
        return Err(OrderProblem::NameTooLong {
            name: shorten(name),
            len: number.len(),
            max: ORDER_NAME_LEN_MAX,
        });
    }
    let allowed =
        |ch: char| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | ':' | '/' | '-');
    if let Some(character) = number.chars().find(|&ch| !allowed(ch)) {
        return Err(OrderProblem::NameCharacter {
            name: shorten(name),
            character,
        });
    }
    Ok(())
}

/// How many characters of a rejected cell a message repeats: enough to recognise it, not
/// enough to flood a terminal with a broken file's contents.
pub(crate) const ECHO_CHARS_MAX: usize = 64;

/// `text` for a message: at most [`ECHO_CHARS_MAX`] characters, control and other hidden
/// characters spelled out so a message cannot hide or reorder its own text.
pub(crate) fn shorten(text: &str) -> String {
    let mut out = String::new();
    for (index, ch) in text.chars().enumerate() {
        if index == ECHO_CHARS_MAX {
            out.push('…');
            break;
        }
        if ch.is_control()
            || matches!(ch, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}')
        {
            out.extend(ch.escape_unicode());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Checks an order as a whole: its name, its line items, that its amounts add up and that
/// its refund fits its status. The first fault found is returned, in a fixed order.
pub(crate) fn check_order(order: &ShopifyOrder) -> Result<(), OrderProblem> {
    check_name(&order.name)?;
    if order.line_items.len() > LINE_ITEMS_PER_ORDER_MAX {
        return Err(OrderProblem::TooManyLineItems);
    }
    if let Some(item) = order
        .line_items
        .iter()
        .find(|item| item.quantity == 0 || item.quantity > QUANTITY_MAX)
    {
        return Err(OrderProblem::Quantity {
            text: item.quantity.to_string(),
        });
    }
    check_totals(order)?;
    check_refund(order)
}

/// Line items less discount make the subtotal; subtotal, shipping and taxes make the total.
fn check_totals(order: &ShopifyOrder) -> Result<(), OrderProblem> {
    let currency = order.currency;
    // At most LINE_ITEMS_PER_ORDER_MAX products of a u64 price and a quantity of at most
    // QUANTITY_MAX: far below u128::MAX, so these sums cannot overflow.
    let items: u128 = order
        .line_items
        .iter()
        .map(|item| u128::from(item.quantity) * u128::from(item.price))
        .sum();
    let discount = u128::from(order.discount);
    let Some(net) = items.checked_sub(discount) else {
        return Err(OrderProblem::DiscountTooLarge {
            currency,
            discount: order.discount,
            items,
        });
    };
    if net != u128::from(order.subtotal) {
        return Err(OrderProblem::Subtotal {
            currency,
            subtotal: order.subtotal,
            items,
            discount: order.discount,
        });
    }
    let sum = u128::from(order.subtotal) + u128::from(order.shipping) + u128::from(order.taxes);
    if sum != u128::from(order.total) {
        return Err(OrderProblem::Total {
            currency,
            subtotal: order.subtotal,
            shipping: order.shipping,
            taxes: order.taxes,
            total: order.total,
        });
    }
    Ok(())
}

/// The refunded amount is at most the total and fits the status: all of the total for
/// `refunded`, some but not all for `partially_refunded`, none otherwise (money that was
/// never captured cannot be refunded).
fn check_refund(order: &ShopifyOrder) -> Result<(), OrderProblem> {
    let (currency, refunded, total) = (order.currency, order.refunded, order.total);
    if refunded > total {
        return Err(OrderProblem::RefundTooLarge {
            currency,
            refunded,
            total,
        });
    }
    let fits = match order.financial_status {
        FinancialStatus::Refunded => refunded == total,
        FinancialStatus::PartiallyRefunded => refunded > 0 && refunded < total,
        _ => refunded == 0,
    };
    if fits {
        Ok(())
    } else {
        Err(OrderProblem::RefundStatus {
            currency,
            refunded,
            total,
            status: order.financial_status,
        })
    }
}
