//! Row 13: `aacon serve` past one machine.
//!
//! 1. Throughput of the list (GET of `INSTANCES` instances) and of create
//!    (POST of a new instance) over HTTP with `CONNS` concurrent keep-alive
//!    clients, in one run: (a) one serve on SQLite, (b) one serve on
//!    PostgreSQL, (c) three serves on one PostgreSQL, the clients spread
//!    round-robin over them. Ratios against (a).
//! 2. Takeover after a kill: a replica holding its share of the leases (the
//!    `lease-replica` fixture, a `LeaseManager` in a child process) is
//!    killed with SIGKILL beside two survivors; the time from the kill to
//!    the moment its last instance's lease is held again by a survivor,
//!    read from `lease_history` by the database's clock. p50/p99 over
//!    `KILLS` kills.
//!
//! 3. Instances running again after a serve is killed: three `aacon serve`
//!    replicas on one PostgreSQL run `INSTANCES_RUN` stdio instances (the
//!    `mcp-fixture` server); one replica, in turn, is killed with SIGKILL,
//!    and the time from the kill to the last of its instances' `running`
//!    reports from a survivor is read from the event log (the replicas'
//!    clocks: one machine). A replacement replica joins before the next
//!    kill. p50/p99 over `RERUNS` kills.
//!
//! PostgreSQL is the tests' harness (`tests/support/postgres.rs`, through
//! `common::postgres`): a real server on a free loopback port, fsync on.
//! Everything (the servers, PostgreSQL, the load generator) shares the
//! same cores.

mod common;

use chrono::{DateTime, Utc};
use common::lease_replica::ChildReplica;
use common::postgres::Postgres;
use common::{Samples, Serve, ms, result, scale, seed, smoke};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CONNS: usize = 16;
/// How long any wait may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(120);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[derive(Clone, Copy)]
enum Op {
    List,
    Create,
}

/// `CONNS` clients, client `i` on `urls[i % len]`, each sending `op` in a
/// loop for `secs`: requests per second and latencies.
fn load(urls: &[String], secs: f64, op: Op) -> (f64, Samples) {
    static NAMES: AtomicU64 = AtomicU64::new(0);
    let rt = runtime();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNS)
        .build()
        .expect("client");
    let samples = Arc::new(Mutex::new(Samples::default()));
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let t = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..CONNS)
            .map(|i| {
                let client = client.clone();
                let url = format!("{}/v1/mcp-server-instances/", urls[i % urls.len()]);
                let samples = samples.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while Instant::now() < until {
                        let req = match op {
                            Op::List => client.get(&url),
                            Op::Create => {
                                let n = NAMES.fetch_add(1, Ordering::Relaxed);
                                client.post(&url).json(&serde_json::json!({
                                    "name": format!("made-{n:07}"),
                                    "json_spec": {"command": ["mcp-server"]}
                                }))
                            }
                        };
                        let t = Instant::now();
                        let r = req.send().await.expect("request");
                        let status = r.status();
                        let body = r.bytes().await.expect("body");
                        assert!(
                            status.is_success(),
                            "{url}: {status} {}",
                            String::from_utf8_lossy(&body)
                        );
                        mine.push(t.elapsed());
                    }
                    samples.lock().expect("samples").0.extend(mine);
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
    });
    let elapsed = t.elapsed().as_secs_f64();
    let s = std::mem::take(&mut *samples.lock().expect("samples"));
    (s.0.len() as f64 / elapsed, s)
}

/// List then create throughput against `serves`.
fn measure(serves: &[Serve], secs: f64) -> [(f64, Samples); 2] {
    let urls: Vec<String> = serves.iter().map(|s| s.1.clone()).collect();
    load(&urls, secs / 5.0, Op::List);
    let list = load(&urls, secs, Op::List);
    let create = load(&urls, secs, Op::Create);
    [list, create]
}

