//! The second hardening round, one test (or more) per finding: the lock-out race,
//! look-alike e-mail addresses, `crit` headers, the SQLite sandbox, fail-safe start-up,
//! housekeeping and the connection cap, and the host's own answers (JSON, `nosniff`).

use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::limits::misbehaving;
use crate::support::http::try_raw;
use crate::support::*;

#[test]
fn twenty_concurrent_wrong_passwords_get_exactly_the_five_allowed_evaluations() {
    const N: usize = 20;
    let server = Arc::new(Server::start());
    server.signup_ok("locked@example.com", PASSWORD);
    let barrier = Arc::new(Barrier::new(N));
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let (server, barrier) = (Arc::clone(&server), Arc::clone(&barrier));
            thread::spawn(move || {
                let request = post("/auth/token")
                    .json(&json!({ "email": "locked@example.com", "password": format!("guess-number-{i}") }));
                barrier.wait();
                server.send(request).status
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().expect("a login thread panicked")).collect();
    let evaluated = statuses.iter().filter(|&&s| s == 401).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((evaluated, refused), (5, N - 5), "{statuses:?}");
    // The account stays locked for the right password too.
    assert_error(&server.login("locked@example.com", PASSWORD), 429, "RATE_LIMITED");
}

#[test]
fn look_alike_addresses_reach_the_one_account() {
    let server = Server::start();
    server.signup_ok("victim@example.com", PASSWORD);
    // Full-width letters map to ASCII: the same mailbox, so the same account.
    let full_width = "victim@\u{ff45}\u{ff58}\u{ff41}\u{ff4d}\u{ff50}\u{ff4c}\u{ff45}.com";
    assert_error(&server.signup(full_width, PASSWORD), 409, "EMAIL_TAKEN");
    assert_error(&server.signup("VICTIM@EXAMPLE.COM", PASSWORD), 409, "EMAIL_TAKEN");
    let token = server.login_ok(full_width, PASSWORD).token;
    assert_eq!(server.me_bearer(&token).json()["email"], "victim@example.com");
    // Invisible characters make no second account.
    for invisible in ["\u{200b}", "\u{202e}", "\u{ad}"] {
        let resp = server.signup(&format!("vic{invisible}tim@example.com"), PASSWORD);
        assert_validation(&resp, "email");
    }
    let accounts: i64 = server.db().query_row("SELECT count(*) FROM users", [], |r| r.get(0)).expect("counts");
    assert_eq!(accounts, 1);
}

#[test]
fn tokens_with_critical_extensions_are_refused() {
    let server = Server::start();
    server.signup_ok("crit@example.com", PASSWORD);
    let login = server.login_ok("crit@example.com", PASSWORD);
    let claims = login.claims();
    // Signed with the server's own secret: only the `crit` header differs.
    let plain = jwt::sign_with("HS256", TEST_SECRET.as_bytes(), &json!({ "alg": "HS256", "typ": "JWT" }), &claims);
    assert_status(&server.me_bearer(&plain), 200);
    let critical = json!({ "alg": "HS256", "typ": "JWT", "crit": ["exp"], "exp": 1 });
    let token = jwt::sign_with("HS256", TEST_SECRET.as_bytes(), &critical, &claims);
    assert_invalid_token(&server.me_bearer(&token));
}

/// `POST /sql` on the fixture: runs `statement` as the guest.
fn run_sql(server: &Server, statement: &str) -> Response {
    server.send(post("/sql").body(Some("text/plain"), statement.as_bytes().to_vec()))
}

#[test]
fn the_sqlite_provider_refuses_files_schema_changes_and_transactions() {
    let server = misbehaving().start();
    let elsewhere = tempfile::tempdir().expect("a directory");
    let attached = elsewhere.path().join("attached.db");
    let copied = elsewhere.path().join("copy.db");
    for statement in [
        format!("ATTACH DATABASE '{}' AS other", attached.display()),
        format!("VACUUM INTO '{}'", copied.display()),
        "PRAGMA journal_mode = DELETE".to_owned(),
        "CREATE TEMP TRIGGER spy AFTER INSERT ON users BEGIN SELECT 1; END".to_owned(),
        "CREATE TABLE loot (x)".to_owned(),
        "DROP TABLE sessions".to_owned(),
        "BEGIN".to_owned(),
        "SELECT sql FROM sqlite_schema".to_owned(),
        "DELETE FROM schema_migrations".to_owned(),
    ] {
        let resp = run_sql(&server, &statement);
        assert_status(&resp, 422);
        assert!(resp.text().contains("not authorized"), "{statement}: {}", resp.text());
    }
    assert!(!attached.exists() && !copied.exists(), "the guest wrote a file");
    // The application's tables are usable as before.
    assert_eq!(run_sql(&server, "SELECT id FROM users").text(), "rows 0");
    assert_eq!(run_sql(&server, "DELETE FROM rate_limits WHERE hits < 0").text(), "rows 0");
}

#[test]
fn the_sqlite_provider_caps_results_and_stops_statements_at_the_deadline() {
    let server = misbehaving().start();
    let huge =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 64) SELECT zeroblob(1048576) FROM n";
    let resp = run_sql(&server, huge);
    assert_status(&resp, 422);
    assert!(resp.text().contains("exceed"), "{}", resp.text());

    let endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";
    let started = Instant::now();
    let resp = run_sql(&server, endless);
    let took = started.elapsed();
    // The guest's deadline is 2 s (see limits.rs): the statement stops there, and the guest,
    // out of time too, is answered 503.
    assert_error(&resp, 503, "TIMEOUT");
    assert!(took < Duration::from_millis(3500), "took {took:?}");
    assert_eq!(run_sql(&server, "SELECT 1").text(), "rows 1");
}

