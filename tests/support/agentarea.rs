//! The real AgentArea backend (`../shared/agentarea/`, its Python `core/`
//! at a pinned commit) on free loopback ports: its FastAPI app with the real
//! JWT middleware, PostgreSQL migrated by its own alembic, and its Redis.
//! Started by the backend's own `up` script and stopped by its `down` script
//! when the value is dropped.
//!
//! Where the backend lives: `AACON_AGENTAREA_DIR`, else `../shared/agentarea`
//! beside the repository. A test that needs it and cannot find it fails with
//! a sentence saying so: it never passes without the platform.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, Weak};

/// AgentArea publishes every workspace's events on the same channels, so
/// a test that reads them takes the shared backend alone (`TURN.write()`),
/// and a test that only changes its own workspace shares it with the others
/// like it (`TURN.read()`, held for the test). A test takes one guard at most.
pub static TURN: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

pub struct AgentArea {
    /// The state dir `up` wrote to (PostgreSQL data, logs, `env`, `pids`).
    dir: tempfile::TempDir,
    backend: PathBuf,
    /// `http://127.0.0.1:PORT`, the API's base URL.
    pub url: String,
    /// `redis://127.0.0.1:PORT`, the broker AgentArea publishes to.
    pub redis_url: String,
    /// An HS256 JWT whose `workspace_id` claim is [`AgentArea::workspace`].
    pub token: String,
    pub workspace: String,
    /// The secret the API verifies tokens with (for minting others).
    pub jwt_secret: String,
    /// The backend venv's python (has PyJWT and redis).
    pub py: PathBuf,
}

/// Where `up` and `down` are.
pub fn backend_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("AACON_AGENTAREA_DIR") {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/agentarea")
}

impl AgentArea {
    /// Start a fresh backend (its own database, Redis and API). Takes a few
    /// seconds; the first start on a machine also builds the backend's venv.
    pub fn start() -> AgentArea {
        let backend = backend_dir();
        let up = backend.join("up");
        assert!(
            up.exists(),
            "the real AgentArea backend is not at {} (set AACON_AGENTAREA_DIR to the folder with `up`)",
            backend.display()
        );
        let dir = tempfile::tempdir().expect("temp dir for AgentArea's state");
        let out = Command::new("bash")
            .arg(&up)
            .arg(dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run AgentArea's up");
        if !out.status.success() {
            // Stop whatever part of it did start before failing.
            let _ = Command::new("bash")
                .arg(backend.join("down"))
                .arg(dir.path())
                .status();
            let api_log = std::fs::read_to_string(dir.path().join("api.log")).unwrap_or_default();
            panic!(
                "AgentArea's up failed ({}):\n{}\n{}\napi.log:\n{api_log}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let env = read_env(&dir.path().join("env"));
        let get = |k: &str| {
            env.get(k)
                .cloned()
                .unwrap_or_else(|| panic!("AgentArea's env file has no {k}"))
        };
        AgentArea {
            url: get("AGENTAREA_URL"),
            redis_url: get("AGENTAREA_REDIS_URL"),
            token: get("AGENTAREA_TOKEN"),
            workspace: get("AGENTAREA_WORKSPACE"),
            jwt_secret: get("AGENTAREA_JWT_SECRET"),
            py: PathBuf::from(get("AGENTAREA_PY")),
            backend,
            dir,
        }
    }

    /// One backend shared by the tests of a binary that run at the same
    /// time (a start costs seconds): the first caller starts it, the last
    /// one to drop its `Arc` stops it. Give each test its own workspace
    /// ([`AgentArea::workspace_token`]) so tests never see each other's data.
    pub fn shared() -> Arc<AgentArea> {
        static SHARED: Mutex<Weak<AgentArea>> = Mutex::new(Weak::new());
        let mut slot = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = slot.upgrade() {
            return a;
        }
        let a = Arc::new(AgentArea::start());
        *slot = Arc::downgrade(&a);
        a
    }

    /// A valid token (expires in a day) whose data scope is workspace `ws`:
    /// AgentArea scopes every query by this claim.
    pub fn workspace_token(&self, ws: &str) -> String {
        self.mint(
            &format!("'sub':'aacon-test','workspace_id':'{ws}'"),
            Some(86_400),
        )
    }

    /// The Redis port, for `redis-cli`-like clients in tests.
    pub fn redis_port(&self) -> u16 {
        self.redis_url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port in AGENTAREA_REDIS_URL")
    }

    /// A token signed with the API's secret carrying exactly `claims` (a
    /// Python dict literal body, e.g. `'sub':'x','workspace_id':'w2'`), plus
    /// the issuer the API expects. `exp_in_secs` may be negative (expired);
    /// `None` leaves `exp` out.
    pub fn mint(&self, claims: &str, exp_in_secs: Option<i64>) -> String {
        let exp = match exp_in_secs {
            Some(s) => format!(",'exp':int(time.time())+({s})"),
            None => String::new(),
        };
        let script = format!(
            "import jwt,time,sys;sys.stdout.write(jwt.encode({{{claims},'iss':'agentarea-test'{exp}}},sys.argv[1],algorithm='HS256'))"
        );
        let out = Command::new(&self.py)
            .args(["-c", &script, &self.jwt_secret])
            .output()
            .expect("run the backend's python to mint a token");
        assert!(
            out.status.success(),
            "minting a token failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("token is ASCII")
    }

    /// The API's log so far (for assertion messages).
    pub fn api_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("api.log")).unwrap_or_default()
    }

    pub fn state_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for AgentArea {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(self.backend.join("down"))
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// `export K=V` lines, as `up` writes them.
fn read_env(path: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read AgentArea's env file {}: {e}", path.display()));
    text.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}