fn throughput(pg: &Postgres, n: usize, secs: f64) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("config");
    std::fs::create_dir_all(&config).expect("config dir");
    let dir = |name: &str| {
        let d = tmp.path().join(name);
        std::fs::create_dir_all(&d).expect("data dir");
        d
    };
    // (a) SQLite, one serve.
    let data = dir("sqlite");
    seed(&data, None, n);
    let serve = Serve::start(&data, &config, &[]);
    let sqlite = measure(std::slice::from_ref(&serve), secs);
    drop(serve);
    // (b) PostgreSQL, one serve.
    let url = pg.create_db("one");
    let data = dir("pg1");
    seed(&data, Some(&url), n);
    let serve = Serve::start(&data, &config, &[("AACON_STORE_URL", &url)]);
    let pg1 = measure(std::slice::from_ref(&serve), secs);
    drop(serve);
    // (c) PostgreSQL, three serves on one database.
    let url = pg.create_db("three");
    seed(&dir("seed3"), Some(&url), n);
    let serves: Vec<Serve> = (0..3)
        .map(|i| {
            let data = dir(&format!("pg3-{i}"));
            Serve::start(&data, &config, &[("AACON_STORE_URL", &url)])
        })
        .collect();
    let pg3 = measure(&serves, secs);
    drop(serves);

    for (k, name) in ["list", "create"].iter().enumerate() {
        let base = sqlite[k].0;
        let mut owned = vec![
            ("conns".to_string(), CONNS.to_string()),
            ("instances".to_string(), n.to_string()),
        ];
        for (tag, (rate, s)) in [("sqlite1", &sqlite[k]), ("pg1", &pg1[k]), ("pg3", &pg3[k])] {
            owned.push((format!("{tag}_req_per_s"), format!("{rate:.0}")));
            owned.push((format!("{tag}_median_ms"), format!("{:.3}", ms(s.median()))));
            owned.push((format!("{tag}_p99_ms"), format!("{:.3}", ms(s.p99()))));
        }
        owned.push(("pg1_ratio".into(), format!("{:.2}", pg1[k].0 / base)));
        owned.push(("pg3_ratio".into(), format!("{:.2}", pg3[k].0 / base)));
        let f: Vec<(&str, String)> = owned.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        result(13, &format!("cluster_{name}"), &f);
    }
}

