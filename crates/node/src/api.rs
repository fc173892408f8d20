//! The node's HTTP API (`/v1`): submit signed transactions, read entries, status, reports and
//! period closes.
//!
//! Every error is a JSON body `{"error": {"code", "message"}}` with a 4xx status; nothing a client
//! sends can panic the node or change state when it is refused.

use axum::{
    extract::{
        rejection::{JsonRejection, QueryRejection},
        DefaultBodyLimit, Path, Query, State,
    },
    http::StatusCode,
    response::{IntoResponse, Response},
    Json, Router,
};
use tally_chain::{CloseError, SignedTx, Transaction, TxBody, TxError};
use tally_consensus::{AdmitError, ChainHandle, Outcome, Receipt, SubmitError};
use tally_ledger::{AccountCode, Date, EntryId, PeriodError, PostError};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::wire::{
    AccountJson, BlockJson, CloseProgressJson, ClosingJson, ClosingsJson, CommittedEntryJson,
    EntriesPageJson, ErrorDetail, ErrorJson, StatusJson, SubmitJson, TxStatusJson,
};

/// Entries in a page of `GET /v1/entries` when `limit` is not given: a page of this size is
/// about a megabyte of JSON, quick to serve and to parse.
pub const ENTRIES_PAGE_DEFAULT: usize = 500;

/// Most entries a page of `GET /v1/entries` may ask for: bounds the memory and time of one
/// request (about ten megabytes of JSON) whatever the client asks.
pub const ENTRIES_PAGE_MAX: usize = 5_000;

/// Most entries one page of `GET /v1/entries` looks at while filtering. A filter that matches
/// rarely would otherwise read the whole log in one request; past this bound the page is
/// returned short (even empty) with a `next` cursor to continue from.
pub const ENTRIES_SCANNED_PER_PAGE_MAX: usize = 50_000;

/// Largest request body. A full signed batch of 8,192 entries is a few MiB of JSON; anything far
/// beyond that is refused before it is parsed.
pub const REQUEST_BYTES_MAX: usize = 32 * 1024 * 1024;

pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorJson {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "request_too_large"
        } else {
            "malformed_request"
        };
        ApiError::new(status, code, rejection.body_text())
    }
}

/// The stable code and HTTP status of a transaction rule violation.
fn tx_error_code(error: &TxError) -> (StatusCode, &'static str) {
    match error {
        TxError::UnknownSigner { .. }
        | TxError::SignerRevoked { .. }
        | TxError::CertificateExpired { .. } => (StatusCode::FORBIDDEN, "not_a_member"),
        TxError::NotAllowed { .. } => (StatusCode::FORBIDDEN, "not_allowed"),
        TxError::InBatch { source, .. } => tx_error_code(source),
        TxError::Entry(tally_ledger::EntryError::Unbalanced { .. }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "unbalanced")
        }
        TxError::Entry(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_entry"),
        TxError::Post(post) => match post {
            PostError::UnknownAccount { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unknown_account")
            }
            PostError::DuplicateId { .. } => (StatusCode::CONFLICT, "duplicate_id"),
            PostError::RoleNotAllowed { .. } => (StatusCode::FORBIDDEN, "not_allowed"),
            PostError::PeriodClosed { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "period_closed"),
            PostError::PeriodClosing { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "period_closing"),
            _ => (StatusCode::UNPROCESSABLE_ENTITY, "rule_violated"),
        },
        TxError::BadSignature => (StatusCode::BAD_REQUEST, "bad_signature"),
        TxError::Account(tally_ledger::AccountError::RoleNotAllowed { .. })
        | TxError::Close(CloseError::NotInPolicy { .. }) => (StatusCode::FORBIDDEN, "not_allowed"),
        TxError::Close(CloseError::AlreadySigned { .. }) => {
            (StatusCode::CONFLICT, "already_signed")
        }
        TxError::Close(CloseError::TrialBalanceDiffers { .. }) => {
            (StatusCode::CONFLICT, "trial_balance_differs")
        }
        TxError::Close(CloseError::Period(PeriodError::OtherClosePending { .. })) => {
            (StatusCode::CONFLICT, "close_pending")
        }
        TxError::Close(CloseError::Period(
            PeriodError::Backwards { .. } | PeriodError::AlreadyClosed { .. },
        )) => (StatusCode::CONFLICT, "already_closed"),
        TxError::Sealing(tally_chain::SealingError::NotAdmin { .. }) => {
            (StatusCode::FORBIDDEN, "not_allowed")
        }
        TxError::Sealing(tally_chain::SealingError::Erased { .. }) => (StatusCode::GONE, "erased"),
        TxError::Sealing(_) => (StatusCode::UNPROCESSABLE_ENTITY, "key_rule_violated"),
        TxError::DuplicateInTransaction(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "duplicate_in_transaction")
        }
        _ => (StatusCode::UNPROCESSABLE_ENTITY, "rule_violated"),
    }
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        match &error {
            SubmitError::BadSignature { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_signature", error.to_string())
            }
            SubmitError::Rejected(tx) => {
                let (status, code) = tx_error_code(tx);
                ApiError::new(status, code, error.to_string())
            }
            SubmitError::Mempool(AdmitError::Full) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "mempool_full",
                error.to_string(),
            ),
            SubmitError::Mempool(_) => {
                ApiError::new(StatusCode::CONFLICT, "already_pending", error.to_string())
            }
            SubmitError::Observer { .. } => {
                ApiError::new(StatusCode::CONFLICT, "observer_node", error.to_string())
            }
            SubmitError::Store(_) => internal(&error),
        }
    }
}

