//! A status report as a compact record: what the console keeps of our own
//! `MCPServerInstanceStatusChanged` and `MCPServerInstanceError` envelopes
//! instead of an [`Envelope`] with a `serde_json::Value` body.
//!
//! [`StatusEvent::parse`] reads the JSON of such an envelope straight into
//! typed fields (the name interned, ids as 16 bytes, statuses as enums) and
//! takes only what it can give back exactly: [`StatusEvent::to_envelope`]
//! is the envelope `serde_json` would have decoded, its `data` keys in the
//! same order. Anything else (another event type, a foreign status word, an
//! unknown or repeated key, a nested value, a number that is not a `u64`)
//! is not taken, and the caller decodes the full envelope as before, so
//! nothing is lost.

use super::event::{EVENT_VERSION, Envelope, EventType, timestamp};
use super::status::Status;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

/// The keys a status report's `data` may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    InstanceId,
    Name,
    Status,
    PreviousStatus,
    Reason,
    Error,
    ToolCount,
    Restarts,
    LastHealthyAt,
    Timestamp,
}

const KEYS: usize = 10;

impl Key {
    fn parse(s: &str) -> Option<Key> {
        Some(match s {
            "instance_id" => Key::InstanceId,
            "name" => Key::Name,
            "status" => Key::Status,
            "previous_status" => Key::PreviousStatus,
            "reason" => Key::Reason,
            "error" => Key::Error,
            "tool_count" => Key::ToolCount,
            "restarts" => Key::Restarts,
            "last_healthy_at" => Key::LastHealthyAt,
            "timestamp" => Key::Timestamp,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Key::InstanceId => "instance_id",
            Key::Name => "name",
            Key::Status => "status",
            Key::PreviousStatus => "previous_status",
            Key::Reason => "reason",
            Key::Error => "error",
            Key::ToolCount => "tool_count",
            Key::Restarts => "restarts",
            Key::LastHealthyAt => "last_healthy_at",
            Key::Timestamp => "timestamp",
        }
    }
}

/// One status report (StatusChanged or Error), compact. Text values that
/// may be JSON `null` are `None` when null; whether a key was there at all
/// is kept with its position ([`StatusEvent::to_envelope`] gives the same
/// `data`).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusEvent {
    /// The event id (our envelopes' ids are UUIDs in canonical form).
    pub event_id: Uuid,
    pub timestamp: DateTime<Utc>,
    /// `MCPServerInstanceError` rather than `…StatusChanged`.
    pub error_event: bool,
    /// `event_version` was `"1.0"` (else absent).
    pub versioned: bool,
    pub aggregate_id: Option<Uuid>,
    pub aggregate_version: Option<u64>,
    pub correlation_id: Option<Box<str>>,
    keys: [Option<Key>; KEYS],
    instance_id: Option<Uuid>,
    name: Option<Arc<str>>,
    status: Option<Status>,
    previous_status: Option<Status>,
    reason: Option<Box<str>>,
    error: Option<Box<str>>,
    tool_count: Option<u64>,
    restarts: Option<u64>,
    last_healthy_at: Option<Box<str>>,
    /// `last_healthy_at` read as a time once, where the record is decoded
    /// (off the UI thread), not each time it is applied.
    last_healthy_time: Option<DateTime<Utc>>,
    data_timestamp: Option<Box<str>>,
}

/// Instance names shared between records (one allocation per name, not
/// per event). Bounded: past [`Names::CAP`] distinct names it starts over.
#[derive(Debug, Default)]
pub struct Names {
    set: HashSet<Arc<str>>,
}

impl Names {
    pub const CAP: usize = 1 << 18;

    pub fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.set.get(name) {
            return n.clone();
        }
        if self.set.len() >= Self::CAP {
            self.set.clear();
        }
        let n: Arc<str> = Arc::from(name);
        self.set.insert(n.clone());
        n
    }
}

/// What the projection reads of a status report (from either form).
#[derive(Debug, Clone, Copy, Default)]
pub struct StatusFields<'a> {
    /// The `status` text.
    pub status: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub error: Option<&'a str>,
    /// `tool_count` was there: its value as a number (null: none).
    pub tool_count: Option<Option<u64>>,
    pub restarts: Option<u64>,
    /// `last_healthy_at` was there: its time, if readable.
    pub last_healthy_at: Option<Option<DateTime<Utc>>>,
}

