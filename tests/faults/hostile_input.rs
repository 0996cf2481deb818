//! Hostile and broken input (issue 8, item 3): each case asserts the exact
//! sentence the user gets and that nothing panics.

use aacon::bus::pubsub;
use aacon::domain::spec;
use aacon::platform::PlatformEvent;

#[test]
fn json_spec_nested_100k_levels_is_one_syntax_error() {
    let depth = 100_000;
    let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let err = spec::parse_and_validate(&text).expect_err("nesting must be refused");
    println!("{}:{} {}", err.line, err.column, err.message);
    assert_eq!(err.line, 1);
    assert!(
        err.column <= 129,
        "stopped at the recursion limit: {}",
        err.column
    );
    assert_eq!(
        err.message,
        "json_spec nests too deeply; the limit is 64 levels"
    );
    // The same depth inside an object value.
    let text = format!("{{\"args\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
    assert!(spec::parse_and_validate(&text).is_err());
}

#[test]
fn json_spec_with_10mb_string_validates_without_panic() {
    let big = "a".repeat(10 * 1024 * 1024);
    let text = format!(r#"{{"type":"stdio","command":"{big}"}}"#);
    let report = spec::parse_and_validate(&text).expect("valid JSON");
    assert!(!report.is_valid());
    assert_eq!(
        report.summary(),
        "/: json_spec is 10240 KiB; the limit is 1024 KiB"
    );
}

#[test]
fn invalid_utf8_redis_payload_is_malformed_not_panic() {
    let payload = b"{\"event_type\":\"\xff\xfe\"}";
    match pubsub::to_event(payload, "redis:test") {
        PlatformEvent::Malformed { source, raw, error } => {
            println!("{error}");
            assert_eq!(source, "redis:test");
            assert!(raw.contains('\u{fffd}'), "raw kept lossily: {raw}");
            assert_eq!(error, "the payload is not UTF-8 text");
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn ansi_escapes_in_names_specs_and_payloads_render_inert() {
    use aacon::domain::Status;
    use aacon::tui::{fixtures, keymap::Keymap, theme::Theme, views};
    use ratatui::{Terminal, backend::TestBackend};

    let evil = "evil\x1b]0;pwned\x07\x1b[2J\x1b[31m";
    let mut app = fixtures::app(
        Theme::preset("default").expect("preset"),
        Keymap::preset("default").expect("preset"),
    );
    let mut list = fixtures::instances();
    list.push(fixtures::instance(
        999,
        evil,
        serde_json::json!({"type": "stdio", "command": evil, "args": [evil]}),
        Status::Running,
        1,
    ));
    app.load(list);
    app.update(aacon::tui::app::Msg::Platform(PlatformEvent::Malformed {
        source: "redis".into(),
        raw: evil.into(),
        error: "the payload is not UTF-8 text".into(),
    }));
    app.prepare();
    let mut t = Terminal::new(TestBackend::new(160, 50)).expect("test backend");
    t.draw(|f| views::render(f, &mut app)).expect("draw");
    let buf = t.backend().buffer().clone();
    let mut screen = String::new();
    for cell in buf.content() {
        screen.push_str(cell.symbol());
    }
    assert!(screen.contains("evil"), "the instance is listed: {screen}");
    assert!(
        !screen.chars().any(|c| c.is_control()),
        "no control character reaches the terminal"
    );
}

/// Every key label the keymap grammar has, with every modifier combination
/// it allows: characters (every Unicode scalar value when `all_chars`, else
/// printable ASCII), named keys and f1-f12.
fn every_key_label(all_chars: bool) -> Vec<String> {
    let mut bases: Vec<(String, bool)> = Vec::new();
    let chars: Box<dyn Iterator<Item = char>> = if all_chars {
        Box::new((0u32..=0x10FFFF).filter_map(char::from_u32))
    } else {
        Box::new((0x21u8..0x7f).map(char::from))
    };
    for c in chars.filter(|c| !c.is_control()) {
        bases.push((c.to_string(), c.is_ascii_alphabetic()));
    }
    for n in [
        "enter",
        "esc",
        "tab",
        "backspace",
        "delete",
        "insert",
        "home",
        "end",
        "pgup",
        "pgdn",
        "up",
        "down",
        "left",
        "right",
    ] {
        bases.push((n.to_string(), true));
    }
    for f in 1..=12 {
        bases.push((format!("f{f}"), true));
    }
    // Space is a character: shift-space is refused like shift-1.
    bases.push(("space".to_string(), false));
    let mut out = vec!["shift-tab".to_string()];
    for (base, shiftable) in bases {
        for ctrl in ["", "ctrl-"] {
            for alt in ["", "alt-"] {
                for shift in ["", "shift-"] {
                    if !shift.is_empty() && !shiftable {
                        continue;
                    }
                    out.push(format!("{ctrl}{alt}{shift}{base}"));
                }
            }
        }
    }
    out
}

fn keymap_file(view: &str, action: &str, labels: &[String]) -> String {
    let mut text = format!("[{view}]\n{action} = [");
    for l in labels {
        // TOML basic string: escape what needs escaping.
        text.push_str(&serde_json::to_string(l).unwrap());
        text.push(',');
    }
    text.push_str("]\n");
    text
}

#[test]
fn a_keymap_binding_every_key_and_modifier_is_one_clear_error() {
    use aacon::tui::keymap::Keymap;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keymap.toml");
    let labels = every_key_label(false);
    assert!(labels.len() > 700, "{}", labels.len());
    let text = keymap_file("instances", "start", &labels);
    std::fs::write(&path, &text).unwrap();
    let e = Keymap::load("default", Some(dir.path())).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2: key 'ctrl-D' in [instances] is bound to both 'delete' (keymaps/default.toml:36) and 'start'; give one of them another key",
            path.display()
        )
    );
    // Nothing was changed: the file is as written.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn a_keymap_binding_every_unicode_character_answers_promptly() {
    // 1.1 million characters times their modifier combinations in one
    // action: loads or fails in linear time, never hangs on a quadratic
    // duplicate check.
    use aacon::tui::keymap::Keymap;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keymap.toml");
    let labels = every_key_label(true);
    assert!(labels.len() > 4_000_000, "{}", labels.len());
    std::fs::write(&path, keymap_file("instances", "start", &labels)).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let d = dir.path().to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(Keymap::load("default", Some(&d)).map_err(|e| e.to_string()));
    });
    // Generous: a linear pass takes seconds; a quadratic one, days.
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(240))
        .expect("the keymap load hung");
    let e = got.unwrap_err();
    assert!(
        e.ends_with(
            "keymap.toml:2: key 'ctrl-D' in [instances] is bound to both 'delete' (keymaps/default.toml:36) and 'start'; give one of them another key"
        ),
        "{e}"
    );
}

