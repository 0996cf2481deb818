//! Where aacon keeps its files: flag > environment > the platform default
//! from `directories`.

use directories::ProjectDirs;
use std::path::{Path, PathBuf};

pub const DATA_DIR_ENV: &str = "AACON_DATA_DIR";
pub const CONFIG_DIR_ENV: &str = "AACON_CONFIG_DIR";

fn project_dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("dev", "agentarea", "aacon")
}

/// Why the data dir cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("no home directory found; set {DATA_DIR_ENV} or pass --data-dir")]
    NoHome,
    #[error("cannot create the data dir {}: {error}", path.display())]
    Create { path: PathBuf, error: String },
}

/// The data dir: `flag`, else `$AACON_DATA_DIR`, else the platform's data dir.
pub fn data_dir(flag: Option<&Path>) -> Result<PathBuf, PathError> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(DATA_DIR_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    project_dirs()
        .map(|d| d.data_dir().to_path_buf())
        .ok_or(PathError::NoHome)
}

/// The config dir: `$AACON_CONFIG_DIR`, else the platform's config dir.
pub fn config_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(CONFIG_DIR_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    project_dirs().map(|d| d.config_dir().to_path_buf())
}

/// A store's URL (`postgres://user:password@host/db`). It may carry a
/// password, so it prints (Display, Debug) with the password and any
/// `password=` parameter replaced by `***`; only [`StoreUrl::expose`]
/// gives the real value, to the one place that connects.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreUrl(String);

impl StoreUrl {
    pub fn new(url: impl Into<String>) -> StoreUrl {
        StoreUrl(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password masked.
    pub fn redacted(&self) -> String {
        let Ok(mut u) = url::Url::parse(&self.0) else {
            // Not a URL we can take apart: show only its scheme.
            return match self.0.split_once("://") {
                Some((scheme, _)) => format!("{scheme}://***"),
                None => "***".into(),
            };
        };
        if u.password().is_some() {
            let _ = u.set_password(Some("***"));
        }
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") {
                    "***".to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        if !pairs.is_empty() {
            u.query_pairs_mut().clear().extend_pairs(pairs);
        }
        u.to_string()
    }
}

/// The `sslmode` values a store URL may carry (libpq's, less `allow`).
pub const SSL_MODES: &[&str] = &["disable", "prefer", "require", "verify-ca", "verify-full"];

impl StoreUrl {
    /// `url` without its `sslmode` and `sslrootcert` settings (the driver
    /// knows neither `verify-*` nor `sslrootcert`; they are aacon's to
    /// act on), and their values. A `postgres://` URL or libpq
    /// `key=value` words; every other setting is kept as written.
    pub fn split_tls(url: &str) -> (String, Option<String>, Option<String>) {
        let (mut mode, mut root) = (None, None);
        let mut take = |key: &str, value: String| -> bool {
            match key {
                "sslmode" => mode = Some(value),
                "sslrootcert" => root = Some(value),
                _ => return false,
            }
            true
        };
        let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            match url.split_once('?') {
                None => url.to_string(),
                Some((base, query)) => {
                    let kept: Vec<&str> = query
                        .split('&')
                        .filter(|pair| {
                            !pair.is_empty()
                                && !url::form_urlencoded::parse(pair.as_bytes())
                                    .next()
                                    .is_some_and(|(k, v)| take(&k, v.into_owned()))
                        })
                        .collect();
                    if kept.is_empty() {
                        base.to_string()
                    } else {
                        format!("{base}?{}", kept.join("&"))
                    }
                }
            }
        } else {
            url.split_whitespace()
                .filter(|word| {
                    !word
                        .split_once('=')
                        .is_some_and(|(k, v)| take(k.trim(), v.trim_matches('\'').to_string()))
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        (rest, mode, root)
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

/// Files inside a data dir.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    /// The shared store (`store.url`), when not SQLite in the dir.
    store_url: Option<StoreUrl>,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            store_url: None,
        }
    }

    /// This data dir with its state in the store at `url` (PostgreSQL)
    /// instead of the SQLite file in it.
    pub fn with_store_url(mut self, url: Option<StoreUrl>) -> Self {
        self.store_url = url;
        self
    }

    /// The shared store's URL, when the state is not in the dir.
    pub fn store_url(&self) -> Option<&StoreUrl> {
        self.store_url.as_ref()
    }

    /// Create the dir (owner-only) if it does not exist.
    pub fn ensure(&self) -> Result<(), PathError> {
        std::fs::create_dir_all(&self.root).map_err(|e| PathError::Create {
            path: self.root.clone(),
            error: e.to_string(),
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o700));
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn store(&self) -> PathBuf {
        self.root.join("aacon.db")
    }
    pub fn runtime_lock(&self) -> PathBuf {
        self.root.join("runtime.lock")
    }
    pub fn drafts(&self) -> PathBuf {
        self.root.join("drafts")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub fn socket(&self) -> PathBuf {
        self.root.join("runtime.sock")
    }
    /// Where each process of the data dir listens for "I committed"
    /// nudges (see `platform::embedded::nudge`).
    pub fn nudges(&self) -> PathBuf {
        self.root.join("nudge")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_settings_are_taken_out_of_a_store_url_and_the_rest_is_kept() {
        let (rest, mode, root) = StoreUrl::split_tls(
            "postgres://u:p@db:5432/aacon?sslmode=verify-full&connect_timeout=3&sslrootcert=%2Fetc%2Fca.pem",
        );
        assert_eq!(rest, "postgres://u:p@db:5432/aacon?connect_timeout=3");
        assert_eq!(mode.as_deref(), Some("verify-full"));
        assert_eq!(root.as_deref(), Some("/etc/ca.pem"));
        let (rest, mode, root) = StoreUrl::split_tls("postgres://db/aacon");
        assert_eq!(
            (rest.as_str(), mode, root),
            ("postgres://db/aacon", None, None)
        );
        let (rest, mode, _) = StoreUrl::split_tls("host=db dbname=aacon sslmode=require");
        assert_eq!(
            (rest.as_str(), mode.as_deref()),
            ("host=db dbname=aacon", Some("require"))
        );
    }

    #[test]
    fn a_store_url_never_prints_its_password() {
        for url in [
            "postgres://aacon:hunter2@db.example:5432/aacon",
            "postgres://aacon@db.example/aacon?password=hunter2&sslmode=disable",
            "postgres://aacon:hunter2@[::1",
        ] {
            let u = StoreUrl::new(url);
            for shown in [u.to_string(), format!("{u:?}"), u.redacted()] {
                assert!(!shown.contains("hunter2"), "{shown}");
            }
            assert_eq!(u.expose(), url);
        }
        assert_eq!(
            StoreUrl::new("postgres://aacon:hunter2@db.example:5432/aacon").to_string(),
            "postgres://aacon:***@db.example:5432/aacon"
        );
        let dir = DataDir::new("/d").with_store_url(Some(StoreUrl::new("postgres://u:pw@h/db")));
        assert!(!format!("{dir:?}").contains(":pw@"));
    }
}
