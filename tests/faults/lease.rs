//! Instances shared by lease (`aacon::cluster`) between replicas on a real
//! PostgreSQL: claim up to a fair share, takeover after SIGKILL of a
//! replica in a child process, loss reported before takeover under a
//! network partition, hand-back at shutdown, a new replica getting its
//! share. Every claim, expiry and release is checked afterwards from
//! `lease_history`: no instance ever had two owners at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aacon::cluster::{Cluster, LeaseChange, LeaseConfig, LeaseHandle, LeaseManager, ReleaseAck};
use chrono::{DateTime, Utc};

use crate::support::lease_replica::ChildReplica;
use crate::support::postgres::Postgres;
use crate::support::redis::free_port;

/// The lease interval of every replica here (renewed every half, the
/// lease lives two).
const INTERVAL: Duration = Duration::from_millis(1000);
/// How long any condition may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(60);

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("inst-{i:03}")).collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Acquired,
    Lost,
    Released,
}

/// What a replica reported, each change with the instant it arrived.
type Log = Arc<Mutex<Vec<(Instant, Kind, String, i64)>>>;

struct Replica {
    handle: LeaseHandle,
    log: Log,
}

impl Replica {
    async fn start(url: &str, name: &str, instances: usize) -> Replica {
        let cluster = Cluster::connect_with(url, Duration::from_secs(2))
            .await
            .expect("connect to the lease tables");
        let ids = ids(instances);
        let cfg = LeaseConfig::new(name, format!("{name}.test:7777")).with_interval(INTERVAL);
        let (handle, mut rx) = LeaseManager::start(cluster, cfg, Arc::new(move || ids.clone()))
            .await
            .expect("start a lease manager");
        let log: Log = Arc::default();
        let sink = log.clone();
        tokio::spawn(async move {
            while let Some(change) = rx.recv().await {
                let now = Instant::now();
                let (kind, id, generation, ack): (Kind, String, i64, Option<ReleaseAck>) =
                    match change {
                        LeaseChange::Acquired { id, generation } => {
                            (Kind::Acquired, id, generation, None)
                        }
                        LeaseChange::Lost { id, generation } => (Kind::Lost, id, generation, None),
                        LeaseChange::Released {
                            id,
                            generation,
                            ack,
                        } => (Kind::Released, id, generation, Some(ack)),
                    };
                sink.lock().unwrap().push((now, kind, id, generation));
                // The instance "stops" at once.
                if let Some(ack) = ack {
                    ack.done();
                }
            }
        });
        Replica { handle, log }
    }

    fn count(&self) -> usize {
        self.handle.held().len()
    }

    fn events(&self, kind: Kind) -> Vec<(Instant, String, i64)> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.1 == kind)
            .map(|e| (e.0, e.2.clone(), e.3))
            .collect()
    }
}

/// Poll `cond` every 100 ms until it holds, or fail naming `what`.
async fn wait_for(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to postgres");
    tokio::spawn(conn);
    client
}

/// The database's clock now.
async fn db_now(client: &tokio_postgres::Client) -> DateTime<Utc> {
    client
        .query_one("select clock_timestamp()", &[])
        .await
        .expect("select now")
        .get(0)
}

struct HistoryRow {
    instance: String,
    owner: String,
    generation: i64,
    acquired_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

async fn history(client: &tokio_postgres::Client) -> Vec<HistoryRow> {
    client
        .query(
            "select instance_id, owner, generation, acquired_at, ended_at from lease_history \
             order by instance_id, acquired_at, generation",
            &[],
        )
        .await
        .expect("read lease_history")
        .iter()
        .map(|r| HistoryRow {
            instance: r.get(0),
            owner: r.get(1),
            generation: r.get(2),
            acquired_at: r.get(3),
            ended_at: r.get(4),
        })
        .collect()
}

/// No instance had two owners with overlapping [acquired, ended) intervals,
/// and each new owner got a higher generation. Returns how many owners
/// each instance had.
async fn assert_one_owner_at_a_time(client: &tokio_postgres::Client) -> HashMap<String, usize> {
    let rows = history(client).await;
    let mut owners: HashMap<String, usize> = HashMap::new();
    for pair in rows.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.instance != b.instance {
            continue;
        }
        assert!(
            b.generation > a.generation,
            "{}: generation {} after {}",
            a.instance,
            b.generation,
            a.generation
        );
        let ended = a.ended_at.unwrap_or_else(|| {
            panic!(
                "{}: generation {} ({}) never ended, yet {} acquired generation {}",
                a.instance, a.generation, a.owner, b.owner, b.generation
            )
        });
        assert!(
            ended <= b.acquired_at,
            "{}: {} held it until {ended}, {} from {}",
            a.instance,
            a.owner,
            b.owner,
            b.acquired_at
        );
    }
    for r in &rows {
        *owners.entry(r.instance.clone()).or_default() += 1;
    }
    owners
}

