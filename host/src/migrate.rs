//! Versioned SQL migrations, embedded at compile time.
//!
//! # Design
//!
//! `build.rs` embeds every `migrations/*.sql` file of the repository into the binary, sorted
//! by file name; files are named `NNNN_description.sql` (four or more digits), so name
//! order is version order. A migration's *version* is its file name without `.sql`
//! (`0001_users`).
//!
//! Applied versions are recorded in
//! `schema_migrations(version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`. [`apply`] runs
//! every pending migration in order, each in its own `BEGIN IMMEDIATE` transaction together
//! with its `schema_migrations` row, so a failing migration leaves no trace and the ones
//! before it stay applied. The immediate transaction takes SQLite's write lock before
//! re-checking whether the version is still pending, so two processes migrating the same
//! file at once apply each migration exactly once. Re-running is a no-op.
//!
//! Migration files must not contain their own `BEGIN`/`COMMIT`.
//!
//! A migration may also have a **data step** in Rust ([`data_step`]), run in the same
//! transaction right after its SQL, for changes SQL cannot express: `0005_housekeeping`
//! rewrites e-mail addresses stored before the canonical form
//! ([`itsor_accounts::input::Email`]) to that form.
//!
//! PostgreSQL has its own twins of every migration (`migrations/postgres/`, same versions)
//! and its own runner, [`postgres`]: see there for the advisory lock that lets N hosts
//! migrate at once, and for adopting the seed's `users` table.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Context as _;
use rusqlite::{Connection, TransactionBehavior};

use crate::config::DatabaseTarget;
use crate::sqlite;

pub mod postgres;

/// One embedded migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The file name without `.sql`, e.g. `0001_users`.
    pub version: &'static str,
    /// The SQL text: one or more statements.
    pub sql: &'static str,
}

/// Every SQLite migration of the repository, in file-name order (embedded by
/// `itsor-accounts`, which owns the schema).
pub fn embedded() -> Vec<Migration> {
    listed(itsor_accounts::schema::MIGRATIONS)
}

/// Every PostgreSQL migration, in file-name order: the same versions as [`embedded`].
pub fn embedded_postgres() -> Vec<Migration> {
    listed(itsor_accounts::schema::POSTGRES_MIGRATIONS)
}

fn listed(migrations: &[(&'static str, &'static str)]) -> Vec<Migration> {
    migrations.iter().map(|&(version, sql)| Migration { version, sql }).collect()
}

/// A set of migrations that cannot be applied as given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// A file name is not `NNNN_description.sql`.
    #[error("migration {0:?} is not named NNNN_description.sql")]
    BadName(String),
    /// Two files share a number, or they are not in increasing order.
    #[error("migrations {0:?} and {1:?} do not have increasing numbers")]
    Order(String, String),
}

/// The number of a version named `NNNN_description`, if it is well formed.
pub fn version_number(version: &str) -> Option<u64> {
    let (number, description) = version.split_once('_')?;
    let well_formed = number.len() >= 4
        && number.bytes().all(|b| b.is_ascii_digit())
        && !description.is_empty()
        && description.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if well_formed { number.parse().ok() } else { None }
}

/// Checks names and order: every version well formed, numbers strictly increasing.
pub fn check(migrations: &[Migration]) -> Result<(), PlanError> {
    let mut previous: Option<(u64, &str)> = None;
    for migration in migrations {
        let number =
            version_number(migration.version).ok_or_else(|| PlanError::BadName(migration.version.to_owned()))?;
        if let Some((last, last_version)) = previous
            && number <= last
        {
            return Err(PlanError::Order(last_version.to_owned(), migration.version.to_owned()));
        }
        previous = Some((number, migration.version));
    }
    Ok(())
}

/// The migrations of `all` not in `applied`, in order.
pub fn pending<'a>(all: &'a [Migration], applied: &HashSet<String>) -> Vec<&'a Migration> {
    all.iter().filter(|m| !applied.contains(m.version)).collect()
}

