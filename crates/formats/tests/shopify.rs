//! Shopify order exports: a realistic export read and booked to exact balances, every kind of
//! faulty order reported on its line, unreadable files refused, and generated exports that
//! round-trip to balanced entries.

use std::collections::BTreeMap;
use std::io::Read;

use proptest::prelude::*;
use tally_formats::shopify::{
    customer_fields, order_entries, read_orders, FinancialStatus, LineItem, OrderEntryError,
    RowProblem, ShopifyError, ShopifyFile, ShopifyOrder, CELL_LEN_MAX, LINE_ITEMS_PER_ORDER_MAX,
    ORDER_NAME_LEN_MAX,
};
use tally_ledger::{format_amount, Currency, Date, EntryDraft, Side};

const SAMPLE: &str = include_str!("data/shopify-orders.csv");

fn read(text: &str) -> ShopifyFile {
    read_orders(text.as_bytes()).expect("the file is readable")
}

fn date(text: &str) -> Date {
    Date::parse(text).unwrap()
}

/// Every order's entries, each checked to balance.
fn all_entries(orders: &[ShopifyOrder]) -> Vec<EntryDraft> {
    let mut drafts = Vec::new();
    for order in orders {
        for draft in order_entries(order).unwrap() {
            assert!(draft.clone().check().is_ok(), "{} balances", draft.id);
            drafts.push(draft);
        }
    }
    drafts
}

/// Signed balance per (account, currency), debits positive, in minor units.
fn balances(drafts: &[EntryDraft]) -> BTreeMap<(String, String), i128> {
    let mut balances = BTreeMap::new();
    for posting in drafts.iter().flat_map(|draft| &draft.postings) {
        let key = (
            posting.account.as_str().to_owned(),
            posting.currency.code().to_owned(),
        );
        let amount = i128::from(posting.amount);
        *balances.entry(key).or_insert(0) += match posting.side {
            Side::Debit => amount,
            Side::Credit => -amount,
        };
    }
    balances
}

fn order<'f>(file: &'f ShopifyFile, name: &str) -> &'f ShopifyOrder {
    file.orders
        .iter()
        .find(|order| order.name == name)
        .unwrap_or_else(|| panic!("order {name} was read"))
}

#[test]
fn sample_export_books_exact_balances() {
    let file = read(SAMPLE);
    assert_eq!(file.problems, []);
    let names: Vec<&str> = file
        .orders
        .iter()
        .map(|order| order.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["#1001", "#1002", "#1003", "#1004", "#1005", "#1006", "#1007", "#1008"]
    );
    let drafts = all_entries(&file.orders);
    // Seven sales (the voided #1008 books nothing) and the refunds of #1003 and #1004.
    assert_eq!(drafts.len(), 9);

    // Worked out by hand from the sample, in minor units, debits positive.
    // EUR clearing: sales of #1001 70.35, #1002 85.68, #1003 52.50, #1004 28.58 (= 237.11)
    // less refunds of #1003 17.85 and #1004 28.58 (= 46.43): 190.68.
    // EUR receivable: the pending #1005, 114.00.
    // EUR revenue: 55.00 + 72.00 (80.00 less the 8.00 discount) + 40.00 + 19.90 + 90.00 = 276.90.
    // EUR shipping: 4.90 + 0 + 4.90 + 4.90 + 6.90 = 21.60.
    // EUR VAT: 10.45 + 13.68 + 7.60 + 3.78 + 17.10 = 52.61.
    // EUR returns: 17.85 + 28.58 = 46.43.
    // JPY (#1006, no decimals): 3200 + 2 × 1800 = 6800 revenue, 800 shipping, 680 tax, 8280 paid.
    // USD (#1007, authorized, not captured): 3 × 9.99 = 29.97 receivable and revenue.
    let expected: BTreeMap<(String, String), i128> = [
        ("1400", "EUR", 19_068),
        ("1100", "EUR", 11_400),
        ("4000", "EUR", -27_690),
        ("4100", "EUR", -2_160),
        ("2100", "EUR", -5_261),
        ("4900", "EUR", 4_643),
        ("1400", "JPY", 8_280),
        ("4000", "JPY", -6_800),
        ("4100", "JPY", -800),
        ("2100", "JPY", -680),
        ("1100", "USD", 2_997),
        ("4000", "USD", -2_997),
    ]
    .into_iter()
    .map(|(account, currency, amount)| ((account.to_owned(), currency.to_owned()), amount))
    .collect();
    assert_eq!(balances(&drafts), expected);
}

