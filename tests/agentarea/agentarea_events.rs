//! AgentArea's own events, from the real backend (`../shared/agentarea`):
//! each one attributed to its instance where that can be known — a Deleted
//! by its `instance_id`, an empty-data Started caused by a curl-like client
//! (a reqwest call of this test, not aacon) by the list that follows, a
//! Stopped aacon requested by its own request — and the one that cannot be
//! known says why. The Go manager's status messages, published here in its
//! exact format (compat.md shape 3) to AgentArea's Redis, reach the console
//! (in a pty) and `aacon events --follow`. Also: the bulk delete's "stopped
//! first" against AgentArea, and `doctor` in API mode.
//!
//! AgentArea publishes every workspace's events on the same channels, so
//! these tests take turns (one lock): another test's Started would be
//! indistinguishable from this one's.

use crate::support;

use aacon::bus::RedisConfig;
use aacon::domain::{Envelope, EventType, Instance, Status};
use aacon::platform::api::{ApiOptions, ApiPlatform, ApiToken};
use aacon::platform::{McpOp, Platform, PlatformError, PlatformEvent, SourceState};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::agentarea::{AgentArea, TURN};
use support::procs::lines_of;
use support::pty::Console;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(20);

/// One test at a time talks to AgentArea (its channels are shared).
fn turn() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    TURN.blocking_write()
}

/// One workspace of the shared backend, driven like curl would.
struct Ws {
    aa: Arc<AgentArea>,
    token: String,
    http: reqwest::Client,
}

impl Ws {
    fn new() -> Ws {
        let aa = AgentArea::shared();
        let token = aa.workspace_token(&Uuid::new_v4().to_string());
        Ws {
            aa,
            token,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/mcp-server-instances{path}", self.aa.url)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut rb = self
            .http
            .request(method.clone(), self.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn create(&self, name: &str) -> Uuid {
        let v = self
            .call(
                reqwest::Method::POST,
                "/",
                Some(json!({"name": name, "json_spec": {"type": "docker", "image": "mcp/fixture", "port": 8000}})),
            )
            .await;
        Uuid::parse_str(v["id"].as_str().unwrap()).unwrap()
    }

    fn redis(&self) -> RedisConfig {
        let mut c = RedisConfig::new(&self.aa.redis_url).unwrap();
        c.agentarea_pubsub = true;
        c.block = Duration::from_millis(300);
        c
    }

    /// aacon's API adapter on this workspace, listening to AgentArea's pub/sub.
    fn platform(&self) -> ApiPlatform {
        let mut o = ApiOptions::new(&self.aa.url);
        o.token = Some(ApiToken::new(&self.token).unwrap());
        o.redis = Some(self.redis());
        ApiPlatform::new(o).unwrap()
    }

    /// The Go manager's status message (compat.md shape 3), with a fresh event id.
    async fn manager_status(&self, id: Uuid, name: &str, status: &str) -> i64 {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let event_id = format!(
            "evt_{}_{}",
            chrono::Utc::now().format("%Y%m%d_%H%M%S"),
            &Uuid::new_v4().simple().to_string()[..8]
        );
        let msg = json!({
            "data": {
                "data": {"instance_id": id.to_string(), "name": name, "status": status,
                         "container_id": "c0ffee", "url": "http://127.0.0.1:8000", "timestamp": now},
                "event_id": event_id,
                "event_type": "MCPServerInstanceStatusChanged",
                "timestamp": now
            },
            "headers": {}
        });
        let mut conn = self.redis().connect().await.unwrap();
        redis::cmd("PUBLISH")
            .arg("MCPServerInstanceStatusChanged")
            .arg(msg.to_string())
            .query_async(&mut conn)
            .await
            .unwrap()
    }

    /// Environment for the real binary in API mode with AgentArea's pub/sub.
    fn env(&self, config: &std::path::Path) -> Vec<(&'static str, String)> {
        std::fs::write(
            config.join("config.toml"),
            "[redis]\nagentarea_pubsub = true\n",
        )
        .unwrap();
        vec![
            ("AACON_API_URL", self.aa.url.clone()),
            ("AACON_API_TOKEN", self.token.clone()),
            ("AACON_REDIS_URL", self.aa.redis_url.clone()),
        ]
    }
}

/// Receive until an event of `kind` arrives (other events and states pass).
async fn next_of(
    rx: &mut tokio::sync::broadcast::Receiver<PlatformEvent>,
    kind: EventType,
) -> Arc<Envelope> {
    let until = Instant::now() + WAIT;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Ok(PlatformEvent::Event(e))) if e.kind() == Some(kind) => return e,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("subscription ended: {e}"),
            Err(_) => panic!("no {kind} within {WAIT:?}"),
        }
    }
}