pub(crate) fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        error.to_string(),
    )
}

/// The API of a node hosting `chains`: each chain under `/v1/chains/{chain_id}/...`, and the
/// first (home) chain also directly under `/v1/...`. `/v1/chains` lists them and
/// `/v1/openapi.json` describes them all. Requests need a member token ([`crate::auth`]),
/// rate-limited by the default `[api]` limits.
pub fn router(chains: Vec<ChainHandle>) -> Router {
    router_with_limits(chains, &crate::config::ApiConfig::default())
}

/// [`router`] with the rate limits of a node's `[api]` configuration.
pub fn router_with_limits(chains: Vec<ChainHandle>, limits: &crate::config::ApiConfig) -> Router {
    // Generated here, at start-up, rather than on the first request that asks for it.
    std::sync::LazyLock::force(&crate::openapi::DOCUMENT);
    let (node, _) = node_routes().split_for_parts();
    let mut router = node.with_state(chains.clone());
    if let Some(home) = chains.first() {
        router = router.nest("/v1", chain_router(home.clone()));
    }
    for chain in &chains {
        router = router.nest(
            &format!("/v1/chains/{}", chain.chain_id()),
            chain_router(chain.clone()),
        );
    }
    let router = router
        .merge(crate::dashboard::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(REQUEST_BYTES_MAX));
    crate::auth::protect(router, &chains, limits)
}

/// The node-wide endpoints, each registered with its documentation (see [`crate::openapi`]).
pub(crate) fn node_routes() -> OpenApiRouter<Vec<ChainHandle>> {
    OpenApiRouter::default()
        .routes(routes!(list_chains))
        .routes(routes!(crate::openapi::openapi_json))
        .routes(routes!(crate::auth::identity))
}

