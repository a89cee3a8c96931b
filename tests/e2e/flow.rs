//! The whole sign-up / login / me / logout flow, sessions, cookies and what is stored.

use serde_json::json;

use crate::support::*;

#[test]
fn whole_flow_with_cookie() {
    let server = Server::start();

    let resp = server.signup_json(&json!({ "email": "ada@example.com", "password": PASSWORD, "name": "Ada" }));
    assert_status(&resp, 201);
    assert!(resp.header("content-type").unwrap_or("").starts_with("application/json"), "{}", resp.describe());
    assert!(resp.set_cookies().is_empty(), "sign-up must not log in: {}", resp.describe());
    let user = resp.json();
    assert_user_shape(&user);
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["name"], "Ada");

    let login = server.login_ok("ada@example.com", PASSWORD);
    assert_eq!(login.cookie.value, login.token, "the cookie carries the access token");

    // Only the cookie: no Authorization header.
    let me = server.me_cookie(&login.token);
    assert_status(&me, 200);
    assert_eq!(me.json(), user, "/auth/me returns the signed-up user");

    let out = server.logout_cookie(&login.token);
    assert_status(&out, 204);
    assert!(out.body.is_empty(), "204 with a body: {}", out.describe());
    assert_cookie_cleared(&out, COOKIE);

    // Revoked for both ways of presenting the token.
    assert_invalid_token(&server.me_cookie(&login.token));
    assert_invalid_token(&server.me_bearer(&login.token));
}

#[test]
fn whole_flow_with_bearer() {
    let server = Server::start();
    let user = server.signup_ok("bob@example.com", PASSWORD);
    assert_user_shape(&user);
    assert_eq!(user["name"], serde_json::Value::Null, "no name given: {user}");

    let login = server.login_ok("bob@example.com", PASSWORD);
    let me = server.me_bearer(&login.token);
    assert_status(&me, 200);
    assert_eq!(me.json(), user);

    let out = server.logout_bearer(&login.token);
    assert_status(&out, 204);
    assert_cookie_cleared(&out, COOKIE);

    assert_invalid_token(&server.me_bearer(&login.token));
    assert_invalid_token(&server.me_cookie(&login.token));
}

#[test]
fn logout_twice_is_harmless_and_revokes_only_its_session() {
    let server = Server::start();
    server.signup_ok("carol@example.com", PASSWORD);
    let first = server.login_ok("carol@example.com", PASSWORD);
    let second = server.login_ok("carol@example.com", PASSWORD);
    assert_ne!(first.token, second.token, "each login issues its own token");
    assert_ne!(first.sid(), second.sid(), "each login opens its own session");
    assert_eq!(first.sub(), second.sub());

    assert_status(&server.logout_bearer(&first.token), 204);
    let again = server.logout_bearer(&first.token);
    assert_status(&again, 204);
    assert_cookie_cleared(&again, COOKIE);
    assert_status(&server.logout_cookie(&first.token), 204);

    assert_invalid_token(&server.me_bearer(&first.token));
    let still = server.me_bearer(&second.token);
    assert_status(&still, 200);
    assert_eq!(still.json()["email"], "carol@example.com");
}

