//! Shared fixture and helpers: the [`Server`] process, a raw HTTP/1.1 client, JWT forging,
//! and assertions on the error contract.

pub mod api;
pub mod db;
pub mod http;
pub mod jwt;
pub mod postgres;
pub mod server;

#[allow(unused_imports)]
pub use api::{ApiUser, assert_forbidden, forbidden_body, keys_of};

#[allow(unused_imports)]
pub use http::{Request, Response, SetCookie, get, post};
pub use server::{Exit, Server, TEST_SECRET};

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The password most tests sign up with.
pub const PASSWORD: &str = "correct horse battery staple";

/// The default session cookie name.
pub const COOKIE: &str = "itsor_session";

/// Runs `request`, returning how long it took with its response.
pub fn timed(request: impl FnOnce() -> Response) -> (Duration, Response) {
    let started = Instant::now();
    let resp = request();
    (started.elapsed(), resp)
}

/// Asserts that `resp` is an error of the contract's shape: status `status`, a JSON body of
/// exactly `detail`, `error_code` and `status_code` (equal to the HTTP status), and for 401
/// a `WWW-Authenticate: Bearer` challenge. Returns the detail.
#[track_caller]
pub fn assert_error(resp: &Response, status: u16, code: &str) -> String {
    assert_eq!(resp.status, status, "expected {status} {code}, got {}", resp.describe());
    let detail = assert_error_shape(resp);
    let body = resp.json();
    assert_eq!(body["error_code"], code, "wrong error_code: {}", resp.describe());
    detail
}

/// Asserts the error body shape only (any 4xx/5xx status); returns the detail.
#[track_caller]
pub fn assert_error_shape(resp: &Response) -> String {
    assert!(resp.status >= 400, "expected an error status, got {}", resp.describe());
    let ct = resp.header("content-type").unwrap_or("");
    assert!(
        ct.to_ascii_lowercase().starts_with("application/json"),
        "error without a JSON content type: {}",
        resp.describe()
    );
    let body = resp.json();
    let obj = body.as_object().unwrap_or_else(|| panic!("error body is not an object: {}", resp.describe()));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    // The OAuth2 password-grant form's errors also carry RFC 6749's pair.
    if obj.contains_key("error") || obj.contains_key("error_description") {
        assert!(
            obj["error"].is_string() && obj["error_description"] == obj["detail"],
            "RFC 6749 members: {}",
            resp.describe()
        );
        keys.retain(|key| !matches!(*key, "error" | "error_description"));
    }
    keys.sort_unstable();
    assert_eq!(keys, ["detail", "error_code", "status_code"], "error body keys: {}", resp.describe());
    assert!(body["detail"].is_string(), "detail must be a string: {}", resp.describe());
    assert!(body["error_code"].is_string(), "error_code must be a string: {}", resp.describe());
    assert_eq!(body["status_code"], json!(resp.status), "status_code must equal the HTTP status: {}", resp.describe());
    if resp.status == 401 {
        let challenge = resp
            .header("www-authenticate")
            .unwrap_or_else(|| panic!("401 without WWW-Authenticate: {}", resp.describe()));
        assert!(
            challenge.trim().to_ascii_lowercase().starts_with("bearer"),
            "WWW-Authenticate must be a Bearer challenge: {}",
            resp.describe()
        );
    }
    if resp.status == 405 {
        assert!(resp.header("allow").is_some(), "405 without Allow: {}", resp.describe());
    }
    body["detail"].as_str().unwrap_or_default().to_owned()
}

/// Asserts a 422 `VALIDATION_ERROR` whose detail names `field`.
#[track_caller]
pub fn assert_validation(resp: &Response, field: &str) {
    let detail = assert_error(resp, 422, "VALIDATION_ERROR");
    assert!(detail.contains(field), "the detail {detail:?} should name the field {field:?}");
}

/// Asserts a 401 `INVALID_TOKEN` with the detail `Invalid token`.
#[track_caller]
pub fn assert_invalid_token(resp: &Response) {
    let detail = assert_error(resp, 401, "INVALID_TOKEN");
    assert_eq!(detail, "Invalid token");
}

/// Asserts a status, printing the response on failure.
#[track_caller]
pub fn assert_status(resp: &Response, status: u16) {
    assert_eq!(resp.status, status, "unexpected response: {}", resp.describe());
}

