//! The full-screen console.

pub mod app;
pub mod conflict;
pub mod drafts;
pub mod editor;
pub mod filter;
pub mod fixtures;
pub mod keymap;
pub mod run;
pub mod screenshots;
pub mod svg;
pub mod templates;
pub mod theme;
pub mod views;

pub use run::{ConsoleOptions, run};
