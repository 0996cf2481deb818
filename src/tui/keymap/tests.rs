use super::key::{NAMED, normalize};
use super::*;
use crossterm::event::{KeyCode, KeyModifiers};

fn k(code: KeyCode, m: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, m)
}

fn user(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(USER_FILE);
    std::fs::write(&p, text).unwrap();
    let file = p.display().to_string();
    (dir, file)
}

#[test]
fn labels_round_trip() {
    for label in [
        "q",
        "G",
        "?",
        ":",
        "/",
        "ctrl-s",
        "ctrl-d",
        "alt-enter",
        "shift-tab",
        "enter",
        "esc",
        "space",
        "tab",
        "f1",
        "f12",
        "pgup",
        "pgdn",
        "home",
        "end",
        "up",
        "down",
        "left",
        "right",
        "backspace",
        "delete",
        "insert",
        "ctrl-alt-x",
        "alt-shift-up",
        "-",
        "ctrl--",
    ] {
        let key = parse_key(label).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(key_label(&key), label, "round trip of {label}");
    }
    // Aliases and case print in canonical form.
    assert_eq!(key_label(&parse_key("Ctrl-S").unwrap()), "ctrl-s");
    assert_eq!(key_label(&parse_key("PageDown").unwrap()), "pgdn");
    assert_eq!(key_label(&parse_key("backtab").unwrap()), "shift-tab");
    assert_eq!(key_label(&parse_key("shift-g").unwrap()), "G");
    for bad in ["", "ctrl-", "f13", "hyper-x", "shift-1", "enterr"] {
        assert!(parse_key(bad).is_err(), "{bad:?} should not parse");
    }
}

use proptest::strategy::Strategy as _;

proptest::proptest! {
    #[test]
    fn any_key_label_parses_back_to_the_same_key(
        code in proptest::prop_oneof![
            proptest::char::range('!', '~').prop_map(KeyCode::Char),
            proptest::char::any().prop_map(KeyCode::Char),
            (1u8..=12).prop_map(KeyCode::F),
            proptest::sample::select(NAMED.iter().map(|(_, c)| *c).collect::<Vec<_>>()),
        ],
        ctrl in proptest::bool::ANY,
        alt in proptest::bool::ANY,
        shift in proptest::bool::ANY,
    ) {
        let mut m = KeyModifiers::NONE;
        if ctrl { m |= KeyModifiers::CONTROL; }
        if alt { m |= KeyModifiers::ALT; }
        if shift { m |= KeyModifiers::SHIFT; }
        let k = KeyEvent::new(code, m);
        let label = key_label(&k);
        let parsed = parse_key(&label);
        proptest::prop_assert_eq!(parsed, Ok(normalize(&k)), "label {:?}", label);
    }
}

#[test]
fn terminal_shift_reports_match_bindings() {
    let km = Keymap::preset("vim").unwrap();
    // Terminals report G as Char('G') with SHIFT; some as Char('g')+SHIFT.
    assert_eq!(
        km.action(View::Instances, &k(KeyCode::Char('G'), KeyModifiers::SHIFT)),
        Some(Action::Bottom)
    );
    assert_eq!(
        km.action(View::Instances, &k(KeyCode::Char('g'), KeyModifiers::SHIFT)),
        Some(Action::Bottom)
    );
    assert_eq!(
        km.action(View::Instances, &k(KeyCode::Char('g'), KeyModifiers::NONE)),
        Some(Action::Top)
    );
    assert_eq!(
        km.action(View::Detail, &k(KeyCode::BackTab, KeyModifiers::SHIFT)),
        Some(Action::PrevTab)
    );
    assert_eq!(
        km.action(View::Global, &k(KeyCode::Char('?'), KeyModifiers::SHIFT)),
        Some(Action::Help)
    );
}

