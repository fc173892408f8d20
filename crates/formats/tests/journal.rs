//! Tests of the journal readers and writers.
//!
//! - Data-driven: each sample in `tests/data/journal*` is read and, for the error samples,
//!   its problems compared with the `.expected` file beside it (`UPDATE_EXPECT=1` rewrites
//!   them).
//! - The real tools: Tally's trial balance of a sample, and of the books the writers export,
//!   compared with what `hledger`, `ledger` and beancount (`bean-check`, `bean-query`) print.
//!   A missing tool prints "skipped: <tool> not installed" and the test returns;
//!   `tests/install-tools.sh` installs them.
//! - Properties: writing books and reading them back keeps every balance; no text makes a
//!   reader panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use tally_formats::journal::{
    beancount_account_name, generate_ledger_journal, hledger_account_name, is_beancount_path,
    read_beancount, read_journal, read_ledger, write_beancount, write_csv, write_hledger,
    ExportError, Journal, JournalError, CSV_HEADER, ENTRY_ID_PREFIX, JOURNAL_BYTES_MAX,
};
use tally_ledger::{
    AccountCode, AccountKind, Currency, Date, EntryDraft, EntryId, Posting, Reference, Side,
};

/// Balances by (account name, currency code), in signed minor units (debits positive), zero
/// balances left out, as the tools leave them out.
type Balances = BTreeMap<(String, String), i128>;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn read_data(name: &str) -> String {
    std::fs::read_to_string(data(name)).expect("sample file is readable")
}

fn entries(journal: &Journal) -> Vec<EntryDraft> {
    journal
        .transactions
        .iter()
        .map(|transaction| transaction.entry.clone())
        .collect()
}

fn chart(journal: &Journal) -> Vec<(AccountCode, AccountKind)> {
    journal
        .accounts
        .iter()
        .map(|account| (account.code.clone(), account.kind))
        .collect()
}

/// The balances of entries, each account named by `name_of`.
fn entry_balances(entries: &[EntryDraft], name_of: impl Fn(&AccountCode) -> String) -> Balances {
    let mut balances = Balances::new();
    for entry in entries {
        for posting in &entry.postings {
            let signed = match posting.side {
                Side::Debit => i128::from(posting.amount),
                Side::Credit => -i128::from(posting.amount),
            };
            *balances
                .entry((
                    name_of(&posting.account),
                    posting.currency.code().to_owned(),
                ))
                .or_default() += signed;
        }
    }
    balances.retain(|_, balance| *balance != 0);
    balances
}

/// Balances as `ledger balance --flat` shows them: an account that has postings of its own
/// also carries its sub-accounts' amounts.
fn inclusive_balances(
    entries: &[EntryDraft],
    name_of: impl Fn(&AccountCode) -> String,
) -> Balances {
    let own = entry_balances(entries, &name_of);
    let posted: std::collections::BTreeSet<String> = entries
        .iter()
        .flat_map(|entry| {
            entry
                .postings
                .iter()
                .map(|posting| name_of(&posting.account))
        })
        .collect();
    let mut balances = Balances::new();
    for account in &posted {
        let prefix = format!("{account}:");
        for ((other, currency), balance) in &own {
            if other == account || other.starts_with(&prefix) {
                *balances
                    .entry((account.clone(), currency.clone()))
                    .or_default() += balance;
            }
        }
    }
    balances.retain(|_, balance| *balance != 0);
    balances
}

fn journal_balances(journal: &Journal) -> Balances {
    entry_balances(&entries(journal), |code| code.as_str().to_owned())
}

fn problems(journal: &Journal) -> String {
    journal
        .problems
        .iter()
        .map(|problem| format!("{}: {}\n", problem.line, problem.message))
        .collect()
}

/// Compares `actual` with the file `name` in tests/data, or rewrites it under `UPDATE_EXPECT`.
fn expect_file(name: &str, actual: &str) {
    let path = data(name);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, actual).expect("expected file is writable");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual,
        expected,
        "{} differs (UPDATE_EXPECT=1 rewrites it)",
        path.display()
    );
}

// ---------------------------------------------------------------------------------------
// The readers on hand-written samples.

