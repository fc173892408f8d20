//! Node configuration files (TOML), written by `tally devnet init` and read by `tally node`.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One node's configuration. Relative paths are relative to the configuration file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// A name for logs, e.g. the department running it.
    pub name: String,
    /// Where this node keeps its ledger (redb) and consensus storage.
    pub data_dir: PathBuf,
    /// This validator's consensus key (hex), which also authenticates it on p2p. Needed when
    /// the node validates a chain; a node that only observes has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consensus_key: Option<PathBuf>,
    /// Address for authenticated, encrypted p2p links to the other validators; needed, like
    /// the consensus key, when the node validates a chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p2p_listen: Option<SocketAddr>,
    /// Address of the HTTP API.
    pub api_listen: SocketAddr,
    /// The chains this node hosts; the first is its home chain, served at `/v1/...`.
    pub chains: Vec<ChainConfig>,
    /// The other validators of the hosted chains.
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
    /// Automatic bookkeeping, on a node hosting its enterprise's private chain and the
    /// consortium chain.
    #[serde(default)]
    pub bookkeeping: Option<BookkeepingConfig>,
    /// Rate limits of the HTTP API; the defaults of [`crate::auth`] if absent.
    #[serde(default)]
    pub api: ApiConfig,
}

/// The `[api]` table: token-bucket rate limits of the HTTP API (see [`crate::auth`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Requests per second one member may make.
    pub member_requests_per_second: NonZeroU32,
    /// Requests one member may make at once, above its steady rate.
    pub member_burst: NonZeroU32,
    /// Requests per second one client IP may make that need a token's signature checked or
    /// are refused (a token the node verified before is not charged here).
    pub ip_requests_per_second: NonZeroU32,
    /// Such requests one client IP may make at once.
    pub ip_burst: NonZeroU32,
}

impl Default for ApiConfig {
    fn default() -> Self {
        use crate::auth::{
            non_zero, IP_BURST_DEFAULT, IP_REQUESTS_PER_SECOND_DEFAULT, MEMBER_BURST_DEFAULT,
            MEMBER_REQUESTS_PER_SECOND_DEFAULT,
        };
        ApiConfig {
            member_requests_per_second: non_zero(MEMBER_REQUESTS_PER_SECOND_DEFAULT),
            member_burst: non_zero(MEMBER_BURST_DEFAULT),
            ip_requests_per_second: non_zero(IP_REQUESTS_PER_SECOND_DEFAULT),
            ip_burst: non_zero(IP_BURST_DEFAULT),
        }
    }
}

/// What the bookkeeper of a node books, with which key, and how often it anchors.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BookkeepingConfig {
    /// This node's enterprise, as the consortium genesis names it.
    pub enterprise: String,
    /// Member key of the private chain (role bookkeeper) that signs derived entries.
    pub key: PathBuf,
    /// Member key on the consortium chain that signs anchors of the private chain's head.
    #[serde(default)]
    pub anchor_key: Option<PathBuf>,
    /// Anchor every this many private blocks (0: never).
    #[serde(default = "default_anchor_every_blocks")]
    pub anchor_every_blocks: u64,
    /// Posting rules remapping contract events to this enterprise's accounts (JSON); the
    /// defaults of DESIGN.md section 5 if absent.
    #[serde(default)]
    pub rules: Option<PathBuf>,
    /// Partners' nodes whose anchored private chains this node checks while it runs (see
    /// [`crate::partner_watch`]); their tokens are signed with `anchor_key`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partners: Vec<PartnerNodeConfig>,
    /// Seconds between two checks of the partners' anchors.
    #[serde(default = "default_partner_check_seconds")]
    pub partner_check_seconds: u64,
}

/// A partner enterprise's node, for the partner watch.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PartnerNodeConfig {
    /// The partner's name in the consortium genesis.
    pub enterprise: String,
    /// Its node's API, e.g. http://127.0.0.1:27110
    pub api: String,
}

fn default_anchor_every_blocks() -> u64 {
    100
}

fn default_partner_check_seconds() -> u64 {
    crate::partner_watch::PARTNER_CHECK_SECONDS_DEFAULT
}

