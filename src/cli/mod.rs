//! The command line: argument shapes (clap) and the commands behind them.
//! The console opens when no subcommand is given.

mod at;
mod auth_cmd;
mod call_watch;
mod commands;
mod context_cmd;
mod doctor;
mod history_cmd;
mod host;
mod incident;
mod logs_cmd;
mod output;
mod runtime_cmds;
mod serve_cmd;
mod surface_cmds;

pub use commands::run;
pub use incident::argv;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::ArgValueCandidates;
use std::path::PathBuf;

/// Exit codes scripts can rely on.
pub mod exit {
    pub const OK: i32 = 0;
    pub const RUNTIME: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const VALIDATION: i32 = 3;
    pub const NOT_FOUND: i32 = 4;
    pub const CONFLICT: i32 = 5;
    pub const AMBIGUOUS: i32 = 6;
    pub const NOT_APPLIED: i32 = 7;
}

#[derive(Debug, Parser)]
#[command(
    name = "aacon",
    version,
    about = "aacon — the AgentArea console: watch, edit and run MCP server instances",
    long_about = "aacon — the AgentArea console.\n\nWith no command it opens the full-screen console on the embedded platform (a SQLite store in the data dir and the in-process runtime). The commands below script the same platform.\n\nExit codes: 0 ok, 1 runtime error, 2 usage, 3 validation failed, 4 not found, 5 conflict, 6 a name matches several instances (nothing done), 7 the platform did not apply every field asked."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Open the console read-only on an incident bundle (`aacon incident`
    /// writes one): the instance, its events and log lines over the
    /// bundle's window; `:at` and `[`/`]` move within it.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Data dir (store, drafts, logs). Default: $AACON_DATA_DIR, else the platform's data dir.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Config file. Default: config.toml in $AACON_CONFIG_DIR, else the platform's config dir.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Refuse every change (enforced by the platform, not only hidden).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Show full error reports.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Drive a remote platform through its REST API (AgentArea or `aacon serve`).
    /// Default: $AACON_API_URL, else backend.api_url in the config. Token and
    /// workspace come from AACON_API_TOKEN / AACON_WORKSPACE or the config.
    #[arg(long, global = true, value_name = "URL")]
    pub api: Option<String>,
    /// Redis for live events: the runtime host publishes the outbox to it, consoles and API mode watch it.
    /// Default: $AACON_REDIS_URL, else redis.url in the config.
    #[arg(long, global = true, value_name = "URL")]
    pub redis: Option<String>,
    /// Theme: a preset (default, light, high-contrast, catppuccin-mocha, gruvbox-dark) or themes/NAME.toml in the config dir.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Keymap: a preset (default, vim) or keymaps/NAME.toml in the config dir.
    #[arg(long, global = true, value_name = "NAME")]
    pub keymap: Option<String>,
    /// A platform from the config's [contexts.NAME] (api_url, token or
    /// token_env, workspace, redis); AACON_API_URL/_TOKEN, AACON_WORKSPACE
    /// and AACON_REDIS_URL then do not apply. In the console, `:ctx` switches.
    #[arg(long, global = true, value_name = "NAME", env = "AACON_CONTEXT",
          add = ArgValueCandidates::new(context_cmd::context_names))]
    pub context: Option<String>,
    /// Workspace sent as X-Workspace-ID in API mode.
    #[arg(long, global = true, value_name = "ID")]
    pub workspace: Option<String>,
    /// Log filter for the log file (a level, or RUST_LOG-style directives).
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,
    /// The settings these flags resolve to, once resolved (`cli::run` does it
    /// once per process; every command then reads them from here).
    #[arg(skip)]
    pub settings: Option<crate::config::Settings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list, change and remove MCP server instances.
    #[command(subcommand, visible_alias = "i")]
    Instances(InstancesCmd),
    /// Print domain events; with --follow, keep printing as they happen.
    Events(EventsArgs),
    /// Keep secrets for json_spec references (`secret_ref:NAME`).
    #[command(subcommand)]
    Secrets(SecretsCmd),
    /// See and call the tools of an instance's MCP server.
    #[command(subcommand)]
    Tools(ToolsCmd),
    /// List, read and see the templates of an instance's MCP resources.
    #[command(subcommand)]
    Resources(ResourcesCmd),
    /// List an instance's MCP prompts and get one with arguments.
    #[command(subcommand)]
    Prompts(PromptsCmd),
    /// Log in to a remote MCP server that wants OAuth, see or forget the login.
    #[command(subcommand)]
    Auth(AuthCmd),
    /// Print a shell completion script (instance names complete live).
    ///
    /// bash: `source <(aacon completions bash)`; zsh: `source <(aacon completions zsh)`;
    /// fish: `aacon completions fish | source`.
    Completions {
        #[arg(value_parser = ["bash", "zsh", "fish", "elvish", "powershell"])]
        shell: String,
    },
    /// Print the man page (roff) to stdout: `aacon man | man -l -`.
    Man,
    /// Write everything about one instance over a window into one .tar.gz:
    /// spec history with diffs, events, status, restarts, log lines,
    /// doctor's view of the host and a SUMMARY.md (secrets redacted).
    Incident(IncidentArgs),
    /// Check the data dir, store, runtime host, Redis, API, secret store, container runtime, npx/uvx and the terminal.
    Doctor,
    /// Where the log file is, or its last lines.
    #[command(subcommand)]
    Logs(LogsCmd),
    /// Serve the embedded platform through AgentArea's REST API.
    Serve(ServeArgs),
    /// The config file: where it is looked for, an example, the settings in effect.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// A background runtime host: runs the instances without a console (a
    /// console that quits with "detach" starts one).
    #[command(subcommand)]
    Host(HostCmd),
}

