//! The Detail page: one instance's tabs (the Tools pane is in
//! [`super::tools`], the Logs pane in [`super::logs`], the History pane in
//! [`super::history`], the Resources and Prompts panes in
//! [`super::surface`]).

use super::*;
use crate::platform::ToolError;

/// Pretty json_spec with every secret-looking value masked, for the screen;
/// `secret_ref:NAME` references stay readable (they are not secrets).
pub fn masked_spec(i: &Instance) -> String {
    let v = spec::mask_secret_values(&serde_json::Value::Object(i.json_spec.clone()));
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailTab {
    Overview,
    Spec,
    Events,
    Tools,
    Logs,
    Resources,
    Prompts,
    History,
}

impl DetailTab {
    pub const ALL: [DetailTab; 8] = [
        DetailTab::Overview,
        DetailTab::Spec,
        DetailTab::Events,
        DetailTab::Tools,
        DetailTab::Logs,
        DetailTab::Resources,
        DetailTab::Prompts,
        DetailTab::History,
    ];
    pub fn title(self) -> &'static str {
        match self {
            DetailTab::Overview => "Overview",
            DetailTab::Spec => "json_spec",
            DetailTab::Events => "Events",
            DetailTab::Tools => "Tools",
            DetailTab::Logs => "Logs",
            DetailTab::Resources => "Resources",
            DetailTab::Prompts => "Prompts",
            DetailTab::History => "History",
        }
    }
    pub(super) fn index(self) -> usize {
        DetailTab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

#[derive(Debug, Clone)]
pub struct DetailState {
    pub id: Uuid,
    pub tab: DetailTab,
    /// This instance's events, oldest first.
    pub events: Vec<Arc<Envelope>>,
    pub loading: bool,
    /// Why the history could not be read.
    pub load_error: Option<PlatformError>,
    /// Selected event (Events tab).
    pub selected: usize,
    /// Scroll of text tabs.
    pub scroll: u16,
    pub tools: ToolsPane,
    pub logs: LogsPane,
    /// The server's identity, resources and prompts.
    pub surface: SurfacePane,
    /// The recorded calls (History tab).
    pub calls: HistoryPane,
    /// Which replica hosts the instance (Overview), where instances are
    /// shared by lease.
    pub hosting: HostingLine,
}

/// The Overview's "hosted by" line: asked every second while the Overview
/// shows, one read at a time, until the backend says instances are not
/// shared by lease.
#[derive(Debug, Clone, Default)]
pub struct HostingLine {
    /// The last answer: `Some(None)` not shared by lease (nothing shown);
    /// an error is shown as the line.
    pub known: Option<Result<Option<crate::platform::Hosting>, PlatformError>>,
    pub asking: bool,
}

/// Why a pane on the instance page shows no answer. Each displays as the
/// one sentence the pane shows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PaneError {
    /// The platform's answer.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// The server's answer was too large to keep: the runtime's message.
    #[error("{0}")]
    TooLarge(String),
    /// The instance is on its way up: the tab loads once it runs.
    #[error("the instance is {}; this tab loads once it runs", .0.as_str())]
    Starting(Status),
    /// The instance does not run: how to start it and ask again (the keys).
    #[error(
        "the instance is {}; start it ({start}); this tab loads once it runs ({refresh} asks again)",
        .status.as_str()
    )]
    NotRunning {
        status: Status,
        start: String,
        refresh: String,
    },
    /// The arguments typed are not JSON.
    #[error("the arguments are not valid JSON (line {line} column {column}); nothing was sent")]
    NotJson { line: usize, column: usize },
    /// The arguments do not fit what the server listed.
    #[error("{0}; nothing was sent")]
    NotSent(ToolError),
    /// The operator cancelled the call (the server was told).
    #[error("cancelled after {0}s (the server was sent notifications/cancelled)")]
    Cancelled(i64),
}

