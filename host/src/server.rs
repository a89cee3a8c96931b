//! The HTTP server: hyper 1 on Tokio, one fresh component instance per request.
//!
//! # Design
//!
//! At start-up [`App::new`] links everything the component may import into one
//! [`Linker`] (WASI 0.2, `wasi:http`, and the two Spin interfaces of world
//! `itsor:auth/platform`) and pre-instantiates the component into a [`ProxyPre`]: import
//! resolution and type checks happen once, and a component that does not fit is refused
//! before the server listens. `ProxyPre` looks the `wasi:http/incoming-handler` export up by
//! semver, so the component's `@0.2.0` export is found by wasmtime's `@0.2.x` bindings.
//!
//! Every request then gets its own [`Store`] holding a [`RequestState`]:
//!
//! * a [`WasiCtx`] with no preopened directories, no environment, no arguments and no
//!   network; the guest's stdout and stderr go to the host's stderr (stdout is reserved for
//!   the one "listening" line);
//! * a [`WasiHttpCtx`] whose hooks ([`DenyOutgoingHttp`]) refuse every outgoing request with
//!   `HTTP-request-denied`;
//! * the SQLite and variables hosts ([`crate::sqlite`], [`crate::variables`]);
//! * [`StoreLimits`] capping linear memory at [`crate::engine::MAX_MEMORY_BYTES`];
//! * an epoch deadline: every tick (10 ms) of guest execution yields to Tokio, so CPU-heavy
//!   guest code such as password hashing shares the worker threads fairly, and after
//!   [`GUEST_TIME_LIMIT`] the guest traps.
//!
//! Before the request reaches the guest, any client-sent `spin-client-addr` header is removed
//! and replaced by the socket's peer address ([`set_client_addr`]). The guest runs in its own
//! Tokio task so it can keep streaming the response body after `response-outparam.set`.
//! If instantiation fails, the guest traps, returns an error, never sets a response, or does
//! not answer in time, the client gets the JSON `500` of [`internal_error`] and the server
//! carries on: a guest can never take the host down.
//!
//! A semaphore with one permit per pooled instance slot makes a burst beyond the pool's
//! capacity queue instead of failing instantiation.
//!
//! Each request is logged once, at `info`: method, path (never the query string), status and
//! duration. Header values, bodies and tokens are never logged.
//!
//! SIGINT and SIGTERM stop accepting connections, let in-flight requests finish (up to
//! [`SHUTDOWN_GRACE`]) and return.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, HeaderValue};
use http::{HeaderMap, HeaderName, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::config::ComponentVariables;
use crate::engine::{MAX_INSTANCES, MAX_MEMORY_BYTES};
use crate::platform::PlatformState;
use crate::sqlite::{Database, SqliteHost};
use crate::variables::VariablesHost;

/// The header carrying the client's socket address to the component.
pub const CLIENT_ADDR_HEADER: &str = "spin-client-addr";

/// How long one request's guest may run before it traps.
pub const GUEST_TIME_LIMIT: Duration = Duration::from_secs(30);

/// How long in-flight requests may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The body of every host-generated `500`.
const INTERNAL_ERROR_BODY: &str =
    r#"{"detail":"Internal server error","error_code":"INTERNAL_ERROR","status_code":500}"#;

/// The state of one request's [`Store`].
pub struct RequestState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: DenyOutgoingHttp,
    sqlite: SqliteHost,
    variables: VariablesHost,
    limits: StoreLimits,
}

impl RequestState {
    fn new(database: Database, variables: Arc<ComponentVariables>) -> RequestState {
        let wasi = WasiCtx::builder()
            .stdout(tokio::io::stderr())
            .stderr(tokio::io::stderr())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        RequestState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: DenyOutgoingHttp,
            sqlite: SqliteHost::new(database),
            variables: VariablesHost::new(variables),
            limits: StoreLimitsBuilder::new()
                .memory_size(MAX_MEMORY_BYTES)
                .build(),
        }
    }
}

impl PlatformState for RequestState {
    fn sqlite(&mut self) -> &mut SqliteHost {
        &mut self.sqlite
    }

    fn variables(&mut self) -> &mut VariablesHost {
        &mut self.variables
    }
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// `wasi:http` hooks that refuse every outgoing request: the component has no business
/// calling out, and a compromised one must not be able to.
#[derive(Debug, Clone, Copy)]
pub struct DenyOutgoingHttp;

type OutgoingResult = wasmtime_wasi_http::Result<(
    http::Response<wasmtime_wasi_http::WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl WasiHttpHooks for DenyOutgoingHttp {
    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = OutgoingResult> + Send> {
        Box::new(std::future::ready(Err(
            wasmtime_wasi_http::Error::HttpRequestDenied,
        )))
    }
}

/// Everything the server shares between requests.
pub struct App {
    pre: ProxyPre<RequestState>,
    database: Database,
    variables: Arc<ComponentVariables>,
    slots: Arc<Semaphore>,
}

impl App {
    /// Links the host interfaces and pre-instantiates `component`.
    pub fn new(
        engine: &Engine,
        component: &Component,
        database: Database,
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
            database,
            variables: Arc::new(variables),
            slots: Arc::new(Semaphore::new(MAX_INSTANCES as usize)),
        })
    }

