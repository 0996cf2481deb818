//! A request reaching a replica that does not host its instance is
//! forwarded to the lease's owner (`src/serve/forward.rs`): two `aacon
//! serve` processes on one real PostgreSQL, the lease rows written here so
//! that replica B owns the instance; calls sent to A come back from B,
//! recorded once with the original caller; a forwarded request is never
//! forwarded again; an unowned running instance and an unreachable owner
//! are one sentence each.

use crate::support::FIXTURE;
use crate::support::postgres::Postgres;
use crate::support::serve::Serve;
use aacon::domain::NewInstance;
use aacon::platform::Platform;
use aacon::platform::api::{ApiOptions, ApiPlatform, ApiToken};
use aacon::platform::history::Caller;
use serde_json::{Value, json};
use std::ffi::OsStr;
use std::time::{Duration, Instant};
use uuid::Uuid;

const TOKEN: &str = "fwd-token-51c9e0";

fn api(url: &str) -> ApiPlatform {
    let mut o = ApiOptions::new(url);
    o.token = Some(ApiToken::new(TOKEN).unwrap());
    o.timeout = Duration::from_secs(30);
    ApiPlatform::new(o).unwrap()
}

/// A client that connects from 127.0.0.2, so the owner's record of the
/// caller tells it apart from the forwarding replica (127.0.0.1).
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

struct Answer {
    status: u16,
    replica: Option<String>,
    forwarded_to: Option<String>,
    body: Value,
}

async fn send(rb: reqwest::RequestBuilder) -> Answer {
    let r = rb.bearer_auth(TOKEN).send().await.unwrap();
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (replica, forwarded_to) = (header("x-aacon-replica"), header("x-aacon-forwarded-to"));
    let status = r.status().as_u16();
    let body = r.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        replica,
        forwarded_to,
        body,
    }
}

fn call(base: &str, id: Uuid, message: &str) -> reqwest::RequestBuilder {
    http()
        .post(format!("{base}/v1/mcp-server-instances/{id}/tools/call"))
        .json(&json!({"name": "echo", "arguments": {"message": message}}))
}

