//! Which instance AgentArea's own events are about.
//!
//! AgentArea publishes `Updated`, `Started` and `Stopped` with an empty
//! `data` and `Deleted` with only `instance_id` (compat.md, "What the real
//! backend does"). Between its pub/sub listener and the subscribers, the API
//! adapter traces each one that names no instance:
//!
//! 1. **This process's own request.** Every PATCH, start and stop it sends
//!    is noted ([`Requests`]); AgentArea commits, then publishes, then
//!    answers, so the event arrives while the request is in flight or just
//!    after. When exactly one request of the event's kind can have caused
//!    it, the event is that request's instance.
//! 2. **The list that follows.** AgentArea commits before it publishes, so
//!    a list read after the event shows what it changed: the instance whose
//!    `updated_at` moved since the last list. Changes wait (30 s at most)
//!    to be claimed by their event; when exactly one unclaimed change fits
//!    (a Started's instance runs, a Stopped's is stopped), that is it.
//!
//! Otherwise the event stays unattributed and says why. Either way the
//! envelope's `data` stays as AgentArea sent it: the finding travels as
//! [`Attribution`], which the raw view and `events -o jsonl` show.

use super::Inner;
use crate::domain::{Attribution, Envelope, EventType, Status};
use crate::platform::EventSink;
use crate::platform::{PlatformError, PlatformEvent, SourceState};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Method;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

/// How long after its answer a request may still claim the event it caused.
const GRACE: Duration = Duration::from_secs(5);
/// How long a change seen in a list waits for the event that caused it.
const CHANGE_TTL: Duration = Duration::from_secs(30);
/// Requests remembered at most (a burst of bulk actions).
const MAX_REQUESTS: usize = 4096;

/// One mutation this process sent.
#[derive(Debug, Clone)]
struct Request {
    ticket: u64,
    kind: EventType,
    id: Uuid,
    /// "start", "stop" or "PATCH", for the sentence.
    verb: &'static str,
    sent_at: DateTime<Utc>,
    answered: Option<Instant>,
}

/// The mutations this process sent that cause an event without an id.
#[derive(Debug, Default)]
pub(super) struct Requests {
    list: Mutex<VecDeque<Request>>,
    next: AtomicU64,
}

/// What a request's path and method say it will cause.
fn causes(method: &Method, path: &str) -> Option<(EventType, Uuid, &'static str)> {
    let rest = path.strip_prefix('/')?;
    let (id, action) = match rest.split_once('/') {
        Some((id, action)) => (id, Some(action)),
        None => (rest, None),
    };
    let id = Uuid::parse_str(id).ok()?;
    match (method.as_str(), action) {
        ("PATCH", None) => Some((EventType::Updated, id, "PATCH")),
        ("POST", Some("start")) => Some((EventType::Started, id, "start")),
        ("POST", Some("stop")) => Some((EventType::Stopped, id, "stop")),
        _ => None,
    }
}

/// Which of this process's requests can have caused an event.
#[derive(Debug)]
enum Claim {
    One(Request),
    Many(Vec<Uuid>),
    None,
}

impl Requests {
    /// Note a mutation about to be sent; a ticket when it causes an event
    /// that names no instance.
    pub(super) fn sent(&self, method: &Method, path: &str) -> Option<u64> {
        let (kind, id, verb) = causes(method, path)?;
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        let mut list = self.list.lock().ok()?;
        Self::expire(&mut list);
        if list.len() >= MAX_REQUESTS {
            list.pop_front();
        }
        list.push_back(Request {
            ticket,
            kind,
            id,
            verb,
            sent_at: Utc::now(),
            answered: None,
        });
        Some(ticket)
    }

    /// The answer came: a failed request caused nothing.
    pub(super) fn answered(&self, ticket: Option<u64>, ok: bool) {
        let (Some(ticket), Ok(mut list)) = (ticket, self.list.lock()) else {
            return;
        };
        if ok {
            if let Some(r) = list.iter_mut().find(|r| r.ticket == ticket) {
                r.answered = Some(Instant::now());
            }
        } else {
            list.retain(|r| r.ticket != ticket);
        }
    }