#[test]
fn sample_journal_reads_without_problems() {
    let journal = read_ledger(&read_data("journal-sample.journal"));
    assert_eq!(problems(&journal), "");
    assert_eq!(journal.transactions.len(), 6);
    let codes: Vec<&str> = journal.accounts.iter().map(|a| a.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "Assets:Bank:Checking",
            "Assets:Bank:EUR",
            "Assets:Receivables:Stripe",
            "Liabilities:VAT",
            "Equity:Opening Balances",
            "Income:Sales",
            "Expenses:Fees:Payment",
            "Expenses:Shipping",
        ]
    );
    assert_eq!(journal.accounts[0].kind, AccountKind::Asset);
    assert_eq!(journal.accounts[3].kind, AccountKind::Liability);
    assert_eq!(journal.accounts[5].kind, AccountKind::Revenue);

    let order = &journal.transactions[1];
    assert_eq!(order.line, 33);
    assert_eq!(
        order.entry.description,
        "Alice Example | Order 1001, two mugs"
    );
    assert_eq!(order.entry.date, Date::from_ymd(2024, 1, 5).unwrap());
    let reference = |kind: &str, value: &str| Reference {
        kind: kind.to_owned(),
        value: value.to_owned(),
    };
    assert_eq!(
        order.entry.references,
        [
            reference("code", "ORD-1001"),
            reference("order", "1001"),
            reference("vat", "20%"),
            reference("elided", "takes -$50.00"),
        ]
    );
    // The elided amount takes the balance: a credit of $50.00 to sales.
    let sales = &order.entry.postings[2];
    assert_eq!(sales.account.as_str(), "Income:Sales");
    assert_eq!(
        (sales.side, sales.amount, sales.currency),
        (Side::Credit, 5000, Currency::USD)
    );

    let payout = &journal.transactions[2];
    assert_eq!(
        payout.entry.references,
        [reference("tag", "payout"), reference("tag", "stripe")]
    );
    // The zero posting to shipping is dropped; the rest balances in EUR.
    let bestellung = &journal.transactions[3];
    assert_eq!(
        bestellung.entry.description,
        "Bob Beispiel | Bestellung 1002"
    );
    assert_eq!(bestellung.entry.postings.len(), 3);
    assert_eq!(
        bestellung.entry.references,
        [reference("channel", "web shop")]
    );
    for transaction in &journal.transactions {
        assert!(transaction.entry.id.as_str().starts_with(ENTRY_ID_PREFIX));
        transaction
            .entry
            .clone()
            .check()
            .expect("every entry read is balanced");
    }
}

#[test]
fn sample_beancount_reads_without_problems() {
    let journal = read_beancount(&read_data("journal-sample.beancount"));
    assert_eq!(problems(&journal), "");
    assert_eq!(journal.transactions.len(), 6);
    assert_eq!(journal.accounts.len(), 8);
    // option x2, plugin, balance, price, note, event, close.
    assert_eq!(journal.ignored_directives, 8);
    assert!(journal.ignored_by_keyword.contains(&("option", 2)));
    assert!(journal.ignored_by_keyword.contains(&("close", 1)));
    let order = &journal.transactions[1].entry;
    assert_eq!(order.description, "Alice Example | Order 1001, two mugs");
    let kinds: Vec<(&str, &str)> = order
        .references
        .iter()
        .map(|r| (r.kind.as_str(), r.value.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("tag", "mugs"),
            ("link", "order-1001"),
            ("tag", "webshop"),
            ("order", "1001"),
            ("channel", "web"),
            ("vat-rate", "19%"),
        ]
    );
    // Both samples tell the same story, up to the spelling of one account.
    let ledger = journal_balances(&read_ledger(&read_data("journal-sample.journal")));
    let renamed: Balances = journal_balances(&journal)
        .into_iter()
        .map(|((account, currency), balance)| {
            (
                (
                    account.replace("Opening-Balances", "Opening Balances"),
                    currency,
                ),
                balance,
            )
        })
        .collect();
    assert_eq!(renamed, ledger);
}

#[test]
fn error_samples_give_the_expected_problems() {
    let journal = read_ledger(&read_data("journal-errors.journal"));
    expect_file("journal-errors.expected", &problems(&journal));
    assert_eq!(journal.transactions.len(), 1);
    assert_eq!(
        journal.transactions[0].entry.description,
        "Good after all the bad ones"
    );

    let journal = read_beancount(&read_data("journal-errors.beancount"));
    expect_file("journal-errors.beancount.expected", &problems(&journal));
    assert_eq!(journal.transactions.len(), 1);
    assert_eq!(journal.transactions[0].entry.description, "Good");
}

