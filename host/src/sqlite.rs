//! Host implementation of `spin:sqlite/sqlite@3.0.0` on rusqlite.
//!
//! # Design
//!
//! One database exists, `"default"`: the file named by `BACKEND_DATABASE_URL`. Opening any
//! other name, or any name at all when the deployment stores in PostgreSQL, fails with
//! `no-such-database`.
//!
//! **Connections are per OS thread, not per request.** A guest's `connection` resource is
//! only a small record ([`ConnectionState`]: its `changes` and `last-insert-rowid`); every
//! `execute` runs on the calling thread's own rusqlite connection, opened lazily for the
//! configured file and kept in a `thread_local!`. Host calls are synchronous and never
//! `.await`, so a connection is never held across a suspension point, no request waits on a
//! global mutex, and a Tokio worker thread reuses one connection (and its prepared-statement
//! cache, see [`rusqlite::Connection::prepare_cached`]) for all the requests it runs.
//! Concurrency between threads is SQLite's: WAL mode (readers never block the writer) with
//! a 5 s busy timeout for writers.
//!
//! This works because the component issues independent single statements. A statement that
//! would leave a transaction open on the shared thread connection (`BEGIN`, `SAVEPOINT`) is
//! rolled back and refused, so one request can never leak a transaction into another.
//!
//! # The sandbox
//!
//! The component is promised no files, and a thread connection outlives every request on
//! it, so the guest gets only what the account logic needs:
//!
//! - **An authorizer** ([`authorize`]), installed on every thread connection: reads and
//!   `INSERT`/`UPDATE`/`DELETE` on the application's tables (every table in the schema
//!   except SQLite's own and `schema_migrations`, read once when the connection opens),
//!   `SELECT`, SQL functions and recursive CTEs. Everything else is refused while the
//!   statement is prepared: `ATTACH`/`DETACH` and `VACUUM INTO` (files anywhere the host
//!   user can write), `PRAGMA`, every `CREATE`/`DROP`/`ALTER` (`TEMP` objects included,
//!   which would outlive the request and see the next one), transactions and savepoints,
//!   reads of `sqlite_schema` and of `schema_migrations`.
//! - **A result cap**: a statement whose rows exceed [`MAX_RESULT_BYTES`] fails instead of
//!   filling the host's memory (the guest could not hold them anyway).
//! - **A deadline**: host code is not interrupted by epochs, so a statement checks the
//!   request's deadline every [`PROGRESS_OPS`] virtual-machine steps and is interrupted
//!   once it has passed; the Tokio worker is never held past the request.
//!
//! Migrations (`itsor migrate`) open their own connection without these restrictions.
//!
//! Every connection is opened with `journal_mode=WAL`, `busy_timeout=5000`,
//! `foreign_keys=ON` and `synchronous=NORMAL`.
//!
//! Errors are SQLite's own messages (`UNIQUE constraint failed: users.email`), which name
//! tables and columns but never parameter values; a full disk maps to `database-full`.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{OpenFlags, ToSql};
use wasmtime::component::{Resource, ResourceTable};

use crate::bindings::spin::sqlite::sqlite::{Error, Host, HostConnection, QueryResult, RowResult, Value};

/// The only database name the component may open.
pub const DEFAULT_DATABASE: &str = "default";

/// How long a writer waits for another writer's lock before failing with "database is locked".
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per thread connection.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// The most bytes one statement's rows may take (values' bytes; 8 per number); more fails
/// the statement. The guest's whole memory is 64 MiB, the account logic's largest answer
/// (a page of 100 tasks) well under 1 MiB.
pub const MAX_RESULT_BYTES: usize = 16 << 20;

/// How many SQLite virtual-machine steps run between two looks at the request's deadline.
pub const PROGRESS_OPS: i32 = 1000;

/// The schema's bookkeeping table, which the guest may not touch.
const MIGRATIONS_TABLE: &str = "schema_migrations";

