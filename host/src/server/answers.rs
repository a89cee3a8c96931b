//! The answers the host makes itself, all in the component's shape: JSON
//! `{"detail", "error_code", "status_code"}` with `Cache-Control: no-store` and
//! `X-Content-Type-Options: nosniff`.
//!
//! # Design
//!
//! What each answer says (status, code, detail, `Retry-After`) is `itsor-http`'s: every
//! host answer is an [`ApiError`], whose envelope and codes are written there once, for the
//! component and the host alike. This module only puts them on the wire:
//!
//! | status | `error_code`          | when                                                    |
//! |--------|-----------------------|---------------------------------------------------------|
//! | 400    | `MALFORMED_REQUEST`   | the request line or a header cannot be parsed           |
//! | 431    | `HEADERS_TOO_LARGE`   | more headers or bytes of head than [`super::intake`] allows |
//! | 414    | `URI_TOO_LONG`        | the request target alone overflows the head buffer      |
//! | 400    | `INVALID_BODY`        | the body is malformed or ends early                     |
//! | 408    | `REQUEST_TIMEOUT`     | the body took longer than the body timeout              |
//! | 413    | `PAYLOAD_TOO_LARGE`   | the body is larger than `MAX_BODY_BYTES`                |
//! | 500    | `INTERNAL_ERROR`      | instantiation failed, the guest trapped (panic, memory cap), returned an error code or never set a response |
//! | 503    | `SERVICE_UNAVAILABLE` | no instance slot in time (`Retry-After: 1`)             |
//! | 503    | `TOO_MANY_CONNECTIONS`| one connection over the cap (`Retry-After: 1`)          |
//! | 503    | `TIMEOUT`             | the guest set no response within the request timeout    |
//!
//! Most host answers are ordinary hyper responses ([`error_response`]). Two kinds never
//! reach a service, so they are written as raw HTTP/1.1 bytes ([`raw_error`]) instead:
//!
//! - **A connection over the cap** ([`crate::config::Limits::max_connections`]) is answered
//!   `503` straight on the socket and closed; hyper never sees it.
//! - **A head hyper cannot parse.** hyper answers a malformed request line or header
//!   (`400`), a head over the limits (`431`) or an overlong URI (`414`) by itself, with an
//!   empty body, and offers no hook for it. [`JsonAutomaticAnswers`] sits between hyper and
//!   the socket and swaps such an answer for the JSON one. It recognises it by what every
//!   response of ours has and hyper's lacks: the server adds `x-content-type-options` to
//!   every response it sends, guest responses included ([`set_nosniff`]), so a write that
//!   starts an HTTP/1.1 `400`/`414`/`431` head without that header is hyper's. hyper closes
//!   the connection after such an answer, so nothing follows it. Writes are not vectored
//!   through the wrapper, so hyper hands over a head in one buffer.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use itsor_http::ApiError;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// The body of every response the server sends: a guest's, or one the host made.
pub type HostBody = HyperOutgoingBody;

/// A host-made answer of `error`, in the shape every response uses.
pub fn error_response(error: ApiError) -> Response<HostBody> {
    let answer = error.into_response();
    let mut response = Response::new(full(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.append(name, value);
        }
    }
    set_nosniff(headers);
    response
}

/// A host-made answer of `body` (a probe's JSON, the metrics exposition), with the headers
/// every response has.
pub fn body_response(status: StatusCode, content_type: &'static str, body: String) -> Response<HostBody> {
    let mut response = Response::new(full(body.into_bytes()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    set_nosniff(headers);
    response
}

/// A complete body of `bytes`.
pub fn full(bytes: impl Into<Bytes>) -> HostBody {
    Full::new(bytes.into()).map_err(|never: Infallible| match never {}).boxed_unsync()
}

/// Adds `X-Content-Type-Options: nosniff` (every response the server sends has it).
pub fn set_nosniff(headers: &mut HeaderMap) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

/// The host's own `500` answer: the guest failed.
pub fn internal_error() -> Response<HostBody> {
    error_response(ApiError::internal())
}

/// The `503` of a guest that overran the request timeout.
pub fn timeout_error() -> Response<HostBody> {
    error_response(ApiError::timeout())
}

/// The `503` of a request that found no instance slot, with `Retry-After`.
pub fn service_unavailable() -> Response<HostBody> {
    error_response(ApiError::busy())
}

/// The same answer as [`error_response`], as the bytes of a complete HTTP/1.1 response that
/// closes the connection.
pub fn raw_error(error: ApiError) -> Vec<u8> {
    let answer = error.into_response();
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut head = format!("HTTP/1.1 {} {}\r\n", status.as_u16(), status.canonical_reason().unwrap_or(""));
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "x-content-type-options: nosniff\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        answer.body.len()
    ));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&answer.body);
    bytes
}

/// The JSON answer standing in for hyper's automatic answer to an unparsable head, if
/// `written` is one (see the module documentation).
pub fn json_for_automatic_answer(written: &[u8]) -> Option<Vec<u8>> {
    let status = [StatusCode::BAD_REQUEST, StatusCode::URI_TOO_LONG, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE]
        .into_iter()
        .find(|status| written.starts_with(format!("HTTP/1.1 {} ", status.as_u16()).as_bytes()))?;
    let head_end = written.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = written.get(..head_end)?.to_ascii_lowercase();
    if head.windows(b"x-content-type-options:".len()).any(|w| w == b"x-content-type-options:") {
        return None; // one of ours
    }
    let answer = match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ApiError::headers_too_large(),
        StatusCode::URI_TOO_LONG => ApiError::uri_too_long(),
        _ => ApiError::malformed_request(),
    };
    Some(raw_error(answer))
}

