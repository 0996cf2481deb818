//! The overlays over any page: help, the `:` line, the filter line, a
//! confirmation, raw JSON, the drafts and quit prompts.

use super::*;

use super::pager::{PagerOutcome, TextPager};
use crate::tui::input::InputOutcome;
pub use crate::tui::input::LineInput;

/// What a confirmation would do.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    Delete(Vec<Uuid>),
    Stop(Vec<Uuid>),
    /// A tool not marked read-only, with the arguments already checked.
    CallTool {
        id: Uuid,
        tool: String,
        args: serde_json::Value,
    },
    Restart(Vec<Uuid>),
}

#[derive(Debug, Clone)]
pub struct Confirm {
    pub title: String,
    /// Names what will be affected.
    pub lines: Vec<String>,
    pub pending: Pending,
    /// Whether the "yes" button has focus (default: no).
    pub yes_focused: bool,
}

/// What a key did to a confirmation.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfirmOutcome {
    /// Still asking.
    None,
    /// Yes: do what is pending.
    Yes(Pending),
    /// No (or interrupted): nothing is done.
    No,
}

impl Confirm {
    /// A key, by the `[confirm]` keys; `interrupt` (ctrl-c) answers no.
    pub fn handle_key(&mut self, keymap: &Keymap, k: &KeyEvent) -> ConfirmOutcome {
        let answer = match keymap.action(View::Confirm, k) {
            Some(Action::Yes) => Some(true),
            Some(Action::Back) => Some(false),
            Some(Action::Choose) => Some(self.yes_focused),
            Some(Action::Switch) => {
                self.yes_focused = !self.yes_focused;
                None
            }
            _ => None,
        };
        match answer {
            None => ConfirmOutcome::None,
            Some(true) => ConfirmOutcome::Yes(self.pending.clone()),
            Some(false) => ConfirmOutcome::No,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help(TextPager),
    Command(LineInput),
    Filter {
        input: LineInput,
        before: String,
    },
    Confirm(Confirm),
    Raw {
        title: String,
        text: String,
        pager: TextPager,
    },
    Drafts(DraftPrompt),
    /// Quitting while instances run under this console.
    Quit(QuitPrompt),
    /// A server asks for input during a tool call.
    Elicit(Box<super::elicit::ElicitForm>),
}

/// Names for a confirmation: up to 5, then "and N more".
pub fn name_list(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = names.iter().take(5).map(|n| format!("  {n}")).collect();
    if names.len() > 5 {
        out.push(format!("  and {} more", names.len() - 5));
    }
    out
}

impl App {
    pub(super) fn overlay_key(&mut self, ov: Overlay, k: KeyEvent) -> Vec<Command> {
        match ov {
            Overlay::Help(mut p) => {
                if p.handle_key(&self.keymap, &k) != PagerOutcome::Close {
                    self.overlay = Some(Overlay::Help(p));
                }
                Vec::new()
            }
            Overlay::Raw {
                title,
                text,
                mut pager,
            } => {
                if pager.handle_key(&self.keymap, &k) != PagerOutcome::Close {
                    self.overlay = Some(Overlay::Raw { title, text, pager });
                }
                Vec::new()
            }
            Overlay::Drafts(mut p) => match p.handle_key(&self.keymap, k) {
                DraftPromptOutcome::None => {
                    self.overlay = Some(Overlay::Drafts(p));
                    Vec::new()
                }
                DraftPromptOutcome::Close => Vec::new(),
                DraftPromptOutcome::Discard(d) => {
                    if !p.drafts().is_empty() {
                        self.overlay = Some(Overlay::Drafts(p));
                    }
                    vec![Command::RemoveDraft(d.key)]
                }
                DraftPromptOutcome::Restore(d) => {
                    if self.read_only() {
                        self.toast(Level::Error, "read-only mode: the draft is kept for later");
                    } else {
                        self.open_editor(Editor::from_draft(&d));
                    }
                    Vec::new()
                }
            },
            Overlay::Elicit(mut f) => {
                if f.handle_key(&self.keymap, &k) == super::elicit::ElicitOutcome::None {
                    self.overlay = Some(Overlay::Elicit(f));
                } else {
                    self.show_next_elicitation();
                }
                Vec::new()
            }
            Overlay::Quit(p) => match p.handle_key(&self.keymap, &k) {
                QuitOutcome::None => {
                    self.overlay = Some(Overlay::Quit(p));
                    Vec::new()
                }
                QuitOutcome::Cancel => Vec::new(),
                QuitOutcome::Quit(ending) => {
                    self.ending = ending;
                    self.quit = true;
                    vec![Command::Quit]
                }
            },
            Overlay::Confirm(mut c) => {
                match c.handle_key(&self.keymap, &k) {
                    ConfirmOutcome::None => {
                        self.overlay = Some(Overlay::Confirm(c));
                        Vec::new()
                    }
                    ConfirmOutcome::No => Vec::new(),
                    ConfirmOutcome::Yes(pending) => match pending {
                        // No marks, no bulk: the one call, as confirmed.
                        Pending::CallTool { id, tool, args } => self.send_tool_call(id, tool, args),
                        Pending::Delete(ids) => {
                            self.instances.marked.clear();
                            if matches!(self.screen(), Screen::Detail(d) if ids.contains(&d.id)) {
                                self.screens.pop();
                            }
                            vec![Command::Delete(ids)]
                        }
                        Pending::Stop(ids) => {
                            self.instances.marked.clear();
                            vec![Command::Stop(ids)]
                        }
                        Pending::Restart(ids) => {
                            self.instances.marked.clear();
                            vec![Command::Restart(ids)]
                        }
                    },
                }
            }
            Overlay::Command(mut input) => match k.code {
                // Line editing, as in a shell: the keymap's complete (tab).
                _ if self.keymap.action(View::CommandLine, &k) == Some(Action::Complete) => {
                    let c = self.complete_line(input.text.trim_start());
                    input.text = c.text;
                    input.candidates = c.candidates;
                    self.overlay = Some(Overlay::Command(input));
                    Vec::new()
                }
                _ => match input.handle_key(&k) {
                    InputOutcome::Cancel | InputOutcome::Erased(false) => Vec::new(),
                    InputOutcome::Submit => self.run_line(input.text.trim()),
                    _ => {
                        self.overlay = Some(Overlay::Command(input));
                        Vec::new()
                    }
                },
            },
            Overlay::Filter { mut input, before } => {
                let events = matches!(self.screen(), Screen::Events);
                let tools = matches!(self.screen(), Screen::Detail(d) if d.tab == DetailTab::Tools);
                let surface = matches!(self.screen(), Screen::Detail(d) if matches!(d.tab, DetailTab::Resources | DetailTab::Prompts));
                let logs = matches!(self.screen(), Screen::Detail(d) if d.tab == DetailTab::Logs);
                let apply = |app: &mut App, t: &str| {
                    if logs {
                        app.search_logs(t);
                    } else if surface {
                        app.search_surface(t);
                    } else if tools {
                        app.search_tool_result(t);
                    } else if events {
                        app.set_stream_filter(t);
                    } else {
                        app.set_filter(t);
                    }
                };
                match input.handle_key(&k) {
                    InputOutcome::Cancel => {
                        apply(self, &before);
                        return Vec::new();
                    }
                    InputOutcome::Submit => return Vec::new(),
                    _ => {}
                }
                apply(self, &input.text);
                self.overlay = Some(Overlay::Filter { input, before });
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn stop_one() -> Confirm {
        Confirm {
            title: "stop filesystem?".into(),
            lines: name_list(&["filesystem".into()]),
            pending: Pending::Stop(vec![Uuid::nil()]),
            yes_focused: false,
        }
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn a_confirmation_answers_by_the_confirm_keys_and_enter_takes_the_focused_button() {
        let keys = Keymap::preset("default").expect("the default keymap");
        let mut c = stop_one();
        assert_eq!(
            c.handle_key(&keys, &key(KeyCode::Enter)),
            ConfirmOutcome::No
        );
        assert_eq!(
            c.handle_key(&keys, &key(KeyCode::Tab)),
            ConfirmOutcome::None
        );
        assert!(c.yes_focused);
        assert_eq!(
            c.handle_key(&keys, &key(KeyCode::Enter)),
            ConfirmOutcome::Yes(Pending::Stop(vec![Uuid::nil()]))
        );
        assert_eq!(
            c.handle_key(
                &keys,
                &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            ConfirmOutcome::No,
            "ctrl-c ([confirm] back) answers no"
        );
        assert_eq!(
            c.handle_key(&keys, &key(KeyCode::Char('x'))),
            ConfirmOutcome::None
        );
    }

    #[test]
    fn a_long_list_of_names_is_cut_after_five() {
        let names: Vec<String> = (0..7).map(|i| format!("n{i}")).collect();
        let l = name_list(&names);
        assert_eq!(l.len(), 6);
        assert_eq!(l[5], "  and 2 more");
    }
}