async fn until_pubsub(rx: &mut tokio::sync::broadcast::Receiver<PlatformEvent>) {
    let until = Instant::now() + WAIT;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Ok(PlatformEvent::Source(SourceState::Connected(s)))) if s.contains("pub/sub") => {
                return;
            }
            Ok(Ok(_)) => {}
            other => panic!("never subscribed to AgentArea's channels: {other:?}"),
        }
    }
}

fn how(e: &Envelope) -> String {
    e.attribution
        .as_ref()
        .map(|a| a.how.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agentareas_own_events_are_attributed_to_their_instance() {
    let ws = Ws::new();
    let _turn = TURN.write().await;
    let a = ws.create("attr-a").await;
    let b = ws.create("attr-b").await;
    let p = ws.platform();
    let mut rx = p.subscribe();
    until_pubsub(&mut rx).await;

    // A curl-like client starts `a`: AgentArea's Started carries `data: {}`.
    ws.call(reqwest::Method::POST, &format!("/{a}/start"), None)
        .await;
    let e = next_of(&mut rx, EventType::Started).await;
    assert_eq!(e.data, json!({}), "AgentArea's own data stays as sent");
    assert_eq!(e.instance_id(), Some(a), "{e:?}");
    assert_eq!(e.instance_name(), Some("attr-a"));
    assert!(how(&e).contains("updated_at moved"), "{}", how(&e));

    // A Deleted carries only `instance_id`: used, and named from the list.
    ws.call(reqwest::Method::DELETE, &format!("/{b}"), None)
        .await;
    let e = next_of(&mut rx, EventType::Deleted).await;
    assert_eq!(e.instance_id(), Some(b));
    assert_eq!(e.instance_name(), Some("attr-b"));

    // aacon's own stop: its request names the instance.
    p.stop(a).await.unwrap();
    let e = next_of(&mut rx, EventType::Stopped).await;
    assert_eq!(e.instance_id(), Some(a), "{e:?}");
    assert!(
        how(&e).contains("this console's stop request"),
        "{}",
        how(&e)
    );

    // A PATCH that changes nothing still publishes Updated; nothing says
    // which instance, and the raw envelope says why.
    ws.call(
        reqwest::Method::PATCH,
        &format!("/{a}"),
        Some(json!({"name": "attr-a"})),
    )
    .await;
    let e = next_of(&mut rx, EventType::Updated).await;
    assert_eq!(e.instance_id(), None, "{e:?}");
    assert!(how(&e).contains("no instance changed"), "{}", how(&e));
    let raw = aacon::tui::app::raw_envelope(&e);
    assert!(raw.contains("no instance changed"), "{raw}");

    // The Go manager's report (shape 3) names its instance itself.
    assert!(ws.manager_status(a, "attr-a", "running").await >= 1);
    let e = next_of(&mut rx, EventType::StatusChanged).await;
    assert_eq!(e.instance_id(), Some(a));
    assert_eq!(e.status(), Some(Status::Running));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_delete_stops_a_running_instance_first_against_agentarea() {
    let ws = Ws::new();
    let _turn = TURN.write().await;
    let running = ws.create("bulk-running").await;
    let idle = ws.create("bulk-idle").await;
    ws.call(reqwest::Method::POST, &format!("/{running}/start"), None)
        .await;
    let p = ws.platform();
    let mut rx = p.subscribe();
    until_pubsub(&mut rx).await;

    let (_, said) = aacon::tui::run::stop_then_delete(&p, running)
        .await
        .unwrap();
    assert_eq!(said, "stopped bulk-running, then deleted it");
    let (_, said) = aacon::tui::run::stop_then_delete(&p, idle).await.unwrap();
    assert_eq!(said, "deleted bulk-idle");

    // In AgentArea's own order of publishing: Stopped, Deleted, Deleted.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match tokio::time::timeout(WAIT, rx.recv()).await {
            Ok(Ok(PlatformEvent::Event(e))) => {
                if let Some(k) = e.kind() {
                    seen.push((k, e.instance_id()));
                }
            }
            Ok(Ok(_)) => {}
            other => panic!("events stopped after {seen:?}: {other:?}"),
        }
    }
    assert_eq!(
        seen,
        vec![
            (EventType::Stopped, Some(running)),
            (EventType::Deleted, Some(running)),
            (EventType::Deleted, Some(idle)),
        ]
    );
    assert!(p.list().await.unwrap().is_empty());
}

/// Wait for a line holding `what`; return it and every line before it.
fn line_with(rx: &std::sync::mpsc::Receiver<String>, what: &str, seen: &mut Vec<String>) -> String {
    let until = Instant::now() + WAIT;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no line with {what:?}; got:\n{}", seen.join("\n")));
        seen.push(line.clone());
        if line.contains(what) {
            return line;
        }
    }
}

