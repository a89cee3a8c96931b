//! One request's guest: the state of its [`Store`], and how its run is driven.
//!
//! # The store
//!
//! Every request gets its own [`Store`] holding a [`RequestState`]: a [`WasiCtx`] with no
//! preopened directories, no environment, no arguments and no network (the guest's stdout
//! and stderr are collected in memory, at most [`GUEST_OUTPUT_BYTES`], and logged by the
//! host line by line with the request's id once the guest is done, see [`log_output`], so
//! they reach the log in its format, never the host's stdout);
//! a [`WasiHttpCtx`] whose hooks ([`DenyOutgoingHttp`]) refuse every outgoing request; the
//! SQLite, PostgreSQL and variables hosts (only the deployment's database is reachable: the
//! other provider refuses every `open`); and [`StoreLimits`] capping linear memory at
//! [`MAX_MEMORY_BYTES`].
//!
//! # Driving the run without a task of its own
//!
//! A guest keeps running after `response-outparam.set`: it still writes the response body
//! and returns. Rather than spawning a Tokio task per guest, the run is polled by whoever
//! waits on it, in the connection's own task: the server polls it until the response head
//! is set, then [`GuestBody`] polls it while hyper reads the body, until it returns. On the
//! common path no task is spawned and no wake-up crosses threads (see
//! `docs/BENCHMARKS.md` for what that saved).
//!
//! If hyper drops either before the guest has returned (the client went away), the
//! [`GuestRun`]'s `Drop` hands the rest of the run to a Tokio task of its own: a departing
//! client never cuts a guest short between two writes; it runs to completion or to its
//! deadline, holding its instance slot, exactly as if the client had stayed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::config::ComponentVariables;
use crate::engine::MAX_MEMORY_BYTES;
use crate::platform::PlatformState;
use crate::postgres::PostgresHost;
use crate::sqlite::SqliteHost;
use crate::storage::Storage;
use crate::variables::VariablesHost;

/// The state of one request's [`Store`](wasmtime::Store) (see the module documentation);
/// also a ready-made store state for embedders (`examples/embed.rs`).
pub struct RequestState {
    wasi: WasiCtx,
    output: MemoryOutputPipe,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: DenyOutgoingHttp,
    sqlite: SqliteHost,
    postgres: PostgresHost,
    variables: VariablesHost,
    limits: StoreLimits,
}

impl RequestState {
    /// A store's state over `storage`, with the component's `variables`.
    pub fn new(storage: &Storage, variables: Arc<ComponentVariables>) -> RequestState {
        let output = MemoryOutputPipe::new(GUEST_OUTPUT_BYTES);
        let wasi = WasiCtx::builder()
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        RequestState {
            wasi,
            output,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: DenyOutgoingHttp,
            sqlite: SqliteHost::new(storage.sqlite().cloned()),
            postgres: PostgresHost::new(storage.postgres().cloned()),
            variables: VariablesHost::new(variables),
            limits: StoreLimitsBuilder::new().memory_size(MAX_MEMORY_BYTES).build(),
        }
    }

    /// The same state, whose database statements are interrupted at `deadline` (the
    /// request's: host calls are not interrupted by epochs).
    #[must_use]
    pub fn with_deadline(mut self, deadline: std::time::Instant) -> RequestState {
        self.sqlite.set_deadline(deadline);
        self.postgres.set_deadline(deadline);
        self
    }

    /// What the guest wrote to stdout and stderr (a handle that outlives the store).
    pub fn output(&self) -> MemoryOutputPipe {
        self.output.clone()
    }

    /// The memory cap, for [`Store::limiter`](wasmtime::Store::limiter).
    pub fn limits(&mut self) -> &mut StoreLimits {
        &mut self.limits
    }
}

impl PlatformState for RequestState {
    fn sqlite(&mut self) -> &mut SqliteHost {
        &mut self.sqlite
    }

    fn postgres(&mut self) -> &mut PostgresHost {
        &mut self.postgres
    }

    fn variables(&mut self) -> &mut VariablesHost {
        &mut self.variables
    }
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// The most a guest may write to stdout and stderr in one request; a write beyond fails
/// (the guest's own business: ours writes a line per failed request).
pub const GUEST_OUTPUT_BYTES: usize = 256 << 10;

/// The longest guest line logged; the rest of a longer one is cut.
const MAX_LOGGED_LINE: usize = 2048;

/// Logs what the guest wrote, a `warn` line per line of it (the component writes only why a
/// request failed: a storage fault, a refused setting's name, a panic), with `request_id`.
pub fn log_output(output: &MemoryOutputPipe, request_id: &str) {
    let bytes = output.contents();
    for line in String::from_utf8_lossy(&bytes).lines().filter(|l| !l.trim().is_empty()) {
        let line: String = line.chars().take(MAX_LOGGED_LINE).collect();
        tracing::warn!(target: "itsor::guest", request_id, "{line}");
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
        Box::new(std::future::ready(Err(wasmtime_wasi_http::Error::HttpRequestDenied)))
    }
}

/// How a guest's run ended.
#[derive(Debug)]
pub enum Outcome {
    /// Its handler returned normally.
    Returned,
    /// It trapped, failed to instantiate, or was interrupted by its epoch deadline.
    Failed(wasmtime::Error),
    /// It was still blocked (in a host call) at its deadline and was dropped.
    DroppedAtDeadline,
}

impl Outcome {
    /// Whether the handler returned normally.
    pub fn returned(&self) -> bool {
        matches!(self, Outcome::Returned)
    }
}

/// A guest's whole run (instantiation, handler, store drop), polled by whoever waits on it,
/// and finished in a Tokio task of its own if dropped before it is done.
pub struct GuestRun {
    run: Option<Pin<Box<dyn Future<Output = Outcome> + Send>>>,
}

impl GuestRun {
    /// Wraps `run`; it does nothing until polled.
    pub fn new(run: impl Future<Output = Outcome> + Send + 'static) -> GuestRun {
        GuestRun { run: Some(Box::pin(run)) }
    }

