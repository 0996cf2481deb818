//! The runtime with real MCP servers: the in-repo `mcp-fixture`,
//! `@modelcontextprotocol/server-everything` over stdio and HTTP, misbehaving
//! servers, container instances, secrets reaching only the child, and hosts
//! that exit leaving nothing behind.

#[path = "../support/mod.rs"]
mod support;

mod call_history;
mod long_calls;
mod mcp_logs;
mod mcp_surface;
mod platform_tools;
mod runtime_container;
mod runtime_exit;
mod runtime_fixture;
mod runtime_hostile;
mod runtime_http;
mod runtime_oauth;
mod runtime_sse;
mod secrets_canary;
