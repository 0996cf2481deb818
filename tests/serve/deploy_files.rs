//! The deployment files: `deploy/Containerfile` read for what the image
//! must be (no container engine here, so it is parsed, not built, and its
//! HEALTHCHECK command is run against a real `aacon serve`), and the
//! Kubernetes manifests rendered with `kubectl kustomize` and validated
//! against the Kubernetes JSON schemas (`kubernetes-validate`, strict,
//! in the test venv: scripts/test.d/python-servers.sh), which must also
//! refuse a broken copy.

use crate::support::python::python;
use crate::support::serve::Serve;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Containerfile's instructions: (INSTRUCTION, arguments), comments
/// dropped and continuation lines joined.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let t = line.trim();
        if current.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        if let Some(rest) = t.strip_suffix('\\') {
            current.push_str(rest);
            current.push(' ');
            continue;
        }
        current.push_str(t);
        let (ins, args) = current.split_once(' ').unwrap_or((&current, ""));
        out.push((ins.to_ascii_uppercase(), args.trim().to_string()));
        current.clear();
    }
    out
}

/// serve's default port, as `aacon serve --help` gives it.
fn default_port() -> u16 {
    let out = Command::new(env!("CARGO_BIN_EXE_aacon"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let re = regex::Regex::new(r"\[default: [0-9.]+:(\d+)\]").unwrap();
    re.captures(&help)
        .unwrap_or_else(|| panic!("no default listen address in {help}"))[1]
        .parse()
        .unwrap()
}

#[test]
fn the_containerfile_builds_in_two_stages_and_runs_serve_as_non_root() {
    let text = std::fs::read_to_string(repo().join("deploy/Containerfile")).unwrap();
    let ins = instructions(&text);
    let froms: Vec<&String> = ins
        .iter()
        .filter(|(i, _)| i == "FROM")
        .map(|(_, a)| a)
        .collect();
    assert!(froms.len() >= 2, "not multi-stage: {froms:?}");
    let builder = froms[0]
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .find(|w| w[0].eq_ignore_ascii_case("AS"))
        .map(|w| w[1].to_string())
        .expect("the first stage is named");
    assert!(froms[0].contains("rust"), "{}", froms[0]);
    let last_from = ins.iter().rposition(|(i, _)| i == "FROM").unwrap();
    let runtime = &ins[last_from..];
    assert!(
        runtime[0].1.contains("debian") && runtime[0].1.contains("slim")
            || runtime[0].1.contains("distroless"),
        "the runtime stage is not slim: {}",
        runtime[0].1
    );
    // The binary the builder makes is what the runtime stage copies.
    let build = ins[..last_from]
        .iter()
        .find(|(i, a)| i == "RUN" && a.contains("cargo build"))
        .expect("the builder runs cargo build");
    assert!(build.1.contains("--release") && build.1.contains("--locked"));
    assert!(build.1.contains("--bin aacon"), "{}", build.1);
    let copy = runtime
        .iter()
        .find(|(i, a)| i == "COPY" && a.starts_with(&format!("--from={builder} ")))
        .unwrap_or_else(|| panic!("no COPY --from={builder} in the runtime stage"));
    assert!(
        copy.1.contains("target/release/aacon "),
        "copies {} instead of the release binary",
        copy.1
    );
    // A non-root USER, after everything that needs root.
    let user_at = runtime
        .iter()
        .rposition(|(i, _)| i == "USER")
        .expect("the runtime stage sets USER");
    let user = runtime[user_at].1.split(':').next().unwrap();
    assert!(
        user != "root" && user != "0",
        "runs as {}",
        runtime[user_at].1
    );
    assert!(
        !runtime[user_at..].iter().any(|(i, _)| i == "RUN"),
        "RUN after USER"
    );
    // serve is the entrypoint, listening on the port it exposes, which is
    // serve's default port.
    let entry = runtime.iter().find(|(i, _)| i == "ENTRYPOINT").unwrap();
    let entry: Vec<String> = serde_json::from_str(&entry.1).unwrap();
    assert_eq!(entry, ["aacon", "serve"]);
    let expose: u16 = runtime
        .iter()
        .find(|(i, _)| i == "EXPOSE")
        .unwrap()
        .1
        .trim_end_matches("/tcp")
        .parse()
        .unwrap();
    assert_eq!(expose, default_port());
    let cmd = runtime.iter().find(|(i, _)| i == "CMD").unwrap();
    let cmd: Vec<String> = serde_json::from_str(&cmd.1).unwrap();
    assert_eq!(cmd, ["--listen", &format!("0.0.0.0:{expose}")]);
    assert!(runtime.iter().any(|(i, _)| i == "HEALTHCHECK"));
}

/// The HEALTHCHECK's command, run with bash against a real serve (its
/// port put in place of the image's), passes; against a closed port it
/// fails.
#[test]
fn the_containerfile_healthcheck_passes_against_serve_and_fails_without_it() {
    let text = std::fs::read_to_string(repo().join("deploy/Containerfile")).unwrap();
    let (_, args) = instructions(&text)
        .into_iter()
        .find(|(i, _)| i == "HEALTHCHECK")
        .unwrap();
    let json = &args[args.find("CMD ").expect("HEALTHCHECK CMD") + 4..];
    let argv: Vec<String> = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(argv[0], "bash", "{argv:?}");
    let port = default_port();
    let run = |to: u16| {
        Command::new(&argv[0])
            .args(
                argv[1..]
                    .iter()
                    .map(|a| a.replace(&port.to_string(), &to.to_string())),
            )
            .status()
            .unwrap()
            .success()
    };
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(&dir.path().join("data"), &dir.path().join("config"), &[]);
    let live: u16 = serve.url.rsplit(':').next().unwrap().parse().unwrap();
    assert!(run(live), "the healthcheck failed against {}", serve.url);
    drop(serve);
    assert!(!run(crate::support::free_port()));
}

/// `kubectl kustomize DIR` as one multi-document YAML file.
fn render(dir: &Path, out: &Path) {
    let r = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("kubectl (for kustomize) is needed to render deploy/k8s: {e}"));
    assert!(
        r.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&r.stderr)
    );
    std::fs::write(out, r.stdout).unwrap();
}

