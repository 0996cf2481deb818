use super::*;
use crate::domain::EventType;
use serde_json::json;

fn opts(role: Role, host: bool) -> EmbeddedOptions {
    EmbeddedOptions {
        role,
        host_runtime: host,
    }
}

fn new(name: &str) -> NewInstance {
    NewInstance {
        name: name.into(),
        description: None,
        server_spec_id: None,
        json_spec: json!({"command": "srv"}),
    }
}

async fn next_event(rx: &mut broadcast::Receiver<PlatformEvent>) -> Arc<Envelope> {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("an event within 5 s")
            .unwrap();
        if let PlatformEvent::Event(e) = ev {
            return e;
        }
    }
}

#[tokio::test]
async fn two_platforms_on_one_dir_see_each_others_events() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    let a = EmbeddedPlatform::open(dir.clone(), opts(Role::Console, true)).unwrap();
    let b = EmbeddedPlatform::open(dir.clone(), opts(Role::Cli, false)).unwrap();
    let mut rx_a = a.subscribe();
    let mut rx_b = b.subscribe();
    let created = b.create(new("web")).await.unwrap();
    let seen_by_a = next_event(&mut rx_a).await;
    assert_eq!(seen_by_a.kind(), Some(EventType::Created));
    assert_eq!(seen_by_a.instance_id(), Some(created.id));
    let seen_by_b = next_event(&mut rx_b).await;
    assert_eq!(seen_by_b.event_id, seen_by_a.event_id);
    // The console holds the runtime lock; the CLI names it.
    assert!(a.is_runtime_host());
    assert!(!b.is_runtime_host());
    let out = b.start(created.id).await.unwrap();
    assert!(
        out.message.contains("the runtime host (console pid"),
        "{}",
        out.message
    );
    drop(a);
    let out = b.stop(created.id).await.unwrap();
    assert!(
        out.message.contains("no runtime host is up"),
        "{}",
        out.message
    );
    assert!(b.try_take_runtime(Role::Serve).unwrap());
}

