//! The node's OpenAPI 3.1 document, served at `GET /v1/openapi.json`.
//!
//! The document is not written by hand: every route is registered with `utoipa_axum::routes!`
//! from a handler annotated with `#[utoipa::path]` (see `api::chain_routes` and
//! `api::node_routes`), so registering a route and documenting it are one call. This module adds
//! what no single handler knows: the document's description and tags, the member token security
//! scheme with its `401` and `429` answers on every operation that needs a token, the query
//! parameters whose bounds are named constants, and the JSON schema of the signed transactions
//! clients post (a type of the consensus crates, which do not depend on utoipa).
//!
//! Invariant: the document is generated once per process, before the API serves anything, and
//! served as the same bytes to every request.

use std::sync::LazyLock;

use axum::{body::Bytes, http::header, response::IntoResponse};
use utoipa::openapi::{
    path::{Operation, Parameter, ParameterBuilder, ParameterIn},
    response::{Response, ResponseBuilder},
    schema::{ObjectBuilder, Schema, SchemaFormat, Type},
    security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme},
    tag::TagBuilder,
    ContentBuilder, HeaderBuilder, InfoBuilder, KnownFormat, OpenApi, OpenApiBuilder, RefOr,
    Required,
};
use utoipa::IntoParams;

use crate::api::{ENTRIES_PAGE_DEFAULT, ENTRIES_PAGE_MAX};
use crate::privacy::ACCESS_LOG_BLOCKS_MAX;
use crate::reports::{LEDGER_PAGE_DEFAULT, LEDGER_PAGE_MAX};

/// The name of the security scheme every authenticated operation requires.
pub const SECURITY_SCHEME: &str = "member_token";

/// Where the document is served; it needs no token, so clients can discover the API first.
pub const DOCUMENT_PATH: &str = "/v1/openapi.json";

/// Operations (method, path) served without a token. Every other `/v1` operation requires
/// [`SECURITY_SCHEME`].
pub const OPEN_OPERATIONS: [(&str, &str); 2] = [("get", DOCUMENT_PATH), ("get", "/v1/identity")];

/// The areas operations are tagged with, in the order a reader meets them, with what each holds.
pub const TAGS: [(&str, &str); 6] = [
    (
        "chain",
        "The chains a node hosts, their status, blocks, members and transactions.",
    ),
    (
        "entries",
        "Committed journal entries and the chart of accounts.",
    ),
    (
        "reports",
        "Trial balance, statements, account ledger, ageing, departments, intercompany \
         movements and period closes, as of the head, a past height or a date.",
    ),
    (
        "audit",
        "An entry's history and self-contained proofs that `tally proof check` verifies.",
    ),
    (
        "privacy",
        "Key epochs of sealed fields, signed reads of sealed fields and the access log.",
    ),
    ("contracts", "Consortium contracts' sealed private terms."),
];

const DESCRIPTION: &str = "The HTTP API of a Tally node. Every error is a JSON body \
`{\"error\": {\"code\", \"message\"}}` (the `ErrorJson` schema) whose `code` is stable; each \
response lists the codes it can carry.\n\n\
The paths below are those of the node's home chain (`/v1/...`). Every chain the node hosts, the \
home chain included, is also served under `/v1/chains/{chain_id}/...` with the same operations \
(`GET /v1/chains` lists them), e.g. `/v1/chains/{chain_id}/status`.\n\n\
Transactions are signed by clients (`tally submit`, `tally close-period`, ...), never by the \
node. Amounts the node answers with are decimal strings in the currency's units, so no JSON \
parser rounds them; signed transactions carry integer minor units, as they are signed.";

/// The document as served: generated on first use (the router forces it at start-up).
pub static DOCUMENT: LazyLock<Bytes> = LazyLock::new(|| {
    Bytes::from(serde_json::to_vec(&document()).expect("an OpenAPI document serialises to JSON"))
});

