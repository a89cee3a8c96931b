//! Input handling: validation, normalisation, malformed and hostile requests, routing.
//! Bad input is always a 4xx with the JSON error body, never a 5xx.

use serde_json::{Value, json};

use crate::support::*;

/// Raw request bytes: `head_lines` are complete `Name: value\r\n` lines.
fn raw_request(server: &Server, method: &str, target: &str, head_lines: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes =
        format!("{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{head_lines}\r\n", server.addr())
            .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A JSON `POST` with an exact `Content-Length`.
fn raw_json_post(server: &Server, target: &str, body: &[u8]) -> Vec<u8> {
    raw_request(
        server,
        "POST",
        target,
        &format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()),
        body,
    )
}

/// A chunked body of `body` in 8 KiB chunks.
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in body.chunks(8 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// For requests that HTTP parsing itself may refuse: either no response at all (the
/// connection is closed) or a response that is not a 5xx.
#[track_caller]
fn assert_refused_or_4xx(what: &str, result: Result<Response, String>) {
    if let Ok(resp) = result {
        assert!(resp.status < 500, "{what}: server error {}", resp.describe());
    }
}

/// A JSON signup body whose serialisation is exactly `len` bytes (padding the name).
fn signup_body_of_len(len: usize) -> Vec<u8> {
    let empty = json!({ "email": "big@example.com", "password": PASSWORD, "name": "" }).to_string();
    assert!(len > empty.len());
    let body = json!({ "email": "big@example.com", "password": PASSWORD, "name": "n".repeat(len - empty.len()) })
        .to_string()
        .into_bytes();
    assert_eq!(body.len(), len);
    body
}

#[test]
fn duplicate_signup_is_a_conflict() {
    let server = Server::start();
    let first = server.signup_ok("dup@example.com", PASSWORD);
    for email in ["dup@example.com", "DUP@Example.com", "  dup@example.com\t"] {
        let resp = server.signup(email, "a different password");
        let detail = assert_error(&resp, 409, "EMAIL_TAKEN");
        assert_eq!(detail, "Email already registered");
    }
    // The original account is untouched: its password still works, the other does not.
    let login = server.login_ok("dup@example.com", PASSWORD);
    assert_eq!(server.me_bearer(&login.token).json(), first);
    assert_error(&server.login("dup@example.com", "a different password"), 401, "INVALID_CREDENTIALS");
}

#[test]
fn email_is_trimmed_and_lower_cased() {
    let server = Server::start();
    let user = server.signup_ok("  Foo@Example.COM ", PASSWORD);
    assert_eq!(user["email"], "foo@example.com");
    for spelling in ["foo@example.com", "  Foo@Example.COM ", "FOO@EXAMPLE.COM"] {
        let login = server.login_ok(spelling, PASSWORD);
        assert_eq!(server.me_bearer(&login.token).json(), user, "login as {spelling:?}");
        let form = server.login_form(spelling, PASSWORD);
        assert_status(&form, 200);
    }
}

#[test]
fn password_is_used_exactly_as_typed() {
    let server = Server::start();
    let typed = "  secret pass  ";
    server.signup_ok("spaces@example.com", typed);
    for wrong in ["secret pass", "  secret pass", "secret pass  ", "  SECRET PASS  "] {
        assert_error(&server.login("spaces@example.com", wrong), 401, "INVALID_CREDENTIALS");
    }
    server.login_ok("spaces@example.com", typed);
    assert_status(&server.login_form("spaces@example.com", typed), 200);

    // Control characters, quotes and non-ASCII are just characters of a password.
    let odd = "line\r\nbreak \"quoted\" \u{00e9}\u{1F600}\t";
    server.signup_ok("odd@example.com", odd);
    server.login_ok("odd@example.com", odd);
    // Unicode is not normalised: NFC é vs NFD e + combining acute are different passwords.
    server.signup_ok("nfc@example.com", "caf\u{00e9}-password");
    assert_error(&server.login("nfc@example.com", "cafe\u{0301}-password"), 401, "INVALID_CREDENTIALS");
}

#[test]
fn password_length_limits() {
    let server = Server::start();
    let cases: [(&str, String, bool); 8] = [
        ("7 ASCII", "a".repeat(7), false),
        ("8 ASCII", "a".repeat(8), true),
        ("128 ASCII", "b".repeat(128), true),
        ("129 ASCII", "c".repeat(129), false),
        ("7 two-byte characters", "\u{00e9}".repeat(7), false),
        ("8 two-byte characters", "\u{00e9}".repeat(8), true),
        ("128 two-byte characters", "\u{00fc}".repeat(128), true),
        ("empty", String::new(), false),
    ];
    for (i, (what, password, ok)) in cases.iter().enumerate() {
        let email = format!("len{i}@example.com");
        let resp = server.signup(&email, password);
        if *ok {
            assert_eq!(resp.status, 201, "{what}: {}", resp.describe());
            server.login_ok(&email, password);
        } else {
            assert_eq!(resp.status, 422, "{what}: {}", resp.describe());
            assert_validation(&resp, "password");
        }
    }
}

#[test]
fn invalid_emails_are_rejected() {
    let server = Server::start();
    let long_local = format!("{}@example.com", "a".repeat(65));
    // 60 + 1 + 4 * 61 + 3 = 308 bytes of otherwise valid labels.
    let long_total = format!("{}@{}com", "a".repeat(60), format!("{}.", "b".repeat(60)).repeat(4));
    let invalid = [
        "",
        "   ",
        "plain",
        "@example.com",
        "a@",
        "a@b",
        "a b@example.com",
        "a@exa mple.com",
        "a@b@example.com",
        "a@-example.com",
        "a@example..com",
        "a@example.com\r\nX-Injected: 1",
        "a\u{0}@example.com",
        "<script>@example.com",
        long_local.as_str(),
        long_total.as_str(),
    ];
    for email in invalid {
        let resp = server.signup(email, PASSWORD);
        assert_eq!(resp.status, 422, "email {email:?}: {}", resp.describe());
        assert_validation(&resp, "email");
    }
    // Nothing was stored.
    let count: i64 = server.db().query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)).expect("count users");
    assert_eq!(count, 0);
}

