//! The columns of Shopify's order export that Tally reads, found by header name, and the
//! errors that make a whole file unreadable.

use csv::ByteRecord;

/// A column Tally reads. Every other column of the export is ignored.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Column {
    Name,
    Email,
    FinancialStatus,
    PaidAt,
    Currency,
    Subtotal,
    Shipping,
    Taxes,
    Total,
    DiscountAmount,
    CreatedAt,
    LineitemQuantity,
    LineitemName,
    LineitemPrice,
    LineitemSku,
    RefundedAmount,
    BillingName,
    ShippingName,
    ShippingAddress1,
    ShippingCity,
    ShippingZip,
    ShippingCountry,
    ShippingPhone,
}

/// How many columns Tally reads: the length of [`Column::ALL`].
const COLUMN_COUNT: usize = 23;

impl Column {
    /// Every column, in the order a missing-columns error lists them.
    pub(crate) const ALL: [Column; COLUMN_COUNT] = [
        Column::Name,
        Column::Email,
        Column::FinancialStatus,
        Column::PaidAt,
        Column::Currency,
        Column::Subtotal,
        Column::Shipping,
        Column::Taxes,
        Column::Total,
        Column::DiscountAmount,
        Column::CreatedAt,
        Column::LineitemQuantity,
        Column::LineitemName,
        Column::LineitemPrice,
        Column::LineitemSku,
        Column::RefundedAmount,
        Column::BillingName,
        Column::ShippingName,
        Column::ShippingAddress1,
        Column::ShippingCity,
        Column::ShippingZip,
        Column::ShippingCountry,
        Column::ShippingPhone,
    ];

    /// The header text, exactly as Shopify writes it.
    pub(crate) fn header(self) -> &'static str {
        match self {
            Column::Name => "Name",
            Column::Email => "Email",
            Column::FinancialStatus => "Financial Status",
            Column::PaidAt => "Paid at",
            Column::Currency => "Currency",
            Column::Subtotal => "Subtotal",
            Column::Shipping => "Shipping",
            Column::Taxes => "Taxes",
            Column::Total => "Total",
            Column::DiscountAmount => "Discount Amount",
            Column::CreatedAt => "Created at",
            Column::LineitemQuantity => "Lineitem quantity",
            Column::LineitemName => "Lineitem name",
            Column::LineitemPrice => "Lineitem price",
            Column::LineitemSku => "Lineitem sku",
            Column::RefundedAmount => "Refunded Amount",
            Column::BillingName => "Billing Name",
            Column::ShippingName => "Shipping Name",
            Column::ShippingAddress1 => "Shipping Address1",
            Column::ShippingCity => "Shipping City",
            Column::ShippingZip => "Shipping Zip",
            Column::ShippingCountry => "Shipping Country",
            Column::ShippingPhone => "Shipping Phone",
        }
    }

    /// Whether a file without this column is refused. The columns the books depend on are
    /// required (a missing "Refunded Amount" would silently drop refunds); the customer's
    /// data and the SKU only fill [`super::ShopifyOrder::customer`] and the line items, so an
    /// export trimmed of them still books correctly.
    pub(crate) fn required(self) -> bool {
        !matches!(
            self,
            Column::Email
                | Column::LineitemSku
                | Column::BillingName
                | Column::ShippingName
                | Column::ShippingAddress1
                | Column::ShippingCity
                | Column::ShippingZip
                | Column::ShippingCountry
                | Column::ShippingPhone
        )
    }

    /// The column's place in [`Column::ALL`], which lists them in declaration order.
    fn position(self) -> usize {
        self as usize
    }
}

/// The UTF-8 byte order mark, which spreadsheet programs put before the first header cell.
const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// Why a file cannot be read as a Shopify order export at all.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ShopifyError {
    /// No header row: the file is empty.
    #[error("the file is empty (expected a Shopify order export starting with its header row)")]
    Empty,
    /// The header row is not UTF-8 text.
    #[error(
        "the header row is not UTF-8 text (expected a Shopify order export saved as UTF-8 CSV)"
    )]
    HeaderNotUtf8,
    /// Columns Tally needs are not in the header.
    #[error("the header has no column {} (a Shopify order export has them; names are case-sensitive)", quoted_list(.columns))]
    MissingColumns {
        /// The missing columns' header names.
        columns: Vec<&'static str>,
    },
    /// A column Tally reads appears twice, so which cell to read is ambiguous.
    #[error("the header has the column '{column}' twice (expected each column once)")]
    DuplicateColumn {
        /// The repeated header name.
        column: &'static str,
    },
    /// Reading failed (an I/O error of the reader passed in).
    #[error("cannot read the file at line {line}: {message}")]
    Read {
        /// The line being read.
        line: u64,
        /// The underlying error.
        message: String,
    },
}

/// `'A', 'B'`: column names for a message.
fn quoted_list(columns: &[&str]) -> String {
    let quoted: Vec<String> = columns.iter().map(|column| format!("'{column}'")).collect();
    quoted.join(", ")
}

/// Where each column Tally reads sits in the file's records.
#[derive(Clone, Debug)]
pub(crate) struct Columns {
    index: [Option<usize>; COLUMN_COUNT],
    /// How many cells the header has; every record must have as many.
    pub(crate) width: usize,
}

impl Columns {
    /// Finds the columns by header name; order does not matter and unknown columns are ignored.
    pub(crate) fn find(header: &ByteRecord) -> Result<Columns, ShopifyError> {
        if header.is_empty() {
            return Err(ShopifyError::Empty);
        }
        let mut index = [None; COLUMN_COUNT];
        for (position, cell) in header.iter().enumerate() {
            let cell = if position == 0 {
                cell.strip_prefix(BYTE_ORDER_MARK).unwrap_or(cell)
            } else {
                cell
            };
            let text = std::str::from_utf8(cell).map_err(|_| ShopifyError::HeaderNotUtf8)?;
            let Some(column) = Column::ALL
                .into_iter()
                .find(|column| column.header() == text.trim())
            else {
                continue;
            };
            let slot = &mut index[column.position()];
            if slot.is_some() {
                return Err(ShopifyError::DuplicateColumn {
                    column: column.header(),
                });
            }
            *slot = Some(position);
        }
        let missing: Vec<&'static str> = Column::ALL
            .into_iter()
            .filter(|column| column.required() && index[column.position()].is_none())
            .map(Column::header)
            .collect();
        if !missing.is_empty() {
            return Err(ShopifyError::MissingColumns { columns: missing });
        }
        Ok(Columns {
            index,
            width: header.len(),
        })
    }

    /// The cell of `column` in `record`, or `None` when the file has no such column.
    pub(crate) fn cell<'r>(&self, record: &'r ByteRecord, column: Column) -> Option<&'r [u8]> {
        let position = self.index[column.position()]?;
        // Records are checked to be as wide as the header before any cell is read; a short
        // record reads as empty cells here rather than panicking.
        Some(record.get(position).unwrap_or(b""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_follow_the_list() {
        for (index, column) in Column::ALL.into_iter().enumerate() {
            assert_eq!(column.position(), index, "{column:?}");
        }
    }
}