/// Applies every pending migration to `conn`; returns the versions applied, in order.
pub fn apply(conn: &mut Connection, migrations: &[Migration]) -> anyhow::Result<Vec<&'static str>> {
    check(migrations)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version TEXT PRIMARY KEY,
             applied_at TEXT NOT NULL
         )",
    )
    .context("cannot create schema_migrations")?;
    let applied = applied_versions(conn)?;
    let known: HashSet<&str> = migrations.iter().map(|m| m.version).collect();
    let unknown: Vec<&String> = applied.iter().filter(|v| !known.contains(v.as_str())).collect();
    if !unknown.is_empty() {
        tracing::warn!(?unknown, "the database has migrations this binary does not know");
    }

    let mut done = Vec::new();
    for migration in pending(migrations, &applied) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let still_pending = tx
            .query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
                [migration.version],
                |row| row.get::<_, bool>(0),
            )
            .context("cannot read schema_migrations")?;
        if !still_pending {
            continue;
        }
        tx.execute_batch(migration.sql).with_context(|| format!("migration {} failed", migration.version))?;
        if let Some(step) = data_step(migration.version) {
            step(&tx).with_context(|| format!("migration {} failed", migration.version))?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at)
             VALUES (?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
            [migration.version],
        )?;
        tx.commit().with_context(|| format!("cannot commit migration {}", migration.version))?;
        done.push(migration.version);
    }
    Ok(done)
}

