//! Versioned schema migrations. Each entry upgrades from the previous
//! version; `schema_meta` records where a database stands.

/// Migrations in order; index + 1 is the version they bring a database to.
pub const MIGRATIONS: &[&str] = &[
    // 1: instances, the append-only event log and the outbox.
    r#"
    CREATE TABLE instances (
        id               TEXT PRIMARY KEY,
        name             TEXT NOT NULL,
        description      TEXT,
        server_spec_id   TEXT,
        json_spec        TEXT NOT NULL,
        status           TEXT NOT NULL,
        status_reason    TEXT,
        desired_state    TEXT NOT NULL,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL,
        version          INTEGER NOT NULL,
        aggregate_version INTEGER NOT NULL,
        updated_by       TEXT,
        last_healthy_at  TEXT,
        tool_count       INTEGER,
        restarts         INTEGER NOT NULL DEFAULT 0,
        deleted_at       TEXT
    );
    CREATE UNIQUE INDEX instances_live_name ON instances(name) WHERE deleted_at IS NULL;
    CREATE TABLE events (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id         TEXT NOT NULL UNIQUE,
        aggregate_id     TEXT,
        aggregate_version INTEGER,
        event_type       TEXT NOT NULL,
        timestamp        TEXT NOT NULL,
        correlation_id   TEXT,
        envelope         TEXT NOT NULL
    );
    CREATE INDEX events_aggregate ON events(aggregate_id, seq);
    CREATE INDEX events_time ON events(timestamp);
    CREATE TABLE outbox (
        seq              INTEGER PRIMARY KEY REFERENCES events(seq),
        attempts         INTEGER NOT NULL DEFAULT 0,
        last_error       TEXT
    );
    "#,
    // 2: tools the runtime discovered, per instance.
    r#"
    CREATE TABLE tools (
        instance_id      TEXT NOT NULL,
        name             TEXT NOT NULL,
        description      TEXT,
        input_schema     TEXT NOT NULL,
        discovered_at    TEXT NOT NULL,
        PRIMARY KEY (instance_id, name)
    );
    "#,
    // 3: the tools' MCP annotations (readOnlyHint, destructiveHint, …) as JSON.
    r#"
    ALTER TABLE tools ADD COLUMN annotations TEXT;
    "#,
    // 4: snapshots of the projection every so many events (time travel:
    // the state at a moment is the nearest snapshot replayed forward).
    // `max_ts` is the latest event time at or before `seq`.
    r#"
    CREATE TABLE snapshots (
        seq              INTEGER PRIMARY KEY,
        max_ts           TEXT NOT NULL,
        events           INTEGER NOT NULL,
        state            TEXT NOT NULL
    );
    CREATE INDEX snapshots_time ON snapshots(max_ts);
    "#,
    // 5: every tool call, resource read and prompt get, per instance
    // (arguments redacted, the answer's first 64 KiB), kept after the
    // instance is deleted until retention prunes it.
    r#"
    CREATE TABLE call_history (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        instance_id      TEXT NOT NULL,
        instance_name    TEXT NOT NULL,
        at               TEXT NOT NULL,
        caller           TEXT NOT NULL,
        kind             TEXT NOT NULL,
        name             TEXT NOT NULL,
        arguments        TEXT NOT NULL,
        redacted         INTEGER NOT NULL,
        duration_ms      INTEGER NOT NULL,
        outcome          TEXT NOT NULL,
        result_bytes     INTEGER NOT NULL,
        result           TEXT NOT NULL
    );
    CREATE INDEX call_history_instance ON call_history(instance_id, seq);
    CREATE INDEX call_history_time ON call_history(at);
    "#,
];

pub const CURRENT: u32 = MIGRATIONS.len() as u32;
