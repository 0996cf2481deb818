//! The config file and resolved settings.
//!
//! `config.toml` lives in the config dir ([`crate::paths::config_dir`];
//! `--config` names another file). Precedence, highest first: flag >
//! environment > file > default ([`Settings::resolve`]). Every key is
//! documented in `config.example.toml` ([`EXAMPLE`]). Errors are one
//! sentence naming the file, the line and the key. Tokens and Redis URLs are
//! [`Secret`]s: `Debug` and `Display` never show them.

use crate::domain::spec::mask_url_credentials;
use crate::paths::CONFIG_DIR_ENV;
use serde::Deserialize;
use spans::Spans;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The commented example with every key, shipped in the repo: generated
/// from [`KEYS`] ([`example`]; a test keeps the file current).
pub const EXAMPLE: &str = include_str!("../config.example.toml");
/// The config file's name inside the config dir.
pub const FILE_NAME: &str = "config.toml";

pub const ENV_API_URL: &str = "AACON_API_URL";
pub const ENV_WORKSPACE: &str = "AACON_WORKSPACE";
pub const ENV_API_TOKEN: &str = "AACON_API_TOKEN";
pub const ENV_REDIS_URL: &str = "AACON_REDIS_URL";
pub const ENV_STORE_URL: &str = "AACON_STORE_URL";
pub const ENV_THEME: &str = "AACON_THEME";
pub const ENV_KEYMAP: &str = "AACON_KEYMAP";
pub const ENV_READ_ONLY: &str = "AACON_READ_ONLY";
pub const ENV_LOG: &str = "AACON_LOG";
pub const ENV_REPLICA_ID: &str = "AACON_REPLICA_ID";
pub const ENV_METRICS_PUBLIC: &str = "AACON_METRICS_PUBLIC";
pub const ENV_ADVERTISE_ADDR: &str = "AACON_ADVERTISE_ADDR";
pub const ENV_LEASE_INTERVAL_MS: &str = "AACON_LEASE_INTERVAL_MS";
/// How often a replica renews its leases on a PostgreSQL store, in ms.
pub const DEFAULT_LEASE_INTERVAL_MS: u64 = 2_000;
/// Seconds an event may wait in the outbox before `/ready` calls the relay wedged.
pub const DEFAULT_RELAY_STALL_SECS: u64 = 60;

pub const DEFAULT_STREAM_KEY: &str = "agentarea:events";
pub const DEFAULT_MAXLEN: usize = 1_000_000;
pub const DEFAULT_THEME: &str = "default";
pub const DEFAULT_KEYMAP: &str = "default";
pub const DEFAULT_REFRESH_MS: u64 = 250;
pub const DEFAULT_POLL_MS: u64 = 2000;
/// How long API mode's flight recorder keeps what it observed, in days.
pub const DEFAULT_RECORD_MAX_DAYS: u64 = 7;
/// How large one recording may grow, in MB.
pub const DEFAULT_RECORD_MAX_MB: u64 = 256;
/// Environment variable for `backend.poll_ms`.
pub const ENV_POLL_MS: &str = "AACON_API_POLL_MS";
pub const DEFAULT_HEALTH_INTERVAL_SECS: u64 = 15;
/// Longest wait for a tool call unless the instance's json_spec says
/// `timeout_seconds`.
pub const DEFAULT_CALL_TIMEOUT_SECS: u64 = 60;
pub const DEFAULT_LOG_LEVEL: &str = "info";
pub const DEFAULT_ON_HANGUP: &str = "detach";

const SECTIONS: &[&str] = &[
    "backend", "redis", "ui", "runtime", "history", "serve", "log", "contexts",
];

/// A value that must not be shown: `Debug` and `Display` print `<redacted>`
/// (for a URL, the URL with its password hidden).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The real value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({self})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.contains("://") {
            f.write_str(&redacted_url(&self.0))
        } else {
            f.write_str("<redacted>")
        }
    }
}

/// A URL with its password (`scheme://user:PASSWORD@host`) replaced by `***`.
pub fn redacted_url(url: &str) -> String {
    mask_url_credentials(url, "***").unwrap_or_else(|| url.to_string())
}

/// `[backend]`: which platform to drive.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSection {
    pub api_url: Option<String>,
    pub workspace: Option<String>,
    pub token: Option<Secret>,
    pub poll_ms: Option<u64>,
    pub record: Option<bool>,
    pub record_max_days: Option<u64>,
    pub record_max_mb: Option<u64>,
}

