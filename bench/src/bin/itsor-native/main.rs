//! `itsor-native`: **a benchmark reference, not a product.**
//!
//! Serves the component's logic (`itsor_http::handle` over `itsor-accounts`) compiled
//! natively, with no Wasm sandbox, through the same HTTP stack as `itsor serve` (the
//! host's [`itsor::serve`], see [`native`]). It reads the same environment
//! (`BACKEND_DATABASE_URL`, `HOST`, `PORT`, the component settings, the `ITSOR_*` header and
//! body timeouts, `.env`), applies the migrations, prints the same
//! `itsor listening on http://ADDR` line and stops on SIGINT/SIGTERM. `make bench` runs it
//! beside `itsor serve` to measure what the sandbox costs; do not deploy it: it has no
//! per-request isolation, memory cap or deadline.

mod native;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use itsor::{ComponentVariables, DatabaseTarget, Environment, ListenArgs, ServeConfig};

use native::NativeApp;

/// Benchmark reference: itsor's logic served natively (no Wasm). Not for production.
#[derive(Debug, Parser)]
#[command(name = "itsor-native", version)]
struct Cli {
    #[command(flatten)]
    listen: ListenArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("itsor-native: error: {}", format!("{error:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let env = Environment::load(Path::new(".env"))?;
    itsor::init_logging(&env);
    for unknown in itsor::unknown_settings(&env) {
        tracing::warn!("{unknown}");
    }
    let variables = ComponentVariables::from_env(&env);
    variables.validate()?;
    let flags = cli.listen.overrides(None);
    let config = ServeConfig::resolve(&env, &flags, None)?;
    let DatabaseTarget::Sqlite(path) = &config.database else {
        anyhow::bail!("itsor-native, the benchmark reference, serves SQLite only");
    };
    for version in itsor::migrate_sqlite(path)? {
        tracing::info!(version, "applied migration");
    }
    let database = itsor::SqliteDatabase::prepare(path)?;
    tracing::warn!("itsor-native is a benchmark reference: no sandbox, do not deploy");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("itsor-native-worker")
        .build()
        .context("cannot start the Tokio runtime")?;
    runtime.block_on(async {
        let listener = itsor::bind(&config.host, config.port).await?;
        let app = NativeApp::new(database, variables);
        itsor::announce(&listener)?;
        itsor::serve(listener, app, &config.limits, itsor::shutdown_signal()).await
    })
}
