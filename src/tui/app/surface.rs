//! The server's identity and ping on the Overview, and the Resources and
//! Prompts tabs: state, keys and answers. Every request is one
//! [`Command::Mcp`]; its answer comes back as [`Msg::Mcp`].

use super::detail::PaneError;
use super::{App, Command, DetailTab, Level, View};
use crate::platform::content as mcp;
use crate::platform::{McpOp, PlatformError};
use crate::tui::input::{InputOutcome, edit_line};
use crate::tui::keymap::Action;
use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// What the Overview, Resources and Prompts tabs show of the server.
#[derive(Debug, Clone, Default)]
pub struct SurfacePane {
    /// The initialize result (None until answered).
    pub identity: Option<Result<Value, PaneError>>,
    /// The instance's restart count when the identity was asked: a
    /// restart (a new session, maybe a new server version) asks again.
    identity_asked: Option<u32>,
    /// The last ping: when, and its latency in ms or why it failed.
    pub ping: Option<(DateTime<Utc>, Result<u64, PaneError>)>,
    pub pinging: bool,
    pub resources: Option<Result<Vec<Value>, PaneError>>,
    pub templates: Option<Result<Vec<Value>, PaneError>>,
    /// The selected resource (templates are listed, not selected).
    pub resource: usize,
    /// Update notices: URI → time of the last one.
    pub updated: BTreeMap<String, DateTime<Utc>>,
    /// When each resource was last read here.
    pub read_at: HashMap<String, DateTime<Utc>>,
    pub subscribed: BTreeSet<String>,
    polling: bool,
    /// The URI being read.
    pub reading: Option<String>,
    /// The last read: its URI and answer.
    pub read: Option<(String, Result<Value, PaneError>)>,
    pub resource_pager: Pager,
    pub prompts: Option<Result<Vec<Value>, PaneError>>,
    pub prompt: usize,
    /// The argument form, while open.
    pub form: Option<PromptForm>,
    pub getting: bool,
    /// The last get: the prompt's name and answer.
    pub got: Option<(String, Result<Value, PaneError>)>,
    pub prompt_pager: Pager,
    /// The tab was entered before the instance ran: load it once it does.
    waiting: bool,
}

/// A scrollable, searchable text pane.
#[derive(Debug, Clone, Default)]
pub struct Pager {
    /// The first line shown.
    pub scroll: usize,
    /// What `/` searches for.
    pub search: Option<String>,
}

impl Pager {
    /// Scroll to the first line at or after `from` (wrapping) that holds
    /// the search term; false when none does.
    fn find_from(&mut self, text: &str, from: usize) -> bool {
        let Some(term) = self.search.as_deref().filter(|t| !t.is_empty()) else {
            return false;
        };
        let term = term.to_lowercase();
        let lines: Vec<&str> = text.lines().collect();
        let n = lines.len();
        match (0..n)
            .map(|k| (from + k) % n.max(1))
            .find(|i| lines[*i].to_lowercase().contains(&term))
        {
            Some(i) => {
                self.scroll = i;
                true
            }
            None => false,
        }
    }
}

/// At most this many characters in one argument field.
const FIELD_CHARS: usize = 10_000;

/// A prompt's arguments being filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptForm {
    pub prompt: String,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// Why the last submit sent nothing.
    pub error: Option<PaneError>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
    pub value: String,
}

impl PromptForm {
    /// A form for `prompt` (its JSON from prompts/list).
    pub fn for_prompt(prompt: &Value) -> PromptForm {
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let fields = prompt
            .get("arguments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                Some(Field {
                    name: s(a, "name")?,
                    description: s(a, "description"),
                    required: a.get("required").and_then(Value::as_bool) == Some(true),
                    value: String::new(),
                })
            })
            .collect();
        PromptForm {
            prompt: s(prompt, "name").unwrap_or_default(),
            fields,
            focus: 0,
            error: None,
        }
    }

    /// Pasted text into the focused field (one line: line breaks become
    /// spaces), within the field's size limit.
    pub fn paste(&mut self, text: &str) {
        if let Some(f) = self.fields.get_mut(self.focus) {
            let room = FIELD_CHARS.saturating_sub(f.value.chars().count());
            f.value.extend(
                text.chars()
                    .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
                    .filter(|c| !c.is_control())
                    .take(room),
            );
        }
    }

    /// The arguments given (empty fields left out).
    pub fn arguments(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .filter(|f| !f.value.is_empty())
            .map(|f| (f.name.clone(), Value::String(f.value.clone())))
            .collect()
    }
}

