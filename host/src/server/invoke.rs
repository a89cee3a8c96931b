//! The guest run: one fresh component instance per request, instantiated, called and
//! reaped, whatever it does.
//!
//! # Design
//!
//! At start-up [`Invoker::new`] links everything the component may import into one
//! [`Linker`] (WASI 0.2, `wasi:http`, and the three Spin interfaces of world
//! `itsor:auth/platform`) and pre-instantiates the component into a [`ProxyPre`]: import
//! resolution and type checks happen once, and a component that does not fit is refused
//! before the server listens. `ProxyPre` looks the `wasi:http/incoming-handler` export up by
//! semver, so the component's `@0.2.0` export is found by wasmtime's `@0.2.x` bindings.
//!
//! Each request then gets its own [`Store`] holding a [`RequestState`] (no files, no
//! environment, no network, outgoing HTTP refused, memory capped at
//! [`crate::engine::MAX_MEMORY_BYTES`]) and an epoch deadline: every tick (10 ms) of guest
//! execution yields to Tokio, so CPU-heavy guest code such as password hashing shares the
//! worker threads fairly, and after the request timeout the guest is interrupted. The guest
//! runs in the connection's own task, polled until it sets its response and then by the
//! response body until it returns; one abandoned by its client finishes in a task of its own
//! (see [`crate::guest`]).
//!
//! # Two ways into the guest
//!
//! The component exports the same HTTP handler twice (`wit/auth.wit`), and [`Invoker`] calls
//! one of them, as `ITSOR_GUEST_INTERFACE` says ([`GuestInterface`]):
//!
//! - **typed** (the default), `itsor:auth/http-handler`: the host passes the whole request
//!   as one record and gets the whole response back as another, one call in and one out, no
//!   resources and no streams ([`typed_request`], [`typed_response`]). The request's headers
//!   are shaped as `wasmtime-wasi-http` shows them to a guest (its own [`FieldMap`] strips
//!   the hop-by-hop fields, `host` goes last with the authority), and the response's fields
//!   are checked by the same [`FieldMap`] rules a `wasi:http` guest's are (a field they
//!   refuse makes the generic `500` the guest would send). The body goes to hyper without a
//!   size hint, like a `wasi:http` body stream, so hyper frames both alike. The answer is
//!   thus byte for byte the one `wasi:http` gives.
//! - **wasi-http**, `wasi:http/incoming-handler@0.2`, as Spin and other hosts call it.
//!
//! A component without the typed export (the misbehaving test fixture) is served through
//! `wasi:http` whatever the setting says. Both paths share the store, its limits, the
//! deadline and the failure mapping below; a typed guest answers only when it returns, so
//! a typed trap is always a `500`, never a cut body.
//!
//! # A trap never takes the host down
//!
//! Whatever the guest does ends in a response or a [`GuestFailure`], never in a panic of the
//! host: a failed instantiation, a trap (a panic in the guest, the memory cap), an error code
//! or a missing response is [`GuestFailure::Failed`]; the epoch interrupt, or a guest still
//! blocked in a host call (a clock wait, say) [`TIMEOUT_GRACE`] after the deadline, is
//! [`GuestFailure::TimedOut`]. A guest that has already sent its response head when it traps
//! or is stopped leaves the client with a body that ends abruptly (the connection is closed
//! before the body's end, never a short body that looks whole). Its instance slot is released
//! by the deadline at the latest.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Collected};
use tokio::sync::OwnedSemaphorePermit;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::{FieldMap, WasiHttpView};

use super::answers::HostBody;
use crate::bindings::ServedPre;
use crate::bindings::exports::itsor::auth::http_handler::{Request as TypedRequest, Response as TypedResponse};
use crate::config::{ComponentVariables, GuestInterface};
use crate::guest::{DenyOutgoingHttp, GuestBody, GuestRun, Outcome, RequestState};
use crate::metrics::metrics;
use crate::storage::Storage;

/// How much longer than the request timeout a guest may live before the host drops it,
/// which stops one blocked in a host call (a computing guest is interrupted by its epoch
/// deadline first).
pub const TIMEOUT_GRACE: Duration = Duration::from_secs(1);

/// Why a guest produced no response.
#[derive(Debug)]
pub enum GuestFailure {
    /// It ran (or waited) past the request timeout.
    TimedOut,
    /// Anything else: instantiation failure, trap, error code, no response.
    Failed(anyhow::Error),
}

/// How many bytes of response fields `wasmtime-wasi-http` lets a guest build (its
/// `WasiHttpCtx` default), applied to typed responses alike.
const FIELD_SIZE_LIMIT: usize = 128 * 1024;

