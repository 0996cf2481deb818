//! Row 2: one instances-view frame (prepare + draw + diff + write) at
//! 250x70 with 1k, 10k and 100k instances, beside the same frame with 100.
//! Row 2b: the same frame right after a live status event, with each stage
//! timed (prepare, render into the buffer, diff + write) and the frame's
//! own CPU time beside its wall time (the difference is waiting for a core).
//! Row 4: bytes written to the terminal when one visible row's status
//! changes, beside a full-screen redraw of the same frame.
//!
//! The frame goes through the console's own backend (`tui::term::Adapted`,
//! as for a 24-bit colour UTF-8 terminal: the longest colour sequences)
//! writing into a `Vec`, so the diff and the escape sequences are the ones
//! a terminal would get. `AACON_BENCH_DUMP=1` prints row 4's bytes.

mod common;

use aacon::domain::{Instance, Status};
use aacon::platform::BackendInfo;
use aacon::tui::app::{App, Msg};
use aacon::tui::fixtures;
use aacon::tui::keymap::{Action, Keymap};
use aacon::tui::term::{Adapted, ColorDepth, TermCaps};
use aacon::tui::theme::Theme;
use aacon::tui::views;
use common::{Samples, lat, result, scale, smoke};
use criterion::{BenchmarkId, Criterion};
use ratatui::backend::Backend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use serde_json::json;
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, Instant};

const W: u16 = 250;
const H: u16 = 70;

/// The terminal's output, shared so the bench can count and clear it.
#[derive(Clone, Default)]
struct Out(Rc<RefCell<Vec<u8>>>);

impl Write for Out {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

type Term = (Terminal<Adapted<Out>>, Out);

fn instances(n: usize) -> Vec<Instance> {
    const ST: [Status; 5] = [
        Status::Running,
        Status::Stopped,
        Status::Error,
        Status::Unhealthy,
        Status::Pending,
    ];
    (0..n)
        .map(|i| {
            let spec = if i.is_multiple_of(2) {
                json!({"command": ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/srv"]})
            } else {
                json!({"endpoint_url": "https://mcp.example/mcp"})
            };
            fixtures::instance(
                i as u128 + 1,
                &format!("inst-{i:06}"),
                spec,
                ST[i % ST.len()],
                (i % 5000) as i64 + 1,
            )
        })
        .collect()
}

fn app(n: usize) -> App {
    let mut app = App::new(
        Theme::default_dark(),
        Keymap::preset("default").expect("default keymap"),
        BackendInfo {
            name: "embedded".into(),
            read_only: false,
        },
        fixtures::now(),
    );
    app.load(instances(n));
    app.prepare();
    app
}

fn term() -> Term {
    let out = Out::default();
    let caps = TermCaps {
        depth: ColorDepth::TrueColor,
        depth_reason: String::new(),
        utf8: true,
        locale: None,
        background: None,
    };
    let t = Terminal::with_options(
        Adapted::new(out.clone(), &caps),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, W, H)),
        },
    )
    .expect("terminal");
    (t, out)
}

/// One frame as the run loop makes it; returns the bytes written.
fn frame(t: &mut Term, app: &mut App) -> usize {
    t.1.0.borrow_mut().clear();
    app.prepare();
    t.0.draw(|f| views::render(f, app)).expect("draw");
    app.dirty = false;
    t.1.0.borrow().len()
}

/// This thread's CPU time (what the frame itself cost, whatever the wait
/// for a core).
fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Each stage of a frame, timed: prepare, render into the buffer, diff +
/// write; the whole frame's wall time and its CPU time.
#[derive(Default)]
struct Stages {
    prepare: Samples,
    render: Samples,
    flush: Samples,
    wall: Samples,
    cpu: Samples,
}

/// One frame as [`frame`], stage by stage (what `Terminal::draw` does for
/// a fixed viewport and no cursor).
fn frame_staged(t: &mut Term, app: &mut App, st: &mut Stages) -> usize {
    t.1.0.borrow_mut().clear();
    let (c0, w0) = (cpu_now(), Instant::now());
    app.prepare();
    let w1 = Instant::now();
    {
        let mut f = t.0.get_frame();
        views::render(&mut f, app);
    }
    let w2 = Instant::now();
    t.0.flush().expect("flush");
    t.0.hide_cursor().expect("cursor");
    t.0.swap_buffers();
    Backend::flush(t.0.backend_mut()).expect("flush");
    let (c3, w3) = (cpu_now(), Instant::now());
    app.dirty = false;
    st.prepare.0.push(w1 - w0);
    st.render.0.push(w2 - w1);
    st.flush.0.push(w3 - w2);
    st.wall.0.push(w3 - w0);
    st.cpu.0.push(c3 - c0);
    t.1.0.borrow().len()
}

