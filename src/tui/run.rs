//! The runner: owns the terminal and the `select!` loop, runs platform
//! calls as tasks whose results come back as messages, and draws only when
//! something changed: input at once, live changes at most 60 frames a
//! second (never behind a frame drawn for something else), the rest at most
//! 60 a second ([`Pacer`]).

use super::app::{App, Command, ContextError, Level, Msg};
use super::drafts::Drafts;
use super::keymap::{Keymap, KeymapError};
use super::quit::Ending;
use super::term::{Adapted, Background, TermCaps};
use super::theme::{Theme, ThemeError};
use super::views;
use crate::domain::spec::unredact;
use crate::paths::DataDir;
use crate::platform::{EventQuery, Platform, PlatformEvent, ReadOnly};
use chrono::Utc;
use color_eyre::eyre::{WrapErr, eyre};
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
    EventStream,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use serde_json::Value;
use std::io;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, MissedTickBehavior};

/// Shortest time between two frames (60 per second).
pub const FRAME: Duration = Duration::from_millis(16);
/// How often ages, spinners and highlights are refreshed by default.
pub const TICK: Duration = Duration::from_millis(250);
/// Most subscription events applied between two looks at the keyboard.
const DRAIN: usize = 4096;

/// What the console needs besides the platform.
#[derive(Debug, Clone)]
pub struct ConsoleOptions {
    /// Theme name (a preset or a file in `<config_dir>/themes/`).
    pub theme: String,
    /// Keymap name (a preset; `<config_dir>/keymap.toml` merges over it).
    pub keymap: String,
    pub data_dir: PathBuf,
    pub config_dir: Option<PathBuf>,
    /// Refuse every mutation (the platform is wrapped in [`ReadOnly`]).
    pub read_only: bool,
    /// Honour `NO_COLOR`.
    pub no_color: bool,
    /// How often ages, spinners and toasts are refreshed (`ui.refresh_ms`);
    /// live changes are drawn as they arrive regardless.
    pub tick: Duration,
    /// Notified once the console subscribed to the platform's events, so
    /// a source that replays history (the stream's backfill) starts then
    /// and nothing it sends is missed.
    pub subscribed: Option<Arc<tokio::sync::Notify>>,
    /// The terminal's background, when it says (`COLORFGBG`).
    pub terminal_background: Option<Background>,
    /// The event source's state as last announced (it may have connected
    /// before the console subscribed).
    pub source_memo: Option<crate::platform::SourceMemo>,
    /// The config's contexts (for `:ctx`; never their tokens).
    pub contexts: Vec<crate::config::ContextSummary>,
    /// The context the console starts on (`--context`), if named.
    pub context: Option<String>,
    /// Connects to a context by name (`:ctx NAME`).
    pub connector: Option<Connector>,
    /// What a hangup (SIGHUP, the terminal gone) does to the instances this
    /// console runs (`ui.on_hangup`): detach by default, since the operator
    /// asked for nothing to stop.
    pub on_hangup: Ending,
    /// `runtime.call_timeout_secs` (the Tools tab shows a call's timeout).
    pub call_timeout_secs: u64,
    /// Writes an incident bundle (the detail view's key); `None`: this
    /// console cannot (a replay).
    pub incident: Option<IncidentWriter>,
    /// The banner when the console replays an incident bundle.
    pub replay: Option<String>,
}

/// Writes an incident bundle of an instance over a window, on the
/// platform given; answers the sentence for the toast (naming the file).
#[derive(Clone)]
pub struct IncidentWriter(
    #[allow(clippy::type_complexity)]
    pub  Arc<
        dyn Fn(
                Arc<dyn Platform>,
                uuid::Uuid,
                chrono::DateTime<Utc>,
                chrono::DateTime<Utc>,
            ) -> futures::future::BoxFuture<'static, crate::platform::Result<String>>
            + Send
            + Sync,
    >,
);

impl std::fmt::Debug for IncidentWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IncidentWriter")
    }
}

/// Builds the platform of a context by name, and checks it answers.
#[derive(Clone)]
pub struct Connector(
    #[allow(clippy::type_complexity)]
    pub  Arc<
        dyn Fn(
                String,
            )
                -> futures::future::BoxFuture<'static, Result<Arc<dyn Platform>, ContextError>>
            + Send
            + Sync,
    >,
);

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connector")
    }
}

