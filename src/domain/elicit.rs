//! An elicitation form (MCP `elicitation/create`): the fields a server's
//! requested schema asks for, the text an operator types for each, and the
//! answer checked against the schema before anything is sent. Pure rules;
//! the console's form and the CLI's prompts both use them.

use serde_json::{Map, Value};

/// One choice of an enum field: the value sent and the label shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// What a field takes.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    /// A string, with an optional `format` (email, uri, date, date-time)
    /// and length bounds.
    Text {
        format: Option<String>,
        min_len: Option<u64>,
        max_len: Option<u64>,
    },
    /// A number (`integer`: whole numbers only) with optional bounds.
    Number {
        integer: bool,
        min: Option<f64>,
        max: Option<f64>,
    },
    Bool,
    /// One of a list.
    Choice(Vec<Choice>),
    /// Several of a list (typed comma-separated).
    Choices {
        options: Vec<Choice>,
        min: Option<u64>,
        max: Option<u64>,
    },
}

/// One field of the form.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The property name (the answer's key).
    pub name: String,
    /// The schema's `title`, else the name.
    pub title: String,
    pub description: Option<String>,
    pub required: bool,
    pub kind: FieldKind,
    /// Looks like a secret (its name or `format: password`): masked while
    /// typed, never logged or kept.
    pub secret: bool,
    /// The schema's default, as the text the field starts with.
    pub default: String,
}

/// Why a requested schema cannot be shown as a form; one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("the requested schema is not an object with properties")]
    NotObject,
    #[error(
        "field '{0}' asks for {1}, which a form cannot ask for (only strings, numbers, integers, booleans and enums)"
    )]
    Unsupported(String, String),
}

/// Whether a field named `name` with `format` holds a secret.
pub fn is_secret(name: &str, format: Option<&str>) -> bool {
    if format == Some("password") {
        return true;
    }
    let n = name.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "token",
        "secret",
        "key",
        "credential",
        "pin",
    ]
    .iter()
    .any(|w| n.contains(w))
}

fn choices(v: &Value) -> Option<Vec<Choice>> {
    if let Some(list) = v.get("enum").and_then(Value::as_array) {
        let names = v.get("enumNames").and_then(Value::as_array);
        return Some(
            list.iter()
                .enumerate()
                .filter_map(|(i, x)| {
                    let value = x.as_str()?.to_string();
                    let label = names
                        .and_then(|n| n.get(i))
                        .and_then(Value::as_str)
                        .map_or_else(|| value.clone(), str::to_string);
                    Some(Choice { value, label })
                })
                .collect(),
        );
    }
    let list = v
        .get("oneOf")
        .or_else(|| v.get("anyOf"))
        .and_then(Value::as_array)?;
    Some(
        list.iter()
            .filter_map(|o| {
                let value = o.get("const")?.as_str()?.to_string();
                let label = o
                    .get("title")
                    .and_then(Value::as_str)
                    .map_or_else(|| value.clone(), str::to_string);
                Some(Choice { value, label })
            })
            .collect(),
    )
}

fn default_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// The fields of a requested schema, in its order.
pub fn fields(schema: &Value) -> Result<Vec<Field>, SchemaError> {
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .ok_or(SchemaError::NotObject)?;
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(props.len());
    for (name, p) in props {
        let ty = p.get("type").and_then(Value::as_str).unwrap_or("");
        let format = p.get("format").and_then(Value::as_str);
        let num = |k: &str| p.get(k).and_then(Value::as_f64);
        let count = |k: &str| p.get(k).and_then(Value::as_u64);
        let kind = match ty {
            "string" => match choices(p) {
                Some(c) => FieldKind::Choice(c),
                None => FieldKind::Text {
                    format: format.map(str::to_string),
                    min_len: count("minLength"),
                    max_len: count("maxLength"),
                },
            },
            "number" | "integer" => FieldKind::Number {
                integer: ty == "integer",
                min: num("minimum"),
                max: num("maximum"),
            },
            "boolean" => FieldKind::Bool,
            "array" => match p.get("items").and_then(choices) {
                Some(options) => FieldKind::Choices {
                    options,
                    min: count("minItems"),
                    max: count("maxItems"),
                },
                None => {
                    return Err(SchemaError::Unsupported(
                        name.clone(),
                        "a list of free values".into(),
                    ));
                }
            },
            other => {
                return Err(SchemaError::Unsupported(
                    name.clone(),
                    if other.is_empty() {
                        "no type".into()
                    } else {
                        format!("type {other}")
                    },
                ));
            }
        };
        out.push(Field {
            name: name.clone(),
            title: p
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or(name)
                .to_string(),
            description: p
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
            required: required.contains(&name.as_str()),
            secret: is_secret(name, format),
            default: default_text(p.get("default")),
            kind,
        });
    }
    Ok(out)
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn find<'a>(options: &'a [Choice], text: &str) -> Option<&'a Choice> {
    options
        .iter()
        .find(|c| c.value == text)
        .or_else(|| options.iter().find(|c| c.label.eq_ignore_ascii_case(text)))
}

