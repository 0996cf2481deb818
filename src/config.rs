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
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The commented example with every key, shipped in the repo.
pub const EXAMPLE: &str = include_str!("../config.example.toml");
/// The config file's name inside the config dir.
pub const FILE_NAME: &str = "config.toml";

pub const ENV_API_URL: &str = "AACON_API_URL";
pub const ENV_WORKSPACE: &str = "AACON_WORKSPACE";
pub const ENV_API_TOKEN: &str = "AACON_API_TOKEN";
pub const ENV_REDIS_URL: &str = "AACON_REDIS_URL";
pub const ENV_THEME: &str = "AACON_THEME";
pub const ENV_KEYMAP: &str = "AACON_KEYMAP";
pub const ENV_READ_ONLY: &str = "AACON_READ_ONLY";
pub const ENV_LOG: &str = "AACON_LOG";

pub const DEFAULT_STREAM_KEY: &str = "agentarea:events";
pub const DEFAULT_MAXLEN: usize = 1_000_000;
pub const DEFAULT_THEME: &str = "default";
pub const DEFAULT_KEYMAP: &str = "default";
pub const DEFAULT_REFRESH_MS: u64 = 250;
pub const DEFAULT_POLL_MS: u64 = 2000;
/// Environment variable for `backend.poll_ms`.
pub const ENV_POLL_MS: &str = "AACON_API_POLL_MS";
pub const DEFAULT_HEALTH_INTERVAL_SECS: u64 = 15;
pub const DEFAULT_LOG_LEVEL: &str = "info";
pub const DEFAULT_ON_HANGUP: &str = "detach";

const REFRESH_MS_RANGE: std::ops::RangeInclusive<u64> = 16..=10_000;
const POLL_MS_RANGE: std::ops::RangeInclusive<u64> = 100..=600_000;
const HEALTH_SECS_RANGE: std::ops::RangeInclusive<u64> = 1..=3600;

/// Every key of the file and what its value must be.
pub const KEYS: &[(&str, &str)] = &[
    ("backend.api_url", "an http or https URL string"),
    ("backend.workspace", "a workspace id string"),
    ("backend.token", "a token string"),
    (
        "backend.poll_ms",
        "a whole number of milliseconds from 100 to 600000",
    ),
    ("redis.url", "a redis:// or rediss:// URL string"),
    ("redis.stream_key", "a non-empty string"),
    ("redis.maxlen", "a whole number (0 keeps every entry)"),
    ("redis.agentarea_pubsub", "true or false"),
    ("redis.ca_cert", "a file path string"),
    ("ui.theme", "a theme name string"),
    ("ui.keymap", "a keymap name string"),
    ("ui.read_only", "true or false"),
    (
        "ui.refresh_ms",
        "a whole number of milliseconds from 16 to 10000",
    ),
    ("ui.on_hangup", "\"detach\" or \"stop\""),
    (
        "runtime.health_interval_secs",
        "a whole number of seconds from 1 to 3600",
    ),
    (
        "runtime.child_env",
        "a list of variable names (or PREFIX* patterns) a stdio server inherits, such as [\"PATH\", \"HOME\", \"LC_*\"]",
    ),
    (
        "log.level",
        "a level such as \"info\" or directives such as \"info,aacon=debug\"",
    ),
];

const SECTIONS: &[&str] = &["backend", "redis", "ui", "runtime", "log", "contexts"];

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
    pub child_env: Option<Vec<String>>,
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
    pub redis: RedisSection,
    #[serde(default)]
    pub ui: UiSection,
    #[serde(default)]
    pub runtime: RuntimeSection,
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

