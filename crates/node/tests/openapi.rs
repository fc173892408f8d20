//! The OpenAPI document against the implementation, on a real router over real chains (a
//! private chain with entries, a reversal, a closed period, a key epoch, sealed fields and a
//! recorded read; the consortium chain with a contract's sealed terms):
//! - every documented operation answers, with real ids, something other than the router's
//!   fallbacks, with a status it documents, and a JSON body valid against the schema it
//!   documents for that status (`ErrorJson` for errors);
//! - every route the router serves under `/v1` is documented, found from the router itself;
//! - the served `/v1/openapi.json` is OpenAPI 3.1 and equals the generated document, the member
//!   token scheme covers every operation but the open ones, and the bounds are the constants.
//!
//! The schema checker (`schema/mod.rs`) covers what utoipa emits; it is itself checked here to
//! refuse bodies that do not match.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use rand::SeedableRng as _;
use serde_json::{json, Value};
use tally_chain::{
    ClosePolicy, CloseSignOff, Genesis, KeyChange, KeyGrant, ReadRecord, SignedTx, Transaction,
    TxBody, Validator,
};
use tally_consensus::ChainHandle;
use tally_contracts::{ContractCall, ContractId, PartyKey, SealedTerms, ShippingTerms};
use tally_identity::{CertifiedMember, SecretKey};
use tally_ledger::{
    default_chart, AccountCode, Category, Currency, Date, EntryDraft, EntryId, FieldName, Posting,
    Reference, Role, SealKey, SealedField, Side, COMMITMENT_BYTES, ENCAPPED_KEY_BYTES,
    SEAL_NONCE_BYTES,
};
use tally_node::topology::TopologyPlan;
use tally_privacy::rand_core::SeedableRng as _;
use tower::ServiceExt;

mod schema;

use schema::{check, resolve};

const CHAIN: &str = "openapi-test";
const CLOSED_THROUGH: &str = "2026-01-31";
const SHIPMENT: &str = "ship-1";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

// ---------------------------------------------------------------------------------------------
// The chains

struct Net {
    chain: ChainHandle,
    consortium: ChainHandle,
    /// The API of a node hosting both chains, the private one as its home.
    router: axum::Router,
    finance: SecretKey,
    service: SecretKey,
    /// The hash of a committed transaction.
    committed_tx: String,
    /// Member tokens of each chain, sent with every request to that chain's routes.
    private_token: String,
    consortium_token: String,
}

fn member(root: &SecretKey, key: &SecretKey, name: &str, role: Role) -> CertifiedMember {
    support::member(root, CHAIN, key, name, role)
}