/// `[store]`: where the embedded platform keeps its state.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    pub url: Option<Secret>,
}

/// `[redis]`: the shared event stream.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSection {
    pub url: Option<Secret>,
    pub stream_key: Option<String>,
    pub maxlen: Option<usize>,
    pub agentarea_pubsub: Option<bool>,
    pub ca_cert: Option<PathBuf>,
}

/// `[ui]`: the console.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiSection {
    pub theme: Option<String>,
    pub keymap: Option<String>,
    pub read_only: Option<bool>,
    pub refresh_ms: Option<u64>,
    pub on_hangup: Option<String>,
}

/// `[runtime]`: the embedded runtime.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSection {
    pub health_interval_secs: Option<u64>,
    pub call_timeout_secs: Option<u64>,
    pub child_env: Option<Vec<String>>,
}

/// `[history]`: the call history kept in the store.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySection {
    pub keep_per_instance: Option<u64>,
    pub keep_days: Option<u64>,
}

/// `[serve]`: `aacon serve` as one replica of several.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSection {
    pub replica_id: Option<String>,
    pub metrics_public: Option<bool>,
    pub relay_stall_secs: Option<u64>,
    pub advertise: Option<String>,
    pub lease_interval_ms: Option<u64>,
}

/// `[log]`: the log file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    pub level: Option<String>,
}

/// The config file as written: every key optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub backend: BackendSection,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub redis: RedisSection,
    #[serde(default)]
    pub ui: UiSection,
    #[serde(default)]
    pub runtime: RuntimeSection,
    #[serde(default)]
    pub history: HistorySection,
    #[serde(default)]
    pub serve: ServeSection,
    #[serde(default)]
    pub log: LogSection,
    /// `[contexts.NAME]`: other platforms, chosen with `--context NAME`.
    #[serde(default)]
    contexts: BTreeMap<String, ContextSection>,
    /// Where it was read from, and its text (to find a key's line).
    #[serde(skip)]
    source: Option<Source>,
    /// The keys a `--context` put in place (`backend.api_url`, …), with the
    /// context's own line as their origin.
    #[serde(skip)]
    context_origins: BTreeMap<&'static str, Origin>,
}

/// A config file's path and where its keys are; `Debug` shows only the path.
#[derive(Clone, PartialEq)]
struct Source {
    path: PathBuf,
    spans: Spans,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Source({})", self.path.display())
    }
}

impl FileConfig {
    /// Parse config text; `path` only names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
        let mut cfg: FileConfig = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        cfg.source = Some(Source {
            path: path.to_path_buf(),
            spans: Spans::of(text),
        });
        Ok(cfg)
    }

    /// The keys this file sets, as `section.key`.
    pub fn present_keys(&self) -> Vec<&'static str> {
        let Some(src) = &self.source else {
            return Vec::new();
        };
        KEYS.iter()
            .filter(|k| src.spans.has(k.name))
            .map(|k| k.name)
            .collect()
    }

    /// Where a key of this file is, for errors found after parsing.
    fn origin(&self, key: &'static str) -> Origin {
        if let Some(o) = self.context_origins.get(key) {
            return o.clone();
        }
        match &self.source {
            Some(Source { path, spans }) => Origin::File {
                path: path.clone(),
                line: spans.line(key),
                key,
            },
            None => Origin::File {
                path: PathBuf::from(FILE_NAME),
                line: None,
                key,
            },
        }
    }
}

/// Read the config file at `path`; `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<FileConfig>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => FileConfig::parse(path, &text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            error: e.to_string(),
        }),
    }
}

/// Read the config file the user asked for: `--config FILE` must exist;
/// the default location may not.
pub fn load_from(
    flag: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<FileConfig>, ConfigError> {
    match flag {
        Some(path) => match load(path)? {
            Some(cfg) => Ok(Some(cfg)),
            None => Err(ConfigError::Missing(path.to_path_buf())),
        },
        None => match config_file(None, env) {
            Some(path) => load(&path),
            None => Ok(None),
        },
    }
}

/// The config dir: `$AACON_CONFIG_DIR`, else the platform's config dir.
pub fn config_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    match env(CONFIG_DIR_ENV).filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => directories::ProjectDirs::from("dev", "agentarea", "aacon")
            .map(|d| d.config_dir().to_path_buf()),
    }
}

