//! The environment a managed process starts with: never the operator's
//! whole environment (API tokens, cloud credentials, `TMUX`…), only a small
//! allowlist of variables a program needs to run (configurable as
//! `runtime.child_env`), then the spec's own `env`/`env_vars` on top.

use std::ffi::OsString;

/// The variables passed through by default. A trailing `*` matches a
/// prefix (`LC_*`: every locale category).
pub const DEFAULT_ALLOW: &[&str] = &["PATH", "HOME", "LANG", "LC_*", "TZ", "TMPDIR", "USER"];

/// What the container CLI itself (podman, docker) also needs to find its
/// daemon or its rootless state. These reach the CLI process only: the
/// container gets nothing but the spec's variables (`-e NAME`).
pub const CONTAINER_CLI_ALLOW: &[&str] = &[
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_CONFIG",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "CONTAINER_HOST",
    "CONTAINER_CONNECTION",
    "CONTAINERS_CONF",
    "CONTAINERS_STORAGE_CONF",
    "CONTAINERS_REGISTRIES_CONF",
];

/// The default allowlist as owned strings (for settings).
pub fn default_allow() -> Vec<String> {
    DEFAULT_ALLOW.iter().map(|s| s.to_string()).collect()
}

/// Whether variable `name` is allowed by `pattern` (`NAME` or `PREFIX*`).
pub fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

/// An allowlist entry that is not a variable name or prefix (as written,
/// escaped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a variable name (letters, digits and '_', optionally ending in '*' for a prefix)"
)]
pub struct PatternError(String);

/// Check one allowlist entry: a variable name, or a prefix ending in `*`.
pub fn check_pattern(pattern: &str) -> Result<(), PatternError> {
    let name = pattern.strip_suffix('*').unwrap_or(pattern);
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(PatternError(pattern.escape_default().to_string()))
    }
}

/// The variables of `from` that `allow` lets through, in `from`'s order.
pub fn filter<I>(from: I, allow: &[String], also: &[&str]) -> Vec<(OsString, OsString)>
where
    I: IntoIterator<Item = (OsString, OsString)>,
{
    from.into_iter()
        .filter(|(k, _)| {
            k.to_str().is_some_and(|k| {
                allow.iter().any(|p| matches(p, k)) || also.iter().any(|p| matches(p, k))
            })
        })
        .collect()
}

/// This process's variables that `allow` (and `also`) let through.
pub fn inherited(allow: &[String], also: &[&str]) -> Vec<(OsString, OsString)> {
    filter(std::env::vars_os(), allow, also)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    #[test]
    fn only_allowed_names_and_prefixes_pass() {
        let from = env(&[
            ("PATH", "/bin"),
            ("AACON_API_TOKEN", "t0ken"),
            ("LC_TIME", "C"),
            ("LCX", "no"),
            ("AWS_SECRET_ACCESS_KEY", "k"),
            ("TMUX", "/tmp/tmux"),
            ("HOME", "/home/op"),
        ]);
        let got = filter(from, &default_allow(), &[]);
        assert_eq!(
            got,
            env(&[("PATH", "/bin"), ("LC_TIME", "C"), ("HOME", "/home/op")])
        );
    }

    #[test]
    fn the_container_cli_gets_its_own_few_more() {
        let from = env(&[("XDG_RUNTIME_DIR", "/run/user/1"), ("SECRET", "s")]);
        assert!(filter(from.clone(), &default_allow(), &[]).is_empty());
        assert_eq!(
            filter(from, &default_allow(), CONTAINER_CLI_ALLOW),
            env(&[("XDG_RUNTIME_DIR", "/run/user/1")])
        );
    }

    #[test]
    fn patterns_are_checked() {
        assert!(check_pattern("LC_*").is_ok());
        assert!(check_pattern("PATH").is_ok());
        for bad in ["", "*", "A-B", "1X", "PA TH"] {
            let e = check_pattern(bad).unwrap_err().to_string();
            assert!(e.contains("is not a variable name"), "{e}");
        }
    }
}
