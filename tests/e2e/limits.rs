//! Host limits: guests that trap, spin, sleep or exhaust their memory; a full instance
//! pool; oversized, slow and endless bodies; too many or too large headers; slow heads.
//!
//! The misbehaving guests come from the fixture component `itsor-misbehave`
//! (`tests/fixtures/misbehave`, built by `make fixtures`), served by the real binary
//! through `ITSOR_COMPONENT`; everything about bodies and headers is checked against the
//! real itsor component. Every limit is set short through the environment, so each test
//! takes a few seconds at most. After every abuse, the server must still answer normally.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::http::try_raw;
use crate::support::*;

/// Scheduling slack allowed on top of a deadline (the machine may be busy with other tests).
const SLACK: Duration = Duration::from_millis(1500);

/// The guest deadline of the fixture servers (`ITSOR_REQUEST_TIMEOUT_SECONDS`).
const GUEST_DEADLINE: Duration = Duration::from_secs(2);

/// How long a request waits for an instance slot before its `503` (`server::SLOT_WAIT`).
const SLOT_WAIT: Duration = Duration::from_secs(1);

/// `itsor_misbehave.wasm`, next to the itsor component the binary serves by default
/// (`$CARGO_TARGET_DIR/wasm32-wasip2/component/`).
pub(crate) fn misbehave_component() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_itsor"));
    let path = itsor::default_component_path(Some(exe)).with_file_name("itsor_misbehave.wasm");
    assert!(
        path.is_file(),
        "the fixture component is not built: {} is missing. Run `make fixtures` (or `cargo build -p itsor-misbehave --target wasm32-wasip2 --profile component`).",
        path.display()
    );
    path
}

/// A server running the misbehaving fixture with a short guest deadline.
pub(crate) fn misbehaving() -> crate::support::server::Builder {
    let component = misbehave_component();
    Server::builder()
        .env("ITSOR_COMPONENT", &component.to_string_lossy())
        .env("ITSOR_REQUEST_TIMEOUT_SECONDS", &GUEST_DEADLINE.as_secs().to_string())
}

/// `GET path` on a fresh connection, with the time the answer took.
fn timed_get(addr: SocketAddr, path: &str) -> (Result<Response, String>, Duration) {
    let started = Instant::now();
    let result = try_raw(addr, &get(path).to_bytes(addr), false);
    (result, started.elapsed())
}

/// `GET path` from another thread.
fn get_in_background(addr: SocketAddr, path: &'static str) -> thread::JoinHandle<(Result<Response, String>, Duration)> {
    thread::spawn(move || timed_get(addr, path))
}

#[track_caller]
fn answered(result: Result<Response, String>, what: &str) -> Response {
    result.unwrap_or_else(|e| panic!("no answer to {what}: {e}"))
}

/// `/ok` answers `200 ok`.
#[track_caller]
fn assert_ok(server: &Server) {
    let resp = server.send(get("/ok"));
    assert_status(&resp, 200);
    assert_eq!(resp.text(), "ok");
}

#[track_caller]
fn assert_within(elapsed: Duration, low: Duration, high: Duration, what: &str) {
    assert!(elapsed >= low && elapsed <= high, "{what} took {elapsed:?}, expected between {low:?} and {high:?}");
}

#[test]
fn a_trapping_guest_is_a_json_500_and_the_server_carries_on() {
    let server = misbehaving().start();
    assert_ok(&server);
    let resp = server.send(get("/trap"));
    let detail = assert_error(&resp, 500, "INTERNAL_ERROR");
    assert_eq!(detail, "Internal server error");
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert_ok(&server);
    // The trap is logged.
    server.log_line("the trap", |line| {
        line.contains("request failed in the component") && line.contains("route=\"unmatched\"")
    });
}

#[test]
fn a_spinning_guest_is_stopped_at_the_deadline_while_others_are_served() {
    let server = misbehaving().start();
    let addr = server.addr();
    let spinning = get_in_background(addr, "/loop");
    thread::sleep(Duration::from_millis(300));
    // The spinning guest yields every epoch tick: another request is served meanwhile.
    let (ok, ok_took) = timed_get(addr, "/ok");
    let ok = answered(ok, "/ok while /loop spins");
    assert_status(&ok, 200);
    assert!(ok_took < Duration::from_secs(1), "/ok took {ok_took:?} while /loop spun");
    assert!(!spinning.is_finished(), "/loop answered before its deadline");

    let (resp, took) = spinning.join().expect("the /loop thread");
    let resp = answered(resp, "/loop");
    assert_error(&resp, 503, "TIMEOUT");
    assert_within(took, GUEST_DEADLINE, GUEST_DEADLINE + SLACK, "/loop");
    assert_ok(&server);
}

#[test]
fn a_guest_blocked_in_a_host_call_is_stopped_too() {
    // `/sleep` waits on the clock, so no epoch check interrupts it: the host's own wait
    // for the response head (deadline + 1 s) does.
    let server = misbehaving().start();
    let (resp, took) = timed_get(server.addr(), "/sleep");
    assert_error(&answered(resp, "/sleep"), 503, "TIMEOUT");
    let grace = Duration::from_secs(1);
    assert_within(took, GUEST_DEADLINE, GUEST_DEADLINE + grace + SLACK, "/sleep");
    assert_ok(&server);
}

