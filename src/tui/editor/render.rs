//! Drawing the editor: text, problems, status line and its prompts.

use super::*;

impl Editor {
    /// Put a mark in the gutter of each visible line with an error: the
    /// textarea draws its line numbers as ` N ` in the first columns, so the
    /// rows showing an error line's number get `>` in the error style.
    fn mark_error_lines(&self, frame: &mut Frame, inner: Rect, theme: &Theme) {
        let lines = self.error_lines();
        if lines.is_empty() {
            return;
        }
        let digits = self.textarea.lines().len().max(1).to_string().len() as u16;
        let gutter = (digits + 2).min(inner.width);
        let buf = frame.buffer_mut();
        for y in inner.y..inner.y.saturating_add(inner.height) {
            let number: String = (inner.x..inner.x + gutter)
                .filter_map(|x| buf.cell((x, y)).map(|c| c.symbol().to_string()))
                .collect();
            let Ok(n) = number.trim().parse::<usize>() else {
                continue;
            };
            if lines.contains(&n)
                && let Some(cell) = buf.cell_mut((inner.x, y))
            {
                cell.set_symbol("▶").set_style(theme.error);
            }
        }
    }

    fn title(&self) -> String {
        match &self.mode {
            EditorMode::Create { template: Some(t) } => {
                format!(" new instance · from the {t} template ")
            }
            EditorMode::Create { template: None } => " new instance ".into(),
            // AgentArea keeps no versions (0): its updated_at names the copy.
            EditorMode::Edit {
                name,
                version: 0,
                updated_at: Some(at),
                ..
            } => format!(" edit {name} · updated_at {} ", at.format("%H:%M:%S UTC")),
            EditorMode::Edit { name, version, .. } => format!(" edit {name} · version {version} "),
        }
    }

    /// Draw the editor: text with line numbers, problems, status line.
    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        if area.width == 0 || area.height == 0 {
            return;
        }
        let problems = self.problem_lines(theme);
        let max_pane = (area.height / 3).max(3);
        let text_w = area.width.saturating_sub(2).max(1) as usize;
        let rows: usize = problems.iter().map(|l| wrapped_rows(l, text_w)).sum();
        let pane_h = (rows.min(usize::from(u16::MAX)) as u16)
            .saturating_add(2)
            .clamp(3, max_pane);
        let [main, pane, status] = Layout::vertical([
            Constraint::Min(3),
            Constraint::Length(pane_h),
            Constraint::Length(1),
        ])
        .areas(area);

        // The text.
        let (verdict, vstyle) = self.verdict(theme);
        let kind = match self.kind() {
            Some(k) => k.as_str(),
            None => "kind unknown",
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border_focus)
            .title(Span::styled(self.title(), theme.title))
            .title_top(
                Line::from(vec![
                    Span::styled(format!(" {kind} · "), theme.header),
                    Span::styled(format!("{verdict} "), vstyle),
                ])
                .right_aligned(),
            )
            .style(theme.base);
        let inner = block.inner(main);
        frame.render_widget(block, main);
        if self.styled_for.as_deref() == Some(theme.name.as_str()) {
            frame.render_widget(&self.textarea, inner);
        } else {
            let mut ta = self.textarea.clone();
            style_textarea(&mut ta, theme);
            frame.render_widget(&ta, inner);
        }
        self.mark_error_lines(frame, inner, theme);

        // Problems.
        let errors = self.validation.count(Severity::Error);
        let warnings = self.validation.count(Severity::Warning);
        let pane_title = if errors + warnings == 0 {
            " problems ".to_string()
        } else {
            format!(
                " problems: {} ",
                [plural(errors, "error"), plural(warnings, "warning"),]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let pane_block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(Span::styled(pane_title, theme.header))
            .style(theme.base);
        let room = pane_block.inner(pane).height as usize;
        let mut shown = Vec::new();
        let mut used = 0;
        for (i, l) in problems.iter().enumerate() {
            let r = wrapped_rows(l, text_w);
            let last = i + 1 == problems.len();
            // Keep a row for "… and N more" unless this is the last problem.
            if used + r > room || (!last && used + r == room && room > 1) {
                shown.push(Line::from(Span::styled(
                    format!("… and {} more", problems.len() - i),
                    theme.dim,
                )));
                break;
            }
            used += r;
            shown.push(l.clone());
        }
        frame.render_widget(
            Paragraph::new(shown)
                .wrap(Wrap { trim: false })
                .block(pane_block),
            pane,
        );

        // Status line: message and position on the left, key hints on the
        // right when they fit.
        let (left, right) = self.status_line(theme);
        let need = left.width() + right.width() + 2;
        frame.render_widget(Paragraph::new(left), status);
        if need <= status.width as usize {
            frame.render_widget(Paragraph::new(right.right_aligned()), status);
        }

        match &self.confirm {
            Some(Confirm::Discard) => self.render_confirm(frame, area, theme),
            Some(Confirm::Name(input)) => render_name_prompt(frame, area, theme, input),
            None => {}
        }
    }

    fn verdict(&self, theme: &Theme) -> (String, Style) {
        match &self.validation {
            Validation::Syntax(e) => (
                format!("✗ JSON error at {}:{}", e.line, e.column),
                theme.error,
            ),
            Validation::Checked { report, .. } if !report.is_valid() => {
                let n = report.errors().count();
                (
                    format!("✗ {n} error{}", if n == 1 { "" } else { "s" }),
                    theme.error,
                )
            }
            Validation::Checked { .. } => ("✓ valid".into(), theme.ok),
        }
    }

    fn problem_lines(&self, theme: &Theme) -> Vec<Line<'static>> {
        match &self.validation {
            Validation::Syntax(e) => vec![Line::from(vec![
                Span::styled("✗ error ", theme.error),
                Span::styled(format!("{}:{} ", e.line, e.column), theme.key),
                Span::styled(e.message.clone(), theme.base),
            ])],
            Validation::Checked { report, .. } if report.issues.is_empty() => {
                vec![Line::from(Span::styled("✓ no problems", theme.ok))]
            }
            Validation::Checked { report, at, .. } => {
                let mut issues: Vec<(&spec::Issue, Option<&Position>)> = report
                    .issues
                    .iter()
                    .zip(at.iter().map(Option::as_ref).chain(std::iter::repeat(None)))
                    .collect();
                issues.sort_by_key(|(i, _)| i.severity);
                issues
                    .into_iter()
                    .map(|(i, pos)| {
                        let (label, style) = match i.severity {
                            Severity::Error => ("✗ error ", theme.error),
                            Severity::Warning => ("! warning ", theme.warning),
                            Severity::Note => ("· note ", theme.dim),
                        };
                        let pointer = if i.pointer.is_empty() {
                            "/".to_string()
                        } else {
                            i.pointer.clone()
                        };
                        let mut spans = vec![Span::styled(label, style)];
                        if let Some(p) = pos {
                            spans
                                .push(Span::styled(format!("{}:{} ", p.line, p.column), theme.key));
                        }
                        spans.push(Span::styled(format!("{pointer}: "), theme.key));
                        spans.push(Span::styled(i.message.clone(), theme.base));
                        Line::from(spans)
                    })
                    .collect()
            }
        }
    }

