//! The Better Auth client protocol under `/api/auth`, request by request as the unmodified
//! `better-auth` 1.7 client sends it (the client itself drives the same flow in
//! `tests/browser`): the shapes it reads, its error codes, the cookie, preflights, and the
//! `__Secure-` cookie name Better Auth's `getSessionCookie()` looks for.

use serde_json::{Value, json};

use crate::support::http::{BROWSER_ORIGIN, Request, Response, get, post};
use crate::support::{COOKIE, PASSWORD, Server, assert_status};

/// Every Better Auth route with its method, as its client calls it.
const ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/api/auth/sign-up/email"),
    ("POST", "/api/auth/sign-in/email"),
    ("GET", "/api/auth/get-session"),
    ("POST", "/api/auth/sign-out"),
    ("POST", "/api/auth/change-password"),
    ("GET", "/api/auth/list-sessions"),
    ("POST", "/api/auth/revoke-session"),
    ("POST", "/api/auth/revoke-other-sessions"),
    ("POST", "/api/auth/revoke-sessions"),
];

/// A JSON `POST` from the allowed front-end origin, as the client sends it.
fn call(path: &str, body: Value) -> Request {
    post(path).header("Origin", BROWSER_ORIGIN).json(&body)
}

fn sign_up(server: &Server, email: &str) -> Response {
    server.send(call("/api/auth/sign-up/email", json!({ "email": email, "password": PASSWORD, "name": "Ada" })))
}

fn sign_in(server: &Server, email: &str, password: &str) -> Response {
    server.send(call("/api/auth/sign-in/email", json!({ "email": email, "password": password })))
}

/// The session token of a sign-up or sign-in, checked against its cookie.
fn token_of(resp: &Response) -> String {
    let token = resp.json()["token"].as_str().expect("a token").to_owned();
    let cookie = resp.set_cookies().into_iter().find(|c| c.name == COOKIE).expect("the session cookie");
    assert_eq!(cookie.value, token, "the cookie carries the token");
    token
}

/// Asserts a Better Auth error: the status, Better Auth's `code` and `message`, and
/// itsor's `detail`, `error_code` and `status_code` beside them.
#[track_caller]
fn assert_better_auth_error(resp: &Response, status: u16, code: &str, message: &str) {
    assert_eq!(resp.status, status, "{}", resp.describe());
    let body = resp.json();
    assert_eq!((body["code"].as_str(), body["message"].as_str()), (Some(code), Some(message)), "{}", resp.describe());
    assert_eq!(body["status_code"], json!(status), "{}", resp.describe());
    assert!(body["detail"].is_string() && body["error_code"].is_string(), "{}", resp.describe());
}

#[track_caller]
fn assert_user(user: &Value, email: &str) {
    let mut keys: Vec<&str> = user.as_object().expect("a user object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["createdAt", "email", "emailVerified", "id", "image", "name", "updatedAt"]);
    assert_eq!(user["email"], email);
    assert_eq!((user["emailVerified"].clone(), user["image"].clone()), (json!(false), Value::Null));
    for date in ["createdAt", "updatedAt"] {
        assert!(is_iso_8601(&user[date]), "{date}: {}", user[date]);
    }
}

fn is_iso_8601(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.len() >= 20 && s.as_bytes()[10] == b'T' && s.ends_with('Z'))
}