/// The pre-instantiated component, and what each of its instances is given.
pub struct Invoker {
    pre: ProxyPre<RequestState>,
    /// The typed export, when the component has it and the typed path is chosen.
    typed: Option<ServedPre<RequestState>>,
    storage: Storage,
    variables: Arc<ComponentVariables>,
    /// The variables that are set, listed once: each typed request carries a copy.
    set_variables: Vec<(String, String)>,
}

impl Invoker {
    /// Links the host interfaces and pre-instantiates `component` (see the module
    /// documentation).
    pub fn new(
        engine: &Engine,
        component: &Component,
        storage: Storage,
        variables: ComponentVariables,
    ) -> anyhow::Result<Invoker> {
        let mut linker = Linker::<RequestState>::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        crate::platform::add_to_linker(&mut linker)?;
        let instance_pre = linker
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .context("the component imports something this host does not provide")?;
        let typed = ServedPre::new(instance_pre.clone()).ok();
        let pre = ProxyPre::new(instance_pre)
            .map_err(anyhow::Error::from)
            .context("the component does not export wasi:http/incoming-handler@0.2")?;
        let set_variables = variables.set();
        Ok(Invoker { pre, typed, storage, variables: Arc::new(variables), set_variables })
    }

    /// The same invoker calling `interface`; `wasi:http` if the component lacks the typed
    /// export (see the module documentation).
    #[must_use]
    pub fn with_interface(mut self, interface: GuestInterface) -> Invoker {
        match interface {
            GuestInterface::WasiHttp => self.typed = None,
            GuestInterface::Typed if self.typed.is_none() => tracing::warn!(
                "the component does not export itsor:auth/http-handler: serving through wasi:http/incoming-handler"
            ),
            GuestInterface::Typed => {}
        }
        self
    }

    /// The export each request is served through.
    pub fn interface(&self) -> GuestInterface {
        if self.typed.is_some() { GuestInterface::Typed } else { GuestInterface::WasiHttp }
    }

    /// A fresh store for one request ending at `deadline`: its memory cap, and an epoch
    /// deadline that yields every tick and interrupts the guest past `deadline`.
    fn store(&self, deadline: Instant) -> Store<RequestState> {
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
        store
    }

    /// The deployment's database, which every instance is given.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Runs the component on `req` in a fresh instance, holding `permit` until the guest is
    /// done, and returns the response it sets within `limit`. The guest runs in this task
    /// (see [`crate::guest`]): polled here until it sets its response, then by the response
    /// body.
    pub async fn run(
        &self,
        permit: OwnedSemaphorePermit,
        req: Request<Collected<Bytes>>,
        request_id: &str,
        limit: Duration,
    ) -> Result<Response<HostBody>, GuestFailure> {
        match &self.typed {
            Some(typed) => self.run_typed(typed.clone(), permit, req, request_id, limit).await,
            None => self.run_wasi_http(permit, req, request_id, limit).await,
        }
    }

    /// [`Invoker::run`] through `itsor:auth/http-handler`: the guest's whole run, store drop
    /// included, then its response.
    async fn run_typed(
        &self,
        pre: ServedPre<RequestState>,
        permit: OwnedSemaphorePermit,
        req: Request<Collected<Bytes>>,
        request_id: &str,
        limit: Duration,
    ) -> Result<Response<HostBody>, GuestFailure> {
        let request = typed_request(req, self.set_variables.clone()).map_err(GuestFailure::Failed)?;
        let mut store = self.store(Instant::now() + limit);
        let (sender, mut receiver) = tokio::sync::oneshot::channel();
        let (output, request_id) = (store.data().output(), request_id.to_owned());
        // Driven here; finished in a task of its own if the client goes away (see
        // `crate::guest`).
        let mut run = GuestRun::new(async move {
            let _permit = permit;
            let guest = async {
                let started = Instant::now();
                let served = pre.instantiate_async(&mut store).await?;
                metrics().instantiated(started.elapsed());
                served.itsor_auth_http_handler().call_handle(&mut store, &request).await
            };
            let outcome = match tokio::time::timeout(limit + TIMEOUT_GRACE, guest).await {
                Ok(Ok(response)) => {
                    let _ = sender.send(response);
                    Outcome::Returned
                }
                Ok(Err(error)) => Outcome::Failed(error),
                Err(_elapsed) => Outcome::DroppedAtDeadline,
            };
            drop(store);
            crate::guest::log_output(&output, &request_id);
            outcome
        });
        match std::future::poll_fn(|cx| run.poll_outcome(cx)).await {
            Outcome::Returned => match receiver.try_recv() {
                Ok(response) => typed_response(response).map_err(GuestFailure::Failed),
                Err(_) => Err(GuestFailure::Failed(anyhow::anyhow!("the component never set a response"))),
            },
            Outcome::Failed(error) if is_interrupt(&error) => Err(GuestFailure::TimedOut),
            Outcome::Failed(trap) => Err(GuestFailure::Failed(anyhow::Error::from(trap))),
            Outcome::DroppedAtDeadline => Err(GuestFailure::TimedOut),
        }
    }

