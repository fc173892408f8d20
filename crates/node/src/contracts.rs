//! `GET /v1/contracts` and `GET /v1/contracts/{id}`: the contracts of the consortium chain, their
//! parties, amounts and states, and one contract's events with where each was committed and who
//! signed the call that caused it. `GET /v1/anchors`: the private chain heads each enterprise
//! anchored.
//!
//! Contracts are read from the consortium state; events from the contract log in the store,
//! searched from the head backwards until the contract's proposal, so a recent contract costs a
//! short search and an old one a bounded one. A private chain answers `not_a_consortium_chain`.

use std::collections::HashMap;

use axum::{
    extract::{rejection::QueryRejection, Path, Query, State},
    http::StatusCode,
    Json,
};
use tally_chain::{Block, ChainEvent, ChainState};
use tally_consensus::ChainHandle;
use tally_contracts::{Consortium, Contract, ContractId, EnterpriseName, EventKind};
use tally_ledger::{format_amount, Currency};

use crate::api::{internal, ApiError};
use crate::wire::{
    AnchorJson, ContractDetailJson, ContractEventJson, ContractJson, ContractsPageJson, ErrorJson,
};

/// Contracts in a page of `GET /v1/contracts` when `limit` is not given.
pub const CONTRACTS_PAGE_DEFAULT: usize = 50;

/// Most contracts one page may ask for: bounds the JSON of one answer (a contract is a few
/// hundred bytes).
pub const CONTRACTS_PAGE_MAX: usize = 500;

/// Most contracts one page looks at while filtering: a filter that matches rarely would
/// otherwise walk every contract of the consortium in one request; past this bound the page is
/// returned short (even empty) with a `next` cursor to continue from.
pub const CONTRACTS_SCANNED_PER_PAGE_MAX: usize = 100_000;

/// Heights of the contract log read at a time while searching backwards for a contract's
/// events: a few hundred blocks of events is a small read.
pub const EVENT_SEARCH_WINDOW_BLOCKS: u64 = 256;

/// Most contract events one request reads while searching for a contract's events. A contract
/// proposed long ago would otherwise need the whole log; past this bound the answer carries the
/// events found and `events_complete: false`.
pub const EVENTS_SCANNED_MAX: usize = 500_000;

/// The kinds a contract may have, as `?kind=` takes them.
pub const CONTRACT_KINDS: [&str; 3] = ["trade", "shipping", "commission"];

/// Every state name of every kind of contract, as `?state=` takes them.
pub const CONTRACT_STATES: [&str; 8] = [
    "proposed",
    "confirmed",
    "accepted",
    "shipped",
    "delivered",
    "invoiced",
    "settled",
    "cancelled",
];

/// The query of `GET /v1/contracts`, as text so each error names its parameter.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractsQuery {
    party: Option<String>,
    kind: Option<String>,
    state: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// What a listing asks for, checked.
#[derive(Debug)]
struct ContractsRequest {
    party: Option<EnterpriseName>,
    kind: Option<&'static str>,
    state: Option<&'static str>,
    after: Option<ContractId>,
    limit: usize,
}

fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "malformed_request", message)
}

/// The consortium of this chain, or why a private chain has none.
fn consortium_of<'a>(
    chain: &ChainHandle,
    state: &'a ChainState,
) -> Result<&'a Consortium, ApiError> {
    state.consortium.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_a_consortium_chain",
            format!(
                "chain '{}' is a private chain; contracts live on the consortium chain (see /v1/chains)",
                chain.chain_id()
            ),
        )
    })
}

