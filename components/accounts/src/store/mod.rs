//! Every SQL statement the account logic runs, typed, written once over the [`Database`]
//! seam: one submodule per table, each an `impl` block of [`Store`].
//!
//! The logic modules ([`crate::service`], [`crate::keys`], [`crate::limits`],
//! [`crate::tasks`]) hold no SQL; they call these functions with typed values and get
//! typed rows back. Each statement is the SQL that SQLite and PostgreSQL share: the
//! PostgreSQL backend rewrites `?` into `$n` ([`crate::db::postgres_sql`]) and binds
//! parameters by their [`Value`] type (Spin's outbound PostgreSQL binds an `int64` only to
//! a `bigint` and a `str` only to `text`), so the texts here are part of both backends'
//! contract.
//!
//! - [`users`]: accounts and their password hashes;
//! - [`sessions`]: server-side sessions, their expiry and revocation;
//! - [`refresh_tokens`]: the refresh-token chains of sessions;
//! - [`signing_keys`]: the deployment's EdDSA and ES256 keys;
//! - [`rate_limits`]: fixed-window counters;
//! - [`tasks`]: the per-user tasks.

use crate::clock::Timestamp;
use crate::db::{Database, DbError, Value};

mod rate_limits;
mod refresh_tokens;
mod sessions;
mod signing_keys;
mod tasks;
mod users;

pub(crate) use refresh_tokens::StoredRefresh;
pub use sessions::Session;
pub(crate) use signing_keys::StoredKey;
pub use tasks::Task;
pub use users::User;

/// A time the logic formatted itself, as a typed parameter.
fn stored_time(rfc3339: &str) -> Result<Value, DbError> {
    Timestamp::parse_rfc3339(rfc3339).map(Value::from).map_err(|_| DbError::failed("a timestamp to store is malformed"))
}

/// Typed access to the account tables over one database.
pub(crate) struct Store<D> {
    db: D,
}

impl<D: Database> Store<D> {
    /// The tables in `db`.
    pub fn new(db: D) -> Store<D> {
        Store { db }
    }

    /// The database itself, to open another view of the same tables.
    pub fn database(&self) -> &D {
        &self.db
    }

    /// Runs a trivial statement: whether storage answers at all.
    pub fn ping(&self) -> Result<(), DbError> {
        self.db.query("SELECT 1", &[])?;
        Ok(())
    }
}
