//! `itsor-bench`, run by `make bench`: `itsor serve` (the Wasm component, a fresh instance
//! per request) against `itsor-native` (the same logic compiled natively, the reference),
//! on loopback, under `wrk`.
//!
//! Steps, each on a fresh temporary directory:
//!
//! 1. one SQLite database per engine, migrated by `itsor migrate` and seeded with the same
//!    users ([`seed`]); both servers started with the same settings ([`server_env`]);
//! 2. a bearer token and 20 tasks for user 1 through each server's API; one request per
//!    scenario to both engines, compared ([`parity`]);
//! 3. every load scenario ([`scenarios`]) on each engine: a short warm-up, then a measured
//!    `wrk` run once the machine is quiet ([`machine::wait_until_quiet`]);
//! 4. `/auth/me` again after growing the users table to `--big-users` rows;
//! 5. `--held-connections` idle keep-alive connections (server memory from `/proc`), then
//!    `wrk` at that many connections;
//! 6. start-up to the first `200`: with an empty compiled-component cache, then cached;
//! 7. the report: printed, and written to `<target>/bench/report.md`.
//!
//! Rate limits would turn a login benchmark into a `429` benchmark, since every request
//! comes from 127.0.0.1: the servers run with `RATE_LIMIT_AUTH_REQUESTS` and
//! `RATE_LIMIT_LOGIN_FAILURES` at their maximum (1,000,000 per window), so the limiter's
//! SQL still runs on every login but never refuses one. The report says so.

mod client;
mod extras;
mod machine;
mod report;
mod seed;
mod server;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;

use crate::client::{Req, send};
use crate::report::{Report, Run, Startup};
use crate::server::{Engine, Server, ServerSpec};
use crate::wrk::{Load, LoadResult, Scenario};

/// The signing secret both servers use (local only; at least 32 bytes).
const JWT_SECRET: &str = "itsor-bench-only-secret-0123456789abcdef";
/// Rate limits during the bench: the maximum the settings accept, so nothing is refused.
const RATE_LIMIT: &str = "1000000";
/// Tasks created for user 1 (listed by the `tasks-list` scenario).
const TASKS: u32 = 20;

/// Load-tests itsor (Wasm) against its native reference. See docs/BENCHMARKS.md.
#[derive(Debug, Parser)]
#[command(name = "itsor-bench")]
struct Cli {
    /// Seconds per measured run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Connections per run.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// Seconds per login run.
    #[arg(long, default_value_t = 6)]
    login_duration: u64,
    /// Connections per login run.
    #[arg(long, default_value_t = 4)]
    login_connections: u32,
    /// Seconds of unmeasured warm-up before each run.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Users seeded before the load runs.
    #[arg(long, default_value_t = 1000)]
    users: u32,
    /// Users after growing the table for the second `/auth/me` run.
    #[arg(long, default_value_t = 1_000_000)]
    big_users: u32,
    /// Idle keep-alive connections to hold.
    #[arg(long, default_value_t = 1000)]
    held_connections: usize,
    /// Start-ups measured per engine and cache state.
    #[arg(long, default_value_t = 5)]
    startup_runs: usize,
    /// Start-ups with an empty cache (each compiles the component).
    #[arg(long, default_value_t = 2)]
    cold_runs: usize,
    /// Scenarios to run (default: all).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Engines to run.
    #[arg(long, value_delimiter = ',', default_values = ["wasm", "native"])]
    engines: Vec<Engine>,
    /// Measurements to skip: big, held, startup.
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// Extra environment for both servers, `NAME=VALUE` (e.g. `TOKIO_WORKER_THREADS=4`).
    #[arg(long = "server-env", value_name = "NAME=VALUE")]
    server_env: Vec<String>,
    /// The servers' `RUST_LOG`.
    #[arg(long, default_value = "warn")]
    server_log: String,
    /// Directory holding `itsor` and `itsor-native` (default: this executable's).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// The component (default: `<bin-dir>/../wasm32-wasip2/component/itsor_auth.wasm`).
    #[arg(long)]
    component: Option<PathBuf>,
    /// Where to write the report (default: `<bin-dir>/../bench/report.md`).
    #[arg(long)]
    report: Option<PathBuf>,
    /// A label for the report's title (e.g. the change being measured).
    #[arg(long, default_value = "")]
    label: String,
    /// Compiled-component cache for the load runs (default: an empty one in the temporary
    /// directory, so the first start compiles). Start-up runs use their own.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Keep the temporary directory (databases, logs, scripts).
    #[arg(long)]
    keep: bool,
}