#[test]
fn login_issues_a_signed_token_for_a_stored_session() {
    let server = Server::start();
    let user = server.signup_ok("dan@example.com", PASSWORD);
    let before = now();
    let login = server.login_ok("dan@example.com", PASSWORD);
    let after = now();

    // The body.
    assert_eq!(login.body["expires_in"], 3600, "default lifetime is 60 minutes: {}", login.body);
    let expires_at = rfc3339_utc(&login.body["expires_at"]);
    assert!(
        (before + 3600 - 1..=after + 3600 + 1).contains(&expires_at),
        "expires_at {expires_at} is not now + 3600 ({before}..{after})"
    );

    // The token verifies under the server's secret with HS256 and names the user.
    let header = jwt::header_of(&login.token);
    assert_eq!(header["alg"], "HS256", "header: {header}");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&["itsor"]);
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<serde_json::Value>(
        &login.token,
        &jsonwebtoken::DecodingKey::from_secret(TEST_SECRET.as_bytes()),
        &validation,
    )
    .expect("the issued token verifies with JWT_SECRET");
    let claims = data.claims;
    assert_eq!(claims["sub"], user["id"], "sub is the user id: {claims}");
    assert_eq!(claims["iss"], "itsor", "{claims}");
    let iat = claims["iat"].as_i64().expect("iat is a number");
    let exp = claims["exp"].as_i64().expect("exp is a number");
    assert_eq!(exp - iat, 3600, "exp - iat is the lifetime: {claims}");
    assert!((before - 1..=after + 1).contains(&iat), "iat {iat} is not now ({before}..{after})");
    assert_eq!(exp, expires_at, "expires_at is the token's exp");
    let sid = claims["sid"].as_str().expect("sid is a string");

    // The session row exists, belongs to the user and is live.
    let db = server.database();
    let rows = db.query("SELECT user_id, expires_at, revoked_at FROM sessions WHERE id = ?1", &[sid]);
    let [row] = rows.as_slice() else { panic!("one sessions row named by the sid claim, found {rows:?}") };
    assert_eq!(row[0].as_deref(), user["id"].as_str());
    assert_eq!(row[2], None, "not revoked");
    assert_eq!(stored_time(row[1].as_deref().expect("expires_at")), exp, "the session expires with its token");

    // Logout marks it revoked (or removes it).
    assert_status(&server.logout_bearer(&login.token), 204);
    let revoked: Option<Option<String>> =
        db.query("SELECT revoked_at FROM sessions WHERE id = ?1", &[sid]).first().map(|row| row[0].clone());
    assert!(
        matches!(revoked, None | Some(Some(_))),
        "after logout the session must be revoked or gone, found revoked_at = {revoked:?}"
    );
}

#[test]
fn passwords_are_stored_hashed_and_emails_normalised() {
    let server = Server::start();
    let user = server.signup_ok("  Erin@Example.COM ", PASSWORD);
    let rows = server
        .database()
        .query("SELECT email, password_hash FROM users WHERE id = ?1", &[user["id"].as_str().expect("id")]);
    let [row] = rows.as_slice() else { panic!("one users row, found {rows:?}") };
    let (email, hash) = (row[0].clone().expect("email"), row[1].clone().expect("password_hash"));
    assert_eq!(email, "erin@example.com");
    assert!(!hash.contains(PASSWORD), "the password is stored in clear: {hash}");
    assert!(hash.starts_with("$argon2"), "the password hash is not an argon2 PHC string: {hash}");
}

#[test]
fn each_user_sees_only_themselves() {
    let server = Server::start();
    let a = server.signup_ok("a@example.com", PASSWORD);
    let b = server.signup_ok("b@example.com", "another password");
    let la = server.login_ok("a@example.com", PASSWORD);
    let lb = server.login_ok("b@example.com", "another password");
    assert_eq!(server.me_bearer(&la.token).json(), a);
    assert_eq!(server.me_bearer(&lb.token).json(), b);
    // Logging one out leaves the other alone.
    assert_status(&server.logout_bearer(&la.token), 204);
    assert_invalid_token(&server.me_bearer(&la.token));
    assert_eq!(server.me_bearer(&lb.token).json(), b);
}

#[test]
fn bearer_wins_over_cookie() {
    let server = Server::start();
    let a = server.signup_ok("a@example.com", PASSWORD);
    server.signup_ok("b@example.com", PASSWORD);
    let la = server.login_ok("a@example.com", PASSWORD);
    let lb = server.login_ok("b@example.com", PASSWORD);

    let both = server.send(get("/auth/me").bearer(&la.token).cookie(COOKIE, &lb.token));
    assert_status(&both, 200);
    assert_eq!(both.json(), a, "with a bearer token and a cookie, the bearer token decides");

    // A bad bearer token is not rescued by a good cookie.
    let bad_bearer = server.send(get("/auth/me").bearer("not-a-token").cookie(COOKIE, &lb.token));
    assert_invalid_token(&bad_bearer);

    // Logout with both revokes the bearer's session, not the cookie's.
    let out = server.send(post("/auth/logout").bearer(&la.token).cookie(COOKIE, &lb.token));
    assert_status(&out, 204);
    assert_invalid_token(&server.me_bearer(&la.token));
    assert_status(&server.me_cookie(&lb.token), 200);
}

