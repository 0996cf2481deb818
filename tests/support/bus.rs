//! Bus test helpers: an in-memory outbox, event histories, and a collector
//! that waits for what a watcher delivers.

#![allow(dead_code)]

use aacon::bus::Outbox;
use aacon::domain::{DesiredState, Envelope, Instance, Status};
use aacon::platform::{PlatformError, PlatformEvent, SourceState};
use chrono::Utc;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use uuid::Uuid;

/// An outbox in memory: rows in commit order, each sent or not.
/// The last sequence, and each row with its sent flag.
type Rows = (i64, BTreeMap<i64, (Envelope, bool)>);

#[derive(Clone, Default)]
pub struct MemOutbox {
    rows: Arc<Mutex<Rows>>,
}

impl MemOutbox {
    pub fn commit(&self, e: Envelope) -> i64 {
        let mut g = self.rows.lock().unwrap();
        g.0 += 1;
        let seq = g.0;
        g.1.insert(seq, (e, false));
        seq
    }

    pub fn unsent(&self) -> usize {
        self.rows
            .lock()
            .unwrap()
            .1
            .values()
            .filter(|(_, s)| !s)
            .count()
    }

    pub fn all(&self) -> Vec<Envelope> {
        self.rows
            .lock()
            .unwrap()
            .1
            .values()
            .map(|(e, _)| e.clone())
            .collect()
    }
}

impl Outbox for MemOutbox {
    fn pending(&mut self, limit: usize) -> Result<Vec<(i64, Envelope)>, PlatformError> {
        let g = self.rows.lock().unwrap();
        Ok(g.1
            .iter()
            .filter(|(_, (_, sent))| !sent)
            .take(limit)
            .map(|(s, (e, _))| (*s, e.clone()))
            .collect())
    }

    fn mark_sent(&mut self, seqs: &[i64]) -> Result<(), PlatformError> {
        let mut g = self.rows.lock().unwrap();
        for s in seqs {
            if let Some(r) = g.1.get_mut(s) {
                r.1 = true;
            }
        }
        Ok(())
    }
}

/// An instance in its first version.
pub fn instance(name: &str) -> Instance {
    let now = Utc::now();
    Instance {
        id: Uuid::new_v4(),
        name: name.to_string(),
        description: None,
        server_spec_id: None,
        json_spec: json!({"command": ["mcp-server-everything"]})
            .as_object()
            .unwrap()
            .clone(),
        status: Status::Pending,
        status_reason: None,
        desired_state: DesiredState::Stopped,
        created_at: now,
        updated_at: now,
        version: 1,
        aggregate_version: 1,
        updated_by: Some("test".into()),
        last_healthy_at: None,
        tool_count: None,
        restarts: 0,
    }
}

/// Advance an instance by one event: step `n` cycles through updates,
/// starts, status reports and stops.
pub fn step(inst: &mut Instance, n: usize) -> Envelope {
    inst.aggregate_version += 1;
    let corr = Some(format!("corr-{}-{n}", inst.name));
    match n % 4 {
        0 => {
            inst.version += 1;
            inst.description = Some(format!("rev {n}"));
            Envelope::updated(inst, &["description"], corr)
        }
        1 => {
            inst.desired_state = DesiredState::Running;
            Envelope::started(inst, corr)
        }
        2 => {
            let prev = inst.status;
            inst.status = if prev == Status::Running {
                Status::Unhealthy
            } else {
                Status::Running
            };
            inst.restarts = n as u32;
            Envelope::status_changed(inst, prev, corr)
        }
        _ => {
            inst.desired_state = DesiredState::Stopped;
            Envelope::stopped(inst, corr)
        }
    }
}

/// Receives what a watcher delivers.
pub struct Collector {
    pub rx: mpsc::UnboundedReceiver<PlatformEvent>,
    pub events: Vec<Arc<Envelope>>,
    pub malformed: Vec<(String, String)>,
    pub states: Vec<SourceState>,
    pub refreshes: usize,
}

impl Collector {
    pub fn new() -> (mpsc::UnboundedSender<PlatformEvent>, Collector) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            tx,
            Collector {
                rx,
                events: Vec::new(),
                malformed: Vec::new(),
                states: Vec::new(),
                refreshes: 0,
            },
        )
    }

    fn take(&mut self, e: PlatformEvent) {
        match e {
            PlatformEvent::Event(env) => self.events.push(env),
            PlatformEvent::Status(s) => self.events.push(Arc::new(s.to_envelope())),
            PlatformEvent::Malformed { raw, error, .. } => self.malformed.push((raw, error)),
            PlatformEvent::Source(s) => self.states.push(s),
            PlatformEvent::Refresh => self.refreshes += 1,
            PlatformEvent::Window(_) => {}
        }
    }

    /// Receive until `done` holds; panics with `what` after `timeout`.
    pub async fn until(
        &mut self,
        timeout: Duration,
        what: &str,
        done: impl Fn(&Collector) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(e)) => self.take(e),
                Ok(None) => panic!("channel closed while waiting for {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what}: {} events, {} malformed, states {:?}",
                    self.events.len(),
                    self.malformed.len(),
                    self.states
                ),
            }
        }
    }

    /// Take whatever arrives within `d`.
    pub async fn drain_for(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(e)) => self.take(e),
                _ => return,
            }
        }
    }

    pub fn connected(&self) -> bool {
        matches!(self.states.last(), Some(SourceState::Connected(_)))
    }
}
