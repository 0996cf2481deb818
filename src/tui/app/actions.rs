//! Keys and actions: what a key or a `:` command does on the current page.

use super::*;

impl App {
    /// Perform a keymap action in the current view (as if its key was
    /// pressed).
    pub fn action(&mut self, action: Action) -> Vec<Command> {
        let cmds = self.act(action);
        self.count_tasks(cmds)
    }

    pub(super) fn act(&mut self, action: Action) -> Vec<Command> {
        if self.refused_in_past(action) {
            return Vec::new();
        }
        if let Some(cmds) = self.surface_action(action) {
            return cmds;
        }
        if let Some(cmds) = self.history_action(action) {
            return cmds;
        }
        if let Some(cmds) = self.logs_action(action) {
            return cmds;
        }
        let page = self.page();
        if let Some(d) = self.detail_mut()
            && d.tab == DetailTab::Tools
        {
            let n = match &d.tools.list {
                Some(Ok(l)) => l.len(),
                _ => 0,
            };
            match action {
                Action::Up => {
                    d.tools.selected = d.tools.selected.saturating_sub(1);
                    return Vec::new();
                }
                Action::Down => {
                    d.tools.selected = (d.tools.selected + 1).min(n.saturating_sub(1));
                    return Vec::new();
                }
                Action::Open => {
                    self.open_tool_args();
                    return Vec::new();
                }
                Action::CancelCall => return self.cancel_tool_call(),
                Action::CallTool if d.tools.args.is_some() => return self.call_tool(),
                Action::CallTool => {
                    let open = self.keymap.keys_for(View::Detail, Action::Open).join("/");
                    let send = self.keymap.keys_for(View::Editor, Action::Save).join("/");
                    self.toast(
                        Level::Info,
                        format!(
                            "open the argument editor first ({open}); {send} there calls the tool"
                        ),
                    );
                    return Vec::new();
                }
                Action::Refresh => {
                    d.tools.list = None;
                    return vec![Command::LoadTools(d.id)];
                }
                // The result pane scrolls; up and down pick the tool.
                Action::PageUp | Action::PageDown => {
                    let step = usize::try_from(page).unwrap_or(1).max(1);
                    d.tools.result_scroll = if action == Action::PageUp {
                        d.tools.result_scroll.saturating_sub(step)
                    } else {
                        let last = d.tools.result_text().map_or(0, |t| t.lines().count());
                        (d.tools.result_scroll + step).min(last.saturating_sub(1))
                    };
                    return Vec::new();
                }
                Action::Filter if d.tools.result.is_some() => {
                    let before = d.tools.search.clone().unwrap_or_default();
                    self.overlay = Some(Overlay::Filter {
                        input: LineInput {
                            text: before.clone(),
                            candidates: Vec::new(),
                        },
                        before,
                    });
                    return Vec::new();
                }
                Action::NextMatch => {
                    let from = d.tools.result_scroll + 1;
                    if !d.tools.find_from(from) && d.tools.search.is_some() {
                        self.toast(Level::Info, "no line of the result matches");
                    }
                    return Vec::new();
                }
                _ => {}
            }
        }
        match action {
            // Both belong to the Tools tab (handled above).
            Action::CallTool | Action::NextMatch | Action::CancelCall => Vec::new(),
            // Only the elicitation form binds these.
            Action::Accept | Action::Decline => Vec::new(),
            // The Logs tab's (handled above).
            Action::PrevMatch | Action::Wrap | Action::LogLevel | Action::SetLogLevel => Vec::new(),
            // The Overview's and the Resources tab's (handled above).
            Action::Ping | Action::Subscribe | Action::SaveBlob => Vec::new(),
            // The History tab's (handled above).
            Action::Rerun => Vec::new(),
            // The editor handles these itself.
            Action::Undo | Action::Redo => Vec::new(),
            // Only the quit prompt binds these.
            Action::Detach | Action::StopAndQuit => Vec::new(),
            // Only the conflict screen, the confirmation, the `:` line, the
            // picker and the editor bind these.
            Action::ReloadTheirs
            | Action::Overwrite
            | Action::Merge
            | Action::Recreate
            | Action::Yes
            | Action::ScrollLeft
            | Action::ScrollRight
            | Action::Switch
            | Action::Choose
            | Action::Complete
            | Action::Restore
            | Action::Discard
            | Action::Choose1
            | Action::Choose2
            | Action::Choose3
            | Action::Choose4
            | Action::Choose5
            | Action::Choose6
            | Action::Choose7
            | Action::Choose8
            | Action::Choose9
            | Action::JumpToProblem => Vec::new(),
            Action::Quit => self.request_quit(),
            Action::Help => {
                self.overlay = Some(Overlay::Help(Default::default()));
                Vec::new()
            }
            Action::Command => {
                self.overlay = Some(Overlay::Command(LineInput::default()));
                Vec::new()
            }
            Action::Filter => {
                let before = match self.screen() {
                    Screen::Events => self.events.filter.source().to_string(),
                    Screen::Instances => self.instances.filter.source().to_string(),
                    _ => return Vec::new(),
                };
                self.overlay = Some(Overlay::Filter {
                    input: LineInput {
                        text: before.clone(),
                        ..LineInput::default()
                    },
                    before,
                });
                Vec::new()
            }
            Action::Back => {
                if self.screens.len() > 1 {
                    self.screens.pop();
                } else if matches!(self.screen(), Screen::Events) {
                    self.events_action(action);
                } else {
                    self.instances_action(action);
                }
                Vec::new()
            }
            Action::Up => {
                self.move_by(-1);
                Vec::new()
            }
            Action::Down => {
                self.move_by(1);
                Vec::new()
            }
            Action::PageUp => {
                self.move_by(-page);
                Vec::new()
            }
            Action::PageDown => {
                self.move_by(page);
                Vec::new()
            }
            Action::Top => {
                self.move_by(isize::MIN / 2);
                Vec::new()
            }
            Action::Bottom => {
                self.move_by(isize::MAX / 2);
                Vec::new()
            }
            Action::Open => match self.screen() {
                Screen::Instances => self.open_detail(),
                Screen::Events => {
                    self.open_raw_stream();
                    Vec::new()
                }
                Screen::Detail(_) => {
                    self.open_raw_detail();
                    Vec::new()
                }
                _ => Vec::new(),
            },
            Action::Raw => {
                match self.screen() {
                    Screen::Events => self.open_raw_stream(),
                    Screen::Detail(_) => self.open_raw_detail(),
                    _ => {}
                }
                Vec::new()
            }
            Action::Start => self.mutate(Mutation::Start),
            Action::Stop => self.mutate(Mutation::Stop),
            Action::Restart => self.mutate(Mutation::Restart),
            Action::Delete => self.mutate(Mutation::Delete),
            Action::Create | Action::Edit | Action::Save => {
                if self.read_only() {
                    self.toast(
                        Level::Error,
                        "read-only mode: creating and editing are not allowed",
                    );
                    return Vec::new();
                }
                match action {
                    Action::Create => {
                        self.screens
                            .push(Screen::Picker(TemplatePicker::for_profile(
                                self.profile.as_ref(),
                            )));
                        Vec::new()
                    }
                    Action::Edit => {
                        let id = match self.screen() {
                            Screen::Detail(d) => Some(d.id),
                            Screen::Instances => self.instances.selected_id,
                            _ => None,
                        };
                        match id {
                            Some(id) => {
                                vec![Command::FetchForEdit(id)]
                            }
                            None => {
                                self.toast(Level::Info, "no instance selected");
                                Vec::new()
                            }
                        }
                    }
                    _ => Vec::new(),
                }
            }
            // The table's own, whichever page is shown.
            Action::Mark | Action::MarkAll | Action::SortNext | Action::SortReverse => {
                self.instances_action(action);
                Vec::new()
            }
            Action::NextTab | Action::PrevTab => {
                if let Some(d) = self.detail_mut() {
                    let n = DetailTab::ALL.len();
                    let step = if action == Action::NextTab { 1 } else { n - 1 };
                    d.tab = DetailTab::ALL[(d.tab.index() + step) % n];
                    d.scroll = 0;
                    match d.tab {
                        DetailTab::Tools if d.tools.list.is_none() => {
                            return vec![Command::LoadTools(d.id)];
                        }
                        DetailTab::Logs if !d.logs.loading => {
                            d.logs.loading = true;
                            return vec![Command::LoadLogs {
                                id: d.id,
                                after: d.logs.next,
                            }];
                        }
                        DetailTab::Resources | DetailTab::Prompts => {
                            return self.surface_tab_entered();
                        }
                        DetailTab::History => return self.history_tab_entered(),
                        _ => {}
                    }
                }
                Vec::new()
            }
            Action::Follow => {
                if let Some(d) = self.detail_mut() {
                    d.tab = DetailTab::Events;
                    d.selected = d.events.len().saturating_sub(1);
                    return Vec::new();
                }
                if let Screen::Events = self.screen() {
                    self.events_action(action);
                }
                Vec::new()
            }
            Action::Refresh => self.reload(),
            Action::EventsView => {
                self.screens = vec![Screen::Events];
                self.events.follow_tail();
                Vec::new()
            }
            Action::InstancesView => {
                self.screens = vec![Screen::Instances];
                Vec::new()
            }
            Action::Copy => match (self.copy_text(), &self.clipboard_refusal) {
                (Some((what, _)), Some(why)) => {
                    let msg = format!("{what} not copied: {why}");
                    self.toast(Level::Error, msg);
                    Vec::new()
                }
                (Some((what, text)), None) => {
                    self.toast(Level::Ok, format!("copied {what}"));
                    vec![Command::Copy(text)]
                }
                (None, _) => Vec::new(),
            },
            Action::Dump => self.dump(crate::tui::dump::Format::Csv),
            Action::ReadStream => self.read_stream(),
            Action::StepBack => self.step(false),
            Action::StepForward => self.step(true),
            Action::ChangesSince => self.changes_since(),
            Action::Incident => self.incident(),
        }
    }

