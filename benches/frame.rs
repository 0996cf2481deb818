//! Row 2: one instances-view frame (prepare + draw + diff + write) at
//! 250x70 with 1k, 10k and 100k instances, beside the same frame with 100.
//! Row 4: bytes written to the terminal when one visible row's status
//! changes, beside a full-screen redraw of the same frame.
//!
//! The frame goes through the real `CrosstermBackend` writing into a `Vec`,
//! so the diff and the escape sequences are the ones a terminal would get.

mod common;

use aacon::domain::{Instance, Status};
use aacon::platform::BackendInfo;
use aacon::tui::app::{App, Msg};
use aacon::tui::fixtures;
use aacon::tui::keymap::{Action, Keymap};
use aacon::tui::theme::Theme;
use aacon::tui::views;
use common::{Samples, lat, result, scale, smoke};
use criterion::{BenchmarkId, Criterion};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use serde_json::json;
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

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

type Term = (Terminal<CrosstermBackend<Out>>, Out);

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
    let t = Terminal::with_options(
        CrosstermBackend::new(out.clone()),
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

        // The frame after a live status change of a visible row (the index
        // is rebuilt: the status may move the row under a sort).
        let mut s = Samples::default();
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
            s.time(|| frame(&mut t, &mut a));
        }
        let mut f = lat(&s);
        f.push(("instances", n.to_string()));
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
    // The flash highlight as it is actually drawn (a second, separate frame
    // in the run loop is not needed: measure with the flash on too).
    let mut a2 = app(10_000);
    let mut t2 = term();
    frame(&mut t2, &mut a2);
    a2.update(Msg::Platform(fixtures::live_change(&inst, next)));
    let with_flash = frame(&mut t2, &mut a2);
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
