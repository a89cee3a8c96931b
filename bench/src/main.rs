//! `itsor-bench`, run by `make bench`: `itsor serve` (the Wasm component, a fresh instance
//! per request) against `itsor-native` (the same logic compiled natively, the reference),
//! on loopback, under `wrk`; and `itsor serve` on PostgreSQL against itself on SQLite.
//!
//! Steps, each on a fresh temporary directory:
//!
//! 1. one SQLite database per engine, migrated by `itsor migrate` and seeded with the same
//!    users ([`seed`]); both servers started with the same settings ([`server_env`]);
//!    with `--databases postgres` (the default includes it), one more `itsor serve` on a
//!    database of a private throw-away PostgreSQL cluster ([`pg`]), migrated, seeded and
//!    configured the same way (`itsor-native` stores in SQLite only);
//! 2. a bearer token and 20 tasks for user 1 through each server's API; one request per
//!    scenario to both engines, compared ([`parity`]), and to wasm on both databases;
//! 3. every load scenario ([`scenarios`]) on each engine, and the `--postgres-scenarios`
//!    on PostgreSQL right after the same scenario on SQLite: a short warm-up, then a
//!    measured `wrk` run once the machine is quiet ([`machine::wait_until_quiet`]); then
//!    the PostgreSQL server and cluster stop;
//! 4. per signing algorithm (`--algorithms`): `itsor serve` on a fresh SQLite database
//!    with that `JWT_ALGORITHM`, its token's size, `/auth/me` by bearer under load, and
//!    start-up to the first `200` (cached component);
//! 5. `/auth/me` again after growing the users table to `--big-users` rows (SQLite);
//! 6. `--held-connections` idle keep-alive connections (server memory from `/proc`), then
//!    `wrk` at that many connections (SQLite);
//! 7. start-up to the first `200`: with an empty compiled-component cache, then cached
//!    (SQLite);
//! 8. the report: printed, and written to `<target>/bench/report.md`.
//!
//! Rate limits would turn a login benchmark into a `429` benchmark, since every request
//! comes from 127.0.0.1: the servers run with `RATE_LIMIT_AUTH_REQUESTS` and
//! `RATE_LIMIT_LOGIN_FAILURES` at their maximum (1,000,000 per window), so the limiter's
//! SQL still runs on every login but never refuses one. The report says so.

mod client;
mod extras;
mod instructions;
mod machine;
mod pg;
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
use crate::pg::Postgres;
use crate::report::{Report, Run, Startup};
use crate::server::{Database, Engine, Server, ServerSpec, Store};
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
    /// Databases to run on: `sqlite` (every engine), `postgres` (a private throw-away
    /// cluster; the wasm engine only, `itsor-native` stores in SQLite only).
    #[arg(long, value_delimiter = ',', default_values = ["sqlite", "postgres"])]
    databases: Vec<Database>,
    /// Scenarios also run on PostgreSQL (those `--scenarios` selects, too).
    #[arg(long, value_delimiter = ',', default_values = ["me-bearer", "login"])]
    postgres_scenarios: Vec<String>,
    /// Measurements to skip: load (the wrk runs of the scenarios), instructions, algorithms,
    /// big, held, startup.
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// Requests counted per scenario under callgrind (login: `--counted-logins`), after
    /// a tenth as many unmeasured ones.
    #[arg(long, default_value_t = 200)]
    counted_requests: u32,
    /// Logins counted under callgrind, after one unmeasured login.
    #[arg(long, default_value_t = 3)]
    counted_logins: u32,
    /// Signing algorithms (`JWT_ALGORITHM`) compared on `/auth/me` and start-up (wasm, SQLite).
    #[arg(long, value_delimiter = ',', default_values = ["HS256", "EdDSA", "ES256"])]
    algorithms: Vec<String>,
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

    fn on(&self, database: Database) -> bool {
        self.databases.contains(&database)
    }

    /// Whether `scenario` runs on PostgreSQL as well.
    fn wants_on_postgres(&self, scenario: &str) -> bool {
        self.wants(scenario) && self.postgres_scenarios.iter().any(|s| s == scenario)
    }

    /// Whether to start PostgreSQL at all: a PostgreSQL scenario, and the engine serving it.
    fn wants_postgres(&self) -> bool {
        self.on(Database::Postgres)
            && self.engines.contains(&Engine::Wasm)
            && self.postgres_scenarios.iter().any(|s| self.wants(s))
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
        None => std::env::current_exe()?.parent().context("the executable has no directory")?.to_path_buf(),
    };
    let target = bin_dir.join("..");
    let paths = Paths {
        itsor: bin_dir.join("itsor"),
        native: bin_dir.join("itsor-native"),
        component: cli.component.clone().unwrap_or_else(|| target.join("wasm32-wasip2/component/itsor_auth.wasm")),
        target,
    };
    for path in [&paths.itsor, &paths.native, &paths.component] {
        if !path.is_file() {
            bail!("{} not found: run `make bench` (it builds everything)", path.display());
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
        let (name, value) =
            pair.split_once('=').with_context(|| format!("--server-env wants NAME=VALUE, got {pair:?}"))?;
        env.retain(|(k, _)| k != name);
        env.push((name.to_owned(), value.to_owned()));
    }
    Ok(env)
}

