//! A name is not an id on every backend: AgentArea keeps two instances with
//! one name. Resolving NAME-OR-ID therefore either finds exactly one
//! instance or changes nothing and lists every match.

use super::PlatformError;
use super::api::wire::one_line;
use crate::domain::Instance;
use chrono::{DateTime, Utc};

/// How long ago `t` was, kubectl style ("42s", "5m", "3h", "2d").
fn since(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (now - t).num_seconds().max(0);
    let (n, unit) = match s {
        0..60 => (s, "s"),
        60..3600 => (s / 60, "m"),
        3600..86_400 => (s / 3600, "h"),
        _ => (s / 86_400, "d"),
    };
    format!("{n}{unit}")
}

/// The instances among `list` named `name`, oldest first.
pub fn named<'a>(list: &'a [Instance], name: &str) -> Vec<&'a Instance> {
    let mut out: Vec<&Instance> = list.iter().filter(|i| i.name == name).collect();
    out.sort_by_key(|i| (i.created_at, i.id));
    out
}

/// The sentence for a name that more than one instance has: every id with
/// its status and age, and what to do instead.
pub fn ambiguous(name: &str, matches: &[&Instance], now: DateTime<Utc>) -> PlatformError {
    let listed: Vec<String> = matches
        .iter()
        .map(|i| {
            format!(
                "{} ({}, created {} ago)",
                i.id,
                i.status.as_str(),
                since(i.created_at, now)
            )
        })
        .collect();
    PlatformError::Ambiguous(format!(
        "{} instances are named '{}', so nothing was done: {}; name one by its id",
        matches.len(),
        one_line(name),
        listed.join(", ")
    ))
}

/// The one instance in `list` named `name`; `Ok(None)` when there is none.
pub fn unique<'a>(
    list: &'a [Instance],
    name: &str,
    now: DateTime<Utc>,
) -> Result<Option<&'a Instance>, PlatformError> {
    match named(list, name).as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(ambiguous(name, many, now)),
    }
}

/// The refusal of a create whose name is taken.
pub fn taken(name: &str, existing: &Instance) -> PlatformError {
    PlatformError::Conflict(format!(
        "an instance named '{}' already exists (id {}, {}); nothing was created: `aacon instances apply` updates it, or choose another name",
        one_line(name),
        existing.id,
        existing.status.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;

    fn inst(name: &str, mins_ago: i64) -> Instance {
        let mut i = crate::platform::api::wire::test_instance(name, serde_json::json!({}));
        i.created_at = Utc::now() - chrono::Duration::minutes(mins_ago);
        i.status = Status::Running;
        i
    }

    #[test]
    fn one_match_is_found_and_twins_are_listed_never_picked() {
        let a = inst("web", 5);
        let b = inst("web", 120);
        let c = inst("db", 1);
        let list = vec![a.clone(), b.clone(), c.clone()];
        let now = Utc::now();
        assert_eq!(unique(&list, "db", now).unwrap().map(|i| i.id), Some(c.id));
        assert!(unique(&list, "nope", now).unwrap().is_none());
        let e = unique(&list, "web", now).unwrap_err();
        let s = e.to_string();
        assert!(matches!(e, PlatformError::Ambiguous(_)));
        assert!(
            s.starts_with("2 instances are named 'web', so nothing was done: "),
            "{s}"
        );
        // Oldest first, each with its status and age.
        let (ib, ia) = (
            s.find(&b.id.to_string()).unwrap(),
            s.find(&a.id.to_string()).unwrap(),
        );
        assert!(ib < ia, "{s}");
        assert!(
            s.contains("(running, created 2h ago)") && s.contains("(running, created 5m ago)"),
            "{s}"
        );
        assert_eq!(e.exit_code(), 6);
    }
}
