//! The embedded store: SQLite (WAL) holding instances, the append-only
//! event log and the outbox.
//!
//! Every command writes the state change, its event and its outbox row in
//! ONE transaction. Updates carry the expected version; a mismatch is a
//! `Conflict` naming who changed what and when. Deletes are soft, so the
//! audit trail stays.

mod history;
pub mod pg;
pub mod port;
pub mod probe;
pub mod recording;
mod restart;
mod rules;
mod schema;
mod snapshot;

use crate::domain::event::timestamp;
use crate::domain::instance::{MAX_DESCRIPTION_CHARS, check_spec_shape, validate_name};
use crate::domain::spec;
use crate::domain::{
    DesiredState, Envelope, EventType, Instance, InstancePatch, NewInstance, Precondition, Status,
};
use crate::platform::{EventQuery, PlatformError, Result};
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};
use serde_json::{Map, Value};
use std::path::Path;
use std::time::Duration;
use uuid::Uuid;

/// The port's tool and status types, by the names the store has used.
pub use crate::platform::tools::{StatusReport, ToolInfo as ToolRecord};
pub use port::{BoxedStore, StorePort};
pub use schema::CURRENT as SCHEMA_VERSION;

fn db_err(e: rusqlite::Error) -> PlatformError {
    PlatformError::Internal(format!("the store failed: {e}"))
}

/// A domain rule's refusal, as the port's `Invalid`.
fn invalid(e: impl std::fmt::Display) -> PlatformError {
    PlatformError::Invalid(e.to_string())
}

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Now, at the microsecond precision the store keeps.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn parse_ts(s: &str) -> DateTime<Utc> {
    timestamp::parse_str(s).unwrap_or_default()
}

/// Where a fault is injected (tests only): after the state write, before
/// the event write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    AfterStateWrite,
}

pub struct Store {
    conn: Connection,
    actor: String,
    fault: Option<FaultPoint>,
    /// Inside [`Store::group`]: commands take a SAVEPOINT in the group's
    /// transaction instead of a transaction of their own.
    in_group: bool,
    /// A command of the group could not be undone: the group rolls back.
    group_broken: Option<String>,
    /// Snapshot bookkeeping (see `snapshot.rs`).
    snapshots: snapshot::Cadence,
}

const INSTANCE_COLUMNS: &str = "id, name, description, server_spec_id, json_spec, status, status_reason, desired_state, created_at, updated_at, version, aggregate_version, updated_by, last_healthy_at, tool_count, restarts";

fn row_to_instance(r: &Row<'_>) -> rusqlite::Result<Instance> {
    let id: String = r.get(0)?;
    let spec: String = r.get(4)?;
    let status: String = r.get(5)?;
    let desired: String = r.get(7)?;
    let created: String = r.get(8)?;
    let updated: String = r.get(9)?;
    let healthy: Option<String> = r.get(13)?;
    Ok(Instance {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        name: r.get(1)?,
        description: r.get(2)?,
        server_spec_id: r.get(3)?,
        json_spec: serde_json::from_str::<Map<String, Value>>(&spec).unwrap_or_default(),
        status: status.parse().unwrap_or(Status::Error),
        status_reason: r.get(6)?,
        desired_state: desired.parse().unwrap_or(DesiredState::Stopped),
        created_at: parse_ts(&created),
        updated_at: parse_ts(&updated),
        version: r.get::<_, i64>(10)? as u64,
        aggregate_version: r.get::<_, i64>(11)? as u64,
        updated_by: r.get(12)?,
        last_healthy_at: healthy.as_deref().map(parse_ts),
        tool_count: r.get::<_, Option<i64>>(14)?.map(|n| n as u32),
        restarts: r.get::<_, i64>(15)? as u32,
    })
}

