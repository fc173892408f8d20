//! Seeded simulation of a validator key rotation on the consortium chain, with epochs of
//! [`EPOCH_BLOCKS`] blocks: four enterprises' validators (A, B, C, D) and a fifth node (K) that
//! runs with a new key before it is a validator.
//!
//! B is down from the start (three of four keep the chain going). Governance rotates A's key to
//! K's; at the next epoch boundary every node stores the new set, and from then on:
//! - blocks are certified in the new epoch, by its validators (K, C, D: the chain cannot move
//!   without K's votes while B is down);
//! - A's old key no longer counts (A is stopped and the chain goes on);
//! - B, restarted from its storage, crosses the boundary it missed and votes in the new epoch
//!   (C is stopped and the chain goes on with K, B and D).
//!
//! Every node's store passes a full audit, its certificates verified with each height's set.
//! Set `TALLY_SEED` to rerun one seed; a failure prints the seed.

use std::num::NonZeroU64;
use std::time::{Duration, UNIX_EPOCH};

use commonware_cryptography::{ed25519, Signer};
use commonware_p2p::simulated::{self, Link, Network};
use commonware_runtime::{deterministic, Clock, Runner, Storage as _, Supervisor};
use commonware_utils::NZUsize;
use rand::{rngs::StdRng, SeedableRng};
use tally_chain::{Genesis, SignedTx, Store, Transaction, TxBody};
use tally_consensus::{CertificateError, ChainHandle, Follower, Outcome};
use tally_contracts::{ContractCall, ContractId, GovernanceAction};
use tally_node::{keys::public_to_hex, topology::TopologyPlan};

/// Blocks per epoch: short, so the test crosses boundaries quickly.
const EPOCH_BLOCKS: u64 = 10;

fn link() -> Link {
    Link {
        latency: Duration::from_millis(10),
        jitter: Duration::from_millis(3),
        success_rate: commonware_utils::probability!(1.0),
    }
}

mod simnode;

/// One node of the consortium chain: aborting its handle is a crash.
async fn start(
    context: &deterministic::Context,
    oracle: &simulated::Oracle<ed25519::PublicKey, deterministic::Context>,
    key: &ed25519::PrivateKey,
    name: &str,
    genesis: &Genesis,
    data: &std::path::Path,
) -> (ChainHandle, commonware_runtime::Handle<()>) {
    let (mut chains, handle) =
        simnode::start_node(context, oracle, key, name, &[genesis], data).await;
    (chains.remove(0), handle)
}

/// Waits until `chain` has committed `height`.
async fn wait_for_height(context: &deterministic::Context, chain: &ChainHandle, height: u64) {
    while chain.state().height < height {
        context.sleep(Duration::from_millis(50)).await;
    }
}

