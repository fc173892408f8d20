//! Reading the export: records grouped into orders by their Name, each order parsed and
//! checked as a whole, the faulty ones reported with the file line of the row at fault.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use csv::{ByteRecord, ReaderBuilder};
use tally_ledger::{parse_amount, AmountError, Currency, Date};

use super::columns::{Column, Columns, ShopifyError};
use super::model::{
    customer_fields, FinancialStatus, LineItem, RowProblem, ShopifyFile, ShopifyOrder,
};
use super::rules::{check_name, check_order, shorten, OrderProblem, NAME_EXPECTED};

/// Most line items in one order. The sale entry has one posting per account whatever the
/// number of line items, so this bound is not about entry size: it bounds the rows held in
/// memory while an order is being read. Shopify itself caps an order at a few hundred lines.
pub const LINE_ITEMS_PER_ORDER_MAX: usize = 1_000;

/// Largest "Lineitem quantity". No shop sells a million units on one line; a larger number is
/// a typo or a broken file, and the bound keeps quantity × price far from overflowing.
pub const QUANTITY_MAX: u64 = 1_000_000;

/// Longest cell Tally reads, in bytes. Shopify caps names and address lines at 255
/// characters; a longer cell means a broken file (an unclosed quote swallowing the rows after
/// it) rather than data. Columns Tally ignores are not measured.
pub const CELL_LEN_MAX: usize = 1_024;

/// The order-level columns only an order's first row fills. A row whose order-level columns
/// are all empty carries a line item only.
const ORDER_LEVEL: [Column; 3] = [Column::FinancialStatus, Column::Subtotal, Column::Total];

/// Reads a Shopify order export ("Export orders", CSV, UTF-8).
///
/// Columns are found by header name; their order does not matter and unknown columns are
/// ignored. Each order whose rows hold a fault is left out whole and reported in
/// [`ShopifyFile::problems`]; the other orders are returned in file order. Only a file that
/// cannot be read at all (empty, no header of an order export, an I/O error) is an error.
pub fn read_orders(reader: impl Read) -> Result<ShopifyFile, ShopifyError> {
    let mut csv = ReaderBuilder::new()
        .has_headers(true)
        // Rows of the wrong width are reported as problems of their order rather than
        // ending the whole read, so the reader accepts them and `check_width` checks them.
        .flexible(true)
        .from_reader(reader);
    let header = match csv.byte_headers() {
        Ok(header) => header.clone(),
        Err(error) => return Err(read_error(&error, 1)),
    };
    let columns = Columns::find(&header)?;
    let mut reading = Reading::new(columns);
    let mut record = ByteRecord::new();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => reading.push(&record),
            Ok(false) => break,
            Err(error) => return Err(read_error(&error, csv.position().line())),
        }
    }
    Ok(reading.finish())
}

/// The unreadable-file error of a failed read; `line` is where the reader stood when the
/// error itself does not say.
fn read_error(error: &csv::Error, line: u64) -> ShopifyError {
    let line = error.position().map_or(line, csv::Position::line);
    let message = match error.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => error.to_string(),
    };
    ShopifyError::Read { line, message }
}

/// The rows of one order as read so far: consecutive records with the same Name.
struct Group {
    name: String,
    /// Each row's line and record; at most [`LINE_ITEMS_PER_ORDER_MAX`] are kept.
    rows: Vec<(u64, ByteRecord)>,
    /// The line of the first row beyond that limit, if any.
    too_many: Option<u64>,
}

/// The state of one read: the order being gathered, and what was decided so far.
struct Reading {
    columns: Columns,
    current: Option<Group>,
    /// The first line of every order name seen, to catch an order whose rows are split.
    seen: HashMap<String, u64>,
    /// Names of orders accepted, then found repeated later: they are dropped at the end.
    repeated: HashSet<String>,
    file: ShopifyFile,
}

impl Reading {
    fn new(columns: Columns) -> Reading {
        Reading {
            columns,
            current: None,
            seen: HashMap::new(),
            repeated: HashSet::new(),
            file: ShopifyFile::default(),
        }
    }

