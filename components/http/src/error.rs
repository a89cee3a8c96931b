//! Errors as they appear on the wire: `{"detail", "error_code", "status_code"}`, the backend
//! guide's shape. Where a client protocol reads other members, they stand beside them (see
//! [`Dialect`]).
//!
//! # One envelope, one list of codes
//!
//! Every error answer of itsor has this shape, whoever makes it: the account logic (an
//! [`AuthError`] carries its own code), this adapter (a body it cannot read, a route it does
//! not serve), or the server in front of it (a head it cannot parse, a guest that overran its
//! deadline, no free instance). So the envelope is written once, by [`ApiError::envelope`],
//! and every code that is not an account error's is an [`ErrorCode`]. The answers a server
//! makes without running the adapter are [`ApiError`]s too (the constructors under "Answers
//! a server makes itself"); a server only puts them on its wire.

use itsor_accounts::AuthError;
use serde_json::json;

use crate::Response;

/// The `error_code` of an answer that does not come from the account logic (those carry
/// [`AuthError::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `400`: the body is not well-formed, or could not be read.
    InvalidBody,
    /// `404`: no such route or resource.
    NotFound,
    /// `405`: the route does not take this method.
    MethodNotAllowed,
    /// `403`: a cross-site request without the right `Origin`.
    CsrfRejected,
    /// `403`: a redirect target off this site.
    InvalidCallbackUrl,
    /// `413`: the body is larger than [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES).
    PayloadTooLarge,
    /// `415`: the body is of a type the route does not take.
    UnsupportedMediaType,
    /// `400`: the request line or a header cannot be parsed (a server's answer).
    MalformedRequest,
    /// `431`: too many headers, or too large a head (a server's answer).
    HeadersTooLarge,
    /// `414`: the request target alone is too long (a server's answer).
    UriTooLong,
    /// `408`: the body did not arrive in time (a server's answer).
    RequestTimeout,
    /// `500`: the request failed inside the server (as [`AuthError::Internal`]'s code).
    InternalError,
    /// `503`: no capacity to take the request now (as [`AuthError::Unavailable`]'s code).
    ServiceUnavailable,
    /// `503`: the server has too many open connections (a server's answer).
    TooManyConnections,
    /// `503`: the request took longer than the server allows (a server's answer).
    Timeout,
}

impl ErrorCode {
    /// The code as it appears in `error_code`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidBody => "INVALID_BODY",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::CsrfRejected => "CSRF_REJECTED",
            ErrorCode::InvalidCallbackUrl => "INVALID_CALLBACK_URL",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ErrorCode::MalformedRequest => "MALFORMED_REQUEST",
            ErrorCode::HeadersTooLarge => "HEADERS_TOO_LARGE",
            ErrorCode::UriTooLong => "URI_TOO_LONG",
            ErrorCode::RequestTimeout => "REQUEST_TIMEOUT",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            ErrorCode::TooManyConnections => "TOO_MANY_CONNECTIONS",
            ErrorCode::Timeout => "TIMEOUT",
        }
    }
}

