//! The native benchmark reference: the component's logic without Wasm.
//!
//! **This is not part of the product.** It exists so that `make bench` can say what the
//! sandbox costs: [`NativeApp`] runs the very same `itsor_http::handle` and `itsor-accounts`
//! code the component runs, compiled for the host, behind the very same HTTP stack
//! ([`crate::server::serve`] is generic over [`Handler`]). The `itsor-native` binary serves
//! it; `docs/BENCHMARKS.md` compares the two.
//!
//! # What is kept identical to the component path
//!
//! * **Request.** The client-sent `spin-client-addr` header is replaced by the socket's peer
//!   address ([`set_client_addr`]); the body is buffered by the Wasm host's own
//!   [`buffer_body`] with the same [`MAX_BODY_BYTES`] and body timeout, so an oversized,
//!   slow or malformed body gets the very same `413`/`408`/`400`; the headers `wasi:http`
//!   never shows a guest ([`DEFAULT_FORBIDDEN_HEADERS`]: `host`, `connection`, ...) are
//!   dropped; the method is upper-cased and the target split at the first `?`, as the
//!   component does.
//! * **Settings.** Loaded for every request from the same [`ComponentVariables`] snapshot
//!   the Wasm host hands the component, through the same `Settings::load`.
//! * **Storage.** The calling thread's SQLite connection with itsor's pragmas and statement
//!   cache ([`Database::with_connection`], shared with the Wasm host's `spin:sqlite`).
//! * **Response.** Status, headers and body as `itsor_http` produced them, plus
//!   `content-length` for a non-empty body, exactly as the component writes them; headers
//!   `wasi:http` would refuse, or an impossible status, become the same `500`s.
//! * **Logging.** One `info` line per request, like [`crate::server::App`].
//!
//! # What differs, by design
//!
//! There is no sandbox: no instantiation, no linear memory, no epoch deadline (so no
//! request timeout), no memory cap, and no instance-slot semaphore (so no `503`). The
//! handler runs on the Tokio worker that accepted the request, so a password hash (tens of
//! milliseconds) holds that worker until it is done instead of yielding every epoch tick
//! as the guest does.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use itsor_accounts::config::{ConfigError, Settings};
use itsor_accounts::db::{DbError, Row, Value};
use itsor_http::{Body, MAX_BODY_BYTES, Platform};
use wasmtime_wasi_http::DEFAULT_FORBIDDEN_HEADERS;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::config::{ComponentVariables, Limits};
use crate::server::{Handler, buffer_body, internal_error, set_client_addr};
use crate::sqlite::Database;

/// Serves `itsor_http::handle` natively (see the module documentation).
#[derive(Debug, Clone)]
pub struct NativeApp {
    platform: NativePlatform,
    body_timeout: Duration,
}

impl NativeApp {
    /// A native server over `database`, with the component's `variables` and the Wasm
    /// host's body timeout from `limits`.
    pub fn new(database: Database, variables: ComponentVariables, limits: &Limits) -> NativeApp {
        NativeApp {
            platform: NativePlatform { database, variables: Arc::new(variables) },
            body_timeout: limits.body_timeout,
        }
    }

    /// Answers one request; never fails.
    async fn answer(self: Arc<Self>, peer: SocketAddr, mut req: Request<Incoming>) -> Response<HyperOutgoingBody> {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        set_client_addr(req.headers_mut(), peer);
        let response = match buffer_body(req, MAX_BODY_BYTES, self.body_timeout).await {
            Err(rejection) => rejection.into_response(),
            Ok(req) => {
                let (parts, body) = req.into_parts();
                // As the component's adapter: only methods whose routes take a body read it.
                let body = if Body::is_taken_by(parts.method.as_str()) {
                    Body::Complete(body.to_bytes().to_vec())
                } else {
                    Body::Unread
                };
                to_response(itsor_http::handle(&to_request(&parts, body), &self.platform))
            }
        };
        tracing::info!(
            %method,
            %path,
            status = response.status().as_u16(),
            duration = ?started.elapsed(),
            "request"
        );
        response
    }
}

impl Handler for NativeApp {
    type Body = HyperOutgoingBody;

