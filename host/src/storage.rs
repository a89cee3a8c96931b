//! The deployment's database, as the platform providers get it.
//!
//! `BACKEND_DATABASE_URL` names either a SQLite file or a PostgreSQL server
//! ([`DatabaseTarget`]). [`Storage::open`] prepares it once at start-up: the file is
//! created, or the pool is built (connections open on first use: a database that is down
//! at start-up makes `/readyz` say so, not the host fail); every request's store then
//! gets a handle to the same [`Storage`]. The component learns which backend to use from
//! its `database_url` variable, which the host sets from the same target
//! ([`crate::config::ComponentVariables::with_database`]), so the two always agree.

use std::time::Duration;

use crate::config::DatabaseTarget;
use crate::postgres::PostgresPool;
use crate::sqlite::Database;

/// A prepared database (cheap to clone).
#[derive(Debug, Clone)]
pub enum Storage {
    /// A SQLite file.
    Sqlite(Database),
    /// A pool of PostgreSQL connections.
    Postgres(PostgresPool),
}

impl Storage {
    /// Prepares `target`. A PostgreSQL pool of at most `pool_size` connections whose
    /// statements stop at `statement_timeout` (the request timeout); it needs a Tokio
    /// runtime to open connections, but opens none here.
    pub fn open(target: &DatabaseTarget, pool_size: u32, statement_timeout: Duration) -> anyhow::Result<Storage> {
        Ok(match target {
            DatabaseTarget::Sqlite(path) => Storage::Sqlite(Database::prepare(path)?),
            DatabaseTarget::Postgres(url) => Storage::Postgres(PostgresPool::new(url, pool_size, statement_timeout)?),
        })
    }

    /// What to log: the file's path, or `host:port/database`.
    pub fn describe(&self) -> String {
        match self {
            Storage::Sqlite(database) => database.path().display().to_string(),
            Storage::Postgres(pool) => format!("postgresql://{}", pool.target()),
        }
    }

    /// The SQLite database, if that is the backend.
    pub fn sqlite(&self) -> Option<&Database> {
        match self {
            Storage::Sqlite(database) => Some(database),
            Storage::Postgres(_) => None,
        }
    }

    /// The PostgreSQL pool, if that is the backend.
    pub fn postgres(&self) -> Option<&PostgresPool> {
        match self {
            Storage::Sqlite(_) => None,
            Storage::Postgres(pool) => Some(pool),
        }
    }
}
