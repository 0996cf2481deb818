//! An instance's log as the port carries it: the process's stderr lines,
//! the server's MCP log messages (`notifications/message`) and the
//! runtime's own markers (start, exit, restart, stop), each with its time,
//! level and source, numbered so a follower asks only for what is new.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// MCP's log levels (RFC 5424's), least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
    Alert,
    Emergency,
}

impl LogLevel {
    pub const ALL: [LogLevel; 8] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Notice,
        LogLevel::Warning,
        LogLevel::Error,
        LogLevel::Critical,
        LogLevel::Alert,
        LogLevel::Emergency,
    ];

    /// The protocol's name ("warning").
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Notice => "notice",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
            LogLevel::Alert => "alert",
            LogLevel::Emergency => "emergency",
        }
    }

    pub fn parse(s: &str) -> Option<LogLevel> {
        let s = s.trim().to_ascii_lowercase();
        LogLevel::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The next more severe level, back to debug after emergency (a key
    /// cycles the minimum level shown).
    pub fn next(self) -> LogLevel {
        let i = LogLevel::ALL.iter().position(|l| *l == self).unwrap_or(0);
        LogLevel::ALL[(i + 1) % LogLevel::ALL.len()]
    }

    /// The level a stderr line speaks of: the first level word among its
    /// first characters (`ERROR`, `[warn]`, `level=debug`, `panicked`),
    /// else info. Stderr has no levels of its own; this reads the usual ones.
    pub fn guess(text: &str) -> LogLevel {
        let head: String = text
            .chars()
            .take(64)
            .collect::<String>()
            .to_ascii_lowercase();
        for word in head.split(|c: char| !c.is_ascii_alphabetic()) {
            let level = match word {
                "emerg" | "emergency" => LogLevel::Emergency,
                "alert" => LogLevel::Alert,
                "crit" | "critical" | "fatal" | "panic" | "panicked" => LogLevel::Critical,
                "error" | "err" | "exception" | "traceback" => LogLevel::Error,
                "warn" | "warning" => LogLevel::Warning,
                "notice" => LogLevel::Notice,
                "info" => LogLevel::Info,
                "debug" | "trace" => LogLevel::Debug,
                _ => continue,
            };
            return level;
        }
        LogLevel::Info
    }
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    /// The process's stderr (a stdio or container server).
    Stderr,
    /// The server's `notifications/message`.
    Mcp,
    /// The runtime's marker: started, exited, restarting, stopped.
    #[serde(rename = "aacon")]
    Runtime,
}

impl LogSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LogSource::Stderr => "stderr",
            LogSource::Mcp => "mcp",
            LogSource::Runtime => "aacon",
        }
    }
}

/// One line of an instance's log (secrets masked, length bounded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// Its number in the runtime host's log of the instance (from 0).
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub level: LogLevel,
    pub source: LogSource,
    /// The MCP logger's name, when the server gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logger: Option<String>,
    pub text: String,
}

impl LogLine {
    /// "stderr", "mcp", "mcp:db" (the logger's name), "aacon".
    pub fn source_label(&self) -> String {
        match (&self.source, &self.logger) {
            (LogSource::Mcp, Some(l)) => format!("mcp:{l}"),
            (s, _) => s.as_str().to_string(),
        }
    }
}

/// What a read of an instance's log returned.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LogPage {
    /// The lines from the cursor asked for (all kept, without one), oldest first.
    pub lines: Vec<LogLine>,
    /// The cursor to ask with next time: only newer lines come.
    pub next: u64,
    /// Lines that fell out of the bounded log before they were read.
    #[serde(default)]
    pub missed: u64,
    /// The cursor belonged to another log (the runtime host changed): these
    /// are all the lines kept, to replace what the reader had.
    #[serde(default)]
    pub reset: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_levels_are_read_from_the_usual_words() {
        assert_eq!(LogLevel::guess("ERROR something broke"), LogLevel::Error);
        assert_eq!(LogLevel::guess("[warn] slow"), LogLevel::Warning);
        assert_eq!(
            LogLevel::guess("2026-01-01T00:00:00Z DEBUG x"),
            LogLevel::Debug
        );
        assert_eq!(
            LogLevel::guess("thread 'main' panicked at src/x.rs"),
            LogLevel::Critical
        );
        assert_eq!(LogLevel::guess("listening on 8080"), LogLevel::Info);
        // A level word far into the line is its text, not its level.
        assert_eq!(
            LogLevel::guess(&format!("{} error", "x".repeat(80))),
            LogLevel::Info
        );
    }

    #[test]
    fn levels_cycle_and_parse() {
        assert_eq!(LogLevel::Debug.next(), LogLevel::Info);
        assert_eq!(LogLevel::Emergency.next(), LogLevel::Debug);
        assert_eq!(LogLevel::parse("Warning"), Some(LogLevel::Warning));
        assert_eq!(LogLevel::parse("loud"), None);
        assert!(LogLevel::Error > LogLevel::Warning);
    }
}
