//! The `/api/auth` surface (Better Auth flavour): sign-up, sign-in, "who am I", sign-out,
//! their exact shapes and errors, and the seed's "Verify Authentication Flow" replayed.

use serde_json::{Value, json};

use crate::support::*;

/// Asserts a JSON content type.
#[track_caller]
fn assert_json_content_type(resp: &Response) {
    let ct = resp.header("content-type").unwrap_or("");
    assert!(
        ct.to_ascii_lowercase().starts_with("application/json"),
        "expected a JSON content type: {}",
        resp.describe()
    );
}

/// Asserts `{"success": true}` with a JSON content type and `200`.
#[track_caller]
fn assert_success(resp: &Response) {
    assert_status(resp, 200);
    assert_json_content_type(resp);
    assert_eq!(resp.json(), json!({ "success": true }), "{}", resp.describe());
}

/// Asserts `401 Invalid token` on `/api/auth/me` and `/auth/me`, by bearer and by cookie.
#[track_caller]
fn assert_revoked_everywhere(server: &Server, token: &str) {
    assert_invalid_token(&server.api_me_bearer(token));
    assert_invalid_token(&server.api_me_cookie(token));
    assert_invalid_token(&server.me_bearer(token));
    assert_invalid_token(&server.me_cookie(token));
}

#[test]
fn api_signup_returns_exactly_id_email_name_created_at() {
    let server = Server::start();
    let before = now();
    let resp =
        server.api_signup_json(&json!({ "email": "Ada@Example.com", "password": PASSWORD, "name": "Ada Lovelace" }));
    assert_status(&resp, 201);
    assert_json_content_type(&resp);
    assert!(resp.set_cookies().is_empty(), "sign-up must not sign in: {}", resp.describe());
    let user = resp.json();
    assert_eq!(keys_of(&user), ["created_at", "email", "id", "name"], "sign-up body: {user}");
    let id = user["id"].as_str().expect("id is a string");
    uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("id {id:?} is not a UUID: {e}"));
    assert_eq!(user["email"], "ada@example.com", "e-mail normalised: {user}");
    assert_eq!(user["name"], "Ada Lovelace");
    let created = rfc3339_utc(&user["created_at"]);
    assert!((before - 1..=now() + 1).contains(&created), "created_at {created} is not now: {user}");

    // Without a name: the same four keys, the name null.
    let resp = server.api_signup_json(&json!({ "email": "anon@example.com", "password": PASSWORD }));
    assert_status(&resp, 201);
    let anon = resp.json();
    assert_eq!(keys_of(&anon), ["created_at", "email", "id", "name"], "{anon}");
    assert_eq!(anon["name"], Value::Null, "{anon}");
    assert_ne!(anon["id"], user["id"], "each user has their own id");

    // The account really exists: the /auth surface logs it in and shows the same user.
    let login = server.login_ok("ada@example.com", PASSWORD);
    let me = server.me_bearer(&login.token).json();
    for key in ["id", "email", "name", "created_at"] {
        assert_eq!(me[key], user[key], "{key}: /auth/me {me} vs sign-up {user}");
    }
}

