//! The database schema the account logic expects: the repository's `migrations/*.sql`,
//! embedded at build time in file-name order. Hosts apply them (`itsor migrate`, Spin's
//! `--sqlite @file`); tests apply them to in-memory databases.

/// Every migration as `(version, sql)`, version being the file name without `.sql`.
pub const MIGRATIONS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

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
