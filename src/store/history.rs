//! The call history (`call_history`): every tool call, resource read and
//! prompt get, per instance, written in batches by the embedded platform's
//! history writer and pruned as it writes (see [`Retention`]). Rows outlive
//! a (soft) delete of their instance, as the audit trail, until retention
//! prunes them.

use super::{Store, db_err, parse_ts, ts};
use crate::platform::history::{CallKind, CallOutcome, CallRecord, Caller, NewCall, Retention};
use crate::platform::{PlatformError, Result};
use chrono::Utc;
use rusqlite::{OptionalExtension, Row, params};
use std::collections::BTreeSet;
use uuid::Uuid;

const COLUMNS: &str = "seq, instance_id, instance_name, at, caller, kind, name, arguments, redacted, duration_ms, outcome, result_bytes";

fn row_to_record(r: &Row<'_>, with_result: bool) -> rusqlite::Result<CallRecord> {
    let id: String = r.get(1)?;
    let at: String = r.get(3)?;
    let caller: String = r.get(4)?;
    let kind: String = r.get(5)?;
    let args: String = r.get(7)?;
    let outcome: String = r.get(10)?;
    Ok(CallRecord {
        id: r.get(0)?,
        instance_id: Uuid::parse_str(&id).unwrap_or_default(),
        instance_name: r.get(2)?,
        at: parse_ts(&at),
        caller: serde_json::from_str(&caller).unwrap_or(Caller::Local {
            role: "unknown".into(),
            pid: None,
        }),
        kind: CallKind::parse(&kind).unwrap_or(CallKind::Tool),
        name: r.get(6)?,
        arguments: serde_json::from_str(&args).unwrap_or_default(),
        redacted: r.get::<_, i64>(8)? != 0,
        duration_ms: r.get::<_, i64>(9)?.max(0) as u64,
        outcome: serde_json::from_str(&outcome).unwrap_or(CallOutcome::Ok),
        result_bytes: r.get::<_, i64>(11)?.max(0) as u64,
        result: if with_result { Some(r.get(12)?) } else { None },
    })
}

impl Store {
    /// This connection writes history only: a commit need not wait for
    /// the disk (WAL keeps it consistent; a power cut may lose the last
    /// calls recorded, never the instances' state).
    pub fn for_history(mut self) -> Result<Store> {
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL;")
            .map_err(db_err)?;
        self.actor = format!("{} (history)", self.actor);
        Ok(self)
    }

