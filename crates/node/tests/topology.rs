//! Seeded simulation of the whole two-tier topology: four enterprises' private chains (four
//! department validators each) and the consortium chain (one validator per enterprise), on
//! commonware's deterministic runtime and simulated network, with a bookkeeper per enterprise
//! (two for the merchant, racing each other) and the trade workload.
//!
//! Faults: a supplier department validator crashes mid-run and restarts from its storage; the
//! carrier's consortium node is cut off from everyone for a while, then the partition heals.
//! Checks: every chain's validators agree and its books balance; every contract event with an
//! accounting effect is booked exactly once in each party's private chain; every pair of partners
//! reconciles; anchors match the private chains; replay of the consortium chain gives its root.
//!
//! Set `TALLY_SEED` to rerun one seed; a failure prints the seed.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use commonware_cryptography::Signer;
use commonware_p2p::simulated::{self, Link, Network};
use commonware_runtime::{deterministic, Clock, Handle, Runner, Spawner, Supervisor};
use commonware_utils::NZUsize;
use rand::{rngs::StdRng, SeedableRng};
use tally_chain::{SignedTx, Transaction, TxBody};
use tally_consensus::ChainHandle;
use tally_contracts::{EnterpriseName, PostingRules};
use tally_ledger::{Date, EntryId};
use tally_node::{
    bookkeeper::{derive_entries, run_bookkeeper, BookkeeperConfig, BookkeeperHandle},
    reconcile::{intercompany, reconcile, DERIVED_PREFIX},
    topology::{opening_entry, TopologyPlan},
    trades::{TradeDriver, TradeGenerator},
};

mod simnode;
use simnode::start_node;

const TRADES: usize = 40;

fn link() -> Link {
    Link {
        latency: Duration::from_millis(10),
        jitter: Duration::from_millis(3),
        success_rate: commonware_utils::probability!(1.0),
    }
}

