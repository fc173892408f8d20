//! The redb store of one chain on one node: finalized blocks, the entry index and a snapshot of
//! the state after the last finalized block, all written in one transaction per block.
//!
//! Invariant: the snapshot, the blocks and the entry index always describe the same height. A
//! crash at any moment leaves the previous block's complete state, because redb commits
//! atomically and durably (fsync) before the node acknowledges the block to consensus. On a
//! chain with validator-set epochs, the record of epoch `e + 1` is written in the transaction of
//! block `last(e)`, so the stored epochs always match the stored blocks.

use std::path::Path;
use std::sync::OnceLock;

use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use tally_ledger::{AccountCode, Date, EntryId, EntryLookup, KnownEntry};

use crate::{
    block::Block,
    consortium::ChainEvent,
    epochs::{genesis_epoch, EpochRecord, EpochSchedule},
    genesis::Genesis,
    report_index::ReportReader,
    state::{ChainState, CommittedEntry, Executed},
    tx::SealedSpan,
};

/// A text key stored exactly as redb stores `&str` (same bytes, same type name, so existing
/// tables open unchanged) but compared as bytes. redb's `&str` key checks both sides are UTF-8
/// on every comparison of a B-tree search: 3-7% of all CPU in the ingest and trade benchmarks.
/// Byte order is the order of `str` (whose `Ord` compares the bytes), so the trees stay sorted
/// as they were written. Reading a key back still checks it.
#[derive(Debug)]
pub(crate) struct Text;

impl redb::Value for Text {
    type SelfType<'a>
        = &'a str
    where
        Self: 'a;
    type AsBytes<'a>
        = &'a str
    where
        Self: 'a;

    fn fixed_width() -> Option<usize> {
        None
    }

    fn from_bytes<'a>(data: &'a [u8]) -> &'a str
    where
        Self: 'a,
    {
        <&str as redb::Value>::from_bytes(data)
    }

    fn as_bytes<'a, 'b: 'a>(value: &'a &'b str) -> &'a str
    where
        Self: 'b,
    {
        value
    }

    fn type_name() -> redb::TypeName {
        <&str as redb::Value>::type_name()
    }
}

impl redb::Key for Text {
    fn compare(data1: &[u8], data2: &[u8]) -> std::cmp::Ordering {
        data1.cmp(data2)
    }
}

const META: TableDefinition<Text, &[u8]> = TableDefinition::new("meta");

/// Blocks by (height, chunk): each block's canonical bytes cut into [`BLOCK_CHUNK_BYTES`] pieces.
///
/// redb keeps a value in one page whose size is a power of two, allocated zeroed and written
/// whole. A block of 2 MiB and a few bytes took a 4 MiB page, so every byte of a full block was
/// zeroed, copied and written about twice; in pieces that each fill a 64 KiB page, once.
const BLOCK_CHUNKS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("block_chunks");

/// Bytes of one piece of a stored block: a 64 KiB page less room for redb's leaf header and key.
pub const BLOCK_CHUNK_BYTES: usize = 64 * 1024 - 256;

/// Blocks whole by height, as stores written before [`BLOCK_CHUNKS`] hold them. Read, and
/// removed when a block is replaced, never written.
const LEGACY_BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
pub(crate) const ENTRIES: TableDefinition<Text, &[u8]> = TableDefinition::new("entries");
/// Where the sealed fields of entries indexed without them lie in their block: (height, offset,
/// length) of the encoded `(sealed, seal_keys)` in the block's canonical bytes, for rows written
/// before the location moved into the row itself (see [`SEALED_LOCATION_BYTES`]). Read only: a
/// second B-tree insert per sealed entry cost the commit more than a tenth of what sealing costs
/// it.
const ENTRY_SEALED: TableDefinition<Text, (u64, u32, u32)> =
    TableDefinition::new("entry_sealed_at");
/// Finalization certificates by height, in the consensus engine's encoding (opaque here). A block
/// finalized only through a descendant's certificate has none of its own.
const CERTIFICATES: TableDefinition<u64, &[u8]> = TableDefinition::new("certificates");
/// Contract events of the consortium chain by (height, position in the block).
const EVENTS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("events");

/// The entry log's order: log index to entry id, so entries can be listed in commit order
/// (height, then position) without loading the index keyed by id.
const LOG_ORDER: TableDefinition<u64, &str> = TableDefinition::new("log_order");

/// Links from an entry to the later entries that reverse or adjust it: (linked id, linking id).
const LINKS: TableDefinition<(Text, Text), ()> = TableDefinition::new("links");

/// The consortium's history, kept out of the state snapshot (see `tally_contracts::history`):
/// contracts by id, each contract's sealed terms, and each enterprise chain's anchors by position.
/// Keys are the postcard encoding of the ids, values of the items.
const CONTRACTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("consortium_contracts");
const SEALED_TERMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("consortium_sealed");
const ANCHORS: TableDefinition<(&[u8], u64), &[u8]> = TableDefinition::new("consortium_anchors");

/// The validator-set epochs after epoch 0 by number (see the `epochs` module), each the postcard
/// encoding of its [`EpochRecord`]. Epoch 0 comes from the genesis. Written only on chains whose
/// genesis sets `epoch_blocks`.
const EPOCHS: TableDefinition<u64, &[u8]> = TableDefinition::new("epochs");
/// Per epoch after the first, the legacy state root of the boundary block that started it (see
/// [`Store::epoch_legacy_root`]), written with the epoch's record.
const EPOCH_LEGACY_ROOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("epoch_legacy_roots");

const STATE_KEY: &str = "state";
const GENESIS_KEY: &str = "genesis";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Storage(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the data directory belongs to chain '{found}', not '{expected}'")]
    WrongChain { expected: String, found: String },
    #[error("genesis: {0}")]
    Genesis(#[from] crate::genesis::GenesisError),
    #[error("block {got} does not follow the stored height {stored}")]
    OutOfOrder { got: u64, stored: u64 },
}

/// The bytes of the state snapshot: the state without the consortium's history, which the
/// history tables hold. A restarted node resumes from the two together.
pub fn snapshot_bytes(state: &ChainState) -> Vec<u8> {
    match &state.consortium {
        None => encode(state),
        Some(consortium) => {
            let mut light = state.clone();
            light.consortium = Some(consortium.without_history());
            encode(&light)
        }
    }
}

/// The state snapshot as stored (on the consortium chain without its history), if any.
fn read_snapshot(read: &redb::ReadTransaction) -> Result<Option<ChainState>, StoreError> {
    let meta = read.open_table(META).map_err(storage)?;
    let Some(bytes) = meta.get(STATE_KEY).map_err(storage)? else {
        return Ok(None);
    };
    postcard::from_bytes(bytes.value())
        .map(Some)
        .map_err(|error| StoreError::Corrupt(format!("state snapshot: {error}")))
}

fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("serialising to a Vec cannot fail")
}

