//! `GET /metrics`: serve's metrics in the Prometheus (OpenMetrics) text
//! format, on `prometheus-client`.
//!
//! One [`Metrics`] per server, no global state. Labels are closed sets:
//! a route is its template (`/v1/mcp-server-instances/{id}`), never the
//! path a client sent; a status is one of the domain's eight; an owner is
//! a replica id. No label or value carries an instance's name, id, spec,
//! a token or a URL with a password.
//!
//! Others plug in without touching this file: [`Metrics::register`] adds
//! a metric, [`Metrics::add_sampler`] something that refreshes values at
//! each scrape (the outbox lag), [`Metrics::set_ownership`] who hosts each
//! instance (the lease protocol), and the handles [`Metrics::outbox`],
//! [`Metrics::relay`] and [`Metrics::leases`] feed the metrics registered
//! here from the start (zero until something feeds them).

use crate::domain::{Instance, Status};
use crate::platform::Platform;
use async_trait::async_trait;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Metric, Registry};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The scrape's content type (OpenMetrics text, which Prometheus asks for
/// and reads natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request no route matched (404, or a 405).
pub const UNMATCHED: &str = "unmatched";

/// The owner label of an instance no known replica hosts.
pub const NO_OWNER: &str = "none";

/// How long a scrape waits for one sampler before it encodes what it has.
pub const SAMPLE_DEADLINE: Duration = Duration::from_secs(2);

/// Request latency buckets, in seconds: quick reads to long tool calls.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// An HTTP method as a label: the standard ones, everything else `OTHER`
/// (a client cannot grow the label set).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(clippy::upper_case_acronyms)]
enum MethodLabel {
    GET,
    HEAD,
    POST,
    PUT,
    PATCH,
    DELETE,
    OPTIONS,
    OTHER,
}

