//! The beancount reader, one pass over the lines.
//!
//! Understood: `DATE open ACCOUNT [CURRENCIES] [BOOKING]`, `DATE commodity CUR`, transactions
//! `DATE (*|!|txn) ["payee"] ["narration"] [#tag] [^link] [; comment]` with indented postings
//! `[*|!] ACCOUNT [AMOUNT CUR] [; comment]` (one may leave its amount out) and metadata lines
//! `key: value` on the transaction or a posting, `pushtag`/`poptag`, `pushmeta`/`popmeta`,
//! comments (`;` anywhere, `*` and `#` at line start as org-mode headings and the like).
//! Tags, links and metadata become references.
//!
//! Skipped and counted: `balance`, `pad`, `price`, `note`, `document`, `event`, `query`,
//! `custom`, `close`, `option`, `plugin`. Refused with a problem: `include`, prices and costs
//! (`@`, `@@`, `{}`), arithmetic in amounts, strings spanning several lines.

use super::amount::{parse_signed_amount, NumberStyle};
use super::model::{
    clean_text, numbered_lines, parse_account, parse_date, refuse_whole, Collector, Journal,
    JournalError, ParsedPosting, ParsedTransaction, LINE_BYTES_MAX, LINK_REFERENCE, TAG_REFERENCE,
};
use tally_ledger::{Currency, DESCRIPTION_LEN_MAX};

/// Reads a beancount file. Never fails as a whole: what cannot be read is listed in
/// [`Journal::problems`] with its line.
pub fn read_beancount(text: &str) -> Journal {
    if let Some(refused) = refuse_whole(text) {
        return refused;
    }
    let mut reader = BeancountReader::default();
    for (number, line) in numbered_lines(text) {
        reader.line(number, line);
    }
    reader.end_block();
    reader.collector.finish()
}

/// Dated directives skipped and counted: they assert, annotate or price, and none books an
/// amount (`pad` does in beancount, but only to satisfy a `balance` assertion, which Tally
/// does not evaluate). `close` is skipped too: Tally's chart closes accounts on its own terms.
const IGNORED_DATED: [&str; 9] = [
    "balance", "pad", "price", "note", "document", "event", "query", "custom", "close",
];

/// Undated directives skipped and counted.
const IGNORED_UNDATED: [&str; 2] = ["option", "plugin"];

/// Most tags and metadata pushed at once (`pushtag`, `pushmeta`): a transaction holds at most
/// this many references anyway.
const PUSHED_MAX: usize = tally_ledger::REFERENCES_PER_ENTRY_MAX;

/// What the indented lines that follow belong to.
#[derive(Debug, Default)]
enum Block {
    /// Nothing: an indented line is a stray.
    #[default]
    None,
    /// A transaction: postings, metadata, comments.
    Transaction(ParsedTransaction),
    /// Another directive (or a refused line): its metadata lines are skipped.
    Directive,
}

#[derive(Debug, Default)]
struct BeancountReader {
    collector: Collector,
    block: Block,
    /// Tags of `pushtag`, added to every transaction until `poptag`.
    pushed_tags: Vec<String>,
    /// Metadata of `pushmeta`, added to every transaction until `popmeta`.
    pushed_meta: Vec<(String, String)>,
    /// Beancount writes decimals with a period, always.
    style: NumberStyle,
    /// Reused by the amount parser.
    scratch: String,
}

