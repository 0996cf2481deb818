//! A response as the client reads it: one sentence for every failure
//! (status, transport, a body that is not the JSON expected), and the decoding.

use super::*;

/// Text from a remote server made safe for one line on a terminal.
pub(super) fn clean(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    if s.chars().count() > 300 {
        out.push('…');
    }
    out.trim().to_string()
}

pub(super) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Why a request brought back no complete answer.
pub(super) enum SendError {
    Transport(reqwest::Error),
    /// The body is (or declares itself) larger than [`MAX_RESPONSE_BYTES`].
    TooLarge,
}

/// The sentence for an answer over [`MAX_RESPONSE_BYTES`].
pub(super) fn too_large(shown: &str) -> PlatformError {
    PlatformError::Unavailable(format!(
        "the API at {shown} sent more than {} MiB; refused",
        MAX_RESPONSE_BYTES / (1024 * 1024)
    ))
}

/// A response that arrived whole.
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Vec<u8>,
}

/// What a body that is not the expected JSON looks like, as a sentence.
pub(super) fn unreadable(shown: &str, r: &Reply, e: &serde_json::Error) -> PlatformError {
    let text = String::from_utf8_lossy(&r.body);
    let head = text.trim_start();
    let ctype = r
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let msg = if head.is_empty() {
        format!(
            "the API at {} answered {} with an empty body where JSON was expected",
            shown, r.status
        )
    } else if ctype.contains("html") || head.starts_with('<') {
        format!(
            "the API at {} answered {} with an HTML page, not JSON; is that the AgentArea API's address?",
            shown, r.status
        )
    } else if e.is_eof() {
        format!(
            "the API at {} sent truncated JSON ({}); the connection may have been cut",
            shown,
            clean(&e.to_string())
        )
    } else if e.is_syntax() {
        format!(
            "the API at {} sent a body that is not valid JSON ({})",
            shown,
            clean(&e.to_string())
        )
    } else {
        format!(
            "the API at {} sent JSON of an unexpected shape ({})",
            shown,
            clean(&e.to_string())
        )
    };
    PlatformError::Unavailable(msg)
}

