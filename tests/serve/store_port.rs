//! The store port's suite, through `StorePort`, against both adapters:
//! SQLite (a file in a temporary data dir) and a real PostgreSQL (started
//! per test on a free loopback port). Each case is one generic body; the
//! `both!` macro makes a `sqlite::NAME` and a `postgres::NAME` test of it.
//! Then what only a shared store does: two relays on one PostgreSQL publish
//! each outbox row once, and a commit on one connection wakes another's
//! tail through LISTEN/NOTIFY.

use crate::support::RedisServer;
use crate::support::postgres::Postgres;
use aacon::bus::{RedisConfig, Relay};
use aacon::domain::{DesiredState, EventType, InstancePatch, NewInstance, Precondition, Status};
use aacon::paths::{DataDir, StoreUrl};
use aacon::platform::history::{CallKind, CallOutcome, Caller, NewCall, Retention};
use aacon::platform::{EventQuery, PlatformError};
use aacon::store::{BoxedStore, FaultPoint, StatusReport, StorePort, ToolRecord, port};
use chrono::Utc;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A data dir whose store is SQLite in it, or a fresh PostgreSQL database.
struct Rig {
    pg: Option<(Postgres, String)>,
    _tmp: tempfile::TempDir,
    dir: DataDir,
}

impl Rig {
    fn sqlite() -> Rig {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        Rig {
            pg: None,
            _tmp: tmp,
            dir,
        }
    }

    fn postgres() -> Rig {
        let pg = Postgres::start();
        let url = pg.create_db("aacon");
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path()).with_store_url(Some(StoreUrl::new(url)));
        Rig {
            pg: Some((pg, "aacon".into())),
            _tmp: tmp,
            dir,
        }
    }

    fn open(&self, actor: &str) -> BoxedStore {
        port::open(&self.dir, actor).unwrap()
    }

    /// Mark the store as written by a newer aacon.
    fn bump_schema(&self) {
        match &self.pg {
            Some((pg, db)) => {
                pg.psql(db, "UPDATE aacon_store_schema SET version = 999");
            }
            None => {
                let conn = rusqlite::Connection::open(self.dir.store()).unwrap();
                conn.execute("UPDATE schema_meta SET version = 999", [])
                    .unwrap();
            }
        }
    }
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(&super::Rig::sqlite()) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(&super::Rig::postgres()) })*
        }
    };
}

both!(
    create_list_get_by_name_and_id,
    duplicate_names_are_a_conflict,
    bad_input_changes_nothing,
    update_bumps_versions_and_records_changed_fields,
    stale_version_is_a_conflict_naming_who_what_and_when,
    updated_at_precondition_for_remote_style_clients,
    injected_failure_between_state_and_event_leaves_neither,
    every_command_lands_in_log_and_outbox_until_sent,
    runtime_status_is_kept_apart_from_the_config_version,
    newer_schema_is_refused_with_a_sentence,
    discovered_tools_are_replaced_per_instance,
    group_commit_keeps_each_commands_result_and_a_failure_to_itself,
    a_restart_is_a_stop_and_a_start_under_one_correlation_id,
    a_notice_is_an_event_that_changes_no_state,
    another_connections_commits_reach_the_tail_in_order,
    state_at_now_equals_the_list_and_snapshots_are_taken,
    the_call_history_is_newest_first_and_pruned,
    deletes_are_soft_and_free_the_name,
);

fn new(name: &str) -> NewInstance {
    NewInstance {
        name: name.into(),
        description: None,
        server_spec_id: None,
        json_spec: json!({"command": ["mcp-server"], "args": ["--stdio"]}),
    }
}

fn describe(d: &str) -> InstancePatch {
    InstancePatch {
        description: Some(Some(d.into())),
        ..Default::default()
    }
}

fn all_events(s: &dyn StorePort) -> Vec<aacon::domain::Envelope> {
    s.events(&EventQuery::default()).unwrap()
}

