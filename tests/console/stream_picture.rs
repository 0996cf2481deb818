//! The console with a real redis-server, in a pseudo-terminal: each event
//! shows once though it arrives from the event-log tail and again from the
//! stream; and a console whose instances come from the stream says how much
//! of it the table covers, and reads the whole stream on request.

use crate::support;

use aacon::domain::Envelope;
use std::time::Duration;
use support::RedisServer;
use support::pty::Console;

const WAIT: Duration = Duration::from_secs(20);
const SPEC: &str = r#"{"command": ["srv"]}"#;

/// Screen lines holding `what`.
fn rows_with(screen: &str, what: &str) -> usize {
    screen.lines().filter(|l| l.contains(what)).count()
}

#[test]
fn a_console_that_hosts_and_watches_redis_shows_each_of_its_events_once() {
    let redis = RedisServer::start();
    let url = redis.url();
    let (tmp, data, config) = support::cli::dirs();
    let mut con = Console::spawn(&data, &config, &["--redis", &url]);
    con.wait_for("instances (0)", WAIT);

    // On this data dir: the console's tail sees the commit, and the same
    // event comes back from the stream once published.
    support::cli::ok(
        &data,
        &config,
        &[
            "--redis",
            &url,
            "instances",
            "create",
            "once-a",
            "--spec",
            "-",
        ],
        SPEC,
    );
    // Another host after it: once its event shows, the stream has
    // delivered everything before it.
    let other = tmp.path().join("other");
    support::cli::ok(
        &other,
        &config,
        &[
            "--redis",
            &url,
            "instances",
            "create",
            "marker-b",
            "--spec",
            "-",
        ],
        SPEC,
    );
    con.wait_for("marker-b", WAIT);
    con.send(b"2");
    let screen = con.wait_for("events (", WAIT);
    assert_eq!(rows_with(&screen, "once-a"), 1, "{screen}");
    assert_eq!(rows_with(&screen, "Created"), 2, "{screen}");
    assert!(screen.contains("events (2)"), "{screen}");
    con.send(b"q");
    con.wait_exit(WAIT);
}

#[test]
fn a_console_fed_by_the_stream_says_what_it_covers_and_reads_all_on_request() {
    let redis = RedisServer::start();
    let url = redis.url();
    // Another host published 300 instances; the console's backfill reads 200.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let mut pipe = redis::pipe();
        for n in 0..300 {
            let e = Envelope::created(&support::bus::instance(&format!("far-{n:03}")), None);
            pipe.cmd("XADD")
                .arg("agentarea:events")
                .arg("*")
                .arg("__data__")
                .arg(e.to_json())
                .ignore();
        }
        let () = pipe.query_async(&mut conn).await.unwrap();
    });
    let (_tmp, data, config) = support::cli::dirs();
    let mut con = Console::spawn(&data, &config, &["--redis", &url]);
    let screen = con.wait_for("seen on the stream since", WAIT);
    assert!(
        screen.contains("200 instances seen on the stream since"),
        "{screen}"
    );
    assert!(screen.contains("B reads all 300 entries"), "{screen}");
    assert!(screen.contains("instances (200)"), "{screen}");

    con.send(b"B");
    let screen = con.wait_for("(all 300 entries it retains)", WAIT);
    assert!(
        screen.contains("300 instances seen on the stream since"),
        "{screen}"
    );
    assert!(screen.contains("instances (300)"), "{screen}");
    // Each event once: the window's 200 are not read again.
    con.send(b"2");
    let screen = con.wait_for("events (", WAIT);
    assert!(screen.contains("events (300)"), "{screen}");
    con.send(b"q");
    con.wait_exit(WAIT);
}
