//! Token attacks: expiry, tampering, `alg` games, foreign secrets, missing claims, revoked
//! and deleted sessions, garbage and missing credentials.
//!
//! Forged tokens reuse the `sub` and `sid` of a real, live session, so that each rejection
//! is due to the one thing the test changed; [`forged_with_the_right_secret_is_accepted`]
//! proves the forging itself is sound.

use serde_json::{Value, json};

use crate::support::*;

/// A server with one user and one live session.
fn server_with_session() -> (Server, Value, Login) {
    let server = Server::start();
    let user = server.signup_ok("tok@example.com", PASSWORD);
    let login = server.login_ok("tok@example.com", PASSWORD);
    (server, user, login)
}

/// Valid claims for `login`'s session, freshly dated.
fn claims_for(login: &Login) -> Value {
    let now = now();
    json!({ "sub": login.sub(), "sid": login.sid(), "iat": now, "exp": now + 600, "iss": "itsor" })
}

#[test]
fn forged_with_the_right_secret_is_accepted() {
    // The control for every attack below: our forging produces tokens the server accepts.
    let (server, user, login) = server_with_session();
    let token = jwt::sign("HS256", TEST_SECRET.as_bytes(), &claims_for(&login));
    let me = server.me_bearer(&token);
    assert_status(&me, 200);
    assert_eq!(me.json(), user);
    let via_jsonwebtoken = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims_for(&login),
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .expect("encode");
    assert_status(&server.me_bearer(&via_jsonwebtoken), 200);
}

#[test]
fn expired_token_says_token_has_expired() {
    let server = Server::builder().env("JWT_ACCESS_SECONDS", "1").env("JWT_LEEWAY_SECONDS", "0").start();
    server.signup_ok("exp@example.com", PASSWORD);
    let login = server.login_ok("exp@example.com", PASSWORD);
    assert_eq!(login.body["expires_in"], 1, "JWT_ACCESS_SECONDS overrides the lifetime: {}", login.body);
    assert_eq!(login.cookie.attr("max-age"), Some("1"), "{}", login.cookie.raw);
    assert_status(&server.me_bearer(&login.token), 200);

    std::thread::sleep(std::time::Duration::from_millis(2500));
    for resp in [server.me_bearer(&login.token), server.me_cookie(&login.token)] {
        let detail = assert_error(&resp, 401, "TOKEN_EXPIRED");
        assert_eq!(detail, "Token has expired");
    }
    server.assert_alive();
}

#[test]
fn leeway_tolerates_slightly_expired_tokens_only() {
    // Default leeway is 30 s.
    let (server, _, login) = server_with_session();
    let mut claims = claims_for(&login);
    claims["exp"] = json!(now() - 5);
    assert_status(&server.me_bearer(&jwt::sign("HS256", TEST_SECRET.as_bytes(), &claims)), 200);
    claims["exp"] = json!(now() - 120);
    let detail =
        assert_error(&server.me_bearer(&jwt::sign("HS256", TEST_SECRET.as_bytes(), &claims)), 401, "TOKEN_EXPIRED");
    assert_eq!(detail, "Token has expired");
}

#[test]
fn expired_forgery_is_invalid_not_expired() {
    // The signature is checked before the lifetime: a forged token must not learn anything.
    let (server, _, login) = server_with_session();
    let mut claims = claims_for(&login);
    claims["exp"] = json!(now() - 3600);
    let token = jwt::sign("HS256", b"some-other-secret-of-enough-length!!", &claims);
    assert_invalid_token(&server.me_bearer(&token));
}

