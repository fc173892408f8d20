//! The typed model of a Shopify order export: the orders [`super::read_orders`] accepted and the
//! problems it found. Amounts are whole minor units of the order's currency.

use std::fmt;

use tally_ledger::{Currency, Date};

/// The names under which [`ShopifyOrder::customer`] keeps the customer's personal data.
pub mod customer_fields {
    /// The recipient's name: "Shipping Name", else "Billing Name".
    pub const CUSTOMER_NAME: &str = "customer_name";
    /// "Email".
    pub const EMAIL: &str = "email";
    /// "Shipping Address1".
    pub const ADDRESS1: &str = "address1";
    /// "Shipping City".
    pub const CITY: &str = "city";
    /// "Shipping Zip".
    pub const ZIP: &str = "zip";
    /// "Shipping Country".
    pub const COUNTRY: &str = "country";
    /// "Shipping Phone".
    pub const PHONE: &str = "phone";
}

/// Where the payment of an order stands ("Financial Status" in the export).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum FinancialStatus {
    /// Awaiting payment (bank transfer, cash on delivery): the customer owes the total.
    Pending,
    /// The card was authorized but not yet captured: the customer still owes the total.
    Authorized,
    /// Captured in full.
    Paid,
    /// Captured, then part of it refunded.
    PartiallyRefunded,
    /// Captured, then all of it refunded.
    Refunded,
    /// The authorization was cancelled before capture: no money moved and none is owed.
    Voided,
}

impl FinancialStatus {
    /// Every status, in the order error messages list them.
    pub const ALL: [FinancialStatus; 6] = [
        FinancialStatus::Paid,
        FinancialStatus::Pending,
        FinancialStatus::Refunded,
        FinancialStatus::PartiallyRefunded,
        FinancialStatus::Authorized,
        FinancialStatus::Voided,
    ];

    /// The word Shopify writes: "paid", "partially_refunded", ...
    pub fn as_str(self) -> &'static str {
        match self {
            FinancialStatus::Pending => "pending",
            FinancialStatus::Authorized => "authorized",
            FinancialStatus::Paid => "paid",
            FinancialStatus::PartiallyRefunded => "partially_refunded",
            FinancialStatus::Refunded => "refunded",
            FinancialStatus::Voided => "voided",
        }
    }

    /// The status Shopify writes as `text`, if it is one of [`Self::ALL`].
    pub fn parse(text: &str) -> Option<FinancialStatus> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Whether the payment was captured, so the money sits with the payment processor rather
    /// than with the customer.
    pub fn was_captured(self) -> bool {
        matches!(
            self,
            FinancialStatus::Paid | FinancialStatus::PartiallyRefunded | FinancialStatus::Refunded
        )
    }
}

impl fmt::Display for FinancialStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line item of an order: one row of the export.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LineItem {
    /// The file line its row starts on (1 is the header).
    pub line: u64,
    /// "Lineitem quantity", 1..=[`super::QUANTITY_MAX`].
    pub quantity: u64,
    /// "Lineitem name".
    pub name: String,
    /// "Lineitem price": the unit price in minor units, before the order's discount.
    pub price: u64,
    /// "Lineitem sku" (may be empty).
    pub sku: String,
}

/// One order of the export, checked: its line items less the discount make the subtotal, the
/// subtotal plus shipping and taxes make the total, and the refunded amount fits the status.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ShopifyOrder {
    /// "Name", e.g. "#1001": the shop's order number, unique in the shop.
    pub name: String,
    /// The file line the order's first row starts on.
    pub first_line: u64,
    /// "Email" (may be empty). Personal data: also in [`Self::customer`], never in entries.
    pub email: String,
    /// "Financial Status".
    pub financial_status: FinancialStatus,
    /// "Currency": every amount of the order is in it.
    pub currency: Currency,
    /// "Subtotal": the line items less the discount.
    pub subtotal: u64,
    /// "Shipping" charged to the customer.
    pub shipping: u64,
    /// "Taxes".
    pub taxes: u64,
    /// "Total": subtotal + shipping + taxes.
    pub total: u64,
    /// "Discount Amount".
    pub discount: u64,
    /// "Refunded Amount".
    pub refunded: u64,
    /// The shop's calendar day of "Created at" (the day in the offset the export gives).
    pub created: Date,
    /// The shop's calendar day of "Paid at", if it was paid.
    pub paid: Option<Date>,
    /// The line items, in file order.
    pub line_items: Vec<LineItem>,
    /// The customer's personal data, only the non-empty fields, named by [`customer_fields`],
    /// in that module's order. The caller encrypts these; entries never carry them.
    pub customer: Vec<(String, String)>,
}

impl ShopifyOrder {
    /// How many units the order has in all its line items.
    pub fn item_count(&self) -> u128 {
        self.line_items
            .iter()
            .map(|item| u128::from(item.quantity))
            .sum()
    }

    /// The order name without Shopify's leading '#': "1001" for "#1001".
    pub fn number(&self) -> &str {
        self.name.strip_prefix('#').unwrap_or(&self.name)
    }
}

/// An order left out of the import, and why.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RowProblem {
    /// The file line of the row at fault (where the record starts; 1 is the header).
    pub line: u64,
    /// The order's name, when the row had a readable one.
    pub order: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.order {
            Some(order) => write!(f, "line {}: order {}: {}", self.line, order, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// What [`super::read_orders`] made of a file: the orders it accepted, in file order, and the
/// orders it left out, in line order.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ShopifyFile {
    /// The checked orders.
    pub orders: Vec<ShopifyOrder>,
    /// One problem per order left out (and per row whose order could not be named).
    pub problems: Vec<RowProblem>,
}