    /// Adds one record: to the current order when it has the same Name, else as the first row
    /// of a new one.
    fn push(&mut self, record: &ByteRecord) {
        let line = record.position().map_or(0, csv::Position::line);
        let name = match text(&self.columns, record, Column::Name)
            .and_then(|name| required(name, Column::Name, NAME_EXPECTED))
        {
            Ok(name) => name.to_owned(),
            Err(problem) => {
                // A row without a usable name belongs to no order: it ends the current one,
                // so an order interrupted by it is reported as repeated, never half-kept.
                self.close_group();
                self.problem(line, None, &problem);
                return;
            }
        };
        match &mut self.current {
            Some(group) if group.name == name => {
                if group.rows.len() >= LINE_ITEMS_PER_ORDER_MAX {
                    group.too_many.get_or_insert(line);
                } else {
                    group.rows.push((line, record.clone()));
                }
            }
            _ => {
                self.close_group();
                self.current = Some(Group {
                    name,
                    rows: vec![(line, record.clone())],
                    too_many: None,
                });
            }
        }
    }

    /// Parses the order being gathered, if any, and files it as an order or a problem.
    fn close_group(&mut self) {
        let Some(group) = self.current.take() else {
            return;
        };
        let first_line = group.rows.first().map_or(0, |(line, _)| *line);
        if let Some(&earlier) = self.seen.get(&group.name) {
            self.repeated.insert(group.name.clone());
            let problem = OrderProblem::Repeated {
                first_line: earlier,
            };
            self.problem(first_line, Some(group.name), &problem);
            return;
        }
        self.seen.insert(group.name.clone(), first_line);
        if let Some(line) = group.too_many {
            self.problem(line, Some(group.name), &OrderProblem::TooManyLineItems);
            return;
        }
        match parse_order(&self.columns, &group.name, &group.rows) {
            Ok(order) => self.file.orders.push(order),
            Err((line, problem)) => self.problem(line, Some(group.name), &problem),
        }
    }

    fn problem(&mut self, line: u64, order: Option<String>, problem: &OrderProblem) {
        self.file.problems.push(RowProblem {
            line,
            order: order.map(|name| shorten(&name)),
            message: problem.to_string(),
        });
    }

    /// Closes the last order and drops the orders whose rows were split.
    fn finish(mut self) -> ShopifyFile {
        self.close_group();
        let repeated = &self.repeated;
        self.file
            .orders
            .retain(|order| !repeated.contains(&order.name));
        self.file.problems.sort_by_key(|problem| problem.line);
        self.file
    }
}

/// A fault and the line of the row it was found on.
type Located<T> = Result<T, (u64, OrderProblem)>;

/// Parses one order from its rows: order-level cells from the first, a line item from each.
fn parse_order(columns: &Columns, name: &str, rows: &[(u64, ByteRecord)]) -> Located<ShopifyOrder> {
    let Some((first_line, first)) = rows.first() else {
        return Err((0, OrderProblem::MissingFirstRow));
    };
    let first_line = *first_line;
    let at = |problem| (first_line, problem);
    check_width(columns, first).map_err(at)?;
    if is_line_item_only(columns, first).map_err(at)? {
        return Err(at(OrderProblem::MissingFirstRow));
    }
    check_name(name).map_err(at)?;
    let mut order = parse_first_row(columns, name, first_line, first).map_err(at)?;
    for (line, record) in rows {
        let at = |problem| (*line, problem);
        if *line != first_line {
            check_width(columns, record).map_err(at)?;
            check_line_item_only(columns, record, first_line).map_err(at)?;
        }
        let item = parse_line_item(columns, *line, record, order.currency).map_err(at)?;
        order.line_items.push(item);
    }
    check_order(&order).map_err(at)?;
    Ok(order)
}