/// One engine under test on one database: its server and the credentials of user 1 on it.
struct Target {
    spec: ServerSpec,
    server: Option<Server>,
    token: String,
    /// The PostgreSQL cluster's processes (on PostgreSQL), whose CPU time is measured too.
    database_processes: Option<pg::Processes>,
}

impl Target {
    fn engine(&self) -> Engine {
        self.spec.engine
    }

    fn database(&self) -> Database {
        self.spec.store.database()
    }

    /// `wasm`, `native` (on SQLite), `wasm on postgres`.
    fn label(&self) -> String {
        match self.database() {
            Database::Sqlite => self.engine().to_string(),
            database => format!("{} on {database}", self.engine()),
        }
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
    let body = serde_json::json!({ "email": seed::email(user), "password": seed::PASSWORD }).to_string();
    let response = send(addr, Req::post_json("/auth/token", &[], &body))?;
    if response.status != 200 {
        bail!("login answered {}: {}", response.status, String::from_utf8_lossy(&response.body));
    }
    let json = response.json()?;
    json.get("access_token")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .context("no access_token in the login response")
}

fn create_tasks(addr: std::net::SocketAddr, token: &str) -> anyhow::Result<()> {
    let bearer = format!("Bearer {token}");
    let path = format!("/api/{}/tasks", seed::user_id(1));
    for i in 1..=TASKS {
        let body =
            serde_json::json!({ "title": format!("Task {i}"), "description": "seeded by itsor-bench" }).to_string();
        let response = send(addr, Req::post_json(&path, &[("authorization", &bearer)], &body))?;
        if response.status != 201 {
            bail!("creating a task answered {}", response.status);
        }
    }
    Ok(())
}

/// Sends each scenario's request that `compared` accepts once to both targets and lists
/// the differences.
fn parity(a: &Target, b: &Target, users: u32, compared: impl Fn(&str) -> bool) -> anyhow::Result<Vec<String>> {
    let mut differences = Vec::new();
    let (sa, sb) = (scenarios(&a.token, users), scenarios(&b.token, users));
    for (x, y) in sa.iter().zip(&sb).filter(|(x, _)| compared(x.name)) {
        let request = |target: &Target, scenario: &Scenario| -> anyhow::Result<client::HttpResponse> {
            let headers: Vec<(&str, &str)> = scenario.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let body = scenario
                .login_users
                .map(|(_, password)| serde_json::json!({ "email": seed::email(1), "password": password }).to_string());
            let req = Req {
                method: scenario.method,
                path: &scenario.path,
                headers: &headers,
                body: body.as_deref().map(str::as_bytes),
            };
            send(target.server()?.addr, req)
        };
        let (ra, rb) = (request(a, x)?, request(b, y)?);
        let names = |r: &client::HttpResponse| -> Vec<String> { r.headers.iter().map(|(n, _)| n.clone()).collect() };
        let comparable = |r: &client::HttpResponse| -> Vec<(String, String)> {
            // The date and the request's own id differ by nature.
            r.headers.iter().filter(|(n, _)| n != "date" && n != "x-request-id").cloned().collect()
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
                a.label(),
                ra.status,
                ra.headers,
                b.label(),
                rb.status,
                rb.headers
            ));
        }
    }
    Ok(differences)
}