#[test]
fn events_follow_for_one_instance_shows_its_attributed_events_and_the_managers() {
    let ws = Ws::new();
    let _turn = turn();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let f = rt.block_on(ws.create("follow-f"));
    let g = rt.block_on(ws.create("follow-g"));
    let (_tmp, data, config) = support::cli::dirs();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_aacon"));
    cmd.args([
        "events",
        "--follow",
        "--instance",
        "follow-f",
        "-o",
        "jsonl",
    ])
    .env("AACON_DATA_DIR", &data)
    .env("AACON_CONFIG_DIR", &config)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null());
    for (k, v) in ws.env(&config) {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();

    // Once subscribed, the manager's reports for `f` show; publish until one does.
    let until = Instant::now() + WAIT;
    let first = loop {
        rt.block_on(ws.manager_status(f, "follow-f", "starting"));
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(300)) {
            break l;
        }
        assert!(Instant::now() < until, "the manager's report never showed");
    };
    assert!(first.contains("MCPServerInstanceStatusChanged"), "{first}");
    assert!(first.contains("\"status\":\"starting\""), "{first}");

    // Another instance's event: not shown. The manager's next report for
    // `f` comes after it on the wire, so once that shows, it was handled.
    rt.block_on(ws.call(reqwest::Method::POST, &format!("/{g}/start"), None));
    rt.block_on(ws.manager_status(f, "follow-f", "running"));
    line_with(&rx, "\"status\":\"running\"", &mut seen);
    // A curl-started `f`: AgentArea's Started names nothing; aacon finds it.
    rt.block_on(ws.call(reqwest::Method::POST, &format!("/{f}/start"), None));
    let started = line_with(&rx, "MCPServerInstanceStarted", &mut seen);
    let v: Value = serde_json::from_str(&started).unwrap();
    assert_eq!(v["data"], json!({}), "{started}");
    assert_eq!(
        v["attribution"]["instance_id"],
        json!(f.to_string()),
        "{started}"
    );
    rt.block_on(ws.call(reqwest::Method::DELETE, &format!("/{f}"), None));
    let deleted = line_with(&rx, "MCPServerInstanceDeleted", &mut seen);
    assert!(deleted.contains(&f.to_string()), "{deleted}");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !seen.iter().any(|l| l.contains(&g.to_string())),
        "only f's events: {seen:#?}"
    );
}

#[test]
fn the_console_shows_attributed_events_and_the_managers_reports() {
    let ws = Ws::new();
    let _turn = turn();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = rt.block_on(ws.create("console-c"));
    let (_tmp, data, config) = support::cli::dirs();
    let env = ws.env(&config);
    let env: Vec<(&str, &std::ffi::OsStr)> = env
        .iter()
        .map(|(k, v)| (*k, std::ffi::OsStr::new(v)))
        .collect();
    let mut con = Console::spawn_with_env(&data, &config, &[], &env);
    con.wait_for("console-c", WAIT);
    con.send(b"2");
    // Subscribed once a report of the manager shows.
    let until = Instant::now() + WAIT;
    while !con.screen().contains("StatusChanged") {
        rt.block_on(ws.manager_status(c, "console-c", "running"));
        std::thread::sleep(Duration::from_millis(300));
        assert!(Instant::now() < until, "no report shown:\n{}", con.screen());
    }
    let screen = con.screen();
    let row = screen
        .lines()
        .find(|l| l.contains("StatusChanged"))
        .unwrap();
    assert!(
        row.contains("console-c") && row.contains("running"),
        "{row}"
    );

    // A curl-like client stops it: the empty Stopped is placed on its row.
    rt.block_on(ws.call(reqwest::Method::POST, &format!("/{c}/stop"), None));
    let screen = con.wait_for("Stopped", WAIT);
    let row = screen.lines().find(|l| l.contains("Stopped")).unwrap();
    assert!(row.contains("console-c"), "{row}\n{screen}");
    con.send(b"q");
    con.wait_exit(WAIT);
}

