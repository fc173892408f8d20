//! The two-tier topology: several enterprises, each with its own private chain of department
//! validators, joined by one consortium chain validated by one node per enterprise.
//!
//! The consortium validator of an enterprise is its first department's node (the same consensus
//! key), which therefore hosts two chains and runs the enterprise's bookkeeper. The demo, the
//! trade benchmark and the whole-topology simulation all start from a [`TopologyPlan`].

use std::net::SocketAddr;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use rand::RngCore;
use tally_chain::{ClosePolicy, ConsortiumGenesis, EnterpriseGenesis, Genesis, Validator};
use tally_contracts::{EnterpriseKind, EnterpriseName, Threshold};
use tally_identity::{CertifiedMember, MemberCertificate, SecretKey};
use tally_ledger::{codes, AccountCode, Currency, Date, EntryDraft, EntryId, Posting, Role, Side};

use crate::config::{BookkeepingConfig, ChainConfig, PartnerNodeConfig};
use crate::devnet::{write_key, write_node, DevnetPlan};
use crate::keys::public_to_hex;

/// The consortium chain's id.
pub const CONSORTIUM_CHAIN: &str = "consortium";

/// The enterprises of the demo topology, one of each kind a trade needs.
pub const ENTERPRISES: [(&str, EnterpriseKind); 4] = [
    ("merchant", EnterpriseKind::Merchant),
    ("supplier", EnterpriseKind::Supplier),
    ("carrier", EnterpriseKind::Carrier),
    ("marketplace", EnterpriseKind::Marketplace),
];

/// Department validators per private chain: 3f+1 with f = 1.
pub const DEPARTMENT_VALIDATORS: usize = 4;

/// Consortium blocks per validator-set epoch: a governance change of the validator keys takes
/// effect at the next multiple. Each boundary restarts consensus (a pause of about one leader
/// timeout), so epochs are long; at a few blocks a second, one lasts several minutes.
pub const CONSORTIUM_EPOCH_BLOCKS: u64 = 1_000;

/// Share of enterprises whose administrators must approve a membership change.
pub const GOVERNANCE_THRESHOLD: Threshold = Threshold {
    numerator: 2,
    denominator: 3,
};

/// Opening bank balance of every enterprise (minor units): the float that pays for purchases,
/// shipping and commissions before sales are settled.
pub const OPENING_BANK: u64 = 100_000_000_000;

/// The entry that opens an enterprise's books: [`OPENING_BANK`] in EUR against opening equity.
pub fn opening_entry(enterprise: &str, date: Date) -> EntryDraft {
    let eur = Currency::from_code("EUR").expect("EUR is an ISO currency");
    let posting = |account: &str, side| Posting {
        account: AccountCode::new(account).expect("chart codes are valid"),
        side,
        amount: OPENING_BANK,
        currency: eur,
    };
    EntryDraft {
        id: EntryId::new(&format!("opening-{enterprise}"))
            .expect("enterprise names make valid ids"),
        date,
        description: "opening bank balance".into(),
        postings: vec![
            posting(codes::BANK, Side::Debit),
            posting(codes::OPENING_EQUITY, Side::Credit),
        ],
        references: Vec::new(),
        reverses: None,
        sealed: Default::default(),
        seal_keys: Vec::new(),
    }
}

/// Ports each enterprise's plan reserves from the base port (p2p `+i`, API `+100+i`).
const PORTS_PER_ENTERPRISE: u16 = 10;

/// One enterprise: its private chain and its members on the consortium chain.
pub struct EnterprisePlan {
    pub name: EnterpriseName,
    pub kind: EnterpriseKind,
    /// The private chain (its genesis, validators and private-chain members).
    pub chain: DevnetPlan,
    /// Consortium members, certified by the enterprise's root key for the consortium chain.
    pub trader: SecretKey,
    pub admin: SecretKey,
    pub bookkeeper: SecretKey,
}

impl EnterprisePlan {
    /// The private chain's id (the enterprise's name).
    pub fn chain_id(&self) -> &str {
        &self.chain.genesis.chain_id
    }
}

/// Every chain of the topology.
pub struct TopologyPlan {
    pub enterprises: Vec<EnterprisePlan>,
    pub consortium: Genesis,
}

