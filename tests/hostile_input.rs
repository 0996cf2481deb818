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
