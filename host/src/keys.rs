//! `itsor keys` and the first key of an EdDSA or ES256 deployment: the component's
//! `itsor:auth/signing-keys` export, called once outside any request.
//!
//! Keys are made, sealed and stored by the component (`itsor-accounts`' `keys` module),
//! never by the host: the host only calls the export, in a store like a request's (the
//! same WASI sandbox, storage and variables providers, memory cap), so `itsor keys rotate`
//! does exactly what a guest under Spin would do against the same database.

use std::sync::Arc;

use anyhow::Context as _;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

use crate::config::ComponentVariables;
use crate::guest::RequestState;
use crate::platform::{AccountsError, Embedded};
use crate::storage::Storage;

/// What to ask of the signing keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCall {
    /// Make a new key, which signs from now on.
    Rotate,
    /// The key that signs now, made first if there is none.
    Current,
}

/// Runs `call` on a fresh instance of `component` over `storage` and `variables`; returns
/// the `kid` (none for [`KeyCall::Current`] with an HMAC algorithm).
pub async fn run(
    engine: &Engine,
    component: &Component,
    storage: &Storage,
    variables: Arc<ComponentVariables>,
    call: KeyCall,
) -> anyhow::Result<Option<String>> {
    let mut linker = Linker::<RequestState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    crate::platform::add_to_linker(&mut linker)?;
    let mut store = Store::new(engine, RequestState::new(storage, variables));
    store.limiter(|state| state.limits());
    // Engines with epoch interruption (the server's) would stop the guest at once.
    store.set_epoch_deadline(1 << 40);
    let itsor = Embedded::instantiate_async(&mut store, component, &linker)
        .await
        .map_err(anyhow::Error::from)
        .context("the component does not export itsor:auth/signing-keys")?;
    let keys = itsor.itsor_auth_signing_keys();
    let answer = match call {
        KeyCall::Rotate => keys.call_rotate(&mut store).await?.map(Some),
        KeyCall::Current => keys.call_current(&mut store).await?,
    };
    crate::guest::log_output(&store.data().output(), "keys");
    answer.map_err(|error| anyhow::anyhow!("signing keys: {}", describe(&error)))
}

/// An error of the export, for the operator (names settings, never values).
fn describe(error: &AccountsError) -> String {
    match error {
        AccountsError::Misconfigured(message)
        | AccountsError::Unavailable(message)
        | AccountsError::Internal(message) => message.clone(),
        other => format!("{other:?}"),
    }
}