/// The config file: `--config`, else `config.toml` in the config dir.
pub fn config_file(flag: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    match flag {
        Some(p) => Some(p.to_path_buf()),
        None => config_dir(env).map(|d| d.join(FILE_NAME)),
    }
}

/// Where each file is looked for, one per line, for `aacon config path`.
pub fn describe_locations(flag: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> String {
    let exists = |p: &Path| if p.exists() { "" } else { " (not present)" };
    let mut out = String::new();
    match config_file(flag, env) {
        Some(file) => {
            let why = if flag.is_some() {
                "from --config".to_string()
            } else if env(CONFIG_DIR_ENV).is_some_and(|v| !v.is_empty()) {
                format!("from ${CONFIG_DIR_ENV}")
            } else {
                "the platform default".to_string()
            };
            out.push_str(&format!(
                "config file: {}{} [{why}]\n",
                file.display(),
                exists(&file)
            ));
        }
        None => out.push_str(&format!(
            "config file: none (no home directory; set ${CONFIG_DIR_ENV} or pass --config)\n"
        )),
    }
    if let Some(dir) = config_dir(env) {
        for (what, sub) in [("themes", "themes"), ("keymaps", "keymaps")] {
            let p = dir.join(sub);
            out.push_str(&format!("{what}: {}{}\n", p.display(), exists(&p)));
        }
    }
    out
}

/// Settings given on the command line (`None` when the flag is absent).
/// There is deliberately no token here: tokens on the command line show up
/// in `ps`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--api URL`
    pub api_url: Option<String>,
    /// `--workspace ID`
    pub workspace: Option<String>,
    /// `--redis URL`
    pub redis_url: Option<Secret>,
    /// `--theme NAME`
    pub theme: Option<String>,
    /// `--keymap NAME`
    pub keymap: Option<String>,
    /// `--read-only` (`Some(true)` when given).
    pub read_only: Option<bool>,
    /// `--log FILTER`
    pub log_level: Option<String>,
}

/// The settings in effect after applying flag > env > file > default.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// API mode when set; embedded otherwise.
    pub api_url: Option<String>,
    pub workspace: Option<String>,
    pub api_token: Option<Secret>,
    /// How often API mode polls the list for live status without Redis.
    pub poll_ms: u64,
    /// Whether a console in API mode records what it observes.
    pub record: bool,
    pub record_max_days: u64,
    pub record_max_mb: u64,
    /// A `postgres://` URL: the state lives there (shared by replicas)
    /// instead of SQLite in the data dir.
    pub store_url: Option<Secret>,
    pub redis_url: Option<Secret>,
    pub stream_key: String,
    pub maxlen: usize,
    pub agentarea_pubsub: bool,
    pub ca_cert: Option<PathBuf>,
    pub theme: String,
    pub keymap: String,
    pub read_only: bool,
    pub refresh_ms: u64,
    /// What a console's hangup (SIGHUP) does to the instances it runs:
    /// "detach" (keep them running under a background host) or "stop".
    pub on_hangup: String,
    pub health_interval_secs: u64,
    /// Longest wait for a tool call (`runtime.call_timeout_secs`); an
    /// instance's `timeout_seconds` overrides it.
    pub call_timeout_secs: u64,
    /// What a managed process inherits of our environment (`runtime.child_env`).
    pub child_env: Vec<String>,
    /// Call history kept per instance (`history.keep_per_instance`).
    pub history_keep: u64,
    /// Days of call history kept, 0 for no age limit (`history.keep_days`).
    pub history_days: u64,
    /// This replica's id (`serve.replica_id`); unset: `$HOSTNAME`, else
    /// host name and pid.
    pub replica_id: Option<String>,
    /// `/metrics` without the token (`serve.metrics_public`).
    pub metrics_public: bool,
    /// When `/ready` calls the outbox relay wedged (`serve.relay_stall_secs`).
    pub relay_stall_secs: u64,
    /// Where the other replicas reach this one (`serve.advertise`,
    /// `host:port`); unset: the bound address unless it is unspecified.
    pub advertise: Option<String>,
    /// How often leases are renewed on a PostgreSQL store
    /// (`serve.lease_interval_ms`).
    pub lease_interval_ms: u64,
    pub log_level: String,
    /// Where each setting came from, by `section.key`.
    pub origins: BTreeMap<&'static str, Origin>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            api_url: None,
            workspace: None,
            api_token: None,
            poll_ms: DEFAULT_POLL_MS,
            record: true,
            record_max_days: DEFAULT_RECORD_MAX_DAYS,
            record_max_mb: DEFAULT_RECORD_MAX_MB,
            store_url: None,
            redis_url: None,
            stream_key: DEFAULT_STREAM_KEY.to_string(),
            maxlen: DEFAULT_MAXLEN,
            agentarea_pubsub: false,
            ca_cert: None,
            theme: DEFAULT_THEME.to_string(),
            keymap: DEFAULT_KEYMAP.to_string(),
            read_only: false,
            refresh_ms: DEFAULT_REFRESH_MS,
            on_hangup: DEFAULT_ON_HANGUP.to_string(),
            health_interval_secs: DEFAULT_HEALTH_INTERVAL_SECS,
            call_timeout_secs: DEFAULT_CALL_TIMEOUT_SECS,
            child_env: crate::runtime::childenv::default_allow(),
            history_keep: crate::platform::history::DEFAULT_KEEP_PER_INSTANCE,
            history_days: crate::platform::history::DEFAULT_KEEP_DAYS,
            replica_id: None,
            metrics_public: false,
            relay_stall_secs: DEFAULT_RELAY_STALL_SECS,
            advertise: None,
            lease_interval_ms: DEFAULT_LEASE_INTERVAL_MS,
            log_level: DEFAULT_LOG_LEVEL.to_string(),
            origins: BTreeMap::new(),
        }
    }
}