impl Store {
    /// Open (creating if needed) the store at `path`. `actor` names this
    /// process in conflict messages ("cli@host pid 12").
    pub fn open(path: &Path, actor: &str) -> Result<Store> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| {
            PlatformError::Unavailable(format!("cannot open the store {}: {e}", path.display()))
        })?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(db_err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .map_err(|e| {
            PlatformError::Unavailable(format!(
                "cannot use the store {} (is it a SQLite database?): {e}",
                path.display()
            ))
        })?;
        let mut store = Store {
            conn,
            actor: actor.to_string(),
            fault: None,
            in_group: false,
            group_broken: None,
            snapshots: snapshot::Cadence::default(),
        };
        store.migrate(path)?;
        Ok(store)
    }

    /// An in-memory store (tests and benchmarks).
    pub fn open_in_memory(actor: &str) -> Result<Store> {
        let conn = Connection::open_in_memory().map_err(db_err)?;
        let mut store = Store {
            conn,
            actor: actor.to_string(),
            fault: None,
            in_group: false,
            group_broken: None,
            snapshots: snapshot::Cadence::default(),
        };
        store.migrate(Path::new(":memory:"))?;
        Ok(store)
    }

    /// Tests only: fail the next command at `point`.
    pub fn inject_fault(&mut self, point: Option<FaultPoint>) {
        self.fault = point;
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    fn migrate(&mut self, path: &Path) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_meta (version INTEGER NOT NULL)")
            .map_err(db_err)?;
        let have: Option<i64> = tx
            .query_row("SELECT version FROM schema_meta", [], |r| r.get(0))
            .optional()
            .map_err(db_err)?;
        let have = have.unwrap_or(0) as u32;
        if have > schema::CURRENT {
            return Err(PlatformError::Unavailable(format!(
                "the store {} was written by a newer aacon (schema {have}); this aacon knows schema {} — upgrade aacon or use another --data-dir",
                path.display(),
                schema::CURRENT
            )));
        }
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(have as usize) {
            tx.execute_batch(sql).map_err(db_err)?;
            tracing::info!(version = i + 1, "store schema migrated");
        }
        if have == 0 {
            tx.execute(
                "INSERT INTO schema_meta (version) VALUES (?1)",
                [schema::CURRENT],
            )
            .map_err(db_err)?;
        } else if have < schema::CURRENT {
            tx.execute("UPDATE schema_meta SET version = ?1", [schema::CURRENT])
                .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }

    pub fn schema_version(&self) -> Result<u32> {
        self.conn
            .query_row("SELECT version FROM schema_meta", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|v| v as u32)
            .map_err(db_err)
    }

    // ---- queries -------------------------------------------------------

    pub fn list(&self) -> Result<Vec<Instance>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {INSTANCE_COLUMNS} FROM instances WHERE deleted_at IS NULL ORDER BY name"
            ))
            .map_err(db_err)?;
        let rows = stmt.query_map([], row_to_instance).map_err(db_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
    }

    /// Find a live instance by id or by name.
    pub fn get(&self, key: &str) -> Result<Instance> {
        self.find(key)?.ok_or_else(|| {
            PlatformError::NotFound(format!("no instance named or with id '{}'", shown(key)))
        })
    }

    fn find(&self, key: &str) -> Result<Option<Instance>> {
        let by_id = Uuid::parse_str(key).ok().map(|u| u.to_string());
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {INSTANCE_COLUMNS} FROM instances WHERE deleted_at IS NULL AND (id = ?1 OR name = ?2)"
            ))
            .map_err(db_err)?;
        stmt.query_row(params![by_id, key], row_to_instance)
            .optional()
            .map_err(db_err)
    }

    /// Events in log order. With `limit`, the newest `limit` of them.
    pub fn events(&self, q: &EventQuery) -> Result<Vec<Envelope>> {
        let limit = q.limit.map(|l| l as i64).unwrap_or(-1);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT envelope FROM (SELECT seq, envelope FROM events
                  WHERE (?1 IS NULL OR aggregate_id = ?1) AND (?2 IS NULL OR timestamp >= ?2)
                  ORDER BY seq DESC LIMIT ?3) ORDER BY seq ASC",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map(
                params![
                    q.instance.map(|u| u.to_string()),
                    q.since.as_ref().map(ts),
                    limit
                ],
                |r| r.get::<_, String>(0),
            )
            .map_err(db_err)?;
        let mut out = Vec::new();
        for text in rows {
            let text = text.map_err(db_err)?;
            match serde_json::from_str(&text) {
                Ok(e) => out.push(e),
                Err(e) => tracing::warn!(error = %e, "unreadable envelope in the event log"),
            }
        }
        Ok(out)
    }

    /// Events with a sequence number above `after`, oldest first.
    /// For every instance, the correlation id of its latest command that
    /// asks for a state (created, updated, started): what a runtime host
    /// that takes over reports its status changes under.
    pub fn last_command_correlations(&self) -> Result<std::collections::HashMap<Uuid, String>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT aggregate_id, correlation_id FROM events WHERE seq IN (
                   SELECT MAX(seq) FROM events WHERE event_type IN (?1, ?2, ?3)
                   GROUP BY aggregate_id)",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map(
                params![
                    EventType::Created.as_str(),
                    EventType::Updated.as_str(),
                    EventType::Started.as_str()
                ],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                    ))
                },
            )
            .map_err(db_err)?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            if let (Some(id), Some(corr)) = row.map_err(db_err)?
                && let Ok(id) = Uuid::parse_str(&id)
            {
                out.insert(id, corr);
            }
        }
        Ok(out)
    }

    pub fn events_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, Envelope)>> {
        Ok(self
            .events_after_text(after, limit)?
            .into_iter()
            .filter_map(|(seq, text)| Some((seq, serde_json::from_str(&text).ok()?)))
            .collect())
    }

    /// [`Store::events_after`] as the stored JSON text, for a reader that
    /// decodes it its own way (the event-log tail's compact status reports).
    pub fn events_after_text(&self, after: i64, limit: usize) -> Result<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, envelope FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![after, limit as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(db_err)?;
        rows.collect::<std::result::Result<_, _>>().map_err(db_err)
    }

    pub fn last_seq(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
            .map_err(db_err)
    }

    /// Changes when another connection commits (cheap to poll).
    pub fn data_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(db_err)
    }

    pub fn integrity_check(&self) -> Result<String> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(db_err)
    }

    // ---- tools -----------------------------------------------------------

    /// Replace the discovered tools of instance `id`.
    pub fn set_tools(&mut self, id: Uuid, tools: &[ToolRecord]) -> Result<()> {
        let tx = self.conn.transaction().map_err(db_err)?;
        write_tools(&tx, id, tools)?;
        tx.commit().map_err(db_err)
    }

    /// The discovered tools of instance `id`, by name.
    pub fn tools(&self, id: Uuid) -> Result<Vec<ToolRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT name, description, input_schema, annotations FROM tools WHERE instance_id = ?1 ORDER BY name",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([id.to_string()], |r| {
                let schema: String = r.get(2)?;
                Ok(ToolRecord {
                    name: r.get(0)?,
                    description: r.get(1)?,
                    input_schema: serde_json::from_str(&schema).unwrap_or(Value::Null),
                    annotations: r
                        .get::<_, Option<String>>(3)?
                        .and_then(|a| serde_json::from_str(&a).ok()),
                })
            })
            .map_err(db_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
    }

    // ---- outbox ----------------------------------------------------------

    /// Unsent events, oldest first: up to `limit` readable ones. Unreadable
    /// rows are logged and skipped (rows are read lazily until `limit`
    /// readable envelopes are found, so a corrupt head never stalls a relay).
    pub fn outbox_pending(&self, limit: usize) -> Result<Vec<(i64, Envelope)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT e.seq, e.envelope FROM outbox o JOIN events e ON e.seq = o.seq ORDER BY o.seq",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            if out.len() >= limit {
                break;
            }
            let (seq, text) = row.map_err(db_err)?;
            match serde_json::from_str(&text) {
                Ok(e) => out.push((seq, e)),
                Err(e) => tracing::warn!(seq, error = %e, "unreadable envelope in the outbox"),
            }
        }
        Ok(out)
    }

    pub fn outbox_mark_sent(&mut self, seqs: &[i64]) -> Result<()> {
        let tx = self.conn.transaction().map_err(db_err)?;
        {
            let mut stmt = tx
                .prepare_cached("DELETE FROM outbox WHERE seq = ?1")
                .map_err(db_err)?;
            for s in seqs {
                stmt.execute([s]).map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }

    pub fn outbox_len(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(db_err)
    }

    // ---- commands --------------------------------------------------------

    /// Run `f` in one immediate transaction (or, inside [`Store::group`],
    /// in a SAVEPOINT of the group's transaction); `f` returns the new state
    /// and the event, which is appended to the log and the outbox in the
    /// same transaction. A failing command rolls back only its own writes.
    fn command<F>(&mut self, f: F) -> Result<(Instance, Envelope)>
    where
        F: FnOnce(&Connection, &str) -> Result<(Instance, Envelope)>,
    {
        let fault = self.fault.take();
        let actor = &self.actor;
        let run = |conn: &Connection| -> Result<(Instance, Envelope)> {
            let (inst, env) = f(conn, actor)?;
            if fault == Some(FaultPoint::AfterStateWrite) {
                // Returning before the commit rolls the state write back.
                return Err(PlatformError::Internal(
                    "injected fault after the state write".into(),
                ));
            }
            append_event(conn, &env)?;
            Ok((inst, env))
        };
        if self.in_group {
            // The savepoint's statements come from the statement cache too
            // (rusqlite's `Savepoint` parses its SQL on every use).
            exec(&self.conn, "SAVEPOINT command", []).map_err(db_err)?;
            let out = match run(&self.conn) {
                Ok(out) => out,
                Err(e) => {
                    // Only this command's writes go; its neighbours stay.
                    let undone = exec(&self.conn, "ROLLBACK TO command", [])
                        .and_then(|_| exec(&self.conn, "RELEASE command", []));
                    if let Err(u) = undone {
                        // Its writes would commit with the group: fail the
                        // whole group instead.
                        tracing::warn!(error = %u, "cannot roll a failed command back to its savepoint");
                        self.group_broken = Some(u.to_string());
                    }
                    return Err(e);
                }
            };
            exec(&self.conn, "RELEASE command", []).map_err(db_err)?;
            self.snapshots.wrote_one();
            Ok(out)
        } else {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let out = run(&tx)?;
            tx.commit().map_err(db_err)?;
            self.snapshots.wrote_one();
            self.snapshot_if_due();
            Ok(out)
        }
    }

    /// Group commit: run `f` (which issues any number of commands) in ONE
    /// immediate transaction, so the commands share one commit and one
    /// fsync. Each command runs in its own SAVEPOINT: one that fails rolls
    /// back only its own writes and returns its own error, its neighbours
    /// still commit. Nothing `f` did is durable until this returns `Ok`; if
    /// the final COMMIT fails, every command in the group is rolled back
    /// and the error is returned here (callers must then report each
    /// command of the group as failed).
    pub fn group<T>(&mut self, f: impl FnOnce(&mut Store) -> T) -> Result<T> {
        if self.in_group {
            return Ok(f(self));
        }
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(db_err)?;
        self.in_group = true;
        let out = f(self);
        self.in_group = false;
        if let Some(why) = self.group_broken.take() {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(PlatformError::Internal(format!(
                "the store could not undo a failed command ({why}), so none of the commands committed with it was kept"
            )));
        }
        match self.conn.execute_batch("COMMIT") {
            Ok(()) => {
                self.snapshot_if_due();
                Ok(out)
            }
            Err(e) => {
                // COMMIT failed: the transaction may still be open.
                if !self.conn.is_autocommit() {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                Err(db_err(e))
            }
        }
    }

    pub fn create(
        &mut self,
        new: NewInstance,
        correlation_id: Option<String>,
    ) -> Result<(Instance, Envelope)> {
        validate_name(&new.name).map_err(invalid)?;
        check_description(new.description.as_deref())?;
        let report = spec::validate(&new.json_spec);
        if !report.is_valid() {
            return Err(PlatformError::InvalidSpec(report));
        }
        let json_spec = check_spec_shape(&new.json_spec).map_err(invalid)?.clone();
        self.command(|tx, actor| {
            ensure_name_free(tx, &new.name, None)?;
            let inst = rules::new_instance(&new, json_spec, actor);
            exec(
                tx,
                &format!("INSERT INTO instances ({INSTANCE_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)"),
                params![
                    inst.id.to_string(), inst.name, inst.description, inst.server_spec_id,
                    spec_text(&inst.json_spec), inst.status.as_str(), inst.status_reason,
                    inst.desired_state.as_str(), ts(&inst.created_at), ts(&inst.updated_at),
                    inst.version as i64, inst.aggregate_version as i64, inst.updated_by,
                    Option::<String>::None, Option::<i64>::None, 0i64
                ],
            )
            .map_err(|e| unique_violation(e, &new.name))?;
            let env = Envelope::created(&inst, correlation_id);
            Ok((inst, env))
        })
    }

    pub fn update(
        &mut self,
        id: Uuid,
        patch: InstancePatch,
        expect: Option<Precondition>,
        correlation_id: Option<String>,
    ) -> Result<(Instance, Envelope)> {
        if let Some(n) = &patch.name {
            validate_name(n).map_err(invalid)?;
        }
        if let Some(d) = &patch.description {
            check_description(d.as_deref())?;
        }
        if let Some(s) = &patch.json_spec {
            let report = spec::validate(s);
            if !report.is_valid() {
                return Err(PlatformError::InvalidSpec(report));
            }
        }
        self.command(|tx, actor| {
            let cur = get_in(tx, id)?;
            check_precondition(tx, &cur, expect)?;
            if let Some(n) = patch.name.as_ref().filter(|n| **n != cur.name) {
                ensure_name_free(tx, n, Some(id))?;
            }
            let (inst, env) = cur
                .apply(&patch, actor, now(), correlation_id)
                .map_err(invalid)?;
            exec(
                tx,
                "UPDATE instances SET name=?2, description=?3, server_spec_id=?4, json_spec=?5, updated_at=?6, version=?7, aggregate_version=?8, updated_by=?9 WHERE id=?1",
                params![
                    id.to_string(), inst.name, inst.description, inst.server_spec_id,
                    spec_text(&inst.json_spec), ts(&inst.updated_at),
                    inst.version as i64, inst.aggregate_version as i64, inst.updated_by
                ],
            )
            .map_err(|e| unique_violation(e, &inst.name))?;
            Ok((inst, env))
        })
    }

    /// Soft delete: the row and its events stay for the audit trail.
    pub fn delete(
        &mut self,
        id: Uuid,
        correlation_id: Option<String>,
    ) -> Result<(Instance, Envelope)> {
        self.command(|tx, actor| {
            let mut inst = get_in(tx, id)?;
            inst.aggregate_version += 1;
            inst.desired_state = DesiredState::Stopped;
            inst.updated_by = Some(actor.to_string());
            let now = now();
            exec(
                tx,
                "UPDATE instances SET deleted_at=?2, aggregate_version=?3, desired_state='stopped', updated_by=?4 WHERE id=?1",
                params![id.to_string(), ts(&now), inst.aggregate_version as i64, inst.updated_by],
            )
            .map_err(db_err)?;
            let env = Envelope::deleted(&inst, correlation_id);
            Ok((inst, env))
        })
    }

    /// Record what the user wants (start / stop).
    pub fn set_desired(
        &mut self,
        id: Uuid,
        desired: DesiredState,
        correlation_id: Option<String>,
    ) -> Result<(Instance, Envelope)> {
        self.command(|tx, _actor| {
            let mut inst = get_in(tx, id)?;
            inst.aggregate_version += 1;
            inst.desired_state = desired;
            exec(
                tx,
                "UPDATE instances SET desired_state=?2, aggregate_version=?3 WHERE id=?1",
                params![
                    id.to_string(),
                    desired.as_str(),
                    inst.aggregate_version as i64
                ],
            )
            .map_err(db_err)?;
            let env = match desired {
                DesiredState::Running => Envelope::started(&inst, correlation_id),
                DesiredState::Stopped => Envelope::stopped(&inst, correlation_id),
            };
            Ok((inst, env))
        })
    }

    /// Record notifications a server sent unasked: an event in the log
    /// (and the outbox), the instance's row unchanged.
    pub fn record_notice(&mut self, id: Uuid, data: Value) -> Result<(Instance, Envelope)> {
        self.command(|tx, _actor| {
            let inst = get_in(tx, id)?;
            let env = Envelope::notified(&inst, data);
            Ok((inst, env))
        })
    }

    /// Record what the runtime observed.
    pub fn report_status(
        &mut self,
        id: Uuid,
        report: StatusReport,
        correlation_id: Option<String>,
    ) -> Result<(Instance, Envelope)> {
        self.command(|tx, _actor| status_in(tx, id, &report, correlation_id))
    }

    /// A session came up: its tools replace the stored ones and its status
    /// is recorded, in one command (one commit on the way to "running").
    pub fn report_up(
        &mut self,
        id: Uuid,
        tools: &[ToolRecord],
        report: StatusReport,
        correlation_id: Option<String>,
    ) -> Result<(Instance, Envelope)> {
        self.command(|tx, _actor| {
            write_tools(tx, id, tools)?;
            status_in(tx, id, &report, correlation_id)
        })
    }
}

/// Replace the discovered tools of instance `id` inside `tx`.
fn write_tools(tx: &Connection, id: Uuid, tools: &[ToolRecord]) -> Result<()> {
    let key = id.to_string();
    exec(tx, "DELETE FROM tools WHERE instance_id = ?1", [&key]).map_err(db_err)?;
    let mut stmt = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO tools (instance_id, name, description, input_schema, discovered_at, annotations) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(db_err)?;
    let at = ts(&now());
    for t in tools {
        stmt.execute(params![
            key,
            t.name,
            t.description,
            t.input_schema.to_string(),
            at,
            t.annotations.as_ref().map(Value::to_string)
        ])
        .map_err(db_err)?;
    }
    Ok(())
}

/// The status report's new state of instance `id` and its event, written
/// inside `tx`.
fn status_in(
    tx: &Connection,
    id: Uuid,
    report: &StatusReport,
    correlation_id: Option<String>,
) -> Result<(Instance, Envelope)> {
    let mut inst = get_in(tx, id)?;
    let previous = inst.status;
    rules::apply_report(&mut inst, report);
    exec(
        tx,
        "UPDATE instances SET status=?2, status_reason=?3, tool_count=?4, restarts=?5, last_healthy_at=?6, aggregate_version=?7 WHERE id=?1",
        params![
            id.to_string(), inst.status.as_str(), inst.status_reason,
            inst.tool_count.map(i64::from), inst.restarts as i64,
            inst.last_healthy_at.as_ref().map(ts), inst.aggregate_version as i64
        ],
    )
    .map_err(db_err)?;
    let env = match &report.error {
        Some(text) => Envelope::error(&inst, text, correlation_id),
        None => Envelope::status_changed(&inst, previous, correlation_id),
    };
    Ok((inst, env))
}

/// A spec as the store keeps it: the text `Value::Object(spec)` prints,
/// without copying the map first.
pub(crate) fn spec_text(spec: &Map<String, Value>) -> String {
    // A map of strings to JSON values always serializes.
    serde_json::to_string(spec).unwrap_or_default()
}

/// `execute` through the connection's statement cache (commands run the
/// same few statements over and over).
fn exec(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(p)
}

/// `query_row` through the statement cache.
fn query_row<T>(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
    f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(p, f)
}

fn shown(s: &str) -> String {
    s.chars()
        .take(80)
        .map(crate::domain::text::shown_char)
        .collect()
}

fn check_description(d: Option<&str>) -> Result<()> {
    match d {
        Some(d) if d.chars().count() > MAX_DESCRIPTION_CHARS => {
            Err(PlatformError::Invalid(format!(
                "the description is {} characters long; the limit is {MAX_DESCRIPTION_CHARS}",
                d.chars().count()
            )))
        }
        _ => Ok(()),
    }
}

fn get_in(tx: &Connection, id: Uuid) -> Result<Instance> {
    query_row(
        tx,
        &format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = ?1 AND deleted_at IS NULL"),
        [id.to_string()],
        row_to_instance,
    )
    .optional()
    .map_err(db_err)?
    .ok_or_else(|| PlatformError::NotFound(format!("no instance with id '{id}'")))
}

fn ensure_name_free(tx: &Connection, name: &str, except: Option<Uuid>) -> Result<()> {
    let holder: Option<String> = query_row(
        tx,
        "SELECT id FROM instances WHERE name = ?1 AND deleted_at IS NULL",
        [name],
        |r| r.get(0),
    )
    .optional()
    .map_err(db_err)?;
    match holder {
        Some(h) if Some(h.as_str()) != except.map(|u| u.to_string()).as_deref() => {
            Err(PlatformError::Conflict(format!(
                "an instance named '{name}' already exists (id {h})"
            )))
        }
        _ => Ok(()),
    }
}

fn unique_violation(e: rusqlite::Error, name: &str) -> PlatformError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            PlatformError::Conflict(format!("an instance named '{name}' already exists"))
        }
        _ => db_err(e),
    }
}

