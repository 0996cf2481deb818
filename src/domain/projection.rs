//! The read model: instances as a stream of envelopes says they are.
//!
//! Applying is idempotent and order-insensitive: duplicates (same
//! `event_id`) are ignored, and each group of fields (configuration, desired
//! state, observed status) takes its value from the event with the highest
//! `aggregate_version` that touched it, so at-least-once delivery in any
//! order converges on the same state as the ordered, de-duplicated stream.
//! Events without an `aggregate_version` (AgentArea's own) apply in arrival
//! order.

use super::event::{Envelope, EventType};
use super::instance::Instance;
use super::probe::shown_status;
use super::status::{DesiredState, Status};
use super::status_event::{StatusEvent, StatusFields};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A map keyed by instance or event id with a fast hasher (foldhash,
/// seeded per process): SipHash of a 16-byte id was a measurable part of
/// applying one status report, and these maps are looked up several times
/// per event.
pub type IdMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
/// The set of the same.
pub type IdSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// What applying one envelope did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The instance changed; these field groups moved.
    Changed { id: Uuid, fields: ChangedFields },
    /// The instance is gone.
    Removed(Uuid),
    /// Seen before, or older than what we hold.
    Ignored,
    /// An event that names no instance we can place (AgentArea's empty
    /// `Updated`): the caller should refresh from the source of truth.
    NeedsRefresh,
    /// Not an instance event we understand; shown raw, changes nothing.
    Unknown,
}

/// Which groups of fields an event moved, for highlighting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangedFields {
    pub config: bool,
    pub desired: bool,
    pub status: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct GroupVersions {
    config: u64,
    desired: u64,
    status: u64,
}

/// The projection of all instances.
#[derive(Debug, Default, Clone)]
pub struct Projection {
    /// Boxed: the table's slots (about 1.3 per instance at its load) are
    /// then a pointer each, not a whole `Instance` (~280 bytes), and a
    /// growing table moves pointers.
    instances: IdMap<Uuid, Box<Instance>>,
    versions: IdMap<Uuid, GroupVersions>,
    /// Deleted aggregates and the version that deleted them.
    tombstones: IdMap<Uuid, u64>,
    seen: Seen,
    /// Instances per shown status, in `Status::ALL` order, kept as they
    /// change (the console's header reads it every frame: a count of 100k
    /// instances per frame was most of what a frame cost at that size).
    counts: StatusCounts,
}

/// How many instances show each status, in `Status::ALL` order.
pub type StatusCounts = [usize; Status::ALL.len()];

fn status_slot(i: &Instance) -> usize {
    let st = shown_status(i);
    Status::ALL.iter().position(|s| *s == st).unwrap_or(0)
}

/// Count `i` in (`+1`) or out.
fn count(counts: &mut StatusCounts, i: &Instance, add: bool) {
    let slot = &mut counts[status_slot(i)];
    *slot = if add {
        *slot + 1
    } else {
        slot.saturating_sub(1)
    };
}

/// How many recent event ids the projection remembers for de-duplication,
/// at most: two generations of [`SEEN_CAP`]` / 2` ids, each as many as fill
/// a hash table of 2^16 slots (it grows at 7/8 full).
pub const SEEN_CAP: usize = 114_688;

/// Event ids already applied (the same event can arrive twice: from the
/// event-log tail and from Redis). Bounded to the newest ids: at least
/// [`SEEN_CAP`]` / 2`, at most [`SEEN_CAP`]. The second copy arrives close
/// behind the first, and an older replay of a versioned event is stale by
/// its aggregate version anyway. Ids are kept in two generations: the
/// current one takes new ids, and once it holds `cap / 2` it becomes the
/// previous one and the previous one is forgotten, so there is no ring of
/// ids beside the tables (half the memory of one table and a ring, and
/// the tables' allocations are reused). UUID ids (ours) are kept as 16
/// bytes (about 17 bytes each with the table), without an allocation per
/// event; other ids (AgentArea's `evt_…`) as text, in generations of their
/// own of the same size.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The current and the previous generation.
    uuids: [IdSet<[u64; 2]>; 2],
    texts: [HashSet<Box<str>>; 2],
    cap: usize,
}

