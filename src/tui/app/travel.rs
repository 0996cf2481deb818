//! Time travel in the console: `:at TIME` shows the instances, their counts
//! and details as they were; `[` / `]` step to the previous / next event
//! that changed anything visible; `:now` returns to live.
//!
//! While travelling, the table shows a projection of the moment; the live
//! projection is kept aside and every event that arrives meanwhile is
//! applied to it (not shown), so `:now` returns to an up-to-date table.
//! Nothing that changes the platform runs from the past.

use super::{App, Command, Level, Screen};
use crate::domain::Probe;
use crate::domain::projection::{Applied, Projection};
use crate::domain::replay::{self, Moment, Observed};
use crate::domain::since::changes_since;
use crate::platform::PlatformError;
use crate::platform::profile::Route;
use crate::tui::keymap::{Action, View};
use crate::tui::timetravel::Visible;
use chrono::{DateTime, FixedOffset, Local, Offset, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// The console looking at a past moment.
#[derive(Debug, Clone)]
pub struct Travel {
    /// The moment shown.
    pub at: DateTime<Utc>,
    /// The latest event at or before it.
    pub last_event_at: Option<DateTime<Utc>>,
    /// In API mode: the recording's start, and the gap the moment fell in.
    pub observed: Option<Observed>,
    /// The local time zone the banner names the moment in.
    pub local: FixedOffset,
    /// Events that arrived since the console left live.
    pub arrived: u64,
    /// A step or a moment is being looked up.
    pub busy: bool,
    live: Projection,
    live_probes: HashMap<Uuid, Probe>,
    /// An arriving event asked for a reload; done on return.
    reload_on_return: bool,
}

/// How a moment was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    At,
    Back,
    Forward,
}

/// Actions that change the platform: refused while looking at the past.
fn acts(action: Action) -> bool {
    matches!(
        action,
        Action::Start
            | Action::Stop
            | Action::Restart
            | Action::Delete
            | Action::Create
            | Action::Edit
            | Action::Save
            | Action::CallTool
    )
}

impl App {
    pub fn travel(&self) -> Option<&Travel> {
        self.travel.as_deref()
    }

    /// What `[` / `]` look at: the detail's instance, else the table's
    /// filter.
    fn visible(&self) -> Visible {
        match self.screen() {
            Screen::Detail(d) => Visible::Instance(d.id),
            _ => Visible::Filter(self.instances.filter.clone()),
        }
    }

    /// `:at TIME`.
    pub(super) fn open_moment(&mut self, text: &str) -> Vec<Command> {
        let local = self.now.with_timezone(&Local);
        match replay::parse_moment(text, local) {
            Ok(at) => self.ask(Command::OpenMoment(at)),
            Err(e) => {
                self.toast(Level::Error, e.to_string());
                Vec::new()
            }
        }
    }

    /// `[` and `]`.
    pub(super) fn step(&mut self, forward: bool) -> Vec<Command> {
        let at = match (&self.travel, forward) {
            (Some(t), _) => t.at,
            (None, false) => self.now,
            (None, true) => {
                let back = self
                    .keymap
                    .keys_for(View::Instances, Action::StepBack)
                    .join("/");
                self.toast(
                    Level::Info,
                    format!("this is live: nothing later to step to ({back} steps back)"),
                );
                return Vec::new();
            }
        };
        let visible = self.visible();
        self.ask(Command::StepMoment {
            at,
            forward,
            visible,
        })
    }

    fn ask(&mut self, cmd: Command) -> Vec<Command> {
        if let Some(p) = &self.profile
            && !p.has(Route::EventHistory)
            && !p.recorded
        {
            let why = format!(
                "{} keeps no event history, so this console cannot show a past moment, only now (with backend.record = true, the default, it records what it observes and can)",
                p.platform_name()
            );
            self.toast(Level::Error, why);
            return Vec::new();
        }
        if let Some(t) = self.travel.as_mut() {
            if t.busy {
                return Vec::new();
            }
            t.busy = true;
        }
        vec![cmd]
    }

