//! `aacon doctor`: one line per dependency, ✓ or ✗ with the fix.

use super::commands::Failure;
use super::{Global, Output, exit};
use crate::paths::DataDir;
use crate::platform::Platform;
use crate::platform::embedded::RuntimeLock;
use serde::Serialize;
use std::time::Duration;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    /// Works, but something a user may want is missing.
    Warn,
    Broken,
    /// Not configured, so not checked.
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub state: State,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn ok(check: &'static str, detail: impl Into<String>) -> Check {
    Check {
        check,
        state: State::Ok,
        detail: detail.into(),
        fix: None,
    }
}

fn bad(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        check,
        state: State::Broken,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

fn data_dir_checks(dir: &DataDir, out: &mut Vec<Check>) {
    writable_check(dir, out);
    local_platform_checks(dir, out);
}

fn writable_check(dir: &DataDir, out: &mut Vec<Check>) {
    let probe = dir.root().join(".doctor-probe");
    match std::fs::write(&probe, b"ok").and_then(|_| std::fs::remove_file(&probe)) {
        Ok(()) => out.push(ok(
            "data dir",
            format!("{} is writable", dir.root().display()),
        )),
        Err(e) => out.push(bad(
            "data dir",
            format!("{} is not writable: {e}", dir.root().display()),
            format!(
                "fix its permissions (chmod u+rwx {}) or pass --data-dir",
                dir.root().display()
            ),
        )),
    }
}

/// Who holds the runtime, named as the console's header names it
/// ("background host, pid 42", "serve at ADDR, pid 42"), and since when.
fn runtime_holder(h: crate::platform::embedded::LockHolder) -> String {
    let since = h.since.clone();
    let who = match h.role.as_str() {
        // doctor is no console itself: "a console", not "another".
        "console" => format!("a console, pid {}", h.pid),
        _ => crate::platform::RuntimeHost::Other {
            role: h.role,
            pid: h.pid,
            address: h.address,
        }
        .describe(),
    };
    format!("{who}, since {since}")
}

/// The embedded platform's parts: its store, runtime host and secrets.
fn local_platform_checks(dir: &DataDir, out: &mut Vec<Check>) {
    match crate::store::port::open(dir, "doctor").and_then(|s| s.integrity_check().map(|r| (s, r)))
    {
        Ok((s, r)) if r == "ok" => {
            let n = s.list().map(|l| l.len()).unwrap_or(0);
            let unsent = s.outbox_len().unwrap_or(0);
            out.push(ok(
                "store",
                format!(
                    "{} opens, integrity ok, {}, {unsent} events in the outbox",
                    s.location(),
                    crate::tui::views::plural(n, "instance")
                ),
            ));
        }
        Ok((_, r)) => out.push(bad(
            "store",
            format!("integrity check failed: {r}"),
            "restore the data dir from a backup",
        )),
        Err(e) => out.push(bad(
            "store",
            e.to_string(),
            "check the data dir, or pass another --data-dir",
        )),
    }
    match RuntimeLock::holder(dir) {
        Ok(Some(h)) => out.push(ok("runtime host", runtime_holder(h))),
        Ok(None) => out.push(Check {
            check: "runtime host",
            state: State::Warn,
            detail: "no console or `aacon serve` hosts the runtime; instances are not brought up"
                .into(),
            fix: Some("open the console or run `aacon serve`".into()),
        }),
        Err(e) => out.push(bad(
            "runtime host",
            e.to_string(),
            "check the data dir's permissions",
        )),
    }
    match crate::secrets::SecretStore::open(dir.root()).list() {
        Ok(names) => out.push(ok(
            "secret store",
            format!("owner-only, {} secrets", names.len()),
        )),
        Err(e) => out.push(bad("secret store", e.to_string(), e.fix())),
    }
}

async fn redis_check(settings: &crate::config::Settings, out: &mut Vec<Check>) {
    let cfg = match crate::bus::RedisConfig::from_settings(settings) {
        Ok(Some(c)) => c,
        Ok(None) => {
            out.push(Check {
                check: "redis",
                state: State::Skipped,
                detail: "not configured (--redis, AACON_REDIS_URL, [redis] url)".into(),
                fix: None,
            });
            return;
        }
        Err(e) => {
            out.push(bad("redis", e.to_string(), "fix the Redis URL"));
            return;
        }
    };
    let label = cfg.label();
    let attempt = async {
        let mut conn = cfg.connect().await.map_err(|e| e.to_string())?;
        let len: u64 = redis::cmd("XLEN")
            .arg(&cfg.stream_key)
            .query_async(&mut conn)
            .await
            .map_err(|e| cfg.scrub(&e.to_string()))?;
        let groups: redis::Value = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(&cfg.stream_key)
            .query_async(&mut conn)
            .await
            .unwrap_or(redis::Value::Nil);
        Ok::<_, String>((len, describe_groups(&groups)))
    };
    match tokio::time::timeout(Duration::from_secs(5), attempt).await {
        Ok(Ok((len, groups))) => out.push(ok(
            "redis",
            format!(
                "{label} reachable; stream {} holds {len} entries{groups}",
                cfg.stream_key
            ),
        )),
        Ok(Err(e)) => out.push(bad(
            "redis",
            format!("{label}: {e}"),
            "start redis-server or fix the URL; events wait in the outbox meanwhile",
        )),
        Err(_) => out.push(bad(
            "redis",
            format!("{label} did not answer within 5 s"),
            "check the host, port and firewall",
        )),
    }
}

/// "; group NAME lag N" for each consumer group (Redis 7 reports lag).
fn describe_groups(v: &redis::Value) -> String {
    let redis::Value::Array(groups) = v else {
        return String::new();
    };
    let mut out = String::new();
    for g in groups {
        let fields: Vec<&redis::Value> = match g {
            redis::Value::Array(f) => f.iter().collect(),
            redis::Value::Map(m) => m.iter().flat_map(|(k, v)| [k, v]).collect(),
            _ => continue,
        };
        let get = |key: &str| {
            fields.chunks(2).find_map(|kv| match kv {
                [redis::Value::BulkString(k), v] if k.as_slice() == key.as_bytes() => {
                    Some((*v).clone())
                }
                [redis::Value::SimpleString(k), v] if k == key => Some((*v).clone()),
                _ => None,
            })
        };
        let name = match get("name") {
            Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
            _ => continue,
        };
        let lag = match get("lag") {
            Some(redis::Value::Int(n)) => n.to_string(),
            _ => "unknown".into(),
        };
        out.push_str(&format!("; group {name} lag {lag}"));
    }
    out
}

async fn api_check(global: &Global, out: &mut Vec<Check>) {
    let opts = match super::serve_cmd::api_options(global) {
        Ok(Some(o)) => o,
        Ok(None) => {
            out.push(Check {
                check: "api",
                state: State::Skipped,
                detail: "not configured (embedded platform)".into(),
                fix: None,
            });
            return;
        }
        Err(f) => {
            out.push(bad("api", f.message, "fix the API settings"));
            return;
        }
    };
    let platform = match crate::platform::api::ApiPlatform::new(opts) {
        Ok(p) => p,
        Err(e) => {
            out.push(bad("api", e.to_string(), "fix the API URL"));
            return;
        }
    };
    let name = platform.info().name;
    match tokio::time::timeout(Duration::from_secs(15), platform.list()).await {
        Ok(Ok(list)) => out.push(ok(
            "api",
            format!(
                "{name} reachable, auth ok, {}",
                crate::tui::views::plural(list.len(), "instance")
            ),
        )),
        Ok(Err(e)) => out.push(bad(
            "api",
            format!("{name}: {e}"),
            "check the URL and AACON_API_TOKEN / AACON_WORKSPACE",
        )),
        Err(_) => {
            out.push(bad(
                "api",
                format!("{name} did not answer within 15 s"),
                "check the URL and the network",
            ));
            return;
        }
    }
    // What answers there: its `/health` (no token needed) says.
    match tokio::time::timeout(Duration::from_secs(15), platform.health()).await {
        Ok(Ok(health)) => {
            platform.learned_from_health(&health);
            out.push(ok("backend", backend_of(&health)));
        }
        Ok(Err(e)) => out.push(Check {
            check: "backend",
            state: State::Warn,
            detail: format!("{name}/health: {e}"),
            fix: Some("check that the URL is the platform's base address".into()),
        }),
        Err(_) => out.push(Check {
            check: "backend",
            state: State::Warn,
            detail: format!("{name}/health did not answer within 15 s"),
            fix: None,
        }),
    }
    workspace_check(&platform, out).await;
}

/// What a platform's `/health` says it is: AgentArea's API, `aacon
/// serve`, or something else (named as it names itself).
fn backend_of(health: &serde_json::Value) -> String {
    let field = |k: &str| {
        health
            .get(k)
            .and_then(serde_json::Value::as_str)
            .map(super::output::inert)
    };
    let version = field("version").map_or_else(String::new, |v| format!(" {v}"));
    match field("service").as_deref() {
        Some("agentarea-api") => format!("AgentArea (agentarea-api{version})"),
        Some("aacon") => {
            let ro = health
                .get("read_only")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
            format!(
                "aacon serve{version}{}",
                if ro { ", read-only" } else { "" }
            )
        }
        Some(other) => format!("a service that calls itself '{other}'{version}"),
        None => "a service that does not say what it is".into(),
    }
}

/// The workspace whose data API mode shows: AgentArea scopes by the token's
/// `workspace_id` claim (read here without verifying it), not the header.
async fn workspace_check(platform: &crate::platform::api::ApiPlatform, out: &mut Vec<Check>) {
    let Ok(p) = tokio::time::timeout(Duration::from_secs(15), platform.learn_profile()).await
    else {
        return;
    };
    let source = match p.kind {
        crate::platform::profile::BackendKind::Aacon => {
            "asked for; aacon serve does not scope by workspace"
        }
        _ => "the token's workspace_id claim",
    };
    match (p.workspace, p.workspace_note) {
        (_, Some(note)) => out.push(Check {
            check: "workspace",
            state: State::Warn,
            detail: note,
            fix: Some("use a token minted for the workspace you mean (AACON_API_TOKEN)".into()),
        }),
        (Some(ws), None) => out.push(ok("workspace", format!("{ws} ({source})"))),
        (None, None) => {}
    }
}

fn tool_checks(out: &mut Vec<Check>) {
    for (tool, why) in [
        (
            "npx",
            "npm-based catalog templates (filesystem, memory, everything, github)",
        ),
        ("uvx", "Python catalog templates (fetch, time)"),
    ] {
        if on_path(tool) {
            out.push(ok(
                if tool == "npx" { "npx" } else { "uvx" },
                format!("{tool} found for {why}"),
            ));
        } else {
            out.push(Check {
                check: if tool == "npx" { "npx" } else { "uvx" },
                state: State::Warn,
                detail: format!("{tool} not found; needed by {why}"),
                fix: Some(if tool == "npx" {
                    "install Node.js and npm".into()
                } else {
                    "install uv (pip install uv)".into()
                }),
            });
        }
    }
}

/// The theme in effect and the terminal's background (`COLORFGBG`).
fn theme_check(settings: &crate::config::Settings, out: &mut Vec<Check>) {
    let bg = crate::tui::term::TermCaps::from_env().background;
    let config_dir = crate::paths::config_dir();
    match crate::tui::theme::Theme::load(&settings.theme, config_dir.as_deref(), false) {
        Ok(theme) => out.push(ok("theme", theme.describe_background(bg))),
        Err(e) => out.push(bad(
            "theme",
            e.to_string(),
            "fix the theme file, or pick a preset with --theme",
        )),
    }
}

fn terminal_check(out: &mut Vec<Check>) {
    // TERM is bytes: a name that is not UTF-8 is shown lossily and said so.
    let raw_term = std::env::var_os("TERM").unwrap_or_default();
    let term = raw_term.to_string_lossy().into_owned();
    let not_utf8 = raw_term.to_str().is_none();
    // The same reading of the environment the console's renderer uses.
    let caps = crate::tui::term::TermCaps::from_env();
    let colours = if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        "no colour (NO_COLOR)".to_string()
    } else {
        caps.describe_colours()
    };
    let colours = format!("{colours}, {}", caps.describe_charset());
    let size = crossterm::terminal::size().ok();
    let shown_term = if term.is_empty() {
        "unset".to_string()
    } else if not_utf8 {
        format!("{} (not UTF-8)", super::output::inert(&term))
    } else {
        super::output::inert(&term)
    };
    match size {
        Some((w, h)) if w >= 40 && h >= 12 => out.push(ok(
            "terminal",
            format!("TERM={shown_term}, {colours}, {w}x{h}"),
        )),
        Some((w, h)) => out.push(bad(
            "terminal",
            format!("TERM={shown_term}, {colours}, {w}x{h} is below 40x12"),
            "make the window larger",
        )),
        None => out.push(Check {
            check: "terminal",
            state: State::Warn,
            detail: format!("TERM={shown_term}, {colours}, not a terminal"),
            fix: None,
        }),
    }
}

