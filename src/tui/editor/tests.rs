use super::*;
use crate::tui::templates::all as templates;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}
fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}
fn type_str(e: &mut Editor, s: &str) {
    for c in s.chars() {
        let k = if c == '\n' {
            key(KeyCode::Enter)
        } else {
            key(KeyCode::Char(c))
        };
        assert_eq!(e.handle_key(k), EditorOutcome::None);
    }
}
fn edit_of(spec: Value) -> Editor {
    Editor::edit(Uuid::nil(), "web", 3, None, &spec)
}
fn blank() -> Editor {
    Editor::new(EditorMode::Create { template: None }, "")
}

#[test]
fn schema_problems_are_located_in_the_text() {
    let text = "{\n  \"command\": \"srv\",\n  \"port\": 99999\n}";
    let v = Validation::of(text);
    let Validation::Checked { report, at, .. } = &v else {
        panic!("{v:?}")
    };
    assert!(!report.is_valid(), "{report:?}");
    assert_eq!(at.len(), report.issues.len());
    assert_eq!(v.first_position(), Some((3, 3)));
    let mut e = Editor::new(EditorMode::Create { template: None }, text);
    e.handle_key(key(KeyCode::F(8)));
    assert_eq!(e.cursor(), (3, 3));
}

#[test]
fn syntax_errors_have_line_and_column() {
    let v = Validation::of("{\n  \"command\": \"x\"\n  \"args\": []\n}");
    let Validation::Syntax(e) = v else {
        panic!("{v:?}")
    };
    assert_eq!((e.line, e.column), (3, 3));
    assert_eq!(e.message, "expected ',' or '}' (is a comma missing?)");
    let Validation::Syntax(e) = Validation::of("{\n  \"command\": \"x\"\n") else {
        panic!()
    };
    assert_eq!(
        e.message,
        "the text ends before the object is closed; a '}' is missing"
    );
    assert_eq!(e.line, 3, "{e:?}");
    let Validation::Syntax(e) = Validation::of("{\"a\": \"x\\q\"}") else {
        panic!()
    };
    assert!(
        e.message.starts_with("an invalid escape in a string"),
        "{}",
        e.message
    );
    let Validation::Syntax(e) = Validation::of("  \n") else {
        panic!()
    };
    assert!(e.message.starts_with("json_spec is empty"));
}

#[test]
fn creating_on_agentarea_flags_what_it_will_refuse_at_its_pointer() {
    let t = crate::tui::templates::Template::by_id("external").unwrap();
    let aa = crate::platform::BackendProfile::agentarea();
    let e = Editor::create(t).with_create_rules(Some(&aa));
    assert!(!e.validation().is_valid());
    let Validation::Checked { report, .. } = e.validation() else {
        panic!("the template is JSON");
    };
    assert!(
        report
            .summary()
            .contains("AgentArea creates only containers"),
        "{}",
        report.summary()
    );
    let c = crate::tui::templates::Template::by_id("container").unwrap();
    assert!(
        Editor::create(c)
            .with_create_rules(Some(&aa))
            .validation()
            .is_valid()
    );
    assert!(
        Editor::create(t)
            .with_create_rules(None)
            .validation()
            .is_valid()
    );
}

#[test]
fn typing_revalidates_and_detects_the_kind() {
    let mut e = blank();
    assert!(!e.validation().is_valid());
    type_str(&mut e, "{\"command\": \"srv\"");
    assert!(matches!(e.validation(), Validation::Syntax(_)));
    assert_eq!(e.kind(), None);
    type_str(&mut e, "}");
    assert!(e.validation().is_valid(), "{:?}", e.validation());
    assert_eq!(e.kind(), Some(ProviderKind::Process));
    // Turn it into an endpoint: the kind follows the content.
    let mut e = blank();
    type_str(&mut e, "{\"endpoint_url\": \"https://x.example/mcp\"}");
    assert_eq!(e.kind(), Some(ProviderKind::External));
    assert!(e.is_dirty());
}

#[test]
fn save_only_when_valid() {
    let mut e = blank();
    type_str(&mut e, "{\"command\": ");
    assert_eq!(e.handle_key(ctrl('s')), EditorOutcome::None);
    let (msg, is_err) = e.message.clone().unwrap();
    assert!(is_err);
    assert!(msg.starts_with("cannot save: line 1, column 12: "), "{msg}");

    let mut e = Editor::new(EditorMode::Create { template: None }, "[1]");
    assert_eq!(e.handle_key(ctrl('s')), EditorOutcome::None);
    assert_eq!(
        e.message.clone().unwrap().0,
        "cannot save: /: json_spec must be a JSON object, not an array"
    );

    let mut e = edit_of(json!({"command": "a"}));
    type_str(&mut e, " ");
    match e.handle_key(ctrl('s')) {
        EditorOutcome::Save(v) => assert_eq!(v, json!({"command": "a"})),
        other => panic!("{other:?}"),
    }
}