/// Writes one block's changes to the consortium's history tables.
fn write_history(
    write: &redb::WriteTransaction,
    changes: &tally_contracts::HistoryChanges,
) -> Result<(), StoreError> {
    let mut contracts = write.open_table(CONTRACTS).map_err(storage)?;
    for (id, contract) in &changes.contracts {
        let key = encode(id);
        match contract {
            Some(contract) => contracts
                .insert(key.as_slice(), encode(&**contract).as_slice())
                .map(|_| ()),
            None => contracts.remove(key.as_slice()).map(|_| ()),
        }
        .map_err(storage)?;
    }
    let mut sealed = write.open_table(SEALED_TERMS).map_err(storage)?;
    for (id, terms) in &changes.sealed {
        let key = encode(id);
        match terms {
            Some(terms) => {
                let terms: Vec<&tally_contracts::SealedTerms> =
                    terms.iter().map(|t| &**t).collect();
                sealed
                    .insert(key.as_slice(), encode(&terms).as_slice())
                    .map(|_| ())
            }
            None => sealed.remove(key.as_slice()).map(|_| ()),
        }
        .map_err(storage)?;
    }
    let mut anchors = write.open_table(ANCHORS).map_err(storage)?;
    for change in &changes.anchors {
        let key = encode(&(&change.enterprise, &change.chain_id));
        for (offset, anchor) in change.anchors.iter().enumerate() {
            anchors
                .insert(
                    (key.as_slice(), change.from + offset as u64),
                    encode(anchor).as_slice(),
                )
                .map_err(storage)?;
        }
        for position in change.from + change.anchors.len() as u64..change.len_before {
            anchors
                .remove((key.as_slice(), position))
                .map_err(storage)?;
        }
    }
    Ok(())
}

/// Loads the consortium's history tables into a consortium read from the snapshot.
fn read_history(
    read: &redb::ReadTransaction,
    consortium: &mut tally_contracts::Consortium,
) -> Result<(), StoreError> {
    fn decode<T: serde::de::DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
        postcard::from_bytes(bytes).map_err(|error| StoreError::Corrupt(format!("{what}: {error}")))
    }
    if let Some(contracts) = open_optional(read, CONTRACTS)? {
        for item in contracts.iter().map_err(storage)? {
            let (key, value) = item.map_err(storage)?;
            consortium.restore_contract(
                decode("contract id", key.value())?,
                decode("contract", value.value())?,
            );
        }
    }
    if let Some(sealed) = open_optional(read, SEALED_TERMS)? {
        for item in sealed.iter().map_err(storage)? {
            let (key, value) = item.map_err(storage)?;
            consortium.restore_sealed(
                decode("contract id", key.value())?,
                decode("sealed terms", value.value())?,
            );
        }
    }
    if let Some(anchors) = open_optional(read, ANCHORS)? {
        // Keys sort by chain, then position: each chain's anchors come oldest first.
        for item in anchors.iter().map_err(storage)? {
            let (key, value) = item.map_err(storage)?;
            let (chain, _) = key.value();
            let (enterprise, chain_id): (tally_contracts::EnterpriseName, String) =
                decode("anchor key", chain)?;
            consortium.restore_anchor(enterprise, chain_id, decode("anchor", value.value())?);
        }
    }
    Ok(())
}

/// Writes a block's bytes as chunks under `height`.
fn write_block(
    write: &redb::WriteTransaction,
    height: u64,
    bytes: &[u8],
) -> Result<(), StoreError> {
    let mut chunks = write.open_table(BLOCK_CHUNKS).map_err(storage)?;
    for (index, chunk) in bytes.chunks(BLOCK_CHUNK_BYTES).enumerate() {
        let index = u32::try_from(index).expect("a block has far fewer than 2^32 chunks");
        chunks.insert((height, index), chunk).map_err(storage)?;
    }
    Ok(())
}

/// The stored bytes of the block at `height`: its chunks joined, or the whole block of an older
/// store.
fn read_block(read: &redb::ReadTransaction, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
    if let Some(chunks) = open_optional(read, BLOCK_CHUNKS)? {
        let mut bytes = Vec::new();
        let mut found = false;
        for item in chunks
            .range((height, 0)..=(height, u32::MAX))
            .map_err(storage)?
        {
            let (_, chunk) = item.map_err(storage)?;
            bytes.extend_from_slice(chunk.value());
            found = true;
        }
        if found {
            return Ok(Some(bytes));
        }
    }
    let Some(legacy) = open_optional(read, LEGACY_BLOCKS)? else {
        return Ok(None);
    };
    let value = legacy.get(height).map_err(storage)?;
    Ok(value.map(|bytes| bytes.value().to_vec()))
}

/// `length` bytes at `offset` in the block at `height`, read from the chunks holding them.
fn read_block_range(
    chunks: &redb::ReadOnlyTable<(u64, u32), &[u8]>,
    height: u64,
    offset: usize,
    length: usize,
) -> Result<Option<Vec<u8>>, StoreError> {
    let end = offset + length;
    let first = offset / BLOCK_CHUNK_BYTES;
    let last = end.saturating_sub(1) / BLOCK_CHUNK_BYTES;
    let (Ok(first), Ok(last)) = (u32::try_from(first), u32::try_from(last)) else {
        return Ok(None);
    };
    let mut bytes = Vec::with_capacity(length);
    let mut at = first as usize * BLOCK_CHUNK_BYTES;
    for item in chunks
        .range((height, first)..=(height, last))
        .map_err(storage)?
    {
        let (_, chunk) = item.map_err(storage)?;
        let chunk = chunk.value();
        let from = offset.saturating_sub(at).min(chunk.len());
        let to = end.saturating_sub(at).min(chunk.len());
        bytes.extend_from_slice(&chunk[from..to]);
        at += chunk.len();
    }
    Ok((bytes.len() == length).then_some(bytes))
}