#[test]
fn sign_up_signs_in_and_get_session_answers_for_the_cookie_or_the_bearer() {
    let server = Server::start();
    let resp = sign_up(&server, "ada@example.com");
    assert_status(&resp, 200);
    assert_user(&resp.json()["user"], "ada@example.com");
    let token = token_of(&resp);

    for request in [get("/api/auth/get-session").cookie(COOKIE, &token), get("/api/auth/get-session").bearer(&token)] {
        let resp = server.send(request);
        assert_status(&resp, 200);
        assert_eq!(resp.header("cache-control"), Some("no-store"));
        let body = resp.json();
        assert_user(&body["user"], "ada@example.com");
        let session = &body["session"];
        let mut keys: Vec<&str> = session.as_object().expect("a session").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["createdAt", "expiresAt", "id", "ipAddress", "token", "updatedAt", "userAgent", "userId"]);
        assert_eq!(
            (session["token"].as_str(), session["userId"].clone()),
            (Some(token.as_str()), body["user"]["id"].clone())
        );
        assert_eq!(session["ipAddress"], "127.0.0.1");
        assert!(is_iso_8601(&session["expiresAt"]));
    }
    // The session token is an access token: the rest of the API takes it.
    assert_status(&server.me_bearer(&token), 200);

    // Signed out, or with a token that is not (or no longer) good: 200 null.
    let anonymous = server.send(get("/api/auth/get-session"));
    assert_eq!((anonymous.status, anonymous.json()), (200, Value::Null));
    let stale = server.send(get("/api/auth/get-session").cookie(COOKIE, "not-a-token"));
    assert_eq!((stale.status, stale.json()), (200, Value::Null));
    let cleared = stale.set_cookies().into_iter().find(|c| c.name == COOKIE).expect("the stale cookie is cleared");
    assert_eq!(cleared.attr("max-age"), Some("0"));
}

#[test]
fn errors_carry_better_auth_codes_and_messages() {
    let server = Server::start();
    assert_status(&sign_up(&server, "taken@example.com"), 200);
    assert_better_auth_error(
        &sign_up(&server, "TAKEN@example.com"),
        422,
        "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
        "User already exists. Use another email.",
    );
    assert_better_auth_error(
        &sign_in(&server, "taken@example.com", "wrong password"),
        401,
        "INVALID_EMAIL_OR_PASSWORD",
        "Invalid email or password",
    );
    assert_better_auth_error(
        &sign_in(&server, "nobody@example.com", PASSWORD),
        401,
        "INVALID_EMAIL_OR_PASSWORD",
        "Invalid email or password",
    );
    let short = server
        .send(call("/api/auth/sign-up/email", json!({ "email": "s@example.com", "password": "short", "name": "S" })));
    assert_better_auth_error(&short, 400, "PASSWORD_TOO_SHORT", "Password too short");
    let long = server.send(call(
        "/api/auth/sign-up/email",
        json!({ "email": "l@example.com", "password": "p".repeat(129), "name": "L" }),
    ));
    assert_better_auth_error(&long, 400, "PASSWORD_TOO_LONG", "Password too long");
    let bad_email = server
        .send(call("/api/auth/sign-up/email", json!({ "email": "not-an-email", "password": PASSWORD, "name": "B" })));
    assert_better_auth_error(&bad_email, 400, "INVALID_EMAIL", "Invalid email");
    let missing = server.send(call("/api/auth/sign-in/email", json!({ "email": "taken@example.com" })));
    assert_better_auth_error(&missing, 400, "VALIDATION_ERROR", "[body.password] field required");
    assert_better_auth_error(&server.send(get("/api/auth/list-sessions")), 401, "UNAUTHORIZED", "Unauthorized");
    let malformed = server.send(
        post("/api/auth/sign-in/email")
            .header("Origin", BROWSER_ORIGIN)
            .body(Some("application/json"), b"{\"email\":".to_vec()),
    );
    assert_eq!(
        (malformed.status, malformed.json()["code"].as_str()),
        (400, Some("INVALID_BODY")),
        "{}",
        malformed.describe()
    );
    // A redirect target off this site and off every allowed origin is refused.
    let open_redirect = server.send(call(
        "/api/auth/sign-in/email",
        json!({ "email": "taken@example.com", "password": PASSWORD, "callbackURL": "https://evil.example/" }),
    ));
    assert_better_auth_error(&open_redirect, 403, "INVALID_CALLBACK_URL", "Invalid callbackURL");
    for away in [
        "//evil.example/",
        "/\t/evil.example",
        "/\\evil.example",
        "/%2F%2Fevil.example",
        "http://localhost:3000@evil.example/",
    ] {
        let resp = server.send(call(
            "/api/auth/sign-in/email",
            json!({ "email": "taken@example.com", "password": PASSWORD, "callbackURL": away }),
        ));
        assert_better_auth_error(&resp, 403, "INVALID_CALLBACK_URL", "Invalid callbackURL");
    }
    let on_front_end = server.send(call(
        "/api/auth/sign-in/email",
        json!({ "email": "taken@example.com", "password": PASSWORD, "callbackURL": "http://localhost:3000/home" }),
    ));
    assert_eq!(on_front_end.json()["url"], "http://localhost:3000/home", "{}", on_front_end.describe());
    // Paths Better Auth has and itsor does not serve: 404 in Better Auth's words.
    assert_better_auth_error(&server.send(get("/api/auth/list-accounts")), 404, "NOT_FOUND", "Not found");
    let resp = server.send(call(
        "/api/auth/sign-in/email",
        json!({ "email": "taken@example.com", "password": PASSWORD, "callbackURL": "/dashboard" }),
    ));
    assert_eq!((resp.json()["redirect"].clone(), resp.json()["url"].clone()), (json!(true), json!("/dashboard")));
    // A cross-site write by cookie is refused in Better Auth's words too.
    let token = token_of(&resp);
    let forged = server.send(
        post("/api/auth/sign-out").cookie(COOKIE, &token).json(&json!({})).header("Origin", "https://evil.example"),
    );
    assert_better_auth_error(&forged, 403, "INVALID_ORIGIN", "Invalid origin");
    assert_eq!(forged.json()["error_code"], "CSRF_REJECTED");
    assert_status(&server.me_bearer(&token), 200);
}