/// Picks each key's value from its layers, by what [`KEYS`] declares (its
/// flag and environment variable), and notes where it came from.
struct Layers<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    file: &'a FileConfig,
    origins: BTreeMap<&'static str, Origin>,
}

/// How an environment variable's text becomes a value (or why it cannot).
type FromEnv<T> = fn(String, &Origin) -> Result<T, ConfigError>;

impl Layers<'_> {
    /// Key `name`'s value: the flag's, else the environment's, else the
    /// file's; checked with `check`. Every layer is read (so a bad
    /// environment value is an error even under a flag).
    fn pick<T>(
        &mut self,
        name: &'static str,
        flag: Option<T>,
        from_env: FromEnv<T>,
        file: Option<T>,
        check: impl Fn(&T, &Origin) -> Result<(), ConfigError>,
    ) -> Result<Option<T>, ConfigError> {
        let key = keys::key(name);
        let flag = flag.zip(key.and_then(|k| k.flag));
        let flag = flag.map(|(v, f)| (v, Origin::Flag(f)));
        let env = match key.and_then(|k| k.env) {
            Some(var) => match (self.env)(var).filter(|v| !v.is_empty()) {
                Some(text) => {
                    let o = Origin::Env(var);
                    Some((from_env(text, &o)?, o))
                }
                None => None,
            },
            None => None,
        };
        let file = file.map(|v| (v, self.file.origin(name)));
        let Some((v, o)) = flag.or(env).or(file) else {
            return Ok(None);
        };
        check(&v, &o)?;
        self.origins.insert(name, o);
        Ok(Some(v))
    }
}

fn text(v: String, _: &Origin) -> Result<String, ConfigError> {
    Ok(v)
}

fn secret(v: String, _: &Origin) -> Result<Secret, ConfigError> {
    Ok(Secret(v))
}

fn boolean(v: String, o: &Origin) -> Result<bool, ConfigError> {
    parse_bool(&v)
        .ok_or_else(|| value_error(o.clone(), "must be true or false (1/0, yes/no, on/off)"))
}

fn number(v: String, o: &Origin) -> Result<u64, ConfigError> {
    v.trim().parse::<u64>().map_err(|_| {
        value_error(
            o.clone(),
            format!(
                "'{}' is not a whole number of milliseconds",
                crate::domain::text::shown(&v)
            ),
        )
    })
}

/// For keys no environment variable sets (never called: [`KEYS`] names none).
fn no_env<T>(_: String, o: &Origin) -> Result<T, ConfigError> {
    Err(value_error(o.clone(), "is not read from the environment"))
}

