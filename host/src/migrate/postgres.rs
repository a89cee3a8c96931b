//! Migrations on PostgreSQL: `migrations/postgres/*.sql`, the twins of the SQLite ones.
//!
//! # Many hosts at once
//!
//! Every `itsor serve` migrates at start-up (unless `--no-migrate`), so N hosts started
//! together race to migrate one database. [`run`] first takes a session-level advisory lock
//! ([`ADVISORY_LOCK`]): one host migrates while the others wait, then each finds nothing
//! pending. Each migration runs in a transaction with its `schema_migrations` row, as on
//! SQLite, so a failure leaves no trace.
//!
//! # Adopting an existing schema
//!
//! The seed's backend creates `users` itself (`CREATE TABLE users (id UUID ... DEFAULT
//! gen_random_uuid(), email VARCHAR(255) ...)`). `0001_users` is that very table with `IF
//! NOT EXISTS`, so on such a database it keeps the table and its rows, and the later
//! migrations add what itsor needs beside it. Before anything is applied, [`check_tables`]
//! compares every pre-existing table of ours with what the account logic reads and writes;
//! a column of another type (an `integer` id, a `timestamptz` that Spin cannot read) or a
//! missing required column stops the migration with a message naming the table and the
//! column, before a foreign key or a statement fails less clearly.

use anyhow::Context as _;

use super::{Migration, canonical_rewrite, check, embedded_postgres, warn_look_alike};

/// The advisory lock key (`pg_advisory_lock(bigint)`) held while migrating: the bytes of
/// "itsormig" as a big-endian integer.
pub const ADVISORY_LOCK: i64 = i64::from_be_bytes(*b"itsormig");

/// What a table must have: `(column, accepted types as information_schema names them,
/// required)`. A required column that is missing, or any listed column of another type,
/// cannot be adopted.
type Expected = &'static [(&'static str, &'static [&'static str], bool)];

const TEXT: &[&str] = &["text", "character varying"];
const TIMESTAMP: &[&str] = &["timestamp without time zone"];
const UUID: &[&str] = &["uuid"];

/// The tables of the schema and what each must have.
const TABLES: &[(&str, Expected)] = &[
    (
        "users",
        &[
            ("id", UUID, true),
            ("email", TEXT, true),
            ("password_hash", TEXT, true),
            ("name", TEXT, false),
            ("created_at", TIMESTAMP, false),
            ("updated_at", TIMESTAMP, false),
        ],
    ),
    (
        "sessions",
        &[
            ("id", UUID, true),
            ("user_id", UUID, true),
            ("created_at", TIMESTAMP, true),
            ("expires_at", TIMESTAMP, true),
            ("revoked_at", TIMESTAMP, true),
            ("user_agent", TEXT, true),
            ("client_addr", TEXT, true),
        ],
    ),
    (
        "tasks",
        &[
            ("seq", &["bigint"], true),
            ("id", UUID, true),
            ("user_id", UUID, true),
            ("title", TEXT, true),
            ("description", TEXT, true),
            ("completed", &["boolean"], true),
            ("created_at", TIMESTAMP, true),
            ("updated_at", TIMESTAMP, true),
        ],
    ),
    ("rate_limits", &[("bucket", TEXT, true), ("window_start", &["bigint"], true), ("hits", &["bigint"], true)]),
    (
        "signing_keys",
        &[
            ("kid", TEXT, true),
            ("algorithm", TEXT, true),
            ("public_jwk", TEXT, true),
            ("sealed_private_key", TEXT, true),
            ("created_at", TIMESTAMP, true),
        ],
    ),
    (
        "refresh_tokens",
        &[
            ("token_hash", TEXT, true),
            ("session_id", UUID, true),
            ("created_at", TIMESTAMP, true),
            ("used_at", TIMESTAMP, true),
            ("successor", TEXT, true),
        ],
    ),
];

/// Connects to `url`, applies every pending migration under the advisory lock and returns
/// the versions applied, in order.
pub async fn run(url: &str) -> anyhow::Result<Vec<&'static str>> {
    let mut client = crate::postgres::connect(url).await?;
    apply(&mut client, &embedded_postgres()).await
}