#[test]
fn sign_in_remember_me_and_sign_out() {
    let server = Server::start();
    assert_status(&sign_up(&server, "ada@example.com"), 200);
    let resp = sign_in(&server, "ada@example.com", PASSWORD);
    assert_status(&resp, 200);
    let body = resp.json();
    assert_eq!(body["redirect"], false);
    assert!(body.get("url").is_none(), "no url without a callbackURL: {body}");
    assert_user(&body["user"], "ada@example.com");
    let cookie = resp.set_cookies().into_iter().find(|c| c.name == COOKIE).expect("cookie");
    assert!(cookie.attr("max-age").is_some_and(|age| age != "0") && cookie.has("httponly"), "{}", cookie.raw);

    // rememberMe: false → a cookie for this browser session only (no Max-Age).
    let resp = server.send(call(
        "/api/auth/sign-in/email",
        json!({ "email": "ada@example.com", "password": PASSWORD, "rememberMe": false }),
    ));
    let cookie = resp.set_cookies().into_iter().find(|c| c.name == COOKIE).expect("cookie");
    assert!(cookie.attr("max-age").is_none() && cookie.has("httponly"), "{}", cookie.raw);
    let token = token_of(&resp);

    let out = server.send(post("/api/auth/sign-out").cookie(COOKIE, &token).json(&json!({})));
    assert_status(&out, 200);
    assert_eq!(out.json(), json!({ "success": true }));
    let cleared = out.set_cookies().into_iter().find(|c| c.name == COOKIE).expect("cleared");
    assert_eq!((cleared.value.as_str(), cleared.attr("max-age")), ("", Some("0")));
    assert_eq!(server.send(get("/api/auth/get-session").bearer(&token)).json(), Value::Null);
}

