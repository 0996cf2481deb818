//! The flight recorder: a console (or `aacon events --follow --record`)
//! attached to a remote platform keeps what it observed — the events it
//! received (Redis) and the changes between two reads of the instance list
//! (as envelopes marked `observed`) — in a recording in its data dir, one
//! file per URL and workspace (`store::recording`), so time travel works in
//! API mode for the span it watched.
//!
//! The recorder is one thread that owns the file: the client hands it what
//! it saw (a list, events, "the remote answered", "the remote is out of
//! reach") and never waits for the disk. A change derived from a list gets
//! an id made from the instance and its new state, so two consoles that
//! read the same list record the change once.
//!
//! What is kept is what the console was shown: AgentArea's answers (which
//! redact the json_spec's secrets) with plain secrets redacted again by the
//! envelope, never a token or a header.

use super::{ApiOptions, Inner, parse_base_url};
use crate::domain::projection::Projection;
use crate::domain::{DesiredState, Envelope, Instance, Status};
use crate::platform::{PlatformError, PlatformEvent, Result, SourceState};
use crate::store::recording::{Recording, Retention};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How often a watching recorder marks itself seen.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How often the recorder prunes while it runs (and once when it starts).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Where a remote's recording is and how it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOptions {
    pub path: PathBuf,
    /// The remote, for sentences: its URL and workspace.
    pub source: String,
    /// Record (a console, `events --follow --record`), or only read.
    pub write: bool,
    pub retention: Retention,
}

impl RecordOptions {
    /// The recording of the remote `api` names, in `data_dir/recordings/`.
    pub fn new(
        data_dir: &Path,
        api: &ApiOptions,
        write: bool,
        max_days: u64,
        max_mb: u64,
    ) -> Result<RecordOptions> {
        let (url, shown) = parse_base_url(&api.url)?;
        let workspace = api.workspace.clone().or_else(|| {
            api.token
                .as_ref()
                .and_then(|t| crate::platform::profile::token_workspace(t.expose()).ok())
                .flatten()
        });
        let key = format!("{shown}|{}", workspace.as_deref().unwrap_or(""));
        let host: String = url
            .host_str()
            .unwrap_or("remote")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(40)
            .collect();
        let port = url.port().map(|p| format!("-{p}")).unwrap_or_default();
        let file = format!("{host}{port}-{:016x}.db", fnv(&key, 0) as u64);
        let source = match &workspace {
            Some(w) => format!("{shown} (workspace {})", crate::domain::text::shown(w)),
            None => shown,
        };
        Ok(RecordOptions {
            path: data_dir.join("recordings").join(file),
            source,
            write,
            retention: Retention {
                max_days,
                max_bytes: max_mb.saturating_mul(1024 * 1024),
            },
        })
    }
}