#[test]
fn decimal_comma_commodities_follow_their_directive() {
    let journal = read_ledger(&read_data("journal-decimal-comma.journal"));
    assert_eq!(problems(&journal), "");
    let balances = journal_balances(&journal);
    assert_eq!(
        balances[&("Assets:Bank".to_owned(), "EUR".to_owned())],
        123_456
    );
    assert_eq!(
        balances[&("Assets:Bank".to_owned(), "USD".to_owned())],
        100_000
    );
}

#[test]
fn read_journal_chooses_by_extension() {
    for path in ["books.beancount", "dir/Books.BEAN", "C:\\x\\y.bean"] {
        assert!(is_beancount_path(path), "{path}");
    }
    for path in [
        "books.journal",
        "books.ledger",
        "bean",
        ".bean",
        "books.beancount.txt",
    ] {
        assert!(!is_beancount_path(path), "{path}");
    }
    let beancount = read_data("journal-sample.beancount");
    assert_eq!(problems(&read_journal("shop.beancount", &beancount)), "");
    assert!(!read_journal("shop.journal", &beancount).problems.is_empty());
}

#[test]
fn ids_are_stable_across_reimports_and_edits_elsewhere() {
    let text = read_data("journal-sample.journal");
    let ids = |journal: &Journal| -> Vec<EntryId> {
        journal
            .transactions
            .iter()
            .map(|t| t.entry.id.clone())
            .collect()
    };
    let first = ids(&read_ledger(&text));
    assert_eq!(first, ids(&read_ledger(&text)));
    // Moving every line down and adding a transaction in front changes no earlier id.
    let shifted = format!(
        "; a new first line\n\n2023-12-31 * Earlier\n    Assets:Bank:Checking  $1\n    Income:Sales\n\n{text}"
    );
    let later = ids(&read_ledger(&shifted));
    assert_eq!(later[1..], first[..]);
    // Two identical transactions get two ids.
    let twice = "2024-01-01 * Coffee\n    Expenses:Food  $3\n    Assets:Cash\n\n\
                 2024-01-01 * Coffee\n    Expenses:Food  $3\n    Assets:Cash\n";
    let both = ids(&read_ledger(twice));
    assert_eq!(both.len(), 2);
    assert_ne!(both[0], both[1]);
    assert!(both
        .iter()
        .all(|id| id.as_str().len() <= tally_ledger::ENTRY_ID_LEN_MAX));
}

#[test]
fn long_texts_are_cut_on_character_boundaries() {
    let description = "é".repeat(400);
    let tag = "x".repeat(300);
    let text = format!(
        "2024-01-01 * {description}  ; {tag}:{tag}\n    Assets:Cash  $1\n    Income:Sales\n"
    );
    let journal = read_ledger(&text);
    assert_eq!(problems(&journal), "");
    let entry = &journal.transactions[0].entry;
    assert_eq!(entry.description.len(), tally_ledger::DESCRIPTION_LEN_MAX);
    assert_eq!(
        entry.references[0].kind.len(),
        tally_ledger::REFERENCE_KIND_LEN_MAX
    );
    assert_eq!(
        entry.references[0].value.len(),
        tally_ledger::REFERENCE_VALUE_LEN_MAX
    );
}

#[test]
fn bounds_are_enforced_with_messages() {
    let long_line = format!("2024-01-01 * {}\n", "x".repeat(5000));
    let journal = read_ledger(&long_line);
    assert_eq!(
        problems(&journal),
        "1: line is 5013 bytes long (at most 4096)\n"
    );
    let big = " ".repeat(JOURNAL_BYTES_MAX + 1);
    let journal = read_beancount(&big);
    assert_eq!(
        problems(&journal),
        format!(
            "0: journal is {} bytes long (at most {JOURNAL_BYTES_MAX})\n",
            big.len()
        )
    );
    let many: String = (0..tally_formats::journal::PROBLEMS_MAX + 5)
        .map(|_| "junk\n")
        .collect();
    let journal = read_ledger(&many);
    assert_eq!(
        journal.problems.len(),
        tally_formats::journal::PROBLEMS_MAX + 1
    );
    assert_eq!(
        journal.problems.last().map(|p| p.message.as_str()),
        Some(
            JournalError::TooManyProblems {
                omitted: 5,
                max: tally_formats::journal::PROBLEMS_MAX
            }
            .to_string()
            .as_str()
        )
    );
}

// ---------------------------------------------------------------------------------------
// The writers.