impl SurfacePane {
    fn list(&self, tab: DetailTab) -> &[Value] {
        let l = match tab {
            DetailTab::Resources => &self.resources,
            _ => &self.prompts,
        };
        match l {
            Some(Ok(v)) => v,
            _ => &[],
        }
    }

    /// The selected resource's URI.
    pub fn selected_uri(&self) -> Option<&str> {
        self.list(DetailTab::Resources)
            .get(self.resource)?
            .get("uri")
            .and_then(Value::as_str)
    }

    /// Whether an update notice came for `uri` after it was last read.
    pub fn is_updated(&self, uri: &str) -> bool {
        self.updated
            .get(uri)
            .is_some_and(|t| self.read_at.get(uri).is_none_or(|r| t > r))
    }

    /// The pager's text on `tab`: the answer as text, or why not.
    pub fn pager_text(&self, tab: DetailTab) -> Option<String> {
        match tab {
            DetailTab::Resources => self.read.as_ref().map(|(_, r)| match r {
                Ok(v) => mcp::read_text(v),
                Err(e) => e.to_string(),
            }),
            DetailTab::Prompts => self.got.as_ref().map(|(_, r)| match r {
                Ok(v) => mcp::messages_text(v),
                Err(e) => e.to_string(),
            }),
            _ => None,
        }
    }

    fn pager(&mut self, tab: DetailTab) -> &mut Pager {
        match tab {
            DetailTab::Resources => &mut self.resource_pager,
            _ => &mut self.prompt_pager,
        }
    }
}

/// Whether the answer to `op` ends something the user is waiting for
/// (counted in flight for the spinner).
pub(super) fn waited_for(op: &McpOp) -> bool {
    matches!(
        op,
        McpOp::Ping | McpOp::Read { .. } | McpOp::GetPrompt { .. }
    )
}

fn items(v: Value, key: &str) -> Result<Vec<Value>, PaneError> {
    if v.get("truncated").and_then(Value::as_bool) == Some(true) {
        return Err(PaneError::TooLarge(
            v.get("message")
                .and_then(Value::as_str)
                .unwrap_or("the answer was too large to show")
                .to_string(),
        ));
    }
    Ok(v.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

fn updated_map(v: &Value) -> BTreeMap<String, DateTime<Utc>> {
    v.get("updated")
        .and_then(|u| serde_json::from_value(u.clone()).ok())
        .unwrap_or_default()
}

/// A file name for a saved binary resource: the instance, the URI's last
/// part and the time, with an extension from the MIME type.
fn blob_file(instance: &str, uri: &str, mime: &str, now: DateTime<Utc>) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(60)
            .collect()
    };
    let last = uri
        .trim_end_matches('/')
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("resource");
    let ext = match mime {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "application/pdf" => "pdf",
        "application/json" => "json",
        "application/zip" => "zip",
        _ => "bin",
    };
    format!(
        "resource-{}-{}-{}.{ext}",
        clean(instance),
        clean(last),
        now.format("%Y%m%d-%H%M%S")
    )
}

impl App {
    /// Whether the instance runs (so its server can be asked without
    /// starting a process just for that), else its status.
    fn server_status(&self, id: Uuid) -> Result<(), crate::domain::Status> {
        use crate::domain::Status;
        match self.projection.get(&id).map(|i| i.status) {
            Some(Status::Running | Status::Unhealthy) => Ok(()),
            Some(s) => Err(s),
            None => Err(Status::Stopped),
        }
    }

