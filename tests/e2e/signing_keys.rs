//! Tokens other services verify without the secret (JWT_ALGORITHM=EdDSA and ES256, the key
//! set at `/.well-known/jwks.json` and `/api/auth/jwks`), and refresh tokens with rotation
//! and reuse detection. Third parties verify with jsonwebtoken's own `rust_crypto` here;
//! the Python and Node suites verify with PyJWT and jose.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

const ALGORITHMS: [&str; 2] = ["EdDSA", "ES256"];

fn asymmetric(algorithm: &str) -> Server {
    Server::builder().env("JWT_ALGORITHM", algorithm).start()
}

/// The key set, checking that both paths serve the same one, cacheably.
#[track_caller]
fn key_set(server: &Server) -> Value {
    let well_known = server.send(get("/.well-known/jwks.json"));
    assert_status(&well_known, 200);
    assert!(
        well_known.header("cache-control").is_some_and(|c| c.starts_with("public, max-age=")),
        "{:?}",
        well_known.header("cache-control")
    );
    let better_auth = server.send(get("/api/auth/jwks"));
    assert_status(&better_auth, 200);
    assert_eq!(well_known.json(), better_auth.json());
    well_known.json()
}

/// Verifies `token` as a third party would: with the key set only.
fn verify_with(set: &Value, token: &str) -> Result<Value, String> {
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(set.clone()).map_err(|e| e.to_string())?;
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = set.find(&kid).ok_or("kid not in the set")?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&["itsor"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation).map(|data| data.claims).map_err(|e| e.to_string())
}

#[test]
fn asymmetric_tokens_name_a_published_key_and_verify_with_the_key_set_alone() {
    for algorithm in ALGORITHMS {
        let server = asymmetric(algorithm);
        let user = server.signup_ok("keys@example.com", PASSWORD);
        let login = server.login_ok("keys@example.com", PASSWORD);
        let header = jwt::header_of(&login.token);
        assert_eq!(header["alg"], algorithm);
        let set = key_set(&server);
        let keys = set["keys"].as_array().expect("keys");
        assert_eq!(keys.len(), 1, "{set}");
        assert_eq!(keys[0]["kid"], header["kid"]);
        assert_eq!(keys[0]["alg"], algorithm);
        assert!(keys[0].get("d").is_none(), "no private member is published: {set}");
        let claims = verify_with(&set, &login.token).expect("a third party verifies it");
        assert_eq!(claims["sub"], user["id"]);
        assert_status(&server.me_bearer(&login.token), 200);
    }
}

#[test]
fn the_database_holds_no_private_key_in_the_clear() {
    let server = asymmetric("EdDSA");
    server.signup_ok("sealed@example.com", PASSWORD);
    server.login_ok("sealed@example.com", PASSWORD);
    let rows = server.database().query("SELECT kid, public_jwk, sealed_private_key FROM signing_keys", &[]);
    assert_eq!(rows.len(), 1);
    let (public, sealed) = (rows[0][1].as_deref().expect("public"), rows[0][2].as_deref().expect("sealed"));
    let jwk: Value = serde_json::from_str(public).expect("json");
    assert!(jwk.get("d").is_none(), "{public}");
    // 12 bytes of nonce + 32 of key + 16 of tag, base64url: not a bare 32-byte key.
    assert_eq!(sealed.len(), 80, "{sealed}");
    assert!(!sealed.contains(jwk["x"].as_str().expect("x")));
}

