//! Finalization certificates checked offline, by the height of the block they finalize.
//!
//! The consensus namespace of a chain comes from its genesis; its validator set comes from the
//! genesis for epoch 0 and, on chains with validator-set epochs, from the record each epoch
//! boundary commits (see `tally_chain::EpochRecord`). A certificate is checked with the set of
//! the epoch its block's height belongs to, never the epoch the certificate claims: otherwise the
//! keys of an old epoch could sign a finalization labelled with their own epoch for a later block.
//!
//! The same verifier is marshal's certificate provider (one scheme per epoch), so what consensus
//! accepts and what an audit accepts cannot drift apart.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use commonware_codec::{Decode as _, DecodeExt as _};
use commonware_consensus::simplex::types::Finalization;
use commonware_consensus::types::Epoch;
use commonware_cryptography::certificate::{Provider, Scoped};
use commonware_cryptography::{ed25519, sha256};
use commonware_p2p::{PeerSetSubscription, PeerSetUpdate, TrackedPeers};
use commonware_parallel::Sequential;
use commonware_utils::{channel::mpsc, ordered::Set};
use tally_chain::{BlockDigest, EpochRecord, EpochSchedule, Genesis};

use crate::application::Scheme;

/// The namespace that separates one chain's consensus signatures from every other chain's.
pub fn consensus_namespace(chain_id: &str) -> Vec<u8> {
    format!("tally/consensus/{chain_id}").into_bytes()
}

