//! Decoding what arrives on AgentArea's channels and on our stream.
//!
//! Four outer shapes are accepted (see `compat.md`): our own envelope JSON,
//! FastStream's JSON (`{"data": "<envelope as a string>", "headers": {…}}`),
//! FastStream's binary format (magic, version, header and body offsets) and
//! the Go manager's `{"data": {<envelope object>}, "headers": {}}`. Pure
//! functions, no I/O.

use crate::domain::Envelope;
use crate::domain::spec::{is_secret_key, is_secret_ref, redact_plain_secrets};
use regex::Regex;
use serde_json::{Map, Value};
use std::fmt;
use std::sync::LazyLock;

/// FastStream's binary message magic.
pub const BINARY_MAGIC: [u8; 8] = [0x89, 0x42, 0x49, 0x4E, 0x0D, 0x0A, 0x1A, 0x0A];
/// The only binary format version we know.
pub const BINARY_VERSION: u16 = 1;

/// Which outer wrapping a payload came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A bare envelope object (ours, or any producer that sends the inner
    /// envelope directly).
    Plain,
    /// FastStream 0.5 JSON: `data` is the envelope as a string.
    FastStreamJson,
    /// FastStream 0.6+ binary.
    FastStreamBinary,
    /// AgentArea's Go manager: `data` is the envelope object.
    GoManager,
}

/// A decoded payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub envelope: Envelope,
    pub shape: Shape,
}

/// Why a payload could not be decoded; displays as one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    NotUtf8,
    NotJson(String),
    Binary(String),
    NotAnEnvelope(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::NotUtf8 => f.write_str("the payload is not UTF-8 text"),
            DecodeError::NotJson(e) => write!(f, "the payload is not valid JSON: {e}"),
            DecodeError::Binary(e) => write!(f, "the FastStream binary message is invalid: {e}"),
            DecodeError::NotAnEnvelope(e) => write!(f, "the payload is not an event envelope: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decode one payload of any known shape.
pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    if bytes.starts_with(&BINARY_MAGIC) {
        return decode_binary(bytes);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8)?;
    // Fast path: our own envelopes carry `event_id` before anything else.
    if text.starts_with("{\"event_id\"")
        && let Ok(envelope) = serde_json::from_str::<Envelope>(text)
    {
        return Ok(Decoded {
            envelope,
            shape: Shape::Plain,
        });
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    let Value::Object(mut outer) = value else {
        return Err(DecodeError::NotAnEnvelope("it is not a JSON object".into()));
    };
    if outer.contains_key("event_type") && outer.contains_key("event_id") {
        return envelope_from(Value::Object(outer), Shape::Plain, None);
    }
    let correlation = header_correlation(outer.get("headers"));
    match outer.remove("data") {
        Some(Value::String(inner)) => {
            let v: Value = serde_json::from_str(&inner)
                .map_err(|e| DecodeError::NotJson(format!("in the FastStream data string: {e}")))?;
            envelope_from(v, Shape::FastStreamJson, correlation)
        }
        Some(obj @ Value::Object(_)) => envelope_from(obj, Shape::GoManager, correlation),
        Some(_) => Err(DecodeError::NotAnEnvelope(
            "its data is neither a string nor an object".into(),
        )),
        None => Err(DecodeError::NotAnEnvelope(
            "it has no event_type and no data".into(),
        )),
    }
}

fn header_correlation(headers: Option<&Value>) -> Option<String> {
    headers?
        .get("correlation_id")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn envelope_from(
    v: Value,
    shape: Shape,
    correlation: Option<String>,
) -> Result<Decoded, DecodeError> {
    let mut envelope: Envelope =
        serde_json::from_value(v).map_err(|e| DecodeError::NotAnEnvelope(e.to_string()))?;
    if envelope.correlation_id.is_none() {
        envelope.correlation_id = correlation;
    }
    if shape != Shape::Plain || envelope.event_version.is_none() {
        // Foreign producers may put plain secrets into json_spec.
        if let Some(spec) = envelope.data.get_mut("json_spec") {
            *spec = redact_plain_secrets(spec);
        }
    }
    Ok(Decoded { envelope, shape })
}

fn be_u16(b: &[u8], at: usize) -> Result<u16, DecodeError> {
    b.get(at..at + 2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .ok_or_else(|| DecodeError::Binary(format!("truncated at byte {at}")))
}

fn be_u32(b: &[u8], at: usize) -> Result<u32, DecodeError> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| DecodeError::Binary(format!("truncated at byte {at}")))
}

/// The headers of a FastStream binary message, in order.
pub fn binary_headers(bytes: &[u8]) -> Result<Vec<(String, String)>, DecodeError> {
    let (headers, _) = split_binary(bytes)?;
    Ok(headers)
}

type BinaryParts<'a> = (Vec<(String, String)>, &'a [u8]);

fn split_binary(bytes: &[u8]) -> Result<BinaryParts<'_>, DecodeError> {
    if !bytes.starts_with(&BINARY_MAGIC) {
        return Err(DecodeError::Binary("the magic bytes are missing".into()));
    }
    let version = be_u16(bytes, 8)?;
    if version != BINARY_VERSION {
        return Err(DecodeError::Binary(format!(
            "format version {version} is not supported"
        )));
    }
    let headers_at = be_u32(bytes, 10)? as usize;
    let body_at = be_u32(bytes, 14)? as usize;
    if body_at > bytes.len() || headers_at > bytes.len() {
        return Err(DecodeError::Binary("an offset points past the end".into()));
    }
    let count = be_u16(bytes, headers_at)? as usize;
    let mut at = headers_at + 2;
    let mut headers = Vec::with_capacity(count.min(64));
    let text = |at: &mut usize| -> Result<String, DecodeError> {
        let n = be_u16(bytes, *at)? as usize;
        let s = bytes
            .get(*at + 2..*at + 2 + n)
            .ok_or_else(|| DecodeError::Binary(format!("a header runs past the end at {at}")))?;
        *at += 2 + n;
        String::from_utf8(s.to_vec())
            .map_err(|_| DecodeError::Binary("a header is not UTF-8".into()))
    };
    for _ in 0..count {
        let k = text(&mut at)?;
        let v = text(&mut at)?;
        headers.push((k, v));
    }
    Ok((headers, &bytes[body_at..]))
}

