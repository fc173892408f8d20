//! The report endpoints over HTTP on a chain committed block by block through a `ChainHandle`
//! (the real commit path, which writes the report index): statements, the account ledger with
//! pagination, ageing on both paths (the head's totals and a replay of indexed postings),
//! departments, reporting-currency conversion at a rate recorded on the chain, past heights and
//! dates, and every refusal with its exact code.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tally_chain::{ClosePolicy, Genesis, SignedTx, Transaction, TxBody, Validator};
use tally_consensus::ChainHandle;
use tally_identity::{CertifiedMember, SecretKey};
use tally_ledger::{
    default_chart, AccountCode, Currency, Date, EntryDraft, EntryId, Posting, Reference, Role, Side,
};
use tower::ServiceExt;

const CHAIN: &str = "reports-test";
/// 2026-04-01T00:00:00Z: the head's day, which ageing counts to by default.
const T0: u64 = 1_775_001_600_000;

struct Books {
    chain: ChainHandle,
    finance: SecretKey,
    sales: SecretKey,
}

fn member(root: &SecretKey, key: &SecretKey, name: &str, role: Role) -> CertifiedMember {
    support::member(root, CHAIN, key, name, role)
}

fn books() -> Books {
    let root = SecretKey::from_seed([100; 32]);
    let finance = SecretKey::from_seed([1; 32]);
    let sales = SecretKey::from_seed([2; 32]);
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        enterprise: "Reports Test".into(),
        time_ms: T0,
        root_key: root.public_key(),
        validators: vec![Validator {
            name: "v".into(),
            consensus_key: "00".into(),
        }],
        members: vec![
            member(&root, &finance, "finance", Role::Finance),
            member(&root, &sales, "sales", Role::Sales),
        ],
        chart: default_chart(),
        consortium: None,
        close_policy: ClosePolicy::default(),
        read_policy: Default::default(),
        epoch_blocks: None,
    };
    let store = tally_chain::Store::open_in_memory(&genesis).unwrap();
    Books {
        chain: ChainHandle::new(genesis, store).unwrap(),
        finance,
        sales,
    }
}

fn posting(account: &str, side: Side, amount: u64, currency: &str) -> Posting {
    Posting {
        account: AccountCode::new(account).unwrap(),
        side,
        amount,
        currency: Currency::from_code(currency).unwrap(),
    }
}

fn entry(id: &str, date: &str, postings: Vec<Posting>, references: &[(&str, &str)]) -> EntryDraft {
    EntryDraft {
        id: EntryId::new(id).unwrap(),
        date: Date::parse(date).unwrap(),
        description: format!("{id} booked"),
        postings,
        references: references
            .iter()
            .map(|(kind, value)| Reference {
                kind: (*kind).into(),
                value: (*value).into(),
            })
            .collect(),
        reverses: None,
        sealed: Default::default(),
        seal_keys: Vec::new(),
    }
}