#[test]
fn create_asks_for_a_valid_name() {
    let mut e = Editor::create(&templates()[1]);
    assert_eq!(e.handle_key(ctrl('s')), EditorOutcome::None);
    assert!(e.is_naming());
    // Typing goes to the name, not the text.
    let text = e.text();
    for _ in 0.."server-everything".len() {
        e.handle_key(key(KeyCode::Backspace));
    }
    type_str(&mut e, "Bad_Name");
    assert_eq!(e.text(), text);
    assert_eq!(e.handle_key(key(KeyCode::Enter)), EditorOutcome::None);
    let (msg, is_err) = e.message.clone().unwrap();
    assert!(is_err);
    assert!(msg.starts_with("the name 'Bad_Name' contains 'B'"), "{msg}");
    assert!(e.is_naming(), "stays open to fix the name");
    // Esc goes back to the text; ctrl-s again remembers nothing typed
    // until a valid name was accepted.
    e.handle_key(key(KeyCode::Esc));
    assert!(!e.is_naming());
    e.handle_key(ctrl('s'));
    e.paste("everything-1\nignored");
    let out = e.handle_key(key(KeyCode::Enter));
    let EditorOutcome::Create { name, json_spec } = out else {
        panic!("{out:?}")
    };
    assert_eq!(name, "server-everythingeverything-1");
    assert_eq!(
        json_spec["command"][2],
        "@modelcontextprotocol/server-everything"
    );
    // A second save offers the accepted name again.
    e.handle_key(ctrl('s'));
    let EditorOutcome::Create { name, .. } = e.handle_key(key(KeyCode::Enter)) else {
        panic!()
    };
    assert_eq!(name, "server-everythingeverything-1");
}

#[test]
fn names_are_suggested_from_the_spec() {
    assert_eq!(
        suggest_name(&json!({"image": "mcp/filesystem:1.2"})),
        "filesystem"
    );
    assert_eq!(
        suggest_name(&json!({"command": ["npx", "-y", "@modelcontextprotocol/server-everything"]})),
        "server-everything"
    );
    assert_eq!(
        suggest_name(&json!({"command": "uvx mcp-server-fetch --verbose"})),
        "mcp-server-fetch"
    );
    assert_eq!(
        suggest_name(&json!({"endpoint_url": "https://MCP.Example.com:8443/mcp"})),
        "mcp-example-com"
    );
    assert_eq!(suggest_name(&json!({"env_vars": {}})), "");
    assert_eq!(suggest_name(&json!({"image": "___"})), "");
    // Neither a script's plain file name nor an address names a server.
    assert_eq!(
        suggest_name(&json!({"command": ["node", "/srv/weather/index.js"]})),
        "weather"
    );
    assert_eq!(
        suggest_name(&json!({"command": ["node", "/opt/github-mcp/dist/index.js"]})),
        "github-mcp"
    );
    assert_eq!(
        suggest_name(&json!({"command": ["python", "fetcher.py"]})),
        "fetcher"
    );
    assert_eq!(suggest_name(&json!({"command": ["node", "index.js"]})), "");
    assert_eq!(
        suggest_name(&json!({"endpoint_url": "http://127.0.0.1:8931/mcp"})),
        ""
    );
    assert_eq!(
        suggest_name(&json!({"endpoint_url": "http://localhost:3000/mcp"})),
        ""
    );
    assert_eq!(
        suggest_name(&json!({"endpoint_url": "http://[::1]:3000/mcp"})),
        ""
    );
}

#[test]
fn ctrl_z_undoes_and_ctrl_r_redoes() {
    let mut e = Editor::new(EditorMode::Create { template: None }, "{}\n");
    let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
    e.handle_key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE));
    assert_eq!(e.text(), "x{}");
    e.handle_key(ctrl('z'));
    assert_eq!(e.text(), "{}");
    e.handle_key(ctrl('r'));
    assert_eq!(e.text(), "x{}");
    e.handle_key(ctrl('z'));
    e.handle_key(ctrl('z'));
    assert_eq!(e.text(), "{}");
    assert_eq!(
        e.message.as_ref().map(|m| m.0.as_str()),
        Some("nothing to undo")
    );
    // The keymap decides: with vim's keymap ctrl-z still undoes.
    let km = crate::tui::keymap::Keymap::preset("vim").unwrap();
    e.set_keys(&km);
    e.handle_key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE));
    e.handle_key(ctrl('z'));
    assert_eq!(e.text(), "{}");
}

