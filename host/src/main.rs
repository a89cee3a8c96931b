//! `itsor`: the command line. `itsor serve` serves the component over HTTP; `itsor migrate`
//! applies the database migrations. Everything else lives in the `itsor` library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use itsor::cli::ListenArgs;
use itsor::config::{self, ComponentVariables, ConfigError, Environment, ServeConfig};
use itsor::keys::KeyCall;
use itsor::storage::Storage;
use itsor::{engine, migrate, server};

/// Host environment variables, shown at the end of `--help`.
const HOST_ENVIRONMENT_HELP: &str = "\
Environment (read from the process and from ./.env; the process wins; flags win over both):
  BACKEND_DATABASE_URL     the database (alias DATABASE_URL): a SQLite file, as
                           sqlite:///./relative.db or sqlite:////absolute.db, or PostgreSQL,
                           as postgresql://user:password@host/db?sslmode=require
                           [default: sqlite:///./backend/itsor.db]
  ITSOR_PG_POOL_SIZE       PostgreSQL connections this host opens at most (1 to 256);
                           hosts x this must stay under the server's max_connections
                           [default: 8]
  HOST                     address to listen on  [default: 127.0.0.1]
  PORT                     port to listen on; 0 picks a free one  [default: 3002]
  ITSOR_COMPONENT          the component .wasm
                           [default: <exe dir>/../wasm32-wasip2/component/itsor_auth.wasm]
  ITSOR_CACHE_DIR          compiled-component cache
                           [default: $XDG_CACHE_HOME/itsor, else ~/.cache/itsor]
  ITSOR_MAX_CONCURRENT     component instances running at once (1 to 1000); a request
                           that finds none free within 1 s gets 503 with Retry-After
                           [default: 1000, the instance pool's size]
  ITSOR_MAX_CONNECTIONS    connections open at once; one more gets 503 and is closed
                           [default: 4000]
  ITSOR_REQUEST_TIMEOUT_SECONDS
                           time one request's component may run before it is stopped
                           and the client gets 503 TIMEOUT  [default: 30]
  ITSOR_BODY_TIMEOUT_SECONDS
                           time a client may take to send a request body (at most
                           64 KiB, else 413) before it gets 408  [default: 10]
  ITSOR_HEADER_TIMEOUT_SECONDS
                           time a client may take to send a request's headers (at most
                           64 headers and 16 KiB, else 431), and the keep-alive idle
                           timeout; then the connection is closed  [default: 10]
                           (the three timeouts take seconds, fractions allowed: 0.5)
  ITSOR_DRAIN_SECONDS      after SIGTERM, how long connections are still accepted with
                           /readyz already 503  [default: 5]
  ITSOR_SHUTDOWN_SECONDS   then, how long in-flight requests may take to finish
                           [default: 30]
  ITSOR_METRICS_ADDR       where Prometheus metrics are served (GET /metrics), e.g.
                           127.0.0.1:9464  [default: nowhere]
  ITSOR_LOG_FORMAT         text or json (one object per line)  [default: text]
  RUST_LOG                 log filter for stderr (e.g. debug, itsor=debug)  [default: info]";

/// What each component setting means, for `--help` (the list itself comes from
/// `itsor_accounts::config::VARIABLES`, so new settings show up without a change here).
fn describe(variable: &str) -> &'static str {
    match variable {
        "backend_env" => {
            "local, dev or test relax the rules; anything else is production; unset is local, \
             refused when HOST is not a loopback address"
        }
        "jwt_secret" => {
            "token signing key (with EdDSA or ES256: the key the signing keys are encrypted \
             under); outside local/dev/test: random, >= 32 bytes (48 with HS384, 64 with \
             HS512), >= 16 distinct, no placeholder"
        }
        "jwt_secret_previous" => "the secret before a rotation: verifies tokens until they expire, never signs",
        "session_cookie_prefix" => "outside local/dev/test: __Host- or __Secure-",
        "account_page" => "the /account page: auto (local/dev/test only), on or off",
        "jwt_algorithm" => {
            "HS256, HS384 or HS512 (the secret signs), or EdDSA or ES256 (keys of itsor's own, \
             published at /.well-known/jwks.json; `itsor keys rotate`)"
        }
        "jwt_refresh_days" => {
            "0: no refresh tokens; more: logins also return one, and a session lives this long since its last refresh"
        }
        "jwt_refresh_reuse_seconds" => {
            "how long a used refresh token still gets the same successor (concurrent refreshes)"
        }
        "jwt_access_minutes" => "access-token lifetime in minutes",
        "jwt_access_seconds" => "access-token lifetime in seconds (overrides minutes)",
        "jwt_leeway_seconds" => "clock skew tolerated on token times, in seconds",
        "jwt_issuer" => "the `iss` of issued tokens",
        "session_cookie_name" => "name of the session cookie",
        "session_cookie_secure" => "true or false",
        "session_cookie_samesite" => "lax, strict or none",
        "cors_origins" => "comma-separated browser origins (https://app.example) allowed with credentials",
        "database_url" => "set by the host from BACKEND_DATABASE_URL (Spin: the manifest)",
        _ => "",
    }
}