#[test]
fn session_cookie_is_found_among_other_cookies() {
    let server = Server::start();
    let user = server.signup_ok("f@example.com", PASSWORD);
    let login = server.login_ok("f@example.com", PASSWORD);
    let cookie = format!("theme=dark; {COOKIE}={}; lang=en", login.token);
    let me = server.send(get("/auth/me").header("Cookie", &cookie));
    assert_status(&me, 200);
    assert_eq!(me.json(), user);
    // A cookie whose name merely contains the session cookie's name is not it.
    let lookalike = server.send(get("/auth/me").header("Cookie", &format!("x{COOKIE}={}", login.token)));
    assert_invalid_token(&lookalike);
}

#[test]
fn default_cookie_attributes() {
    let server = Server::start();
    server.signup_ok("g@example.com", PASSWORD);
    let login = server.login_ok("g@example.com", PASSWORD);
    let c = &login.cookie;
    assert_eq!(c.name, COOKIE);
    assert!(c.has("httponly"), "HttpOnly missing: {}", c.raw);
    assert_eq!(c.attr("path"), Some("/"), "Path: {}", c.raw);
    assert_eq!(c.attr("samesite").map(str::to_ascii_lowercase).as_deref(), Some("lax"), "SameSite: {}", c.raw);
    assert_eq!(c.attr("max-age"), Some("3600"), "Max-Age is expires_in: {}", c.raw);
    assert!(!c.has("secure"), "Secure is off by default: {}", c.raw);
    assert!(!c.has("domain"), "no Domain by default: {}", c.raw);
}

#[test]
fn secure_strict_cookie_when_configured() {
    let server = Server::builder()
        .env("SESSION_COOKIE_SECURE", "true")
        .env("SESSION_COOKIE_SAMESITE", "strict")
        .env("JWT_ACCESS_MINUTES", "5")
        .start();
    server.signup_ok("h@example.com", PASSWORD);
    let login = server.login_ok("h@example.com", PASSWORD);
    let c = &login.cookie;
    assert!(c.has("secure"), "Secure missing: {}", c.raw);
    assert!(c.has("httponly"), "HttpOnly missing: {}", c.raw);
    assert_eq!(c.attr("samesite").map(str::to_ascii_lowercase).as_deref(), Some("strict"), "{}", c.raw);
    assert_eq!(c.attr("max-age"), Some("300"), "{}", c.raw);
    assert_eq!(login.body["expires_in"], 300);
    // The cookie still authenticates (Secure is for the browser; the server reads it anyway).
    assert_status(&server.me_cookie(&login.token), 200);
    let out = server.logout_cookie(&login.token);
    assert_status(&out, 204);
    let cleared = assert_cookie_cleared(&out, COOKIE);
    assert!(cleared.has("secure"), "the clearing cookie keeps Secure: {}", cleared.raw);
}

#[test]
fn samesite_none_cookie() {
    let server = Server::builder().env("SESSION_COOKIE_SECURE", "true").env("SESSION_COOKIE_SAMESITE", "none").start();
    server.signup_ok("i@example.com", PASSWORD);
    let login = server.login_ok("i@example.com", PASSWORD);
    assert_eq!(
        login.cookie.attr("samesite").map(str::to_ascii_lowercase).as_deref(),
        Some("none"),
        "{}",
        login.cookie.raw
    );
    assert!(login.cookie.has("secure"), "{}", login.cookie.raw);
}

