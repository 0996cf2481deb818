//! API mode against the real AgentArea (`../shared/agentarea/up`): the
//! `aacon` binary as a user runs it, and the console in a pty. Every test
//! has its own workspace (a token with its own `workspace_id` claim), so the
//! tests share one backend without seeing each other's data. Twins (two
//! instances with one name) are made through AgentArea's API directly, as
//! another client would.
//!
//! The same behaviours against `aacon serve`, and the embedded half of the
//! round trip, are at the end.

use crate::support;

use serde_json::{Value, json};
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::agentarea::AgentArea;
use support::pty::Console;

const INSTANCES: &str = "/v1/mcp-server-instances/";
/// `create web` with a description and a server_spec_id (spec on stdin).
const WEB_WITH_SPEC_ID: &[&str] = &[
    "instances",
    "create",
    "web",
    "--spec",
    "-",
    "--description",
    "files",
    "--server-spec-id",
    "spec-1",
];
pub(crate) const CONTAINER: &str = r#"{"type": "docker", "image": "mcp/filesystem", "port": 8000}"#;

/// `aacon ARGS` in API mode against `url` with `token`, `stdin` fed in.
fn aacon(
    dirs: (&Path, &Path),
    url: &str,
    token: &str,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: &str,
) -> Output {
    let mut vars = vec![("AACON_API_URL", url), ("AACON_API_TOKEN", token)];
    vars.extend_from_slice(env);
    support::cli::cli_env(
        dirs.0,
        dirs.1,
        args,
        stdin,
        &vars,
        &["AACON_REDIS_URL", "AACON_WORKSPACE"],
    )
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One test's view of the shared backend: its workspace, token and dirs.
pub(crate) struct Ws {
    /// The backend is shared with the other tests of this binary that
    /// change only their own workspace; not with one that reads its channels.
    _beside: tokio::sync::RwLockReadGuard<'static, ()>,
    pub(crate) aa: std::sync::Arc<AgentArea>,
    token: String,
    ws: String,
    _tmp: tempfile::TempDir,
    data: std::path::PathBuf,
    config: std::path::PathBuf,
}

impl Ws {
    pub(crate) fn new(name: &str) -> Ws {
        let _beside = support::agentarea::TURN.blocking_read();
        let aa = AgentArea::shared();
        let ws = format!("ws-{name}-{}", std::process::id());
        let token = aa.workspace_token(&ws);
        let (tmp, data, config) = support::cli::dirs();
        Ws {
            _beside,
            aa,
            token,
            ws,
            _tmp: tmp,
            data,
            config,
        }
    }

    pub(crate) fn run(&self, args: &[&str], stdin: &str) -> Output {
        self.run_env(&[], args, stdin)
    }

    fn run_env(&self, env: &[(&str, &str)], args: &[&str], stdin: &str) -> Output {
        aacon(
            (&self.data, &self.config),
            &self.aa.url,
            &self.token,
            env,
            args,
            stdin,
        )
    }

    pub(crate) fn ok(&self, args: &[&str], stdin: &str) -> Output {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "aacon {args:?}: {}",
            text(&out.stderr)
        );
        out
    }

    /// AgentArea's API called directly, as another client (curl) would.
    fn direct(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.aa.url);
        let token = self.token.clone();
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let mut rb = reqwest::Client::new()
                    .request(method, url)
                    .bearer_auth(token);
                if let Some(b) = body {
                    rb = rb.json(&b);
                }
                let r = rb.send().await.unwrap();
                let status = r.status().as_u16();
                let v = r.json::<Value>().await.unwrap_or(Value::Null);
                (status, v)
            })
    }

    pub(crate) fn list(&self) -> Vec<Value> {
        let (s, v) = self.direct("GET", INSTANCES, None);
        assert_eq!(s, 200, "{v}");
        v.as_array().unwrap().clone()
    }

    /// An instance made by another client, straight through the API.
    fn twin(&self, name: &str) -> String {
        let (s, v) = self.direct(
            "POST",
            INSTANCES,
            Some(json!({"name": name, "json_spec": {"image": "mcp/x", "port": 8000}})),
        );
        assert_eq!(s, 200, "{v}");
        v["id"].as_str().unwrap().to_string()
    }
}