    fn status_line(&self, theme: &Theme) -> (Line<'static>, Line<'static>) {
        let mut spans = Vec::new();
        if let Some((msg, is_error)) = &self.message {
            spans.push(Span::styled(
                format!("{msg}  "),
                if *is_error { theme.error } else { theme.ok },
            ));
        }
        let (l, c) = self.cursor();
        spans.push(Span::styled(format!("Ln {l}, Col {c}"), theme.dim));
        if self.is_dirty() {
            spans.push(Span::styled(" · modified", theme.warning));
        }
        let hint = |action: Action, what: &str, spans: &mut Vec<Span<'static>>| {
            if let Some(k) = self.keymap.keys_for(View::Editor, action).first() {
                spans.push(Span::styled("  ", theme.dim));
                spans.push(Span::styled(k.to_string(), theme.key));
                spans.push(Span::styled(format!(" {what}"), theme.dim));
            }
        };
        let mut hints = Vec::new();
        if self.validation.first_position().is_some() {
            hint(Action::JumpToProblem, "go to problem", &mut hints);
        }
        hint(Action::Save, "save", &mut hints);
        hint(Action::Back, "close", &mut hints);
        hint(Action::Help, "help", &mut hints);
        (Line::from(spans), Line::from(hints))
    }

    fn render_confirm(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let keys = |a: Action| self.keymap.keys_for(View::Unsaved, a);
        let yes = self.keymap.first_key(View::Unsaved, Action::Yes);
        let lines = vec![
            Line::from(Span::styled("Discard unsaved changes?", theme.title)),
            Line::from(vec![
                Span::styled(yes, theme.key),
                Span::styled(" discard  ", theme.base),
                Span::styled(keys(Action::Save).join("/"), theme.key),
                Span::styled(" save  ", theme.base),
                Span::styled(keys(Action::Back).join("/"), theme.key),
                Span::styled(" keep editing", theme.base),
            ]),
        ];
        let popup = crate::tui::views::centered(area, 46, 4);
        frame.render_widget(Clear, popup);
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: true }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.warning)
                    .style(theme.base),
            ),
            popup,
        );
    }
}

/// Rows a line takes when wrapped at `width`: a lower bound of ratatui's
/// word wrap (long words can take one more row).
fn wrapped_rows(line: &Line<'_>, width: usize) -> usize {
    line.width().div_ceil(width.max(1)).max(1)
}

fn render_name_prompt(frame: &mut Frame, area: Rect, theme: &Theme, input: &TextArea<'static>) {
    let popup = crate::tui::views::centered(area, 56, 6);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focus)
        .title(Span::styled(" Name the new instance ", theme.title))
        .style(theme.base);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [field, check, hint] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(2),
    ])
    .areas(inner);
    let mut ta = input.clone();
    ta.set_style(theme.base.add_modifier(Modifier::UNDERLINED));
    ta.set_cursor_line_style(Style::default());
    ta.set_cursor_style(theme.base.add_modifier(Modifier::REVERSED));
    frame.render_widget(&ta, field);
    let name = input.lines().concat();
    let verdict = match crate::domain::instance::validate_name(name.trim()) {
        Ok(()) => Line::from(Span::styled("✓ a valid name", theme.ok)),
        Err(_) => Line::from(Span::styled(
            "✗ lowercase letters, digits and '-', up to 63",
            theme.error,
        )),
    };
    frame.render_widget(Paragraph::new(verdict), check);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("enter", theme.key),
            Span::styled(" create  ", theme.dim),
            Span::styled("esc", theme.key),
            Span::styled(" back to the text", theme.dim),
        ])),
        hint,
    );
}

fn plural(n: usize, what: &str) -> Option<String> {
    match n {
        0 => None,
        1 => Some(format!("1 {what}")),
        n => Some(format!("{n} {what}s")),
    }
}

pub(super) fn style_textarea(ta: &mut TextArea<'static>, theme: &Theme) {
    ta.set_style(theme.base);
    ta.set_line_number_style(theme.dim);
    ta.set_cursor_line_style(Style::default());
    ta.set_cursor_style(theme.base.add_modifier(Modifier::REVERSED));
    ta.set_selection_style(theme.selected);
}
