//! The HTTP server: hyper 1 on Tokio, one fresh component instance per request.
//!
//! # Design
//!
//! At start-up [`App::new`] links everything the component may import into one
//! [`Linker`] (WASI 0.2, `wasi:http`, and the three Spin interfaces of world
//! `itsor:auth/platform`) and pre-instantiates the component into a [`ProxyPre`]: import
//! resolution and type checks happen once, and a component that does not fit is refused
//! before the server listens. `ProxyPre` looks the `wasi:http/incoming-handler` export up by
//! semver, so the component's `@0.2.0` export is found by wasmtime's `@0.2.x` bindings.
//!
//! ## A request's way in
//!
//! 0. **Connection.** At most [`Limits::max_connections`] connections are open at once; one
//!    more is answered `503 TOO_MANY_CONNECTIONS` (JSON, `Retry-After: 1`) and closed.
//! 1. **Head.** hyper reads the request line and headers: at most [`MAX_HEADERS`] headers
//!    and [`MAX_HEADER_BYTES`] bytes (request line included), else hyper answers `431` and
//!    closes the connection (a malformed head: `400`), in JSON like every other host answer
//!    ([`crate::answers::JsonAutomaticAnswers`]). A client
//!    that has not sent a complete head within [`Limits::header_timeout`] (counted from the
//!    end of the previous response on a keep-alive connection, so it is also the idle
//!    timeout) is disconnected without an answer.
//! 2. **Body.** [`buffer_body`] reads the whole body into memory *before* any guest exists,
//!    so a slow client never holds an instance slot: a `Content-Length` above
//!    [`MAX_BODY_BYTES`] (the limit the component enforces, from `itsor-http`) is answered
//!    `413` at once, without reading the body; a chunked body that grows past it gets `413`
//!    as soon as it does; a body not complete within [`Limits::body_timeout`] gets `408`;
//!    a malformed or truncated body gets `400`. These answers carry `Connection: close`.
//!    The guest then reads a complete in-memory body (trailers included).
//! 3. **Slot.** A semaphore with [`Limits::max_concurrent`] permits (at most the pool's
//!    [`MAX_INSTANCES`]) bounds the instances alive at once. A request that gets no permit
//!    within [`SLOT_WAIT`] is answered `503` with `Retry-After: 1` rather than queued
//!    without bound.
//! 4. **Guest.** The request gets its own [`Store`] holding a
//!    [`RequestState`](crate::guest::RequestState) (no files, no environment, no network,
//!    outgoing HTTP refused, memory capped at [`crate::engine::MAX_MEMORY_BYTES`]) and an
//!    epoch deadline: every tick (10 ms) of guest execution yields to Tokio, so CPU-heavy
//!    guest code such as password hashing shares the worker threads fairly, and after
//!    [`Limits::request_timeout`] the guest is interrupted. The guest runs in the
//!    connection's own task, polled until it sets its response and then by the response
//!    body until it returns; one abandoned by its client finishes in a task of its own
//!    (see [`crate::guest`]).
//!
//! Before the request reaches the guest, any client-sent `spin-client-addr` header is removed
//! and replaced by the socket's peer address ([`set_client_addr`]).
//!
//! ## Host answers
//!
//! Every answer the host makes itself is JSON of the shape the component uses,
//! `{"detail", "error_code", "status_code"}`, with `Cache-Control: no-store` (see
//! [`crate::answers`]); every response, the guest's included, carries
//! `X-Content-Type-Options: nosniff`:
//!
//! | status | `error_code`          | when                                                    |
//! |--------|-----------------------|---------------------------------------------------------|
//! | 400    | `MALFORMED_REQUEST`   | the request line or a header cannot be parsed           |
//! | 431    | `HEADERS_TOO_LARGE`   | more than [`MAX_HEADERS`] headers or [`MAX_HEADER_BYTES`] bytes of head |
//! | 414    | `URI_TOO_LONG`        | the request target alone overflows the head buffer      |
//! | 400    | `INVALID_BODY`        | the body is malformed or ends early                     |
//! | 408    | `REQUEST_TIMEOUT`     | the body took longer than [`Limits::body_timeout`]      |
//! | 413    | `PAYLOAD_TOO_LARGE`   | the body is larger than [`MAX_BODY_BYTES`]              |
//! | 500    | `INTERNAL_ERROR`      | instantiation failed, the guest trapped (panic, memory cap), returned an error code or never set a response |
//! | 503    | `SERVICE_UNAVAILABLE` | no instance slot within [`SLOT_WAIT`] (`Retry-After: 1`) |
//! | 503    | `TOO_MANY_CONNECTIONS`| more than [`Limits::max_connections`] open connections (`Retry-After: 1`) |
//! | 503    | `TIMEOUT`             | the guest set no response within [`Limits::request_timeout`] |
//!
//! The deadline covers the guest's whole run, response body included: a computing guest is
//! interrupted by its epoch deadline; one blocked in a host call (a clock wait, say) is
//! dropped [`TIMEOUT_GRACE`] later. A guest that has already sent its response head when
//! it traps or is stopped leaves the client with a body that ends abruptly: the connection
//! is closed before the body's end (no final chunk), never a short body that looks whole.
//! (A body ends only once its guest has returned, which a well-behaved guest does right
//! after finishing it.) In every case the server carries on: a guest can never take the
//! host down, and its instance slot is released by the deadline at the latest.
//!
//! Each request is logged once, at `info`: method, route template (never the path, whose
//! segments are ids, nor the query string), status, duration and request id, or "request
//! abandoned by the client" when the client went away before its answer. Header values,
//! bodies and tokens are never logged. The request id (`X-Request-Id`, see
//! [`crate::logging::request_id`]) is returned on every response. The probes `/healthz` and
//! `/readyz` are answered by [`crate::ops`] before any instance exists, and logged at
//! `debug`. Every answer is counted in [`crate::metrics`].
//!
//! When the `shutdown` future given to [`serve_with`] resolves (`main` resolves it
//! [`Limits::drain_delay`] after SIGINT or SIGTERM, once `/readyz` has turned `503`), the
//! server stops accepting connections, lets in-flight requests finish (up to
//! [`Limits::shutdown_timeout`]) and returns.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http::header::{CONNECTION, HOST, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, HeaderName, Request, Response, StatusCode};
use http_body_util::{BodyExt, Collected, LengthLimitError, Limited};
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

