//! Wiring of one validator: simplex (votes, certificates), marshal (ordered finalized blocks,
//! backfill from peers), the block broadcast buffer, and the application.
//!
//! It takes the runtime context and already-registered network channels, so the same code runs on
//! tokio with authenticated TCP in production and on the seeded deterministic runtime with the
//! simulated network in tests.

use std::num::{NonZeroU16, NonZeroU64, NonZeroUsize};
use std::time::Duration;

use commonware_broadcast::buffered;
use commonware_consensus::{
    marshal::{self, core::Actor, resolver::p2p as marshal_resolver, standard::Inline, Start},
    simplex::{
        self,
        config::{ForwardPolicy, SkipBudget, SkipPolicy},
        elector::RoundRobin,
    },
    types::{Epoch, FixedEpocher, Height, ViewDelta},
};
use commonware_cryptography::{ed25519, Digested, Sha256};
use commonware_p2p::utils::mux::{Builder as _, Muxer};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_rand_core::{CryptoRng, Rng};
use commonware_runtime::{buffer::paged::CacheRef, Clock, Handle, Metrics, Spawner, Storage};
use commonware_storage::archive::immutable;
use commonware_utils::{vec::NonEmptyVec, NZDuration};
use tally_chain::{Block, BlockDigest};
use tracing::{debug, error, info, warn};

use crate::application::{Finalizer, MarshalMailbox, Scheme, TallyApp};
use crate::handle::ChainHandle;

/// Channel numbers on the p2p network. Each protocol of each chain gets its own channel and rate
/// limit, so one node can host several chains over one authenticated endpoint.
pub mod channel {
    use sha2::{Digest as _, Sha256};

    pub const VOTES: u64 = 0;
    pub const CERTIFICATES: u64 = 1;
    pub const RESOLVER: u64 = 2;
    pub const BROADCAST: u64 = 3;
    pub const BACKFILL: u64 = 4;
    /// Transactions a validator relays to the others (see `relay.rs`).
    pub const TRANSACTIONS: u64 = 5;
    /// Channels reserved per chain: the six above, with room to grow.
    pub const PER_CHAIN: u64 = 16;

    /// The first channel of a chain: derived from its id, so every node agrees on it whatever
    /// order its configuration lists its chains in.
    pub fn base(chain_id: &str) -> u64 {
        let digest = Sha256::digest(format!("tally/v1/channels/{chain_id}").as_bytes());
        let prefix = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
        prefix - prefix % PER_CHAIN
    }
}

const PAGE_SIZE: u16 = 4096;
const PAGE_CACHE_PAGES: usize = 1024;
const MAILBOX_SIZE: usize = 1024;
/// Blocks the application may hold unacknowledged; commits are sequential, so a short queue.
const PENDING_ACKS_MAX: usize = 16;
const ARCHIVE_ITEMS_PER_SECTION: u64 = 1024;
/// Size of each storage journal's write and replay buffer. Consensus keeps many journals open
/// (archives, caches per view range); a large buffer per journal multiplied into gigabytes of
/// resident memory per node, while 64 KiB keeps sequential writes efficient.
const JOURNAL_BUFFER_BYTES: usize = 64 * 1024;

/// Most past epochs whose simplex journals a node looks for, and deletes, when it enters its
/// first epoch after starting: journals a crash left behind (or a version that kept them all)
/// within that many epochs are deleted; older ones, if any, stay on disk. Past that first
/// entry, each epoch entered deletes the journal of the epoch before it.
const PAST_JOURNALS_SWEPT_MAX: u64 = 4096;

/// Timeouts of the consensus engine.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub leader_timeout: Duration,
    pub certification_timeout: Duration,
    pub timeout_retry: Duration,
    pub skip_timeout: Duration,
    pub fetch_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            leader_timeout: Duration::from_secs(1),
            certification_timeout: Duration::from_secs(2),
            timeout_retry: Duration::from_secs(5),
            skip_timeout: Duration::from_secs(10),
            fetch_timeout: Duration::from_secs(2),
        }
    }
}

