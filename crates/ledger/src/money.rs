//! Currencies and amounts.
//!
//! Amounts are whole numbers of a currency's minor unit (cents for EUR, yen for
//! JPY, fils for KWD). Integers make every sum exact; a ledger that rounds can
//! not promise that debits equal credits. Decimal text is converted at the edge
//! by [`parse_amount`] and [`format_amount`] using the currency's ISO 4217
//! exponent, so "100.50 EUR" and "10050" minor units are the same thing.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::echo;

/// The largest minor-unit exponent this crate accepts in its currency table.
///
/// ISO 4217 uses at most 4 (the Chilean Unidad de Fomento); keeping the bound
/// small means `10^exponent` is a tiny number that no arithmetic here can
/// overflow with.
pub const CURRENCY_EXPONENT_MAX: u8 = 4;

/// The known ISO 4217 currencies and their minor-unit exponents, sorted by code.
///
/// A closed table instead of "any three letters" because the exponent decides
/// what "1.5" means, and guessing it for an unknown code would silently scale
/// amounts by a power of ten.
const ISO_4217: &[(&str, u8)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("LYD", 3),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYU", 2),
    ("VND", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("ZAR", 2),
];

/// An ISO 4217 currency: its three-letter code and its minor-unit exponent.
///
/// Only [`Currency::from_code`] (and the associated constants, which a test
/// checks against the table) make one, so the exponent always matches the code.
/// It serializes as the bare code (`"EUR"`) and deserializes through
/// `from_code`, so stored or received data cannot carry a wrong exponent.
/// Ordering is by code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

// Written by hand so serializing (every posting of every hashed entry) does not allocate.
impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

/// Why a currency code was refused.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum CurrencyError {
    /// The code is not in this crate's ISO 4217 table.
    #[error("unknown currency '{code}' (expected an ISO 4217 code such as EUR, USD, JPY)")]
    Unknown {
        /// The rejected code, shortened and with hidden characters spelled out.
        code: String,
    },
}

impl Currency {
    /// Euro, 2 decimal places.
    pub const EUR: Currency = Currency {
        code: "EUR",
        exponent: 2,
    };
    /// US dollar, 2 decimal places.
    pub const USD: Currency = Currency {
        code: "USD",
        exponent: 2,
    };
    /// Pound sterling, 2 decimal places.
    pub const GBP: Currency = Currency {
        code: "GBP",
        exponent: 2,
    };
    /// Japanese yen, no decimal places.
    pub const JPY: Currency = Currency {
        code: "JPY",
        exponent: 0,
    };
    /// Kuwaiti dinar, 3 decimal places.
    pub const KWD: Currency = Currency {
        code: "KWD",
        exponent: 3,
    };

    /// Looks up an ISO 4217 code. Codes are upper case, exactly as ISO writes
    /// them; "eur" is refused so that each currency has one spelling.
    pub fn from_code(code: &str) -> Result<Currency, CurrencyError> {
        match ISO_4217.binary_search_by(|(known, _)| (*known).cmp(code)) {
            Ok(index) => ISO_4217
                .get(index)
                .map(|&(code, exponent)| Currency { code, exponent })
                .ok_or_else(|| CurrencyError::Unknown { code: echo(code) }),
            Err(_) => Err(CurrencyError::Unknown { code: echo(code) }),
        }
    }

    /// The three-letter code, e.g. `"EUR"`.
    pub fn code(&self) -> &str {
        self.code
    }

    /// How many decimal places the minor unit has: 2 for EUR, 0 for JPY.
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    /// Every currency this crate knows, in code order.
    pub fn all() -> impl Iterator<Item = Currency> {
        ISO_4217
            .iter()
            .map(|&(code, exponent)| Currency { code, exponent })
    }

    /// `10^exponent`: how many minor units make one major unit.
    fn minor_per_major(self) -> u128 {
        // The table keeps exponents at or below CURRENCY_EXPONENT_MAX (a test
        // checks it), so this power is at most 10^4 and cannot overflow.
        10u128.pow(u32::from(self.exponent))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl std::str::FromStr for Currency {
    type Err = CurrencyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Currency::from_code(text)
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        Currency::from_code(&code)
    }
}

// Written by hand because serde's derive would tie the decoder's lifetime to the
// `&'static str` field, making `Currency` decodable only from `'static` input.
impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.code.to_owned()
    }
}

