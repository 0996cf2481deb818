//! json_spec parser and validator: any text must give a report or one
//! syntax error, never a panic.
#![no_main]
use aacon::domain::spec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(report) = spec::parse_and_validate(text) {
        let _ = report.summary();
        for issue in report.errors() {
            let _ = spec::locate(text, &issue.pointer);
        }
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = spec::validate(&value);
        let _ = spec::mask_secrets(&value);
        let _ = spec::redact_plain_secrets(&value);
    }
});
