//! Starting a node: for each chain it hosts a store, a chain handle and a consensus instance,
//! all over one authenticated p2p endpoint; and the API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use commonware_cryptography::{ed25519, ChaCha20Poly1305, Signer};
use commonware_p2p::{authenticated::lookup, Address, AddressableManager};
use commonware_runtime::{tokio as cw_tokio, Quota, Supervisor};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::ordered::{Map, Set};
use tally_chain::{Genesis, Store, BLOCK_BYTES_MAX};
use tally_consensus::{channel, start_validator, ChainHandle, Networks, Timing, ValidatorConfig};

use crate::peers::ChainSender;
use tally_consensus::ChainPeers;

use crate::keys::ConsensusKeyError;

/// Largest p2p message: a whole block plus its certificate and framing.
pub const P2P_MESSAGE_BYTES_MAX: u32 = (BLOCK_BYTES_MAX + 1024 * 1024) as u32;

/// Messages per second each peer may send on one channel. The p2p layer sizes its mailboxes from
/// the quota: at 100k/s an idle node held 530 MB, while consensus needs far fewer than 1k/s.
pub const CHANNEL_MESSAGES_PER_SECOND: u32 = 1_000;

/// The handshake namespace of every Tally p2p endpoint: chains are told apart by channel.
pub const P2P_NAMESPACE: &[u8] = b"tally/p2p/v1";

/// One chain a node hosts.
pub struct ChainSpec {
    pub genesis: Genesis,
    /// The redb file of this node's copy of the chain.
    pub ledger_path: PathBuf,
}