#[test]
fn three_replicas_claim_sixty_instances_and_spread_them() {
    let pg = Postgres::start();
    let url = pg.create_db("spread");
    runtime().block_on(async {
        let mut replicas = Vec::new();
        for name in ["a", "b", "c"] {
            replicas.push(Replica::start(&url, name, 60).await);
        }
        wait_for("the three replicas hold 20 each", async || {
            replicas.iter().all(|r| r.count() == 20)
        })
        .await;
        let counts: Vec<usize> = replicas.iter().map(Replica::count).collect();
        let fair = 60usize.div_ceil(3);
        assert!(counts.iter().all(|&c| c <= 2 * fair), "{counts:?}");
        assert_eq!(counts.iter().sum::<usize>(), 60);

        // The lookups for forwarding and `host status`.
        let cluster = Cluster::connect(&url).await.unwrap();
        let listed = cluster.replicas().await.unwrap();
        assert_eq!(listed.len(), 3);
        assert!(
            listed.iter().all(|r| r.live && r.leases == 20),
            "{listed:?}"
        );
        for r in &replicas {
            for (id, generation) in r.handle.held() {
                let owner = cluster.owner_of(&id).await.unwrap().expect("an owner");
                assert_eq!(owner.replica, r.handle.replica_id());
                assert_eq!(owner.generation, generation);
                assert!(owner.address.ends_with(".test:7777"));
            }
        }
        assert_eq!(cluster.owner_of("inst-999").await.unwrap(), None);
        for r in replicas {
            r.handle.shutdown().await;
        }
    });
}

#[test]
fn a_replica_killed_with_sigkill_loses_its_instances_to_the_survivors() {
    let pg = Postgres::start();
    let url = pg.create_db("takeover");
    runtime().block_on(async {
        let db = connect(&url).await;
        let a = Replica::start(&url, "a", 60).await;
        let mut child = ChildReplica::spawn(&url, "victim", INTERVAL, 60);
        let b = Replica::start(&url, "b", 60).await;
        wait_for("the three replicas hold 20 each", async || {
            child.held() == 20 && a.count() == 20 && b.count() == 20
        })
        .await;
        let victim: Vec<(String, i64)> = {
            let rows = db
                .query(
                    "select instance_id, generation from leases where owner = $1",
                    &[&child.id],
                )
                .await
                .unwrap();
            rows.iter().map(|r| (r.get(0), r.get(1))).collect()
        };
        assert_eq!(victim.len(), 20);

        let killed_at = db_now(&db).await;
        child.child.kill().expect("SIGKILL the replica");
        child.child.wait().expect("reap it");
        wait_for("the survivors hold all 60", async || {
            a.count() + b.count() == 60
        })
        .await;

        // Taken over within two intervals of the kill (the lease lives two
        // intervals from the victim's last renewal, before the kill).
        let row = db
            .query_one(
                "select max(h.acquired_at), (select heartbeat_at from replicas where id = $1) \
                 from lease_history h where h.acquired_at > $2 and h.owner <> $1",
                &[&child.id, &killed_at],
            )
            .await
            .unwrap();
        let taken_at: DateTime<Utc> = row.get(0);
        let last_heartbeat: DateTime<Utc> = row.get(1);
        let after_kill = (taken_at - killed_at).to_std().unwrap();
        let after_heartbeat = (taken_at - last_heartbeat).to_std().unwrap();
        eprintln!(
            "takeover: {after_kill:?} after the kill, {after_heartbeat:?} after the victim's last heartbeat (interval {INTERVAL:?})"
        );
        // The bound the protocol gives: the lease expires two intervals
        // after the victim's last renewal, and a survivor wakes for it then
        // (half an interval of grace for a loaded machine). The kill came
        // after that renewal, so it is within two intervals of the kill
        // too, give or take the time between the renewal and the kill.
        assert!(
            after_heartbeat <= INTERVAL * 2 + INTERVAL / 2,
            "taken over {after_heartbeat:?} after the victim's last renewal"
        );

        // Fencing: the victim's generations are stale, the new owners' current.
        let cluster = Cluster::connect(&url).await.unwrap();
        for (id, generation) in &victim {
            assert!(!cluster.check(id, &child.id, *generation).await.unwrap());
            let owner = cluster.owner_of(id).await.unwrap().expect("a new owner");
            assert!(owner.generation > *generation);
            let survivor = if owner.replica == a.handle.replica_id() {
                &a
            } else {
                &b
            };
            assert!(survivor.handle.check(id, owner.generation).await.unwrap());
        }
        let owners = assert_one_owner_at_a_time(&db).await;
        assert!(victim.iter().all(|(id, _)| owners[id] >= 2));
        // Nobody lost a lease on the way.
        assert!(a.events(Kind::Lost).is_empty() && b.events(Kind::Lost).is_empty());
        a.handle.shutdown().await;
        b.handle.shutdown().await;
    });
}

