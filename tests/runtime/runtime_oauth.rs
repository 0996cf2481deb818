//! Remote servers behind OAuth, against the Python MCP SDK's auth support
//! (`tests/python/oauth_server.py`: the protected server is its own
//! authorization server, on loopback).

use crate::support::python;
use crate::support::rig::*;
use aacon::domain::Status;
use aacon::platform::Platform;
use serde_json::json;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `aacon auth login NAME` on the rig's data dir, finished the way an
/// operator on SSH does: the test follows the printed authorization URL as
/// a browser would (the server approves at once and redirects) and pastes
/// the address it was redirected to. Returns what it printed on stdout.
async fn login_by_paste(data: &std::path::Path, name: &str) -> String {
    login(data, name, true).await
}

/// As [`login_by_paste`]; with `paste` false the browser follows the
/// redirect to aacon's loopback listener instead, and nothing is pasted.
async fn login(data: &std::path::Path, name: &str, paste: bool) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let config = data.join("config");
    std::fs::create_dir_all(&config).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_aacon"))
        .args(["auth", "login", name])
        .env("AACON_DATA_DIR", data)
        .env("AACON_CONFIG_DIR", &config)
        .env_remove("AACON_API_URL")
        .env_remove("AACON_REDIS_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    let auth_url = loop {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(60), stderr.read_line(&mut line))
            .await
            .expect("aacon auth login printed no URL in time")
            .unwrap();
        assert!(n > 0, "aacon auth login printed no URL: {said}");
        said.push_str(&line);
        if let Some(u) = line.trim().strip_prefix("http") {
            break format!("http{u}");
        }
    };
    // The browser: follow the authorization URL to its redirect.
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&auth_url)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection(), "{}", resp.status());
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("code="), "{location}");
    let mut stdin = child.stdin.take().unwrap();
    if paste {
        stdin
            .write_all(format!("{location}\n").as_bytes())
            .await
            .unwrap();
    } else {
        let page = reqwest::get(&location).await.unwrap();
        assert!(page.status().is_success(), "{}", page.status());
        assert!(page.text().await.unwrap().contains("login received"));
    }
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .await
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("aacon auth login did not end")
        .unwrap();
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest).await;
    assert!(status.success(), "login failed: {said}{rest}");
    assert!(!rest.contains(&location), "the redirect was echoed");
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_protected_server_without_a_login_shows_needs_login() {
    let rig = Rig::new(fast_config()).await;
    let server = python::spawn("oauth_server.py", &[]).await;
    let url = server.url("/mcp");
    let inst = rig.start("py-oauth", json!({"endpoint_url": url})).await;
    let i = rig.wait_status(inst.id, Status::Error, 30).await;
    let reason = i.status_reason.unwrap();
    assert_eq!(
        reason,
        format!("needs login: {url} answered HTTP 401; run `aacon auth login py-oauth`")
    );
    // A token it never issued is refused the same way.
    let inst = rig
        .start(
            "py-oauth-bad-token",
            json!({"endpoint_url": url, "headers": {"Authorization": "Bearer not-a-token"}}),
        )
        .await;
    let i = rig.wait_status(inst.id, Status::Error, 30).await;
    assert!(
        i.status_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("needs login:")),
        "{:?}",
        i.status_reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_by_pasted_redirect_then_refresh_then_revoked_needs_login() {
    let rig = Rig::new(fast_config()).await;
    // Access tokens live 4 s: the runtime has to refresh them.
    let server = python::spawn("oauth_server.py", &["4"]).await;
    let url = server.url("/mcp");
    let inst = rig.create("py-login", json!({"endpoint_url": url})).await;
    let said = login_by_paste(rig.dir.path(), "py-login").await;
    assert!(said.starts_with(&format!("logged in to {url}")), "{said}");
    // The tokens are in the secret store, never on screen.
    assert!(
        secrets_json(rig.dir.path()).contains("oauth."),
        "the login is not in the secret store"
    );

    rig.platform.start(inst.id).await.unwrap();
    let i = rig.wait_status(inst.id, Status::Running, 30).await;
    assert_eq!(
        i.status_reason.as_deref(),
        Some("connected over Streamable HTTP")
    );
    let http = reqwest::Client::new();
    let issued = || async {
        let v: serde_json::Value = http
            .get(server.url("/test/issued"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["issued"].as_u64().unwrap()
    };
    assert_eq!(issued().await, 1);
    // Calls keep working past the token's life: it is refreshed.
    let deadline = Instant::now() + Duration::from_secs(60);
    while issued().await < 2 {
        let out = rig
            .rt()
            .call_tool(inst.id, "echo", json!({"message": "still in"}))
            .await
            .unwrap();
        assert_eq!(out.text, "Echo: still in");
        assert!(
            Instant::now() < deadline,
            "the access token was never refreshed"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let out = rig
        .rt()
        .call_tool(inst.id, "echo", json!({"message": "refreshed"}))
        .await
        .unwrap();
    assert_eq!(out.text, "Echo: refreshed");

    // Status says there is a login and when it expires, never a token.
    let config = rig.dir.path().join("config");
    let out = crate::support::cli::ok(rig.dir.path(), &config, &["auth", "status", "py-login"], "");
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(shown.contains("logged in (client "), "{shown}");
    assert!(shown.contains("access token expires "), "{shown}");
    let kept: serde_json::Value = serde_json::from_str(&secrets_json(rig.dir.path())).unwrap();
    let entry = kept
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.starts_with("oauth."))
        .unwrap()
        .1;
    let creds: serde_json::Value = serde_json::from_str(entry.as_str().unwrap()).unwrap();
    let token = creds["token_response"]["access_token"].as_str().unwrap();
    assert!(!shown.contains(token) && !said.contains(token));

    // Revoked: the next session shows needs login with the command.
    http.post(server.url("/test/revoke-all"))
        .send()
        .await
        .unwrap();
    rig.platform.restart(inst.id).await.unwrap();
    let i = rig
        .wait(inst.id, 60, |i| {
            i.status_reason
                .as_deref()
                .is_some_and(|r| r.starts_with("needs login:"))
        })
        .await;
    assert_eq!(
        i.status_reason.as_deref(),
        Some(
            format!("needs login: {url} answered HTTP 401; run `aacon auth login py-login`")
                .as_str()
        )
    );
    // Logout forgets it.
    crate::support::cli::ok(rig.dir.path(), &config, &["auth", "logout", "py-login"], "");
    assert!(!secrets_json(rig.dir.path()).contains("oauth."));
}

fn secrets_json(data: &std::path::Path) -> String {
    std::fs::read_to_string(data.join("secrets.json")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_on_this_machine_finishes_the_login_at_the_loopback_listener() {
    let rig = Rig::new(fast_config()).await;
    let server = python::spawn("oauth_server.py", &[]).await;
    let url = server.url("/mcp");
    let inst = rig.create("py-local", json!({"endpoint_url": url})).await;
    let said = login(rig.dir.path(), "py-local", false).await;
    assert!(said.starts_with(&format!("logged in to {url}")), "{said}");
    rig.platform.start(inst.id).await.unwrap();
    rig.wait_status(inst.id, Status::Running, 30).await;
    let out = rig
        .rt()
        .call_tool(inst.id, "echo", json!({"message": "local"}))
        .await
        .unwrap();
    assert_eq!(out.text, "Echo: local");
}
