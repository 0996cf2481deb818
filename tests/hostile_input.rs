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
    t.draw(|f| views::render(f, &app)).expect("draw");
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
