//! Strict lower-case hex parsing with messages a person can act on.
//!
//! Only lower-case is accepted so every key and signature has exactly one
//! textual form: parsing then printing gives back the same string, which
//! keeps re-serialised ledger data byte-identical.

/// Parses exactly `2 * N` lower-case hex characters into `N` bytes.
/// On failure returns a reason such as
/// "expected 64 hex characters, found 63".
pub(crate) fn parse_lower_hex<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let bytes = text.as_bytes();
    if let Some((position, ch)) = text
        .char_indices()
        .find(|(_, c)| !matches!(c, '0'..='9' | 'a'..='f'))
    {
        let hint = if ch.is_ascii_hexdigit() {
            " (upper-case hex is not accepted)"
        } else {
            ""
        };
        return Err(format!(
            "character {:?} at position {position} is not a lower-case hex digit{hint}",
            ch
        ));
    }
    if bytes.len() != 2 * N {
        return Err(format!(
            "expected {} hex characters, found {}",
            2 * N,
            bytes.len()
        ));
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *slot = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    Ok(out)
}

/// Value of a character already checked to be in `0-9a-f`.
fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(parse_lower_hex::<2>("0aff"), Ok([0x0a, 0xff]));
        assert_eq!(
            parse_lower_hex::<2>("0aF0").unwrap_err(),
            "character 'F' at position 2 is not a lower-case hex digit (upper-case hex is not accepted)"
        );
        assert_eq!(
            parse_lower_hex::<2>("0af").unwrap_err(),
            "expected 4 hex characters, found 3"
        );
        assert_eq!(
            parse_lower_hex::<2>("0a f").unwrap_err(),
            "character ' ' at position 2 is not a lower-case hex digit"
        );
        assert!(parse_lower_hex::<2>("ééé").is_err());
    }
}