/// kubernetes-validate, strict, against the oldest and newest Kubernetes
/// versions the manifests claim: (success, its report).
fn validate(files: &[&Path]) -> (bool, String) {
    let out = Command::new(python())
        .args([
            "-m",
            "kubernetes_validate",
            "--strict",
            "-k",
            "1.28.0",
            "-k",
            "1.37.0",
        ])
        .args(files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The documents of a YAML file, as JSON.
fn documents(file: &Path) -> Vec<Value> {
    let out = Command::new(python())
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))",
        ])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn the_kubernetes_manifests_render_and_pass_the_schemas_and_a_broken_copy_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base.yaml");
    let single = tmp.path().join("single.yaml");
    render(&repo().join("deploy/k8s/base"), &base);
    render(&repo().join("deploy/k8s/single"), &single);
    let secret = repo().join("deploy/k8s/base/secret.example.yaml");
    let (ok, report) = validate(&[&base, &single, &secret]);
    assert!(ok, "{report}");
    for kind in [
        "deployment/aacon",
        "service/aacon",
        "serviceaccount/aacon",
        "poddisruptionbudget/aacon",
        "persistentvolumeclaim/aacon-data",
        "secret/aacon-secrets",
    ] {
        assert!(
            report.contains(&format!("passed for resource {kind}")),
            "{kind}: {report}"
        );
    }

    // What the schema cannot say: N replicas behind a Service, probes on
    // /health and /ready, non-root with a read-only root, the URLs and the
    // token from the Secret, the replica id from the pod's name.
    let docs = documents(&base);
    let deploy = kind(&docs, "Deployment");
    assert!(deploy["spec"]["replicas"].as_u64().unwrap() >= 2);
    let pod = &deploy["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "aacon");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let c = &pod["containers"][0];
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/ready");
    assert_eq!(c["startupProbe"]["httpGet"]["path"], "/health");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert!(c["resources"]["requests"]["memory"].is_string());
    assert!(c["resources"]["limits"]["memory"].is_string());
    let port = default_port();
    assert_eq!(c["ports"][0]["containerPort"], port);
    let env = |name: &str| {
        c["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .clone()
    };
    assert_eq!(
        env("AACON_REPLICA_ID")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
    let secret_docs = documents(&secret);
    let secret_keys = secret_docs[0]["stringData"].as_object().unwrap();
    for var in ["AACON_API_TOKEN", "AACON_REDIS_URL", "AACON_STORE_URL"] {
        let r = &env(var)["valueFrom"]["secretKeyRef"];
        assert_eq!(r["name"], "aacon-secrets", "{var}");
        let key = r["key"].as_str().unwrap();
        assert!(
            secret_keys.contains_key(key),
            "{var}: the example Secret has no {key}"
        );
        assert!(
            env(var).get("value").is_none(),
            "{var} is written in the manifest"
        );
    }
    // Every mount the read-only root needs is a volume.
    let volumes: Vec<&str> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for m in c["volumeMounts"].as_array().unwrap() {
        assert!(volumes.contains(&m["name"].as_str().unwrap()), "{m}");
    }
    let service = kind(&docs, "Service");
    let selects = service["spec"]["selector"].as_object().unwrap();
    let labels = deploy["spec"]["template"]["metadata"]["labels"]
        .as_object()
        .unwrap();
    for (k, v) in selects {
        assert_eq!(&labels[k], v, "the Service does not select the pods ({k})");
    }
    assert_eq!(
        kind(&docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        deploy["spec"]["selector"]["matchLabels"]
    );
    // The single overlay: one replica, never two pods on one store.
    let single_docs = documents(&single);
    let one = kind(&single_docs, "Deployment");
    assert_eq!(one["spec"]["replicas"], 1);
    assert_eq!(one["spec"]["strategy"]["type"], "Recreate");

    // A broken copy (a port that is not a number, a misspelt probe) fails.
    let text = std::fs::read_to_string(&base).unwrap();
    let broken = tmp.path().join("broken.yaml");
    std::fs::write(
        &broken,
        text.replacen(
            &format!("containerPort: {port}"),
            "containerPort: http-port",
            1,
        ),
    )
    .unwrap();
    let (ok, report) = validate(&[&broken]);
    assert!(!ok, "a broken manifest passed: {report}");
    assert!(report.contains("containerPort"), "{report}");
    std::fs::write(
        &broken,
        text.replacen("readinessProbe:", "readinesProbe:", 1),
    )
    .unwrap();
    let (ok, report) = validate(&[&broken]);
    assert!(!ok, "a misspelt field passed: {report}");
    assert!(report.contains("readinesProbe"), "{report}");
}