/// The endpoints of one chain, each registered with its documentation: `routes!` takes handlers
/// annotated with `#[utoipa::path]`, so registering a route here describes it. A route added
/// any other way (a plain `.route`) is served undocumented, which the test `tests/openapi.rs`
/// refuses: it compares the router's routing table with the document.
pub(crate) fn chain_routes() -> OpenApiRouter<ChainHandle> {
    OpenApiRouter::default()
        .routes(routes!(status))
        .routes(routes!(submit))
        .routes(routes!(transaction))
        .routes(routes!(list_entries))
        .routes(routes!(entry))
        .routes(routes!(accounts))
        .routes(routes!(entry_history))
        .routes(routes!(block))
        .routes(routes!(crate::observer::raw_block))
        .routes(routes!(crate::blocks::list_blocks))
        .routes(routes!(crate::contracts::list_contracts))
        .routes(routes!(crate::contracts::contract))
        .routes(routes!(crate::contracts::anchors))
        .routes(routes!(crate::series::series_handler))
        .routes(routes!(entry_proof))
        .routes(routes!(consistency_proof))
        .routes(routes!(closing_proof))
        .routes(routes!(crate::reports::trial_balance))
        .routes(routes!(crate::reports::balance_sheet_handler))
        .routes(routes!(crate::reports::income_statement_handler))
        .routes(routes!(crate::reports::ledger_handler))
        .routes(routes!(crate::reports::ageing_handler))
        .routes(routes!(crate::reports::departments_handler))
        .routes(routes!(intercompany))
        .routes(routes!(closings))
        .routes(routes!(closing))
        .routes(routes!(crate::privacy::members))
        .routes(routes!(crate::privacy::keys))
        .routes(routes!(crate::privacy::contract_terms))
        .routes(routes!(crate::privacy::read, crate::privacy::access_log))
}

/// One chain's endpoints, serving `chain`.
fn chain_router(chain: ChainHandle) -> Router {
    let (routes, _) = chain_routes().split_for_parts();
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(chain)
}

/// The chains this node hosts.
#[utoipa::path(
    get,
    path = "/v1/chains",
    tag = "chain",
    operation_id = "chains",
    responses(
        (status = 200, description = "The status of every chain this node hosts, the home chain \
             first.", body = Vec<StatusJson>),
    ),
)]
async fn list_chains(State(chains): State<Vec<ChainHandle>>) -> Json<Vec<StatusJson>> {
    Json(chains.iter().map(status_of).collect())
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /v1/openapi.json for every endpoint, or /v1/chains, /v1/status, /v1/transactions, /v1/entries, /v1/entries/{id}, /v1/accounts, /v1/blocks/{height}, /v1/reports/{trial-balance,balance-sheet,income-statement,ledger/{account},ageing,departments}, /v1/closings",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; submit with POST /v1/transactions, read with GET",
    )
}

/// The chain's status.
#[utoipa::path(
    get,
    path = "/status",
    tag = "chain",
    responses(
        (status = 200, description = "The chain's height, tip, roots and mempool.",
             body = StatusJson),
    ),
)]
async fn status(State(chain): State<ChainHandle>) -> Json<StatusJson> {
    Json(status_of(&chain))
}

fn status_of(chain: &ChainHandle) -> StatusJson {
    let state = chain.state();
    let stats = chain.stats();
    StatusJson {
        chain_id: chain.chain_id().to_string(),
        enterprise: chain.genesis().enterprise.clone(),
        height: state.height,
        finalized_tip: stats.finalized_tip,
        tip: hex::encode(state.tip),
        state_root: hex::encode(state.state_root()),
        log_root: hex::encode(state.log.root()),
        entries: state.log.len(),
        validators: chain
            .certificate_verifier()
            .map(|verifier| verifier.latest().participants.len())
            .unwrap_or(chain.genesis().validators.len()),
        mempool_entries: chain.mempool_entries(),
        balanced: state.ledger.is_balanced(),
        time_ms: state.time_ms,
        consortium: state.consortium.is_some(),
        validator_set: crate::blocks::validator_set(chain),
        epoch: crate::blocks::current_epoch(chain),
        finality_lag: crate::blocks::finality_lag(chain),
    }
}

