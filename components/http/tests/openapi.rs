//! `src/openapi.json` against the router: every path and method the router serves is
//! described, nothing else is, the description is valid JSON of OpenAPI 3.1.0 whose local
//! references all resolve, and `GET /openapi.json` and `GET /docs` serve it.

// A test crate: a failed expectation panics, which is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;

use itsor_http::{Body, Request};
use serde_json::Value;

mod common;
use common::Native;

const DESCRIPTION: &str = include_str!("../src/openapi.json");

/// The HTTP methods an OpenAPI path item may hold.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn description() -> Value {
    serde_json::from_str(DESCRIPTION).unwrap_or_else(|e| panic!("src/openapi.json is not valid JSON: {e}"))
}

/// `/api/{user_id}/tasks` as the route table writes it: `/api/:user_id/tasks`.
fn as_template(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => format!(":{name}"),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn described_operations(description: &Value) -> BTreeSet<(String, String)> {
    let paths = description["paths"].as_object().expect("`paths` is an object");
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        let item = item.as_object().unwrap_or_else(|| panic!("{path}: a path item is an object"));
        for method in item.keys().filter(|key| METHODS.contains(&key.as_str())) {
            operations.insert((as_template(path), method.to_ascii_uppercase()));
        }
    }
    operations
}

#[test]
fn is_openapi_3_1_of_this_version() {
    let description = description();
    assert_eq!(description["openapi"], "3.1.0");
    assert_eq!(description["info"]["version"], env!("CARGO_PKG_VERSION"), "info.version follows the crate");
    assert!(description["info"]["title"].is_string());
    let schemes = description["components"]["securitySchemes"].as_object().expect("securitySchemes");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["cookie"]["in"], "cookie");
    assert_eq!(schemes["cookie"]["name"], "itsor_session");
}

#[test]
fn describes_every_route_and_nothing_else() {
    let described = described_operations(&description());
    let served: BTreeSet<(String, String)> = itsor_http::served_paths()
        .into_iter()
        .flat_map(|(path, methods)| methods.iter().map(move |method| (path.to_owned(), (*method).to_owned())))
        .collect();
    let undescribed: Vec<_> = served.difference(&described).collect();
    let unserved: Vec<_> = described.difference(&served).collect();
    assert!(
        undescribed.is_empty() && unserved.is_empty(),
        "served but not in src/openapi.json: {undescribed:?}; in src/openapi.json but not served: {unserved:?}"
    );
}

/// Every `$ref` in `value`, with where it is.
fn references<'v>(value: &'v Value, at: String, found: &mut Vec<(String, &'v str)>) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                match (key.as_str(), member) {
                    ("$ref", Value::String(reference)) => found.push((at.clone(), reference)),
                    _ => references(member, format!("{at}/{key}"), found),
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                references(item, format!("{at}/{index}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn every_reference_resolves_and_operations_are_complete() {
    let description = description();
    let mut found = Vec::new();
    references(&description, String::new(), &mut found);
    assert!(!found.is_empty());
    for (at, reference) in found {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("{at}: {reference} is not local"));
        assert!(description.pointer(pointer).is_some(), "{at}: {reference} does not resolve");
    }
    let mut operation_ids = BTreeSet::new();
    for (path, item) in description["paths"].as_object().expect("paths") {
        let parameters_in_path: BTreeSet<&str> =
            path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
        for (method, operation) in item.as_object().expect("path item") {
            let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(operation_ids.insert(id.to_owned()), "operationId {id} is used twice");
            assert!(operation["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}: no responses");
            assert!(operation["tags"].as_array().is_some_and(|t| t.len() == 1), "{method} {path}: one tag");
            let declared: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|parameter| match parameter["$ref"].as_str() {
                    Some(reference) => description.pointer(reference.trim_start_matches('#')).unwrap_or(parameter),
                    None => parameter,
                })
                .filter(|parameter| parameter["in"] == "path")
                .filter_map(|parameter| parameter["name"].as_str())
                .collect();
            assert_eq!(declared, parameters_in_path, "{method} {path}: path parameters");
        }
    }
}

#[test]
fn serves_the_description_and_the_reference_page() {
    let platform = Native::new(&[]);
    let get = |path: &str| {
        let request =
            Request { method: "GET".into(), path: path.into(), query: None, headers: Vec::new(), body: Body::Unread };
        itsor_http::handle(&request, &&platform)
    };
    let served = get("/openapi.json");
    assert_eq!((served.status, served.header("content-type")), (200, Some("application/json")));
    assert_eq!(served.body, DESCRIPTION.as_bytes());
    assert_eq!(served.header("cache-control"), Some("public, max-age=300"));
    for (path, content_type) in [
        ("/docs", "text/html; charset=utf-8"),
        ("/docs/app.js", "text/javascript; charset=utf-8"),
        ("/docs/app.css", "text/css; charset=utf-8"),
    ] {
        let page = get(path);
        assert_eq!((page.status, page.header("content-type")), (200, Some(content_type)), "{path}");
        assert!(page.header("content-security-policy").is_some_and(|csp| csp.contains("default-src 'none'")), "{path}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"), "{path}");
    }
    assert_eq!(itsor_http::route_template("/docs/app.js"), Some("/docs/app.js"));
}