#[test]
fn doctor_in_api_mode_checks_agentarea_not_a_local_runtime() {
    let ws = Ws::new();
    let (_tmp, data, config) = support::cli::dirs();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aacon"))
        .arg("doctor")
        .env("AACON_DATA_DIR", &data)
        .env("AACON_CONFIG_DIR", &config)
        .env("AACON_API_URL", &ws.aa.url)
        .env("AACON_API_TOKEN", &ws.token)
        .env_remove("AACON_REDIS_URL")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "✓ api: {} reachable, auth ok, 0 instances",
            ws.aa.url
        )),
        "{text}"
    );
    assert!(
        text.contains("✓ backend: AgentArea (agentarea-api "),
        "{text}"
    );
    assert!(text.contains("– runtime: API mode"), "{text}");
    for local in ["runtime host:", "store:", "containers:", "npx:"] {
        assert!(!text.contains(local), "{local} in {text}");
    }
    // A token that expired: the check fails, in the platform's words.
    let expired = ws.aa.mint("'sub':'x','workspace_id':'w'", Some(-60));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aacon"))
        .arg("doctor")
        .env("AACON_DATA_DIR", &data)
        .env("AACON_CONFIG_DIR", &config)
        .env("AACON_API_URL", &ws.aa.url)
        .env("AACON_API_TOKEN", &expired)
        .env_remove("AACON_REDIS_URL")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("✗ api: "), "{text}");
    assert!(!text.contains(&expired), "{text}");
}

#[test]
fn time_travel_against_agentarea_says_it_keeps_no_history_in_one_sentence() {
    let ws = Ws::new();
    let (_tmp, data, config) = support::cli::dirs();
    for args in [
        &["instances", "list", "--at", "-10m"][..],
        &["instances", "get", "x", "--at", "-10m"],
        &["events", "--between", "-1h", "-1m"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_aacon"))
            .args(args)
            .env("AACON_DATA_DIR", &data)
            .env("AACON_CONFIG_DIR", &config)
            .env("AACON_API_URL", &ws.aa.url)
            .env("AACON_API_TOKEN", &ws.token)
            .env_remove("AACON_REDIS_URL")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("AgentArea keeps no event history"),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// A docker instance `name` created straight through `aa`'s API (the caller
/// holds `aa`: the shared server lives while someone does) in a
/// workspace of its own, an API-mode platform on that workspace, and the
/// workspace's token.
async fn docker_instance_in_a_new_workspace(
    aa: &AgentArea,
    name: &str,
) -> (ApiPlatform, Instance, String) {
    let token = aa.workspace_token(&Uuid::new_v4().to_string());
    let r = reqwest::Client::new()
        .post(format!("{}/v1/mcp-server-instances/", aa.url))
        .bearer_auth(&token)
        .json(&json!({"name": name, "json_spec": {"type": "docker", "image": "mcp/fixture", "port": 8000}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let mut o = ApiOptions::new(&aa.url);
    o.token = Some(ApiToken::new(&token).unwrap());
    let api = ApiPlatform::new(o).unwrap();
    let inst = api.get(name).await.unwrap();
    (api, inst, token)
}

/// AgentArea has no routes for a server's resources, prompts or identity:
/// `aacon resources` and `aacon prompts` in API mode say so in one sentence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agentarea_has_no_resources_or_prompts_and_aacon_says_so() {
    // Its create publishes a Created the tests reading the channels would see.
    let _beside = TURN.read().await;
    let aa = AgentArea::shared();
    let (api, inst, token) = docker_instance_in_a_new_workspace(&aa, "docs").await;
    for op in [McpOp::Identity, McpOp::Resources, McpOp::Prompts] {
        let e = api.mcp(inst.id, op.clone()).await.unwrap_err();
        let PlatformError::Unavailable(s) = &e else {
            panic!("{op:?}: {e:?}");
        };
        assert!(
            s.ends_with("AgentArea has no such route; `aacon serve` does"),
            "{s}"
        );
        assert!(s.contains(op.doing()), "{s}");
    }

    let tmp = tempfile::tempdir().unwrap();
    let (url, token2) = (aa.url.clone(), token.clone());
    let data = tmp.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_aacon"))
            .args([
                "--api", &url, "prompts", "get", "docs", "greet", "--args", "{}",
            ])
            .env("AACON_DATA_DIR", &data)
            .env("AACON_CONFIG_DIR", data.join("config"))
            .env("AACON_API_TOKEN", &token2)
            .env_remove("AACON_REDIS_URL")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot do this (getting a prompt): AgentArea has no such route"),
        "{err}"
    );
}

/// AgentArea is one backend, not `aacon serve` replicas: it sends no
/// `x-aacon-replica` and has no `/{id}/hosting`, so the console's header
/// names no replica and the detail Overview shows no hosting line, and
/// neither is an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agentarea_names_no_replica_and_no_hosting() {
    let _beside = TURN.read().await;
    let aa = AgentArea::shared();
    let (api, inst, _) = docker_instance_in_a_new_workspace(&aa, "hosted").await;
    assert_eq!(api.hosting(inst.id).await.unwrap(), None);
    assert_eq!(
        api.runtime_host().await,
        Some(aacon::platform::RuntimeHost::Remote { replica: None })
    );
}