#[test]
fn sample_export_model() {
    let file = read(SAMPLE);

    let first = order(&file, "#1001");
    assert_eq!(first.first_line, 2);
    assert_eq!(first.financial_status, FinancialStatus::Paid);
    assert_eq!(first.currency, Currency::EUR);
    assert_eq!(
        (first.subtotal, first.shipping, first.taxes, first.total),
        (5_500, 490, 1_045, 7_035)
    );
    assert_eq!((first.discount, first.refunded), (0, 0));
    assert_eq!(first.created, date("2026-03-01"));
    assert_eq!(first.paid, Some(date("2026-03-01")));
    assert_eq!(
        first.line_items,
        [
            LineItem {
                line: 2,
                quantity: 2,
                name: "Linen tea towel".into(),
                price: 1_250,
                sku: "TT-LIN-01".into(),
            },
            LineItem {
                line: 3,
                quantity: 1,
                name: "Ceramic mug set".into(),
                price: 3_000,
                sku: "MUG-SET-4".into(),
            },
        ]
    );
    let customer: Vec<(String, String)> = [
        (customer_fields::CUSTOMER_NAME, "Anna Becker"),
        (customer_fields::EMAIL, "anna.becker@example.de"),
        (customer_fields::ADDRESS1, "Hauptstraße 5, Hinterhaus"),
        (customer_fields::CITY, "Berlin"),
        (customer_fields::ZIP, "10115"),
        (customer_fields::COUNTRY, "DE"),
        (customer_fields::PHONE, "+49 30 1234567"),
    ]
    .into_iter()
    .map(|(field, value)| (field.to_owned(), value.to_owned()))
    .collect();
    assert_eq!(first.customer, customer);
    assert_eq!(first.email, "anna.becker@example.de");

    // The note of #1002's first row spans two lines, so its next rows start on lines 6 and 7.
    let discounted = order(&file, "#1002");
    assert_eq!(discounted.first_line, 4);
    let lines: Vec<u64> = discounted.line_items.iter().map(|item| item.line).collect();
    assert_eq!(lines, [4, 6, 7]);
    assert_eq!((discounted.discount, discounted.subtotal), (800, 7_200));

    let partial = order(&file, "#1003");
    assert_eq!(partial.financial_status, FinancialStatus::PartiallyRefunded);
    assert_eq!(partial.refunded, 1_785);

    let pending = order(&file, "#1005");
    assert_eq!(pending.financial_status, FinancialStatus::Pending);
    assert_eq!(pending.paid, None);

    let yen = order(&file, "#1006");
    assert_eq!(yen.currency, Currency::JPY);
    assert_eq!((yen.subtotal, yen.total), (6_800, 8_280));

    // A digital order: no shipping address, so the name comes from billing and the only other
    // field is the email. Its time is the shop's evening of the 6th (the 7th in UTC).
    let digital = order(&file, "#1007");
    assert_eq!(digital.created, date("2026-03-06"));
    assert_eq!(
        digital.customer,
        [
            ("customer_name".to_owned(), "Sam Carter".to_owned()),
            ("email".to_owned(), "sam.carter@example.com".to_owned()),
        ]
    );
}

#[test]
fn sample_entries_ids_dates_texts() {
    let file = read(SAMPLE);
    let drafts = all_entries(&file.orders);
    let ids: Vec<&str> = drafts.iter().map(|draft| draft.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "shopify:1001:sale",
            "shopify:1002:sale",
            "shopify:1003:sale",
            "shopify:1003:refund",
            "shopify:1004:sale",
            "shopify:1004:refund",
            "shopify:1005:sale",
            "shopify:1006:sale",
            "shopify:1007:sale",
        ]
    );
    let sale = &drafts[1];
    assert_eq!(sale.description, "Shopify order #1002 (4 items)");
    assert_eq!(sale.date, date("2026-03-02"));
    let references: Vec<(&str, &str)> = sale
        .references
        .iter()
        .map(|reference| (reference.kind.as_str(), reference.value.as_str()))
        .collect();
    assert_eq!(references, [("order", "#1002"), ("source", "shopify")]);
    // Shipping was free, so #1002's sale has no shipping posting.
    let accounts: Vec<&str> = sale
        .postings
        .iter()
        .map(|posting| posting.account.as_str())
        .collect();
    assert_eq!(accounts, ["1400", "4000", "2100"]);

    let refund = &drafts[3];
    assert_eq!(refund.description, "Refund of Shopify order #1003");
    assert_eq!(refund.date, date("2026-03-03"));
    assert_eq!(drafts[8].description, "Shopify order #1007 (3 items)");

    // The customer's data is for the caller to encrypt: no entry text may carry it.
    for order in &file.orders {
        for (field, value) in &order.customer {
            for draft in &drafts {
                let texts = std::iter::once(&draft.description).chain(
                    draft
                        .references
                        .iter()
                        .flat_map(|reference| [&reference.kind, &reference.value]),
                );
                for text in texts {
                    assert!(!text.contains(value.as_str()), "{field} in {text:?}");
                }
            }
        }
    }
    for draft in &drafts {
        assert!(draft.sealed.is_empty() && draft.seal_keys.is_empty());
    }
}

// ---- Problems: each leaves its whole order out, on the line of the row at fault. ----

/// A short export: the columns Tally reads in an order of their own, plus one it ignores.
const HEADER: &str = "Id,Name,Financial Status,Paid at,Currency,Subtotal,Shipping,Taxes,Total,Discount Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Refunded Amount,Shipping Name,Shipping City";

/// Order #1 on two rows: 2 × 10.00 + 1 × 5.00 = 25.00, shipping 5.00, taxes 4.75, total 34.75.
const GOOD: &str = "\
1,#1,paid,2026-03-01 10:00:05 +0100,EUR,25.00,5.00,4.75,34.75,0.00,2026-03-01 10:00:00 +0100,2,Mug,10.00,M-1,0.00,Ann Lee,Berlin
1,#1,,,,,,,,,,1,Cup,5.00,C-1,,,";

/// Order #3, one row: 1 × 8.00, no shipping, taxes 1.52, total 9.52.
const OTHER: &str = "3,#3,pending,,EUR,8.00,0.00,1.52,9.52,0.00,2026-03-02 12:00:00 +0100,1,Pen,8.00,P-1,0.00,Bo Kim,Oslo";

