//! All console state and its pure update function.
//!
//! [`App::update`] takes a [`Msg`] (a key, a platform event, a task result,
//! a tick) and returns the [`Command`]s the runner must perform (platform
//! calls, file I/O). Nothing here awaits or touches the terminal, so views
//! render from hand-built state in tests.

use super::conflict::{Base, ConflictOutcome, ConflictScreen, Theirs};
use super::drafts::{Draft, DraftPrompt, DraftPromptOutcome};
use super::editor::{Editor, EditorMode, EditorOutcome};
use super::filter::{Filter, Subject};
use super::keymap::{Action, Keymap, View};
use super::quit::{Ending, QuitOutcome, QuitPrompt};
use super::templates::{PickerOutcome, TemplatePicker};
use super::theme::Theme;
use crate::domain::probe::{probe_applies, shown_status, status_rank};
use crate::domain::projection::{Applied, ChangedFields, Projection};
use crate::domain::spec::{self, mask_secrets, redact_plain_secrets};
use crate::domain::{Envelope, Instance, InstancePatch, NewInstance, Precondition, Probe, Status};
use crate::platform::{
    BackendInfo, PlatformError, PlatformEvent, RuntimeHost, SourceState, StreamWindow,
    ToolCallResult, ToolInfo,
};
use chrono::{DateTime, Duration, Utc};
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;
use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use uuid::Uuid;

/// How many stream items the events view keeps.
pub const STREAM_CAP: usize = 10_000;
/// How long a changed cell stays highlighted.
pub const FLASH_MS: i64 = 1500;
/// How long a toast stays.
pub const TOAST_SECS: i64 = 4;
/// Seconds of history in the events-per-second sparkline.
pub const RATE_SECS: usize = 60;
/// Above this many rows the sorted index is rebuilt at most 4 times a second.
const LARGE: usize = 20_000;

/// Something that happened, for [`App::update`].
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize,
    Tick(DateTime<Utc>),
    /// Why this terminal drops OSC 52 writes, when known (checked once,
    /// off the UI thread, at start).
    Clipboard(Option<String>),
    Platform(PlatformEvent),
    /// The subscription dropped this many events; a reload follows.
    Lagged(u64),
    Loaded(Result<Vec<Instance>, PlatformError>),
    History {
        id: Uuid,
        result: Result<Vec<Envelope>, PlatformError>,
    },
    RecentEvents(Result<Vec<Envelope>, PlatformError>),
    /// A mutation finished: the sentence for the toast.
    Done(Result<String, String>),
    /// A save from the editor finished.
    Saved(Result<Instance, PlatformError>),
    ThemeLoaded(Result<Theme, String>),
    KeymapLoaded(Result<Keymap, String>),
    /// Text pasted into the terminal.
    Paste(String),
    /// Drafts found at start.
    Drafts(Vec<Draft>),
    /// A fresh copy of an instance, to open in the editor.
    EditTarget(Result<Instance, PlatformError>),
    /// The instance as it is now, after a save hit a conflict.
    Theirs(Result<Instance, PlatformError>),
    /// A draft file could not be written or removed.
    DraftFailed(String),
    /// Something not counted as in flight finished (a dump): the toast.
    Notice(Result<String, String>),
    /// An instance's tools, for the Tools tab.
    ToolsLoaded {
        id: Uuid,
        result: Result<Vec<ToolInfo>, PlatformError>,
    },
    /// A tool call from the Tools tab finished.
    ToolCalled {
        id: Uuid,
        result: Result<ToolCallResult, PlatformError>,
    },
    /// An instance's stderr tail, for the Logs tab.
    LogsLoaded {
        id: Uuid,
        result: Result<Vec<String>, PlatformError>,
    },
    /// The runtime's last probe of each running instance.
    Probes(Result<Vec<Probe>, PlatformError>),
    /// `:ctx NAME` connected (the context's name and backend), or why not.
    ContextSwitched(Result<(String, BackendInfo), String>),
    /// Who hosts the runtime (asked at start and every few seconds).
    RuntimeHost(Option<RuntimeHost>),
    /// What the backend can do (asked once, at start).
    Profile(crate::platform::BackendProfile),
    /// The answer to a [`Command::Mcp`].
    Mcp {
        id: Uuid,
        op: crate::platform::McpOp,
        result: Result<serde_json::Value, PlatformError>,
    },
    /// A past moment to show (`:at`, `[`, `]`); `None`: no further change.
    Moment {
        ask: Ask,
        result: Result<Option<crate::domain::replay::Moment>, PlatformError>,
    },
}

impl Msg {
    /// Whether this is the result of an [`Command::awaited`] command.
    fn settles(&self) -> bool {
        match self {
            Msg::Loaded(_)
            | Msg::History { .. }
            | Msg::Done(_)
            | Msg::Saved(_)
            | Msg::EditTarget(_)
            | Msg::Theirs(_)
            | Msg::ToolCalled { .. }
            | Msg::Moment { .. } => true,
            Msg::Mcp { op, .. } => surface::waited_for(op),
            _ => false,
        }
    }
}

/// I/O for the runner to perform; results come back as [`Msg`]s.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Reload,
    LoadHistory(Uuid),
    LoadRecentEvents,
    Start(Vec<Uuid>),
    Stop(Vec<Uuid>),
    /// Stop and start each as one operation (one correlation id each).
    Restart(Vec<Uuid>),
    Delete(Vec<Uuid>),
    Create(NewInstance),
    Update {
        id: Uuid,
        patch: InstancePatch,
        expect: Precondition,
        /// The json_spec may still say `<redacted>` and the console has
        /// no stored copy to put the values back from (a draft restored
        /// from disk): read the stored copy first.
        unredact_from_stored: bool,
    },
    LoadTheme(String),
    LoadKeymap(String),
    LoadDrafts,
    SaveDraft(Draft),
    RemoveDraft(String),
    /// Fetch an instance fresh and open it in the editor.
    FetchForEdit(Uuid),
    /// Fetch an instance for the conflict screen.
    FetchTheirs(Uuid),
    /// Put text on the clipboard of the user's terminal (OSC 52, works over SSH).
    Copy(String),
    /// Write a view's rows to `dumps/<file>` in the data dir; the toast
    /// says `summary` and where.
    Dump {
        file: String,
        contents: String,
        summary: String,
    },
    LoadTools(Uuid),
    /// Call a tool (arguments already checked against its schema).
    CallTool {
        id: Uuid,
        tool: String,
        args: serde_json::Value,
    },
    LoadLogs(Uuid),
    /// Read every entry the Redis stream retains (see [`App::coverage`]).
    ReadStream,
    /// Read the runtime's last probes (not events: see [`crate::domain::probe`]).
    LoadProbes,
    /// Connect to a context and, once it answers, show its instances.
    SwitchContext(String),
    /// Ask the backend again what it can do.
    LoadProfile,
    /// Ask an instance's server about its identity, resources or prompts.
    Mcp {
        id: Uuid,
        op: crate::platform::McpOp,
    },
    /// Write bytes to `dumps/<file>` in the data dir; the toast says
    /// `summary` and where.
    SaveBytes {
        file: String,
        bytes: Vec<u8>,
        summary: String,
    },
    /// Show the instances as they were at this moment.
    OpenMoment(DateTime<Utc>),
    /// Find the previous / next moment that changed anything visible.
    StepMoment {
        at: DateTime<Utc>,
        forward: bool,
        visible: super::timetravel::Visible,
    },
    Quit,
}

impl Command {
    /// Whether its result is waited for: counted in flight (the spinner
    /// turns) from when it is sent until the [`Msg`] that settles it.
    pub fn awaited(&self) -> bool {
        match self {
            Command::Reload
            | Command::LoadHistory(_)
            | Command::FetchForEdit(_)
            | Command::FetchTheirs(_)
            | Command::CallTool { .. }
            | Command::OpenMoment(_)
            | Command::StepMoment { .. } => true,
            Command::Mcp { op, .. } => surface::waited_for(op),
            other => other.is_mutation(),
        }
    }

    /// Whether this command changes the platform.
    pub fn is_mutation(&self) -> bool {
        matches!(
            self,
            Command::Start(_)
                | Command::Stop(_)
                | Command::Restart(_)
                | Command::Delete(_)
                | Command::Create(_)
                | Command::Update { .. }
        )
    }
}

/// Instance table columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Name,
    Kind,
    Status,
    Desired,
    Health,
    Tools,
    Restarts,
    Age,
    Updated,
}

impl Column {
    pub const ALL: [Column; 9] = [
        Column::Name,
        Column::Kind,
        Column::Status,
        Column::Desired,
        Column::Health,
        Column::Tools,
        Column::Restarts,
        Column::Age,
        Column::Updated,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Name => "NAME",
            Column::Kind => "KIND",
            Column::Status => "STATUS",
            Column::Desired => "DESIRED",
            Column::Health => "HEALTH",
            Column::Tools => "TOOLS",
            Column::Restarts => "RESTARTS",
            Column::Age => "AGE",
            Column::Updated => "UPDATED",
        }
    }

    pub fn from_name(s: &str) -> Option<Column> {
        Column::ALL
            .into_iter()
            .find(|c| c.title().eq_ignore_ascii_case(s))
    }

    fn cmp(self, a: &Instance, b: &Instance) -> Ordering {
        match self {
            Column::Name => a.name.cmp(&b.name),
            Column::Kind => a.kind().cmp(&b.kind()),
            // What needs the operator first: error, unhealthy, then the rest.
            Column::Status => status_rank(shown_status(a)).cmp(&status_rank(shown_status(b))),
            Column::Desired => a.desired_state.cmp(&b.desired_state),
            // Most recently healthy first; never healthy last.
            Column::Health => b.last_healthy_at.cmp(&a.last_healthy_at),
            Column::Tools => a.tool_count.cmp(&b.tool_count),
            Column::Restarts => a.restarts.cmp(&b.restarts),
            // Youngest first, as ages read.
            Column::Age => b.created_at.cmp(&a.created_at),
            Column::Updated => b.updated_at.cmp(&a.updated_at),
        }
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.id.cmp(&b.id))
    }
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
}

impl DetailTab {
    pub const ALL: [DetailTab; 7] = [
        DetailTab::Overview,
        DetailTab::Spec,
        DetailTab::Events,
        DetailTab::Tools,
        DetailTab::Logs,
        DetailTab::Resources,
        DetailTab::Prompts,
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
        }
    }
    fn index(self) -> usize {
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
    pub load_error: Option<String>,
    /// Selected event (Events tab).
    pub selected: usize,
    /// Scroll of text tabs.
    pub scroll: u16,
    pub tools: ToolsPane,
    pub logs: LogsPane,
    /// The server's identity, resources and prompts.
    pub surface: SurfacePane,
}

/// The Tools tab: the tool list, the argument editor and the last call.
#[derive(Debug, Clone, Default)]
pub struct ToolsPane {
    /// None until loaded.
    pub list: Option<Result<Vec<ToolInfo>, String>>,
    pub selected: usize,
    /// The argument editor, while the user edits arguments.
    pub args: Option<Box<tui_textarea::TextArea<'static>>>,
    /// A call is in flight.
    pub calling: bool,
    /// The last call's outcome (or why it was not sent).
    pub result: Option<Result<ToolCallResult, String>>,
    /// The first line of the result shown (the result pane scrolls).
    pub result_scroll: usize,
    /// What `/` searches the result for; `next_match` finds the next line.
    pub search: Option<String>,
}

impl ToolsPane {
    pub fn selected_tool(&self) -> Option<&ToolInfo> {
        match &self.list {
            Some(Ok(l)) => l.get(self.selected),
            _ => None,
        }
    }

