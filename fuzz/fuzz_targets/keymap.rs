//! Keymap loader: any user `keymap.toml` gives a keymap or one error.
#![no_main]
use aacon::tui::keymap::{Keymap, parse_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_key(text);
    }
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    if std::fs::write(dir.path().join("keymap.toml"), data).is_err() {
        return;
    }
    if let Ok(km) = Keymap::load("default", Some(dir.path())) {
        let _ = aacon::tui::keymap::markdown_key_table(&km);
    }
});
