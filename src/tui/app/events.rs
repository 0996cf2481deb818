//! The Events page: the live stream, its filter and following, and the
//! platform events that feed it and the table.

use super::*;

/// One item of the live stream.
#[derive(Debug, Clone)]
pub enum StreamItem {
    Event(Arc<Envelope>),
    /// A status report kept compact: the stream holds no JSON body for it.
    Status(Arc<StatusEvent>),
    Malformed {
        at: DateTime<Utc>,
        source: String,
        raw: String,
        error: String,
    },
}

impl StreamItem {
    /// The event as a full envelope (a compact one made whole), if it is one.
    pub fn envelope(&self) -> Option<Arc<Envelope>> {
        match self {
            StreamItem::Event(e) => Some(e.clone()),
            StreamItem::Status(s) => Some(Arc::new(s.to_envelope())),
            StreamItem::Malformed { .. } => None,
        }
    }

    /// The instance an event is about.
    pub fn instance_id(&self) -> Option<Uuid> {
        match self {
            StreamItem::Event(e) => e.instance_id(),
            StreamItem::Status(s) => s.instance_id(),
            StreamItem::Malformed { .. } => None,
        }
    }
}

/// What arrived while a reload was on its way, applied again over the
/// fresh list.
#[derive(Debug, Clone)]
pub(super) enum Arrived {
    Full(Arc<Envelope>),
    Status(Arc<StatusEvent>),
}

impl Arrived {
    pub(super) fn apply_to(&self, p: &mut Projection) -> Applied {
        match self {
            Arrived::Full(e) => p.apply(e),
            Arrived::Status(s) => p.apply_status(s),
        }
    }
}

pub(super) fn stream_matches(f: &Filter, it: &StreamItem, p: &Projection) -> bool {
    let (name, event_type, corr, error, status, id) = match it {
        StreamItem::Event(e) => (
            p.name_of(e),
            e.event_type.as_str(),
            e.correlation_id.as_deref(),
            e.error_text(),
            e.status(),
            e.instance_id(),
        ),
        StreamItem::Status(s) => (
            s.instance_name().or_else(|| {
                s.instance_id()
                    .and_then(|id| p.get(&id))
                    .map(|i| i.name.as_str())
            }),
            s.kind().as_str(),
            s.correlation_id(),
            s.error_text(),
            s.status(),
            s.instance_id(),
        ),
        StreamItem::Malformed {
            source, raw, error, ..
        } => {
            return f.matches(&Subject {
                text: &["malformed", source, raw, error],
                status: None,
                kind: None,
            });
        }
    };
    let kind = id.and_then(|id| p.get(&id)).map(|i| i.kind().as_str());
    f.matches(&Subject {
        text: &[
            name.unwrap_or_default(),
            event_type,
            corr.unwrap_or(""),
            error.unwrap_or(""),
        ],
        status: status.map(|s| s.as_str()),
        kind,
    })
}

/// The raw envelope as pretty JSON, with secret-looking values masked.
pub fn raw_envelope(env: &Envelope) -> String {
    let mut v = serde_json::to_value(env).unwrap_or(serde_json::Value::Null);
    if let Some(data) = v.get_mut("data") {
        *data = mask_secrets(data);
    }
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// The Events page's own state: the live stream, its filter, the
/// selection and whether it follows the newest row, and what the last
/// frame drew.
#[derive(Debug, Clone)]
pub struct EventsPage {
    pub stream: VecDeque<StreamItem>,
    pub follow: bool,
    pub selected: usize,
    pub filter: Filter,
    /// How many malformed payloads arrived.
    pub malformed: u64,
    /// Following under a filter: the newest row is found once before the
    /// next frame (see [`EventsPage::prepare`]).
    pub(super) follow_pending: bool,
    /// The table's scroll, as the last frame drew it.
    pub scroll: super::super::views::TableScroll,
}

impl Default for EventsPage {
    fn default() -> EventsPage {
        EventsPage {
            stream: VecDeque::new(),
            follow: true,
            selected: 0,
            filter: Filter::default(),
            malformed: 0,
            follow_pending: false,
            scroll: Default::default(),
        }
    }
}

/// What an action did on the Events page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventsOutcome {
    /// Not the page's own: the app handles it.
    Unhandled,
    /// Done (a move, the filter cleared).
    Done,
    /// Following turned on (true) or off.
    Following(bool),
    /// Back with nothing to clear: leave for the Instances page.
    Leave,
}

