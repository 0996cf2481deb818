use super::output::{self, inert};
use super::{Cli, Command, ConfigCmd, EventsArgs, InstancesCmd, LogsCmd, Output, exit};
use crate::domain::spec::{self, Report, Severity};
use crate::domain::{InstanceDocument, InstancePatch, NewInstance, Precondition};
use crate::host::{Hosted, RelayWhen};
use crate::paths::{self, DataDir};
use crate::platform::embedded::{EmbeddedOptions, EmbeddedPlatform, Role};
use crate::platform::profile::Route;
use crate::platform::{
    EventQuery, Platform, PlatformError, PlatformEvent, ReadOnly, names, readback,
};
use serde_json::Value;
use std::collections::HashSet;
use std::io::{IsTerminal, Read, Write};
use std::sync::Arc;

/// A failed command: an exit code and one sentence (plus details lines).
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
    pub details: Vec<String>,
}

impl Failure {
    pub(super) fn new(code: i32, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }
}

impl From<PlatformError> for Failure {
    fn from(e: PlatformError) -> Self {
        let details = match &e {
            PlatformError::InvalidSpec(r) => issue_lines(r),
            _ => Vec::new(),
        };
        Failure {
            code: e.exit_code(),
            message: e.to_string(),
            details,
        }
    }
}

fn issue_lines(r: &Report) -> Vec<String> {
    r.issues
        .iter()
        .map(|i| {
            let sev = match i.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "note",
            };
            let ptr = if i.pointer.is_empty() {
                "/"
            } else {
                &i.pointer
            };
            format!("{sev}: {}: {}", inert(ptr), inert(&i.message))
        })
        .collect()
}

type Outcome = Result<(), Failure>;

/// Let the console's threads share one glibc malloc arena (before any
/// thread starts). With an arena per thread (glibc's default: up to 8 per
/// core), what one thread allocates and another frees stays in the first
/// one's arena: the instances read and parsed on a blocking thread, the
/// events decoded on the event-log tail's thread, both freed on the UI
/// thread. Their freed blocks lie between live ones and the heap trim
/// cannot give their pages back; at 100k instances and a 100k-event burst
/// the console kept 153-209 MB resident, 125-133 MB with one arena
/// (BENCHMARKS.md, row 5). The console's threads rarely allocate at the
/// same time, and glibc's per-thread cache serves most small blocks
/// without the arena's lock; `aacon serve` and the other commands, whose
/// threads do, keep glibc's default.
fn one_heap_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it takes the
    // allocator's own lock and has no other precondition.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Run the parsed command line; returns the process exit code.
pub fn run(mut cli: Cli) -> i32 {
    if cli.command.is_none() {
        one_heap_arena();
    }
    let data_dir = match paths::data_dir(cli.global.data_dir.as_deref()) {
        Ok(d) => DataDir::new(d),
        Err(e) => return report(Failure::new(exit::RUNTIME, e.to_string()), cli.global.debug),
    };
    if let Err(e) = data_dir.ensure() {
        return report(Failure::new(exit::RUNTIME, e.to_string()), cli.global.debug);
    }
    // A broken config is reported by the commands that need it; logging and
    // `aacon config …` still work.
    let settings = super::serve_cmd::settings(&cli.global).ok();
    let filter = settings
        .as_ref()
        .map(|s| s.log_level.clone())
        .unwrap_or_else(|| crate::config::DEFAULT_LOG_LEVEL.into());
    if settings.as_ref().is_some_and(|s| s.read_only) {
        cli.global.read_only = true;
    }
    // The state lives in PostgreSQL when `store.url` names one.
    let data_dir = data_dir.with_store_url(
        settings
            .as_ref()
            .and_then(|s| s.store_url.as_ref())
            .map(|u| paths::StoreUrl::new(u.expose())),
    );
    // Resolved once: the commands read them from here.
    cli.global.settings = settings;
    let _log_guard = crate::logging::init(&data_dir, &filter).ok();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return report(
                Failure::new(
                    exit::RUNTIME,
                    format!("cannot start the async runtime: {e}"),
                ),
                cli.global.debug,
            );
        }
    };
    let debug = cli.global.debug;
    match runtime.block_on(dispatch(cli, data_dir)) {
        Ok(()) => exit::OK,
        Err(f) => report(f, debug),
    }
}

