//! A bundle from the embedded platform, written, read back and replayed.

use super::*;
use crate::domain::{DesiredState, InstancePatch, NewInstance};
use crate::paths::DataDir;
use crate::platform::embedded::{EmbeddedOptions, EmbeddedPlatform, Role};
use crate::platform::{Platform, PlatformError, ReadOnly};
use serde_json::json;
use std::sync::Arc;

const REF_CANARY: &str = "ref-canary-0b1c2d3e";
const PLAIN_CANARY: &str = "plain-canary-9f8e7d6c";

fn pause() {
    std::thread::sleep(std::time::Duration::from_millis(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_round_trips_into_a_read_only_replay_without_a_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let p = EmbeddedPlatform::open(
        DataDir::new(tmp.path().join("data")),
        EmbeddedOptions {
            role: Role::Cli,
            host_runtime: false,
        },
    )
    .unwrap();
    let from = Utc::now();
    pause();
    let inst = p
        .create(NewInstance {
            name: "web".into(),
            description: None,
            server_spec_id: None,
            json_spec: json!({"command": ["srv"], "env_vars": {"API_TOKEN": PLAIN_CANARY, "KEY": "secret_ref:K"}}),
        })
        .await
        .unwrap();
    p.start(inst.id).await.unwrap();
    pause();
    let running = Utc::now();
    pause();
    let spec = json!({"command": ["srv", "--v2"], "env_vars": {"API_TOKEN": PLAIN_CANARY, "KEY": "secret_ref:K"}});
    let patch = InstancePatch {
        json_spec: Some(spec),
        ..Default::default()
    };
    p.update(inst.id, patch, None).await.unwrap();
    p.stop(inst.id).await.unwrap();
    pause();
    let window = Window {
        from,
        to: Utc::now(),
    };
    let bundle = collect(
        &p,
        Request {
            id: inst.id,
            window,
            secrets: vec![REF_CANARY.into()],
            host: Some(HostReport {
                text: format!("✓ secret store: holds {REF_CANARY}\n"),
                json: json!([{"detail": REF_CANARY}]),
            }),
            mode: "embedded".into(),
        },
    )
    .await
    .unwrap();
    let path = tmp.path().join("b.tar.gz");
    write(&bundle, &path).unwrap();
    let back = open(&path).unwrap();
    assert_eq!(back.manifest, bundle.manifest);
    for (name, bytes) in &back.files {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(REF_CANARY), "{name}: {text}");
        assert!(!text.contains(PLAIN_CANARY), "{name}: {text}");
    }
    assert!(
        back.text(files::DOCTOR_TEXT)
            .unwrap()
            .contains("<redacted>")
    );
    let diffs: Vec<&String> = back
        .files
        .iter()
        .map(|(n, _)| n)
        .filter(|n| n.ends_with(".diff"))
        .collect();
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert!(back.text(diffs[0]).unwrap().contains("+    \"--v2\""));
    // No host is up: the bundle says so instead of holding log lines.
    assert!(back.file(files::LOGS).is_none());
    assert!(
        back.manifest
            .not_included
            .iter()
            .any(|m| m.starts_with("log lines: no runtime host is up")),
        "{:?}",
        back.manifest.not_included
    );

    let replay: Arc<dyn Platform> = Arc::new(ReadOnly(Arc::new(
        ReplayPlatform::from_bundle("b.tar.gz", &back).unwrap(),
    )));
    assert!(replay.info().read_only);
    assert_eq!(replay.info().name, "replay of b.tar.gz");
    let now = replay.get("web").await.unwrap();
    assert_eq!(now.desired_state, DesiredState::Stopped);
    let then = replay.state_at(running).await.unwrap();
    assert_eq!(
        then.find("web").unwrap().desired_state,
        DesiredState::Running
    );
    assert!(replay.state_at(from).await.unwrap().instances.is_empty());
    let e = replay.stop(inst.id).await.unwrap_err();
    assert_eq!(e, PlatformError::ReadOnly("stopping an instance"));
    assert!(
        replay
            .logs(inst.id, None)
            .await
            .unwrap_err()
            .to_string()
            .contains("no runtime host is up")
    );
    let evs = replay
        .events_between(window.from, window.to, Some(inst.id))
        .await
        .unwrap();
    assert_eq!(evs.len(), 4, "{evs:?}");
}