impl From<&Method> for MethodLabel {
    fn from(m: &Method) -> Self {
        match *m {
            Method::GET => MethodLabel::GET,
            Method::HEAD => MethodLabel::HEAD,
            Method::POST => MethodLabel::POST,
            Method::PUT => MethodLabel::PUT,
            Method::PATCH => MethodLabel::PATCH,
            Method::DELETE => MethodLabel::DELETE,
            Method::OPTIONS => MethodLabel::OPTIONS,
            _ => MethodLabel::OTHER,
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: MethodLabel,
    route: Arc<str>,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: MethodLabel,
    route: Arc<str>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabels {
    status: &'static str,
    owner: String,
}

#[derive(Clone)]
struct LatencyHistogram;

impl MetricConstructor<Histogram> for LatencyHistogram {
    fn new_metric(&self) -> Histogram {
        Histogram::new(LATENCY_BUCKETS)
    }
}

/// Refreshes some metrics' values at each scrape (reads the store, say).
#[async_trait]
pub trait Sampler: Send + Sync {
    async fn sample(&self);
}

/// Who hosts each instance. On SQLite the runtime host of the data dir
/// hosts every instance; by lease (PostgreSQL) each replica hosts those
/// in its scope.
#[async_trait]
pub trait Ownership: Send + Sync {
    /// The replica id hosting each of `instances` (same order), `None`
    /// where no replica is known to host it.
    async fn owners(&self, instances: &[Instance]) -> Vec<Option<String>>;
    /// Count only the instances this replica hosts in `aacon_instances`
    /// (replicas sharing instances by lease: the sum over replicas then
    /// counts each instance once).
    fn only_own(&self) -> bool {
        false
    }
}

/// The outbox lag, set by whoever can read the outbox.
#[derive(Clone, Default)]
pub struct OutboxGauges {
    /// Rows committed but not yet acknowledged by Redis.
    pub pending: Gauge,
    /// Seconds since the oldest of them was committed (0 when none).
    pub oldest_age_seconds: Gauge<f64, AtomicU64>,
}

/// The outbox relay's counters.
#[derive(Clone, Default)]
pub struct RelayCounters {
    /// Events Redis acknowledged.
    pub relayed: Counter,
    /// Failed attempts to connect or publish.
    pub failures: Counter,
}

/// The lease protocol's counters and gauge (zero until it runs).
#[derive(Clone, Default)]
pub struct LeaseMetrics {
    /// Lease renewals this replica made.
    pub renewals: Counter,
    /// Expired leases of other replicas this replica took over.
    pub takeovers: Counter,
    /// Leases this replica lost (expired before renewal, or fenced).
    pub lost: Counter,
    /// Leases this replica holds now.
    pub held: Gauge,
}

struct Inner {
    replica: String,
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, LatencyHistogram>,
    in_flight: Gauge,
    instances: Family<InstanceLabels, Gauge>,
    outbox: OutboxGauges,
    relay: RelayCounters,
    leases: LeaseMetrics,
    samplers: RwLock<Vec<Arc<dyn Sampler>>>,
    ownership: RwLock<Option<Arc<dyn Ownership>>>,
    /// One scrape at a time (the instance gauges are cleared and refilled).
    scrape: tokio::sync::Mutex<()>,
}

/// A server's metrics: a handle, cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Metrics(replica {})", self.inner.replica)
    }
}

impl Metrics {
    /// Every metric serve knows of, registered (at zero) for `replica`.
    pub fn new(replica: &str) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "aacon_http_requests",
            "HTTP requests answered, by method, route template and status code",
            requests.clone(),
        );
        let latency = Family::new_with_constructor(LatencyHistogram);
        registry.register(
            "aacon_http_request_duration_seconds",
            "Time to answer an HTTP request (until its headers), by method and route template",
            latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "aacon_http_requests_in_flight",
            "HTTP requests being answered now",
            in_flight.clone(),
        );
        let instances = Family::<InstanceLabels, Gauge>::default();
        registry.register(
            "aacon_instances",
            "Instances in the store by status and by the replica hosting them (owner \"none\" when no replica is known to host it)",
            instances.clone(),
        );
        let outbox = OutboxGauges::default();
        registry.register(
            "aacon_outbox_pending",
            "Events committed but not yet acknowledged by Redis",
            outbox.pending.clone(),
        );
        registry.register(
            "aacon_outbox_oldest_age_seconds",
            "Seconds since the oldest event still in the outbox was committed (0 when it is empty)",
            outbox.oldest_age_seconds.clone(),
        );
        let relay = RelayCounters::default();
        registry.register(
            "aacon_events_relayed",
            "Events this replica's relay published to the Redis stream (acknowledged by Redis)",
            relay.relayed.clone(),
        );
        registry.register(
            "aacon_relay_failures",
            "Failed attempts of this replica's relay to reach Redis or publish",
            relay.failures.clone(),
        );
        let leases = LeaseMetrics::default();
        registry.register(
            "aacon_lease_renewals",
            "Instance lease renewals this replica made",
            leases.renewals.clone(),
        );
        registry.register(
            "aacon_lease_takeovers",
            "Expired leases of other replicas this replica took over",
            leases.takeovers.clone(),
        );
        registry.register(
            "aacon_lease_lost",
            "Instance leases this replica lost (expired before renewal, or fenced)",
            leases.lost.clone(),
        );
        registry.register(
            "aacon_leases_held",
            "Instance leases this replica holds",
            leases.held.clone(),
        );
        registry.register(
            "aacon_replica",
            "This replica's id and aacon's version",
            Info::new(vec![
                ("replica".to_string(), replica.to_string()),
                ("version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
            ]),
        );
        Metrics {
            inner: Arc::new(Inner {
                replica: replica.to_string(),
                registry: Mutex::new(registry),
                requests,
                latency,
                in_flight,
                instances,
                outbox,
                relay,
                leases,
                samplers: RwLock::new(Vec::new()),
                ownership: RwLock::new(None),
                scrape: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Add a metric (its name gets no prefix: start it with `aacon_`).
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        if let Ok(mut r) = self.inner.registry.lock() {
            r.register(name, help, metric);
        }
    }

    /// Run `sampler` before each scrape is encoded.
    pub fn add_sampler(&self, sampler: Arc<dyn Sampler>) {
        if let Ok(mut s) = self.inner.samplers.write() {
            s.push(sampler);
        }
    }

    /// Say who hosts each instance (replacing what said it before).
    pub fn set_ownership(&self, ownership: Arc<dyn Ownership>) {
        if let Ok(mut o) = self.inner.ownership.write() {
            *o = Some(ownership);
        }
    }

    pub fn outbox(&self) -> OutboxGauges {
        self.inner.outbox.clone()
    }

    pub fn relay(&self) -> RelayCounters {
        self.inner.relay.clone()
    }

    pub fn leases(&self) -> LeaseMetrics {
        self.inner.leases.clone()
    }

    fn observe(&self, method: MethodLabel, route: Arc<str>, status: u16, took: Duration) {
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                method,
                route: route.clone(),
                status,
            })
            .inc();
        self.inner
            .latency
            .get_or_create(&RouteLabels { method, route })
            .observe(took.as_secs_f64());
    }

    /// Refresh what is sampled (instances from `platform`, then every
    /// sampler, each bounded by [`SAMPLE_DEADLINE`]) and encode it all.
    pub async fn render(&self, platform: &dyn Platform) -> String {
        let _one = self.inner.scrape.lock().await;
        let samplers: Vec<Arc<dyn Sampler>> = self
            .inner
            .samplers
            .read()
            .map(|s| s.clone())
            .unwrap_or_default();
        let sampled = futures::future::join_all(samplers.iter().map(|s| async move {
            if tokio::time::timeout(SAMPLE_DEADLINE, s.sample())
                .await
                .is_err()
            {
                tracing::warn!("a metrics sampler did not answer in time; its values are older");
            }
        }));
        let instances = tokio::time::timeout(SAMPLE_DEADLINE, self.sample_instances(platform));
        let (_, counted) = tokio::join!(sampled, instances);
        if counted.is_err() {
            tracing::warn!(
                "listing the instances for the metrics took too long; the counts are older"
            );
        }
        let mut out = String::new();
        let encoded = match self.inner.registry.lock() {
            Ok(r) => prometheus_client::encoding::text::encode(&mut out, &r),
            Err(_) => Err(std::fmt::Error),
        };
        if encoded.is_err() {
            tracing::error!("cannot encode the metrics");
        }
        out
    }

    /// `aacon_instances`: every status for this replica (zeros too, so a
    /// series does not vanish), and the others' where they have some.
    async fn sample_instances(&self, platform: &dyn Platform) {
        let list = match platform.list().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the instances for the metrics");
                return;
            }
        };
        let ownership = self.inner.ownership.read().ok().and_then(|o| o.clone());
        let (owners, only_own) = match ownership {
            Some(o) => (o.owners(&list).await, o.only_own()),
            None => (vec![None; list.len()], false),
        };
        let mut counts: std::collections::HashMap<InstanceLabels, i64> = Status::ALL
            .iter()
            .map(|s| {
                (
                    InstanceLabels {
                        status: s.as_str(),
                        owner: self.inner.replica.clone(),
                    },
                    0,
                )
            })
            .collect();
        for (i, owner) in list.iter().zip(owners) {
            if only_own && owner.as_deref() != Some(self.inner.replica.as_str()) {
                continue;
            }
            *counts
                .entry(InstanceLabels {
                    status: i.status.as_str(),
                    owner: owner.unwrap_or_else(|| NO_OWNER.to_string()),
                })
                .or_default() += 1;
        }
        self.inner.instances.clear();
        for (labels, n) in counts {
            self.inner.instances.get_or_create(&labels).set(n);
        }
    }
}

/// The route template a request matched, handed from the inner route
/// layer ([`note_route`]) to the outer one ([`track`]).
#[derive(Clone)]
pub(super) struct RouteTemplate(Arc<str>);

/// Route layer: note the matched route's template on the response.
pub(super) async fn note_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| Arc::<str>::from(m.as_str()));
    let mut resp = next.run(req).await;
    if let Some(r) = route {
        resp.extensions_mut().insert(RouteTemplate(r));
    }
    resp
}

/// Outer layer: count and time every answer, by its route template.
pub(super) async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let method = MethodLabel::from(req.method());
    let started = Instant::now();
    let resp = {
        let _in_flight = InFlight::enter(&metrics.inner.in_flight);
        next.run(req).await
    };
    let route = resp
        .extensions()
        .get::<RouteTemplate>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| Arc::from(UNMATCHED));
    metrics.observe(method, route, resp.status().as_u16(), started.elapsed());
    resp
}

/// One request in flight, counted down when its future ends or is
/// dropped (a client that went away).
struct InFlight(Gauge);

impl InFlight {
    fn enter(g: &Gauge) -> InFlight {
        g.inc();
        InFlight(g.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}