/// A config file's path and text; `Debug` shows only the path (the text
/// may hold a token).
#[derive(Clone, PartialEq)]
struct Source {
    path: PathBuf,
    text: String,
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
            text: text.to_string(),
        });
        Ok(cfg)
    }

    /// The keys this file sets, as `section.key`.
    pub fn present_keys(&self) -> Vec<&'static str> {
        let b = &self.backend;
        let r = &self.redis;
        let u = &self.ui;
        [
            ("backend.api_url", b.api_url.is_some()),
            ("backend.workspace", b.workspace.is_some()),
            ("backend.token", b.token.is_some()),
            ("backend.poll_ms", b.poll_ms.is_some()),
            ("redis.url", r.url.is_some()),
            ("redis.stream_key", r.stream_key.is_some()),
            ("redis.maxlen", r.maxlen.is_some()),
            ("redis.agentarea_pubsub", r.agentarea_pubsub.is_some()),
            ("redis.ca_cert", r.ca_cert.is_some()),
            ("ui.theme", u.theme.is_some()),
            ("ui.keymap", u.keymap.is_some()),
            ("ui.read_only", u.read_only.is_some()),
            ("ui.refresh_ms", u.refresh_ms.is_some()),
            ("ui.on_hangup", u.on_hangup.is_some()),
            (
                "runtime.health_interval_secs",
                self.runtime.health_interval_secs.is_some(),
            ),
            ("runtime.child_env", self.runtime.child_env.is_some()),
            ("log.level", self.log.level.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }

    /// Where a key of this file is, for errors found after parsing.
    fn origin(&self, key: &'static str) -> Origin {
        if let Some(o) = self.context_origins.get(key) {
            return o.clone();
        }
        match &self.source {
            Some(Source { path, text }) => Origin::File {
                path: path.clone(),
                line: key_line(text, key),
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

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    /// A command-line flag, such as `--theme`.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    File {
        path: PathBuf,
        line: Option<usize>,
        key: &'static str,
    },
    /// A `[contexts.NAME]` key, put in place by `--context NAME`.
    Context {
        name: String,
        path: PathBuf,
        line: Option<usize>,
        key: &'static str,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("the default"),
            Origin::Flag(flag) => write!(f, "the flag {flag}"),
            Origin::Env(var) => write!(f, "the environment variable {var}"),
            Origin::File {
                path,
                line: Some(line),
                key,
            } => write!(f, "{} line {line}, key `{key}`", path.display()),
            Origin::File {
                path,
                line: None,
                key,
            } => write!(f, "{}, key `{key}`", path.display()),
            Origin::Context {
                name,
                path,
                line,
                key,
            } => {
                write!(
                    f,
                    "the context '{}': {}",
                    crate::domain::text::shown(name),
                    path.display()
                )?;
                if let Some(line) = line {
                    write!(f, " line {line}")?;
                }
                write!(f, ", key `{key}`")
            }
        }
    }
}

/// A configuration problem; each displays as one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {}: {error}", .path.display())]
    Read { path: PathBuf, error: String },
    #[error("the config file {} (given by --config) does not exist", .0.display())]
    Missing(PathBuf),
    /// The file is not valid TOML, has an unknown key, or a value of the
    /// wrong type.
    #[error("{}", file_error_text(.path, *.line, .key.as_deref(), .message))]
    File {
        path: PathBuf,
        line: usize,
        /// `section.key`, when the error is about one.
        key: Option<String>,
        message: String,
    },
    /// A value of the right type but not allowed.
    #[error("{origin}: {message}")]
    Value { origin: Origin, message: String },
}

fn file_error_text(path: &Path, line: usize, key: Option<&str>, message: &str) -> String {
    match key {
        Some(key) => format!("{} line {line}, key `{key}`: {message}", path.display()),
        None => format!("{} line {line}: {message}", path.display()),
    }
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
    /// What a managed process inherits of our environment (`runtime.child_env`).
    pub child_env: Vec<String>,
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
            child_env: crate::runtime::childenv::default_allow(),
            log_level: DEFAULT_LOG_LEVEL.to_string(),
            origins: BTreeMap::new(),
        }
    }
}