#[tokio::test]
async fn read_only_refuses_every_mutation_at_the_port() {
    let tmp = tempfile::tempdir().unwrap();
    let inner: Arc<dyn Platform> =
        Arc::new(EmbeddedPlatform::open(DataDir::new(tmp.path()), opts(Role::Cli, false)).unwrap());
    let inst = inner.create(new("web")).await.unwrap();
    let ro = crate::platform::ReadOnly(inner.clone());
    assert!(ro.info().read_only);
    assert_eq!(ro.list().await.unwrap().len(), 1);
    let errs = [
        ro.create(new("other")).await.err(),
        ro.update(
            inst.id,
            InstancePatch {
                description: Some(None),
                ..Default::default()
            },
            None,
        )
        .await
        .err(),
        ro.delete(inst.id).await.err(),
        ro.start(inst.id).await.err(),
        ro.stop(inst.id).await.err(),
    ];
    for e in errs {
        let e = e.expect("refused");
        assert!(matches!(e, PlatformError::ReadOnly(_)));
        assert!(e.to_string().starts_with("read-only mode: "), "{e}");
    }
    let still = inner.get("web").await.unwrap();
    assert_eq!(still, inst, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_commands_each_get_their_own_result() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Arc::new(
        EmbeddedPlatform::open(DataDir::new(tmp.path()), opts(Role::Serve, false)).unwrap(),
    );
    // 200 creates at once, every name twice: one of each pair wins,
    // the other is refused with its own conflict; no neighbour fails.
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let p = p.clone();
            tokio::spawn(async move { p.create(new(&format!("n{}", i / 2))).await })
        })
        .collect();
    let mut ok = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(inst) => ok.push(inst.name),
            Err(PlatformError::Conflict(m)) => {
                assert!(m.contains("already exists"), "{m}");
                conflicts += 1;
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    ok.sort();
    ok.dedup();
    assert_eq!(ok.len(), 200);
    assert_eq!(conflicts, 200);
    let listed = p.list().await.unwrap();
    assert_eq!(listed.len(), 200);
    let store = p.store();
    let s = store.lock().unwrap();
    assert_eq!(s.outbox_len().unwrap(), 200);
    assert_eq!(s.last_seq().unwrap(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_caller_commits_on_its_own_thread_and_every_commit_is_seen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    let p = EmbeddedPlatform::open(dir.clone(), opts(Role::Serve, false)).unwrap();
    let other = EmbeddedPlatform::open(dir, opts(Role::Cli, false)).unwrap();
    let mut rx = p.subscribe();
    let mut rx_other = other.subscribe();
    // One caller awaiting each command in turn: after the first (the
    // writer's, alone), each commits on the caller's own thread.
    for i in 0..5 {
        let inst = p.create(new(&format!("w{i}"))).await.unwrap();
        // This process's tail and the other process are woken at once.
        assert_eq!(next_event(&mut rx).await.instance_id(), Some(inst.id));
        assert_eq!(next_event(&mut rx_other).await.instance_id(), Some(inst.id));
    }
    // A failing command fails alone and the next one commits.
    let e = p.create(new("w0")).await.unwrap_err();
    assert!(matches!(e, PlatformError::Conflict(_)), "{e}");
    p.create(new("w5")).await.unwrap();
    assert!(
        p.committer.by_callers.load(Ordering::Relaxed) >= 5,
        "the lone caller committed on its own thread"
    );
    let store = p.store();
    let s = store.lock().unwrap();
    assert_eq!(s.outbox_len().unwrap(), 6);
    assert_eq!(s.last_seq().unwrap(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_queued_behind_a_lone_commit_share_the_writers_group() {
    let tmp = tempfile::tempdir().unwrap();
    let p = Arc::new(
        EmbeddedPlatform::open(DataDir::new(tmp.path()), opts(Role::Serve, false)).unwrap(),
    );
    p.create(new("first")).await.unwrap();
    // Hold the store (on a thread of its own): whoever comes now queues
    // for the writer thread.
    let (held, is_held) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let store = p.store();
    let holder = std::thread::spawn(move || {
        let _guard = store.lock().unwrap();
        held.send(()).unwrap();
        let _ = released.recv();
    });
    is_held.recv().unwrap();
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let p = p.clone();
            tokio::spawn(async move { p.create(new(&format!("q{}", i % 16))).await })
        })
        .collect();
    while p.committer.queued.load(Ordering::Acquire) < 32 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    release.send(()).unwrap();
    holder.join().unwrap();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(PlatformError::Conflict(_)) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(ok, 16);
    // The writer committed every queued one (only "first" went alone).
    assert_eq!(p.committer.by_callers.load(Ordering::Relaxed), 1);
    assert_eq!(p.committer.queued.load(Ordering::Acquire), 0);
    assert_eq!(p.list().await.unwrap().len(), 17);
}

#[test]
fn durations_parse_or_say_how_to_write_them() {
    let t = since("5m").unwrap();
    assert!((Utc::now() - t).num_seconds() >= 299);
    assert!(since("soon").unwrap_err().to_string().contains("like 30s"));
    assert!(since("5y").is_err());
}

#[tokio::test]
async fn each_platform_listens_for_nudges_and_takes_its_socket_away() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    let count = || std::fs::read_dir(dir.nudges()).unwrap().count();
    let a = EmbeddedPlatform::open(dir.clone(), opts(Role::Console, true)).unwrap();
    let b = EmbeddedPlatform::open(dir.clone(), opts(Role::Cli, false)).unwrap();
    assert_eq!(count(), 2);
    let mut rx_a = a.subscribe();
    let created = b.create(new("web")).await.unwrap();
    assert_eq!(next_event(&mut rx_a).await.instance_id(), Some(created.id));
    drop(b);
    assert_eq!(count(), 1);
    drop(a);
    assert_eq!(count(), 0);
}

#[tokio::test]
async fn a_late_subscriber_hears_every_commit_after_it_subscribed() {
    // Commits nobody subscribes to are skipped by the tail, not read; one
    // made after a subscriber arrived always reaches it, in order.
    let tmp = tempfile::tempdir().unwrap();
    let p = EmbeddedPlatform::open(DataDir::new(tmp.path()), opts(Role::Serve, false)).unwrap();
    for i in 0..20 {
        p.create(new(&format!("unheard-{i}"))).await.unwrap();
    }
    let mut rx = p.subscribe();
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(p.create(new(&format!("heard-{i}"))).await.unwrap().id);
    }
    let mut heard = Vec::new();
    while heard.len() < made.len() {
        let e = next_event(&mut rx).await;
        // Events committed before the subscription may still arrive (the
        // tail had not read them yet); those after it must.
        if let Some(id) = e.instance_id().filter(|id| made.contains(id)) {
            heard.push(id);
        }
    }
    assert_eq!(heard, made);
}