/// Submits a signed transaction.
#[utoipa::path(
    post,
    path = "/transactions",
    tag = "chain",
    request_body(content = crate::openapi::transaction::TransactionSchema, description = "A \
         transaction signed by its member (`tally submit` writes one)."),
    responses(
        (status = 202, description = "`accepted`: checked and waiting for a block.",
             body = SubmitJson),
        (status = 200, description = "`committed`: the same transaction was committed before; \
             nothing changed.", body = SubmitJson),
        (status = 400, description = "`malformed_request`: the body is not JSON; `bad_signature`: \
             a signature does not verify.", body = ErrorJson),
        (status = 403, description = "`not_a_member`: the signer is not an active member; \
             `not_allowed`: its role may not do this.", body = ErrorJson),
        (status = 409, description = "`duplicate_id`: an entry with this id is committed with \
             other content; `already_pending`: the transaction waits in the mempool; \
             `already_signed`, `trial_balance_differs`, `close_pending`, `already_closed`: a \
             period close sign-off that does not apply.", body = ErrorJson),
        (status = 410, description = "`erased`: the key epoch is erased.", body = ErrorJson),
        (status = 413, description = "`request_too_large`: the body exceeds the node's request \
             limit (32 MiB).", body = ErrorJson),
        (status = 415, description = "`malformed_request`: the `Content-Type` is not \
             `application/json`.", body = ErrorJson),
        (status = 422, description = "`malformed_request`: the JSON is not a transaction; \
             `unbalanced`, `invalid_entry`, `unknown_account`, `period_closed`, `period_closing`, \
             `key_rule_violated`, `duplicate_in_transaction`, `rule_violated`: the chain's rules \
             refuse it.", body = ErrorJson),
        (status = 429, description = "`mempool_full`: the mempool is full; retry later.",
             body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
async fn submit(
    State(chain): State<ChainHandle>,
    body: Result<Json<Transaction>, JsonRejection>,
) -> Result<(StatusCode, Json<SubmitJson>), ApiError> {
    let Json(tx) = body?;
    // Signature checks and rule checks are CPU work; keep them off the async workers.
    let receipt = tokio::task::spawn_blocking(move || chain.submit(tx))
        .await
        .map_err(internal)??;
    Ok(match receipt {
        Receipt::Accepted { hash } => (
            StatusCode::ACCEPTED,
            Json(SubmitJson {
                status: "accepted".into(),
                hash: hex::encode(hash),
                height: None,
            }),
        ),
        Receipt::AlreadyCommitted { hash, height } => (
            StatusCode::OK,
            Json(SubmitJson {
                status: "committed".into(),
                hash: hex::encode(hash),
                height: Some(height),
            }),
        ),
    })
}

/// The state of a submitted transaction.
#[utoipa::path(
    get,
    path = "/transactions/{hash}",
    tag = "chain",
    params(("hash" = String, Path, description = "The transaction hash, 64 hex digits.")),
    responses(
        (status = 200, description = "`pending`, `committed` (with its height, and for a period \
             close sign-off what it achieved), `rejected` (with the reason) or `unknown`.",
             body = TxStatusJson),
        (status = 400, description = "`malformed_request`: the hash is not 64 hex digits.",
             body = ErrorJson),
    ),
)]
async fn transaction(
    State(chain): State<ChainHandle>,
    Path(hash): Path<String>,
) -> Result<Json<TxStatusJson>, ApiError> {
    let bytes = hex::decode(&hash)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_request",
                "a transaction hash is 64 hex digits",
            )
        })?;
    let status = match chain.outcome(&bytes) {
        Some(Outcome::Pending) => TxStatusJson {
            status: "pending".into(),
            height: None,
            reason: None,
            close: None,
        },
        Some(Outcome::Committed { height, close }) => TxStatusJson {
            status: "committed".into(),
            height: Some(height),
            reason: None,
            close: close.as_ref().map(CloseProgressJson::from_progress),
        },
        Some(Outcome::Rejected { reason }) => TxStatusJson {
            status: "rejected".into(),
            height: None,
            reason: Some(reason),
            close: None,
        },
        None => TxStatusJson {
            status: "unknown".into(),
            height: None,
            reason: None,
            close: None,
        },
    };
    Ok(Json(status))
}

