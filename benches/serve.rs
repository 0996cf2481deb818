//! Row 10: `aacon serve` (the real binary, on a free loopback port) answering
//! GET of the list of 1,000 instances, beside the same server's `/health`:
//! requests per second and latency with `CONNS` concurrent keep-alive
//! connections. The load generator runs on the same 2 cores as the server.

mod common;

use common::{Samples, Serve, lat, result, scale, seed, smoke};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CONNS: usize = 16;

/// `CONNS` tasks GET `url` in a loop for `secs`; requests/s and latencies.
fn load(url: &str, secs: f64, expect_len: Option<usize>) -> (f64, Samples, usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNS)
        .build()
        .expect("client");
    let samples = Arc::new(Mutex::new(Samples::default()));
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let t = Instant::now();
    let bytes = rt.block_on(async {
        let tasks: Vec<_> = (0..CONNS)
            .map(|_| {
                let client = client.clone();
                let url = url.to_string();
                let samples = samples.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    let mut bytes = 0;
                    while Instant::now() < until {
                        let t = Instant::now();
                        let r = client.get(&url).send().await.expect("GET");
                        assert!(r.status().is_success(), "{url}: {}", r.status());
                        let body = r.bytes().await.expect("body");
                        mine.push(t.elapsed());
                        bytes = body.len();
                        if let Some(n) = expect_len {
                            // Checked once per connection, not per request.
                            if mine.len() == 1 {
                                let v: serde_json::Value =
                                    serde_json::from_slice(&body).expect("JSON list");
                                assert_eq!(v.as_array().map(Vec::len), Some(n));
                            }
                        }
                    }
                    samples.lock().expect("samples").0.extend(mine);
                    bytes
                })
            })
            .collect();
        let mut bytes = 0;
        for t in tasks {
            bytes = t.await.expect("task");
        }
        bytes
    });
    let elapsed = t.elapsed().as_secs_f64();
    let s = std::mem::take(&mut *samples.lock().expect("samples"));
    (s.0.len() as f64 / elapsed, s, bytes)
}

fn main() {
    let n = scale(1_000, 100);
    let secs = if smoke() { 0.3 } else { 10.0 };
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let config = tmp.path().join("config");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::create_dir_all(&config).expect("config dir");
    seed(&data, None, n);
    let serve = Serve::start(&data, &config, &[]);
    // Warm both paths once.
    load(&format!("{}/health", serve.1), secs / 5.0, None);
    load(
        &format!("{}/v1/mcp-server-instances/", serve.1),
        secs / 5.0,
        Some(n),
    );
    let (health_rate, health, _) = load(&format!("{}/health", serve.1), secs, None);
    let (list_rate, list, bytes) = load(
        &format!("{}/v1/mcp-server-instances/", serve.1),
        secs,
        Some(n),
    );
    let mut f = lat(&list);
    f.push(("instances", n.to_string()));
    f.push(("body_bytes", bytes.to_string()));
    f.push(("conns", CONNS.to_string()));
    f.push(("req_per_s", format!("{list_rate:.0}")));
    result(10, "serve_list", &f);
    let mut f = lat(&health);
    f.push(("conns", CONNS.to_string()));
    f.push(("req_per_s", format!("{health_rate:.0}")));
    result(10, "serve_health", &f);
    drop(serve);
}
