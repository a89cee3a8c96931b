//! The answers the host makes itself, all in the component's shape: JSON
//! `{"detail", "error_code", "status_code"}` with `Cache-Control: no-store` and
//! `X-Content-Type-Options: nosniff`.
//!
//! # Design
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
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// The JSON body of an error answer.
pub fn error_body(status: StatusCode, code: &str, detail: &str) -> String {
    serde_json::json!({
        "detail": detail,
        "error_code": code,
        "status_code": status.as_u16(),
    })
    .to_string()
}

/// A host-made error answer in the shape every response uses.
pub fn error_response(status: StatusCode, code: &str, detail: &str) -> Response<HyperOutgoingBody> {
    body_response(status, "application/json", error_body(status, code, detail))
}

/// A host-made answer of `body` (a probe's JSON, the metrics exposition), with the headers
/// every response has.
pub fn body_response(status: StatusCode, content_type: &'static str, body: String) -> Response<HyperOutgoingBody> {
    let body = Full::new(Bytes::from(body)).map_err(|never: Infallible| match never {}).boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    set_nosniff(headers);
    response
}

/// Adds `X-Content-Type-Options: nosniff` (every response the server sends has it).
pub fn set_nosniff(headers: &mut HeaderMap) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

/// The same answer as [`error_response`], as the bytes of a complete HTTP/1.1 response that
/// closes the connection; `extra` headers are written as given.
pub fn raw_error(status: StatusCode, code: &str, detail: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let body = error_body(status, code, detail);
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncache-control: no-store\r\n\
         x-content-type-options: nosniff\r\nconnection: close\r\ncontent-length: {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// The JSON answer standing in for hyper's automatic answer to an unparsable head, if
/// `written` is one (see the module documentation).
pub fn json_for_automatic_answer(written: &[u8]) -> Option<Vec<u8>> {
    let status = [StatusCode::BAD_REQUEST, StatusCode::URI_TOO_LONG, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE]
        .into_iter()
        .find(|status| written.starts_with(format!("HTTP/1.1 {} ", status.as_u16()).as_bytes()))?;
    let head_end = written.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = written[..head_end].to_ascii_lowercase();
    if head.windows(b"x-content-type-options:".len()).any(|w| w == b"x-content-type-options:") {
        return None; // one of ours
    }
    let (code, detail) = match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            ("HEADERS_TOO_LARGE", "The request's headers are too many or too large")
        }
        StatusCode::URI_TOO_LONG => ("URI_TOO_LONG", "The request's URI is too long"),
        _ => ("MALFORMED_REQUEST", "The request could not be parsed"),
    };
    Some(raw_error(status, code, detail, &[]))
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
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
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
        let ours = raw_error(StatusCode::BAD_REQUEST, "INVALID_BODY", "x", &[]);
        assert_eq!(json_for_automatic_answer(&ours), None);
        let capitalised = b"HTTP/1.1 400 Bad Request\r\nX-Content-Type-Options: nosniff\r\n\r\n{}";
        assert_eq!(json_for_automatic_answer(capitalised), None);
        for other in
            [&b"HTTP/1.1 404 Not Found\r\n\r\n"[..], b"HTTP/1.1 200 OK\r\n\r\n", b"{\"detail\":1}", b"HTTP/1.1 400 "]
        {
            assert_eq!(json_for_automatic_answer(other), None);
        }
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
