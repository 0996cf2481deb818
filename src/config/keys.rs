//! Every config key, declared once: its name, what it takes, its
//! environment variable and flag, its range, its documentation and example,
//! and how `config show` prints it. Parsing errors, precedence, `config
//! show`, `config example` (`config.example.toml`, generated from this
//! table) and the unknown-key messages all read it.

use super::{
    ENV_ADVERTISE_ADDR, ENV_API_TOKEN, ENV_API_URL, ENV_KEYMAP, ENV_LEASE_INTERVAL_MS, ENV_LOG,
    ENV_METRICS_PUBLIC, ENV_POLL_MS, ENV_READ_ONLY, ENV_REDIS_URL, ENV_REPLICA_ID, ENV_STORE_URL,
    ENV_THEME, ENV_WORKSPACE, Secret, Settings, redacted_url,
};

/// The whole numbers a key allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min: u64,
    pub max: u64,
    /// What they count, such as "milliseconds".
    pub unit: &'static str,
}

/// One key of the config file.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// `section.key`.
    pub name: &'static str,
    /// What its value must be (for type errors).
    pub takes: &'static str,
    /// The environment variable that sets it, if any.
    pub env: Option<&'static str>,
    /// The command-line flag that sets it, if any.
    pub flag: Option<&'static str>,
    pub range: Option<Range>,
    /// Its comment in `config.example.toml`, one entry a line.
    pub doc: &'static [&'static str],
    /// The value the example shows (commented out).
    pub example: &'static str,
    /// Its value in effect, as `config show` prints it (secrets redacted).
    pub show: fn(&Settings) -> String,
}

fn opt(v: Option<String>) -> String {
    v.unwrap_or_else(|| "(unset)".to_string())
}

