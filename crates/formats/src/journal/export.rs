//! Tally's books written as an hledger journal, a beancount file and CSV.
//!
//! Each writer takes the chart (`(code, kind)` pairs) and the committed entries, and writes
//! every posting exactly: amounts in the currency's decimals, credits as negative amounts in
//! the journal formats. The journal formats need account names under the five roots, so
//! codes are mapped by kind ([`hledger_account_name`], [`beancount_account_name`]); two
//! codes that would map to one name are refused rather than merged. Reading a written journal
//! back with [`read_ledger`](super::read_ledger) or [`read_beancount`](super::read_beancount)
//! gives the same balance per mapped account and currency (a property test checks it).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write;

use tally_ledger::{format_amount, AccountCode, AccountKind, EntryDraft, Side};

use super::model::account_kind;

/// The columns of [`write_csv`], one row per posting.
pub const CSV_HEADER: [&str; 7] = [
    "date",
    "entry_id",
    "description",
    "account",
    "debit",
    "credit",
    "currency",
];

/// The date of the `open` and `commodity` directives of a beancount file without entries.
const EMPTY_BOOKS_DATE: &str = "1970-01-01";

/// The beancount metadata key holding an account's Tally code.
const BEANCOUNT_CODE_KEY: &str = "tally_code";

/// The beancount metadata key holding an entry's Tally id.
const BEANCOUNT_ID_KEY: &str = "tally_id";

/// Metadata keys a beancount transaction may not use for a reference: the writer's own, and
/// the ones beancount's loader adds.
const BEANCOUNT_RESERVED_KEYS: [&str; 3] = [BEANCOUNT_ID_KEY, "filename", "lineno"];

/// Why books could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The output refused the bytes.
    #[error("cannot write: {0}")]
    Io(#[from] std::io::Error),
    /// The CSV writer failed.
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    /// An entry posts to an account missing from the chart given, whose kind is then unknown.
    #[error("entry '{entry}' posts to account '{code}', which is not in the chart given")]
    UnknownAccount {
        /// The entry's id.
        entry: String,
        /// The account code.
        code: String,
    },
    /// One code given twice with different kinds.
    #[error("account '{code}' is given twice, as {first} and as {second}")]
    KindConflict {
        /// The code.
        code: String,
        /// Its first kind.
        first: AccountKind,
        /// Its other kind.
        second: AccountKind,
    },
    /// Two codes that would be written as one account name.
    #[error("accounts '{first}' and '{second}' would both be written as '{name}'")]
    NameCollision {
        /// One code.
        first: String,
        /// The other.
        second: String,
        /// The name both map to.
        name: String,
    },
}

/// The hledger / ledger name of an account: its code if the code's top-level name already
/// stands for its kind (`Assets:Bank` for an asset), else the code under the kind's root
/// (`1000` asset → `Assets:1000`, `Sales` revenue → `Income:Sales`).
pub fn hledger_account_name(code: &AccountCode, kind: AccountKind) -> String {
    if account_kind(code.as_str()).ok() == Some(kind) {
        code.as_str().to_owned()
    } else {
        format!("{}:{}", root_name(kind), code.as_str())
    }
}

/// The beancount name of an account: the kind's root (Assets, Liabilities, Equity, Income,
/// Expenses), then the code's components (the root dropped if the code starts with it), each
/// made a valid beancount component: ASCII letters and digits kept, every other character
/// (dashes too) written as `-` and two hex digits per UTF-8 byte, and `X-` in front of a
/// component that would not start with a capital letter or digit. The mapping is one to one:
/// `1000` asset → `Assets:1000`, `Assets:Bank` → `Assets:Bank`, `Online ads` expense →
/// `Expenses:Online-20ads`, `cash` asset → `Assets:X-cash`.
pub fn beancount_account_name(code: &AccountCode, kind: AccountKind) -> String {
    let root = root_name(kind);
    let mut components = code.as_str().split(':');
    let mut name = String::from(root);
    let first = components.next().unwrap_or("");
    let rest_follows = code.as_str().contains(':');
    if !(rest_follows && first == root) {
        name.push(':');
        push_beancount_component(&mut name, first);
    }
    for component in components {
        name.push(':');
        push_beancount_component(&mut name, component);
    }
    name
}