/// One committed entry.
#[utoipa::path(
    get,
    path = "/entries/{id}",
    tag = "entries",
    params(("id" = String, Path, description = "The entry id.")),
    responses(
        (status = 200, description = "The committed entry with its signer, block and time.",
             body = CommittedEntryJson),
        (status = 400, description = "`malformed_request`: not a valid entry id.",
             body = ErrorJson),
        (status = 404, description = "`not_found`: no such entry; `pending`: the entry waits for a \
             block.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
async fn entry(
    State(chain): State<ChainHandle>,
    Path(id): Path<String>,
) -> Result<Json<CommittedEntryJson>, ApiError> {
    let id = EntryId::new(&id).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            error.to_string(),
        )
    })?;
    match chain.entry(&id).map_err(internal)? {
        Some(committed) => Ok(Json(CommittedEntryJson::from_committed(&committed))),
        None if chain.is_pending(&id) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "pending",
            format!("entry '{id}' is waiting for a block"),
        )),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no entry '{id}'"),
        )),
    }
}

/// The query of `GET /v1/entries`, every parameter as text so each error names it exactly.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EntriesQuery {
    account: Option<String>,
    from: Option<String>,
    to: Option<String>,
    reference: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "malformed_request", message)
}

/// The filter, cursor and page size a query asks for, or the first parameter that is wrong.
fn entries_request(
    query: EntriesQuery,
) -> Result<(tally_chain::EntryFilter, Option<u64>, usize), ApiError> {
    let account = query
        .account
        .map(|text| AccountCode::new(&text).map_err(|error| malformed(format!("account: {error}"))))
        .transpose()?;
    let from = query
        .from
        .map(|text| parse_date("from", &text))
        .transpose()?;
    let to = query.to.map(|text| parse_date("to", &text)).transpose()?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(malformed(format!("from {from} is after to {to}")));
        }
    }
    let reference = query
        .reference
        .map(|text| match text.split_once(':') {
            Some((kind, value)) if !kind.is_empty() && !value.is_empty() => {
                Ok((kind.to_string(), value.to_string()))
            }
            _ => Err(malformed(format!(
                "reference: '{text}' is not KIND:VALUE (e.g. order:1001)"
            ))),
        })
        .transpose()?;
    let after = query
        .after
        .map(|text| {
            text.parse::<u64>().map_err(|_| {
                malformed(format!(
                    "after: '{text}' is not a cursor (the number a previous page gave as next)"
                ))
            })
        })
        .transpose()?;
    let limit = match query.limit {
        None => ENTRIES_PAGE_DEFAULT,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=ENTRIES_PAGE_MAX).contains(&limit) => limit,
            _ => {
                return Err(malformed(format!(
                    "limit: '{text}' is not a number between 1 and {ENTRIES_PAGE_MAX}"
                )))
            }
        },
    };
    let filter = tally_chain::EntryFilter {
        account,
        from,
        to,
        reference,
    };
    Ok((filter, after, limit))
}

/// Committed entries in commit order (height, then position), optionally filtered, a page at
/// a time: `next` is the cursor of the following page, `null` at the end of the log.
#[utoipa::path(
    get,
    path = "/entries",
    tag = "entries",
    summary = "Committed entries in commit order, optionally filtered, a page at a time.",
    params(crate::openapi::EntriesParams),
    responses(
        (status = 200, description = "A page of committed entries in commit order; `next` is the \
             cursor of the following page, `null` at the end of the log.", body = EntriesPageJson),
        (status = 400, description = "`malformed_request`: an unknown parameter, or one that is \
             not valid (each message names it).", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
async fn list_entries(
    State(chain): State<ChainHandle>,
    query: Result<Query<EntriesQuery>, QueryRejection>,
) -> Result<Json<EntriesPageJson>, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        malformed(format!(
            "{}; the parameters are account, from, to, reference, after and limit",
            rejection.body_text()
        ))
    })?;
    let (filter, after, limit) = entries_request(query)?;
    let page = tokio::task::spawn_blocking(move || {
        chain
            .store()
            .entries_in_log_order(after, &filter, limit, ENTRIES_SCANNED_PER_PAGE_MAX)
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    Ok(Json(EntriesPageJson {
        entries: page
            .entries
            .iter()
            .map(CommittedEntryJson::from_committed)
            .collect(),
        next: page.next,
    }))
}

/// The chart of accounts, in code order, open and closed.
#[utoipa::path(
    get,
    path = "/accounts",
    tag = "entries",
    responses(
        (status = 200, description = "The chart of accounts in code order, open and closed.",
             body = Vec<AccountJson>),
    ),
)]
async fn accounts(State(chain): State<ChainHandle>) -> Json<Vec<AccountJson>> {
    let state = chain.state();
    Json(
        state
            .ledger
            .accounts()
            .map(AccountJson::from_account)
            .collect(),
    )
}

