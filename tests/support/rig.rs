//! The runtime on an embedded platform in a temp data dir (the rig of the
//! runtime tests), and small HTTP servers that misbehave.

#[allow(unused_imports)]
pub use super::procs::{alive, wait_dead};
#[allow(unused_imports)]
pub use super::{FIXTURE, free_port};

use aacon::domain::{Envelope, EventType, Instance, NewInstance, Status};
use aacon::paths::DataDir;
use aacon::platform::embedded::{EmbeddedOptions, EmbeddedPlatform, Role};
use aacon::platform::{EventQuery, Platform};
use aacon::runtime::{RuntimeConfig, RuntimeHandle};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Rig {
    pub dir: tempfile::TempDir,
    pub platform: Arc<EmbeddedPlatform>,
    pub runtime: Option<RuntimeHandle>,
}

pub fn fast_config() -> RuntimeConfig {
    RuntimeConfig {
        init_timeout: Duration::from_secs(10),
        call_timeout: Duration::from_secs(10),
        probe_interval: Duration::from_secs(30),
        probe_timeout: Duration::from_secs(2),
        backoff_base: Duration::from_millis(200),
        backoff_max: Duration::from_secs(2),
        stable_after: Duration::from_secs(30),
        stop_grace: Duration::from_secs(1),
        reconcile_interval: Duration::from_secs(2),
        kill_on_panic: false,
        ..RuntimeConfig::default()
    }
}

impl Rig {
    pub async fn new(cfg: RuntimeConfig) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let platform = Arc::new(
            aacon::host::open_embedded(
                DataDir::new(dir.path()),
                EmbeddedOptions {
                    role: Role::Console,
                    host_runtime: true,
                },
            )
            .unwrap(),
        );
        let runtime = Some(aacon::host::spawn_runtime(platform.clone(), cfg));
        Rig {
            dir,
            platform,
            runtime,
        }
    }

    pub fn rt(&self) -> &RuntimeHandle {
        self.runtime.as_ref().unwrap()
    }

    pub async fn create(&self, name: &str, spec: Value) -> Instance {
        self.platform
            .create(NewInstance {
                name: name.into(),
                description: None,
                server_spec_id: None,
                json_spec: spec,
            })
            .await
            .unwrap()
    }

    pub async fn start(&self, name: &str, spec: Value) -> Instance {
        let inst = self.create(name, spec).await;
        self.platform.start(inst.id).await.unwrap().instance
    }

    /// Poll until the instance satisfies `pred`; panic with its state after `secs`.
    pub async fn wait(
        &self,
        id: uuid::Uuid,
        secs: u64,
        pred: impl Fn(&Instance) -> bool,
    ) -> Instance {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let inst = self.platform.get(&id.to_string()).await.unwrap();
            if pred(&inst) {
                return inst;
            }
            if Instant::now() > deadline {
                panic!(
                    "instance {} did not reach the expected state in {secs}s: status {} reason {:?} restarts {}",
                    inst.name, inst.status, inst.status_reason, inst.restarts
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_status(&self, id: uuid::Uuid, s: Status, secs: u64) -> Instance {
        self.wait(id, secs, |i| i.status == s).await
    }

    pub async fn events(&self, id: uuid::Uuid) -> Vec<Envelope> {
        self.platform
            .events(EventQuery {
                instance: Some(id),
                ..Default::default()
            })
            .await
            .unwrap()
    }

    /// The correlation id of the last event of `kind`.
    pub async fn last_correlation(&self, id: uuid::Uuid, kind: EventType) -> Option<String> {
        self.events(id)
            .await
            .into_iter()
            .rev()
            .find(|e| e.kind() == Some(kind))
            .and_then(|e| e.correlation_id)
    }
}

/// A one-route HTTP server on loopback answering every request with
/// `status`, `content_type` and `body`. Returns its port.
pub async fn http_stub(
    status: &'static str,
    content_type: &'static str,
    body: &'static str,
) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        for _ in 0..200 {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = tokio::time::timeout(Duration::from_secs(2), sock.read(&mut buf)).await;
                let resp = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    port
}

/// A loopback server that accepts connections and never answers.
pub async fn http_hang() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        for _ in 0..50 {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            held.push(sock);
        }
    });
    port
}
