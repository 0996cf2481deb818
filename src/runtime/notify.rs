//! A server's unasked-for notifications (list changes, resource updates,
//! progress, cancellations) into the instance's event history, coalesced:
//! the first of each kind and subject is recorded at once; more of the
//! same within [`WINDOW`] become one record that counts them. A chatty
//! server writes at most one record per kind and subject per window.

use super::Shared;
use super::ring::LogRing;
use crate::platform::NoticeReport;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// How long more notices of one kind and subject are counted before the
/// count is written.
pub const WINDOW: Duration = Duration::from_secs(10);
/// Subjects counted apart in one window; beyond, they share one count.
const MAX_SUBJECTS: usize = 32;
/// Notices queued for the recorder; beyond, they are counted as dropped.
const QUEUE: usize = 256;
/// Longest subject or message kept (characters).
const MAX_TEXT: usize = 200;

/// One notification as heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    /// The protocol's method (`notifications/tools/list_changed`).
    pub method: &'static str,
    /// What it is about: a resource URI, a progress token, a request id.
    pub subject: Option<String>,
    /// The rest (progress and total, a reason), as JSON.
    pub detail: Value,
    pub at: DateTime<Utc>,
}

fn short(s: &str) -> String {
    crate::domain::text::cut(s, MAX_TEXT)
}

impl Heard {
    fn new(method: &'static str, subject: Option<String>, detail: Value) -> Heard {
        Heard {
            method,
            subject: subject.map(|s| short(&s)),
            detail,
            at: Utc::now(),
        }
    }

    /// `notifications/{what}/list_changed` (tools, resources, prompts).
    pub fn list_changed(what: &str) -> Heard {
        let method = match what {
            "tools" => "notifications/tools/list_changed",
            "resources" => "notifications/resources/list_changed",
            _ => "notifications/prompts/list_changed",
        };
        Heard::new(method, None, Value::Null)
    }

    pub fn resource_updated(uri: &str) -> Heard {
        Heard::new(
            "notifications/resources/updated",
            Some(uri.to_string()),
            Value::Null,
        )
    }

    pub fn progress(p: &rmcp::model::ProgressNotificationParam) -> Heard {
        let token = serde_json::to_value(&p.progress_token)
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .unwrap_or_default();
        let mut detail = json!({"progress": p.progress});
        if let Some(t) = p.total {
            detail["total"] = json!(t);
        }
        if let Some(m) = &p.message {
            detail["message"] = json!(short(m));
        }
        Heard::new("notifications/progress", Some(token), detail)
    }

