//! API response decoders: every answer shape the REST client reads, through
//! the same path a request takes (`aacon::platform::api::decode_reply`).
//! The first byte picks the HTTP status and the content type; the rest is
//! the body. Every outcome must be a value or one sentence, never a panic.
#![no_main]
use aacon::domain::Envelope;
use aacon::domain::spec;
use aacon::platform::PlatformError;
use aacon::platform::api::decode_reply;
use aacon::platform::api::wire::{
    CheckResponse, ContainersHealth, Environment, ErrorBody, StatusMessage, WireInstance,
    env_var_names,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const SHOWN: &str = "http://127.0.0.1:9";
const STATUSES: [u16; 16] = [
    200, 201, 204, 304, 400, 401, 403, 404, 409, 413, 422, 500, 502, 503, 599, 1000,
];

fn check_error(e: PlatformError) {
    let text = e.to_string();
    assert!(!text.is_empty(), "an error without a sentence");
    // One inert line: a remote server's text never breaks the status bar
    // nor reaches the terminal as an escape sequence.
    assert!(
        !text.chars().any(char::is_control),
        "a control character in an error: {text:?}"
    );
}

fn wire(w: WireInstance) {
    let ours = w.is_ours();
    let i = w.into_instance();
    let back = WireInstance::from_instance(&i);
    if ours {
        assert!(back.is_ours());
    }
    if let Some(m) = back.json_spec.as_object() {
        let _ = env_var_names(m);
    }
}

fn list(l: Vec<WireInstance>) {
    l.into_iter().for_each(wire)
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, body)) = data.split_first() else {
        return;
    };
    let status = STATUSES[usize::from(head & 0x0f)];
    let ctype = if head & 0x10 != 0 {
        "text/html"
    } else {
        "application/json"
    };
    let id = (head & 0x20 != 0).then(uuid::Uuid::nil);

    macro_rules! each {
        ($t:ty, $op:literal, $then:expr) => {
            match decode_reply::<$t>(SHOWN, status, ctype, body, $op, id) {
                Ok(v) => $then(v),
                Err(e) => check_error(e),
            }
        };
    }
    each!(Vec<WireInstance>, "listing instances", list);
    each!(WireInstance, "reading an instance", wire);
    each!(StatusMessage, "starting an instance", |m: StatusMessage| {
        if let Some(w) = m.instance {
            wire(w)
        }
    });
    each!(CheckResponse, "checking a json_spec", |c: CheckResponse| {
        let _ = c.into_report(spec::validate(&Value::Null)).summary();
    });
    each!(ContainersHealth, "reading container health", |_| ());
    each!(Environment, "reading the environment", |_| ());
    each!(Vec<Value>, "reading tools", |_| ());
    each!(Vec<Envelope>, "reading events", |_| ());
    if let Ok(e) = serde_json::from_slice::<ErrorBody>(body) {
        let _ = e.sentence();
    }
});
