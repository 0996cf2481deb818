//! `aacon host status` on a PostgreSQL store lists the replicas sharing
//! the instances by lease (id, address, started, heartbeat age, live,
//! leases), as a table and in `-o json`; on SQLite it lists none.

use crate::support::cli::{cli_env, dirs};
use crate::support::postgres::Postgres;
use aacon::cluster::{Cluster, LeaseConfig, LeaseHandle, LeaseManager};
use std::sync::Arc;
use std::time::{Duration, Instant};

const UNSET: &[&str] = &["AACON_API_URL", "AACON_REDIS_URL", "AACON_STORE_URL"];

/// Replica "alpha" at 10.1.2.3:8080, sharing `ids` by lease (the changes
/// it is told are drained: nothing runs here).
async fn replica_alpha(cluster: &Cluster, ids: Vec<String>) -> LeaseHandle {
    let cfg = LeaseConfig::new("alpha", "10.1.2.3:8080").with_interval(Duration::from_millis(200));
    let (handle, mut changes) =
        LeaseManager::start(cluster.clone(), cfg, Arc::new(move || ids.clone()))
            .await
            .unwrap();
    tokio::spawn(async move { while changes.recv().await.is_some() {} });
    handle
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_status_lists_the_replicas_and_their_leases_on_postgres() {
    let pg = Postgres::start();
    let url = pg.create_db("replicas");
    let cluster = Cluster::connect(&url).await.unwrap();
    let ids: Vec<String> = (0..3).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let handle = replica_alpha(&cluster, ids).await;
    let alpha = handle.replica_id().to_string();
    // A replica that went away minutes ago (the managers forget one after 10): listed, not live.
    pg.psql(
        "replicas",
        "insert into replicas (id, address, started_at, heartbeat_at, expires_at) \
         values ('gone-1', '10.9.9.9:8080', now() - interval '2 hours', now() - interval '3 minutes', now() - interval '3 minutes')",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cluster
        .replicas()
        .await
        .unwrap()
        .iter()
        .any(|r| r.id == alpha && r.leases == 3)
    {
        assert!(Instant::now() < deadline, "alpha never held its 3 leases");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (_tmp, data, config) = dirs();
    let env = [("AACON_STORE_URL", url.as_str())];
    let out = cli_env(&data, &config, &["host", "status"], "", &env, UNSET);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 of 2 replicas live"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("REPLICA"))
        .unwrap_or_else(|| panic!("no replica table: {text}"));
    let cols = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        cols(lines[header]),
        [
            "REPLICA",
            "ADDRESS",
            "STARTED",
            "HEARTBEAT",
            "LIVE",
            "LEASES"
        ]
    );
    let first = cols(lines[header + 1]);
    assert_eq!(
        (
            first[0].as_str(),
            first[1].as_str(),
            first[5].as_str(),
            first[6].as_str()
        ),
        (alpha.as_str(), "10.1.2.3:8080", "yes", "3"),
        "{text}"
    );
    assert_eq!(first[4], "ago", "{text}");
    let second = cols(lines[header + 2]);
    assert_eq!(
        (
            second[0].as_str(),
            second[3].as_str(),
            second[5].as_str(),
            second[6].as_str()
        ),
        ("gone-1", "3m", "no", "0"),
        "{text}"
    );

    let out = cli_env(
        &data,
        &config,
        &["host", "status", "-o", "json"],
        "",
        &env,
        UNSET,
    );
    assert!(out.status.success(), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = doc["replicas"].as_array().expect("replicas");
    assert_eq!(listed.len(), 2, "{doc}");
    assert_eq!(listed[0]["id"], alpha.as_str());
    assert_eq!(listed[0]["address"], "10.1.2.3:8080");
    assert_eq!(listed[0]["live"], true);
    assert_eq!(listed[0]["leases"], 3);
    assert!(
        listed[0]["heartbeat_age_secs"].as_f64().unwrap() < 60.0,
        "{doc}"
    );
    assert!(listed[0]["started_at"].is_string(), "{doc}");
    assert_eq!(listed[1]["id"], "gone-1");
    assert_eq!(listed[1]["live"], false);
    handle.shutdown().await;
}

#[test]
fn host_status_on_sqlite_lists_no_replicas() {
    let (_tmp, data, config) = dirs();
    let out = cli_env(
        &data,
        &config,
        &["host", "status", "-o", "json"],
        "",
        &[],
        UNSET,
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc.get("replicas").is_none(), "{doc}");
    let out = cli_env(&data, &config, &["host", "status"], "", &[], UNSET);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("REPLICA"), "{text}");
}

/// On PostgreSQL a start or stop says who acts on it, read from the lease
/// tables: nobody while no serve replica is live, the replica holding the
/// instance's lease once one does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_and_stop_on_postgres_name_the_replica_that_acts_or_say_none_is_live() {
    let pg = Postgres::start();
    let url = pg.create_db("acts");
    let (_tmp, data, config) = dirs();
    let env = [("AACON_STORE_URL", url.as_str())];
    let run = |args: &[&str], stdin: &str| {
        let out = cli_env(&data, &config, args, stdin, &env, UNSET);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{args:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    run(
        &["instances", "create", "web", "--spec", "-"],
        r#"{"type": "http", "endpoint": "http://127.0.0.1:9/mcp"}"#,
    );
    let got: serde_json::Value =
        serde_json::from_str(&run(&["instances", "get", "web", "-o", "json"], "")).unwrap();
    let id = got["id"].as_str().unwrap().to_string();

    let out = run(&["instances", "start", "web"], "");
    assert!(
        out.contains("start requested for 'web' (desired state recorded)")
            && out.contains("no `aacon serve` replica is live"),
        "{out}"
    );

    // A replica joins and takes the instance's lease.
    let cluster = Cluster::connect(&url).await.unwrap();
    let handle = replica_alpha(&cluster, vec![id.clone()]).await;
    let alpha = handle.replica_id().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster.owner_of(&id).await.unwrap().is_none() {
        assert!(Instant::now() < deadline, "alpha never took the lease");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = run(&["instances", "stop", "web"], "");
    assert!(
        out.contains(&format!(
            "stop requested for 'web'; replica {alpha} (10.1.2.3:8080), which holds its lease, acts on it"
        )),
        "{out}"
    );
    // With the instance stopped and its lease handed back, a live replica
    // that runs nothing: a stop says nobody runs it, not that someone will.
    handle.shutdown().await;
    let idle = replica_alpha(&cluster, Vec::new()).await;
    assert!(cluster.owner_of(&id).await.unwrap().is_none());
    let out = run(&["instances", "stop", "web"], "");
    assert!(
        out.contains("stop requested for 'web'; no replica runs it"),
        "{out}"
    );
    idle.shutdown().await;
}