/// Why a decimal amount was refused.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum AmountError {
    /// Nothing was given.
    #[error("amount is empty")]
    Empty,
    /// A leading minus sign. Direction is expressed by debit or credit, never
    /// by sign, so a negative amount is always a mistake.
    #[error(
        "amount '{text}' is negative (use the other side, debit or credit, instead of a sign)"
    )]
    Negative {
        /// The rejected text.
        text: String,
    },
    /// More decimals than the currency's minor unit has.
    #[error("too many decimal places for {currency}: '{text}' ({currency} has {})", currency.exponent())]
    TooManyDecimals {
        /// The currency whose exponent was exceeded.
        currency: Currency,
        /// The rejected text.
        text: String,
    },
    /// The value does not fit in `u64` minor units.
    #[error("amount '{text}' is too large for {currency} (at most {})", format_amount(u128::from(u64::MAX), *currency))]
    Overflow {
        /// The currency the amount was meant in.
        currency: Currency,
        /// The rejected text.
        text: String,
    },
    /// A total (see [`parse_total`]) that does not fit in `u128` minor units.
    #[error("total '{text}' is too large for {currency} (at most {})", format_amount(u128::MAX, *currency))]
    TotalOverflow {
        /// The currency the total was meant in.
        currency: Currency,
        /// The rejected text.
        text: String,
    },
    /// Anything that is not digits with an optional decimal point.
    #[error(
        "invalid amount '{text}' (expected digits with an optional decimal point, e.g. 100.50)"
    )]
    Malformed {
        /// The rejected text.
        text: String,
    },
}

/// Parses a non-negative decimal amount into minor units of `currency`.
///
/// Accepted: digits, optionally followed by `.` and at most `exponent` digits
/// ("100", "100.5", "100.50", "0.01"). Refused: empty text, signs, spaces,
/// exponents, thousands separators, a bare "1." or ".5", more decimals than the
/// currency has (even trailing zeros, so that the text always means exactly what
/// it says), and values beyond `u64::MAX` minor units. Zero parses; postings
/// refuse it later, where the reason is clearer.
pub fn parse_amount(text: &str, currency: Currency) -> Result<u64, AmountError> {
    let overflow = || AmountError::Overflow {
        currency,
        text: echo(text),
    };
    let minor = parse_minor(text, currency).map_err(|error| match error {
        AmountError::TotalOverflow { .. } => overflow(),
        other => other,
    })?;
    u64::try_from(minor).map_err(|_| overflow())
}

/// Parses a non-negative decimal total (a balance, a trial balance column) into
/// minor units of `currency`: the rules of [`parse_amount`], up to `u128::MAX`
/// minor units, the width balances are kept in.
pub fn parse_total(text: &str, currency: Currency) -> Result<u128, AmountError> {
    parse_minor(text, currency)
}

/// The digits of `text` as minor units; too large for `u128` is `TotalOverflow`.
fn parse_minor(text: &str, currency: Currency) -> Result<u128, AmountError> {
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    if text.starts_with('-') {
        return Err(AmountError::Negative { text: echo(text) });
    }
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || fraction.is_some_and(|part| !all_digits(part)) {
        return Err(AmountError::Malformed { text: echo(text) });
    }
    let fraction = fraction.unwrap_or("");
    let exponent = usize::from(currency.exponent());
    let Some(padding) = exponent.checked_sub(fraction.len()) else {
        return Err(AmountError::TooManyDecimals {
            currency,
            text: echo(text),
        });
    };
    // Read the digits as one integer: whole part, fraction, then zeros up to the
    // exponent, so "100.5" EUR becomes 100 5 0 = 10050.
    let digits = whole
        .bytes()
        .chain(fraction.bytes())
        .chain(std::iter::repeat_n(b'0', padding));
    let mut minor: u128 = 0;
    for digit in digits {
        minor = minor
            .checked_mul(10)
            .and_then(|shifted| shifted.checked_add(u128::from(digit.wrapping_sub(b'0'))))
            .ok_or_else(|| AmountError::TotalOverflow {
                currency,
                text: echo(text),
            })?;
    }
    Ok(minor)
}

