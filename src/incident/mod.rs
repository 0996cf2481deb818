//! Incident bundles: everything about one instance over a window in one
//! `.tar.gz` (`aacon incident`, the detail view's key), and a read-only
//! platform over a bundle (`aacon --replay FILE`).
//!
//! [`collect`] asks the platform port for the instance, its events, the
//! state at the window's start and end, its log lines and its probe, and
//! writes them as files (see [`Manifest`]); every file is redacted
//! ([`redact`]) before its size and SHA-256 are taken. [`write`] puts
//! them in a gzip'd tar with `MANIFEST.json` last; [`open`] reads one back,
//! checking every file against the manifest, for [`ReplayPlatform`].

mod archive;
mod collect;
pub mod redact;
mod replay;
pub mod summary;

pub use archive::{open, write};
pub use collect::{HostReport, Request, collect};
pub use replay::ReplayPlatform;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The bundle format this build writes and reads.
pub const FORMAT: &str = "aacon-incident/1";

/// Why a bundle could not be written or opened; one sentence each.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error(transparent)]
    Platform(#[from] crate::platform::PlatformError),
    #[error("cannot write {path}: {error}")]
    Write { path: String, error: String },
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: String },
    #[error("{path} is not an incident bundle: {why}")]
    NotABundle { path: String, why: String },
    #[error("{path} is damaged: {why}; nothing was opened")]
    Damaged { path: String, why: String },
    #[error("{path} is a bundle of format {found}; this aacon reads {FORMAT}")]
    Format { path: String, found: String },
}

impl IncidentError {
    /// The CLI exit code (see README).
    pub fn exit_code(&self) -> i32 {
        match self {
            IncidentError::Platform(e) => e.exit_code(),
            IncidentError::NotABundle { .. }
            | IncidentError::Damaged { .. }
            | IncidentError::Format { .. } => 3,
            _ => 1,
        }
    }
}

/// The window a bundle covers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Window {
    /// "2026-12-06 03:00–04:00 UTC" (dates both sides when they differ).
    pub fn describe(&self) -> String {
        let (a, b) = (self.from, self.to);
        if a.date_naive() == b.date_naive() {
            format!(
                "{} {}–{} UTC",
                a.format("%Y-%m-%d"),
                a.format("%H:%M:%S"),
                b.format("%H:%M:%S")
            )
        } else {
            format!(
                "{} – {} UTC",
                a.format("%Y-%m-%d %H:%M:%S"),
                b.format("%Y-%m-%d %H:%M:%S")
            )
        }
    }
}

/// The instance a bundle is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub id: Uuid,
    pub name: String,
}

/// The platform a bundle was written from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// "embedded" or "api".
    pub mode: String,
    /// "embedded" or the API's URL.
    pub name: String,
    /// Whether it keeps an event history (`--replay` can then travel).
    pub history: bool,
}

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    /// What it holds, in a few words.
    pub holds: String,
}

/// `MANIFEST.json`: what a bundle holds and what it could not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub aacon_version: String,
    pub written_at: DateTime<Utc>,
    pub platform: Source,
    pub instance: Subject,
    pub window: Window,
    pub files: Vec<Entry>,
    /// What this bundle does not hold, one sentence each.
    pub not_included: Vec<String>,
}

/// The file names inside a bundle.
pub mod files {
    pub const MANIFEST: &str = "MANIFEST.json";
    pub const SUMMARY: &str = "SUMMARY.md";
    pub const INSTANCE: &str = "instance.json";
    pub const START: &str = "state-at-start.json";
    pub const EVENTS: &str = "events.jsonl";
    pub const STATUS: &str = "status.jsonl";
    pub const RESTARTS: &str = "restarts.jsonl";
    pub const HEALTH: &str = "health.json";
    pub const LOGS: &str = "logs.jsonl";
    pub const CALLS: &str = "calls.jsonl";
    pub const DOCTOR_TEXT: &str = "doctor.txt";
    pub const DOCTOR_JSON: &str = "doctor.json";
    pub const SPEC_DIR: &str = "spec-history/";
    pub const SPEC_VERSIONS: &str = "spec-history/versions.jsonl";
}

/// A bundle in memory: its files (redacted) and its manifest.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub manifest: Manifest,
    /// Path and contents, in the order written (the manifest last).
    pub files: Vec<(String, Vec<u8>)>,
}

impl Bundle {
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, b)| b.as_slice())
    }

    /// A file as text (every file of a bundle is UTF-8).
    pub fn text(&self, path: &str) -> Option<String> {
        self.file(path)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

/// The default file name: `NAME-20261206-031200.tar.gz` (the window's end).
pub fn file_name(name: &str, to: DateTime<Utc>) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    format!("{safe}-{}.tar.gz", to.format("%Y%m%d-%H%M%S"))
}

/// The default window: the hour up to now.
pub fn last_hour(now: DateTime<Utc>) -> Window {
    Window {
        from: now - chrono::Duration::hours(1),
        to: now,
    }
}

#[cfg(test)]
mod tests;
