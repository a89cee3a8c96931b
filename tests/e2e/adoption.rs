//! Moving from the seed's FastAPI backend: its `users` table adopted with its rows, its
//! bcrypt hashes logging in and rehashed to Argon2id, bcrypt's 72-byte truncation ending
//! with that rehash, pre-existing tables that cannot be adopted refused by name, and
//! `--no-migrate` for deployments that migrate separately.
//!
//! The bcrypt tests run on the suite's backend; the others always on PostgreSQL, the
//! seed's database.

use std::process::Command;

use crate::support::db::TestDatabase;
use crate::support::postgres;
use crate::support::*;

/// The seed's quickstart, step 2.3, verbatim: what its users ran in the Neon console.
const SEED_USERS_TABLE: &str = "
CREATE TABLE IF NOT EXISTS users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email VARCHAR(255) NOT NULL UNIQUE,
    password_hash VARCHAR(255) NOT NULL,
    name VARCHAR(100),
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_users_email ON users(email);
CREATE INDEX idx_users_created_at ON users(created_at);
";

/// `bcrypt.hashpw(b"correct horse battery", bcrypt.gensalt(12))` from Python's `bcrypt`
/// 5.0, the seed backend's library and cost.
const SEED_BCRYPT_HASH: &str = "$2b$12$Qz6D3ypR5nrGUMMKLwRFQekKMxlV.0lugffmpenyIn7P2oD9bd/6O";
const SEED_PASSWORD: &str = "correct horse battery";

/// `itsor migrate --database-url <url>`: its status and its stderr.
fn migrate(url: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_itsor"))
        .args(["migrate", "--database-url", url])
        .env_remove("DATABASE_URL")
        .env_remove("BACKEND_DATABASE_URL")
        .output()
        .expect("run itsor migrate");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn user_row(db: &TestDatabase, email: &str) -> Vec<Option<String>> {
    let rows =
        db.query("SELECT id, email, password_hash, name, created_at, updated_at FROM users WHERE email = ?1", &[email]);
    rows.into_iter().next().unwrap_or_else(|| panic!("no user {email}"))
}

#[test]
fn the_seeds_users_table_is_adopted_and_its_bcrypt_users_log_in_and_are_rehashed() {
    let url = postgres::shared().create_database();
    let db = TestDatabase::Postgres(url.clone());
    for statement in SEED_USERS_TABLE.split(';').filter(|s| !s.trim().is_empty()) {
        db.execute(statement, &[]);
    }
    // As the seed's backend wrote them: the address as typed, a bcrypt hash, NOW() times.
    db.execute(
        "INSERT INTO users (email, password_hash, name, created_at, updated_at) \
         VALUES ('Grace.Hopper@Example.COM', ?1, 'Grace', '2026-01-22 10:30:00.123456', '2026-01-22 10:30:00.123456')",
        &[SEED_BCRYPT_HASH],
    );
    let before = user_row(&db, "Grace.Hopper@Example.COM");
    eprintln!("before: {before:?}");

    let server = Server::builder().env("BACKEND_DATABASE_URL", &url).start();
    let migrated = user_row(&db, "grace.hopper@example.com");
    assert_eq!(migrated[0], before[0], "the id is kept");
    assert_eq!(migrated[2].as_deref(), Some(SEED_BCRYPT_HASH), "no login yet, no rehash");

    let login = server.login_ok("Grace.Hopper@example.com", SEED_PASSWORD);
    let me = server.me_bearer(&login.token).json();
    assert_eq!(me["id"].as_str(), before[0].as_deref());
    assert_eq!(me["email"], "grace.hopper@example.com");
    assert_eq!(me["name"], "Grace");
    assert_eq!(me["created_at"], "2026-01-22T10:30:00Z", "the seed's timestamp, at the contract's precision");

    let after = user_row(&db, "grace.hopper@example.com");
    eprintln!("after:  {after:?}");
    let hash = after[2].as_deref().expect("a hash");
    assert!(hash.starts_with("$argon2id$v=19$"), "rehashed to Argon2id: {hash}");
    assert_eq!(after[4], before[4], "created_at is kept");
    assert_ne!(after[5], before[5], "updated_at records the rehash");
    // The new hash works, and the old password is still the password.
    server.login_ok("grace.hopper@example.com", SEED_PASSWORD);
    assert_error(&server.login("grace.hopper@example.com", "correct horse batterx"), 401, "INVALID_CREDENTIALS");
    // The seed's users sign up no twice: the address is taken in every spelling.
    assert_error(&server.signup("GRACE.HOPPER@example.com", "another password"), 409, "EMAIL_TAKEN");
}

#[test]
fn bcrypt_reads_72_bytes_until_the_first_login_rehashes_the_whole_password() {
    let server = Server::builder().env("RATE_LIMIT_LOGIN_FAILURES", "0").start();
    let db = server.database();
    let long = format!("{}-the-real-end", "p".repeat(72));
    let other_end = format!("{}-another-end", "p".repeat(72));
    // Two seed users whose passwords are longer than bcrypt reads (Python's bcrypt before
    // 5.0 truncated them silently).
    let hash = bcrypt::hash_with_salt(&long, 4, [9; 16]).expect("bcrypt").to_string();
    for email in ["first@example.com", "second@example.com"] {
        server.signup_ok(email, "a placeholder password");
        assert_eq!(db.execute("UPDATE users SET password_hash = ?1 WHERE email = ?2", &[&hash, email]), 1);
    }

    // Before its rehash, bcrypt accepts a password that differs only after byte 72, as the
    // seed's backend did (documented in README, "Moving from the seed's backend").
    server.login_ok("first@example.com", &other_end);

    // The real password's login rehashes it whole; from then on the variant is refused.
    server.login_ok("second@example.com", &long);
    let rehashed = db.value("SELECT password_hash FROM users WHERE email = 'second@example.com'", &[]).expect("a hash");
    assert!(rehashed.starts_with("$argon2id$"), "{rehashed}");
    assert_error(&server.login("second@example.com", &other_end), 401, "INVALID_CREDENTIALS");
    server.login_ok("second@example.com", &long);
}

#[test]
fn a_seed_bcrypt_hash_logs_in_on_either_backend() {
    let server = Server::start();
    let db = server.database();
    server.signup_ok("linus@example.com", "a placeholder password");
    db.execute("UPDATE users SET password_hash = ?1 WHERE email = 'linus@example.com'", &[SEED_BCRYPT_HASH]);
    assert_error(&server.login("linus@example.com", "a placeholder password"), 401, "INVALID_CREDENTIALS");
    server.login_ok("linus@example.com", SEED_PASSWORD);
    let hash = db.value("SELECT password_hash FROM users WHERE email = 'linus@example.com'", &[]).expect("a hash");
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "rehashed at the policy: {hash}");
}