#[test]
fn a_theme_missing_a_colour_names_it_or_inherits_it() {
    use aacon::tui::theme::Theme;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("themes")).unwrap();
    // A copy of the light preset without its `error` colour.
    let light = Theme::preset("light").unwrap();
    let text: String =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/themes/light.toml"))
            .unwrap()
            .lines()
            .filter(|l| *l != "error = { fg = \"red\" }")
            .map(|l| format!("{l}\n"))
            .collect();
    let path = dir.path().join("themes/holey.toml");
    std::fs::write(&path, &text).unwrap();
    let e = Theme::load("holey", Some(dir.path()), false).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: key 'ui.error': is missing; set it, or add inherits = \"default\" at the top to take the roles you leave out from a preset",
            path.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "unchanged");
    // With `inherits`, the missing colour falls back to the preset's.
    std::fs::write(&path, format!("inherits = \"default\"\n{text}")).unwrap();
    let t = Theme::load("holey", Some(dir.path()), false).unwrap();
    let default = Theme::preset("default").unwrap();
    assert_eq!(
        t.error, default.error,
        "the missing role comes from default"
    );
    assert_eq!(t.ok, light.ok, "the roles the file sets are its own");
    assert_ne!(t.error, light.error);
}

#[test]
fn a_huge_tool_result_shows_a_bounded_marked_text_in_the_tools_tab() {
    use aacon::platform::ToolCallResult;
    use aacon::tui::app::Msg;
    use aacon::tui::{fixtures, keymap::Keymap, theme::Theme, views};
    use ratatui::{Terminal, backend::TestBackend};

    let theme = Theme::preset("default").unwrap();
    let keymap = Keymap::preset("default").unwrap();
    let id = fixtures::instances()[1].id;
    // What the runtime hands over for a 50 MB result (cut to 1 MiB and
    // marked), and a 50 MB text as it is (another platform might not cut).
    let cut = format!(
        "{}\n… [truncated: the result was 50.0 MB; the first 1024 KiB of its text are shown]",
        "x".repeat(1024 * 1024)
    );
    for (text, head, result) in [
        (
            cut,
            "result (truncated: the first 1048576 characters of 50.0 MB):",
            serde_json::json!({"truncated": true, "bytes": 50_000_042}),
        ),
        (
            "y".repeat(50_000_000),
            "result (truncated: the first 1048576 characters of 50.0 MB):",
            serde_json::Value::Null,
        ),
    ] {
        let mut app = fixtures::detail_tools(theme.clone(), keymap.clone());
        app.update(Msg::ToolCalled {
            id,
            result: Ok(ToolCallResult {
                is_error: false,
                text,
                result,
            }),
        });
        app.prepare();
        let mut t = Terminal::new(TestBackend::new(120, 32)).unwrap();
        t.draw(|f| views::render(f, &mut app)).unwrap();
        let screen: String = t
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        // The cut is said where it is seen, above the text.
        assert!(screen.contains(head), "{screen}");
    }
}
