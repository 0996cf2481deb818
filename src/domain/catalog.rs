//! Built-in templates for the create picker: well-known MCP servers as
//! `command` specs, each with the env vars it needs.

use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Serialize)]
pub struct Template {
    /// Suggested instance name.
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// Env vars the user must supply (best as `secret_ref:NAME`).
    pub required_env: &'static [&'static str],
    /// The json_spec to start from.
    pub json_spec: Value,
}

/// The catalog, in picker order.
pub fn templates() -> Vec<Template> {
    vec![
        Template {
            name: "filesystem",
            title: "Filesystem",
            description: "Read and write files under the directories you list (edit the last argument).",
            required_env: &[],
            json_spec: json!({"command": ["npx", "-y", "@modelcontextprotocol/server-filesystem"], "args": ["/tmp"]}),
        },
        Template {
            name: "memory",
            title: "Memory",
            description: "A knowledge-graph memory kept in a local file.",
            required_env: &[],
            json_spec: json!({"command": ["npx", "-y", "@modelcontextprotocol/server-memory"], "env_vars": {}}),
        },
        Template {
            name: "everything",
            title: "Everything (reference server)",
            description: "The MCP reference server: echo, add, sampling and more; good for testing.",
            required_env: &[],
            json_spec: json!({"command": ["npx", "-y", "@modelcontextprotocol/server-everything"], "args": ["stdio"]}),
        },
        Template {
            name: "fetch",
            title: "Fetch",
            description: "Fetch web pages and turn them into markdown (Python, run with uvx).",
            required_env: &[],
            json_spec: json!({"command": ["uvx", "mcp-server-fetch"]}),
        },
        Template {
            name: "time",
            title: "Time",
            description: "Current time and time-zone conversion (Python, run with uvx).",
            required_env: &[],
            json_spec: json!({"command": ["uvx", "mcp-server-time"], "args": ["--local-timezone", "UTC"]}),
        },
        Template {
            name: "github",
            title: "GitHub",
            description: "GitHub issues, pull requests and files; needs a personal access token.",
            required_env: &["GITHUB_PERSONAL_ACCESS_TOKEN"],
            json_spec: json!({"command": ["npx", "-y", "@modelcontextprotocol/server-github"], "env_vars": {"GITHUB_PERSONAL_ACCESS_TOKEN": "secret_ref:GITHUB_TOKEN"}}),
        },
    ]
}

/// A template by name.
pub fn template(name: &str) -> Option<Template> {
    templates().into_iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::spec::{ProviderKind, validate};

    #[test]
    fn every_template_is_a_valid_process_spec_naming_its_env() {
        let all = templates();
        for want in ["filesystem", "memory", "everything", "fetch", "time"] {
            assert!(all.iter().any(|t| t.name == want), "{want}");
        }
        for t in all {
            let r = validate(&t.json_spec);
            assert!(r.is_valid(), "{}: {}", t.name, r.summary());
            assert_eq!(r.kind, Some(ProviderKind::Process), "{}", t.name);
            assert!(crate::domain::instance::validate_name(t.name).is_ok());
            for env in t.required_env {
                assert!(
                    t.json_spec["env_vars"].get(env).is_some(),
                    "{} names {env}",
                    t.name
                );
            }
        }
    }
}
