//! Automatic bookkeeping: a node that hosts both its enterprise's private chain and the
//! consortium chain books its enterprise's side of every final contract event, and anchors its
//! private chain's head on the consortium chain.
//!
//! Exactly once: the entry for an event has an id derived from the consortium transaction and the
//! event's position, so a second attempt (after a crash, or by another node of the same
//! enterprise) is refused as a duplicate and changes nothing. The cursor file only saves work on
//! restart: it advances past a consortium height once every entry derived up to it is committed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use commonware_runtime::Clock;
use futures::future::Either;
use tally_chain::{
    ChainEvent, SignedBatch, SignedTx, Transaction, TxBody, TxError, BATCH_ENTRIES_MAX,
};
use tally_consensus::{ChainHandle, Outcome, SubmitError};
use tally_contracts::{derive_entry, ContractCall, EnterpriseName, PostingRules};
use tally_identity::{Digest, SecretKey};
use tally_ledger::{Date, EntryDraft, EntryId, PostError, Reference};

/// How often the bookkeeper looks for work when no consortium block is committed: retries of
/// stuck entries and anchors. A newly committed consortium block wakes it at once.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Consortium heights read in one pass: bounds the memory of one pass after a long outage.
pub const HEIGHTS_PER_PASS_MAX: u64 = 256;

/// Reference kind naming the other party of a derived entry, for reconciliation.
pub const COUNTERPARTY_REFERENCE: &str = "counterparty";

/// What one enterprise's bookkeeper needs.
#[derive(Clone)]
pub struct BookkeeperConfig {
    pub enterprise: EnterpriseName,
    pub rules: PostingRules,
    /// The private-chain member (role bookkeeper) that signs derived entries.
    pub key: SecretKey,
    /// The consortium member (role bookkeeper or admin) that signs anchors; `None`: no anchoring.
    pub anchor_key: Option<SecretKey>,
    /// Anchor the private chain's head every this many private blocks (0: never).
    pub anchor_every_blocks: u64,
    /// Where the cursor (last consortium height fully booked) is kept.
    pub cursor_path: PathBuf,
}

/// What the bookkeeper has done, for status pages and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BookkeeperStatus {
    /// Last consortium height whose entries are all committed on the private chain.
    pub booked_through: u64,
    /// Entries this bookkeeper submitted (a duplicate refused later is still counted here).
    pub submitted: u64,
    /// Derived entries the private chain refuses for a rule (e.g. a closed period), with why.
    /// They are retried on every pass.
    pub stuck: BTreeMap<EntryId, String>,
    /// Last private height anchored on the consortium chain.
    pub anchored_height: u64,
}

/// Shared view of a running bookkeeper.
#[derive(Clone, Default)]
pub struct BookkeeperHandle {
    status: Arc<Mutex<BookkeeperStatus>>,
}

impl BookkeeperHandle {
    pub fn status(&self) -> BookkeeperStatus {
        self.status.lock().expect("status lock").clone()
    }
}

/// The entries `enterprise` books for `events`, each naming its counterparty.
pub fn derive_entries(
    events: &[ChainEvent],
    enterprise: &EnterpriseName,
    rules: &PostingRules,
) -> Vec<EntryDraft> {
    let mut entries = Vec::new();
    for event in events {
        let Some(contract) = &event.contract else {
            continue;
        };
        let date = Date::from_unix_ms(event.time_ms);
        let Some(mut entry) = derive_entry(
            &event.event,
            contract,
            enterprise,
            rules,
            &event.tx_hash,
            event.index,
            date,
        ) else {
            continue;
        };
        if let Some(partner) = contract
            .parties()
            .into_iter()
            .find(|party| *party != enterprise)
        {
            entry.references.push(Reference {
                kind: COUNTERPARTY_REFERENCE.into(),
                value: partner.to_string(),
            });
        }
        entries.push(entry);
    }
    entries
}

fn read_cursor(path: &PathBuf) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
}

fn write_cursor(path: &PathBuf, height: u64) {
    // Written beside and renamed, so a crash leaves the old or the new cursor, never half of one.
    let temporary = path.with_extension("tmp");
    let result = std::fs::write(&temporary, format!("{height}\n"))
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(error) = result {
        tracing::warn!(%error, path = %path.display(), "cannot save the bookkeeping cursor");
    }
}

/// Is a refusal of `error` only because the entry is already booked?
fn is_duplicate(error: &TxError) -> bool {
    match error {
        TxError::Post(PostError::DuplicateId { .. }) => true,
        TxError::InBatch { source, .. } => is_duplicate(source),
        _ => false,
    }
}

/// Runs the bookkeeper until the task is aborted.
pub async fn run_bookkeeper<E: Clock>(
    context: E,
    consortium: ChainHandle,
    private: ChainHandle,
    config: BookkeeperConfig,
    handle: BookkeeperHandle,
) {
    let mut cursor = read_cursor(&config.cursor_path);
    let mut anchor_pending: Option<Digest> = None;
    handle.status.lock().expect("status lock").booked_through = cursor;
    let mut heights = consortium.subscribe();
    loop {
        let target = consortium.state().height.min(cursor + HEIGHTS_PER_PASS_MAX);
        if target > cursor {
            match book_through(&consortium, &private, &config, &handle, cursor, target) {
                Ok(booked) if booked > cursor => {
                    cursor = booked;
                    write_cursor(&config.cursor_path, cursor);
                    handle.status.lock().expect("status lock").booked_through = cursor;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "bookkeeping pass failed; retrying"),
            }
        }
        anchor(&consortium, &private, &config, &handle, &mut anchor_pending);
        let sleep = context.sleep(POLL_INTERVAL);
        futures::pin_mut!(sleep);
        let committed = heights.changed();
        futures::pin_mut!(committed);
        if let Either::Right((Err(_), sleep)) = futures::future::select(sleep, committed).await {
            // The consortium chain is shutting down: no more wake-ups, only the interval.
            sleep.await;
        }
    }
}

