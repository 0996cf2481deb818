//! The full-screen console.

pub mod conflict;
pub mod drafts;
pub mod editor;
pub mod keymap;
pub mod svg;
pub mod templates;
pub mod theme;
