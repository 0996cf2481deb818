//! Health probes: what the runtime's last probe of a running instance
//! found. A probe is not a domain event: it is never written to the event
//! log or the bus. The runtime host keeps the last probe per running
//! instance in memory; the console reads them through the platform port
//! (`Platform::probes`: the runtime in this process, or the host over
//! `runtime.sock`, or `aacon serve` at `GET …/health/probes`), so every
//! probe refreshes the HEALTH column without an event.

use super::instance::Instance;
use super::status::{DesiredState, Status};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The last health probe of one running instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    pub instance_id: Uuid,
    /// When the probe finished.
    pub at: DateTime<Utc>,
    pub ok: bool,
    /// How long the probe took, in milliseconds.
    pub latency_ms: u64,
    /// Why it failed, in plain words ("connection refused", "no answer within 5s").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last probe that succeeded (this one, when it did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ok_at: Option<DateTime<Utc>>,
}

/// A latency for people: `4 ms`, `1.2 s`.
pub fn latency(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// A new instance that was never started: created with status `pending`
/// and desired `stopped`, and nothing has run it since. Ours only (a
/// configuration version ≥ 1): AgentArea's `pending`/`requested` means a
/// start was asked for.
pub fn never_started(i: &Instance) -> bool {
    i.status == Status::Pending
        && i.desired_state == DesiredState::Stopped
        && i.version >= 1
        && i.restarts == 0
        && i.last_healthy_at.is_none()
        && i.tool_count.is_none()
}

/// The status to show: `stopped` for an instance never started (nothing is
/// pending: it waits for a start), else the observed status.
pub fn shown_status(i: &Instance) -> Status {
    if never_started(i) {
        Status::Stopped
    } else {
        i.status
    }
}

/// Whether a probe of `i` can mean anything now: it runs, or should (a
/// probe left over from before a stop does not count).
pub fn probe_applies(i: &Instance) -> bool {
    !matches!(
        shown_status(i),
        Status::Stopped | Status::Pending | Status::Validating
    )
}

/// Where a status sorts: what needs the operator first (error, then
/// unhealthy), then the rest in lifecycle order.
pub fn status_rank(s: Status) -> (u8, Status) {
    match s {
        Status::Error => (0, s),
        Status::Unhealthy => (1, s),
        _ => (2, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_sort_puts_error_then_unhealthy_first() {
        let mut all = Status::ALL.to_vec();
        all.sort_by_key(|s| status_rank(*s));
        assert_eq!(
            all,
            [
                Status::Error,
                Status::Unhealthy,
                Status::Pending,
                Status::Validating,
                Status::Starting,
                Status::Running,
                Status::Stopping,
                Status::Stopped,
            ]
        );
    }

    #[test]
    fn latencies_read_as_people_say_them() {
        assert_eq!(latency(4), "4 ms");
        assert_eq!(latency(999), "999 ms");
        assert_eq!(latency(1234), "1.2 s");
    }

    #[test]
    fn probes_round_trip_as_json() {
        let p = Probe {
            instance_id: Uuid::nil(),
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            ok: false,
            latency_ms: 5000,
            error: Some("connection refused".into()),
            last_ok_at: None,
        };
        let text = serde_json::to_string(&p).unwrap();
        assert!(!text.contains("last_ok_at"), "{text}");
        assert_eq!(serde_json::from_str::<Probe>(&text).unwrap(), p);
    }
}
