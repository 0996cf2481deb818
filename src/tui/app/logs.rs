//! The detail Logs tab: the instance's live log (stderr lines, the
//! server's MCP log messages and the runtime's markers, interleaved in
//! the order the runtime host kept them), following or paused, wrapped or
//! cut, searched, filtered by a minimum level; and `logging/setLevel`.
//! While the tab is open each tick asks for the lines after the last one
//! read ([`Command::LoadLogs`]); the answer comes back as a message.

use super::detail::PaneError;
use super::*;
use crate::platform::{LogLevel, LogLine, LogPage, McpOp};

/// Most lines the pane keeps (the oldest go first).
pub const LOG_CAP: usize = 5_000;

/// The Logs tab's state.
#[derive(Debug, Clone)]
pub struct LogsPane {
    /// The lines read so far, oldest first (at most [`LOG_CAP`]).
    pub lines: VecDeque<LogLine>,
    /// Whether the first read answered (lines or an error).
    pub loaded: bool,
    /// Why the last read failed (the lines read before stay).
    pub error: Option<PlatformError>,
    /// A read is in flight.
    pub loading: bool,
    /// The cursor to read from next (none: from the start).
    pub next: Option<u64>,
    /// Lines that fell out of the runtime's bounded log before they were
    /// read, and those this pane let go of.
    pub missed: u64,
    /// Paused at the line with this number (the bottom line shown); none:
    /// following, the newest line at the bottom.
    pub anchor: Option<u64>,
    /// Long lines wrap instead of being cut at the edge.
    pub wrap: bool,
    /// The least severe level shown.
    pub min_level: LogLevel,
    /// What `/` searches for (case-insensitive, in text and source).
    pub search: Option<String>,
    /// The level asked of the server with `logging/setLevel`: in flight,
    /// or its answer.
    pub server_level: Option<(LogLevel, Option<Result<(), PaneError>>)>,
}

impl Default for LogsPane {
    fn default() -> Self {
        LogsPane {
            lines: VecDeque::new(),
            loaded: false,
            error: None,
            loading: false,
            next: None,
            missed: 0,
            anchor: None,
            wrap: false,
            min_level: LogLevel::Debug,
            search: None,
            server_level: None,
        }
    }
}

