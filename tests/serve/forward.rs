//! A request reaching a replica that does not host its instance is
//! forwarded to the lease's owner (`src/serve/forward.rs`): two `aacon
//! serve` processes on one real PostgreSQL share the instances by lease;
//! calls sent to the replica that does not host an instance come back from
//! the one that does, recorded once with the original caller; a forwarded
//! request is never forwarded again; an unreachable owner is one sentence.

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

/// The lease id (`NAME-SUFFIX`) of the replica holding `x`'s lease, once
/// one does.
async fn owner(pg: &Postgres, x: Uuid) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let o = pg.psql(
            "fwd",
            &format!(
                "select owner from leases where instance_id = '{x}' and owner is not null and expires_at > now()"
            ),
        );
        let o = o.trim();
        if !o.is_empty() {
            return o.to_string();
        }
        assert!(Instant::now() < deadline, "nobody took {x}'s lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    let b = start(tmp.path(), "replica-b", &url);
    let made = api(&a.url)
        .create(NewInstance {
            name: "hosted-once".into(),
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
    client_a.start(x).await.unwrap();

    // One replica takes X's lease; the other is the wrong one to ask.
    let lease_id = owner(&pg, x).await;
    let (mut host, other, host_name) = if lease_id.starts_with("replica-a-") {
        (a, b, "replica-a")
    } else {
        (b, a, "replica-b")
    };
    let host_address = host.url.trim_start_matches("http://").to_string();

    // Either replica says who hosts X (the detail Overview's line).
    for base in [&host.url, &other.url] {
        assert_eq!(
            api(base).hosting(x).await.unwrap(),
            Some(aacon::platform::Hosting::By {
                replica: lease_id.clone(),
                address: host_address.clone()
            })
        );
    }

    // Once the host runs X, a tool call sent to the other replica is
    // answered by the host.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = api(&host.url).list().await.unwrap();
        if list
            .iter()
            .any(|i| i.id == x && i.status == aacon::domain::Status::Running)
        {
            break;
        }
        assert!(Instant::now() < deadline, "the host never ran X: {list:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let got = send(call(&other.url, x, "via the other")).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(
        got.body.to_string().contains("Echo: via the other"),
        "{}",
        got.body
    );
    assert_ne!(got.replica.as_deref(), Some(host_name), "the other took it");
    assert_eq!(
        got.forwarded_to.as_deref(),
        Some(host_name),
        "the host's own x-aacon-replica comes back"
    );
    // The other session routes too (the server's identity, the log): the
    // host's answer, with the status and body it gives when asked directly.
    for path in ["server", "logs"] {
        let via =
            send(http().get(format!("{}/v1/mcp-server-instances/{x}/{path}", other.url))).await;
        assert_eq!(via.forwarded_to.as_deref(), Some(host_name), "{path}");
        let direct =
            send(http().get(format!("{}/v1/mcp-server-instances/{x}/{path}", host.url))).await;
        assert_eq!(direct.forwarded_to, None, "the host answers its own {path}");
        assert_eq!(direct.replica.as_deref(), Some(host_name));
        if path == "server" {
            assert_eq!((via.status, &via.body), (direct.status, &direct.body));
        } else {
            assert_eq!(via.status, direct.status);
        }
    }

    // Recorded once, at the owner, as the original caller's (the test's
    // 127.0.0.2, not the forwarding replica's 127.0.0.1).
    // The history is written off the caller's path: wait for the record.
    let deadline = Instant::now() + Duration::from_secs(30);
    let calls = loop {
        let calls = api(&host.url).history(x, 10).await.unwrap();
        if calls.iter().any(|c| c.name == "echo") {
            break calls;
        }
        assert!(Instant::now() < deadline, "never recorded: {calls:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let echoes: Vec<_> = calls.iter().filter(|c| c.name == "echo").collect();
    assert_eq!(echoes.len(), 1, "{calls:?}");
    match &echoes[0].caller {
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
    // again; the other replica says who hosts the instance instead.
    let guarded =
        send(call(&other.url, x, "twice").header("x-aacon-forwarded-by", "replica-z")).await;
    assert_eq!(guarded.status, 503, "{}", guarded.body);
    let said = guarded.body["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        said.contains("forwarded a request for instance hosted-once by replica replica-z")
            && said.contains(&format!("replica {lease_id} hosts it now")),
        "{said}"
    );
    assert_eq!(guarded.forwarded_to, None);

    // The host goes away while its lease still stands: 502 naming it,
    // never an answer from the other replica's own one-shot session.
    host.child.kill().unwrap();
    host.child.wait().unwrap();
    let gone = send(call(&other.url, x, "after the host")).await;
    assert_eq!(gone.status, 502, "{}", gone.body);
    let said = gone.body["detail"].as_str().unwrap_or_default().to_string();
    assert!(
        said.starts_with(&format!(
            "replica {lease_id} at {host_address}, which hosts instance hosted-once, cannot be reached"
        )),
        "{said}"
    );

    // Nothing was answered by the other replica itself.
    let calls = api(&other.url).history(x, 10).await.unwrap();
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
    let ra = start(tmp.path(), "replica-a", &url);
    let rb = start(tmp.path(), "replica-b", &url);
    let made = api(&ra.url)
        .create(NewInstance {
            name: "waits".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({"command": [FIXTURE, "--client-requests"]}),
        })
        .await
        .unwrap();
    let x = made.id;
    api(&ra.url).start(x).await.unwrap();
    // b is the replica hosting x; a is the other one.
    let (b, a) = if owner(&pg, x).await.starts_with("replica-b-") {
        (rb, ra)
    } else {
        (ra, rb)
    };
    let logs_of = |base: String| async move {
        send(http().get(format!("{base}/v1/mcp-server-instances/{x}/logs"))).await
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while logs_of(b.url.clone()).await.status != 200 {
        assert!(Instant::now() < deadline, "the host never ran the instance");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let host_name = logs_of(b.url.clone()).await.replica.unwrap_or_default();

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
        assert_eq!(logs.forwarded_to.as_deref(), Some(host_name.as_str()));
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
