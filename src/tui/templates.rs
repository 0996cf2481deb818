//! The template picker for `n` (create): a starting json_spec per provider
//! kind, then the runtime's catalog of well-known MCP servers
//! (`runtime::catalog`). Secrets are `secret_ref:NAME` placeholders, so every
//! template is valid as chosen.

use crate::domain::spec::ProviderKind;
use crate::tui::keymap::{Action, Keymap, View};
use crate::tui::theme::Theme;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Clear, List, ListItem, ListState, Padding, Paragraph, Wrap,
};

/// One starting point for a new instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Stable id (drafts record it).
    pub id: &'static str,
    pub title: &'static str,
    pub description: String,
    pub kind: ProviderKind,
    /// The json_spec text the editor opens with.
    pub text: String,
}

/// The generic starting points: (id, title, description, kind, text).
const GENERIC: [(&str, &str, &str, ProviderKind, &str); 3] = [
    (
        "external",
        "External endpoint",
        "An MCP server already running somewhere, reached over HTTP. Put the whole header value in the secret store (`aacon secrets set EXAMPLE_TOKEN`, then type `Bearer <token>`) and keep the reference here.",
        ProviderKind::External,
        r#"{
  "endpoint_url": "https://mcp.example.com/mcp",
  "headers": {
    "Authorization": "secret_ref:EXAMPLE_TOKEN"
  }
}
"#,
    ),
    (
        "stdio",
        "Stdio command",
        "A local MCP server the embedded runtime starts as a child process and speaks to over stdin/stdout.",
        ProviderKind::Process,
        r#"{
  "command": ["npx", "-y", "@modelcontextprotocol/server-everything"],
  "args": [],
  "env_vars": {
    "EXAMPLE_API_KEY": "secret_ref:EXAMPLE_API_KEY"
  }
}
"#,
    ),
    (
        "container",
        "Container",
        "An MCP server image run through the container CLI (AgentArea's docker dialect).",
        ProviderKind::Container,
        r#"{
  "type": "docker",
  "image": "mcp/filesystem",
  "port": 8000,
  "environment": {
    "API_KEY": "secret_ref:FILESYSTEM_API_KEY"
  }
}
"#,
    ),
];

static ALL: std::sync::LazyLock<Vec<Template>> = std::sync::LazyLock::new(|| {
    let generic = GENERIC
        .iter()
        .map(|(id, title, description, kind, text)| Template {
            id,
            title,
            description: description.to_string(),
            kind: *kind,
            text: text.to_string(),
        });
    let catalog = crate::domain::catalog::templates().into_iter().map(|t| {
        let needs = if t.required_env.is_empty() {
            String::new()
        } else {
            format!(" Needs: {}.", t.required_env.join(", "))
        };
        Template {
            id: t.name,
            title: t.title,
            description: format!("{}{needs}", t.description),
            kind: crate::domain::spec::ProviderKind::Process,
            text: serde_json::to_string_pretty(&t.json_spec).unwrap_or_default() + "\n",
        }
    });
    generic.chain(catalog).collect()
});

/// Every template, in picker order: the generic ones, then the catalog.
pub fn all() -> &'static [Template] {
    &ALL
}

impl Template {
    pub fn by_id(id: &str) -> Option<&'static Template> {
        all().iter().find(|t| t.id == id)
    }
}

/// What a key did to the picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerOutcome {
    None,
    Chosen(&'static Template),
    Cancel,
}

/// A list of templates with a description and a preview of the selected one.
#[derive(Debug, Clone, Default)]
pub struct TemplatePicker {
    state: ListState,
    /// The templates offered (indices into [`all`]); `None`: every one.
    only: Option<Vec<usize>>,
    /// Why some templates are not offered.
    note: Option<String>,
}

impl TemplatePicker {
    pub fn new() -> Self {
        Self {
            state: ListState::default().with_selected(Some(0)),
            only: None,
            note: None,
        }
    }