#[test]
fn tables_that_cannot_be_adopted_stop_the_migration_naming_table_and_column() {
    let cases = [
        (
            "CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT UNIQUE NOT NULL, password_hash TEXT NOT NULL)",
            "users",
            "id is integer",
        ),
        (
            "CREATE TABLE users (id UUID PRIMARY KEY, email TEXT UNIQUE NOT NULL, password_hash TEXT NOT NULL, \
             created_at TIMESTAMPTZ NOT NULL DEFAULT NOW())",
            "users",
            "created_at is timestamp with time zone",
        ),
        ("CREATE TABLE users (id UUID PRIMARY KEY, email TEXT UNIQUE NOT NULL)", "users", "no column password_hash"),
        (
            "CREATE TABLE users (id UUID PRIMARY KEY, email TEXT UNIQUE NOT NULL, password_hash TEXT NOT NULL, \
             tenant_id INT NOT NULL)",
            "users",
            "column tenant_id is NOT NULL without a default",
        ),
    ];
    for (table_sql, table, problem) in cases {
        let url = postgres::shared().create_database();
        let db = TestDatabase::Postgres(url.clone());
        db.execute(table_sql, &[]);
        let (ok, stderr) = migrate(&url);
        assert!(!ok, "itsor migrate must refuse {table_sql}");
        assert!(stderr.contains(&format!("table {table}")) && stderr.contains(problem), "{table_sql}:\n{stderr}");
        assert!(!stderr.contains("postgres@"), "the URL must not be printed: {stderr}");
        let created = db.count(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name IN ('sessions', 'schema_migrations')",
            &[],
        );
        assert_eq!(created, 0, "nothing was created");
    }
}

#[test]
fn serve_no_migrate_leaves_the_schema_to_itsor_migrate() {
    let url = postgres::shared().create_database();
    let server = Server::builder().env("BACKEND_DATABASE_URL", &url).no_migrate().start();
    let db = TestDatabase::Postgres(url.clone());
    assert_eq!(db.count("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'users'", &[]), 0);
    assert_error(&server.signup("ada@example.com", SEED_PASSWORD), 500, "INTERNAL_ERROR");
    let (ok, stderr) = migrate(&url);
    assert!(ok, "{stderr}");
    server.signup_ok("ada@example.com", SEED_PASSWORD);
    let (ok, stderr) = migrate(&url);
    assert!(ok, "migrating again is a no-op: {stderr}");
}

#[test]
fn the_seeds_database_url_variable_selects_postgresql() {
    let url = postgres::shared().create_database();
    let server = Server::builder().unset("BACKEND_DATABASE_URL").env("DATABASE_URL", &url).start();
    let user = server.signup_ok("ada@example.com", SEED_PASSWORD);
    let db = TestDatabase::Postgres(url);
    assert_eq!(db.value("SELECT id::text FROM users", &[]).as_deref(), user["id"].as_str());
    assert!(!server.db_path().exists(), "nothing was stored in SQLite");
}
