//! Transaction relay: a validator passes the transactions its clients submit on to the chain's
//! other validators, so whichever of them leads the next view can propose them. Without it a
//! transaction waits until the validator it was sent to leads, one view in n.
//!
//! Relay is best effort and neither safety nor liveness depends on it: the validator a client
//! submitted to keeps the transaction in its own mempool and proposes it when it leads. A queue
//! that is full, a message that is lost or a peer that is down only costs latency.
//!
//! Only transactions of at most [`RELAY_TX_ENTRIES_MAX`] entries are relayed: they are the
//! interactive ones (contract calls, single entries, the bookkeeper's derived entries) whose
//! latency matters. A bulk batch gains little from any leader taking it (big blocks carry the
//! throughput), while relaying it makes every validator hash and verify it once more and sends
//! its bytes n - 1 times.
//!
//! A relayed transaction is admitted to a peer's mempool only after its signature verifies
//! there (a proposer must never build a block that fails on a forged transaction); its rules are
//! checked when a block is built, as for every candidate.

use std::sync::Arc;

use commonware_cryptography::ed25519;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{IoBuf, Metrics, Spawner};
use tally_chain::{Transaction, BLOCK_BYTES_MAX};
use tokio::sync::mpsc;
use tracing::debug;

use crate::handle::ChainHandle;

/// Entries a transaction carries at most to be relayed (a contract call or other entry-less
/// transaction counts as one).
pub const RELAY_TX_ENTRIES_MAX: usize = 256;

/// Transactions waiting to be relayed; beyond this, new ones are not relayed (only proposed by
/// the validator that took them).
pub const RELAY_QUEUE_MAX: usize = 4_096;

/// Bytes one relay message carries at most. A transaction larger than this alone (a batch of
/// large entries) is not relayed.
pub const RELAY_MESSAGE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Transactions one relay message carries at most; a peer's message with more is dropped whole.
pub const RELAY_MESSAGE_TXS_MAX: usize = 4_096;

const _: () = assert!(RELAY_MESSAGE_BYTES_MAX <= BLOCK_BYTES_MAX);

/// Starts relaying `chain`'s submitted transactions over `channel` and admitting the peers'.
pub(crate) fn start<E, S, R>(context: E, chain: ChainHandle, (mut sender, mut receiver): (S, R))
where
    E: Spawner + Metrics,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
{
    let (queue, mut outbound) = mpsc::channel::<Arc<Transaction>>(RELAY_QUEUE_MAX);
    chain.set_relay(queue);
    context.child("relay_out").spawn(move |_| async move {
        let mut carried: Option<Vec<u8>> = None;
        loop {
            // What is queued now goes in one message, up to the size bound.
            let first = match carried.take() {
                Some(encoded) => encoded,
                None => match outbound.recv().await {
                    Some(tx) => encode(&tx),
                    None => return,
                },
            };
            let mut body = first;
            let mut count = 1usize;
            while count < RELAY_MESSAGE_TXS_MAX {
                let Ok(tx) = outbound.try_recv() else { break };
                let encoded = encode(&tx);
                if body.len() + encoded.len() > RELAY_MESSAGE_BYTES_MAX {
                    carried = Some(encoded);
                    break;
                }
                body.extend_from_slice(&encoded);
                count += 1;
            }
            if body.len() > RELAY_MESSAGE_BYTES_MAX {
                debug!(bytes = body.len(), "transaction too large to relay");
                continue;
            }
            // A postcard sequence: its length, then the transactions.
            let mut message = postcard::to_stdvec(&count).expect("encoding a length cannot fail");
            message.extend_from_slice(&body);
            sender.send(Recipients::All, IoBuf::from(message), false);
        }
    });
    context.child("relay_in").spawn(move |_| async move {
        while let Ok((peer, message)) = receiver.recv().await {
            let txs = match postcard::from_bytes::<Vec<Transaction>>(message.as_ref()) {
                Ok(txs) if txs.len() <= RELAY_MESSAGE_TXS_MAX => txs,
                Ok(txs) => {
                    debug!(%peer, count = txs.len(), "relay message with too many transactions");
                    continue;
                }
                Err(error) => {
                    debug!(%peer, %error, "relay message does not decode");
                    continue;
                }
            };
            let admitted = chain.admit_relayed(txs);
            debug!(%peer, admitted, "relayed transactions");
        }
    });
}

fn encode(tx: &Transaction) -> Vec<u8> {
    postcard::to_stdvec(tx).expect("encoding a transaction cannot fail")
}