/// Seeds `spec`'s database, starts its server, and creates user 1's token and tasks.
fn prepare(
    spec: ServerSpec,
    paths: &Paths,
    users: u32,
    hash: &str,
    database_processes: Option<pg::Processes>,
) -> anyhow::Result<Target> {
    seed::migrate(&paths.itsor, &spec.store)?;
    seed::insert_users(&spec.store, 1, users, hash)?;
    let (server, took) = Server::start(&spec)?;
    let target = Target { spec, server: Some(server), token: String::new(), database_processes };
    let addr = target.server()?.addr;
    eprintln!("itsor-bench: {} listening on {addr} after {:.0} ms", target.label(), took.as_secs_f64() * 1e3);
    let token = login(addr, 1)?;
    create_tasks(addr, &token)?;
    Ok(Target { token, ..target })
}

/// The targets in the order each scenario runs on them: wasm on PostgreSQL right after wasm
/// on SQLite, so that the two runs compared are the closest in time.
fn load_order<'a>(targets: &'a [Target], on_postgres: Option<&'a Target>) -> Vec<&'a Target> {
    let mut order: Vec<&Target> = targets.iter().collect();
    if let Some(target) = on_postgres {
        let after_wasm = targets.iter().position(|t| t.engine() == Engine::Wasm).map_or(targets.len(), |i| i + 1);
        order.insert(after_wasm, target);
    }
    order
}