#[test]
fn presets_load_and_bind_every_action() {
    for (name, _) in PRESETS {
        let km = Keymap::preset(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        for &a in Action::ALL {
            assert!(
                km.all_bindings().iter().any(|b| b.action == a),
                "{name}: {} has no key",
                a.name()
            );
        }
    }
    assert!(
        Keymap::preset("emacs")
            .unwrap_err()
            .to_string()
            .contains("unknown keymap 'emacs'")
    );
}

#[test]
fn default_preset_is_k9s_like() {
    let km = Keymap::preset("default").unwrap();
    let ctrl = |c| k(KeyCode::Char(c), KeyModifiers::CONTROL);
    let ch = |c| k(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(km.action(View::Instances, &ch(':')), Some(Action::Command));
    assert_eq!(km.action(View::Instances, &ch('/')), Some(Action::Filter));
    assert_eq!(km.action(View::Events, &ch('?')), Some(Action::Help));
    assert_eq!(
        km.action(View::Instances, &k(KeyCode::Enter, KeyModifiers::NONE)),
        Some(Action::Open)
    );
    assert_eq!(
        km.action(View::Detail, &k(KeyCode::Esc, KeyModifiers::NONE)),
        Some(Action::Back)
    );
    assert_eq!(km.action(View::Instances, &ctrl('d')), Some(Action::Delete));
    assert_eq!(km.action(View::Instances, &ch('s')), Some(Action::Start));
    assert_eq!(km.action(View::Instances, &ch('x')), Some(Action::Stop));
    assert_eq!(km.action(View::Editor, &ctrl('s')), Some(Action::Save));
    // The editor does not fall back to global keys: 'q' is text there.
    assert_eq!(km.action(View::Editor, &ch('q')), None);
    assert_eq!(km.action(View::Instances, &ch('q')), Some(Action::Quit));
    // A view's own binding shadows the global one in bindings().
    let detail = km.bindings(View::Detail);
    assert!(
        detail
            .iter()
            .any(|b| b.label == "tab" && b.action == Action::NextTab)
    );
    assert_eq!(km.keys_for(View::Editor, Action::Save), vec!["ctrl-s"]);
    assert_eq!(km.keys_for(View::Detail, Action::Quit), vec!["q"]);
}

#[test]
fn conflict_confirm_and_command_line_keys_are_data() {
    let ch = |c| k(KeyCode::Char(c), KeyModifiers::NONE);
    let named = |c| k(c, KeyModifiers::NONE);
    for (name, _) in PRESETS {
        let km = Keymap::preset(name).unwrap();
        for (c, a) in [
            ('r', Action::ReloadTheirs),
            ('o', Action::Overwrite),
            ('m', Action::Merge),
            ('c', Action::Recreate),
            ('y', Action::Yes),
            ('e', Action::Back),
            ('k', Action::Up),
            ('G', Action::Bottom),
            ('h', Action::ScrollLeft),
        ] {
            assert_eq!(km.action(View::Conflict, &ch(c)), Some(a), "{name}: {c}");
        }
        // Modal: global keys do not reach the conflict screen.
        assert_eq!(km.action(View::Conflict, &ch('q')), None, "{name}");
        assert_eq!(km.action(View::Confirm, &ch('Y')), Some(Action::Yes));
        assert_eq!(km.action(View::Confirm, &ch('n')), Some(Action::Back));
        assert_eq!(
            km.action(View::Confirm, &named(KeyCode::Esc)),
            Some(Action::Back)
        );
        assert_eq!(
            km.action(View::Confirm, &named(KeyCode::Tab)),
            Some(Action::Switch)
        );
        assert_eq!(
            km.action(View::Confirm, &named(KeyCode::Enter)),
            Some(Action::Choose)
        );
        assert_eq!(km.action(View::Confirm, &ch('q')), None);
        assert_eq!(
            km.action(View::CommandLine, &named(KeyCode::Tab)),
            Some(Action::Complete)
        );
        // Typing on the `:` line is never taken by a global key.
        assert_eq!(km.action(View::CommandLine, &ch('q')), None);
    }
    // The `:` line keeps its own keys.
    for bad in ["x", "enter", "backspace", "esc"] {
        let (dir, file) = user(&format!("[command_line]\ncomplete = \"{bad}\"\n"));
        let e = Keymap::load("default", Some(dir.path())).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{file}:2: key '{bad}' in [command_line] is the line's own (typing, enter, backspace, esc); use tab, a function key or a key with ctrl- or alt-"
            )
        );
    }
    let (dir, _) = user("[command_line]\ncomplete = \"ctrl-t\"\n");
    let km = Keymap::load("default", Some(dir.path())).unwrap();
    assert_eq!(
        km.action(
            View::CommandLine,
            &k(KeyCode::Char('t'), KeyModifiers::CONTROL)
        ),
        Some(Action::Complete)
    );
    // Without a way back, the conflict screen or the question would trap.
    let (dir, _) = user("[conflict]\nback = []\n");
    assert!(
        Keymap::load("default", Some(dir.path()))
            .unwrap_err()
            .to_string()
            .contains("'back' has no key in [conflict]")
    );
    let md = markdown_key_table(&Keymap::preset("default").unwrap());
    assert!(md.contains("### Conflict screen"), "{md}");
    assert!(
        md.contains("| `r` | reload theirs (discard yours) |"),
        "{md}"
    );
    assert!(
        md.contains("| `y`, `Y` | yes: do what the question asks |"),
        "{md}"
    );
    assert!(
        md.contains("| `tab` | complete the command or its argument |"),
        "{md}"
    );
}

