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
