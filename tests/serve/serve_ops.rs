//! What `aacon serve` says about itself: `/metrics` (counts by route
//! template that move with requests, instance gauges that match the list,
//! nothing secret), `/ready` (503 naming the check a real fault breaks:
//! the store file gone, its write lock held, Redis stopped) and the
//! replica header on every answer.

use crate::support::RedisServer;
use crate::support::serve::Serve;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, Instant};

const TOKEN: &str = "tok-3b1f9c0e-metrics-never-show-me";
const INSTANCES: &str = "/v1/mcp-server-instances";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The value of the one sample `name{labels}` (labels as written, in
/// their order), 0 when absent.
fn sample(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

/// Every `aacon_instances` sample: (status, owner) → count.
fn instance_gauges(body: &str) -> BTreeMap<(String, String), i64> {
    let re = regex::Regex::new(r#"^aacon_instances\{status="([a-z]+)",owner="([^"]*)"\} (\d+)$"#)
        .unwrap();
    body.lines()
        .filter_map(|l| re.captures(l))
        .map(|c| ((c[1].to_string(), c[2].to_string()), c[3].parse().unwrap()))
        .collect()
}

async fn scrape(http: &reqwest::Client, s: &Serve, token: Option<&str>) -> String {
    let r = get(http, format!("{}/metrics", s.url), token).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        r.headers()
    );
    r.text().await.unwrap()
}

async fn create(http: &reqwest::Client, s: &Serve, name: &str) {
    let r = http
        .post(format!("{}{INSTANCES}/", s.url))
        .json(&json!({"name": name, "json_spec": {"command": ["srv"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn get(http: &reqwest::Client, url: String, token: Option<&str>) -> reqwest::Response {
    let mut req = http.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn list(http: &reqwest::Client, s: &Serve) -> Vec<Value> {
    get(http, format!("{}{INSTANCES}/", s.url), Some(TOKEN))
        .await
        .json()
        .await
        .unwrap()
}

fn start(dirs: &Path, env: &[(&str, &OsStr)]) -> Serve {
    Serve::start_with_env(&dirs.join("data"), &dirs.join("config"), &[], env)
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_by_route_template_match_the_list_and_hold_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(
        dir.path(),
        &[
            ("AACON_API_TOKEN", OsStr::new(TOKEN)),
            ("AACON_METRICS_PUBLIC", OsStr::new("true")),
            ("AACON_REPLICA_ID", OsStr::new("replica-a")),
        ],
    );
    let http = client();
    let mut ids = Vec::new();
    for name in ["alpha-web", "beta-db"] {
        let r = http
            .post(format!("{}{INSTANCES}/", s.url))
            .bearer_auth(TOKEN)
            .json(&json!({"name": name, "json_spec": {"command": ["srv"], "env_vars": {"API_KEY": "sk-live-0123456789"}}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        ids.push(
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let one = format!(
        "aacon_http_requests_total{{method=\"GET\",route=\"{INSTANCES}/{{id}}\",status=\"200\"}}"
    );
    let before = sample(&scrape(&http, &s, None).await, &one);
    for id in &ids {
        for _ in 0..3 {
            let r = get(&http, format!("{}{INSTANCES}/{id}", s.url), Some(TOKEN)).await;
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["x-aacon-replica"], "replica-a");
        }
    }
    // Every answer names the replica: refusals and misses too.
    let r = get(&http, format!("{}{INSTANCES}/", s.url), None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["x-aacon-replica"], "replica-a");
    let r = get(&http, format!("{}/no/such/{}", s.url, ids[0]), None).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-aacon-replica"], "replica-a");
    let health: Value = get(&http, format!("{}/health", s.url), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(health["replica"], "replica-a");

    // The list and the gauges agree (read until both stand still: the
    // runtime may move a status in between).
    let deadline = Instant::now() + Duration::from_secs(60);
    let (body, list) = loop {
        let first = list(&http, &s).await;
        let body = scrape(&http, &s, None).await;
        let again = list(&http, &s).await;
        if first == again {
            break (body, first);
        }
        assert!(Instant::now() < deadline, "the list never stood still");
    };
    let mut want: BTreeMap<(String, String), i64> = BTreeMap::new();
    for i in &list {
        *want
            .entry((
                i["status"].as_str().unwrap().to_string(),
                "replica-a".to_string(),
            ))
            .or_default() += 1;
    }
    let got: BTreeMap<_, _> = instance_gauges(&body)
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(got, want, "{body}");
    // Every status has a series for this replica, zeros too.
    assert_eq!(
        instance_gauges(&body)
            .keys()
            .filter(|(_, o)| o == "replica-a")
            .count(),
        8,
        "{body}"
    );

    // Six GETs of one instance: the template's counter moved by six, and
    // no label holds an id, a name, a secret or the token.
    assert_eq!(sample(&body, &one) - before, 6.0, "{body}");
    assert!(
        sample(
            &body,
            "aacon_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"
        ) >= 1.0,
        "{body}"
    );
    assert!(body.contains(&format!(
        "aacon_http_request_duration_seconds_count{{method=\"GET\",route=\"{INSTANCES}/{{id}}\"}}"
    )));
    for secret in [TOKEN, "sk-live-0123456789", "alpha-web", "beta-db"]
        .iter()
        .map(|s| s.to_string())
        .chain(ids.iter().cloned())
    {
        assert!(!body.contains(&secret), "{secret} leaked into {body}");
    }
    // Registered from the start, zero until something feeds them.
    for name in [
        "aacon_lease_renewals_total 0",
        "aacon_lease_takeovers_total 0",
        "aacon_events_relayed_total 0",
        "aacon_replica_info{replica=\"replica-a\",",
    ] {
        assert!(body.contains(name), "{name} missing from {body}");
    }
    // No Redis: the outbox keeps what it committed.
    assert!(sample(&body, "aacon_outbox_pending") >= 2.0, "{body}");
    assert!(body.trim_end().ends_with("# EOF"));
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_need_the_token_unless_made_public() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), &[("AACON_API_TOKEN", OsStr::new(TOKEN))]);
    let http = client();
    let r = http.get(format!("{}/metrics", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body = scrape(&http, &s, Some(TOKEN)).await;
    assert!(body.contains("aacon_http_requests_total"), "{body}");
    // Readiness never needs it (a kubelet probe has none).
    let r = http.get(format!("{}/ready", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The description says both.
    let doc: Value = get(&http, format!("{}/openapi.json", s.url), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["paths"]["/ready"]["get"]["security"], json!([]));
    assert!(doc["paths"]["/metrics"]["get"].get("security").is_none());
    assert_eq!(
        doc["paths"]["/health"]["get"]["responses"]["200"]["headers"]["x-aacon-replica"]["$ref"],
        "#/components/headers/Replica"
    );
}

async fn ready(http: &reqwest::Client, s: &Serve) -> (u16, Value) {
    let r = http.get(format!("{}/ready", s.url)).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// Ask `/ready` until `want(status, body)` holds.
async fn ready_until(
    http: &reqwest::Client,
    s: &Serve,
    within: Duration,
    what: &str,
    want: impl Fn(u16, &Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (status, body) = ready(http, s).await;
        if want(status, &body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{what}: last {status} {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_names_the_store_when_its_file_is_gone_or_its_lock_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), &[("AACON_REPLICA_ID", OsStr::new("r-store"))]);
    let http = client();
    let (status, body) = ready(&http, &s).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["replica"], "r-store");
    assert_eq!(body["checks"][0]["name"], "store");

    // The store file moved away (a lost volume): not ready, naming it.
    let db = dir.path().join("data/aacon.db");
    let moved = dir.path().join("data/aacon.db.moved");
    std::fs::rename(&db, &moved).unwrap();
    let body = ready_until(&http, &s, Duration::from_secs(30), "store gone", |st, _| {
        st == 503
    })
    .await;
    assert_eq!(body["status"], "not ready");
    assert_eq!(body["failing"], json!(["store"]));
    let err = body["checks"][0]["error"].as_str().unwrap();
    assert!(err.contains("cannot open the store"), "{err}");
    std::fs::rename(&moved, &db).unwrap();
    ready_until(&http, &s, Duration::from_secs(30), "store back", |st, _| {
        st == 200
    })
    .await;

    // Another process holds the store's write lock: no command could
    // commit within the deadline.
    let mut other = rusqlite::Connection::open(&db).unwrap();
    let held = other
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let body = ready_until(&http, &s, Duration::from_secs(30), "lock held", |st, _| {
        st == 503
    })
    .await;
    assert_eq!(body["failing"], json!(["store"]));
    let err = body["checks"][0]["error"].as_str().unwrap();
    assert!(err.contains("write lock"), "{err}");
    held.rollback().unwrap();
    ready_until(
        &http,
        &s,
        Duration::from_secs(30),
        "lock released",
        |st, _| st == 200,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_names_the_relay_while_redis_is_stopped_and_recovers() {
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/config.toml"),
        "[serve]\nrelay_stall_secs = 1\n",
    )
    .unwrap();
    let url = redis.url();
    let s = start(
        dir.path(),
        &[
            ("AACON_REDIS_URL", OsStr::new(&url)),
            ("AACON_REPLICA_ID", OsStr::new("r-relay")),
        ],
    );
    let http = client();
    create(&http, &s, "before").await;
    let body = ready_until(&http, &s, Duration::from_secs(30), "relay up", |st, _| {
        st == 200
    })
    .await;
    assert_eq!(body["checks"][1]["name"], "relay");
    let relayed = |body: &str| sample(body, "aacon_events_relayed_total");
    let deadline = Instant::now() + Duration::from_secs(30);
    while relayed(&scrape(&http, &s, None).await) < 1.0 {
        assert!(Instant::now() < deadline, "nothing relayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Redis goes away and an event waits in the outbox past the limit.
    redis.kill9();
    create(&http, &s, "during").await;
    let body = ready_until(
        &http,
        &s,
        Duration::from_secs(60),
        "relay wedged",
        |st, _| st == 503,
    )
    .await;
    assert_eq!(body["failing"], json!(["relay"]), "{body}");
    let err = body["checks"][1]["error"].as_str().unwrap();
    assert!(err.contains("wait in the outbox"), "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{}", redis.port())),
        "{err}"
    );
    let m = scrape(&http, &s, None).await;
    assert!(sample(&m, "aacon_outbox_pending") >= 1.0, "{m}");
    assert!(sample(&m, "aacon_outbox_oldest_age_seconds") >= 1.0, "{m}");

    // Redis is back: the relay publishes what waited, and the replica is
    // ready again.
    redis.restart();
    ready_until(&http, &s, Duration::from_secs(90), "relay back", |st, _| {
        st == 200
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = scrape(&http, &s, None).await;
        if sample(&m, "aacon_outbox_pending") == 0.0 {
            assert!(relayed(&m) >= 2.0, "{m}");
            assert!(sample(&m, "aacon_relay_failures_total") >= 1.0, "{m}");
            break;
        }
        assert!(Instant::now() < deadline, "the outbox never drained: {m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn a_replica_id_that_cannot_be_a_header_is_refused_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aacon"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("AACON_CONFIG_DIR", dir.path().join("config"))
        .env("AACON_REPLICA_ID", "pod 1\"}")
        .env_remove("AACON_API_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AACON_REPLICA_ID"), "{err}");
    assert!(err.contains("may hold only letters, digits"), "{err}");
}
