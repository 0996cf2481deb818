//! `aacon secrets set|list|rm` and `aacon tools list|call`.

use super::commands::{Failure, print};
use super::output::inert;
use super::{Output, SecretsCmd, ToolsCmd, exit};
use crate::paths::DataDir;
use crate::platform::Platform;
use crate::secrets::{SecretStore, SecretValue};
use serde_json::{Value, json};
use std::io::{IsTerminal, Read, Write};

type Outcome = Result<(), Failure>;

/// Read a secret value: a prompt without echo on a terminal, else all of
/// stdin (one trailing newline dropped). Never from argv.
fn read_secret(name: &str) -> Result<SecretValue, Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("value for secret '{}' (not shown): ", inert(name));
        let _ = std::io::stderr().flush();
        let line = read_line_without_echo()
            .map_err(|e| Failure::new(exit::RUNTIME, format!("cannot read the value: {e}")))?;
        eprintln!();
        return Ok(SecretValue::new(line.trim_end_matches(['\r', '\n'])));
    }
    let mut text = String::new();
    stdin.lock().read_to_string(&mut text).map_err(|e| {
        Failure::new(
            exit::USAGE,
            format!("cannot read the value from stdin: {e}"),
        )
    })?;
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    Ok(SecretValue::new(text))
}

pub(super) fn read_line_without_echo() -> std::io::Result<String> {
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it for a valid fd.
    let mut term: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd is stdin and `term` is a valid, writable termios.
    let have = unsafe { libc::tcgetattr(fd, &mut term) } == 0;
    let saved = term;
    if have {
        term.c_lflag &= !libc::ECHO;
        term.c_lflag |= libc::ECHONL;
        // SAFETY: applying a termios obtained from tcgetattr on the same fd.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &term) };
    }
    let mut line = String::new();
    let r = std::io::stdin().read_line(&mut line);
    if have {
        // SAFETY: restoring the settings read above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    }
    r.map(|_| line)
}

pub(super) fn secrets(dir: &DataDir, cmd: SecretsCmd, fmt: Output, read_only: bool) -> Outcome {
    let store = SecretStore::open(dir.root());
    let fail = |e: crate::secrets::SecretError| Failure::new(exit::RUNTIME, e.to_string());
    match cmd {
        SecretsCmd::Set { name } => {
            if read_only {
                return Err(Failure::new(
                    exit::RUNTIME,
                    "read-only mode: setting a secret is not allowed",
                ));
            }
            crate::secrets::validate_name(&name)
                .map_err(|e| Failure::new(exit::USAGE, e.to_string()))?;
            let value = read_secret(&name)?;
            if value.expose().is_empty() {
                return Err(Failure::new(
                    exit::USAGE,
                    "the secret value is empty; nothing stored",
                ));
            }
            store.set(&name, &value).map_err(fail)?;
            match fmt {
                Output::Table => print(&format!("stored secret '{}'\n", inert(&name))),
                _ => print(&format!("{}\n", json!({"status": "success", "name": name}))),
            }
        }
        SecretsCmd::List => {
            let names = store.list().map_err(fail)?;
            match fmt {
                Output::Table => {
                    let mut out = String::from("NAME\n");
                    for n in &names {
                        out.push_str(&inert(n));
                        out.push('\n');
                    }
                    print(&out);
                }
                Output::Json => print(&format!("{}\n", json!(names))),
                Output::Jsonl => {
                    for n in &names {
                        print(&format!("{}\n", json!({"name": n})));
                    }
                }
            }
        }
        SecretsCmd::Rm { name } => {
            if read_only {
                return Err(Failure::new(
                    exit::RUNTIME,
                    "read-only mode: removing a secret is not allowed",
                ));
            }
            if !store.remove(&name).map_err(fail)? {
                return Err(Failure::new(
                    exit::NOT_FOUND,
                    format!("no secret named '{}'", inert(&name)),
                ));
            }
            match fmt {
                Output::Table => print(&format!("removed secret '{}'\n", inert(&name))),
                _ => print(&format!("{}\n", json!({"status": "success", "name": name}))),
            }
        }
    }
    Ok(())
}

fn first_line(s: &str, max: usize) -> String {
    let l = s.lines().next().unwrap_or("");
    if l.chars().count() > max {
        format!("{}…", l.chars().take(max).collect::<String>())
    } else {
        l.to_string()
    }
}

/// `aacon tools list|call` on the platform in effect: the embedded one
/// (reaching the runtime host over its socket, else a one-shot session) or
/// a remote `aacon serve` in API mode.
pub(super) async fn tools(platform: &dyn Platform, cmd: ToolsCmd, fmt: Output) -> Outcome {
    match cmd {
        ToolsCmd::History { key, limit, call } => {
            return super::history_cmd::history(platform, &key, limit, call, fmt).await;
        }
        ToolsCmd::List { key } => {
            let inst = platform.get(&key).await?;
            let tools = platform.tools(inst.id).await?;
            match fmt {
                Output::Table => {
                    if tools.is_empty() {
                        eprintln!(
                            "aacon: no tools discovered for '{}' yet; the runtime host records them when the instance runs",
                            inert(&inst.name)
                        );
                        return Ok(());
                    }
                    let w = tools
                        .iter()
                        .map(|t| t.name.chars().count())
                        .max()
                        .unwrap_or(4)
                        .max(4);
                    let mut out = format!("{:<w$}  DESCRIPTION\n", "NAME");
                    for t in &tools {
                        out.push_str(&format!(
                            "{:<w$}  {}\n",
                            inert(&t.name),
                            inert(&first_line(t.description.as_deref().unwrap_or(""), 100))
                        ));
                    }
                    print(&out);
                }
                Output::Json => print(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&tools).unwrap_or_default()
                )),
                Output::Jsonl => {
                    for t in &tools {
                        print(&format!(
                            "{}\n",
                            serde_json::to_string(t).unwrap_or_default()
                        ));
                    }
                }
            }
        }
        ToolsCmd::Call { key, tool, args } => {
            let args: Value = serde_json::from_str(&args).map_err(|e| {
                Failure::new(
                    exit::VALIDATION,
                    format!(
                        "--args is not valid JSON: line {} column {}",
                        e.line(),
                        e.column()
                    ),
                )
            })?;
            let inst = platform.get(&key).await?;
            // The runtime host's live session (over its socket), else a
            // one-shot session; arguments checked against the recorded
            // schema first, secrets masked in the answer.
            // Progress on a terminal, Ctrl-C cancels, elicitation asked here.
            let out = super::call_watch::call(platform, inst.id, &tool, args).await?;
            match fmt {
                Output::Table => {
                    let lines: Vec<String> = out.text.lines().map(inert).collect();
                    print(&format!("{}\n", lines.join("\n")));
                }
                _ => print(&format!("{}\n", out.result)),
            }
            if out.is_error {
                return Err(Failure::new(
                    exit::RUNTIME,
                    format!("tool '{}' returned an error", inert(&tool)),
                ));
            }
        }
    }
    Ok(())
}