#[test]
fn tampered_signature_is_rejected() {
    let (server, _, login) = server_with_session();
    assert_invalid_token(&server.me_bearer(&jwt::flip_signature(&login.token)));
    assert_invalid_token(&server.me_cookie(&jwt::flip_signature(&login.token)));
    // Signature stripped.
    let (input, _) = login.token.rsplit_once('.').expect("three parts");
    assert_invalid_token(&server.me_bearer(&format!("{input}.")));
    assert_invalid_token(&server.me_bearer(input));
    // Signature of another token.
    let other = jwt::sign("HS256", TEST_SECRET.as_bytes(), &claims_for(&login));
    let (_, other_sig) = other.rsplit_once('.').expect("three parts");
    let mut claims = jwt::claims_of(&login.token);
    claims["exp"] = json!(claims["exp"].as_i64().expect("exp") + 1);
    let spliced = format!("{}.{other_sig}", jwt::with_payload(&login.token, &claims).rsplit_once('.').expect("3").0);
    assert_invalid_token(&server.me_bearer(&spliced));
    // The genuine token still works: nothing above disturbed it.
    assert_status(&server.me_bearer(&login.token), 200);
}

#[test]
fn tampered_payload_is_rejected() {
    let (server, _, login) = server_with_session();
    let victim = server.signup_ok("victim@example.com", PASSWORD);
    let original = jwt::claims_of(&login.token);

    let mut as_victim = original.clone();
    as_victim["sub"] = victim["id"].clone();
    assert_invalid_token(&server.me_bearer(&jwt::with_payload(&login.token, &as_victim)));

    let mut longer = original.clone();
    longer["exp"] = json!(original["exp"].as_i64().expect("exp") + 86_400);
    assert_invalid_token(&server.me_bearer(&jwt::with_payload(&login.token, &longer)));

    // Same claims, re-serialised differently (extra whitespace): the signature covers bytes.
    let reformatted = jwt::b64(serde_json::to_string_pretty(&original).expect("json").as_bytes());
    let parts: Vec<&str> = login.token.split('.').collect();
    assert_invalid_token(&server.me_bearer(&format!("{}.{reformatted}.{}", parts[0], parts[2])));

    // Header changed (typ), payload kept.
    let header = jwt::b64(json!({ "alg": "HS256", "typ": "JWS" }).to_string().as_bytes());
    assert_invalid_token(&server.me_bearer(&format!("{header}.{}.{}", parts[1], parts[2])));
}

#[test]
fn alg_none_is_rejected() {
    let (server, _, login) = server_with_session();
    let claims = claims_for(&login);
    let real_sig = login.token.rsplit('.').next().expect("signature").to_owned();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({ "alg": alg, "typ": "JWT" });
        let unsigned = jwt::unsigned(&header, &claims);
        assert_invalid_token(&server.me_bearer(&unsigned));
        assert_invalid_token(&server.me_cookie(&unsigned));
        // With some signature attached.
        assert_invalid_token(&server.me_bearer(&format!("{unsigned}{real_sig}")));
        // Without the trailing dot.
        assert_invalid_token(&server.me_bearer(unsigned.trim_end_matches('.')));
    }
    // No alg at all.
    assert_invalid_token(&server.me_bearer(&jwt::unsigned(&json!({ "typ": "JWT" }), &claims)));
    assert_invalid_token(&server.me_bearer(&jwt::sign_with(
        "HS256",
        TEST_SECRET.as_bytes(),
        &json!({ "typ": "JWT" }),
        &claims,
    )));
}

#[test]
fn token_signed_with_another_secret_is_rejected() {
    let (server, _, login) = server_with_session();
    for secret in ["dev-secret-change-me", "", "e2e-test-secret-3f9a1c7b5d2e8f4a6b0c9d1f"] {
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims_for(&login),
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("encode");
        assert_invalid_token(&server.me_bearer(&token));
    }
}

