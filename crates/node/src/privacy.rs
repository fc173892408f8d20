//! The API of sealed fields: key epochs and members (what a writer or an administrator needs),
//! reads of sealed fields, and the access log.
//!
//! A read is a transaction the reader signs (`TxBody::Read`: entry, field names, its clock).
//! The node checks it, checks that the reader holds a grant for each field's key epoch, commits
//! the read to the chain through the mempool and only then answers with the ciphertexts, the
//! wrapped seal keys and the reader's own wrapped epoch secrets. The node never sees a value or
//! a key: the reader opens the fields itself. Reads are committed with the chain's blocks, so
//! many reads cost one block, not one block each, and the answer does not wait for the block.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::{
    extract::{rejection::JsonRejection, rejection::QueryRejection, Query, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use tally_chain::{
    ChainState, EpochStatus, ReadRecord, SealingError, SignedTx, Transaction, TxBody,
};
use tally_consensus::ChainHandle;
use tally_ledger::{FieldName, SealKey, Sealed};
use utoipa::ToSchema;

use crate::api::{internal, ApiError};
use crate::wire::{ErrorJson, SealKeyJson, SealedFieldJson, SealedGroupJson};

/// How far a read's own time may be from the node's clock: a client signs a read just before
/// sending it; an older one is a replay.
pub const READ_CLOCK_SKEW_MAX_MS: u64 = 60 * 1000;

/// Most blocks one access-log request scans.
pub const ACCESS_LOG_BLOCKS_MAX: u64 = 1000;

/// A member of the chain, as writers and administrators need to see it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct MemberJson {
    pub key: String,
    pub name: String,
    pub role: String,
    pub department: String,
    pub revoked: bool,
    /// On the consortium chain, the enterprise whose root key certified the member.
    pub enterprise: Option<String>,
}

/// One key epoch of a category.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct EpochJson {
    pub epoch: u32,
    /// The X25519 public key writers seal to, in hex.
    pub public: String,
    /// `active`, `retired` or `erased`.
    pub status: String,
    pub opened_at: u64,
    /// The members holding a grant, in hex.
    pub grantees: Vec<String>,
}

/// A category's keys.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct CategoryJson {
    pub category: String,
    /// The roles that may be granted it (auditors always may).
    pub readers: Vec<String>,
    /// The epoch fields are sealed under now.
    pub active: Option<u32>,
    pub epochs: Vec<EpochJson>,
    /// Members kept out of later epochs, in hex.
    pub revoked: Vec<String>,
}

/// A reader's copy of an epoch secret.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct GrantJson {
    pub category: String,
    pub epoch: u32,
    /// The epoch's public key, to check the unwrapped secret against.
    pub public: String,
    pub encapped: String,
    pub wrapped: String,
}

/// The answer to a read: what the reader needs to open the fields it asked for.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct SealedReadJson {
    pub entry: String,
    /// The fields asked for that were sealed one by one.
    pub fields: Vec<SealedFieldJson>,
    /// The groups holding the fields asked for that were sealed together: a group opens whole,
    /// and the reader's client shows the fields it asked for (the read records those).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<SealedGroupJson>,
    pub seal_keys: Vec<SealKeyJson>,
    pub grants: Vec<GrantJson>,
    /// The hash of the read transaction that records this read.
    pub logged: String,
}

/// A contract's field key wrapped to one member of a party.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct PartyKeyJson {
    pub member: String,
    pub encapped: String,
    pub wrapped: String,
}

/// One sealing of a contract's private terms.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct SealedTermsJson {
    pub fields: Vec<SealedFieldJson>,
    pub keys: Vec<PartyKeyJson>,
}

/// A contract's private terms: ciphertexts, commitments and the parties' wrapped keys. Public
/// on the consortium chain: only the members holding a key open them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct ContractTermsJson {
    pub contract: String,
    pub parties: Vec<String>,
    pub sealed: Vec<SealedTermsJson>,
}

/// One recorded read.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct AccessJson {
    pub height: u64,
    /// Block time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The reader's own time of the read.
    pub read_at_ms: u64,
    pub reader: String,
    pub reader_name: String,
    pub reader_role: String,
    pub entry: String,
    pub fields: Vec<String>,
}

/// The access log over a range of blocks.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct AccessLogJson {
    pub from: u64,
    pub to: u64,
    pub reads: Vec<AccessJson>,
}

