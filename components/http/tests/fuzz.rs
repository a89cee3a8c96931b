//! Fuzz targets for everything the adapter parses from the wire: the router (paths, query
//! strings, methods), JSON and form bodies, the `Cookie` and `Authorization` headers, and
//! CORS/CSRF headers. Each property drives the real [`itsor_http::handle`] over in-memory
//! SQLite with the real migrations and checks the contract every answer keeps: no panic,
//! never a 5xx, every error in the JSON envelope with its own status, `nosniff` always.
//!
//! Case counts follow `PROPTEST_CASES` (256 by default, a few seconds in `make test`);
//! `make fuzz` runs many more. A failing input is shrunk and printed; it then becomes a plain
//! test at the end of this file.

// A test crate: a failed expectation panics, which is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use itsor_http::{Body, Request, Response};
use proptest::prelude::*;

mod common;
use common::Native;

fn native() -> Native {
    // Cheap hashing: the parsers are the subject here, not Argon2.
    Native::new(&[
        ("password_memory_kib", "8"),
        ("password_iterations", "1"),
        ("cors_origins", "http://localhost:3000"),
    ])
}

/// The contract of every answer, whatever came in.
fn check(response: &Response) -> Result<(), TestCaseError> {
    prop_assert!(response.status < 500, "a 5xx: {response:?}");
    prop_assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    if response.status >= 400 {
        let body: serde_json::Value = serde_json::from_slice(&response.body)
            .map_err(|e| TestCaseError::fail(format!("error body is not JSON ({e}): {response:?}")))?;
        prop_assert_eq!(&body["status_code"], &serde_json::json!(response.status));
        prop_assert!(body["detail"].is_string() && body["error_code"].is_string(), "{body}");
    }
    Ok(())
}

/// Path segments that reach real routes, mixed with hostile ones.
fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("auth".to_owned()),
        Just("api".to_owned()),
        Just("signup".to_owned()),
        Just("token".to_owned()),
        Just("me".to_owned()),
        Just("sessions".to_owned()),
        Just("tasks".to_owned()),
        Just("signin".to_owned()),
        Just("00000000-0000-0000-0000-000000000000".to_owned()),
        Just("..".to_owned()),
        Just("%2e%2e".to_owned()),
        Just(String::new()),
        "[^/?#]{0,12}",
    ];
    proptest::collection::vec(segment, 0..6).prop_map(|segments| format!("/{}", segments.join("/")))
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("GET".to_owned()),
        Just("POST".to_owned()),
        Just("PUT".to_owned()),
        Just("PATCH".to_owned()),
        Just("DELETE".to_owned()),
        Just("OPTIONS".to_owned()),
        Just("HEAD".to_owned()),
        "[A-Z]{1,8}",
    ]
}

/// Bodies: JSON-looking text with the fields routes read, forms, and raw bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("12".to_owned()),
        Just("-1e999".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        "\"[^\"\\\\]{0,40}\"",
        Just("\"a@b.co\"".to_owned()),
        Just("\"\\ud800\"".to_owned()),
    ];
    let field = prop_oneof![
        Just("email"),
        Just("password"),
        Just("name"),
        Just("title"),
        Just("description"),
        Just("completed"),
        Just("current_password"),
        Just("new_password"),
        Just("__proto__"),
    ];
    let json = proptest::collection::vec((field, value), 0..6).prop_map(|pairs| {
        let members: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", members.join(",")).into_bytes()
    });
    let form = "([a-z_%+=&]|%[0-9A-Fa-f]{0,2}){0,60}".prop_map(String::into_bytes);
    prop_oneof![json, form, proptest::collection::vec(any::<u8>(), 0..200)]
}

fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let header = prop_oneof![
        ("[a-zA-Z0-9+/=._ -]{0,60}").prop_map(|v| ("authorization".to_owned(), format!("Bearer {v}").into_bytes())),
        (".{0,40}").prop_map(|v| ("authorization".to_owned(), v.into_bytes())),
        ("[^\r\n]{0,60}").prop_map(|v| ("cookie".to_owned(), format!("itsor_session={v}; a=b").into_bytes())),
        ("[^\r\n]{0,40}").prop_map(|v| ("cookie".to_owned(), v.into_bytes())),
        prop_oneof![
            Just("application/json".to_owned()),
            Just("application/x-www-form-urlencoded".to_owned()),
            Just("application/json; charset=utf-8".to_owned()),
            "[^\r\n]{0,30}",
        ]
        .prop_map(|v| ("content-type".to_owned(), v.into_bytes())),
        prop_oneof![Just("http://localhost:3000".to_owned()), Just("null".to_owned()), "[^\r\n]{0,30}"]
            .prop_map(|v| ("origin".to_owned(), v.into_bytes())),
        Just(("access-control-request-method".to_owned(), b"POST".to_vec())),
        Just(("sec-fetch-site".to_owned(), b"same-origin".to_vec())),
        ("[^\r\n]{0,30}").prop_map(|v| ("spin-client-addr".to_owned(), v.into_bytes())),
        proptest::collection::vec(any::<u8>(), 0..30).prop_map(|v| ("cookie".to_owned(), v)),
    ];
    proptest::collection::vec(header, 0..5)
}