/// The order-level cells of an order's first row; line items are added by the caller.
fn parse_first_row(
    columns: &Columns,
    name: &str,
    first_line: u64,
    record: &ByteRecord,
) -> Result<ShopifyOrder, OrderProblem> {
    let cell = |column| text(columns, record, column);
    let currency_text = required(
        cell(Column::Currency)?,
        Column::Currency,
        "an ISO 4217 code such as EUR",
    )?;
    let currency =
        Currency::from_code(currency_text).map_err(|source| OrderProblem::Currency { source })?;
    let status_text = required(
        cell(Column::FinancialStatus)?,
        Column::FinancialStatus,
        "paid, pending, refunded, partially_refunded, authorized or voided",
    )?;
    let financial_status =
        FinancialStatus::parse(status_text).ok_or_else(|| OrderProblem::Status {
            text: shorten(status_text),
        })?;
    let amount = |column: Column, may_be_empty: bool| -> Result<u64, OrderProblem> {
        let value = cell(column)?;
        if value.is_empty() && may_be_empty {
            return Ok(0);
        }
        parse_money(value, currency).map_err(|source| OrderProblem::Amount {
            column: column.header(),
            source,
        })
    };
    let created_text = required(
        cell(Column::CreatedAt)?,
        Column::CreatedAt,
        "a Shopify time such as 2026-03-01 10:15:00 +0100",
    )?;
    let paid_text = cell(Column::PaidAt)?;
    Ok(ShopifyOrder {
        name: name.to_owned(),
        first_line,
        email: cell(Column::Email)?.to_owned(),
        financial_status,
        currency,
        subtotal: amount(Column::Subtotal, false)?,
        shipping: amount(Column::Shipping, true)?,
        taxes: amount(Column::Taxes, true)?,
        total: amount(Column::Total, false)?,
        discount: amount(Column::DiscountAmount, true)?,
        refunded: amount(Column::RefundedAmount, true)?,
        created: parse_day(created_text, Column::CreatedAt)?,
        paid: match paid_text {
            "" => None,
            text => Some(parse_day(text, Column::PaidAt)?),
        },
        line_items: Vec::new(),
        customer: customer(columns, record)?,
    })
}

/// The customer's non-empty personal data, named by [`customer_fields`].
fn customer(columns: &Columns, record: &ByteRecord) -> Result<Vec<(String, String)>, OrderProblem> {
    let cell = |column| text(columns, record, column);
    let shipping_name = cell(Column::ShippingName)?;
    let name = if shipping_name.is_empty() {
        cell(Column::BillingName)?
    } else {
        shipping_name
    };
    let fields = [
        (customer_fields::CUSTOMER_NAME, name),
        (customer_fields::EMAIL, cell(Column::Email)?),
        (customer_fields::ADDRESS1, cell(Column::ShippingAddress1)?),
        (customer_fields::CITY, cell(Column::ShippingCity)?),
        (customer_fields::ZIP, cell(Column::ShippingZip)?),
        (customer_fields::COUNTRY, cell(Column::ShippingCountry)?),
        (customer_fields::PHONE, cell(Column::ShippingPhone)?),
    ];
    Ok(fields
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(field, value)| (field.to_owned(), value.to_owned()))
        .collect())
}

/// The line item of one row.
fn parse_line_item(
    columns: &Columns,
    line: u64,
    record: &ByteRecord,
    currency: Currency,
) -> Result<LineItem, OrderProblem> {
    let cell = |column| text(columns, record, column);
    let quantity_text = cell(Column::LineitemQuantity)?;
    let quantity = quantity_text
        .parse::<u64>()
        .ok()
        .filter(|quantity| (1..=QUANTITY_MAX).contains(quantity))
        .ok_or_else(|| OrderProblem::Quantity {
            text: shorten(quantity_text),
        })?;
    let name = required(
        cell(Column::LineitemName)?,
        Column::LineitemName,
        "the product's name",
    )?;
    let price = parse_money(cell(Column::LineitemPrice)?, currency).map_err(|source| {
        OrderProblem::Amount {
            column: Column::LineitemPrice.header(),
            source,
        }
    })?;
    Ok(LineItem {
        line,
        quantity,
        name: name.to_owned(),
        price,
        sku: cell(Column::LineitemSku)?.to_owned(),
    })
}

/// Every record must be exactly as wide as the header, or its cells may sit under the wrong
/// column names.
fn check_width(columns: &Columns, record: &ByteRecord) -> Result<(), OrderProblem> {
    if record.len() == columns.width {
        Ok(())
    } else {
        Err(OrderProblem::CellCount {
            cells: record.len(),
            expected: columns.width,
        })
    }
}