pub use crate::answers::error_response;
use crate::answers::{JsonAutomaticAnswers, raw_error, set_nosniff};
use crate::config::{ComponentVariables, Limits};
use crate::engine::MAX_INSTANCES;
use crate::guest::{GuestBody, GuestRun, Outcome, RequestState};
use crate::logging::REQUEST_ID_HEADER;
use crate::metrics::metrics;
use crate::ops::{Probe, Readiness};
use crate::storage::Storage;
pub use itsor_http::MAX_BODY_BYTES;

/// The header carrying the client's socket address to the component.
pub const CLIENT_ADDR_HEADER: &str = "spin-client-addr";

/// The most headers a request may have (hyper answers `431` beyond).
pub const MAX_HEADERS: usize = 64;

/// The most bytes a request's head (request line and headers) may take (hyper answers `431`
/// beyond).
pub const MAX_HEADER_BYTES: usize = 16 << 10;

/// How long a request waits for a free instance slot before it is answered `503`.
pub const SLOT_WAIT: Duration = Duration::from_secs(1);

/// How long a connection over [`Limits::max_connections`] is kept to be told so.
pub const REFUSAL_TIME: Duration = Duration::from_secs(1);

/// The `Retry-After` of a `503` for want of a slot or a connection, in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// How much longer than [`Limits::request_timeout`] a guest may live before the host drops
/// it, which stops one blocked in a host call (a computing guest is interrupted by its epoch
/// deadline first).
pub const TIMEOUT_GRACE: Duration = Duration::from_secs(1);