#[test]
fn custom_cookie_name() {
    let server = Server::builder().env("SESSION_COOKIE_NAME", "my_sess").start();
    let user = server.signup_ok("j@example.com", PASSWORD);
    let resp = server.login("j@example.com", PASSWORD);
    let login = login_of(&resp, "my_sess");
    assert!(
        resp.set_cookies().iter().all(|c| c.name != COOKIE),
        "the default cookie name must not be used: {}",
        resp.describe()
    );
    let me = server.send(get("/auth/me").cookie("my_sess", &login.token));
    assert_status(&me, 200);
    assert_eq!(me.json(), user);
    // The default name is not read.
    assert_invalid_token(&server.me_cookie(&login.token));
    let out = server.send(post("/auth/logout").cookie("my_sess", &login.token));
    assert_status(&out, 204);
    assert_cookie_cleared(&out, "my_sess");
    assert_invalid_token(&server.send(get("/auth/me").cookie("my_sess", &login.token)));
}

#[test]
fn form_login() {
    let server = Server::start();
    // A password full of form-encoding specials.
    let password = "p@ss word&=%+;x";
    let user = server.signup_ok("kim@example.com", password);
    let resp = server.login_form("Kim@Example.com", password);
    let login = login_of(&resp, COOKIE);
    assert_eq!(server.me_bearer(&login.token).json(), user);
    // Wrong password over the form is the same 401 as over JSON, plus RFC 6749's members
    // that OAuth2 clients read.
    let form = server.login_form("kim@example.com", "p@ss word&=%+;y");
    let json = server.login("kim@example.com", "p@ss word&=%+;y");
    assert_error(&form, 401, "INVALID_CREDENTIALS");
    let mut oauth2 = json.json();
    oauth2["error"] = json!("invalid_grant");
    oauth2["error_description"] = oauth2["detail"].clone();
    assert_eq!(form.json(), oauth2);
    // Missing fields name themselves as the form spells them.
    let no_password = server.send(post("/auth/token").form(&[("username", "kim@example.com")]));
    assert_validation(&no_password, "password");
    let no_username = server.send(post("/auth/token").form(&[("password", password)]));
    assert_validation(&no_username, "username");
}

#[test]
fn unknown_email_and_wrong_password_are_indistinguishable() {
    let server = Server::start();
    server.signup_ok("lee@example.com", PASSWORD);
    let wrong = server.login("lee@example.com", "not the password");
    let unknown = server.login("nobody@example.com", "not the password");
    let detail = assert_error(&wrong, 401, "INVALID_CREDENTIALS");
    assert_eq!(detail, "Invalid email or password");
    assert_error(&unknown, 401, "INVALID_CREDENTIALS");
    assert_eq!(wrong.body, unknown.body, "bodies differ");
    assert_eq!(wrong.header("www-authenticate"), unknown.header("www-authenticate"));
    assert_eq!(wrong.header("content-type"), unknown.header("content-type"));
    assert!(wrong.set_cookies().is_empty() && unknown.set_cookies().is_empty(), "no cookie on failure");
    // Same over the form.
    let wrong = server.login_form("lee@example.com", "not the password");
    let unknown = server.login_form("nobody@example.com", "not the password");
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
}

#[test]
fn logs_never_contain_passwords_secrets_or_tokens() {
    let server = Server::start();
    let password = "Unmistakable-Password-4711";
    server.signup_ok("log@example.com", password);
    let login = server.login_ok("log@example.com", password);
    assert_status(&server.me_bearer(&login.token), 200);
    assert_status(&server.login("log@example.com", "Wrong-Password-0815"), 401);
    assert_status(&server.logout_bearer(&login.token), 204);
    server.assert_alive();
    let (stdout, stderr) = server.output();
    for (what, needle) in [
        ("password", password),
        ("wrong password", "Wrong-Password-0815"),
        ("JWT secret", TEST_SECRET),
        ("access token signature", login.token.rsplit('.').next().unwrap_or_default()),
    ] {
        assert!(!stdout.contains(needle) && !stderr.contains(needle), "the server logged the {what}");
    }
}
