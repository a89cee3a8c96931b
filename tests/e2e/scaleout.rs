//! Several `itsor serve` processes on one PostgreSQL database, as behind a load balancer:
//! one account per e-mail across hosts, a logout seen by every host at once, one rate-limit
//! budget, concurrent start-ups migrating once, a host killed without losing acknowledged
//! sign-ups, and the database going away and coming back.
//!
//! These tests need PostgreSQL whatever `ITSOR_E2E_DATABASE` says: they create their own
//! databases (on the shared cluster, or on a private one they can stop).

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::db::TestDatabase;
use crate::support::postgres::{self, Cluster};
use crate::support::*;

/// `n` hosts sharing the database at `url`, started one after another, each with `env`.
fn hosts(url: &str, n: usize, env: &[(&str, &str)]) -> Vec<Server> {
    (0..n)
        .map(|_| env.iter().fold(Server::builder().env("BACKEND_DATABASE_URL", url), |b, (k, v)| b.env(k, v)).start())
        .collect()
}

fn summary(responses: &[Response]) -> Vec<u16> {
    responses.iter().map(|r| r.status).collect()
}

#[test]
fn racing_signups_of_one_email_over_three_hosts_create_one_account() {
    const N: usize = 40;
    let url = postgres::shared().create_database();
    let hosts = Arc::new(hosts(&url, 3, &[("RATE_LIMIT_AUTH_REQUESTS", "0")]));
    let barrier = Arc::new(Barrier::new(N));
    let results: Vec<(String, Response)> = (0..N)
        .map(|i| {
            let (hosts, barrier) = (Arc::clone(&hosts), Arc::clone(&barrier));
            thread::spawn(move || {
                let password = format!("password-of-racer-{i}");
                let request = post("/auth/signup").json(&json!({ "email": "race@example.com", "password": password }));
                barrier.wait();
                (password, hosts[i % hosts.len()].send(request))
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("a sign-up thread panicked"))
        .collect();
    let statuses: Vec<u16> = results.iter().map(|(_, r)| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "exactly one sign-up wins: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), N - 1, "all others conflict: {statuses:?}");
    let db = TestDatabase::Postgres(url);
    assert_eq!(db.count("SELECT COUNT(*) FROM users WHERE email = 'race@example.com'", &[]), 1);
    let (winner, _) = results.iter().find(|(_, r)| r.status == 201).expect("a winner");
    for host in hosts.iter() {
        host.login_ok("race@example.com", winner);
    }
}

#[test]
fn a_logout_on_one_host_ends_the_session_on_every_host() {
    // The test cluster trusts loopback, so any password works; it must never be printed.
    let url = postgres::shared().create_database().replace("postgres@", "postgres:pw-never-logged@");
    let hosts = hosts(&url, 3, &[]);
    hosts[0].signup_ok("ada@example.com", "correct horse battery");
    let login = hosts[1].login_ok("ada@example.com", "correct horse battery");
    for host in &hosts {
        assert_status(&host.me_bearer(&login.token), 200);
        assert_status(&host.me_cookie(&login.token), 200);
    }
    assert_status(&hosts[0].logout_bearer(&login.token), 204);
    for host in &hosts[1..] {
        assert_invalid_token(&host.me_bearer(&login.token));
        assert_invalid_token(&host.me_cookie(&login.token));
    }
    for host in &hosts {
        let (stdout, stderr) = host.output();
        assert!(!format!("{stdout}{stderr}").contains("pw-never-logged"), "the URL's password was printed:\n{stderr}");
        assert!(
            stderr.contains("database=postgresql://127.0.0.1:"),
            "the host names the database it serves:\n{stderr}"
        );
    }
}

#[test]
fn rate_limits_are_one_budget_across_hosts() {
    let url = postgres::shared().create_database();
    let hosts = hosts(&url, 3, &[("RATE_LIMIT_LOGIN_FAILURES", "5"), ("RATE_LIMIT_AUTH_REQUESTS", "0")]);
    hosts[0].signup_ok("ada@example.com", "correct horse battery");
    // Per account: five wrong passwords in all, whichever host takes them.
    let failures: Vec<Response> = (0..8).map(|i| hosts[i % 3].login("ada@example.com", "wrong password!")).collect();
    assert_eq!(summary(&failures), [401, 401, 401, 401, 401, 429, 429, 429]);
    assert!(failures[5].header("retry-after").is_some(), "{}", failures[5].describe());
    // The locked account stays locked on every host, even with the right password.
    for host in &hosts {
        assert_error(&host.login("ada@example.com", "correct horse battery"), 429, "RATE_LIMITED");
    }

    // Per client address: one budget of auth requests over all hosts.
    let url = postgres::shared().create_database();
    let hosts = self::hosts(&url, 3, &[("RATE_LIMIT_AUTH_REQUESTS", "6"), ("RATE_LIMIT_LOGIN_FAILURES", "0")]);
    let tries: Vec<Response> =
        (0..9).map(|i| hosts[i % 3].login(&format!("nobody{i}@example.com"), "whatever-password")).collect();
    assert_eq!(summary(&tries), [401, 401, 401, 401, 401, 401, 429, 429, 429]);
}

#[test]
fn ten_hosts_starting_at_once_on_an_empty_database_apply_each_migration_once() {
    const N: usize = 10;
    let url = postgres::shared().create_database();
    let barrier = Arc::new(Barrier::new(N));
    let hosts: Vec<Server> = (0..N)
        .map(|_| {
            let (url, barrier) = (url.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                let builder = Server::builder().env("BACKEND_DATABASE_URL", &url);
                barrier.wait();
                builder.start()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("a host failed to start"))
        .collect();
    let migrations = itsor::embedded_postgres();
    let applied: usize = hosts.iter().map(|h| h.output().1.matches("applied migration").count()).sum();
    assert_eq!(applied, migrations.len(), "each migration is applied by exactly one host");
    let db = TestDatabase::Postgres(url);
    let versions: Vec<String> = db
        .query("SELECT version FROM schema_migrations ORDER BY version", &[])
        .into_iter()
        .filter_map(|r| r[0].clone())
        .collect();
    assert_eq!(versions, migrations.iter().map(|m| m.version).collect::<Vec<_>>());
    for (i, host) in hosts.iter().enumerate() {
        host.signup_ok(&format!("user{i}@example.com"), "correct horse battery");
    }
}

#[test]
fn killing_a_host_mid_traffic_loses_no_acknowledged_signup() {
    const CLIENTS: usize = 6;
    const PER_CLIENT: usize = 12;
    let url = postgres::shared().create_database();
    let mut hosts = hosts(&url, 3, &[("RATE_LIMIT_AUTH_REQUESTS", "0")]);
    // Clients talk to the addresses, so the kill can land in the middle of their requests.
    let addrs: Arc<Vec<std::net::SocketAddr>> = Arc::new(hosts.iter().map(Server::addr).collect());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let addrs = Arc::clone(&addrs);
            thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for n in 0..PER_CLIENT {
                    let email = format!("c{c}-n{n}@example.com");
                    let addr = addrs[(c + n) % addrs.len()];
                    let request =
                        post("/auth/signup").json(&json!({ "email": email, "password": "correct horse battery" }));
                    if http::try_raw(addr, &request.to_bytes(addr), false).is_ok_and(|resp| resp.status == 201) {
                        acknowledged.push(email);
                    }
                }
                acknowledged
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    hosts[0].kill();
    let acknowledged: Vec<String> = clients.into_iter().flat_map(|c| c.join().expect("a client panicked")).collect();
    eprintln!(
        "kill: {} of {} sign-ups acknowledged, host A killed after 300 ms",
        acknowledged.len(),
        CLIENTS * PER_CLIENT
    );
    assert!(
        acknowledged.len() >= CLIENTS * PER_CLIENT * 2 / 3 - CLIENTS,
        "the survivors kept serving: {} acknowledged",
        acknowledged.len()
    );
    assert!(hosts[0].try_send(get("/auth/me")).is_err(), "host A is gone");
    let db = TestDatabase::Postgres(url);
    for email in &acknowledged {
        assert_eq!(
            db.count("SELECT COUNT(*) FROM users WHERE email = ?1", &[email]),
            1,
            "{email} was acknowledged and lost"
        );
        hosts[1].login_ok(email, "correct horse battery");
    }
}

#[test]
fn while_the_database_is_down_requests_get_503_and_every_host_recovers_without_a_restart() {
    let cluster = Cluster::start();
    let url = cluster.create_database();
    let timeout = 4;
    let hosts = hosts(&url, 2, &[("ITSOR_REQUEST_TIMEOUT_SECONDS", &timeout.to_string())]);
    hosts[0].signup_ok("ada@example.com", "correct horse battery");
    let login = hosts[1].login_ok("ada@example.com", "correct horse battery");

    cluster.stop();
    let mut slowest = Duration::ZERO;
    for host in &hosts {
        for request in [
            get("/auth/me").bearer(&login.token),
            post("/auth/token").json(&json!({ "email": "ada@example.com", "password": "correct horse battery" })),
            post("/auth/signup").json(&json!({ "email": "bob@example.com", "password": "correct horse battery" })),
        ] {
            let started = Instant::now();
            let resp = host.send(request);
            slowest = slowest.max(started.elapsed());
            assert!(started.elapsed() < Duration::from_secs(timeout + 1), "answered after {:?}", started.elapsed());
            assert_error(&resp, 503, "SERVICE_UNAVAILABLE");
            assert!(resp.header("retry-after").is_some_and(|s| s.parse::<u32>().is_ok()), "{}", resp.describe());
        }
    }

    eprintln!("outage: every request answered 503 within {slowest:?}");
    cluster.resume();
    let resumed = Instant::now();
    for host in &hosts {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let resp = host.send(get("/auth/me").bearer(&login.token));
            if resp.status == 200 {
                break;
            }
            assert_error(&resp, 503, "SERVICE_UNAVAILABLE");
            assert!(Instant::now() < deadline, "the host did not recover: {}", resp.describe());
            thread::sleep(Duration::from_millis(200));
        }
    }
    eprintln!("outage: both hosts served again {:?} after the server was back", resumed.elapsed());
    hosts[1].signup_ok("bob@example.com", "correct horse battery");
    hosts[0].login_ok("bob@example.com", "correct horse battery");
}

#[test]
fn a_host_opens_at_most_its_pool_size_of_connections_however_many_requests_run() {
    const LOGINS: usize = 12;
    let url = postgres::shared().create_database();
    let host = Arc::new(
        Server::builder()
            .env("BACKEND_DATABASE_URL", &url)
            .env("ITSOR_PG_POOL_SIZE", "2")
            .env("RATE_LIMIT_AUTH_REQUESTS", "0")
            .env("RATE_LIMIT_LOGIN_FAILURES", "0")
            .start(),
    );
    host.signup_ok("ada@example.com", "correct horse battery");
    let barrier = Arc::new(Barrier::new(LOGINS));
    let logins: Vec<_> = (0..LOGINS)
        .map(|_| {
            let (host, barrier) = (Arc::clone(&host), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                host.login("ada@example.com", "correct horse battery")
            })
        })
        .collect();
    let statuses: Vec<u16> = logins.into_iter().map(|h| h.join().expect("a login thread panicked").status).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let db = TestDatabase::Postgres(url);
    let open = db.count(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'itsor' AND datname = current_database()",
        &[],
    );
    assert!((1..=2).contains(&open), "{open} connections for a pool of 2");
}
