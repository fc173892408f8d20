//! Running nodes: `tally devnet init`, `tally node`, and in-process networks for demo and bench.

use std::path::Path;

use anyhow::Context as _;
use commonware_runtime::{tokio as cw_tokio, Runner, Spawner, Supervisor};
use tally_consensus::{ChainHandle, Timing};
use tally_node::{devnet::DevnetPlan, keys, start_node, ChainSpec, NodeConfig, NodeSpec};

use crate::user_error;

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

pub fn devnet_init(
    out: &Path,
    validators: usize,
    base_port: u16,
    chain_id: &str,
    enterprise: &str,
) -> anyhow::Result<()> {
    if validators == 0 || validators > tally_chain::VALIDATORS_MAX {
        return Err(user_error(format!(
            "--validators must be between 1 and {}",
            tally_chain::VALIDATORS_MAX
        )));
    }
    if out.join("genesis.json").exists() {
        return Err(user_error(format!(
            "{} already holds a devnet (genesis.json exists); choose another --out or remove it",
            out.display()
        )));
    }
    let plan = DevnetPlan::new(
        &mut rand::rngs::OsRng,
        enterprise,
        chain_id,
        validators,
        base_port,
        now_ms(),
    );
    let configs = plan
        .write(out)
        .with_context(|| format!("writing the devnet to {}", out.display()))?;
    let observer = plan
        .write_observer(out)
        .with_context(|| format!("writing the observer to {}", out.display()))?;
    println!(
        "wrote a {validators}-validator devnet for chain '{chain_id}' to {}",
        out.display()
    );
    println!("  genesis:    {}", out.join("genesis.json").display());
    println!(
        "  client key: {} (role finance: may post to every account)",
        out.join("client.key").display()
    );
    for (validator, config) in plan.validators.iter().zip(&configs) {
        println!(
            "  {:<10} tally node --config {}   (API http://{})",
            validator.name,
            config.display(),
            validator.api
        );
    }
    println!(
        "  {:<10} tally node --config {}   (API http://{}; follows the validators, votes on nothing)",
        "observer",
        observer.display(),
        plan.observer_api()
    );
    Ok(())
}

/// Highest first port of `tally devnet two-tier`: the last enterprise's API ports stay below
/// 65536.
const TWO_TIER_BASE_PORT_MAX: u16 = 65_000;

pub fn two_tier_init(
    out: &Path,
    departments: usize,
    base_port: u16,
    epoch_blocks: u64,
    options: tally_node::topology::WriteOptions,
) -> anyhow::Result<()> {
    use tally_node::topology::{TopologyPlan, CONSORTIUM_CHAIN, DEPARTMENT_VALIDATORS};
    if departments == 0 || departments > DEPARTMENT_VALIDATORS {
        return Err(user_error(format!(
            "--departments must be between 1 and {DEPARTMENT_VALIDATORS}"
        )));
    }
    if base_port == 0 || base_port > TWO_TIER_BASE_PORT_MAX {
        return Err(user_error(format!(
            "--base-port must be between 1 and {TWO_TIER_BASE_PORT_MAX}"
        )));
    }
    if options.anchor_every_blocks == 0 {
        return Err(user_error(
            "--anchor-every must be at least 1: partners check a private chain against its anchors",
        ));
    }
    if options.partner_check_seconds == 0 {
        return Err(user_error("--partner-check-seconds must be at least 1"));
    }
    let epoch_blocks = std::num::NonZeroU64::new(epoch_blocks)
        .filter(|blocks| {
            (tally_chain::EPOCH_BLOCKS_MIN..=tally_chain::EPOCH_BLOCKS_MAX).contains(&blocks.get())
        })
        .ok_or_else(|| {
            user_error(format!(
                "--epoch-blocks must be between {} and {}",
                tally_chain::EPOCH_BLOCKS_MIN,
                tally_chain::EPOCH_BLOCKS_MAX
            ))
        })?;
    let consortium_genesis = out.join(CONSORTIUM_CHAIN).join("genesis.json");
    if consortium_genesis.exists() {
        return Err(user_error(format!(
            "{} already holds a topology ({} exists); choose another --out or remove it",
            out.display(),
            consortium_genesis.display()
        )));
    }
    let mut plan =
        TopologyPlan::with_departments(&mut rand::rngs::OsRng, base_port, now_ms(), departments);
    plan.consortium.epoch_blocks = Some(epoch_blocks);
    let nodes = plan
        .write(out, &options)
        .with_context(|| format!("writing the topology to {}", out.display()))?;
    println!(
        "wrote a two-tier topology to {}: {} private chains of {departments} department validator(s) and the consortium chain",
        out.display(),
        plan.enterprises.len()
    );
    println!("  consortium genesis: {}", consortium_genesis.display());
    for enterprise in &plan.enterprises {
        let dir = out.join(enterprise.name.as_str());
        println!(
            "  {}: genesis {}, member keys in {} (consortium-trader.key signs its contract calls)",
            enterprise.name,
            dir.join("genesis.json").display(),
            dir.display()
        );
    }
    for node in &nodes {
        println!(
            "  tally node --config {}   (API http://{}{})",
            node.config.display(),
            node.api,
            if node.hosts_consortium {
                "; also validates the consortium chain and books its enterprise's trades"
            } else {
                ""
            }
        );
    }
    Ok(())
}