impl LogsPane {
    /// A read of the log answered.
    pub fn loaded(&mut self, result: Result<LogPage, PlatformError>) {
        self.loading = false;
        self.loaded = true;
        let page = match result {
            Ok(p) => p,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        self.error = None;
        if page.reset {
            // Another runtime host's log: what it keeps replaces ours.
            self.lines.clear();
            self.anchor = None;
            self.next = None;
        }
        self.missed += page.missed;
        self.next = Some(self.next.map_or(page.next, |n| n.max(page.next)));
        let newest = self.lines.back().map(|l| l.seq);
        let (newer, older): (Vec<LogLine>, Vec<LogLine>) = page
            .lines
            .into_iter()
            .partition(|l| newest.is_none_or(|n| l.seq > n));
        if !older.is_empty() {
            // Answers out of order (a refresh raced a poll): merged by number, once each.
            let have: HashSet<u64> = self.lines.iter().map(|l| l.seq).collect();
            let mut all: Vec<LogLine> = self.lines.drain(..).collect();
            all.extend(older.into_iter().filter(|l| !have.contains(&l.seq)));
            all.sort_by_key(|l| l.seq);
            self.lines = all.into();
        }
        self.lines.extend(newer);
        while self.lines.len() > LOG_CAP {
            self.lines.pop_front();
            self.missed += 1;
        }
    }

    /// The lines shown: at or above the minimum level.
    pub fn visible(&self) -> Vec<&LogLine> {
        self.lines
            .iter()
            .filter(|l| l.level >= self.min_level)
            .collect()
    }

    /// Whether the newest line is at the bottom (new lines scroll in).
    pub fn following(&self) -> bool {
        self.anchor.is_none()
    }

    /// The index (in [`Self::visible`]) of the bottom line shown.
    pub fn bottom(&self, visible: &[&LogLine]) -> Option<usize> {
        let last = visible.len().checked_sub(1)?;
        match self.anchor {
            None => Some(last),
            // The last shown line at or before the anchor (a filter may hide it).
            Some(a) => Some(visible.iter().rposition(|l| l.seq <= a).unwrap_or(0)),
        }
    }

    /// Follow, or pause where the bottom line is now.
    pub fn toggle_follow(&mut self) {
        self.anchor = match self.anchor {
            Some(_) => None,
            None => self.lines.back().map(|l| l.seq),
        };
    }

    /// Move the bottom line by `delta` shown lines; reaching the newest
    /// follows again.
    pub fn scroll(&mut self, delta: isize) {
        let visible = self.visible();
        let Some(bottom) = self.bottom(&visible) else {
            return;
        };
        let last = visible.len() - 1;
        let to = bottom.saturating_add_signed(delta).min(last);
        let seq = visible[to].seq;
        self.anchor = (delta < 0 || to < last).then_some(seq);
    }

    /// Pause at the oldest line kept.
    pub fn top(&mut self) {
        self.anchor = self.visible().first().map(|l| l.seq);
    }

    /// The next more severe minimum level (back to debug after the last).
    pub fn cycle_level(&mut self) {
        self.min_level = self.min_level.next();
    }

    /// Search for `term` (as typed): pause at the newest line holding it.
    pub fn set_search(&mut self, term: &str) {
        self.search = (!term.is_empty()).then(|| term.to_string());
        if self.search.is_some() {
            // From the newest back: the last match first.
            let from = self.visible().len();
            self.find(from, false);
        }
    }

    /// Pause at the next (`forward`) or previous line from index `from`
    /// (exclusive, wrapping) that holds the search term; false when none.
    pub fn find(&mut self, from: usize, forward: bool) -> bool {
        let Some(term) = self.search.as_deref().map(str::to_lowercase) else {
            return false;
        };
        let visible = self.visible();
        let n = visible.len();
        if n == 0 {
            return false;
        }
        let hit = (1..=n)
            .map(|k| {
                if forward {
                    (from + k) % n
                } else {
                    (from + n * 2 - k) % n
                }
            })
            .find(|&i| matches(visible[i], &term));
        let Some(i) = hit else { return false };
        self.anchor = Some(visible[i].seq);
        true
    }

    /// Pause at the next / previous match after the bottom line.
    pub fn find_next(&mut self, forward: bool) -> bool {
        let visible = self.visible();
        let from = self.bottom(&visible).unwrap_or(0);
        self.find(from, forward)
    }
}

/// Whether the instance's server declares the logging capability, as its
/// initialize result (read for the Overview) says; none while unknown.
pub fn declares_logging(d: &DetailState) -> Option<bool> {
    match &d.surface.identity {
        Some(Ok(v)) => Some(
            v.get("capabilities")
                .and_then(|c| c.get("logging"))
                .is_some_and(|l| !l.is_null()),
        ),
        _ => None,
    }
}

/// Whether `line` holds the lowercase `term` (its text or its source).
pub fn matches(line: &LogLine, term: &str) -> bool {
    line.text.to_lowercase().contains(term) || line.source_label().to_lowercase().contains(term)
}

impl App {
    /// A key's action on the Logs tab; none when it is not the Logs tab's.
    pub(super) fn logs_action(&mut self, action: Action) -> Option<Vec<Command>> {
        let page = self.page();
        let d = self.detail_mut().filter(|d| d.tab == DetailTab::Logs)?;
        let logs = &mut d.logs;
        match action {
            Action::Up => logs.scroll(-1),
            Action::Down => logs.scroll(1),
            Action::PageUp => logs.scroll(-page),
            Action::PageDown => logs.scroll(page),
            Action::Top => logs.top(),
            Action::Bottom => logs.anchor = None,
            Action::Follow => logs.toggle_follow(),
            Action::Wrap => logs.wrap = !logs.wrap,
            Action::LogLevel => logs.cycle_level(),
            Action::Refresh => {
                // Read the whole log again.
                *logs = LogsPane {
                    wrap: logs.wrap,
                    min_level: logs.min_level,
                    search: logs.search.take(),
                    server_level: logs.server_level.take(),
                    loading: true,
                    ..LogsPane::default()
                };
                return Some(vec![Command::LoadLogs {
                    id: d.id,
                    after: None,
                }]);
            }
            Action::Filter => {
                let before = logs.search.clone().unwrap_or_default();
                self.overlay = Some(Overlay::Filter {
                    input: LineInput {
                        text: before.clone(),
                        candidates: Vec::new(),
                    },
                    before,
                });
            }
            Action::NextMatch | Action::PrevMatch => {
                let searching = logs.search.is_some();
                if !logs.find_next(action == Action::NextMatch) && searching {
                    self.toast(Level::Info, "no line shown matches");
                }
            }
            Action::SetLogLevel => return Some(self.set_server_level()),
            _ => return None,
        }
        self.dirty = true;
        Some(Vec::new())
    }