impl Cli {
    fn skips(&self, what: &str) -> bool {
        self.skip.iter().any(|s| s == what)
    }

    fn wants(&self, scenario: &str) -> bool {
        self.scenarios.is_empty() || self.scenarios.iter().any(|s| s == scenario)
    }
}

/// The binaries and the component.
struct Paths {
    itsor: PathBuf,
    native: PathBuf,
    component: PathBuf,
    target: PathBuf,
}

fn locate(cli: &Cli) -> anyhow::Result<Paths> {
    let bin_dir = match &cli.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("the executable has no directory")?
            .to_path_buf(),
    };
    let target = bin_dir.join("..");
    let paths = Paths {
        itsor: bin_dir.join("itsor"),
        native: bin_dir.join("itsor-native"),
        component: cli
            .component
            .clone()
            .unwrap_or_else(|| target.join("wasm32-wasip2/component/itsor_auth.wasm")),
        target,
    };
    for path in [&paths.itsor, &paths.native, &paths.component] {
        if !path.is_file() {
            bail!(
                "{} not found: run `make bench` (it builds everything)",
                path.display()
            );
        }
    }
    Ok(paths)
}

/// The environment both servers get (nothing else leaks in from ours).
fn server_env(cli: &Cli) -> anyhow::Result<Vec<(String, String)>> {
    let mut env: Vec<(String, String)> = [
        ("BACKEND_ENV", "local"),
        ("JWT_SECRET", JWT_SECRET),
        ("RATE_LIMIT_AUTH_REQUESTS", RATE_LIMIT),
        ("RATE_LIMIT_LOGIN_FAILURES", RATE_LIMIT),
        ("RUST_LOG", cli.server_log.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for pair in &cli.server_env {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("--server-env wants NAME=VALUE, got {pair:?}"))?;
        env.retain(|(k, _)| k != name);
        env.push((name.to_owned(), value.to_owned()));
    }
    Ok(env)
}

/// One engine under test: its server and the credentials of user 1 on it.
struct Target {
    spec: ServerSpec,
    server: Option<Server>,
    token: String,
}

impl Target {
    fn engine(&self) -> Engine {
        self.spec.engine
    }

    fn server(&self) -> anyhow::Result<&Server> {
        self.server.as_ref().context("the server is not running")
    }
}

/// Every load scenario, for user 1 holding `token`.
fn scenarios(token: &str, users: u32) -> Vec<Scenario> {
    let bearer = vec![("Authorization".to_owned(), format!("Bearer {token}"))];
    vec![
        Scenario {
            name: "me-bearer",
            what: "GET /auth/me with a bearer token",
            method: "GET",
            path: "/auth/me".into(),
            headers: bearer.clone(),
            expect: 200,
            login_users: None,
        },
        Scenario {
            name: "me-cookie",
            what: "GET /auth/me with the session cookie",
            method: "GET",
            path: "/auth/me".into(),
            headers: vec![("Cookie".to_owned(), format!("itsor_session={token}"))],
            expect: 200,
            login_users: None,
        },
        Scenario {
            name: "tasks-list",
            what: "GET /api/{user_id}/tasks (20 tasks)",
            method: "GET",
            path: format!("/api/{}/tasks", seed::user_id(1)),
            headers: bearer,
            expect: 200,
            login_users: None,
        },
        Scenario {
            name: "not-found",
            what: "GET /no/such/route: 404 (no storage, nearly pure instantiation)",
            method: "GET",
            path: "/no/such/route".into(),
            headers: Vec::new(),
            expect: 404,
            login_users: None,
        },
        Scenario {
            name: "login",
            what: "POST /auth/token (JSON), cycling through the seeded users",
            method: "POST",
            path: "/auth/token".into(),
            headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
            expect: 200,
            login_users: Some((users, seed::PASSWORD)),
        },
    ]
}

fn login(addr: std::net::SocketAddr, user: u32) -> anyhow::Result<String> {
    let body =
        serde_json::json!({ "email": seed::email(user), "password": seed::PASSWORD }).to_string();
    let response = send(addr, Req::post_json("/auth/token", &[], &body))?;
    if response.status != 200 {
        bail!(
            "login answered {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
    }
    response.json()?["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token in the login response")
}

fn create_tasks(addr: std::net::SocketAddr, token: &str) -> anyhow::Result<()> {
    let bearer = format!("Bearer {token}");
    let path = format!("/api/{}/tasks", seed::user_id(1));
    for i in 1..=TASKS {
        let body = serde_json::json!({ "title": format!("Task {i}"), "description": "seeded by itsor-bench" }).to_string();
        let response = send(
            addr,
            Req::post_json(&path, &[("authorization", &bearer)], &body),
        )?;
        if response.status != 201 {
            bail!("creating a task answered {}", response.status);
        }
    }
    Ok(())
}

/// Sends each scenario's request once to both engines and lists the differences.
fn parity(targets: &[Target], users: u32) -> anyhow::Result<Vec<String>> {
    let [a, b] = targets else {
        return Ok(Vec::new());
    };
    let mut differences = Vec::new();
    let (sa, sb) = (scenarios(&a.token, users), scenarios(&b.token, users));
    for (x, y) in sa.iter().zip(&sb) {
        let request =
            |target: &Target, scenario: &Scenario| -> anyhow::Result<client::HttpResponse> {
                let headers: Vec<(&str, &str)> = scenario
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let body = scenario.login_users.map(|(_, password)| {
                    serde_json::json!({ "email": seed::email(1), "password": password }).to_string()
                });
                let req = Req {
                    method: scenario.method,
                    path: &scenario.path,
                    headers: &headers,
                    body: body.as_deref().map(str::as_bytes),
                };
                send(target.server()?.addr, req)
            };
        let (ra, rb) = (request(a, x)?, request(b, y)?);
        let names = |r: &client::HttpResponse| -> Vec<String> {
            r.headers.iter().map(|(n, _)| n.clone()).collect()
        };
        let comparable = |r: &client::HttpResponse| -> Vec<(String, String)> {
            r.headers
                .iter()
                .filter(|(n, _)| n != "date")
                .cloned()
                .collect()
        };
        let same = if x.name == "login" {
            ra.status == rb.status && names(&ra) == names(&rb)
        } else if x.name == "tasks-list" {
            // Task ids and times differ between the two databases.
            ra.status == rb.status
                && names(&ra) == names(&rb)
                && ra.json()?.as_array().map(Vec::len) == rb.json()?.as_array().map(Vec::len)
        } else {
            ra.status == rb.status && comparable(&ra) == comparable(&rb) && ra.body == rb.body
        };
        if !same {
            differences.push(format!(
                "{}: {} {} {:?} vs {} {} {:?}",
                x.name,
                a.engine(),
                ra.status,
                ra.headers,
                b.engine(),
                rb.status,
                rb.headers
            ));
        }
    }
    Ok(differences)
}

/// A warm-up (unmeasured), then a measured run once the machine is quiet.
fn measure(
    target: &Target,
    scenario: &Scenario,
    load: Load,
    warmup: u64,
    dir: &Path,
) -> anyhow::Result<(LoadResult, machine::Quiet)> {
    let addr = target.server()?.addr;
    if warmup > 0 {
        wrk::run(
            addr,
            scenario,
            Load {
                duration: Duration::from_secs(warmup),
                ..load
            },
            dir,
        )?;
    }
    let quiet = machine::wait_until_quiet();
    let cpu_before = target.server()?.cpu_time()?;
    let mut result = wrk::run(addr, scenario, load, dir)?;
    let cpu = target.server()?.cpu_time()?.saturating_sub(cpu_before);
    if result.requests > 0 {
        result.server_cpu_us = cpu.as_secs_f64() * 1e6 / result.requests as f64;
    }
    result.server_rss_kib = target.server()?.memory()?.rss_kib;
    eprintln!(
        "  {:<11} {:<6} c={:<4} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  CPU {:>8.1} µs/req  errors {}",
        scenario.name,
        target.engine(),
        load.connections,
        result.rps(),
        result.p50_ms,
        result.p99_ms,
        result.server_cpu_us,
        result.errors()
    );
    if result.errors() > 0 {
        eprintln!("    (server log tail)\n{}", target.server()?.log_tail());
    }
    Ok((result, quiet))
}

fn now_utc() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("itsor-bench: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let paths = locate(&cli)?;
    let info = machine::info();
    let env = server_env(&cli)?;
    let workdir = std::env::temp_dir().join(format!("itsor-bench-{}", std::process::id()));
    std::fs::create_dir_all(&workdir)?;
    eprintln!("itsor-bench: working in {}", workdir.display());
    let result = bench(&cli, &paths, &info, &env, &workdir);
    if cli.keep {
        eprintln!("itsor-bench: kept {}", workdir.display());
    } else {
        let _ = std::fs::remove_dir_all(&workdir);
    }
    let report = result?;
    let markdown = report.markdown();
    println!("{markdown}");
    let path = cli
        .report
        .clone()
        .unwrap_or_else(|| paths.target.join("bench/report.md"));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, &markdown)?;
    eprintln!("itsor-bench: report written to {}", path.display());
    Ok(())
}

fn bench(
    cli: &Cli,
    paths: &Paths,
    info: &machine::Info,
    env: &[(String, String)],
    workdir: &Path,
) -> anyhow::Result<Report> {
    let mut report = Report {
        title: format!(
            "itsor bench{}{} — {}",
            if cli.label.is_empty() { "" } else { ": " },
            cli.label,
            now_utc()
        ),
        setup: report::machine_lines(info),
        users: u64::from(cli.users),
        ..Report::default()
    };
    let workers = env
        .iter()
        .find(|(k, _)| k == "TOKIO_WORKER_THREADS")
        .map_or_else(
            || format!("{} (one per CPU)", info.cpus),
            |(_, v)| v.clone(),
        );
    report.setup.extend([
        format!("command: `itsor-bench {}`", std::env::args().skip(1).collect::<Vec<_>>().join(" ")),
        format!(
            "load: {} connections × {} s per run ({} s warm-up); login: {} connections × {} s",
            cli.connections, cli.duration, cli.warmup, cli.login_connections, cli.login_duration
        ),
        format!("data: {} users inserted directly (one shared Argon2id hash, OWASP policy m=19456,t=2,p=1), {TASKS} tasks for user 1", cli.users),
        format!("rate limits: RATE_LIMIT_AUTH_REQUESTS={RATE_LIMIT} and RATE_LIMIT_LOGIN_FAILURES={RATE_LIMIT} per window (the limiter still runs; it never refuses)"),
        format!(
            "servers: 127.0.0.1, RUST_LOG={}, Tokio worker threads: {workers}; extra env: {}",
            cli.server_log,
            if cli.server_env.is_empty() { "none".to_owned() } else { cli.server_env.join(" ") }
        ),
        format!("load average before: {:.2}", machine::load_average()),
    ]);

    eprintln!(
        "itsor-bench: hashing the seed password and seeding {} users per engine",
        cli.users
    );
    let hash = seed::password_hash()?;
    let main_cache = cli
        .cache_dir
        .clone()
        .unwrap_or_else(|| workdir.join("cache-main"));
    let mut targets = Vec::new();
    for &engine in &cli.engines {
        let database = workdir.join(format!("{engine}.db"));
        seed::migrate(&paths.itsor, &database)?;
        seed::insert_users(&database, 1, cli.users, &hash)?;
        let spec = ServerSpec {
            engine,
            binary: match engine {
                Engine::Wasm => paths.itsor.clone(),
                Engine::Native => paths.native.clone(),
            },
            component: paths.component.clone(),
            database,
            cache_dir: main_cache.clone(),
            workdir: workdir.to_path_buf(),
            env: env.to_vec(),
            log: workdir.join(format!("{engine}.log")),
        };
        let (server, took) = Server::start(&spec)?;
        eprintln!(
            "itsor-bench: {engine} listening on {} after {:.0} ms",
            server.addr,
            took.as_secs_f64() * 1e3
        );
        let token = login(server.addr, 1)?;
        create_tasks(server.addr, &token)?;
        targets.push(Target {
            spec,
            server: Some(server),
            token,
        });
    }
    report.parity = parity(&targets, cli.users)?;
    if !report.parity.is_empty() {
        eprintln!(
            "itsor-bench: the engines answered differently:\n{}",
            report.parity.join("\n")
        );
    }

    eprintln!("itsor-bench: load runs");
    let names: Vec<&'static str> = scenarios("", cli.users).iter().map(|s| s.name).collect();
    for name in names.into_iter().filter(|name| cli.wants(name)) {
        for target in &targets {
            let Some(scenario) = scenarios(&target.token, cli.users)
                .into_iter()
                .find(|s| s.name == name)
            else {
                continue;
            };
            let load = if name == "login" {
                Load {
                    connections: cli.login_connections,
                    duration: Duration::from_secs(cli.login_duration),
                }
            } else {
                Load {
                    connections: cli.connections,
                    duration: Duration::from_secs(cli.duration),
                }
            };
            let (result, quiet) = measure(target, &scenario, load, cli.warmup, workdir)?;
            report.runs.push(Run {
                scenario: name.to_owned(),
                engine: target.engine(),
                connections: load.connections,
                result,
                quiet,
            });
        }
    }
    for scenario in scenarios("", cli.users)
        .iter()
        .filter(|s| cli.wants(s.name))
    {
        report.setup.push(format!(
            "scenario `{}`: {}, expects {}",
            scenario.name, scenario.what, scenario.expect
        ));
    }

    if !cli.skips("big") && cli.big_users > cli.users {
        eprintln!(
            "itsor-bench: growing the users table to {} rows",
            cli.big_users
        );
        for target in &targets {
            let took =
                seed::insert_users(&target.spec.database, cli.users + 1, cli.big_users, &hash)?;
            let users = seed::count_users(&target.spec.database)?;
            eprintln!(
                "  {}: {users} users ({:.1} s)",
                target.engine(),
                took.as_secs_f64()
            );
            let scenario = scenarios(&target.token, cli.users).remove(0);
            let load = Load {
                connections: cli.connections,
                duration: Duration::from_secs(cli.duration),
            };
            let (result, _) = measure(target, &scenario, load, cli.warmup, workdir)?;
            report.big.push((target.engine(), users, result));
        }
    }

    if !cli.skips("held") && cli.held_connections > 0 {
        eprintln!(
            "itsor-bench: holding {} keep-alive connections",
            cli.held_connections
        );
        for target in &targets {
            let server = target.server()?;
            let bearer = format!("Bearer {}", target.token);
            let held = extras::hold_connections(
                server,
                cli.held_connections,
                "/auth/me",
                &[("authorization", &bearer)],
            )?;
            eprintln!(
                "  {}: RSS {:.1} -> {:.1} MiB holding {}; burst {:.1} ms; errors {}",
                target.engine(),
                held.before.rss_kib as f64 / 1024.0,
                held.holding.rss_kib as f64 / 1024.0,
                held.connections,
                held.burst.as_secs_f64() * 1e3,
                held.errors
            );
            let scenario = scenarios(&target.token, cli.users).remove(0);
            let load = Load {
                connections: u32::try_from(cli.held_connections)?,
                duration: Duration::from_secs(cli.duration),
            };
            let (result, _) = measure(target, &scenario, load, cli.warmup, workdir)?;
            let after = server.memory()?;
            report
                .held
                .push((target.engine(), held, Some(result), after));
        }
    }

    if !cli.skips("startup") {
        eprintln!("itsor-bench: start-up to the first 200");
        for target in &mut targets {
            if let Some(server) = target.server.take() {
                server.stop();
            }
            let bearer = format!("Bearer {}", target.token);
            let headers = [("authorization", bearer.as_str())];
            let mut cases: Vec<(&'static str, usize, bool)> = Vec::new();
            match target.engine() {
                Engine::Wasm => {
                    cases.push(("cold (empty cache)", cli.cold_runs, true));
                    cases.push(("cached", cli.startup_runs, false));
                }
                Engine::Native => cases.push(("-", cli.startup_runs, false)),
            }
            for (cache, runs, cold) in cases {
                let mut startup = Startup {
                    engine: target.engine(),
                    cache,
                    runs: Vec::new(),
                };
                for run in 0..runs {
                    let mut spec = target.spec.clone();
                    if cold {
                        spec.cache_dir = workdir.join(format!("cache-cold-{run}"));
                    }
                    machine::wait_until_quiet();
                    let took = extras::time_to_first_200(&spec, "/auth/me", &headers)?;
                    eprintln!(
                        "  {} {cache}: {:.0} ms",
                        target.engine(),
                        took.as_secs_f64() * 1e3
                    );
                    startup.runs.push(took);
                }
                report.startup.push(startup);
            }
        }
    }
    report.wasm_bytes = std::fs::metadata(&paths.component).ok().map(|m| m.len());
    for target in &mut targets {
        if let Some(server) = target.server.take() {
            server.stop();
        }
    }
    Ok(report)
}
