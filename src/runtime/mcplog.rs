//! MCP logging through rmcp: `notifications/message` into the instance's
//! log and `logging/setLevel`. rmcp marks logging deprecated (SEP-2577
//! will replace it), but servers log this way today; this file is the one
//! place that speaks it.
#![expect(
    deprecated,
    reason = "servers log with notifications/message and logging/setLevel until SEP-2577"
)]

use super::ring::LogRing;
use crate::platform::LogLevel;
use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam, SetLevelRequestParams};
use rmcp::service::{RoleClient, ServiceError};
use std::sync::Mutex;

/// A `notifications/message` into the instance's log.
pub(super) fn logged(ring: &Mutex<LogRing>, p: &LoggingMessageNotificationParam) {
    if let Ok(mut r) = ring.lock() {
        r.push_mcp(ours(p.level), p.logger.as_deref(), &p.data);
    }
}

/// `logging/setLevel`: the server sends messages from `level` up.
pub(super) async fn set_level(
    peer: &rmcp::Peer<RoleClient>,
    level: LogLevel,
) -> Result<(), ServiceError> {
    peer.set_level(SetLevelRequestParams::new(theirs(level)))
        .await
}

/// The protocol's level for ours (the same eight, by name).
fn theirs(level: LogLevel) -> LoggingLevel {
    match level {
        LogLevel::Debug => LoggingLevel::Debug,
        LogLevel::Info => LoggingLevel::Info,
        LogLevel::Notice => LoggingLevel::Notice,
        LogLevel::Warning => LoggingLevel::Warning,
        LogLevel::Error => LoggingLevel::Error,
        LogLevel::Critical => LoggingLevel::Critical,
        LogLevel::Alert => LoggingLevel::Alert,
        LogLevel::Emergency => LoggingLevel::Emergency,
    }
}

fn ours(level: LoggingLevel) -> LogLevel {
    match level {
        LoggingLevel::Debug => LogLevel::Debug,
        LoggingLevel::Info => LogLevel::Info,
        LoggingLevel::Notice => LogLevel::Notice,
        LoggingLevel::Warning => LogLevel::Warning,
        LoggingLevel::Error => LogLevel::Error,
        LoggingLevel::Critical => LogLevel::Critical,
        LoggingLevel::Alert => LogLevel::Alert,
        LoggingLevel::Emergency => LogLevel::Emergency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_goes_there_and_back() {
        for l in LogLevel::ALL {
            assert_eq!(ours(theirs(l)), l);
        }
    }
}
