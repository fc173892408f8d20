//! Devnet plans: keys, genesis and node configurations for a chain of validators on loopback.
//!
//! `tally devnet init` writes a plan to disk for separate `tally node` processes; `tally demo`
//! and the benchmarks run the same plan inside one process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use commonware_codec::DecodeExt;
use commonware_cryptography::{ed25519, Signer};
use rand::RngCore;
use tally_chain::{ClosePolicy, Genesis, Validator};
use tally_identity::{CertifiedMember, MemberCertificate, SecretKey};
use tally_ledger::{default_chart, Role};

use crate::config::{ChainConfig, NodeConfig, PeerConfig};
use crate::keys::{private_to_hex, public_to_hex};

/// The departments that run the validators of an enterprise's private chain, in order.
pub const DEPARTMENTS: [&str; 4] = ["sales", "finance", "logistics", "service"];

/// A member key with its certificate.
pub struct PlannedMember {
    pub name: String,
    pub role: Role,
    pub key: SecretKey,
}

pub struct PlannedValidator {
    pub name: String,
    pub key: ed25519::PrivateKey,
    pub p2p: SocketAddr,
    pub api: SocketAddr,
}

impl PlannedValidator {
    /// This validator as another node's `[[peers]]` entry, named `name` in its logs.
    pub fn peer_config(&self, name: String) -> PeerConfig {
        PeerConfig {
            name,
            consensus_key: public_to_hex(&self.key.public_key()),
            address: self.p2p,
        }
    }
}

/// Everything a chain needs to start.
pub struct DevnetPlan {
    pub genesis: Genesis,
    pub root: SecretKey,
    pub validators: Vec<PlannedValidator>,
    pub members: Vec<PlannedMember>,
}

fn consensus_key(rng: &mut impl RngCore) -> ed25519::PrivateKey {
    loop {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        if let Ok(key) = ed25519::PrivateKey::decode(commonware_runtime::IoBuf::from(seed.to_vec()))
        {
            return key;
        }
    }
}

fn validator_name(index: usize) -> String {
    DEPARTMENTS
        .get(index)
        .map(|name| name.to_string())
        .unwrap_or_else(|| format!("department-{index}"))
}

impl DevnetPlan {
    /// A chain of `validators` nodes for `enterprise`; ports are `base_port + i` (p2p) and
    /// `base_port + 100 + i` (API) on 127.0.0.1.
    pub fn new(
        rng: &mut (impl RngCore + rand::CryptoRng),
        enterprise: &str,
        chain_id: &str,
        validators: usize,
        base_port: u16,
        time_ms: u64,
    ) -> DevnetPlan {
        let root = SecretKey::generate(rng);
        let validators: Vec<PlannedValidator> = (0..validators)
            .map(|index| PlannedValidator {
                name: validator_name(index),
                key: consensus_key(rng),
                p2p: SocketAddr::from(([127, 0, 0, 1], base_port + index as u16)),
                api: SocketAddr::from(([127, 0, 0, 1], base_port + 100 + index as u16)),
            })
            .collect();
        // One member per department, an administrator, and the client key of `devnet init`.
        let mut members: Vec<PlannedMember> = vec![
            PlannedMember {
                name: "client".into(),
                role: Role::Finance,
                key: SecretKey::generate(rng),
            },
            PlannedMember {
                name: "admin".into(),
                role: Role::Admin,
                key: SecretKey::generate(rng),
            },
            PlannedMember {
                name: "auditor".into(),
                role: Role::Auditor,
                key: SecretKey::generate(rng),
            },
        ];
        for (name, role) in [
            ("sales", Role::Sales),
            ("finance", Role::Finance),
            ("logistics", Role::Logistics),
            ("service", Role::Service),
            ("bookkeeper", Role::Bookkeeper),
        ] {
            members.push(PlannedMember {
                name: name.into(),
                role,
                key: SecretKey::generate(rng),
            });
        }
        let certified: Vec<CertifiedMember> = members
            .iter()
            .map(|member| {
                CertifiedMember::issue(
                    &root,
                    chain_id,
                    MemberCertificate {
                        member: member.key.public_key(),
                        name: member.name.clone(),
                        role: member.role,
                        department: member.name.clone(),
                        valid_from_ms: 0,
                        valid_until_ms: u64::MAX,
                    },
                )
            })
            .collect();
        let genesis = Genesis {
            chain_id: chain_id.to_string(),
            enterprise: enterprise.to_string(),
            time_ms,
            root_key: root.public_key(),
            validators: validators
                .iter()
                .map(|validator| Validator {
                    name: validator.name.clone(),
                    consensus_key: public_to_hex(&validator.key.public_key()),
                })
                .collect(),
            members: certified,
            chart: default_chart(),
            consortium: None,
            close_policy: ClosePolicy::default(),
            read_policy: Default::default(),
            epoch_blocks: None,
        };
        DevnetPlan {
            genesis,
            root,
            validators,
            members,
        }
    }