pub fn run_node(config_path: &Path) -> anyhow::Result<()> {
    let config = NodeConfig::read(config_path).map_err(|error| user_error(error.to_string()))?;
    // The chains this node validates go to consensus; those it observes are followed over
    // validators' APIs. Both are served, in the order the config lists them.
    let mut validated = Vec::new();
    let mut observed = Vec::new();
    for (index, chain) in config.chains.iter().enumerate() {
        let genesis = tally_chain::Genesis::read(&chain.genesis)
            .map_err(|error| user_error(error.to_string()))?;
        let spec = ChainSpec {
            ledger_path: config.data_dir.join(&genesis.chain_id).join("ledger.redb"),
            genesis,
        };
        if chain.is_observed() {
            // `NodeConfig::read` refuses an observed chain without a key.
            let key_path = chain.observe_key.as_ref().ok_or_else(|| {
                user_error("an observed chain needs observe_key: its sources serve only members")
            })?;
            let key = tally_identity::SecretKey::read_file(key_path)
                .map_err(|error| user_error(error.to_string()))?;
            observed.push((index, spec, chain.observe_from.clone(), key));
        } else {
            validated.push((index, spec));
        }
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let runtime = cw_tokio::Config::new().with_storage_directory(config.data_dir.join("consensus"));
    let validated_order: Vec<usize> = validated.iter().map(|(index, _)| *index).collect();
    let spec = if validated.is_empty() {
        None
    } else {
        // `NodeConfig::read` refuses a validating node without a key and p2p address.
        let (Some(key_path), Some(p2p_listen)) = (&config.consensus_key, config.p2p_listen) else {
            return Err(user_error(
                "a node that validates a chain needs consensus_key and p2p_listen",
            ));
        };
        let signer = keys::read_private(key_path).map_err(|error| user_error(error.to_string()))?;
        let mut validators = Vec::new();
        validators.push((keys::public_of(&signer), p2p_listen));
        for peer in &config.peers {
            let key = keys::public_from_hex(&peer.consensus_key)
                .map_err(|error| user_error(error.to_string()))?;
            validators.push((key, peer.address));
        }
        Some(NodeSpec {
            name: config.name.clone(),
            chains: validated.into_iter().map(|(_, spec)| spec).collect(),
            signer,
            p2p_listen,
            validators,
            timing: Timing::default(),
        })
    };
    let api = config.api_listen;
    let api_limits = config.api.clone();
    let name = config.name.clone();
    let bookkeeping = match &config.bookkeeping {
        Some(bookkeeping) => Some(bookkeeper_config(bookkeeping, &config.data_dir)?),
        None => None,
    };
    let partner_watch = match (&config.bookkeeping, &bookkeeping) {
        (Some(section), Some(bookkeeper)) => partner_watch_config(section, bookkeeper)?,
        _ => None,
    };
    cw_tokio::Runner::new(runtime).start(|context| async move {
        let listener = tokio::net::TcpListener::bind(api)
            .await
            .with_context(|| format!("cannot listen for the API on {api}"))?;
        let bookkeeper_context = context.child("bookkeeper");
        let partner_context = context.child("tally");
        let observer_context = context.child("observer");
        let metrics_context = context.child("tally");
        let mut hosted: Vec<(usize, ChainHandle)> = Vec::new();
        if let Some(spec) = spec {
            let handles = start_node(context, spec).await?;
            hosted.extend(validated_order.into_iter().zip(handles));
        }
        for (index, spec, sources, key) in observed {
            hosted.push((index, observe_chain(&observer_context, spec, sources, key)?));
        }
        hosted.sort_by_key(|(index, _)| *index);
        let chains: Vec<ChainHandle> = hosted.into_iter().map(|(_, chain)| chain).collect();
        let metrics = tally_node::metrics::NodeMetrics::register(&metrics_context, &chains);
        let bookkeeper_handle = tally_node::bookkeeper::BookkeeperHandle::default();
        let metrics = if bookkeeping.is_some() {
            metrics.with_bookkeeper(&metrics_context, bookkeeper_handle.clone())
        } else {
            metrics
        };
        if let Some(bookkeeping) = bookkeeping {
            let private = chains
                .iter()
                .find(|chain| chain.genesis().consortium.is_none())
                .cloned();
            let consortium = chains
                .iter()
                .find(|chain| chain.genesis().consortium.is_some())
                .cloned();
            let (Some(private), Some(consortium)) = (private, consortium) else {
                return Err(user_error(
                    "[bookkeeping] needs the node to host a private chain and the consortium chain",
                ));
            };
            eprintln!(
                "node {name}: booking {}'s side of consortium contracts into chain '{}'",
                bookkeeping.enterprise,
                private.chain_id()
            );
            if let Some(watch) = partner_watch {
                eprintln!(
                    "node {name}: checking the anchors of {} partner(s) every {} s",
                    watch.partners.len(),
                    watch.every.as_secs()
                );
                let watched = consortium.clone();
                partner_context.spawn(move |context| {
                    tally_node::partner_watch::watch_partners(context, watched, watch)
                });
            }
            bookkeeper_context.spawn(move |context| {
                tally_node::bookkeeper::run_bookkeeper(
                    context,
                    consortium,
                    private,
                    bookkeeping,
                    bookkeeper_handle,
                )
            });
        }
        for chain in &chains {
            eprintln!(
                "node {name}: chain '{}' at height {}, API on http://{api}/v1/chains/{}",
                chain.chain_id(),
                chain.state().height,
                chain.chain_id()
            );
        }
        tokio::select! {
            _ = tally_node::serve_api(listener, chains, &api_limits, Some(metrics)) => {},
            _ = tokio::signal::ctrl_c() => eprintln!("node {name}: shutting down"),
        }
        anyhow::Ok(())
    })
}

/// Opens this node's copy of an observed chain and follows it from `sources` in the background.
fn observe_chain(
    context: &cw_tokio::Context,
    spec: ChainSpec,
    sources: Vec<String>,
    key: tally_identity::SecretKey,
) -> anyhow::Result<ChainHandle> {
    if let Some(parent) = spec.ledger_path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating data directory {}", parent.display()))?;
    }
    let store = tally_chain::Store::open(&spec.ledger_path, &spec.genesis)
        .with_context(|| format!("opening {}", spec.ledger_path.display()))?;
    let chain = ChainHandle::new(spec.genesis, store)
        .with_context(|| format!("reading {}", spec.ledger_path.display()))?;
    chain.set_observer();
    let follower = chain.clone();
    context.child("follow").spawn(move |context| {
        tally_node::observer::follow_over_http(context, follower, sources, key)
    });
    Ok(chain)
}