    /// The result as the pane shows it: the text, or the sentence of why not.
    pub fn result_text(&self) -> Option<&str> {
        match &self.result {
            Some(Ok(out)) => Some(out.text.as_str()),
            Some(Err(e)) => Some(e.as_str()),
            None => None,
        }
    }

    /// Scroll to the first line at or after `from` (wrapping) that holds
    /// the search term; false when no line does.
    pub fn find_from(&mut self, from: usize) -> bool {
        let Some(term) = self.search.as_deref().filter(|t| !t.is_empty()) else {
            return false;
        };
        let term = term.to_lowercase();
        let Some(text) = self.result_text() else {
            return false;
        };
        let lines: Vec<&str> = text.lines().collect();
        let n = lines.len();
        let hit = (0..n)
            .map(|k| (from + k) % n.max(1))
            .find(|i| lines[*i].to_lowercase().contains(&term));
        match hit {
            Some(i) => {
                self.result_scroll = i;
                true
            }
            None => false,
        }
    }
}

/// The Logs tab: the stderr tail.
#[derive(Debug, Clone, Default)]
pub struct LogsPane {
    /// None until loaded.
    pub lines: Option<Result<Vec<String>, String>>,
    /// A refresh is in flight.
    pub loading: bool,
}

/// Arguments to start from for a tool: its required properties with an
/// empty value of their type, pretty-printed (`{}` when none).
pub fn args_skeleton(schema: &serde_json::Value) -> String {
    use serde_json::{Map, Value};
    let mut m = Map::new();
    let props = schema.get("properties");
    if let Some(req) = schema.get("required").and_then(Value::as_array) {
        for name in req.iter().filter_map(Value::as_str) {
            let ty = props
                .and_then(|p| p.get(name))
                .and_then(|p| p.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let v = match ty {
                "string" => Value::String(String::new()),
                "number" | "integer" => Value::from(0),
                "boolean" => Value::Bool(false),
                "array" => Value::Array(Vec::new()),
                "object" => Value::Object(Map::new()),
                _ => Value::Null,
            };
            m.insert(name.to_string(), v);
        }
    }
    if m.is_empty() {
        return "{}".into();
    }
    serde_json::to_string_pretty(&Value::Object(m)).unwrap_or_else(|_| "{}".into())
}

/// The editor and, when a save hit a conflict, the conflict screen.
#[derive(Debug, Clone)]
pub struct EditSession {
    pub editor: Editor,
    pub conflict: Option<ConflictScreen>,
    /// A save is in flight.
    pub saving: bool,
    /// The instance's name and description when the edit started (the
    /// conflict screen shows which of them changed meanwhile).
    pub base_fields: Option<(String, Option<String>)>,
    /// The stored json_spec the text is based on, unredacted (saving puts
    /// its values back where the text says `<redacted>`); `None` for a new
    /// instance or a draft restored from disk.
    pub original: Option<serde_json::Value>,
    /// The stored json_spec of their copy, while a conflict is shown: the
    /// new original once the edit is based on theirs.
    pub theirs_original: Option<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub enum Screen {
    Instances,
    Detail(Box<DetailState>),
    Events,
    Picker(TemplatePicker),
    Editor(Box<EditSession>),
}

impl Screen {
    pub fn view(&self) -> View {
        match self {
            Screen::Instances => View::Instances,
            Screen::Detail(_) => View::Detail,
            Screen::Events => View::Events,
            Screen::Picker(_) | Screen::Editor(_) => View::Editor,
        }
    }
}

/// One line of text being typed (`:` or `/`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    pub text: String,
    /// What tab offered when more than one thing fits.
    pub candidates: Vec<String>,
}

/// What a confirmation would do.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    Delete(Vec<Uuid>),
    Stop(Vec<Uuid>),
    /// A tool not marked read-only, with the arguments already checked.
    CallTool {
        id: Uuid,
        tool: String,
        args: serde_json::Value,
    },
    Restart(Vec<Uuid>),
}

#[derive(Debug, Clone)]
pub struct Confirm {
    pub title: String,
    /// Names what will be affected.
    pub lines: Vec<String>,
    pub pending: Pending,
    /// Whether the "yes" button has focus (default: no).
    pub yes_focused: bool,
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help {
        scroll: u16,
    },
    Command(LineInput),
    Filter {
        input: LineInput,
        before: String,
    },
    Confirm(Confirm),
    Raw {
        title: String,
        text: String,
        scroll: u16,
    },
    Drafts(DraftPrompt),
    /// Quitting while instances run under this console.
    Quit(QuitPrompt),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Ok,
    Error,
}

#[derive(Debug, Clone)]
pub struct Toast {
    pub text: String,
    pub level: Level,
    pub until: DateTime<Utc>,
}

/// One item of the live stream.
#[derive(Debug, Clone)]
pub enum StreamItem {
    Event(Arc<Envelope>),
    Malformed {
        at: DateTime<Utc>,
        source: String,
        raw: String,
        error: String,
    },
}

/// Where the instance rows were drawn, for mouse hits (set by the view).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Geometry {
    pub rows: Rect,
    pub first: usize,
    /// The header row's y and each visible column's x range.
    pub header_y: u16,
    pub columns: [Option<(u16, u16, Column)>; 9],
}

pub struct App {
    pub theme: Theme,
    pub keymap: Keymap,
    pub backend: BackendInfo,
    pub source: SourceState,
    pub now: DateTime<Utc>,
    pub projection: Projection,
    /// Whether the first `list` has answered.
    pub loaded: bool,
    pub screens: Vec<Screen>,
    pub overlay: Option<Overlay>,

    // Instances table.
    /// Sorted, filtered ids: the table's rows.
    pub rows: Vec<Uuid>,
    rows_dirty: bool,
    rows_built_at: Option<DateTime<Utc>>,
    pub sort: Column,
    pub sort_reverse: bool,
    pub filter: Filter,
    pub selected: usize,
    selected_id: Option<Uuid>,
    pub offset: Cell<usize>,
    pub marked: HashSet<Uuid>,
    /// Recently changed instances: until when, and what changed.
    pub flash: HashMap<Uuid, (DateTime<Utc>, ChangedFields)>,
    pub geometry: Cell<Geometry>,
    /// The terminal size at the last frame.
    pub size: Cell<(u16, u16)>,
    /// How far help can scroll before its last line leaves the bottom (set
    /// by the view).
    pub help_max: Cell<u16>,

    // Events view.
    pub stream: VecDeque<StreamItem>,
    pub follow: bool,
    pub stream_selected: usize,
    pub stream_filter: Filter,
    pub malformed: u64,
    pub stream_offset: Cell<usize>,

    // Header.
    /// Events per second, oldest first; the last entry is the current second.
    pub rate: VecDeque<u64>,
    rate_second: i64,

    pub toast: Option<Toast>,
    /// Why this terminal drops OSC 52 clipboard writes, when known
    /// ([`super::clipboard`]); copy then says so instead of "copied".
    pub clipboard_refusal: Option<String>,
    /// The runtime's last probe per running instance, replaced by every
    /// read (an instance that stopped drops out).
    pub probes: HashMap<Uuid, Probe>,
    /// Why this backend reports no probes, once it said so (HEALTH then
    /// shows the stored last healthy time).
    pub probes_off: Option<String>,
    probing: bool,
    pub in_flight: usize,
    pub spinner: usize,
    pub dirty: bool,
    pub quit: bool,
    /// What happens to the instances this console runs once it quits.
    pub ending: Ending,
    /// Who hosts the runtime, once known (the header shows it).
    pub runtime_host: Option<RuntimeHost>,
    reloading: bool,
    follow_pending: bool,
    /// Events received while a reload is in flight.
    since_reload: Vec<Arc<Envelope>>,
    /// How much of the Redis stream the watcher read, when one runs.
    pub stream_window: Option<StreamWindow>,
    /// The ids the last `list` answered (the platform's own instances);
    /// the others are known only from the stream.
    pub listed: HashSet<Uuid>,
    /// How many instances are known only from the stream (counted when
    /// the rows are rebuilt, not every frame).
    stream_only: usize,

    // Contexts (`:ctx`).
    /// The contexts the config file defines.
    pub contexts: Vec<crate::config::ContextSummary>,
    /// The current context's name; `None`: the platform the console
    /// started on, unnamed.
    pub context: Option<String>,
    /// The context named at start (`--context`), if any.
    started_as: Option<String>,
    /// What the console started on, in words (for `:ctx`).
    started_on: String,
    /// What the backend can do, once known.
    pub profile: Option<crate::platform::BackendProfile>,
    /// Names more than one instance has (a backend that allows that): the
    /// table marks them, and actions go by id only.
    pub dup_names: HashSet<String>,
    /// Looking at a past moment (`:at`); `None`: live.
    travel: Option<Box<Travel>>,
}

mod goto;
mod surface;
mod travel;
pub use goto::START_CONTEXT;
pub use surface::{Field, Pager, PromptForm, SurfacePane};
pub use travel::{Ask, Travel};

fn plain_key(k: &KeyEvent) -> Option<char> {
    match k.code {
        KeyCode::Char(c)
            if !k
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(c)
        }
        _ => None,
    }
}

/// Names for a confirmation: up to 5, then "and N more".
pub fn name_list(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = names.iter().take(5).map(|n| format!("  {n}")).collect();
    if names.len() > 5 {
        out.push(format!("  and {} more", names.len() - 5));
    }
    out
}

