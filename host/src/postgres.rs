//! Host implementation of `spin:postgres/postgres@4.0.0` on tokio-postgres and
//! deadpool-postgres.
//!
//! # Design
//!
//! One database exists: the one `BACKEND_DATABASE_URL` (or `DATABASE_URL`) names, which is
//! also the component's `database_url` variable. `open(address)` succeeds only for that
//! exact address, as Spin's `allowed_outbound_hosts` admits only its listed hosts; the
//! guest can reach no other server.
//!
//! **A connection per statement, not per request.** A guest's `connection` resource is an
//! empty handle ([`PgConnection`]). Every `query`/`execute` checks a connection out of the
//! process-wide [`PostgresPool`], runs its one statement and gives it back, so no
//! connection is held while the guest hashes a password (a login spends most of its time
//! in Argon2id), and a pool of a few connections serves many concurrent requests. Each
//! pooled connection keeps the statements it prepared ([`deadpool_postgres`]'s statement
//! cache), so a statement is parsed and planned once per connection.
//!
//! Because the next statement may run on another connection, nothing should outlive a
//! statement on one: only `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `WITH` and `VALUES` are
//! run, and a `SELECT`/`WITH`/`VALUES` may not say `INTO` (`SELECT ... INTO t` creates a
//! table). `BEGIN`, `SET`, `RESET`, `SAVEPOINT`, `LISTEN`, `COPY`, DDL and every other
//! command are refused, as the SQLite provider refuses transactions. Functions are not
//! inspected: `set_config(..., false)` or `pg_advisory_lock` would persist on the pooled
//! connection, so the database role's grants stay the real boundary (docs/DEPLOYMENT.md).
//!
//! **As strict as Spin.** What the component can do here it must be able to do under Spin
//! 4.0.2, whose outbound PostgreSQL binds each parameter through the Rust type of its WIT
//! case (so `int64` binds only to `bigint`, `str` only to text types, `datetime` only to
//! `timestamp`, `uuid` only to `uuid`) and reads each column through the Rust type of its
//! PostgreSQL type (so a `timestamptz` column, which Spin reads as a naive date-time, fails
//! the whole query). [`to_sql`] and [`db_value`] do the same with the same tokio-postgres
//! type checks. Errors carry what Spin's carry, `detail` and `as-text` included: they can
//! quote row values (`Key (email)=(...) already exists`), so the component never shows
//! them, and this host never logs them. A few WIT cases the account logic never uses
//! (`jsonb`, `decimal`, ranges, `interval`) are refused as parameters: stricter, never
//! more permissive.
//!
//! **Deadlines and outages.** A statement (checkout included) is abandoned at the
//! request's deadline, and every connection carries a server-side `statement_timeout` of
//! the request timeout, so the server stops the work too. A checkout that cannot connect
//! fails with `connection-failed` (the component answers 503 with `Retry-After`); the pool
//! drops connections the server closed (a restart, Neon suspending an idle compute) when
//! they are next checked out, and opens new ones, so the host serves again as soon as the
//! server does, without a restart.
//!
//! **TLS.** `sslmode=disable` connects in clear; otherwise (`prefer`, the default, and
//! `require`) TLS is offered with rustls and the Mozilla root certificates, and a server
//! certificate that does not verify fails the connection. `channel_binding=require` (Neon)
//! is honoured.

// The WIT `error` (with its `db-error` record) is what every host function returns; boxing
// it in between would only move the allocation.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use itsor_accounts::db::code_words;
use tokio_postgres::config::{Host as PgHostName, SslMode};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use wasmtime::component::{Resource, ResourceTable};

use crate::bindings::spin::postgres::postgres::{
    Column, DbDataType, DbError, DbValue, Error, Host, HostConnection, ParameterValue, QueryError, RowSet,
};

/// Connections the pool opens at most, unless `ITSOR_PG_POOL_SIZE` says otherwise.
pub const DEFAULT_POOL_SIZE: u32 = 8;

