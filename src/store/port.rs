//! The store port: what the embedded platform, the runtime host, the
//! outbox relay and doctor need of a store, as one object-safe trait.
//! Two adapters implement it: SQLite ([`super::Store`], a file in the data
//! dir, the default) and PostgreSQL ([`super::pg::PgStore`], selected by
//! `store.url = "postgres://…"`, shared by several replicas).
//!
//! The trait is synchronous: the SQLite store is, and callers already run
//! it under a mutex on blocking threads. The PostgreSQL adapter blocks on
//! its own small runtime (see `pg/mod.rs`), so no caller changes.

use super::{FaultPoint, Store, ToolRecord};
use crate::domain::replay::Moment;
use crate::domain::{DesiredState, Envelope, Instance, InstancePatch, NewInstance, Precondition};
use crate::paths::DataDir;
use crate::platform::history::{CallRecord, NewCall, Retention};
use crate::platform::{EventQuery, PlatformError, Result, StatusReport};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::mpsc as std_mpsc;
use uuid::Uuid;

/// A store behind the port, as the platform holds it.
pub type BoxedStore = Box<dyn StorePort>;

/// What a command commits: the instance after it and its event.
pub type Committed = Result<(Instance, Envelope)>;

/// Instances, their append-only event log and outbox, discovered tools,
/// snapshots for time travel and the call history. Every command writes
/// the state change, its event and its outbox row in one transaction.
pub trait StorePort: Send {
    /// Who this process is in conflict messages ("cli@host pid 12").
    fn actor(&self) -> &str;
    /// Where the store is, fit for the screen (never a password).
    fn location(&self) -> String;
    fn schema_version(&self) -> Result<u32>;
    /// `"ok"`, or what is wrong.
    fn integrity_check(&self) -> Result<String>;

    // ---- queries
    /// Live instances, by name.
    fn list(&self) -> Result<Vec<Instance>>;
    /// A live instance by id or by name.
    fn get(&self, key: &str) -> Result<Instance>;
    /// Events in log order; with a limit, the newest that many.
    fn events(&self, q: &EventQuery) -> Result<Vec<Envelope>>;
    /// Events from `from` to `to` (both included), in log order.
    fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        instance: Option<Uuid>,
    ) -> Result<Vec<Envelope>>;
    /// Per instance, the correlation id of its latest command that asks
    /// for a state.
    fn last_command_correlations(&self) -> Result<HashMap<Uuid, String>>;

    // ---- the event tail
    /// Events with a sequence number above `after`, oldest first.
    fn events_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, Envelope)>>;
    /// [`StorePort::events_after`] as the stored JSON text, for a reader
    /// that decodes it its own way (the tail's compact status reports).
    fn events_after_text(&self, after: i64, limit: usize) -> Result<Vec<(i64, String)>>;
    fn last_seq(&self) -> Result<i64>;
    /// A number that changes when another connection commits (cheap to poll).
    fn data_version(&self) -> Result<i64>;
    /// Send on `wake` whenever anyone commits events, so a tail reads at
    /// once instead of polling, until the returned guard is dropped.
    /// `None`: this store cannot (the tail polls [`StorePort::data_version`]).
    fn watch(&self, wake: std_mpsc::Sender<()>) -> Option<Watching>;

    // ---- commands
    fn create(&mut self, new: NewInstance, correlation_id: Option<String>) -> Committed;
    fn update(
        &mut self,
        id: Uuid,
        patch: InstancePatch,
        expect: Option<Precondition>,
        correlation_id: Option<String>,
    ) -> Committed;
    /// Soft delete: the row and its events stay.
    fn delete(&mut self, id: Uuid, correlation_id: Option<String>) -> Committed;
    fn set_desired(
        &mut self,
        id: Uuid,
        desired: DesiredState,
        correlation_id: Option<String>,
    ) -> Committed;
    /// A stop and a start in one transaction under one correlation id.
    fn restart(&mut self, id: Uuid, correlation_id: Option<String>) -> Committed;
    fn record_notice(&mut self, id: Uuid, data: Value) -> Committed;
    fn report_status(
        &mut self,
        id: Uuid,
        report: StatusReport,
        correlation_id: Option<String>,
    ) -> Committed;
    /// A session came up: its tools replace the stored ones and its status
    /// is recorded, in one commit (the default: two steps, for a store
    /// whose `set_tools` joins the surrounding transaction anyway).
    fn report_up(
        &mut self,
        id: Uuid,
        tools: &[ToolRecord],
        report: StatusReport,
        correlation_id: Option<String>,
    ) -> Committed {
        self.set_tools(id, tools)?;
        self.report_status(id, report, correlation_id)
    }
    /// Group commit: the commands `f` issues share one transaction, each in
    /// its own SAVEPOINT (see [`Store::group`]). Use
    /// `<dyn StorePort>::group` for a typed result.
    fn group_dyn(&mut self, f: &mut dyn FnMut(&mut dyn StorePort)) -> Result<()>;
    /// Tests only: fail the next command at `point`.
    fn inject_fault(&mut self, point: Option<FaultPoint>);

    // ---- tools
    fn set_tools(&mut self, id: Uuid, tools: &[ToolRecord]) -> Result<()>;
    fn tools(&self, id: Uuid) -> Result<Vec<ToolRecord>>;

    // ---- outbox
    /// Unsent events, oldest first, up to `limit`. On a store shared by
    /// several relays the rows returned are this caller's until it marks
    /// them sent or asks again.
    fn outbox_pending(&mut self, limit: usize) -> Result<Vec<(i64, Envelope)>>;
    fn outbox_mark_sent(&mut self, seqs: &[i64]) -> Result<()>;
    fn outbox_len(&self) -> Result<u64>;
    /// How many events wait in the outbox and since when (serve's
    /// readiness and metrics).
    fn outbox_lag(&self) -> Result<super::probe::OutboxLag>;

    // ---- time travel
    fn state_at(&mut self, at: DateTime<Utc>) -> Result<Moment>;
    fn take_snapshots(&mut self) -> Result<u64>;
    fn snapshot_count(&self) -> Result<u64>;
    fn set_snapshot_every(&mut self, n: u64);

    // ---- the call history
    fn record_calls(&mut self, calls: &[NewCall], keep: Retention) -> Result<()>;
    fn history(&self, id: Uuid, limit: usize) -> Result<Vec<CallRecord>>;
    fn history_call(&self, id: Uuid, call: i64) -> Result<CallRecord>;
}

