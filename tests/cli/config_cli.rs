//! `aacon config path|example|show`: the real binary with a temp config dir.

use assert_cmd::Command;
use predicates::prelude::*;

fn aacon(dir: &tempfile::TempDir) -> Command {
    let mut c = Command::cargo_bin("aacon").unwrap();
    c.env("AACON_DATA_DIR", dir.path().join("data"))
        .env("AACON_CONFIG_DIR", dir.path().join("config"))
        .env_remove("AACON_THEME")
        .env_remove("AACON_API_TOKEN")
        .env_remove("AACON_REDIS_URL")
        .env_remove("AACON_READ_ONLY")
        .env("NO_COLOR", "1");
    c
}

#[test]
fn example_prints_the_shipped_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = aacon(&dir).args(["config", "example"]).assert().success();
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
            .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.get_output().stdout), shipped);
}

#[test]
fn path_names_the_config_file_themes_and_keymaps() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config");
    aacon(&dir)
        .args(["config", "path"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "config file: {} (not present) [from $AACON_CONFIG_DIR]",
            cfg.join("config.toml").display()
        )))
        .stdout(predicate::str::contains(format!(
            "themes: {}",
            cfg.join("themes").display()
        )));
}

#[test]
fn show_applies_flag_env_file_and_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        "[ui]\ntheme = \"light\"\nkeymap = \"vim\"\n[redis]\nurl = \"redis://:file-pw@127.0.0.1:6379\"\n",
    )
    .unwrap();
    let out = aacon(&dir)
        .env("AACON_THEME", "gruvbox-dark")
        .env("AACON_API_TOKEN", "tok-123")
        .args(["--read-only", "config", "show"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("ui.theme = gruvbox-dark  # the environment variable AACON_THEME"),
        "{text}"
    );
    assert!(text.contains("ui.keymap = vim  # "), "{text}");
    assert!(text.contains("line 3, key `ui.keymap`"), "{text}");
    assert!(
        text.contains("ui.read_only = true  # the flag --read-only"),
        "{text}"
    );
    assert!(
        text.contains("redis.url = redis://:***@127.0.0.1:6379"),
        "{text}"
    );
    assert!(text.contains("backend.token = <redacted>"), "{text}");
    assert!(
        !text.contains("file-pw") && !text.contains("tok-123"),
        "{text}"
    );
}

#[test]
fn a_bad_config_file_is_one_sentence_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    let file = cfg.join("config.toml");
    std::fs::write(&file, "[ui]\ntheme = \"light\"\ncolour = \"red\"\n").unwrap();
    aacon(&dir)
        .args(["config", "show"])
        .assert()
        .code(2)
        .stderr(predicate::eq(format!(
            "aacon: {} line 3, key `ui.colour`: unknown key; [ui] takes theme, keymap, read_only, refresh_ms, on_hangup\n",
            file.display()
        )));
    let missing = dir.path().join("nope.toml");
    aacon(&dir)
        .args(["--config", missing.to_str().unwrap(), "config", "show"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "(given by --config) does not exist",
        ));
}

#[test]
fn show_names_every_flag_and_env_value_in_effect() {
    let dir = tempfile::tempdir().unwrap();
    let out = aacon(&dir)
        .env("AACON_API_TOKEN", "tok-456")
        .env("AACON_WORKSPACE", "ws-from-env")
        .env("AACON_API_POLL_MS", "700")
        .args([
            "--api",
            "http://127.0.0.1:9/",
            "--redis",
            "redis://127.0.0.1:6390/2",
            "--theme",
            "light",
            "--keymap",
            "vim",
            "--log",
            "debug",
            "config",
            "show",
        ])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for line in [
        "backend.api_url = http://127.0.0.1:9/  # the flag --api",
        "backend.workspace = ws-from-env  # the environment variable AACON_WORKSPACE",
        "backend.token = <redacted>  # the environment variable AACON_API_TOKEN",
        "backend.poll_ms = 700  # the environment variable AACON_API_POLL_MS",
        "redis.url = redis://127.0.0.1:6390/2  # the flag --redis",
        "ui.theme = light  # the flag --theme",
        "ui.keymap = vim  # the flag --keymap",
        "log.level = debug  # the flag --log",
        "ui.read_only = false  # the default",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(!text.contains("(unset)  # the flag"), "{text}");
    assert!(!text.contains("tok-456"), "{text}");
    // A flag beats the environment.
    let out = aacon(&dir)
        .env("AACON_API_URL", "http://127.0.0.1:8/")
        .args(["--api", "http://127.0.0.1:9/", "config", "show"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("backend.api_url = http://127.0.0.1:9/  # the flag --api"),
        "{text}"
    );
}

#[test]
fn show_with_a_context_names_the_context_as_the_origin_and_never_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    let file = cfg.join("config.toml");
    std::fs::write(
        &file,
        "[backend]\napi_url = \"http://127.0.0.1:9000\"\nworkspace = \"base\"\n\n\
         [contexts.prod]\napi_url = \"http://127.0.0.1:9100\"\ntoken_env = \"PROD_TOKEN\"\n\
         workspace = \"prod-ws\"\nredis = \"redis://:ctx-pw@127.0.0.1:6390\"\n\n\
         [contexts.lab]\napi_url = \"http://127.0.0.1:9200\"\ntoken = \"lab-secret-xyz\"\n",
    )
    .unwrap();
    let f = file.display();
    let show = |ctx: &str, extra: &[&str]| {
        let mut args = vec!["--context", ctx];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["config", "show"]);
        let out = aacon(&dir)
            .env("PROD_TOKEN", "prod-secret-abc")
            .env("AACON_API_URL", "http://127.0.0.1:9999")
            .args(&args)
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    };
    let s = show("prod", &[]);
    for want in [
        format!(
            "backend.api_url = http://127.0.0.1:9100  # the context 'prod': {f} line 6, key `api_url`\n"
        ),
        format!("backend.workspace = prod-ws  # the context 'prod': {f} line 8, key `workspace`\n"),
        format!("backend.token = <redacted>  # the context 'prod': {f} line 7, key `token_env`\n"),
        format!(
            "redis.url = redis://:***@127.0.0.1:6390  # the context 'prod': {f} line 9, key `redis`\n"
        ),
        "ui.theme = default  # the default\n".to_string(),
    ] {
        assert!(s.contains(&want), "want {want:?} in\n{s}");
    }
    for secret in [
        "prod-secret-abc",
        "lab-secret-xyz",
        "ctx-pw",
        "9999",
        "base",
    ] {
        assert!(!s.contains(secret), "{secret} shown:\n{s}");
    }
    // A context without a workspace leaves it unset; a token in the file is
    // the context's too; a flag still wins over the context.
    let s = show("lab", &["--workspace", "flag-ws"]);
    assert!(
        s.contains(&format!(
            "backend.api_url = http://127.0.0.1:9200  # the context 'lab': {f} line 12, key `api_url`\n"
        )),
        "{s}"
    );
    assert!(
        s.contains(&format!(
            "backend.token = <redacted>  # the context 'lab': {f} line 13, key `token`\n"
        )),
        "{s}"
    );
    assert!(
        s.contains("backend.workspace = flag-ws  # the flag --workspace\n"),
        "{s}"
    );
    assert!(s.contains("redis.url = (unset)  # the default\n"), "{s}");
    assert!(!s.contains("lab-secret-xyz"), "{s}");
}