/// Bytes of the location that ends the [`ENTRIES`] row of an entry indexed without its sealed
/// fields: the block's height (u64), then the offset and the length of the fields' encoding in
/// the block's bytes (u32 each), little-endian, after the entry's postcard encoding.
///
/// An entry with sealed fields is indexed without them, and they are read from the block when
/// the entry is: they are most of its bytes (a sealed order: 350 bytes, the same order without
/// its customer fields: about 70), and the block already keeps them. Rows without a location
/// hold their entry whole (entries without sealed fields, and older stores' rows), or have their
/// location in [`ENTRY_SEALED`].
const SEALED_LOCATION_BYTES: usize = 16;

/// `row` with the location of its entry's sealed fields appended.
fn append_location(row: &mut Vec<u8>, (height, offset, length): (u64, u32, u32)) {
    row.extend_from_slice(&height.to_le_bytes());
    row.extend_from_slice(&offset.to_le_bytes());
    row.extend_from_slice(&length.to_le_bytes());
}

/// The location a row's tail holds, if it is one.
fn parse_location(tail: &[u8]) -> Option<(u64, u32, u32)> {
    let tail: &[u8; SEALED_LOCATION_BYTES] = tail.try_into().ok()?;
    let (height, rest) = tail.split_at(8);
    let (offset, length) = rest.split_at(4);
    Some((
        u64::from_le_bytes(height.try_into().ok()?),
        u32::from_le_bytes(offset.try_into().ok()?),
        u32::from_le_bytes(length.try_into().ok()?),
    ))
}

/// The location in `block` of sealed fields at `span` of its transactions' encoding (see
/// [`Executed::sealed_at`]). The transactions end the block, so they start `tx_bytes` before its
/// end.
fn sealed_location(
    block: &Block,
    executed: &Executed,
    (offset, len): SealedSpan,
) -> Result<(u64, u32, u32), StoreError> {
    let bytes = block.bytes();
    let start = bytes
        .len()
        .checked_sub(executed.tx_bytes)
        .and_then(|first_tx| first_tx.checked_add(offset))
        .filter(|start| start.checked_add(len).is_some_and(|end| end <= bytes.len()));
    let location = start.and_then(|start| {
        Some((
            block.height(),
            u32::try_from(start).ok()?,
            u32::try_from(len).ok()?,
        ))
    });
    location.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "block {}: sealed fields at {offset}+{len} of {} transaction bytes lie outside its {} bytes",
            block.height(),
            executed.tx_bytes,
            bytes.len()
        ))
    })
}

/// Reads committed entries whole in one read transaction: the index row, and the sealed fields
/// from the block when the row was stored without them.
pub(crate) struct EntryReader {
    entries: redb::ReadOnlyTable<Text, &'static [u8]>,
    sealed_at: Option<redb::ReadOnlyTable<Text, (u64, u32, u32)>>,
    chunks: Option<redb::ReadOnlyTable<(u64, u32), &'static [u8]>>,
}

impl EntryReader {
    pub(crate) fn new(read: &redb::ReadTransaction) -> Result<EntryReader, StoreError> {
        Ok(EntryReader {
            entries: read.open_table(ENTRIES).map_err(storage)?,
            sealed_at: open_optional(read, ENTRY_SEALED)?,
            chunks: open_optional(read, BLOCK_CHUNKS)?,
        })
    }

    pub(crate) fn entries(&self) -> &redb::ReadOnlyTable<Text, &'static [u8]> {
        &self.entries
    }

    /// The entry with this id, whole.
    pub(crate) fn get(&self, id: &str) -> Result<Option<CommittedEntry>, StoreError> {
        let Some(bytes) = self.entries.get(id).map_err(storage)? else {
            return Ok(None);
        };
        self.decode(id, bytes.value()).map(Some)
    }

    /// Decodes the index row of entry `id` and completes it with its sealed fields.
    pub(crate) fn decode(&self, id: &str, row: &[u8]) -> Result<CommittedEntry, StoreError> {
        let (mut committed, tail): (CommittedEntry, &[u8]) = postcard::take_from_bytes(row)
            .map_err(|error| StoreError::Corrupt(format!("entry {id}: {error}")))?;
        let location = if tail.is_empty() {
            match &self.sealed_at {
                Some(sealed_at) => sealed_at.get(id).map_err(storage)?.map(|at| at.value()),
                None => None,
            }
        } else {
            Some(parse_location(tail).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "entry {id}: {} bytes past its end, not a location of sealed fields",
                    tail.len()
                ))
            })?)
        };
        let Some((height, offset, length)) = location else {
            return Ok(committed);
        };
        let bytes = match &self.chunks {
            Some(chunks) => read_block_range(chunks, height, offset as usize, length as usize)?,
            None => None,
        }
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "entry {id}: its sealed fields lie beyond block {height}"
            ))
        })?;
        let sealed_error = |reason: String| {
            StoreError::Corrupt(format!(
                "entry {id}: its sealed fields in block {height}: {reason}"
            ))
        };
        let (part, rest) = postcard::take_from_bytes::<tally_ledger::SealedPart>(&bytes)
            .map_err(|error| sealed_error(error.to_string()))?;
        if !rest.is_empty() {
            return Err(sealed_error(format!("{} bytes past their end", rest.len())));
        }
        committed.entry.sealed = part.fields;
        committed.entry.seal_keys = part.keys;
        Ok(committed)
    }
}

/// The height of the last block an older store holds whole, if any.
fn last_legacy_height(read: &redb::ReadTransaction) -> Result<Option<u64>, StoreError> {
    let Some(legacy) = open_optional(read, LEGACY_BLOCKS)? else {
        return Ok(None);
    };
    let last = legacy.last().map_err(storage)?;
    Ok(last.map(|(height, _)| height.value()))
}

