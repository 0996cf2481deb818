//! The PostgreSQL the scale-out tests run on (`tests/support/postgres.rs`):
//! a committed row survives SIGKILL of the server, and a second database is
//! separate from the first.

use crate::support::postgres::Postgres;

#[test]
fn a_committed_row_survives_sigkill_of_the_server() {
    let mut pg = Postgres::start();
    let db = "survive";
    pg.create_db(db);
    pg.psql(db, "create table t (id int primary key, v text)");
    pg.psql(db, "insert into t values (1, 'kept')");
    pg.kill9();
    assert!(!pg.is_running(), "the server is gone after kill9");
    pg.restart();
    assert_eq!(pg.psql(db, "select v from t where id = 1"), "kept");
}

#[test]
fn databases_are_separate_and_the_server_listens_on_loopback_only() {
    let pg = Postgres::start();
    assert!(pg.url().starts_with("postgres://postgres@127.0.0.1:"));
    pg.create_db("one");
    pg.create_db("two");
    pg.psql("one", "create table only_here (x int)");
    assert_eq!(
        pg.psql(
            "two",
            "select count(*) from pg_tables where tablename = 'only_here'"
        ),
        "0"
    );
    assert_eq!(pg.psql("one", "show listen_addresses"), "127.0.0.1");
}
