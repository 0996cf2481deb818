//! The `/` filter: whitespace-separated terms that must all match.
//!
//! A term is `status:VALUE` or `kind:VALUE` (comma-separated values, prefix
//! match), or free text: a case-insensitive regex, falling back to a plain
//! substring when it is not a valid regex. `!` before any term inverts it.

use regex::{Regex, RegexBuilder};

/// What a row offers to the filter.
pub struct Subject<'a> {
    /// Text that free terms search (name, id, type...).
    pub text: &'a [&'a str],
    pub status: Option<&'a str>,
    pub kind: Option<&'a str>,
}

#[derive(Debug, Clone)]
enum Matcher {
    Status(Vec<String>),
    Kind(Vec<String>),
    Regex(Regex),
    Substring(String),
}

#[derive(Debug, Clone)]
struct Term {
    negate: bool,
    matcher: Matcher,
}

/// A parsed filter; the empty filter matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    source: String,
    terms: Vec<Term>,
}

fn values(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

impl Filter {
    pub fn parse(input: &str) -> Filter {
        let terms = input
            .split_whitespace()
            .filter_map(|raw| {
                let (negate, body) = match raw.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, raw),
                };
                if body.is_empty() {
                    return None;
                }
                let lower = body.to_ascii_lowercase();
                let matcher = if let Some(v) = lower.strip_prefix("status:") {
                    Matcher::Status(values(v))
                } else if let Some(v) = lower.strip_prefix("kind:") {
                    Matcher::Kind(values(v))
                } else {
                    match RegexBuilder::new(body)
                        .case_insensitive(true)
                        .size_limit(1 << 20)
                        .build()
                    {
                        Ok(re) => Matcher::Regex(re),
                        Err(_) => Matcher::Substring(lower),
                    }
                };
                Some(Term { negate, matcher })
            })
            .collect();
        Filter {
            source: input.trim().to_string(),
            terms,
        }
    }

    /// The text the filter was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn matches(&self, s: &Subject<'_>) -> bool {
        self.terms.iter().all(|t| {
            let hit = match &t.matcher {
                Matcher::Status(vs) => s
                    .status
                    .is_some_and(|st| vs.iter().any(|v| st.starts_with(v.as_str()))),
                Matcher::Kind(vs) => s
                    .kind
                    .is_some_and(|k| vs.iter().any(|v| k.starts_with(v.as_str()))),
                Matcher::Regex(re) => s.text.iter().any(|x| re.is_match(x)),
                Matcher::Substring(sub) => s
                    .text
                    .iter()
                    .any(|x| x.to_ascii_lowercase().contains(sub.as_str())),
            };
            hit != t.negate
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subj<'a>(text: &'a [&'a str], status: &'a str, kind: &'a str) -> Subject<'a> {
        Subject {
            text,
            status: Some(status),
            kind: Some(kind),
        }
    }

    #[test]
    fn substring_regex_inverse_and_fields() {
        let web = subj(&["web-1"], "running", "process");
        let db = subj(&["db-main"], "unhealthy", "container");
        let f = Filter::parse("WEB");
        assert!(f.matches(&web) && !f.matches(&db));
        let f = Filter::parse("^db-.*n$");
        assert!(!f.matches(&web) && f.matches(&db));
        let f = Filter::parse("!web");
        assert!(!f.matches(&web) && f.matches(&db));
        let f = Filter::parse("status:unh");
        assert!(!f.matches(&web) && f.matches(&db));
        let f = Filter::parse("status:running,unhealthy kind:proc");
        assert!(f.matches(&web) && !f.matches(&db));
        let f = Filter::parse("!status:running");
        assert!(!f.matches(&web) && f.matches(&db));
    }

    #[test]
    fn invalid_regex_falls_back_to_substring() {
        let odd = subj(&["a(b"], "running", "process");
        let f = Filter::parse("a(");
        assert!(f.matches(&odd));
        assert!(!f.matches(&subj(&["ab"], "running", "process")));
    }

    #[test]
    fn empty_filter_matches_all() {
        let f = Filter::parse("   ");
        assert!(f.is_empty());
        assert!(f.matches(&subj(&["x"], "error", "external")));
        assert!(Filter::parse("!").is_empty());
    }
}