fn decode_binary(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let (headers, body) = split_binary(bytes)?;
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::NotUtf8)?;
    let v: Value = serde_json::from_str(text)
        .map_err(|e| DecodeError::NotJson(format!("in the FastStream binary body: {e}")))?;
    let correlation = headers
        .iter()
        .find(|(k, _)| k == "correlation_id")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty());
    envelope_from(v, Shape::FastStreamBinary, correlation)
}

/// Build a FastStream binary message (what FastStream 0.6+ publishes).
pub fn encode_binary(headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + body.len());
    out.extend_from_slice(&BINARY_MAGIC);
    out.extend_from_slice(&BINARY_VERSION.to_be_bytes());
    let headers_at: u32 = 18;
    let mut block = Vec::new();
    block.extend_from_slice(&(headers.len() as u16).to_be_bytes());
    for (k, v) in headers {
        for s in [k, v] {
            block.extend_from_slice(&(s.len() as u16).to_be_bytes());
            block.extend_from_slice(s.as_bytes());
        }
    }
    let body_at = headers_at + block.len() as u32;
    out.extend_from_slice(&headers_at.to_be_bytes());
    out.extend_from_slice(&body_at.to_be_bytes());
    out.extend_from_slice(&block);
    out.extend_from_slice(body);
    out
}

/// Build a FastStream 0.5 JSON message around an envelope.
pub fn encode_faststream_json(envelope_json: &str, correlation_id: &str) -> String {
    let mut headers = Map::new();
    headers.insert("correlation_id".into(), correlation_id.into());
    headers.insert("content-type".into(), "application/json".into());
    let mut outer = Map::new();
    outer.insert("data".into(), envelope_json.into());
    outer.insert("headers".into(), Value::Object(headers));
    Value::Object(outer).to_string()
}