impl Default for Seen {
    fn default() -> Seen {
        Seen::with_cap(SEEN_CAP)
    }
}

/// Insert `key` into the current generation of `gens` unless either holds
/// it (false then); a full current generation becomes the previous one
/// first (the previous one's ids are forgotten, its table reused).
fn remember<K, Q, S>(
    gens: &mut [HashSet<K, S>; 2],
    half: usize,
    key: &Q,
    own: impl FnOnce() -> K,
) -> bool
where
    K: std::hash::Hash + Eq + std::borrow::Borrow<Q>,
    Q: std::hash::Hash + Eq + ?Sized,
    S: std::hash::BuildHasher,
{
    if gens[0].contains(key) || gens[1].contains(key) {
        return false;
    }
    if gens[0].len() >= half {
        gens.swap(0, 1);
        gens[0].clear();
    }
    gens[0].insert(own());
    true
}

impl Seen {
    /// Remembering the newest `cap / 2` to `cap` ids (of each form).
    pub fn with_cap(cap: usize) -> Seen {
        Seen {
            uuids: Default::default(),
            texts: Default::default(),
            cap,
        }
    }

    /// Ids per generation.
    fn half(&self) -> usize {
        (self.cap / 2).max(1)
    }

    /// False when `id` was seen already.
    pub fn insert(&mut self, id: &str) -> bool {
        match Uuid::try_parse(id) {
            Ok(u) => self.insert_uuid(u),
            Err(_) => {
                let half = self.half();
                remember(&mut self.texts, half, id, || id.into())
            }
        }
    }

    /// The same for an id already read as a UUID (a compact record's).
    pub fn insert_uuid(&mut self, id: Uuid) -> bool {
        let (hi, lo) = id.as_u64_pair();
        let key = [hi, lo];
        let half = self.half();
        remember(&mut self.uuids, half, &key, || key)
    }