    /// Record `calls` in one transaction, then prune what `keep` no
    /// longer keeps of the instances they belong to.
    pub fn record_calls(&mut self, calls: &[NewCall], keep: Retention) -> Result<()> {
        let tx = self.conn.transaction().map_err(db_err)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO call_history (instance_id, instance_name, at, caller, kind, name, arguments, redacted, duration_ms, outcome, result_bytes, result) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(db_err)?;
            for c in calls {
                insert
                    .execute(params![
                        c.instance_id.to_string(),
                        c.instance_name,
                        ts(&c.at),
                        serde_json::to_string(&c.caller).unwrap_or_default(),
                        c.kind.as_str(),
                        c.name,
                        c.arguments.to_string(),
                        c.redacted as i64,
                        c.duration_ms.min(i64::MAX as u64) as i64,
                        serde_json::to_string(&c.outcome).unwrap_or_default(),
                        c.result_bytes.min(i64::MAX as u64) as i64,
                        c.result,
                    ])
                    .map_err(db_err)?;
            }
            let instances: BTreeSet<String> =
                calls.iter().map(|c| c.instance_id.to_string()).collect();
            let mut by_count = tx
                .prepare_cached(
                    "DELETE FROM call_history WHERE instance_id = ?1 AND seq <= (SELECT seq FROM call_history WHERE instance_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
                )
                .map_err(db_err)?;
            for id in &instances {
                by_count
                    .execute(params![
                        id,
                        keep.keep_per_instance.min(i64::MAX as u64) as i64
                    ])
                    .map_err(db_err)?;
            }
            if keep.keep_days > 0 {
                let days = keep.keep_days.min(365 * 1000) as i64;
                let cutoff = Utc::now() - chrono::Duration::days(days);
                tx.execute("DELETE FROM call_history WHERE at < ?1", [ts(&cutoff)])
                    .map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }

    /// Instance `id`'s recorded calls, newest first, at most `limit`,
    /// without their kept answers.
    pub fn history(&self, id: Uuid, limit: usize) -> Result<Vec<CallRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM call_history WHERE instance_id = ?1 ORDER BY seq DESC LIMIT ?2"
            ))
            .map_err(db_err)?;
        let rows = stmt
            .query_map(
                params![id.to_string(), limit.min(i64::MAX as usize) as i64],
                |r| row_to_record(r, false),
            )
            .map_err(db_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
    }

    /// One recorded call of instance `id`, with its kept answer.
    pub fn history_call(&self, id: Uuid, call: i64) -> Result<CallRecord> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS}, result FROM call_history WHERE instance_id = ?1 AND seq = ?2"
            ))
            .map_err(db_err)?;
        stmt.query_row(params![id.to_string(), call], |r| row_to_record(r, true))
            .optional()
            .map_err(db_err)?
            .ok_or_else(|| {
                PlatformError::NotFound(format!(
                    "no call {call} in the history of this instance (retention may have pruned it)"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema;
    use super::*;
    use crate::domain::NewInstance;
    use serde_json::json;

    fn call(id: Uuid, name: &str, at: chrono::DateTime<Utc>) -> NewCall {
        NewCall {
            instance_id: id,
            instance_name: "alpha".into(),
            at,
            caller: Caller::Cli { pid: 7 },
            kind: CallKind::Tool,
            name: name.into(),
            arguments: json!({"message": name}),
            redacted: false,
            duration_ms: 12,
            outcome: CallOutcome::Ok,
            result_bytes: 9,
            result: "{\"ok\":1}".into(),
        }
    }

    const KEEP_ALL: Retention = Retention {
        keep_per_instance: 1000,
        keep_days: 0,
    };

    #[test]
    fn calls_are_listed_newest_first_and_read_back_in_full() {
        let mut s = Store::open_in_memory("t").unwrap();
        let id = Uuid::new_v4();
        let other = Uuid::new_v4();
        let now = Utc::now();
        s.record_calls(&[call(id, "one", now), call(other, "x", now)], KEEP_ALL)
            .unwrap();
        let mut failed = call(id, "two", now);
        failed.outcome = CallOutcome::Failed {
            kind: "timeout".into(),
            message: "no answer in 60 s".into(),
        };
        s.record_calls(&[failed.clone()], KEEP_ALL).unwrap();
        let list = s.history(id, 10).unwrap();
        assert_eq!(
            list.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["two", "one"]
        );
        assert!(list.iter().all(|r| r.result.is_none()));
        assert_eq!(list[0].outcome, failed.outcome);
        assert_eq!(list[0].caller, Caller::Cli { pid: 7 });
        let full = s.history_call(id, list[1].id).unwrap();
        assert_eq!(full.result.as_deref(), Some("{\"ok\":1}"));
        assert_eq!(full.arguments, json!({"message": "one"}));
        assert_eq!(s.history(id, 1).unwrap().len(), 1);
        let err = s.history_call(other, list[0].id).unwrap_err();
        assert!(matches!(err, PlatformError::NotFound(_)), "{err}");
    }

    #[test]
    fn retention_keeps_the_newest_per_instance_and_drops_old_days() {
        let mut s = Store::open_in_memory("t").unwrap();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let now = Utc::now();
        let keep = Retention {
            keep_per_instance: 3,
            keep_days: 0,
        };
        for i in 0..5 {
            s.record_calls(&[call(a, &format!("a{i}"), now)], keep)
                .unwrap();
        }
        s.record_calls(&[call(b, "b0", now)], keep).unwrap();
        let names: Vec<String> = s
            .history(a, 10)
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["a4", "a3", "a2"]);
        assert_eq!(s.history(b, 10).unwrap().len(), 1, "others keep theirs");

        let by_age = Retention {
            keep_per_instance: 100,
            keep_days: 7,
        };
        let old = now - chrono::Duration::days(8);
        s.record_calls(&[call(b, "old", old), call(b, "new", now)], by_age)
            .unwrap();
        let names: Vec<String> = s
            .history(b, 10)
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["new", "b0"], "older than 7 days is pruned");
    }

    #[test]
    fn a_deleted_instance_keeps_its_history() {
        let mut s = Store::open_in_memory("t").unwrap();
        let (inst, _) = s
            .create(
                NewInstance {
                    name: "gone".into(),
                    description: None,
                    server_spec_id: None,
                    json_spec: json!({"command": ["x"]}),
                },
                None,
            )
            .unwrap();
        s.record_calls(&[call(inst.id, "echo", Utc::now())], KEEP_ALL)
            .unwrap();
        s.delete(inst.id, None).unwrap();
        assert_eq!(s.history(inst.id, 10).unwrap().len(), 1);
    }

    #[test]
    fn a_store_of_the_previous_schema_gains_the_history_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aacon.db");
        let previous = schema::CURRENT - 1;
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            for sql in &schema::MIGRATIONS[..previous as usize] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(&format!(
                "CREATE TABLE schema_meta (version INTEGER NOT NULL); INSERT INTO schema_meta VALUES ({previous});"
            ))
            .unwrap();
            conn.execute(
                "INSERT INTO tools (instance_id, name, input_schema, discovered_at) VALUES ('i', 'echo', '{}', 'now')",
                [],
            )
            .unwrap();
        }
        let mut s = Store::open(&path, "t").unwrap();
        assert_eq!(s.schema_version().unwrap(), schema::CURRENT);
        let kept: i64 = s
            .conn
            .query_row("SELECT COUNT(*) FROM tools", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 1, "what the previous schema held stays");
        let id = Uuid::new_v4();
        s.record_calls(&[call(id, "echo", Utc::now())], KEEP_ALL)
            .unwrap();
        assert_eq!(s.history(id, 5).unwrap().len(), 1);
    }
}