#[test]
fn creates_agentarea_would_refuse_exit_3_before_sending_and_its_500_is_a_validation_failure() {
    let w = Ws::new("refuse");
    for spec in [
        r#"{"type": "url", "endpoint": "https://mcp.example.com"}"#,
        r#"{"command": ["npx", "-y", "@modelcontextprotocol/server-everything"]}"#,
        r#"{"image": "mcp/x", "port": "8000"}"#,
    ] {
        let out = w.run(&["instances", "create", "web", "--spec", "-"], spec);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{spec}: {err}");
        assert!(
            err.contains("AgentArea creates only containers and needs \"image\" (a non-empty string) and \"port\" (an integer 1-65535)"),
            "{spec}: {err}"
        );
        assert!(
            err.contains("/image") || err.contains("/port"),
            "a pointer: {err}"
        );
    }
    assert!(w.list().is_empty(), "nothing reached AgentArea");
    assert!(
        !w.aa
            .api_log()
            .contains(&format!("\"POST {INSTANCES} HTTP/1.1\" 500")),
        "no refused create was sent"
    );

    // A spec only AgentArea's own validation refuses: its 500 is exit 3
    // with its reasons, each at the field it names.
    let out = w.run(
        &["instances", "create", "web", "--spec", "-"],
        r#"{"image": "mcp/x", "port": 8000, "environment": {"LEVEL": 3}}"#,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("/environment/LEVEL: Environment variable 'LEVEL' value must be a string (the server's words; it answered 500)"),
        "{err}"
    );
    assert!(w.list().is_empty());

    // What AgentArea takes is created, and read back whole.
    let out = w.ok(&[WEB_WITH_SPEC_ID, &["-o", "json"]].concat(), CONTAINER);
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["server_spec_id"], "spec-1");
    assert_eq!(w.list().len(), 1);
}

