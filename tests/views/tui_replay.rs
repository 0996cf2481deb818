//! A replayed incident bundle (`aacon --replay FILE`), rendered with the
//! real views: the header says read-only and the banner names the file,
//! the instance and the window.

use crate::support::app::{app, render};
use aacon::platform::BackendInfo;

#[test]
fn the_replay_banner_names_the_file_the_instance_and_the_window() {
    let mut a = app();
    a.backend = BackendInfo {
        name: "replay of web.tar.gz".into(),
        read_only: true,
    };
    a.source = aacon::platform::SourceState::Off;
    a.replay =
        Some("REPLAY of web.tar.gz · web · 2026-11-25 11:00:00–12:00:00 UTC · read-only".into());
    let screen = render(&mut a, 120, 24);
    insta::assert_snapshot!("replay_instances_120x24", screen);
    let banner = screen.lines().nth(2).unwrap();
    assert!(banner.contains("REPLAY of web.tar.gz · web"), "{banner}");
    assert!(
        screen.lines().next().unwrap().contains("READ-ONLY"),
        "{screen}"
    );
}