#[test]
fn forged_asymmetric_tokens_are_refused() {
    for algorithm in ALGORITHMS {
        let server = asymmetric(algorithm);
        server.signup_ok("forge@example.com", PASSWORD);
        let login = server.login_ok("forge@example.com", PASSWORD);
        let header = jwt::header_of(&login.token);
        let claims = login.claims();
        let set = key_set(&server);
        let public = serde_json::to_vec(&set["keys"][0]).expect("json");
        // HS256 keyed with the published key (the classic confusion), with the right kid.
        let confused = jwt::sign_with("HS256", &public, &json!({ "alg": "HS256", "kid": header["kid"] }), &claims);
        // An unknown kid, a missing kid, and `alg: none`.
        let mut other_kid = header.clone();
        other_kid["kid"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        let unknown = jwt::sign_with("HS256", b"x", &other_kid, &claims);
        let renamed = format!(
            "{}.{}",
            jwt::b64(&serde_json::to_vec(&other_kid).expect("json")),
            login.token.split_once('.').expect("jwt").1
        );
        let mut no_kid = header.clone();
        no_kid.as_object_mut().expect("object").remove("kid");
        let kidless = format!(
            "{}.{}",
            jwt::b64(&serde_json::to_vec(&no_kid).expect("json")),
            login.token.split_once('.').expect("jwt").1
        );
        let none = jwt::unsigned(&json!({ "alg": "none", "kid": header["kid"] }), &claims);
        // A token of another itsor deployment (its own keys), for the same session ids.
        let stranger = asymmetric(algorithm);
        stranger.signup_ok("forge@example.com", PASSWORD);
        let foreign = stranger.login_ok("forge@example.com", PASSWORD);
        let foreign = format!("{}.{}", foreign.token.split_once('.').expect("jwt").0, {
            let (_, rest) = login.token.split_once('.').expect("jwt");
            let (_, signature) = foreign.token.rsplit_once('.').expect("jwt");
            format!("{}.{signature}", rest.rsplit_once('.').expect("jwt").0)
        });
        for (what, token) in [
            ("HS256 with the public key", confused),
            ("unknown kid", unknown),
            ("renamed kid", renamed),
            ("no kid", kidless),
            ("alg none", none),
            ("another deployment's key", foreign),
        ] {
            assert_invalid_token(&server.me_bearer(&token));
            assert!(verify_with(&set, &token).is_err() || what == "no kid", "{algorithm}, {what}");
        }
        assert_status(&server.me_bearer(&login.token), 200);
    }
}

fn refreshing(reuse_seconds: &str) -> Server {
    Server::builder().env("JWT_REFRESH_DAYS", "1").env("JWT_REFRESH_REUSE_SECONDS", reuse_seconds).start()
}

fn refresh(server: &Server, token: &str) -> Response {
    server.send(post("/auth/refresh").json(&json!({ "refresh_token": token })))
}

#[test]
fn refresh_rotates_and_a_reuse_after_the_window_revokes_the_session() {
    let server = refreshing("1");
    server.signup_ok("refresh@example.com", PASSWORD);
    let login = server.login_ok("refresh@example.com", PASSWORD);
    let first = login.body["refresh_token"].as_str().expect("a refresh token").to_owned();
    let refresh_cookie = server.login("refresh@example.com", PASSWORD);
    assert!(
        refresh_cookie.headers_named("set-cookie").iter().any(|c| c.starts_with("itsor_session_refresh=")
            && c.contains("Path=/auth/refresh")
            && c.contains("HttpOnly")),
        "{:?}",
        refresh_cookie.headers_named("set-cookie")
    );
    let renewed = refresh(&server, &first);
    assert_status(&renewed, 200);
    let second = renewed.json()["refresh_token"].as_str().expect("a successor").to_owned();
    assert_ne!(second, first);
    let access = renewed.json()["access_token"].as_str().expect("access token").to_owned();
    assert_status(&server.me_bearer(&access), 200);
    // The OAuth2 form grant takes the successor, and gives the next one.
    let form = server.send(post("/auth/token").form(&[("grant_type", "refresh_token"), ("refresh_token", &second)]));
    assert_status(&form, 200);
    let third = form.json()["refresh_token"].as_str().expect("a successor").to_owned();
    // Reusing the first after the window: the whole session goes.
    std::thread::sleep(Duration::from_millis(2100));
    let replay = refresh(&server, &first);
    assert_invalid_token(&replay);
    assert_invalid_token(&refresh(&server, &third));
    assert_invalid_token(&server.me_bearer(&access));
    let form_replay =
        server.send(post("/auth/token").form(&[("grant_type", "refresh_token"), ("refresh_token", &second)]));
    assert_eq!(form_replay.status, 401);
    assert_eq!(form_replay.json()["error"], "invalid_grant");
    // Garbage is refused without a lookup.
    assert_invalid_token(&refresh(&server, "not-a-refresh-token"));
}

#[test]
fn concurrent_refreshes_within_the_window_get_the_same_successor() {
    let server = refreshing("10");
    server.signup_ok("tabs@example.com", PASSWORD);
    let login = server.login_ok("tabs@example.com", PASSWORD);
    let token = login.body["refresh_token"].as_str().expect("a refresh token").to_owned();
    let successors: Vec<String> = std::thread::scope(|scope| {
        let tabs: Vec<_> = (0..2).map(|_| scope.spawn(|| refresh(&server, &token))).collect();
        tabs.into_iter()
            .map(|tab| {
                let resp = tab.join().expect("tab");
                assert_status(&resp, 200);
                resp.json()["refresh_token"].as_str().expect("successor").to_owned()
            })
            .collect()
    });
    assert_eq!(successors[0], successors[1]);
    assert_status(&refresh(&server, &successors[0]), 200);
}

#[test]
fn refresh_after_logout_or_a_password_change_is_refused() {
    let server = refreshing("10");
    server.signup_ok("ended@example.com", PASSWORD);
    let login = server.login_ok("ended@example.com", PASSWORD);
    let token = login.body["refresh_token"].as_str().expect("a refresh token").to_owned();
    assert_status(&server.logout_bearer(&login.token), 204);
    assert_invalid_token(&refresh(&server, &token));

    let here = server.login_ok("ended@example.com", PASSWORD);
    let there = server.login_ok("ended@example.com", PASSWORD);
    let changed = server.send(
        post("/auth/password")
            .bearer(&here.token)
            .json(&json!({ "current_password": PASSWORD, "new_password": "another long password" })),
    );
    assert!(changed.status < 300, "{}", changed.status);
    assert_invalid_token(&refresh(&server, there.body["refresh_token"].as_str().expect("token")));
}

#[test]
fn better_auth_token_endpoint_gives_a_token_for_the_session() {
    let server = asymmetric("EdDSA");
    server.signup_ok("ba@example.com", PASSWORD);
    let login = server.login_ok("ba@example.com", PASSWORD);
    let resp = server.send(get("/api/auth/token").cookie(COOKIE, &login.token));
    assert_status(&resp, 200);
    let token = resp.json()["token"].as_str().expect("token").to_owned();
    let claims = verify_with(&key_set(&server), &token).expect("verifies");
    assert_eq!(claims["sid"], json!(login.sid()));
    assert_eq!(server.send(get("/api/auth/token")).status, 401);
}
