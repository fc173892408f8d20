//! What the journal readers return, their errors, and the one place that turns a parsed
//! transaction into an [`EntryDraft`]: elided amount filled in, zero postings dropped, id
//! derived, texts cleaned and bounded, the draft checked, its accounts listed.
//!
//! Both readers (ledger and beancount) only split lines into dates, texts, accounts and
//! amounts; every accounting rule lives here so the two syntaxes cannot drift apart.

use std::collections::HashMap;
use std::fmt::Write as _;

use tally_ledger::{
    AccountCode, AccountCodeError, AccountKind, AmountError, Currency, Date, EntryDraft,
    EntryError, EntryId, Posting, Reference, Side, ACCOUNTS_MAX, POSTINGS_PER_ENTRY_MAX,
    REFERENCES_PER_ENTRY_MAX, REFERENCE_KIND_LEN_MAX, REFERENCE_VALUE_LEN_MAX,
};

/// Largest journal read, in bytes. The import benchmark's million-transaction journal is
/// about 200 MB; the bound keeps a mistaken multi-gigabyte file (a database dump, a disk
/// image) from being parsed into memory at all.
pub const JOURNAL_BYTES_MAX: usize = 1 << 30;

/// Longest line, in bytes. A line carries one header or one posting: a description is at most
/// [`tally_ledger::DESCRIPTION_LEN_MAX`] bytes and an account code 128, so 4 KiB leaves room for long
/// comments while a binary file fed by mistake fails on its first line.
pub const LINE_BYTES_MAX: usize = 4096;

/// Most problems listed. A file in the wrong format has a problem on nearly every line; the
/// first ten thousand say what is wrong, and the rest would only fill memory. Past the bound
/// one last problem says how many were not listed; transactions with problems are still left
/// out.
pub const PROBLEMS_MAX: usize = 10_000;

/// How every entry id made by the readers starts (see the module documentation of
/// `journal` for the whole scheme).
pub const ENTRY_ID_PREFIX: &str = "journal:";

/// The reference kind a transaction's code (`(ORD-1001)` in ledger syntax) is kept under.
pub(crate) const CODE_REFERENCE: &str = "code";

/// The reference kind of a bare tag (`:payout:`, `#payout`, `tag1:` without a value).
pub(crate) const TAG_REFERENCE: &str = "tag";

/// The reference kind of a beancount link (`^invoice-17`).
pub(crate) const LINK_REFERENCE: &str = "link";

/// The top-level account names and the kind each stands for, compared without regard to case.
const ROOTS: [(&str, AccountKind); 10] = [
    ("assets", AccountKind::Asset),
    ("asset", AccountKind::Asset),
    ("liabilities", AccountKind::Liability),
    ("liability", AccountKind::Liability),
    ("equity", AccountKind::Equity),
    ("income", AccountKind::Revenue),
    ("revenue", AccountKind::Revenue),
    ("revenues", AccountKind::Revenue),
    ("expenses", AccountKind::Expense),
    ("expense", AccountKind::Expense),
];

/// A journal as read: its accounts, the transactions that became valid entries, and what
/// could not be read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Journal {
    /// Accounts declared (`account`, `open`) or used by a read transaction, in first-seen
    /// order, each once.
    pub accounts: Vec<JournalAccount>,
    /// The transactions read, in file order; each entry passed [`EntryDraft::check`].
    pub transactions: Vec<JournalTransaction>,
    /// Lines that could not be read; a transaction with a problem is not in `transactions`.
    pub problems: Vec<LineProblem>,
    /// How many directives were understood but have no meaning for Tally's entries (prices,
    /// balance assertions, notes, ...), and so were skipped.
    pub ignored_directives: usize,
    /// The same count by directive keyword (`balance`, `price`, `P`, ...).
    pub ignored_by_keyword: Vec<(&'static str, usize)>,
}

/// One account of a journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalAccount {
    /// The account name, e.g. `Assets:Bank:Checking`, as Tally's account code.
    pub code: AccountCode,
    /// The kind its top-level name stands for.
    pub kind: AccountKind,
    /// The 1-based line where it was first declared or used.
    pub line: u64,
}

