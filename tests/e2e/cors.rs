//! CORS for browser front-ends: an exact allow-list (`CORS_ORIGINS`) with credentials,
//! preflights listing the route's methods, `Vary: Origin` everywhere, nothing at all for
//! other origins, and `*` refused at start-up.

use serde_json::json;

use crate::support::*;

const LOCAL: &str = "http://localhost:3000";
const APP: &str = "https://app.example";

/// Origins that must get no CORS headers from a server allowing [`LOCAL`] and [`APP`].
const DENIED: &[&str] = &[
    "https://evil.example",
    "http://localhost:3001",
    "https://localhost:3000",
    "http://localhost",
    "https://app.example.evil.com",
    "https://sub.app.example",
    "http://app.example",
    "null",
];

fn server() -> Server {
    Server::builder().env("CORS_ORIGINS", &format!("{LOCAL},{APP}")).start()
}

/// A preflight for `method` on `target` from `origin`, asking for the two headers a
/// front-end sends.
fn preflight(target: &str, origin: &str, method: &str) -> Request {
    Request::new("OPTIONS", target)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", "authorization, content-type")
}

/// The comma-separated values of every header named `name`, trimmed.
fn list_header<'r>(resp: &'r Response, name: &str) -> Vec<&'r str> {
    resp.headers_named(name).into_iter().flat_map(|v| v.split(',')).map(str::trim).filter(|v| !v.is_empty()).collect()
}

/// Asserts `Vary` lists `Origin`.
#[track_caller]
fn assert_vary_origin(resp: &Response) {
    assert!(
        list_header(resp, "vary").iter().any(|v| v.eq_ignore_ascii_case("origin")),
        "Vary must list Origin: {}",
        resp.describe()
    );
}

/// Asserts the origin is echoed exactly once, never `*`, with credentials allowed.
#[track_caller]
fn assert_allowed(resp: &Response, origin: &str) {
    assert_eq!(
        resp.headers_named("access-control-allow-origin"),
        [origin],
        "Access-Control-Allow-Origin must be exactly the origin: {}",
        resp.describe()
    );
    assert_eq!(
        resp.headers_named("access-control-allow-credentials"),
        ["true"],
        "Access-Control-Allow-Credentials: {}",
        resp.describe()
    );
    assert_vary_origin(resp);
}

/// Asserts there is no `Access-Control-*` header at all.
#[track_caller]
fn assert_no_cors(resp: &Response) {
    let cors: Vec<&(String, String)> =
        resp.headers.iter().filter(|(n, _)| n.to_ascii_lowercase().starts_with("access-control-")).collect();
    assert!(cors.is_empty(), "no CORS header expected, found {cors:?}: {}", resp.describe());
}

/// The routes of the API, each with its methods (a user's paths for `user`/`task`).
fn routes(user: &str, task: &str) -> Vec<(String, Vec<&'static str>)> {
    vec![
        ("/api/auth/signup".to_owned(), vec!["POST"]),
        ("/api/auth/signin".to_owned(), vec!["POST"]),
        ("/api/auth/signout".to_owned(), vec!["POST"]),
        ("/api/auth/logout".to_owned(), vec!["POST"]),
        ("/api/auth/me".to_owned(), vec!["GET"]),
        (format!("/api/{user}/tasks"), vec!["GET", "POST"]),
        (format!("/api/{user}/tasks/{task}"), vec!["DELETE", "GET", "PATCH", "PUT"]),
        ("/auth/me".to_owned(), vec!["GET"]),
        ("/auth/token".to_owned(), vec!["POST"]),
    ]
}

#[test]
fn preflight_from_an_allowed_origin() {
    let server = server();
    let user = server.api_user("pre@example.com");
    let task = uuid::Uuid::new_v4().to_string();
    for origin in [LOCAL, APP] {
        for (target, methods) in routes(&user.id, &task) {
            for method in &methods {
                let resp = server.send(preflight(&target, origin, method));
                let what = format!("preflight {method} {target} from {origin}");
                assert_eq!(resp.status, 204, "{what}: {}", resp.describe());
                assert!(resp.body.is_empty(), "{what}: {}", resp.describe());
                assert_allowed(&resp, origin);

                let mut listed: Vec<String> = list_header(&resp, "access-control-allow-methods")
                    .into_iter()
                    .map(str::to_ascii_uppercase)
                    .filter(|m| m != "OPTIONS" && m != "HEAD")
                    .collect();
                listed.sort_unstable();
                assert_eq!(listed, methods, "{what}: the route's methods: {}", resp.describe());

                let headers: Vec<String> = list_header(&resp, "access-control-allow-headers")
                    .into_iter()
                    .map(str::to_ascii_lowercase)
                    .collect();
                for needed in ["authorization", "content-type"] {
                    assert!(
                        headers.iter().any(|h| h == needed),
                        "{what}: Access-Control-Allow-Headers must list {needed}: {}",
                        resp.describe()
                    );
                }
            }
        }
    }
    // A preflight is not the request: nothing was signed out, the token still works.
    assert_status(&server.api_me_bearer(&user.token), 200);
}

