//! The `:` line's navigation: `:ctx` lists and switches contexts live,
//! `:NAME` / `:i NAME` jumps to an instance, and tab completes.

use super::{App, Command, Level, Overlay, Screen};
use crate::config::ContextSummary;
use crate::platform::BackendInfo;
use crate::tui::complete::{Completion, complete};

/// The name shown for the platform the console started on when no
/// `--context` named it.
pub const START_CONTEXT: &str = "start";

impl App {
    /// The current context's name.
    pub fn context_name(&self) -> &str {
        self.context.as_deref().unwrap_or(START_CONTEXT)
    }

    /// `:ctx`: every context, the current one marked; tokens never shown.
    pub(super) fn list_contexts(&mut self) {
        let mut text = String::new();
        let current = self.context_name().to_string();
        if self.started_as.is_none() {
            let mark = if current == START_CONTEXT { '*' } else { ' ' };
            text.push_str(&format!(
                "{mark} {START_CONTEXT:<14} {} (the platform this console started on)\n",
                self.started_on
            ));
        }
        for c in &self.contexts {
            let mark = if c.name == current { '*' } else { ' ' };
            text.push_str(&format!(
                "{mark} {:<14} {}{}, {}{}\n",
                c.name,
                c.target,
                c.workspace
                    .as_deref()
                    .map(|w| format!(", workspace {w}"))
                    .unwrap_or_default(),
                c.token,
                if c.redis { ", redis" } else { "" }
            ));
        }
        if self.contexts.is_empty() {
            text.push_str(
                "\nNo contexts in the config file: add [contexts.NAME] with api_url and token_env (see `aacon config example`).\n",
            );
        } else {
            text.push_str("\n:ctx NAME switches to a context without a restart.\n");
        }
        self.overlay = Some(Overlay::Raw {
            title: format!(
                "contexts ({})",
                super::super::views::plural(self.contexts.len(), "context",)
            ),
            text,
            pager: Default::default(),
        });
        self.dirty = true;
    }

    /// `:ctx NAME`: ask the runner to connect; the table changes only once
    /// the new platform answered.
    pub(super) fn switch_context(&mut self, name: &str) -> Vec<Command> {
        let shown = crate::domain::text::shown(name);
        if name == self.context_name() {
            self.toast(Level::Info, format!("already on context {shown}"));
            return Vec::new();
        }
        let known = (name == START_CONTEXT && self.started_as.is_none())
            || self.contexts.iter().any(|c| c.name == name);
        if !known {
            let mut names: Vec<&str> = self.contexts.iter().map(|c| c.name.as_str()).collect();
            if self.started_as.is_none() {
                names.push(START_CONTEXT);
            }
            self.toast(
                Level::Error,
                if names.is_empty() {
                    format!("there is no context '{shown}': the config file defines none")
                } else {
                    format!(
                        "there is no context '{shown}' (known: {})",
                        names.join(", ")
                    )
                },
            );
            return Vec::new();
        }
        if self
            .screens
            .iter()
            .any(|s| matches!(s, Screen::Editor(e) if e.editor.is_dirty()))
        {
            self.toast(
                Level::Error,
                "an edit is open: save or close it before switching context",
            );
            return Vec::new();
        }
        self.toast(Level::Info, format!("connecting to context {shown}…"));
        vec![Command::SwitchContext(name.to_string())]
    }

    /// The runner connected to a context (or could not): show its instances.
    pub(super) fn context_switched(
        &mut self,
        result: Result<(String, BackendInfo), super::ContextError>,
    ) -> Vec<Command> {
        self.dirty = true;
        let (name, info) = match result {
            Ok(v) => v,
            Err(e) => {
                self.toast(
                    Level::Error,
                    format!("still on context {}: {e}", self.context_name()),
                );
                return Vec::new();
            }
        };
        // Everything seen so far belongs to the other platform.
        self.backend = info;
        self.context = Some(name.clone());
        self.source = crate::platform::SourceState::Off;
        self.projection = crate::domain::projection::Projection::new();
        self.instances.rows.clear();
        self.instances.rows_dirty = true;
        self.instances.marked.clear();
        self.instances.flash.clear();
        self.instances.selected = 0;
        self.instances.selected_id = None;
        self.events.stream.clear();
        self.events.selected = 0;
        self.since_reload.clear();
        self.screens = vec![Screen::Instances];
        self.overlay = None;
        self.loaded = false;
        self.in_flight = 0;
        self.toast(
            Level::Ok,
            format!("switched to context {}", crate::domain::text::shown(&name)),
        );
        self.reloading = true;
        vec![Command::Reload, Command::LoadRecentEvents]
    }

    /// `:NAME` or `:i NAME`: select the instance called NAME (or with that
    /// id) and open it. Two instances with one name: neither is picked.
    pub(super) fn jump_to(&mut self, name: &str) -> Vec<Command> {
        let found: Vec<uuid::Uuid> = self
            .projection
            .instances()
            .filter(|i| i.name == name || i.id.to_string() == name)
            .map(|i| i.id)
            .collect();
        let shown = crate::domain::text::shown(name);
        let id = match found.as_slice() {
            [one] => *one,
            [] => {
                self.toast(
                    Level::Error,
                    format!(
                        "no instance is called '{shown}' (and no command either; ? lists them)"
                    ),
                );
                return Vec::new();
            }
            many => {
                let ids: Vec<String> = many.iter().map(|i| i.to_string()).collect();
                self.toast(
                    Level::Error,
                    format!(
                        "{} are called '{shown}': {}; use :i ID",
                        super::super::views::plural(many.len(), "instance"),
                        ids.join(", ")
                    ),
                );
                return Vec::new();
            }
        };
        // Back to the table, without a filter hiding it, then open it.
        self.screens.truncate(1);
        self.overlay = None;
        if !self.instances.rows.contains(&id) {
            self.set_filter("");
            self.rebuild_rows();
        }
        if let Some(pos) = self.instances.rows.iter().position(|r| *r == id) {
            self.instances.selected = pos;
            self.instances.selected_id = Some(id);
        }
        self.dirty = true;
        self.open_detail()
    }

    /// Tab on the `:` line.
    pub(super) fn complete_line(&self, line: &str) -> Completion {
        complete(line, &|cmd| match cmd {
            "theme" => {
                let mut v: Vec<String> = crate::tui::theme::PRESETS
                    .iter()
                    .map(|(n, _)| n.to_string())
                    .collect();
                v.push("no-color".into());
                v
            }
            "keymap" => crate::tui::keymap::PRESETS
                .iter()
                .map(|(n, _)| n.to_string())
                .collect(),
            "sort" => super::Column::ALL
                .iter()
                .map(|c| c.title().to_lowercase())
                .collect(),
            "dump" => vec!["csv".into(), "json".into()],
            "ctx" => {
                let mut v: Vec<String> = self.contexts.iter().map(|c| c.name.clone()).collect();
                if self.started_as.is_none() {
                    v.push(START_CONTEXT.into());
                }
                v
            }
            "i" => self
                .projection
                .instances()
                .map(|i| i.name.clone())
                .collect(),
            _ => Vec::new(),
        })
    }

    /// The contexts the config file defines, and what the console started
    /// on (for `:ctx`).
    pub fn set_contexts(
        &mut self,
        contexts: Vec<ContextSummary>,
        current: Option<String>,
        started_on: String,
    ) {
        self.contexts = contexts;
        self.context = current.clone();
        self.started_as = current;
        self.started_on = started_on;
    }
}
