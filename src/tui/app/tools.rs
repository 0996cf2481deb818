//! The Detail page's Tools tab: the tool list, the argument editor, the
//! confirmation of a call and the last call's result.

use super::detail::PaneError;
use super::*;
use crate::platform::CallProgress;
use std::borrow::Cow;

/// Most argument lines a tool confirmation shows.
const CONFIRM_ARG_LINES: usize = 8;

/// The Tools tab: the tool list, the argument editor and the last call.
#[derive(Debug, Clone, Default)]
pub struct ToolsPane {
    /// None until loaded.
    pub list: Option<Result<Vec<ToolInfo>, PlatformError>>,
    pub selected: usize,
    /// The argument editor, while the user edits arguments.
    pub args: Option<Box<tui_textarea::TextArea<'static>>>,
    /// A call is in flight.
    pub calling: bool,
    /// The last call's outcome (or why it was not sent).
    pub result: Option<Result<ToolCallResult, PaneError>>,
    /// The first line of the result shown (the result pane scrolls).
    pub result_scroll: usize,
    /// What `/` searches the result for; `next_match` finds the next line.
    pub search: Option<String>,
    /// The call in flight (or the last one): its elapsed time, progress,
    /// timeout and whether it was cancelled.
    pub call: Option<CallState>,
}

/// A tool call from the pane, while it runs and after.
#[derive(Debug, Clone, PartialEq)]
pub struct CallState {
    /// The call's number (the runner cancels it by this).
    pub n: u64,
    pub tool: String,
    pub started: DateTime<Utc>,
    /// When it ended (its result came).
    pub ended: Option<DateTime<Utc>>,
    /// The last `notifications/progress`.
    pub progress: Option<CallProgress>,
    /// Longest it may take: the instance's `timeout_seconds`, else the
    /// console's `runtime.call_timeout_secs`.
    pub timeout_secs: f64,
    /// Cancelled from the pane (the server was sent `notifications/cancelled`).
    pub cancelled: bool,
}

impl CallState {
    /// Whole seconds since it started (until it ended).
    pub fn elapsed_secs(&self, now: DateTime<Utc>) -> i64 {
        (self.ended.unwrap_or(now) - self.started)
            .num_seconds()
            .max(0)
    }
}

/// A timeout in seconds as the pane shows it ("60s", "1.5s").
pub fn secs_text(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{}s", s as u64)
    } else {
        format!("{s:.1}s")
    }
}

impl ToolsPane {
    /// The instance's tools arrived (or why not).
    pub fn loaded(&mut self, result: Result<Vec<ToolInfo>, PlatformError>) {
        self.list = Some(result);
        self.selected = 0;
    }

    /// The call sent from this pane finished.
    pub fn called(&mut self, result: Result<ToolCallResult, PlatformError>) {
        self.calling = false;
        self.result = Some(result.map_err(PaneError::from));
    }

    /// The call numbered `n` finished at `now`.
    pub fn call_ended(
        &mut self,
        n: Option<u64>,
        now: DateTime<Utc>,
        result: Result<ToolCallResult, PlatformError>,
    ) {
        if let Some(c) = self.call.as_mut().filter(|c| Some(c.n) == n || n.is_none()) {
            c.ended = Some(now);
        }
        let cancelled = self.call.as_ref().filter(|c| c.cancelled);
        match (cancelled, result) {
            // Cancelled here: the pane says so in its own words.
            (Some(c), Err(_)) => {
                let secs = c.elapsed_secs(now);
                self.calling = false;
                self.result = Some(Err(PaneError::Cancelled(secs)));
            }
            (_, r) => self.called(r),
        }
    }

    /// Progress of the call numbered `n`.
    pub fn progressed(&mut self, n: u64, p: CallProgress) {
        if let Some(c) = self.call.as_mut().filter(|c| c.n == n && c.ended.is_none()) {
            c.progress = Some(p);
        }
    }

    pub fn selected_tool(&self) -> Option<&ToolInfo> {
        match &self.list {
            Some(Ok(l)) => l.get(self.selected),
            _ => None,
        }
    }

