//! A runtime host that exits (orderly, or by panicking) leaves no managed
//! process behind: checked by pid from outside, on a real child process
//! (this test binary re-run as a host).

use aacon::domain::{NewInstance, Status};
use aacon::paths::DataDir;
use aacon::platform::Platform;
use aacon::platform::embedded::{EmbeddedOptions, Role};
use aacon::runtime::RuntimeConfig;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::FIXTURE;
use crate::support::procs::alive;

/// Not a test on its own: the host process the tests below start.
#[test]
#[ignore = "helper run in a child process by the other tests"]
fn host_helper() {
    let Ok(dir) = std::env::var("AACON_EXIT_HELPER_DIR") else {
        return;
    };
    let mode = std::env::var("AACON_EXIT_HELPER_MODE").unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let platform = Arc::new(
            aacon::host::open_embedded(
                DataDir::new(&dir),
                EmbeddedOptions {
                    role: Role::Console,
                    host_runtime: true,
                },
            )
            .unwrap(),
        );
        let cfg = RuntimeConfig {
            stop_grace: Duration::from_millis(500),
            ..RuntimeConfig::default()
        };
        let handle = aacon::host::spawn_runtime(platform.clone(), cfg);
        let inst = platform
            .create(NewInstance {
                name: "exit-test".into(),
                description: None,
                server_spec_id: None,
                json_spec: serde_json::json!({"command": [FIXTURE, "--child", "--ignore-term"]}),
            })
            .await
            .unwrap();
        platform.start(inst.id).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while platform.get("exit-test").await.unwrap().status != Status::Running {
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let pid = handle.pid(inst.id).unwrap();
        let gpid = loop {
            if let Some(l) = handle
                .stderr(inst.id)
                .into_iter()
                .find(|l| l.contains("grandchild pid"))
            {
                break l.rsplit(' ').next().unwrap().to_string();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        println!("PIDS {pid} {gpid}");
        std::io::stdout().flush().unwrap();
        match mode.as_str() {
            "panic" => panic!("the console crashed (on purpose)"),
            _ => {
                handle.shutdown().await;
                std::process::exit(0);
            }
        }
    });
}

fn run_host(mode: &str) -> (u32, u32, std::process::ExitStatus) {
    let tmp = tempfile::tempdir().unwrap();
    let host_helper = crate::support::test_name(module_path!(), "host_helper");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &host_helper,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("AACON_EXIT_HELPER_DIR", tmp.path())
        .env("AACON_EXIT_HELPER_MODE", mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut pids = None;
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("PIDS ").nth(1) {
            let mut it = rest.split_whitespace().map(|p| p.parse::<u32>().unwrap());
            pids = Some((it.next().unwrap(), it.next().unwrap()));
        }
    }
    let status = child.wait().unwrap();
    let (pid, gpid) = pids.expect("the host printed its pids");
    (pid, gpid, status)
}

fn assert_gone(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|p| alive(*p)) {
        assert!(
            Instant::now() < deadline,
            "left behind: {:?}",
            pids.iter().filter(|p| alive(**p)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_orderly_host_exit_leaves_no_process_behind() {
    let (pid, gpid, status) = run_host("shutdown");
    assert!(status.success());
    assert_gone(&[pid, gpid]);
}

#[test]
fn a_panicking_host_leaves_no_process_behind() {
    let (pid, gpid, status) = run_host("panic");
    assert!(!status.success(), "the helper panicked");
    assert_gone(&[pid, gpid]);
}