fn certify(
    root: &SecretKey,
    chain_id: &str,
    name: String,
    role: Role,
    key: &SecretKey,
) -> CertifiedMember {
    CertifiedMember::issue(
        root,
        chain_id,
        MemberCertificate {
            member: key.public_key(),
            name: name.clone(),
            role,
            department: name,
            valid_from_ms: 0,
            valid_until_ms: u64::MAX,
        },
    )
}

impl TopologyPlan {
    /// The four enterprises of [`ENTERPRISES`], each with [`DEPARTMENT_VALIDATORS`] department
    /// validators, ports from `base_port` on 127.0.0.1.
    pub fn new(
        rng: &mut (impl RngCore + rand::CryptoRng),
        base_port: u16,
        time_ms: u64,
    ) -> TopologyPlan {
        TopologyPlan::with_departments(rng, base_port, time_ms, DEPARTMENT_VALIDATORS)
    }

    /// As [`TopologyPlan::new`], with `departments` validators per private chain (1 to
    /// [`DEPARTMENT_VALIDATORS`]; one tolerates no fault, but is a light network to try).
    pub fn with_departments(
        rng: &mut (impl RngCore + rand::CryptoRng),
        base_port: u16,
        time_ms: u64,
        departments: usize,
    ) -> TopologyPlan {
        assert!(
            (1..=DEPARTMENT_VALIDATORS).contains(&departments),
            "callers check the department count"
        );
        let mut enterprises = Vec::new();
        for (index, (name, kind)) in ENTERPRISES.iter().enumerate() {
            let chain = DevnetPlan::new(
                rng,
                name,
                name,
                departments,
                base_port + PORTS_PER_ENTERPRISE * index as u16,
                time_ms,
            );
            enterprises.push(EnterprisePlan {
                name: EnterpriseName::new(name).expect("planned names are valid"),
                kind: *kind,
                chain,
                trader: SecretKey::generate(rng),
                admin: SecretKey::generate(rng),
                bookkeeper: SecretKey::generate(rng),
            });
        }
        let mut members = Vec::new();
        for enterprise in &enterprises {
            let root = &enterprise.chain.root;
            for (suffix, role, key) in [
                ("trader", Role::Sales, &enterprise.trader),
                ("admin", Role::Admin, &enterprise.admin),
                ("bookkeeper", Role::Bookkeeper, &enterprise.bookkeeper),
            ] {
                members.push(certify(
                    root,
                    CONSORTIUM_CHAIN,
                    format!("{}-{suffix}", enterprise.name),
                    role,
                    key,
                ));
            }
        }
        let consortium = Genesis {
            chain_id: CONSORTIUM_CHAIN.into(),
            enterprise: "consortium".into(),
            time_ms,
            root_key: enterprises[0].chain.root.public_key(),
            validators: enterprises
                .iter()
                .map(|enterprise| Validator {
                    name: enterprise.name.to_string(),
                    consensus_key: public_to_hex(&commonware_cryptography::Signer::public_key(
                        &enterprise.chain.validators[0].key,
                    )),
                })
                .collect(),
            members,
            chart: Vec::new(),
            consortium: Some(ConsortiumGenesis {
                threshold: GOVERNANCE_THRESHOLD,
                enterprises: enterprises
                    .iter()
                    .map(|enterprise| EnterpriseGenesis {
                        name: enterprise.name.clone(),
                        kind: enterprise.kind,
                        root_key: enterprise.chain.root.public_key(),
                        // The consortium validator's key: the set of each epoch is read from
                        // these, so a governance rotation takes effect in consensus.
                        validator_key: Some(public_to_hex(
                            &commonware_cryptography::Signer::public_key(
                                &enterprise.chain.validators[0].key,
                            ),
                        )),
                    })
                    .collect(),
            }),
            close_policy: ClosePolicy::default(),
            read_policy: Default::default(),
            epoch_blocks: NonZeroU64::new(CONSORTIUM_EPOCH_BLOCKS),
        };
        TopologyPlan {
            enterprises,
            consortium,
        }
    }

    /// Sealing of delivery addresses for the trade generator: each enterprise's trader and
    /// bookkeeper read its contracts' private terms.
    pub fn sealing(&self) -> crate::trades::Sealing {
        crate::trades::Sealing {
            chain_id: self.consortium.chain_id.clone(),
            readers: self
                .enterprises
                .iter()
                .map(|enterprise| {
                    let readers = vec![
                        enterprise.trader.public_key(),
                        enterprise.bookkeeper.public_key(),
                    ];
                    (enterprise.name.clone(), readers)
                })
                .collect(),
        }
    }