fn report(f: Failure, debug: bool) -> i32 {
    tracing::warn!(code = f.code, message = %f.message, "command failed");
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "aacon: {}", f.message);
    for d in &f.details {
        let _ = writeln!(err, "  {d}");
    }
    if debug {
        let report = color_eyre::eyre::eyre!("{}", f.message)
            .wrap_err(format!("aacon failed with exit code {}", f.code));
        let _ = writeln!(err, "{report:?}");
    }
    f.code
}

async fn dispatch(cli: Cli, dir: DataDir) -> Outcome {
    let fmt = cli.global.output;
    if cli.replay.is_some() && cli.command.is_some() {
        return Err(Failure::new(
            exit::USAGE,
            "--replay FILE opens the console on a bundle; give it without a command",
        ));
    }
    match cli.command {
        None if cli.replay.is_some() => {
            let file = cli.replay.clone().unwrap_or_default();
            super::incident::replay(&dir, &cli.global, &file).await
        }
        None => console(&dir, &cli.global).await,
        Some(Command::Incident(args)) => {
            let (platform, embedded) = open_cli_platform(&dir, &cli.global)?;
            warn_workspace(platform.as_ref(), embedded.is_none()).await;
            super::incident::incident(&dir, &cli.global, platform.as_ref(), args, fmt).await
        }
        Some(Command::Instances(cmd)) => {
            let (platform, embedded) = open_cli_platform(&dir, &cli.global)?;
            warn_workspace(platform.as_ref(), embedded.is_none()).await;
            // Connects to Redis (when configured) while the command runs.
            let publish = embedded
                .as_deref()
                .and_then(|e| publish_once(&cli.global, e));
            let out = instances(platform.as_ref(), cmd, fmt).await;
            if let Some(publish) = publish {
                sent_once(publish).await;
            }
            out
        }
        Some(Command::Events(args)) => {
            let (platform, embedded) = open_platform(&dir, &cli.global, args.record)?;
            warn_workspace(platform.as_ref(), embedded.is_none()).await;
            // Embedded with Redis: --follow also shows what other hosts publish.
            let _live = match (&embedded, args.follow) {
                (Some(e), true) => {
                    let settings = super::serve_cmd::settings(&cli.global)?;
                    crate::bus::RedisConfig::from_settings(&settings)
                        .map_err(|e| Failure::new(exit::USAGE, e.to_string()))?
                        .map(|cfg| {
                            crate::bus::Live::start(&cfg, crate::bus::Start::Tip, e.event_sender())
                        })
                }
                _ => None,
            };
            events(platform.as_ref(), args, fmt).await
        }
        Some(Command::Serve(args)) => super::serve_cmd::serve(&dir, &cli.global, args).await,
        Some(Command::Secrets(cmd)) => {
            super::runtime_cmds::secrets(&dir, cmd, fmt, cli.global.read_only)
        }
        Some(Command::Auth(cmd)) => {
            let (platform, embedded) = open_cli_platform(&dir, &cli.global)?;
            if embedded.is_none() {
                return Err(Failure::new(
                    exit::USAGE,
                    "OAuth logins are kept in this machine's secret store for its own runtime; `aacon auth` works on the embedded platform, not in API mode",
                ));
            }
            super::auth_cmd::auth(platform.as_ref(), &dir, cmd, fmt, cli.global.read_only).await
        }
        Some(Command::Tools(cmd)) => {
            let (platform, embedded) = open_cli_platform(&dir, &cli.global)?;
            warn_workspace(platform.as_ref(), embedded.is_none()).await;
            super::runtime_cmds::tools(platform.as_ref(), cmd, fmt).await
        }
        Some(Command::Resources(cmd)) => {
            let (platform, _) = open_cli_platform(&dir, &cli.global)?;
            super::surface_cmds::resources(platform.as_ref(), cmd, fmt).await
        }
        Some(Command::Prompts(cmd)) => {
            let (platform, _) = open_cli_platform(&dir, &cli.global)?;
            super::surface_cmds::prompts(platform.as_ref(), cmd, fmt).await
        }
        Some(Command::Completions { shell }) => completions(&shell),
        Some(Command::Man) => man(),
        Some(Command::Doctor) => super::doctor::doctor(&dir, &cli.global, fmt).await,
        Some(Command::Logs(cmd)) => logs(&dir, cmd).await,
        Some(Command::Config(cmd)) => config(&cli.global, cmd),
        Some(Command::Host(cmd)) => super::host::host(&dir, &cli.global, cmd, fmt).await,
    }
}