/// The full environment help: host variables, then every component setting.
fn environment_help() -> String {
    use std::fmt::Write as _;
    let mut help =
        format!("{HOST_ENVIRONMENT_HELP}\n\nComponent settings (given to the component; checked at start-up):\n");
    for variable in itsor_accounts::config::VARIABLES {
        let env_var = config::env_var_for(variable.name);
        let default = match variable.default {
            Some(value) if !variable.secret => format!("  [default: {value}]"),
            Some(_) => "  [default: a development-only value]".to_owned(),
            None => String::new(),
        };
        let line = format!("  {env_var:<24} {}{default}", describe(variable.name));
        let _ = writeln!(help, "{}", line.trim_end());
    }
    help
}

/// Serves the itsor authentication component (sign-up, login, sessions) over HTTP.
#[derive(Debug, Parser)]
#[command(name = "itsor", version, after_help = "Run `itsor serve --help` for the environment variables.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Applies pending migrations, then serves the component over HTTP until SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Applies pending database migrations and exits.
    #[command(after_help = "Environment: BACKEND_DATABASE_URL (see `itsor serve --help`).")]
    Migrate(MigrateArgs),
    /// Manages the token-signing keys of JWT_ALGORITHM=EdDSA or ES256.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Makes a new signing key (after applying pending migrations): new tokens are signed with it at once, tokens of the previous
    /// key keep verifying until they expire, and keys no token can name leave the key set.
    #[command(after_help = "Environment: as `itsor serve` (JWT_ALGORITHM, JWT_SECRET, BACKEND_DATABASE_URL, ...).")]
    Rotate(KeysArgs),
    /// Prints the id (kid) of the key that signs now, making the first one if there is none.
    Current(KeysArgs),
}

