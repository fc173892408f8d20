//! Key epochs and reads of sealed fields: who may be granted a category, which epoch fields may
//! be sealed under after rotation, revocation and erasure, and how reads are recorded. Every
//! refusal is checked with its exact message, next to the case that passes.

mod common;

use tally_chain::{
    EpochStatus, KeyChange, KeyGrant, ReadRecord, SealingError, Store, Transaction, TxBody,
    TxError, READ_AGE_MAX_MS,
};
use tally_identity::{PublicKey, SecretKey};
use tally_ledger::{
    codes::*, Category, EntryDraft, FieldName, SealKey, Sealed, SealedField, SealedGroup,
    COMMITMENT_BYTES, ENCAPPED_KEY_BYTES, SEAL_NONCE_BYTES,
};

use common::*;

fn pii() -> Category {
    Category::customer_pii()
}

fn grant(member: &SecretKey) -> KeyGrant {
    KeyGrant {
        member: member.public_key(),
        encapped: [9; ENCAPPED_KEY_BYTES],
        wrapped: vec![5; 48],
    }
}

fn open_epoch(admin: &SecretKey, epoch: u32, readers: &[&SecretKey]) -> Transaction {
    single(
        admin,
        TxBody::Keys(KeyChange::OpenEpoch {
            category: pii(),
            epoch,
            public: [1; 32],
            grants: readers.iter().map(|key| grant(key)).collect(),
        }),
    )
}

fn keys(admin: &SecretKey, change: KeyChange) -> Transaction {
    single(admin, TxBody::Keys(change))
}

/// A sale whose customer's e-mail and zip are sealed together under `epoch` of customer-pii, as
/// entries are sealed now. The chain cannot check the cryptography, so the bytes are
/// placeholders of the right sizes.
fn sealed_sale(entry_id: &str, epoch: u32) -> EntryDraft {
    let mut entry = sealed_sale_one_by_one(entry_id, epoch);
    entry.sealed = Sealed::Groups(vec![SealedGroup {
        category: pii(),
        epoch,
        names: vec![
            FieldName::new("email").unwrap(),
            FieldName::new("zip").unwrap(),
        ],
        commitment: [2; COMMITMENT_BYTES],
        ciphertext: vec![4; 60],
    }]);
    entry
}

/// A sale whose customer's e-mail is sealed on its own, as entries were first sealed.
fn sealed_sale_one_by_one(entry_id: &str, epoch: u32) -> EntryDraft {
    let mut entry = simple(entry_id, ACCOUNTS_RECEIVABLE, SALES_REVENUE, 100);
    entry.sealed = Sealed::Fields(vec![SealedField {
        name: FieldName::new("email").unwrap(),
        category: pii(),
        epoch,
        commitment: [2; COMMITMENT_BYTES],
        nonce: [3; SEAL_NONCE_BYTES],
        ciphertext: vec![4; 60],
    }]);
    entry.seal_keys = vec![SealKey {
        category: pii(),
        epoch,
        encapped: [6; ENCAPPED_KEY_BYTES],
        wrapped: vec![7; 48],
    }];
    entry
}

fn read(reader: &SecretKey, entry: &str, at_ms: u64) -> Transaction {
    single(
        reader,
        TxBody::Read(ReadRecord {
            entry: id(entry),
            fields: vec![FieldName::new("email").unwrap()],
            at_ms,
        }),
    )
}

fn commit(store: &Store, time_ms: u64, candidates: Vec<Transaction>) {
    let parent = store.state().unwrap();
    let (block, executed) = build_all(&parent, store, time_ms, candidates);
    store.commit(&block, &executed).unwrap();
}

fn refused(store: &Store, time_ms: u64, tx: Transaction) -> TxError {
    let state = store.state().unwrap();
    let error = rejection(&state, store, time_ms, tx);
    // A refused transaction changes nothing.
    assert_eq!(store.state().unwrap().state_root(), state.state_root());
    error
}

fn member(key: &SecretKey) -> PublicKey {
    key.public_key()
}