/// The stored record of `epoch`, checked to be that epoch's.
fn decode_epoch(epoch: u64, bytes: &[u8]) -> Result<EpochRecord, StoreError> {
    let record: EpochRecord = postcard::from_bytes(bytes)
        .map_err(|error| StoreError::Corrupt(format!("record of epoch {epoch}: {error}")))?;
    if record.epoch != epoch {
        return Err(StoreError::Corrupt(format!(
            "the record of epoch {epoch} names epoch {}",
            record.epoch
        )));
    }
    Ok(record)
}

/// The genesis stored under [`GENESIS_KEY`], in either of its layouts.
fn decode_genesis(bytes: &[u8]) -> Result<Genesis, StoreError> {
    Genesis::from_stored_bytes(bytes)
        .map_err(|error| StoreError::Corrupt(format!("genesis: {error}")))
}

fn storage<E: std::fmt::Display>(error: E) -> StoreError {
    StoreError::Storage(error.to_string())
}

/// Opens a table that a store may not have yet (tables are created by their first write).
fn open_optional<K: redb::Key + 'static, V: redb::Value + 'static>(
    read: &redb::ReadTransaction,
    table: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, StoreError> {
    match read.open_table(table) {
        Ok(table) => Ok(Some(table)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(error) => Err(storage(error)),
    }
}

pub struct Store {
    db: Database,
    /// The last height an older store holds whole in [`LEGACY_BLOCKS`]: fixed once the store is
    /// open, because new blocks are written in chunks only.
    legacy_tip: Option<u64>,
    /// The chain's genesis, as the store holds it.
    genesis: Genesis,
    /// How the chain's heights are cut into validator-set epochs.
    schedule: EpochSchedule,
    /// The record of epoch 0, once computed (it executes the genesis).
    genesis_epoch: OnceLock<EpochRecord>,
}

impl Store {
    /// Opens the store, creating it from the genesis on first use.
    pub fn open(path: &Path, genesis: &Genesis) -> Result<Store, StoreError> {
        let db = Database::create(path).map_err(storage)?;
        Store::init(db, genesis)
    }

    /// A store that lives in memory only, for simulations.
    pub fn open_in_memory(genesis: &Genesis) -> Result<Store, StoreError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(storage)?;
        Store::init(db, genesis)
    }

    /// A store of the chain of `genesis` over an open database, with the tip of its whole-block
    /// table read.
    fn over(db: Database, genesis: Genesis) -> Result<Store, StoreError> {
        let legacy_tip = last_legacy_height(&db.begin_read().map_err(storage)?)?;
        Ok(Store {
            db,
            legacy_tip,
            schedule: EpochSchedule::of(&genesis),
            genesis,
            genesis_epoch: OnceLock::new(),
        })
    }

    /// The height of the last stored block, in either layout, as `write` sees it.
    fn last_height(&self, write: &redb::WriteTransaction) -> Result<Option<u64>, StoreError> {
        let chunks = write.open_table(BLOCK_CHUNKS).map_err(storage)?;
        let chunked = chunks
            .last()
            .map_err(storage)?
            .map(|(key, _)| key.value().0);
        Ok(chunked.max(self.legacy_tip))
    }

    fn init(db: Database, genesis: &Genesis) -> Result<Store, StoreError> {
        let store = Store::over(db, genesis.clone())?;
        let existing = {
            let read = store.db.begin_read().map_err(storage)?;
            match read.open_table(META) {
                Ok(table) => table
                    .get(GENESIS_KEY)
                    .map_err(storage)?
                    .map(|value| value.value().to_vec()),
                Err(redb::TableError::TableDoesNotExist(_)) => None,
                Err(error) => return Err(storage(error)),
            }
        };
        match existing {
            Some(bytes) => {
                let stored = decode_genesis(&bytes)?;
                if stored != *genesis {
                    return Err(StoreError::WrongChain {
                        expected: genesis.chain_id.clone(),
                        found: stored.chain_id,
                    });
                }
                store.index_log_order()?;
                store.move_postings_into_runs()?;
                if genesis.consortium.is_some() {
                    store.move_history_out_of_the_snapshot()?;
                }
            }
            None => {
                let state = genesis.initial_state()?;
                let block = genesis.block()?;
                let write = store.db.begin_write().map_err(storage)?;
                {
                    let mut meta = write.open_table(META).map_err(storage)?;
                    let genesis_bytes = postcard::to_stdvec(genesis).expect("serialise");
                    meta.insert(GENESIS_KEY, genesis_bytes.as_slice())
                        .map_err(storage)?;
                    meta.insert(STATE_KEY, snapshot_bytes(&state).as_slice())
                        .map_err(storage)?;
                    if let Some(consortium) = &state.consortium {
                        write_history(&write, &consortium.history_changes(None))?;
                    }
                    write_block(&write, 0, block.bytes())?;
                    write.open_table(ENTRIES).map_err(storage)?;
                    write.open_table(LOG_ORDER).map_err(storage)?;
                }
                write.commit().map_err(storage)?;
            }
        }
        Ok(store)
    }

    /// The state after the last committed block.
    pub fn state(&self) -> Result<ChainState, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let mut state =
            read_snapshot(&read)?.ok_or_else(|| StoreError::Corrupt("no state snapshot".into()))?;
        if let Some(consortium) = &mut state.consortium {
            read_history(&read, consortium)?;
        }
        // Not in the snapshot: the chain's genesis says it.
        state.epochs_enabled = self.schedule.is_enabled();
        Ok(state)
    }

    /// Stores written before the consortium's history had tables of its own kept it in the
    /// snapshot: moves it into the tables, once.
    fn move_history_out_of_the_snapshot(&self) -> Result<(), StoreError> {
        let state = {
            let read = self.db.begin_read().map_err(storage)?;
            if open_optional(&read, CONTRACTS)?.is_some() {
                return Ok(());
            }
            let Some(state) = read_snapshot(&read)? else {
                return Ok(());
            };
            state
        };
        let Some(consortium) = &state.consortium else {
            return Ok(());
        };
        let write = self.db.begin_write().map_err(storage)?;
        write_history(&write, &consortium.history_changes(None))?;
        write
            .open_table(META)
            .map_err(storage)?
            .insert(STATE_KEY, snapshot_bytes(&state).as_slice())
            .map_err(storage)?;
        write.commit().map_err(storage)
    }

    /// Commits a finalized block and everything it changed, atomically and durably.
    pub fn commit(&self, block: &Block, executed: &Executed) -> Result<(), StoreError> {
        self.commit_certified(block, executed, None)
    }

    /// [`Self::commit`] together with the block's finalization certificate, if it has its own.
    pub fn commit_certified(
        &self,
        block: &Block,
        executed: &Executed,
        certificate: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let write = self.db.begin_write().map_err(storage)?;
        {
            let mut certificates = write.open_table(CERTIFICATES).map_err(storage)?;
            if let Some(certificate) = certificate {
                certificates
                    .insert(block.height(), certificate)
                    .map_err(storage)?;
            }
            if let Some(last) = self.last_height(&write)? {
                if last + 1 != block.height() {
                    return Err(StoreError::OutOfOrder {
                        got: block.height(),
                        stored: last,
                    });
                }
            }
            write_block(&write, block.height(), block.bytes())?;
            let mut entries = write.open_table(ENTRIES).map_err(storage)?;
            let mut row = Vec::new();
            for (committed, sealed) in executed.entries.iter().zip(&executed.sealed_at) {
                row.clear();
                row = postcard::to_extend(committed, row).expect("serialise");
                if let Some(span) = sealed {
                    append_location(&mut row, sealed_location(block, executed, *span)?);
                }
                entries
                    .insert(committed.entry.id.as_str(), row.as_slice())
                    .map_err(storage)?;
            }
            let mut log_order = write.open_table(LOG_ORDER).map_err(storage)?;
            for committed in &executed.entries {
                log_order
                    .insert(committed.log_index, committed.entry.id.as_str())
                    .map_err(storage)?;
            }
            let mut links = write.open_table(LINKS).map_err(storage)?;
            for committed in &executed.entries {
                for linked in crate::state::linked_ids(&committed.entry) {
                    links
                        .insert((linked, committed.entry.id.as_str()), ())
                        .map_err(storage)?;
                }
            }
            for (original, reversal) in &executed.reversals {
                // The row's tail (the location of sealed fields, if any) is kept as it is.
                let (mut committed, tail): (CommittedEntry, Vec<u8>) = {
                    let bytes = entries
                        .get(original.as_str())
                        .map_err(storage)?
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!("reversed entry {original} missing"))
                        })?;
                    let (committed, tail) =
                        postcard::take_from_bytes(bytes.value()).map_err(|error| {
                            StoreError::Corrupt(format!("entry {original}: {error}"))
                        })?;
                    (committed, <[u8]>::to_vec(tail))
                };
                committed.reversed_by = Some(reversal.clone());
                let mut bytes = postcard::to_stdvec(&committed).expect("serialise");
                bytes.extend_from_slice(&tail);
                entries
                    .insert(original.as_str(), bytes.as_slice())
                    .map_err(storage)?;
            }
            if !executed.events.is_empty() {
                let mut events = write.open_table(EVENTS).map_err(storage)?;
                for (position, event) in executed.events.iter().enumerate() {
                    let bytes = postcard::to_stdvec(event).expect("serialise");
                    events
                        .insert((block.height(), position as u32), bytes.as_slice())
                        .map_err(storage)?;
                }
            }
            let mut meta = write.open_table(META).map_err(storage)?;
            meta.insert(STATE_KEY, snapshot_bytes(&executed.state).as_slice())
                .map_err(storage)?;
        }
        if !executed.history.is_empty() {
            write_history(&write, &executed.history)?;
        }
        crate::report_index::index_block(&write, block.height(), executed)?;
        self.write_next_epoch(&write, block, executed)?;
        write.commit().map_err(storage)
    }

    /// When `block` is the last of its epoch on a chain with epochs, writes the record of the
    /// next epoch in the block's transaction: it starts after `block`, from `block`'s digest,
    /// with the validators the state after `block` names, or the current epoch's when it names
    /// none (see [`ChainState::next_validators`]).
    fn write_next_epoch(
        &self,
        write: &redb::WriteTransaction,
        block: &Block,
        executed: &Executed,
    ) -> Result<(), StoreError> {
        let height = block.height();
        if !self.schedule.is_enabled() || !self.schedule.is_last(height) {
            return Ok(());
        }
        let epoch = self.schedule.epoch_of(height);
        let current = EpochRecord {
            epoch,
            first_height: self.schedule.first(epoch),
            boundary: [0; 32],
            validators: self.validators_of(write, epoch)?,
        };
        let Some(record) = EpochRecord::after(&self.schedule, &current, block, &executed.state)
        else {
            return Ok(());
        };
        write
            .open_table(EPOCHS)
            .map_err(storage)?
            .insert(record.epoch, encode(&record).as_slice())
            .map_err(storage)?;
        write
            .open_table(EPOCH_LEGACY_ROOTS)
            .map_err(storage)?
            .insert(record.epoch, executed.state.legacy_state_root().as_slice())
            .map_err(storage)?;
        Ok(())
    }

    /// The legacy state root ([`ChainState::legacy_state_root`]) of the state block
    /// `last(epoch - 1)` committed, stored with the record of `epoch`: with the list the state
    /// names, it opens that block's `state_root` (see `crate::epoch_state_root`), which a light
    /// proof needs. `None` for epoch 0 and for an epoch the store has not entered.
    pub fn epoch_legacy_root(&self, epoch: u64) -> Result<Option<[u8; 32]>, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let Some(table) = open_optional(&read, EPOCH_LEGACY_ROOTS)? else {
            return Ok(None);
        };
        let Some(bytes) = table.get(epoch).map_err(storage)? else {
            return Ok(None);
        };
        bytes.value().try_into().map(Some).map_err(|_| {
            StoreError::Corrupt(format!(
                "the legacy state root of epoch {epoch} is not 32 bytes"
            ))
        })
    }

    /// The validators of `epoch` as `write` sees them: the genesis's for epoch 0, the stored
    /// record's after it.
    fn validators_of(
        &self,
        write: &redb::WriteTransaction,
        epoch: u64,
    ) -> Result<Vec<[u8; 32]>, StoreError> {
        if epoch == 0 {
            return Ok(self.genesis.validator_keys()?);
        }
        let epochs = write.open_table(EPOCHS).map_err(storage)?;
        let bytes = epochs
            .get(epoch)
            .map_err(storage)?
            .ok_or_else(|| StoreError::Corrupt(format!("no record of epoch {epoch}")))?;
        let record = decode_epoch(epoch, bytes.value())?;
        Ok(record.validators)
    }

    /// How the chain's heights are cut into validator-set epochs.
    pub fn epoch_schedule(&self) -> EpochSchedule {
        self.schedule
    }

    /// Every epoch the store knows, in order: epoch 0 from the genesis, then one record per
    /// committed epoch boundary. A chain without epochs has epoch 0 only.
    pub fn epochs(&self) -> Result<Vec<EpochRecord>, StoreError> {
        let first = match self.genesis_epoch.get() {
            Some(record) => record.clone(),
            None => {
                let record = genesis_epoch(&self.genesis)?;
                self.genesis_epoch.get_or_init(|| record).clone()
            }
        };
        let mut epochs = vec![first];
        let read = self.db.begin_read().map_err(storage)?;
        if let Some(table) = open_optional(&read, EPOCHS)? {
            for item in table.iter().map_err(storage)? {
                let (key, value) = item.map_err(storage)?;
                epochs.push(decode_epoch(key.value(), value.value())?);
            }
        }
        Ok(epochs)
    }

    /// A consistent view of the report index (see the `report_index` module).
    pub fn reports(&self) -> Result<ReportReader, StoreError> {
        Ok(ReportReader::new(self.db.begin_read().map_err(storage)?))
    }

    pub fn entry(&self, id: &EntryId) -> Result<Option<CommittedEntry>, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        EntryReader::new(&read)?.get(id.as_str())
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let Some(bytes) = read_block(&read, height)? else {
            return Ok(None);
        };
        Block::decode_checked(&bytes)
            .map(Some)
            .map_err(|error| StoreError::Corrupt(format!("block {height}: {error}")))
    }

    /// Overwrites the stored block at `height` with a good copy, after a damaged one was found.
    /// Only the block's bytes change: the caller has checked `block` against the digest the
    /// chain committed to (certificate or child's parent link).
    pub fn replace_block(&self, height: u64, block: &Block) -> Result<(), StoreError> {
        if block.height() != height {
            return Err(StoreError::Corrupt(format!(
                "replacement for block {height} is block {}",
                block.height()
            )));
        }
        let write = self.db.begin_write().map_err(storage)?;
        {
            let mut chunks = write.open_table(BLOCK_CHUNKS).map_err(storage)?;
            let removed = chunks
                .extract_from_if((height, 0)..=(height, u32::MAX), |_, _| true)
                .map_err(storage)?
                .count();
            drop(chunks);
            let legacy = self.legacy_tip.is_some() && {
                let mut legacy = write.open_table(LEGACY_BLOCKS).map_err(storage)?;
                let removed = legacy.remove(height).map_err(storage)?.is_some();
                removed
            };
            if removed == 0 && !legacy {
                return Err(StoreError::Corrupt(format!("no block {height} to replace")));
            }
            write_block(&write, height, block.bytes())?;
        }
        write.commit().map_err(storage)
    }

    /// The finalization certificate stored with the block at `height`, if it had its own.
    pub fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let Some(certificates) = open_optional(&read, CERTIFICATES)? else {
            return Ok(None);
        };
        let value = certificates.get(height).map_err(storage)?;
        Ok(value.map(|bytes| bytes.value().to_vec()))
    }

    /// The ids of the entries that reverse or adjust `id`, in id order.
    pub fn links_to(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let Some(links) = open_optional(&read, LINKS)? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for item in links.range((id, "")..).map_err(storage)? {
            let (key, _) = item.map_err(storage)?;
            let (linked, linking) = key.value();
            if linked != id {
                break;
            }
            found.push(linking.to_string());
        }
        Ok(found)
    }

    /// How many links are stored.
    pub fn link_count(&self) -> Result<u64, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        match open_optional(&read, LINKS)? {
            Some(table) => table.len().map_err(storage),
            None => Ok(0),
        }
    }

    /// Every committed entry whose id starts with `prefix`, in id order.
    pub fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<CommittedEntry>, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let reader = EntryReader::new(&read)?;
        let mut found = Vec::new();
        for item in reader.entries().range(prefix..).map_err(storage)? {
            let (key, value) = item.map_err(storage)?;
            let id = key.value();
            if !id.starts_with(prefix) {
                break;
            }
            found.push(reader.decode(id, value.value())?);
        }
        Ok(found)
    }

    /// Moves a store's report postings from a row each into runs (see `report_index`).
    fn move_postings_into_runs(&self) -> Result<(), StoreError> {
        if !crate::report_index::has_legacy_postings(&self.db.begin_read().map_err(storage)?)? {
            return Ok(());
        }
        let write = self.db.begin_write().map_err(storage)?;
        crate::report_index::move_postings_into_runs(&write)?;
        write.commit().map_err(storage)
    }

    /// Builds the log order of a store written before it existed: one pass over the entry
    /// index, once. A store that has the table is left alone.
    fn index_log_order(&self) -> Result<(), StoreError> {
        {
            let read = self.db.begin_read().map_err(storage)?;
            if open_optional(&read, LOG_ORDER)?.is_some() {
                return Ok(());
            }
        }
        let write = self.db.begin_write().map_err(storage)?;
        {
            let entries = write.open_table(ENTRIES).map_err(storage)?;
            let mut log_order = write.open_table(LOG_ORDER).map_err(storage)?;
            for item in entries.iter().map_err(storage)? {
                let (key, value) = item.map_err(storage)?;
                let id = key.value();
                let committed: CommittedEntry = postcard::from_bytes(value.value())
                    .map_err(|error| StoreError::Corrupt(format!("entry {id}: {error}")))?;
                log_order.insert(committed.log_index, id).map_err(storage)?;
            }
        }
        write.commit().map_err(storage)
    }

    /// Committed entries in commit order (height, then position; the entry log's order) after
    /// log index `after` (from the first if `None`), keeping those `filter` matches: at most
    /// `limit` of them, looking at no more than `scan_max` entries, all read in one read
    /// transaction. `next` is the cursor to continue from (the log index of the last entry
    /// looked at), `None` when the log was read to its end.
    pub fn entries_in_log_order(
        &self,
        after: Option<u64>,
        filter: &EntryFilter,
        limit: usize,
        scan_max: usize,
    ) -> Result<EntryPage, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let reader = EntryReader::new(&read)?;
        let mut page = EntryPage::default();
        let Some(log_order) = open_optional(&read, LOG_ORDER)? else {
            return Ok(page);
        };
        let start = match after {
            None => 0,
            // Past the last possible index there is nothing more to list.
            Some(after) => match after.checked_add(1) {
                Some(start) => start,
                None => return Ok(page),
            },
        };
        for (scanned, item) in log_order.range(start..).map_err(storage)?.enumerate() {
            if page.entries.len() >= limit || scanned >= scan_max {
                return Ok(page);
            }
            let (key, id) = item.map_err(storage)?;
            let (index, id) = (key.value(), id.value());
            page.next = Some(index);
            let committed = reader.get(id)?.ok_or_else(|| {
                StoreError::Corrupt(format!("entry {id} of log index {index} missing"))
            })?;
            if filter.matches(&committed) {
                page.entries.push(committed);
            }
        }
        page.next = None;
        Ok(page)
    }

    /// The contract events committed at heights `from..=to`, in order.
    pub fn events(&self, from: u64, to: u64) -> Result<Vec<ChainEvent>, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let Some(table) = open_optional(&read, EVENTS)? else {
            return Ok(Vec::new());
        };
        let mut events = Vec::new();
        for item in table.range((from, 0)..=(to, u32::MAX)).map_err(storage)? {
            let (key, value) = item.map_err(storage)?;
            let (height, position) = key.value();
            let event = postcard::from_bytes(value.value()).map_err(|error| {
                StoreError::Corrupt(format!("event {position} of block {height}: {error}"))
            })?;
            events.push(event);
        }
        Ok(events)
    }

    /// The height of the last committed block.
    pub fn height(&self) -> Result<u64, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let chunked = match open_optional(&read, BLOCK_CHUNKS)? {
            Some(chunks) => chunks
                .last()
                .map_err(storage)?
                .map(|(key, _)| key.value().0),
            None => None,
        };
        Ok(chunked.max(self.legacy_tip).unwrap_or(0))
    }
}