#[derive(Debug, Args)]
struct KeysArgs {
    /// Database URL, sqlite:/// or postgresql:// [env: BACKEND_DATABASE_URL]
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Path of the component .wasm [env: ITSOR_COMPONENT]
    #[arg(long, value_name = "PATH")]
    component: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    listen: ListenArgs,
    /// Serve without applying pending migrations (for deployments that run `itsor migrate`
    /// separately)
    #[arg(long)]
    no_migrate: bool,
    /// Path of the component .wasm [env: ITSOR_COMPONENT]
    #[arg(long, value_name = "PATH")]
    component: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct MigrateArgs {
    /// Database URL, sqlite:/// or postgresql:// [env: BACKEND_DATABASE_URL]
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

/// The command line, with the generated environment help attached to `itsor serve`.
fn command() -> clap::Command {
    use clap::CommandFactory as _;
    let environment = environment_help();
    Cli::command().mut_subcommand("serve", |serve| serve.after_help(environment))
}

fn main() -> ExitCode {
    use clap::FromArgMatches as _;
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let result = Environment::load(Path::new(".env")).map_err(anyhow::Error::from).and_then(|env| {
        itsor::init_logging(&env);
        match cli.command {
            Command::Serve(args) => serve(&env, args),
            Command::Migrate(args) => migrate(&env, args),
            Command::Keys(KeysCommand::Rotate(args)) => keys(&env, args, KeyCall::Rotate),
            Command::Keys(KeysCommand::Current(args)) => keys(&env, args, KeyCall::Current),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            match error.downcast_ref::<ConfigError>() {
                Some(refused @ ConfigError::Refused { .. }) => eprintln!("itsor: {refused}"),
                _ => eprintln!("itsor: error: {}", one_line(&error)),
            }
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line: `outer: inner: root`.
fn one_line(error: &anyhow::Error) -> String {
    format!("{error:#}").replace('\n', " ")
}

/// `itsor migrate`.
fn migrate(env: &Environment, args: MigrateArgs) -> anyhow::Result<()> {
    let target = config::resolve_database(env, args.database_url.as_deref())?;
    let applied = migrate::run_target(&target)?;
    if applied.is_empty() {
        println!("database is up to date");
    }
    for version in applied {
        println!("applied {version}");
    }
    Ok(())
}

/// `itsor keys rotate` and `itsor keys current`: prints the key's id.
fn keys(env: &Environment, args: KeysArgs, call: KeyCall) -> anyhow::Result<()> {
    let database = config::resolve_database(env, args.database_url.as_deref())?;
    let variables = ComponentVariables::from_env(env).with_database(&database);
    let settings = variables.validate()?;
    if !settings.jwt_algorithm.is_asymmetric() {
        anyhow::bail!(
            "JWT_ALGORITHM is {}: it signs with JWT_SECRET and has no keys (set EdDSA or ES256)",
            settings.jwt_algorithm.as_str()
        );
    }
    let component = config::resolve_component(env, args.component.as_deref(), std::env::current_exe().ok().as_deref());
    for version in migrate::run_target(&database)? {
        eprintln!("applied {version}");
    }
    let storage = Storage::open(&database, 1, std::time::Duration::from_secs(30))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let kid = runtime.block_on(async {
        let engine = wasmtime::Engine::default();
        let component = engine::load_component(&engine, &component, None)?;
        itsor::keys::run(&engine, &component, &storage, Arc::new(variables), call).await
    })?;
    println!("{}", kid.unwrap_or_default());
    Ok(())
}

/// `itsor serve`.
fn serve(env: &Environment, args: ServeArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().ok();
    let flags = args.listen.overrides(args.component);
    let config = ServeConfig::resolve(env, &flags, exe.as_deref())?;
    let variables = ComponentVariables::from_env(env).with_database(&config.database);
    let settings = variables.validate()?;
    config::check_exposure(env, &config.host)?;
    if !config.component.is_file() {
        anyhow::bail!(
            "component not found at {}: run `make build` (or point --component / ITSOR_COMPONENT at the .wasm)",
            config.component.display()
        );
    }

    if !args.no_migrate {
        for version in migrate::run_target(&config.database)? {
            tracing::info!(version, "applied migration");
        }
    }
    let storage = Storage::open(&config.database, config.pg_pool_size, config.limits.request_timeout)?;
    tracing::info!(database = %storage.describe(), "database ready");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("itsor-worker")
        .build()
        .context("cannot start the Tokio runtime")?;
    runtime.block_on(async {
        let listener = server::bind(&config.host, config.port).await?;
        let engine = engine::new_engine().context("cannot configure wasmtime")?;
        let _ticker = engine::EpochTicker::start(&engine).context("cannot start the epoch thread")?;
        // Nothing else runs on the runtime yet: compiling here blocks no request.
        let component = engine::load_component(&engine, &config.component, config.cache_dir.as_deref())?;
        if settings.jwt_algorithm.is_asymmetric() {
            // The first key, before the first request needs it (a guest would make it too).
            let kid =
                itsor::keys::run(&engine, &component, &storage, Arc::new(variables.clone()), KeyCall::Current).await?;
            tracing::info!(
                algorithm = settings.jwt_algorithm.as_str(),
                kid = kid.as_deref().unwrap_or_default(),
                "signing key ready"
            );
        }
        let app = Arc::new(server::App::new(&engine, &component, storage, variables)?.with_limits(config.limits));
        let stop = drain_on_signal(app.readiness(), config.limits.drain_delay);
        if let Some(addr) = config.metrics_addr {
            let metrics = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for metrics on {addr} ({})", config::ENV_METRICS_ADDR))?;
            println!("itsor metrics on http://{}{}", metrics.local_addr()?, itsor::ops::METRICS);
            let endpoint = Arc::new(server::MetricsEndpoint::new(Arc::clone(&app)));
            let (stop, limits) = (stop.clone(), config.limits);
            tokio::spawn(async move {
                if let Err(error) = server::serve_with(metrics, endpoint, &limits, stopped(stop)).await {
                    tracing::warn!(%error, "the metrics listener failed");
                }
            });
        }
        server::announce(&listener)?;
        if settings.account_page {
            // `make dev`'s newcomer opens this first (see README).
            println!("itsor account page on http://{}/account", listener.local_addr()?);
        }
        server::serve_with(listener, app, &config.limits, stopped(stop)).await
    })
}

/// On the first SIGINT or SIGTERM: `/readyz` turns `503` at once, and `drain_delay` later
/// (or at a second signal) the returned receiver says stop (no new connections; in-flight
/// requests finish).
fn drain_on_signal(
    readiness: Arc<itsor::ops::Readiness>,
    drain_delay: std::time::Duration,
) -> tokio::sync::watch::Receiver<bool> {
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        server::shutdown_signal().await;
        readiness.drain();
        tracing::info!(delay = ?drain_delay, "draining: /readyz is 503; new connections are refused after the delay");
        tokio::select! {
            () = tokio::time::sleep(drain_delay) => {}
            () = server::shutdown_signal() => tracing::info!("a second signal: no more draining"),
        }
        let _ = stop.send(true);
    });
    stopping
}

/// Resolves once `stop` says so (or its sender is gone).
async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn serve_help_lists_every_component_setting() {
        let help = environment_help();
        for variable in itsor_accounts::config::VARIABLES {
            assert!(help.contains(&config::env_var_for(variable.name)), "{}", variable.name);
        }
        for host_var in [
            "BACKEND_DATABASE_URL",
            "HOST",
            "PORT",
            "ITSOR_COMPONENT",
            "ITSOR_CACHE_DIR",
            config::ENV_MAX_CONCURRENT,
            config::ENV_MAX_CONNECTIONS,
            config::ENV_REQUEST_TIMEOUT,
            config::ENV_BODY_TIMEOUT,
            config::ENV_HEADER_TIMEOUT,
            config::ENV_PG_POOL_SIZE,
            config::ENV_DRAIN_DELAY,
            config::ENV_SHUTDOWN_TIMEOUT,
            config::ENV_METRICS_ADDR,
            itsor::logging::ENV_LOG_FORMAT,
        ] {
            assert!(help.contains(host_var));
        }
    }

    #[test]
    fn the_pool_size_in_the_help_matches_the_code() {
        let help = environment_help();
        // The entry: its first line and the indented lines that continue it.
        let rest = help.split("ITSOR_PG_POOL_SIZE").nth(1).unwrap_or_default();
        let pool = rest
            .lines()
            .enumerate()
            .take_while(|(i, line)| *i == 0 || line.starts_with("    "))
            .map(|(_, line)| line.trim())
            .collect::<Vec<_>>()
            .join(" ");
        for expected in [
            format!("(1 to {});", config::MAX_PG_POOL_SIZE),
            format!("[default: {}]", itsor::postgres::DEFAULT_POOL_SIZE),
        ] {
            assert!(pool.contains(&expected), "{expected:?} not in {pool:?}");
        }
    }

    #[test]
    fn limits_in_the_help_match_the_code() {
        use itsor::engine::MAX_INSTANCES;
        use itsor::server::{MAX_HEADER_BYTES, MAX_HEADERS, SLOT_WAIT};
        let help = environment_help();
        let expected = [
            format!("(1 to {MAX_INSTANCES})"),
            format!("[default: {MAX_INSTANCES}, the instance pool's size]"),
            format!("within {} s gets 503", SLOT_WAIT.as_secs()),
            format!("503 TIMEOUT  [default: {}]", config::DEFAULT_REQUEST_TIMEOUT.as_secs()),
            format!("{} KiB, else 413", itsor::server::MAX_BODY_BYTES >> 10),
            format!("before it gets 408  [default: {}]", config::DEFAULT_BODY_TIMEOUT.as_secs()),
            format!("{MAX_HEADERS} headers and {} KiB, else 431", MAX_HEADER_BYTES >> 10),
            format!("closed  [default: {}]", config::DEFAULT_HEADER_TIMEOUT.as_secs()),
            format!("/readyz already 503  [default: {}]", config::DEFAULT_DRAIN_DELAY.as_secs()),
            format!(
                "may take to finish\n                           [default: {}]",
                config::DEFAULT_SHUTDOWN_TIMEOUT.as_secs()
            ),
        ];
        for text in expected {
            assert!(help.contains(&text), "{text:?} not in:\n{help}");
        }
    }

    #[test]
    fn secret_defaults_are_not_printed() {
        let help = environment_help();
        for variable in itsor_accounts::config::VARIABLES.iter().filter(|v| v.secret) {
            if let Some(default) = variable.default {
                assert!(!help.contains(default), "{}", variable.name);
            }
        }
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::try_parse_from(["itsor", "serve", "--port", "0", "--host", "::1"]).unwrap();
        let Command::Serve(args) = cli.command else { panic!("expected serve") };
        assert_eq!((args.listen.port, args.listen.host.as_deref()), (Some(0), Some("::1")));
        assert!(Cli::try_parse_from(["itsor", "serve", "--port", "http"]).is_err());
        assert!(Cli::try_parse_from(["itsor", "migrate", "--database-url", "sqlite:///x.db"]).is_ok());
    }
}
