//! A real `redis-server` per test, on a free loopback port.
//!
//! `RedisServer::start()` for the common case; `RedisServer::builder()` for
//! append-only persistence, a password, TLS or a fixed port. `kill9()` ends
//! the process with SIGKILL, `restart()` brings it back on the same port
//! with the same data directory, and dropping the value kills it.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

#[derive(Debug, Clone, Default)]
pub struct Builder {
    port: Option<u16>,
    appendonly: bool,
    password: Option<String>,
    user: Option<(String, String)>,
    tls: bool,
}

impl Builder {
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Persist every write to an append-only file (survives `kill9`).
    pub fn appendonly(mut self) -> Self {
        self.appendonly = true;
        self
    }

    pub fn password(mut self, pw: &str) -> Self {
        self.password = Some(pw.to_string());
        self
    }

    /// An ACL user with all permissions.
    pub fn user(mut self, name: &str, pw: &str) -> Self {
        self.user = Some((name.to_string(), pw.to_string()));
        self
    }

    /// Serve TLS only, with a fresh CA (see [`RedisServer::ca_cert`]).
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    pub fn start(self) -> RedisServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = self.port.unwrap_or_else(free_port);
        let mut s = RedisServer {
            port,
            spawns: 0,
            dir,
            child: None,
            opts: self,
        };
        if s.opts.tls {
            s.make_certs();
        }
        // A free port can be taken between the check and the bind by a
        // parallel test; pick another unless the port was asked for.
        for _ in 0..5 {
            if s.try_spawn() {
                return s;
            }
            if s.opts.port.is_some() {
                break;
            }
            s.port = free_port();
        }
        let log = std::fs::read_to_string(s.log_path()).unwrap_or_default();
        panic!("redis-server did not start:\n{log}");
    }
}

pub struct RedisServer {
    port: u16,
    /// Processes started so far (each logs to its own file).
    spawns: u32,
    dir: tempfile::TempDir,
    child: Option<Child>,
    opts: Builder,
}

impl RedisServer {
    /// A plain server without persistence.
    pub fn start() -> RedisServer {
        Builder::default().start()
    }

    pub fn builder() -> Builder {
        Builder::default()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT` (`rediss://` with TLS), no credentials.
    pub fn url(&self) -> String {
        let scheme = if self.opts.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The CA certificate of a TLS server.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// SIGKILL, no chance to save anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start again on the same port with the same data directory.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    fn spawn(&mut self) {
        if !self.try_spawn() {
            let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
            panic!("redis-server did not restart on port {}:\n{log}", self.port);
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("redis-{}.log", self.spawns))
    }

    /// Start the process; `false` if it exited at once (port taken).
    fn try_spawn(&mut self) -> bool {
        self.spawns += 1;
        let d = self.dir.path();
        let mut cmd = Command::new("redis-server");
        cmd.arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(d)
            .arg("--save")
            .arg("")
            .arg("--daemonize")
            .arg("no")
            .arg("--logfile")
            .arg(self.log_path())
            .arg("--protected-mode")
            .arg("no");
        if self.opts.tls {
            cmd.arg("--port")
                .arg("0")
                .arg("--tls-port")
                .arg(self.port.to_string())
                .arg("--tls-cert-file")
                .arg(d.join("server.crt"))
                .arg("--tls-key-file")
                .arg(d.join("server.key"))
                .arg("--tls-ca-cert-file")
                .arg(d.join("ca.crt"))
                .arg("--tls-auth-clients")
                .arg("no");
        } else {
            cmd.arg("--port").arg(self.port.to_string());
        }
        if self.opts.appendonly {
            cmd.arg("--appendonly")
                .arg("yes")
                .arg("--appendfsync")
                .arg("always");
        } else {
            cmd.arg("--appendonly").arg("no");
        }
        if let Some(pw) = &self.opts.password {
            cmd.arg("--requirepass").arg(pw);
        }
        if let Some((u, pw)) = &self.opts.user {
            cmd.arg("--user")
                .arg(u)
                .arg("on")
                .arg(format!(">{pw}"))
                .arg("~*")
                .arg("&*")
                .arg("+@all");
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd
            .spawn()
            .expect("redis-server must be installed (apt-get install redis-server)");
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if !self.is_running() {
                self.child = None;
                return false;
            }
            // Our own process says it is ready (not some other server that
            // holds the port), and it answers.
            let ready = std::fs::read_to_string(self.log_path())
                .is_ok_and(|l| l.contains("Ready to accept connections"));
            if ready && (self.opts.tls || self.ping()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not become ready on port {}", self.port);
    }

    /// `true` once the server answers (NOAUTH also counts: it is up).
    fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        if s.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut buf = [0u8; 64];
        match s.read(&mut buf) {
            Ok(n) if n > 0 => {
                let r = &buf[..n];
                r.starts_with(b"+PONG") || r.starts_with(b"-NOAUTH")
            }
            _ => false,
        }
    }

    fn make_certs(&self) {
        let d = self.dir.path();
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(d)
                .output()
                .expect("openssl must be installed for TLS tests");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=aacon test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ]);
        std::fs::write(
            d.join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .expect("write ext.cnf");
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.crt",
        ]);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Every envelope in the stream `key` of the Redis at `url` (XRANGE), in
/// stream order: the JSON field of each entry that has an `event_id`.
pub async fn stream_envelopes(url: &str, key: &str) -> Vec<serde_json::Value> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    entries
        .ids
        .iter()
        .map(|e| {
            e.map
                .values()
                .find_map(|v| match v {
                    redis::Value::BulkString(b) => serde_json::from_slice::<serde_json::Value>(b)
                        .ok()
                        .filter(|v| v.get("event_id").is_some()),
                    _ => None,
                })
                .expect("an envelope in the entry")
        })
        .collect()
}