#[test]
fn error_lines_are_marked_in_the_gutter() {
    let e = Editor::new(
        EditorMode::Create { template: None },
        "{\n  \"command\": [\"x\"]\n  \"args\": []\n}\n",
    );
    assert_eq!(e.error_lines(), vec![3]);
    let mut term = Terminal::new(TestBackend::new(60, 16)).unwrap();
    term.draw(|f| e.render(f, f.area(), &Theme::default_dark()))
        .unwrap();
    let b = term.backend().buffer().clone();
    let row = |y: u16| {
        (0..8)
            .map(|x| b[(x, y)].symbol().to_string())
            .collect::<String>()
    };
    assert!(row(3).starts_with("│▶3"), "{:?}", row(3));
    assert!(row(2).starts_with("│ 2"), "{:?}", row(2));
}

#[test]
fn names_come_from_the_template_first() {
    // A catalog template names the server.
    assert_eq!(
        suggest_name_for(
            Some("filesystem"),
            &json!({"command": ["node", "index.js"]})
        ),
        "filesystem"
    );
    // A generic template: from the spec when it says something, else the template.
    assert_eq!(
        suggest_name_for(
            Some("external"),
            &json!({"endpoint_url": "http://127.0.0.1:8931/mcp"})
        ),
        "external"
    );
    assert_eq!(
        suggest_name_for(
            Some("external"),
            &json!({"endpoint_url": "https://mcp.example.com/mcp"})
        ),
        "mcp-example-com"
    );
    assert_eq!(
        suggest_name_for(Some("stdio"), &json!({"command": ["node", "index.js"]})),
        "stdio"
    );
    assert_eq!(
        suggest_name_for(None, &json!({"command": ["node", "index.js"]})),
        ""
    );
}

#[test]
fn unchanged_edit_has_nothing_to_save_and_saved_moves_the_baseline() {
    let at = Utc::now();
    let mut e = edit_of(json!({"command": "a"}));
    assert!(!e.is_dirty());
    assert_eq!(e.handle_key(ctrl('s')), EditorOutcome::None);
    assert_eq!(e.message.clone().unwrap().0, "no changes to save");
    e.handle_key(key(KeyCode::Down));
    e.handle_key(key(KeyCode::End));
    type_str(&mut e, ",\"cwd\": \"/tmp\"");
    let out = e.handle_key(ctrl('s'));
    let EditorOutcome::Save(v) = out else {
        panic!("{out:?}")
    };
    assert_eq!(v, json!({"command": "a", "cwd": "/tmp"}));
    assert!(e.is_dirty());
    let key = e.saved(Some((4, at)));
    assert_eq!(key, e.draft_key());
    assert!(!e.is_dirty());
    assert!(
        matches!(e.mode(), EditorMode::Edit { version: 4, updated_at: Some(t), .. } if *t == at)
    );
}

#[test]
fn esc_asks_before_discarding() {
    let mut e = edit_of(json!({"command": "a"}));
    assert_eq!(
        e.handle_key(key(KeyCode::Esc)),
        EditorOutcome::Close,
        "clean: closes at once"
    );

    let mut e = edit_of(json!({"command": "a"}));
    type_str(&mut e, " ");
    assert_eq!(e.handle_key(key(KeyCode::Esc)), EditorOutcome::None);
    assert!(e.is_confirming());
    // Typing while asked does not edit.
    let before = e.text();
    assert_eq!(e.handle_key(key(KeyCode::Char('x'))), EditorOutcome::None);
    assert_eq!(e.text(), before);
    assert!(e.is_confirming());
    assert_eq!(e.handle_key(key(KeyCode::Char('n'))), EditorOutcome::None);
    assert!(!e.is_confirming());
    e.handle_key(key(KeyCode::Esc));
    assert!(matches!(
        e.handle_key(key(KeyCode::Char('s'))),
        EditorOutcome::Save(_)
    ));
    e.handle_key(key(KeyCode::Esc));
    assert_eq!(e.handle_key(key(KeyCode::Char('y'))), EditorOutcome::Close);
}

