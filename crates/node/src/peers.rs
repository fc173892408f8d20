//! The peers of one chain, for a node that hosts several chains over one p2p endpoint.
//!
//! The p2p network of a node tracks every peer its configuration lists, so it keeps one
//! authenticated link per peer, and a validator that joins a chain's set at an epoch boundary
//! is already connected. Messages of one chain must only go to that chain's validators (those of
//! its latest epoch and the one before, as [`ChainPeers`] says): [`ChainSender`] sees to it.

use commonware_cryptography::ed25519;
use commonware_p2p::{LimitedSender, Recipients};
use tally_consensus::ChainPeers;

/// A sender for one chain's channel that never sends to peers outside that chain.
///
/// The p2p endpoint is shared by every hosted chain, and "all peers" there means every validator
/// of every chain. A peer that receives a message on a channel it has not registered (a chain it
/// does not host) drops the connection, so a broadcast of one chain would cut the links of all.
#[derive(Clone, Debug)]
pub struct ChainSender<S> {
    inner: S,
    /// The chain's validators, as they change with its epochs.
    peers: ChainPeers,
    me: ed25519::PublicKey,
}

impl<S> ChainSender<S> {
    pub fn new(inner: S, peers: ChainPeers, me: &ed25519::PublicKey) -> Self {
        ChainSender {
            inner,
            peers,
            me: me.clone(),
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
            Recipients::All => Recipients::Some(self.peers.peers_except(&self.me)),
            Recipients::Some(keys) => Recipients::Some(
                keys.into_iter()
                    .filter(|key| key != &self.me && self.peers.is_peer(key))
                    .collect(),
            ),
            Recipients::One(key) => Recipients::One(key),
        };
        self.inner.check(recipients)
    }
}
