//! `itsor`: the wasmtime host of the itsor authentication component, as a library.
//!
//! The account logic is a sandboxed WebAssembly component (`wasm32-wasip2`); this crate runs
//! it. The `itsor` binary is [`run`], the command line. The rest of the public surface is a
//! small embedder API, and nothing more:
//!
//! * **Calling the component's typed API** (`examples/embed.rs`): [`Embedded`] over a store
//!   of [`RequestState`], its imports linked by [`add_to_linker`], its storage a
//!   [`Storage`] migrated by [`migrate_sqlite`], its settings [`ComponentVariables`].
//! * **Serving a handler of one's own through the host's HTTP stack** (the native benchmark
//!   reference in `bench/`): a [`Handler`] given to [`serve`] on a listener from [`bind`],
//!   announced by [`announce`], stopped by [`shutdown_signal`]; configured as `itsor serve`
//!   is, from an [`Environment`] and [`ListenArgs`] into a [`ServeConfig`].
//! * **Testing the providers** (the e2e suite): [`bindings`], [`PostgresHost`] and
//!   [`PostgresPool`].
//!
//! # Modules (all private)
//!
//! * `cli`: the command line (`itsor serve`, `itsor migrate`, `itsor keys`);
//! * `config`: the environment (process + `.env`) and the settings resolved from it;
//! * `engine`: the wasmtime engine, its epoch clock and the compiled-component cache;
//! * `server`: the HTTP server, one fresh component instance per request, split by job:
//!   the listener and graceful shutdown, a request's way in, the guest run, the host's own
//!   answers and the access log;
//! * `ops`: the probes (`/healthz`, `/readyz`) and the metrics endpoint, answered by the
//!   host; `metrics`: the Prometheus metrics; `logging`: text or JSON logs and the
//!   request id;
//! * `guest`: one request's store, and how its run is driven;
//! * `platform`: the component's Spin imports, `sqlite`, `postgres` and `variables`, linked
//!   into any store, plus typed bindings of its `itsor:auth/accounts` export;
//! * `keys`: the signing keys, made and rotated through the component;
//! * `storage`: the deployment's database (a SQLite file or a PostgreSQL pool), opened
//!   and migrated at start-up;
//! * `migrate`: the SQL migrations embedded in the binary.
//!
//! With every module private, rustc sees what the binary and this API do not use, and
//! reports it as dead code.

mod cli;
mod config;
mod engine;
mod guest;
mod keys;
mod logging;
mod metrics;
mod migrate;
mod ops;
mod platform;
mod postgres;
mod server;
mod sqlite;
mod storage;
mod variables;

/// Host bindings of world `itsor:auth/served`, which is `itsor:auth/platform`: `spin:sqlite/sqlite@3.0.0`,
/// `spin:postgres/postgres@4.0.0` (asynchronous on the host side: its statements wait on
/// the network) and `fermyon:spin/variables@2.0.0`, implemented by the `sqlite`,
/// `postgres` and `variables` modules; and, as world `itsor:auth/served` adds, the typed
/// `itsor:auth/http-handler` export that `itsor serve` calls (see `server::invoke`).
#[allow(missing_docs)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "itsor:auth/served",
        imports: { "spin:postgres/postgres": async },
        // The guest may wait on `spin:postgres`, whose host side is asynchronous.
        exports: { default: async },
        with: {
            "spin:sqlite/sqlite.connection": crate::sqlite::ConnectionState,
            "spin:postgres/postgres.connection": crate::postgres::PgConnection,
        },
    });
}

pub use cli::{ListenArgs, run};
pub use config::{
    ComponentVariables, DatabaseTarget, Environment, GuestInterface, Limits, ServeConfig, default_component_path,
    unknown_settings,
};
pub use guest::RequestState;
pub use logging::init as init_logging;
pub use migrate::{embedded_postgres, run as migrate_sqlite};
pub use platform::{AccountsError, Embedded, add_to_linker};
pub use postgres::{PostgresHost, PostgresPool, connect as connect_postgres};
pub use server::{Handler, announce, bind, serve, shutdown_signal};
pub use sqlite::Database as SqliteDatabase;
pub use storage::Storage;
