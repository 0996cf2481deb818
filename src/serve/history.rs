//! `aacon serve`'s call history routes (aacon extensions): an instance's
//! recorded tool calls, resource reads and prompt gets, newest first, and
//! one of them in full. Arguments are stored redacted; answers masked.
//! A deleted instance's history is still answered (the audit trail).

use super::{AppState, detail, parse_id, platform_error, unprocessable};
use crate::platform::PlatformError;
use crate::platform::api::wire::BASE_PATH;
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

/// The most records one list answers.
pub const MAX_LIMIT: usize = 10_000;
/// What a list answers without `limit`.
pub const DEFAULT_LIMIT: usize = 100;

/// The routes, to merge into the authenticated API.
pub(super) fn routes() -> Router<AppState> {
    let one = format!("{BASE_PATH}/{{id}}");
    Router::new()
        .route(&format!("{one}/history"), get(list))
        .route(&format!("{one}/history/{{call}}"), get(one_call))
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

async fn list(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    match st.platform.history(id, limit).await {
        Ok(calls) => Json(serde_json::json!({"instance_id": id, "calls": calls})).into_response(),
        Err(e) => platform_error(e),
    }
}

async fn one_call(
    State(st): State<AppState>,
    Path((id, call)): Path<(String, String)>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let Ok(call) = call.parse::<i64>() else {
        return unprocessable(
            &["path", "call"],
            "Input should be a valid integer",
            "int_parsing",
        );
    };
    match st.platform.history_call(id, call).await {
        Ok(record) => Json(record).into_response(),
        // Not "instance not found": the call is what is missing.
        Err(PlatformError::NotFound(why)) => detail(StatusCode::NOT_FOUND, why),
        Err(e) => platform_error(e),
    }
}
