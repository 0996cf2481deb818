//! Nudges between the processes of one data dir, so a commit by one (a CLI
//! `aacon instances stop`, serve, the runtime host) reaches the others'
//! screens in milliseconds instead of on their next poll.
//!
//! Every process with an event tail binds a datagram socket in the data
//! dir's `nudge/` (owner-only, like the data dir); the tail thread sleeps on
//! it. After each commit the writer sends one byte to every socket there
//! (non-blocking: a slow or gone reader never holds a commit up). A nudge
//! carries nothing: the tail reads the store as it always does, so a lost
//! nudge costs only time — the tail still looks every
//! [`super::TAIL_INTERVAL`]. A socket nobody listens on any more (its
//! process was killed) is removed by the first sender that finds it so.

use std::io::ErrorKind;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long the writer reuses its list of the others' sockets before it
/// reads the directory again (a new console is nudged within this, and
/// polls meanwhile).
const RELIST: Duration = Duration::from_millis(250);

/// What a tail sleeps on: its socket, bound in `nudge/` when that works,
/// else one end of a pair that only this process can wake.
pub(super) struct Inbox {
    sock: UnixDatagram,
    /// The bound path (removed on drop).
    path: Option<PathBuf>,
}

/// Wakes one inbox from within its process.
#[derive(Clone)]
pub(super) struct Waker {
    sock: Arc<UnixDatagram>,
    to: Option<PathBuf>,
}

impl Waker {
    pub(super) fn wake(&self) {
        let _ = match &self.to {
            Some(p) => self.sock.send_to(b"n", p),
            None => self.sock.send(b"n"),
        };
    }
}

/// Names this process's sockets apart (tests open several platforms).
static NEXT: AtomicU64 = AtomicU64::new(0);

impl Inbox {
    /// Bind a socket in `dir` (created owner-only); without one (a path
    /// too long for a socket, a read-only dir) the tail is woken by this
    /// process only and polls for the others.
    pub(super) fn open(dir: &Path) -> std::io::Result<(Inbox, Waker)> {
        match bind(dir) {
            Ok((sock, path)) => {
                let sender = UnixDatagram::unbound()?;
                sender.set_nonblocking(true)?;
                Ok((
                    Inbox {
                        sock,
                        path: Some(path.clone()),
                    },
                    Waker {
                        sock: Arc::new(sender),
                        to: Some(path),
                    },
                ))
            }
            Err(e) => {
                tracing::info!(error = %e, dir = %dir.display(), "no nudge socket; this process sees other processes' commits by polling");
                let (rx, tx) = UnixDatagram::pair()?;
                tx.set_nonblocking(true)?;
                Ok((
                    Inbox {
                        sock: rx,
                        path: None,
                    },
                    Waker {
                        sock: Arc::new(tx),
                        to: None,
                    },
                ))
            }
        }
    }

    /// Sleep until a nudge (`true`, every queued nudge taken) or `timeout`.
    pub(super) fn wait(&self, timeout: Duration) -> bool {
        let mut buf = [0u8; 16];
        if self.sock.set_read_timeout(Some(timeout)).is_err() {
            std::thread::sleep(timeout);
            return false;
        }
        if self.sock.recv(&mut buf).is_err() {
            return false;
        }
        // A burst of nudges is one read of the store.
        if self.sock.set_nonblocking(true).is_ok() {
            while self.sock.recv(&mut buf).is_ok() {}
            let _ = self.sock.set_nonblocking(false);
        }
        true
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn bind(dir: &Path) -> std::io::Result<(UnixDatagram, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let name = format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let path = dir.join(name);
    // Left by a killed process that had this pid.
    let _ = std::fs::remove_file(&path);
    Ok((UnixDatagram::bind(&path)?, path))
}

/// Sends the nudges after this process's commits.
pub(super) struct Nudger {
    dir: PathBuf,
    own: Option<PathBuf>,
    sock: Option<UnixDatagram>,
    peers: Vec<PathBuf>,
    listed: Option<Instant>,
}

impl Nudger {
    pub(super) fn new(dir: PathBuf, own: &Inbox) -> Nudger {
        let sock = UnixDatagram::unbound()
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .ok();
        Nudger {
            dir,
            own: own.path.clone(),
            sock,
            peers: Vec::new(),
            listed: None,
        }
    }

    /// Nudge every other listening process of the data dir.
    pub(super) fn nudge(&mut self) {
        let Some(sock) = &self.sock else { return };
        if self.listed.is_none_or(|t| t.elapsed() >= RELIST) {
            self.peers = std::fs::read_dir(&self.dir)
                .map(|rd| {
                    rd.filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| Some(p) != self.own.as_ref())
                        .collect()
                })
                .unwrap_or_default();
            self.listed = Some(Instant::now());
        }
        self.peers.retain(|p| match sock.send_to(b"n", p) {
            Ok(_) => true,
            // A full queue: that reader is due to wake anyway.
            Err(e) if e.kind() == ErrorKind::WouldBlock => true,
            // Nobody listens there any more (a killed process): tidy up.
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                let _ = std::fs::remove_file(p);
                false
            }
            Err(_) => false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nudge_wakes_another_inbox_and_a_dead_socket_is_tidied_away() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nudge");
        let (a, _) = Inbox::open(&dir).unwrap();
        let (b, _) = Inbox::open(&dir).unwrap();
        // A socket left by a killed process: bound once, nobody reads it.
        let stale = dir.join("999999-0");
        drop(UnixDatagram::bind(&stale).unwrap());
        let mut from_a = Nudger::new(dir.clone(), &a);
        from_a.nudge();
        from_a.nudge();
        assert!(b.wait(Duration::from_secs(5)), "b was nudged");
        // Both nudges were taken by one wake.
        assert!(!b.wait(Duration::from_millis(20)));
        // a does not nudge itself.
        assert!(!a.wait(Duration::from_millis(20)));
        assert!(!stale.exists(), "the dead socket was removed");
        drop(b);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn a_waker_wakes_its_own_inbox_even_without_a_socket_file() {
        // A path longer than a socket address can hold.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("x".repeat(120));
        let (inbox, waker) = Inbox::open(&dir).unwrap();
        assert!(inbox.path.is_none());
        waker.wake();
        assert!(inbox.wait(Duration::from_secs(5)));
        assert!(!inbox.wait(Duration::from_millis(20)));
    }
}
