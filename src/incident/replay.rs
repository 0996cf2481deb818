//! `aacon --replay FILE`: a read-only platform over a bundle. The instance
//! as the window closed is the list; the state when it opened and its
//! events give every moment in between (`:at`, `[`/`]`, `C`); the log
//! lines are the bundle's. Nothing changes: every mutation is refused.

use super::{Bundle, IncidentError, Manifest, files};
use crate::domain::projection::Projection;
use crate::domain::replay::Moment;
use crate::domain::spec::Report;
use crate::domain::{Envelope, Instance, InstancePatch, NewInstance, Precondition, Probe};
use crate::platform::history::CallRecord;
use crate::platform::{
    ActionOutcome, BackendInfo, BackendProfile, EventQuery, LogLine, LogPage, Platform,
    PlatformError, PlatformEvent, Result, ToolInfo,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::path::Path;
use tokio::sync::broadcast;
use uuid::Uuid;

/// What every mutation of a replay answers (the console and the CLI wrap
/// the replay in [`crate::platform::ReadOnly`], which names the action).
const REFUSED: PlatformError = PlatformError::ReadOnly("changing a replayed incident");

pub struct ReplayPlatform {
    /// The file as the operator named it.
    file: String,
    manifest: Manifest,
    start: Option<Instance>,
    end: Instance,
    events: Vec<Envelope>,
    logs: std::result::Result<Vec<LogLine>, String>,
    /// The calls the bundle holds, oldest first (none: it holds no history).
    calls: Option<Vec<CallRecord>>,
    probe: Option<Probe>,
    tx: broadcast::Sender<PlatformEvent>,
}

fn damaged(file: &str, why: String) -> IncidentError {
    IncidentError::Damaged {
        path: file.to_string(),
        why,
    }
}

impl ReplayPlatform {
    /// Open `path` (checked against its manifest first).
    pub fn open(path: &Path) -> std::result::Result<ReplayPlatform, IncidentError> {
        let bundle = super::open(path)?;
        ReplayPlatform::from_bundle(&path.display().to_string(), &bundle)
    }

    pub fn from_bundle(
        file: &str,
        bundle: &Bundle,
    ) -> std::result::Result<ReplayPlatform, IncidentError> {
        let json = |name: &str| -> std::result::Result<Option<serde_json::Value>, IncidentError> {
            match bundle.file(name) {
                None => Ok(None),
                Some(b) => serde_json::from_slice(b)
                    .map(Some)
                    .map_err(|e| damaged(file, format!("its {name} is not JSON ({e})"))),
            }
        };
        let end: Instance = json(files::INSTANCE)?
            .ok_or_else(|| damaged(file, format!("it holds no {}", files::INSTANCE)))
            .and_then(|v| {
                serde_json::from_value(v).map_err(|e| {
                    damaged(
                        file,
                        format!("its {} is not an instance ({e})", files::INSTANCE),
                    )
                })
            })?;
        let start: Option<Instance> = match json(files::START)? {
            None => None,
            Some(v) => serde_json::from_value(v).map_err(|e| {
                damaged(
                    file,
                    format!("its {} is not an instance ({e})", files::START),
                )
            })?,
        };
        let mut events = Vec::new();
        if let Some(text) = bundle.text(files::EVENTS) {
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
                let e: Envelope = serde_json::from_str(line).map_err(|e| {
                    damaged(
                        file,
                        format!(
                            "line {} of its {} is not an event ({e})",
                            n + 1,
                            files::EVENTS
                        ),
                    )
                })?;
                events.push(e);
            }
        }
        let logs = match bundle.text(files::LOGS) {
            Some(text) => Ok(text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .enumerate()
                .map(|(n, l)| {
                    serde_json::from_str::<LogLine>(l).map_err(|e| {
                        damaged(
                            file,
                            format!(
                                "line {} of its {} is not a log line ({e})",
                                n + 1,
                                files::LOGS
                            ),
                        )
                    })
                })
                .collect::<std::result::Result<Vec<_>, _>>()?),
            None => Err(bundle
                .manifest
                .not_included
                .iter()
                .find(|m| m.starts_with("log lines"))
                .cloned()
                .unwrap_or_else(|| "this bundle holds no log lines".into())),
        };
        let calls = match bundle.text(files::CALLS) {
            None => None,
            Some(text) => Some(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .enumerate()
                    .map(|(n, l)| {
                        serde_json::from_str::<CallRecord>(l).map_err(|e| {
                            damaged(
                                file,
                                format!(
                                    "line {} of its {} is not a recorded call ({e})",
                                    n + 1,
                                    files::CALLS
                                ),
                            )
                        })
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()?,
            ),
        };
        let probe = json(files::HEALTH)?
            .and_then(|v| v.get("last_probe").cloned())
            .and_then(|v| serde_json::from_value(v).ok());
        let (tx, _) = broadcast::channel(16);
        Ok(ReplayPlatform {
            file: file.to_string(),
            manifest: bundle.manifest.clone(),
            start,
            end,
            events,
            logs,
            calls,
            probe,
            tx,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The console's banner: which file, instance and window it replays.
    pub fn banner(&self) -> String {
        format!(
            "REPLAY of {} · {} · {} · read-only",
            crate::domain::text::shown(&self.file),
            crate::domain::text::shown(&self.manifest.instance.name),
            self.manifest.window.describe()
        )
    }

    fn moment(&self, at: DateTime<Utc>) -> Moment {
        let mut p = Projection::new();
        if let Some(s) = &self.start {
            p.seed([s.clone()]);
        }
        let mut seq = 0;
        let mut last = None;
        for e in &self.events {
            if e.timestamp > at {
                break;
            }
            p.apply(e);
            seq += 1;
            last = Some(e.timestamp);
        }
        Moment {
            at,
            instances: p
                .sorted()
                .into_iter()
                .filter(|i| !i.name.is_empty())
                .cloned()
                .collect(),
            seq,
            last_event_at: last,
            observed: None,
        }
    }

    fn no_history(&self) -> PlatformError {
        PlatformError::Unavailable(format!(
            "this bundle cannot show a past moment: {} gave no state to replay from, only the instance as it was when the bundle was written",
            crate::domain::text::shown(&self.manifest.platform.name)
        ))
    }

    fn current(&self) -> Vec<Instance> {
        if self.manifest.platform.history {
            self.moment(self.manifest.window.to).instances
        } else {
            vec![self.end.clone()]
        }
    }

    fn no_server(&self, what: &str) -> PlatformError {
        PlatformError::Unavailable(format!("a replay has no live server, so it cannot {what}"))
    }
}

#[async_trait]
impl Platform for ReplayPlatform {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: format!("replay of {}", self.file),
            read_only: true,
        }
    }
    async fn profile(&self) -> BackendProfile {
        if self.manifest.platform.history {
            BackendProfile::embedded()
        } else {
            BackendProfile::agentarea()
        }
    }
    async fn list(&self) -> Result<Vec<Instance>> {
        Ok(self.current())
    }
    async fn get(&self, key: &str) -> Result<Instance> {
        self.current()
            .into_iter()
            .find(|i| i.name == key || i.id.to_string() == key)
            .ok_or_else(|| {
                PlatformError::NotFound(format!(
                    "no instance named or with id '{}' in this replay (it holds {} only)",
                    crate::domain::text::shown(key),
                    crate::domain::text::shown(&self.manifest.instance.name)
                ))
            })
    }
    async fn create(&self, _new: NewInstance) -> Result<Instance> {
        Err(REFUSED)
    }
    async fn update(
        &self,
        _id: Uuid,
        _p: InstancePatch,
        _e: Option<Precondition>,
    ) -> Result<Instance> {
        Err(REFUSED)
    }
    async fn delete(&self, _id: Uuid) -> Result<()> {
        Err(REFUSED)
    }
    async fn start(&self, _id: Uuid) -> Result<ActionOutcome> {
        Err(REFUSED)
    }
    async fn stop(&self, _id: Uuid) -> Result<ActionOutcome> {
        Err(REFUSED)
    }
    async fn restart(&self, _id: Uuid) -> Result<ActionOutcome> {
        Err(REFUSED)
    }
    async fn validate(&self, spec: &serde_json::Value) -> Result<Report> {
        Ok(crate::domain::spec::validate(spec))
    }
    async fn events(&self, query: EventQuery) -> Result<Vec<Envelope>> {
        let mut out: Vec<Envelope> = self
            .events
            .iter()
            .filter(|e| query.instance.is_none_or(|id| e.instance_id() == Some(id)))
            .filter(|e| query.since.is_none_or(|t| e.timestamp >= t))
            .cloned()
            .collect();
        if let Some(n) = query.limit
            && out.len() > n
        {
            out.drain(..out.len() - n);
        }
        Ok(out)
    }
    async fn state_at(&self, at: DateTime<Utc>) -> Result<Moment> {
        if !self.manifest.platform.history {
            return Err(self.no_history());
        }
        Ok(self.moment(at))
    }
    async fn events_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        instance: Option<Uuid>,
    ) -> Result<Vec<Envelope>> {
        Ok(self
            .events
            .iter()
            .filter(|e| e.timestamp >= from && e.timestamp <= to)
            .filter(|e| instance.is_none_or(|id| e.instance_id() == Some(id)))
            .cloned()
            .collect())
    }
    fn subscribe(&self) -> broadcast::Receiver<PlatformEvent> {
        self.tx.subscribe()
    }
    async fn tools(&self, _id: Uuid) -> Result<Vec<ToolInfo>> {
        Err(self.no_server("list tools"))
    }
    async fn mcp(&self, _id: Uuid, op: crate::platform::McpOp) -> Result<serde_json::Value> {
        Err(self.no_server(op.doing()))
    }
    async fn logs(&self, _id: Uuid, after: Option<u64>) -> Result<LogPage> {
        let lines = self.logs.clone().map_err(PlatformError::Unavailable)?;
        // The bundle's lines keep the runtime's numbers; the cursor is the next one.
        let next = lines.last().map_or(0, |l| l.seq + 1);
        Ok(LogPage {
            lines: lines
                .into_iter()
                .filter(|l| after.is_none_or(|a| l.seq >= a))
                .collect(),
            next,
            missed: 0,
            reset: false,
        })
    }
    async fn history(&self, _id: Uuid, limit: usize) -> Result<Vec<CallRecord>> {
        let calls = self.calls.as_ref().ok_or_else(|| {
            PlatformError::Unavailable("this bundle holds no tool-call history".into())
        })?;
        Ok(calls.iter().rev().take(limit).cloned().collect())
    }
    async fn history_call(&self, _id: Uuid, call: i64) -> Result<CallRecord> {
        self.calls
            .iter()
            .flatten()
            .find(|c| c.id == call)
            .cloned()
            .ok_or_else(|| PlatformError::NotFound(format!("this bundle holds no call {call}")))
    }
    async fn probes(&self) -> Result<Vec<Probe>> {
        Ok(self.probe.iter().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::archive::gzip_tar;

    #[test]
    fn a_file_that_is_no_bundle_is_one_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "text.tar.gz",
                b"hello, not gzip".to_vec(),
                "is not an incident bundle",
            ),
            (
                "nomanifest.tar.gz",
                gzip_tar(&[("a.txt", b"x")]),
                "holds no MANIFEST.json",
            ),
            (
                "format.tar.gz",
                gzip_tar(&[("MANIFEST.json", br#"{"format": "other/9"}"#)]),
                "is a bundle of format other/9",
            ),
        ];
        for (name, bytes, says) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let e = ReplayPlatform::open(&path).err().unwrap().to_string();
            assert!(e.contains(says), "{name}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