/// Books with codes that are not journal account names, several currencies and references.
fn awkward_books() -> (Vec<(AccountCode, AccountKind)>, Vec<EntryDraft>) {
    let code = |text: &str| AccountCode::new(text).unwrap();
    let accounts = vec![
        (code("1000"), AccountKind::Asset),
        (code("Assets:Bank"), AccountKind::Asset),
        (code("cash-box"), AccountKind::Asset),
        (code("Umsatz 19%"), AccountKind::Revenue),
        (code("Revenue:Sales"), AccountKind::Revenue),
        (code("Liabilities:VAT"), AccountKind::Liability),
        (code("Expenses:Online ads:EU"), AccountKind::Expense),
        (code("Kasse:Bürо"), AccountKind::Asset),
    ];
    let posting = |account: &str, side: Side, amount: u64, currency: Currency| Posting {
        account: code(account),
        side,
        amount,
        currency,
    };
    let mut first = read_ledger("2024-01-01 * x\n  Assets:A  $1\n  Assets:B\n").transactions[0]
        .entry
        .clone();
    first.id = EntryId::new("order:2024/0001").unwrap();
    first.date = Date::from_ymd(2024, 3, 1).unwrap();
    first.description = "Sale; \"quoted\" | with \\ backslash".to_owned();
    first.references = vec![
        Reference {
            kind: "order".to_owned(),
            value: "2024/0001".to_owned(),
        },
        Reference {
            kind: "Invoice No".to_owned(),
            value: "A, B".to_owned(),
        },
    ];
    first.postings = vec![
        posting("1000", Side::Debit, 11_900, Currency::EUR),
        posting("Umsatz 19%", Side::Credit, 10_000, Currency::EUR),
        posting("Liabilities:VAT", Side::Credit, 1_900, Currency::EUR),
        posting("cash-box", Side::Debit, 1_500, Currency::JPY),
        posting("Revenue:Sales", Side::Credit, 1_500, Currency::JPY),
    ];
    let mut second = first.clone();
    second.id = EntryId::new("order:2024/0002").unwrap();
    second.date = Date::from_ymd(2024, 2, 28).unwrap();
    second.description = String::new();
    second.references = Vec::new();
    second.postings = vec![
        posting("Expenses:Online ads:EU", Side::Debit, 2_500, Currency::USD),
        posting("Assets:Bank", Side::Credit, 2_500, Currency::USD),
        posting("Kasse:Bürо", Side::Debit, 1_234, Currency::KWD),
        posting("Assets:Bank", Side::Credit, 1_234, Currency::KWD),
    ];
    (accounts, vec![first, second])
}

fn names_by(
    accounts: &[(AccountCode, AccountKind)],
    name_of: fn(&AccountCode, AccountKind) -> String,
) -> impl Fn(&AccountCode) -> String + '_ {
    move |code| {
        let kind = accounts
            .iter()
            .find(|(known, _)| known == code)
            .map(|(_, kind)| *kind);
        name_of(code, kind.expect("account in chart"))
    }
}

#[test]
fn account_names_map_by_kind() {
    let code = |text: &str| AccountCode::new(text).unwrap();
    assert_eq!(
        hledger_account_name(&code("1000"), AccountKind::Asset),
        "Assets:1000"
    );
    assert_eq!(
        hledger_account_name(&code("Assets:Bank"), AccountKind::Asset),
        "Assets:Bank"
    );
    assert_eq!(
        hledger_account_name(&code("Revenue:Sales"), AccountKind::Revenue),
        "Revenue:Sales"
    );
    assert_eq!(
        hledger_account_name(&code("Sales"), AccountKind::Revenue),
        "Income:Sales"
    );
    assert_eq!(
        beancount_account_name(&code("1000"), AccountKind::Asset),
        "Assets:1000"
    );
    assert_eq!(
        beancount_account_name(&code("Assets:Bank"), AccountKind::Asset),
        "Assets:Bank"
    );
    assert_eq!(
        beancount_account_name(&code("Assets"), AccountKind::Asset),
        "Assets:Assets"
    );
    assert_eq!(
        beancount_account_name(&code("Revenue:Sales"), AccountKind::Revenue),
        "Income:Revenue:Sales"
    );
    assert_eq!(
        beancount_account_name(&code("Expenses:Online ads"), AccountKind::Expense),
        "Expenses:Online-20ads"
    );
    assert_eq!(
        beancount_account_name(&code("cash-box"), AccountKind::Asset),
        "Assets:X-cash-2Dbox"
    );
    assert_eq!(
        beancount_account_name(&code("Kasse:ä"), AccountKind::Asset),
        "Assets:Kasse:X--C3-A4"
    );
}

