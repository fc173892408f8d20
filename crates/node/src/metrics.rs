//! Prometheus metrics of a node at `GET /metrics`: Tally's own per-chain gauges and finality
//! latency, next to everything the consensus engine, p2p and storage register on the same
//! runtime context (peers, votes, backfill, journal sizes).
//!
//! The text holds counts and durations only, never keys, amounts or customer data, so it is
//! served without a member token: scrapers do not hold member keys.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::{extract::State, http::header, response::IntoResponse, routing::get, Router};
use commonware_runtime::telemetry::metrics::{Gauge, GaugeExt as _, Histogram, MetricsExt as _};
use commonware_runtime::{Clock, Metrics, Spawner};
use tally_consensus::ChainHandle;

/// Where the metrics are served, outside `/v1`: the path Prometheus scrapes by default.
pub const METRICS_PATH: &str = "/metrics";

/// Upper bounds (seconds) of the finality latency buckets: from a block's proposer timestamp
/// to its commit on this node. Blocks are final in well under a second on a healthy network;
/// the long tail shows a node catching up.
pub const FINALITY_BUCKETS: [f64; 14] = [
    0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 60.0,
];

/// The OpenMetrics text the runtime's registry encodes (Prometheus reads it).
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One chain's gauges, set from its handle when scraped.
struct ChainGauges {
    chain: ChainHandle,
    height: Gauge,
    finalized_tip: Gauge,
    entries: Gauge,
    mempool_entries: Gauge,
    balanced: Gauge,
    observer: Gauge,
    damaged_blocks: Gauge,
    repaired_blocks: Gauge,
}

/// The bookkeeper's gauges, set from its handle when scraped.
struct BookkeeperGauges {
    handle: crate::bookkeeper::BookkeeperHandle,
    booked_through: Gauge,
    stuck_entries: Gauge,
    anchored_height: Gauge,
}

/// A node's metrics: cheap to clone, shared by the API.
#[derive(Clone)]
pub struct NodeMetrics {
    chains: Arc<Vec<ChainGauges>>,
    bookkeeper: Option<Arc<BookkeeperGauges>>,
    encode: Arc<dyn Fn() -> String + Send + Sync>,
}

impl NodeMetrics {
    /// Registers the gauges of `chains` on `context` (labelled `tally`, they are named
    /// `tally_chain_*{chain="..."}`) and
    /// starts, per chain, a task that observes each committed block's finality latency.
    pub fn register<E>(context: &E, chains: &[ChainHandle]) -> NodeMetrics
    where
        E: Metrics + Clock + Spawner,
    {
        let gauges = chains
            .iter()
            .map(|chain| {
                let labelled = context
                    .child("chain")
                    .with_attribute("chain", chain.chain_id());
                let finality = labelled.histogram(
                    "finality_seconds",
                    "time from a block's proposer timestamp to its commit on this node",
                    FINALITY_BUCKETS,
                );
                let observed = chain.clone();
                labelled
                    .child("finality")
                    .spawn(move |context| observe_finality(context, observed, finality));
                ChainGauges {
                    chain: chain.clone(),
                    height: labelled.gauge("height", "height of the last committed block"),
                    finalized_tip: labelled.gauge(
                        "finalized_tip",
                        "highest height consensus has finalized (may lead the committed height)",
                    ),
                    entries: labelled.gauge("entries", "journal entries committed"),
                    mempool_entries: labelled.gauge(
                        "mempool_entries",
                        "entries waiting in the mempool for a block",
                    ),
                    balanced: labelled.gauge(
                        "balanced",
                        "1 when debits equal credits in every currency, else 0",
                    ),
                    observer: labelled.gauge(
                        "observer",
                        "1 when this node observes the chain instead of validating it",
                    ),
                    damaged_blocks: labelled.gauge(
                        "damaged_blocks",
                        "stored blocks found damaged on read since the node started",
                    ),
                    repaired_blocks: labelled.gauge(
                        "repaired_blocks",
                        "damaged blocks replaced by a good copy since the node started",
                    ),
                }
            })
            .collect();
        let encoder = context.child("scrape");
        NodeMetrics {
            chains: Arc::new(gauges),
            bookkeeper: None,
            encode: Arc::new(move || encoder.encode()),
        }
    }

    /// Adds the gauges of the node's bookkeeper (`tally_bookkeeper_*` on a context labelled
    /// `tally`): how far it booked, how many derived entries the private chain refuses (retried
    /// until accepted, e.g. once a bank balance allows a payment), and the last anchored height.
    pub fn with_bookkeeper<E: Metrics>(
        mut self,
        context: &E,
        handle: crate::bookkeeper::BookkeeperHandle,
    ) -> NodeMetrics {
        let labelled = context.child("bookkeeper");
        self.bookkeeper = Some(Arc::new(BookkeeperGauges {
            handle,
            booked_through: labelled.gauge(
                "booked_through",
                "last consortium height whose derived entries are all on the private chain",
            ),
            stuck_entries: labelled.gauge(
                "stuck_entries",
                "derived entries the private chain refuses, retried every pass (the log says why)",
            ),
            anchored_height: labelled.gauge(
                "anchored_height",
                "last private chain height anchored on the consortium chain",
            ),
        }));
        self
    }

    /// The metrics text: the gauges brought up to date, then everything the context holds.
    pub fn render(&self) -> String {
        for gauges in self.chains.iter() {
            let stats = gauges.chain.stats();
            let state = gauges.chain.state();
            let (damaged, repaired) = gauges.chain.repair_counts();
            // Values beyond i64 cannot occur for heights and counts; saturate rather than fail.
            let _ = gauges.height.try_set(stats.blocks);
            let _ = gauges.finalized_tip.try_set(stats.finalized_tip);
            let _ = gauges.entries.try_set(stats.entries);
            let _ = gauges
                .mempool_entries
                .try_set(gauges.chain.mempool_entries());
            gauges.balanced.set(i64::from(state.ledger.is_balanced()));
            gauges.observer.set(i64::from(gauges.chain.is_observer()));
            let _ = gauges.damaged_blocks.try_set(damaged);
            let _ = gauges.repaired_blocks.try_set(repaired);
        }
        if let Some(gauges) = &self.bookkeeper {
            let status = gauges.handle.status();
            let _ = gauges.booked_through.try_set(status.booked_through);
            let _ = gauges.stuck_entries.try_set(status.stuck.len() as u64);
            let _ = gauges.anchored_height.try_set(status.anchored_height);
        }
        (self.encode)()
    }

    /// `GET /metrics`, to merge into the node's router.
    pub fn routes(&self) -> Router {
        Router::new()
            .route(METRICS_PATH, get(serve))
            .with_state(self.clone())
    }
}

async fn serve(State(metrics): State<NodeMetrics>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render())
}

/// Observes, for every block committed from now on, the time from its proposer's timestamp to
/// the moment this node saw it committed. Blocks committed while the node catches up show as
/// the long tail, which is what an operator wants to see.
async fn observe_finality<E: Clock>(context: E, chain: ChainHandle, histogram: Histogram) {
    let mut heights = chain.subscribe();
    let mut last = *heights.borrow();
    while heights.changed().await.is_ok() {
        let height = *heights.borrow_and_update();
        if height <= last {
            continue;
        }
        last = height;
        let proposed = UNIX_EPOCH + Duration::from_millis(chain.state().time_ms);
        let latency = context
            .current()
            .duration_since(proposed)
            .unwrap_or(Duration::ZERO);
        histogram.observe(latency.as_secs_f64());
    }
}