impl EventsPage {
    /// A key, by the keymap's `[events]` keys (and the global ones).
    pub fn handle_key(
        &mut self,
        keymap: &Keymap,
        k: &KeyEvent,
        page: isize,
        p: &Projection,
    ) -> EventsOutcome {
        match keymap.action(View::Events, k) {
            Some(action) => self.handle_action(action, page, p),
            None => EventsOutcome::Unhandled,
        }
    }

    /// An action on the page's own state: moving (by `page` rows a page),
    /// following, and back (clears the filter, else leaves). The filter
    /// matches names through `p`.
    pub fn handle_action(&mut self, action: Action, page: isize, p: &Projection) -> EventsOutcome {
        match action {
            Action::Up => self.move_by(-1, p),
            Action::Down => self.move_by(1, p),
            Action::PageUp => self.move_by(-page, p),
            Action::PageDown => self.move_by(page, p),
            Action::Top => self.move_by(isize::MIN / 2, p),
            Action::Bottom => self.move_by(isize::MAX / 2, p),
            Action::Follow => {
                self.follow = !self.follow;
                self.follow_tail();
                return EventsOutcome::Following(self.follow);
            }
            Action::Back if self.filter.is_empty() => return EventsOutcome::Leave,
            Action::Back => self.set_filter("", p),
            _ => return EventsOutcome::Unhandled,
        }
        EventsOutcome::Done
    }

    /// The stream items shown (indices into `stream`).
    pub fn rows(&self, p: &Projection) -> Vec<usize> {
        if self.filter.is_empty() {
            return (0..self.stream.len()).collect();
        }
        self.stream
            .iter()
            .enumerate()
            .filter(|(_, it)| stream_matches(&self.filter, it, p))
            .map(|(i, _)| i)
            .collect()
    }

    /// Move the selection by `delta` rows: moving up pauses, reaching the
    /// end resumes following.
    pub fn move_by(&mut self, delta: isize, p: &Projection) {
        let n = self.rows(p).len();
        if n == 0 {
            return;
        }
        self.selected = self.selected.saturating_add_signed(delta).min(n - 1);
        self.follow = self.selected + 1 == n && delta > 0;
    }

    pub fn set_filter(&mut self, text: &str, p: &Projection) {
        self.filter = Filter::parse(text);
        let n = self.rows(p).len();
        self.selected = self.selected.min(n.saturating_sub(1));
        self.follow_tail();
    }

    /// Add an item at the end, dropping the oldest past [`STREAM_CAP`].
    pub(super) fn push(&mut self, item: StreamItem) {
        self.stream.push_back(item);
        if self.stream.len() > STREAM_CAP {
            self.stream.pop_front();
            self.selected = self.selected.saturating_sub(1);
        }
    }

    /// Before a frame: following under a filter, find the newest row (once
    /// for a burst of events).
    pub(super) fn prepare(&mut self, p: &Projection) {
        if std::mem::take(&mut self.follow_pending) && self.follow {
            self.selected = self.rows(p).len().saturating_sub(1);
        }
    }

    /// Keep the selection on the newest row when following; under a
    /// filter resolved in [`EventsPage::prepare`] so a burst costs one pass.
    pub(super) fn follow_tail(&mut self) {
        if self.follow {
            if self.filter.is_empty() {
                self.selected = self.stream.len().saturating_sub(1);
            } else {
                self.follow_pending = true;
            }
        }
    }
}

impl App {
    /// The stream items the events view shows (indices into `stream`).
    pub fn stream_rows(&self) -> Vec<usize> {
        self.events.rows(&self.projection)
    }

