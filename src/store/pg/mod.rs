//! The PostgreSQL store: the same port as SQLite's ([`super::StorePort`]),
//! for several `aacon serve` replicas sharing one database.
//!
//! - Every command writes the state, its event and its outbox row in one
//!   transaction, and sends `NOTIFY aacon_events` in it (delivered on
//!   COMMIT), so every replica's tail wakes at once ([`StorePort::watch`]).
//! - Writers take one transaction-scoped advisory lock before they write,
//!   so sequence numbers (an identity column) commit in order: a tail that
//!   reads `seq > last` never skips an event that commits late. This is
//!   SQLite's single writer, across replicas.
//! - Group commit as SQLite's: many commands in one transaction, each in a
//!   SAVEPOINT, one COMMIT.
//! - The optimistic concurrency check is in the UPDATE's WHERE clause.
//! - The outbox is claimed with `FOR UPDATE SKIP LOCKED` in a transaction
//!   held until the rows are marked sent, so two relays never publish one
//!   row twice.
//! - `synchronous_commit = on` for every connection.
//!
//! The port is synchronous; this adapter runs its futures on a small
//! runtime of its own (two threads drive the connections) and waits for
//! them on the caller's thread, which is a blocking thread already.

mod rows;
mod schema;
pub mod tls;

use super::port::{Committed, StorePort, Watching};
use super::snapshot::Start;
use super::{FaultPoint, ToolRecord};
use crate::domain::instance::{check_spec_shape, validate_name};
use crate::domain::replay::Moment;
use crate::domain::spec;
use crate::domain::{
    DesiredState, Envelope, EventType, Instance, InstancePatch, NewInstance, Precondition,
};
use crate::paths::StoreUrl;
use crate::platform::history::{CallRecord, NewCall, Retention};
use crate::platform::{EventQuery, PlatformError, Result, StatusReport};
use chrono::{DateTime, Utc};
use deadpool_postgres::{ClientWrapper, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use rows::{envelope_of, instance_of, record_of};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

pub use schema::CURRENT as SCHEMA_VERSION;

/// The channel commits notify.
const CHANNEL: &str = "aacon_events";
/// The advisory lock writers of the event log take (any constant; "aacon").
const WRITER_LOCK: i64 = 0x6161_636f_6e00;
/// The advisory lock migrations take, so replicas starting together
/// migrate once.
const MIGRATION_LOCK: i64 = 0x6161_636f_6e01;
/// Connections per store (commands, reads, the outbox claim).
const POOL_SIZE: usize = 4;

const INSTANCE_COLUMNS: &str = "id, name, description, server_spec_id, json_spec, status, status_reason, desired_state, created_at, updated_at, version, aggregate_version, updated_by, last_healthy_at, tool_count, restarts";

/// A status report written for an instance lease: the row changes only
/// while the lease (`$1` id, `$2` replica, `$3` generation) is current.
static FENCED_REPORT_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "UPDATE instances SET status=$4, status_reason=$5, tool_count=$6, restarts=$7, last_healthy_at=$8, aggregate_version=$9 WHERE id=$1 AND {}",
        crate::cluster::FENCE_SQL
    )
});

/// The connection settings `url` names (TLS as its `sslmode` says),
/// durable at COMMIT whatever the server's default.
fn connect_config(url: &StoreUrl) -> Result<tls::PgConnect> {
    let mut pc = tls::parse(url.expose()).map_err(|e| match e {
        tls::TlsError::Url(_) => PlatformError::Invalid(format!(
            "'{url}' is not a PostgreSQL URL; use postgres://user:password@host:port/database"
        )),
        other => PlatformError::Invalid(format!("the store URL '{url}' cannot be used: {other}")),
    })?;
    let config = &mut pc.config;
    config.options("-c synchronous_commit=on");
    config.application_name("aacon");
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    Ok(pc)
}

/// The runtime the adapter's connections live on.
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RT: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("aacon-pg")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| PlatformError::Internal(format!("cannot start the PostgreSQL runtime: {e}")))
}

/// Run `f` to completion on this thread, its I/O driven by the adapter's
/// runtime (safe from any thread, in or out of another runtime).
fn block<F: Future>(f: F) -> Result<F::Output> {
    let _in = runtime()?.enter();
    Ok(futures::executor::block_on(f))
}

fn db_err(e: tokio_postgres::Error) -> PlatformError {
    // tokio-postgres words errors without the connection's password.
    match e.as_db_error() {
        Some(db) => PlatformError::Internal(format!("the store failed: {}", db.message())),
        None if e.is_closed() => {
            PlatformError::Unavailable(format!("the store's connection is closed: {e}"))
        }
        None => PlatformError::Internal(format!("the store failed: {e}")),
    }
}

/// One connection, with its statements prepared once (cached per
/// connection) and each call waited for.
struct Conn<'a>(&'a ClientWrapper);

