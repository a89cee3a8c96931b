//! Instructions per request, counted by Valgrind's callgrind.
//!
//! Requests per second and CPU time per request drift by ±10 % from run to run on a shared
//! VM; an instruction count does not (two counts of 200 `404`s on one server differed by
//! 0.03 %). So each change to the request path can show its effect in a figure that holds
//! still, next to the timings that say what it is worth.
//!
//! How one count is taken:
//!
//! 1. the server runs under `valgrind --tool=callgrind` with instrumentation off, so its
//!    start-up (database, engine, cached component) costs no simulation;
//! 2. `callgrind_control --instr=on` turns instrumentation on; a warm-up on one keep-alive
//!    connection fills the server's caches (statements, compiled code's first runs);
//! 3. `callgrind_control --zero`, then the measured requests on the same connection, one at
//!    a time, each checked for the expected status, then `callgrind_control --dump`;
//! 4. the dump's `totals:` line (every thread of the server, user space only) divided by the
//!    requests.
//!
//! The count includes whatever else the server's threads did meanwhile: the wasm host's
//! epoch thread wakes every 10 ms of (slowed-down) wall time, a few thousand instructions
//! per wake-up, well under 1 % of a request. The kernel's work (the system calls, the
//! memory reset's page-table walk) is not counted, so the count says where user-space
//! instructions go, and server CPU per request (from the load runs) says what the whole
//! request costs.
//!
//! Under Valgrind the wasm host cannot reserve its full instance pool (1,000 slots of
//! several GiB of address space each): it runs with `ITSOR_MAX_CONCURRENT=4`, which sizes
//! the pool to 4 slots and is otherwise irrelevant to requests sent one at a time.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::client::{Connection, Req};
use crate::seed;
use crate::server::Server;
use crate::wrk::Scenario;

/// The command line a server runs under: callgrind, instrumentation off until asked,
/// dumps named `<prefix>.N`. `valgrind` is looked up in `PATH` here, since the servers
/// start with a cleared environment.
pub fn valgrind(prefix: &Path) -> anyhow::Result<Vec<OsString>> {
    let valgrind = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("valgrind"))
        .find(|path| path.is_file())
        .context("valgrind not found in PATH (`make bench` installs it; or pass --skip instructions)")?;
    let mut out = OsString::from("--callgrind-out-file=");
    out.push(prefix);
    Ok([valgrind.into_os_string()]
        .into_iter()
        .chain(["--tool=callgrind", "--instr-atstart=no", "-q"].map(OsString::from))
        .chain([out])
        .collect())
}

/// The environment a wasm host needs under Valgrind (see the module documentation).
pub const WASM_ENV: (&str, &str) = ("ITSOR_MAX_CONCURRENT", "4");

/// Requests of one count.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Unmeasured requests first.
    pub warmup: u32,
    /// Measured requests.
    pub requests: u32,
}

/// A server running under callgrind, and where its dumps go.
pub struct Counter<'a> {
    server: &'a Server,
    prefix: PathBuf,
    dumps: u32,
}

impl<'a> Counter<'a> {
    /// Attaches to `server`, started with [`valgrind`]`(prefix)`, and turns instrumentation on.
    pub fn attach(server: &'a Server, prefix: &Path) -> anyhow::Result<Counter<'a>> {
        let counter = Counter { server, prefix: prefix.to_path_buf(), dumps: 0 };
        counter.control("--instr=on")?;
        Ok(counter)
    }

    fn control(&self, what: &str) -> anyhow::Result<()> {
        let output = Command::new("callgrind_control")
            .arg(what)
            .arg(self.server.pid().to_string())
            .output()
            .context("cannot run callgrind_control (Valgrind; `make bench` installs it)")?;
        if !output.status.success() {
            bail!("callgrind_control {what} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        Ok(())
    }

    /// Counts the instructions the server spends on `sample.requests` of `scenario`'s
    /// requests, after `sample.warmup` unmeasured ones.
    pub fn count(&mut self, scenario: &Scenario, sample: Sample) -> anyhow::Result<u64> {
        let mut connection = Connection::open(self.server.addr)?;
        let mut next = 0;
        let mut send = |connection: &mut Connection| -> anyhow::Result<()> {
            next += 1;
            let body = scenario.login_users.map(|(users, password)| {
                serde_json::json!({ "email": seed::email(1 + (next - 1) % users), "password": password }).to_string()
            });
            let headers: Vec<(&str, &str)> = scenario.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let req = Req {
                method: scenario.method,
                path: &scenario.path,
                headers: &headers,
                body: body.as_deref().map(str::as_bytes),
            };
            connection.send(req, true)?;
            let response = connection.receive()?;
            if response.status != scenario.expect {
                bail!("{} answered {} instead of {}", scenario.name, response.status, scenario.expect);
            }
            Ok(())
        };
        for _ in 0..sample.warmup {
            send(&mut connection)?;
        }
        self.control("--zero")?;
        for _ in 0..sample.requests {
            send(&mut connection)?;
        }
        self.control("--dump")?;
        self.dumps += 1;
        let dump = PathBuf::from(format!("{}.{}", self.prefix.display(), self.dumps));
        let text = std::fs::read_to_string(&dump).with_context(|| format!("cannot read {}", dump.display()))?;
        totals(&text).with_context(|| format!("no totals line in {}", dump.display()))
    }
}

/// The `totals:` line of a callgrind dump (the first event, `Ir`, is instructions).
fn totals(dump: &str) -> Option<u64> {
    dump.lines()
        .find_map(|line| line.strip_prefix("totals:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn reads_the_totals_line() {
        let dump = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 64502823\n\nfn=(1) main\n1 3\ntotals: 64502823\n";
        assert_eq!(totals(dump), Some(64_502_823));
        assert_eq!(totals("events: Ir\n"), None);
    }

    #[test]
    fn runs_callgrind_with_instrumentation_off() {
        let args = valgrind(Path::new("/tmp/x/cg")).unwrap();
        assert!(Path::new(args.first().unwrap()).ends_with("valgrind"));
        assert!(args.iter().any(|a| a == "--instr-atstart=no"));
        assert_eq!(args.last().unwrap(), "--callgrind-out-file=/tmp/x/cg");
    }
}
