//! Time travel in the console, rendered with the real views: the banner
//! and the table as they were at a past moment.

use crate::support::app::{app, render};
use aacon::domain::Status;
use aacon::tui::app::{App, Ask, Msg};
use aacon::tui::fixtures;
use chrono::FixedOffset;

/// The fixture an hour before its clock, named in `zone`.
fn an_hour_ago(a: &mut App, zone: FixedOffset) {
    let m = fixtures::an_hour_ago(a);
    a.update(Msg::Moment {
        ask: Ask::At,
        result: Ok(Some(m)),
    });
    a.set_travel_zone(zone);
}

#[test]
fn the_table_at_a_past_moment() {
    let mut a = app();
    an_hour_ago(&mut a, FixedOffset::east_opt(0).unwrap());
    insta::assert_snapshot!("travel_instances_120x24", render(&mut a, 120, 24));
}

#[test]
fn the_banner_names_the_local_time_and_what_arrived() {
    let mut a = app();
    an_hour_ago(&mut a, FixedOffset::east_opt(3600).unwrap());
    let live = a.projection.sorted()[1].clone();
    a.update(Msg::Platform(fixtures::live_change(&live, Status::Error)));
    let screen = render(&mut a, 160, 24);
    let banner = screen.lines().nth(2).unwrap();
    insta::assert_snapshot!("travel_banner_160", banner);
    assert!(
        banner.contains("2026-11-25 12:00:00 +01:00 (11:00:00 UTC)"),
        "{banner}"
    );
    assert!(banner.contains("1 event arrived since (kept)"), "{banner}");
}

#[test]
fn a_detail_of_an_instance_not_there_then_says_so() {
    use aacon::tui::keymap::Action;
    let mut a = app();
    // The newest instance (not there an hour ago), opened live.
    let newest = a
        .projection
        .sorted()
        .into_iter()
        .max_by_key(|i| i.created_at)
        .unwrap()
        .name
        .clone();
    a.run_command(&newest);
    a.action(Action::Open);
    assert!(render(&mut a, 120, 24).contains(&newest));
    an_hour_ago(&mut a, FixedOffset::east_opt(0).unwrap());
    let screen = render(&mut a, 120, 24);
    assert!(screen.contains("(not there then)"), "{screen}");
    assert!(
        screen.contains("This instance did not exist at the moment shown."),
        "{screen}"
    );
    assert!(screen.contains("AS IT WAS AT"), "{screen}");
}

#[test]
fn what_changed_since_the_moment_shown_instance_by_instance() {
    use aacon::tui::app::Overlay;
    use aacon::tui::keymap::Action;
    let mut a = app();
    // Live: nothing to compare, and nothing opens.
    a.action(Action::ChangesSince);
    assert!(a.overlay.is_none());
    let toast = a.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default();
    assert!(toast.contains("this is live"), "{toast}");

    an_hour_ago(&mut a, FixedOffset::east_opt(0).unwrap());
    // An event while away: one instance fails now.
    let then = a.projection.sorted()[1].clone();
    let next = if then.status == Status::Error {
        Status::Running
    } else {
        Status::Error
    };
    a.update(Msg::Platform(fixtures::live_change(&then, next)));
    a.action(Action::ChangesSince);
    let Some(Overlay::Raw { text, .. }) = &a.overlay else {
        panic!("no changes pager: {:?}", a.overlay);
    };
    assert!(
        text.contains(&format!(
            "{}\n  status: {} → {next}",
            then.name, then.status
        )),
        "{text}"
    );
    // Instances created within the hour were not there.
    assert!(text.contains("created since (now "), "{text}");
    assert!(
        text.contains("Now includes the events that arrived"),
        "{text}"
    );
    a.toast = None;
    insta::assert_snapshot!("travel_changes_since_120x30", render(&mut a, 120, 30));
    // The pager closes as any other; the past is still shown.
    a.update(crate::support::app::code(crossterm::event::KeyCode::Esc));
    assert!(a.overlay.is_none());
    assert!(a.travel().is_some());
}
