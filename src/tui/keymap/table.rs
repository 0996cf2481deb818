//! The generated key table (README, `keymaps/NAME.md`).

use super::{Action, Keymap, View};

/// A Markdown table of every binding, one section per view, for the README
/// and `keymaps/default.md`.
pub fn markdown_key_table(km: &Keymap) -> String {
    let mut out = String::new();
    for &view in View::ALL {
        let mut rows: Vec<(Action, Vec<&str>)> = Vec::new();
        for b in km.bindings.iter().filter(|b| b.view == view) {
            match rows.iter_mut().find(|(a, _)| *a == b.action) {
                Some((_, keys)) => keys.push(&b.label),
                None => rows.push((b.action, vec![&b.label])),
            }
        }
        if rows.is_empty() {
            continue;
        }
        let title = view.title();
        out.push_str(&format!("### {title}\n\n| Key | Action |\n|---|---|\n"));
        for (action, keys) in rows {
            let keys: Vec<String> = keys.iter().map(|k| md_code(k)).collect();
            out.push_str(&format!(
                "| {} | {} |\n",
                keys.join(", "),
                action.describe()
            ));
        }
        out.push('\n');
    }
    out
}

fn md_code(s: &str) -> String {
    let s = s.replace('|', "\\|");
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}
