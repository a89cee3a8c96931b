//! The storage seam: one [`Database::query`] over SQL with `?` parameters.
//!
//! Every query the account logic runs is written once, in [`crate::store`], in the SQL
//! that SQLite and PostgreSQL share.
//! A backend that needs `$n` placeholders rewrites the text with [`postgres_sql`].
//!
//! Parameters are typed ([`Value::Uuid`], [`Value::Timestamp`], [`Value::Bool`]) because
//! PostgreSQL's columns are (`uuid`, `timestamp`, `boolean`) and Spin's outbound PostgreSQL
//! binds a parameter only to a column of its own type; SQLite stores them as text and
//! integers. Rows come back in SQLite's five storage classes whatever the backend: a
//! PostgreSQL `uuid` is [`Value::Text`], a `timestamp` is RFC 3339 text, a `boolean` is
//! [`Value::Integer`] 0 or 1.
//!
//! Inside the component the seam is `spin:sqlite/sqlite@3.0.0` or
//! `spin:postgres/postgres@4.0.0`; natively it is a rusqlite
//! [`Connection`](rusqlite::Connection) (feature `rusqlite`), used by unit tests and by
//! hosts that run the logic without Wasm.

use crate::AuthError;
use crate::clock::Timestamp;

/// One SQL value: a parameter, or (in its first five cases) a result column.
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
    /// A boolean parameter: PostgreSQL `boolean`, SQLite integer 0 or 1.
    Bool(bool),
    /// A UUID parameter, in its canonical lower-case hyphenated text (see
    /// [`crate::input::is_uuid`]): PostgreSQL `uuid`, SQLite text.
    Uuid(String),
    /// An instant parameter: PostgreSQL `timestamp` (UTC), SQLite RFC 3339 text.
    Timestamp(Timestamp),
}

impl Value {
    /// A UUID parameter.
    pub fn uuid(id: &str) -> Value {
        Value::Uuid(id.to_owned())
    }

    /// A UUID parameter, or NULL.
    pub fn opt_uuid(id: Option<&str>) -> Value {
        id.map_or(Value::Null, Value::uuid)
    }
}

impl From<Timestamp> for Value {
    fn from(t: Timestamp) -> Value {
        Value::Timestamp(t)
    }
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
        Value::Bool(b)
    }
}

/// A storage failure. The message is the database's (or the seam's) and never includes
/// parameter or row values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached now (down, restarting, out of connections); the
    /// same request may succeed in a few seconds.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The statement failed.
    #[error("{0}")]
    Failed(String),
}

impl DbError {
    /// Shorthand for [`DbError::Failed`].
    pub fn failed(message: impl Into<String>) -> DbError {
        DbError::Failed(message.into())
    }
}

impl From<DbError> for AuthError {
    fn from(err: DbError) -> AuthError {
        match err {
            DbError::Unavailable(message) => AuthError::Unavailable(format!("storage: {message}")),
            DbError::Failed(message) => AuthError::Internal(format!("storage: {message}")),
        }
    }
}

/// Whether a PostgreSQL SQLSTATE says the server cannot serve now rather than that the
/// statement is wrong: class 08 (connection exception), 53 (insufficient resources: too
/// many connections, out of memory or disk), 57P01–57P05 (shutting down, starting up,
/// idle-session and similar terminations).
pub fn sqlstate_is_unavailable(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || (code.starts_with("57P") && code != "57P04")
}

/// A piece of SQL text, as the rewriter and statement checks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqlPiece<'a> {
    /// Code: keywords, names, operators, placeholders.
    Code(&'a str),
    /// A quoted string or identifier, or a `--` or `/* */` comment, delimiters included:
    /// nothing in it is code.
    Verbatim(&'a str),
}

/// Splits `sql` into code and verbatim pieces (an unterminated quote or comment runs to the
/// end). The delimiters are ASCII, so every piece is a `str` slice.
pub(crate) fn sql_pieces(sql: &str) -> Vec<SqlPiece<'_>> {
    let bytes = sql.as_bytes();
    let (mut pieces, mut code_start, mut i) = (Vec::new(), 0, 0);
    while let Some(&byte) = bytes.get(i) {
        // What follows the byte at `i`; a delimiter found in it at `n` sits at `i + 1 + n`.
        let rest = bytes.get(i + 1..).unwrap_or_default();
        let end = match (byte, rest.first()) {
            (quote @ (b'\'' | b'"'), _) => rest.iter().position(|&b| b == quote).map(|n| i + n + 2),
            (b'-', Some(b'-')) => rest.iter().position(|&b| b == b'\n').map(|n| i + n + 2),
            (b'/', Some(b'*')) => sql.get(i + 2..).and_then(|after| after.find("*/")).map(|n| i + n + 4),
            _ => {
                i += 1;
                continue;
            }
        }
        .unwrap_or(bytes.len());
        if code_start < i {
            pieces.push(SqlPiece::Code(&sql[code_start..i]));
        }
        pieces.push(SqlPiece::Verbatim(&sql[i..end]));
        (code_start, i) = (end, end);
    }
    if code_start < bytes.len() {
        pieces.push(SqlPiece::Code(&sql[code_start..]));
    }
    pieces
}

