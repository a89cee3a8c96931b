//! CORS for browser front-ends: an exact allow-list of origins, with credentials.
//!
//! An allowed `Origin` gets itself echoed (never `*`), `Access-Control-Allow-Credentials`,
//! and on preflight the route's methods plus `Authorization` and `Content-Type`. Any other
//! origin gets no CORS headers at all, so the browser withholds the response. Every
//! response says `Vary: Origin`, so caches never mix them up.

use itsor_accounts::config::Settings;

use crate::{Request, Response};

/// How long browsers may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: u32 = 600;

/// Whether `request` is a CORS preflight.
pub fn is_preflight(request: &Request) -> bool {
    request.method == "OPTIONS" && request.header("access-control-request-method").is_some()
}

/// The answer to a preflight for a route that accepts `methods`.
pub fn preflight(request: &Request, settings: &Settings, methods: &[&str]) -> Response {
    let response = Response::empty(204);
    match allowed_origin(request, settings) {
        Some(origin) => allow(response, origin)
            .with_header("access-control-allow-methods", methods.join(", "))
            .with_header("access-control-allow-headers", "Authorization, Content-Type")
            .with_header("access-control-max-age", PREFLIGHT_MAX_AGE.to_string()),
        None => response,
    }
}

/// Adds the CORS headers an actual (non-preflight) response needs.
pub fn decorate(response: Response, request: &Request, settings: &Settings) -> Response {
    let response = response.with_header("vary", "Origin");
    match allowed_origin(request, settings) {
        Some(origin) => allow(response, origin),
        None => response,
    }
}

fn allow(response: Response, origin: &str) -> Response {
    response.with_header("access-control-allow-origin", origin).with_header("access-control-allow-credentials", "true")
}

/// The request's `Origin` if it is on the allow-list.
pub fn allowed_origin<'r>(request: &'r Request, settings: &Settings) -> Option<&'r str> {
    let origin = request.header("origin")?;
    settings.cors_origins.iter().any(|allowed| allowed == origin).then_some(origin)
}