/// Whether a row's order-level cells are all empty.
fn is_line_item_only(columns: &Columns, record: &ByteRecord) -> Result<bool, OrderProblem> {
    for column in ORDER_LEVEL {
        if !text(columns, record, column)?.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A row after an order's first must carry no order-level cells: one that does is a second
/// copy of the order (two exports pasted together) or a different order under the same name.
fn check_line_item_only(
    columns: &Columns,
    record: &ByteRecord,
    first_line: u64,
) -> Result<(), OrderProblem> {
    for column in ORDER_LEVEL {
        let value = text(columns, record, column)?;
        if !value.is_empty() {
            return Err(OrderProblem::SecondFirstRow {
                column: column.header(),
                text: shorten(value),
                first_line,
            });
        }
    }
    Ok(())
}

/// The trimmed text of a cell; empty when the file has no such column.
fn text<'r>(
    columns: &Columns,
    record: &'r ByteRecord,
    column: Column,
) -> Result<&'r str, OrderProblem> {
    let Some(bytes) = columns.cell(record, column) else {
        return Ok("");
    };
    if bytes.len() > CELL_LEN_MAX {
        return Err(OrderProblem::CellTooLong {
            column: column.header(),
            len: bytes.len(),
            max: CELL_LEN_MAX,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| OrderProblem::NotUtf8 {
        column: column.header(),
    })?;
    Ok(text.trim())
}

/// `value`, or the problem that `column` is empty.
fn required<'t>(
    value: &'t str,
    column: Column,
    expected: &'static str,
) -> Result<&'t str, OrderProblem> {
    if value.is_empty() {
        Err(OrderProblem::Empty {
            column: column.header(),
            expected,
        })
    } else {
        Ok(value)
    }
}

/// Parses an amount in `currency`. Zeros after the currency's decimals are dropped first, so
/// an export that writes every amount with two decimals ("1200.00" yen) reads as it means;
/// any other extra digit ("1200.50" yen) is still refused by [`parse_amount`].
fn parse_money(text: &str, currency: Currency) -> Result<u64, AmountError> {
    let exponent = usize::from(currency.exponent());
    let without_zeros = text.split_once('.').and_then(|(whole, fraction)| {
        let (kept, dropped) = (fraction.get(..exponent)?, fraction.get(exponent..)?);
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(fraction) || !dropped.bytes().all(|b| b == b'0') {
            return None;
        }
        Some(if kept.is_empty() {
            whole.to_owned()
        } else {
            format!("{whole}.{kept}")
        })
    });
    parse_amount(without_zeros.as_deref().unwrap_or(text), currency)
}

/// Length of Shopify's time format, "2026-03-01 10:15:00 +0100".
const SHOPIFY_TIME_LEN: usize = 25;

/// The calendar day of a Shopify time "YYYY-MM-DD HH:MM:SS +HHMM": the day as the shop's
/// offset gives it, which is the day the shop's own reports put the order on.
fn parse_day(text: &str, column: Column) -> Result<Date, OrderProblem> {
    let malformed = || OrderProblem::Time {
        column: column.header(),
        text: shorten(text),
    };
    let bytes = text.as_bytes();
    if bytes.len() != SHOPIFY_TIME_LEN {
        return Err(malformed());
    }
    let number = |start: usize, max: u32| -> Option<u32> {
        let pair = bytes.get(start..start + 2)?;
        let mut value = 0;
        for &b in pair {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(b - b'0');
        }
        (value <= max).then_some(value)
    };
    let separators = [(10, b' '), (13, b':'), (16, b':'), (19, b' ')];
    let shape_ok = separators
        .iter()
        .all(|&(index, byte)| bytes.get(index) == Some(&byte))
        && matches!(bytes.get(20), Some(b'+' | b'-'));
    // Hours 0-23, minutes and seconds 0-59, offsets up to 14:59 (UTC+14 is the furthest).
    let clock_ok = number(11, 23).is_some()
        && number(14, 59).is_some()
        && number(17, 59).is_some()
        && number(21, 14).is_some()
        && number(23, 59).is_some();
    if !shape_ok || !clock_ok {
        return Err(malformed());
    }
    let day = text.get(..10).ok_or_else(malformed)?;
    Date::parse(day).map_err(|source| match source {
        tally_ledger::DateError::Malformed { .. } => malformed(),
        source => OrderProblem::Date {
            column: column.header(),
            source,
        },
    })
}
