//! Parsing json_spec text: syntax errors and positions for the editor.

use super::*;

/// A JSON syntax error in json_spec text, positioned for the editor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// One sentence, without the position.
    pub message: String,
}

/// json_spec text parsed and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub value: Value,
    /// The validation report, plus a warning for every duplicate key.
    pub report: Report,
}

/// Parse json_spec text and validate it (the editor calls this as the user
/// types). Duplicate keys are reported as warnings: the last value wins.
pub fn parse_and_validate(text: &str) -> Result<Report, SyntaxError> {
    parse_spec(text).map(|p| p.report)
}

/// Parse json_spec text and validate it, keeping the value.
pub fn parse_spec(text: &str) -> Result<Parsed, SyntaxError> {
    let duplicates = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_str(text);
    let value = TrackingSeed {
        pointer: String::new(),
        duplicates: &duplicates,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v))
    .map_err(|e| syntax_error(text, &e))?;
    let mut report = validate(&value);
    let dup_issues = duplicates.into_inner().into_iter().map(|p: String| {
        let key = pointer_tokens(&p)
            .and_then(|t| t.last().cloned())
            .unwrap_or_default();
        Issue::warning(
            p,
            format!(
                "the key '{}' appears more than once; only the last value is kept",
                shown(&key)
            ),
        )
    });
    report.issues.splice(0..0, dup_issues);
    Ok(Parsed { value, report })
}

pub(super) fn syntax_error(text: &str, e: &serde_json::Error) -> SyntaxError {
    let line = e.line().max(1);
    let byte_col = e.column();
    // serde_json counts bytes; the editor counts characters.
    let column = text
        .split('\n')
        .nth(line - 1)
        .map(|l| {
            let kept = crate::domain::text::prefix(l, byte_col);
            let end = kept.len();
            let chars = kept.chars().count();
            // A column past the last whole char points at the char it is in.
            if end < byte_col.min(l.len()) {
                chars + 1
            } else {
                chars
            }
        })
        .unwrap_or(byte_col)
        .max(1);
    let raw = e.to_string();
    let raw = raw
        .rsplit_once(" at line ")
        .map_or(raw.as_str(), |(m, _)| m);
    let message = if text.trim().is_empty() {
        "json_spec is empty; write a JSON object such as {}".to_string()
    } else {
        match raw {
            "EOF while parsing an object" => {
                "the text ends before the object is closed; a '}' is missing".to_string()
            }
            "EOF while parsing a list" => {
                "the text ends before the array is closed; a ']' is missing".to_string()
            }
            "EOF while parsing a string" => {
                "the text ends inside a string; a closing '\"' is missing".to_string()
            }
            "EOF while parsing a value" => "the text ends where a value was expected".to_string(),
            "trailing comma" => "a trailing comma is not allowed in JSON".to_string(),
            "expected `,` or `}`" => "expected ',' or '}' (is a comma missing?)".to_string(),
            "expected `,` or `]`" => "expected ',' or ']' (is a comma missing?)".to_string(),
            "expected `:`" => "expected ':' after the key".to_string(),
            "expected value" => {
                "expected a value (a \"string\", a number, {…}, […], true, false or null)"
                    .to_string()
            }
            "expected ident" => "expected true, false or null".to_string(),
            "invalid escape" => {
                "an invalid escape in a string (use \\\\, \\\", \\n, \\t or \\uXXXX)".to_string()
            }
            m if m.starts_with("control character") => {
                "a line break or control character inside a string; write it as \\n".to_string()
            }
            "invalid number" => {
                "invalid number; JSON numbers have no leading zeros, '+' or trailing '.'"
                    .to_string()
            }
            "key must be a string" => "object keys must be strings in double quotes".to_string(),
            "trailing characters" => "there is text after the end of the JSON object".to_string(),
            "recursion limit exceeded" => {
                format!("json_spec nests too deeply; the limit is {MAX_SPEC_DEPTH} levels")
            }
            other => other.to_string(),
        }
    };
    SyntaxError {
        line,
        column,
        message,
    }
}

/// Builds a `Value` like serde_json does, recording the pointer of every
/// key that appears twice in one object.
pub(super) struct TrackingSeed<'a> {
    pointer: String,
    duplicates: &'a RefCell<Vec<String>>,
}

impl<'de> DeserializeSeed<'de> for TrackingSeed<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TrackingSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(TrackingSeed {
            pointer: index(&self.pointer, items.len()),
            duplicates: self.duplicates,
        })? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let pointer = child(&self.pointer, &key);
            let v = access.next_value_seed(TrackingSeed {
                pointer: pointer.clone(),
                duplicates: self.duplicates,
            })?;
            if map.contains_key(&key) {
                self.duplicates.borrow_mut().push(pointer);
                // Keep the first position, the last value, as serde_json does
                // for a preserve_order map.
            }
            map.insert(key, v);
        }
        Ok(Value::Object(map))
    }
}

/// A 1-based line and character column in json_spec text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Where a JSON pointer points in `text`: the member's key for an object
/// member (the last one when a key repeats), the element for an array
/// item. `None` if the text is not valid JSON or nothing is there.
pub fn locate(text: &str, pointer: &str) -> Option<Position> {
    let tokens = pointer_tokens(pointer)?;
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    let mut at = i;
    for token in &tokens {
        match b.get(i)? {
            b'{' => {
                i = skip_ws(b, i + 1);
                let mut found: Option<(usize, usize)> = None;
                while b.get(i) == Some(&b'"') {
                    let key_start = i;
                    let key_end = skip_string(b, i)?;
                    let key: String = serde_json::from_str(text.get(key_start..key_end)?).ok()?;
                    i = skip_ws(b, key_end);
                    if b.get(i) != Some(&b':') {
                        return None;
                    }
                    let value_start = skip_ws(b, i + 1);
                    if key == *token {
                        found = Some((key_start, value_start));
                    }
                    i = skip_ws(b, skip_value(b, value_start)?);
                    if b.get(i) == Some(&b',') {
                        i = skip_ws(b, i + 1);
                    }
                }
                let (key_start, value_start) = found?;
                at = key_start;
                i = value_start;
            }
            b'[' => {
                let want: usize = token.parse().ok()?;
                i = skip_ws(b, i + 1);
                for _ in 0..want {
                    if matches!(b.get(i), None | Some(b']')) {
                        return None;
                    }
                    i = skip_ws(b, skip_value(b, i)?);
                    if b.get(i) == Some(&b',') {
                        i = skip_ws(b, i + 1);
                    }
                }
                if matches!(b.get(i), None | Some(b']')) {
                    return None;
                }
                at = i;
            }
            _ => return None,
        }
    }
    Some(position_of(text, at))
}

pub(super) fn position_of(text: &str, byte: usize) -> Position {
    let before = text.get(..byte).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line,
        column: before[line_start..].chars().count() + 1,
    }
}

pub(super) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
    {
        i += 1;
    }
    i
}

/// The index just past the string starting at `i` (which is `"`).
pub(super) fn skip_string(b: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match b.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The index just past the value starting at `i`, without recursion.
pub(super) fn skip_value(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match b.get(i)? {
            b'"' => i = skip_string(b, i)?,
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                i += 1;
            }
            _ if depth == 0 => {
                while b.get(i).is_some_and(|c| {
                    !matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                }) {
                    i += 1;
                }
                return Some(i);
            }
            _ => i += 1,
        }
        if depth == 0 {
            return Some(i);
        }
    }
}