/// Serves the OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "chain",
    operation_id = "openapi",
    responses(
        (status = 200, description = "This document (OpenAPI 3.1), the same bytes on every \
             request.",
         content_type = "application/json", body = Object),
    ),
)]
pub(crate) async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.clone(),
    )
}

/// The node's OpenAPI document, derived from the routes' registration.
pub fn document() -> OpenApi {
    let base = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Tally node API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .build(),
        )
        .tags(Some(TAGS.iter().map(|(name, description)| {
            TagBuilder::new()
                .name(*name)
                .description(Some(*description))
                .build()
        })))
        .build();
    let mut document = base;
    document.merge(crate::api::node_routes().into_openapi());
    let mut document = document.nest("/v1", crate::api::chain_routes().into_openapi());
    secure(&mut document);
    document
}

/// Declares the member token scheme and applies it, with its `401` and `429` answers, to every
/// operation but the open ones.
fn secure(document: &mut OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.bearer_format = Some("tally member token".into());
    bearer.description = Some(
        "`Authorization: Bearer <token>`: a short-lived token the member signs with its own \
         Ed25519 member key for one chain (`tally token --key FILE --node URL` prints one). A \
         missing, malformed, expired or badly signed token, a token for another chain, or a \
         revoked member is answered `401 unauthenticated`; a role that may not use an endpoint \
         `403 not_allowed`; too many requests `429 rate_limited`."
            .into(),
    );
    components.security_schemes.insert(
        SECURITY_SCHEME.into(),
        RefOr::T(SecurityScheme::Http(bearer)),
    );
    for (path, item) in document.paths.paths.iter_mut() {
        let operations = [
            ("get", item.get.as_mut()),
            ("post", item.post.as_mut()),
            ("put", item.put.as_mut()),
            ("delete", item.delete.as_mut()),
            ("patch", item.patch.as_mut()),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else {
                continue;
            };
            if OPEN_OPERATIONS.contains(&(method, path.as_str())) {
                continue;
            }
            operation.security = Some(vec![SecurityRequirement::new(
                SECURITY_SCHEME,
                Vec::<String>::new(),
            )]);
            add_response(operation, "401", unauthenticated());
            add_response(operation, "429", rate_limited());
        }
    }
}

/// Adds a common response; where the operation has its own for that status, its description
/// gains the common one instead (one status, one response).
fn add_response(operation: &mut Operation, status: &str, common: Response) {
    match operation.responses.responses.get_mut(status) {
        Some(RefOr::T(own)) => {
            own.description = format!("{} {}", own.description, common.description);
        }
        _ => {
            operation
                .responses
                .responses
                .insert(status.into(), RefOr::T(common));
        }
    }
}

fn error_content() -> utoipa::openapi::content::Content {
    ContentBuilder::new()
        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
            "ErrorJson",
        ))))
        .build()
}

fn unauthenticated() -> Response {
    ResponseBuilder::new()
        .description(
            "`unauthenticated`: no valid member token for this chain (missing, malformed, \
             expired, not yet valid, for another chain, badly signed, or of an unknown or \
             revoked member).",
        )
        .header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some("`Bearer`"))
                .build(),
        )
        .content("application/json", error_content())
        .build()
}

fn rate_limited() -> Response {
    ResponseBuilder::new()
        .description("`rate_limited`: too many requests from this member or address.")
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                .description(Some("Seconds to wait before the next request."))
                .build(),
        )
        .content("application/json", error_content())
        .build()
}

// ---------------------------------------------------------------------------------------------
// Query parameters whose bounds are named constants.

fn query(name: &str, schema: ObjectBuilder, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(Schema::Object(schema.build())))
        .build()
}

fn text() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn date() -> ObjectBuilder {
    text().format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
}

fn count() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0))
}

/// `GET /v1/blocks`.
pub struct BlocksParams;

impl IntoParams for BlocksParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            query(
                "before",
                count(),
                "List the blocks below this height (default: from the head down).",
            ),
            query(
                "limit",
                count()
                    .minimum(Some(1))
                    .maximum(Some(crate::blocks::BLOCKS_PAGE_MAX))
                    .default(Some(crate::blocks::BLOCKS_PAGE_DEFAULT.into())),
                "Most blocks in the page.",
            ),
        ]
    }
}