    /// Ask the server to log from the level shown (`logging/setLevel`);
    /// a server that declares no logging capability is not asked.
    fn set_server_level(&mut self) -> Vec<Command> {
        let Some(d) = self.detail_mut() else {
            return Vec::new();
        };
        if declares_logging(d) == Some(false) {
            self.toast(
                Level::Info,
                "this server declares no logging capability, so it takes no log level; its stderr is all it logs",
            );
            return Vec::new();
        }
        if d.logs
            .server_level
            .as_ref()
            .is_some_and(|(_, answer)| answer.is_none())
        {
            return Vec::new();
        }
        let (id, level) = (d.id, d.logs.min_level);
        d.logs.server_level = Some((level, None));
        self.dirty = true;
        vec![Command::Mcp {
            id,
            op: McpOp::SetLevel { level },
        }]
    }

    /// The answer to `logging/setLevel`.
    pub(super) fn server_level_set(
        &mut self,
        id: Uuid,
        level: LogLevel,
        result: Result<(), PaneError>,
    ) {
        let said = match &result {
            Ok(()) => (
                Level::Ok,
                format!("the server now logs from {level} up (logging/setLevel)"),
            ),
            Err(e) => (Level::Error, format!("the log level was not set: {e}")),
        };
        if let Some(d) = self.details_of(id).last() {
            d.logs.server_level = Some((level, Some(result)));
        }
        self.toast(said.0, said.1);
    }

