//! The local secret store: `secrets.json` in the data dir, owner-only.
//!
//! Values are resolved only when a process is spawned or a request is sent
//! ([`SecretStore::resolve`]); they never enter json_spec, events, logs or
//! the screen. A file readable by group or others is refused with the
//! `chmod` that fixes it.

use crate::domain::spec::SECRET_REF_PREFIX;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// File name inside the data dir.
pub const FILE_NAME: &str = "secrets.json";
/// Largest secret value accepted.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// Why the secret store refused or failed; each is one sentence, and none
/// shows a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the secret name is empty; {RULE}")]
    EmptyName,
    #[error("'{0}' is not a valid secret name; {RULE}")]
    BadName(String),
    #[error("the secret value is empty; nothing stored")]
    EmptyValue,
    #[error("the secret value is longer than {} KiB; nothing stored", MAX_VALUE_BYTES / 1024)]
    TooLong,
    #[error("the secret store {} is readable by group or others; refusing to use it — run `chmod 600 {}`", .0.display(), .0.display())]
    Exposed(PathBuf),
    #[error("cannot read the secret store {}: {error}", path.display())]
    Read { path: PathBuf, error: String },
    #[error("the secret store {} is not valid JSON (line {line}); fix or remove it", path.display())]
    Decode { path: PathBuf, line: usize },
    #[error("cannot create {}: {error}", path.display())]
    CreateDir { path: PathBuf, error: String },
    #[error("cannot encode the secret store: {0}")]
    Encode(String),
    #[error("cannot write the secret store {}: {error}", path.display())]
    Write { path: PathBuf, error: String },
    #[error(
        "missing secret '{name}' (referenced as \"{value}\"); set it with `aacon secrets set {name}`"
    )]
    Missing { name: String, value: String },
}

impl SecretError {
    /// What fixes it, as a command or a step (for `aacon doctor`).
    pub fn fix(&self) -> String {
        match self {
            SecretError::Exposed(path) => format!("chmod 600 {}", path.display()),
            _ => "chmod 600 the secret store".into(),
        }
    }
}

const RULE: &str = "secret names are 1-128 characters of letters, digits, '_', '-' and '.'";

/// A secret value; its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(v: impl Into<String>) -> Self {
        SecretValue(v.into())
    }
    /// The value itself, for the spawn or the request only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<hidden>)")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::domain::spec::MASK)
    }
}

/// Check a secret name: 1-128 characters of letters, digits, `_`, `-`, `.`.
pub fn validate_name(name: &str) -> Result<(), SecretError> {
    if name.is_empty() {
        return Err(SecretError::EmptyName);
    }
    if name.len() > 128
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        let shown: String = name
            .chars()
            .take(40)
            .map(crate::domain::text::shown_char)
            .collect();
        return Err(SecretError::BadName(shown));
    }
    Ok(())
}

/// The name a json_spec value refers to, if it is a secret reference
/// (`secret_ref:NAME`, or the seed's opaque `secret_ref_…`, looked up whole).
pub fn reference_name(value: &str) -> Option<&str> {
    if let Some(n) = value.strip_prefix(SECRET_REF_PREFIX) {
        return Some(n);
    }
    value.starts_with("secret_ref_").then_some(value)
}

#[derive(Clone)]
pub struct SecretStore {
    path: PathBuf,
}

