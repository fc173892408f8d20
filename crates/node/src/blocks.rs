//! `GET /v1/blocks`: the chain's blocks newest first, a page at a time, and the parts of
//! `/v1/status` that describe the chain's health (its validators, its finality lag).
//!
//! A page reads each block from the store once; the size of a page is bounded, not the chain.

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::StatusCode,
    Json,
};
use tally_consensus::ChainHandle;

use crate::api::{internal, ApiError};
use crate::wire::{BlockSummaryJson, BlocksPageJson, ErrorJson, FinalityLagJson, ValidatorJson};

/// Blocks in a page of `GET /v1/blocks` when `limit` is not given: a screenful.
pub const BLOCKS_PAGE_DEFAULT: u64 = 20;

/// Most blocks one page may ask for: each is read and decoded from the store (a full block is
/// megabytes), so this bounds the work of one request whatever the client asks.
pub const BLOCKS_PAGE_MAX: u64 = 100;

/// The query of `GET /v1/blocks`, as text so each error names its parameter.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlocksQuery {
    before: Option<String>,
    limit: Option<String>,
}

fn malformed(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "malformed_request", message)
}

/// The heights of the page asked for, newest first: below `before` (the head and all below it
/// when absent), at most `limit` of them, never block 0 (the genesis has no stored block).
fn page_heights(head: u64, query: BlocksQuery) -> Result<Vec<u64>, ApiError> {
    let before = match query.before {
        None => head.saturating_add(1),
        Some(text) => text.parse::<u64>().map_err(|_| {
            malformed(format!(
                "before: '{text}' is not a block height (the page holds the blocks below it)"
            ))
        })?,
    };
    let limit = match query.limit {
        None => BLOCKS_PAGE_DEFAULT,
        Some(text) => match text.parse::<u64>() {
            Ok(limit) if (1..=BLOCKS_PAGE_MAX).contains(&limit) => limit,
            _ => {
                return Err(malformed(format!(
                    "limit: '{text}' is not a number between 1 and {BLOCKS_PAGE_MAX}"
                )))
            }
        },
    };
    let top = before.min(head.saturating_add(1));
    let bottom = top.saturating_sub(limit).max(1);
    Ok((bottom..top).rev().collect())
}

/// Committed blocks below `before`, newest first, `limit` at a time.
#[utoipa::path(
    get,
    path = "/blocks",
    tag = "chain",
    params(crate::openapi::BlocksParams),
    responses(
        (status = 200, description = "A page of blocks, newest first; `next` is the `before` of \
             the following page, `null` once the page reached block 1.", body = BlocksPageJson),
        (status = 400, description = "`malformed_request`: an unknown parameter, or one that is \
             not valid (each message names it).", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
    ),
)]
pub async fn list_blocks(
    State(chain): State<ChainHandle>,
    query: Result<Query<BlocksQuery>, QueryRejection>,
) -> Result<Json<BlocksPageJson>, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        malformed(format!(
            "{}; the parameters are before and limit",
            rejection.body_text()
        ))
    })?;
    let head = chain.state().height;
    let heights = page_heights(head, query)?;
    let page = tokio::task::spawn_blocking(move || {
        let mut blocks = Vec::with_capacity(heights.len());
        for height in &heights {
            let block = chain
                .store()
                .block(*height)
                .map_err(internal)?
                .ok_or_else(|| internal(format!("block {height} is not stored")))?;
            let certified = chain
                .store()
                .certificate(*height)
                .map_err(internal)?
                .is_some();
            let header = &block.header;
            blocks.push(BlockSummaryJson {
                height: header.height,
                time_ms: header.time_ms,
                digest: hex::encode(tally_chain::header_digest(header).0),
                parent: hex::encode(header.parent),
                transactions: block.transactions.len(),
                entries: block.entry_count(),
                certified,
            });
        }
        let next = heights.last().copied().filter(|lowest| *lowest > 1);
        Ok::<_, ApiError>(BlocksPageJson { blocks, next })
    })
    .await
    .map_err(internal)??;
    Ok(Json(page))
}

/// The validators of the latest epoch this node knows (the genesis's on a chain without
/// epochs), each named as the genesis names it, or else as the enterprise whose registry record
/// holds its key.
pub fn validator_set(chain: &ChainHandle) -> Vec<ValidatorJson> {
    let Some(verifier) = chain.certificate_verifier() else {
        return chain
            .genesis()
            .validators
            .iter()
            .map(|validator| ValidatorJson {
                name: validator.name.clone(),
                key: validator.consensus_key.clone(),
            })
            .collect();
    };
    let state = chain.state();
    verifier
        .latest()
        .participants
        .iter()
        .map(|key| {
            let key = hex::encode(key.as_ref());
            let genesis_name = chain
                .genesis()
                .validators
                .iter()
                .find(|validator| validator.consensus_key == key)
                .map(|validator| validator.name.clone());
            let registry_name = || {
                state.consortium.as_ref().and_then(|consortium| {
                    consortium
                        .enterprises
                        .iter()
                        .find(|(_, record)| record.validator_key.as_deref() == Some(key.as_str()))
                        .map(|(name, _)| name.to_string())
                })
            };
            ValidatorJson {
                name: genesis_name.or_else(registry_name).unwrap_or_default(),
                key,
            }
        })
        .collect()
}

/// The validator-set epoch the chain's next block belongs to (always 0 on a chain without
/// epochs).
pub fn current_epoch(chain: &ChainHandle) -> u64 {
    chain
        .certificate_verifier()
        .map(|verifier| verifier.latest().epoch)
        .unwrap_or(0)
}

/// The finality lag this node measured.
pub fn finality_lag(chain: &ChainHandle) -> FinalityLagJson {
    let lag = chain.finality_lag();
    FinalityLagJson {
        last_ms: lag.last_ms,
        p50_ms: lag.p50_ms,
        samples: lag.samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(before: Option<&str>, limit: Option<&str>) -> BlocksQuery {
        BlocksQuery {
            before: before.map(str::to_string),
            limit: limit.map(str::to_string),
        }
    }

    #[test]
    fn pages_count_down_from_the_head_and_stop_at_block_one() {
        assert_eq!(
            page_heights(5, query(None, None)).ok(),
            Some(vec![5, 4, 3, 2, 1])
        );
        assert_eq!(
            page_heights(50, query(None, Some("3"))).ok(),
            Some(vec![50, 49, 48])
        );
        assert_eq!(
            page_heights(50, query(Some("3"), None)).ok(),
            Some(vec![2, 1])
        );
        assert_eq!(page_heights(50, query(Some("1"), None)).ok(), Some(vec![]));
        // Asking below a height beyond the head starts at the head.
        assert_eq!(
            page_heights(2, query(Some("90"), None)).ok(),
            Some(vec![2, 1])
        );
        assert_eq!(page_heights(0, query(None, None)).ok(), Some(vec![]));
    }
}
