//! Redis connection settings: URL, credentials, stream key and limits.
//!
//! The password lives only inside [`RedisConfig`]; `Debug` and `Display`
//! print the URL with the password replaced by `***`, and
//! [`RedisConfig::scrub`] removes it from any text (error messages).

use super::BusError;
use redis::{AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, IntoConnectionInfo};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The default stream key, shared with AgentArea's seed design.
pub use crate::config::DEFAULT_STREAM_KEY;

/// Everything needed to reach Redis and use the event stream.
#[derive(Clone)]
pub struct RedisConfig {
    info: ConnectionInfo,
    /// The stream our envelopes go to (default `agentarea:events`).
    pub stream_key: String,
    /// `XADD … MAXLEN ~ maxlen`; 0 means no trimming.
    pub maxlen: usize,
    /// How many past events a watcher shows before going live.
    pub backfill: usize,
    /// Entries per read (`COUNT`) and per published pipeline.
    pub batch: usize,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
    /// How long a reply may take (added to `block` for blocking reads).
    pub read_timeout: Duration,
    /// How long one `XREAD BLOCK` waits before asking again.
    pub block: Duration,
    /// How often the relay looks at the outbox without being woken (other
    /// processes may commit to the same store).
    pub relay_poll: Duration,
    /// How often an idle pub/sub link is checked with a PING.
    pub keepalive: Duration,
    /// First and largest reconnect delay (exponential, with jitter).
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Also listen on AgentArea's pub/sub channels.
    pub agentarea_pubsub: bool,
    /// A PEM CA certificate for `rediss://` servers not in the system store.
    pub ca_cert: Option<PathBuf>,
}

impl RedisConfig {
    /// Parse `redis://[user[:password]@]host[:port][/db]` or `rediss://…`.
    pub fn new(url: &str) -> Result<RedisConfig, BusError> {
        let info = url.into_connection_info().map_err(|e| {
            BusError::Config(format!(
                "the Redis URL is not valid ({}); expected redis://[user:password@]host[:port][/db] or rediss://…",
                scrub_text(&e.to_string(), url_password(url).as_deref())
            ))
        })?;
        Ok(RedisConfig {
            info,
            stream_key: DEFAULT_STREAM_KEY.to_string(),
            maxlen: crate::config::DEFAULT_MAXLEN,
            backfill: 200,
            batch: 1000,
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(5),
            block: Duration::from_secs(5),
            relay_poll: Duration::from_millis(500),
            keepalive: Duration::from_secs(15),
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            agentarea_pubsub: false,
            ca_cert: None,
        })
    }

    /// Set the user name (overrides one in the URL).
    pub fn with_username(mut self, user: &str) -> Self {
        let r = self.info.redis_settings().clone().set_username(user);
        self.info = self.info.set_redis_settings(r);
        self
    }

    /// Set the password (overrides one in the URL).
    pub fn with_password(mut self, password: &str) -> Self {
        let r = self.info.redis_settings().clone().set_password(password);
        self.info = self.info.set_redis_settings(r);
        self
    }

    /// Select a database index (overrides one in the URL).
    pub fn with_db(mut self, db: i64) -> Self {
        let r = self.info.redis_settings().clone().set_db(db);
        self.info = self.info.set_redis_settings(r);
        self
    }

    pub fn db(&self) -> i64 {
        self.info.redis_settings().db()
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.info.addr(), ConnectionAddr::TcpTls { .. })
    }

    /// Host and port when the server is reached over plain TCP (not TLS,
    /// not a Unix socket): the watcher then reads the stream's replies
    /// from the bytes itself ([`super::resp`]).
    pub fn plain_tcp(&self) -> Option<(&str, u16)> {
        match self.info.addr() {
            ConnectionAddr::Tcp(host, port) => Some((host.as_str(), *port)),
            _ => None,
        }
    }

    /// User name and password for `AUTH` (crate-internal: the password
    /// never leaves the bus).
    pub(crate) fn credentials(&self) -> (Option<&str>, Option<&str>) {
        let r = self.info.redis_settings();
        (r.username(), r.password())
    }

    /// A short label for the header and logs, e.g. `redis://127.0.0.1:6379/0`.
    pub fn label(&self) -> String {
        self.to_string()
    }

    /// `text` with the password (if any) replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        scrub_text(text, self.info.redis_settings().password())
    }

    /// A client for this configuration (TLS roots loaded here).
    pub fn client(&self) -> Result<Client, BusError> {
        if self.is_tls() {
            // redis's rustls support selects no crypto provider; ring is ours.
            // An error only means one is installed already.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let result = match (&self.ca_cert, self.is_tls()) {
            (Some(path), true) => {
                let pem = std::fs::read(path).map_err(|e| {
                    BusError::Config(format!(
                        "cannot read the Redis CA certificate {}: {e}",
                        path.display()
                    ))
                })?;
                Client::build_with_tls(
                    self.info.clone(),
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(pem),
                    },
                )
            }
            _ => Client::open(self.info.clone()),
        };
        result.map_err(|e| BusError::Config(self.scrub(&e.to_string())))
    }

    /// Connection settings for ordinary commands.
    pub fn connection_config(&self) -> AsyncConnectionConfig {
        AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.read_timeout))
    }

    /// Connection settings for blocking reads (`BLOCK block`).
    pub fn blocking_connection_config(&self) -> AsyncConnectionConfig {
        AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.block + self.read_timeout))
    }

    /// Open a multiplexed connection for ordinary commands.
    pub async fn connect(&self) -> Result<redis::aio::MultiplexedConnection, BusError> {
        self.connect_with(&self.connection_config()).await
    }

    pub(crate) async fn connect_with(
        &self,
        cc: &AsyncConnectionConfig,
    ) -> Result<redis::aio::MultiplexedConnection, BusError> {
        let client = self.client()?;
        client
            .get_multiplexed_async_connection_with_config(cc)
            .await
            .map_err(|e| self.error(e))
    }

    /// A Redis error as a [`BusError`] with the password scrubbed.
    pub fn error(&self, e: redis::RedisError) -> BusError {
        BusError::Redis(self.scrub(&e.to_string()))
    }
}

