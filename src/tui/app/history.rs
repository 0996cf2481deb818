//! The History tab: an instance's recorded tool calls, resource reads and
//! prompt gets (newest first, refreshed once a second while shown); enter
//! shows one in full in the pager, and the re-run key sends it again with
//! its recorded arguments — refused when they had secrets redacted, and
//! confirmed first for a tool not marked read-only.

use super::*;
use crate::platform::McpOp;
use crate::platform::history::{CallKind, CallRecord};

/// How many of the newest calls the tab lists.
pub const HISTORY_ROWS: usize = 200;

/// The History tab's state.
#[derive(Debug, Clone, Default)]
pub struct HistoryPane {
    /// None until loaded.
    pub list: Option<Result<Vec<CallRecord>, PlatformError>>,
    pub selected: usize,
    /// A read of the list is in flight.
    pub loading: bool,
    /// The id of the selected call, kept across refreshes.
    pub selected_id: Option<i64>,
}

impl HistoryPane {
    /// The list arrived (or why not); the selection stays on its call.
    pub fn loaded(&mut self, result: Result<Vec<CallRecord>, PlatformError>) {
        self.loading = false;
        if let Ok(list) = &result {
            self.selected = self
                .selected_id
                .and_then(|id| list.iter().position(|c| c.id == id))
                .unwrap_or(0)
                .min(list.len().saturating_sub(1));
            self.selected_id = list.get(self.selected).map(|c| c.id);
        }
        self.list = Some(result);
    }

    pub fn rows(&self) -> &[CallRecord] {
        match &self.list {
            Some(Ok(l)) => l,
            _ => &[],
        }
    }

    pub fn selected_call(&self) -> Option<&CallRecord> {
        self.rows().get(self.selected)
    }

    fn select(&mut self, i: usize) {
        self.selected = i.min(self.rows().len().saturating_sub(1));
        self.selected_id = self.selected_call().map(|c| c.id);
    }
}

/// The confirmation for re-running a tool not marked read-only: one
/// sentence naming the tool and the instance, the arguments, and why.
fn rerun_confirm(id: Uuid, instance: &str, tool: &ToolInfo, args: serde_json::Value) -> Confirm {
    let mut c = tools::tool_confirm(id, instance, tool, args);
    c.title = format!("Re-run tool {}?", tool.name);
    if let Some(first) = c.lines.first_mut() {
        *first = format!(
            "Call tool {} on instance {instance} again, with its recorded arguments:",
            tool.name
        );
    }
    c
}

impl App {
    /// The History tab was entered: read the list, and the tools (their
    /// annotations say which re-runs ask first).
    pub(super) fn history_tab_entered(&mut self) -> Vec<Command> {
        let Some(d) = self.detail_mut() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if d.tools.list.is_none() {
            out.push(Command::LoadTools(d.id));
        }
        if !d.calls.loading {
            d.calls.loading = true;
            out.push(Command::LoadCalls(d.id));
        }
        out
    }

    /// Once a second while the tab is shown: read the list again (calls
    /// from the CLI, serve or a re-run show up).
    pub(super) fn history_tick(&mut self) -> Vec<Command> {
        match self.detail_mut() {
            // A backend that keeps no history (AgentArea) said so once: not
            // asked again every second (the refresh key still asks).
            Some(d)
                if d.tab == DetailTab::History
                    && !d.calls.loading
                    && !matches!(d.calls.list, Some(Err(PlatformError::Unavailable(_)))) =>
            {
                d.calls.loading = true;
                vec![Command::LoadCalls(d.id)]
            }
            _ => Vec::new(),
        }
    }

    /// A key action on the History tab; `None` when it is not its.
    pub(super) fn history_action(&mut self, action: Action) -> Option<Vec<Command>> {
        let page = usize::try_from(self.page()).unwrap_or(1).max(1);
        let d = self.detail_mut()?;
        if d.tab != DetailTab::History {
            return None;
        }
        let (id, h) = (d.id, &mut d.calls);
        match action {
            Action::Up => h.select(h.selected.saturating_sub(1)),
            Action::Down => h.select(h.selected + 1),
            Action::PageUp => h.select(h.selected.saturating_sub(page)),
            Action::PageDown => h.select(h.selected + page),
            Action::Top => h.select(0),
            Action::Bottom => h.select(usize::MAX),
            Action::Refresh => return Some(self.history_tab_entered()),
            Action::Open => {
                return Some(match h.selected_call() {
                    Some(c) => vec![Command::LoadCall { id, call: c.id }],
                    None => Vec::new(),
                });
            }
            Action::Rerun => return Some(self.rerun()),
            _ => return None,
        }
        self.dirty = true;
        Some(Vec::new())
    }

