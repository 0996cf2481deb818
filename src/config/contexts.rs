//! Contexts: several platforms in one config file, `[contexts.NAME]` with
//! `api_url`, `token` or `token_env`, `workspace` and `redis`. `--context
//! NAME` (and `:ctx NAME` in the console) puts a context's values where
//! `[backend]` and `[redis]` would be; the environment's
//! `AACON_API_URL`/`AACON_API_TOKEN`/`AACON_WORKSPACE`/`AACON_REDIS_URL` then
//! do not apply (the context says which platform), flags still do.

use super::{
    ConfigError, ENV_API_TOKEN, ENV_API_URL, ENV_REDIS_URL, ENV_WORKSPACE, FileConfig, Secret,
};
use serde::Deserialize;
use std::collections::BTreeMap;

/// `[contexts.NAME]`: one platform.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSection {
    pub api_url: Option<String>,
    /// The token itself (the file should then be readable by its owner only).
    pub token: Option<Secret>,
    /// The environment variable that holds the token.
    pub token_env: Option<String>,
    pub workspace: Option<String>,
    /// Redis for live events from this platform.
    pub redis: Option<Secret>,
}

/// What the console lists for `:ctx`: never the token, only where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextSummary {
    pub name: String,
    /// The API URL, or "embedded" when the context names none.
    pub target: String,
    pub workspace: Option<String>,
    /// "token in the file", "token from $VAR", or "no token".
    pub token: String,
    pub redis: bool,
}

/// The variables a context replaces.
const CONTEXT_ENV: [&str; 4] = [ENV_API_URL, ENV_API_TOKEN, ENV_WORKSPACE, ENV_REDIS_URL];

impl FileConfig {
    /// The contexts the file defines, by name.
    pub fn contexts(&self) -> &BTreeMap<String, ContextSection> {
        &self.contexts
    }

    /// Every context, for `:ctx` (tokens never included).
    pub fn context_summaries(&self) -> Vec<ContextSummary> {
        self.contexts
            .iter()
            .map(|(name, c)| ContextSummary {
                name: name.clone(),
                target: c
                    .api_url
                    .clone()
                    .map(|u| super::redacted_url(&u))
                    .unwrap_or_else(|| "embedded".into()),
                workspace: c.workspace.clone(),
                token: match (&c.token, &c.token_env) {
                    (Some(_), _) => "token in the file".into(),
                    (None, Some(var)) => format!("token from ${var}"),
                    (None, None) => "no token".into(),
                },
                redis: c.redis.is_some(),
            })
            .collect()
    }

    /// This file with context `name` in place of `[backend]`'s api_url,
    /// token and workspace and `[redis]`'s url. `env` reads `token_env`.
    pub fn with_context(
        mut self,
        name: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<FileConfig, ConfigError> {
        let Some(c) = self.contexts.get(name).cloned() else {
            let known: Vec<&str> = self.contexts.keys().map(String::as_str).collect();
            let message = if known.is_empty() {
                format!(
                    "there is no context '{}': the config file defines none (add [contexts.{}] with api_url and token_env)",
                    crate::domain::text::shown(name),
                    crate::domain::text::shown(name)
                )
            } else {
                format!(
                    "there is no context '{}' (defined: {})",
                    crate::domain::text::shown(name),
                    known.join(", ")
                )
            };
            return Err(ConfigError::Value {
                origin: super::Origin::Flag("--context"),
                message,
            });
        };
        // What the context puts in place comes from the context's lines.
        let origin = |key: &'static str| super::Origin::Context {
            name: name.to_string(),
            path: self
                .source
                .as_ref()
                .map_or_else(|| super::FILE_NAME.into(), |s| s.path.clone()),
            line: self
                .source
                .as_ref()
                .and_then(|s| s.spans.line(&format!("contexts.{name}.{key}"))),
            key,
        };
        let mut origins = BTreeMap::new();
        for (set, setting, key) in [
            (c.api_url.is_some(), "backend.api_url", "api_url"),
            (c.token.is_some(), "backend.token", "token"),
            (
                c.token.is_none() && c.token_env.is_some(),
                "backend.token",
                "token_env",
            ),
            (c.workspace.is_some(), "backend.workspace", "workspace"),
            (c.redis.is_some(), "redis.url", "redis"),
        ] {
            if set {
                origins.insert(setting, origin(key));
            }
        }
        let token = match (c.token, &c.token_env) {
            (Some(t), _) => Some(t),
            (None, Some(var)) => match env(var).filter(|v| !v.trim().is_empty()) {
                Some(v) => Some(Secret::new(v)),
                None => {
                    return Err(ConfigError::Value {
                        origin: super::Origin::Flag("--context"),
                        message: format!(
                            "context '{name}' takes its token from ${var}, which is not set"
                        ),
                    });
                }
            },
            (None, None) => None,
        };
        self.backend.api_url = c.api_url;
        self.backend.token = token;
        self.backend.workspace = c.workspace;
        self.redis.url = c.redis;
        self.context_origins = origins;
        Ok(self)
    }
}

