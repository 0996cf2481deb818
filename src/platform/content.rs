//! A tool result's content blocks as text for people: text as it is, and
//! one line for everything else saying what it is and how big (an image,
//! audio, a resource), so a result is never shown as nothing.

use super::ToolError;
use super::tools::MAX_RESULT_BYTES;
use serde_json::{Map, Value, json};

/// A size for people: `12 B`, `1.2 KiB`, `3.4 MiB`.
pub fn size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

/// The decoded length of base64 `data` (padding and whitespace ignored).
fn base64_len(data: &str) -> u64 {
    let n = data
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .count() as u64;
    n * 3 / 4
}

fn field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// One block as text: a text block's text, else a bracketed line.
pub fn block(b: &Value) -> String {
    let kind = field(b, "type").unwrap_or("unknown");
    let mime = |v: &Value| field(v, "mimeType").unwrap_or("unknown type").to_string();
    match kind {
        "text" => field(b, "text").unwrap_or("").to_string(),
        "image" | "audio" => format!(
            "[{kind} {}, {}]",
            mime(b),
            size(base64_len(field(b, "data").unwrap_or("")))
        ),
        "resource" => {
            let r = b.get("resource").unwrap_or(&Value::Null);
            let uri = field(r, "uri").unwrap_or("(no uri)");
            match (field(r, "text"), field(r, "blob")) {
                (Some(text), _) => format!(
                    "[resource {uri} ({}), {}]\n{text}",
                    mime(r),
                    size(text.len() as u64)
                ),
                (None, Some(blob)) => format!(
                    "[resource {uri} ({}), {} of binary data]",
                    mime(r),
                    size(base64_len(blob))
                ),
                (None, None) => format!("[resource {uri} ({}), empty]", mime(r)),
            }
        }
        "resource_link" => {
            let uri = field(b, "uri").unwrap_or("(no uri)");
            let name = field(b, "name").unwrap_or("");
            let len = b
                .get("size")
                .and_then(Value::as_u64)
                .map_or("size not given".to_string(), size);
            format!("[resource link {name} {uri} ({}), {len}]", mime(b))
        }
        other => format!(
            "[{} content, {} of JSON]",
            other.chars().take(40).collect::<String>(),
            size(b.to_string().len() as u64)
        ),
    }
}

/// Every block of a result's `content` array, one after another.
pub fn text(content: &Value) -> String {
    content
        .as_array()
        .map(|blocks| blocks.iter().map(block).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

/// A `resources/read` answer as text for people: each content's text, a
/// binary one as a line naming its URI, type and size.
pub fn read_text(v: &Value) -> String {
    let mut parts = Vec::new();
    for c in v
        .get("contents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = c.get("text").and_then(Value::as_str);
        let cut_blob = text.is_none()
            && c.get("blob").is_none()
            && c.get("truncated").and_then(Value::as_bool) == Some(true);
        parts.push(match text {
            Some(t) => t.to_string(),
            None if cut_blob => format!(
                "[resource {} ({}), {} of binary data, not kept: larger than {} KiB]",
                c.get("uri").and_then(Value::as_str).unwrap_or("(no uri)"),
                c.get("mimeType")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown type"),
                size(c.get("bytes").and_then(Value::as_u64).unwrap_or(0)),
                MAX_RESULT_BYTES / 1024
            ),
            None => block(&json!({"type": "resource", "resource": c})),
        });
    }
    if parts.is_empty() {
        return "(the resource has no contents)".into();
    }
    parts.join("\n")
}

/// The binary contents of a `resources/read` answer: (MIME type, bytes).
pub fn read_blobs(v: &Value) -> Vec<(String, Vec<u8>)> {
    use base64::Engine;
    v.get("contents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let b = c.get("blob").and_then(Value::as_str)?;
            let bytes = base64::engine::general_purpose::STANDARD.decode(b).ok()?;
            let mime = c
                .get("mimeType")
                .and_then(Value::as_str)
                .unwrap_or("application/octet-stream");
            Some((mime.to_string(), bytes))
        })
        .collect()
}

/// A `prompts/get` answer as text: its description, then each message as
/// `role: content`.
pub fn messages_text(v: &Value) -> String {
    let mut out = Vec::new();
    if let Some(d) = v.get("description").and_then(Value::as_str) {
        out.push(format!("# {d}"));
    }
    for m in v
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("?");
        let content = m.get("content").map(block).unwrap_or_default();
        out.push(format!("{role}: {content}"));
    }
    out.join("\n")
}

