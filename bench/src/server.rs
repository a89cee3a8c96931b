//! Starting, measuring and stopping the servers under test.
//!
//! Each server runs with a cleared environment (only what [`ServerSpec`] sets), in the
//! bench's temporary directory (so no `.env` is picked up), on `127.0.0.1` with a port the
//! OS picks; the port is read from the `itsor listening on http://ADDR` line both binaries
//! print once they serve. Their logs go to a file beside the database. A server stores in
//! a SQLite file or, `itsor serve` only, in a PostgreSQL database ([`Store`]).

use std::fmt;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// Which implementation serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// `itsor serve`: the component on wasmtime, a fresh instance per request.
    Wasm,
    /// `itsor-native`: the same logic compiled natively (the reference).
    Native,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::Wasm => "wasm",
            Engine::Native => "native",
        })
    }
}

/// Which kind of database a server stores in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Database {
    /// A SQLite file, opened in the server's process.
    Sqlite,
    /// A PostgreSQL server (a private throw-away cluster on loopback); `itsor serve` only.
    Postgres,
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Database::Sqlite => "sqlite",
            Database::Postgres => "postgres",
        })
    }
}

/// Where one server keeps its data.
#[derive(Debug, Clone)]
pub enum Store {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its `postgresql://` URL.
    Postgres(String),
}

impl Store {
    /// The `--database-url` both binaries take.
    pub fn url(&self) -> String {
        match self {
            Store::Sqlite(path) => database_url(path),
            Store::Postgres(url) => url.clone(),
        }
    }

    /// Which kind of database it is.
    pub fn database(&self) -> Database {
        match self {
            Store::Sqlite(_) => Database::Sqlite,
            Store::Postgres(_) => Database::Postgres,
        }
    }
}

/// How long a server may take to print its listening line (a cold compile included).
const START_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Everything needed to start one server.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// Which binary.
    pub engine: Engine,
    /// `itsor` or `itsor-native`.
    pub binary: PathBuf,
    /// The component (wasm only).
    pub component: PathBuf,
    /// Where it stores.
    pub store: Store,
    /// The compiled-component cache (wasm only).
    pub cache_dir: PathBuf,
    /// Working directory (holds no `.env`).
    pub workdir: PathBuf,
    /// The whole environment the server gets.
    pub env: Vec<(String, String)>,
    /// Where stderr goes.
    pub log: PathBuf,
    /// A program and its arguments the binary runs under (callgrind), or nothing.
    pub wrapper: Vec<std::ffi::OsString>,
}

/// A running server.
pub struct Server {
    child: Child,
    /// Kept open so the server's stdout never breaks.
    _stdout: BufReader<ChildStdout>,
    /// Where it listens.
    pub addr: SocketAddr,
    log: PathBuf,
}

/// Resident memory of a process, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// `VmRSS`, KiB.
    pub rss_kib: u64,
    /// `VmHWM` (peak RSS), KiB.
    pub peak_kib: u64,
}

/// `sqlite:///` URL of an absolute path (`sqlite:////tmp/x.db`).
pub fn database_url(path: &Path) -> String {
    format!("sqlite:///{}", path.display())
}

impl Server {
    /// Starts the server and waits until it listens; returns it with the time that took.
    pub fn start(spec: &ServerSpec) -> anyhow::Result<(Server, Duration)> {
        let started = Instant::now();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .with_context(|| format!("cannot open {}", spec.log.display()))?;
        let mut command = match spec.wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(&spec.binary);
                command
            }
            None => Command::new(&spec.binary),
        };
        match spec.engine {
            Engine::Wasm => command.arg("serve").arg("--component").arg(&spec.component),
            Engine::Native => &mut command,
        };
        command
            .args(["--host", "127.0.0.1", "--port", "0", "--database-url"])
            .arg(spec.store.url())
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .env("ITSOR_CACHE_DIR", &spec.cache_dir)
            .current_dir(&spec.workdir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let mut child = command.spawn().with_context(|| format!("cannot start {}", spec.binary.display()))?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let mut stdout = BufReader::new(stdout);
        match read_listening_line(&mut stdout, &mut child) {
            Ok(addr) => {
                let server = Server { child, _stdout: stdout, addr, log: spec.log.clone() };
                Ok((server, started.elapsed()))
            }
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(error.context(format!("{} did not start; its log:\n{}", spec.engine, tail(&spec.log))))
            }
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its resident memory now.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(Memory { rss_kib: field("VmRSS:"), peak_kib: field("VmHWM:") })
    }

    /// CPU time the server has used so far (user + system, all threads).
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        Ok(ProcStat::read(self.pid())?.cpu_time(false))
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }

    /// Stops it with SIGTERM (graceful), or kills it after [`STOP_TIMEOUT`].
    pub fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // `stop` consumed the child already if it was called; otherwise never leave one behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn read_listening_line(stdout: &mut BufReader<ChildStdout>, child: &mut Child) -> anyhow::Result<SocketAddr> {
    let (sender, receiver) = std::sync::mpsc::channel();
    // Reading blocks; do it on the side so a hung server cannot hang the bench.
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut line = String::new();
            let result = loop {
                line.clear();
                match stdout.read_line(&mut line) {
                    Ok(0) => break Err(anyhow::anyhow!("the server exited before listening")),
                    Ok(_) => {
                        if let Some(addr) = line.trim().strip_prefix("itsor listening on http://") {
                            break addr.parse::<SocketAddr>().context("unreadable listening address");
                        }
                    }
                    Err(error) => break Err(error.into()),
                }
            };
            let _ = sender.send(result);
        });
        match receiver.recv_timeout(START_TIMEOUT) {
            Ok(result) => result,
            Err(_) => {
                // Unblocks the reader thread.
                let _ = child.kill();
                bail!("no listening line within {START_TIMEOUT:?}")
            }
        }
    })
}

/// The fields of `/proc/PID/stat` the bench reads.
#[derive(Debug, Clone, Copy)]
pub struct ProcStat {
    /// Parent process id.
    pub ppid: u32,
    /// User and system time of the process itself, clock ticks.
    own_ticks: u64,
    /// User and system time of its children it has waited for, clock ticks.
    children_ticks: u64,
}

impl ProcStat {
    /// Reads `/proc/PID/stat`.
    pub fn read(pid: u32) -> anyhow::Result<ProcStat> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
        // `pid (comm) state ppid ...`: ppid is field 4 (1-based), utime, stime, cutime and
        // cstime fields 14 to 17, i.e. the 2nd and the 12th to 15th after the closing
        // parenthesis (`state` being the 1st).
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
        let fields: Vec<&str> = after.split_whitespace().collect();
        let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        Ok(ProcStat {
            ppid: u32::try_from(field(1)).unwrap_or(0),
            own_ticks: field(11) + field(12),
            children_ticks: field(13) + field(14),
        })
    }

    /// CPU time (user + system, all threads), with that of its exited children if asked.
    pub fn cpu_time(&self, with_children: bool) -> Duration {
        let ticks = self.own_ticks + if with_children { self.children_ticks } else { 0 };
        Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
    }
}

/// `getconf CLK_TCK` (100 on every Linux this runs on; asked once to be sure).
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines.get(lines.len().saturating_sub(20)..).unwrap_or_default().join("\n")
}
