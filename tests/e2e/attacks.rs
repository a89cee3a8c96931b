//! The attack suite: hostile tokens and inputs, each with the exact status and error code
//! it must get. Every case runs against one live server whose real session the forged
//! tokens imitate, so a rejection is due to the one thing a case changed; the server must
//! still serve normally at the end.

use serde_json::{Value, json};

use crate::support::*;

/// What a case must get back.
enum Expect {
    /// An error of the contract's shape.
    Error(u16, &'static str),
    /// A success answering for this user (by e-mail).
    UserIs(&'static str),
    /// The transport refuses the request before the component (hyper's own answer).
    Status(u16),
}

struct Case {
    name: &'static str,
    request: Request,
    expect: Expect,
}

fn case(name: &'static str, request: Request, expect: Expect) -> Case {
    Case { name, request, expect }
}

const INVALID: Expect = Expect::Error(401, "INVALID_TOKEN");

/// Valid claims for `login`'s live session.
fn claims_for(login: &Login) -> Value {
    let now = now();
    json!({ "sub": login.sub(), "sid": login.sid(), "iat": now, "exp": now + 600, "iss": "itsor" })
}

fn with(claims: &Value, changes: &[(&str, Value)]) -> Value {
    let mut claims = claims.clone();
    for (key, value) in changes {
        claims[*key] = value.clone();
    }
    claims
}

fn without(claims: &Value, key: &str) -> Value {
    let mut claims = claims.clone();
    claims.as_object_mut().expect("object").remove(key);
    claims
}

fn me(token: &str) -> Request {
    get("/auth/me").bearer(token)
}

fn signup(body: Value) -> Request {
    post("/auth/signup").json(&body)
}

fn token_cases(server: &Server, login: &Login, other: &Login) -> Vec<Case> {
    let secret = TEST_SECRET.as_bytes();
    let good = claims_for(login);
    let signed = |claims: &Value| jwt::sign("HS256", secret, claims);
    let header = |fields: Value| {
        let mut header = json!({ "alg": "HS256", "typ": "JWT" });
        for (k, v) in fields.as_object().expect("object") {
            header[k] = v.clone();
        }
        header
    };
    // A user whose account is deleted after logging in.
    server.signup_ok("deleted@example.com", PASSWORD);
    let deleted = server.login_ok("deleted@example.com", PASSWORD);
    server.database().execute("DELETE FROM users WHERE email = 'deleted@example.com'", &[]);
    // A session revoked by logout.
    let revoked = server.login_ok("victim@example.com", PASSWORD);
    assert_status(&server.logout_bearer(&revoked.token), 204);

    let parts: Vec<&str> = login.token.split('.').collect();
    vec![
        case("control: our own forgery with the right key", me(&signed(&good)), Expect::UserIs("victim@example.com")),
        case("alg none", me(&jwt::unsigned(&json!({"alg": "none", "typ": "JWT"}), &good)), INVALID),
        case("alg None", me(&jwt::unsigned(&json!({"alg": "None", "typ": "JWT"}), &good)), INVALID),
        case("alg NONE", me(&jwt::unsigned(&json!({"alg": "NONE", "typ": "JWT"}), &good)), INVALID),
        case(
            "alg none with the real signature kept",
            me(&format!("{}.{}.{}", jwt::b64(br#"{"alg":"none"}"#), parts[1], parts[2])),
            INVALID,
        ),
        case("HS256 re-signed with an empty key", me(&jwt::sign("HS256", b"", &good)), INVALID),
        case("HS384 when HS256 is configured", me(&jwt::sign("HS384", secret, &good)), INVALID),
        case(
            "RS256 header over an HMAC signature (key confusion)",
            me(&jwt::sign_with("HS256", secret, &header(json!({"alg": "RS256"})), &good)),
            INVALID,
        ),
        case("stripped signature", me(&format!("{}.{}.", parts[0], parts[1])), INVALID),
        case(
            "swapped payload (another user's claims, our signature)",
            me(&jwt::with_payload(&login.token, &claims_for(other))),
            INVALID,
        ),
        case("exp missing", me(&signed(&without(&good, "exp"))), INVALID),
        case("exp as a string", me(&signed(&with(&good, &[("exp", json!((now() + 600).to_string()))]))), INVALID),
        case(
            "exp in the past",
            me(&signed(&with(&good, &[("exp", json!(now() - 120))]))),
            Expect::Error(401, "TOKEN_EXPIRED"),
        ),
        case("nbf in the future", me(&signed(&with(&good, &[("nbf", json!(now() + 3600))]))), INVALID),
        case("wrong issuer", me(&signed(&with(&good, &[("iss", json!("evil"))]))), INVALID),
        case("sub of a deleted user", me(&deleted.token), INVALID),
        case("revoked sid", me(&revoked.token), INVALID),
        case("sid of another user's session", me(&signed(&with(&good, &[("sid", json!(other.sid()))]))), INVALID),
        case("oversize token (9 KiB)", me(&signed(&with(&good, &[("pad", json!("x".repeat(9 * 1024)))]))), INVALID),
        case("non-base64 segments", me("!!!.@@@.###"), INVALID),
        case("extra segments", me(&format!("{}.extra", login.token)), INVALID),
        case("two segments", me(&format!("{}.{}", parts[0], parts[1])), INVALID),
        case(
            "JSON injection: duplicate sub in the signed payload",
            me(&format!(
                "{}.{}.{}",
                parts[0],
                jwt::b64(
                    format!(
                        r#"{{"sub":"{}","sub":"{}","sid":"{}","iat":{},"exp":{},"iss":"itsor"}}"#,
                        login.sub(),
                        other.sub(),
                        login.sid(),
                        now(),
                        now() + 600
                    )
                    .as_bytes()
                ),
                "sig"
            )),
            INVALID,
        ),
        case(
            "JSON injection: quotes in sub, properly signed",
            me(&signed(&with(&good, &[("sub", json!(format!("{}\",\"admin\":true", login.sub())))]))),
            INVALID,
        ),
        case(
            "kid pointing at a file, signed with an empty key",
            me(&jwt::sign_with("HS256", b"", &header(json!({"kid": "../../../../dev/null"})), &good)),
            INVALID,
        ),
        case(
            "jku naming an attacker's key set",
            me(&jwt::sign_with("HS256", b"attacker", &header(json!({"jku": "https://evil.example/jwks.json"})), &good)),
            INVALID,
        ),
        case(
            "x5u naming an attacker's certificate",
            me(&jwt::sign_with("HS256", b"attacker", &header(json!({"x5u": "https://evil.example/cert.pem"})), &good)),
            INVALID,
        ),
        case(
            "embedded jwk with the attacker's key",
            me(&jwt::sign_with(
                "HS256",
                b"attacker",
                &header(json!({"jwk": {"kty": "oct", "k": "YXR0YWNrZXI"}})),
                &good,
            )),
            INVALID,
        ),
        case(
            "Basic instead of Bearer",
            get("/auth/me").header("Authorization", &format!("Basic {}", login.token)),
            INVALID,
        ),
        case("token in the query string", get(&format!("/auth/me?access_token={}", login.token)), INVALID),
        case(
            "cookie and bearer of different users: the bearer wins",
            get("/auth/me").bearer(&other.token).cookie(COOKIE, &login.token),
            Expect::UserIs("other@example.com"),
        ),
        case(
            "bad bearer with a good cookie: no fallback",
            get("/auth/me").bearer("garbage").cookie(COOKIE, &login.token),
            INVALID,
        ),
    ]
}

fn input_cases() -> Vec<Case> {
    let email = |e: &str| signup(json!({ "email": e, "password": PASSWORD }));
    vec![
        case(
            "SQL metacharacters in e-mail",
            email("a'; DROP TABLE users;--@x.co"),
            Expect::Error(422, "VALIDATION_ERROR"),
        ),
        case("SQL comment in e-mail domain", email("a@x.co'--"), Expect::Error(422, "VALIDATION_ERROR")),
        case("NUL byte in e-mail", email("a\u{0}@x.co"), Expect::Error(422, "VALIDATION_ERROR")),
        case(
            "NUL byte in name",
            signup(json!({ "email": "nul@x.co", "password": PASSWORD, "name": "a\u{0}b" })),
            Expect::Error(422, "VALIDATION_ERROR"),
        ),
        case(
            "1 MiB name",
            signup(json!({ "email": "big@x.co", "password": PASSWORD, "name": "n".repeat(1 << 20) })),
            Expect::Error(413, "PAYLOAD_TOO_LARGE"),
        ),
        case(
            "invalid UTF-8 body",
            post("/auth/signup").body(Some("application/json"), b"{\"email\": \"\xff\xfe\"}".to_vec()),
            Expect::Error(400, "INVALID_BODY"),
        ),
        case(
            "duplicate JSON keys",
            post("/auth/signup").body(
                Some("application/json"),
                format!(r#"{{"email":"a@x.co","email":"b@x.co","password":"{PASSWORD}"}}"#).into_bytes(),
            ),
            Expect::Error(400, "INVALID_BODY"),
        ),
        case(
            "deeply nested JSON",
            post("/auth/signup")
                .body(Some("application/json"), format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes()),
            Expect::Error(400, "INVALID_BODY"),
        ),
        case(
            "JSON array instead of an object",
            post("/auth/signup").body(Some("application/json"), b"[]".to_vec()),
            Expect::Error(400, "INVALID_BODY"),
        ),
        case(
            "text/plain body",
            post("/auth/signup").body(Some("text/plain"), b"email=a@x.co".to_vec()),
            Expect::Error(415, "UNSUPPORTED_MEDIA_TYPE"),
        ),
        case(
            "form body to the JSON-only sign-up",
            post("/auth/signup").form(&[("email", "a@x.co"), ("password", PASSWORD)]),
            Expect::Error(415, "UNSUPPORTED_MEDIA_TYPE"),
        ),
        case(
            "e-mail as a number",
            signup(json!({ "email": 42, "password": PASSWORD })),
            Expect::Error(422, "VALIDATION_ERROR"),
        ),
        case(
            "password as an object",
            signup(json!({ "email": "obj@x.co", "password": {"$ne": ""} })),
            Expect::Error(422, "VALIDATION_ERROR"),
        ),
        case(
            "NoSQL operator as the login password",
            post("/auth/token").json(&json!({ "email": "victim@example.com", "password": {"$gt": ""} })),
            Expect::Error(422, "VALIDATION_ERROR"),
        ),
        case(
            "129-character password",
            signup(json!({ "email": "long@x.co", "password": "p".repeat(129) })),
            Expect::Error(422, "VALIDATION_ERROR"),
        ),
        case("the victim's e-mail in other case", email("VICTIM@Example.COM"), Expect::Error(409, "EMAIL_TAKEN")),
        case(
            "bare CR inside a header value",
            Request::new("GET", "/auth/me").header("X-Test", "a\rInjected: 1"),
            Expect::Status(400),
        ),
        case(
            "CRLF-injected Set-Cookie through a header value",
            Request::new("GET", "/auth/me").header("X-Test", "a\r\nSet-Cookie: evil=1"),
            Expect::Error(401, "INVALID_TOKEN"),
        ),
    ]
}

fn csrf_cases(login: &Login) -> Vec<Case> {
    let logout_by_cookie = || post("/auth/logout").cookie(COOKIE, &login.token);
    vec![
        case(
            "cookie-authenticated write from Origin: null (a sandboxed frame)",
            logout_by_cookie().header("Origin", "null"),
            Expect::Error(403, "CSRF_REJECTED"),
        ),
        case(
            "cookie-authenticated write from a foreign Origin",
            logout_by_cookie().header("Origin", "https://evil.example"),
            Expect::Error(403, "CSRF_REJECTED"),
        ),
        case(
            "cookie-authenticated write from a sibling site (Sec-Fetch-Site: same-site)",
            logout_by_cookie().header("Origin", "http://localhost:3001").header("Sec-Fetch-Site", "same-site"),
            Expect::Error(403, "CSRF_REJECTED"),
        ),
        case(
            "cross-site form login",
            post("/auth/token")
                .form(&[("username", "victim@example.com"), ("password", PASSWORD)])
                .header("Origin", "https://evil.example"),
            Expect::Error(403, "CSRF_REJECTED"),
        ),
        case(
            "cross-site form login with Sec-Fetch-Site and no Origin",
            post("/auth/token")
                .form(&[("username", "victim@example.com"), ("password", PASSWORD)])
                .without_origin()
                .header("Sec-Fetch-Site", "cross-site"),
            Expect::Error(403, "CSRF_REJECTED"),
        ),
        case(
            "Sec-Fetch-Site: cross-site with a cookie",
            logout_by_cookie().without_origin().header("Sec-Fetch-Site", "cross-site"),
            Expect::Error(403, "CSRF_REJECTED"),
        ),
        case(
            "cross-site cookie write with Basic credentials the browser remembered",
            logout_by_cookie().header("Authorization", "Basic dXNlcjpwYXNz").header("Origin", "https://evil.example"),
            Expect::Error(403, "CSRF_REJECTED"),
        ),
        case(
            "cross-site sign-up from a page of another origin",
            signup(json!({ "email": "csrf-signup@example.com", "password": PASSWORD }))
                .header("Origin", "https://evil.example"),
            Expect::Error(403, "CSRF_REJECTED"),
        ),
    ]
}

#[test]
fn every_attack_gets_its_exact_answer_and_the_server_carries_on() {
    let server = Server::start();
    server.signup_ok("victim@example.com", PASSWORD);
    server.signup_ok("other@example.com", PASSWORD);
    let login = server.login_ok("victim@example.com", PASSWORD);
    let other = server.login_ok("other@example.com", PASSWORD);

    let mut cases = token_cases(&server, &login, &other);
    cases.extend(input_cases());
    cases.extend(csrf_cases(&login));
    assert!(cases.len() >= 50, "the suite shrank to {} cases", cases.len());
    for Case { name, request, expect } in cases {
        let resp = server.send(request);
        match expect {
            Expect::Error(status, code) => {
                assert_eq!(
                    (resp.status, resp.json()["error_code"].clone()),
                    (status, json!(code)),
                    "{name}: {}",
                    resp.describe()
                );
                assert_error(&resp, status, code);
            }
            Expect::UserIs(email) => {
                assert_eq!(resp.status, 200, "{name}: {}", resp.describe());
                assert_eq!(resp.json()["email"], email, "{name}");
            }
            Expect::Status(status) => assert_eq!(resp.status, status, "{name}: {}", resp.describe()),
        }
    }

    // Nothing was dropped, injected or revoked by the attacks: the victim's session lives.
    let users = server.database().count("SELECT COUNT(*) FROM users", &[]);
    assert_eq!(users, 2, "only the victim and the other user remain");
    assert_eq!(server.me_bearer(&login.token).json()["email"], "victim@example.com");
    server.assert_alive();
}

#[test]
fn safe_writes_pass_the_csrf_rule() {
    let server = Server::start();
    server.signup_ok("csrf@example.com", PASSWORD);
    // Same-origin browsers vouch with Sec-Fetch-Site; `none` is a typed or bookmarked request.
    for site in ["same-origin", "none"] {
        let login = server.login_ok("csrf@example.com", PASSWORD);
        let resp = server
            .send(post("/auth/logout").cookie(COOKIE, &login.token).without_origin().header("Sec-Fetch-Site", site));
        assert_status(&resp, 204);
    }
    // An allowed Origin passes, with or without Sec-Fetch-Site.
    let login = server.login_ok("csrf@example.com", PASSWORD);
    let resp = server.send(
        post("/auth/logout")
            .cookie(COOKIE, &login.token)
            .header("Origin", "http://localhost:3000")
            .header("Sec-Fetch-Site", "same-site"),
    );
    assert_status(&resp, 204);
    // Bearer-authenticated requests are not affected, whatever the Origin.
    let login = server.login_ok("csrf@example.com", PASSWORD);
    let resp = server.send(post("/auth/logout").bearer(&login.token).header("Origin", "https://evil.example"));
    assert_status(&resp, 204);
    assert_invalid_token(&server.me_bearer(&login.token));
    // Neither Origin nor Sec-Fetch-Site: not a browser (curl, an OAuth2 password-grant
    // client, a server), so nothing to forge: the form login and a cookie logout pass.
    let resp = server
        .send(post("/auth/token").form(&[("username", "csrf@example.com"), ("password", PASSWORD)]).without_origin());
    assert_status(&resp, 200);
    let token = resp.json()["access_token"].as_str().expect("a token").to_owned();
    let resp = server.send(post("/auth/logout").cookie(COOKIE, &token).without_origin());
    assert_status(&resp, 204);
    assert_invalid_token(&server.me_bearer(&token));
    // Such clients read a failed grant the OAuth2 way (RFC 6749 §5.2).
    let form = |pairs: &[(&str, &str)]| server.send(post("/auth/token").form(pairs).without_origin());
    let wrong = form(&[("grant_type", "password"), ("username", "csrf@example.com"), ("password", "wrong password")]);
    assert_error(&wrong, 401, "INVALID_CREDENTIALS");
    assert_eq!(wrong.json()["error"], "invalid_grant");
    let grant = form(&[("grant_type", "client_credentials"), ("username", "csrf@example.com"), ("password", PASSWORD)]);
    assert_error(&grant, 422, "VALIDATION_ERROR");
    assert_eq!(grant.json()["error"], "unsupported_grant_type");
}