/// FNV-1a over `text`, 128 bits, from a `seed`ed offset: stable across
/// versions and machines (unlike std's hasher), for file names and ids.
fn fnv(text: &str, seed: u8) -> u128 {
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d ^ seed as u128;
    for b in text.as_bytes() {
        h ^= *b as u128;
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// The id of a change observed in a list: the same for every console that
/// saw the same instance reach the same state.
fn observed_id(parts: &[&str]) -> String {
    let text = parts.join("\u{1f}");
    uuid::Builder::from_u128(fnv(&text, 1))
        .with_variant(uuid::Variant::RFC4122)
        .with_version(uuid::Version::Custom)
        .into_uuid()
        .to_string()
}

/// What the client tells the recorder.
enum Note {
    Events(Vec<Envelope>),
    List(Vec<Instance>),
    /// The remote answered (nothing changed).
    Seen,
    /// The remote is out of reach: what happens now is not observed.
    Blind,
}

/// The recorder of one client: a thread that owns the recording.
pub(super) struct Recorder {
    tx: Mutex<Option<mpsc::Sender<Note>>>,
    done: Mutex<Option<mpsc::Receiver<()>>>,
}

impl Recorder {
    /// Open the recording and start the thread (which prunes it first).
    pub(super) fn start(opts: &RecordOptions) -> Result<Recorder> {
        let actor = format!("recorder@pid {}", std::process::id());
        let rec = Recording::open(&opts.path, &opts.source, &actor)?;
        let (tx, rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let retention = opts.retention;
        std::thread::Builder::new()
            .name("aacon-recorder".into())
            .spawn(move || {
                run(rec, rx, retention);
                let _ = done_tx.send(());
            })
            .map_err(|e| {
                PlatformError::Internal(format!("cannot start the recorder thread: {e}"))
            })?;
        Ok(Recorder {
            tx: Mutex::new(Some(tx)),
            done: Mutex::new(Some(done_rx)),
        })
    }

    fn send(&self, note: Note) {
        if let Ok(tx) = self.tx.lock()
            && let Some(tx) = tx.as_ref()
        {
            let _ = tx.send(note);
        }
    }

    pub(super) fn list(&self, list: &[Instance]) {
        self.send(Note::List(list.to_vec()));
    }

    pub(super) fn seen(&self) {
        self.send(Note::Seen);
    }

    pub(super) fn blind(&self) {
        self.send(Note::Blind);
    }

    pub(super) fn events(&self, events: Vec<Envelope>) {
        self.send(Note::Events(events));
    }

    /// Write what is pending and close the span (waits up to 3 s).
    pub(super) fn finish(&self) {
        self.close();
        self.wait();
    }

    /// Tell the thread to write what is pending and stop.
    pub(super) fn close(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
    }

    /// Wait (up to 3 s) until the thread has written everything.
    pub(super) fn wait(&self) {
        let done = self.done.lock().ok().and_then(|mut d| d.take());
        if let Some(done) = done {
            let _ = done.recv_timeout(Duration::from_secs(3));
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The recorder thread: until every sender is gone.
fn run(mut rec: Recording, rx: mpsc::Receiver<Note>, retention: Retention) {
    if let Err(e) = rec.prune(retention, Utc::now()) {
        tracing::warn!(error = %e, "cannot prune the recording");
    }
    let mut known = Projection::new();
    match rec.latest() {
        Ok(list) => known.seed(list),
        Err(e) => tracing::warn!(error = %e, "cannot read the recording's last state"),
    }
    let mut last_observed = rec.last_seen().ok().flatten();
    let mut span: Option<i64> = None;
    let mut touched = Instant::now();
    let mut pruned = Instant::now();
    let mut open = true;
    while open {
        let mut batch = Vec::new();
        match rx.recv_timeout(HEARTBEAT) {
            Ok(n) => batch.push(n),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => open = false,
        }
        while batch.len() < 1024
            && let Ok(n) = rx.try_recv()
        {
            batch.push(n);
        }
        let now = Utc::now();
        let mut pending: Vec<Envelope> = Vec::new();
        let mut saw = false;
        for note in batch {
            match note {
                Note::Events(evs) => {
                    saw = true;
                    for e in &evs {
                        known.apply(e);
                    }
                    pending.extend(evs);
                }
                Note::List(list) => {
                    saw = true;
                    let old: HashMap<Uuid, Instance> = known
                        .sorted()
                        .into_iter()
                        .filter(|i| !i.name.is_empty())
                        .map(|i| (i.id, i.clone()))
                        .collect();
                    pending.extend(observe(&old, &list, last_observed, now));
                    known = Projection::new();
                    known.seed(list);
                }
                Note::Seen => saw = true,
                Note::Blind => {
                    if let (Some(s), Some(t)) = (span.take(), last_observed)
                        && let Err(e) = rec.seen(s, t)
                    {
                        tracing::warn!(error = %e, "cannot mark the recording");
                    }
                }
            }
        }
        if saw && span.is_none() {
            match rec.begin(now) {
                Ok(s) => span = Some(s),
                Err(e) => tracing::warn!(error = %e, "cannot mark the recording"),
            }
        }
        if saw {
            last_observed = Some(now);
        }
        if let Err(e) = rec.record(&pending) {
            tracing::warn!(error = %e, events = pending.len(), "cannot write to the recording");
        }
        if let Some(s) = span
            && saw
            && (!pending.is_empty() || touched.elapsed() >= HEARTBEAT || !open)
        {
            touched = Instant::now();
            if let Err(e) = rec.seen(s, now) {
                tracing::warn!(error = %e, "cannot mark the recording");
            }
        }
        if pruned.elapsed() >= PRUNE_EVERY {
            pruned = Instant::now();
            if let Err(e) = rec.prune(retention, now) {
                tracing::warn!(error = %e, "cannot prune the recording");
            }
        }
    }
    if let (Some(s), Some(t)) = (span, last_observed) {
        let _ = rec.seen(s, t);
    }
}

/// The changes that turn `old` into `new`, as envelopes marked observed at
/// `now` (between the previous read at `last` and now). Unlike the live
/// poller's diff, a change of `updated_at` or of the health probe's time
/// alone is not a change worth keeping.
pub(super) fn observe(
    old: &HashMap<Uuid, Instance>,
    new: &[Instance],
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<Envelope> {
    let stamp = |i: &Instance| {
        format!(
            "{}|{}",
            i.updated_at.timestamp_micros(),
            i.aggregate_version
        )
    };
    let mark = |mut e: Envelope, i: &Instance, key: &str| {
        e.timestamp = now;
        if i.aggregate_version == 0 {
            e.aggregate_version = None;
        }
        e.event_id = observed_id(&[&i.id.to_string(), &e.event_type, key]);
        if let Some(d) = e.data.as_object_mut() {
            d.insert(
                "observed".into(),
                json!({
                    "how": "a change between two reads of the instance list",
                    "after": last.map(|t| t.to_rfc3339()),
                    "by": now.to_rfc3339(),
                }),
            );
        }
        e
    };
    let status_key = |i: &Instance| {
        format!(
            "{}|{:?}|{}|{:?}|{}",
            i.status.as_str(),
            i.status_reason,
            i.restarts,
            i.tool_count,
            stamp(i)
        )
    };
    let status_event = |i: &Instance, prev: Status| {
        let e = if i.status == Status::Error && prev != Status::Error {
            Envelope::error(i, i.status_reason.as_deref().unwrap_or("error"), None)
        } else {
            Envelope::status_changed(i, prev, None)
        };
        mark(e, i, &status_key(i))
    };
    let mut out = Vec::new();
    for i in new {
        let Some(o) = old.get(&i.id) else {
            out.push(mark(Envelope::created(i, None), i, "created"));
            if i.status_reason.is_some() || i.restarts > 0 || i.tool_count.is_some() {
                out.push(status_event(i, i.status));
            }
            continue;
        };
        let changed = super::poll::config_changes(o, i);
        if !changed.is_empty() {
            let key = format!("{}|{}", changed.join(","), stamp(i));
            out.push(mark(Envelope::updated(i, &changed, None), i, &key));
        }
        if o.desired_state != i.desired_state {
            let e = match i.desired_state {
                DesiredState::Running => Envelope::started(i, None),
                DesiredState::Stopped => Envelope::stopped(i, None),
            };
            out.push(mark(e, i, &stamp(i)));
        }
        if o.status != i.status
            || o.status_reason != i.status_reason
            || o.tool_count != i.tool_count
            || o.restarts != i.restarts
        {
            out.push(status_event(i, o.status));
        }
    }
    let present: std::collections::HashSet<Uuid> = new.iter().map(|i| i.id).collect();
    for (id, o) in old {
        if !present.contains(id) {
            out.push(mark(Envelope::deleted(o, None), o, "deleted"));
        }
    }
    out
}

/// Feed what the live source sends (Redis, AgentArea's pub/sub) to the
/// recorder: events, and whether the source is connected (marked seen
/// every heartbeat while it is).
pub(super) fn forward(inner: Arc<Inner>, mut rx: tokio::sync::broadcast::Receiver<PlatformEvent>) {
    let Some(rec) = inner.recorder.clone() else {
        return;
    };
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    rt.spawn(async move {
        let mut connected = false;
        let mut tick = tokio::time::interval(HEARTBEAT);
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Ok(PlatformEvent::Event(e)) => rec.events(vec![(*e).clone()]),
                    Ok(PlatformEvent::Source(SourceState::Connected(_))) => {
                        connected = true;
                        rec.seen();
                    }
                    Ok(PlatformEvent::Source(_)) => {
                        connected = false;
                        rec.blind();
                    }
                    Ok(_) => {}
                    // What was missed shows in the next list read.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick() => if connected {
                    rec.seen();
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;
    use serde_json::Map;

    fn inst(name: &str) -> Instance {
        let t = Utc::now();
        Instance {
            id: Uuid::new_v4(),
            name: name.into(),
            description: None,
            server_spec_id: None,
            json_spec: Map::new(),
            status: Status::Running,
            status_reason: None,
            desired_state: DesiredState::Running,
            created_at: t,
            updated_at: t,
            version: 0,
            aggregate_version: 0,
            updated_by: None,
            last_healthy_at: None,
            tool_count: None,
            restarts: 0,
        }
    }

    #[test]
    fn two_readers_of_one_list_derive_the_same_ids_and_noise_is_not_a_change() {
        let a = inst("a");
        let old: HashMap<Uuid, Instance> = [(a.id, a.clone())].into();
        let mut b = a.clone();
        b.status = Status::Stopped;
        b.desired_state = DesiredState::Stopped;
        b.updated_at += chrono::Duration::seconds(1);
        let now = Utc::now();
        let one = observe(&old, std::slice::from_ref(&b), None, now);
        let two = observe(
            &old,
            std::slice::from_ref(&b),
            Some(now),
            now + chrono::Duration::seconds(3),
        );
        let ids = |v: &[Envelope]| v.iter().map(|e| e.event_id.clone()).collect::<Vec<_>>();
        assert_eq!(one.len(), 2, "{one:?}");
        assert_eq!(ids(&one), ids(&two));
        assert!(one.iter().all(|e| e.data["observed"].is_object()));
        assert!(one.iter().all(|e| e.aggregate_version.is_none()));
        // Only the probe's time or updated_at moved: nothing to keep.
        let mut c = b.clone();
        c.last_healthy_at = Some(now);
        c.updated_at += chrono::Duration::seconds(1);
        let old: HashMap<Uuid, Instance> = [(b.id, b.clone())].into();
        assert!(observe(&old, &[c], None, now).is_empty());
        // Gone from the list: deleted.
        let gone = observe(&old, &[], None, now);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].event_type, "MCPServerInstanceDeleted");
    }

    #[test]
    fn a_remote_and_workspace_get_their_own_file() {
        let dir = Path::new("/data");
        let mut api = ApiOptions::new("http://127.0.0.1:8080/");
        let a = RecordOptions::new(dir, &api, true, 7, 256).unwrap();
        api.workspace = Some("w2".into());
        let b = RecordOptions::new(dir, &api, true, 7, 256).unwrap();
        assert_ne!(a.path, b.path);
        assert!(a.path.starts_with("/data/recordings"));
        let name = a.path.file_name().unwrap().to_string_lossy().to_string();
        assert!(name.starts_with("127-0-0-1-8080-"), "{name}");
        assert_eq!(b.source, "http://127.0.0.1:8080 (workspace w2)");
        assert_eq!(
            RecordOptions::new(dir, &ApiOptions::new("http://127.0.0.1:8080"), true, 7, 256)
                .unwrap()
                .path,
            a.path
        );
    }
}
