//! The consensus application: builds blocks from the mempool, verifies peers' blocks by executing
//! them, and commits finalized blocks that marshal delivers in order.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use commonware_actor::Feedback;
use commonware_codec::Encode;
use commonware_consensus::{
    marshal::{ancestry::Ancestry, Identifier, Update},
    simplex::types::Context,
    Application, Heightable,
};
use commonware_cryptography::{ed25519, Digested, Digestible};
use commonware_runtime::{Clock, Metrics, Spawner};
use commonware_utils::{acknowledgement::Exact, Acknowledgement};
use futures::{channel::mpsc, StreamExt};
use tally_chain::{
    build_block_hashed, execute_block_with, Block, BlockDigest, ChainState, Executed, Pending,
};
use tally_identity::Digest;
use tracing::{debug, error, info, warn};

use crate::handle::{ChainHandle, Speculative};

/// Entries one proposed block carries at most. Large blocks amortise consensus and the fsync of
/// each commit; the bound keeps one block's execution well under the leader timeout.
pub const BLOCK_ENTRIES_MAX: usize = 16_384;
/// Encoded bytes of transactions one proposed block carries at most (a transaction larger on its
/// own still gets a block of its own). Every validator hashes, stores and, but for the proposer,
/// receives and decodes every byte of a block: entries with sealed fields are twelve times the
/// size of plain ones, and a block bounded by entries alone (13 MB) took longer to spread and
/// check than the leader timeout allows with four validators on two cores. Each view also has a
/// fixed cost (about 100 ms there), so a smaller bound made blocks of orders with sealed customer
/// fields carry a third of the entries of plain ones and cost a quarter of the throughput; at
/// 6 MiB they carry about as many, and a block of entries sealed throughout (7,000 of them) is
/// spread, checked and voted on in under 0.8 s.
pub const BLOCK_PROPOSAL_BYTES_MAX: usize = 6 * 1024 * 1024;
/// How long an idle proposer waits for transactions before proposing an empty block, so an idle
/// chain makes a few empty blocks a second rather than hundreds.
pub const IDLE_WAIT: Duration = Duration::from_millis(400);
/// How often the committer asks marshal again for a boundary block's own certificate.
const BOUNDARY_POLL: Duration = Duration::from_millis(50);
/// Polls between warnings that a boundary block's certificate is still missing (every 10 s).
const BOUNDARY_WAIT_WARN_EVERY: u32 = 200;
/// How far ahead of the local clock a proposer's timestamp may be before we wait for our clock.
pub const CLOCK_SKEW_MAX: Duration = Duration::from_secs(5);

pub type Scheme = commonware_consensus::simplex::scheme::ed25519::Scheme;
/// Marshal's mailbox for this chain's blocks.
pub type MarshalMailbox = commonware_consensus::marshal::core::Mailbox<
    Scheme,
    commonware_consensus::marshal::standard::Standard<Block>,
>;

#[derive(Clone)]
pub struct TallyApp {
    chain: ChainHandle,
}

impl TallyApp {
    /// The application of a validator of `chain`.
    pub fn new(chain: ChainHandle) -> Self {
        TallyApp { chain }
    }

    /// Whether this validator is the only one of `epoch`, and so leads every view.
    fn sole(&self, epoch: u64) -> bool {
        self.chain
            .certificate_verifier()
            .and_then(|verifier| verifier.epoch(epoch))
            .is_some_and(|set| set.participants.len() == 1)
    }

    /// Whether a proposal on `view` has work: a transaction in the mempool that its uncommitted
    /// ancestors do not carry already. They stay in the mempool until they are committed.
    ///
    /// With other validators, any transaction counts: bulk batches are not relayed, so another
    /// validator may hold work this one does not, and an empty block passes the lead on to it.
    /// A sole validator leads the next view too, so only new work counts; otherwise, while its
    /// commits lag behind its proposals, it made hundreds of empty blocks a second.
    fn has_work(&self, view: &ParentView, sole: bool) -> bool {
        if sole {
            self.chain.has_candidates(&view.chain_txs)
        } else {
            !self.chain.mempool_is_empty()
        }
    }
}

/// A parent's execution, however it was obtained.
struct ParentView {
    state: ChainState,
    pending: Pending,
    chain_txs: HashSet<Digest>,
}

impl ParentView {
    fn committed(state: &ChainState) -> ParentView {
        ParentView {
            state: state.clone(),
            pending: Pending::default(),
            chain_txs: HashSet::new(),
        }
    }

    /// The state after a speculative block; layers of blocks committed since are dropped from
    /// its overlay (the store has their entries), so the overlay does not grow with the chain.
    fn speculative(speculative: &Speculative, committed_height: u64) -> ParentView {
        ParentView {
            state: speculative.executed.state.clone(),
            pending: speculative
                .executed
                .pending
                .committed_through(committed_height),
            chain_txs: speculative.chain_txs.clone(),
        }
    }
}

