//! The component's platform: `spin:sqlite` as the [`Database`] seam and
//! `fermyon:spin/variables` as the [`VariableSource`] of settings.

use std::cell::OnceCell;

use itsor_accounts::config::{ConfigError, Settings, VariableSource};
use itsor_accounts::db::{Database, DbError, Row, Value};
use itsor_accounts::{Accounts, AuthError};
use itsor_http::Platform;

use crate::bindings::fermyon::spin::variables;
use crate::bindings::spin::sqlite::sqlite;

/// The account logic over the host's default database, under the host's variables.
pub fn accounts() -> Result<Accounts<SpinDatabase>, AuthError> {
    Ok(Accounts::new(SpinDatabase::default(), SpinPlatform.settings()?))
}

/// The HTTP adapter's view of the Spin platform.
pub struct SpinPlatform;

impl Platform for SpinPlatform {
    type Database = SpinDatabase;

    fn settings(&self) -> Result<Settings, ConfigError> {
        Settings::load(&SpinVariables)
    }

    fn database(&self) -> SpinDatabase {
        SpinDatabase::default()
    }
}

/// Reads settings through `fermyon:spin/variables`; an undefined variable takes its default.
struct SpinVariables;

impl VariableSource for SpinVariables {
    fn get(&self, name: &str) -> Option<String> {
        variables::get(name).ok()
    }
}

/// The host's `default` SQLite database, opened on first use.
#[derive(Default)]
pub struct SpinDatabase {
    connection: OnceCell<sqlite::Connection>,
}

impl SpinDatabase {
    fn connection(&self) -> Result<&sqlite::Connection, DbError> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection);
        }
        let connection = sqlite::Connection::open("default").map_err(describe)?;
        Ok(self.connection.get_or_init(|| connection))
    }
}

impl Database for SpinDatabase {
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let params: Vec<sqlite::Value> = params.iter().map(to_wit).collect();
        let result = self.connection()?.execute(sql, &params).map_err(describe)?;
        Ok(result.rows.into_iter().map(|row| Row(row.values.into_iter().map(from_wit).collect())).collect())
    }
}

fn to_wit(value: &Value) -> sqlite::Value {
    match value {
        Value::Integer(n) => sqlite::Value::Integer(*n),
        Value::Real(x) => sqlite::Value::Real(*x),
        Value::Text(s) => sqlite::Value::Text(s.clone()),
        Value::Blob(b) => sqlite::Value::Blob(b.clone()),
        Value::Null => sqlite::Value::Null,
    }
}

fn from_wit(value: sqlite::Value) -> Value {
    match value {
        sqlite::Value::Integer(n) => Value::Integer(n),
        sqlite::Value::Real(x) => Value::Real(x),
        sqlite::Value::Text(s) => Value::Text(s),
        sqlite::Value::Blob(b) => Value::Blob(b),
        sqlite::Value::Null => Value::Null,
    }
}

fn describe(err: sqlite::Error) -> DbError {
    DbError(match err {
        sqlite::Error::NoSuchDatabase => "no such database".to_owned(),
        sqlite::Error::AccessDenied => "access denied".to_owned(),
        sqlite::Error::InvalidConnection => "invalid connection".to_owned(),
        sqlite::Error::DatabaseFull => "database full".to_owned(),
        sqlite::Error::Io(message) => message,
    })
}