#[test]
fn a_name_is_not_an_id_duplicates_are_refused_and_ambiguous_names_change_nothing() {
    let w = Ws::new("names");
    w.ok(&["instances", "create", "web", "--spec", "-"], CONTAINER);
    let web = w.list()[0]["id"].as_str().unwrap().to_string();
    let out = w.run(&["instances", "create", "web", "--spec", "-"], CONTAINER);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains(&format!(
            "an instance named 'web' already exists (id {web}, pending)"
        )),
        "{err}"
    );
    assert_eq!(w.list().len(), 1, "no second 'web'");

    // apply updates the one instance with that name.
    let doc = json!({"name": "web", "json_spec": {"image": "mcp/filesystem", "port": 8001}});
    let out = w.ok(&["instances", "apply", "-f", "-"], &doc.to_string());
    assert!(
        text(&out.stderr).contains("instance 'web' updated (json_spec)"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(w.list()[0]["json_spec"]["port"], 8001);

    // Twins made by another client: every NAME-OR-ID command refuses them.
    let a = w.twin("twin");
    let b = w.twin("twin");
    for args in [
        vec!["instances", "get", "twin"],
        vec!["instances", "delete", "twin", "--yes"],
        vec!["instances", "start", "twin"],
        vec!["instances", "stop", "twin"],
        vec!["events", "--follow", "--instance", "twin"],
    ] {
        let out = w.run(&args, "");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(6), "{args:?}: {err}");
        assert!(
            err.contains("2 instances are named 'twin', so nothing was done: "),
            "{args:?}: {err}"
        );
        for id in [&a, &b] {
            assert!(
                err.contains(&format!("{id} (pending, created ")),
                "{args:?} lists {id} with status and age: {err}"
            );
        }
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let doc = json!({"name": "twin", "json_spec": {"image": "mcp/changed", "port": 1}});
    let out = w.run(&["instances", "apply", "-f", "-"], &doc.to_string());
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    let twins: Vec<Value> = w
        .list()
        .into_iter()
        .filter(|i| i["name"] == "twin")
        .collect();
    assert_eq!(twins.len(), 2, "neither twin was deleted");
    assert!(
        twins.iter().all(|t| t["json_spec"]["image"] == "mcp/x"),
        "neither twin was changed: {twins:?}"
    );
    // By id, each is reachable; a start says what AgentArea did.
    let out = w.ok(&["instances", "start", &b], "");
    assert!(
        text(&out.stdout).contains("start requested for 'twin' (AgentArea answered \"Instance started successfully\"); AgentArea now records it as running, and its MCP manager does the actual work"),
        "{}",
        text(&out.stdout)
    );
    w.ok(&["instances", "delete", &a, "--yes"], "");
    assert_eq!(w.list().len(), 2);
    w.ok(&["instances", "get", "twin"], "");
}

#[test]
fn read_back_names_each_field_agentarea_did_not_apply() {
    let w = Ws::new("readback");
    w.ok(WEB_WITH_SPEC_ID, CONTAINER);
    let before = w.list()[0].clone();

    // server_spec_id is never changed by AgentArea.
    let doc = json!({"name": "web", "description": "files", "server_spec_id": "spec-2",
                     "json_spec": serde_json::from_str::<Value>(CONTAINER).unwrap()});
    let out = w.run(&["instances", "apply", "-f", "-"], &doc.to_string());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        err.contains("AgentArea updated instance 'web' but did not apply server_spec_id (AgentArea never changes it after creation); nothing else changed"),
        "{err}"
    );
    assert!(
        !err.contains(" updated ("),
        "never 'updated' for what did not change: {err}"
    );

    // null means "leave as is" there: a description cannot be cleared so.
    let doc = json!({"name": "web", "description": null, "server_spec_id": "spec-1",
                     "json_spec": {"image": "mcp/filesystem", "port": 9000}});
    let out = w.run(&["instances", "apply", "-f", "-"], &doc.to_string());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        err.contains("did not apply description (AgentArea treats null as \"leave as is\"; set it to \"\" to empty it); json_spec applied"),
        "{err}"
    );
    let now = w.list()[0].clone();
    assert_eq!(now["description"], "files");
    assert_eq!(now["json_spec"]["port"], 9000);

    // Nothing to change: said so, and nothing sent (updated_at stays).
    let doc = json!({"name": "web", "description": "files", "server_spec_id": "spec-1",
                     "json_spec": {"image": "mcp/filesystem", "port": 9000}});
    let out = w.ok(&["instances", "apply", "-f", "-"], &doc.to_string());
    assert!(
        text(&out.stderr).contains("instance 'web' unchanged; nothing sent"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(w.list()[0]["updated_at"], now["updated_at"]);
    assert_ne!(before["updated_at"], now["updated_at"]);
}

#[test]
fn get_json_edit_apply_round_trips_and_a_stale_copy_is_refused() {
    let w = Ws::new("roundtrip");
    w.ok(
        &[
            "instances",
            "create",
            "web",
            "--spec",
            "-",
            "--description",
            "d",
        ],
        CONTAINER,
    );
    let out = w.ok(&["instances", "get", "web", "-o", "json"], "");
    let mut doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    for owned in [
        "id",
        "status",
        "created_at",
        "updated_at",
        "version",
        "kind",
    ] {
        assert!(doc.get(owned).is_some(), "get prints {owned}");
    }
    let stale = doc.clone();
    doc["json_spec"]["port"] = json!(8100);
    let out = w.ok(&["instances", "apply", "-f", "-"], &doc.to_string());
    let err = text(&out.stderr);
    assert!(err.contains("instance 'web' updated (json_spec)"), "{err}");
    assert!(
        !err.contains("version"),
        "AgentArea keeps no versions: {err}"
    );
    assert_eq!(w.list()[0]["json_spec"]["port"], 8100);

    // The copy from before that change: its updated_at is the precondition.
    let mut late = stale;
    late["json_spec"]["port"] = json!(8200);
    let out = w.run(&["instances", "apply", "-f", "-"], &late.to_string());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("changed meanwhile"), "{err}");
    assert_eq!(w.list()[0]["json_spec"]["port"], 8100);

    // With the id, a rename is an update of that instance.
    let out = w.ok(&["instances", "get", "web", "-o", "json"], "");
    let mut doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["name"] = json!("web-2");
    w.ok(&["instances", "apply", "-f", "-"], &doc.to_string());
    let list = w.list();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "web-2");
}

#[test]
fn what_people_read_names_no_version_agentarea_does_not_keep() {
    let w = Ws::new("noversion");
    w.ok(&["instances", "create", "web", "--spec", "-"], CONTAINER);
    let one = text(&w.ok(&["instances", "get", "web"], "").stdout);
    assert!(one.contains("updated "), "{one}");
    assert!(!one.contains("version"), "{one}");
    let list = text(&w.ok(&["instances", "list"], "").stdout);
    assert!(list.starts_with("NAME"), "{list}");
    assert!(!list.contains("VERSION"), "{list}");
    // JSON keeps the field for the round trip.
    let doc = text(&w.ok(&["instances", "get", "web", "-o", "json"], "").stdout);
    assert!(doc.contains("\"version\": 0"), "{doc}");
    // A version precondition cannot be checked there: refused, nothing sent.
    let mut edited: Value = serde_json::from_str(&doc).unwrap();
    edited["json_spec"]["port"] = json!(8100);
    let out = w.run(
        &["instances", "apply", "-f", "-", "--expect-version", "3"],
        &edited.to_string(),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("AgentArea keeps no versions, so --expect-version cannot be checked"),
        "{err}"
    );
    assert_eq!(w.list()[0]["json_spec"]["port"], 8000);
}

