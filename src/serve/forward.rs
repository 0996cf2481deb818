//! Forwarding a request to the replica that hosts its instance.
//!
//! With instances shared by lease ([`crate::cluster`]), only the replica
//! holding an instance's lease has its MCP session. A tool call, resource
//! read, prompt get, log read (every route that needs the session) reaching
//! another replica is sent on to the owner's internal address (its row in
//! `replicas`) and the owner's answer streamed back: status, headers and
//! body as the owner sent them, bounded by the instance's call timeout;
//! a caller that goes away drops the forwarded request, which drops the
//! call at the owner. It is never answered from this replica's one-shot
//! session.
//!
//! - Owner is this replica: answered here.
//! - Owner is another replica: forwarded, with [`FORWARDED_BY_HEADER`]
//!   (the loop guard: a forwarded request is never forwarded again) and
//!   the original caller in [`CALLER_HEADER`] (the owner records the call,
//!   once, as that caller's). The caller's bearer token goes through
//!   unchanged: every replica serves the same token (see SECURITY.md).
//!   The owner's `x-aacon-replica` comes back as [`FORWARDED_TO_HEADER`].
//! - No owner, the instance desired running: 503, "no replica hosts it
//!   right now" (its lease is between owners; a one-shot here would run a
//!   second copy beside the one about to start). No owner and desired
//!   stopped: answered here, as one process would (a one-shot session):
//!   no replica will host it. No live replica at all: leases are not in
//!   use on this database, so answered here.
//! - Owner unreachable: 502 naming the replica; no answer in time: 504.
//!
//! On by [`super::Server::forward`] with a [`Forwarding`] (serve on
//! PostgreSQL with leases); off, every request is answered here as before.

use super::{AppState, detail};
use crate::cluster::{Cluster, Owner};
use crate::domain::DesiredState;
use crate::platform::PlatformError;
use crate::platform::api::wire;
use crate::platform::history::{self as calls, CALLER_HEADER};
use axum::body::Body;
use axum::extract::{RawPathParams, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Names the replica that forwarded a request (the loop guard).
pub const FORWARDED_BY_HEADER: &str = "x-aacon-forwarded-by";
/// On a forwarded answer: the replica that hosts the instance and answered
/// (the replica that took the request is in `x-aacon-replica`).
pub const FORWARDED_TO_HEADER: &str = "x-aacon-forwarded-to";
/// How long to wait for the owner's connection before calling it
/// unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Added to the instance's call timeout for the forwarded request, so the
/// owner's own timeout answers first.
pub const FORWARD_GRACE: Duration = Duration::from_secs(5);
/// What a 503 asks the caller to wait before trying again (a lease
/// interval: the time a free lease takes to be claimed).
const RETRY_AFTER_SECS: &str = "2";

/// Why forwarding could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("cannot build the HTTP client that forwards requests to other replicas: {0}")]
    Client(String),
}

/// How this replica forwards: the lease tables, its own id in them, and
/// the default call timeout.
#[derive(Clone)]
pub struct Forwarding {
    cluster: Arc<Cluster>,
    me: String,
    call_timeout: Duration,
    client: reqwest::Client,
}

impl Forwarding {
    /// `me` is this replica's id as the lease tables name it (the owner
    /// column); `call_timeout` is the `runtime.call_timeout_secs` setting
    /// (an instance's `timeout_seconds` overrides it).
    pub fn new(
        cluster: Arc<Cluster>,
        me: impl Into<String>,
        call_timeout: Duration,
    ) -> Result<Forwarding, ForwardError> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            // Replicas reach each other directly, never through a proxy
            // the environment names, and never follow a redirect.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ForwardError::Client(e.to_string()))?;
        Ok(Forwarding {
            cluster,
            me: me.into(),
            call_timeout,
            client,
        })
    }

    /// This replica's id in the lease tables.
    pub fn replica(&self) -> &str {
        &self.me
    }
}

/// Where a request goes.
enum Route {
    Here,
    /// The owner, the bound on the forwarded request, the instance's name.
    Owner(Owner, Duration, String),
    Refuse(Response),
}

/// The middleware on the routes that need the instance's session.
pub(super) async fn layer(
    State(st): State<AppState>,
    params: RawPathParams,
    req: Request,
    next: Next,
) -> Response {
    let Some(fw) = st.forward.get() else {
        return next.run(req).await;
    };
    // A malformed id is the handler's to answer (422).
    let Some(id) = params
        .iter()
        .find(|(k, _)| *k == "id")
        .and_then(|(_, v)| Uuid::parse_str(v).ok())
    else {
        return next.run(req).await;
    };
    let by = req
        .headers()
        .get(FORWARDED_BY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match route(fw, &st, id, by.as_deref()).await {
        Route::Here => next.run(req).await,
        Route::Refuse(r) => r,
        Route::Owner(owner, bound, name) => send(fw, req, &owner, &name, bound).await,
    }
}

async fn route(fw: &Forwarding, st: &AppState, id: Uuid, by: Option<&str>) -> Route {
    let owner = match fw.cluster.owner_of(&id.to_string()).await {
        Ok(Some(o)) if o.replica == fw.me => return Route::Here,
        Ok(o) => o,
        Err(e) => {
            return Route::Refuse(unavailable(format!(
                "cannot tell which replica hosts instance {id}: {e}; try again"
            )));
        }
    };
    // The instance: its name for the sentences, its desired state and its
    // call timeout. Not found is the handler's to answer.
    let inst = match st.platform.get(&id.to_string()).await {
        Ok(i) => i,
        Err(PlatformError::NotFound(_)) => return Route::Here,
        Err(e) => return Route::Refuse(super::platform_error(e)),
    };
    let name = &inst.name;
    match owner {
        Some(o) => match by {
            // Never forwarded twice: the lease moved while the request
            // travelled.
            Some(by) => Route::Refuse(unavailable(format!(
                "replica {} was forwarded a request for instance {name} by replica {by}, but replica {} hosts it now; try again",
                fw.me, o.replica
            ))),
            None => {
                let bound = crate::domain::spec::timeout_seconds(&inst.json_spec)
                    .unwrap_or(fw.call_timeout)
                    + FORWARD_GRACE;
                Route::Owner(o, bound, name.clone())
            }
        },
        None if inst.desired_state == DesiredState::Stopped => Route::Here,
        None => match fw.cluster.any_live().await {
            Ok(false) => Route::Here,
            Ok(true) => Route::Refuse(unavailable(format!(
                "no replica hosts instance {name} right now (its lease is between owners); try again"
            ))),
            Err(e) => Route::Refuse(unavailable(format!(
                "cannot tell which replica hosts instance {name}: {e}; try again"
            ))),
        },
    }
}

fn unavailable(why: String) -> Response {
    let mut r = detail(StatusCode::SERVICE_UNAVAILABLE, why);
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    r
}

/// Headers that belong to one connection, never passed on.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
    )
}