    /// Dump the view's rows (see [`super::dump`]).
    pub(super) fn dump(&mut self, format: crate::tui::dump::Format) -> Vec<Command> {
        use crate::tui::dump;
        let Some(table) = dump::table(self) else {
            self.toast(Level::Info, "this view has no rows to dump");
            return Vec::new();
        };
        let n = table.rows.len();
        vec![Command::Dump {
            file: dump::file_name(&table, format, self.now),
            contents: dump::render(&table, format),
            summary: format!(
                "{n} row{} ({}) as {}",
                if n == 1 { "" } else { "s" },
                table.what,
                format.extension().to_uppercase()
            ),
        }]
    }

    /// What `copy` takes in the current view: a label and the text.
    pub(super) fn copy_text(&self) -> Option<(String, String)> {
        match self.screen() {
            Screen::Instances => self
                .selected_instance()
                .map(|i| (format!("name {}", i.name), i.name.clone())),
            Screen::Detail(d) => {
                let i = self.projection.get(&d.id)?;
                match d.tab {
                    DetailTab::Spec => Some((
                        format!("json_spec of {}", i.name),
                        serde_json::to_string_pretty(&redact_plain_secrets(
                            &serde_json::Value::Object(i.json_spec.clone()),
                        ))
                        .unwrap_or_default(),
                    )),
                    DetailTab::Events => d
                        .events
                        .get(d.selected)
                        .map(|e| (format!("event {}", e.event_id), raw_envelope(e))),
                    _ => Some((format!("id of {}", i.name), i.id.to_string())),
                }
            }
            Screen::Events => {
                let rows = self.stream_rows();
                match rows
                    .get(self.events.selected)
                    .and_then(|i| self.events.stream.get(*i))?
                {
                    StreamItem::Event(e) => {
                        Some((format!("event {}", e.event_id), raw_envelope(e)))
                    }
                    StreamItem::Status(s) => Some((
                        format!("event {}", s.event_id),
                        raw_envelope(&s.to_envelope()),
                    )),
                    StreamItem::Malformed { raw, .. } => {
                        Some(("malformed payload".into(), raw.clone()))
                    }
                }
            }
            _ => None,
        }
    }

