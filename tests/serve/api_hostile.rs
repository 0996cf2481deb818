//! The API adapter against servers that misbehave, and against a stand-in
//! for a real AgentArea (no versions, naive datetimes): one clear sentence
//! each, no panic, mutations never retried.

use aacon::domain::{InstancePatch, NewInstance, Precondition, Status};
use aacon::platform::api::{ApiOptions, ApiPlatform, MAX_RESPONSE_BYTES};
use aacon::platform::{Platform, PlatformError};
use axum::Router;
use axum::routing::get;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A raw HTTP/1.1 server on 127.0.0.1: answers the n-th request with
/// `replies[min(n, last)]` (`None` = never answer) and counts requests.
fn raw_server(replies: Vec<Option<String>>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let reply = replies[n.min(replies.len() - 1)].clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and any body it announces.
                loop {
                    let Ok(k) = stream.read(&mut chunk) else {
                        return;
                    };
                    if k == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..k]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                match reply {
                    Some(r) => {
                        let _ = stream.write_all(r.as_bytes());
                    }
                    None => std::thread::sleep(Duration::from_secs(30)),
                }
            });
        }
    });
    (url, count)
}

fn http(status: &str, ctype: &str, body: &str) -> Option<String> {
    Some(format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
}

fn client(url: &str) -> ApiPlatform {
    let mut o = ApiOptions::new(url);
    o.timeout = Duration::from_secs(1);
    o.connect_timeout = Duration::from_secs(1);
    ApiPlatform::new(o).unwrap()
}

fn new() -> NewInstance {
    NewInstance {
        name: "web".into(),
        description: None,
        server_spec_id: None,
        json_spec: json!({"type": "docker", "image": "mcp/fs"}),
    }
}

/// What a create asks first: what the server is (`/health`), then whether
/// the name is taken (the list).
fn before_create(last: Option<String>) -> Vec<Option<String>> {
    vec![
        http(
            "200 OK",
            "application/json",
            r#"{"status": "healthy", "service": "aacon"}"#,
        ),
        http("200 OK", "application/json", "[]"),
        last,
    ]
}

fn one_sentence(e: &PlatformError) -> String {
    let s = e.to_string();
    assert!(!s.contains('\n'), "one line: {s}");
    assert!(!s.is_empty());
    s
}

#[tokio::test]
async fn an_html_page_is_named_as_such() {
    let (url, _) = raw_server(vec![http(
        "200 OK",
        "text/html",
        "<!doctype html><html><body>Login</body></html>",
    )]);
    let e = client(&url).list().await.unwrap_err();
    let s = one_sentence(&e);
    assert!(
        s.contains("answered 200 OK with an HTML page, not JSON"),
        "{s}"
    );
    assert!(s.contains(&url), "{s}");
}

#[tokio::test]
async fn truncated_json_is_named_as_such() {
    let (url, _) = raw_server(vec![http(
        "200 OK",
        "application/json",
        r#"[{"id": "7f1c0a9e-35a4-4e43-9d6c-1a4f5a0b8c11", "name": "fs", "json_spec": {"ty"#,
    )]);
    let s = one_sentence(&client(&url).list().await.unwrap_err());
    assert!(s.contains("sent truncated JSON"), "{s}");
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_named_as_such() {
    let (url, _) = raw_server(vec![http("200 OK", "application/json", r#"{"items": []}"#)]);
    let s = one_sentence(&client(&url).list().await.unwrap_err());
    assert!(s.contains("sent JSON of an unexpected shape"), "{s}");
}

#[tokio::test]
async fn a_hanging_server_times_out_without_retries() {
    let (url, count) = raw_server(vec![None]);
    let t = Instant::now();
    let s = one_sentence(&client(&url).list().await.unwrap_err());
    assert_eq!(
        s,
        format!("the API at {url} did not answer within 1 s"),
        "{s}"
    );
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert_eq!(count.load(Ordering::SeqCst), 1, "a timeout is not retried");
}

#[tokio::test]
async fn a_wrong_scheme_or_a_url_with_credentials_is_refused_up_front() {
    for (url, want) in [
        (
            "ftp://127.0.0.1:8080",
            "must start with http:// or https://, not ftp://",
        ),
        ("127.0.0.1:8080", "write it like http://127.0.0.1:8080"),
        (
            "localhost:8080",
            "must start with http:// or https://, not localhost://",
        ),
        (
            "http://admin:hunter2@127.0.0.1:8080",
            "must not carry credentials",
        ),
        ("not a url", "is not a URL"),
    ] {
        let e = ApiPlatform::new(ApiOptions::new(url)).err().expect(url);
        let s = one_sentence(&e);
        assert!(s.contains(want), "{url}: {s}");
        assert!(!s.contains("hunter2"), "{s}");
    }
}

#[tokio::test]
async fn nobody_listening_is_cannot_reach() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let s = one_sentence(&client(&url).list().await.unwrap_err());
    assert!(
        s.starts_with(&format!("cannot reach the API at {url}: ")),
        "{s}"
    );
}

#[tokio::test]
async fn gets_are_retried_on_502_503_504_and_mutations_never() {
    let (url, count) = raw_server(vec![
        http("502 Bad Gateway", "text/plain", "upstream down"),
        http("504 Gateway Timeout", "text/plain", "slow"),
        http("200 OK", "application/json", "[]"),
    ]);
    assert!(client(&url).list().await.unwrap().is_empty());
    assert_eq!(count.load(Ordering::SeqCst), 3);

    let (url, count) = raw_server(before_create(http(
        "503 Service Unavailable",
        "application/json",
        r#"{"detail": "database is down"}"#,
    )));
    let s = one_sentence(&client(&url).create(new()).await.unwrap_err());
    assert_eq!(
        s,
        format!("the API at {url} failed while creating an instance (503): database is down")
    );
    assert_eq!(
        count.load(Ordering::SeqCst),
        3,
        "/health, the list, and the POST sent once"
    );
}

#[tokio::test]
async fn each_status_code_has_its_own_sentence() {
    let cases = [
        (
            "400 Bad Request",
            r#"{"detail": "Invalid json_spec: image is required"}"#,
            "Invalid json_spec: image is required",
        ),
        (
            "401 Unauthorized",
            r#"{"detail": "Not authenticated"}"#,
            "refused creating an instance: Not authenticated (401)",
        ),
        (
            "403 Forbidden",
            r#"{"detail": "Workspace access denied"}"#,
            "forbids creating an instance (403): Workspace access denied",
        ),
        (
            "409 Conflict",
            r#"{"detail": "name already exists"}"#,
            "name already exists",
        ),
        (
            "422 Unprocessable Entity",
            r#"{"detail": [{"loc": ["body", "json_spec"], "msg": "Field required", "type": "missing"}]}"#,
            "malformed (422): body.json_spec: Field required",
        ),
        (
            "500 Internal Server Error",
            r#"{"detail": "boom \u001b[31mred"}"#,
            "failed while creating an instance (500): boom  [31mred",
        ),
        (
            "500 Internal Server Error",
            "Internal Server Error",
            "failed while creating an instance (500)",
        ),
    ];
    for (status, body, want) in cases {
        let (url, _) = raw_server(before_create(http(status, "application/json", body)));
        let e = client(&url).create(new()).await.unwrap_err();
        let s = one_sentence(&e);
        assert!(s.contains(want), "{status}: {s}");
        assert!(!s.contains('\u{1b}'), "no terminal escapes: {s:?}");
    }
    let (url, _) = raw_server(vec![http(
        "404 Not Found",
        "application/json",
        r#"{"detail": "MCP Server Instance not found"}"#,
    )]);
    let id = uuid::Uuid::new_v4();
    let e = client(&url).delete(id).await.unwrap_err();
    assert_eq!(
        e,
        PlatformError::NotFound(format!("no instance with id '{id}'"))
    );
    let (url, _) = raw_server(vec![http(
        "404 Not Found",
        "application/json",
        r#"{"detail": "Not Found"}"#,
    )]);
    let s = one_sentence(&client(&url).list().await.unwrap_err());
    assert!(s.contains("has no such route"), "{s}");
}

/// A stand-in for a real AgentArea: its documented shapes, no `version`,
/// naive datetimes; it counts PATCHes.
#[tokio::test]
async fn against_agentarea_an_edit_compares_updated_at_first() {
    let id = "7f1c0a9e-35a4-4e43-9d6c-1a4f5a0b8c11";
    let patches = Arc::new(AtomicUsize::new(0));
    let instance = json!({
        "id": id, "name": "filesystem", "description": null, "server_spec_id": null,
        "json_spec": {"type": "docker", "image": "mcp/filesystem", "port": 8000},
        "status": "running", "created_at": "2026-11-24T12:21:44.123456",
        "updated_at": "2026-11-24T12:30:00.000001"
    });
    let served = instance.clone();
    let counted = patches.clone();
    let app = Router::new()
        .route(
            "/v1/mcp-server-instances/",
            get({
                let v = served.clone();
                move || async move { axum::Json(json!([v])) }
            }),
        )
        .route(
            "/v1/mcp-server-instances/{id}/start",
            axum::routing::post(|| async {
                axum::Json(json!({"status": "success", "message": "Instance start requested"}))
            }),
        )
        .route(
            "/v1/mcp-server-instances/{id}",
            get({
                let v = served.clone();
                move || async move { axum::Json(v) }
            })
            .patch({
                let v = served.clone();
                move || async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    axum::Json(v)
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let api = client(&url);
    let got = api.get("filesystem").await.unwrap();
    assert_eq!(got.version, 0, "AgentArea has no version");
    assert_eq!(got.status, Status::Running);
    let patch = InstancePatch {
        description: Some(Some("x".into())),
        ..Default::default()
    };
    let stale = got.updated_at - chrono::Duration::seconds(5);
    let e = api
        .update(got.id, patch.clone(), Some(Precondition::UpdatedAt(stale)))
        .await
        .unwrap_err();
    assert!(matches!(e, PlatformError::Conflict(_)), "{e:?}");
    let s = one_sentence(&e);
    assert!(
        s.starts_with(
            "instance 'filesystem' changed meanwhile: it was updated at 2026-11-24 12:30:00.000 UTC"
        ),
        "{s}"
    );
    assert_eq!(patches.load(Ordering::SeqCst), 0, "nothing was sent");
    api.update(got.id, patch, Some(Precondition::UpdatedAt(got.updated_at)))
        .await
        .unwrap();
    assert_eq!(patches.load(Ordering::SeqCst), 1);
    // Start answers without our instance: the adapter reads it back.
    let out = api.start(got.id).await.unwrap();
    assert_eq!(out.message, "Instance start requested");
    assert_eq!(out.instance.name, "filesystem");
    // No event history on a real AgentArea: said so, not shown empty.
    let e = api.events(Default::default()).await.unwrap_err();
    assert!(
        one_sentence(&e).starts_with("the API server keeps no event history for clients"),
        "{e}"
    );
}

#[tokio::test]
async fn polling_a_server_that_is_down_says_retrying() {
    use aacon::platform::{PlatformEvent, SourceState};
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut o = ApiOptions::new(format!("http://127.0.0.1:{port}"));
    o.poll_interval = Duration::from_millis(100);
    o.get_retries = 0;
    let api = ApiPlatform::new(o).unwrap();
    let mut rx = api.subscribe();
    let ev = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a source state within 5 s")
        .unwrap();
    match ev {
        PlatformEvent::Source(SourceState::Retrying { source, in_secs }) => {
            assert_eq!(
                source,
                format!("polling http://127.0.0.1:{port} every 100 ms")
            );
            assert!(in_secs >= 1);
        }
        other => panic!("expected Retrying, got {other:?}"),
    }
}

/// A loopback server that answers the first request with `head` and then
/// writes body bytes (1 MiB at a time) until the client hangs up or `cap`
/// bytes are out. Returns the URL and a receiver of the bytes written.
fn endless_server(head: String, cap: u64) -> (String, std::sync::mpsc::Receiver<u64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let mut seen = Vec::new();
        while !String::from_utf8_lossy(&seen).contains("\r\n\r\n") {
            let k = stream.read(&mut buf).unwrap();
            assert!(k > 0, "the client hung up before sending its request");
            seen.extend_from_slice(&buf[..k]);
        }
        stream.write_all(head.as_bytes()).unwrap();
        let chunked = head.contains("chunked");
        let block = vec![b' '; 1024 * 1024];
        let mut sent = 0u64;
        while sent < cap {
            let ok = if chunked {
                stream
                    .write_all(format!("{:x}\r\n", block.len()).as_bytes())
                    .and_then(|_| stream.write_all(&block))
                    .and_then(|_| stream.write_all(b"\r\n"))
            } else {
                stream.write_all(&block)
            };
            if ok.is_err() {
                break;
            }
            sent += block.len() as u64;
        }
        let _ = tx.send(sent);
    });
    (url, rx)
}

const GIB: u64 = 1024 * 1024 * 1024;

fn patient_client(url: &str) -> ApiPlatform {
    let mut o = ApiOptions::new(url);
    // Long enough that only the size limit can end the request.
    o.timeout = Duration::from_secs(600);
    o.get_retries = 0;
    ApiPlatform::new(o).unwrap()
}

#[tokio::test]
async fn a_one_gib_streamed_answer_is_refused_at_the_limit_not_read_whole() {
    // No length announced: the client only learns the size by reading.
    let (url, sent) = endless_server(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            .into(),
        GIB,
    );
    let e = patient_client(&url).list().await.unwrap_err();
    assert_eq!(
        one_sentence(&e),
        format!("the API at {url} sent more than 64 MiB; refused")
    );
    let sent = tokio::task::spawn_blocking(move || sent.recv().unwrap())
        .await
        .unwrap();
    // The client hung up near the limit (plus what socket buffers held),
    // long before the server's gibibyte was out.
    assert!(sent < 128 * 1024 * 1024, "the server wrote {sent} bytes");
    assert!(
        sent >= MAX_RESPONSE_BYTES as u64,
        "the server wrote {sent} bytes"
    );
}

#[tokio::test]
async fn a_one_gib_announced_answer_is_refused_before_its_body_is_read() {
    let (url, sent) = endless_server(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {GIB}\r\n\r\n"
        ),
        GIB,
    );
    let e = patient_client(&url)
        .start(uuid::Uuid::nil())
        .await
        .unwrap_err();
    assert_eq!(
        one_sentence(&e),
        format!("the API at {url} sent more than 64 MiB; refused")
    );
    let sent = tokio::task::spawn_blocking(move || sent.recv().unwrap())
        .await
        .unwrap();
    assert!(
        sent < MAX_RESPONSE_BYTES as u64,
        "the server wrote {sent} bytes"
    );
}

#[test]
fn decode_reply_is_the_path_every_answer_takes() {
    use aacon::platform::api::decode_reply;
    use aacon::platform::api::wire::WireInstance;
    let shown = "http://127.0.0.1:9";
    let list: Vec<WireInstance> = decode_reply(
        shown,
        200,
        "application/json",
        br#"[{"id": "7f1c0a9e-35a4-4e43-9d6c-1a4f5a0b8c11", "name": "fs"}]"#,
        "listing instances",
        None,
    )
    .unwrap();
    assert_eq!(list[0].name, "fs");
    let e = decode_reply::<Vec<WireInstance>>(
        shown,
        200,
        "text/html",
        b"<p>",
        "listing instances",
        None,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the API at http://127.0.0.1:9 answered 200 OK with an HTML page, not JSON; is that the AgentArea API's address?"
    );
    let e = decode_reply::<Vec<WireInstance>>(shown, 1000, "", b"", "listing instances", None)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the API at http://127.0.0.1:9 answered with an invalid HTTP status (1000)"
    );
    let e = decode_reply::<Vec<WireInstance>>(
        shown,
        422,
        "application/json",
        br#"{"detail": [{"loc": ["body", "name"], "msg": "field required"}]}"#,
        "creating an instance",
        None,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the API at http://127.0.0.1:9 found the request for creating an instance malformed (422): body.name: field required"
    );
}

#[test]
fn issue_text_from_the_server_cannot_break_the_line_or_drive_the_terminal() {
    // Found by reading the `api` fuzz target's oracle: a 400 with issues
    // carried newlines and escape sequences into the error sentence, which
    // the CLI prints as it is.
    use aacon::platform::api::decode_reply;
    let e = decode_reply::<Vec<serde_json::Value>>(
        "http://127.0.0.1:9",
        400,
        "application/json",
        br#"{"detail": "x", "issues": [{"severity": "error", "pointer": "/a\u001b[2J", "message": "bad\nvalue\u001b]0;pwned\u0007"}]}"#,
        "creating an instance",
        None,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "json_spec is not valid: /a [2J: bad value ]0;pwned "
    );
    let check: aacon::platform::api::wire::CheckResponse =
        serde_json::from_str(r#"{"valid": false, "message": "no\r\nway\u001b[31m"}"#).unwrap();
    let r = check.into_report(aacon::domain::spec::validate(&json!({})));
    assert!(
        r.issues[0].message == "the server says: no  way [31m",
        "{:?}",
        r.issues[0].message
    );
}
