//! Running it in production: the host's probes, Prometheus metrics scraped with a real
//! exposition-format parser, JSON logs with request ids and nothing secret in them, and a
//! graceful drain on SIGTERM under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::db::{Backend, backend};
use crate::support::postgres::Cluster;
use crate::support::*;

const PASSWORD: &str = "correct horse battery";

/// Scrapes `/metrics` and parses it.
fn scrape(server: &Server) -> prometheus_parse::Scrape {
    let addr = server.metrics_addr();
    let resp = http::try_raw(addr, &get("/metrics").to_bytes(addr), false).expect("a metrics answer");
    assert_status(&resp, 200);
    assert!(resp.header("content-type").is_some_and(|t| t.contains("openmetrics-text")), "{}", resp.describe());
    prometheus_parse::Scrape::parse(resp.text().lines().map(|l| Ok(l.to_owned()))).expect("a valid exposition")
}

/// The sum of the samples named `name` whose labels include `labels`.
fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
            prometheus_parse::Value::Summary(_) => 0.0,
        })
        .sum()
}

#[test]
fn probes_are_answered_by_the_host_without_logging_at_info() {
    let server = Server::builder().env("RATE_LIMIT_AUTH_REQUESTS", "1").start();
    for _ in 0..5 {
        let live = server.send(get("/healthz"));
        assert_status(&live, 200);
        assert_eq!(live.json(), json!({ "status": "ok" }));
        let ready = server.send(get("/readyz"));
        assert_status(&ready, 200);
        assert_eq!(ready.json(), json!({ "status": "ready" }));
        assert!(ready.header("x-request-id").is_some());
    }
    let post = server.send(post("/healthz"));
    assert_error(&post, 405, "METHOD_NOT_ALLOWED");
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    // The component's own probe, for hosts (Spin) that answer none.
    for path in ["/api/auth/health", "/auth/health"] {
        let resp = server.send(get(path));
        assert_status(&resp, 200);
        assert_eq!(resp.json(), json!({ "status": "ok" }));
    }
    server.send(get("/auth/me"));
    server
        .log_line("the access line of /auth/me", |l| l.contains("route=\"/auth/me\"") || l.contains("route=/auth/me"));
    let (_, stderr) = server.output();
    assert!(!stderr.contains("healthz") && !stderr.contains("readyz"), "probes logged at info:\n{stderr}");
}

