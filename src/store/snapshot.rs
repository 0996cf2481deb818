//! Time travel in the store: periodic snapshots of the projection, and the
//! state at a moment as the nearest snapshot replayed forward.
//!
//! A snapshot is taken every [`SNAPSHOT_EVERY`] events of the log (every
//! [`EVENTS_PER_INSTANCE`] per instance in a larger fleet), by the
//! process that wrote them (after its commit, outside the command's
//! transaction) or, for a log written before snapshots existed, by the
//! first `state_at` that needs one. A snapshot records the projection after
//! the events up to its `seq` and the latest event time among them
//! (`max_ts`); the state at T starts from the latest snapshot whose `max_ts`
//! is at or before T and replays the log forward until the first event
//! after T (see `domain::replay` for why a prefix of the log).
//! Snapshots are only a shortcut: losing one changes nothing but speed.

use super::{Store, db_err, parse_ts, ts};
use crate::domain::projection::{Projection, ProjectionState};
use crate::domain::replay::Moment;
use crate::domain::{Envelope, Instance};
use crate::platform::Result;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

/// Events between two snapshots. Opening a moment replays at most this
/// many events after loading one snapshot (about 1 ms per thousand events
/// in a release build: BENCHMARKS.md row 11), and each snapshot holds every
/// instance, so fewer would cost disk, more would cost time.
pub const SNAPSHOT_EVERY: u64 = 10_000;

/// In a fleet of more than 2,500 instances a snapshot is taken every this
/// many events per instance instead, so snapshots stay a fraction of the
/// log they summarise (a snapshot of 100k instances is tens of MB).
pub const EVENTS_PER_INSTANCE: u64 = 4;

/// When this process last looked at whether a snapshot is due.
#[derive(Debug)]
pub(super) struct Cadence {
    every: u64,
    /// Set by [`Store::set_snapshot_every`]: exactly `every`, whatever the
    /// fleet's size.
    fixed: bool,
    written: u64,
}

impl Default for Cadence {
    fn default() -> Self {
        Cadence {
            every: SNAPSHOT_EVERY,
            fixed: false,
            written: 0,
        }
    }
}

impl Cadence {
    pub(super) fn wrote_one(&mut self) {
        self.written += 1;
    }

    /// Events between snapshots for a fleet of `instances`.
    fn interval(&self, instances: usize) -> u64 {
        if self.fixed {
            self.every
        } else {
            self.every
                .max(EVENTS_PER_INSTANCE.saturating_mul(instances as u64))
        }
    }
}

/// Where a replay starts: a snapshot's projection, its position, the
/// events it covers and their latest time.
pub(super) struct Start {
    pub(super) projection: Projection,
    pub(super) seq: i64,
    pub(super) events: u64,
    pub(super) max_ts: Option<DateTime<Utc>>,
}

impl Start {
    pub(super) fn empty() -> Start {
        Start {
            projection: Projection::new(),
            seq: 0,
            events: 0,
            max_ts: None,
        }
    }

    /// The start a stored snapshot gives (`state` its projection's JSON);
    /// an unreadable one (written by another version?) starts over from the
    /// beginning of the log, which is always right.
    pub(super) fn from_snapshot(
        seq: i64,
        max_ts: Option<DateTime<Utc>>,
        events: i64,
        state: &str,
    ) -> Start {
        match serde_json::from_str::<ProjectionState>(state) {
            Ok(state) => Start {
                projection: Projection::from_state(state),
                seq,
                events: events.max(0) as u64,
                max_ts,
            },
            Err(e) => {
                tracing::warn!(error = %e, seq, "unreadable snapshot; replaying from the start");
                Start::empty()
            }
        }
    }

    /// Move past the log's event `seq` committed at `at` (`envelope` its
    /// stored JSON; an unreadable one is counted and skipped).
    pub(super) fn advance(&mut self, seq: i64, at: DateTime<Utc>, envelope: &str) {
        match serde_json::from_str::<Envelope>(envelope) {
            Ok(env) => {
                self.projection.apply(&env);
            }
            Err(e) => tracing::warn!(error = %e, seq, "unreadable envelope in the event log"),
        }
        self.max_ts = Some(self.max_ts.map_or(at, |m| m.max(at)));
        self.seq = seq;
        self.events += 1;
    }
}

impl Store {
    /// Take a snapshot every `n` events (tests and benchmarks; the default
    /// is [`SNAPSHOT_EVERY`]).
    pub fn set_snapshot_every(&mut self, n: u64) {
        self.snapshots.every = n.max(1);
        self.snapshots.fixed = true;
    }

