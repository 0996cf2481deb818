//! Stream entries: our envelope JSON in one field, `__data__` (FastStream's
//! field name, so FastStream consumers can read our stream); entries whose
//! field is `data` are accepted too.

use super::agentarea;
use crate::domain::status_event::{Names, StatusEvent};
use crate::platform::PlatformEvent;
use bytes::Bytes;
use redis::Value;
use std::sync::Arc;

/// The field our envelope is written to.
pub const FIELD: &str = "__data__";
/// Also accepted when reading.
pub const ALT_FIELD: &str = "data";
/// How much of an undecodable payload is kept for inspection.
pub const RAW_KEEP: usize = 8 * 1024;

/// One entry as read: its id and the payload field, if it had one (a
/// slice of the reply it came in, when read by [`super::resp`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    pub id: String,
    pub payload: Option<Bytes>,
}

/// A stream id `ms-seq`, for comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamId(pub u64, pub u64);

impl StreamId {
    pub fn parse(s: &str) -> Option<StreamId> {
        let (a, b) = s.split_once('-').unwrap_or((s, "0"));
        Some(StreamId(a.parse().ok()?, b.parse().ok()?))
    }
}

/// When an entry was added: the milliseconds in its stream id.
pub fn id_time(id: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let StreamId(ms, _) = StreamId::parse(id)?;
    chrono::DateTime::from_timestamp_millis(i64::try_from(ms).ok()?)
}

fn text(v: Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b).ok(),
        Value::SimpleString(s) => Some(s),
        _ => None,
    }
}

fn bytes(v: Value) -> Option<Bytes> {
    match v {
        Value::BulkString(b) => Some(b.into()),
        Value::SimpleString(s) => Some(s.into_bytes().into()),
        _ => None,
    }
}

/// Field/value pairs of one entry, as a flat array (RESP2) or a map (RESP3).
fn payload_of(fields: Value) -> Option<Bytes> {
    let pairs: Vec<(Value, Value)> = match fields {
        Value::Array(items) => {
            let mut it = items.into_iter();
            let mut out = Vec::new();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                out.push((k, v));
            }
            out
        }
        Value::Map(m) => m,
        _ => return None,
    };
    let mut alt = None;
    for (k, v) in pairs {
        match text(k).as_deref() {
            Some(FIELD) => return bytes(v),
            Some(ALT_FIELD) => alt = bytes(v),
            _ => {}
        }
    }
    alt
}

/// Entries of an `XRANGE`/`XREVRANGE` reply (or the entry list of a stream
/// in an `XREAD` reply). Deleted entries (nil) are skipped.
pub fn parse_entries(v: Value) -> Vec<RawEntry> {
    let Value::Array(items) = v else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|e| {
            let Value::Array(parts) = e else {
                return None;
            };
            let mut it = parts.into_iter();
            let id = text(it.next()?)?;
            let payload = it.next().and_then(payload_of);
            Some(RawEntry { id, payload })
        })
        .collect()
}

/// Entries of an `XREAD`/`XREADGROUP` reply for one stream; nil (timeout)
/// gives none.
pub fn parse_read_reply(v: Value) -> Vec<RawEntry> {
    match v {
        Value::Array(streams) => streams
            .into_iter()
            .flat_map(|s| match s {
                Value::Array(kv) => kv.into_iter().nth(1).map(parse_entries).unwrap_or_default(),
                _ => Vec::new(),
            })
            .collect(),
        Value::Map(streams) => streams
            .into_iter()
            .flat_map(|(_, entries)| parse_entries(entries))
            .collect(),
        _ => Vec::new(),
    }
}

/// [`to_event`], with a status report of ours read as a compact record
/// ([`PlatformEvent::Status`]) when it is one; anything else in full.
pub fn to_event_compact(entry: &RawEntry, source: &str, names: &mut Names) -> PlatformEvent {
    if let Some(bytes) = &entry.payload
        && bytes.starts_with(b"{\"event_id\"")
        && let Ok(text) = std::str::from_utf8(bytes)
        && let Some(s) = StatusEvent::parse(text, names)
    {
        return PlatformEvent::Status(Arc::new(s));
    }
    to_event(entry, source)
}

/// Decode one entry into what subscribers see.
pub fn to_event(entry: &RawEntry, source: &str) -> PlatformEvent {
    match &entry.payload {
        None => PlatformEvent::Malformed {
            source: source.to_string(),
            raw: format!("stream entry {} without a {FIELD} field", entry.id),
            error: format!("the stream entry has no {FIELD} or {ALT_FIELD} field"),
        },
        Some(bytes) => match agentarea::decode(bytes) {
            Ok(d) => PlatformEvent::Event(Arc::new(d.envelope)),
            Err(e) => PlatformEvent::Malformed {
                source: source.to_string(),
                raw: agentarea::raw_text(bytes, RAW_KEEP),
                error: e.to_string(),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bs(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn parses_xread_replies_in_both_protocols() {
        let entry = |id: &str, f: &str, v: &str| {
            Value::Array(vec![bs(id), Value::Array(vec![bs(f), bs(v)])])
        };
        let resp2 = Value::Array(vec![Value::Array(vec![
            bs("k"),
            Value::Array(vec![
                entry("1-0", "__data__", "a"),
                entry("2-0", "data", "b"),
                entry("3-0", "x", "c"),
            ]),
        ])]);
        let got = parse_read_reply(resp2);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].payload.as_deref(), Some(&b"a"[..]));
        assert_eq!(got[1].payload.as_deref(), Some(&b"b"[..]));
        assert_eq!(got[2].payload, None);
        let resp3 = Value::Map(vec![(
            bs("k"),
            Value::Array(vec![entry("4-1", "__data__", "z")]),
        )]);
        assert_eq!(parse_read_reply(resp3)[0].id, "4-1");
        assert!(parse_read_reply(Value::Nil).is_empty());
    }

    #[test]
    fn stream_ids_order_numerically() {
        assert!(StreamId::parse("10-0") > StreamId::parse("9-5"));
        assert!(StreamId::parse("9-10") > StreamId::parse("9-9"));
        assert_eq!(StreamId::parse("7"), Some(StreamId(7, 0)));
        assert_eq!(StreamId::parse("x-1"), None);
    }

    #[test]
    fn missing_field_and_garbage_are_malformed() {
        let e = RawEntry {
            id: "1-0".into(),
            payload: None,
        };
        assert!(matches!(to_event(&e, "s"), PlatformEvent::Malformed { .. }));
        let e = RawEntry {
            id: "1-0".into(),
            payload: Some(Bytes::from_static(b"\x00\x01")),
        };
        assert!(matches!(to_event(&e, "s"), PlatformEvent::Malformed { .. }));
    }
}