#[utoipa::path(
    get,
    path = "/members",
    tag = "chain",
    summary = "The chain's members: key, name, role, department, revoked.",
    responses(
        (status = 200, description = "Every member admitted to the chain.", body = Vec<MemberJson>),
    ),
)]
pub async fn members(State(chain): State<ChainHandle>) -> Json<Vec<MemberJson>> {
    let state = chain.state();
    Json(
        state
            .members
            .iter()
            .map(|(key, record)| MemberJson {
                key: key.to_string(),
                name: record.member.certificate.name.clone(),
                role: record.member.certificate.role.as_str().to_string(),
                department: record.member.certificate.department.clone(),
                revoked: record.revoked,
                enterprise: record.enterprise.as_ref().map(ToString::to_string),
            })
            .collect(),
    )
}

#[utoipa::path(
    get,
    path = "/keys",
    tag = "privacy",
    summary = "The key epochs of every sealed-field category, with their grantees.",
    responses(
        (status = 200, description = "Per category: who may read it, the active epoch, every epoch \
             and the revoked members.", body = Vec<CategoryJson>),
    ),
)]
pub async fn keys(State(chain): State<ChainHandle>) -> Json<Vec<CategoryJson>> {
    let state = chain.state();
    Json(
        state
            .sealing
            .categories
            .iter()
            .map(|(category, keys)| CategoryJson {
                category: category.to_string(),
                readers: keys
                    .readers
                    .iter()
                    .map(|role| role.as_str().to_string())
                    .collect(),
                active: keys.active(),
                epochs: keys
                    .epochs
                    .iter()
                    .enumerate()
                    .map(|(index, epoch)| EpochJson {
                        epoch: index as u32,
                        public: hex::encode(epoch.public),
                        status: epoch.status.as_str().to_string(),
                        opened_at: epoch.opened_at,
                        grantees: epoch.grants.keys().map(|key| key.to_string()).collect(),
                    })
                    .collect(),
                revoked: keys.revoked.iter().map(|key| key.to_string()).collect(),
            })
            .collect(),
    )
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

fn sealing_error(error: SealingError) -> ApiError {
    let (status, code) = match &error {
        SealingError::Erased { .. } => (StatusCode::GONE, "erased"),
        SealingError::NotAuthorised { .. } => (StatusCode::FORBIDDEN, "not_authorised"),
        _ => (StatusCode::NOT_FOUND, "not_found"),
    };
    ApiError::new(status, code, error.to_string())
}

/// Serves a signed read: checks it, records it, answers with what the reader needs.
#[utoipa::path(
    post,
    path = "/reads",
    tag = "privacy",
    request_body(content = crate::openapi::transaction::ReadTransactionSchema, description = "A \
         read transaction signed by the reader, stamped with its own clock (`tally read` makes \
         one)."),
    responses(
        (status = 200, description = "The ciphertexts, their wrapped seal keys and the reader's \
             wrapped epoch secrets; `logged` is the hash of the read transaction that records the \
             read on the chain.", body = SealedReadJson),
        (status = 400, description = "`malformed_request`: the body is not JSON or not a signed \
             read; `stale_read`: the read's time is too far from the node's clock; \
             `bad_signature`: the signature does not verify.", body = ErrorJson),
        (status = 403, description = "`not_authorised`: the reader holds no grant for a field's \
             key epoch; `not_a_member`, `not_allowed`: the chain refuses the reader.",
             body = ErrorJson),
        (status = 404, description = "`not_found`: no such entry, sealed field or key epoch.",
             body = ErrorJson),
        (status = 409, description = "`read_replayed`: this signed read was already used; \
             `already_pending`: it waits in the mempool.", body = ErrorJson),
        (status = 410, description = "`erased`: the field's key epoch is erased.",
             body = ErrorJson),
        (status = 413, description = "`request_too_large`: the body exceeds the node's request \
             limit (32 MiB).", body = ErrorJson),
        (status = 415, description = "`malformed_request`: the `Content-Type` is not \
             `application/json`.", body = ErrorJson),
        (status = 422, description = "`malformed_request`: the JSON is not a transaction; \
             `partial_group`: the read names some fields of a group sealed together but not all \
             (a group opens whole, so its read names every field of it); `rule_violated` and \
             the other rule codes of `POST /v1/transactions`: the chain refuses the read.",
             body = ErrorJson),
        (status = 429, description = "`mempool_full`: the mempool is full; retry later.",
             body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
pub async fn read(
    State(chain): State<ChainHandle>,
    body: Result<Json<Transaction>, JsonRejection>,
) -> Result<Json<SealedReadJson>, ApiError> {
    let Json(tx) = body?;
    let Transaction::Single(SignedTx {
        body: TxBody::Read(record),
        signer,
        ..
    }) = &tx
    else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "expected a read transaction signed by the reader",
        ));
    };
    let (record, reader) = (record.clone(), *signer);
    let now = now_ms();
    if now.abs_diff(record.at_ms) > READ_CLOCK_SKEW_MAX_MS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "stale_read",
            format!(
                "the read is stamped {} ms, {} s from this node's clock (at most {} s): sign a new read, and check the clock",
                record.at_ms,
                now.abs_diff(record.at_ms) / 1000,
                READ_CLOCK_SKEW_MAX_MS / 1000
            ),
        ));
    }
    let hash = tx.hash();
    if chain.outcome(&hash).is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "read_replayed",
            "this signed read was already used: sign a new one",
        ));
    }
    let committed = chain
        .entry(&record.entry)
        .map_err(internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no entry '{}'", record.entry),
            )
        })?;
    let state = chain.state();
    let answer = answer(
        &state,
        &record,
        &reader,
        &committed.entry.sealed,
        &committed.entry.seal_keys,
    )?;
    // Recorded before answered: a read the chain refuses is not served. The signature and the
    // reader's membership are checked here too.
    let receipt = tokio::task::spawn_blocking(move || chain.submit(tx))
        .await
        .map_err(internal)??;
    let logged = match receipt {
        tally_consensus::Receipt::Accepted { hash } => hash,
        tally_consensus::Receipt::AlreadyCommitted { hash, .. } => hash,
    };
    Ok(Json(SealedReadJson {
        logged: hex::encode(logged),
        ..answer
    }))
}