impl ConsoleOptions {
    pub fn new(data_dir: PathBuf) -> ConsoleOptions {
        ConsoleOptions {
            theme: "default".into(),
            keymap: "default".into(),
            data_dir,
            config_dir: None,
            read_only: false,
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            tick: TICK,
            subscribed: None,
            terminal_background: TermCaps::from_env().background,
            source_memo: None,
            contexts: Vec::new(),
            context: None,
            connector: None,
            on_hangup: Ending::Detach,
            call_timeout_secs: crate::config::DEFAULT_CALL_TIMEOUT_SECS,
            incident: None,
            replay: None,
        }
    }
}

/// Load a theme by name (the user's file first, then presets), fitted to
/// the terminal's background.
pub fn load_theme(name: &str, opts: &ConsoleOptions) -> Result<Theme, ThemeError> {
    let mut theme = Theme::load(name, opts.config_dir.as_deref(), opts.no_color)?;
    theme.fit_background(opts.terminal_background);
    Ok(theme)
}

/// Load a keymap by name, with the user's `keymap.toml` merged over it.
pub fn load_keymap(name: &str, opts: &ConsoleOptions) -> Result<Keymap, KeymapError> {
    Keymap::load(name, opts.config_dir.as_deref())
}

/// Restores the terminal when dropped (also on early return and unwind).
pub struct TerminalGuard;

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        enable_raw_mode()?;
        let guard = TerminalGuard;
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste,
            cursor::Hide
        )?;
        Ok(guard)
    }
}

/// Put the terminal back as we found it; safe to call more than once.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Install color-eyre with a panic hook that restores the terminal first.
pub fn install_hooks() {
    let (panic_hook, eyre_hook) = color_eyre::config::HookBuilder::default().into_hooks();
    // Already installed (e.g. by the CLI): keep that one.
    let _ = eyre_hook.install();
    let panic_hook = panic_hook.into_panic_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        // The report also goes to the log file (timestamped), which outlives
        // a terminal that is gone (a dropped SSH session).
        tracing::error!(target: "aacon::panic", "the console panicked: {info}");
        panic_hook(info);
    }));
    // Kill every managed MCP process group first: no orphans, even on a panic.
    crate::host::wrap_panic_hook();
}

/// Open the console on `platform` until the user quits or a signal ends it.
pub async fn run(platform: Arc<dyn Platform>, opts: ConsoleOptions) -> color_eyre::Result<()> {
    run_console(platform, opts).await.map(|_| ())
}

/// As [`run`], and say what should happen to the instances this console
/// runs: the operator's answer to the quit prompt; on a hangup (or a
/// terminal that cannot be read any more) `opts.on_hangup`; on SIGTERM stop.
pub async fn run_console(
    platform: Arc<dyn Platform>,
    opts: ConsoleOptions,
) -> color_eyre::Result<Ending> {
    let platform: Arc<dyn Platform> = if opts.read_only && !platform.info().read_only {
        Arc::new(ReadOnly(platform))
    } else {
        platform
    };
    let theme = load_theme(&opts.theme, &opts).map_err(|e| eyre!(e))?;
    let keymap = load_keymap(&opts.keymap, &opts).map_err(|e| eyre!(e))?;
    let mut app = App::new(theme, keymap, platform.info(), Utc::now());
    app.call_timeout_secs = opts.call_timeout_secs;
    app.replay = opts.replay.clone();
    app.set_contexts(
        opts.contexts.clone(),
        opts.context.clone(),
        platform.info().name,
    );
    // Colours, glyphs and background as this terminal can show them.
    let caps = TermCaps::from_env();
    tracing::info!(
        colours = %caps.describe_colours(),
        charset = %caps.describe_charset(),
        "terminal"
    );

    install_hooks();
    let _guard = TerminalGuard::enter().wrap_err("cannot set up the terminal")?;
    let mut terminal =
        Terminal::new(Adapted::new(io::stdout(), &caps)).wrap_err("cannot set up the terminal")?;
    terminal.clear()?;
    let hangup = Arc::new(AtomicBool::new(false));
    let signals = signals(hangup.clone())?;
    let on_hangup = opts.on_hangup;
    let out = run_loop_with(
        &mut terminal,
        &mut app,
        platform,
        opts,
        EventStream::new(),
        signals,
        true,
    )
    .await;
    let hung_up = hangup.load(Ordering::SeqCst) || out.as_ref().is_ok_and(|s| s.terminal_lost);
    // A terminal that is gone (a dropped SSH session) fails every write, and
    // ratatui reports a cursor it cannot show with eprintln!, which panics
    // when stderr is that terminal. Nothing may print to a dead terminal.
    if terminal.show_cursor().is_err() {
        silence_stdio();
    }
    drop(terminal);
    let stats = out?;
    Ok(if hung_up {
        // Keep what runs (unless the config says stop); with nothing
        // running here there is nothing to keep.
        let ending = if app.runs_instances() {
            on_hangup
        } else {
            Ending::Stop
        };
        tracing::info!(?ending, "the terminal hung up");
        ending
    } else if stats.signalled {
        Ending::Stop
    } else {
        app.ending
    })
}

