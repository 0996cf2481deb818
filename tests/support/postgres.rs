//! A real PostgreSQL server per test, on a free loopback port.
//!
//! `Postgres::start()` runs `initdb` into a temporary directory and starts
//! `postgres` on `127.0.0.1` with `synchronous_commit` and `fsync` on (the
//! durability tests need the real thing). `url()` names the `postgres`
//! database; `create_db(name)` makes another and returns its URL. `kill9()`
//! ends the server with SIGKILL, `restart()` brings it back on the same port
//! with the same data, and dropping the value kills it.
//!
//! `Postgres::start_tls(TlsOnly::Yes)` does the same with `ssl=on` and a
//! server certificate (for `127.0.0.1` and `localhost`) signed by a CA made
//! for that server with the `openssl` CLI (`ca_cert()`; `other_ca_cert()`
//! signed nothing); with `TlsOnly::Yes` `pg_hba.conf` admits TCP clients
//! over TLS only (`hostssl`).
//!
//! The server binaries come from Debian's `postgresql` package
//! (`scripts/test.d/postgres.sh` installs it). As root, the server runs as the
//! `postgres` user (PostgreSQL refuses to run as root); the data directory is
//! handed to that user.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::redis::free_port;

pub struct Postgres {
    port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// `Some((uid, gid))` of the `postgres` user when we run as root.
    user: Option<(u32, u32)>,
    spawns: u32,
    child: Option<Child>,
    /// More `-c name=value` settings for the postmaster.
    settings: Vec<String>,
}

/// Whether a TLS server also admits plain TCP connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsOnly {
    Yes,
    No,
}

/// The directory holding `initdb`, `postgres` and `createdb` (the newest
/// installed major version).
pub fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed (run scripts/test.d/postgres.sh)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("no /usr/lib/postgresql/*/bin/initdb (run scripts/test.d/postgres.sh)")
}

/// `(uid, gid)` of `name` from `/etc/passwd`.
fn passwd_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown for postgres");
    if path.is_dir() {
        for e in std::fs::read_dir(path).expect("read dir").flatten() {
            chown_tree(&e.path(), uid, gid);
        }
    }
}

impl Postgres {
    pub fn start() -> Postgres {
        Postgres::init().spawn_first()
    }

    /// A server speaking TLS (see the module's doc).
    pub fn start_tls(only: TlsOnly) -> Postgres {
        let mut pg = Postgres::init();
        let tls = pg.dir().join("tls");
        std::fs::create_dir_all(&tls).expect("create the tls dir");
        make_certs(&tls);
        if let Some((uid, gid)) = pg.user {
            chown_tree(&tls, uid, gid);
        }
        for (name, file) in [
            ("ssl_cert_file", "server.pem"),
            ("ssl_key_file", "server.key"),
        ] {
            pg.settings
                .push(format!("{name}={}", tls.join(file).display()));
        }
        pg.settings.push("ssl=on".into());
        if only == TlsOnly::Yes {
            std::fs::write(
                pg.data().join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
            )
            .expect("write pg_hba.conf");
        }
        pg.spawn_first()
    }