    pub fn len(&self) -> usize {
        self.uuids.iter().map(HashSet::len).sum::<usize>()
            + self.texts.iter().map(HashSet::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Projection {
    pub fn new() -> Self {
        Self::default()
    }

    /// Seed from a snapshot (a list call); events at or below each
    /// instance's `aggregate_version` are then stale.
    pub fn seed(&mut self, instances: impl IntoIterator<Item = Instance>) {
        let instances = instances.into_iter();
        // At once: no chain of rehashes, each holding two tables.
        let more = instances.size_hint().0;
        self.instances.reserve(more);
        self.versions.reserve(more);
        for mut inst in instances {
            inst.json_spec = compact_spec(&inst.json_spec);
            let v = inst.aggregate_version;
            self.versions.insert(
                inst.id,
                GroupVersions {
                    config: v,
                    desired: v,
                    status: v,
                },
            );
            count(&mut self.counts, &inst, true);
            if let Some(old) = self.instances.insert(inst.id, Box::new(inst)) {
                count(&mut self.counts, &old, false);
            }
        }
    }

    /// Replace everything with a fresh snapshot (after a refresh).
    pub fn reset(&mut self, instances: impl IntoIterator<Item = Instance>) {
        self.instances.clear();
        self.counts = StatusCounts::default();
        self.versions.clear();
        self.tombstones.clear();
        self.seed(instances);
    }

    pub fn get(&self, id: &Uuid) -> Option<&Instance> {
        self.instances.get(id).map(Box::as_ref)
    }

    /// The name of an event's instance: carried by the event, else the
    /// name of the instance it is about, when known.
    pub fn name_of<'a>(&'a self, e: &'a Envelope) -> Option<&'a str> {
        e.instance_name().or_else(|| {
            e.instance_id()
                .and_then(|id| self.get(&id))
                .map(|i| i.name.as_str())
        })
    }

    pub fn len(&self) -> usize {
        self.instances.len()
    }

    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.instances.values().map(Box::as_ref)
    }

    /// How many instances show each status, in `Status::ALL` order
    /// (kept as they change: no pass over the instances).
    pub fn counts(&self) -> StatusCounts {
        debug_assert_eq!(self.counts, self.recount(), "status counts drifted");
        self.counts
    }

    /// The counts by a pass over every instance.
    fn recount(&self) -> StatusCounts {
        let mut c = StatusCounts::default();
        for i in self.instances.values() {
            count(&mut c, i, true);
        }
        c
    }

    /// Instances sorted by name, then id (a stable order for comparisons).
    pub fn sorted(&self) -> Vec<&Instance> {
        let mut v: Vec<&Instance> = self.instances().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        v
    }

    pub fn apply(&mut self, env: &Envelope) -> Applied {
        let Some(kind) = env.kind() else {
            return Applied::Unknown;
        };
        if !self.seen.insert(&env.event_id) {
            return Applied::Ignored;
        }
        let Some(id) = env.instance_id() else {
            return Applied::NeedsRefresh;
        };
        let version = env.aggregate_version;
        if let (Some(dead_at), Some(v)) = (self.tombstones.get(&id), version)
            && (v <= *dead_at || kind != EventType::Deleted)
        {
            return Applied::Ignored;
        }
        if kind == EventType::Deleted {
            self.tombstones.insert(id, version.unwrap_or(u64::MAX));
            self.versions.remove(&id);
            return match self.instances.remove(&id) {
                Some(gone) => {
                    count(&mut self.counts, &gone, false);
                    Applied::Removed(id)
                }
                None => Applied::Ignored,
            };
        }
        let data = env.data.as_object();
        let known = self.instances.contains_key(&id);
        if !known && data.is_none_or(|d| d.get("name").and_then(Value::as_str).is_none()) {
            // Nothing to show for an instance we have never heard of.
            return Applied::NeedsRefresh;
        }
        let gv = self.versions.entry(id).or_default();
        let inst = self
            .instances
            .entry(id)
            .or_insert_with(|| Box::new(placeholder(id, env.timestamp)));
        // Counted out as it was, in again as it is once applied.
        if known {
            count(&mut self.counts, inst, false);
        }
        let newer = |held: &mut u64| match version {
            Some(v) if v <= *held => false,
            Some(v) => {
                *held = v;
                true
            }
            None => true,
        };
        let mut changed = ChangedFields::default();
        let empty = Map::new();
        let data = data.unwrap_or(&empty);
        if let Some(v) = version {
            inst.aggregate_version = inst.aggregate_version.max(v);
        }
        match kind {
            EventType::Created | EventType::Updated => {
                if kind == EventType::Created {
                    inst.created_at = env.timestamp;
                }
                if newer(&mut gv.config) {
                    apply_config(inst, data, env);
                    changed.config = true;
                }
                if kind == EventType::Created && newer(&mut gv.desired) {
                    if let Some(d) = desired(data) {
                        inst.desired_state = d;
                    }
                    changed.desired = true;
                }
                if kind == EventType::Created && newer(&mut gv.status) {
                    if let Some(s) = status(data) {
                        inst.status = s;
                    }
                    changed.status = true;
                }
            }
            EventType::Started | EventType::Stopped => {
                if newer(&mut gv.desired) {
                    inst.desired_state = if kind == EventType::Started {
                        DesiredState::Running
                    } else {
                        DesiredState::Stopped
                    };
                    changed.desired = true;
                }
            }
            EventType::StatusChanged | EventType::Error => {
                if newer(&mut gv.status) {
                    apply_status(inst, &StatusFields::of_map(data), kind, env.timestamp);
                    changed.status = true;
                }
            }
            EventType::Deleted => unreachable_deleted(),
        }
        count(&mut self.counts, inst, true);
        if changed == ChangedFields::default() {
            Applied::Ignored
        } else {
            Applied::Changed {
                id,
                fields: changed,
            }
        }
    }
}

impl Projection {
    /// [`Projection::apply`] for a compact status report: the same rules,
    /// without reading a JSON body (`apply(&s.to_envelope())` gives the
    /// same result and state).
    pub fn apply_status(&mut self, s: &StatusEvent) -> Applied {
        if !self.seen.insert_uuid(s.event_id) {
            return Applied::Ignored;
        }
        let Some(id) = s.instance_id() else {
            return Applied::NeedsRefresh;
        };
        let version = s.aggregate_version;
        if version.is_some() && self.tombstones.contains_key(&id) {
            return Applied::Ignored;
        }
        // One lookup of the instance (this runs per status report).
        let inst = match self.instances.entry(id) {
            std::collections::hash_map::Entry::Occupied(o) => {
                // Counted out as it was, in again as it is once applied.
                let inst = o.into_mut();
                count(&mut self.counts, inst, false);
                inst
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                if s.instance_name().is_none() {
                    return Applied::NeedsRefresh;
                }
                v.insert(Box::new(placeholder(id, s.timestamp)))
            }
        };
        let gv = self.versions.entry(id).or_default();
        if let Some(v) = version {
            inst.aggregate_version = inst.aggregate_version.max(v);
            if v <= gv.status {
                count(&mut self.counts, inst, true);
                return Applied::Ignored;
            }
            gv.status = v;
        }
        apply_status(inst, &s.fields(), s.kind(), s.timestamp);
        count(&mut self.counts, inst, true);
        Applied::Changed {
            id,
            fields: ChangedFields {
                status: true,
                ..ChangedFields::default()
            },
        }
    }
}

/// A projection without its de-duplication memory: what a snapshot keeps.
/// (The event log holds each event id once, so replaying forward from a
/// snapshot needs no memory of the ids before it.)
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProjectionState {
    instances: Vec<Instance>,
    /// Per instance: the versions that last touched configuration, desired
    /// state and status.
    versions: Vec<(Uuid, [u64; 3])>,
    tombstones: Vec<(Uuid, u64)>,
}

impl Projection {
    /// What a snapshot of this projection keeps (sorted, so equal
    /// projections give equal states).
    pub fn to_state(&self) -> ProjectionState {
        let mut versions: Vec<(Uuid, [u64; 3])> = self
            .versions
            .iter()
            .map(|(id, g)| (*id, [g.config, g.desired, g.status]))
            .collect();
        versions.sort_unstable_by_key(|(id, _)| *id);
        let mut tombstones: Vec<(Uuid, u64)> =
            self.tombstones.iter().map(|(id, v)| (*id, *v)).collect();
        tombstones.sort_unstable_by_key(|(id, _)| *id);
        ProjectionState {
            instances: self.sorted().into_iter().cloned().collect(),
            versions,
            tombstones,
        }
    }

    /// A projection that continues from a snapshot.
    pub fn from_state(state: ProjectionState) -> Projection {
        let mut p = Projection {
            instances: state
                .instances
                .into_iter()
                .map(|i| (i.id, Box::new(i)))
                .collect(),
            versions: state
                .versions
                .into_iter()
                .map(|(id, [config, desired, status])| {
                    (
                        id,
                        GroupVersions {
                            config,
                            desired,
                            status,
                        },
                    )
                })
                .collect(),
            tombstones: state.tombstones.into_iter().collect(),
            seen: Seen::default(),
            counts: StatusCounts::default(),
        };
        p.counts = p.recount();
        p
    }
}

#[inline]
fn unreachable_deleted() {
    // Deleted returns early above; nothing to do here.
}

fn placeholder(id: Uuid, at: DateTime<Utc>) -> Instance {
    Instance {
        id,
        name: String::new(),
        description: None,
        server_spec_id: None,
        json_spec: Map::new(),
        status: Status::Pending,
        status_reason: None,
        desired_state: DesiredState::Stopped,
        created_at: at,
        updated_at: at,
        version: 0,
        aggregate_version: 0,
        updated_by: None,
        last_healthy_at: None,
        tool_count: None,
        restarts: 0,
    }
}

fn str_field<'a>(d: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    d.get(k).and_then(Value::as_str)
}

fn desired(d: &Map<String, Value>) -> Option<DesiredState> {
    str_field(d, "desired_state").and_then(|s| s.parse().ok())
}

fn status(d: &Map<String, Value>) -> Option<Status> {
    str_field(d, "status").and_then(Status::from_foreign)
}

fn apply_config(inst: &mut Instance, d: &Map<String, Value>, env: &Envelope) {
    if let Some(n) = str_field(d, "name") {
        inst.name = n.to_string();
    }
    if let Some(v) = d.get("description") {
        inst.description = v.as_str().map(str::to_string);
    }
    if let Some(v) = d.get("server_spec_id") {
        inst.server_spec_id = v.as_str().map(str::to_string);
    }
    if let Some(Value::Object(spec)) = d.get("json_spec") {
        inst.json_spec = compact_spec(spec);
    }
    if let Some(v) = d.get("version").and_then(Value::as_u64) {
        inst.version = v;
    }
    if let Some(v) = d.get("updated_by") {
        inst.updated_by = v.as_str().map(str::to_string);
    }
    inst.updated_at = env.timestamp;
}

/// A copy of a json_spec without spare capacity, as the projection keeps
/// it for as long as the instance lives: a parsed map grows its entries
/// four at a time (a one-key spec held 4 slots of 64 bytes) and arrays by
/// doubling. The same keys, values and order.
pub fn compact_spec(spec: &Map<String, Value>) -> Map<String, Value> {
    spec.iter()
        .map(|(k, v)| (k.clone(), compact_value(v)))
        .collect()
}

fn compact_value(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(compact_spec(m)),
        Value::Array(a) => Value::Array(a.iter().map(compact_value).collect()),
        other => other.clone(),
    }
}