/// A boxed error, as `http-body` combinators produce.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything the server shares between requests.
pub struct App {
    pre: ProxyPre<RequestState>,
    storage: Storage,
    variables: Arc<ComponentVariables>,
    limits: Limits,
    slots: Arc<Semaphore>,
    readiness: Arc<Readiness>,
}

/// What a request is known by in logs and metrics: no path, no id, nothing secret.
struct AccessLog {
    method: http::Method,
    /// The route template, a probe's path, or `unmatched`.
    route: &'static str,
    request_id: String,
    started: Instant,
    answered: bool,
}

/// The route label of paths no route serves.
const UNMATCHED: &str = "unmatched";

impl AccessLog {
    fn new<B>(req: &Request<B>) -> AccessLog {
        let path = req.uri().path();
        let route = Probe::of(path).map(Probe::path).or_else(|| itsor_http::route_template(path)).unwrap_or(UNMATCHED);
        AccessLog {
            method: req.method().clone(),
            route,
            request_id: crate::logging::request_id(req.headers().get(REQUEST_ID_HEADER).map(HeaderValue::as_bytes)),
            started: Instant::now(),
            answered: false,
        }
    }

    fn duration_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    /// The one access line (at `debug` for probes), and the request's metrics.
    fn answered(mut self, status: StatusCode) {
        self.answered = true;
        metrics().request(self.route, self.method.as_str(), status.as_u16(), self.started.elapsed());
        let (method, route, status, duration_ms, request_id) =
            (self.method.as_str(), self.route, status.as_u16(), self.duration_ms(), self.request_id.as_str());
        if Probe::of(route).is_some() {
            tracing::debug!(method, route, status, duration_ms, request_id, "request");
        } else {
            tracing::info!(method, route, status, duration_ms, request_id, "request");
        }
    }
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        if !self.answered {
            let (method, route, duration_ms, request_id) =
                (self.method.as_str(), self.route, self.duration_ms(), self.request_id.as_str());
            tracing::info!(method, route, duration_ms, request_id, "request abandoned by the client");
        }
    }
}

/// Why a guest produced no response.
#[derive(Debug)]
enum GuestFailure {
    /// It ran (or waited) past [`Limits::request_timeout`].
    TimedOut,
    /// Anything else: instantiation failure, trap, error code, no response.
    Failed(anyhow::Error),
}

impl App {
    /// Links the host interfaces and pre-instantiates `component`, with the default
    /// [`Limits`] (see [`App::with_limits`]).
    pub fn new(
        engine: &Engine,
        component: &Component,
        storage: Storage,
        variables: ComponentVariables,
    ) -> anyhow::Result<App> {
        let mut linker = Linker::<RequestState>::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        crate::platform::add_to_linker(&mut linker)?;
        let instance_pre = linker
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .context("the component imports something this host does not provide")?;
        let pre = ProxyPre::new(instance_pre)
            .map_err(anyhow::Error::from)
            .context("the component does not export wasi:http/incoming-handler@0.2")?;
        Ok(App {
            pre,
            storage,
            variables: Arc::new(variables),
            limits: Limits::default(),
            slots: Arc::new(Semaphore::new(MAX_INSTANCES as usize)),
            readiness: Arc::default(),
        })
    }

    /// The readiness `/readyz` reports; [`Readiness::drain`] it on shutdown.
    pub fn readiness(&self) -> Arc<Readiness> {
        Arc::clone(&self.readiness)
    }

    /// Sets the gauges read at scrape time (instances in use, and their cap).
    pub fn refresh_gauges(&self) {
        let max = i64::from(self.limits.max_concurrent);
        let free = i64::try_from(self.slots.available_permits()).unwrap_or(max);
        metrics().instances_max.set(max);
        metrics().instances_in_use.set((max - free).max(0));
    }

