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

/// Files inside a data dir.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
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