    fn expire(list: &mut VecDeque<Request>) {
        list.retain(|r| r.answered.is_none_or(|at| at.elapsed() < GRACE));
    }

    /// The request that caused an event of `kind`, taken, when only one can have.
    fn claim(&self, kind: EventType) -> Claim {
        let Ok(mut list) = self.list.lock() else {
            return Claim::None;
        };
        Self::expire(&mut list);
        let ids: Vec<usize> = (0..list.len()).filter(|&i| list[i].kind == kind).collect();
        match ids.as_slice() {
            [] => Claim::None,
            [one] => list.remove(*one).map_or(Claim::None, Claim::One),
            many => Claim::Many(many.iter().map(|&i| list[i].id).collect()),
        }
    }

    /// Take the request for `id` (after a list picked it among several).
    fn take(&self, kind: EventType, id: Uuid) -> Option<Request> {
        let mut list = self.list.lock().ok()?;
        let at = list.iter().position(|r| r.kind == kind && r.id == id)?;
        list.remove(at)
    }
}

/// What the last list said about one instance.
#[derive(Debug, Clone)]
struct Known {
    name: String,
    status: Status,
    updated_at: DateTime<Utc>,
}

/// A change a list showed, waiting for its event.
#[derive(Debug, Clone)]
struct Change {
    id: Uuid,
    status: Status,
    noticed: Instant,
}

/// The tracing state; one task owns it, so events keep their order.
struct Tracer {
    inner: Arc<Inner>,
    /// The last list, by id; `None` until one answered.
    known: Option<HashMap<Uuid, Known>>,
    pool: Vec<Change>,
    /// Instances whose next change is already claimed by a request.
    absorb: HashSet<Uuid>,
}

/// Where the pub/sub listener delivers: the tracing task.
#[derive(Clone)]
pub(super) struct AttributeSink {
    tx: mpsc::UnboundedSender<Vec<PlatformEvent>>,
}

#[async_trait]
impl EventSink for AttributeSink {
    async fn emit(&self, batch: Vec<PlatformEvent>) -> bool {
        self.tx.send(batch).is_ok()
    }
}

/// Start the tracing task between a listener and `out`; it ends when the
/// listener (the last sink) is gone.
pub(super) fn spawn(inner: Arc<Inner>, out: broadcast::Sender<PlatformEvent>) -> AttributeSink {
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<PlatformEvent>>();
    tokio::spawn(async move {
        let mut t = Tracer {
            inner,
            known: None,
            pool: Vec::new(),
            absorb: HashSet::new(),
        };
        while let Some(batch) = rx.recv().await {
            let mut listed: Option<Result<(), PlatformError>> = None;
            for ev in batch {
                for e in t.handle(ev, &mut listed).await {
                    let _ = out.send(e);
                }
            }
        }
    });
    AttributeSink { tx }
}

/// Whether AgentArea left this event without its instance.
fn unnamed(e: &Envelope) -> bool {
    matches!(
        e.kind(),
        Some(EventType::Updated | EventType::Started | EventType::Stopped)
    ) && e.instance_id().is_none()
}

/// Whether a change fits an event of `kind` (Started: it runs; Stopped: it is stopped).
fn fits(kind: EventType, status: Status) -> bool {
    match kind {
        EventType::Started => matches!(
            status,
            Status::Validating | Status::Starting | Status::Running | Status::Unhealthy
        ),
        EventType::Stopped => matches!(status, Status::Stopping | Status::Stopped),
        _ => true,
    }
}

fn with(e: &Envelope, a: Attribution) -> Envelope {
    let mut e = e.clone();
    e.attribution = Some(Box::new(a));
    e
}