/// Applies the pending ones of `migrations` on `client` (see the module documentation).
pub async fn apply(client: &mut tokio_postgres::Client, migrations: &[Migration]) -> anyhow::Result<Vec<&'static str>> {
    check(migrations)?;
    client.execute("SELECT pg_advisory_lock($1)", &[&ADVISORY_LOCK]).await.context("cannot take the migration lock")?;
    let result = apply_locked(client, migrations).await;
    // Closing the session would release it too; the caller may keep the client.
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&ADVISORY_LOCK]).await;
    let done = result?;
    unlocked.context("cannot release the migration lock")?;
    Ok(done)
}

async fn apply_locked(
    client: &mut tokio_postgres::Client,
    migrations: &[Migration],
) -> anyhow::Result<Vec<&'static str>> {
    // Before anything is created: a table that cannot be adopted changes nothing.
    check_tables(client).await?;
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version TEXT PRIMARY KEY,
                 applied_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
             )",
        )
        .await
        .context("cannot create schema_migrations")?;
    let mut done = Vec::new();
    for migration in migrations {
        let tx = client.transaction().await?;
        let applied = tx
            .query_opt("SELECT 1 FROM schema_migrations WHERE version = $1", &[&migration.version])
            .await
            .context("cannot read schema_migrations")?
            .is_some();
        if applied {
            continue;
        }
        tx.batch_execute(migration.sql).await.with_context(|| format!("migration {} failed", migration.version))?;
        if migration.version == "0005_housekeeping" {
            canonicalise_emails(&tx).await.with_context(|| format!("migration {} failed", migration.version))?;
        }
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&migration.version]).await?;
        tx.commit().await.with_context(|| format!("cannot commit migration {}", migration.version))?;
        done.push(migration.version);
    }
    check_tables(client).await?;
    Ok(done)
}

/// Refuses pre-existing tables the account logic cannot use (see the module documentation).
pub async fn check_tables(client: &tokio_postgres::Client) -> anyhow::Result<()> {
    for (table, expected) in TABLES {
        let rows = client
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1",
                &[table],
            )
            .await
            .with_context(|| format!("cannot read the columns of table {table}"))?;
        if rows.is_empty() {
            continue;
        }
        let columns: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        // A required column itsor does not know would fail every insert.
        let unknown_required = client
            .query(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 AND is_nullable = 'NO' \
                 AND column_default IS NULL AND is_identity = 'NO' AND is_generated = 'NEVER'",
                &[table],
            )
            .await?;
        for row in unknown_required {
            let column: String = row.get(0);
            if !expected.iter().any(|(known, _, _)| *known == column) {
                anyhow::bail!(
                    "cannot adopt the existing table {table}: column {column} is NOT NULL without a default, and itsor does not write it"
                );
            }
        }
        for (column, types, required) in *expected {
            match columns.iter().find(|(name, _)| name == column) {
                Some((_, found)) if !types.contains(&found.as_str()) => anyhow::bail!(
                    "cannot adopt the existing table {table}: column {column} is {found}, itsor needs {}",
                    types.join(" or ")
                ),
                None if *required => {
                    anyhow::bail!(
                        "cannot adopt the existing table {table}: it has no column {column} ({})",
                        types.join(" or ")
                    )
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The data step of `0005_housekeeping`: every stored address in its canonical form. The
/// seed's backend stored addresses as typed, so every row is looked at, not only non-ASCII
/// ones as on SQLite.
async fn canonicalise_emails(tx: &tokio_postgres::Transaction<'_>) -> anyhow::Result<()> {
    let rows = tx.query("SELECT id, email::text FROM users", &[]).await?;
    for row in rows {
        let id: uuid::Uuid = row.get(0);
        let email: String = row.get(1);
        let id_text = id.to_string();
        if let Some(canonical) = canonical_rewrite(&id_text, &email) {
            let changed = tx
                .execute(
                    "UPDATE users SET email = $1 WHERE id = $2 AND NOT EXISTS (SELECT 1 FROM users WHERE email = $1)",
                    &[&canonical, &id],
                )
                .await?;
            if changed == 0 {
                warn_look_alike(&id_text);
            }
        }
    }
    Ok(())
}
