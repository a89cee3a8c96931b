//! The results, as Markdown tables (printed, and saved for `docs/BENCHMARKS.md`).

use std::fmt::Write as _;
use std::time::Duration;

use crate::extras::Held;
use crate::machine::{Info, Quiet};
use crate::server::{Database, Engine, Memory};
use crate::wrk::LoadResult;

/// One measured load run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Scenario name.
    pub scenario: String,
    /// Engine.
    pub engine: Engine,
    /// Where the server stored.
    pub database: Database,
    /// Connections.
    pub connections: u32,
    /// What wrk saw.
    pub result: LoadResult,
    /// The machine before the run.
    pub quiet: Quiet,
}

/// Start-up timings of one engine and cache state.
#[derive(Debug, Clone)]
pub struct Startup {
    /// Engine.
    pub engine: Engine,
    /// `cold (empty cache)`, `cached`, or `-` for native.
    pub cache: &'static str,
    /// Every run.
    pub runs: Vec<Duration>,
}

/// One signing algorithm's figures (wasm on SQLite).
#[derive(Debug, Clone)]
pub struct AlgorithmRun {
    /// `JWT_ALGORITHM`.
    pub algorithm: String,
    /// The length of the access token a login returned.
    pub token_bytes: usize,
    /// `GET /auth/me` by bearer under load.
    pub me: LoadResult,
    /// Start-ups to the first 200 (cached component).
    pub startup: Vec<Duration>,
}

/// Instructions per request of one scenario on one engine (callgrind).
#[derive(Debug, Clone)]
pub struct Instructions {
    /// Scenario name.
    pub scenario: String,
    /// Engine.
    pub engine: Engine,
    /// Requests counted.
    pub requests: u32,
    /// Instructions per request (all the server's threads, user space).
    pub per_request: f64,
}

/// Everything `make bench` measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Title line.
    pub title: String,
    /// The machine, settings and commands, as bullet lines.
    pub setup: Vec<String>,
    /// Main table.
    pub runs: Vec<Run>,
    /// `/auth/me` with many users: (engine, users, result).
    pub big: Vec<(Engine, u64, LoadResult)>,
    /// Users in the main table's database.
    pub users: u64,
    /// Held connections per engine, with the wrk run at that many connections.
    pub held: Vec<(Engine, Held, Option<LoadResult>, Memory)>,
    /// Start-up timings.
    pub startup: Vec<Startup>,
    /// Per signing algorithm.
    pub algorithms: Vec<AlgorithmRun>,
    /// Instructions per request (callgrind).
    pub instructions: Vec<Instructions>,
    /// The component's size in bytes.
    pub wasm_bytes: Option<u64>,
    /// Responses that differed between the engines (empty: identical).
    pub parity: Vec<String>,
    /// Wasm on PostgreSQL against wasm on SQLite: the scenarios compared and the responses
    /// that differed (`None`: no such comparison).
    pub postgres_parity: Option<(Vec<String>, Vec<String>)>,
}