    /// How many snapshots the store holds.
    pub fn snapshot_count(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM snapshots", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(db_err)
    }

    /// After this process's commits: take the snapshots that are due. A
    /// failure is logged, not returned: the command it follows has
    /// committed, and a missing snapshot only makes time travel slower.
    pub(super) fn snapshot_if_due(&mut self) {
        if self.snapshots.written < self.snapshots.every {
            return;
        }
        self.snapshots.written = 0;
        if let Err(e) = self.take_snapshots() {
            tracing::warn!(error = %e, "cannot take a snapshot of the projection");
        }
    }

    /// Take every snapshot the log is due (one per `every` events after the
    /// latest snapshot).
    pub fn take_snapshots(&mut self) -> Result<u64> {
        let mut start = self.latest_snapshot(None)?;
        let every = self.snapshots.interval(start.projection.len());
        let last = self.last_seq()?;
        let pending: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM events WHERE seq > ?1 AND seq <= ?2",
                params![start.seq, last],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if (pending as u64) < every {
            return Ok(0);
        }
        let mut due: Vec<(i64, String, u64, String)> = Vec::new();
        let mut since = 0u64;
        self.replay(&mut start, last, None, |s| {
            since += 1;
            if since == every {
                since = 0;
                let state = serde_json::to_string(&s.projection.to_state())
                    .map_err(|e| crate::platform::PlatformError::Internal(e.to_string()))?;
                due.push((
                    s.seq,
                    s.max_ts.as_ref().map(ts).unwrap_or_default(),
                    s.events,
                    state,
                ));
            }
            Ok(())
        })?;
        let tx = self.conn.transaction().map_err(db_err)?;
        for (seq, max_ts, events, state) in &due {
            // Two processes may take the same snapshot; it is the same.
            tx.execute(
                "INSERT OR IGNORE INTO snapshots (seq, max_ts, events, state) VALUES (?1, ?2, ?3, ?4)",
                params![seq, max_ts, *events as i64, state],
            )
            .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        Ok(due.len() as u64)
    }

    /// The platform as it was at `at`: the nearest snapshot at or before
    /// it, replayed forward (taking any snapshots the log is due first).
    pub fn state_at(&mut self, at: DateTime<Utc>) -> Result<Moment> {
        if let Err(e) = self.take_snapshots() {
            tracing::warn!(error = %e, "cannot take a snapshot of the projection");
        }
        let mut start = self.latest_snapshot(Some(at))?;
        let last = self.last_seq()?;
        self.replay(&mut start, last, Some(at), |_| Ok(()))?;
        let instances: Vec<Instance> = start
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

    /// The events from `from` to `to` (both included), in log order; only
    /// those of `instance` when given.
    pub fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        instance: Option<uuid::Uuid>,
    ) -> Result<Vec<Envelope>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, envelope FROM events WHERE timestamp >= ?1 AND timestamp <= ?2
                  AND (?3 IS NULL OR aggregate_id = ?3) ORDER BY seq",
            )
            .map_err(db_err)?;
        let mut rows = stmt
            .query(params![ts(&from), ts(&to), instance.map(|u| u.to_string())])
            .map_err(db_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db_err)? {
            let seq: i64 = row.get(0).map_err(db_err)?;
            let text: String = row.get(1).map_err(db_err)?;
            match serde_json::from_str::<Envelope>(&text) {
                Ok(env) => out.push(env),
                Err(e) => tracing::warn!(error = %e, seq, "unreadable envelope in the event log"),
            }
        }
        Ok(out)
    }

    /// Make sure a snapshot holds the projection of the log up to `seq`
    /// (a recording about to drop the events before it keeps what they
    /// built); the latest time among those events, `None` when there are
    /// none.
    pub(super) fn snapshot_through(&mut self, seq: i64) -> Result<Option<DateTime<Utc>>> {
        let mut start = self.latest_snapshot_where(None, Some(seq))?;
        if start.seq < seq {
            self.replay(&mut start, seq, None, |_| Ok(()))?;
            let state = serde_json::to_string(&start.projection.to_state())
                .map_err(|e| crate::platform::PlatformError::Internal(e.to_string()))?;
            self.conn
                .execute(
                    "INSERT OR REPLACE INTO snapshots (seq, max_ts, events, state) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        start.seq,
                        start.max_ts.as_ref().map(ts).unwrap_or_default(),
                        start.events as i64,
                        state
                    ],
                )
                .map_err(db_err)?;
        }
        Ok(start.max_ts)
    }

    /// The latest snapshot (whose events are all at or before `at`, if
    /// given); an empty start when there is none.
    fn latest_snapshot(&self, at: Option<DateTime<Utc>>) -> Result<Start> {
        self.latest_snapshot_where(at, None)
    }

    /// The latest snapshot at or before `at` and at or before log position
    /// `upto`, each when given.
    fn latest_snapshot_where(&self, at: Option<DateTime<Utc>>, upto: Option<i64>) -> Result<Start> {
        let row: Option<(i64, String, i64, String)> = self
            .conn
            .query_row(
                "SELECT seq, max_ts, events, state FROM snapshots
                  WHERE (?1 IS NULL OR max_ts <= ?1) AND (?2 IS NULL OR seq <= ?2)
                  ORDER BY seq DESC LIMIT 1",
                params![at.as_ref().map(ts), upto],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(db_err)?;
        Ok(match row {
            Some((seq, max_ts, events, state)) => {
                Start::from_snapshot(seq, Some(parse_ts(&max_ts)), events, &state)
            }
            None => Start::empty(),
        })
    }

    /// Apply the log's events after `start.seq` up to `last` to `start`,
    /// stopping before the first event later than `until`; `each` sees
    /// the start after every event.
    fn replay(
        &self,
        start: &mut Start,
        last: i64,
        until: Option<DateTime<Utc>>,
        mut each: impl FnMut(&Start) -> Result<()>,
    ) -> Result<()> {
        let until = until.as_ref().map(ts);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, timestamp, envelope FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq",
            )
            .map_err(db_err)?;
        let mut rows = stmt.query(params![start.seq, last]).map_err(db_err)?;
        while let Some(row) = rows.next().map_err(db_err)? {
            let seq: i64 = row.get(0).map_err(db_err)?;
            let at: String = row.get(1).map_err(db_err)?;
            // The store writes every timestamp in one fixed form (UTC,
            // microseconds), so text order is time order.
            if until.as_ref().is_some_and(|u| at.as_str() > u.as_str()) {
                break;
            }
            let text: String = row.get(2).map_err(db_err)?;
            start.advance(seq, parse_ts(&at), &text);
            each(start)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DesiredState, Status};
    use chrono::Duration;
    use proptest::prelude::*;
    use serde_json::json;
    use uuid::Uuid;

    /// A random log: `steps` pick an instance and what happens to it; each
    /// event's time moves forward by its `gap` seconds, or back a little
    /// when the gap is negative (a clock stepped back, a late commit).
    fn log(steps: &[(u8, u8, i8)]) -> Vec<Envelope> {
        let base = DateTime::parse_from_rfc3339("2026-12-06T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut insts: Vec<Option<Instance>> = vec![None; 4];
        let mut clock = base;
        let mut out = Vec::new();
        for (n, (who, what, gap)) in steps.iter().enumerate() {
            clock += Duration::seconds(*gap as i64);
            let slot = (*who as usize) % insts.len();
            let env = match &mut insts[slot] {
                None => {
                    let i = Instance {
                        id: Uuid::new_v4(),
                        name: format!("i{slot}-{n}"),
                        description: None,
                        server_spec_id: None,
                        json_spec: json!({"command": ["x"]}).as_object().unwrap().clone(),
                        status: Status::Pending,
                        status_reason: None,
                        desired_state: DesiredState::Stopped,
                        created_at: clock,
                        updated_at: clock,
                        version: 1,
                        aggregate_version: 1,
                        updated_by: None,
                        last_healthy_at: None,
                        tool_count: None,
                        restarts: 0,
                    };
                    let e = Envelope::created(&i, None);
                    insts[slot] = Some(i);
                    e
                }
                Some(cur) => {
                    cur.aggregate_version += 1;
                    match what % 6 {
                        0 => {
                            cur.version += 1;
                            cur.description = Some(format!("d{n}"));
                            Envelope::updated(cur, &["description"], None)
                        }
                        1 => {
                            cur.desired_state = DesiredState::Running;
                            Envelope::started(cur, None)
                        }
                        2 => {
                            cur.desired_state = DesiredState::Stopped;
                            Envelope::stopped(cur, None)
                        }
                        3 => {
                            let prev = cur.status;
                            cur.status = Status::ALL[n % Status::ALL.len()];
                            cur.restarts = n as u32;
                            Envelope::status_changed(cur, prev, None)
                        }
                        4 => {
                            cur.status = Status::Error;
                            Envelope::error(cur, &format!("e{n}"), None)
                        }
                        _ => {
                            let e = Envelope::deleted(cur, None);
                            insts[slot] = None;
                            e
                        }
                    }
                }
            };
            let mut env = env;
            env.timestamp = clock;
            out.push(env);
        }
        out
    }

    fn store_with(events: &[Envelope], every: u64) -> Store {
        let mut s = Store::open_in_memory("test").unwrap();
        s.set_snapshot_every(every);
        let tx = s.conn.transaction().unwrap();
        for e in events {
            super::super::append_event(&tx, e).unwrap();
        }
        tx.commit().unwrap();
        s
    }

    /// The reference: every event of the log's longest prefix at or before
    /// `at`, applied to an empty projection.
    fn full_replay(events: &[Envelope], at: DateTime<Utc>) -> Vec<Instance> {
        let mut p = Projection::new();
        for e in events.iter().take_while(|e| e.timestamp <= at) {
            p.apply(e);
        }
        p.sorted()
            .into_iter()
            .filter(|i| !i.name.is_empty())
            .cloned()
            .collect()
    }

    #[test]
    fn a_large_fleet_takes_snapshots_less_often() {
        let c = Cadence::default();
        assert_eq!(c.interval(100), SNAPSHOT_EVERY);
        assert_eq!(c.interval(2_500), SNAPSHOT_EVERY);
        assert_eq!(c.interval(100_000), 400_000);
        let mut s = Store::open_in_memory("test").unwrap();
        s.set_snapshot_every(3);
        assert_eq!(s.snapshots.interval(100_000), 3);
    }

    #[test]
    fn snapshots_are_taken_every_n_events_after_commits() {
        let mut s = Store::open_in_memory("test").unwrap();
        s.set_snapshot_every(4);
        let spec = json!({"command": ["x"]});
        let new = |name: &str| crate::domain::NewInstance {
            name: name.into(),
            description: None,
            server_spec_id: None,
            json_spec: spec.clone(),
        };
        let (a, _) = s.create(new("a"), None).unwrap();
        s.set_desired(a.id, DesiredState::Running, None).unwrap();
        s.set_desired(a.id, DesiredState::Stopped, None).unwrap();
        assert_eq!(s.snapshot_count().unwrap(), 0);
        s.set_desired(a.id, DesiredState::Running, None).unwrap();
        assert_eq!(s.snapshot_count().unwrap(), 1);
        s.group(|s| {
            for n in 0..9 {
                s.create(new(&format!("b{n}")), None).unwrap();
            }
        })
        .unwrap();
        assert_eq!(s.snapshot_count().unwrap(), 3);
        // Now equals the store's own instance table (times aside: the
        // projection takes them from the events, microseconds later).
        let key = |i: &Instance| {
            (
                i.id,
                i.name.clone(),
                i.status,
                i.desired_state,
                i.version,
                i.aggregate_version,
            )
        };
        let now = s.state_at(Utc::now()).unwrap();
        let listed = s.list().unwrap();
        assert_eq!(
            now.instances.iter().map(key).collect::<Vec<_>>(),
            listed.iter().map(key).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_moment_before_the_log_is_empty_and_an_unreadable_snapshot_is_skipped() {
        let events = log(&[(0, 0, 1), (1, 0, 1), (0, 1, 1), (0, 3, 1)]);
        let mut s = store_with(&events, 2);
        let before = s
            .state_at(events[0].timestamp - Duration::seconds(1))
            .unwrap();
        assert!(before.instances.is_empty());
        assert_eq!(before.seq, 0);
        s.conn
            .execute("UPDATE snapshots SET state = 'not json'", [])
            .unwrap();
        let at = events[3].timestamp;
        assert_eq!(s.state_at(at).unwrap().instances, full_replay(&events, at));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn snapshots_and_replay_equal_a_full_replay(
            steps in proptest::collection::vec((any::<u8>(), any::<u8>(), -3i8..20), 0..80),
            every in 1u64..12,
            moments in proptest::collection::vec(-5i64..1700, 1..6),
        ) {
            let events = log(&steps);
            let mut s = store_with(&events, every);
            let base = DateTime::parse_from_rfc3339("2026-12-06T03:00:00Z").unwrap().with_timezone(&Utc);
            for m in moments {
                let at = base + Duration::seconds(m);
                let got = s.state_at(at).unwrap();
                prop_assert_eq!(&got.instances, &full_replay(&events, at));
                prop_assert_eq!(got.at, at);
            }
            prop_assert_eq!(s.snapshot_count().unwrap(), events.len() as u64 / every);
        }
    }
}