fn posting(account: &str, side: Side, amount: u64) -> Posting {
    Posting {
        account: AccountCode::new(account).unwrap(),
        side,
        amount,
        currency: Currency::EUR,
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

fn pii() -> Category {
    Category::customer_pii()
}

/// A sale whose customer's e-mail and zip are sealed together under epoch 0 of customer-pii,
/// as entries are sealed now. The chain cannot check the cryptography, so the bytes are
/// placeholders of the right sizes.
fn sealed_sale(id: &str) -> EntryDraft {
    let mut draft = sealed_sale_one_by_one(id);
    draft.sealed = tally_ledger::Sealed::Groups(vec![tally_ledger::SealedGroup {
        category: pii(),
        epoch: 0,
        names: vec![
            FieldName::new("email").unwrap(),
            FieldName::new("zip").unwrap(),
        ],
        commitment: [2; COMMITMENT_BYTES],
        ciphertext: vec![4; 60],
    }]);
    draft
}

/// A sale whose customer's e-mail is sealed on its own, as entries were first sealed.
fn sealed_sale_one_by_one(id: &str) -> EntryDraft {
    let mut draft = entry(
        id,
        "2026-02-10",
        vec![
            posting("1100", Side::Debit, 11_900),
            posting("4000", Side::Credit, 10_000),
            posting("2100", Side::Credit, 1_900),
        ],
        &[("order", "1001")],
    );
    draft.sealed = tally_ledger::Sealed::Fields(vec![SealedField {
        name: FieldName::new("email").unwrap(),
        category: pii(),
        epoch: 0,
        commitment: [2; COMMITMENT_BYTES],
        nonce: [3; SEAL_NONCE_BYTES],
        ciphertext: vec![4; 60],
    }]);
    draft.seal_keys = vec![SealKey {
        category: pii(),
        epoch: 0,
        encapped: [6; ENCAPPED_KEY_BYTES],
        wrapped: vec![7; 48],
    }];
    draft
}

fn single(key: &SecretKey, chain_id: &str, body: TxBody) -> Transaction {
    Transaction::Single(SignedTx::sign(key, chain_id, body))
}

/// Commits one block of `transactions` on `chain`, all of which must apply.
fn commit(chain: &ChainHandle, transactions: Vec<Transaction>) {
    support::commit(chain, transactions)
}

/// The private chain: opening balances, a supplier invoice booked as an intercompany movement,
/// a close of January, a key epoch granted to customer service, a sale with a sealed e-mail, a
/// reversed sale, and a read of the e-mail recorded in a block.
fn private_chain(t0: u64) -> (ChainHandle, SecretKey, SecretKey, String) {
    let root = SecretKey::from_seed([100; 32]);
    let admin = SecretKey::from_seed([1; 32]);
    let finance = SecretKey::from_seed([2; 32]);
    let service = SecretKey::from_seed([3; 32]);
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        enterprise: "OpenAPI Test".into(),
        time_ms: t0,
        root_key: root.public_key(),
        validators: vec![Validator {
            name: "v".into(),
            consensus_key: "00".into(),
        }],
        members: vec![
            member(&root, &admin, "admin", Role::Admin),
            member(&root, &finance, "finance", Role::Finance),
            member(&root, &service, "service", Role::Service),
        ],
        chart: default_chart(),
        consortium: None,
        close_policy: ClosePolicy::default(),
        read_policy: Default::default(),
        epoch_blocks: None,
    };
    let store = tally_chain::Store::open_in_memory(&genesis).unwrap();
    let chain = ChainHandle::new(genesis, store).unwrap();
    let opening = single(
        &finance,
        CHAIN,
        TxBody::Post(entry(
            "open-eur",
            "2026-01-01",
            vec![
                posting("1000", Side::Debit, 1_000_000),
                posting("3000", Side::Credit, 1_000_000),
            ],
            &[],
        )),
    );
    let committed_tx = hex::encode(opening.hash());
    commit(
        &chain,
        vec![
            opening,
            single(
                &finance,
                CHAIN,
                TxBody::Post(entry(
                    "auto:trade-7:invoice",
                    "2026-01-20",
                    vec![
                        posting("1200", Side::Debit, 50_000),
                        posting("2000", Side::Credit, 50_000),
                    ],
                    &[("counterparty", "supplier"), ("trade", "trade-7")],
                )),
            ),
        ],
    );
    let through = Date::parse(CLOSED_THROUGH).unwrap();
    let trial_balance = chain.state().ledger.trial_balance_as_of(through).unwrap();
    commit(
        &chain,
        vec![single(
            &finance,
            CHAIN,
            TxBody::ClosePeriod(CloseSignOff {
                through,
                trial_balance,
            }),
        )],
    );
    commit(
        &chain,
        vec![single(
            &admin,
            CHAIN,
            TxBody::Keys(KeyChange::OpenEpoch {
                category: pii(),
                epoch: 0,
                public: [1; 32],
                grants: vec![KeyGrant {
                    member: service.public_key(),
                    encapped: [9; ENCAPPED_KEY_BYTES],
                    wrapped: vec![5; 48],
                }],
            }),
        )],
    );
    let mut reversal = entry(
        "sale-2-reversal",
        "2026-02-12",
        vec![
            posting("1100", Side::Credit, 2_000),
            posting("4000", Side::Debit, 2_000),
        ],
        &[],
    );
    reversal.reverses = Some(EntryId::new("sale-2").unwrap());
    commit(
        &chain,
        vec![
            single(&finance, CHAIN, TxBody::Post(sealed_sale("sale-1"))),
            single(
                &finance,
                CHAIN,
                TxBody::Post(entry(
                    "sale-2",
                    "2026-02-11",
                    vec![
                        posting("1100", Side::Debit, 2_000),
                        posting("4000", Side::Credit, 2_000),
                    ],
                    &[("order", "1002")],
                )),
            ),
        ],
    );
    commit(
        &chain,
        vec![single(&finance, CHAIN, TxBody::Post(reversal))],
    );
    let block_time = chain.state().time_ms + 1_000;
    commit(
        &chain,
        vec![single(
            &service,
            CHAIN,
            TxBody::Read(ReadRecord {
                entry: EntryId::new("sale-1").unwrap(),
                fields: vec![
                    FieldName::new("email").unwrap(),
                    FieldName::new("zip").unwrap(),
                ],
                at_ms: block_time,
            }),
        )],
    );
    (chain, finance, service, committed_tx)
}

/// The consortium chain of the demo topology with a shipment whose delivery address the
/// merchant sealed for itself and the carrier.
fn consortium_chain(t0: u64) -> (ChainHandle, SecretKey) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let plan = TopologyPlan::new(&mut rng, 41_000, t0);
    let genesis = plan.consortium.clone();
    let chain_id = genesis.chain_id.clone();
    let store = tally_chain::Store::open_in_memory(&genesis).unwrap();
    let chain = ChainHandle::new(genesis, store).unwrap();
    let merchant = plan.enterprise("merchant").unwrap().trader.clone();
    let carrier = plan.enterprise("carrier").unwrap().trader.clone();
    let id = ContractId::new(SHIPMENT).unwrap();
    let terms = ShippingTerms {
        merchant: tally_contracts::EnterpriseName::new("merchant").unwrap(),
        carrier: tally_contracts::EnterpriseName::new("carrier").unwrap(),
        trade: None,
        currency: Currency::EUR,
        fee: 490,
        tax: 93,
    };
    commit(
        &chain,
        vec![single(
            &merchant,
            &chain_id,
            TxBody::Contract(ContractCall::ProposeShipping {
                id: id.clone(),
                terms,
            }),
        )],
    );
    let mut seal_rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
    let key = tally_privacy::FieldKey::generate(&mut seal_rng);
    let field = tally_privacy::seal(
        &key,
        &Category::contract_private(),
        0,
        &tally_privacy::SealContext {
            chain_id: &chain_id,
            entry_id: SHIPMENT,
        },
        &FieldName::new("delivery_address").unwrap(),
        "Hauptstraße 5, 10115 Berlin",
    )
    .unwrap();
    let keys = [&merchant, &carrier]
        .iter()
        .map(|party| {
            let member = party.public_key();
            let wrapped = tally_privacy::wrap_field_key_for_member(
                &key,
                &tally_privacy::PartyContext {
                    chain_id: &chain_id,
                    contract_id: SHIPMENT,
                    member: &member,
                },
                &mut seal_rng,
            )
            .unwrap();
            PartyKey {
                member,
                encapped: wrapped.encapped,
                wrapped: wrapped.ciphertext,
            }
        })
        .collect();
    commit(
        &chain,
        vec![single(
            &merchant,
            &chain_id,
            TxBody::Contract(ContractCall::SealTerms {
                id,
                terms: SealedTerms {
                    fields: vec![field],
                    keys,
                },
            }),
        )],
    );
    (chain, merchant)
}