fn names(options: &[Choice]) -> String {
    options
        .iter()
        .map(|c| c.label.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Field {
    /// The value of `text` typed for this field: `None` when left empty,
    /// else the JSON value, or one sentence saying what is wrong.
    pub fn value(&self, text: &str) -> Result<Option<Value>, String> {
        let t = text.trim();
        if t.is_empty() {
            return if self.required {
                Err("is required".into())
            } else {
                Ok(None)
            };
        }
        match &self.kind {
            FieldKind::Text {
                format,
                min_len,
                max_len,
            } => {
                let n = text.chars().count() as u64;
                if let Some(m) = min_len.filter(|m| n < *m) {
                    return Err(format!("needs at least {m} characters"));
                }
                if let Some(m) = max_len.filter(|m| n > *m) {
                    return Err(format!("takes at most {m} characters"));
                }
                match format.as_deref() {
                    Some("email") if !looks_like_email(t) => {
                        Err("is not an email address (name@host)".into())
                    }
                    Some("uri") if url::Url::parse(t).is_err() => {
                        Err("is not a URI (like https://example.com)".into())
                    }
                    Some("date") if chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_err() => {
                        Err("is not a date (YYYY-MM-DD)".into())
                    }
                    Some("date-time") if chrono::DateTime::parse_from_rfc3339(t).is_err() => {
                        Err("is not a date and time (RFC 3339, like 2026-01-31T12:00:00Z)".into())
                    }
                    _ => Ok(Some(Value::String(text.to_string()))),
                }
            }
            FieldKind::Number { integer, min, max } => {
                let x: f64 = t
                    .parse()
                    .map_err(|_| format!("is not a number: {}", short(t)))?;
                if !x.is_finite() {
                    return Err("is not a finite number".into());
                }
                if *integer && x.fract() != 0.0 {
                    return Err("must be a whole number".into());
                }
                if let Some(m) = min.filter(|m| x < *m) {
                    return Err(format!("must be at least {}", fmt_num(m)));
                }
                if let Some(m) = max.filter(|m| x > *m) {
                    return Err(format!("must be at most {}", fmt_num(m)));
                }
                Ok(Some(if *integer {
                    Value::from(x as i64)
                } else {
                    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
                }))
            }
            FieldKind::Bool => match t.to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" => Ok(Some(Value::Bool(true))),
                "false" | "no" | "n" => Ok(Some(Value::Bool(false))),
                _ => Err("is yes or no".into()),
            },
            FieldKind::Choice(options) => find(options, t)
                .map(|c| Some(Value::String(c.value.clone())))
                .ok_or_else(|| format!("is one of: {}", names(options))),
            FieldKind::Choices { options, min, max } => {
                let mut picked = Vec::new();
                for part in t.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let c = find(options, part).ok_or_else(|| {
                        format!("'{}' is not one of: {}", short(part), names(options))
                    })?;
                    if !picked.contains(&c.value) {
                        picked.push(c.value.clone());
                    }
                }
                let n = picked.len() as u64;
                if let Some(m) = min.filter(|m| n < *m) {
                    return Err(format!("needs at least {m} choices"));
                }
                if let Some(m) = max.filter(|m| n > *m) {
                    return Err(format!("takes at most {m} choices"));
                }
                Ok(Some(Value::Array(
                    picked.into_iter().map(Value::String).collect(),
                )))
            }
        }
    }

    /// The next text of a boolean or single-choice field (space cycles
    /// through its values); `None` for a field that is typed.
    pub fn cycle(&self, text: &str) -> Option<String> {
        match &self.kind {
            FieldKind::Bool => Some(
                if text.trim() == "true" {
                    "false"
                } else {
                    "true"
                }
                .into(),
            ),
            FieldKind::Choice(options) if !options.is_empty() => {
                let at = options.iter().position(|c| c.value == text.trim());
                let next = at.map_or(0, |i| (i + 1) % options.len());
                Some(options[next].value.clone())
            }
            _ => None,
        }
    }

    /// What the field takes, in a few words (shown beside it).
    pub fn hint(&self) -> String {
        match &self.kind {
            FieldKind::Text { format, .. } => format.clone().unwrap_or_else(|| "text".into()),
            FieldKind::Number { integer: true, .. } => "integer".into(),
            FieldKind::Number { .. } => "number".into(),
            FieldKind::Bool => "yes/no".into(),
            FieldKind::Choice(_) => "choice".into(),
            FieldKind::Choices { .. } => "choices".into(),
        }
    }

    /// The choices of an enum field, in a line ("one of: a, b").
    pub fn options(&self) -> Option<String> {
        match &self.kind {
            FieldKind::Choice(o) => Some(format!("one of: {}", names(o))),
            FieldKind::Choices { options, .. } => {
                Some(format!("comma-separated, of: {}", names(options)))
            }
            _ => None,
        }
    }
}

fn short(s: &str) -> String {
    crate::domain::text::shown(&s.chars().take(40).collect::<String>())
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((user, host)) => {
            !user.is_empty() && host.contains('.') && !host.starts_with('.') && !s.contains(' ')
        }
        None => false,
    }
}

