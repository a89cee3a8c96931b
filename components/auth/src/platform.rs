//! The component's platform: storage through `spin:sqlite` or `spin:postgres` as the
//! [`Database`] seam, and the [`Variables`] settings are read from: `fermyon:spin/variables`,
//! or the values the host passed with a typed request.
//!
//! The `database_url` variable picks the backend once per instance: a `postgres://` URL
//! stores through `spin:postgres/postgres@4.0.0` (the host decides which addresses may be
//! opened: Spin's `allowed_outbound_hosts`, `itsor`'s own configured URL); anything else
//! uses the host's SQLite `default` database. Either connection is opened on first use, so
//! a request that touches no storage opens none.

use std::cell::OnceCell;

use itsor_accounts::clock::{Timestamp, WallClock};
use itsor_accounts::config::{ConfigError, DATABASE_URL, Settings, VariableSource, is_postgres_url};
use itsor_accounts::db::{Database, DbError, Row, Value, postgres_sql, sqlstate_is_unavailable};
use itsor_accounts::{Accounts, AuthError};
use itsor_http::Platform;

use crate::bindings::fermyon::spin::variables;
use crate::bindings::spin::postgres::postgres;
use crate::bindings::spin::sqlite::sqlite;

/// The account logic over the configured database, under the host's variables, on the
/// WASI wall clock.
pub fn accounts() -> Result<Accounts<SpinDatabase>, AuthError> {
    let platform = SpinPlatform::new(Variables::Imported);
    Ok(Accounts::new(platform.database(), platform.settings()?, WallClock))
}

/// The HTTP adapter's view of the Spin platform.
pub struct SpinPlatform {
    variables: Variables,
}

impl SpinPlatform {
    /// The platform with its settings read from `variables`.
    pub fn new(variables: Variables) -> SpinPlatform {
        SpinPlatform { variables }
    }
}

impl Platform for SpinPlatform {
    type Database = SpinDatabase;

    fn settings(&self) -> Result<Settings, ConfigError> {
        Settings::load(&self.variables)
    }

    fn database(&self) -> SpinDatabase {
        SpinDatabase::configured(&self.variables)
    }
}

/// Where the settings come from; an undefined variable takes its default either way.
pub enum Variables {
    /// `fermyon:spin/variables`, one host call per name.
    Imported,
    /// The variables that are set, given with the request (`itsor:auth/http-handler`).
    Given(Vec<(String, String)>),
}

impl VariableSource for Variables {
    fn get(&self, name: &str) -> Option<String> {
        match self {
            Variables::Imported => variables::get(name).ok(),
            Variables::Given(pairs) => pairs.iter().find(|(given, _)| given == name).map(|(_, value)| value.clone()),
        }
    }
}

/// The configured database, connected on first use.
pub enum SpinDatabase {
    /// The host's `default` SQLite database.
    Sqlite(OnceCell<sqlite::Connection>),
    /// The PostgreSQL database at this URL.
    Postgres {
        /// The `database_url` variable.
        url: String,
        /// The connection, once opened.
        connection: OnceCell<postgres::Connection>,
    },
}

impl SpinDatabase {
    /// The backend the `database_url` of `variables` names.
    fn configured(variables: &Variables) -> SpinDatabase {
        match variables.get(DATABASE_URL) {
            Some(url) if is_postgres_url(&url) => SpinDatabase::Postgres { url, connection: OnceCell::new() },
            _ => SpinDatabase::Sqlite(OnceCell::new()),
        }
    }
}

/// The connection in `cell`, opened by `open` the first time.
fn connected<C, E>(
    cell: &OnceCell<C>,
    open: impl FnOnce() -> Result<C, E>,
    fail: fn(E) -> DbError,
) -> Result<&C, DbError> {
    if let Some(connection) = cell.get() {
        return Ok(connection);
    }
    let connection = open().map_err(fail)?;
    Ok(cell.get_or_init(|| connection))
}

impl Database for SpinDatabase {
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        match self {
            SpinDatabase::Sqlite(cell) => {
                let connection = connected(cell, || sqlite::Connection::open("default"), sqlite_error)?;
                let params: Vec<sqlite::Value> = params.iter().map(to_sqlite).collect();
                let result = connection.execute(sql, &params).map_err(sqlite_error)?;
                Ok(result.rows.into_iter().map(|row| Row(row.values.into_iter().map(from_sqlite).collect())).collect())
            }
            SpinDatabase::Postgres { url, connection } => {
                let connection = connected(connection, || postgres::Connection::open(url), postgres_error)?;
                let params = params.iter().map(to_postgres).collect::<Result<Vec<_>, _>>()?;
                let result = connection.query(&postgres_sql(sql), &params).map_err(postgres_error)?;
                result
                    .rows
                    .into_iter()
                    .map(|row| row.into_iter().map(from_postgres).collect::<Result<_, _>>().map(Row))
                    .collect()
            }
        }
    }
}