fn check_precondition(tx: &Connection, cur: &Instance, expect: Option<Precondition>) -> Result<()> {
    if !rules::is_stale(cur, expect) {
        return Ok(());
    }
    // Name who changed what: the last Updated event of this instance.
    let last: Option<String> = tx
        .query_row(
            "SELECT envelope FROM events WHERE aggregate_id = ?1 AND event_type = ?2 ORDER BY seq DESC LIMIT 1",
            params![cur.id.to_string(), EventType::Updated.as_str()],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    let last = last.and_then(|t| serde_json::from_str::<Envelope>(&t).ok());
    Err(rules::conflict(cur, last, expect))
}

fn append_event(tx: &Connection, env: &Envelope) -> Result<()> {
    exec(
                tx,
        "INSERT INTO events (event_id, aggregate_id, aggregate_version, event_type, timestamp, correlation_id, envelope)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            env.event_id,
            env.aggregate_id.map(|u| u.to_string()),
            env.aggregate_version.map(|v| v as i64),
            env.event_type,
            ts(&env.timestamp),
            env.correlation_id,
            env.to_json()
        ],
    )
    .map_err(db_err)?;
    exec(
        tx,
        "INSERT INTO outbox (seq) VALUES (last_insert_rowid())",
        [],
    )
    .map_err(db_err)?;
    Ok(())
}

#[cfg(test)]
mod tests;
