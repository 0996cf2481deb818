//! Help, generated from the active keymap so it cannot drift.

use super::command::is_mutating;
use crate::tui::app::App;
use crate::tui::keymap::View;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

const SECTIONS: [(View, &str); 13] = [
    (View::Instances, "Instances"),
    (View::Detail, "Detail"),
    (View::Events, "Events"),
    (View::Editor, "Editor"),
    (View::Global, "Everywhere"),
    (
        View::Quit,
        "Quit prompt (quit while instances run under this console)",
    ),
    (
        View::Conflict,
        "Conflict screen (saving what someone changed meanwhile)",
    ),
    (View::Confirm, "Confirmation (before what cannot be undone)"),
    (View::CommandLine, "Command line (after :)"),
    (
        View::Picker,
        "Template picker (create; 1-9 choose by number)",
    ),
    (
        View::Drafts,
        "Drafts prompt (unsaved edits from an earlier session)",
    ),
    (View::Pager, "Help and raw view"),
    (View::Unsaved, "Unsaved changes (leaving the editor)"),
];

/// What the editor's help says about the environment a server starts with.
pub const CHILD_ENV_HELP: [&str; 4] = [
    "only its json_spec env / env_vars, plus a small allowlist of the",
    "console's own environment: PATH, HOME, LANG, LC_*, TZ, TMPDIR, USER",
    "(runtime.child_env in the config). Nothing else is passed: write what",
    "the server needs in env, secrets as \"secret_ref:NAME\".",
];

/// The text area's own keys (tui-textarea's), which no keymap changes.
const EDITING: [(&str, &str); 13] = [
    ("enter", "new line, keeping the indent"),
    ("tab", "indent (two spaces)"),
    ("arrows, ctrl-f/b/p/n", "move"),
    ("ctrl-←/→, alt-f/b", "move by word"),
    ("home/end, ctrl-a/e", "start / end of the line"),
    ("alt-< / alt->", "first / last line"),
    ("pageup/pagedown", "scroll a page (also alt-v / ctrl-v)"),
    ("backspace, ctrl-h", "delete the character before"),
    ("delete, ctrl-d", "delete the character after"),
    ("ctrl-w, alt-backspace", "delete the word before"),
    ("ctrl-k / ctrl-j", "delete to the end / start of the line"),
    ("ctrl-y", "paste what ctrl-k, ctrl-j or ctrl-w deleted"),
    ("mouse wheel", "scroll"),
];

fn editing_keys(lines: &mut Vec<Line<'static>>, app: &App) {
    let t = &app.theme;
    lines.push(Line::from(Span::styled("  Editing (built in)", t.title)));
    for (key, what) in EDITING {
        lines.push(Line::from(vec![
            Span::styled(format!("  {key:<22}"), t.key),
            Span::styled(what, t.base),
        ]));
    }
}

pub fn render(frame: &mut Frame, app: &App, scroll: u16, area: Rect) -> u16 {
    let t = &app.theme;
    let rect = area;
    frame.render_widget(Clear, rect);
    let current = app.view();
    let mut order: Vec<(View, &str)> = SECTIONS.to_vec();
    order.sort_by_key(|(v, _)| *v != current);
    let mut lines = Vec::new();
    for (view, title) in order {
        let own: Vec<_> = app
            .keymap
            .bindings(view)
            .into_iter()
            .filter(|b| b.view == view)
            .collect();
        if own.is_empty() {
            continue;
        }
        lines.push(Line::from(Span::styled(title.to_string(), t.title)));
        for b in own {
            let mut spans = vec![
                Span::styled(format!("  {:<12}", b.label), t.key),
                Span::styled(b.action.describe().to_string(), t.base),
            ];
            if app.read_only() && is_mutating(b.action) {
                spans.push(Span::styled("  (off: read-only)", t.dim));
            }
            lines.push(Line::from(spans));
        }
        if view == View::Editor {
            editing_keys(&mut lines, app);
        }
        lines.push(Line::from(""));
        // Editing a spec: say what environment the server will get.
        if view == View::Editor && current == View::Editor {
            lines.push(Line::from(Span::styled(
                "A stdio server's environment",
                t.title,
            )));
            for l in CHILD_ENV_HELP {
                lines.push(Line::from(Span::styled(format!("  {l}"), t.base)));
            }
            lines.push(Line::from(""));
        }
    }
    lines.push(Line::from(Span::styled("Commands", t.title)));
    for (cmd, what) in [
        (":instances", "instances view"),
        (":events", "events view"),
        (":theme NAME", "switch theme"),
        (":keymap NAME", "switch keymap"),
        (":sort COLUMN", "sort by a column (-COLUMN reverses)"),
        (
            ":dump [csv|json]",
            "write this view's rows to a file in the data dir",
        ),
        (":ctx [NAME]", "list the contexts, or switch to one live"),
        (":NAME, :i NAME", "jump to the instance called NAME"),
        (":q", "quit"),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!("  {cmd:<18}"), t.key),
            Span::styled(what, t.base),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("Filter (/)", t.title)));
    lines.push(Line::from(Span::styled(
        "  text or regex, !term inverts, status:running,error, kind:process",
        t.base,
    )));
    // Stop with the last line at the bottom: never scroll into blank space.
    let visible = rect.height.saturating_sub(2);
    let max = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_sub(visible);
    let scroll = scroll.min(max);
    frame.render_widget(
        Paragraph::new(lines).scroll((scroll, 0)).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border_focus)
                .title(Span::styled(
                    format!(" help — keymap {} (esc closes) ", app.keymap.name),
                    t.title,
                )),
        ),
        rect,
    );
    max
}
