//! The quit prompt: asked when the operator quits while instances run under
//! this console (it hosts the runtime). Quitting never stops what the
//! operator did not ask to stop: detach (a background host takes the
//! runtime over), stop them and quit, or cancel. Its keys are the keymap's
//! `[quit]` section.

use super::keymap::{Action, Keymap, View};
use super::theme::Theme;
use super::views::{centered, fit, inert};
use crate::domain::spec::ProviderKind;
use crate::domain::{DesiredState, Instance};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// How the console ends, for the process that hosts the runtime in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ending {
    /// Stop what this console runs (nothing asked to keep it).
    #[default]
    Stop,
    /// Keep the instances running under a background host.
    Detach,
}

impl Ending {
    /// From a config value (`ui.on_hangup`).
    pub fn from_name(s: &str) -> Option<Ending> {
        match s {
            "stop" => Some(Ending::Stop),
            "detach" => Some(Ending::Detach),
            _ => None,
        }
    }
}

/// What a key did to the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuitOutcome {
    /// Not a prompt key: it stays open.
    None,
    Quit(Ending),
    Cancel,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuitPrompt {
    /// The instances this console runs (desired running), by name.
    pub names: Vec<String>,
    /// How many of them are stdio servers (processes and containers),
    /// which cannot be handed over and are restarted by the new host.
    pub stdio: usize,
}

impl QuitPrompt {
    /// The prompt for quitting while `instances` are this console's to run;
    /// `None` when none is desired running (nothing would stop).
    pub fn for_instances<'a>(instances: impl Iterator<Item = &'a Instance>) -> Option<QuitPrompt> {
        let mut names = Vec::new();
        let mut stdio = 0;
        for i in instances.filter(|i| i.desired_state == DesiredState::Running) {
            names.push(i.name.clone());
            if i.kind() != ProviderKind::External {
                stdio += 1;
            }
        }
        names.sort();
        (!names.is_empty()).then_some(QuitPrompt { names, stdio })
    }

    pub fn handle_key(&self, keymap: &Keymap, k: &KeyEvent) -> QuitOutcome {
        match keymap.action(View::Quit, k) {
            Some(Action::Detach) => QuitOutcome::Quit(Ending::Detach),
            Some(Action::StopAndQuit) => QuitOutcome::Quit(Ending::Stop),
            Some(Action::Back) => QuitOutcome::Cancel,
            _ => QuitOutcome::None,
        }
    }

    fn title(&self) -> String {
        let n = self.names.len();
        if n == 1 {
            " Quit? 1 instance runs under this console ".to_string()
        } else {
            format!(" Quit? {n} instances run under this console ")
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme, keymap: &Keymap) {
        let t = theme;
        let keys = |a: Action| keymap.keys_for(View::Quit, a).join("/");
        let width: u16 = 66;
        let inner = usize::from(width.min(area.width).saturating_sub(4));
        let mut lines: Vec<Line> = Vec::new();
        for n in self.names.iter().take(5) {
            lines.push(Line::from(Span::styled(
                fit(&format!("  {}", inert(n)), inner),
                t.base,
            )));
        }
        if self.names.len() > 5 {
            lines.push(Line::from(Span::styled(
                format!("  and {} more", self.names.len() - 5),
                t.dim,
            )));
        }
        lines.push(Line::from(""));
        let key_w = [Action::Detach, Action::StopAndQuit, Action::Back]
            .iter()
            .map(|a| keys(*a).chars().count())
            .max()
            .unwrap_or(1)
            .max(1);
        let choice = |a: Action, what: &str| {
            Line::from(vec![
                Span::styled(format!(" {:<key_w$}  ", keys(a)), t.key),
                Span::styled(what.to_string(), t.base),
            ])
        };
        lines.push(choice(
            Action::Detach,
            "detach: they keep running under a background host",
        ));
        if self.stdio > 0 {
            let which = if self.stdio == 1 && self.names.len() == 1 {
                "its stdio server restarts".to_string()
            } else if self.stdio == self.names.len() {
                "stdio servers restart".to_string()
            } else {
                format!("{} stdio servers restart", self.stdio)
            };
            lines.push(Line::from(Span::styled(
                format!(" {:<key_w$}  ({which} under the new host)", ""),
                t.dim,
            )));
        }
        lines.push(choice(Action::StopAndQuit, "stop them and quit"));
        lines.push(choice(Action::Back, "cancel"));
        let h = (lines.len() as u16 + 2).min(area.height);
        let rect = centered(area, width, h);
        frame.render_widget(Clear, rect);
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(t.warning)
                    .title(Span::styled(self.title(), t.warning)),
            ),
            rect,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn prompt() -> QuitPrompt {
        QuitPrompt {
            names: vec!["alpha".into()],
            stdio: 1,
        }
    }

    #[test]
    fn the_keys_come_from_the_keymap_and_nothing_else_answers() {
        let km = Keymap::preset("default").unwrap();
        let p = prompt();
        assert_eq!(
            p.handle_key(&km, &key('d')),
            QuitOutcome::Quit(Ending::Detach)
        );
        assert_eq!(
            p.handle_key(&km, &KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            QuitOutcome::Quit(Ending::Detach)
        );
        assert_eq!(
            p.handle_key(&km, &key('s')),
            QuitOutcome::Quit(Ending::Stop)
        );
        assert_eq!(
            p.handle_key(&km, &KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
            QuitOutcome::Cancel
        );
        // Global keys do not reach into the prompt: q does not quit again.
        assert_eq!(p.handle_key(&km, &key('q')), QuitOutcome::None);
        assert_eq!(p.handle_key(&km, &key('x')), QuitOutcome::None);
    }

    #[test]
    fn a_user_keymap_rebinds_the_prompt() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keymap.toml"), "[quit]\ndetach = \"k\"\n").unwrap();
        let km = Keymap::load("default", Some(dir.path())).unwrap();
        let p = prompt();
        assert_eq!(
            p.handle_key(&km, &key('k')),
            QuitOutcome::Quit(Ending::Detach)
        );
        assert_eq!(p.handle_key(&km, &key('d')), QuitOutcome::None);
    }

    #[test]
    fn hangup_settings_name_an_ending() {
        assert_eq!(Ending::from_name("detach"), Some(Ending::Detach));
        assert_eq!(Ending::from_name("stop"), Some(Ending::Stop));
        assert_eq!(Ending::from_name("kill"), None);
    }
}
