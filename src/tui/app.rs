//! The console's shared state, and its pure update function that routes
//! each message to the page it is for (`app/instances`, `app/events`,
//! `app/detail`, `app/edit`, `app/overlay`, `app/actions`).
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
use crate::domain::status_event::StatusEvent;
use crate::domain::{Envelope, Instance, InstancePatch, NewInstance, Precondition, Probe, Status};
use crate::platform::{
    BackendInfo, PlatformError, PlatformEvent, RuntimeHost, SourceState, StreamWindow,
    ToolCallResult, ToolInfo,
};
use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
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

    /// The Instances page's own state.
    pub instances: InstancesPage,
    /// The Events page's own state.
    pub events: EventsPage,

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
    /// Tasks whose results are waited for (the spinner turns meanwhile):
    /// counted in [`App::update`] only.
    pub in_flight: usize,
    /// Tool calls sent from this console (numbers them).
    pub calls: u64,
    /// `runtime.call_timeout_secs`: a call's timeout unless its instance
    /// gives `timeout_seconds`.
    pub call_timeout_secs: u64,
    /// Elicitation forms waiting for the open overlay to close.
    pub elicits: VecDeque<ElicitForm>,
    pub spinner: usize,
    pub dirty: bool,
    pub quit: bool,
    /// What happens to the instances this console runs once it quits.
    pub ending: Ending,
    /// Who hosts the runtime, once known (the header shows it).
    pub runtime_host: Option<RuntimeHost>,
    reloading: bool,
    /// Events received while a reload is in flight.
    since_reload: Vec<events::Arrived>,
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
    /// The banner of a replayed incident bundle (`aacon --replay FILE`).
    pub replay: Option<String>,
}

