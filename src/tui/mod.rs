//! The full-screen console.

pub mod drafts;
pub mod keymap;
pub mod templates;
pub mod theme;