impl Conn<'_> {
    fn raw_query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<std::result::Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>> {
        block(async {
            let st = self.0.prepare_cached(sql).await?;
            self.0.query(&st, params).await
        })
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<tokio_postgres::Row>> {
        self.raw_query(sql, params)?.map_err(db_err)
    }

    fn opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<tokio_postgres::Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    fn one(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<tokio_postgres::Row> {
        self.opt(sql, params)?
            .ok_or_else(|| PlatformError::Internal(format!("no row from: {sql}")))
    }

    fn raw_exec(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<std::result::Result<u64, tokio_postgres::Error>> {
        block(async {
            let st = self.0.prepare_cached(sql).await?;
            self.0.execute(&st, params).await
        })
    }

    fn exec(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        self.raw_exec(sql, params)?.map_err(db_err)
    }

    fn batch(&self, sql: &str) -> Result<()> {
        block(self.0.batch_execute(sql))?.map_err(db_err)
    }
}

pub struct PgStore {
    pool: Pool,
    /// The settings and TLS connector of every connection (the
    /// listener's too).
    connect: tls::PgConnect,
    location: String,
    actor: String,
    fault: Option<FaultPoint>,
    /// Inside a group: its connection, with the transaction open.
    group: Option<Object>,
    /// The outbox rows this caller claimed and has not marked sent: a
    /// connection with a transaction open that holds their row locks.
    claim: Option<Object>,
    /// Snapshot cadence: every `every` events this process wrote (more
    /// in a large fleet unless `fixed`, as SQLite's).
    every: u64,
    fixed: bool,
    written: u64,
    /// Bumped by the listener on every notification (and reconnect).
    notified: Arc<AtomicI64>,
}

impl PgStore {
    /// Connect to the database at `url` and bring its schema up to date
    /// (refusing one newer than this aacon knows).
    pub fn open(url: &StoreUrl, actor: &str) -> Result<PgStore> {
        let connect = connect_config(url)?;
        let location = describe(&connect.config);
        let mgr = Manager::from_config(
            connect.config.clone(),
            connect.tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| PlatformError::Internal(format!("cannot build the store's pool: {e}")))?;
        let store = PgStore {
            pool,
            connect,
            location,
            actor: actor.to_string(),
            fault: None,
            group: None,
            claim: None,
            every: super::snapshot::SNAPSHOT_EVERY,
            fixed: false,
            written: 0,
            notified: Arc::new(AtomicI64::new(0)),
        };
        store.migrate()?;
        Ok(store)
    }

    fn client(&self) -> Result<Object> {
        block(self.pool.get())?.map_err(|e| {
            let why = match &e {
                deadpool_postgres::PoolError::Backend(e) => tls::explain(e, self.connect.mode),
                other => other.to_string(),
            };
            PlatformError::Unavailable(format!("cannot reach the store {}: {why}", self.location))
        })
    }

    /// Run `f` on the group's connection, else on one from the pool.
    fn read<T>(&self, f: impl FnOnce(&Conn) -> Result<T>) -> Result<T> {
        match &self.group {
            Some(g) => f(&Conn(g)),
            None => {
                let c = self.client()?;
                f(&Conn(&c))
            }
        }
    }

    fn migrate(&self) -> Result<()> {
        let client = self.client()?;
        let c = Conn(&client);
        c.batch("BEGIN")?;
        let out = (|| {
            c.exec("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            c.batch("CREATE TABLE IF NOT EXISTS aacon_store_schema (version INTEGER NOT NULL)")?;
            let have: i32 = c
                .opt("SELECT version FROM aacon_store_schema", &[])?
                .map(|r| r.get(0))
                .unwrap_or(0);
            let have = have.max(0) as u32;
            if have > schema::CURRENT {
                return Err(PlatformError::Unavailable(format!(
                    "the store {} was written by a newer aacon (schema {have}); this aacon knows schema {} — upgrade aacon or use another store.url",
                    self.location,
                    schema::CURRENT
                )));
            }
            for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(have as usize) {
                c.batch(sql)?;
                tracing::info!(version = i + 1, "PostgreSQL store schema migrated");
            }
            let current = schema::CURRENT as i32;
            if have == 0 {
                c.exec(
                    "INSERT INTO aacon_store_schema (version) VALUES ($1)",
                    &[&current],
                )?;
            } else if have < schema::CURRENT {
                c.exec("UPDATE aacon_store_schema SET version = $1", &[&current])?;
            }
            Ok(())
        })();
        match out {
            Ok(()) => c.batch("COMMIT"),
            Err(e) => {
                let _ = c.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Run a command: in the group's transaction under a SAVEPOINT, else
    /// in a transaction of its own. `f` gives the new state and its event;
    /// the event, its outbox row and the notification join the same
    /// transaction.
    fn command(&mut self, f: impl FnOnce(&Conn, &str) -> Committed) -> Committed {
        let fault = self.fault.take();
        let run = |c: &Conn, actor: &str| -> Committed {
            let (inst, env) = f(c, actor)?;
            if fault == Some(FaultPoint::AfterStateWrite) {
                return Err(PlatformError::Internal(
                    "injected fault after the state write".into(),
                ));
            }
            append_event(c, &env)?;
            Ok((inst, env))
        };
        let out = if let Some(g) = &self.group {
            let c = Conn(g);
            c.batch("SAVEPOINT aacon_cmd")?;
            let out = run(&c, &self.actor);
            match &out {
                Ok(_) => c.batch("RELEASE SAVEPOINT aacon_cmd")?,
                Err(_) => {
                    c.batch("ROLLBACK TO SAVEPOINT aacon_cmd; RELEASE SAVEPOINT aacon_cmd")?
                }
            }
            out
        } else {
            let client = self.client()?;
            let c = Conn(&client);
            c.batch("BEGIN")?;
            let out = c
                .exec("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])
                .and_then(|_| run(&c, &self.actor));
            match out {
                Ok(v) => {
                    c.batch("COMMIT")?;
                    Ok(v)
                }
                Err(e) => {
                    let _ = c.batch("ROLLBACK");
                    Err(e)
                }
            }
        };
        if out.is_ok() {
            self.written += 1;
            if self.group.is_none() {
                self.snapshot_if_due();
            }
        }
        out
    }

    fn snapshot_if_due(&mut self) {
        if self.written < self.every {
            return;
        }
        self.written = 0;
        if let Err(e) = StorePort::take_snapshots(self) {
            tracing::warn!(error = %e, "cannot take a snapshot of the projection");
        }
    }

    /// Release a claim on outbox rows that were not marked sent (the relay
    /// failed to publish them): their locks go, another relay may take them.
    fn release_claim(&mut self) {
        if let Some(c) = self.claim.take() {
            let _ = Conn(&c).batch("ROLLBACK");
        }
    }

    /// The latest snapshot whose events are all at or before `at`.
    fn latest_snapshot(&self, at: Option<DateTime<Utc>>) -> Result<Start> {
        let row = self.read(|c| {
            c.opt(
                "SELECT seq, max_ts, events, state FROM snapshots
                  WHERE ($1::timestamptz IS NULL OR max_ts <= $1) ORDER BY seq DESC LIMIT 1",
                &[&at],
            )
        })?;
        Ok(match row {
            Some(r) => Start::from_snapshot(r.get(0), r.get(1), r.get(2), r.get::<_, &str>(3)),
            None => Start::empty(),
        })
    }

    /// Apply the events after `start.seq` up to `last` (stopping before
    /// the first later than `until`); `each` sees the start after each.
    fn replay(
        &self,
        start: &mut Start,
        last: i64,
        until: Option<DateTime<Utc>>,
        mut each: impl FnMut(&Start),
    ) -> Result<()> {
        loop {
            let rows = self.read(|c| {
                c.query(
                    "SELECT seq, timestamp, envelope FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT 5000",
                    &[&start.seq, &last],
                )
            })?;
            if rows.is_empty() {
                return Ok(());
            }
            for row in rows {
                let at: DateTime<Utc> = row.get(1);
                if until.is_some_and(|u| at > u) {
                    return Ok(());
                }
                start.advance(row.get(0), at, row.get::<_, &str>(2));
                each(start);
            }
        }
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.release_claim();
    }
}

/// `host:port/database` of a connection config (never its password).
fn describe(c: &tokio_postgres::Config) -> String {
    let host = c
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = c.get_ports().first().copied().unwrap_or(5432);
    let db = c.get_dbname().unwrap_or("postgres");
    format!("PostgreSQL {host}:{port}/{db}")
}

fn append_event(c: &Conn, env: &Envelope) -> Result<()> {
    let aggregate = env.aggregate_id.map(|u| u.to_string());
    let version = env.aggregate_version.map(|v| v as i64);
    let row = c.one(
        "INSERT INTO events (event_id, aggregate_id, aggregate_version, event_type, timestamp, correlation_id, envelope)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
        &[
            &env.event_id,
            &aggregate,
            &version,
            &env.event_type,
            &env.timestamp,
            &env.correlation_id,
            &env.to_json(),
        ],
    )?;
    let seq: i64 = row.get(0);
    c.exec("INSERT INTO outbox (seq) VALUES ($1)", &[&seq])?;
    c.exec("SELECT pg_notify($1, '')", &[&CHANNEL])?;
    Ok(())
}

fn get_in(c: &Conn, id: Uuid) -> Result<Instance> {
    c.opt(
        &format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
        ),
        &[&id.to_string()],
    )?
    .map(|r| instance_of(&r))
    .ok_or_else(|| PlatformError::NotFound(format!("no instance with id '{id}'")))
}

fn ensure_name_free(c: &Conn, name: &str, except: Option<Uuid>) -> Result<()> {
    let holder: Option<String> = c
        .opt(
            "SELECT id FROM instances WHERE name = $1 AND deleted_at IS NULL",
            &[&name],
        )?
        .map(|r| r.get(0));
    match holder {
        Some(h) if Some(h.as_str()) != except.map(|u| u.to_string()).as_deref() => {
            Err(PlatformError::Conflict(format!(
                "an instance named '{name}' already exists (id {h})"
            )))
        }
        _ => Ok(()),
    }
}

/// The conflict of an update whose precondition no longer holds, naming
/// who changed what and when (as SQLite's).
fn conflict(c: &Conn, cur: &Instance, expect: Option<Precondition>) -> PlatformError {
    let last = c
        .opt(
            "SELECT envelope FROM events WHERE aggregate_id = $1 AND event_type = $2 ORDER BY seq DESC LIMIT 1",
            &[&cur.id.to_string(), &EventType::Updated.as_str()],
        )
        .ok()
        .flatten()
        .and_then(|r| envelope_of(r.get(0)));
    super::rules::conflict(cur, last, expect)
}

impl StorePort for PgStore {
    fn actor(&self) -> &str {
        &self.actor
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    fn schema_version(&self) -> Result<u32> {
        let row = self.read(|c| c.one("SELECT version FROM aacon_store_schema", &[]))?;
        Ok(row.get::<_, i32>(0).max(0) as u32)
    }

    /// PostgreSQL checks its own pages; this checks what the store keeps
    /// in step: every outbox row names an event, every event is readable.
    fn integrity_check(&self) -> Result<String> {
        self.read(|c| {
            let orphans: i64 = c
                .one(
                    "SELECT COUNT(*) FROM outbox o LEFT JOIN events e ON e.seq = o.seq WHERE e.seq IS NULL",
                    &[],
                )?
                .get(0);
            Ok(if orphans == 0 {
                "ok".to_string()
            } else {
                format!("{orphans} outbox rows name no event")
            })
        })
    }

    fn list(&self) -> Result<Vec<Instance>> {
        let rows = self.read(|c| {
            c.query(
                &format!(
                    "SELECT {INSTANCE_COLUMNS} FROM instances WHERE deleted_at IS NULL ORDER BY name COLLATE \"C\""
                ),
                &[],
            )
        })?;
        Ok(rows.iter().map(instance_of).collect())
    }

    fn get(&self, key: &str) -> Result<Instance> {
        let by_id = Uuid::parse_str(key).ok().map(|u| u.to_string());
        let row = self.read(|c| {
            c.opt(
                &format!(
                    "SELECT {INSTANCE_COLUMNS} FROM instances WHERE deleted_at IS NULL AND (id = $1 OR name = $2)"
                ),
                &[&by_id, &key],
            )
        })?;
        row.map(|r| instance_of(&r)).ok_or_else(|| {
            PlatformError::NotFound(format!(
                "no instance named or with id '{}'",
                super::shown(key)
            ))
        })
    }

    fn events(&self, q: &EventQuery) -> Result<Vec<Envelope>> {
        let limit = q.limit.map(|l| l.min(i64::MAX as usize) as i64);
        let instance = q.instance.map(|u| u.to_string());
        let rows = self.read(|c| {
            c.query(
                "SELECT envelope FROM (SELECT seq, envelope FROM events
                  WHERE ($1::text IS NULL OR aggregate_id = $1) AND ($2::timestamptz IS NULL OR timestamp >= $2)
                  ORDER BY seq DESC LIMIT $3) t ORDER BY seq ASC",
                &[&instance, &q.since, &limit],
            )
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|r| envelope_of(r.get(0)))
            .collect())
    }

    fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        instance: Option<Uuid>,
    ) -> Result<Vec<Envelope>> {
        let instance = instance.map(|u| u.to_string());
        let rows = self.read(|c| {
            c.query(
                "SELECT envelope FROM events WHERE timestamp >= $1 AND timestamp <= $2
                  AND ($3::text IS NULL OR aggregate_id = $3) ORDER BY seq",
                &[&from, &to, &instance],
            )
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|r| envelope_of(r.get(0)))
            .collect())
    }

    fn last_command_correlations(&self) -> Result<HashMap<Uuid, String>> {
        let rows = self.read(|c| {
            c.query(
                "SELECT aggregate_id, correlation_id FROM events WHERE seq IN (
                   SELECT MAX(seq) FROM events WHERE event_type IN ($1, $2, $3)
                   GROUP BY aggregate_id)",
                &[
                    &EventType::Created.as_str(),
                    &EventType::Updated.as_str(),
                    &EventType::Started.as_str(),
                ],
            )
        })?;
        let mut out = HashMap::new();
        for r in rows {
            let (id, corr): (Option<String>, Option<String>) = (r.get(0), r.get(1));
            if let (Some(id), Some(corr)) = (id, corr)
                && let Ok(id) = Uuid::parse_str(&id)
            {
                out.insert(id, corr);
            }
        }
        Ok(out)
    }

    fn events_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, Envelope)>> {
        Ok(self
            .events_after_text(after, limit)?
            .into_iter()
            .filter_map(|(seq, text)| envelope_of(&text).map(|e| (seq, e)))
            .collect())
    }

    fn events_after_text(&self, after: i64, limit: usize) -> Result<Vec<(i64, String)>> {
        let limit = limit.min(i64::MAX as usize) as i64;
        let rows = self.read(|c| {
            c.query(
                "SELECT seq, envelope FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &limit],
            )
        })?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn last_seq(&self) -> Result<i64> {
        let row = self.read(|c| c.one("SELECT COALESCE(MAX(seq), 0)::bigint FROM events", &[]))?;
        Ok(row.get(0))
    }

    /// The notifications the listener received (no round trip): with
    /// [`StorePort::watch`] on, the tail is woken by them anyway.
    fn data_version(&self) -> Result<i64> {
        Ok(self.notified.load(Ordering::Relaxed))
    }

    fn watch(&self, wake: std_mpsc::Sender<()>) -> Option<Watching> {
        let rt = runtime().ok()?;
        let task = rt.spawn(listen(
            self.connect.clone(),
            self.location.clone(),
            self.notified.clone(),
            wake,
        ));
        Some(Watching::new(move || task.abort()))
    }

    fn create(&mut self, new: NewInstance, correlation_id: Option<String>) -> Committed {
        validate_name(&new.name).map_err(super::invalid)?;
        super::check_description(new.description.as_deref())?;
        let report = spec::validate(&new.json_spec);
        if !report.is_valid() {
            return Err(PlatformError::InvalidSpec(report));
        }
        let json_spec = check_spec_shape(&new.json_spec)
            .map_err(super::invalid)?
            .clone();
        self.command(|c, actor| {
            ensure_name_free(c, &new.name, None)?;
            let inst = super::rules::new_instance(&new, json_spec, actor);
            let spec_text = super::spec_text(&inst.json_spec);
            let written = c.raw_exec(
                &format!("INSERT INTO instances ({INSTANCE_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)"),
                &[
                    &inst.id.to_string(), &inst.name, &inst.description, &inst.server_spec_id,
                    &spec_text, &inst.status.as_str(), &inst.status_reason,
                    &inst.desired_state.as_str(), &inst.created_at, &inst.updated_at,
                    &(inst.version as i64), &(inst.aggregate_version as i64), &inst.updated_by,
                    &Option::<DateTime<Utc>>::None, &Option::<i64>::None, &0i64,
                ],
            )?;
            unique(written, &new.name)?;
            let env = Envelope::created(&inst, correlation_id);
            Ok((inst, env))
        })
    }

    fn update(
        &mut self,
        id: Uuid,
        patch: InstancePatch,
        expect: Option<Precondition>,
        correlation_id: Option<String>,
    ) -> Committed {
        if let Some(n) = &patch.name {
            validate_name(n).map_err(super::invalid)?;
        }
        if let Some(d) = &patch.description {
            super::check_description(d.as_deref())?;
        }
        if let Some(s) = &patch.json_spec {
            let report = spec::validate(s);
            if !report.is_valid() {
                return Err(PlatformError::InvalidSpec(report));
            }
        }
        self.command(|c, actor| {
            let cur = get_in(c, id)?;
            if super::rules::is_stale(&cur, expect) {
                return Err(conflict(c, &cur, expect));
            }
            if let Some(n) = patch.name.as_ref().filter(|n| **n != cur.name) {
                ensure_name_free(c, n, Some(id))?;
            }
            let (inst, env) = cur
                .apply(&patch, actor, super::now(), correlation_id)
                .map_err(super::invalid)?;
            let spec_text = super::spec_text(&inst.json_spec);
            // The check again where it cannot race: the row changes only
            // if it is still the version this command read.
            let written = c.raw_exec(
                "UPDATE instances SET name=$2, description=$3, server_spec_id=$4, json_spec=$5, updated_at=$6, version=$7, aggregate_version=$8, updated_by=$9
                  WHERE id=$1 AND deleted_at IS NULL AND version=$10 AND updated_at=$11",
                &[
                    &id.to_string(), &inst.name, &inst.description, &inst.server_spec_id,
                    &spec_text, &inst.updated_at, &(inst.version as i64),
                    &(inst.aggregate_version as i64), &inst.updated_by,
                    &(cur.version as i64), &cur.updated_at,
                ],
            )?;
            if unique(written, &inst.name)? == 0 {
                return Err(conflict(c, &get_in(c, id)?, expect));
            }
            Ok((inst, env))
        })
    }

    fn delete(&mut self, id: Uuid, correlation_id: Option<String>) -> Committed {
        self.command(|c, actor| {
            let mut inst = get_in(c, id)?;
            inst.aggregate_version += 1;
            inst.desired_state = DesiredState::Stopped;
            inst.updated_by = Some(actor.to_string());
            c.exec(
                "UPDATE instances SET deleted_at=$2, aggregate_version=$3, desired_state='stopped', updated_by=$4 WHERE id=$1",
                &[&id.to_string(), &super::now(), &(inst.aggregate_version as i64), &inst.updated_by],
            )?;
            let env = Envelope::deleted(&inst, correlation_id);
            Ok((inst, env))
        })
    }

    fn set_desired(
        &mut self,
        id: Uuid,
        desired: DesiredState,
        correlation_id: Option<String>,
    ) -> Committed {
        self.command(|c, _actor| {
            let mut inst = get_in(c, id)?;
            inst.aggregate_version += 1;
            inst.desired_state = desired;
            c.exec(
                "UPDATE instances SET desired_state=$2, aggregate_version=$3 WHERE id=$1",
                &[
                    &id.to_string(),
                    &desired.as_str(),
                    &(inst.aggregate_version as i64),
                ],
            )?;
            let env = match desired {
                DesiredState::Running => Envelope::started(&inst, correlation_id),
                DesiredState::Stopped => Envelope::stopped(&inst, correlation_id),
            };
            Ok((inst, env))
        })
    }

    fn restart(&mut self, id: Uuid, correlation_id: Option<String>) -> Committed {
        let mut out = None;
        self.group_dyn(&mut |s| {
            let both = s
                .set_desired(id, DesiredState::Stopped, correlation_id.clone())
                .and_then(|_| s.set_desired(id, DesiredState::Running, correlation_id.clone()));
            out = Some(both);
        })?;
        out.unwrap_or_else(|| Err(PlatformError::Internal("the restart ran nothing".into())))
    }

    fn record_notice(&mut self, id: Uuid, data: Value) -> Committed {
        self.command(|c, _actor| {
            let inst = get_in(c, id)?;
            let env = Envelope::notified(&inst, data);
            Ok((inst, env))
        })
    }

    fn report_status(
        &mut self,
        id: Uuid,
        report: StatusReport,
        correlation_id: Option<String>,
    ) -> Committed {
        self.command(|c, _actor| {
            let mut inst = get_in(c, id)?;
            let previous = inst.status;
            super::rules::apply_report(&mut inst, &report);
            let id_text = id.to_string();
            let (status, tools, restarts, version) = (
                inst.status.as_str(),
                inst.tool_count.map(i64::from),
                inst.restarts as i64,
                inst.aggregate_version as i64,
            );
            let set: [&(dyn ToSql + Sync); 6] = [
                &status, &inst.status_reason, &tools, &restarts, &inst.last_healthy_at, &version,
            ];
            match &report.lease {
                None => {
                    let params: Vec<&(dyn ToSql + Sync)> =
                        std::iter::once(&id_text as &(dyn ToSql + Sync)).chain(set).collect();
                    c.exec(
                        "UPDATE instances SET status=$2, status_reason=$3, tool_count=$4, restarts=$5, last_healthy_at=$6, aggregate_version=$7 WHERE id=$1",
                        &params,
                    )?;
                }
                // Written for a lease: only while it is current, checked in
                // this statement by the database's clock.
                Some(lease) => {
                    let params: Vec<&(dyn ToSql + Sync)> = [
                        &id_text as &(dyn ToSql + Sync),
                        &lease.replica,
                        &lease.generation,
                    ]
                    .into_iter()
                    .chain(set)
                    .collect();
                    let written = c.exec(&FENCED_REPORT_SQL, &params)?;
                    if written == 0 {
                        return Err(PlatformError::Fenced(format!(
                            "the status report for instance {id} was refused: replica {} no longer holds its lease at generation {}",
                            lease.replica, lease.generation
                        )));
                    }
                }
            }
            let env = match &report.error {
                Some(text) => Envelope::error(&inst, text, correlation_id),
                None => Envelope::status_changed(&inst, previous, correlation_id),
            };
            Ok((inst, env))
        })
    }

    fn group_dyn(&mut self, f: &mut dyn FnMut(&mut dyn StorePort)) -> Result<()> {
        if self.group.is_some() {
            f(self);
            return Ok(());
        }
        let client = self.client()?;
        {
            let c = Conn(&client);
            c.batch("BEGIN")?;
            if let Err(e) = c.exec("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK]) {
                let _ = c.batch("ROLLBACK");
                return Err(e);
            }
        }
        self.group = Some(client);
        f(self);
        let Some(client) = self.group.take() else {
            return Err(PlatformError::Internal(
                "the group's connection went missing".into(),
            ));
        };
        let c = Conn(&client);
        match c.batch("COMMIT") {
            Ok(()) => {
                self.snapshot_if_due();
                Ok(())
            }
            Err(e) => {
                let _ = c.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn inject_fault(&mut self, point: Option<FaultPoint>) {
        self.fault = point;
    }

    fn set_tools(&mut self, id: Uuid, tools: &[ToolRecord]) -> Result<()> {
        let client = self.client()?;
        let c = Conn(&client);
        c.batch("BEGIN")?;
        let out = (|| {
            let id = id.to_string();
            c.exec("DELETE FROM tools WHERE instance_id = $1", &[&id])?;
            let at = super::now();
            for t in tools {
                c.exec(
                    "INSERT INTO tools (instance_id, name, description, input_schema, discovered_at, annotations)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (instance_id, name) DO UPDATE SET description = EXCLUDED.description,
                       input_schema = EXCLUDED.input_schema, discovered_at = EXCLUDED.discovered_at,
                       annotations = EXCLUDED.annotations",
                    &[
                        &id,
                        &t.name,
                        &t.description,
                        &t.input_schema.to_string(),
                        &at,
                        &t.annotations.as_ref().map(Value::to_string),
                    ],
                )?;
            }
            Ok(())
        })();
        finish(&c, out)
    }

    fn tools(&self, id: Uuid) -> Result<Vec<ToolRecord>> {
        let rows = self.read(|c| {
            c.query(
                "SELECT name, description, input_schema, annotations FROM tools WHERE instance_id = $1 ORDER BY name COLLATE \"C\"",
                &[&id.to_string()],
            )
        })?;
        Ok(rows
            .into_iter()
            .map(|r| ToolRecord {
                name: r.get(0),
                description: r.get(1),
                input_schema: serde_json::from_str(r.get(2)).unwrap_or(Value::Null),
                annotations: r
                    .get::<_, Option<String>>(3)
                    .and_then(|a| serde_json::from_str(&a).ok()),
            })
            .collect())
    }

    /// Claim up to `limit` unsent rows, skipping rows another relay holds:
    /// they stay locked until [`StorePort::outbox_mark_sent`] (or the next
    /// call, which releases what was not marked).
    fn outbox_pending(&mut self, limit: usize) -> Result<Vec<(i64, Envelope)>> {
        self.release_claim();
        let client = self.client()?;
        let c = Conn(&client);
        c.batch("BEGIN")?;
        let limit = limit.min(i64::MAX as usize) as i64;
        let rows = match c.query(
            "SELECT o.seq, e.envelope FROM outbox o JOIN events e ON e.seq = o.seq
              ORDER BY o.seq LIMIT $1 FOR UPDATE OF o SKIP LOCKED",
            &[&limit],
        ) {
            Ok(rows) => rows,
            Err(e) => {
                let _ = c.batch("ROLLBACK");
                return Err(e);
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let seq: i64 = r.get(0);
            match envelope_of(r.get(1)) {
                Some(env) => out.push((seq, env)),
                None => tracing::warn!(seq, "unreadable envelope in the outbox"),
            }
        }
        if out.is_empty() {
            c.batch("COMMIT")?;
        } else {
            self.claim = Some(client);
        }
        Ok(out)
    }

    fn outbox_mark_sent(&mut self, seqs: &[i64]) -> Result<()> {
        let seqs = seqs.to_vec();
        match self.claim.take() {
            Some(client) => {
                let c = Conn(&client);
                let out = c
                    .exec("DELETE FROM outbox WHERE seq = ANY($1)", &[&seqs])
                    .map(|_| ());
                finish(&c, out)
            }
            None => self
                .read(|c| c.exec("DELETE FROM outbox WHERE seq = ANY($1)", &[&seqs]))
                .map(|_| ()),
        }
    }

    fn outbox_len(&self) -> Result<u64> {
        let row = self.read(|c| c.one("SELECT COUNT(*) FROM outbox", &[]))?;
        Ok(row.get::<_, i64>(0).max(0) as u64)
    }

    fn outbox_lag(&self) -> Result<crate::store::probe::OutboxLag> {
        let row = self.read(|c| {
            c.one(
                "SELECT COUNT(*), (SELECT e.timestamp FROM outbox o JOIN events e ON e.seq = o.seq ORDER BY o.seq LIMIT 1) FROM outbox",
                &[],
            )
        })?;
        Ok(crate::store::probe::OutboxLag {
            pending: row.get::<_, i64>(0).max(0) as u64,
            oldest: row.get::<_, Option<DateTime<Utc>>>(1),
        })
    }

    fn state_at(&mut self, at: DateTime<Utc>) -> Result<Moment> {
        if let Err(e) = StorePort::take_snapshots(self) {
            tracing::warn!(error = %e, "cannot take a snapshot of the projection");
        }
        let mut start = self.latest_snapshot(Some(at))?;
        let last = self.last_seq()?;
        self.replay(&mut start, last, Some(at), |_| {})?;
        let instances = start
            .projection
            .sorted()
            .into_iter()
            .filter(|i| !i.name.is_empty())
            .cloned()
            .collect();
        Ok(Moment {
            at,
            instances,
            seq: start.seq,
            last_event_at: start.max_ts,
            observed: None,
        })
    }

    fn take_snapshots(&mut self) -> Result<u64> {
        let mut start = self.latest_snapshot(None)?;
        let every = if self.fixed {
            self.every
        } else {
            self.every.max(
                super::snapshot::EVENTS_PER_INSTANCE.saturating_mul(start.projection.len() as u64),
            )
        };
        let last = self.last_seq()?;
        let pending: i64 = self
            .read(|c| {
                c.one(
                    "SELECT COUNT(*) FROM events WHERE seq > $1 AND seq <= $2",
                    &[&start.seq, &last],
                )
            })?
            .get(0);
        if (pending as u64) < every {
            return Ok(0);
        }
        let mut due: Vec<(i64, Option<DateTime<Utc>>, i64, String)> = Vec::new();
        let mut since = 0u64;
        let mut failed = None;
        self.replay(&mut start, last, None, |s| {
            since += 1;
            if since == every {
                since = 0;
                match serde_json::to_string(&s.projection.to_state()) {
                    Ok(state) => due.push((s.seq, s.max_ts, s.events as i64, state)),
                    Err(e) => failed = Some(e.to_string()),
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(PlatformError::Internal(e));
        }
        self.read(|c| {
            for (seq, max_ts, events, state) in &due {
                // Two replicas may take the same snapshot; it is the same.
                c.exec(
                    "INSERT INTO snapshots (seq, max_ts, events, state) VALUES ($1, $2, $3, $4) ON CONFLICT (seq) DO NOTHING",
                    &[seq, max_ts, events, state],
                )?;
            }
            Ok(())
        })?;
        Ok(due.len() as u64)
    }

    fn snapshot_count(&self) -> Result<u64> {
        let row = self.read(|c| c.one("SELECT COUNT(*) FROM snapshots", &[]))?;
        Ok(row.get::<_, i64>(0).max(0) as u64)
    }

    fn set_snapshot_every(&mut self, n: u64) {
        // Fixed, whatever the fleet's size (tests and benchmarks).
        self.every = n.max(1);
        self.fixed = true;
    }

    fn record_calls(&mut self, calls: &[NewCall], keep: Retention) -> Result<()> {
        let client = self.client()?;
        let c = Conn(&client);
        c.batch("BEGIN")?;
        let out = (|| {
            for call in calls {
                c.exec(
                    "INSERT INTO call_history (instance_id, instance_name, at, caller, kind, name, arguments, redacted, duration_ms, outcome, result_bytes, result)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    &[
                        &call.instance_id.to_string(),
                        &call.instance_name,
                        &call.at,
                        &serde_json::to_string(&call.caller).unwrap_or_default(),
                        &call.kind.as_str(),
                        &call.name,
                        &call.arguments.to_string(),
                        &call.redacted,
                        &(call.duration_ms.min(i64::MAX as u64) as i64),
                        &serde_json::to_string(&call.outcome).unwrap_or_default(),
                        &(call.result_bytes.min(i64::MAX as u64) as i64),
                        &call.result,
                    ],
                )?;
            }
            let instances: std::collections::BTreeSet<String> =
                calls.iter().map(|c| c.instance_id.to_string()).collect();
            let per = keep.keep_per_instance.min(i64::MAX as u64) as i64;
            for id in &instances {
                c.exec(
                    "DELETE FROM call_history WHERE instance_id = $1 AND seq <= (SELECT seq FROM call_history WHERE instance_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)",
                    &[id, &per],
                )?;
            }
            if keep.keep_days > 0 {
                let days = keep.keep_days.min(365 * 1000) as i64;
                let cutoff = Utc::now() - chrono::Duration::days(days);
                c.exec("DELETE FROM call_history WHERE at < $1", &[&cutoff])?;
            }
            Ok(())
        })();
        finish(&c, out)
    }

    fn history(&self, id: Uuid, limit: usize) -> Result<Vec<CallRecord>> {
        let limit = limit.min(i64::MAX as usize) as i64;
        let rows = self.read(|c| {
            c.query(
                &format!(
                    "SELECT {} FROM call_history WHERE instance_id = $1 ORDER BY seq DESC LIMIT $2",
                    rows::HISTORY_COLUMNS
                ),
                &[&id.to_string(), &limit],
            )
        })?;
        Ok(rows.iter().map(|r| record_of(r, false)).collect())
    }

    fn history_call(&self, id: Uuid, call: i64) -> Result<CallRecord> {
        let row = self.read(|c| {
            c.opt(
                &format!(
                    "SELECT {}, result FROM call_history WHERE instance_id = $1 AND seq = $2",
                    rows::HISTORY_COLUMNS
                ),
                &[&id.to_string(), &call],
            )
        })?;
        row.map(|r| record_of(&r, true)).ok_or_else(|| {
            PlatformError::NotFound(format!(
                "no call {call} in the history of this instance (retention may have pruned it)"
            ))
        })
    }
}

/// A name another live instance holds (the unique index's refusal) is a
/// conflict; other failures are the store's.
fn unique(written: std::result::Result<u64, tokio_postgres::Error>, name: &str) -> Result<u64> {
    written.map_err(|e| {
        if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
            PlatformError::Conflict(format!("an instance named '{name}' already exists"))
        } else {
            db_err(e)
        }
    })
}

/// COMMIT after `out` succeeded, else ROLLBACK; `out`'s error wins.
fn finish(c: &Conn, out: Result<()>) -> Result<()> {
    match out {
        Ok(()) => c.batch("COMMIT"),
        Err(e) => {
            let _ = c.batch("ROLLBACK");
            Err(e)
        }
    }
}

/// LISTEN on a connection of its own and wake the tail on every
/// notification, reconnecting with a capped backoff (a reconnect wakes it
/// too: what was committed meanwhile is read). Ends when the tail is gone.
async fn listen(
    connect: tls::PgConnect,
    location: String,
    notified: Arc<AtomicI64>,
    wake: std_mpsc::Sender<()>,
) {
    use futures::StreamExt;
    let mut delay = Duration::from_millis(100);
    loop {
        match connect.config.connect(connect.tls.clone()).await {
            Ok((client, mut connection)) => {
                let (tx, mut rx) = futures::channel::mpsc::unbounded();
                let at = location.clone();
                let drive = tokio::spawn(async move {
                    let mut messages =
                        futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(m) = messages.next().await {
                        match m {
                            Ok(tokio_postgres::AsyncMessage::Notification(_)) => {
                                if tx.unbounded_send(()).is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(store = %at, error = %e, "the store's notification connection failed");
                                return;
                            }
                        }
                    }
                });
                if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    tracing::warn!(store = %location, error = %e, "cannot LISTEN on the store");
                } else {
                    delay = Duration::from_millis(100);
                    // Anything committed before LISTEN took effect.
                    notified.fetch_add(1, Ordering::Relaxed);
                    if wake.send(()).is_err() {
                        drive.abort();
                        return;
                    }
                    while rx.next().await.is_some() {
                        notified.fetch_add(1, Ordering::Relaxed);
                        if wake.send(()).is_err() {
                            drive.abort();
                            return;
                        }
                    }
                }
                drive.abort();
            }
            Err(e) => {
                let error = tls::explain(&e, connect.mode);
                tracing::warn!(store = %location, %error, retry_in = ?delay, "cannot connect to the store for notifications");
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_that_is_not_postgres_is_refused_without_its_password() {
        let url = StoreUrl::new("postgres://u:hunter2@/db?port=notaport");
        let err = match PgStore::open(&url, "t") {
            Err(e) => e.to_string(),
            Ok(_) => panic!("opened"),
        };
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn the_location_names_host_port_and_database_only() {
        let c: tokio_postgres::Config = "postgres://u:hunter2@db.example:6543/aacon"
            .parse()
            .unwrap();
        assert_eq!(describe(&c), "PostgreSQL db.example:6543/aacon");
    }
}