/// In API mode, say when the workspace asked for is not the one the token
/// scopes the data to (AgentArea reads the token's claim, not the header).
async fn warn_workspace(p: &dyn Platform, remote: bool) {
    if !remote {
        return;
    }
    if let Some(note) = p.profile().await.workspace_note {
        eprintln!("aacon: warning: {}", inert(&note));
    }
}

fn config(global: &super::Global, cmd: ConfigCmd) -> Outcome {
    use crate::config;
    let env = |k: &str| std::env::var(k).ok();
    match cmd {
        ConfigCmd::Path => print(&config::describe_locations(global.config.as_deref(), &env)),
        ConfigCmd::Example => print(&config::example()),
        ConfigCmd::Show => {
            // The settings every other command resolves: every flag counts.
            let settings = super::serve_cmd::settings(global)?;
            print(&settings.describe());
        }
    }
    Ok(())
}

/// The console's options from the settings in effect.
pub(super) fn console_options(
    dir: &DataDir,
    settings: &crate::config::Settings,
    read_only: bool,
) -> crate::tui::ConsoleOptions {
    let mut opts = crate::tui::ConsoleOptions::new(dir.root().to_path_buf());
    opts.config_dir = paths::config_dir();
    opts.read_only = read_only;
    opts.theme = settings.theme.clone();
    opts.keymap = settings.keymap.clone();
    opts.tick = std::time::Duration::from_millis(settings.refresh_ms);
    opts.call_timeout_secs = settings.call_timeout_secs;
    opts.on_hangup =
        crate::tui::Ending::from_name(&settings.on_hangup).unwrap_or(crate::tui::Ending::Detach);
    opts
}

/// Open the full-screen console: on the embedded platform (this process
/// hosts the runtime, or takes it over when the current host exits), or on
/// a remote one in API mode.
async fn console(dir: &DataDir, global: &super::Global) -> Outcome {
    let settings = super::serve_cmd::settings(global)?;
    let mut opts = console_options(dir, &settings, global.read_only);
    super::context_cmd::add_contexts(global, &mut opts);
    opts.incident = Some(super::incident::writer(dir, global));
    if let Some(api) = super::serve_cmd::api_options(global)? {
        // What the console observes is recorded unless backend.record is
        // false; a recording made by others is read either way.
        let api = with_recording(dir, &settings, api, settings.record)?;
        let p: Arc<dyn Platform> = Arc::new(crate::platform::api::ApiPlatform::new(api)?);
        return crate::tui::run(p, opts)
            .await
            .map_err(|e| Failure::new(exit::RUNTIME, format!("{e:#}")));
    }
    let redis = crate::bus::RedisConfig::from_settings(&settings)
        .map_err(|e| Failure::new(exit::USAGE, e.to_string()))?;
    let mut runtime_cfg = super::serve_cmd::runtime_config(&settings);
    // An operator is at this console: a server's elicitation during a call
    // made here gets a form.
    runtime_cfg.elicitation = true;
    let embedded = Hosted::open(dir, Role::Console, &runtime_cfg)?;
    // The console keeps status reports as compact records.
    embedded.compact_status_events();
    embedded.set_retention(super::serve_cmd::retention(&settings));
    // With Redis: the runtime host publishes the outbox, and every console
    // watches the stream (its state shows in the header).
    let hosted = Hosted::start(
        embedded.clone(),
        Role::Console,
        runtime_cfg,
        redis.clone(),
        RelayWhen::IfHosting,
        std::time::Duration::from_secs(2),
    );
    // The backfill is sent once: start the watcher when the console listens.
    // The sink also remembers the source's last state, for a subscriber
    // that arrives after it was announced.
    let subscribed = Arc::new(tokio::sync::Notify::new());
    opts.subscribed = Some(subscribed.clone());
    let sink = crate::bus::Remember::new(embedded.event_sender());
    opts.source_memo = Some(sink.last.clone());
    let live = redis.as_ref().map(|cfg| {
        embedded.attach_stream(cfg.clone());
        let cfg = cfg.clone();
        tokio::spawn(async move {
            subscribed.notified().await;
            let _live =
                crate::bus::Live::start(&cfg, crate::bus::Start::Backfill(cfg.backfill), sink);
            futures::future::pending::<()>().await;
        })
    });
    let p: Arc<dyn Platform> = embedded.clone();
    let out = crate::tui::run_console(p, opts)
        .await
        .map_err(|e| Failure::new(exit::RUNTIME, format!("{e:#}")));
    if let Some(live) = live {
        live.abort();
    }
    let detach = matches!(out, Ok(crate::tui::Ending::Detach)) && embedded.is_runtime_host();
    if detach {
        return super::host::detach(dir, global, hosted).await;
    }
    // Stop every managed process, then flush what is left of the outbox.
    hosted.shutdown().await;
    out.map(|_| ())
}