/// Point stdout and stderr at /dev/null (after a hangup).
fn silence_stdio() {
    let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
        return;
    };
    use std::os::fd::AsRawFd;
    for fd in [libc::STDOUT_FILENO, libc::STDERR_FILENO] {
        // SAFETY: dup2 onto the standard descriptors with a valid open fd;
        // `null` stays open until both are done.
        unsafe {
            libc::dup2(null.as_raw_fd(), fd);
        }
    }
}

/// What ended the loop, and how many frames it drew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopStats {
    pub frames: u64,
    pub signalled: bool,
    /// The terminal could not be read any more (it is gone).
    pub terminal_lost: bool,
}

type Signals = std::pin::Pin<Box<dyn futures::Future<Output = ()> + Send>>;

/// A future that resolves on SIGTERM or SIGHUP; a SIGHUP sets `hangup`.
fn signals(hangup: Arc<AtomicBool>) -> io::Result<Signals> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    Ok(Box::pin(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => hangup.store(true, Ordering::SeqCst),
        }
    }))
}

/// Test-only: with `AACON_DEBUG_PANIC=<path>`, the real console panics at
/// the first frame drawn once that file exists, so tests can check the panic
/// path (terminal restored, report logged, MCP servers killed). Compiled
/// into debug builds only; release builds have no trigger.
#[cfg(debug_assertions)]
fn debug_panic_trigger(real_terminal: bool) {
    if real_terminal
        && std::env::var_os("AACON_DEBUG_PANIC").is_some_and(|p| std::path::Path::new(&p).exists())
    {
        panic!("deliberate panic (AACON_DEBUG_PANIC)");
    }
}

#[cfg(not(debug_assertions))]
fn debug_panic_trigger(_real_terminal: bool) {}

/// A future that never resolves, for tests without signals.
pub fn no_signals() -> Signals {
    Box::pin(futures::future::pending())
}

/// The event loop, over any backend and input stream (tests use
/// `TestBackend` and a channel).
pub async fn run_loop<B, S>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    platform: Arc<dyn Platform>,
    opts: ConsoleOptions,
    input: S,
    signal: Signals,
) -> color_eyre::Result<LoopStats>
where
    B: Backend,
    S: Stream<Item = io::Result<Event>>,
{
    run_loop_with(terminal, app, platform, opts, input, signal, false).await
}