#[test]
fn user_file_merges_over_the_chosen_preset() {
    let (dir, _) = user(
        "preset = \"vim\"\n[instances]\ndelete = [\"ctrl-x\", \"delete\"]\n[global]\nquit = \"ctrl-q\"\n",
    );
    let km = Keymap::load("default", Some(dir.path())).unwrap();
    assert_eq!(km.name, "vim");
    let ctrl = |c| k(KeyCode::Char(c), KeyModifiers::CONTROL);
    assert_eq!(km.action(View::Instances, &ctrl('x')), Some(Action::Delete));
    assert_eq!(
        km.action(View::Instances, &k(KeyCode::Delete, KeyModifiers::NONE)),
        Some(Action::Delete)
    );
    // The replaced keys are gone; the rest of vim stays.
    assert_eq!(
        km.action(View::Instances, &k(KeyCode::Char('D'), KeyModifiers::SHIFT)),
        None
    );
    assert_eq!(
        km.action(View::Instances, &k(KeyCode::Char('q'), KeyModifiers::NONE)),
        None
    );
    assert_eq!(km.action(View::Instances, &ctrl('q')), Some(Action::Quit));
    assert_eq!(
        km.action(View::Instances, &k(KeyCode::Char('j'), KeyModifiers::NONE)),
        Some(Action::Down)
    );
    // Without a user file, load is the preset.
    let empty = tempfile::tempdir().unwrap();
    let km = Keymap::load("default", Some(empty.path())).unwrap();
    assert_eq!(
        km.action(View::Instances, &k(KeyCode::Char('q'), KeyModifiers::NONE)),
        Some(Action::Quit)
    );
}

#[test]
fn two_actions_on_one_key_name_both() {
    // Against the preset: 'x' is stop in [instances].
    let (dir, file) = user("# mine\n[instances]\ndelete = \"x\"\n");
    let e = Keymap::load("default", Some(dir.path())).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{file}:3: key 'x' in [instances] is bound to both 'stop' (keymaps/default.toml:38) and 'delete'; give one of them another key"
        )
    );
    // Within the user file.
    let (dir, file) = user("[events]\nraw = \"z\"\nfollow = \"z\"\n");
    let e = Keymap::load("default", Some(dir.path())).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{file}:3: key 'z' in [events] is bound to both 'raw' (line 2) and 'follow'; give one of them another key"
        )
    );
    // The same key in different views is fine.
    let (dir, _) = user("[events]\nraw = \"z\"\n[detail]\nfollow = \"z\"\n");
    assert!(Keymap::load("default", Some(dir.path())).is_ok());
}