impl Tracer {
    /// Read the list; changes since the last one wait for their events.
    /// `reset`: start over (after a reconnect, what happened meanwhile has
    /// no events to claim it).
    async fn relist(&mut self, reset: bool) -> Result<(), PlatformError> {
        let list = self.inner.list().await?;
        let fresh: HashMap<Uuid, Known> = list
            .into_iter()
            .map(|i| {
                (
                    i.id,
                    Known {
                        name: i.name,
                        status: i.status,
                        updated_at: i.updated_at,
                    },
                )
            })
            .collect();
        if reset {
            self.pool.clear();
        } else if let Some(old) = &self.known {
            for (id, k) in &fresh {
                let moved = old.get(id).is_some_and(|o| o.updated_at != k.updated_at);
                if moved && !self.absorb.contains(id) {
                    self.pool.retain(|c| c.id != *id);
                    self.pool.push(Change {
                        id: *id,
                        status: k.status,
                        noticed: Instant::now(),
                    });
                }
            }
        }
        self.absorb.clear();
        self.pool
            .retain(|c| fresh.contains_key(&c.id) && c.noticed.elapsed() < CHANGE_TTL);
        self.known = Some(fresh);
        Ok(())
    }

    fn name_of(&self, id: Uuid) -> Option<String> {
        self.known
            .as_ref()
            .and_then(|k| k.get(&id))
            .map(|k| k.name.clone())
    }

    async fn handle(
        &mut self,
        ev: PlatformEvent,
        listed: &mut Option<Result<(), PlatformError>>,
    ) -> Vec<PlatformEvent> {
        let env = match ev {
            PlatformEvent::Event(env) => env,
            PlatformEvent::Source(SourceState::Connected(s)) => {
                // The baseline the first change is measured against.
                if let Err(e) = self.relist(true).await {
                    tracing::warn!(error = %e, "no list to trace AgentArea's events against yet");
                }
                return vec![PlatformEvent::Source(SourceState::Connected(s))];
            }
            PlatformEvent::Refresh => {
                let _ = self.relist(true).await;
                return vec![PlatformEvent::Refresh];
            }
            other => return vec![other],
        };
        if env.kind() == Some(EventType::Deleted) {
            let Some(id) = env.instance_id() else {
                return vec![PlatformEvent::Event(env)];
            };
            let name = self.name_of(id);
            if let Some(k) = self.known.as_mut() {
                k.remove(&id);
            }
            self.pool.retain(|c| c.id != id);
            if env.instance_name().is_some() || name.is_none() {
                return vec![PlatformEvent::Event(env)];
            }
            let a = Attribution {
                instance_id: None,
                name,
                how:
                    "AgentArea's Deleted names only the instance id; the name is from the last list"
                        .into(),
            };
            return vec![PlatformEvent::Event(Arc::new(with(&env, a)))];
        }
        if !unnamed(&env) {
            return vec![PlatformEvent::Event(env)];
        }
        let Some(kind) = env.kind() else {
            return vec![PlatformEvent::Event(env)];
        };
        let a = self.trace(kind, listed).await;
        let found = a.instance_id.is_some();
        let mut out = vec![PlatformEvent::Event(Arc::new(with(&env, a)))];
        if found {
            // The event says nothing of the new state: read it.
            out.push(PlatformEvent::Refresh);
        }
        out
    }