/// How one node runs consensus on one chain. The chain's namespace and its validators of each
/// epoch come from the chain handle (its genesis and the epochs its store committed).
pub struct ValidatorConfig<B, P> {
    pub signer: ed25519::PrivateKey,
    /// Prefix of the storage partitions consensus and marshal keep.
    pub partition_prefix: String,
    pub blocker: B,
    pub provider: P,
    pub timing: Timing,
}

/// The six channels one validator uses, registered on whatever network runs it.
pub struct Networks<S, R> {
    pub votes: (S, R),
    pub certificates: (S, R),
    pub resolver: (S, R),
    pub broadcast: (S, R),
    pub backfill: (S, R),
    pub transactions: (S, R),
}

/// Storage layout of one of marshal's archives (finalized blocks, finalization certificates).
fn archive_config<C>(
    prefix: &str,
    name: &str,
    page_cache: &CacheRef,
    codec_config: C,
) -> immutable::Config<C> {
    let write_buffer = NonZeroUsize::new(JOURNAL_BUFFER_BYTES).expect("non-zero");
    immutable::Config {
        metadata_partition: format!("{prefix}-{name}-metadata"),
        freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
        freezer_table_initial_size: 1024,
        freezer_table_resize_frequency: 4,
        freezer_table_resize_chunk_size: 256,
        freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
        freezer_value_target_size: 64 * 1024 * 1024,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{name}-ordinal"),
        items_per_section: NonZeroU64::new(ARCHIVE_ITEMS_PER_SECTION).expect("non-zero"),
        codec_config,
        replay_buffer: write_buffer,
        freezer_key_write_buffer: write_buffer,
        freezer_value_write_buffer: write_buffer,
        ordinal_write_buffer: write_buffer,
    }
}

/// The storage partition of simplex's journal in `epoch`. Epoch 0 keeps the name it had before
/// chains had epochs, so existing nodes restart on their journal.
fn simplex_partition(prefix: &str, epoch: u64) -> String {
    if epoch == 0 {
        format!("{prefix}-simplex")
    } else {
        format!("{prefix}-simplex-{epoch}")
    }
}

/// Deletes the simplex journals of the epochs before `epoch`, which this node has left: it
/// entered `epoch` because it committed the block that closed the one before, and it never
/// runs an earlier epoch's engine again (its epoch follows its committed height, which only
/// grows). The journal only keeps a validator from voting twice in a view of its epoch, and
/// the finalized blocks and certificates live in marshal's archives. `sweep` looks back
/// [`PAST_JOURNALS_SWEPT_MAX`] epochs (the first entry after a start), otherwise one.
async fn remove_past_journals(context: &impl Storage, prefix: &str, epoch: u64, sweep: bool) {
    let oldest = epoch.saturating_sub(if sweep { PAST_JOURNALS_SWEPT_MAX } else { 1 });
    for past in oldest..epoch {
        let partition = simplex_partition(prefix, past);
        match context.remove(&partition, None).await {
            Ok(()) => info!(epoch = past, %partition, "deleted a past epoch's simplex journal"),
            Err(commonware_runtime::Error::PartitionMissing(_)) => {}
            Err(error) => warn!(
                epoch = past,
                %partition,
                %error,
                "could not delete a past epoch's simplex journal"
            ),
        }
    }
}

