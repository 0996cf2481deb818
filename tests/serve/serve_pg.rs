//! `aacon serve` and `aacon instances` on PostgreSQL (`AACON_STORE_URL`):
//! two serve processes on two data dirs share one database, so what one
//! creates the other lists and updates; the CLI reads the same; the URL's
//! password reaches no output, log file or data dir.

use crate::support::postgres::Postgres;
use crate::support::serve::Serve;
use aacon::domain::{InstancePatch, NewInstance, Precondition};
use aacon::platform::Platform;
use aacon::platform::api::{ApiOptions, ApiPlatform};
use serde_json::json;
use std::ffi::OsStr;
use std::process::Command;
use std::time::Duration;

const CANARY: &str = "pw-canary-5521";

fn client(url: &str) -> ApiPlatform {
    let mut o = ApiOptions::new(url);
    o.timeout = Duration::from_secs(20);
    ApiPlatform::new(o).unwrap()
}

/// Every file below `dir`, as text, holds no `needle`.
fn assert_not_in_files(dir: &std::path::Path, needle: &str) {
    for e in walk(dir) {
        let bytes = std::fs::read(&e).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(needle),
            "{} holds the store password",
            e.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_replicas_on_one_postgres_create_list_and_update() {
    let pg = Postgres::start();
    let plain = pg.create_db("shared");
    // The server trusts loopback, so the password is carried, not checked:
    // it stands for a real one that must never be shown.
    let url = plain.replacen("postgres@", &format!("postgres:{CANARY}@"), 1);
    let tmp = tempfile::tempdir().unwrap();
    let env = [("AACON_STORE_URL", OsStr::new(&url))];
    let a = Serve::start_with_env(&tmp.path().join("a"), &tmp.path().join("config"), &[], &env);
    let b = Serve::start_with_env(&tmp.path().join("b"), &tmp.path().join("config"), &[], &env);
    let (ca, cb) = (client(&a.url), client(&b.url));

    let new: NewInstance = serde_json::from_value(
        json!({"name": "shared-one", "json_spec": {"command": ["mcp-server"]}}),
    )
    .unwrap();
    let made = ca.create(new).await.unwrap();
    let listed = cb.list().await.unwrap();
    assert_eq!(
        listed.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        ["shared-one"],
        "replica b lists what replica a created"
    );
    let patch = InstancePatch {
        description: Some(Some("edited on b".into())),
        ..Default::default()
    };
    let edited = cb
        .update(made.id, patch.clone(), Some(Precondition::Version(1)))
        .await
        .unwrap();
    assert_eq!(edited.version, 2);
    let seen = ca.get(&made.id.to_string()).await.unwrap();
    assert_eq!(seen.description.as_deref(), Some("edited on b"));
    // The same stale edit on a is a conflict: the check is the database's.
    let stale = ca
        .update(made.id, patch, Some(Precondition::Version(1)))
        .await
        .unwrap_err();
    assert_eq!(stale.exit_code(), 5, "{stale}");

    // The CLI on a third data dir reads the same store.
    let out = Command::new(env!("CARGO_BIN_EXE_aacon"))
        .arg("--data-dir")
        .arg(tmp.path().join("cli"))
        .args(["instances", "list", "-o", "json"])
        .env("AACON_CONFIG_DIR", tmp.path().join("config"))
        .env_remove("AACON_API_URL")
        .env_remove("AACON_REDIS_URL")
        .env("AACON_STORE_URL", &url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("edited on b"), "{stdout}");

    // `config show` names the store with its password masked.
    let show = Command::new(env!("CARGO_BIN_EXE_aacon"))
        .arg("--data-dir")
        .arg(tmp.path().join("cli"))
        .args(["config", "show"])
        .env("AACON_CONFIG_DIR", tmp.path().join("config"))
        .env("AACON_STORE_URL", &url)
        .output()
        .unwrap();
    let shown =
        String::from_utf8_lossy(&show.stdout).to_string() + &String::from_utf8_lossy(&show.stderr);
    assert!(shown.contains("store.url"), "{shown}");
    for text in [stdout.as_ref(), stderr.as_ref(), shown.as_str()] {
        assert!(!text.contains(CANARY), "the password was shown: {text}");
    }
    drop((a, b));
    assert_not_in_files(tmp.path(), CANARY);
}

#[test]
fn an_unreachable_store_is_one_sentence_without_the_password() {
    let port = crate::support::free_port();
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_aacon"))
        .arg("--data-dir")
        .arg(tmp.path().join("cli"))
        .args(["instances", "list"])
        .env("AACON_CONFIG_DIR", tmp.path().join("config"))
        .env_remove("AACON_API_URL")
        .env(
            "AACON_STORE_URL",
            format!("postgres://aacon:{CANARY}@127.0.0.1:{port}/aacon?connect_timeout=2"),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}/aacon")),
        "{stderr}"
    );
    assert!(!stderr.contains(CANARY), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

/// Two embedded platforms (two replicas' processes, two data dirs) on one
/// PostgreSQL: what one commits reaches the other's subscribers through
/// LISTEN/NOTIFY, and closing a platform ends its tail and its listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_on_one_replica_reaches_the_others_subscribers() {
    use aacon::paths::{DataDir, StoreUrl};
    use aacon::platform::PlatformEvent;
    use aacon::platform::embedded::{EmbeddedOptions, Role};
    let pg = Postgres::start();
    let url = StoreUrl::new(pg.create_db("tail"));
    let tmp = tempfile::tempdir().unwrap();
    let open = |name: &str| {
        aacon::host::open_embedded(
            DataDir::new(tmp.path().join(name)).with_store_url(Some(url.clone())),
            EmbeddedOptions {
                role: Role::Cli,
                host_runtime: false,
            },
        )
        .unwrap()
    };
    let (a, b) = (open("a"), open("b"));
    let mut seen = b.subscribe();
    let new: NewInstance =
        serde_json::from_value(json!({"name": "across", "json_spec": {"command": ["mcp-server"]}}))
            .unwrap();
    let made = a.create(new).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Ok(PlatformEvent::Event(e)) = seen.recv().await
                && e.instance_id() == Some(made.id)
            {
                return e;
            }
        }
    })
    .await
    .expect("replica b hears replica a's commit");
    assert_eq!(got.instance_name(), Some("across"));
    // Closing ends the tail (its listener let go of the wake sender).
    tokio::task::spawn_blocking(move || drop((a, b)))
        .await
        .unwrap();
}