    /// A moment (or no further change) arrived.
    pub(super) fn moment_loaded(
        &mut self,
        ask: Ask,
        result: Result<Option<Moment>, PlatformError>,
    ) -> Vec<Command> {
        if let Some(t) = self.travel.as_mut() {
            t.busy = false;
        }
        self.dirty = true;
        match result {
            Err(e) => {
                self.toast(Level::Error, format!("cannot show that moment: {e}"));
                Vec::new()
            }
            Ok(None) => {
                let what = match ask {
                    Ask::Forward => "nothing visible changed later; :now returns to live",
                    _ => "nothing visible changed earlier",
                };
                self.toast(Level::Info, what);
                Vec::new()
            }
            Ok(Some(m)) => {
                self.show_moment(m);
                Vec::new()
            }
        }
    }

    /// Show `m`, keeping the live state aside the first time.
    pub fn show_moment(&mut self, m: Moment) {
        let mut shown = Projection::new();
        shown.seed(m.instances);
        let old = std::mem::replace(&mut self.projection, shown);
        match self.travel.as_mut() {
            Some(t) => {
                t.at = m.at;
                t.last_event_at = m.last_event_at;
                t.observed = m.observed;
            }
            None => {
                self.travel = Some(Box::new(Travel {
                    at: m.at,
                    last_event_at: m.last_event_at,
                    observed: m.observed,
                    local: self.now.with_timezone(&Local).offset().fix(),
                    arrived: 0,
                    busy: false,
                    live: old,
                    live_probes: std::mem::take(&mut self.probes),
                    reload_on_return: false,
                }));
            }
        }
        self.instances.flash.clear();
        self.instances.marked.clear();
        self.instances.rows_dirty = true;
        self.instances.rows_built_at = None;
        self.dirty = true;
    }

    /// `:now`.
    pub(super) fn back_to_now(&mut self) -> Vec<Command> {
        let Some(t) = self.travel.take() else {
            self.toast(Level::Info, "already live");
            return Vec::new();
        };
        let t = *t;
        self.projection = t.live;
        self.probes = t.live_probes;
        self.instances.flash.clear();
        self.instances.rows_dirty = true;
        self.instances.rows_built_at = None;
        self.dirty = true;
        let n = t.arrived;
        self.toast(
            Level::Ok,
            match n {
                0 => "live again: nothing happened meanwhile".to_string(),
                1 => "live again: 1 event arrived meanwhile and is applied".to_string(),
                n => format!("live again: {n} events arrived meanwhile and are applied"),
            },
        );
        if t.reload_on_return {
            return self.reload();
        }
        Vec::new()
    }

    /// `C`: what changed from the moment shown to now, instance by
    /// instance (the detail's instance, else the table's filter), in the
    /// pager.
    pub(super) fn changes_since(&mut self) -> Vec<Command> {
        let Some(t) = self.travel.as_deref() else {
            let at = self
                .keymap
                .keys_for(View::Instances, Action::StepBack)
                .join("/");
            self.toast(
                Level::Info,
                format!("this is live: nothing to compare yet (:at TIME or {at} first)"),
            );
            return Vec::new();
        };
        let (list, scope) = match self.screen() {
            Screen::Detail(d) => {
                let id = d.id;
                let name = self
                    .projection
                    .get(&id)
                    .or_else(|| t.live.get(&id))
                    .map_or_else(|| id.to_string(), |i| i.name.clone());
                (
                    changes_since(&self.projection, &t.live, |i| i.id == id),
                    format!("{name} only"),
                )
            }
            _ => {
                let f = &self.instances.filter;
                let scope = if f.is_empty() {
                    "all instances".to_string()
                } else {
                    format!(
                        "instances matching the filter /{}",
                        crate::domain::text::shown(f.source())
                    )
                };
                (
                    changes_since(&self.projection, &t.live, |i| super::instance_matches(f, i)),
                    scope,
                )
            }
        };
        let when = t.at.with_timezone(&t.local).format("%Y-%m-%d %H:%M:%S %:z");
        let mut text = format!("From {when} to now, {scope}: ");
        if list.is_empty() {
            text.push_str("nothing changed.\n");
        } else {
            text.push_str(&format!(
                "{} changed.\n",
                super::super::views::plural(list.len(), "instance")
            ));
        }
        if t.arrived > 0 {
            text.push_str("(Now includes the events that arrived since the console left live.)\n");
        }
        if let Some(o) = &t.observed {
            text.push_str(&format!("({})\n", observed_words(o, t.local)));
        }
        for c in &list {
            text.push_str(&format!("\n{}\n", crate::domain::text::shown(&c.name)));
            for change in &c.changes {
                text.push_str(&format!("  {change}\n"));
            }
        }
        self.overlay = Some(super::Overlay::Raw {
            title: format!(
                "changes since {}",
                t.at.with_timezone(&t.local).format("%H:%M:%S")
            ),
            text,
            pager: Default::default(),
        });
        self.dirty = true;
        Vec::new()
    }

