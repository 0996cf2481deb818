//! `aacon incident NAME --since 1h -o FILE.tar.gz`, the console's incident
//! key (through [`writer`]) and `aacon --replay FILE`.

use super::commands::{Failure, print};
use super::output::inert;
use super::{Global, IncidentArgs, Output, exit};
use crate::incident::{self, Bundle, HostReport, IncidentError, Request, Window};
use crate::paths::DataDir;
use crate::platform::profile::Route;
use crate::platform::{Platform, PlatformError, ReadOnly};
use chrono::{DateTime, Utc};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

type Outcome = Result<(), Failure>;

impl From<IncidentError> for Failure {
    fn from(e: IncidentError) -> Self {
        Failure::new(e.exit_code(), e.to_string())
    }
}

/// In `aacon incident`, `-o FILE` names the bundle (the global `-o` is the
/// output format: a value that is one stays one).
pub fn argv(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out: Vec<OsString> = args.into_iter().collect();
    let Some(at) = out.iter().position(|a| a == "incident") else {
        return out;
    };
    let mut i = at + 1;
    while i + 1 < out.len() {
        let value = out[i + 1].to_string_lossy();
        if out[i] == "-o" && !["table", "json", "jsonl"].contains(&value.as_ref()) {
            out[i] = OsString::from("--out");
        }
        i += 1;
    }
    out
}

/// The window `--since` or `--between` names (the last hour by default).
fn window(args: &IncidentArgs) -> Result<Window, Failure> {
    let now = Utc::now();
    if let Some(w) = &args.between {
        let (from, to) = super::at::window(w)?;
        return Ok(Window { from, to });
    }
    let from = match &args.since {
        Some(d) => crate::platform::embedded::since(d)
            .map_err(|e| Failure::new(exit::USAGE, e.to_string()))?,
        None => incident::last_hour(now).from,
    };
    Ok(Window { from, to: now })
}

/// Every secret value the store holds: none may reach a bundle.
fn secret_values(dir: &DataDir) -> Vec<String> {
    let store = crate::secrets::SecretStore::open(dir.root());
    let names = store.list().unwrap_or_default();
    names
        .iter()
        .filter_map(|n| store.get(n).ok().flatten())
        .map(|v| v.expose().to_string())
        .collect()
}

/// Gather the bundle of `id` over `window` on `p`, with doctor's view of
/// this host.
async fn bundle_of(
    dir: &DataDir,
    global: &Global,
    p: &dyn Platform,
    id: uuid::Uuid,
    window: Window,
) -> Result<Bundle, IncidentError> {
    let checks = super::doctor::checks(dir, global).await;
    let host = HostReport {
        text: super::doctor::render(&checks, Output::Table),
        json: serde_json::to_value(&checks).unwrap_or_default(),
    };
    let api = super::serve_cmd::api_options(global)
        .ok()
        .flatten()
        .is_some();
    incident::collect(
        p,
        Request {
            id,
            window,
            secrets: secret_values(dir),
            host: Some(host),
            mode: if api { "api" } else { "embedded" }.into(),
        },
    )
    .await
}

/// The sentence that says what was written.
fn wrote(b: &Bundle, path: &Path) -> String {
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    format!(
        "wrote the incident bundle of {} ({}; {} files, {} KiB) to {}",
        inert(&b.manifest.instance.name),
        b.manifest.window.describe(),
        b.files.len(),
        bytes.div_ceil(1024),
        path.display()
    )
}

/// What the console's incident key runs: the bundle goes to the data dir's
/// `incidents/`.
pub(super) fn writer(dir: &DataDir, global: &Global) -> crate::tui::IncidentWriter {
    let (dir, global) = (dir.clone(), global.clone());
    crate::tui::IncidentWriter(Arc::new(
        move |p: Arc<dyn Platform>, id, from: DateTime<Utc>, to: DateTime<Utc>| {
            let (dir, global) = (dir.clone(), global.clone());
            Box::pin(async move {
                let b = bundle_of(&dir, &global, p.as_ref(), id, Window { from, to })
                    .await
                    .map_err(platform_error)?;
                let path = dir
                    .root()
                    .join("incidents")
                    .join(incident::file_name(&b.manifest.instance.name, to));
                // Writing and reading back its size are file I/O: off the runtime's threads.
                tokio::task::spawn_blocking(move || {
                    incident::write(&b, &path).map(|()| wrote(&b, &path))
                })
                .await
                .map_err(|e| PlatformError::Internal(e.to_string()))?
                .map_err(platform_error)
            })
        },
    ))
}

fn platform_error(e: IncidentError) -> PlatformError {
    match e {
        IncidentError::Platform(p) => p,
        other => PlatformError::Unavailable(other.to_string()),
    }
}

/// The one instance KEY means: the live one, else the one the window's
/// events give that name (deleted or renamed since). Ambiguous: nothing.
async fn resolve(p: &dyn Platform, key: &str, w: Window) -> Result<uuid::Uuid, Failure> {
    match p.get(key).await {
        Ok(i) => Ok(i.id),
        Err(PlatformError::NotFound(_)) if p.profile().await.has(Route::EventHistory) => {
            let events = p.events_between(w.from, w.to, None).await?;
            super::at::resolve(p, key, &events, w.from).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn incident(
    dir: &DataDir,
    global: &Global,
    p: &dyn Platform,
    args: IncidentArgs,
    fmt: Output,
) -> Outcome {
    let w = window(&args)?;
    let id = resolve(p, &args.key, w).await?;
    let b = bundle_of(dir, global, p, id, w).await?;
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(incident::file_name(&b.manifest.instance.name, w.to)));
    incident::write(&b, &path)?;
    match fmt {
        Output::Table => {
            print(&format!("{}\n", wrote(&b, &path)));
            for m in &b.manifest.not_included {
                eprintln!("aacon: not in the bundle: {}", inert(m));
            }
        }
        _ => print(&(serde_json::to_string_pretty(&b.manifest).unwrap_or_default() + "\n")),
    }
    Ok(())
}

/// `aacon --replay FILE`: the console, read-only, on a bundle.
pub(super) async fn replay(dir: &DataDir, global: &Global, file: &Path) -> Outcome {
    let replay = incident::ReplayPlatform::open(file)?;
    let settings = super::serve_cmd::settings(global)?;
    let mut opts = super::commands::console_options(dir, &settings, true);
    opts.replay = Some(replay.banner());
    let p: Arc<dyn Platform> = Arc::new(ReadOnly(Arc::new(replay)));
    crate::tui::run(p, opts)
        .await
        .map_err(|e| Failure::new(exit::RUNTIME, format!("{e:#}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn dash_o_names_the_bundle_in_incident_only() {
        assert_eq!(
            argv(os(&["aacon", "incident", "web", "-o", "x.tar.gz"])),
            os(&["aacon", "incident", "web", "--out", "x.tar.gz"])
        );
        assert_eq!(
            argv(os(&["aacon", "incident", "web", "-o", "json"])),
            os(&["aacon", "incident", "web", "-o", "json"])
        );
        assert_eq!(
            argv(os(&["aacon", "-o", "x", "instances", "list"])),
            os(&["aacon", "-o", "x", "instances", "list"])
        );
        let cli = <super::super::Cli as clap::Parser>::parse_from(argv(os(&[
            "aacon", "incident", "web", "--since", "1h", "-o", "b.tar.gz",
        ])));
        let Some(super::super::Command::Incident(a)) = cli.command else {
            panic!("not incident");
        };
        assert_eq!(a.out.as_deref(), Some(Path::new("b.tar.gz")));
    }
}