/// A file of the header, `GOOD` (lines 2-3), `rows` from line 4, then `OTHER`.
fn with_rows(rows: &[&str]) -> String {
    let mut text = format!("{HEADER}\n{GOOD}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text.push_str(OTHER);
    text.push('\n');
    text
}

/// Reads a file with `rows` between two good orders, checks both good orders survive and
/// returns the single problem.
fn single_problem(rows: &[&str]) -> RowProblem {
    let file = read(&with_rows(rows));
    let names: Vec<&str> = file
        .orders
        .iter()
        .map(|order| order.name.as_str())
        .collect();
    assert_eq!(names, ["#1", "#3"], "problems: {:?}", file.problems);
    assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
    file.problems[0].clone()
}

fn problem(line: u64, order: Option<&str>, message: &str) -> RowProblem {
    RowProblem {
        line,
        order: order.map(str::to_owned),
        message: message.to_owned(),
    }
}

/// Order #2's first row with `cells` changed: index into the header's columns.
fn order_two(changes: &[(usize, &str)]) -> String {
    let mut cells: Vec<String> = "2,#2,paid,2026-03-01 11:00:00 +0100,EUR,20.00,5.00,3.80,28.80,0.00,2026-03-01 10:59:00 +0100,2,Bowl,10.00,B-1,0.00,Cy Park,Rome"
        .split(',')
        .map(str::to_owned)
        .collect();
    for &(index, value) in changes {
        cells[index] = value.to_owned();
    }
    cells.join(",")
}

// Indexes of HEADER's columns, for `order_two`.
const STATUS: usize = 2;
const PAID_AT: usize = 3;
const CURRENCY: usize = 4;
const SUBTOTAL: usize = 5;
const SHIPPING: usize = 6;
const TOTAL: usize = 8;
const DISCOUNT: usize = 9;
const CREATED_AT: usize = 10;
const QUANTITY: usize = 11;
const ITEM_NAME: usize = 12;
const REFUNDED: usize = 15;
const SHIPPING_NAME: usize = 16;

#[test]
fn good_short_export_reads() {
    let file = read(&with_rows(&[&order_two(&[])]));
    assert_eq!(file.problems, []);
    assert_eq!(file.orders.len(), 3);
    let two = order(&file, "#2");
    assert_eq!((two.first_line, two.total), (4, 2_880));
    assert_eq!(
        two.customer,
        [
            ("customer_name".to_owned(), "Cy Park".to_owned()),
            ("city".to_owned(), "Rome".to_owned()),
        ]
    );
    assert_eq!(order(&file, "#3").first_line, 5);
    assert_eq!(all_entries(&file.orders).len(), 3);
}

#[test]
fn bad_amount() {
    let row = order_two(&[(SUBTOTAL, "\"20,00\"")]);
    assert_eq!(
        single_problem(&[&row]),
        problem(
            4,
            Some("#2"),
            "'Subtotal': invalid amount '20,00' (expected digits with an optional decimal point, e.g. 100.50)"
        )
    );
    let row = order_two(&[(SHIPPING, "-5.00")]);
    assert_eq!(
        single_problem(&[&row]).message,
        "'Shipping': amount '-5.00' is negative (use the other side, debit or credit, instead of a sign)"
    );
    let row = order_two(&[(TOTAL, "")]);
    assert_eq!(single_problem(&[&row]).message, "'Total': amount is empty");
}

#[test]
fn bad_amount_on_a_later_row_is_reported_on_its_line() {
    let first = order_two(&[(SUBTOTAL, "25.00"), (TOTAL, "33.80")]);
    assert_eq!(
        single_problem(&[&first, "2,#2,,,,,,,,,,1,Lid,5.0.0,L-1,,,"]),
        problem(
            5,
            Some("#2"),
            "'Lineitem price': invalid amount '5.0.0' (expected digits with an optional decimal point, e.g. 100.50)"
        )
    );
}

#[test]
fn currency_decimals() {
    let row = order_two(&[(CURRENCY, "EURO")]);
    assert_eq!(
        single_problem(&[&row]).message,
        "'Currency': unknown currency 'EURO' (expected an ISO 4217 code such as EUR, USD, JPY)"
    );
    // Yen have no decimals: 10.50 yen is refused, 1000.00 yen reads as 1000.
    let row = "2,#2,paid,,JPY,2000,500,380,2880,0,2026-03-01 10:59:00 +0100,2,Bowl,10.50,B-1,0,,";
    assert_eq!(
        single_problem(&[row]).message,
        "'Lineitem price': too many decimal places for JPY: '10.50' (JPY has 0)"
    );
    let row =
        "2,#2,paid,,JPY,2000,500,380,2880.00,0,2026-03-01 10:59:00 +0100,2,Bowl,1000.00,B-1,0,,";
    let file = read(&with_rows(&[row]));
    assert_eq!(file.problems, []);
    let two = order(&file, "#2");
    assert_eq!((two.total, two.line_items[0].price), (2_880, 1_000));
    // Kuwaiti dinars have three decimals.
    let row = "2,#2,paid,,KWD,20.000,5.000,3.800,28.800,0,2026-03-01 10:59:00 +0100,2,Bowl,10.0005,B-1,0,,";
    assert_eq!(
        single_problem(&[row]).message,
        "'Lineitem price': too many decimal places for KWD: '10.0005' (KWD has 3)"
    );
}

#[test]
fn bad_dates() {
    let row = order_two(&[(CREATED_AT, "2026-03-01")]);
    assert_eq!(
        single_problem(&[&row]),
        problem(
            4,
            Some("#2"),
            "'Created at' is '2026-03-01' (expected a Shopify time such as 2026-03-01 10:15:00 +0100)"
        )
    );
    let row = order_two(&[(CREATED_AT, "2026-02-30 10:00:00 +0100")]);
    assert_eq!(
        single_problem(&[&row]).message,
        "'Created at': day 30 does not exist in 2026-02 (it has 28 days)"
    );
    let row = order_two(&[(PAID_AT, "2026-03-01 25:00:00 +0100")]);
    assert_eq!(
        single_problem(&[&row]).message,
        "'Paid at' is '2026-03-01 25:00:00 +0100' (expected a Shopify time such as 2026-03-01 10:15:00 +0100)"
    );
    let row = order_two(&[(CREATED_AT, "")]);
    assert_eq!(
        single_problem(&[&row]).message,
        "'Created at' is empty (expected a Shopify time such as 2026-03-01 10:15:00 +0100)"
    );
}

#[test]
fn bad_quantity() {
    let first = order_two(&[(SUBTOTAL, "25.00"), (TOTAL, "33.80")]);
    assert_eq!(
        single_problem(&[&first, "2,#2,,,,,,,,,,0,Lid,5.00,L-1,,,"]),
        problem(
            5,
            Some("#2"),
            "'Lineitem quantity' is '0' (expected a whole number from 1 to 1000000)"
        )
    );
    let row = order_two(&[(QUANTITY, "1.5")]);
    assert_eq!(
        single_problem(&[&row]).message,
        "'Lineitem quantity' is '1.5' (expected a whole number from 1 to 1000000)"
    );
    let row = order_two(&[(ITEM_NAME, "")]);
    assert_eq!(
        single_problem(&[&row]).message,
        "'Lineitem name' is empty (expected the product's name)"
    );
}

#[test]
fn unknown_status() {
    let row = order_two(&[(STATUS, "chargeback")]);
    assert_eq!(
        single_problem(&[&row]).message,
        "'Financial Status' is 'chargeback' (expected one of paid, pending, refunded, partially_refunded, authorized, voided)"
    );
}

#[test]
fn missing_first_row() {
    // #2's rows lost their first row: both are left out, reported once, on the first.
    assert_eq!(
        single_problem(&["2,#2,,,,,,,,,,1,Lid,5.00,L-1,,,", "2,#2,,,,,,,,,,1,Jar,6.00,J-1,,,"]),
        problem(
            4,
            Some("#2"),
            "the row has only line-item cells and no earlier row gives the order's Financial Status, Subtotal and Total (expected the order's first row before its other rows)"
        )
    );
}

#[test]
fn second_first_row() {
    let row = order_two(&[]);
    assert_eq!(
        single_problem(&[&row, &row]),
        problem(
            5,
            Some("#2"),
            "a second row with order totals ('Financial Status' is 'paid'); expected only line-item cells after the order's first row on line 4"
        )
    );
}

#[test]
fn subtotal_total_and_discount_must_add_up() {
    // 2 × 10.00 less 1.00 is 19.00, not 20.00.
    let row = order_two(&[(DISCOUNT, "1.00")]);
    assert_eq!(
        single_problem(&[&row]),
        problem(
            4,
            Some("#2"),
            "Subtotal is 20.00 but the line items' 20.00 less Discount Amount 1.00 is 19.00 (expected Subtotal = sum of quantity × price − Discount Amount)"
        )
    );
    let row = order_two(&[(DISCOUNT, "21.00")]);
    assert_eq!(
        single_problem(&[&row]).message,
        "Discount Amount 21.00 is more than the line items' 20.00 (sum of quantity × price)"
    );
    let row = order_two(&[(TOTAL, "28.00")]);
    assert_eq!(
        single_problem(&[&row]).message,
        "Total is 28.00 but Subtotal 20.00 + Shipping 5.00 + Taxes 3.80 is 28.80 (expected Total = Subtotal + Shipping + Taxes)"
    );
    // The same on a later row: the order is reported on its first row, where the totals are.
    let first = order_two(&[(SUBTOTAL, "25.00"), (TOTAL, "33.80")]);
    assert_eq!(
        single_problem(&[&first, "2,#2,,,,,,,,,,1,Lid,4.00,L-1,,,"]),
        problem(
            4,
            Some("#2"),
            "Subtotal is 25.00 but the line items' 24.00 less Discount Amount 0.00 is 24.00 (expected Subtotal = sum of quantity × price − Discount Amount)"
        )
    );
}

#[test]
fn refunds_must_fit_total_and_status() {
    let row = order_two(&[(STATUS, "refunded"), (REFUNDED, "30.00")]);
    assert_eq!(
        single_problem(&[&row]),
        problem(
            4,
            Some("#2"),
            "Refunded Amount 30.00 is more than Total 28.80"
        )
    );
    let row = order_two(&[(STATUS, "refunded"), (REFUNDED, "10.00")]);
    assert_eq!(
        single_problem(&[&row]).message,
        "Refunded Amount is 10.00 but Financial Status is 'refunded' (expected the whole Total, 28.80)"
    );
    let row = order_two(&[(STATUS, "partially_refunded"), (REFUNDED, "0.00")]);
    assert_eq!(
        single_problem(&[&row]).message,
        "Refunded Amount is 0.00 but Financial Status is 'partially_refunded' (expected more than 0 and less than Total 28.80)"
    );
    let row = order_two(&[(STATUS, "pending"), (REFUNDED, "1.00")]);
    assert_eq!(
        single_problem(&[&row]).message,
        "Refunded Amount is 1.00 but Financial Status is 'pending' (expected 0 for a pending order)"
    );
}

#[test]
fn an_order_seen_again_after_other_orders_is_left_out_whole() {
    // #1 (lines 2-3) comes back on line 5 after #3: its rows are split, so neither part is kept.
    let text = format!("{HEADER}\n{GOOD}\n{OTHER}\n1,#1,,,,,,,,,,1,Saucer,5.00,S-1,,,\n");
    let file = read(&text);
    let names: Vec<&str> = file
        .orders
        .iter()
        .map(|order| order.name.as_str())
        .collect();
    assert_eq!(names, ["#3"]);
    assert_eq!(
        file.problems,
        [problem(
            5,
            Some("#1"),
            "the order appears again after other rows (expected all its rows together; it started on line 2), so the whole order is left out"
        )]
    );
}

#[test]
fn a_row_without_name_belongs_to_no_order() {
    let row = order_two(&[(1, "")]);
    assert_eq!(
        single_problem(&[&row]),
        problem(
            4,
            None,
            "'Name' is empty (expected the order name, e.g. #1001)"
        )
    );
}

#[test]
fn order_names_must_make_entry_ids() {
    let row = order_two(&[(1, "#2 B")]);
    assert_eq!(
        single_problem(&[&row]),
        problem(
            4,
            Some("#2 B"),
            "order name '#2 B' contains ' ' (expected letters A-Z and a-z, digits and . _ : / - after an optional leading '#', the characters of an entry id)"
        )
    );
    let long = format!("#{}", "9".repeat(ORDER_NAME_LEN_MAX + 1));
    let row = order_two(&[(1, &long)]);
    assert_eq!(
        single_problem(&[&row]).message,
        format!("order name '{long}' is 50 bytes long without its '#' (at most 49, so that its entry ids fit in 64 bytes)")
    );
    // The longest name makes the longest ids, which the ledger accepts.
    let longest = format!("#{}", "9".repeat(ORDER_NAME_LEN_MAX));
    let row = order_two(&[(1, &longest), (STATUS, "refunded"), (REFUNDED, "28.80")]);
    let file = read(&with_rows(&[&row]));
    assert_eq!(file.problems, []);
    let drafts = order_entries(order(&file, &longest)).unwrap();
    assert_eq!(drafts.len(), 2);
    assert_eq!(drafts[1].id.as_str().len(), 64);
}

#[test]
fn row_width_cell_length_and_encoding() {
    assert_eq!(
        single_problem(&["2,#2,paid"]),
        problem(
            4,
            Some("#2"),
            "the row has 3 cells but the header has 18 (expected one cell per header column)"
        )
    );
    let long = "x".repeat(CELL_LEN_MAX + 1);
    let row = order_two(&[(SHIPPING_NAME, &long)]);
    assert_eq!(
        single_problem(&[&row]).message,
        "'Shipping Name' is 1025 bytes long (at most 1024)"
    );
    let mut bytes = with_rows(&[&order_two(&[(ITEM_NAME, "BOWL")])]).into_bytes();
    let at = bytes
        .windows(4)
        .position(|window| window == b"BOWL")
        .unwrap();
    bytes[at] = 0xFF;
    let file = read_orders(bytes.as_slice()).unwrap();
    assert_eq!(file.orders.len(), 2);
    assert_eq!(
        file.problems,
        [problem(4, Some("#2"), "'Lineitem name' is not UTF-8 text")]
    );
}

#[test]
fn too_many_line_items() {
    let mut rows = vec![order_two(&[])];
    rows.extend(
        (0..LINE_ITEMS_PER_ORDER_MAX).map(|_| "2,#2,,,,,,,,,,1,Lid,5.00,L-1,,,".to_owned()),
    );
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let last_line = 4 + LINE_ITEMS_PER_ORDER_MAX as u64;
    assert_eq!(
        single_problem(&rows),
        problem(
            last_line,
            Some("#2"),
            "the order has more than 1000 line items"
        )
    );
}

#[test]
fn lines_count_newlines_inside_quoted_cells() {
    // A quoted city spanning three lines moves every later row down by two.
    let first = order_two(&[
        (SUBTOTAL, "25.00"),
        (TOTAL, "33.80"),
        (17, "\"Rome,\nItaly,\nEU\""),
    ]);
    let file = read(&with_rows(&[&first, "2,#2,,,,,,,,,,0,Lid,5.00,L-1,,,"]));
    assert_eq!(file.problems.len(), 1);
    assert_eq!(file.problems[0].line, 7);
}

#[test]
fn problems_are_listed_by_line() {
    let file = read(&with_rows(&[
        &order_two(&[(TOTAL, "1.00")]),
        &order_two(&[(1, "#4"), (CURRENCY, "XXX")]),
    ]));
    let lines: Vec<(u64, Option<&str>)> = file
        .problems
        .iter()
        .map(|problem| (problem.line, problem.order.as_deref()))
        .collect();
    assert_eq!(lines, [(4, Some("#2")), (5, Some("#4"))]);
    assert_eq!(
        file.problems[1].to_string(),
        "line 5: order #4: 'Currency': unknown currency 'XXX' (expected an ISO 4217 code such as EUR, USD, JPY)"
    );
}

// ---- Files that cannot be read at all. ----

#[test]
fn empty_file() {
    assert_eq!(read_orders(&b""[..]), Err(ShopifyError::Empty));
    assert_eq!(
        ShopifyError::Empty.to_string(),
        "the file is empty (expected a Shopify order export starting with its header row)"
    );
}

#[test]
fn missing_columns_are_named() {
    let header = HEADER
        .replace(",Subtotal", "")
        .replace(",Refunded Amount", "");
    let error = read_orders(format!("{header}\n").as_bytes()).unwrap_err();
    assert_eq!(
        error,
        ShopifyError::MissingColumns {
            columns: vec!["Subtotal", "Refunded Amount"]
        }
    );
    assert_eq!(
        error.to_string(),
        "the header has no column 'Subtotal', 'Refunded Amount' (a Shopify order export has them; names are case-sensitive)"
    );
    // Optional columns (customer data, SKU) may be missing.
    let header = HEADER
        .replace(",Lineitem sku", "")
        .replace(",Shipping Name,Shipping City", "");
    assert!(read_orders(format!("{header}\n").as_bytes()).is_ok());
}

#[test]
fn not_csv_of_orders() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10";
    assert!(matches!(
        read_orders(&png[..]),
        Err(ShopifyError::MissingColumns { .. }) | Err(ShopifyError::HeaderNotUtf8)
    ));
    assert_eq!(
        read_orders(&b"Name,Total\xFF\n"[..]),
        Err(ShopifyError::HeaderNotUtf8)
    );
    assert_eq!(
        ShopifyError::HeaderNotUtf8.to_string(),
        "the header row is not UTF-8 text (expected a Shopify order export saved as UTF-8 CSV)"
    );
}

