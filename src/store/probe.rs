//! What `aacon serve`'s readiness and metrics ask of the SQLite store: is
//! it reachable, and how far behind is the outbox.

use super::{Store, db_err};
use crate::domain::event::timestamp;
use crate::platform::{PlatformError, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// The outbox's backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLag {
    /// Events committed but not yet marked sent.
    pub pending: u64,
    /// When the oldest of them was committed.
    pub oldest: Option<DateTime<Utc>>,
}

impl OutboxLag {
    /// How long the oldest pending event has waited, at `now`.
    pub fn oldest_age(&self, now: DateTime<Utc>) -> Duration {
        self.oldest
            .and_then(|t| (now - t).to_std().ok())
            .unwrap_or_default()
    }
}

impl Store {
    /// How many events wait in the outbox and since when.
    pub fn outbox_lag(&self) -> Result<OutboxLag> {
        lag(&self.conn)
    }
}

fn lag(conn: &Connection) -> Result<OutboxLag> {
    let (pending, oldest): (i64, Option<String>) = conn
        .query_row(
            "SELECT COUNT(*), (SELECT e.timestamp FROM outbox o JOIN events e ON e.seq = o.seq ORDER BY o.seq LIMIT 1) FROM outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db_err)?;
    Ok(OutboxLag {
        pending: pending.max(0) as u64,
        oldest: oldest.as_deref().and_then(timestamp::parse_str),
    })
}

/// Open the store at `path` afresh (never creating it) and take its write
/// lock within `timeout`, then let go: the file is there, is our
/// database, and a command could commit now. Returns the outbox's lag.
pub fn probe(path: &Path, timeout: Duration) -> Result<OutboxLag> {
    let unavailable = |what: &str, e: rusqlite::Error| {
        PlatformError::Unavailable(format!("{what} {}: {e}", path.display()))
    };
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| unavailable("cannot open the store", e))?;
    conn.busy_timeout(timeout).map_err(db_err)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| unavailable("cannot take the write lock of the store", e))?;
    let version: Option<i64> = tx
        .query_row("SELECT version FROM schema_meta", [], |r| r.get(0))
        .optional()
        .map_err(|e| unavailable("cannot read the schema of the store", e))?;
    if version.is_none() {
        return Err(PlatformError::Unavailable(format!(
            "the store {} has no schema version",
            path.display()
        )));
    }
    let lag = lag(&tx)?;
    tx.rollback().map_err(db_err)?;
    Ok(lag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewInstance;
    use serde_json::json;

    #[test]
    fn probe_sees_the_outbox_and_refuses_a_missing_or_locked_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aacon.db");
        let mut store = Store::open(&path, "t").unwrap();
        assert_eq!(probe(&path, Duration::from_millis(200)).unwrap().pending, 0);
        store
            .create(
                NewInstance {
                    name: "a".into(),
                    description: None,
                    server_spec_id: None,
                    json_spec: json!({"command": ["srv"]}),
                },
                None,
            )
            .unwrap();
        let lag = probe(&path, Duration::from_millis(200)).unwrap();
        assert_eq!(lag.pending, 1);
        assert!(lag.oldest.is_some());
        assert_eq!(store.outbox_lag().unwrap(), lag);

        // Another connection holds the write lock: not within the deadline.
        let mut other = Connection::open(&path).unwrap();
        let held = other
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let e = probe(&path, Duration::from_millis(100)).unwrap_err();
        assert!(e.to_string().contains("write lock"), "{e}");
        drop(held);

        let e = probe(&dir.path().join("gone.db"), Duration::from_millis(100)).unwrap_err();
        assert!(e.to_string().contains("cannot open the store"), "{e}");
        assert!(
            !dir.path().join("gone.db").exists(),
            "a probe never creates"
        );
    }
}
