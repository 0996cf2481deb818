//! Observed status lifecycle and desired state, kept apart.
//!
//! The allowed transitions are data ([`TRANSITIONS`]), so the runtime, the
//! projection and the tests all read one table.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What the runtime observes about an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Validating,
    Starting,
    Running,
    Unhealthy,
    Stopping,
    Stopped,
    Error,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Pending,
        Status::Validating,
        Status::Starting,
        Status::Running,
        Status::Unhealthy,
        Status::Stopping,
        Status::Stopped,
        Status::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Validating => "validating",
            Status::Starting => "starting",
            Status::Running => "running",
            Status::Unhealthy => "unhealthy",
            Status::Stopping => "stopping",
            Status::Stopped => "stopped",
            Status::Error => "error",
        }
    }

    /// A symbol that carries the status without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Pending => "…",
            Status::Validating => "?",
            Status::Starting => "↑",
            Status::Running => "●",
            Status::Unhealthy => "▲",
            Status::Stopping => "↓",
            Status::Stopped => "○",
            Status::Error => "✖",
        }
    }

    /// Whether `self → to` is an allowed transition (see [`TRANSITIONS`]).
    pub fn can_transition_to(self, to: Status) -> bool {
        self == to
            || TRANSITIONS
                .iter()
                .any(|(from, tos)| *from == self && tos.contains(&to))
    }

    /// Map a status string from any source (ours, AgentArea's API, its Go
    /// manager) onto our lifecycle. Unknown free text from a manager becomes
    /// `None`; the caller keeps the raw text as a reason.
    pub fn from_foreign(s: &str) -> Option<Status> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pending" | "requested" | "created" => Some(Status::Pending),
            "validating" => Some(Status::Validating),
            "starting" | "deploying" => Some(Status::Starting),
            "running" | "healthy" => Some(Status::Running),
            "unhealthy" | "degraded" => Some(Status::Unhealthy),
            "stopping" => Some(Status::Stopping),
            "stopped" | "deleted" => Some(Status::Stopped),
            "error" | "failed" => Some(Status::Error),
            _ => None,
        }
    }
}

/// Allowed observed-status transitions. `error` is reachable from anywhere
/// and any status may stay where it is.
pub const TRANSITIONS: &[(Status, &[Status])] = &[
    (
        Status::Pending,
        &[
            Status::Validating,
            Status::Starting,
            Status::Stopped,
            Status::Error,
        ],
    ),
    (
        Status::Validating,
        &[
            Status::Starting,
            Status::Stopped,
            Status::Error,
            Status::Pending,
        ],
    ),
    (
        Status::Starting,
        &[
            Status::Running,
            Status::Unhealthy,
            Status::Stopping,
            Status::Stopped,
            Status::Error,
        ],
    ),
    (
        Status::Running,
        &[
            Status::Unhealthy,
            Status::Stopping,
            Status::Stopped,
            Status::Error,
            Status::Starting,
        ],
    ),
    (
        Status::Unhealthy,
        &[
            Status::Running,
            Status::Stopping,
            Status::Stopped,
            Status::Error,
            Status::Starting,
        ],
    ),
    (Status::Stopping, &[Status::Stopped, Status::Error]),
    (
        Status::Stopped,
        &[
            Status::Pending,
            Status::Validating,
            Status::Starting,
            Status::Error,
        ],
    ),
    (
        Status::Error,
        &[
            Status::Pending,
            Status::Validating,
            Status::Starting,
            Status::Stopping,
            Status::Stopped,
        ],
    ),
];

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status or desired state that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownState {
    #[error("unknown status '{0}'; expected one of {list}", list = Status::ALL.map(|s| s.as_str()).join(", "))]
    Status(String),
    #[error("unknown desired state '{0}'; expected running or stopped")]
    Desired(String),
}

impl FromStr for Status {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .iter()
            .copied()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownState::Status(s.to_string()))
    }
}

/// What the user wants: set by start/stop, closed by reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DesiredState {
    Running,
    Stopped,
}

impl DesiredState {
    pub fn as_str(self) -> &'static str {
        match self {
            DesiredState::Running => "running",
            DesiredState::Stopped => "stopped",
        }
    }
}

impl fmt::Display for DesiredState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DesiredState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "running" => Ok(DesiredState::Running),
            "stopped" => Ok(DesiredState::Stopped),
            _ => Err(UnknownState::Desired(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_name() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!(
            "nope"
                .parse::<Status>()
                .unwrap_err()
                .to_string()
                .contains("expected one of pending")
        );
    }

    #[test]
    fn error_is_reachable_from_every_status() {
        for s in Status::ALL {
            assert!(s.can_transition_to(Status::Error), "{s} -> error");
        }
    }

    #[test]
    fn stopping_cannot_jump_to_running() {
        assert!(!Status::Stopping.can_transition_to(Status::Running));
        assert!(!Status::Stopped.can_transition_to(Status::Running));
        assert!(Status::Starting.can_transition_to(Status::Running));
        assert!(Status::Running.can_transition_to(Status::Unhealthy));
        assert!(Status::Unhealthy.can_transition_to(Status::Running));
    }

    #[test]
    fn every_status_has_a_row_in_the_table() {
        for s in Status::ALL {
            assert!(TRANSITIONS.iter().any(|(from, _)| *from == s), "{s}");
        }
    }

    #[test]
    fn foreign_statuses_map_onto_ours() {
        assert_eq!(Status::from_foreign("requested"), Some(Status::Pending));
        assert_eq!(Status::from_foreign("failed"), Some(Status::Error));
        assert_eq!(Status::from_foreign("Running"), Some(Status::Running));
        assert_eq!(Status::from_foreign("container restarting weirdly"), None);
    }
}
