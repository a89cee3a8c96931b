//! `itsor`: the wasmtime host of the itsor authentication component, as a library.
//!
//! The account logic is a sandboxed WebAssembly component (`wasm32-wasip2`); this crate runs
//! it. The `itsor` binary serves it over HTTP; the same pieces let a Rust program embed it
//! and call its typed API (see `examples/embed.rs`). Modules:
//!
//! * [`cli`]: the command-line flags the binaries share;
//! * [`config`]: the environment (process + `.env`) and the settings resolved from it;
//! * [`engine`]: the wasmtime engine, its epoch clock and the compiled-component cache;
//! * [`server`]: the HTTP server, one fresh component instance per request;
//! * [`answers`]: the answers the host makes itself, hyper's automatic ones made JSON;
//! * [`ops`]: the probes (`/healthz`, `/readyz`) and the metrics endpoint, answered by the
//!   host; [`metrics`]: the Prometheus metrics; [`logging`]: text or JSON logs and the
//!   request id;
//! * [`guest`]: one request's store, and how its run is driven;
//! * [`platform`]: the component's Spin imports, [`sqlite`], [`postgres`] and
//!   [`variables`], linked into any store, plus typed bindings of its `itsor:auth/accounts`
//!   export;
//! * [`storage`]: the deployment's database (a SQLite file or a PostgreSQL pool), opened
//!   and migrated at start-up;
//! * [`migrate`]: the SQL migrations embedded in the binary;
//! * [`native`]: a benchmark reference only: the component's logic compiled natively and
//!   served by the same [`server`] stack (binary `itsor-native`, see `docs/BENCHMARKS.md`).

pub mod answers;
pub mod cli;
pub mod config;
pub mod engine;
pub mod guest;
pub mod keys;
pub mod logging;
pub mod metrics;
pub mod migrate;
pub mod native;
pub mod ops;
pub mod platform;
pub mod postgres;
pub mod server;
pub mod sqlite;
pub mod storage;
pub mod variables;

/// Host bindings of world `itsor:auth/platform`: `spin:sqlite/sqlite@3.0.0`,
/// `spin:postgres/postgres@4.0.0` (asynchronous on the host side: its statements wait on
/// the network) and `fermyon:spin/variables@2.0.0`, implemented by [`sqlite`],
/// [`postgres`] and [`variables`].
#[allow(missing_docs)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "itsor:auth/platform",
        imports: { "spin:postgres/postgres": async },
        with: {
            "spin:sqlite/sqlite.connection": crate::sqlite::ConnectionState,
            "spin:postgres/postgres.connection": crate::postgres::PgConnection,
        },
    });
}

pub use logging::init as init_logging;