/// The answer of a form: every field's value checked; the content to send,
/// or each field's problem (its index and sentence).
pub fn answer(
    fields: &[Field],
    texts: &[String],
) -> Result<Map<String, Value>, Vec<(usize, String)>> {
    let mut out = Map::new();
    let mut problems = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        match f.value(texts.get(i).map_or("", String::as_str)) {
            Ok(Some(v)) => {
                out.insert(f.name.clone(), v);
            }
            Ok(None) => {}
            Err(why) => problems.push((i, format!("{} {why}", f.title))),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "title": "Name", "description": "Your name"},
                "api_token": {"type": "string"},
                "pin": {"type": "string", "format": "password"},
                "age": {"type": "integer", "minimum": 1, "maximum": 100, "default": 42},
                "ratio": {"type": "number"},
                "ok": {"type": "boolean"},
                "pet": {"type": "string", "enum": ["p1", "p2"], "enumNames": ["Cats", "Dogs"], "default": "p1"},
                "hero": {"type": "string", "oneOf": [{"const": "h1", "title": "Superman"}]},
                "fish": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"anyOf": [
                    {"const": "f1", "title": "Tuna"}, {"const": "f2", "title": "Salmon"}, {"const": "f3", "title": "Trout"}]}},
                "mail": {"type": "string", "format": "email"}
            },
            "required": ["name", "ok"]
        })
    }

    #[test]
    fn a_schema_becomes_fields_with_kinds_required_marks_defaults_and_secrets() {
        let f = fields(&schema()).unwrap();
        let names: Vec<&str> = f.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "name",
                "api_token",
                "pin",
                "age",
                "ratio",
                "ok",
                "pet",
                "hero",
                "fish",
                "mail"
            ]
        );
        assert_eq!(f[0].title, "Name");
        assert_eq!(f[0].description.as_deref(), Some("Your name"));
        assert!(f[0].required && f[5].required && !f[3].required);
        assert!(f[1].secret, "a name with token is a secret");
        assert!(f[2].secret, "format password is a secret");
        assert!(!f[0].secret);
        assert_eq!(f[3].default, "42");
        assert_eq!(f[6].default, "p1");
        assert!(matches!(&f[6].kind, FieldKind::Choice(c) if c[1].label == "Dogs"));
        assert!(matches!(&f[7].kind, FieldKind::Choice(c) if c[0].label == "Superman"));
        assert!(
            matches!(&f[8].kind, FieldKind::Choices { options, max: Some(2), .. } if options.len() == 3)
        );
    }

    #[test]
    fn a_schema_a_form_cannot_ask_for_says_which_field() {
        let e = fields(&json!({"properties": {"deep": {"type": "object"}}})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "field 'deep' asks for type object, which a form cannot ask for (only strings, numbers, integers, booleans and enums)"
        );
        assert_eq!(fields(&json!([])).unwrap_err(), SchemaError::NotObject);
    }

    #[test]
    fn answers_are_checked_before_sending() {
        let f = fields(&schema()).unwrap();
        let mut texts: Vec<String> = f.iter().map(|x| x.default.clone()).collect();
        // Required fields left empty.
        let e = answer(&f, &texts).unwrap_err();
        assert_eq!(
            e,
            vec![(0, "Name is required".into()), (5, "ok is required".into())]
        );
        texts[0] = "Ada".into();
        texts[5] = "yes".into();
        texts[3] = "101".into();
        texts[4] = "x".into();
        texts[9] = "nobody".into();
        texts[8] = "Tuna, Carp".into();
        let e = answer(&f, &texts).unwrap_err();
        let said: Vec<&str> = e.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(
            said,
            [
                "age must be at most 100",
                "ratio is not a number: x",
                "fish 'Carp' is not one of: Tuna, Salmon, Trout",
                "mail is not an email address (name@host)"
            ]
        );
        texts[3] = "7".into();
        texts[4] = "0.5".into();
        texts[8] = "Tuna, f2".into();
        texts[9] = "a@b.org".into();
        texts[6] = "Dogs".into();
        let ok = answer(&f, &texts).unwrap();
        assert_eq!(ok["name"], json!("Ada"));
        assert_eq!(ok["ok"], json!(true));
        assert_eq!(ok["age"], json!(7));
        assert_eq!(ok["ratio"], json!(0.5));
        assert_eq!(ok["pet"], json!("p2"), "a label answers with its value");
        assert_eq!(ok["fish"], json!(["f1", "f2"]));
        assert!(
            !ok.contains_key("api_token"),
            "an empty optional field is left out"
        );
        texts[3] = "1.5".into();
        assert_eq!(
            answer(&f, &texts).unwrap_err()[0].1,
            "age must be a whole number"
        );
    }

    #[test]
    fn booleans_and_choices_cycle() {
        let f = fields(&schema()).unwrap();
        assert_eq!(f[5].cycle("").as_deref(), Some("true"));
        assert_eq!(f[5].cycle("true").as_deref(), Some("false"));
        assert_eq!(f[6].cycle("p1").as_deref(), Some("p2"));
        assert_eq!(f[6].cycle("p2").as_deref(), Some("p1"));
        assert_eq!(f[0].cycle("x"), None);
    }
}
