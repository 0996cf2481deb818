//! `aacon resources list|read|templates` and `aacon prompts list|get`, on
//! the platform in effect like `aacon tools`: the runtime host's live
//! session over its socket, else a one-shot session, or `aacon serve` in
//! API mode.

use super::commands::{Failure, print};
use super::output::inert;
use super::{Output, PromptsCmd, ResourcesCmd, exit};
use crate::platform::content as surface;
use crate::platform::{McpOp, Platform};
use serde_json::{Map, Value};

type Outcome = Result<(), Failure>;

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn items<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Columns of text, the last one free; every cell made inert.
fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count().min(80));
        }
    }
    let line = |cells: Vec<String>| {
        let n = cells.len();
        let mut l = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            if i + 1 == n {
                l.push_str(&c);
            } else {
                l.push_str(&format!("{:<width$}  ", c, width = w[i]));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = line(head.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out.push_str(&line(r.iter().map(|c| inert(c)).collect()));
    }
    out
}

/// The answer as JSON (pretty or one line), or `table` for people.
fn emit(fmt: Output, v: &Value, list_key: Option<&str>, table: impl FnOnce() -> String) {
    match fmt {
        Output::Table => print(&table()),
        Output::Json => print(&format!(
            "{}\n",
            serde_json::to_string_pretty(v).unwrap_or_default()
        )),
        Output::Jsonl => match list_key {
            Some(k) => {
                for i in items(v, k) {
                    print(&format!("{i}\n"));
                }
            }
            None => print(&format!("{v}\n")),
        },
    }
}

fn refused_if_truncated(v: &Value) -> Outcome {
    if v.get("truncated").and_then(Value::as_bool) == Some(true) && v.get("contents").is_none() {
        return Err(Failure::new(exit::RUNTIME, s(v, "message").to_string()));
    }
    Ok(())
}

pub(super) async fn resources(platform: &dyn Platform, cmd: ResourcesCmd, fmt: Output) -> Outcome {
    match cmd {
        ResourcesCmd::List { key } => {
            let inst = platform.get(&key).await?;
            let v = platform.mcp(inst.id, McpOp::Resources).await?;
            refused_if_truncated(&v)?;
            let updated = v.get("updated").cloned().unwrap_or(Value::Null);
            emit(fmt, &v, Some("resources"), || {
                let rows: Vec<Vec<String>> = items(&v, "resources")
                    .iter()
                    .map(|r| {
                        vec![
                            s(r, "uri").to_string(),
                            s(r, "name").to_string(),
                            s(r, "mimeType").to_string(),
                            updated
                                .get(s(r, "uri"))
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                        ]
                    })
                    .collect();
                if rows.is_empty() {
                    return format!("{} offers no resources\n", inert(&inst.name));
                }
                table(&["URI", "NAME", "TYPE", "UPDATED"], &rows)
            });
        }
        ResourcesCmd::Templates { key } => {
            let inst = platform.get(&key).await?;
            let v = platform.mcp(inst.id, McpOp::Templates).await?;
            refused_if_truncated(&v)?;
            emit(fmt, &v, Some("resourceTemplates"), || {
                let rows: Vec<Vec<String>> = items(&v, "resourceTemplates")
                    .iter()
                    .map(|r| {
                        vec![
                            s(r, "uriTemplate").to_string(),
                            s(r, "name").to_string(),
                            s(r, "description").lines().next().unwrap_or("").to_string(),
                        ]
                    })
                    .collect();
                if rows.is_empty() {
                    return format!("{} offers no resource templates\n", inert(&inst.name));
                }
                table(&["URI TEMPLATE", "NAME", "DESCRIPTION"], &rows)
            });
        }
        ResourcesCmd::Read { key, uri, out } => {
            let inst = platform.get(&key).await?;
            let v = platform.mcp(inst.id, McpOp::Read { uri }).await?;
            if let Some(path) = out {
                let blobs = surface::read_blobs(&v);
                let Some((mime, bytes)) = blobs.first() else {
                    return Err(Failure::new(
                        exit::VALIDATION,
                        "the resource has no binary contents to write (a text resource prints as it is)",
                    ));
                };
                std::fs::write(&path, bytes).map_err(|e| {
                    Failure::new(
                        exit::RUNTIME,
                        format!("cannot write {}: {e}", path.display()),
                    )
                })?;
                eprintln!(
                    "aacon: wrote {} ({mime}) to {}",
                    crate::platform::content::size(bytes.len() as u64),
                    path.display()
                );
                return Ok(());
            }
            if matches!(fmt, Output::Table) && !surface::read_blobs(&v).is_empty() {
                eprintln!("aacon: the resource is binary; --out FILE writes its contents");
            }
            emit(fmt, &v, Some("contents"), || {
                let lines: Vec<String> = surface::read_text(&v).lines().map(inert).collect();
                format!("{}\n", lines.join("\n"))
            });
        }
    }
    Ok(())
}

pub(super) async fn prompts(platform: &dyn Platform, cmd: PromptsCmd, fmt: Output) -> Outcome {
    match cmd {
        PromptsCmd::List { key } => {
            let inst = platform.get(&key).await?;
            let v = platform.mcp(inst.id, McpOp::Prompts).await?;
            refused_if_truncated(&v)?;
            emit(fmt, &v, Some("prompts"), || {
                let rows: Vec<Vec<String>> = items(&v, "prompts")
                    .iter()
                    .map(|p| {
                        let args: Vec<String> = items(p, "arguments")
                            .iter()
                            .map(|a| {
                                let req = a.get("required").and_then(Value::as_bool) == Some(true);
                                format!("{}{}", s(a, "name"), if req { "*" } else { "" })
                            })
                            .collect();
                        vec![
                            s(p, "name").to_string(),
                            args.join(","),
                            s(p, "description").lines().next().unwrap_or("").to_string(),
                        ]
                    })
                    .collect();
                if rows.is_empty() {
                    return format!("{} offers no prompts\n", inert(&inst.name));
                }
                table(&["NAME", "ARGUMENTS (* required)", "DESCRIPTION"], &rows)
            });
        }
        PromptsCmd::Get { key, prompt, args } => {
            let arguments: Map<String, Value> = match serde_json::from_str(&args) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    return Err(Failure::new(
                        exit::VALIDATION,
                        "--args must be a JSON object of strings, like {\"temperature\": \"0.7\"}",
                    ));
                }
                Err(e) => {
                    return Err(Failure::new(
                        exit::VALIDATION,
                        format!(
                            "--args is not valid JSON: line {} column {}",
                            e.line(),
                            e.column()
                        ),
                    ));
                }
            };
            let inst = platform.get(&key).await?;
            let v = platform
                .mcp(
                    inst.id,
                    McpOp::GetPrompt {
                        name: prompt,
                        arguments,
                    },
                )
                .await?;
            refused_if_truncated(&v)?;
            emit(fmt, &v, Some("messages"), || {
                let lines: Vec<String> = surface::messages_text(&v).lines().map(inert).collect();
                format!("{}\n", lines.join("\n"))
            });
        }
    }
    Ok(())
}