    pub(super) fn push_stream(&mut self, item: StreamItem) {
        self.events.push(item);
        if let Some(last) = self.rate.back_mut() {
            *last += 1;
        }
    }

    /// An action for the Events page, and what it asks of the app.
    pub(super) fn events_action(&mut self, action: Action) -> EventsOutcome {
        let page = self.page();
        let out = self.events.handle_action(action, page, &self.projection);
        self.events_did(out)
    }

    /// What the Events page asked for, done.
    pub(super) fn events_did(&mut self, out: EventsOutcome) -> EventsOutcome {
        match out {
            EventsOutcome::Following(on) => {
                self.toast(Level::Info, if on { "following" } else { "paused" })
            }
            EventsOutcome::Leave => self.screens = vec![Screen::Instances],
            _ => {}
        }
        out
    }

    pub(super) fn platform(&mut self, ev: PlatformEvent) -> Vec<Command> {
        self.dirty = true;
        match ev {
            PlatformEvent::Event(env) => {
                if self.event_while_away(&env) {
                    self.push_stream(StreamItem::Event(env));
                    self.events.follow_tail();
                    return Vec::new();
                }
                self.arrived(Arrived::Full(env))
            }
            PlatformEvent::Status(s) => {
                if self.travel.is_some() {
                    // Looking at the past: the live state kept aside takes
                    // envelopes (rare enough to make one).
                    return self.platform(PlatformEvent::Status(s).full());
                }
                self.arrived(Arrived::Status(s))
            }
            PlatformEvent::Malformed { source, raw, error } => {
                self.events.malformed += 1;
                self.push_stream(StreamItem::Malformed {
                    at: self.now,
                    source,
                    raw,
                    error,
                });
                self.events.follow_tail();
                Vec::new()
            }
            PlatformEvent::Source(s) => {
                // A backend that could not say what it is at start (it was
                // down) is asked again once it answers.
                let ask = matches!(s, SourceState::Connected(_))
                    && self
                        .profile
                        .as_ref()
                        .is_some_and(|p| p.kind == crate::platform::profile::BackendKind::Unknown);
                self.source = s;
                if ask {
                    return vec![Command::LoadProfile];
                }
                Vec::new()
            }
            PlatformEvent::Refresh => self.reload(),
            PlatformEvent::Window(w) => {
                self.stream_window = Some(w);
                self.instances.rows_dirty = true;
                Vec::new()
            }
        }
    }

    /// An event for the live state: applied, highlighted, shown in the
    /// stream and on its instance's Detail page.
    fn arrived(&mut self, ev: Arrived) -> Vec<Command> {
        if self.reloading && self.since_reload.len() < 200_000 {
            self.since_reload.push(ev.clone());
        }
        let (item, id) = match ev {
            Arrived::Full(e) => {
                let id = e.instance_id();
                (StreamItem::Event(e), id)
            }
            Arrived::Status(s) => {
                let id = s.instance_id();
                (StreamItem::Status(s), id)
            }
        };
        let known = id.is_some_and(|id| self.projection.get(&id).is_some());
        let applied = match &item {
            StreamItem::Event(e) => self.projection.apply(e),
            StreamItem::Status(s) => self.projection.apply_status(s),
            StreamItem::Malformed { .. } => Applied::Unknown,
        };
        match applied {
            Applied::Changed { id, fields } => {
                self.instances
                    .flash
                    .insert(id, (self.now + Duration::milliseconds(FLASH_MS), fields));
                if !known || self.instances.order_depends_on(fields) {
                    self.instances.rows_dirty = true;
                }
            }
            Applied::Removed(id) => {
                self.instances.flash.remove(&id);
                self.instances.marked.remove(&id);
                self.instances.rows_dirty = true;
            }
            Applied::NeedsRefresh => {
                self.push_stream(item);
                self.events.follow_tail();
                return self.reload();
            }
            Applied::Ignored | Applied::Unknown => {}
        }
        if let Some(id) = id {
            // A compact report is made whole only for an open Detail page.
            let mut env = None;
            for d in self.details_of(id) {
                if let Some(e) = env.get_or_insert_with(|| item.envelope()) {
                    d.event_arrived(e);
                }
            }
        }
        self.push_stream(item);
        self.events.follow_tail();
        Vec::new()
    }