#[test]
fn name_is_optional_trimmed_and_bounded() {
    let server = Server::start();
    let user =
        server.signup_json(&json!({ "email": "n1@example.com", "password": PASSWORD, "name": "  Ada Lovelace " }));
    assert_status(&user, 201);
    assert_eq!(user.json()["name"], "Ada Lovelace");
    let null_name = server.signup_json(&json!({ "email": "n2@example.com", "password": PASSWORD, "name": null }));
    assert_status(&null_name, 201);
    assert_eq!(null_name.json()["name"], Value::Null);
    let unicode = server.signup_json(&json!({ "email": "n3@example.com", "password": PASSWORD, "name": "Zoë 日本" }));
    assert_status(&unicode, 201);
    assert_eq!(unicode.json()["name"], "Zoë 日本");
    for bad in ["n".repeat(101), "Ada\r\nSet-Cookie: evil=1".to_owned(), "a\u{0}b".to_owned()] {
        let resp = server.signup_json(&json!({ "email": "n4@example.com", "password": PASSWORD, "name": bad }));
        assert_validation(&resp, "name");
        assert!(resp.set_cookies().is_empty(), "{}", resp.describe());
    }
}

#[test]
fn missing_fields_are_named() {
    let server = Server::start();
    assert_validation(&server.signup_json(&json!({ "password": PASSWORD })), "email");
    assert_validation(&server.signup_json(&json!({ "email": "m@example.com" })), "password");
    let resp = server.signup_json(&json!({}));
    assert_error(&resp, 422, "VALIDATION_ERROR");
    assert_validation(&server.send(post("/auth/token").json(&json!({ "password": PASSWORD }))), "email");
    assert_validation(&server.send(post("/auth/token").json(&json!({ "email": "m@example.com" }))), "password");
    assert_error(&server.send(post("/auth/token").json(&json!({}))), 422, "VALIDATION_ERROR");
    assert_error(&server.send(post("/auth/token").form(&[])), 422, "VALIDATION_ERROR");
}

