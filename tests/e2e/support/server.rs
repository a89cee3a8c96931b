//! The [`Server`] fixture: one real `itsor serve` process in its own temporary directory.
//!
//! - Environment: every itsor setting is removed from the inherited environment and set
//!   explicitly (defaults below, overrides through [`Builder::env`]); the working directory
//!   is the temporary directory, so no developer `.env` is read.
//! - The database is `<tmp>/itsor.db`, or with `ITSOR_E2E_DATABASE=postgres` a database of
//!   its own in the shared PostgreSQL cluster (see [`super::db`]); [`Server::restart`]
//!   keeps it.
//! - All servers of one run share `ITSOR_CACHE_DIR` (`$TMPDIR/itsor-e2e-cache`, or
//!   `ITSOR_E2E_CACHE_DIR`), and the first start is serialised so the component is compiled
//!   once rather than by every parallel test at the same time.
//! - The child is killed on drop; when the test is failing, its stderr and stdout are
//!   printed (the harness shows them with the failure).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::http::{self, Request, Response};

/// The JWT secret every server gets unless a test overrides it (40 bytes: strong enough for
/// production too).
pub const TEST_SECRET: &str = "e2e-test-secret-3f9a1c7b5d2e8f4a6b0c9d1e";

/// What the host prints once it accepts connections.
const READY_MARKER: &str = "itsor listening on http://";

/// How long the first start (which may compile the component) may take.
const FIRST_START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long later starts (component cached) may take.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a process that must refuse to start may take to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Inherited variables with these prefixes are removed from the child's environment.
const CLEARED_PREFIXES: &[&str] = &["BACKEND_", "JWT_", "SESSION_COOKIE_"];
/// Inherited variables with these names (including the aliases `DATABASE_URL` and
/// `BETTER_AUTH_SECRET`, which would otherwise conflict with the values set here) are
/// removed too (as is every component setting
/// of `itsor_accounts::config::VARIABLES`, in upper case). `RUST_LOG` is replaced by
/// `ITSOR_E2E_RUST_LOG` when that is set.
const CLEARED_NAMES: &[&str] = &[
    "HOST",
    "PORT",
    "DATABASE_URL",
    "BETTER_AUTH_SECRET",
    "BETTER_AUTH_SECRET_PREVIOUS",
    "ITSOR_CACHE_DIR",
    "ITSOR_MAX_CONCURRENT",
    "ITSOR_MAX_CONNECTIONS",
    "ITSOR_REQUEST_TIMEOUT_SECONDS",
    "ITSOR_BODY_TIMEOUT_SECONDS",
    "ITSOR_HEADER_TIMEOUT_SECONDS",
    "ITSOR_PG_POOL_SIZE",
    "ITSOR_E2E_DATABASE",
    "ITSOR_METRICS_ADDR",
    "ITSOR_LOG_FORMAT",
    "ITSOR_DRAIN_SECONDS",
    "ITSOR_SHUTDOWN_SECONDS",
    "RUST_LOG",
    "CORS_ORIGINS",
];

/// Whether a server has started successfully in this process (the cache is then warm).
static WARM: Mutex<bool> = Mutex::new(false);

