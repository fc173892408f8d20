//! The API reads the dashboard needs, over HTTP on chains committed block by block through a
//! `ChainHandle` (the real commit path): the blocks listing (order, paging, bounds), the status'
//! validators and finality lag, the consortium's contracts (filters, paging, one contract's
//! events with their signers) and their refusal on a private chain, the balance series (equal
//! to the account ledger's running balance at each interval end), and the dashboard's files.

mod support;

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use rand::SeedableRng as _;
use serde_json::Value;
use tally_chain::{build_block, ClosePolicy, Genesis, SignedTx, Transaction, TxBody, Validator};
use tally_consensus::ChainHandle;
use tally_contracts::{
    ContractCall, ContractId, EnterpriseName, ShippingTerms, TradeLine, TradeTerms,
};
use tally_identity::{CertifiedMember, SecretKey};
use tally_ledger::{
    default_chart, AccountCode, Currency, Date, EntryDraft, EntryId, Posting, Reference, Role, Side,
};
use tally_node::topology::TopologyPlan;
use tower::ServiceExt;

const CHAIN: &str = "dashboard-test";
/// 2026-03-30T00:00:00Z, a Monday.
const T0: u64 = 1_774_828_800_000;

/// A member's token for the chain `path` addresses (the first of `chains` unless the path
/// names one): the private chain's sales member, or the merchant's trader on the consortium.
fn token_for(chains: &[ChainHandle], path: &str) -> String {
    let chain_id = path
        .strip_prefix("/v1/chains/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| chains[0].chain_id());
    let key = if chain_id == CHAIN {
        SecretKey::from_seed([2; 32])
    } else {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let plan = TopologyPlan::new(&mut rng, 41_000, CONSORTIUM_T0);
        plan.enterprise("merchant").unwrap().trader.clone()
    };
    tally_node::auth::mint(&key, chain_id, tally_node::auth::COMMAND_TOKEN_LIFETIME_MS).unwrap()
}

async fn get(chains: &[ChainHandle], path: &str) -> (StatusCode, Value) {
    let router = tally_node::api::router(chains.to_vec());
    let request = Request::get(path)
        .header(
            axum::http::header::AUTHORIZATION,
            format!("Bearer {}", token_for(chains, path)),
        )
        .body(Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn ok(chains: &[ChainHandle], path: &str) -> Value {
    let (status, body) = get(chains, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// The refusal's message, after checking its status and code.
async fn refused(chains: &[ChainHandle], path: &str, status: StatusCode, code: &str) -> String {
    let (got, body) = get(chains, path).await;
    assert_eq!(got, status, "{path}: {body}");
    assert_eq!(body["error"]["code"], code, "{path}: {body}");
    body["error"]["message"].as_str().unwrap().to_string()
}

// ---------------------------------------------------------------------------------------------
// A private chain.

struct Books {
    chain: ChainHandle,
    sales: SecretKey,
}

fn member(root: &SecretKey, key: &SecretKey, name: &str, role: Role) -> CertifiedMember {
    support::member(root, CHAIN, key, name, role)
}

fn books() -> Books {
    let root = SecretKey::from_seed([100; 32]);
    let sales = SecretKey::from_seed([2; 32]);
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        enterprise: "Dashboard Test".into(),
        time_ms: T0,
        root_key: root.public_key(),
        validators: vec![
            Validator {
                name: "finance-node".into(),
                consensus_key: "01".into(),
            },
            Validator {
                name: "sales-node".into(),
                consensus_key: "02".into(),
            },
        ],
        members: vec![member(&root, &sales, "sales", Role::Sales)],
        chart: default_chart(),
        consortium: None,
        close_policy: ClosePolicy::default(),
        read_policy: Default::default(),
        epoch_blocks: None,
    };
    let store = tally_chain::Store::open_in_memory(&genesis).unwrap();
    Books {
        chain: ChainHandle::new(genesis, store).unwrap(),
        sales,
    }
}

/// A sale on `date`: receivable against revenue, `amount` minor units of EUR.
fn sale(id: &str, date: &str, amount: u64) -> EntryDraft {
    let eur = Currency::from_code("EUR").unwrap();
    let posting = |account: &str, side| Posting {
        account: AccountCode::new(account).unwrap(),
        side,
        amount,
        currency: eur,
    };
    EntryDraft {
        id: EntryId::new(id).unwrap(),
        date: Date::parse(date).unwrap(),
        description: format!("{id} booked"),
        postings: vec![posting("1100", Side::Debit), posting("4000", Side::Credit)],
        references: vec![Reference {
            kind: "order".into(),
            value: id.into(),
        }],
        reverses: None,
        sealed: Default::default(),
        seal_keys: Vec::new(),
    }
}

impl Books {
    /// Commits one block of sales.
    fn commit(&self, entries: Vec<EntryDraft>) {
        let transactions: Vec<Transaction> = entries
            .into_iter()
            .map(|draft| {
                Transaction::Single(SignedTx::sign(&self.sales, CHAIN, TxBody::Post(draft)))
            })
            .collect();
        support::commit(&self.chain, transactions);
    }
}

/// Five blocks: sales on 30 March, 1 April (two blocks), 3 April and 5 April 2026.
fn sales_books() -> Books {
    let books = books();
    books.commit(vec![sale("s1", "2026-03-30", 10_000)]);
    books.commit(vec![
        sale("s2", "2026-04-01", 20_000),
        sale("s3", "2026-04-01", 5_000),
    ]);
    books.commit(vec![sale("s4", "2026-04-01", 2_500)]);
    books.commit(vec![sale("s5", "2026-04-03", 1_000)]);
    books.commit(vec![sale("s6", "2026-04-05", 700)]);
    books
}

fn heights(page: &Value) -> Vec<u64> {
    page["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|block| block["height"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn blocks_are_listed_newest_first_a_bounded_page_at_a_time() {
    let books = sales_books();
    let chains = [books.chain.clone()];
    let all = ok(&chains, "/v1/blocks").await;
    assert_eq!(heights(&all), [5, 4, 3, 2, 1]);
    assert_eq!(all["next"], Value::Null);
    // Each block as its own endpoint describes it.
    for block in all["blocks"].as_array().unwrap() {
        let height = block["height"].as_u64().unwrap();
        let single = ok(&chains, &format!("/v1/blocks/{height}")).await;
        assert_eq!(block["digest"], single["digest"]);
        assert_eq!(block["parent"], single["parent"]);
        assert_eq!(block["time_ms"], single["time_ms"]);
        assert_eq!(block["entries"], single["entries"]);
        assert_eq!(block["transactions"], single["transactions"]);
        // Committed without certificates here.
        assert_eq!(block["certified"], false);
    }
    assert_eq!(all["blocks"][3]["entries"], 2);

    let first = ok(&chains, "/v1/blocks?limit=2").await;
    assert_eq!(heights(&first), [5, 4]);
    assert_eq!(first["next"], 4);
    let second = ok(&chains, "/v1/blocks?limit=2&before=4").await;
    assert_eq!(heights(&second), [3, 2]);
    let last = ok(&chains, "/v1/blocks?limit=2&before=2").await;
    assert_eq!(heights(&last), [1]);
    assert_eq!(last["next"], Value::Null);
    // Below a height past the head starts at the head; the same on the chain's own path.
    let ahead = ok(
        &chains,
        &format!("/v1/chains/{CHAIN}/blocks?before=99&limit=1"),
    )
    .await;
    assert_eq!(heights(&ahead), [5]);

    for limit in ["0", "101", "x"] {
        assert_eq!(
            refused(
                &chains,
                &format!("/v1/blocks?limit={limit}"),
                StatusCode::BAD_REQUEST,
                "malformed_request"
            )
            .await,
            format!("limit: '{limit}' is not a number between 1 and 100")
        );
    }
    assert_eq!(
        refused(
            &chains,
            "/v1/blocks?before=-1",
            StatusCode::BAD_REQUEST,
            "malformed_request"
        )
        .await,
        "before: '-1' is not a block height (the page holds the blocks below it)"
    );
    let message = refused(
        &chains,
        "/v1/blocks?height=3",
        StatusCode::BAD_REQUEST,
        "malformed_request",
    )
    .await;
    assert!(
        message.ends_with("; the parameters are before and limit"),
        "{message}"
    );
}

#[tokio::test]
async fn status_names_the_validators_and_measures_finality_lag() {
    let books = books();
    let chains = [books.chain.clone()];
    let status = ok(&chains, "/v1/status").await;
    assert_eq!(status["consortium"], false);
    assert_eq!(status["validators"], 2);
    assert_eq!(status["validator_set"][0]["name"], "finance-node");
    assert_eq!(status["validator_set"][1]["key"], "02");
    assert_eq!(status["finality_lag"]["samples"], 0);
    assert_eq!(status["finality_lag"]["last_ms"], Value::Null);
    books.commit(vec![sale("s1", "2026-03-30", 10_000)]);
    books.commit(vec![sale("s2", "2026-03-30", 10_000)]);
    let status = ok(&chains, "/v1/status").await;
    assert_eq!(status["finality_lag"]["samples"], 2);
    // The blocks were stamped in 2026-03, before now: a lag of at least the time since.
    assert!(status["finality_lag"]["last_ms"].as_u64().unwrap() > 0);
    assert!(status["finality_lag"]["p50_ms"].as_u64().is_some());
}

#[tokio::test]
async fn the_series_is_the_account_ledgers_running_balance_at_each_interval_end() {
    let books = sales_books();
    let chains = [books.chain.clone()];
    let series = ok(
        &chains,
        "/v1/reports/series?account=4000&currency=EUR&interval=day&from=2026-03-30&to=2026-04-05",
    )
    .await;
    assert_eq!(series["account"], "4000");
    assert_eq!(series["kind"], "revenue");
    assert_eq!(series["height"], 5);
    let points: Vec<(String, String)> = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| {
            (
                point["date"].as_str().unwrap().into(),
                point["balance"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(points.len(), 7);
    // The account ledger's running balance after the last posting dated on or before each day
    // (these sales were committed in date order, so commit order is date order).
    let ledger = ok(&chains, "/v1/reports/ledger/4000").await;
    let postings = ledger["postings"].as_array().unwrap();
    for (date, balance) in &points {
        let expected = postings
            .iter()
            .rfind(|posting| posting["date"].as_str().unwrap() <= date.as_str())
            .map(|posting| posting["balance"].as_str().unwrap().to_string())
            .unwrap_or_else(|| "0.00".into());
        assert_eq!(balance, &expected, "{date}");
    }
    assert_eq!(points[0], ("2026-03-30".into(), "100.00".into()));
    assert_eq!(points[2], ("2026-04-01".into(), "375.00".into()));
    assert_eq!(points[6], ("2026-04-05".into(), "392.00".into()));

    // Weeks end on Sunday; the last interval is cut at `to`.
    let weeks = ok(
        &chains,
        "/v1/reports/series?account=4000&interval=week&from=2026-03-30&to=2026-04-03",
    )
    .await;
    assert_eq!(
        weeks["points"],
        serde_json::json!([{ "date": "2026-04-03", "balance": "385.00" }])
    );
    let months = ok(
        &chains,
        "/v1/reports/series?account=4000&interval=month&from=2026-03-01&to=2026-04-30",
    )
    .await;
    assert_eq!(
        months["points"],
        serde_json::json!([
            { "date": "2026-03-31", "balance": "100.00" },
            { "date": "2026-04-30", "balance": "392.00" },
        ])
    );
    // An asset on its debit side, and by default from its first posting to its last.
    let receivable = ok(&chains, "/v1/reports/series?account=1100").await;
    assert_eq!(receivable["points"][0]["date"], "2026-03-30");
    assert_eq!(receivable["points"].as_array().unwrap().len(), 7);
    assert_eq!(receivable["points"][6]["balance"], "392.00");
    assert_eq!(receivable["currency"], "EUR");

    assert_eq!(
        refused(
            &chains,
            "/v1/reports/series",
            StatusCode::BAD_REQUEST,
            "malformed_request"
        )
        .await,
        "account: name the account with ?account=CODE (e.g. 4000 for sales revenue)"
    );
    assert_eq!(
        refused(
            &chains,
            "/v1/reports/series?account=4000&interval=year",
            StatusCode::BAD_REQUEST,
            "malformed_request"
        )
        .await,
        "interval: 'year' is not one of day, week, month"
    );
    assert_eq!(
        refused(
            &chains,
            "/v1/reports/series?account=4711",
            StatusCode::NOT_FOUND,
            "unknown_account"
        )
        .await,
        "no account '4711' in the chart"
    );
    assert_eq!(
        refused(
            &chains,
            "/v1/reports/series?account=4000&from=2026-04-02&to=2026-04-01",
            StatusCode::BAD_REQUEST,
            "malformed_request"
        )
        .await,
        "from 2026-04-02 is after to 2026-04-01"
    );
    // The head block of these books is stamped on 2026-03-30, the last sale dated 2026-04-05.
    assert_eq!(
        refused(
            &chains,
            "/v1/reports/series?account=4000&from=2026-05-01",
            StatusCode::BAD_REQUEST,
            "malformed_request"
        )
        .await,
        "from 2026-05-01 is after to 2026-04-05 (when to is not given, the later of the head block's day and the last posting's date)"
    );
    assert_eq!(
        refused(
            &chains,
            "/v1/reports/series?account=1000",
            StatusCode::BAD_REQUEST,
            "malformed_request"
        )
        .await,
        "currency: account 1000 has no postings yet; name the currency with ?currency=CODE"
    );
    assert_eq!(
        refused(&chains, "/v1/reports/series?account=4000&from=2020-01-01&to=2026-01-01", StatusCode::BAD_REQUEST, "too_many_points").await,
        "from 2020-01-01 to 2026-01-01 by day is more than 1000 points; ask for a shorter range or a longer interval"
    );
}

// ---------------------------------------------------------------------------------------------
// The consortium chain.

const CONSORTIUM_T0: u64 = 1_767_225_600_000;

struct Consortium {
    plan: TopologyPlan,
    chain: ChainHandle,
    /// Hashes of the committed transactions, in order.
    hashes: Vec<String>,
}

impl Consortium {
    fn new() -> Consortium {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let plan = TopologyPlan::new(&mut rng, 41_000, CONSORTIUM_T0);
        let store = tally_chain::Store::open_in_memory(&plan.consortium).unwrap();
        let chain = ChainHandle::new(plan.consortium.clone(), store).unwrap();
        Consortium {
            plan,
            chain,
            hashes: Vec::new(),
        }
    }

    /// Commits one call signed by `party`'s trader in a block of its own.
    fn call(&mut self, party: &str, call: ContractCall) {
        let key = &self.plan.enterprise(party).unwrap().trader;
        let tx = Transaction::Single(SignedTx::sign(
            key,
            &self.plan.consortium.chain_id,
            TxBody::Contract(call),
        ));
        self.hashes.push(hex::encode(tx.hash()));
        let state = self.chain.state();
        let (block, _, rejected) = build_block(
            &state,
            &self.chain.store().at(state.height),
            HashMap::new(),
            state.time_ms + 1_000,
            vec![tx],
        );
        assert!(
            rejected.is_empty(),
            "{:?}",
            rejected
                .iter()
                .map(|(_, e)| e.to_string())
                .collect::<Vec<_>>()
        );
        self.chain.commit_finalized(&block, None).unwrap();
    }
}

fn name(text: &str) -> EnterpriseName {
    EnterpriseName::new(text).unwrap()
}

fn id(text: &str) -> ContractId {
    ContractId::new(text).unwrap()
}

/// A trade the supplier sells the merchant (confirmed) and a shipment the carrier accepted.
fn consortium_with_contracts() -> Consortium {
    let mut net = Consortium::new();
    let eur = Currency::from_code("EUR").unwrap();
    net.call(
        "supplier",
        ContractCall::ProposeTrade {
            id: id("po-1"),
            terms: TradeTerms {
                seller: name("supplier"),
                buyer: name("merchant"),
                buyer_is_agent: false,
                currency: eur,
                lines: vec![TradeLine {
                    sku: "SKU-1".into(),
                    quantity: 3,
                    unit_price: 1_000,
                }],
                discount: 0,
                shipping: 500,
                tax: 0,
            },
        },
    );
    net.call("merchant", ContractCall::ConfirmTrade { id: id("po-1") });
    net.call(
        "merchant",
        ContractCall::ProposeShipping {
            id: id("ship-1"),
            terms: ShippingTerms {
                merchant: name("merchant"),
                carrier: name("carrier"),
                trade: Some(id("po-1")),
                currency: eur,
                fee: 490,
                tax: 93,
            },
        },
    );
    net.call("carrier", ContractCall::AcceptShipping { id: id("ship-1") });
    net
}

fn ids(page: &Value) -> Vec<String> {
    page["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|contract| contract["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn contracts_are_listed_with_filters_and_a_cursor() {
    let net = consortium_with_contracts();
    let chains = [net.chain.clone()];
    let all = ok(&chains, "/v1/contracts").await;
    assert_eq!(ids(&all), ["po-1", "ship-1"]);
    assert_eq!(all["next"], Value::Null);
    let trade = &all["contracts"][0];
    assert_eq!(trade["kind"], "trade");
    assert_eq!(trade["state"], "confirmed");
    assert_eq!(
        trade["parties"],
        serde_json::json!(["supplier", "merchant"])
    );
    assert_eq!(trade["amount"], "35.00");
    assert_eq!(trade["currency"], "EUR");
    assert_eq!(all["contracts"][1]["trade"], "po-1");
    assert_eq!(all["contracts"][1]["state"], "accepted");

    assert_eq!(
        ids(&ok(&chains, "/v1/contracts?party=supplier").await),
        ["po-1"]
    );
    assert_eq!(
        ids(&ok(&chains, "/v1/contracts?party=merchant").await),
        ["po-1", "ship-1"]
    );
    assert_eq!(
        ids(&ok(&chains, "/v1/contracts?kind=shipping").await),
        ["ship-1"]
    );
    assert_eq!(
        ids(&ok(&chains, "/v1/contracts?state=confirmed").await),
        ["po-1"]
    );
    assert!(ids(&ok(&chains, "/v1/contracts?party=carrier&kind=trade").await).is_empty());
    let first = ok(&chains, "/v1/contracts?limit=1").await;
    assert_eq!(ids(&first), ["po-1"]);
    assert_eq!(first["next"], "po-1");
    let second = ok(&chains, "/v1/contracts?limit=1&after=po-1").await;
    assert_eq!(ids(&second), ["ship-1"]);

    assert_eq!(
        refused(&chains, "/v1/contracts?kind=settlement", StatusCode::BAD_REQUEST, "malformed_request").await,
        "kind: 'settlement' is not one of trade, shipping, commission; a settlement is a step of a contract: ask for state=settled"
    );
    assert_eq!(
        refused(&chains, "/v1/contracts?state=lost", StatusCode::BAD_REQUEST, "malformed_request").await,
        "state: 'lost' is not one of proposed, confirmed, accepted, shipped, delivered, invoiced, settled, cancelled"
    );
    assert_eq!(
        refused(&chains, "/v1/contracts?party=bank", StatusCode::NOT_FOUND, "unknown_enterprise").await,
        "party: no enterprise 'bank' in the consortium; it has carrier, marketplace, merchant, supplier"
    );
    assert_eq!(
        refused(
            &chains,
            "/v1/contracts?limit=501",
            StatusCode::BAD_REQUEST,
            "malformed_request"
        )
        .await,
        "limit: '501' is not a number between 1 and 500"
    );
}

#[tokio::test]
async fn a_contract_shows_every_event_with_its_signer_and_transaction() {
    let net = consortium_with_contracts();
    let chains = [net.chain.clone()];
    let trade = ok(&chains, "/v1/contracts/po-1").await;
    assert_eq!(trade["events_complete"], true);
    let events = trade["events"].as_array().unwrap();
    let names: Vec<&str> = events
        .iter()
        .map(|event| event["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["trade_proposed", "trade_confirmed"]);
    assert_eq!(events[0]["height"], 1);
    assert_eq!(events[0]["tx_hash"], net.hashes[0]);
    assert_eq!(events[0]["enterprise"], "supplier");
    assert_eq!(events[0]["role"], "sales");
    assert_eq!(events[0]["state"], "proposed");
    assert_eq!(events[0]["time_ms"], CONSORTIUM_T0 + 1_000);
    assert_eq!(
        events[0]["signer"],
        net.plan
            .enterprise("supplier")
            .unwrap()
            .trader
            .public_key()
            .to_string()
    );
    assert_eq!(events[1]["enterprise"], "merchant");
    assert_eq!(events[1]["tx_hash"], net.hashes[1]);
    assert_eq!(events[1]["state"], "confirmed");

    let shipping = ok(
        &chains,
        &format!(
            "/v1/chains/{}/contracts/ship-1",
            net.plan.consortium.chain_id
        ),
    )
    .await;
    let names: Vec<&str> = shipping["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["shipping_proposed", "shipping_accepted"]);
    assert_eq!(shipping["events"][1]["enterprise"], "carrier");
    assert_eq!(shipping["events"][1]["height"], 4);

    assert_eq!(
        refused(
            &chains,
            "/v1/contracts/po-9",
            StatusCode::NOT_FOUND,
            "not_found"
        )
        .await,
        "no contract 'po-9' on the consortium chain; see /v1/contracts"
    );
    let status = ok(&chains, "/v1/status").await;
    assert_eq!(status["consortium"], true);
}

#[tokio::test]
async fn a_private_chain_has_no_contracts() {
    let books = books();
    let chains = [books.chain.clone()];
    let message = format!(
        "chain '{CHAIN}' is a private chain; contracts live on the consortium chain (see /v1/chains)"
    );
    for path in [
        "/v1/contracts",
        "/v1/contracts/po-1",
        "/v1/contracts?kind=trade",
    ] {
        assert_eq!(
            refused(
                &chains,
                path,
                StatusCode::NOT_FOUND,
                "not_a_consortium_chain"
            )
            .await,
            message
        );
    }
}

#[tokio::test]
async fn the_dashboard_is_served_without_a_token_and_the_root_redirects_to_it() {
    let books = books();
    let router = tally_node::api::router(vec![books.chain.clone()]);
    let response = router
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(response.status().is_redirection());
    assert_eq!(response.headers()["location"], "/dashboard/");
    for (path, content_type, needle) in [
        (
            "/dashboard/",
            "text/html; charset=utf-8",
            "<script src=\"app.js\"></script>",
        ),
        (
            "/dashboard/app.js",
            "text/javascript; charset=utf-8",
            "Authorization",
        ),
        (
            "/dashboard/style.css",
            "text/css; charset=utf-8",
            "svg.chart",
        ),
    ] {
        let response = router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], content_type, "{path}");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(text.contains(needle), "{path} lacks {needle}");
        // Everything the page loads comes from the node itself.
        assert!(!text.contains("https://"), "{path} loads from elsewhere");
    }
}