/// How long opening one connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The most bytes one statement's rows may take (as for SQLite).
pub const MAX_RESULT_BYTES: usize = crate::sqlite::MAX_RESULT_BYTES;

/// The commands the guest may run: single statements that leave nothing behind on the
/// connection.
const ALLOWED_COMMANDS: &[&str] = &["SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES"];

/// The process-wide pool of connections to the configured database (cheap to clone).
#[derive(Clone)]
pub struct PostgresPool {
    pool: Pool,
    address: Arc<str>,
    target: Arc<str>,
}

impl std::fmt::Debug for PostgresPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresPool").field("target", &self.target).finish_non_exhaustive()
    }
}

impl PostgresPool {
    /// A pool of at most `size` connections to `url`, each with a server-side
    /// `statement_timeout` of `statement_timeout`. Opens no connection yet.
    pub fn new(url: &str, size: u32, statement_timeout: Duration) -> anyhow::Result<PostgresPool> {
        let config = client_config(url, "itsor", &format!("statement_timeout={}", statement_timeout.as_millis()))?;
        let target = describe(&config);
        let manager_config = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = if config.get_ssl_mode() == SslMode::Disable {
            Manager::from_config(config, tokio_postgres::NoTls, manager_config)
        } else {
            Manager::from_config(config, tls_connector()?, manager_config)
        };
        let pool = Pool::builder(manager)
            .max_size(usize::try_from(size).unwrap_or(usize::MAX))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the PostgreSQL pool: {e}"))?;
        Ok(PostgresPool { pool, address: Arc::from(url), target: Arc::from(target) })
    }

    /// `host:port/database`, for logs: never the user or the password.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// A checked-out connection, or `connection-failed` once `deadline` passes.
    async fn client(&self, deadline: Instant) -> Result<deadpool_postgres::Object, Error> {
        match tokio::time::timeout_at(deadline.into(), self.pool.get()).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(Error::ConnectionFailed(pool_error(&e))),
            Err(_) => {
                Err(Error::ConnectionFailed("no connection became available before the request's deadline".into()))
            }
        }
    }

    /// Whether the server answers `SELECT 1` within `timeout`, for readiness: a pool whose
    /// connections are all busy is serving, so it counts as ready without waiting for one.
    /// The error is for logs (it may name the user).
    pub async fn ready(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let client = match tokio::time::timeout_at(deadline.into(), self.pool.get()).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(pool_error(&e)),
            Err(_) if self.pool.status().size > 0 => return Ok(()),
            Err(_) => return Err("timed out connecting".to_owned()),
        };
        let answered = within(deadline, client.simple_query("SELECT 1")).await;
        match abandon_if_late(client, answered.map_err(|e| format!("{e:?}"))) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e),
        }
    }
}

/// One connection to `url` outside the pool (for migrations), TLS as for the pool; its
/// connection task runs on the current Tokio runtime.
pub async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    // `CREATE ... IF NOT EXISTS` on an existing object is a NOTICE, not news.
    let config = client_config(url, "itsor migrate", "client_min_messages=warning")?;
    let target = describe(&config);
    let fail = |e: tokio_postgres::Error| anyhow::anyhow!("cannot connect to PostgreSQL at {target}: {e}");
    let client = if config.get_ssl_mode() == SslMode::Disable {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.map_err(fail)?;
        tokio::spawn(connection);
        client
    } else {
        let (client, connection) = config.connect(tls_connector()?).await.map_err(fail)?;
        tokio::spawn(connection);
        client
    };
    Ok(client)
}

/// The connection settings of `url` for itsor's own connections: the URL's, with
/// [`CONNECT_TIMEOUT`] unless it sets one, `application_name`, and one more server
/// `setting` (`name=value`) after the URL's own `options`.
fn client_config(url: &str, application_name: &str, setting: &str) -> anyhow::Result<tokio_postgres::Config> {
    let mut config = parse_url(url)?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let options = config.get_options().unwrap_or_default().to_owned();
    config.options(format!("{options} -c {setting}").trim());
    config.application_name(application_name);
    Ok(config)
}

