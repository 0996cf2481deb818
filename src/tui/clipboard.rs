//! Whether the terminal will take an OSC 52 clipboard write. Terminals do
//! not acknowledge OSC 52, so refusal is known only from the environment:
//! the terminals and multiplexers known to drop it, and tmux's
//! `set-clipboard` option (asked off the UI thread after start). `None`
//! means "send it"; `Some(sentence)` says why a copy would be lost, shown
//! instead of a false "copied".

use std::process::{Command, Stdio};
use std::time::Duration;

/// Why OSC 52 would be dropped here, from the environment (`var` reads an
/// environment variable) and tmux's `set-clipboard` value when inside tmux.
pub fn refusal(
    var: impl Fn(&str) -> Option<String>,
    tmux_set_clipboard: Option<&str>,
) -> Option<String> {
    let term = var("TERM").unwrap_or_default();
    if var("TMUX").is_some_and(|v| !v.is_empty()) {
        if tmux_set_clipboard.map(str::trim) == Some("off") {
            return Some(
                "tmux has set-clipboard off, so it drops OSC 52; run `tmux set -g set-clipboard on`"
                    .into(),
            );
        }
        return None;
    }
    if var("STY").is_some_and(|v| !v.is_empty()) || term.starts_with("screen") {
        return Some("GNU screen does not pass OSC 52 clipboard writes on; use tmux".into());
    }
    if term == "linux" {
        return Some("the Linux console has no clipboard for OSC 52".into());
    }
    if var("TERM_PROGRAM").as_deref() == Some("Apple_Terminal") {
        return Some(
            "Terminal.app ignores OSC 52 clipboard writes; iTerm2, kitty, WezTerm or Alacritty take them"
                .into(),
        );
    }
    None
}

/// [`refusal`] for this process: its environment, and `tmux show-options
/// -gv set-clipboard` when inside tmux (at most 1 s; call it off the UI
/// thread).
pub fn detect() -> Option<String> {
    let var = |k: &str| std::env::var(k).ok();
    let tmux = if var("TMUX").is_some() {
        tmux_set_clipboard()
    } else {
        None
    };
    refusal(var, tmux.as_deref())
}

fn tmux_set_clipboard() -> Option<String> {
    let mut child = Command::new("tmux")
        .args(["show-options", "-gv", "set-clipboard"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn capable_terminals_are_sent_the_sequence() {
        assert_eq!(refusal(env(&[("TERM", "xterm-256color")]), None), None);
        assert_eq!(
            refusal(
                env(&[("TERM", "tmux-256color"), ("TMUX", "/tmp/t,1,0")]),
                Some("external")
            ),
            None
        );
        assert_eq!(
            refusal(
                env(&[("TERM", "screen"), ("TMUX", "/tmp/t,1,0")]),
                Some("on")
            ),
            None
        );
    }

    #[test]
    fn known_refusals_say_why_and_what_to_do() {
        let tmux_off = refusal(
            env(&[("TERM", "screen-256color"), ("TMUX", "/tmp/t,1,0")]),
            Some("off\n"),
        );
        assert_eq!(
            tmux_off.as_deref(),
            Some(
                "tmux has set-clipboard off, so it drops OSC 52; run `tmux set -g set-clipboard on`"
            )
        );
        assert!(
            refusal(env(&[("TERM", "screen"), ("STY", "1234.pts-0")]), None)
                .unwrap()
                .starts_with("GNU screen")
        );
        assert!(
            refusal(env(&[("TERM", "linux")]), None)
                .unwrap()
                .contains("Linux console")
        );
        assert!(
            refusal(
                env(&[
                    ("TERM", "xterm-256color"),
                    ("TERM_PROGRAM", "Apple_Terminal")
                ]),
                None
            )
            .unwrap()
            .starts_with("Terminal.app")
        );
    }
}
