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

/// `aacon ARGS` on `data` / `config` as a pty test runs it: a known TERM,
/// and none of the tester's multiplexer, API or Redis settings.
pub fn command(
    data: &Path,
    config: &Path,
    args: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
) -> CommandBuilder {
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
    cmd
}

/// A pseudo-terminal of the tests' size.
fn open_pty() -> portable_pty::PtyPair {
    native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap()
}

/// Wait for `child` to exit; after `timeout` kill it and fail with `why`.
fn wait_child(
    child: &mut Box<dyn portable_pty::Child + Send + Sync>,
    timeout: Duration,
    why: impl Fn() -> String,
) -> portable_pty::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            panic!("{}", why());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The screen the bytes in `raw` draw.
fn screen_of(raw: &Mutex<Vec<u8>>) -> String {
    let mut p = vt100::Parser::new(ROWS, COLS, 0);
    p.process(&raw.lock().unwrap());
    p.screen().contents()
}

/// Wait until `screen()` shows `what`; the screen then.
fn wait_on(what: &str, timeout: Duration, screen: impl Fn() -> String) -> String {
    let start = Instant::now();
    loop {
        let s = screen();
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
        Console::spawn_command(command(data, config, args, env))
    }

    /// Any command in a pty of the tests' size (see [`command`] for `aacon`).
    pub fn spawn_command(cmd: CommandBuilder) -> Console {
        let pty = open_pty();
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
        screen_of(&self.raw)
    }

    pub fn wait_for(&self, what: &str, timeout: Duration) -> String {
        wait_on(what, timeout, || self.screen())
    }

    /// Wait (up to 20 s) until a line naming `name` satisfies `ok`; the screen.
    pub fn wait_row(&self, name: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.lines().any(|l| l.contains(name) && ok(l)) {
                return screen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name}: never {what}:\n{screen}"
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
        let raw = &self.raw;
        wait_child(&mut self.child, timeout, || {
            format!("the console did not exit; screen:\n{}", screen_of(raw))
        })
    }

    /// End the console with SIGTERM (it stops its servers) and wait for it.
    pub fn terminate(mut self, timeout: Duration) -> portable_pty::ExitStatus {
        if let Some(pid) = self.child.process_id() {
            // SAFETY: plain kill(2) on the child this console spawned.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
        }
        self.wait_exit(timeout)
    }

    pub fn raw_text(&self) -> Vec<u8> {
        // Let the reader catch up with the last bytes.
        std::thread::sleep(Duration::from_millis(200));
        self.raw.lock().unwrap().clone()
    }
}

/// A console whose terminal can be hung up as an SSH drop does it: every
/// master descriptor closed, so the kernel sends SIGHUP to the console
/// (the session leader) and its writes to the terminal fail with EIO.
/// (A [`Console`] cannot: its reader holds a copy of the master, and its
/// writer types `\n^D` when dropped.) Input is written to the master fd.
pub struct HangableConsole {
    pub raw: Arc<Mutex<Vec<u8>>>,
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    master: Option<Box<dyn portable_pty::MasterPty + Send>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl HangableConsole {
    pub fn spawn(data: &Path, config: &Path) -> HangableConsole {
        let pty = open_pty();
        let child = pty
            .slave
            .spawn_command(command(data, config, &[], &[]))
            .unwrap();
        drop(pty.slave);
        let fd = pty.master.as_raw_fd().unwrap();
        let raw = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (sink, halt) = (raw.clone(), stop.clone());
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while !halt.load(std::sync::atomic::Ordering::SeqCst) {
                let mut p = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd; the master outlives this thread
                // (hang_up joins it before closing the master).
                if unsafe { libc::poll(&mut p, 1, 50) } <= 0 {
                    continue;
                }
                // SAFETY: reading into a buffer of the given length.
                let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
                if n <= 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n as usize]);
            }
        });
        HangableConsole {
            raw,
            child,
            master: Some(pty.master),
            stop,
            reader: Some(reader),
        }
    }

    pub fn screen(&self) -> String {
        screen_of(&self.raw)
    }

    pub fn wait_for(&self, what: &str, timeout: Duration) -> String {
        wait_on(what, timeout, || self.screen())
    }

    pub fn send(&mut self, bytes: &[u8]) {
        let fd = self.master.as_ref().unwrap().as_raw_fd().unwrap();
        // SAFETY: writing a valid buffer to the open master.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        assert_eq!(n, bytes.len() as isize, "cannot write to the terminal");
        std::thread::sleep(Duration::from_millis(150));
    }

    /// Close the terminal: stop reading, then close the master.
    pub fn hang_up(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        drop(self.master.take());
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> portable_pty::ExitStatus {
        wait_child(&mut self.child, timeout, || {
            "the console did not exit after the hangup".into()
        })
    }
}