    pub fn cancelled(p: &rmcp::model::CancelledNotificationParam) -> Heard {
        let id = p.request_id.as_ref().map(|r| {
            serde_json::to_value(r)
                .map(|v| match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .unwrap_or_default()
        });
        let detail = p
            .reason
            .as_ref()
            .map_or(Value::Null, |r| json!({"reason": short(r)}));
        Heard::new("notifications/cancelled", id, detail)
    }
}

/// Where a session's notification handler tells what it heard: a bounded
/// queue to the recorder; a full queue counts what it could not take.
#[derive(Debug, Clone)]
pub struct Teller {
    tx: mpsc::Sender<Heard>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl Teller {
    pub fn tell(&self, h: Heard) {
        if self.tx.try_send(h).is_err() {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// What is being counted for one kind and subject in the current window.
#[derive(Debug)]
struct Slot {
    opened: DateTime<Utc>,
    /// Notices since the last record.
    count: u64,
    first_at: DateTime<Utc>,
    last: Option<Heard>,
}

/// The coalescing rule, apart from time and I/O: what to record now.
#[derive(Debug, Default)]
pub struct Coalescer {
    slots: HashMap<(&'static str, Option<String>), Slot>,
}

impl Coalescer {
    /// A notice arrived: the record to write at once, if it is the first
    /// of its kind and subject in this window.
    pub fn heard(&mut self, mut h: Heard) -> Option<NoticeReport> {
        if !self.slots.contains_key(&(h.method, h.subject.clone()))
            && self.slots.len() >= MAX_SUBJECTS
        {
            // Too many subjects at once: the rest share one count.
            h.subject = Some("(other subjects)".into());
        }
        let key = (h.method, h.subject.clone());
        match self.slots.get_mut(&key) {
            Some(slot) => {
                if slot.count == 0 {
                    slot.first_at = h.at;
                }
                slot.count += 1;
                slot.last = Some(h);
                None
            }
            None => {
                let report = report(&h, 1, h.at);
                self.slots.insert(
                    key,
                    Slot {
                        opened: h.at,
                        count: 0,
                        first_at: h.at,
                        last: None,
                    },
                );
                Some(report)
            }
        }
    }

    /// The counts of windows that ended by `now` (all of them when
    /// `all`: the session ended), as records.
    pub fn due(&mut self, now: DateTime<Utc>, all: bool) -> Vec<NoticeReport> {
        let window = chrono::Duration::from_std(WINDOW).unwrap_or_default();
        let mut out = Vec::new();
        self.slots.retain(|_, slot| {
            if !all && now - slot.opened < window {
                return true;
            }
            match slot.last.take() {
                Some(last) if slot.count > 0 => {
                    out.push(report(&last, slot.count, slot.first_at));
                    // Counting goes on in a new window.
                    slot.opened = now;
                    slot.count = 0;
                    !all
                }
                _ => false,
            }
        });
        out.sort_by_key(|r| r.last_at);
        out
    }
}

fn report(h: &Heard, count: u64, first_at: DateTime<Utc>) -> NoticeReport {
    NoticeReport {
        method: h.method.to_string(),
        subject: h.subject.clone(),
        count,
        first_at,
        last_at: h.at,
        detail: h.detail.clone(),
    }
}

/// A teller and the recorder behind it for instance `id`: it writes what
/// the coalescer says through the runtime's port, secrets masked with
/// `ring`'s, until every teller is gone (the session ended).
pub(super) fn recorder(shared: &Arc<Shared>, id: Uuid, ring: Arc<Mutex<LogRing>>) -> Teller {
    let (tx, mut rx) = mpsc::channel::<Heard>(QUEUE);
    let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let teller = Teller {
        tx,
        dropped: dropped.clone(),
    };
    let shared = shared.clone();
    tokio::spawn(async move {
        let mut c = Coalescer::default();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            let (reports, done) = tokio::select! {
                h = rx.recv() => match h {
                    Some(h) => (c.heard(h).into_iter().collect(), false),
                    None => (c.due(Utc::now(), true), true),
                },
                _ = tick.tick() => (c.due(Utc::now(), false), false),
            };
            for mut r in reports {
                if let Ok(ring) = ring.lock() {
                    r.subject = r.subject.map(|s| ring.mask(&s));
                    r.detail = serde_json::from_str(&ring.mask(&r.detail.to_string()))
                        .unwrap_or(Value::Null);
                }
                shared.record_notice(id, r).await;
            }
            let lost = dropped.swap(0, std::sync::atomic::Ordering::Relaxed);
            if lost > 0 {
                tracing::warn!(%id, lost, "a server sent notifications faster than they could be recorded; some were only counted");
            }
            if done {
                return;
            }
        }
    });
    teller
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: Heard, secs: i64) -> Heard {
        Heard {
            at: DateTime::<Utc>::from_timestamp(1_800_000_000 + secs, 0).unwrap(),
            ..h
        }
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn the_first_is_recorded_at_once_the_rest_counted_per_window() {
        let mut c = Coalescer::default();
        let first = c.heard(at(Heard::list_changed("tools"), 0)).unwrap();
        assert_eq!(first.count, 1);
        assert_eq!(first.method, "notifications/tools/list_changed");
        for s in 1..=5 {
            assert!(c.heard(at(Heard::list_changed("tools"), s)).is_none());
        }
        assert!(c.due(t(5), false).is_empty(), "the window is still open");
        let sum = c.due(t(10), false);
        assert_eq!(sum.len(), 1);
        assert_eq!(
            (sum[0].count, sum[0].first_at, sum[0].last_at),
            (5, t(1), t(5))
        );
        // A quiet window ends the slot: the next one is recorded at once.
        assert!(c.due(t(21), false).is_empty());
        assert!(c.heard(at(Heard::list_changed("tools"), 22)).is_some());
    }

    #[test]
    fn subjects_are_counted_apart_but_boundedly() {
        let mut c = Coalescer::default();
        assert!(c.heard(at(Heard::resource_updated("a://1"), 0)).is_some());
        assert!(c.heard(at(Heard::resource_updated("a://2"), 0)).is_some());
        assert!(c.heard(at(Heard::resource_updated("a://1"), 1)).is_none());
        let mut written = 2;
        for i in 0..1000 {
            written += c
                .heard(at(Heard::resource_updated(&format!("b://{i}")), 2))
                .into_iter()
                .count();
        }
        assert!(written <= MAX_SUBJECTS + 1, "{written} records");
        let end = c.due(t(3), true);
        assert!(
            end.iter()
                .any(|r| r.subject.as_deref() == Some("(other subjects)"))
        );
        assert!(
            end.iter()
                .any(|r| r.subject.as_deref() == Some("a://1") && r.count == 1)
        );
    }
}
