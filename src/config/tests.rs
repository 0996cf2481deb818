use super::*;
use std::collections::HashMap;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn file(text: &str) -> FileConfig {
    FileConfig::parse(Path::new("/etc/aacon/config.toml"), text).unwrap()
}

fn file_err(text: &str) -> ConfigError {
    FileConfig::parse(Path::new("/etc/aacon/config.toml"), text).unwrap_err()
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    let s = Settings::resolve(&Overrides::default(), &no_env, None).unwrap();
    assert_eq!(s.api_url, None);
    assert_eq!(s.backend_name(), "embedded");
    assert_eq!(s.redis_url, None);
    assert_eq!(s.stream_key, DEFAULT_STREAM_KEY);
    assert_eq!(s.maxlen, DEFAULT_MAXLEN);
    assert!(!s.agentarea_pubsub);
    assert_eq!(s.theme, "default");
    assert_eq!(s.keymap, "default");
    assert!(!s.read_only);
    assert_eq!(s.refresh(), Duration::from_millis(250));
    assert_eq!(s.health_interval(), Duration::from_secs(15));
    assert_eq!(s.log_level, "info");
    assert_eq!(s.origin("ui.theme"), Origin::Default);
}

#[test]
fn precedence_is_flag_then_env_then_file_then_default() {
    let f = || {
        Some(file(
            "[backend]\napi_url = \"https://file.example\"\nworkspace = \"file-ws\"\ntoken = \"file-token\"\n\
             [redis]\nurl = \"redis://file:6379\"\n\
             [ui]\ntheme = \"light\"\nkeymap = \"vim\"\nread_only = false\n\
             [log]\nlevel = \"warn\"\n",
        ))
    };
    let env = env_of(&[
        (ENV_API_URL, "https://env.example"),
        (ENV_WORKSPACE, "env-ws"),
        (ENV_API_TOKEN, "env-token"),
        (ENV_REDIS_URL, "redis://env:6379"),
        (ENV_THEME, "gruvbox-dark"),
        (ENV_KEYMAP, "emacs"),
        (ENV_READ_ONLY, "yes"),
        (ENV_LOG, "debug"),
    ]);
    let flags = Overrides {
        api_url: Some("https://flag.example".into()),
        workspace: Some("flag-ws".into()),
        redis_url: Some(Secret::new("redis://flag:6379")),
        theme: Some("high-contrast".into()),
        keymap: Some("default".into()),
        read_only: Some(false),
        log_level: Some("trace".into()),
    };

    // Flags win over everything.
    let s = Settings::resolve(&flags, &env, f()).unwrap();
    assert_eq!(s.api_url.as_deref(), Some("https://flag.example"));
    assert_eq!(s.workspace.as_deref(), Some("flag-ws"));
    assert_eq!(
        s.redis_url.as_ref().map(Secret::expose),
        Some("redis://flag:6379")
    );
    assert_eq!(s.theme, "high-contrast");
    assert_eq!(s.keymap, "default");
    assert!(!s.read_only);
    assert_eq!(s.log_level, "trace");
    assert_eq!(s.origin("ui.theme"), Origin::Flag("--theme"));
    // The token has no flag: the environment wins.
    assert_eq!(s.api_token.as_ref().map(Secret::expose), Some("env-token"));

    // Without flags, the environment wins over the file.
    let s = Settings::resolve(&Overrides::default(), &env, f()).unwrap();
    assert_eq!(s.api_url.as_deref(), Some("https://env.example"));
    assert_eq!(s.workspace.as_deref(), Some("env-ws"));
    assert_eq!(s.api_token.as_ref().map(Secret::expose), Some("env-token"));
    assert_eq!(
        s.redis_url.as_ref().map(Secret::expose),
        Some("redis://env:6379")
    );
    assert_eq!(s.theme, "gruvbox-dark");
    assert_eq!(s.keymap, "emacs");
    assert!(s.read_only);
    assert_eq!(s.log_level, "debug");
    assert_eq!(s.origin("ui.read_only"), Origin::Env(ENV_READ_ONLY));

    // Without flags or environment, the file wins over the defaults.
    let s = Settings::resolve(&Overrides::default(), &no_env, f()).unwrap();
    assert_eq!(s.api_url.as_deref(), Some("https://file.example"));
    assert_eq!(s.backend_name(), "https://file.example");
    assert_eq!(s.workspace.as_deref(), Some("file-ws"));
    assert_eq!(s.api_token.as_ref().map(Secret::expose), Some("file-token"));
    assert_eq!(
        s.redis_url.as_ref().map(Secret::expose),
        Some("redis://file:6379")
    );
    assert_eq!(s.theme, "light");
    assert_eq!(s.keymap, "vim");
    assert!(!s.read_only);
    assert_eq!(s.log_level, "warn");
    assert_eq!(
        s.origin("ui.theme"),
        Origin::File {
            path: PathBuf::from("/etc/aacon/config.toml"),
            line: Some(8),
            key: "ui.theme"
        }
    );

    // An empty environment variable counts as unset.
    let env = env_of(&[(ENV_THEME, "")]);
    let s = Settings::resolve(&Overrides::default(), &env, f()).unwrap();
    assert_eq!(s.theme, "light");
}

