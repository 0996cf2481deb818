//! The real `aacon serve` on a free loopback port, killed on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Serve {
    pub child: Child,
    /// `http://127.0.0.1:PORT`, from the first line serve prints.
    pub url: String,
}

impl Serve {
    /// `aacon --data-dir DATA [global…] serve --listen 127.0.0.1:0`, with no
    /// API or Redis settings inherited from the environment.
    pub fn start(data: &Path, config: &Path, global: &[&str]) -> Serve {
        Serve::start_with_env(data, config, global, &[])
    }

    /// As [`Serve::start`], with extra environment variables.
    pub fn start_with_env(
        data: &Path,
        config: &Path,
        global: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aacon"))
            .arg("--data-dir")
            .arg(data)
            .args(global)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("AACON_CONFIG_DIR", config)
            .env_remove("AACON_API_TOKEN")
            .env_remove("AACON_API_URL")
            .env_remove("AACON_REDIS_URL")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("serve did not say where it listens: {line:?}"))
            .to_string();
        Serve { child, url }
    }

    /// SIGTERM, then it must exit successfully within `within`.
    pub fn terminate(&mut self, within: Duration) {
        // SAFETY: signalling our own child.
        assert_eq!(
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) },
            0
        );
        let deadline = Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(st.success(), "{st:?}");
                break;
            }
            assert!(Instant::now() < deadline, "serve did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