fn url_of(address: &str, req: &Request) -> String {
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path(), |p| p.as_str());
    if address.starts_with("http://") || address.starts_with("https://") {
        format!("{}{path}", address.trim_end_matches('/'))
    } else {
        format!("http://{address}{path}")
    }
}

async fn send(
    fw: &Forwarding,
    req: Request,
    owner: &Owner,
    name: &str,
    bound: Duration,
) -> Response {
    let url = url_of(&owner.address, &req);
    let method = req.method().clone();
    let mut headers = HeaderMap::new();
    for (k, v) in req.headers() {
        if !hop_by_hop(k) && k != CALLER_HEADER && k != FORWARDED_BY_HEADER {
            headers.append(k.clone(), v.clone());
        }
    }
    if let Ok(v) = HeaderValue::from_str(&fw.me) {
        headers.insert(FORWARDED_BY_HEADER, v);
    }
    if let Some(v) =
        calls::current_caller().and_then(|c| HeaderValue::from_str(&c.to_header()).ok())
    {
        headers.insert(CALLER_HEADER, v);
    }
    let body = reqwest::Body::wrap_stream(req.into_body().into_data_stream());
    tracing::debug!(instance = %name, replica = %owner.replica, address = %owner.address, "forwarding a request");
    let sent = fw
        .client
        .request(method, &url)
        .headers(headers)
        .timeout(bound)
        .body(body)
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return detail(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "replica {}, which hosts instance {name}, did not answer within {} s",
                    owner.replica,
                    bound.as_secs()
                ),
            );
        }
        Err(e) => {
            tracing::warn!(instance = %name, replica = %owner.replica, address = %owner.address, error = %e, "cannot forward a request");
            return detail(
                StatusCode::BAD_GATEWAY,
                format!(
                    "replica {} at {}, which hosts instance {name}, cannot be reached: {}",
                    owner.replica,
                    owner.address,
                    crate::platform::api::describe_reqwest(&e)
                ),
            );
        }
    };
    if resp.status() == StatusCode::UNAUTHORIZED {
        return detail(
            StatusCode::BAD_GATEWAY,
            format!(
                "replica {}, which hosts instance {name}, refused the forwarded token; every replica must serve the same API token",
                owner.replica
            ),
        );
    }
    let mut out = Response::builder().status(resp.status());
    if let Some(h) = out.headers_mut() {
        for (k, v) in resp.headers() {
            if hop_by_hop(k) || k == "content-length" {
                continue;
            }
            if k == super::ready::REPLICA_HEADER {
                h.insert(FORWARDED_TO_HEADER, v.clone());
            } else {
                h.append(k.clone(), v.clone());
            }
        }
    }
    let stream = resp.bytes_stream().map_err(std::io::Error::other);
    out.body(Body::from_stream(stream))
        .unwrap_or_else(|e| detail(StatusCode::BAD_GATEWAY, e.to_string()).into_response())
}

/// The original caller of a request another replica forwarded here, for
/// the call history: only when this replica forwards too (instances are
/// shared by lease) and the request already passed the token check.
pub(super) fn forwarded_caller(st: &AppState, headers: &HeaderMap) -> Option<calls::Caller> {
    st.forward.get()?;
    headers.get(FORWARDED_BY_HEADER)?;
    headers
        .get(CALLER_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(calls::Caller::from_header)
}

/// `GET /{id}/hosting` (aacon extension): which replica holds the
/// instance's lease and its address; `clustered: false` where instances
/// are not shared by lease.
pub(super) async fn hosting(
    State(st): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let id = match super::parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let Some(fw) = st.forward.get() else {
        return axum::Json(wire::Hosting::default()).into_response();
    };
    match fw.cluster.owner_of(&id.to_string()).await {
        Ok(owner) => axum::Json(wire::Hosting {
            clustered: true,
            hosted_by: owner.map(|o| wire::HostedBy {
                replica: o.replica,
                address: o.address,
            }),
        })
        .into_response(),
        Err(e) => unavailable(format!(
            "cannot tell which replica hosts instance {id}: {e}; try again"
        )),
    }
}