/// One transaction of a journal, read as a Tally entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalTransaction {
    /// The 1-based line of its header (date and description).
    pub line: u64,
    /// The entry; it passed [`EntryDraft::check`].
    pub entry: EntryDraft,
}

/// A line that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineProblem {
    /// The 1-based line number; 0 for the file as a whole (too large).
    pub line: u64,
    /// What is wrong, for a person.
    pub message: String,
}

/// Why a line or a transaction of a journal could not be read. Messages are exact and stable:
/// tests compare them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// The whole file is larger than [`JOURNAL_BYTES_MAX`].
    #[error("journal is {len} bytes long (at most {max})")]
    FileTooLarge {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A line longer than [`LINE_BYTES_MAX`].
    #[error("line is {len} bytes long (at most {max})")]
    LineTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More than [`PROBLEMS_MAX`] problems.
    #[error("{omitted} more problems were not listed (at most {max} are)")]
    TooManyProblems {
        /// How many were left out.
        omitted: usize,
        /// The limit.
        max: usize,
    },
    /// A date that is not `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYY.MM.DD`, or does not exist.
    #[error("invalid date '{text}' (expected YYYY-MM-DD or YYYY/MM/DD)")]
    Date {
        /// The rejected text.
        text: String,
    },
    /// A directive this reader does not know.
    #[error("unknown directive '{word}'")]
    UnknownDirective {
        /// The first word of the line.
        word: String,
    },
    /// A feature that would change what the entries are and that Tally does not carry out.
    #[error("not supported: {feature}{hint}")]
    Unsupported {
        /// What was found.
        feature: &'static str,
        /// How to do without it (empty or starting with "; ").
        hint: &'static str,
    },
    /// An indented line that belongs to no transaction or directive.
    #[error("indented line outside a transaction or directive (postings must follow their transaction's header without a blank line)")]
    StrayIndentedLine,
    /// A line that is neither a directive, a transaction nor a comment.
    #[error("cannot read this line: {detail}")]
    Malformed {
        /// What was expected.
        detail: &'static str,
    },
    /// An account name Tally refuses as an account code.
    #[error("account '{name}': {source}")]
    AccountCode {
        /// The name as written.
        name: String,
        /// Why the code was refused.
        source: AccountCodeError,
    },
    /// An account outside the five roots.
    #[error("account '{name}' does not start with a known root (expected Assets, Liabilities, Equity, Income, Revenue or Expenses)")]
    UnknownRoot {
        /// The name as written.
        name: String,
    },
    /// More accounts than a Tally chart may hold.
    #[error("more than {max} accounts (a Tally chart holds at most {max})")]
    TooManyAccounts {
        /// The limit.
        max: usize,
    },
    /// Text that is not an amount.
    #[error("invalid amount '{text}' (expected e.g. $12.50, -12.50 USD, EUR 1,234.56 or €5)")]
    MalformedAmount {
        /// The rejected text.
        text: String,
    },
    /// An amount without a commodity and no default commodity (`D`) declared.
    #[error("amount '{text}' has no commodity (write a currency such as USD or $)")]
    MissingCommodity {
        /// The amount as written.
        text: String,
    },
    /// A commodity that is not a currency Tally knows.
    #[error("commodity '{commodity}' is not a currency Tally knows (expected an ISO 4217 code such as USD or EUR, or one of $ € £ ¥)")]
    UnknownCommodity {
        /// The commodity as written.
        commodity: String,
    },
    /// An amount Tally's currency rules refuse (too many decimals, too large).
    #[error("{source}")]
    Amount {
        /// Why.
        source: AmountError,
    },
    /// Two postings of one transaction without an amount.
    #[error("a second posting without an amount (at most one posting of a transaction may leave its amount out)")]
    SecondElidedAmount,
    /// A posting without an amount in a transaction whose other postings leave more than one
    /// currency unbalanced, so the missing amount is not one amount.
    #[error("the posting without an amount would have to balance several currencies ({currencies}); write its amounts out, one posting per currency")]
    ElidedSeveralCurrencies {
        /// The unbalanced currencies, e.g. "EUR, USD".
        currencies: String,
    },
    /// The amount a posting without an amount would take does not fit Tally's amounts.
    #[error("the amount the posting without an amount would take is too large")]
    ElidedTooLarge,
    /// Fewer than two non-zero postings once zero postings are dropped.
    #[error("a transaction needs at least 2 postings with a non-zero amount, got {count}")]
    TooFewPostings {
        /// How many non-zero postings there were.
        count: usize,
    },
    /// More postings than a Tally entry may have.
    #[error("a transaction may have at most {max} postings")]
    TooManyPostings {
        /// The limit.
        max: usize,
    },
    /// A beancount string without its closing quote.
    #[error("string without a closing quote")]
    UnterminatedString,
    /// The entry Tally would make is refused by its own rules (e.g. unbalanced).
    #[error("{source}")]
    Entry {
        /// Why.
        source: EntryError,
    },
}