/// Move the cursor one row (down, then back up) so each frame differs.
fn step(app: &mut App, i: usize) {
    let a = if i.is_multiple_of(2) {
        Action::Down
    } else {
        Action::Up
    };
    app.action(a);
}

fn row2(sizes: &[usize]) {
    let iters = scale(500, 20);
    let mut base = 0.0;
    for &n in sizes {
        let mut a = app(n);
        let mut t = term();
        frame(&mut t, &mut a);
        let mut s = Samples::default();
        for i in 0..iters {
            step(&mut a, i);
            s.time(|| frame(&mut t, &mut a));
        }
        let p99 = common::ms(s.p99());
        if n == 100 {
            base = p99;
        }
        let mut f = lat(&s);
        f.push(("instances", n.to_string()));
        f.push(("ratio_p99_vs_100", format!("{:.2}", p99 / base.max(1e-9))));
        result(2, "frame_cursor_move", &f);

        // The frame after a live status change of a visible row.
        let mut st = Stages::default();
        for i in 0..iters {
            let id = a.instances.rows[a.instances.scroll.offset + (i % 20)];
            let inst = a.projection.get(&id).cloned().expect("row");
            let next = if inst.status == Status::Running {
                Status::Unhealthy
            } else {
                Status::Running
            };
            a.now += chrono::Duration::milliseconds(300);
            let mut e = fixtures::live_change(&inst, next);
            if let aacon::platform::PlatformEvent::Event(env) = &mut e {
                let env = std::sync::Arc::make_mut(env);
                env.event_id = format!("evt-bench-{n}-{i}");
                env.aggregate_version = Some(inst.aggregate_version + 1);
            }
            a.update(Msg::Platform(e));
            frame_staged(&mut t, &mut a, &mut st);
        }
        let mut f = lat(&st.wall);
        f.push(("instances", n.to_string()));
        for (name, s) in [
            ("prepare", &st.prepare),
            ("render", &st.render),
            ("diff_write", &st.flush),
            ("cpu", &st.cpu),
        ] {
            f.push((
                name,
                format!("{:.4}/{:.4}", common::ms(s.median()), common::ms(s.p99())),
            ));
        }
        f.push(("max_ms", format!("{:.4}", common::ms(st.wall.pct(1.0)))));
        f.push(("cpu_max_ms", format!("{:.4}", common::ms(st.cpu.pct(1.0)))));
        result(2, "frame_after_status_event", &f);
    }
}

fn row4() {
    let mut a = app(10_000);
    let mut t = term();
    frame(&mut t, &mut a);
    // The selected row (0) stays put; change the status of row 3.
    let id = a.instances.rows[3];
    let inst = a.projection.get(&id).cloned().expect("row");
    let next = if inst.status == Status::Running {
        Status::Error
    } else {
        Status::Running
    };
    a.update(Msg::Platform(fixtures::live_change(&inst, next)));
    a.instances.flash.clear(); // the highlight is its own later frame; count the change
    let changed = frame(&mut t, &mut a);
    if std::env::var("AACON_BENCH_DUMP").is_ok_and(|v| v == "1") {
        eprintln!("row 4: {:?}", String::from_utf8_lossy(&t.1.0.borrow()));
    }
    // The flash highlight as it is actually drawn (a second, separate frame
    // in the run loop is not needed: measure with the flash on too).
    let mut a2 = app(10_000);
    let mut t2 = term();
    frame(&mut t2, &mut a2);
    a2.update(Msg::Platform(fixtures::live_change(&inst, next)));
    let with_flash = frame(&mut t2, &mut a2);
    if std::env::var("AACON_BENCH_DUMP").is_ok_and(|v| v == "1") {
        eprintln!(
            "row 4, with the highlight: {:?}",
            String::from_utf8_lossy(&t2.1.0.borrow())
        );
    }
    t.0.clear().expect("clear");
    let full = frame(&mut t, &mut a);
    result(
        4,
        "bytes_one_status_change",
        &[
            ("bytes", changed.to_string()),
            ("bytes_with_flash", with_flash.to_string()),
            ("full_redraw_bytes", full.to_string()),
            (
                "ratio_vs_full",
                format!("{:.4}", changed as f64 / full as f64),
            ),
        ],
    );
}

fn main() {
    row4();
    let sizes: &[usize] = if smoke() {
        &[100, 1_000]
    } else {
        &[100, 1_000, 10_000, 100_000]
    };
    row2(sizes);
    if !smoke() {
        let mut c = Criterion::default().configure_from_args().sample_size(50);
        let mut g = c.benchmark_group("instances_frame_250x70");
        for &n in &[100usize, 10_000, 100_000] {
            let mut a = app(n);
            let mut t = term();
            let mut i = 0;
            g.bench_function(BenchmarkId::from_parameter(n), |b| {
                b.iter(|| {
                    i += 1;
                    step(&mut a, i);
                    frame(&mut t, &mut a)
                })
            });
        }
        g.finish();
        c.final_summary();
    }
}