    /// The CA (PEM) that signed a TLS server's certificate.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir().join("tls").join("ca.pem")
    }

    /// A CA (PEM) that signed nothing this server presents.
    pub fn other_ca_cert(&self) -> PathBuf {
        self.dir().join("tls").join("other-ca.pem")
    }

    /// `initdb` into a new directory; not started.
    fn init() -> Postgres {
        let dir = tempfile::tempdir().expect("temp dir");
        let user = if is_root() {
            let ids = passwd_ids("postgres").expect("no postgres user (install postgresql)");
            chown_tree(dir.path(), ids.0, ids.1);
            Some(ids)
        } else {
            None
        };
        let pg = Postgres {
            port: free_port(),
            bin: bin_dir(),
            dir,
            user,
            spawns: 0,
            child: None,
            settings: Vec::new(),
        };
        let out = pg
            .command("initdb")
            .arg("-D")
            .arg(pg.data())
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .stdout(Stdio::null())
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg
    }

    /// Start a server made by `init`.
    fn spawn_first(mut self) -> Postgres {
        // A free port can be taken between the check and the bind by a
        // parallel test: try another.
        for _ in 0..5 {
            if self.try_spawn() {
                return self;
            }
            self.port = free_port();
        }
        panic!("postgres did not start:\n{}", self.log());
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres` (trust auth, no password).
    pub fn url(&self) -> String {
        self.db_url("postgres")
    }

    pub fn db_url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A new, empty database; its URL.
    pub fn create_db(&self, name: &str) -> String {
        let out = self
            .command("createdb")
            .args(self.client_args())
            .args([name])
            .output()
            .expect("run createdb");
        assert!(
            out.status.success(),
            "createdb {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.db_url(name)
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// SIGKILL to the postmaster: no checkpoint, no clean shutdown.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // The backends notice the postmaster is gone and exit; wait until the
        // port is free so a restart can bind it.
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline
            && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Start again on the same port with the same data (crash recovery runs).
    pub fn restart(&mut self) {
        self.kill9();
        // Backends of the killed postmaster may hold its shared memory for a
        // moment; the new postmaster refuses to start until they are gone.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.try_spawn() {
            assert!(
                Instant::now() < deadline,
                "postgres did not restart:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("postgres-{}.log", self.spawns))
    }

    /// The server's log of the latest start.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Where a client tool (`createdb`, `psql`, `pg_isready`) connects.
    fn client_args(&self) -> [String; 6] {
        [
            "-h".into(),
            "127.0.0.1".into(),
            "-p".into(),
            self.port.to_string(),
            "-U".into(),
            "postgres".into(),
        ]
    }

    fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(tool));
        if let Some((uid, gid)) = self.user {
            cmd.uid(uid).gid(gid);
        }
        // HOME too: libpq in the client tools looks for a client
        // certificate in ~/.postgresql, which the postgres user cannot
        // read in root's home.
        cmd.env_remove("PGPASSWORD")
            .env("LC_ALL", "C.UTF-8")
            .env("HOME", self.dir.path());
        cmd
    }

    /// Start the postmaster; `false` if it exited (port taken) or never
    /// accepted a connection.
    fn try_spawn(&mut self) -> bool {
        self.spawns += 1;
        let log = std::fs::File::create(self.log_path()).expect("create the postgres log");
        if let Some((uid, gid)) = self.user {
            let _ = std::os::unix::fs::chown(self.log_path(), Some(uid), Some(gid));
        }
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ))
            .args(["-c", "fsync=on", "-c", "synchronous_commit=on"])
            .args(["-c", "max_connections=200"])
            .args(self.settings.iter().flat_map(|s| ["-c", s.as_str()]))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn postgres");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if !self.is_running() {
                self.child = None;
                return false;
            }
            if self.ready() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Run SQL with `psql` against database `db`; its output, unaligned and
    /// without headers (`-At`). Panics on an SQL error.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = self
            .command("psql")
            .args(self.client_args())
            .args(["-d", db, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// The server accepts a session (`pg_isready`).
    fn ready(&self) -> bool {
        self.command("pg_isready")
            .args(self.client_args())
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Run `openssl` with `args` in `dir`; panics with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (Debian's openssl, which postgresql depends on)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// In `dir`: `ca.pem`, a server certificate `server.pem` (key
/// `server.key`, owner-only) for 127.0.0.1 and localhost that it signed,
/// and an unrelated `other-ca.pem`. EC P-256 keys, valid two days.
fn make_certs(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for (name, cn) in [("ca", "aacon test CA"), ("other-ca", "aacon other CA")] {
        let (key, pem, subj) = (
            format!("{name}.key"),
            format!("{name}.pem"),
            format!("/CN={cn}"),
        );
        let mut args = vec!["req", "-x509"];
        args.extend(ec);
        args.extend(["-keyout", &key, "-out", &pem, "-days", "2", "-subj", &subj]);
        args.extend(["-addext", "basicConstraints=critical,CA:TRUE"]);
        args.extend(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
        openssl(dir, &args);
    }
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(dir, &args);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write server.ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod server.key");
}