/// The history of an entry: who changed what, when.
#[utoipa::path(
    get,
    path = "/entries/{id}/history",
    tag = "audit",
    params(("id" = String, Path, description = "The entry id.")),
    responses(
        (status = 200, description = "The entry, its author, and every later reversal or \
             adjustment of it (and of those) with authors and reasons.",
             body = crate::history::EntryHistoryJson),
        (status = 400, description = "`malformed_request`: not a valid entry id.",
             body = ErrorJson),
        (status = 404, description = "`not_found`: no such committed entry.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
async fn entry_history(
    State(chain): State<ChainHandle>,
    Path(id): Path<String>,
) -> Result<Json<crate::history::EntryHistoryJson>, ApiError> {
    let id = EntryId::new(&id).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            error.to_string(),
        )
    })?;
    crate::history::entry_history(chain.store(), &chain.state(), &id)
        .map_err(internal)?
        .map(Json)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no entry '{id}'"),
            )
        })
}

/// One block's header and finalization certificate.
#[utoipa::path(
    get,
    path = "/blocks/{height}",
    tag = "chain",
    params(("height" = u64, Path, description = "The block height.")),
    responses(
        (status = 200, description = "The block header with its finalization certificate, if it \
             has its own.", body = BlockJson),
        (status = 400, description = "`malformed_request`: not a block height.", body = ErrorJson),
        (status = 404, description = "`not_found`: no block at this height yet.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
        (status = 503, description = "`damaged`: a stored block failed its check and is not \
             repaired yet; the node serves nothing rather than damaged data.", body = ErrorJson),
    ),
)]
async fn block(
    State(chain): State<ChainHandle>,
    Path(height): Path<String>,
) -> Result<Json<BlockJson>, ApiError> {
    let (block, certificate) = finalized_block(&chain, &height).await?;
    Ok(Json(BlockJson::from_block(&block, certificate.as_deref())))
}

/// The committed block at the height a path gives, checked against the digest the chain
/// committed to, with its own finalization certificate if it has one.
pub(crate) async fn finalized_block(
    chain: &ChainHandle,
    height: &str,
) -> Result<(tally_chain::Block, Option<Vec<u8>>), ApiError> {
    let height: u64 = height.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            format!("'{height}' is not a block height"),
        )
    })?;
    let block = chain
        .checked_block(height)
        .await
        .map_err(read_error)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no block at height {height} yet"),
            )
        })?;
    let certificate = chain.store().certificate(height).map_err(internal)?;
    Ok((block, certificate))
}

/// A stored block failed its check and could not be repaired yet: the node serves nothing
/// rather than damaged data.
pub(crate) fn read_error(error: tally_consensus::ReadError) -> ApiError {
    match error {
        tally_consensus::ReadError::Damaged { .. } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "damaged",
            error.to_string(),
        ),
        tally_consensus::ReadError::Store(error) => internal(error),
    }
}

/// A proof file's bytes (see `tally_audit::proof`), as `tally proof check` reads them.
fn proof_response(proof: tally_audit::Proof) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
        proof.to_bytes(),
    )
        .into_response()
}

fn prove_error(error: tally_audit::ProveError) -> ApiError {
    use tally_audit::ProveError;
    match error {
        ProveError::UnknownEntry(_)
        | ProveError::UnknownBlock(_)
        | ProveError::UnknownClosing(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", error.to_string())
        }
        ProveError::NotCertified(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_final_yet", error.to_string())
        }
        ProveError::BadRange { .. } | ProveError::TooLong { .. } => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            error.to_string(),
        ),
        ProveError::UnknownSigner(_) | ProveError::Inconsistent(_) | ProveError::Store(_) => {
            internal(error)
        }
    }
}