fn net() -> Net {
    // Block times a minute behind the clock: a read the test signs now is then neither stale
    // for the node nor too far ahead of the chain's last block.
    let t0 = now_ms() - 60_000;
    let (chain, finance, service, committed_tx) = private_chain(t0);
    let (consortium, trader) = consortium_chain(t0);
    // The private chain's administrator may use every endpoint, the access log included; the
    // merchant's trader is a member of the consortium chain.
    let admin = SecretKey::from_seed([1; 32]);
    let lifetime = tally_node::auth::COMMAND_TOKEN_LIFETIME_MS;
    let private_token = tally_node::auth::mint(&admin, CHAIN, lifetime).unwrap();
    let consortium_token =
        tally_node::auth::mint(&trader, consortium.chain_id(), lifetime).unwrap();
    Net {
        router: tally_node::api::router(vec![chain.clone(), consortium.clone()]),
        private_token,
        consortium_token,
        chain,
        consortium,
        finance,
        service,
        committed_tx,
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

struct Answer {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Whether this is one of the router's own answers to a path or method it does not serve.
    fn is_fallback(&self) -> bool {
        let Ok(body) = serde_json::from_slice::<Value>(&self.body) else {
            return false;
        };
        let code = &body["error"]["code"];
        let message = body["error"]["message"].as_str().unwrap_or_default();
        (self.status == StatusCode::NOT_FOUND
            && code == "not_found"
            && message.starts_with("no such endpoint"))
            || (self.status == StatusCode::METHOD_NOT_ALLOWED && code == "method_not_allowed")
    }
}

impl Net {
    /// Every request of this test goes through here (credentials, when the API asks for them,
    /// belong here too).
    async fn request(&self, method: Method, uri: &str, body: Option<Value>) -> Answer {
        let consortium = format!("/v1/chains/{}/", self.consortium.chain_id());
        let token = if uri.starts_with(&consortium) {
            &self.consortium_token
        } else {
            &self.private_token
        };
        self.request_with(method, uri, body, Some(token)).await
    }

    /// A request with this token, or none.
    async fn request_with(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&json).unwrap())
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|value| value.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(response.into_body(), 1 << 26)
            .await
            .unwrap()
            .to_vec();
        Answer {
            status,
            content_type,
            body,
        }
    }

    /// The request that exercises each documented operation on these chains, with real ids.
    /// A documented operation missing here fails the test: add a request for it.
    fn requests(&self) -> BTreeMap<(&'static str, &'static str), (String, Option<Value>)> {
        let consortium = format!("/v1/chains/{}", self.consortium.chain_id());
        let new_entry = single(
            &self.finance,
            CHAIN,
            TxBody::Post(entry(
                "sale-3",
                "2026-02-20",
                vec![
                    posting("1100", Side::Debit, 5_000),
                    posting("4000", Side::Credit, 5_000),
                ],
                &[("order", "1003")],
            )),
        );
        let read = single(
            &self.service,
            CHAIN,
            TxBody::Read(ReadRecord {
                entry: EntryId::new("sale-1").unwrap(),
                fields: vec![
                    FieldName::new("email").unwrap(),
                    FieldName::new("zip").unwrap(),
                ],
                at_ms: now_ms(),
            }),
        );
        let get = |path: &str| (path.to_string(), None);
        BTreeMap::from([
            (("get", "/v1/chains"), get("/v1/chains")),
            (("get", "/v1/openapi.json"), get("/v1/openapi.json")),
            (("get", "/v1/identity"), get("/v1/identity")),
            (("get", "/v1/status"), get("/v1/status")),
            (
                ("post", "/v1/transactions"),
                (
                    "/v1/transactions".into(),
                    Some(serde_json::to_value(&new_entry).unwrap()),
                ),
            ),
            (
                ("get", "/v1/transactions/{hash}"),
                get(&format!("/v1/transactions/{}", self.committed_tx)),
            ),
            (
                ("get", "/v1/entries"),
                get("/v1/entries?from=2026-01-01&limit=50"),
            ),
            (("get", "/v1/entries/{id}"), get("/v1/entries/sale-2")),
            (
                ("get", "/v1/entries/{id}/history"),
                get("/v1/entries/sale-2/history"),
            ),
            (("get", "/v1/accounts"), get("/v1/accounts")),
            (("get", "/v1/blocks/{height}"), get("/v1/blocks/2")),
            (("get", "/v1/blocks/{height}/raw"), get("/v1/blocks/2/raw")),
            (
                ("get", "/v1/proofs/entries/{id}"),
                get("/v1/proofs/entries/sale-1"),
            ),
            (
                ("get", "/v1/proofs/consistency"),
                get("/v1/proofs/consistency?from=1&to=3"),
            ),
            (
                ("get", "/v1/proofs/closings/{through}"),
                get(&format!("/v1/proofs/closings/{CLOSED_THROUGH}")),
            ),
            (
                ("get", "/v1/reports/trial-balance"),
                get("/v1/reports/trial-balance"),
            ),
            (
                ("get", "/v1/reports/balance-sheet"),
                get("/v1/reports/balance-sheet"),
            ),
            (
                ("get", "/v1/reports/income-statement"),
                get("/v1/reports/income-statement?as_of=2026-02-28"),
            ),
            (
                ("get", "/v1/reports/ledger/{account}"),
                get("/v1/reports/ledger/1100?limit=2"),
            ),
            (
                ("get", "/v1/reports/ageing"),
                get("/v1/reports/ageing?side=receivable"),
            ),
            (
                ("get", "/v1/reports/departments"),
                get("/v1/reports/departments"),
            ),
            (
                ("get", "/v1/reports/intercompany"),
                get("/v1/reports/intercompany?with=supplier"),
            ),
            (("get", "/v1/closings"), get("/v1/closings")),
            (
                ("get", "/v1/closings/{through}"),
                get(&format!("/v1/closings/{CLOSED_THROUGH}")),
            ),
            (("get", "/v1/members"), get("/v1/members")),
            (("get", "/v1/keys"), get("/v1/keys")),
            (
                ("get", "/v1/contracts/{id}/sealed"),
                get(&format!("{consortium}/contracts/{SHIPMENT}/sealed")),
            ),
            (
                ("get", "/v1/contracts"),
                get(&format!("{consortium}/contracts?party=merchant&limit=10")),
            ),
            (
                ("get", "/v1/contracts/{id}"),
                get(&format!("{consortium}/contracts/{SHIPMENT}")),
            ),
            (
                ("get", "/v1/anchors"),
                get(&format!("{consortium}/anchors")),
            ),
            (("get", "/v1/blocks"), get("/v1/blocks?limit=5")),
            (
                ("get", "/v1/reports/series"),
                get("/v1/reports/series?account=4000&interval=day"),
            ),
            (
                ("post", "/v1/reads"),
                (
                    "/v1/reads".into(),
                    Some(serde_json::to_value(&read).unwrap()),
                ),
            ),
            (("get", "/v1/reads"), get("/v1/reads")),
        ])
    }
}