#[test]
fn file_only_keys_override_defaults() {
    let s = Settings::resolve(
        &Overrides::default(),
        &no_env,
        Some(file(
            "[redis]\nstream_key = \"team:events\"\nmaxlen = 0\nagentarea_pubsub = true\nca_cert = \"/ca.pem\"\n\
             [ui]\nrefresh_ms = 100\n[runtime]\nhealth_interval_secs = 60\n",
        )),
    )
    .unwrap();
    assert_eq!(s.stream_key, "team:events");
    assert_eq!(s.maxlen, 0);
    assert!(s.agentarea_pubsub);
    assert_eq!(s.ca_cert, Some(PathBuf::from("/ca.pem")));
    assert_eq!(s.refresh_ms, 100);
    assert_eq!(s.health_interval_secs, 60);
}

#[test]
fn unknown_keys_name_file_line_and_key() {
    let e = file_err("[ui]\ntheme = \"light\"\ncolour = \"red\"\n");
    assert_eq!(
        e.to_string(),
        "/etc/aacon/config.toml line 3, key `ui.colour`: unknown key; [ui] takes theme, keymap, read_only, refresh_ms, on_hangup"
    );
    let e = file_err("# top\n\n[colors]\nx = 1\n");
    let text = e.to_string();
    assert!(
        text.starts_with("/etc/aacon/config.toml line 3, key `colors`: unknown section or key"),
        "{text}"
    );
    let e = file_err("ui = { theme = \"x\", colour = 1 }\n");
    assert!(
        e.to_string()
            .contains("line 1, key `ui.colour`: unknown key; [ui] takes"),
        "{e}"
    );
    let e = file_err("ui.colour = 1\n");
    assert!(
        e.to_string()
            .contains("line 1, key `ui.colour`: unknown key; [ui] takes"),
        "{e}"
    );
    let e = file_err("theme = \"x\"\n");
    assert!(
        e.to_string()
            .contains("line 1, key `theme`: unknown section or key"),
        "{e}"
    );
}

#[test]
fn wrong_types_name_file_line_and_key() {
    let e = file_err("[ui]\n\nrefresh_ms = \"fast\"\n");
    assert_eq!(
        e.to_string(),
        "/etc/aacon/config.toml line 3, key `ui.refresh_ms`: must be a whole number of milliseconds from 16 to 10000, not a string"
    );
    let e = file_err("[redis]\nagentarea_pubsub = \"yes\"\n");
    assert!(
        e.to_string()
            .contains("line 2, key `redis.agentarea_pubsub`: must be true or false, not a string"),
        "{e}"
    );
    let e = file_err("[redis]\nmaxlen = -1\n");
    assert!(
        e.to_string()
            .contains("line 2, key `redis.maxlen`: must be a whole number"),
        "{e}"
    );
    let e = file_err("ui = 3\n");
    assert!(
        e.to_string()
            .contains("line 1, key `ui`: must be a table [ui], not an integer"),
        "{e}"
    );
    // The token's value never appears in an error.
    let e = file_err("[backend]\ntoken = 12345678\n");
    assert!(!e.to_string().contains("12345678"), "{e}");
    assert!(e.to_string().contains("key `backend.token`"), "{e}");
}

