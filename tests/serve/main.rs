//! `aacon serve` end to end (the real binary on a free loopback port) and
//! the API adapter against servers that misbehave.

#[path = "../support/mod.rs"]
mod support;

mod api_hostile;
mod cluster;
mod deploy_files;
mod forward;
mod serve_e2e;
mod serve_history;
mod serve_logs;
mod serve_ops;
mod serve_pg;
mod serve_record;
mod serve_runtime;
mod store_port;
mod store_tls;
