//! Row 11: open an arbitrary moment of a long event log (`Store::state_at`:
//! the nearest snapshot, replayed forward), at 100k and 1M events, beside a
//! full replay of the log up to the same moment.
//!
//! The log is written through the store's commands (100 instances; starts,
//! stops and status reports), 1,000 commands per group commit, so the
//! snapshots are the ones the write path takes. Then a fresh connection
//! (as a CLI or a console opens it) opens 30 moments at random events.

mod common;

use aacon::domain::projection::Projection;
use aacon::domain::{DesiredState, NewInstance, Status};
use aacon::platform::EventQuery;
use aacon::store::{StatusReport, Store};
use common::{Samples, lat, result, smoke};
use serde_json::json;
use std::time::Instant;

const INSTANCES: usize = 100;

fn sizes() -> Vec<usize> {
    if smoke() {
        return vec![3_000];
    }
    match std::env::var("AACON_BENCH_SIZES") {
        Ok(v) => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) => vec![100_000, 1_000_000],
    }
}

/// A small deterministic generator (no dependency for one bench).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

fn build(path: &std::path::Path, events: usize) -> std::time::Duration {
    let t = Instant::now();
    let mut store = Store::open(path, "bench").expect("open");
    if smoke() {
        store.set_snapshot_every(500);
    }
    let ids: Vec<_> = (0..INSTANCES)
        .map(|i| {
            store
                .create(
                    NewInstance {
                        name: format!("inst-{i:03}"),
                        description: Some(format!("benchmark instance {i}")),
                        server_spec_id: None,
                        json_spec: json!({"command": ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/srv"]}),
                    },
                    None,
                )
                .expect("create")
                .0
                .id
        })
        .collect();
    let mut rng = Lcg(7);
    let mut written = INSTANCES;
    while written < events {
        let batch = (events - written).min(1_000);
        store
            .group(|s| {
                for n in 0..batch {
                    let id = ids[rng.below(ids.len())];
                    let _ = match (written + n) % 3 {
                        0 => s.set_desired(id, DesiredState::Running, None),
                        1 => s.report_status(
                            id,
                            StatusReport {
                                status: Some(Status::Running),
                                restarts: Some(((written + n) % 7) as u32),
                                healthy_now: true,
                                ..Default::default()
                            },
                            None,
                        ),
                        _ => s.set_desired(id, DesiredState::Stopped, None),
                    };
                }
            })
            .expect("group");
        written += batch;
    }
    t.elapsed()
}

fn run(n: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("aacon.db");
    let built = build(&path, n);
    let mut store = Store::open(&path, "bench").expect("reopen");
    let last = store.last_seq().expect("last seq");
    let snapshots = store.snapshot_count().expect("snapshots");
    let mut rng = Lcg(11);
    let rounds = if smoke() { 5 } else { 30 };
    let mut moments = Vec::new();
    for _ in 0..rounds {
        let seq = 1 + rng.below(last as usize) as i64;
        let (_, env) = store
            .events_after(seq - 1, 1)
            .expect("event")
            .into_iter()
            .next()
            .expect("an event at seq");
        moments.push(env.timestamp);
    }
    let mut open = Samples::default();
    let mut shown = 0;
    for at in &moments {
        let m = open.time(|| store.state_at(*at)).expect("state_at");
        shown += m.instances.len();
    }
    assert_eq!(
        shown,
        rounds * INSTANCES,
        "every moment shows the instances"
    );
    // Reference: the whole log read and replayed up to the moment.
    let mut full = Samples::default();
    for at in moments.iter().take(if smoke() { 1 } else { 3 }) {
        full.time(|| {
            let mut p = Projection::new();
            for e in store.events(&EventQuery::default()).expect("events") {
                if e.timestamp > *at {
                    break;
                }
                p.apply(&e);
            }
            p.len()
        });
    }
    let mut f = lat(&open);
    f.extend([
        ("events", n.to_string()),
        ("snapshots", snapshots.to_string()),
        (
            "full_replay_median_ms",
            format!("{:.1}", common::ms(full.median())),
        ),
        ("build_s", format!("{:.1}", built.as_secs_f64())),
    ]);
    result(11, "state_at", &f);
}

fn main() {
    for n in sizes() {
        run(n);
    }
}