#[test]
fn bad_toml_names_file_and_line() {
    let e = file_err("[ui]\ntheme = \n");
    let text = e.to_string();
    assert!(text.starts_with("/etc/aacon/config.toml line 2"), "{text}");
    assert!(text.contains("not valid TOML"), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
    let e = file_err("[ui\ntheme = \"x\"\n");
    assert!(
        e.to_string().starts_with("/etc/aacon/config.toml line 1"),
        "{e}"
    );
    let e = file_err("[[ui]]\ntheme = \"x\"\n");
    assert!(
        e.to_string()
            .contains("line 1, key `ui`: [[ui]] makes an array of tables; write [ui]"),
        "{e}"
    );
    let e = file_err("[ui]\ntheme = \"a\"\ntheme = \"b\"\n");
    assert!(e.to_string().contains("the key is set twice"), "{e}");
    let text = e.to_string();
    assert!(text.contains("line 3"), "{text}");
    assert!(text.contains("ui.theme"), "{text}");
}

#[test]
fn bad_values_name_their_origin() {
    let bad = |text: &str| {
        Settings::resolve(&Overrides::default(), &no_env, Some(file(text)))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        bad("[ui]\ntheme = \"x\"\nrefresh_ms = 5\n"),
        "/etc/aacon/config.toml line 3, key `ui.refresh_ms`: 5 is out of range; use 16 to 10000 milliseconds"
    );
    assert!(
        bad("[runtime]\nhealth_interval_secs = 0\n")
            .contains("line 2, key `runtime.health_interval_secs`: 0 is out of range")
    );
    assert!(
        bad("[backend]\napi_url = \"ftp://x\"\n")
            .contains("key `backend.api_url`: 'ftp://x' is not an http or https URL")
    );
    assert!(bad("[ui]\ntheme = \"../../etc/passwd\"\n").contains("is not a theme name"));
    assert!(
        bad("[log]\nlevel = \"loud=?=\"\n")
            .contains("key `log.level`: 'loud=?=' is not a log level")
    );
    assert!(
        bad("[redis]\nstream_key = \" \"\n").contains("key `redis.stream_key`: the value is empty")
    );
    let e = bad("[redis]\nurl = \"http://u:hunter2@h\"\n");
    assert!(
        e.contains("key `redis.url`: 'http://u:***@h' is not a Redis URL"),
        "{e}"
    );
    assert!(!e.contains("hunter2"));

    let env = env_of(&[(ENV_READ_ONLY, "maybe")]);
    let e = Settings::resolve(&Overrides::default(), &env, None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the environment variable AACON_READ_ONLY: must be true or false (1/0, yes/no, on/off)"
    );
    let flags = Overrides {
        api_url: Some("nope".into()),
        ..Overrides::default()
    };
    let e = Settings::resolve(&flags, &no_env, None).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("the flag --api: 'nope' is not an http or https URL"),
        "{e}"
    );
}

#[test]
fn secrets_never_show_in_debug_or_display() {
    let s = Settings::resolve(
        &Overrides::default(),
        &env_of(&[
            (ENV_API_TOKEN, "tok-abcdef"),
            (ENV_REDIS_URL, "rediss://default:pw-xyz@127.0.0.1:6380/2"),
        ]),
        Some(file(
            "[backend]\napi_url = \"https://u:api-pw@h.example\"\n",
        )),
    )
    .unwrap();
    let debug = format!("{s:?}");
    for secret in ["tok-abcdef", "pw-xyz"] {
        assert!(!debug.contains(secret), "{debug}");
    }
    assert!(
        debug.contains("rediss://default:***@127.0.0.1:6380/2"),
        "{debug}"
    );
    assert_eq!(s.backend_name(), "https://u:***@h.example");
    assert_eq!(s.api_token.as_ref().unwrap().to_string(), "<redacted>");
    assert_eq!(s.api_token.as_ref().unwrap().expose(), "tok-abcdef");
    let f = file("[backend]\ntoken = \"t-123\"\n[redis]\nurl = \"redis://:p-456@h\"\n");
    let debug = format!("{f:?}");
    assert!(
        !debug.contains("t-123") && !debug.contains("p-456"),
        "{debug}"
    );
    assert_eq!(
        redacted_url("redis://127.0.0.1:6379"),
        "redis://127.0.0.1:6379"
    );
    assert_eq!(
        redacted_url("redis://:pw@127.0.0.1"),
        "redis://:***@127.0.0.1"
    );
}