    /// Answers one request; never fails (errors become a JSON `500`).
    async fn answer(
        self: Arc<Self>,
        peer: SocketAddr,
        local: SocketAddr,
        mut req: Request<Incoming>,
    ) -> Response<HyperOutgoingBody> {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        set_client_addr(req.headers_mut(), peer);
        ensure_host(&mut req, local);
        let response = match self.run_guest(req).await {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(%method, %path, error = %summarize(&error), "request failed in the component");
                tracing::debug!(%method, %path, error = ?error, "request failure details");
                internal_error()
            }
        };
        tracing::info!(
            %method,
            %path,
            status = response.status().as_u16(),
            duration = ?started.elapsed(),
            "request"
        );
        response
    }

    /// Runs the component on `req` in a fresh instance and returns the response it sets.
    async fn run_guest(
        &self,
        req: Request<Incoming>,
    ) -> anyhow::Result<Response<HyperOutgoingBody>> {
        let permit = Arc::clone(&self.slots).acquire_owned().await?;
        let mut store = Store::new(
            self.pre.engine(),
            RequestState::new(self.database.clone(), Arc::clone(&self.variables)),
        );
        store.limiter(|state| &mut state.limits);
        let deadline = Instant::now() + GUEST_TIME_LIMIT;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::YieldCustom(
                    1,
                    Box::pin(tokio::task::yield_now()),
                ))
            }
        });

        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let pre = self.pre.clone();
        let task = tokio::task::spawn(async move {
            let _permit = permit;
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
        });

        // The guest cannot overrun its epoch deadline while computing, but it could wait on
        // a slow client's body forever: bound the wait for the response head too.
        match tokio::time::timeout(GUEST_TIME_LIMIT + Duration::from_secs(1), receiver).await {
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(code))) => Err(anyhow::anyhow!(
                "the component answered with error {code:?}"
            )),
            // The sender was dropped with the store: the guest returned or trapped unanswered.
            Ok(Err(_)) => match task.await {
                Ok(Ok(())) => Err(anyhow::anyhow!("the component never set a response")),
                Ok(Err(trap)) => Err(anyhow::Error::from(trap)),
                Err(join) => Err(anyhow::Error::from(join).context("the component task failed")),
            },
            Err(_) => {
                task.abort();
                Err(anyhow::anyhow!(
                    "the component did not answer within {GUEST_TIME_LIMIT:?}"
                ))
            }
        }
    }
}

/// An error chain on one line, without the multi-line parts (wasm backtraces), e.g.
/// `wasm trap: wasm \`unreachable\` instruction executed`.
pub fn summarize(error: &anyhow::Error) -> String {
    let parts: Vec<String> = error
        .chain()
        .map(|cause| cause.to_string())
        .filter(|text| !text.contains('\n'))
        .collect();
    if parts.is_empty() {
        error
            .root_cause()
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    } else {
        parts.join(": ")
    }
}

/// The host's own `500` answer, in the error shape every response uses.
pub fn internal_error() -> Response<HyperOutgoingBody> {
    let body = Full::new(Bytes::from_static(INTERNAL_ERROR_BODY.as_bytes()))
        .map_err(|never: Infallible| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
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
    TcpListener::bind((host, port))
        .await
        .with_context(|| format!("cannot listen on {host}:{port}"))
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
    type Body: hyper::body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static;

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

/// Serves HTTP/1.1 on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    app: Arc<H>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let local = listener.local_addr()?;
    let graceful = GracefulShutdown::new();
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
        let _ = stream.set_nodelay(true);
        let app = Arc::clone(&app);
        let service = hyper::service::service_fn(move |req| {
            let app = Arc::clone(&app);
            async move { Ok::<_, Infallible>(app.handle(peer, local, req).await) }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: waiting for in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("some connections were still open after {SHUTDOWN_GRACE:?}");
        }
    }
    Ok(())
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
        let mut with_host = Request::builder()
            .uri("/x")
            .header(HOST, "example.test")
            .body(())
            .unwrap();
        ensure_host(&mut with_host, local);
        assert_eq!(with_host.headers()[HOST], "example.test");
    }

    #[test]
    fn summaries_are_one_line() {
        let error = anyhow::anyhow!("root")
            .context("a\nmulti-line backtrace")
            .context("outer");
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

    #[tokio::test]
    async fn outgoing_http_is_denied() {
        let request = http::Request::new(
            http_body_util::Empty::new()
                .map_err(|never: Infallible| match never {})
                .boxed_unsync(),
        );
        let fut = Box::new(std::future::ready(Ok(())));
        let result = Box::into_pin(DenyOutgoingHttp.send_request(request, None, fut)).await;
        assert!(matches!(
            result,
            Err(wasmtime_wasi_http::Error::HttpRequestDenied)
        ));
    }
}