/// Formats minor units as a decimal with exactly the currency's number of
/// decimals: 10050 EUR is "100.50", 5 JPY is "5". Takes `u128` because
/// balances and totals are kept in `u128`.
pub fn format_amount(minor: u128, currency: Currency) -> String {
    let exponent = usize::from(currency.exponent());
    if exponent == 0 {
        return minor.to_string();
    }
    let unit = currency.minor_per_major();
    format!("{}.{:0exponent$}", minor / unit, minor % unit)
}

/// Like [`format_amount`] with a leading '-' for negative values: -10050 EUR is
/// "-100.50".
pub fn format_signed(minor: i128, currency: Currency) -> String {
    let magnitude = format_amount(minor.unsigned_abs(), currency);
    if minor < 0 {
        format!("-{magnitude}")
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::from_code("EUR").unwrap()
    }

    #[test]
    fn table_is_sorted_unique_and_well_formed() {
        for pair in ISO_4217.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for (code, exponent) in ISO_4217 {
            assert_eq!(code.len(), 3);
            assert!(code.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(*exponent <= CURRENCY_EXPONENT_MAX);
        }
    }

    #[test]
    fn required_codes_are_known_with_their_exponents() {
        let expected = [
            ("EUR", 2),
            ("USD", 2),
            ("GBP", 2),
            ("CHF", 2),
            ("JPY", 0),
            ("CNY", 2),
            ("KRW", 0),
            ("SEK", 2),
            ("NOK", 2),
            ("DKK", 2),
            ("PLN", 2),
            ("CZK", 2),
            ("HUF", 2),
            ("CAD", 2),
            ("AUD", 2),
            ("NZD", 2),
            ("SGD", 2),
            ("HKD", 2),
            ("INR", 2),
            ("BRL", 2),
            ("MXN", 2),
            ("ZAR", 2),
            ("TRY", 2),
            ("KWD", 3),
            ("BHD", 3),
            ("JOD", 3),
            ("OMR", 3),
            ("TND", 3),
            ("ISK", 0),
        ];
        for (code, exponent) in expected {
            let currency = Currency::from_code(code).unwrap();
            assert_eq!(currency.code(), code);
            assert_eq!(currency.exponent(), exponent, "{code}");
            assert_eq!(currency.to_string(), code);
        }
    }

    #[test]
    fn constants_match_the_table() {
        for constant in [
            Currency::EUR,
            Currency::USD,
            Currency::GBP,
            Currency::JPY,
            Currency::KWD,
        ] {
            assert_eq!(Currency::from_code(constant.code()).unwrap(), constant);
        }
        assert_eq!(Currency::all().count(), ISO_4217.len());
    }

    #[test]
    fn unknown_codes_are_refused_with_a_hint() {
        let err = Currency::from_code("XXX").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown currency 'XXX' (expected an ISO 4217 code such as EUR, USD, JPY)"
        );
        assert_eq!(
            Currency::from_code("eur").unwrap_err(),
            CurrencyError::Unknown { code: "eur".into() }
        );
        assert!(Currency::from_code("").is_err());
        assert!(Currency::from_code("EURO").is_err());
        assert_eq!(
            Currency::from_code("E\nR").unwrap_err().to_string(),
            "unknown currency 'E\\u{a}R' (expected an ISO 4217 code such as EUR, USD, JPY)"
        );
    }

    #[test]
    fn ordering_is_by_code() {
        let mut list = [Currency::USD, Currency::EUR, Currency::JPY, Currency::GBP];
        list.sort();
        let codes: Vec<&str> = list.iter().map(|c| c.code()).collect();
        assert_eq!(codes, ["EUR", "GBP", "JPY", "USD"]);
    }

    #[test]
    fn parses_amounts() {
        assert_eq!(parse_amount("100", eur()), Ok(10000));
        assert_eq!(parse_amount("100.5", eur()), Ok(10050));
        assert_eq!(parse_amount("100.50", eur()), Ok(10050));
        assert_eq!(parse_amount("0.01", eur()), Ok(1));
        assert_eq!(parse_amount("0", eur()), Ok(0));
        assert_eq!(parse_amount("007", eur()), Ok(700));
        assert_eq!(parse_amount("5", Currency::JPY), Ok(5));
        assert_eq!(parse_amount("1.234", Currency::KWD), Ok(1234));
        assert_eq!(parse_amount("184467440737095516.15", eur()), Ok(u64::MAX));
        assert_eq!(
            parse_amount("18446744073709551615", Currency::JPY),
            Ok(u64::MAX)
        );
    }

    #[test]
    fn refuses_bad_amounts_with_exact_messages() {
        assert_eq!(
            parse_amount("", eur()).unwrap_err().to_string(),
            "amount is empty"
        );
        assert_eq!(
            parse_amount("-5", eur()).unwrap_err().to_string(),
            "amount '-5' is negative (use the other side, debit or credit, instead of a sign)"
        );
        assert_eq!(
            parse_amount("1.5", Currency::JPY).unwrap_err().to_string(),
            "too many decimal places for JPY: '1.5' (JPY has 0)"
        );
        assert_eq!(
            parse_amount("1.500", eur()).unwrap_err().to_string(),
            "too many decimal places for EUR: '1.500' (EUR has 2)"
        );
        assert_eq!(
            parse_amount("184467440737095516.16", eur())
                .unwrap_err()
                .to_string(),
            "amount '184467440737095516.16' is too large for EUR (at most 184467440737095516.15)"
        );
        assert!(matches!(
            parse_amount(&"9".repeat(500), eur()),
            Err(AmountError::Overflow { .. })
        ));
        for junk in [
            "abc", "1.", ".5", "1.2.3", "+1", " 1", "1 ", "1,00", "1e3", "٣", "1_000", ".",
        ] {
            assert_eq!(
                parse_amount(junk, eur()),
                Err(AmountError::Malformed { text: junk.into() }),
                "{junk:?}"
            );
        }
        assert_eq!(
            parse_amount("12x", eur()).unwrap_err().to_string(),
            "invalid amount '12x' (expected digits with an optional decimal point, e.g. 100.50)"
        );
    }

    #[test]
    fn parses_totals_beyond_u64() {
        assert_eq!(parse_total("100.50", eur()), Ok(10050));
        assert_eq!(
            parse_total("3402823669209384634633746074317682114.55", eur()),
            Ok(u128::MAX)
        );
        assert_eq!(
            parse_total("3402823669209384634633746074317682114.56", eur())
                .unwrap_err()
                .to_string(),
            "total '3402823669209384634633746074317682114.56' is too large for EUR \
             (at most 3402823669209384634633746074317682114.55)"
        );
        assert_eq!(
            parse_total("1.5", Currency::JPY).unwrap_err().to_string(),
            "too many decimal places for JPY: '1.5' (JPY has 0)"
        );
    }

    #[test]
    fn formats_amounts() {
        assert_eq!(format_amount(10050, eur()), "100.50");
        assert_eq!(format_amount(1, eur()), "0.01");
        assert_eq!(format_amount(0, eur()), "0.00");
        assert_eq!(format_amount(5, Currency::JPY), "5");
        assert_eq!(format_amount(1005, Currency::KWD), "1.005");
        assert_eq!(
            format_amount(u128::MAX, eur()),
            "3402823669209384634633746074317682114.55"
        );
        assert_eq!(format_signed(-10050, eur()), "-100.50");
        assert_eq!(format_signed(10050, eur()), "100.50");
        assert_eq!(format_signed(0, Currency::JPY), "0");
        assert_eq!(
            format_signed(i128::MIN, Currency::JPY),
            i128::MIN.to_string()
        );
    }
}