    /// The templates the backend can create, and why the others are missing.
    pub fn for_profile(profile: Option<&crate::platform::BackendProfile>) -> Self {
        let mut p = Self::new();
        let Some(profile) = profile else {
            return p;
        };
        let offered: Vec<usize> = all()
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                profile.can_create(t.kind)
                    && serde_json::from_str::<serde_json::Value>(&t.text)
                        .is_ok_and(|v| profile.create_issues(&v).is_empty())
            })
            .map(|(i, _)| i)
            .collect();
        // Never an empty picker: with nothing creatable, every template shows
        // and the note says the backend will refuse them.
        if !offered.is_empty() && offered.len() < all().len() {
            p.only = Some(offered);
        }
        p.note = profile.why_not_creatable();
        p
    }

    /// The templates offered, in order.
    pub fn offered(&self) -> Vec<&'static Template> {
        match &self.only {
            None => all().iter().collect(),
            Some(ix) => ix.iter().filter_map(|i| all().get(*i)).collect(),
        }
    }

    /// Why some templates are not offered.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    fn len(&self) -> usize {
        self.only.as_ref().map_or(all().len(), Vec::len)
    }

    pub fn selected(&self) -> &'static Template {
        // `select` keeps the index within the list, which is never empty.
        let i = self.state.selected().unwrap_or(0).min(self.len() - 1);
        match &self.only {
            None => &all()[i],
            Some(ix) => &all()[ix[i]],
        }
    }

    fn select(&mut self, i: usize) {
        self.state.select(Some(i.min(self.len() - 1)));
    }

    /// The keymap's `[picker]` keys move, choose (also by number:
    /// `choose_1`..`choose_9`) and cancel.
    pub fn handle_key(&mut self, keymap: &Keymap, key: KeyEvent) -> PickerOutcome {
        let i = self.state.selected().unwrap_or(0);
        let n = self.len();
        match keymap.action(View::Picker, &key) {
            Some(Action::Up) => self.select((i + n - 1) % n),
            Some(Action::Down) => self.select((i + 1) % n),
            Some(Action::Top) => self.select(0),
            Some(Action::Bottom) => self.select(n - 1),
            Some(Action::Choose) => return PickerOutcome::Chosen(self.selected()),
            Some(Action::Back) => return PickerOutcome::Cancel,
            Some(a) => {
                if let Some(number) = a.number()
                    && number <= n
                {
                    self.select(number - 1);
                    return PickerOutcome::Chosen(self.selected());
                }
            }
            None => {}
        }
        PickerOutcome::None
    }

    /// Draw the picker over `area` (it clears what is beneath).
    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme, keymap: &Keymap) {
        // The first key of an action, for the hint line.
        let key = |a: Action| keymap.first_key(View::Picker, a);
        frame.render_widget(Clear, area);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border_focus)
            .title(Span::styled(" New instance: pick a template ", theme.title))
            .style(theme.base);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if inner.width == 0 || inner.height == 0 {
            return;
        }
        let note_h = if self.note.is_some() { 2 } else { 0 };
        let [body, note, hint] = Layout::vertical([
            Constraint::Min(0),
            Constraint::Length(note_h),
            Constraint::Length(1),
        ])
        .areas(inner);
        if let Some(n) = &self.note {
            frame.render_widget(
                Paragraph::new(Span::styled(n.as_str(), theme.warning)).wrap(Wrap { trim: true }),
                note,
            );
        }
        let offered = self.offered();
        let wide = body.width >= 70;
        let parts = if wide {
            Layout::default()
                .direction(Direction::Horizontal)
                .constraints([Constraint::Length(34), Constraint::Min(0)])
                .split(body)
        } else {
            Layout::default()
                .direction(Direction::Vertical)
                .constraints([
                    Constraint::Length((offered.len() as u16 * 2).min(body.height / 2)),
                    Constraint::Min(0),
                ])
                .split(body)
        };
        let items: Vec<ListItem> = offered
            .iter()
            .enumerate()
            .map(|(i, t)| {
                ListItem::new(vec![
                    Line::from(vec![
                        Span::styled(format!("{} ", i + 1), theme.key),
                        Span::raw(t.title),
                    ]),
                    Line::from(Span::styled(format!("  {}", t.kind), theme.dim)),
                ])
            })
            .collect();
        let list = List::new(items)
            .highlight_style(theme.selected)
            .highlight_symbol("▶ ");
        let mut state = self.state.clone();
        frame.render_stateful_widget(list, parts[0], &mut state);

        let t = self.selected();
        let mut lines = vec![
            Line::from(Span::styled(t.description.as_str(), theme.base)),
            Line::from(""),
        ];
        lines.extend(
            t.text
                .lines()
                .map(|l| Line::from(Span::styled(l, theme.dim))),
        );
        let preview = Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(if wide { Borders::LEFT } else { Borders::TOP })
                .border_style(theme.border)
                .padding(Padding::left(1)),
        );
        frame.render_widget(preview, parts[1]);
        let hint_line = Line::from(vec![
            Span::styled(key(Action::Choose), theme.key),
            Span::styled(" choose  ", theme.dim),
            Span::styled(
                keymap.motion_keys(View::Picker, &[Action::Up, Action::Down]),
                theme.key,
            ),
            Span::styled(" move  ", theme.dim),
            Span::styled(key(Action::Back), theme.key),
            Span::styled(" cancel", theme.dim),
        ]);
        frame.render_widget(Paragraph::new(hint_line), hint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::spec;
    use crossterm::event::{KeyCode, KeyModifiers};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn km() -> Keymap {
        Keymap::preset("default").unwrap()
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn every_template_is_valid_and_of_its_kind() {
        for t in all() {
            let v: serde_json::Value = serde_json::from_str(&t.text).unwrap();
            let r = spec::validate(&v);
            assert!(r.is_valid(), "{}: {:?}", t.id, r.issues);
            assert!(
                !r.issues
                    .iter()
                    .any(|i| i.severity == spec::Severity::Warning),
                "{}: {:?}",
                t.id,
                r.issues
            );
            assert_eq!(r.kind, Some(t.kind), "{}", t.id);
            let generic = GENERIC.iter().any(|g| g.0 == t.id);
            let needs_env = t.description.contains("Needs:");
            if generic || needs_env {
                assert!(
                    t.text.contains(spec::SECRET_REF_PREFIX),
                    "{} shows how to reference a secret",
                    t.id
                );
            }
            assert_eq!(Template::by_id(t.id), Some(t));
        }
    }

    #[test]
    fn keys_move_choose_and_cancel() {
        let mut p = TemplatePicker::new();
        assert_eq!(p.selected().id, "external");
        assert_eq!(p.handle_key(&km(), key(KeyCode::Down)), PickerOutcome::None);
        assert_eq!(p.selected().id, "stdio");
        p.handle_key(&km(), key(KeyCode::Up));
        p.handle_key(&km(), key(KeyCode::Up));
        assert_eq!(p.selected().id, all()[all().len() - 1].id, "wraps around");
        assert_eq!(
            p.handle_key(&km(), key(KeyCode::Enter)),
            PickerOutcome::Chosen(&all()[all().len() - 1])
        );
        assert!(
            all().iter().any(|t| t.id == "everything"),
            "the catalog is in the picker"
        );
        assert_eq!(
            p.handle_key(&km(), key(KeyCode::Char('2'))),
            PickerOutcome::Chosen(&all()[1])
        );
        assert_eq!(
            p.handle_key(&km(), key(KeyCode::Char('7'))),
            PickerOutcome::Chosen(&all()[6])
        );
        assert_eq!(
            p.handle_key(&km(), key(KeyCode::Esc)),
            PickerOutcome::Cancel
        );
    }

    fn render(w: u16, h: u16, p: &TemplatePicker) -> Terminal<TestBackend> {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| p.render(f, f.area(), &Theme::default_dark(), &km()))
            .unwrap();
        term
    }

    #[test]
    fn snapshots() {
        let mut p = TemplatePicker::new();
        p.handle_key(&km(), key(KeyCode::Down));
        insta::assert_snapshot!("templates_80x24", render(80, 24, &p).backend());
        insta::assert_snapshot!("templates_200x50", render(200, 50, &p).backend());
    }

    #[test]
    fn agentarea_is_offered_containers_only_and_told_why() {
        let aa = crate::platform::BackendProfile::agentarea();
        let mut p = TemplatePicker::for_profile(Some(&aa));
        let ids: Vec<&str> = p.offered().iter().map(|t| t.id).collect();
        assert_eq!(ids, vec!["container"]);
        assert!(
            p.note()
                .unwrap()
                .contains("AgentArea creates containers only")
        );
        assert_eq!(p.handle_key(&km(), key(KeyCode::Down)), PickerOutcome::None);
        assert_eq!(p.selected().id, "container", "one item: moving stays on it");
        assert_eq!(
            p.handle_key(&km(), key(KeyCode::Char('2'))),
            PickerOutcome::None
        );
        let full = TemplatePicker::for_profile(Some(&crate::platform::BackendProfile::aacon()));
        assert_eq!(full.offered().len(), all().len());
        assert!(full.note().is_none());
        insta::assert_snapshot!("templates_agentarea_80x24", render(80, 24, &p).backend());
    }

    #[test]
    fn renders_small_and_tiny_without_panicking() {
        let p = TemplatePicker::new();
        for (w, h) in [(40, 12), (10, 3), (1, 1), (0, 0)] {
            render(w, h, &p);
        }
    }
}
