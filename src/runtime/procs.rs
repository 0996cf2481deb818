//! Process groups of managed children: every child is a group leader, every
//! live group is registered here, and [`kill_all`] ends them all (runtime
//! shutdown, console exit, panic).

use std::collections::HashSet;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

static GROUPS: Mutex<Option<HashSet<i32>>> = Mutex::new(None);
static HOOK: Once = Once::new();

pub(crate) fn register(pgid: i32) {
    if let Ok(mut g) = GROUPS.lock() {
        g.get_or_insert_with(HashSet::new).insert(pgid);
    }
}

pub(crate) fn unregister(pgid: i32) {
    if let Ok(mut g) = GROUPS.lock()
        && let Some(set) = g.as_mut()
    {
        set.remove(&pgid);
    }
}

/// Send `sig` to the whole group `pgid`; false when the group is gone.
pub(crate) fn signal_group(pgid: i32, sig: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: killpg has no memory-safety preconditions; pgid > 1 never
    // targets init or our own group by accident (children lead their own).
    unsafe { libc::killpg(pgid, sig) == 0 }
}

/// SIGKILL every registered group at once (synchronous; safe in a panic
/// hook or at exit).
pub fn kill_all() {
    let groups: Vec<i32> = match GROUPS.lock() {
        Ok(mut g) => g
            .take()
            .map(|s| s.into_iter().collect())
            .unwrap_or_default(),
        Err(_) => return,
    };
    for pgid in groups {
        signal_group(pgid, libc::SIGKILL);
    }
}

/// Number of groups currently registered.
pub fn live_groups() -> usize {
    GROUPS
        .lock()
        .map(|g| g.as_ref().map_or(0, HashSet::len))
        .unwrap_or(0)
}

/// Wrap the current panic hook (unconditionally) so that it first kills
/// every managed group: call after installing a hook of your own.
pub fn wrap_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        kill_all();
        previous(info);
    }));
}

/// Install (once) a panic hook that kills every managed group before the
/// previous hook runs, so a panicking console leaves no process behind.
pub fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            kill_all();
            previous(info);
        }));
    });
}

/// Pids of the live (not zombie) processes in group `pgid` (Linux /proc).
pub fn live_members(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command (which may hold spaces) start after ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // rest: state ppid pgrp ...
        if fields.len() > 2 && fields[2].parse::<i32>().ok() == Some(pgid) && fields[0] != "Z" {
            out.push(pid);
        }
    }
    out
}

/// SIGTERM the group, wait up to `grace` for every member to go, then
/// SIGKILL what is left and wait briefly. `leader` is reaped meanwhile.
pub(crate) async fn terminate_group(
    pgid: i32,
    grace: Duration,
    leader: Option<&mut tokio::process::Child>,
) {
    signal_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    if let Some(child) = leader {
        let _ = tokio::time::timeout(grace, child.wait()).await;
    }
    while Instant::now() < deadline && !live_members(pgid).is_empty() {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    if !live_members(pgid).is_empty() {
        tracing::info!(pgid, "process group outlived SIGTERM; sending SIGKILL");
    }
    signal_group(pgid, libc::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && !live_members(pgid).is_empty() {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    unregister(pgid);
}