#[test]
fn only_admins_open_epochs_and_only_readers_are_granted() {
    let fx = fixture();
    let store = Store::open_in_memory(&fx.genesis).unwrap();

    let error = refused(&store, T0 + 1, open_epoch(&fx.finance, 0, &[&fx.service]));
    assert_eq!(
        error.to_string(),
        "role 'finance' may not change keys (administrators do)"
    );
    // Finance does not read customer data by default.
    let error = refused(&store, T0 + 1, open_epoch(&fx.admin, 0, &[&fx.finance]));
    assert_eq!(
        error.to_string(),
        format!(
            "member {} (role finance) may not read customer-pii",
            member(&fx.finance)
        )
    );
    let error = refused(&store, T0 + 1, open_epoch(&fx.admin, 0, &[&fx.outsider]));
    assert_eq!(
        error.to_string(),
        format!(
            "member {} is not an active member of this chain",
            member(&fx.outsider)
        )
    );
    let error = refused(
        &store,
        T0 + 1,
        open_epoch(&fx.admin, 0, &[&fx.service, &fx.service]),
    );
    assert_eq!(
        error.to_string(),
        format!("member {} appears twice in the grants", member(&fx.service))
    );
    let error = refused(
        &store,
        T0 + 1,
        keys(
            &fx.admin,
            KeyChange::OpenEpoch {
                category: Category::new("payroll").unwrap(),
                epoch: 0,
                public: [1; 32],
                grants: Vec::new(),
            },
        ),
    );
    assert_eq!(
        error.to_string(),
        "unknown key category 'payroll' (this chain has: customer-pii, partner-banking)"
    );

    // Customer service reads customer data; an auditor reads what its grant says.
    commit(
        &store,
        T0 + 1,
        vec![open_epoch(&fx.admin, 0, &[&fx.service, &fx.auditor])],
    );
    // Grants are wrapped for one epoch number: opening "epoch 0" again is refused.
    let error = refused(&store, T0 + 2, open_epoch(&fx.admin, 0, &[&fx.service]));
    assert_eq!(
        error.to_string(),
        "customer-pii epoch 0 cannot open: the next epoch is 1"
    );
    let state = store.state().unwrap();
    let epoch = state.sealing.epoch(&pii(), 0).unwrap();
    assert_eq!(epoch.status, EpochStatus::Active);
    assert_eq!(epoch.grants.len(), 2);
    assert!(state
        .sealing
        .grant_of(&pii(), 0, &member(&fx.service))
        .is_ok());
    assert_eq!(
        state
            .sealing
            .grant_of(&pii(), 0, &member(&fx.sales))
            .unwrap_err()
            .to_string(),
        format!(
            "not authorised for customer-pii (epoch 0): no key grant for member {}",
            member(&fx.sales)
        )
    );

    // A second grant of the same epoch to the same member is refused; others are added.
    let error = refused(
        &store,
        T0 + 2,
        keys(
            &fx.admin,
            KeyChange::Grant {
                category: pii(),
                epoch: 0,
                grants: vec![grant(&fx.service)],
            },
        ),
    );
    assert_eq!(
        error.to_string(),
        format!(
            "member {} already holds customer-pii epoch 0",
            member(&fx.service)
        )
    );
}

#[test]
fn fields_are_sealed_only_under_the_active_epoch() {
    let fx = fixture();
    let store = Store::open_in_memory(&fx.genesis).unwrap();

    // Nothing can be sealed before an epoch is opened.
    let error = refused(&store, T0 + 1, post(&fx.sales, sealed_sale("s-0", 0)));
    assert_eq!(error.to_string(), "customer-pii has no epoch 0");

    commit(
        &store,
        T0 + 1,
        vec![open_epoch(&fx.admin, 0, &[&fx.service])],
    );
    // Sales seals customer data it cannot read: the epoch's public key is all it needs.
    commit(&store, T0 + 2, vec![post(&fx.sales, sealed_sale("s-1", 0))]);

    // Rotation: epoch 1 becomes active and epoch 0 stays readable but takes no new fields.
    commit(
        &store,
        T0 + 3,
        vec![open_epoch(&fx.admin, 1, &[&fx.service])],
    );
    let error = refused(&store, T0 + 4, post(&fx.sales, sealed_sale("s-2", 0)));
    assert_eq!(
        error.to_string(),
        "customer-pii epoch 0 is retired: seal under its current epoch 1"
    );
    commit(&store, T0 + 4, vec![post(&fx.sales, sealed_sale("s-2", 1))]);
    let state = store.state().unwrap();
    assert!(state
        .sealing
        .grant_of(&pii(), 0, &member(&fx.service))
        .is_ok());

    // Erasure: the epoch's grants are gone and it can never be used again.
    commit(
        &store,
        T0 + 5,
        vec![keys(
            &fx.admin,
            KeyChange::EraseEpoch {
                category: pii(),
                epoch: 0,
            },
        )],
    );
    let state = store.state().unwrap();
    let erased = state.sealing.epoch(&pii(), 0).unwrap();
    assert_eq!(erased.status, EpochStatus::Erased);
    assert!(erased.grants.is_empty());
    assert_eq!(
        state
            .sealing
            .grant_of(&pii(), 0, &member(&fx.service))
            .unwrap_err(),
        SealingError::Erased {
            category: pii(),
            epoch: 0
        }
    );
    let error = refused(&store, T0 + 6, post(&fx.sales, sealed_sale("s-3", 0)));
    assert_eq!(
        error.to_string(),
        "customer-pii epoch 0 was erased: its fields can no longer be read or written"
    );
    let error = refused(
        &store,
        T0 + 6,
        keys(
            &fx.admin,
            KeyChange::Grant {
                category: pii(),
                epoch: 0,
                grants: vec![grant(&fx.auditor)],
            },
        ),
    );
    assert_eq!(
        error.to_string(),
        "customer-pii epoch 0 was erased: its fields can no longer be read or written"
    );
    // The erased entry is still on the chain: the books do not change.
    assert!(store.entry(&id("s-1")).unwrap().is_some());
}

