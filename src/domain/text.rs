//! User-typed text inside an error sentence: shown as typed (`'ünï'`), with
//! only what could drive or disguise the terminal escaped (control
//! characters, bidirectional overrides, zero-width characters).

/// Whether `c` is shown escaped rather than as itself.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}')
}

/// One character as shown in a sentence: itself, or `\u{…}`/`\n` when it is
/// a control or invisible formatting character.
pub fn shown_char(c: char) -> String {
    if hidden(c) {
        c.escape_default().collect()
    } else {
        c.to_string()
    }
}

/// A user-typed string as shown in a sentence (see [`shown_char`]).
pub fn shown(s: &str) -> String {
    s.chars().map(shown_char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_characters_stay_escapes_do_not() {
        assert_eq!(shown("ünï"), "ünï");
        assert_eq!(shown("名前"), "名前");
        assert_eq!(shown("a\u{1b}[2J"), "a\\u{1b}[2J");
        assert_eq!(shown("x\ny"), "x\\ny");
        assert_eq!(shown("ab\u{202e}cd"), "ab\\u{202e}cd");
        assert_eq!(shown_char('é'), "é");
    }

    #[test]
    fn name_errors_quote_what_was_typed() {
        let e = crate::domain::instance::validate_name("ünï")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("the name 'ünï' contains 'ü';"), "{e}");
        let e = crate::secrets::validate_name("clé")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("'clé' is not a valid secret name"), "{e}");
    }
}