impl Books {
    /// Commits one block of entries, each signed by its key.
    fn commit(&self, entries: Vec<(&SecretKey, EntryDraft)>) {
        let transactions: Vec<Transaction> = entries
            .into_iter()
            .map(|(key, draft)| {
                Transaction::Single(SignedTx::sign(key, CHAIN, TxBody::Post(draft)))
            })
            .collect();
        support::commit(&self.chain, transactions);
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let router = tally_node::api::router(vec![self.chain.clone()]);
        let token = tally_node::auth::mint(&self.finance, CHAIN, 5 * 60 * 1000).unwrap();
        let request = Request::get(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    async fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    async fn refused(&self, path: &str, status: StatusCode, code: &str) -> String {
        let (got, body) = self.get(path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
        body["error"]["message"].as_str().unwrap().to_string()
    }
}

/// The books of the test: opening balances, three customer orders (one in USD), a supplier
/// invoice, a conversion of 100.00 EUR into 110.00 USD, and a customer payment.
fn standard_books() -> Books {
    let books = books();
    let (finance, sales) = (&books.finance, &books.sales);
    books.commit(vec![
        (
            finance,
            entry(
                "open-eur",
                "2026-01-01",
                vec![
                    posting("1000", Side::Debit, 1_000_000, "EUR"),
                    posting("3000", Side::Credit, 1_000_000, "EUR"),
                ],
                &[],
            ),
        ),
        (
            finance,
            entry(
                "open-usd",
                "2026-01-01",
                vec![
                    posting("1000", Side::Debit, 500_000, "USD"),
                    posting("3000", Side::Credit, 500_000, "USD"),
                ],
                &[],
            ),
        ),
    ]);
    books.commit(vec![
        (
            sales,
            entry(
                "sale-1001",
                "2026-01-15",
                vec![
                    posting("1100", Side::Debit, 11_900, "EUR"),
                    posting("4000", Side::Credit, 10_000, "EUR"),
                    posting("2100", Side::Credit, 1_900, "EUR"),
                ],
                &[("order", "1001")],
            ),
        ),
        (
            sales,
            entry(
                "sale-1002",
                "2026-02-20",
                vec![
                    posting("1100", Side::Debit, 23_800, "EUR"),
                    posting("4000", Side::Credit, 20_000, "EUR"),
                    posting("2100", Side::Credit, 3_800, "EUR"),
                ],
                &[("order", "1002")],
            ),
        ),
        (
            sales,
            entry(
                "sale-1003",
                "2026-01-05",
                vec![
                    posting("1100", Side::Debit, 5_000, "USD"),
                    posting("4000", Side::Credit, 5_000, "USD"),
                ],
                &[("order", "1003")],
            ),
        ),
    ]);
    books.commit(vec![
        (
            finance,
            entry(
                "fx-1",
                "2026-02-01",
                vec![
                    posting("1000", Side::Debit, 11_000, "USD"),
                    posting("3900", Side::Credit, 11_000, "USD"),
                    posting("3900", Side::Debit, 10_000, "EUR"),
                    posting("1000", Side::Credit, 10_000, "EUR"),
                ],
                &[],
            ),
        ),
        (
            finance,
            entry(
                "bill-7",
                "2026-01-02",
                vec![
                    posting("1200", Side::Debit, 50_000, "EUR"),
                    posting("2000", Side::Credit, 50_000, "EUR"),
                ],
                &[("trade", "t-7"), ("counterparty", "supplier-a")],
            ),
        ),
    ]);
    books.commit(vec![(
        finance,
        entry(
            "pay-1001",
            "2026-03-01",
            vec![
                posting("1000", Side::Debit, 11_900, "EUR"),
                posting("1100", Side::Credit, 11_900, "EUR"),
            ],
            &[("order", "1001")],
        ),
    )]);
    books
}

fn section<'a>(report: &'a Value, currency: &str) -> &'a Value {
    report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|section| section["currency"] == currency)
        .unwrap_or_else(|| panic!("no {currency} section in {report}"))
}

#[tokio::test]
async fn statements_balance_and_convert_at_the_recorded_rate() {
    let books = standard_books();
    let sheet = books.ok("/v1/reports/balance-sheet").await;
    assert_eq!(sheet["height"], 4);
    for currency in ["EUR", "USD"] {
        assert_eq!(section(&sheet, currency)["balanced"], true, "{sheet}");
    }
    let eur = section(&sheet, "EUR");
    // Bank 10000 - 100 + 119, receivable 238, inventory 500.
    assert_eq!(eur["total_assets"], "10757.00");
    // Output VAT 57, the supplier's 500.
    assert_eq!(eur["total_liabilities"], "557.00");
    // Opening equity 10000 less the EUR sold through the trading account.
    assert_eq!(eur["total_equity"], "9900.00");
    assert_eq!(eur["result"], "300.00");
    assert_eq!(eur["total_liabilities_and_equity"], "10757.00");

    let income = books.ok("/v1/reports/income-statement").await;
    assert_eq!(section(&income, "EUR")["result"], "300.00");
    assert_eq!(section(&income, "USD")["result"], "50.00");

    // In EUR: USD lines at 100.00 EUR = 110.00 USD, the rate fx-1 recorded.
    let converted = books.ok("/v1/reports/income-statement?currency=EUR").await;
    assert_eq!(converted["reporting_currency"], "EUR");
    assert_eq!(converted["rates"][0]["entry"], "fx-1");
    assert_eq!(converted["rates"][0]["from"], "USD");
    // 300.00 + 50.00 USD * 100/110 = 300.00 + 45.45
    assert_eq!(section(&converted, "EUR")["result"], "345.45");
    let sheet_eur = books.ok("/v1/reports/balance-sheet?currency=EUR").await;
    assert_eq!(sheet_eur["sections"].as_array().unwrap().len(), 1);

    // Before the conversion no USD rate is known.
    let message = books
        .refused(
            "/v1/reports/balance-sheet?currency=EUR&as_of=2026-01-31",
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_fx_rate",
        )
        .await;
    assert_eq!(
        message,
        "no FX rate from USD to EUR recorded on or before 2026-01-31: book a conversion through the FX trading account first"
    );
    let message = books
        .refused(
            "/v1/reports/trial-balance?currency=GBP",
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_fx_rate",
        )
        .await;
    assert!(
        message.starts_with("no FX rate from EUR to GBP"),
        "{message}"
    );

    // As of a date: only what is dated on or before it.
    let early = books.ok("/v1/reports/balance-sheet?as_of=2026-01-10").await;
    assert_eq!(section(&early, "EUR")["total_assets"], "10500.00");
    assert_eq!(section(&early, "USD")["result"], "50.00");
}

