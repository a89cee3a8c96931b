//! Cross-site request forgery: a cookie rides along on requests other sites trigger, so a
//! state-changing request authenticated by the cookie (and a login posted as a form) must
//! come from an allowed origin: its `Origin` is in `CORS_ORIGINS`, or the browser vouches
//! that it is same-origin (`Sec-Fetch-Site: same-origin`). Requests carrying a bearer token
//! are not affected: another site cannot make a browser attach one.

use itsor_accounts::config::Settings;

use crate::{cors, ApiError, Request};

/// Whether `method` changes state.
pub fn is_unsafe(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// Refuses the request unless it comes from an allowed origin.
pub fn check(request: &Request, settings: &Settings) -> Result<(), ApiError> {
    let same_origin = request.header("sec-fetch-site").is_some_and(|site| site.eq_ignore_ascii_case("same-origin"));
    if same_origin || cors::allowed_origin(request, settings).is_some() {
        Ok(())
    } else {
        Err(ApiError::cross_site())
    }
}
