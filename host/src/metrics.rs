//! Prometheus metrics of one `itsor serve` process, in the OpenMetrics text format.
//!
//! # Design
//!
//! The metrics are process-wide ([`metrics`], created on first use), so the server, the
//! storage providers and the guest driver record into one registry without threading a
//! handle through every store. They are served by [`crate::ops`] on `ITSOR_METRICS_ADDR`
//! only, never on the public port.
//!
//! Requests are labelled by **route template** (`/api/:user_id/tasks`), never by raw
//! path, so ids never become label values and the number of series is bounded. The
//! account events are derived from a route's status on the way out, so the component stays
//! unaware of metrics: a `401` from a login route counts as `failure` whether the e-mail was
//! unknown or the password wrong, so the metrics cannot tell which e-mails exist.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

/// `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A request's labels: all of them fixed strings, so counting a request allocates nothing.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route template, `unmatched` for paths no route serves, or a host path.
    route: &'static str,
    /// The HTTP method, or `other` for anything but the standard ones.
    method: &'static str,
    /// The status code.
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabel {
    backend: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: HistogramFamily<RouteLabel>,
    instantiation_seconds: Histogram,
    /// Instances running now (set at each scrape from the slot semaphore).
    pub instances_in_use: Gauge,
    /// The cap on instances (`ITSOR_MAX_CONCURRENT`).
    pub instances_max: Gauge,
    slot_refusals: Counter,
    traps: Counter,
    deadline_kills: Counter,
    statement_seconds: HistogramFamily<BackendLabel>,
    statement_errors: Family<BackendLabel, Counter>,
    signups: Counter,
    logins: Family<OutcomeLabel, Counter>,
    rate_limited: Family<RouteLabel, Counter>,
    sessions_revoked: Counter,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("itsor"),
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            instantiation_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 14)),
            instances_in_use: Gauge::default(),
            instances_max: Gauge::default(),
            slot_refusals: Counter::default(),
            traps: Counter::default(),
            deadline_kills: Counter::default(),
            statement_seconds: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            statement_errors: Family::default(),
            signups: Counter::default(),
            logins: Family::default(),
            rate_limited: Family::default(),
            sessions_revoked: Counter::default(),
        };
        let registry = &mut m.registry;
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            m.requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer a request (head), by route template",
            Unit::Seconds,
            m.request_seconds.clone(),
        );
        registry.register_with_unit(
            "guest_instantiation",
            "Time to instantiate the component for one request",
            Unit::Seconds,
            m.instantiation_seconds.clone(),
        );
        registry.register("instances_in_use", "Component instances running now", m.instances_in_use.clone());
        registry.register(
            "instances_max",
            "The most component instances that may run at once",
            m.instances_max.clone(),
        );
        registry.register(
            "instance_slot_refusals",
            "Requests refused (503) because no instance slot became free",
            m.slot_refusals.clone(),
        );
        registry.register("guest_traps", "Requests whose component instance trapped or failed (500)", m.traps.clone());
        registry.register(
            "guest_deadline_kills",
            "Requests whose component instance was stopped at its deadline (503)",
            m.deadline_kills.clone(),
        );
        registry.register_with_unit(
            "db_statement_duration",
            "Database statement latency, by backend",
            Unit::Seconds,
            m.statement_seconds.clone(),
        );
        registry.register(
            "db_statement_errors",
            "Database statements that failed, by backend",
            m.statement_errors.clone(),
        );
        registry.register("signups", "Accounts created", m.signups.clone());
        registry.register(
            "logins",
            "Logins by outcome: success, failure (unknown e-mail or wrong password, alike) or rate_limited",
            m.logins.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit (429), by route template",
            m.rate_limited.clone(),
        );
        registry.register(
            "sessions_revoked",
            "Successful logout and session-revocation requests (a logout-all counts once)",
            m.sessions_revoked.clone(),
        );
        let started = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let start_time: Gauge = Gauge::default();
        start_time.set(i64::try_from(started).unwrap_or(i64::MAX));
        registry.register("process_start_time_seconds", "When this process started, in Unix seconds", start_time);
        registry.register("build", "The itsor build", Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]));
        m
    }

    /// The exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Records an answered request, and the account event its route and status mean.
    pub fn request(&self, route: &'static str, method: &str, status: u16, took: Duration) {
        let method = match method {
            "GET" => "GET",
            "HEAD" => "HEAD",
            "POST" => "POST",
            "PUT" => "PUT",
            "PATCH" => "PATCH",
            "DELETE" => "DELETE",
            "OPTIONS" => "OPTIONS",
            _ => "other",
        };
        self.requests.get_or_create(&RequestLabels { route, method, status }).inc();
        self.request_seconds.get_or_create(&RouteLabel { route }).observe(took.as_secs_f64());
        if status == 429 {
            self.rate_limited.get_or_create(&RouteLabel { route }).inc();
        }
        match (route, status) {
            ("/auth/signup" | "/api/auth/signup", 201) => {
                self.signups.inc();
            }
            ("/auth/token" | "/api/auth/signin", status) => {
                let outcome = match status {
                    200 => "success",
                    401 => "failure",
                    429 => "rate_limited",
                    _ => return,
                };
                self.logins.get_or_create(&OutcomeLabel { outcome }).inc();
            }
            ("/auth/logout" | "/api/auth/signout" | "/auth/logout-all" | "/auth/sessions/:session_id", 200 | 204) => {
                self.sessions_revoked.inc();
            }
            _ => {}
        }
    }

    /// Records one instantiation.
    pub fn instantiated(&self, took: Duration) {
        self.instantiation_seconds.observe(took.as_secs_f64());
    }

    /// A request found no instance slot.
    pub fn slot_refused(&self) {
        self.slot_refusals.inc();
    }

    /// A guest trapped or failed.
    pub fn trapped(&self) {
        self.traps.inc();
    }

    /// A guest was stopped at its deadline.
    pub fn killed_at_deadline(&self) {
        self.deadline_kills.inc();
    }

    /// Records one database statement of `backend` (`sqlite` or `postgres`).
    pub fn statement(&self, backend: &'static str, took: Duration, ok: bool) {
        self.statement_seconds.get_or_create(&BackendLabel { backend }).observe(took.as_secs_f64());
        if !ok {
            self.statement_errors.get_or_create(&BackendLabel { backend }).inc();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn login_outcomes_do_not_tell_unknown_emails_from_wrong_passwords() {
        let m = Metrics::new();
        m.request("/auth/token", "POST", 401, Duration::from_millis(5));
        m.request("/api/auth/signin", "POST", 401, Duration::from_millis(5));
        m.request("/auth/token", "POST", 200, Duration::from_millis(5));
        m.request("/auth/token", "POST", 429, Duration::from_millis(5));
        let text = m.encode();
        assert!(text.contains("itsor_logins_total{outcome=\"failure\"} 2"), "{text}");
        assert!(text.contains("itsor_logins_total{outcome=\"success\"} 1"), "{text}");
        assert!(text.contains("itsor_rate_limited_total{route=\"/auth/token\"} 1"), "{text}");
        assert!(text.contains("itsor_build_info{version=\""), "{text}");
    }

    #[test]
    fn odd_methods_share_one_label() {
        let m = Metrics::new();
        m.request("unmatched", "BREW", 405, Duration::ZERO);
        assert!(m.encode().contains("method=\"other\""));
    }
}