fn now_ms(clock: &impl Clock) -> u64 {
    clock
        .current()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

impl TallyApp {
    /// The state after `parent`, from the committed state, the speculative cache, or by executing
    /// the uncommitted blocks the ancestry stream yields (after a restart, say).
    async fn parent_view(
        &self,
        parent: &Digested<Block>,
        ancestry: &mut impl Ancestry<Block>,
    ) -> Option<ParentView> {
        let digest = parent.digest().0;
        let committed = self.chain.state();
        if digest == committed.tip {
            return Some(ParentView::committed(&committed));
        }
        if let Some(speculative) = self.chain.speculative(&digest) {
            return Some(ParentView::speculative(&speculative, committed.height));
        }
        // Walk back from the parent to something we know, then execute forward.
        let mut unknown: Vec<Digested<Block>> = vec![parent.clone()];
        let mut base: Option<ParentView> = None;
        // Compare against one snapshot of the committed state: it may move on meanwhile, and the
        // blocks it passes are then executed again from the snapshot.
        while let Some(block) = ancestry.next().await {
            let block_digest = block.digest().0;
            if block_digest == committed.tip {
                base = Some(ParentView::committed(&committed));
                break;
            }
            // Walking down, the committed tip is passed at its height; anything at or below it
            // that is not the tip is on a fork that can no longer be finalized.
            if block.height().get() <= committed.height {
                debug!(
                    height = block.height().get(),
                    "ancestry forks below the committed height"
                );
                return None;
            }
            if let Some(speculative) = self.chain.speculative(&block_digest) {
                base = Some(ParentView::speculative(&speculative, committed.height));
                break;
            }
            unknown.push(block);
        }
        let Some(mut view) = base else {
            warn!(
                parent = parent.height().get(),
                "ancestry ended before a known block"
            );
            return None;
        };
        // The store may commit some of these blocks while we execute them: look entries up as
        // of the snapshot, or a block would find its own entries already committed.
        let store = self.chain.store().at(committed.height);
        for block in unknown.into_iter().rev() {
            let executed = match execute_block_with(
                &view.state,
                &store,
                view.pending.clone(),
                block.inner(),
                |hash| self.chain.has_verified(hash),
            ) {
                Ok(executed) => executed,
                Err(error) => {
                    warn!(height = block.height().get(), %error, "ancestor does not execute");
                    return None;
                }
            };
            let speculative = self.remember(block.inner_shared(), executed, view.chain_txs);
            view = ParentView::speculative(&speculative, committed.height);
        }
        Some(view)
    }

    /// Keeps a block's execution for its children and for the commit when it is finalized.
    fn remember(
        &self,
        block: Arc<Block>,
        executed: Executed,
        mut chain_txs: HashSet<Digest>,
    ) -> Arc<Speculative> {
        chain_txs.extend(executed.tx_hashes.iter().copied());
        self.chain.remember(Speculative {
            block,
            executed,
            chain_txs,
        })
    }
}

impl<E> Application<E> for TallyApp
where
    E: Clock + Spawner + Metrics,
{
    type SigningScheme = Scheme;
    type Context = Context<BlockDigest, ed25519::PublicKey>;
    type Block = Block;
    type Input = ();

    async fn propose(
        &mut self,
        (runtime, context): (E, Self::Context),
        mut ancestry: impl Ancestry<Self::Block>,
        _input: (),
    ) -> Option<Digested<Self::Block>> {
        let parent = ancestry.next().await?;
        let view = self.parent_view(&parent, &mut ancestry).await?;
        let sole = self.sole(context.round.epoch().get());
        // Give an idle chain a moment to collect work, so empty blocks stay rare.
        let deadline = runtime.current() + IDLE_WAIT;
        while !self.has_work(&view, sole) && runtime.current() < deadline {
            runtime.sleep(Duration::from_millis(20)).await;
        }
        let candidates =
            self.chain
                .candidates(BLOCK_ENTRIES_MAX, BLOCK_PROPOSAL_BYTES_MAX, &view.chain_txs);
        let time_ms = now_ms(&runtime).max(view.state.time_ms);
        // One read snapshot for the whole block, as of the parent, rather than one read
        // transaction per entry looked up.
        let base = self.chain.store().at(view.state.height);
        let started = std::time::Instant::now();
        let (block, executed, rejected) =
            build_block_hashed(&view.state, &base, view.pending, time_ms, candidates);
        debug!(
            height = block.height(),
            transactions = block.transactions.len(),
            entries = executed.entries.len(),
            bytes = block.bytes().len(),
            build_ms = started.elapsed().as_millis() as u64,
            "proposed a block"
        );
        if !rejected.is_empty() {
            info!(
                count = rejected.len(),
                "left invalid transactions out of the proposal"
            );
            self.chain.reject(rejected);
        }
        let digest = executed.state.tip;
        let block = Arc::new(block);
        self.remember(block.clone(), executed, view.chain_txs);
        Some(Digested::precomputed(block, BlockDigest::from(digest)))
    }

    async fn verify(
        &mut self,
        (runtime, _context): (E, Self::Context),
        mut ancestry: impl Ancestry<Self::Block>,
    ) -> bool {
        let Some(block) = ancestry.next().await else {
            warn!("verify: no block in the ancestry");
            return false;
        };
        let Some(parent) = ancestry.next().await else {
            warn!(
                height = block.height().get(),
                "verify: the block's parent is not available"
            );
            return false;
        };
        // A timestamp from the future may only mean our clock is behind: wait, don't reject.
        let stamped = UNIX_EPOCH + Duration::from_millis(block.inner().header.time_ms);
        if stamped > runtime.current() + CLOCK_SKEW_MAX {
            runtime.sleep_until(stamped - CLOCK_SKEW_MAX).await;
        }
        let Some(view) = self.parent_view(&parent, &mut ancestry).await else {
            warn!(
                height = block.height().get(),
                "verify: cannot reconstruct the parent's state"
            );
            return false;
        };
        let base = self.chain.store().at(view.state.height);
        let started = std::time::Instant::now();
        match execute_block_with(&view.state, &base, view.pending, block.inner(), |hash| {
            self.chain.has_verified(hash)
        }) {
            Ok(executed) => {
                debug!(
                    height = block.height().get(),
                    entries = executed.entries.len(),
                    execute_ms = started.elapsed().as_millis() as u64,
                    "verified a block"
                );
                self.remember(block.inner_shared(), executed, view.chain_txs);
                true
            }
            Err(error) => {
                warn!(height = block.height().get(), %error, "rejected an invalid block");
                false
            }
        }
    }
}

/// Receives marshal's finalized blocks and hands them to the committer task in order.
#[derive(Clone)]
pub struct Finalizer {
    chain: ChainHandle,
    sender: mpsc::UnboundedSender<(Digested<Block>, Exact)>,
}

impl Finalizer {
    /// Starts the committer task on `context` and returns the reporter marshal delivers to.
    ///
    /// Each block is stored with its own finalization certificate when marshal has one (a block
    /// finalized only through a descendant's certificate has none; that descendant has one).
    ///
    /// Marshal hands over up to its pending-acknowledgement limit of blocks ahead of the
    /// committer. When the node stops, marshal's task ends first and every question to it then
    /// gets no answer, so the blocks still queued here would be committed without their
    /// certificates and an audit of the store would find its last blocks not final. A block
    /// marshal no longer answers for is left unacknowledged instead: marshal delivers it again,
    /// with its certificate, when the node restarts.
    pub fn start<E: Spawner + Clock>(
        context: E,
        chain: ChainHandle,
        marshal: MarshalMailbox,
    ) -> Finalizer {
        let (sender, mut receiver) = mpsc::unbounded::<(Digested<Block>, Exact)>();
        let committer = chain.clone();
        context.spawn(move |clock| async move {
            let schedule = committer
                .certificate_verifier()
                .map(|verifier| verifier.schedule());
            while let Some((block, ack)) = receiver.next().await {
                let mut finalization = marshal.get_finalization(block.height()).await;
                // A boundary block is finalized in its own epoch by its own certificate (the
                // engine proposes it again until it is): it is stored with it, because the next
                // epoch's validators are trusted through it. Marshal may deliver the block before
                // it holds that certificate; wait for it.
                let boundary = schedule
                    .is_some_and(|schedule| schedule.is_enabled() && schedule.is_last(block.height().get()));
                let mut waited = 0u32;
                while boundary && finalization.is_none() {
                    if marshal.get_info(Identifier::Latest).await.is_none() {
                        break;
                    }
                    waited += 1;
                    if waited.is_multiple_of(BOUNDARY_WAIT_WARN_EVERY) {
                        warn!(
                            height = block.height().get(),
                            "waiting for the boundary block's own finalization certificate"
                        );
                    }
                    clock.sleep(BOUNDARY_POLL).await;
                    finalization = marshal.get_finalization(block.height()).await;
                }
                // Marshal has finalized this block, so while it runs it knows a latest
                // finalization (the genesis block, already committed, comes before any).
                if finalization.is_none()
                    && block.height().get() > committer.state().height
                    && marshal.get_info(Identifier::Latest).await.is_none()
                {
                    info!(
                        height = block.height().get(),
                        "consensus has stopped; leaving this block to be delivered again"
                    );
                    return;
                }
                let certificate = finalization.map(|finalization| finalization.encode().to_vec());
                let started = std::time::Instant::now();
                match committer.commit_finalized(block.inner(), certificate.as_deref()) {
                    Ok(()) => {
                        debug!(
                            height = block.height().get(),
                            commit_ms = started.elapsed().as_millis() as u64,
                            "committed a block"
                        );
                        ack.acknowledge()
                    }
                    Err(error) => {
                        // Acknowledging would let marshal move past a block we did not commit.
                        error!(%error, "cannot commit a finalized block; stopping this chain's committer");
                        return;
                    }
                }
            }
        });
        Finalizer { chain, sender }
    }
}

impl commonware_consensus::Reporter for Finalizer {
    type Activity = Update<Block>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        match activity {
            Update::Tip(_, height, _) => self.chain.note_finalized_tip(height.get()),
            Update::Block(block, ack) => {
                if self.sender.unbounded_send((block, ack)).is_err() {
                    warn!("committer stopped; finalized block not committed");
                }
            }
        }
        Feedback::Ok
    }
}