    fn server_runs(&self, id: Uuid) -> bool {
        self.server_status(id).is_ok()
    }

    /// A tab was entered: load what it shows the first time.
    pub(super) fn surface_tab_entered(&mut self) -> Vec<Command> {
        let start = self.keymap.keys_for(View::Detail, Action::Start).join("/");
        let refresh = self
            .keymap
            .keys_for(View::Detail, Action::Refresh)
            .join("/");
        let Some(id) = self.detail_mut().map(|d| d.id) else {
            return Vec::new();
        };
        let status = self.server_status(id);
        let Some(d) = self.detail_mut() else {
            return Vec::new();
        };
        if let Err(status) = status
            && matches!(d.tab, DetailTab::Resources | DetailTab::Prompts)
        {
            // Never a process started just to list: the tab loads once
            // the instance runs, and says so meanwhile.
            d.surface.waiting = true;
            let why = match status {
                crate::domain::Status::Starting | crate::domain::Status::Pending => {
                    PaneError::Starting(status)
                }
                _ => PaneError::NotRunning {
                    status,
                    start,
                    refresh,
                },
            };
            if d.tab == DetailTab::Resources {
                d.surface.resources = Some(Err(why));
            } else {
                d.surface.prompts = Some(Err(why));
            }
            return Vec::new();
        }
        match d.tab {
            DetailTab::Resources if d.surface.resources.is_none() => vec![
                Command::Mcp {
                    id,
                    op: McpOp::Resources,
                },
                Command::Mcp {
                    id,
                    op: McpOp::Templates,
                },
            ],
            DetailTab::Prompts if d.surface.prompts.is_none() => vec![Command::Mcp {
                id,
                op: McpOp::Prompts,
            }],
            _ => Vec::new(),
        }
    }

    /// Once a second: the Overview asks for the identity once; the
    /// Resources tab reads update notices while something is subscribed.
    pub(super) fn surface_tick(&mut self) -> Vec<Command> {
        let id = self.detail_mut().map(|d| d.id);
        let runs = id.is_some_and(|id| self.server_runs(id));
        let restarts = id
            .and_then(|id| self.projection.get(&id))
            .map(|i| i.restarts);
        let Some(d) = self.detail_mut() else {
            return Vec::new();
        };
        let id = d.id;
        if runs && d.surface.waiting && matches!(d.tab, DetailTab::Resources | DetailTab::Prompts) {
            d.surface.waiting = false;
            d.surface.resources = None;
            d.surface.templates = None;
            d.surface.prompts = None;
            return self.surface_tab_entered();
        }
        let one = match d.tab {
            // Asked once it runs (a stopped server is not started for
            // it), and again after a restart.
            DetailTab::Overview if runs && d.surface.identity_asked != restarts => {
                d.surface.identity_asked = restarts;
                Some(Command::Mcp {
                    id,
                    op: McpOp::Identity,
                })
            }
            DetailTab::Resources if !d.surface.subscribed.is_empty() && !d.surface.polling => {
                d.surface.polling = true;
                Some(Command::Mcp {
                    id,
                    op: McpOp::Updated,
                })
            }
            _ => None,
        };
        one.into_iter().collect()
    }