impl SecretStore {
    /// The store in `data_dir` (the file is created on the first `set`).
    pub fn open(data_dir: &Path) -> SecretStore {
        SecretStore {
            path: data_dir.join(FILE_NAME),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_error(&self, e: std::io::Error) -> SecretError {
        SecretError::Read {
            path: self.path.clone(),
            error: e.to_string(),
        }
    }

    fn check_mode(&self) -> Result<bool, SecretError> {
        match std::fs::metadata(&self.path) {
            Ok(m) => {
                if m.permissions().mode() & 0o077 != 0 {
                    return Err(SecretError::Exposed(self.path.clone()));
                }
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.read_error(e)),
        }
    }

    fn load(&self) -> Result<BTreeMap<String, String>, SecretError> {
        if !self.check_mode()? {
            return Ok(BTreeMap::new());
        }
        let text = std::fs::read_to_string(&self.path).map_err(|e| self.read_error(e))?;
        if text.trim().is_empty() {
            return Ok(BTreeMap::new());
        }
        let map: Map<String, Value> =
            serde_json::from_str(&text).map_err(|e| SecretError::Decode {
                path: self.path.clone(),
                line: e.line(),
            })?;
        Ok(map
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
            .collect())
    }

    fn save(&self, map: &BTreeMap<String, String>) -> Result<(), SecretError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| SecretError::CreateDir {
            path: dir.to_path_buf(),
            error: e.to_string(),
        })?;
        let tmp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
        let body =
            serde_json::to_vec_pretty(map).map_err(|e| SecretError::Encode(e.to_string()))?;
        let write = || -> std::io::Result<()> {
            let _ = std::fs::remove_file(&tmp);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            SecretError::Write {
                path: self.path.clone(),
                error: e.to_string(),
            }
        })
    }

    /// Store `value` under `name` (replacing any old value).
    pub fn set(&self, name: &str, value: &SecretValue) -> Result<(), SecretError> {
        validate_name(name)?;
        if value.expose().is_empty() {
            return Err(SecretError::EmptyValue);
        }
        if value.expose().len() > MAX_VALUE_BYTES {
            return Err(SecretError::TooLong);
        }
        let mut map = self.load()?;
        map.insert(name.to_string(), value.expose().to_string());
        self.save(&map)
    }

    /// Secret names, sorted.
    pub fn list(&self) -> Result<Vec<String>, SecretError> {
        Ok(self.load()?.into_keys().collect())
    }

    /// Remove `name`; false when there was no such secret.
    pub fn remove(&self, name: &str) -> Result<bool, SecretError> {
        let mut map = self.load()?;
        if map.remove(name).is_none() {
            return Ok(false);
        }
        self.save(&map)?;
        Ok(true)
    }

    pub fn get(&self, name: &str) -> Result<Option<SecretValue>, SecretError> {
        Ok(self.load()?.remove(name).map(SecretValue))
    }

    /// Resolve a json_spec value: a reference becomes its secret, anything
    /// else is returned as is. A missing secret is an error naming the
    /// reference.
    pub fn resolve(&self, value: &str) -> Result<Resolved, SecretError> {
        match reference_name(value) {
            None => Ok(Resolved::Plain(value.to_string())),
            Some(name) => match self.get(name)? {
                Some(v) => Ok(Resolved::Secret(v)),
                None => Err(SecretError::Missing {
                    name: name.to_string(),
                    value: value.to_string(),
                }),
            },
        }
    }
}

/// A resolved json_spec value.
#[derive(Debug, Clone)]
pub enum Resolved {
    Plain(String),
    Secret(SecretValue),
}

impl Resolved {
    pub fn expose(&self) -> &str {
        match self {
            Resolved::Plain(s) => s,
            Resolved::Secret(s) => s.expose(),
        }
    }
    pub fn secret(&self) -> Option<&SecretValue> {
        match self {
            Resolved::Secret(s) => Some(s),
            Resolved::Plain(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_list_get_remove_round_trip_with_owner_only_file() {
        let tmp = tempfile::tempdir().unwrap();
        let s = SecretStore::open(tmp.path());
        assert_eq!(s.list().unwrap(), Vec::<String>::new());
        s.set("API_KEY", &SecretValue::new("canary-1")).unwrap();
        s.set("other", &SecretValue::new("x")).unwrap();
        let mode = std::fs::metadata(s.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(s.list().unwrap(), vec!["API_KEY", "other"]);
        assert_eq!(s.get("API_KEY").unwrap().unwrap().expose(), "canary-1");
        assert!(s.remove("other").unwrap());
        assert!(!s.remove("other").unwrap());
        assert_eq!(s.list().unwrap(), vec!["API_KEY"]);
    }

    #[test]
    fn a_group_readable_store_is_refused_with_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let s = SecretStore::open(tmp.path());
        s.set("A", &SecretValue::new("v")).unwrap();
        std::fs::set_permissions(s.path(), std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = s.list().unwrap_err().to_string();
        assert!(e.contains("readable by group or others"), "{e}");
        assert!(e.contains("chmod 600"), "{e}");
        assert!(s.get("A").is_err());
    }

    #[test]
    fn bad_names_and_empty_values_change_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let s = SecretStore::open(tmp.path());
        assert!(s.set("has space", &SecretValue::new("v")).is_err());
        assert!(s.set("ok", &SecretValue::new("")).is_err());
        assert!(!s.path().exists());
    }

    #[test]
    fn references_resolve_and_missing_ones_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let s = SecretStore::open(tmp.path());
        s.set("TOKEN", &SecretValue::new("t0p")).unwrap();
        assert_eq!(s.resolve("secret_ref:TOKEN").unwrap().expose(), "t0p");
        assert!(s.resolve("secret_ref:TOKEN").unwrap().secret().is_some());
        assert_eq!(s.resolve("/plain").unwrap().expose(), "/plain");
        let e = s.resolve("secret_ref:NOPE").unwrap_err().to_string();
        assert!(e.contains("missing secret 'NOPE'"), "{e}");
    }

    #[test]
    fn debug_and_display_hide_the_value() {
        let v = SecretValue::new("canary-xyz");
        assert!(!format!("{v:?}").contains("canary"));
        assert!(!format!("{v}").contains("canary"));
    }
}