#[test]
fn drafts_are_due_after_a_pause_and_restore_as_unsaved() {
    let mut e = edit_of(json!({"command": "a"}));
    assert!(
        !e.draft_due(Instant::now() + Duration::from_secs(5)),
        "clean: no draft"
    );
    type_str(&mut e, "x");
    let t = e.last_change().unwrap();
    assert!(!e.draft_due(t + Duration::from_millis(100)));
    assert!(e.draft_due(t + DRAFT_IDLE));
    let d = e.draft();
    assert_eq!(d.text, e.text());
    assert_eq!(d.key, format!("edit-{}", Uuid::nil()));
    assert!(matches!(
        d.mode,
        DraftMode::Edit {
            base_version: 3,
            ..
        }
    ));
    e.mark_drafted();
    assert!(!e.draft_due(t + Duration::from_secs(5)));

    let r = Editor::from_draft(&d);
    assert_eq!(r.text(), d.text);
    assert!(r.is_dirty());
    assert_eq!(r.draft_key(), d.key);
    assert!(matches!(r.mode(), EditorMode::Edit { version: 3, .. }));
}

#[test]
fn a_draft_written_on_pause_survives_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let drafts = crate::tui::drafts::Drafts::open(dir.path().join("drafts")).unwrap();
    let text = {
        // Session one: edit, pause, the app writes the draft, then the
        // session dies without saving.
        let mut e = edit_of(json!({"command": "a"}));
        e.handle_key(key(KeyCode::End));
        type_str(&mut e, "  ");
        let due = e.last_change().unwrap() + DRAFT_IDLE;
        assert!(e.draft_due(due));
        drafts.save(&e.draft()).unwrap();
        e.mark_drafted();
        e.text()
    };
    // Session two: the draft is offered and restores the same text.
    let listed = drafts.list();
    assert_eq!(listed.len(), 1);
    let mut e = Editor::from_draft(&listed[0]);
    assert_eq!(e.text(), text);
    assert!(e.is_dirty());
    // Saving it clears the draft.
    assert!(matches!(e.handle_key(ctrl('s')), EditorOutcome::Save(_)));
    drafts.remove(&e.saved(Some((4, Utc::now())))).unwrap();
    assert!(drafts.list().is_empty());
}

#[test]
fn reload_and_rebase_for_conflicts() {
    let mut e = edit_of(json!({"command": "a"}));
    type_str(&mut e, "zzz");
    e.reload(9, None, &json!({"command": "theirs"}));
    assert!(!e.is_dirty());
    assert!(e.text().contains("theirs"));
    assert!(matches!(e.mode(), EditorMode::Edit { version: 9, .. }));
    type_str(&mut e, " ");
    e.rebase(10, None);
    assert!(matches!(e.mode(), EditorMode::Edit { version: 10, .. }));
    assert!(e.is_dirty());
}

#[test]
fn f8_jumps_to_the_syntax_error() {
    let mut e = Editor::new(
        EditorMode::Create { template: None },
        "{\n  \"command\": \"x\"\n  \"cwd\": \"/\"\n}",
    );
    assert_eq!(e.cursor(), (1, 1));
    e.handle_key(key(KeyCode::F(8)));
    assert_eq!(e.cursor(), (3, 3));
    assert_eq!(e.text().lines().count(), 4, "no text change");
}

#[test]
fn crlf_text_opens_as_plain_lines() {
    let e = Editor::new(
        EditorMode::Create { template: None },
        "{\r\n  \"command\": \"x\"\r\n}\r\n",
    );
    assert_eq!(e.text(), "{\n  \"command\": \"x\"\n}");
    assert!(e.validation().is_valid());
    assert!(!e.is_dirty());
}

#[test]
fn recreate_turns_an_edit_into_a_create_with_the_old_name() {
    let mut e = edit_of(json!({"command": "a"}));
    let key_before = e.draft_key().to_string();
    let (name, spec) = e.recreate().unwrap();
    assert_eq!(name, "web");
    assert_eq!(spec, json!({"command": "a"}));
    assert_eq!(e.mode(), &EditorMode::Create { template: None });
    assert!(e.is_dirty());
    assert_eq!(
        e.draft_key(),
        key_before,
        "the same draft is kept up to date"
    );
    // Saving now asks for the name, offering the old one.
    e.handle_key(ctrl('s'));
    let EditorOutcome::Create { name, .. } = e.handle_key(key(KeyCode::Enter)) else {
        panic!()
    };
    assert_eq!(name, "web");
}

#[test]
fn enter_keeps_indent_and_paste_inserts() {
    let mut e = blank();
    type_str(&mut e, "{\n\"a\": {\n\"b\": 1");
    assert_eq!(e.text(), "{\n  \"a\": {\n    \"b\": 1");
    e.paste("\r\n}\r\n}");
    assert_eq!(e.text(), "{\n  \"a\": {\n    \"b\": 1\n}\n}");
}

