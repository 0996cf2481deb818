//! Keys are data: the confirmation, the `:` line's completion and the
//! conflict screen answer the keymap's keys, a user file rebinds them, and
//! help and the hints name the keys in effect.

use crate::support::app::{code, ctrl, key, render};
use aacon::tui::app::{App, Command, Overlay};
use aacon::tui::fixtures;
use aacon::tui::keymap::Keymap;
use aacon::tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app_with(keymap: &str) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keymap.toml"), keymap).unwrap();
    let km = Keymap::load("default", Some(dir.path())).unwrap();
    (dir, fixtures::app(Theme::preset("default").unwrap(), km))
}

fn line(a: &App) -> Option<String> {
    match &a.overlay {
        Some(Overlay::Command(i)) => Some(i.text.clone()),
        _ => None,
    }
}

#[test]
fn completion_on_the_command_line_is_the_keymaps() {
    let (_d, mut a) = app_with("[command_line]\ncomplete = \"ctrl-t\"\n");
    a.update(key(':'));
    a.update(key('d'));
    a.update(key('u'));
    // Tab is no longer complete: it does nothing to the line.
    a.update(code(KeyCode::Tab));
    assert_eq!(line(&a).as_deref(), Some("du"));
    a.update(ctrl('t'));
    assert_eq!(line(&a).as_deref(), Some("dump "));
    let s = render(&mut a, 160, 24);
    assert!(s.contains("ctrl-t completes"), "{s}");
    assert!(!s.contains("tab completes"), "{s}");
    // Esc still cancels the line; typing still types.
    a.update(code(KeyCode::Esc));
    assert_eq!(line(&a), None);

    // The preset: tab.
    let (_d, mut a) = app_with("");
    a.update(key(':'));
    a.update(key('d'));
    a.update(code(KeyCode::Tab));
    assert_eq!(line(&a).as_deref(), Some("dump "));
}

#[test]
fn the_confirmation_answers_the_keymaps_keys() {
    let (_d, mut a) = app_with("[confirm]\nyes = \"ctrl-y\"\nback = [\"esc\", \"q\"]\n");
    a.update(ctrl('d'));
    assert!(matches!(a.overlay, Some(Overlay::Confirm(_))));
    let s = render(&mut a, 100, 30);
    assert!(s.contains("[ctrl-y] Yes"), "{s}");
    assert!(s.contains("[esc] No"), "{s}");
    // y and n are no longer answers: the question stays, nothing is sent.
    for m in [key('y'), key('n'), key('Y')] {
        assert!(a.update(m).is_empty());
        assert!(matches!(a.overlay, Some(Overlay::Confirm(_))));
    }
    assert!(a.update(key('q')).is_empty());
    assert!(a.overlay.is_none(), "q answered no");
    a.update(ctrl('d'));
    assert!(matches!(
        a.update(ctrl('y')).as_slice(),
        [Command::Delete(ids)] if ids.len() == 1
    ));

    // The preset: enter answers the highlighted button (no, at first).
    let (_d, mut a) = app_with("");
    a.update(ctrl('d'));
    assert!(a.update(code(KeyCode::Enter)).is_empty());
    assert!(a.overlay.is_none());
    a.update(ctrl('d'));
    a.update(code(KeyCode::Tab));
    assert!(matches!(
        a.update(code(KeyCode::Enter)).as_slice(),
        [Command::Delete(_)]
    ));
}

#[test]
fn help_lists_the_conflict_confirm_and_command_line_keys() {
    let (_d, mut a) = app_with("");
    a.update(key('?'));
    let mut seen = String::new();
    for _ in 0..40 {
        seen.push_str(&render(&mut a, 100, 60));
        a.update(code(KeyCode::PageDown));
    }
    for want in [
        "Conflict screen",
        "reload theirs (discard yours)",
        "merge: keep both",
        "overwrite theirs with yours",
        "Confirmation",
        "move between yes and no",
        "Command line (after :)",
        "complete the command or its argument",
    ] {
        assert!(seen.contains(want), "help lacks {want:?}");
    }
}