#[test]
fn a_revoked_reader_gets_no_later_epoch() {
    let fx = fixture();
    let store = Store::open_in_memory(&fx.genesis).unwrap();
    commit(
        &store,
        T0 + 1,
        vec![open_epoch(&fx.admin, 0, &[&fx.service, &fx.auditor])],
    );
    commit(
        &store,
        T0 + 2,
        vec![keys(
            &fx.admin,
            KeyChange::RevokeReader {
                category: pii(),
                member: member(&fx.auditor),
            },
        )],
    );
    // The epoch the revoked reader holds takes no new fields...
    let error = refused(&store, T0 + 3, post(&fx.sales, sealed_sale("s-1", 0)));
    assert_eq!(
        error.to_string(),
        "customer-pii has no open epoch: an administrator must open one first"
    );
    // ...and no later epoch may be granted to it.
    let error = refused(
        &store,
        T0 + 3,
        open_epoch(&fx.admin, 1, &[&fx.service, &fx.auditor]),
    );
    assert_eq!(
        error.to_string(),
        format!(
            "member {} was revoked from customer-pii",
            member(&fx.auditor)
        )
    );
    commit(
        &store,
        T0 + 3,
        vec![open_epoch(&fx.admin, 1, &[&fx.service])],
    );
    commit(&store, T0 + 4, vec![post(&fx.sales, sealed_sale("s-1", 1))]);

    // Revoking a member altogether retires the active epoch it holds, too.
    commit(
        &store,
        T0 + 5,
        vec![single(&fx.admin, TxBody::RevokeMember(member(&fx.service)))],
    );
    let state = store.state().unwrap();
    assert_eq!(
        state.sealing.epoch(&pii(), 1).unwrap().status,
        EpochStatus::Retired
    );
}

#[test]
fn reads_are_recorded_when_recent_and_of_committed_entries() {
    let fx = fixture();
    let store = Store::open_in_memory(&fx.genesis).unwrap();
    commit(
        &store,
        T0 + 1,
        vec![open_epoch(&fx.admin, 0, &[&fx.service])],
    );
    commit(&store, T0 + 2, vec![post(&fx.sales, sealed_sale("s-1", 0))]);

    let now = T0 + READ_AGE_MAX_MS;
    let error = refused(&store, now + 3, read(&fx.service, "nope", now));
    assert_eq!(
        error.to_string(),
        "the read of 'nope' names an entry that is not committed"
    );
    let error = refused(&store, now + 3, read(&fx.service, "s-1", 1));
    assert_eq!(
        error,
        TxError::ReadStale {
            at_ms: 1,
            block_ms: now + 3
        }
    );
    let before = store.state().unwrap().state_root();
    commit(&store, now + 3, vec![read(&fx.service, "s-1", now)]);
    let state = store.state().unwrap();
    assert_eq!(state.reads_logged, 1);
    assert_ne!(state.state_root(), before);
}