/// The raw envelope as pretty JSON, with secret-looking values masked.
pub fn raw_envelope(env: &Envelope) -> String {
    let mut v = serde_json::to_value(env).unwrap_or(serde_json::Value::Null);
    if let Some(data) = v.get_mut("data") {
        *data = mask_secrets(data);
    }
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

impl App {
    pub fn new(theme: Theme, keymap: Keymap, backend: BackendInfo, now: DateTime<Utc>) -> App {
        App {
            theme,
            keymap,
            backend,
            source: SourceState::Off,
            now,
            projection: Projection::new(),
            loaded: false,
            screens: vec![Screen::Instances],
            overlay: None,
            rows: Vec::new(),
            rows_dirty: true,
            rows_built_at: None,
            sort: Column::Name,
            sort_reverse: false,
            filter: Filter::default(),
            selected: 0,
            selected_id: None,
            offset: Cell::new(0),
            marked: HashSet::new(),
            flash: HashMap::new(),
            geometry: Cell::new(Geometry::default()),
            size: Cell::new((80, 24)),
            help_max: Cell::new(u16::MAX),
            stream: VecDeque::new(),
            follow: true,
            stream_selected: 0,
            stream_filter: Filter::default(),
            malformed: 0,
            stream_offset: Cell::new(0),
            rate: VecDeque::from(vec![0; RATE_SECS]),
            rate_second: now.timestamp(),
            toast: None,
            clipboard_refusal: None,
            probes: HashMap::new(),
            probes_off: None,
            probing: false,
            in_flight: 0,
            spinner: 0,
            dirty: true,
            quit: false,
            ending: Ending::Stop,
            runtime_host: None,
            reloading: false,
            follow_pending: false,
            since_reload: Vec::new(),
            stream_window: None,
            listed: HashSet::new(),
            stream_only: 0,
            contexts: Vec::new(),
            context: None,
            started_as: None,
            started_on: String::new(),
            profile: None,
            dup_names: HashSet::new(),
            travel: None,
        }
    }

    /// The commands to run once at start.
    pub fn init(&mut self) -> Vec<Command> {
        self.reloading = true;
        self.count_tasks(vec![
            Command::Reload,
            Command::LoadRecentEvents,
            Command::LoadDrafts,
        ])
    }

    /// Count the commands about to be performed whose results are waited
    /// for: the one place tasks enter [`App::in_flight`] (a result leaves
    /// it in [`App::update`]).
    fn count_tasks(&mut self, cmds: Vec<Command>) -> Vec<Command> {
        self.in_flight += cmds.iter().filter(|c| c.awaited()).count();
        cmds
    }

    pub fn read_only(&self) -> bool {
        self.backend.read_only
    }

    pub fn screen(&self) -> &Screen {
        // Invariant: `screens` is never empty (Back never pops the last one).
        self.screens.last().unwrap_or(&Screen::Instances)
    }

    pub fn view(&self) -> View {
        self.screen().view()
    }

    /// Replace all instances (a fresh `list`).
    pub fn load(&mut self, instances: Vec<Instance>) {
        // Events that arrived while the list was on its way may be newer
        // than it: apply them over the fresh snapshot (stale ones are
        // ignored by their aggregate version).
        self.listed = instances.iter().map(|i| i.id).collect();
        let mut fresh = Projection::new();
        fresh.seed(instances);
        for e in self.since_reload.drain(..) {
            fresh.apply(&e);
        }
        self.projection = fresh;
        self.loaded = true;
        self.rows_dirty = true;
        self.rows_built_at = None;
        self.dirty = true;
    }

    /// Rebuild the sorted, filtered index if it is stale. Called once
    /// before each frame, so a burst of events costs one sort.
    pub fn prepare(&mut self) {
        if std::mem::take(&mut self.follow_pending) && self.follow {
            self.stream_selected = self.stream_rows().len().saturating_sub(1);
        }
        if !self.rows_dirty {
            return;
        }
        if self.projection.len() > LARGE
            && let Some(at) = self.rows_built_at
            && self.now - at < Duration::milliseconds(250)
            && !self.rows.is_empty()
        {
            return;
        }
        self.rebuild_rows();
    }

    /// Names several instances have, where the backend allows that (a
    /// backend with unique names is not searched).
    fn duplicate_names(&self) -> HashSet<String> {
        if self.profile.as_ref().is_none_or(|p| p.unique_names) {
            return HashSet::new();
        }
        let mut seen: HashSet<&str> = HashSet::new();
        self.projection
            .instances()
            .filter(|i| !seen.insert(i.name.as_str()))
            .map(|i| i.name.clone())
            .collect()
    }

    /// Whether to speak of `i`'s version: the platform keeps versions (as
    /// far as its profile says) and `i` has one. AgentArea keeps none; its
    /// `updated_at` names the copy.
    pub fn shows_version(&self, i: &Instance) -> bool {
        i.version > 0 && self.profile.as_ref().is_none_or(|p| p.versions)
    }

    /// Whether the backend has `route` (assumed until the profile says).
    pub fn backend_has(&self, route: crate::platform::profile::Route) -> bool {
        self.profile.as_ref().is_none_or(|p| p.has(route))
    }

    fn rebuild_rows(&mut self) {
        let filter = &self.filter;
        let mut rows: Vec<&Instance> = self
            .projection
            .instances()
            .filter(|i| !i.name.is_empty() && instance_matches(filter, i))
            .collect();
        let col = self.sort;
        if col == Column::Kind {
            // The kind is detected from the json_spec: once per row, not per comparison.
            rows.sort_by_cached_key(|i| (i.kind(), i.name.clone(), i.id));
        } else if col == Column::Health {
            // Most recently healthy first, by the live probes where there are.
            let probes = &self.probes;
            let healthy = |i: &Instance| {
                probes
                    .get(&i.id)
                    .filter(|_| probe_applies(i))
                    .and_then(|p| p.last_ok_at)
                    .or(i.last_healthy_at)
            };
            rows.sort_by(|a, b| {
                healthy(b)
                    .cmp(&healthy(a))
                    .then_with(|| a.name.cmp(&b.name))
                    .then_with(|| a.id.cmp(&b.id))
            });
        } else {
            rows.sort_unstable_by(|a, b| col.cmp(a, b));
        }
        if self.sort_reverse {
            rows.reverse();
        }
        self.rows = rows.into_iter().map(|i| i.id).collect();
        if self.stream_window.is_some() {
            self.stream_only = self
                .projection
                .instances()
                .filter(|i| !i.name.is_empty() && !self.listed.contains(&i.id))
                .count();
        }
        self.dup_names = self.duplicate_names();
        self.rows_dirty = false;
        self.rows_built_at = Some(self.now);
        self.marked.retain(|id| self.projection.get(id).is_some());
        if let Some(id) = self.selected_id
            && let Some(pos) = self.rows.iter().position(|r| *r == id)
        {
            self.selected = pos;
        }
        self.clamp_selection();
    }

    /// Whether a change of `fields` on a row already in the table can move
    /// it or hide it. A status flap under the default name sort cannot, so
    /// it costs no re-sort (at 100k rows a re-sort is tens of milliseconds).
    fn order_depends_on(&self, fields: ChangedFields) -> bool {
        if fields.config || !self.filter.is_empty() {
            return true;
        }
        match self.sort {
            Column::Status | Column::Health | Column::Tools | Column::Restarts => fields.status,
            Column::Desired => fields.desired,
            Column::Name | Column::Kind | Column::Age | Column::Updated => false,
        }
    }

    fn clamp_selection(&mut self) {
        if self.rows.is_empty() {
            self.selected = 0;
        } else if self.selected >= self.rows.len() {
            self.selected = self.rows.len() - 1;
        }
        self.selected_id = self.rows.get(self.selected).copied();
    }

    pub fn selected_instance(&self) -> Option<&Instance> {
        self.rows
            .get(self.selected)
            .and_then(|id| self.projection.get(id))
    }

    /// Marked rows, or the selected one when none is marked.
    fn targets(&self) -> Vec<Uuid> {
        if self.marked.is_empty() {
            self.selected_id.into_iter().collect()
        } else {
            let mut v: Vec<Uuid> = self
                .rows
                .iter()
                .filter(|id| self.marked.contains(id))
                .copied()
                .collect();
            // Marked rows hidden by the filter still count.
            for id in &self.marked {
                if !v.contains(id) {
                    v.push(*id);
                }
            }
            v
        }
    }

    fn names(&self, ids: &[Uuid]) -> Vec<String> {
        ids.iter()
            .filter_map(|id| self.projection.get(id).map(|i| i.name.clone()))
            .collect()
    }

    pub fn toast(&mut self, level: Level, text: impl Into<String>) {
        self.toast = Some(Toast {
            text: text.into(),
            level,
            until: self.now + Duration::seconds(TOAST_SECS),
        });
        self.dirty = true;
    }

    /// The stream items the events view shows (indices into `stream`).
    pub fn stream_rows(&self) -> Vec<usize> {
        if self.stream_filter.is_empty() {
            return (0..self.stream.len()).collect();
        }
        self.stream
            .iter()
            .enumerate()
            .filter(|(_, it)| stream_matches(&self.stream_filter, it, &self.projection))
            .map(|(i, _)| i)
            .collect()
    }

    /// Counts per status, in `Status::ALL` order.
    pub fn counts(&self) -> [usize; 8] {
        let mut c = [0; 8];
        for i in self.projection.instances() {
            let st = shown_status(i);
            if let Some(p) = Status::ALL.iter().position(|s| *s == st) {
                c[p] += 1;
            }
        }
        c
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        if msg.settles() {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
        let cmds = self.route(msg);
        self.count_tasks(cmds)
    }

    fn route(&mut self, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Tick(now) => self.tick(now),
            Msg::Mcp { id, op, result } => self.surface_answer(id, op, result),
            Msg::ToolsLoaded { id, result } => {
                if let Some(Screen::Detail(d)) = self.screens.last_mut()
                    && d.id == id
                {
                    d.tools.list = Some(result.map_err(|e| e.to_string()));
                    d.tools.selected = 0;
                }
                self.dirty = true;
                Vec::new()
            }
            Msg::ToolCalled { id, result } => {
                if let Some(Screen::Detail(d)) = self.screens.last_mut()
                    && d.id == id
                {
                    d.tools.calling = false;
                    d.tools.result = Some(result.map_err(|e| e.to_string()));
                }
                self.dirty = true;
                Vec::new()
            }
            Msg::Probes(result) => {
                self.probing = false;
                match result {
                    Ok(list) if self.probes_while_away(&list) => {}
                    Ok(list) => {
                        let fresh: HashMap<Uuid, Probe> =
                            list.into_iter().map(|p| (p.instance_id, p)).collect();
                        if fresh != self.probes {
                            self.probes = fresh;
                            self.dirty = true;
                            self.rows_dirty |= self.sort == Column::Health;
                        }
                    }
                    // This backend has none: stop asking, say so where it shows.
                    Err(PlatformError::Unavailable(why)) => {
                        self.probes.clear();
                        self.probes_off = Some(why);
                        self.dirty = true;
                    }
                    // A hiccup (the host is restarting): ask again next second.
                    Err(e) => tracing::debug!(error = %e, "cannot read health probes"),
                }
                Vec::new()
            }
            Msg::LogsLoaded { id, result } => {
                if let Some(Screen::Detail(d)) = self.screens.last_mut()
                    && d.id == id
                {
                    d.logs.loading = false;
                    d.logs.lines = Some(result.map_err(|e| e.to_string()));
                }
                self.dirty = true;
                Vec::new()
            }
            Msg::Key(k) => {
                if k.kind == KeyEventKind::Release {
                    return Vec::new();
                }
                self.dirty = true;
                self.key(k)
            }
            Msg::Mouse(m) => self.mouse(m),
            Msg::Resize => {
                self.dirty = true;
                Vec::new()
            }
            Msg::Platform(ev) => self.platform(ev),
            Msg::Lagged(n) => {
                tracing::warn!(dropped = n, "console fell behind the event stream");
                self.dirty = true;
                self.reload()
            }
            Msg::Loaded(r) => {
                self.reloading = false;
                match r {
                    Ok(mut list) => {
                        if !self.list_while_away(&mut list) {
                            self.load(list);
                        }
                    }
                    Err(e) => {
                        self.since_reload.clear();
                        self.toast(Level::Error, format!("could not list instances: {e}"))
                    }
                }
                self.dirty = true;
                Vec::new()
            }
            Msg::History { id, result } => {
                // Looking at the past: its history up to the moment shown.
                let until = self.travel.as_ref().map(|t| t.at);
                if let Some(Screen::Detail(d)) = self.screens.last_mut()
                    && d.id == id
                {
                    d.loading = false;
                    match result {
                        Ok(list) => {
                            let mut seen: HashSet<String> =
                                d.events.iter().map(|e| e.event_id.clone()).collect();
                            let mut all: Vec<Arc<Envelope>> = list
                                .into_iter()
                                .filter(|e| until.is_none_or(|u| e.timestamp <= u))
                                .filter(|e| seen.insert(e.event_id.clone()))
                                .map(Arc::new)
                                .collect();
                            all.append(&mut d.events);
                            all.sort_by_key(|e| e.timestamp);
                            d.events = all;
                        }
                        Err(e) => d.load_error = Some(e.to_string()),
                    }
                }
                self.dirty = true;
                Vec::new()
            }
            Msg::RecentEvents(r) => {
                match r {
                    Ok(list) => {
                        let seen: HashSet<&str> = self
                            .stream
                            .iter()
                            .filter_map(|it| match it {
                                StreamItem::Event(e) => Some(e.event_id.as_str()),
                                _ => None,
                            })
                            .collect();
                        let old: Vec<StreamItem> = list
                            .into_iter()
                            .filter(|e| !seen.contains(e.event_id.as_str()))
                            .map(|e| StreamItem::Event(Arc::new(e)))
                            .collect();
                        for it in old.into_iter().rev() {
                            self.stream.push_front(it);
                        }
                        while self.stream.len() > STREAM_CAP {
                            self.stream.pop_front();
                        }
                        self.follow_tail();
                    }
                    Err(e) => self.toast(Level::Error, format!("could not read events: {e}")),
                }
                self.dirty = true;
                Vec::new()
            }
            Msg::Done(r) => {
                match r {
                    Ok(t) => self.toast(Level::Ok, t),
                    Err(t) => self.toast(Level::Error, t),
                }
                Vec::new()
            }
            Msg::Saved(r) => {
                self.dirty = true;
                self.saved(r)
            }
            Msg::ContextSwitched(r) => self.context_switched(r),
            Msg::Paste(text) => {
                self.dirty = true;
                match self.screens.last_mut() {
                    Some(Screen::Editor(s)) if s.conflict.is_none() => s.editor.paste(&text),
                    Some(Screen::Detail(d))
                        if d.tab == DetailTab::Prompts && d.surface.form.is_some() =>
                    {
                        if let Some(f) = d.surface.form.as_mut() {
                            f.paste(&text);
                        }
                    }
                    _ => {
                        if let Some(Overlay::Command(i)) = &mut self.overlay {
                            i.text.push_str(&text.replace(['\n', '\r'], " "));
                        }
                    }
                }
                Vec::new()
            }
            Msg::Drafts(list) => {
                if let Some(p) = DraftPrompt::new(list) {
                    self.overlay = Some(Overlay::Drafts(p));
                    self.dirty = true;
                }
                Vec::new()
            }
            Msg::EditTarget(r) => {
                self.dirty = true;
                match r {
                    Ok(i) => {
                        let fields = (i.name.clone(), i.description.clone());
                        let original = serde_json::Value::Object(i.json_spec);
                        self.open_editor(Editor::edit(
                            i.id,
                            &i.name,
                            i.version,
                            Some(i.updated_at),
                            &redact_plain_secrets(&original),
                        ));
                        if let Some(Screen::Editor(s)) = self.screens.last_mut() {
                            s.base_fields = Some(fields);
                            s.original = Some(original);
                        }
                    }
                    Err(e) => self.toast(Level::Error, format!("cannot edit: {e}")),
                }
                Vec::new()
            }
            Msg::Theirs(r) => {
                self.dirty = true;
                if let Some(Screen::Editor(s)) = self.screens.last_mut() {
                    match r {
                        Ok(i) => {
                            let (base, base_at) = match s.editor.mode() {
                                EditorMode::Edit {
                                    version,
                                    updated_at,
                                    ..
                                } => (*version, *updated_at),
                                EditorMode::Create { .. } => (0, None),
                            };
                            let mut theirs = i.clone();
                            let stored = serde_json::Value::Object(i.json_spec);
                            if let serde_json::Value::Object(m) = redact_plain_secrets(&stored) {
                                theirs.json_spec = m;
                            }
                            s.theirs_original = Some(stored);
                            let mine = s.editor.text();
                            let mut screen = ConflictScreen::new(
                                &i.name,
                                &mine,
                                base,
                                Theirs::from_instance(&theirs),
                            );
                            if let Some(text) = s.editor.baseline() {
                                let (name, description) = s.base_fields.clone().unzip();
                                screen = screen.with_base(
                                    Base {
                                        text: text.to_string(),
                                        updated_at: base_at,
                                        name,
                                        description: description.flatten(),
                                    },
                                    &mine,
                                );
                            }
                            s.conflict = Some(screen);
                        }
                        Err(PlatformError::NotFound(_)) => {
                            s.conflict = Some(deleted_screen(&s.editor));
                        }
                        Err(e) => s.editor.set_message(
                            format!("the instance changed and cannot be read: {e}"),
                            true,
                        ),
                    }
                }
                Vec::new()
            }
            Msg::DraftFailed(e) => {
                self.toast(Level::Error, e);
                Vec::new()
            }
            Msg::Clipboard(refusal) => {
                self.clipboard_refusal = refusal;
                Vec::new()
            }
            Msg::RuntimeHost(host) => {
                if self.runtime_host != host {
                    self.runtime_host = host;
                    self.dirty = true;
                }
                Vec::new()
            }
            Msg::Moment { ask, result } => self.moment_loaded(ask, result),
            Msg::Profile(p) => {
                if let Some(note) = &p.workspace_note {
                    self.toast(Level::Error, note.clone());
                }
                self.profile = Some(p);
                self.rows_dirty = true;
                self.dirty = true;
                Vec::new()
            }
            Msg::Notice(r) => {
                match r {
                    Ok(t) => self.toast(Level::Ok, t),
                    Err(t) => self.toast(Level::Error, t),
                }
                Vec::new()
            }
            Msg::ThemeLoaded(r) => {
                match r {
                    Ok(t) => {
                        let name = t.name.clone();
                        for sc in &mut self.screens {
                            if let Screen::Editor(s) = sc {
                                s.editor.apply_theme(&t);
                            }
                        }
                        self.theme = t;
                        self.toast(Level::Ok, format!("theme {name}"));
                    }
                    Err(e) => self.toast(Level::Error, e),
                }
                Vec::new()
            }
            Msg::KeymapLoaded(r) => {
                match r {
                    Ok(k) => {
                        let name = k.name.clone();
                        for sc in &mut self.screens {
                            if let Screen::Editor(s) = sc {
                                s.editor.set_keys(&k);
                            }
                        }
                        self.keymap = k;
                        self.toast(Level::Ok, format!("keymap {name}"));
                    }
                    Err(e) => self.toast(Level::Error, e),
                }
                Vec::new()
            }
        }
    }

    fn tick(&mut self, now: DateTime<Utc>) -> Vec<Command> {
        let mut out = Vec::new();
        if let Some(Screen::Editor(s)) = self.screens.last_mut()
            && s.editor.draft_due(std::time::Instant::now())
        {
            out.push(Command::SaveDraft(s.editor.draft()));
            s.editor.mark_drafted();
        }
        let sec = now.timestamp();
        if sec != self.rate_second {
            let steps = (sec - self.rate_second).clamp(0, RATE_SECS as i64);
            for _ in 0..steps {
                self.rate.push_back(0);
                self.rate.pop_front();
            }
            self.rate_second = sec;
            // Ages and the sparkline move once a second.
            self.dirty = true;
            // Every probe refreshes HEALTH: read the last ones once a second.
            if self.probes_off.is_none() && !self.probing {
                self.probing = true;
                out.push(Command::LoadProbes);
            }
            // The Logs tab refreshes once a second while open.
            // A backend without a logs route was asked once, not every second.
            let logs_route = self.backend_has(crate::platform::profile::Route::Logs);
            if let Some(Screen::Detail(d)) = self.screens.last_mut()
                && logs_route
                && d.tab == DetailTab::Logs
                && !d.logs.loading
            {
                d.logs.loading = true;
                out.push(Command::LoadLogs(d.id));
            }
            out.extend(self.surface_tick());
        }
        self.now = now;
        if self.in_flight > 0 {
            self.spinner = self.spinner.wrapping_add(1);
            self.dirty = true;
        }
        let before = self.flash.len();
        self.flash.retain(|_, (until, _)| *until > now);
        if self.flash.len() != before {
            self.dirty = true;
        }
        if self.toast.as_ref().is_some_and(|t| t.until <= now) {
            self.toast = None;
            self.dirty = true;
        }
        if self.rows_dirty {
            self.dirty = true;
        }
        out
    }

    fn push_stream(&mut self, item: StreamItem) {
        self.stream.push_back(item);
        if self.stream.len() > STREAM_CAP {
            self.stream.pop_front();
            self.stream_selected = self.stream_selected.saturating_sub(1);
        }
        if let Some(last) = self.rate.back_mut() {
            *last += 1;
        }
    }

    /// Ask for a fresh `list`, unless one is already on its way.
    fn reload(&mut self) -> Vec<Command> {
        if self.reloading {
            return Vec::new();
        }
        self.reloading = true;
        vec![Command::Reload]
    }

    /// Keep the events view on the newest row when following; resolved in
    /// [`App::prepare`] so a burst costs one pass.
    fn follow_tail(&mut self) {
        if self.follow {
            if self.stream_filter.is_empty() {
                self.stream_selected = self.stream.len().saturating_sub(1);
            } else {
                self.follow_pending = true;
            }
        }
    }

    fn platform(&mut self, ev: PlatformEvent) -> Vec<Command> {
        self.dirty = true;
        match ev {
            PlatformEvent::Event(env) => {
                if self.event_while_away(&env) {
                    self.push_stream(StreamItem::Event(env));
                    self.follow_tail();
                    return Vec::new();
                }
                if self.reloading && self.since_reload.len() < 200_000 {
                    self.since_reload.push(env.clone());
                }
                let known = env
                    .instance_id()
                    .is_some_and(|id| self.projection.get(&id).is_some());
                match self.projection.apply(&env) {
                    Applied::Changed { id, fields } => {
                        self.flash
                            .insert(id, (self.now + Duration::milliseconds(FLASH_MS), fields));
                        if !known || self.order_depends_on(fields) {
                            self.rows_dirty = true;
                        }
                    }
                    Applied::Removed(id) => {
                        self.flash.remove(&id);
                        self.marked.remove(&id);
                        self.rows_dirty = true;
                    }
                    Applied::NeedsRefresh => {
                        self.push_stream(StreamItem::Event(env));
                        self.follow_tail();
                        return self.reload();
                    }
                    Applied::Ignored | Applied::Unknown => {}
                }
                if let Some(Screen::Detail(d)) = self.screens.last_mut()
                    && env.instance_id() == Some(d.id)
                    && !d.events.iter().any(|e| e.event_id == env.event_id)
                {
                    let at_end = d.selected + 1 >= d.events.len();
                    d.events.push(env.clone());
                    if d.events.len() > STREAM_CAP {
                        d.events.remove(0);
                        d.selected = d.selected.saturating_sub(1);
                    }
                    if at_end {
                        d.selected = d.events.len() - 1;
                    }
                }
                self.push_stream(StreamItem::Event(env));
                self.follow_tail();
                Vec::new()
            }
            PlatformEvent::Malformed { source, raw, error } => {
                self.malformed += 1;
                self.push_stream(StreamItem::Malformed {
                    at: self.now,
                    source,
                    raw,
                    error,
                });
                self.follow_tail();
                Vec::new()
            }
            PlatformEvent::Source(s) => {
                // A backend that could not say what it is at start (it was
                // down) is asked again once it answers.
                let ask = matches!(s, SourceState::Connected(_))
                    && self
                        .profile
                        .as_ref()
                        .is_some_and(|p| p.kind == crate::platform::profile::BackendKind::Unknown);
                self.source = s;
                if ask {
                    return vec![Command::LoadProfile];
                }
                Vec::new()
            }
            PlatformEvent::Refresh => self.reload(),
            PlatformEvent::Window(w) => {
                self.stream_window = Some(w);
                self.rows_dirty = true;
                Vec::new()
            }
        }
    }

    /// What the table covers when some instances are known only from the
    /// stream: how many, since when, and whether the whole stream was read
    /// (or the key that reads it). `None` when the table is the platform's
    /// own list. As of the last [`App::prepare`].
    pub fn coverage(&self) -> Option<String> {
        let w = self.stream_window.as_ref()?;
        let n = self.stream_only;
        if n == 0 {
            return None;
        }
        let since = w
            .since
            .map(|t| format!(" since {}", t.format("%H:%M")))
            .unwrap_or_default();
        let what = format!(
            "{n} instance{} seen on the stream{since}",
            if n == 1 { "" } else { "s" }
        );
        Some(if w.whole() {
            format!("{what} (all {} entries it retains)", w.retained)
        } else {
            let key = self
                .keymap
                .bindings(super::keymap::View::Instances)
                .into_iter()
                .find(|b| b.action == Action::ReadStream)
                .map_or_else(|| ":read-stream".to_string(), |b| b.label.clone());
            // Only the watcher's backfill window: the rest is on offer.
            format!("{what} · {key} reads all {} entries", w.retained)
        })
    }

    fn mouse(&mut self, m: MouseEvent) -> Vec<Command> {
        if self.overlay.is_some() {
            return Vec::new();
        }
        if let Some(Screen::Editor(s)) = self.screens.last_mut() {
            if s.conflict.is_none() {
                s.editor.handle_mouse(m);
                self.dirty = true;
            }
            return Vec::new();
        }
        let delta: isize = match m.kind {
            MouseEventKind::ScrollDown => 3,
            MouseEventKind::ScrollUp => -3,
            MouseEventKind::Down(MouseButton::Left) => {
                if let Screen::Instances = self.screen() {
                    let g = self.geometry.get();
                    if m.row == g.header_y && g.rows.height > 0 {
                        let hit = g
                            .columns
                            .iter()
                            .flatten()
                            .find(|(x0, x1, _)| m.column >= *x0 && m.column < *x1);
                        if let Some((_, _, col)) = hit {
                            // Clicking the sorted column reverses it.
                            let reverse = *col == self.sort && !self.sort_reverse;
                            self.set_sort(*col, reverse);
                            self.dirty = true;
                        }
                        return Vec::new();
                    }
                    let inside = m.column >= g.rows.x
                        && m.column < g.rows.x + g.rows.width
                        && m.row >= g.rows.y
                        && m.row < g.rows.y + g.rows.height;
                    if inside {
                        let idx = g.first + usize::from(m.row - g.rows.y);
                        if idx < self.rows.len() {
                            self.dirty = true;
                            if idx == self.selected {
                                return self.open_detail();
                            }
                            self.selected = idx;
                            self.clamp_selection();
                        }
                    }
                }
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        self.dirty = true;
        self.move_by(delta);
        Vec::new()
    }

    fn page(&self) -> isize {
        let h = self.geometry.get().rows.height;
        h.max(2) as isize - 1
    }

    fn move_by(&mut self, delta: isize) {
        if self.surface_scroll(delta) {
            return;
        }
        match self.screens.last_mut() {
            Some(Screen::Instances) => {
                let n = self.rows.len();
                if n == 0 {
                    return;
                }
                self.selected = self.selected.saturating_add_signed(delta).min(n - 1);
                self.clamp_selection();
            }
            Some(Screen::Events) => {
                let n = self.stream_rows().len();
                if n == 0 {
                    return;
                }
                self.stream_selected = self.stream_selected.saturating_add_signed(delta).min(n - 1);
                // Moving up pauses; reaching the end resumes following.
                self.follow = self.stream_selected + 1 == n && delta > 0;
            }
            Some(Screen::Detail(d)) => {
                if d.tab == DetailTab::Events {
                    let n = d.events.len();
                    if n > 0 {
                        d.selected = d.selected.saturating_add_signed(delta).min(n - 1);
                    }
                } else if d.tab == DetailTab::Tools {
                    // The wheel, top and bottom move the result pane.
                    let n = d.tools.result_text().map_or(0, |t| t.lines().count());
                    d.tools.result_scroll = d
                        .tools
                        .result_scroll
                        .saturating_add_signed(delta)
                        .min(n.saturating_sub(1));
                } else {
                    d.scroll = (d.scroll as isize + delta).clamp(0, u16::MAX as isize) as u16;
                }
            }
            _ => {}
        }
    }

    fn key(&mut self, k: KeyEvent) -> Vec<Command> {
        if let Some(ov) = self.overlay.take() {
            return self.overlay_key(ov, k);
        }
        match self.screens.last_mut() {
            Some(Screen::Picker(p)) => {
                return match p.handle_key(&self.keymap, k) {
                    PickerOutcome::None => Vec::new(),
                    PickerOutcome::Cancel => {
                        self.screens.pop();
                        Vec::new()
                    }
                    PickerOutcome::Chosen(t) => {
                        self.screens.pop();
                        let editor = Editor::create(t).with_create_rules(self.profile.as_ref());
                        self.open_editor(editor);
                        Vec::new()
                    }
                };
            }
            Some(Screen::Editor(_)) => return self.editor_key(k),
            Some(Screen::Detail(d)) if d.tab == DetailTab::Tools && d.tools.args.is_some() => {
                return self.tool_args_key(k);
            }
            Some(Screen::Detail(d)) if d.tab == DetailTab::Prompts && d.surface.form.is_some() => {
                return self.prompt_form_key(k);
            }
            _ => {}
        }
        let view = self.view();
        let Some(action) = self.keymap.action(view, &k) else {
            return Vec::new();
        };
        self.act(action)
    }

    /// A key while the Tools tab's argument editor has focus. It is an
    /// editor: the `[editor]` keys apply (save sends the call, back leaves,
    /// help), every other key is typing (like vim's `h`).
    fn tool_args_key(&mut self, k: KeyEvent) -> Vec<Command> {
        match self.keymap.action(View::Editor, &k) {
            Some(Action::Save | Action::CallTool) => return self.call_tool(),
            Some(Action::Back) => {
                if let Some(Screen::Detail(d)) = self.screens.last_mut() {
                    d.tools.args = None;
                }
                return Vec::new();
            }
            Some(Action::Help) => {
                self.overlay = Some(Overlay::Help { scroll: 0 });
                return Vec::new();
            }
            _ => {}
        }
        if let Some(Screen::Detail(d)) = self.screens.last_mut()
            && let Some(ta) = d.tools.args.as_mut()
        {
            ta.input(k);
        }
        Vec::new()
    }

    /// Open the argument editor for the selected tool.
    fn open_tool_args(&mut self) {
        if let Some(Screen::Detail(d)) = self.screens.last_mut()
            && d.tab == DetailTab::Tools
            && d.tools.args.is_none()
            && let Some(t) = d.tools.selected_tool()
        {
            let text = args_skeleton(&t.input_schema);
            let mut ta = tui_textarea::TextArea::new(text.lines().map(str::to_string).collect());
            ta.set_cursor_line_style(ratatui::style::Style::default());
            d.tools.args = Some(Box::new(ta));
        }
    }

    /// Check the arguments and call the selected tool (as a task).
    fn call_tool(&mut self) -> Vec<Command> {
        let read_only = self.read_only();
        let Some(Screen::Detail(d)) = self.screens.last_mut() else {
            return Vec::new();
        };
        if d.tab != DetailTab::Tools || d.tools.calling {
            return Vec::new();
        }
        let Some(tool) = d.tools.selected_tool().cloned() else {
            return Vec::new();
        };
        // Only from the open argument editor: one key, one meaning.
        let Some(text) = d.tools.args.as_ref().map(|ta| ta.lines().join("\n")) else {
            return Vec::new();
        };
        if read_only {
            d.tools.result = Some(Err(PlatformError::ReadOnly("calling a tool").to_string()));
            self.dirty = true;
            return Vec::new();
        }
        let args: serde_json::Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                d.tools.result = Some(Err(format!(
                    "the arguments are not valid JSON (line {} column {}); nothing was sent",
                    e.line(),
                    e.column()
                )));
                self.dirty = true;
                return Vec::new();
            }
        };
        if let Err(e) =
            crate::runtime::check_args(std::slice::from_ref(&tool), &tool.name, args.clone())
        {
            d.tools.result = Some(Err(format!("{e}; nothing was sent")));
            self.dirty = true;
            return Vec::new();
        }
        let id = d.id;
        if tool.needs_confirmation() {
            let instance = self
                .projection
                .get(&id)
                .map_or_else(|| id.to_string(), |i| i.name.clone());
            self.overlay = Some(Overlay::Confirm(tool_confirm(id, &instance, &tool, args)));
            self.dirty = true;
            return Vec::new();
        }
        self.send_tool_call(id, tool.name, args)
    }

    /// Send a checked (and, where asked, confirmed) tool call as a task.
    fn send_tool_call(&mut self, id: Uuid, tool: String, args: serde_json::Value) -> Vec<Command> {
        let Some(Screen::Detail(d)) = self.screens.last_mut() else {
            return Vec::new();
        };
        if d.id != id || d.tools.calling {
            return Vec::new();
        }
        d.tools.calling = true;
        d.tools.result = None;
        d.tools.result_scroll = 0;
        self.dirty = true;
        vec![Command::CallTool { id, tool, args }]
    }

    /// Perform a keymap action in the current view (as if its key was
    /// pressed).
    pub fn action(&mut self, action: Action) -> Vec<Command> {
        let cmds = self.act(action);
        self.count_tasks(cmds)
    }

    fn act(&mut self, action: Action) -> Vec<Command> {
        if self.refused_in_past(action) {
            return Vec::new();
        }
        if let Some(cmds) = self.surface_action(action) {
            return cmds;
        }
        let page = self.page();
        if let Some(Screen::Detail(d)) = self.screens.last_mut()
            && d.tab == DetailTab::Tools
        {
            let n = match &d.tools.list {
                Some(Ok(l)) => l.len(),
                _ => 0,
            };
            match action {
                Action::Up => {
                    d.tools.selected = d.tools.selected.saturating_sub(1);
                    return Vec::new();
                }
                Action::Down => {
                    d.tools.selected = (d.tools.selected + 1).min(n.saturating_sub(1));
                    return Vec::new();
                }
                Action::Open => {
                    self.open_tool_args();
                    return Vec::new();
                }
                Action::CallTool if d.tools.args.is_some() => return self.call_tool(),
                Action::CallTool => {
                    let open = self.keymap.keys_for(View::Detail, Action::Open).join("/");
                    let send = self.keymap.keys_for(View::Editor, Action::Save).join("/");
                    self.toast(
                        Level::Info,
                        format!(
                            "open the argument editor first ({open}); {send} there calls the tool"
                        ),
                    );
                    return Vec::new();
                }
                Action::Refresh => {
                    d.tools.list = None;
                    return vec![Command::LoadTools(d.id)];
                }
                // The result pane scrolls; up and down pick the tool.
                Action::PageUp | Action::PageDown => {
                    let step = usize::try_from(page).unwrap_or(1).max(1);
                    d.tools.result_scroll = if action == Action::PageUp {
                        d.tools.result_scroll.saturating_sub(step)
                    } else {
                        let last = d.tools.result_text().map_or(0, |t| t.lines().count());
                        (d.tools.result_scroll + step).min(last.saturating_sub(1))
                    };
                    return Vec::new();
                }
                Action::Filter if d.tools.result.is_some() => {
                    let before = d.tools.search.clone().unwrap_or_default();
                    self.overlay = Some(Overlay::Filter {
                        input: LineInput {
                            text: before.clone(),
                            candidates: Vec::new(),
                        },
                        before,
                    });
                    return Vec::new();
                }
                Action::NextMatch => {
                    let from = d.tools.result_scroll + 1;
                    if !d.tools.find_from(from) && d.tools.search.is_some() {
                        self.toast(Level::Info, "no line of the result matches");
                    }
                    return Vec::new();
                }
                _ => {}
            }
        }
        match action {
            // Both belong to the Tools tab (handled above).
            Action::CallTool | Action::NextMatch => Vec::new(),
            // The Overview's and the Resources tab's (handled above).
            Action::Ping | Action::Subscribe | Action::SaveBlob => Vec::new(),
            // The editor handles these itself.
            Action::Undo | Action::Redo => Vec::new(),
            // Only the quit prompt binds these.
            Action::Detach | Action::StopAndQuit => Vec::new(),
            // Only the conflict screen, the confirmation and the `:` line
            // bind these.
            Action::ReloadTheirs
            | Action::Overwrite
            | Action::Merge
            | Action::Recreate
            | Action::Yes
            | Action::ScrollLeft
            | Action::ScrollRight
            | Action::Switch
            | Action::Choose
            | Action::Complete
            | Action::Restore
            | Action::Discard => Vec::new(),
            Action::Quit => self.request_quit(),
            Action::Help => {
                self.overlay = Some(Overlay::Help { scroll: 0 });
                Vec::new()
            }
            Action::Command => {
                self.overlay = Some(Overlay::Command(LineInput::default()));
                Vec::new()
            }
            Action::Filter => {
                let before = match self.screen() {
                    Screen::Events => self.stream_filter.source().to_string(),
                    Screen::Instances => self.filter.source().to_string(),
                    _ => return Vec::new(),
                };
                self.overlay = Some(Overlay::Filter {
                    input: LineInput {
                        text: before.clone(),
                        ..LineInput::default()
                    },
                    before,
                });
                Vec::new()
            }
            Action::Back => {
                if self.screens.len() > 1 {
                    self.screens.pop();
                } else if matches!(self.screen(), Screen::Events) {
                    if !self.stream_filter.is_empty() {
                        self.set_stream_filter("");
                    } else {
                        self.screens = vec![Screen::Instances];
                    }
                } else if !self.marked.is_empty() {
                    self.marked.clear();
                } else if !self.filter.is_empty() {
                    self.set_filter("");
                }
                Vec::new()
            }
            Action::Up => {
                self.move_by(-1);
                Vec::new()
            }
            Action::Down => {
                self.move_by(1);
                Vec::new()
            }
            Action::PageUp => {
                self.move_by(-page);
                Vec::new()
            }
            Action::PageDown => {
                self.move_by(page);
                Vec::new()
            }
            Action::Top => {
                self.move_by(isize::MIN / 2);
                Vec::new()
            }
            Action::Bottom => {
                self.move_by(isize::MAX / 2);
                Vec::new()
            }
            Action::Open => match self.screen() {
                Screen::Instances => self.open_detail(),
                Screen::Events => {
                    self.open_raw_stream();
                    Vec::new()
                }
                Screen::Detail(_) => {
                    self.open_raw_detail();
                    Vec::new()
                }
                _ => Vec::new(),
            },
            Action::Raw => {
                match self.screen() {
                    Screen::Events => self.open_raw_stream(),
                    Screen::Detail(_) => self.open_raw_detail(),
                    _ => {}
                }
                Vec::new()
            }
            Action::Start => self.mutate(Mutation::Start),
            Action::Stop => self.mutate(Mutation::Stop),
            Action::Restart => self.mutate(Mutation::Restart),
            Action::Delete => self.mutate(Mutation::Delete),
            Action::Create | Action::Edit | Action::Save => {
                if self.read_only() {
                    self.toast(
                        Level::Error,
                        "read-only mode: creating and editing are not allowed",
                    );
                    return Vec::new();
                }
                match action {
                    Action::Create => {
                        self.screens
                            .push(Screen::Picker(TemplatePicker::for_profile(
                                self.profile.as_ref(),
                            )));
                        Vec::new()
                    }
                    Action::Edit => {
                        let id = match self.screen() {
                            Screen::Detail(d) => Some(d.id),
                            Screen::Instances => self.selected_id,
                            _ => None,
                        };
                        match id {
                            Some(id) => {
                                vec![Command::FetchForEdit(id)]
                            }
                            None => {
                                self.toast(Level::Info, "no instance selected");
                                Vec::new()
                            }
                        }
                    }
                    _ => Vec::new(),
                }
            }
            Action::Mark => {
                if let Some(id) = self.selected_id {
                    if !self.marked.remove(&id) {
                        self.marked.insert(id);
                    }
                    self.move_by(1);
                }
                Vec::new()
            }
            Action::MarkAll => {
                if self.marked.is_empty() {
                    self.marked = self.rows.iter().copied().collect();
                } else {
                    self.marked.clear();
                }
                Vec::new()
            }
            Action::SortNext => {
                let i = Column::ALL
                    .iter()
                    .position(|c| *c == self.sort)
                    .unwrap_or(0);
                self.set_sort(Column::ALL[(i + 1) % Column::ALL.len()], false);
                Vec::new()
            }
            Action::SortReverse => {
                self.sort_reverse = !self.sort_reverse;
                self.rows_dirty = true;
                self.rebuild_rows();
                Vec::new()
            }
            Action::NextTab | Action::PrevTab => {
                if let Some(Screen::Detail(d)) = self.screens.last_mut() {
                    let n = DetailTab::ALL.len();
                    let step = if action == Action::NextTab { 1 } else { n - 1 };
                    d.tab = DetailTab::ALL[(d.tab.index() + step) % n];
                    d.scroll = 0;
                    match d.tab {
                        DetailTab::Tools if d.tools.list.is_none() => {
                            return vec![Command::LoadTools(d.id)];
                        }
                        DetailTab::Logs if !d.logs.loading => {
                            d.logs.loading = true;
                            return vec![Command::LoadLogs(d.id)];
                        }
                        DetailTab::Resources | DetailTab::Prompts => {
                            return self.surface_tab_entered();
                        }
                        _ => {}
                    }
                }
                Vec::new()
            }
            Action::Follow => {
                if let Some(Screen::Detail(d)) = self.screens.last_mut() {
                    d.tab = DetailTab::Events;
                    d.selected = d.events.len().saturating_sub(1);
                    return Vec::new();
                }
                if let Screen::Events = self.screen() {
                    self.follow = !self.follow;
                    self.follow_tail();
                    let t = if self.follow { "following" } else { "paused" };
                    self.toast(Level::Info, t);
                }
                Vec::new()
            }
            Action::Refresh => self.reload(),
            Action::EventsView => {
                self.screens = vec![Screen::Events];
                self.follow_tail();
                Vec::new()
            }
            Action::InstancesView => {
                self.screens = vec![Screen::Instances];
                Vec::new()
            }
            Action::Copy => match (self.copy_text(), &self.clipboard_refusal) {
                (Some((what, _)), Some(why)) => {
                    let msg = format!("{what} not copied: {why}");
                    self.toast(Level::Error, msg);
                    Vec::new()
                }
                (Some((what, text)), None) => {
                    self.toast(Level::Ok, format!("copied {what}"));
                    vec![Command::Copy(text)]
                }
                (None, _) => Vec::new(),
            },
            Action::Dump => self.dump(super::dump::Format::Csv),
            Action::ReadStream => self.read_stream(),
            Action::StepBack => self.step(false),
            Action::StepForward => self.step(true),
        }
    }

    fn read_stream(&mut self) -> Vec<Command> {
        match &self.stream_window {
            None => {
                self.toast(Level::Info, "this console watches no Redis stream");
                Vec::new()
            }
            Some(_) if self.stream_only == 0 => {
                self.toast(
                    Level::Info,
                    "every instance in the table is the platform's own: none is known only from the stream",
                );
                Vec::new()
            }
            Some(w) if w.whole() => {
                self.toast(
                    Level::Info,
                    format!("the whole stream is read already ({} entries)", w.retained),
                );
                Vec::new()
            }
            Some(w) => {
                self.toast(
                    Level::Info,
                    format!("reading all {} entries of the stream…", w.retained),
                );
                vec![Command::ReadStream]
            }
        }
    }

    /// Dump the view's rows (see [`super::dump`]).
    fn dump(&mut self, format: super::dump::Format) -> Vec<Command> {
        use super::dump;
        let Some(table) = dump::table(self) else {
            self.toast(Level::Info, "this view has no rows to dump");
            return Vec::new();
        };
        let n = table.rows.len();
        vec![Command::Dump {
            file: dump::file_name(&table, format, self.now),
            contents: dump::render(&table, format),
            summary: format!(
                "{n} row{} ({}) as {}",
                if n == 1 { "" } else { "s" },
                table.what,
                format.extension().to_uppercase()
            ),
        }]
    }

    /// What `copy` takes in the current view: a label and the text.
    fn copy_text(&self) -> Option<(String, String)> {
        match self.screen() {
            Screen::Instances => self
                .selected_instance()
                .map(|i| (format!("name {}", i.name), i.name.clone())),
            Screen::Detail(d) => {
                let i = self.projection.get(&d.id)?;
                match d.tab {
                    DetailTab::Spec => Some((
                        format!("json_spec of {}", i.name),
                        serde_json::to_string_pretty(&redact_plain_secrets(
                            &serde_json::Value::Object(i.json_spec.clone()),
                        ))
                        .unwrap_or_default(),
                    )),
                    DetailTab::Events => d
                        .events
                        .get(d.selected)
                        .map(|e| (format!("event {}", e.event_id), raw_envelope(e))),
                    _ => Some((format!("id of {}", i.name), i.id.to_string())),
                }
            }
            Screen::Events => {
                let rows = self.stream_rows();
                match rows
                    .get(self.stream_selected)
                    .and_then(|i| self.stream.get(*i))?
                {
                    StreamItem::Event(e) => {
                        Some((format!("event {}", e.event_id), raw_envelope(e)))
                    }
                    StreamItem::Malformed { raw, .. } => {
                        Some(("malformed payload".into(), raw.clone()))
                    }
                }
            }
            _ => None,
        }
    }

    fn set_sort(&mut self, col: Column, reverse: bool) {
        self.sort = col;
        self.sort_reverse = reverse;
        self.rows_dirty = true;
        self.rebuild_rows();
    }

    /// Search the Tools tab's result for `text` (as typed): scroll to the
    /// first line holding it.
    fn search_tool_result(&mut self, text: &str) {
        if let Some(Screen::Detail(d)) = self.screens.last_mut() {
            d.tools.search = (!text.is_empty()).then(|| text.to_string());
            d.tools.find_from(0);
        }
    }

    pub fn set_filter(&mut self, text: &str) {
        self.filter = Filter::parse(text);
        self.rows_dirty = true;
        self.rebuild_rows();
    }

    pub fn set_stream_filter(&mut self, text: &str) {
        self.stream_filter = Filter::parse(text);
        let n = self.stream_rows().len();
        self.stream_selected = self.stream_selected.min(n.saturating_sub(1));
        self.follow_tail();
    }

    fn open_detail(&mut self) -> Vec<Command> {
        let Some(id) = self.selected_id else {
            return Vec::new();
        };
        let until = self.travel.as_ref().map(|t| t.at);
        let events: Vec<Arc<Envelope>> = self
            .stream
            .iter()
            .filter_map(|it| match it {
                StreamItem::Event(e)
                    if e.instance_id() == Some(id) && until.is_none_or(|u| e.timestamp <= u) =>
                {
                    Some(e.clone())
                }
                _ => None,
            })
            .collect();
        self.screens.push(Screen::Detail(Box::new(DetailState {
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
        })));
        vec![Command::LoadHistory(id)]
    }

    fn open_raw_stream(&mut self) {
        let rows = self.stream_rows();
        let Some(item) = rows
            .get(self.stream_selected)
            .and_then(|i| self.stream.get(*i))
        else {
            return;
        };
        let (title, text) = match item {
            StreamItem::Event(e) => (format!("event {}", e.event_id), raw_envelope(e)),
            StreamItem::Malformed {
                source, raw, error, ..
            } => (
                format!("malformed payload from {source}"),
                format!("{error}\n\n{raw}"),
            ),
        };
        self.overlay = Some(Overlay::Raw {
            title,
            text,
            scroll: 0,
        });
    }

    fn open_raw_detail(&mut self) {
        if let Screen::Detail(d) = self.screen()
            && d.tab == DetailTab::Events
            && let Some(e) = d.events.get(d.selected)
        {
            self.overlay = Some(Overlay::Raw {
                title: format!("event {}", e.event_id),
                text: raw_envelope(e),
                scroll: 0,
            });
        }
    }

    fn mutate(&mut self, what: Mutation) -> Vec<Command> {
        let ids = match self.screen() {
            Screen::Detail(d) => vec![d.id],
            Screen::Instances => self.targets(),
            _ => return Vec::new(),
        };
        let label = match what {
            Mutation::Start => "starting",
            Mutation::Stop => "stopping",
            Mutation::Restart => "restarting",
            Mutation::Delete => "deleting",
        };
        if self.read_only() {
            self.toast(
                Level::Error,
                format!("read-only mode: {label} instances is not allowed"),
            );
            return Vec::new();
        }
        if ids.is_empty() {
            self.toast(Level::Info, "no instance selected");
            return Vec::new();
        }
        let pending = match what {
            Mutation::Start => {
                // Starting what already runs does nothing: say so instead.
                let (running, rest): (Vec<Uuid>, Vec<Uuid>) = ids.iter().partition(|id| {
                    self.projection
                        .get(id)
                        .is_some_and(|i| matches!(i.status, Status::Running | Status::Starting))
                });
                let running_names = self.names(&running);
                if rest.is_empty() {
                    let text = match (running_names.as_slice(), running.first()) {
                        ([one], Some(id)) => {
                            let status = self
                                .projection
                                .get(id)
                                .map(|i| i.status.as_str())
                                .unwrap_or("running");
                            format!("{one} is already {status}")
                        }
                        _ => format!("all {} are already running or starting", running.len()),
                    };
                    self.toast(Level::Info, text);
                    return Vec::new();
                }
                if !running.is_empty() {
                    self.toast(
                        Level::Info,
                        format!(
                            "starting {}; already running: {}",
                            rest.len(),
                            running_names.join(", ")
                        ),
                    );
                }
                // Marks go once a bulk action is sent, as after stop and delete.
                self.marked.clear();
                return vec![Command::Start(rest)];
            }
            Mutation::Stop => Pending::Stop(ids.clone()),
            Mutation::Restart => Pending::Restart(ids.clone()),
            Mutation::Delete => Pending::Delete(ids.clone()),
        };
        {
            {
                let names = self.names(&ids);
                let (verb, extra) = match what {
                    Mutation::Delete => (
                        "Delete",
                        "Running instances are stopped first. This cannot be undone.",
                    ),
                    Mutation::Stop | Mutation::Start => {
                        ("Stop", "Clients using them lose their connection.")
                    }
                    Mutation::Restart => (
                        "Restart",
                        "Stopped and started again; clients lose their connection.",
                    ),
                };
                let title = if names.len() == 1 {
                    format!("{verb} instance {}?", names[0])
                } else {
                    format!("{verb} {}?", super::views::plural(names.len(), "instance"))
                };
                let mut lines = name_list(&names);
                lines.push(String::new());
                lines.push(extra.to_string());
                self.overlay = Some(Overlay::Confirm(Confirm {
                    title,
                    lines,
                    pending,
                    yes_focused: false,
                }));
                Vec::new()
            }
        }
    }

    fn overlay_key(&mut self, ov: Overlay, k: KeyEvent) -> Vec<Command> {
        let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
        // Help and the raw view scroll and close with the keymap's global
        // keys (up, down, page up/down; back, quit, help), enter closes too.
        let global = self.keymap.action(View::Global, &k);
        match ov {
            Overlay::Help { scroll } | Overlay::Raw { scroll, .. }
                if matches!(
                    global,
                    Some(Action::Up | Action::Down | Action::PageUp | Action::PageDown)
                ) =>
            {
                let d: i32 = match global {
                    Some(Action::Up) => -1,
                    Some(Action::Down) => 1,
                    Some(Action::PageUp) => -10,
                    _ => 10,
                };
                let max = match ov {
                    // Help stops with its last line at the bottom.
                    Overlay::Help { .. } => self.help_max.get(),
                    _ => u16::MAX,
                };
                let s = (i32::from(scroll) + d).clamp(0, i32::from(max)) as u16;
                self.overlay = Some(match ov {
                    Overlay::Help { .. } => Overlay::Help { scroll: s },
                    Overlay::Raw { title, text, .. } => Overlay::Raw {
                        title,
                        text,
                        scroll: s,
                    },
                    other => other,
                });
                Vec::new()
            }
            Overlay::Help { .. } | Overlay::Raw { .. } => {
                let closes = matches!(global, Some(Action::Back | Action::Quit | Action::Help))
                    || k.code == KeyCode::Enter
                    || ctrl_c;
                if !closes {
                    self.overlay = Some(ov);
                }
                Vec::new()
            }
            Overlay::Drafts(mut p) => match p.handle_key(&self.keymap, k) {
                DraftPromptOutcome::None => {
                    self.overlay = Some(Overlay::Drafts(p));
                    Vec::new()
                }
                DraftPromptOutcome::Close => Vec::new(),
                DraftPromptOutcome::Discard(d) => {
                    if !p.drafts().is_empty() {
                        self.overlay = Some(Overlay::Drafts(p));
                    }
                    vec![Command::RemoveDraft(d.key)]
                }
                DraftPromptOutcome::Restore(d) => {
                    if self.read_only() {
                        self.toast(Level::Error, "read-only mode: the draft is kept for later");
                    } else {
                        self.open_editor(Editor::from_draft(&d));
                    }
                    Vec::new()
                }
            },
            Overlay::Quit(p) => match p.handle_key(&self.keymap, &k) {
                QuitOutcome::None => {
                    self.overlay = Some(Overlay::Quit(p));
                    Vec::new()
                }
                QuitOutcome::Cancel => Vec::new(),
                QuitOutcome::Quit(ending) => {
                    self.ending = ending;
                    self.quit = true;
                    vec![Command::Quit]
                }
            },
            Overlay::Confirm(mut c) => {
                let answer = match self.keymap.action(View::Confirm, &k) {
                    _ if ctrl_c => Some(false),
                    Some(Action::Yes) => Some(true),
                    Some(Action::Back) => Some(false),
                    Some(Action::Choose) => Some(c.yes_focused),
                    Some(Action::Switch) => {
                        c.yes_focused = !c.yes_focused;
                        None
                    }
                    _ => None,
                };
                match answer {
                    None => {
                        self.overlay = Some(Overlay::Confirm(c));
                        Vec::new()
                    }
                    Some(false) => Vec::new(),
                    Some(true) => match c.pending {
                        // No marks, no bulk: the one call, as confirmed.
                        Pending::CallTool { id, tool, args } => self.send_tool_call(id, tool, args),
                        Pending::Delete(ids) => {
                            self.marked.clear();
                            if matches!(self.screen(), Screen::Detail(d) if ids.contains(&d.id)) {
                                self.screens.pop();
                            }
                            vec![Command::Delete(ids)]
                        }
                        Pending::Stop(ids) => {
                            self.marked.clear();
                            vec![Command::Stop(ids)]
                        }
                        Pending::Restart(ids) => {
                            self.marked.clear();
                            vec![Command::Restart(ids)]
                        }
                    },
                }
            }
            Overlay::Command(mut input) => match k.code {
                // Line editing, as in a shell: the keymap's complete (tab).
                _ if self.keymap.action(View::CommandLine, &k) == Some(Action::Complete) => {
                    let c = self.complete_line(input.text.trim_start());
                    input.text = c.text;
                    input.candidates = c.candidates;
                    self.overlay = Some(Overlay::Command(input));
                    Vec::new()
                }
                KeyCode::Esc => Vec::new(),
                KeyCode::Enter => self.run_line(input.text.trim()),
                KeyCode::Backspace => {
                    input.candidates.clear();
                    if input.text.pop().is_some() {
                        self.overlay = Some(Overlay::Command(input));
                    }
                    Vec::new()
                }
                _ if ctrl_c => Vec::new(),
                _ => {
                    if let Some(c) = plain_key(&k) {
                        input.text.push(c);
                        input.candidates.clear();
                    }
                    self.overlay = Some(Overlay::Command(input));
                    Vec::new()
                }
            },
            Overlay::Filter { mut input, before } => {
                let events = matches!(self.screen(), Screen::Events);
                let tools = matches!(self.screen(), Screen::Detail(d) if d.tab == DetailTab::Tools);
                let surface = matches!(self.screen(), Screen::Detail(d) if matches!(d.tab, DetailTab::Resources | DetailTab::Prompts));
                let apply = |app: &mut App, t: &str| {
                    if surface {
                        app.search_surface(t);
                    } else if tools {
                        app.search_tool_result(t);
                    } else if events {
                        app.set_stream_filter(t);
                    } else {
                        app.set_filter(t);
                    }
                };
                match k.code {
                    KeyCode::Esc => {
                        apply(self, &before);
                        return Vec::new();
                    }
                    KeyCode::Enter => return Vec::new(),
                    KeyCode::Backspace => {
                        input.text.pop();
                    }
                    _ if ctrl_c => {
                        apply(self, &before);
                        return Vec::new();
                    }
                    _ => {
                        if let Some(c) = plain_key(&k) {
                            input.text.push(c);
                        }
                    }
                }
                apply(self, &input.text);
                self.overlay = Some(Overlay::Filter { input, before });
                Vec::new()
            }
        }
    }

    fn open_editor(&mut self, mut editor: Editor) {
        editor.set_keys(&self.keymap);
        editor.apply_theme(&self.theme);
        self.screens.push(Screen::Editor(Box::new(EditSession {
            editor,
            conflict: None,
            saving: false,
            base_fields: None,
            original: None,
            theirs_original: None,
        })));
        self.dirty = true;
    }

    /// The draft to write before exiting, if the editor has unsaved text.
    pub fn pending_draft(&self) -> Option<Draft> {
        self.screens.iter().rev().find_map(|s| match s {
            Screen::Editor(e) if e.editor.is_dirty() => Some(e.editor.draft()),
            _ => None,
        })
    }

    fn save_commands(s: &mut EditSession, mut value: serde_json::Value) -> Vec<Command> {
        match s.editor.mode().clone() {
            EditorMode::Edit {
                id,
                version,
                updated_at,
                ..
            } => {
                s.saving = true;
                if let Some(original) = &s.original {
                    spec::unredact(&mut value, original);
                }
                vec![Command::Update {
                    id,
                    patch: InstancePatch {
                        json_spec: Some(value),
                        ..Default::default()
                    },
                    expect: Precondition::for_copy(version, updated_at),
                    unredact_from_stored: s.original.is_none(),
                }]
            }
            EditorMode::Create { .. } => Vec::new(),
        }
    }

    fn editor_key(&mut self, k: KeyEvent) -> Vec<Command> {
        let Some(Screen::Editor(s)) = self.screens.last_mut() else {
            return Vec::new();
        };
        if let Some(c) = s.conflict.as_mut() {
            return match c.handle_key(&self.keymap, k) {
                ConflictOutcome::None => Vec::new(),
                ConflictOutcome::BackToEditing => {
                    s.conflict = None;
                    Vec::new()
                }
                ConflictOutcome::Recreate => {
                    s.conflict = None;
                    match s.editor.recreate() {
                        Some((name, json_spec)) => {
                            s.saving = true;
                            vec![Command::Create(NewInstance {
                                name,
                                description: None,
                                server_spec_id: None,
                                json_spec,
                            })]
                        }
                        None => {
                            s.editor.set_message(
                                "fix the problems, then save to create it again",
                                true,
                            );
                            Vec::new()
                        }
                    }
                }
                ConflictOutcome::ReloadTheirs => {
                    let t = c.theirs().clone();
                    let reloaded: Option<serde_json::Value> = serde_json::from_str(&t.text).ok();
                    if let Some(v) = reloaded {
                        s.editor.reload(t.version, t.updated_at, &v);
                    }
                    if let Some(name) = t.name {
                        s.base_fields = Some((name, t.description));
                    }
                    s.original = s.theirs_original.take();
                    s.conflict = None;
                    Vec::new()
                }
                ConflictOutcome::Merge { their_version } => {
                    let at = c.theirs().updated_at;
                    let merged = c.merged().map(str::to_string);
                    let t = c.theirs().clone();
                    s.conflict = None;
                    if let Some(text) = merged {
                        // Theirs is the new base; the merged text is the edit.
                        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&t.text) {
                            s.editor.reload(their_version, at, &v);
                        }
                        if let Some(name) = t.name {
                            s.base_fields = Some((name, t.description));
                        }
                        s.original = s.theirs_original.take();
                        s.editor.replace_text(&text);
                        s.editor.set_message(
                            format!(
                                "merged your change into theirs ({}); review, then save",
                                match (their_version, at) {
                                    (0, Some(at)) => format!(
                                        "updated_at {}",
                                        at.format("%Y-%m-%d %H:%M:%S UTC")
                                    ),
                                    _ => format!("version {their_version}"),
                                }
                            ),
                            false,
                        );
                    }
                    Vec::new()
                }
                ConflictOutcome::Overwrite { their_version } => {
                    let at = c.theirs().updated_at;
                    s.conflict = None;
                    s.editor.rebase(their_version, at);
                    s.original = s.theirs_original.take();
                    match s.editor.validation() {
                        super::editor::Validation::Checked { value, .. }
                            if s.editor.validation().is_valid() =>
                        {
                            let v = value.clone();
                            Self::save_commands(s, v)
                        }
                        _ => {
                            s.editor.set_message("fix the problems before saving", true);
                            Vec::new()
                        }
                    }
                }
            };
        }
        if s.saving {
            s.editor.set_message("saving…", false);
            return Vec::new();
        }
        match s.editor.handle_key(k) {
            EditorOutcome::None => Vec::new(),
            EditorOutcome::Help => {
                self.overlay = Some(Overlay::Help { scroll: 0 });
                Vec::new()
            }
            EditorOutcome::Close => {
                let key = s.editor.draft_key().to_string();
                self.screens.pop();
                vec![Command::RemoveDraft(key)]
            }
            EditorOutcome::Save(v) => Self::save_commands(s, v),
            EditorOutcome::Create { name, json_spec } => {
                s.saving = true;
                vec![Command::Create(NewInstance {
                    name,
                    description: None,
                    server_spec_id: None,
                    json_spec,
                })]
            }
        }
    }

    fn saved(&mut self, r: Result<Instance, PlatformError>) -> Vec<Command> {
        let Some(Screen::Editor(s)) = self.screens.last_mut() else {
            match r {
                Ok(i) => self.toast(Level::Ok, format!("saved {}", i.name)),
                Err(e) => self.toast(Level::Error, e.to_string()),
            }
            return Vec::new();
        };
        s.saving = false;
        match r {
            Ok(i) => {
                let created = matches!(s.editor.mode(), EditorMode::Create { .. });
                let key = s.editor.saved(Some((i.version, i.updated_at)));
                self.screens.pop();
                let verb = if created { "created" } else { "saved" };
                let at = if !self.shows_version(&i) {
                    // AgentArea keeps no versions: its updated_at says which copy.
                    format!("updated_at {}", i.updated_at.format("%H:%M:%S UTC"))
                } else {
                    format!("version {}", i.version)
                };
                self.toast(Level::Ok, format!("{verb} {} ({at})", i.name));
                if created {
                    self.selected_id = Some(i.id);
                }
                vec![Command::RemoveDraft(key)]
            }
            Err(PlatformError::NotFound(_))
                if matches!(s.editor.mode(), EditorMode::Edit { .. }) =>
            {
                s.conflict = Some(deleted_screen(&s.editor));
                Vec::new()
            }
            Err(PlatformError::Conflict(msg)) => match s.editor.mode().clone() {
                EditorMode::Edit { id, .. } => {
                    vec![Command::FetchTheirs(id)]
                }
                EditorMode::Create { .. } => {
                    s.editor.set_message(msg, true);
                    Vec::new()
                }
            },
            Err(e) => {
                s.editor.set_message(e.to_string(), true);
                Vec::new()
            }
        }
    }

    /// Quit, or ask first when instances run under this console: it hosts
    /// the runtime, and quitting would stop what nobody asked to stop.
    pub fn request_quit(&mut self) -> Vec<Command> {
        if let Some(prompt) = self.quit_prompt() {
            self.overlay = Some(Overlay::Quit(prompt));
            self.dirty = true;
            return Vec::new();
        }
        self.ending = Ending::Stop;
        self.quit = true;
        vec![Command::Quit]
    }

    /// The quit prompt when instances run under this console (it hosts
    /// the runtime and some are desired running).
    fn quit_prompt(&self) -> Option<QuitPrompt> {
        let hosting = matches!(self.runtime_host, Some(RuntimeHost::ThisProcess { .. }));
        hosting
            .then(|| QuitPrompt::for_instances(self.projection.instances()))
            .flatten()
    }

    /// Whether instances run under this console, so quitting would stop them.
    pub fn runs_instances(&self) -> bool {
        self.quit_prompt().is_some()
    }

    /// Run a `:` command line (as if it was typed).
    pub fn run_command(&mut self, line: &str) -> Vec<Command> {
        let cmds = self.run_line(line);
        self.count_tasks(cmds)
    }

    fn run_line(&mut self, line: &str) -> Vec<Command> {
        let mut words = line.split_whitespace();
        let Some(cmd) = words.next() else {
            return Vec::new();
        };
        let arg = words.next();
        match (cmd, arg) {
            ("q" | "quit" | "q!", None) => self.request_quit(),
            ("instances" | "inst" | "i", None) => self.act(Action::InstancesView),
            ("events" | "ev" | "e", None) => self.act(Action::EventsView),
            ("help", None) => self.act(Action::Help),
            ("read-stream", None) => self.read_stream(),
            ("dump", None) => self.dump(super::dump::Format::Csv),
            ("dump", Some(f)) => match super::dump::Format::from_name(f) {
                Some(format) => self.dump(format),
                None => {
                    self.toast(Level::Error, ":dump writes csv or json");
                    Vec::new()
                }
            },
            ("theme", Some(name)) => vec![Command::LoadTheme(name.to_string())],
            ("keymap", Some(name)) => vec![Command::LoadKeymap(name.to_string())],
            ("sort", Some(col)) => {
                let (name, reverse) = match col.strip_prefix('-') {
                    Some(n) => (n, true),
                    None => (col, false),
                };
                match Column::from_name(name) {
                    Some(c) => self.set_sort(c, reverse),
                    None => self.toast(
                        Level::Error,
                        format!(
                            "unknown column '{name}'; columns: {}",
                            Column::ALL.map(|c| c.title().to_lowercase()).join(", ")
                        ),
                    ),
                }
                Vec::new()
            }
            ("theme" | "keymap" | "sort", None) => {
                self.toast(Level::Error, format!(":{cmd} needs a name"));
                Vec::new()
            }
            ("ctx" | "context", None) => {
                self.list_contexts();
                Vec::new()
            }
            ("ctx" | "context", Some(_)) if self.travel.is_some() => {
                self.toast(Level::Error, "this is the past: :now first, then :ctx");
                Vec::new()
            }
            ("ctx" | "context", Some(name)) => self.switch_context(name),
            ("at", Some(time)) => self.open_moment(time),
            ("at", None) => {
                self.toast(
                    Level::Error,
                    format!(":at needs a time: {}", crate::domain::replay::TIME_FORMS),
                );
                Vec::new()
            }
            ("now", None) => self.back_to_now(),
            ("i", Some(name)) => self.jump_to(name),
            // `:NAME` jumps to the instance of that name, when there is one.
            (name, None)
                if self
                    .projection
                    .instances()
                    .any(|i| i.name == name || i.id.to_string() == name) =>
            {
                self.jump_to(name)
            }
            _ => {
                self.toast(
                    Level::Error,
                    format!(
                        "unknown command ':{}'; try :instances, :events, :NAME, :dump [csv|json], :ctx [NAME], :theme NAME, :keymap NAME, :sort COLUMN, :q (tab completes)",
                        crate::domain::text::shown(&line.chars().take(40).collect::<String>())
                    ),
                );
                Vec::new()
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Mutation {
    Start,
    Stop,
    Restart,
    Delete,
}

/// Most argument lines a tool confirmation shows.
const CONFIRM_ARG_LINES: usize = 8;

/// The confirmation for calling a tool not marked read-only: it names the
/// tool, the instance and the arguments (secret-looking values masked).
fn tool_confirm(id: Uuid, instance: &str, tool: &ToolInfo, args: serde_json::Value) -> Confirm {
    let pretty = serde_json::to_string_pretty(&mask_secrets(&args)).unwrap_or_default();
    let all: Vec<&str> = pretty.lines().collect();
    let mut lines = vec![format!("on instance {instance}, with arguments:")];
    lines.extend(all.iter().take(CONFIRM_ARG_LINES).map(|l| format!("  {l}")));
    if all.len() > CONFIRM_ARG_LINES {
        lines.push(format!(
            "  … and {} more lines",
            all.len() - CONFIRM_ARG_LINES
        ));
    }
    lines.push(String::new());
    lines.push(tool.confirmation_reason().to_string());
    Confirm {
        title: format!("Call tool {}?", tool.name),
        lines,
        pending: Pending::CallTool {
            id,
            tool: tool.name.clone(),
            args,
        },
        yes_focused: false,
    }
}

/// The conflict screen for an edit whose instance was deleted meanwhile.
fn deleted_screen(e: &Editor) -> ConflictScreen {
    let (name, version) = match e.mode() {
        EditorMode::Edit { name, version, .. } => (name.clone(), *version),
        EditorMode::Create { .. } => (String::new(), 0),
    };
    ConflictScreen::deleted(&name, &e.text(), version)
}

/// Whether an instance passes the filter.
pub fn instance_matches(f: &Filter, i: &Instance) -> bool {
    if f.is_empty() {
        return true;
    }
    let id = i.id.to_string();
    let kind = i.kind();
    f.matches(&Subject {
        text: &[&i.name, &id, i.description.as_deref().unwrap_or("")],
        status: Some(shown_status(i).as_str()),
        kind: Some(kind.as_str()),
    })
}

fn stream_matches(f: &Filter, it: &StreamItem, p: &Projection) -> bool {
    match it {
        StreamItem::Event(e) => {
            let name = p.name_of(e).unwrap_or_default();
            let status = e.status().map(|s| s.as_str());
            let kind = e
                .instance_id()
                .and_then(|id| p.get(&id))
                .map(|i| i.kind().as_str());
            f.matches(&Subject {
                text: &[
                    name,
                    &e.event_type,
                    e.correlation_id.as_deref().unwrap_or(""),
                    e.error_text().unwrap_or(""),
                ],
                status,
                kind,
            })
        }
        StreamItem::Malformed {
            source, raw, error, ..
        } => f.matches(&Subject {
            text: &["malformed", source, raw, error],
            status: None,
            kind: None,
        }),
    }
}

/// Pretty json_spec with every secret-looking value masked, for the screen;
/// `secret_ref:NAME` references stay readable (they are not secrets).
pub fn masked_spec(i: &Instance) -> String {
    let v = spec::mask_secret_values(&serde_json::Value::Object(i.json_spec.clone()));
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

#[cfg(test)]
mod tests;