async fn run_loop_with<B, S>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    platform: Arc<dyn Platform>,
    opts: ConsoleOptions,
    input: S,
    signal: Signals,
    real_terminal: bool,
) -> color_eyre::Result<LoopStats>
where
    B: Backend,
    S: Stream<Item = io::Result<Event>>,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let drafts = match Drafts::open(DataDir::new(&opts.data_dir).drafts()) {
        Ok(d) => Some(Arc::new(d)),
        Err(e) => {
            app.toast(Level::Error, format!("drafts are off: {e}"));
            None
        }
    };
    {
        // What the backend can do: asked once, off the way to the first frame.
        let (tx, p) = (tx.clone(), platform.clone());
        tokio::spawn(async move {
            let _ = tx.send(Msg::Profile(p.profile().await));
        });
    }
    if real_terminal {
        // It may ask tmux (at most a second): not on the way to the first frame.
        let tx = tx.clone();
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(Msg::Clipboard(super::clipboard::detect()));
        });
    }
    let (switch_tx, mut switch_rx) = mpsc::unbounded_channel::<Switched>();
    // The platform the console started on, to switch back to without a reconnect.
    let start_platform = platform.clone();
    let start_name = opts
        .context
        .clone()
        .unwrap_or_else(|| super::app::START_CONTEXT.to_string());
    let mut io = Io {
        switch: switch_tx,
        start_platform,
        start_name,
        platform: platform.clone(),
        tx: tx.clone(),
        opts: opts.clone(),
        drafts: drafts.clone(),
        osc52: real_terminal,
        calls: Default::default(),
    };
    let mut sub = Some(platform.subscribe());
    // Subscribed first, then read: a later change arrives on `sub`.
    if let Some(state) = remembered_source(&opts) {
        app.update(Msg::Platform(PlatformEvent::Source(state)));
    }
    if let Some(n) = &opts.subscribed {
        n.notify_one();
    }
    let mut input = pin!(input);
    let mut signal = signal;
    let mut tick = tokio::time::interval(opts.tick.max(FRAME));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut stats = LoopStats {
        frames: 0,
        signalled: false,
        terminal_lost: false,
    };
    let mut pacer = Pacer::default();
    let mut trim = HeapTrim::default();
    let startup = app.init();
    perform(startup, &io);
    watch_runtime_host(platform.clone(), tx.clone());

    loop {
        if app.quit {
            break;
        }
        if !app.dirty {
            pacer.idle();
        }
        let now = Instant::now();
        if app.dirty && now >= pacer.due(now) {
            app.prepare();
            if let Err(e) = terminal.draw(|f| views::render(f, app)) {
                if !real_terminal {
                    return Err(e.into());
                }
                // The terminal went away (a dropped SSH session): as a hangup.
                tracing::warn!(error = %e, "cannot draw on the terminal; closing the console");
                stats.terminal_lost = true;
                break;
            }
            tracing::trace!(target: "aacon::stage", "drawn");
            app.dirty = false;
            stats.frames += 1;
            debug_panic_trigger(real_terminal);
            pacer.drawn(Instant::now());
        }
        let deadline = if app.dirty {
            pacer.due(now)
        } else {
            now + Duration::from_secs(3600)
        };
        let mut msgs = Vec::new();
        tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(Event::Key(k))) => msgs.push(Msg::Key(k)),
                Some(Ok(Event::Mouse(m))) => msgs.push(Msg::Mouse(m)),
                Some(Ok(Event::Paste(t))) => msgs.push(Msg::Paste(t)),
                Some(Ok(Event::Resize(_, _))) => {
                    // A resize storm costs one frame per 16 ms, not one per event.
                    if let Err(e) = terminal.autoresize() {
                        if !real_terminal {
                            return Err(e.into());
                        }
                        tracing::warn!(error = %e, "cannot size the terminal; closing the console");
                        stats.terminal_lost = true;
                        break;
                    }
                    msgs.push(Msg::Resize);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) if !real_terminal => return Err(eyre!("cannot read the terminal: {e}")),
                Some(Err(e)) => {
                    // The terminal went away (a dropped SSH session): as a hangup.
                    tracing::warn!(error = %e, "cannot read the terminal; closing the console");
                    stats.terminal_lost = true;
                    break;
                }
                None => break,
            },
            r = recv(&mut sub) => {
                tracing::trace!(target: "aacon::stage", "received");
                // The burst goes to the app in one update, before the next frame.
                let mut burst = Vec::new();
                match r {
                    Ok(ev) => burst.push(ev),
                    Err(broadcast::error::RecvError::Lagged(n)) => msgs.push(Msg::Lagged(n)),
                    Err(broadcast::error::RecvError::Closed) => {
                        sub = None;
                        msgs.push(Msg::Platform(PlatformEvent::Source(crate::platform::SourceState::Off)));
                    }
                }
                if let Some(rcv) = sub.as_mut() {
                    for _ in 0..DRAIN {
                        match rcv.try_recv() {
                            Ok(ev) => burst.push(ev),
                            Err(broadcast::error::TryRecvError::Lagged(n)) => {
                                if !burst.is_empty() {
                                    msgs.push(Msg::PlatformBatch(std::mem::take(&mut burst)));
                                }
                                msgs.push(Msg::Lagged(n));
                            }
                            Err(_) => break,
                        }
                    }
                }
                if !burst.is_empty() {
                    msgs.push(Msg::PlatformBatch(burst));
                }
            },
            Some(m) = rx.recv() => {
                msgs.push(m);
                while let Ok(m) = rx.try_recv() {
                    msgs.push(m);
                }
            },
            Some((name, result)) = switch_rx.recv() => {
                let result = match result {
                    Ok(p) => {
                        let p: Arc<dyn Platform> = if opts.read_only && !p.info().read_only {
                            Arc::new(ReadOnly(p))
                        } else {
                            p
                        };
                        // Results still on their way from the old platform
                        // go to a channel nobody reads.
                        let (tx2, rx2) = mpsc::unbounded_channel::<Msg>();
                        rx = rx2;
                        io.tx = tx2;
                        sub = Some(p.subscribe());
                        let info = p.info();
                        io.platform = p;
                        tracing::info!(context = %name, backend = %info.name, "switched context");
                        Ok((name, info))
                    }
                    Err(e) => Err(e),
                };
                let back_to_start = matches!(&result, Ok((n, _)) if *n == io.start_name);
                msgs.push(Msg::ContextSwitched(result));
                // Back on the platform the console started on: its event
                // source announced its state long ago.
                if back_to_start && let Some(state) = remembered_source(&opts) {
                    msgs.push(Msg::Platform(PlatformEvent::Source(state)));
                }
            },
            _ = tick.tick() => {
                trim.on_tick();
                msgs.push(Msg::Tick(Utc::now()));
            }
            _ = tokio::time::sleep_until(deadline) => {},
            _ = &mut signal => {
                tracing::info!("signal received; closing the console");
                stats.signalled = true;
                break;
            }
        }
        for m in msgs {
            let live = matches!(m, Msg::Platform(_) | Msg::PlatformBatch(_));
            if live {
                pacer.live = true;
            }
            match &m {
                Msg::Platform(_) => trim.events += 1,
                Msg::PlatformBatch(b) => trim.events += b.len() as u64,
                Msg::Key(_) | Msg::Paste(_) => {
                    pacer.input = true;
                    // What the operator types is judged against the wall
                    // clock, not the last tick: `:at` a moment noted a
                    // moment ago is not "in the future".
                    app.now = app.now.max(Utc::now());
                }
                _ => {}
            }
            let cmds = app.update(m);
            if live {
                tracing::trace!(target: "aacon::stage", "applied");
            }
            perform(cmds, &io);
        }
    }
    // Unsaved editor text survives a signal, a dropped session or a quit.
    if let (Some(d), Some(draft)) = (&drafts, app.pending_draft())
        && let Err(e) = d.save(&draft)
    {
        tracing::warn!(error = %e, "could not save the draft on exit");
    }
    Ok(stats)
}

