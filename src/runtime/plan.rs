//! From json_spec to a launch plan: what to run or reach, with secret
//! references resolved (only here, only at spawn/request time).

use crate::domain::spec::{EndpointTransport, ProviderKind};
use crate::secrets::{SecretError, SecretStore, SecretValue};
use serde_json::{Map, Value};
use std::path::PathBuf;

/// A managed stdio process.
#[derive(Debug, Clone)]
pub struct ProcessPlan {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
}

/// An external endpoint: Streamable HTTP or the legacy HTTP+SSE transport.
#[derive(Debug, Clone)]
pub struct EndpointPlan {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub transport: EndpointTransport,
    /// The instance's OAuth login, when the plan is for an instance.
    pub login: Option<LoginRef>,
}

/// Whose OAuth login an endpoint uses: the instance's name (for the
/// command that logs in) and where its credentials are kept.
#[derive(Debug, Clone)]
pub struct LoginRef {
    pub instance: String,
    pub credentials: super::oauth::SecretCredentials,
}

/// A container run through a container CLI.
#[derive(Debug, Clone)]
pub struct ContainerPlan {
    pub image: String,
    pub env: Vec<(String, String)>,
    pub cmd: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Plan {
    Process(ProcessPlan),
    Endpoint(EndpointPlan),
    Container(ContainerPlan),
}

/// A plan plus the secret values it carries (to mask them in stderr).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub plan: Plan,
    pub secrets: Vec<SecretValue>,
}

/// Why a json_spec cannot be run: its shape, or a secret it refers to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Spec(String),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

fn spec_err<T>(m: impl Into<String>) -> Result<T, PlanError> {
    Err(PlanError::Spec(m.into()))
}

fn strings(v: Option<&Value>, what: &str) -> Result<Vec<String>, PlanError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => spec_err(format!("json_spec {what} must hold only strings")),
            })
            .collect(),
        Some(_) => spec_err(format!(
            "json_spec {what} must be a string or a list of strings"
        )),
    }
}

/// Resolve a map of names to values (env vars, headers); values that are
/// secret references are looked up. A list of names (an AgentArea form)
/// passes the named variables through from our own environment.
fn resolve_map(
    v: Option<&Value>,
    what: &str,
    secrets: &SecretStore,
    found: &mut Vec<SecretValue>,
) -> Result<Vec<(String, String)>, PlanError> {
    let mut out = Vec::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, val) in map {
                let text = match val {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return spec_err(format!("json_spec {what}/{k} must be a string")),
                };
                let r = secrets.resolve(&text)?;
                if let Some(s) = r.secret() {
                    found.push(s.clone());
                }
                out.push((k.clone(), r.expose().to_string()));
            }
        }
        Some(Value::Array(names)) => {
            for n in names {
                if let Some(name) = n.as_str()
                    && let Ok(val) = std::env::var(name)
                {
                    out.push((name.to_string(), val));
                }
            }
        }
        Some(_) => return spec_err(format!("json_spec {what} must be an object")),
    }
    Ok(out)
}

