//! A request's way in, before anything answers it: the head's limits, the client's address,
//! `Host`, and the body read whole into memory.
//!
//! # Design
//!
//! Everything here happens before an instance slot is taken, so a slow or oversized client
//! never holds one:
//!
//! 1. **Head.** hyper reads the request line and headers under [`MAX_HEADERS`] and
//!    [`MAX_HEADER_BYTES`] (set on every connection by [`super::listener`]); beyond, hyper
//!    answers `431` (`400` for a malformed head, `414` for an overlong target), in JSON
//!    ([`super::answers::JsonAutomaticAnswers`]).
//! 2. **Client address.** Any client-sent `spin-client-addr` header is replaced by the
//!    socket's peer address ([`set_client_addr`]): the component derives the client from it,
//!    walking `X-Forwarded-For` only through the proxies listed in `TRUSTED_PROXIES`
//!    (`itsor-http`'s rule), so a client can never name its own address.
//! 3. **Host.** A request without an authority gets the server's own address as `Host`
//!    ([`ensure_host`]), which `wasi:http` requires.
//! 4. **Body.** [`buffer_body`] reads the whole body, at most [`MAX_BODY_BYTES`] (the limit
//!    the component enforces, from `itsor-http`) and within the body timeout: a declared
//!    length over the limit is refused unread, a chunked body as soon as it grows past it.
//!    Each [`BodyRejection`] has its own answer, with `Connection: close`.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONNECTION, HOST, HeaderValue};
use http::{HeaderMap, HeaderName, Request, Response};
use http_body_util::{BodyExt, Collected, LengthLimitError, Limited};
use hyper::body::Body;
use itsor_http::ApiError;
pub use itsor_http::MAX_BODY_BYTES;

use super::answers::{HostBody, error_response};

/// The header carrying the client's socket address to the component.
pub const CLIENT_ADDR_HEADER: &str = "spin-client-addr";

/// The most headers a request may have (hyper answers `431` beyond).
pub const MAX_HEADERS: usize = 64;

/// The most bytes a request's head (request line and headers) may take (hyper answers `431`
/// beyond).
pub const MAX_HEADER_BYTES: usize = 16 << 10;

/// A boxed error, as `http-body` combinators produce.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Replaces every client-sent `spin-client-addr` header with the socket's peer address.
///
/// IPv4 clients of a dual-stack socket are shown as IPv4 (`1.2.3.4:5`, not `[::ffff:…]`).
pub fn set_client_addr(headers: &mut HeaderMap, peer: SocketAddr) {
    let name = HeaderName::from_static(CLIENT_ADDR_HEADER);
    headers.remove(&name);
    let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
    if let Ok(value) = HeaderValue::from_str(&peer.to_string()) {
        headers.insert(name, value);
    }
}

/// Gives a request without an authority (an HTTP/1.0 request with no `Host`) the server's
/// own address as `Host`, which `wasi:http` requires.
pub fn ensure_host<B>(req: &mut Request<B>, local: SocketAddr) {
    if req.uri().authority().is_none()
        && !req.headers().contains_key(HOST)
        && let Ok(value) = HeaderValue::from_str(&local.to_string())
    {
        req.headers_mut().insert(HOST, value);
    }
}

/// Why [`buffer_body`] refused a request body. Each maps to one answer
/// ([`BodyRejection::into_response`]).
#[derive(Debug)]
pub enum BodyRejection {
    /// The body is (or declares to be) larger than the limit: `413`.
    TooLarge,
    /// The body did not arrive in time: `408`.
    TimedOut,
    /// The body is malformed (a bad chunk) or ended early: `400`.
    Unreadable(BoxError),
}

impl std::fmt::Display for BodyRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyRejection::TooLarge => write!(f, "body larger than {MAX_BODY_BYTES} bytes"),
            BodyRejection::TimedOut => f.write_str("body not received in time"),
            BodyRejection::Unreadable(error) => write!(f, "body unreadable: {error}"),
        }
    }
}

