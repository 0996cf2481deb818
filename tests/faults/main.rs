//! Faults and hostile input: SIGKILL mid-commit, broken and oversized
//! input, and terminal and session faults on the console in a pty.

#[path = "../support/mod.rs"]
mod support;

mod crash_durability;
mod hostile_input;
mod lease;
mod postgres_server;
mod pty_faults;
