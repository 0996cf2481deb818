//! An instance's call history through `aacon serve`'s routes (aacon
//! extensions; AgentArea keeps no call history and says 404).

use super::ApiPlatform;
use super::wire::ErrorBody;
use crate::platform::history::CallRecord;
use crate::platform::{PlatformError, Result};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use uuid::Uuid;

#[derive(serde::Deserialize)]
struct Calls {
    calls: Vec<CallRecord>,
}

impl ApiPlatform {
    /// [`crate::platform::Platform::history`] over the API.
    pub(super) async fn call_history(&self, id: Uuid, limit: usize) -> Result<Vec<CallRecord>> {
        let mut url = self.inner.url(&format!("/{id}/history"));
        url.query_pairs_mut()
            .append_pair("limit", &limit.to_string());
        let r = self.inner.get_url(url, HeaderMap::new()).await?;
        if r.status == StatusCode::NOT_FOUND && self.inner.is_missing_route(&r) {
            return Err(self.no_history());
        }
        let calls: Calls = self
            .inner
            .expect_ok(r, "reading the call history", Some(id))?;
        Ok(calls.calls)
    }

    /// [`crate::platform::Platform::history_call`] over the API.
    pub(super) async fn call_record(&self, id: Uuid, call: i64) -> Result<CallRecord> {
        let r = self
            .inner
            .get(&format!("/{id}/history/{call}"), HeaderMap::new())
            .await?;
        if r.status == StatusCode::NOT_FOUND && self.inner.is_missing_route(&r) {
            return Err(self.no_history());
        }
        if r.status == StatusCode::NOT_FOUND
            && let Some(why) = serde_json::from_slice::<ErrorBody>(&r.body)
                .ok()
                .and_then(|b| b.sentence())
        {
            return Err(PlatformError::NotFound(why));
        }
        self.inner.expect_ok(r, "reading a recorded call", Some(id))
    }

    fn no_history(&self) -> PlatformError {
        PlatformError::Unavailable(format!(
            "the API at {} keeps no call history (AgentArea has no such route; `aacon serve` records every call)",
            self.inner.shown
        ))
    }
}
