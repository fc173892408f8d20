//! End to end: each sample journal imported into its own 4-validator devnet with `tally import
//! journal` (the samples tell one story, so their content-hash ids overlap and one devnet
//! would book the shared transactions once), the node's trial balance compared with what
//! hledger, ledger and beancount compute for the same file, a second import booking nothing
//! twice, `GET /v1/entries` paging and filters,
//! `GET /v1/accounts`, and `tally export hledger|beancount|csv` read back by the tools with
//! identical balances. A bad journal's problems are printed as `FILE:LINE: message`, and
//! `--strict` refuses it whole (exit code 2) without submitting anything.
//!
//! A missing tool prints "skipped: <tool> not installed" and its comparison is left out;
//! `crates/formats/tests/install-tools.sh` installs them (CI runs it).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use tally_formats::journal::{
    beancount_account_name, hledger_account_name, read_journal, CSV_HEADER,
};
use tally_ledger::{AccountCode, AccountKind, Currency};
use tally_node::wire::{AccountJson, EntriesPageJson, TrialBalanceJson};

/// Balances by (account name, currency code), in signed minor units (debits positive), zero
/// balances left out, as the tools leave them out.
type Balances = BTreeMap<(String, String), i128>;

const IMPORT_TIMEOUT: Duration = Duration::from_secs(120);

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../formats/tests/data")
        .join(name)
}

/// How many transactions Tally's reader finds in a sample.
fn transactions_in(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).expect("sample is readable");
    read_journal(&path.to_string_lossy(), &text)
        .transactions
        .len()
}

fn import(devnet: &Devnet, file: &Path, extra: &[&str]) -> std::process::Output {
    run(
        tally()
            .args(["import", "journal"])
            .arg(file)
            .arg("--node")
            .arg(devnet.api(0))
            .arg("--key")
            .arg(devnet.key("client"))
            .args(extra),
        IMPORT_TIMEOUT,
    )
}

fn export(devnet: &Devnet, format: &str, out: &Path) {
    let output = run(
        tally()
            .args(["export", format, "--node"])
            .arg(devnet.api(1))
            .arg("--key")
            .arg(devnet.key("client"))
            .arg("--out")
            .arg(out),
        IMPORT_TIMEOUT,
    );
    assert!(
        output.status.success(),
        "export {format}: {}",
        describe(&output)
    );
}

// ---------------------------------------------------------------------------------------
// Amounts and balances.

/// The currency a tool's commodity stands for.
fn tool_currency(commodity: &str) -> Currency {
    let code = match commodity.trim() {
        "$" => "USD",
        "€" => "EUR",
        "£" => "GBP",
        "¥" => "JPY",
        other => other,
    };
    Currency::from_code(code).unwrap_or_else(|_| panic!("unexpected commodity {commodity:?}"))
}

