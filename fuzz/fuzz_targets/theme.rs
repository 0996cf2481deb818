//! Theme loader: any user theme file gives a theme or one error.
#![no_main]
use aacon::tui::theme::{Theme, parse_colour};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_colour(text);
    }
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let themes = dir.path().join("themes");
    if std::fs::create_dir(&themes).is_err() {
        return;
    }
    if std::fs::write(themes.join("fuzz.toml"), data).is_err() {
        return;
    }
    let _ = Theme::load("fuzz", Some(dir.path()), false);
});