/// AgentArea has no restart route: the client sends a stop, then a start,
/// and says it was two operations.
#[test]
fn restart_against_agentarea_is_a_stop_then_a_start_and_says_so() {
    use aacon::domain::NewInstance;
    use aacon::platform::Platform;
    use aacon::platform::api::{ApiOptions, ApiPlatform, ApiToken};
    let w = Ws::new("restart");
    let mut opts = ApiOptions::new(&w.aa.url);
    opts.token = Some(ApiToken::new(&w.token).unwrap());
    opts.workspace = Some(w.ws.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (inst, out, unknown) = rt.block_on(async {
        let api = ApiPlatform::new(opts).unwrap();
        let inst = api
            .create(NewInstance {
                name: "restart-me".into(),
                description: None,
                server_spec_id: None,
                json_spec: json!({"image": "mcp/echo:latest", "port": 8000}),
            })
            .await
            .unwrap();
        let out = api.restart(inst.id).await.unwrap();
        // An unknown instance is one sentence, not a pair of calls.
        let unknown = api.restart(uuid::Uuid::new_v4()).await.unwrap_err();
        (inst, out, unknown)
    });
    assert_eq!(out.instance.id, inst.id);
    assert!(
        out.message
            .contains("restarted 'restart-me' as a stop, then a start")
            && out
                .message
                .contains("has no restart, so these were two operations"),
        "{}",
        out.message
    );
    // AgentArea recorded the start last (nothing runs it here: no manager).
    let log = w.aa.api_log();
    let stop = log.rfind(&format!("/{}/stop", inst.id));
    let start = log.rfind(&format!("/{}/start", inst.id));
    assert!(
        matches!((stop, start), (Some(a), Some(b)) if a < b),
        "AgentArea's log shows no stop then start: {log}"
    );
    assert!(
        unknown.to_string().starts_with("no instance with id"),
        "{unknown}"
    );
}

#[test]
fn the_platforms_own_words_for_expired_garbage_and_claimless_tokens() {
    let w = Ws::new("tokens");
    let expired =
        w.aa.mint(&format!("'sub':'t','workspace_id':'{}'", w.ws), Some(-600));
    let claimless = w.aa.mint("'sub':'t'", Some(600));
    let cases = [
        (expired.as_str(), "Token has expired (401)", None),
        (
            "garbage",
            "Invalid token: Not enough segments (401)",
            Some("the API token is not a JWT"),
        ),
        (
            claimless.as_str(),
            "Missing workspace context: Request must include valid workspace_id information (MISSING_CONTEXT)",
            Some("the API token carries no workspace_id claim"),
        ),
    ];
    for (token, words, warning) in cases {
        let out = aacon(
            (&w.data, &w.config),
            &w.aa.url,
            token,
            &[],
            &["instances", "list"],
            "",
        );
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(words), "{words}: {err}");
        assert!(!err.contains("not authenticated"), "{err}");
        if let Some(w) = warning {
            assert!(err.contains(&format!("aacon: warning: {w}")), "{err}");
        }
        assert!(
            !err.contains(token) || token == "garbage",
            "the token never shows"
        );
    }
}

#[test]
fn a_workspace_flag_the_token_disagrees_with_is_warned_about_and_doctor_shows_the_real_one() {
    let w = Ws::new("mismatch");
    w.ok(&["instances", "create", "mine", "--spec", "-"], CONTAINER);
    let out = w.run(&["--workspace", "someone-else", "instances", "list"], "");
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "aacon: warning: the workspace asked for ('someone-else', from --workspace or AACON_WORKSPACE) is not the token's ('{}'); AgentArea scopes data by the token, so this shows workspace '{}'",
            w.ws, w.ws
        )),
        "{err}"
    );
    assert!(text(&out.stdout).contains("mine"), "the token's data shows");
    let out = w.run_env(&[("AACON_WORKSPACE", "someone-else")], &["doctor"], "");
    let s = text(&out.stdout);
    assert!(
        s.contains("workspace") && s.contains("is not the token's"),
        "{s}"
    );
    let out = w.run(&["doctor"], "");
    let s = text(&out.stdout);
    assert!(
        s.contains(&format!("{} (the token's workspace_id claim)", w.ws)),
        "{s}"
    );
}