// ---------------------------------------------------------------------------------------------
// The document

fn document() -> Value {
    serde_json::to_value(tally_node::openapi::document()).unwrap()
}

/// Every (method, path) the document describes.
fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in [
            "get", "post", "put", "delete", "patch", "head", "options", "trace",
        ] {
            if item.get(method).is_some() {
                operations.insert((method.to_string(), path.clone()));
            }
        }
    }
    operations
}

/// The path patterns of every route the router serves (not its fallbacks), read from the
/// router's own description of its routing table: axum has no other way to list them, and a
/// route added by any means (`routes!`, a plain `.route`, `.merge`) lands in that table.
fn served_paths(router: &axum::Router) -> BTreeSet<String> {
    let description = format!("{router:?}");
    let routes = description
        .split("fallback_router:")
        .next()
        .expect("the router describes its path router first");
    let mut paths = BTreeSet::new();
    let mut rest = routes;
    while let Some(start) = rest.find("\"/") {
        let after = &rest[start + 1..];
        let end = after.find('"').expect("a quoted path ends");
        paths.insert(after[..end].to_string());
        rest = &after[end..];
    }
    paths
}

/// A served path pattern as a URL: every parameter filled with a value no handler knows.
fn fill(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|part| if part.starts_with('{') { "0" } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

#[tokio::test]
async fn every_documented_operation_answers_with_its_documented_shape() {
    let net = net();
    let document = document();
    let requests = net.requests();
    let documented = operations(&document);
    let requested: BTreeSet<(String, String)> = requests
        .keys()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(
        documented, requested,
        "the documented operations and those this test requests differ"
    );
    let mut refused = BTreeMap::new();
    for ((method, path), (uri, body)) in &requests {
        let operation = &document["paths"][*path][*method];
        let answer = net
            .request(
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                uri,
                body.clone(),
            )
            .await;
        assert!(
            !answer.is_fallback(),
            "{method} {uri} is documented but the router does not serve it: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let status = answer.status.as_u16().to_string();
        let response = resolve(&document, &operation["responses"][&status]);
        assert!(
            response.is_object(),
            "{method} {path} answered {status}, which it does not document: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let content = response["content"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} {status} documents no content"));
        let media = content.get(&answer.content_type).unwrap_or_else(|| {
            panic!(
                "{method} {path} {status} answered {} but documents {:?}",
                answer.content_type,
                content.keys().collect::<Vec<_>>()
            )
        });
        if answer.content_type == "application/json" {
            let schema = &media["schema"];
            assert!(schema.is_object(), "{method} {path} {status} has no schema");
            let errors = check(&document, schema, &answer.json());
            assert!(
                errors.is_empty(),
                "{method} {uri} {status}: the body does not match the documented schema:\n{}\n{}",
                errors.join("\n"),
                serde_json::to_string_pretty(&answer.json()).unwrap()
            );
        }
        if !answer.status.is_success() {
            // Errors are `ErrorJson`, whatever else they say.
            assert_eq!(media["schema"]["$ref"], "#/components/schemas/ErrorJson");
            let code = answer.json()["error"]["code"].as_str().unwrap().to_string();
            refused.insert(*path, (status, code));
        }
    }
    // The proofs need finalization certificates, which a chain committed without consensus has
    // not: they answer their documented `not_final_yet`. Everything else succeeds.
    let not_final = ("404".to_string(), "not_final_yet".to_string());
    assert_eq!(
        refused,
        BTreeMap::from([
            ("/v1/proofs/closings/{through}", not_final.clone()),
            ("/v1/proofs/consistency", not_final.clone()),
            ("/v1/proofs/entries/{id}", not_final),
        ])
    );
}

#[tokio::test]
async fn every_served_route_is_documented() {
    let net = net();
    let document = document();
    let documented = operations(&document);
    let served = served_paths(&net.router);
    assert!(
        served.contains("/v1/chains"),
        "no routes found in the router's description; has axum changed its Debug output? {served:?}"
    );
    let home_paths: BTreeSet<String> = documented.iter().map(|(_, path)| path.clone()).collect();
    // A chain's operations are those the home chain also serves under its own prefix; the
    // others (the chain list, the document) are the node's.
    let home_prefix = format!("/v1/chains/{}", net.chain.chain_id());
    let chain_paths: BTreeSet<String> = home_paths
        .iter()
        .filter(|path| served.contains(&path.replacen("/v1", &home_prefix, 1)))
        .cloned()
        .collect();
    assert!(chain_paths.contains("/v1/status") && !chain_paths.contains("/v1/chains"));
    let mut expected = home_paths.clone();
    for chain in [&net.chain, &net.consortium] {
        let prefix = format!("/v1/chains/{}", chain.chain_id());
        for path in &chain_paths {
            expected.insert(path.replacen("/v1", &prefix, 1));
        }
    }
    let served_api: BTreeSet<String> = served
        .iter()
        .filter(|path| path.starts_with("/v1"))
        .cloned()
        .collect();
    assert_eq!(
        served_api,
        expected,
        "served but undocumented: {:?}; documented but not served: {:?}",
        served_api.difference(&expected).collect::<Vec<_>>(),
        expected.difference(&served_api).collect::<Vec<_>>()
    );
    // Every method a served path answers (rather than the method fallback) is documented, on
    // the home paths and on each chain's.
    for pattern in &served_api {
        let home = [&net.chain, &net.consortium]
            .iter()
            .find_map(|chain| {
                let prefix = format!("/v1/chains/{}/", chain.chain_id());
                pattern
                    .strip_prefix(&prefix)
                    .map(|rest| format!("/v1/{rest}"))
            })
            .unwrap_or_else(|| pattern.clone());
        for method in METHODS {
            let answer = net
                .request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    &fill(pattern),
                    None,
                )
                .await;
            let served = !answer.is_fallback();
            let is_documented = documented.contains(&(method.to_string(), home.clone()));
            assert_eq!(
                served,
                is_documented,
                "{method} {pattern}: served {served}, documented {is_documented}: {}",
                String::from_utf8_lossy(&answer.body)
            );
        }
    }
}