/// The example with every `# key = value` line uncommented.
fn example_uncommented() -> String {
    let key_line = regex::Regex::new(r"^#\s?([a-z_]+\s*=.*)$").unwrap();
    EXAMPLE
        .lines()
        .map(|l| match key_line.captures(l) {
            Some(c) => c[1].to_string(),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_example_parses_and_documents_every_key() {
    // As shipped (all commented): the defaults.
    let shipped = file(EXAMPLE);
    assert!(shipped.present_keys().is_empty());
    // Every key uncommented: it parses (no unknown key, no wrong type),
    // sets every key there is, and resolves with the documented defaults.
    let all = file(&example_uncommented());
    let all_keys: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
    assert_eq!(all.present_keys(), all_keys);
    let s = Settings::resolve(&Overrides::default(), &no_env, Some(all)).unwrap();
    assert_eq!(s.stream_key, DEFAULT_STREAM_KEY);
    assert_eq!(s.maxlen, DEFAULT_MAXLEN);
    assert_eq!(s.refresh_ms, DEFAULT_REFRESH_MS);
    assert_eq!(s.health_interval_secs, DEFAULT_HEALTH_INTERVAL_SECS);
    assert_eq!(s.log_level, DEFAULT_LOG_LEVEL);
    assert_eq!(s.theme, DEFAULT_THEME);
    // Every environment variable is documented next to its key.
    for var in [
        ENV_API_URL,
        ENV_WORKSPACE,
        ENV_API_TOKEN,
        ENV_REDIS_URL,
        ENV_THEME,
        ENV_KEYMAP,
        ENV_READ_ONLY,
        ENV_LOG,
    ] {
        assert!(EXAMPLE.contains(var), "{var} is not documented");
    }
}

#[test]
fn load_reads_files_and_tells_a_missing_flag_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    assert_eq!(load(&path).unwrap(), None);
    let env = env_of(&[(CONFIG_DIR_ENV, dir.path().to_str().unwrap())]);
    assert_eq!(load_from(None, &env).unwrap(), None);
    assert_eq!(
        load_from(Some(&path), &env).unwrap_err().to_string(),
        format!(
            "the config file {} (given by --config) does not exist",
            path.display()
        )
    );
    std::fs::write(&path, "[ui]\ntheme = \"light\"\n").unwrap();
    let s = Settings::load(None, &Overrides::default(), &env).unwrap();
    assert_eq!(s.theme, "light");
    assert_eq!(
        s.origin("ui.theme").to_string(),
        format!("{} line 2, key `ui.theme`", path.display())
    );
    std::fs::write(&path, "[ui]\nthem = \"light\"\n").unwrap();
    let e = Settings::load(Some(&path), &Overrides::default(), &env).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{} line 2, key `ui.them`", path.display())),
        "{e}"
    );
    // A directory where the file should be is a read error, not a panic.
    let e = load(dir.path()).unwrap_err();
    assert!(
        e.to_string().starts_with("cannot read the config file"),
        "{e}"
    );
}

#[test]
fn locations_say_where_files_are_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_of(&[(CONFIG_DIR_ENV, dir.path().to_str().unwrap())]);
    let text = describe_locations(None, &env);
    let cfg = dir.path().join(FILE_NAME);
    assert!(
        text.contains(&format!(
            "config file: {} (not present) [from $AACON_CONFIG_DIR]",
            cfg.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("themes: {}", dir.path().join("themes").display())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "keymaps: {}",
            dir.path().join("keymaps").display()
        )),
        "{text}"
    );
    std::fs::write(&cfg, "").unwrap();
    let text = describe_locations(Some(&cfg), &env);
    assert!(
        text.contains(&format!("config file: {} [from --config]", cfg.display())),
        "{text}"
    );
}

#[test]
fn booleans_accept_common_spellings() {
    for t in ["true", "1", "YES", "on"] {
        assert_eq!(parse_bool(t), Some(true), "{t}");
    }
    for f in ["false", "0", "No", "off"] {
        assert_eq!(parse_bool(f), Some(false), "{f}");
    }
    assert_eq!(parse_bool("maybe"), None);
}

