//! An instance's call history through `aacon serve`'s routes (aacon
//! extensions; AgentArea keeps no call history and says 404).

use super::ApiPlatform;
use super::wire::ErrorBody;
use crate::platform::history::CallRecord;
use crate::platform::profile::Route;
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
        if let Some(why) = self.lacks(Route::CallHistory).await {
            return Err(PlatformError::Unavailable(why));
        }
        let mut url = self.inner.url(&format!("/{id}/history"));
        url.query_pairs_mut()
            .append_pair("limit", &limit.to_string());
        let r = self.inner.get_url(url, HeaderMap::new()).await?;
        if r.status == StatusCode::NOT_FOUND && self.inner.is_missing_route(&r) {
            return Err(self.no_history().await);
        }
        let calls: Calls = self
            .inner
            .expect_ok(r, "reading the call history", Some(id))?;
        Ok(calls.calls)
    }

    /// [`crate::platform::Platform::history_call`] over the API.
    pub(super) async fn call_record(&self, id: Uuid, call: i64) -> Result<CallRecord> {
        if let Some(why) = self.lacks(Route::CallHistory).await {
            return Err(PlatformError::Unavailable(why));
        }
        let r = self
            .inner
            .get(&format!("/{id}/history/{call}"), HeaderMap::new())
            .await?;
        if r.status == StatusCode::NOT_FOUND && self.inner.is_missing_route(&r) {
            return Err(self.no_history().await);
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

    /// The server answered that it has no history route: remember it, so
    /// the next read asks nothing.
    async fn no_history(&self) -> PlatformError {
        self.route_missing(Route::CallHistory);
        PlatformError::Unavailable(self.learn_profile().await.missing_route(Route::CallHistory))
    }
}
