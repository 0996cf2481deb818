//! A replica's id: the name one `aacon serve` process goes by among the
//! replicas that share a store (a header value, a metric label, a lease
//! row's owner), so a closed, short set of characters.

/// The header naming the replica that answered, on every answer of
/// `aacon serve`.
pub const REPLICA_HEADER: &str = "x-aacon-replica";

/// Longest replica id (a DNS name's length).
pub const MAX_REPLICA_ID: usize = 253;

/// Why a replica id is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaIdError {
    #[error("a replica id cannot be empty")]
    Empty,
    #[error("the replica id is {0} characters long; at most {MAX_REPLICA_ID} are allowed")]
    TooLong(usize),
    #[error(
        "the replica id '{0}' may hold only letters, digits, '.', '-' and '_' (it is sent in a header and a metric label)"
    )]
    Characters(String),
}

/// A stable name for one `aacon serve` process among its replicas: sent
/// in the `x-aacon-replica` header, the `owner` of the instances it hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaId(String);

impl ReplicaId {
    pub fn new(id: &str) -> Result<ReplicaId, ReplicaIdError> {
        let id = id.trim();
        if id.is_empty() {
            return Err(ReplicaIdError::Empty);
        }
        if id.len() > MAX_REPLICA_ID {
            return Err(ReplicaIdError::TooLong(id.len()));
        }
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(ReplicaIdError::Characters(
                super::text::shown(id).to_string(),
            ));
        }
        Ok(ReplicaId(id.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_ids_are_header_and_label_safe() {
        assert_eq!(ReplicaId::new(" aacon-0 ").unwrap().as_str(), "aacon-0");
        assert_eq!(ReplicaId::new(""), Err(ReplicaIdError::Empty));
        assert!(matches!(
            ReplicaId::new("a b"),
            Err(ReplicaIdError::Characters(_))
        ));
        assert!(matches!(
            ReplicaId::new("x\"}"),
            Err(ReplicaIdError::Characters(_))
        ));
        assert!(matches!(
            ReplicaId::new(&"a".repeat(254)),
            Err(ReplicaIdError::TooLong(254))
        ));
    }
}
