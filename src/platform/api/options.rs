//! Where the client connects and with what: the base URL, the token, the
//! workspace, Redis and the poll interval, from flags, environment or settings.

use super::*;

/// Environment variable with the API URL.
pub const URL_ENV: &str = "AACON_API_URL";
/// Environment variable with the bearer token.
pub const TOKEN_ENV: &str = "AACON_API_TOKEN";
/// Environment variable with the workspace id.
pub const WORKSPACE_ENV: &str = "AACON_WORKSPACE";
/// Largest response body accepted.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// Subscriber buffer.
pub(super) const CAPACITY: usize = 4096;

/// Why a token cannot be sent (never showing it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the API token is empty")]
    Empty,
    #[error("the API token has spaces or characters an HTTP header cannot carry")]
    Unfit,
}

/// A bearer token; its `Debug` never shows it and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// A token fit for an HTTP header.
    pub fn new(token: &str) -> std::result::Result<ApiToken, TokenError> {
        let t = token.trim();
        if t.is_empty() {
            return Err(TokenError::Empty);
        }
        if !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::Unfit);
        }
        Ok(ApiToken(t.to_string()))
    }

    /// The secret itself, for the one header (or comparison) that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

/// How to reach the API.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    pub url: String,
    pub token: Option<ApiToken>,
    pub workspace: Option<String>,
    /// Whole-request timeout.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// How often the list is polled for live status (without Redis).
    pub poll_interval: Duration,
    /// Extra tries for a GET after a connect error or a 502/503/504.
    pub get_retries: u32,
    /// Live status from this Redis stream instead of polling.
    pub redis: Option<crate::bus::RedisConfig>,
    /// Reach the API over this Unix socket (a runtime host's
    /// `runtime.sock`) instead of TCP; `url` still names the host part.
    pub unix_socket: Option<std::path::PathBuf>,
    /// The flight recorder's file for this remote (see [`super::record`]).
    pub recording: Option<super::RecordOptions>,
}

impl ApiOptions {
    pub fn new(url: impl Into<String>) -> ApiOptions {
        ApiOptions {
            url: url.into(),
            token: None,
            workspace: None,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_secs(2),
            get_retries: 3,
            redis: None,
            unix_socket: None,
            recording: None,
        }
    }

    /// The API of the runtime host that serves on `socket` (its
    /// `runtime.sock`): no token, calls may take `timeout`.
    pub fn runtime_host(socket: &std::path::Path, timeout: Duration) -> ApiOptions {
        ApiOptions {
            timeout,
            get_retries: 0,
            unix_socket: Some(socket.to_path_buf()),
            ..ApiOptions::new("http://localhost")
        }
    }
}

/// Check an API URL: http or https, a host, no credentials. Returns the
/// base (no trailing slash, no query) and the form shown to users.
pub fn parse_base_url(raw: &str) -> Result<(Url, String)> {
    let raw = raw.trim();
    let shown_raw: String = raw
        .chars()
        .take(80)
        .map(crate::domain::text::shown_char)
        .collect();
    let mut url = Url::parse(raw).map_err(|e| {
        PlatformError::Invalid(format!(
            "'{shown_raw}' is not a URL ({e}); write it like http://127.0.0.1:8080"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(PlatformError::Invalid(format!(
            "the API URL must start with http:// or https://, not {}://",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(PlatformError::Invalid(format!(
            "the API URL '{shown_raw}' names no host"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(PlatformError::Invalid(
            "the API URL must not carry credentials; put the token in AACON_API_TOKEN or the config file"
                .into(),
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    let mut path = url.path().trim_end_matches('/').to_string();
    if let Some(p) = path.strip_suffix(BASE_PATH) {
        path = p.to_string();
    }
    url.set_path(&path);
    let shown = url.as_str().trim_end_matches('/').to_string();
    Ok((url, shown))
}

/// The Redis stream settings, when a Redis URL is configured.
pub fn redis_config(
    s: &crate::config::Settings,
) -> std::result::Result<Option<crate::bus::RedisConfig>, crate::bus::BusError> {
    crate::bus::RedisConfig::from_settings(s)
}

impl ApiOptions {
    /// Client options from resolved settings when they name an API URL
    /// (token and workspace come from the environment or the config file,
    /// never from argv).
    pub fn from_settings(s: &crate::config::Settings) -> Result<Option<ApiOptions>> {
        let Some(url) = s.api_url.clone() else {
            return Ok(None);
        };
        let mut o = ApiOptions::new(url);
        if let Some(t) = &s.api_token {
            o.token =
                Some(ApiToken::new(t.expose()).map_err(|e| PlatformError::Invalid(e.to_string()))?);
        }
        o.workspace = s.workspace.clone();
        o.redis = redis_config(s).map_err(|e| PlatformError::Invalid(e.to_string()))?;
        o.poll_interval = Duration::from_millis(s.poll_ms);
        Ok(Some(o))
    }
}
