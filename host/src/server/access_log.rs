//! The access log: one line per request, and its metrics.
//!
//! # Design
//!
//! Each request is logged once, at `info`: method, route template (never the path, whose
//! segments are ids, nor the query string), status, duration and request id, or "request
//! abandoned by the client" when the client went away before its answer (the [`AccessLog`]
//! was dropped unanswered). Header values, bodies and tokens are never logged. The probes
//! `/healthz` and `/readyz` are logged at `debug`. The request id (`X-Request-Id`, see
//! [`crate::logging::request_id`]) is returned on every response ([`set_request_id`]).
//! Every answer is counted in [`crate::metrics`].

use std::time::Instant;

use http::header::HeaderValue;
use http::{HeaderMap, HeaderName, Request, StatusCode};

use crate::logging::REQUEST_ID_HEADER;
use crate::metrics::metrics;
use crate::ops::Probe;

/// The route label of paths no route serves.
const UNMATCHED: &str = "unmatched";

/// What a request is known by in logs and metrics: no path, no id, nothing secret.
pub struct AccessLog {
    /// The request's method.
    pub method: http::Method,
    /// The route template, a probe's path, or `unmatched`.
    pub route: &'static str,
    /// The request's id, the client's if well-formed.
    pub request_id: String,
    started: Instant,
    answered: bool,
}

impl AccessLog {
    /// Starts the record of `req`.
    pub fn new<B>(req: &Request<B>) -> AccessLog {
        let path = req.uri().path();
        let route = Probe::of(path).map(Probe::path).or_else(|| itsor_http::route_template(path)).unwrap_or(UNMATCHED);
        AccessLog {
            method: req.method().clone(),
            route,
            request_id: crate::logging::request_id(req.headers().get(REQUEST_ID_HEADER).map(HeaderValue::as_bytes)),
            started: Instant::now(),
            answered: false,
        }
    }

    fn duration_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    /// The one access line (at `debug` for probes), and the request's metrics.
    pub fn answered(mut self, status: StatusCode) {
        self.answered = true;
        metrics().request(self.route, self.method.as_str(), status.as_u16(), self.started.elapsed());
        let (method, route, status, duration_ms, request_id) =
            (self.method.as_str(), self.route, status.as_u16(), self.duration_ms(), self.request_id.as_str());
        if Probe::of(route).is_some() {
            tracing::debug!(method, route, status, duration_ms, request_id, "request");
        } else {
            tracing::info!(method, route, status, duration_ms, request_id, "request");
        }
    }
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        if !self.answered {
            let (method, route, duration_ms, request_id) =
                (self.method.as_str(), self.route, self.duration_ms(), self.request_id.as_str());
            tracing::info!(method, route, duration_ms, request_id, "request abandoned by the client");
        }
    }
}

/// Sets `X-Request-Id` (a well-formed id, so it is a valid header value).
pub fn set_request_id(headers: &mut HeaderMap, id: &str) {
    if let Ok(value) = HeaderValue::from_str(id) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
}
