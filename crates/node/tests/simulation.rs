//! Seeded simulation of one chain: 4 validators on commonware's deterministic runtime and
//! simulated network. One validator is cut off; the other three keep finalizing; after the
//! partition heals it catches up. Then another crashes (all its tasks aborted); the rest keep
//! finalizing; restarted from its storage it recovers what it had committed and catches up. All
//! agree on the blocks, replay gives the same state root, and the certificates verify.
//! Transactions sent to one validator are relayed to the others, and one sent to the validator
//! that then crashes is committed by the rest.
//!
//! Set `TALLY_SEED` to rerun one seed; a failure prints the seed.

use std::time::Duration;

use commonware_codec::Decode as _;
use commonware_consensus::simplex::types::Finalization;
use commonware_cryptography::{certificate::Verifier as _, ed25519, Signer};
use commonware_p2p::simulated::{self, Link, Network};
use commonware_parallel::Sequential;
use commonware_runtime::{deterministic, Clock, Quota, Runner, Spawner, Supervisor};
use commonware_utils::{ordered::Set, NZUsize, NZU32};
use rand::{rngs::StdRng, SeedableRng};
use tally_chain::{SignedTx, Store, Transaction, TxBody};
use tally_consensus::{
    channel, start_validator, ChainHandle, Networks, Outcome, Timing, ValidatorConfig,
};
use tally_ledger::{codes, Currency, Date, EntryDraft, EntryId, Posting, Reference, Side};
use tally_node::devnet::DevnetPlan;

const VALIDATORS: usize = 4;

fn link() -> Link {
    Link {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        success_rate: commonware_utils::probability!(1.0),
    }
}

fn sale(index: u64) -> EntryDraft {
    let eur = Currency::from_code("EUR").unwrap();
    let posting = |account: &str, side, amount| Posting {
        account: tally_ledger::AccountCode::new(account).unwrap(),
        side,
        amount,
        currency: eur,
    };
    EntryDraft {
        id: EntryId::new(&format!("order-{index}")).unwrap(),
        date: Date::parse("2026-11-24").unwrap(),
        description: format!("order {index}"),
        postings: vec![
            posting(codes::ACCOUNTS_RECEIVABLE, Side::Debit, 11_900),
            posting(codes::SALES_REVENUE, Side::Credit, 10_000),
            posting(codes::OUTPUT_VAT, Side::Credit, 1_900),
        ],
        references: vec![Reference {
            kind: "order".into(),
            value: index.to_string(),
        }],
        reverses: None,
        sealed: Default::default(),
        seal_keys: Vec::new(),
    }
}