#[test]
fn api_signin_returns_user_token_expires_at_and_the_cookie() {
    let server = Server::start();
    let signup =
        server.api_signup_json(&json!({ "email": "grace@example.com", "password": PASSWORD, "name": "Grace" }));
    assert_status(&signup, 201);
    let signup = signup.json();

    let before = now();
    let resp = server.api_signin("grace@example.com", PASSWORD);
    let after = now();
    assert_status(&resp, 200);
    assert_json_content_type(&resp);
    let body = resp.json();
    assert_eq!(keys_of(&body), ["expires_at", "token", "user"], "sign-in body: {body}");
    assert_eq!(keys_of(&body["user"]), ["email", "id", "name"], "sign-in user: {body}");
    assert_eq!(body["user"], json!({ "id": signup["id"], "email": "grace@example.com", "name": "Grace" }));

    let token = body["token"].as_str().expect("token is a string");
    assert_eq!(token.split('.').count(), 3, "token is not a compact JWT: {token}");
    let claims = jwt::claims_of(token);
    assert_eq!(claims["sub"], signup["id"], "the token names the user: {claims}");
    let expires_at = rfc3339_utc(&body["expires_at"]);
    assert!(
        (before + 3600 - 1..=after + 3600 + 1).contains(&expires_at),
        "expires_at {expires_at} is not now + 60 minutes ({before}..{after})"
    );
    assert_eq!(claims["exp"], json!(expires_at), "expires_at is the token's exp");

    let cookies = resp.set_cookies();
    let cookie =
        cookies.iter().find(|c| c.name == COOKIE).unwrap_or_else(|| panic!("no {COOKIE} cookie: {}", resp.describe()));
    assert_eq!(cookie.value, token, "the cookie carries the token");
    assert!(cookie.has("httponly"), "{}", cookie.raw);
    assert_eq!(cookie.attr("path"), Some("/"), "{}", cookie.raw);
    assert_eq!(cookie.attr("max-age"), Some("3600"), "{}", cookie.raw);

    // The token works.
    assert_status(&server.api_me_bearer(token), 200);
}

#[test]
fn api_me_by_bearer_and_by_cookie() {
    let server = Server::start();
    let user = server.api_user_named("me@example.com", "Me Myself");
    for resp in [server.api_me_bearer(&user.token), server.api_me_cookie(&user.token)] {
        assert_status(&resp, 200);
        assert_json_content_type(&resp);
        let me = resp.json();
        assert_user_shape(&me);
        assert_eq!(me["id"], user.signup["id"]);
        assert_eq!(me["email"], json!(user.email));
        assert_eq!(me["name"], "Me Myself");
        assert_eq!(me["created_at"], user.signup["created_at"]);
        assert_eq!(me["updated_at"], user.signup["created_at"], "never updated");
        // The /auth surface answers the very same user.
        assert_eq!(server.me_bearer(&user.token).json(), me);
    }
}

#[test]
fn api_signout_and_logout_revoke_and_clear_the_cookie() {
    let server = Server::start();
    let user = server.api_user("out@example.com");
    let other = server.api_signin("out@example.com", PASSWORD);
    assert_status(&other, 200);
    let other = other.json()["token"].as_str().expect("token").to_owned();

    // signout by bearer
    let first = server.api_signin("out@example.com", PASSWORD).json()["token"].as_str().expect("token").to_owned();
    assert_status(&server.api_me_bearer(&first), 200);
    let resp = server.send(post("/api/auth/signout").bearer(&first));
    assert_success(&resp);
    assert_cookie_cleared(&resp, COOKIE);
    assert_revoked_everywhere(&server, &first);

    // logout (the alias) by cookie
    assert_status(&server.api_me_cookie(&user.token), 200);
    let resp = server.send(post("/api/auth/logout").cookie(COOKIE, &user.token));
    assert_success(&resp);
    assert_cookie_cleared(&resp, COOKIE);
    assert_revoked_everywhere(&server, &user.token);

    // Only the presented session ended: another sign-in of the same user still works.
    let still = server.api_me_bearer(&other);
    assert_status(&still, 200);
    assert_eq!(still.json()["id"], json!(user.id));

    // Signing out again (an already revoked token), or with no credentials, is harmless.
    for resp in [
        server.send(post("/api/auth/signout").bearer(&first)),
        server.send(post("/api/auth/logout").cookie(COOKIE, &user.token)),
        server.send(post("/api/auth/signout")),
    ] {
        assert_success(&resp);
        assert_cookie_cleared(&resp, COOKIE);
    }
    assert_status(&server.api_me_bearer(&other), 200);
}