    /// The same app with these limits; `max_concurrent` is kept within 1 and the pool's
    /// [`MAX_INSTANCES`].
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> App {
        let permits = limits.max_concurrent.clamp(1, MAX_INSTANCES);
        self.slots = Arc::new(Semaphore::new(permits as usize));
        self.limits = Limits { max_concurrent: permits, ..limits };
        self
    }

    /// The limits requests are served under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Answers one request; never fails (errors become a JSON error answer).
    async fn answer(
        self: Arc<Self>,
        peer: SocketAddr,
        local: SocketAddr,
        mut req: Request<Incoming>,
    ) -> Response<HyperOutgoingBody> {
        let log = AccessLog::new(&req);
        if let Some(probe) = Probe::of(req.uri().path()) {
            let mut response = crate::ops::answer(probe, req.method(), &self.storage, &self.readiness).await;
            set_request_id(response.headers_mut(), &log.request_id);
            log.answered(response.status());
            return response;
        }
        let (method, route) = (&log.method, log.route);
        set_client_addr(req.headers_mut(), peer);
        ensure_host(&mut req, local);
        let response = match buffer_body(req, MAX_BODY_BYTES, self.limits.body_timeout).await {
            Err(rejection) => {
                tracing::debug!(%method, route, reason = %rejection, "request body refused");
                rejection.into_response()
            }
            Ok(req) => match self.slot().await {
                None => {
                    tracing::warn!(%method, route, "no instance slot became free within {SLOT_WAIT:?}");
                    metrics().slot_refused();
                    service_unavailable()
                }
                Some(permit) => match self.run_guest(permit, req, &log.request_id).await {
                    Ok(response) => response,
                    Err(GuestFailure::TimedOut) => {
                        tracing::warn!(%method, route, limit = ?self.limits.request_timeout, "the component did not answer in time");
                        metrics().killed_at_deadline();
                        timeout_error()
                    }
                    Err(GuestFailure::Failed(error)) => {
                        tracing::warn!(%method, route, error = %summarize(&error), "request failed in the component");
                        tracing::debug!(%method, route, error = ?error, "request failure details");
                        metrics().trapped();
                        internal_error()
                    }
                },
            },
        };
        let mut response = response;
        set_nosniff(response.headers_mut());
        set_request_id(response.headers_mut(), &log.request_id);
        log.answered(response.status());
        response
    }

