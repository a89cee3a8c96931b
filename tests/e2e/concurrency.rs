//! Races: many clients at once against one server.

use std::sync::{Arc, Barrier};
use std::thread;

use serde_json::json;

use crate::support::*;

#[test]
fn twenty_concurrent_signups_of_one_email() {
    const N: usize = 20;
    let server = Arc::new(Server::start());
    let barrier = Arc::new(Barrier::new(N));
    let handles: Vec<_> = (0..N)
        .map(|i| {
            let server = Arc::clone(&server);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                // Each contender has its own password, so the winner can be identified.
                let password = format!("password-of-thread-{i}");
                let body = json!({ "email": "race@example.com", "password": password });
                let request = post("/auth/signup").json(&body);
                barrier.wait();
                (password, server.send(request))
            })
        })
        .collect();
    let results: Vec<(String, Response)> =
        handles.into_iter().map(|h| h.join().expect("a signup thread panicked")).collect();

    for (_, resp) in &results {
        assert_not_5xx(resp);
    }
    let winners: Vec<&(String, Response)> = results.iter().filter(|(_, r)| r.status == 201).collect();
    let conflicts = results.iter().filter(|(_, r)| r.status == 409).count();
    let summary: Vec<u16> = results.iter().map(|(_, r)| r.status).collect();
    assert_eq!(winners.len(), 1, "exactly one sign-up must win: {summary:?}");
    assert_eq!(conflicts, N - 1, "every other sign-up must be a conflict: {summary:?}");
    for (_, resp) in results.iter().filter(|(_, r)| r.status == 409) {
        assert_error(resp, 409, "EMAIL_TAKEN");
    }

    // One row, and it holds the winner's password.
    let count = server.database().count("SELECT COUNT(*) FROM users WHERE email = 'race@example.com'", &[]);
    assert_eq!(count, 1);
    let (winner_password, winner) = winners[0];
    let login = server.login_ok("race@example.com", winner_password);
    assert_eq!(server.me_bearer(&login.token).json(), winner.json());
    let loser_password = &results.iter().find(|(_, r)| r.status == 409).expect("a loser").0;
    assert_error(&server.login("race@example.com", loser_password), 401, "INVALID_CREDENTIALS");
}

#[test]
fn concurrent_logins_get_distinct_working_sessions() {
    const N: usize = 10;
    // Every attempt on an account counts against its lock-out budget until it succeeds
    // (hardening::twenty_concurrent_wrong_passwords_...), so N at once need a budget of N.
    let server = Arc::new(Server::builder().env("RATE_LIMIT_LOGIN_FAILURES", &N.to_string()).start());
    let user = server.signup_ok("many@example.com", PASSWORD);
    let barrier = Arc::new(Barrier::new(N));
    let handles: Vec<_> = (0..N)
        .map(|_| {
            let server = Arc::clone(&server);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                server.login("many@example.com", PASSWORD)
            })
        })
        .collect();
    let logins: Vec<Login> =
        handles.into_iter().map(|h| login_of(&h.join().expect("a login thread panicked"), COOKIE)).collect();
    let mut sids: Vec<String> = logins.iter().map(Login::sid).collect();
    sids.sort();
    sids.dedup();
    assert_eq!(sids.len(), N, "every login opens its own session");
    for login in &logins {
        assert_eq!(server.me_bearer(&login.token).json(), user);
    }
}

#[test]
fn concurrent_mixed_traffic() {
    // Sign-ups, logins, lookups, logouts and bad requests interleaved from several threads.
    const THREADS: usize = 6;
    let server = Arc::new(Server::start());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let server = Arc::clone(&server);
            thread::spawn(move || {
                let email = format!("mixed{t}@example.com");
                server.signup_ok(&email, PASSWORD);
                for _ in 0..2 {
                    let login = server.login_ok(&email, PASSWORD);
                    assert_eq!(server.me_cookie(&login.token).json()["email"], email.as_str());
                    assert_error(
                        &server.send(post("/auth/signup").body(Some("application/json"), b"{".to_vec())),
                        400,
                        "INVALID_BODY",
                    );
                    assert_invalid_token(&server.me_bearer("garbage"));
                    assert_status(&server.logout_bearer(&login.token), 204);
                    assert_invalid_token(&server.me_bearer(&login.token));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a traffic thread panicked");
    }
    server.assert_alive();
}

#[test]
fn a_signup_whose_client_hangs_up_mid_hash_is_still_completed() {
    // A guest is never cut short between two writes by a departing client. The hash is
    // made slow (~0.5 s) so that the client surely hangs up while the guest is running.
    let server = Server::builder().env("PASSWORD_ITERATIONS", "24").start();
    let body = json!({ "email": "gone@example.com", "password": "password-of-a-ghost" });
    let bytes = post("/auth/signup").json(&body).to_bytes(server.addr());
    {
        let mut stream = std::net::TcpStream::connect(server.addr()).expect("connect");
        std::io::Write::write_all(&mut stream, &bytes).expect("send the sign-up");
        thread::sleep(std::time::Duration::from_millis(100));
    }
    // Failed logins count towards the lock-out (5): poll slowly.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let resp = server.login("gone@example.com", "password-of-a-ghost");
        if resp.status == 200 {
            break;
        }
        assert_eq!(resp.status, 401, "{}", resp.describe());
        assert!(std::time::Instant::now() < deadline, "the abandoned sign-up never completed");
        thread::sleep(std::time::Duration::from_secs(1));
    }
    let again = server.signup("gone@example.com", "password-of-a-ghost");
    assert_status(&again, 409);
    server.log_line("the abandoned request's access-log line", |line| {
        line.contains("request abandoned by the client") && line.contains("route=\"/auth/signup\"")
    });
}
