//! `aacon tools history NAME [--limit N] [--call ID]`: an instance's
//! recorded tool calls, resource reads and prompt gets, newest first, or
//! one of them in full (arguments as recorded, secrets redacted). A
//! deleted instance's history is found by its id.

use super::Output;
use super::commands::{Failure, print};
use super::output::{inert, table};
use crate::platform::{Platform, PlatformError};

pub(super) async fn history(
    platform: &dyn Platform,
    key: &str,
    limit: usize,
    call: Option<i64>,
    fmt: Output,
) -> Result<(), Failure> {
    // A deleted instance's history stays (the audit trail): by its id.
    let (id, name) = match platform.get(key).await {
        Ok(inst) => (inst.id, inst.name),
        Err(PlatformError::NotFound(why)) => match uuid::Uuid::parse_str(key.trim()) {
            Ok(id) => (id, key.trim().to_string()),
            Err(_) => return Err(PlatformError::NotFound(why).into()),
        },
        Err(e) => return Err(e.into()),
    };
    if let Some(call) = call {
        let record = platform.history_call(id, call).await?;
        match fmt {
            Output::Table => print(&format!("{}\n", inert_lines(&record.full_text()))),
            _ => print(&format!(
                "{}\n",
                serde_json::to_string_pretty(&record).unwrap_or_default()
            )),
        }
        return Ok(());
    }
    let calls = platform.history(id, limit).await?;
    match fmt {
        Output::Table => {
            if calls.is_empty() {
                eprintln!(
                    "aacon: no calls recorded for '{}' yet (tool calls, resource reads and prompt gets are)",
                    inert(&name)
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = calls
                .iter()
                .map(|c| {
                    vec![
                        c.id.to_string(),
                        c.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        inert(&c.caller.to_string()),
                        inert(&c.what()),
                        c.took_text(),
                        c.outcome.short(),
                        c.size_text(),
                    ]
                })
                .collect();
            let head = ["ID", "WHEN (UTC)", "WHO", "CALL", "TOOK", "OUTCOME", "SIZE"];
            print(&table(&head, &rows));
        }
        Output::Json => print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&calls).unwrap_or_default()
        )),
        Output::Jsonl => {
            for c in &calls {
                print(&format!(
                    "{}\n",
                    serde_json::to_string(c).unwrap_or_default()
                ));
            }
        }
    }
    Ok(())
}

fn inert_lines(text: &str) -> String {
    text.lines().map(inert).collect::<Vec<_>>().join("\n")
}