/// `GET /v1/contracts`.
pub struct ContractsParams;

impl IntoParams for ContractsParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            query(
                "party",
                text(),
                "Only contracts this enterprise is a party to.",
            ),
            query(
                "kind",
                text(),
                "Only contracts of this kind: trade, shipping or commission.",
            ),
            query(
                "state",
                text(),
                "Only contracts in this state (proposed, confirmed, accepted, shipped, delivered, \
                 invoiced, settled, cancelled).",
            ),
            query(
                "after",
                text(),
                "The `next` of a previous page: continue after this contract id.",
            ),
            query(
                "limit",
                count()
                    .minimum(Some(1))
                    .maximum(Some(crate::contracts::CONTRACTS_PAGE_MAX as u64))
                    .default(Some(
                        (crate::contracts::CONTRACTS_PAGE_DEFAULT as u64).into(),
                    )),
                "Most contracts in the page.",
            ),
        ]
    }
}

/// `GET /v1/reports/series`.
pub struct SeriesParams;

impl IntoParams for SeriesParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut account = query("account", text(), "The account code (required).");
        account.required = Required::True;
        vec![
            account,
            query(
                "currency",
                text(),
                "The currency, when the account holds several.",
            ),
            query(
                "interval",
                text(),
                "day (default), week (ending Sunday) or month.",
            ),
            query(
                "from",
                date(),
                "The first day (default: the account's first posting).",
            ),
            query(
                "to",
                date(),
                "The last day (default: the later of the head block's day and the last posting).",
            ),
        ]
    }
}

/// `GET /v1/entries`.
pub struct EntriesParams;

impl IntoParams for EntriesParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            query(
                "account",
                text(),
                "Only entries posting to this account code.",
            ),
            query("from", date(), "Only entries dated on or after this day."),
            query("to", date(), "Only entries dated on or before this day."),
            query(
                "reference",
                text(),
                "Only entries with this reference, as KIND:VALUE (e.g. `order:1001`).",
            ),
            query(
                "after",
                count(),
                "The cursor a previous page gave as `next`: continue after it.",
            ),
            query(
                "limit",
                count()
                    .minimum(Some(1))
                    .maximum(Some(ENTRIES_PAGE_MAX as u64))
                    .default(Some(ENTRIES_PAGE_DEFAULT.into())),
                "Most entries in the page. A page looks at a bounded number of entries, so a \
                 rare filter may return a short (even empty) page with a `next` cursor.",
            ),
        ]
    }
}

fn point_params() -> Vec<Parameter> {
    vec![
        query(
            "as_of",
            date(),
            "Only entries dated on or before this day count.",
        ),
        query(
            "height",
            count(),
            "The block height to report at (default: the head).",
        ),
        query(
            "currency",
            text(),
            "A reporting currency (ISO 4217) to convert into, at the latest rate recorded on \
             the chain on or before the point.",
        ),
    ]
}

/// The reports as of a point in time: trial balance, balance sheet, income statement,
/// departments.
pub struct PointParams;

impl IntoParams for PointParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        point_params()
    }
}

/// `GET /v1/reports/ledger/{account}`.
pub struct LedgerParams;

impl IntoParams for LedgerParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params = point_params();
        params.push(query(
            "after",
            count(),
            "The `next` of the previous page: continue after this posting.",
        ));
        params.push(query(
            "limit",
            count()
                .minimum(Some(1))
                .maximum(Some(LEDGER_PAGE_MAX as u64))
                .default(Some(LEDGER_PAGE_DEFAULT.into())),
            "Most postings in the page.",
        ));
        params
    }
}

/// `GET /v1/reports/ageing`.
pub struct AgeingParams;

