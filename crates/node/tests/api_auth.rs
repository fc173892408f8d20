//! Who may use the HTTP API, driven through the real router over real chains (a merchant's
//! private chain and the consortium chain, as one node hosts them): every `401 unauthenticated`
//! with its exact message and nothing served, a revoked member refused, the access log kept
//! for admins and auditors (`403 not_allowed`), a consortium member's token accepted on block
//! headers only, `429 rate_limited` after a member's burst without touching other members, and
//! `413 request_too_large` as JSON.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use rand::SeedableRng as _;
use serde_json::Value;
use tally_chain::{build_block, SignedTx, Store, Transaction, TxBody};
use tally_consensus::ChainHandle;
use tally_identity::{ApiToken, SecretKey};
use tally_ledger::{AccountCode, Currency, Date, EntryDraft, EntryId, Posting, Side};
use tally_node::auth::{IdentityJson, MISSING_TOKEN};
use tally_node::config::ApiConfig;
use tally_node::topology::TopologyPlan;
use tower::ServiceExt;

const T0: u64 = 1_767_225_600_000;
const MINUTE: u64 = 60_000;

struct Node {
    private: ChainHandle,
    consortium: ChainHandle,
    plan: TopologyPlan,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

impl Node {
    /// The merchant's node: its private chain (home) and the consortium chain, with one
    /// committed block on the private chain.
    fn new() -> Node {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let plan = TopologyPlan::new(&mut rng, 41_000, T0);
        let genesis = plan.enterprise("merchant").unwrap().chain.genesis.clone();
        let private =
            ChainHandle::new(genesis.clone(), Store::open_in_memory(&genesis).unwrap()).unwrap();
        let consortium = ChainHandle::new(
            plan.consortium.clone(),
            Store::open_in_memory(&plan.consortium).unwrap(),
        )
        .unwrap();
        let node = Node {
            private,
            consortium,
            plan,
        };
        let client = node.member("client").clone();
        node.commit(&client, TxBody::Post(opening()));
        node
    }

    fn home(&self) -> &str {
        self.private.chain_id()
    }

    /// A member key of the merchant's private chain, by its devnet name.
    fn member(&self, name: &str) -> &SecretKey {
        let chain = &self.plan.enterprise("merchant").unwrap().chain;
        &chain.members.iter().find(|m| m.name == name).unwrap().key
    }

    fn commit(&self, signer: &SecretKey, body: TxBody) {
        let state = self.private.state();
        let tx = Transaction::Single(SignedTx::sign(signer, self.home(), body));
        let (block, _, rejected) = build_block(
            &state,
            &self.private.store().at(state.height),
            HashMap::new(),
            state.time_ms + 1_000,
            vec![tx],
        );
        assert!(rejected.is_empty(), "{:?}", rejected[0].1.to_string());
        self.private.commit_finalized(&block, None).unwrap();
    }

    fn router(&self, config: &ApiConfig) -> Router {
        tally_node::api::router_with_limits(
            vec![self.private.clone(), self.consortium.clone()],
            config,
        )
    }

    async fn call(&self, router: &Router, request: Request<Body>) -> Reply {
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.get_with(&self.router(&ApiConfig::default()), path, token)
            .await
    }

    async fn get_with(&self, router: &Router, path: &str, token: Option<&str>) -> Reply {
        let mut request = Request::get(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.call(router, request.body(Body::empty()).unwrap())
            .await
    }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

impl Reply {
    fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        &self.body
    }

    /// Checks a refusal's status, code and exact message, and that nothing else was served.
    fn refused(&self, status: StatusCode, code: &str, message: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.body,
            serde_json::json!({"error": {"code": code, "message": message}})
        );
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(self.headers[header::WWW_AUTHENTICATE], "Bearer");
        }
    }
}

fn token(key: &SecretKey, chain: &str) -> String {
    let now = now_ms();
    ApiToken::issue(key, chain, now, now + 5 * MINUTE)
        .unwrap()
        .encode()
}

fn opening() -> EntryDraft {
    let posting = |account: &str, side| Posting {
        account: AccountCode::new(account).unwrap(),
        side,
        amount: 100_000,
        currency: Currency::from_code("EUR").unwrap(),
    };
    EntryDraft {
        id: EntryId::new("open-1").unwrap(),
        date: Date::parse("2026-01-01").unwrap(),
        description: "opening".into(),
        postings: vec![posting("1000", Side::Debit), posting("3000", Side::Credit)],
        references: Vec::new(),
        reverses: None,
        sealed: Default::default(),
        seal_keys: Vec::new(),
    }
}

