//! The HTTP server: hyper 1 on Tokio, one fresh component instance per request.
//!
//! # Design
//!
//! A request passes through one module per job, in this order:
//!
//! 0. **Connection** ([`listener`]): accepted under the connection cap, its head read under
//!    the head limits; the listener also drains in-flight requests on shutdown.
//! 1. **Record** ([`access_log`]): the request's id and route, for its one access line.
//! 2. **Probes** ([`crate::ops`]): `/healthz` and `/readyz` are answered here, before any
//!    body is read or instance exists.
//! 3. **Way in** ([`intake`]): the client's address and `Host` set, the body read whole
//!    into memory (or refused) *before* any guest exists, so a slow client never holds an
//!    instance slot.
//! 4. **Slot.** A semaphore with `max_concurrent` permits (at most the pool's
//!    [`MAX_INSTANCES`]) bounds the instances alive at once. A request that gets no permit
//!    within [`SLOT_WAIT`] is answered `503` with `Retry-After: 1` rather than queued
//!    without bound.
//! 5. **Guest** ([`invoke`]): a fresh instance under the request's deadline; a trap, an
//!    overrun or a missing response becomes a host answer, never a host failure.
//! 6. **Way out** ([`answers`]): the answers the host makes itself, all JSON of the
//!    component's shape; every response, the guest's included, carries
//!    `X-Content-Type-Options: nosniff` and `X-Request-Id`, and is logged and counted.
//!
//! [`App`] is this pipeline for the component. An embedder's [`Handler`] (the native
//! benchmark reference) is served by [`serve`] through the same connection, record, way in
//! and way out, with the handler in place of steps 2, 4 and 5.

mod access_log;
mod answers;
// Crate-visible for the command line's tests, which hold the help text to its limits.
pub(crate) mod intake;
mod invoke;
mod listener;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Collected;
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::config::{ComponentVariables, GuestInterface, Limits};
use crate::engine::MAX_INSTANCES;
use crate::metrics::metrics;
use crate::ops::{Probe, Readiness};
use crate::storage::Storage;
use access_log::{AccessLog, set_request_id};
pub use answers::{HostBody, body_response, error_response};
use answers::{full, internal_error, service_unavailable, set_nosniff, timeout_error};
use intake::{MAX_BODY_BYTES, buffer_body, ensure_host, set_client_addr};
use invoke::{GuestFailure, Invoker, summarize};
use listener::Service;
pub use listener::{announce, bind, shutdown_signal};

/// How long a request waits for a free instance slot before it is answered `503`.
pub const SLOT_WAIT: Duration = Duration::from_secs(1);

/// Everything the server shares between requests.
pub struct App {
    invoker: Invoker,
    limits: Limits,
    slots: Arc<Semaphore>,
    readiness: Arc<Readiness>,
}

impl App {
    /// Links the host interfaces and pre-instantiates `component` (see [`invoke`]), with
    /// the default [`Limits`] (see [`App::with_limits`]).
    pub fn new(
        engine: &Engine,
        component: &Component,
        storage: Storage,
        variables: ComponentVariables,
    ) -> anyhow::Result<App> {
        Ok(App {
            invoker: Invoker::new(engine, component, storage, variables)?,
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

    /// The same app calling `interface` for each request, or `wasi:http` if the component
    /// lacks the typed export (see [`invoke`]).
    #[must_use]
    pub fn with_guest_interface(mut self, interface: GuestInterface) -> App {
        self.invoker = self.invoker.with_interface(interface);
        self
    }

    /// The export each request is served through.
    pub fn guest_interface(&self) -> GuestInterface {
        self.invoker.interface()
    }

    /// Serves the component on `listener` until `shutdown` resolves (see [`listener`]).
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let limits = self.limits;
        listener::serve(listener, self, &limits, shutdown).await
    }

    /// Answers one request; never fails (errors become a JSON error answer).
    async fn answer(
        self: Arc<Self>,
        peer: SocketAddr,
        local: SocketAddr,
        mut req: Request<Incoming>,
    ) -> Response<HostBody> {
        let log = AccessLog::new(&req);
        if let Some(probe) = Probe::of(req.uri().path()) {
            let mut response = crate::ops::answer(probe, req.method(), self.invoker.storage(), &self.readiness).await;
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
                Some(permit) => self.run_guest(permit, req, &log).await,
            },
        };
        answered(response, log)
    }

    /// The guest's response to `req`, or the host's answer to its failure.
    async fn run_guest(
        &self,
        permit: OwnedSemaphorePermit,
        req: Request<Collected<Bytes>>,
        log: &AccessLog,
    ) -> Response<HostBody> {
        let (method, route) = (&log.method, log.route);
        let limit = self.limits.request_timeout;
        match self.invoker.run(permit, req, &log.request_id, limit).await {
            Ok(response) => response,
            Err(GuestFailure::TimedOut) => {
                tracing::warn!(%method, route, limit = ?limit, "the component did not answer in time");
                metrics().killed_at_deadline();
                timeout_error()
            }
            Err(GuestFailure::Failed(error)) => {
                tracing::warn!(%method, route, error = %summarize(&error), "request failed in the component");
                tracing::debug!(%method, route, error = ?error, "request failure details");
                metrics().trapped();
                internal_error()
            }
        }
    }

    /// An instance slot, if one becomes free within [`SLOT_WAIT`].
    async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        match tokio::time::timeout(SLOT_WAIT, Arc::clone(&self.slots).acquire_owned()).await {
            Ok(Ok(permit)) => Some(permit),
            // The semaphore is never closed; treat it like a full pool if it were.
            Ok(Err(_)) | Err(_) => None,
        }
    }
}