/// A one-shot command tries once to publish what it committed; what Redis
/// does not take waits in the outbox for the runtime host's relay. `None`
/// without Redis; else the connection is being made from now on.
fn publish_once(
    global: &super::Global,
    embedded: &EmbeddedPlatform,
) -> Option<crate::bus::RelayOnce<crate::store::BoxedStore>> {
    let settings = super::serve_cmd::settings(global).ok()?;
    let cfg = crate::bus::RedisConfig::from_settings(&settings).ok()??;
    Some(crate::host::publish_once(embedded, cfg))
}

/// Send what the command committed (see [`publish_once`]), and say so when
/// Redis did not take it.
async fn sent_once(publish: crate::bus::RelayOnce<crate::store::BoxedStore>) {
    match tokio::time::timeout(std::time::Duration::from_secs(3), publish.send()).await {
        Ok(Ok(n)) => tracing::info!(sent = n, "published the outbox to Redis"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "Redis did not take the outbox; the runtime host's relay will");
            eprintln!("aacon: events wait in the outbox for the runtime host: {e}");
        }
        Err(_) => eprintln!(
            "aacon: events wait in the outbox for the runtime host: Redis did not answer within 3 s"
        ),
    }
}

/// The embedded platform, or the API adapter when `--api`/`AACON_API_URL`
/// (or `backend.api_url` in the config) names one; the embedded platform
/// itself too, when that is what runs.
#[allow(clippy::type_complexity)]
fn open_cli_platform(
    dir: &DataDir,
    global: &super::Global,
) -> Result<(Arc<dyn Platform>, Option<Arc<EmbeddedPlatform>>), Failure> {
    open_platform(dir, global, false)
}

/// The API options with this data dir's recording of that remote: written
/// when `write`, else only read (by `--at`, `--between`).
fn with_recording(
    dir: &DataDir,
    settings: &crate::config::Settings,
    mut api: crate::platform::api::ApiOptions,
    write: bool,
) -> Result<crate::platform::api::ApiOptions, Failure> {
    api.recording = Some(crate::platform::api::RecordOptions::new(
        dir.root(),
        &api,
        write,
        settings.record_max_days,
        settings.record_max_mb,
    )?);
    Ok(api)
}