/// A store watching for commits ([`StorePort::watch`]); dropping it stops
/// the watch (and lets go of the wake sender).
pub struct Watching(Option<Box<dyn FnOnce() + Send + Sync>>);

impl Watching {
    pub fn new(stop: impl FnOnce() + Send + Sync + 'static) -> Watching {
        Watching(Some(Box::new(stop)))
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Some(stop) = self.0.take() {
            stop();
        }
    }
}

impl dyn StorePort + '_ {
    /// [`StorePort::group_dyn`] returning what `f` returns. Nothing `f` did
    /// is durable until this returns `Ok`.
    pub fn group<T>(&mut self, f: impl FnOnce(&mut dyn StorePort) -> T) -> Result<T> {
        let mut f = Some(f);
        let mut out = None;
        self.group_dyn(&mut |s| {
            if let Some(f) = f.take() {
                out = Some(f(s));
            }
        })?;
        out.ok_or_else(|| PlatformError::Internal("a group commit ran nothing".into()))
    }
}

/// Open the store of `dir`: PostgreSQL when the data dir names a
/// `postgres://` URL, else SQLite in the data dir.
pub fn open(dir: &DataDir, actor: &str) -> Result<BoxedStore> {
    match dir.store_url() {
        Some(url) => Ok(Box::new(super::pg::PgStore::open(url, actor)?)),
        None => Ok(Box::new(Store::open(&dir.store(), actor)?)),
    }
}

/// The store the call history is written through (on SQLite a connection
/// that need not wait for the disk, see [`Store::for_history`]).
pub fn open_for_history(dir: &DataDir, actor: &str) -> Result<BoxedStore> {
    match dir.store_url() {
        Some(url) => Ok(Box::new(super::pg::PgStore::open(
            url,
            &format!("{actor} (history)"),
        )?)),
        None => Ok(Box::new(
            Store::open(&dir.store(), actor).and_then(Store::for_history)?,
        )),
    }
}

/// Whether the data dir's store exists already (a SQLite file is only
/// made by someone who writes; a PostgreSQL URL always names one).
pub fn exists(dir: &DataDir) -> bool {
    dir.store_url().is_some() || dir.store().exists()
}

