//! `aacon instances logs NAME [-f]`: an instance's log as the console's
//! Logs tab shows it (stderr lines, the server's MCP log messages, the
//! runtime's markers), one line each with time, level and source; `-f`
//! keeps asking for what is new until Ctrl-C; `-o json`/`jsonl` prints
//! each line as a JSON object on its own line.

use super::commands::Failure;
use super::output::inert;
use super::{Output, exit};
use crate::platform::profile::Route;
use crate::platform::{LogLevel, LogLine, Platform, PlatformError};
use std::io::Write;
use std::time::Duration;

/// How often `-f` asks for new lines.
const POLL: Duration = Duration::from_millis(250);

type Outcome = Result<(), Failure>;

/// One line as printed: `TIME LEVEL SOURCE TEXT`, or JSON.
pub fn line(l: &LogLine, fmt: Output) -> String {
    match fmt {
        Output::Table => format!(
            "{} {:<9} {:<10} {}",
            l.at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            l.level.as_str(),
            inert(&l.source_label()),
            inert(&l.text)
        ),
        // Serializing plain strings and numbers cannot fail.
        Output::Json | Output::Jsonl => serde_json::to_string(l).unwrap_or_default(),
    }
}

/// Write `text`; false once stdout is gone (a closed pipe ends `-f`).
fn out(text: &str) -> bool {
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes())
        .and_then(|()| o.flush())
        .is_ok()
}

pub async fn logs(
    p: &dyn Platform,
    key: &str,
    follow: bool,
    level: Option<&str>,
    fmt: Output,
) -> Outcome {
    let min = match level {
        None => LogLevel::Debug,
        Some(l) => LogLevel::parse(l).ok_or_else(|| {
            Failure::new(
                exit::USAGE,
                format!(
                    "'{}' is not a log level; use one of debug, info, notice, warning, error, critical, alert, emergency",
                    inert(l)
                ),
            )
        })?,
    };
    let profile = p.profile().await;
    if !profile.has(Route::Logs) {
        return Err(Failure::new(
            exit::RUNTIME,
            format!(
                "{} keeps no process logs for clients (it has no logs route), so there is nothing to print; `aacon instances get {}` shows the instance's last error",
                profile.platform_name(),
                inert(key)
            ),
        ));
    }
    let inst = p.get(key).await?;
    let print_page = |lines: &[LogLine]| {
        let mut text = String::new();
        for l in lines.iter().filter(|l| l.level >= min) {
            text.push_str(&line(l, fmt));
            text.push('\n');
        }
        text.is_empty() || out(&text)
    };
    let first = p.logs(inst.id, None).await?;
    if !print_page(&first.lines) {
        return Ok(());
    }
    if first.missed > 0 && fmt == Output::Table {
        eprintln!(
            "aacon: {} older line(s) fell out of the log the runtime keeps",
            first.missed
        );
    }
    if !follow {
        return Ok(());
    }
    let mut after = first.next;
    // Said once while the runtime host cannot be reached; said again once it can.
    let mut away: Option<String> = None;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = tokio::time::sleep(POLL) => {}
        }
        match p.logs(inst.id, Some(after)).await {
            Ok(page) => {
                if away.take().is_some() {
                    eprintln!("aacon: the runtime host answers again");
                }
                if page.reset {
                    eprintln!("aacon: the runtime host changed; its log follows from the start");
                } else if page.missed > 0 {
                    eprintln!(
                        "aacon: {} line(s) fell out of the log before they could be printed",
                        page.missed
                    );
                }
                after = page.next;
                if !print_page(&page.lines) {
                    return Ok(());
                }
            }
            Err(PlatformError::NotFound(m)) => return Err(Failure::new(exit::NOT_FOUND, m)),
            Err(e) => {
                let said = e.to_string();
                if away.as_deref() != Some(said.as_str()) {
                    eprintln!("aacon: {said}; still following");
                    away = Some(said);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::LogSource;

    #[test]
    fn a_line_prints_time_level_source_and_inert_text() {
        let l = LogLine {
            seq: 3,
            at: chrono::DateTime::parse_from_rfc3339("2026-12-06T12:00:01.5Z")
                .unwrap()
                .with_timezone(&chrono::Utc),
            level: LogLevel::Warning,
            source: LogSource::Mcp,
            logger: Some("db".into()),
            text: "slow\u{1b}[2J query".into(),
        };
        let t = line(&l, Output::Table);
        assert!(
            t.starts_with("2026-12-06T12:00:01.500Z warning   mcp:db     slow"),
            "{t}"
        );
        assert!(!t.contains('\u{1b}'));
        let j: serde_json::Value = serde_json::from_str(&line(&l, Output::Json)).unwrap();
        assert_eq!(j["level"], "warning");
        assert_eq!(j["source"], "mcp");
        assert_eq!(j["logger"], "db");
        assert_eq!(j["seq"], 3);
    }
}