#[tokio::test]
async fn past_heights_and_the_trial_balance_shape() {
    let books = standard_books();
    let head = books.ok("/v1/reports/trial-balance").await;
    let first = &head.as_array().unwrap()[0];
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["account", "credit", "currency", "debit"]);
    assert_eq!(books.ok("/v1/reports/trial-balance?height=4").await, head);

    // Height 1: only the opening balances, from the running balances in the index.
    let at_one = books.ok("/v1/reports/trial-balance?height=1").await;
    assert_eq!(
        at_one,
        serde_json::json!([
            {"account": "1000", "currency": "EUR", "debit": "10000.00", "credit": "0.00"},
            {"account": "1000", "currency": "USD", "debit": "5000.00", "credit": "0.00"},
            {"account": "3000", "currency": "EUR", "debit": "0.00", "credit": "10000.00"},
            {"account": "3000", "currency": "USD", "debit": "0.00", "credit": "5000.00"},
        ])
    );
    // A height and a date together: the indexed postings, filtered.
    let both = books
        .ok("/v1/reports/trial-balance?height=2&as_of=2026-01-31")
        .await;
    let receivable: Vec<&Value> = both
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["account"] == "1100")
        .collect();
    assert_eq!(receivable.len(), 2, "{both}");
    assert_eq!(receivable[0]["debit"], "119.00");
    // The same as the ledger's movements at the head for that day, less later blocks.
    let sheet = books.ok("/v1/reports/balance-sheet?height=3").await;
    assert_eq!(sheet["height"], 3);
    assert_eq!(section(&sheet, "EUR")["balanced"], true);
    books
        .refused(
            "/v1/reports/balance-sheet?height=9",
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
}