/// Which entries [`Store::entries_in_log_order`] keeps; every field left `None` matches all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryFilter {
    /// Entries with a posting to this account.
    pub account: Option<AccountCode>,
    /// Entries dated on or after this day.
    pub from: Option<Date>,
    /// Entries dated on or before this day.
    pub to: Option<Date>,
    /// Entries carrying this reference (kind, value).
    pub reference: Option<(String, String)>,
}

impl EntryFilter {
    /// Whether `committed` passes every filter given.
    pub fn matches(&self, committed: &CommittedEntry) -> bool {
        let entry = &committed.entry;
        self.from.is_none_or(|from| entry.date >= from)
            && self.to.is_none_or(|to| entry.date <= to)
            && self.account.as_ref().is_none_or(|account| {
                entry
                    .postings
                    .iter()
                    .any(|posting| posting.account == *account)
            })
            && self.reference.as_ref().is_none_or(|(kind, value)| {
                entry
                    .references
                    .iter()
                    .any(|reference| reference.kind == *kind && reference.value == *value)
            })
    }
}

/// One page of a listing in log order.
#[derive(Clone, Debug, Default)]
pub struct EntryPage {
    /// The entries kept, in log order.
    pub entries: Vec<CommittedEntry>,
    /// Where to continue (the log index of the last entry looked at), `None` at the end.
    pub next: Option<u64>,
}