/// The compilation cache shared by every server of this run.
fn cache_dir() -> PathBuf {
    std::env::var_os("ITSOR_E2E_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("itsor-e2e-cache"))
}

/// The command-line flags of `itsor serve`.
#[derive(Debug, Clone, Copy)]
struct Flags {
    /// `--port 0 --host 127.0.0.1`.
    listen: bool,
    /// `--no-migrate`.
    no_migrate: bool,
}

/// Configures a server before starting it.
#[derive(Debug, Clone)]
pub struct Builder {
    env: BTreeMap<String, Option<String>>,
    dotenv: Option<String>,
    flags: Flags,
}

impl Builder {
    /// Sets an environment variable of the child.
    pub fn env(mut self, name: &str, value: &str) -> Builder {
        self.env.insert(name.to_owned(), Some(value.to_owned()));
        self
    }

    /// Leaves an environment variable unset in the child (even one set by default).
    pub fn unset(mut self, name: &str) -> Builder {
        self.env.insert(name.to_owned(), None);
        self
    }

    /// Runs `itsor serve` without `--port 0 --host 127.0.0.1`, so that `HOST`/`PORT` (or
    /// the defaults) decide where it listens.
    pub fn without_listen_flags(mut self) -> Builder {
        self.flags.listen = false;
        self
    }

    /// Runs `itsor serve --no-migrate`.
    pub fn no_migrate(mut self) -> Builder {
        self.flags.no_migrate = true;
        self
    }

    /// Writes a `.env` file with `contents` into the server's working directory.
    pub fn dotenv(mut self, contents: &str) -> Builder {
        self.dotenv = Some(contents.to_owned());
        self
    }

    /// Starts the server and waits until it listens; panics (with its stderr) otherwise.
    #[track_caller]
    pub fn start(self) -> Server {
        let dir = self.prepare();
        let proc = Proc::start(dir.path(), &self.env, self.flags);
        Server { proc: Some(proc), env: self.env, flags: self.flags, dir }
    }

    /// Runs the binary with this configuration expecting it to refuse to start: waits for it
    /// to exit (or to announce that it listens, which is then recorded and the process
    /// killed).
    pub fn run_expecting_exit(self) -> Exit {
        let dir = self.prepare();
        let (mut child, out, ready) = spawn(dir.path(), &self.env, self.flags);
        let deadline = Instant::now() + EXIT_TIMEOUT;
        let mut started = false;
        let status = loop {
            if let Some(status) = child.try_wait().expect("poll the child") {
                break Some(status);
            }
            if ready.try_recv().is_ok() {
                started = true;
            }
            if started || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(20));
        };
        let (stdout, stderr) = out.finish();
        Exit { status, started, stdout, stderr }
    }

    fn prepare(&self) -> tempfile::TempDir {
        let dir = tempfile::Builder::new().prefix("itsor-e2e-").tempdir().expect("create a temp dir");
        if let Some(contents) = &self.dotenv {
            std::fs::write(dir.path().join(".env"), contents).expect("write .env");
        }
        dir
    }
}

/// How a process that was expected to refuse to start ended.
#[derive(Debug)]
pub struct Exit {
    /// Its exit status; `None` when it had to be killed (it started, or hung).
    pub status: Option<ExitStatus>,
    /// Whether it announced that it listens.
    pub started: bool,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
}

/// A running `itsor serve`.
pub struct Server {
    proc: Option<Proc>,
    env: BTreeMap<String, Option<String>>,
    flags: Flags,
    dir: tempfile::TempDir,
}

impl Server {
    /// A server with the default test configuration.
    #[track_caller]
    pub fn start() -> Server {
        Server::builder().start()
    }

    /// A builder with the default test configuration: `BACKEND_ENV=test`, the
    /// [`TEST_SECRET`], everything else at the host's defaults.
    pub fn builder() -> Builder {
        let mut env = BTreeMap::new();
        if super::db::backend() == super::db::Backend::Postgres {
            let url = super::postgres::shared().create_database();
            env.insert("BACKEND_DATABASE_URL".to_owned(), Some(url));
        }
        env.insert("BACKEND_ENV".to_owned(), Some("test".to_owned()));
        env.insert("JWT_SECRET".to_owned(), Some(TEST_SECRET.to_owned()));
        Builder { env, dotenv: None, flags: Flags { listen: true, no_migrate: false } }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.proc.as_ref().expect("server running").addr
    }

