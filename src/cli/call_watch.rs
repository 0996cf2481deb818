//! `aacon tools call` while the call runs: progress on a terminal's
//! stderr, Ctrl-C cancels the call (the server is sent
//! `notifications/cancelled`), and a server's elicitation is asked field by
//! field on the terminal, or declined when stdin is not one.

use super::commands::Failure;
use super::exit;
use super::output::inert;
use crate::domain::elicit::{self, Field};
use crate::platform::{
    CallControl, ElicitAnswer, ElicitRequest, Elicitor, Platform, ToolCallResult,
};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use uuid::Uuid;

/// Call `tool`, watched: progress shown, Ctrl-C cancels, elicitation asked
/// on the terminal.
pub(super) async fn call(
    platform: &dyn Platform,
    id: Uuid,
    tool: &str,
    args: serde_json::Value,
) -> Result<ToolCallResult, Failure> {
    let t0 = std::time::Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let ctl = CallControl {
        progress: Some(tx),
        elicit: interactive.then(|| Arc::new(Terminal) as Arc<dyn Elicitor>),
        ..CallControl::default()
    };
    let cancel = ctl.cancel.clone();
    let show_progress = std::io::stderr().is_terminal();
    let call = platform.call_tool_watched(id, tool, args, ctl);
    tokio::pin!(call);
    let mut interrupted = false;
    loop {
        tokio::select! {
            r = &mut call => {
                if interrupted {
                    let secs = t0.elapsed().as_secs();
                    return Err(Failure::new(
                        exit::RUNTIME,
                        format!(
                            "cancelled tool '{}' after {secs}s on Ctrl-C (the server was sent notifications/cancelled)",
                            inert(tool)
                        ),
                    ));
                }
                return r.map_err(Failure::from);
            }
            Some(p) = rx.recv() => {
                if show_progress {
                    eprintln!("aacon: {} progress {p} ({}s)", inert(tool), t0.elapsed().as_secs());
                }
            }
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                cancel.cancel();
            }
        }
    }
}

/// Asks an elicitation's fields on the terminal (stderr for prompts,
/// stdin for answers; a secret field without echo).
struct Terminal;

#[async_trait::async_trait]
impl Elicitor for Terminal {
    async fn elicit(&self, request: ElicitRequest) -> ElicitAnswer {
        tokio::task::spawn_blocking(move || ask(&request))
            .await
            .unwrap_or(ElicitAnswer::Cancel)
    }
}

fn read_line(secret: bool) -> Option<String> {
    let line = if secret {
        super::runtime_cmds::read_line_without_echo().ok()?
    } else {
        let mut l = String::new();
        if std::io::stdin().read_line(&mut l).ok()? == 0 {
            return None;
        }
        l
    };
    Some(line.trim_end_matches(['\r', '\n']).to_string())
}

fn ask(request: &ElicitRequest) -> ElicitAnswer {
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "\naacon: the server of '{}' asks during '{}': {}",
        inert(&request.instance),
        inert(&request.tool),
        inert(&request.message)
    );
    let fields = match elicit::fields(&request.schema) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(err, "aacon: declined: {e}");
            return ElicitAnswer::Decline;
        }
    };
    let _ = write!(err, "answer it? [y]es / [n]o (decline) / [c]ancel: ");
    let _ = err.flush();
    match read_line(false).as_deref().map(str::trim) {
        Some("y" | "yes" | "Y") => {}
        Some("n" | "no" | "N") => return ElicitAnswer::Decline,
        _ => return ElicitAnswer::Cancel,
    }
    let mut texts = Vec::with_capacity(fields.len());
    for f in &fields {
        match ask_field(f) {
            Some(t) => texts.push(t),
            None => return ElicitAnswer::Cancel,
        }
    }
    match elicit::answer(&fields, &texts) {
        Ok(content) => ElicitAnswer::Accept(content),
        Err(_) => ElicitAnswer::Cancel,
    }
}

/// One field, asked until its value fits (an empty line takes the default);
/// `None` at end of input.
fn ask_field(f: &Field) -> Option<String> {
    let mut err = std::io::stderr();
    loop {
        let mark = if f.required { " (required)" } else { "" };
        let about = f
            .description
            .as_deref()
            .map(|d| format!(" — {}", inert(d)))
            .unwrap_or_default();
        let default = if f.default.is_empty() || f.secret {
            String::new()
        } else {
            format!(" [{}]", inert(&f.default))
        };
        let _ = write!(
            err,
            "  {}{mark}{about} ({}){default}{}: ",
            inert(&f.title),
            f.hint(),
            if f.secret { " (not shown)" } else { "" }
        );
        let _ = err.flush();
        let mut text = read_line(f.secret)?;
        if text.is_empty() {
            text = f.default.clone();
        }
        match f.value(&text) {
            Ok(_) => return Some(text),
            Err(why) => {
                let _ = writeln!(err, "  {} {why}", inert(&f.title));
            }
        }
    }
}