/// Raw access for an offline audit: the stored bytes as they are on disk, so the auditor decides
/// what they should have been. It opens an existing store only and never creates one.
impl Store {
    /// Opens an existing store and returns the genesis stored in it.
    pub fn open_existing(path: &Path) -> Result<(Store, Genesis), StoreError> {
        if !path.is_file() {
            return Err(StoreError::Storage(format!(
                "{} is not a file",
                path.display()
            )));
        }
        let db = Database::open(path).map_err(storage)?;
        let bytes = {
            let read = db.begin_read().map_err(storage)?;
            let meta = read.open_table(META).map_err(storage)?;
            let value = meta
                .get(GENESIS_KEY)
                .map_err(storage)?
                .ok_or_else(|| StoreError::Corrupt("no genesis".into()))?;
            value.value().to_vec()
        };
        let genesis = decode_genesis(&bytes)?;
        let store = Store::over(db, genesis.clone())?;
        Ok((store, genesis))
    }

    /// The heights of the stored blocks, in key order.
    pub fn block_heights(&self) -> Result<Vec<u64>, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let mut heights = std::collections::BTreeSet::new();
        if let Some(chunks) = open_optional(&read, BLOCK_CHUNKS)? {
            for item in chunks.iter().map_err(storage)? {
                let (key, _) = item.map_err(storage)?;
                heights.insert(key.value().0);
            }
        }
        if let Some(legacy) = open_optional(&read, LEGACY_BLOCKS)? {
            for item in legacy.iter().map_err(storage)? {
                let (key, _) = item.map_err(storage)?;
                heights.insert(key.value());
            }
        }
        Ok(heights.into_iter().collect())
    }

    pub fn raw_block(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        read_block(&read, height)
    }

    pub fn raw_entry(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let entries = read.open_table(ENTRIES).map_err(storage)?;
        let value = entries.get(id).map_err(storage)?;
        Ok(value.map(|bytes| bytes.value().to_vec()))
    }

    /// Every key of the entry index, in order.
    pub fn entry_ids(&self) -> Result<Vec<String>, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let entries = read.open_table(ENTRIES).map_err(storage)?;
        let mut ids = Vec::new();
        for item in entries.iter().map_err(storage)? {
            let (key, _) = item.map_err(storage)?;
            ids.push(key.value().to_string());
        }
        Ok(ids)
    }

    pub fn raw_state(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let meta = read.open_table(META).map_err(storage)?;
        let value = meta.get(STATE_KEY).map_err(storage)?;
        Ok(value.map(|bytes| bytes.value().to_vec()))
    }

    /// The heights that have a certificate of their own.
    pub fn certificate_heights(&self) -> Result<Vec<u64>, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let Some(certificates) = open_optional(&read, CERTIFICATES)? else {
            return Ok(Vec::new());
        };
        let mut heights = Vec::new();
        for item in certificates.iter().map_err(storage)? {
            let (key, _) = item.map_err(storage)?;
            heights.push(key.value());
        }
        Ok(heights)
    }

    /// The stored contract events of the block at `height`: (position, bytes), in order.
    pub fn raw_events_at(&self, height: u64) -> Result<Vec<(u32, Vec<u8>)>, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        let Some(table) = open_optional(&read, EVENTS)? else {
            return Ok(Vec::new());
        };
        let mut events = Vec::new();
        for item in table
            .range((height, 0)..=(height, u32::MAX))
            .map_err(storage)?
        {
            let (key, value) = item.map_err(storage)?;
            events.push((key.value().1, value.value().to_vec()));
        }
        Ok(events)
    }

    /// How many contract events are stored.
    pub fn event_count(&self) -> Result<u64, StoreError> {
        let read = self.db.begin_read().map_err(storage)?;
        match open_optional(&read, EVENTS)? {
            Some(table) => table.len().map_err(storage),
            None => Ok(0),
        }
    }
}

