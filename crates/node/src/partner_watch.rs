//! Partner watch: a node hosting the consortium chain checks, while it runs, that each partner's
//! node still shows the private-chain blocks the partner anchored on the consortium chain.
//!
//! Every round, per partner, it compares the anchors it has not checked yet (at most
//! [`NEW_ANCHORS_PER_ROUND_MAX`]) and a rotating few it checked before
//! ([`RECHECKS_PER_ROUND`]) with the block header the partner's node serves at each anchored
//! height. Old anchors are checked again because a partner that rewrites its books from some
//! block on also anchors its new chain: only its older anchors then disagree. A block digest
//! differing from the anchor, or no block at that height, is a mismatch: logged as an error once,
//! counted in `tally_partner_anchor_mismatches{enterprise}` until a later check of that anchor
//! agrees (a node that was merely behind). `tally verify --partner` makes the same comparison
//! offline, over every anchor.

use std::collections::BTreeSet;
use std::time::Duration;

use commonware_runtime::telemetry::metrics::{Gauge, GaugeExt as _, MetricsExt as _};
use commonware_runtime::{Clock, Metrics};
use tally_audit::AnchorMismatch;
use tally_consensus::ChainHandle;
use tally_contracts::EnterpriseName;
use tally_identity::SecretKey;

use crate::wire::BlockJson;

/// Anchors of one partner checked for the first time in one round: bounds a round after a
/// long outage, when thousands may be new.
pub const NEW_ANCHORS_PER_ROUND_MAX: usize = 64;

/// Anchors of one partner checked again in one round, in rotation over those checked before.
pub const RECHECKS_PER_ROUND: usize = 16;

/// Seconds between two rounds when the configuration does not say.
pub const PARTNER_CHECK_SECONDS_DEFAULT: u64 = 30;

/// How long one request to a partner's node may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Lifetime of the token minted for each round: longer than any round.
const TOKEN_LIFETIME_MS: u64 = 10 * 60 * 1000;

/// One partner to watch: its name in the consortium and its node's API.
#[derive(Clone, Debug)]
pub struct Partner {
    pub enterprise: EnterpriseName,
    pub api: String,
}

/// What the watch needs.
#[derive(Clone)]
pub struct PartnerWatchConfig {
    pub partners: Vec<Partner>,
    /// A member key of the consortium chain: partners serve their block headers to consortium
    /// members.
    pub key: SecretKey,
    pub every: Duration,
}

/// One partner's progress and gauges.
struct Watched {
    partner: Partner,
    /// Per anchored chain: anchors before this index were checked at least once.
    checked_below: std::collections::BTreeMap<String, usize>,
    /// Per anchored chain: where the next re-checks start.
    recheck_from: std::collections::BTreeMap<String, usize>,
    /// Anchors (chain, height) the partner's node disagrees with at their last check.
    mismatched: BTreeSet<(String, u64)>,
    /// Whether the last round reached the partner's node.
    unreachable: bool,
    checked_gauge: Gauge,
    mismatches_gauge: Gauge,
    unreachable_gauge: Gauge,
}

/// Why a block could not be compared.
#[derive(Debug, thiserror::Error)]
#[error("cannot read block {height} of '{chain_id}' from {url}: {reason}")]
pub struct FetchError {
    url: String,
    chain_id: String,
    height: u64,
    reason: String,
}

/// Watches the partners of `config` against the anchors on `consortium` until the task ends.
pub async fn watch_partners<E: Clock + Metrics>(
    context: E,
    consortium: ChainHandle,
    config: PartnerWatchConfig,
) {
    let client = match reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build() {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "partner watch cannot build an HTTP client");
            return;
        }
    };
    let mut watched: Vec<Watched> = config
        .partners
        .iter()
        .map(|partner| {
            let labelled = context
                .child("partner")
                .with_attribute("enterprise", partner.enterprise.as_str());
            Watched {
                partner: partner.clone(),
                checked_below: Default::default(),
                recheck_from: Default::default(),
                mismatched: BTreeSet::new(),
                unreachable: false,
                checked_gauge: labelled.gauge(
                    "anchors_checked",
                    "anchors of the partner's private chains compared with its node at least once",
                ),
                mismatches_gauge: labelled.gauge(
                    "anchor_mismatches",
                    "anchors the partner's node disagrees with (another block or none at that height)",
                ),
                unreachable_gauge: labelled.gauge(
                    "unreachable",
                    "1 when the last check could not reach the partner's node",
                ),
            }
        })
        .collect();
    loop {
        match crate::auth::mint(&config.key, consortium.chain_id(), TOKEN_LIFETIME_MS) {
            Ok(bearer) => {
                for partner in &mut watched {
                    check_round(&client, &bearer, &consortium, partner).await;
                }
            }
            Err(error) => tracing::error!(%error, "partner watch cannot mint a token"),
        }
        context.sleep(config.every).await;
    }
}