#[test]
fn session_management_over_the_existing_rules() {
    let server = Server::start();
    let first = token_of(&sign_up(&server, "ada@example.com"));
    let second = token_of(&sign_in(&server, "ada@example.com", PASSWORD));
    let third = token_of(&sign_in(&server, "ada@example.com", PASSWORD));

    // The caller's own session carries its token, the others their id (a handle).
    let list = server.send(get("/api/auth/list-sessions").cookie(COOKIE, &third));
    assert_status(&list, 200);
    let sessions = list.json().as_array().cloned().expect("an array");
    assert_eq!(sessions.len(), 3);
    let own: Vec<&Value> = sessions.iter().filter(|s| s["token"] == json!(third)).collect();
    assert_eq!(own.len(), 1, "{sessions:?}");
    assert_eq!(sessions.iter().filter(|s| s["token"] == s["id"]).count(), 2, "{sessions:?}");
    let id_of = |token: &str| {
        server.send(get("/api/auth/get-session").bearer(token)).json()["session"]["id"]
            .as_str()
            .expect("an id")
            .to_owned()
    };
    let first_id = id_of(&first);
    assert!(sessions.iter().any(|s| s["token"] == json!(first_id)), "{sessions:?}");

    // revoke-session by the listed handle, then by an access token.
    let revoke =
        |token: &str| server.send(call("/api/auth/revoke-session", json!({ "token": token })).cookie(COOKIE, &third));
    let resp = revoke(&first_id);
    assert_eq!((resp.status, resp.json()), (200, json!({ "status": true })));
    assert!(resp.set_cookies().is_empty(), "another session's revocation leaves the cookie");
    assert_eq!(server.send(get("/api/auth/get-session").bearer(&first)).json(), Value::Null);
    assert_status(&revoke(&second), 200);
    assert_eq!(server.send(get("/api/auth/get-session").bearer(&second)).json(), Value::Null);
    // Revoking is idempotent, and says nothing of other users' sessions, which stay.
    assert_eq!(revoke(&first_id).json(), json!({ "status": true }), "already revoked");
    let other = token_of(&sign_up(&server, "bob@example.com"));
    assert_eq!(revoke(&id_of(&other)).json(), json!({ "status": true }));
    assert_eq!(revoke("not a session").json(), json!({ "status": true }));
    assert_status(&server.me_bearer(&other), 200);
    // Revoking one's own session signs out, and clears the cookie.
    let mine = token_of(&sign_in(&server, "ada@example.com", PASSWORD));
    let own = server.send(call("/api/auth/revoke-session", json!({ "token": mine })).cookie(COOKIE, &mine));
    assert!(own.set_cookies().iter().any(|c| c.name == COOKIE && c.attr("max-age") == Some("0")), "{}", own.describe());
    assert_eq!(server.send(get("/api/auth/get-session").bearer(&mine)).json(), Value::Null);
    // Without a live session of one's own there is nothing to revoke with.
    let anonymous = server.send(call("/api/auth/revoke-session", json!({ "token": other })));
    assert_better_auth_error(&anonymous, 401, "UNAUTHORIZED", "Unauthorized");

    // revoke-other-sessions keeps the caller's.
    let fourth = token_of(&sign_in(&server, "ada@example.com", PASSWORD));
    let resp = server.send(call("/api/auth/revoke-other-sessions", json!({})).cookie(COOKIE, &third));
    assert_eq!((resp.status, resp.json()), (200, json!({ "status": true })));
    assert_status(&server.me_bearer(&third), 200);
    assert_eq!(server.send(get("/api/auth/get-session").bearer(&fourth)).json(), Value::Null);

    // change-password: the other sessions go, this one stays; the old password is dead.
    let fifth = token_of(&sign_in(&server, "ada@example.com", PASSWORD));
    let change = |current: &str, new: &str| {
        server.send(
            call(
                "/api/auth/change-password",
                json!({ "currentPassword": current, "newPassword": new, "revokeOtherSessions": true }),
            )
            .cookie(COOKIE, &third),
        )
    };
    let wrong = change("not the password", "brand new password");
    assert_eq!((wrong.status, wrong.json()["code"].as_str()), (400, Some("INVALID_PASSWORD")), "{}", wrong.describe());
    let short = change(PASSWORD, "short");
    assert_eq!(
        (short.status, short.json()["code"].as_str()),
        (400, Some("PASSWORD_TOO_SHORT")),
        "{}",
        short.describe()
    );
    let resp = change(PASSWORD, "brand new password");
    assert_status(&resp, 200);
    assert_eq!(resp.json()["token"].as_str(), Some(third.as_str()));
    assert_user(&resp.json()["user"], "ada@example.com");
    assert_status(&server.me_bearer(&third), 200);
    assert_eq!(server.send(get("/api/auth/get-session").bearer(&fifth)).json(), Value::Null);
    assert_eq!(sign_in(&server, "ada@example.com", PASSWORD).status, 401);
    let newest = token_of(&sign_in(&server, "ada@example.com", "brand new password"));

    // revoke-sessions ends them all and clears the cookie.
    let resp = server.send(call("/api/auth/revoke-sessions", json!({})).cookie(COOKIE, &third));
    assert_eq!((resp.status, resp.json()), (200, json!({ "status": true })));
    assert!(resp.set_cookies().iter().any(|c| c.name == COOKIE && c.attr("max-age") == Some("0")));
    for token in [&third, &newest] {
        assert_eq!(server.send(get("/api/auth/get-session").bearer(token)).json(), Value::Null);
    }
}

