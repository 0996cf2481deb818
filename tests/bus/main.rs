//! The Redis event bus against a real redis-server (each test starts its
//! own on a free loopback port): the stream, consumer groups, outages,
//! secrets, AgentArea's pub/sub shapes, and `aacon serve --redis`.

#[path = "../support/mod.rs"]
mod support;

mod redis_agentarea;
mod redis_cli;
mod redis_embedded;
mod redis_group;
mod redis_outage;
mod redis_record;
mod redis_secrets;
mod redis_stream;
mod redis_throughput;
mod serve_redis;