impl<'a> StatusFields<'a> {
    /// From an envelope's `data` object.
    pub fn of_map(d: &'a Map<String, Value>) -> StatusFields<'a> {
        let s = |k: &str| d.get(k).and_then(Value::as_str);
        StatusFields {
            status: s("status"),
            reason: s("reason"),
            error: s("error"),
            tool_count: d.get("tool_count").map(Value::as_u64),
            restarts: d.get("restarts").and_then(Value::as_u64),
            last_healthy_at: d.get("last_healthy_at").map(timestamp::parse_value),
        }
    }
}

impl StatusEvent {
    pub fn kind(&self) -> EventType {
        if self.error_event {
            EventType::Error
        } else {
            EventType::StatusChanged
        }
    }

    fn has(&self, k: Key) -> bool {
        self.keys.contains(&Some(k))
    }

    /// As [`Envelope::instance_id`]: `aggregate_id`, else `data.instance_id`.
    pub fn instance_id(&self) -> Option<Uuid> {
        self.aggregate_id.or(self.instance_id)
    }

    pub fn instance_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn name_arc(&self) -> Option<&Arc<str>> {
        self.name.as_ref()
    }

    pub fn status(&self) -> Option<Status> {
        self.status
    }

    pub fn previous_status(&self) -> Option<Status> {
        self.previous_status
    }

    /// As [`Envelope::error_text`]: `error` if the key is there, else `reason`.
    pub fn error_text(&self) -> Option<&str> {
        if self.has(Key::Error) {
            self.error.as_deref()
        } else {
            self.reason.as_deref()
        }
    }

    pub fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }

    /// What the projection reads.
    pub fn fields(&self) -> StatusFields<'_> {
        StatusFields {
            status: self.status.map(Status::as_str),
            reason: self.reason.as_deref().filter(|_| self.has(Key::Reason)),
            error: self.error.as_deref().filter(|_| self.has(Key::Error)),
            tool_count: self.has(Key::ToolCount).then_some(self.tool_count),
            restarts: self.restarts,
            last_healthy_at: self
                .has(Key::LastHealthyAt)
                .then_some(self.last_healthy_time),
        }
    }

    /// The envelope this record was read from, as `serde_json` decodes it.
    pub fn to_envelope(&self) -> Envelope {
        let mut data = Map::with_capacity(KEYS);
        let text = |t: &Option<Box<str>>| t.as_deref().map_or(Value::Null, |s| s.into());
        let num = |n: Option<u64>| n.map_or(Value::Null, Value::from);
        for k in self.keys.iter().flatten() {
            let v = match k {
                Key::InstanceId => self
                    .instance_id
                    .map_or(Value::Null, |u| u.to_string().into()),
                Key::Name => self.name.as_deref().map_or(Value::Null, |s| s.into()),
                Key::Status => self.status.map_or(Value::Null, |s| s.as_str().into()),
                Key::PreviousStatus => self
                    .previous_status
                    .map_or(Value::Null, |s| s.as_str().into()),
                Key::Reason => text(&self.reason),
                Key::Error => text(&self.error),
                Key::ToolCount => num(self.tool_count),
                Key::Restarts => num(self.restarts),
                Key::LastHealthyAt => text(&self.last_healthy_at),
                Key::Timestamp => text(&self.data_timestamp),
            };
            data.insert(k.as_str().to_string(), v);
        }
        Envelope {
            event_id: self.event_id.to_string(),
            timestamp: self.timestamp,
            event_type: self.kind().as_str().to_string(),
            data: Value::Object(data),
            event_version: self.versioned.then(|| EVENT_VERSION.to_string()),
            aggregate_id: self.aggregate_id,
            aggregate_version: self.aggregate_version,
            correlation_id: self.correlation_id.as_deref().map(str::to_string),
            attribution: None,
        }
    }

    /// A status report of ours already decoded, compact: what its JSON
    /// reads as (timestamps to the microsecond, as written). `None` for any
    /// other envelope, or one this record cannot give back exactly. (Tests
    /// compare the compact path with the full one through it.)
    #[cfg(test)]
    pub fn from_envelope(e: &Envelope, names: &mut Names) -> Option<StatusEvent> {
        // Cheap refusals first; the JSON round trip is exact by construction.
        if !matches!(e.kind(), Some(EventType::StatusChanged | EventType::Error))
            || e.attribution.is_some()
        {
            return None;
        }
        let json = e.to_json();
        let s = StatusEvent::parse(&json, names)?;
        let wire: Envelope = serde_json::from_str(&json).ok()?;
        (s.to_envelope() == wire).then_some(s)
    }

    /// Read one envelope's JSON. `None`: not a status report of ours in a
    /// shape this record keeps exactly (decode it in full instead).
    pub fn parse(text: &str, names: &mut Names) -> Option<StatusEvent> {
        let mut p = Parser {
            b: text.as_bytes(),
            at: 0,
        };
        let mut ev = StatusEvent {
            event_id: Uuid::nil(),
            timestamp: DateTime::<Utc>::MIN_UTC,
            error_event: false,
            versioned: false,
            aggregate_id: None,
            aggregate_version: None,
            correlation_id: None,
            keys: [None; KEYS],
            instance_id: None,
            name: None,
            status: None,
            previous_status: None,
            reason: None,
            error: None,
            tool_count: None,
            restarts: None,
            last_healthy_at: None,
            last_healthy_time: None,
            data_timestamp: None,
        };
        // Bits: event_id, timestamp, event_type, data, event_version,
        // aggregate_id, aggregate_version, correlation_id.
        let mut seen = 0u8;
        p.expect(b'{')?;
        if !p.eat(b'}') {
            loop {
                let key = p.string()?;
                p.expect(b':')?;
                let bit = match key.as_ref() {
                    "event_id" => {
                        ev.event_id = canonical_uuid(&p.string()?)?;
                        0
                    }
                    "timestamp" => {
                        ev.timestamp = timestamp::parse_str(&p.string()?)?;
                        1
                    }
                    "event_type" => {
                        let t = p.string()?;
                        ev.error_event = match EventType::parse(&t)? {
                            EventType::StatusChanged => false,
                            EventType::Error => true,
                            _ => return None,
                        };
                        2
                    }
                    "data" => {
                        p.data(&mut ev, names)?;
                        3
                    }
                    "event_version" => {
                        ev.versioned = match p.text_or_null()? {
                            None => false,
                            Some(v) if v == EVENT_VERSION => true,
                            Some(_) => return None,
                        };
                        4
                    }
                    "aggregate_id" => {
                        ev.aggregate_id = match p.text_or_null()? {
                            None => None,
                            Some(s) => Some(Uuid::parse_str(&s).ok()?),
                        };
                        5
                    }
                    "aggregate_version" => {
                        ev.aggregate_version = p.number_or_null()?;
                        6
                    }
                    "correlation_id" => {
                        ev.correlation_id = p.text_or_null()?.map(|s| s.into());
                        7
                    }
                    _ => return None,
                };
                if seen & (1 << bit) != 0 {
                    return None;
                }
                seen |= 1 << bit;
                if p.eat(b',') {
                    continue;
                }
                p.expect(b'}')?;
                break;
            }
        }
        p.ws();
        // The first four are what the envelope needs; nothing may follow.
        (seen & 0b1111 == 0b1111 && p.at == p.b.len()).then_some(ev)
    }
}

/// Our event ids: a UUID written the way `Uuid::to_string` writes it.
fn canonical_uuid(s: &str) -> Option<Uuid> {
    let u = Uuid::try_parse(s).ok()?;
    (s.len() == 36 && !s.bytes().any(|c| c.is_ascii_uppercase())).then_some(u)
}