/// The kind of account a name stands for, from its top-level name: Assets, Liabilities,
/// Equity, Income / Revenue(s), Expenses (any case; singular forms too).
pub fn account_kind(name: &str) -> Result<AccountKind, JournalError> {
    let root = name.split(':').next().unwrap_or(name).trim();
    ROOTS
        .iter()
        .find(|(known, _)| root.eq_ignore_ascii_case(known))
        .map(|&(_, kind)| kind)
        .ok_or_else(|| JournalError::UnknownRoot {
            name: shorten(name),
        })
}

/// A posting as parsed: the amount is signed (negative is a credit) and absent when elided.
#[derive(Clone, Debug)]
pub(crate) struct ParsedPosting {
    /// Its 1-based line.
    pub line: u64,
    /// The account.
    pub account: AccountCode,
    /// The currency and signed minor units, `None` when the amount was left out.
    pub amount: Option<(Currency, i128)>,
}

/// A transaction being read, line by line.
#[derive(Debug)]
pub(crate) struct ParsedTransaction {
    /// The 1-based line of its header.
    pub line: u64,
    /// Its date.
    pub date: Date,
    /// Its description, already cleaned and bounded.
    pub description: String,
    /// Its postings so far.
    pub postings: Vec<ParsedPosting>,
    /// Its references so far (bounded by [`REFERENCES_PER_ENTRY_MAX`]).
    pub references: Vec<Reference>,
    /// Whether a problem was reported for it: the rest of its lines are skipped and it is not
    /// booked.
    pub failed: bool,
}

impl ParsedTransaction {
    /// A transaction with its header read.
    pub fn new(line: u64, date: Date, description: String) -> ParsedTransaction {
        ParsedTransaction {
            line,
            date,
            description,
            postings: Vec::new(),
            references: Vec::new(),
            failed: false,
        }
    }

    /// Adds a posting; refuses a second elided amount and too many postings.
    pub fn push_posting(&mut self, posting: ParsedPosting) -> Result<(), JournalError> {
        if posting.amount.is_none() && self.postings.iter().any(|p| p.amount.is_none()) {
            return Err(JournalError::SecondElidedAmount);
        }
        if self.postings.len() >= POSTINGS_PER_ENTRY_MAX {
            return Err(JournalError::TooManyPostings {
                max: POSTINGS_PER_ENTRY_MAX,
            });
        }
        self.postings.push(posting);
        Ok(())
    }

    /// Adds a reference, cleaned and cut to Tally's bounds. An empty value makes a bare tag
    /// (kind "tag", the name as value). Exact duplicates and references past
    /// [`REFERENCES_PER_ENTRY_MAX`] are dropped: a reference only links documents, and
    /// refusing a transaction for its seventeenth tag would lose more than the tag.
    pub fn push_reference(&mut self, kind: &str, value: &str) {
        let (kind, value) = (kind.trim(), value.trim());
        if kind.is_empty() || self.references.len() >= REFERENCES_PER_ENTRY_MAX {
            return;
        }
        let (kind, value) = if value.is_empty() {
            (TAG_REFERENCE, kind)
        } else {
            (kind, value)
        };
        let kind = clean_text(kind, REFERENCE_KIND_LEN_MAX);
        let value = clean_text(value, REFERENCE_VALUE_LEN_MAX);
        if kind.trim().is_empty() || value.trim().is_empty() {
            return;
        }
        let duplicate = self
            .references
            .iter()
            .any(|known| known.kind == kind && known.value == value);
        if !duplicate {
            self.references.push(Reference { kind, value });
        }
    }
}

