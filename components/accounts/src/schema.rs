//! The database schema the account logic expects: the repository's `migrations/*.sql`
//! (SQLite) and their twins in `migrations/postgres/*.sql` (PostgreSQL, with its own types:
//! `uuid`, `timestamp`, `boolean`, identity columns), embedded at build time in file-name
//! order. Hosts apply them (`itsor migrate`, Spin's `--sqlite @file`); tests apply them to
//! in-memory databases. Both lists have the same versions (a test in the host keeps them
//! in step).

/// Every SQLite migration as `(version, sql)`, version being the file name without `.sql`.
pub const MIGRATIONS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Every PostgreSQL migration as `(version, sql)`, the same versions as [`MIGRATIONS`].
pub const POSTGRES_MIGRATIONS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/postgres_migrations.rs"));

/// A fresh in-memory SQLite database with every migration applied (tests and native
/// reference servers).
#[cfg(any(test, feature = "rusqlite"))]
pub fn migrated_in_memory() -> rusqlite::Result<rusqlite::Connection> {
    let db = rusqlite::Connection::open_in_memory()?;
    for (_, sql) in MIGRATIONS {
        db.execute_batch(sql)?;
    }
    Ok(db)
}
