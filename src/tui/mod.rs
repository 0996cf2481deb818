//! The full-screen console.

pub mod keymap;
pub mod theme;
