//! Check tool-call arguments against a tool's input schema before sending.
//!
//! Covers the JSON Schema keywords tool schemas use in practice: `type`
//! (one or a list), `required`, `properties`, `additionalProperties: false`,
//! `enum`, `const`, `items`, `minimum`/`maximum`, `minLength`/`maxLength`,
//! `minItems`/`maxItems`. Unknown keywords are ignored (the server has the
//! last word). Findings carry JSON pointers.

use serde_json::Value;

/// Every problem found, as "pointer: message" sentences.
pub fn check(schema: &Value, args: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(schema, args, "", &mut out);
    out
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => {
            v.as_i64().is_some()
                || v.as_u64().is_some()
                || v.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => true,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn at(p: &str) -> &str {
    if p.is_empty() { "/" } else { p }
}

fn walk(schema: &Value, v: &Value, ptr: &str, out: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        return;
    };
    match s.get("type") {
        Some(Value::String(t)) if !type_ok(t, v) => {
            out.push(format!("{}: expected {t}, got {}", at(ptr), kind(v)));
            return;
        }
        Some(Value::Array(ts)) if !ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, v)) => {
            let names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
            out.push(format!(
                "{}: expected {}, got {}",
                at(ptr),
                names.join(" or "),
                kind(v)
            ));
            return;
        }
        _ => {}
    }
    if let Some(Value::Array(allowed)) = s.get("enum")
        && !allowed.contains(v)
    {
        let shown: Vec<String> = allowed.iter().map(Value::to_string).collect();
        out.push(format!("{}: must be one of {}", at(ptr), shown.join(", ")));
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        out.push(format!("{}: must be {c}", at(ptr)));
    }
    if let Some(n) = v.as_f64() {
        if let Some(min) = s.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            out.push(format!("{}: must be at least {min}", at(ptr)));
        }
        if let Some(max) = s.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            out.push(format!("{}: must be at most {max}", at(ptr)));
        }
    }
    if let Some(text) = v.as_str() {
        let len = text.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            out.push(format!("{}: must be at least {min} characters", at(ptr)));
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            out.push(format!("{}: must be at most {max} characters", at(ptr)));
        }
    }
    if let Some(items) = v.as_array() {
        let n = items.len() as u64;
        if let Some(min) = s.get("minItems").and_then(Value::as_u64)
            && n < min
        {
            out.push(format!("{}: needs at least {min} items", at(ptr)));
        }
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
            && n > max
        {
            out.push(format!("{}: allows at most {max} items", at(ptr)));
        }
        if let Some(item_schema) = s.get("items").filter(|i| i.is_object()) {
            for (i, item) in items.iter().enumerate() {
                walk(item_schema, item, &format!("{ptr}/{i}"), out);
            }
        }
    }
    if let Some(obj) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(req)) = s.get("required") {
            for name in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(name) {
                    out.push(format!("{}: missing required property '{name}'", at(ptr)));
                }
            }
        }
        for (k, val) in obj {
            let child = format!("{ptr}/{}", crate::domain::spec::pointer_token(k));
            match props.and_then(|p| p.get(k)) {
                Some(ps) => walk(ps, val, &child, out),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        out.push(format!("{}: property '{k}' is not allowed", at(ptr)));
                    }
                    Some(extra @ Value::Object(_)) => walk(extra, val, &child, out),
                    _ => {}
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_missing_wrong_type_and_extra_properties() {
        let schema = json!({"type": "object", "properties": {"message": {"type": "string"}, "n": {"type": "integer", "minimum": 1}}, "required": ["message"], "additionalProperties": false});
        assert!(check(&schema, &json!({"message": "hi"})).is_empty());
        let errs = check(&schema, &json!({"n": 0, "x": true}));
        assert!(
            errs.iter()
                .any(|e| e == "/: missing required property 'message'"),
            "{errs:?}"
        );
        assert!(
            errs.iter().any(|e| e == "/n: must be at least 1"),
            "{errs:?}"
        );
        assert!(
            errs.iter().any(|e| e == "/: property 'x' is not allowed"),
            "{errs:?}"
        );
        let errs = check(&schema, &json!({"message": 5}));
        assert_eq!(errs, vec!["/message: expected string, got a number"]);
        assert_eq!(
            check(&schema, &json!([1])),
            vec!["/: expected object, got an array"]
        );
    }

    #[test]
    fn enums_and_items_are_checked() {
        let schema = json!({"type": "object", "properties": {"tags": {"type": "array", "items": {"enum": ["a", "b"]}}}});
        assert!(check(&schema, &json!({"tags": ["a"]})).is_empty());
        let errs = check(&schema, &json!({"tags": ["a", "z"]}));
        assert_eq!(errs, vec!["/tags/1: must be one of \"a\", \"b\""]);
    }
}
