use super::*;
use serde_json::json;

fn new(name: &str) -> NewInstance {
    NewInstance {
        name: name.into(),
        description: None,
        server_spec_id: None,
        json_spec: json!({"command": ["mcp-server"], "args": ["--stdio"]}),
    }
}

fn count(store: &Store, table: &str) -> i64 {
    store
        .conn
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn create_list_get_by_name_and_id() {
    let mut s = Store::open_in_memory("test").unwrap();
    let (a, ev) = s.create(new("alpha"), Some("corr-1".into())).unwrap();
    assert_eq!(ev.kind(), Some(EventType::Created));
    assert_eq!(ev.correlation_id.as_deref(), Some("corr-1"));
    assert_eq!(ev.aggregate_version, Some(1));
    assert_eq!(a.version, 1);
    assert_eq!(a.status, Status::Pending);
    assert_eq!(a.desired_state, DesiredState::Stopped);
    s.create(new("beta"), None).unwrap();
    let names: Vec<String> = s.list().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert_eq!(s.get("alpha").unwrap().id, a.id);
    assert_eq!(s.get(&a.id.to_string()).unwrap().name, "alpha");
    let err = s.get("nope").unwrap_err();
    assert_eq!(err.exit_code(), 4);
    assert_eq!(err.to_string(), "no instance named or with id 'nope'");
}

#[test]
fn duplicate_names_are_a_conflict() {
    let mut s = Store::open_in_memory("test").unwrap();
    s.create(new("alpha"), None).unwrap();
    let err = s.create(new("alpha"), None).unwrap_err();
    assert!(matches!(err, PlatformError::Conflict(_)));
    assert!(
        err.to_string()
            .starts_with("an instance named 'alpha' already exists")
    );
    assert_eq!(count(&s, "events"), 1);
}

#[test]
fn bad_input_changes_nothing() {
    let mut s = Store::open_in_memory("test").unwrap();
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
    assert_eq!(count(&s, "instances"), 0);
    assert_eq!(count(&s, "events"), 0);
    assert_eq!(count(&s, "outbox"), 0);
}

#[test]
fn update_bumps_versions_and_records_changed_fields() {
    let mut s = Store::open_in_memory("cli@host pid 1").unwrap();
    let (a, _) = s.create(new("alpha"), None).unwrap();
    let patch = InstancePatch {
        description: Some(Some("hello".into())),
        ..Default::default()
    };
    let (b, ev) = s
        .update(a.id, patch, Some(Precondition::Version(1)), None)
        .unwrap();
    assert_eq!(b.version, 2);
    assert_eq!(b.aggregate_version, 2);
    assert_eq!(b.description.as_deref(), Some("hello"));
    assert_eq!(ev.data["changed"], json!(["description"]));
    assert_eq!(s.get("alpha").unwrap(), b);
}

#[test]
fn stale_version_is_a_conflict_naming_who_what_and_when() {
    let mut s = Store::open_in_memory("console@laptop pid 7").unwrap();
    let (a, _) = s.create(new("alpha"), None).unwrap();
    let spec = json!({"command": ["other"]});
    s.update(
        a.id,
        InstancePatch {
            json_spec: Some(spec),
            ..Default::default()
        },
        Some(Precondition::Version(1)),
        None,
    )
    .unwrap();
    let err = s
        .update(
            a.id,
            InstancePatch {
                description: Some(Some("mine".into())),
                ..Default::default()
            },
            Some(Precondition::Version(1)),
            None,
        )
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

#[test]
fn updated_at_precondition_for_remote_style_clients() {
    let mut s = Store::open_in_memory("t").unwrap();
    let (a, _) = s.create(new("alpha"), None).unwrap();
    let ok = s.update(
        a.id,
        InstancePatch {
            description: Some(None),
            ..Default::default()
        },
        Some(Precondition::UpdatedAt(a.updated_at)),
        None,
    );
    assert!(ok.is_ok());
    let stale = s.update(
        a.id,
        InstancePatch {
            description: Some(None),
            ..Default::default()
        },
        Some(Precondition::UpdatedAt(a.updated_at)),
        None,
    );
    assert!(matches!(stale, Err(PlatformError::Conflict(_))));
}

#[test]
fn injected_failure_between_state_and_event_leaves_neither() {
    let mut s = Store::open_in_memory("t").unwrap();
    let (a, _) = s.create(new("alpha"), None).unwrap();
    s.inject_fault(Some(FaultPoint::AfterStateWrite));
    let err = s.create(new("beta"), None).unwrap_err();
    assert!(err.to_string().contains("injected fault"));
    assert!(matches!(s.get("beta"), Err(PlatformError::NotFound(_))));
    s.inject_fault(Some(FaultPoint::AfterStateWrite));
    let patch = InstancePatch {
        description: Some(Some("x".into())),
        ..Default::default()
    };
    s.update(a.id, patch, None, None).unwrap_err();
    assert_eq!(s.get("alpha").unwrap().version, 1);
    assert_eq!(count(&s, "events"), 1);
    assert_eq!(count(&s, "outbox"), 1);
}

#[test]
fn every_command_lands_in_log_and_outbox_until_sent() {
    let mut s = Store::open_in_memory("t").unwrap();
    let (a, _) = s.create(new("alpha"), None).unwrap();
    s.set_desired(a.id, DesiredState::Running, None).unwrap();
    s.report_status(
        a.id,
        StatusReport {
            status: Some(Status::Running),
            healthy_now: true,
            tool_count: Some(Some(3)),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    s.report_status(
        a.id,
        StatusReport {
            error: Some("boom".into()),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    s.delete(a.id, None).unwrap();
    let pending = s.outbox_pending(100).unwrap();
    let types: Vec<_> = pending.iter().map(|(_, e)| e.kind().unwrap()).collect();
    assert_eq!(
        types,
        [
            EventType::Created,
            EventType::Started,
            EventType::StatusChanged,
            EventType::Error,
            EventType::Deleted
        ]
    );
    let versions: Vec<_> = pending
        .iter()
        .map(|(_, e)| e.aggregate_version.unwrap())
        .collect();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
    s.outbox_mark_sent(&[pending[0].0, pending[1].0]).unwrap();
    assert_eq!(s.outbox_len().unwrap(), 3);
    assert_eq!(s.outbox_pending(1).unwrap()[0].0, pending[2].0);
    // Soft delete: gone from queries, history kept.
    assert!(s.list().unwrap().is_empty());
    assert_eq!(
        s.events(&EventQuery {
            instance: Some(a.id),
            ..Default::default()
        })
        .unwrap()
        .len(),
        5
    );
    let last2 = s
        .events(&EventQuery {
            limit: Some(2),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        last2.iter().map(|e| e.kind().unwrap()).collect::<Vec<_>>(),
        [EventType::Error, EventType::Deleted]
    );
    // The name is free again.
    s.create(new("alpha"), None).unwrap();
}

#[test]
fn runtime_status_is_kept_apart_from_the_config_version() {
    let mut s = Store::open_in_memory("t").unwrap();
    let (a, _) = s.create(new("alpha"), None).unwrap();
    let (b, ev) = s
        .report_status(
            a.id,
            StatusReport {
                status: Some(Status::Starting),
                ..Default::default()
            },
            Some("c9".into()),
        )
        .unwrap();
    assert_eq!(b.version, 1, "status reports must not conflict with edits");
    assert_eq!(b.aggregate_version, 2);
    assert_eq!(ev.previous_status(), Some(Status::Pending));
    assert_eq!(ev.correlation_id.as_deref(), Some("c9"));
    let patch = InstancePatch {
        description: Some(Some("x".into())),
        ..Default::default()
    };
    assert!(
        s.update(a.id, patch, Some(Precondition::Version(1)), None)
            .is_ok()
    );
}

#[test]
fn newer_schema_is_refused_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aacon.db");
    {
        let s = Store::open(&path, "t").unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        s.conn
            .execute("UPDATE schema_meta SET version = 99", [])
            .unwrap();
    }
    let err = Store::open(&path, "t").err().unwrap().to_string();
    assert!(
        err.contains("was written by a newer aacon (schema 99)"),
        "{err}"
    );
}

#[test]
fn file_store_survives_reopen_and_passes_integrity_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aacon.db");
    let id = {
        let mut s = Store::open(&path, "t").unwrap();
        s.create(new("alpha"), None).unwrap().0.id
    };
    let s = Store::open(&path, "t").unwrap();
    assert_eq!(s.get("alpha").unwrap().id, id);
    assert_eq!(s.integrity_check().unwrap(), "ok");
    assert_eq!(s.last_seq().unwrap(), 1);
}

#[test]
fn not_a_database_is_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aacon.db");
    std::fs::write(&path, b"this is not sqlite at all, not even close..........................................................").unwrap();
    let err = Store::open(&path, "t").err().unwrap().to_string();
    assert!(err.contains("is it a SQLite database?"), "{err}");
}

#[test]
fn discovered_tools_are_replaced_per_instance() {
    let mut s = Store::open_in_memory("test").unwrap();
    let (a, _) = s.create(new("alpha"), None).unwrap();
    let (b, _) = s.create(new("beta"), None).unwrap();
    let tool = |n: &str| ToolRecord {
        name: n.into(),
        description: Some(format!("{n} tool")),
        input_schema: json!({"type": "object", "required": [n]}),
        annotations: (n == "echo").then(|| json!({"readOnlyHint": true})),
    };
    s.set_tools(a.id, &[tool("echo"), tool("add")]).unwrap();
    s.set_tools(b.id, &[tool("time")]).unwrap();
    let got = s.tools(a.id).unwrap();
    assert_eq!(got, vec![tool("add"), tool("echo")]);
    s.set_tools(a.id, &[tool("ping")]).unwrap();
    assert_eq!(s.tools(a.id).unwrap(), vec![tool("ping")]);
    assert_eq!(s.tools(b.id).unwrap(), vec![tool("time")]);
    assert_eq!(count(&s, "events"), 2, "tool discovery writes no events");
}

#[test]
fn unreadable_outbox_rows_at_the_head_never_stall_the_relay() {
    let mut s = Store::open_in_memory("t").unwrap();
    for n in ["a", "b", "c"] {
        s.create(new(n), None).unwrap();
    }
    s.conn
        .execute("UPDATE events SET envelope = 'garbage' WHERE seq <= 2", [])
        .unwrap();
    let pending = s.outbox_pending(1).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].1.instance_name(), Some("c"));
}

#[test]
fn group_commit_keeps_each_commands_result_and_a_failure_to_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("aacon.db");
    let mut s = Store::open(&path, "test").unwrap();
    let (a, _) = s.create(new("alpha"), None).unwrap();
    let results = s
        .group(|g| {
            let b = g.create(new("beta"), None);
            // Fails on its own: the name is taken.
            let dup = g.create(new("alpha"), None);
            // Fails after its state write: only that write is rolled back.
            g.inject_fault(Some(FaultPoint::AfterStateWrite));
            let faulty = g.set_desired(a.id, DesiredState::Running, None);
            let c = g.create(new("gamma"), None);
            let upd = g.update(
                a.id,
                InstancePatch {
                    description: Some(Some("after the failures".into())),
                    ..Default::default()
                },
                Some(Precondition::Version(1)),
                None,
            );
            (b, dup, faulty, c, upd)
        })
        .unwrap();
    let (b, dup, faulty, c, upd) = results;
    assert_eq!(b.unwrap().0.name, "beta");
    assert!(matches!(dup.unwrap_err(), PlatformError::Conflict(_)));
    assert!(faulty.unwrap_err().to_string().contains("injected fault"));
    assert_eq!(c.unwrap().0.name, "gamma");
    assert_eq!(upd.unwrap().0.version, 2);
    drop(s);
    // Reopened: exactly the successful commands, each with its event and
    // outbox row; the failed ones left nothing.
    let s = Store::open(&path, "test").unwrap();
    let names: Vec<String> = s.list().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["alpha", "beta", "gamma"]);
    let alpha = s.get("alpha").unwrap();
    assert_eq!(alpha.desired_state, DesiredState::Stopped);
    assert_eq!(alpha.description.as_deref(), Some("after the failures"));
    assert_eq!(count(&s, "events"), 4);
    assert_eq!(count(&s, "outbox"), 4);
    assert_eq!(s.integrity_check().unwrap(), "ok");
}