/// A client on `url`, its connection driven on the runtime.
async fn connect(url: &str) -> tokio_postgres::Client {
    let (db, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    db
}

async fn until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Takeover times over `kills` kills: from the kill, and from the victim's
/// last heartbeat (its leases expire a fixed time after it), both by the
/// database's clock.
fn takeover(pg: &Postgres, instances: usize, interval: Duration, kills: usize) -> [Samples; 2] {
    let url = pg.create_db("takeover");
    let rt = runtime();
    rt.block_on(async {
        let db = connect(&url).await;
        let _survivors = [
            ChildReplica::spawn(&url, "survivor-a", interval, instances),
            ChildReplica::spawn(&url, "survivor-b", interval, instances),
        ];
        let share = instances.div_ceil(3) as i64;
        let (mut after_kill, mut after_beat) = (Samples::default(), Samples::default());
        for k in 0..kills {
            let mut victim = ChildReplica::spawn(&url, &format!("victim-{k}"), interval, instances);
            let held = async || -> i64 {
                db.query_one(
                    "select count(*) from leases where owner = $1 and expires_at > now()",
                    &[&victim.id],
                )
                .await
                .expect("count leases")
                .get(0)
            };
            until("the victim holds its share", async || held().await == share).await;
            let ids: Vec<String> = db
                .query(
                    "select instance_id from leases where owner = $1",
                    &[&victim.id],
                )
                .await
                .expect("the victim's leases")
                .iter()
                .map(|r| r.get(0))
                .collect();
            let killed_at: DateTime<Utc> = db
                .query_one("select clock_timestamp()", &[])
                .await
                .expect("now")
                .get(0);
            victim.child.kill().expect("SIGKILL the victim");
            victim.child.wait().expect("reap it");
            until("the survivors hold the victim's instances", async || {
                let n: i64 = db
                    .query_one(
                        "select count(*) from leases where instance_id = any($1) \
                         and owner <> $2 and expires_at > now()",
                        &[&ids, &victim.id],
                    )
                    .await
                    .expect("count taken over")
                    .get(0);
                n == ids.len() as i64
            })
            .await;
            let row = db
                .query_one(
                    "select max(acquired_at), (select heartbeat_at from replicas where id = $2) \
                     from lease_history where instance_id = any($1) and owner <> $2 \
                     and acquired_at > $3",
                    &[&ids, &victim.id, &killed_at],
                )
                .await
                .expect("read lease_history");
            let taken_at: DateTime<Utc> = row.get(0);
            let beat: DateTime<Utc> = row.get(1);
            let d = |a: DateTime<Utc>| (taken_at - a).to_std().unwrap_or_default();
            after_kill.0.push(d(killed_at));
            after_beat.0.push(d(beat));
        }
        [after_kill, after_beat]
    })
}

/// Instances running again after a serve replica is killed (part 3):
/// from the kill to the last of its instances' `running` reports.
fn rerun(pg: &Postgres, instances: usize, interval: Duration, kills: usize) -> Samples {
    use aacon::platform::Platform;
    use aacon::platform::api::{ApiOptions, ApiPlatform};
    let url = pg.create_db("rerun");
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("config");
    std::fs::create_dir_all(&config).expect("config dir");
    let iv = interval.as_millis().to_string();
    let start = |name: &str| {
        let data = tmp.path().join(name);
        std::fs::create_dir_all(&data).expect("data dir");
        Serve::start(
            &data,
            &config,
            &[
                ("AACON_STORE_URL", &url),
                ("AACON_LEASE_INTERVAL_MS", &iv),
                ("AACON_REPLICA_ID", name),
            ],
        )
    };
    let rt = runtime();
    rt.block_on(async {
        let db = connect(&url).await;
        let mut serves: Vec<(String, Serve)> =
            (0..3).map(|i| (format!("r{i}"), start(&format!("r{i}")))).collect();
        let api = ApiPlatform::new(ApiOptions::new(&serves[0].1.1)).expect("api client");
        let spec = serde_json::json!({"command": [env!("CARGO_BIN_EXE_mcp-fixture")]});
        for n in 0..instances {
            let new: aacon::domain::NewInstance = serde_json::from_value(
                serde_json::json!({"name": format!("std-{n:02}"), "json_spec": spec}),
            )
            .expect("a new instance");
            let made = api.create(new).await.expect("create");
            api.start(made.id).await.expect("start");
        }
        // Settled: every instance running under a live lease, each of the
        // three replicas holding its share.
        let share = instances.div_ceil(3) as i64;
        let settled = async || -> bool {
            let row = db
                .query_one(
                    "select (select count(*) from instances where status = 'running' and deleted_at is null), \
                     (select count(*) from leases where expires_at > now()), \
                     (select coalesce(max(c), 0) from (select count(*) c from leases \
                        where expires_at > now() group by owner) t)",
                    &[],
                )
                .await
                .expect("count running");
            let (running, leased, most): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
            running == instances as i64 && leased == instances as i64 && most <= share
        };
        let mut samples = Samples::default();
        for k in 0..kills {
            until("every instance running, spread", async || settled().await).await;
            let slot = k % 3;
            let victim = serves[slot].0.clone();
            let ids: Vec<String> = db
                .query(
                    "select instance_id from leases where owner like $1 and expires_at > now()",
                    &[&format!("{victim}-%")],
                )
                .await
                .expect("the victim's leases")
                .iter()
                .map(|r| r.get(0))
                .collect();
            let row = db
                .query_one(
                    "select clock_timestamp(), coalesce(max(seq), 0) from events",
                    &[],
                )
                .await
                .expect("now");
            let (killed_at, seq): (DateTime<Utc>, i64) = (row.get(0), row.get(1));
            let _ = serves[slot].1.0.kill();
            let _ = serves[slot].1.0.wait();
            // The last `running` report of each of the victim's instances,
            // once all of them have one.
            let deadline = Instant::now() + PATIENCE;
            let ran_at: DateTime<Utc> = loop {
                let row = db
                    .query_one(
                        "select count(distinct aggregate_id), max(timestamp) from events \
                         where seq > $1 and aggregate_id = any($2) \
                         and event_type = 'MCPServerInstanceStatusChanged' \
                         and envelope::jsonb -> 'data' ->> 'status' = 'running'",
                        &[&seq, &ids],
                    )
                    .await
                    .expect("read the event log");
                if row.get::<_, i64>(0) == ids.len() as i64 {
                    break row.get(1);
                }
                assert!(
                    Instant::now() < deadline,
                    "timed out waiting until the victim's instances run again"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            };
            samples
                .0
                .push((ran_at - killed_at).to_std().unwrap_or_default());
            let name = format!("{victim}k{k}");
            serves[slot] = (name.clone(), start(&name));
        }
        samples
    })
}

/// Median and p99 in milliseconds and in lease intervals of `iv` ms.
fn in_intervals(s: &Samples, iv: f64) -> Vec<(&'static str, String)> {
    let (median, p99) = (ms(s.median()), ms(s.p99()));
    vec![
        ("interval_ms", format!("{iv:.0}")),
        ("median_ms", format!("{median:.1}")),
        ("p99_ms", format!("{p99:.1}")),
        ("median_intervals", format!("{:.2}", median / iv)),
        ("p99_intervals", format!("{:.2}", p99 / iv)),
    ]
}

fn main() {
    let n = scale(1_000, 50);
    let secs = if smoke() { 0.3 } else { 10.0 };
    let pg = Postgres::start();
    throughput(&pg, n, secs);

    let interval = Duration::from_millis(
        std::env::var("AACON_BENCH_LEASE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if smoke() { 200 } else { 1000 }),
    );
    let instances = scale(30, 6);
    let kills = scale(20, 2);
    let [after_kill, after_beat] = takeover(&pg, instances, interval, kills);
    let iv = interval.as_secs_f64() * 1e3;
    let mut f = vec![
        ("kills", kills.to_string()),
        ("instances", instances.to_string()),
        ("victim_share", instances.div_ceil(3).to_string()),
    ];
    f.extend(in_intervals(&after_kill, iv));
    f.push((
        "from_last_renewal_median_ms",
        format!("{:.1}", ms(after_beat.median())),
    ));
    f.push((
        "from_last_renewal_p99_ms",
        format!("{:.1}", ms(after_beat.p99())),
    ));
    result(13, "cluster_takeover", &f);

    let kills = scale(20, 1);
    let running = rerun(&pg, instances, interval, kills);
    let mut f = vec![
        ("kills", kills.to_string()),
        ("instances", instances.to_string()),
    ];
    f.extend(in_intervals(&running, iv));
    result(13, "cluster_rerun", &f);
}