impl BeancountReader {
    fn line(&mut self, number: u64, line: &str) {
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
            // Beancount allows blank lines inside a transaction only before the next
            // directive; ending the block here is what its own grammar does too.
            self.end_block();
        } else if indented {
            self.indented(number, content);
        } else {
            self.end_block();
            if let Err(error) = self.top_level(number, line) {
                self.block = Block::Directive;
                self.collector.problem(number, error);
            }
        }
    }

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
                if transaction.failed || content.starts_with(';') {
                    return;
                }
                let result = if content.starts_with(['#', '^']) {
                    push_tags_and_links(transaction, content)
                } else if content.starts_with(|ch: char| ch.is_ascii_lowercase()) {
                    read_metadata(content)
                        .map(|(key, value)| transaction.push_reference(key, &value))
                } else {
                    read_posting(transaction, number, content, &self.style, &mut self.scratch)
                };
                if let Err(error) = result {
                    self.fail(number, error);
                }
            }
            Block::Directive => {}
            Block::None => {
                if !content.starts_with(';') {
                    self.collector
                        .problem(number, JournalError::StrayIndentedLine);
                }
            }
        }
    }

    fn top_level(&mut self, number: u64, line: &str) -> Result<(), JournalError> {
        if line.starts_with([';', '*', '#']) {
            return Ok(());
        }
        self.block = Block::Directive;
        let (word, rest) = split_word(line);
        if line.starts_with(|ch: char| ch.is_ascii_digit()) {
            return self.dated(number, word, rest);
        }
        let rest = strip_comment(rest).trim();
        match word {
            "include" => Err(JournalError::Unsupported {
                feature: "include",
                hint: "; import each file on its own",
            }),
            "pushtag" => {
                let tag = rest.strip_prefix('#').ok_or(JournalError::Malformed {
                    detail: "pushtag takes a #tag",
                })?;
                if self.pushed_tags.len() < PUSHED_MAX {
                    self.pushed_tags.push(tag.to_owned());
                }
                Ok(())
            }
            "poptag" => {
                let tag = rest.strip_prefix('#').unwrap_or(rest);
                if let Some(position) = self.pushed_tags.iter().rposition(|known| known == tag) {
                    self.pushed_tags.remove(position);
                }
                Ok(())
            }
            "pushmeta" => {
                let (key, value) = read_metadata(rest)?;
                if self.pushed_meta.len() < PUSHED_MAX {
                    self.pushed_meta.push((key.to_owned(), value));
                }
                Ok(())
            }
            "popmeta" => {
                let key = rest.trim_end_matches(':').trim();
                if let Some(position) = self.pushed_meta.iter().rposition(|(known, _)| known == key)
                {
                    self.pushed_meta.remove(position);
                }
                Ok(())
            }
            _ => match IGNORED_UNDATED.iter().find(|known| **known == word) {
                Some(keyword) => {
                    self.collector.ignore(keyword);
                    Ok(())
                }
                None => Err(JournalError::UnknownDirective {
                    word: clean_text(word, WORD_ECHO_BYTES_MAX),
                }),
            },
        }
    }

    /// A line starting with a date.
    fn dated(&mut self, number: u64, date_text: &str, rest: &str) -> Result<(), JournalError> {
        let date = parse_date(date_text)?;
        let (keyword, rest) = split_word(rest.trim_start());
        match keyword {
            "*" | "!" | "txn" => {
                let transaction = self.header(number, date, rest)?;
                self.block = Block::Transaction(transaction);
                Ok(())
            }
            "open" => {
                let (account, _) = split_word(rest.trim_start());
                self.collector.declare_account(account, number)
            }
            "commodity" => Ok(()),
            _ => match IGNORED_DATED.iter().find(|known| **known == keyword) {
                Some(keyword) => {
                    self.collector.ignore(keyword);
                    Ok(())
                }
                None => Err(JournalError::UnknownDirective {
                    word: clean_text(keyword, WORD_ECHO_BYTES_MAX),
                }),
            },
        }
    }

    /// `["payee"] ["narration"] [#tag] [^link] [; comment]` after the flag.
    fn header(
        &self,
        number: u64,
        date: tally_ledger::Date,
        rest: &str,
    ) -> Result<ParsedTransaction, JournalError> {
        let mut strings: Vec<String> = Vec::with_capacity(2);
        let mut marks: Vec<(&str, &str)> = Vec::new();
        let mut rest = rest.trim_start();
        while !rest.is_empty() && !rest.starts_with(';') {
            if rest.starts_with('"') {
                let (text, after) = read_string(rest)?;
                if strings.len() == 2 {
                    return Err(JournalError::Malformed {
                        detail: "a transaction has at most two strings, payee and narration",
                    });
                }
                strings.push(text);
                rest = after.trim_start();
            } else if rest.starts_with(['#', '^']) {
                let (word, after) = split_word(rest);
                marks.push(word.split_at(1));
                rest = after.trim_start();
            } else {
                return Err(JournalError::Malformed {
                    detail: "expected \"payee\" \"narration\", #tags and ^links after the flag",
                });
            }
        }
        let description = match strings.as_slice() {
            [payee, narration] if !payee.is_empty() && !narration.is_empty() => {
                clean_text(&format!("{payee} | {narration}"), DESCRIPTION_LEN_MAX)
            }
            [payee, narration] => clean_text(
                if payee.is_empty() { narration } else { payee },
                DESCRIPTION_LEN_MAX,
            ),
            [narration] => clean_text(narration, DESCRIPTION_LEN_MAX),
            _ => String::new(),
        };
        let mut transaction = ParsedTransaction::new(number, date, description);
        for (mark, name) in marks {
            push_mark(&mut transaction, mark, name);
        }
        for tag in &self.pushed_tags {
            transaction.push_reference(TAG_REFERENCE, tag);
        }
        for (key, value) in &self.pushed_meta {
            transaction.push_reference(key, value);
        }
        Ok(transaction)
    }
}