/// The environment as a context sees it: the variables the context
/// replaces read as unset.
pub fn context_env(env: &dyn Fn(&str) -> Option<String>, key: &str) -> Option<String> {
    if CONTEXT_ENV.contains(&key) {
        None
    } else {
        env(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const TEXT: &str = r#"
[backend]
api_url = "http://127.0.0.1:1"

[contexts.prod]
api_url = "https://aa.example.com"
token_env = "PROD_TOKEN"
workspace = "ops"
redis = "redis://:pw@127.0.0.1:6379"

[contexts.lab]
api_url = "http://127.0.0.1:8080"
token = "lab-secret"
"#;

    fn file() -> FileConfig {
        FileConfig::parse(Path::new("config.toml"), TEXT).unwrap()
    }

    #[test]
    fn a_context_replaces_backend_and_redis() {
        let env = |k: &str| (k == "PROD_TOKEN").then(|| "prod-secret".to_string());
        let f = file().with_context("prod", &env).unwrap();
        assert_eq!(f.backend.api_url.as_deref(), Some("https://aa.example.com"));
        assert_eq!(
            f.backend.token.as_ref().map(Secret::expose),
            Some("prod-secret")
        );
        assert_eq!(f.backend.workspace.as_deref(), Some("ops"));
        assert!(f.redis.url.is_some());
        let lab = file().with_context("lab", &env).unwrap();
        assert_eq!(
            lab.backend.token.as_ref().map(Secret::expose),
            Some("lab-secret")
        );
        assert_eq!(lab.redis.url, None);
    }

    #[test]
    fn unknown_contexts_and_missing_tokens_are_one_sentence() {
        let none = |_: &str| None;
        let e = file().with_context("stage", &none).unwrap_err().to_string();
        assert!(e.contains("no context 'stage' (defined: lab, prod)"), "{e}");
        let e = file().with_context("prod", &none).unwrap_err().to_string();
        assert!(e.contains("$PROD_TOKEN, which is not set"), "{e}");
        let e = FileConfig::default()
            .with_context("ünï", &none)
            .unwrap_err()
            .to_string();
        assert!(e.contains("'ünï'"), "{e}");
    }

    #[test]
    fn summaries_never_show_a_token() {
        let s = file().context_summaries();
        let text = format!("{s:?}");
        assert!(
            !text.contains("lab-secret") && !text.contains(":pw@"),
            "{text}"
        );
        assert_eq!(s[0].name, "lab");
        assert_eq!(s[0].token, "token in the file");
        assert_eq!(s[1].token, "token from $PROD_TOKEN");
        assert!(s[1].redis);
    }

    #[test]
    fn a_context_hides_the_variables_it_replaces() {
        let env = |k: &str| Some(format!("v-{k}"));
        assert_eq!(context_env(&env, ENV_API_URL), None);
        assert_eq!(context_env(&env, ENV_API_TOKEN), None);
        assert_eq!(
            context_env(&env, "AACON_THEME"),
            Some("v-AACON_THEME".into())
        );
    }
}
