//! Runs a `wasm32-wasip2` command component (`wasi:cli/command`) on the same wasmtime as
//! `itsor`: `wasi-run <component.wasm> [args...]`. Stdio, environment and arguments are
//! inherited (argv[0] is the component's path); no directories or network are granted. The
//! exit status is the component's.
//!
//! It is the Cargo runner of `make test-wasm`, which runs crates' libtest harnesses in Wasm:
//!
//! ```text
//! cargo build --release -p itsor --example wasi-run
//! CARGO_TARGET_WASM32_WASIP2_RUNNER=$CARGO_TARGET_DIR/release/examples/wasi-run \
//!     cargo test -p itsor-argon2 --target wasm32-wasip2 --release
//! ```

use std::process::ExitCode;

use anyhow::Context as _;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, ProfilingStrategy, Store};
use wasmtime_wasi::p2::bindings::sync::Command;
use wasmtime_wasi::{I32Exit, WasiCtx, WasiCtxView, WasiView};

struct State {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}

fn main() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        anyhow::bail!("usage: wasi-run <component.wasm> [args...]");
    };
    // SIMD128 is on in wasmtime's default configuration. WASI_RUN_PERFMAP=1 writes
    // /tmp/perf-<pid>.map, so that `perf record` names the compiled Wasm functions.
    let mut config = Config::new();
    if std::env::var_os("WASI_RUN_PERFMAP").is_some() {
        config.profiler(ProfilingStrategy::PerfMap);
    }
    let engine = Engine::new(&config)?;
    let component = Component::from_file(&engine, path)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot load {path}"))?;
    let mut linker = Linker::<State>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    let ctx = WasiCtx::builder().inherit_stdio().inherit_env().args(&args).build();
    let mut store = Store::new(&engine, State { ctx, table: ResourceTable::new() });
    let command = Command::instantiate(&mut store, &component, &linker)?;
    match command.wasi_cli_run().call_run(&mut store) {
        Ok(Ok(())) => Ok(ExitCode::SUCCESS),
        Ok(Err(())) => Ok(ExitCode::FAILURE),
        // `std::process::exit` in the guest.
        Err(error) => match error.downcast_ref::<I32Exit>() {
            Some(I32Exit(code)) => Ok(ExitCode::from(u8::try_from(*code).unwrap_or(1))),
            None => Err(error.into()),
        },
    }
}
