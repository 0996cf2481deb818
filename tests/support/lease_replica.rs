//! A lease replica in a child process (the `lease-replica` fixture,
//! `tests/fixtures/lease_replica.rs`): a `LeaseManager` on a PostgreSQL
//! database, killed with SIGKILL by the tests and the cluster bench.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct ChildReplica {
    pub child: Child,
    /// Its id in the lease tables (the name and a suffix).
    pub id: String,
    /// What it printed: a line per lease change (`acquired ID`, …).
    lines: Arc<Mutex<Vec<String>>>,
}

impl ChildReplica {
    /// Start a replica named `name` on the database at `url`, renewing every
    /// `interval`, sharing `instances` instances; returns once it has
    /// registered.
    pub fn spawn(url: &str, name: &str, interval: Duration, instances: usize) -> ChildReplica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lease-replica"))
            .args([
                url,
                name,
                &interval.as_millis().to_string(),
                &instances.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn lease-replica");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        out.read_line(&mut first).expect("read the replica id");
        let id = first
            .strip_prefix("replica ")
            .unwrap_or_else(|| panic!("lease-replica said {first:?}"))
            .trim()
            .to_string();
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(|l| l.ok()) {
                sink.lock().unwrap().push(line);
            }
        });
        ChildReplica { child, id, lines }
    }

    /// How many leases it says it holds now.
    pub fn held(&self) -> usize {
        let lines = self.lines.lock().unwrap();
        let acquired = lines.iter().filter(|l| l.starts_with("acquired ")).count();
        let gone = lines
            .iter()
            .filter(|l| l.starts_with("lost ") || l.starts_with("released "))
            .count();
        acquired - gone
    }
}

impl Drop for ChildReplica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