/// A scanner for the few JSON shapes a status report has.
struct Parser<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.at) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.b.get(self.at) == Some(&c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        self.eat(c).then_some(())
    }

    /// A string; borrowed when it has no escapes.
    fn string(&mut self) -> Option<std::borrow::Cow<'a, str>> {
        self.expect(b'"')?;
        let start = self.at;
        let mut escaped = false;
        loop {
            match *self.b.get(self.at)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.at += 2;
                }
                c if c < 0x20 => return None,
                _ => self.at += 1,
            }
        }
        let end = self.at;
        self.at += 1;
        let raw = self.b.get(start..end)?;
        if escaped {
            // The quotes included: serde_json unescapes exactly as the full
            // decode would.
            let quoted = std::str::from_utf8(self.b.get(start - 1..end + 1)?).ok()?;
            serde_json::from_str::<String>(quoted).ok().map(Into::into)
        } else {
            std::str::from_utf8(raw).ok().map(Into::into)
        }
    }

    fn null(&mut self) -> bool {
        self.ws();
        if self.b[self.at..].starts_with(b"null") {
            self.at += 4;
            true
        } else {
            false
        }
    }

    fn text_or_null(&mut self) -> Option<Option<std::borrow::Cow<'a, str>>> {
        if self.null() {
            return Some(None);
        }
        self.string().map(Some)
    }

    /// A `u64` written as plain digits, or null.
    fn number_or_null(&mut self) -> Option<Option<u64>> {
        if self.null() {
            return Some(None);
        }
        self.ws();
        let start = self.at;
        while self.b.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let digits = std::str::from_utf8(&self.b[start..self.at]).ok()?;
        if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        // A fraction or an exponent is a float in serde_json: not ours.
        if matches!(self.b.get(self.at), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        digits.parse().ok().map(Some)
    }

    fn status(&mut self) -> Option<Status> {
        let t = self.string()?;
        Status::ALL.into_iter().find(|s| s.as_str() == t)
    }

    fn data(&mut self, ev: &mut StatusEvent, names: &mut Names) -> Option<()> {
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Some(());
        }
        let mut n = 0;
        loop {
            let key = Key::parse(&self.string()?)?;
            self.expect(b':')?;
            if ev.keys[..n].contains(&Some(key)) {
                return None;
            }
            let text = |p: &mut Self| {
                p.text_or_null()
                    .map(|t| t.map(|s| Box::<str>::from(s.as_ref())))
            };
            match key {
                Key::InstanceId => ev.instance_id = Some(canonical_uuid(&self.string()?)?),
                Key::Name => ev.name = Some(names.get(&self.string()?)),
                Key::Status => ev.status = Some(self.status()?),
                Key::PreviousStatus => ev.previous_status = Some(self.status()?),
                Key::Reason => ev.reason = text(self)?,
                Key::Error => ev.error = text(self)?,
                Key::ToolCount => ev.tool_count = self.number_or_null()?,
                Key::Restarts => ev.restarts = self.number_or_null()?,
                Key::LastHealthyAt => {
                    ev.last_healthy_at = text(self)?;
                    ev.last_healthy_time =
                        ev.last_healthy_at.as_deref().and_then(timestamp::parse_str);
                }
                Key::Timestamp => ev.data_timestamp = text(self)?,
            }
            *ev.keys.get_mut(n)? = Some(key);
            n += 1;
            if self.eat(b',') {
                continue;
            }
            return self.expect(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Instance;
    use crate::domain::status::DesiredState;

    fn inst() -> Instance {
        Instance {
            id: Uuid::from_u128(7),
            name: "fs \"one\"".into(),
            description: None,
            server_spec_id: None,
            json_spec: Map::new(),
            status: Status::Running,
            status_reason: Some("up\nagain".into()),
            desired_state: DesiredState::Running,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 3,
            aggregate_version: 9,
            updated_by: None,
            last_healthy_at: Some(Utc::now()),
            tool_count: Some(4),
            restarts: 2,
        }
    }

    fn full(json: &str) -> Envelope {
        serde_json::from_str(json).expect("an envelope")
    }

    fn round_trip(json: &str) -> StatusEvent {
        let mut names = Names::default();
        let s = StatusEvent::parse(json, &mut names).expect("taken compact");
        assert_eq!(s.to_envelope(), full(json), "{json}");
        assert_eq!(
            serde_json::to_string(&s.to_envelope()).unwrap(),
            serde_json::to_string(&full(json)).unwrap(),
            "the same JSON, keys in the same order"
        );
        s
    }

    #[test]
    fn our_status_reports_come_back_exactly() {
        let i = inst();
        let s = round_trip(
            &Envelope::status_changed(&i, Status::Starting, Some("c-1".into())).to_json(),
        );
        assert_eq!(s.status(), Some(Status::Running));
        assert_eq!(s.previous_status(), Some(Status::Starting));
        assert_eq!(s.instance_name(), Some("fs \"one\""));
        assert_eq!(s.error_text(), Some("up\nagain"));
        let mut e = i.clone();
        e.status = Status::Error;
        e.last_healthy_at = None;
        e.tool_count = None;
        let s = round_trip(&Envelope::error(&e, "boom", None).to_json());
        assert_eq!(s.kind(), EventType::Error);
        assert_eq!(s.error_text(), Some("boom"));
        // The bench's small envelope: two keys, no correlation id.
        let mut small = Envelope::status_changed(&i, Status::Running, None);
        small.data = serde_json::json!({"status": "unhealthy", "previous_status": "running"});
        round_trip(&small.to_json());
        // Spaces, nulls and keys in another order.
        round_trip(
            r#" { "timestamp" : "2026-11-24T12:21:44Z", "event_type":"MCPServerInstanceStatusChanged",
                "event_id":"10386c45-ecfe-4fc6-b9c2-ca56d2663348", "data": { "restarts": 0, "reason": null,
                "tool_count": null, "status": "stopped" }, "correlation_id": null, "aggregate_version": 12 } "#,
        );
    }

    #[test]
    fn what_it_cannot_give_back_is_left_to_the_full_decode() {
        let mut names = Names::default();
        let head = r#"{"event_id":"10386c45-ecfe-4fc6-b9c2-ca56d2663348","timestamp":"2026-11-24T12:21:44Z","#;
        for rest in [
            r#""event_type":"MCPServerInstanceStarted","data":{}}"#,
            r#""event_type":"MCPServerInstanceStatusChanged","data":{"status":"failed"}}"#,
            r#""event_type":"MCPServerInstanceStatusChanged","data":{"status":"running","extra":1}}"#,
            r#""event_type":"MCPServerInstanceStatusChanged","data":{"status":"running","status":"stopped"}}"#,
            r#""event_type":"MCPServerInstanceStatusChanged","data":{"tool_count":1.0}}"#,
            r#""event_type":"MCPServerInstanceStatusChanged","data":{"tool_count":-1}}"#,
            r#""event_type":"MCPServerInstanceStatusChanged","data":{"reason":{"a":1}}}"#,
            r#""event_type":"MCPServerInstanceStatusChanged","data":{},"event_version":"2.0"}"#,
            r#""event_type":"MCPServerInstanceStatusChanged","data":{},"attribution":{}}"#,
            r#""event_type":"MCPServerInstanceStatusChanged"}"#,
            r#""event_type":"MCPServerInstanceStatusChanged","data":{}} trailing"#,
            r#""event_type":"MCPServerInstanceStatusChanged","data":{"status":"running"}"#,
        ] {
            let json = format!("{head}{rest}");
            assert_eq!(StatusEvent::parse(&json, &mut names), None, "{json}");
        }
        let upper = r#"{"event_id":"10386C45-ECFE-4FC6-B9C2-CA56D2663348","timestamp":"2026-11-24T12:21:44Z","event_type":"MCPServerInstanceStatusChanged","data":{}}"#;
        assert_eq!(StatusEvent::parse(upper, &mut names), None);
    }

    #[test]
    fn from_an_envelope_and_names_shared() {
        let mut names = Names::default();
        let e = Envelope::status_changed(&inst(), Status::Starting, None);
        let a = StatusEvent::from_envelope(&e, &mut names).expect("ours");
        let b = StatusEvent::from_envelope(&e, &mut names).expect("ours");
        assert!(Arc::ptr_eq(a.name_arc().unwrap(), b.name_arc().unwrap()));
        let wire: Envelope = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(a.to_envelope(), wire);
        let started = Envelope::started(&inst(), None);
        assert_eq!(StatusEvent::from_envelope(&started, &mut names), None);
    }
}