#[test]
fn every_route_answers_its_preflight_and_refuses_other_methods() {
    let server = Server::start();
    for (method, path) in ENDPOINTS {
        let preflight = server.send(
            Request::new("OPTIONS", path)
                .header("Origin", BROWSER_ORIGIN)
                .header("Access-Control-Request-Method", method)
                .header("Access-Control-Request-Headers", "content-type"),
        );
        assert!((200..300).contains(&preflight.status), "{path}: {}", preflight.describe());
        assert_eq!(preflight.header("access-control-allow-origin"), Some(BROWSER_ORIGIN), "{path}");
        assert_eq!(preflight.header("access-control-allow-credentials"), Some("true"), "{path}");
        assert!(preflight.header("access-control-allow-methods").is_some_and(|m| m.contains(method)), "{path}");
        let other = if *method == "GET" { "DELETE" } else { "GET" };
        let resp = server.send(Request::new(other, path).header("Origin", BROWSER_ORIGIN));
        assert_eq!((resp.status, resp.header("allow")), (405, Some(*method)), "{other} {path}: {}", resp.describe());
        assert_eq!(resp.json()["code"], "METHOD_NOT_ALLOWED", "{path}");
    }
}

#[test]
fn production_cookies_can_carry_the_prefix_better_auth_middleware_reads() {
    let server = Server::builder()
        .env("BACKEND_ENV", "production")
        .env("JWT_SECRET", "q3Zt8vJ1xN0bR5mW2kP7sL4dH9fG6cA+eYuT1oIiBnM=")
        .env("SESSION_COOKIE_NAME", "better-auth.session_token")
        .env("SESSION_COOKIE_PREFIX", "__Secure-")
        .start();
    let resp = sign_up(&server, "ada@example.com");
    assert_status(&resp, 200);
    let cookie = resp.set_cookies().into_iter().next().expect("a cookie");
    assert_eq!(cookie.name, "__Secure-better-auth.session_token", "{}", cookie.raw);
    assert!(cookie.has("secure") && cookie.has("httponly"), "{}", cookie.raw);
    let session = server.send(get("/api/auth/get-session").cookie(&cookie.name, &cookie.value));
    assert_eq!(session.json()["user"]["email"], "ada@example.com");
    // The development page is not served in production.
    assert_eq!(server.send(get("/account")).status, 404);
}

#[test]
fn the_account_page_is_served_with_a_strict_policy() {
    let server = Server::start();
    let page = server.send(get("/account"));
    assert_status(&page, 200);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    let policy = page.header("content-security-policy").expect("a CSP");
    for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(page.text().contains("/account/app.js"));
    for (path, media) in [("/account/app.js", "text/javascript"), ("/account/app.css", "text/css")] {
        let resp = server.send(get(path));
        assert_status(&resp, 200);
        assert!(resp.header("content-type").is_some_and(|ct| ct.starts_with(media)), "{path}");
    }
    let off = Server::builder().env("ACCOUNT_PAGE", "off").start();
    assert_eq!(off.send(get("/account")).status, 404);
}
