//! The seed's variable names: `BETTER_AUTH_SECRET` (alias of `JWT_SECRET`), `DATABASE_URL`
//! (alias of `BACKEND_DATABASE_URL`), conflicts between an alias and its canonical name, and
//! `HOST`/`PORT` when no flags are given.

use std::net::{IpAddr, Ipv4Addr, TcpListener};

use serde_json::json;

use crate::support::*;

/// A secret for the alias tests, distinct from [`TEST_SECRET`] and the development secret.
const ALIAS_SECRET: &str = "better-auth-secret-7d41c2e9a0b35f86e1d7c4a2";

/// Asserts that `server` signs with `secret` and only with it: the issued token's signature
/// is the HMAC under `secret`, a token forged by the test with `secret` for the same session
/// is accepted, and the same claims under [`TEST_SECRET`] or the development secret are not.
#[track_caller]
fn assert_signs_with(server: &Server, secret: &str) {
    let user = server.api_user("alias@example.com");
    let (input, signature) = user.token.rsplit_once('.').expect("a compact JWT");
    assert_eq!(
        signature,
        jwt::b64(&jwt::hmac("HS256", secret.as_bytes(), input.as_bytes())),
        "the issued token is not signed with the configured secret"
    );

    let issued = jwt::claims_of(&user.token);
    let now = now();
    let claims = json!({
        "sub": issued["sub"], "sid": issued["sid"], "iss": "itsor",
        "iat": now, "exp": now + 600,
    });
    let forged = jwt::sign("HS256", secret.as_bytes(), &claims);
    let me = server.api_me_bearer(&forged);
    assert_status(&me, 200);
    assert_eq!(me.json()["id"], json!(user.id));

    for other in [TEST_SECRET, "dev-secret-change-me"] {
        let token = jwt::sign("HS256", other.as_bytes(), &claims);
        assert_invalid_token(&server.api_me_bearer(&token));
    }
}

#[test]
fn better_auth_secret_works_as_jwt_secret() {
    let server = Server::builder().unset("JWT_SECRET").env("BETTER_AUTH_SECRET", ALIAS_SECRET).start();
    assert_signs_with(&server, ALIAS_SECRET);
}

#[test]
fn better_auth_secret_from_dotenv_works_as_jwt_secret() {
    // The seed puts it in `backend/.env`; here, the working directory's `.env`.
    let server = Server::builder().unset("JWT_SECRET").dotenv(&format!("BETTER_AUTH_SECRET={ALIAS_SECRET}\n")).start();
    assert_signs_with(&server, ALIAS_SECRET);
}

#[test]
fn better_auth_secret_is_held_to_the_production_rules() {
    // Production refuses the default secret: starting proves the alias is the secret.
    let server = Server::builder()
        .env("BACKEND_ENV", "production")
        .unset("JWT_SECRET")
        .env("BETTER_AUTH_SECRET", ALIAS_SECRET)
        .start();
    let resp = server.api_signup_json(&json!({ "email": "prod@example.com", "password": PASSWORD }));
    assert_status(&resp, 201);
    let resp = server.api_signin("prod@example.com", PASSWORD);
    assert_status(&resp, 200);
    let token = resp.json()["token"].as_str().expect("token").to_owned();
    let (input, signature) = token.rsplit_once('.').expect("a compact JWT");
    assert_eq!(
        signature,
        jwt::b64(&jwt::hmac("HS256", ALIAS_SECRET.as_bytes(), input.as_bytes())),
        "the token is not signed with BETTER_AUTH_SECRET"
    );
    assert_status(&server.api_me_bearer(&token), 200);
    let (stdout, stderr) = server.output();
    assert!(!stdout.contains(ALIAS_SECRET) && !stderr.contains(ALIAS_SECRET), "the secret was printed");

    // A short one is refused, naming the secret variable without printing the value.
    let exit = Server::builder()
        .env("BACKEND_ENV", "production")
        .unset("JWT_SECRET")
        .env("BETTER_AUTH_SECRET", "too-short-secret")
        .run_expecting_exit();
    assert_refused_naming(&exit, &["SECRET"], &["too-short-secret"]);
}

