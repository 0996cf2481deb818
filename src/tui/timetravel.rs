//! Time travel's platform side: open a moment, and find the previous or
//! next event that changed anything visible (`[` / `]`). The console's
//! state for it lives in `app/travel.rs`; the runner calls these.

use super::app::instance_matches;
use super::filter::Filter;
use crate::domain::Instance;
use crate::domain::projection::{Applied, Projection};
use crate::domain::replay::Moment;
use crate::platform::{Platform, Result};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// What counts as visible when stepping: the instances the table's filter
/// shows, or the one instance a detail view shows.
#[derive(Debug, Clone)]
pub enum Visible {
    Filter(Filter),
    Instance(Uuid),
}

impl PartialEq for Visible {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Visible::Filter(a), Visible::Filter(b)) => a.source() == b.source(),
            (Visible::Instance(a), Visible::Instance(b)) => a == b,
            _ => false,
        }
    }
}

impl Visible {
    pub fn shows(&self, i: &Instance) -> bool {
        match self {
            Visible::Filter(f) => !i.name.is_empty() && instance_matches(f, i),
            Visible::Instance(id) => i.id == *id,
        }
    }
}

/// How far a step looks at a time: short windows first (a step is usually
/// near), then wider ones, then the whole log.
const WINDOWS_MINUTES: [i64; 7] = [10, 60, 360, 1_440, 10_080, 43_200, 525_600];

/// The start of the log, for all practical purposes.
fn beginning() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

fn seeded(m: &Moment) -> Projection {
    let mut p = Projection::new();
    p.seed(m.instances.iter().cloned());
    p
}

/// Apply `events` (those after `after` only) to `p`; the times of the
/// events that changed something `visible`, oldest first, without repeats.
fn changes(
    p: &mut Projection,
    events: &[crate::domain::Envelope],
    after: DateTime<Utc>,
    visible: &Visible,
    first_only: bool,
) -> Vec<DateTime<Utc>> {
    let mut out: Vec<DateTime<Utc>> = Vec::new();
    for e in events.iter().filter(|e| e.timestamp > after) {
        let before = e
            .instance_id()
            .and_then(|id| p.get(&id))
            .is_some_and(|i| visible.shows(i));
        let seen = match p.apply(e) {
            Applied::Changed { id, .. } => before || p.get(&id).is_some_and(|i| visible.shows(i)),
            Applied::Removed(_) => before,
            _ => false,
        };
        if seen && out.last() != Some(&e.timestamp) {
            out.push(e.timestamp);
            if first_only {
                break;
            }
        }
    }
    out
}

/// The moment right after the first visible change later than `at`;
/// `None` when nothing visible changed since.
pub async fn step_forward(
    p: &dyn Platform,
    at: DateTime<Utc>,
    visible: &Visible,
    now: DateTime<Utc>,
) -> Result<Option<Moment>> {
    let mut proj = seeded(&p.state_at(at).await?);
    let mut from = at;
    for minutes in WINDOWS_MINUTES.into_iter().chain([i64::MAX]) {
        let to = Duration::try_minutes(minutes)
            .and_then(|d| from.checked_add_signed(d))
            .map_or(now, |t| t.min(now));
        let events = p.events_between(from, to, None).await?;
        if let Some(t) = changes(&mut proj, &events, from, visible, true).first() {
            return Ok(Some(p.state_at(*t).await?));
        }
        if to >= now {
            return Ok(None);
        }
        from = to;
    }
    Ok(None)
}

/// The moment right after the visible change before the one that made
/// the state shown at `at` (so the table differs from what it shows now);
/// before the first event when that one was the first. `None` when nothing
/// visible changed up to `at`.
pub async fn step_back(
    p: &dyn Platform,
    at: DateTime<Utc>,
    visible: &Visible,
) -> Result<Option<Moment>> {
    for minutes in WINDOWS_MINUTES.into_iter().map(Some).chain([None]) {
        let start = minutes
            .and_then(Duration::try_minutes)
            .and_then(|d| at.checked_sub_signed(d))
            .filter(|t| *t > beginning());
        let mut proj = match start {
            Some(t) => seeded(&p.state_at(t).await?),
            None => Projection::new(),
        };
        let from = start.unwrap_or_else(beginning);
        let events = p.events_between(from, at, None).await?;
        let points = changes(&mut proj, &events, from, visible, false);
        let target = match (points.as_slice(), start) {
            ([.., earlier, _], _) => *earlier,
            ([only], None) => *only - Duration::microseconds(1),
            ([], None) => return Ok(None),
            _ => continue,
        };
        return Ok(Some(p.state_at(target).await?));
    }
    Ok(None)
}