/// The fields asked for, their seal keys and the reader's grants, or why the reader may not
/// have them.
fn answer(
    state: &ChainState,
    record: &ReadRecord,
    reader: &tally_identity::PublicKey,
    sealed: &Sealed,
    seal_keys: &[SealKey],
) -> Result<SealedReadJson, ApiError> {
    let mut fields = Vec::with_capacity(record.fields.len());
    let mut groups: Vec<SealedGroupJson> = Vec::new();
    // Which of the entry's groups the answer holds, so each is encoded once.
    let mut answered: Vec<usize> = Vec::new();
    let mut grants = BTreeMap::new();
    for name in &record.fields {
        let (category, epoch) = if let Some(field) =
            sealed.fields().iter().find(|field| &field.name == name)
        {
            fields.push(SealedFieldJson::from_field(field));
            (field.category, field.epoch)
        } else if let Some((index, group)) = sealed
            .groups()
            .iter()
            .enumerate()
            .find(|(_, group)| group.names.contains(name))
        {
            // The group opens whole: a read that recorded part of it would log less than the
            // reader can decrypt.
            if !group.names.iter().all(|name| record.fields.contains(name)) {
                let names: Vec<&str> = group.names.iter().map(FieldName::as_str).collect();
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "partial_group",
                    format!(
                        "field '{name}' of entry '{}' is sealed together with {}: a group opens whole, so the read must name all of them",
                        record.entry,
                        names.join(", ")
                    ),
                ));
            }
            if !answered.contains(&index) {
                answered.push(index);
                groups.push(SealedGroupJson::from_group(group));
            }
            (group.category, group.epoch)
        } else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("entry '{}' has no sealed field '{name}'", record.entry),
            ));
        };
        if let std::collections::btree_map::Entry::Vacant(slot) = grants.entry((category, epoch)) {
            let grant = state
                .sealing
                .grant_of(&category, epoch, reader)
                .map_err(sealing_error)?;
            let key_epoch = state
                .sealing
                .epoch(&category, epoch)
                .map_err(sealing_error)?;
            debug_assert_ne!(key_epoch.status, EpochStatus::Erased);
            slot.insert(GrantJson {
                category: category.to_string(),
                epoch,
                public: hex::encode(key_epoch.public),
                encapped: hex::encode(grant.encapped),
                wrapped: hex::encode(&grant.wrapped),
            });
        }
    }
    let seal_keys = seal_keys
        .iter()
        .filter(|key| grants.contains_key(&(key.category, key.epoch)))
        .map(SealKeyJson::from_key)
        .collect();
    Ok(SealedReadJson {
        entry: record.entry.to_string(),
        fields,
        groups,
        seal_keys,
        grants: grants.into_values().collect(),
        logged: String::new(),
    })
}

