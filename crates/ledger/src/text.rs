//! Small text helpers shared by the validators and the error messages.
//!
//! Everything that a person types ends up either in the ledger (account codes,
//! descriptions, references) or in an error message shown back to them. Both
//! places must stay readable and must not be able to lie about what they show,
//! so the checks for "hidden" characters live here in one place.

/// How many characters of rejected input an error message repeats.
///
/// Error messages are shown to people and written to logs; echoing a megabyte of
/// junk would flood both, while the first few dozen characters are enough to
/// recognise the mistake.
pub(crate) const ECHO_CHARS_MAX: usize = 64;

/// Repeats user input inside an error message: shortened to
/// [`ECHO_CHARS_MAX`] characters, with hidden characters spelled out as
/// `\u{..}` so the message cannot hide or reorder its own text.
pub(crate) fn echo(text: &str) -> String {
    let mut out = String::new();
    for (index, ch) in text.chars().enumerate() {
        if index == ECHO_CHARS_MAX {
            out.push('…');
            break;
        }
        if is_hidden(ch) {
            out.extend(ch.escape_unicode());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Control characters and the bidirectional-override characters.
///
/// These are refused in free text (descriptions, account names, references)
/// because they can break log lines and can make text display in a different
/// order than it is stored ("Trojan Source"), which matters in an audit trail.
pub(crate) fn is_control_or_bidi(ch: char) -> bool {
    ch.is_control() || matches!(ch, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
}

/// Characters that are control codes, reorder text, or render as nothing.
///
/// Identifiers (account codes) refuse all of them: two codes that look the same
/// on screen must be the same code, otherwise a posting could be steered to a
/// look-alike account.
pub(crate) fn is_hidden(ch: char) -> bool {
    is_control_or_bidi(ch)
        || matches!(
            ch,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// The first character of `text` that free text may not contain, if any.
pub(crate) fn first_control_or_bidi(text: &str) -> Option<char> {
    text.chars().find(|&ch| is_control_or_bidi(ch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_shortens_long_input() {
        let long = "x".repeat(1000);
        let shown = echo(&long);
        assert_eq!(shown.chars().count(), ECHO_CHARS_MAX + 1);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn echo_spells_out_hidden_characters() {
        assert_eq!(echo("a\nb"), "a\\u{a}b");
        assert_eq!(echo("a\u{202E}b"), "a\\u{202e}b");
        assert_eq!(echo("Büro"), "Büro");
    }

    #[test]
    fn hidden_characters_are_recognised() {
        assert!(is_hidden('\u{200B}'));
        assert!(is_hidden('\t'));
        assert!(!is_hidden(' '));
        assert!(!is_hidden('é'));
        assert!(is_control_or_bidi('\u{2067}'));
        assert!(!is_control_or_bidi('\u{200D}'));
        assert_eq!(first_control_or_bidi("ok\u{7}"), Some('\u{7}'));
        assert_eq!(first_control_or_bidi("fine"), None);
    }
}
