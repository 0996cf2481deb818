//! API mode's flight recorder against the real AgentArea, which keeps no
//! event history: what `events --follow --record` observed by polling its
//! list answers `--at` and `--between`, in the test's own workspace.

use crate::support;

use support::agentarea::AgentArea;
use support::recorder::{Remote, observe_and_travel};

#[test]
fn the_recorder_observes_agentarea_and_at_gives_the_earlier_state() {
    let _beside = support::agentarea::TURN.blocking_read();
    let aa = AgentArea::shared();
    let ws = format!("ws-record-{}", std::process::id());
    let (_tmp, data, config) = support::cli::dirs();
    let remote = Remote {
        url: aa.url.clone(),
        token: Some(aa.workspace_token(&ws)),
        data,
        config,
        spec: serde_json::json!({"image": "mcp/filesystem", "port": 8000}),
    };
    observe_and_travel(&remote, "rec-web");
}