#[test]
fn keys_come_from_the_keymap() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keymap.toml"),
        "[editor]\nsave = \"ctrl-w\"\nhelp = \"f2\"\n",
    )
    .unwrap();
    let km = Keymap::load("default", Some(dir.path())).unwrap();
    let mut e = Editor::create(&templates()[0]);
    e.set_keys(&km);
    assert_eq!(e.handle_key(key(KeyCode::F(2))), EditorOutcome::Help);
    // ctrl-s is no longer save; it goes to the text area (no change).
    assert_eq!(e.handle_key(ctrl('s')), EditorOutcome::None);
    assert!(!e.is_naming());
    assert_eq!(e.handle_key(ctrl('w')), EditorOutcome::None);
    assert!(e.is_naming(), "ctrl-w saves: a create asks for the name");
}

fn draw(e: &Editor, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| e.render(f, f.area(), &Theme::default_dark()))
        .unwrap();
    term
}

fn cases() -> Vec<(&'static str, Editor)> {
    let valid = Editor::create(&templates()[1]);
    let mut syntax =
        edit_of(json!({"command": ["uvx", "mcp-server-fetch"], "env_vars": {"ROOT": "/srv"}}));
    syntax.handle_key(key(KeyCode::Down));
    syntax.handle_key(key(KeyCode::Down));
    syntax.handle_key(key(KeyCode::Down));
    syntax.handle_key(key(KeyCode::Down));
    syntax.handle_key(key(KeyCode::End));
    syntax.handle_key(key(KeyCode::Backspace));
    let mut schema = Editor::new(
        EditorMode::Create { template: None },
        "{\n  \"command\": [],\n  \"cwd\": 7,\n  \"env_vars\": {\"API_KEY\": \"hunter2\"}\n}\n",
    );
    schema.handle_key(ctrl('s'));
    let mut naming = Editor::create(&templates()[2]);
    naming.handle_key(ctrl('s'));
    let mut warn = edit_of(json!({"command": "srv", "env_vars": {"API_KEY": "hunter2"}}));
    warn.handle_key(key(KeyCode::Char(' ')));
    warn.handle_key(key(KeyCode::Esc));
    vec![
        ("valid", valid),
        ("syntax_error", syntax),
        ("schema_error", schema),
        ("warning_and_confirm", warn),
        ("name_prompt", naming),
    ]
}

#[test]
fn snapshots() {
    for (name, e) in cases() {
        for (w, h) in [(80, 24), (200, 50)] {
            insta::assert_snapshot!(format!("editor_{name}_{w}x{h}"), draw(&e, w, h).backend());
        }
    }
}

#[test]
fn renders_small_and_tiny_without_panicking() {
    for (_, e) in cases() {
        for (w, h) in [(40, 12), (12, 4), (1, 1), (0, 0)] {
            draw(&e, w, h);
        }
    }
}

#[test]
fn renders_in_another_theme_without_restyling_first() {
    let e = Editor::create(&templates()[0]);
    let mut term = Terminal::new(TestBackend::new(60, 12)).unwrap();
    let light = Theme::preset("light").unwrap();
    term.draw(|f| e.render(f, f.area(), &light)).unwrap();
    let cell = &term.backend().buffer()[(6, 1)];
    assert_eq!(cell.fg, light.base.fg.unwrap());
}

#[test]
fn the_unsaved_question_and_the_jump_come_from_the_keymap() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keymap.toml"),
        "[unsaved]\nyes = \"x\"\n[editor]\njump_to_problem = \"f9\"\n",
    )
    .unwrap();
    let km = Keymap::load("default", Some(dir.path())).unwrap();
    let mut e = edit_of(json!({"command": "a"}));
    e.set_keys(&km);
    type_str(&mut e, " ");
    e.handle_key(key(KeyCode::Esc));
    assert!(e.is_confirming());
    // 'y' no longer discards; the keymap's 'x' does.
    assert_eq!(e.handle_key(key(KeyCode::Char('y'))), EditorOutcome::None);
    assert!(e.is_confirming());
    assert_eq!(e.handle_key(key(KeyCode::Char('x'))), EditorOutcome::Close);
    // The jump moves the cursor to the problem on the keymap's key only.
    let mut e = blank();
    e.set_keys(&km);
    e.replace_text("{\n  \"command\": \n}\n");
    let at = e.cursor();
    e.handle_key(key(KeyCode::F(8)));
    assert_eq!(e.cursor(), at, "f8 is not bound any more");
    e.handle_key(key(KeyCode::F(9)));
    assert_ne!(e.cursor(), at);
}