/// A TCP relay to PostgreSQL that can stop passing bytes in both
/// directions without closing anything: a network partition.
struct Partition {
    port: u16,
    cut: Arc<AtomicBool>,
}

impl Partition {
    async fn start(upstream: u16) -> Partition {
        let port = free_port();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the relay");
        let cut = Arc::new(AtomicBool::new(false));
        let flag = cut.clone();
        tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                let Ok(up) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else {
                    continue;
                };
                let (dr, dw) = down.into_split();
                let (ur, uw) = up.into_split();
                tokio::spawn(pump(dr, uw, flag.clone()));
                tokio::spawn(pump(ur, dw, flag.clone()));
            }
        });
        Partition { port, cut }
    }

    fn set_cut(&self, cut: bool) {
        self.cut.store(cut, Ordering::SeqCst);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    cut: Arc<AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while cut.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[test]
fn a_partitioned_replica_reports_its_leases_lost_before_another_acquires_them() {
    let pg = Postgres::start();
    let url = pg.create_db("partition");
    runtime().block_on(async {
        let db = connect(&url).await;
        let relay = Partition::start(pg.port()).await;
        let cut_url = format!("postgres://postgres@127.0.0.1:{}/partition", relay.port);
        let a = Replica::start(&cut_url, "cut-off", 20).await;
        let b = Replica::start(&url, "b", 20).await;
        wait_for("both replicas hold 10", async || {
            a.count() == 10 && b.count() == 10
        })
        .await;
        let held_by_a = a.handle.held();

        relay.set_cut(true);
        wait_for("b holds all 20", async || b.count() == 20).await;
        let lost: HashMap<String, (Instant, i64)> = a
            .events(Kind::Lost)
            .into_iter()
            .map(|(at, id, g)| (id, (at, g)))
            .collect();
        let acquired: HashMap<String, (Instant, i64)> = b
            .events(Kind::Acquired)
            .into_iter()
            .map(|(at, id, g)| (id, (at, g)))
            .collect();
        let mut margins = Vec::new();
        for (id, generation) in &held_by_a {
            let (lost_at, lost_gen) = lost
                .get(id)
                .unwrap_or_else(|| panic!("{id}: the partitioned replica never reported it lost"));
            assert_eq!(lost_gen, generation);
            let (taken_at, taken_gen) = acquired[id];
            assert!(
                *lost_at < taken_at,
                "{id}: taken over before the partitioned replica reported it lost"
            );
            assert!(taken_gen > *generation);
            margins.push(taken_at - *lost_at);
        }
        eprintln!(
            "partition: lost reported {:?} to {:?} before the takeover (interval {INTERVAL:?})",
            margins.iter().min().unwrap(),
            margins.iter().max().unwrap()
        );
        assert!(a.handle.held().is_empty());

        // Healed, it rejoins and takes its share again.
        relay.set_cut(false);
        wait_for("the healed replica holds 10 again", async || {
            a.count() == 10 && b.count() == 10
        })
        .await;
        assert_one_owner_at_a_time(&db).await;
        a.handle.shutdown().await;
        b.handle.shutdown().await;
    });
}

#[test]
fn graceful_shutdown_hands_leases_back_at_once() {
    let pg = Postgres::start();
    let url = pg.create_db("handback");
    runtime().block_on(async {
        let db = connect(&url).await;
        // `b` first, so that `leaving` hands back nothing before shutdown.
        let b = Replica::start(&url, "b", 20).await;
        let a = Replica::start(&url, "leaving", 20).await;
        wait_for("both replicas hold 10", async || {
            a.count() == 10 && b.count() == 10
        })
        .await;
        let leaving = a.handle.replica_id().to_string();
        let log = a.log.clone();
        let started = Instant::now();
        a.handle.shutdown().await;
        let shutdown_took = started.elapsed();
        wait_for("b holds all 20", async || b.count() == 20).await;

        let gap: f64 = db
            .query_one(
                "select extract(epoch from max(h2.acquired_at - h1.ended_at))::float8 \
                 from lease_history h1 \
                 join lease_history h2 on h2.instance_id = h1.instance_id \
                   and h2.generation = h1.generation + 1 \
                 where h1.owner = $1 and h1.how = 'released'",
                &[&leaving],
            )
            .await
            .unwrap()
            .get(0);
        eprintln!("hand-back: shutdown took {shutdown_took:?}; taken over {gap:.3} s after release (interval {INTERVAL:?})");
        assert!(
            gap <= INTERVAL.as_secs_f64(),
            "taken over {gap} s after the hand-back"
        );
        let released = db
            .query_one(
                "select count(*) from lease_history where owner = $1 and how = 'released'",
                &[&leaving],
            )
            .await
            .unwrap()
            .get::<_, i64>(0);
        assert_eq!(released, 10, "every lease was released, none expired");
        {
            let log = log.lock().unwrap();
            assert_eq!(log.iter().filter(|e| e.1 == Kind::Released).count(), 10);
            assert!(log.iter().all(|e| e.1 != Kind::Lost));
        }
        let cluster = Cluster::connect(&url).await.unwrap();
        let listed = cluster.replicas().await.unwrap();
        assert!(listed.iter().all(|r| r.id != leaving), "{listed:?}");
        assert_one_owner_at_a_time(&db).await;
        b.handle.shutdown().await;
    });
}

#[test]
fn a_new_replica_gets_its_share_within_a_few_intervals() {
    let pg = Postgres::start();
    let url = pg.create_db("join");
    runtime().block_on(async {
        let db = connect(&url).await;
        let a = Replica::start(&url, "a", 60).await;
        let b = Replica::start(&url, "b", 60).await;
        wait_for("two replicas hold 30 each", async || {
            a.count() == 30 && b.count() == 30
        })
        .await;
        let started = Instant::now();
        let c = Replica::start(&url, "c", 60).await;
        wait_for("three replicas hold 20 each", async || {
            a.count() == 20 && b.count() == 20 && c.count() == 20
        })
        .await;
        let took = started.elapsed();
        eprintln!(
            "join: the new replica held its share after {took:?} ({:.1} intervals)",
            took.as_secs_f64() / INTERVAL.as_secs_f64()
        );
        // Handed back, not lost.
        let since = |r: &Replica| {
            r.events(Kind::Released)
                .iter()
                .filter(|e| e.0 >= started)
                .count()
        };
        assert_eq!((since(&a), since(&b)), (10, 10));
        assert!(a.events(Kind::Lost).is_empty() && b.events(Kind::Lost).is_empty());
        assert_one_owner_at_a_time(&db).await;
        for r in [a, b, c] {
            r.handle.shutdown().await;
        }
    });
}

#[test]
fn a_newer_lease_schema_is_refused_with_one_sentence() {
    let pg = Postgres::start();
    let url = pg.create_db("newer");
    runtime().block_on(async {
        Cluster::connect(&url).await.expect("migrate");
        // Connecting again changes nothing.
        Cluster::connect(&url).await.expect("already current");
        let db = connect(&url).await;
        db.execute("update lease_schema set version = 99", &[])
            .await
            .unwrap();
        let err = Cluster::connect(&url).await.err().expect("refused");
        assert_eq!(
            err.to_string(),
            "the lease tables are at schema version 99, newer than this aacon knows (1); upgrade aacon"
        );
    });
}
