//! What comes into [`App::update`] ([`Msg`]) and what it asks the runner
//! to perform ([`Command`]).

use super::*;

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
    /// A burst of platform events, in order, applied in one update.
    PlatformBatch(Vec<PlatformEvent>),
    /// The subscription dropped this many events; a reload follows.
    Lagged(u64),
    Loaded(Result<Vec<Instance>, PlatformError>),
    History {
        id: Uuid,
        result: Result<Vec<Envelope>, PlatformError>,
    },
    RecentEvents(Result<Vec<Envelope>, PlatformError>),
    /// A mutation finished: the sentence for the toast.
    Done(Result<String, TaskError>),
    /// A save from the editor finished.
    Saved(Result<Instance, PlatformError>),
    ThemeLoaded(Result<Theme, crate::tui::theme::ThemeError>),
    KeymapLoaded(Result<Keymap, crate::tui::keymap::KeymapError>),
    /// Text pasted into the terminal.
    Paste(String),
    /// Drafts found at start.
    Drafts(Vec<Draft>),
    /// A fresh copy of an instance, to open in the editor.
    EditTarget(Result<Instance, PlatformError>),
    /// The instance as it is now, after a save hit a conflict.
    Theirs(Result<Instance, PlatformError>),
    /// A draft file could not be written or removed.
    DraftFailed(DraftFailure),
    /// Something not counted as in flight finished (a dump): the toast.
    Notice(Result<String, TaskError>),
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
    /// Which replica hosts an instance, for the Overview.
    Hosting {
        id: Uuid,
        result: Result<Option<crate::platform::Hosting>, PlatformError>,
    },
    /// An instance's recorded calls, for the History tab.
    Calls {
        id: Uuid,
        result: Result<Vec<crate::platform::history::CallRecord>, PlatformError>,
    },
    /// One recorded call in full, for the pager.
    Call {
        id: Uuid,
        result: Result<crate::platform::history::CallRecord, PlatformError>,
    },
    /// Progress of call number `call` from the Tools tab.
    CallProgress {
        id: Uuid,
        call: u64,
        progress: crate::platform::CallProgress,
    },
    /// A server asks for input during a call from the Tools tab: the
    /// form's answer goes to `reply` (the UI never waits for it).
    Elicit {
        id: Uuid,
        request: crate::platform::ElicitRequest,
        reply: super::elicit::ElicitReply,
    },
    /// An instance's log from the cursor asked, for the Logs tab.
    LogsLoaded {
        id: Uuid,
        result: Result<crate::platform::LogPage, PlatformError>,
    },
    /// The runtime's last probe of each running instance.
    Probes(Result<Vec<Probe>, PlatformError>),
    /// `:ctx NAME` connected (the context's name and backend), or why not.
    ContextSwitched(Result<(String, BackendInfo), ContextError>),
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
    pub(super) fn settles(&self) -> bool {
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

/// A draft file that could not be written or removed; the toast's sentence.
#[derive(Debug, thiserror::Error)]
pub enum DraftFailure {
    #[error("draft not saved: {0}")]
    NotSaved(crate::tui::drafts::DraftError),
    #[error("draft not removed: {0}")]
    NotRemoved(crate::tui::drafts::DraftError),
}

/// Why the console could not switch to a context; one sentence each.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// No connector was given (a console started without contexts).
    #[error("this console cannot switch contexts")]
    CannotSwitch,
    /// The context's settings do not resolve.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The context names no server to connect to.
    #[error(
        "context '{}' names no api_url; add one to [contexts.{}]",
        crate::domain::text::shown(.0),
        crate::domain::text::shown(.0)
    )]
    NoApiUrl(String),
    /// The platform could not be built or did not answer.
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

/// Why a task the toast reports on failed; one sentence each.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("no instance selected")]
    NothingSelected,
    /// The one instance acted on.
    #[error("{verb} failed: {first}")]
    Failed {
        verb: &'static str,
        first: PlatformError,
    },
    /// Some of several.
    #[error("{verb}: {failed} of {total} failed; first: {first}")]
    SomeFailed {
        verb: &'static str,
        failed: usize,
        total: usize,
        first: PlatformError,
    },
    /// A platform call that reports itself (reading the stream).
    #[error(transparent)]
    Platform(PlatformError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
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
    /// Call a tool (arguments already checked against its schema); `call`
    /// numbers it for [`Command::CancelCall`].
    CallTool {
        id: Uuid,
        tool: String,
        args: serde_json::Value,
        call: u64,
    },
    /// Cancel call number N (the server is sent `notifications/cancelled`).
    CancelCall(u64),
    /// Read an instance's recorded calls (History tab).
    LoadCalls(Uuid),
    /// Read which replica hosts an instance (Overview).
    LoadHosting(Uuid),
    /// Read one recorded call in full.
    LoadCall {
        id: Uuid,
        call: i64,
    },
    /// Read an instance's log after the cursor `after` (none: all kept).
    LoadLogs {
        id: Uuid,
        after: Option<u64>,
    },
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
    /// Write an incident bundle of an instance over this window to the
    /// data dir's `incidents/`; the toast names the file.
    Incident {
        id: Uuid,
        name: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// Show the instances as they were at this moment.
    OpenMoment(DateTime<Utc>),
    /// Find the previous / next moment that changed anything visible.
    StepMoment {
        at: DateTime<Utc>,
        forward: bool,
        visible: crate::tui::timetravel::Visible,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_error_is_the_sentence_the_toast_shows() {
        assert_eq!(
            ContextError::NoApiUrl("lab".into()).to_string(),
            "context 'lab' names no api_url; add one to [contexts.lab]"
        );
        assert_eq!(
            ContextError::CannotSwitch.to_string(),
            "this console cannot switch contexts"
        );
        assert_eq!(
            ContextError::from(PlatformError::Unavailable("connection refused".into())).to_string(),
            "connection refused"
        );
    }

    #[test]
    fn a_draft_failure_says_which_and_why() {
        use crate::tui::drafts::DraftError;
        assert_eq!(
            DraftFailure::NotSaved(DraftError::BadKey("a b".into())).to_string(),
            "draft not saved: 'a b' is not a draft key (letters, digits and '-' only)"
        );
        assert_eq!(
            DraftFailure::NotRemoved(DraftError::BadKey("x".into())).to_string(),
            "draft not removed: 'x' is not a draft key (letters, digits and '-' only)"
        );
    }
}
