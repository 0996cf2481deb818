//! The real `aacon` binary in a pseudo-terminal, its screen read back
//! through a vt100 parser.

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const COLS: u16 = 120;
pub const ROWS: u16 = 32;

pub struct Console {
    pub raw: Arc<Mutex<Vec<u8>>>,
    pub writer: Box<dyn Write + Send>,
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    pub master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Console {
    pub fn spawn(data: &Path, config: &Path, args: &[&str]) -> Console {
        Console::spawn_with_env(data, config, args, &[])
    }

    /// As [`Console::spawn`], with extra environment variables.
    pub fn spawn_with_env(
        data: &Path,
        config: &Path,
        args: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Console {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_aacon"));
        cmd.args(args);
        cmd.env("AACON_DATA_DIR", data);
        cmd.env("AACON_CONFIG_DIR", config);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        // A UTF-8 terminal, whatever locale runs the tests (without one the
        // console draws ASCII); tests of other terminals pass their own.
        cmd.env("LANG", "C.UTF-8");
        cmd.env_remove("LC_ALL");
        cmd.env_remove("LC_CTYPE");
        cmd.env_remove("COLORTERM");
        // Whatever multiplexer runs the tests is not the console's terminal.
        // Nor do the tester's own API or Redis settings apply.
        for var in [
            "TMUX",
            "STY",
            "TERM_PROGRAM",
            "AACON_API_URL",
            "AACON_API_TOKEN",
            "AACON_REDIS_URL",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let writer = pty.master.take_writer().unwrap();
        let raw = Arc::new(Mutex::new(Vec::new()));
        let sink = raw.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Console {
            raw,
            writer,
            child,
            master: pty.master,
        }
    }

    pub fn screen(&self) -> String {
        let mut p = vt100::Parser::new(ROWS, COLS, 0);
        p.process(&self.raw.lock().unwrap());
        p.screen().contents()
    }

    pub fn wait_for(&self, what: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            assert!(
                start.elapsed() < timeout,
                "'{what}' did not appear within {timeout:?}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> portable_pty::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!("the console did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn raw_text(&self) -> Vec<u8> {
        // Let the reader catch up with the last bytes.
        std::thread::sleep(Duration::from_millis(200));
        self.raw.lock().unwrap().clone()
    }
}
