//! aacon, the AgentArea console: a terminal control console for an MCP
//! orchestration platform. See ARCHITECTURE.md for the map of modules.

pub mod bus;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod domain;
pub mod host;
pub mod incident;
#[cfg(test)]
mod layering;
pub mod logging;
pub mod paths;
pub mod platform;
pub mod runtime;
pub mod secrets;
pub mod serve;
pub mod store;
pub mod tui;
