//! The `itsor` command line: `itsor serve` serves the component over HTTP, `itsor migrate`
//! applies the database migrations, `itsor keys` manages the signing keys.
//!
//! # Design
//!
//! The whole command line lives in the library, so that the `itsor` binary is one call
//! ([`run`]) and the library's public surface stays the small embedder API of `lib.rs`: the
//! commands reach every private module, and their tests check the `--help` text against
//! the very constants the server applies. [`ListenArgs`] is shared with the native
//! benchmark reference (`bench/`), which listens and resolves its database the same way.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::config::{self, ConfigError, Environment, Overrides};
use crate::keys::KeyCall;
use crate::storage::Storage;
use crate::{engine, migrate, server};

/// Where to listen and which database: the flags `itsor serve` and the
/// benchmark reference `itsor-native` share.
#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    /// Address to listen on [env: HOST] [default: 127.0.0.1]
    #[arg(long, value_name = "ADDR")]
    pub host: Option<String>,
    /// Port to listen on; 0 picks a free one [env: PORT] [default: 3002]
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Database URL, sqlite:/// or postgresql:// [env: BACKEND_DATABASE_URL]
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

impl ListenArgs {
    /// These flags as configuration overrides, with the component's path if one was given.
    pub fn overrides(self, component: Option<PathBuf>) -> Overrides {
        Overrides { host: self.host, port: self.port, database_url: self.database_url, component }
    }
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

/// The command line, with the settings' help (rendered from the settings tables) attached
/// to `itsor serve`.
fn command() -> clap::Command {
    use clap::CommandFactory as _;
    Cli::command().mut_subcommand("serve", |serve| serve.after_help(config::help_text()))
}

/// Runs the `itsor` command line on the process's arguments and environment.
pub fn run() -> ExitCode {
    use clap::FromArgMatches as _;
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let result = Environment::load(Path::new(".env")).map_err(anyhow::Error::from).and_then(|env| {
        crate::logging::init(&env);
        // Misspelt settings would otherwise be silently ignored; never their values.
        for unknown in config::unknown_settings(&env) {
            tracing::warn!("{unknown}");
        }
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
                // Every problem, one per line.
                Some(refused) if refused.is_refusal() => eprintln!("itsor: {refused}"),
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
    let (database, variables, settings) = config::resolve_database_and_settings(env, args.database_url.as_deref())?;
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
        crate::keys::run(&engine, &component, &storage, Arc::new(variables), call).await
    })?;
    println!("{}", kid.unwrap_or_default());
    Ok(())
}

/// `itsor serve`.
fn serve(env: &Environment, args: ServeArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().ok();
    let flags = args.listen.overrides(args.component);
    let (config, variables, settings) = config::resolve_serve(env, &flags, exe.as_deref())?;
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
        let engine = engine::new_engine(config.limits.max_concurrent).context("cannot configure wasmtime")?;
        let _ticker = engine::EpochTicker::start(&engine).context("cannot start the epoch thread")?;
        // Nothing else runs on the runtime yet: compiling here blocks no request.
        let component = engine::load_component(&engine, &config.component, config.cache_dir.as_deref())?;
        if settings.jwt_algorithm.is_asymmetric() {
            // The first key, before the first request needs it (a guest would make it too).
            let kid =
                crate::keys::run(&engine, &component, &storage, Arc::new(variables.clone()), KeyCall::Current).await?;
            tracing::info!(
                algorithm = settings.jwt_algorithm.as_str(),
                kid = kid.as_deref().unwrap_or_default(),
                "signing key ready"
            );
        }
        let app = server::App::new(&engine, &component, storage, variables)?
            .with_limits(config.limits)
            .with_guest_interface(config.guest_interface);
        tracing::info!(interface = app.guest_interface().name(), "guest interface");
        let app = Arc::new(app);
        let stop = drain_on_signal(app.readiness(), config.limits.drain_delay);
        if let Some(addr) = config.metrics_addr {
            let metrics = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for metrics on {addr} ({})", config::ENV_METRICS_ADDR))?;
            println!("itsor metrics on http://{}{}", metrics.local_addr()?, crate::ops::METRICS);
            let endpoint = server::MetricsEndpoint::new(Arc::clone(&app));
            let (stop, limits) = (stop.clone(), config.limits);
            tokio::spawn(async move {
                if let Err(error) = endpoint.serve(metrics, &limits, stopped(stop)).await {
                    tracing::warn!(%error, "the metrics listener failed");
                }
            });
        }
        server::announce(&listener)?;
        if settings.account_page {
            // `make dev`'s newcomer opens this first (see README).
            println!("itsor account page on http://{}/account", listener.local_addr()?);
        }
        app.serve(listener, stopped(stop)).await
    })
}

