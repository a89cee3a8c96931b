//! The adapter end to end on a native platform: real SQLite (in memory, real migrations),
//! real settings, no Wasm. The HTTP suite in `tests/e2e` covers the same through the host.

// A test crate: a failed expectation panics, which is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use itsor_http::{Body, Request, Response};
use serde_json::{Value, json};

mod common;
use common::Native;

fn native() -> Native {
    Native::new(&[("cors_origins", "http://localhost:3000,https://app.example")])
}

fn request(method: &str, target: &str, headers: &[(&str, &str)], body: Option<Value>) -> Request {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    };
    let mut headers: Vec<(String, Vec<u8>)> =
        headers.iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())).collect();
    if body.is_some() {
        headers.push(("content-type".into(), b"application/json".to_vec()));
    }
    let body = Body::Complete(body.map(|b| b.to_string().into_bytes()).unwrap_or_default());
    Request { method: method.to_owned(), path, query, headers, body }
}

fn call(platform: &Native, req: Request) -> (u16, Value, Response) {
    let resp = itsor_http::handle(&req, &platform);
    let body = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    (resp.status, body, resp)
}

/// Signs up and signs in; returns (user id, bearer header value).
fn user(platform: &Native, email: &str) -> (String, String) {
    let creds = json!({ "email": email, "password": "password-123", "name": "N" });
    let (status, body, _) = call(platform, request("POST", "/api/auth/signup", &[], Some(creds.clone())));
    assert_eq!(status, 201, "{body}");
    let (status, body, _) = call(platform, request("POST", "/api/auth/signin", &[], Some(creds)));
    assert_eq!(status, 200, "{body}");
    (body["user"]["id"].as_str().expect("id").to_owned(), format!("Bearer {}", body["token"].as_str().expect("token")))
}

#[test]
fn unknown_routes_and_methods_are_json_errors() {
    let platform = native();
    let (status, body, _) = call(&platform, request("GET", "/nope", &[], None));
    assert_eq!((status, body["error_code"].as_str()), (404, Some("NOT_FOUND")));
    let (status, body, resp) = call(&platform, request("GET", "/auth/signup", &[], None));
    assert_eq!((status, body["status_code"].as_u64()), (405, Some(405)));
    assert_eq!(resp.header("allow"), Some("POST"));
}

#[test]
fn another_users_path_is_forbidden_and_their_task_ids_are_not_found() {
    let platform = native();
    let (alice, alice_auth) = user(&platform, "alice@example.com");
    let (bob, bob_auth) = user(&platform, "bob@example.com");
    let (status, task, _) = call(
        &platform,
        request("POST", &format!("/api/{bob}/tasks"), &[("authorization", &bob_auth)], Some(json!({"title": "b"}))),
    );
    assert_eq!(status, 201);
    let (status, body, _) =
        call(&platform, request("GET", &format!("/api/{bob}/tasks"), &[("authorization", &alice_auth)], None));
    assert_eq!(status, 403);
    assert_eq!(body, json!({"detail": "Access forbidden", "error_code": "FORBIDDEN", "status_code": 403}));
    let bobs_task = format!("/api/{alice}/tasks/{}", task["id"].as_str().expect("id"));
    let (status, body, _) = call(&platform, request("GET", &bobs_task, &[("authorization", &alice_auth)], None));
    assert_eq!((status, body["error_code"].as_str()), (404, Some("NOT_FOUND")));
    let (status, _, _) = call(&platform, request("GET", &format!("/api/{alice}/tasks"), &[], None));
    assert_eq!(status, 401);
}

#[test]
fn preflight_answers_allowed_origins_only() {
    let platform = native();
    let preflight = |origin: &str| {
        call(
            &platform,
            request(
                "OPTIONS",
                "/api/some-user/tasks",
                &[("origin", origin), ("access-control-request-method", "POST")],
                None,
            ),
        )
        .2
    };
    let allowed = preflight("https://app.example");
    assert_eq!(allowed.status, 204);
    assert_eq!(allowed.header("access-control-allow-origin"), Some("https://app.example"));
    assert_eq!(allowed.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(allowed.header("access-control-allow-methods"), Some("GET, POST"));
    assert_eq!(allowed.header("access-control-allow-headers"), Some("Authorization, Content-Type"));
    assert_eq!(allowed.header("vary"), Some("Origin"));
    let denied = preflight("https://evil.example");
    assert!(denied.headers.iter().all(|(name, _)| !name.starts_with("access-control-")), "{denied:?}");
}

#[test]
fn pagination_validation_names_the_parameter() {
    let platform = native();
    let (alice, auth) = user(&platform, "alice@example.com");
    for (query, field) in
        [("limit=101", "limit"), ("limit=x", "limit"), ("offset=-1", "offset"), ("completed=yes", "completed")]
    {
        let (status, body, _) =
            call(&platform, request("GET", &format!("/api/{alice}/tasks?{query}"), &[("authorization", &auth)], None));
        assert_eq!(status, 422, "{query}");
        assert!(body["detail"].as_str().expect("detail").starts_with(field), "{query}: {body}");
    }
}