    /// Advances the run; `Ready` once, with its outcome. A finished run stays `Pending`.
    pub fn poll_outcome(&mut self, cx: &mut Context<'_>) -> Poll<Outcome> {
        let Some(run) = self.run.as_mut() else {
            return Poll::Pending;
        };
        let outcome = ready!(run.as_mut().poll(cx));
        self.run = None;
        Poll::Ready(outcome)
    }
}

impl Drop for GuestRun {
    fn drop(&mut self) {
        if let Some(run) = self.run.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(run);
                }
                // Outside a runtime (shutdown): the guest is dropped with its store.
                Err(_) => drop(run),
            }
        }
    }
}

/// A guest's response body, which drives the guest's run while it is read (see the module
/// documentation) and fails, instead of ending, unless the guest returned normally.
///
/// `wasmtime-wasi-http` ends the body cleanly when the guest's store goes away without
/// finishing it, so a cut body would look complete (a final empty chunk); failing it
/// instead makes hyper close the connection without one, and the client sees the truncation.
pub struct GuestBody {
    inner: HyperOutgoingBody,
    run: GuestRun,
    /// Whether the guest returned normally, once known.
    returned: Option<bool>,
}

impl GuestBody {
    /// The body `inner` of a guest whose `run` may still be going, or has ended with
    /// `returned` already known.
    pub fn new(inner: HyperOutgoingBody, run: GuestRun, returned: Option<bool>) -> GuestBody {
        GuestBody { inner, run, returned }
    }
}

impl Body for GuestBody {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(outcome) = this.run.poll_outcome(cx) {
            this.returned = Some(outcome.returned());
        }
        if let Some(frame) = ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            return Poll::Ready(Some(frame));
        }
        // The body ended. Its end counts only once the guest is known to have returned;
        // the run, still going, has registered this task's waker.
        match this.returned {
            None => Poll::Pending,
            Some(true) => Poll::Ready(None),
            Some(false) => Poll::Ready(Some(Err(wasmtime_wasi_http::Error::HttpResponseIncomplete))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.returned == Some(true) && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use std::convert::Infallible;
    use std::time::Duration;

    use http_body_util::{BodyExt, Full};

    use super::*;

    fn body() -> HyperOutgoingBody {
        Full::new(Bytes::from_static(b"partial")).map_err(|never: Infallible| match never {}).boxed_unsync()
    }

    #[tokio::test]
    async fn a_guest_body_ends_only_if_its_guest_returned() {
        for returned in [true, false] {
            let outcome = if returned { Outcome::Returned } else { Outcome::DroppedAtDeadline };
            let run = GuestRun::new(std::future::ready(outcome));
            let result = GuestBody::new(body(), run, None).collect().await;
            if returned {
                assert_eq!(result.unwrap().to_bytes(), "partial");
            } else {
                assert!(matches!(result, Err(wasmtime_wasi_http::Error::HttpResponseIncomplete)));
            }
        }
    }

    #[tokio::test]
    async fn a_guest_body_waits_for_its_guest_and_drives_it() {
        // The guest returns only after the body's bytes were all read: the body must keep
        // polling the run rather than end early or hang.
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let run = GuestRun::new(async move {
            tokio::task::yield_now().await;
            let _ = finish.send(());
            Outcome::Returned
        });
        let collected = tokio::time::timeout(Duration::from_secs(5), GuestBody::new(body(), run, None).collect())
            .await
            .expect("the body ends once its guest returns");
        assert_eq!(collected.unwrap().to_bytes(), "partial");
        finished.await.expect("the guest ran to its end");
    }

    #[tokio::test]
    async fn a_dropped_run_finishes_in_a_task_of_its_own() {
        let (gate, opened) = tokio::sync::oneshot::channel::<()>();
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let run = GuestRun::new(async move {
            let _ = opened.await;
            let _ = finish.send(());
            Outcome::Returned
        });
        drop(GuestBody::new(body(), run, None));
        gate.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), finished)
            .await
            .expect("the detached run went on")
            .expect("the run completed rather than being dropped");
    }

    #[tokio::test]
    async fn outgoing_http_is_denied() {
        let request =
            http::Request::new(http_body_util::Empty::new().map_err(|never: Infallible| match never {}).boxed_unsync());
        let fut = Box::new(std::future::ready(Ok(())));
        let result = Box::into_pin(DenyOutgoingHttp.send_request(request, None, fut)).await;
        assert!(matches!(result, Err(wasmtime_wasi_http::Error::HttpRequestDenied)));
    }
}
