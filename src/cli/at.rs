//! Time travel from the command line: `instances list --at TIME`,
//! `instances get NAME --at TIME` and `events --between T1 T2`.

use super::commands::{Failure, no_history, print};
use super::{Output, exit, output};
use crate::domain::replay::{self, Moment};
use crate::platform::profile::Route;
use crate::platform::{Platform, PlatformError};
use chrono::{DateTime, Local, Utc};

type Outcome = Result<(), Failure>;

/// A moment as the user wrote it; a bad one is a usage error (exit 2).
fn moment(text: &str) -> Result<DateTime<Utc>, Failure> {
    replay::parse_moment(text, Local::now()).map_err(|e| Failure::new(exit::USAGE, e.to_string()))
}

/// A platform without an event history is said so, in one sentence.
async fn needs_history(p: &dyn Platform, what: &str) -> Outcome {
    let profile = p.profile().await;
    if profile.has(Route::EventHistory) || profile.recorded {
        return Ok(());
    }
    Err(Failure::new(
        exit::RUNTIME,
        format!("{}, so it cannot show {what}", no_history(&profile)),
    ))
}

async fn state_at(p: &dyn Platform, at: DateTime<Utc>) -> Result<Moment, Failure> {
    needs_history(p, "the instances as they were at a past moment").await?;
    Ok(p.state_at(at).await?)
}

/// "2026-12-06 03:12:00 +01:00 (02:12:00 UTC)": local, and UTC beside it.
fn when(at: DateTime<Utc>) -> String {
    format!(
        "{} ({} UTC)",
        at.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S %:z"),
        at.format("%H:%M:%S")
    )
}

/// What a table of the past says first (on stderr, so stdout stays the
/// same shape as without `--at`).
fn note(m: &Moment, fmt: Output) {
    if fmt != Output::Table {
        return;
    }
    let last = match m.last_event_at {
        Some(t) => format!("the last event before it was at {}", when(t)),
        None => "no event had happened yet".to_string(),
    };
    let observed = m
        .observed
        .as_ref()
        .map(|o| {
            let mut s = format!(
                "; as observed by this console's recording since {}",
                when(o.since)
            );
            if let Some(g) = &o.gap {
                s.push_str(&match g.to {
                    Some(to) => format!(
                        "; in a gap: nothing was recorded from {} to {}, so this is the state last observed before it",
                        when(g.from),
                        when(to)
                    ),
                    None => format!(
                        "; in a gap: nothing has been recorded since {}, so this is the state last observed then",
                        when(g.from)
                    ),
                });
            }
            s
        })
        .unwrap_or_default();
    eprintln!("aacon: as it was at {}; {last}{observed}", when(m.at));
}

pub(super) async fn list(p: &dyn Platform, at: &str, fmt: Output) -> Outcome {
    let m = state_at(p, moment(at)?).await?;
    note(&m, fmt);
    // Only a platform that keeps history (and so versions) answers state_at.
    print(&output::instances_on(&m.instances, fmt, true));
    Ok(())
}

pub(super) async fn get(p: &dyn Platform, key: &str, at: &str, fmt: Output) -> Outcome {
    let m = state_at(p, moment(at)?).await?;
    let Some(inst) = find_in(&m, key)? else {
        return Err(PlatformError::NotFound(format!(
            "no instance named or with id '{}' existed at {}",
            output::inert(key),
            when(m.at)
        ))
        .into());
    };
    note(&m, fmt);
    print(&output::instance(inst, fmt));
    Ok(())
}

/// The window `--between T1 T2` names; a bad one is a usage error.
pub(super) fn window(window: &[String]) -> Result<(DateTime<Utc>, DateTime<Utc>), Failure> {
    let [from, to] = window else {
        return Err(Failure::new(
            exit::USAGE,
            "--between takes two times, T1 and T2",
        ));
    };
    let (from, to) = (moment(from)?, moment(to)?);
    if from > to {
        return Err(Failure::new(
            exit::USAGE,
            format!(
                "--between {} {}: the first time must not be after the second",
                window[0], window[1]
            ),
        ));
    }
    Ok((from, to))
}