#[test]
fn preflight_from_a_denied_origin_gets_no_cors_headers() {
    let server = server();
    let user = server.api_user("deny@example.com");
    for origin in DENIED {
        for (target, methods) in routes(&user.id, &user.id) {
            let resp = server.send(preflight(&target, origin, methods[0]));
            assert_not_5xx(&resp);
            assert_no_cors(&resp);
            assert_vary_origin(&resp);
        }
    }
    // A preflight without any Origin gets none either.
    let resp = server.send(Request::new("OPTIONS", "/api/auth/me").header("Access-Control-Request-Method", "GET"));
    assert_not_5xx(&resp);
    assert_no_cors(&resp);
}

#[test]
fn actual_request_from_an_allowed_origin() {
    let server = server();
    let user = server.api_user("actual@example.com");
    let other = server.api_user("other@example.com");
    for origin in [LOCAL, APP] {
        let resp = server.send(get("/api/auth/me").bearer(&user.token).header("Origin", origin));
        assert_status(&resp, 200);
        assert_eq!(resp.json()["id"], json!(user.id));
        assert_allowed(&resp, origin);

        // With the cookie (what credentials are for).
        let resp = server.send(get("/api/auth/me").cookie(COOKIE, &user.token).header("Origin", origin));
        assert_status(&resp, 200);
        assert_allowed(&resp, origin);

        // Errors are readable by the allowed front-end too.
        let resp = server.send(get("/api/auth/me").header("Origin", origin));
        assert_invalid_token(&resp);
        assert_allowed(&resp, origin);
        let resp = server.send(get(&format!("/api/{}/tasks", other.id)).bearer(&user.token).header("Origin", origin));
        assert_forbidden(&resp);
        assert_allowed(&resp, origin);

        // A sign-in from the front-end: the cookie and the CORS headers together.
        let resp = server.send(
            post("/api/auth/signin")
                .header("Origin", origin)
                .json(&json!({ "email": "actual@example.com", "password": PASSWORD })),
        );
        assert_status(&resp, 200);
        assert_allowed(&resp, origin);
        assert!(resp.set_cookies().iter().any(|c| c.name == COOKIE), "{}", resp.describe());
    }
}

#[test]
fn actual_request_from_a_denied_origin_gets_no_cors_headers() {
    let server = server();
    let user = server.api_user("denied@example.com");
    for origin in DENIED {
        let resp = server.send(get("/api/auth/me").bearer(&user.token).header("Origin", origin));
        assert_not_5xx(&resp);
        assert_no_cors(&resp);
        assert_vary_origin(&resp);
        let resp = server.send(get("/api/auth/me").header("Origin", origin));
        assert_no_cors(&resp);
        assert_vary_origin(&resp);
    }
    // No Origin at all (not a browser's cross-origin request): no CORS headers, still Vary.
    let resp = server.send(get("/api/auth/me").bearer(&user.token));
    assert_status(&resp, 200);
    assert_no_cors(&resp);
    assert_vary_origin(&resp);
}

#[test]
fn default_cors_origins_is_localhost_3000() {
    // The fixture removes CORS_ORIGINS from the environment: the default applies.
    let server = Server::start();
    let user = server.api_user("default@example.com");

    let resp = server.send(preflight("/api/auth/me", LOCAL, "GET"));
    assert_status(&resp, 204);
    assert_allowed(&resp, LOCAL);
    let resp = server.send(get("/api/auth/me").bearer(&user.token).header("Origin", LOCAL));
    assert_status(&resp, 200);
    assert_allowed(&resp, LOCAL);

    for origin in [APP, "http://localhost:3001", "http://127.0.0.1:3000"] {
        let resp = server.send(preflight("/api/auth/me", origin, "GET"));
        assert_no_cors(&resp);
        let resp = server.send(get("/api/auth/me").bearer(&user.token).header("Origin", origin));
        assert_status(&resp, 200);
        assert_no_cors(&resp);
    }
}

#[test]
fn wildcard_cors_origins_is_refused_at_start_up() {
    for value in ["*", "http://localhost:3000,*", " * "] {
        let exit = Server::builder().env("CORS_ORIGINS", value).run_expecting_exit();
        assert_refused_naming(&exit, &["CORS_ORIGINS"], &[]);
    }
}