/// One round for one partner: new anchors, then re-checks, until its node fails to answer.
async fn check_round(
    client: &reqwest::Client,
    bearer: &str,
    consortium: &ChainHandle,
    watched: &mut Watched,
) {
    let state = consortium.state();
    let Some(registry) = &state.consortium else {
        return;
    };
    let enterprise = &watched.partner.enterprise;
    let mut outcome: Result<(), FetchError> = Ok(());
    'chains: for ((anchorer, chain_id), anchors) in &registry.anchors {
        if anchorer != enterprise {
            continue;
        }
        let below = watched.checked_below.get(chain_id).copied().unwrap_or(0);
        let new_end = anchors.len().min(below + NEW_ANCHORS_PER_ROUND_MAX);
        let from = watched.recheck_from.get(chain_id).copied().unwrap_or(0);
        let rechecks = (0..below.min(RECHECKS_PER_ROUND)).map(|step| (from + step) % below);
        for index in (below..new_end).chain(rechecks) {
            let Some(anchor) = anchors.get(index) else {
                continue;
            };
            let shown = match fetch_digest(
                client,
                Some(bearer),
                &watched.partner.api,
                chain_id,
                anchor.height,
            )
            .await
            {
                Ok(shown) => shown,
                Err(error) => {
                    outcome = Err(error);
                    break 'chains;
                }
            };
            let key = (chain_id.clone(), anchor.height);
            if shown == Some(anchor.block_hash) {
                watched.mismatched.remove(&key);
            } else if watched.mismatched.insert(key) {
                let mismatch = AnchorMismatch {
                    enterprise: enterprise.to_string(),
                    chain_id: chain_id.clone(),
                    height: anchor.height,
                    anchored: anchor.block_hash,
                    shown,
                };
                tracing::error!(partner = %watched.partner.api, "a partner's private chain no longer matches its anchor: {mismatch}");
            }
            if index >= below {
                watched.checked_below.insert(chain_id.clone(), index + 1);
            }
        }
        if below > 0 {
            let next = (from + RECHECKS_PER_ROUND.min(below)) % below;
            watched.recheck_from.insert(chain_id.clone(), next);
        }
    }
    match outcome {
        Ok(()) => watched.unreachable = false,
        Err(error) => {
            if !watched.unreachable {
                tracing::warn!(%error, partner = %enterprise, "partner watch cannot reach the partner's node; retrying next round");
            }
            watched.unreachable = true;
        }
    }
    let checked: usize = watched.checked_below.values().sum();
    let _ = watched.checked_gauge.try_set(checked as u64);
    let _ = watched
        .mismatches_gauge
        .try_set(watched.mismatched.len() as u64);
    watched
        .unreachable_gauge
        .set(i64::from(watched.unreachable));
}

/// The digest of block `height` of `chain_id` as the node at `api` serves it: `None` if it has
/// no block there. `bearer` is a consortium member's token, unless `client` sends one already.
/// `tally verify --partner` asks the same way.
pub async fn fetch_digest(
    client: &reqwest::Client,
    bearer: Option<&str>,
    api: &str,
    chain_id: &str,
    height: u64,
) -> Result<Option<[u8; 32]>, FetchError> {
    let url = format!(
        "{}/v1/chains/{chain_id}/blocks/{height}",
        api.trim_end_matches('/')
    );
    let failed = |reason: String| FetchError {
        url: url.clone(),
        chain_id: chain_id.to_string(),
        height,
        reason,
    };
    let mut request = client.get(&url);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request
        .send()
        .await
        .map_err(|error| failed(error.to_string()))?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !response.status().is_success() {
        return Err(failed(format!("it answered {}", response.status())));
    }
    let block: BlockJson = response
        .json()
        .await
        .map_err(|error| failed(error.to_string()))?;
    hex::decode(&block.digest)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .map(Some)
        .ok_or_else(|| failed("a malformed digest".into()))
}
