//! The Instances page: the sorted, filtered table, marks, mouse hits and
//! the bulk actions on the marked rows.

use super::*;

/// Instance table columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Name,
    Kind,
    Status,
    Desired,
    Health,
    Tools,
    Restarts,
    Age,
    Updated,
}

impl Column {
    pub const ALL: [Column; 9] = [
        Column::Name,
        Column::Kind,
        Column::Status,
        Column::Desired,
        Column::Health,
        Column::Tools,
        Column::Restarts,
        Column::Age,
        Column::Updated,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Name => "NAME",
            Column::Kind => "KIND",
            Column::Status => "STATUS",
            Column::Desired => "DESIRED",
            Column::Health => "HEALTH",
            Column::Tools => "TOOLS",
            Column::Restarts => "RESTARTS",
            Column::Age => "AGE",
            Column::Updated => "UPDATED",
        }
    }

    pub fn from_name(s: &str) -> Option<Column> {
        Column::ALL
            .into_iter()
            .find(|c| c.title().eq_ignore_ascii_case(s))
    }

    fn cmp(self, a: &Instance, b: &Instance) -> Ordering {
        match self {
            Column::Name => a.name.cmp(&b.name),
            Column::Kind => a.kind().cmp(&b.kind()),
            // What needs the operator first: error, unhealthy, then the rest.
            Column::Status => status_rank(shown_status(a)).cmp(&status_rank(shown_status(b))),
            Column::Desired => a.desired_state.cmp(&b.desired_state),
            // Most recently healthy first; never healthy last.
            Column::Health => b.last_healthy_at.cmp(&a.last_healthy_at),
            Column::Tools => a.tool_count.cmp(&b.tool_count),
            Column::Restarts => a.restarts.cmp(&b.restarts),
            // Youngest first, as ages read.
            Column::Age => b.created_at.cmp(&a.created_at),
            Column::Updated => b.updated_at.cmp(&a.updated_at),
        }
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.id.cmp(&b.id))
    }
}

/// Where the instance rows were drawn, for mouse hits (set by the view).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Geometry {
    pub rows: Rect,
    pub first: usize,
    /// The header row's y and each visible column's x range.
    pub header_y: u16,
    pub columns: [Option<(u16, u16, Column)>; 9],
}

/// Whether an instance passes the filter.
pub fn instance_matches(f: &Filter, i: &Instance) -> bool {
    if f.is_empty() {
        return true;
    }
    let id = i.id.to_string();
    let kind = i.kind();
    f.matches(&Subject {
        text: &[&i.name, &id, i.description.as_deref().unwrap_or("")],
        status: Some(shown_status(i).as_str()),
        kind: Some(kind.as_str()),
    })
}

/// The Instances page's own state: the table's rows in order, the
/// filter, the selection and marks, what changed lately, and what the
/// last frame drew.
#[derive(Debug, Clone)]
pub struct InstancesPage {
    /// Sorted, filtered ids: the table's rows.
    pub rows: Vec<Uuid>,
    pub(super) rows_dirty: bool,
    pub(super) rows_built_at: Option<DateTime<Utc>>,
    pub sort: Column,
    pub sort_reverse: bool,
    pub filter: Filter,
    pub selected: usize,
    pub(super) selected_id: Option<Uuid>,
    pub marked: HashSet<Uuid>,
    /// Recently changed instances: until when, and what changed.
    pub flash: crate::domain::projection::IdMap<Uuid, (DateTime<Utc>, ChangedFields)>,
    /// The table's scroll, as the last frame drew it.
    pub scroll: super::super::views::TableScroll,
    /// Where the last frame drew the rows and column headers, for mouse hits.
    pub geometry: Geometry,
}