    /// What the table covers when some instances are known only from the
    /// stream: how many, since when, and whether the whole stream was read
    /// (or the key that reads it). `None` when the table is the platform's
    /// own list. As of the last [`App::prepare`].
    pub fn coverage(&self) -> Option<String> {
        let w = self.stream_window.as_ref()?;
        let n = self.stream_only;
        if n == 0 {
            return None;
        }
        let since = w
            .since
            .map(|t| format!(" since {}", t.format("%H:%M")))
            .unwrap_or_default();
        let what = format!(
            "{n} instance{} seen on the stream{since}",
            if n == 1 { "" } else { "s" }
        );
        Some(if w.whole() {
            format!("{what} (all {} entries it retains)", w.retained)
        } else {
            let key = self
                .keymap
                .bindings(crate::tui::keymap::View::Instances)
                .into_iter()
                .find(|b| b.action == Action::ReadStream)
                .map_or_else(|| ":read-stream".to_string(), |b| b.label.clone());
            // Only the watcher's backfill window: the rest is on offer.
            format!("{what} · {key} reads all {} entries", w.retained)
        })
    }

    pub(super) fn read_stream(&mut self) -> Vec<Command> {
        match &self.stream_window {
            None => {
                self.toast(Level::Info, "this console watches no Redis stream");
                Vec::new()
            }
            Some(_) if self.stream_only == 0 => {
                self.toast(
                    Level::Info,
                    "every instance in the table is the platform's own: none is known only from the stream",
                );
                Vec::new()
            }
            Some(w) if w.whole() => {
                self.toast(
                    Level::Info,
                    format!("the whole stream is read already ({} entries)", w.retained),
                );
                Vec::new()
            }
            Some(w) => {
                self.toast(
                    Level::Info,
                    format!("reading all {} entries of the stream…", w.retained),
                );
                vec![Command::ReadStream]
            }
        }
    }

    pub fn set_stream_filter(&mut self, text: &str) {
        self.events.set_filter(text, &self.projection);
    }

    pub(super) fn open_raw_stream(&mut self) {
        let rows = self.stream_rows();
        let Some(item) = rows
            .get(self.events.selected)
            .and_then(|i| self.events.stream.get(*i))
        else {
            return;
        };
        let (title, text) = match item {
            StreamItem::Event(e) => (format!("event {}", e.event_id), raw_envelope(e)),
            StreamItem::Status(s) => (
                format!("event {}", s.event_id),
                raw_envelope(&s.to_envelope()),
            ),
            StreamItem::Malformed {
                source, raw, error, ..
            } => (
                format!("malformed payload from {source}"),
                format!("{error}\n\n{raw}"),
            ),
        };
        self.overlay = Some(Overlay::Raw {
            title,
            text,
            pager: Default::default(),
        });
    }