/// Checks the query against the consortium; the error names the parameter and what it takes.
fn contracts_request(
    consortium: &Consortium,
    query: ContractsQuery,
) -> Result<ContractsRequest, ApiError> {
    let party = query
        .party
        .map(|text| {
            let name =
                EnterpriseName::new(&text).map_err(|error| malformed(format!("party: {error}")))?;
            if consortium.enterprises.contains_key(&name) {
                Ok(name)
            } else {
                let known: Vec<&str> = consortium
                    .enterprises
                    .keys()
                    .map(|name| name.as_str())
                    .collect();
                Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "unknown_enterprise",
                    format!(
                        "party: no enterprise '{text}' in the consortium; it has {}",
                        known.join(", ")
                    ),
                ))
            }
        })
        .transpose()?;
    let kind = query
        .kind
        .map(|text| {
            CONTRACT_KINDS
                .into_iter()
                .find(|kind| *kind == text)
                .ok_or_else(|| {
                    let hint = if text == "settlement" {
                        "; a settlement is a step of a contract: ask for state=settled"
                    } else {
                        ""
                    };
                    malformed(format!(
                        "kind: '{text}' is not one of {}{hint}",
                        CONTRACT_KINDS.join(", ")
                    ))
                })
        })
        .transpose()?;
    let state = query
        .state
        .map(|text| {
            CONTRACT_STATES
                .into_iter()
                .find(|state| *state == text)
                .ok_or_else(|| {
                    malformed(format!(
                        "state: '{text}' is not one of {}",
                        CONTRACT_STATES.join(", ")
                    ))
                })
        })
        .transpose()?;
    let after = query
        .after
        .map(|text| {
            ContractId::new(&text).map_err(|error| {
                malformed(format!(
                    "after: {error} (the cursor is the id a previous page gave as next)"
                ))
            })
        })
        .transpose()?;
    let limit = match query.limit {
        None => CONTRACTS_PAGE_DEFAULT,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=CONTRACTS_PAGE_MAX).contains(&limit) => limit,
            _ => {
                return Err(malformed(format!(
                    "limit: '{text}' is not a number between 1 and {CONTRACTS_PAGE_MAX}"
                )))
            }
        },
    };
    Ok(ContractsRequest {
        party,
        kind,
        state,
        after,
        limit,
    })
}

/// A contract as the listing shows it.
pub fn contract_json(id: &ContractId, contract: &Contract) -> ContractJson {
    let currency = contract.currency();
    ContractJson {
        id: id.to_string(),
        kind: contract.kind_name().to_string(),
        state: contract.state_name().to_string(),
        parties: contract
            .parties()
            .iter()
            .map(|party| party.to_string())
            .collect(),
        currency: currency.code().to_string(),
        // The terms were checked when proposed, so their total cannot overflow; a contract
        // whose total did would show no amount rather than a wrong one.
        amount: contract
            .settlement_amount()
            .map(|amount| format_amount(u128::from(amount), currency))
            .unwrap_or_default(),
        trade: contract.related_trade().map(|trade| trade.to_string()),
    }
}

/// One page of contracts in id order, filtered.
fn contracts_page(consortium: &Consortium, request: &ContractsRequest) -> ContractsPageJson {
    use std::ops::Bound;
    let start = match &request.after {
        Some(after) => Bound::Excluded(after.clone()),
        None => Bound::Unbounded,
    };
    let mut contracts = Vec::new();
    // The cursor is the last id looked at, so a page cut short by the scan bound still moves
    // forward.
    let mut last_seen: Option<&ContractId> = None;
    for (scanned, (id, contract)) in consortium
        .contracts
        .range((start, Bound::Unbounded))
        .enumerate()
    {
        if contracts.len() == request.limit || scanned == CONTRACTS_SCANNED_PER_PAGE_MAX {
            return ContractsPageJson {
                contracts,
                next: last_seen.map(|id| id.to_string()),
            };
        }
        last_seen = Some(id);
        let matches = request
            .party
            .as_ref()
            .is_none_or(|party| contract.parties().contains(&party))
            && request.kind.is_none_or(|kind| contract.kind_name() == kind)
            && request
                .state
                .is_none_or(|state| contract.state_name() == state);
        if matches {
            contracts.push(contract_json(id, contract));
        }
    }
    ContractsPageJson {
        contracts,
        next: None,
    }
}

/// Contracts of the consortium, filtered by party, kind and state, a page at a time.
#[utoipa::path(
    get,
    path = "/contracts",
    tag = "contracts",
    params(crate::openapi::ContractsParams),
    responses(
        (status = 200, description = "A page of contracts in id order; `next` is the `after` of \
             the following page, `null` at the end.", body = ContractsPageJson),
        (status = 400, description = "`malformed_request`: an unknown parameter, or one that is \
             not valid (each message names it and lists the valid values).", body = ErrorJson),
        (status = 404, description = "`not_a_consortium_chain`: this chain is a private chain \
             and holds no contracts; `unknown_enterprise`: no such party in the consortium.",
             body = ErrorJson),
    ),
)]
pub async fn list_contracts(
    State(chain): State<ChainHandle>,
    query: Result<Query<ContractsQuery>, QueryRejection>,
) -> Result<Json<ContractsPageJson>, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        malformed(format!(
            "{}; the parameters are party, kind, state, after and limit",
            rejection.body_text()
        ))
    })?;
    let state = chain.state();
    let consortium = consortium_of(&chain, &state)?;
    let request = contracts_request(consortium, query)?;
    Ok(Json(contracts_page(consortium, &request)))
}