fn create_list_get_by_name_and_id(r: &Rig) {
    let mut s = r.open("test");
    let (a, ev) = s.create(new("alpha"), Some("corr-1".into())).unwrap();
    assert_eq!(ev.kind(), Some(EventType::Created));
    assert_eq!(ev.correlation_id.as_deref(), Some("corr-1"));
    assert_eq!(ev.aggregate_version, Some(1));
    assert_eq!((a.version, a.status), (1, Status::Pending));
    assert_eq!(a.desired_state, DesiredState::Stopped);
    s.create(new("beta"), None).unwrap();
    s.create(new("Zed-not-a-name"), None).unwrap_err();
    s.create(new("a-first"), None).unwrap();
    let names: Vec<String> = s.list().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["a-first", "alpha", "beta"]);
    assert_eq!(s.get("alpha").unwrap(), a);
    assert_eq!(s.get(&a.id.to_string()).unwrap().name, "alpha");
    let err = s.get("nope").unwrap_err();
    assert_eq!(err.exit_code(), 4);
    assert_eq!(err.to_string(), "no instance named or with id 'nope'");
    // The event as stored is the event as returned, byte for byte.
    assert_eq!(all_events(&*s)[0].to_json(), ev.to_json());
    assert!(s.schema_version().unwrap() > 0);
    assert_eq!(s.integrity_check().unwrap(), "ok");
}