#[test]
fn readiness_follows_the_database_and_liveness_does_not() {
    let cluster = Cluster::start();
    let url = cluster.create_database().replace("postgres@", "postgres:pw-not-in-reasons@");
    let server = Server::builder().env("BACKEND_DATABASE_URL", &url).start();
    assert_status(&server.send(get("/readyz")), 200);
    cluster.stop();
    let started = Instant::now();
    let ready = server.send(get("/readyz"));
    assert!(started.elapsed() < Duration::from_secs(3), "readiness took {:?}", started.elapsed());
    assert_status(&ready, 503);
    assert_eq!(ready.json()["reason"], "database unreachable", "the cause stays in the log");
    server.log_line("the cause", |l| l.contains("not ready: the database does not answer"));
    let (stdout, stderr) = server.output();
    assert!(!format!("{stdout}{stderr}").contains("pw-not-in-reasons"), "{stderr}");
    assert_status(&server.send(get("/healthz")), 200);
    let health = server.send(get("/api/auth/health"));
    assert_error(&health, 503, "SERVICE_UNAVAILABLE");
    // The component's cause reaches the host's log, not the caller.
    server.log_line("the component's cause", |l| {
        l.contains("itsor::guest") && l.contains("SERVICE_UNAVAILABLE: Service unavailable: storage:")
    });
    cluster.resume();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.send(get("/readyz")).status != 200 {
        assert!(Instant::now() < deadline, "never ready again");
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn metrics_are_scraped_apart_and_count_requests_by_route_template() {
    let server = Server::builder().env("ITSOR_METRICS_ADDR", "127.0.0.1:0").env("ITSOR_MAX_CONCURRENT", "50").start();
    // Not on the public port.
    assert_error(&server.send(get("/metrics")), 404, "NOT_FOUND");
    let before = scrape(&server);
    assert_eq!(value(&before, "itsor_signups_total", &[]), 0.0);

    let user = server.signup_ok("ada@example.com", PASSWORD);
    let user_id = user["id"].as_str().expect("id").to_owned();
    let login = server.login_ok("ada@example.com", PASSWORD);
    assert_status(&server.login("ada@example.com", "a wrong password"), 401);
    assert_status(&server.login("nobody@example.com", "a wrong password"), 401);
    for _ in 0..3 {
        assert_status(&server.me_bearer(&login.token), 200);
    }
    let tasks = get(&format!("/api/{user_id}/tasks")).bearer(&login.token);
    assert_status(&server.send(tasks), 200);
    assert_status(&server.send(get(&format!("/auth/sessions/{}", login.sid())).bearer(&login.token)), 405);
    assert_status(&server.logout_bearer(&login.token), 204);

    let after = scrape(&server);
    assert_eq!(value(&after, "itsor_signups_total", &[]), 1.0);
    assert_eq!(value(&after, "itsor_logins_total", &[("outcome", "success")]), 1.0);
    // An unknown e-mail and a wrong password are one outcome.
    assert_eq!(value(&after, "itsor_logins_total", &[("outcome", "failure")]), 2.0);
    assert_eq!(value(&after, "itsor_sessions_revoked_total", &[]), 1.0);
    let me = [("route", "/auth/me"), ("method", "GET"), ("status", "200")];
    assert_eq!(value(&after, "itsor_http_requests_total", &me), 3.0);
    assert_eq!(value(&after, "itsor_http_requests_total", &[("route", "/api/:user_id/tasks"), ("status", "200")]), 1.0);
    assert_eq!(value(&after, "itsor_http_requests_total", &[("route", "unmatched"), ("status", "404")]), 1.0);
    assert!(value(&after, "itsor_http_request_duration_seconds_count", &[("route", "/auth/me")]) >= 3.0);
    assert!(value(&after, "itsor_guest_instantiation_seconds_count", &[]) >= 9.0);
    let db = match backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert!(
        value(&after, "itsor_db_statement_duration_seconds_count", &[("backend", db)]) >= 10.0,
        "statements on {db}"
    );
    assert_eq!(value(&after, "itsor_instances_max", &[]), 50.0);
    // The last request's permit may still be on its way back.
    assert!(value(&after, "itsor_instances_in_use", &[]) <= 1.0);
    assert!(value(&after, "itsor_process_start_time_seconds", &[]) > 1.7e9);
    assert!(after.samples.iter().any(|s| s.metric == "itsor_build_info"), "build info");
    for present in ["itsor_instance_slot_refusals_total", "itsor_guest_traps_total", "itsor_guest_deadline_kills_total"]
    {
        assert!(after.docs.contains_key(present.trim_end_matches("_total")), "{present} is documented");
    }
    // The account's login budget (5 attempts a window) runs out: 429s are counted apart.
    let statuses: Vec<u16> = (0..6).map(|_| server.login("ada@example.com", "a wrong password").status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2, "{statuses:?}");
    let limited = scrape(&server);
    assert_eq!(value(&limited, "itsor_rate_limited_total", &[("route", "/auth/token")]), 2.0);
    assert_eq!(value(&limited, "itsor_logins_total", &[("outcome", "rate_limited")]), 2.0);
    // Labels hold templates, never ids or addresses.
    let exposition = http::try_raw(server.metrics_addr(), &get("/metrics").to_bytes(server.metrics_addr()), false)
        .expect("scrape")
        .text();
    for secret in [user_id.as_str(), login.sid().as_str(), "ada@example.com", &login.token] {
        assert!(!exposition.contains(secret), "{secret} in the metrics");
    }
}

#[test]
fn json_logs_carry_request_ids_and_nothing_secret() {
    let server = Server::builder().env("ITSOR_LOG_FORMAT", "json").start();
    server.signup_ok("grace@example.com", PASSWORD);
    let login = server.login_ok("grace@example.com", PASSWORD);
    let me = server.send(get("/auth/me").bearer(&login.token).header("x-request-id", "trace-4f2a:1"));
    assert_status(&me, 200);
    assert_eq!(me.header("x-request-id"), Some("trace-4f2a:1"));
    let forged = server.send(get("/auth/me").cookie(COOKIE, &login.token).header("x-request-id", "bad id with spaces"));
    let generated = forged.header("x-request-id").expect("a request id").to_owned();
    assert!(generated.len() == 32 && generated.bytes().all(|b| b.is_ascii_hexdigit()), "{generated}");
    assert_status(&server.send(get(&format!("/auth/sessions/{}", login.sid())).bearer(&login.token)), 405);
    assert_status(&server.logout_cookie(&login.token), 204);
    server.log_line("the logout's access line", |l| l.contains("/auth/logout"));

    let (_, stderr) = server.output();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    for line in &lines {
        for field in ["timestamp", "level", "target"] {
            assert!(line.get(field).is_some(), "no {field}: {line}");
        }
        assert!(line["fields"]["message"].is_string(), "no message: {line}");
    }
    let access = lines
        .iter()
        .find(|l| l["fields"]["request_id"] == "trace-4f2a:1")
        .unwrap_or_else(|| panic!("no access line with the client's request id:\n{stderr}"));
    assert_eq!(access["fields"]["message"], "request");
    assert_eq!(access["fields"]["method"], "GET");
    assert_eq!(access["fields"]["route"], "/auth/me");
    assert_eq!(access["fields"]["status"], 200);
    assert!(access["fields"]["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{access}");
    assert!(lines.iter().any(|l| l["fields"]["request_id"] == generated.as_str()), "the generated id is logged");
    assert!(lines.iter().any(|l| l["fields"]["route"] == "/auth/sessions/:session_id"), "the template, not the path");
    for secret in [&login.token, PASSWORD, TEST_SECRET, "grace@example.com", &login.sid(), &login.sub()] {
        assert!(!stderr.contains(secret), "{secret:?} appears in the log:\n{stderr}");
    }
}

#[test]
fn sigterm_drains_no_accepted_request_fails_and_the_process_exits_0() {
    const DRAIN: Duration = Duration::from_secs(1);
    let mut server = Server::builder()
        .env("ITSOR_DRAIN_SECONDS", "1")
        .env("ITSOR_SHUTDOWN_SECONDS", "10")
        .env("RATE_LIMIT_AUTH_REQUESTS", "0")
        .env("RATE_LIMIT_LOGIN_FAILURES", "0")
        .start();
    server.signup_ok("ada@example.com", PASSWORD);
    let addr = server.addr();
    let stop = Arc::new(AtomicBool::new(false));
    // Each client logs in over and over (a login is tens of milliseconds of Argon2), one
    // connection per request, and records when each request started and how it ended.
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut outcomes = Vec::new();
                let login = post("/auth/token").json(&json!({ "email": "ada@example.com", "password": PASSWORD }));
                while !stop.load(Ordering::SeqCst) {
                    let started = Instant::now();
                    let outcome = match http::try_raw(addr, &login.to_bytes(addr), false) {
                        Ok(resp) if resp.status == 200 => Ok(()),
                        Ok(resp) => Err(resp.describe()),
                        Err(e) => Err(e),
                    };
                    let refused = outcome.as_ref().is_err_and(|e| e.starts_with("connect:"));
                    outcomes.push((started, outcome));
                    if refused {
                        thread::sleep(Duration::from_millis(20));
                    }
                }
                outcomes
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    server.terminate();
    thread::sleep(Duration::from_millis(200));
    // Draining: not ready, still serving.
    let ready = http::try_raw(addr, &get("/readyz").to_bytes(addr), false).expect("served while draining");
    assert_status(&ready, 503);
    assert_eq!(ready.json()["reason"], "shutting down");
    assert_status(&http::try_raw(addr, &get("/healthz").to_bytes(addr), false).expect("live while draining"), 200);
    let status = server.wait_exit(Duration::from_secs(15)).expect("the process exits");
    let took = signalled.elapsed();
    stop.store(true, Ordering::SeqCst);
    let outcomes: Vec<(Instant, Result<(), String>)> =
        clients.into_iter().flat_map(|c| c.join().expect("a client panicked")).collect();
    // Every request sent before the signal, or during the drain (well before the listener
    // closes), was answered 200; after that, a request may find the door closed.
    let must_succeed = |started: &Instant| *started < signalled + DRAIN - Duration::from_millis(200);
    let failed: Vec<&String> =
        outcomes.iter().filter(|(t, o)| must_succeed(t) && o.is_err()).filter_map(|(_, o)| o.as_ref().err()).collect();
    assert!(failed.is_empty(), "requests failed that were sent before the drain ended: {failed:?}");
    let before = outcomes.iter().filter(|(t, _)| *t < signalled).count();
    let during = outcomes.iter().filter(|(t, o)| *t >= signalled && must_succeed(t) && o.is_ok()).count();
    let refused = outcomes.iter().filter(|(_, o)| o.as_ref().is_err_and(|e| e.starts_with("connect:"))).count();
    eprintln!(
        "drain: {before} logins before SIGTERM and {during} during the drain, all 200; {refused} refused at connect after it; exit 0 after {took:?}"
    );
    assert!(status.success(), "exit status {status:?}");
    assert!(took >= DRAIN, "the process left before the drain delay: {took:?}");
    assert!(before > 0 && during > 0, "{before} before, {during} during");
    let (_, stderr) = server.output();
    assert!(stderr.lines().any(|l| l.contains("draining")), "{stderr}");
}

#[test]
fn traps_and_deadline_kills_are_counted() {
    let server = crate::limits::misbehaving().env("ITSOR_METRICS_ADDR", "127.0.0.1:0").start();
    assert_status(&server.send(get("/trap")), 500);
    assert_status(&server.send(get("/loop")), 503);
    assert_status(&server.send(get("/ok")), 200);
    let scraped = scrape(&server);
    assert_eq!(value(&scraped, "itsor_guest_traps_total", &[]), 1.0);
    assert_eq!(value(&scraped, "itsor_guest_deadline_kills_total", &[]), 1.0);
    assert_eq!(value(&scraped, "itsor_http_requests_total", &[("route", "unmatched"), ("status", "500")]), 1.0);
    // What the guest wrote (its panic message) is logged by the host, with the request id.
    server.log_line("the guest's panic message", |l| {
        l.contains("itsor::guest") && l.contains("the fixture traps on request") && l.contains("request_id")
    });
}