#[test]
fn database_url_works_as_backend_database_url() {
    let elsewhere = tempfile::Builder::new().prefix("itsor-e2e-dburl-").tempdir().expect("a temp dir");
    let file = elsewhere.path().join("from-database-url.db");
    let server = Server::builder()
        .unset("BACKEND_DATABASE_URL")
        .env("DATABASE_URL", &format!("sqlite:///{}", file.display()))
        .start();
    let user = server.api_user("db@example.com");

    assert!(file.is_file(), "no database at {} (DATABASE_URL)", file.display());
    let conn = rusqlite::Connection::open(&file).expect("open the DATABASE_URL file");
    let stored: String = conn
        .query_row("SELECT id FROM users WHERE email = ?1", ["db@example.com"], |r| r.get(0))
        .expect("the user is stored where DATABASE_URL says");
    assert_eq!(stored, user.id);
    assert!(!server.db_path().exists(), "the fixture's default file {} must not be used", server.db_path().display());
    let workdir = server.db_path().parent().expect("a directory").to_owned();
    assert!(!workdir.join("backend/itsor.db").exists(), "the built-in default database must not be used");
}

#[test]
fn relative_database_url_is_relative_to_the_working_directory() {
    let server =
        Server::builder().unset("BACKEND_DATABASE_URL").env("DATABASE_URL", "sqlite:///./relative-alias.db").start();
    server.api_user("rel@example.com");
    let workdir = server.db_path().parent().expect("a directory").to_owned();
    assert!(workdir.join("relative-alias.db").is_file(), "no database at ./relative-alias.db in {}", workdir.display());
}

#[test]
fn conflicting_secrets_refuse_to_start_naming_both() {
    let exit =
        Server::builder().env("JWT_SECRET", TEST_SECRET).env("BETTER_AUTH_SECRET", ALIAS_SECRET).run_expecting_exit();
    assert_refused_naming(&exit, &["JWT_SECRET", "BETTER_AUTH_SECRET"], &[TEST_SECRET, ALIAS_SECRET]);
}

#[test]
fn conflicting_database_urls_refuse_to_start_naming_both() {
    // The fixture sets BACKEND_DATABASE_URL to its own file.
    let exit = Server::builder().env("DATABASE_URL", "sqlite:///./somewhere-else.db").run_expecting_exit();
    assert_refused_naming(&exit, &["BACKEND_DATABASE_URL", "DATABASE_URL"], &[TEST_SECRET]);
}

#[test]
fn same_value_under_both_names_starts() {
    let elsewhere = tempfile::Builder::new().prefix("itsor-e2e-same-").tempdir().expect("a temp dir");
    let file = elsewhere.path().join("same.db");
    let url = format!("sqlite:///{}", file.display());
    let server = Server::builder()
        .env("JWT_SECRET", ALIAS_SECRET)
        .env("BETTER_AUTH_SECRET", ALIAS_SECRET)
        .env("BACKEND_DATABASE_URL", &url)
        .env("DATABASE_URL", &url)
        .start();
    assert_signs_with(&server, ALIAS_SECRET);
    assert!(file.is_file(), "no database at {}", file.display());
}

/// A port that was free a moment ago on `ip`.
fn free_port(ip: Ipv4Addr) -> u16 {
    TcpListener::bind((ip, 0)).expect("bind an ephemeral port").local_addr().expect("local addr").port()
}

#[test]
fn host_and_port_env_are_honoured_without_flags() {
    // 127.0.0.2 is loopback on Linux and differs from the default host 127.0.0.1.
    let ip = Ipv4Addr::new(127, 0, 0, 2);
    let port = free_port(ip);
    let server =
        Server::builder().without_listen_flags().env("HOST", &ip.to_string()).env("PORT", &port.to_string()).start();
    assert_eq!(server.addr().ip(), IpAddr::V4(ip), "listens on HOST");
    assert_eq!(server.addr().port(), port, "listens on PORT");
    server.assert_alive();
    assert_status(&server.api_me_bearer(&server.api_user("hp@example.com").token), 200);
}

#[test]
fn flags_win_over_host_and_port_env() {
    let ip = Ipv4Addr::new(127, 0, 0, 2);
    let port = free_port(ip);
    // The fixture passes --port 0 --host 127.0.0.1.
    let server = Server::builder().env("HOST", &ip.to_string()).env("PORT", &port.to_string()).start();
    assert_eq!(server.addr().ip(), IpAddr::V4(Ipv4Addr::LOCALHOST), "--host wins");
    assert_ne!(server.addr().port(), port, "--port 0 wins");
    server.assert_alive();
}