    /// An event while travelling: applied to the live state kept aside.
    /// False when not travelling (the caller applies it as usual).
    pub(super) fn event_while_away(&mut self, env: &Arc<crate::domain::Envelope>) -> bool {
        let Some(t) = self.travel.as_mut() else {
            return false;
        };
        if self.reloading && self.since_reload.len() < 200_000 {
            self.since_reload
                .push(super::events::Arrived::Full(env.clone()));
        }
        t.arrived += 1;
        if t.live.apply(env) == Applied::NeedsRefresh {
            t.reload_on_return = true;
        }
        true
    }

    /// A fresh list while travelling: it replaces the live state kept
    /// aside. False when not travelling.
    pub(super) fn list_while_away(&mut self, list: &mut Vec<crate::domain::Instance>) -> bool {
        if self.travel.is_none() {
            return false;
        }
        let shown = std::mem::take(&mut self.projection);
        self.load(std::mem::take(list));
        if let Some(t) = self.travel.as_mut() {
            t.live = std::mem::replace(&mut self.projection, shown);
        }
        true
    }

    /// Probes while travelling: kept for the return. False when not
    /// travelling.
    pub(super) fn probes_while_away(&mut self, list: &[Probe]) -> bool {
        let Some(t) = self.travel.as_mut() else {
            return false;
        };
        t.live_probes = list.iter().map(|p| (p.instance_id, p.clone())).collect();
        true
    }

    /// Name the moment in this time zone (tests and screenshots, which
    /// must not depend on the machine's zone).
    pub fn set_travel_zone(&mut self, local: FixedOffset) {
        if let Some(t) = self.travel.as_mut() {
            t.local = local;
        }
    }

    /// Whether `action` is refused because the console shows the past (and
    /// says so).
    pub(super) fn refused_in_past(&mut self, action: Action) -> bool {
        if self.travel.is_none() || !acts(action) {
            return false;
        }
        self.toast(
            Level::Error,
            "this is the past: nothing was changed; :now returns to live",
        );
        true
    }
}