#[test]
fn a_command_outside_a_group_still_commits_alone() {
    let mut s = Store::open_in_memory("test").unwrap();
    s.group(|g| g.create(new("inside"), None).map(|_| ()))
        .unwrap()
        .unwrap();
    // The group ended: a plain command opens its own transaction again.
    s.create(new("outside"), None).unwrap();
    assert!(s.conn.is_autocommit());
    assert_eq!(count(&s, "events"), 2);
}

#[test]
fn a_notice_is_an_event_of_the_instance_that_changes_no_state() {
    let mut s = Store::open_in_memory("test").unwrap();
    let (a, _) = s.create(new("alpha"), None).unwrap();
    let (after, env) = s
        .record_notice(
            a.id,
            json!({"notification": "notifications/resources/updated", "subject": "demo://x", "count": 3}),
        )
        .unwrap();
    assert_eq!(after, s.get("alpha").unwrap(), "the row is untouched");
    assert_eq!(after.aggregate_version, a.aggregate_version);
    assert!(env.is_notice());
    assert_eq!(env.kind(), None, "not a state event");
    assert_eq!(env.instance_id(), Some(a.id));
    assert_eq!(env.instance_name(), Some("alpha"));
    assert_eq!(
        env.notice_summary().as_deref(),
        Some("resources/updated demo://x ×3")
    );
    let history = s
        .events(&EventQuery {
            instance: Some(a.id),
            ..Default::default()
        })
        .unwrap();
    assert!(history.iter().any(|e| e.event_id == env.event_id));
    // The projection passes it by.
    let mut p = crate::domain::projection::Projection::new();
    assert_eq!(p.apply(&env), crate::domain::projection::Applied::Unknown);
    assert!(s.record_notice(Uuid::new_v4(), json!({})).is_err());
}