#[tokio::test]
async fn identity_is_open_and_lists_chain_ids_only() {
    let node = Node::new();
    let body = node.get("/v1/identity", None).await.ok().clone();
    let identity: IdentityJson = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(
        identity,
        IdentityJson {
            home: "merchant".into(),
            chains: vec!["merchant".into(), node.consortium.chain_id().into()],
        }
    );
    assert_eq!(body.as_object().unwrap().len(), 2);
}

#[tokio::test]
async fn a_member_token_reads_the_books() {
    let node = Node::new();
    let client = token(node.member("client"), "merchant");
    let status = node.get("/v1/status", Some(&client)).await;
    assert_eq!(status.ok()["height"], 1);
    let named = node
        .get("/v1/chains/merchant/entries/open-1", Some(&client))
        .await;
    assert_eq!(named.ok()["entry"]["id"], "open-1");
    // /v1/chains takes a token of any hosted chain.
    let listed = node.get("/v1/chains", Some(&client)).await;
    assert_eq!(listed.ok().as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn every_unauthenticated_request_is_refused_with_its_reason() {
    let node = Node::new();
    let client = node.member("client");
    let unauthenticated = StatusCode::UNAUTHORIZED;
    node.get("/v1/entries/open-1", None).await.refused(
        unauthenticated,
        "unauthenticated",
        MISSING_TOKEN,
    );
    assert_eq!(
        MISSING_TOKEN,
        "missing Authorization: Bearer <token> header; create one with 'tally token --key FILE'"
    );
    let basic = node
        .call(
            &node.router(&ApiConfig::default()),
            Request::get("/v1/status")
                .header(header::AUTHORIZATION, "Basic YWxhZGRpbjpvcGVu")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    basic.refused(
        unauthenticated,
        "unauthenticated",
        "Authorization header uses the scheme 'Basic'; send 'Bearer <token>' (create one with 'tally token --key FILE')",
    );
    node.get("/v1/status", Some("not-a-token")).await.refused(
        unauthenticated,
        "unauthenticated",
        "token is malformed: a token is lower-case hex",
    );
    let too_long = "ab".repeat(tally_identity::API_TOKEN_TEXT_BYTES_MAX);
    node.get("/v1/status", Some(&too_long)).await.refused(
        unauthenticated,
        "unauthenticated",
        &format!(
            "token is {} characters long; a token has at most {}",
            too_long.len(),
            tally_identity::API_TOKEN_TEXT_BYTES_MAX
        ),
    );

    // Expired, not yet valid, too long-lived: the node's clock decides.
    let now = now_ms();
    let expired = ApiToken::issue(client, "merchant", now - 10 * MINUTE, now - 5 * MINUTE).unwrap();
    node.get("/v1/status", Some(&expired.encode()))
        .await
        .refused(
            unauthenticated,
            "unauthenticated",
            &format!("token expired at {}", tally_identity::utc(now - 5 * MINUTE)),
        );
    let future = ApiToken::issue(client, "merchant", now + 10 * MINUTE, now + 15 * MINUTE).unwrap();
    node.get("/v1/status", Some(&future.encode()))
        .await
        .refused(
            unauthenticated,
            "unauthenticated",
            &format!(
                "token is not valid before {}; check the clock of the machine that made it",
                tally_identity::utc(now + 10 * MINUTE)
            ),
        );
    let day = 24 * 60 * MINUTE;
    let forever = ApiToken::issue(client, "merchant", now, now + day + 1).unwrap();
    node.get("/v1/status", Some(&forever.encode()))
        .await
        .refused(
            unauthenticated,
            "unauthenticated",
            &format!(
                "token is valid from {} to {}; a token may be valid for at most 24 hours",
                tally_identity::utc(now),
                tally_identity::utc(now + day + 1)
            ),
        );

    // A token of the other hosted chain, on this chain's route.
    let consortium_id = node.consortium.chain_id().to_string();
    let trader = &node.plan.enterprise("merchant").unwrap().trader;
    node.get("/v1/status", Some(&token(trader, &consortium_id)))
        .await
        .refused(
            unauthenticated,
            "unauthenticated",
            &format!("token is for chain '{consortium_id}', this is chain 'merchant'"),
        );

    // A forged signature: the client's token re-signed by someone else.
    let mut forged = ApiToken::decode(&token(client, "merchant")).unwrap();
    let stranger = SecretKey::from_seed([66; 32]);
    forged.signature = stranger.sign(
        tally_identity::Domain::Request,
        "merchant",
        &forged.signing_payload(),
    );
    node.get("/v1/status", Some(&forged.encode()))
        .await
        .refused(
            unauthenticated,
            "unauthenticated",
            &format!(
                "token signature does not verify for member {}",
                client.public_key()
            ),
        );

    // A well-signed token of a key that is not a member.
    node.get("/v1/status", Some(&token(&stranger, "merchant")))
        .await
        .refused(
            unauthenticated,
            "unauthenticated",
            &format!(
                "{} is not a member of chain 'merchant'",
                stranger.public_key()
            ),
        );

    // Every other endpoint is behind the same check.
    for path in [
        "/v1/entries",
        "/v1/accounts",
        "/v1/reports/trial-balance",
        "/v1/members",
        "/v1/keys",
        "/v1/reads",
        "/v1/blocks/1",
        "/v1/chains",
        "/v1/chains/merchant/status",
    ] {
        let reply = node.get(path, None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{path}: {}",
            reply.body
        );
        assert_eq!(reply.body["error"]["code"], "unauthenticated", "{path}");
    }
    let post = node
        .call(
            &node.router(&ApiConfig::default()),
            Request::post("/v1/transactions")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    post.refused(unauthenticated, "unauthenticated", MISSING_TOKEN);
}

#[tokio::test]
async fn a_revoked_member_is_refused() {
    let node = Node::new();
    let sales = node.member("sales").clone();
    let sales_token = token(&sales, "merchant");
    // The same token works before the revocation is committed, and not after.
    node.get("/v1/status", Some(&sales_token)).await.ok();
    let admin = node.member("admin").clone();
    node.commit(&admin, TxBody::RevokeMember(sales.public_key()));
    node.get("/v1/status", Some(&sales_token)).await.refused(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        &format!(
            "member {} was revoked on chain 'merchant'",
            sales.public_key()
        ),
    );
}

#[tokio::test]
async fn the_access_log_is_for_admins_and_auditors() {
    let node = Node::new();
    let client = node.member("client");
    node.get("/v1/reads", Some(&token(client, "merchant")))
        .await
        .refused(
            StatusCode::FORBIDDEN,
            "not_allowed",
            &format!(
                "the access log is for the admin and auditor roles; member {} is finance",
                client.public_key()
            ),
        );
    for name in ["admin", "auditor"] {
        let reply = node
            .get("/v1/reads", Some(&token(node.member(name), "merchant")))
            .await;
        assert!(reply.ok()["reads"].is_array(), "{name}: {}", reply.body);
    }
}

#[tokio::test]
async fn a_consortium_member_reads_block_headers_only() {
    let node = Node::new();
    let consortium_id = node.consortium.chain_id().to_string();
    // The supplier's trader is a consortium member, not a member of the merchant's chain.
    let partner = token(
        &node.plan.enterprise("supplier").unwrap().trader,
        &consortium_id,
    );
    let block = node
        .get("/v1/chains/merchant/blocks/1", Some(&partner))
        .await;
    assert_eq!(block.ok()["height"], 1);
    node.get("/v1/blocks/1", Some(&partner)).await.ok();
    let proof = node
        .call(
            &node.router(&ApiConfig::default()),
            Request::get("/v1/chains/merchant/proofs/consistency?from=1&to=1")
                .header(header::AUTHORIZATION, format!("Bearer {partner}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    // Past the middleware (the proof itself may need certificates this test chain lacks).
    assert_ne!(
        proof.body["error"]["code"], "unauthenticated",
        "{}",
        proof.body
    );
    assert_ne!(proof.status, StatusCode::UNAUTHORIZED);
    for path in [
        "/v1/chains/merchant/status",
        "/v1/chains/merchant/entries/open-1",
        "/v1/chains/merchant/proofs/entries/open-1",
        "/v1/reports/trial-balance",
    ] {
        node.get(path, Some(&partner)).await.refused(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            &format!("token is for chain '{consortium_id}', this is chain 'merchant'"),
        );
    }
    // On its own chain the partner is an ordinary member.
    let status = node
        .get(
            &format!("/v1/chains/{consortium_id}/status"),
            Some(&partner),
        )
        .await;
    assert_eq!(status.ok()["chain_id"], consortium_id.as_str());
}

#[tokio::test]
async fn this_enterprises_members_read_its_copy_of_the_consortium_chain() {
    let node = Node::new();
    let consortium_id = node.consortium.chain_id().to_string();
    // The merchant's finance member is no consortium member, but this node is the merchant's
    // consortium validator: it may read the consortium chain here, not write to it.
    let finance = token(node.member("client"), "merchant");
    let status = node
        .get(
            &format!("/v1/chains/{consortium_id}/status"),
            Some(&finance),
        )
        .await;
    assert_eq!(status.ok()["chain_id"], consortium_id.as_str());
    let reply = node
        .call(
            &node.router(&ApiConfig::default()),
            Request::post(format!("/v1/chains/{consortium_id}/transactions"))
                .header(header::AUTHORIZATION, format!("Bearer {finance}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(
        reply.body["error"]["message"],
        format!("token is for chain 'merchant', this is chain '{consortium_id}'").as_str()
    );
}

#[tokio::test]
async fn a_member_past_its_burst_waits_and_others_do_not() {
    let node = Node::new();
    let burst = 5;
    let config = ApiConfig {
        member_requests_per_second: NonZeroU32::new(1).unwrap(),
        member_burst: NonZeroU32::new(burst).unwrap(),
        ..ApiConfig::default()
    };
    let router = node.router(&config);
    let client = token(node.member("client"), "merchant");
    for _ in 0..burst {
        node.get_with(&router, "/v1/status", Some(&client))
            .await
            .ok();
    }
    let limited = node.get_with(&router, "/v1/status", Some(&client)).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.body
    );
    assert_eq!(limited.body["error"]["code"], "rate_limited");
    assert_eq!(limited.headers[header::RETRY_AFTER], "1");
    assert_eq!(
        limited.body["error"]["message"],
        "too many requests; retry after 1 s"
    );
    // Another member of the same node is not affected.
    let auditor = token(node.member("auditor"), "merchant");
    node.get_with(&router, "/v1/status", Some(&auditor))
        .await
        .ok();
}

#[tokio::test]
async fn an_ip_sending_bad_tokens_is_limited_before_any_signature_check() {
    let node = Node::new();
    let burst = 3;
    let config = ApiConfig {
        ip_requests_per_second: NonZeroU32::new(1).unwrap(),
        ip_burst: NonZeroU32::new(burst).unwrap(),
        ..ApiConfig::default()
    };
    let router = node.router(&config);
    let from = |address: [u8; 4], token: &str| {
        let mut request = Request::get("/v1/status")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((address, 40_000))));
        request
    };
    let stranger = token(&SecretKey::from_seed([66; 32]), "merchant");
    for _ in 0..burst {
        let reply = node.call(&router, from([10, 0, 0, 1], &stranger)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let limited = node.call(&router, from([10, 0, 0, 1], &stranger)).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.body
    );
    assert_eq!(limited.headers[header::RETRY_AFTER], "1");
    // A good token from the same address is refused too until the bucket refills (its first
    // use needs a signature check), while another address is served.
    let client = token(node.member("client"), "merchant");
    let same_ip = node.call(&router, from([10, 0, 0, 1], &client)).await;
    assert_eq!(same_ip.status, StatusCode::TOO_MANY_REQUESTS);
    node.call(&router, from([10, 0, 0, 2], &client)).await.ok();
    // Once verified, the token no longer draws on its address's bucket.
    for _ in 0..burst + 2 {
        node.call(&router, from([10, 0, 0, 2], &client)).await.ok();
    }
}

#[tokio::test]
async fn an_oversized_body_is_a_json_413() {
    let node = Node::new();
    let client = token(node.member("client"), "merchant");
    let body = vec![b' '; tally_node::api::REQUEST_BYTES_MAX + 1];
    let reply = node
        .call(
            &node.router(&ApiConfig::default()),
            Request::post("/v1/transactions")
                .header(header::AUTHORIZATION, format!("Bearer {client}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.body
    );
    assert_eq!(reply.body["error"]["code"], "request_too_large");
    assert!(reply.body["error"]["message"].is_string());
}