/// When the next frame may be drawn. Input is drawn at once: the frame
/// limit coalesces event bursts, and must not add a frame of delay to a
/// keypress. A live change (the platform's events) waits only for the
/// frame that drew the previous live change, [`FRAME`] at most, so a
/// burst costs at most 60 frames a second, but a change that arrives just
/// after a frame drawn for something else (a tick's ages, a command's
/// result) is not held back behind it. Anything else waits [`FRAME`]
/// after any frame.
#[derive(Debug, Default)]
struct Pacer {
    /// When the last frame was drawn.
    last: Option<Instant>,
    /// When the last frame that drew a live change was drawn.
    last_live: Option<Instant>,
    /// Input arrived since the last frame.
    input: bool,
    /// A live change arrived since the last frame.
    live: bool,
}

impl Pacer {
    /// When what is pending may be drawn (`now` or earlier: at once).
    fn due(&self, now: Instant) -> Instant {
        if self.input {
            return now;
        }
        let paced = self.last.map_or(now, |t| t + FRAME);
        if self.live {
            paced.min(self.last_live.map_or(now, |t| t + FRAME))
        } else {
            paced
        }
    }

    /// A frame was drawn at `at`, with everything pending.
    fn drawn(&mut self, at: Instant) {
        self.last = Some(at);
        if std::mem::take(&mut self.live) {
            self.last_live = Some(at);
        }
        self.input = false;
    }