/// Parses a `postgres://` URL; the error names neither the user nor the password.
pub fn parse_url(url: &str) -> anyhow::Result<tokio_postgres::Config> {
    url.trim()
        .parse::<tokio_postgres::Config>()
        .map_err(|_| anyhow::anyhow!("the PostgreSQL URL is malformed (expected postgresql://user:password@host[:port]/database[?sslmode=require])"))
}

/// `host:port/database` of `config`.
pub fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(PgHostName::Tcp(name)) => name.clone(),
        Some(PgHostName::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or("(default)"))
}

fn tls_connector() -> anyhow::Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A pool error as the guest sees it: the cause, without the URL.
fn pool_error(e: &deadpool_postgres::PoolError) -> String {
    match e {
        deadpool_postgres::PoolError::Backend(e) => format!("{e}"),
        deadpool_postgres::PoolError::Timeout(_) => "timed out connecting to PostgreSQL".to_owned(),
        other => other.to_string(),
    }
}

/// What a guest's `connection` resource holds: nothing (see the module documentation).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PgConnection;

/// The per-store half of the PostgreSQL host.
pub struct PostgresHost {
    pool: Option<PostgresPool>,
    connections: ResourceTable,
    deadline: Option<Instant>,
}

/// How long a statement may take when the store has no deadline (embedders).
const NO_DEADLINE: Duration = Duration::from_secs(30);

impl PostgresHost {
    /// A host for one store: `pool` is `None` when the deployment stores in SQLite, and
    /// every `open` then fails.
    pub fn new(pool: Option<PostgresPool>) -> PostgresHost {
        PostgresHost { pool, connections: ResourceTable::new(), deadline: None }
    }

    /// Abandons any statement still running at `deadline` (the request's).
    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
    }

    fn pool(&self, conn: &Resource<PgConnection>) -> Result<&PostgresPool, Error> {
        self.connections.get(conn).map_err(|_| Error::Other("invalid connection".into()))?;
        self.pool.as_ref().ok_or_else(|| Error::ConnectionFailed("no PostgreSQL database is configured".into()))
    }

    fn deadline(&self) -> Instant {
        self.deadline.unwrap_or_else(|| Instant::now() + NO_DEADLINE)
    }
}

impl Host for PostgresHost {}

impl HostConnection for PostgresHost {
    async fn open(&mut self, address: String) -> Result<Resource<PgConnection>, Error> {
        match &self.pool {
            Some(pool) if *pool.address == address => {}
            Some(_) => {
                return Err(Error::ConnectionFailed(
                    "address not allowed: only the configured database may be opened".into(),
                ));
            }
            None => return Err(Error::ConnectionFailed("no PostgreSQL database is configured".into())),
        }
        self.connections.push(PgConnection).map_err(|_| Error::Other("too many open connections".into()))
    }