fn request() -> impl Strategy<Value = Request> {
    (method(), path(), proptest::option::of("[^#]{0,40}"), headers(), body()).prop_map(
        |(method, path, query, headers, body)| {
            let body = if Body::is_taken_by(&method) { Body::Complete(body) } else { Body::Unread };
            Request { method, path, query, headers, body }
        },
    )
}

proptest! {
    // A failure is shrunk and printed; it is then written below as a plain test.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_request_gets_an_answer_in_the_contract(request in request()) {
        let platform = native();
        check(&itsor_http::handle(&request, &&platform))?;
    }

    #[test]
    fn bodies_of_every_route_that_reads_one(
        target in prop_oneof![
            Just("/auth/signup"), Just("/auth/token"), Just("/api/auth/signup"), Just("/api/auth/signin"),
            Just("/auth/password"), Just("/api/00000000-0000-0000-0000-000000000000/tasks"),
        ],
        content_type in prop_oneof![Just("application/json"), Just("application/x-www-form-urlencoded")],
        body in body(),
    ) {
        let platform = native();
        let request = Request {
            method: "POST".to_owned(),
            path: target.to_owned(),
            query: None,
            headers: vec![("content-type".to_owned(), content_type.as_bytes().to_vec())],
            body: Body::Complete(body),
        };
        check(&itsor_http::handle(&request, &&platform))?;
    }

    #[test]
    fn a_signed_in_user_s_cookies_and_tokens_mangled(cut in 0usize..400, junk in "[A-Za-z0-9_.=+/-]{0,8}") {
        let platform = native();
        let json = |value: serde_json::Value| Body::Complete(value.to_string().into_bytes());
        let signup = Request {
            method: "POST".to_owned(),
            path: "/auth/signup".to_owned(),
            query: None,
            headers: vec![("content-type".to_owned(), b"application/json".to_vec())],
            body: json(serde_json::json!({ "email": "f@example.com", "password": "password-123" })),
        };
        prop_assert_eq!(itsor_http::handle(&signup, &&platform).status, 201);
        let login = Request { path: "/auth/token".to_owned(), ..signup };
        let answer = itsor_http::handle(&login, &&platform);
        let token: serde_json::Value = serde_json::from_slice(&answer.body).expect("json");
        let token = token["access_token"].as_str().expect("a token").to_owned();
        let mangled = format!("{}{junk}", &token[..cut.min(token.len())]);
        for header in [("authorization", format!("Bearer {mangled}")), ("cookie", format!("itsor_session={mangled}"))] {
            let me = Request {
                method: "GET".to_owned(),
                path: "/auth/me".to_owned(),
                query: None,
                headers: vec![(header.0.to_owned(), header.1.into_bytes())],
                body: Body::Unread,
            };
            let answer = itsor_http::handle(&me, &&platform);
            check(&answer)?;
            if mangled != token {
                prop_assert_eq!(answer.status, 401, "a mangled token was accepted: {:?}", mangled);
            }
        }
    }
}

/// Found by the fuzzer: `;` ends a cookie value, so `token;` is the token (not a mangled
/// one), and still only the genuine token is accepted.
#[test]
fn a_cookie_value_ends_at_its_semicolon() {
    let platform = native();
    let me = |cookie: &str| Request {
        method: "GET".to_owned(),
        path: "/auth/me".to_owned(),
        query: None,
        headers: vec![("cookie".to_owned(), cookie.as_bytes().to_vec())],
        body: Body::Unread,
    };
    for cookie in ["itsor_session=;", "itsor_session=x;itsor_session=y", ";;;=", "itsor_session"] {
        assert_eq!(itsor_http::handle(&me(cookie), &&platform).status, 401, "{cookie}");
    }
}
