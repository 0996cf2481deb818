//! The load harness for what criterion cannot time: the real release
//! `aacon` binary in a pseudo-terminal (250x70) over a seeded data dir.
//!
//! - Row 6: start → first full frame (the instances title with its count),
//!   beside `aacon instances list -o json` on the same store.
//! - Row 5: resident memory (VmRSS from /proc) with N instances after 100k
//!   events arrived through the event-log tail and the console has applied
//!   the last one (a marker event on screen), beside an idle empty console.
//! - Row 3: keypress (`?`, the help overlay) → the frame that shows it,
//!   with and without 2,000 events/s arriving.
//!
//! - Row 12: another process commits → the console's cell shows it,
//!   embedded and over Redis; with `AACON_BENCH_STAGES=1` also the time of
//!   each stage on the way, from both processes' logs.
//!
//! Cargo builds the binary with the bench's profile (`CARGO_BIN_EXE_aacon`);
//! `AACON_BENCH_BIN=/path/to/aacon` runs another build instead (a baseline
//! in the same run).

mod common;

use aacon::domain::{Envelope, Status};
use aacon::store::Store;
use aacon::tui::fixtures;
use common::{Samples, lat, ms, result, rounds, scale, smoke};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use rusqlite::{Connection, params};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const COLS: u16 = 250;
const ROWS: u16 = 70;

/// The binary cargo built beside this bench with the same profile
/// (release under `cargo bench`, debug under `cargo test --bench`), or the
/// one `AACON_BENCH_BIN` names.
fn bin() -> PathBuf {
    std::env::var_os("AACON_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_aacon")))
}

/// `AACON_BENCH_STAGES=1`: the console and the CLI log when each stage of
/// a change passes (`aacon::stage` at trace level), and row 12 reads it.
fn stages() -> bool {
    std::env::var("AACON_BENCH_STAGES").is_ok_and(|v| v == "1")
}

/// The log filter that turns the stage lines on.
const STAGE_LOG: &str = "info,aacon::stage=trace";

/// The terminal as the bench sees it: the pty output parsed by a vt100
/// emulator as it arrives, and one screen text being waited for.
struct Term {
    parser: vt100::Parser,
    bytes: usize,
    /// The text waited for (to appear, or with `false` to be gone), and
    /// when the screen first matched.
    watch: Option<(String, bool, Option<Instant>)>,
}

struct Console {
    term: Arc<Mutex<Term>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
    started: Instant,
    /// Run under the profiler `AACON_BENCH_WRAP` names.
    wrapped: bool,
}

impl Console {
    /// Start the console; `first` is the text of its first full frame
    /// (watched from the first byte on).
    fn spawn(data: &Path, config: &Path, first: &str) -> Console {
        Console::spawn_with(data, config, first, "")
    }