    async fn trace(
        &mut self,
        kind: EventType,
        listed: &mut Option<Result<(), PlatformError>>,
    ) -> Attribution {
        let event = kind.short();
        let among = match self.inner.requests.claim(kind) {
            Claim::One(r) => {
                self.absorb.insert(r.id);
                self.pool.retain(|c| c.id != r.id);
                return Attribution {
                    instance_id: Some(r.id),
                    name: self.name_of(r.id),
                    how: format!(
                        "AgentArea's {event} names no instance; traced to this console's {} request for it (sent {})",
                        r.verb,
                        r.sent_at.format("%H:%M:%S%.3f")
                    ),
                };
            }
            Claim::Many(ids) => Some(ids),
            Claim::None => None,
        };
        let had_baseline = self.known.is_some();
        // One list serves a whole batch: every event in it was published,
        // and so committed, before the batch arrived.
        if listed.is_none() {
            *listed = Some(self.relist(false).await);
        }
        if let Some(Err(e)) = listed {
            return Attribution {
                instance_id: None,
                name: None,
                how: format!(
                    "AgentArea's {event} names no instance, and the list to find it in failed: {e}"
                ),
            };
        }
        if !had_baseline {
            return Attribution {
                instance_id: None,
                name: None,
                how: format!(
                    "AgentArea's {event} names no instance, and there was no earlier list to compare with"
                ),
            };
        }
        let mut candidates: Vec<&Change> = self
            .pool
            .iter()
            .filter(|c| among.as_ref().is_none_or(|ids| ids.contains(&c.id)))
            .collect();
        if candidates.len() > 1 {
            candidates.retain(|c| fits(kind, c.status));
        }
        match candidates.as_slice() {
            [one] => {
                let id = one.id;
                self.pool.retain(|c| c.id != id);
                let how = match among {
                    Some(ref ids) => {
                        self.inner.requests.take(kind, id);
                        format!(
                            "AgentArea's {event} names no instance; of this console's {} {} requests, traced to the one whose instance changed in the list that followed",
                            ids.len(),
                            kind.short().to_lowercase()
                        )
                    }
                    None => format!(
                        "AgentArea's {event} names no instance; traced to the only instance whose updated_at moved in the list that followed"
                    ),
                };
                Attribution {
                    instance_id: Some(id),
                    name: self.name_of(id),
                    how,
                }
            }
            [] => Attribution {
                instance_id: None,
                name: None,
                how: format!(
                    "AgentArea's {event} names no instance; no request of this console matches it and no instance changed in the list that followed (a change that changes nothing moves no updated_at)"
                ),
            },
            many => {
                let mut names: Vec<String> = many
                    .iter()
                    .map(|c| self.name_of(c.id).unwrap_or_else(|| c.id.to_string()))
                    .collect();
                names.sort();
                names.truncate(5);
                Attribution {
                    instance_id: None,
                    name: None,
                    how: format!(
                        "AgentArea's {event} names no instance; {} instances changed at that moment ({}), so it could be any of them",
                        many.len(),
                        names.join(", ")
                    ),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mutations_that_cause_unnamed_events_are_noted() {
        let id = Uuid::new_v4();
        assert_eq!(
            causes(&Method::PATCH, &format!("/{id}")).map(|c| c.0),
            Some(EventType::Updated)
        );
        assert_eq!(
            causes(&Method::POST, &format!("/{id}/start")).map(|c| c.0),
            Some(EventType::Started)
        );
        assert_eq!(
            causes(&Method::POST, &format!("/{id}/stop")).map(|c| c.0),
            Some(EventType::Stopped)
        );
        assert!(causes(&Method::DELETE, &format!("/{id}")).is_none());
        assert!(causes(&Method::POST, "/").is_none());
        assert!(causes(&Method::POST, "/check").is_none());
        assert!(causes(&Method::POST, &format!("/{id}/tools/call")).is_none());
    }

    #[test]
    fn one_request_claims_its_event_and_failed_or_several_do_not() {
        let r = Requests::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let t = r.sent(&Method::POST, &format!("/{a}/start"));
        assert!(matches!(r.claim(EventType::Stopped), Claim::None));
        match r.claim(EventType::Started) {
            Claim::One(req) => assert_eq!(req.id, a),
            other => panic!("{other:?}"),
        }
        // Claimed once only.
        r.answered(t, true);
        assert!(matches!(r.claim(EventType::Started), Claim::None));
        // A refused request caused nothing.
        let t = r.sent(&Method::POST, &format!("/{a}/stop"));
        r.answered(t, false);
        assert!(matches!(r.claim(EventType::Stopped), Claim::None));
        // Two in flight: neither is taken on trust.
        r.sent(&Method::PATCH, &format!("/{a}"));
        r.sent(&Method::PATCH, &format!("/{b}"));
        match r.claim(EventType::Updated) {
            Claim::Many(ids) => assert_eq!(ids, vec![a, b]),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.take(EventType::Updated, b).map(|q| q.id), Some(b));
        assert!(matches!(r.claim(EventType::Updated), Claim::One(_)));
    }
}