impl Default for InstancesPage {
    fn default() -> InstancesPage {
        InstancesPage {
            rows: Vec::new(),
            // Nothing built yet.
            rows_dirty: true,
            rows_built_at: None,
            sort: Column::Name,
            sort_reverse: false,
            filter: Filter::default(),
            selected: 0,
            selected_id: None,
            marked: HashSet::new(),
            flash: Default::default(),
            scroll: Default::default(),
            geometry: Geometry::default(),
        }
    }
}

/// What an action did on the Instances page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstancesOutcome {
    /// Not the page's own: the app handles it.
    Unhandled,
    /// Done (a move, a mark).
    Done,
    /// The order or the filter changed: the rows must be rebuilt.
    Rebuild,
    /// Open the selected instance.
    Open,
}

impl InstancesPage {
    /// A key, by the keymap's `[instances]` keys (and the global ones).
    pub fn handle_key(&mut self, keymap: &Keymap, k: &KeyEvent, page: isize) -> InstancesOutcome {
        match keymap.action(View::Instances, k) {
            Some(action) => self.handle_action(action, page),
            None => InstancesOutcome::Unhandled,
        }
    }

    /// An action on the page's own state: moving (by `page` rows a page),
    /// marking, sorting, and back (clears the marks, then the filter).
    pub fn handle_action(&mut self, action: Action, page: isize) -> InstancesOutcome {
        match action {
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-page),
            Action::PageDown => self.move_by(page),
            Action::Top => self.move_by(isize::MIN / 2),
            Action::Bottom => self.move_by(isize::MAX / 2),
            Action::Mark => {
                if let Some(id) = self.selected_id {
                    if !self.marked.remove(&id) {
                        self.marked.insert(id);
                    }
                    self.move_by(1);
                }
            }
            Action::MarkAll => {
                if self.marked.is_empty() {
                    self.marked = self.rows.iter().copied().collect();
                } else {
                    self.marked.clear();
                }
            }
            Action::SortNext => {
                let i = Column::ALL
                    .iter()
                    .position(|c| *c == self.sort)
                    .unwrap_or(0);
                self.set_sort(Column::ALL[(i + 1) % Column::ALL.len()], false);
                return InstancesOutcome::Rebuild;
            }
            Action::SortReverse => {
                self.set_sort(self.sort, !self.sort_reverse);
                return InstancesOutcome::Rebuild;
            }
            Action::Back => {
                if !self.marked.is_empty() {
                    self.marked.clear();
                } else if !self.filter.is_empty() {
                    self.set_filter("");
                    return InstancesOutcome::Rebuild;
                }
            }
            _ => return InstancesOutcome::Unhandled,
        }
        InstancesOutcome::Done
    }

    /// A left click where the last frame drew the table: a column header
    /// sorts by it (the sorted one: reversed), a row selects it, the
    /// selected row opens.
    pub fn click(&mut self, column: u16, row: u16) -> InstancesOutcome {
        let g = self.geometry;
        if row == g.header_y && g.rows.height > 0 {
            let hit = g
                .columns
                .iter()
                .flatten()
                .find(|(x0, x1, _)| column >= *x0 && column < *x1);
            let Some((_, _, col)) = hit else {
                return InstancesOutcome::Unhandled;
            };
            let reverse = *col == self.sort && !self.sort_reverse;
            self.set_sort(*col, reverse);
            return InstancesOutcome::Rebuild;
        }
        let inside = column >= g.rows.x
            && column < g.rows.x + g.rows.width
            && row >= g.rows.y
            && row < g.rows.y + g.rows.height;
        if !inside {
            return InstancesOutcome::Unhandled;
        }
        let idx = g.first + usize::from(row - g.rows.y);
        if idx >= self.rows.len() {
            return InstancesOutcome::Unhandled;
        }
        if idx == self.selected {
            return InstancesOutcome::Open;
        }
        self.selected = idx;
        self.clamp_selection();
        InstancesOutcome::Done
    }

    /// Sort by `col` (reversed or not); the rows are stale until rebuilt.
    pub fn set_sort(&mut self, col: Column, reverse: bool) {
        self.sort = col;
        self.sort_reverse = reverse;
        self.rows_dirty = true;
    }

    /// Filter by `text`; the rows are stale until rebuilt.
    pub fn set_filter(&mut self, text: &str) {
        self.filter = Filter::parse(text);
        self.rows_dirty = true;
    }

    /// Rebuild the rows from `p`: filtered, sorted (health by the live
    /// `probes` where there are), marks of instances gone dropped, the
    /// selection kept on the same instance where it still shows.
    pub fn rebuild(&mut self, p: &Projection, probes: &HashMap<Uuid, Probe>, now: DateTime<Utc>) {
        let filter = &self.filter;
        let mut rows: Vec<&Instance> = p
            .instances()
            .filter(|i| !i.name.is_empty() && instance_matches(filter, i))
            .collect();
        let col = self.sort;
        if col == Column::Kind {
            // The kind is detected from the json_spec: once per row, not per comparison.
            rows.sort_by_cached_key(|i| (i.kind(), i.name.clone(), i.id));
        } else if col == Column::Health {
            // Most recently healthy first, by the live probes where there are.
            let healthy = |i: &Instance| {
                probes
                    .get(&i.id)
                    .filter(|_| probe_applies(i))
                    .and_then(|p| p.last_ok_at)
                    .or(i.last_healthy_at)
            };
            rows.sort_by(|a, b| {
                healthy(b)
                    .cmp(&healthy(a))
                    .then_with(|| a.name.cmp(&b.name))
                    .then_with(|| a.id.cmp(&b.id))
            });
        } else {
            rows.sort_unstable_by(|a, b| col.cmp(a, b));
        }
        if self.sort_reverse {
            rows.reverse();
        }
        self.rows = rows.into_iter().map(|i| i.id).collect();
        self.rows_dirty = false;
        self.rows_built_at = Some(now);
        self.marked.retain(|id| p.get(id).is_some());
        if let Some(id) = self.selected_id
            && let Some(pos) = self.rows.iter().position(|r| *r == id)
        {
            self.selected = pos;
        }
        self.clamp_selection();
    }

    /// Whether a change of `fields` on a row already in the table can move
    /// it or hide it. A status flap under the default name sort cannot, so
    /// it costs no re-sort (at 100k rows a re-sort is tens of milliseconds).
    pub(super) fn order_depends_on(&self, fields: ChangedFields) -> bool {
        if fields.config || !self.filter.is_empty() {
            return true;
        }
        match self.sort {
            Column::Status | Column::Health | Column::Tools | Column::Restarts => fields.status,
            Column::Desired => fields.desired,
            Column::Name | Column::Kind | Column::Age | Column::Updated => false,
        }
    }

    /// Move the selection by `delta` rows, within the table.
    pub fn move_by(&mut self, delta: isize) {
        let n = self.rows.len();
        if n == 0 {
            return;
        }
        self.selected = self.selected.saturating_add_signed(delta).min(n - 1);
        self.clamp_selection();
    }

    /// Keep the selection on a row, and remember which instance it is.
    pub(super) fn clamp_selection(&mut self) {
        if self.rows.is_empty() {
            self.selected = 0;
        } else if self.selected >= self.rows.len() {
            self.selected = self.rows.len() - 1;
        }
        self.selected_id = self.rows.get(self.selected).copied();
    }

    /// Marked rows, or the selected one when none is marked.
    pub(super) fn targets(&self) -> Vec<Uuid> {
        if self.marked.is_empty() {
            self.selected_id.into_iter().collect()
        } else {
            let mut v: Vec<Uuid> = self
                .rows
                .iter()
                .filter(|id| self.marked.contains(id))
                .copied()
                .collect();
            // Marked rows hidden by the filter still count.
            for id in &self.marked {
                if !v.contains(id) {
                    v.push(*id);
                }
            }
            v
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Mutation {
    Start,
    Stop,
    Restart,
    Delete,
}

impl App {
    /// Rebuild the sorted, filtered index if it is stale. Called once
    /// before each frame, so a burst of events costs one sort.
    pub fn prepare(&mut self) {
        self.events.prepare(&self.projection);
        if !self.instances.rows_dirty {
            return;
        }
        if self.projection.len() > LARGE
            && let Some(at) = self.instances.rows_built_at
            && self.now - at < Duration::milliseconds(250)
            && !self.instances.rows.is_empty()
        {
            return;
        }
        self.rebuild_rows();
    }

    /// Names several instances have, where the backend allows that (a
    /// backend with unique names is not searched).
    pub(super) fn duplicate_names(&self) -> HashSet<String> {
        if self.profile.as_ref().is_none_or(|p| p.unique_names) {
            return HashSet::new();
        }
        let mut seen: HashSet<&str> = HashSet::new();
        self.projection
            .instances()
            .filter(|i| !seen.insert(i.name.as_str()))
            .map(|i| i.name.clone())
            .collect()
    }

    pub(super) fn rebuild_rows(&mut self) {
        self.instances
            .rebuild(&self.projection, &self.probes, self.now);
        if self.stream_window.is_some() {
            self.stream_only = self
                .projection
                .instances()
                .filter(|i| !i.name.is_empty() && !self.listed.contains(&i.id))
                .count();
        }
        self.dup_names = self.duplicate_names();
    }

    pub fn selected_instance(&self) -> Option<&Instance> {
        self.instances
            .rows
            .get(self.instances.selected)
            .and_then(|id| self.projection.get(id))
    }

    pub(super) fn names(&self, ids: &[Uuid]) -> Vec<String> {
        ids.iter()
            .filter_map(|id| self.projection.get(id).map(|i| i.name.clone()))
            .collect()
    }

    /// Counts per status, in `Status::ALL` order (kept by the projection
    /// as instances change, not counted per frame).
    pub fn counts(&self) -> crate::domain::projection::StatusCounts {
        self.projection.counts()
    }

    pub(super) fn mouse(&mut self, m: MouseEvent) -> Vec<Command> {
        if self.overlay.is_some() {
            return Vec::new();
        }
        if let Some(s) = self.edit_mut() {
            if s.conflict.is_none() {
                s.editor.handle_mouse(m);
                self.dirty = true;
            }
            return Vec::new();
        }
        let delta: isize = match m.kind {
            MouseEventKind::ScrollDown => 3,
            MouseEventKind::ScrollUp => -3,
            MouseEventKind::Down(MouseButton::Left) => {
                if let Screen::Instances = self.screen() {
                    match self.instances.click(m.column, m.row) {
                        InstancesOutcome::Unhandled => {}
                        InstancesOutcome::Done => self.dirty = true,
                        InstancesOutcome::Rebuild => {
                            self.rebuild_rows();
                            self.dirty = true;
                        }
                        InstancesOutcome::Open => {
                            self.dirty = true;
                            return self.open_detail();
                        }
                    }
                }
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        self.dirty = true;
        self.move_by(delta);
        Vec::new()
    }

    pub(super) fn set_sort(&mut self, col: Column, reverse: bool) {
        self.instances.set_sort(col, reverse);
        self.rebuild_rows();
    }

    pub fn set_filter(&mut self, text: &str) {
        self.instances.set_filter(text);
        self.rebuild_rows();
    }

    /// An action for the Instances page, and the rebuild it asks for.
    pub(super) fn instances_action(&mut self, action: Action) -> InstancesOutcome {
        let page = self.page();
        let out = self.instances.handle_action(action, page);
        self.instances_did(out)
    }

    /// What the Instances page asked for, done.
    pub(super) fn instances_did(&mut self, out: InstancesOutcome) -> InstancesOutcome {
        if out == InstancesOutcome::Rebuild {
            self.rebuild_rows();
        }
        out
    }

    pub(super) fn mutate(&mut self, what: Mutation) -> Vec<Command> {
        let ids = match self.screen() {
            Screen::Detail(d) => vec![d.id],
            Screen::Instances => self.instances.targets(),
            _ => return Vec::new(),
        };
        let label = match what {
            Mutation::Start => "starting",
            Mutation::Stop => "stopping",
            Mutation::Restart => "restarting",
            Mutation::Delete => "deleting",
        };
        if self.read_only() {
            self.toast(
                Level::Error,
                format!("read-only mode: {label} instances is not allowed"),
            );
            return Vec::new();
        }
        if ids.is_empty() {
            self.toast(Level::Info, "no instance selected");
            return Vec::new();
        }
        let pending = match what {
            Mutation::Start => {
                // Starting what already runs does nothing: say so instead.
                let (running, rest): (Vec<Uuid>, Vec<Uuid>) = ids.iter().partition(|id| {
                    self.projection
                        .get(id)
                        .is_some_and(|i| matches!(i.status, Status::Running | Status::Starting))
                });
                let running_names = self.names(&running);
                if rest.is_empty() {
                    let text = match (running_names.as_slice(), running.first()) {
                        ([one], Some(id)) => {
                            let status = self
                                .projection
                                .get(id)
                                .map(|i| i.status.as_str())
                                .unwrap_or("running");
                            format!("{one} is already {status}")
                        }
                        _ => format!("all {} are already running or starting", running.len()),
                    };
                    self.toast(Level::Info, text);
                    return Vec::new();
                }
                if !running.is_empty() {
                    self.toast(
                        Level::Info,
                        format!(
                            "starting {}; already running: {}",
                            rest.len(),
                            running_names.join(", ")
                        ),
                    );
                }
                // Marks go once a bulk action is sent, as after stop and delete.
                self.instances.marked.clear();
                return vec![Command::Start(rest)];
            }
            Mutation::Stop => Pending::Stop(ids.clone()),
            Mutation::Restart => Pending::Restart(ids.clone()),
            Mutation::Delete => Pending::Delete(ids.clone()),
        };
        {
            {
                let names = self.names(&ids);
                let (verb, extra) = match what {
                    Mutation::Delete => (
                        "Delete",
                        "Running instances are stopped first. This cannot be undone.",
                    ),
                    Mutation::Stop | Mutation::Start => {
                        ("Stop", "Clients using them lose their connection.")
                    }
                    Mutation::Restart => (
                        "Restart",
                        "Stopped and started again; clients lose their connection.",
                    ),
                };
                let title = if names.len() == 1 {
                    format!("{verb} instance {}?", names[0])
                } else {
                    format!(
                        "{verb} {}?",
                        crate::tui::views::plural(names.len(), "instance")
                    )
                };
                let mut lines = name_list(&names);
                lines.push(String::new());
                lines.push(extra.to_string());
                self.overlay = Some(Overlay::Confirm(Confirm {
                    title,
                    lines,
                    pending,
                    yes_focused: false,
                }));
                Vec::new()
            }
        }
    }

    /// The runtime's last probes arrived (or why not).
    pub(super) fn probes_loaded(&mut self, result: Result<Vec<Probe>, PlatformError>) {
        self.probing = false;
        match result {
            Ok(list) if self.probes_while_away(&list) => {}
            Ok(list) => {
                let fresh: HashMap<Uuid, Probe> =
                    list.into_iter().map(|p| (p.instance_id, p)).collect();
                if fresh != self.probes {
                    self.probes = fresh;
                    self.dirty = true;
                    self.instances.rows_dirty |= self.instances.sort == Column::Health;
                }
            }
            // This backend has none: stop asking, say so where it shows.
            Err(PlatformError::Unavailable(why)) => {
                self.probes.clear();
                self.probes_off = Some(why);
                self.dirty = true;
            }
            // A hiccup (the host is restarting): ask again next second.
            Err(e) => tracing::debug!(error = %e, "cannot read health probes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of `n` rows, the first selected.
    fn page(n: u128) -> InstancesPage {
        let mut p = InstancesPage {
            rows: (1..=n).map(Uuid::from_u128).collect(),
            ..InstancesPage::default()
        };
        p.clamp_selection();
        p
    }

    #[test]
    fn sorting_cycles_through_the_columns_unreversed_and_asks_for_a_rebuild() {
        let mut p = page(3);
        p.sort_reverse = true;
        assert_eq!(
            p.handle_action(Action::SortNext, 10),
            InstancesOutcome::Rebuild
        );
        assert_eq!((p.sort, p.sort_reverse), (Column::Kind, false));
        assert_eq!(
            p.handle_action(Action::SortReverse, 10),
            InstancesOutcome::Rebuild
        );
        assert_eq!((p.sort, p.sort_reverse), (Column::Kind, true));
        p.rows_dirty = false;
        p.set_sort(Column::Updated, false);
        p.handle_action(Action::SortNext, 10);
        assert_eq!(p.sort, Column::Name, "after the last column, the first");
        assert!(p.rows_dirty, "the rows are stale until rebuilt");
    }

    #[test]
    fn marking_toggles_the_selected_row_and_moves_on_and_mark_all_toggles_every_row() {
        let mut p = page(3);
        assert_eq!(p.handle_action(Action::Mark, 10), InstancesOutcome::Done);
        assert!(p.marked.contains(&Uuid::from_u128(1)));
        assert_eq!(p.selected, 1, "marking moves down");
        p.handle_action(Action::Up, 10);
        p.handle_action(Action::Mark, 10);
        assert!(p.marked.is_empty(), "marking again unmarks");
        p.handle_action(Action::MarkAll, 10);
        assert_eq!(p.marked.len(), 3);
        p.handle_action(Action::MarkAll, 10);
        assert!(p.marked.is_empty(), "with marks, mark-all clears them");
    }

    #[test]
    fn the_targets_are_the_marked_rows_in_table_order_or_else_the_selected_one() {
        let mut p = page(3);
        p.handle_action(Action::Bottom, 10);
        assert_eq!(p.targets(), vec![Uuid::from_u128(3)]);
        p.marked = [Uuid::from_u128(3), Uuid::from_u128(1), Uuid::from_u128(9)]
            .into_iter()
            .collect();
        let t = p.targets();
        assert_eq!(t[..2], [Uuid::from_u128(1), Uuid::from_u128(3)]);
        assert_eq!(
            t[2],
            Uuid::from_u128(9),
            "a row the filter hides still counts"
        );
    }

    #[test]
    fn the_selection_stays_within_the_table() {
        let mut p = page(25);
        p.handle_action(Action::PageDown, 10);
        assert_eq!(p.selected, 10);
        p.handle_action(Action::PageDown, 10);
        p.handle_action(Action::PageDown, 10);
        assert_eq!(p.selected, 24, "stops at the last row");
        assert_eq!(p.selected_id, Some(Uuid::from_u128(25)));
        p.handle_action(Action::Top, 10);
        assert_eq!(p.selected, 0);
        p.handle_action(Action::Up, 10);
        assert_eq!(p.selected, 0, "stops at the first row");
        let mut empty = page(0);
        empty.handle_action(Action::Down, 10);
        assert_eq!((empty.selected, empty.selected_id), (0, None));
    }

    #[test]
    fn a_rebuild_filters_sorts_drops_gone_marks_and_keeps_the_selected_instance() {
        use crate::tui::fixtures::{instance, now};
        let spec = serde_json::json!({"command": ["x"]});
        let mut proj = Projection::new();
        proj.seed(vec![
            instance(1, "beta", spec.clone(), Status::Running, 5),
            instance(2, "alpha", spec.clone(), Status::Error, 5),
            instance(3, "gamma", spec.clone(), Status::Stopped, 5),
        ]);
        let none = HashMap::new();
        let mut p = InstancesPage::default();
        p.rebuild(&proj, &none, now());
        let ids = |p: &InstancesPage| p.rows.iter().map(|u| u.as_u128()).collect::<Vec<_>>();
        assert_eq!(ids(&p), [2, 1, 3], "by name");
        p.handle_action(Action::Down, 10);
        assert_eq!(p.selected_id, Some(Uuid::from_u128(1)));
        p.marked = [Uuid::from_u128(3), Uuid::from_u128(7)]
            .into_iter()
            .collect();
        p.set_sort(Column::Name, true);
        p.rebuild(&proj, &none, now());
        assert_eq!(ids(&p), [3, 1, 2], "reversed");
        assert_eq!(p.selected, 1, "the selection follows its instance");
        assert_eq!(p.marked.len(), 1, "the mark of an instance gone is dropped");
        p.set_filter("gamma");
        p.rebuild(&proj, &none, now());
        assert_eq!(ids(&p), [3]);
        assert_eq!(
            p.selected_id,
            Some(Uuid::from_u128(3)),
            "hidden: the selection moves"
        );
        assert!(!p.rows_dirty);
    }

    #[test]
    fn a_click_sorts_by_a_header_selects_a_row_and_opens_the_selected_one() {
        let mut p = page(30);
        let mut columns = [None; 9];
        columns[0] = Some((0, 14, Column::Name));
        columns[1] = Some((15, 24, Column::Kind));
        p.geometry = Geometry {
            rows: Rect::new(0, 3, 40, 10),
            first: 5,
            header_y: 2,
            columns,
        };
        assert_eq!(p.click(20, 2), InstancesOutcome::Rebuild);
        assert_eq!((p.sort, p.sort_reverse), (Column::Kind, false));
        p.click(20, 2);
        assert!(p.sort_reverse, "clicking the sorted column reverses it");
        assert_eq!(
            p.click(30, 2),
            InstancesOutcome::Unhandled,
            "no column there"
        );
        assert_eq!(p.click(1, 5), InstancesOutcome::Done);
        assert_eq!(p.selected, 7, "the third row shown, counted from the first");
        assert_eq!(p.click(1, 5), InstancesOutcome::Open, "again: it opens");
        assert_eq!(
            p.click(1, 20),
            InstancesOutcome::Unhandled,
            "below the rows"
        );
    }

    #[test]
    fn keys_go_by_the_keymap() {
        use crossterm::event::{KeyCode, KeyModifiers};
        let vim = Keymap::preset("vim").expect("the vim keymap");
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        let mut p = page(3);
        assert_eq!(p.handle_key(&vim, &key('j'), 10), InstancesOutcome::Done);
        assert_eq!(p.selected, 1);
        p.handle_key(&vim, &key('v'), 10);
        assert!(p.marked.contains(&Uuid::from_u128(2)), "v marks in vim");
        assert_eq!(
            p.handle_key(&vim, &key('Z'), 10),
            InstancesOutcome::Unhandled
        );
    }

    #[test]
    fn back_clears_the_marks_first_then_the_filter() {
        let mut p = page(2);
        p.set_filter("fs");
        p.handle_action(Action::Mark, 10);
        assert_eq!(p.handle_action(Action::Back, 10), InstancesOutcome::Done);
        assert!(p.marked.is_empty());
        assert!(!p.filter.is_empty(), "the filter stays while marks went");
        assert_eq!(p.handle_action(Action::Back, 10), InstancesOutcome::Rebuild);
        assert!(p.filter.is_empty());
        assert_eq!(
            p.handle_action(Action::Open, 10),
            InstancesOutcome::Unhandled,
            "opening is the app's"
        );
    }
}