#[tokio::test]
async fn the_served_document_is_openapi_3_1_and_the_generated_one() {
    let net = net();
    let answer = net.request(Method::GET, "/v1/openapi.json", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type, "application/json");
    let served = answer.json();
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(served["info"]["title"], "Tally node API");
    let typed: utoipa::openapi::OpenApi = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), served);
    assert_eq!(served, document());
    // The same bytes every time: generated once.
    let again = net.request(Method::GET, "/v1/openapi.json", None).await;
    assert_eq!(again.body, answer.body);
    // Every `$ref` resolves.
    let text = String::from_utf8(answer.body).unwrap();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = &reference[..reference.find('"').unwrap()];
        assert!(
            resolve(&served, &json!({ "$ref": target })).is_object(),
            "unresolved {target}"
        );
    }
    // An unknown path points to the document.
    let unknown = net.request(Method::GET, "/v1/nothing", None).await;
    assert!(unknown.is_fallback());
    assert!(unknown.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/v1/openapi.json"));
}

/// The document's security requirements are what the middleware enforces: without a token,
/// exactly the operations documented as open answer something other than `401`.
#[tokio::test]
async fn the_documented_security_is_what_the_node_enforces() {
    let net = net();
    let document = document();
    for ((method, path), (uri, body)) in net.requests() {
        let operation = &document["paths"][path][method];
        let open = operation.get("security").is_none();
        assert_eq!(
            open,
            tally_node::openapi::OPEN_OPERATIONS.contains(&(method, path)),
            "{method} {path}"
        );
        let answer = net
            .request_with(
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                &uri,
                body,
                None,
            )
            .await;
        assert_eq!(
            answer.status == StatusCode::UNAUTHORIZED,
            !open,
            "{method} {uri} without a token: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
}

#[test]
fn every_operation_needs_a_member_token_but_the_document_and_is_tagged() {
    let document = document();
    assert!(tally_node::openapi::OPEN_OPERATIONS.contains(&("get", "/v1/openapi.json")));
    let scheme = &document["components"]["securitySchemes"]["member_token"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    let tags: BTreeSet<&str> = document["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        BTreeSet::from([
            "chain",
            "entries",
            "reports",
            "audit",
            "privacy",
            "contracts"
        ])
    );
    assert!(document["info"]["description"]
        .as_str()
        .unwrap()
        .contains("/v1/chains/{chain_id}/"));
    for (method, path) in operations(&document) {
        let operation = &document["paths"][&path][&method];
        let summary = operation["summary"].as_str().unwrap_or_default();
        assert!(
            !summary.is_empty() && !summary.contains('\n'),
            "{method} {path} needs a one-line summary: {summary:?}"
        );
        let tag = operation["tags"][0].as_str().unwrap_or_default();
        assert!(tags.contains(tag), "{method} {path} has no known tag");
        let responses = &operation["responses"];
        if tally_node::openapi::OPEN_OPERATIONS.contains(&(method.as_str(), path.as_str())) {
            assert!(
                operation.get("security").is_none(),
                "{method} {path} is open"
            );
            assert!(responses.get("401").is_none());
            continue;
        }
        assert_eq!(
            operation["security"],
            json!([{ "member_token": [] }]),
            "{method} {path}"
        );
        let unauthenticated = resolve(&document, &responses["401"]);
        assert!(
            unauthenticated["description"]
                .as_str()
                .unwrap()
                .contains("`unauthenticated`"),
            "{method} {path}"
        );
        let limited = resolve(&document, &responses["429"]);
        assert!(
            limited["description"]
                .as_str()
                .unwrap()
                .contains("`rate_limited`"),
            "{method} {path}"
        );
        // Every error response says which codes it carries and has the shared error schema.
        for (status, response) in responses.as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') {
                let response = resolve(&document, response);
                assert!(
                    response["description"].as_str().unwrap().starts_with('`'),
                    "{method} {path} {status} names no error code"
                );
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorJson",
                    "{method} {path} {status}"
                );
            }
        }
    }
    // The proofs are files, not JSON.
    for path in [
        "/v1/proofs/entries/{id}",
        "/v1/proofs/consistency",
        "/v1/proofs/closings/{through}",
    ] {
        let content = &document["paths"][path]["get"]["responses"]["200"]["content"];
        assert!(
            content.get("application/octet-stream").is_some(),
            "{path}: {content}"
        );
    }
}