#[test]
fn wrong_json_types_are_validation_errors() {
    let server = Server::start();
    let cases = [
        (json!({ "email": 5, "password": PASSWORD }), "email"),
        (json!({ "email": null, "password": PASSWORD }), "email"),
        (json!({ "email": ["a@example.com"], "password": PASSWORD }), "email"),
        (json!({ "email": { "$ne": null }, "password": PASSWORD }), "email"),
        (json!({ "email": "t@example.com", "password": 12_345_678 }), "password"),
        (json!({ "email": "t@example.com", "password": true }), "password"),
        (json!({ "email": "t@example.com", "password": null }), "password"),
        (json!({ "email": "t@example.com", "password": PASSWORD, "name": 5 }), "name"),
        (json!({ "email": "t@example.com", "password": PASSWORD, "name": ["Ada"] }), "name"),
    ];
    for (body, field) in &cases {
        let resp = server.signup_json(body);
        assert_eq!(resp.status, 422, "signup {body}: {}", resp.describe());
        assert_validation(&resp, field);
    }
    for (body, field) in cases.iter().take(7) {
        let resp = server.send(post("/auth/token").json(body));
        assert_eq!(resp.status, 422, "token {body}: {}", resp.describe());
        assert_validation(&resp, field);
    }
    // A body that is JSON but not an object is refused (400 or 422), with the JSON error.
    for body in ["[]", "\"a@example.com\"", "5", "null", "true"] {
        for target in ["/auth/signup", "/auth/token"] {
            let resp = server.send(post(target).body(Some("application/json"), body.as_bytes().to_vec()));
            assert!(resp.status == 400 || resp.status == 422, "{target} {body}: {}", resp.describe());
            assert_error_shape(&resp);
        }
    }
    let count: i64 = server.db().query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)).expect("count users");
    assert_eq!(count, 0, "nothing is stored from a bad request");
}

#[test]
fn malformed_json_is_a_bad_request() {
    let server = Server::start();
    let bodies: [&[u8]; 9] = [
        b"",
        b"{",
        b"{\"email\":",
        b"not json",
        b"{'email':'a@example.com','password':'password1'}",
        b"{\"email\":\"a@example.com\",\"password\":\"password1\"} trailing",
        b"{\"email\":\"a@example.com\",\"password\":\"password1\",}",
        b"{\"email\":\"a@example.com\" \"password\":\"password1\"}",
        b"\xef\xbb\xbf{\"email\":\"a@example.com\",\"password\":\"password1\"",
    ];
    for body in bodies {
        for target in ["/auth/signup", "/auth/token"] {
            let resp = server.send(post(target).body(Some("application/json"), body.to_vec()));
            assert_eq!(resp.status, 400, "{target} {:?}: {}", String::from_utf8_lossy(body), resp.describe());
            assert_error(&resp, 400, "INVALID_BODY");
        }
    }
    server.assert_alive();
}

#[test]
fn duplicate_json_keys_are_refused() {
    // A parser differential (first vs last key wins) must not be exploitable: refuse.
    let server = Server::start();
    let body = br#"{"email":"first@example.com","email":"second@example.com","password":"password123"}"#;
    let resp = server.send(post("/auth/signup").body(Some("application/json"), body.to_vec()));
    match resp.status {
        400 => {
            assert_error(&resp, 400, "INVALID_BODY");
        }
        422 => assert_validation(&resp, "email"),
        _ => panic!("duplicate keys must be refused with 400 or 422: {}", resp.describe()),
    }
    let body = br#"{"email":"dupe@example.com","password":"password123","password":"password456"}"#;
    let resp = server.send(post("/auth/signup").body(Some("application/json"), body.to_vec()));
    assert!(resp.status == 400 || resp.status == 422, "{}", resp.describe());
    assert_error_shape(&resp);
    let count: i64 = server.db().query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)).expect("count users");
    assert_eq!(count, 0, "nothing is stored from an ambiguous body");
}

#[test]
fn unknown_json_fields_are_ignored() {
    let server = Server::start();
    let resp = server.signup_json(&json!({
        "email": "extra@example.com", "password": PASSWORD, "is_admin": true, "id": "00000000-0000-0000-0000-000000000000"
    }));
    assert_status(&resp, 201);
    let user = resp.json();
    assert_user_shape(&user);
    assert_ne!(user["id"], "00000000-0000-0000-0000-000000000000", "the client cannot choose its id");
}

