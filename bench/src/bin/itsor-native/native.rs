//! The native benchmark reference: the component's logic without Wasm.
//!
//! **This is not part of the product.** It exists so that `make bench` can say what the
//! sandbox costs: [`NativeApp`] runs the very same `itsor_http::handle` and `itsor-accounts`
//! code the component runs, compiled for the host, as an [`itsor::Handler`] behind the very
//! same HTTP stack ([`itsor::serve`]).
//!
//! # What is kept identical to the component path
//!
//! * **Way in and out.** The host's own: the connection cap, head limits, the client's
//!   address in `spin-client-addr`, `Host`, the body buffered with the same limit and timeout
//!   (so an oversized, slow or malformed body gets the very same `413`/`408`/`400`), and
//!   `nosniff`, `X-Request-Id` and the access line on every answer.
//! * **Wire mapping.** `itsor-http`'s own, as the component uses it: [`Request::from_wire`]
//!   (method, target, headers, the authority as `host`) and [`Response::framed`]. What
//!   remains here is what `wasi:http` itself does: the headers it never shows a guest, nor
//!   lets one send ([`DEFAULT_FORBIDDEN_HEADERS`]: `host`, `connection`, ...), are dropped
//!   from the request and refused in the response (the component then answers
//!   [`Response::unsendable`]); the authority is the URI's or else `Host`; an impossible
//!   status gets the host's `500`.
//! * **Settings.** Loaded for every request from the same [`ComponentVariables`] snapshot
//!   the Wasm host hands the component, through the same `Settings::load`.
//! * **Storage.** The calling thread's SQLite connection with itsor's pragmas, sandbox and
//!   statement cache ([`SqliteDatabase::with_connection`], shared with the Wasm host's
//!   `spin:sqlite`).
//!
//! # What differs, by design
//!
//! There is no sandbox: no instantiation, no linear memory, no epoch deadline (so no
//! request timeout), no memory cap, no instance-slot semaphore (so no `503`) and no probes.
//! The handler runs on the Tokio worker that accepted the request, so a password hash (tens
//! of milliseconds) holds that worker until it is done instead of yielding every epoch tick
//! as the guest does.

use std::sync::Arc;

use bytes::Bytes;
use http::header::HOST;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use itsor::{ComponentVariables, SqliteDatabase};
use itsor_accounts::config::{ConfigError, Settings};
use itsor_accounts::db::{DbError, Row, Value};
use itsor_http::{ApiError, Body, Platform, Request, Response};
use wasmtime_wasi_http::DEFAULT_FORBIDDEN_HEADERS;

/// Serves `itsor_http::handle` natively (see the module documentation).
#[derive(Debug, Clone)]
pub struct NativeApp {
    platform: NativePlatform,
}

impl NativeApp {
    /// A native server over `database`, with the component's `variables`.
    pub fn new(database: SqliteDatabase, variables: ComponentVariables) -> NativeApp {
        NativeApp { platform: NativePlatform { database, variables: Arc::new(variables) } }
    }
}

impl itsor::Handler for NativeApp {
    fn handle(&self, request: http::Request<Bytes>) -> http::Response<Bytes> {
        to_wire(itsor_http::handle(&from_wire(request), &self.platform))
    }
}

/// The native [`Platform`]: the component's variables and the thread's SQLite connection.
#[derive(Debug, Clone)]
pub struct NativePlatform {
    database: SqliteDatabase,
    variables: Arc<ComponentVariables>,
}

impl Platform for NativePlatform {
    type Database = ThreadDatabase;

    fn settings(&self) -> Result<Settings, ConfigError> {
        Settings::load(self.variables.as_ref())
    }

    fn database(&self) -> ThreadDatabase {
        ThreadDatabase(self.database.clone())
    }
}

/// `itsor-accounts`' storage seam on the calling thread's connection to a database.
#[derive(Debug, Clone)]
pub struct ThreadDatabase(SqliteDatabase);

impl itsor_accounts::db::Database for ThreadDatabase {
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.0.with_connection(|conn| conn.query(sql, params)).map_err(|e| DbError::failed(e.to_string()))?
    }
}