#[test]
fn other_algorithms_are_rejected_when_hs256_is_configured() {
    let (server, _, login) = server_with_session();
    let claims = claims_for(&login);
    for alg in ["HS384", "HS512"] {
        assert_invalid_token(&server.me_bearer(&jwt::sign(alg, TEST_SECRET.as_bytes(), &claims)));
    }
    // Asymmetric algorithm names over an HMAC signature (key-confusion attempts), and
    // header fields that try to choose the key.
    for alg in ["RS256", "ES256", "PS256", "EdDSA", "hs256", "HS256 "] {
        let header = json!({ "alg": alg, "typ": "JWT" });
        assert_invalid_token(&server.me_bearer(&jwt::sign_with("HS256", TEST_SECRET.as_bytes(), &header, &claims)));
    }
    for header in [
        json!({ "alg": "HS256", "typ": "JWT", "kid": "../../dev/null" }),
        json!({ "alg": "HS256", "typ": "JWT", "jku": "http://127.0.0.1:1/keys" }),
    ] {
        // Signed with the empty key that a `kid` of /dev/null would select: header fields
        // must never choose the key.
        let token = jwt::sign_with("HS256", b"", &header, &claims);
        assert_invalid_token(&server.me_bearer(&token));
    }
}

#[test]
fn configured_algorithm_is_the_only_one_accepted() {
    let server = Server::builder().env("JWT_ALGORITHM", "HS512").start();
    let user = server.signup_ok("hs512@example.com", PASSWORD);
    let login = server.login_ok("hs512@example.com", PASSWORD);
    assert_eq!(jwt::header_of(&login.token)["alg"], "HS512");
    assert_eq!(server.me_bearer(&login.token).json(), user);
    let claims = claims_for(&login);
    assert_status(&server.me_bearer(&jwt::sign("HS512", TEST_SECRET.as_bytes(), &claims)), 200);
    for alg in ["HS256", "HS384"] {
        assert_invalid_token(&server.me_bearer(&jwt::sign(alg, TEST_SECRET.as_bytes(), &claims)));
    }
}

#[test]
fn missing_or_wrong_claims_are_rejected() {
    let (server, _, login) = server_with_session();
    let other_user = server.signup_ok("other@example.com", PASSWORD);
    let other_login = server.login_ok("other@example.com", PASSWORD);
    let base = claims_for(&login);
    let sign = |claims: &Value| jwt::sign("HS256", TEST_SECRET.as_bytes(), claims);
    let without = |field: &str| {
        let mut c = base.clone();
        c.as_object_mut().expect("object").remove(field);
        c
    };
    let with = |field: &str, value: Value| {
        let mut c = base.clone();
        c[field] = value;
        c
    };
    let cases: Vec<(&str, Value)> = vec![
        ("no exp", without("exp")),
        ("no sub", without("sub")),
        ("no sid", without("sid")),
        ("no iss", without("iss")),
        ("wrong iss", with("iss", json!("someone-else"))),
        ("exp as a string", with("exp", json!((now() + 600).to_string()))),
        ("sid of no session", with("sid", json!(uuid::Uuid::new_v4().to_string()))),
        ("sid of another user's session", with("sid", json!(other_login.sid()))),
        ("sub of another user", with("sub", other_user["id"].clone())),
        ("sub of no user", with("sub", json!(uuid::Uuid::new_v4().to_string()))),
        ("not yet valid (nbf in an hour)", with("nbf", json!(now() + 3600))),
        ("claims not an object", json!(["sub", "sid"])),
    ];
    for (what, claims) in cases {
        let resp = server.me_bearer(&sign(&claims));
        assert_eq!(resp.status, 401, "{what}: {}", resp.describe());
        assert_invalid_token(&resp);
    }
    // The real sessions are unaffected.
    assert_status(&server.me_bearer(&login.token), 200);
    assert_status(&server.me_bearer(&other_login.token), 200);
}

#[test]
fn token_of_a_deleted_session_is_rejected() {
    let (server, _, login) = server_with_session();
    assert_status(&server.me_bearer(&login.token), 200);
    let deleted = server.database().execute("DELETE FROM sessions WHERE id = ?1", &[login.sid().as_str()]);
    assert_eq!(deleted, 1, "the sid claim names a sessions row");
    assert_invalid_token(&server.me_bearer(&login.token));
    assert_invalid_token(&server.me_cookie(&login.token));
    // Logging out a session that no longer exists is still harmless.
    let out = server.logout_bearer(&login.token);
    assert!(out.status == 204 || out.status == 401, "logout of a deleted session: {}", out.describe());
    server.assert_alive();
}

