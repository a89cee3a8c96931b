//! Which database the suite runs on, and direct access to a server's database for checks
//! and tampering, the same on SQLite and PostgreSQL.
//!
//! `ITSOR_E2E_DATABASE=postgres` runs every server on a database of its own in the shared
//! PostgreSQL cluster ([`super::postgres::shared`]); unset (or `sqlite`), on a SQLite file
//! in the server's directory. `make test` runs the suite once per backend.

use std::path::PathBuf;

/// The environment variable that picks the backend.
pub const BACKEND_VAR: &str = "ITSOR_E2E_DATABASE";

/// The backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file per server.
    Sqlite,
    /// A PostgreSQL database per server.
    Postgres,
}

/// The backend of this run; panics on an unknown name rather than testing the wrong one.
pub fn backend() -> Backend {
    match std::env::var(BACKEND_VAR).as_deref() {
        Err(_) | Ok("" | "sqlite") => Backend::Sqlite,
        Ok("postgres") => Backend::Postgres,
        Ok(other) => panic!("{BACKEND_VAR}={other:?}: expected sqlite or postgres"),
    }
}

/// One server's database.
#[derive(Debug, Clone)]
pub enum TestDatabase {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by URL.
    Postgres(String),
}

/// Rows as text (`None` for NULL): integers in decimal, PostgreSQL values in their text
/// form (a `timestamp` reads `2026-01-22 10:30:00`, see [`super::stored_time`]).
pub type Rows = Vec<Vec<Option<String>>>;

impl TestDatabase {
    /// The database a `BACKEND_DATABASE_URL` names.
    pub fn from_url(url: &str) -> TestDatabase {
        match url.strip_prefix("sqlite:///") {
            Some(path) => TestDatabase::Sqlite(PathBuf::from(path)),
            None => TestDatabase::Postgres(url.to_owned()),
        }
    }

    /// Runs `sql`, whose `?1`, `?2`... stand for `params` (as text), and returns its rows.
    #[track_caller]
    pub fn query(&self, sql: &str, params: &[&str]) -> Rows {
        match self {
            TestDatabase::Sqlite(path) => {
                let conn = sqlite(path);
                let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let columns = stmt.column_count();
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(params), |row| {
                        (0..columns).map(|i| row.get_ref(i).map(text_of)).collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .and_then(|rows| rows.collect::<rusqlite::Result<Rows>>());
                rows.unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            TestDatabase::Postgres(url) => simple_query(url, sql, params)
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(row) => {
                        Some((0..row.len()).map(|i| row.get(i).map(str::to_owned)).collect())
                    }
                    _ => None,
                })
                .collect(),
        }
    }

    /// Runs a statement; returns how many rows it changed.
    #[track_caller]
    pub fn execute(&self, sql: &str, params: &[&str]) -> u64 {
        match self {
            TestDatabase::Sqlite(path) => {
                let changed = sqlite(path)
                    .execute(sql, rusqlite::params_from_iter(params))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                u64::try_from(changed).expect("a row count")
            }
            TestDatabase::Postgres(url) => simple_query(url, sql, params)
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::CommandComplete(n) => Some(n),
                    _ => None,
                })
                .sum(),
        }
    }

    /// The one value of a one-row, one-column query.
    #[track_caller]
    pub fn value(&self, sql: &str, params: &[&str]) -> Option<String> {
        let rows = self.query(sql, params);
        assert_eq!(rows.len(), 1, "{sql} returned {} rows", rows.len());
        rows[0][0].clone()
    }

    /// `SELECT COUNT(*) ...` as a number.
    #[track_caller]
    pub fn count(&self, sql: &str, params: &[&str]) -> i64 {
        self.value(sql, params).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{sql} is not a count"))
    }
}

/// Opens a server's SQLite file (which must exist), waiting up to 10 s for its locks.
#[track_caller]
pub fn sqlite(path: &std::path::Path) -> rusqlite::Connection {
    assert!(path.exists(), "the database file {} does not exist", path.display());
    let conn = rusqlite::Connection::open(path).expect("open the server's database");
    conn.busy_timeout(std::time::Duration::from_secs(10)).expect("set busy timeout");
    conn
}

fn text_of(value: rusqlite::types::ValueRef<'_>) -> Option<String> {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(x) => Some(x.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

/// Runs `sql` (its `?N` inlined) on the PostgreSQL database at `url`, in the simple
/// protocol, where every value comes back as text.
#[track_caller]
fn simple_query(url: &str, sql: &str, params: &[&str]) -> Vec<postgres::SimpleQueryMessage> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect to the test database");
    client.simple_query(&inline(sql, params)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// `sql` with `?N` replaced by `params[N-1]` as a quoted literal (test values only).
fn inline(sql: &str, params: &[&str]) -> String {
    let mut out = sql.to_owned();
    // Highest first, so `?1` does not eat the start of `?10`.
    for (i, param) in params.iter().enumerate().rev() {
        out = out.replace(&format!("?{}", i + 1), &format!("'{}'", param.replace('\'', "''")));
    }
    out
}