#[test]
fn wrong_content_type_is_unsupported() {
    let server = Server::start();
    let body = json!({ "email": "ct@example.com", "password": PASSWORD }).to_string().into_bytes();
    let form = format!("username=ct%40example.com&password={}", support_form(PASSWORD)).into_bytes();
    let refused: [(&str, Option<&str>, &Vec<u8>); 8] = [
        ("/auth/signup", Some("text/plain"), &body),
        ("/auth/signup", None, &body),
        ("/auth/signup", Some("application/x-www-form-urlencoded"), &form),
        ("/auth/signup", Some("application/jsonp"), &body),
        ("/auth/signup", Some("application/xml"), &body),
        ("/auth/token", Some("text/plain"), &body),
        ("/auth/token", Some("multipart/form-data; boundary=x"), &form),
        ("/auth/token", None, &body),
    ];
    for (target, ct, body) in refused {
        let resp = server.send(post(target).body(ct, body.clone()));
        assert_eq!(resp.status, 415, "{target} with {ct:?}: {}", resp.describe());
        assert_error(&resp, 415, "UNSUPPORTED_MEDIA_TYPE");
    }
    // Parameters and case do not matter.
    let resp = server.send(post("/auth/signup").body(Some("application/json; charset=utf-8"), body.clone()));
    assert_status(&resp, 201);
    let resp = server.send(post("/auth/token").body(Some("Application/JSON"), body.clone()));
    assert_status(&resp, 200);
    let resp = server.send(post("/auth/token").body(Some("application/x-www-form-urlencoded; charset=UTF-8"), form));
    assert_status(&resp, 200);
}

fn support_form(s: &str) -> String {
    crate::support::http::form_encode(s)
}

#[test]
fn oversize_bodies_are_refused() {
    let server = Server::start();
    // 70 KiB of valid JSON, with Content-Length.
    let big = signup_body_of_len(70 * 1024);
    for target in ["/auth/signup", "/auth/token"] {
        let resp = server.send_raw(&raw_json_post(&server, target, &big));
        assert_eq!(resp.status, 413, "{target}: {}", resp.describe());
        assert_error(&resp, 413, "PAYLOAD_TOO_LARGE");
    }
    // The same, chunked (no Content-Length to check up front).
    let resp = server.send_raw(&raw_request(
        &server,
        "POST",
        "/auth/signup",
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
        &chunked(&big),
    ));
    assert_error(&resp, 413, "PAYLOAD_TOO_LARGE");
    // A declared 70 KiB with only a little sent: refused up front or as a short body.
    let lie = raw_request(
        &server,
        "POST",
        "/auth/signup",
        "Content-Type: application/json\r\nContent-Length: 71680\r\n",
        b"{}",
    );
    let resp = server.try_send_raw_half_closed(&lie).unwrap_or_else(|e| panic!("no response: {e}"));
    assert!(resp.status == 413 || resp.status == 400, "{}", resp.describe());
    assert_error_shape(&resp);

    // Exactly 64 KiB is allowed (and then judged on its content: the name is too long).
    let at_limit = signup_body_of_len(64 * 1024);
    let resp = server.send_raw(&raw_json_post(&server, "/auth/signup", &at_limit));
    assert_validation(&resp, "name");
    let over = signup_body_of_len(64 * 1024 + 1);
    let resp = server.send_raw(&raw_json_post(&server, "/auth/signup", &over));
    assert_error(&resp, 413, "PAYLOAD_TOO_LARGE");
    server.assert_alive();
}

#[test]
fn invalid_utf8_bodies_are_bad_requests() {
    let server = Server::start();
    let json_body = b"{\"email\":\"\xff\xfe@example.com\",\"password\":\"password123\"}";
    for target in ["/auth/signup", "/auth/token"] {
        let resp = server.send(post(target).body(Some("application/json"), json_body.to_vec()));
        assert_error(&resp, 400, "INVALID_BODY");
    }
    let password_body = b"{\"email\":\"utf@example.com\",\"password\":\"pass\xc3\x28word\"}";
    assert_error(
        &server.send(post("/auth/signup").body(Some("application/json"), password_body.to_vec())),
        400,
        "INVALID_BODY",
    );
    // Raw invalid bytes in a form.
    let form = b"username=utf%40example.com&password=pass\xffword".to_vec();
    let resp = server.send(post("/auth/token").body(Some("application/x-www-form-urlencoded"), form));
    assert_error(&resp, 400, "INVALID_BODY");
    // Percent-encoded invalid UTF-8: refused one way or another, never accepted or a 5xx.
    let form = b"username=utf%40example.com&password=pass%FFword".to_vec();
    let resp = server.send(post("/auth/token").body(Some("application/x-www-form-urlencoded"), form));
    assert!(matches!(resp.status, 400 | 401 | 422), "{}", resp.describe());
    assert_error_shape(&resp);
    server.assert_alive();
}