#[test]
fn api_poll_interval_comes_from_env_over_file_and_is_checked() {
    let file = |t: &str| FileConfig::parse(Path::new("/etc/aacon/config.toml"), t).unwrap();
    let none = |_: &str| None;
    let s = Settings::resolve(
        &Overrides::default(),
        &none,
        Some(file("[backend]\npoll_ms = 750\n")),
    )
    .unwrap();
    assert_eq!(s.poll_ms, 750);
    let env = |k: &str| (k == ENV_POLL_MS).then(|| "300".to_string());
    let s = Settings::resolve(
        &Overrides::default(),
        &env,
        Some(file("[backend]\npoll_ms = 750\n")),
    )
    .unwrap();
    assert_eq!(s.poll_ms, 300);
    assert_eq!(
        s.origin("backend.poll_ms").to_string(),
        "the environment variable AACON_API_POLL_MS"
    );
    let e = Settings::resolve(
        &Overrides::default(),
        &none,
        Some(file("[backend]\n\npoll_ms = 5\n")),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/aacon/config.toml line 3, key `backend.poll_ms`: 5 is out of range; use 100 to 600000 milliseconds"
    );
    let bad = |k: &str| (k == ENV_POLL_MS).then(|| "fast".to_string());
    let e = Settings::resolve(&Overrides::default(), &bad, None).unwrap_err();
    assert!(
        e.to_string().contains("AACON_API_POLL_MS")
            && e.to_string()
                .contains("'fast' is not a whole number of milliseconds"),
        "{e}"
    );
}

#[test]
fn child_env_is_a_list_of_names_or_prefixes() {
    let s = Settings::resolve(&Overrides::default(), &no_env, None).unwrap();
    assert_eq!(
        s.child_env,
        ["PATH", "HOME", "LANG", "LC_*", "TZ", "TMPDIR", "USER"]
    );
    let s = Settings::resolve(
        &Overrides::default(),
        &no_env,
        Some(file(
            "[runtime]\nchild_env = [\"PATH\", \"LC_*\", \"SSL_CERT_FILE\"]\n",
        )),
    )
    .unwrap();
    assert_eq!(s.child_env, ["PATH", "LC_*", "SSL_CERT_FILE"]);
    assert!(
        s.describe()
            .contains("runtime.child_env = [\"PATH\", \"LC_*\", \"SSL_CERT_FILE\"]")
    );
    let e = Settings::resolve(
        &Overrides::default(),
        &no_env,
        Some(file("[runtime]\nchild_env = [\"PATH\", \"AWS-*\"]\n")),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("key `runtime.child_env`"), "{e}");
    assert!(e.contains("'AWS-*' is not a variable name"), "{e}");
}

/// `config.example.toml` is generated from the key table; run with
/// `UPDATE_CONFIG_EXAMPLE=1` to rewrite it after changing a key.
#[test]
fn the_example_file_is_the_key_table() {
    let want = example();
    if std::env::var_os("UPDATE_CONFIG_EXAMPLE").is_some() && EXAMPLE != want {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
        std::fs::write(path, &want).unwrap();
        return;
    }
    assert_eq!(
        EXAMPLE, want,
        "config.example.toml is stale; run UPDATE_CONFIG_EXAMPLE=1 cargo test --lib config"
    );
    // Each key's environment variable and flag are in its comment.
    for k in KEYS {
        let doc = k.doc.join(" ");
        for name in k.env.into_iter().chain(k.flag) {
            assert!(doc.contains(name), "{}: {name} is not documented", k.name);
        }
    }
}

#[test]
fn the_default_settings_show_as_the_example_does() {
    // Keys whose example is their default show it in `config show`.
    let shown = Settings::default().describe();
    for name in [
        "backend.poll_ms",
        "redis.stream_key",
        "redis.maxlen",
        "redis.agentarea_pubsub",
        "ui.theme",
        "ui.keymap",
        "ui.read_only",
        "ui.refresh_ms",
        "ui.on_hangup",
        "runtime.health_interval_secs",
        "runtime.call_timeout_secs",
        "log.level",
    ] {
        let k = KEYS.iter().find(|k| k.name == name).unwrap();
        let want = format!("{name} = {}  # the default\n", k.example.trim_matches('"'));
        assert!(shown.contains(&want), "{want:?} not in {shown}");
    }
    assert_eq!(shown.lines().count(), KEYS.len());
}
