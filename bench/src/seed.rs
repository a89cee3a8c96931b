//! Test data: users inserted straight into the database (SQLite or PostgreSQL), all with one
//! pre-computed password hash.
//!
//! Hashing a password costs tens of milliseconds, so a million sign-ups through the API
//! would take hours. Instead the schema is created by `itsor migrate` and rows are inserted
//! in one transaction. Both databases get the same rows: on PostgreSQL the id is a `uuid`
//! and the times are `timestamp`s (the same instant, parsed by the server). Every user shares [`PASSWORD`]; its hash is made once with the
//! product's own policy (`itsor_accounts::password::OWASP_2025`), so logins verify exactly
//! as for a user who signed up, and no hash is ever flagged for an upgrade.
//!
//! User `i` (1-based) is `user{i}@bench.test` with id [`user_id`]`(i)`; ids sort like `i`.

use std::path::Path;
use std::process::Command;

use crate::server::Store;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use itsor_accounts::input::Password;
use itsor_accounts::password::OWASP_2025;

/// Every seeded user's password.
pub const PASSWORD: &str = "bench-password-1";
/// Every seeded user's creation and update time (UTC; PostgreSQL's `timestamp` drops the `Z`).
const STAMP: &str = "2025-01-01T00:00:00Z";

/// The e-mail of user `i`.
pub fn email(i: u32) -> String {
    format!("user{i}@bench.test")
}

/// The id of user `i`: a fixed-width, UUID-shaped text.
pub fn user_id(i: u32) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// The PHC string of [`PASSWORD`] under the product's policy.
pub fn password_hash() -> anyhow::Result<String> {
    let password = Password::parse(PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
    OWASP_2025.hash(&password).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Creates the schema with `itsor migrate`, as a fresh deployment would.
pub fn migrate(itsor: &Path, store: &Store) -> anyhow::Result<()> {
    let output = Command::new(itsor)
        .args(["migrate", "--database-url"])
        .arg(store.url())
        .env_clear()
        .output()
        .with_context(|| format!("cannot run {} migrate", itsor.display()))?;
    if !output.status.success() {
        bail!("itsor migrate failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

/// Inserts users `first..=last` in one transaction; returns how long it took.
pub fn insert_users(store: &Store, first: u32, last: u32, hash: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    match store {
        Store::Sqlite(path) => {
            insert_into_sqlite(path, first, last, hash).with_context(|| format!("cannot seed {}", path.display()))?
        }
        Store::Postgres(url) => {
            insert_into_postgres(url, first, last, hash).context("cannot seed PostgreSQL")?;
        }
    }
    Ok(started.elapsed())
}

fn insert_into_sqlite(database: &Path, first: u32, last: u32, hash: &str) -> anyhow::Result<()> {
    let mut conn = rusqlite::Connection::open(database)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO users (id, email, password_hash, name, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )?;
        for i in first..=last {
            insert.execute(rusqlite::params![user_id(i), email(i), hash, format!("Bench User {i}"), STAMP, STAMP])?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn insert_into_postgres(url: &str, first: u32, last: u32, hash: &str) -> anyhow::Result<()> {
    let mut client = postgres::Client::connect(url, postgres::NoTls)?;
    let mut tx = client.transaction()?;
    // Texts cast by the server, so the crate needs no `uuid` or time types.
    let insert = tx.prepare(
        "INSERT INTO users (id, email, password_hash, name, created_at, updated_at) \
         VALUES ($1::text::uuid, $2, $3, $4, $5::text::timestamp, $5::text::timestamp)",
    )?;
    for i in first..=last {
        let (id, email, name) = (user_id(i), email(i), format!("Bench User {i}"));
        tx.execute(&insert, &[&id, &email, &hash, &name, &STAMP])?;
    }
    tx.commit()?;
    Ok(())
}

/// How many users the database holds.
pub fn count_users(store: &Store) -> anyhow::Result<u64> {
    match store {
        Store::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path)?;
            Ok(conn.query_row("SELECT count(*) FROM users", [], |row| row.get(0))?)
        }
        Store::Postgres(url) => {
            let mut client = postgres::Client::connect(url, postgres::NoTls)?;
            let count: i64 = client.query_one("SELECT count(*) FROM users", &[])?.try_get(0)?;
            Ok(u64::try_from(count)?)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn ids_are_fixed_width_and_ordered() {
        assert_eq!(user_id(7), "00000000-0000-4000-8000-000000000007");
        assert_eq!(user_id(1_000_000).len(), user_id(1).len());
        assert!(user_id(999) < user_id(1000));
        assert_eq!(email(3), "user3@bench.test");
    }
}