/// Writes the books as an hledger journal (also read by ledger-cli): `account` directives,
/// then one transaction per entry, `DATE * (ID) DESCRIPTION`, its references as `; kind: value`
/// tags and its postings as `ACCOUNT  AMOUNT CUR` with credits negative. A `;` in a
/// description would start a comment, so it is written as `,`.
pub fn write_hledger(
    out: &mut impl Write,
    accounts: &[(AccountCode, AccountKind)],
    entries: &[EntryDraft],
) -> Result<(), ExportError> {
    let names = account_names(accounts, hledger_account_name)?;
    writeln!(
        out,
        "; Tally books: one transaction per entry, the entry id as its code."
    )?;
    for (_, name) in &names.order {
        writeln!(out, "account {name}")?;
    }
    let mut text = String::new();
    for entry in entries {
        text.clear();
        let description = entry.description.replace(';', ",");
        // Writing to a String cannot fail.
        let _ = writeln!(
            text,
            "\n{} * ({}) {}",
            entry.date,
            entry.id,
            description.trim()
        );
        for reference in &entry.references {
            let kind: String = reference
                .kind
                .chars()
                .map(|ch| {
                    if ch.is_whitespace() || matches!(ch, ':' | ',') {
                        '-'
                    } else {
                        ch
                    }
                })
                .collect();
            let _ = writeln!(text, "    ; {kind}: {}", reference.value.replace(',', " "));
        }
        for posting in &entry.postings {
            let name = names
                .names
                .get(&posting.account)
                .ok_or_else(|| unknown_account(entry, &posting.account))?;
            let sign = if posting.side == Side::Credit {
                "-"
            } else {
                ""
            };
            let amount = format_amount(u128::from(posting.amount), posting.currency);
            let _ = writeln!(text, "    {name}  {sign}{amount} {}", posting.currency);
        }
        out.write_all(text.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// Writes the books as a beancount file: `commodity` and `open` directives (the code kept as
/// `tally_code` metadata) dated the earliest entry's date, then one transaction per entry,
/// `DATE * "DESCRIPTION"` with the id as `tally_id` metadata, each reference as metadata (its
/// kind made a valid key, numbered when repeated) and the postings with credits negative.
pub fn write_beancount(
    out: &mut impl Write,
    accounts: &[(AccountCode, AccountKind)],
    entries: &[EntryDraft],
) -> Result<(), ExportError> {
    let names = account_names(accounts, beancount_account_name)?;
    let opened = entries
        .iter()
        .map(|entry| entry.date)
        .min()
        .map_or_else(|| EMPTY_BOOKS_DATE.to_owned(), |date| date.to_string());
    let currencies: BTreeSet<&str> = entries
        .iter()
        .flat_map(|entry| entry.postings.iter().map(|posting| posting.currency.code()))
        .collect();
    writeln!(
        out,
        "; Tally books: one transaction per entry, the entry id as tally_id."
    )?;
    for currency in currencies {
        writeln!(out, "{opened} commodity {currency}")?;
    }
    for (code, name) in &names.order {
        writeln!(out, "{opened} open {name}")?;
        writeln!(out, "  {BEANCOUNT_CODE_KEY}: {}", quoted(code.as_str()))?;
    }
    let mut text = String::new();
    let mut keys: Vec<String> = Vec::new();
    for entry in entries {
        text.clear();
        keys.clear();
        let _ = writeln!(text, "\n{} * {}", entry.date, quoted(&entry.description));
        let _ = writeln!(text, "  {BEANCOUNT_ID_KEY}: {}", quoted(entry.id.as_str()));
        for reference in &entry.references {
            let key = unique_key(&keys, &metadata_key(&reference.kind));
            let _ = writeln!(text, "  {key}: {}", quoted(&reference.value));
            keys.push(key);
        }
        for posting in &entry.postings {
            let name = names
                .names
                .get(&posting.account)
                .ok_or_else(|| unknown_account(entry, &posting.account))?;
            let sign = if posting.side == Side::Credit {
                "-"
            } else {
                ""
            };
            let amount = format_amount(u128::from(posting.amount), posting.currency);
            let _ = writeln!(text, "  {name}  {sign}{amount} {}", posting.currency);
        }
        out.write_all(text.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// Writes one CSV row per posting under [`CSV_HEADER`]: date, entry id, description, account
/// code, the amount in the debit or the credit column (decimal, the currency's places), and
/// the currency.
pub fn write_csv(out: &mut impl Write, entries: &[EntryDraft]) -> Result<(), ExportError> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(CSV_HEADER)?;
    for entry in entries {
        let date = entry.date.to_string();
        for posting in &entry.postings {
            let amount = format_amount(u128::from(posting.amount), posting.currency);
            let (debit, credit) = match posting.side {
                Side::Debit => (amount.as_str(), ""),
                Side::Credit => ("", amount.as_str()),
            };
            writer.write_record([
                date.as_str(),
                entry.id.as_str(),
                entry.description.as_str(),
                posting.account.as_str(),
                debit,
                credit,
                posting.currency.code(),
            ])?;
        }
    }
    writer.flush()?;
    Ok(())
}

/// The root name the journal formats use for a kind.
fn root_name(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Asset => "Assets",
        AccountKind::Liability => "Liabilities",
        AccountKind::Equity => "Equity",
        AccountKind::Revenue => "Income",
        AccountKind::Expense => "Expenses",
    }
}

/// Every account's name in a format, and the accounts in chart order, each once (a code given
/// twice with one kind is written once); two codes with one name, or one code with two kinds,
/// are refused.
fn account_names(
    accounts: &[(AccountCode, AccountKind)],
    name_of: fn(&AccountCode, AccountKind) -> String,
) -> Result<AccountNames, ExportError> {
    let mut names: HashMap<AccountCode, String> = HashMap::with_capacity(accounts.len());
    let mut kinds: HashMap<&AccountCode, AccountKind> = HashMap::with_capacity(accounts.len());
    let mut owners: HashMap<String, &AccountCode> = HashMap::with_capacity(accounts.len());
    let mut order = Vec::with_capacity(accounts.len());
    for (code, kind) in accounts {
        match kinds.get(code) {
            Some(first) if first == kind => continue,
            Some(first) => {
                return Err(ExportError::KindConflict {
                    code: code.as_str().to_owned(),
                    first: *first,
                    second: *kind,
                })
            }
            None => {}
        }
        let name = name_of(code, *kind);
        if let Some(first) = owners.get(&name) {
            return Err(ExportError::NameCollision {
                first: first.as_str().to_owned(),
                second: code.as_str().to_owned(),
                name,
            });
        }
        kinds.insert(code, *kind);
        owners.insert(name.clone(), code);
        names.insert(code.clone(), name.clone());
        order.push((code.clone(), name));
    }
    Ok(AccountNames { names, order })
}

/// The names of a chart's accounts in one format.
struct AccountNames {
    /// Code to name.
    names: HashMap<AccountCode, String>,
    /// Codes and names in chart order, each once.
    order: Vec<(AccountCode, String)>,
}

fn unknown_account(entry: &EntryDraft, code: &AccountCode) -> ExportError {
    ExportError::UnknownAccount {
        entry: entry.id.as_str().to_owned(),
        code: code.as_str().to_owned(),
    }
}

/// Appends one component of a beancount account name (see [`beancount_account_name`]).
fn push_beancount_component(name: &mut String, component: &str) {
    let starts_well =
        component.starts_with(|ch: char| ch.is_ascii_uppercase() || ch.is_ascii_digit());
    if !starts_well {
        name.push_str("X-");
    }
    let mut bytes = [0u8; 4];
    for ch in component.chars() {
        if ch.is_ascii_alphanumeric() {
            name.push(ch);
        } else {
            for byte in ch.encode_utf8(&mut bytes).bytes() {
                let _ = write!(name, "-{byte:02X}");
            }
        }
    }
}

/// A beancount metadata key for a reference kind: `[a-z][A-Za-z0-9_-]*`, other characters as
/// `_`, `ref-` in front when the kind does not start with a lower-case letter.
fn metadata_key(kind: &str) -> String {
    let mut key = String::with_capacity(kind.len() + 4);
    if !kind.starts_with(|ch: char| ch.is_ascii_lowercase()) {
        key.push_str("ref-");
    }
    key.extend(kind.chars().map(|ch| {
        if ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-') {
            ch
        } else {
            '_'
        }
    }));
    key
}

/// `key`, or `key-2`, `key-3`, … if taken (beancount refuses a key twice on one transaction).
fn unique_key(taken: &[String], key: &str) -> String {
    let free = |candidate: &str| {
        !taken.iter().any(|known| known == candidate)
            && !BEANCOUNT_RESERVED_KEYS.contains(&candidate)
    };
    if free(key) {
        return key.to_owned();
    }
    (2usize..)
        .map(|suffix| format!("{key}-{suffix}"))
        .find(|candidate| free(candidate))
        .unwrap_or_else(|| key.to_owned())
}

/// A beancount string literal.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        if matches!(ch, '"' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
    out
}