/// The way out of every answered request: `nosniff`, its id, its access line.
fn answered(mut response: Response<HostBody>, log: AccessLog) -> Response<HostBody> {
    set_nosniff(response.headers_mut());
    set_request_id(response.headers_mut(), &log.request_id);
    log.answered(response.status());
    response
}

impl Service for App {
    type Body = HostBody;

    fn call(
        self: Arc<Self>,
        peer: SocketAddr,
        local: SocketAddr,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<HostBody>> + Send {
        self.answer(peer, local, req)
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

    /// Serves the metrics on `listener` until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: TcpListener,
        limits: &Limits,
        shutdown: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        listener::serve(listener, Arc::new(self), limits, shutdown).await
    }
}

impl Service for MetricsEndpoint {
    type Body = HostBody;

    fn call(
        self: Arc<Self>,
        _peer: SocketAddr,
        _local: SocketAddr,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<HostBody>> + Send {
        let response = crate::ops::answer_metrics(&req, || self.app.refresh_gauges());
        std::future::ready(response)
    }
}

/// What an embedder serves with [`serve`] in place of the component: it answers requests
/// that have already taken the host's way in (client address and `Host` set, body read
/// whole, under the same limits), and its answers take the host's way out (`nosniff`,
/// `X-Request-Id`, the access log).
pub trait Handler: Send + Sync + 'static {
    /// Answers one request; never fails.
    fn handle(&self, request: Request<Bytes>) -> Response<Bytes>;
}

/// Serves `handler` on `listener` through the host's HTTP stack (see [`Handler`]) until
/// `shutdown` resolves, then drains in-flight requests.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: H,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let service = Arc::new(Embedded { handler, body_timeout: limits.body_timeout });
    listener::serve(listener, service, limits, shutdown).await
}

/// A [`Handler`] behind the host's way in and out.
struct Embedded<H> {
    handler: H,
    body_timeout: Duration,
}

impl<H: Handler> Embedded<H> {
    async fn answer(
        self: Arc<Self>,
        peer: SocketAddr,
        local: SocketAddr,
        mut req: Request<Incoming>,
    ) -> Response<HostBody> {
        let log = AccessLog::new(&req);
        set_client_addr(req.headers_mut(), peer);
        ensure_host(&mut req, local);
        let response = match buffer_body(req, MAX_BODY_BYTES, self.body_timeout).await {
            Err(rejection) => {
                tracing::debug!(method = %log.method, route = log.route, reason = %rejection, "request body refused");
                rejection.into_response()
            }
            Ok(req) => self.handler.handle(req.map(Collected::to_bytes)).map(full),
        };
        answered(response, log)
    }
}

impl<H: Handler> Service for Embedded<H> {
    type Body = HostBody;

    fn call(
        self: Arc<Self>,
        peer: SocketAddr,
        local: SocketAddr,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<HostBody>> + Send {
        self.answer(peer, local, req)
    }
}