    /// [`Console::spawn`] under the profiler `wrap` names (e.g.
    /// `heaptrack -o /tmp/console`; "": none).
    fn spawn_with(data: &Path, config: &Path, first: &str, wrap: &str) -> Console {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("pty");
        let mut words = wrap.split_whitespace();
        let mut cmd = match words.next() {
            Some(tool) => {
                let mut cmd = CommandBuilder::new(tool);
                cmd.args(words);
                cmd.arg(bin());
                cmd
            }
            None => CommandBuilder::new(bin()),
        };
        cmd.env("AACON_DATA_DIR", data);
        cmd.env("AACON_CONFIG_DIR", config);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        if stages() {
            cmd.env("AACON_LOG", STAGE_LOG);
        }
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let term = Arc::new(Mutex::new(Term {
            parser: vt100::Parser::new(ROWS, COLS, 0),
            bytes: 0,
            watch: Some((first.to_string(), true, None)),
        }));
        let sink = term.clone();
        let started = Instant::now();
        let child = pty.slave.spawn_command(cmd).expect("spawn aacon");
        drop(pty.slave);
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let at = Instant::now();
                if let Ok(mut t) = sink.lock() {
                    t.parser.process(&buf[..n]);
                    t.bytes += n;
                    let Term { parser, watch, .. } = &mut *t;
                    if let Some((what, present, hit @ None)) = watch
                        && parser.screen().contents().contains(what.as_str()) == *present
                    {
                        *hit = Some(at);
                    }
                }
            }
        });
        Console {
            term,
            writer,
            child,
            _master: pty.master,
            started,
            wrapped: !wrap.is_empty(),
        }
    }

    fn screen(&self) -> String {
        self.term
            .lock()
            .map(|t| t.parser.screen().contents())
            .unwrap_or_default()
    }

    /// Watch for `what` to appear (`present`) or to be gone from the
    /// screen, in output that arrives from now on.
    fn watch(&self, what: &str, present: bool) {
        if let Ok(mut t) = self.term.lock() {
            t.watch = Some((what.to_string(), present, None));
        }
    }

    /// When the watched text appeared on the screen (the arrival of the
    /// output that drew it); panics with the screen on timeout.
    fn wait(&self, timeout: Duration) -> Instant {
        let start = Instant::now();
        loop {
            if let Ok(t) = self.term.lock()
                && let Some((_, _, Some(at))) = &t.watch
            {
                return *at;
            }
            if start.elapsed() > timeout {
                let what = self
                    .term
                    .lock()
                    .ok()
                    .and_then(|t| t.watch.as_ref().map(|w| w.0.clone()))
                    .unwrap_or_default();
                panic!(
                    "'{what}' did not appear within {timeout:?}; screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    fn send(&mut self, b: &[u8]) {
        self.writer.write_all(b).expect("write");
        self.writer.flush().expect("flush");
    }

    /// The console's pid: the wrapper's child when `AACON_BENCH_WRAP`
    /// runs it under a profiler.
    fn pid(&self) -> u32 {
        let pid = self.child.process_id().expect("pid");
        if !self.wrapped {
            return pid;
        }
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .ok()
            .and_then(|c| {
                c.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok())
                    .find(|p| {
                        std::fs::read_to_string(format!("/proc/{p}/comm"))
                            .is_ok_and(|n| n.trim() == "aacon")
                    })
            })
            .unwrap_or(pid)
    }

    fn rss_kb(&mut self) -> u64 {
        let pid = self.pid();
        let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        s.lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    fn quit(mut self) {
        // Under a profiler the console itself is killed, so that what it
        // held at this moment is what the profile reports as not freed.
        if self.wrapped {
            let pid = self.pid();
            // SAFETY: kill(2) of our own child's child; the wrapper then
            // writes its profile and ends.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        } else {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A data dir with `n` instances, written straight into the store's schema
/// in one transaction (seeding, not what is measured).
fn seed(
    n: usize,
) -> (
    tempfile::TempDir,
    PathBuf,
    PathBuf,
    Vec<aacon::domain::Instance>,
) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let config = tmp.path().join("config");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::create_dir_all(&config).expect("config dir");
    drop(Store::open(&data.join("aacon.db"), "bench").expect("store"));
    let mut conn = Connection::open(data.join("aacon.db")).expect("open");
    let tx = conn.transaction().expect("tx");
    let mut insts = Vec::with_capacity(n);
    {
        let mut st = tx
            .prepare(
                "INSERT INTO instances (id, name, description, server_spec_id, json_spec, status, status_reason, desired_state, created_at, updated_at, version, aggregate_version, updated_by, last_healthy_at, tool_count, restarts)
                 VALUES (?1,?2,?3,NULL,?4,?5,NULL,'stopped',?6,?6,1,1,'bench',NULL,NULL,0)",
            )
            .expect("prepare");
        for i in 0..n {
            let mut inst = fixtures::instance(
                i as u128 + 1,
                &format!("inst-{i:06}"),
                serde_json::json!({"endpoint_url": "https://mcp.example/mcp"}),
                Status::Stopped,
                10,
            );
            inst.aggregate_version = 1;
            st.execute(params![
                inst.id.to_string(),
                inst.name,
                inst.description,
                serde_json::Value::Object(inst.json_spec.clone()).to_string(),
                "stopped",
                inst.created_at.to_rfc3339(),
            ])
            .expect("insert");
            insts.push(inst);
        }
    }
    tx.commit().expect("commit");
    (tmp, data, config, insts)
}

/// Append `n` status-change events (as another process would commit them),
/// `per_tx` to a transaction, pausing `pause` between transactions.
fn events(
    data: &Path,
    insts: &[aacon::domain::Instance],
    first: usize,
    n: usize,
    per_tx: usize,
    pause: Duration,
    stop: &AtomicBool,
) -> usize {
    let mut conn = Connection::open(data.join("aacon.db")).expect("open");
    conn.busy_timeout(Duration::from_secs(10)).expect("busy");
    let mut k = first;
    while k < first + n && !stop.load(Ordering::Relaxed) {
        let tx = conn.transaction().expect("tx");
        {
            let mut st = tx
                .prepare_cached("INSERT INTO events (event_id, aggregate_id, aggregate_version, event_type, timestamp, correlation_id, envelope) VALUES (?1,?2,?3,?4,?5,?6,?7)")
                .expect("prepare");
            for _ in 0..per_tx {
                let i = &insts[k % insts.len()];
                let round = (k / insts.len()) as u64;
                let mut inst = i.clone();
                let (prev, next) = if round.is_multiple_of(2) {
                    (Status::Stopped, Status::Starting)
                } else {
                    (Status::Starting, Status::Stopped)
                };
                inst.status = next;
                let mut e = Envelope::status_changed(&inst, prev, Some(format!("c-{k}")));
                e.aggregate_version = Some(2 + round);
                insert_event(&mut st, &e);
                k += 1;
            }
        }
        tx.commit().expect("commit");
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    k - first
}

fn insert_event(st: &mut rusqlite::CachedStatement<'_>, e: &Envelope) {
    st.execute(params![
        e.event_id,
        e.aggregate_id.map(|u| u.to_string()),
        e.aggregate_version.map(|v| v as i64),
        e.event_type,
        e.timestamp.to_rfc3339(),
        e.correlation_id,
        e.to_json()
    ])
    .expect("insert event");
}

/// The header's count once [`end_marker`] is applied: no other event puts
/// an instance in `error`.
const MARKER_SHOWN: &str = "error 1";

/// Commit one last event after a burst: the first instance goes to
/// `error` with a version above any the burst gave it, so the header's
/// "error 1" says the console has applied everything before it.
fn end_marker(data: &Path, insts: &[aacon::domain::Instance]) {
    let mut conn = Connection::open(data.join("aacon.db")).expect("open");
    conn.busy_timeout(Duration::from_secs(10)).expect("busy");
    let tx = conn.transaction().expect("tx");
    {
        let mut st = tx
            .prepare_cached("INSERT INTO events (event_id, aggregate_id, aggregate_version, event_type, timestamp, correlation_id, envelope) VALUES (?1,?2,?3,?4,?5,?6,?7)")
            .expect("prepare");
        let mut inst = insts[0].clone();
        inst.status = Status::Error;
        let mut e = Envelope::status_changed(&inst, Status::Stopped, Some("end".into()));
        e.aggregate_version = Some(u32::MAX as u64);
        insert_event(&mut st, &e);
    }
    tx.commit().expect("commit");
}

/// How often the console's log says it fell behind the event stream.
fn fell_behind(data: &Path) -> usize {
    std::fs::read_dir(data.join("logs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|f| std::fs::read_to_string(f.path()).ok())
        .map(|log| log.matches("fell behind the event stream").count())
        .sum()
}

fn title(n: usize) -> String {
    format!("instances ({n})")
}

fn row6_and_5(n: usize, history: usize) {
    let (_tmp, data, config, insts) = seed(n);
    // Reference: the CLI list on the same store (a warm-up run first).
    let list = || {
        let t = Instant::now();
        let out = std::process::Command::new(bin())
            .args(["instances", "list", "-o", "json"])
            .env("AACON_DATA_DIR", &data)
            .env("AACON_CONFIG_DIR", &config)
            .output()
            .expect("aacon instances list");
        assert!(out.status.success(), "list failed");
        t.elapsed()
    };
    list();
    let mut cli = Samples::default();
    let mut first = Samples::default();
    for _ in 0..scale(3, 1) {
        cli.0.push(list());
        let c = Console::spawn(&data, &config, &title(n));
        let at = c.wait(Duration::from_secs(30));
        first.0.push(at - c.started);
        c.quit();
    }
    result(
        6,
        "start_to_first_frame",
        &[
            ("instances", n.to_string()),
            ("median_ms", format!("{:.1}", ms(first.median()))),
            ("max_ms", format!("{:.1}", ms(first.pct(1.0)))),
            (
                "cli_list_json_median_ms",
                format!("{:.1}", ms(cli.median())),
            ),
            (
                "ratio",
                format!("{:.2}", ms(first.median()) / ms(cli.median())),
            ),
        ],
    );

    // Row 5: memory after `history` events arrived live.
    // `AACON_BENCH_WRAP="heaptrack -o /tmp/console"` runs this console under
    // a profiler (the heap breakdown in BENCHMARKS.md's row 5).
    let wrap = std::env::var("AACON_BENCH_WRAP").unwrap_or_default();
    let mut c = Console::spawn_with(&data, &config, &title(n), &wrap);
    c.wait(Duration::from_secs(30));
    let stop = AtomicBool::new(false);
    let burst = Instant::now();
    let sent = events(&data, &insts, 0, history, 1000, Duration::ZERO, &stop);
    // Wait until the console has applied the last event (the marker after
    // it is on screen), then for the quiet tick that hands freed heap back
    // (`malloc_trim`, 250 ms ticks) and a frame.
    c.watch(MARKER_SHOWN, true);
    end_marker(&data, &insts);
    let applied = c.wait(Duration::from_secs(120));
    let caught_up = applied - burst;
    std::thread::sleep(Duration::from_millis(scale(1500, 300) as u64));
    let rss = c.rss_kb();
    c.quit();
    // A console that fell behind reloads every instance (and holds two
    // copies meanwhile): say so beside the number.
    let fell_behind = fell_behind(&data);
    let (_t2, d2, c2, _) = seed(0);
    let mut idle = Console::spawn(&d2, &c2, "No instances yet");
    idle.wait(Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(500));
    let base = idle.rss_kb();
    idle.quit();
    result(
        5,
        "rss",
        &[
            ("instances", n.to_string()),
            ("events", sent.to_string()),
            ("caught_up_s", format!("{:.1}", caught_up.as_secs_f64())),
            ("fell_behind", fell_behind.to_string()),
            ("rss_mb", format!("{:.1}", rss as f64 / 1024.0)),
            ("idle_empty_rss_mb", format!("{:.1}", base as f64 / 1024.0)),
        ],
    );
}

fn row3(n: usize, load_per_s: usize) {
    let (_tmp, data, config, insts) = seed(n);
    let mut c = Console::spawn(&data, &config, &title(n));
    c.wait(Duration::from_secs(30));
    let stop = Arc::new(AtomicBool::new(false));
    let loader = (load_per_s > 0).then(|| {
        let stop = stop.clone();
        let data = data.clone();
        let insts = insts.clone();
        // 20 events per transaction every 10 ms ≈ 2,000/s.
        let per_tx = load_per_s / 100;
        std::thread::spawn(move || {
            events(
                &data,
                &insts,
                0,
                usize::MAX / 2,
                per_tx,
                Duration::from_millis(10),
                &stop,
            )
        })
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut s = Samples::default();
    for _ in 0..scale(50, 5) {
        c.watch("help — keymap", true);
        let t = Instant::now();
        c.send(b"?");
        let at = c.wait(Duration::from_secs(5));
        s.0.push(at - t);
        std::thread::sleep(Duration::from_millis(100));
        c.watch("help — keymap", false);
        c.send(b"\x1b");
        // The help overlay closed.
        c.wait(Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(150));
    }
    stop.store(true, Ordering::Relaxed);
    let sent = loader.map(|h| h.join().unwrap_or(0)).unwrap_or(0);
    c.quit();
    let mut f = lat(&s);
    f.push(("instances", n.to_string()));
    f.push(("events_sent", sent.to_string()));
    f.push(("load_per_s", load_per_s.to_string()));
    result(3, "keypress_to_frame", &f);
}

/// Row 12: another process commits (the CLI: `aacon instances start` /
/// `stop`) → the console's DESIRED cell shows it. Latency from the
/// event's timestamp (taken just before its commit) to the arrival of the
/// output that drew the cell, wall clock. `redis`: the CLI commits in a
/// copy of the data dir and publishes to that Redis; the console watches
/// it (its own store never changes, so only Redis can bring the change).
/// Either way this bench holds the console's data dir's runtime lock, so
/// the console runs no runtime that would act on the desired state.
fn row12(n: usize, rounds: usize, redis: Option<&common::Redis>) {
    use aacon::paths::DataDir;
    use aacon::platform::embedded::{Role, RuntimeLock};
    use std::time::SystemTime;
    let (_tmp, data, config, _) = seed(n);
    let _lock = RuntimeLock::try_acquire(&DataDir::new(&data), Role::Host)
        .expect("lock")
        .expect("the runtime lock is free");
    let cli_data = match redis {
        Some(_) => {
            let d = data.with_file_name("cli-data");
            std::fs::create_dir_all(&d).expect("cli data dir");
            std::fs::copy(data.join("aacon.db"), d.join("aacon.db")).expect("copy the store");
            d
        }
        None => data.clone(),
    };
    if let Some(r) = redis {
        // The console watches Redis; the CLI publishes to it.
        std::fs::write(
            config.join("config.toml"),
            format!("[redis]\nurl = \"{}\"\n", r.url()),
        )
        .expect("config");
    }
    let c = Console::spawn(&data, &config, &title(n));
    c.wait(Duration::from_secs(30));
    let name = "inst-000000";
    // The row as drawn, and the same row with DESIRED running.
    let screen = c.screen();
    let lines: Vec<&str> = screen.lines().collect();
    let header: Vec<char> = lines
        .iter()
        .find(|l| l.contains("DESIRED"))
        .expect("the table's header")
        .chars()
        .collect();
    let col = (0..header.len())
        .find(|&i| header[i..].starts_with(&['D', 'E', 'S', 'I', 'R', 'E', 'D']))
        .expect("DESIRED");
    let stopped: String = lines
        .iter()
        .find(|l| l.contains(name))
        .expect("the row")
        .to_string();
    let mut chars: Vec<char> = stopped.chars().collect();
    assert_eq!(
        chars[col..col + 7].iter().collect::<String>(),
        "stopped",
        "{stopped}"
    );
    chars.splice(col..col + 7, "running".chars());
    let running: String = chars.into_iter().collect();
    let events = Connection::open(cli_data.join("aacon.db")).expect("open the store");
    let (i0, w0) = (Instant::now(), SystemTime::now());
    let mut s = Samples::default();
    // Each round's event timestamp and the arrival of the frame showing it.
    let mut marks = Vec::with_capacity(rounds);
    for k in 0..rounds {
        let (verb, line) = if k % 2 == 0 {
            ("start", &running)
        } else {
            ("stop", &stopped)
        };
        c.watch(line, true);
        let mut cli = std::process::Command::new(bin());
        cli.args(["instances", verb, name])
            .env("AACON_DATA_DIR", &cli_data)
            .env("AACON_CONFIG_DIR", &config);
        if stages() {
            cli.env("AACON_LOG", STAGE_LOG);
        }
        let out = cli.output().expect("aacon instances");
        assert!(out.status.success(), "{verb} failed: {out:?}");
        let at = c.wait(Duration::from_secs(10));
        let stamp: String = events
            .query_row(
                "SELECT timestamp FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .expect("the event");
        let committed = chrono::DateTime::parse_from_rfc3339(&stamp)
            .expect("timestamp")
            .with_timezone(&chrono::Utc);
        let shown = chrono::DateTime::<chrono::Utc>::from(w0 + (at - i0));
        let took = (shown - committed).to_std().unwrap_or_default();
        s.0.push(took);
        marks.push((committed, shown));
        std::thread::sleep(Duration::from_millis(30));
    }
    c.quit();
    let mut f = lat(&s);
    f.push(("instances", n.to_string()));
    f.push(("p50_ms", format!("{:.2}", ms(s.median()))));
    f.push(("max_ms", format!("{:.2}", ms(s.pct(1.0)))));
    let what = if redis.is_some() { "redis" } else { "embedded" };
    result(12, &format!("change_to_screen_{what}"), &f);
    if stages() {
        let mut logs = log_lines(&data);
        if cli_data != data {
            logs.extend(log_lines(&cli_data));
        }
        // Each stage and the one it follows: the console reads the entry
        // while the CLI still waits for XADD's reply.
        let order: &[(&str, &str)] = if redis.is_some() {
            &[
                ("committed", ""),
                ("outbox", "committed"),
                ("xadd", "outbox"),
                ("xread", "outbox"),
                ("emitted", "xread"),
                ("received", "emitted"),
                ("applied", "received"),
                ("drawn", "applied"),
            ]
        } else {
            &[
                ("committed", ""),
                // The writer nudges the console before the CLI's caller
                // hears of its commit.
                ("received", ""),
                ("applied", "received"),
                ("drawn", "applied"),
            ]
        };
        result(
            12,
            &format!("stages_{what}"),
            &stage_times(&logs, &marks, order),
        );
    }
}

/// Every `aacon::stage` line in a data dir's logs: (when, stage).
fn log_lines(data: &Path) -> Vec<(chrono::DateTime<chrono::Utc>, String)> {
    let mut out = Vec::new();
    for f in std::fs::read_dir(data.join("logs"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let text = std::fs::read_to_string(f.path()).unwrap_or_default();
        for l in text.lines() {
            let Some((_, stage)) = l.split_once("aacon::stage: ") else {
                continue;
            };
            let Some(when) = l
                .split_whitespace()
                .next()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            else {
                continue;
            };
            let stage = stage.split_whitespace().next().unwrap_or_default();
            out.push((when.with_timezone(&chrono::Utc), stage.to_string()));
        }
    }
    out.sort();
    out
}

/// Per stage, the time from the stage it follows (the event's timestamp
/// for the first; the frame's arrival from the last): median / p99 in ms,
/// over the rounds where every stage was found.
fn stage_times(
    logs: &[(chrono::DateTime<chrono::Utc>, String)],
    marks: &[(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)],
    order: &[(&str, &str)],
) -> Vec<(&'static str, String)> {
    let mut per: Vec<Samples> = (0..=order.len()).map(|_| Samples::default()).collect();
    let mut complete = 0usize;
    for (k, &(t0, shown)) in marks.iter().enumerate() {
        let end = marks
            .get(k + 1)
            .map_or(chrono::DateTime::<chrono::Utc>::MAX_UTC, |m| m.0);
        let mut at: Vec<(&str, chrono::DateTime<chrono::Utc>)> = vec![("", t0)];
        for &(stage, after) in order {
            let Some(&(_, from)) = at.iter().find(|(s, _)| *s == after) else {
                break;
            };
            let Some((when, _)) = logs
                .iter()
                .find(|(w, s)| *w >= from && *w < end && s == stage)
            else {
                break;
            };
            at.push((stage, *when));
        }
        if at.len() <= order.len() {
            continue;
        }
        complete += 1;
        for (i, &(_, after)) in order.iter().enumerate() {
            let from = at.iter().find(|(s, _)| *s == after).map_or(t0, |a| a.1);
            per[i]
                .0
                .push((at[i + 1].1 - from).to_std().unwrap_or_default());
        }
        let last = at.last().map_or(t0, |a| a.1);
        per[order.len()]
            .0
            .push((shown - last).to_std().unwrap_or_default());
    }
    let mut f = vec![("rounds", complete.to_string())];
    for (i, s) in per.iter().enumerate() {
        let name = order.get(i).map_or("shown", |o| o.0);
        f.push((
            // Leaked once per stage name per run: a bench binary's lifetime.
            Box::leak(format!("{name}_ms").into_boxed_str()),
            format!("{:.2}/{:.2}", ms(s.median()), ms(s.p99())),
        ));
    }
    f
}

fn main() {
    // AACON_BENCH_SIZES=10000 runs rows 5 and 6 at that size only, and
    // AACON_BENCH_ROWS=3 or =5,6 picks the rows.
    let sizes: Vec<usize> = match std::env::var("AACON_BENCH_SIZES") {
        Ok(v) => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) if smoke() => vec![1_000],
        Err(_) => vec![1_000, 10_000, 100_000],
    };
    let rows = std::env::var("AACON_BENCH_ROWS").unwrap_or_else(|_| "3,5,6,12".into());
    if rows.contains('5') || rows.contains('6') {
        for &n in &sizes {
            row6_and_5(n, scale(100_000, 2_000));
        }
    }
    if rows.contains('3') {
        let n = scale(10_000, 1_000);
        row3(n, 0);
        row3(n, 2_000);
    }
    if rows.contains("12") {
        // AACON_BENCH_ROW12=redis or =embedded: that mode only.
        let mode = std::env::var("AACON_BENCH_ROW12").unwrap_or_default();
        let (n, rounds) = (scale(10_000, 1_000), rounds(100, 4));
        if mode != "redis" {
            row12(n, rounds, None);
        }
        if mode != "embedded" {
            match common::Redis::start() {
                Some(r) => row12(n, rounds, Some(&r)),
                None => println!("row 12 over Redis skipped: no redis-server on PATH"),
            }
        }
    }
}