    /// An instance slot, if one becomes free within [`SLOT_WAIT`].
    async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        match tokio::time::timeout(SLOT_WAIT, Arc::clone(&self.slots).acquire_owned()).await {
            Ok(Ok(permit)) => Some(permit),
            // The semaphore is never closed; treat it like a full pool if it were.
            Ok(Err(_)) | Err(_) => None,
        }
    }

    /// Runs the component on `req` in a fresh instance, holding `permit` until the guest is
    /// done, and returns the response it sets. The guest runs in this task (see
    /// [`crate::guest`]): polled here until it sets its response, then by the response body.
    async fn run_guest(
        &self,
        permit: OwnedSemaphorePermit,
        req: Request<Collected<Bytes>>,
        request_id: &str,
    ) -> Result<Response<HyperOutgoingBody>, GuestFailure> {
        let limit = self.limits.request_timeout;
        let deadline = Instant::now() + limit;
        let mut store = Store::new(
            self.pre.engine(),
            RequestState::new(&self.storage, Arc::clone(&self.variables)).with_deadline(deadline),
        );
        store.limiter(|state| state.limits());
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())))
            }
        });

        let (sender, mut receiver) = tokio::sync::oneshot::channel();
        let failed = |error: wasmtime::Error| GuestFailure::Failed(anyhow::Error::from(error));
        let req = store.data_mut().http().new_incoming_request(Scheme::Http, req).map_err(failed)?;
        let out = store.data_mut().http().new_response_outparam(sender).map_err(failed)?;
        let pre = self.pre.clone();
        let (output, request_id) = (store.data().output(), request_id.to_owned());
        // A computing guest is interrupted by its epoch deadline; a guest blocked in a host
        // call (a long sleep, say) is not, so the whole guest, response body included, is
        // also dropped shortly after the deadline: the slot never outlives it.
        let mut run = GuestRun::new(async move {
            let _permit = permit;
            let guest = async {
                let started = Instant::now();
                let proxy = pre.instantiate_async(&mut store).await?;
                metrics().instantiated(started.elapsed());
                proxy.wasi_http_incoming_handler().call_handle(&mut store, req, out).await
            };
            let outcome = match tokio::time::timeout(limit + TIMEOUT_GRACE, guest).await {
                Ok(Ok(())) => Outcome::Returned,
                Ok(Err(error)) => Outcome::Failed(error),
                Err(_elapsed) => Outcome::DroppedAtDeadline,
            };
            // The response body's sender goes with the store: the body ends after this.
            drop(store);
            crate::guest::log_output(&output, &request_id);
            outcome
        });

        // Until the response head is set, or the guest ends without one.
        let head = std::future::poll_fn(|cx| {
            if let Poll::Ready(outcome) = run.poll_outcome(cx) {
                return Poll::Ready(Err(outcome));
            }
            Pin::new(&mut receiver).poll(cx).map(|head| Ok(head.map_err(drop)))
        })
        .await;
        let (head, outcome) = match head {
            Ok(head) => (head, None),
            // A guest may set its response and return within one poll.
            Err(outcome) => (receiver.try_recv().map_err(|_| ()), Some(outcome)),
        };
        let unanswered = |outcome: Outcome| match outcome {
            Outcome::Returned => Err(GuestFailure::Failed(anyhow::anyhow!("the component never set a response"))),
            Outcome::Failed(error) if is_interrupt(&error) => Err(GuestFailure::TimedOut),
            Outcome::Failed(trap) => Err(failed(trap)),
            Outcome::DroppedAtDeadline => Err(GuestFailure::TimedOut),
        };
        match head {
            Ok(Ok(response)) => {
                let returned = outcome.as_ref().map(Outcome::returned);
                Ok(response.map(|body| GuestBody::new(body, run, returned).boxed_unsync()))
            }
            Ok(Err(code)) => Err(GuestFailure::Failed(anyhow::anyhow!("the component answered with error {code:?}"))),
            // The sender went with the store (or its resource was dropped unset): the guest
            // returned, trapped or was dropped at its deadline, unanswered.
            Err(_) => match outcome {
                Some(outcome) => unanswered(outcome),
                None => unanswered(std::future::poll_fn(|cx| run.poll_outcome(cx)).await),
            },
        }
    }
}