/// The entry index as it was at a height: entries and reversals committed later are invisible.
///
/// Blocks not yet final are executed on an older state while the store moves on; seeing a later
/// entry there would wrongly call it a duplicate. It reads through one read transaction, opened
/// once, because a block looks up every entry id it carries.
pub struct StoreAt {
    entries: redb::ReadOnlyTable<Text, &'static [u8]>,
    height: u64,
}

fn decode_entry(id: &str, bytes: &[u8]) -> CommittedEntry {
    // Entries are written only by `commit`; one that does not decode means the disk returned
    // different bytes than were written, and executing on would risk disagreeing with peers.
    postcard::from_bytes(bytes)
        .unwrap_or_else(|error| panic!("stored entry {id} is corrupt: {error}"))
}

impl StoreAt {
    fn get(&self, id: &str) -> Option<CommittedEntry> {
        let value = self
            .entries
            .get(id)
            .expect("the entry index must be readable")?;
        Some(decode_entry(id, value.value()))
    }
}

impl Store {
    /// The entry index as of `height`.
    pub fn at(&self, height: u64) -> StoreAt {
        let read = self.db.begin_read().expect("the store must be readable");
        let entries = read
            .open_table(ENTRIES)
            .expect("the entry index must be readable");
        StoreAt { entries, height }
    }
}