    /// A key action on the Overview (ping) or the Resources and Prompts
    /// tabs; `None` when it is not theirs.
    pub(super) fn surface_action(&mut self, action: Action) -> Option<Vec<Command>> {
        let page = usize::try_from(self.page()).unwrap_or(1).max(1);
        let d = self.detail_mut()?;
        let id = d.id;
        let tab = d.tab;
        let s = &mut d.surface;
        match (tab, action) {
            (DetailTab::Overview, Action::Ping) => {
                if s.pinging {
                    return Some(Vec::new());
                }
                s.pinging = true;
                let mut cmds = vec![Command::Mcp {
                    id,
                    op: McpOp::Ping,
                }];
                // An identity not read yet (the server was still starting)
                // is asked again with the ping.
                if !matches!(s.identity, Some(Ok(_))) {
                    cmds.push(Command::Mcp {
                        id,
                        op: McpOp::Identity,
                    });
                }
                return Some(cmds);
            }
            (DetailTab::Resources | DetailTab::Prompts, _) => {}
            _ => return None,
        }
        let n = s.list(tab).len();
        let text = s.pager_text(tab);
        let selected = if tab == DetailTab::Resources {
            &mut s.resource
        } else {
            &mut s.prompt
        };
        match action {
            Action::Up => *selected = selected.saturating_sub(1),
            Action::Down => *selected = (*selected + 1).min(n.saturating_sub(1)),
            Action::PageUp | Action::PageDown => {
                let last = text.as_deref().map_or(0, |t| t.lines().count());
                let p = s.pager(tab);
                p.scroll = if action == Action::PageUp {
                    p.scroll.saturating_sub(page)
                } else {
                    (p.scroll + page).min(last.saturating_sub(1))
                };
            }
            Action::Top => s.pager(tab).scroll = 0,
            Action::Bottom => {
                let last = text.as_deref().map_or(0, |t| t.lines().count());
                s.pager(tab).scroll = last.saturating_sub(1);
            }
            Action::Refresh => {
                if tab == DetailTab::Resources {
                    s.resources = None;
                    s.templates = None;
                } else {
                    s.prompts = None;
                }
                return Some(self.surface_tab_entered());
            }
            Action::Filter if text.is_some() => {
                let before = s.pager(tab).search.clone().unwrap_or_default();
                self.overlay = Some(super::Overlay::Filter {
                    input: super::LineInput {
                        text: before.clone(),
                        candidates: Vec::new(),
                    },
                    before,
                });
            }
            Action::NextMatch => {
                let Some(text) = text else {
                    return Some(Vec::new());
                };
                let p = s.pager(tab);
                let from = p.scroll + 1;
                if !p.find_from(&text, from) && p.search.is_some() {
                    self.toast(Level::Info, "no line matches");
                }
            }
            Action::Open if tab == DetailTab::Resources => return Some(self.read_selected()),
            Action::Open => return Some(self.open_prompt_form()),
            Action::Subscribe if tab == DetailTab::Resources => {
                let Some(uri) = s.selected_uri().map(str::to_string) else {
                    self.toast(Level::Info, "no resource is selected");
                    return Some(Vec::new());
                };
                return Some(vec![Command::Mcp {
                    id,
                    op: McpOp::Subscribe { uri },
                }]);
            }
            Action::SaveBlob if tab == DetailTab::Resources => return Some(self.save_blob()),
            _ => return None,
        }
        Some(Vec::new())
    }

    /// Read (or re-read) the selected resource.
    fn read_selected(&mut self) -> Vec<Command> {
        let Some(d) = self.detail_mut() else {
            return Vec::new();
        };
        let id = d.id;
        let s = &mut d.surface;
        if s.reading.is_some() {
            return Vec::new();
        }
        let Some(uri) = s.selected_uri().map(str::to_string) else {
            self.toast(Level::Info, "no resource to read");
            return Vec::new();
        };
        s.reading = Some(uri.clone());
        vec![Command::Mcp {
            id,
            op: McpOp::Read { uri },
        }]
    }

    /// Write the read resource's binary contents to the dumps folder.
    fn save_blob(&mut self) -> Vec<Command> {
        let now = self.now;
        let name = self
            .detail_mut()
            .map(|d| d.id)
            .and_then(|id| self.projection.get(&id).map(|i| i.name.clone()));
        let Some(d) = self.detail_mut() else {
            return Vec::new();
        };
        let blob = match &d.surface.read {
            Some((uri, Ok(v))) => mcp::read_blobs(v)
                .into_iter()
                .next()
                .map(|(mime, bytes)| (uri.clone(), mime, bytes)),
            _ => None,
        };
        let Some((uri, mime, bytes)) = blob else {
            self.toast(
                Level::Info,
                "the resource read has no binary contents to save (text shows as it is)",
            );
            return Vec::new();
        };
        let instance = name.unwrap_or_else(|| "instance".into());
        vec![Command::SaveBytes {
            file: blob_file(&instance, &uri, &mime, now),
            summary: format!(
                "{} ({mime}) of {uri}",
                crate::platform::content::size(bytes.len() as u64)
            ),
            bytes,
        }]
    }

