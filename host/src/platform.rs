//! The component's platform, for any store: `spin:sqlite`, `spin:postgres` and
//! `fermyon:spin/variables`.
//!
//! The HTTP server links them into every request's store; an embedder links them into its
//! own store and calls the typed `itsor:auth/accounts` export through [`Embedded`] instead
//! of HTTP. Both get the same providers. `spin:postgres` is asynchronous on the host side:
//! a store that may reach PostgreSQL must call the component with `call_async`.

use wasmtime::component::{HasSelf, Linker};

use crate::postgres::PostgresHost;
use crate::sqlite::SqliteHost;
use crate::variables::VariablesHost;

/// A store state that carries the platform providers.
pub trait PlatformState: Send + 'static {
    /// This store's SQLite provider.
    fn sqlite(&mut self) -> &mut SqliteHost;
    /// This store's PostgreSQL provider.
    fn postgres(&mut self) -> &mut PostgresHost;
    /// This store's variables provider.
    fn variables(&mut self) -> &mut VariablesHost;
}

/// Links `spin:sqlite/sqlite@3.0.0`, `spin:postgres/postgres@4.0.0` and
/// `fermyon:spin/variables@2.0.0` into `linker`.
pub fn add_to_linker<T: PlatformState>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    crate::bindings::spin::sqlite::sqlite::add_to_linker::<T, HasSelf<SqliteHost>>(linker, T::sqlite)?;
    crate::bindings::spin::postgres::postgres::add_to_linker::<T, HasSelf<PostgresHost>>(linker, T::postgres)?;
    crate::bindings::fermyon::spin::variables::add_to_linker::<T, HasSelf<VariablesHost>>(linker, T::variables)?;
    Ok(())
}

/// Typed bindings of world `itsor:auth/embedded`: the platform imports (the same host
/// implementations as [`add_to_linker`]) and the `itsor:auth/accounts` export.
#[allow(missing_docs)]
mod embedded {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "itsor:auth/embedded",
        // The guest may wait on `spin:postgres`, whose host side is asynchronous.
        exports: { default: async },
        with: {
            "spin:sqlite/sqlite": crate::bindings::spin::sqlite::sqlite,
            "spin:postgres/postgres": crate::bindings::spin::postgres::postgres,
            "fermyon:spin/variables": crate::bindings::fermyon::spin::variables,
        },
    });
}

pub use embedded::Embedded;
pub use embedded::exports::itsor::auth::accounts::Error as AccountsError;