/// The adapter's request, as the component reads it from `wasi:http`.
fn from_wire(request: http::Request<Bytes>) -> Request {
    let (parts, body) = request.into_parts();
    let target = parts.uri.path_and_query().map(|target| target.as_str());
    let authority = match parts.uri.authority() {
        Some(authority) => Some(authority.as_str()),
        None => parts.headers.get(HOST).and_then(|host| host.to_str().ok()),
    };
    let headers = parts
        .headers
        .iter()
        .filter(|(name, _)| !DEFAULT_FORBIDDEN_HEADERS.contains(name))
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()));
    let mut read = Request::from_wire(parts.method.as_str(), target, headers, authority, Body::Unread);
    // As the component's adapter: only methods whose routes take a body read it.
    if Body::is_taken_by(&read.method) {
        read.body = Body::Complete(body.to_vec());
    }
    read
}

/// The adapter's response as hyper sends it, framed as the component frames it.
fn to_wire(response: Response) -> http::Response<Bytes> {
    if StatusCode::from_u16(response.status).is_err() {
        // The component cannot set such a status and answers nothing: the host's 500.
        return send(ApiError::internal().into_response().framed());
    }
    send(response.framed())
}

/// Sends a framed response; one with a field `wasi:http` refuses becomes the component's
/// [`Response::unsendable`].
fn send(response: Response) -> http::Response<Bytes> {
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for (name, value) in &response.headers {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(name), Ok(value)) if !DEFAULT_FORBIDDEN_HEADERS.contains(&name) => {
                headers.append(name, value);
            }
            _ => return send(Response::unsendable()),
        }
    }
    let mut out = http::Response::new(Bytes::from(response.body));
    *out.status_mut() = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *out.headers_mut() = headers;
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    fn request(uri: &str, headers: &[(&str, &str)]) -> http::Request<Bytes> {
        let mut builder = http::Request::builder().method("get").uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Bytes::from_static(b"ignored")).unwrap()
    }

    #[test]
    fn requests_look_as_the_component_sees_them() {
        let headers = [("Host", "h"), ("Connection", "keep-alive"), ("X-A", "1"), ("x-a", "2")];
        let request = from_wire(request("/auth/me?x=1?y", &headers));
        assert_eq!(request.method, "GET");
        assert_eq!((request.path.as_str(), request.query.as_deref()), ("/auth/me", Some("x=1?y")));
        let expected = [("x-a", &b"1"[..]), ("x-a", b"2"), ("host", b"h")].map(|(n, v)| (n.to_owned(), v.to_vec()));
        assert_eq!(request.headers, expected);
        assert_eq!(request.body, Body::Unread);
    }

    #[test]
    fn responses_carry_content_length_and_bad_ones_become_500() {
        let ok = to_wire(Response::json(200, &serde_json::json!({"a": 1})));
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["content-length"], "7");
        assert_eq!(ok.headers()["cache-control"], "no-store");
        assert_eq!(&ok.body()[..], br#"{"a":1}"#);

        let empty = to_wire(Response::empty(204));
        assert!(empty.headers().get("content-length").is_none());

        let forbidden = to_wire(Response::empty(204).with_header("connection", "close"));
        assert_eq!(forbidden.status(), 500);
        assert_eq!(forbidden.headers().get_all("content-length").iter().count(), 1);
        let bad_status = to_wire(Response::empty(1000));
        assert_eq!(bad_status.status(), 500);
    }

    #[test]
    fn the_thread_database_runs_statements() {
        use itsor_accounts::db::Database as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let database = SqliteDatabase::prepare(&path).unwrap();
        rusqlite::Connection::open(&path).unwrap().execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let db = ThreadDatabase(database);
        assert!(db.query("CREATE TABLE u (x INTEGER)", &[]).is_err(), "the sandbox applies");
        db.query("INSERT INTO t VALUES (?)", &[Value::Integer(7)]).unwrap();
        let rows = db.query("SELECT x FROM t", &[]).unwrap();
        assert_eq!(rows[0].integer(0).unwrap(), 7);
        assert!(db.query("SELEC", &[]).is_err());
    }
}