/// Collects a reader's results: accounts, transactions, problems, ignored directives.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    journal: Journal,
    /// Account name to its position in `journal.accounts`.
    account_index: HashMap<String, usize>,
    /// Hash of a transaction's content to how many such transactions were read already.
    seen_contents: HashMap<u128, u64>,
    /// Problems past [`PROBLEMS_MAX`].
    problems_omitted: usize,
}

impl Collector {
    /// Records a problem on `line`.
    pub fn problem(&mut self, line: u64, error: JournalError) {
        if self.journal.problems.len() < PROBLEMS_MAX {
            self.journal.problems.push(LineProblem {
                line,
                message: error.to_string(),
            });
        } else {
            self.problems_omitted = self.problems_omitted.saturating_add(1);
        }
    }

    /// Counts a directive that was understood and skipped.
    pub fn ignore(&mut self, keyword: &'static str) {
        self.journal.ignored_directives = self.journal.ignored_directives.saturating_add(1);
        let counts = &mut self.journal.ignored_by_keyword;
        match counts.iter_mut().find(|(known, _)| *known == keyword) {
            Some((_, count)) => *count = count.saturating_add(1),
            None => counts.push((keyword, 1)),
        }
    }

    /// Declares an account (`account NAME`, `open NAME`) on `line`.
    pub fn declare_account(&mut self, name: &str, line: u64) -> Result<(), JournalError> {
        let (code, kind) = parse_account(name)?;
        if !self.account_index.contains_key(code.as_str()) {
            if self.journal.accounts.len() >= ACCOUNTS_MAX {
                return Err(JournalError::TooManyAccounts { max: ACCOUNTS_MAX });
            }
            self.list_account(code, kind, line);
        }
        Ok(())
    }

    fn list_account(&mut self, code: AccountCode, kind: AccountKind, line: u64) {
        self.account_index
            .insert(code.as_str().to_owned(), self.journal.accounts.len());
        self.journal
            .accounts
            .push(JournalAccount { code, kind, line });
    }

    /// Ends a transaction: books it, or records why not (unless a problem was recorded
    /// already).
    pub fn finish_transaction(&mut self, transaction: ParsedTransaction) {
        if transaction.failed {
            return;
        }
        let line = transaction.line;
        if let Err((problem_line, error)) = self.book(transaction) {
            self.problem(problem_line.unwrap_or(line), error);
        }
    }

    /// The rules of [`finish_transaction`](Self::finish_transaction); an error names its line
    /// when it is a posting's rather than the header's.
    fn book(&mut self, transaction: ParsedTransaction) -> Result<(), LineError> {
        let ParsedTransaction {
            line,
            date,
            description,
            postings,
            references,
            failed: _,
        } = transaction;
        let postings = resolve_postings(postings)?;
        let new_accounts = self.new_accounts(&postings);
        if self
            .journal
            .accounts
            .len()
            .saturating_add(new_accounts.len())
            > ACCOUNTS_MAX
        {
            return Err((None, JournalError::TooManyAccounts { max: ACCOUNTS_MAX }));
        }
        let id = self.next_id(date, &description, &postings);
        let draft = make_draft(id, date, description, postings, references);
        let entry = draft
            .check()
            .map_err(|source| (None, JournalError::Entry { source }))?
            .into_draft();
        for (code, kind, posting_line) in new_accounts {
            if !self.account_index.contains_key(code.as_str()) {
                self.list_account(code, kind, posting_line);
            }
        }
        self.journal
            .transactions
            .push(JournalTransaction { line, entry });
        Ok(())
    }

    /// The accounts of `postings` not listed yet, with the line each was used on.
    fn new_accounts(&self, postings: &[(u64, Posting)]) -> Vec<(AccountCode, AccountKind, u64)> {
        let mut fresh: Vec<(AccountCode, AccountKind, u64)> = Vec::new();
        for (line, posting) in postings {
            let code = &posting.account;
            if self.account_index.contains_key(code.as_str())
                || fresh.iter().any(|(known, _, _)| known == code)
            {
                continue;
            }
            // Postings were made from names account_kind accepted, so this cannot fail; a
            // failure would only leave the account unlisted, never book it wrongly.
            if let Ok(kind) = account_kind(code.as_str()) {
                fresh.push((code.clone(), kind, *line));
            }
        }
        fresh
    }

