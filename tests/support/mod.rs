//! Helpers shared by integration tests: real servers, not mocks.

#![allow(dead_code)]

pub mod agentarea;
pub mod bus;
pub mod cli;
pub mod everything;
pub mod procs;
pub mod pty;
pub mod redis;
pub mod serve;

#[allow(unused_imports)]
pub use self::redis::{RedisServer, free_port};