/// How many bytes of an unknown directive's word a problem repeats.
const WORD_ECHO_BYTES_MAX: usize = 32;

fn push_mark(transaction: &mut ParsedTransaction, mark: &str, name: &str) {
    let kind = if mark == "#" {
        TAG_REFERENCE
    } else {
        LINK_REFERENCE
    };
    transaction.push_reference(kind, name);
}

/// An indented line of `#tags` and `^links`.
fn push_tags_and_links(
    transaction: &mut ParsedTransaction,
    content: &str,
) -> Result<(), JournalError> {
    for word in strip_comment(content).split_whitespace() {
        if !word.starts_with(['#', '^']) {
            return Err(JournalError::Malformed {
                detail: "expected #tags and ^links",
            });
        }
        let (mark, name) = word.split_at(1);
        push_mark(transaction, mark, name);
    }
    Ok(())
}

/// `key: value`; a string value is unquoted.
fn read_metadata(content: &str) -> Result<(&str, String), JournalError> {
    let malformed = JournalError::Malformed {
        detail: "expected metadata key: value (a key starts with a lower-case letter)",
    };
    let Some((key, value)) = content.split_once(':') else {
        return Err(malformed);
    };
    let key_ok = key.starts_with(|ch: char| ch.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if !key_ok || !(value.is_empty() || value.starts_with(char::is_whitespace)) {
        return Err(malformed);
    }
    let value = value.trim_start();
    if value.starts_with('"') {
        let (text, after) = read_string(value)?;
        if !strip_comment(after).trim().is_empty() {
            return Err(malformed);
        }
        Ok((key, text))
    } else {
        Ok((key, strip_comment(value).trim().to_owned()))
    }
}

/// A posting: `[flag] ACCOUNT [AMOUNT CUR] [; comment]`.
fn read_posting(
    transaction: &mut ParsedTransaction,
    number: u64,
    content: &str,
    style: &NumberStyle,
    scratch: &mut String,
) -> Result<(), JournalError> {
    let mut rest = content;
    if let Some(after) = rest
        .strip_prefix(['*', '!'])
        .filter(|after| after.starts_with(char::is_whitespace))
    {
        rest = after.trim_start();
    }
    let (name, after) = split_word(rest);
    let amount_text = strip_comment(after).trim();
    if amount_text.contains('@') {
        return Err(JournalError::Unsupported {
            feature: "prices and costs (@, @@)",
            hint: "; Tally balances each currency on its own, book the conversion through an exchange account",
        });
    }
    if amount_text.contains('{') {
        return Err(JournalError::Unsupported {
            feature: "lot costs ({...})",
            hint: "",
        });
    }
    if amount_text.contains(['(', ')', '*', '/']) {
        return Err(JournalError::Unsupported {
            feature: "arithmetic in amounts",
            hint: "; write the resulting amount",
        });
    }
    let (account, _kind) = parse_account(name)?;
    let amount: Option<(Currency, i128)> = if amount_text.is_empty() {
        None
    } else {
        Some(parse_signed_amount(amount_text, style, scratch)?)
    };
    transaction.push_posting(ParsedPosting {
        line: number,
        account,
        amount,
    })
}

/// A double-quoted string with `\"` and `\\` escapes, and what follows it.
fn read_string(text: &str) -> Result<(String, &str), JournalError> {
    let inside = text
        .strip_prefix('"')
        .ok_or(JournalError::UnterminatedString)?;
    let mut value = String::new();
    let mut chars = inside.char_indices();
    while let Some((index, ch)) = chars.next() {
        match ch {
            '"' => return Ok((value, &inside[index + 1..])),
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push(' '),
                Some((_, 't')) => value.push(' '),
                Some((_, escaped)) => value.push(escaped),
                None => return Err(JournalError::UnterminatedString),
            },
            _ => value.push(ch),
        }
    }
    Err(JournalError::UnterminatedString)
}

/// The first word of a line and the rest.
fn split_word(line: &str) -> (&str, &str) {
    match line.find(char::is_whitespace) {
        Some(end) => line.split_at(end),
        None => (line, ""),
    }
}

/// Text before a `;` comment. Only used where no string can hold a `;`.
fn strip_comment(text: &str) -> &str {
    text.split(';').next().unwrap_or(text)
}