/// [`open_cli_platform`]; in API mode, recording what it observes when
/// `record` (`events --follow --record`).
#[allow(clippy::type_complexity)]
fn open_platform(
    dir: &DataDir,
    global: &super::Global,
    record: bool,
) -> Result<(Arc<dyn Platform>, Option<Arc<EmbeddedPlatform>>), Failure> {
    let api = super::serve_cmd::api_options(global)?;
    if record && api.is_none() {
        return Err(Failure::new(
            exit::USAGE,
            "--record is for API mode (--api or AACON_API_URL): the embedded platform keeps its own event log",
        ));
    }
    let (p, embedded): (Arc<dyn Platform>, _) = match api {
        Some(opts) => {
            let settings = super::serve_cmd::settings(global)?;
            let opts = with_recording(dir, &settings, opts, record)?;
            let api = crate::platform::api::ApiPlatform::new(opts)?;
            if record {
                if let Some(why) = api.recording_problem() {
                    return Err(Failure::new(exit::RUNTIME, format!("cannot record: {why}")));
                }
                if let Some(r) = api.recording() {
                    eprintln!(
                        "aacon: recording what is observed of {} into {}",
                        r.source,
                        r.path.display()
                    );
                }
            }
            (Arc::new(api), None)
        }
        None => {
            // A tool call nobody hosts runs here, as the config says.
            let settings = super::serve_cmd::settings(global)?;
            let e = Arc::new(crate::host::open_embedded_with(
                dir.clone(),
                EmbeddedOptions {
                    role: Role::Cli,
                    host_runtime: false,
                },
                super::serve_cmd::runtime_config(&settings),
            )?);
            e.set_retention(super::serve_cmd::retention(&settings));
            (e.clone(), Some(e))
        }
    };
    let p = if global.read_only {
        Arc::new(ReadOnly(p))
    } else {
        p
    };
    Ok((p, embedded))
}

fn read_source(src: &str, what: &str) -> Result<String, Failure> {
    let mut text = String::new();
    if src == "-" {
        std::io::stdin().read_to_string(&mut text).map_err(|e| {
            Failure::new(
                exit::USAGE,
                format!("cannot read the {what} from stdin: {e}"),
            )
        })?;
    } else {
        text = std::fs::read_to_string(src).map_err(|e| {
            Failure::new(
                exit::USAGE,
                format!("cannot read the {what} from {src}: {e}"),
            )
        })?;
    }
    Ok(text)
}

fn parse_json(text: &str, src: &str, what: &str) -> Result<Value, Failure> {
    let from = if src == "-" {
        "stdin".to_string()
    } else {
        src.to_string()
    };
    serde_json::from_str(text).map_err(|e| {
        Failure::new(
            exit::VALIDATION,
            format!(
                "the {what} in {from} is not valid JSON: line {} column {}: {}",
                e.line(),
                e.column(),
                first_clause(&e.to_string())
            ),
        )
    })
}

/// serde_json's message without its trailing " at line L column C".
fn first_clause(msg: &str) -> String {
    msg.split(" at line ").next().unwrap_or(msg).to_string()
}

fn warn_issues(spec: &Value) {
    let r = spec::validate(spec);
    for line in issue_lines(&r)
        .into_iter()
        .filter(|l| !l.starts_with("error"))
    {
        eprintln!("aacon: {line}");
    }
}

pub(super) fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

async fn instances(p: &dyn Platform, cmd: InstancesCmd, fmt: Output) -> Outcome {
    match cmd {
        InstancesCmd::List { at: Some(at) } => super::at::list(p, &at, fmt).await?,
        InstancesCmd::Get { key, at: Some(at) } => super::at::get(p, &key, &at, fmt).await?,
        InstancesCmd::List { at: None } => {
            let list = p.list().await?;
            print(&output::instances_on(&list, fmt, keeps_versions(p).await));
        }
        InstancesCmd::Get { key, at: None } => {
            let inst = p.get(&key).await?;
            print(&output::instance_on(&inst, fmt, keeps_versions(p).await));
        }
        InstancesCmd::Create {
            name,
            spec: src,
            description,
            server_spec_id,
        } => {
            let text = read_source(&src, "json_spec")?;
            let json_spec = parse_json(&text, &src, "json_spec")?;
            let inst = readback::create(
                p,
                NewInstance {
                    name,
                    description,
                    server_spec_id,
                    json_spec: json_spec.clone(),
                },
            )
            .await?;
            warn_issues(&json_spec);
            print(&output::instance_on(&inst, fmt, keeps_versions(p).await));
        }
        InstancesCmd::Apply {
            file,
            expect_version,
        } => apply(p, &file, expect_version, fmt).await?,
        InstancesCmd::Delete { key, yes } => {
            let inst = p.get(&key).await?;
            if !yes {
                confirm(&format!(
                    "delete instance '{}' ({})?",
                    inert(&inst.name),
                    inst.id
                ))?;
            }
            p.delete(inst.id).await?;
            if fmt == Output::Table {
                print(&format!("deleted instance '{}'\n", inert(&inst.name)));
            } else {
                print(&format!(
                    "{}\n",
                    serde_json::json!({"status": "success", "id": inst.id.to_string(), "name": inst.name})
                ));
            }
        }
        InstancesCmd::Start { key } => action(p, &key, true, fmt).await?,
        InstancesCmd::Stop { key } => action(p, &key, false, fmt).await?,
        InstancesCmd::Restart { key } => {
            let inst = p.get(&key).await?;
            action_outcome(p.restart(inst.id).await?, fmt);
        }
        InstancesCmd::Logs { key, follow, level } => {
            super::logs_cmd::logs(p, &key, follow, level.as_deref(), fmt).await?
        }
    }
    Ok(())
}

