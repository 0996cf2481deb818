//! What the editor says about the text: JSON syntax, then the spec's rules.

use super::*;

pub use crate::domain::spec::SyntaxError;

/// The result of the last validation.
#[derive(Debug, Clone, PartialEq)]
pub enum Validation {
    /// The text is not JSON.
    Syntax(SyntaxError),
    /// The text is JSON; the report says whether it is a valid json_spec.
    Checked {
        value: Value,
        report: Report,
        /// Where each of `report.issues` is in the text, when it can be found.
        at: Vec<Option<Position>>,
    },
}

impl Validation {
    /// Parse and validate json_spec text.
    pub fn of(text: &str) -> Validation {
        match spec::parse_spec(text) {
            Ok(Parsed { value, report }) => {
                let at = report
                    .issues
                    .iter()
                    .map(|i| spec::locate(text, &i.pointer))
                    .collect();
                Validation::Checked { value, report, at }
            }
            Err(mut e) => {
                e.message = plainer(&e.message);
                Validation::Syntax(e)
            }
        }
    }

    /// Where the first problem is (1-based line, column): the syntax
    /// error, else the first located error, else the first located issue.
    pub fn first_position(&self) -> Option<(usize, usize)> {
        match self {
            Validation::Syntax(e) => Some((e.line, e.column)),
            Validation::Checked { report, at, .. } => {
                let located = || report.issues.iter().zip(at.iter());
                located()
                    .find(|(i, p)| i.severity == Severity::Error && p.is_some())
                    .or_else(|| located().find(|(_, p)| p.is_some()))
                    .and_then(|(_, p)| p.map(|p| (p.line, p.column)))
            }
        }
    }

    pub fn is_valid(&self) -> bool {
        matches!(self, Validation::Checked { report, .. } if report.is_valid())
    }

    /// The provider kind, when the text is JSON.
    pub fn kind(&self) -> Option<ProviderKind> {
        match self {
            Validation::Checked { report, .. } => report.kind,
            Validation::Syntax(_) => None,
        }
    }

    /// How many findings of `severity` (a syntax error counts as one error).
    pub fn count(&self, severity: Severity) -> usize {
        match self {
            Validation::Syntax(_) => usize::from(severity == Severity::Error),
            Validation::Checked { report, .. } => report
                .issues
                .iter()
                .filter(|i| i.severity == severity)
                .count(),
        }
    }
}

/// serde_json's terse messages that the domain passes through, in words.
fn plainer(message: &str) -> String {
    match message {
        "expected `:`" => "expected ':' after the key".into(),
        "expected `,` or `}`" => "expected ',' or '}' (is a comma missing?)".into(),
        "expected `,` or `]`" => "expected ',' or ']' (is a comma missing?)".into(),
        "expected value" => {
            "expected a value (a \"string\", a number, {…}, […], true, false or null)".into()
        }
        "expected ident" => "expected true, false or null".into(),
        "invalid escape" => {
            "an invalid escape in a string (use \\\\, \\\", \\n, \\t or \\uXXXX)".into()
        }
        m if m.starts_with("control character") => {
            "a line break or control character inside a string; write it as \\n".into()
        }
        m => m.to_string(),
    }
}
