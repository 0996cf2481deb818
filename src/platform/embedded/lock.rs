//! The runtime host lock: `runtime.lock` in the data dir, held by exactly
//! one process at a time, naming it (`pid role since [address]`).

use super::*;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};

/// Which kind of process this is, for conflict messages and the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Cli,
    Console,
    Serve,
    /// A background runtime host (`aacon host run`), e.g. one a console
    /// detached its instances to.
    Host,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cli => "cli",
            Role::Console => "console",
            Role::Serve => "serve",
            Role::Host => "host",
        }
    }
}

pub(super) fn actor(role: Role) -> String {
    let host = hostname();
    format!("{}@{host} pid {}", role.as_str(), std::process::id())
}

/// This host's name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`, else
/// "localhost").
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// The runtime host lock, held for as long as this value lives.
pub struct RuntimeLock {
    pub(super) file: File,
    /// What the lock file says: `pid role since`.
    pub(super) line: String,
}

/// Who holds the runtime lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub pid: u32,
    pub role: String,
    pub since: String,
    /// Where the holder serves its API, when it does (`aacon serve`).
    pub address: Option<String>,
}

impl RuntimeLock {
    /// Take the lock if nobody holds it.
    pub fn try_acquire(dir: &DataDir, role: Role) -> Result<Option<RuntimeLock>> {
        let file = open_lock_file(dir)?;
        match file.try_lock() {
            Ok(()) => {
                // On PostgreSQL the instances run in `aacon serve` replicas,
                // shared by lease (`crate::cluster`): serve holds only its
                // own data dir's lock (naming it to the local processes),
                // and nothing else hosts (the file lock goes with `file`).
                if dir.store_url().is_some() && role != Role::Serve {
                    return Ok(None);
                }
                let line = format!(
                    "{} {} {}",
                    std::process::id(),
                    role.as_str(),
                    Utc::now().to_rfc3339()
                );
                let mut lock = RuntimeLock { file, line };
                lock.write(None)?;
                Ok(Some(lock))
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(PlatformError::Internal(format!(
                "cannot lock {}: {e}",
                dir.runtime_lock().display()
            ))),
        }
    }

    /// Who holds the lock, if anyone (without taking it).
    pub fn holder(dir: &DataDir) -> Result<Option<LockHolder>> {
        let mut file = open_lock_file(dir)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(None),
            Err(std::fs::TryLockError::WouldBlock) => {
                // The holder writes its line right after taking the lock; a
                // read in between finds it empty or cut short: read again
                // for a moment (the line ends with a newline when whole).
                let mut text = String::new();
                for _ in 0..50 {
                    text.clear();
                    let _ = file.rewind();
                    let _ = file.read_to_string(&mut text);
                    if text.ends_with('\n') {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                let mut parts = text.split_whitespace();
                Ok(Some(LockHolder {
                    pid: parts.next().and_then(|p| p.parse().ok()).unwrap_or(0),
                    role: parts.next().unwrap_or("unknown").to_string(),
                    since: parts.next().unwrap_or("").to_string(),
                    address: parts.next().map(str::to_string),
                }))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(PlatformError::Internal(format!(
                "cannot read the runtime lock {}: {e}",
                dir.runtime_lock().display()
            ))),
        }
    }
}

impl RuntimeLock {
    /// Write `pid role since [address]` into the held lock file.
    pub(super) fn write(&mut self, address: Option<&str>) -> Result<()> {
        let text = match address {
            Some(a) => format!("{} {a}\n", self.line),
            None => format!("{}\n", self.line),
        };
        let file = &mut self.file;
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(text.as_bytes()))
            .map_err(|e| PlatformError::Internal(format!("cannot write the runtime lock: {e}")))
    }
}

pub(super) fn open_lock_file(dir: &DataDir) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.runtime_lock())
        .map_err(|e| {
            PlatformError::Unavailable(format!("cannot open {}: {e}", dir.runtime_lock().display()))
        })
}
