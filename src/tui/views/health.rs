//! Health as the runtime's last probe shows it: the HEALTH cell and the
//! Overview's health lines (see [`crate::domain::probe`]).

use super::age;
use crate::domain::Instance;
use crate::domain::probe::{latency, probe_applies as probed};
use crate::tui::app::App;

/// A latency for a narrow column: `4ms`, `37ms`, `0.2s`, `1.2s`.
fn compact(ms: u64) -> String {
    if ms < 100 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

/// The HEALTH cell: the last probe's result, age and latency (`ok 3s 4ms`,
/// `fail 12s`); `-` for an instance not running. A backend that reports no
/// probes shows the stored last healthy time's age.
pub fn cell(app: &App, i: &Instance) -> String {
    if !probed(i) {
        return "-".into();
    }
    match app.probes.get(&i.id) {
        Some(p) if p.ok => format!("ok {} {}", age(app.now, Some(p.at)), compact(p.latency_ms)),
        Some(p) => format!("fail {}", age(app.now, Some(p.at))),
        None if app.probes_off.is_some() => age(app.now, i.last_healthy_at),
        None => "-".into(),
    }
}

/// The Overview's `health` line: "last probe 3s ago, 4 ms, ok".
pub fn probe_line(app: &App, i: &Instance) -> String {
    if !probed(i) {
        return "- (not running)".into();
    }
    match app.probes.get(&i.id) {
        Some(p) => format!(
            "last probe {} ago, {}, {}",
            age(app.now, Some(p.at)),
            latency(p.latency_ms),
            if p.ok {
                "ok".to_string()
            } else {
                format!(
                    "failed: {}",
                    p.error.as_deref().unwrap_or("no reason given")
                )
            }
        ),
        None => match &app.probes_off {
            Some(_) => "not reported by this backend".into(),
            None => "no probe yet".into(),
        },
    }
}

/// The Overview's `last healthy` line: the last good probe (live when the
/// runtime reports it, else as stored with the last status change).
pub fn last_healthy_line(app: &App, i: &Instance) -> String {
    let live = app.probes.get(&i.id).and_then(|p| p.last_ok_at);
    match live.or(i.last_healthy_at) {
        Some(t) => format!(
            "{} ({} ago)",
            t.format("%Y-%m-%d %H:%M:%S UTC"),
            age(app.now, Some(t))
        ),
        None => "never".into(),
    }
}