/// `a, b, c`, or `none`.
fn listed(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// Check `args` for prompt `name` against the prompts a server listed
/// (their JSON): the prompt exists, every required argument is given,
/// none is unknown, and every value is a string. One sentence otherwise.
pub fn check_prompt_args(
    prompts: &[Value],
    name: &str,
    args: &Map<String, Value>,
) -> Result<(), ToolError> {
    let Some(p) = prompts
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
    else {
        let names: Vec<&str> = prompts
            .iter()
            .filter_map(|p| p.get("name").and_then(Value::as_str))
            .collect();
        return Err(ToolError::Request(format!(
            "the server has no prompt named '{}'; it has: {}",
            name.chars().take(80).collect::<String>(),
            listed(&names)
        )));
    };
    let declared: Vec<(&str, bool)> = p
        .get("arguments")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|d| {
                    let n = d.get("name").and_then(Value::as_str)?;
                    let req = d.get("required").and_then(Value::as_bool).unwrap_or(false);
                    Some((n, req))
                })
                .collect()
        })
        .unwrap_or_default();
    let missing: Vec<&str> = declared
        .iter()
        .filter(|(n, req)| {
            *req && args
                .get(*n)
                .and_then(Value::as_str)
                .is_none_or(|v| v.is_empty())
        })
        .map(|(n, _)| *n)
        .collect();
    if !missing.is_empty() {
        return Err(ToolError::Request(format!(
            "prompt '{name}' needs {}: {}",
            if missing.len() == 1 {
                "an argument"
            } else {
                "arguments"
            },
            missing.join(", ")
        )));
    }
    if let Some(unknown) = args.keys().find(|k| !declared.iter().any(|(n, _)| n == k)) {
        let names: Vec<&str> = declared.iter().map(|(n, _)| *n).collect();
        return Err(ToolError::Request(format!(
            "prompt '{name}' has no argument '{}'; it takes: {}",
            unknown.chars().take(80).collect::<String>(),
            listed(&names)
        )));
    }
    if let Some((k, _)) = args.iter().find(|(_, v)| !v.is_string()) {
        return Err(ToolError::Request(format!(
            "prompt arguments are strings; '{}' is not",
            k.chars().take(80).collect::<String>()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompts() -> Vec<Value> {
        vec![
            json!({"name": "simple_prompt"}),
            json!({"name": "complex_prompt", "arguments": [
                {"name": "temperature", "required": true},
                {"name": "style", "required": false}
            ]}),
        ]
    }

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_prompt_with_its_required_arguments_passes() {
        let p = prompts();
        assert_eq!(
            check_prompt_args(&p, "complex_prompt", &args(json!({"temperature": "0.7"}))),
            Ok(())
        );
        assert_eq!(
            check_prompt_args(
                &p,
                "complex_prompt",
                &args(json!({"temperature": "0.7", "style": "terse"}))
            ),
            Ok(())
        );
        assert_eq!(check_prompt_args(&p, "simple_prompt", &Map::new()), Ok(()));
    }

    #[test]
    fn a_missing_required_argument_is_one_sentence() {
        let p = prompts();
        let e = check_prompt_args(&p, "complex_prompt", &args(json!({"style": "x"})))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "prompt 'complex_prompt' needs an argument: temperature");
        // Empty counts as missing.
        let e = check_prompt_args(&p, "complex_prompt", &args(json!({"temperature": ""})))
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs an argument: temperature"), "{e}");
    }

    #[test]
    fn unknown_prompts_arguments_and_non_strings_are_refused() {
        let p = prompts();
        let e = check_prompt_args(&p, "nope", &Map::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "the server has no prompt named 'nope'; it has: simple_prompt, complex_prompt"
        );
        let e = check_prompt_args(&p, "simple_prompt", &args(json!({"x": "1"})))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "prompt 'simple_prompt' has no argument 'x'; it takes: none"
        );
        let e = check_prompt_args(&p, "complex_prompt", &args(json!({"temperature": 1})))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("needs an argument"),
            "a number is not a given string: {e}"
        );
        let e = check_prompt_args(
            &p,
            "complex_prompt",
            &args(json!({"temperature": "1", "style": 2})),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "prompt arguments are strings; 'style' is not");
    }

    use serde_json::json;

    #[test]
    fn every_kind_of_block_says_what_it_is_and_its_size() {
        let content = json!([
            {"type": "text", "text": "three attachments follow"},
            {"type": "image", "data": "iVBORw0KGgoAAAANSUhEUg==", "mimeType": "image/png"},
            {"type": "audio", "data": "UklGRiQAAABXQVZF", "mimeType": "audio/wav"},
            {"type": "resource", "resource": {"uri": "file:///notes.txt", "mimeType": "text/plain", "text": "hello"}},
            {"type": "resource", "resource": {"uri": "file:///a.bin", "blob": "AAAA"}},
            {"type": "resource_link", "uri": "file:///big.csv", "name": "big", "mimeType": "text/csv", "size": 2048},
            {"type": "hologram", "x": 1}
        ]);
        assert_eq!(
            text(&content),
            "three attachments follow\n\
             [image image/png, 16 B]\n\
             [audio audio/wav, 12 B]\n\
             [resource file:///notes.txt (text/plain), 5 B]\nhello\n\
             [resource file:///a.bin (unknown type), 3 B of binary data]\n\
             [resource link big file:///big.csv (text/csv), 2.0 KiB]\n\
             [hologram content, 25 B of JSON]"
        );
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size(12), "12 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 * 1_048_576), "3.0 MiB");
    }
}