#[test]
fn colliding_names_are_refused() {
    let code = |text: &str| AccountCode::new(text).unwrap();
    let accounts = [
        (code("Bank"), AccountKind::Asset),
        (code("Assets:Bank"), AccountKind::Asset),
    ];
    let error = write_hledger(&mut Vec::new(), &accounts, &[]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "accounts 'Bank' and 'Assets:Bank' would both be written as 'Assets:Bank'"
    );
    let (_, entries) = awkward_books();
    let error = write_beancount(&mut Vec::new(), &[], &entries).unwrap_err();
    assert!(
        matches!(error, ExportError::UnknownAccount { .. }),
        "{error}"
    );
}

#[test]
fn writers_round_trip_awkward_books() {
    let (accounts, entries) = awkward_books();
    let mut hledger = Vec::new();
    write_hledger(&mut hledger, &accounts, &entries).unwrap();
    let journal = read_ledger(&String::from_utf8(hledger).unwrap());
    assert_eq!(problems(&journal), "");
    assert_eq!(
        journal_balances(&journal),
        entry_balances(&entries, names_by(&accounts, hledger_account_name))
    );
    assert_eq!(
        journal.transactions[0].entry.description,
        "Sale, \"quoted\" | with \\ backslash"
    );

    let mut beancount = Vec::new();
    write_beancount(&mut beancount, &accounts, &entries).unwrap();
    let journal = read_beancount(&String::from_utf8(beancount).unwrap());
    assert_eq!(problems(&journal), "");
    assert_eq!(
        journal_balances(&journal),
        entry_balances(&entries, names_by(&accounts, beancount_account_name))
    );
    assert_eq!(
        journal.transactions[0].entry.description,
        "Sale; \"quoted\" | with \\ backslash"
    );
}

#[test]
fn csv_has_one_row_per_posting() {
    let (_, entries) = awkward_books();
    let mut out = Vec::new();
    write_csv(&mut out, &entries).unwrap();
    let mut reader = csv::Reader::from_reader(out.as_slice());
    assert_eq!(
        reader.headers().unwrap(),
        &csv::StringRecord::from(CSV_HEADER.to_vec())
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 9);
    assert_eq!(
        rows[0].iter().collect::<Vec<_>>(),
        [
            "2024-03-01",
            "order:2024/0001",
            "Sale; \"quoted\" | with \\ backslash",
            "1000",
            "119.00",
            "",
            "EUR"
        ]
    );
    assert_eq!(rows[1].get(5), Some("100.00"));
    assert_eq!(rows[3].get(4), Some("1500"));
    assert_eq!(rows[7].get(4), Some("1.234"));
}

// ---------------------------------------------------------------------------------------
// The real tools.

/// Whether `program --version` runs; if not, says the test is skipped.
fn installed(program: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        println!("skipped: {program} not installed");
    }
    found
}

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{program} did not run: {error}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("tool output is UTF-8")
}

/// A file in the temporary directory, named after the test and this process.
fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("tally-journal-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).expect("temporary file is writable");
    path
}

/// The currency a tool's commodity stands for.
fn tool_currency(commodity: &str) -> Currency {
    let code = match commodity {
        "$" => "USD",
        "€" => "EUR",
        "£" => "GBP",
        "¥" => "JPY",
        other => other,
    };
    Currency::from_code(code).unwrap_or_else(|_| panic!("unexpected commodity {commodity:?}"))
}