/// Asserts that a response to bad input is not a server error (and is a response at all).
#[track_caller]
pub fn assert_not_5xx(resp: &Response) {
    assert!(resp.status < 500, "bad input produced a server error: {}", resp.describe());
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Login {
    /// The access token from the body.
    pub token: String,
    /// The whole JSON body.
    pub body: Value,
    /// The session cookie the response set.
    pub cookie: SetCookie,
}

impl Login {
    /// The token's claims (not verified).
    pub fn claims(&self) -> Value {
        jwt::claims_of(&self.token)
    }

    /// The token's `sid` claim.
    pub fn sid(&self) -> String {
        self.claims()["sid"].as_str().expect("sid claim is a string").to_owned()
    }

    /// The token's `sub` claim.
    pub fn sub(&self) -> String {
        self.claims()["sub"].as_str().expect("sub claim is a string").to_owned()
    }
}

impl Server {
    /// `POST /auth/signup` with a JSON body.
    pub fn signup_json(&self, body: &Value) -> Response {
        self.send(post("/auth/signup").json(body))
    }

    /// `POST /auth/signup` with `{email, password}`.
    pub fn signup(&self, email: &str, password: &str) -> Response {
        self.signup_json(&json!({ "email": email, "password": password }))
    }

    /// Signs up and asserts `201`; returns the user.
    #[track_caller]
    pub fn signup_ok(&self, email: &str, password: &str) -> Value {
        let resp = self.signup(email, password);
        assert_status(&resp, 201);
        resp.json()
    }

    /// `POST /auth/token` with a JSON body `{email, password}`.
    pub fn login(&self, email: &str, password: &str) -> Response {
        self.send(post("/auth/token").json(&json!({ "email": email, "password": password })))
    }

    /// `POST /auth/token` with a form body `username=..&password=..`.
    pub fn login_form(&self, username: &str, password: &str) -> Response {
        self.send(post("/auth/token").form(&[("username", username), ("password", password)]))
    }

    /// Logs in (JSON) and asserts `200` with a token and a session cookie.
    #[track_caller]
    pub fn login_ok(&self, email: &str, password: &str) -> Login {
        let resp = self.login(email, password);
        assert_status(&resp, 200);
        login_of(&resp, COOKIE)
    }

    /// `GET /auth/me` with a bearer token.
    pub fn me_bearer(&self, token: &str) -> Response {
        self.send(get("/auth/me").bearer(token))
    }

    /// `GET /auth/me` with the default session cookie.
    pub fn me_cookie(&self, token: &str) -> Response {
        self.send(get("/auth/me").cookie(COOKIE, token))
    }

    /// `POST /auth/logout` with a bearer token (no body).
    pub fn logout_bearer(&self, token: &str) -> Response {
        self.send(post("/auth/logout").bearer(token))
    }

    /// `POST /auth/logout` with the default session cookie (no body).
    pub fn logout_cookie(&self, token: &str) -> Response {
        self.send(post("/auth/logout").cookie(COOKIE, token))
    }

    /// A cheap liveness check: `/auth/me` without credentials must still answer a JSON 401.
    #[track_caller]
    pub fn assert_alive(&self) {
        let resp = self.send(get("/auth/me"));
        assert_invalid_token(&resp);
    }

    /// Opens the server's SQLite file directly, for the SQLite-only modules; the others use
    /// [`Server::database`], which works on both backends.
    pub fn db(&self) -> rusqlite::Connection {
        let db::TestDatabase::Sqlite(path) = self.database() else {
            panic!("this test reads the SQLite file and cannot run with {}=postgres", db::BACKEND_VAR)
        };
        db::sqlite(&path)
    }
}

/// Extracts a [`Login`] from a `200` token response, checking the body and the cookie named
/// `cookie_name`.
#[track_caller]
pub fn login_of(resp: &Response, cookie_name: &str) -> Login {
    assert_status(resp, 200);
    let body = resp.json();
    let token =
        body["access_token"].as_str().unwrap_or_else(|| panic!("no access_token: {}", resp.describe())).to_owned();
    assert_eq!(token.split('.').count(), 3, "access_token is not a compact JWT: {token}");
    assert_eq!(body["token_type"], "bearer", "token_type: {}", resp.describe());
    assert!(body["expires_in"].is_u64(), "expires_in must be a whole number: {}", resp.describe());
    assert!(body["expires_at"].is_string(), "expires_at must be a string: {}", resp.describe());
    let cookies = resp.set_cookies();
    let cookie = cookies
        .iter()
        .find(|c| c.name == cookie_name)
        .unwrap_or_else(|| panic!("no {cookie_name} cookie set: {}", resp.describe()))
        .clone();
    Login { token, body, cookie }
}

/// Checks an RFC 3339 UTC timestamp of the contract's fixed form `YYYY-MM-DDTHH:MM:SSZ`
/// and returns it as Unix seconds.
#[track_caller]
pub fn rfc3339_utc(value: &Value) -> i64 {
    let s = value.as_str().unwrap_or_else(|| panic!("timestamp is not a string: {value}"));
    assert!(
        s.len() == 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T',
        "timestamp {s:?} is not of the form 2026-01-22T10:30:00Z"
    );
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("timestamp {s:?} does not parse as RFC 3339: {e}"))
        .unix_timestamp()
}