/// What a moment read from API mode's recording is: since when this
/// console's recording observed the remote, and the gap the moment fell in.
pub fn observed_words(o: &Observed, local: FixedOffset) -> String {
    let at = |t: DateTime<Utc>| {
        t.with_timezone(&local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let mut s = format!("as observed by this console since {}", at(o.since));
    if let Some(g) = &o.gap {
        match g.to {
            Some(to) => s.push_str(&format!(
                " · IN A GAP: nothing recorded from {} to {}; shown as last observed",
                at(g.from),
                at(to)
            )),
            None => s.push_str(&format!(
                " · IN A GAP: nothing recorded since {}; shown as last observed",
                at(g.from)
            )),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;
    use crate::tui::app::Msg;
    use crate::tui::fixtures;
    use crate::tui::keymap::Keymap;
    use crate::tui::theme::Theme;
    use chrono::Duration;

    fn app() -> App {
        fixtures::app(
            Theme::preset("default").unwrap(),
            Keymap::preset("default").unwrap(),
        )
    }

    fn an_hour_ago(a: &App) -> Moment {
        fixtures::an_hour_ago(a)
    }

    #[test]
    fn an_observed_moment_says_since_when_and_names_its_gap() {
        let since = fixtures::now() - Duration::hours(2);
        let utc = FixedOffset::east_opt(0).unwrap();
        let mut o = Observed { since, gap: None };
        let words = observed_words(&o, utc);
        assert!(
            words.starts_with("as observed by this console since "),
            "{words}"
        );
        assert!(!words.contains("GAP"));
        o.gap = Some(replay::Gap {
            from: since + Duration::minutes(10),
            to: Some(since + Duration::minutes(50)),
        });
        let words = observed_words(&o, utc);
        assert!(words.contains("IN A GAP: nothing recorded from"), "{words}");
        assert!(words.contains("shown as last observed"), "{words}");
        o.gap = Some(replay::Gap {
            from: since,
            to: None,
        });
        assert!(observed_words(&o, utc).contains("nothing recorded since"));
        // The banner carries it.
        let mut a = app();
        let mut m = an_hour_ago(&a);
        m.observed = Some(o);
        a.update(Msg::Moment {
            ask: Ask::At,
            result: Ok(Some(m)),
        });
        let banner = crate::tui::views::travel::text(&a).unwrap();
        assert!(
            banner.contains("as observed by this console since"),
            "{banner}"
        );
        assert!(banner.contains("IN A GAP"), "{banner}");
    }

    #[test]
    fn at_asks_for_the_moment_and_a_bad_time_is_one_sentence() {
        let mut a = app();
        let cmds = a.run_command("at -1h");
        assert_eq!(
            cmds,
            vec![Command::OpenMoment(fixtures::now() - Duration::hours(1))]
        );
        assert!(a.run_command("at 99:99").is_empty());
        let toast = a.toast.as_ref().unwrap();
        assert_eq!(toast.level, Level::Error);
        assert!(toast.text.contains("is not a time"), "{}", toast.text);
        assert!(a.travel().is_none());
    }

    #[test]
    fn the_past_is_shown_live_events_are_kept_and_applied_on_return() {
        let mut a = app();
        let live_len = a.projection.len();
        let m = an_hour_ago(&a);
        let then_len = m.instances.len();
        assert!(then_len < live_len);
        let first = m.instances[0].clone();
        a.update(Msg::Moment {
            ask: Ask::At,
            result: Ok(Some(m)),
        });
        assert!(a.travel().is_some());
        assert_eq!(a.projection.len(), then_len);
        assert_eq!(a.projection.get(&first.id).unwrap().status, Status::Running);
        // A live event meanwhile does not touch the past shown.
        let live = a
            .travel
            .as_ref()
            .unwrap()
            .live
            .get(&first.id)
            .cloned()
            .unwrap();
        let next = if live.status == Status::Stopped {
            Status::Error
        } else {
            Status::Stopped
        };
        a.update(Msg::Platform(fixtures::live_change(&live, next)));
        assert_eq!(a.projection.get(&first.id).unwrap().status, Status::Running);
        assert_eq!(a.travel().unwrap().arrived, 1);
        // Nothing that changes the platform runs from the past.
        assert!(a.action(Action::Stop).is_empty());
        assert!(a.toast.as_ref().unwrap().text.contains("this is the past"));
        // :now: live again, with the event applied.
        a.run_command("now");
        assert!(a.travel().is_none());
        assert_eq!(a.projection.len(), live_len);
        assert_eq!(a.projection.get(&first.id).unwrap().status, next);
        assert!(a.toast.as_ref().unwrap().text.contains("1 event arrived"));
    }

    #[test]
    fn a_platform_without_history_says_so_and_nothing_is_asked() {
        let mut a = app();
        a.update(Msg::Profile(crate::platform::BackendProfile::agentarea()));
        assert!(a.run_command("at -10m").is_empty());
        assert!(a.action(Action::StepBack).is_empty());
        let toast = &a.toast.as_ref().unwrap().text;
        assert!(toast.contains("keeps no event history"), "{toast}");
        assert!(toast.contains("AgentArea"), "{toast}");
        assert!(a.travel().is_none());
    }

    #[test]
    fn steps_ask_with_the_filter_or_the_detail_instance() {
        let mut a = app();
        // Live: `]` has nowhere to go; `[` steps back from now.
        assert!(a.action(Action::StepForward).is_empty());
        a.set_filter("status:error");
        let back = a.action(Action::StepBack);
        let [
            Command::StepMoment {
                at,
                forward,
                visible,
            },
        ] = back.as_slice()
        else {
            panic!("{back:?}");
        };
        assert_eq!((*at, *forward), (fixtures::now(), false));
        assert!(matches!(visible, Visible::Filter(f) if f.source() == "status:error"));
        // In the past: from the moment shown; one lookup at a time.
        let m = an_hour_ago(&a);
        let at = m.at;
        a.update(Msg::Moment {
            ask: Ask::Back,
            result: Ok(Some(m)),
        });
        let fwd = a.action(Action::StepForward);
        assert!(
            matches!(fwd.as_slice(), [Command::StepMoment { at: t, forward: true, .. }] if *t == at)
        );
        assert!(a.action(Action::StepForward).is_empty(), "busy");
        a.update(Msg::Moment {
            ask: Ask::Forward,
            result: Ok(None),
        });
        assert!(
            a.toast
                .as_ref()
                .unwrap()
                .text
                .contains("nothing visible changed later")
        );
        assert_eq!(a.travel().unwrap().at, at);
    }
}
