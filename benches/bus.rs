//! Row 1: envelopes from a real Redis Stream (a `redis-server` this bench
//! starts on a free loopback port) read with `XREAD COUNT`, decoded off the
//! UI thread and applied to the console state (`App::update`) on another,
//! beside a raw `XREAD COUNT` of the same entries with no decoding.
//!
//! Needs `redis-server` on PATH (skipped with a sentence otherwise).

mod common;

use aacon::bus::{RedisConfig, entry, resp};
use aacon::domain::status_event::Names;
use aacon::domain::{Envelope, Instance, Status};
use aacon::platform::{BackendInfo, PlatformEvent};
use aacon::tui::app::{App, Msg};
use aacon::tui::fixtures;
use aacon::tui::keymap::Keymap;
use aacon::tui::theme::Theme;
use common::{result, scale};
use redis::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "aacon:bench:events";
const BATCH: usize = 1000;

struct Redis(Child, u16);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn start_redis() -> Option<Redis> {
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let r = Redis(child, port);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(r);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn instances(n: usize) -> Vec<Instance> {
    (0..n)
        .map(|i| {
            fixtures::instance(
                i as u128 + 1,
                &format!("inst-{i:06}"),
                serde_json::json!({"command": ["mcp-server"]}),
                Status::Running,
                10,
            )
        })
        .collect()
}

/// Status-change envelopes over `insts`, each with a fresh id and a newer
/// aggregate version. `full`: our own status-change JSON as the store
/// writes it (≈ 530 bytes); otherwise the status group only (≈ 300 bytes,
/// the size the issue names: id, type, time, aggregate and the status).
fn envelopes(insts: &[Instance], n: usize, full: bool) -> Vec<String> {
    (0..n)
        .map(|k| {
            let i = &insts[k % insts.len()];
            let mut inst = i.clone();
            let (prev, next) = if (k / insts.len()).is_multiple_of(2) {
                (Status::Running, Status::Unhealthy)
            } else {
                (Status::Unhealthy, Status::Running)
            };
            inst.status = next;
            let mut e = Envelope::status_changed(&inst, prev, Some(format!("c-{k}")));
            e.aggregate_version = Some(i.aggregate_version + 1 + (k / insts.len()) as u64);
            if !full {
                e.correlation_id = None;
                e.data = serde_json::json!({
                    "status": next.as_str(),
                    "previous_status": prev.as_str(),
                });
            }
            e.to_json()
        })
        .collect()
}

async fn fill(con: &mut redis::aio::MultiplexedConnection, payloads: &[String]) {
    let _: () = redis::cmd("DEL")
        .arg(KEY)
        .query_async(con)
        .await
        .expect("DEL");
    for chunk in payloads.chunks(5000) {
        let mut p = redis::pipe();
        for pl in chunk {
            p.cmd("XADD")
                .arg(KEY)
                .arg("*")
                .arg("__data__")
                .arg(pl)
                .ignore();
        }
        let _: () = p.query_async(con).await.expect("XADD");
    }
}

async fn xread(con: &mut redis::aio::MultiplexedConnection, after: &str) -> Value {
    redis::cmd("XREAD")
        .arg("COUNT")
        .arg(BATCH)
        .arg("STREAMS")
        .arg(KEY)
        .arg(after)
        .query_async(con)
        .await
        .expect("XREAD")
}

/// The id of the last entry of an XREAD reply, and how many entries.
fn last_id(v: &Value) -> Option<(String, usize)> {
    let Value::Array(streams) = v else {
        return None;
    };
    let Value::Array(kv) = streams.first()? else {
        return None;
    };
    let Value::Array(entries) = kv.get(1)? else {
        return None;
    };
    let Value::Array(parts) = entries.last()? else {
        return None;
    };
    match parts.first()? {
        Value::BulkString(b) => Some((String::from_utf8_lossy(b).into_owned(), entries.len())),
        _ => None,
    }
}

async fn raw_rate(con: &mut redis::aio::MultiplexedConnection, n: usize) -> f64 {
    let t = Instant::now();
    let mut after = "0-0".to_string();
    let mut got = 0;
    while got < n {
        let v = xread(con, &after).await;
        let Some((id, k)) = last_id(&v) else { break };
        after = id;
        got += k;
    }
    assert_eq!(got, n, "raw XREAD read every entry");
    n as f64 / t.elapsed().as_secs_f64()
}

/// Where the time went (summed over the run, per event).
struct Stages {
    /// XREAD round trip and reading the reply into entries (reader thread).
    read_ns: f64,
    /// JSON → `PlatformEvent` (reader thread).
    decode_ns: f64,
    /// `App::update` (UI thread).
    apply_ns: f64,
}

/// Which of our paths a run measures.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// The console's: the watcher's own reading of the reply bytes
    /// (`bus::resp`), status reports as compact records, one update per burst.
    Console,
    /// The same, but the reply read through redis-rs's `Value` tree (the
    /// console's path before `bus::resp`), kept for comparison in the same run.
    ValueTree,
    /// The path before compact records: redis-rs's tree, every entry a
    /// full `Envelope`, one update per event.
    Full,
}

