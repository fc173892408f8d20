//! Plain-text accounting journals: ledger-cli / hledger and beancount files read into Tally's
//! entries, and Tally's books written back out as hledger, beancount and CSV.
//!
//! Reading is one pass over the lines, without regular expressions, and never panics: every
//! line that cannot be understood becomes a [`LineProblem`] with its 1-based line number, and a
//! transaction with a problem is left out whole, so what is read is either exactly what the
//! file says or not read at all. Every [`JournalTransaction`] holds an [`EntryDraft`] that
//! passed [`EntryDraft::check`].
//!
//! Modules:
//! - `model`: what a reader returns, its errors, and the one place that builds entries
//!   (elided amounts, zero postings, ids, references, accounts);
//! - `amount`: amounts such as `$12.50`, `-12.50 USD`, `EUR 1,234.56`, `€5`;
//! - `ledger`: the ledger-cli / hledger reader;
//! - `beancount`: the beancount reader;
//! - `export`: the hledger, beancount and CSV writers;
//! - `generate`: a seeded generator of large e-commerce journals for benchmarks and tests.
//!
//! **Entry ids.** An entry read from a journal gets the id `journal:` followed by 32 hex digits
//! of a 128-bit FNV-1a hash of its date, description and postings (after the elided amount is
//! filled in), and of how many identical transactions came before it in the same file. The id
//! depends on nothing else (not the line number, not the file name, not comments or tags), so
//! importing the same file twice, or the file again after more transactions were appended or
//! earlier ones were moved, books each transaction once: the chain refuses a second entry
//! with a committed id. Editing a transaction's date, description or amounts makes it a new
//! entry.
//!
//! [`EntryDraft`]: tally_ledger::EntryDraft
//! [`EntryDraft::check`]: tally_ledger::EntryDraft::check

mod amount;
mod beancount;
mod export;
mod generate;
mod ledger;
mod model;

pub use beancount::read_beancount;
pub use export::{
    beancount_account_name, hledger_account_name, write_beancount, write_csv, write_hledger,
    ExportError, CSV_HEADER,
};
pub use generate::generate_ledger_journal;
pub use ledger::read_ledger;
pub use model::{
    account_kind, Journal, JournalAccount, JournalError, JournalTransaction, LineProblem,
    ENTRY_ID_PREFIX, JOURNAL_BYTES_MAX, LINE_BYTES_MAX, PROBLEMS_MAX,
};

/// File extensions (compared without regard to case) read as beancount; every other file is
/// read as ledger-cli / hledger syntax.
pub const BEANCOUNT_EXTENSIONS: [&str; 2] = ["beancount", "bean"];

/// Reads `text` as beancount if `path_hint` ends in `.beancount` or `.bean` (any case), else as
/// a ledger-cli / hledger journal. The hint is only looked at, never opened.
pub fn read_journal(path_hint: &str, text: &str) -> Journal {
    if is_beancount_path(path_hint) {
        read_beancount(text)
    } else {
        read_ledger(text)
    }
}

/// Whether `path_hint` names a beancount file by its extension.
pub fn is_beancount_path(path_hint: &str) -> bool {
    let file_name = path_hint.rsplit(['/', '\\']).next().unwrap_or(path_hint);
    match file_name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => BEANCOUNT_EXTENSIONS
            .iter()
            .any(|known| extension.eq_ignore_ascii_case(known)),
        _ => false,
    }
}
