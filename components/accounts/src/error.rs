//! The one error type of account operations, with its stable code and HTTP status.
//!
//! A leaf of the crate's module graph: it imports nothing from the crate. The modules
//! whose own errors become an [`AuthError`] say how, next to those errors
//! (`From<DbError>` in [`crate::db`], `From<ConfigError>` in [`crate::config`]).

/// Why an account operation failed. Each variant has one stable [`code`](AuthError::code),
/// one HTTP [`status`](AuthError::status) and one caller-safe [`detail`](AuthError::detail);
/// the WIT `error` variant mirrors it case for case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A field failed validation.
    #[error("{field}: {message}")]
    InvalidInput {
        /// The field as the caller named it.
        field: String,
        /// The rule it broke.
        message: String,
    },
    /// The e-mail address is already registered.
    #[error("Email already registered")]
    EmailTaken,
    /// Unknown e-mail or wrong password (deliberately one case).
    #[error("Invalid email or password")]
    InvalidCredentials,
    /// Missing, malformed, forged or revoked token, or one naming no user.
    #[error("Invalid token")]
    InvalidToken,
    /// A genuine token whose lifetime is over.
    #[error("Token has expired")]
    TokenExpired,
    /// The caller may not act on another user's resources.
    #[error("Access forbidden")]
    Forbidden,
    /// The resource does not exist for this caller.
    #[error("Not found")]
    NotFound,
    /// Too many attempts.
    #[error("Too many requests")]
    RateLimited {
        /// Seconds until a new attempt may succeed.
        retry_after: u32,
    },
    /// The deployment's settings are unsafe or invalid.
    #[error("Service misconfigured: {0}")]
    Misconfigured(String),
    /// Storage cannot be reached now (a database restart, a suspended compute, no free
    /// connection); the same request may succeed after [`UNAVAILABLE_RETRY_SECONDS`]. The
    /// message is for logs, not for callers.
    #[error("Service unavailable: {0}")]
    Unavailable(String),
    /// Storage (or another dependency) failed. The message is for logs, not for callers.
    #[error("Internal error: {0}")]
    Internal(String),
}

/// The `Retry-After` of [`AuthError::Unavailable`], in seconds.
pub const UNAVAILABLE_RETRY_SECONDS: u32 = 2;

impl AuthError {
    /// Shorthand for [`AuthError::InvalidInput`].
    pub fn invalid(field: &str, message: impl Into<String>) -> AuthError {
        AuthError::InvalidInput { field: field.to_owned(), message: message.into() }
    }

    /// The stable, machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::InvalidInput { .. } => "VALIDATION_ERROR",
            AuthError::EmailTaken => "EMAIL_TAKEN",
            AuthError::InvalidCredentials => "INVALID_CREDENTIALS",
            AuthError::InvalidToken => "INVALID_TOKEN",
            AuthError::TokenExpired => "TOKEN_EXPIRED",
            AuthError::Forbidden => "FORBIDDEN",
            AuthError::NotFound => "NOT_FOUND",
            AuthError::RateLimited { .. } => "RATE_LIMITED",
            AuthError::Misconfigured(_) => "MISCONFIGURED",
            AuthError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            AuthError::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The HTTP status that carries this error.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::InvalidInput { .. } => 422,
            AuthError::EmailTaken => 409,
            AuthError::InvalidCredentials | AuthError::InvalidToken | AuthError::TokenExpired => 401,
            AuthError::Forbidden => 403,
            AuthError::NotFound => 404,
            AuthError::RateLimited { .. } => 429,
            AuthError::Misconfigured(_) | AuthError::Internal(_) => 500,
            AuthError::Unavailable(_) => 503,
        }
    }

    /// The message shown to callers: never a secret, a stored value or an internal detail.
    pub fn detail(&self) -> String {
        match self {
            AuthError::Misconfigured(_) => "Service misconfigured".to_owned(),
            AuthError::Unavailable(_) => "Service temporarily unavailable; retry shortly".to_owned(),
            AuthError::Internal(_) => "Internal server error".to_owned(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_never_reach_callers() {
        let err = AuthError::Internal("storage: UNIQUE constraint failed: users.email".into());
        assert_eq!(err.detail(), "Internal server error");
        assert_eq!(err.status(), 500);
        let err = AuthError::Misconfigured("jwt_secret: too short".into());
        assert_eq!(err.detail(), "Service misconfigured");
    }

    #[test]
    fn token_errors_use_the_seed_details() {
        assert_eq!(AuthError::InvalidToken.detail(), "Invalid token");
        assert_eq!(AuthError::TokenExpired.detail(), "Token has expired");
        assert_eq!(AuthError::Forbidden.detail(), "Access forbidden");
        assert_eq!(AuthError::Forbidden.code(), "FORBIDDEN");
    }
}