#[test]
fn token_of_a_session_revoked_in_the_database_is_rejected() {
    let (server, _, login) = server_with_session();
    let updated = server
        .database()
        .execute("UPDATE sessions SET revoked_at = '2020-01-01T00:00:00Z' WHERE id = ?1", &[login.sid().as_str()]);
    assert_eq!(updated, 1);
    assert_invalid_token(&server.me_bearer(&login.token));
}

#[test]
fn token_of_a_session_expired_in_the_database_is_rejected() {
    // The session's own expiry counts, not just the token's.
    let (server, _, login) = server_with_session();
    let updated = server
        .database()
        .execute("UPDATE sessions SET expires_at = '2020-01-01T00:00:00Z' WHERE id = ?1", &[login.sid().as_str()]);
    assert_eq!(updated, 1);
    let resp = server.me_bearer(&login.token);
    assert_eq!(resp.status, 401, "{}", resp.describe());
    assert_error_shape(&resp);
}

#[test]
fn garbage_bearer_is_rejected() {
    let (server, _, _) = server_with_session();
    let long = "a".repeat(9000);
    let long_jwt = format!("{}.{}.{}", "e".repeat(3000), "e".repeat(3000), "e".repeat(3000));
    let garbage = [
        "garbage",
        "a.b.c",
        "a.b",
        "....",
        "..",
        "!!!.@@@.###",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "eyJub3QganNvbg.eyJub3QganNvbg.c2ln",
        "null",
        "{}",
        "Bearer",
        "\u{00e9}t\u{00e9}",
        long.as_str(),
        long_jwt.as_str(),
    ];
    for token in garbage {
        let resp = server.send(get("/auth/me").bearer(token));
        assert_eq!(resp.status, 401, "bearer {:?}: {}", &token[..token.len().min(40)], resp.describe());
        assert_invalid_token(&resp);
        assert_invalid_token(&server.me_cookie(token));
    }
    for authorization in ["Bearer", "Bearer ", "Basic dXNlcjpwYXNzd29yZA==", "Token abc", "Bearerabc", "abc"] {
        let resp = server.send(get("/auth/me").header("Authorization", authorization));
        assert_eq!(resp.status, 401, "Authorization {authorization:?}: {}", resp.describe());
        assert_invalid_token(&resp);
    }
    server.assert_alive();
}

#[test]
fn missing_token_is_rejected() {
    let (server, _, login) = server_with_session();
    assert_invalid_token(&server.send(get("/auth/me")));
    assert_invalid_token(&server.send(get("/auth/me").header("Cookie", "theme=dark")));
    assert_invalid_token(&server.send(get("/auth/me").header("Cookie", &format!("{COOKIE}="))));
    // The token in a query string or a body is not a credential.
    assert_invalid_token(&server.send(get(&format!("/auth/me?access_token={}", login.token))));
    assert_invalid_token(&server.send(get(&format!("/auth/me?token={}", login.token))));
}

#[test]
fn bearer_scheme_is_case_insensitive() {
    // RFC 7235: the auth-scheme is case-insensitive.
    let (server, user, login) = server_with_session();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let resp = server.send(get("/auth/me").header("Authorization", &format!("{scheme} {}", login.token)));
        assert_status(&resp, 200);
        assert_eq!(resp.json(), user);
    }
}

#[test]
fn tokens_do_not_survive_a_change_of_secret() {
    let mut server = Server::start();
    let user = server.signup_ok("rot@example.com", PASSWORD);
    let login = server.login_ok("rot@example.com", PASSWORD);
    // Same database (the session row is still live), another secret.
    server.restart_with("JWT_SECRET", "rotated-secret-0123456789abcdefghij");
    assert_invalid_token(&server.me_bearer(&login.token));
    let fresh = server.login_ok("rot@example.com", PASSWORD);
    assert_eq!(server.me_bearer(&fresh.token).json(), user);
}