/// A sealed entry's fields are stored once, in its block: the entry index row keeps the rest of
/// the entry and, after it, where they lie; every read of the entry gets it whole. Rows of older
/// stores, which hold the fields themselves or have their location in a table of its own, still
/// read; a location that no longer fits the block, or a tail that is no location, is an error,
/// never other bytes taken for the fields.
#[test]
fn sealed_fields_are_stored_once_in_the_block_and_entries_read_whole() {
    use redb::ReadableTable;
    const SEALED_AT: redb::TableDefinition<&str, (u64, u32, u32)> =
        redb::TableDefinition::new("entry_sealed_at");
    const ENTRIES: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("entries");
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    let store = Store::open(&path, &fx.genesis).unwrap();
    commit(
        &store,
        T0 + 1,
        vec![open_epoch(&fx.admin, 0, &[&fx.service])],
    );
    // Sealed entries of every size, grouped and one by one, two with the same sealed bytes,
    // beside a plain one.
    let mut drafts: Vec<EntryDraft> = (0..40)
        .map(|n| {
            let id = format!("s-{n:02}");
            let ciphertext = vec![n as u8; 20 + n * 25];
            if n % 2 == 0 {
                let mut draft = sealed_sale(&id, 0);
                draft.sealed = Sealed::Groups(vec![SealedGroup {
                    ciphertext,
                    ..draft.sealed.groups()[0].clone()
                }]);
                draft
            } else {
                let mut draft = sealed_sale_one_by_one(&id, 0);
                draft.sealed = Sealed::Fields(vec![SealedField {
                    ciphertext,
                    ..draft.sealed.fields()[0].clone()
                }]);
                draft
            }
        })
        .collect();
    drafts[7].sealed = drafts[6].sealed.clone();
    drafts.push(simple("plain", ACCOUNTS_RECEIVABLE, SALES_REVENUE, 5));
    commit(&store, T0 + 2, vec![batch(&fx.sales, drafts.clone())]);
    // A reversal rewrites its original's index row; the fields stay where they are.
    commit(
        &store,
        T0 + 3,
        vec![post(&fx.sales, reversal("s-03-rev", &drafts[3]))],
    );

    for draft in &drafts {
        let stored = store.entry(&draft.id).unwrap().unwrap();
        assert_eq!(&stored.entry, draft, "{}", draft.id);
        let raw = store.raw_entry(draft.id.as_str()).unwrap().unwrap();
        let (row, tail): (tally_chain::CommittedEntry, &[u8]) =
            postcard::take_from_bytes(&raw).unwrap();
        assert!(row.entry.sealed.is_empty() && row.entry.seal_keys.is_empty());
        let located = !draft.sealed.is_empty();
        assert_eq!(tail.len(), if located { 16 } else { 0 }, "{}", draft.id);
        if located {
            assert_eq!(&tail[..8], &2u64.to_le_bytes(), "the block's height");
        }
        assert_eq!(
            store
                .reports()
                .unwrap()
                .entry(&draft.id)
                .unwrap()
                .unwrap()
                .entry,
            *draft
        );
    }
    assert_eq!(
        store.entry(&id("s-03")).unwrap().unwrap().reversed_by,
        Some(id("s-03-rev"))
    );
    let listed: Vec<EntryDraft> = store
        .entries_with_prefix("s-")
        .unwrap()
        .into_iter()
        .map(|committed| committed.entry)
        .filter(|entry| entry.reverses.is_none())
        .collect();
    assert_eq!(listed, drafts[..40]);
    let page = store
        .entries_in_log_order(None, &Default::default(), 100, 100)
        .unwrap();
    assert_eq!(page.entries[1].entry, drafts[1]);
    let whole = store.entry(&id("s-05")).unwrap().unwrap();
    let whole_08 = store.entry(&id("s-08")).unwrap().unwrap();
    drop(store);

    let db = redb::Database::open(&path).unwrap();
    let write = db.begin_write().unwrap();
    {
        let mut entries = write.open_table(ENTRIES).unwrap();
        let row = |entries: &redb::Table<&str, &[u8]>, id: &str| {
            entries.get(id).unwrap().unwrap().value().to_vec()
        };
        // The oldest stores' rows hold the fields and have no location.
        entries
            .insert("s-05", postcard::to_stdvec(&whole).unwrap().as_slice())
            .unwrap();
        // A location that points one byte off.
        let mut shifted = row(&entries, "s-06");
        let at = shifted.len() - 8;
        let offset = u32::from_le_bytes(shifted[at..at + 4].try_into().unwrap());
        shifted[at..at + 4].copy_from_slice(&(offset + 1).to_le_bytes());
        entries.insert("s-06", shifted.as_slice()).unwrap();
        // Stores of the version before keep the location in a table of its own.
        let mut moved = row(&entries, "s-08");
        let location = moved.split_off(moved.len() - 16);
        entries.insert("s-08", moved.as_slice()).unwrap();
        let mut sealed_at = write.open_table(SEALED_AT).unwrap();
        sealed_at
            .insert(
                "s-08",
                (
                    u64::from_le_bytes(location[..8].try_into().unwrap()),
                    u32::from_le_bytes(location[8..12].try_into().unwrap()),
                    u32::from_le_bytes(location[12..].try_into().unwrap()),
                ),
            )
            .unwrap();
        // A tail that is not a location.
        let mut junk = row(&entries, "s-09");
        junk.truncate(junk.len() - 13);
        entries.insert("s-09", junk.as_slice()).unwrap();
    }
    write.commit().unwrap();
    drop(db);
    let store = Store::open(&path, &fx.genesis).unwrap();
    assert_eq!(store.entry(&id("s-05")).unwrap().unwrap(), whole);
    assert_eq!(store.entry(&id("s-08")).unwrap().unwrap(), whole_08);
    let error = store.entry(&id("s-06")).unwrap_err().to_string();
    assert!(
        error.starts_with("stored data is corrupt: entry s-06: its sealed fields in block 2: "),
        "{error}"
    );
    let error = store.entry(&id("s-09")).unwrap_err().to_string();
    assert_eq!(
        error,
        "stored data is corrupt: entry s-09: 3 bytes past its end, not a location of sealed fields"
    );
}