/// The partner watch of a node from its `[bookkeeping]` section: `None` when it lists no
/// partners.
fn partner_watch_config(
    section: &tally_node::config::BookkeepingConfig,
    bookkeeper: &tally_node::bookkeeper::BookkeeperConfig,
) -> anyhow::Result<Option<tally_node::partner_watch::PartnerWatchConfig>> {
    if section.partners.is_empty() {
        return Ok(None);
    }
    let Some(key) = bookkeeper.anchor_key.clone() else {
        return Err(user_error(
            "[bookkeeping] partners need anchor_key: partners serve their block headers to consortium members",
        ));
    };
    if section.partner_check_seconds == 0 {
        return Err(user_error(
            "[bookkeeping] partner_check_seconds must be at least 1",
        ));
    }
    let partners = section
        .partners
        .iter()
        .map(|partner| {
            let enterprise =
                tally_contracts::EnterpriseName::new(&partner.enterprise).map_err(|error| {
                    user_error(format!("[bookkeeping] partner enterprise: {error}"))
                })?;
            Ok(tally_node::partner_watch::Partner {
                enterprise,
                api: partner.api.clone(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(tally_node::partner_watch::PartnerWatchConfig {
        partners,
        key,
        every: std::time::Duration::from_secs(section.partner_check_seconds),
    }))
}

/// The bookkeeper of a node from its `[bookkeeping]` section.
fn bookkeeper_config(
    config: &tally_node::config::BookkeepingConfig,
    data_dir: &Path,
) -> anyhow::Result<tally_node::bookkeeper::BookkeeperConfig> {
    let enterprise = tally_contracts::EnterpriseName::new(&config.enterprise)
        .map_err(|error| user_error(format!("[bookkeeping] enterprise: {error}")))?;
    let read_key = |path: &Path| {
        tally_identity::SecretKey::read_file(path).map_err(|error| user_error(error.to_string()))
    };
    let rules = match &config.rules {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|error| user_error(format!("cannot read {}: {error}", path.display())))?;
            serde_json::from_str(&text).map_err(|error| {
                user_error(format!(
                    "{} is not valid posting rules: {error}",
                    path.display()
                ))
            })?
        }
        None => tally_contracts::PostingRules::default(),
    };
    Ok(tally_node::bookkeeper::BookkeeperConfig {
        enterprise,
        rules,
        key: read_key(&config.key)?,
        anchor_key: config.anchor_key.as_deref().map(read_key).transpose()?,
        anchor_every_blocks: config.anchor_every_blocks,
        cursor_path: data_dir.join("bookkeeping.cursor"),
    })
}

/// A chain of validators running inside this process, on loopback p2p.
pub struct LocalNetwork {
    pub plan: DevnetPlan,
    pub chains: Vec<ChainHandle>,
}

/// Picks `count` free loopback ports.
pub fn free_ports(count: usize) -> anyhow::Result<Vec<u16>> {
    let listeners: Vec<std::net::TcpListener> = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .context("finding free loopback ports")?;
    Ok(listeners
        .iter()
        .map(|listener| listener.local_addr().map(|address| address.port()))
        .collect::<Result<_, _>>()?)
}

/// Starts `validators` nodes of one new chain inside `context`, storing under `data`.
pub async fn start_local(
    context: cw_tokio::Context,
    data: &Path,
    validators: usize,
    chain_id: &str,
) -> anyhow::Result<LocalNetwork> {
    let mut plan = DevnetPlan::new(
        &mut rand::rngs::OsRng,
        "Merchant",
        chain_id,
        validators,
        0,
        now_ms(),
    );
    let ports = free_ports(validators)?;
    for (validator, port) in plan.validators.iter_mut().zip(ports) {
        validator.p2p.set_port(port);
    }
    let addresses = plan.addresses();
    let mut chains = Vec::new();
    for validator in &plan.validators {
        let spec = NodeSpec {
            name: validator.name.clone(),
            chains: vec![ChainSpec {
                genesis: plan.genesis.clone(),
                ledger_path: data.join(&validator.name).join("ledger.redb"),
            }],
            signer: validator.key.clone(),
            p2p_listen: validator.p2p,
            validators: addresses.clone(),
            timing: Timing::default(),
        };
        chains.extend(start_node(context.child("local"), spec).await?);
    }
    Ok(LocalNetwork { plan, chains })
}

/// Posts the workload's opening balances and waits until they are final.
pub async fn post_opening(
    network: &LocalNetwork,
    workload: &mut tally_node::workload::Workload,
) -> anyhow::Result<()> {
    let (member, entry) = workload.opening();
    let key = network
        .plan
        .member(member)
        .expect("the plan has every workload member");
    let id = entry.id.clone();
    let tx = tally_chain::Transaction::Single(tally_chain::SignedTx::sign(
        key,
        &network.plan.genesis.chain_id,
        tally_chain::TxBody::Post(entry),
    ));
    let chain = &network.chains[0];
    chain
        .submit(tx)
        .map_err(|error| anyhow::anyhow!("opening balances refused: {error}"))?;
    // Every validator checks submissions against its own committed state: wait until all of
    // them hold the opening balances, or a batch sent to a lagging one is refused.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while network
        .chains
        .iter()
        .map(|chain| chain.entry(&id))
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .any(Option::is_none)
    {
        if std::time::Instant::now() > deadline {
            anyhow::bail!("the chain did not commit the opening balances within 60 s");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(())
}