#[test]
fn the_template_picker_and_the_drafts_prompt_answer_the_keymaps_keys() {
    use aacon::tui::drafts::{Draft, DraftMode, DraftPrompt, DraftPromptOutcome};
    use aacon::tui::templates::{PickerOutcome, TemplatePicker};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keymap.toml"),
        "[picker]\nchoose = \"ctrl-o\"\nback = \"x\"\ndown = \"ctrl-j\"\n\
         [drafts]\nrestore = \"o\"\ndiscard = \"ctrl-x\"\nyes = \"Y\"\nback = \"l\"\n",
    )
    .unwrap();
    let km = Keymap::load("default", Some(dir.path())).unwrap();
    let plain = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);
    let ctrl = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);

    let mut p = TemplatePicker::new();
    for k in [
        plain(KeyCode::Enter),
        plain(KeyCode::Esc),
        plain(KeyCode::Char('q')),
    ] {
        assert_eq!(p.handle_key(&km, k), PickerOutcome::None, "{k:?}");
    }
    assert_eq!(p.handle_key(&km, ctrl('j')), PickerOutcome::None);
    let second = p.selected().id;
    assert!(matches!(p.handle_key(&km, ctrl('o')), PickerOutcome::Chosen(t) if t.id == second));
    assert_eq!(
        p.handle_key(&km, plain(KeyCode::Char('x'))),
        PickerOutcome::Cancel
    );
    // Digits still choose by number.
    assert!(matches!(
        p.handle_key(&km, plain(KeyCode::Char('1'))),
        PickerOutcome::Chosen(_)
    ));
    let mut t = Terminal::new(TestBackend::new(100, 24)).unwrap();
    t.draw(|f| p.render(f, f.area(), &Theme::preset("default").unwrap(), &km))
        .unwrap();
    let s = fixtures::screen_text(t.backend().buffer());
    assert!(s.contains("ctrl-o choose"), "{s}");
    assert!(s.contains("x cancel"), "{s}");

    let draft = |key: &str| Draft {
        key: key.into(),
        mode: DraftMode::Create { template: None },
        text: "{}".into(),
        saved_at: chrono::Utc::now(),
    };
    let mut d = DraftPrompt::new(vec![draft("create-a"), draft("create-b")]).unwrap();
    for k in [
        plain(KeyCode::Enter),
        plain(KeyCode::Char('r')),
        plain(KeyCode::Char('d')),
    ] {
        assert_eq!(d.handle_key(&km, k), DraftPromptOutcome::None, "{k:?}");
    }
    d.handle_key(&km, ctrl('x'));
    assert_eq!(
        d.handle_key(&km, plain(KeyCode::Char('y'))),
        DraftPromptOutcome::None,
        "y is no longer yes: the draft is kept"
    );
    assert_eq!(d.drafts().len(), 2);
    d.handle_key(&km, ctrl('x'));
    assert!(matches!(
        d.handle_key(&km, plain(KeyCode::Char('Y'))),
        DraftPromptOutcome::Discard(_)
    ));
    assert!(matches!(
        d.handle_key(&km, plain(KeyCode::Char('o'))),
        DraftPromptOutcome::Restore(_)
    ));
    assert_eq!(
        d.handle_key(&km, plain(KeyCode::Char('l'))),
        DraftPromptOutcome::Close
    );
    let mut t = Terminal::new(TestBackend::new(100, 24)).unwrap();
    t.draw(|f| d.render(f, f.area(), &Theme::preset("default").unwrap(), &km))
        .unwrap();
    let s = fixtures::screen_text(t.backend().buffer());
    assert!(s.contains("o restore  ctrl-x discard  l later"), "{s}");
}

#[test]
fn help_scrolls_and_closes_with_the_keymaps_global_keys() {
    let mut a = fixtures::app(
        Theme::preset("default").unwrap(),
        Keymap::preset("vim").unwrap(),
    );
    a.update(key('?'));
    render(&mut a, 80, 24);
    // vim's down is j (and ctrl-f a page): help scrolls, it does not close.
    a.update(key('j'));
    assert!(
        matches!(a.overlay, Some(Overlay::Help(p)) if p.scroll == 1),
        "{:?}",
        a.overlay
    );
    a.update(ctrl('f'));
    assert!(
        matches!(a.overlay, Some(Overlay::Help(p)) if p.scroll == 11),
        "{:?}",
        a.overlay
    );
    a.update(key('k'));
    assert!(
        matches!(a.overlay, Some(Overlay::Help(p)) if p.scroll == 10),
        "{:?}",
        a.overlay
    );
    // A key the keymap gives nothing here leaves it open; help's own key closes it.
    a.update(key('z'));
    assert!(matches!(a.overlay, Some(Overlay::Help(_))));
    a.update(key('?'));
    assert!(a.overlay.is_none());

    // A user's back key closes it; esc, no longer back, does not.
    let (_d, mut a) = app_with("[global]\nback = \"ctrl-g\"\n");
    a.update(key('?'));
    a.update(code(KeyCode::Esc));
    assert!(matches!(a.overlay, Some(Overlay::Help(_))));
    a.update(ctrl('g'));
    assert!(a.overlay.is_none());
}