    fn handle(
        self: Arc<Self>,
        peer: SocketAddr,
        _local: SocketAddr,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<HyperOutgoingBody>> + Send {
        self.answer(peer, req)
    }
}

/// The native [`Platform`]: the component's variables and the thread's SQLite connection.
#[derive(Debug, Clone)]
pub struct NativePlatform {
    database: Database,
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

/// `itsor-accounts`' storage seam on the calling thread's connection to a [`Database`].
#[derive(Debug, Clone)]
pub struct ThreadDatabase(Database);

impl itsor_accounts::db::Database for ThreadDatabase {
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.0.with_connection(|conn| conn.query(sql, params)).map_err(|e| DbError::failed(e.to_string()))?
    }
}

/// The adapter's request, as the component builds it from `wasi:http`.
fn to_request(parts: &http::request::Parts, body: Body) -> itsor_http::Request {
    let target = parts.uri.path_and_query().map_or("/", |target| target.as_str());
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target.to_owned(), None),
    };
    let headers = parts
        .headers
        .iter()
        .filter(|(name, _)| !DEFAULT_FORBIDDEN_HEADERS.contains(name))
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    itsor_http::Request { method: parts.method.as_str().to_ascii_uppercase(), path, query, headers, body }
}

/// The adapter's response as hyper sends it, with `content-length` as the component sets it.
fn to_response(response: itsor_http::Response) -> Response<HyperOutgoingBody> {
    let Ok(status) = StatusCode::from_u16(response.status) else {
        // The component cannot set such a status and answers nothing: the host's 500.
        return internal_error();
    };
    let content_length = (!response.body.is_empty()).then(|| response.body.len().to_string());
    let fields = response
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .chain(content_length.as_deref().map(|len| ("content-length", len)));
    let mut headers = HeaderMap::with_capacity(response.headers.len() + 1);
    for (name, value) in fields {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(name), Ok(value)) if !DEFAULT_FORBIDDEN_HEADERS.contains(&name) => {
                headers.append(name, value);
            }
            // `wasi:http` refuses such fields; the component then answers a generic 500.
            _ => return to_response(internal_response()),
        }
    }
    let mut out = Response::new(full(response.body));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}

/// The component's answer when its own response cannot be sent.
fn internal_response() -> itsor_http::Response {
    itsor_http::ApiError::from(itsor_accounts::AuthError::Internal(String::new())).into_response()
}

fn full(body: Vec<u8>) -> HyperOutgoingBody {
    Full::new(Bytes::from(body)).map_err(|never: Infallible| match never {}).boxed_unsync()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut builder = Request::builder().method("get").uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn requests_look_as_the_component_sees_them() {
        let parts = parts("/auth/me?x=1?y", &[("Host", "h"), ("Connection", "keep-alive"), ("X-A", "1"), ("x-a", "2")]);
        let request = to_request(&parts, Body::Complete(vec![]));
        assert_eq!(request.method, "GET");
        assert_eq!((request.path.as_str(), request.query.as_deref()), ("/auth/me", Some("x=1?y")));
        assert_eq!(request.headers, [("x-a".to_owned(), b"1".to_vec()), ("x-a".to_owned(), b"2".to_vec())]);
    }

    #[tokio::test]
    async fn responses_carry_content_length_and_bad_ones_become_500() {
        let ok = to_response(itsor_http::Response::json(200, &serde_json::json!({"a": 1})));
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["content-length"], "7");
        assert_eq!(ok.headers()["cache-control"], "no-store");
        let body = ok.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], br#"{"a":1}"#);

        let empty = to_response(itsor_http::Response::empty(204));
        assert!(empty.headers().get("content-length").is_none());

        let forbidden = to_response(itsor_http::Response::empty(204).with_header("connection", "close"));
        assert_eq!(forbidden.status(), 500);
        let bad_status = to_response(itsor_http::Response::empty(1000));
        assert_eq!(bad_status.status(), 500);
    }

    #[test]
    fn the_thread_database_runs_statements() {
        use itsor_accounts::db::Database as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let database = Database::prepare(&path).unwrap();
        crate::sqlite::open_connection(&path).unwrap().execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let db = ThreadDatabase(database);
        assert!(db.query("CREATE TABLE u (x INTEGER)", &[]).is_err(), "the sandbox applies");
        db.query("INSERT INTO t VALUES (?)", &[Value::Integer(7)]).unwrap();
        let rows = db.query("SELECT x FROM t", &[]).unwrap();
        assert_eq!(rows[0].integer(0).unwrap(), 7);
        assert!(db.query("SELEC", &[]).is_err());
    }
}