/// The private chain heads each enterprise anchored on the consortium chain.
///
/// Per (enterprise, chain): how many anchors, and the latest. A partner's books are checked
/// against them with `tally verify --partner`.
#[utoipa::path(
    get,
    path = "/anchors",
    tag = "contracts",
    responses(
        (status = 200, description = "Per enterprise and anchored chain, in that order: the \
             number of anchors and the latest anchored height and block digest.",
             body = Vec<AnchorJson>),
        (status = 404, description = "`not_a_consortium_chain`: this chain is a private chain.",
             body = ErrorJson),
    ),
)]
pub async fn anchors(State(chain): State<ChainHandle>) -> Result<Json<Vec<AnchorJson>>, ApiError> {
    let state = chain.state();
    let consortium = consortium_of(&chain, &state)?;
    Ok(Json(
        consortium
            .anchors
            .iter()
            .filter_map(|((enterprise, chain_id), anchors)| {
                anchors.last().map(|latest| AnchorJson {
                    enterprise: enterprise.to_string(),
                    chain_id: chain_id.clone(),
                    count: anchors.len() as u64,
                    latest_height: latest.height,
                    latest_block_hash: hex::encode(latest.block_hash),
                })
            })
            .collect(),
    ))
}

/// One contract with every event it had, oldest first.
#[utoipa::path(
    get,
    path = "/contracts/{id}",
    tag = "contracts",
    params(("id" = String, Path, description = "The contract id.")),
    responses(
        (status = 200, description = "The contract and its events, oldest first, each with its \
             height, time, transaction hash and signer.", body = ContractDetailJson),
        (status = 400, description = "`malformed_request`: not a valid contract id.",
             body = ErrorJson),
        (status = 404, description = "`not_found`: no such contract; `not_a_consortium_chain`: \
             this chain is a private chain.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
pub async fn contract(
    State(chain): State<ChainHandle>,
    Path(id): Path<String>,
) -> Result<Json<ContractDetailJson>, ApiError> {
    let state = chain.state();
    let consortium = consortium_of(&chain, &state)?;
    let id = ContractId::new(&id).map_err(|error| malformed(error.to_string()))?;
    let contract = consortium.contract(&id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no contract '{id}' on the consortium chain; see /v1/contracts"),
        )
    })?;
    let listed = contract_json(&id, contract);
    let currency = contract.currency();
    let detail = tokio::task::spawn_blocking(move || {
        let (found, complete) = contract_events(&chain, &id, state.height)?;
        let mut blocks: HashMap<u64, Block> = HashMap::new();
        let mut events = Vec::with_capacity(found.len());
        for event in &found {
            events.push(event_json(&chain, &state, &mut blocks, event, currency)?);
        }
        Ok::<_, ApiError>(ContractDetailJson {
            contract: listed,
            events,
            events_complete: complete,
        })
    })
    .await
    .map_err(internal)??;
    Ok(Json(detail))
}

/// Whether an event opens a contract: nothing of it comes before.
fn is_proposal(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::TradeProposed | EventKind::ShippingProposed | EventKind::CommissionProposed
    )
}

/// The events of contract `id` at or below `head`, oldest first, and whether the search reached
/// its proposal (or the first block) before its bound.
fn contract_events(
    chain: &ChainHandle,
    id: &ContractId,
    head: u64,
) -> Result<(Vec<ChainEvent>, bool), ApiError> {
    let mut found = Vec::new();
    let mut scanned = 0usize;
    let mut top = head;
    while top >= 1 {
        let bottom = top.saturating_sub(EVENT_SEARCH_WINDOW_BLOCKS - 1).max(1);
        let window = chain.store().events(bottom, top).map_err(internal)?;
        scanned += window.len();
        let mut proposed = false;
        for event in window.into_iter().rev() {
            if &event.event.contract == id {
                proposed |= is_proposal(&event.event.kind);
                found.push(event);
            }
        }
        if proposed || bottom == 1 {
            found.reverse();
            return Ok((found, true));
        }
        if scanned >= EVENTS_SCANNED_MAX {
            found.reverse();
            return Ok((found, false));
        }
        top = bottom - 1;
    }
    found.reverse();
    Ok((found, true))
}

