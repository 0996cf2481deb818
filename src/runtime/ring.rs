//! A bounded ring of a child's stderr lines, with secret values masked
//! before a line is stored.

use crate::domain::spec::MASK;
use crate::secrets::SecretValue;
use std::collections::VecDeque;

/// Longest line kept (characters); longer lines are cut with an ellipsis.
pub const MAX_LINE_CHARS: usize = 2000;

#[derive(Debug, Default)]
pub struct StderrRing {
    lines: VecDeque<String>,
    cap: usize,
    secrets: Vec<SecretValue>,
    dropped: u64,
}

impl StderrRing {
    pub fn new(cap: usize) -> Self {
        StderrRing {
            lines: VecDeque::with_capacity(cap.min(1024)),
            cap: cap.max(1),
            secrets: Vec::new(),
            dropped: 0,
        }
    }

    /// Values to mask in every line pushed from now on.
    pub fn set_secrets(&mut self, secrets: Vec<SecretValue>) {
        self.secrets = secrets
            .into_iter()
            .filter(|s| !s.expose().is_empty())
            .collect();
    }

    pub fn push(&mut self, line: &str) {
        let line = mask(line, &self.secrets);
        let line = if line.chars().count() > MAX_LINE_CHARS {
            let mut cut: String = line.chars().take(MAX_LINE_CHARS).collect();
            cut.push('…');
            cut
        } else {
            line
        };
        if self.lines.len() == self.cap {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.iter().cloned().collect()
    }

    pub fn last(&self) -> Option<&str> {
        self.lines.back().map(String::as_str)
    }

    /// Lines that fell out of the ring.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// `text` with every secret value replaced by the mask.
pub fn mask(text: &str, secrets: &[SecretValue]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.expose().is_empty() && out.contains(s.expose()) {
            out = out.replace(s.expose(), MASK);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_lines_and_masks_secrets() {
        let mut r = StderrRing::new(3);
        r.set_secrets(vec![SecretValue::new("hunter2")]);
        for i in 0..5 {
            r.push(&format!("line {i} token=hunter2"));
        }
        let lines = r.lines();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("line 2"));
        assert!(lines.iter().all(|l| !l.contains("hunter2")));
        assert!(lines[2].contains(MASK));
        assert_eq!(r.dropped(), 2);
    }

    #[test]
    fn long_lines_are_cut() {
        let mut r = StderrRing::new(2);
        r.push(&"x".repeat(MAX_LINE_CHARS + 50));
        assert_eq!(r.last().unwrap().chars().count(), MAX_LINE_CHARS + 1);
    }
}