impl RedisConfig {
    /// From resolved settings (flag > env > file > default; see
    /// [`crate::config::Settings`]). `None` when no Redis URL is set.
    pub fn from_settings(s: &crate::config::Settings) -> Result<Option<RedisConfig>, BusError> {
        let Some(url) = &s.redis_url else {
            return Ok(None);
        };
        let mut c = RedisConfig::new(url.expose())?;
        c.stream_key = s.stream_key.clone();
        c.maxlen = s.maxlen;
        c.agentarea_pubsub = s.agentarea_pubsub;
        c.ca_cert = s.ca_cert.clone();
        Ok(Some(c))
    }
}

fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    Some(userinfo.split_once(':')?.1.to_string()).filter(|p| !p.is_empty())
}

fn scrub_text(text: &str, password: Option<&str>) -> String {
    match password {
        Some(p) if !p.is_empty() => text.replace(p, "***"),
        _ => text.to_string(),
    }
}

impl fmt::Display for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.info.redis_settings();
        let user = match (r.username(), r.password()) {
            (Some(u), Some(_)) => format!("{u}:***@"),
            (Some(u), None) => format!("{u}@"),
            (None, Some(_)) => ":***@".to_string(),
            (None, None) => String::new(),
        };
        match self.info.addr() {
            ConnectionAddr::Tcp(host, port) => {
                write!(f, "redis://{user}{host}:{port}/{}", r.db())
            }
            ConnectionAddr::TcpTls { host, port, .. } => {
                write!(f, "rediss://{user}{host}:{port}/{}", r.db())
            }
            ConnectionAddr::Unix(path) => {
                write!(f, "redis+unix://{user}{}?db={}", path.display(), r.db())
            }
            _ => write!(f, "redis://{user}?/{}", r.db()),
        }
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.to_string())
            .field("stream_key", &self.stream_key)
            .field("maxlen", &self.maxlen)
            .field("backfill", &self.backfill)
            .field("batch", &self.batch)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("block", &self.block)
            .field("keepalive", &self.keepalive)
            .field("agentarea_pubsub", &self.agentarea_pubsub)
            .field("ca_cert", &self.ca_cert)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_shows() {
        let c = RedisConfig::new("redis://ops:hunter2pass@127.0.0.1:6390/3").unwrap();
        assert_eq!(c.to_string(), "redis://ops:***@127.0.0.1:6390/3");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2pass"), "{dbg}");
        assert!(dbg.contains("127.0.0.1:6390"));
        assert_eq!(c.db(), 3);
        assert_eq!(
            c.scrub("auth failed for hunter2pass"),
            "auth failed for ***"
        );
    }

    #[test]
    fn config_credentials_override_and_stay_hidden() {
        let c = RedisConfig::new("rediss://127.0.0.1:6391")
            .unwrap()
            .with_username("me")
            .with_password("s3cret-value")
            .with_db(2);
        assert!(c.is_tls());
        assert_eq!(c.to_string(), "rediss://me:***@127.0.0.1:6391/2");
        assert!(!format!("{c:?}").contains("s3cret-value"));
    }

    #[test]
    fn from_resolved_settings() {
        use crate::config::{Secret, Settings};
        assert!(
            RedisConfig::from_settings(&Settings::default())
                .unwrap()
                .is_none()
        );
        let s = Settings {
            redis_url: Some(Secret::new("rediss://ops:from-config-pw@127.0.0.1:6380/4")),
            stream_key: "team:events".into(),
            maxlen: 5000,
            agentarea_pubsub: true,
            ca_cert: Some("/ca.pem".into()),
            ..Settings::default()
        };
        let c = RedisConfig::from_settings(&s).unwrap().unwrap();
        assert_eq!(c.to_string(), "rediss://ops:***@127.0.0.1:6380/4");
        assert_eq!(c.stream_key, "team:events");
        assert_eq!(c.maxlen, 5000);
        assert!(c.agentarea_pubsub && c.is_tls());
        assert_eq!(c.ca_cert.as_deref(), Some(std::path::Path::new("/ca.pem")));
        assert_eq!(
            RedisConfig::new("redis://h").unwrap().maxlen,
            crate::config::DEFAULT_MAXLEN
        );
    }

    #[test]
    fn bad_urls_are_one_sentence_and_hide_the_password() {
        for bad in [
            "http://x:pw123456@h",
            "not a url",
            "redis://:pw123456@h:99999",
        ] {
            let e = RedisConfig::new(bad).unwrap_err().to_string();
            assert!(e.starts_with("the Redis URL is not valid"), "{e}");
            assert!(!e.contains("pw123456"), "{e}");
            assert!(!e.contains('\n'));
        }
    }
}