/// A payload's text for inspection: UTF-8 as is (lossy otherwise),
/// capped at `max` bytes, with values of secret-named keys redacted (it
/// may be broken JSON, so this works on the text).
pub fn raw_text(bytes: &[u8], max: usize) -> String {
    let cut = &bytes[..bytes.len().min(max)];
    let mut s = scrub_secrets(&String::from_utf8_lossy(cut));
    if bytes.len() > max {
        s.push('…');
    }
    s
}

/// `"key": "value"` (also with escaped quotes, as inside FastStream's
/// `data` string) where the key names a secret: the value is redacted.
fn scrub_secrets(text: &str) -> String {
    static PAIR: LazyLock<Regex> = LazyLock::new(|| {
        // A constant, valid pattern: compiling it cannot fail.
        Regex::new(r#"(\\?")([A-Za-z0-9_\-]+)(\\?"\s*:\s*\\?")([^"\\]*)"#).expect("valid regex")
    });
    PAIR.replace_all(text, |c: &regex::Captures<'_>| {
        if is_secret_key(&c[2]) && !is_secret_ref(&c[4]) {
            format!("{}{}{}<redacted>", &c[1], &c[2], &c[3])
        } else {
            c[0].to_string()
        }
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EventType, Status};

    const API_UPDATED: &str = r#"{"data": "{\"event_id\": \"10386c45-ecfe-4fc6-b9c2-ca56d2663348\", \"timestamp\": \"1795522904.707781\", \"event_type\": \"MCPServerInstanceUpdated\", \"data\": {}}", "headers": {"correlation_id": "88db4097-e305-44e4-9fbf-92f4f140057b", "content-type": "application/json"}}"#;

    #[test]
    fn faststream_json_from_compat_md() {
        let d = decode(API_UPDATED.as_bytes()).unwrap();
        assert_eq!(d.shape, Shape::FastStreamJson);
        assert_eq!(d.envelope.kind(), Some(EventType::Updated));
        assert_eq!(
            d.envelope.correlation_id.as_deref(),
            Some("88db4097-e305-44e4-9fbf-92f4f140057b")
        );
        assert_eq!(d.envelope.timestamp.timestamp(), 1795522904);
        assert_eq!(d.envelope.instance_id(), None);
    }

    #[test]
    fn faststream_binary_with_created_and_plain_secret() {
        let body = r#"{"event_id":"5d0c7a43-0d59-4f57-9e59-55d0ab8f0a11","timestamp":"1795522904.5","event_type":"MCPServerInstanceCreated","data":{"instance_id":"7f1c0a9e-35a4-4e43-9d6c-1a4f5a0b8c11","name":"fs","server_spec_id":null,"json_spec":{"type":"url","endpoint":"https://x","authentication":{"type":"bearer","token":"tok-PLAIN-123"}}}}"#;
        let bytes = encode_binary(
            &[
                ("correlation_id", "c-77"),
                ("content-type", "application/json"),
            ],
            body.as_bytes(),
        );
        assert_eq!(&bytes[..8], &BINARY_MAGIC);
        let d = decode(&bytes).unwrap();
        assert_eq!(d.shape, Shape::FastStreamBinary);
        assert_eq!(d.envelope.kind(), Some(EventType::Created));
        assert_eq!(d.envelope.correlation_id.as_deref(), Some("c-77"));
        assert_eq!(d.envelope.instance_name(), Some("fs"));
        assert!(!d.envelope.to_json().contains("tok-PLAIN-123"));
        assert_eq!(binary_headers(&bytes).unwrap().len(), 2);
    }

    #[test]
    fn go_manager_object_data_with_rfc3339() {
        let raw = r#"{"data": {"data": {"instance_id": "7f1c0a9e-35a4-4e43-9d6c-1a4f5a0b8c11", "name": "fs", "status": "running", "container_id": "abc", "url": "http://x", "timestamp": "2026-11-24T12:21:44Z"}, "event_id": "evt_20261124_122144_ab12cd34", "event_type": "MCPServerInstanceStatusChanged", "timestamp": "2026-11-24T12:21:44Z"}, "headers": {}}"#;
        let d = decode(raw.as_bytes()).unwrap();
        assert_eq!(d.shape, Shape::GoManager);
        assert_eq!(d.envelope.event_id, "evt_20261124_122144_ab12cd34");
        assert_eq!(d.envelope.status(), Some(Status::Running));
        assert_eq!(d.envelope.correlation_id, None);
    }

    #[test]
    fn our_envelope_is_plain() {
        let raw = r#"{"event_id":"e1","timestamp":"2026-11-24T12:21:44.000001Z","event_type":"MCPServerInstanceStopped","data":{},"event_version":"1.0","aggregate_version":3,"correlation_id":"k"}"#;
        let d = decode(raw.as_bytes()).unwrap();
        assert_eq!(d.shape, Shape::Plain);
        assert_eq!(d.envelope.aggregate_version, Some(3));
        assert_eq!(d.envelope.correlation_id.as_deref(), Some("k"));
    }

    #[test]
    fn unknown_event_types_decode() {
        let raw = r#"{"data": "{\"event_id\": \"u1\", \"timestamp\": \"1795522904\", \"event_type\": \"WorkflowExploded\", \"data\": {\"x\": 1}}", "headers": {}}"#;
        let d = decode(raw.as_bytes()).unwrap();
        assert_eq!(d.envelope.kind(), None);
        assert_eq!(d.envelope.event_type, "WorkflowExploded");
    }

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        let cases: Vec<&[u8]> = vec![
            b"\xff\xfe\x00garbage",
            b"{\"data\": \"{not json\", \"headers\": {}}",
            b"{\"truncated\": ",
            b"[1,2,3]",
            b"{\"data\": 5}",
            b"{\"hello\": \"world\"}",
            b"{\"data\": {\"event_id\": \"x\"}, \"headers\": {}}",
            &BINARY_MAGIC,
            b"",
        ];
        for c in cases {
            let e = decode(c).unwrap_err();
            assert!(!e.to_string().is_empty());
        }
        // Binary with a bad version and with offsets past the end.
        let mut b = encode_binary(&[], b"{}");
        b[9] = 2;
        assert!(matches!(decode(&b), Err(DecodeError::Binary(_))));
        let mut b = encode_binary(&[("k", "v")], b"{}");
        b[17] = 0xff;
        assert!(matches!(decode(&b), Err(DecodeError::Binary(_))));
        let mut b = encode_binary(&[("k", "v")], b"{}");
        b[19] = 0xff; // header count far beyond the block
        assert!(decode(&b).is_err());
    }

    #[test]
    fn raw_text_redacts_secret_values_even_in_broken_json() {
        let broken = br#"{"data": "{\"json_spec\": {\"environment\": {\"API_KEY\": \"sk-live-123\", \"HOME\": \"/h\"}, \"token\": \"tok-9"#;
        let t = raw_text(broken, 4096);
        assert!(!t.contains("sk-live-123"), "{t}");
        assert!(!t.contains("tok-9"), "{t}");
        assert!(t.contains("/h"), "{t}");
        let plain =
            br#"{"Authorization": "Bearer abc.def", "name": "x", "password": "secret_ref:db"#;
        let t = raw_text(plain, 4096);
        assert!(!t.contains("abc.def"), "{t}");
        assert!(t.contains("\"name\": \"x\""), "{t}");
        assert!(t.contains("secret_ref:db"), "references stay: {t}");
    }

    #[test]
    fn raw_text_is_capped_and_lossy() {
        assert_eq!(raw_text(b"abc", 10), "abc");
        assert_eq!(raw_text(b"abcdef", 3), "abc…");
        assert!(raw_text(b"\xff", 3).contains('\u{fffd}'));
    }
}