/// The error an unsuccessful answer stands for. `op` names the action
/// ("creating an instance"); `id` the instance, for a 404.
pub(super) fn http_error(
    shown: &str,
    r: &Reply,
    op: &'static str,
    id: Option<Uuid>,
) -> PlatformError {
    let body: Option<ErrorBody> = serde_json::from_slice(&r.body).ok();
    let detail = body
        .as_ref()
        .and_then(ErrorBody::sentence)
        .map(|d| clean(&d));
    let code = r.status.as_u16();
    let with = |d: &Option<String>| match d {
        Some(d) => format!(": {d}"),
        None => String::new(),
    };
    // AgentArea's middleware answers `{"error", "detail", "error_code"}`.
    let raw: Option<Value> = serde_json::from_slice(&r.body).ok();
    let field = |k: &str| {
        raw.as_ref()
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .map(clean)
            .filter(|s| !s.is_empty())
    };
    let (error, error_code) = (field("error"), field("error_code"));
    match r.status {
        StatusCode::BAD_REQUEST if error.is_some() || error_code.is_some() => {
            let words = [error.clone(), detail.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ");
            let code_part = error_code
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            if error_code.as_deref() == Some("MISSING_CONTEXT") {
                return PlatformError::Unavailable(format!(
                    "the API at {shown} refused {op}: {words}{code_part}; the token needs a workspace_id claim"
                ));
            }
            PlatformError::Invalid(format!(
                "the API at {shown} refused {op}: {words}{code_part}"
            ))
        }
        StatusCode::BAD_REQUEST => {
            if let Some(issues) = body.as_ref().and_then(|b| b.issues.as_ref()) {
                return PlatformError::InvalidSpec(Report {
                    kind: None,
                    issues: wire::issues_from_wire(issues),
                });
            }
            PlatformError::Invalid(
                detail.unwrap_or_else(|| format!("the API at {} rejected {op} (400)", shown)),
            )
        }
        StatusCode::UNAUTHORIZED => PlatformError::Unavailable(format!(
            "the API at {} refused {op}: {} (401); set {TOKEN_ENV} (and {WORKSPACE_ENV}) or backend.token in the config",
            shown,
            detail.as_deref().unwrap_or("not authenticated")
        )),
        StatusCode::FORBIDDEN => {
            if detail
                .as_deref()
                .is_some_and(|d| d.starts_with("read-only mode"))
            {
                PlatformError::ReadOnly(op)
            } else {
                PlatformError::Unavailable(format!(
                    "the API at {} forbids {op} (403){}",
                    shown,
                    with(&detail)
                ))
            }
        }
        StatusCode::NOT_FOUND => match (id, detail.as_deref()) {
            (_, Some("Not Found")) | (None, _) => PlatformError::Unavailable(format!(
                "the API at {} has no such route (404 while {op}); is the URL right?",
                shown
            )),
            (Some(id), _) => PlatformError::NotFound(format!("no instance with id '{id}'")),
        },
        StatusCode::CONFLICT => PlatformError::Conflict(detail.unwrap_or_else(|| {
            format!("{op} conflicts with a change made meanwhile (409); reload and try again")
        })),
        StatusCode::PAYLOAD_TOO_LARGE => PlatformError::Invalid(format!(
            "the request is too large for the API at {} (413)",
            shown
        )),
        StatusCode::UNPROCESSABLE_ENTITY => PlatformError::Invalid(format!(
            "the API at {} found the request for {op} malformed (422){}",
            shown,
            with(&detail)
        )),
        // AgentArea answers a json_spec it refuses with a 500 (its bug):
        // that is a validation failure, with its own reasons.
        s if s.is_server_error()
            && let Some(report) = detail.as_deref().and_then(validation_failed) =>
        {
            tracing::info!(status = %s, "the API answered a validation failure as a server error");
            report
        }
        s if s.is_server_error() => PlatformError::Unavailable(format!(
            "the API at {} failed while {op} ({code}){}",
            shown,
            with(&detail)
        )),
        _ => PlatformError::Unavailable(format!(
            "the API at {} answered {op} with {code}{}",
            shown,
            with(&detail)
        )),
    }
}

/// AgentArea's `"…Validation failed: reason; reason"` (sent as a 500) as a
/// validation report, each reason at the field it names.
pub(super) fn validation_failed(detail: &str) -> Option<PlatformError> {
    let (_, reasons) = detail.split_once("Validation failed:")?;
    let issues: Vec<spec::Issue> = reasons
        .split("; ")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| {
            // The first quoted name is the field: 'image', or an env var's key.
            let quoted = r.split('\'').nth(1).unwrap_or("");
            let pointer = if quoted.is_empty() {
                String::new()
            } else if r.starts_with("Environment variable") {
                format!("/environment/{}", spec::pointer_token(quoted))
            } else {
                format!("/{}", spec::pointer_token(quoted))
            };
            spec::Issue {
                severity: spec::Severity::Error,
                pointer,
                message: format!("{r} (the server's words; it answered 500)"),
            }
        })
        .collect();
    (!issues.is_empty()).then_some(PlatformError::InvalidSpec(Report { kind: None, issues }))
}

/// The body of a successful answer as `T`, or what it looks like instead.
pub(super) fn decode_body<T: DeserializeOwned>(shown: &str, r: &Reply) -> Result<T> {
    serde_json::from_slice(&r.body).map_err(|e| unreadable(shown, r, &e))
}

/// What the client makes of one complete answer: `T` from a 2xx body, else
/// the one-sentence error the user sees. Pure (no I/O); the same path every
/// request takes, exposed for the fuzzer (`fuzz/fuzz_targets/api.rs`).
/// `shown` is the API's address as shown to users; `op` names the action.
pub fn decode_reply<T: DeserializeOwned>(
    shown: &str,
    status: u16,
    content_type: &str,
    body: &[u8],
    op: &'static str,
    id: Option<Uuid>,
) -> Result<T> {
    let Ok(status) = StatusCode::from_u16(status) else {
        return Err(PlatformError::Unavailable(format!(
            "the API at {shown} answered with an invalid HTTP status ({status})"
        )));
    };
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    let r = Reply {
        status,
        headers,
        body: body.to_vec(),
    };
    if !r.status.is_success() {
        return Err(http_error(shown, &r, op, id));
    }
    decode_body(shown, &r)
}