/// A connection that swaps hyper's automatic answers for JSON ones (see the module
/// documentation); reads pass straight through.
pub struct JsonAutomaticAnswers<S> {
    inner: S,
    /// A replacement answer still to be written, and how much of it has been.
    pending: Option<(Vec<u8>, usize)>,
}

impl<S> JsonAutomaticAnswers<S> {
    /// Wraps a connection.
    pub fn new(inner: S) -> JsonAutomaticAnswers<S> {
        JsonAutomaticAnswers { inner, pending: None }
    }
}

impl<S: AsyncWrite + Unpin> JsonAutomaticAnswers<S> {
    /// Writes out the pending replacement, if any.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let unwritten = bytes.get(*written..).unwrap_or_default();
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, unwritten))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonAutomaticAnswers<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonAutomaticAnswers<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(json) = json_for_automatic_answer(buf) {
            // hyper's bytes count as written; ours go out in their place, on the next write,
            // flush or shutdown (hyper flushes right after).
            self.pending = Some((json, 0));
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    fn body_of(raw: &[u8]) -> serde_json::Value {
        let text = std::str::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head.lines().find_map(|l| l.strip_prefix("content-length: ")).unwrap().parse().unwrap();
        assert_eq!(length, body.len());
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn hyper_s_empty_answers_become_json() {
        let hyper_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 10:00:00 GMT\r\n\r\n";
        let json = json_for_automatic_answer(hyper_431).unwrap();
        assert!(json.starts_with(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert_eq!(body_of(&json)["error_code"], "HEADERS_TOO_LARGE");
        assert_eq!(body_of(&json)["status_code"], 431);
        let hyper_400 = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(body_of(&json_for_automatic_answer(hyper_400).unwrap())["error_code"], "MALFORMED_REQUEST");
    }

    #[test]
    fn our_own_answers_and_other_writes_pass() {
        let ours = raw_error(ApiError::bad_body("x"));
        assert_eq!(json_for_automatic_answer(&ours), None);
        let capitalised = b"HTTP/1.1 400 Bad Request\r\nX-Content-Type-Options: nosniff\r\n\r\n{}";
        assert_eq!(json_for_automatic_answer(capitalised), None);
        for other in
            [&b"HTTP/1.1 404 Not Found\r\n\r\n"[..], b"HTTP/1.1 200 OK\r\n\r\n", b"{\"detail\":1}", b"HTTP/1.1 400 "]
        {
            assert_eq!(json_for_automatic_answer(other), None);
        }
    }

    #[test]
    fn a_refused_connection_is_told_when_to_retry() {
        let raw = raw_error(ApiError::too_many_connections());
        let text = String::from_utf8(raw.clone()).unwrap();
        assert!(text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{text}");
        assert!(text.contains("\r\nretry-after: 1\r\n") && text.contains("\r\nconnection: close\r\n"), "{text}");
        assert_eq!(body_of(&raw)["error_code"], "TOO_MANY_CONNECTIONS");
    }

    #[tokio::test]
    async fn internal_error_has_the_standard_shape() {
        let response = internal_error();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            json_of(response).await,
            serde_json::json!({"detail": "Internal server error", "error_code": "INTERNAL_ERROR", "status_code": 500})
        );
    }

    async fn json_of(response: Response<HostBody>) -> serde_json::Value {
        let body = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&body).unwrap()
    }

    #[tokio::test]
    async fn host_answers_have_the_standard_shape_and_headers() {
        use crate::server::intake::BodyRejection;
        use http::header::{CONNECTION, RETRY_AFTER};
        let cases = [
            (timeout_error(), 503, "TIMEOUT"),
            (service_unavailable(), 503, "SERVICE_UNAVAILABLE"),
            (BodyRejection::TooLarge.into_response(), 413, "PAYLOAD_TOO_LARGE"),
            (BodyRejection::TimedOut.into_response(), 408, "REQUEST_TIMEOUT"),
            (BodyRejection::Unreadable("truncated".into()).into_response(), 400, "INVALID_BODY"),
        ];
        for (response, status, code) in cases {
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
            assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
            assert_eq!(response.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
            let closes = response.headers().get(CONNECTION).is_some();
            assert_eq!(closes, matches!(status, 400 | 408 | 413), "{code}");
            let retry = response.headers().get(RETRY_AFTER).cloned();
            assert_eq!(retry.is_some(), code == "SERVICE_UNAVAILABLE", "{code}");
            let json = json_of(response).await;
            assert_eq!(json["error_code"], code);
            assert_eq!(json["status_code"], status);
            assert!(json["detail"].is_string());
            assert_eq!(json.as_object().unwrap().len(), 3);
        }
        let json = json_of(BodyRejection::TooLarge.into_response()).await;
        assert_eq!(json["detail"], ApiError::too_large().detail.as_str());
        assert_eq!(service_unavailable().headers()[RETRY_AFTER], "1");
    }

    #[tokio::test]
    async fn the_wrapper_writes_the_replacement_in_full() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let (near, mut far) = tokio::io::duplex(16); // tiny: the replacement needs many writes
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            far.read_to_end(&mut received).await.unwrap();
            received
        });
        let mut wrapped = JsonAutomaticAnswers::new(near);
        wrapped.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await.unwrap();
        wrapped.shutdown().await.unwrap();
        drop(wrapped);
        let received = reader.await.unwrap();
        assert_eq!(body_of(&received)["error_code"], "MALFORMED_REQUEST");
    }
}