/// A `host:port` other replicas can connect to (no scheme, no path, a
/// port that is a number and not 0).
pub fn check_advertise(v: &str) -> Result<(), String> {
    let shown = crate::domain::text::shown(v);
    let bad =
        || format!("'{shown}' is not host:port (such as aacon-0.aacon:8080 or 10.0.0.7:8080)");
    let (host, port) = v.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains(['/', ' ', '@']) {
        return Err(bad());
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(bad()),
    }
}

/// No check beyond the type.
fn any<T>(_: &T, _: &Origin) -> Result<(), ConfigError> {
    Ok(())
}

impl Settings {
    /// Apply the layers: flag > env > file > default. `env` reads an
    /// environment variable (empty counts as unset), so tests need not
    /// touch the process environment.
    pub fn resolve(
        flags: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
        file: Option<FileConfig>,
    ) -> Result<Settings, ConfigError> {
        let file = file.unwrap_or_default();
        let (b, r, u) = (&file.backend, &file.redis, &file.ui);
        let mut l = Layers {
            env,
            file: &file,
            origins: BTreeMap::new(),
        };
        let mut s = Settings::default();
        let flag = |v: &Option<String>| v.clone();

        // backend
        s.api_url = l.pick(
            "backend.api_url",
            flag(&flags.api_url),
            text,
            b.api_url.clone(),
            |v, o| check_http_url(v, o),
        )?;
        s.workspace = l.pick(
            "backend.workspace",
            flag(&flags.workspace),
            text,
            b.workspace.clone(),
            |v, o| check_not_blank(v, o),
        )?;
        s.api_token = l.pick("backend.token", None, secret, b.token.clone(), |t, o| {
            if t.0.trim().is_empty() {
                return Err(value_error(o.clone(), "the token is empty"));
            }
            Ok(())
        })?;

        // store
        s.store_url = l.pick(
            "store.url",
            None,
            secret,
            file.store.url.clone(),
            check_store_url,
        )?;

        // redis
        s.redis_url = l.pick(
            "redis.url",
            flags.redis_url.clone(),
            secret,
            r.url.clone(),
            check_redis_url,
        )?;
        if let Some(k) = l.pick(
            "redis.stream_key",
            None,
            text,
            r.stream_key.clone(),
            |v, o| check_not_blank(v, o),
        )? {
            s.stream_key = k;
        }
        if let Some(n) = l.pick("redis.maxlen", None, no_env, r.maxlen, any)? {
            s.maxlen = n;
        }
        if let Some(v) = l.pick(
            "redis.agentarea_pubsub",
            None,
            boolean,
            r.agentarea_pubsub,
            any,
        )? {
            s.agentarea_pubsub = v;
        }
        s.ca_cert = l.pick(
            "redis.ca_cert",
            None,
            |v, _| Ok(v.into()),
            r.ca_cert.clone(),
            |p: &PathBuf, o| {
                if p.as_os_str().is_empty() {
                    return Err(value_error(o.clone(), "the CA certificate path is empty"));
                }
                Ok(())
            },
        )?;

        // ui
        if let Some(t) = l.pick(
            "ui.theme",
            flag(&flags.theme),
            text,
            u.theme.clone(),
            |v, o| check_name("theme", v, o),
        )? {
            s.theme = t;
        }
        if let Some(k) = l.pick(
            "ui.keymap",
            flag(&flags.keymap),
            text,
            u.keymap.clone(),
            |v, o| check_name("keymap", v, o),
        )? {
            s.keymap = k;
        }
        if let Some(v) = l.pick("ui.read_only", flags.read_only, boolean, u.read_only, any)? {
            s.read_only = v;
        }
        if let Some(ms) = l.pick("ui.refresh_ms", None, no_env, u.refresh_ms, |v, o| {
            check_range(*v, "ui.refresh_ms", o)
        })? {
            s.refresh_ms = ms;
        }
        if let Some(v) = l.pick("ui.on_hangup", None, no_env, u.on_hangup.clone(), |v, o| {
            if matches!(v.as_str(), "detach" | "stop") {
                return Ok(());
            }
            Err(value_error(
                o.clone(),
                format!(
                    "'{}' is not a hangup action; use \"detach\" (keep the instances running under a background host) or \"stop\"",
                    v.escape_default()
                ),
            ))
        })? {
            s.on_hangup = v;
        }

        // API polling: env (a number) > file
        if let Some(ms) = l.pick("backend.poll_ms", None, number, b.poll_ms, |v, o| {
            check_range(*v, "backend.poll_ms", o)
        })? {
            s.poll_ms = ms;
        }
        if let Some(v) = l.pick("backend.record", None, no_env, b.record, any)? {
            s.record = v;
        }
        for (name, file, slot) in [
            (
                "backend.record_max_days",
                b.record_max_days,
                &mut s.record_max_days,
            ),
            (
                "backend.record_max_mb",
                b.record_max_mb,
                &mut s.record_max_mb,
            ),
        ] {
            if let Some(v) = l.pick(name, None, no_env, file, |v, o| check_range(*v, name, o))? {
                *slot = v;
            }
        }

        // runtime
        for (name, file, slot) in [
            (
                "runtime.health_interval_secs",
                file.runtime.health_interval_secs,
                &mut s.health_interval_secs,
            ),
            (
                "runtime.call_timeout_secs",
                file.runtime.call_timeout_secs,
                &mut s.call_timeout_secs,
            ),
        ] {
            if let Some(v) = l.pick(name, None, no_env, file, |v, o| check_range(*v, name, o))? {
                *slot = v;
            }
        }
        if let Some(names) = l.pick(
            "runtime.child_env",
            None,
            no_env,
            file.runtime.child_env.clone(),
            |names: &Vec<String>, o| {
                for n in names {
                    crate::runtime::childenv::check_pattern(n)
                        .map_err(|m| value_error(o.clone(), m.to_string()))?;
                }
                Ok(())
            },
        )? {
            s.child_env = names;
        }

        // history
        for (name, file, slot) in [
            (
                "history.keep_per_instance",
                file.history.keep_per_instance,
                &mut s.history_keep,
            ),
            (
                "history.keep_days",
                file.history.keep_days,
                &mut s.history_days,
            ),
        ] {
            if let Some(v) = l.pick(name, None, no_env, file, |v, o| check_range(*v, name, o))? {
                *slot = v;
            }
        }

        // serve
        if let Some(id) = l.pick(
            "serve.replica_id",
            None,
            text,
            file.serve.replica_id.clone(),
            |v: &String, o| {
                crate::domain::replica::ReplicaId::new(v)
                    .map(|_| ())
                    .map_err(|e| value_error(o.clone(), e.to_string()))
            },
        )? {
            s.replica_id = Some(id);
        }
        if let Some(v) = l.pick(
            "serve.metrics_public",
            None,
            boolean,
            file.serve.metrics_public,
            any,
        )? {
            s.metrics_public = v;
        }
        if let Some(v) = l.pick(
            "serve.relay_stall_secs",
            None,
            no_env,
            file.serve.relay_stall_secs,
            |v, o| check_range(*v, "serve.relay_stall_secs", o),
        )? {
            s.relay_stall_secs = v;
        }
        if let Some(v) = l.pick(
            "serve.advertise",
            None,
            text,
            file.serve.advertise.clone(),
            |v: &String, o| check_advertise(v).map_err(|m| value_error(o.clone(), m)),
        )? {
            s.advertise = Some(v);
        }
        if let Some(v) = l.pick(
            "serve.lease_interval_ms",
            None,
            number,
            file.serve.lease_interval_ms,
            |v, o| check_range(*v, "serve.lease_interval_ms", o),
        )? {
            s.lease_interval_ms = v;
        }

        // log
        if let Some(level) = l.pick("log.level", flag(&flags.log_level), text, file.log.level.clone(), |v, o| {
            if tracing_subscriber::EnvFilter::try_new(v).is_err() || v.trim().is_empty() {
                return Err(value_error(
                    o.clone(),
                    format!(
                        "'{}' is not a log level; use error, warn, info, debug, trace or directives such as \"info,aacon=debug\"",
                        crate::domain::text::shown(v)
                    ),
                ));
            }
            Ok(())
        })? {
            s.log_level = level;
        }

        s.origins = l.origins;
        Ok(s)
    }