impl IntoParams for AgeingParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params = point_params();
        params.push(query(
            "side",
            text()
                .enum_values(Some(["receivable", "payable"]))
                .default(Some("receivable".into())),
            "Receivables (asset accounts with a sub-ledger) or payables (liability accounts).",
        ));
        params
    }
}

/// `GET /v1/reads`: the access log.
pub struct AccessLogParams;

impl IntoParams for AccessLogParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let range = format!(
            "The range covers at most {ACCESS_LOG_BLOCKS_MAX} blocks (by default the last \
             {ACCESS_LOG_BLOCKS_MAX} up to the head)."
        );
        vec![
            query("from", count(), &format!("First block height. {range}")),
            query(
                "to",
                count(),
                &format!("Last block height (at most the head). {range}"),
            ),
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// The JSON of signed transactions.

/// Schemas of the JSON serde gives the consensus crates' transaction types (external enum
/// tagging, keys and signatures as hex, byte arrays as arrays of numbers). These types are never
/// built: they only describe `tally_chain::Transaction` and its parts for the document, and the
/// test `tests/openapi.rs` checks real transactions against them.
#[allow(dead_code)]
pub mod transaction {
    use utoipa::ToSchema;

    use crate::wire::ReferenceJson;

    /// A transaction as clients post it: one body signed by one member, or a batch of entries
    /// under one signature over their Merkle root.
    #[derive(ToSchema)]
    #[schema(as = Transaction)]
    pub enum TransactionSchema {
        Single(SignedTxSchema),
        Batch(SignedBatchSchema),
    }

    /// One body signed by one member, over the body's canonical encoding and the chain id.
    #[derive(ToSchema)]
    #[schema(as = SignedTx)]
    pub struct SignedTxSchema {
        pub body: TxBodySchema,
        /// The signer's Ed25519 public key, hex.
        #[schema(min_length = 64, max_length = 64)]
        pub signer: String,
        /// The Ed25519 signature, hex.
        #[schema(min_length = 128, max_length = 128)]
        pub signature: String,
    }

    /// Up to 8,192 entries signed once (`tally_chain::BATCH_ENTRIES_MAX`).
    #[derive(ToSchema)]
    #[schema(as = SignedBatch)]
    pub struct SignedBatchSchema {
        #[schema(min_items = 1, max_items = 8192)]
        pub entries: Vec<EntryDraftSchema>,
        /// The signer's Ed25519 public key, hex.
        #[schema(min_length = 64, max_length = 64)]
        pub signer: String,
        /// The Ed25519 signature over the batch's Merkle root, hex.
        #[schema(min_length = 128, max_length = 128)]
        pub signature: String,
    }

    /// What a signed transaction asks the chain to do. `Post` and `Read` are described in full;
    /// the administrative bodies are the JSON the `tally` commands that make them write.
    #[derive(ToSchema)]
    #[schema(as = TxBody)]
    pub enum TxBodySchema {
        /// Post one journal entry.
        Post(EntryDraftSchema),
        /// A member's read of sealed fields (see `POST /v1/reads`).
        Read(ReadRecordSchema),
        /// Open an account in the chart (`tally_ledger::Account`).
        #[schema(value_type = Object)]
        OpenAccount(serde_json::Value),
        /// Close an account (its code); its balance must be zero.
        CloseAccount(String),
        /// One role's sign-off of a period close (`tally close-period`).
        #[schema(value_type = Object)]
        ClosePeriod(serde_json::Value),
        /// Admit a member certified by the enterprise root key.
        #[schema(value_type = Object)]
        RegisterMember(serde_json::Value),
        /// Revoke a member (its public key, hex).
        RevokeMember(String),
        /// A contract call on the consortium chain.
        #[schema(value_type = Object)]
        Contract(serde_json::Value),
        /// An administrator's change to the keys of a sealed-field category (`tally epoch`).
        #[schema(value_type = Object)]
        Keys(serde_json::Value),
    }

    /// A journal entry as the client proposes it; amounts in minor units.
    #[derive(ToSchema)]
    #[schema(as = EntryDraft)]
    pub struct EntryDraftSchema {
        /// The idempotency key.
        pub id: String,
        #[schema(format = Date)]
        pub date: String,
        pub description: String,
        pub postings: Vec<PostingSchema>,
        pub references: Vec<ReferenceJson>,
        /// The committed entry this one reverses.
        pub reverses: Option<String>,
        #[schema(required = false)]
        pub sealed: SealedSchema,
        #[schema(required = false)]
        pub seal_keys: Vec<SealKeySchema>,
    }

    /// An entry's encrypted fields: each sealed on its own (an array, as entries were first
    /// sealed), or sealed together, one group per category and epoch (as entries are sealed now).
    #[derive(ToSchema)]
    #[schema(as = Sealed)]
    #[serde(untagged)]
    pub enum SealedSchema {
        Fields(Vec<SealedFieldSchema>),
        Groups(SealedGroupsSchema),
    }

    #[derive(ToSchema)]
    #[schema(as = SealedGroups)]
    pub struct SealedGroupsSchema {
        pub groups: Vec<SealedGroupSchema>,
    }

    /// Encrypted fields of one category and epoch sealed together: one ciphertext of all the
    /// values, and the root over their commitments.
    #[derive(ToSchema)]
    #[schema(as = SealedGroup)]
    pub struct SealedGroupSchema {
        pub category: String,
        pub epoch: u32,
        pub names: Vec<String>,
        #[schema(min_items = 32, max_items = 32)]
        pub commitment: Vec<u8>,
        pub ciphertext: Vec<u8>,
    }

    #[derive(ToSchema)]
    #[schema(as = Posting)]
    pub struct PostingSchema {
        pub account: String,
        pub side: SideSchema,
        /// Minor units (cents for EUR), greater than zero.
        #[schema(minimum = 1)]
        pub amount: u64,
        /// ISO 4217 code.
        pub currency: String,
    }

    #[derive(ToSchema)]
    #[schema(as = Side, rename_all = "lowercase")]
    pub enum SideSchema {
        Debit,
        Credit,
    }

    /// An encrypted field; its value is never seen by the node.
    #[derive(ToSchema)]
    #[schema(as = SealedField)]
    pub struct SealedFieldSchema {
        pub name: String,
        pub category: String,
        pub epoch: u32,
        #[schema(min_items = 32, max_items = 32)]
        pub commitment: Vec<u8>,
        #[schema(min_items = 12, max_items = 12)]
        pub nonce: Vec<u8>,
        pub ciphertext: Vec<u8>,
    }

    /// A seal key wrapped to a category epoch's public key.
    #[derive(ToSchema)]
    #[schema(as = SealKey)]
    pub struct SealKeySchema {
        pub category: String,
        pub epoch: u32,
        #[schema(min_items = 32, max_items = 32)]
        pub encapped: Vec<u8>,
        pub wrapped: Vec<u8>,
    }

    /// What a member reads: these sealed fields of this entry, at this time by its own clock.
    #[derive(ToSchema)]
    #[schema(as = ReadRecord)]
    pub struct ReadRecordSchema {
        pub entry: String,
        pub fields: Vec<String>,
        /// The reader's clock, milliseconds since the Unix epoch.
        pub at_ms: u64,
    }

    /// The body of `POST /v1/reads`: a single transaction whose body is a read, signed by the
    /// reader.
    #[derive(ToSchema)]
    #[schema(as = ReadTransaction)]
    pub enum ReadTransactionSchema {
        Single(SignedReadSchema),
    }

    #[derive(ToSchema)]
    #[schema(as = SignedRead)]
    pub struct SignedReadSchema {
        pub body: ReadBodySchema,
        /// The reader's Ed25519 public key, hex.
        #[schema(min_length = 64, max_length = 64)]
        pub signer: String,
        #[schema(min_length = 128, max_length = 128)]
        pub signature: String,
    }

    #[derive(ToSchema)]
    #[schema(as = ReadBody)]
    pub enum ReadBodySchema {
        Read(ReadRecordSchema),
    }
}