#[test]
fn routes_agentarea_lacks_are_said_so_not_shown_empty() {
    let w = Ws::new("routes");
    w.ok(&["instances", "create", "web", "--spec", "-"], CONTAINER);
    let out = w.run(&["events"], "");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("AgentArea keeps no event history for clients; nothing to show without --follow, which prints each change as it happens from now on"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    let out = w.run(&["tools", "call", "web", "echo", "--args", "{}"], "");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("AgentArea cannot call tools (it has no tool-call route)"),
        "{err}"
    );
    let out = w.run(&["instances", "logs", "web", "-f"], "");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("AgentArea keeps no process logs for clients (it has no logs route), so there is nothing to print"),
        "{err}"
    );
    assert!(
        !w.aa.api_log().contains("/v1/aacon/events"),
        "the missing history route was not asked for"
    );
}

/// `events --follow` on a platform without a history says what it shows,
/// then shows changes as they happen (here: seen by polling the list).
#[test]
fn events_follow_says_what_it_shows_and_shows_a_create_by_another_client() {
    use std::io::{BufRead, BufReader};
    let w = Ws::new("follow");
    let mut child = Command::new(env!("CARGO_BIN_EXE_aacon"))
        .args(["events", "--follow", "-o", "jsonl"])
        .env("AACON_DATA_DIR", &w.data)
        .env("AACON_CONFIG_DIR", &w.config)
        .env("AACON_API_URL", &w.aa.url)
        .env("AACON_API_TOKEN", &w.token)
        .env("AACON_API_POLL_MS", "300")
        .env_remove("AACON_REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(
        line.contains("AgentArea keeps no event history for clients; showing changes from now on (AgentArea's own events from its Redis with --redis and [redis] agentarea_pubsub = true, else the changes that polling its instance list reveals)"),
        "{line}"
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    // The first poll is the baseline; a create after it is a change.
    std::thread::sleep(Duration::from_millis(1500));
    let id = w.twin("seen");
    let found = loop {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(l) if l.contains(&id) => break Some(l),
            Ok(_) => continue,
            Err(_) => break None,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let l = found.expect("the create showed up while following");
    assert!(l.contains("Created"), "{l}");
}

/// The console in a pty: the header's workspace, twins marked, the create
/// picker offering what AgentArea can create, and the empty tabs explained
/// without polling a route that is not there.
#[test]
fn the_console_shows_workspace_twins_creatable_templates_and_why_tabs_are_empty() {
    let w = Ws::new("console");
    w.twin("twin");
    w.twin("twin");
    w.twin("solo");
    let url = w.aa.url.clone();
    let env: [(&str, &OsStr); 3] = [
        ("AACON_API_URL", OsStr::new(&url)),
        ("AACON_API_TOKEN", OsStr::new(&w.token)),
        ("AACON_WORKSPACE", OsStr::new("someone-else")),
    ];
    let mut c = Console::spawn_with_env(&w.data, &w.config, &[], &env);
    let t = Duration::from_secs(30);
    // The workspace asked for is not the token's: said, and the header
    // shows the one in effect.
    let s = c.wait_for("twin [dup]", t);
    assert!(
        s.contains(&format!("workspace {} (asked 'someone-else')", w.ws)),
        "{s}"
    );
    assert!(s.contains(&format!("workspace {}", w.ws)), "{s}");
    assert!(s.contains("solo") && !s.contains("solo [dup]"), "{s}");
    assert_eq!(s.matches("twin [dup]").count(), 2, "{s}");

    assert!(
        !s.contains("could not read events"),
        "no history is not an error: {s}"
    );
    c.send(b"2");
    c.wait_for("AgentArea keeps no event history for clients", t);
    c.send(b"1");
    c.send(b"n");
    let s = c.wait_for("AgentArea creates containers only", t);
    assert!(s.contains("Container"), "{s}");
    assert!(
        !s.contains("External endpoint") && !s.contains("Stdio command"),
        "{s}"
    );
    c.send(b"\x1b");

    // Open 'solo' (sorted by name: solo, twin, twin) and walk to the tabs.
    c.send(b"/solo\r");
    c.send(b"\r");
    c.wait_for("solo", t);
    let mut seen_events = false;
    let mut seen_logs = false;
    for _ in 0..6 {
        c.send(b"\t");
        let s = c.screen();
        seen_events |= s.contains("AgentArea keeps no event history for clients");
        seen_logs |= s.contains("AgentArea keeps no process logs for clients");
    }
    assert!(seen_events, "{}", c.screen());
    assert!(seen_logs, "{}", c.screen());
    // A twin's detail says its name does not name it.
    c.send(b"\x1b");
    c.send(b"\x1b");
    c.send(b"/twin\r");
    c.send(b"\r");
    c.wait_for(
        "another instance has this name: only the id names this one",
        t,
    );
    c.send(b"\x1b");
    c.send(b"q");
    c.wait_exit(t);
    let log = w.aa.api_log();
    assert!(!log.contains("/logs HTTP"), "no logs route was polled");
}

// ---------- the same behaviours against `aacon serve` ----------

#[test]
fn against_aacon_serve_names_read_back_and_the_round_trip_hold() {
    let (_tmp, data, config) = support::cli::dirs();
    let serve_data = data.with_file_name("serve-data");
    let serve = support::serve::Serve::start(&serve_data, &config, &[]);
    let run = |args: &[&str], stdin: &str| {
        aacon((&data, &config), &serve.url, "unused", &[], args, stdin)
    };
    let ok = |args: &[&str], stdin: &str| {
        let out = run(args, stdin);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        out
    };
    // serve says what it is: every kind is creatable.
    ok(
        &["instances", "create", "proc", "--spec", "-"],
        r#"{"command": ["true"]}"#,
    );
    ok(
        &[
            "instances",
            "create",
            "web",
            "--spec",
            "-",
            "--description",
            "d",
        ],
        CONTAINER,
    );
    let out = run(&["instances", "create", "web", "--spec", "-"], CONTAINER);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains("an instance named 'web' already exists (id "),
        "{err}"
    );

    // Round trip with the version as the precondition; null clears here.
    let out = ok(&["instances", "get", "web", "-o", "json"], "");
    let mut doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stale = doc.clone();
    doc["description"] = Value::Null;
    doc["server_spec_id"] = json!("spec-9");
    let out = ok(&["instances", "apply", "-f", "-"], &doc.to_string());
    let err = text(&out.stderr);
    assert!(
        err.contains("instance 'web' updated to version 2 (description, server_spec_id)"),
        "{err}"
    );
    let got: Value =
        serde_json::from_slice(&ok(&["instances", "get", "web", "-o", "json"], "").stdout).unwrap();
    assert_eq!(got["description"], Value::Null);
    assert_eq!(got["server_spec_id"], "spec-9");
    let out = ok(&["instances", "apply", "-f", "-"], &doc.to_string());
    assert!(text(&out.stderr).contains("unchanged; nothing sent"));
    let mut late = stale;
    late["json_spec"]["port"] = json!(1);
    let out = run(&["instances", "apply", "-f", "-"], &late.to_string());
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));

    // serve keeps a history: `events` shows it.
    let out = ok(&["events", "-o", "jsonl"], "");
    assert!(
        text(&out.stdout).contains("Created"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn embedded_get_json_edit_apply_round_trips() {
    let (_tmp, data, config) = support::cli::dirs();
    support::cli::create(&data, &config, "web", CONTAINER);
    let out = support::cli::ok(
        &data,
        &config,
        &["instances", "get", "web", "-o", "json"],
        "",
    );
    let mut doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stale = doc.clone();
    doc["json_spec"]["port"] = json!(8100);
    doc["description"] = json!("edited");
    let out = support::cli::ok(
        &data,
        &config,
        &["instances", "apply", "-f", "-"],
        &doc.to_string(),
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("instance 'web' updated to version 2 (description, json_spec)"),
        "{err}"
    );
    let out = support::cli::ok(
        &data,
        &config,
        &["instances", "apply", "-f", "-"],
        &doc.to_string(),
    );
    assert!(text(&out.stderr).contains("unchanged; nothing sent"));
    let out = support::cli::cli(
        &data,
        &config,
        &["instances", "apply", "-f", "-"],
        &stale.to_string(),
    );
    assert_eq!(
        out.status.code(),
        Some(5),
        "the stale version is refused: {}",
        text(&out.stderr)
    );
    let got: Value = serde_json::from_slice(
        &support::cli::ok(
            &data,
            &config,
            &["instances", "get", "web", "-o", "json"],
            "",
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(got["json_spec"]["port"], 8100);
    assert_eq!(got["version"], 2);
}