    /// The result as the pane shows it: the text, or the sentence of why not.
    pub fn result_text(&self) -> Option<Cow<'_, str>> {
        match &self.result {
            Some(Ok(out)) => Some(Cow::Borrowed(out.text.as_str())),
            Some(Err(e)) => Some(Cow::Owned(e.to_string())),
            None => None,
        }
    }

    /// Scroll to the first line at or after `from` (wrapping) that holds
    /// the search term; false when no line does.
    pub fn find_from(&mut self, from: usize) -> bool {
        let Some(term) = self.search.as_deref().filter(|t| !t.is_empty()) else {
            return false;
        };
        let term = term.to_lowercase();
        let Some(text) = self.result_text() else {
            return false;
        };
        let lines: Vec<&str> = text.lines().collect();
        let n = lines.len();
        let hit = (0..n)
            .map(|k| (from + k) % n.max(1))
            .find(|i| lines[*i].to_lowercase().contains(&term));
        match hit {
            Some(i) => {
                self.result_scroll = i;
                true
            }
            None => false,
        }
    }
}

/// Arguments to start from for a tool: its required properties with an
/// empty value of their type, pretty-printed (`{}` when none).
pub fn args_skeleton(schema: &serde_json::Value) -> String {
    use serde_json::{Map, Value};
    let mut m = Map::new();
    let props = schema.get("properties");
    if let Some(req) = schema.get("required").and_then(Value::as_array) {
        for name in req.iter().filter_map(Value::as_str) {
            let ty = props
                .and_then(|p| p.get(name))
                .and_then(|p| p.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let v = match ty {
                "string" => Value::String(String::new()),
                "number" | "integer" => Value::from(0),
                "boolean" => Value::Bool(false),
                "array" => Value::Array(Vec::new()),
                "object" => Value::Object(Map::new()),
                _ => Value::Null,
            };
            m.insert(name.to_string(), v);
        }
    }
    if m.is_empty() {
        return "{}".into();
    }
    serde_json::to_string_pretty(&Value::Object(m)).unwrap_or_else(|_| "{}".into())
}

/// The confirmation for calling a tool not marked read-only: it names the
/// tool, the instance and the arguments (secret-looking values masked).
pub(super) fn tool_confirm(
    id: Uuid,
    instance: &str,
    tool: &ToolInfo,
    args: serde_json::Value,
) -> Confirm {
    let pretty = serde_json::to_string_pretty(&mask_secrets(&args)).unwrap_or_default();
    let all: Vec<&str> = pretty.lines().collect();
    let mut lines = vec![format!("on instance {instance}, with arguments:")];
    lines.extend(all.iter().take(CONFIRM_ARG_LINES).map(|l| format!("  {l}")));
    if all.len() > CONFIRM_ARG_LINES {
        lines.push(format!(
            "  … and {} more lines",
            all.len() - CONFIRM_ARG_LINES
        ));
    }
    lines.push(String::new());
    lines.push(tool.confirmation_reason().to_string());
    Confirm {
        title: format!("Call tool {}?", tool.name),
        lines,
        pending: Pending::CallTool {
            id,
            tool: tool.name.clone(),
            args,
        },
        yes_focused: false,
    }
}

impl App {
    /// A key while the Tools tab's argument editor has focus. It is an
    /// editor: the `[editor]` keys apply (save sends the call, back leaves,
    /// help), every other key is typing (like vim's `h`).
    pub(super) fn tool_args_key(&mut self, k: KeyEvent) -> Vec<Command> {
        // While a call runs, its cancel key works from the editor too.
        let running = self
            .detail_mut()
            .is_some_and(|d| d.tools.call.as_ref().is_some_and(|c| c.ended.is_none()));
        if running && self.keymap.action(View::Detail, &k) == Some(Action::CancelCall) {
            return self.cancel_tool_call();
        }
        match self.keymap.action(View::Editor, &k) {
            Some(Action::Save | Action::CallTool) => return self.call_tool(),
            Some(Action::Back) => {
                if let Some(d) = self.detail_mut() {
                    d.tools.args = None;
                }
                return Vec::new();
            }
            Some(Action::Help) => {
                self.overlay = Some(Overlay::Help(Default::default()));
                return Vec::new();
            }
            _ => {}
        }
        if let Some(d) = self.detail_mut()
            && let Some(ta) = d.tools.args.as_mut()
        {
            ta.input(k);
        }
        Vec::new()
    }

    /// Open the argument editor for the selected tool.
    pub(super) fn open_tool_args(&mut self) {
        if let Some(d) = self.detail_mut()
            && d.tab == DetailTab::Tools
            && d.tools.args.is_none()
            && let Some(t) = d.tools.selected_tool()
        {
            let text = args_skeleton(&t.input_schema);
            let mut ta = tui_textarea::TextArea::new(text.lines().map(str::to_string).collect());
            ta.set_cursor_line_style(ratatui::style::Style::default());
            d.tools.args = Some(Box::new(ta));
        }
    }

    /// Check the arguments and call the selected tool (as a task).
    pub(super) fn call_tool(&mut self) -> Vec<Command> {
        let read_only = self.read_only();
        let Some(d) = self.detail_mut() else {
            return Vec::new();
        };
        if d.tab != DetailTab::Tools || d.tools.calling {
            return Vec::new();
        }
        let Some(tool) = d.tools.selected_tool().cloned() else {
            return Vec::new();
        };
        // Only from the open argument editor: one key, one meaning.
        let Some(text) = d.tools.args.as_ref().map(|ta| ta.lines().join("\n")) else {
            return Vec::new();
        };
        if read_only {
            d.tools.result = Some(Err(PlatformError::ReadOnly("calling a tool").into()));
            self.dirty = true;
            return Vec::new();
        }
        let args: serde_json::Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                d.tools.result = Some(Err(PaneError::NotJson {
                    line: e.line(),
                    column: e.column(),
                }));
                self.dirty = true;
                return Vec::new();
            }
        };
        if let Err(e) = crate::platform::tools::check_args(
            std::slice::from_ref(&tool),
            &tool.name,
            args.clone(),
        ) {
            d.tools.result = Some(Err(PaneError::NotSent(e.into())));
            self.dirty = true;
            return Vec::new();
        }
        let id = d.id;
        if tool.needs_confirmation() {
            let instance = self
                .projection
                .get(&id)
                .map_or_else(|| id.to_string(), |i| i.name.clone());
            self.overlay = Some(Overlay::Confirm(tool_confirm(id, &instance, &tool, args)));
            self.dirty = true;
            return Vec::new();
        }
        self.send_tool_call(id, tool.name, args)
    }

    /// Send a checked (and, where asked, confirmed) tool call as a task.
    pub(super) fn send_tool_call(
        &mut self,
        id: Uuid,
        tool: String,
        args: serde_json::Value,
    ) -> Vec<Command> {
        let Some(d) = self.detail_mut() else {
            return Vec::new();
        };
        if d.id != id || d.tools.calling {
            return Vec::new();
        }
        d.tools.calling = true;
        d.tools.result = None;
        d.tools.result_scroll = 0;
        let spec_timeout = self
            .projection
            .get(&id)
            .and_then(|i| i.json_spec.get("timeout_seconds"))
            .and_then(serde_json::Value::as_f64)
            .filter(|s| *s > 0.0 && *s <= crate::domain::spec::MAX_TIMEOUT_SECONDS);
        self.calls += 1;
        let n = self.calls;
        let timeout_secs = spec_timeout.unwrap_or(self.call_timeout_secs as f64);
        let now = self.now;
        if let Some(d) = self.detail_mut() {
            d.tools.call = Some(CallState {
                n,
                tool: tool.clone(),
                started: now,
                ended: None,
                progress: None,
                timeout_secs,
                cancelled: false,
            });
        }
        self.dirty = true;
        vec![Command::CallTool {
            id,
            tool,
            args,
            call: n,
        }]
    }

    /// Cancel the call in flight on the Tools tab (no confirmation: it
    /// stops work, it changes nothing the server has not been asked).
    pub(super) fn cancel_tool_call(&mut self) -> Vec<Command> {
        let Some(d) = self.detail_mut() else {
            return Vec::new();
        };
        let Some(c) = d
            .tools
            .call
            .as_mut()
            .filter(|c| c.ended.is_none() && !c.cancelled)
        else {
            return Vec::new();
        };
        c.cancelled = true;
        let n = c.n;
        self.dirty = true;
        vec![Command::CancelCall(n)]
    }

    /// Search the Tools tab's result for `text` (as typed): scroll to the
    /// first line holding it.
    pub(super) fn search_tool_result(&mut self, text: &str) {
        if let Some(d) = self.detail_mut() {
            d.tools.search = (!text.is_empty()).then(|| text.to_string());
            d.tools.find_from(0);
        }
    }
}
