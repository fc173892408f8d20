//! The history of an entry: who signed it, when it became final, and every later entry that
//! reverses or adjusts it (and, in turn, what changed those), with authors and reasons.

use std::collections::{BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use tally_chain::{ChainState, CommittedEntry, Store, StoreError};
use tally_identity::PublicKey;
use tally_ledger::{EntryId, ADJUSTS_REFERENCE};
use utoipa::ToSchema;

use crate::wire::CommittedEntryJson;

/// Later entries one history lists at most; a longer chain of corrections is cut with a note.
pub const HISTORY_CHANGES_MAX: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuthorJson {
    pub key: String,
    pub name: String,
    pub role: String,
    pub department: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangeJson {
    /// "reversal" or "adjustment".
    pub kind: String,
    /// The entry this one changes (the original, or an earlier change).
    pub changes: String,
    pub entry: CommittedEntryJson,
    pub author: AuthorJson,
    /// The changing entry's description: why it was made.
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EntryHistoryJson {
    pub entry: CommittedEntryJson,
    pub author: AuthorJson,
    /// In the order they became final.
    pub changes: Vec<ChangeJson>,
    /// True when more than [`HISTORY_CHANGES_MAX`] changes exist and the list was cut.
    pub truncated: bool,
}

fn author(state: &ChainState, key: &PublicKey) -> AuthorJson {
    match state.members.get(key) {
        Some(record) => AuthorJson {
            key: key.to_string(),
            name: record.member.certificate.name.clone(),
            role: record.member.certificate.role.to_string(),
            department: record.member.certificate.department.clone(),
        },
        None => AuthorJson {
            key: key.to_string(),
            name: "(not a member)".into(),
            role: String::new(),
            department: String::new(),
        },
    }
}

/// The history of `id`, or `None` if no such entry is committed.
pub fn entry_history(
    store: &Store,
    state: &ChainState,
    id: &EntryId,
) -> Result<Option<EntryHistoryJson>, StoreError> {
    let Some(original) = store.entry(id)? else {
        return Ok(None);
    };
    let mut changes: Vec<(CommittedEntry, String)> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::from([id.as_str().to_string()]);
    let mut queue: VecDeque<String> = VecDeque::from([id.as_str().to_string()]);
    let mut truncated = false;
    'walk: while let Some(current) = queue.pop_front() {
        for linking in store.links_to(&current)? {
            if !seen.insert(linking.clone()) {
                continue;
            }
            if changes.len() == HISTORY_CHANGES_MAX {
                truncated = true;
                break 'walk;
            }
            let Some(entry) = store.entry(&EntryId::new(&linking).map_err(|error| {
                StoreError::Corrupt(format!("link to malformed id {linking}: {error}"))
            })?)?
            else {
                return Err(StoreError::Corrupt(format!(
                    "entry {linking} links to {current} but is not stored"
                )));
            };
            queue.push_back(linking);
            changes.push((entry, current.clone()));
        }
    }
    changes.sort_by_key(|(entry, _)| (entry.height, entry.tx_index, entry.item_index));
    let changes = changes
        .into_iter()
        .map(|(entry, changed)| {
            let kind = if entry.entry.reverses.as_ref().map(EntryId::as_str) == Some(&changed) {
                "reversal"
            } else {
                debug_assert!(entry
                    .entry
                    .references
                    .iter()
                    .any(|reference| reference.kind == ADJUSTS_REFERENCE));
                "adjustment"
            };
            ChangeJson {
                kind: kind.into(),
                changes: changed,
                author: author(state, &entry.signer),
                reason: entry.entry.description.clone(),
                entry: CommittedEntryJson::from_committed(&entry),
            }
        })
        .collect();
    Ok(Some(EntryHistoryJson {
        author: author(state, &original.signer),
        entry: CommittedEntryJson::from_committed(&original),
        changes,
        truncated,
    }))
}