#[derive(Debug, Subcommand)]
pub enum HostCmd {
    /// Show which process hosts the runtime of this data dir (exit 4 when none).
    Status,
    /// Stop the background host; its instances stop (desired state stays,
    /// so the next host starts them again).
    Stop,
    /// Start a background host in its own session (it outlives the terminal).
    Start,
    /// Host the runtime in the foreground until SIGTERM or Ctrl-C (what a
    /// background host runs; a hangup is ignored).
    Run,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port). Without a token
    /// (AACON_API_TOKEN or backend.token) only loopback addresses are allowed.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print where the config file, themes and keymaps are looked for.
    Path,
    /// Print a commented example with every key.
    Example,
    /// Print every setting in effect and where it came from (secrets hidden).
    Show,
}

#[derive(Debug, Subcommand)]
pub enum AuthCmd {
    /// Log in (OAuth 2.1 with PKCE): prints the URL to open in a browser on
    /// any machine, then takes the redirect from a loopback listener or the
    /// address pasted back. Tokens go to the secret store, never to the screen.
    Login {
        /// Name or id of a remote instance.
        key: String,
    },
    /// Whether the instance has a login, and when its access token expires.
    Status {
        /// Name or id.
        key: String,
    },
    /// Forget the instance's login (its tokens leave the secret store).
    Logout {
        /// Name or id.
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretsCmd {
    /// Store a secret; the value is read from stdin or a prompt, never from the command line.
    Set { name: String },
    /// List secret names (never values).
    #[command(visible_alias = "ls")]
    List,
    /// Remove a secret.
    Rm { name: String },
}

#[derive(Debug, Subcommand)]
pub enum ToolsCmd {
    /// List the tools the runtime discovered on an instance.
    #[command(visible_alias = "ls")]
    List {
        /// Name or id.
        key: String,
    },
    /// Call a tool with JSON arguments (checked against its input schema).
    Call {
        /// Name or id.
        key: String,
        tool: String,
        /// The arguments, a JSON object.
        #[arg(long, default_value = "{}", value_name = "JSON")]
        args: String,
    },
    /// The calls recorded for an instance (tool calls, resource reads,
    /// prompt gets), newest first; secrets redacted.
    History {
        /// Name or id.
        key: String,
        /// How many of the newest calls.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Show this one call (its ID in the list) in full, with its answer.
        #[arg(long, value_name = "ID")]
        call: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ResourcesCmd {
    /// List the resources an instance's server offers.
    #[command(visible_alias = "ls")]
    List {
        /// Name or id.
        key: String,
    },
    /// Read one resource: text as text, binary as its type and size.
    Read {
        /// Name or id.
        key: String,
        uri: String,
        /// Write the binary contents to this file.
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
    /// List the resource templates (URI templates) it offers.
    Templates {
        /// Name or id.
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PromptsCmd {
    /// List the prompts an instance's server offers, with their arguments.
    #[command(visible_alias = "ls")]
    List {
        /// Name or id.
        key: String,
    },
    /// Get a prompt's messages, arguments checked against its argument list.
    Get {
        /// Name or id.
        key: String,
        prompt: String,
        /// The arguments, a JSON object of strings.
        #[arg(long, default_value = "{}", value_name = "JSON")]
        args: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum LogsCmd {
    /// Print the path of the current log file.
    Path,
    /// Print the last lines of the current log file.
    Tail {
        /// How many lines.
        #[arg(short = 'n', long, default_value_t = 50)]
        lines: usize,
        /// Keep printing lines as they are written.
        #[arg(short, long)]
        follow: bool,
    },
}

/// Instance names for shell completion (read straight from the store).
fn instance_names() -> Vec<clap_complete::CompletionCandidate> {
    let Ok(dir) = crate::paths::data_dir(None) else {
        return Vec::new();
    };
    let dir = crate::paths::DataDir::new(dir);
    if !crate::store::port::exists(&dir) {
        return Vec::new();
    }
    crate::store::port::open(&dir, "completion")
        .and_then(|s| s.list())
        .map(|list| {
            list.into_iter()
                .map(|i| {
                    clap_complete::CompletionCandidate::new(i.name)
                        .help(Some(i.status.as_str().into()))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Debug, Subcommand)]
pub enum InstancesCmd {
    /// List instances.
    #[command(visible_alias = "ls")]
    List {
        /// The instances as they were at TIME: 03:12 (local time of this machine, from TZ or /etc/localtime; yesterday's while today's is ahead), -10m, -2h, -7d, or RFC 3339 (2026-12-06T03:12:00Z).
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        at: Option<String>,
    },
    /// Show one instance.
    Get {
        /// Name or id.
        #[arg(add = ArgValueCandidates::new(instance_names))]
        key: String,
        /// The instance as it was at TIME (forms as for `instances list --at`).
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        at: Option<String>,
    },
    /// Create an instance from a json_spec file (or - for stdin).
    Create {
        name: String,
        /// The json_spec: a file path, or - to read stdin.
        #[arg(long, value_name = "FILE|-")]
        spec: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, value_name = "ID")]
        server_spec_id: Option<String>,
    },
    /// Create or update by name from an instance document {"name", "description", "server_spec_id", "json_spec"}.
    Apply {
        /// The document: a file path, or - to read stdin.
        #[arg(short = 'f', long = "file", value_name = "FILE|-")]
        file: String,
        /// Fail with a conflict unless the instance is at this version.
        #[arg(long, value_name = "N")]
        expect_version: Option<u64>,
    },
    /// Delete an instance (asks first unless --yes).
    #[command(visible_alias = "rm")]
    Delete {
        #[arg(add = ArgValueCandidates::new(instance_names))]
        key: String,
        #[arg(short, long)]
        yes: bool,
    },
    /// Ask for an instance to run.
    Start {
        #[arg(add = ArgValueCandidates::new(instance_names))]
        key: String,
    },
    /// Ask for an instance to stop.
    Stop {
        #[arg(add = ArgValueCandidates::new(instance_names))]
        key: String,
    },
    /// Stop and start an instance as one operation (one correlation id);
    /// against AgentArea, which has no restart, a stop then a start.
    Restart {
        #[arg(add = ArgValueCandidates::new(instance_names))]
        key: String,
    },
    /// Print an instance's log: stderr lines, the server's MCP log messages
    /// and the runtime's start, exit and restart markers, each with time,
    /// level and source (`-o json`: one JSON object per line).
    Logs {
        #[arg(add = ArgValueCandidates::new(instance_names))]
        key: String,
        /// Keep printing lines as they come, until Ctrl-C.
        #[arg(short, long)]
        follow: bool,
        /// Only lines at or above LEVEL (debug, info, notice, warning, error, critical, alert, emergency).
        #[arg(long, value_name = "LEVEL")]
        level: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct IncidentArgs {
    /// Name or id (a name several instances have changes nothing: give the id).
    #[arg(add = ArgValueCandidates::new(instance_names))]
    pub key: String,
    /// The window: this long up to now (30s, 15m, 1h, 7d). Default 1h.
    #[arg(long, value_name = "DURATION", conflicts_with = "between")]
    pub since: Option<String>,
    /// The window from T1 to T2 (each 03:12 in local time, -10m, -2h or RFC 3339).
    #[arg(long, num_args = 2, value_names = ["T1", "T2"], allow_hyphen_values = true)]
    pub between: Option<Vec<String>>,
    /// The bundle's file (also `-o FILE`); default NAME-YYYYMMDD-HHMMSS.tar.gz here.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Keep printing events as they happen.
    #[arg(short, long)]
    pub follow: bool,
    /// Only this instance (name or id).
    #[arg(long, value_name = "NAME-OR-ID", add = ArgValueCandidates::new(instance_names))]
    pub instance: Option<String>,
    /// Only events newer than this (30s, 15m, 2h, 7d).
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// At most this many past events.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Only events from T1 to T2 (each 03:12 in local time, -10m, -2h or RFC 3339; as for `instances list --at`).
    #[arg(long, num_args = 2, value_names = ["T1", "T2"], allow_hyphen_values = true, conflicts_with_all = ["follow", "since"])]
    pub between: Option<Vec<String>>,
    /// In API mode, also record what is observed into the data dir (as a console does), so `--at` and `--between` can read it later.
    #[arg(long, requires = "follow")]
    pub record: bool,
}