    pub fn member(&self, name: &str) -> Option<&SecretKey> {
        self.members
            .iter()
            .find(|member| member.name == name)
            .map(|member| &member.key)
    }

    /// Every validator's consensus key and p2p address.
    pub fn addresses(&self) -> Vec<(ed25519::PublicKey, SocketAddr)> {
        self.validators
            .iter()
            .map(|validator| (validator.key.public_key(), validator.p2p))
            .collect()
    }

    /// Writes genesis, keys and one config per node under `out`; returns the config paths.
    pub fn write(&self, out: &Path) -> Result<Vec<PathBuf>, std::io::Error> {
        self.write_chain(out)?;
        self.validators
            .iter()
            .map(|validator| write_node(out, validator, &self.node_config(validator)))
            .collect()
    }

    /// Writes the genesis, the root key and the member keys under `out`.
    pub fn write_chain(&self, out: &Path) -> Result<(), std::io::Error> {
        std::fs::create_dir_all(out)?;
        let genesis_json = serde_json::to_string_pretty(&self.genesis).expect("genesis serialises");
        std::fs::write(out.join("genesis.json"), genesis_json)?;
        write_key(&self.root, &out.join("root.key"))?;
        for member in &self.members {
            write_key(&member.key, &out.join(format!("{}.key", member.name)))?;
        }
        Ok(())
    }

    /// The configuration of `validator`'s node, whose directory is `<out>/<name>`, beside the
    /// genesis the plan writes to `<out>`.
    pub fn node_config(&self, validator: &PlannedValidator) -> NodeConfig {
        NodeConfig {
            name: validator.name.clone(),
            data_dir: PathBuf::from("data"),
            consensus_key: Some(PathBuf::from("consensus.key")),
            p2p_listen: Some(validator.p2p),
            api_listen: validator.api,
            chains: vec![ChainConfig {
                genesis: PathBuf::from("../genesis.json"),
                observe_from: Vec::new(),
                observe_key: None,
            }],
            peers: self
                .validators
                .iter()
                .filter(|peer| peer.name != validator.name)
                .map(|peer| peer.peer_config(peer.name.clone()))
                .collect(),
            bookkeeping: None,
            api: Default::default(),
        }
    }
}

/// Writes a member key file.
pub(crate) fn write_key(key: &SecretKey, path: &Path) -> Result<(), std::io::Error> {
    key.write_file(path)
        .map_err(|error| std::io::Error::other(error.to_string()))
}

/// Writes `validator`'s consensus key and `config` into `<out>/<name>`; returns the config's path.
pub(crate) fn write_node(
    out: &Path,
    validator: &PlannedValidator,
    config: &NodeConfig,
) -> Result<PathBuf, std::io::Error> {
    let dir = out.join(&validator.name);
    std::fs::create_dir_all(&dir)?;
    write_secret(&dir.join("consensus.key"), &private_to_hex(&validator.key))?;
    let path = dir.join("node.toml");
    std::fs::write(&path, config.to_toml())?;
    Ok(path)
}

impl DevnetPlan {
    /// The API address of the devnet's observer: after the validators' API ports.
    pub fn observer_api(&self) -> SocketAddr {
        let last = self
            .validators
            .last()
            .map(|validator| validator.api.port())
            .unwrap_or(0);
        SocketAddr::from(([127, 0, 0, 1], last + 1))
    }

    /// Writes `observer/node.toml` under `out`: a node that observes the chain from the
    /// validators' APIs (it votes on nothing, holds no consensus key) and serves reads.
    pub fn write_observer(&self, out: &Path) -> Result<PathBuf, std::io::Error> {
        let dir = out.join("observer");
        std::fs::create_dir_all(&dir)?;
        let config = NodeConfig {
            name: "observer".into(),
            data_dir: PathBuf::from("data"),
            consensus_key: None,
            p2p_listen: None,
            api_listen: self.observer_api(),
            chains: vec![ChainConfig {
                genesis: PathBuf::from("../genesis.json"),
                observe_from: self
                    .validators
                    .iter()
                    .map(|validator| format!("http://{}", validator.api))
                    .collect(),
                observe_key: Some(PathBuf::from("../auditor.key")),
            }],
            peers: Vec::new(),
            bookkeeping: None,
            api: Default::default(),
        };
        let path = dir.join("node.toml");
        std::fs::write(&path, config.to_toml())?;
        Ok(path)
    }
}

fn write_secret(path: &Path, text: &str) -> Result<(), std::io::Error> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    writeln!(file, "{text}")
}
