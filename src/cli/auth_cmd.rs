//! `aacon auth login|status|logout NAME`: OAuth logins for remote MCP
//! servers. The login prints the authorization URL to open in a browser on
//! any machine and takes back the address the browser was redirected to,
//! from a loopback listener when that browser can reach this machine, else
//! pasted (SSH has no browser). Tokens go to the secret store only.

use super::commands::{Failure, print};
use super::output::inert;
use super::{AuthCmd, Output, exit};
use crate::domain::Instance;
use crate::paths::DataDir;
use crate::platform::Platform;
use crate::runtime::oauth::{Login, SecretCredentials, secret_name};
use crate::runtime::plan::{self, Plan};
use crate::secrets::SecretStore;
use serde_json::json;
use std::io::Write;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

type Outcome = Result<(), Failure>;

/// How long a login waits for the redirect.
const LOGIN_WAIT: Duration = Duration::from_secs(600);

fn runtime(e: impl std::fmt::Display) -> Failure {
    Failure::new(exit::RUNTIME, e.to_string())
}

/// The endpoint URL of a remote instance.
fn endpoint(inst: &Instance, store: &SecretStore) -> Result<String, Failure> {
    match plan::resolve(&inst.json_spec, store).map_err(runtime)?.plan {
        Plan::Endpoint(e) => Ok(e.url),
        _ => Err(Failure::new(
            exit::USAGE,
            format!(
                "instance '{}' is not a remote server (no endpoint_url); only remote servers log in",
                inert(&inst.name)
            ),
        )),
    }
}

pub(super) async fn auth(
    platform: &dyn Platform,
    dir: &DataDir,
    cmd: AuthCmd,
    fmt: Output,
    read_only: bool,
) -> Outcome {
    let store = SecretStore::open(dir.root());
    match cmd {
        AuthCmd::Login { key } => {
            if read_only {
                return Err(Failure::new(
                    exit::RUNTIME,
                    "read-only mode: logging in (storing tokens) is not allowed",
                ));
            }
            let inst = platform.get(&key).await?;
            let url = endpoint(&inst, &store)?;
            login(&inst, &url, SecretCredentials::new(store, inst.id)).await?;
            match fmt {
                Output::Table => print(&format!(
                    "logged in to {}; the tokens are kept in the secret store as '{}' and refreshed before they expire\nthe runtime host uses them at the instance's next attempt (`aacon instances restart {}` to start now)\n",
                    inert(&url),
                    secret_name(inst.id),
                    inert(&inst.name)
                )),
                _ => print(&format!(
                    "{}\n",
                    json!({"status": "logged_in", "instance": inst.name, "url": url})
                )),
            }
        }
        AuthCmd::Status { key } => {
            let inst = platform.get(&key).await?;
            let url = endpoint(&inst, &store)?;
            let creds = SecretCredentials::new(store, inst.id)
                .read()
                .map_err(runtime)?;
            let (state, expires) = match &creds {
                None => ("not logged in".to_string(), None),
                Some(c) if c.token_response.is_none() => ("not logged in".to_string(), None),
                Some(c) => {
                    // Only the token's metadata is read, never the token.
                    let t = serde_json::to_value(&c.token_response).unwrap_or_default();
                    let at = t
                        .get("expires_in")
                        .and_then(serde_json::Value::as_u64)
                        .zip(c.token_received_at)
                        .map(|(d, at)| at + d);
                    let refresh = t.get("refresh_token").is_some_and(|r| !r.is_null());
                    (
                        format!(
                            "logged in (client {}{})",
                            inert(&c.client_id),
                            if refresh { ", refreshable" } else { "" }
                        ),
                        at,
                    )
                }
            };
            let expires_text = expires.and_then(|e| {
                chrono::DateTime::from_timestamp(e as i64, 0)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            });
            match fmt {
                Output::Table => {
                    let mut out = format!("{}  {}\n{state}\n", inert(&inst.name), inert(&url));
                    if let Some(t) = &expires_text {
                        out.push_str(&format!("access token expires {t}\n"));
                    }
                    print(&out);
                }
                _ => print(&format!(
                    "{}\n",
                    json!({"instance": inst.name, "url": url, "logged_in": creds.is_some_and(|c| c.token_response.is_some()), "expires_at": expires_text})
                )),
            }
        }
        AuthCmd::Logout { key } => {
            if read_only {
                return Err(Failure::new(
                    exit::RUNTIME,
                    "read-only mode: logging out (removing tokens) is not allowed",
                ));
            }
            let inst = platform.get(&key).await?;
            let removed = SecretCredentials::new(store, inst.id)
                .remove()
                .map_err(runtime)?;
            match fmt {
                Output::Table => print(&if removed {
                    format!("forgot the login of '{}'\n", inert(&inst.name))
                } else {
                    format!("'{}' had no login\n", inert(&inst.name))
                }),
                _ => print(&format!(
                    "{}\n",
                    json!({"instance": inst.name, "removed": removed})
                )),
            }
        }
    }
    Ok(())
}