async fn action(p: &dyn Platform, key: &str, start: bool, fmt: Output) -> Outcome {
    let inst = p.get(key).await?;
    let out = if start {
        p.start(inst.id).await?
    } else {
        p.stop(inst.id).await?
    };
    action_outcome(out, fmt);
    Ok(())
}

/// Whether the platform keeps versions (AgentArea does not): what prints
/// an instance for people names one only then.
async fn keeps_versions(p: &dyn Platform) -> bool {
    p.profile().await.versions
}

fn action_outcome(out: crate::platform::ActionOutcome, fmt: Output) {
    match fmt {
        Output::Table => print(&format!("{}\n", inert(&out.message))),
        _ => {
            print(&output::instance(&out.instance, fmt));
            eprintln!("aacon: {}", inert(&out.message));
        }
    }
}

fn confirm(question: &str) -> Outcome {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::new(
            exit::USAGE,
            "refusing to delete without --yes because stdin is not a terminal",
        ));
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| Failure::new(exit::RUNTIME, format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Failure::new(exit::RUNTIME, "not deleted"))
    }
}

async fn apply(p: &dyn Platform, file: &str, expect_version: Option<u64>, fmt: Output) -> Outcome {
    let text = read_source(file, "instance document")?;
    let raw = parse_json(&text, file, "instance document")?;
    let mut doc: InstanceDocument = serde_json::from_value(raw).map_err(|e| {
        Failure::new(exit::VALIDATION, format!("the instance document is not valid: {e} (expected {{\"name\", \"description\", \"server_spec_id\", \"json_spec\"}}, plus the fields `get -o json` prints)"))
    })?;
    match apply_target(p, &doc).await? {
        Some(cur) => {
            crate::domain::spec::unredact(
                &mut doc.json_spec,
                &Value::Object(cur.json_spec.clone()),
            );
            let profile = p.profile().await;
            if expect_version.is_some() && !profile.versions && cur.version == 0 {
                return Err(Failure::new(
                    exit::USAGE,
                    format!(
                        "{} keeps no versions, so --expect-version cannot be checked; apply the document `get -o json` prints instead (its updated_at is the precondition)",
                        profile.platform_name()
                    ),
                ));
            }
            let patch = InstancePatch {
                name: (doc.name != cur.name).then(|| doc.name.clone()),
                description: Some(doc.description.clone()),
                server_spec_id: Some(doc.server_spec_id.clone()),
                json_spec: Some(doc.json_spec.clone()),
            };
            let changed = patch.changed_fields(&cur);
            if changed.is_empty() {
                if let Some(v) = expect_version.filter(|v| *v != cur.version) {
                    return Err(Failure::new(
                        exit::CONFLICT,
                        format!(
                            "instance '{}' is at version {}, not {v}",
                            inert(&cur.name),
                            cur.version
                        ),
                    ));
                }
                eprintln!(
                    "aacon: instance '{}' unchanged; nothing sent",
                    inert(&cur.name)
                );
                print(&output::instance_on(&cur, fmt, profile.versions));
                return Ok(());
            }
            // The copy the document was made from is the precondition:
            // `version` where the platform keeps one, else `updated_at`.
            let expect = match (expect_version, doc.version, doc.updated_at) {
                (Some(v), _, _) => Some(Precondition::Version(v)),
                (None, Some(v), _) if profile.versions => Some(Precondition::Version(v)),
                (None, _, Some(t)) => Some(Precondition::UpdatedAt(t)),
                _ => None,
            };
            let inst = readback::update(p, cur.id, patch, expect, Some(&cur)).await?;
            warn_issues(&doc.json_spec);
            let version = if profile.versions {
                format!(" to version {}", inst.version)
            } else {
                String::new()
            };
            eprintln!(
                "aacon: instance '{}' updated{version} ({})",
                inert(&inst.name),
                changed.join(", ")
            );
            print(&output::instance_on(&inst, fmt, profile.versions));
        }
        None => {
            if let Some(v) = expect_version {
                return Err(Failure::new(
                    exit::NOT_FOUND,
                    format!(
                        "no instance named '{}' to update at version {v}",
                        inert(&doc.name)
                    ),
                ));
            }
            let inst = readback::create(
                p,
                NewInstance {
                    name: doc.name,
                    description: doc.description,
                    server_spec_id: doc.server_spec_id,
                    json_spec: doc.json_spec.clone(),
                },
            )
            .await?;
            warn_issues(&doc.json_spec);
            eprintln!("aacon: instance '{}' created", inert(&inst.name));
            print(&output::instance_on(&inst, fmt, keeps_versions(p).await));
        }
    }
    Ok(())
}