/// Every key of the file, in the example's order.
pub const KEYS: &[Key] = &[
    Key {
        name: "backend.api_url",
        takes: "an http or https URL string",
        env: Some(ENV_API_URL),
        flag: Some("--api"),
        range: None,
        doc: &[
            "Drive a remote AgentArea through its REST API instead of the embedded",
            "platform. An http or https URL; unset means embedded.",
            "Flag: --api. Environment: AACON_API_URL.",
        ],
        example: "\"https://agentarea.example.com\"",
        show: |s| opt(s.api_url.as_deref().map(redacted_url)),
    },
    Key {
        name: "backend.workspace",
        takes: "a workspace id string",
        env: Some(ENV_WORKSPACE),
        flag: Some("--workspace"),
        range: None,
        doc: &[
            "The workspace sent as X-Workspace-ID in API mode.",
            "Flag: --workspace. Environment: AACON_WORKSPACE.",
        ],
        example: "\"default\"",
        show: |s| opt(s.workspace.clone()),
    },
    Key {
        name: "backend.token",
        takes: "a token string",
        env: Some(ENV_API_TOKEN),
        flag: None,
        range: None,
        doc: &[
            "The API bearer token. Never a flag (flags show up in `ps`).",
            "Better: leave it out of this file and set AACON_API_TOKEN.",
            "Environment: AACON_API_TOKEN.",
        ],
        example: "\"eyJhbGciOi...\"",
        show: |s| opt(s.api_token.as_ref().map(Secret::to_string)),
    },
    Key {
        name: "backend.poll_ms",
        takes: "a whole number of milliseconds from 100 to 600000",
        env: Some(ENV_POLL_MS),
        flag: None,
        range: Some(Range {
            min: 100,
            max: 600000,
            unit: "milliseconds",
        }),
        doc: &[
            "Without Redis, API mode learns of status changes by polling the instance",
            "list (with ETags, so an unchanged list costs one 304): how often, in",
            "milliseconds (100 to 600000). Environment: AACON_API_POLL_MS.",
        ],
        example: "2000",
        show: |s| s.poll_ms.to_string(),
    },
    Key {
        name: "backend.record",
        takes: "true or false",
        env: None,
        flag: None,
        range: None,
        doc: &[
            "In API mode the console records what it observes of the remote (the events",
            "it receives and the changes between list reads) into the data dir, one",
            "file per URL and workspace, so `:at`, `instances list --at` and",
            "`events --between` work there for the span it watched. false turns it off.",
        ],
        example: "true",
        show: |s| s.record.to_string(),
    },
    Key {
        name: "backend.record_max_days",
        takes: "a whole number of days from 1 to 3650",
        env: None,
        flag: None,
        range: Some(Range {
            min: 1,
            max: 3650,
            unit: "days",
        }),
        doc: &["How long a recording keeps what it observed, in days (1 to 3650)."],
        example: "7",
        show: |s| s.record_max_days.to_string(),
    },
    Key {
        name: "backend.record_max_mb",
        takes: "a whole number of megabytes from 1 to 1048576",
        env: None,
        flag: None,
        range: Some(Range {
            min: 1,
            max: 1048576,
            unit: "megabytes",
        }),
        doc: &[
            "How large one recording may grow, in MB (1 to 1048576); beyond it the",
            "oldest observations are dropped first.",
        ],
        example: "256",
        show: |s| s.record_max_mb.to_string(),
    },
    Key {
        name: "store.url",
        takes: "a postgres:// URL string",
        env: Some(ENV_STORE_URL),
        flag: None,
        range: None,
        doc: &[
            "Keep the embedded platform's state in PostgreSQL, shared by every",
            "`aacon serve` replica given the same URL; unset means SQLite in the",
            "data dir. postgres://user:password@host:port/database. TLS as libpq:",
            "?sslmode=disable|prefer|require|verify-ca|verify-full (default",
            "prefer) and &sslrootcert=PATH (or system) for the CA. No flag (a",
            "password on the command line shows in the process list).",
            "Environment: AACON_STORE_URL.",
        ],
        example: "\"postgres://aacon:secret@127.0.0.1:5432/aacon\"",
        show: |s| opt(s.store_url.as_ref().map(Secret::to_string)),
    },
    Key {
        name: "redis.url",
        takes: "a redis:// or rediss:// URL string",
        env: Some(ENV_REDIS_URL),
        flag: Some("--redis"),
        range: None,
        doc: &[
            "The Redis to share events through; unset means no Redis.",
            "redis:// or rediss:// (TLS), optionally with user:password@ and a /db.",
            "Flag: --redis. Environment: AACON_REDIS_URL.",
        ],
        example: "\"redis://127.0.0.1:6379/0\"",
        show: |s| opt(s.redis_url.as_ref().map(Secret::to_string)),
    },
    Key {
        name: "redis.stream_key",
        takes: "a non-empty string",
        env: None,
        flag: None,
        range: None,
        doc: &["The Redis Stream events go to and come from."],
        example: "\"agentarea:events\"",
        show: |s| s.stream_key.clone(),
    },
    Key {
        name: "redis.maxlen",
        takes: "a whole number (0 keeps every entry)",
        env: None,
        flag: None,
        range: None,
        doc: &["Trim the stream to about this many entries (XADD MAXLEN ~); 0 keeps all."],
        example: "1000000",
        show: |s| s.maxlen.to_string(),
    },
    Key {
        name: "redis.agentarea_pubsub",
        takes: "true or false",
        env: None,
        flag: None,
        range: None,
        doc: &["Also listen on AgentArea's pub/sub channels (MCPServerInstanceCreated, …)."],
        example: "false",
        show: |s| s.agentarea_pubsub.to_string(),
    },
    Key {
        name: "redis.ca_cert",
        takes: "a file path string",
        env: None,
        flag: None,
        range: None,
        doc: &["A PEM CA certificate for a rediss:// server not in the system store."],
        example: "\"/etc/ssl/private-ca.pem\"",
        show: |s| opt(s.ca_cert.as_ref().map(|p| p.display().to_string())),
    },
    Key {
        name: "ui.theme",
        takes: "a theme name string",
        env: Some(ENV_THEME),
        flag: Some("--theme"),
        range: None,
        doc: &[
            "A theme name: a preset (default, light, …) or a file themes/NAME.toml in",
            "the config dir. NO_COLOR is always honoured.",
            "Flag: --theme. Environment: AACON_THEME.",
        ],
        example: "\"default\"",
        show: |s| s.theme.clone(),
    },
    Key {
        name: "ui.keymap",
        takes: "a keymap name string",
        env: Some(ENV_KEYMAP),
        flag: Some("--keymap"),
        range: None,
        doc: &[
            "A keymap name: a preset (default, vim) or keymaps/NAME.toml in the config dir.",
            "Flag: --keymap. Environment: AACON_KEYMAP.",
        ],
        example: "\"default\"",
        show: |s| s.keymap.clone(),
    },
    Key {
        name: "ui.read_only",
        takes: "true or false",
        env: Some(ENV_READ_ONLY),
        flag: Some("--read-only"),
        range: None,
        doc: &[
            "Start in read-only mode: every change is refused.",
            "Flag: --read-only. Environment: AACON_READ_ONLY (true/false, 1/0, yes/no).",
        ],
        example: "false",
        show: |s| s.read_only.to_string(),
    },
    Key {
        name: "ui.refresh_ms",
        takes: "a whole number of milliseconds from 16 to 10000",
        env: None,
        flag: None,
        range: Some(Range {
            min: 16,
            max: 10000,
            unit: "milliseconds",
        }),
        doc: &[
            "How often ages (\"5m\"), spinners and toasts refresh, in milliseconds (16 to",
            "10000). Live status changes are drawn as they arrive regardless.",
        ],
        example: "250",
        show: |s| s.refresh_ms.to_string(),
    },
    Key {
        name: "ui.on_hangup",
        takes: "\"detach\" or \"stop\"",
        env: None,
        flag: None,
        range: None,
        doc: &[
            "What a hangup (SIGHUP: the SSH session dropped, the terminal closed) does",
            "to the instances a console runs: \"detach\" keeps them running under a",
            "background host (`aacon host status`, `aacon host stop`); \"stop\" stops",
            "them. Drafts are kept either way.",
        ],
        example: "\"detach\"",
        show: |s| s.on_hangup.clone(),
    },
    Key {
        name: "runtime.health_interval_secs",
        takes: "a whole number of seconds from 1 to 3600",
        env: None,
        flag: None,
        range: Some(Range {
            min: 1,
            max: 3600,
            unit: "seconds",
        }),
        doc: &["Seconds between health probes of running instances (1 to 3600)."],
        example: "15",
        show: |s| s.health_interval_secs.to_string(),
    },
    Key {
        name: "runtime.call_timeout_secs",
        takes: "a whole number of seconds from 1 to 86400",
        env: None,
        flag: None,
        range: Some(Range {
            min: 1,
            max: 86400,
            unit: "seconds",
        }),
        doc: &[
            "Longest wait for a tool call, in seconds (1 to 86400); a call still running",
            "then is cancelled. An instance's json_spec `timeout_seconds` overrides it.",
        ],
        example: "60",
        show: |s| s.call_timeout_secs.to_string(),
    },
    Key {
        name: "runtime.child_env",
        takes: "a list of variable names (or PREFIX* patterns) a stdio server inherits, such as [\"PATH\", \"HOME\", \"LC_*\"]",
        env: None,
        flag: None,
        range: None,
        doc: &[
            "What a stdio MCP server (and a container CLI) inherits of this process's",
            "environment: variable names, or prefixes ending in '*'. Nothing else is",
            "passed (not AACON_API_TOKEN, TMUX, cloud credentials…); the server gets its",
            "json_spec env / env_vars on top. A container gets only the spec's variables.",
        ],
        example: "[\"PATH\", \"HOME\", \"LANG\", \"LC_*\", \"TZ\", \"TMPDIR\", \"USER\"]",
        show: |s| format!("{:?}", s.child_env),
    },
    Key {
        name: "history.keep_per_instance",
        takes: "a whole number of calls from 1 to 1000000",
        env: None,
        flag: None,
        range: Some(Range {
            min: 1,
            max: 1_000_000,
            unit: "calls",
        }),
        doc: &[
            "The call history (tool calls, resource reads, prompt gets; History tab,",
            "`aacon tools history`) keeps this many of each instance's newest calls",
            "(1 to 1000000), pruned as calls are recorded. A deleted instance's history",
            "stays, as the audit trail, until this or keep_days prunes it.",
        ],
        example: "1000",
        show: |s| s.history_keep.to_string(),
    },
    Key {
        name: "history.keep_days",
        takes: "a whole number of days from 0 to 36500",
        env: None,
        flag: None,
        range: Some(Range {
            min: 0,
            max: 36_500,
            unit: "days",
        }),
        doc: &[
            "Calls older than this many days are pruned from the history; 0 keeps them",
            "whatever their age (keep_per_instance still applies).",
        ],
        example: "30",
        show: |s| s.history_days.to_string(),
    },
    Key {
        name: "serve.replica_id",
        takes: "a replica id string (letters, digits, '.', '-', '_')",
        env: Some(ENV_REPLICA_ID),
        flag: None,
        range: None,
        doc: &[
            "This `aacon serve`'s name among its replicas: sent in the x-aacon-replica",
            "header of every answer, /ready's replica and the metrics' owner label.",
            "Unset: $HOSTNAME (a Kubernetes pod's name), else the host name and pid.",
            "Environment: AACON_REPLICA_ID.",
        ],
        example: "\"aacon-0\"",
        show: |s| opt(s.replica_id.clone()),
    },
    Key {
        name: "serve.metrics_public",
        takes: "true or false",
        env: Some(ENV_METRICS_PUBLIC),
        flag: None,
        range: None,
        doc: &[
            "Answer GET /metrics without the API token, for a Prometheus scrape that",
            "has none (the metrics carry no secret, instance name or id). Off: /metrics",
            "needs the token like /v1. Environment: AACON_METRICS_PUBLIC (true/false).",
        ],
        example: "false",
        show: |s| s.metrics_public.to_string(),
    },
    Key {
        name: "serve.relay_stall_secs",
        takes: "a whole number of seconds from 1 to 86400",
        env: None,
        flag: None,
        range: Some(Range {
            min: 1,
            max: 86_400,
            unit: "seconds",
        }),
        doc: &[
            "With Redis: /ready answers 503 (check \"relay\") once an event has waited",
            "this many seconds in the outbox without Redis taking it (1 to 86400).",
        ],
        example: "60",
        show: |s| s.relay_stall_secs.to_string(),
    },
    Key {
        name: "serve.advertise",
        takes: "host:port",
        env: Some(ENV_ADVERTISE_ADDR),
        flag: None,
        range: None,
        doc: &[
            "On a PostgreSQL store: where the other replicas reach this one (kept in",
            "its lease rows, to forward a request for an instance it hosts). Unset: the",
            "address serve listens on, unless that is 0.0.0.0 or [::] (then the host",
            "name and the port). Environment: AACON_ADVERTISE_ADDR.",
        ],
        example: "\"aacon-0.aacon:8080\"",
        show: |s| opt(s.advertise.clone()),
    },
    Key {
        name: "serve.lease_interval_ms",
        takes: "a whole number of milliseconds from 100 to 60000",
        env: Some(ENV_LEASE_INTERVAL_MS),
        flag: None,
        range: Some(Range {
            min: 100,
            max: 60_000,
            unit: "milliseconds",
        }),
        doc: &[
            "On a PostgreSQL store: the instance lease interval. A replica renews its",
            "leases every half interval; a lease expires 2 intervals after its last",
            "renewal, and a replica stops an instance whose lease it could not renew",
            "half an interval before that. A dead replica's instances are taken over",
            "1.5 to 2 intervals after it died.",
            "Environment: AACON_LEASE_INTERVAL_MS.",
        ],
        example: "2000",
        show: |s| s.lease_interval_ms.to_string(),
    },
    Key {
        name: "log.level",
        takes: "a level such as \"info\" or directives such as \"info,aacon=debug\"",
        env: Some(ENV_LOG),
        flag: Some("--log"),
        range: None,
        doc: &[
            "What goes to the log file in the data dir: a level (error, warn, info,",
            "debug, trace) or RUST_LOG-style directives such as \"info,aacon=debug\".",
            "Flag: --log. Environment: AACON_LOG.",
        ],
        example: "\"info\"",
        show: |s| s.log_level.clone(),
    },
];