/// The validator set of a chain's genesis, in the order the consensus engine indexes it.
pub fn participants_of(genesis: &Genesis) -> Result<Set<ed25519::PublicKey>, CertificateError> {
    let keys: Vec<ed25519::PublicKey> = genesis
        .validators
        .iter()
        .map(|validator| {
            let bytes = hex::decode(&validator.consensus_key).map_err(|_| {
                CertificateError::BadValidatorKey {
                    name: validator.name.clone(),
                }
            })?;
            ed25519::PublicKey::decode(bytes).map_err(|_| CertificateError::BadValidatorKey {
                name: validator.name.clone(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Set::from_iter_dedup(keys))
}

/// The validator set an epoch record names.
fn participants_of_record(
    record: &EpochRecord,
) -> Result<Set<ed25519::PublicKey>, CertificateError> {
    let keys: Vec<ed25519::PublicKey> = record
        .validators
        .iter()
        .map(|key| {
            ed25519::PublicKey::decode(key.to_vec()).map_err(|_| CertificateError::BadEpochKey {
                epoch: record.epoch,
                key: hex::encode(key),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Set::from_iter_dedup(keys))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertificateError {
    #[error("genesis validator {name} has a malformed consensus key")]
    BadValidatorKey { name: String },
    #[error("the validator set of epoch {epoch} names a malformed consensus key {key}")]
    BadEpochKey { epoch: u64, key: String },
    #[error("the validator set of epoch {epoch} is empty")]
    EmptyEpoch { epoch: u64 },
    #[error("epoch {epoch} starts at height {got}, but the chain's epochs of {blocks} blocks start it at {expected}")]
    EpochMisplaced {
        epoch: u64,
        got: u64,
        expected: u64,
        blocks: u64,
    },
    #[error("no validator set is known for epoch {epoch}, which holds height {height}: the boundary block before it is not committed here")]
    UnknownEpoch { epoch: u64, height: u64 },
    #[error("the finalization certificate does not decode")]
    Malformed,
    #[error("the finalization certificate is for block {certified}, not {expected}")]
    WrongBlock { certified: String, expected: String },
    #[error("the finalization certificate is made in epoch {certified}, but height {height} belongs to epoch {expected}")]
    WrongEpoch {
        certified: u64,
        expected: u64,
        height: u64,
    },
    #[error("the finalization certificate's signatures do not verify against the validators of epoch {epoch}")]
    BadSignatures { epoch: u64 },
}

/// What a verified certificate says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Certified {
    /// The validator-set epoch the block was finalized in.
    pub epoch: u64,
    /// The consensus view in which the block was finalized.
    pub view: u64,
    /// How many validators signed the finalization.
    pub signers: usize,
}

/// One epoch's validator set, as consensus uses it.
#[derive(Clone, Debug)]
pub struct EpochSet {
    pub epoch: u64,
    /// The epoch's first height.
    pub first_height: u64,
    /// The block the epoch starts from: the last block of the epoch before, as its boundary
    /// commit recorded it; `None` for epoch 0, which starts from the genesis block.
    pub boundary: Option<BlockDigest>,
    pub participants: Set<ed25519::PublicKey>,
    /// A verify-only scheme of the set.
    pub scheme: Arc<Scheme>,
}

/// The epochs a verifier knows, and who wants to hear of the next one.
#[derive(Default)]
struct Epochs {
    sets: BTreeMap<u64, Arc<EpochSet>>,
    /// Peer-set subscribers (see [`ChainPeers`]); closed ones are dropped on the next epoch.
    subscribers: Vec<mpsc::UnboundedSender<PeerSetUpdate<ed25519::PublicKey>>>,
    /// [`Epochs::update`] as of the latest epoch, kept so that sending a message (which asks
    /// who the chain's peers are) builds nothing.
    peers: Option<PeerSetUpdate<ed25519::PublicKey>>,
}

impl Epochs {
    /// The peers of the latest epoch, once one is known.
    fn peers(&self) -> &PeerSetUpdate<ed25519::PublicKey> {
        self.peers
            .as_ref()
            .expect("epoch 0 is known from the start")
    }

    /// The peers of the latest epoch, and of it and the one before together (a validator of the
    /// previous epoch may still be committing its last blocks, and serves them).
    fn update(&self) -> PeerSetUpdate<ed25519::PublicKey> {
        let mut latest = self.sets.values().rev();
        let current = latest.next().expect("epoch 0 is known from the start");
        let previous = latest.next();
        let all = Set::from_iter_dedup(
            current
                .participants
                .iter()
                .chain(previous.into_iter().flat_map(|set| set.participants.iter()))
                .cloned(),
        );
        PeerSetUpdate {
            index: current.epoch,
            latest: TrackedPeers::primary(current.participants.clone()),
            all: TrackedPeers::primary(all),
        }
    }
}

/// Verifies finalization certificates of one chain, with the validator set of each block's
/// epoch. Clones share their epochs: the chain handle adds one when it commits a boundary block,
/// and marshal (through [`Provider`]), the peer provider ([`ChainPeers`]) and every reader see it
/// at once.
#[derive(Clone)]
pub struct CertificateVerifier {
    namespace: Arc<Vec<u8>>,
    schedule: EpochSchedule,
    epochs: Arc<RwLock<Epochs>>,
}

impl std::fmt::Debug for CertificateVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateVerifier")
            .field("schedule", &self.schedule)
            .field("latest_epoch", &self.latest().epoch)
            .finish()
    }
}

impl CertificateVerifier {
    /// A verifier that knows the genesis's validator set (epoch 0) only.
    pub fn new(genesis: &Genesis) -> Result<CertificateVerifier, CertificateError> {
        let participants = participants_of(genesis)?;
        let namespace = consensus_namespace(&genesis.chain_id);
        let scheme = Arc::new(Scheme::verifier(&namespace, participants.clone()));
        let verifier = CertificateVerifier {
            namespace: Arc::new(namespace),
            schedule: EpochSchedule::of(genesis),
            epochs: Arc::default(),
        };
        verifier.insert(EpochSet {
            epoch: 0,
            first_height: 0,
            boundary: None,
            participants,
            scheme,
        });
        Ok(verifier)
    }

    /// A verifier that knows the genesis's set and those of `records` (as the store keeps them).
    pub fn with_epochs(
        genesis: &Genesis,
        records: impl IntoIterator<Item = EpochRecord>,
    ) -> Result<CertificateVerifier, CertificateError> {
        let verifier = CertificateVerifier::new(genesis)?;
        for record in records {
            verifier.add_epoch(record)?;
        }
        Ok(verifier)
    }

    /// Learns the validator set of one more epoch (after epoch 0, which the genesis gives).
    /// Adding an epoch it knows replaces nothing.
    pub fn add_epoch(&self, record: EpochRecord) -> Result<(), CertificateError> {
        if record.epoch == 0 {
            return Ok(());
        }
        let expected = self.schedule.first(record.epoch);
        if record.first_height != expected {
            return Err(CertificateError::EpochMisplaced {
                epoch: record.epoch,
                got: record.first_height,
                expected,
                blocks: self.schedule.blocks().get(),
            });
        }
        let participants = participants_of_record(&record)?;
        if participants.is_empty() {
            return Err(CertificateError::EmptyEpoch {
                epoch: record.epoch,
            });
        }
        let scheme = Arc::new(Scheme::verifier(&self.namespace, participants.clone()));
        self.insert(EpochSet {
            epoch: record.epoch,
            first_height: record.first_height,
            boundary: Some(BlockDigest::from(record.boundary)),
            participants,
            scheme,
        });
        Ok(())
    }

    /// Adds an epoch's set, unless it is known, and tells the peer-set subscribers.
    fn insert(&self, set: EpochSet) {
        let mut epochs = self
            .epochs
            .write()
            .expect("the epoch map is never poisoned");
        if epochs.sets.contains_key(&set.epoch) {
            return;
        }
        epochs.sets.insert(set.epoch, Arc::new(set));
        let update = epochs.update();
        epochs
            .subscribers
            .retain(|subscriber| subscriber.send(update.clone()).is_ok());
        epochs.peers = Some(update);
    }

    /// The chain's consensus namespace.
    pub fn namespace(&self) -> &[u8] {
        &self.namespace
    }

    /// How the chain's heights fall into epochs.
    pub fn schedule(&self) -> EpochSchedule {
        self.schedule
    }

    /// The validator set of `epoch`, if known here.
    pub fn epoch(&self, epoch: u64) -> Option<Arc<EpochSet>> {
        self.epochs
            .read()
            .expect("the epoch map is never poisoned")
            .sets
            .get(&epoch)
            .cloned()
    }

    /// The latest epoch known here.
    pub fn latest(&self) -> Arc<EpochSet> {
        self.epochs
            .read()
            .expect("the epoch map is never poisoned")
            .sets
            .values()
            .next_back()
            .cloned()
            .expect("epoch 0 is known from the start")
    }

    /// Every epoch known here, oldest first.
    pub fn epochs(&self) -> Vec<Arc<EpochSet>> {
        self.epochs
            .read()
            .expect("the epoch map is never poisoned")
            .sets
            .values()
            .cloned()
            .collect()
    }

    /// Checks that `bytes` is a finalization of the block `digest` at `height`, signed by a
    /// quorum of the validators of the height's epoch.
    pub fn verify(
        &self,
        height: u64,
        bytes: &[u8],
        digest: &BlockDigest,
    ) -> Result<Certified, CertificateError> {
        let (certified_digest, certified) = self.certified_block(height, bytes)?;
        if certified_digest != *digest {
            return Err(CertificateError::WrongBlock {
                certified: hex::encode(certified_digest),
                expected: hex::encode(digest),
            });
        }
        Ok(certified)
    }

    /// Checks that `bytes` is a finalization of a block at `height`, made in the height's epoch
    /// and signed by a quorum of that epoch's validators, and returns the digest of the block
    /// it finalizes.
    pub fn certified_block(
        &self,
        height: u64,
        bytes: &[u8],
    ) -> Result<(BlockDigest, Certified), CertificateError> {
        let epoch = self.schedule.epoch_of(height);
        let set = self
            .epoch(epoch)
            .ok_or(CertificateError::UnknownEpoch { epoch, height })?;
        // Decoding consumes the whole input: trailing bytes are malformed too.
        let finalization = Finalization::<Scheme, sha256::Digest>::decode_cfg(
            bytes.to_vec(),
            &set.participants.len(),
        )
        .map_err(|_| CertificateError::Malformed)?;
        let certified_epoch = finalization.round().epoch().get();
        if certified_epoch != epoch {
            return Err(CertificateError::WrongEpoch {
                certified: certified_epoch,
                expected: epoch,
                height,
            });
        }
        let mut rng = commonware_utils::rng::sys_rng();
        if !finalization.verify(&mut rng, set.scheme.as_ref(), &Sequential) {
            return Err(CertificateError::BadSignatures { epoch });
        }
        Ok((
            finalization.proposal.payload,
            Certified {
                epoch,
                view: finalization.round().view().get(),
                signers: finalization.certificate.signers.count(),
            },
        ))
    }
}

/// Marshal asks for the scheme of each epoch it checks certificates in. Every scope is served as
/// a full scheme (marshal fetches notarized blocks with [`Provider::scheme`]); a verify-only
/// scheme signs nothing, and marshal never signs.
impl Provider for CertificateVerifier {
    type Scope = Epoch;
    type Scheme = Scheme;

    fn scoped(&self, scope: Epoch) -> Option<Scoped<Scheme>> {
        self.epoch(scope.get())
            .map(|set| Scoped::scheme(set.scheme.clone()))
    }
}

/// The validators of one chain as a p2p peer provider, for block broadcast and backfill: peer
/// set `e` is the validator set of epoch `e`, and subscribers hear of each new epoch as its
/// boundary block is committed here.
#[derive(Clone, Debug)]
pub struct ChainPeers {
    verifier: CertificateVerifier,
}

impl ChainPeers {
    pub fn new(verifier: CertificateVerifier) -> ChainPeers {
        ChainPeers { verifier }
    }

    /// Runs `read` on the validators of the latest epoch and the one before: the peers one
    /// chain's messages may go to.
    fn with_peers<R>(&self, read: impl FnOnce(&Set<ed25519::PublicKey>) -> R) -> R {
        let epochs = self
            .verifier
            .epochs
            .read()
            .expect("the epoch map is never poisoned");
        read(&epochs.peers().all.primary)
    }

    /// Whether `key` is a validator of the latest epoch or the one before.
    pub fn is_peer(&self, key: &ed25519::PublicKey) -> bool {
        self.with_peers(|peers| peers.position(key).is_some())
    }

    /// The validators of the latest epoch and the one before, without `me`.
    pub fn peers_except(&self, me: &ed25519::PublicKey) -> Vec<ed25519::PublicKey> {
        self.with_peers(|peers| peers.iter().filter(|key| *key != me).cloned().collect())
    }
}

impl commonware_p2p::Provider for ChainPeers {
    type PublicKey = ed25519::PublicKey;

    async fn peer_set(&mut self, id: u64) -> Option<TrackedPeers<ed25519::PublicKey>> {
        self.verifier
            .epoch(id)
            .map(|set| TrackedPeers::primary(set.participants.clone()))
    }

    async fn subscribe(&mut self) -> PeerSetSubscription<ed25519::PublicKey> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut epochs = self
            .verifier
            .epochs
            .write()
            .expect("the epoch map is never poisoned");
        let _ = sender.send(epochs.peers().clone());
        epochs.subscribers.push(sender);
        receiver
    }
}
