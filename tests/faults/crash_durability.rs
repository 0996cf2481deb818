//! Kill (SIGKILL) a process in the middle of a burst of commands, 50 times
//! at random points, then reopen the store: every command the killed
//! process reported committed is there, nothing is half-written, the outbox
//! holds every unsent event, and `PRAGMA integrity_check` is ok.
//!
//! The child is this test binary itself, re-run with `AACON_BURST_DIR` set:
//! it commits as fast as it can and prints each committed name. The second
//! test does the same through group commit (`Store::group`: several
//! commands share one transaction and one fsync, reported only after the
//! group's COMMIT returned). Both run against SQLite and against a real
//! PostgreSQL (the store port's two adapters): the writer process is
//! killed, the database server stays.

use aacon::domain::{DesiredState, InstancePatch, NewInstance};
use aacon::paths::{DataDir, StoreUrl};
use aacon::platform::EventQuery;
use aacon::store::{StorePort, port};
use serde_json::json;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

const ROUNDS: usize = 50;

/// Commands per group in the group-commit burst.
const GROUP: usize = 8;

/// The data dir `dir`, its store at `AACON_BURST_PG` when set.
fn data_dir(dir: &str, pg: Option<String>) -> DataDir {
    DataDir::new(dir).with_store_url(pg.map(StoreUrl::new))
}

fn burst(dir: &str, grouped: bool) {
    let dir = data_dir(dir, std::env::var("AACON_BURST_PG").ok());
    let mut store = port::open(&dir, "burst").unwrap();
    let out = std::io::stdout();
    let round = std::env::var("AACON_BURST_ROUND").unwrap();
    let per_group = if grouped { GROUP } else { 1 };
    for g in 0.. {
        let names: Vec<String> = (0..per_group)
            .map(|k| format!("r{round}-i{}", g * per_group + k))
            .collect();
        let one = |store: &mut dyn StorePort, name: &str, i: usize| {
            let new = NewInstance {
                name: name.to_string(),
                description: None,
                server_spec_id: None,
                json_spec: json!({"command": ["srv", i.to_string()]}),
            };
            let (inst, _) = store.create(new, None).unwrap();
            let patch = InstancePatch {
                description: Some(Some(format!("v2-{i}"))),
                ..Default::default()
            };
            store.update(inst.id, patch, None, None).unwrap();
            store
                .set_desired(inst.id, DesiredState::Running, None)
                .unwrap();
        };
        if grouped {
            store
                .group(|s| {
                    for (k, name) in names.iter().enumerate() {
                        one(s, name, g * per_group + k);
                    }
                })
                .unwrap();
        } else {
            one(&mut *store, &names[0], g);
        }
        // Reported only after all three commands (of every instance in the
        // group) committed.
        let mut o = out.lock();
        for name in &names {
            writeln!(o, "COMMITTED {name}").unwrap();
        }
        o.flush().unwrap();
    }
}

#[test]
fn sigkill_mid_burst_loses_nothing_committed() {
    kill_rounds("sigkill_mid_burst_loses_nothing_committed", false, false);
}

#[test]
fn sigkill_mid_group_commit_loses_nothing_committed() {
    kill_rounds(
        "sigkill_mid_group_commit_loses_nothing_committed",
        true,
        false,
    );
}

#[test]
fn sigkill_mid_burst_loses_nothing_committed_on_postgres() {
    kill_rounds(
        "sigkill_mid_burst_loses_nothing_committed_on_postgres",
        false,
        true,
    );
}

#[test]
fn sigkill_mid_group_commit_loses_nothing_committed_on_postgres() {
    kill_rounds(
        "sigkill_mid_group_commit_loses_nothing_committed_on_postgres",
        true,
        true,
    );
}

fn kill_rounds(test: &str, grouped: bool, on_postgres: bool) {
    if let Ok(dir) = std::env::var("AACON_BURST_DIR") {
        burst(&dir, grouped);
        return;
    }
    let pg = on_postgres.then(crate::support::postgres::Postgres::start);
    let url = pg.as_ref().map(|pg| pg.create_db("burst"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_string_lossy().into_owned();
    let exe = std::env::current_exe().unwrap();
    let test = crate::support::test_name(module_path!(), test);
    let mut reported: HashSet<String> = HashSet::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .args(["--exact", &test, "--nocapture", "--test-threads=1"])
            .env("AACON_BURST_DIR", &dir)
            .env("AACON_BURST_ROUND", round.to_string())
            .envs(url.iter().map(|u| ("AACON_BURST_PG", u.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(name) = line.strip_prefix("COMMITTED ")
                    && tx.send(name.to_string()).is_err()
                {
                    break;
                }
            }
        });
        // A random point: after the first few commits, 0–150 ms in.
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the child commits");
        reported.insert(first);
        let wait = Duration::from_millis(rand_ms(round));
        std::thread::sleep(wait);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        reported.extend(rx.try_iter());
    }

    let store = port::open(&data_dir(&dir, url.clone()), "check").unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let instances = store.list().unwrap();
    let names: HashSet<&str> = instances.iter().map(|i| i.name.as_str()).collect();
    for r in &reported {
        assert!(
            names.contains(r.as_str()),
            "{r} was reported committed but is missing"
        );
    }
    assert!(
        reported.len() >= ROUNDS,
        "each round reported at least one commit"
    );
    // Nothing half-written: every instance is whole (its create, update and
    // desired state either committed as reported, or the later ones are
    // simply absent), and every event has its outbox row.
    let events = store.events(&EventQuery::default()).unwrap();
    for inst in &instances {
        let mine: Vec<_> = events
            .iter()
            .filter(|e| e.instance_id() == Some(inst.id))
            .collect();
        assert_eq!(
            mine.len() as u64,
            inst.aggregate_version,
            "{}: one event per version",
            inst.name
        );
        if reported.contains(&inst.name) {
            assert_eq!(inst.version, 2);
            assert_eq!(inst.desired_state, DesiredState::Running);
        }
    }
    assert_eq!(
        store.outbox_len().unwrap() as usize,
        events.len(),
        "nothing was sent, so every event is still in the outbox"
    );
    eprintln!(
        "{} rounds, {} reported commits, {} instances, {} events",
        ROUNDS,
        reported.len(),
        instances.len(),
        events.len()
    );
}

/// A spread of kill points without a random-number dependency in the test.
fn rand_ms(round: usize) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0) as usize;
    ((nanos ^ (round * 2_654_435_761)) % 150) as u64
}