#[test]
fn wrong_content_length() {
    let server = Server::start();
    let body = json!({ "email": "cl@example.com", "password": PASSWORD }).to_string().into_bytes();

    // Shorter than the body: the server reads a truncated JSON document.
    let short =
        raw_request(&server, "POST", "/auth/signup", "Content-Type: application/json\r\nContent-Length: 20\r\n", &body);
    assert_error(&server.send_raw(&short), 400, "INVALID_BODY");

    // Longer than the body, then end of stream: an incomplete body is a bad request.
    let long = raw_request(
        &server,
        "POST",
        "/auth/signup",
        &format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len() + 100),
        &body,
    );
    let resp = server.try_send_raw_half_closed(&long).unwrap_or_else(|e| panic!("no response to a short body: {e}"));
    assert!(resp.status == 400, "{}", resp.describe());
    assert_error_shape(&resp);

    // Not a number, negative, or two different values: HTTP parsing refuses them.
    for header in [
        "Content-Length: abc\r\n",
        "Content-Length: -5\r\n",
        &format!("Content-Length: {}\r\nContent-Length: 3\r\n", body.len()),
        &format!("Content-Length: {}\r\nTransfer-Encoding: chunked\r\n", body.len()),
    ] {
        let bytes =
            raw_request(&server, "POST", "/auth/signup", &format!("Content-Type: application/json\r\n{header}"), &body);
        assert_refused_or_4xx(header, server.try_send_raw_half_closed(&bytes));
    }
    // None of that created the account.
    let count: i64 = server.db().query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)).expect("count users");
    assert_eq!(count, 0);
    server.assert_alive();
}

#[test]
fn crlf_and_header_tricks() {
    let server = Server::start();
    // Header injection through JSON values is impossible: the values are validated, and
    // nothing user-supplied is echoed into headers.
    let resp = server.signup_json(&json!({ "email": "crlf@example.com\r\nSet-Cookie: evil=1", "password": PASSWORD }));
    assert_validation(&resp, "email");
    assert!(resp.set_cookies().is_empty(), "{}", resp.describe());
    let resp = server.login_form("crlf@example.com\r\nX-Injected: 1", PASSWORD);
    assert!(matches!(resp.status, 401 | 422), "{}", resp.describe());
    assert_error_shape(&resp);
    assert!(resp.header("x-injected").is_none(), "{}", resp.describe());
    assert!(resp.set_cookies().is_empty(), "{}", resp.describe());

    // A token with CR/LF smuggled into a cookie value never authenticates.
    let resp = server.send(get("/auth/me").header("Cookie", &format!("{COOKIE}=abc%0D%0AX-Injected:%201")));
    assert_invalid_token(&resp);
    assert!(resp.header("x-injected").is_none(), "{}", resp.describe());

    // Bare LF line endings, obs-fold, a NUL in a header, a space before the colon.
    let addr = server.addr();
    let tricks: Vec<(&str, Vec<u8>)> = vec![
        ("bare LF", format!("GET /auth/me HTTP/1.1\nHost: {addr}\nConnection: close\n\n").into_bytes()),
        (
            "obs-fold",
            format!(
                "GET /auth/me HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer\r\n abc\r\nConnection: close\r\n\r\n"
            )
            .into_bytes(),
        ),
        (
            "NUL in a header",
            format!("GET /auth/me HTTP/1.1\r\nHost: {addr}\r\nCookie: {COOKIE}=a\0b\r\nConnection: close\r\n\r\n")
                .into_bytes(),
        ),
        (
            "space before colon",
            format!("GET /auth/me HTTP/1.1\r\nHost: {addr}\r\nAuthorization : Bearer x\r\nConnection: close\r\n\r\n")
                .into_bytes(),
        ),
        ("CR alone", format!("GET /auth/me HTTP/1.1\rHost: {addr}\r\r").into_bytes()),
    ];
    for (what, bytes) in tricks {
        let result = server.try_send_raw_half_closed(&bytes);
        if let Ok(resp) = &result {
            assert_ne!(resp.status, 200, "{what}: {}", resp.describe());
        }
        assert_refused_or_4xx(what, result);
    }
    server.assert_alive();
}

