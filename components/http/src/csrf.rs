//! Cross-site request forgery, by the rule of Go's `net/http.CrossOriginProtection`.
//!
//! Only browsers can be tricked into sending a request for another site, and every browser
//! in use says where a state-changing request comes from: `Sec-Fetch-Site` (all current
//! ones) or at least `Origin` (every cross-origin `POST` since 2020). So, for a request that
//! changes state and is not authenticated by a bearer token (which another site cannot make
//! a browser attach):
//!
//! 1. `Sec-Fetch-Site: same-origin` or `none` (typed, bookmarked) passes;
//! 2. any other `Sec-Fetch-Site` (`same-site`, `cross-site`) passes only from an `Origin` in
//!    `CORS_ORIGINS`;
//! 3. without `Sec-Fetch-Site`, an `Origin` must be in `CORS_ORIGINS` or name the host the
//!    request was sent to (`Origin: null`, from sandboxed frames and privacy-sensitive
//!    redirects, does neither);
//! 4. with neither header, the request is not from a browser and passes: `curl`, OAuth2
//!    password-grant clients, server-side code.

use itsor_accounts::config::Settings;

use crate::{ApiError, Request, cors};

/// Whether `method` changes state.
fn is_unsafe(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// Refuses a state-changing browser request that comes from another origin than an allowed
/// one (see the module docs).
pub fn check(request: &Request, settings: &Settings) -> Result<(), ApiError> {
    if !is_unsafe(&request.method) || verdict(request, settings) { Ok(()) } else { Err(ApiError::cross_site()) }
}

fn verdict(request: &Request, settings: &Settings) -> bool {
    let allowed = || cors::allowed_origin(request, settings).is_some();
    match request.header("sec-fetch-site").map(str::trim) {
        Some(site) if site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none") => true,
        Some(_) => allowed(),
        None => match request.header("origin") {
            None => true,
            Some(origin) => allowed() || names_the_host(origin, request.header("host")),
        },
    }
}

/// Whether `origin` (`scheme://host[:port]`) names `host` (the request's `Host`).
fn names_the_host(origin: &str, host: Option<&str>) -> bool {
    let authority = origin.split_once("://").map(|(_, authority)| authority);
    matches!((authority, host), (Some(authority), Some(host)) if !host.is_empty() && authority.eq_ignore_ascii_case(host.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Body;

    fn settings() -> Settings {
        Settings::load(&|name: &str| (name == "cors_origins").then(|| "https://app.example".to_owned()))
            .expect("settings")
    }

    fn post(headers: &[(&str, &str)]) -> Request {
        let headers = headers.iter().map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec())).collect();
        Request {
            method: "POST".into(),
            path: "/auth/logout".into(),
            query: None,
            headers,
            body: Body::Complete(vec![]),
        }
    }

    #[test]
    fn the_cross_origin_protection_rule() {
        let s = settings();
        let passes = |headers: &[(&str, &str)]| check(&post(headers), &s).is_ok();
        // Not a browser.
        assert!(passes(&[]));
        // Browsers vouching for the request.
        assert!(passes(&[("sec-fetch-site", "same-origin")]));
        assert!(passes(&[("sec-fetch-site", "none")]));
        assert!(passes(&[("sec-fetch-site", "cross-site"), ("origin", "https://app.example")]));
        assert!(passes(&[("origin", "https://app.example")]));
        assert!(passes(&[("origin", "http://auth.example:3002"), ("host", "auth.example:3002")]));
        // Other origins.
        assert!(!passes(&[("sec-fetch-site", "cross-site")]));
        assert!(!passes(&[("sec-fetch-site", "same-site"), ("origin", "https://sub.app.example")]));
        assert!(!passes(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
            ("host", "evil.example")
        ]));
        assert!(!passes(&[("origin", "https://evil.example")]));
        assert!(!passes(&[("origin", "null")]));
        assert!(!passes(&[("origin", "http://auth.example:3003"), ("host", "auth.example:3002")]));
    }

    #[test]
    fn safe_methods_are_never_refused() {
        let mut request = post(&[("origin", "https://evil.example")]);
        for method in ["GET", "HEAD", "OPTIONS"] {
            request.method = method.into();
            assert!(check(&request, &settings()).is_ok(), "{method}");
        }
    }
}