#[test]
fn a_guest_stalling_after_its_response_head_is_dropped_and_frees_its_slot() {
    let server = misbehaving().env("ITSOR_MAX_CONCURRENT", "1").start();
    let addr = server.addr();
    let started = Instant::now();
    let stalled = get_in_background(addr, "/sleep-after-head");
    thread::sleep(Duration::from_millis(300));
    // The guest holds the only slot while it stalls...
    assert_error(&server.send(get("/ok")), 503, "SERVICE_UNAVAILABLE");
    // ...until it is dropped, one second after its deadline: its body is cut short.
    let (result, took) = stalled.join().expect("the /sleep-after-head thread");
    assert!(result.is_err(), "a cut body must not parse as complete: {:?}", result.map(|r| r.describe()));
    let grace = Duration::from_secs(1);
    assert_within(took, GUEST_DEADLINE + grace, GUEST_DEADLINE + grace + SLACK, "the cut");
    assert!(started.elapsed() < GUEST_DEADLINE + grace + SLACK + Duration::from_millis(300));
    assert_ok(&server);
}

#[test]
fn a_guest_exhausting_its_memory_is_a_json_500() {
    let server = misbehaving().start();
    let (resp, took) = timed_get(server.addr(), "/oom");
    assert_error(&answered(resp, "/oom"), 500, "INTERNAL_ERROR");
    assert!(took < GUEST_DEADLINE, "/oom should fail on the memory cap, not the deadline ({took:?})");
    // Twice: the instance slot and its memory were given back.
    assert_error(&server.send(get("/oom")), 500, "INTERNAL_ERROR");
    assert_ok(&server);
}

#[test]
fn a_full_pool_answers_503_with_retry_after() {
    let deadline = Duration::from_secs(4);
    let server = misbehaving()
        .env("ITSOR_MAX_CONCURRENT", "1")
        .env("ITSOR_REQUEST_TIMEOUT_SECONDS", &deadline.as_secs().to_string())
        .start();
    let addr = server.addr();
    let spinning = get_in_background(addr, "/loop");
    thread::sleep(Duration::from_millis(500));

    let (resp, took) = timed_get(addr, "/ok");
    let resp = answered(resp, "/ok with the only slot taken");
    assert_error(&resp, 503, "SERVICE_UNAVAILABLE");
    assert_eq!(resp.header("retry-after"), Some("1"), "{}", resp.describe());
    assert_within(took, SLOT_WAIT, SLOT_WAIT + SLACK, "the wait for a slot");
    assert!(!spinning.is_finished(), "/loop answered before its deadline");

    let (resp, _) = spinning.join().expect("the /loop thread");
    assert_error(&answered(resp, "/loop"), 503, "TIMEOUT");
    // The slot is free again.
    assert_ok(&server);
}

#[test]
fn a_slow_client_holds_no_instance_slot() {
    let body_deadline = Duration::from_secs(3);
    let server = misbehaving()
        .env("ITSOR_MAX_CONCURRENT", "1")
        .env("ITSOR_BODY_TIMEOUT_SECONDS", &body_deadline.as_secs().to_string())
        .start();
    let addr = server.addr();
    let stalled = thread::spawn(move || {
        let head = format!(
            "POST /slow-body HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 100\r\n\r\nabcde"
        );
        let started = Instant::now();
        (try_raw(addr, head.as_bytes(), false), started.elapsed())
    });
    thread::sleep(Duration::from_millis(300));
    // The only slot is free: the stalled body is being waited for by the host, not a guest.
    let (ok, took) = timed_get(addr, "/ok");
    assert_status(&answered(ok, "/ok during a stalled body"), 200);
    assert!(took < SLOT_WAIT, "/ok waited {took:?} for a slot");

    let (resp, took) = stalled.join().expect("the stalled thread");
    let resp = answered(resp, "the stalled body");
    assert_error(&resp, 408, "REQUEST_TIMEOUT");
    assert_within(took, body_deadline, body_deadline + SLACK, "the 408");
    // A body that does arrive reaches the guest whole.
    let resp = server.send(post("/slow-body").body(Some("text/plain"), vec![b'x'; 100]));
    assert_status(&resp, 200);
    assert_eq!(resp.text(), "read 100 bytes");
}

#[test]
fn a_declared_oversize_body_is_refused_before_it_is_read() {
    let server = Server::start();
    let addr = server.addr();
    // Only the head is sent: an answer proves the host did not wait for the body.
    let head = format!(
        "POST /auth/signup HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        1 << 20
    );
    let started = Instant::now();
    let resp = answered(try_raw(addr, head.as_bytes(), false), "a 1 MiB Content-Length");
    let detail = assert_error(&resp, 413, "PAYLOAD_TOO_LARGE");
    assert_eq!(detail, "Request body is larger than 64 KiB");
    assert_eq!(resp.header("connection"), Some("close"), "{}", resp.describe());
    assert!(started.elapsed() < Duration::from_secs(2), "the 413 took {:?}", started.elapsed());
    server.assert_alive();
}

