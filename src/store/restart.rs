//! Restart: a stop and a start committed together under one correlation id.

use super::{Store, db_err};
use crate::domain::{DesiredState, Envelope, Instance};
use crate::platform::Result;
use uuid::Uuid;

impl Store {
    /// Record a stop, then a start, of one instance in one transaction and
    /// under one correlation id (both events or neither). The runtime host
    /// sees the stop while the instance is desired running again, and
    /// replaces its session. Returns the instance and the start event.
    pub fn restart(
        &mut self,
        id: Uuid,
        correlation_id: Option<String>,
    ) -> Result<(Instance, Envelope)> {
        self.group(|s| {
            // A savepoint of our own: inside a group each command commits
            // its own savepoint, and a restart is both commands or neither.
            s.conn
                .execute_batch("SAVEPOINT aacon_restart")
                .map_err(db_err)?;
            let both = s
                .set_desired(id, DesiredState::Stopped, correlation_id.clone())
                .and_then(|_| s.set_desired(id, DesiredState::Running, correlation_id));
            let end = if both.is_ok() {
                "RELEASE aacon_restart"
            } else {
                "ROLLBACK TO aacon_restart; RELEASE aacon_restart"
            };
            s.conn.execute_batch(end).map_err(db_err)?;
            both
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EventType, NewInstance};
    use crate::platform::{EventQuery, PlatformError};

    fn store_with(name: &str) -> (Store, Instance) {
        let mut s = Store::open_in_memory("test").unwrap();
        let (inst, _) = s
            .create(
                NewInstance {
                    name: name.into(),
                    description: None,
                    server_spec_id: None,
                    json_spec: serde_json::json!({"command": ["mcp-server"]}),
                },
                None,
            )
            .unwrap();
        (s, inst)
    }

    #[test]
    fn a_restart_records_a_stop_and_a_start_under_one_correlation_id() {
        let (mut s, inst) = store_with("alpha");
        s.set_desired(inst.id, DesiredState::Running, None).unwrap();
        let (after, env) = s.restart(inst.id, Some("corr-r".into())).unwrap();
        assert_eq!(after.desired_state, DesiredState::Running);
        assert_eq!(env.kind(), Some(EventType::Started));
        let events = s.events(&EventQuery::default()).unwrap();
        let last: Vec<_> = events.iter().rev().take(2).rev().collect();
        assert_eq!(last[0].kind(), Some(EventType::Stopped));
        assert_eq!(last[1].kind(), Some(EventType::Started));
        assert!(
            last.iter()
                .all(|e| e.correlation_id.as_deref() == Some("corr-r"))
        );
        assert!(last[0].aggregate_version < last[1].aggregate_version);
    }

    #[test]
    fn restarting_an_unknown_instance_changes_nothing() {
        let (mut s, _) = store_with("alpha");
        let before = s.events(&EventQuery::default()).unwrap().len();
        let err = s.restart(Uuid::new_v4(), None).unwrap_err();
        assert!(matches!(err, PlatformError::NotFound(_)), "{err:?}");
        assert_eq!(s.events(&EventQuery::default()).unwrap().len(), before);
    }
}