    /// The SQLite file of this server (when it stores in the default file).
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("itsor.db")
    }

    /// This server's database, on either backend.
    pub fn database(&self) -> super::db::TestDatabase {
        match self.env.get("BACKEND_DATABASE_URL") {
            Some(Some(url)) => super::db::TestDatabase::from_url(url),
            _ => super::db::TestDatabase::Sqlite(self.db_path()),
        }
    }

    /// Sends a request and parses the response; panics when there is none (with the
    /// server's stderr, in case it crashed).
    #[track_caller]
    pub fn send(&self, req: Request) -> Response {
        let bytes = req.to_bytes(self.addr());
        self.send_raw(&bytes)
    }

    /// Sends raw bytes and parses the response; panics when there is none.
    #[track_caller]
    pub fn send_raw(&self, bytes: &[u8]) -> Response {
        match http::try_raw(self.addr(), bytes, false) {
            Ok(resp) => resp,
            Err(e) => panic!("no HTTP response from itsor: {e}\n{}", self.diagnostics()),
        }
    }

    /// Sends a request; `Err` when no response came (the server is gone, say).
    pub fn try_send(&self, req: Request) -> Result<Response, String> {
        http::try_raw(self.addr(), &req.to_bytes(self.addr()), false)
    }

    /// Kills the process at once (SIGKILL), as a crash or a lost machine would; its output
    /// stays readable.
    pub fn kill(&mut self) {
        if let Some(proc) = self.proc.as_mut() {
            let _ = proc.child.kill();
            let _ = proc.child.wait();
        }
    }

    /// The metrics listener's address, from the line `itsor metrics on http://ADDR/metrics`
    /// (servers started with `ITSOR_METRICS_ADDR`).
    #[track_caller]
    pub fn metrics_addr(&self) -> SocketAddr {
        let (stdout, _) = self.output();
        stdout
            .lines()
            .find_map(|line| line.strip_prefix("itsor metrics on http://"))
            .and_then(|rest| rest.split('/').next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("the server announced no metrics address:\n{stdout}"))
    }

    /// Sends SIGTERM, as an orchestrator stopping the host does.
    pub fn terminate(&self) {
        let pid = self.proc.as_ref().expect("server running").child.id();
        let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -TERM {pid} failed");
    }

    /// Waits up to `timeout` for the process to exit; its status, or `None` if it still runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let proc = self.proc.as_mut().expect("server started");
        loop {
            if let Some(status) = proc.child.try_wait().expect("poll the child") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends raw bytes, then closes the write half; `Err` when no response came.
    pub fn try_send_raw_half_closed(&self, bytes: &[u8]) -> Result<Response, String> {
        http::try_raw(self.addr(), bytes, true)
    }

    /// What the server printed so far.
    pub fn output(&self) -> (String, String) {
        let proc = self.proc.as_ref().expect("server running");
        (lossy(&proc.out.stdout), lossy(&proc.out.stderr))
    }

    /// Waits (up to 5 s) for a line of the server's stderr that `matches`; panics with the
    /// whole stderr when none comes. Log lines reach the test through a pipe and a reader
    /// thread, so one written just before a response may arrive just after it.
    #[track_caller]
    pub fn log_line(&self, what: &str, matches: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (_, stderr) = self.output();
            if stderr.lines().any(&matches) {
                return;
            }
            if Instant::now() >= deadline {
                panic!("the server never logged {what}:\n{stderr}");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        let proc = self.proc.as_mut().expect("server running");
        proc.child.try_wait().expect("poll the child").is_none()
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s) and starts it again on the same
    /// directory and database, with the same environment.
    #[track_caller]
    pub fn restart(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            proc.stop();
        }
        self.proc = Some(Proc::start(self.dir.path(), &self.env, self.flags));
    }

    /// Like [`Server::restart`], with one environment variable changed.
    #[track_caller]
    pub fn restart_with(&mut self, name: &str, value: &str) {
        self.env.insert(name.to_owned(), Some(value.to_owned()));
        self.restart();
    }

    /// Runs `itsor ARGS` (another command than `serve`) in the server's directory with its
    /// environment, as an operator beside the live server would; returns what it printed
    /// on stdout, and panics with its stderr when it fails.
    #[track_caller]
    pub fn run_command(&self, args: &[&str]) -> String {
        let out = itsor_command(self.dir.path(), &self.env).args(args).output().expect("itsor runs");
        let (stdout, stderr) = (lossy_bytes(&out.stdout), lossy_bytes(&out.stderr));
        assert!(out.status.success(), "itsor {args:?} failed ({}):\n{stderr}\n{stdout}", out.status);
        stdout
    }

    fn diagnostics(&self) -> String {
        let (stdout, stderr) = self.output();
        format!("--- itsor stderr ---\n{stderr}\n--- itsor stdout ---\n{stdout}")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            let _ = proc.child.kill();
            let _ = proc.child.wait();
            if thread::panicking() {
                eprintln!(
                    "--- itsor stderr ({}) ---\n{}\n--- itsor stdout ---\n{}",
                    self.dir.path().display(),
                    lossy(&proc.out.stderr),
                    lossy(&proc.out.stdout)
                );
            }
        }
    }
}

fn lossy(buf: &Arc<Mutex<Vec<u8>>>) -> String {
    lossy_bytes(&buf.lock().unwrap_or_else(|e| e.into_inner()))
}