impl BodyRejection {
    /// The JSON answer, with `Connection: close` (the rest of the body is not read).
    pub fn into_response(self) -> Response<HostBody> {
        let error = match self {
            // The very answer the component gives a body it finds too large.
            BodyRejection::TooLarge => ApiError::too_large(),
            BodyRejection::TimedOut => ApiError::body_timeout(),
            BodyRejection::Unreadable(_) => ApiError::body_unreadable(),
        };
        let mut response = error_response(error);
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        response
    }
}

/// Reads `req`'s whole body into memory: at most `max_bytes`, within `timeout`.
///
/// A body whose declared length (`Content-Length`) exceeds `max_bytes` is refused before a
/// byte of it is read; one that grows past it (chunked) is refused as soon as it does.
/// The returned request carries the complete body, trailers included.
pub async fn buffer_body<B>(
    req: Request<B>,
    max_bytes: usize,
    timeout: Duration,
) -> Result<Request<Collected<Bytes>>, BodyRejection>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let limit = u64::try_from(max_bytes).unwrap_or(u64::MAX);
    if req.body().size_hint().lower() > limit {
        return Err(BodyRejection::TooLarge);
    }
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(timeout, Limited::new(body, max_bytes).collect()).await {
        Ok(Ok(collected)) => Ok(Request::from_parts(parts, collected)),
        Ok(Err(error)) if error.is::<LengthLimitError>() => Err(BodyRejection::TooLarge),
        Ok(Err(error)) => Err(BodyRejection::Unreadable(error)),
        Err(_) => Err(BodyRejection::TimedOut),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use std::time::Instant;

    use http::StatusCode;

    use super::*;

    #[test]
    fn client_addr_replaces_anything_the_client_sent() {
        let mut headers = HeaderMap::new();
        headers.append(CLIENT_ADDR_HEADER, HeaderValue::from_static("6.6.6.6:1"));
        headers.append(CLIENT_ADDR_HEADER, HeaderValue::from_static("7.7.7.7:2"));
        headers.insert("x-other", HeaderValue::from_static("kept"));
        set_client_addr(&mut headers, "127.0.0.1:4000".parse().unwrap());
        let values: Vec<_> = headers.get_all(CLIENT_ADDR_HEADER).iter().collect();
        assert_eq!(values, ["127.0.0.1:4000"]);
        assert_eq!(headers["x-other"], "kept");
    }

    #[test]
    fn client_addr_formats_ipv6_and_unmaps_ipv4() {
        let mut headers = HeaderMap::new();
        set_client_addr(&mut headers, "[::1]:5".parse().unwrap());
        assert_eq!(headers[CLIENT_ADDR_HEADER], "[::1]:5");
        set_client_addr(&mut headers, "[::ffff:10.0.0.1]:6".parse().unwrap());
        assert_eq!(headers[CLIENT_ADDR_HEADER], "10.0.0.1:6");
    }

    #[test]
    fn host_is_added_only_when_missing() {
        let local: SocketAddr = "127.0.0.1:3002".parse().unwrap();
        let mut bare = Request::builder().uri("/x").body(()).unwrap();
        ensure_host(&mut bare, local);
        assert_eq!(bare.headers()[HOST], "127.0.0.1:3002");
        let mut with_host = Request::builder().uri("/x").header(HOST, "example.test").body(()).unwrap();
        ensure_host(&mut with_host, local);
        assert_eq!(with_host.headers()[HOST], "example.test");
    }

    /// A body made of given frames, then either the end or a stall; with a chosen size hint.
    struct TestBody {
        frames: std::collections::VecDeque<Result<hyper::body::Frame<Bytes>, BoxError>>,
        stall: bool,
        hint: hyper::body::SizeHint,
    }

    impl TestBody {
        fn new(chunks: &[&[u8]]) -> TestBody {
            TestBody {
                frames: chunks.iter().map(|c| Ok(hyper::body::Frame::data(Bytes::copy_from_slice(c)))).collect(),
                stall: false,
                hint: hyper::body::SizeHint::default(),
            }
        }
    }

    impl Body for TestBody {
        type Data = Bytes;
        type Error = BoxError;

        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
            let this = self.get_mut();
            match this.frames.pop_front() {
                Some(frame) => std::task::Poll::Ready(Some(frame)),
                None if this.stall => std::task::Poll::Pending,
                None => std::task::Poll::Ready(None),
            }
        }

        fn size_hint(&self) -> hyper::body::SizeHint {
            self.hint
        }
    }

    fn request(body: TestBody) -> Request<TestBody> {
        Request::builder().uri("/x").body(body).unwrap()
    }

    const SHORT: Duration = Duration::from_millis(100);

    #[tokio::test]
    async fn bodies_within_the_limit_are_buffered_whole() {
        let mut body = TestBody::new(&[b"hello ", b"world"]);
        let mut trailers = HeaderMap::new();
        trailers.insert("x-checksum", HeaderValue::from_static("1"));
        body.frames.push_back(Ok(hyper::body::Frame::trailers(trailers)));
        let req = buffer_body(request(body), 11, SHORT).await.unwrap();
        let collected = req.into_body();
        assert_eq!(collected.trailers().unwrap()["x-checksum"], "1");
        assert_eq!(collected.to_bytes(), "hello world");
        let empty = buffer_body(request(TestBody::new(&[])), 0, SHORT).await.unwrap();
        assert!(empty.into_body().to_bytes().is_empty());
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_unread() {
        let mut body = TestBody::new(&[b"x"]);
        body.hint = hyper::body::SizeHint::with_exact(1 << 20);
        body.stall = true;
        let started = Instant::now();
        let rejection = buffer_body(request(body), MAX_BODY_BYTES, SHORT).await.unwrap_err();
        assert!(matches!(rejection, BodyRejection::TooLarge), "{rejection}");
        // Reading it would have stalled into a timeout.
        assert!(started.elapsed() < SHORT, "answered before any timeout");
    }

    #[tokio::test]
    async fn a_body_growing_past_the_limit_is_refused_as_soon_as_it_does() {
        // Then stalls: the refusal must not wait for the end (or the timeout).
        let mut body = TestBody::new(&[b"12345", b"67890", b"1"]);
        body.stall = true;
        let rejection = buffer_body(request(body), 10, Duration::from_secs(60)).await.unwrap_err();
        assert!(matches!(rejection, BodyRejection::TooLarge), "{rejection}");
        let exact = buffer_body(request(TestBody::new(&[b"12345", b"67890"])), 10, SHORT).await;
        assert!(exact.is_ok());
    }

    #[tokio::test]
    async fn a_stalled_body_times_out() {
        let mut body = TestBody::new(&[b"{\"email\""]);
        body.stall = true;
        let started = Instant::now();
        let rejection = buffer_body(request(body), MAX_BODY_BYTES, SHORT).await.unwrap_err();
        assert!(matches!(rejection, BodyRejection::TimedOut), "{rejection}");
        assert!(started.elapsed() >= SHORT);
        assert_eq!(rejection.into_response().status(), StatusCode::REQUEST_TIMEOUT);
    }

    #[tokio::test]
    async fn a_broken_body_is_unreadable() {
        let mut body = TestBody::new(&[b"abc"]);
        body.frames.push_back(Err("connection reset".into()));
        let rejection = buffer_body(request(body), MAX_BODY_BYTES, SHORT).await.unwrap_err();
        assert!(matches!(rejection, BodyRejection::Unreadable(_)), "{rejection}");
        assert_eq!(rejection.into_response().status(), StatusCode::BAD_REQUEST);
    }
}