impl DetailState {
    /// The page of instance `id`, showing `events` (those the console
    /// already has), on the Overview tab, its history on its way.
    pub fn new(id: Uuid, events: Vec<Arc<Envelope>>) -> DetailState {
        DetailState {
            id,
            tab: DetailTab::Overview,
            selected: events.len().saturating_sub(1),
            events,
            loading: true,
            load_error: None,
            scroll: 0,
            tools: ToolsPane::default(),
            logs: LogsPane::default(),
            surface: SurfacePane::default(),
            calls: HistoryPane::default(),
            hosting: HostingLine::default(),
        }
    }

    /// The instance's history arrived: merged with the events it has, up
    /// to `until` when looking at the past.
    pub fn history_loaded(
        &mut self,
        result: Result<Vec<Envelope>, PlatformError>,
        until: Option<DateTime<Utc>>,
    ) {
        self.loading = false;
        match result {
            Ok(list) => {
                let mut seen: HashSet<String> =
                    self.events.iter().map(|e| e.event_id.clone()).collect();
                let mut all: Vec<Arc<Envelope>> = list
                    .into_iter()
                    .filter(|e| until.is_none_or(|u| e.timestamp <= u))
                    .filter(|e| seen.insert(e.event_id.clone()))
                    .map(Arc::new)
                    .collect();
                all.append(&mut self.events);
                all.sort_by_key(|e| e.timestamp);
                self.events = all;
            }
            Err(e) => self.load_error = Some(e),
        }
    }

    /// A live event of this instance: appended once, followed when the
    /// selection was on the last one.
    pub fn event_arrived(&mut self, env: &Arc<Envelope>) {
        if self.events.iter().any(|e| e.event_id == env.event_id) {
            return;
        }
        let at_end = self.selected + 1 >= self.events.len();
        self.events.push(env.clone());
        if self.events.len() > STREAM_CAP {
            self.events.remove(0);
            self.selected = self.selected.saturating_sub(1);
        }
        if at_end {
            self.selected = self.events.len() - 1;
        }
    }
}

impl App {
    pub(super) fn open_detail(&mut self) -> Vec<Command> {
        let Some(id) = self.instances.selected_id else {
            return Vec::new();
        };
        let until = self.travel.as_ref().map(|t| t.at);
        let events: Vec<Arc<Envelope>> = self
            .events
            .stream
            .iter()
            .filter(|it| it.instance_id() == Some(id))
            .filter_map(StreamItem::envelope)
            .filter(|e| until.is_none_or(|u| e.timestamp <= u))
            .collect();
        self.screens
            .push(Screen::Detail(Box::new(DetailState::new(id, events))));
        vec![Command::LoadHistory(id)]
    }

    pub(super) fn open_raw_detail(&mut self) {
        if let Screen::Detail(d) = self.screen()
            && d.tab == DetailTab::Events
            && let Some(e) = d.events.get(d.selected)
        {
            self.overlay = Some(Overlay::Raw {
                title: format!("event {}", e.event_id),
                text: raw_envelope(e),
                pager: Default::default(),
            });
        }
    }

    /// The page on top, when it is a Detail page (keys act on it).
    pub(super) fn detail_mut(&mut self) -> Option<&mut DetailState> {
        match self.screens.last_mut() {
            Some(Screen::Detail(d)) => Some(d),
            _ => None,
        }
    }

    /// The Detail pages of instance `id`, wherever they are in the stack
    /// (a result goes to the page that asked; none left, it is dropped).
    pub(super) fn details_of(&mut self, id: Uuid) -> impl Iterator<Item = &mut DetailState> {
        self.screens.iter_mut().filter_map(move |s| match s {
            Screen::Detail(d) if d.id == id => Some(&mut **d),
            _ => None,
        })
    }