/// A tool's decimal number (sign, grouping commas, any number of decimals) in minor units.
fn tool_minor(number: &str, currency: Currency) -> i128 {
    let number = number.trim();
    let (negative, digits) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number),
    };
    let digits = digits.replace(',', "");
    let (whole, fraction) = digits.split_once('.').unwrap_or((&digits, ""));
    let exponent = usize::from(currency.exponent());
    let (kept, dropped) = fraction.split_at(fraction.len().min(exponent));
    assert!(
        dropped.bytes().all(|b| b == b'0'),
        "{number} has more decimals than {currency}"
    );
    let text = format!("{whole}{kept:0<exponent$}");
    let magnitude: i128 = text
        .parse()
        .unwrap_or_else(|_| panic!("bad number {number:?}"));
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// An amount as ledger prints it: `$-10,000.00`, `-5,000.00 EUR`, `EUR -1,000.50`, `€119`.
fn tool_amount(text: &str) -> (Currency, i128) {
    let compact: String = text.chars().filter(|ch| !ch.is_whitespace()).collect();
    let commodity: String = compact
        .chars()
        .filter(|ch| !(ch.is_ascii_digit() || matches!(ch, '.' | ',' | '-')))
        .collect();
    let number: String = compact
        .chars()
        .filter(|ch| ch.is_ascii_digit() || matches!(ch, '.' | ','))
        .collect();
    let currency = tool_currency(&commodity);
    let magnitude = tool_minor(&number, currency);
    (
        currency,
        if compact.contains('-') {
            -magnitude
        } else {
            magnitude
        },
    )
}

fn add(balances: &mut Balances, account: &str, currency: Currency, minor: i128) {
    *balances
        .entry((account.to_owned(), currency.code().to_owned()))
        .or_default() += minor;
}

fn hledger_balances(path: &Path) -> Balances {
    let file = path.to_str().expect("UTF-8 path");
    let csv_text = run(
        "hledger",
        &[
            "-f",
            file,
            "balance",
            "--flat",
            "--no-total",
            "-O",
            "csv",
            "--layout=bare",
        ],
    );
    let mut balances = Balances::new();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    for record in reader.records() {
        let record = record.expect("hledger writes valid CSV");
        let (account, commodity, number) = (&record[0], &record[1], &record[2]);
        let currency = tool_currency(commodity);
        // hledger's CSV has no grouping marks; a comma is a decimal comma it was told of.
        let number = if number.contains('.') {
            number.to_owned()
        } else {
            number.replace(',', ".")
        };
        add(
            &mut balances,
            account,
            currency,
            tool_minor(&number, currency),
        );
    }
    balances.retain(|_, balance| *balance != 0);
    balances
}

fn ledger_balances(path: &Path) -> Balances {
    let file = path.to_str().expect("UTF-8 path");
    let text = run("ledger", &["-f", file, "balance", "--flat", "--no-total"]);
    let mut balances = Balances::new();
    let mut pending: Vec<(Currency, i128)> = Vec::new();
    // An account with several commodities prints one line per commodity; the name stands on
    // the last of them.
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        match line.split_once("  ") {
            Some((amount, account)) => {
                pending.push(tool_amount(amount));
                for (currency, minor) in pending.drain(..) {
                    add(&mut balances, account.trim(), currency, minor);
                }
            }
            None => pending.push(tool_amount(line)),
        }
    }
    assert!(
        pending.is_empty(),
        "ledger output ended without an account: {text}"
    );
    balances.retain(|_, balance| *balance != 0);
    balances
}

fn beancount_balances(path: &Path) -> Balances {
    let file = path.to_str().expect("UTF-8 path");
    run("bean-check", &[file]);
    let csv_text = run(
        "bean-query",
        &[
            "-f",
            "csv",
            file,
            "SELECT account, currency, sum(number) AS total GROUP BY account, currency",
        ],
    );
    let mut balances = Balances::new();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    for record in reader.records() {
        let record = record.expect("bean-query writes valid CSV");
        let currency = tool_currency(record[1].trim());
        add(
            &mut balances,
            record[0].trim(),
            currency,
            tool_minor(&record[2], currency),
        );
    }
    balances.retain(|_, balance| *balance != 0);
    balances
}

#[test]
fn sample_journal_matches_hledger() {
    if !installed("hledger") {
        return;
    }
    let path = data("journal-sample.journal");
    let tally = journal_balances(&read_ledger(&read_data("journal-sample.journal")));
    assert_eq!(tally, hledger_balances(&path));
    let path = data("journal-decimal-comma.journal");
    let tally = journal_balances(&read_ledger(&read_data("journal-decimal-comma.journal")));
    assert_eq!(tally, hledger_balances(&path));
}

#[test]
fn sample_journal_matches_ledger() {
    if !installed("ledger") {
        return;
    }
    let path = data("journal-sample.journal");
    let journal = read_ledger(&read_data("journal-sample.journal"));
    let tally = inclusive_balances(&entries(&journal), |code| code.as_str().to_owned());
    assert_eq!(tally, ledger_balances(&path));
}