fn lossy_bytes(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One child process and its output collectors.
struct Proc {
    child: Child,
    addr: SocketAddr,
    out: Output,
}

impl Proc {
    /// Spawns and waits for the ready line. The first successful start of the run holds a
    /// lock so that only one process compiles the component.
    #[track_caller]
    fn start(dir: &Path, env: &BTreeMap<String, Option<String>>, flags: Flags) -> Proc {
        let mut warm = WARM.lock().unwrap_or_else(|e| e.into_inner());
        if *warm {
            drop(warm);
            Proc::start_now(dir, env, flags, START_TIMEOUT)
        } else {
            let proc = Proc::start_now(dir, env, flags, FIRST_START_TIMEOUT);
            *warm = true;
            proc
        }
    }

    #[track_caller]
    fn start_now(dir: &Path, env: &BTreeMap<String, Option<String>>, flags: Flags, timeout: Duration) -> Proc {
        let (mut child, out, ready) = spawn(dir, env, flags);
        let failure = match ready.recv_timeout(timeout) {
            Ok(addr) => match parse_ready(&addr) {
                Some(addr) => return Proc { child, addr, out },
                None => format!("could not parse the listening address from {addr:?}"),
            },
            Err(RecvTimeoutError::Timeout) => format!("did not listen within {timeout:?}"),
            Err(RecvTimeoutError::Disconnected) => "exited before listening".to_owned(),
        };
        let _ = child.kill();
        let status = child.wait();
        let (stdout, stderr) = out.finish();
        panic!(
            "itsor failed to start: {failure} (status: {status:?}; binary {}; dir {})\n--- itsor stderr ---\n{stderr}\n--- itsor stdout ---\n{stdout}",
            env!("CARGO_BIN_EXE_itsor"),
            dir.display()
        );
    }

    fn stop(&mut self) {
        // Ask for a graceful shutdown first; fall back to SIGKILL.
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Extracts the socket address from the ready line.
fn parse_ready(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(READY_MARKER)? + READY_MARKER.len()..];
    let authority = rest.split(|c: char| c.is_whitespace() || c == '/').next()?;
    authority.parse().ok()
}

/// The child's stdout and stderr, collected by two threads.
struct Output {
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Output {
    /// Waits for the collectors (the child must have exited) and returns the text.
    fn finish(self) -> (String, String) {
        for t in self.threads {
            let _ = t.join();
        }
        (lossy(&self.stdout), lossy(&self.stderr))
    }
}

/// The `itsor` binary in `dir` with `env` over the test defaults, and none of the settings
/// of this process's own environment.
fn itsor_command(dir: &Path, env: &BTreeMap<String, Option<String>>) -> Command {
    let cache = cache_dir();
    std::fs::create_dir_all(&cache).expect("create the shared cache dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_itsor"));
    cmd.current_dir(dir).stdin(Stdio::null());
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let setting = itsor_accounts::config::VARIABLES.iter().any(|v| v.name.eq_ignore_ascii_case(name));
        if setting || CLEARED_PREFIXES.iter().any(|p| name.starts_with(p)) || CLEARED_NAMES.contains(&name) {
            cmd.env_remove(name);
        }
    }
    if let Some(filter) = std::env::var_os("ITSOR_E2E_RUST_LOG") {
        cmd.env("RUST_LOG", filter);
    }
    cmd.env("BACKEND_DATABASE_URL", format!("sqlite:///{}", dir.join("itsor.db").display()));
    cmd.env("ITSOR_CACHE_DIR", &cache);
    for (name, value) in env {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    cmd
}

/// Spawns `itsor serve` (with `--port 0 --host 127.0.0.1` when `listen_flags`); the
/// receiver gets the ready line.
fn spawn(dir: &Path, env: &BTreeMap<String, Option<String>>, flags: Flags) -> (Child, Output, Receiver<String>) {
    let mut cmd = itsor_command(dir, env);
    cmd.arg("serve");
    if flags.no_migrate {
        cmd.arg("--no-migrate");
    }
    if flags.listen {
        cmd.args(["--port", "0", "--host", "127.0.0.1"]);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {}: {e}", env!("CARGO_BIN_EXE_itsor")));
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let (tx, ready) = mpsc::channel();
    let mut threads = Vec::new();
    {
        let pipe = child.stdout.take().expect("piped stdout");
        let buf = Arc::clone(&stdout);
        threads.push(thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut line = Vec::new();
            let mut announced = false;
            while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                buf.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&line);
                let text = String::from_utf8_lossy(&line);
                if !announced && text.contains(READY_MARKER) {
                    announced = true;
                    let _ = tx.send(text.trim().to_owned());
                }
                line.clear();
            }
        }));
    }
    {
        let mut pipe = child.stderr.take().expect("piped stderr");
        let buf = Arc::clone(&stderr);
        threads.push(thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&chunk[..n]);
            }
        }));
    }
    (child, Output { stdout, stderr, threads }, ready)
}
