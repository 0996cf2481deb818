use super::*;
use std::path::PathBuf;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let themes = dir.join("themes");
    std::fs::create_dir_all(&themes).unwrap();
    let p = themes.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn every_preset_loads_and_sets_every_role() {
    for (name, _) in PRESETS {
        let t = Theme::preset(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(t.name, *name);
    }
    assert_eq!(Theme::preset("no-color").unwrap(), Theme::no_color());
    assert!(
        Theme::preset("nope")
            .unwrap_err()
            .to_string()
            .contains("unknown theme 'nope'")
    );
}

#[test]
fn themes_declare_their_background_and_paint_it_on_the_other_kind() {
    let light = Theme::preset("light").unwrap();
    assert_eq!(light.background, Background::Light);
    assert!(light.paper.is_some());
    // On a dark (or unknown) terminal the light theme paints its paper.
    for terminal in [None, Some(Background::Dark)] {
        let mut t = light.clone();
        t.fit_background(terminal);
        assert_eq!(t.base.bg, light.paper, "{terminal:?}");
        assert!(
            t.describe_background(terminal)
                .contains("paints the theme's own background")
        );
    }
    let mut on_light = light.clone();
    on_light.fit_background(Some(Background::Light));
    assert_eq!(on_light.base, light.base, "a light terminal needs no paper");
    // A dark theme on a light terminal paints its dark paper.
    let mut dark = Theme::preset("default").unwrap();
    assert_eq!(dark.background, Background::Dark);
    dark.fit_background(Some(Background::Light));
    assert_eq!(dark.base.bg, Some(Color::Rgb(0x1c, 0x1c, 0x1c)));
    // Every preset says what it is made for and has paper.
    for (name, _) in PRESETS {
        assert!(Theme::preset(name).unwrap().paper.is_some(), "{name}");
    }
}

#[test]
fn a_bad_background_is_one_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "odd",
        "inherits = \"default\"\nbackground = \"grey\"\n",
    );
    let e = Theme::load("odd", Some(tmp.path()), false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(":2: key 'background': must be \"dark\" or \"light\""),
        "{e}"
    );
    write(
        tmp.path(),
        "lit",
        "inherits = \"default\"\nbackground = \"light\"\npaper = \"lightyellow\"\n",
    );
    let t = Theme::load("lit", Some(tmp.path()), false).unwrap();
    assert_eq!(
        (t.background, t.paper),
        (Background::Light, Some(Color::LightYellow))
    );
}

#[test]
fn default_toml_matches_the_built_in_dark_theme() {
    assert_eq!(Theme::preset("default").unwrap(), Theme::default_dark());
}

#[test]
fn presets_differ_from_each_other() {
    let d = Theme::preset("default").unwrap();
    for name in ["light", "high-contrast", "catppuccin-mocha", "gruvbox-dark"] {
        let t = Theme::preset(name).unwrap();
        assert_ne!(t.base, d.base, "{name}");
        assert_ne!(t.status(Status::Running), Style::default(), "{name}");
    }
}

#[test]
fn no_color_wins_over_the_name_and_stays_readable() {
    let t = Theme::load("catppuccin-mocha", None, true).unwrap();
    assert_eq!(t, Theme::no_color());
    // Selection and errors stay visible through modifiers alone.
    assert!(t.selected.add_modifier.contains(Modifier::REVERSED));
    assert!(t.error.add_modifier.contains(Modifier::BOLD));
    assert_eq!(t.selected.fg, None);
}

#[test]
fn user_file_overrides_and_inherits() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "mine",
        "inherits = \"default\"\n[palette]\nhot = \"#ff0000\"\n[ui]\nselected = { fg = \"hot\", bg = 236, modifiers = [\"underlined\"] }\ndim = \"darkgray\"\n",
    );
    let t = Theme::load("mine", Some(dir.path()), false).unwrap();
    assert_eq!(t.name, "mine");
    assert_eq!(
        t.selected,
        Style::default()
            .fg(Color::Rgb(255, 0, 0))
            .bg(Color::Indexed(236))
            .add_modifier(Modifier::UNDERLINED)
    );
    assert_eq!(t.dim, Style::default().fg(Color::DarkGray));
    // Everything else comes from the parent, including its palette names.
    let d = Theme::default_dark();
    assert_eq!(t.header, d.header);
    assert_eq!(t.statuses, d.statuses);
    assert!(Theme::available(Some(dir.path())).contains(&"mine".to_string()));
}

#[test]
fn a_user_file_named_like_a_preset_replaces_it_and_may_inherit_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "default",
        "inherits = \"default\"\nui.ok = \"magenta\"\n",
    );
    let t = Theme::load("default", Some(dir.path()), false).unwrap();
    assert_eq!(t.ok, Style::default().fg(Color::Magenta));
    assert_eq!(t.error, Theme::default_dark().error);
}

#[test]
fn bad_colour_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "foo",
        "inherits = \"default\"\n\n[ui.selected]\nfg = \"red\"\nbg = \"#zzz\"\n",
    );
    let e = Theme::load("foo", Some(dir.path()), false).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:5: key 'ui.selected.bg': '#zzz' is not a colour (use #rrggbb, a name such as \"red\", or 0-255)",
            p.display()
        )
    );
    assert_eq!(e.line, Some(5));
}