    /// Open the argument form of the selected prompt (a prompt without
    /// arguments is got at once).
    fn open_prompt_form(&mut self) -> Vec<Command> {
        let Some(d) = self.detail_mut() else {
            return Vec::new();
        };
        if d.surface.getting {
            return Vec::new();
        }
        let Some(p) = d.surface.list(DetailTab::Prompts).get(d.surface.prompt) else {
            self.toast(Level::Info, "no prompt to get");
            return Vec::new();
        };
        let form = PromptForm::for_prompt(p);
        let none = form.fields.is_empty();
        d.surface.form = Some(form);
        if none {
            return self.submit_prompt_form();
        }
        Vec::new()
    }

    /// Check the form against the prompt's argument list; send it, or say
    /// in one sentence why nothing was sent.
    fn submit_prompt_form(&mut self) -> Vec<Command> {
        let Some(d) = self.detail_mut() else {
            return Vec::new();
        };
        let id = d.id;
        let s = &mut d.surface;
        let Some(form) = s.form.as_mut() else {
            return Vec::new();
        };
        let args = form.arguments();
        let list = match &s.prompts {
            Some(Ok(l)) => l.as_slice(),
            _ => &[],
        };
        if let Err(e) = mcp::check_prompt_args(list, &form.prompt, &args) {
            form.error = Some(PaneError::NotSent(e));
            return Vec::new();
        }
        let name = form.prompt.clone();
        s.form = None;
        s.getting = true;
        vec![Command::Mcp {
            id,
            op: McpOp::GetPrompt {
                name,
                arguments: args,
            },
        }]
    }

    /// A key while the prompt form is open: the `[editor]` keys apply
    /// (save sends, back closes, help); up/down/tab move between fields;
    /// everything else is typing.
    pub(super) fn prompt_form_key(&mut self, k: KeyEvent) -> Vec<Command> {
        match self.keymap.action(View::Editor, &k) {
            Some(Action::Save | Action::CallTool) => return self.submit_prompt_form(),
            Some(Action::Back) => {
                if let Some(d) = self.detail_mut() {
                    d.surface.form = None;
                }
                return Vec::new();
            }
            Some(Action::Help) => {
                self.overlay = Some(super::Overlay::Help(Default::default()));
                return Vec::new();
            }
            _ => {}
        }
        let Some(form) = self.detail_mut().and_then(|d| d.surface.form.as_mut()) else {
            return Vec::new();
        };
        let n = form.fields.len().max(1);
        let Some(f) = form.fields.get_mut(form.focus) else {
            return Vec::new();
        };
        match edit_line(&mut f.value, &k, FIELD_CHARS) {
            InputOutcome::Next | InputOutcome::Submit => form.focus = (form.focus + 1) % n,
            InputOutcome::Prev => form.focus = (form.focus + n - 1) % n,
            _ => {}
        }
        Vec::new()
    }

    /// The wheel on the Resources or Prompts tab scrolls its pager; false
    /// on other tabs.
    pub(super) fn surface_scroll(&mut self, delta: isize) -> bool {
        let Some(d) = self.detail_mut() else {
            return false;
        };
        let tab = d.tab;
        if !matches!(tab, DetailTab::Resources | DetailTab::Prompts) {
            return false;
        }
        let n = d.surface.pager_text(tab).map_or(0, |t| t.lines().count());
        let p = d.surface.pager(tab);
        p.scroll = p
            .scroll
            .saturating_add_signed(delta)
            .min(n.saturating_sub(1));
        true
    }