/// Build the launch plan for `spec`, resolving secret references.
pub fn resolve(spec: &Map<String, Value>, secrets: &SecretStore) -> Result<Resolved, PlanError> {
    let mut found = Vec::new();
    let plan = match ProviderKind::detect(spec) {
        ProviderKind::Process => {
            let mut argv = strings(spec.get("command"), "/command")?;
            if argv.is_empty() || argv[0].trim().is_empty() {
                return spec_err("json_spec /command is empty; give the program to run");
            }
            argv.extend(strings(spec.get("args"), "/args")?);
            let program = argv.remove(0);
            let mut env = resolve_map(spec.get("env_vars"), "/env_vars", secrets, &mut found)?;
            env.extend(resolve_map(spec.get("env"), "/env", secrets, &mut found)?);
            let cwd = match spec.get("cwd") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(PathBuf::from(s)),
                Some(_) => return spec_err("json_spec /cwd must be a string"),
            };
            Plan::Process(ProcessPlan {
                program,
                args: argv,
                env,
                cwd,
            })
        }
        ProviderKind::External => {
            let url = spec
                .get("endpoint_url")
                .or_else(|| spec.get("endpoint"))
                .or_else(|| spec.get("url"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    PlanError::Spec("json_spec has no endpoint_url (or endpoint) string".into())
                })?
                .to_string();
            let mut headers = resolve_map(spec.get("headers"), "/headers", secrets, &mut found)?;
            if let Some(Value::Object(auth)) = spec.get("authentication")
                && auth.get("type").and_then(Value::as_str) == Some("bearer")
                && let Some(tok) = auth.get("token").and_then(Value::as_str)
            {
                let r = secrets.resolve(tok)?;
                if let Some(s) = r.secret() {
                    found.push(s.clone());
                }
                headers.push(("Authorization".into(), format!("Bearer {}", r.expose())));
            }
            let transport = match spec.get("transport") {
                None | Some(Value::Null) => EndpointTransport::Auto,
                Some(v) => v
                    .as_str()
                    .and_then(EndpointTransport::parse)
                    .ok_or_else(|| {
                        PlanError::Spec(
                            "json_spec /transport must be \"sse\", \"streamable-http\" or \"auto\""
                                .into(),
                        )
                    })?,
            };
            Plan::Endpoint(EndpointPlan {
                url,
                headers,
                transport,
                login: None,
            })
        }
        ProviderKind::Container => {
            let image = spec
                .get("image")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    PlanError::Spec(
                        "json_spec names no image to run (a container spec needs \"image\")".into(),
                    )
                })?
                .to_string();
            let mut env =
                resolve_map(spec.get("environment"), "/environment", secrets, &mut found)?;
            env.extend(resolve_map(
                spec.get("env_vars"),
                "/env_vars",
                secrets,
                &mut found,
            )?);
            Plan::Container(ContainerPlan {
                image,
                env,
                cmd: strings(spec.get("cmd"), "/cmd")?,
            })
        }
    };
    Ok(Resolved {
        plan,
        secrets: found,
    })
}

/// Longest a tool call of this instance may take: its json_spec's
/// `timeout_seconds` when that is a valid number of seconds (see the
/// validator's rule), else `default` (the `call_timeout` setting).
pub fn call_timeout(
    spec: &Map<String, Value>,
    default: std::time::Duration,
) -> std::time::Duration {
    crate::domain::spec::timeout_seconds(spec).unwrap_or(default)
}

/// [`resolve`] for an instance: an endpoint also gets the instance's OAuth
/// login.
pub fn for_instance(
    inst: &crate::domain::Instance,
    secrets: &SecretStore,
) -> Result<Resolved, PlanError> {
    let mut r = resolve(&inst.json_spec, secrets)?;
    if let Plan::Endpoint(e) = &mut r.plan {
        e.login = Some(LoginRef {
            instance: inst.name.clone(),
            credentials: super::oauth::SecretCredentials::new(secrets.clone(), inst.id),
        });
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn command_args_env_and_secrets_resolve() {
        let tmp = tempfile::tempdir().unwrap();
        let s = SecretStore::open(tmp.path());
        s.set("K", &SecretValue::new("v1")).unwrap();
        let r = resolve(
            &obj(json!({"command": ["npx", "-y", "pkg"], "args": ["x"], "env_vars": {"API_KEY": "secret_ref:K", "A": "b"}, "cwd": "/tmp"})),
            &s,
        )
        .unwrap();
        let Plan::Process(p) = r.plan else { panic!() };
        assert_eq!(p.program, "npx");
        assert_eq!(p.args, vec!["-y", "pkg", "x"]);
        assert!(p.env.contains(&("API_KEY".into(), "v1".into())));
        assert_eq!(r.secrets.len(), 1);
    }

    #[test]
    fn a_missing_secret_names_the_reference() {
        let tmp = tempfile::tempdir().unwrap();
        let s = SecretStore::open(tmp.path());
        let e = resolve(
            &obj(json!({"endpoint_url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "secret_ref:TOK"}})),
            &s,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("missing secret 'TOK'"), "{e}");
    }

    #[test]
    fn empty_command_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let s = SecretStore::open(tmp.path());
        assert!(resolve(&obj(json!({"command": []})), &s).is_err());
    }
}
