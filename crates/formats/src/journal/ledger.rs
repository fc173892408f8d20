//! The ledger-cli / hledger reader: the common subset of both syntaxes, one pass over the
//! lines.
//!
//! Understood: `account` (indented subdirectives ignored), `commodity` (a sample amount with
//! a decimal comma makes that commodity's amounts use one), `decimal-mark`, `D` (default
//! commodity), comments (`;`, `#`, `*`, `%`, `|` at line start, `;` after a header or
//! posting, indented `;` lines, `comment` … `end comment` blocks), and transactions
//! `DATE[=DATE2] [*|!] [(CODE)] DESCRIPTION [; COMMENT]` with indented postings
//! `[*|!] ACCOUNT  [AMOUNT] [= ASSERTION] [; COMMENT]`. Account names end at two spaces or a
//! tab, as both tools read them. Tags in comments (`tag:value`, `:tag1:tag2:`) and the code
//! become references.
//!
//! Skipped and counted: `P`, `payee`, `tag`, `Y`/`year`, `N`, `C`, periodic transactions
//! (`~`). Refused with a problem, because they would change what is booked: `include`,
//! `alias`, `apply`, automated transactions (`=`), virtual postings, prices and costs
//! (`@`, `@@`, `{}`), balance assignments, amount expressions.

use super::amount::{commodity_currency, parse_signed_amount, split_amount, NumberStyle};
use super::model::{
    clean_text, numbered_lines, parse_account, parse_date, refuse_whole, Collector, Journal,
    JournalError, ParsedPosting, ParsedTransaction, CODE_REFERENCE, LINE_BYTES_MAX,
};
use tally_ledger::DESCRIPTION_LEN_MAX;

/// Reads a ledger-cli / hledger journal. Never fails as a whole: what cannot be read is listed
/// in [`Journal::problems`] with its line.
pub fn read_ledger(text: &str) -> Journal {
    if let Some(refused) = refuse_whole(text) {
        return refused;
    }
    let mut reader = LedgerReader::default();
    for (number, line) in numbered_lines(text) {
        reader.line(number, line);
    }
    reader.end_block();
    reader.collector.finish()
}

/// What the indented lines that follow belong to.
#[derive(Debug, Default)]
enum Block {
    /// Nothing: an indented line is a stray.
    #[default]
    None,
    /// A transaction: indented lines are its postings and comments.
    Transaction(ParsedTransaction),
    /// A directive (or a refused line): indented lines are skipped.
    Directive,
    /// A `comment` or `test` block, up to its `end` line.
    Comment,
}

#[derive(Debug, Default)]
struct LedgerReader {
    collector: Collector,
    style: NumberStyle,
    block: Block,
    /// Reused by the amount parser.
    scratch: String,
}

impl LedgerReader {
    fn line(&mut self, number: u64, line: &str) {
        if matches!(self.block, Block::Comment) {
            if matches!(line.trim(), "end comment" | "end test") {
                self.block = Block::None;
            }
            return;
        }
        let indented = line.starts_with([' ', '\t']);
        if line.len() > LINE_BYTES_MAX {
            let error = JournalError::LineTooLong {
                len: line.len(),
                max: LINE_BYTES_MAX,
            };
            if !indented {
                self.end_block();
                self.block = Block::Directive;
            }
            self.fail(number, error);
            return;
        }
        let content = line.trim_start();
        if content.is_empty() {
            self.end_block();
        } else if indented {
            self.indented(number, content);
        } else {
            self.end_block();
            self.top_level(number, line);
        }
    }

    /// Records a problem; a transaction under way is left out.
    fn fail(&mut self, number: u64, error: JournalError) {
        if let Block::Transaction(transaction) = &mut self.block {
            if transaction.failed {
                return;
            }
            transaction.failed = true;
        }
        self.collector.problem(number, error);
    }

    fn end_block(&mut self) {
        if let Block::Transaction(transaction) = std::mem::take(&mut self.block) {
            self.collector.finish_transaction(transaction);
        }
    }

    fn indented(&mut self, number: u64, content: &str) {
        match &mut self.block {
            Block::Transaction(transaction) => {
                if transaction.failed {
                    return;
                }
                if let Some(comment) = content.strip_prefix(';') {
                    push_tags(transaction, comment);
                    return;
                }
                let result =
                    read_posting(transaction, number, content, &self.style, &mut self.scratch);
                if let Err(error) = result {
                    self.fail(number, error);
                }
            }
            Block::Directive | Block::Comment => {}
            Block::None => {
                if !content.starts_with([';', '#']) {
                    self.collector
                        .problem(number, JournalError::StrayIndentedLine);
                }
            }
        }
    }

