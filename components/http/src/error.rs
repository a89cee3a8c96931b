//! Errors as they appear on the wire: `{"detail", "error_code", "status_code"}`, the backend
//! guide's shape. Where a client protocol reads other members, they stand beside them (see
//! [`Dialect`]).

use itsor_accounts::AuthError;
use serde_json::json;

use crate::Response;

/// An error response: status, stable code and caller-safe detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable, caller-safe message.
    pub detail: String,
    /// Extra headers (`WWW-Authenticate`, `Allow`, `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
    /// The account error this answers, when it came from the account logic (boxed, as is
    /// the dialect: errors travel in `Result`s, which should stay small).
    pub cause: Option<Box<AuthError>>,
    /// The members a client protocol reads, when the route speaks one.
    pub dialect: Option<Box<Dialect>>,
}

/// Error members of a client protocol, written beside `detail`, `error_code` and
/// `status_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialect {
    /// The Better Auth client's `code` and `message` (`routes::better_auth`).
    BetterAuth {
        /// Better Auth's code (`INVALID_EMAIL_OR_PASSWORD`, ...).
        code: &'static str,
        /// Better Auth's message.
        message: String,
    },
    /// An OAuth2 token endpoint's `error` and `error_description` (RFC 6749 §5.2), which
    /// password-grant clients (requests-oauthlib, Authlib) raise by.
    OAuth2 {
        /// `invalid_grant`, `invalid_request`, ...
        error: &'static str,
    },
}

impl ApiError {
    /// The code of [`ApiError::cross_site`].
    pub const CROSS_SITE: &'static str = "CSRF_REJECTED";

    fn new(status: u16, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError { status, code, detail: detail.into(), headers: Vec::new(), cause: None, dialect: None }
    }

    /// `400`: the body is not well-formed.
    pub fn bad_body(detail: impl Into<String>) -> ApiError {
        ApiError::new(400, "INVALID_BODY", detail)
    }

    /// `404`: no such route or resource.
    pub fn not_found() -> ApiError {
        ApiError::new(404, "NOT_FOUND", "Not found")
    }

    /// `405` with `Allow`.
    pub fn method_not_allowed(allow: &[&str]) -> ApiError {
        let mut err = ApiError::new(405, "METHOD_NOT_ALLOWED", "Method not allowed");
        err.headers.push(("allow", allow.join(", ")));
        err
    }

    /// `403`: a cookie-authenticated or form request from an origin that is not allowed.
    pub fn cross_site() -> ApiError {
        ApiError::new(
            403,
            ApiError::CROSS_SITE,
            "Cross-site request rejected: send Origin from an allowed origin, or use a bearer token",
        )
    }

    /// `403`: a redirect target (`callbackURL`) off this site and off every allowed origin.
    pub fn invalid_callback_url() -> ApiError {
        ApiError::new(403, "INVALID_CALLBACK_URL", "Invalid callbackURL")
    }

    /// `413`: the body exceeds the limit.
    pub fn too_large() -> ApiError {
        ApiError::new(413, "PAYLOAD_TOO_LARGE", "Request body is larger than 64 KiB")
    }

    /// `415`: the body is of a type the route does not accept.
    pub fn unsupported_media_type(expected: &str) -> ApiError {
        ApiError::new(415, "UNSUPPORTED_MEDIA_TYPE", format!("Content-Type must be {expected}"))
    }

    /// The response carrying this error.
    pub fn into_response(self) -> Response {
        let mut body = json!({ "detail": self.detail, "error_code": self.code, "status_code": self.status });
        match self.dialect.map(|dialect| *dialect) {
            Some(Dialect::BetterAuth { code, message }) => {
                body["message"] = json!(message);
                body["code"] = json!(code);
            }
            Some(Dialect::OAuth2 { error }) => {
                body["error"] = json!(error);
                body["error_description"] = json!(self.detail);
            }
            None => {}
        }
        self.headers
            .into_iter()
            .fold(Response::json(self.status, &body), |resp, (name, value)| resp.with_header(name, value))
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> ApiError {
        if err.status() >= 500 {
            // The cause is for the operator: on stderr, which hosts log (`itsor` with the
            // request's id; Spin in the component's log). It never holds a secret or a stored
            // value (see `AuthError`); callers get only the generic detail.
            eprintln!("{}: {err}", err.code());
        }
        let mut api = ApiError::new(err.status(), err.code(), err.detail());
        match &err {
            AuthError::InvalidCredentials | AuthError::InvalidToken | AuthError::TokenExpired => {
                api.headers.push(("www-authenticate", "Bearer".into()));
            }
            &AuthError::RateLimited { retry_after } => api.headers.push(("retry-after", retry_after.to_string())),
            AuthError::Unavailable(_) => {
                api.headers.push(("retry-after", itsor_accounts::UNAVAILABLE_RETRY_SECONDS.to_string()));
            }
            _ => {}
        }
        api.cause = Some(Box::new(err));
        api
    }
}