#[test]
fn sample_beancount_matches_beancount() {
    if !installed("bean-check") || !installed("bean-query") {
        return;
    }
    let path = data("journal-sample.beancount");
    let tally = journal_balances(&read_beancount(&read_data("journal-sample.beancount")));
    assert_eq!(tally, beancount_balances(&path));
}

#[test]
fn exported_books_match_the_tools() {
    let (mut accounts, mut books) = awkward_books();
    let sample = read_ledger(&read_data("journal-sample.journal"));
    accounts.extend(chart(&sample));
    books.extend(entries(&sample));
    let mut hledger_text = Vec::new();
    write_hledger(&mut hledger_text, &accounts, &books).unwrap();
    let hledger_file = temp_file("export.journal", &hledger_text);
    let mut beancount_text = Vec::new();
    write_beancount(&mut beancount_text, &accounts, &books).unwrap();
    let beancount_file = temp_file("export.beancount", &beancount_text);
    let hledger_expected = entry_balances(&books, names_by(&accounts, hledger_account_name));
    let beancount_expected = entry_balances(&books, names_by(&accounts, beancount_account_name));

    if installed("hledger") {
        assert_eq!(hledger_balances(&hledger_file), hledger_expected);
    }
    if installed("ledger") {
        let expected = inclusive_balances(&books, names_by(&accounts, hledger_account_name));
        assert_eq!(ledger_balances(&hledger_file), expected);
    }
    if installed("bean-check") && installed("bean-query") {
        assert_eq!(beancount_balances(&beancount_file), beancount_expected);
    }
    let _ = std::fs::remove_file(hledger_file);
    let _ = std::fs::remove_file(beancount_file);
}

#[test]
fn generated_journal_reads_cleanly_and_matches_the_tools() {
    let mut text = Vec::new();
    generate_ledger_journal(3_000, 7, &mut text).unwrap();
    let mut again = Vec::new();
    generate_ledger_journal(3_000, 7, &mut again).unwrap();
    assert_eq!(text, again, "one seed, one journal");
    let journal = read_ledger(std::str::from_utf8(&text).unwrap());
    assert_eq!(problems(&journal), "");
    assert_eq!(journal.transactions.len(), 3_001);
    assert_eq!(journal.accounts.len(), 32);
    let tally = journal_balances(&journal);
    let file = temp_file("generated.journal", &text);
    if installed("hledger") {
        assert_eq!(hledger_balances(&file), tally);
    }
    if installed("ledger") {
        let expected = inclusive_balances(&entries(&journal), |code| code.as_str().to_owned());
        assert_eq!(ledger_balances(&file), expected);
    }
    let _ = std::fs::remove_file(file);
}

/// The import benchmark's size: `cargo test --release -p tally-formats --test journal --
/// --ignored --nocapture` prints how long generating and reading a million transactions take.
#[test]
#[ignore = "a million transactions: run on demand, in release"]
fn reads_a_million_transactions() {
    let started = std::time::Instant::now();
    let mut text = Vec::with_capacity(300 << 20);
    generate_ledger_journal(1_000_000, 1, &mut text).unwrap();
    let generated = started.elapsed();
    let text = String::from_utf8(text).unwrap();
    let started = std::time::Instant::now();
    let journal = read_ledger(&text);
    let read = started.elapsed();
    assert_eq!(journal.problems.len(), 0);
    assert_eq!(journal.transactions.len(), 1_000_001);
    println!(
        "generated {} bytes in {generated:?}, read {} transactions in {read:?}",
        text.len(),
        journal.transactions.len()
    );
}

// ---------------------------------------------------------------------------------------
// Properties.

const POOL: [(&str, AccountKind); 9] = [
    ("1000", AccountKind::Asset),
    ("Assets:Bank", AccountKind::Asset),
    ("cash-box", AccountKind::Asset),
    ("Umsatz 19%", AccountKind::Revenue),
    ("Revenue:Sales", AccountKind::Revenue),
    ("Liabilities:VAT", AccountKind::Liability),
    ("Equity:Capital", AccountKind::Equity),
    ("Expenses:Online ads:EU", AccountKind::Expense),
    ("Kasse:Bürо (alt)", AccountKind::Asset),
];

const CURRENCIES: [Currency; 5] = [
    Currency::USD,
    Currency::EUR,
    Currency::JPY,
    Currency::KWD,
    Currency::GBP,
];

fn pool() -> Vec<(AccountCode, AccountKind)> {
    POOL.iter()
        .map(|(code, kind)| (AccountCode::new(code).unwrap(), *kind))
        .collect()
}