#[test]
fn bad_user_files_name_file_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "[instances]\nexplode = \"x\"\n",
            ":2: 'explode' in [instances] is not an action (known: quit, help,",
        ),
        (
            "\n[sidebar]\nquit = \"q\"\n",
            ":2: 'sidebar' is not a view (use global, instances, detail, events, editor, quit, conflict, confirm, command_line, picker, drafts, pager, unsaved, or preset = \"NAME\")",
        ),
        (
            "[global]\nquit = \"ctrl-hyper-q\"\n",
            ":2: 'ctrl-hyper-q' is not a key (use a character, or enter",
        ),
        (
            "[global]\nquit = 5\n",
            ":2: 'quit' in [global] must be a key such as \"ctrl-s\" or a list such as [\"k\", \"up\"]",
        ),
        (
            "[global]\nquit = [\"q\", 5]\n",
            ":2: 'quit' in [global]: every key must be in quotes",
        ),
        (
            "[editor]\nsave = \"s\"\n",
            ":2: key 's' in [editor] would stop you typing it; use a key with ctrl- or alt-, a function key, or esc",
        ),
        ("[global\n", ":1: not valid TOML"),
        (
            "preset = \"emacs\"\n",
            ": unknown keymap 'emacs' (built in: default, vim)",
        ),
        (
            "[global]\nquit = []\n",
            ": 'quit' has no key in [global], so it could not be done at all; bind one",
        ),
    ];
    for (text, want) in cases {
        let (dir, file) = user(text);
        let e = Keymap::load("default", Some(dir.path()))
            .unwrap_err()
            .to_string();
        let want = format!("{file}{want}");
        assert!(e.starts_with(&want), "got:  {e}\nwant: {want}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
}

#[test]
fn markdown_table_lists_every_binding() {
    let km = Keymap::preset("default").unwrap();
    let md = markdown_key_table(&km);
    assert!(md.starts_with("### Everywhere (except the editor and the prompts below)\n\n| Key | Action |\n|---|---|\n| `q` | quit |\n"), "{md}");
    assert!(md.contains("### Detail\n"));
    assert!(md.contains("| `tab`, `right` | next tab |"));
    assert!(md.contains("| `ctrl-s` | save |"));
    assert_eq!(
        md.matches("\n| `").count(),
        km.all_bindings()
            .iter()
            .fold(Vec::new(), |mut acc: Vec<(View, Action)>, b| {
                if !acc.contains(&(b.view, b.action)) {
                    acc.push((b.view, b.action));
                }
                acc
            })
            .len()
    );
    // A '|' key must not break the table.
    let (dir, _) = user("[events]\nraw = \"|\"\n");
    let md = markdown_key_table(&Keymap::load("default", Some(dir.path())).unwrap());
    assert!(md.contains("| `\\|` | raw envelope |"), "{md}");
}

/// If README.md marks a key table with `<!-- keys:start -->` and
/// `<!-- keys:end -->`, what is between is the generated table
/// (`UPDATE_KEY_TABLE=1` rewrites it).
#[test]
fn readme_key_table_is_current_when_marked() {
    const START: &str = "<!-- keys:start -->\n";
    const END: &str = "<!-- keys:end -->";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let Ok(readme) = std::fs::read_to_string(&path) else {
        return;
    };
    let (Some(a), Some(b)) = (readme.find(START), readme.find(END)) else {
        return;
    };
    let table = markdown_key_table(&Keymap::preset("default").unwrap());
    let body = &readme[a + START.len()..b];
    if std::env::var_os("UPDATE_KEY_TABLE").is_some() && body != table {
        let new = format!("{}{table}{}", &readme[..a + START.len()], &readme[b..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    assert_eq!(
        body, table,
        "README key table is stale; run UPDATE_KEY_TABLE=1 cargo test --lib tui::keymap"
    );
}

/// `keymaps/NAME.md` is generated from `keymaps/NAME.toml`; run
/// with `UPDATE_KEY_TABLE=1` to rewrite them after changing a keymap.
#[test]
fn generated_key_tables_are_current() {
    for (name, _) in PRESETS {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("keymaps/{name}.md"));
        let want = format!(
            "<!-- generated from keymaps/{name}.toml by `UPDATE_KEY_TABLE=1 cargo test --lib tui::keymap`; do not edit -->\n\n{}",
            markdown_key_table(&Keymap::preset(name).unwrap())
        );
        if std::env::var_os("UPDATE_KEY_TABLE").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            have, want,
            "keymaps/{name}.md is stale; run UPDATE_KEY_TABLE=1 cargo test --lib tui::keymap"
        );
    }
}

#[test]
fn picker_numbers_pager_and_ctrl_c_are_data() {
    let ch = |c| k(KeyCode::Char(c), KeyModifiers::NONE);
    let ctrl_c = k(KeyCode::Char('c'), KeyModifiers::CONTROL);
    for (name, _) in PRESETS {
        let km = Keymap::preset(name).unwrap();
        assert_eq!(km.action(View::Picker, &ch('1')), Some(Action::Choose1));
        assert_eq!(km.action(View::Picker, &ch('9')), Some(Action::Choose9));
        assert_eq!(Action::Choose7.number(), Some(7));
        assert_eq!(Action::Choose.number(), None);
        assert_eq!(km.action(View::Confirm, &ctrl_c), Some(Action::Back));
        // The pager closes on its own keys and keeps the global ones.
        let enter = k(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(km.action(View::Pager, &enter), Some(Action::Back));
        assert_eq!(km.action(View::Pager, &ctrl_c), Some(Action::Back));
        assert_eq!(km.action(View::Pager, &ch('q')), Some(Action::Quit));
    }
    let (dir, _) = user("[picker]\nchoose_1 = \"a\"\n[pager]\nback = \"x\"\n");
    let km = Keymap::load("default", Some(dir.path())).unwrap();
    assert_eq!(km.action(View::Picker, &ch('a')), Some(Action::Choose1));
    assert_eq!(km.action(View::Picker, &ch('1')), None);
    assert_eq!(km.action(View::Pager, &ch('x')), Some(Action::Back));
    assert_eq!(
        km.action(View::Pager, &k(KeyCode::Enter, KeyModifiers::NONE)),
        None
    );
    // One key, one meaning in the new sections too.
    let (dir, file) = user("[picker]\nchoose_2 = \"1\"\n");
    // Where the preset binds it (counted, so a key added above moves it).
    let line = include_str!("../../../keymaps/default.toml")
        .lines()
        .position(|l| l.starts_with("choose_1 ="))
        .unwrap()
        + 1;
    assert_eq!(
        Keymap::load("default", Some(dir.path()))
            .unwrap_err()
            .to_string(),
        format!(
            "{file}:2: key '1' in [picker] is bound to both 'choose_1' (keymaps/default.toml:{line}) and 'choose_2'; give one of them another key"
        )
    );
    let (dir, file) = user("[pager]\nup = \"enter\"\n");
    assert!(
        Keymap::load("default", Some(dir.path()))
            .unwrap_err()
            .to_string()
            .starts_with(&format!(
                "{file}:2: key 'enter' in [pager] is bound to both 'back'"
            ))
    );
}

#[test]
fn the_editor_jump_and_its_unsaved_question_are_data() {
    let ch = |c| k(KeyCode::Char(c), KeyModifiers::NONE);
    for (name, _) in PRESETS {
        let km = Keymap::preset(name).unwrap();
        assert_eq!(
            km.action(View::Editor, &k(KeyCode::F(8), KeyModifiers::NONE)),
            Some(Action::JumpToProblem)
        );
        assert_eq!(km.action(View::Unsaved, &ch('y')), Some(Action::Yes));
        assert_eq!(km.action(View::Unsaved, &ch('d')), Some(Action::Yes));
        assert_eq!(km.action(View::Unsaved, &ch('s')), Some(Action::Save));
        assert_eq!(km.action(View::Unsaved, &ch('n')), Some(Action::Back));
        // Modal: nothing else answers the question.
        assert_eq!(km.action(View::Unsaved, &ch('q')), None);
    }
    let (dir, _) = user("[unsaved]\nback = []\n");
    assert!(
        Keymap::load("default", Some(dir.path()))
            .unwrap_err()
            .to_string()
            .contains("'back' has no key in [unsaved]")
    );
}

#[test]
fn motion_hints_are_arrows_only_while_the_arrows_are_bound() {
    let km = Keymap::preset("default").unwrap();
    let all = [
        Action::Up,
        Action::Down,
        Action::ScrollLeft,
        Action::ScrollRight,
    ];
    assert_eq!(km.motion_keys(View::Conflict, &all), "↑↓←→");
    assert_eq!(
        km.motion_keys(View::Picker, &[Action::Up, Action::Down]),
        "↑↓"
    );
    let (dir, _) = user("[conflict]\nup = \"w\"\ndown = \"s\"\n");
    let km = Keymap::load("default", Some(dir.path())).unwrap();
    assert_eq!(km.motion_keys(View::Conflict, &all), "w/s/left/right");
}