/// The private terms sealed onto a consortium contract.
#[utoipa::path(
    get,
    path = "/contracts/{id}/sealed",
    tag = "contracts",
    summary = "A consortium contract's sealed private terms.",
    params(("id" = String, Path, description = "The contract id.")),
    responses(
        (status = 200, description = "The ciphertexts, commitments and the parties' wrapped keys; \
             only members holding a key open them.", body = ContractTermsJson),
        (status = 400, description = "`malformed_request`: not a contract id.", body = ErrorJson),
        (status = 404, description = "`not_found`: no such contract, or this is a private chain \
             (contracts live on the consortium chain).", body = ErrorJson),
    ),
)]
pub async fn contract_terms(
    State(chain): State<ChainHandle>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<ContractTermsJson>, ApiError> {
    let id = tally_contracts::ContractId::new(&id).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            error.to_string(),
        )
    })?;
    let state = chain.state();
    let consortium = state.consortium.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "this is a private chain; contracts live on the consortium chain",
        )
    })?;
    let contract = consortium.contract(&id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no contract '{id}'"),
        )
    })?;
    Ok(Json(ContractTermsJson {
        contract: id.to_string(),
        parties: contract.parties().iter().map(|p| p.to_string()).collect(),
        sealed: consortium
            .sealed_terms(&id)
            .iter()
            .map(|terms| SealedTermsJson {
                fields: terms
                    .fields
                    .iter()
                    .map(SealedFieldJson::from_field)
                    .collect(),
                keys: terms
                    .keys
                    .iter()
                    .map(|key| PartyKeyJson {
                        member: key.member.to_string(),
                        encapped: hex::encode(key.encapped),
                        wrapped: hex::encode(&key.wrapped),
                    })
                    .collect(),
            })
            .collect(),
    }))
}

#[derive(Deserialize)]
pub struct RangeQuery {
    from: Option<u64>,
    to: Option<u64>,
}

/// Every recorded read in a range of blocks (the last [`ACCESS_LOG_BLOCKS_MAX`] by default).
#[utoipa::path(
    get,
    path = "/reads",
    tag = "privacy",
    summary = "The access log: every recorded read of sealed fields in a range of blocks.",
    params(crate::openapi::AccessLogParams),
    responses(
        (status = 200, description = "The reads recorded in blocks `from` to `to`.",
             body = AccessLogJson),
        (status = 400, description = "`malformed_request`: `from` or `to` is not a height, or the \
             range is empty or too long.", body = ErrorJson),
        (status = 403, description = "`not_allowed`: only administrators and auditors may read the \
             access log.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
        (status = 503, description = "`damaged`: a stored block failed its check and is not \
             repaired yet; the node serves nothing rather than damaged data.", body = ErrorJson),
    ),
)]
pub async fn access_log(
    State(chain): State<ChainHandle>,
    query: Result<Query<RangeQuery>, QueryRejection>,
) -> Result<Json<AccessLogJson>, ApiError> {
    let Query(range) = query.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            rejection.body_text(),
        )
    })?;
    let state = chain.state();
    let to = range.to.unwrap_or(state.height).min(state.height);
    let from = range
        .from
        .unwrap_or_else(|| to.saturating_sub(ACCESS_LOG_BLOCKS_MAX - 1));
    if from > to || to - from >= ACCESS_LOG_BLOCKS_MAX {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            format!(
                "from {from} to {to} is not a range of 1 to {ACCESS_LOG_BLOCKS_MAX} blocks up to the height {}",
                state.height
            ),
        ));
    }
    let mut reads = Vec::new();
    for height in from..=to {
        let Some(block) = chain
            .checked_block(height)
            .await
            .map_err(crate::api::read_error)?
        else {
            continue;
        };
        for tx in &block.transactions {
            let Transaction::Single(SignedTx {
                body: TxBody::Read(record),
                signer,
                ..
            }) = tx
            else {
                continue;
            };
            let member = state
                .members
                .get(signer)
                .map(|record| &record.member.certificate);
            reads.push(AccessJson {
                height,
                time_ms: block.header.time_ms,
                read_at_ms: record.at_ms,
                reader: signer.to_string(),
                reader_name: member.map(|c| c.name.clone()).unwrap_or_default(),
                reader_role: member
                    .map(|c| c.role.as_str().to_string())
                    .unwrap_or_default(),
                entry: record.entry.to_string(),
                fields: record.fields.iter().map(|name| name.to_string()).collect(),
            });
        }
    }
    Ok(Json(AccessLogJson { from, to, reads }))
}