    fn top_level(&mut self, number: u64, line: &str) {
        if line.starts_with([';', '#', '*', '%', '|']) {
            return;
        }
        if line.starts_with(|ch: char| ch.is_ascii_digit()) {
            self.header(number, line);
            return;
        }
        let (word, rest) = split_word(line);
        self.block = Block::Directive;
        let result = match word {
            "account" => self.collector.declare_account(account_name(rest), number),
            "commodity" => {
                self.commodity(rest, false);
                Ok(())
            }
            "D" => {
                self.commodity(rest, true);
                Ok(())
            }
            "decimal-mark" => match strip_comment(rest).trim() {
                "," => {
                    self.style.decimal_comma_everywhere = true;
                    Ok(())
                }
                "." => {
                    self.style.decimal_comma_everywhere = false;
                    Ok(())
                }
                _ => Err(JournalError::Malformed {
                    detail: "decimal-mark takes . or ,",
                }),
            },
            "comment" | "test" => {
                self.block = Block::Comment;
                Ok(())
            }
            "end" => Ok(()),
            "include" => Err(JournalError::Unsupported {
                feature: "include",
                hint: "; import each file on its own",
            }),
            "alias" | "apply" => Err(JournalError::Unsupported {
                feature: "account aliases and apply blocks",
                hint: "; write the account names out",
            }),
            "=" => Err(JournalError::Unsupported {
                feature: "automated transactions",
                hint: "; write their postings into each transaction",
            }),
            "i" | "o" | "I" | "O" | "h" | "b" => Err(JournalError::Unsupported {
                feature: "timeclock entries",
                hint: "",
            }),
            _ => match IGNORED_DIRECTIVES.iter().find(|known| **known == word) {
                Some(keyword) => {
                    self.collector.ignore(keyword);
                    Ok(())
                }
                None => Err(JournalError::UnknownDirective {
                    word: clean_text(word, WORD_ECHO_BYTES_MAX),
                }),
            },
        };
        if let Err(error) = result {
            self.collector.problem(number, error);
        }
    }

    /// `commodity X` or `commodity 1.000,00 EUR`; `D $1,000.00` also sets the default.
    fn commodity(&mut self, rest: &str, default: bool) {
        let text = strip_comment(rest).trim();
        let Ok(parts) = split_amount(text) else {
            // A bare symbol (`commodity EUR`) declares nothing Tally needs. An unknown one is
            // refused where an amount uses it, with that amount's line.
            return;
        };
        let Ok(currency) = commodity_currency(parts.commodity) else {
            return;
        };
        if default {
            self.style.default_currency = Some(currency);
        }
        if uses_decimal_comma(parts.number) && !self.style.decimal_comma.contains(&currency) {
            self.style.decimal_comma.push(currency);
        }
    }

    fn header(&mut self, number: u64, line: &str) {
        let (date_text, rest) = split_word(line);
        let primary = date_text.split('=').next().unwrap_or(date_text);
        let date = match parse_date(primary) {
            Ok(date) => date,
            Err(error) => {
                self.block = Block::Directive;
                self.collector.problem(number, error);
                return;
            }
        };
        let mut rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(['*', '!']) {
            rest = after.trim_start();
        }
        let mut code = "";
        if let Some(after) = rest.strip_prefix('(') {
            if let Some((inside, after)) = after.split_once(')') {
                code = inside.trim();
                rest = after.trim_start();
            }
        }
        let (description, comment) = match rest.split_once(';') {
            Some((description, comment)) => (description, Some(comment)),
            None => (rest, None),
        };
        let mut transaction = ParsedTransaction::new(number, date, describe(description.trim()));
        if !code.is_empty() {
            transaction.push_reference(CODE_REFERENCE, code);
        }
        if let Some(comment) = comment {
            push_tags(&mut transaction, comment);
        }
        self.block = Block::Transaction(transaction);
    }
}

/// Directives skipped and counted: prices, declarations of payees and tags, default year,
/// commodity conversions for display, periodic (budget) transactions. None changes a balance.
const IGNORED_DIRECTIVES: [&str; 8] = ["P", "payee", "tag", "Y", "year", "N", "C", "~"];

/// How many bytes of an unknown directive's word a problem repeats.
const WORD_ECHO_BYTES_MAX: usize = 32;