/// One layer's candidate value and where it came from.
type Layer<T> = Option<(T, Origin)>;

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
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let mut s = Settings::default();
        let mut origins = BTreeMap::new();
        let fl =
            |v: &Option<String>, flag: &'static str| v.clone().map(|v| (v, Origin::Flag(flag)));
        let ev = |var: &'static str| env(var).map(|v| (v, Origin::Env(var)));
        let fv = |v: &Option<String>, key: &'static str| v.clone().map(|v| (v, file.origin(key)));

        // backend
        if let Some((url, o)) = first([
            fl(&flags.api_url, "--api"),
            ev(ENV_API_URL),
            fv(&file.backend.api_url, "backend.api_url"),
        ]) {
            check_http_url(&url, &o)?;
            s.api_url = Some(url);
            origins.insert("backend.api_url", o);
        }
        if let Some((w, o)) = first([
            fl(&flags.workspace, "--workspace"),
            ev(ENV_WORKSPACE),
            fv(&file.backend.workspace, "backend.workspace"),
        ]) {
            check_not_blank(&w, &o)?;
            s.workspace = Some(w);
            origins.insert("backend.workspace", o);
        }
        if let Some((t, o)) = first([
            ev(ENV_API_TOKEN).map(|(t, o)| (Secret(t), o)),
            file.backend
                .token
                .clone()
                .map(|t| (t, file.origin("backend.token"))),
        ]) {
            if t.0.trim().is_empty() {
                return Err(value_error(o, "the token is empty"));
            }
            s.api_token = Some(t);
            origins.insert("backend.token", o);
        }

        // redis
        if let Some((u, o)) = first([
            flags
                .redis_url
                .clone()
                .map(|u| (u, Origin::Flag("--redis"))),
            ev(ENV_REDIS_URL).map(|(u, o)| (Secret(u), o)),
            file.redis
                .url
                .clone()
                .map(|u| (u, file.origin("redis.url"))),
        ]) {
            check_redis_url(&u, &o)?;
            s.redis_url = Some(u);
            origins.insert("redis.url", o);
        }
        if let Some(k) = &file.redis.stream_key {
            let o = file.origin("redis.stream_key");
            check_not_blank(k, &o)?;
            s.stream_key = k.clone();
            origins.insert("redis.stream_key", o);
        }
        if let Some(n) = file.redis.maxlen {
            s.maxlen = n;
            origins.insert("redis.maxlen", file.origin("redis.maxlen"));
        }
        if let Some(b) = file.redis.agentarea_pubsub {
            s.agentarea_pubsub = b;
            origins.insert(
                "redis.agentarea_pubsub",
                file.origin("redis.agentarea_pubsub"),
            );
        }
        if let Some(p) = &file.redis.ca_cert {
            let o = file.origin("redis.ca_cert");
            if p.as_os_str().is_empty() {
                return Err(value_error(o, "the CA certificate path is empty"));
            }
            s.ca_cert = Some(p.clone());
            origins.insert("redis.ca_cert", o);
        }

        // ui
        if let Some((t, o)) = first([
            fl(&flags.theme, "--theme"),
            ev(ENV_THEME),
            fv(&file.ui.theme, "ui.theme"),
        ]) {
            check_name("theme", &t, &o)?;
            s.theme = t;
            origins.insert("ui.theme", o);
        }
        if let Some((k, o)) = first([
            fl(&flags.keymap, "--keymap"),
            ev(ENV_KEYMAP),
            fv(&file.ui.keymap, "ui.keymap"),
        ]) {
            check_name("keymap", &k, &o)?;
            s.keymap = k;
            origins.insert("ui.keymap", o);
        }
        let env_read_only = match env(ENV_READ_ONLY) {
            Some(v) => Some((
                parse_bool(&v).ok_or_else(|| {
                    value_error(
                        Origin::Env(ENV_READ_ONLY),
                        "must be true or false (1/0, yes/no, on/off)",
                    )
                })?,
                Origin::Env(ENV_READ_ONLY),
            )),
            None => None,
        };
        if let Some((b, o)) = first([
            flags.read_only.map(|b| (b, Origin::Flag("--read-only"))),
            env_read_only,
            file.ui.read_only.map(|b| (b, file.origin("ui.read_only"))),
        ]) {
            s.read_only = b;
            origins.insert("ui.read_only", o);
        }
        if let Some(ms) = file.ui.refresh_ms {
            let o = file.origin("ui.refresh_ms");
            check_range(ms, REFRESH_MS_RANGE, "milliseconds", &o)?;
            s.refresh_ms = ms;
            origins.insert("ui.refresh_ms", o);
        }
        if let Some(v) = &file.ui.on_hangup {
            let o = file.origin("ui.on_hangup");
            if !matches!(v.as_str(), "detach" | "stop") {
                return Err(value_error(
                    o,
                    format!(
                        "'{}' is not a hangup action; use \"detach\" (keep the instances running under a background host) or \"stop\"",
                        v.escape_default()
                    ),
                ));
            }
            s.on_hangup = v.clone();
            origins.insert("ui.on_hangup", o);
        }

        // API polling: env (a number) > file
        let poll = match env(ENV_POLL_MS) {
            Some(v) => {
                let o = Origin::Env(ENV_POLL_MS);
                let ms = v.trim().parse::<u64>().map_err(|_| {
                    value_error(
                        o.clone(),
                        format!(
                            "'{}' is not a whole number of milliseconds",
                            crate::domain::text::shown(&v)
                        ),
                    )
                })?;
                Some((ms, o))
            }
            None => file
                .backend
                .poll_ms
                .map(|ms| (ms, file.origin("backend.poll_ms"))),
        };
        if let Some((ms, o)) = poll {
            check_range(ms, POLL_MS_RANGE, "milliseconds", &o)?;
            s.poll_ms = ms;
            origins.insert("backend.poll_ms", o);
        }

        // runtime
        if let Some(secs) = file.runtime.health_interval_secs {
            let o = file.origin("runtime.health_interval_secs");
            check_range(secs, HEALTH_SECS_RANGE, "seconds", &o)?;
            s.health_interval_secs = secs;
            origins.insert("runtime.health_interval_secs", o);
        }
        if let Some(names) = &file.runtime.child_env {
            let o = file.origin("runtime.child_env");
            for n in names {
                crate::runtime::childenv::check_pattern(n)
                    .map_err(|m| value_error(o.clone(), m.to_string()))?;
            }
            s.child_env = names.clone();
            origins.insert("runtime.child_env", o);
        }

        // log
        if let Some((l, o)) = first([
            fl(&flags.log_level, "--log"),
            ev(ENV_LOG),
            fv(&file.log.level, "log.level"),
        ]) {
            if tracing_subscriber::EnvFilter::try_new(&l).is_err() || l.trim().is_empty() {
                return Err(value_error(
                    o,
                    format!(
                        "'{}' is not a log level; use error, warn, info, debug, trace or directives such as \"info,aacon=debug\"",
                        crate::domain::text::shown(&l)
                    ),
                ));
            }
            s.log_level = l;
            origins.insert("log.level", o);
        }

        s.origins = origins;
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
        let opt = |v: Option<String>| v.unwrap_or_else(|| "(unset)".to_string());
        let values: [(&str, String); 17] = [
            (
                "backend.api_url",
                opt(self.api_url.as_deref().map(redacted_url)),
            ),
            ("backend.workspace", opt(self.workspace.clone())),
            (
                "backend.token",
                opt(self.api_token.as_ref().map(Secret::to_string)),
            ),
            ("backend.poll_ms", self.poll_ms.to_string()),
            (
                "redis.url",
                opt(self.redis_url.as_ref().map(Secret::to_string)),
            ),
            ("redis.stream_key", self.stream_key.clone()),
            ("redis.maxlen", self.maxlen.to_string()),
            ("redis.agentarea_pubsub", self.agentarea_pubsub.to_string()),
            (
                "redis.ca_cert",
                opt(self.ca_cert.as_ref().map(|p| p.display().to_string())),
            ),
            ("ui.theme", self.theme.clone()),
            ("ui.keymap", self.keymap.clone()),
            ("ui.read_only", self.read_only.to_string()),
            ("ui.refresh_ms", self.refresh_ms.to_string()),
            ("ui.on_hangup", self.on_hangup.clone()),
            (
                "runtime.health_interval_secs",
                self.health_interval_secs.to_string(),
            ),
            ("runtime.child_env", format!("{:?}", self.child_env)),
            ("log.level", self.log_level.clone()),
        ];
        values
            .iter()
            .map(|(k, v)| format!("{k} = {v}  # {}\n", self.origin(k)))
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