/// Balanced entries: each is pairs of equal debits and credits.
fn books_strategy() -> impl Strategy<Value = Vec<EntryDraft>> {
    let pair = (
        0..POOL.len(),
        0..POOL.len(),
        1u64..=1_000_000_000_000,
        0..CURRENCIES.len(),
    );
    let reference = ("[a-zA-Z][a-zA-Z _-]{0,12}", "[ -~]{1,24}");
    let entry = (
        prop::collection::vec(pair, 1..5),
        "[ -~]{0,40}",
        prop::collection::vec(reference, 0..3),
        0u32..3_000,
    );
    prop::collection::vec(entry, 1..6).prop_map(|entries| {
        entries
            .into_iter()
            .enumerate()
            .map(|(index, (pairs, description, references, day))| {
                let mut postings = Vec::new();
                for (debit, credit, amount, currency) in pairs {
                    let currency = CURRENCIES[currency];
                    for (account, side) in [(debit, Side::Debit), (credit, Side::Credit)] {
                        postings.push(Posting {
                            account: AccountCode::new(POOL[account].0).unwrap(),
                            side,
                            amount,
                            currency,
                        });
                    }
                }
                let mut entry = read_ledger("2024-01-01 * x\n  Assets:A  $1\n  Assets:B\n")
                    .transactions[0]
                    .entry
                    .clone();
                entry.id = EntryId::new(&format!("entry-{index}")).unwrap();
                entry.date = Date::from_ymd(2020 + day / 365, 1 + day % 12, 1 + day % 28).unwrap();
                entry.description = description;
                entry.references = references
                    .into_iter()
                    .map(|(kind, value)| Reference { kind, value })
                    .collect();
                entry.postings = postings;
                entry
            })
            .collect()
    })
}

/// Lines made of journal fragments, so that arbitrary input reaches past the first check.
fn journal_like_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("2024-01-01 * Sale".to_owned()),
        Just("2024-01-01 txn \"a\" \"b\" #t ^l".to_owned()),
        Just("2024/1/2 ! (X) p | n ; k:v, :a:b:".to_owned()),
        Just("    Assets:Bank  $1.50".to_owned()),
        Just("  Income:Sales  -1.50 USD".to_owned()),
        Just("  Income:Sales".to_owned()),
        Just("  key: \"value".to_owned()),
        Just("account Assets:X".to_owned()),
        Just("2024-01-01 open Assets:X".to_owned()),
        Just("commodity 1.000,00 EUR".to_owned()),
        Just("comment".to_owned()),
        Just("end comment".to_owned()),
        Just("pushtag #x".to_owned()),
        Just(String::new()),
        "[ -~\t€$£¥]{0,30}",
        "\\PC{0,20}",
    ];
    prop::collection::vec(fragment, 0..30).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hledger_round_trip_keeps_balances(books in books_strategy()) {
        let accounts = pool();
        let mut out = Vec::new();
        write_hledger(&mut out, &accounts, &books).unwrap();
        let journal = read_ledger(&String::from_utf8(out).unwrap());
        prop_assert_eq!(problems(&journal), "");
        prop_assert_eq!(journal.transactions.len(), books.len());
        prop_assert_eq!(
            journal_balances(&journal),
            entry_balances(&books, names_by(&accounts, hledger_account_name))
        );
    }

    #[test]
    fn beancount_round_trip_keeps_balances(books in books_strategy()) {
        let accounts = pool();
        let mut out = Vec::new();
        write_beancount(&mut out, &accounts, &books).unwrap();
        let journal = read_beancount(&String::from_utf8(out).unwrap());
        prop_assert_eq!(problems(&journal), "");
        prop_assert_eq!(journal.transactions.len(), books.len());
        prop_assert_eq!(
            journal_balances(&journal),
            entry_balances(&books, names_by(&accounts, beancount_account_name))
        );
        for (read, written) in journal.transactions.iter().zip(&books) {
            prop_assert_eq!(&read.entry.description, &written.description);
        }
    }

    #[test]
    fn no_text_makes_a_reader_panic(text in prop_oneof![any::<String>(), journal_like_text()]) {
        for journal in [read_ledger(&text), read_beancount(&text)] {
            for transaction in journal.transactions {
                prop_assert!(transaction.entry.check().is_ok());
            }
            for problem in journal.problems {
                prop_assert!(!problem.message.is_empty());
            }
        }
    }
}
