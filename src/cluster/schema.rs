//! The lease tables and their versioned migrations.
//!
//! `lease_schema` holds one row, the version applied. Replicas migrate
//! under a transaction-scoped advisory lock, so several starting at once
//! apply each step once; a version newer than [`MIGRATIONS`] knows is
//! refused (an older aacon must not write tables it does not understand).

use super::{ClusterError, Result};

/// The advisory lock key the migrations take ("aaconlea" in ASCII).
const MIGRATION_LOCK: i64 = 0x6161_636f_6e6c_6561;

/// Each step, in order; the schema version is how many are applied.
pub const MIGRATIONS: &[&str] = &[
    // 1: replicas, leases, the lease history.
    "create table replicas (
        id text primary key,
        address text not null,
        started_at timestamptz not null default now(),
        heartbeat_at timestamptz not null default now(),
        expires_at timestamptz not null
    );
    create table leases (
        instance_id text primary key,
        owner text,
        generation bigint not null default 0,
        acquired_at timestamptz,
        expires_at timestamptz not null default '-infinity'
    );
    create index leases_owner on leases (owner, expires_at);
    create table lease_history (
        id bigserial primary key,
        instance_id text not null,
        owner text not null,
        generation bigint not null,
        acquired_at timestamptz not null,
        ended_at timestamptz,
        how text check (how in ('released', 'expired')),
        unique (instance_id, generation)
    );
    create index lease_history_open on lease_history (instance_id) where ended_at is null;",
];

/// The version this aacon writes.
pub fn current() -> i32 {
    MIGRATIONS.len() as i32
}

/// Bring the lease tables to [`current`], in one transaction.
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<()> {
    let tx = client.transaction().await?;
    tx.execute("select pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("create table if not exists lease_schema (version integer not null)")
        .await?;
    let found: Option<i32> = tx
        .query_opt("select version from lease_schema", &[])
        .await?
        .map(|r| r.get(0));
    let found = match found {
        Some(v) => v,
        None => {
            tx.execute("insert into lease_schema (version) values (0)", &[])
                .await?;
            0
        }
    };
    if found > current() {
        return Err(ClusterError::NewerSchema {
            found,
            known: current(),
        });
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        tx.batch_execute(step).await?;
        tx.execute("update lease_schema set version = $1", &[&(i as i32 + 1)])
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
