//! Row 7: store commands (create / update, each with its event and outbox
//! row, durable: WAL + synchronous=FULL on a real file), beside raw SQLite
//! inserts of the same rows through one prepared statement on one connection
//! with the same pragmas.
//!
//! Measured three ways: the `Store` called sequentially (one transaction and
//! one fsync per command); the embedded platform with one caller awaiting
//! each command in turn (a CLI, the console); and the embedded platform with
//! many concurrent callers (`aacon serve`'s requests, the runtime's status
//! reports), where group commit lets queued commands share one transaction.
//!
//! `AACON_BENCH_STORE=many,raw` runs only those parts (`store`: the `Store`
//! directly, `one`: one caller, `many`: 64 callers, `raw`: the raw inserts,
//! `criterion`), e.g. to profile one of them.

mod common;

use aacon::domain::{InstancePatch, NewInstance};
use aacon::store::Store;
use common::{Samples, lat, result, scale, smoke};
use criterion::Criterion;
use rusqlite::{Connection, params};
use serde_json::json;
use std::time::Instant;

fn new_instance(i: usize) -> NewInstance {
    NewInstance {
        name: format!("bench-{i:07}"),
        description: Some(format!("benchmark instance {i}")),
        server_spec_id: None,
        json_spec: json!({"command": ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/srv"], "env_vars": {"LOG": "info"}}),
    }
}

fn ours(n: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("aacon.db"), "bench").expect("open");
    let mut create = Samples::default();
    let t = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let (inst, _) = create
            .time(|| store.create(new_instance(i), None))
            .expect("create");
        ids.push(inst.id);
    }
    let create_rate = n as f64 / t.elapsed().as_secs_f64();
    let mut update = Samples::default();
    let t = Instant::now();
    for (i, id) in ids.iter().enumerate() {
        let patch = InstancePatch {
            description: Some(Some(format!("updated {i}"))),
            ..Default::default()
        };
        update
            .time(|| store.update(*id, patch, None, None))
            .expect("update");
    }
    let update_rate = n as f64 / t.elapsed().as_secs_f64();
    let mut f = lat(&create);
    f.push(("per_s", format!("{create_rate:.0}")));
    result(7, "store_create", &f);
    let mut f = lat(&update);
    f.push(("per_s", format!("{update_rate:.0}")));
    result(7, "store_update", &f);
}

/// Raw inserts of the same rows: one prepared statement, autocommit (one
/// durable transaction per row, like each command), same pragmas.
fn reference(n: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = Connection::open(dir.path().join("raw.db")).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE instances (id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT,
           json_spec TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL);",
    )
    .expect("schema");
    let mut stmt = conn
        .prepare("INSERT INTO instances VALUES (?1, ?2, ?3, ?4, 'pending', ?5)")
        .expect("prepare");
    let rows: Vec<_> = (0..n)
        .map(|i| {
            let ni = new_instance(i);
            (
                uuid::Uuid::new_v4().to_string(),
                ni.name,
                ni.description,
                ni.json_spec.to_string(),
                chrono::Utc::now().to_rfc3339(),
            )
        })
        .collect();
    let mut s = Samples::default();
    let t = Instant::now();
    for r in &rows {
        s.time(|| stmt.execute(params![r.0, r.1, r.2, r.3, r.4]))
            .expect("insert");
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let mut f = lat(&s);
    f.push(("per_s", format!("{rate:.0}")));
    result(7, "raw_sqlite_insert", &f);
}

/// Through the embedded platform (what serve, the console and the CLI
/// call): `callers` tasks, each issuing its share of creates and then of
/// updates one after another, awaiting each reply (each reply means
/// durable).
fn platform(n: usize, callers: usize) {
    use aacon::paths::DataDir;
    use aacon::platform::Platform;
    use aacon::platform::embedded::{EmbeddedOptions, Role};
    use std::sync::{Arc, Mutex};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let p = Arc::new(
        aacon::host::open_embedded(
            DataDir::new(dir.path()),
            EmbeddedOptions {
                role: Role::Serve,
                host_runtime: false,
            },
        )
        .expect("open"),
    );
    let per = n / callers;
    let n = per * callers;
    let samples = Arc::new(Mutex::new(Samples::default()));
    let t = Instant::now();
    let ids: Vec<uuid::Uuid> = rt.block_on(async {
        let tasks: Vec<_> = (0..callers)
            .map(|c| {
                let p = p.clone();
                let samples = samples.clone();
                tokio::spawn(async move {
                    let mut ids = Vec::with_capacity(per);
                    for i in 0..per {
                        let t = Instant::now();
                        let inst = p.create(new_instance(c * per + i)).await.expect("create");
                        samples.lock().expect("samples").0.push(t.elapsed());
                        ids.push(inst.id);
                    }
                    ids
                })
            })
            .collect();
        let mut all = Vec::with_capacity(n);
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        all
    });
    let create_rate = n as f64 / t.elapsed().as_secs_f64();
    let create = std::mem::take(&mut *samples.lock().expect("samples"));
    let t = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = ids
            .chunks(per)
            .map(|chunk| {
                let p = p.clone();
                let samples = samples.clone();
                let chunk = chunk.to_vec();
                tokio::spawn(async move {
                    for (i, id) in chunk.into_iter().enumerate() {
                        let patch = InstancePatch {
                            description: Some(Some(format!("updated {i}"))),
                            ..Default::default()
                        };
                        let t = Instant::now();
                        p.update(id, patch, None).await.expect("update");
                        samples.lock().expect("samples").0.push(t.elapsed());
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
    });
    let update_rate = n as f64 / t.elapsed().as_secs_f64();
    let update = std::mem::take(&mut *samples.lock().expect("samples"));
    let name = format!("platform_{callers}_callers");
    let mut f = lat(&create);
    f.push(("per_s", format!("{create_rate:.0}")));
    result(7, &format!("{name}_create"), &f);
    let mut f = lat(&update);
    f.push(("per_s", format!("{update_rate:.0}")));
    result(7, &format!("{name}_update"), &f);
}

/// Whether `AACON_BENCH_STORE` (a comma-separated list; unset: all)
/// names `part`.
fn part(part: &str) -> bool {
    std::env::var("AACON_BENCH_STORE")
        .ok()
        .is_none_or(|v| v.split(',').any(|p| p.trim() == part))
}

fn main() {
    let n = scale(20_000, 200);
    if part("store") {
        ours(n);
    }
    if part("one") {
        platform(scale(5_000, 100), 1);
    }
    if part("many") {
        platform(n, 64);
    }
    if part("raw") {
        reference(n);
    }
    if !smoke() && part("criterion") {
        // Criterion's own estimate of one durable create.
        let mut c = Criterion::default().configure_from_args().sample_size(20);
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("c.db"), "bench").expect("open");
        let mut i = 0usize;
        c.bench_function("store/create_durable", |b| {
            b.iter(|| {
                i += 1;
                store.create(new_instance(i), None).expect("create")
            })
        });
        c.final_summary();
    }
}
