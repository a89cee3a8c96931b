//! PostgreSQL for the bench: one private throw-away cluster, started only when a run on
//! PostgreSQL is wanted.
//!
//! The cluster is the e2e suite's (`tests/e2e/support/postgres.rs`, included as is): a
//! fresh `initdb` in a temporary directory, listening on a free port of 127.0.0.1 only,
//! trust authentication, no TLS, `fsync=off` and `full_page_writes=off`; as root it runs as
//! the `postgres` user. A watchdog stops it and removes its directory once the bench exits,
//! however it exits. That helper is test code and panics on failure: its panics are caught
//! here and returned as errors.
//!
//! The server processes are not the bench's children, so their CPU time is read apart
//! ([`Processes::cpu_time`]) and reported beside the host's.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, anyhow};

use crate::server::ProcStat;

// Test code, shared with the e2e suite: what the bench does not call stays unused, its
// watchdog is never waited for (it outlives the bench on purpose), it fails as tests do
// (by panicking, which ends the bench with the message), and its formatting is the suite's.
#[path = "../../tests/e2e/support/postgres.rs"]
#[allow(
    dead_code,
    clippy::zombie_processes,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#[rustfmt::skip]
mod cluster;

/// A running cluster.
pub struct Postgres {
    cluster: cluster::Cluster,
    /// `SHOW server_version`.
    pub version: String,
    /// Its processes, for their CPU time.
    pub processes: Processes,
}

/// The server processes of a cluster: the postmaster and every process it forked.
#[derive(Debug, Clone, Copy)]
pub struct Processes {
    postmaster: u32,
}

impl Postgres {
    /// Initialises and starts a cluster; returns once it accepts connections.
    pub fn start() -> anyhow::Result<Postgres> {
        let cluster = caught(cluster::Cluster::start)
            .context("cannot start PostgreSQL (`--databases sqlite` runs without it)")?;
        let mut admin = postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls)
            .context("cannot connect to the new cluster")?;
        let version: String = admin.query_one("SHOW server_version", &[])?.try_get(0)?;
        let data: String = admin.query_one("SHOW data_directory", &[])?.try_get(0)?;
        let postmaster = postmaster_pid(Path::new(&data))?;
        Ok(Postgres { cluster, version, processes: Processes { postmaster } })
    }

    /// A new, empty database; returns its `postgresql://` URL.
    pub fn create_database(&self) -> anyhow::Result<String> {
        caught(|| self.cluster.create_database()).context("cannot create a PostgreSQL database")
    }

    /// Stops the cluster at once (its directory goes when the bench exits).
    pub fn stop(self) -> anyhow::Result<()> {
        caught(|| self.cluster.stop()).context("cannot stop PostgreSQL")
    }
}

impl Processes {
    /// CPU time (user + system) the cluster has used so far: the postmaster's, that of every
    /// live process it forked (backends, checkpointer, WAL writer…), and that of the ones
    /// that have exited (which the postmaster has waited for).
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        let mut total = ProcStat::read(self.postmaster)?.cpu_time(true);
        let entries = std::fs::read_dir("/proc").context("cannot list /proc")?;
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            // A process may exit between the listing and the read: then it is skipped, and
            // counted in the postmaster's children once waited for.
            if let Ok(stat) = ProcStat::read(pid)
                && stat.ppid == self.postmaster
            {
                total += stat.cpu_time(false);
            }
        }
        Ok(total)
    }
}

/// The postmaster's pid: the first line of `postmaster.pid` in the data directory.
fn postmaster_pid(data: &Path) -> anyhow::Result<u32> {
    let path = data.join("postmaster.pid");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .next()
        .and_then(|line| line.trim().parse().ok())
        .with_context(|| format!("no pid in {}", path.display()))
}

/// Runs the helper's `f`, turning its panic into an error carrying the panic's message.
fn caught<T>(f: impl FnOnce() -> T) -> anyhow::Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        anyhow!("{message}")
    })
}