/// Starts a validator for `chain`; returns the handle of the task that runs its consensus.
///
/// Marshal, the block broadcast buffer, the backfill resolver and the application run for the
/// node's lifetime. Simplex runs per validator-set epoch: on a chain whose genesis sets
/// `epoch_blocks`, the vote, certificate and resolver channels are split into one subchannel per
/// epoch, and each commit of a boundary block stops the epoch's engine and starts the next with
/// the set that block committed (see `docs/validator-epochs.md`). A node outside an epoch's set
/// runs no engine in it and follows through marshal. A chain without epochs runs one engine on
/// the plain channels, as before epochs existed.
pub async fn start_validator<E, B, P, S, R>(
    context: E,
    chain: ChainHandle,
    config: ValidatorConfig<B, P>,
    networks: Networks<S, R>,
) -> Handle<()>
where
    E: Clock + Spawner + Metrics + Storage + Rng + CryptoRng,
    B: Blocker<PublicKey = ed25519::PublicKey> + Clone,
    P: Provider<PublicKey = ed25519::PublicKey> + Clone,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
{
    let public_key = commonware_cryptography::Signer::public_key(&config.signer);
    let verifier = chain
        .certificate_verifier()
        .expect("the genesis validators' keys were checked before the node started")
        .clone();
    let schedule = verifier.schedule();
    let page_cache = CacheRef::new(
        NonZeroU16::new(PAGE_SIZE).expect("non-zero"),
        NonZeroUsize::new(PAGE_CACHE_PAGES).expect("non-zero"),
    );
    let mailbox_size = NonZeroUsize::new(MAILBOX_SIZE).expect("non-zero");
    let epocher = schedule.epocher();
    let genesis = chain
        .genesis()
        .block()
        .expect("the genesis was checked when the store opened");
    let genesis_digest = tally_chain::header_digest(&genesis.header);
    let prefix = config.partition_prefix.clone();

    // Submitted transactions go to the other validators, so any leader can propose them.
    crate::relay::start(context.child("relay"), chain.clone(), networks.transactions);

    // Backfill of missing finalized blocks from peers.
    let resolver = marshal_resolver::init(
        context.child("marshal_resolver"),
        marshal_resolver::Config {
            public_key: public_key.clone(),
            peer_provider: config.provider.clone(),
            blocker: config.blocker.clone(),
            mailbox_size,
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(200),
            priority_requests: false,
            priority_responses: false,
        },
        networks.backfill,
    );

    // Broadcast of proposed blocks.
    let (broadcast_engine, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: public_key.clone(),
            mailbox_size,
            deque_size: 16,
            priority: false,
            codec_config: (),
            peer_provider: config.provider.clone(),
            strategy: Sequential,
        },
    );
    broadcast_engine.start(networks.broadcast);

    let finalizations_by_height = immutable::Archive::init(
        context.child("finalizations_by_height"),
        archive_config(
            &prefix,
            "finalizations",
            &page_cache,
            <Scheme as commonware_cryptography::certificate::Verifier>::certificate_codec_config_unbounded(),
        ),
    )
    .await
    .expect("the finalization archive opens");
    let finalized_blocks = immutable::Archive::init(
        context.child("finalized_blocks"),
        archive_config(&prefix, "blocks", &page_cache, ()),
    )
    .await
    .expect("the block archive opens");

    let (actor, marshal_mailbox, _floor) = Actor::init(
        context.child("marshal"),
        finalizations_by_height,
        finalized_blocks,
        marshal::Config {
            // Certificates of each height are checked with the validators of its epoch.
            provider: verifier.clone(),
            epocher: epocher.clone(),
            start: Start::Genesis(Digested::precomputed(genesis, genesis_digest)),
            partition_prefix: format!("{prefix}-marshal"),
            mailbox_size,
            view_retention: ViewDelta::new(64),
            prunable_items_per_section: NonZeroU64::new(ARCHIVE_ITEMS_PER_SECTION)
                .expect("non-zero"),
            page_cache: page_cache.clone(),
            replay_buffer: NonZeroUsize::new(JOURNAL_BUFFER_BYTES).expect("non-zero"),
            key_write_buffer: NonZeroUsize::new(JOURNAL_BUFFER_BYTES).expect("non-zero"),
            value_write_buffer: NonZeroUsize::new(JOURNAL_BUFFER_BYTES).expect("non-zero"),
            block_codec_config: (),
            max_repair: NonZeroUsize::new(16).expect("non-zero"),
            max_pending_acks: NonZeroUsize::new(PENDING_ACKS_MAX).expect("non-zero"),
            strategy: Sequential,
        },
    )
    .await;
    chain.set_marshal(marshal_mailbox.clone());
    let finalizer = Finalizer::start(
        context.child("committer"),
        chain.clone(),
        marshal_mailbox.clone(),
    );
    actor.start(finalizer, buffer, resolver);

    let application = Inline::new(
        context.child("application"),
        TallyApp::new(chain.clone()),
        marshal_mailbox.clone(),
        epocher,
    );
    let engines = EpochEngines {
        namespace: verifier.namespace().to_vec(),
        genesis: genesis_digest,
        signer: config.signer,
        blocker: config.blocker,
        application,
        prefix,
        page_cache,
        mailbox_size,
        timing: config.timing,
    };

    if !schedule.is_enabled() {
        // One epoch forever, on the plain channels: the wire and storage of chains without
        // epochs are what they were before epochs existed.
        let set = verifier.latest();
        return engines
            .start(
                context.child("epoch"),
                &set,
                networks.votes,
                networks.certificates,
                networks.resolver,
            )
            .expect("the node's key is a genesis validator (checked before the node started)");
    }
    let chain_for_epochs = chain.clone();
    context.child("epochs").spawn(move |context| async move {
        run_epochs(
            context,
            chain_for_epochs,
            public_key,
            marshal_mailbox,
            networks.votes,
            networks.certificates,
            networks.resolver,
            engines,
        )
        .await
    })
}