/// On the first SIGINT or SIGTERM: `/readyz` turns `503` at once, and `drain_delay` later
/// (or at a second signal) the returned receiver says stop (no new connections; in-flight
/// requests finish).
fn drain_on_signal(
    readiness: Arc<crate::ops::Readiness>,
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

    /// The `itsor serve --help` text after the options.
    fn serve_help() -> String {
        let mut serve = command().find_subcommand("serve").unwrap().clone();
        serve.render_long_help().to_string()
    }

    /// The entry of `name` in the help: its first line and the indented lines that follow,
    /// whitespace collapsed.
    fn entry(help: &str, name: &str) -> String {
        let mut lines = help
            .lines()
            .skip_while(|line| line.strip_prefix("  ").is_none_or(|rest| rest.split([' ', ',']).next() != Some(name)));
        let first = lines.next().unwrap_or_else(|| panic!("no entry for {name} in:\n{help}"));
        let rest = lines.take_while(|line| line.starts_with("        "));
        std::iter::once(first).chain(rest).flat_map(str::split_whitespace).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn serve_help_lists_every_component_setting() {
        let help = serve_help();
        for variable in itsor_accounts::config::VARIABLES.iter().filter(|v| v.name != "database_url") {
            let entry = entry(&help, &variable.env_name());
            for alias in variable.aliases {
                assert!(entry.contains(&format!("alias {alias}")), "{entry}");
            }
            if let Some(rule) = variable.production {
                assert!(entry.contains(&format!("Outside local/dev/test: {}", rule.replace('`', ""))), "{entry}");
            }
        }
        assert!(help.contains("database_url (set by itsor from BACKEND_DATABASE_URL)"), "{help}");
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
            config::ENV_GUEST_INTERFACE,
            crate::logging::ENV_LOG_FORMAT,
            crate::logging::ENV_RUST_LOG,
        ] {
            assert!(!entry(&help, host_var).is_empty());
        }
        assert!(entry(&help, "BACKEND_DATABASE_URL").contains("alias DATABASE_URL"), "{help}");
    }

    #[test]
    fn every_setting_has_help_text() {
        let help = serve_help();
        for doc in config::documented_settings() {
            let Some(name) = &doc.env_name else { continue };
            let entry = entry(&help, name);
            let words: Vec<&str> = doc.description.split_whitespace().collect();
            assert!(entry.contains(&words.join(" ").replace('`', "")), "{name}: {entry}");
        }
    }

    #[test]
    fn the_pool_size_in_the_help_matches_the_code() {
        let pool = entry(&serve_help(), "ITSOR_PG_POOL_SIZE");
        for expected in [
            format!("(1 to {});", config::MAX_PG_POOL_SIZE),
            format!("[default: {}]", crate::postgres::DEFAULT_POOL_SIZE),
        ] {
            assert!(pool.contains(&expected), "{expected:?} not in {pool:?}");
        }
    }

    #[test]
    fn limits_in_the_help_match_the_code() {
        use crate::engine::MAX_INSTANCES;
        use crate::server::SLOT_WAIT;
        use crate::server::intake::{MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_HEADERS};
        let help = serve_help();
        let expected = [
            (config::ENV_MAX_CONCURRENT, format!("(1 to {MAX_INSTANCES})")),
            (config::ENV_MAX_CONCURRENT, format!("[default: {MAX_INSTANCES}, the instance pool's size]")),
            (config::ENV_MAX_CONCURRENT, format!("within {} s gets 503", SLOT_WAIT.as_secs())),
            (config::ENV_MAX_CONNECTIONS, format!("(1 to {})", config::MAX_MAX_CONNECTIONS)),
            (config::ENV_MAX_CONNECTIONS, format!("[default: {}]", config::DEFAULT_MAX_CONNECTIONS)),
            (config::ENV_REQUEST_TIMEOUT, "503 TIMEOUT".to_owned()),
            (config::ENV_REQUEST_TIMEOUT, format!("at most {}", config::MAX_TIMEOUT.as_secs())),
            (config::ENV_REQUEST_TIMEOUT, format!("[default: {}]", config::DEFAULT_REQUEST_TIMEOUT.as_secs())),
            (config::ENV_BODY_TIMEOUT, format!("{} KiB, else 413", MAX_BODY_BYTES >> 10)),
            (config::ENV_BODY_TIMEOUT, format!("then it gets 408. Limits as {}", config::ENV_REQUEST_TIMEOUT)),
            (config::ENV_BODY_TIMEOUT, format!("[default: {}]", config::DEFAULT_BODY_TIMEOUT.as_secs())),
            (config::ENV_HEADER_TIMEOUT, format!("{MAX_HEADERS} headers and {} KiB, else 431", MAX_HEADER_BYTES >> 10)),
            (config::ENV_HEADER_TIMEOUT, format!("[default: {}]", config::DEFAULT_HEADER_TIMEOUT.as_secs())),
            (config::ENV_DRAIN_DELAY, "/readyz already 503".to_owned()),
            (config::ENV_DRAIN_DELAY, format!("[default: {}]", config::DEFAULT_DRAIN_DELAY.as_secs())),
            (config::ENV_SHUTDOWN_TIMEOUT, format!("[default: {}]", config::DEFAULT_SHUTDOWN_TIMEOUT.as_secs())),
            (config::ENV_HOST, format!("[default: {}]", config::DEFAULT_HOST)),
            (config::ENV_PORT, format!("[default: {}]", config::DEFAULT_PORT)),
            (config::ENV_DATABASE_URL, format!("[default: {}]", config::DEFAULT_DATABASE_URL)),
            (config::ENV_COMPONENT, format!("[default: {} from", config::default_component_path(None).display())),
        ];
        for (name, text) in expected {
            let entry = entry(&help, name);
            assert!(entry.contains(&text), "{text:?} not in {entry:?}");
        }
    }

    #[test]
    fn secret_defaults_are_not_printed() {
        let help = serve_help();
        for variable in itsor_accounts::config::VARIABLES.iter().filter(|v| v.secret) {
            if let Some(default) = variable.default {
                assert!(!help.contains(default), "{}", variable.name);
                let entry = entry(&help, &variable.env_name());
                assert!(entry.contains("[default: a development-only value]"), "{entry}");
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
