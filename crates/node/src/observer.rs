//! Observer nodes: follow a chain over validators' HTTP APIs without voting, and serve reads.
//!
//! A validator serves each finalized block as it stored it, with its finalization certificate
//! (`GET /v1/blocks/{height}/raw`). An observer fetches blocks in height order from the sources
//! it is configured with and hands them to [`tally_consensus::Follower`], which commits only
//! what a quorum of the genesis validators finalized and what executes to the header's roots on
//! the observer's own state. A source that serves anything else is logged and left for the next
//! one; nothing it sent is kept.
//!
//! Invariant: an observer trusts no source: its state is the replay of certified blocks.

use std::time::{Duration, SystemTime};

use axum::{
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
};
use commonware_runtime::Clock;
use serde::{Deserialize, Serialize};
use tally_chain::Block;
use tally_consensus::{ChainHandle, FollowError, Follower};
use tally_identity::SecretKey;

use crate::api::{finalized_block, internal, ApiError};
use crate::wire::ErrorJson;

/// How long an observer waits before asking again once it has every block its sources have:
/// about a block interval, so it trails the validators by at most one poll.
pub const OBSERVER_POLL: Duration = Duration::from_millis(250);

/// How long an observer waits for one answer from a source before trying the next.
pub const OBSERVER_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the tokens an observer presents to its sources are valid, and when it mints the
/// next: well before expiry, so a slow request never carries a stale one.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60);
const TOKEN_RENEW_AFTER: Duration = Duration::from_secs(5 * 60);

/// Blocks an observer asks one source for before checking the tip again, so a long catch-up
/// still moves between sources when one stops answering.
pub const OBSERVER_BLOCKS_PER_ROUND: u64 = 1_000;

/// The largest raw block answer an observer reads: a full block (8,192 entries in signed
/// batches) is a few MiB; anything far beyond is not a block.
pub const RAW_BLOCK_BYTES_MAX: usize = 64 * 1024 * 1024;

/// A block as stored, with its own finalization certificate if it has one: the body of
/// `GET /v1/blocks/{height}/raw` (postcard).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RawBlock {
    /// The block's canonical encoding (`Block::to_bytes`).
    pub block: Vec<u8>,
    /// The finalization certificate stored with it, as consensus produced it.
    pub certificate: Option<Vec<u8>>,
}

/// One finalized block as stored, with its certificate, for observers.
///
/// The block is checked against the digest the chain committed to before it is served, as
/// every block the API serves.
#[utoipa::path(
    get,
    path = "/blocks/{height}/raw",
    tag = "chain",
    params(("height" = u64, Path, description = "The block height.")),
    responses(
        (status = 200, description = "The block as stored and its own finalization certificate \
             if it has one: postcard of `{block, certificate}`, which observers check against the \
             genesis validators before committing.", content(("application/octet-stream"))),
        (status = 400, description = "`malformed_request`: not a block height.", body = ErrorJson),
        (status = 404, description = "`not_found`: no block at this height yet.", body = ErrorJson),
        (status = 500, description = "`internal`: the node failed to read its store.",
             body = ErrorJson),
        (status = 503, description = "`damaged`: a stored block failed its check and is not \
             repaired yet; the node serves nothing rather than damaged data.", body = ErrorJson),
    ),
)]
pub async fn raw_block(
    State(chain): State<ChainHandle>,
    Path(height): Path<String>,
) -> Result<Response, ApiError> {
    let (block, certificate) = finalized_block(&chain, &height).await?;
    let body = postcard::to_allocvec(&RawBlock {
        block: block.to_bytes(),
        certificate,
    })
    .map_err(internal)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response())
}

/// Why one round with a source ended early.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{source_url}: {reason}")]
    Unreachable { source_url: String, reason: String },
    #[error("{source_url} served block {height} that is not valid: {reason}")]
    Malformed {
        source_url: String,
        height: u64,
        reason: String,
    },
    #[error("{source_url} served a block the observer refused: {error}")]
    Refused {
        source_url: String,
        error: FollowError,
    },
}