fn first<T, const N: usize>(layers: [Layer<T>; N]) -> Layer<T> {
    layers.into_iter().flatten().next()
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

fn check_range(
    v: u64,
    range: std::ops::RangeInclusive<u64>,
    unit: &str,
    o: &Origin,
) -> Result<(), ConfigError> {
    if range.contains(&v) {
        Ok(())
    } else {
        Err(value_error(
            o.clone(),
            format!(
                "{v} is out of range; use {} to {} {unit}",
                range.start(),
                range.end()
            ),
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

/// Turn toml's error into one sentence with the line and key.
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let start = e.span().map_or(0, |s| s.start).min(text.len());
    let line = text
        .get(..start)
        .map_or(1, |before| before.matches('\n').count() + 1);
    let located = key_at(text, start);
    let raw = e.message().trim();
    let first_line = raw.lines().next().unwrap_or(raw).trim();

    // Unknown keys: serde names the field; we add the section.
    if let Some(field) = between(first_line, "unknown field `", "`") {
        // `[ui]` + `colour = …`, a dotted `ui.colour = …`, or an inline `ui = { colour = … }`.
        let section = located.as_deref().and_then(|k| match k.split_once('.') {
            Some((s, _)) => Some(s.to_string()),
            None => (SECTIONS.contains(&k) && k != field).then(|| k.to_string()),
        });
        let (key, message) = match section {
            Some(section) if section == "contexts" => (
                field.to_string(),
                "unknown key; a [contexts.NAME] table takes api_url, token, token_env, workspace and redis".to_string(),
            ),
            Some(section) if SECTIONS.contains(&section.as_str()) => {
                let allowed: Vec<&str> = KEYS
                    .iter()
                    .filter_map(|(k, _)| k.strip_prefix(&format!("{section}.")))
                    .collect();
                (
                    format!("{section}.{field}"),
                    format!("unknown key; [{section}] takes {}", allowed.join(", ")),
                )
            }
            _ => (
                field.to_string(),
                format!(
                    "unknown section or key; the sections are {}",
                    SECTIONS.join(", ")
                ),
            ),
        };
        return file_error(path, line, Some(key), message);
    }
    // Wrong types and values: say what the key takes.
    if let Some(found) = first_line
        .strip_prefix("invalid type: ")
        .or_else(|| first_line.strip_prefix("invalid value: "))
    {
        let found = found.split([',', ' ']).next().unwrap_or("");
        let found = match found {
            "string" => "a string",
            "integer" => "an integer",
            "boolean" => "true/false",
            "floating" => "a decimal number",
            "sequence" => "an array",
            "map" => "a table",
            _ => "something else",
        };
        let expect = located.as_deref().and_then(|k| {
            KEYS.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, what)| (*what).to_string())
                .or_else(|| SECTIONS.contains(&k).then(|| format!("a table [{k}]")))
        });
        let header = located
            .as_deref()
            .filter(|k| SECTIONS.contains(k))
            .filter(|k| {
                text.lines()
                    .nth(line - 1)
                    .is_some_and(|l| l.trim_start().starts_with(&format!("[[{k}")))
            });
        if let Some(k) = header {
            let message = format!("[[{k}]] makes an array of tables; write [{k}]");
            return file_error(path, line, located.clone(), message);
        }
        let message = match expect {
            Some(what) => format!("must be {what}, not {found}"),
            None => format!("this value has the wrong type ({found})"),
        };
        return file_error(path, line, located, message);
    }
    let detail = raw
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let message = if detail.starts_with("duplicate key") {
        "the key is set twice; keep one".to_string()
    } else {
        format!("this is not valid TOML ({detail})")
    };
    file_error(path, line, located, message)
}

fn file_error(path: &Path, line: usize, key: Option<String>, message: String) -> ConfigError {
    ConfigError::File {
        path: path.to_path_buf(),
        line,
        key,
        message,
    }
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let rest = &s[s.find(open)? + open.len()..];
    Some(&rest[..rest.find(close)?])
}

/// The `section.key` written at byte `at` (the key on that line, under the
/// nearest table header above), or the section name for a header line.
fn key_at(text: &str, at: usize) -> Option<String> {
    let line_start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = text[line_start..line_end].trim();
    if let Some(h) = header_name(line) {
        return Some(h);
    }
    let key = line.split_once('=')?.0.trim().trim_matches(['"', '\'']);
    if key.is_empty() || key.starts_with('#') {
        return None;
    }
    let section = text[..line_start]
        .lines()
        .rev()
        .find_map(|l| header_name(l.trim()));
    Some(match section {
        Some(s) => format!("{s}.{key}"),
        None => key.to_string(),
    })
}

fn header_name(line: &str) -> Option<String> {
    let inner = line.strip_prefix('[')?;
    let inner = inner.trim_start_matches('[');
    let end = inner.find(']')?;
    Some(inner[..end].trim().trim_matches(['"', '\'']).to_string())
}

/// The line of `section.key` in config text (for errors found after parsing).
fn key_line(text: &str, key: &str) -> Option<usize> {
    // The last dot: `contexts.prod.api_url` is key `api_url` of [contexts.prod].
    let (want_section, want_key) = key.rsplit_once('.')?;
    let mut section: Option<String> = None;
    let mut found = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(h) = header_name(l) {
            section = Some(h);
            continue;
        }
        let Some((k, _)) = l.split_once('=') else {
            continue;
        };
        let k = k.trim().trim_matches(['"', '\'']);
        let full_match = section.as_deref() == Some(want_section) && k == want_key;
        let dotted = section.is_none() && k == key;
        if full_match || dotted {
            found = Some(i + 1);
        }
    }
    found
}

mod contexts;
pub use contexts::{ContextSection, ContextSummary, context_env};

#[cfg(test)]
mod tests;