impl StorePort for Store {
    fn actor(&self) -> &str {
        Store::actor(self)
    }
    fn location(&self) -> String {
        "SQLite".into()
    }
    fn schema_version(&self) -> Result<u32> {
        Store::schema_version(self)
    }
    fn integrity_check(&self) -> Result<String> {
        Store::integrity_check(self)
    }
    fn list(&self) -> Result<Vec<Instance>> {
        Store::list(self)
    }
    fn get(&self, key: &str) -> Result<Instance> {
        Store::get(self, key)
    }
    fn events(&self, q: &EventQuery) -> Result<Vec<Envelope>> {
        Store::events(self, q)
    }
    fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        instance: Option<Uuid>,
    ) -> Result<Vec<Envelope>> {
        Store::events_between(self, from, to, instance)
    }
    fn last_command_correlations(&self) -> Result<HashMap<Uuid, String>> {
        Store::last_command_correlations(self)
    }
    fn events_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, Envelope)>> {
        Store::events_after(self, after, limit)
    }
    fn events_after_text(&self, after: i64, limit: usize) -> Result<Vec<(i64, String)>> {
        Store::events_after_text(self, after, limit)
    }
    fn last_seq(&self) -> Result<i64> {
        Store::last_seq(self)
    }
    fn data_version(&self) -> Result<i64> {
        Store::data_version(self)
    }
    fn watch(&self, _wake: std_mpsc::Sender<()>) -> Option<Watching> {
        None
    }
    fn create(&mut self, new: NewInstance, correlation_id: Option<String>) -> Committed {
        Store::create(self, new, correlation_id)
    }
    fn update(
        &mut self,
        id: Uuid,
        patch: InstancePatch,
        expect: Option<Precondition>,
        correlation_id: Option<String>,
    ) -> Committed {
        Store::update(self, id, patch, expect, correlation_id)
    }
    fn delete(&mut self, id: Uuid, correlation_id: Option<String>) -> Committed {
        Store::delete(self, id, correlation_id)
    }
    fn set_desired(
        &mut self,
        id: Uuid,
        desired: DesiredState,
        correlation_id: Option<String>,
    ) -> Committed {
        Store::set_desired(self, id, desired, correlation_id)
    }
    fn restart(&mut self, id: Uuid, correlation_id: Option<String>) -> Committed {
        Store::restart(self, id, correlation_id)
    }
    fn record_notice(&mut self, id: Uuid, data: Value) -> Committed {
        Store::record_notice(self, id, data)
    }
    fn report_up(
        &mut self,
        id: Uuid,
        tools: &[ToolRecord],
        report: StatusReport,
        correlation_id: Option<String>,
    ) -> Committed {
        Store::report_up(self, id, tools, report, correlation_id)
    }
    fn report_status(
        &mut self,
        id: Uuid,
        report: StatusReport,
        correlation_id: Option<String>,
    ) -> Committed {
        Store::report_status(self, id, report, correlation_id)
    }
    fn group_dyn(&mut self, f: &mut dyn FnMut(&mut dyn StorePort)) -> Result<()> {
        Store::group(self, |s| f(s))
    }
    fn inject_fault(&mut self, point: Option<FaultPoint>) {
        Store::inject_fault(self, point)
    }
    fn set_tools(&mut self, id: Uuid, tools: &[ToolRecord]) -> Result<()> {
        Store::set_tools(self, id, tools)
    }
    fn tools(&self, id: Uuid) -> Result<Vec<ToolRecord>> {
        Store::tools(self, id)
    }
    fn outbox_pending(&mut self, limit: usize) -> Result<Vec<(i64, Envelope)>> {
        Store::outbox_pending(self, limit)
    }
    fn outbox_mark_sent(&mut self, seqs: &[i64]) -> Result<()> {
        Store::outbox_mark_sent(self, seqs)
    }
    fn outbox_len(&self) -> Result<u64> {
        Store::outbox_len(self)
    }
    fn outbox_lag(&self) -> Result<super::probe::OutboxLag> {
        Store::outbox_lag(self)
    }
    fn state_at(&mut self, at: DateTime<Utc>) -> Result<Moment> {
        Store::state_at(self, at)
    }
    fn take_snapshots(&mut self) -> Result<u64> {
        Store::take_snapshots(self)
    }
    fn snapshot_count(&self) -> Result<u64> {
        Store::snapshot_count(self)
    }
    fn set_snapshot_every(&mut self, n: u64) {
        Store::set_snapshot_every(self, n)
    }
    fn record_calls(&mut self, calls: &[NewCall], keep: Retention) -> Result<()> {
        Store::record_calls(self, calls, keep)
    }
    fn history(&self, id: Uuid, limit: usize) -> Result<Vec<CallRecord>> {
        Store::history(self, id, limit)
    }
    fn history_call(&self, id: Uuid, call: i64) -> Result<CallRecord> {
        Store::history_call(self, id, call)
    }
}
