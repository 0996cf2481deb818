//! Where each key of a config text is, from the TOML parser's own spans
//! (read even from text with errors: whatever parsed).

use std::ops::Range;
use toml::de::{DeTable, DeValue};

/// Every key of a TOML text by its dotted path (`ui.theme`,
/// `contexts.prod.api_url`), with the line it is written on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Spans {
    /// (path, line, byte offset of the key), in the order they are written.
    keys: Vec<(String, usize, usize)>,
}

impl Spans {
    pub(super) fn of(text: &str) -> Spans {
        let (doc, _errors) = DeTable::parse_recoverable(text);
        let mut keys = Vec::new();
        walk(text, "", doc.get_ref(), &mut keys);
        keys.sort_by_key(|(_, _, at)| *at);
        Spans { keys }
    }

    /// Whether the text sets `path`.
    pub(super) fn has(&self, path: &str) -> bool {
        self.keys.iter().any(|(p, _, _)| p == path)
    }

    /// The line `path` is written on (its last occurrence).
    pub(super) fn line(&self, path: &str) -> Option<usize> {
        self.keys
            .iter()
            .rev()
            .find(|(p, _, _)| p == path)
            .map(|(_, line, _)| *line)
    }

    /// The key written on the line of byte `span.start` (the last one
    /// starting at or before it when the line holds several, as `ui = {
    /// theme = … }` does), or the table a header line opens. A key the
    /// parser refused (set twice) is named by its earlier occurrence.
    pub(super) fn key_at(&self, text: &str, span: Range<usize>) -> Option<String> {
        let at = span.start;
        let line = line_of(text, at);
        let on_line = self.keys.iter().filter(|(_, l, _)| *l == line);
        let found = on_line
            .clone()
            .rfind(|(_, _, start)| *start <= at)
            .or_else(|| on_line.clone().next())
            .map(|(p, _, _)| p.clone());
        found.or_else(|| {
            let written = text.get(span)?.trim().trim_matches(['"', '\'']);
            self.keys
                .iter()
                .rfind(|(p, _, start)| {
                    *start < at && (p == written || p.ends_with(&format!(".{written}")))
                })
                .map(|(p, _, _)| p.clone())
        })
    }
}

/// The line (from 1) byte `at` of `text` is on (config, keymap and theme
/// files name lines in their errors).
pub fn line_of(text: &str, at: usize) -> usize {
    text.get(..at.min(text.len()))
        .map_or(1, |before| before.matches('\n').count() + 1)
}

fn walk(text: &str, prefix: &str, table: &DeTable<'_>, out: &mut Vec<(String, usize, usize)>) {
    for (k, v) in table.iter() {
        let name = k.get_ref();
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        let span: Range<usize> = k.span();
        out.push((path.clone(), line_of(text, span.start), span.start));
        match v.get_ref() {
            DeValue::Table(t) => walk(text, &path, t, out),
            DeValue::Array(items) => {
                for item in items.iter() {
                    if let DeValue::Table(t) = item.get_ref() {
                        walk(text, &path, t, out);
                    }
                }
            }
            _ => {}
        }
    }
}