/// An inclusion proof of a committed entry.
#[utoipa::path(
    get,
    path = "/proofs/entries/{id}",
    tag = "audit",
    params(("id" = String, Path, description = "The entry id.")),
    responses(
        (status = 200, description = "The proof file (see `tally_audit::proof`), which `tally \
             proof check` verifies with the genesis file alone.",
             content(("application/octet-stream"))),
        (status = 400, description = "`malformed_request`: not a valid entry id.",
             body = ErrorJson),
        (status = 404, description = "`not_found`: no such committed entry; `not_final_yet`: its \
             block has no finalization certificate yet.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
        (status = 503, description = "`damaged`: a stored block failed its check and is not \
             repaired yet; the node serves nothing rather than damaged data.", body = ErrorJson),
    ),
)]
async fn entry_proof(
    State(chain): State<ChainHandle>,
    Path(id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    let id = EntryId::new(&id).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            error.to_string(),
        )
    })?;
    // The proof carries the entry's block: check (and repair) it first.
    if let Some(committed) = chain.store().entry(&id).map_err(internal)? {
        chain
            .checked_block(committed.height)
            .await
            .map_err(read_error)?;
    }
    let proof =
        tally_audit::prove_entry(chain.store(), &chain.state(), &id).map_err(prove_error)?;
    Ok(proof_response(proof))
}

/// A proof of a completed period close and its closing trial balance.
#[utoipa::path(
    get,
    path = "/proofs/closings/{through}",
    tag = "audit",
    params(("through" = String, Path, format = Date, description = "The last day of the closed \
         period.")),
    responses(
        (status = 200, description = "The proof file (see `tally_audit::proof`), which `tally \
             proof check` verifies with the genesis file alone.",
             content(("application/octet-stream"))),
        (status = 400, description = "`malformed_request`: not a date.", body = ErrorJson),
        (status = 404, description = "`not_found`: no such completed close; `not_final_yet`: its \
             block has no finalization certificate yet.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
async fn closing_proof(
    State(chain): State<ChainHandle>,
    Path(through): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    let through = parse_date("through", &through)?;
    let proof =
        tally_audit::prove_closing(chain.store(), &chain.state(), through).map_err(prove_error)?;
    Ok(proof_response(proof))
}

#[derive(serde::Deserialize)]
struct RangeQuery {
    from: u64,
    to: u64,
}

/// A proof that the block at `to` extends the block at `from`.
#[utoipa::path(
    get,
    path = "/proofs/consistency",
    tag = "audit",
    params(("from" = u64, Query, description = "The earlier block height."
         ), ("to" = u64, Query, description = "The later block height.")),
    responses(
        (status = 200, description = "The proof file (see `tally_audit::proof`), which `tally \
             proof check` verifies with the genesis file alone.",
             content(("application/octet-stream"))),
        (status = 400, description = "`malformed_request`: `from` or `to` is missing or not a \
             height, or the range is backwards or too long.", body = ErrorJson),
        (status = 404, description = "`not_found`: no such block; `not_final_yet`: its block has \
             no finalization certificate yet.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
async fn consistency_proof(
    State(chain): State<ChainHandle>,
    query: Result<axum::extract::Query<RangeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    let axum::extract::Query(range) = query.map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            format!("expected ?from=HEIGHT&to=HEIGHT: {}", error.body_text()),
        )
    })?;
    let proof =
        tally_audit::prove_consistency(chain.store(), chain.chain_id(), range.from, range.to)
            .map_err(prove_error)?;
    Ok(proof_response(proof))
}

fn parse_date(field: &str, text: &str) -> Result<Date, ApiError> {
    Date::parse(text).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            format!("{field}: {error}"),
        )
    })
}

