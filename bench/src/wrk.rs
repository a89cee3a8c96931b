//! Load scenarios, driven by `wrk` with a generated Lua script.
//!
//! The script sets the request (method, path, headers, body), counts every response whose
//! status is not the scenario's expected one, and at the end prints one machine-readable
//! line with wrk's latency percentiles, its socket errors and that count. For the login
//! scenario the script builds each request itself, cycling through the seeded users.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};

/// What one scenario sends and expects.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Short name (`me-bearer`).
    pub name: &'static str,
    /// What it shows, for the report.
    pub what: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// Path.
    pub path: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The status every response should have.
    pub expect: u16,
    /// Login only: cycle `POST` bodies through users `1..=n` with this password.
    pub login_users: Option<(u32, &'static str)>,
}

/// How hard and how long to load.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Open connections.
    pub connections: u32,
    /// Duration.
    pub duration: Duration,
}

/// What wrk measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadResult {
    /// Completed requests.
    pub requests: u64,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th-percentile latency, ms.
    pub p99_ms: f64,
    /// Responses with another status than expected.
    pub bad_status: u64,
    /// Connect, read, write and timeout errors.
    pub socket_errors: u64,
    /// Server CPU time (user + system) per completed request, µs; filled in by the caller,
    /// which can see the server process. Steadier than req/s on a small shared machine,
    /// since it leaves out the load generator's own CPU and idle gaps.
    pub server_cpu_us: f64,
    /// Server resident memory right after the run, KiB; filled in by the caller.
    pub server_rss_kib: u64,
    /// CPU time of the PostgreSQL server's processes per completed request, µs; filled in
    /// by the caller. `None` on SQLite, whose work is in the server's own CPU time.
    pub database_cpu_us: Option<f64>,
}

impl LoadResult {
    /// Requests per second.
    pub fn rps(&self) -> f64 {
        if self.seconds > 0.0 { self.requests as f64 / self.seconds } else { 0.0 }
    }

    /// Every failure: unexpected statuses and socket errors.
    pub fn errors(&self) -> u64 {
        self.bad_status + self.socket_errors
    }
}

/// A Lua string literal of `text`.
fn lua_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The wrk script of `scenario`.
pub fn script(scenario: &Scenario) -> String {
    let mut lua = String::new();
    lua.push_str(&format!("wrk.method = {}\n", lua_string(scenario.method)));
    lua.push_str(&format!("wrk.path = {}\n", lua_string(&scenario.path)));
    for (name, value) in &scenario.headers {
        lua.push_str(&format!("wrk.headers[{}] = {}\n", lua_string(name), lua_string(value)));
    }
    lua.push_str(&format!("local expected = {}\n", scenario.expect));
    lua.push_str(
        r#"local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status ~= expected then bad = bad + 1 end
end
"#,
    );
    if let Some((users, password)) = scenario.login_users {
        lua.push_str(&format!(
            r#"local users = {users}
local password = {password}
local n = 0
function request()
  n = n % users + 1
  local body = '{{"email":"user' .. n .. '@bench.test","password":"' .. password .. '"}}'
  return wrk.format(nil, nil, nil, body)
end
"#,
            password = lua_string(password),
        ));
    }
    lua.push_str(
        r#"function done(summary, latency, requests)
  local bad_total = 0
  for _, thread in ipairs(threads) do bad_total = bad_total + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    "ITSOR_BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d bad_status=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bad_total, e.connect + e.read + e.write + e.timeout))
end
"#,
    );
    lua
}

/// Runs `scenario` against `addr` under `load`; the script is written into `dir`.
pub fn run(addr: SocketAddr, scenario: &Scenario, load: Load, dir: &Path) -> anyhow::Result<LoadResult> {
    let script_path = dir.join(format!("{}.lua", scenario.name));
    std::fs::write(&script_path, script(scenario))?;
    let seconds = load.duration.as_secs().max(1);
    let output = Command::new("wrk")
        .args(["-t1", &format!("-c{}", load.connections), &format!("-d{seconds}s"), "--timeout", "10s", "-s"])
        .arg(&script_path)
        .arg(format!("http://{addr}"))
        .output()
        .context("cannot run wrk (make bench installs it; or: apt-get install wrk)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("wrk failed: {}{}", stdout, String::from_utf8_lossy(&output.stderr));
    }
    parse(&stdout).with_context(|| format!("unexpected wrk output:\n{stdout}"))
}

/// Reads the script's `ITSOR_BENCH` line.
fn parse(stdout: &str) -> anyhow::Result<LoadResult> {
    let line = stdout.lines().find_map(|line| line.strip_prefix("ITSOR_BENCH ")).context("no ITSOR_BENCH line")?;
    let field = |name: &str| -> anyhow::Result<u64> {
        line.split_whitespace()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .with_context(|| format!("no {name}"))?
            .parse()
            .with_context(|| format!("bad {name}"))
    };
    Ok(LoadResult {
        requests: field("requests")?,
        seconds: field("duration_us")? as f64 / 1e6,
        p50_ms: field("p50_us")? as f64 / 1e3,
        p99_ms: field("p99_us")? as f64 / 1e3,
        bad_status: field("bad_status")?,
        socket_errors: field("socket_errors")?,
        server_cpu_us: 0.0,
        server_rss_kib: 0,
        database_cpu_us: None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn parses_the_result_line() {
        let out = "Running 1s test\nITSOR_BENCH requests=100 duration_us=2000000 p50_us=1500 p99_us=9000 bad_status=2 socket_errors=1\n";
        let r = parse(out).unwrap();
        assert_eq!((r.requests, r.bad_status, r.errors()), (100, 2, 3));
        assert!((r.rps() - 50.0).abs() < 1e-9 && (r.p50_ms - 1.5).abs() < 1e-9 && (r.p99_ms - 9.0).abs() < 1e-9);
        assert!(parse("nothing").is_err());
    }

    #[test]
    fn scripts_quote_values() {
        let scenario = Scenario {
            name: "x",
            what: "",
            method: "GET",
            path: "/a\"b".into(),
            headers: vec![("Authorization".into(), "Bearer a.b".into())],
            expect: 404,
            login_users: Some((3, "pw")),
        };
        let lua = script(&scenario);
        assert!(lua.contains(r#"wrk.path = "/a\"b""#));
        assert!(lua.contains(r#"wrk.headers["Authorization"] = "Bearer a.b""#));
        assert!(lua.contains("local expected = 404"));
        assert!(lua.contains("local users = 3"));
    }
}
