//! TLS to PostgreSQL (`sslmode` / `sslrootcert` in `store.url`) against a
//! real server with `ssl=on` that admits TCP clients over TLS only
//! (`hostssl`), so a connection that succeeds is encrypted: the store's
//! pool, its LISTEN connection, the runtime claim and the lease tables
//! connect under `require` and `verify-full` with the right CA; a wrong CA
//! and `disable` are refused with one sentence that holds no password.

use crate::support::postgres::{Postgres, TlsOnly};
use aacon::cluster::Cluster;
use aacon::paths::StoreUrl;
use aacon::store::StorePort;
use aacon::store::pg::PgStore;
use std::time::Duration;

const CANARY: &str = "pw-canary-7731";

/// The database's URL with a password (trust auth ignores it) and `query`.
fn url(pg: &Postgres, db: &str, query: &str) -> String {
    let base = pg
        .db_url(db)
        .replacen("postgres@", &format!("postgres:{CANARY}@"), 1);
    if query.is_empty() {
        base
    } else {
        format!("{base}?{query}")
    }
}

fn open(url: &str) -> Result<PgStore, String> {
    PgStore::open(&StoreUrl::new(url), "tls-test").map_err(|e| e.to_string())
}

/// One sentence, without the password, that says `what`.
fn assert_sentence(err: &str, what: &str) {
    assert!(err.contains(what), "{err}");
    assert!(!err.contains(CANARY), "the password was shown: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn require_and_verify_full_connect_every_connection_over_tls() {
    let pg = Postgres::start_tls(TlsOnly::Yes);
    pg.create_db("tls");
    let ca = pg.ca_cert();
    for query in [
        "sslmode=require".to_string(),
        format!("sslmode=verify-ca&sslrootcert={}", ca.display()),
        format!("sslmode=verify-full&sslrootcert={}", ca.display()),
    ] {
        let url = url(&pg, "tls", &query);
        // The pool (the schema is migrated through it) and a read.
        let store = open(&url).unwrap_or_else(|e| panic!("{query}: {e}"));
        store.list().unwrap_or_else(|e| panic!("{query}: {e}"));
        // The LISTEN connection: it wakes the tail once it listens.
        let (tx, rx) = std::sync::mpsc::channel();
        let _watching = store.watch(tx).expect("watch");
        rx.recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{query}: the listener never connected"));
        // The lease tables.
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let cluster = Cluster::connect_with(&url, Duration::from_secs(10))
                .await
                .unwrap_or_else(|e| panic!("{query}: {e}"));
            assert!(cluster.replicas().await.unwrap().is_empty());
        });
    }
    // The server did see TLS sessions (hostssl admits nothing else).
    let ssl = pg.psql("postgres", "select count(*) > 0 from pg_stat_ssl where ssl");
    assert_eq!(ssl, "t");
}

#[test]
fn verify_full_with_a_wrong_ca_is_refused_in_one_sentence() {
    let pg = Postgres::start_tls(TlsOnly::Yes);
    let query = format!(
        "sslmode=verify-full&sslrootcert={}",
        pg.other_ca_cert().display()
    );
    let url = url(&pg, "postgres", &query);
    let what = "the server's TLS certificate is not signed by a CA that sslrootcert names (sslmode=verify-full)";
    let err = open(&url).err().expect("opened with a wrong CA");
    assert_sentence(&err, what);
    let err = tokio::runtime::Runtime::new().unwrap().block_on(async {
        match Cluster::connect_with(&url, Duration::from_secs(10)).await {
            Err(e) => e.to_string(),
            Ok(_) => panic!("the lease tables connected with a wrong CA"),
        }
    });
    assert_sentence(&err, what);
    // Through the binary, as an operator sees it.
    let tmp = tempfile::tempdir().unwrap();
    let out = crate::support::cli::cli_env(
        &tmp.path().join("cli"),
        &tmp.path().join("config"),
        &["instances", "list"],
        "",
        &[("AACON_STORE_URL", &url)],
        &["AACON_API_URL"],
    );
    assert!(!out.status.success());
    assert_sentence(String::from_utf8_lossy(&out.stderr).trim(), what);
}

#[test]
fn disable_against_a_server_that_requires_tls_is_refused_in_one_sentence() {
    let pg = Postgres::start_tls(TlsOnly::Yes);
    let url = url(&pg, "postgres", "sslmode=disable");
    let what = "(the server accepts only TLS: set sslmode=require or stronger)";
    let err = open(&url).err().expect("opened without TLS");
    assert_sentence(&err, what);
    let err = tokio::runtime::Runtime::new().unwrap().block_on(async {
        match Cluster::connect_with(&url, Duration::from_secs(10)).await {
            Err(e) => e.to_string(),
            Ok(_) => panic!("the lease tables connected without TLS"),
        }
    });
    assert_sentence(&err, what);
}

#[test]
fn prefer_uses_tls_when_offered_and_plain_when_not() {
    // A server offering TLS beside plain TCP: the default (prefer) takes TLS.
    let pg = Postgres::start_tls(TlsOnly::No);
    let store = open(&url(&pg, "postgres", "")).unwrap();
    store.list().unwrap();
    let ssl = pg.psql(
        "postgres",
        "select bool_and(s.ssl) from pg_stat_ssl s join pg_stat_activity a using (pid) \
         where a.application_name = 'aacon'",
    );
    assert_eq!(ssl, "t", "the store's connections are not encrypted");
    // A server without TLS: prefer connects in the clear, require refuses.
    let plain = Postgres::start();
    open(&url(&plain, "postgres", "sslmode=prefer")).unwrap();
    let err = open(&url(&plain, "postgres", "sslmode=require"))
        .err()
        .expect("require connected to a server without TLS");
    assert_sentence(&err, "cannot reach the store");
}