impl EntryLookup for StoreAt {
    fn lookup(&self, id: &EntryId) -> Option<KnownEntry> {
        let committed = self.get(id.as_str())?;
        if committed.height > self.height {
            return None;
        }
        let mut known = committed.known();
        if let Some(reversal) = &known.reversed_by {
            let visible = self
                .get(reversal.as_str())
                .is_some_and(|reversal| reversal.height <= self.height);
            if !visible {
                known.reversed_by = None;
            }
        }
        Some(known)
    }
}

impl EntryLookup for Store {
    fn lookup(&self, id: &EntryId) -> Option<KnownEntry> {
        // A read failure here means the disk is failing under a running node; continuing could
        // accept a duplicate entry id, so stop loudly instead. Postings and reversal are in the
        // index row: the sealed fields in the block are not needed, nor read.
        self.at(u64::MAX)
            .get(id.as_str())
            .map(|committed| committed.known())
    }
}

#[cfg(test)]
mod text_key_tests {
    use redb::{Database, ReadableTable, TableDefinition};

    use super::Text;

    const AS_STR: TableDefinition<&str, u64> = TableDefinition::new("t");
    const AS_TEXT: TableDefinition<Text, u64> = TableDefinition::new("t");
    const PAIRS_AS_STR: TableDefinition<(&str, &str, u64), u64> = TableDefinition::new("p");
    const PAIRS_AS_TEXT: TableDefinition<(Text, Text, u64), u64> = TableDefinition::new("p");

    /// Keys whose byte order would differ from a naive character order if compared wrongly:
    /// multi-byte characters, prefixes, the empty string.
    const KEYS: [&str; 9] = ["", "a", "ab", "b", "z", "ä", "é", "€", "𝄞"];

    #[test]
    fn a_text_table_opens_a_str_table_and_keeps_its_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.redb");
        {
            let db = Database::create(&path).unwrap();
            let write = db.begin_write().unwrap();
            {
                let mut table = write.open_table(AS_STR).unwrap();
                let mut pairs = write.open_table(PAIRS_AS_STR).unwrap();
                // Inserted in reverse, so the tree's order is the key type's, not insertion's.
                for (index, key) in KEYS.iter().enumerate().rev() {
                    table.insert(key, index as u64).unwrap();
                    pairs.insert((*key, "x", 7), index as u64).unwrap();
                    pairs.insert(("m", *key, 3), 100 + index as u64).unwrap();
                }
            }
            write.commit().unwrap();
        }
        let db = Database::open(&path).unwrap();
        let read = db.begin_read().unwrap();
        let table = read.open_table(AS_TEXT).unwrap();
        let order: Vec<String> = table
            .iter()
            .unwrap()
            .map(|row| row.unwrap().0.value().to_string())
            .collect();
        let mut sorted: Vec<&str> = KEYS.to_vec();
        sorted.sort();
        assert_eq!(order, sorted, "the str table's order, read through Text");
        for (index, key) in KEYS.iter().enumerate() {
            assert_eq!(table.get(key).unwrap().unwrap().value(), index as u64);
        }
        assert!(table.get("ä ").unwrap().is_none());
        let pairs = read.open_table(PAIRS_AS_TEXT).unwrap();
        for (index, key) in KEYS.iter().enumerate() {
            assert_eq!(
                pairs.get((*key, "x", 7)).unwrap().unwrap().value(),
                index as u64
            );
            assert_eq!(
                pairs.get(("m", *key, 3)).unwrap().unwrap().value(),
                100 + index as u64
            );
        }
        let range: Vec<u64> = pairs
            .range(("m", "", 0)..("m", "\u{10FFFF}", u64::MAX))
            .unwrap()
            .map(|row| row.unwrap().1.value())
            .collect();
        let expected: Vec<u64> = sorted
            .iter()
            .map(|key| 100 + KEYS.iter().position(|k| k == key).unwrap() as u64)
            .collect();
        assert_eq!(
            range, expected,
            "a range over the second text, in str order"
        );
    }
}