/// On a PostgreSQL store the instances are shared by lease between serve
/// replicas: each serve takes only its own data dir's lock (two on one
/// database both do), and a console or a background host does not host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_serve_replicas_take_their_own_lock_and_nothing_else_hosts() {
    use aacon::paths::{DataDir, StoreUrl};
    use aacon::platform::embedded::{EmbeddedOptions, Role};
    let pg = Postgres::start();
    let url = StoreUrl::new(pg.create_db("host"));
    let tmp = tempfile::tempdir().unwrap();
    let open = |name: &str, role: Role| {
        aacon::host::open_embedded(
            DataDir::new(tmp.path().join(name)).with_store_url(Some(url.clone())),
            EmbeddedOptions {
                role,
                host_runtime: false,
            },
        )
        .unwrap()
    };
    let (a, b) = (open("a", Role::Serve), open("b", Role::Serve));
    let (console, host) = (open("c", Role::Console), open("d", Role::Host));
    let all = tokio::task::spawn_blocking(move || {
        assert!(a.try_take_runtime(Role::Serve).unwrap(), "a serve replica");
        assert!(
            b.try_take_runtime(Role::Serve).unwrap(),
            "another serve replica on the same database, with its own data dir"
        );
        assert!(!console.try_take_runtime(Role::Console).unwrap());
        assert!(!host.try_take_runtime(Role::Host).unwrap());
        (a, b, console, host)
    })
    .await
    .unwrap();
    tokio::task::spawn_blocking(move || drop(all))
        .await
        .unwrap();
}
