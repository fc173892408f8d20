//! Starting a validator node: store, chain handle, authenticated p2p, consensus and the API.

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

use crate::keys::{public_from_hex, ConsensusKeyError};

/// Largest p2p message: a whole block plus its certificate and framing.
pub const P2P_MESSAGE_BYTES_MAX: u32 = (BLOCK_BYTES_MAX + 1024 * 1024) as u32;

/// Everything needed to start one validator of one chain.
pub struct NodeSpec {
    pub name: String,
    pub genesis: Genesis,
    /// The redb file of this node's ledger.
    pub ledger_path: PathBuf,
    pub signer: ed25519::PrivateKey,
    pub p2p_listen: SocketAddr,
    /// Every validator of the chain (this one included) and its p2p address.
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
    #[error("this node's consensus key is not a validator in the genesis of chain '{chain}'")]
    NotAValidator { chain: String },
    #[error("validator {name} in the genesis has no p2p address in the config")]
    MissingPeer { name: String },
    #[error("cannot create data directory {path}: {reason}")]
    DataDir { path: String, reason: String },
    #[error("cannot listen for the API on {address}: {reason}")]
    ApiListen { address: SocketAddr, reason: String },
}

fn quota(per_second: u32) -> Quota {
    Quota::per_second(std::num::NonZeroU32::new(per_second).expect("non-zero"))
}

/// Starts one validator on `context`; returns the chain handle the API serves.
pub async fn start_node(
    context: cw_tokio::Context,
    spec: NodeSpec,
) -> Result<ChainHandle, NodeError> {
    let me = spec.signer.public_key();
    let participants: Vec<ed25519::PublicKey> = spec
        .genesis
        .validators
        .iter()
        .map(|validator| public_from_hex(&validator.consensus_key))
        .collect::<Result<_, _>>()?;
    if !participants.contains(&me) {
        return Err(NodeError::NotAValidator {
            chain: spec.genesis.chain_id.clone(),
        });
    }
    if let Some(parent) = spec.ledger_path.parent() {
        std::fs::create_dir_all(parent).map_err(|error| NodeError::DataDir {
            path: parent.display().to_string(),
            reason: error.to_string(),
        })?;
    }
    let store = Store::open(&spec.ledger_path, &spec.genesis)?;
    let chain = ChainHandle::new(spec.genesis.clone(), store)?;
    let participants = Set::from_iter_dedup(participants);

    let namespace = format!("tally/p2p/{}", spec.genesis.chain_id).into_bytes();
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
        &namespace,
        spec.p2p_listen,
        std::num::NonZeroUsize::new(participants.len()).expect("non-empty"),
        P2P_MESSAGE_BYTES_MAX,
        std::num::NonZeroUsize::new(4096).expect("non-zero"),
    );
    let context = context.child("node").with_attribute("name", &spec.name);
    let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), p2p_config);
    let mut peers = Vec::new();
    for key in participants.iter() {
        let address = spec
            .validators
            .iter()
            .find(|(validator, _)| validator == key)
            .map(|(_, address)| *address)
            .ok_or_else(|| NodeError::MissingPeer {
                name: crate::keys::public_to_hex(key),
            })?;
        peers.push((key.clone(), Address::from(address)));
    }
    let peers: Map<ed25519::PublicKey, Address> = Map::from_iter_dedup(peers);
    oracle.track(0, peers);
    let networks = Networks {
        votes: network.register(channel::VOTES, quota(1_000)),
        certificates: network.register(channel::CERTIFICATES, quota(1_000)),
        resolver: network.register(channel::RESOLVER, quota(1_000)),
        broadcast: network.register(channel::BROADCAST, quota(1_000)),
        backfill: network.register(channel::BACKFILL, quota(1_000)),
    };
    network.start();

    let _ = me;
    start_validator(
        context.child("validator"),
        chain.clone(),
        ValidatorConfig {
            signer: spec.signer,
            participants,
            namespace: format!("tally/consensus/{}", spec.genesis.chain_id).into_bytes(),
            partition_prefix: spec.name.clone(),
            blocker: oracle.clone(),
            provider: oracle,
            timing: spec.timing,
        },
        networks,
    )
    .await;
    Ok(chain)
}

/// Serves the HTTP API for `chain` on `listener` until the process ends.
pub async fn serve_api(listener: tokio::net::TcpListener, chain: ChainHandle) {
    let app = crate::api::router(chain);
    if let Err(error) = axum::serve(listener, app).await {
        tracing::error!(%error, "API server stopped");
    }
}