/// Writes a section heading and the head of its Markdown table (column names, alignment).
fn table_head(out: &mut String, title: &str, columns: &str, alignment: &str) {
    let _ = writeln!(out, "\n## {title}\n\n{columns}\n{alignment}");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// One row of the SQLite vs PostgreSQL table: `run`'s scenario on `database`, measured as
/// `r`, with `ratio` in the last column.
fn postgres_row(out: &mut String, run: &Run, database: Database, r: &LoadResult, ratio: &str) {
    let database_cpu = r.database_cpu_us.map_or_else(|| "–".to_owned(), |us| format!("{us:.0}"));
    let _ = writeln!(
        out,
        "| {} | {database} | {} | {:.0} | {:.2} | {:.2} | {} | {:.0} | {database_cpu} | {:.1} | {ratio} |",
        run.scenario,
        run.connections,
        r.rps(),
        r.p50_ms,
        r.p99_ms,
        r.errors(),
        r.server_cpu_us,
        mib(r.server_rss_kib)
    );
}

/// Describes the machine for the report.
pub fn machine_lines(info: &Info) -> Vec<String> {
    vec![
        format!(
            "machine: {} logical CPUs, {}, {:.1} GiB RAM, Linux {}",
            info.cpus, info.model, info.memory_gib, info.kernel
        ),
        format!("load tool: {} (1 thread)", info.wrk),
    ]
}

impl Report {
    /// The SQLite run of `scenario` on `engine` (the main table's).
    fn result_of(&self, scenario: &str, engine: Engine) -> Option<&LoadResult> {
        self.result_on(scenario, engine, Database::Sqlite)
    }

    fn result_on(&self, scenario: &str, engine: Engine, database: Database) -> Option<&LoadResult> {
        self.runs
            .iter()
            .find(|run| run.scenario == scenario && run.engine == engine && run.database == database)
            .map(|run| &run.result)
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# {}\n", self.title);
        for line in &self.setup {
            let _ = writeln!(out, "- {line}");
        }
        self.load_table(&mut out);
        self.instructions_table(&mut out);
        self.postgres_table(&mut out);
        self.algorithm_table(&mut out);
        self.big_table(&mut out);
        self.held_table(&mut out);
        self.startup_table(&mut out);
        if let Some(bytes) = self.wasm_bytes {
            let _ =
                writeln!(out, "\n## Component\n\n`itsor_auth.wasm`: {bytes} bytes ({:.1} KiB)", bytes as f64 / 1024.0);
        }
        let _ = writeln!(out, "\n## Parity\n");
        if self.parity.is_empty() {
            let _ = writeln!(
                out,
                "Both engines gave the same status, headers (but `date` and `x-request-id`) and body for every scenario's request (login: same status and header names; tokens differ)."
            );
        } else {
            for line in &self.parity {
                let _ = writeln!(out, "- {line}");
            }
        }
        self.postgres_parity_lines(&mut out);
        let noisy: Vec<String> = self
            .runs
            .iter()
            .filter(|run| !run.quiet.quiet)
            .map(|run| {
                format!(
                    "{} / {} on {} ({:.0}% CPU busy before)",
                    run.scenario, run.engine, run.database, run.quiet.busy_percent
                )
            })
            .collect();
        if !noisy.is_empty() {
            let _ = writeln!(out, "\n**Not quiet** when started (numbers suspect): {}", noisy.join(", "));
        }
        out
    }

    fn load_table(&self, out: &mut String) {
        table_head(
            out,
            "Load",
            "| scenario | engine | conns | req/s | p50 ms | p99 ms | errors | server CPU µs/req | RSS after MiB | wasm/native req/s |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        );
        for run in self.runs.iter().filter(|run| run.database == Database::Sqlite) {
            let r = &run.result;
            let ratio = match run.engine {
                Engine::Wasm => self
                    .result_of(&run.scenario, Engine::Native)
                    .filter(|native| native.rps() > 0.0)
                    .map_or_else(|| "".to_owned(), |native| format!("{:.2}×", r.rps() / native.rps())),
                Engine::Native => String::new(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {:.0} | {:.1} | {} |",
                run.scenario,
                run.engine,
                run.connections,
                r.rps(),
                r.p50_ms,
                r.p99_ms,
                r.errors(),
                r.server_cpu_us,
                mib(r.server_rss_kib),
                ratio
            );
        }
    }

    fn instructions_table(&self, out: &mut String) {
        if self.instructions.is_empty() {
            return;
        }
        table_head(
            out,
            "Instructions per request (callgrind; SQLite; one keep-alive connection, one request at a time; all server threads, user space)",
            "| scenario | requests counted | wasm | native | wasm/native |",
            "|---|---:|---:|---:|---:|",
        );
        let mut names: Vec<&str> = Vec::new();
        for count in &self.instructions {
            if !names.contains(&count.scenario.as_str()) {
                names.push(&count.scenario);
            }
        }
        for name in names {
            let of = |engine: Engine| self.instructions.iter().find(|c| c.scenario == name && c.engine == engine);
            let (wasm, native) = (of(Engine::Wasm), of(Engine::Native));
            let cell = |count: Option<&Instructions>| {
                count.map_or_else(|| "–".to_owned(), |c| format!("{:.0}", c.per_request))
            };
            let ratio = match (wasm, native) {
                (Some(w), Some(n)) if n.per_request > 0.0 => format!("{:.2}×", w.per_request / n.per_request),
                _ => "–".to_owned(),
            };
            let requests = wasm.or(native).map_or(0, |c| c.requests);
            let _ = writeln!(out, "| {name} | {requests} | {} | {} | {ratio} |", cell(wasm), cell(native));
        }
    }

    /// The wasm host's runs on PostgreSQL, each after the same scenario on SQLite.
    fn postgres_table(&self, out: &mut String) {
        let on_postgres: Vec<&Run> = self.runs.iter().filter(|run| run.database == Database::Postgres).collect();
        if on_postgres.is_empty() {
            return;
        }
        table_head(
            out,
            "SQLite vs PostgreSQL (wasm)",
            "| scenario | database | conns | req/s | p50 ms | p99 ms | errors | server CPU µs/req | PostgreSQL CPU µs/req | RSS after MiB | postgres/sqlite req/s |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        );
        for run in on_postgres {
            let sqlite = self.result_on(&run.scenario, run.engine, Database::Sqlite);
            if let Some(base) = sqlite {
                postgres_row(out, run, Database::Sqlite, base, "");
            }
            let ratio = sqlite
                .filter(|base| base.rps() > 0.0)
                .map_or_else(String::new, |base| format!("{:.2}×", run.result.rps() / base.rps()));
            postgres_row(out, run, Database::Postgres, &run.result, &ratio);
        }
    }

    /// What the PostgreSQL parity check found, if it ran.
    fn postgres_parity_lines(&self, out: &mut String) {
        let Some((scenarios, differences)) = &self.postgres_parity else {
            return;
        };
        if differences.is_empty() {
            let _ = writeln!(
                out,
                "\nOn PostgreSQL the wasm host answered as on SQLite for {} (same status, headers but `date`, and body; login: same status and header names).",
                scenarios.join(", ")
            );
        } else {
            let _ = writeln!(out, "\nWasm on PostgreSQL vs on SQLite:\n");
            for line in differences {
                let _ = writeln!(out, "- {line}");
            }
        }
    }

    fn big_table(&self, out: &mut String) {
        if self.big.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n## `/auth/me` (bearer) with {} vs more users\n", self.users);
        let _ = writeln!(
            out,
            "| engine | users | req/s | p50 ms | p99 ms | errors | server CPU µs/req | req/s vs {} users |",
            self.users
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
        for (engine, users, r) in &self.big {
            let base = self.result_of("me-bearer", *engine);
            let change = base
                .filter(|b| b.rps() > 0.0)
                .map_or_else(String::new, |b| format!("{:+.1}%", 100.0 * (r.rps() / b.rps() - 1.0)));
            if let Some(b) = base {
                let _ = writeln!(
                    out,
                    "| {engine} | {} | {:.0} | {:.2} | {:.2} | {} | {:.0} | |",
                    self.users,
                    b.rps(),
                    b.p50_ms,
                    b.p99_ms,
                    b.errors(),
                    b.server_cpu_us
                );
            }
            let _ = writeln!(
                out,
                "| {engine} | {users} | {:.0} | {:.2} | {:.2} | {} | {:.0} | {change} |",
                r.rps(),
                r.p50_ms,
                r.p99_ms,
                r.errors(),
                r.server_cpu_us
            );
        }
    }

    fn held_table(&self, out: &mut String) {
        if self.held.is_empty() {
            return;
        }
        table_head(
            out,
            "Many keep-alive connections",
            "| engine | connections | RSS before MiB | RSS holding MiB | KiB/conn | burst (1 req each) ms | errors | wrk req/s | p50 ms | p99 ms | wrk errors | peak RSS MiB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        );
        for (engine, held, load, after) in &self.held {
            let per = if held.connections > 0 {
                held.holding.rss_kib.saturating_sub(held.before.rss_kib) as f64 / held.connections as f64
            } else {
                0.0
            };
            let (rps, p50, p99, errors) =
                load.map_or((String::new(), String::new(), String::new(), String::new()), |l| {
                    (
                        format!("{:.0}", l.rps()),
                        format!("{:.2}", l.p50_ms),
                        format!("{:.2}", l.p99_ms),
                        l.errors().to_string(),
                    )
                });
            let _ = writeln!(
                out,
                "| {engine} | {} | {:.1} | {:.1} | {per:.1} | {:.1} | {} | {rps} | {p50} | {p99} | {errors} | {:.1} |",
                held.connections,
                mib(held.before.rss_kib),
                mib(held.holding.rss_kib),
                ms(held.burst),
                held.errors,
                mib(after.peak_kib)
            );
        }
    }

    fn algorithm_table(&self, out: &mut String) {
        let Some(baseline) = self.algorithms.first() else {
            return;
        };
        table_head(
            out,
            "Per signing algorithm (wasm, SQLite; `GET /auth/me` by bearer, start-up with the component cached)",
            &format!(
                "| JWT_ALGORITHM | token bytes | req/s | vs {} | p50 ms | p99 ms | server CPU µs/req | errors | start-up median ms |",
                baseline.algorithm
            ),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        );
        for run in &self.algorithms {
            let mut startup = run.startup.clone();
            startup.sort();
            let median = startup.get(startup.len() / 2).map_or_else(String::new, |d| format!("{:.0}", ms(*d)));
            let ratio = if baseline.me.rps() > 0.0 { run.me.rps() / baseline.me.rps() } else { 0.0 };
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {ratio:.2}× | {:.2} | {:.2} | {:.1} | {} | {median} |",
                run.algorithm,
                run.token_bytes,
                run.me.rps(),
                run.me.p50_ms,
                run.me.p99_ms,
                run.me.server_cpu_us,
                run.me.errors()
            );
        }
    }

    fn startup_table(&self, out: &mut String) {
        if self.startup.is_empty() {
            return;
        }
        table_head(
            out,
            "Start-up to first 200 (`GET /auth/me`, bearer)",
            "| engine | component cache | runs | median ms | min ms | max ms |",
            "|---|---|---:|---:|---:|---:|",
        );
        for s in &self.startup {
            let mut runs = s.runs.clone();
            runs.sort();
            let (Some(min), Some(max), Some(median)) = (runs.first(), runs.last(), runs.get(runs.len() / 2)) else {
                continue;
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.0} | {:.0} | {:.0} |",
                s.engine,
                s.cache,
                runs.len(),
                ms(*median),
                ms(*min),
                ms(*max)
            );
        }
    }
}