    /// The recent events asked for at start: put before the live ones.
    pub(super) fn recent_events(&mut self, r: Result<Vec<Envelope>, PlatformError>) {
        match r {
            Ok(list) => {
                let seen: HashSet<String> = self
                    .events
                    .stream
                    .iter()
                    .filter_map(|it| match it {
                        StreamItem::Event(e) => Some(e.event_id.clone()),
                        StreamItem::Status(s) => Some(s.event_id.to_string()),
                        StreamItem::Malformed { .. } => None,
                    })
                    .collect();
                let old: Vec<StreamItem> = list
                    .into_iter()
                    .filter(|e| !seen.contains(e.event_id.as_str()))
                    .map(|e| StreamItem::Event(Arc::new(e)))
                    .collect();
                for it in old.into_iter().rev() {
                    self.events.stream.push_front(it);
                }
                while self.events.stream.len() > STREAM_CAP {
                    self.events.stream.pop_front();
                }
                self.events.follow_tail();
            }
            Err(e) => self.toast(Level::Error, format!("could not read events: {e}")),
        }
        self.dirty = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn malformed(raw: &str) -> StreamItem {
        StreamItem::Malformed {
            at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
            source: "redis".into(),
            raw: raw.into(),
            error: "not json".into(),
        }
    }

    /// A stream of `raws`, following (on the newest).
    fn page(raws: &[&str]) -> EventsPage {
        let mut p = EventsPage::default();
        for r in raws {
            p.push(malformed(r));
            p.follow_tail();
        }
        p
    }

    #[test]
    fn the_filter_keeps_the_matching_rows_and_the_selection_among_them() {
        let none = Projection::new();
        let mut p = page(&["alpha", "beta", "alphabet", "gamma"]);
        assert_eq!(p.selected, 3, "following: on the newest");
        p.set_filter("alpha", &none);
        assert_eq!(p.rows(&none), vec![0, 2]);
        assert_eq!(p.selected, 1, "kept within the filtered rows");
        assert_eq!(
            p.handle_action(Action::Back, 10, &none),
            EventsOutcome::Done
        );
        assert!(p.filter.is_empty(), "back clears the filter first");
        assert_eq!(p.rows(&none).len(), 4);
        assert_eq!(
            p.handle_action(Action::Back, 10, &none),
            EventsOutcome::Leave,
            "then leaves"
        );
    }

    #[test]
    fn moving_up_pauses_and_reaching_the_end_follows_again() {
        let none = Projection::new();
        let mut p = page(&["a", "b", "c"]);
        p.handle_action(Action::Up, 10, &none);
        assert_eq!((p.selected, p.follow), (1, false));
        p.push(malformed("d"));
        p.follow_tail();
        assert_eq!(p.selected, 1, "paused: the selection stays");
        p.handle_action(Action::Bottom, 10, &none);
        assert_eq!((p.selected, p.follow), (3, true));
        assert_eq!(
            p.handle_action(Action::Follow, 10, &none),
            EventsOutcome::Following(false)
        );
        p.handle_action(Action::Top, 10, &none);
        assert_eq!(
            p.handle_action(Action::Follow, 10, &none),
            EventsOutcome::Following(true)
        );
        assert_eq!(p.selected, 3, "following jumps to the newest");
    }

    #[test]
    fn keys_go_by_the_keymap() {
        use crossterm::event::{KeyCode, KeyModifiers};
        let vim = Keymap::preset("vim").expect("the vim keymap");
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        let none = Projection::new();
        let mut p = page(&["a", "b"]);
        assert_eq!(
            p.handle_key(&vim, &key('k'), 10, &none),
            EventsOutcome::Done
        );
        assert_eq!((p.selected, p.follow), (0, false));
        assert_eq!(
            p.handle_key(&vim, &key('Z'), 10, &none),
            EventsOutcome::Unhandled
        );
    }

    #[test]
    fn following_under_a_filter_finds_the_newest_match_before_the_frame() {
        let none = Projection::new();
        let mut p = page(&["alpha", "beta"]);
        p.set_filter("alpha", &none);
        p.prepare(&none);
        assert_eq!(p.selected, 0);
        p.push(malformed("alphabet"));
        p.follow_tail();
        p.push(malformed("gamma"));
        p.follow_tail();
        p.prepare(&none);
        assert_eq!(p.rows(&none), vec![0, 2]);
        assert_eq!(p.selected, 1, "the newest of the matching rows");
    }

    #[test]
    fn the_stream_keeps_its_cap_and_the_selection_on_the_same_item() {
        let mut p = page(&["first", "second"]);
        p.selected = 1;
        p.follow = false;
        for _ in 0..STREAM_CAP - 1 {
            p.push(malformed("more"));
        }
        assert_eq!(p.stream.len(), STREAM_CAP);
        assert_eq!(
            p.selected, 0,
            "the oldest went; the selection moved with its item"
        );
        assert!(matches!(&p.stream[0], StreamItem::Malformed { raw, .. } if raw == "second"));
    }
}
