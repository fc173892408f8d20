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
    types::{Epoch, FixedEpocher, ViewDelta},
};
use commonware_cryptography::{certificate::ConstantProvider, ed25519, Digested, Sha256};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_rand_core::{CryptoRng, Rng};
use commonware_runtime::{buffer::paged::CacheRef, Clock, Handle, Metrics, Spawner, Storage};
use commonware_storage::archive::immutable;
use commonware_utils::{ordered::Set, NZDuration};

use crate::application::{Finalizer, Scheme, TallyApp};
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

/// One epoch for the whole chain: the validator set is fixed by the genesis.
const EPOCH_LENGTH: u64 = u64::MAX / 2;
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

pub struct ValidatorConfig<B, P> {
    pub signer: ed25519::PrivateKey,
    pub participants: Set<ed25519::PublicKey>,
    /// Separates this chain's consensus signatures from every other chain's.
    pub namespace: Vec<u8>,
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

/// Starts a validator for `chain`; returns the handle of the consensus engine task.
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
    let scheme = Scheme::signer(
        &config.namespace,
        config.participants.clone(),
        config.signer.clone(),
    )
    .expect("the validator's key is in the genesis validator set");
    let page_cache = CacheRef::new(
        NonZeroU16::new(PAGE_SIZE).expect("non-zero"),
        NonZeroUsize::new(PAGE_CACHE_PAGES).expect("non-zero"),
    );
    let mailbox_size = NonZeroUsize::new(MAILBOX_SIZE).expect("non-zero");
    let epocher = FixedEpocher::new(NonZeroU64::new(EPOCH_LENGTH).expect("non-zero"));
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
            provider: ConstantProvider::new(scheme.clone()),
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
        TallyApp::new(chain, config.participants.len()),
        marshal_mailbox,
        epocher,
    );
    let timing = config.timing;
    let engine = simplex::Engine::new(
        context.child("simplex"),
        simplex::config::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker: config.blocker,
            automaton: application.clone(),
            relay: application.clone(),
            reporter: application,
            strategy: Sequential,
            partition: format!("{prefix}-simplex"),
            mailbox_size,
            epoch: Epoch::zero(),
            floor: simplex::config::Floor::Genesis(genesis_digest),
            replay_buffer: NonZeroUsize::new(JOURNAL_BUFFER_BYTES).expect("non-zero"),
            write_buffer: NonZeroUsize::new(JOURNAL_BUFFER_BYTES).expect("non-zero"),
            page_cache,
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
    engine.start(networks.votes, networks.certificates, networks.resolver)
}
