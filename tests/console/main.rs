//! The real console in a pseudo-terminal, driven like a user: against the
//! embedded platform, `aacon serve`, Redis and real MCP servers.

#[path = "../support/mod.rs"]
mod support;

mod calls_pty;
mod history_pty;
mod incident_pty;
mod logs_pty;
mod redis_console;
mod safety_pty;
mod serve_pty;
mod stream_picture;
mod surface_pty;
mod travel_api_pty;
mod travel_pty;
mod tui_pty;
mod tui_term;