    /// The id of the next transaction with this content (see the module documentation).
    fn next_id(&mut self, date: Date, description: &str, postings: &[(u64, Posting)]) -> EntryId {
        let mut hash = Fnv128::new();
        hash.write(&date.packed().to_le_bytes());
        hash.write(description.as_bytes());
        hash.write(&[0xff]);
        for (_, posting) in postings {
            hash.write(posting.account.as_str().as_bytes());
            hash.write(&[0xff, side_byte(posting.side)]);
            hash.write(&posting.amount.to_le_bytes());
            hash.write(posting.currency.code().as_bytes());
        }
        let content = hash.finish();
        let seen = self.seen_contents.entry(content).or_insert(0);
        let occurrence = *seen;
        *seen = seen.saturating_add(1);
        let digest = if occurrence == 0 {
            content
        } else {
            let mut again = Fnv128::new();
            again.write(&content.to_le_bytes());
            again.write(&occurrence.to_le_bytes());
            again.finish()
        };
        let mut text = String::with_capacity(ENTRY_ID_PREFIX.len() + 32);
        text.push_str(ENTRY_ID_PREFIX);
        // Writing to a String cannot fail.
        let _ = write!(text, "{digest:032x}");
        // "journal:" and 32 hex digits are 40 bytes of allowed characters.
        EntryId::new(&text).expect("a prefix and hex digits make a valid entry id")
    }

    /// The journal read.
    pub fn finish(mut self) -> Journal {
        if self.problems_omitted > 0 {
            self.journal.problems.push(LineProblem {
                line: 0,
                message: JournalError::TooManyProblems {
                    omitted: self.problems_omitted,
                    max: PROBLEMS_MAX,
                }
                .to_string(),
            });
        }
        self.journal
    }
}

/// The journal of a file refused whole, or `None` if its size is acceptable.
pub(crate) fn refuse_whole(text: &str) -> Option<Journal> {
    if text.len() <= JOURNAL_BYTES_MAX {
        return None;
    }
    let mut collector = Collector::default();
    collector.problem(
        0,
        JournalError::FileTooLarge {
            len: text.len(),
            max: JOURNAL_BYTES_MAX,
        },
    );
    Some(collector.finish())
}

/// The lines of `text` with their 1-based numbers, without line ends (`\n` or `\r\n`).
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let lines = if text.is_empty() {
        None
    } else {
        Some(body.split('\n'))
    };
    lines
        .into_iter()
        .flatten()
        .zip(1u64..)
        .map(|(line, number)| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            (number, line)
        })
}

/// Validates an account name as a Tally account code and finds its kind.
pub(crate) fn parse_account(name: &str) -> Result<(AccountCode, AccountKind), JournalError> {
    let code = AccountCode::new(name).map_err(|source| JournalError::AccountCode {
        name: shorten(name),
        source,
    })?;
    let kind = account_kind(name)?;
    Ok((code, kind))
}

/// An error of a transaction and the line of the posting it concerns (`None`: the header's).
type LineError = (Option<u64>, JournalError);

/// Fills in the elided amount, drops zero postings and turns signs into sides.
fn resolve_postings(postings: Vec<ParsedPosting>) -> Result<Vec<(u64, Posting)>, LineError> {
    let mut nets: Vec<(Currency, i128)> = Vec::new();
    for (currency, minor) in postings.iter().filter_map(|posting| posting.amount) {
        match nets.iter_mut().find(|(known, _)| *known == currency) {
            Some((_, net)) => *net = net.saturating_add(minor),
            None => nets.push((currency, minor)),
        }
    }
    nets.retain(|(_, net)| *net != 0);
    let mut resolved = Vec::with_capacity(postings.len());
    for posting in postings {
        let (currency, minor) = match posting.amount {
            Some(amount) => amount,
            None => match nets.as_slice() {
                [] => continue,
                [(currency, net)] => (*currency, net.saturating_neg()),
                several => {
                    let currencies = several
                        .iter()
                        .map(|(currency, _)| currency.code())
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err((
                        Some(posting.line),
                        JournalError::ElidedSeveralCurrencies { currencies },
                    ));
                }
            },
        };
        if minor == 0 {
            continue;
        }
        let side = if minor < 0 { Side::Credit } else { Side::Debit };
        let amount = u64::try_from(minor.unsigned_abs())
            .map_err(|_| (Some(posting.line), JournalError::ElidedTooLarge))?;
        resolved.push((
            posting.line,
            Posting {
                account: posting.account,
                side,
                amount,
                currency,
            },
        ));
    }
    if resolved.len() < 2 {
        return Err((
            None,
            JournalError::TooFewPostings {
                count: resolved.len(),
            },
        ));
    }
    Ok(resolved)
}