/// An event as people read it, with the call's signer looked up in the block that carries it.
fn event_json(
    chain: &ChainHandle,
    state: &ChainState,
    blocks: &mut HashMap<u64, Block>,
    event: &ChainEvent,
    currency: Currency,
) -> Result<ContractEventJson, ApiError> {
    // A block carries the several events of its contract calls: read each once.
    let block = match blocks.entry(event.height) {
        std::collections::hash_map::Entry::Occupied(stored) => stored.into_mut(),
        std::collections::hash_map::Entry::Vacant(slot) => slot.insert(
            chain
                .store()
                .block(event.height)
                .map_err(internal)?
                .ok_or_else(|| internal(format!("block {} is not stored", event.height)))?,
        ),
    };
    let tx = block
        .transactions
        .get(event.tx_index as usize)
        .ok_or_else(|| {
            internal(format!(
                "block {} has no transaction at position {}",
                event.height, event.tx_index
            ))
        })?;
    let signer = tx.signer();
    let record = state.members.get(signer);
    let (name, details) = event_details(&event.event.kind, currency);
    Ok(ContractEventJson {
        height: event.height,
        time_ms: event.time_ms,
        tx_hash: hex::encode(event.tx_hash),
        signer: signer.to_string(),
        member: record.map(|record| record.member.certificate.name.clone()),
        enterprise: record
            .and_then(|record| record.enterprise.as_ref())
            .map(|enterprise| enterprise.to_string()),
        role: record.map(|record| record.member.certificate.role.as_str().to_string()),
        event: name,
        details,
        state: event
            .contract
            .as_ref()
            .map(|contract| contract.state_name().to_string()),
    })
}

/// The event's name as serialized (`trade_shipped`) and its fields, amounts as decimal strings
/// of the contract's currency.
pub fn event_details(kind: &EventKind, currency: Currency) -> (String, serde_json::Value) {
    use serde_json::json;
    let amount = |minor: u64| format_amount(u128::from(minor), currency);
    let details = match kind {
        EventKind::CancelRequested { by } => json!({ "by": by.as_str() }),
        EventKind::TradeShipped { cost } => json!({ "cost": amount(*cost) }),
        EventKind::TradeRefunded {
            net,
            shipping,
            tax,
            after_settlement,
        } => json!({
            "net": amount(*net),
            "shipping": amount(*shipping),
            "tax": amount(*tax),
            "after_settlement": after_settlement,
        }),
        EventKind::Settled { fee } => json!({ "fee": amount(*fee) }),
        EventKind::TermsSealed { commitments } => json!({
            "fields": commitments.iter().map(|(name, _)| name.to_string()).collect::<Vec<_>>()
        }),
        EventKind::GovernanceApproved { by } => json!({ "by": by.as_str() }),
        _ => json!({}),
    };
    // Serde names every variant in snake case: a unit variant as a string, one with fields as
    // the single key of an object.
    let name = match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(serde_json::Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    };
    (name, details)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_contracts::TradeState;

    #[test]
    fn every_trade_state_can_be_asked_for() {
        for state in TradeState::ALL {
            assert!(
                CONTRACT_STATES.contains(&state.as_str()),
                "{}",
                state.as_str()
            );
        }
    }

    #[test]
    fn events_are_named_as_serialized_with_decimal_amounts() {
        let eur = Currency::from_code("EUR").unwrap();
        let (name, details) = event_details(&EventKind::TradeShipped { cost: 1234 }, eur);
        assert_eq!(name, "trade_shipped");
        assert_eq!(details, serde_json::json!({ "cost": "12.34" }));
        let (name, details) = event_details(&EventKind::TradeConfirmed, eur);
        assert_eq!(name, "trade_confirmed");
        assert_eq!(details, serde_json::json!({}));
    }
}