/// A posting line of a transaction.
fn read_posting(
    transaction: &mut ParsedTransaction,
    number: u64,
    content: &str,
    style: &NumberStyle,
    scratch: &mut String,
) -> Result<(), JournalError> {
    let mut rest = content;
    if let Some(after) = rest.strip_prefix(['*', '!']) {
        rest = after.trim_start();
    }
    if rest.starts_with(['(', '[']) {
        return Err(JournalError::Unsupported {
            feature: "virtual postings",
            hint: "; Tally books only real, balanced postings",
        });
    }
    let (name, after) = match rest.find("  ").into_iter().chain(rest.find('\t')).min() {
        Some(end) => rest.split_at(end),
        None => (rest, ""),
    };
    let (amount_text, comment) = match after.split_once(';') {
        Some((amount, comment)) => (amount, Some(comment)),
        None => (after, None),
    };
    let (account, _kind) = parse_account(name.trim_end())?;
    let amount = read_amount(amount_text, style, scratch)?;
    transaction.push_posting(ParsedPosting {
        line: number,
        account,
        amount,
    })?;
    if let Some(comment) = comment {
        push_tags(transaction, comment);
    }
    Ok(())
}

/// A posting's amount; `None` when left out. A balance assertion (`= AMOUNT`) only checks, so
/// it is dropped.
fn read_amount(
    text: &str,
    style: &NumberStyle,
    scratch: &mut String,
) -> Result<Option<(tally_ledger::Currency, i128)>, JournalError> {
    if text.contains('@') {
        return Err(JournalError::Unsupported {
            feature: "prices and costs (@, @@)",
            hint: "; Tally balances each currency on its own, book the conversion through an exchange account",
        });
    }
    if text.contains('{') {
        return Err(JournalError::Unsupported {
            feature: "lot costs ({...})",
            hint: "",
        });
    }
    let amount = match text.split_once('=') {
        Some((amount, _assertion)) if amount.trim().is_empty() => {
            return Err(JournalError::Unsupported {
                feature: "balance assignments (a posting with only = AMOUNT)",
                hint: "; write the amount",
            });
        }
        Some((amount, _assertion)) => amount.trim(),
        None => text.trim(),
    };
    if amount.is_empty() {
        return Ok(None);
    }
    if amount.starts_with('(') {
        return Err(JournalError::Unsupported {
            feature: "amount expressions",
            hint: "; write the resulting amount",
        });
    }
    parse_signed_amount(amount, style, scratch).map(Some)
}

/// `payee | narration` (hledger) with single spaces around the bar, else the text; cleaned
/// and cut to Tally's bound.
fn describe(text: &str) -> String {
    match text.split_once('|') {
        Some((payee, narration)) => {
            let (payee, narration) = (payee.trim(), narration.trim());
            match (payee.is_empty(), narration.is_empty()) {
                (true, _) => clean_text(narration, DESCRIPTION_LEN_MAX),
                (false, true) => clean_text(payee, DESCRIPTION_LEN_MAX),
                (false, false) => {
                    clean_text(&format!("{payee} | {narration}"), DESCRIPTION_LEN_MAX)
                }
            }
        }
        None => clean_text(text, DESCRIPTION_LEN_MAX),
    }
}

/// Tags of a comment: ledger's `:tag1:tag2:` and hledger's `name:value` (the value runs to the
/// next comma; a name without value is a bare tag).
pub(crate) fn push_tags(transaction: &mut ParsedTransaction, comment: &str) {
    let comment = comment.trim();
    if comment.len() > 1
        && comment.starts_with(':')
        && comment.ends_with(':')
        && !comment.contains(char::is_whitespace)
    {
        for name in comment.split(':').filter(|name| !name.is_empty()) {
            transaction.push_reference(name, "");
        }
        return;
    }
    for segment in comment.split(',') {
        let Some((before, value)) = segment.split_once(':') else {
            continue;
        };
        if before.ends_with(char::is_whitespace) {
            continue;
        }
        let name = before.rsplit(char::is_whitespace).next().unwrap_or(before);
        if !name.is_empty() {
            transaction.push_reference(name, value);
        }
    }
}

/// The first word of a line and the rest.
fn split_word(line: &str) -> (&str, &str) {
    match line.find(char::is_whitespace) {
        Some(end) => line.split_at(end),
        None => (line, ""),
    }
}

/// An account directive's name: up to two spaces or a tab, as the tools read it.
fn account_name(rest: &str) -> &str {
    let rest = rest.trim_start();
    let end = rest
        .find("  ")
        .into_iter()
        .chain(rest.find('\t'))
        .min()
        .unwrap_or(rest.len());
    rest[..end].trim_end()
}

fn strip_comment(text: &str) -> &str {
    text.split(';').next().unwrap_or(text)
}

/// Whether a sample number such as `1.000,00` uses a decimal comma: its last mark is a comma
/// not followed by exactly three digits, or a comma after a period.
fn uses_decimal_comma(number: &str) -> bool {
    match (number.rfind(','), number.rfind('.')) {
        (Some(comma), Some(period)) => comma > period,
        (Some(comma), None) => number.len() - comma - 1 != 3,
        _ => false,
    }
}