    /// Read the config file (`--config`, else the config dir) and resolve.
    pub fn load(
        config_flag: Option<&Path>,
        flags: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let file = load_from(config_flag, env)?;
        Settings::resolve(flags, env, file)
    }

    /// Where a setting came from (`section.key`); the default when unset.
    pub fn origin(&self, key: &str) -> Origin {
        self.origins.get(key).cloned().unwrap_or(Origin::Default)
    }

    /// Every setting as `section.key = value  # origin`, one per line,
    /// secrets redacted (for `aacon config show`).
    pub fn describe(&self) -> String {
        KEYS.iter()
            .map(|k| {
                format!(
                    "{} = {}  # {}\n",
                    k.name,
                    (k.show)(self),
                    self.origin(k.name)
                )
            })
            .collect()
    }

    /// "embedded" or the API URL, for the header.
    pub fn backend_name(&self) -> String {
        self.api_url
            .as_deref()
            .map_or_else(|| "embedded".to_string(), redacted_url)
    }

    pub fn refresh(&self) -> Duration {
        Duration::from_millis(self.refresh_ms)
    }

    pub fn health_interval(&self) -> Duration {
        Duration::from_secs(self.health_interval_secs)
    }
}

fn value_error(origin: Origin, message: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        origin,
        message: message.into(),
    }
}