#[test]
fn api_me_says_invalid_token() {
    let server = Server::start();
    let user = server.api_user("inv@example.com");
    let claims = jwt::claims_of(&user.token);
    for (what, req) in [
        ("no credentials", get("/api/auth/me")),
        ("garbage bearer", get("/api/auth/me").bearer("not-a-jwt")),
        (
            "foreign secret",
            get("/api/auth/me").bearer(&jwt::sign("HS256", b"another-secret-of-sufficient-length-0123", &claims)),
        ),
        ("tampered signature", get("/api/auth/me").bearer(&jwt::flip_signature(&user.token))),
        ("garbage cookie", get("/api/auth/me").cookie(COOKIE, "eyJhbGciOiJIUzI1NiJ9.e30.x")),
    ] {
        let resp = server.send(req);
        let detail = assert_error(&resp, 401, "INVALID_TOKEN");
        assert_eq!(detail, "Invalid token", "{what}: {}", resp.describe());
    }
    // The control: the genuine token is accepted.
    assert_status(&server.api_me_bearer(&user.token), 200);
}

#[test]
fn api_me_says_token_has_expired() {
    let server = Server::builder().env("JWT_ACCESS_SECONDS", "1").env("JWT_LEEWAY_SECONDS", "0").start();
    let user = server.api_user("old@example.com");
    let expires_at = rfc3339_utc(&user.signin["expires_at"]);
    assert!(
        (expires_at - now()).abs() <= 2,
        "JWT_ACCESS_SECONDS=1: expires_at {expires_at} should be about now: {}",
        user.signin
    );
    assert_eq!(user.cookie.attr("max-age"), Some("1"), "{}", user.cookie.raw);
    assert_status(&server.api_me_bearer(&user.token), 200);

    std::thread::sleep(std::time::Duration::from_millis(2500));
    for resp in [
        server.api_me_bearer(&user.token),
        server.api_me_cookie(&user.token),
        server.send(get(&format!("/api/{}/tasks", user.id)).bearer(&user.token)),
    ] {
        let detail = assert_error(&resp, 401, "TOKEN_EXPIRED");
        assert_eq!(detail, "Token has expired", "{}", resp.describe());
    }
}

#[test]
fn api_signup_of_a_taken_email_is_409() {
    let server = Server::start();
    let first = server.api_user("dup@example.com");
    for email in ["dup@example.com", "DUP@example.COM"] {
        let resp =
            server.api_signup_json(&json!({ "email": email, "password": "another password 123", "name": "Impostor" }));
        let detail = assert_error(&resp, 409, "EMAIL_TAKEN");
        assert_eq!(detail, "Email already registered", "{}", resp.describe());
    }
    // The original account is untouched.
    let me = server.api_me_bearer(&first.token).json();
    assert_eq!(me["name"], "Test User");
    assert_status(&server.api_signin("dup@example.com", PASSWORD), 200);
    assert_error(&server.api_signin("dup@example.com", "another password 123"), 401, "INVALID_CREDENTIALS");
}

#[test]
fn api_bad_fields_are_422_naming_the_field() {
    let server = Server::start();
    for (body, field) in [
        (json!({ "password": PASSWORD, "name": "N" }), "email"),
        (json!({ "email": "a@example.com", "name": "N" }), "password"),
        (json!({ "email": "not-an-email", "password": PASSWORD }), "email"),
        (json!({ "email": 42, "password": PASSWORD }), "email"),
        (json!({ "email": "a@example.com", "password": "short" }), "password"),
        (json!({ "email": "a@example.com", "password": true }), "password"),
        (json!({ "email": "a@example.com", "password": PASSWORD, "name": 7 }), "name"),
        (json!({ "email": "a@example.com", "password": PASSWORD, "name": "x".repeat(101) }), "name"),
    ] {
        let resp = server.api_signup_json(&body);
        assert_validation(&resp, field);
    }
    // Nothing was created by the refused sign-ups.
    let resp = server.api_signup_json(&json!({ "email": "a@example.com", "password": PASSWORD }));
    assert_status(&resp, 201);

    for (body, field) in [
        (json!({ "password": PASSWORD }), "email"),
        (json!({ "email": "a@example.com" }), "password"),
        (json!({ "email": "a@example.com", "password": 12345678 }), "password"),
    ] {
        let resp = server.send(post("/api/auth/signin").json(&body));
        assert_validation(&resp, field);
    }
}

