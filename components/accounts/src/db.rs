//! The storage seam: one [`Database::query`] over SQLite-dialect SQL with `?` parameters.
//!
//! Every query the account logic runs is written once, in [`crate::store`]. Inside the
//! component the seam is `spin:sqlite/sqlite@3.0.0`; natively it is a rusqlite
//! [`Connection`](rusqlite::Connection) (feature `rusqlite`), used by unit tests and by
//! hosts that run the logic without Wasm.

/// One SQL value, as `spin:sqlite` carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A 64-bit integer.
    Integer(i64),
    /// A double.
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
    /// SQL NULL.
    Null,
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::Text(text)
    }
}

impl From<Option<&str>> for Value {
    fn from(text: Option<&str>) -> Value {
        text.map_or(Value::Null, Value::from)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Integer(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Integer(i64::from(b))
    }
}

/// A storage failure; the message is the database's and never includes parameter values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DbError(pub String);

/// One result row, values in the order the statement selected them.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn at(&self, index: usize) -> Result<&Value, DbError> {
        self.0.get(index).ok_or_else(|| DbError(format!("result has no column {index}")))
    }

    /// The text in column `index`.
    pub fn text(&self, index: usize) -> Result<String, DbError> {
        match self.at(index)? {
            Value::Text(text) => Ok(text.clone()),
            other => Err(DbError(format!("column {index}: expected text, found {other:?}"))),
        }
    }

    /// The text in column `index`, or `None` for NULL.
    pub fn opt_text(&self, index: usize) -> Result<Option<String>, DbError> {
        match self.at(index)? {
            Value::Null => Ok(None),
            _ => self.text(index).map(Some),
        }
    }

    /// The integer in column `index`.
    pub fn integer(&self, index: usize) -> Result<i64, DbError> {
        match self.at(index)? {
            Value::Integer(n) => Ok(*n),
            other => Err(DbError(format!("column {index}: expected integer, found {other:?}"))),
        }
    }
}

/// Somewhere SQL runs.
pub trait Database {
    /// Runs one statement and returns the rows it yields (none for plain writes).
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;
}

impl<D: Database + ?Sized> Database for &D {
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        (**self).query(sql, params)
    }
}

#[cfg(any(test, feature = "rusqlite"))]
mod native {
    use super::{Database, DbError, Row, Value};
    use rusqlite::types::{ToSqlOutput, ValueRef};

    impl rusqlite::ToSql for Value {
        fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
            Ok(ToSqlOutput::Borrowed(match self {
                Value::Integer(n) => ValueRef::Integer(*n),
                Value::Real(x) => ValueRef::Real(*x),
                Value::Text(s) => ValueRef::Text(s.as_bytes()),
                Value::Blob(b) => ValueRef::Blob(b),
                Value::Null => ValueRef::Null,
            }))
        }
    }

    fn value(v: ValueRef<'_>) -> Value {
        match v {
            ValueRef::Integer(n) => Value::Integer(n),
            ValueRef::Real(x) => Value::Real(x),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            ValueRef::Null => Value::Null,
        }
    }

    impl Database for rusqlite::Connection {
        fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
            let fail = |e: rusqlite::Error| DbError(e.to_string());
            let mut statement = self.prepare_cached(sql).map_err(fail)?;
            let columns = statement.column_count();
            let mut rows = statement.query(rusqlite::params_from_iter(params)).map_err(fail)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(fail)? {
                let values = (0..columns).map(|i| row.get_ref(i).map(value)).collect::<Result<_, _>>();
                out.push(Row(values.map_err(fail)?));
            }
            Ok(out)
        }
    }
}