pub(super) async fn doctor(dir: &DataDir, global: &Global, fmt: Output) -> Result<(), Failure> {
    let checks = checks(dir, global).await;
    super::commands::print(&render(&checks, fmt));
    let broken = checks.iter().filter(|c| c.state == State::Broken).count();
    if broken > 0 {
        return Err(Failure::new(
            exit::RUNTIME,
            format!(
                "{broken} check{} failed",
                if broken == 1 { "" } else { "s" }
            ),
        ));
    }
    Ok(())
}

/// Every check, in the order printed.
pub(super) async fn checks(dir: &DataDir, global: &Global) -> Vec<Check> {
    let mut checks = Vec::new();
    let settings = super::serve_cmd::settings(global);
    // In API mode the remote runs instances: nothing local hosts them.
    let api_mode = settings.as_ref().is_ok_and(|s| s.api_url.is_some());
    if api_mode {
        writable_check(dir, &mut checks);
        checks.push(Check {
            check: "runtime",
            state: State::Skipped,
            detail: "API mode: the remote platform runs the instances, so no local store, runtime host, container engine or npx/uvx is needed".into(),
            fix: None,
        });
    } else {
        data_dir_checks(dir, &mut checks);
    }
    match settings {
        Ok(settings) => {
            theme_check(&settings, &mut checks);
            redis_check(&settings, &mut checks).await;
            api_check(global, &mut checks).await;
        }
        Err(f) => checks.push(bad(
            "config",
            f.message,
            "fix the config file (aacon config path)",
        )),
    }
    if !api_mode {
        match crate::runtime::container_cli().await {
            Ok(cli) => checks.push(ok("containers", format!("{cli} works"))),
            Err(e) => checks.push(Check {
                check: "containers",
                state: State::Warn,
                detail: e.to_string(),
                fix: Some("install podman or docker to run container instances".into()),
            }),
        }
        tool_checks(&mut checks);
    }
    terminal_check(&mut checks);
    checks
}

/// The checks as `fmt` prints them.
pub(super) fn render(checks: &[Check], fmt: Output) -> String {
    match fmt {
        Output::Json => serde_json::to_string_pretty(&checks).unwrap_or_default() + "\n",
        Output::Jsonl => checks
            .iter()
            .map(|c| serde_json::to_string(c).unwrap_or_default() + "\n")
            .collect(),
        Output::Table => checks
            .iter()
            .map(|c| {
                let mark = match c.state {
                    State::Ok => "✓",
                    State::Warn => "!",
                    State::Broken => "✗",
                    State::Skipped => "–",
                };
                match &c.fix {
                    Some(fix) if c.state != State::Ok => {
                        format!("{mark} {}: {} — {fix}\n", c.check, c.detail)
                    }
                    _ => format!("{mark} {}: {}\n", c.check, c.detail),
                }
            })
            .collect(),
    }
}