/// The close policy, the close under way and every completed close (without trial balances).
#[utoipa::path(
    get,
    path = "/closings",
    tag = "reports",
    responses(
        (status = 200, description = "The close policy, the close under way and every completed \
             close, oldest first (without trial balances).", body = ClosingsJson),
    ),
)]
async fn closings(State(chain): State<ChainHandle>) -> Json<ClosingsJson> {
    let state = chain.state();
    Json(ClosingsJson::from_closes(&state.closes, &state.ledger))
}

/// One completed close with its closing trial balance, read from the final sign-off in the
/// stored block (the state records where it is).
#[utoipa::path(
    get,
    path = "/closings/{through}",
    tag = "reports",
    summary = "One completed close with its closing trial balance.",
    params(("through" = String, Path, format = Date, description = "The last day of the closed \
         period.")),
    responses(
        (status = 200, description = "The completed close with its closing trial balance, as the \
             final sign-off carries it.", body = ClosingJson),
        (status = 400, description = "`malformed_request`: not a date.", body = ErrorJson),
        (status = 404, description = "`not_found`: no close through this day; `pending`: the close \
             waits for sign-offs (the message names the roles).", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
async fn closing(
    State(chain): State<ChainHandle>,
    Path(through): Path<String>,
) -> Result<Json<ClosingJson>, ApiError> {
    let through = parse_date("through", &through)?;
    let state = chain.state();
    let Some(closing) = state.closes.closing(through) else {
        return Err(match state.closes.pending(&state.ledger) {
            Some((pending, _)) if pending == through => {
                let waiting: Vec<&str> = state
                    .closes
                    .waiting_for()
                    .into_iter()
                    .map(|role| role.as_str())
                    .collect();
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "pending",
                    format!(
                        "the close through {through} waits for the sign-off of: {}",
                        waiting.join(", ")
                    ),
                )
            }
            _ => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no close through {through}; see /v1/closings"),
            ),
        });
    };
    let block = chain
        .store()
        .block(closing.height)
        .map_err(internal)?
        .ok_or_else(|| internal(format!("block {} is not stored", closing.height)))?;
    match block.transactions.get(closing.tx_index as usize) {
        Some(Transaction::Single(SignedTx {
            body: TxBody::ClosePeriod(sign_off),
            ..
        })) if sign_off.through == through => Ok(Json(ClosingJson::from_closing(
            closing,
            Some(&sign_off.trial_balance),
        ))),
        _ => Err(internal(format!(
            "block {} does not carry the final sign-off of the close through {through} at position {}",
            closing.height, closing.tx_index
        ))),
    }
}

#[derive(serde::Deserialize)]
struct IntercompanyQuery {
    with: String,
}

/// This chain's automatic bookings against one partner, per contract (see [`crate::reconcile`]).
#[utoipa::path(
    get,
    path = "/reports/intercompany",
    tag = "reports",
    summary = "This chain's automatic bookings against one partner, per contract.",
    params(("with" = String, Query, description = "The partner enterprise's name.")),
    responses(
        (status = 200, description = "This chain's automatic bookings against the partner, per \
             contract and currency.", body = Vec<crate::reconcile::IntercompanyLine>),
        (status = 400, description = "`malformed_request`: `with` is missing or not an enterprise \
             name.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
async fn intercompany(
    State(chain): State<ChainHandle>,
    query: Result<Query<IntercompanyQuery>, QueryRejection>,
) -> Result<Json<Vec<crate::reconcile::IntercompanyLine>>, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            format!(
                "{}; name the partner enterprise with ?with=NAME",
                rejection.body_text()
            ),
        )
    })?;
    let partner = tally_contracts::EnterpriseName::new(&query.with).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            error.to_string(),
        )
    })?;
    let entries = tokio::task::spawn_blocking(move || {
        chain
            .store()
            .entries_with_prefix(crate::reconcile::DERIVED_PREFIX)
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    Ok(Json(crate::reconcile::intercompany(
        &entries,
        &tally_contracts::PostingRules::default(),
        partner.as_str(),
    )))
}