    /// [`Invoker::run`] through `wasi:http/incoming-handler`.
    async fn run_wasi_http(
        &self,
        permit: OwnedSemaphorePermit,
        req: Request<Collected<Bytes>>,
        request_id: &str,
        limit: Duration,
    ) -> Result<Response<HostBody>, GuestFailure> {
        let mut store = self.store(Instant::now() + limit);
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

/// The typed request of `req`, as `wasmtime-wasi-http` would show it to a `wasi:http`
/// guest: the method, the path with its query (`/` if none), the fields without the
/// hop-by-hop ones, then `host` with the authority (the URI's, else the `Host` field's; a
/// request with neither is refused as `wasi:http` refuses it), and the body.
fn typed_request(req: Request<Collected<Bytes>>, variables: Vec<(String, String)>) -> anyhow::Result<TypedRequest> {
    let (parts, body) = req.into_parts();
    let authority = match parts.uri.authority() {
        Some(authority) => authority.to_string(),
        None => match parts.headers.get(http::header::HOST) {
            Some(host) => host.to_str()?.to_owned(),
            None => anyhow::bail!("invalid HTTP request missing authority in URI and host header"),
        },
    };
    let target = parts.uri.path_and_query().map_or("/", |target| target.as_str()).to_owned();
    let fields = FieldMap::new_immutable(&mut DenyOutgoingHttp, parts.headers);
    let mut headers: Vec<(String, Vec<u8>)> =
        fields.iter().map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec())).collect();
    headers.push(("host".to_owned(), authority.into_bytes()));
    Ok(TypedRequest {
        method: parts.method.as_str().to_owned(),
        target,
        headers,
        body: body.to_bytes().to_vec(),
        variables,
    })
}

/// The response of a typed guest, checked as `wasi:http` checks a guest's: fields that
/// [`FieldMap`] refuses make `itsor-http`'s generic `500` (what our guest sends then); a
/// status out of range or a `content-length` that is not the body's is no response.
fn typed_response(response: TypedResponse) -> anyhow::Result<Response<HostBody>> {
    let mut fields = FieldMap::new_mutable(FIELD_SIZE_LIMIT);
    for (name, value) in response.headers {
        if fields.append(&mut DenyOutgoingHttp, name, value).is_err() {
            let unsendable = itsor_http::Response::unsendable();
            return typed_response(TypedResponse {
                status: unsendable.status,
                headers: unsendable.headers.into_iter().map(|(name, value)| (name, value.into_bytes())).collect(),
                body: unsendable.body,
            });
        }
    }
    let Ok(status) = http::StatusCode::from_u16(response.status) else {
        anyhow::bail!("the component never set a response (status {})", response.status);
    };
    let headers = http::HeaderMap::from(fields);
    if let Some(length) = headers.get(http::header::CONTENT_LENGTH)
        && length.to_str().ok().and_then(|length| length.parse::<usize>().ok()) != Some(response.body.len())
    {
        anyhow::bail!("the component's content-length is not its body's length");
    }
    let mut answer = Response::new(WholeBody(Some(Bytes::from(response.body))).boxed_unsync());
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    Ok(answer)
}

/// A typed guest's whole body, handed to hyper the way a `wasi:http` body stream is: its
/// bytes as one frame (none if empty), with no size hint, so hyper frames both alike.
struct WholeBody(Option<Bytes>);

impl hyper::body::Body for WholeBody {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        let bytes = self.get_mut().0.take().filter(|bytes| !bytes.is_empty());
        Poll::Ready(bytes.map(|bytes| Ok(hyper::body::Frame::data(bytes))))
    }
}

/// Whether `error` is the trap of an epoch deadline (the guest ran out of time).
fn is_interrupt(error: &wasmtime::Error) -> bool {
    matches!(error.downcast_ref::<wasmtime::Trap>(), Some(wasmtime::Trap::Interrupt))
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn summaries_are_one_line() {
        let error = anyhow::anyhow!("root").context("a\nmulti-line backtrace").context("outer");
        assert_eq!(summarize(&error), "outer: root");
        let only_multi = anyhow::anyhow!("first line\nsecond");
        assert_eq!(summarize(&only_multi), "first line");
    }

    #[test]
    fn only_interrupts_are_timeouts() {
        assert!(is_interrupt(&wasmtime::Error::from(wasmtime::Trap::Interrupt)));
        assert!(!is_interrupt(&wasmtime::Error::from(wasmtime::Trap::UnreachableCodeReached)));
        assert!(!is_interrupt(&wasmtime::Error::msg("other")));
    }
}
