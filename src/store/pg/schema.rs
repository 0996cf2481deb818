//! The PostgreSQL store's versioned migrations. Each entry upgrades from
//! the previous version; `aacon_store_schema` records where a database
//! stands. The tables mirror SQLite's (`../schema.rs`): the same rows, the
//! envelope kept as the text that was written (so the JSON shape and key
//! order are the same), times as `timestamptz` (microseconds, as SQLite's).

pub const MIGRATIONS: &[&str] = &[
    // 1: instances, the event log (a sequence numbers it), the outbox,
    // tools, snapshots and the call history: SQLite's schema 5 at once.
    r#"
    CREATE TABLE instances (
        id                TEXT PRIMARY KEY,
        name              TEXT NOT NULL,
        description       TEXT,
        server_spec_id    TEXT,
        json_spec         TEXT NOT NULL,
        status            TEXT NOT NULL,
        status_reason     TEXT,
        desired_state     TEXT NOT NULL,
        created_at        TIMESTAMPTZ NOT NULL,
        updated_at        TIMESTAMPTZ NOT NULL,
        version           BIGINT NOT NULL,
        aggregate_version BIGINT NOT NULL,
        updated_by        TEXT,
        last_healthy_at   TIMESTAMPTZ,
        tool_count        BIGINT,
        restarts          BIGINT NOT NULL DEFAULT 0,
        deleted_at        TIMESTAMPTZ
    );
    CREATE UNIQUE INDEX instances_live_name ON instances(name) WHERE deleted_at IS NULL;
    CREATE TABLE events (
        seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id          TEXT NOT NULL UNIQUE,
        aggregate_id      TEXT,
        aggregate_version BIGINT,
        event_type        TEXT NOT NULL,
        timestamp         TIMESTAMPTZ NOT NULL,
        correlation_id    TEXT,
        envelope          TEXT NOT NULL
    );
    CREATE INDEX events_aggregate ON events(aggregate_id, seq);
    CREATE INDEX events_time ON events(timestamp);
    CREATE TABLE outbox (
        seq               BIGINT PRIMARY KEY REFERENCES events(seq)
    );
    CREATE TABLE tools (
        instance_id       TEXT NOT NULL,
        name              TEXT NOT NULL,
        description       TEXT,
        input_schema      TEXT NOT NULL,
        discovered_at     TIMESTAMPTZ NOT NULL,
        annotations       TEXT,
        PRIMARY KEY (instance_id, name)
    );
    CREATE TABLE snapshots (
        seq               BIGINT PRIMARY KEY,
        max_ts            TIMESTAMPTZ,
        events            BIGINT NOT NULL,
        state             TEXT NOT NULL
    );
    CREATE INDEX snapshots_time ON snapshots(max_ts);
    CREATE TABLE call_history (
        seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        instance_id       TEXT NOT NULL,
        instance_name     TEXT NOT NULL,
        at                TIMESTAMPTZ NOT NULL,
        caller            TEXT NOT NULL,
        kind              TEXT NOT NULL,
        name              TEXT NOT NULL,
        arguments         TEXT NOT NULL,
        redacted          BOOLEAN NOT NULL,
        duration_ms       BIGINT NOT NULL,
        outcome           TEXT NOT NULL,
        result_bytes      BIGINT NOT NULL,
        result            TEXT NOT NULL
    );
    CREATE INDEX call_history_instance ON call_history(instance_id, seq);
    CREATE INDEX call_history_time ON call_history(at);
    "#,
];

pub const CURRENT: u32 = MIGRATIONS.len() as u32;
