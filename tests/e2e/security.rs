//! Hardening through the real host: rate limits (before hashing, shared, surviving
//! restarts), client addresses and trusted proxies, rehash on login, password change,
//! logout everywhere, the sessions list, cookie rules, audience. Enumeration by timing is
//! measured in [`crate::timing`].

use std::time::Duration;

use serde_json::json;

use crate::support::*;

fn wrong_login(server: &Server, email: &str) -> Response {
    server.login(email, "definitely-not-the-password")
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[test]
fn failed_logins_lock_the_account_before_any_hashing_and_survive_restarts() {
    let mut server = Server::builder().env("RATE_LIMIT_LOGIN_FAILURES", "3").start();
    server.signup_ok("locked@example.com", PASSWORD);
    let mut hashed = Vec::new();
    for _ in 0..3 {
        let (took, resp) = timed(|| wrong_login(&server, "locked@example.com"));
        assert_error(&resp, 401, "INVALID_CREDENTIALS");
        hashed.push(took);
    }
    let mut refused = Vec::new();
    for password in ["definitely-not-the-password", PASSWORD, PASSWORD] {
        let (took, resp) = timed(|| server.login("locked@example.com", password));
        assert_error(&resp, 429, "RATE_LIMITED");
        let retry: u32 = resp.header("retry-after").expect("Retry-After").parse().expect("seconds");
        assert!((1..=900).contains(&retry), "Retry-After {retry}");
        refused.push(took);
    }
    // Refusals cost no Argon2 work: far cheaper than a verification.
    assert!(median(refused.clone()) * 3 < median(hashed.clone()), "429s took {refused:?}, 401s {hashed:?}");
    // The counters live in the database: a restart does not reset them.
    server.restart();
    assert_error(&server.login("locked@example.com", PASSWORD), 429, "RATE_LIMITED");
    // Other accounts are unaffected.
    server.signup_ok("free@example.com", PASSWORD);
    server.login_ok("free@example.com", PASSWORD);
}

#[test]
fn auth_requests_are_limited_per_client_address_and_forwarded_for_is_ignored() {
    let server = Server::builder().env("RATE_LIMIT_AUTH_REQUESTS", "4").start();
    for n in 0..4 {
        server.signup_ok(&format!("user{n}@example.com"), PASSWORD);
    }
    // A spoofed X-Forwarded-For or spin-client-addr does not buy a fresh bucket.
    let spoofed = post("/auth/signup")
        .header("X-Forwarded-For", "203.0.113.77")
        .header("spin-client-addr", "203.0.113.78:1234")
        .json(&json!({ "email": "user5@example.com", "password": PASSWORD }));
    let resp = server.send(spoofed);
    assert_error(&resp, 429, "RATE_LIMITED");
    assert!(resp.header("retry-after").is_some());
    assert_error(&server.login("user0@example.com", PASSWORD), 429, "RATE_LIMITED");
    // Non-auth routes are not limited.
    assert_invalid_token(&server.me_bearer("x"));
}

#[test]
fn trusted_proxies_make_the_rightmost_untrusted_forwarded_address_the_client() {
    let server = Server::builder()
        .env("TRUSTED_PROXIES", "127.0.0.0/8, 10.0.0.0/8")
        .env("RATE_LIMIT_AUTH_REQUESTS", "2")
        .start();
    server.signup_ok("proxied@example.com", PASSWORD);
    let login_via = |forwarded: &str| {
        server.send(
            post("/auth/token")
                .header("X-Forwarded-For", forwarded)
                .header("User-Agent", "itsor-e2e/1.0")
                .json(&json!({ "email": "proxied@example.com", "password": PASSWORD })),
        )
    };
    let resp = login_via("198.51.100.1, 198.51.100.23, 10.1.2.3");
    let token = login_of(&resp, COOKIE).token;
    let sessions = server.send(get("/auth/sessions").bearer(&token)).json();
    assert_eq!(sessions[0]["client_addr"], "198.51.100.23", "{sessions}");
    assert_eq!(sessions[0]["user_agent"], "itsor-e2e/1.0");
    // Each real client has its own bucket (limit 2 per address).
    assert_status(&login_via("198.51.100.23"), 200);
    assert_error(&login_via("198.51.100.23"), 429, "RATE_LIMITED");
    assert_status(&login_via("198.51.100.99"), 200);
}

#[test]
fn the_host_sets_the_client_address_and_strips_spoofed_ones() {
    let server = Server::start();
    server.signup_ok("addr@example.com", PASSWORD);
    let resp = server.send(
        post("/auth/token")
            .header("spin-client-addr", "6.6.6.6:666")
            .header("X-Forwarded-For", "7.7.7.7")
            .json(&json!({ "email": "addr@example.com", "password": PASSWORD })),
    );
    let token = login_of(&resp, COOKIE).token;
    let sessions = server.send(get("/auth/sessions").bearer(&token)).json();
    assert_eq!(sessions[0]["client_addr"], "127.0.0.1", "{sessions}");
}

#[test]
fn login_rehashes_passwords_made_under_weaker_parameters() {
    let mut server = Server::builder().env("PASSWORD_MEMORY_KIB", "1024").env("PASSWORD_ITERATIONS", "1").start();
    server.signup_ok("rehash@example.com", PASSWORD);
    fn stored(server: &Server) -> String {
        server.db().query_row("SELECT password_hash FROM users", [], |r| r.get(0)).expect("hash")
    }
    let weak = stored(&server);
    assert!(weak.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{weak}");
    server.restart_with("PASSWORD_MEMORY_KIB", "19456");
    server.restart_with("PASSWORD_ITERATIONS", "2");
    server.login_ok("rehash@example.com", PASSWORD);
    let upgraded = stored(&server);
    assert!(upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{upgraded}");
    // The upgraded hash still verifies, and a wrong password still fails.
    server.login_ok("rehash@example.com", PASSWORD);
    assert_error(&wrong_login(&server, "rehash@example.com"), 401, "INVALID_CREDENTIALS");
}

#[test]
fn weak_password_costs_are_refused_in_production() {
    let exit =
        Server::builder().env("BACKEND_ENV", "production").env("PASSWORD_MEMORY_KIB", "1024").run_expecting_exit();
    assert_refused_naming(&exit, &["PASSWORD_MEMORY_KIB"], &[]);
}

#[test]
fn password_change_keeps_this_session_and_ends_the_others() {
    let server = Server::start();
    server.signup_ok("change@example.com", PASSWORD);
    let here = server.login_ok("change@example.com", PASSWORD);
    let there = server.login_ok("change@example.com", PASSWORD);
    let change = |current: &str, new: &str| {
        server.send(
            post("/auth/password")
                .bearer(&here.token)
                .json(&json!({ "current_password": current, "new_password": new })),
        )
    };
    assert_validation(&change("not-the-password", "new password 123"), "current_password");
    assert_validation(&change(PASSWORD, "short"), "new_password");
    assert_status(&change(PASSWORD, "new password 123"), 204);
    assert_status(&server.me_bearer(&here.token), 200);
    assert_invalid_token(&server.me_bearer(&there.token));
    assert_error(&server.login("change@example.com", PASSWORD), 401, "INVALID_CREDENTIALS");
    server.login_ok("change@example.com", "new password 123");
    // Without a session there is nothing to change.
    let anonymous = server.send(post("/auth/password").json(&json!({ "current_password": "x", "new_password": "y" })));
    assert_invalid_token(&anonymous);
}

#[test]
fn logout_all_ends_every_session_and_clears_the_cookie() {
    let server = Server::start();
    server.signup_ok("all@example.com", PASSWORD);
    let first = server.login_ok("all@example.com", PASSWORD);
    let second = server.login_ok("all@example.com", PASSWORD);
    let resp = server.send(post("/auth/logout-all").bearer(&first.token));
    assert_status(&resp, 204);
    assert_cookie_cleared(&resp, COOKIE);
    assert_invalid_token(&server.me_bearer(&first.token));
    assert_invalid_token(&server.me_bearer(&second.token));
    server.login_ok("all@example.com", PASSWORD);
}

#[test]
fn sessions_are_listed_and_revoked_one_by_one_for_their_owner_only() {
    let server = Server::start();
    server.signup_ok("owner@example.com", PASSWORD);
    server.signup_ok("stranger@example.com", PASSWORD);
    let phone = server.send(
        post("/auth/token")
            .header("User-Agent", "Phone/1.0")
            .json(&json!({ "email": "owner@example.com", "password": PASSWORD })),
    );
    let phone = login_of(&phone, COOKIE);
    let laptop = server.login_ok("owner@example.com", PASSWORD);
    let stranger = server.login_ok("stranger@example.com", PASSWORD);

    let listed = server.send(get("/auth/sessions").bearer(&laptop.token));
    assert_status(&listed, 200);
    let listed = listed.json();
    let sessions = listed.as_array().expect("a list");
    assert_eq!(sessions.len(), 2, "{listed}");
    for session in sessions {
        assert_eq!(keys_of(session), ["client_addr", "created_at", "current", "expires_at", "id", "user_agent"]);
        rfc3339_utc(&session["created_at"]);
        rfc3339_utc(&session["expires_at"]);
    }
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], laptop.sid());
    let phone_entry = sessions.iter().find(|s| s["id"] == phone.sid()).expect("the phone's session");
    assert_eq!(phone_entry["user_agent"], "Phone/1.0");

    // Someone else's session is not found; one's own is revoked.
    let path = format!("/auth/sessions/{}", phone.sid());
    assert_error(&server.send(Request::new("DELETE", &path).bearer(&stranger.token)), 404, "NOT_FOUND");
    assert_status(&server.me_bearer(&phone.token), 200);
    assert_status(&server.send(Request::new("DELETE", &path).bearer(&laptop.token)), 204);
    assert_invalid_token(&server.me_bearer(&phone.token));
    assert_error(&server.send(Request::new("DELETE", &path).bearer(&laptop.token)), 404, "NOT_FOUND");
    assert_invalid_token(&server.send(get("/auth/sessions")));
}

#[test]
fn samesite_none_without_secure_is_refused_at_start_up() {
    let exit = Server::builder().env("SESSION_COOKIE_SAMESITE", "none").run_expecting_exit();
    assert_refused_naming(&exit, &["SESSION_COOKIE_SAMESITE"], &[]);
}

#[test]
fn issuer_and_audience_are_written_and_required_when_set() {
    let server = Server::builder().env("JWT_ISSUER", "https://auth.example").env("JWT_AUDIENCE", "tasks-app").start();
    server.signup_ok("aud@example.com", PASSWORD);
    let login = server.login_ok("aud@example.com", PASSWORD);
    let claims = login.claims();
    assert_eq!((claims["iss"].clone(), claims["aud"].clone()), (json!("https://auth.example"), json!("tasks-app")));
    assert_status(&server.me_bearer(&login.token), 200);
    let mut forged = claims.clone();
    forged.as_object_mut().expect("object").remove("aud");
    assert_invalid_token(&server.me_bearer(&jwt::sign("HS256", TEST_SECRET.as_bytes(), &forged)));
    forged["aud"] = json!("another-app");
    assert_invalid_token(&server.me_bearer(&jwt::sign("HS256", TEST_SECRET.as_bytes(), &forged)));
}
