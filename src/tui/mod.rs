//! The full-screen console.
//!
//! State and I/O are apart: [`app::App`] holds everything on screen and
//! turns messages (keys, platform events, task results, ticks) into
//! [`app::Command`]s; [`mod@run`] owns the terminal, the `select!` loop and the
//! tasks that perform commands; [`views`] draw from `&App` and write back
//! only what they drew into the pages' state (so tests render hand-built
//! state, see [`fixtures`]). The pages (`app/instances`, `app/events`, `app/detail`,
//! `app/edit`, the overlays) and the kit's components ([`editor`],
//! [`conflict`], [`templates`], [`drafts`], [`input`]) are driven from `App`.

pub mod app;
pub mod clipboard;
pub mod complete;
pub mod conflict;
pub mod drafts;
pub mod dump;
pub mod editor;
pub mod filter;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod input;
pub mod keymap;
pub mod merge;
pub mod palette;
pub mod quit;
pub mod run;
pub mod templates;
pub mod term;
pub mod theme;
pub mod timetravel;
pub mod views;

pub use quit::Ending;
pub use run::{ConsoleOptions, IncidentWriter, run, run_console};