/// The instance a document updates: the one with its `id` when that
/// exists, else the one with its name; `None` when there is none to update.
/// A name several instances have is refused (nothing is done).
async fn apply_target(
    p: &dyn Platform,
    doc: &InstanceDocument,
) -> Result<Option<crate::domain::Instance>, Failure> {
    if let Some(id) = doc.id {
        match p.get(&id.to_string()).await {
            Ok(cur) => return Ok(Some(cur)),
            Err(PlatformError::NotFound(_)) => eprintln!(
                "aacon: no instance has the document's id {id}; applying it by name '{}'",
                inert(&doc.name)
            ),
            Err(e) => return Err(e.into()),
        }
    }
    let list = p.list().await?;
    Ok(names::unique(&list, &doc.name, chrono::Utc::now())?.cloned())
}

pub(super) fn no_history(profile: &crate::platform::BackendProfile) -> String {
    format!(
        "{} keeps no event history for clients",
        profile.platform_name()
    )
}

/// Where `--follow`'s events come from on a platform without a history.
fn live_source_words(profile: &crate::platform::BackendProfile) -> String {
    format!(
        "{0}'s own events from its Redis with --redis and [redis] agentarea_pubsub = true, else the changes that polling its instance list reveals",
        profile.platform_name()
    )
}

