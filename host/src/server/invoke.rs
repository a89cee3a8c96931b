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
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;

use super::answers::HostBody;
use crate::config::ComponentVariables;
use crate::guest::{GuestBody, GuestRun, Outcome, RequestState};
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

/// The pre-instantiated component, and what each of its instances is given.
pub struct Invoker {
    pre: ProxyPre<RequestState>,
    storage: Storage,
    variables: Arc<ComponentVariables>,
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
        let pre = ProxyPre::new(instance_pre)
            .map_err(anyhow::Error::from)
            .context("the component does not export wasi:http/incoming-handler@0.2")?;
        Ok(Invoker { pre, storage, variables: Arc::new(variables) })
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