/// The words (runs of ASCII letters, digits and `_`) of `sql`'s code, in order.
pub fn code_words(sql: &str) -> impl Iterator<Item = &str> {
    sql_pieces(sql).into_iter().flat_map(|piece| match piece {
        SqlPiece::Code(code) => {
            code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect()
        }
        SqlPiece::Verbatim(_) => Vec::new(),
    })
}

/// Rewrites SQL written for SQLite's `?` placeholders into PostgreSQL's: the n-th `?`
/// becomes `$n`, and `IS NOT ?` / `IS ?` become `IS DISTINCT FROM $n` /
/// `IS NOT DISTINCT FROM $n` (PostgreSQL's `IS` takes only `NULL`, `TRUE` and `FALSE`).
/// `?NNN` becomes `$NNN`. Question marks inside quoted strings, quoted identifiers and
/// comments (`--` and `/* */`) are left alone.
pub fn postgres_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut placeholders = 0;
    for piece in sql_pieces(sql) {
        let code = match piece {
            SqlPiece::Verbatim(text) => {
                out.push_str(text);
                continue;
            }
            SqlPiece::Code(code) => code,
        };
        let mut chars = code.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '?' {
                out.push(c);
                continue;
            }
            // `?NNN` names parameter NNN, as in SQLite; a bare `?` is the next one.
            let mut digits = String::new();
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                digits.push(d);
                chars.next();
            }
            let number = if digits.is_empty() {
                placeholders += 1;
                placeholders.to_string()
            } else {
                digits
            };
            rewrite_is_comparison(&mut out);
            out.push('$');
            out.push_str(&number);
        }
    }
    out
}

/// If `out` ends with the keyword `IS` or `IS NOT` (and whitespace), replaces it with
/// PostgreSQL's null-safe comparison.
fn rewrite_is_comparison(out: &mut String) {
    /// The last word of `text` and where it starts.
    fn last_word(text: &str) -> (&str, usize) {
        let text = text.trim_end();
        let start = text.rfind(|c: char| c.is_ascii_whitespace()).map_or(0, |i| i + 1);
        (&text[start..], start)
    }
    let (last, last_start) = last_word(out);
    if !last.eq_ignore_ascii_case("IS") && !last.eq_ignore_ascii_case("NOT") {
        return;
    }
    let (replace_from, text) = if last.eq_ignore_ascii_case("NOT") {
        match last_word(&out[..last_start]) {
            (is, start) if is.eq_ignore_ascii_case("IS") => (start, "IS DISTINCT FROM "),
            _ => return,
        }
    } else {
        (last_start, "IS NOT DISTINCT FROM ")
    };
    out.truncate(replace_from);
    out.push_str(text);
}

/// One result row, values in the order the statement selected them.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn at(&self, index: usize) -> Result<&Value, DbError> {
        self.0.get(index).ok_or_else(|| DbError::failed(format!("result has no column {index}")))
    }

    /// The text in column `index`.
    pub fn text(&self, index: usize) -> Result<String, DbError> {
        match self.at(index)? {
            Value::Text(text) => Ok(text.clone()),
            other => Err(DbError::failed(format!("column {index}: expected text, found {}", kind(other)))),
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
            other => Err(DbError::failed(format!("column {index}: expected integer, found {}", kind(other)))),
        }
    }

    /// The boolean in column `index` (an integer 0 or 1 on every backend).
    pub fn boolean(&self, index: usize) -> Result<bool, DbError> {
        Ok(self.integer(index)? != 0)
    }
}