#[test]
fn parameter_bounds_are_the_named_constants() {
    let document = document();
    let parameter = |path: &str, name: &str| -> Value {
        document["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|parameter| parameter["name"] == name)
            .unwrap_or_else(|| panic!("{path} documents no parameter {name}"))["schema"]
            .clone()
    };
    let limit = parameter("/v1/entries", "limit");
    assert_eq!(limit["maximum"], tally_node::api::ENTRIES_PAGE_MAX as u64);
    assert_eq!(limit["minimum"], 1);
    assert_eq!(
        limit["default"],
        tally_node::api::ENTRIES_PAGE_DEFAULT as u64
    );
    let limit = parameter("/v1/reports/ledger/{account}", "limit");
    assert_eq!(
        limit["maximum"],
        tally_node::reports::LEDGER_PAGE_MAX as u64
    );
    assert_eq!(
        limit["default"],
        tally_node::reports::LEDGER_PAGE_DEFAULT as u64
    );
    let too_large = format!("({} MiB)", tally_node::api::REQUEST_BYTES_MAX >> 20);
    for path in ["/v1/transactions", "/v1/reads"] {
        let description = &document["paths"][path]["post"]["responses"]["413"]["description"];
        assert!(
            description.as_str().unwrap().contains(&too_large),
            "{path}: {description}"
        );
    }
    assert_eq!(
        document["components"]["schemas"]["SignedBatch"]["properties"]["entries"]["maxItems"],
        tally_chain::BATCH_ENTRIES_MAX as u64
    );
    // Every parameter of every operation has a schema and says where it goes.
    for (method, path) in operations(&document) {
        let operation = &document["paths"][&path][&method];
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            assert!(
                parameter["schema"].is_object(),
                "{method} {path}: {parameter}"
            );
            assert!(
                ["path", "query"].contains(&parameter["in"].as_str().unwrap()),
                "{method} {path}: {parameter}"
            );
        }
        // A path's parameters are documented, under their names in the path.
        for part in path.split('/').filter(|part| part.starts_with('{')) {
            let name = part.trim_matches(|c| c == '{' || c == '}');
            assert!(
                operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|parameter| parameter["name"] == name && parameter["in"] == "path"),
                "{method} {path} does not document its path parameter {name}"
            );
        }
    }
}