    /// Run a `:` command line (as if it was typed).
    pub fn run_command(&mut self, line: &str) -> Vec<Command> {
        let cmds = self.run_line(line);
        self.count_tasks(cmds)
    }

    pub(super) fn run_line(&mut self, line: &str) -> Vec<Command> {
        let mut words = line.split_whitespace();
        let Some(cmd) = words.next() else {
            return Vec::new();
        };
        let arg = words.next();
        match (cmd, arg) {
            ("q" | "quit" | "q!", None) => self.request_quit(),
            ("instances" | "inst" | "i", None) => self.act(Action::InstancesView),
            ("events" | "ev" | "e", None) => self.act(Action::EventsView),
            ("help", None) => self.act(Action::Help),
            ("read-stream", None) => self.read_stream(),
            ("dump", None) => self.dump(crate::tui::dump::Format::Csv),
            ("dump", Some(f)) => match crate::tui::dump::Format::from_name(f) {
                Some(format) => self.dump(format),
                None => {
                    self.toast(Level::Error, ":dump writes csv or json");
                    Vec::new()
                }
            },
            ("theme", Some(name)) => vec![Command::LoadTheme(name.to_string())],
            ("keymap", Some(name)) => vec![Command::LoadKeymap(name.to_string())],
            ("sort", Some(col)) => {
                let (name, reverse) = match col.strip_prefix('-') {
                    Some(n) => (n, true),
                    None => (col, false),
                };
                match Column::from_name(name) {
                    Some(c) => self.set_sort(c, reverse),
                    None => self.toast(
                        Level::Error,
                        format!(
                            "unknown column '{name}'; columns: {}",
                            Column::ALL.map(|c| c.title().to_lowercase()).join(", ")
                        ),
                    ),
                }
                Vec::new()
            }
            ("theme" | "keymap" | "sort", None) => {
                self.toast(Level::Error, format!(":{cmd} needs a name"));
                Vec::new()
            }
            ("ctx" | "context", None) => {
                self.list_contexts();
                Vec::new()
            }
            ("ctx" | "context", Some(_)) if self.travel.is_some() => {
                self.toast(Level::Error, "this is the past: :now first, then :ctx");
                Vec::new()
            }
            ("ctx" | "context", Some(name)) => self.switch_context(name),
            ("at", Some(time)) => self.open_moment(time),
            ("at", None) => {
                self.toast(
                    Level::Error,
                    format!(":at needs a time: {}", crate::domain::replay::TIME_FORMS),
                );
                Vec::new()
            }
            ("now", None) => self.back_to_now(),
            ("i", Some(name)) => self.jump_to(name),
            // `:NAME` jumps to the instance of that name, when there is one.
            (name, None)
                if self
                    .projection
                    .instances()
                    .any(|i| i.name == name || i.id.to_string() == name) =>
            {
                self.jump_to(name)
            }
            _ => {
                self.toast(
                    Level::Error,
                    format!(
                        "unknown command ':{}'; try :instances, :events, :NAME, :dump [csv|json], :ctx [NAME], :theme NAME, :keymap NAME, :sort COLUMN, :q (tab completes)",
                        crate::domain::text::shown(&line.chars().take(40).collect::<String>())
                    ),
                );
                Vec::new()
            }
        }
    }