#[test]
fn a_chunked_body_growing_past_the_limit_is_refused_without_waiting_for_its_end() {
    let server = Server::start();
    let addr = server.addr();
    // 64 KiB + 1 KiB in chunks, and no final chunk: the host must answer as soon as the
    // limit is passed, not wait for the end of the body (or its deadline).
    let mut bytes = format!(
        "POST /auth/signup HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for size in [16 << 10, 16 << 10, 16 << 10, 16 << 10, 1 << 10] {
        bytes.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        bytes.extend(std::iter::repeat_n(b' ', size));
        bytes.extend_from_slice(b"\r\n");
    }
    let started = Instant::now();
    let resp = answered(try_raw(addr, &bytes, false), "an endless chunked body");
    assert_error(&resp, 413, "PAYLOAD_TOO_LARGE");
    assert!(started.elapsed() < Duration::from_secs(5), "the 413 took {:?}", started.elapsed());
    server.assert_alive();
}

#[test]
fn a_slow_body_is_answered_408_within_the_body_deadline() {
    let server = Server::builder().env("ITSOR_BODY_TIMEOUT_SECONDS", "1").start();
    let addr = server.addr();
    let head = format!(
        "POST /auth/signup HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"email\""
    );
    let started = Instant::now();
    let resp = answered(try_raw(addr, head.as_bytes(), false), "a stalled body");
    let took = started.elapsed();
    assert_error(&resp, 408, "REQUEST_TIMEOUT");
    assert_eq!(resp.header("connection"), Some("close"), "{}", resp.describe());
    assert_within(took, Duration::from_secs(1), Duration::from_secs(1) + SLACK, "the 408");
    // Nothing was created, and the server answers normally.
    server.signup_ok("after-slow-body@example.com", PASSWORD);
}

/// `GET /auth/me` with `extra` header lines (each `Name: value\r\n`) besides `Host` and
/// `Connection`.
fn me_with_headers(addr: SocketAddr, extra: &str) -> Vec<u8> {
    format!("GET /auth/me HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n").into_bytes()
}

#[test]
fn too_many_headers_are_431() {
    let server = Server::start();
    let addr = server.addr();
    let lines = |n: usize| (0..n).map(|i| format!("X-H{i}: v\r\n")).collect::<String>();
    // 64 headers in all (with Host and Connection) are fine.
    let resp = answered(try_raw(addr, &me_with_headers(addr, &lines(62)), false), "64 headers");
    assert_invalid_token(&resp);
    // 65 are not: hyper answers 431 itself (made JSON by the host) and closes.
    let resp = answered(try_raw(addr, &me_with_headers(addr, &lines(63)), false), "65 headers");
    assert_error(&resp, 431, "HEADERS_TOO_LARGE");
    server.assert_alive();
}

#[test]
fn too_large_a_head_is_431() {
    let server = Server::start();
    let addr = server.addr();
    let cookie = |len: usize| format!("Cookie: {COOKIE}={}\r\n", "a".repeat(len));
    // A 15 KiB head is read (and the junk cookie refused as a token).
    let resp = answered(try_raw(addr, &me_with_headers(addr, &cookie(15 << 10)), false), "a 15 KiB head");
    assert_invalid_token(&resp);
    // Past 16 KiB (request line and headers), hyper answers 431 and closes.
    let resp = answered(try_raw(addr, &me_with_headers(addr, &cookie(17 << 10)), false), "a 17 KiB head");
    assert_error(&resp, 431, "HEADERS_TOO_LARGE");
    server.assert_alive();
}

#[test]
fn a_slow_head_is_disconnected_after_the_header_deadline() {
    let server = Server::builder().env("ITSOR_HEADER_TIMEOUT_SECONDS", "1").start();
    let addr = server.addr();
    let partial = format!("GET /auth/me HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ");
    let started = Instant::now();
    let result = try_raw(addr, partial.as_bytes(), false);
    let took = started.elapsed();
    // No answer at all: the connection is closed.
    assert!(result.is_err(), "expected a closed connection, got {:?}", result.map(|r| r.describe()));
    assert_within(took, Duration::from_secs(1), Duration::from_secs(1) + SLACK, "the disconnection");
    server.assert_alive();
}

#[test]
fn bad_limits_refuse_to_start_naming_the_variable() {
    for (name, value) in [
        ("ITSOR_MAX_CONCURRENT", "0"),
        ("ITSOR_MAX_CONCURRENT", "100000"),
        ("ITSOR_REQUEST_TIMEOUT_SECONDS", "soon"),
        ("ITSOR_BODY_TIMEOUT_SECONDS", "0"),
        ("ITSOR_HEADER_TIMEOUT_SECONDS", "-1"),
    ] {
        let exit = Server::builder().env(name, value).run_expecting_exit();
        assert_refused_naming(&exit, &[name], &[]);
    }
}