#[tokio::test]
async fn request_bodies_and_errors_match_their_schemas() {
    let net = net();
    let document = document();
    // The transactions clients post, single and batched, are what the document describes.
    let entry_tx = single(
        &net.finance,
        CHAIN,
        TxBody::Post(sealed_sale_one_by_one("sale-9")),
    );
    let batch = Transaction::Batch(tally_chain::SignedBatch::sign(
        &net.finance,
        CHAIN,
        vec![sealed_sale("sale-10"), sealed_sale("sale-11")],
    ));
    let transaction = json!({ "$ref": "#/components/schemas/Transaction" });
    for tx in [&entry_tx, &batch] {
        let body = serde_json::to_value(tx).unwrap();
        let errors = check(&document, &transaction, &body);
        assert!(errors.is_empty(), "{errors:?}\n{body}");
    }
    let body = &document["paths"]["/v1/transactions"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"];
    assert_eq!(body, &transaction);
    let read = single(
        &net.service,
        CHAIN,
        TxBody::Read(ReadRecord {
            entry: EntryId::new("sale-1").unwrap(),
            fields: vec![
                FieldName::new("email").unwrap(),
                FieldName::new("zip").unwrap(),
            ],
            at_ms: now_ms(),
        }),
    );
    let read_schema = &document["paths"]["/v1/reads"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"];
    let read = serde_json::to_value(&read).unwrap();
    assert!(check(&document, read_schema, &read).is_empty());
    assert!(check(&document, &transaction, &read).is_empty());
    // A posted entry is not a read.
    let entry_json = serde_json::to_value(&entry_tx).unwrap();
    assert!(!check(&document, read_schema, &entry_json).is_empty());

    // A documented error, with its code and the shared schema.
    let answer = net
        .request(Method::GET, "/v1/reports/ledger/1999", None)
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let body = answer.json();
    assert_eq!(body["error"]["code"], "unknown_account");
    let response = resolve(
        &document,
        &document["paths"]["/v1/reports/ledger/{account}"]["get"]["responses"]["404"],
    );
    assert!(response["description"]
        .as_str()
        .unwrap()
        .contains("`unknown_account`"));
    let schema = &response["content"]["application/json"]["schema"];
    assert!(check(&document, schema, &body).is_empty());
    // The error schema refuses what is not an error body.
    assert!(!check(&document, schema, &json!({ "error": { "code": "x" } })).is_empty());
}

#[test]
fn the_schema_checker_refuses_what_does_not_match() {
    let document = document();
    let status = json!({ "$ref": "#/components/schemas/StatusJson" });
    let good = json!({
        "chain_id": "c", "enterprise": "e", "height": 3, "finalized_tip": 3, "tip": "00",
        "state_root": "00", "log_root": "00", "entries": 1, "validators": 4,
        "mempool_entries": 0, "balanced": true, "time_ms": 5
    });
    assert_eq!(check(&document, &status, &good), Vec::<String>::new());
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("height");
    assert!(!check(&document, &status, &missing).is_empty());
    let mut extra = good.clone();
    extra["surprise"] = json!(1);
    assert!(!check(&document, &status, &extra).is_empty());
    let mut wrong_type = good.clone();
    wrong_type["height"] = json!("3");
    assert!(!check(&document, &status, &wrong_type).is_empty());
    let mut negative = good.clone();
    negative["height"] = json!(-1);
    assert!(!check(&document, &status, &negative).is_empty());
    // Flattened headers (allOf): a field of either part may be missing or wrong.
    let sheet = json!({ "$ref": "#/components/schemas/BalanceSheetJson" });
    let good = json!({ "height": 1, "as_of": null, "reporting_currency": null, "rates": [],
                       "sections": [] });
    assert_eq!(check(&document, &sheet, &good), Vec::<String>::new());
    let mut no_sections = good.clone();
    no_sections.as_object_mut().unwrap().remove("sections");
    assert!(!check(&document, &sheet, &no_sections).is_empty());
    let mut bad_rates = good.clone();
    bad_rates["rates"] = json!([{ "from": "EUR" }]);
    assert!(!check(&document, &sheet, &bad_rates).is_empty());
    let mut extra = good;
    extra["surprise"] = json!(true);
    assert!(!check(&document, &sheet, &extra).is_empty());
    // Arrays of items, and enums.
    let accounts =
        json!({ "type": "array", "items": { "$ref": "#/components/schemas/AccountJson" } });
    assert!(!check(&document, &accounts, &json!([{ "code": "1000" }])).is_empty());
    assert!(!check(&document, &json!({ "enum": ["a", "b"] }), &json!("c")).is_empty());
}