/// Ours: a reader task does XREAD + decode and hands batches over a bounded
/// channel to the "UI thread", which applies them to `App` (see [`Path`]).
fn our_rate(url: &str, insts: Vec<Instance>, n: usize, path: Path) -> (f64, Stages) {
    let compact = path != Path::Full;
    let mut app = App::new(
        Theme::default_dark(),
        Keymap::preset("default").expect("keymap"),
        BackendInfo {
            name: "embedded".into(),
            read_only: false,
        },
        fixtures::now(),
    );
    app.load(insts);
    app.prepare();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<PlatformEvent>>(16);
    let url = url.to_string();
    let t = Instant::now();
    let reader = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let client = redis::Client::open(url.as_str()).expect("client");
            let mut con = client
                .get_multiplexed_async_connection()
                .await
                .expect("connect");
            // The console's watcher reads the replies' bytes itself.
            let cfg = RedisConfig::new(&url).expect("url");
            let mut raw = match resp::Conn::connect(&cfg).await {
                Some(c) if path == Path::Console => Some(c.expect("connect")),
                _ => None,
            };
            let mut after = "0-0".to_string();
            let mut got = 0;
            let (mut read, mut decode) = (Duration::ZERO, Duration::ZERO);
            // What the console's watcher does: status reports of ours as
            // compact records, names interned.
            let mut names = Names::default();
            while got < n {
                let t = Instant::now();
                let entries = match &mut raw {
                    Some(c) => c.xread(KEY, BATCH, None, &after).await.expect("XREAD"),
                    None => entry::parse_read_reply(xread(&mut con, &after).await),
                };
                read += t.elapsed();
                let Some(last) = entries.last() else { break };
                after = last.id.clone();
                got += entries.len();
                let t = Instant::now();
                let batch: Vec<PlatformEvent> = entries
                    .iter()
                    .map(|e| {
                        if compact {
                            entry::to_event_compact(e, "redis", &mut names)
                        } else {
                            entry::to_event(e, "redis")
                        }
                    })
                    .collect();
                decode += t.elapsed();
                if tx.send(batch).is_err() {
                    break;
                }
            }
            (read, decode)
        })
    });
    let mut applied = 0;
    let mut malformed = 0;
    let mut compact_n = 0;
    let mut apply = Duration::ZERO;
    while let Ok(batch) = rx.recv() {
        let t = Instant::now();
        malformed += batch
            .iter()
            .filter(|ev| matches!(ev, PlatformEvent::Malformed { .. }))
            .count();
        compact_n += batch
            .iter()
            .filter(|ev| matches!(ev, PlatformEvent::Status(_)))
            .count();
        applied += batch.len();
        if compact {
            // One update per burst, as the console's loop hands it over.
            app.update(Msg::PlatformBatch(batch));
        } else {
            for ev in batch {
                app.update(Msg::Platform(ev));
            }
        }
        app.prepare();
        apply += t.elapsed();
    }
    let rate = applied as f64 / t.elapsed().as_secs_f64();
    let (read, decode) = reader.join().expect("reader");
    assert_eq!(applied, n, "every entry reached the console");
    assert_eq!(malformed, 0, "every entry decoded");
    assert_eq!(
        compact_n,
        if compact { n } else { 0 },
        "status reports read compact on the console's path only"
    );
    assert!(!app.projection.is_empty());
    let per = |d: Duration| d.as_nanos() as f64 / n as f64;
    (
        rate,
        Stages {
            read_ns: per(read),
            decode_ns: per(decode),
            apply_ns: per(apply),
        },
    )
}

fn main() {
    let Some(redis) = start_redis() else {
        println!("row 1 skipped: no redis-server on PATH (apt-get install redis-server)");
        return;
    };
    let url = format!("redis://127.0.0.1:{}/", redis.1);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // AACON_BENCH_SIZES=100000,1000000 runs only those sizes.
    let sizes: Vec<usize> = match std::env::var("AACON_BENCH_SIZES") {
        Ok(v) => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) if common::smoke() => vec![2_000],
        Err(_) => vec![1_000, 10_000, 100_000, 1_000_000],
    };
    let insts_n = scale(10_000, 500);
    let insts = instances(insts_n);
    // The issue's ~300-byte envelopes at every size, then our full
    // status-change JSON once at the largest size.
    let mut runs: Vec<(usize, bool)> = sizes.iter().map(|&n| (n, false)).collect();
    if let Some(&last) = sizes.last() {
        runs.push((last, true));
    }
    for (n, full) in runs {
        let payloads = envelopes(&insts, n, full);
        let avg = payloads.iter().map(String::len).sum::<usize>() / n;
        let client = redis::Client::open(url.as_str()).expect("client");
        let raw = rt.block_on(async {
            let mut con = client
                .get_multiplexed_async_connection()
                .await
                .expect("connect");
            fill(&mut con, &payloads).await;
            // Warm once, then measure.
            raw_rate(&mut con, n).await;
            raw_rate(&mut con, n).await
        });
        drop(payloads);
        let (before, _) = our_rate(&url, insts.clone(), n, Path::Full);
        let (tree, tree_st) = our_rate(&url, insts.clone(), n, Path::ValueTree);
        let (ours, st) = our_rate(&url, insts.clone(), n, Path::Console);
        result(
            1,
            "redis_decode_apply",
            &[
                ("events", n.to_string()),
                ("avg_bytes", avg.to_string()),
                ("ours_per_s", format!("{ours:.0}")),
                ("raw_xread_per_s", format!("{raw:.0}")),
                ("ratio", format!("{:.2}", ours / raw)),
                ("full_envelope_path_per_s", format!("{before:.0}")),
                ("full_envelope_path_ratio", format!("{:.2}", before / raw)),
                ("value_tree_path_per_s", format!("{tree:.0}")),
                ("value_tree_path_ratio", format!("{:.2}", tree / raw)),
                ("value_tree_read_ns", format!("{:.0}", tree_st.read_ns)),
                ("read_ns", format!("{:.0}", st.read_ns)),
                ("decode_ns", format!("{:.0}", st.decode_ns)),
                ("apply_ns", format!("{:.0}", st.apply_ns)),
            ],
        );
    }
}