thread_local! {
    /// The deadline of the request whose statement this thread is running, if any: read by
    /// the progress handler of the thread's connection.
    static STATEMENT_DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The configured database file, shared by every store (cheap to clone).
#[derive(Debug, Clone)]
pub struct Database {
    path: Arc<PathBuf>,
}

impl Database {
    /// Prepares the database at `path`: creates its parent directory, opens it once (so a
    /// bad path fails at start-up, not on the first request) and switches it to WAL mode.
    pub fn prepare(path: &Path) -> anyhow::Result<Database> {
        use anyhow::Context as _;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create directory {}", parent.display()))?;
        }
        open_connection(path).with_context(|| format!("cannot open database {}", path.display()))?;
        Ok(Database { path: Arc::new(path.to_path_buf()) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on this thread's connection to the database, opening it if needed.
    ///
    /// Fails only if the connection cannot be opened; `f`'s own outcome is returned as is.
    /// `f` must not run anything that suspends (it holds the thread's connection), and must
    /// not leave a transaction open: the connection is shared by every request the thread
    /// runs. The component's host calls and the native benchmark reference (`itsor-native`
    /// in `bench/`, through [`crate::SqliteDatabase`]) both go through here.
    pub fn with_connection<R>(&self, f: impl FnOnce(&rusqlite::Connection) -> R) -> rusqlite::Result<R> {
        THREAD_CONNECTION.with(|slot| {
            let mut slot = slot.borrow_mut();
            // `Arc`'s equality checks the pointer first: one comparison in the common case.
            let open = match slot.take() {
                Some(open) if open.path == self.path => open,
                _ => ThreadConnection { path: Arc::clone(&self.path), conn: open_sandboxed_connection(&self.path)? },
            };
            let result = f(&open.conn);
            *slot = Some(open);
            Ok(result)
        })
    }
}

/// A thread's open connection and the file it belongs to.
struct ThreadConnection {
    path: Arc<PathBuf>,
    conn: rusqlite::Connection,
}

thread_local! {
    static THREAD_CONNECTION: RefCell<Option<ThreadConnection>> = const { RefCell::new(None) };
}

/// Opens a connection to `path` with itsor's pragmas (see the module documentation).
pub fn open_connection(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(conn)
}

/// Opens a connection for guests: [`open_connection`] plus the authorizer over the schema's
/// current application tables and the deadline check (see the module documentation).
pub fn open_sandboxed_connection(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = open_connection(path)?;
    let tables = application_tables(&conn)?;
    conn.authorizer(Some(move |context: AuthContext<'_>| authorize(&tables, &context)));
    conn.progress_handler(
        PROGRESS_OPS,
        Some(|| STATEMENT_DEADLINE.with(|deadline| deadline.get().is_some_and(|at| Instant::now() >= at))),
    );
    Ok(conn)
}

/// The tables a guest may use: every table of the `main` schema except SQLite's own and the
/// migrations' bookkeeping.
fn application_tables(conn: &rusqlite::Connection) -> rusqlite::Result<HashSet<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ?1",
    )?;
    let names = stmt.query_map([MIGRATIONS_TABLE], |row| row.get::<_, String>(0))?;
    names.collect()
}

/// The authorizer: what a guest's statement may do (see the module documentation).
pub fn authorize(tables: &HashSet<String>, context: &AuthContext<'_>) -> Authorization {
    let ours = |table: &str| context.database_name == Some("main") && tables.contains(table);
    let allowed = match context.action {
        AuthAction::Select | AuthAction::Recursive | AuthAction::Function { .. } => true,
        // Columns of a common table expression or subquery: no schema, so no stored table.
        AuthAction::Read { .. } if context.database_name.is_none() => true,
        AuthAction::Read { table_name, .. }
        | AuthAction::Insert { table_name }
        | AuthAction::Update { table_name, .. }
        | AuthAction::Delete { table_name } => ours(table_name),
        _ => false,
    };
    if allowed { Authorization::Allow } else { Authorization::Deny }
}

/// What a guest's `connection` resource holds: the results of its own last statements.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionState {
    changes: u64,
    last_insert_rowid: i64,
}

/// The per-store half of the SQLite host: the shared [`Database`] (none when the
/// deployment stores in PostgreSQL) plus the store's `connection` resources (in a table of
/// its own, independent of WASI's).
pub struct SqliteHost {
    database: Option<Database>,
    connections: ResourceTable,
    deadline: Option<Instant>,
}

impl SqliteHost {
    /// A host for one store, with no deadline (see [`SqliteHost::set_deadline`]).
    pub fn new(database: Option<Database>) -> SqliteHost {
        SqliteHost { database, connections: ResourceTable::new(), deadline: None }
    }

    /// Interrupts any statement still running at `deadline` (the request's).
    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
    }

    fn state(&self, conn: &Resource<ConnectionState>) -> Result<ConnectionState, Error> {
        self.connections.get(conn).copied().map_err(|_| Error::InvalidConnection)
    }
}

impl Host for SqliteHost {}

impl HostConnection for SqliteHost {
    fn open(&mut self, database: String) -> Result<Resource<ConnectionState>, Error> {
        let Some(db) = self.database.as_ref().filter(|_| database == DEFAULT_DATABASE) else {
            return Err(Error::NoSuchDatabase);
        };
        // Surface an unopenable database here rather than on the first statement.
        db.with_connection(|_| ()).map_err(to_wit_error)?;
        self.connections.push(ConnectionState::default()).map_err(|_| Error::Io("too many open connections".to_owned()))
    }

    fn execute(
        &mut self,
        conn: Resource<ConnectionState>,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<QueryResult, Error> {
        let mut state = self.state(&conn)?;
        let started = Instant::now();
        STATEMENT_DEADLINE.with(|deadline| deadline.set(self.deadline));
        let result = match &self.database {
            Some(database) => database
                .with_connection(|db| run_statement(db, &mut state, &statement, &parameters))
                .map_err(to_wit_error),
            None => Err(Error::NoSuchDatabase),
        };
        STATEMENT_DEADLINE.with(|deadline| deadline.set(None));
        let result = result.and_then(|r| r);
        crate::metrics::metrics().statement("sqlite", started.elapsed(), result.is_ok());
        let result = result?;
        if let Ok(slot) = self.connections.get_mut(&conn) {
            *slot = state;
        }
        Ok(result)
    }

    fn last_insert_rowid(&mut self, conn: Resource<ConnectionState>) -> i64 {
        self.state(&conn).map(|s| s.last_insert_rowid).unwrap_or(0)
    }

    fn changes(&mut self, conn: Resource<ConnectionState>) -> u64 {
        self.state(&conn).map(|s| s.changes).unwrap_or(0)
    }

    fn drop(&mut self, conn: Resource<ConnectionState>) -> wasmtime::Result<()> {
        // Dropping an unknown handle is the guest's bug, not a reason to trap the request.
        let _ = self.connections.delete(conn);
        Ok(())
    }
}

/// Runs one statement on `db`, returning its rows and recording its effects in `state`.
fn run_statement(
    db: &rusqlite::Connection,
    state: &mut ConnectionState,
    sql: &str,
    parameters: &[Value],
) -> Result<QueryResult, Error> {
    let mut stmt = db.prepare_cached(sql).map_err(to_wit_error)?;
    let writes = !stmt.readonly();
    let (total_before, rowid_before) = (db.total_changes(), db.last_insert_rowid());
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    let outcome = (|| {
        let mut cursor = stmt.query(rusqlite::params_from_iter(parameters.iter().map(Param)))?;
        while let Some(row) = cursor.next()? {
            let values = (0..columns.len())
                .map(|i| row.get_ref(i).map(from_sqlite))
                .collect::<rusqlite::Result<Vec<Value>>>()?;
            bytes += values.iter().map(value_bytes).sum::<usize>();
            if bytes > MAX_RESULT_BYTES {
                return Err(StatementError::TooLarge);
            }
            rows.push(RowResult { values });
        }
        Ok(())
    })();
    drop(stmt);
    if !db.is_autocommit() {
        // The connection is shared by every request on this thread: never leave it inside a
        // transaction.
        let _ = db.execute_batch("ROLLBACK");
        return Err(Error::Io("transactions are not supported by this host".to_owned()));
    }
    outcome.map_err(|error| match error {
        StatementError::Sqlite(error) => to_wit_error(error),
        StatementError::TooLarge => Error::Io(format!("the statement's rows exceed {MAX_RESULT_BYTES} bytes")),
    })?;
    if writes {
        // sqlite3_changes() keeps its old value after statements that change nothing, and
        // the thread connection is shared: only trust it if this statement changed rows.
        let changed = db.total_changes() != total_before;
        state.changes = if changed { db.changes() } else { 0 };
        let rowid = db.last_insert_rowid();
        if changed && rowid != rowid_before {
            state.last_insert_rowid = rowid;
        }
    }
    Ok(QueryResult { columns, rows })
}

/// Why a statement stopped while its rows were read.
enum StatementError {
    Sqlite(rusqlite::Error),
    /// Its rows passed [`MAX_RESULT_BYTES`].
    TooLarge,
}

impl From<rusqlite::Error> for StatementError {
    fn from(error: rusqlite::Error) -> StatementError {
        StatementError::Sqlite(error)
    }
}

/// What a value counts against [`MAX_RESULT_BYTES`].
fn value_bytes(value: &Value) -> usize {
    match value {
        Value::Text(text) => text.len(),
        Value::Blob(blob) => blob.len(),
        Value::Integer(_) | Value::Real(_) | Value::Null => 8,
    }
}

/// A WIT value bound as a statement parameter (borrowed: no copies of text or blobs).
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
            Value::Null => ValueRef::Null,
        }))
    }
}