/// A decimal number (sign, grouping commas, any number of decimals) in minor units.
fn minor(number: &str, currency: Currency) -> i128 {
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
    let magnitude: i128 = format!("{whole}{kept:0<exponent$}")
        .parse()
        .unwrap_or_else(|_| panic!("bad number {number:?}"));
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

fn add(balances: &mut Balances, account: &str, currency: Currency, amount: i128) {
    *balances
        .entry((account.to_owned(), currency.code().to_owned()))
        .or_default() += amount;
}

fn nonzero(mut balances: Balances) -> Balances {
    balances.retain(|_, balance| *balance != 0);
    balances
}

/// The node's trial balance as balances, each account named by `name_of`.
fn node_balances(lines: &[TrialBalanceJson], name_of: impl Fn(&str) -> String) -> Balances {
    let mut balances = Balances::new();
    for line in lines {
        let currency = tool_currency(&line.currency);
        let signed = minor(&line.debit, currency) - minor(&line.credit, currency);
        add(&mut balances, &name_of(&line.account), currency, signed);
    }
    nonzero(balances)
}

fn trial_balance(devnet: &Devnet) -> Vec<TrialBalanceJson> {
    devnet.trial_balance_http(0)
}

// ---------------------------------------------------------------------------------------
// The real tools.

/// Whether `program --version` runs; if not, says the comparison is skipped.
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

fn tool(program: &str, args: &[&str]) -> String {
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

fn hledger_balances(path: &Path) -> Balances {
    let file = path.to_str().expect("UTF-8 path");
    let text = tool(
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
    for record in csv::Reader::from_reader(text.as_bytes()).records() {
        let record = record.expect("hledger writes valid CSV");
        let currency = tool_currency(&record[1]);
        // hledger's CSV has no grouping marks; a comma is a decimal comma.
        let number = if record[2].contains('.') {
            record[2].to_owned()
        } else {
            record[2].replace(',', ".")
        };
        add(
            &mut balances,
            &record[0],
            currency,
            minor(&number, currency),
        );
    }
    nonzero(balances)
}

/// Every posting as ledger's `csv` command prints it, summed per account: each account's own
/// balance (ledger's `balance` report adds sub-accounts into parents).
fn ledger_balances(path: &Path) -> Balances {
    let file = path.to_str().expect("UTF-8 path");
    let text = tool("ledger", &["-f", file, "csv"]);
    let mut balances = Balances::new();
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    for record in reader.into_records() {
        let record = record.expect("ledger writes valid CSV");
        let currency = tool_currency(&record[4]);
        add(
            &mut balances,
            &record[3],
            currency,
            minor(&record[5], currency),
        );
    }
    nonzero(balances)
}

fn beancount_balances(path: &Path) -> Balances {
    let file = path.to_str().expect("UTF-8 path");
    tool("bean-check", &[file]);
    let text = tool(
        "bean-query",
        &[
            "-f",
            "csv",
            file,
            "SELECT account, currency, sum(number) AS total GROUP BY account, currency",
        ],
    );
    let mut balances = Balances::new();
    for record in csv::Reader::from_reader(text.as_bytes()).records() {
        let record = record.expect("bean-query writes valid CSV");
        let currency = tool_currency(&record[1]);
        add(
            &mut balances,
            record[0].trim(),
            currency,
            minor(&record[2], currency),
        );
    }
    nonzero(balances)
}

// ---------------------------------------------------------------------------------------
// The listing API.

fn get_page(devnet: &Devnet, query: &str) -> EntriesPageJson {
    let reply = devnet
        .http
        .get(&devnet.url(2, &format!("/v1/entries{query}")))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(reply.status, 200, "GET /v1/entries{query}: {}", reply.body);
    reply.json()
}

/// Every entry matching `filter` (`&name=value...`), paged `limit` at a time.
fn list_all(
    devnet: &Devnet,
    filter: &str,
    limit: usize,
) -> Vec<tally_node::wire::CommittedEntryJson> {
    let mut all = Vec::new();
    let mut after: Option<u64> = None;
    for _ in 0..1_000 {
        let cursor = after
            .map(|after| format!("&after={after}"))
            .unwrap_or_default();
        let page = get_page(devnet, &format!("?limit={limit}{cursor}{filter}"));
        assert!(
            page.entries.len() <= limit,
            "a page holds at most its limit"
        );
        all.extend(page.entries);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
    panic!("the listing did not end within 1000 pages");
}

fn check_listing(devnet: &Devnet, total: u64) {
    let all = list_all(devnet, "", 3);
    assert_eq!(all.len() as u64, total, "every entry is listed once");
    let positions: Vec<(u64, u64)> = all
        .iter()
        .map(|entry| (entry.height, entry.log_index))
        .collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted, "entries come in commit order");
    assert!(
        all.windows(2)
            .all(|pair| pair[0].log_index < pair[1].log_index),
        "log indexes increase"
    );
    // Without a limit, one default page holds these few entries and says it is the last.
    let page = get_page(devnet, "");
    assert_eq!(page.entries.len() as u64, total);
    assert_eq!(page.next, None);

    let account = "Assets:Bank:Checking";
    let by_account = list_all(devnet, &format!("&account={account}"), 2);
    let expected: Vec<&str> = all
        .iter()
        .filter(|entry| {
            entry
                .entry
                .postings
                .iter()
                .any(|posting| posting.account == account)
        })
        .map(|entry| entry.entry.id.as_str())
        .collect();
    assert!(!expected.is_empty());
    let got: Vec<&str> = by_account
        .iter()
        .map(|entry| entry.entry.id.as_str())
        .collect();
    assert_eq!(got, expected, "filter by account");

    let by_dates = list_all(devnet, "&from=2024-01-05&to=2024-01-07", 50);
    let expected: Vec<&str> = all
        .iter()
        .filter(|entry| ("2024-01-05".."2024-01-08").contains(&entry.entry.date.as_str()))
        .map(|entry| entry.entry.id.as_str())
        .collect();
    assert!(!expected.is_empty());
    let got: Vec<&str> = by_dates
        .iter()
        .map(|entry| entry.entry.id.as_str())
        .collect();
    assert_eq!(got, expected, "filter by dates");

    let tagged = all
        .iter()
        .find(|entry| !entry.entry.references.is_empty())
        .expect("a sample entry has a reference");
    let reference = &tagged.entry.references[0];
    let by_reference = list_all(
        devnet,
        &format!("&reference={}:{}", reference.kind, reference.value),
        50,
    );
    assert!(by_reference
        .iter()
        .any(|entry| entry.entry.id == tagged.entry.id));
    assert!(by_reference.iter().all(|entry| entry
        .entry
        .references
        .iter()
        .any(|other| other.kind == reference.kind && other.value == reference.value)));

    let bad = [
        ("?limit=0", "limit: '0' is not a number between 1 and 5000"),
        (
            "?limit=5001",
            "limit: '5001' is not a number between 1 and 5000",
        ),
        (
            "?limit=many",
            "limit: 'many' is not a number between 1 and 5000",
        ),
        (
            "?after=x",
            "after: 'x' is not a cursor (the number a previous page gave as next)",
        ),
        ("?from=2024-02-30", "from: "),
        ("?to=yesterday", "to: "),
        (
            "?from=2024-02-01&to=2024-01-01",
            "from 2024-02-01 is after to 2024-01-01",
        ),
        (
            "?reference=order",
            "reference: 'order' is not KIND:VALUE (e.g. order:1001)",
        ),
        ("?account=%20x", "account: "),
        (
            "?colour=red",
            "the parameters are account, from, to, reference, after and limit",
        ),
    ];
    for (query, message) in bad {
        let reply = devnet
            .http
            .get(&devnet.url(0, &format!("/v1/entries{query}")))
            .unwrap_or_else(|error| panic!("{error}"));
        reply.expect_error(query, 400, "malformed_request", message);
    }
}

fn accounts(devnet: &Devnet) -> Vec<AccountJson> {
    let reply = devnet
        .http
        .get(&devnet.url(0, "/v1/accounts"))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

// ---------------------------------------------------------------------------------------
// The tests.

/// What the tools compute for a sample: hledger and ledger for ledger syntax, beancount for
/// beancount files, each only when installed.
fn tool_balances(file: &Path) -> Vec<(&'static str, Balances)> {
    let mut found = Vec::new();
    if file
        .extension()
        .is_some_and(|extension| extension == "beancount")
    {
        if installed("bean-check") && installed("bean-query") {
            found.push(("beancount", beancount_balances(file)));
        }
    } else {
        if installed("hledger") {
            found.push(("hledger", hledger_balances(file)));
        }
        if installed("ledger") {
            found.push(("ledger", ledger_balances(file)));
        }
    }
    found
}

/// Imports `file` into a new devnet, compares the trial balance with the tools, imports it
/// again with another batch size and sees nothing booked twice, checks the chart, exports the
/// books as hledger, beancount and CSV and has the tools read them back with the same
/// balances. Returns the devnet (every node holding the entries) and the entry count.
fn import_compare_export(name: &str, file: &Path) -> (Devnet, u64) {
    let mut devnet = Devnet::start(name);
    let count = transactions_in(file);

    let output = import(&devnet, file, &["--batch", "2"]);
    assert!(output.status.success(), "import: {}", describe(&output));
    let summary = stdout_of(&output);
    assert!(
        summary.starts_with(&format!(
            "imported {count} transactions, skipped 0 already present, 0 problems, "
        )),
        "{summary}"
    );
    assert_eq!(
        stderr_of(&output),
        "",
        "no problems, no progress bar off a terminal"
    );
    let lines = trial_balance(&devnet);
    let node = node_balances(&lines, str::to_owned);
    for (tool, balances) in tool_balances(file) {
        assert_eq!(node, balances, "{tool} on {}", file.display());
    }

    // Again, in other batches: nothing is booked twice.
    for batch in ["1000", "3"] {
        let output = import(&devnet, file, &["--batch", batch]);
        assert!(output.status.success(), "re-import: {}", describe(&output));
        assert!(
            stdout_of(&output).starts_with(&format!(
                "imported 0 transactions, skipped {count} already present, 0 problems, 0 accounts opened"
            )),
            "{}",
            describe(&output)
        );
    }
    let total = count as u64;
    assert_eq!(devnet.status(0).expect("status").entries, total);
    assert_eq!(sorted(trial_balance(&devnet)), sorted(lines.clone()));
    // Exports and listings read other nodes: let them catch up.
    devnet.wait_all_entries(total, Duration::from_secs(30));

    // The chart lists the imported accounts, postable by finance and bookkeepers.
    let chart = accounts(&devnet);
    let checking = chart
        .iter()
        .find(|account| account.code == "Assets:Bank:Checking")
        .expect("the imported account is in the chart");
    assert_eq!(checking.kind, "asset");
    assert_eq!(checking.posting_roles, ["finance", "bookkeeper"]);
    assert!(checking.open);
    assert!(
        chart.iter().any(|account| account.code == "1000"),
        "the default chart stays"
    );

    // Exports, read back by the tools.
    let kinds: BTreeMap<String, AccountKind> = chart
        .iter()
        .map(|account| (account.code.clone(), account.kind.parse().expect("a kind")))
        .collect();
    let name_with = |name_of: fn(&AccountCode, AccountKind) -> String| {
        let kinds = kinds.clone();
        move |code: &str| name_of(&AccountCode::new(code).expect("a code"), kinds[code])
    };
    let hledger_file = devnet.root.join("export.journal");
    let beancount_file = devnet.root.join("export.beancount");
    let csv_file = devnet.root.join("export.csv");
    export(&devnet, "hledger", &hledger_file);
    export(&devnet, "beancount", &beancount_file);
    export(&devnet, "csv", &csv_file);
    let hledger_expected = node_balances(&lines, name_with(hledger_account_name));
    for (tool, balances) in tool_balances(&hledger_file) {
        assert_eq!(balances, hledger_expected, "{tool} on the hledger export");
    }
    let beancount_expected = node_balances(&lines, name_with(beancount_account_name));
    for (tool, balances) in tool_balances(&beancount_file) {
        assert_eq!(
            balances, beancount_expected,
            "{tool} on the beancount export"
        );
    }
    let csv_text = std::fs::read_to_string(&csv_file).expect("CSV export");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, CSV_HEADER);
    let rows = reader.records().count();
    let postings: usize = list_all(&devnet, "", 5_000)
        .iter()
        .map(|entry| entry.entry.postings.len())
        .sum();
    assert_eq!(rows, postings, "one CSV row per posting");
    (devnet, total)
}

#[test]
fn ledger_journal_matches_hledger_and_ledger_and_exports_read_back() {
    let journal = sample("journal-sample.journal");
    let (devnet, total) = import_compare_export("journal", &journal);
    check_listing(&devnet, total);

    // The journal with one more transaction: its batch is refused for the ids already
    // committed, and sent again with only the new one.
    let longer = devnet.root.join("longer.journal");
    let mut text = std::fs::read_to_string(&journal).expect("sample");
    text.push_str("\n2024-02-01 * One more\n    Assets:Bank:Checking  $1.00\n    Income:Sales\n");
    std::fs::write(&longer, text).expect("write journal");
    let output = import(&devnet, &longer, &[]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        stdout_of(&output).starts_with(&format!(
            "imported 1 transactions, skipped {total} already present, 0 problems, 0 accounts opened"
        )),
        "{}",
        describe(&output)
    );
    assert_eq!(devnet.status(0).expect("status").entries, total + 1);
}

#[test]
fn beancount_file_matches_beancount_and_exports_read_back() {
    import_compare_export("beancount", &sample("journal-sample.beancount"));
}

#[test]
fn bad_journal_lines_are_reported_and_strict_imports_nothing() {
    let devnet = Devnet::start("journal-bad");
    for (name, expected) in [
        ("journal-errors.journal", "journal-errors.expected"),
        (
            "journal-errors.beancount",
            "journal-errors.beancount.expected",
        ),
    ] {
        let file = sample(name);
        let expected = std::fs::read_to_string(sample(expected)).expect("expected problems");
        let shown = file.display().to_string();
        let problems: Vec<String> = expected
            .lines()
            .map(|line| format!("{shown}:{line}\n"))
            .collect();
        let count = problems.len();
        let before = devnet.status(0).expect("status");
        let chart_before = accounts(&devnet);

        let output = import(&devnet, &file, &["--strict"]);
        assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
        assert_eq!(stdout_of(&output), "");
        assert_eq!(
            stderr_of(&output),
            format!(
                "{}error: {shown} has {count} problem(s); nothing was imported (--strict)\n",
                problems.concat()
            )
        );
        std::thread::sleep(Duration::from_millis(500));
        let after = devnet.status(0).expect("status");
        assert_eq!(after.entries, before.entries, "--strict submitted nothing");
        assert_eq!(after.mempool_entries, 0);
        assert_eq!(
            accounts(&devnet),
            chart_before,
            "--strict opened no account"
        );

        // Without --strict the good transactions are imported and the bad ones skipped.
        let good = transactions_in(&file);
        let output = import(&devnet, &file, &[]);
        assert!(output.status.success(), "{}", describe(&output));
        assert_eq!(stderr_of(&output), problems.concat());
        assert!(
            stdout_of(&output).starts_with(&format!(
                "imported {good} transactions, skipped 0 already present, {count} problems, "
            )),
            "{}",
            describe(&output)
        );
        assert_eq!(
            devnet.status(0).expect("status").entries,
            before.entries + good as u64
        );
    }

    // A file that is not there, and a batch size out of range: user errors.
    let output = import(&devnet, &devnet.root.join("missing.journal"), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        stderr_of(&output).contains("cannot read"),
        "{}",
        describe(&output)
    );
    let output = import(
        &devnet,
        &sample("journal-sample.journal"),
        &["--batch", "0"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert_eq!(
        stderr_of(&output),
        "error: --batch must be between 1 and 8192\n"
    );
}