#[test]
fn duplicate_column() {
    let error = read_orders(format!("{HEADER},Total\n").as_bytes()).unwrap_err();
    assert_eq!(error, ShopifyError::DuplicateColumn { column: "Total" });
    assert_eq!(
        error.to_string(),
        "the header has the column 'Total' twice (expected each column once)"
    );
}

/// A reader that yields `good` and then fails.
struct Failing<'a> {
    good: &'a [u8],
}

impl Read for Failing<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.good.is_empty() {
            return Err(std::io::Error::other("disk unplugged"));
        }
        let count = self.good.read(buffer)?;
        Ok(count)
    }
}

#[test]
fn read_errors() {
    let text = with_rows(&[]);
    let error = read_orders(Failing {
        good: text.as_bytes(),
    })
    .unwrap_err();
    let ShopifyError::Read { message, .. } = &error else {
        panic!("expected a read error, got {error:?}");
    };
    assert_eq!(message, "disk unplugged");
    // The four lines were read; the failure came reading what follows them.
    assert_eq!(
        error.to_string(),
        "cannot read the file at line 5: disk unplugged"
    );
    let error = read_orders(Failing { good: b"" }).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot read the file at line 1: disk unplugged"
    );
}

#[test]
fn byte_order_mark_is_ignored() {
    let text = format!("\u{FEFF}{}", with_rows(&[]));
    let file = read(&text);
    assert_eq!((file.orders.len(), file.problems.len()), (2, 0));
}