#[test]
fn unknown_routes_are_404_and_wrong_methods_405() {
    let server = Server::start();
    for (method, target) in [
        ("GET", "/"),
        ("GET", "/nope"),
        ("GET", "/auth"),
        ("GET", "/auth/"),
        ("POST", "/auth/unknown"),
        ("GET", "/auth/me/extra"),
        ("GET", "/AUTH/ME"),
        ("GET", "/auth/me.json"),
        ("GET", "/auth/../etc/passwd"),
    ] {
        let resp = server.send(Request::new(method, target));
        assert_eq!(resp.status, 404, "{method} {target}: {}", resp.describe());
        assert_error(&resp, 404, "NOT_FOUND");
    }
    for (method, target, allowed) in [
        ("GET", "/auth/signup", "POST"),
        ("PATCH", "/auth/signup", "POST"),
        ("GET", "/auth/token", "POST"),
        ("DELETE", "/auth/token", "POST"),
        ("POST", "/auth/me", "GET"),
        ("PUT", "/auth/me", "GET"),
        ("DELETE", "/auth/me", "GET"),
        ("GET", "/auth/logout", "POST"),
    ] {
        let resp = server.send(Request::new(method, target));
        assert_eq!(resp.status, 405, "{method} {target}: {}", resp.describe());
        assert_error(&resp, 405, "METHOD_NOT_ALLOWED");
        let allow = resp.header("allow").unwrap_or_default();
        assert!(
            allow.split(',').any(|m| m.trim() == allowed),
            "{method} {target}: Allow {allow:?} should list {allowed}"
        );
    }
    // A query string does not change the route.
    assert_invalid_token(&server.send(get("/auth/me?x=1")));
    let resp =
        server.send(post("/auth/signup?next=/x").json(&json!({ "email": "q@example.com", "password": PASSWORD })));
    assert_status(&resp, 201);
}

#[test]
fn hostile_requests_then_the_server_still_works() {
    let server = Server::start();
    let addr = server.addr();
    let huge_header = format!(
        "GET /auth/me HTTP/1.1\r\nHost: {addr}\r\nCookie: {COOKIE}={}\r\nConnection: close\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    let many_headers = format!(
        "GET /auth/me HTTP/1.1\r\nHost: {addr}\r\n{}Connection: close\r\n\r\n",
        (0..300).map(|i| format!("X-H{i}: v\r\n")).collect::<String>()
    );
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("garbage", b"GARBAGE\r\n\r\n".to_vec()),
        ("binary", (0u8..=255).collect()),
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec()),
        ("invalid UTF-8 path", b"GET /auth/\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("bad version", format!("GET /auth/me HTTP/9.9\r\nHost: {addr}\r\n\r\n").into_bytes()),
        ("absolute URI", format!("GET http://{addr}/auth/me HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").into_bytes()),
        ("1 MiB header", huge_header.into_bytes()),
        ("300 headers", many_headers.into_bytes()),
        (
            "bad chunk size",
            format!("POST /auth/signup HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n").into_bytes(),
        ),
        (
            "truncated chunked body",
            format!("POST /auth/signup HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n{{\"email\"").into_bytes(),
        ),
    ];
    for (what, bytes) in hostile {
        assert_refused_or_4xx(what, server.try_send_raw_half_closed(&bytes));
    }
    // Nested JSON deep enough to overflow a naive recursive parser.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes();
    let resp = server.send(post("/auth/signup").body(Some("application/json"), deep[..60_000].to_vec()));
    assert_not_5xx(&resp);
    assert_error_shape(&resp);

    // Still serving, and correctly.
    let user = server.signup_ok("survivor@example.com", PASSWORD);
    let login = server.login_ok("survivor@example.com", PASSWORD);
    let me = server.me_bearer(&login.token);
    assert_status(&me, 200);
    assert_eq!(me.json(), user);
}