fn start(dir: &std::path::Path, name: &str, url: &str) -> Serve {
    Serve::start_with_env(
        &dir.join(name),
        &dir.join("config"),
        &[],
        &[
            ("AACON_STORE_URL", OsStr::new(url)),
            ("AACON_API_TOKEN", OsStr::new(TOKEN)),
            ("AACON_REPLICA_ID", OsStr::new(name)),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_on_the_wrong_replica_is_answered_by_the_owner() {
    let pg = Postgres::start();
    let url = pg.create_db("fwd");
    let tmp = tempfile::tempdir().unwrap();
    let a = start(tmp.path(), "replica-a", &url);
    let mut b = start(tmp.path(), "replica-b", &url);
    let made = api(&a.url)
        .create(NewInstance {
            name: "hosted-on-b".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({"command": [FIXTURE]}),
        })
        .await
        .unwrap();
    let x = made.id;
    // The API client keeps the replica that answered, for the header.
    let client_a = api(&a.url);
    client_a.list().await.unwrap();
    assert_eq!(
        client_a.runtime_host().await,
        Some(aacon::platform::RuntimeHost::Remote {
            replica: Some("replica-a".into())
        })
    );

    // B holds X's lease (as its lease manager would after a claim); the
    // lease tables exist since both replicas connected to them.
    let b_address = b.url.trim_start_matches("http://").to_string();
    pg.psql(
        "fwd",
        &format!(
            "insert into replicas (id, address, expires_at) values ('replica-b', '{b_address}', now() + interval '1 hour');
             insert into leases (instance_id, owner, generation, acquired_at, expires_at)
               values ('{x}', 'replica-b', 1, now(), now() + interval '1 hour');"
        ),
    );

    // Either replica says B hosts X (the detail Overview's line).
    for base in [&a.url, &b.url] {
        assert_eq!(
            api(base).hosting(x).await.unwrap(),
            Some(aacon::platform::Hosting::By {
                replica: "replica-b".into(),
                address: b_address.clone()
            })
        );
    }

    // A tool call sent to A is answered by B.
    let got = send(call(&a.url, x, "via a")).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(got.body.to_string().contains("Echo: via a"), "{}", got.body);
    assert_eq!(
        got.replica.as_deref(),
        Some("replica-a"),
        "A took the request"
    );
    assert_eq!(
        got.forwarded_to.as_deref(),
        Some("replica-b"),
        "B's own x-aacon-replica comes back"
    );
    // The other session routes too (the server's identity, the log): B's
    // answer, whatever it is (the instance is not running there, so B
    // says so), with the status and body B gives when asked directly.
    for path in ["server", "logs"] {
        let via_a = send(http().get(format!("{}/v1/mcp-server-instances/{x}/{path}", a.url))).await;
        assert_eq!(via_a.forwarded_to.as_deref(), Some("replica-b"), "{path}");
        let direct =
            send(http().get(format!("{}/v1/mcp-server-instances/{x}/{path}", b.url))).await;
        assert_eq!(direct.forwarded_to, None, "B answers its own {path}");
        assert_eq!(direct.replica.as_deref(), Some("replica-b"));
        assert_eq!(
            (via_a.status, &via_a.body),
            (direct.status, &direct.body),
            "{path}"
        );
    }

    // Recorded once, at the owner, as the original caller's (the test's
    // 127.0.0.2, not A's 127.0.0.1).
    let deadline = Instant::now() + Duration::from_secs(20);
    let calls = loop {
        let calls = api(&b.url).history(x, 10).await.unwrap();
        if calls.iter().any(|c| c.name == "echo") {
            break calls;
        }
        assert!(Instant::now() < deadline, "never recorded: {calls:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    match &calls[0].caller {
        Caller::Api { token, peer } => {
            assert_eq!(token.as_deref(), Some("backend.token"));
            assert!(
                peer.as_deref().is_some_and(|p| p.starts_with("127.0.0.2:")),
                "recorded as {peer:?}, not the original caller"
            );
        }
        other => panic!("recorded as {other:?}"),
    }

    // The loop guard: a request already forwarded is never forwarded
    // again; A says who hosts the instance instead.
    let guarded = send(call(&a.url, x, "twice").header("x-aacon-forwarded-by", "replica-z")).await;
    assert_eq!(guarded.status, 503, "{}", guarded.body);
    let said = guarded.body["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        said.contains("forwarded a request for instance hosted-on-b by replica replica-z")
            && said.contains("replica replica-b hosts it now"),
        "{said}"
    );
    assert_eq!(guarded.forwarded_to, None);

    // An instance that should run but whose lease has no owner right now.
    let waiting = api(&a.url)
        .create(NewInstance {
            name: "between-owners".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({"command": ["/nonexistent/mcp-server"]}),
        })
        .await
        .unwrap();
    api(&a.url).start(waiting.id).await.unwrap();
    let unowned = send(call(&a.url, waiting.id, "anyone")).await;
    assert_eq!(unowned.status, 503, "{}", unowned.body);
    assert_eq!(
        unowned.body["detail"],
        "no replica hosts instance between-owners right now (its lease is between owners); try again"
    );

    // The owner goes away while its lease still stands: 502 naming it,
    // never an answer from A's own one-shot session.
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    let gone = send(call(&a.url, x, "after b")).await;
    assert_eq!(gone.status, 502, "{}", gone.body);
    let said = gone.body["detail"].as_str().unwrap_or_default().to_string();
    assert!(
        said.starts_with(&format!(
            "replica replica-b at {b_address}, which hosts instance hosted-on-b, cannot be reached"
        )),
        "{said}"
    );

    // Exactly one echo was recorded: the forwarded one.
    let calls = api(&a.url).history(x, 10).await.unwrap();
    assert_eq!(
        calls.iter().filter(|c| c.name == "echo").count(),
        1,
        "{calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_goes_away_cancels_the_call_at_the_owner() {
    let pg = Postgres::start();
    let url = pg.create_db("fwd");
    let tmp = tempfile::tempdir().unwrap();
    // B starts first and hosts the runtime (one process per database does
    // until leases are wired in); A only forwards.
    let b = start(tmp.path(), "replica-b", &url);
    let cb = api(&b.url);
    let made = cb
        .create(NewInstance {
            name: "waits".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({"command": [FIXTURE, "--client-requests"]}),
        })
        .await
        .unwrap();
    let x = made.id;
    cb.start(x).await.unwrap();
    let a = start(tmp.path(), "replica-a", &url);
    let b_address = b.url.trim_start_matches("http://").to_string();
    pg.psql(
        "fwd",
        &format!(
            "insert into replicas (id, address, expires_at) values ('replica-b', '{b_address}', now() + interval '1 hour');
             insert into leases (instance_id, owner, generation, acquired_at, expires_at)
               values ('{x}', 'replica-b', 1, now(), now() + interval '1 hour');"
        ),
    );
    let logs_of = |base: String| async move {
        send(http().get(format!("{base}/v1/mcp-server-instances/{x}/logs"))).await
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while logs_of(b.url.clone()).await.status != 200 {
        assert!(Instant::now() < deadline, "B never ran the instance");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A call that waits until cancelled, sent to A; the caller goes away.
    let wait = tokio::spawn(send(
        http()
            .post(format!("{}/v1/mcp-server-instances/{x}/tools/call", a.url))
            .json(&json!({"name": "wait", "arguments": {}})),
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    wait.abort();
    let _ = wait.await;

    // B cancelled the call: the server says so in its log, read through A.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let logs = logs_of(a.url.clone()).await;
        assert_eq!(logs.forwarded_to.as_deref(), Some("replica-b"));
        if logs.body.to_string().contains("fixture: wait cancelled") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the owner never cancelled the call: {}",
            logs.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
