//! Three real `aacon serve` replicas on one PostgreSQL and one redis-server
//! share 60 external (Streamable HTTP) instances by lease: all reach
//! running, spread within twice the fair share; a replica killed with
//! SIGKILL has its instances running again on the survivors (and one
//! stopped before anyone took it over is reported stopped); the lease
//! history never shows two owners at once; every event reaches the Redis
//! stream exactly once; a console-side API client attached to one replica
//! sees the status changes of instances the others host; a replica stopped
//! with SIGTERM hands its leases back at once.

use crate::support::RedisServer;
use crate::support::everything;
use crate::support::postgres::Postgres;
use crate::support::serve::Serve;
use aacon::domain::{NewInstance, Status};
use aacon::platform::api::{ApiOptions, ApiPlatform};
use aacon::platform::{Platform, PlatformEvent};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

const INSTANCES: usize = 60;
/// Short, yet long enough that a debug build on a loaded machine renews
/// in time (renewed every half interval, a lease is declared lost 1.5
/// intervals after its renewal).
const INTERVAL_MS: u64 = 1000;

fn client(url: &str, redis: Option<&str>) -> ApiPlatform {
    let mut o = ApiOptions::new(url);
    o.timeout = Duration::from_secs(30);
    o.redis = redis.map(|r| aacon::bus::RedisConfig::new(r).unwrap());
    ApiPlatform::new(o).unwrap()
}

/// `owner prefix -> [instance id]` of the unexpired leases (the replica's
/// lease id is its `AACON_REPLICA_ID` and a suffix).
fn owners(pg: &Postgres) -> HashMap<String, String> {
    pg.psql(
        "cluster",
        "select instance_id || ' ' || owner from leases where expires_at > now() and owner is not null",
    )
    .lines()
    .filter_map(|l| l.split_once(' '))
    .map(|(id, owner)| (id.to_string(), owner.split('-').next().unwrap_or("").to_string()))
    .collect()
}