/// A data step: Rust run after a migration's SQL, in its transaction.
pub type DataStep = fn(&rusqlite::Transaction<'_>) -> anyhow::Result<()>;

/// The data step of migration `version`, if it has one.
pub fn data_step(version: &str) -> Option<DataStep> {
    match version {
        "0005_housekeeping" => Some(canonicalise_emails),
        _ => None,
    }
}

/// Rewrites every stored e-mail to its canonical form. Only addresses with non-ASCII
/// characters can differ (ASCII ones were already trimmed and lower-cased). An address
/// whose canonical form another account already has (a look-alike of it), or that has no
/// canonical form (invisible characters), is left as it is and named by user id in a
/// warning: no login can reach it any more, since logins look the canonical form up.
fn canonicalise_emails(tx: &rusqlite::Transaction<'_>) -> anyhow::Result<()> {
    let rows: Vec<(String, String)> = {
        let mut stmt = tx.prepare("SELECT id, email FROM users WHERE email GLOB '*[^ -~]*'")?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (id, email) in rows {
        if let Some(canonical) = canonical_rewrite(&id, &email) {
            let changed = tx.execute(
                "UPDATE users SET email = ?1 WHERE id = ?2 AND NOT EXISTS (SELECT 1 FROM users WHERE email = ?1)",
                [canonical.as_str(), id.as_str()],
            )?;
            if changed == 0 {
                warn_look_alike(&id);
            }
        }
    }
    Ok(())
}

/// The canonical form a stored address must be rewritten to, if it differs; an address
/// with no canonical form is left as it is and named (by user id) in a warning.
pub fn canonical_rewrite(user_id: &str, stored: &str) -> Option<String> {
    match itsor_accounts::input::Email::parse(stored) {
        Ok(canonical) if canonical.as_str() != stored => Some(canonical.as_str().to_owned()),
        Ok(_) => None,
        Err(_) => {
            tracing::warn!(%user_id, "a stored e-mail address has no canonical form; that account cannot log in");
            None
        }
    }
}

/// The warning for an address whose canonical form another account already has.
pub fn warn_look_alike(user_id: &str) {
    tracing::warn!(%user_id, "a stored e-mail address is a look-alike of another account's; that account cannot log in");
}

fn applied_versions(conn: &Connection) -> anyhow::Result<HashSet<String>> {
    let mut stmt = conn.prepare("SELECT version FROM schema_migrations")?;
    let versions = stmt.query_map([], |row| row.get::<_, String>(0))?;
    Ok(versions.collect::<rusqlite::Result<_>>()?)
}

/// Applies the embedded migrations to `target`: [`run`] for a SQLite file,
/// [`postgres::run`] for PostgreSQL (on a runtime of its own: call it outside one).
pub fn run_target(target: &DatabaseTarget) -> anyhow::Result<Vec<&'static str>> {
    match target {
        DatabaseTarget::Sqlite(path) => run(path),
        DatabaseTarget::Postgres(url) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the Tokio runtime")?
            .block_on(postgres::run(url)),
    }
}

/// Opens (creating if needed) the database at `path` and applies the embedded migrations.
pub fn run(path: &Path) -> anyhow::Result<Vec<&'static str>> {
    sqlite::Database::prepare(path)?;
    let mut conn = sqlite::open_connection(path).with_context(|| format!("cannot open database {}", path.display()))?;
    apply(&mut conn, &embedded())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    const A: Migration = Migration { version: "0001_users", sql: "CREATE TABLE users (id TEXT);" };
    const B: Migration = Migration {
        version: "0002_sessions",
        sql: "CREATE TABLE sessions (id TEXT); CREATE INDEX s_id ON sessions (id);",
    };
    const BAD: Migration = Migration { version: "0003_broken", sql: "CREATE TABLE users (id TEXT);" };

    fn versions(conn: &Connection) -> Vec<String> {
        let mut v: Vec<String> = applied_versions(conn).unwrap().into_iter().collect();
        v.sort();
        v
    }

    #[test]
    fn names_must_be_numbered() {
        assert_eq!(version_number("0001_users"), Some(1));
        assert_eq!(version_number("20240101_add-index"), Some(20_240_101));
        for bad in ["users", "001_users", "0001", "0001_", "0001 users", "x001_users", "0001_a.b"] {
            assert_eq!(version_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn order_is_checked() {
        assert!(check(&[A, B]).is_ok());
        assert!(matches!(check(&[B, A]), Err(PlanError::Order(..))));
        let dup = Migration { version: "0001_other", sql: "" };
        assert!(matches!(check(&[A, dup]), Err(PlanError::Order(..))));
        let bad = Migration { version: "init", sql: "" };
        assert_eq!(check(&[bad]), Err(PlanError::BadName("init".into())));
    }

    #[test]
    fn pending_keeps_order_and_skips_applied() {
        let applied: HashSet<String> = ["0001_users".to_owned()].into();
        assert_eq!(pending(&[A, B], &applied), vec![&B]);
        assert_eq!(pending(&[A, B], &HashSet::new()), vec![&A, &B]);
    }

    #[test]
    fn apply_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(apply(&mut conn, &[A]).unwrap(), ["0001_users"]);
        assert_eq!(apply(&mut conn, &[A, B]).unwrap(), ["0002_sessions"]);
        assert!(apply(&mut conn, &[A, B]).unwrap().is_empty());
        assert_eq!(versions(&conn), ["0001_users", "0002_sessions"]);
        let applied_at: String =
            conn.query_row("SELECT applied_at FROM schema_migrations LIMIT 1", [], |r| r.get(0)).unwrap();
        assert!(applied_at.ends_with('Z') && applied_at.contains('T'), "{applied_at}");
    }

    #[test]
    fn a_failing_migration_is_rolled_back_and_earlier_ones_stay() {
        let mut conn = Connection::open_in_memory().unwrap();
        let err = apply(&mut conn, &[A, B, BAD]).unwrap_err();
        assert!(format!("{err:#}").contains("0003_broken"));
        assert_eq!(versions(&conn), ["0001_users", "0002_sessions"]);
    }

    #[test]
    fn embedded_migrations_are_well_formed() {
        assert_eq!(check(&embedded()), Ok(()));
        assert_eq!(check(&embedded_postgres()), Ok(()));
    }

    #[test]
    fn every_migration_has_its_postgres_twin() {
        let versions = |m: Vec<Migration>| m.into_iter().map(|m| m.version).collect::<Vec<_>>();
        assert_eq!(versions(embedded()), versions(embedded_postgres()));
    }

    #[test]
    fn stored_emails_are_rewritten_to_their_canonical_form() {
        let mut conn = Connection::open_in_memory().unwrap();
        let all = embedded();
        let before: Vec<Migration> = all.iter().copied().filter(|m| m.version < "0005").collect();
        apply(&mut conn, &before).unwrap();
        let insert = |id: &str, email: &str| {
            conn.execute(
                "INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES (?1, ?2, 'x', 't', 't')",
                [id, email],
            )
            .unwrap();
        };
        insert("ascii", "ada@example.com");
        insert("idn", "ada@b\u{fc}cher.de");
        insert("look-alike", "ada@\u{ff45}xample.com"); // canonically ada@example.com: taken
        insert("invisible", "a\u{200b}da@example.org");
        apply(&mut conn, &all).unwrap();
        let email = |id: &str| -> String {
            conn.query_row("SELECT email FROM users WHERE id = ?1", [id], |r| r.get(0)).unwrap()
        };
        assert_eq!(email("ascii"), "ada@example.com");
        assert_eq!(email("idn"), "ada@xn--bcher-kva.de");
        assert_eq!(email("look-alike"), "ada@\u{ff45}xample.com");
        assert_eq!(email("invisible"), "a\u{200b}da@example.org");
    }

    #[test]
    fn run_creates_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/itsor.db");
        let first = run(&path).unwrap();
        assert_eq!(first.len(), embedded().len());
        assert!(path.exists());
        assert!(run(&path).unwrap().is_empty());
    }
}