/// The consensus application as simplex drives it.
type Application<E> = Inline<E, Scheme, TallyApp, Block, FixedEpocher>;

/// What every epoch's simplex engine shares: the node's key, the application, storage settings.
struct EpochEngines<E, B>
where
    E: Clock + Spawner + Metrics + Storage + Rng + CryptoRng,
{
    namespace: Vec<u8>,
    /// The genesis block's digest: where epoch 0 starts.
    genesis: BlockDigest,
    signer: ed25519::PrivateKey,
    blocker: B,
    application: Application<E>,
    prefix: String,
    page_cache: CacheRef,
    mailbox_size: NonZeroUsize,
    timing: Timing,
}

impl<E, B> EpochEngines<E, B>
where
    E: Clock + Spawner + Metrics + Storage + Rng + CryptoRng,
    B: Blocker<PublicKey = ed25519::PublicKey> + Clone,
{
    /// Starts simplex for the epoch of `set` on that epoch's channels; `None` when this node is
    /// not one of the epoch's validators.
    fn start(
        &self,
        context: E,
        set: &crate::certificate::EpochSet,
        votes: (
            impl Sender<PublicKey = ed25519::PublicKey>,
            impl Receiver<PublicKey = ed25519::PublicKey>,
        ),
        certificates: (
            impl Sender<PublicKey = ed25519::PublicKey>,
            impl Receiver<PublicKey = ed25519::PublicKey>,
        ),
        resolver: (
            impl Sender<PublicKey = ed25519::PublicKey>,
            impl Receiver<PublicKey = ed25519::PublicKey>,
        ),
    ) -> Option<Handle<()>> {
        let epoch = set.epoch;
        let scheme = Scheme::signer(
            &self.namespace,
            set.participants.clone(),
            self.signer.clone(),
        )?;
        let timing = self.timing;
        let engine = simplex::Engine::new(
            context.child("simplex").with_attribute("epoch", epoch),
            simplex::config::Config {
                scheme,
                elector: RoundRobin::<Sha256>::default(),
                blocker: self.blocker.clone(),
                automaton: self.application.clone(),
                relay: self.application.clone(),
                reporter: self.application.clone(),
                strategy: Sequential,
                partition: simplex_partition(&self.prefix, epoch),
                mailbox_size: self.mailbox_size,
                epoch: Epoch::new(epoch),
                // Each epoch starts from the block that closed the one before (the genesis
                // block for epoch 0).
                floor: simplex::config::Floor::Genesis(set.boundary.unwrap_or(self.genesis)),
                replay_buffer: NonZeroUsize::new(JOURNAL_BUFFER_BYTES).expect("non-zero"),
                write_buffer: NonZeroUsize::new(JOURNAL_BUFFER_BYTES).expect("non-zero"),
                page_cache: self.page_cache.clone(),
                leader_timeout: timing.leader_timeout,
                certification_timeout: timing.certification_timeout,
                timeout_retry: timing.timeout_retry,
                view_retention: ViewDelta::new(64),
                skip: SkipPolicy::Enabled {
                    timeout: timing.skip_timeout,
                    budget: SkipBudget::Participants,
                },
                fetch_timeout: commonware_utils::NonZeroDuration::new(timing.fetch_timeout)
                    .expect("fetch timeout is not zero"),
                fetch_retry_delay: Duration::from_millis(200),
                forward: ForwardPolicy::Disabled,
                track_historical_votes: false,
            },
        );
        Some(engine.start(votes, certificates, resolver))
    }
}

