//! A Tally node: configuration, authenticated p2p between validators, the HTTP API, devnet
//! set-up, and local multi-validator networks for the demo and benchmarks.
//!
//! Invariant: this is the only crate that knows the wire format (JSON over HTTP, config files);
//! it converts explicitly to and from the accounting model's types.

pub mod api;
pub mod auth;
pub mod blocks;
pub mod bookkeeper;
pub mod config;
pub mod contracts;
pub mod dashboard;
pub mod devnet;
pub mod history;
pub mod keys;
pub mod metrics;
pub mod node;
pub mod observer;
pub mod openapi;
pub mod partner_watch;
pub mod peers;
pub mod privacy;
pub mod reconcile;
pub mod reports;
pub mod series;
pub mod topology;
pub mod trades;
pub mod wire;
pub mod workload;

pub use config::{ApiConfig, ChainConfig, ConfigError, NodeConfig, PeerConfig};
pub use node::{
    participants_of, register_chain, serve_api, start_node, ChainSpec, NodeError, NodeSpec,
    P2P_MESSAGE_BYTES_MAX,
};
pub use peers::ChainSender;
pub use tally_consensus::ChainPeers;