/// Follows `chain` from `sources` (base URLs of nodes hosting it) until the process ends,
/// moving to the next source whenever one fails or lies. Requests carry tokens of `key`, a
/// member of the chain, minted afresh before the last one expires.
pub async fn follow_over_http<E: Clock>(
    context: E,
    chain: ChainHandle,
    sources: Vec<String>,
    key: SecretKey,
) {
    assert!(!sources.is_empty(), "an observer needs at least one source");
    let client = match reqwest::Client::builder()
        .timeout(OBSERVER_REQUEST_TIMEOUT)
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "observer cannot build an HTTP client");
            return;
        }
    };
    let mut follower = match Follower::new(chain.clone()) {
        Ok(follower) => follower,
        Err(error) => {
            tracing::error!(%error, chain = chain.chain_id(), "observer cannot verify certificates");
            return;
        }
    };
    let mut current = 0;
    let mut token: Option<(String, SystemTime)> = None;
    loop {
        let now = context.current();
        let fresh = token.as_ref().filter(|(_, minted)| {
            now.duration_since(*minted).unwrap_or(Duration::ZERO) < TOKEN_RENEW_AFTER
        });
        let bearer = match fresh {
            Some((bearer, _)) => bearer.clone(),
            None => {
                match crate::auth::mint(&key, chain.chain_id(), TOKEN_LIFETIME.as_millis() as u64) {
                    Ok(bearer) => {
                        token = Some((bearer.clone(), now));
                        bearer
                    }
                    Err(error) => {
                        tracing::error!(%error, "observer cannot mint a token");
                        return;
                    }
                }
            }
        };
        let source = &sources[current % sources.len()];
        match follow_round(&client, &bearer, &chain, &mut follower, source).await {
            Ok(0) => context.sleep(OBSERVER_POLL).await,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(chain = chain.chain_id(), %error, "observer source failed; trying the next");
                current += 1;
                context.sleep(OBSERVER_POLL).await;
            }
        }
    }
}

/// Fetches and offers the blocks `source` has beyond what is committed; returns how many
/// blocks were committed.
async fn follow_round(
    client: &reqwest::Client,
    bearer: &str,
    chain: &ChainHandle,
    follower: &mut Follower,
    source: &str,
) -> Result<u64, SourceError> {
    let base = format!(
        "{}/v1/chains/{}",
        source.trim_end_matches('/'),
        chain.chain_id()
    );
    let unreachable = |reason: String| SourceError::Unreachable {
        source_url: source.to_string(),
        reason,
    };
    let status: crate::wire::StatusJson = client
        .get(format!("{base}/status"))
        .bearer_auth(bearer)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| unreachable(error.to_string()))?
        .json()
        .await
        .map_err(|error| unreachable(error.to_string()))?;
    let first = follower.next_height();
    let last = status.height.min(first + OBSERVER_BLOCKS_PER_ROUND - 1);
    let mut committed = 0;
    for height in first..=last {
        let response = client
            .get(format!("{base}/blocks/{height}/raw"))
            .bearer_auth(bearer)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|error| unreachable(error.to_string()))?;
        let bytes = response
            .bytes()
            .await
            .map_err(|error| unreachable(error.to_string()))?;
        let malformed = |reason: String| SourceError::Malformed {
            source_url: source.to_string(),
            height,
            reason,
        };
        if bytes.len() > RAW_BLOCK_BYTES_MAX {
            return Err(malformed(format!(
                "{} bytes, more than {RAW_BLOCK_BYTES_MAX}",
                bytes.len()
            )));
        }
        let raw: RawBlock =
            postcard::from_bytes(&bytes).map_err(|error| malformed(error.to_string()))?;
        let block =
            Block::decode_checked(&raw.block).map_err(|error| malformed(error.to_string()))?;
        committed += follower
            .offer(block, raw.certificate.as_deref())
            .map_err(|error| SourceError::Refused {
                source_url: source.to_string(),
                error,
            })?;
    }
    Ok(committed)
}