#[tokio::test]
async fn account_ledger_pages_with_running_balances() {
    let books = standard_books();
    let ledger = books.ok("/v1/reports/ledger/1100").await;
    assert_eq!(ledger["name"], "Accounts receivable");
    let postings = ledger["postings"].as_array().unwrap();
    let entries: Vec<&str> = postings
        .iter()
        .map(|p| p["entry"].as_str().unwrap())
        .collect();
    assert_eq!(entries, ["sale-1001", "sale-1002", "sale-1003", "pay-1001"]);
    let balances: Vec<&str> = postings
        .iter()
        .map(|p| p["balance"].as_str().unwrap())
        .collect();
    assert_eq!(balances, ["119.00", "357.00", "50.00", "238.00"]);
    assert_eq!(postings[0]["description"], "sale-1001 booked");
    assert_eq!(ledger["next"], Value::Null);

    // Two at a time.
    let first = books.ok("/v1/reports/ledger/1100?limit=2").await;
    assert_eq!(first["postings"].as_array().unwrap().len(), 2);
    let next = first["next"].as_u64().unwrap();
    let second = books
        .ok(&format!("/v1/reports/ledger/1100?limit=2&after={next}"))
        .await;
    let rest: Vec<&str> = second["postings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["entry"].as_str().unwrap())
        .collect();
    assert_eq!(rest, ["sale-1003", "pay-1001"]);
    assert_eq!(second["next"], Value::Null);

    // As of a date: later-dated postings left out, running balances recomputed.
    let dated = books.ok("/v1/reports/ledger/1100?as_of=2026-01-31").await;
    let balances: Vec<&str> = dated["postings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["balance"].as_str().unwrap())
        .collect();
    assert_eq!(balances, ["119.00", "50.00"]);
    // At a past height.
    let past = books.ok("/v1/reports/ledger/1100?height=2").await;
    assert_eq!(past["postings"].as_array().unwrap().len(), 3);

    books
        .refused(
            "/v1/reports/ledger/9999",
            StatusCode::NOT_FOUND,
            "unknown_account",
        )
        .await;
    books
        .refused(
            "/v1/reports/ledger/1100?limit=0",
            StatusCode::BAD_REQUEST,
            "malformed_request",
        )
        .await;
    books
        .refused(
            "/v1/reports/ledger/1100?after=x",
            StatusCode::BAD_REQUEST,
            "malformed_request",
        )
        .await;
}

fn partner<'a>(report: &'a Value, name: &str, currency: &str) -> &'a Value {
    report["partners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line["partner"] == name && line["currency"] == currency)
        .unwrap_or_else(|| panic!("no {name} {currency} in {report}"))
}

#[tokio::test]
async fn ageing_buckets_open_items_on_both_paths() {
    let books = standard_books();
    // Aged on the head's day (2026-04-01): order 1002 is 40 days old, 1003 86; 1001 was paid.
    let head = books.ok("/v1/reports/ageing").await;
    assert_eq!(head["side"], "receivable");
    assert_eq!(head["aged_on"], "2026-04-01");
    let eur = partner(&head, "customers", "EUR");
    assert_eq!(eur["days_31_60"], "238.00");
    assert_eq!(eur["total"], "238.00");
    assert_eq!(eur["items"], 1);
    assert_eq!(partner(&head, "customers", "USD")["days_61_90"], "50.00");

    // Before the payment: a day earlier than the latest sub-ledger posting replays postings.
    let before = books.ok("/v1/reports/ageing?as_of=2026-02-25").await;
    let eur = partner(&before, "customers", "EUR");
    assert_eq!(eur["days_0_30"], "238.00");
    assert_eq!(eur["days_31_60"], "119.00");
    assert_eq!(eur["total"], "357.00");
    assert_eq!(eur["items"], 2);

    // Payables by partner, from the counterparty reference.
    let payable = books
        .ok("/v1/reports/ageing?side=payable&as_of=2026-04-30")
        .await;
    assert_eq!(
        partner(&payable, "supplier-a", "EUR")["days_over_90"],
        "500.00"
    );

    // The head's totals and a replay of the index agree: add a block that touches no
    // sub-ledger account, then age the previous height on the same day.
    books.commit(vec![(
        &books.finance,
        entry(
            "cash-1",
            "2026-03-05",
            vec![
                posting("1010", Side::Debit, 100, "EUR"),
                posting("1000", Side::Credit, 100, "EUR"),
            ],
            &[],
        ),
    )]);
    let fast = books.ok("/v1/reports/ageing?as_of=2026-05-01").await;
    let replayed = books
        .ok("/v1/reports/ageing?as_of=2026-05-01&height=4")
        .await;
    assert_eq!(fast["partners"], replayed["partners"]);
    assert_eq!(replayed["height"], 4);

    // In EUR.
    let converted = books.ok("/v1/reports/ageing?currency=EUR").await;
    assert_eq!(partner(&converted, "customers", "EUR")["total"], "283.45");

    books
        .refused(
            "/v1/reports/ageing?side=sideways",
            StatusCode::BAD_REQUEST,
            "malformed_request",
        )
        .await;
}

#[tokio::test]
async fn departments_and_refused_parameters() {
    let books = standard_books();
    let report = books.ok("/v1/reports/departments").await;
    let lines = report["lines"].as_array().unwrap();
    let sales_revenue = lines
        .iter()
        .find(|line| {
            line["department"] == "sales" && line["account"] == "4000" && line["currency"] == "EUR"
        })
        .unwrap();
    assert_eq!(sales_revenue["credit"], "300.00");
    assert!(lines.iter().any(|line| line["department"] == "finance"));
    // As of a date (head tables per day) and at a past height (indexed postings) agree with
    // what was booked then.
    let dated = books.ok("/v1/reports/departments?as_of=2026-01-10").await;
    assert!(dated["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|line| line["account"] != "4000" || line["currency"] == "USD"));
    let past = books.ok("/v1/reports/departments?height=1").await;
    assert!(past["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|line| line["department"] == "finance"));

    let message = books
        .refused(
            "/v1/reports/balance-sheet?bogus=1",
            StatusCode::BAD_REQUEST,
            "malformed_request",
        )
        .await;
    assert_eq!(
        message,
        "unknown parameter 'bogus'; this report takes: as_of, height, currency"
    );
    books
        .refused(
            "/v1/reports/income-statement?as_of=2026-13-01",
            StatusCode::BAD_REQUEST,
            "malformed_request",
        )
        .await;
    books
        .refused(
            "/v1/reports/departments?height=x",
            StatusCode::BAD_REQUEST,
            "malformed_request",
        )
        .await;
    books
        .refused(
            "/v1/reports/departments?currency=euro",
            StatusCode::BAD_REQUEST,
            "malformed_request",
        )
        .await;
}