    /// The `/` line's text, applied to the current tab's pager.
    pub(super) fn search_surface(&mut self, term: &str) {
        let Some(d) = self.detail_mut() else { return };
        let tab = d.tab;
        let text = d.surface.pager_text(tab).unwrap_or_default();
        let p = d.surface.pager(tab);
        p.search = (!term.is_empty()).then(|| term.to_string());
        p.find_from(&text, 0);
    }

    /// An answer to a [`Command::Mcp`].
    pub(super) fn surface_answer(
        &mut self,
        id: Uuid,
        op: McpOp,
        result: Result<Value, PlatformError>,
    ) -> Vec<Command> {
        self.dirty = true;
        let now = self.now;
        let Some(d) = self.details_of(id).last() else {
            return Vec::new();
        };
        let s = &mut d.surface;
        let result = result.map_err(PaneError::from);
        match op {
            McpOp::Identity => s.identity = Some(result),
            McpOp::Ping => {
                s.pinging = false;
                s.ping = Some((
                    now,
                    result.map(|v| v.get("latency_ms").and_then(Value::as_u64).unwrap_or(0)),
                ));
            }
            McpOp::Resources => {
                if let Ok(v) = &result {
                    s.updated.extend(updated_map(v));
                }
                s.resources = Some(result.and_then(|v| items(v, "resources")));
                let n = s.list(DetailTab::Resources).len();
                s.resource = s.resource.min(n.saturating_sub(1));
            }
            McpOp::Templates => {
                s.templates = Some(result.and_then(|v| items(v, "resourceTemplates")));
            }
            McpOp::Updated => {
                s.polling = false;
                if let Ok(v) = &result {
                    s.updated.extend(updated_map(v));
                }
            }
            McpOp::Read { uri } => {
                s.reading = None;
                s.read_at.insert(uri.clone(), now.max(Utc::now()));
                s.read = Some((uri, result));
                s.resource_pager.scroll = 0;
                let text = s.pager_text(DetailTab::Resources).unwrap_or_default();
                s.resource_pager.find_from(&text, 0);
            }
            McpOp::Subscribe { uri } => match result {
                Ok(_) => {
                    s.subscribed.insert(uri.clone());
                    let key = self.keymap.keys_for(View::Detail, Action::Open).join("/");
                    self.toast(
                        Level::Info,
                        format!("subscribed to {uri}; an update marks it ●, {key} reads it again"),
                    );
                }
                Err(e) => self.toast(Level::Error, format!("cannot subscribe to {uri}: {e}")),
            },
            McpOp::Prompts => {
                s.prompts = Some(result.and_then(|v| items(v, "prompts")));
                let n = s.list(DetailTab::Prompts).len();
                s.prompt = s.prompt.min(n.saturating_sub(1));
            }
            McpOp::GetPrompt { name, .. } => {
                s.getting = false;
                s.got = Some((name, result));
                s.prompt_pager.scroll = 0;
            }
            McpOp::SetLevel { level } => self.server_level_set(id, level, result.map(|_| ())),
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_form_gives_only_the_filled_fields_and_knows_what_is_required() {
        let mut f = PromptForm::for_prompt(&json!({"name": "args-prompt", "arguments": [
            {"name": "city", "description": "Name of the city", "required": true},
            {"name": "state"}
        ]}));
        assert_eq!(f.fields.len(), 2);
        assert!(f.fields[0].required && !f.fields[1].required);
        assert_eq!(f.arguments(), Map::new());
        f.paste("Lis\nbon\u{1b}");
        assert_eq!(f.fields[0].value, "Lis bon");
        f.fields[0].value = "Lisbon".into();
        assert_eq!(
            f.arguments(),
            json!({"city": "Lisbon"}).as_object().cloned().unwrap()
        );
    }

    #[test]
    fn a_saved_blob_is_named_by_instance_uri_and_type() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            blob_file(
                "everything",
                "demo://resource/dynamic/blob/1",
                "image/png",
                now
            ),
            "resource-everything-1-20260102-030405.png"
        );
        assert_eq!(
            blob_file("a b", "x:../../etc", "application/x-what", now),
            "resource-a_b-etc-20260102-030405.bin"
        );
    }
}