/// A value's kind, for errors: never the value itself, which may be a stored secret.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Integer(_) => "integer",
        Value::Real(_) => "real",
        Value::Text(_) => "text",
        Value::Blob(_) => "blob",
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Uuid(_) => "uuid",
        Value::Timestamp(_) => "timestamp",
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
            Ok(match self {
                Value::Integer(n) => ToSqlOutput::Borrowed(ValueRef::Integer(*n)),
                Value::Real(x) => ToSqlOutput::Borrowed(ValueRef::Real(*x)),
                Value::Text(s) | Value::Uuid(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
                Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
                Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
                Value::Bool(b) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(i64::from(*b))),
                Value::Timestamp(t) => ToSqlOutput::Owned(rusqlite::types::Value::Text(t.to_rfc3339())),
            })
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
            let fail = |e: rusqlite::Error| DbError::failed(e.to_string());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(
            postgres_sql("INSERT INTO t (a, b) VALUES (?, ?) RETURNING a"),
            "INSERT INTO t (a, b) VALUES ($1, $2) RETURNING a"
        );
        assert_eq!(postgres_sql("SELECT 1"), "SELECT 1");
        let many = ["?"; 12].join(", ");
        assert!(postgres_sql(&many).ends_with("$11, $12"));
    }

    #[test]
    fn null_safe_comparisons_become_distinct_from() {
        assert_eq!(
            postgres_sql("UPDATE s SET r = ? WHERE u = ? AND id IS NOT ? RETURNING id"),
            "UPDATE s SET r = $1 WHERE u = $2 AND id IS DISTINCT FROM $3 RETURNING id"
        );
        assert_eq!(postgres_sql("WHERE a is  not\n?"), "WHERE a IS DISTINCT FROM $1");
        assert_eq!(postgres_sql("WHERE a IS ?"), "WHERE a IS NOT DISTINCT FROM $1");
        // Only the keywords: a column named `this` or `is_not` is no `IS`.
        assert_eq!(postgres_sql("WHERE this = ? AND is_not = ?"), "WHERE this = $1 AND is_not = $2");
        assert_eq!(postgres_sql("WHERE a IS NULL AND b = ?"), "WHERE a IS NULL AND b = $1");
    }

    #[test]
    fn quoted_question_marks_are_not_placeholders() {
        assert_eq!(postgres_sql("SELECT '?', \"a?\" FROM t WHERE x = ?"), "SELECT '?', \"a?\" FROM t WHERE x = $1");
        assert_eq!(postgres_sql("SELECT 'it''s ?' WHERE x = ?"), "SELECT 'it''s ?' WHERE x = $1");
        assert_eq!(postgres_sql("SELECT 1 -- why?\nWHERE x = ?"), "SELECT 1 -- why?\nWHERE x = $1");
        assert_eq!(postgres_sql("SELECT /* why? */ ? /* * / ? */"), "SELECT /* why? */ $1 /* * / ? */");
    }

    #[test]
    fn code_words_skip_quotes_and_comments() {
        let words: Vec<&str> = code_words("(SELECT 'into', \"x y\" /* INTO */ -- into\nFROM t_1)").collect();
        assert_eq!(words, ["SELECT", "FROM", "t_1"]);
        assert_eq!(code_words("'unterminated INTO").count(), 0);
    }

    #[test]
    fn numbered_placeholders_keep_their_numbers() {
        assert_eq!(postgres_sql("SELECT ?2, ?1, ?10"), "SELECT $2, $1, $10");
        assert_eq!(postgres_sql("WHERE a = ?1 AND b IS NOT ?2"), "WHERE a = $1 AND b IS DISTINCT FROM $2");
        // Non-ASCII white space is no separator, and no panic.
        assert_eq!(postgres_sql("WHERE a\u{3000}IS ?"), "WHERE a\u{3000}IS $1");
    }

    #[test]
    fn typed_parameters_are_stored_by_sqlite_as_text_and_integers() {
        let db = rusqlite::Connection::open_in_memory().expect("opens");
        let t = Timestamp::from_unix(1_769_077_800);
        let rows = db
            .query(
                "SELECT ?, typeof(?), ?, ?, ?",
                &[t.into(), t.into(), true.into(), Value::uuid("a"), Value::opt_uuid(None)],
            )
            .expect("runs");
        assert_eq!(
            rows,
            [Row(vec![
                Value::Text("2026-01-22T10:30:00Z".into()),
                Value::Text("text".into()),
                Value::Integer(1),
                Value::Text("a".into()),
                Value::Null,
            ])]
        );
    }

    #[test]
    fn unavailability_is_told_from_failure_by_sqlstate() {
        for code in ["08006", "08001", "57P01", "57P03", "53300"] {
            assert!(sqlstate_is_unavailable(code), "{code}");
        }
        for code in ["23505", "42P01", "22P02", "57014", "57P04", "40001"] {
            assert!(!sqlstate_is_unavailable(code), "{code}");
        }
    }

    #[test]
    fn an_unreachable_database_is_unavailable_and_says_nothing_of_where() {
        let err = AuthError::from(DbError::Unavailable("connection refused to db.internal".into()));
        assert_eq!((err.status(), err.code()), (503, "SERVICE_UNAVAILABLE"));
        assert!(!err.detail().contains("db.internal"));
    }

    #[test]
    fn errors_name_the_kind_of_a_value_never_the_value() {
        let row = Row(vec![Value::Text("s3cr3t".into())]);
        let err = row.integer(0).expect_err("text is no integer");
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }
}
