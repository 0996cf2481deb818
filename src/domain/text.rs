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

/// The longest prefix of `s` at most `max` bytes long that ends on a
/// character boundary (cutting text to a byte budget never splits a char).
pub fn prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `text` cut to `max` characters, with an ellipsis when it was longer.
pub fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
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
    fn a_prefix_never_splits_a_character() {
        assert_eq!(prefix("héllo", 2), "h");
        assert_eq!(prefix("héllo", 3), "hé");
        assert_eq!(prefix("héllo", 99), "héllo");
        assert_eq!(prefix("", 4), "");
    }

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
