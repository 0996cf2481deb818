//! An instance's log kept in memory by the runtime host: a bounded ring of
//! typed, numbered lines (stderr, MCP log messages, the runtime's markers),
//! with secret values masked before a line is stored.

use crate::domain::text::cut;
use crate::platform::{LogLevel, LogLine, LogPage, LogSource};
use crate::secrets::SecretValue;
use chrono::Utc;
use serde_json::Value;
use std::collections::VecDeque;

/// Longest line kept (characters); longer lines are cut with an ellipsis.
pub const MAX_LINE_CHARS: usize = 2000;

/// Longest logger name kept (characters).
const MAX_LOGGER_CHARS: usize = 64;

#[derive(Debug, Default)]
pub struct LogRing {
    lines: VecDeque<LogLine>,
    cap: usize,
    secrets: Vec<SecretValue>,
    /// The number the next line gets.
    next: u64,
}

impl LogRing {
    pub fn new(cap: usize) -> Self {
        LogRing {
            lines: VecDeque::with_capacity(cap.min(1024)),
            cap: cap.max(1),
            secrets: Vec::new(),
            next: 0,
        }
    }

    /// Values to mask in every line pushed from now on.
    pub fn set_secrets(&mut self, secrets: Vec<SecretValue>) {
        self.secrets = secrets
            .into_iter()
            .filter(|s| !s.expose().is_empty())
            .collect();
    }

    /// `text` with this ring's secret values masked.
    pub fn mask(&self, text: &str) -> String {
        mask(text, &self.secrets)
    }

    /// A line the process wrote to stderr (its level read from its words).
    pub fn push_stderr(&mut self, line: &str) {
        self.push(LogLevel::guess(line), LogSource::Stderr, None, line);
    }

    /// A `notifications/message`: its data as text (a string as it is,
    /// anything else as compact JSON).
    pub fn push_mcp(&mut self, level: LogLevel, logger: Option<&str>, data: &Value) {
        let text = match data {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let logger = logger.map(|l| cut(&mask(l, &self.secrets), MAX_LOGGER_CHARS));
        self.push(level, LogSource::Mcp, logger, &text);
    }

    /// The runtime's own line: started, exited, restarting, stopped.
    pub fn marker(&mut self, level: LogLevel, text: &str) {
        self.push(level, LogSource::Runtime, None, text);
    }

    fn push(&mut self, level: LogLevel, source: LogSource, logger: Option<String>, text: &str) {
        let text = cut(&mask(text, &self.secrets), MAX_LINE_CHARS);
        if self.lines.len() == self.cap {
            self.lines.pop_front();
        }
        self.lines.push_back(LogLine {
            seq: self.next,
            at: Utc::now(),
            level,
            source,
            logger,
            text,
        });
        self.next += 1;
    }

    /// The lines from `after` on (a previous page's `next`), or all kept.
    /// A cursor past the end is another ring's (the host changed): all
    /// kept lines, marked as a reset.
    pub fn page(&self, after: Option<u64>) -> LogPage {
        let first = self.lines.front().map_or(self.next, |l| l.seq);
        let (from, reset) = match after {
            Some(a) if a > self.next => (first, true),
            Some(a) => (a.max(first), false),
            None => (first, false),
        };
        let missed = match after {
            Some(a) if !reset => first.saturating_sub(a),
            _ => first,
        };
        let skip = usize::try_from(from - first).unwrap_or(usize::MAX);
        LogPage {
            lines: self.lines.iter().skip(skip).cloned().collect(),
            next: self.next,
            missed,
            reset,
        }
    }

    /// The last stderr line (what a process that died last said).
    pub fn last_stderr(&self) -> Option<&str> {
        self.lines
            .iter()
            .rev()
            .find(|l| l.source == LogSource::Stderr)
            .map(|l| l.text.as_str())
    }

    /// Lines that fell out of the ring.
    pub fn dropped(&self) -> u64 {
        self.lines.front().map_or(self.next, |l| l.seq)
    }
}

/// `text` with every secret value replaced by the mask.
pub fn mask(text: &str, secrets: &[SecretValue]) -> String {
    crate::domain::spec::mask_values(text, secrets.iter().map(SecretValue::expose))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn texts(p: &LogPage) -> Vec<&str> {
        p.lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn keeps_the_newest_lines_and_masks_secrets() {
        let mut r = LogRing::new(3);
        r.set_secrets(vec![SecretValue::new("hunter2")]);
        for i in 0..5 {
            r.push_stderr(&format!("line {i} token=hunter2"));
        }
        let lines = r.page(None).lines;
        assert_eq!(lines.len(), 3);
        assert!(lines[0].text.starts_with("line 2"));
        assert!(lines.iter().all(|l| !l.text.contains("hunter2")));
        assert!(lines[2].text.contains(crate::domain::spec::MASK));
        assert_eq!(r.dropped(), 2);
    }

    #[test]
    fn mcp_messages_are_masked_typed_and_interleaved() {
        let mut r = LogRing::new(10);
        r.set_secrets(vec![SecretValue::new("s3cret")]);
        r.push_stderr("WARN disk almost full");
        r.push_mcp(
            LogLevel::Error,
            Some("db"),
            &json!({"msg": "login failed", "password": "s3cret"}),
        );
        r.marker(LogLevel::Notice, "restarting");
        let p = r.page(None);
        assert_eq!(p.lines[0].level, LogLevel::Warning);
        assert_eq!(p.lines[0].source_label(), "stderr");
        assert_eq!(p.lines[1].source_label(), "mcp:db");
        assert_eq!(p.lines[1].level, LogLevel::Error);
        assert!(!p.lines[1].text.contains("s3cret"), "{}", p.lines[1].text);
        assert!(p.lines[1].text.contains("login failed"));
        assert_eq!(p.lines[2].source_label(), "aacon");
        assert_eq!(r.last_stderr(), Some("WARN disk almost full"));
    }

    #[test]
    fn a_follower_gets_only_new_lines_and_hears_what_it_missed() {
        let mut r = LogRing::new(3);
        r.push_stderr("a");
        let first = r.page(None);
        assert_eq!((texts(&first), first.next, first.missed), (vec!["a"], 1, 0));
        r.push_stderr("b");
        let p = r.page(Some(first.next));
        assert_eq!((texts(&p), p.next, p.missed), (vec!["b"], 2, 0));
        assert!(r.page(Some(p.next)).lines.is_empty());
        for t in ["c", "d", "e", "f"] {
            r.push_stderr(t);
        }
        // c fell out before the follower came back.
        let p2 = r.page(Some(p.next));
        assert_eq!((texts(&p2), p2.missed), (vec!["d", "e", "f"], 1));
        // A cursor from another ring (the host changed): everything, as a reset.
        let other = r.page(Some(1000));
        assert!(other.reset);
        assert_eq!(texts(&other), vec!["d", "e", "f"]);
    }

    #[test]
    fn long_lines_are_cut() {
        let mut r = LogRing::new(2);
        r.push_stderr(&"x".repeat(MAX_LINE_CHARS + 50));
        assert_eq!(
            r.page(None).lines[0].text.chars().count(),
            MAX_LINE_CHARS + 1
        );
    }
}
