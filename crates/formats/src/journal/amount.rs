//! Amounts as journals write them, turned into a Tally currency and signed minor units.
//!
//! Accepted: a sign before or after the commodity (`-$12.50`, `$-12.50`, `-12.50 USD`), the
//! commodity before or after the number, with or without a space (`EUR 1,234.56`, `12.50EUR`,
//! `€5`), grouping marks between groups of three digits, a number without a whole part
//! (`$.50`). A commodity declared with a decimal comma (hledger's `commodity EUR 1.000,00`, or
//! `decimal-mark ,`) swaps the roles of `.` and `,`. Refused with a message: expressions,
//! scientific notation, unknown commodities, more decimals than the currency has.

use tally_ledger::{parse_amount, Currency};

use super::model::{shorten, JournalError};

/// Currency symbols and the ISO 4217 code each stands for.
const SYMBOLS: [(&str, &str); 4] = [("$", "USD"), ("€", "EUR"), ("£", "GBP"), ("¥", "JPY")];

/// Longest number accepted, in bytes (digits and marks). `u64::MAX` has 20 digits; with
/// grouping marks and decimals 40 bytes is more than any amount Tally can hold.
const NUMBER_BYTES_MAX: usize = 40;

/// How a journal writes decimals: which currencies use a decimal comma.
#[derive(Clone, Debug, Default)]
pub(crate) struct NumberStyle {
    /// Every commodity uses a decimal comma (hledger's `decimal-mark ,`).
    pub decimal_comma_everywhere: bool,
    /// Currencies declared with a decimal comma (`commodity EUR 1.000,00`).
    pub decimal_comma: Vec<Currency>,
    /// The currency of amounts written without one (ledger's `D $1,000.00`).
    pub default_currency: Option<Currency>,
}

impl NumberStyle {
    fn uses_decimal_comma(&self, currency: Currency) -> bool {
        self.decimal_comma_everywhere || self.decimal_comma.contains(&currency)
    }
}

/// The parts of an amount as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AmountParts<'a> {
    /// The commodity, without quotes; empty if none was written.
    pub commodity: &'a str,
    /// The digits and marks.
    pub number: &'a str,
    /// Whether a minus sign was written.
    pub negative: bool,
}

/// Parses an amount into its currency and signed minor units. `scratch` is reused between
/// calls so that reading a million amounts does not allocate a million strings.
pub(crate) fn parse_signed_amount(
    text: &str,
    style: &NumberStyle,
    scratch: &mut String,
) -> Result<(Currency, i128), JournalError> {
    let parts = split_amount(text)?;
    let currency = if parts.commodity.is_empty() {
        style
            .default_currency
            .ok_or_else(|| JournalError::MissingCommodity {
                text: shorten(text),
            })?
    } else {
        commodity_currency(parts.commodity)?
    };
    let (decimal, grouping) = if style.uses_decimal_comma(currency) {
        (',', '.')
    } else {
        ('.', ',')
    };
    normalize_number(parts.number, decimal, grouping, scratch).ok_or_else(|| {
        JournalError::MalformedAmount {
            text: shorten(text),
        }
    })?;
    let minor =
        parse_amount(scratch, currency).map_err(|source| JournalError::Amount { source })?;
    let minor = i128::from(minor);
    Ok((currency, if parts.negative { -minor } else { minor }))
}

/// The currency a commodity stands for: a symbol, or an ISO 4217 code as Tally knows it.
pub(crate) fn commodity_currency(commodity: &str) -> Result<Currency, JournalError> {
    let code = SYMBOLS
        .iter()
        .find(|(symbol, _)| *symbol == commodity)
        .map_or(commodity, |&(_, code)| code);
    Currency::from_code(code).map_err(|_| JournalError::UnknownCommodity {
        commodity: shorten(commodity),
    })
}

/// Splits an amount into commodity, number and sign, without judging the number's digits.
pub(crate) fn split_amount(text: &str) -> Result<AmountParts<'_>, JournalError> {
    let malformed = || JournalError::MalformedAmount {
        text: shorten(text),
    };
    let (sign_before, rest) = strip_sign(text.trim());
    let rest = rest.trim_start();
    let (commodity, number, sign_inside) = if rest.starts_with(is_number_start) {
        let (number, after) = take_number(rest);
        (unquote(after.trim()).ok_or_else(malformed)?, number, None)
    } else {
        let (commodity, after) = take_commodity(rest).ok_or_else(malformed)?;
        let (sign_inside, after) = strip_sign(after.trim_start());
        let (number, after) = take_number(after.trim_start());
        if !after.trim().is_empty() {
            return Err(malformed());
        }
        (commodity, number, sign_inside)
    };
    let negative = match (sign_before, sign_inside) {
        (Some(_), Some(_)) => return Err(malformed()),
        (Some(sign), None) | (None, Some(sign)) => sign == '-',
        (None, None) => false,
    };
    if number.is_empty() {
        return Err(malformed());
    }
    Ok(AmountParts {
        commodity,
        number,
        negative,
    })
}

fn is_number_start(ch: char) -> bool {
    ch.is_ascii_digit() || ch == '.' || ch == ','
}

fn strip_sign(text: &str) -> (Option<char>, &str) {
    match text.chars().next() {
        Some(sign @ ('-' | '+')) => (Some(sign), &text[1..]),
        _ => (None, text),
    }
}