    /// Quit, or ask first when instances run under this console: it hosts
    /// the runtime, and quitting would stop what nobody asked to stop.
    pub fn request_quit(&mut self) -> Vec<Command> {
        if let Some(prompt) = self.quit_prompt() {
            self.overlay = Some(Overlay::Quit(prompt));
            self.dirty = true;
            return Vec::new();
        }
        self.ending = Ending::Stop;
        self.quit = true;
        vec![Command::Quit]
    }

    /// The quit prompt when instances run under this console (it hosts
    /// the runtime and some are desired running).
    pub(super) fn quit_prompt(&self) -> Option<QuitPrompt> {
        let hosting = matches!(self.runtime_host, Some(RuntimeHost::ThisProcess { .. }));
        hosting
            .then(|| QuitPrompt::for_instances(self.projection.instances()))
            .flatten()
    }

    /// Whether instances run under this console, so quitting would stop them.
    pub fn runs_instances(&self) -> bool {
        self.quit_prompt().is_some()
    }

    pub(super) fn key(&mut self, k: KeyEvent) -> Vec<Command> {
        if let Some(ov) = self.overlay.take() {
            return self.overlay_key(ov, k);
        }
        match self.screens.last_mut() {
            Some(Screen::Picker(p)) => {
                return match p.handle_key(&self.keymap, k) {
                    PickerOutcome::None => Vec::new(),
                    PickerOutcome::Cancel => {
                        self.screens.pop();
                        Vec::new()
                    }
                    PickerOutcome::Chosen(t) => {
                        self.screens.pop();
                        let editor = Editor::create(t).with_create_rules(self.profile.as_ref());
                        self.open_editor(editor);
                        Vec::new()
                    }
                };
            }
            Some(Screen::Editor(_)) => return self.editor_key(k),
            Some(Screen::Detail(d)) if d.tab == DetailTab::Tools && d.tools.args.is_some() => {
                return self.tool_args_key(k);
            }
            Some(Screen::Detail(d)) if d.tab == DetailTab::Prompts && d.surface.form.is_some() => {
                return self.prompt_form_key(k);
            }
            _ => {}
        }
        // The pages' own keys first (the tables sit alone at the bottom of
        // the stack); the rest are the app's actions.
        let page = self.page();
        let handled = match self.screen() {
            Screen::Instances => {
                let out = self.instances.handle_key(&self.keymap, &k, page);
                self.instances_did(out) != InstancesOutcome::Unhandled
            }
            Screen::Events => {
                let out = self
                    .events
                    .handle_key(&self.keymap, &k, page, &self.projection);
                self.events_did(out) != EventsOutcome::Unhandled
            }
            _ => false,
        };
        if handled {
            return Vec::new();
        }
        let view = self.view();
        let Some(action) = self.keymap.action(view, &k) else {
            return Vec::new();
        };
        self.act(action)
    }

