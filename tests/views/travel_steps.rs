//! `[` / `]` through the port on a real embedded platform: each step lands
//! on the previous / next event that changed something visible, skipping
//! what the filter (or the detail's instance) does not show.

use aacon::domain::replay::Moment;
use aacon::domain::{DesiredState, NewInstance};
use aacon::paths::DataDir;
use aacon::platform::Platform;
use aacon::platform::embedded::{EmbeddedOptions, Role};
use aacon::tui::filter::Filter;
use aacon::tui::timetravel::{Visible, step_back, step_forward};
use chrono::{DateTime, Utc};
use serde_json::json;

/// Names and desired states shown at a moment.
fn shown(m: &Moment) -> Vec<(String, DesiredState)> {
    m.instances
        .iter()
        .map(|i| (i.name.clone(), i.desired_state))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_land_on_visible_changes_only() {
    let tmp = tempfile::tempdir().unwrap();
    let p = aacon::host::open_embedded(
        DataDir::new(tmp.path()),
        EmbeddedOptions {
            role: Role::Cli,
            host_runtime: false,
        },
    )
    .unwrap();
    let new = |name: &str| NewInstance {
        name: name.into(),
        description: None,
        server_spec_id: None,
        json_spec: json!({"command": ["x"]}),
    };
    // alpha created (t1), beta created (t2), beta started (t3), alpha
    // started (t4), beta stopped (t5), alpha stopped (t6).
    let alpha = p.create(new("alpha")).await.unwrap();
    let beta = p.create(new("beta")).await.unwrap();
    p.start(beta.id).await.unwrap();
    p.start(alpha.id).await.unwrap();
    p.stop(beta.id).await.unwrap();
    p.stop(alpha.id).await.unwrap();
    let now: DateTime<Utc> = Utc::now();

    let only_alpha = Visible::Filter(Filter::parse("alpha"));
    use DesiredState::{Running, Stopped};
    let s = |n: &str, d| (n.to_string(), d);

    // Back from now: before alpha's stop, at its start (beta running then).
    let t4 = step_back(&p, now, &only_alpha).await.unwrap().unwrap();
    assert_eq!(shown(&t4), [s("alpha", Running), s("beta", Running)]);
    // Back again: at alpha's creation (beta not there yet).
    let t1 = step_back(&p, t4.at, &only_alpha).await.unwrap().unwrap();
    assert_eq!(shown(&t1), [s("alpha", Stopped)]);
    // Back again: before anything.
    let t0 = step_back(&p, t1.at, &only_alpha).await.unwrap().unwrap();
    assert!(t0.instances.is_empty());
    assert!(step_back(&p, t0.at, &only_alpha).await.unwrap().is_none());

    // Forward from alpha's creation: beta's changes are skipped.
    let f = step_forward(&p, t1.at, &only_alpha, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f.at, t4.at);
    let f = step_forward(&p, f.at, &only_alpha, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shown(&f), [s("alpha", Stopped), s("beta", Stopped)]);
    assert!(
        step_forward(&p, f.at, &only_alpha, now)
            .await
            .unwrap()
            .is_none()
    );

    // A detail view steps through its own instance only.
    let only_beta = Visible::Instance(beta.id);
    let b = step_forward(&p, t1.at, &only_beta, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shown(&b), [s("alpha", Stopped), s("beta", Stopped)]);
    let b = step_forward(&p, b.at, &only_beta, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shown(&b), [s("alpha", Stopped), s("beta", Running)]);
}