/// Submits a consortium call signed by `key` to `chain` and waits until it is committed.
async fn call(
    context: &deterministic::Context,
    chain: &ChainHandle,
    key: &tally_identity::SecretKey,
    call: ContractCall,
) -> u64 {
    let tx = Transaction::Single(SignedTx::sign(
        key,
        chain.chain_id(),
        TxBody::Contract(call),
    ));
    let hash = tx.hash();
    chain.submit(tx).unwrap();
    loop {
        match chain.outcome(&hash) {
            Some(Outcome::Committed { height, .. }) => return height,
            Some(Outcome::Rejected { reason }) => panic!("governance call rejected: {reason}"),
            _ => context.sleep(Duration::from_millis(20)).await,
        }
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
            .with_timeout(Some(Duration::from_secs(900))),
    );
    runner.start(|context| async move {
        let mut rng = StdRng::seed_from_u64(seed);
        let time_ms = context
            .current()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let plan = TopologyPlan::with_departments(&mut rng, 0, time_ms, 1);
        // The plan's consortium names each enterprise's validator key in its registry; its
        // epochs are shortened here.
        let mut genesis = plan.consortium.clone();
        genesis.epoch_blocks = Some(NonZeroU64::new(EPOCH_BLOCKS).unwrap());
        let old_keys: Vec<ed25519::PrivateKey> = plan
            .enterprises
            .iter()
            .map(|enterprise| enterprise.chain.validators[0].key.clone())
            .collect();
        let new_key = ed25519::PrivateKey::from_seed(seed ^ 0x5eed);
        let mut publics: Vec<ed25519::PublicKey> =
            old_keys.iter().map(|key| key.public_key()).collect();
        publics.push(new_key.public_key());
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: tally_node::P2P_MESSAGE_BYTES_MAX,
                max_peers_per_set: NZUsize!(5),
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
        let data = std::env::temp_dir().join(format!("tally-epochs-{seed}-{}", std::process::id()));
        std::fs::create_dir_all(&data).unwrap();
        let names = ["a", "b", "c", "d", "k"];
        let mut keys = old_keys.clone();
        keys.push(new_key.clone());
        // B stays down until the rotation has taken effect.
        let mut nodes: Vec<Option<(ChainHandle, commonware_runtime::Handle<()>)>> = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            if index == 1 {
                nodes.push(None);
                continue;
            }
            nodes.push(Some(
                start(&context, &oracle, key, names[index], &genesis, &data).await,
            ));
        }
        let chain = |nodes: &[Option<(ChainHandle, commonware_runtime::Handle<()>)>],
                     index: usize| nodes[index].as_ref().unwrap().0.clone();
        let c = chain(&nodes, 2);
        wait_for_height(&context, &c, 2).await;
        // D votes in epoch 0, so its simplex journal of epoch 0 is on disk.
        let journal = |node: usize, epoch: u64| match epoch {
            0 => format!("{}-{}-simplex", names[node], genesis.chain_id),
            _ => format!("{}-{}-simplex-{epoch}", names[node], genesis.chain_id),
        };
        assert!(
            !context
                .scan(&journal(3, 0))
                .await
                .unwrap_or_default()
                .is_empty(),
            "D keeps a journal of epoch 0 while it runs"
        );

        // Governance: A's admin proposes the rotation, B's and C's admins approve (3 of 4).
        let id = ContractId::new("rotate-a").unwrap();
        let enterprise_a = plan.enterprises[0].name.clone();
        call(
            &context,
            &c,
            &plan.enterprises[0].admin,
            ContractCall::ProposeGovernance {
                id: id.clone(),
                action: GovernanceAction::RotateValidatorKey {
                    enterprise: enterprise_a.clone(),
                    new_key: public_to_hex(&new_key.public_key()),
                },
            },
        )
        .await;
        call(
            &context,
            &c,
            &plan.enterprises[1].admin,
            ContractCall::ApproveGovernance { id: id.clone() },
        )
        .await;
        let applied_at = call(
            &context,
            &c,
            &plan.enterprises[2].admin,
            ContractCall::ApproveGovernance { id },
        )
        .await;
        let schedule = c.certificate_verifier().unwrap().schedule();
        let rotated_epoch = schedule.epoch_of(applied_at) + 1;
        let first = schedule.first(rotated_epoch);
        assert_eq!(first, schedule.last(rotated_epoch - 1) + 1);

        // Every running node, K included, crosses the boundary and stores the new set: K
        // instead of A. (A, a validator until the boundary, commits it; after it, a node outside
        // the set is no longer sent the chain's traffic, and observers follow through the API.)
        wait_for_height(&context, &chain(&nodes, 0), first - 1).await;
        for index in [0, 2, 3, 4] {
            let target = if index == 0 { first - 1 } else { first + 2 };
            wait_for_height(&context, &chain(&nodes, index), target).await;
            let set = chain(&nodes, index)
                .certificate_verifier()
                .unwrap()
                .epoch(rotated_epoch)
                .expect("the new epoch's set is known");
            assert_eq!(set.first_height, first);
            assert!(set.participants.position(&new_key.public_key()).is_some());
            assert!(set
                .participants
                .position(&old_keys[0].public_key())
                .is_none());
            assert_eq!(set.participants.len(), 4);
        }
        // Blocks of the new epoch are certified in it: with B down, K's votes made the quorum.
        let verifier = c.certificate_verifier().unwrap().clone();
        let mut certified = 0;
        for height in first..=c.state().height {
            if let Some(bytes) = c.store().certificate(height).unwrap() {
                let block = c.store().block(height).unwrap().unwrap();
                let checked = verifier
                    .verify(height, &bytes, &tally_chain::header_digest(&block.header))
                    .unwrap();
                assert_eq!(checked.epoch, rotated_epoch);
                certified += 1;
            }
        }
        assert!(
            certified > 0,
            "no block of the new epoch has its own certificate"
        );
        // The boundary block carries its own certificate, of the epoch it closes.
        let boundary = schedule.last(rotated_epoch - 1);
        let bytes = c
            .store()
            .certificate(boundary)
            .unwrap()
            .expect("boundary certificate");
        let block = c.store().block(boundary).unwrap().unwrap();
        let checked = verifier
            .verify(boundary, &bytes, &tally_chain::header_digest(&block.header))
            .unwrap();
        assert_eq!(checked.epoch, rotated_epoch - 1);

        // A's old key no longer counts: stop A, and the chain goes on with K, C and D.
        let (a, a_handle) = nodes[0].take().unwrap();
        a_handle.abort();
        drop(a);
        let height = c.state().height;
        wait_for_height(&context, &c, height + 5).await;

        // B restarts from its (empty) storage, crosses the boundary it missed, and votes in
        // the new epoch: stop C, and the chain goes on with K, B and D.
        nodes[1] = Some(start(&context, &oracle, &keys[1], names[1], &genesis, &data).await);
        let b = chain(&nodes, 1);
        let d = chain(&nodes, 3);
        wait_for_height(&context, &b, d.state().height).await;
        assert_eq!(
            b.certificate_verifier().unwrap().latest().epoch,
            d.certificate_verifier().unwrap().latest().epoch
        );
        let (c_chain, c_handle) = nodes[2].take().unwrap();
        c_handle.abort();
        drop(c_chain);
        drop(c);
        let height = d.state().height;
        wait_for_height(&context, &d, height + 5).await;

        // The running nodes agree, and each store passes a full audit.
        let k = chain(&nodes, 4);
        let target = d.state().height;
        for node in [&b, &d, &k] {
            wait_for_height(&context, node, target).await;
            assert_eq!(
                node.store().block(target).unwrap(),
                d.store().block(target).unwrap()
            );
            let report = tally_audit::verify_store(node.store(), &genesis, &mut |_| {})
                .expect("the store passes the audit");
            assert!(report.certificates > 0);
            assert!(report.epochs >= rotated_epoch);
        }
        // The journals of the epochs D has left are deleted (the one it left last may still be
        // going, if the commit that ended it is this moment's).
        let current = schedule.epoch_of(d.state().height + 1);
        assert!(current >= 2, "the test crosses at least two boundaries");
        for past in 0..current - 1 {
            let blobs = context.scan(&journal(3, past)).await.unwrap_or_default();
            assert!(
                blobs.is_empty(),
                "D still keeps its journal of epoch {past}"
            );
        }

        // An observer, which trusts nothing but the genesis, follows the chain across the
        // rotation: it learns each epoch's set from the boundary blocks it commits.
        let observer_store = Store::open_in_memory(&genesis).unwrap();
        let observer = ChainHandle::new(genesis.clone(), observer_store).unwrap();
        let mut follower = Follower::new(observer.clone()).unwrap();
        for height in 1..=target {
            let block = d.store().block(height).unwrap().unwrap();
            let certificate = d.store().certificate(height).unwrap();
            follower.offer(block, certificate.as_deref()).unwrap();
        }
        assert_eq!(observer.state().height, target);
        assert_eq!(
            observer.certificate_verifier().unwrap().latest().epoch,
            schedule.epoch_of(target + 1)
        );
        // A certificate of the new epoch does not pass for a block of the old one.
        let new_epoch_height = (first..=target)
            .find(|height| d.store().certificate(*height).unwrap().is_some())
            .unwrap();
        let bytes = d.store().certificate(new_epoch_height).unwrap().unwrap();
        let old_block = d.store().block(first - 2).unwrap().unwrap();
        let refused = observer
            .certificate_verifier()
            .unwrap()
            .verify(
                first - 2,
                &bytes,
                &tally_chain::header_digest(&old_block.header),
            )
            .unwrap_err();
        assert!(
            matches!(refused, CertificateError::WrongEpoch { .. }),
            "{refused}"
        );
        drop(nodes);
        let _ = std::fs::remove_dir_all(&data);
    });
}

#[test]
fn a_rotated_validator_key_takes_effect_at_the_next_epoch() {
    let seeds: Vec<u64> = match std::env::var("TALLY_SEED") {
        Ok(seed) => vec![seed.parse().expect("TALLY_SEED is a number")],
        Err(_) => vec![1],
    };
    for seed in seeds {
        let result = std::panic::catch_unwind(|| run(seed));
        if let Err(panic) = result {
            eprintln!("epoch simulation failed with seed {seed}; rerun with TALLY_SEED={seed}");
            std::panic::resume_unwind(panic);
        }
    }
}