    /// Each tick while the Logs tab is open: read the lines after the last
    /// one read (one read in flight at a time).
    pub(super) fn logs_tick(&mut self) -> Vec<Command> {
        // A backend without a logs route was asked once, not every tick.
        if !self.backend_has(crate::platform::profile::Route::Logs) {
            return Vec::new();
        }
        match self.detail_mut() {
            Some(d) if d.tab == DetailTab::Logs && !d.logs.loading => {
                d.logs.loading = true;
                vec![Command::LoadLogs {
                    id: d.id,
                    after: d.logs.next,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// The `/` line's text, applied to the Logs tab.
    pub(super) fn search_logs(&mut self, term: &str) {
        if let Some(d) = self.detail_mut() {
            d.logs.set_search(term);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::LogSource;

    fn line(seq: u64, level: LogLevel, text: &str) -> LogLine {
        LogLine {
            seq,
            at: DateTime::<Utc>::from_timestamp(1_800_000_000 + seq as i64, 0).unwrap(),
            level,
            source: LogSource::Stderr,
            logger: None,
            text: text.into(),
        }
    }

    fn page(lines: Vec<LogLine>) -> LogPage {
        let next = lines.last().map_or(0, |l| l.seq + 1);
        LogPage {
            lines,
            next,
            missed: 0,
            reset: false,
        }
    }

    fn pane() -> LogsPane {
        let mut p = LogsPane::default();
        p.loaded(Ok(page(vec![
            line(0, LogLevel::Info, "listening"),
            line(1, LogLevel::Debug, "tick"),
            line(2, LogLevel::Error, "disk full"),
            line(3, LogLevel::Debug, "tick"),
            line(4, LogLevel::Warning, "slow disk"),
        ])));
        p
    }

    fn bottom_text(p: &LogsPane) -> String {
        let v = p.visible();
        p.bottom(&v).map(|i| v[i].text.clone()).unwrap_or_default()
    }

    #[test]
    fn following_keeps_the_newest_at_the_bottom_and_pausing_holds_still() {
        let mut p = pane();
        assert!(p.following());
        assert_eq!(bottom_text(&p), "slow disk");
        assert_eq!(p.next, Some(5));
        p.toggle_follow();
        assert!(!p.following());
        p.loaded(Ok(LogPage {
            lines: vec![line(5, LogLevel::Info, "new")],
            next: 6,
            missed: 0,
            reset: false,
        }));
        assert_eq!(
            bottom_text(&p),
            "slow disk",
            "paused: the new line waits below"
        );
        p.scroll(1);
        assert!(p.following(), "scrolling onto the newest follows again");
        assert_eq!(bottom_text(&p), "new");
        p.scroll(-2);
        assert_eq!(bottom_text(&p), "tick");
        assert!(!p.following());
    }

    #[test]
    fn a_line_read_twice_is_kept_once_and_a_reset_replaces_all() {
        let mut p = pane();
        p.loaded(Ok(page(vec![line(4, LogLevel::Warning, "slow disk")])));
        assert_eq!(p.lines.len(), 5);
        p.loaded(Ok(LogPage {
            lines: vec![line(0, LogLevel::Notice, "starting")],
            next: 1,
            missed: 0,
            reset: true,
        }));
        assert_eq!(p.lines.len(), 1);
        assert_eq!(p.next, Some(1));
    }

    #[test]
    fn answers_out_of_order_are_merged_by_number() {
        let mut p = LogsPane::default();
        // A poll's answer (after 3) lands before the full read's.
        p.loaded(Ok(page(vec![
            line(3, LogLevel::Info, "d"),
            line(4, LogLevel::Info, "e"),
        ])));
        p.loaded(Ok(page(vec![
            line(0, LogLevel::Info, "a"),
            line(1, LogLevel::Info, "b"),
            line(2, LogLevel::Info, "c"),
            line(3, LogLevel::Info, "d"),
        ])));
        let seqs: Vec<u64> = p.lines.iter().map(|l| l.seq).collect();
        assert_eq!(seqs, vec![0, 1, 2, 3, 4]);
        assert_eq!(p.next, Some(5), "the cursor never goes back");
    }

    #[test]
    fn the_level_filter_hides_the_less_severe_and_cycles() {
        let mut p = pane();
        assert_eq!(p.visible().len(), 5);
        p.cycle_level();
        assert_eq!(p.min_level, LogLevel::Info);
        assert_eq!(p.visible().len(), 3);
        p.cycle_level();
        p.cycle_level();
        assert_eq!(p.min_level, LogLevel::Warning);
        let v: Vec<&str> = p.visible().iter().map(|l| l.text.as_str()).collect();
        assert_eq!(v, vec!["disk full", "slow disk"]);
        // Paused on a hidden line: the bottom is the last shown before it.
        p.anchor = Some(3);
        assert_eq!(bottom_text(&p), "disk full");
        for _ in 0..5 {
            p.cycle_level();
        }
        assert_eq!(p.min_level, LogLevel::Debug);
    }

    #[test]
    fn search_finds_the_newest_match_then_steps_both_ways_wrapping() {
        let mut p = pane();
        p.set_search("DISK");
        assert_eq!(bottom_text(&p), "slow disk");
        assert!(p.find_next(false));
        assert_eq!(bottom_text(&p), "disk full");
        assert!(p.find_next(false), "wraps round");
        assert_eq!(bottom_text(&p), "slow disk");
        assert!(p.find_next(true));
        assert_eq!(bottom_text(&p), "disk full");
        p.set_search("stderr");
        assert!(p.anchor.is_some(), "the source is searched too");
        p.set_search("nothing like it");
        assert!(!p.find_next(true));
    }

    #[test]
    fn memory_is_bounded_and_what_fell_out_is_counted() {
        let mut p = LogsPane::default();
        let many: Vec<LogLine> = (0..(LOG_CAP as u64 + 10))
            .map(|i| line(i, LogLevel::Info, "x"))
            .collect();
        p.loaded(Ok(LogPage {
            lines: many,
            next: LOG_CAP as u64 + 10,
            missed: 3,
            reset: false,
        }));
        assert_eq!(p.lines.len(), LOG_CAP);
        assert_eq!(p.missed, 13);
        p.loaded(Err(PlatformError::Unavailable("host gone".into())));
        assert_eq!(p.lines.len(), LOG_CAP, "an error keeps what was read");
        assert!(p.error.is_some());
    }
}