/// The report's line on the PostgreSQL set-up.
fn postgres_line(cli: &Cli, cluster: &Postgres, env: &[(String, String)]) -> String {
    let pool = env
        .iter()
        .find(|(k, _)| k == "ITSOR_PG_POOL_SIZE")
        .map_or_else(|| "the host's default".to_owned(), |(_, v)| v.clone());
    let scenarios: Vec<&str> =
        cli.postgres_scenarios.iter().map(String::as_str).filter(|name| cli.wants(name)).collect();
    format!(
        "PostgreSQL: {}, a private throw-away cluster on 127.0.0.1 (new `initdb`, fsync=off, full_page_writes=off, no TLS) on the same machine, so it shares the CPUs with the servers and wrk; served by `itsor serve` only (itsor-native stores in SQLite only), same environment as on SQLite, ITSOR_PG_POOL_SIZE: {pool}; same users and tasks; scenarios run on it: {}",
        cluster.version,
        scenarios.join(", ")
    )
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
        wrk::run(addr, scenario, Load { duration: Duration::from_secs(warmup), ..load }, dir)?;
    }
    let quiet = machine::wait_until_quiet();
    let database_cpu = || -> anyhow::Result<Option<Duration>> {
        target.database_processes.map(|processes| processes.cpu_time()).transpose()
    };
    let cpu_before = target.server()?.cpu_time()?;
    let database_before = database_cpu()?;
    let mut result = wrk::run(addr, scenario, load, dir)?;
    let cpu = target.server()?.cpu_time()?.saturating_sub(cpu_before);
    let database = database_cpu()?.zip(database_before).map(|(after, before)| after.saturating_sub(before));
    result.server_cpu_us = per_request(cpu, result.requests);
    result.database_cpu_us = database.map(|cpu| per_request(cpu, result.requests));
    result.server_rss_kib = target.server()?.memory()?.rss_kib;
    let database_note = result.database_cpu_us.map_or_else(String::new, |us| format!(" + PostgreSQL {us:.1}"));
    eprintln!(
        "  {:<11} {:<16} c={:<4} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  CPU {:>8.1}{database_note} µs/req  errors {}",
        scenario.name,
        target.label(),
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

/// `cpu` spread over `requests`, in µs (0 without requests).
fn per_request(cpu: Duration, requests: u64) -> f64 {
    if requests > 0 { cpu.as_secs_f64() * 1e6 / requests as f64 } else { 0.0 }
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
    let path = cli.report.clone().unwrap_or_else(|| paths.target.join("bench/report.md"));
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
        title: format!("itsor bench{}{} — {}", if cli.label.is_empty() { "" } else { ": " }, cli.label, now_utc()),
        setup: report::machine_lines(info),
        users: u64::from(cli.users),
        ..Report::default()
    };
    let workers = env
        .iter()
        .find(|(k, _)| k == "TOKIO_WORKER_THREADS")
        .map_or_else(|| format!("{} (one per CPU)", info.cpus), |(_, v)| v.clone());
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

    eprintln!("itsor-bench: hashing the seed password and seeding {} users per engine", cli.users);
    let hash = seed::password_hash()?;
    let main_cache = cli.cache_dir.clone().unwrap_or_else(|| workdir.join("cache-main"));
    let mut targets = Vec::new();
    let spec = |engine: Engine, store: Store| ServerSpec {
        engine,
        binary: match engine {
            Engine::Wasm => paths.itsor.clone(),
            Engine::Native => paths.native.clone(),
        },
        component: paths.component.clone(),
        log: workdir.join(match store.database() {
            Database::Sqlite => format!("{engine}.log"),
            database => format!("{engine}-{database}.log"),
        }),
        store,
        cache_dir: main_cache.clone(),
        workdir: workdir.to_path_buf(),
        env: env.to_vec(),
        wrapper: Vec::new(),
    };
    let engines = if cli.on(Database::Sqlite) { cli.engines.as_slice() } else { &[] };
    for &engine in engines {
        let store = Store::Sqlite(workdir.join(format!("{engine}.db")));
        targets.push(prepare(spec(engine, store), paths, cli.users, &hash, None)?);
    }
    if let [a, b] = targets.as_slice() {
        report.parity = parity(a, b, cli.users, |_| true)?;
    }
    if !report.parity.is_empty() {
        eprintln!("itsor-bench: the engines answered differently:\n{}", report.parity.join("\n"));
    }
    let mut postgres = None;
    let mut on_postgres = None;
    if cli.wants_postgres() {
        eprintln!("itsor-bench: starting a throw-away PostgreSQL cluster");
        let cluster = Postgres::start()?;
        let store = Store::Postgres(cluster.create_database()?);
        let target = prepare(spec(Engine::Wasm, store), paths, cli.users, &hash, Some(cluster.processes))?;
        report.setup.push(postgres_line(cli, &cluster, env));
        if let Some(wasm) = targets.iter().find(|t| t.engine() == Engine::Wasm) {
            let compared: Vec<String> = scenarios("", cli.users)
                .iter()
                .map(|s| s.name.to_owned())
                .filter(|name| cli.wants_on_postgres(name))
                .collect();
            let differences = parity(wasm, &target, cli.users, |name| cli.wants_on_postgres(name))?;
            if !differences.is_empty() {
                eprintln!("itsor-bench: wasm answered differently on PostgreSQL:\n{}", differences.join("\n"));
            }
            report.postgres_parity = Some((compared, differences));
        }
        postgres = Some(cluster);
        on_postgres = Some(target);
    }

    let names: Vec<&'static str> = scenarios("", cli.users).iter().map(|s| s.name).collect();
    let order = if cli.skips("load") { Vec::new() } else { load_order(&targets, on_postgres.as_ref()) };
    if !order.is_empty() {
        eprintln!("itsor-bench: load runs");
    }
    for name in names.into_iter().filter(|name| cli.wants(name)) {
        for &target in &order {
            if target.database() == Database::Postgres && !cli.wants_on_postgres(name) {
                continue;
            }
            let Some(scenario) = scenarios(&target.token, cli.users).into_iter().find(|s| s.name == name) else {
                continue;
            };
            let load = if name == "login" {
                Load { connections: cli.login_connections, duration: Duration::from_secs(cli.login_duration) }
            } else {
                Load { connections: cli.connections, duration: Duration::from_secs(cli.duration) }
            };
            let (result, quiet) = measure(target, &scenario, load, cli.warmup, workdir)?;
            report.runs.push(Run {
                scenario: name.to_owned(),
                engine: target.engine(),
                database: target.database(),
                connections: load.connections,
                result,
                quiet,
            });
        }
    }
    for scenario in scenarios("", cli.users).iter().filter(|s| cli.wants(s.name)) {
        report.setup.push(format!("scenario `{}`: {}, expects {}", scenario.name, scenario.what, scenario.expect));
    }
    // Done with PostgreSQL: nothing of it runs beside the measurements that follow.
    if let Some(server) = on_postgres.and_then(|mut target| target.server.take()) {
        server.stop();
    }
    if let Some(cluster) = postgres {
        cluster.stop()?;
    }

    if !cli.skips("instructions") && cli.on(Database::Sqlite) {
        eprintln!("itsor-bench: instructions per request (callgrind)");
        for &engine in &cli.engines {
            let mut spec = spec(engine, Store::Sqlite(workdir.join(format!("{engine}-callgrind.db"))));
            let prefix = workdir.join(format!("callgrind-{engine}"));
            spec.wrapper = instructions::valgrind(&prefix)?;
            spec.log = workdir.join(format!("{engine}-callgrind.log"));
            if engine == Engine::Wasm {
                let (name, value) = instructions::WASM_ENV;
                spec.env.push((name.to_owned(), value.to_owned()));
            }
            let mut target = prepare(spec, paths, cli.users, &hash, None)?;
            let mut counter = instructions::Counter::attach(target.server()?, &prefix)?;
            for scenario in scenarios(&target.token, cli.users).into_iter().filter(|s| cli.wants(s.name)) {
                let sample = match scenario.login_users {
                    Some(_) => instructions::Sample { warmup: 1, requests: cli.counted_logins },
                    None => instructions::Sample { warmup: cli.counted_requests / 10, requests: cli.counted_requests },
                };
                let counted = counter.count(&scenario, sample)?;
                let per_request = counted as f64 / f64::from(sample.requests.max(1));
                eprintln!("  {:<11} {engine:<6} {per_request:>12.0} instructions per request", scenario.name);
                report.instructions.push(report::Instructions {
                    scenario: scenario.name.to_owned(),
                    engine,
                    requests: sample.requests,
                    per_request,
                });
            }
            if let Some(server) = target.server.take() {
                server.stop();
            }
        }
    }

    if !cli.skips("algorithms") && cli.engines.contains(&Engine::Wasm) {
        eprintln!("itsor-bench: per signing algorithm (wasm, SQLite)");
        for algorithm in &cli.algorithms {
            let mut spec = spec(Engine::Wasm, Store::Sqlite(workdir.join(format!("wasm-{algorithm}.db"))));
            spec.env.retain(|(name, _)| name != "JWT_ALGORITHM");
            spec.env.push(("JWT_ALGORITHM".to_owned(), algorithm.clone()));
            spec.log = workdir.join(format!("wasm-{algorithm}.log"));
            let mut target = prepare(spec, paths, cli.users, &hash, None)?;
            let scenario = scenarios(&target.token, cli.users).remove(0);
            let load = Load { connections: cli.connections, duration: Duration::from_secs(cli.duration) };
            let (me, _) = measure(&target, &scenario, load, cli.warmup, workdir)?;
            if let Some(server) = target.server.take() {
                server.stop();
            }
            let bearer = format!("Bearer {}", target.token);
            let mut startup = Vec::new();
            for _ in 0..cli.startup_runs {
                machine::wait_until_quiet();
                startup.push(extras::time_to_first_200(&target.spec, "/auth/me", &[("authorization", &bearer)])?);
            }
            report.algorithms.push(report::AlgorithmRun {
                algorithm: algorithm.clone(),
                token_bytes: target.token.len(),
                me,
                startup,
            });
        }
    }

    if !cli.skips("big") && cli.big_users > cli.users {
        eprintln!("itsor-bench: growing the users table to {} rows", cli.big_users);
        for target in &targets {
            let took = seed::insert_users(&target.spec.store, cli.users + 1, cli.big_users, &hash)?;
            let users = seed::count_users(&target.spec.store)?;
            eprintln!("  {}: {users} users ({:.1} s)", target.engine(), took.as_secs_f64());
            let scenario = scenarios(&target.token, cli.users).remove(0);
            let load = Load { connections: cli.connections, duration: Duration::from_secs(cli.duration) };
            let (result, _) = measure(target, &scenario, load, cli.warmup, workdir)?;
            report.big.push((target.engine(), users, result));
        }
    }

    if !cli.skips("held") && cli.held_connections > 0 {
        eprintln!("itsor-bench: holding {} keep-alive connections", cli.held_connections);
        for target in &targets {
            let server = target.server()?;
            let bearer = format!("Bearer {}", target.token);
            let held =
                extras::hold_connections(server, cli.held_connections, "/auth/me", &[("authorization", &bearer)])?;
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
            let load =
                Load { connections: u32::try_from(cli.held_connections)?, duration: Duration::from_secs(cli.duration) };
            let (result, _) = measure(target, &scenario, load, cli.warmup, workdir)?;
            let after = server.memory()?;
            report.held.push((target.engine(), held, Some(result), after));
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
                let mut startup = Startup { engine: target.engine(), cache, runs: Vec::new() };
                for run in 0..runs {
                    let mut spec = target.spec.clone();
                    if cold {
                        spec.cache_dir = workdir.join(format!("cache-cold-{run}"));
                    }
                    machine::wait_until_quiet();
                    let took = extras::time_to_first_200(&spec, "/auth/me", &headers)?;
                    eprintln!("  {} {cache}: {:.0} ms", target.engine(), took.as_secs_f64() * 1e3);
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
