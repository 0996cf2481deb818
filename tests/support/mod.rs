//! Helpers shared by integration tests: real servers, not mocks. Every test
//! binary (`tests/NAME/main.rs`) takes this module with
//! `#[path = "../support/mod.rs"] mod support;`.

#![allow(dead_code)]

pub mod agentarea;
pub mod app;
pub mod bus;
pub mod cli;
pub mod everything;
pub mod lease_replica;
pub mod postgres;
pub mod procs;
pub mod pty;
pub mod python;
pub mod recorder;
pub mod redis;
pub mod rig;
pub mod serve;

#[allow(unused_imports)]
pub use self::redis::{RedisServer, free_port};

/// The in-repo MCP server (`tests/fixtures/mcp_fixture.rs`, a `[[bin]]`).
pub const FIXTURE: &str = env!("CARGO_BIN_EXE_mcp-fixture");

/// The name the test harness knows test `name` of module `module` by
/// (pass `module_path!()`): the path without the binary's own name, for
/// re-running this binary on that one test (`--exact`).
pub fn test_name(module: &str, name: &str) -> String {
    match module.split_once("::") {
        Some((_, path)) => format!("{path}::{name}"),
        None => name.to_string(),
    }
}
