//! A real PostgreSQL server for the suite: a throw-away cluster in a temporary directory,
//! listening on a free loopback port.
//!
//! - [`shared`] starts one cluster per test run (start-up takes 2–3 s) and
//!   [`Cluster::create_database`] gives each test its own database on it.
//! - [`Cluster::start`] starts a private one, for tests that stop and restart the server.
//! - `initdb`, `pg_ctl` and `postgres` refuse to run as root: as root they run as the
//!   `postgres` user (`runuser -u postgres --`), in a directory that user owns.
//! - Without PostgreSQL installed the tests that need it fail, naming the package to
//!   install: they are never skipped.
//! - A watchdog process stops the cluster and removes its directory when the test process
//!   exits, however it exits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The user the server runs as when the suite runs as root.
const SERVER_USER: &str = "postgres";

/// Where Debian puts the server binaries (`postgresql-NN`), besides `PATH`.
const DEBIAN_BIN_DIRS: &str = "/usr/lib/postgresql";

/// One running cluster.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    data: String,
    port: u16,
    databases: AtomicU32,
}

/// The cluster shared by every test of this run, started on first use.
pub fn shared() -> &'static Cluster {
    static SHARED: OnceLock<Cluster> = OnceLock::new();
    SHARED.get_or_init(Cluster::start)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
fn bin_dir() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file());
    let debian = || {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(DEBIAN_BIN_DIRS)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("bin"))
            .filter(|dir| dir.join("initdb").is_file())
            .collect();
        dirs.sort();
        dirs.pop()
    };
    on_path.or_else(debian).unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (no initdb on PATH or in {DEBIAN_BIN_DIRS}/*/bin): \
             install it with `apt-get install -y postgresql` (`make test` and .ci/run do)"
        )
    })
}

/// A command running `program` as the server user (as root) or as ourselves.
fn as_server_user(program: impl AsRef<std::ffi::OsStr>) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", SERVER_USER, "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Runs `program args` as the server user; panics with its output if it fails.
fn run(program: &Path, args: &[&str]) {
    let out = as_server_user(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed ({}):\n{}{}",
        program.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl Cluster {
    /// Initialises and starts a new cluster; panics with the command that failed.
    pub fn start() -> Cluster {
        let bin = bin_dir();
        let dir = tempfile::Builder::new().prefix("itsor-e2e-pg-").tempdir().expect("a temp dir").keep();
        if is_root() {
            let status = Command::new("chown").args(["-R", SERVER_USER]).arg(&dir).status().expect("chown");
            assert!(status.success(), "cannot give {} to the {SERVER_USER} user", dir.display());
        }
        let data = dir.join("data");
        let data_str = data.to_str().expect("UTF-8 temp dir").to_owned();
        run(
            &bin.join("initdb"),
            &["-D", &data_str, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"],
        );
        let cluster = Cluster { bin, dir, data: data_str, port: free_port(), databases: AtomicU32::new(0) };
        cluster.spawn_watchdog();
        cluster.resume();
        cluster
    }

    /// Starts the (stopped) server again, on the same port and data.
    pub fn resume(&self) {
        // `fsync=off` is safe here: a stopped server is a crashed process, not a crashed
        // machine, so what it wrote stays in the page cache. Commits stay synchronous, so an
        // acknowledged write survives an immediate stop.
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c max_connections=400 -c fsync=off \
             -c full_page_writes=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log");
        run(
            &self.bin.join("pg_ctl"),
            &["-D", self.data(), "-l", log.to_str().expect("UTF-8"), "-o", &options, "-w", "-t", "60", "start"],
        );
    }

    /// Stops the server at once, as a crash or a restart would: every connection drops.
    pub fn stop(&self) {
        run(&self.bin.join("pg_ctl"), &["-D", self.data(), "-m", "immediate", "-w", "stop"]);
    }

    fn data(&self) -> &str {
        &self.data
    }

    /// Stops the cluster and deletes its directory once this process is gone.
    fn spawn_watchdog(&self) {
        let script = format!(
            "while [ -e /proc/{pid} ]; do sleep 1; done; \
             {pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            pg_ctl = self.bin.join("pg_ctl").display(),
            data = self.data,
            dir = self.dir.display(),
        );
        let mut command = as_server_user("sh");
        command.args(["-c", &script]);
        // Never waited for: it outlives this process on purpose.
        #[allow(clippy::zombie_processes)]
        let _watchdog = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the watchdog");
    }

    /// The URL of database `name` (no TLS: loopback).
    pub fn url(&self, name: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{name}?sslmode=disable", self.port)
    }

    /// A new, empty database of its own; returns its URL.
    pub fn create_database(&self) -> String {
        let name = format!("itsor_{}", self.databases.fetch_add(1, Ordering::Relaxed));
        let mut admin =
            postgres::Client::connect(&self.url("postgres"), postgres::NoTls).expect("connect to the test cluster");
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("create a test database");
        self.url(&name)
    }
}