// ---- Posting rules on orders built by hand. ----

fn hand_order(status: FinancialStatus, total: u64, refunded: u64) -> ShopifyOrder {
    ShopifyOrder {
        name: "#77".into(),
        first_line: 2,
        email: String::new(),
        financial_status: status,
        currency: Currency::EUR,
        subtotal: total,
        shipping: 0,
        taxes: 0,
        total,
        discount: 0,
        refunded,
        created: date("2026-04-01"),
        paid: None,
        line_items: vec![LineItem {
            line: 2,
            quantity: 1,
            name: "Gift".into(),
            price: total,
            sku: String::new(),
        }],
        customer: Vec::new(),
    }
}

#[test]
fn zero_total_and_voided_orders_book_nothing() {
    assert_eq!(
        order_entries(&hand_order(FinancialStatus::Paid, 0, 0)),
        Ok(vec![])
    );
    assert_eq!(
        order_entries(&hand_order(FinancialStatus::Voided, 1_000, 0)),
        Ok(vec![])
    );
    // A free order that was "refunded" refunds nothing either.
    assert_eq!(
        order_entries(&hand_order(FinancialStatus::Refunded, 0, 0)),
        Ok(vec![])
    );
}

#[test]
fn refund_without_payment_date_is_dated_at_creation() {
    let drafts =
        order_entries(&hand_order(FinancialStatus::PartiallyRefunded, 1_000, 300)).unwrap();
    assert_eq!(drafts.len(), 2);
    assert_eq!(drafts[1].date, date("2026-04-01"));
    assert_eq!(
        balances(&drafts),
        [
            (("1400".to_owned(), "EUR".to_owned()), 700),
            (("4000".to_owned(), "EUR".to_owned()), -1_000),
            (("4900".to_owned(), "EUR".to_owned()), 300),
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(drafts[0].description, "Shopify order #77 (1 item)");
}

#[test]
fn inconsistent_hand_built_orders_are_refused() {
    let mut order = hand_order(FinancialStatus::Paid, 1_000, 0);
    order.taxes = 1;
    let error = order_entries(&order).unwrap_err();
    assert!(matches!(error, OrderEntryError::Invalid { .. }));
    assert_eq!(
        error.to_string(),
        "order #77 cannot be booked: Total is 10.00 but Subtotal 10.00 + Shipping 0.00 + Taxes 0.01 is 10.01 (expected Total = Subtotal + Shipping + Taxes)"
    );
    let mut order = hand_order(FinancialStatus::Paid, 1_000, 0);
    order.name = "#7 7".into();
    assert!(matches!(
        order_entries(&order),
        Err(OrderEntryError::Invalid { .. })
    ));
}

// ---- Generated exports round-trip to balanced entries. ----

const CURRENCIES: [Currency; 4] = [Currency::EUR, Currency::JPY, Currency::KWD, Currency::USD];

/// Text for a cell: starts and ends with a letter (cells are trimmed), may hold commas,
/// quotes and newlines, and begins with "Zq" so tests can tell customer data from entry text.
fn cell_text() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9 ,\"\n]{0,10}[A-Za-z]".prop_map(|text| format!("Zq{text}"))
}

/// A consistent order without a name (the test numbers them) and with every line 0.
fn generated_order() -> impl Strategy<Value = ShopifyOrder> {
    let items = proptest::collection::vec((1u64..=5, 0u64..=100_000, cell_text()), 1..=4);
    (
        0..CURRENCIES.len(),
        items,
        0u64..=10_000,
        0u64..=10_000,
        0..FinancialStatus::ALL.len(),
        any::<u64>(),
        (2020u32..=2030, 1u32..=12, 1u32..=28),
        proptest::collection::vec(proptest::option::of(cell_text()), 7),
    )
        .prop_map(
            |(currency, items, shipping, taxes, status, seed, (y, m, d), customer)| {
                let currency = CURRENCIES[currency];
                let line_items: Vec<LineItem> = items
                    .into_iter()
                    .map(|(quantity, price, name)| LineItem {
                        line: 0,
                        quantity,
                        name,
                        price,
                        sku: format!("SKU-{price}"),
                    })
                    .collect();
                let gross: u64 = line_items
                    .iter()
                    .map(|item| item.quantity * item.price)
                    .sum();
                let discount = seed % (gross + 1);
                let subtotal = gross - discount;
                let total = subtotal + shipping + taxes;
                let mut status = FinancialStatus::ALL[status];
                let refunded = match status {
                    FinancialStatus::Refunded => total,
                    FinancialStatus::PartiallyRefunded if total >= 2 => 1 + seed % (total - 1),
                    FinancialStatus::PartiallyRefunded => {
                        status = FinancialStatus::Paid;
                        0
                    }
                    _ => 0,
                };
                let created = Date::from_ymd(y, m, d).unwrap();
                let paid = status.was_captured().then_some(created);
                let fields = [
                    customer_fields::CUSTOMER_NAME,
                    customer_fields::EMAIL,
                    customer_fields::ADDRESS1,
                    customer_fields::CITY,
                    customer_fields::ZIP,
                    customer_fields::COUNTRY,
                    customer_fields::PHONE,
                ];
                let customer: Vec<(String, String)> = fields
                    .into_iter()
                    .zip(customer)
                    .filter_map(|(field, value)| Some((field.to_owned(), value?)))
                    .collect();
                let email = customer
                    .iter()
                    .find(|(field, _)| field == customer_fields::EMAIL)
                    .map(|(_, value)| value.clone())
                    .unwrap_or_default();
                ShopifyOrder {
                    name: String::new(),
                    first_line: 0,
                    email,
                    financial_status: status,
                    currency,
                    subtotal,
                    shipping,
                    taxes,
                    total,
                    discount,
                    refunded,
                    created,
                    paid,
                    line_items,
                    customer,
                }
            },
        )
}

/// The CSV Shopify would write for `orders`, columns in Shopify's order.
fn render(orders: &[ShopifyOrder]) -> String {
    let header = [
        "Name",
        "Email",
        "Financial Status",
        "Paid at",
        "Currency",
        "Subtotal",
        "Shipping",
        "Taxes",
        "Total",
        "Discount Code",
        "Discount Amount",
        "Created at",
        "Lineitem quantity",
        "Lineitem name",
        "Lineitem price",
        "Lineitem sku",
        "Billing Name",
        "Shipping Name",
        "Shipping Address1",
        "Shipping City",
        "Shipping Zip",
        "Shipping Country",
        "Shipping Phone",
        "Refunded Amount",
        "Id",
    ];
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header).unwrap();
    for (index, order) in orders.iter().enumerate() {
        let money = |minor: u64| format_amount(u128::from(minor), order.currency);
        let time = |day: Date| format!("{day} 09:30:00 +0200");
        let customer = |field: &str| {
            order
                .customer
                .iter()
                .find(|(name, _)| name == field)
                .map(|(_, value)| value.clone())
                .unwrap_or_default()
        };
        for (row, item) in order.line_items.iter().enumerate() {
            let first = row == 0;
            let only_first = |text: String| if first { text } else { String::new() };
            let record = [
                order.name.clone(),
                order.email.clone(),
                only_first(order.financial_status.to_string()),
                only_first(order.paid.map(time).unwrap_or_default()),
                only_first(order.currency.code().to_owned()),
                only_first(money(order.subtotal)),
                only_first(money(order.shipping)),
                only_first(money(order.taxes)),
                only_first(money(order.total)),
                only_first(if order.discount > 0 {
                    "SAVE".into()
                } else {
                    String::new()
                }),
                only_first(money(order.discount)),
                time(order.created),
                item.quantity.to_string(),
                item.name.clone(),
                money(item.price),
                item.sku.clone(),
                // Billing Name is the fallback for the customer name; give it the same value.
                only_first(customer(customer_fields::CUSTOMER_NAME)),
                only_first(customer(customer_fields::CUSTOMER_NAME)),
                only_first(customer(customer_fields::ADDRESS1)),
                only_first(customer(customer_fields::CITY)),
                only_first(customer(customer_fields::ZIP)),
                only_first(customer(customer_fields::COUNTRY)),
                only_first(customer(customer_fields::PHONE)),
                only_first(money(order.refunded)),
                format!("{}", 5_500_000 + index),
            ];
            writer.write_record(&record).unwrap();
        }
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

/// `order` with every line number set to 0, to compare with generated orders.
fn without_lines(mut order: ShopifyOrder) -> ShopifyOrder {
    order.first_line = 0;
    for item in &mut order.line_items {
        item.line = 0;
    }
    order
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_exports_round_trip(generated in proptest::collection::vec(generated_order(), 1..=8)) {
        let orders: Vec<ShopifyOrder> = generated
            .into_iter()
            .enumerate()
            .map(|(index, order)| ShopifyOrder {
                name: format!("#{}", 1001 + index),
                ..order
            })
            .collect();
        let file = read(&render(&orders));
        prop_assert_eq!(&file.problems, &Vec::<RowProblem>::new());
        let read_back: Vec<ShopifyOrder> = file.orders.iter().cloned().map(without_lines).collect();
        prop_assert_eq!(&read_back, &orders);

        let mut sale_debits: BTreeMap<Currency, u128> = BTreeMap::new();
        let mut totals: BTreeMap<Currency, u128> = BTreeMap::new();
        for order in &file.orders {
            let drafts = order_entries(order).unwrap();
            for draft in &drafts {
                prop_assert!(draft.clone().check().is_ok());
                for text in std::iter::once(&draft.description)
                    .chain(draft.references.iter().map(|reference| &reference.value))
                {
                    prop_assert!(!text.contains("Zq"), "customer data in {:?}", text);
                }
                if draft.id.as_str().ends_with(":sale") {
                    for posting in draft.postings.iter().filter(|posting| posting.side == Side::Debit) {
                        *sale_debits.entry(posting.currency).or_default() += u128::from(posting.amount);
                    }
                }
            }
            if order.financial_status != FinancialStatus::Voided && order.total > 0 {
                *totals.entry(order.currency).or_default() += u128::from(order.total);
            }
        }
        prop_assert_eq!(sale_debits, totals);
    }
}

/// A cell of a fuzzed row: plausible values, near misses and CSV's special characters.
fn fuzz_cell() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        "",
        "#1",
        "#2",
        "#3",
        "paid",
        "pending",
        "refunded",
        "partially_refunded",
        "voided",
        "EUR",
        "JPY",
        "XXX",
        "0",
        "1",
        "2",
        "0.00",
        "5.00",
        "10",
        "10.00",
        "15.00",
        "-1",
        "2026-03-01 10:00:00 +0100",
        "2026-02-30 10:00:00 +0100",
        "a,b",
        "a\nb",
        "\"",
        "#1 x",
        "\u{202e}",
    ])
}

