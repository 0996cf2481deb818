//! A flight recording: what a console in API mode observed of a remote
//! platform that keeps no history of its own (AgentArea), in a SQLite file
//! of the store's shape, so the store's event log, snapshots and
//! `state_at` serve it unchanged.
//!
//! Beside the log, the file keeps `recording_spans`: the stretches of time
//! some recorder was watching (one row per recorder, its start and when it
//! last saw the remote answer). A moment outside every span fell in a gap;
//! a moment before the first span is not in the recording at all.
//!
//! Several recorders may write one file (WAL, immediate transactions,
//! a busy timeout): events are kept once by `event_id`, so the same event
//! seen by two consoles, or the same change two consoles derived from the
//! same list, is one row. Retention drops the oldest events, keeping a
//! snapshot of what they built, so what remains still replays exactly.

use super::{Store, db_err, parse_ts, ts};
use crate::domain::Envelope;
use crate::domain::replay::{Gap, Moment, Observed};
use crate::platform::{PlatformError, Result};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};

const SPANS: &str = "CREATE TABLE IF NOT EXISTS recording_spans (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    started   TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    pid       INTEGER NOT NULL,
    who       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS recording_spans_started ON recording_spans(started);";

/// A moment this close after a span's last sighting still counts as
/// watched (a recorder marks itself seen every few seconds).
pub const SEEN_SLACK_SECS: i64 = 20;

/// How much a recording keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_days: u64,
    pub max_bytes: u64,
}

/// What a prune dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub events: u64,
    /// Where the recording starts now.
    pub starts: Option<DateTime<Utc>>,
}

/// What an observed change says, for comparing with what the recording
/// already holds: the event types that say the same kind of thing, and
/// what this one says.
fn says(env: &Envelope) -> Option<(&'static [&'static str], String)> {
    use crate::domain::EventType as T;
    const CONFIG: &[&str] = &["MCPServerInstanceCreated", "MCPServerInstanceUpdated"];
    const DESIRED: &[&str] = &[
        "MCPServerInstanceCreated",
        "MCPServerInstanceStarted",
        "MCPServerInstanceStopped",
    ];
    const STATUS: &[&str] = &[
        "MCPServerInstanceCreated",
        "MCPServerInstanceStatusChanged",
        "MCPServerInstanceError",
    ];
    let d = &env.data;
    let desired = |e: &Envelope| match e.kind() {
        Some(T::Started) => "running".to_string(),
        Some(T::Stopped) => "stopped".to_string(),
        _ => e.data["desired_state"].as_str().unwrap_or("").to_string(),
    };
    match env.kind()? {
        T::Updated => Some((
            CONFIG,
            serde_json::json!([
                d["name"],
                d["description"],
                d["server_spec_id"],
                d["json_spec"]
            ])
            .to_string(),
        )),
        T::Started | T::Stopped => Some((DESIRED, desired(env))),
        T::StatusChanged | T::Error => Some((
            STATUS,
            serde_json::json!([
                d["status"],
                d.get("reason").or_else(|| d.get("error")),
                d["restarts"],
                d["tool_count"]
            ])
            .to_string(),
        )),
        T::Created | T::Deleted => None,
    }
}

/// Whether the recording already says what the observed `env` says (the
/// latest event of its kind for the instance says the same): another
/// console read the same change, maybe in another state of the list.
fn already_said(tx: &rusqlite::Connection, env: &Envelope) -> Result<bool> {
    let Some(id) = env.instance_id() else {
        return Ok(false);
    };
    let latest = |types: &[&str]| -> Result<Option<Envelope>> {
        let mut stmt = tx
            .prepare_cached(
                "SELECT envelope FROM events WHERE aggregate_id = ?1
                  AND (?2 IS NULL OR event_type IN (SELECT value FROM json_each(?2)))
                  ORDER BY seq DESC LIMIT 1",
            )
            .map_err(db_err)?;
        let types = (!types.is_empty()).then(|| serde_json::json!(types).to_string());
        let text: Option<String> = stmt
            .query_row(params![id.to_string(), types], |r| r.get(0))
            .optional()
            .map_err(db_err)?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    };
    if env.kind() == Some(crate::domain::EventType::Deleted) {
        return Ok(latest(&[])?.is_some_and(|e| e.event_type == env.event_type));
    }
    let Some((types, what)) = says(env) else {
        return Ok(false);
    };
    let Some(last) = latest(types)? else {
        return Ok(false);
    };
    let said = match says(&last) {
        Some((_, w)) => w,
        // A creation says every group: compare this group's part of it.
        None if matches!(
            env.kind(),
            Some(crate::domain::EventType::Started | crate::domain::EventType::Stopped)
        ) =>
        {
            last.data["desired_state"]
                .as_str()
                .unwrap_or("")
                .to_string()
        }
        None => {
            let mut as_this = last.clone();
            as_this.event_type = env.event_type.clone();
            match says(&as_this) {
                Some((_, w)) => w,
                None => return Ok(false),
            }
        }
    };
    Ok(said == what)
}

