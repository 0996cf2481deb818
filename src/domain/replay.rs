//! The platform as it was at a moment, and how an operator names a moment.
//!
//! The event log is append-only and the projection is idempotent, so the
//! state at a moment is the projection of the log's events up to it. "Up to
//! it" means the longest prefix of the log (in commit order) whose events
//! are all at or before the moment: with a clock that never steps back that
//! is every event at or before it, and an event committed late with an
//! earlier timestamp counts from when it was committed.

use super::instance::Instance;
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};

/// The platform at a moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Moment {
    /// The moment asked for.
    pub at: DateTime<Utc>,
    /// The instances that existed then, sorted by name.
    pub instances: Vec<Instance>,
    /// The log position of the last event included (0: none).
    pub seq: i64,
    /// The latest time among the events included.
    pub last_event_at: Option<DateTime<Utc>>,
    /// Set when the moment comes from a recording of what a console
    /// observed of a remote platform (API mode), not from its own log.
    pub observed: Option<Observed>,
}

/// What a recording of a remote platform says about a moment it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// When the recording (what is left of it after pruning) starts.
    pub since: DateTime<Utc>,
    /// The moment fell where nothing was recording.
    pub gap: Option<Gap>,
}

/// A stretch of time nobody recorded (no console or recorder was
/// watching): what is shown is the state as last observed before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The last observation before the moment.
    pub from: DateTime<Utc>,
    /// The next observation after it; `None` when there is none yet.
    pub to: Option<DateTime<Utc>>,
}

impl Moment {
    /// The instance with this name or id, as it was.
    pub fn find(&self, key: &str) -> Option<&Instance> {
        self.instances
            .iter()
            .find(|i| i.name == key || i.id.to_string() == key)
    }
}

/// How a moment may be written (for help texts and error sentences).
pub const TIME_FORMS: &str =
    "03:12 (local time), -10m, -2h, -7d or an RFC 3339 time like 2026-12-06T03:12:00Z";

/// Read a moment as an operator writes it, relative to `now` in its time
/// zone: `03:12` or `03:12:30` (the latest such local time: today's, or
/// yesterday's while today's is still ahead), `-10m` / `-90s` / `-2h` /
/// `-7d`, or an RFC 3339 time. A moment after `now` is refused.
pub fn parse_moment<Tz: TimeZone>(
    text: &str,
    now: DateTime<Tz>,
) -> Result<DateTime<Utc>, MomentError>
where
    Tz::Offset: std::fmt::Display,
{
    let t = text.trim();
    let now_utc = now.with_timezone(&Utc);
    let at = if let Some(rel) = t.strip_prefix('-') {
        now_utc - relative(rel).ok_or_else(|| not_a_time(t, &now))?
    } else if let Ok(abs) = DateTime::parse_from_rfc3339(t) {
        abs.with_timezone(&Utc)
    } else if let Some(clock) = clock(t) {
        let tz = now.timezone();
        let today = now.date_naive().and_time(clock);
        let local = tz
            .from_local_datetime(&today)
            .earliest()
            .ok_or_else(|| MomentError::SkippedToday(t.to_string()))?;
        let local = if local > now {
            let yesterday = today - Duration::days(1);
            tz.from_local_datetime(&yesterday)
                .earliest()
                .ok_or_else(|| MomentError::SkippedYesterday(t.to_string()))?
        } else {
            local
        };
        local.with_timezone(&Utc)
    } else {
        return Err(not_a_time(t, &now));
    };
    if at > now_utc {
        return Err(MomentError::Future {
            text: t.to_string(),
            at: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
    }
    Ok(at)
}

/// Why a written moment cannot be shown; one sentence each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MomentError {
    #[error("'{text}' is not a time; write {TIME_FORMS} (local time here is UTC{offset})")]
    NotATime { text: String, offset: String },
    #[error(
        "{0} does not exist today in local time (a clock change skips it); give an RFC 3339 time instead"
    )]
    SkippedToday(String),
    #[error(
        "{0} did not exist yesterday in local time (a clock change skipped it); give an RFC 3339 time instead"
    )]
    SkippedYesterday(String),
    #[error("{text} is in the future ({at}); give a moment that has passed")]
    Future { text: String, at: String },
}

fn not_a_time<Tz: TimeZone>(t: &str, now: &DateTime<Tz>) -> MomentError
where
    Tz::Offset: std::fmt::Display,
{
    MomentError::NotATime {
        text: t
            .chars()
            .take(60)
            .map(super::text::shown_char)
            .collect::<String>(),
        offset: now.offset().to_string(),
    }
}

fn relative(rel: &str) -> Option<Duration> {
    let split = rel.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = rel.split_at(split);
    let n: i64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Duration::try_seconds(secs)
}

fn clock(t: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(t, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M:%S"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-12-06T10:00:00+01:00").unwrap()
    }

    #[test]
    fn a_clock_time_is_today_in_local_time() {
        let at = parse_moment("03:12", now()).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-06T02:12:00+00:00");
        let at = parse_moment("09:59:30", now()).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-06T08:59:30+00:00");
    }

    #[test]
    fn a_clock_time_still_ahead_today_is_yesterdays() {
        let at = parse_moment("23:50", now()).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-05T22:50:00+00:00");
    }

    #[test]
    fn relative_and_rfc3339_times() {
        assert_eq!(
            parse_moment("-10m", now()).unwrap().to_rfc3339(),
            "2026-12-06T08:50:00+00:00"
        );
        assert_eq!(
            parse_moment("-2h", now()).unwrap().to_rfc3339(),
            "2026-12-06T07:00:00+00:00"
        );
        assert_eq!(
            parse_moment("2026-12-06T03:12:00Z", now())
                .unwrap()
                .to_rfc3339(),
            "2026-12-06T03:12:00+00:00"
        );
    }

    #[test]
    fn bad_times_get_one_sentence() {
        for bad in ["yesterday", "-10x", "25:00", "-m", "", "-99999999999999d"] {
            let e = parse_moment(bad, now()).unwrap_err().to_string();
            assert!(e.contains("is not a time"), "{bad}: {e}");
            assert!(e.contains("UTC+01:00"), "{e}");
            assert!(!e.contains('\n'));
        }
        let e = parse_moment("2027-01-01T00:00:00Z", now())
            .unwrap_err()
            .to_string();
        assert!(e.contains("in the future"), "{e}");
    }
}