/// Everything needed to start one node: the chains it validates, over one p2p endpoint.
pub struct NodeSpec {
    pub name: String,
    /// The chains this node hosts; the first is its home chain (the API's default).
    pub chains: Vec<ChainSpec>,
    pub signer: ed25519::PrivateKey,
    pub p2p_listen: SocketAddr,
    /// Every validator of every hosted chain (this one included) and its p2p address.
    pub validators: Vec<(ed25519::PublicKey, SocketAddr)>,
    pub timing: Timing,
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("{0}")]
    Store(#[from] tally_chain::StoreError),
    #[error("{0}")]
    Genesis(#[from] tally_chain::GenesisError),
    #[error("{0}")]
    Key(#[from] ConsensusKeyError),
    #[error("{0}")]
    Validators(#[from] tally_consensus::CertificateError),
    #[error("this node's consensus key is not a validator in the genesis of chain '{chain}'")]
    NotAValidator { chain: String },
    #[error("chain '{chain}': {reason}")]
    Epochs { chain: String, reason: String },
    #[error("validator {name} in the genesis has no p2p address in the config")]
    MissingPeer { name: String },
    #[error("the node lists no chains")]
    NoChains,
    #[error("chain '{chain}' is listed twice")]
    DuplicateChain { chain: String },
    #[error("cannot create data directory {path}: {reason}")]
    DataDir { path: String, reason: String },
    #[error("cannot listen for the API on {address}: {reason}")]
    ApiListen { address: SocketAddr, reason: String },
}

fn quota(per_second: u32) -> Quota {
    Quota::per_second(std::num::NonZeroU32::new(per_second).expect("non-zero"))
}

/// The consensus validators a genesis names.
pub fn participants_of(genesis: &Genesis) -> Result<Set<ed25519::PublicKey>, NodeError> {
    Ok(tally_consensus::participants_of(genesis)?)
}

/// Registers the six channels of `chain_id` on a network.
pub fn register_chain<S, R>(
    chain_id: &str,
    mut register: impl FnMut(u64) -> (S, R),
) -> Networks<S, R> {
    let base = channel::base(chain_id);
    Networks {
        votes: register(base + channel::VOTES),
        certificates: register(base + channel::CERTIFICATES),
        resolver: register(base + channel::RESOLVER),
        broadcast: register(base + channel::BROADCAST),
        backfill: register(base + channel::BACKFILL),
        transactions: register(base + channel::TRANSACTIONS),
    }
}

/// Starts one node on `context`: every chain in `spec`, each with its own store and consensus
/// instance, all over one authenticated p2p endpoint. Returns the chain handles, in `spec` order.
pub async fn start_node(
    context: cw_tokio::Context,
    spec: NodeSpec,
) -> Result<Vec<ChainHandle>, NodeError> {
    if spec.chains.is_empty() {
        return Err(NodeError::NoChains);
    }
    let me = spec.signer.public_key();
    let mut chain_ids = std::collections::BTreeSet::new();
    let mut needed = Vec::new();
    let mut prepared = Vec::new();
    for chain in &spec.chains {
        let chain_id = chain.genesis.chain_id.clone();
        if !chain_ids.insert(chain_id.clone()) {
            return Err(NodeError::DuplicateChain { chain: chain_id });
        }
        let genesis_set = participants_of(&chain.genesis)?;
        if let Some(parent) = chain.ledger_path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| NodeError::DataDir {
                path: parent.display().to_string(),
                reason: error.to_string(),
            })?;
        }
        let store = Store::open(&chain.ledger_path, &chain.genesis)?;
        let handle = ChainHandle::new(chain.genesis.clone(), store)?;
        let verifier = handle
            .certificate_verifier()
            .ok_or_else(|| NodeError::Epochs {
                chain: chain_id.clone(),
                reason: "the validator sets of its epochs cannot be read".into(),
            })?
            .clone();
        // The validators consensus needs now: those of the epoch the node resumes in.
        let current = verifier.latest();
        if verifier.schedule().is_enabled() {
            // On a chain with epochs a node may run before its key joins the set (it follows
            // until the boundary) or after it left (it serves what it has).
            if current.participants.position(&me).is_none() {
                tracing::warn!(
                    chain = %chain_id,
                    epoch = current.epoch,
                    "this node's key is not a validator of the current epoch; it follows the chain"
                );
            }
        } else if genesis_set.position(&me).is_none() {
            return Err(NodeError::NotAValidator { chain: chain_id });
        }
        needed.extend(current.participants.iter().cloned());
        prepared.push((handle, ChainPeers::new(verifier)));
    }

    // Every peer the configuration lists is tracked, not only the validators of the current
    // epochs: a key that joins a set at the next boundary must be connected before it.
    let mut peers = Vec::new();
    for (key, address) in &spec.validators {
        peers.push((key.clone(), Address::from(*address)));
    }
    let peers: Map<ed25519::PublicKey, Address> = Map::from_iter_dedup(peers);
    for key in Set::from_iter_dedup(needed).iter() {
        if peers.get_value(key).is_none() {
            return Err(NodeError::MissingPeer {
                name: crate::keys::public_to_hex(key),
            });
        }
    }
    let tracked = std::num::NonZeroUsize::new(peers.len().max(1)).expect("non-zero");

    // One endpoint for all chains: its handshake namespace is the same on every node.
    let handshake = Cups::<_, ChaCha20Poly1305>::new(
        Sake {
            signer: spec.signer.clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    let p2p_config = lookup::Config::local(
        handshake,
        P2P_NAMESPACE,
        spec.p2p_listen,
        tracked,
        P2P_MESSAGE_BYTES_MAX,
        std::num::NonZeroUsize::new(4096).expect("non-zero"),
    );
    let context = context.child("node").with_attribute("name", &spec.name);
    let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), p2p_config);
    oracle.track(0, peers);
    let mut started = Vec::new();
    for (handle, chain_peers) in prepared {
        let chain_id = handle.chain_id().to_string();
        let networks = register_chain(&chain_id, |channel| {
            let (sender, receiver) = network.register(channel, quota(CHANNEL_MESSAGES_PER_SECOND));
            (ChainSender::new(sender, chain_peers.clone(), &me), receiver)
        });
        started.push((handle, chain_peers, networks));
    }
    network.start();

    let mut handles = Vec::new();
    for (handle, chain_peers, networks) in started {
        let chain_id = handle.chain_id().to_string();
        start_validator(
            context
                .child("validator")
                .with_attribute("chain", &chain_id),
            handle.clone(),
            ValidatorConfig {
                signer: spec.signer.clone(),
                partition_prefix: format!("{}-{chain_id}", spec.name),
                blocker: oracle.clone(),
                provider: chain_peers,
                timing: spec.timing,
            },
            networks,
        )
        .await;
        handles.push(handle);
    }
    Ok(handles)
}

/// Serves the HTTP API for `chains` on `listener` until the process ends, with the rate limits
/// of `api`, and `/metrics` when `metrics` is given. Each request carries its peer's address,
/// which the per-IP rate limit keys on.
pub async fn serve_api(
    listener: tokio::net::TcpListener,
    chains: Vec<ChainHandle>,
    api: &crate::config::ApiConfig,
    metrics: Option<crate::metrics::NodeMetrics>,
) {
    let mut app = crate::api::router_with_limits(chains, api);
    if let Some(metrics) = metrics {
        app = app.merge(metrics.routes());
    }
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(error) = axum::serve(listener, app).await {
        tracing::error!(%error, "API server stopped");
    }
}