/// The whole login: a loopback listener for the redirect, the URL printed,
/// then whichever comes first: the browser at the listener, or a line
/// pasted on stdin.
async fn login(inst: &Instance, url: &str, creds: SecretCredentials) -> Outcome {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| runtime(format!("cannot listen on loopback for the redirect: {e}")))?;
    let port = listener.local_addr().map_err(runtime)?.port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let flow = Login::begin(url, &redirect, creds).await.map_err(runtime)?;
    eprintln!(
        "To log '{}' in to {}, open this URL in a browser (on any machine):\n\n  {}\n\nAfter the login the browser is sent to {redirect}?code=…\nIf it was this machine's browser, that finishes the login here. Otherwise paste the whole address it shows (it may say it cannot connect) and press Enter:",
        inert(&inst.name),
        inert(url),
        flow.url()
    );
    let _ = std::io::stderr().flush();
    // stdin is read on a thread of its own: a read still waiting when the
    // listener wins must not keep the process from exiting.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let stdin = std::io::stdin();
        loop {
            line.clear();
            match stdin.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(None);
                    return;
                }
                Ok(_) if line.trim().is_empty() => continue,
                Ok(_) => {
                    let _ = tx.send(Some(line.trim().to_string()));
                    return;
                }
            }
        }
    });
    let pasted = async { rx.await.ok().flatten() };
    let redirected = tokio::time::timeout(LOGIN_WAIT, async {
        tokio::select! {
            r = pasted => r,
            r = redirected_at(&listener, port) => Some(r),
        }
    })
    .await
    .map_err(|_| {
        Failure::new(
            exit::RUNTIME,
            format!(
                "no redirect within {} minutes; nothing stored",
                LOGIN_WAIT.as_secs() / 60
            ),
        )
    })?
    .ok_or_else(|| {
        Failure::new(
            exit::USAGE,
            "stdin ended before the redirected address was pasted; nothing stored",
        )
    })?;
    flow.finish(&redirected).await.map_err(runtime)
}

/// The first request to the loopback listener that carries a code, as a
/// full URL; the browser is told it may close the tab.
async fn redirected_at(listener: &tokio::net::TcpListener, port: u16) -> String {
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            continue;
        };
        let mut reader = BufReader::new(sock);
        let mut first = String::new();
        if tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut first))
            .await
            .is_err()
        {
            continue;
        }
        // "GET /callback?code=…&state=… HTTP/1.1"
        let target = first.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut sock = reader.into_inner();
        let mut rest = [0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_millis(50), sock.read(&mut rest)).await;
        let ok = target.starts_with("/callback?") && target.contains("code=");
        let body = if ok {
            "aacon: login received; you can close this tab."
        } else {
            "aacon: this is not a login redirect."
        };
        let _ = sock
            .write_all(
                format!(
                    "HTTP/1.1 {}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    if ok { "200 OK" } else { "404 Not Found" },
                    body.len()
                )
                .as_bytes(),
            )
            .await;
        let _ = sock.shutdown().await;
        if ok {
            return format!("http://127.0.0.1:{port}{target}");
        }
    }
}
