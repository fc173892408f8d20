//! Nodes of a simulated network for the multi-node tests: each node's chains run in one
//! supervised task on the deterministic runtime, so aborting its handle is a crash.
#![allow(dead_code)]

use commonware_cryptography::{ed25519, Signer};
use commonware_p2p::simulated;
use commonware_runtime::{deterministic, Handle, Quota, Spawner, Supervisor};
use commonware_utils::NZU32;
use tally_chain::{Genesis, Store};
use tally_consensus::{
    channel, start_validator, ChainHandle, ChainPeers, Networks, Timing, ValidatorConfig,
};
use tally_node::ChainSender;

/// One node: its chains in one supervised task, so aborting the handle is a crash.
pub async fn start_node(
    context: &deterministic::Context,
    oracle: &simulated::Oracle<ed25519::PublicKey, deterministic::Context>,
    key: &ed25519::PrivateKey,
    name: &str,
    geneses: &[&Genesis],
    data: &std::path::Path,
) -> (Vec<ChainHandle>, Handle<()>) {
    let quota = Quota::per_second(NZU32!(100_000));
    let control = oracle.control(key.public_key());
    let mut prepared = Vec::new();
    for genesis in geneses {
        let path = data.join(format!("{name}-{}.redb", genesis.chain_id));
        let store = Store::open(&path, genesis).unwrap();
        let chain = ChainHandle::new((*genesis).clone(), store).unwrap();
        let peers = ChainPeers::new(chain.certificate_verifier().unwrap().clone());
        let base = channel::base(&genesis.chain_id);
        let mut register = Vec::new();
        for offset in [
            channel::VOTES,
            channel::CERTIFICATES,
            channel::RESOLVER,
            channel::BROADCAST,
            channel::BACKFILL,
            channel::TRANSACTIONS,
        ] {
            let (sender, receiver) = control.register(base + offset, quota).await.unwrap();
            register.push((
                ChainSender::new(sender, peers.clone(), &key.public_key()),
                receiver,
            ));
        }
        let mut register = register.into_iter();
        let networks = Networks {
            votes: register.next().unwrap(),
            certificates: register.next().unwrap(),
            resolver: register.next().unwrap(),
            broadcast: register.next().unwrap(),
            backfill: register.next().unwrap(),
            transactions: register.next().unwrap(),
        };
        let config = ValidatorConfig {
            signer: key.clone(),
            partition_prefix: format!("{name}-{}", genesis.chain_id),
            blocker: control.clone(),
            provider: peers,
            timing: Timing::default(),
        };
        prepared.push((chain, config, networks));
    }
    let chains: Vec<ChainHandle> = prepared.iter().map(|(chain, _, _)| chain.clone()).collect();
    let (started, ready) = futures::channel::oneshot::channel();
    let handle =
        context
            .child("node")
            .with_attribute("name", name)
            .spawn(move |context| async move {
                for (chain, config, networks) in prepared {
                    start_validator(context.child("validator"), chain, config, networks).await;
                }
                let _ = started.send(());
                futures::future::pending::<()>().await;
            });
    ready.await.expect("the node started");
    (chains, handle)
}