#[test]
fn api_signin_with_a_wrong_password_is_401() {
    let server = Server::start();
    server.api_user("pw@example.com");
    let wrong = server.api_signin("pw@example.com", "not the password at all");
    let detail = assert_error(&wrong, 401, "INVALID_CREDENTIALS");
    assert!(wrong.set_cookies().is_empty(), "a failed sign-in sets no cookie: {}", wrong.describe());
    assert!(!wrong.text().contains("eyJ"), "a failed sign-in returns no token: {}", wrong.describe());
    // An unknown e-mail is indistinguishable.
    let unknown = server.api_signin("nobody@example.com", "not the password at all");
    assert_eq!(assert_error(&unknown, 401, "INVALID_CREDENTIALS"), detail);
    assert_eq!(unknown.json(), wrong.json());
}

/// The seed's "Step 4: Verify Authentication Flow", 4.1 to 4.4, with its literal requests.
#[test]
fn seed_verify_authentication_flow_4_1_to_4_4() {
    let server = Server::start();

    // 4.1 Test Signup
    let resp = server.send(
        post("/api/auth/signup").body(
            Some("application/json"),
            br#"{
    "email": "test@example.com",
    "password": "SecurePass123!",
    "name": "Test User"
  }"#
            .to_vec(),
        ),
    );
    assert_status(&resp, 201);
    let signup = resp.json();
    assert_eq!(keys_of(&signup), ["created_at", "email", "id", "name"], "{signup}");
    assert_eq!(signup["email"], "test@example.com");
    assert_eq!(signup["name"], "Test User");
    let id = signup["id"].as_str().expect("id").to_owned();
    uuid::Uuid::parse_str(&id).expect("id is a UUID");
    rfc3339_utc(&signup["created_at"]);

    // 4.2 Test Signin
    let resp = server.send(
        post("/api/auth/signin").body(
            Some("application/json"),
            br#"{
    "email": "test@example.com",
    "password": "SecurePass123!"
  }"#
            .to_vec(),
        ),
    );
    assert_status(&resp, 200);
    let signin = resp.json();
    assert_eq!(keys_of(&signin), ["expires_at", "token", "user"], "{signin}");
    assert_eq!(signin["user"], json!({ "id": id, "email": "test@example.com", "name": "Test User" }));
    let token = signin["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("eyJ"), "a JWT: {token}");
    rfc3339_utc(&signin["expires_at"]);

    // 4.3 Test Protected Endpoint
    let resp = server.send(get("/api/auth/me").header("Authorization", &format!("Bearer {token}")));
    assert_status(&resp, 200);
    let me = resp.json();
    assert_eq!(keys_of(&me), ["created_at", "email", "id", "name", "updated_at"], "{me}");
    assert_eq!(me["id"], json!(id));
    assert_eq!(me["email"], "test@example.com");
    assert_eq!(me["name"], "Test User");
    assert_eq!(me["created_at"], signup["created_at"]);
    rfc3339_utc(&me["updated_at"]);

    // 4.4 Test Ownership Enforcement: another (real) user's id, and an id nobody has.
    let other = server.api_user("other@example.com");
    assert_ne!(other.id, id);
    for different_user_id in [other.id.as_str(), "00000000-0000-0000-0000-000000000000"] {
        let resp = server
            .send(get(&format!("/api/{different_user_id}/tasks")).header("Authorization", &format!("Bearer {token}")));
        assert_forbidden(&resp);
    }
    // And the control: the user's own tasks are reachable.
    let own = server.send(get(&format!("/api/{id}/tasks")).bearer(&token));
    assert_status(&own, 200);
    assert_eq!(own.json(), json!([]));
}