/// One pass over consortium heights `after+1..=through`: submits the derived entries not yet
/// committed on the private chain (nor waiting in its mempool) and returns the highest height
/// up to which every derived entry is committed. The cursor advances that far, so under steady
/// load, when the newest events are always still on their way, the next pass does not read
/// and look up everything since the last quiet moment again.
fn book_through(
    consortium: &ChainHandle,
    private: &ChainHandle,
    config: &BookkeeperConfig,
    handle: &BookkeeperHandle,
    after: u64,
    through: u64,
) -> Result<u64, tally_chain::StoreError> {
    let events = consortium.store().events(after + 1, through)?;
    let mut booked_through = through;
    let mut missing = Vec::new();
    for event in &events {
        for entry in derive_entries(
            std::slice::from_ref(event),
            &config.enterprise,
            &config.rules,
        ) {
            if private.entry(&entry.id)?.is_none() {
                booked_through = booked_through.min(event.height - 1);
                missing.push(entry);
            } else {
                // Committed since (by this node or another of the enterprise): no longer stuck.
                let mut status = handle.status.lock().expect("status lock");
                if !status.stuck.is_empty() {
                    status.stuck.remove(&entry.id);
                }
            }
        }
    }
    // Entries already waiting in the mempool (this pass's earlier submission) are not resent.
    let unsent: Vec<EntryDraft> = missing
        .into_iter()
        .filter(|entry| !private.is_pending(&entry.id))
        .collect();
    for chunk in unsent.chunks(BATCH_ENTRIES_MAX) {
        submit_chunk(private, config, handle, chunk.to_vec());
    }
    Ok(booked_through)
}

/// Submits derived entries as one batch; if the batch is refused, one by one, so a single entry
/// the chain refuses does not hold back the others.
fn submit_chunk(
    private: &ChainHandle,
    config: &BookkeeperConfig,
    handle: &BookkeeperHandle,
    entries: Vec<EntryDraft>,
) {
    let chain_id = private.chain_id().to_string();
    let count = entries.len() as u64;
    let batch = Transaction::Batch(SignedBatch::sign(&config.key, &chain_id, entries.clone()));
    match private.submit(batch) {
        Ok(_) => {
            let mut status = handle.status.lock().expect("status lock");
            status.submitted += count;
            for entry in &entries {
                status.stuck.remove(&entry.id);
            }
            return;
        }
        Err(SubmitError::Mempool(_)) => return,
        Err(_) => {}
    }
    for entry in entries {
        let id = entry.id.clone();
        let tx = Transaction::Single(SignedTx::sign(&config.key, &chain_id, TxBody::Post(entry)));
        let mut status = handle.status.lock().expect("status lock");
        match private.submit(tx) {
            Ok(_) => {
                status.submitted += 1;
                status.stuck.remove(&id);
            }
            Err(SubmitError::Rejected(error)) if is_duplicate(&error) => {
                status.stuck.remove(&id);
            }
            Err(SubmitError::Mempool(_)) => {}
            Err(error) => {
                // Retried on every pass: said once per reason, not ten times a second.
                let reason = error.to_string();
                if status.stuck.get(&id) != Some(&reason) {
                    tracing::warn!(entry = %id, %error, "derived entry refused by the private chain; retrying until it is accepted");
                }
                status.stuck.insert(id, reason);
            }
        }
    }
}

/// Commits the private chain's head to the consortium chain when it has moved on enough.
fn anchor(
    consortium: &ChainHandle,
    private: &ChainHandle,
    config: &BookkeeperConfig,
    handle: &BookkeeperHandle,
    pending: &mut Option<Digest>,
) {
    let Some(key) = &config.anchor_key else {
        return;
    };
    if config.anchor_every_blocks == 0 {
        return;
    }
    if let Some(hash) = pending {
        match consortium.outcome(hash) {
            Some(Outcome::Pending) => return,
            Some(Outcome::Rejected { reason }) => {
                tracing::warn!(%reason, "anchor refused by the consortium chain")
            }
            _ => {}
        }
        *pending = None;
    }
    let chain_id = private.chain_id().to_string();
    let last = consortium
        .state()
        .consortium
        .as_ref()
        .and_then(|state| {
            state
                .latest_anchor(&config.enterprise, &chain_id)
                .map(|anchor| anchor.height)
        })
        .unwrap_or(0);
    handle.status.lock().expect("status lock").anchored_height = last;
    let head = private.state();
    if head.height < last + config.anchor_every_blocks {
        return;
    }
    let call = ContractCall::Anchor {
        chain_id: chain_id.clone(),
        height: head.height,
        block_hash: head.tip,
    };
    let tx = Transaction::Single(SignedTx::sign(
        key,
        consortium.chain_id(),
        TxBody::Contract(call),
    ));
    match consortium.submit(tx) {
        Ok(receipt) => {
            *pending = Some(match receipt {
                tally_consensus::Receipt::Accepted { hash } => hash,
                tally_consensus::Receipt::AlreadyCommitted { hash, .. } => hash,
            })
        }
        Err(error) => tracing::warn!(%error, "cannot anchor the private chain"),
    }
}