/// One recording file.
pub struct Recording {
    store: Store,
    path: PathBuf,
    /// The remote it records, for sentences ("http://… (workspace w)").
    source: String,
}

impl Recording {
    /// Open (creating if needed) the recording at `path` for writing.
    pub fn open(path: &Path, source: &str, actor: &str) -> Result<Recording> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                PlatformError::Unavailable(format!(
                    "cannot create the recordings dir {}: {e}",
                    dir.display()
                ))
            })?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            }
        }
        let store = Store::open(path, actor)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        store.conn.execute_batch(SPANS).map_err(db_err)?;
        Ok(Recording {
            store,
            path: path.to_path_buf(),
            source: source.to_string(),
        })
    }

    /// Open the recording at `path` to read it; a sentence when nothing
    /// was ever recorded there.
    pub fn open_existing(path: &Path, source: &str) -> Result<Recording> {
        if !path.exists() {
            return Err(PlatformError::Unavailable(format!(
                "nothing of {source} has been recorded here yet: a console in API mode records what it observes (backend.record), as does `aacon events --follow --record`"
            )));
        }
        Recording::open(path, source, "reader")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A recorder starts watching at `now`: its span's id.
    pub fn begin(&mut self, now: DateTime<Utc>) -> Result<i64> {
        self.store
            .conn
            .execute(
                "INSERT INTO recording_spans (started, last_seen, pid, who) VALUES (?1, ?1, ?2, ?3)",
                params![ts(&now), std::process::id(), self.store.actor],
            )
            .map_err(db_err)?;
        Ok(self.store.conn.last_insert_rowid())
    }

    /// The recorder of span `span` saw the remote answer at `now`.
    pub fn seen(&mut self, span: i64, now: DateTime<Utc>) -> Result<()> {
        self.store
            .conn
            .execute(
                "UPDATE recording_spans SET last_seen = ?2 WHERE id = ?1 AND last_seen < ?2",
                params![span, ts(&now)],
            )
            .map_err(db_err)?;
        Ok(())
    }

    /// Keep `events` (each once by `event_id`); how many were new.
    pub fn record(&mut self, events: &[Envelope]) -> Result<usize> {
        if events.is_empty() {
            return Ok(0);
        }
        let tx = self
            .store
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let mut added = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO events (event_id, aggregate_id, aggregate_version, event_type, timestamp, correlation_id, envelope)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(db_err)?;
            for env in events {
                if env.data.get("observed").is_some() && already_said(&tx, env)? {
                    continue;
                }
                added += stmt
                    .execute(params![
                        env.event_id,
                        env.instance_id().map(|u| u.to_string()),
                        env.aggregate_version.map(|v| v as i64),
                        env.event_type,
                        ts(&env.timestamp),
                        env.correlation_id,
                        env.to_json()
                    ])
                    .map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)?;
        for _ in 0..added {
            self.store.snapshots.wrote_one();
        }
        self.store.snapshot_if_due();
        Ok(added)
    }

    /// The watched stretches, oldest first, overlapping ones merged.
    pub fn spans(&self) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
        let mut stmt = self
            .store
            .conn
            .prepare_cached("SELECT started, last_seen FROM recording_spans ORDER BY started")
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db_err)?;
        let slack = Duration::seconds(SEEN_SLACK_SECS);
        let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        for row in rows {
            let (a, b) = row.map_err(db_err)?;
            let (a, b) = (parse_ts(&a), parse_ts(&b));
            match out.last_mut() {
                Some(last) if a <= last.1 + slack => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        Ok(out)
    }

    /// Where the recording starts (`None`: nothing watched yet).
    pub fn starts(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self.spans()?.first().map(|s| s.0))
    }

    /// Whether `at` is watched, and if not, the gap around it.
    fn gap_at(
        spans: &[(DateTime<Utc>, DateTime<Utc>)],
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Gap> {
        let slack = Duration::seconds(SEEN_SLACK_SECS);
        // A span still being extended covers up to now.
        if spans
            .iter()
            .any(|(a, b)| *a <= at && (at <= *b + slack || (now - *b) <= slack && at <= now))
        {
            return None;
        }
        let from = spans.iter().filter(|(_, b)| *b <= at).map(|s| s.1).max()?;
        let to = spans.iter().map(|s| s.0).filter(|a| *a > at).min();
        Some(Gap { from, to })
    }

    fn refuse_before(&self, at: DateTime<Utc>) -> Result<Observed> {
        let spans = self.spans()?;
        let Some(since) = spans.first().map(|s| s.0) else {
            return Err(PlatformError::Unavailable(format!(
                "nothing of {} has been recorded here yet: a console in API mode records what it observes (backend.record), as does `aacon events --follow --record`",
                self.source
            )));
        };
        if at < since {
            return Err(PlatformError::Invalid(format!(
                "{} is before this recording of {} starts ({}); give a later moment",
                at.format("%Y-%m-%d %H:%M:%S UTC"),
                self.source,
                since.format("%Y-%m-%d %H:%M:%S UTC"),
            )));
        }
        Ok(Observed {
            since,
            gap: Self::gap_at(&spans, at, Utc::now()),
        })
    }

    /// The remote as observed at `at`; refused before the recording
    /// starts, and marked when `at` falls in a gap.
    pub fn state_at(&mut self, at: DateTime<Utc>) -> Result<Moment> {
        let observed = self.refuse_before(at)?;
        let mut m = self.store.state_at(at)?;
        m.observed = Some(observed);
        Ok(m)
    }

    /// The events observed from `from` to `to`, in the order recorded;
    /// refused when `to` is before the recording starts.
    pub fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        instance: Option<uuid::Uuid>,
    ) -> Result<Vec<Envelope>> {
        self.refuse_before(to)?;
        self.store.events_between(from, to, instance)
    }

    /// The instances as last observed (for a recorder that resumes).
    pub fn latest(&mut self) -> Result<Vec<crate::domain::Instance>> {
        let last: Option<String> = self
            .store
            .conn
            .query_row("SELECT MAX(timestamp) FROM events", [], |r| r.get(0))
            .map_err(db_err)?;
        let at = last.map_or(Utc::now(), |t| parse_ts(&t).max(Utc::now()));
        Ok(self.store.state_at(at)?.instances)
    }

    /// When the last span was last seen (a resuming recorder's "last
    /// observed").
    pub fn last_seen(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self.spans()?.last().map(|s| s.1))
    }

    /// Bytes the recording's data takes (free pages, which SQLite reuses,
    /// not counted).
    pub fn used_bytes(&self) -> Result<u64> {
        let q = |sql: &str| {
            self.store
                .conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map_err(db_err)
        };
        let pages = q("PRAGMA page_count")? - q("PRAGMA freelist_count")?;
        Ok((pages.max(0) as u64) * q("PRAGMA page_size")? as u64)
    }

    /// Drop what is older than `keep.max_days`, then the oldest events
    /// until the data fits in three quarters of `keep.max_bytes`. Cheap
    /// when nothing is due: two indexed lookups and three pragmas.
    pub fn prune(&mut self, keep: Retention, now: DateTime<Utc>) -> Result<Pruned> {
        let cutoff = now - Duration::days(keep.max_days.min(36_500) as i64);
        let by_age: Option<i64> = self
            .store
            .conn
            .query_row(
                "SELECT MAX(seq) FROM events WHERE timestamp < ?1",
                params![ts(&cutoff)],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        let used = self.used_bytes()?;
        let by_size = if used > keep.max_bytes {
            let count: i64 = self
                .store
                .conn
                .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
                .map_err(db_err)?;
            let keep_share = (keep.max_bytes as f64 * 0.75) / used as f64;
            let drop = ((count as f64) * (1.0 - keep_share)).ceil() as i64;
            self.store
                .conn
                .query_row(
                    "SELECT seq FROM events ORDER BY seq LIMIT 1 OFFSET ?1",
                    params![(drop - 1).clamp(0, count.max(1) - 1)],
                    |r| r.get::<_, i64>(0),
                )
                .optional()
                .map_err(db_err)?
        } else {
            None
        };
        let Some(cut) = by_age.into_iter().chain(by_size).max() else {
            // Spans wholly older than the cutoff go too.
            self.store
                .conn
                .execute(
                    "DELETE FROM recording_spans WHERE last_seen < ?1",
                    params![ts(&cutoff)],
                )
                .map_err(db_err)?;
            return Ok(Pruned::default());
        };
        let base = self.store.snapshot_through(cut)?;
        // Every moment from the last dropped event on replays exactly from
        // the snapshot just taken.
        let starts = base.unwrap_or(cutoff);
        let tx = self
            .store
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let events = tx
            .execute("DELETE FROM events WHERE seq <= ?1", params![cut])
            .map_err(db_err)? as u64;
        tx.execute("DELETE FROM snapshots WHERE seq < ?1", params![cut])
            .map_err(db_err)?;
        tx.execute(
            "DELETE FROM recording_spans WHERE last_seen < ?1",
            params![ts(&starts)],
        )
        .map_err(db_err)?;
        tx.execute(
            "UPDATE recording_spans SET started = ?1 WHERE started < ?1",
            params![ts(&starts)],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        tracing::info!(events, path = %self.path.display(), "pruned the recording");
        Ok(Pruned {
            events,
            starts: Some(starts),
        })
    }

    /// How many events the recording holds.
    pub fn len(&self) -> Result<u64> {
        self.store
            .conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(db_err)
    }

    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DesiredState, Instance, Status};
    use serde_json::Map;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::seconds(s)
    }

    fn inst(name: &str, status: Status) -> Instance {
        Instance {
            id: uuid::Uuid::new_v4(),
            name: name.into(),
            description: None,
            server_spec_id: None,
            json_spec: Map::new(),
            status,
            status_reason: None,
            desired_state: DesiredState::Running,
            created_at: t(0),
            updated_at: t(0),
            version: 0,
            aggregate_version: 0,
            updated_by: None,
            last_healthy_at: None,
            tool_count: None,
            restarts: 0,
        }
    }

    fn at(mut e: Envelope, s: i64) -> Envelope {
        e.timestamp = t(s);
        e.aggregate_version = None;
        e
    }

    fn open() -> (tempfile::TempDir, Recording) {
        let dir = tempfile::tempdir().unwrap();
        let r =
            Recording::open(&dir.path().join("recordings/r.db"), "http://remote", "test").unwrap();
        (dir, r)
    }

    #[test]
    fn before_the_start_is_refused_gaps_are_named_and_events_are_kept_once() {
        let (_d, mut r) = open();
        assert!(
            r.state_at(t(5))
                .unwrap_err()
                .to_string()
                .contains("nothing of http://remote has been recorded")
        );
        let mut a = inst("a", Status::Running);
        let span = r.begin(t(10)).unwrap();
        let created = at(Envelope::created(&a, None), 10);
        assert_eq!(r.record(&[created.clone(), created.clone()]).unwrap(), 1);
        a.status = Status::Stopped;
        let stopped = at(Envelope::status_changed(&a, Status::Running, None), 40);
        r.record(std::slice::from_ref(&stopped)).unwrap();
        r.seen(span, t(60)).unwrap();
        // A second console's span after a gap.
        let other = r.begin(t(600)).unwrap();
        r.seen(other, t(700)).unwrap();
        // Seen again by another console: still one row.
        assert_eq!(r.record(&[stopped]).unwrap(), 0);
        // The same change derived by another console from another list
        // (another id): the recording already says it, so it is not kept.
        let mut again = at(Envelope::status_changed(&a, Status::Running, None), 45);
        again.data["observed"] = serde_json::json!({"how": "test"});
        assert_eq!(r.record(std::slice::from_ref(&again)).unwrap(), 0);
        let mut desired = a.clone();
        desired.desired_state = DesiredState::Stopped;
        let mut stop = at(Envelope::stopped(&desired, None), 46);
        stop.data["observed"] = serde_json::json!({"how": "test"});
        assert_eq!(r.record(std::slice::from_ref(&stop)).unwrap(), 1);
        let mut stop2 = at(Envelope::stopped(&desired, None), 47);
        stop2.data["observed"] = serde_json::json!({"how": "test"});
        assert_eq!(r.record(&[stop2]).unwrap(), 0);
        assert_eq!(r.len().unwrap(), 3);

        let e = r.state_at(t(9)).unwrap_err().to_string();
        assert!(
            e.contains("before this recording of http://remote starts (2026-12-01 03:00:10 UTC)"),
            "{e}"
        );
        assert!(!e.contains('\n'));
        let m = r.state_at(t(20)).unwrap();
        assert_eq!(m.instances[0].status, Status::Running);
        let o = m.observed.unwrap();
        assert_eq!((o.since, o.gap), (t(10), None));
        let m = r.state_at(t(300)).unwrap();
        assert_eq!(m.instances[0].status, Status::Stopped);
        assert_eq!(
            m.observed.unwrap().gap,
            Some(Gap {
                from: t(60),
                to: Some(t(600))
            })
        );
        assert_eq!(r.events_between(t(0), t(50), None).unwrap().len(), 3);
        assert!(r.events_between(t(0), t(5), None).is_err());
    }

    #[test]
    fn retention_drops_old_events_and_what_is_left_replays_exactly() {
        let (_d, mut r) = open();
        let span = r.begin(t(0)).unwrap();
        let mut a = inst("a", Status::Running);
        let b = inst("b", Status::Running);
        let mut log = vec![
            at(Envelope::created(&a, None), 0),
            at(Envelope::created(&b, None), 1),
        ];
        // a flaps for ten days, once an hour.
        for h in 1..240i64 {
            let prev = a.status;
            a.status = if h % 2 == 0 {
                Status::Running
            } else {
                Status::Error
            };
            a.restarts = h as u32;
            log.push(at(Envelope::status_changed(&a, prev, None), h * 3600));
        }
        r.record(&log).unwrap();
        r.seen(span, t(240 * 3600)).unwrap();
        let before = r.state_at(t(239 * 3600)).unwrap().instances;
        let now = t(240 * 3600);
        // Nothing due: nothing dropped.
        let keep = Retention {
            max_days: 30,
            max_bytes: 1 << 30,
        };
        assert_eq!(r.prune(keep, now).unwrap(), Pruned::default());
        // Seven days: the first three days go, b's creation with them,
        // and b is still there.
        let p = r
            .prune(
                Retention {
                    max_days: 7,
                    ..keep
                },
                now,
            )
            .unwrap();
        assert_eq!(p.events, 2 + 71);
        let starts = p.starts.unwrap();
        assert!(starts <= now - Duration::days(7) && starts > now - Duration::days(8));
        assert_eq!(r.starts().unwrap(), Some(starts));
        assert_eq!(r.state_at(t(239 * 3600)).unwrap().instances, before);
        assert!(r.state_at(starts - Duration::seconds(1)).is_err());
        // Size: down to three quarters of the budget.
        let used = r.used_bytes().unwrap();
        let q = r
            .prune(
                Retention {
                    max_days: 7,
                    max_bytes: used / 2,
                },
                now,
            )
            .unwrap();
        assert!(q.events > 0);
        assert!(r.len().unwrap() < 168);
        assert_eq!(r.state_at(t(239 * 3600)).unwrap().instances, before);
        let names: Vec<String> = r.latest().unwrap().into_iter().map(|i| i.name).collect();
        assert_eq!(names, ["a", "b"]);
    }
}