/// The `Retry-After` (seconds) of a server's `503` for want of capacity
/// ([`ApiError::busy`], [`ApiError::too_many_connections`]).
const BUSY_RETRY_SECONDS: u32 = 1;

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
    pub const CROSS_SITE: &'static str = ErrorCode::CsrfRejected.as_str();

    fn new(status: u16, code: ErrorCode, detail: impl Into<String>) -> ApiError {
        ApiError::with_code(status, code.as_str(), detail)
    }

    fn with_code(status: u16, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError { status, code, detail: detail.into(), headers: Vec::new(), cause: None, dialect: None }
    }

    /// The envelope every error answer has: `{"detail", "error_code", "status_code"}`, in
    /// that order.
    pub fn envelope(status: u16, code: &str, detail: &str) -> serde_json::Value {
        json!({ "detail": detail, "error_code": code, "status_code": status })
    }

    /// `400`: the body is not well-formed.
    pub fn bad_body(detail: impl Into<String>) -> ApiError {
        ApiError::new(400, ErrorCode::InvalidBody, detail)
    }

    /// `404`: no such route or resource.
    pub fn not_found() -> ApiError {
        ApiError::new(404, ErrorCode::NotFound, "Not found")
    }

    /// `405` with `Allow`.
    pub fn method_not_allowed(allow: &[&str]) -> ApiError {
        let mut err = ApiError::new(405, ErrorCode::MethodNotAllowed, "Method not allowed");
        err.headers.push(("allow", allow.join(", ")));
        err
    }

    /// `403`: a cookie-authenticated or form request from an origin that is not allowed.
    pub fn cross_site() -> ApiError {
        ApiError::new(
            403,
            ErrorCode::CsrfRejected,
            "Cross-site request rejected: send Origin from an allowed origin, or use a bearer token",
        )
    }

    /// `403`: a redirect target (`callbackURL`) off this site and off every allowed origin.
    pub fn invalid_callback_url() -> ApiError {
        ApiError::new(403, ErrorCode::InvalidCallbackUrl, "Invalid callbackURL")
    }

    /// `413`: the body exceeds the limit.
    pub fn too_large() -> ApiError {
        ApiError::new(413, ErrorCode::PayloadTooLarge, "Request body is larger than 64 KiB")
    }

    /// `415`: the body is of a type the route does not accept.
    pub fn unsupported_media_type(expected: &str) -> ApiError {
        ApiError::new(415, ErrorCode::UnsupportedMediaType, format!("Content-Type must be {expected}"))
    }

    // Answers a server makes itself, without running the adapter.

    /// `400`: a request line or header the server cannot parse.
    pub fn malformed_request() -> ApiError {
        ApiError::new(400, ErrorCode::MalformedRequest, "The request could not be parsed")
    }

    /// `431`: a head of too many or too large headers.
    pub fn headers_too_large() -> ApiError {
        ApiError::new(431, ErrorCode::HeadersTooLarge, "The request's headers are too many or too large")
    }

    /// `414`: a request target too long for the server to read.
    pub fn uri_too_long() -> ApiError {
        ApiError::new(414, ErrorCode::UriTooLong, "The request's URI is too long")
    }

    /// `400`: a body the server could not read (malformed chunks, or it ended early).
    pub fn body_unreadable() -> ApiError {
        ApiError::new(400, ErrorCode::InvalidBody, "Request body could not be read")
    }

    /// `408`: a body that did not arrive in time.
    pub fn body_timeout() -> ApiError {
        ApiError::new(408, ErrorCode::RequestTimeout, "The request body was not received in time")
    }

    /// `500`: the request failed in the server (the cause goes to its log, never here).
    pub fn internal() -> ApiError {
        ApiError::new(500, ErrorCode::InternalError, "Internal server error")
    }

    /// `503`: the request took longer than the server allows.
    pub fn timeout() -> ApiError {
        ApiError::new(503, ErrorCode::Timeout, "The request took too long to process")
    }

    /// `503` with `Retry-After`: no capacity to take the request now.
    pub fn busy() -> ApiError {
        ApiError::new(503, ErrorCode::ServiceUnavailable, "The server is busy; retry shortly").retry_after_busy()
    }

    /// `503` with `Retry-After`: one connection too many.
    pub fn too_many_connections() -> ApiError {
        ApiError::new(503, ErrorCode::TooManyConnections, "The server has too many open connections; retry shortly")
            .retry_after_busy()
    }

    fn retry_after_busy(mut self) -> ApiError {
        self.headers.push(("retry-after", BUSY_RETRY_SECONDS.to_string()));
        self
    }

    /// The JSON body of this error: the [envelope](ApiError::envelope), and a dialect's
    /// members after it.
    pub fn body(&self) -> serde_json::Value {
        let mut body = ApiError::envelope(self.status, self.code, &self.detail);
        let members = match self.dialect.as_deref() {
            Some(Dialect::BetterAuth { code, message }) => [("message", json!(message)), ("code", json!(code))],
            Some(Dialect::OAuth2 { error }) => [("error", json!(error)), ("error_description", json!(self.detail))],
            None => return body,
        };
        if let Some(object) = body.as_object_mut() {
            object.extend(members.map(|(name, value)| (name.to_owned(), value)));
        }
        body
    }

    /// The response carrying this error.
    pub fn into_response(self) -> Response {
        let body = self.body();
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
        let mut api = ApiError::with_code(err.status(), err.code(), err.detail());
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