/// The leading run of digits and marks, and what follows it.
fn take_number(text: &str) -> (&str, &str) {
    let end = text
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '.' || ch == ','))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// A leading commodity (quoted, or a run of characters that are not digits, signs, marks or
/// spaces), and what follows it.
fn take_commodity(text: &str) -> Option<(&str, &str)> {
    if let Some(quoted) = text.strip_prefix('"') {
        let end = quoted.find('"')?;
        let (inside, after) = quoted.split_at(end);
        return Some((inside, &after[1..]));
    }
    let end = text
        .find(|ch: char| {
            ch.is_ascii_digit() || ch.is_whitespace() || matches!(ch, '-' | '+' | '.' | ',')
        })
        .unwrap_or(text.len());
    let (commodity, after) = text.split_at(end);
    (!commodity.is_empty()).then_some((commodity, after))
}

/// A trailing commodity: quoted or a bare word without spaces or quotes.
fn unquote(text: &str) -> Option<&str> {
    if let Some(quoted) = text.strip_prefix('"') {
        let inside = quoted.strip_suffix('"')?;
        return (!inside.contains('"')).then_some(inside);
    }
    let bare = !text.contains(|ch: char| {
        ch.is_whitespace() || matches!(ch, '"' | '-' | '+' | '(' | ')' | '*' | '/' | '@' | '{')
    });
    bare.then_some(text)
}

/// Writes `number` into `out` as `parse_amount` reads it: grouping marks removed (each must
/// be followed by exactly three digits), the decimal mark made a `.`, a missing whole part
/// made `0`. `None` if the number is not well formed.
fn normalize_number(number: &str, decimal: char, grouping: char, out: &mut String) -> Option<()> {
    out.clear();
    if number.is_empty() || number.len() > NUMBER_BYTES_MAX {
        return None;
    }
    let (whole, fraction) = match number.split_once(decimal) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (number, None),
    };
    if fraction.is_some_and(|fraction| {
        fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit())
    }) {
        return None;
    }
    if whole.is_empty() {
        fraction?;
        out.push('0');
    }
    for (index, group) in whole.split(grouping).enumerate() {
        let well_formed = group.bytes().all(|b| b.is_ascii_digit())
            && if index == 0 {
                !group.is_empty() || whole.is_empty()
            } else {
                group.len() == 3
            };
        if !well_formed {
            return None;
        }
        out.push_str(group);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<(String, i128), String> {
        let mut scratch = String::new();
        parse_signed_amount(text, &NumberStyle::default(), &mut scratch)
            .map(|(currency, minor)| (currency.code().to_owned(), minor))
            .map_err(|error| error.to_string())
    }

    #[test]
    fn reads_the_common_forms() {
        assert_eq!(read("$12.50"), Ok(("USD".into(), 1250)));
        assert_eq!(read("-$12.50"), Ok(("USD".into(), -1250)));
        assert_eq!(read("$-12.50"), Ok(("USD".into(), -1250)));
        assert_eq!(read("-12.50 USD"), Ok(("USD".into(), -1250)));
        assert_eq!(read("EUR 1,234.56"), Ok(("EUR".into(), 123_456)));
        assert_eq!(read("EUR -1,234.56"), Ok(("EUR".into(), -123_456)));
        assert_eq!(read("12.50 EUR"), Ok(("EUR".into(), 1250)));
        assert_eq!(read("12.50EUR"), Ok(("EUR".into(), 1250)));
        assert_eq!(read("€5"), Ok(("EUR".into(), 500)));
        assert_eq!(read("£0.01"), Ok(("GBP".into(), 1)));
        assert_eq!(read("¥1500"), Ok(("JPY".into(), 1500)));
        assert_eq!(read("$.50"), Ok(("USD".into(), 50)));
        assert_eq!(read("+3 USD"), Ok(("USD".into(), 300)));
        assert_eq!(read("\"USD\" 3"), Ok(("USD".into(), 300)));
    }

    #[test]
    fn refuses_what_it_cannot_read_exactly() {
        assert_eq!(
            read("12.505 USD"),
            Err("too many decimal places for USD: '12.505' (USD has 2)".into())
        );
        assert_eq!(
            read("5 BTC"),
            Err("commodity 'BTC' is not a currency Tally knows (expected an ISO 4217 code such as USD or EUR, or one of $ € £ ¥)".into())
        );
        assert_eq!(
            read("12.50"),
            Err("amount '12.50' has no commodity (write a currency such as USD or $)".into())
        );
        for bad in [
            "1,5 EUR",
            "1.234,56 EUR",
            "--5 USD",
            "-$-5",
            "1e3 USD",
            "(5 USD)",
            "$",
        ] {
            assert!(read(bad).is_err(), "{bad} was read");
        }
    }

    #[test]
    fn decimal_comma_commodities() {
        let style = NumberStyle {
            decimal_comma: vec![Currency::EUR],
            ..NumberStyle::default()
        };
        let mut scratch = String::new();
        assert_eq!(
            parse_signed_amount("EUR 1.234,56", &style, &mut scratch).ok(),
            Some((Currency::EUR, 123_456))
        );
        assert!(parse_signed_amount("24.00 EUR", &style, &mut scratch).is_err());
        assert_eq!(
            parse_signed_amount("$1,000.00", &style, &mut scratch).ok(),
            Some((Currency::USD, 100_000))
        );
    }
}
