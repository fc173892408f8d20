//! The peers of one chain, for a node that hosts several chains over one p2p endpoint.
//!
//! The p2p network of a node tracks the union of the validators of every chain it hosts, so it
//! keeps one authenticated link per peer. Block broadcast and backfill of one chain must only
//! talk to that chain's validators: [`ChainPeers`] gives them that chain's fixed set.

use std::sync::{Arc, Mutex};

use commonware_cryptography::ed25519;
use commonware_p2p::{
    LimitedSender, PeerSetSubscription, PeerSetUpdate, Provider, Recipients, TrackedPeers,
};
use commonware_utils::{channel::mpsc, ordered::Set};

/// The validators of one chain, as a peer provider. The set is fixed by the genesis: one epoch.
#[derive(Clone, Debug)]
pub struct ChainPeers {
    peers: Set<ed25519::PublicKey>,
    /// Subscribers stop when their channel closes, so the senders live as long as the provider.
    subscribers: Arc<Mutex<Vec<mpsc::UnboundedSender<PeerSetUpdate<ed25519::PublicKey>>>>>,
}

impl ChainPeers {
    pub fn new(peers: Set<ed25519::PublicKey>) -> ChainPeers {
        ChainPeers {
            peers,
            subscribers: Arc::default(),
        }
    }

    fn tracked(&self) -> TrackedPeers<ed25519::PublicKey> {
        TrackedPeers::primary(self.peers.clone())
    }
}

impl Provider for ChainPeers {
    type PublicKey = ed25519::PublicKey;

    async fn peer_set(&mut self, id: u64) -> Option<TrackedPeers<ed25519::PublicKey>> {
        (id == 0).then(|| self.tracked())
    }

    async fn subscribe(&mut self) -> PeerSetSubscription<ed25519::PublicKey> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let _ = sender.send(PeerSetUpdate {
            index: 0,
            latest: self.tracked(),
            all: self.tracked(),
        });
        self.subscribers
            .lock()
            .expect("the subscriber list is never poisoned")
            .push(sender);
        receiver
    }
}

/// A sender for one chain's channel that never sends to peers outside that chain.
///
/// The p2p endpoint is shared by every hosted chain, and "all peers" there means every validator
/// of every chain. A peer that receives a message on a channel it has not registered (a chain it
/// does not host) drops the connection, so a broadcast of one chain would cut the links of all.
#[derive(Clone, Debug)]
pub struct ChainSender<S> {
    inner: S,
    /// The chain's validators other than this node.
    peers: Vec<ed25519::PublicKey>,
}

impl<S> ChainSender<S> {
    pub fn new(inner: S, participants: &Set<ed25519::PublicKey>, me: &ed25519::PublicKey) -> Self {
        ChainSender {
            inner,
            peers: participants
                .iter()
                .filter(|key| *key != me)
                .cloned()
                .collect(),
        }
    }
}

impl<S: LimitedSender<PublicKey = ed25519::PublicKey>> LimitedSender for ChainSender<S> {
    type PublicKey = ed25519::PublicKey;
    type Checked<'a>
        = S::Checked<'a>
    where
        Self: 'a;

    fn check(
        &mut self,
        recipients: Recipients<ed25519::PublicKey>,
    ) -> Result<Self::Checked<'_>, std::time::SystemTime> {
        let recipients = match recipients {
            Recipients::All => Recipients::Some(self.peers.clone()),
            Recipients::Some(keys) => Recipients::Some(
                keys.into_iter()
                    .filter(|key| self.peers.contains(key))
                    .collect(),
            ),
            Recipients::One(key) => Recipients::One(key),
        };
        self.inner.check(recipients)
    }
}