fn now_ms(context: &deterministic::Context) -> u64 {
    context
        .current()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

async fn wait_until(context: &deterministic::Context, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = now_ms(context) + 600_000;
    while !done() {
        assert!(now_ms(context) < deadline, "timed out waiting for {what}");
        context.sleep(Duration::from_millis(100)).await;
    }
}

fn run(seed: u64) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("TALLY_LOG"))
        .with_test_writer()
        .try_init();
    let runner = deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_timeout(Some(Duration::from_secs(1800))),
    );
    runner.start(|context| async move {
        let mut rng = StdRng::seed_from_u64(seed);
        let plan = TopologyPlan::new(&mut rng, 30_000, 0);
        let mut publics = Vec::new();
        for enterprise in &plan.enterprises {
            for validator in &enterprise.chain.validators {
                publics.push(validator.key.public_key());
            }
        }
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: tally_node::P2P_MESSAGE_BYTES_MAX,
                max_peers_per_set: NZUsize!(publics.len()),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            publics.clone(),
        )
        .await;
        network.start();
        for a in &publics {
            for b in &publics {
                if a != b {
                    oracle.add_link(a.clone(), b.clone(), link()).await.unwrap();
                }
            }
        }
        let data =
            std::env::temp_dir().join(format!("tally-topology-{seed}-{}", std::process::id()));
        std::fs::create_dir_all(&data).unwrap();

        // Start every node: department 0 of each enterprise also validates the consortium.
        let mut private: BTreeMap<EnterpriseName, Vec<ChainHandle>> = BTreeMap::new();
        let mut consortium: BTreeMap<EnterpriseName, ChainHandle> = BTreeMap::new();
        let mut handles: BTreeMap<String, Handle<()>> = BTreeMap::new();
        for enterprise in &plan.enterprises {
            for (index, validator) in enterprise.chain.validators.iter().enumerate() {
                let name = format!("{}-{}", enterprise.name, validator.name);
                let mut geneses = vec![&enterprise.chain.genesis];
                if index == 0 {
                    geneses.push(&plan.consortium);
                }
                let (chains, handle) =
                    start_node(&context, &oracle, &validator.key, &name, &geneses, &data).await;
                private
                    .entry(enterprise.name.clone())
                    .or_default()
                    .push(chains[0].clone());
                if index == 0 {
                    consortium.insert(enterprise.name.clone(), chains[1].clone());
                }
                handles.insert(name, handle);
            }
        }

        // Bookkeepers: one per enterprise on its consortium node, and a second for the merchant
        // submitting through another department's validator, racing the first.
        let mut bookkeepers: BTreeMap<EnterpriseName, BookkeeperHandle> = BTreeMap::new();
        for enterprise in &plan.enterprises {
            let targets: Vec<usize> = if enterprise.name.as_str() == "merchant" {
                vec![0, 1]
            } else {
                vec![0]
            };
            for target in targets {
                let handle = BookkeeperHandle::default();
                if target == 0 {
                    bookkeepers.insert(enterprise.name.clone(), handle.clone());
                }
                let config = BookkeeperConfig {
                    enterprise: enterprise.name.clone(),
                    rules: PostingRules::default(),
                    key: enterprise.chain.member("bookkeeper").unwrap().clone(),
                    anchor_key: Some(enterprise.bookkeeper.clone()),
                    anchor_every_blocks: 10,
                    cursor_path: data.join(format!("{}-{target}.cursor", enterprise.name)),
                };
                let consortium = consortium[&enterprise.name].clone();
                let chain = private[&enterprise.name][target].clone();
                context.child("bookkeeper").spawn(move |context| {
                    run_bookkeeper(context, consortium, chain, config, handle)
                });
            }
        }

        // Opening bank balances.
        for enterprise in &plan.enterprises {
            let entry = opening_entry(enterprise.name.as_str(), Date::parse("1970-01-01").unwrap());
            let tx = Transaction::Single(SignedTx::sign(
                enterprise.chain.member("finance").unwrap(),
                enterprise.chain_id(),
                TxBody::Post(entry),
            ));
            private[&enterprise.name][0].submit(tx).unwrap();
        }
        for enterprise in &plan.enterprises {
            let chain = private[&enterprise.name][0].clone();
            let id = EntryId::new(&format!("opening-{}", enterprise.name)).unwrap();
            wait_until(&context, "the opening balances", || {
                chain.entry(&id).unwrap().is_some()
            })
            .await;
        }

        // Trades, with faults in the middle.
        let keys = plan
            .enterprises
            .iter()
            .map(|enterprise| (enterprise.name.clone(), enterprise.trader.clone()))
            .collect();
        let generator = TradeGenerator::new(seed, "").with_sealing(plan.sealing());
        let mut driver = TradeDriver::new(generator, keys);
        driver.start(TRADES, now_ms(&context));
        let hub = consortium[&EnterpriseName::new("merchant").unwrap()].clone();
        let books: BTreeMap<EnterpriseName, ChainHandle> = private
            .iter()
            .map(|(name, chains)| (name.clone(), chains[0].clone()))
            .collect();
        let booked =
            |party: &EnterpriseName, id: &EntryId| books[party].entry(id).unwrap().is_some();
        let mut round = 0u64;
        let victim = "supplier-logistics".to_string();
        let supplier = EnterpriseName::new("supplier").unwrap();
        let carrier_key = plan.enterprise("carrier").unwrap().chain.validators[0]
            .key
            .public_key();
        let mut crashed_height = None;
        while driver.in_flight() > 0 {
            driver.poll(&hub, now_ms(&context), booked);
            round += 1;
            if round == 30 {
                // Crash a supplier department validator (not its consortium node).
                handles.remove(&victim).unwrap().abort();
                crashed_height = Some(private[&supplier][2].state().height);
                // Its store closes once its last handle is gone; a stand-in fills the slot.
                let stand_in = private[&supplier][0].clone();
                drop(std::mem::replace(
                    &mut private.get_mut(&supplier).unwrap()[2],
                    stand_in,
                ));
            }
            if round == 60 {
                // Cut the carrier's consortium node off from everyone.
                for other in &publics {
                    if *other != carrier_key {
                        oracle
                            .remove_link(carrier_key.clone(), other.clone())
                            .await
                            .unwrap();
                        oracle
                            .remove_link(other.clone(), carrier_key.clone())
                            .await
                            .unwrap();
                    }
                }
            }
            if round == 120 {
                for other in &publics {
                    if *other != carrier_key {
                        oracle
                            .add_link(carrier_key.clone(), other.clone(), link())
                            .await
                            .unwrap();
                        oracle
                            .add_link(other.clone(), carrier_key.clone(), link())
                            .await
                            .unwrap();
                    }
                }
                // Restart the crashed supplier validator from its storage.
                let enterprise = plan.enterprise("supplier").unwrap();
                let (chains, handle) = start_node(
                    &context,
                    &oracle,
                    &enterprise.chain.validators[2].key,
                    &victim,
                    &[&enterprise.chain.genesis],
                    &data,
                )
                .await;
                assert!(
                    chains[0].state().height >= crashed_height.unwrap(),
                    "seed {seed}: the restart lost committed blocks"
                );
                private.get_mut(&supplier).unwrap()[2] = chains[0].clone();
                handles.insert(victim.clone(), handle);
            }
            assert!(
                round < 6_000,
                "seed {seed}: trades did not finish: {:?}",
                driver.stats
            );
            context.sleep(Duration::from_millis(100)).await;
        }
        let stats = driver.stats.clone();
        assert_eq!(stats.failed, 0, "seed {seed}: {:?}", stats.failures);
        assert_eq!(stats.completed, TRADES as u64, "seed {seed}");

        // Let bookkeepers and lagging validators catch up.
        let consortium_height = hub.state().height;
        for (name, handle) in &bookkeepers {
            let handle = handle.clone();
            wait_until(&context, &format!("{name}'s bookkeeper"), || {
                handle.status().booked_through >= consortium_height
            })
            .await;
        }
        for (name, chains) in &private {
            let target = chains.iter().map(|c| c.state().height).max().unwrap();
            for chain in chains {
                let chain = chain.clone();
                wait_until(&context, &format!("{name}'s validators"), || {
                    chain.state().height >= target
                })
                .await;
            }
        }

        // Every enterprise anchors its private chain (the carrier's consortium node was cut off
        // for a while, so its anchors may come last).
        for enterprise in &plan.enterprises {
            let hub = hub.clone();
            wait_until(&context, &format!("{}'s anchor", enterprise.name), || {
                hub.state().consortium.as_ref().is_some_and(|registry| {
                    registry
                        .latest_anchor(&enterprise.name, enterprise.chain_id())
                        .is_some()
                })
            })
            .await;
        }

        // Every chain agrees and balances.
        let mut all_chains: Vec<(String, Vec<ChainHandle>)> = private
            .iter()
            .map(|(name, chains)| (name.to_string(), chains.clone()))
            .collect();
        all_chains.push(("consortium".into(), consortium.values().cloned().collect()));
        for (name, chains) in &all_chains {
            let height = chains.iter().map(|c| c.state().height).min().unwrap();
            let reference = chains[0].store().block(height).unwrap().unwrap();
            for chain in chains {
                assert_eq!(
                    chain.store().block(height).unwrap().unwrap(),
                    reference,
                    "seed {seed}: {name} validators disagree at height {height}"
                );
                assert!(
                    chain.state().ledger.is_balanced(),
                    "seed {seed}: {name} unbalanced"
                );
            }
        }

        // Every event with an accounting effect is booked exactly once on each side.
        let events = hub.store().events(1, consortium_height).unwrap();
        let rules = PostingRules::default();
        let mut derived_by: BTreeMap<EnterpriseName, Vec<tally_chain::CommittedEntry>> =
            BTreeMap::new();
        for enterprise in &plan.enterprises {
            let expected = derive_entries(&events, &enterprise.name, &rules);
            let store = private[&enterprise.name][0].store();
            let booked = store.entries_with_prefix(DERIVED_PREFIX).unwrap();
            assert_eq!(
                booked.len(),
                expected.len(),
                "seed {seed}: {} booked {} derived entries, expected {}",
                enterprise.name,
                booked.len(),
                expected.len()
            );
            for entry in &expected {
                let committed = store.entry(&entry.id).unwrap().unwrap_or_else(|| {
                    panic!("seed {seed}: {} did not book {}", enterprise.name, entry.id)
                });
                assert_eq!(&committed.entry, entry, "seed {seed}: booked entry differs");
            }
            assert!(
                bookkeepers[&enterprise.name].status().stuck.is_empty(),
                "seed {seed}: {:?}",
                bookkeepers[&enterprise.name].status().stuck
            );
            derived_by.insert(enterprise.name.clone(), booked);
        }
        assert!(
            !derived_by[&supplier].is_empty(),
            "seed {seed}: the supplier booked nothing"
        );

        // Every pair of partners reconciles.
        let names: Vec<EnterpriseName> = derived_by.keys().cloned().collect();
        let mut contracts = 0;
        for (position, a) in names.iter().enumerate() {
            for b in &names[position + 1..] {
                let ours = intercompany(&derived_by[a], &rules, b.as_str());
                let theirs = intercompany(&derived_by[b], &rules, a.as_str());
                for line in reconcile(&ours, &theirs) {
                    contracts += 1;
                    assert_eq!(
                        line.difference_minor, 0,
                        "seed {seed}: {a}/{b} do not reconcile on {}: {line:?}",
                        line.contract
                    );
                }
            }
        }
        assert!(
            contracts > TRADES / 2,
            "seed {seed}: only {contracts} contracts reconciled"
        );

        // Shipments carry sealed delivery addresses: the carrier opens them, the supplier (a
        // consortium member, not a party) holds no key.
        let state = hub.state();
        let registry = state.consortium.as_ref().unwrap();
        let carrier = plan.enterprise("carrier").unwrap().trader.clone();
        let supplier = plan.enterprise("supplier").unwrap().trader.public_key();
        let mut opened = 0;
        for (id, sealings) in &registry.sealed {
            for terms in sealings {
                assert!(
                    terms.keys.iter().all(|key| key.member != supplier),
                    "seed {seed}"
                );
                let held = terms
                    .keys
                    .iter()
                    .find(|key| key.member == carrier.public_key())
                    .unwrap_or_else(|| panic!("seed {seed}: no carrier key on {id}"));
                let context = tally_privacy::PartyContext {
                    chain_id: &plan.consortium.chain_id,
                    contract_id: id.as_str(),
                    member: &held.member,
                };
                let field_key = tally_privacy::unwrap_field_key_as_member(
                    &tally_privacy::WrappedKey {
                        encapped: held.encapped,
                        ciphertext: held.wrapped.clone(),
                    },
                    &tally_privacy::SealSecretKey::from_member(&carrier),
                    &context,
                )
                .unwrap_or_else(|error| panic!("seed {seed}: {id}: {error}"));
                let seal_context = tally_privacy::SealContext {
                    chain_id: &plan.consortium.chain_id,
                    entry_id: id.as_str(),
                };
                let address = tally_privacy::open(&field_key, &terms.fields[0], &seal_context)
                    .unwrap_or_else(|error| panic!("seed {seed}: {id}: {error}"));
                assert!(!address.value.is_empty());
                opened += 1;
            }
        }
        assert!(opened > 0, "seed {seed}: no sealed delivery address");

        // Anchors on the consortium chain match each private chain's blocks.
        for enterprise in &plan.enterprises {
            let anchor = registry
                .latest_anchor(&enterprise.name, enterprise.chain_id())
                .unwrap_or_else(|| panic!("seed {seed}: {} never anchored", enterprise.name));
            let block = private[&enterprise.name][0]
                .store()
                .block(anchor.height)
                .unwrap()
                .unwrap();
            assert_eq!(
                tally_chain::header_digest(&block.header).0,
                anchor.block_hash,
                "seed {seed}: {}'s anchor does not match its chain",
                enterprise.name
            );
        }

        // The audit's anchor check agrees: every anchor of every enterprise matches, and a
        // private chain that shows another block at an anchored height is reported.
        let chain_stores: std::collections::HashMap<String, _> = plan
            .enterprises
            .iter()
            .map(|enterprise| {
                (
                    enterprise.chain_id().to_string(),
                    private[&enterprise.name][0].clone(),
                )
            })
            .collect();
        let mut honest = |chain_id: &str, height: u64| {
            Ok(chain_stores.get(chain_id).map(|handle| {
                handle
                    .store()
                    .block(height)
                    .unwrap()
                    .map(|block| tally_chain::header_digest(&block.header).0)
            }))
        };
        let report = tally_audit::check_anchors(&state, &mut honest).unwrap();
        assert!(
            report.checked >= plan.enterprises.len() as u64,
            "seed {seed}: {report:?}"
        );
        assert!(report.mismatches.is_empty(), "seed {seed}: {report:?}");
        let rewritten = plan.enterprises[1].chain_id().to_string();
        let mut lying = |chain_id: &str, height: u64| {
            let shown = honest(chain_id, height)?;
            Ok(if chain_id == rewritten {
                shown.map(|digest| {
                    digest.map(|mut bytes| {
                        bytes[0] ^= 0x01;
                        bytes
                    })
                })
            } else {
                shown
            })
        };
        let report = tally_audit::check_anchors(&state, &mut lying).unwrap();
        assert!(!report.mismatches.is_empty(), "seed {seed}");
        assert!(
            report.mismatches.iter().all(|m| m.chain_id == rewritten),
            "seed {seed}: {report:?}"
        );
        assert!(report.mismatches[0].to_string().starts_with(&format!(
            "enterprise {} anchored block",
            plan.enterprises[1].name
        )));

        // Replaying the consortium chain reproduces its state root.
        // The chain keeps going (anchors, empty blocks): replay up to one snapshot of it.
        let head = hub.state();
        let blocks: Vec<_> = (1..=head.height)
            .map(|height| hub.store().block(height).unwrap().unwrap())
            .collect();
        let replayed = tally_chain::replay(&plan.consortium, &blocks).unwrap();
        assert_eq!(replayed.state_root(), head.state_root(), "seed {seed}");

        for (_, handle) in handles {
            handle.abort();
        }
        let _ = std::fs::remove_dir_all(&data);
    });
}

#[test]
fn trades_are_booked_once_on_both_sides_and_reconcile_through_faults() {
    let seeds: Vec<u64> = match std::env::var("TALLY_SEED") {
        Ok(seed) => vec![seed.parse().expect("TALLY_SEED is a number")],
        Err(_) => vec![1],
    };
    for seed in seeds {
        eprintln!("topology simulation, seed {seed} (rerun with TALLY_SEED={seed})");
        run(seed);
    }
}