/// A SQLite value as a WIT value (text that is not UTF-8 is converted lossily).
fn from_sqlite(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        ValueRef::Null => Value::Null,
    }
}

/// A rusqlite error as a WIT error: SQLite's message, which never contains parameter values.
fn to_wit_error(error: rusqlite::Error) -> Error {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => Error::DatabaseFull,
        Some(rusqlite::ErrorCode::AuthorizationForStatementDenied) => {
            Error::Io("not authorized: this host allows only reads and writes of the application's tables".to_owned())
        }
        Some(rusqlite::ErrorCode::OperationInterrupted) => {
            Error::Io("statement interrupted: the request's deadline passed".to_owned())
        }
        _ => Error::Io(error.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    struct Fixture {
        _dir: tempfile::TempDir,
        host: SqliteHost,
        conn: Resource<ConnectionState>,
    }

    fn setup() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/test.db");
        let database = Database::prepare(&path).unwrap();
        // The schema is the migrations' business: made before any guest connection opens.
        open_connection(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, score REAL, data BLOB);
                 CREATE TABLE schema_migrations (version TEXT PRIMARY KEY);",
            )
            .unwrap();
        let mut host = SqliteHost::new(Some(database));
        let conn = host.open(DEFAULT_DATABASE.into()).unwrap();
        Fixture { _dir: dir, host, conn }
    }

    fn handle(f: &Fixture) -> Resource<ConnectionState> {
        Resource::new_borrow(f.conn.rep())
    }

    fn run(f: &mut Fixture, sql: &str, params: Vec<Value>) -> Result<QueryResult, Error> {
        let h = handle(f);
        f.host.execute(h, sql.into(), params)
    }

    fn text(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    #[test]
    fn values_round_trip_and_columns_are_named() {
        let mut f = setup();
        let inserted = run(
            &mut f,
            "INSERT INTO t (name, score, data) VALUES (?, ?, ?) RETURNING id, name, score, data",
            vec![text("a"), Value::Real(1.5), Value::Blob(vec![0, 1, 255])],
        )
        .unwrap();
        assert_eq!(inserted.columns, ["id", "name", "score", "data"]);
        assert!(matches!(
            inserted.rows[0].values.as_slice(),
            [Value::Integer(1), Value::Text(n), Value::Real(s), Value::Blob(b)]
                if n == "a" && *s == 1.5 && b == &[0, 1, 255]
        ));
        run(&mut f, "INSERT INTO t (name) VALUES (?)", vec![Value::Null]).unwrap();
        let selected = run(&mut f, "SELECT id, name FROM t WHERE id = ?", vec![Value::Integer(2)]).unwrap();
        assert_eq!(selected.columns, ["id", "name"]);
        assert!(matches!(selected.rows[0].values.as_slice(), [Value::Integer(2), Value::Null]));
        let empty = run(&mut f, "SELECT id FROM t WHERE id = 99", vec![]).unwrap();
        assert_eq!(empty.columns, ["id"]);
        assert!(empty.rows.is_empty());
    }

    #[test]
    fn changes_and_last_insert_rowid_are_per_resource() {
        let mut f = setup();
        assert_eq!((f.host.changes(handle(&f)), f.host.last_insert_rowid(handle(&f))), (0, 0));
        run(&mut f, "INSERT INTO t (name) VALUES ('a'), ('b'), ('c')", vec![]).unwrap();
        assert_eq!(f.host.changes(handle(&f)), 3);
        assert_eq!(f.host.last_insert_rowid(handle(&f)), 3);
        run(&mut f, "UPDATE t SET score = 1 WHERE id < 3", vec![]).unwrap();
        assert_eq!(f.host.changes(handle(&f)), 2);
        run(&mut f, "SELECT * FROM t", vec![]).unwrap();
        assert_eq!(f.host.changes(handle(&f)), 2, "a SELECT does not reset changes");
        run(&mut f, "DELETE FROM t WHERE id = 99", vec![]).unwrap();
        assert_eq!(f.host.changes(handle(&f)), 0);
        assert_eq!(f.host.last_insert_rowid(handle(&f)), 3);
        // A second resource has its own record.
        let other = f.host.open(DEFAULT_DATABASE.into()).unwrap();
        assert_eq!(f.host.changes(Resource::new_borrow(other.rep())), 0);
        f.host.drop(other).unwrap();
    }

    #[test]
    fn errors_carry_sqlite_messages_but_no_values() {
        let mut f = setup();
        run(&mut f, "INSERT INTO t (name) VALUES (?)", vec![text("secret-value")]).unwrap();
        let err = run(&mut f, "INSERT INTO t (name) VALUES (?)", vec![text("secret-value")]).unwrap_err();
        let Error::Io(message) = err else { panic!("expected io, got {err:?}") };
        assert!(message.contains("UNIQUE constraint failed: t.name"), "{message}");
        assert!(!message.contains("secret-value"));
        assert!(matches!(run(&mut f, "SELEC nonsense", vec![]), Err(Error::Io(_))));
        assert!(matches!(
            run(&mut f, "SELECT ?, ?", vec![Value::Integer(1)]),
            Err(Error::Io(m)) if m.contains("parameters")
        ));
    }

    #[test]
    fn only_the_default_database_exists() {
        let mut f = setup();
        assert!(matches!(f.host.open("other".into()), Err(Error::NoSuchDatabase)));
        assert!(matches!(f.host.open("".into()), Err(Error::NoSuchDatabase)));
    }

    #[test]
    fn dropped_handles_are_invalid() {
        let mut f = setup();
        let conn = f.host.open(DEFAULT_DATABASE.into()).unwrap();
        let rep = conn.rep();
        f.host.drop(conn).unwrap();
        let stale = Resource::new_borrow(rep);
        assert!(matches!(f.host.execute(stale, "SELECT 1".into(), vec![]), Err(Error::InvalidConnection)));
    }

    #[test]
    fn transactions_are_refused_and_never_left_open() {
        let mut f = setup();
        assert!(matches!(run(&mut f, "BEGIN", vec![]), Err(Error::Io(_))));
        // The thread connection is back in autocommit mode: this write is durable at once.
        run(&mut f, "INSERT INTO t (name) VALUES ('after')", vec![]).unwrap();
        let other = open_connection(f.host.database.as_ref().unwrap().path()).unwrap();
        let n: i64 = other.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn only_reads_and_writes_of_application_tables_are_authorized() {
        let mut f = setup();
        let dir = f._dir.path().to_owned();
        let attached = dir.join("attached.db");
        let vacuumed = dir.join("copy.db");
        let refused = [
            format!("ATTACH DATABASE '{}' AS other", attached.display()),
            format!("VACUUM INTO '{}'", vacuumed.display()),
            "VACUUM".to_owned(),
            "DETACH DATABASE main".to_owned(),
            "PRAGMA journal_mode = DELETE".to_owned(),
            "PRAGMA foreign_keys".to_owned(),
            "CREATE TABLE u (x)".to_owned(),
            "CREATE TEMP TABLE u (x)".to_owned(),
            "CREATE TEMP TRIGGER spy AFTER INSERT ON t BEGIN SELECT 1; END".to_owned(),
            "CREATE TEMP VIEW v AS SELECT * FROM t".to_owned(),
            "CREATE INDEX i ON t (score)".to_owned(),
            "DROP TABLE t".to_owned(),
            "ALTER TABLE t ADD COLUMN y".to_owned(),
            "BEGIN".to_owned(),
            "SAVEPOINT s".to_owned(),
            "ANALYZE".to_owned(),
            "SELECT sql FROM sqlite_schema".to_owned(),
            "SELECT * FROM schema_migrations".to_owned(),
            "INSERT INTO schema_migrations (version) VALUES ('9999_forged')".to_owned(),
            "SELECT * FROM temp.sqlite_temp_schema".to_owned(),
        ];
        for sql in &refused {
            match run(&mut f, sql, vec![]) {
                Err(Error::Io(message)) => {
                    assert!(message.contains("not authorized"), "{sql}: {message}")
                }
                other => panic!("{sql} was not refused: {other:?}"),
            }
        }
        assert!(!attached.exists() && !vacuumed.exists(), "no file was written");
        // What the account logic does still works, upserts and RETURNING included.
        run(
            &mut f,
            "INSERT INTO t (name) VALUES (?) ON CONFLICT (name) DO UPDATE SET score = 1 RETURNING id",
            vec![text("a")],
        )
        .unwrap();
        run(
            &mut f,
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) \
             UPDATE t SET score = (SELECT max(i) FROM n), name = lower(name) WHERE id IN (SELECT id FROM t LIMIT 1)",
            vec![],
        )
        .unwrap();
        run(&mut f, "DELETE FROM t WHERE id = 1", vec![]).unwrap();
        // The schema is intact.
        let check = open_connection(f.host.database.as_ref().unwrap().path()).unwrap();
        let made: i64 = check
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name IN ('u', 'spy', 'v', 'i') OR name = 't' AND type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(made, 1, "t is there and nothing the guest tried to create");
    }

    #[test]
    fn results_are_capped() {
        let mut f = setup();
        let rows = MAX_RESULT_BYTES / (1 << 20) + 1;
        let sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) SELECT zeroblob(1048576) FROM n"
        );
        match run(&mut f, &sql, vec![]) {
            Err(Error::Io(message)) => assert!(message.contains("exceed"), "{message}"),
            other => panic!("not capped: {other:?}"),
        }
        let just_under = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) SELECT zeroblob(1048500) FROM n",
            rows - 1
        );
        assert_eq!(run(&mut f, &just_under, vec![]).unwrap().rows.len(), rows - 1);
    }

    #[test]
    fn statements_stop_at_the_request_deadline() {
        let mut f = setup();
        let endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";
        f.host.set_deadline(Instant::now() + Duration::from_millis(200));
        let started = Instant::now();
        match run(&mut f, endless, vec![]) {
            Err(Error::Io(message)) => assert!(message.contains("deadline"), "{message}"),
            other => panic!("not interrupted: {other:?}"),
        }
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "took {took:?}");
        // The deadline belongs to the request, not the thread's connection.
        let mut other = SqliteHost::new(f.host.database.clone());
        let conn = other.open(DEFAULT_DATABASE.into()).unwrap();
        other.execute(conn, "SELECT count(*) FROM t".into(), vec![]).unwrap();
    }

    #[test]
    fn pragmas_are_applied() {
        let f = setup();
        let conn = open_connection(f.host.database.as_ref().unwrap().path()).unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
    }
}