/// A parameter as SQLite stores it: UUIDs and instants as text, booleans as 0 or 1 (as the
/// native seam in `itsor_accounts::db` does).
fn to_sqlite(value: &Value) -> sqlite::Value {
    match value {
        Value::Integer(n) => sqlite::Value::Integer(*n),
        Value::Real(x) => sqlite::Value::Real(*x),
        Value::Text(s) | Value::Uuid(s) => sqlite::Value::Text(s.clone()),
        Value::Blob(b) => sqlite::Value::Blob(b.clone()),
        Value::Null => sqlite::Value::Null,
        Value::Bool(b) => sqlite::Value::Integer(i64::from(*b)),
        Value::Timestamp(t) => sqlite::Value::Text(t.to_rfc3339()),
    }
}

fn from_sqlite(value: sqlite::Value) -> Value {
    match value {
        sqlite::Value::Integer(n) => Value::Integer(n),
        sqlite::Value::Real(x) => Value::Real(x),
        sqlite::Value::Text(s) => Value::Text(s),
        sqlite::Value::Blob(b) => Value::Blob(b),
        sqlite::Value::Null => Value::Null,
    }
}

fn sqlite_error(err: sqlite::Error) -> DbError {
    DbError::failed(match err {
        sqlite::Error::NoSuchDatabase => "no such database".to_owned(),
        sqlite::Error::AccessDenied => "access denied".to_owned(),
        sqlite::Error::InvalidConnection => "invalid connection".to_owned(),
        sqlite::Error::DatabaseFull => "database full".to_owned(),
        sqlite::Error::Io(message) => message,
    })
}

/// A parameter as Spin binds it: integers as `int64` (PostgreSQL `bigint`), text as `str`,
/// and the typed values as `uuid`, `datetime` (`timestamp`) and `boolean`.
fn to_postgres(value: &Value) -> Result<postgres::ParameterValue, DbError> {
    use postgres::ParameterValue as P;
    Ok(match value {
        Value::Integer(n) => P::Int64(*n),
        Value::Real(x) => P::Floating64(*x),
        Value::Text(s) => P::Str(s.clone()),
        Value::Blob(b) => P::Binary(b.clone()),
        Value::Null => P::DbNull,
        Value::Bool(b) => P::Boolean(*b),
        Value::Uuid(id) if itsor_accounts::input::is_uuid(id) => P::Uuid(id.clone()),
        Value::Uuid(_) => return Err(DbError::failed("a uuid parameter is malformed")),
        Value::Timestamp(t) => P::Datetime(t.to_civil()),
    })
}

/// A column in SQLite's storage classes (see [`itsor_accounts::db`]).
fn from_postgres(value: postgres::DbValue) -> Result<Value, DbError> {
    use postgres::DbValue as D;
    Ok(match value {
        D::Boolean(b) => Value::Integer(i64::from(b)),
        D::Int8(n) => Value::Integer(i64::from(n)),
        D::Int16(n) => Value::Integer(i64::from(n)),
        D::Int32(n) => Value::Integer(i64::from(n)),
        D::Int64(n) => Value::Integer(n),
        D::Floating32(x) => Value::Real(f64::from(x)),
        D::Floating64(x) => Value::Real(x),
        D::Str(s) | D::Uuid(s) => Value::Text(s),
        D::Binary(b) => Value::Blob(b),
        D::Datetime(civil) => Value::Text(
            Timestamp::from_civil(civil)
                .ok_or_else(|| DbError::failed("a stored timestamp is out of range"))?
                .to_rfc3339(),
        ),
        D::DbNull => Value::Null,
        _ => return Err(DbError::failed("a column has a type the account logic does not read")),
    })
}

/// Storage errors without what PostgreSQL may quote from rows: a database error's
/// `detail` and `as-text` can hold values (`Key (email)=(...) already exists`), so only its
/// SQLSTATE and message are kept (only the SQLSTATE for data exceptions, whose messages
/// quote the input). Connection failures and the SQLSTATEs of a server that
/// cannot serve now are [`DbError::Unavailable`].
fn postgres_error(err: postgres::Error) -> DbError {
    match err {
        postgres::Error::ConnectionFailed(message) => DbError::Unavailable(message),
        postgres::Error::QueryFailed(postgres::QueryError::DbError(e)) if sqlstate_is_unavailable(&e.code) => {
            DbError::Unavailable(format!("{} ({})", e.message, e.code))
        }
        // Class 22 (data exception) messages quote the offending input: the code only.
        postgres::Error::QueryFailed(postgres::QueryError::DbError(e)) if e.code.starts_with("22") => {
            DbError::failed(format!("data exception ({})", e.code))
        }
        postgres::Error::QueryFailed(postgres::QueryError::DbError(e)) => {
            DbError::failed(format!("{} ({})", e.message, e.code))
        }
        // Without a database error the failure is the client's: a broken connection (which
        // tokio-postgres, under Spin and `itsor` alike, reports as kind `Closed`, `Io` or
        // `Connect`), or a conversion, which is a fault.
        postgres::Error::QueryFailed(postgres::QueryError::Text(message)) => {
            if ["kind: Closed", "kind: Io", "kind: Connect"].iter().any(|k| message.contains(k)) {
                DbError::Unavailable(message)
            } else {
                DbError::failed(message)
            }
        }
        postgres::Error::BadParameter(message)
        | postgres::Error::ValueConversionFailed(message)
        | postgres::Error::Other(message) => DbError::failed(message),
    }
}
