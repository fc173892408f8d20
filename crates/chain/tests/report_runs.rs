//! The report index keeps an account's postings in runs (one block's postings to the account,
//! split at `POSTING_RUN_MAX`): reads of the account ledger and of past balances must give
//! exactly what a row per posting gave, wherever a page or a height starts inside a run; and a
//! store written with a row per posting is moved into runs when it opens, reading the same.

mod common;

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};
use tally_chain::{ReportReader, Store};
use tally_ledger::{codes::*, Currency, EntryDraft};
use tally_reports::PostingRecord;

use common::*;

const RUNS: TableDefinition<(&str, &str, u64), &[u8]> = TableDefinition::new("report_posting_runs");
const LEGACY: TableDefinition<(&str, &str, u64), &[u8]> = TableDefinition::new("report_postings");

/// Blocks of 600 (more than two runs), 256 (exactly one) and 5 entries, all debiting accounts
/// receivable with amounts that tell them apart.
const BLOCK_SIZES: [usize; 3] = [600, 256, 5];

fn commit(
    store: &Store,
    time_ms: u64,
    entries: Vec<EntryDraft>,
    signer: &tally_identity::SecretKey,
) {
    let parent = store.state().unwrap();
    let (block, executed) = build_all(&parent, store, time_ms, vec![batch(signer, entries)]);
    store.commit(&block, &executed).unwrap();
}

/// (entry id, amount) of each posting to accounts receivable, per block.
fn model() -> Vec<Vec<(String, u64)>> {
    let mut serial = 0u64;
    BLOCK_SIZES
        .iter()
        .map(|&size| {
            (0..size)
                .map(|_| {
                    serial += 1;
                    (format!("e-{serial:05}"), serial)
                })
                .collect()
        })
        .collect()
}

fn read_all(reader: &ReportReader, seq_end: u64) -> Vec<PostingRecord> {
    reader
        .postings(
            &code(ACCOUNTS_RECEIVABLE),
            Currency::EUR,
            None,
            seq_end,
            None,
        )
        .unwrap()
}

/// Everything the reads below can see, at every height, for comparing two stores.
fn snapshot(store: &Store) -> Vec<Vec<PostingRecord>> {
    let reader = store.reports().unwrap();
    (1..=BLOCK_SIZES.len() as u64)
        .map(|height| read_all(&reader, reader.seq_end(height).unwrap().unwrap()))
        .collect()
}

#[test]
fn runs_read_like_a_row_per_posting_and_old_stores_move_into_runs() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    let store = Store::open(&path, &fx.genesis).unwrap();
    let blocks = model();
    for (n, block) in blocks.iter().enumerate() {
        let entries = block
            .iter()
            .map(|(entry, amount)| simple(entry, ACCOUNTS_RECEIVABLE, SALES_REVENUE, *amount))
            .collect();
        commit(&store, T0 + 1 + n as u64, entries, &fx.sales);
    }

    let reader = store.reports().unwrap();
    let account = code(ACCOUNTS_RECEIVABLE);
    let mut expected: Vec<(String, u64, u128)> = Vec::new();
    let mut debit = 0u128;
    for (height, block) in blocks.iter().enumerate() {
        let height = height as u64 + 1;
        for (entry, amount) in block {
            debit += u128::from(*amount);
            expected.push((entry.clone(), *amount, debit));
        }
        let seq_end = reader.seq_end(height).unwrap().unwrap();
        let all: Vec<(String, u64, u128)> = read_all(&reader, seq_end)
            .into_iter()
            .map(|record| {
                (
                    record.entry.to_string(),
                    record.amount,
                    record.running.debit,
                )
            })
            .collect();
        assert_eq!(all, expected, "postings as of height {height}");
        assert_eq!(
            reader
                .balance_before(&account, Currency::EUR, seq_end)
                .unwrap()
                .debit,
            debit,
            "balance as of height {height}"
        );
    }

    // Pages of every size, starting inside runs and at their edges, rebuild the whole ledger.
    let seq_end = reader.seq_end(BLOCK_SIZES.len() as u64).unwrap().unwrap();
    let whole = read_all(&reader, seq_end);
    for limit in [1, 7, 255, 256, 257, 1000] {
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = reader
                .postings(&account, Currency::EUR, after, seq_end, Some(limit))
                .unwrap();
            assert!(page.len() <= limit);
            let Some(last) = page.last() else { break };
            after = Some(last.seq);
            paged.extend(page);
        }
        assert_eq!(paged, whole, "pages of {limit}");
    }
    // A balance up to any posting, also one inside a run, is the running total before it.
    for at in [0, 1, 255, 256, 257, 599, 600, 855, 856, whole.len() - 1] {
        assert_eq!(
            reader
                .balance_before(&account, Currency::EUR, whole[at].seq)
                .unwrap()
                .debit,
            if at == 0 {
                0
            } else {
                whole[at - 1].running.debit
            },
            "balance before posting {at}"
        );
    }
    let before = snapshot(&store);
    drop(reader);
    drop(store);

    // Rewrite the index as a store from before runs kept it: a row per posting.
    {
        let db = redb::Database::open(&path).unwrap();
        let write = db.begin_write().unwrap();
        {
            let runs = write.open_table(RUNS).unwrap();
            let mut legacy = write.open_table(LEGACY).unwrap();
            // Per account (receivable and revenue): 600 postings in three runs, 256 in one,
            // 5 in one.
            assert_eq!(runs.len().unwrap(), 2 * (3 + 1 + 1));
            let mut rows = 0;
            for item in runs.iter().unwrap() {
                let (key, value) = item.unwrap();
                let (account, currency, first) = key.value();
                let run: Vec<PostingRecord> = postcard::from_bytes(value.value()).unwrap();
                assert_eq!(run[0].seq, first);
                assert!(run.len() <= tally_chain::POSTING_RUN_MAX);
                for record in run {
                    legacy
                        .insert(
                            (account, currency, record.seq),
                            postcard::to_stdvec(&record).unwrap().as_slice(),
                        )
                        .unwrap();
                    rows += 1;
                }
            }
            assert_eq!(rows, 2 * BLOCK_SIZES.iter().sum::<usize>());
        }
        write.delete_table(RUNS).unwrap();
        write.commit().unwrap();
    }
    let store = Store::open(&path, &fx.genesis).unwrap();
    assert_eq!(snapshot(&store), before);
    // The rows were moved, not copied, and the chain goes on in runs.
    drop(store);
    {
        let db = redb::Database::open(&path).unwrap();
        let read = db.begin_read().unwrap();
        assert!(matches!(
            read.open_table(LEGACY),
            Err(redb::TableError::TableDoesNotExist(_))
        ));
    }
    let store = Store::open(&path, &fx.genesis).unwrap();
    commit(
        &store,
        T0 + 10,
        vec![simple("after", ACCOUNTS_RECEIVABLE, SALES_REVENUE, 1)],
        &fx.sales,
    );
    let reader = store.reports().unwrap();
    let seq_end = reader
        .seq_end(BLOCK_SIZES.len() as u64 + 1)
        .unwrap()
        .unwrap();
    let last = read_all(&reader, seq_end).pop().unwrap();
    assert_eq!(
        (last.entry.as_str(), last.running.debit),
        ("after", debit + 1)
    );
}
