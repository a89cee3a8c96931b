//! What load balancers and operators ask the host itself, without the component: liveness
//! and readiness probes on the public port, and Prometheus metrics on a port of their own.
//!
//! # Design
//!
//! - `GET /healthz` is `200` while the process serves at all: it touches neither the
//!   component nor the database, so a slow database never gets a live host restarted.
//! - `GET /readyz` is `200` when the host should get traffic: the compiled component is
//!   loaded (always true once the server listens: it is loaded before) and the database
//!   answers `SELECT 1` within [`READINESS_TIMEOUT`] (a PostgreSQL pool whose connections
//!   are all busy is serving, and counts as ready). Otherwise `503` with a JSON reason,
//!   `shutting down` or `database unreachable` (the cause, which may name the database
//!   user or host, is logged at `warn`, never sent to the unauthenticated caller). After `SIGTERM` it
//!   turns `503` first ([`Readiness::drain`]), while requests are still served, so the
//!   load balancer stops sending traffic before connections are refused.
//! - Both answer `GET` and `HEAD` only, are not rate limited, and are logged at `debug`,
//!   not `info`, so a probe every second does not flood the access log.
//! - `/metrics` is served only on `ITSOR_METRICS_ADDR` (off by default), never on the
//!   public port: the numbers say how busy the service is and which routes fail.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use itsor_http::ApiError;
use serde_json::json;

use crate::server::{HostBody, body_response, error_response};
use crate::storage::Storage;

/// The liveness probe's path.
pub const HEALTHZ: &str = "/healthz";
/// The readiness probe's path.
pub const READYZ: &str = "/readyz";
/// The metrics path on `ITSOR_METRICS_ADDR`.
pub const METRICS: &str = "/metrics";
/// How long `/readyz` waits for the database.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(1);

/// Whether the host is shutting down (and so no longer ready).
#[derive(Debug, Default)]
pub struct Readiness {
    draining: AtomicBool,
}

impl Readiness {
    /// From now on `/readyz` answers `503 shutting down`.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether [`Readiness::drain`] was called.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// A probe the host answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `/healthz`.
    Live,
    /// `/readyz`.
    Ready,
}

impl Probe {
    /// The probe `path` names, if any.
    pub fn of(path: &str) -> Option<Probe> {
        match path {
            HEALTHZ => Some(Probe::Live),
            READYZ => Some(Probe::Ready),
            _ => None,
        }
    }

    /// The path, as metrics and logs name it.
    pub fn path(self) -> &'static str {
        match self {
            Probe::Live => HEALTHZ,
            Probe::Ready => READYZ,
        }
    }
}

/// The `405` (with `Allow`) of anything but `GET` and `HEAD`.
fn refusal_unless_read(method: &Method) -> Option<Response<HostBody>> {
    if method == Method::GET || method == Method::HEAD {
        return None;
    }
    Some(error_response(ApiError::method_not_allowed(&["GET", "HEAD"])))
}

fn status_json(status: StatusCode, body: serde_json::Value) -> Response<HostBody> {
    body_response(status, "application/json", body.to_string())
}

/// Answers `probe` (see the module documentation).
pub async fn answer(probe: Probe, method: &Method, storage: &Storage, readiness: &Readiness) -> Response<HostBody> {
    if let Some(refusal) = refusal_unless_read(method) {
        return refusal;
    }
    match probe {
        Probe::Live => status_json(StatusCode::OK, json!({ "status": "ok" })),
        Probe::Ready if readiness.is_draining() => {
            status_json(StatusCode::SERVICE_UNAVAILABLE, json!({ "status": "unavailable", "reason": "shutting down" }))
        }
        Probe::Ready => match database_answers(storage).await {
            Ok(()) => status_json(StatusCode::OK, json!({ "status": "ready" })),
            Err(cause) => {
                // The cause (which may name the database user or host) is for the log only.
                tracing::warn!(%cause, "not ready: the database does not answer");
                status_json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({ "status": "unavailable", "reason": DATABASE_UNREACHABLE }),
                )
            }
        },
    }
}

/// The reason `/readyz` gives when the database does not answer (the cause goes to the log).
pub const DATABASE_UNREACHABLE: &str = "database unreachable";

/// `SELECT 1` on the deployment's database, within [`READINESS_TIMEOUT`] (a PostgreSQL pool
/// whose connections are all busy counts as answering).
async fn database_answers(storage: &Storage) -> Result<(), String> {
    match storage {
        Storage::Sqlite(database) => database
            .with_connection(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
            .and_then(|answered| answered)
            .map_err(|e| e.to_string()),
        Storage::Postgres(pool) => pool.ready(READINESS_TIMEOUT).await,
    }
}

/// The metrics listener's one route: `GET /metrics`, the exposition of
/// [`crate::metrics::metrics`]; `refresh` runs first (it sets the gauges read at scrape
/// time).
pub fn answer_metrics(req: &Request<Incoming>, refresh: impl FnOnce()) -> Response<HostBody> {
    if req.uri().path() != METRICS {
        return error_response(ApiError::not_found());
    }
    if let Some(refusal) = refusal_unless_read(req.method()) {
        return refusal;
    }
    refresh();
    body_response(StatusCode::OK, crate::metrics::CONTENT_TYPE, crate::metrics::metrics().encode())
}
