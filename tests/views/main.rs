//! The console's state and views in-process: the pure update function, the
//! event loop against a real embedded platform, and snapshots of what the
//! real render code draws (`insta`, in `snapshots/`).

#[path = "../support/mod.rs"]
mod support;

mod api_editor;
mod travel_steps;
mod tui_app;
mod tui_health_tools;
mod tui_history;
mod tui_keys_data;
mod tui_long_calls;
mod tui_no_versions;
mod tui_profile;
mod tui_replay;
mod tui_surface;
mod tui_travel;
mod tui_truths;
mod tui_views;
