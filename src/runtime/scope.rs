//! Which instances a runtime runs. Without a scope (a console, the
//! background host, `aacon serve` on SQLite) it runs every instance of its
//! store; a replica on PostgreSQL gives it a [`HostScope`]: the instances
//! whose lease the replica holds, each with the lease's generation, which
//! every status report carries (the store refuses a stale one).

use crate::platform::LeaseFence;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use uuid::Uuid;

/// The instances a replica hosts, by lease: shared between the lease
/// driver (which adds and removes) and the runtime (which reads).
#[derive(Clone)]
pub struct HostScope {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    replica: String,
    held: HashMap<Uuid, i64>,
}

impl std::fmt::Debug for HostScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        write!(f, "HostScope({}, {} held)", inner.replica, inner.held.len())
    }
}

impl HostScope {
    /// An empty scope for the replica `replica` (its id in the lease rows).
    pub fn new(replica: impl Into<String>) -> HostScope {
        HostScope {
            inner: Arc::new(Mutex::new(Inner {
                replica: replica.into(),
                held: HashMap::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Each write is one insert or remove: a panic elsewhere cannot
        // leave the map half-written.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn contains(&self, id: Uuid) -> bool {
        self.lock().held.contains_key(&id)
    }

    /// The lease a write for `id` is made under, while it is held.
    pub fn fence(&self, id: Uuid) -> Option<LeaseFence> {
        let inner = self.lock();
        inner.held.get(&id).map(|g| LeaseFence {
            replica: inner.replica.clone(),
            generation: *g,
        })
    }

    /// Host `id` under lease `generation`.
    pub fn insert(&self, id: Uuid, generation: i64) {
        self.lock().held.insert(id, generation);
    }

    /// Stop hosting `id`; whether it was hosted.
    pub fn remove(&self, id: Uuid) -> bool {
        self.lock().held.remove(&id).is_some()
    }

    /// How many instances are hosted.
    pub fn len(&self) -> usize {
        self.lock().held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hosted instances' ids.
    pub fn ids(&self) -> Vec<Uuid> {
        self.lock().held.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_fences_only_what_it_holds() {
        let s = HostScope::new("r1-abc");
        let id = Uuid::new_v4();
        assert!(s.fence(id).is_none());
        s.insert(id, 7);
        assert_eq!(
            s.fence(id),
            Some(LeaseFence {
                replica: "r1-abc".into(),
                generation: 7
            })
        );
        assert!(s.clone().contains(id), "clones share the set");
        assert!(s.remove(id));
        assert!(!s.remove(id));
        assert!(s.is_empty());
    }
}