async fn wait_for_height(context: &deterministic::Context, chain: &ChainHandle, height: u64) {
    while chain.state().height < height {
        context.sleep(Duration::from_millis(50)).await;
        tracing::debug!(
            height = chain.state().height,
            target = height,
            tip = chain.stats().finalized_tip,
            "waiting"
        );
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
            .with_timeout(Some(Duration::from_secs(600))),
    );
    runner.start(|context| async move {
        let mut rng = StdRng::seed_from_u64(seed);
        let plan = DevnetPlan::new(
            &mut rng,
            "Merchant GmbH",
            "merchant-private",
            VALIDATORS,
            20_000,
            0,
        );
        let keys: Vec<ed25519::PrivateKey> =
            plan.validators.iter().map(|v| v.key.clone()).collect();
        let publics: Vec<ed25519::PublicKey> = keys.iter().map(|k| k.public_key()).collect();
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: tally_node::P2P_MESSAGE_BYTES_MAX,
                max_peers_per_set: NZUsize!(VALIDATORS),
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
        let participants = Set::from_iter_dedup(publics.clone());
        let data = std::env::temp_dir().join(format!("tally-sim-{seed}-{}", std::process::id()));
        std::fs::create_dir_all(&data).unwrap();
        let mut chains = Vec::new();
        let mut handles = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            let (chain, handle) = start(
                &context,
                &oracle,
                key,
                index,
                &plan.genesis,
                &participants,
                &data,
            )
            .await;
            chains.push(chain);
            handles.push(handle);
        }

        let sales = plan.member("sales").unwrap();
        let chain_id = plan.genesis.chain_id.clone();
        let submit = |chain: &ChainHandle, index: u64| {
            let tx =
                Transaction::Single(SignedTx::sign(sales, &chain_id, TxBody::Post(sale(index))));
            chain.submit(tx).unwrap();
        };
        // A transaction sent to one validator reaches the others' mempools before it is final
        // (relay), so whichever of them leads next can propose it.
        let probe = Transaction::Single(SignedTx::sign(sales, &chain_id, TxBody::Post(sale(0))));
        let probe_hash = probe.hash();
        chains[0].submit(probe).unwrap();
        let mut held = [false; VALIDATORS];
        while chains.iter().any(|chain| chain.state().log.is_empty()) {
            for (index, chain) in chains.iter().enumerate() {
                held[index] |= chain.outcome(&probe_hash) == Some(Outcome::Pending);
            }
            context.sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(
            held, [true; VALIDATORS],
            "which validators held the relayed transaction"
        );
        for index in 1..40 {
            submit(&chains[(index % 4) as usize], index);
        }
        wait_for_height(&context, &chains[0], 8).await;

        // Cut validator 3 off from everyone.
        let isolated = publics[3].clone();
        for other in &publics[..3] {
            oracle
                .remove_link(isolated.clone(), other.clone())
                .await
                .unwrap();
            oracle
                .remove_link(other.clone(), isolated.clone())
                .await
                .unwrap();
        }
        let cut_at = chains[0].state().height;
        for index in 40..100 {
            submit(&chains[(index % 3) as usize], index);
        }
        wait_for_height(&context, &chains[0], cut_at + 10).await;
        while chains[0].state().log.len() < 100 {
            context.sleep(Duration::from_millis(50)).await;
        }
        assert!(
            chains[3].state().height < chains[0].state().height,
            "the isolated validator must lag"
        );

        // Heal: it catches up from its peers.
        for other in &publics[..3] {
            oracle
                .add_link(isolated.clone(), other.clone(), link())
                .await
                .unwrap();
            oracle
                .add_link(other.clone(), isolated.clone(), link())
                .await
                .unwrap();
        }
        let healed = chains[0].state().height;
        wait_for_height(&context, &chains[3], healed).await;

        // Crash validator 2: every task it runs is aborted and its handle dropped. The other
        // three keep finalizing; restarted from its store and consensus storage, it recovers at
        // least the height it had committed and catches up.
        // The last transaction goes to validator 2 just before it crashes: relayed, the others
        // commit it all the same.
        let last = Transaction::Single(SignedTx::sign(sales, &chain_id, TxBody::Post(sale(130))));
        let last_hash = last.hash();
        chains[2].submit(last).unwrap();
        while chains[0].outcome(&last_hash).is_none() {
            context.sleep(Duration::from_millis(1)).await;
        }
        handles[2].abort();
        let crashed_at = chains[2].state().height;
        let entries_at_crash = chains[2].state().log.len();
        let stand_in = chains[0].clone();
        drop(std::mem::replace(&mut chains[2], stand_in));
        context.sleep(Duration::from_millis(100)).await;
        for index in 100..130 {
            submit(&chains[[0, 1, 3][(index % 3) as usize]], index);
        }
        while chains[0].state().log.len() < 131 {
            context.sleep(Duration::from_millis(50)).await;
        }
        let (restarted, handle) = start(
            &context,
            &oracle,
            &keys[2],
            2,
            &plan.genesis,
            &participants,
            &data,
        )
        .await;
        assert!(
            restarted.state().height >= crashed_at,
            "the restart lost committed blocks"
        );
        assert!(
            restarted.state().log.len() >= entries_at_crash,
            "the restart lost committed entries"
        );
        chains[2] = restarted;
        handles[2] = handle;

        let target = chains[0].state().height;
        wait_for_height(&context, &chains[2], target).await;
        wait_for_height(&context, &chains[3], target).await;
        let reference = chains[0].store().block(target).unwrap().unwrap();
        for chain in &chains {
            wait_for_height(&context, chain, target).await;
            let block = chain.store().block(target).unwrap().unwrap();
            assert_eq!(block, reference, "validators disagree at height {target}");
            let state = chain.state();
            assert!(state.ledger.is_balanced());
        }
        let replayed = tally_chain::replay(
            &plan.genesis,
            &(1..=target)
                .map(|h| chains[3].store().block(h).unwrap().unwrap())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert_eq!(replayed.state_root(), reference.header.state_root);
        assert_eq!(replayed.log.len(), 131);

        // Finalization certificates stored with the blocks verify against the validator set.
        let verifier = tally_consensus::Scheme::verifier(
            &tally_consensus::consensus_namespace(&chain_id),
            participants.clone(),
        );
        let mut certified = 0;
        for height in 1..=target {
            let Some(bytes) = chains[0].store().certificate(height).unwrap() else {
                continue;
            };
            let finalization =
                Finalization::<tally_consensus::Scheme, tally_chain::BlockDigest>::decode_cfg(
                    commonware_runtime::IoBuf::from(bytes),
                    &verifier.certificate_codec_config(),
                )
                .expect("a stored certificate decodes");
            let block = chains[0].store().block(height).unwrap().unwrap();
            assert_eq!(
                finalization.proposal.payload,
                tally_chain::header_digest(&block.header)
            );
            let mut rng = context.child("verify");
            assert!(
                finalization.verify(&mut rng, &verifier, &Sequential),
                "certificate at {height} verifies"
            );
            certified += 1;
        }
        assert!(
            certified * 2 >= target,
            "only {certified} of {target} blocks have their own certificate"
        );
        for handle in handles {
            handle.abort();
        }
        drop(chains);
        let _ = std::fs::remove_dir_all(&data);
    });
}

/// Starts one validator in its own supervised task, so aborting the returned handle stops
/// everything it runs, as a crash would. Its ledger lives in a redb file under `data`; its
/// consensus storage in the runtime's partitions, both of which survive the crash.
async fn start(
    context: &deterministic::Context,
    oracle: &simulated::Oracle<ed25519::PublicKey, deterministic::Context>,
    key: &ed25519::PrivateKey,
    index: usize,
    genesis: &tally_chain::Genesis,
    _participants: &Set<ed25519::PublicKey>,
    data: &std::path::Path,
) -> (ChainHandle, commonware_runtime::Handle<()>) {
    let quota = Quota::per_second(NZU32!(100_000));
    let control = oracle.control(key.public_key());
    let networks = Networks {
        votes: control.register(channel::VOTES, quota).await.unwrap(),
        certificates: control
            .register(channel::CERTIFICATES, quota)
            .await
            .unwrap(),
        resolver: control.register(channel::RESOLVER, quota).await.unwrap(),
        broadcast: control.register(channel::BROADCAST, quota).await.unwrap(),
        backfill: control.register(channel::BACKFILL, quota).await.unwrap(),
        transactions: control
            .register(channel::TRANSACTIONS, quota)
            .await
            .unwrap(),
    };
    let store = Store::open(&data.join(format!("validator-{index}.redb")), genesis).unwrap();
    let chain = ChainHandle::new(genesis.clone(), store).unwrap();
    let config = ValidatorConfig {
        signer: key.clone(),
        partition_prefix: format!("validator-{index}"),
        blocker: control.clone(),
        provider: oracle.manager(),
        timing: Timing::default(),
    };
    let (started, ready) = futures::channel::oneshot::channel();
    let running = chain.clone();
    let handle =
        context
            .child("node")
            .with_attribute("index", index)
            .spawn(move |context| async move {
                start_validator(context.child("validator"), running, config, networks).await;
                let _ = started.send(());
                futures::future::pending::<()>().await;
            });
    ready.await.expect("the validator started");
    (chain, handle)
}

#[test]
fn validators_survive_a_partition_and_a_crash_and_catch_up() {
    let seeds: Vec<u64> = match std::env::var("TALLY_SEED") {
        Ok(seed) => vec![seed.parse().expect("TALLY_SEED is a number")],
        Err(_) => vec![1, 2],
    };
    for seed in seeds {
        let result = std::panic::catch_unwind(|| run(seed));
        if let Err(panic) = result {
            eprintln!("simulation failed with seed {seed}; rerun with TALLY_SEED={seed}");
            std::panic::resume_unwind(panic);
        }
    }
}