/// Valid rows of the fuzzed export's columns: first rows and follow-up rows of #1 and #2, so
/// fuzzed files also hold good orders, split orders and repeated first rows.
const FUZZ_VALID_ROWS: [[&str; 14]; 4] = [
    [
        "#1",
        "paid",
        "EUR",
        "10.00",
        "0.00",
        "0.00",
        "10.00",
        "2026-03-01 10:00:00 +0100",
        "1",
        "Mug",
        "10.00",
        "0.00",
        "",
        "0.00",
    ],
    [
        "#1",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "1",
        "Gift wrap",
        "0.00",
        "",
        "",
        "",
    ],
    [
        "#2",
        "pending",
        "JPY",
        "10",
        "0",
        "0",
        "10",
        "2026-03-01 10:00:00 +0100",
        "1",
        "Bowl",
        "10",
        "0",
        "",
        "0",
    ],
    [
        "#2", "", "", "", "", "", "", "", "2", "Sticker", "0", "", "", "",
    ],
];

/// A fuzzed row: a valid one, or 14 cells drawn from [`fuzz_cell`].
fn fuzz_row() -> impl Strategy<Value = Vec<&'static str>> {
    prop_oneof![
        1 => proptest::sample::select(FUZZ_VALID_ROWS.to_vec()).prop_map(|row| row.to_vec()),
        1 => proptest::collection::vec(fuzz_cell(), 14),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the rows, reading never panics, an order named in a problem is never also
    /// accepted (never half-kept), and every accepted order books balanced entries.
    #[test]
    fn fuzzed_rows_never_half_keep_an_order(
        rows in proptest::collection::vec(fuzz_row(), 0..12)
    ) {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record([
            "Name", "Financial Status", "Currency", "Subtotal", "Shipping", "Taxes", "Total",
            "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price",
            "Refunded Amount", "Paid at", "Discount Amount",
        ]).unwrap();
        for row in &rows {
            writer.write_record(row).unwrap();
        }
        let text = writer.into_inner().unwrap();
        let file = read_orders(text.as_slice()).unwrap();
        for problem in &file.problems {
            if let Some(name) = &problem.order {
                prop_assert!(file.orders.iter().all(|order| &order.name != name), "{}", problem);
            }
        }
        for order in &file.orders {
            for draft in order_entries(order).unwrap() {
                prop_assert!(draft.check().is_ok());
            }
        }
    }

    /// Any bytes after a valid header read without panicking.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut text = format!("{HEADER}\n").into_bytes();
        text.extend(bytes);
        prop_assert!(read_orders(text.as_slice()).is_ok());
    }
}