/// A time as a database stores it, as Unix seconds: SQLite's RFC 3339 text
/// (`2026-01-22T10:30:00Z`) or PostgreSQL's `timestamp` text (`2026-01-22 10:30:00`).
#[track_caller]
pub fn stored_time(text: &str) -> i64 {
    let iso = text.replacen(' ', "T", 1);
    let iso = if iso.ends_with('Z') { iso } else { format!("{iso}Z") };
    time::OffsetDateTime::parse(&iso, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("stored time {text:?} does not parse: {e}"))
        .unix_timestamp()
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

/// Checks a user object: exactly `id`, `email`, `name`, `created_at`, `updated_at`, a UUID
/// id, fixed-form UTC timestamps close to now, and no password material.
#[track_caller]
pub fn assert_user_shape(user: &Value) {
    let obj = user.as_object().unwrap_or_else(|| panic!("user is not an object: {user}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["created_at", "email", "id", "name", "updated_at"], "user keys: {user}");
    let id = user["id"].as_str().unwrap_or_else(|| panic!("id is not a string: {user}"));
    uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("id {id:?} is not a UUID: {e}"));
    assert!(user["email"].is_string(), "email: {user}");
    assert!(user["name"].is_string() || user["name"].is_null(), "name: {user}");
    for field in ["created_at", "updated_at"] {
        let t = rfc3339_utc(&user[field]);
        assert!((t - now()).abs() < 300, "{field} is not within five minutes of now: {user}");
    }
    let text = user.to_string().to_ascii_lowercase();
    assert!(!text.contains("password") && !text.contains("$argon2"), "user leaks password material: {user}");
}

/// Asserts that `resp` clears the cookie `name` (empty value, `Max-Age=0`, `Path=/`,
/// `HttpOnly`), and returns that `Set-Cookie`.
#[track_caller]
pub fn assert_cookie_cleared(resp: &Response, name: &str) -> SetCookie {
    let cookie = resp
        .set_cookies()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("the {name} cookie is not cleared: {}", resp.describe()));
    assert_eq!(cookie.value, "", "cleared cookie keeps a value: {}", cookie.raw);
    assert_eq!(cookie.attr("max-age"), Some("0"), "cleared cookie needs Max-Age=0: {}", cookie.raw);
    assert_eq!(cookie.attr("path"), Some("/"), "cleared cookie needs the same Path=/: {}", cookie.raw);
    assert!(cookie.has("httponly"), "cleared cookie keeps HttpOnly: {}", cookie.raw);
    cookie
}

/// Asserts that the process refused to start: non-zero exit, never listening, stderr naming
/// every one of `variables`, and none of `secrets` printed on stdout or stderr.
#[track_caller]
pub fn assert_refused_naming(exit: &Exit, variables: &[&str], secrets: &[&str]) {
    let context = format!("stdout:\n{}\nstderr:\n{}", exit.stdout, exit.stderr);
    assert!(!exit.started, "itsor started although it must refuse:\n{context}");
    let status = exit.status.unwrap_or_else(|| panic!("itsor neither started nor exited in time:\n{context}"));
    assert!(!status.success(), "itsor exited successfully ({status}) instead of refusing:\n{context}");
    for variable in variables {
        assert!(exit.stderr.contains(variable), "stderr must name {variable}:\n{context}");
    }
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(
            !exit.stderr.contains(secret) && !exit.stdout.contains(secret),
            "a secret value was printed:\n{context}"
        );
    }
}