/// Wait until `ok` holds (re-checked every 200 ms), at most `secs`.
async fn wait_for(what: &str, secs: u64, mut ok: impl AsyncFnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !ok().await {
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{what}: not within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    t0.elapsed()
}

/// The sum of the samples of `metric` (with `label`, if given) in a
/// replica's /metrics.
async fn metric(url: &str, metric: &str, label: Option<&str>) -> f64 {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            (l.starts_with(&format!("{metric} ")) || l.starts_with(&format!("{metric}{{")))
                && label.is_none_or(|want| l.contains(want))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn statuses(c: &ApiPlatform) -> HashMap<Uuid, (Status, u64)> {
    c.list()
        .await
        .map(|l| {
            l.into_iter()
                .map(|i| (i.id, (i.status, i.aggregate_version)))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_instances_by_lease_and_take_over_a_killed_one() {
    let pg = Postgres::start();
    let url = pg.create_db("cluster");
    let redis = RedisServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let (_mcp, port) = everything::streamable_http(tmp.path()).await;
    let interval = INTERVAL_MS.to_string();
    let redis_url = redis.url();
    let start = |name: &str| {
        let env = [
            ("AACON_STORE_URL", OsStr::new(&url)),
            ("AACON_REDIS_URL", OsStr::new(&redis_url)),
            ("AACON_LEASE_INTERVAL_MS", OsStr::new(&interval)),
            ("AACON_REPLICA_ID", OsStr::new(name)),
        ];
        Serve::start_with_env(
            &tmp.path().join(name),
            &tmp.path().join("config"),
            &[],
            &env,
        )
    };
    let a = start("ra");
    let mut b = start("rb");
    let mut c = start("rc");

    // A console in API mode on replica a, with Redis: what it hears.
    let console = client(&a.url, Some(&redis.url()));
    let heard: Arc<Mutex<Vec<(Uuid, Status)>>> = Arc::default();
    {
        let mut rx = console.subscribe();
        let heard = heard.clone();
        tokio::spawn(async move {
            while let Ok(ev) = rx.recv().await {
                if let PlatformEvent::Event(e) = ev.full()
                    && let (Some(id), Some(s)) = (e.instance_id(), e.status())
                {
                    heard.lock().unwrap().push((id, s));
                }
            }
        });
    }

    let ca = client(&a.url, None);
    let spec = json!({"endpoint_url": format!("http://127.0.0.1:{port}/mcp")});
    let mut ids = Vec::new();
    for n in 0..INSTANCES {
        let new: NewInstance =
            serde_json::from_value(json!({"name": format!("ext-{n:02}"), "json_spec": spec}))
                .unwrap();
        let made = ca.create(new).await.unwrap();
        ca.start(made.id).await.unwrap();
        ids.push(made.id);
    }

    // All reach running.
    let took = wait_for("all 60 instances running", 180, async || {
        let s = statuses(&ca).await;
        ids.iter()
            .all(|id| s.get(id).is_some_and(|(st, _)| *st == Status::Running))
    })
    .await;
    eprintln!("cluster: {INSTANCES} instances running on 3 replicas after {took:?}");

    // Spread: every instance has one owner, none over twice the fair share.
    wait_for("every instance leased", 30, async || {
        owners(&pg).len() == INSTANCES
    })
    .await;
    let by_owner = owners(&pg);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for owner in by_owner.values() {
        *counts.entry(owner.clone()).or_default() += 1;
    }
    eprintln!("cluster: leases per replica {counts:?}");
    let fair = INSTANCES.div_ceil(3);
    for (owner, n) in &counts {
        assert!(
            *n <= 2 * fair,
            "{owner} holds {n} of {INSTANCES}: {counts:?}"
        );
    }
    assert_eq!(counts.values().sum::<usize>(), INSTANCES);

    // Each replica's /metrics counts what it hosts (so the sum over the
    // replicas counts each instance once), and /ready checks its leases.
    let replicas = [("ra", &a.url), ("rb", &b.url), ("rc", &c.url)];
    for (name, url) in replicas {
        let held = metric(url, "aacon_leases_held", None).await;
        assert_eq!(held as usize, counts[name], "{name} /metrics");
        let ready: serde_json::Value = reqwest::get(format!("{url}/ready"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let leases = ready["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "leases")
            .unwrap_or_else(|| panic!("{name}: no leases check in {ready}"));
        assert_eq!(leases["ok"], true, "{name}: {ready}");
    }
    let mut running = 0.0;
    for (_, url) in replicas {
        running += metric(url, "aacon_instances", Some("status=\"running\"")).await;
    }
    assert_eq!(
        running as usize, INSTANCES,
        "running, summed over the replicas"
    );

    // The console on a hears the running of instances b and c host.
    for other in ["rb", "rc"] {
        let theirs: HashSet<Uuid> = by_owner
            .iter()
            .filter(|(_, o)| o.as_str() == other)
            .map(|(id, _)| Uuid::parse_str(id).unwrap())
            .collect();
        if theirs.is_empty() {
            continue;
        }
        wait_for(
            "the console on a hears the others' instances",
            60,
            async || {
                let heard = heard.lock().unwrap();
                theirs
                    .iter()
                    .all(|id| heard.iter().any(|(h, s)| h == id && *s == Status::Running))
            },
        )
        .await;
    }

    // A tool call sent to the wrong replica (a) for an instance b hosts is
    // answered by b: forwarded, never run from a's own one-shot session.
    let on_b = by_owner
        .iter()
        .find(|(_, o)| o.as_str() == "rb")
        .map(|(id, _)| id.clone())
        .expect("replica b hosts some instances");
    let r = reqwest::Client::new()
        .post(format!(
            "{}/v1/mcp-server-instances/{on_b}/tools/call",
            a.url
        ))
        .json(&json!({"name": "echo", "arguments": {"message": "via a"}}))
        .send()
        .await
        .unwrap();
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (took_it, answered_by) = (header("x-aacon-replica"), header("x-aacon-forwarded-to"));
    assert_eq!(r.status().as_u16(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body.to_string().contains("via a"), "{body}");
    assert_eq!(took_it.as_deref(), Some("ra"));
    assert_eq!(answered_by.as_deref(), Some("rb"), "{body}");

    // kill -9 replica c: its instances run again on the survivors.
    let victims: Vec<Uuid> = owners(&pg)
        .iter()
        .filter(|(_, o)| o.as_str() == "rc")
        .map(|(id, _)| Uuid::parse_str(id).unwrap())
        .collect();
    assert!(!victims.is_empty(), "replica c hosts some instances");
    let before = statuses(&ca).await;
    c.child.kill().unwrap();
    let _ = c.child.wait();
    let killed_at = pg.psql("cluster", "select extract(epoch from now())::float8");
    // One of them is stopped before anyone has taken it over: the store
    // still says it runs, so a survivor takes its lease, finds nothing
    // running and reports it stopped.
    let stopped = victims[0];
    let victims = &victims[1..];
    {
        let ca = client(&a.url, None);
        tokio::spawn(async move { ca.stop(stopped).await });
    }
    let took = wait_for("c's instances running on the survivors", 120, async || {
        let o = owners(&pg);
        let s = statuses(&ca).await;
        s.get(&stopped)
            .is_some_and(|(st, _)| *st == Status::Stopped)
            && victims.iter().all(|id| {
                o.get(&id.to_string())
                    .is_some_and(|owner| owner == "ra" || owner == "rb")
                    && s.get(id)
                        .is_some_and(|(st, v)| *st == Status::Running && *v > before[id].1)
            })
    })
    .await;
    eprintln!(
        "cluster: {} instances of the killed replica running again after {took:?} (lease interval {INTERVAL_MS} ms)",
        victims.len()
    );
    // From the lease history: c's leases ended (expired) within 2
    // intervals of the kill (a lease lives 2 from its last renewal), by the database's clock, and the survivors'
    // claims followed; the delays are reported.
    let rows = pg.psql(
        "cluster",
        &format!(
            "select extract(epoch from old.ended_at)::float8, extract(epoch from new.acquired_at)::float8 \
             from lease_history old join lease_history new \
               on new.instance_id = old.instance_id and new.generation = old.generation + 1 \
             where old.owner like 'rc-%' and old.how = 'expired' and old.ended_at > to_timestamp({killed_at}) - interval '10 seconds'"
        ),
    );
    let killed_at: f64 = killed_at.parse().unwrap();
    let mut delays = Vec::new();
    for line in rows.lines() {
        let (ended, acquired) = line.split_once('|').unwrap();
        let (ended, acquired): (f64, f64) = (ended.parse().unwrap(), acquired.parse().unwrap());
        assert!(
            ended - killed_at <= 2.0 * INTERVAL_MS as f64 / 1000.0,
            "a lease of the killed replica outlived it by {:.3} s",
            ended - killed_at
        );
        delays.push(acquired - killed_at);
    }
    assert!(delays.len() > victims.len(), "{rows}");
    delays.sort_by(f64::total_cmp);
    eprintln!(
        "cluster: takeover after the kill (lease history, database clock): min {:.3} s, max {:.3} s",
        delays[0],
        delays[delays.len() - 1]
    );
    let takeovers = metric(&a.url, "aacon_lease_takeovers_total", None).await
        + metric(&b.url, "aacon_lease_takeovers_total", None).await;
    assert!(
        takeovers as usize > victims.len(),
        "{takeovers} takeovers counted for {} leases of the killed replica",
        victims.len() + 1
    );

    // SIGTERM on b: its leases are handed back at once and a takes them.
    // The stopped instance is no longer wanted: whoever took it over
    // hands it back at its next interval.
    wait_for("the stopped instance's lease handed back", 60, async || {
        !owners(&pg).contains_key(&stopped.to_string())
    })
    .await;
    let of_b: HashSet<Uuid> = owners(&pg)
        .iter()
        .filter(|(_, o)| o.as_str() == "rb")
        .map(|(id, _)| Uuid::parse_str(id).unwrap())
        .collect();
    let held_by_b = of_b.len();
    let before = statuses(&ca).await;
    let sent_at = pg.psql("cluster", "select extract(epoch from now())::float8");
    b.terminate(Duration::from_secs(60));
    // Every lease b held then was handed back (none left to expire).
    let ended = pg.psql(
        "cluster",
        &format!(
            "select coalesce(how, 'open') || ' ' || count(*) from lease_history \
             where owner like 'rb-%' and (ended_at is null or ended_at >= to_timestamp({sent_at})) group by how"
        ),
    );
    assert_eq!(
        ended,
        format!("released {held_by_b}"),
        "how b's {held_by_b} leases ended after its SIGTERM"
    );
    let took = wait_for("b's instances running on a", 120, async || {
        let o = owners(&pg);
        let s = statuses(&ca).await;
        o.len() == INSTANCES - 1
            && o.values().all(|owner| owner == "ra")
            && ids.iter().filter(|id| **id != stopped).all(|id| {
                s.get(id).is_some_and(|(st, v)| {
                    *st == Status::Running && (!of_b.contains(id) || *v > before[id].1)
                })
            })
    })
    .await;
    eprintln!("cluster: {held_by_b} instances of the stopped replica running on a after {took:?}");

    // Never two owners at once: per instance, each generation begins
    // after the previous one ended.
    let history = pg.psql(
        "cluster",
        "select instance_id || '|' || generation || '|' || extract(epoch from acquired_at)::float8 || '|' || \
         coalesce(extract(epoch from ended_at)::float8::text, '') from lease_history order by instance_id, generation",
    );
    let mut last: HashMap<String, (i64, Option<f64>)> = HashMap::new();
    for line in history.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let (id, generation, acquired) = (
            f[0],
            f[1].parse::<i64>().unwrap(),
            f[2].parse::<f64>().unwrap(),
        );
        let ended = f[3].parse::<f64>().ok();
        if let Some((g, prev_end)) = last.get(id) {
            assert_eq!(generation, g + 1, "{id}: generations in order");
            let prev_end = prev_end.unwrap_or_else(|| {
                panic!("{id}: generation {g} never ended but {generation} began")
            });
            assert!(
                acquired >= prev_end,
                "{id}: generation {generation} began {:.3} s before {g} ended",
                prev_end - acquired
            );
        }
        last.insert(id.to_string(), (generation, ended));
    }

    // Every event reached the stream exactly once.
    wait_for("the outbox drained", 60, async || {
        pg.psql("cluster", "select count(*) from outbox") == "0"
    })
    .await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut kinds: HashMap<String, HashSet<String>> = HashMap::new();
    for body in crate::support::redis::stream_envelopes(&redis_url, "agentarea:events").await {
        *seen
            .entry(body["event_id"].as_str().unwrap().to_string())
            .or_default() += 1;
        if let Some(id) = body["aggregate_id"].as_str() {
            kinds
                .entry(id.to_string())
                .or_default()
                .insert(body["event_type"].as_str().unwrap_or("").to_string());
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "published more than once: {twice:?}");
    let committed = pg.psql("cluster", "select count(*) from events");
    assert_eq!(
        seen.len().to_string(),
        committed,
        "every committed event is in the stream"
    );
    for id in &ids {
        let k = kinds.get(&id.to_string()).cloned().unwrap_or_default();
        for want in [
            "MCPServerInstanceCreated",
            "MCPServerInstanceStarted",
            "MCPServerInstanceStatusChanged",
        ] {
            assert!(k.contains(want), "{id}: no {want} in the stream: {k:?}");
        }
    }
    drop(a);
}

/// A status report written for a lease is refused by the PostgreSQL store
/// in the write's own statement once that lease is not current (another
/// generation, another replica, handed back): nothing changes and no event
/// is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_report_for_a_stale_lease_is_refused_by_the_store() {
    use aacon::cluster::{Cluster, LeaseChange, LeaseConfig, LeaseManager};
    use aacon::paths::StoreUrl;
    use aacon::platform::{LeaseFence, PlatformError, StatusReport};
    use aacon::store::port::StorePort;
    let pg = Postgres::start();
    let url = pg.create_db("fence");
    let store_url = StoreUrl::new(url.clone());
    let (store, id) = tokio::task::spawn_blocking(move || {
        let mut store = aacon::store::pg::PgStore::open(&store_url, "fence test").unwrap();
        let new: NewInstance =
            serde_json::from_value(json!({"name": "fenced", "json_spec": {"command": ["x"]}}))
                .unwrap();
        let (inst, _) = store.create(new, None).unwrap();
        (store, inst.id)
    })
    .await
    .unwrap();
    let cluster = Cluster::connect(&url).await.unwrap();
    let wanted = id.to_string();
    let (handle, mut changes) = LeaseManager::start(
        cluster,
        LeaseConfig::new("fence", "127.0.0.1:1").with_interval(Duration::from_millis(200)),
        Arc::new(move || vec![wanted.clone()]),
    )
    .await
    .unwrap();
    let generation = match tokio::time::timeout(Duration::from_secs(30), changes.recv()).await {
        Ok(Some(LeaseChange::Acquired { generation, .. })) => generation,
        other => panic!("expected the lease: {other:?}"),
    };
    let replica = handle.replica_id().to_string();
    let report = move |replica: &str, generation: i64| StatusReport {
        status: Some(Status::Running),
        lease: Some(LeaseFence {
            replica: replica.to_string(),
            generation,
        }),
        ..Default::default()
    };
    let store = Arc::new(Mutex::new(store));
    let write = |r: StatusReport| {
        let store = store.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut s = store.lock().unwrap();
                let before = s.last_seq().unwrap();
                let out = s.report_status(id, r, None).map(|(i, _)| i.status);
                (out, s.last_seq().unwrap() - before)
            })
            .await
            .unwrap()
        }
    };
    let (ok, events) = write(report(&replica, generation)).await;
    assert_eq!(ok.unwrap(), Status::Running, "the current lease writes");
    assert_eq!(events, 1);
    for (who, g) in [
        (replica.as_str(), generation + 1),
        ("another-replica", generation),
    ] {
        let (refused, events) = write(report(who, g)).await;
        assert!(
            matches!(refused, Err(PlatformError::Fenced(_))),
            "{who} at {g}: {refused:?}"
        );
        assert_eq!(events, 0, "a refused report writes no event");
    }
    // Handed back: the same lease no longer writes.
    drop(changes);
    handle.shutdown().await;
    let (refused, events) = write(report(&replica, generation)).await;
    let Err(PlatformError::Fenced(why)) = refused else {
        panic!("a released lease still wrote: {refused:?}");
    };
    assert!(why.contains(&replica), "{why}");
    assert_eq!(events, 0);
    tokio::task::spawn_blocking(move || drop(store))
        .await
        .unwrap();
}
