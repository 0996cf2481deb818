//! Screenshots of every view, rendered from fixture state with the real
//! render code and written as SVG (`cargo run --example screenshots`).
//! The kit's components alone are written by its own test
//! (`UPDATE_SCREENSHOTS=1`), under other names.

use crate::svg::{SvgOptions, buffer_to_svg_with, render_to_buffer};
use aacon::tui::app::{App, Msg};
use aacon::tui::fixtures;
use aacon::tui::keymap::Action;
use aacon::tui::keymap::Keymap;
use aacon::tui::theme::Theme;
use aacon::tui::views;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::{Path, PathBuf};

const W: u16 = 120;
const H: u16 = 32;

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

/// Every scene: file stem and the state to draw.
pub fn scenes(theme: &Theme, keymap: &Keymap) -> Vec<(&'static str, App)> {
    let base = || fixtures::app(theme.clone(), keymap.clone());
    let mut out = Vec::new();

    let mut a = base();
    // A row that just changed, highlighted.
    let git = fixtures::instances()[2].clone();
    a.update(Msg::Platform(fixtures::live_change(
        &git,
        aacon::domain::Status::Starting,
    )));
    a.action(Action::Down);
    a.update(ch(' '));
    out.push(("instances", a));

    let mut a = base();
    a.set_filter("status:running,unhealthy,error");
    out.push(("instances-filtered", a));

    let mut a = base();
    fixtures::open_github(&mut a);
    out.push(("detail", a));

    let mut a = base();
    fixtures::open_github(&mut a);
    a.action(Action::NextTab);
    out.push(("detail-spec", a));

    let mut a = base();
    fixtures::open_github(&mut a);
    a.action(Action::NextTab);
    a.action(Action::NextTab);
    out.push(("detail-events", a));

    out.push((
        "detail-tools",
        fixtures::detail_tools(theme.clone(), keymap.clone()),
    ));

    let mut a = base();
    a.action(Action::EventsView);
    out.push(("events", a));

    let mut a = base();
    a.update(Msg::EditTarget(Ok(fixtures::instances()[0].clone())));
    a.update(key(KeyCode::End));
    a.update(key(KeyCode::Enter));
    for c in r#""args": ["--root", /srv"],"#.chars() {
        a.update(ch(c));
    }
    out.push(("console-editor-error", a));

    let mut a = base();
    let fs = fixtures::instances()[0].clone();
    a.update(Msg::EditTarget(Ok(fs.clone())));
    a.update(key(KeyCode::End));
    a.update(key(KeyCode::Enter));
    for c in r#""args": ["--read-only"],"#.chars() {
        a.update(ch(c));
    }
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::CONTROL,
    )));
    a.update(Msg::Saved(Err(aacon::platform::PlatformError::Conflict(
        "filesystem changed since version 3".into(),
    ))));
    let mut theirs = fs;
    theirs.version = 4;
    theirs.updated_by = Some("cli on build-host (pid 5120)".into());
    theirs
        .json_spec
        .insert("cwd".into(), serde_json::json!("/srv/shared"));
    a.update(Msg::Theirs(Ok(theirs)));
    out.push(("console-conflict", a));

    let mut a = base();
    a.update(ch('n'));
    out.push(("console-templates", a));

    let mut a = base();
    a.update(ch('?'));
    out.push(("help", a));

    let mut a = base();
    a.update(ch(' '));
    a.update(ch(' '));
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('d'),
        KeyModifiers::CONTROL,
    )));
    out.push(("confirm-delete", a));

    // `:at -1h`: the table an hour ago, one instance still running then.
    let mut a = base();
    let then = fixtures::an_hour_ago(&a);
    a.show_moment(then);
    if let Some(utc) = chrono::FixedOffset::east_opt(0) {
        a.set_travel_zone(utc);
    }
    out.push(("time-travel", a));
    out
}

fn write(dir: &Path, name: &str, svg: &str) -> Result<PathBuf, String> {
    let path = dir.join(format!("{name}.svg"));
    std::fs::write(&path, svg).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Render every scene (dark theme, plus the instances view in the light
/// theme) into `dir`; returns the files written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let keymap = Keymap::preset("default").map_err(|e| e.to_string())?;
    let dark = Theme::preset("default").map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    let mut all = scenes(&dark, &keymap);
    for (name, app) in all.iter_mut() {
        app.prepare();
        let buf = render_to_buffer(W, H, |f| views::render(f, app))?;
        files.push(write(dir, name, &buf_svg(&buf, &SvgOptions::default()))?);
    }
    let light = Theme::preset("light").map_err(|e| e.to_string())?;
    let mut a = fixtures::app(light, keymap);
    a.prepare();
    let buf = render_to_buffer(W, H, |f| views::render(f, &mut a))?;
    files.push(write(
        dir,
        "instances-light",
        &buf_svg(&buf, &SvgOptions::light()),
    )?);
    Ok(files)
}

fn buf_svg(buf: &ratatui::buffer::Buffer, o: &SvgOptions) -> String {
    buffer_to_svg_with(buf, o)
}