    pub fn enterprise(&self, name: &str) -> Option<&EnterprisePlan> {
        self.enterprises
            .iter()
            .find(|enterprise| enterprise.name.as_str() == name)
    }

    /// Writes the topology under `out` for separate `tally node` processes:
    /// - `consortium/genesis.json`;
    /// - per enterprise, `<enterprise>/` holds its private chain's genesis, root key and member
    ///   keys (as `tally devnet init` writes them), and its consortium members' keys
    ///   (`consortium-trader.key`, `consortium-admin.key`, `consortium-bookkeeper.key`);
    /// - per department, `<enterprise>/<department>/node.toml` and its consensus key. The first
    ///   department's node also validates the consortium chain, runs the enterprise's
    ///   bookkeeper, which anchors the private chain as `options` say, and watches the other
    ///   enterprises' anchors against their first departments' nodes.
    ///
    /// Returns the nodes in order: enterprises as [`ENTERPRISES`] lists them, departments in
    /// [`crate::devnet::DEPARTMENTS`] order.
    pub fn write(
        &self,
        out: &Path,
        options: &WriteOptions,
    ) -> Result<Vec<WrittenNode>, std::io::Error> {
        let consortium_dir = out.join(CONSORTIUM_CHAIN);
        std::fs::create_dir_all(&consortium_dir)?;
        let genesis_json =
            serde_json::to_string_pretty(&self.consortium).expect("genesis serialises");
        std::fs::write(consortium_dir.join("genesis.json"), genesis_json)?;
        let mut written = Vec::new();
        for enterprise in &self.enterprises {
            let dir = out.join(enterprise.name.as_str());
            enterprise.chain.write_chain(&dir)?;
            for (suffix, key) in [
                ("trader", &enterprise.trader),
                ("admin", &enterprise.admin),
                ("bookkeeper", &enterprise.bookkeeper),
            ] {
                write_key(key, &dir.join(format!("{CONSORTIUM_CHAIN}-{suffix}.key")))?;
            }
            for (index, validator) in enterprise.chain.validators.iter().enumerate() {
                let mut config = enterprise.chain.node_config(validator);
                config.name = format!("{}-{}", enterprise.name, validator.name);
                let hosts_consortium = index == 0;
                if hosts_consortium {
                    config.chains.push(ChainConfig {
                        genesis: PathBuf::from(format!("../../{CONSORTIUM_CHAIN}/genesis.json")),
                        observe_from: Vec::new(),
                        observe_key: None,
                    });
                    for other in &self.enterprises {
                        if other.name == enterprise.name {
                            continue;
                        }
                        let peer = &other.chain.validators[0];
                        config
                            .peers
                            .push(peer.peer_config(format!("{}-{}", other.name, peer.name)));
                    }
                    config.bookkeeping = Some(BookkeepingConfig {
                        enterprise: enterprise.name.to_string(),
                        key: PathBuf::from("../bookkeeper.key"),
                        anchor_key: Some(PathBuf::from(format!(
                            "../{CONSORTIUM_CHAIN}-bookkeeper.key"
                        ))),
                        anchor_every_blocks: options.anchor_every_blocks,
                        rules: None,
                        partners: self
                            .enterprises
                            .iter()
                            .filter(|other| other.name != enterprise.name)
                            .map(|other| PartnerNodeConfig {
                                enterprise: other.name.to_string(),
                                api: format!("http://{}", other.chain.validators[0].api),
                            })
                            .collect(),
                        partner_check_seconds: options.partner_check_seconds,
                    });
                }
                written.push(WrittenNode {
                    enterprise: enterprise.name.to_string(),
                    department: validator.name.clone(),
                    config: write_node(&dir, validator, &config)?,
                    api: validator.api,
                    hosts_consortium,
                });
            }
        }
        Ok(written)
    }
}

/// How the nodes of a written topology anchor and watch their partners.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// Private-chain blocks between two anchors of its head.
    pub anchor_every_blocks: u64,
    /// Seconds between two checks of the partners' anchors.
    pub partner_check_seconds: u64,
}

/// One node of a topology written to disk.
pub struct WrittenNode {
    pub enterprise: String,
    pub department: String,
    /// Its `node.toml`.
    pub config: PathBuf,
    pub api: SocketAddr,
    /// Whether it validates the consortium chain and runs its enterprise's bookkeeper.
    pub hosts_consortium: bool,
}