/// Whether `error` is the trap of an epoch deadline (the guest ran out of time).
fn is_interrupt(error: &wasmtime::Error) -> bool {
    matches!(error.downcast_ref::<wasmtime::Trap>(), Some(wasmtime::Trap::Interrupt))
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
    /// The status this rejection is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            BodyRejection::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            BodyRejection::TimedOut => StatusCode::REQUEST_TIMEOUT,
            BodyRejection::Unreadable(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The JSON answer, with `Connection: close` (the rest of the body is not read).
    pub fn into_response(self) -> Response<HyperOutgoingBody> {
        let mut response = match self {
            // The very detail the component gives for a body it finds too large.
            BodyRejection::TooLarge => error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                &itsor_http::ApiError::too_large().detail,
            ),
            BodyRejection::TimedOut => error_response(
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_TIMEOUT",
                "The request body was not received in time",
            ),
            BodyRejection::Unreadable(_) => {
                error_response(StatusCode::BAD_REQUEST, "INVALID_BODY", "Request body could not be read")
            }
        };
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

/// An error chain on one line, without the multi-line parts (wasm backtraces), e.g.
/// `wasm trap: wasm \`unreachable\` instruction executed`.
pub fn summarize(error: &anyhow::Error) -> String {
    let parts: Vec<String> = error.chain().map(|cause| cause.to_string()).filter(|text| !text.contains('\n')).collect();
    if parts.is_empty() {
        error.root_cause().to_string().lines().next().unwrap_or_default().to_owned()
    } else {
        parts.join(": ")
    }
}

/// The host's own `500` answer: the guest failed (see the module documentation).
pub fn internal_error() -> Response<HyperOutgoingBody> {
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "Internal server error")
}

/// The `503` of a guest that overran [`Limits::request_timeout`].
pub fn timeout_error() -> Response<HyperOutgoingBody> {
    error_response(StatusCode::SERVICE_UNAVAILABLE, "TIMEOUT", "The request took too long to process")
}

/// The `503` of a request that found no instance slot, with `Retry-After`.
pub fn service_unavailable() -> Response<HyperOutgoingBody> {
    let mut response =
        error_response(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", "The server is busy; retry shortly");
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
}

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

/// Binds `host:port` (before the slow start-up work, so a busy port fails fast).
pub async fn bind(host: &str, port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind((host, port)).await.with_context(|| format!("cannot listen on {host}:{port}"))
}

/// Prints the one stdout line tests and scripts wait for: `itsor listening on http://ADDR:PORT`
/// with the port actually bound (so `--port 0` can be used).
pub fn announce(listener: &TcpListener) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "itsor listening on http://{addr}")?;
    stdout.flush()?;
    Ok(())
}

/// What answers requests on a [`serve`]d connection: [`App`] runs the component; a native
/// reference (benchmarks) can run the same HTTP adapter without Wasm.
pub trait Handler: Send + Sync + 'static {
    /// The response body type.
    type Body: hyper::body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>> + Send + 'static;

    /// Answers one request from `peer` arriving on `local`; never fails.
    fn handle(
        self: Arc<Self>,
        peer: SocketAddr,
        local: SocketAddr,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<Self::Body>> + Send;
}

impl Handler for App {
    type Body = HyperOutgoingBody;