async fn events(p: &dyn Platform, args: EventsArgs, fmt: Output) -> Outcome {
    if let Some(window) = &args.between {
        return super::at::between(p, window, args.instance.as_deref(), args.limit, fmt).await;
    }
    let instance = match &args.instance {
        Some(key) => Some(p.get(key).await?.id),
        None => None,
    };
    let since = match &args.since {
        Some(d) => Some(
            crate::platform::embedded::since(d)
                .map_err(|e| Failure::new(exit::USAGE, e.to_string()))?,
        ),
        None => None,
    };
    // A platform without an event history (AgentArea) is said so, not
    // shown as an empty one.
    let profile = p.profile().await;
    if !profile.has(Route::EventHistory) && !args.follow {
        return Err(Failure::new(
            exit::RUNTIME,
            format!(
                "{}; nothing to show without --follow, which prints each change as it happens from now on ({}){}",
                no_history(&profile),
                live_source_words(&profile),
                if profile.recorded {
                    "; --between T1 T2 reads what this data dir's recording observed"
                } else {
                    ""
                }
            ),
        ));
    }
    // Subscribe before reading history so nothing falls between the two.
    let mut live = args.follow.then(|| p.subscribe());
    let history = if profile.has(Route::EventHistory) {
        p.events(EventQuery {
            instance,
            since,
            limit: Some(args.limit),
        })
        .await?
    } else {
        eprintln!(
            "aacon: {}; showing changes from now on ({})",
            no_history(&profile),
            live_source_words(&profile)
        );
        Vec::new()
    };
    let mut seen: HashSet<String> = HashSet::new();
    if fmt == Output::Json && !args.follow {
        print(&(serde_json::to_string_pretty(&history).unwrap_or_default() + "\n"));
        return Ok(());
    }
    if fmt == Output::Table {
        print(&(output::event_header() + "\n"));
    }
    for e in &history {
        seen.insert(e.event_id.clone());
        print(&(output::event_line(e, fmt) + "\n"));
    }
    let Some(rx) = live.as_mut() else {
        return Ok(());
    };
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(PlatformEvent::Event(e)) => {
                    if instance.is_some_and(|id| e.instance_id() != Some(id)) || !seen.insert(e.event_id.clone()) {
                        continue;
                    }
                    print(&(output::event_line(&e, fmt) + "\n"));
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    eprintln!("aacon: fell behind and skipped {n} events");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

fn completions(shell: &str) -> Outcome {
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells.completer(shell).ok_or_else(|| {
        Failure::new(
            exit::USAGE,
            format!("no completions for the shell '{shell}'"),
        )
    })?;
    let mut buf = Vec::new();
    completer
        .write_registration("COMPLETE", "aacon", "aacon", "aacon", &mut buf)
        .map_err(|e| {
            Failure::new(
                exit::RUNTIME,
                format!("cannot write the completion script: {e}"),
            )
        })?;
    print(&String::from_utf8_lossy(&buf));
    Ok(())
}

fn man() -> Outcome {
    use clap::CommandFactory;
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| Failure::new(exit::RUNTIME, format!("cannot render the man page: {e}")))?;
    print(&String::from_utf8_lossy(&buf));
    Ok(())
}

/// The newest log file in the data dir.
fn current_log(dir: &DataDir) -> Result<std::path::PathBuf, Failure> {
    let logs = dir.logs();
    let newest = std::fs::read_dir(&logs)
        .map_err(|e| {
            Failure::new(
                exit::RUNTIME,
                format!("cannot read the log dir {}: {e}", logs.display()),
            )
        })?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("aacon.log"))
        })
        .max();
    newest.ok_or_else(|| {
        Failure::new(
            exit::NOT_FOUND,
            format!("no log file yet in {}", logs.display()),
        )
    })
}

async fn logs(dir: &DataDir, cmd: LogsCmd) -> Outcome {
    match cmd {
        LogsCmd::Path => {
            print(&format!("{}\n", current_log(dir)?.display()));
            Ok(())
        }
        LogsCmd::Tail { lines, follow } => {
            let path = current_log(dir)?;
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Failure::new(
                    exit::RUNTIME,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let all: Vec<&str> = text.lines().collect();
            for l in &all[all.len().saturating_sub(lines)..] {
                print(&format!("{}\n", inert(l)));
            }
            if !follow {
                return Ok(());
            }
            let mut offset = text.len() as u64;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
                    _ = tokio::signal::ctrl_c() => return Ok(()),
                }
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue;
                };
                if meta.len() < offset {
                    offset = 0; // rotated or truncated
                }
                if meta.len() > offset {
                    use std::io::Seek;
                    let mut f = std::fs::File::open(&path).map_err(|e| {
                        Failure::new(
                            exit::RUNTIME,
                            format!("cannot read {}: {e}", path.display()),
                        )
                    })?;
                    let _ = f.seek(std::io::SeekFrom::Start(offset));
                    let mut chunk = String::new();
                    let _ = f.read_to_string(&mut chunk);
                    offset += chunk.len() as u64;
                    for l in chunk.lines() {
                        print(&format!("{}\n", inert(l)));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    #[test]
    fn console_options_follow_the_settings() {
        let env = |k: &str| match k {
            "AACON_THEME" => Some("light".to_string()),
            _ => None,
        };
        let file = config::FileConfig::parse(
            std::path::Path::new("c.toml"),
            "[ui]\nrefresh_ms = 1000\nkeymap = \"vim\"\n",
        )
        .unwrap();
        let s = config::Settings::resolve(&config::Overrides::default(), &env, Some(file)).unwrap();
        let o = console_options(&DataDir::new("/d"), &s, true);
        assert_eq!(o.tick, std::time::Duration::from_millis(1000));
        assert_eq!((o.theme.as_str(), o.keymap.as_str()), ("light", "vim"));
        assert!(o.read_only);
    }
}
