//! The full-screen console.

pub mod app;
pub mod filter;
pub mod fixtures;
pub mod keymap;
pub mod run;
pub mod theme;
pub mod views;

pub use run::{ConsoleOptions, run};