#[test]
fn missing_colour_without_inherits_is_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("[ui]\n");
    for r in UI_ROLES.iter().filter(|r| **r != "header") {
        text.push_str(&format!("{r} = \"white\"\n"));
    }
    text.push_str("[status]\n");
    for s in status_names() {
        text.push_str(&format!("{s} = \"white\"\n"));
    }
    let p = write(dir.path(), "bare", &text);
    let e = Theme::load("bare", Some(dir.path()), false).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: key 'ui.header': is missing; set it, or add inherits = \"default\" at the top to take the roles you leave out from a preset",
            p.display()
        )
    );
    // With the missing role added it loads.
    text.push_str("[ui]\n");
    let fixed = text.replacen("[ui]\n", "[ui]\nheader = 33\n", 1);
    let fixed = fixed.trim_end_matches("[ui]\n").to_string();
    write(dir.path(), "bare", &fixed);
    let t = Theme::load("bare", Some(dir.path()), false).unwrap();
    assert_eq!(t.header, Style::default().fg(Color::Indexed(33)));
}

#[test]
fn bad_files_give_precise_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        (
            "inherits = \"default\"\nui.glow = \"red\"\n",
            ":2: key 'ui.glow': is not a role (known: base,",
        ),
        (
            "inherits = \"default\"\ncolours = 1\n",
            ":2: key 'colours': is not a theme key (use inherits, background, paper, palette, ui or status)",
        ),
        (
            "inherits = \"default\"\n[ui]\nok = { fg = \"red\", modifiers = [\"shiny\"] }\n",
            ":3: key 'ui.ok.modifiers': 'shiny' is not a modifier (use bold,",
        ),
        (
            "inherits = \"default\"\n[ui]\nok = { fb = \"red\" }\n",
            ":3: key 'ui.ok.fb': is not a style field (use fg, bg or modifiers)",
        ),
        (
            "inherits = \"default\"\n[status]\nrunning = 300\n",
            ":3: key 'status.running': 300 is not a colour (use #rrggbb",
        ),
        (
            "inherits = \"default\"\n[status]\nrunning = \"mauve\"\n",
            ":3: key 'status.running': 'mauve' is not a colour or a palette name (use #rrggbb",
        ),
        (
            "inherits = \"default\"\n[palette]\nx = \"x\"\n",
            ":3: key 'palette.x': 'x' is not a colour (use #rrggbb",
        ),
        (
            "inherits = \"nosuch\"\n",
            ":1: there is no theme 'nosuch' (built in: default, light",
        ),
        ("[ui\nok = 1\n", ":1: not valid TOML"),
    ];
    for (text, want) in cases {
        let p = write(dir.path(), "bad", text);
        let e = Theme::load("bad", Some(dir.path()), false)
            .unwrap_err()
            .to_string();
        let want = format!("{}{want}", p.display());
        assert!(e.starts_with(&want), "got: {e}\nwant prefix: {want}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
}

#[test]
fn inheritance_cycles_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a", "inherits = \"b\"\n");
    write(dir.path(), "b", "inherits = \"a\"\n");
    let e = Theme::load("a", Some(dir.path()), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("inheritance loops back"), "{e}");
}

#[test]
fn unknown_theme_names_the_choices() {
    let e = Theme::load("zzz", None, false).unwrap_err().to_string();
    assert!(e.contains("there is no theme 'zzz'"), "{e}");
    assert!(e.contains("catppuccin-mocha"), "{e}");
}

#[test]
fn colours_parse() {
    assert_eq!(parse_colour("#0a0B0c"), Some(Color::Rgb(10, 11, 12)));
    assert_eq!(parse_colour("light-blue"), Some(Color::LightBlue));
    assert_eq!(parse_colour("244"), Some(Color::Indexed(244)));
    assert_eq!(parse_colour("#12345"), None);
    assert_eq!(parse_colour("256"), None);
    assert_eq!(parse_colour("chartreuse"), None);
}

#[test]
fn the_colour_words_the_docs_use_still_parse() {
    for (word, want) in [
        ("red", Color::Red),
        ("lightblue", Color::LightBlue),
        ("darkgray", Color::DarkGray),
        ("dark-grey", Color::DarkGray),
        ("reset", Color::Reset),
        ("default", Color::Reset),
        ("Black", Color::Black),
        ("0", Color::Indexed(0)),
        ("#FFffFF", Color::Rgb(255, 255, 255)),
    ] {
        assert_eq!(parse_colour(word), Some(want), "{word}");
    }
    // Each role is its field: a user file setting one role changes that field only.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "one",
        "inherits = \"default\"\n[ui]\nbadge = \"magenta\"\n",
    );
    let t = Theme::load("one", Some(dir.path()), false).unwrap();
    let mut want = Theme::default_dark();
    want.name = "one".into();
    want.badge = Style::default().fg(Color::Magenta);
    assert_eq!(t, want);
}