mod actions;
mod detail;
mod edit;
mod elicit;
mod events;
mod goto;
mod history;
mod incident;
mod instances;
mod logs;
mod msg;
mod overlay;
mod pager;
mod surface;
mod tools;
mod travel;
pub use detail::{DetailState, DetailTab, HostingLine, masked_spec};
pub use edit::EditSession;
pub use elicit::{ElicitForm, ElicitOutcome, ElicitReply};
pub use events::{EventsOutcome, EventsPage, StreamItem, raw_envelope};
pub use goto::START_CONTEXT;
pub use history::{HISTORY_ROWS, HistoryPane};
use instances::*;
pub use instances::{Column, Geometry, InstancesOutcome, InstancesPage, instance_matches};
pub use logs::{LOG_CAP, LogsPane, declares_logging, matches as logs_match};
pub use msg::{Command, ContextError, DraftFailure, Msg, TaskError};
pub use overlay::{Confirm, ConfirmOutcome, LineInput, Overlay, Pending, name_list};
pub use pager::{PagerOutcome, TextPager};
pub use surface::{Field, Pager, PromptForm, SurfacePane};
pub use tools::{CallState, ToolsPane, args_skeleton, secs_text};
pub use travel::{Ask, Travel, observed_words};

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
            instances: InstancesPage::default(),
            events: EventsPage::default(),
            rate: VecDeque::from(vec![0; RATE_SECS]),
            rate_second: now.timestamp(),
            toast: None,
            clipboard_refusal: None,
            probes: HashMap::new(),
            probes_off: None,
            probing: false,
            in_flight: 0,
            calls: 0,
            call_timeout_secs: crate::config::DEFAULT_CALL_TIMEOUT_SECS,
            elicits: VecDeque::new(),
            spinner: 0,
            dirty: true,
            quit: false,
            ending: Ending::Stop,
            runtime_host: None,
            reloading: false,
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
            replay: None,
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
            e.apply_to(&mut fresh);
        }
        self.projection = fresh;
        self.loaded = true;
        self.instances.rows_dirty = true;
        self.instances.rows_built_at = None;
        self.dirty = true;
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

    pub fn toast(&mut self, level: Level, text: impl Into<String>) {
        self.toast = Some(Toast {
            text: text.into(),
            level,
            until: self.now + Duration::seconds(TOAST_SECS),
        });
        self.dirty = true;
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
                self.deliver_to_detail(id, |d| d.tools.loaded(result))
            }
            Msg::ToolCalled { id, result } => {
                self.drop_elicitations_of(id);
                let now = self.now;
                self.deliver_to_detail(id, |d| d.tools.call_ended(None, now, result))
            }
            Msg::Calls { id, result } => self.deliver_to_detail(id, |d| d.calls.loaded(result)),
            Msg::Hosting { id, result } => self.deliver_to_detail(id, |d| {
                d.hosting.asking = false;
                d.hosting.known = Some(result);
            }),
            Msg::Call { id, result } => {
                self.call_arrived(id, result);
                Vec::new()
            }
            Msg::CallProgress { id, call, progress } => {
                self.deliver_to_detail(id, |d| d.tools.progressed(call, progress))
            }
            Msg::Elicit { id, request, reply } => self.elicitation(id, request, reply),
            Msg::LogsLoaded { id, result } => self.deliver_to_detail(id, |d| d.logs.loaded(result)),
            Msg::History { id, result } => {
                // Looking at the past: its history up to the moment shown.
                let until = self.travel.as_ref().map(|t| t.at);
                self.deliver_to_detail(id, |d| d.history_loaded(result, until))
            }
            Msg::Probes(result) => {
                self.probes_loaded(result);
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
            Msg::PlatformBatch(evs) => {
                let mut out = Vec::new();
                for ev in evs {
                    out.extend(self.platform(ev));
                }
                out
            }
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
            Msg::RecentEvents(r) => {
                self.recent_events(r);
                Vec::new()
            }
            Msg::Done(r) | Msg::Notice(r) => {
                match r {
                    Ok(t) => self.toast(Level::Ok, t),
                    Err(e) => self.toast(Level::Error, e.to_string()),
                }
                Vec::new()
            }
            Msg::Saved(r) => {
                self.dirty = true;
                self.saved(r)
            }
            Msg::ContextSwitched(r) => self.context_switched(r),
            Msg::Paste(text) => {
                self.paste(&text);
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
                self.edit_target(r);
                Vec::new()
            }
            Msg::Theirs(r) => {
                self.theirs(r);
                Vec::new()
            }
            Msg::DraftFailed(e) => {
                self.toast(Level::Error, e.to_string());
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
                self.instances.rows_dirty = true;
                self.dirty = true;
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
                    Err(e) => self.toast(Level::Error, e.to_string()),
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
                    Err(e) => self.toast(Level::Error, e.to_string()),
                }
                Vec::new()
            }
        }
    }

    fn tick(&mut self, now: DateTime<Utc>) -> Vec<Command> {
        let mut out = Vec::new();
        if let Some(s) = self.edit_mut()
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
            out.extend(self.surface_tick());
            out.extend(self.history_tick());
            out.extend(self.hosting_tick());
        }
        // The Logs tab reads what is new at every tick while open.
        out.extend(self.logs_tick());
        self.now = now;
        self.show_next_elicitation();
        if self.in_flight > 0 {
            self.spinner = self.spinner.wrapping_add(1);
            self.dirty = true;
        }
        let before = self.instances.flash.len();
        self.instances.flash.retain(|_, (until, _)| *until > now);
        if self.instances.flash.len() != before {
            self.dirty = true;
        }
        if self.toast.as_ref().is_some_and(|t| t.until <= now) {
            self.toast = None;
            self.dirty = true;
        }
        if self.instances.rows_dirty {
            self.dirty = true;
        }
        out
    }

    /// Ask for a fresh `list`, unless one is already on its way.
    fn reload(&mut self) -> Vec<Command> {
        if self.reloading {
            return Vec::new();
        }
        self.reloading = true;
        vec![Command::Reload]
    }
}

#[cfg(test)]
mod tests;