fn check_not_blank(v: &str, o: &Origin) -> Result<(), ConfigError> {
    if v.trim().is_empty() {
        return Err(value_error(o.clone(), "the value is empty"));
    }
    Ok(())
}

fn check_http_url(v: &str, o: &Origin) -> Result<(), ConfigError> {
    match url::Url::parse(v) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
        _ => Err(value_error(
            o.clone(),
            format!(
                "'{}' is not an http or https URL such as \"https://agentarea.example.com\"",
                crate::domain::text::shown(&redacted_url(v))
            ),
        )),
    }
}

fn check_store_url(v: &Secret, o: &Origin) -> Result<(), ConfigError> {
    // `sslmode` and `sslrootcert` are aacon's to read (the driver knows
    // neither `verify-*` nor `sslrootcert`).
    let (rest, mode, _) = crate::paths::StoreUrl::split_tls(v.expose());
    if let Some(mode) = mode.filter(|m| !crate::paths::SSL_MODES.contains(&m.as_str())) {
        return Err(value_error(
            o.clone(),
            format!(
                "sslmode '{}' is not one of {}",
                crate::domain::text::shown(&mode),
                crate::paths::SSL_MODES.join(", ")
            ),
        ));
    }
    let ok = url::Url::parse(v.expose())
        .is_ok_and(|u| matches!(u.scheme(), "postgres" | "postgresql"))
        && rest.parse::<tokio_postgres::Config>().is_ok();
    if ok {
        Ok(())
    } else {
        Err(value_error(
            o.clone(),
            format!(
                "'{}' is not a PostgreSQL URL; use postgres://user:password@host[:port]/database (unset means SQLite in the data dir)",
                crate::domain::text::shown(&v.to_string())
            ),
        ))
    }
}

fn check_redis_url(v: &Secret, o: &Origin) -> Result<(), ConfigError> {
    let ok = url::Url::parse(v.expose()).is_ok_and(|u| {
        matches!(u.scheme(), "redis" | "rediss") && u.host_str().is_some_and(|h| !h.is_empty())
    });
    if ok {
        Ok(())
    } else {
        Err(value_error(
            o.clone(),
            format!(
                "'{}' is not a Redis URL; use redis://[user:password@]host[:port][/db] or rediss://…",
                crate::domain::text::shown(&v.to_string())
            ),
        ))
    }
}

/// Theme and keymap names become file names: keep them plain.
fn check_name(what: &str, v: &str, o: &Origin) -> Result<(), ConfigError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !v.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(value_error(
            o.clone(),
            format!(
                "'{}' is not a {what} name; names use letters, digits, '-', '_' and '.'",
                crate::domain::text::shown(&v.chars().take(64).collect::<String>())
            ),
        ))
    }
}

/// Check `v` against the range `name` declares.
fn check_range(v: u64, name: &str, o: &Origin) -> Result<(), ConfigError> {
    let Some(r) = keys::key(name).and_then(|k| k.range) else {
        return Ok(());
    };
    if (r.min..=r.max).contains(&v) {
        Ok(())
    } else {
        Err(value_error(
            o.clone(),
            format!("{v} is out of range; use {} to {} {}", r.min, r.max, r.unit),
        ))
    }
}

/// `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, any case.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

mod contexts;
mod errors;
mod keys;
mod spans;
pub use contexts::{ContextSection, ContextSummary, context_env};
use errors::toml_error;
pub use errors::{ConfigError, Origin};
pub use keys::{KEYS, Key, Range, example};
pub use spans::line_of;

#[cfg(test)]
mod tests;