fn apply_status(inst: &mut Instance, d: &StatusFields, kind: EventType, at: DateTime<Utc>) {
    let reason = d.reason.or(d.error);
    match d.status.and_then(Status::from_foreign) {
        Some(s) => inst.status = s,
        None if kind == EventType::Error => inst.status = Status::Error,
        None => {}
    }
    // Free-text status from a foreign manager is kept as the reason.
    let foreign_text = d.status.filter(|s| Status::from_foreign(s).is_none());
    let reason = reason.or(foreign_text);
    if inst.status_reason.as_deref() != reason {
        inst.status_reason = reason.map(str::to_string);
    }
    if let Some(n) = d.tool_count {
        inst.tool_count = n.map(|n| n.min(u32::MAX as u64) as u32);
    }
    if let Some(n) = d.restarts {
        inst.restarts = n.min(u32::MAX as u64) as u32;
    }
    if let Some(t) = d.last_healthy_at {
        inst.last_healthy_at = t;
    } else if inst.status == Status::Running {
        inst.last_healthy_at = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::instance::Instance;
    use proptest::prelude::*;
    use serde_json::json;

    fn inst(name: &str) -> Instance {
        let mut i = placeholder(Uuid::new_v4(), Utc::now());
        i.name = name.into();
        i.json_spec = json!({"command": ["x"]}).as_object().unwrap().clone();
        i
    }

    /// A plausible history for one instance: created, updates, starts,
    /// stops, status reports, each bumping the aggregate version.
    fn history(base: &Instance, steps: &[u8]) -> Vec<Envelope> {
        let mut cur = base.clone();
        cur.aggregate_version = 1;
        cur.version = 1;
        let mut out = vec![Envelope::created(&cur, None)];
        for (n, step) in steps.iter().enumerate() {
            cur.aggregate_version += 1;
            let e = match step % 5 {
                0 => {
                    cur.version += 1;
                    cur.description = Some(format!("d{n}"));
                    Envelope::updated(&cur, &["description"], None)
                }
                1 => {
                    cur.desired_state = DesiredState::Running;
                    Envelope::started(&cur, None)
                }
                2 => {
                    cur.desired_state = DesiredState::Stopped;
                    Envelope::stopped(&cur, None)
                }
                3 => {
                    let prev = cur.status;
                    cur.status = Status::ALL[n % Status::ALL.len()];
                    cur.restarts = n as u32;
                    Envelope::status_changed(&cur, prev, None)
                }
                _ => {
                    cur.status = Status::Error;
                    Envelope::error(&cur, &format!("e{n}"), None)
                }
            };
            out.push(e);
        }
        out
    }

    type Fingerprint = (
        String,
        Option<String>,
        u64,
        Status,
        DesiredState,
        u32,
        Option<String>,
    );

    fn fingerprint(p: &Projection) -> Vec<Fingerprint> {
        p.sorted()
            .into_iter()
            .map(|i| {
                (
                    i.name.clone(),
                    i.description.clone(),
                    i.version,
                    i.status,
                    i.desired_state,
                    i.restarts,
                    i.status_reason.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn duplicates_are_ignored() {
        let i = inst("a");
        let evs = history(&i, &[0, 1, 3]);
        let mut p = Projection::new();
        for e in &evs {
            p.apply(e);
        }
        assert_eq!(p.apply(&evs[1]), Applied::Ignored);
        assert_eq!(p.get(&i.id).unwrap().desired_state, DesiredState::Running);
    }

    #[test]
    fn an_unversioned_event_arriving_twice_applies_once() {
        let i = inst("a");
        let mut p = Projection::new();
        p.seed([i.clone()]);
        for id in ["evt_foreign_1", &Uuid::new_v4().to_string()] {
            let mut e = Envelope::status_changed(&i, Status::Pending, None);
            e.aggregate_version = None;
            e.event_id = id.to_string();
            assert!(matches!(p.apply(&e), Applied::Changed { .. }), "{id}");
            assert_eq!(p.apply(&e), Applied::Ignored, "{id}");
        }
    }

    #[test]
    fn the_dedupe_memory_is_bounded_to_the_newest_ids() {
        let mut seen = Seen::default();
        let first = Uuid::new_v4().to_string();
        assert!(seen.insert(&first));
        let ids: Vec<String> = (0..SEEN_CAP).map(|_| Uuid::new_v4().to_string()).collect();
        for id in &ids[..SEEN_CAP - 1] {
            assert!(seen.insert(id));
        }
        // Two full generations: every id so far is remembered.
        assert_eq!(seen.len(), SEEN_CAP);
        assert!(!seen.insert(&first));
        assert!(!seen.insert(&ids[1]));
        // One more starts a generation: the oldest half is let go, the
        // newest SEEN_CAP / 2 are remembered.
        assert!(seen.insert(&ids[SEEN_CAP - 1]));
        assert_eq!(seen.len(), SEEN_CAP / 2 + 1);
        assert!(!seen.insert(&ids[SEEN_CAP - 1]));
        assert!(!seen.insert(&ids[SEEN_CAP / 2]));
        assert!(seen.insert(&first));
        assert!(seen.insert(&ids[1]));
        // Neither generation's table grew past 2^16 slots.
        assert!(seen.uuids.iter().all(|g| g.capacity() <= SEEN_CAP / 2));
        // Text ids the same way.
        let mut seen = Seen::with_cap(4);
        for id in ["evt_1", "evt_2", "evt_3", "evt_4"] {
            assert!(seen.insert(id));
        }
        assert!(!seen.insert("evt_3"));
        assert!(!seen.insert("evt_4"));
        assert!(seen.insert("evt_5"));
        assert!(seen.insert("evt_1"), "evt_1 fell out of the window");
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn the_projection_keeps_specs_compact_and_unchanged() {
        let spec: Map<String, Value> = serde_json::from_str(
            r#"{"command":"npx","args":["-y","@scope/server","--flag"],"env":{"B":"2","A":"1"},"n":1.5,"t":true,"z":null}"#,
        )
        .unwrap();
        let copy = compact_spec(&spec);
        assert_eq!(copy, spec);
        assert_eq!(
            serde_json::to_string(&copy).unwrap(),
            serde_json::to_string(&spec).unwrap(),
            "the keys keep their order"
        );
        let Some(Value::Array(args)) = copy.get("args") else {
            panic!("args")
        };
        assert_eq!(args.capacity(), args.len());
        let mut i = inst("a");
        i.json_spec = spec.clone();
        let mut p = Projection::new();
        p.seed([i.clone()]);
        assert_eq!(p.get(&i.id).unwrap(), &i);
    }

    #[test]
    fn stale_versions_are_ignored() {
        let i = inst("a");
        let evs = history(&i, &[1, 2]);
        let mut p = Projection::new();
        p.apply(&evs[0]);
        p.apply(&evs[2]); // stopped, v3
        let mut stale = evs[1].clone(); // started, v2, under a new id
        stale.event_id = "other".into();
        assert_eq!(p.apply(&stale), Applied::Ignored);
        assert_eq!(p.get(&i.id).unwrap().desired_state, DesiredState::Stopped);
    }

    #[test]
    fn delete_is_final() {
        let i = inst("a");
        let mut cur = i.clone();
        cur.aggregate_version = 1;
        let c = Envelope::created(&cur, None);
        cur.aggregate_version = 2;
        let d = Envelope::deleted(&cur, None);
        let mut p = Projection::new();
        p.apply(&d);
        p.apply(&c);
        assert!(p.is_empty());
    }

    #[test]
    fn status_counts_follow_every_change() {
        let slot = |st: Status| Status::ALL.iter().position(|s| *s == st).unwrap();
        let mut a = inst("a");
        a.status = Status::Running;
        a.aggregate_version = 1;
        let mut b = inst("b");
        b.status = Status::Error;
        b.aggregate_version = 1;
        let mut p = Projection::new();
        p.seed([a.clone(), b.clone()]);
        assert_eq!(p.counts()[slot(Status::Running)], 1);
        assert_eq!(p.counts()[slot(Status::Error)], 1);
        // Seeding the same instance again replaces it: still one.
        p.seed([a.clone()]);
        assert_eq!(p.counts().iter().sum::<usize>(), 2);
        // A status change moves it from one count to the other.
        let mut next = a.clone();
        next.status = Status::Unhealthy;
        next.aggregate_version = 2;
        p.apply(&Envelope::status_changed(&next, Status::Running, None));
        assert_eq!(p.counts()[slot(Status::Running)], 0);
        assert_eq!(p.counts()[slot(Status::Unhealthy)], 1);
        // A stale one changes nothing.
        let mut stale = a.clone();
        stale.status = Status::Stopped;
        p.apply(&Envelope::status_changed(&stale, Status::Running, None));
        assert_eq!(p.counts()[slot(Status::Unhealthy)], 1);
        // Deleted: counted out.
        b.aggregate_version = 2;
        p.apply(&Envelope::deleted(&b, None));
        assert_eq!(p.counts()[slot(Status::Error)], 0);
        assert_eq!(p.counts().iter().sum::<usize>(), 1);
        // A snapshot round trip and a reset recount.
        let q = Projection::from_state(p.to_state());
        assert_eq!(q.counts(), p.counts());
        p.reset([b.clone()]);
        assert_eq!(p.counts()[slot(Status::Error)], 1);
        assert_eq!(p.counts().iter().sum::<usize>(), 1);
    }

    #[test]
    fn empty_agentarea_update_asks_for_refresh() {
        let raw = r#"{"event_id": "e1", "timestamp": "1795522904.707781", "event_type": "MCPServerInstanceUpdated", "data": {}}"#;
        let e: Envelope = serde_json::from_str(raw).unwrap();
        assert_eq!(Projection::new().apply(&e), Applied::NeedsRefresh);
        let unknown: Envelope = serde_json::from_str(
            r#"{"event_id": "e2", "timestamp": "1", "event_type": "SomethingElse", "data": {}}"#,
        )
        .unwrap();
        assert_eq!(Projection::new().apply(&unknown), Applied::Unknown);
    }

    #[test]
    fn foreign_free_text_status_is_kept_as_reason() {
        let i = inst("a");
        let mut p = Projection::new();
        p.seed([i.clone()]);
        let e: Envelope = serde_json::from_value(json!({"event_id": "evt_1", "timestamp": "2026-11-24T12:21:44Z", "event_type": "MCPServerInstanceStatusChanged",
            "data": {"instance_id": i.id.to_string(), "name": "a", "status": "pulling image"}})).unwrap();
        assert!(matches!(p.apply(&e), Applied::Changed { .. }));
        assert_eq!(
            p.get(&i.id).unwrap().status_reason.as_deref(),
            Some("pulling image")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_order_with_duplicates_converges(
            steps_a in proptest::collection::vec(any::<u8>(), 0..12),
            steps_b in proptest::collection::vec(any::<u8>(), 0..12),
            order in proptest::collection::vec(any::<u32>(), 0..64),
            dups in proptest::collection::vec(any::<u32>(), 0..16),
        ) {
            let a = inst("a");
            let b = inst("b");
            let mut evs = history(&a, &steps_a);
            evs.extend(history(&b, &steps_b));

            let mut ordered = Projection::new();
            for e in &evs {
                ordered.apply(e);
            }

            // Shuffle deterministically from `order`, then sprinkle duplicates.
            let mut shuffled = evs.clone();
            for (i, r) in order.iter().enumerate() {
                let n = shuffled.len();
                shuffled.swap(i % n, (*r as usize) % n);
            }
            for d in &dups {
                let e = evs[(*d as usize) % evs.len()].clone();
                let at = (*d as usize) % (shuffled.len() + 1);
                shuffled.insert(at, e);
            }
            let mut chaotic = Projection::new();
            for e in &shuffled {
                chaotic.apply(e);
            }
            prop_assert_eq!(fingerprint(&ordered), fingerprint(&chaotic));
            // The counts kept as events apply are the counts of what is there.
            prop_assert_eq!(chaotic.counts, chaotic.recount());
            prop_assert_eq!(ordered.counts, ordered.recount());
        }

        #[test]
        fn a_compact_status_report_applies_as_its_envelope(
            steps in proptest::collection::vec(any::<u8>(), 0..16),
            order in proptest::collection::vec(any::<u32>(), 0..32),
            dups in proptest::collection::vec(any::<u32>(), 0..8),
        ) {
            let a = inst("a");
            let mut evs = history(&a, &steps);
            for (i, r) in order.iter().enumerate() {
                let n = evs.len();
                evs.swap(i % n, (*r as usize) % n);
            }
            for d in &dups {
                let e = evs[(*d as usize) % evs.len()].clone();
                evs.push(e);
            }
            // As they arrive: from their JSON.
            let evs: Vec<Envelope> = evs
                .iter()
                .map(|e| serde_json::from_str(&e.to_json()).unwrap())
                .collect();
            let mut taken = 0;
            let mut names = crate::domain::status_event::Names::default();
            let (mut full, mut compact) = (Projection::new(), Projection::new());
            for e in &evs {
                let want = full.apply(e);
                let got = match StatusEvent::from_envelope(e, &mut names) {
                    Some(s) => {
                        taken += 1;
                        compact.apply_status(&s)
                    }
                    None => compact.apply(e),
                };
                prop_assert_eq!(want, got);
            }
            let state = |p: &Projection| serde_json::to_string(&p.to_state()).unwrap();
            prop_assert_eq!(state(&full), state(&compact));
            // The kept counts follow the compact path as they follow the full one.
            prop_assert_eq!(compact.counts, compact.recount());
            prop_assert_eq!(compact.counts, full.counts);
            let reports = evs
                .iter()
                .filter(|e| matches!(e.kind(), Some(EventType::StatusChanged | EventType::Error)))
                .count();
            prop_assert_eq!(taken, reports, "every status report of ours is taken compact");
        }
    }
}
