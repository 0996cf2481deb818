//! A tool result's content blocks as text for people: text as it is, and
//! one line for everything else saying what it is and how big (an image,
//! audio, a resource), so a result is never shown as nothing.

use serde_json::Value;

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

#[cfg(test)]
mod tests {
    use super::*;
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