fn duplicate_names_are_a_conflict(r: &Rig) {
    let mut s = r.open("test");
    s.create(new("alpha"), None).unwrap();
    let err = s.create(new("alpha"), None).unwrap_err();
    assert!(matches!(err, PlatformError::Conflict(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("an instance named 'alpha' already exists"),
        "{err}"
    );
    assert_eq!(all_events(&*s).len(), 1);
    let (b, _) = s.create(new("beta"), None).unwrap();
    let rename = InstancePatch {
        name: Some("alpha".into()),
        ..Default::default()
    };
    let err = s.update(b.id, rename, None, None).unwrap_err();
    assert!(matches!(err, PlatformError::Conflict(_)), "{err:?}");
}

fn bad_input_changes_nothing(r: &Rig) {
    let mut s = r.open("test");
    let cases = [
        NewInstance {
            name: "a;rm -rf".into(),
            ..new("x")
        },
        NewInstance {
            json_spec: json!([1, 2]),
            ..new("x")
        },
        NewInstance {
            json_spec: json!({"x": "a".repeat(10 * 1024 * 1024)}),
            ..new("x")
        },
    ];
    let messages: Vec<String> = cases
        .into_iter()
        .map(|c| s.create(c, None).unwrap_err().to_string())
        .collect();
    assert!(messages[0].contains("contains ';'"), "{}", messages[0]);
    assert!(messages[1].contains("not an array"), "{}", messages[1]);
    assert!(
        messages[2].contains("the limit is 1024 KiB"),
        "{}",
        messages[2]
    );
    assert!(s.list().unwrap().is_empty());
    assert!(all_events(&*s).is_empty());
    assert_eq!(s.outbox_len().unwrap(), 0);
}

fn update_bumps_versions_and_records_changed_fields(r: &Rig) {
    let mut s = r.open("cli@host pid 1");
    let (a, _) = s.create(new("alpha"), None).unwrap();
    let (b, ev) = s
        .update(
            a.id,
            describe("hello"),
            Some(Precondition::Version(1)),
            None,
        )
        .unwrap();
    assert_eq!((b.version, b.aggregate_version), (2, 2));
    assert_eq!(b.description.as_deref(), Some("hello"));
    assert_eq!(ev.data["changed"], json!(["description"]));
    assert_eq!(s.get("alpha").unwrap(), b);
}

fn stale_version_is_a_conflict_naming_who_what_and_when(r: &Rig) {
    let mut s = r.open("console@laptop pid 7");
    let (a, _) = s.create(new("alpha"), None).unwrap();
    let spec = InstancePatch {
        json_spec: Some(json!({"command": ["other"]})),
        ..Default::default()
    };
    s.update(a.id, spec, Some(Precondition::Version(1)), None)
        .unwrap();
    let err = s
        .update(a.id, describe("mine"), Some(Precondition::Version(1)), None)
        .unwrap_err();
    assert_eq!(err.exit_code(), 5);
    let msg = err.to_string();
    assert!(
        msg.contains("console@laptop pid 7 changed json_spec"),
        "{msg}"
    );
    assert!(msg.contains("now version 2; you had version 1"), "{msg}");
    assert_eq!(
        s.get("alpha").unwrap().description,
        None,
        "nothing overwritten"
    );
}

fn updated_at_precondition_for_remote_style_clients(r: &Rig) {
    let mut s = r.open("t");
    let (a, _) = s.create(new("alpha"), None).unwrap();
    let at = Some(Precondition::UpdatedAt(a.updated_at));
    s.update(a.id, describe("one"), at, None).unwrap();
    let stale = s.update(a.id, describe("two"), at, None);
    assert!(
        matches!(stale, Err(PlatformError::Conflict(_))),
        "{stale:?}"
    );
}

fn injected_failure_between_state_and_event_leaves_neither(r: &Rig) {
    let mut s = r.open("t");
    let (a, _) = s.create(new("alpha"), None).unwrap();
    s.inject_fault(Some(FaultPoint::AfterStateWrite));
    let err = s.create(new("beta"), None).unwrap_err();
    assert!(err.to_string().contains("injected fault"), "{err}");
    assert!(matches!(s.get("beta"), Err(PlatformError::NotFound(_))));
    s.inject_fault(Some(FaultPoint::AfterStateWrite));
    s.update(a.id, describe("x"), None, None).unwrap_err();
    assert_eq!(s.get("alpha").unwrap().version, 1);
    assert_eq!(all_events(&*s).len(), 1);
    assert_eq!(s.outbox_len().unwrap(), 1);
}

fn every_command_lands_in_log_and_outbox_until_sent(r: &Rig) {
    let mut s = r.open("t");
    let (a, _) = s.create(new("alpha"), None).unwrap();
    s.set_desired(a.id, DesiredState::Running, None).unwrap();
    let report = StatusReport {
        status: Some(Status::Running),
        healthy_now: true,
        tool_count: Some(Some(3)),
        ..Default::default()
    };
    s.report_status(a.id, report, None).unwrap();
    s.delete(a.id, Some("corr-d".into())).unwrap();
    let kinds: Vec<_> = all_events(&*s).iter().filter_map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        [
            EventType::Created,
            EventType::Started,
            EventType::StatusChanged,
            EventType::Deleted
        ]
    );
    let last = s.events(&EventQuery {
        limit: Some(2),
        ..Default::default()
    });
    let last: Vec<_> = last.unwrap().iter().filter_map(|e| e.kind()).collect();
    assert_eq!(
        last,
        [EventType::StatusChanged, EventType::Deleted],
        "newest, in log order"
    );
    let mine = s.events(&EventQuery {
        instance: Some(a.id),
        since: Some(Utc::now() - chrono::Duration::minutes(5)),
        ..Default::default()
    });
    assert_eq!(mine.unwrap().len(), 4);
    // The outbox: oldest first, gone once marked sent.
    let pending = s.outbox_pending(3).unwrap();
    assert_eq!(pending.len(), 3);
    assert!(pending.windows(2).all(|w| w[0].0 < w[1].0));
    let seqs: Vec<i64> = pending.iter().map(|(q, _)| *q).collect();
    s.outbox_mark_sent(&seqs).unwrap();
    assert_eq!(s.outbox_len().unwrap(), 1);
    let rest = s.outbox_pending(10).unwrap();
    assert_eq!(rest[0].1.kind(), Some(EventType::Deleted));
    s.outbox_mark_sent(&[rest[0].0]).unwrap();
    assert_eq!(s.outbox_len().unwrap(), 0);
    assert!(s.outbox_pending(10).unwrap().is_empty());
    let (b, _) = s.create(new("beta"), Some("corr-b".into())).unwrap();
    let corr = s.last_command_correlations().unwrap();
    assert_eq!(corr.get(&b.id).map(String::as_str), Some("corr-b"));
}

fn runtime_status_is_kept_apart_from_the_config_version(r: &Rig) {
    let mut s = r.open("t");
    let (a, _) = s.create(new("alpha"), None).unwrap();
    for st in [Status::Starting, Status::Running] {
        let report = StatusReport {
            status: Some(st),
            ..Default::default()
        };
        s.report_status(a.id, report, None).unwrap();
    }
    let now = s.get("alpha").unwrap();
    assert_eq!((now.version, now.aggregate_version), (1, 3));
    assert_eq!(now.status, Status::Running);
    // An edit made against version 1 still applies: a status is no edit.
    s.update(a.id, describe("ok"), Some(Precondition::Version(1)), None)
        .unwrap();
    let failed = StatusReport {
        error: Some("exited with 1".into()),
        restarts: Some(2),
        ..Default::default()
    };
    let (i, ev) = s.report_status(a.id, failed, None).unwrap();
    assert_eq!((i.status, i.restarts), (Status::Error, 2));
    assert_eq!(i.status_reason.as_deref(), Some("exited with 1"));
    assert_eq!(ev.kind(), Some(EventType::Error));
}

fn newer_schema_is_refused_with_a_sentence(r: &Rig) {
    drop(r.open("t"));
    r.bump_schema();
    let err = match port::open(&r.dir, "t") {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a newer schema opened"),
    };
    assert!(
        err.contains("written by a newer aacon (schema 999)"),
        "{err}"
    );
    assert!(err.contains("upgrade aacon"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

fn discovered_tools_are_replaced_per_instance(r: &Rig) {
    let mut s = r.open("t");
    let (a, _) = s.create(new("alpha"), None).unwrap();
    let (b, _) = s.create(new("beta"), None).unwrap();
    let tool = |n: &str| ToolRecord {
        name: n.into(),
        description: Some(format!("{n} things")),
        input_schema: json!({"type": "object"}),
        annotations: Some(json!({"readOnlyHint": true})),
    };
    s.set_tools(a.id, &[tool("zeta"), tool("echo")]).unwrap();
    s.set_tools(b.id, &[tool("other")]).unwrap();
    s.set_tools(a.id, &[tool("echo"), tool("add")]).unwrap();
    let names: Vec<String> = s.tools(a.id).unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["add", "echo"]);
    assert_eq!(s.tools(a.id).unwrap()[1], tool("echo"));
    assert_eq!(s.tools(b.id).unwrap().len(), 1);
}

fn group_commit_keeps_each_commands_result_and_a_failure_to_itself(r: &Rig) {
    let mut s = r.open("t");
    let (a, _) = s.create(new("alpha"), None).unwrap();
    let results = s
        .group(|s| {
            vec![
                s.create(new("one"), None).map(|(i, _)| i.name),
                s.create(new("alpha"), None).map(|(i, _)| i.name),
                s.update(a.id, describe("x"), Some(Precondition::Version(9)), None)
                    .map(|(i, _)| i.name),
                s.create(new("two"), None).map(|(i, _)| i.name),
            ]
        })
        .unwrap();
    assert_eq!(results[0].as_deref().ok(), Some("one"));
    assert!(matches!(results[1], Err(PlatformError::Conflict(_))));
    assert!(matches!(results[2], Err(PlatformError::Conflict(_))));
    assert_eq!(results[3].as_deref().ok(), Some("two"));
    let names: Vec<String> = s.list().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["alpha", "one", "two"]);
    assert_eq!(all_events(&*s).len(), 3, "the failures wrote nothing");
    assert_eq!(s.outbox_len().unwrap(), 3);
    // Outside a group a command still commits alone.
    s.create(new("three"), None).unwrap();
    assert_eq!(r.open("other").list().unwrap().len(), 4);
}

fn a_restart_is_a_stop_and_a_start_under_one_correlation_id(r: &Rig) {
    let mut s = r.open("t");
    let (a, _) = s.create(new("alpha"), None).unwrap();
    s.set_desired(a.id, DesiredState::Running, None).unwrap();
    let (after, env) = s.restart(a.id, Some("corr-r".into())).unwrap();
    assert_eq!(after.desired_state, DesiredState::Running);
    assert_eq!(env.kind(), Some(EventType::Started));
    let events = all_events(&*s);
    let last: Vec<_> = events.iter().rev().take(2).rev().collect();
    assert_eq!(last[0].kind(), Some(EventType::Stopped));
    assert_eq!(last[1].kind(), Some(EventType::Started));
    assert!(
        last.iter()
            .all(|e| e.correlation_id.as_deref() == Some("corr-r"))
    );
    let before = all_events(&*s).len();
    let err = s.restart(uuid::Uuid::new_v4(), None).unwrap_err();
    assert!(matches!(err, PlatformError::NotFound(_)), "{err:?}");
    assert_eq!(all_events(&*s).len(), before);
}

fn a_notice_is_an_event_that_changes_no_state(r: &Rig) {
    let mut s = r.open("t");
    let (a, _) = s.create(new("alpha"), None).unwrap();
    let (i, env) = s
        .record_notice(
            a.id,
            json!({"notification": "notifications/tools/list_changed"}),
        )
        .unwrap();
    assert_eq!(i, a);
    assert_eq!(env.event_type, "MCPServerInstanceNotified");
    assert_eq!(s.get("alpha").unwrap(), a);
    assert_eq!(all_events(&*s).len(), 2);
}

fn another_connections_commits_reach_the_tail_in_order(r: &Rig) {
    let mut writer = r.open("writer");
    let reader = r.open("reader");
    let (wake, woken) = std::sync::mpsc::channel();
    let watching = reader.watch(wake);
    assert_eq!(
        watching.is_some(),
        r.pg.is_some(),
        "PostgreSQL pushes, SQLite is polled"
    );
    let start = reader.last_seq().unwrap();
    while woken.try_recv().is_ok() {}
    let (a, _) = writer.create(new("alpha"), None).unwrap();
    writer
        .set_desired(a.id, DesiredState::Running, None)
        .unwrap();
    if watching.is_some() {
        woken
            .recv_timeout(Duration::from_secs(20))
            .expect("a NOTIFY wakes the tail");
    }
    let got = reader.events_after(start, 1000).unwrap();
    assert_eq!(got.len(), 2);
    assert!(got[0].0 < got[1].0);
    assert_eq!(got[1].1.kind(), Some(EventType::Started));
    assert_eq!(reader.last_seq().unwrap(), got[1].0);
    assert!(reader.events_after(got[1].0, 1000).unwrap().is_empty());
}

fn state_at_now_equals_the_list_and_snapshots_are_taken(r: &Rig) {
    let mut s = r.open("t");
    s.set_snapshot_every(4);
    let (a, _) = s.create(new("a"), None).unwrap();
    s.set_desired(a.id, DesiredState::Running, None).unwrap();
    s.set_desired(a.id, DesiredState::Stopped, None).unwrap();
    assert_eq!(s.snapshot_count().unwrap(), 0);
    let middle = Utc::now();
    std::thread::sleep(Duration::from_millis(5));
    s.set_desired(a.id, DesiredState::Running, None).unwrap();
    assert_eq!(s.snapshot_count().unwrap(), 1);
    s.group(|s| {
        for n in 0..9 {
            s.create(new(&format!("b{n}")), None).unwrap();
        }
    })
    .unwrap();
    assert_eq!(s.snapshot_count().unwrap(), 3);
    let key =
        |i: &aacon::domain::Instance| (i.id, i.name.clone(), i.desired_state, i.aggregate_version);
    let now = s.state_at(Utc::now()).unwrap();
    let listed = s.list().unwrap();
    assert_eq!(
        now.instances.iter().map(key).collect::<Vec<_>>(),
        listed.iter().map(key).collect::<Vec<_>>()
    );
    let then = s.state_at(middle).unwrap();
    assert_eq!(then.instances.len(), 1);
    assert_eq!(then.instances[0].desired_state, DesiredState::Stopped);
    let between = s.events_between(middle, Utc::now(), Some(a.id)).unwrap();
    assert_eq!(between.len(), 1);
}

fn the_call_history_is_newest_first_and_pruned(r: &Rig) {
    let mut s = r.open("t");
    let id = uuid::Uuid::new_v4();
    let call = |name: &str| NewCall {
        instance_id: id,
        instance_name: "alpha".into(),
        at: Utc::now(),
        caller: Caller::Cli { pid: 7 },
        kind: CallKind::Tool,
        name: name.into(),
        arguments: json!({"message": name}),
        redacted: false,
        duration_ms: 12,
        outcome: CallOutcome::Ok,
        result_bytes: 9,
        result: "{\"ok\":1}".into(),
    };
    let keep = Retention {
        keep_per_instance: 3,
        keep_days: 0,
    };
    for n in 0..5 {
        s.record_calls(&[call(&format!("c{n}"))], keep).unwrap();
    }
    let list = s.history(id, 10).unwrap();
    let names: Vec<&str> = list.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["c4", "c3", "c2"]);
    assert!(list.iter().all(|c| c.result.is_none()));
    let full = s.history_call(id, list[0].id).unwrap();
    assert_eq!(full.result.as_deref(), Some("{\"ok\":1}"));
    assert_eq!(full.caller, Caller::Cli { pid: 7 });
    let err = s
        .history_call(uuid::Uuid::new_v4(), list[0].id)
        .unwrap_err();
    assert!(matches!(err, PlatformError::NotFound(_)), "{err}");
}

fn deletes_are_soft_and_free_the_name(r: &Rig) {
    let mut s = r.open("t");
    let (a, _) = s.create(new("alpha"), None).unwrap();
    let (gone, env) = s.delete(a.id, None).unwrap();
    assert_eq!(env.kind(), Some(EventType::Deleted));
    assert_eq!(gone.desired_state, DesiredState::Stopped);
    assert!(matches!(s.get("alpha"), Err(PlatformError::NotFound(_))));
    let (again, _) = s.create(new("alpha"), None).unwrap();
    assert_ne!(again.id, a.id);
    let history = s.events(&EventQuery {
        instance: Some(a.id),
        ..Default::default()
    });
    assert_eq!(history.unwrap().len(), 2, "the audit trail stays");
}

/// Two relays (two replicas' stores) on one PostgreSQL publish every event
/// of a burst to Redis exactly once, counted by event id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_on_one_postgres_publish_each_outbox_row_once() {
    let redis = RedisServer::start();
    let rig = Rig::postgres();
    let mut c = RedisConfig::new(&redis.url()).unwrap();
    c.batch = 16;
    c.relay_poll = Duration::from_millis(20);
    let a = Arc::new(std::sync::Mutex::new(rig.open("replica a")));
    let b = Arc::new(std::sync::Mutex::new(rig.open("replica b")));
    let (wake_a, wake_b) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    let relay_a = Relay::spawn_shared(c.clone(), a.clone(), wake_a.clone());
    let relay_b = Relay::spawn_shared(c.clone(), b.clone(), wake_b.clone());
    // Both replicas write while both relays run.
    let writers: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .enumerate()
        .map(|(w, store)| {
            let (wa, wb) = (wake_a.clone(), wake_b.clone());
            tokio::task::spawn_blocking(move || {
                for n in 0..150 {
                    let mut s = store.lock().unwrap();
                    s.create(new(&format!("w{w}-{n}")), None).unwrap();
                    drop(s);
                    wa.notify_one();
                    wb.notify_one();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = rig.open("check").outbox_len().unwrap();
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} events never left the outbox"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    relay_a.shutdown().await;
    relay_b.shutdown().await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for body in crate::support::redis::stream_envelopes(&redis.url(), &c.stream_key).await {
        let id = body["event_id"].as_str().expect("event_id").to_string();
        *seen.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "published more than once: {twice:?}");
    assert_eq!(seen.len(), 300, "every event published");
}