#[test]
fn development_defaults_are_not_served_beyond_loopback() {
    let exit = Server::builder()
        .unset("BACKEND_ENV")
        .without_listen_flags()
        .env("HOST", "0.0.0.0")
        .env("PORT", "0")
        .run_expecting_exit();
    assert_refused_naming(&exit, &["BACKEND_ENV", "0.0.0.0"], &[TEST_SECRET]);
    // Chosen on purpose, it starts.
    let server = Server::builder()
        .env("BACKEND_ENV", "local")
        .without_listen_flags()
        .env("HOST", "0.0.0.0")
        .env("PORT", "0")
        .start();
    server.assert_alive();
}

#[test]
fn production_refuses_low_entropy_and_placeholder_secrets() {
    for secret in ["a".repeat(48), "your-secret-here-minimum-32-characters".to_owned()] {
        let exit = Server::builder().env("BACKEND_ENV", "production").env("JWT_SECRET", &secret).run_expecting_exit();
        assert_refused_naming(&exit, &["JWT_SECRET"], &[&secret]);
    }
    // `development` is not a development environment: the development secret is refused.
    let exit = Server::builder()
        .env("BACKEND_ENV", "development")
        .env("JWT_SECRET", "dev-secret-change-me")
        .run_expecting_exit();
    assert_refused_naming(&exit, &["JWT_SECRET"], &["dev-secret-change-me"]);
}

#[test]
fn argon2_memory_is_refused_at_start_unless_the_guest_can_hold_it() {
    let max = itsor_accounts::config::MAX_PASSWORD_MEMORY_KIB;
    let exit = Server::builder().env("PASSWORD_MEMORY_KIB", &(max + 1).to_string()).run_expecting_exit();
    assert_refused_naming(&exit, &["PASSWORD_MEMORY_KIB"], &[]);
    // The largest allowed cost works inside the 64 MiB guest.
    let server = Server::builder().env("PASSWORD_MEMORY_KIB", &max.to_string()).env("PASSWORD_ITERATIONS", "1").start();
    server.signup_ok("costly@example.com", PASSWORD);
    server.login_ok("costly@example.com", PASSWORD);
}

#[test]
fn logins_sweep_expired_sessions_and_rate_limit_windows() {
    let server = Server::start();
    let user = server.signup_ok("sweep@example.com", PASSWORD);
    let db = server.db();
    for i in 0..10 {
        db.execute(
            "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?1, ?2, '2000-01-01T00:00:00Z', '2000-01-01T01:00:00Z')",
            rusqlite::params![format!("expired-{i}"), user["id"].as_str()],
        )
        .expect("inserts");
        db.execute("INSERT INTO rate_limits (bucket, window_start, hits) VALUES (?1, 0, 3)", [format!("stale-{i}")])
            .expect("inserts");
    }
    let live = server.login_ok("sweep@example.com", PASSWORD);
    let left = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).expect("counts") };
    assert_eq!(left("SELECT count(*) FROM sessions WHERE id LIKE 'expired-%'"), 0);
    assert_eq!(left("SELECT count(*) FROM rate_limits WHERE window_start = 0"), 0);
    assert_status(&server.me_bearer(&live.token), 200);
}

#[test]
fn connections_over_the_cap_get_a_json_503_and_the_rest_carry_on() {
    let server = Server::builder().env("ITSOR_MAX_CONNECTIONS", "2").start();
    let addr = server.addr();
    let first = TcpStream::connect(addr).expect("connects");
    let second = TcpStream::connect(addr).expect("connects");
    thread::sleep(Duration::from_millis(200)); // both accepted
    let resp = try_raw(addr, &get("/auth/me").to_bytes(addr), false).expect("an answer");
    assert_error(&resp, 503, "TOO_MANY_CONNECTIONS");
    assert_eq!(resp.header("retry-after"), Some("1"));
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    drop(first);
    // Once the server has seen the close, a new connection is served again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let resp = try_raw(addr, &get("/auth/me").to_bytes(addr), false).expect("an answer");
        if resp.status != 503 {
            assert_invalid_token(&resp);
            break;
        }
        assert!(Instant::now() < deadline, "the freed connection slot was never reused");
        thread::sleep(Duration::from_millis(50));
    }
    drop(second);
}

#[test]
fn hyper_s_own_answers_are_json_and_every_answer_is_nosniff() {
    let server = Server::start();
    let addr = server.addr();
    let malformed = format!("GET /auth/me HTTP/1.1\r\nHost: {addr}\r\nNot a header\r\n\r\n");
    let resp = try_raw(addr, malformed.as_bytes(), false).expect("an answer");
    assert_error(&resp, 400, "MALFORMED_REQUEST");
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    let garbage = try_raw(addr, b"\x16\x03\x01 not http at all\r\n\r\n", false).expect("an answer");
    assert_error(&garbage, 400, "MALFORMED_REQUEST");
    for resp in [
        server.send(get("/auth/me")),
        server.send(get("/no/such/route")),
        server.signup("nosniff@example.com", PASSWORD),
        server.send(post("/auth/signup").body(Some("application/json"), vec![b' '; 70 * 1024])),
    ] {
        assert_eq!(resp.header("x-content-type-options"), Some("nosniff"), "{}", resp.describe());
    }
    server.assert_alive();
}
