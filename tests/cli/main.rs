//! The command line: the real `aacon` binary in a temp data dir (`instances`,
//! `events`, `config`, `doctor`, time travel, one-shot tool calls).

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod cli_at;
mod cli_child_env;
mod cli_timeouts;
mod config_cli;
mod doctor;
mod host_replicas;
mod incident;