/// The one place that builds an [`EntryDraft`], so a field added to it is set here alone.
fn make_draft(
    id: EntryId,
    date: Date,
    description: String,
    postings: Vec<(u64, Posting)>,
    references: Vec<Reference>,
) -> EntryDraft {
    EntryDraft {
        id,
        date,
        description,
        postings: postings.into_iter().map(|(_, posting)| posting).collect(),
        references,
        reverses: None,
        sealed: Default::default(),
        seal_keys: Vec::new(),
    }
}

fn side_byte(side: Side) -> u8 {
    match side {
        Side::Debit => 0,
        Side::Credit => 1,
    }
}

/// Free text made acceptable to Tally: control and text-direction characters become spaces
/// (tabs are common in journals, and Tally refuses them in descriptions), and the text is cut
/// to `max` bytes on a character boundary.
pub(crate) fn clean_text(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for ch in text.chars() {
        let ch = if is_control_or_bidi(ch) { ' ' } else { ch };
        if out.len().saturating_add(ch.len_utf8()) > max {
            break;
        }
        out.push(ch);
    }
    out
}

/// Tally's rule for free text (the ledger keeps its own copy private): control characters and
/// the characters that reorder displayed text.
fn is_control_or_bidi(ch: char) -> bool {
    ch.is_control() || matches!(ch, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
}

/// How many characters of input an error message repeats.
const ECHO_CHARS_MAX: usize = 64;

/// Input repeated in an error message: at most [`ECHO_CHARS_MAX`] characters, hidden ones
/// spelled out, so a message can neither flood a log nor hide its own text.
pub(crate) fn shorten(text: &str) -> String {
    let mut out = String::new();
    for (index, ch) in text.chars().enumerate() {
        if index == ECHO_CHARS_MAX {
            out.push('…');
            break;
        }
        if is_control_or_bidi(ch) {
            out.extend(ch.escape_unicode());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Parses a journal date: year, month and day separated by `-`, `/` or `.` (one separator
/// throughout), month and day of one or two digits.
pub(crate) fn parse_date(text: &str) -> Result<Date, JournalError> {
    let error = || JournalError::Date {
        text: shorten(text),
    };
    let separator = text
        .bytes()
        .find(|b| matches!(b, b'-' | b'/' | b'.'))
        .ok_or_else(error)?;
    let mut parts = text.split(char::from(separator));
    let mut number = |digits_min: usize, digits_max: usize| -> Option<u32> {
        let part = parts.next()?;
        if part.len() < digits_min || part.len() > digits_max {
            return None;
        }
        part.bytes().try_fold(0u32, |value, b| {
            b.is_ascii_digit().then(|| value * 10 + u32::from(b - b'0'))
        })
    };
    let (year, month, day) = (number(4, 4), number(1, 2), number(1, 2));
    match (year, month, day, parts.next()) {
        (Some(year), Some(month), Some(day), None) => {
            Date::from_ymd(year, month, day).map_err(|_| error())
        }
        _ => Err(error()),
    }
}

/// 128-bit FNV-1a: small, fixed forever (unlike std's hasher), and enough bits that a million
/// transactions do not collide.
struct Fnv128(u128);

impl Fnv128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

    fn new() -> Fnv128 {
        Fnv128(Self::OFFSET)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u128::from(byte);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    fn finish(&self) -> u128 {
        self.0
    }
}
