//! `aacon serve`'s routes for a server's identity, ping, resources and
//! prompts (aacon extensions; AgentArea has none of them). Each answer is
//! the protocol's JSON shape, bounded in size, secrets masked.

use super::{AppState, json_object, parse_id, platform_error, unprocessable};
use crate::platform::McpOp;
use crate::platform::api::wire::BASE_PATH;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value};

/// The routes, to merge into the authenticated API.
pub(super) fn routes() -> Router<AppState> {
    let one = format!("{BASE_PATH}/{{id}}");
    Router::new()
        .route(
            &format!("{one}/server"),
            get(|st: State<AppState>, id: Path<String>| fixed(st, id, McpOp::Identity)),
        )
        .route(
            &format!("{one}/ping"),
            post(|st: State<AppState>, id: Path<String>| fixed(st, id, McpOp::Ping)),
        )
        .route(
            &format!("{one}/resources"),
            get(|st: State<AppState>, id: Path<String>| fixed(st, id, McpOp::Resources)),
        )
        .route(
            &format!("{one}/resources/templates"),
            get(|st: State<AppState>, id: Path<String>| fixed(st, id, McpOp::Templates)),
        )
        .route(
            &format!("{one}/resources/read"),
            post(|st, id, body| with_body(st, id, body, |m| uri(m).map(|uri| McpOp::Read { uri }))),
        )
        .route(
            &format!("{one}/resources/subscribe"),
            post(|st, id, body| {
                with_body(st, id, body, |m| uri(m).map(|uri| McpOp::Subscribe { uri }))
            }),
        )
        .route(
            &format!("{one}/resources/updated"),
            get(|st: State<AppState>, id: Path<String>| fixed(st, id, McpOp::Updated)),
        )
        .route(
            &format!("{one}/prompts"),
            get(|st: State<AppState>, id: Path<String>| fixed(st, id, McpOp::Prompts)),
        )
        .route(
            &format!("{one}/prompts/get"),
            post(|st, id, body| with_body(st, id, body, get_prompt)),
        )
        .route(
            &format!("{one}/logging/level"),
            post(|st, id, body| with_body(st, id, body, set_level)),
        )
}

fn set_level(m: &Map<String, Value>) -> Result<McpOp, Response> {
    m.get("level")
        .and_then(Value::as_str)
        .and_then(crate::platform::LogLevel::parse)
        .map(|level| McpOp::SetLevel { level })
        .ok_or_else(|| {
            unprocessable(
                &["body", "level"],
                "Input should be 'debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert' or 'emergency'",
                "enum",
            )
        })
}

fn uri(m: &Map<String, Value>) -> Result<String, Response> {
    m.get("uri")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| unprocessable(&["body", "uri"], "Field required", "missing"))
}

fn get_prompt(m: &Map<String, Value>) -> Result<McpOp, Response> {
    let Some(name) = m.get("name").and_then(Value::as_str) else {
        return Err(unprocessable(
            &["body", "name"],
            "Field required",
            "missing",
        ));
    };
    let arguments = match m.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(a)) => a.clone(),
        Some(_) => {
            return Err(unprocessable(
                &["body", "arguments"],
                "Input should be a valid dictionary",
                "dict_type",
            ));
        }
    };
    Ok(McpOp::GetPrompt {
        name: name.to_string(),
        arguments,
    })
}

async fn fixed(State(st): State<AppState>, Path(id): Path<String>, op: McpOp) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match st.platform.mcp(id, op).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => platform_error(e),
    }
}

async fn with_body(
    st: State<AppState>,
    id: Path<String>,
    body: Result<Bytes, BytesRejection>,
    op: impl FnOnce(&Map<String, Value>) -> Result<McpOp, Response>,
) -> Response {
    let op = match json_object(body).and_then(|m| op(&m)) {
        Ok(op) => op,
        Err(r) => return r,
    };
    fixed(st, id, op).await
}