    /// Nothing needs drawing: what arrived changed nothing on screen.
    fn idle(&mut self) {
        self.input = false;
        self.live = false;
    }
}

/// Events since the heap was last handed back to the OS, past which the
/// next tick does it (every 10 s at 2,000 events/s).
const TRIM_AFTER_EVENTS: u64 = 20_000;
/// After a burst of at least this many events, the first tick with no new
/// events does it too.
const TRIM_AFTER_BURST: u64 = 1_000;

/// Hand freed heap back to the OS after a burst of events. A burst's
/// envelopes are allocated on the reader threads and freed here once the
/// events view lets them go; glibc keeps those pages (per thread arena), so
/// the resident size would stay at the burst's peak long after it ended.
#[derive(Default)]
struct HeapTrim {
    /// Events since the last trim.
    events: u64,
    /// `events` at the previous tick.
    at_last_tick: u64,
}

impl HeapTrim {
    fn on_tick(&mut self) {
        let quiet = self.events == self.at_last_tick;
        self.at_last_tick = self.events;
        if self.events < TRIM_AFTER_EVENTS && !(quiet && self.events >= TRIM_AFTER_BURST) {
            return;
        }
        self.events = 0;
        self.at_last_tick = 0;
        // Off the UI thread: trimming a large heap takes milliseconds.
        tokio::task::spawn_blocking(|| {
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            // SAFETY: malloc_trim only releases free memory; it has no
            // preconditions and is thread-safe.
            unsafe {
                libc::malloc_trim(0);
            }
        });
    }
}

/// How often the header's "runtime:" is asked again (another process may
/// take the runtime over, or let it go).
const HOST_EVERY: Duration = Duration::from_secs(2);

/// Tell the app who hosts the runtime, now and every [`HOST_EVERY`], until
/// the console closes.
fn watch_runtime_host(platform: Arc<dyn Platform>, tx: mpsc::UnboundedSender<Msg>) {
    tokio::spawn(async move {
        loop {
            let host = platform.runtime_host().await;
            if tx.send(Msg::RuntimeHost(host)).is_err() {
                return;
            }
            tokio::time::sleep(HOST_EVERY).await;
        }
    });
}

async fn recv(
    sub: &mut Option<broadcast::Receiver<PlatformEvent>>,
) -> Result<PlatformEvent, broadcast::error::RecvError> {
    match sub {
        Some(s) => s.recv().await,
        None => futures::future::pending().await,
    }
}

use super::views::plural;

/// The event source's state as last announced, when a sink remembers it.
fn remembered_source(opts: &ConsoleOptions) -> Option<crate::platform::SourceState> {
    opts.source_memo
        .as_ref()
        .and_then(|m| m.lock().ok().and_then(|s| s.clone()))
}

/// A context's platform once it answered, or why it did not.
type Switched = (String, Result<Arc<dyn Platform>, ContextError>);

mod perform;
use perform::{Io, perform};
pub use perform::{base64, stop_then_delete};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_change_after_a_frame_drawn_for_something_else_is_drawn_at_once() {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        // A tick's frame (ages), then an event 1 ms later.
        p.drawn(t0);
        let now = t0 + Duration::from_millis(1);
        assert_eq!(p.due(now), t0 + FRAME, "a tick waits for the frame limit");
        p.live = true;
        assert_eq!(p.due(now), now);
        p.drawn(now);
        // The next event of the burst waits for the frame limit.
        let later = now + Duration::from_millis(1);
        p.live = true;
        assert_eq!(p.due(later), now + FRAME);
        // So does anything else.
        p.idle();
        assert_eq!(p.due(later), now + FRAME);
    }

    #[test]
    fn input_is_drawn_at_once_and_what_changed_nothing_is_forgotten() {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        p.drawn(t0);
        let now = t0 + Duration::from_millis(1);
        p.input = true;
        assert_eq!(p.due(now), now);
        // A key that changed nothing leaves nothing pending.
        p.idle();
        assert_eq!(p.due(now), t0 + FRAME);
        // The first frame of all is due at once.
        assert_eq!(Pacer::default().due(now), now);
    }
}
