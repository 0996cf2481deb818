//! End to end: the real `aacon serve` binary on a free loopback port, driven
//! by the API adapter (and by raw HTTP for the contract's shapes).

use aacon::domain::projection::Projection;
use aacon::domain::{DesiredState, EventType, InstancePatch, NewInstance, Precondition, Status};
use aacon::paths::DataDir;
use aacon::platform::api::{ApiOptions, ApiPlatform, ApiToken};
use aacon::platform::embedded::{EmbeddedOptions, Role};
use aacon::platform::{Platform, PlatformError, PlatformEvent, SourceState};
use aacon::store::StatusReport;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Serve {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
    stderr: Arc<Mutex<String>>,
}

impl Serve {
    fn start(extra: &[&str], token: Option<&str>) -> Serve {
        Serve::start_in(tempfile::tempdir().unwrap(), extra, token)
    }

    /// Serve the data dir `data` below `dir` (prepared by the test).
    fn start_in(dir: tempfile::TempDir, extra: &[&str], token: Option<&str>) -> Serve {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_aacon"));
        cmd.arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("AACON_API_URL")
            .env_remove("AACON_API_TOKEN")
            .env("AACON_CONFIG_DIR", dir.path().join("config"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(t) = token {
            cmd.env("AACON_API_TOKEN", t);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out).lines();
            if let Some(Ok(l)) = lines.next() {
                let _ = tx.send(l);
            }
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("serve did not start: {}", stderr.lock().unwrap()));
        let url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Serve {
            child,
            url,
            dir,
            stderr,
        }
    }

    fn data_dir(&self) -> DataDir {
        DataDir::new(self.dir.path().join("data"))
    }

    fn client(&self, token: Option<&str>) -> ApiPlatform {
        let mut o = ApiOptions::new(&self.url);
        o.token = token.map(|t| ApiToken::new(t).unwrap());
        o.poll_interval = Duration::from_millis(150);
        o.timeout = Duration::from_secs(10);
        ApiPlatform::new(o).unwrap()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn new(name: &str) -> NewInstance {
    NewInstance {
        name: name.into(),
        description: Some("test".into()),
        server_spec_id: None,
        json_spec: json!({"command": ["srv"], "env_vars": {"API_KEY": "secret_ref:k"}}),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_lifecycle_through_the_api() {
    let s = Serve::start(&[], None);
    assert!(
        s.stderr().contains("loopback only") || {
            std::thread::sleep(Duration::from_millis(300));
            s.stderr().contains("loopback only")
        },
        "serve says it is loopback-only without a token: {}",
        s.stderr()
    );
    let api = s.client(None);
    assert_eq!(api.info().name, s.url);
    assert!(api.list().await.unwrap().is_empty());

    let created = api.create(new("web")).await.unwrap();
    assert_eq!(created.name, "web");
    assert_eq!(created.version, 1, "serve sends our version");
    assert_eq!(created.status, Status::Pending);
    assert_eq!(api.get("web").await.unwrap(), created);
    assert_eq!(api.get(&created.id.to_string()).await.unwrap(), created);
    assert_eq!(api.list().await.unwrap(), vec![created.clone()]);
    // One process on SQLite: instances are not shared by lease, so the
    // Overview shows no "hosted by".
    assert_eq!(api.hosting(created.id).await.unwrap(), None);

    let edited = api
        .update(
            created.id,
            InstancePatch {
                description: Some(None),
                json_spec: Some(json!({"command": ["srv", "--v2"]})),
                ..Default::default()
            },
            Some(Precondition::Version(1)),
        )
        .await
        .unwrap();
    assert_eq!(edited.version, 2);
    assert_eq!(edited.description, None);
    assert_eq!(edited.json_spec["command"], json!(["srv", "--v2"]));

    let started = api.start(created.id).await.unwrap();
    assert_eq!(started.instance.desired_state, DesiredState::Running);
    assert_eq!(
        started.message,
        "start requested for 'web'; the API server hosts the runtime"
    );
    let stopped = api.stop(created.id).await.unwrap();
    assert_eq!(stopped.instance.desired_state, DesiredState::Stopped);

    let ok = api
        .validate(&json!({"endpoint_url": "http://127.0.0.1:9/mcp"}))
        .await
        .unwrap();
    assert!(ok.is_valid());
    assert_eq!(ok.kind, Some(aacon::domain::ProviderKind::External));
    let bad = api
        .validate(&json!({"x": "a".repeat(1_100_000)}))
        .await
        .unwrap();
    assert!(!bad.is_valid(), "{bad:?}");
    assert!(
        bad.summary().contains("the limit is 1024 KiB"),
        "{}",
        bad.summary()
    );

    let history = api.events(Default::default()).await.unwrap();
    // The commands' events, in order (the runtime's status reports for the
    // missing `srv` binary interleave with them).
    let kinds: Vec<_> = history
        .iter()
        .filter_map(|e| e.kind())
        .filter(|k| !matches!(k, EventType::StatusChanged | EventType::Error))
        .collect();
    assert_eq!(
        kinds,
        vec![
            EventType::Created,
            EventType::Updated,
            EventType::Started,
            EventType::Stopped
        ]
    );
    assert_eq!(api.tools(created.id).await.unwrap(), Vec::<Value>::new());
    let env = api.environment(created.id).await.unwrap();
    assert!(env.env_vars.is_empty(), "the v2 spec has no env vars");
    let health = api.container_health().await.unwrap();
    assert_eq!(health.health_checks.len(), 1);
    assert_eq!(health.health_checks[0].service_name, "web");

    api.delete(created.id).await.unwrap();
    let gone = api.get(&created.id.to_string()).await.unwrap_err();
    assert!(matches!(gone, PlatformError::NotFound(_)), "{gone:?}");
    assert!(api.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_are_one_sentence_and_change_nothing() {
    let s = Serve::start(&[], None);
    let api = s.client(None);
    let e = api.create(new("Bad_Name")).await.unwrap_err();
    assert!(matches!(e, PlatformError::Invalid(_)), "{e:?}");
    assert!(e.to_string().contains("lowercase letters"), "{e}");
    let mut n = new("arr");
    n.json_spec = json!([1, 2]);
    let e = api.create(n).await.unwrap_err();
    assert!(e.to_string().contains("(422)"), "{e}");
    assert!(e.to_string().contains("body.json_spec"), "{e}");
    let mut n = new("huge");
    n.json_spec = json!({"x": "a".repeat(1_100_000)});
    let e = api.create(n).await.unwrap_err();
    assert!(matches!(e, PlatformError::InvalidSpec(_)), "{e:?}");
    assert!(e.to_string().contains("the limit is 1024 KiB"), "{e}");
    let mut n = new("toolarge");
    n.json_spec = json!({"x": "a".repeat(3 * 1024 * 1024)});
    let e = api.create(n).await.unwrap_err();
    assert!(e.to_string().contains("too large"), "{e}");
    api.create(new("web")).await.unwrap();
    let e = api.create(new("web")).await.unwrap_err();
    assert!(matches!(e, PlatformError::Conflict(_)), "{e:?}");
    assert_eq!(api.list().await.unwrap().len(), 1);
    let e = api
        .update(uuid::Uuid::new_v4(), InstancePatch::default(), None)
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "nothing to change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_required_when_configured() {
    let s = Serve::start(&[], Some("tok-123"));
    let anon = s.client(None);
    let e = anon.list().await.unwrap_err();
    assert!(e.to_string().contains("Not authenticated (401)"), "{e}");
    assert!(e.to_string().contains("AACON_API_TOKEN"), "{e}");
    let wrong = s.client(Some("tok-124"));
    assert!(wrong.list().await.unwrap_err().to_string().contains("401"));
    let right = s.client(Some("tok-123"));
    right.create(new("web")).await.unwrap();
    assert_eq!(right.list().await.unwrap().len(), 1);
    // Health and the OpenAPI document need no token.
    let http = reqwest::Client::new();
    let h = http.get(format!("{}/health", s.url)).send().await.unwrap();
    assert_eq!(h.status(), 200);
    let h: Value = h.json().await.unwrap();
    assert_eq!(h["status"], "healthy");
    assert!(
        h.get("pid").is_none(),
        "only the runtime socket names the pid"
    );
    let doc: Value = http
        .get(format!("{}/openapi.json", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/mcp-server-instances/{id}"]["patch"].is_object());
    assert!(doc["paths"]["/v1/mcp-server-instances/{id}/tools/call"]["post"].is_object());
    assert!(doc["paths"]["/v1/mcp-server-instances/{id}/logs"]["get"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let r = http
        .get(format!("{}/v1/mcp-server-instances/", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Not authenticated"})
    );
    assert!(
        !s.stderr().contains("tok-123"),
        "the token is never printed"
    );
}

#[test]
fn no_token_means_loopback_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_aacon"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env_remove("AACON_API_TOKEN")
        .env("AACON_CONFIG_DIR", dir.path().join("config"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to listen on 0.0.0.0:0 without an API token"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_serve_refuses_mutations_with_403() {
    let s = Serve::start(&["--read-only"], None);
    let api = s.client(None);
    assert!(api.list().await.unwrap().is_empty(), "a fresh dir");
    let e = api.create(new("web")).await.unwrap_err();
    assert!(matches!(e, PlatformError::ReadOnly(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "read-only mode: creating an instance is not allowed"
    );
    let r = reqwest::Client::new()
        .post(format!("{}/v1/mcp-server-instances/", s.url))
        .json(&json!({"name": "x", "json_spec": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let health: Value = reqwest::get(format!("{}/health", s.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["read_only"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_instances_are_404() {
    let s = Serve::start(&[], None);
    let api = s.client(None);
    let id = uuid::Uuid::new_v4();
    for e in [
        api.get(&id.to_string()).await.unwrap_err(),
        api.delete(id).await.unwrap_err(),
        api.start(id).await.unwrap_err(),
        api.get("nobody").await.unwrap_err(),
    ] {
        assert!(matches!(e, PlatformError::NotFound(_)), "{e:?}");
    }
    let r = reqwest::get(format!("{}/v1/mcp-server-instances/{id}", s.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "MCP Server Instance not found"})
    );
    let r = reqwest::get(format!("{}/v1/mcp-server-instances/not-a-uuid", s.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["detail"][0]["loc"], json!(["path", "instance_id"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_edit_is_detected() {
    let s = Serve::start(&[], None);
    let alice = s.client(None);
    let bob = s.client(None);
    let inst = alice.create(new("web")).await.unwrap();
    let alices_copy = alice.get("web").await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    bob.update(
        inst.id,
        InstancePatch {
            json_spec: Some(json!({"command": ["bob"]})),
            ..Default::default()
        },
        Some(Precondition::UpdatedAt(inst.updated_at)),
    )
    .await
    .unwrap();
    let patch = InstancePatch {
        json_spec: Some(json!({"command": ["alice"]})),
        ..Default::default()
    };
    let e = alice
        .update(
            inst.id,
            patch.clone(),
            Some(Precondition::UpdatedAt(alices_copy.updated_at)),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, PlatformError::Conflict(_)), "{e:?}");
    assert!(e.to_string().contains("changed meanwhile"), "{e}");
    let e = alice
        .update(
            inst.id,
            patch,
            Some(Precondition::Version(alices_copy.version)),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, PlatformError::Conflict(_)), "{e:?}");
    assert_eq!(
        alice.get("web").await.unwrap().json_spec["command"],
        json!(["bob"]),
        "bob's edit stands"
    );
    // The server re-checks If-Match itself (closing the GET→PATCH window).
    let r = reqwest::Client::new()
        .patch(format!("{}/v1/mcp-server-instances/{}", s.url, inst.id))
        .header("If-Match", "\"1\"")
        .json(&json!({"description": "late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("changed meanwhile"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_status_arrives_by_polling_without_redis() {
    // The runtime host of the served data dir is another process (here,
    // the test), so serve's own runtime stays out of the way and what the
    // host reports stands.
    let dir = tempfile::tempdir().unwrap();
    let runtime = aacon::host::open_embedded(
        DataDir::new(dir.path().join("data")),
        EmbeddedOptions {
            role: Role::Console,
            host_runtime: true,
        },
    )
    .unwrap();
    assert!(runtime.is_runtime_host());
    let s = Serve::start_in(dir, &[], None);
    let console = s.client(None);
    let inst = console.create(new("web")).await.unwrap();
    // The console's state: seeded from the list, then fed by the subscription.
    let mut rx = console.subscribe();
    let mut state = Projection::new();
    state.seed(console.list().await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut connected = None;
    let mut change = None;
    while Instant::now() < deadline && change.is_none() {
        match tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
            Ok(Ok(PlatformEvent::Source(SourceState::Connected(what)))) => connected = Some(what),
            // The poller's first snapshot is taken: now the runtime reports.
            Ok(Ok(PlatformEvent::Refresh)) => {
                runtime
                    .report_status(
                        inst.id,
                        StatusReport {
                            status: Some(Status::Running),
                            healthy_now: true,
                            tool_count: Some(Some(3)),
                            ..Default::default()
                        },
                        None,
                    )
                    .await
                    .unwrap();
            }
            Ok(Ok(PlatformEvent::Event(e))) => {
                state.apply(&e);
                if e.kind() == Some(EventType::StatusChanged) {
                    change = Some(e);
                }
            }
            _ => {}
        }
    }
    let what = connected.expect("the source says it is connected");
    assert!(what.starts_with(&format!("polling {}", s.url)), "{what}");
    let change = change.expect("a status change arrives without anyone asking");
    assert_eq!(change.instance_id(), Some(inst.id));
    assert_eq!(change.previous_status(), Some(Status::Pending));
    let seen = state.get(&inst.id).unwrap();
    assert_eq!(seen.status, Status::Running);
    assert_eq!(seen.tool_count, Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_has_an_etag_and_answers_304_when_unchanged() {
    let s = Serve::start(&[], None);
    s.client(None).create(new("web")).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/mcp-server-instances/", s.url);
    let r = http.get(&url).send().await.unwrap();
    let tag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = http
        .get(&url)
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    s.client(None).create(new("db")).await.unwrap();
    let r = http
        .get(&url)
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_ne!(r.headers()["etag"].to_str().unwrap(), tag);
}

/// serve answers the list again without rebuilding it while nothing
/// changed; a change committed by another process (the CLI writes the store
/// directly) shows on the very next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_shows_another_processes_change_on_the_next_request() {
    let s = Serve::start(&[], None);
    let web = s.client(None).create(new("web")).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/mcp-server-instances/", s.url);
    let get = || async {
        let v: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| {
                format!(
                    "{} {}",
                    i["name"].as_str().unwrap(),
                    i["status"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(get().await, ["web pending"]);
    assert_eq!(get().await, ["web pending"]);
    let mut other = aacon::store::Store::open(&s.data_dir().store(), "cli").unwrap();
    other.create(new("db"), None).unwrap();
    assert_eq!(get().await, ["db pending", "web pending"]);
    other
        .report_status(
            web.id,
            StatusReport {
                status: Some(Status::Running),
                ..Default::default()
            },
            None,
        )
        .unwrap();
    assert_eq!(get().await, ["db pending", "web running"]);
}

/// What serve returns has AgentArea's shape: field names, JSON types, codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_shapes_match_agentarea() {
    let s = Serve::start(&[], None);
    let http = reqwest::Client::new();
    let base = format!("{}/v1/mcp-server-instances", s.url);
    let r = http
        .post(format!("{base}/"))
        .json(
            &json!({"name": "fs", "description": null, "server_spec_id": "spec-1",
                       "json_spec": {"type": "docker", "image": "mcp/filesystem", "port": 8000}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let inst: Value = r.json().await.unwrap();
    for (k, ty) in [
        ("id", "string"),
        ("name", "string"),
        ("description", "null"),
        ("server_spec_id", "string"),
        ("json_spec", "object"),
        ("status", "string"),
        ("created_at", "string"),
        ("updated_at", "string"),
    ] {
        let got = match &inst[k] {
            Value::String(_) => "string",
            Value::Null => "null",
            Value::Object(_) => "object",
            _ => "other",
        };
        assert_eq!(got, ty, "{k} in {inst}");
    }
    assert!(uuid::Uuid::parse_str(inst["id"].as_str().unwrap()).is_ok());
    assert_eq!(inst["status"], "pending");
    assert!(
        chrono::DateTime::parse_from_rfc3339(inst["created_at"].as_str().unwrap()).is_ok(),
        "ISO 8601"
    );
    let id = inst["id"].as_str().unwrap();
    let list: Value = http
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list.is_array());
    let no_slash = http.get(&base).send().await.unwrap();
    assert_eq!(no_slash.status(), 200);
    let r = http
        .patch(format!("{base}/{id}"))
        .json(&json!({"name": "fs2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["name"], "fs2");
    let r = http
        .post(format!("{base}/{id}/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "success");
    assert!(v["message"].is_string());
    let check: Value = http
        .post(format!("{base}/check"))
        .json(&json!({"json_spec": {"type": "url", "endpoint": "http://127.0.0.1:9"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(check["valid"], true);
    assert!(check["message"].is_string());
    assert!(check.get("details").is_some());
    let check: Value = http
        .post(format!("{base}/check"))
        .json(&json!({"json_spec": {"x": "a".repeat(1_100_000)}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(check["valid"], false);
    assert_eq!(check["status_code"], 400);
    let tools: Value = http
        .get(format!("{base}/{id}/tools"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tools, json!([]));
    let health: Value = http
        .get(format!("{base}/health/containers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hc = &health["health_checks"][0];
    assert_eq!(hc["service_name"], "fs2");
    assert!(hc["container_status"].is_string() && hc["healthy"].is_boolean());
    let r = http
        .post(format!("{base}/"))
        .json(&json!({"json_spec": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["detail"][0]["loc"], json!(["body", "name"]));
    assert_eq!(v["detail"][0]["type"], "missing");
    let r = http
        .post(format!("{base}/"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = http.delete(format!("{base}/{id}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"status": "success"})
    );
    let r = http.get(format!("{}/nowhere", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Not Found"})
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_gracefully() {
    let mut s = Serve::start(&[], None);
    s.client(None).create(new("web")).await.unwrap();
    let pid = s.child.id() as i32;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}: {}", s.stderr());
    std::thread::sleep(Duration::from_millis(100));
    assert!(s.stderr().contains("aacon: stopped"), "{}", s.stderr());
    // What it committed is there for the next process.
    let reopened = aacon::host::open_embedded(
        s.data_dir(),
        EmbeddedOptions {
            role: Role::Cli,
            host_runtime: false,
        },
    )
    .unwrap();
    assert_eq!(reopened.list().await.unwrap().len(), 1);
}

#[test]
fn the_cli_drives_serve_in_api_mode() {
    let s = Serve::start(&[], Some("cli-token"));
    let spec = s.dir.path().join("spec.json");
    std::fs::write(&spec, r#"{"command": ["srv"]}"#).unwrap();
    let run_at = |url: &str, args: &[&str], token: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_aacon"));
        c.arg("--data-dir")
            .arg(s.dir.path().join("cli-data"))
            .args(["--api", url])
            .args(args)
            .env("AACON_CONFIG_DIR", s.dir.path().join("config"))
            .env("AACON_LOG", "trace")
            .env_remove("AACON_API_TOKEN")
            .stdin(Stdio::null());
        if let Some(t) = token {
            c.env("AACON_API_TOKEN", t);
        }
        c.output().unwrap()
    };
    let run = |args: &[&str], token: Option<&str>| run_at(&s.url, args, token);
    let out = run(
        &[
            "instances",
            "create",
            "web",
            "--spec",
            spec.to_str().unwrap(),
        ],
        Some("cli-token"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["instances", "list", "-o", "json"], Some("cli-token"));
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["name"], "web");
    let out = run(&["instances", "get", "nope"], Some("cli-token"));
    assert_eq!(out.status.code(), Some(4));
    let out = run(&["instances", "list"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Not authenticated (401)"), "{err}");
    assert_eq!(err.lines().count(), 1, "one sentence: {err}");
    let out = run_at(
        "ftp://127.0.0.1:1",
        &["instances", "list"],
        Some("cli-token"),
    );
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not an http or https URL"), "{err}");
    assert_eq!(out.status.code(), Some(2));
    // The CLI's own data dir was never used as a store in API mode.
    assert!(!s.dir.path().join("cli-data").join("aacon.db").exists());
    // Even at trace level the token reaches no log line.
    let mut logged = String::new();
    for f in std::fs::read_dir(s.dir.path().join("cli-data").join("logs")).unwrap() {
        logged.push_str(&std::fs::read_to_string(f.unwrap().path()).unwrap_or_default());
    }
    assert!(logged.contains("127.0.0.1"), "trace logs were written");
    assert!(!logged.contains("cli-token"), "the token was logged");
}

#[cfg(unix)]
#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    use std::io::Write;
    let mut s = Serve::start(&[], None);
    let addr = s.url.strip_prefix("http://").unwrap().to_string();
    let body = r#"{"name": "late", "json_spec": {"command": ["srv"]}}"#;
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        conn,
        "POST /v1/mcp-server-instances/ HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) }, 0);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "serve waits for the request in flight"
    );
    conn.write_all(&body.as_bytes()[10..]).unwrap();
    let mut reply = String::new();
    let _ = conn.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"name\":\"late\""), "{reply}");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "serve did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}