    fn handle(
        self: Arc<Self>,
        peer: SocketAddr,
        local: SocketAddr,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<HyperOutgoingBody>> + Send {
        self.answer(peer, local, req)
    }
}

/// Serves HTTP/1.1 on `listener` until `shutdown` resolves, then drains in-flight requests,
/// with the default [`Limits`] (see [`serve_with`]).
pub async fn serve<H: Handler>(
    listener: TcpListener,
    app: Arc<H>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    serve_with(listener, app, &Limits::default(), shutdown).await
}

/// Serves HTTP/1.1 on `listener` until `shutdown` resolves, then drains in-flight requests.
///
/// Every connection refuses heads of more than [`MAX_HEADERS`] headers or
/// [`MAX_HEADER_BYTES`] bytes (`431`) and closes when a head takes longer than
/// `limits.header_timeout` (the other limits are the handler's business; see
/// [`App::with_limits`]).
pub async fn serve_with<H: Handler>(
    listener: TcpListener,
    app: Arc<H>,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let local = listener.local_addr()?;
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .keep_alive(true)
        .max_headers(MAX_HEADERS)
        .max_header_size(MAX_HEADER_BYTES)
        .header_read_timeout(limits.header_timeout);
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(limits.max_connections as usize));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Typically EMFILE: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            tracing::warn!(
                max = limits.max_connections,
                "connection refused: {} open connections",
                limits.max_connections
            );
            tokio::spawn(refuse_connection(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = Arc::clone(&app);
        let service = hyper::service::service_fn(move |req| {
            let app = Arc::clone(&app);
            async move { Ok::<_, Infallible>(app.handle(peer, local, req).await) }
        });
        let stream = TokioIo::new(JsonAutomaticAnswers::new(stream));
        let connection = graceful.watch(http.serve_connection(stream, service));
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(listener = %local, "shutting down: waiting for in-flight requests");
    let grace = limits.shutdown_timeout;
    tokio::select! {
        () = graceful.shutdown() => tracing::info!(listener = %local, "all connections closed"),
        () = tokio::time::sleep(grace) => {
            tracing::warn!(listener = %local, "some connections were still open after {grace:?}");
        }
    }
    Ok(())
}

/// Sets `X-Request-Id` (a well-formed id, so it is a valid header value).
fn set_request_id(headers: &mut HeaderMap, id: &str) {
    if let Ok(value) = HeaderValue::from_str(id) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
}

/// The metrics listener's handler: `GET /metrics` only (see [`crate::ops`]).
pub struct MetricsEndpoint {
    app: Arc<App>,
}

impl MetricsEndpoint {
    /// The metrics of `app`'s process, with `app`'s gauges.
    pub fn new(app: Arc<App>) -> MetricsEndpoint {
        MetricsEndpoint { app }
    }
}

impl Handler for MetricsEndpoint {
    type Body = HyperOutgoingBody;

    fn handle(
        self: Arc<Self>,
        _peer: SocketAddr,
        _local: SocketAddr,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<HyperOutgoingBody>> + Send {
        let response = crate::ops::answer_metrics(&req, || self.app.refresh_gauges());
        std::future::ready(response)
    }
}

/// Answers a connection over [`Limits::max_connections`] with a JSON `503` and closes it,
/// within [`REFUSAL_TIME`]. What the client already sent is read and dropped after the
/// answer, so that closing does not reset the connection before the client reads it.
async fn refuse_connection(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let answer = raw_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "TOO_MANY_CONNECTIONS",
        "The server has too many open connections; retry shortly",
        &[("retry-after", &RETRY_AFTER_SECONDS.to_string())],
    );
    let _ = tokio::time::timeout(REFUSAL_TIME, async {
        stream.write_all(&answer).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        std::io::Result::Ok(())
    })
    .await;
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("received SIGINT"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;
    use http::header::{CACHE_CONTROL, CONTENT_TYPE};

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

    #[test]
    fn summaries_are_one_line() {
        let error = anyhow::anyhow!("root").context("a\nmulti-line backtrace").context("outer");
        assert_eq!(summarize(&error), "outer: root");
        let only_multi = anyhow::anyhow!("first line\nsecond");
        assert_eq!(summarize(&only_multi), "first line");
    }

    #[tokio::test]
    async fn internal_error_has_the_standard_shape() {
        let response = internal_error();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"detail": "Internal server error", "error_code": "INTERNAL_ERROR", "status_code": 500})
        );
    }

    async fn json_of(response: Response<HyperOutgoingBody>) -> serde_json::Value {
        let body = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&body).unwrap()
    }

    #[tokio::test]
    async fn host_answers_have_the_standard_shape_and_headers() {
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
        assert_eq!(json["detail"], itsor_http::ApiError::too_large().detail.as_str());
        assert_eq!(service_unavailable().headers()[RETRY_AFTER], "1");
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
        assert_eq!(rejection.status(), StatusCode::REQUEST_TIMEOUT);
    }

    #[tokio::test]
    async fn a_broken_body_is_unreadable() {
        let mut body = TestBody::new(&[b"abc"]);
        body.frames.push_back(Err("connection reset".into()));
        let rejection = buffer_body(request(body), MAX_BODY_BYTES, SHORT).await.unwrap_err();
        assert!(matches!(rejection, BodyRejection::Unreadable(_)), "{rejection}");
        assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn only_interrupts_are_timeouts() {
        assert!(is_interrupt(&wasmtime::Error::from(wasmtime::Trap::Interrupt)));
        assert!(!is_interrupt(&wasmtime::Error::from(wasmtime::Trap::UnreachableCodeReached)));
        assert!(!is_interrupt(&wasmtime::Error::msg("other")));
    }
}
