//! Container instances through a container CLI. No container engine runs
//! on the test machines, so a stand-in `podman` on PATH records the argv it
//! is given and runs the image's command as the real CLI would run it in
//! the container (stdio attached, the `-e NAME` variables inherited). What
//! is under test is our side of that contract: the argv (no secret value in
//! it), the environment, the MCP session over the CLI's stdio, and the
//! clean-up when the instance stops. (Without a working CLI the status is
//! the "no container runtime found" error, tested below.)

use crate::support;

use aacon::domain::{NewInstance, Status};
use aacon::platform::Platform;
use aacon::platform::api::{ApiOptions, ApiPlatform};
use serde_json::json;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::support::FIXTURE;

const FAKE_PODMAN: &str = r#"#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls.log"
case "$1" in
  info|rm) exit 0 ;;
  run)
    shift
    while [ $# -gt 0 ]; do
      case "$1" in
        -i|--rm) shift ;;
        --name|-e) shift 2 ;;
        *) break ;;
      esac
    done
    shift
    exec "$@" ;;
esac
exit 1
"#;

async fn wait_for(api: &ApiPlatform, id: uuid::Uuid, want: Status) -> aacon::domain::Instance {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let i = api.get(&id.to_string()).await.unwrap();
        if i.status == want {
            return i;
        }
        assert!(
            Instant::now() < deadline,
            "never {want:?}: {:?} {:?}",
            i.status,
            i.status_reason
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn calls(bin: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(bin.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_runs_through_the_cli_with_secrets_in_env_not_argv() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, config, bin) = (
        tmp.path().join("data"),
        tmp.path().join("config"),
        tmp.path().join("bin"),
    );
    std::fs::create_dir_all(&bin).unwrap();
    let podman = bin.join("podman");
    std::fs::File::create(&podman)
        .unwrap()
        .write_all(FAKE_PODMAN.as_bytes())
        .unwrap();
    std::fs::set_permissions(&podman, std::fs::Permissions::from_mode(0o755)).unwrap();
    let canary = "ctr-canary-5e0f7d";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aacon"))
        .arg("--data-dir")
        .arg(&data)
        .args(["secrets", "set", "DB_PASSWORD"])
        .env("AACON_CONFIG_DIR", &config)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(canary.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());

    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let serve = support::serve::Serve::start_with_env(&data, &config, &[], &[("PATH", &path)]);
    let api = ApiPlatform::new(ApiOptions::new(&serve.url)).unwrap();
    let inst = api
        .create(NewInstance {
            name: "boxed".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({
                "image": "localhost/aacon-fixture",
                "cmd": [FIXTURE, "--stderr", "from-container"],
                "environment": {"DB_PASSWORD": "secret_ref:DB_PASSWORD"}
            }),
        })
        .await
        .unwrap();
    api.start(inst.id).await.unwrap();
    let running = wait_for(&api, inst.id, Status::Running).await;
    assert!(running.tool_count.is_some_and(|n| n > 0), "{running:?}");

    // The argv: the variable by name only, the image, then its command.
    let name = format!("aacon-boxed-{}", &inst.id.simple().to_string()[..8]);
    let run = calls(&bin)
        .into_iter()
        .find(|l| l.starts_with("run "))
        .unwrap();
    assert_eq!(
        run,
        format!(
            "run -i --rm --name {name} -e DB_PASSWORD localhost/aacon-fixture {FIXTURE} --stderr from-container"
        )
    );
    // The value reached the server's environment, and nothing else.
    let out = api.call_tool(inst.id, "pid", json!({})).await.unwrap();
    let pid: u32 = out.text.trim().parse().unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert!(
        environ
            .split(|b| *b == 0)
            .any(|kv| kv == format!("DB_PASSWORD={canary}").as_bytes())
    );
    let logs = api.logs(inst.id, None).await.unwrap().lines;
    assert!(
        logs.iter().any(|l| l.text.contains("from-container")),
        "{logs:?}"
    );
    assert!(!calls(&bin).concat().contains(canary));

    // Stop: the session ends, then the container is removed by name.
    api.stop(inst.id).await.unwrap();
    wait_for(&api, inst.id, Status::Stopped).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !calls(&bin).contains(&format!("rm -f {name}")) {
        assert!(Instant::now() < deadline, "no clean-up: {:?}", calls(&bin));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists() || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        }
    );
}

/// Serve with PATH = `bin` only and one container instance started; its
/// status reason once it is `error`.
async fn error_with_path_of(bin: &std::path::Path) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let serve = support::serve::Serve::start_with_env(
        &tmp.path().join("data"),
        &tmp.path().join("config"),
        &[],
        &[("PATH", bin.as_os_str())],
    );
    let api = ApiPlatform::new(ApiOptions::new(&serve.url)).unwrap();
    let inst = api
        .create(NewInstance {
            name: "boxed".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({"type": "docker", "image": "mcp/filesystem"}),
        })
        .await
        .unwrap();
    api.start(inst.id).await.unwrap();
    wait_for(&api, inst.id, Status::Error)
        .await
        .status_reason
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_working_container_cli_the_status_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    // Neither CLI on PATH.
    assert_eq!(
        error_with_path_of(tmp.path()).await,
        "no container runtime found (looked for podman, docker)"
    );
    // Both installed, neither able to reach an engine.
    for (name, err) in [
        ("podman", "Error: cannot connect to Podman socket"),
        (
            "docker",
            "Cannot connect to the Docker daemon. Is the docker daemon running?",
        ),
    ] {
        let p = tmp.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\necho '{err}' >&2\nexit 125\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    assert_eq!(
        error_with_path_of(tmp.path()).await,
        "no container runtime found (looked for podman, docker); podman is installed but `podman info` failed: Error: cannot connect to Podman socket; docker is installed but `docker info` failed: Cannot connect to the Docker daemon. Is the docker daemon running?"
    );
}