    /// One call in full arrived: show it in the pager.
    pub(super) fn call_arrived(&mut self, id: Uuid, result: Result<CallRecord, PlatformError>) {
        let on_page =
            matches!(self.screen(), Screen::Detail(d) if d.id == id && d.tab == DetailTab::History);
        match result {
            Ok(c) if on_page => {
                self.overlay = Some(Overlay::Raw {
                    title: format!("call {}: {}", c.id, c.what()),
                    text: c.full_text(),
                    pager: Default::default(),
                });
                self.dirty = true;
            }
            Ok(_) => {}
            Err(e) => self.toast(Level::Error, format!("cannot show the call: {e}")),
        }
    }

    /// Send the selected call again with its recorded arguments.
    fn rerun(&mut self) -> Vec<Command> {
        if self.read_only() {
            self.toast(
                Level::Error,
                "read-only mode: re-running a call is not allowed",
            );
            return Vec::new();
        }
        let Some(d) = self.detail_mut() else {
            return Vec::new();
        };
        let id = d.id;
        let selected = d.calls.selected_call().cloned();
        let (known, busy) = (d.tools.list.clone(), d.tools.calling);
        let Some(call) = selected else {
            self.toast(Level::Info, "no call is selected");
            return Vec::new();
        };
        let args = match call.rerun_args() {
            Ok(a) => a,
            Err(why) => {
                self.toast(Level::Error, why);
                return Vec::new();
            }
        };
        let instance = self
            .projection
            .get(&id)
            .map_or_else(|| call.instance_name.clone(), |i| i.name.clone());
        match call.kind {
            CallKind::Tool => {
                // A tool the server no longer lists (or not read yet) is
                // not known to be read-only: it asks first.
                let tool = known
                    .as_ref()
                    .and_then(|l| l.as_ref().ok())
                    .and_then(|l| l.iter().find(|t| t.name == call.name).cloned())
                    .unwrap_or(ToolInfo {
                        name: call.name.clone(),
                        description: None,
                        input_schema: serde_json::Value::Null,
                        annotations: None,
                    });
                if busy {
                    self.toast(
                        Level::Info,
                        "a tool call is already running on this instance",
                    );
                    return Vec::new();
                }
                if tool.needs_confirmation() {
                    self.overlay =
                        Some(Overlay::Confirm(rerun_confirm(id, &instance, &tool, args)));
                    self.dirty = true;
                    return Vec::new();
                }
                self.toast(Level::Info, format!("re-running tool {}", call.name));
                self.send_tool_call(id, call.name, args)
            }
            CallKind::Resource => {
                self.toast(Level::Info, format!("reading {} again", call.name));
                vec![Command::Mcp {
                    id,
                    op: McpOp::Read { uri: call.name },
                }]
            }
            CallKind::Prompt => {
                self.toast(Level::Info, format!("getting prompt {} again", call.name));
                vec![Command::Mcp {
                    id,
                    op: McpOp::GetPrompt {
                        name: call.name,
                        arguments: args.as_object().cloned().unwrap_or_default(),
                    },
                }]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::history::{CallOutcome, Caller};

    fn record(id: i64) -> CallRecord {
        CallRecord {
            id,
            instance_id: Uuid::nil(),
            instance_name: "a".into(),
            at: Utc::now(),
            caller: Caller::Console { pid: 1 },
            kind: CallKind::Tool,
            name: format!("t{id}"),
            arguments: serde_json::json!({}),
            redacted: false,
            duration_ms: 1,
            outcome: CallOutcome::Ok,
            result_bytes: 2,
            result: None,
        }
    }

    #[test]
    fn the_selection_stays_on_its_call_when_newer_ones_arrive() {
        let mut h = HistoryPane::default();
        h.loaded(Ok(vec![record(2), record(1)]));
        h.select(1);
        assert_eq!(h.selected_id, Some(1));
        h.loaded(Ok(vec![record(3), record(2), record(1)]));
        assert_eq!(h.selected, 2);
        assert_eq!(h.selected_call().map(|c| c.id), Some(1));
        h.loaded(Ok(vec![record(9)]));
        assert_eq!(h.selected, 0, "a pruned call gives way to the newest");
    }
}