    /// Ask which replica hosts the instance while its Overview shows.
    pub(super) fn hosting_tick(&mut self) -> Vec<Command> {
        match self.detail_mut() {
            Some(d)
                if d.tab == DetailTab::Overview
                    && !d.hosting.asking
                    && !matches!(d.hosting.known, Some(Ok(None))) =>
            {
                d.hosting.asking = true;
                vec![Command::LoadHosting(d.id)]
            }
            _ => Vec::new(),
        }
    }

    /// Deliver a result to the Detail page of instance `id` that asked.
    pub(super) fn deliver_to_detail(
        &mut self,
        id: Uuid,
        deliver: impl FnOnce(&mut DetailState),
    ) -> Vec<Command> {
        if let Some(d) = self.details_of(id).last() {
            deliver(d);
        }
        self.dirty = true;
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures;

    fn page_and_events() -> (DetailState, Vec<Envelope>) {
        let list = fixtures::instances();
        let id = list[0].id;
        let mine: Vec<Envelope> = fixtures::events(&list)
            .into_iter()
            .filter(|e| e.instance_id() == Some(id))
            .collect();
        assert!(!mine.is_empty(), "the fixture has events of instance 0");
        (DetailState::new(id, Vec::new()), mine)
    }

    #[test]
    fn history_merges_with_what_the_page_has_once_each_in_time_order() {
        let (mut d, mine) = page_and_events();
        d.event_arrived(&Arc::new(mine[0].clone()));
        d.history_loaded(Ok(mine.clone()), None);
        assert!(!d.loading);
        assert_eq!(
            d.events.len(),
            mine.len(),
            "an event the page had is not doubled"
        );
        assert!(
            d.events
                .windows(2)
                .all(|w| w[0].timestamp <= w[1].timestamp)
        );
    }

    #[test]
    fn history_while_looking_at_the_past_stops_at_the_moment() {
        let (mut d, mine) = page_and_events();
        let before_all = mine[0].timestamp - chrono::Duration::seconds(1);
        d.history_loaded(Ok(mine), Some(before_all));
        assert!(d.events.is_empty());
    }

    #[test]
    fn a_live_event_is_followed_only_from_the_last_row() {
        let (mut d, mine) = page_and_events();
        let e = Arc::new(mine[0].clone());
        d.event_arrived(&e);
        d.event_arrived(&e);
        assert_eq!(d.events.len(), 1, "the same event twice is kept once");
        assert_eq!(d.selected, 0);
    }

    #[test]
    fn a_pane_error_says_the_sentence_the_pane_shows() {
        let said = |e: PaneError| e.to_string();
        assert_eq!(
            said(PaneError::Starting(Status::Starting)),
            "the instance is starting; this tab loads once it runs"
        );
        assert_eq!(
            said(PaneError::NotRunning {
                status: Status::Stopped,
                start: "s".into(),
                refresh: "r/F5".into(),
            }),
            "the instance is stopped; start it (s); this tab loads once it runs (r/F5 asks again)"
        );
        assert_eq!(
            said(PaneError::NotJson { line: 2, column: 7 }),
            "the arguments are not valid JSON (line 2 column 7); nothing was sent"
        );
        assert_eq!(
            said(PaneError::NotSent(ToolError::Request(
                "no such prompt".into()
            ))),
            "no such prompt; nothing was sent"
        );
        assert_eq!(
            said(PlatformError::Unavailable("gone".into()).into()),
            "gone"
        );
    }

    #[test]
    fn panes_take_their_results() {
        let mut t = ToolsPane {
            selected: 3,
            calling: true,
            ..ToolsPane::default()
        };
        t.loaded(Err(PlatformError::Unavailable("no tools here".into())));
        assert_eq!(t.selected, 0);
        assert!(matches!(&t.list, Some(Err(e)) if e.to_string().contains("no tools here")));
        t.called(Err(PlatformError::Unavailable("gone".into())));
        assert!(!t.calling);
        assert_eq!(t.result_text().as_deref(), Some("gone"));
    }
}