/// One hosted chain.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// The chain's genesis document.
    pub genesis: PathBuf,
    /// Observe the chain instead of validating it: base URLs of nodes hosting it (validators
    /// or other observers), asked in turn for finalized blocks, which are checked against the
    /// genesis validators' certificates before they are committed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observe_from: Vec<String>,
    /// The member key (of this chain; an auditor reads everything) whose tokens the observer
    /// presents to its sources, which serve only members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observe_key: Option<PathBuf>,
}

impl ChainConfig {
    pub fn is_observed(&self) -> bool {
        !self.observe_from.is_empty()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    pub name: String,
    /// Hex of the peer's consensus public key, as in the genesis.
    pub consensus_key: String,
    pub address: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config {path} is not valid: {reason}")]
    Invalid { path: String, reason: String },
}

impl NodeConfig {
    pub fn read(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.display().to_string(),
            reason: error.to_string(),
        })?;
        let mut config: NodeConfig =
            toml::from_str(&text).map_err(|error| ConfigError::Invalid {
                path: path.display().to_string(),
                reason: error.to_string(),
            })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let fields = std::iter::once(&mut config.data_dir)
            .chain(config.consensus_key.iter_mut())
            .chain(config.chains.iter_mut().flat_map(|chain| {
                std::iter::once(&mut chain.genesis).chain(chain.observe_key.iter_mut())
            }));
        let bookkeeping_fields = config.bookkeeping.iter_mut().flat_map(|bookkeeping| {
            std::iter::once(&mut bookkeeping.key)
                .chain(bookkeeping.anchor_key.iter_mut())
                .chain(bookkeeping.rules.iter_mut())
        });
        for field in fields.chain(bookkeeping_fields) {
            if field.is_relative() {
                *field = base.join(&*field);
            }
        }
        if config.chains.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.display().to_string(),
                reason: "it lists no [[chains]]; add one with the genesis of the chain to run"
                    .into(),
            });
        }
        if let Some(chain) = config
            .chains
            .iter()
            .find(|chain| chain.is_observed() && chain.observe_key.is_none())
        {
            return Err(ConfigError::Invalid {
                path: path.display().to_string(),
                reason: format!(
                    "the chain of {} is observed but has no observe_key: its sources serve only members",
                    chain.genesis.display()
                ),
            });
        }
        let validates = config.chains.iter().any(|chain| !chain.is_observed());
        if validates && (config.consensus_key.is_none() || config.p2p_listen.is_none()) {
            return Err(ConfigError::Invalid {
                path: path.display().to_string(),
                reason: "a node that validates a chain needs consensus_key and p2p_listen (give a chain observe_from = [URL, ...] to observe it instead)"
                    .into(),
            });
        }
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a node config serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config with only the required keys and, if given, an `[api]` table.
    fn parse(api: &str) -> Result<NodeConfig, toml::de::Error> {
        toml::from_str(&format!(
            r#"
name = "sales"
data_dir = "data"
consensus_key = "consensus.key"
p2p_listen = "127.0.0.1:27000"
api_listen = "127.0.0.1:27100"
[[chains]]
genesis = "genesis.json"
{api}"#
        ))
    }

    #[test]
    fn api_limits_default_and_override() {
        assert_eq!(parse("").unwrap().api, ApiConfig::default());
        assert_eq!(
            ApiConfig::default().member_requests_per_second.get(),
            crate::auth::MEMBER_REQUESTS_PER_SECOND_DEFAULT
        );
        let config = parse("[api]\nmember_burst = 7\nip_requests_per_second = 3\n").unwrap();
        assert_eq!(config.api.member_burst.get(), 7);
        assert_eq!(config.api.ip_requests_per_second.get(), 3);
        assert_eq!(
            config.api.member_requests_per_second,
            ApiConfig::default().member_requests_per_second
        );
        // A zero rate would refuse everything: it is a configuration error, not a limit.
        let zero = parse("[api]\nmember_burst = 0\n").unwrap_err().to_string();
        assert!(zero.contains("nonzero"), "{zero}");
        let unknown = parse("[api]\nrequests = 5\n").unwrap_err().to_string();
        assert!(unknown.contains("unknown field `requests`"), "{unknown}");
    }
}