/// The example's opening comment.
const EXAMPLE_HEAD: &[&str] = &[
    "# aacon configuration: an example with every key, all commented out.",
    "#",
    "# aacon reads `config.toml` from its config dir: $AACON_CONFIG_DIR, else the",
    "# platform's config dir (`aacon config path` prints it); `--config FILE`",
    "# names another file. Print this example with `aacon config example`.",
    "#",
    "# Precedence, highest first: command-line flag > environment variable >",
    "# this file > the built-in default shown below. Unknown keys and values of",
    "# the wrong type are an error that names the file, the line and the key.",
    "",
];

/// The example's closing comment, on contexts.
const EXAMPLE_TAIL: &[&str] = &[
    "# Contexts: other platforms, each in a table of its own, chosen with",
    "# --context NAME (or AACON_CONTEXT) and switched live in the console with",
    "# :ctx NAME (:ctx alone lists them; tokens are never shown). A context takes",
    "# the place of [backend] api_url, token and workspace and [redis] url, and",
    "# AACON_API_URL, AACON_API_TOKEN, AACON_WORKSPACE and AACON_REDIS_URL then",
    "# do not apply; flags still do.",
    "#",
    "#   [contexts.prod]",
    "#   api_url = \"https://agentarea.example.com\"",
    "#   token_env = \"PROD_AGENTAREA_TOKEN\"  # or token = \"…\" in a file only you can read",
    "#   workspace = \"ops\"",
    "#   redis = \"rediss://agentarea-redis.example.com:6380\"",
    "",
];

/// The declared key `name` (`section.key`).
pub fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// `config.example.toml` as the table declares it.
pub fn example() -> String {
    let mut out: Vec<String> = EXAMPLE_HEAD.iter().map(|l| l.to_string()).collect();
    let mut section = "";
    for k in KEYS {
        let (s, name) = k.name.split_once('.').unwrap_or(("", k.name));
        if s != section {
            if !section.is_empty() {
                out.push(String::new());
            }
            out.push(format!("[{s}]"));
            section = s;
        } else {
            out.push(String::new());
        }
        out.extend(k.doc.iter().map(|l| format!("# {l}")));
        out.push(format!("# {name} = {}", k.example));
    }
    out.push(String::new());
    out.extend(EXAMPLE_TAIL.iter().map(|l| l.to_string()));
    out.join("\n")
}