pub(super) async fn between(
    p: &dyn Platform,
    window: &[String],
    instance: Option<&str>,
    limit: usize,
    fmt: Output,
) -> Outcome {
    let (from, to) = self::window(window)?;
    needs_history(p, "the events between two moments").await?;
    let mut events = p.events_between(from, to, None).await?;
    if let Some(key) = instance {
        let id = resolve(p, key, &events, from).await?;
        events.retain(|e| e.instance_id() == Some(id));
    }
    if events.len() > limit {
        eprintln!(
            "aacon: showing the last {limit} of the {} events in the window; raise --limit to see them all",
            events.len()
        );
        events.drain(..events.len() - limit);
    }
    if fmt == Output::Json {
        print(&(serde_json::to_string_pretty(&events).unwrap_or_default() + "\n"));
        return Ok(());
    }
    if fmt == Output::Table {
        print(&(output::event_header() + "\n"));
    }
    for e in &events {
        print(&(output::event_line(e, fmt) + "\n"));
    }
    Ok(())
}

/// The instance a name means: the live one, else the one the window's
/// events give that name (it may be deleted or renamed since), else the
/// one that had it when the window opened.
pub(super) async fn resolve(
    p: &dyn Platform,
    key: &str,
    window: &[crate::domain::Envelope],
    from: DateTime<Utc>,
) -> Result<uuid::Uuid, Failure> {
    match p.get(key).await {
        Ok(i) => return Ok(i.id),
        Err(PlatformError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let mut ids: Vec<uuid::Uuid> = window
        .iter()
        .filter(|e| {
            e.data.get("name").and_then(serde_json::Value::as_str) == Some(key)
                || e.instance_id().is_some_and(|id| id.to_string() == key)
        })
        .filter_map(|e| e.instance_id())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [id] => return Ok(*id),
        [] => {}
        many => {
            return Err(PlatformError::Ambiguous(format!(
                "more than one instance was named '{}' in the window (ids {}); give the id",
                output::inert(key),
                many.iter()
                    .map(uuid::Uuid::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
    }
    if let Some(i) = find_in(&p.state_at(from).await?, key)? {
        return Ok(i.id);
    }
    Err(PlatformError::NotFound(format!(
        "no instance named or with id '{}' exists now or existed in the window",
        output::inert(key),
    ))
    .into())
}

/// The instance `key` names in `m`: the one with that id, or the only one
/// with that name; a name several instances had then changes nothing
/// (`Ambiguous`, listing them).
fn find_in<'a>(
    m: &'a crate::domain::replay::Moment,
    key: &str,
) -> Result<Option<&'a crate::domain::Instance>, PlatformError> {
    if let Some(i) = m.instances.iter().find(|i| i.id.to_string() == key) {
        return Ok(Some(i));
    }
    crate::platform::names::unique(&m.instances, key, m.at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_two_instances_had_then_is_refused_and_an_id_picks_one() {
        let inst =
            |name: &str| crate::platform::api::wire::test_instance(name, serde_json::json!({}));
        let (a, b, c) = (inst("web"), inst("web"), inst("db"));
        let m = Moment {
            at: Utc::now(),
            instances: vec![a, b.clone(), c.clone()],
            seq: 3,
            last_event_at: None,
            observed: None,
        };
        assert!(matches!(
            find_in(&m, "web"),
            Err(PlatformError::Ambiguous(_))
        ));
        assert_eq!(
            find_in(&m, &b.id.to_string()).unwrap().map(|i| i.id),
            Some(b.id)
        );
        assert_eq!(find_in(&m, "db").unwrap().map(|i| i.id), Some(c.id));
        assert!(find_in(&m, "nope").unwrap().is_none());
    }
}