    async fn query(
        &mut self,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<RowSet, Error> {
        let started = Instant::now();
        let result = self.run_query(conn, statement, params).await;
        crate::metrics::metrics().statement("postgres", started.elapsed(), result.is_ok());
        result
    }

    async fn execute(
        &mut self,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<u64, Error> {
        let started = Instant::now();
        let result = self.run_execute(conn, statement, params).await;
        crate::metrics::metrics().statement("postgres", started.elapsed(), result.is_ok());
        result
    }

    async fn drop(&mut self, conn: Resource<PgConnection>) -> wasmtime::Result<()> {
        // Dropping an unknown handle is the guest's bug, not a reason to trap the request.
        let _ = self.connections.delete(conn);
        Ok(())
    }
}

/// A statement ready to run: its checked-out connection, its prepared form, its
/// parameters and the deadline.
struct Ready {
    client: deadpool_postgres::Object,
    prepared: tokio_postgres::Statement,
    params: Vec<Param>,
    deadline: Instant,
}

/// Checks the statement and its parameters, checks a connection of `pool` out and prepares
/// the statement on it (from its cache, usually).
async fn ready(
    pool: PostgresPool,
    deadline: Instant,
    statement: &str,
    params: &[ParameterValue],
) -> Result<Ready, Error> {
    check_statement(statement)?;
    let params = to_sql_parameters(params)?;
    let client = pool.client(deadline).await?;
    let prepared = match within(deadline, client.prepare_cached(statement)).await {
        Ok(prepared) => prepared.map_err(query_failed)?,
        Err(late) => return abandon_if_late(client, Err(late)),
    };
    Ok(Ready { client, prepared, params, deadline })
}

impl PostgresHost {
    async fn run_query(
        &mut self,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<RowSet, Error> {
        let Ready { client, prepared, params, deadline } =
            ready(self.pool(&conn)?.clone(), self.deadline(), &statement, &params).await?;
        let rows = within(deadline, client.query(&prepared, &refs(&params))).await;
        let rows = abandon_if_late(client, rows)?.map_err(query_failed)?;
        let columns = prepared
            .columns()
            .iter()
            .map(|c| Column { name: c.name().to_owned(), data_type: data_type(c.type_()) })
            .collect();
        let mut bytes = 0usize;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let values = (0..row.len()).map(|i| db_value(row, i)).collect::<Result<Vec<_>, _>>()?;
            bytes += values.iter().map(value_bytes).sum::<usize>();
            if bytes > MAX_RESULT_BYTES {
                return Err(Error::QueryFailed(QueryError::Text(format!(
                    "query result exceeds limit of {MAX_RESULT_BYTES} bytes"
                ))));
            }
            out.push(values);
        }
        Ok(RowSet { columns, rows: out })
    }

    async fn run_execute(
        &mut self,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<u64, Error> {
        let Ready { client, prepared, params, deadline } =
            ready(self.pool(&conn)?.clone(), self.deadline(), &statement, &params).await?;
        let changed = within(deadline, client.execute(&prepared, &refs(&params))).await;
        abandon_if_late(client, changed)?.map_err(query_failed)
    }
}

/// `future`, or, once `deadline` passes, `connection-failed` (the database did not answer
/// in time: the caller answers `503`, as for a server that cannot be reached).
async fn within<F: std::future::Future>(deadline: Instant, future: F) -> Result<F::Output, Error> {
    tokio::time::timeout_at(deadline.into(), future).await.map_err(|_| Error::ConnectionFailed(ABANDONED.to_owned()))
}

/// The error of a statement abandoned at the deadline.
const ABANDONED: &str = "the database did not answer before the request's deadline; the statement was abandoned";

/// Passes `outcome` through; when the statement was abandoned (`Err`: the deadline, not a
/// database error, which is inside `Ok`), takes its connection out of
/// the pool (the server may still be running the statement, and the next statement on that
/// connection would wait behind it), so it closes instead of being reused.
fn abandon_if_late<T, E>(client: deadpool_postgres::Object, outcome: Result<T, E>) -> Result<T, E> {
    if outcome.is_err() {
        drop(deadpool_postgres::Object::take(client));
    }
    outcome
}

/// Refuses every command but [`ALLOWED_COMMANDS`], and `INTO` in a query (see the module
/// documentation).
pub fn check_statement(statement: &str) -> Result<(), Error> {
    let mut words = code_words(statement);
    let command = words.next().unwrap_or_default();
    let is_query = ["SELECT", "WITH", "VALUES"].iter().any(|q| command.eq_ignore_ascii_case(q));
    if is_query && words.any(|word| word.eq_ignore_ascii_case("INTO")) {
        return Err(Error::Other("SELECT ... INTO is not supported by this host (it creates a table)".to_owned()));
    }
    if ALLOWED_COMMANDS.iter().any(|allowed| command.eq_ignore_ascii_case(allowed)) {
        Ok(())
    } else {
        Err(Error::Other(format!(
            "{} statements are not supported by this host: only single SELECT, INSERT, UPDATE, DELETE, WITH and VALUES statements run (no transactions or session settings)",
            if command.is_empty() { "empty".to_owned() } else { command.to_ascii_uppercase() }
        )))
    }
}

type Param = Box<dyn ToSql + Send + Sync>;

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
}

fn to_sql_parameters(params: &[ParameterValue]) -> Result<Vec<Param>, Error> {
    params.iter().map(to_sql).collect::<Result<_, String>>().map_err(Error::BadParameter)
}

/// The Rust value a WIT parameter binds through, as in Spin: its type decides which
/// PostgreSQL types it may bind to (checked by tokio-postgres when the statement runs).
pub fn to_sql(value: &ParameterValue) -> Result<Param, String> {
    Ok(match value {
        ParameterValue::Boolean(v) => Box::new(*v),
        ParameterValue::Int8(v) => Box::new(*v),
        ParameterValue::Int16(v) => Box::new(*v),
        ParameterValue::Int32(v) => Box::new(*v),
        ParameterValue::Int64(v) => Box::new(*v),
        ParameterValue::Floating32(v) => Box::new(*v),
        ParameterValue::Floating64(v) => Box::new(*v),
        ParameterValue::Str(v) => Box::new(v.clone()),
        ParameterValue::Binary(v) => Box::new(v.clone()),
        ParameterValue::Date((y, m, d)) => Box::new(date(*y, *m, *d)?),
        ParameterValue::Time((h, mi, s, ns)) => Box::new(clock_time(*h, *mi, *s, *ns)?),
        ParameterValue::Datetime((y, m, d, h, mi, s, ns)) => {
            Box::new(time::PrimitiveDateTime::new(date(*y, *m, *d)?, clock_time(*h, *mi, *s, *ns)?))
        }
        ParameterValue::Timestamp(seconds) => Box::new(
            time::OffsetDateTime::from_unix_timestamp(*seconds).map_err(|e| format!("invalid timestamp: {e}"))?,
        ),
        ParameterValue::Uuid(v) => Box::new(uuid::Uuid::parse_str(v).map_err(|e| format!("invalid uuid: {e}"))?),
        ParameterValue::ArrayInt32(v) => Box::new(v.clone()),
        ParameterValue::ArrayInt64(v) => Box::new(v.clone()),
        ParameterValue::ArrayStr(v) => Box::new(v.clone()),
        ParameterValue::DbNull => Box::new(Null),
        ParameterValue::Jsonb(_)
        | ParameterValue::Decimal(_)
        | ParameterValue::RangeInt32(_)
        | ParameterValue::RangeInt64(_)
        | ParameterValue::RangeDecimal(_)
        | ParameterValue::ArrayDecimal(_)
        | ParameterValue::Interval(_) => return Err("this parameter type is not supported by this host".to_owned()),
    })
}

fn date(year: i32, month: u8, day: u8) -> Result<time::Date, String> {
    let month = time::Month::try_from(month).map_err(|e| format!("invalid date: {e}"))?;
    time::Date::from_calendar_date(year, month, day).map_err(|e| format!("invalid date: {e}"))
}

fn clock_time(hour: u8, minute: u8, second: u8, nanos: u32) -> Result<time::Time, String> {
    time::Time::from_hms_nano(hour, minute, second, nanos).map_err(|e| format!("invalid time: {e}"))
}

/// SQL NULL, bindable to a parameter of any type.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(&self, _: &Type, _: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// The WIT type of a column, as Spin names it.
pub fn data_type(ty: &Type) -> DbDataType {
    match *ty {
        Type::BOOL => DbDataType::Boolean,
        Type::BYTEA => DbDataType::Binary,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => DbDataType::Str,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::UUID => DbDataType::Uuid,
        Type::JSONB => DbDataType::Jsonb,
        Type::NUMERIC => DbDataType::Decimal,
        Type::INT4_ARRAY => DbDataType::ArrayInt32,
        Type::INT8_ARRAY => DbDataType::ArrayInt64,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => DbDataType::ArrayStr,
        Type::INTERVAL => DbDataType::Interval,
        ref other => DbDataType::Other(other.name().to_owned()),
    }
}

/// Column `index` of `row` as Spin reads it: through the Rust type of its PostgreSQL type,
/// so a `timestamptz` (read as a naive date-time) fails the query as it does under Spin.
/// Types the account logic never reads come back as their raw bytes (`unsupported`).
fn db_value(row: &tokio_postgres::Row, index: usize) -> Result<DbValue, Error> {
    fn get<'a, T: FromSql<'a>>(
        row: &'a tokio_postgres::Row,
        index: usize,
        wrap: impl Fn(T) -> DbValue,
    ) -> Result<DbValue, Error> {
        match row.try_get::<_, Option<T>>(index) {
            Ok(Some(v)) => Ok(wrap(v)),
            Ok(None) => Ok(DbValue::DbNull),
            Err(e) => Err(query_failed(e)),
        }
    }
    let ty = row.columns().get(index).map(|c| c.type_().clone()).unwrap_or(Type::UNKNOWN);
    match ty {
        Type::BOOL => get(row, index, DbValue::Boolean),
        Type::BYTEA => get(row, index, DbValue::Binary),
        Type::FLOAT4 => get(row, index, DbValue::Floating32),
        Type::FLOAT8 => get(row, index, DbValue::Floating64),
        Type::INT2 => get(row, index, DbValue::Int16),
        Type::INT4 => get(row, index, DbValue::Int32),
        Type::INT8 => get(row, index, DbValue::Int64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => get(row, index, DbValue::Str),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => get(row, index, |t: time::PrimitiveDateTime| {
            DbValue::Datetime((
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.nanosecond(),
            ))
        }),
        Type::DATE => get(row, index, |d: time::Date| DbValue::Date((d.year(), u8::from(d.month()), d.day()))),
        Type::TIME => {
            get(row, index, |t: time::Time| DbValue::Time((t.hour(), t.minute(), t.second(), t.nanosecond())))
        }
        Type::UUID => get(row, index, |u: uuid::Uuid| DbValue::Uuid(u.to_string())),
        Type::INT4_ARRAY => get(row, index, DbValue::ArrayInt32),
        Type::INT8_ARRAY => get(row, index, DbValue::ArrayInt64),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => get(row, index, DbValue::ArrayStr),
        _ => get(row, index, |Raw(bytes)| DbValue::Unsupported(bytes)),
    }
}

/// A column's raw bytes, whatever its type.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Raw, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Roughly what a value costs in the guest's memory.
fn value_bytes(value: &DbValue) -> usize {
    8 + match value {
        DbValue::Str(s) | DbValue::Uuid(s) | DbValue::Decimal(s) => s.len(),
        DbValue::Binary(b) | DbValue::Jsonb(b) | DbValue::Unsupported(b) => b.len(),
        DbValue::ArrayStr(v) => v.iter().map(|s| 8 + s.as_ref().map_or(0, String::len)).sum(),
        DbValue::ArrayInt32(v) => 4 * v.len(),
        DbValue::ArrayInt64(v) => 8 * v.len(),
        _ => 16,
    }
}

/// A tokio-postgres error as Spin reports it: a structured database error when the server
/// sent one, else the client's own (`Error { kind: Closed, .. }` for a broken connection).
pub fn query_failed(e: tokio_postgres::Error) -> Error {
    let as_text = format!("{e:?}");
    Error::QueryFailed(match e.as_db_error() {
        None => QueryError::Text(as_text),
        Some(db) => {
            let mut extras = Vec::new();
            let mut extra = |name: &str, value: Option<&str>| {
                if let Some(value) = value {
                    extras.push((name.to_owned(), value.to_owned()));
                }
            };
            extra("column", db.column());
            extra("constraint", db.constraint());
            extra("hint", db.hint());
            extra("table", db.table());
            extra("datatype", db.datatype());
            extra("schema", db.schema());
            QueryError::DbError(DbError {
                as_text,
                severity: db.severity().to_owned(),
                code: db.code().code().to_owned(),
                message: db.message().to_owned(),
                detail: db.detail().map(str::to_owned),
                extras,
            })
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn only_single_data_statements_run() {
        for ok in [
            "SELECT 1",
            "  select id FROM users",
            "-- why\nINSERT INTO t VALUES ($1)",
            "/* c */ UPDATE t SET a = 1",
            "DELETE FROM t",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "(SELECT 1)",
            "SELECT 'into' AS \"into\" -- into\n FROM t",
            "INSERT INTO t VALUES (1)",
        ] {
            assert!(check_statement(ok).is_ok(), "{ok}");
        }
        for refused in [
            "BEGIN",
            "begin; select 1",
            "START TRANSACTION",
            "SET statement_timeout = 0",
            "RESET ALL",
            "SAVEPOINT a",
            "COMMIT",
            "LISTEN x",
            "COPY users TO STDOUT",
            "CREATE TABLE x (a int)",
            "DROP TABLE users",
            "DISCARD ALL",
            "",
            "/* SELECT */",
            "-- SELECT",
            "SELECT * INTO copy FROM users",
            "with x as (select 1) select * into t from x",
        ] {
            assert!(matches!(check_statement(refused), Err(Error::Other(_))), "{refused}");
        }
    }

    #[test]
    fn parameters_bind_through_spins_rust_types() {
        // Each WIT case binds only to the PostgreSQL types its Rust type accepts.
        let binds = |value: ParameterValue, ty: &Type| {
            let param = to_sql(&value).unwrap();
            param.to_sql_checked(ty, &mut BytesMut::new()).is_ok()
        };
        assert!(binds(ParameterValue::Int64(1), &Type::INT8));
        assert!(!binds(ParameterValue::Int64(1), &Type::INT4));
        assert!(binds(ParameterValue::Str("a".into()), &Type::TEXT));
        assert!(binds(ParameterValue::Str("a".into()), &Type::VARCHAR));
        assert!(!binds(ParameterValue::Str("00000000-0000-0000-0000-000000000000".into()), &Type::UUID));
        assert!(!binds(ParameterValue::Str("2026-01-01 00:00:00".into()), &Type::TIMESTAMP));
        let uuid = ParameterValue::Uuid("6f1c0c3e-2b7a-4d4e-9a39-3f1f4f9a0b11".into());
        assert!(binds(uuid.clone(), &Type::UUID));
        assert!(!binds(uuid, &Type::TEXT));
        let datetime = ParameterValue::Datetime((2026, 1, 22, 10, 30, 0, 0));
        assert!(binds(datetime.clone(), &Type::TIMESTAMP));
        assert!(!binds(datetime, &Type::TIMESTAMPTZ));
        assert!(binds(ParameterValue::Boolean(true), &Type::BOOL));
        assert!(binds(ParameterValue::DbNull, &Type::UUID));
        assert!(to_sql(&ParameterValue::Uuid("not-a-uuid".into())).is_err());
        assert!(to_sql(&ParameterValue::Datetime((2026, 2, 30, 0, 0, 0, 0))).is_err());
        assert!(to_sql(&ParameterValue::Decimal("1.5".into())).is_err());
    }

    #[test]
    fn targets_name_host_port_and_database_only() {
        let config = parse_url("postgresql://ada:s3cret@db.example.com:6543/app?sslmode=require").unwrap();
        assert_eq!(describe(&config), "db.example.com:6543/app");
        let err = parse_url("postgresql://ada:s3cret@db.example.com:notaport/app").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn column_types_are_named_as_spin_names_them() {
        assert!(matches!(data_type(&Type::TIMESTAMPTZ), DbDataType::Datetime));
        assert!(matches!(data_type(&Type::INT8), DbDataType::Int64));
        assert!(matches!(data_type(&Type::INET), DbDataType::Other(name) if name == "inet"));
    }
}
