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
