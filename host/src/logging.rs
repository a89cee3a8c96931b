//! Logs on stderr, as text for people or as one JSON object per line for log pipelines,
//! and the request id that ties a request's lines together.
//!
//! `ITSOR_LOG_FORMAT=json` gives lines like
//! `{"timestamp":"...","level":"INFO","fields":{"message":"request","method":"GET",
//! "route":"/auth/me","status":200,"duration_ms":1.2,"request_id":"..."},"target":"itsor::server"}`.
//! `RUST_LOG` filters either format (default `info`). What is logged never includes a
//! token, password, secret, cookie value, e-mail address, session id or database URL:
//! access lines name the route template, not the path (paths carry user, task and session
//! ids).

use crate::config::Environment;

/// Environment variable: the log format, `text` (default) or `json`.
pub const ENV_LOG_FORMAT: &str = "ITSOR_LOG_FORMAT";

/// Environment variable: the log filter (`tracing_subscriber`'s `EnvFilter` syntax).
pub const ENV_RUST_LOG: &str = "RUST_LOG";

/// The response (and request) header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The longest client-supplied request id kept.
pub const MAX_REQUEST_ID_BYTES: usize = 128;

/// Sends logs to stderr in the format `ITSOR_LOG_FORMAT` names (an unknown value falls back
/// to text, with a warning), filtered by `RUST_LOG` from `env` (default `info`); used by
/// every binary of this crate.
pub fn init(env: &Environment) {
    use tracing_subscriber::EnvFilter;
    let filter =
        env.get(ENV_RUST_LOG).and_then(|spec| EnvFilter::try_new(spec).ok()).unwrap_or_else(|| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match env.non_empty(ENV_LOG_FORMAT) {
        Some("json") => builder.json().with_current_span(false).with_span_list(false).init(),
        other => {
            builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init();
            if let Some(unknown) = other.filter(|f| *f != "text") {
                tracing::warn!(value = %unknown, "{ENV_LOG_FORMAT} must be text or json; logging text");
            }
        }
    }
}

/// The request id of a request: the client's `X-Request-Id` when it is well-formed (1 to
/// [`MAX_REQUEST_ID_BYTES`] of letters, digits and `-_.:`), so a proxy's id carries through;
/// else a new random one.
pub fn request_id(supplied: Option<&[u8]>) -> String {
    match supplied {
        Some(id) if is_well_formed(id) => String::from_utf8_lossy(id).into_owned(),
        _ => uuid::Uuid::new_v4().simple().to_string(),
    }
}

fn is_well_formed(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_BYTES).contains(&id.len())
        && id.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_request_ids_are_kept_and_others_replaced() {
        assert_eq!(request_id(Some(b"abc-123_x.y:z")), "abc-123_x.y:z");
        for bad in [&b""[..], b"has space", b"quote\"", b"line\nbreak", &[b'a'; 129]] {
            let id = request_id(Some(bad));
            assert_eq!(id.len(), 32, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        assert_ne!(request_id(None), request_id(None));
    }
}
