//! Container plans: finding a working container CLI (podman, then docker)
//! and the command line it runs, with no secret in argv.

use super::*;

/// Find a working container CLI: podman, then docker.
pub async fn container_cli() -> Result<&'static str, NoContainerRuntime> {
    let mut notes = Vec::new();
    for name in ["podman", "docker"] {
        let on_path = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
            .unwrap_or(false);
        if !on_path {
            continue;
        }
        let out = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::process::Command::new(name)
                .arg("info")
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await;
        match out {
            Ok(Ok(o)) if o.status.success() => return Ok(name),
            Ok(Ok(o)) => {
                let err = String::from_utf8_lossy(&o.stderr);
                let line = err
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                notes.push(format!(
                    "{name} is installed but `{name} info` failed: {}",
                    line.trim()
                ));
            }
            Ok(Err(e)) => notes.push(format!("{name} cannot run: {e}")),
            Err(_) => notes.push(format!("`{name} info` did not answer within 10s")),
        }
    }
    Err(NoContainerRuntime(notes))
}

/// No working container CLI; the notes say what was found of each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no container runtime found (looked for podman, docker){}", notes(.0))]
pub struct NoContainerRuntime(Vec<String>);

pub(super) fn notes(n: &[String]) -> String {
    if n.is_empty() {
        String::new()
    } else {
        format!("; {}", n.join("; "))
    }
}

impl From<NoContainerRuntime> for session::StartError {
    fn from(e: NoContainerRuntime) -> Self {
        session::StartError(e.to_string())
    }
}

impl From<plan::PlanError> for session::StartError {
    fn from(e: plan::PlanError) -> Self {
        session::StartError(e.to_string())
    }
}

/// The container CLI run for a container plan: `run -i --rm --name NAME`,
/// `-e NAME` for each of the spec's variables only (the value comes from
/// the CLI's environment, so no secret is in argv), the image and command.
pub fn container_process(cli: &str, cname: &str, c: &plan::ContainerPlan) -> plan::ProcessPlan {
    let mut args = vec![
        "run".to_string(),
        "-i".into(),
        "--rm".into(),
        "--name".into(),
        cname.to_string(),
    ];
    for (k, _) in &c.env {
        args.push("-e".into());
        args.push(k.clone());
    }
    args.push(c.image.clone());
    args.extend(c.cmd.iter().cloned());
    plan::ProcessPlan {
        program: cli.to_string(),
        args,
        env: c.env.clone(),
        cwd: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_run_names_only_the_spec_variables() {
        let c = plan::ContainerPlan {
            image: "ghcr.io/x/y:1".into(),
            env: vec![
                ("API_KEY".into(), "s3cret".into()),
                ("MODE".into(), "a".into()),
            ],
            cmd: vec!["serve".into()],
        };
        let p = container_process("podman", "aacon-web-1234", &c);
        assert_eq!(
            p.args,
            [
                "run",
                "-i",
                "--rm",
                "--name",
                "aacon-web-1234",
                "-e",
                "API_KEY",
                "-e",
                "MODE",
                "ghcr.io/x/y:1",
                "serve"
            ]
        );
        // No value in argv; no --env-host, no --env-file: nothing else passes.
        assert!(
            !p.args
                .iter()
                .any(|a| a.contains("s3cret") || a.starts_with("--env"))
        );
        assert_eq!(p.env, c.env);
    }
}