    pub(super) fn move_by(&mut self, delta: isize) {
        if self.surface_scroll(delta) {
            return;
        }
        match self.screens.last_mut() {
            Some(Screen::Instances) => self.instances.move_by(delta),
            Some(Screen::Events) => self.events.move_by(delta, &self.projection),
            Some(Screen::Detail(d)) => {
                if d.tab == DetailTab::Events {
                    let n = d.events.len();
                    if n > 0 {
                        d.selected = d.selected.saturating_add_signed(delta).min(n - 1);
                    }
                } else if d.tab == DetailTab::Tools {
                    // The wheel, top and bottom move the result pane.
                    let n = d.tools.result_text().map_or(0, |t| t.lines().count());
                    d.tools.result_scroll = d
                        .tools
                        .result_scroll
                        .saturating_add_signed(delta)
                        .min(n.saturating_sub(1));
                } else {
                    d.scroll = (d.scroll as isize + delta).clamp(0, u16::MAX as isize) as u16;
                }
            }
            _ => {}
        }
    }

    pub(super) fn page(&self) -> isize {
        let h = self.instances.geometry.rows.height;
        h.max(2) as isize - 1
    }

    /// Text pasted into the terminal: to whatever takes typing.
    pub(super) fn paste(&mut self, text: &str) {
        self.dirty = true;
        match self.screens.last_mut() {
            Some(Screen::Editor(s)) if s.conflict.is_none() => s.editor.paste(text),
            Some(Screen::Detail(d)) if d.tab == DetailTab::Prompts && d.surface.form.is_some() => {
                if let Some(f) = d.surface.form.as_mut() {
                    f.paste(text);
                }
            }
            _ => {
                if let Some(Overlay::Command(i)) = &mut self.overlay {
                    i.text.push_str(&text.replace(['\n', '\r'], " "));
                }
            }
        }
    }
}
