//! The full-screen console.

pub mod keymap;
pub mod templates;
pub mod theme;