/// Runs simplex in each epoch of an epoch-enabled chain, over per-epoch subchannels.
#[allow(clippy::too_many_arguments)]
async fn run_epochs<E, B, S, R>(
    context: E,
    chain: ChainHandle,
    me: ed25519::PublicKey,
    marshal: MarshalMailbox,
    votes: (S, R),
    certificates: (S, R),
    resolver: (S, R),
    engines: EpochEngines<E, B>,
) where
    E: Clock + Spawner + Metrics + Storage + Rng + CryptoRng,
    B: Blocker<PublicKey = ed25519::PublicKey> + Clone,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
{
    let verifier = chain
        .certificate_verifier()
        .expect("checked before the node started")
        .clone();
    let schedule = verifier.schedule();
    // Votes and certificates of an epoch this node is not in yet land in the backup queues: they
    // say the others have moved on, so marshal is told to fetch the boundary block.
    let (vote_muxer, mut vote_channels, mut vote_backup) =
        Muxer::builder(context.child("vote_mux"), votes.0, votes.1)
            .with_backup()
            .build();
    vote_muxer.start();
    let (certificate_muxer, mut certificate_channels, mut certificate_backup) = Muxer::builder(
        context.child("certificate_mux"),
        certificates.0,
        certificates.1,
    )
    .with_backup()
    .build();
    certificate_muxer.start();
    let (resolver_muxer, mut resolver_channels) =
        Muxer::new(context.child("resolver_mux"), resolver.0, resolver.1);
    resolver_muxer.start();

    let mut heights = chain.subscribe();
    let mut entered: Option<u64> = None;
    let mut engine: Option<Handle<()>> = None;
    loop {
        let epoch = schedule.epoch_of(chain.state().height + 1);
        if entered != Some(epoch) {
            if let Some(engine) = engine.take() {
                engine.abort();
            }
            match verifier.epoch(epoch) {
                None => {
                    // Cannot happen: the boundary commit stores the next set before the height
                    // moves past it. Wait for the next commit rather than run a wrong set.
                    error!(epoch, "no validator set for the current epoch");
                }
                Some(set) => {
                    let sweep = entered.is_none();
                    entered = Some(epoch);
                    // Off the way of the epoch's engine: the first entry's sweep may look at
                    // thousands of partitions.
                    let prefix = engines.prefix.clone();
                    context.child("journals").spawn(move |context| async move {
                        remove_past_journals(&context, &prefix, epoch, sweep).await;
                    });
                    let subchannel = epoch;
                    let channels = (
                        vote_channels.register(subchannel).await,
                        certificate_channels.register(subchannel).await,
                        resolver_channels.register(subchannel).await,
                    );
                    let (Ok(votes), Ok(certificates), Ok(resolver)) = channels else {
                        error!(epoch, "the p2p network stopped; consensus stops");
                        return;
                    };
                    engine =
                        engines.start(context.child("epoch"), &set, votes, certificates, resolver);
                    if engine.is_some() {
                        info!(
                            epoch,
                            validators = set.participants.len(),
                            first_height = set.first_height,
                            "entered a validator-set epoch"
                        );
                    } else {
                        info!(
                            epoch,
                            key = %hex::encode(me.as_ref()),
                            "this node is not a validator in this epoch; following the chain"
                        );
                    }
                }
            }
        }
        tokio::select! {
            biased;
            changed = heights.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            Some((subchannel, (peer, _))) = vote_backup.recv() => {
                hint_ahead(&marshal, &schedule, epoch, subchannel, peer);
            }
            Some((subchannel, (peer, _))) = certificate_backup.recv() => {
                hint_ahead(&marshal, &schedule, epoch, subchannel, peer);
            }
        }
    }
}

/// A peer sent consensus traffic of a later epoch: the chain has passed a boundary this node has
/// not committed yet, so marshal is asked to fetch the boundary block's finalization from it.
fn hint_ahead(
    marshal: &MarshalMailbox,
    schedule: &tally_chain::EpochSchedule,
    epoch: u64,
    subchannel: u64,
    peer: ed25519::PublicKey,
) {
    if subchannel > epoch {
        debug!(epoch, peer_epoch = subchannel, "a peer is in a later epoch");
        marshal.hint_finalized(Height::new(schedule.last(epoch)), NonEmptyVec::new(peer));
    }
}
