//! `/api/{user_id}/tasks[/{task_id}]`: CRUD, listing (order, pages, filter), validation,
//! and ownership (`401` without a token, `403` on another user's path, `404` for another
//! user's task on one's own path).

use serde_json::{Value, json};

use crate::support::*;

/// `/api/{user_id}/tasks`.
fn tasks_path(user_id: &str) -> String {
    format!("/api/{user_id}/tasks")
}

/// `/api/{user_id}/tasks/{task_id}`.
fn task_path(user_id: &str, task_id: &str) -> String {
    format!("/api/{user_id}/tasks/{task_id}")
}

/// A request with `user`'s bearer token.
fn as_user(user: &ApiUser, method: &str, target: &str) -> Request {
    Request::new(method, target).bearer(&user.token)
}

/// Creates a task for `user` with `body`, asserting `201` and the task shape.
#[track_caller]
fn create(server: &Server, user: &ApiUser, body: &Value) -> Value {
    let resp = server.send(as_user(user, "POST", &tasks_path(&user.id)).json(body));
    assert_status(&resp, 201);
    let task = resp.json();
    assert_task_shape(&task, &user.id);
    task
}

/// Creates a task titled `title` (no description).
#[track_caller]
fn create_titled(server: &Server, user: &ApiUser, title: &str) -> Value {
    create(server, user, &json!({ "title": title }))
}

/// `GET` of the whole listing (with `query`), asserting `200` and the shape of every task.
#[track_caller]
fn list(server: &Server, user: &ApiUser, query: &str) -> Vec<Value> {
    let resp = server.send(as_user(user, "GET", &format!("{}{query}", tasks_path(&user.id))));
    assert_status(&resp, 200);
    let body = resp.json();
    let tasks = body.as_array().unwrap_or_else(|| panic!("the listing is not an array: {}", resp.describe())).clone();
    for task in &tasks {
        assert_task_shape(task, &user.id);
    }
    tasks
}

/// The ids of `tasks`, in order.
fn ids(tasks: &[Value]) -> Vec<String> {
    tasks.iter().map(|t| t["id"].as_str().expect("id").to_owned()).collect()
}

/// `GET` of one task by its owner, asserting `200`.
#[track_caller]
fn fetch(server: &Server, user: &ApiUser, task_id: &str) -> Value {
    let resp = server.send(as_user(user, "GET", &task_path(&user.id, task_id)));
    assert_status(&resp, 200);
    resp.json()
}

/// A `PUT`/`PATCH` of `user`'s task with a JSON body.
fn write(server: &Server, user: &ApiUser, method: &str, task_id: &str, body: &Value) -> Response {
    server.send(as_user(user, method, &task_path(&user.id, task_id)).json(body))
}

/// Checks a task: exactly the seven keys, UUID ids, the owner, types, and fixed-form UTC
/// timestamps.
#[track_caller]
fn assert_task_shape(task: &Value, owner: &str) {
    assert_eq!(
        keys_of(task),
        ["completed", "created_at", "description", "id", "title", "updated_at", "user_id"],
        "task keys: {task}"
    );
    let id = task["id"].as_str().unwrap_or_else(|| panic!("id: {task}"));
    uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("task id {id:?} is not a UUID: {e}"));
    assert_eq!(task["user_id"], owner, "user_id is the owner: {task}");
    assert!(task["title"].is_string(), "title: {task}");
    assert!(task["description"].is_string() || task["description"].is_null(), "description: {task}");
    assert!(task["completed"].is_boolean(), "completed: {task}");
    let created = rfc3339_utc(&task["created_at"]);
    let updated = rfc3339_utc(&task["updated_at"]);
    assert!(updated >= created, "updated_at before created_at: {task}");
}

/// Asserts `404 NOT_FOUND`.
#[track_caller]
fn assert_not_found(resp: &Response) {
    assert_error(resp, 404, "NOT_FOUND");
}

/// Two users, each with one task.
fn two_users(server: &Server) -> (ApiUser, Value, ApiUser, Value) {
    let a = server.api_user("alice@example.com");
    let b = server.api_user("bob@example.com");
    let a_task = create(server, &a, &json!({ "title": "A's task", "description": "mine" }));
    let b_task = create(server, &b, &json!({ "title": "B's task", "description": "private" }));
    (a, a_task, b, b_task)
}

#[test]
fn create_returns_the_task_and_get_returns_it_again() {
    let server = Server::start();
    let user = server.api_user("create@example.com");
    let before = now();
    let task = create(&server, &user, &json!({ "title": "Write the docs", "description": "README first" }));
    assert_eq!(task["title"], "Write the docs");
    assert_eq!(task["description"], "README first");
    assert_eq!(task["completed"], false);
    assert_eq!(task["created_at"], task["updated_at"], "{task}");
    let created = rfc3339_utc(&task["created_at"]);
    assert!((before - 1..=now() + 1).contains(&created), "created_at is not now: {task}");
    assert_eq!(fetch(&server, &user, task["id"].as_str().expect("task ids are strings")), task);

    // Without a description (absent or null) it is null.
    for body in [json!({ "title": "No description" }), json!({ "title": "Null", "description": null })] {
        let task = create(&server, &user, &body);
        assert_eq!(task["description"], Value::Null, "{task}");
        assert_eq!(task["title"], body["title"]);
    }
    // Cookie authentication works as well as the bearer token.
    let resp =
        server.send(post(&tasks_path(&user.id)).cookie(COOKIE, &user.token).json(&json!({ "title": "By cookie" })));
    assert_status(&resp, 201);
    assert_task_shape(&resp.json(), &user.id);
    assert_eq!(list(&server, &user, "").len(), 4);
}

#[test]
fn list_is_newest_first_and_per_user() {
    let server = Server::start();
    let (a, a_first, b, b_task) = two_users(&server);
    let a_second = create_titled(&server, &a, "second");
    let a_third = create_titled(&server, &a, "third");
    let listed = list(&server, &a, "");
    assert_eq!(listed, vec![a_third, a_second, a_first], "newest first");
    assert_eq!(list(&server, &b, ""), vec![b_task], "B sees only B's task");
    let fresh = server.api_user("fresh@example.com");
    assert_eq!(list(&server, &fresh, ""), Vec::<Value>::new());
}

#[test]
fn pagination_with_limit_and_offset() {
    let server = Server::start();
    let user = server.api_user("pages@example.com");
    let created: Vec<String> = (0..51)
        .map(|n| {
            create_titled(&server, &user, &format!("task {n}"))["id"].as_str().expect("task ids are strings").to_owned()
        })
        .collect();
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();

    assert_eq!(ids(&list(&server, &user, "")), newest_first[..50], "default limit is 50");
    assert_eq!(ids(&list(&server, &user, "?limit=100")), newest_first, "limit 100");
    assert_eq!(ids(&list(&server, &user, "?limit=1")), newest_first[..1]);
    assert_eq!(ids(&list(&server, &user, "?limit=2")), newest_first[..2]);
    assert_eq!(ids(&list(&server, &user, "?limit=2&offset=2")), newest_first[2..4]);
    assert_eq!(ids(&list(&server, &user, "?offset=49&limit=5")), newest_first[49..51]);
    assert_eq!(ids(&list(&server, &user, "?offset=50")), newest_first[50..]);
    assert!(list(&server, &user, "?offset=51").is_empty());
    assert!(list(&server, &user, "?offset=1000&limit=10").is_empty());

    for bad in ["0", "101", "ten", "-1", "1.5", "", "1e2"] {
        let resp = server.send(as_user(&user, "GET", &format!("{}?limit={bad}", tasks_path(&user.id))));
        assert_validation(&resp, "limit");
    }
    for bad in ["x", "-1", "1.5"] {
        let resp = server.send(as_user(&user, "GET", &format!("{}?offset={bad}", tasks_path(&user.id))));
        assert_validation(&resp, "offset");
    }
}

#[test]
fn completed_filter() {
    let server = Server::start();
    let user = server.api_user("filter@example.com");
    let first = create_titled(&server, &user, "first");
    let second = create_titled(&server, &user, "second");
    let third = create_titled(&server, &user, "third");
    let done = write(
        &server,
        &user,
        "PATCH",
        second["id"].as_str().expect("task ids are strings"),
        &json!({ "completed": true }),
    );
    assert_status(&done, 200);
    let done = done.json();

    assert_eq!(list(&server, &user, "?completed=true"), vec![done.clone()]);
    assert_eq!(list(&server, &user, "?completed=false"), vec![third.clone(), first.clone()]);
    assert_eq!(list(&server, &user, "?completed=false&limit=1"), vec![third.clone()]);
    assert_eq!(list(&server, &user, "?completed=false&limit=1&offset=1"), vec![first.clone()]);
    assert_eq!(list(&server, &user, "").len(), 3, "no filter lists every task");

    for bad in ["yes", "1", "maybe", "truee"] {
        let resp = server.send(as_user(&user, "GET", &format!("{}?completed={bad}", tasks_path(&user.id))));
        assert_validation(&resp, "completed");
    }
}

#[test]
fn put_replaces_the_task() {
    let server = Server::start();
    let user = server.api_user("put@example.com");
    let task = create(&server, &user, &json!({ "title": "Old", "description": "old" }));
    let id = task["id"].as_str().expect("task ids are strings");

    let resp = write(&server, &user, "PUT", id, &json!({ "title": "New", "description": "new", "completed": true }));
    assert_status(&resp, 200);
    let put = resp.json();
    assert_task_shape(&put, &user.id);
    assert_eq!(put["id"], task["id"]);
    assert_eq!(put["created_at"], task["created_at"]);
    assert_eq!((&put["title"], &put["description"], &put["completed"]), (&json!("New"), &json!("new"), &json!(true)));
    assert_eq!(fetch(&server, &user, id), put, "GET shows what PUT stored");

    // A replacement: what is left out goes back to its default.
    let resp = write(&server, &user, "PUT", id, &json!({ "title": "Only a title" }));
    assert_status(&resp, 200);
    let put = resp.json();
    assert_eq!(put["title"], "Only a title");
    assert_eq!(put["description"], Value::Null, "PUT without a description clears it: {put}");
    assert_eq!(put["completed"], false, "PUT without completed resets it: {put}");
    assert_eq!(fetch(&server, &user, id), put);

    // Invalid replacements change nothing.
    for (body, field) in [
        (json!({ "description": "no title", "completed": true }), "title"),
        (json!({ "title": 5 }), "title"),
        (json!({ "title": "" }), "title"),
        (json!({ "title": "t".repeat(201) }), "title"),
        (json!({ "title": "ok", "description": "d".repeat(2001) }), "description"),
        (json!({ "title": "ok", "completed": "yes" }), "completed"),
    ] {
        assert_validation(&write(&server, &user, "PUT", id, &body), field);
    }
    assert_eq!(fetch(&server, &user, id), put, "a refused PUT changes nothing");
}

#[test]
fn patch_changes_any_subset() {
    let server = Server::start();
    let user = server.api_user("patch@example.com");
    let task = create(&server, &user, &json!({ "title": "Title", "description": "Desc" }));
    let id = task["id"].as_str().expect("task ids are strings");

    let mut expected = task.clone();
    for (patch, field, value) in [
        (json!({ "completed": true }), "completed", json!(true)),
        (json!({ "title": "Renamed" }), "title", json!("Renamed")),
        (json!({ "description": "Other" }), "description", json!("Other")),
        (json!({ "completed": false }), "completed", json!(false)),
        (json!({ "description": null }), "description", Value::Null),
    ] {
        let resp = write(&server, &user, "PATCH", id, &patch);
        assert_status(&resp, 200);
        let got = resp.json();
        assert_task_shape(&got, &user.id);
        expected[field] = value;
        for key in ["id", "user_id", "title", "description", "completed", "created_at"] {
            assert_eq!(got[key], expected[key], "after PATCH {patch}: {key} of {got}");
        }
        assert_eq!(fetch(&server, &user, id), got);
        expected = got;
    }

    // All three at once.
    let resp =
        write(&server, &user, "PATCH", id, &json!({ "title": "All", "description": "three", "completed": true }));
    assert_status(&resp, 200);
    let all = resp.json();
    assert_eq!((&all["title"], &all["description"], &all["completed"]), (&json!("All"), &json!("three"), &json!(true)));

    // An empty patch changes nothing.
    let resp = write(&server, &user, "PATCH", id, &json!({}));
    assert_status(&resp, 200);
    assert_eq!(resp.json(), all);

    // Wrong types and bad values are 422 naming the field, and change nothing.
    for (body, field) in [
        (json!({ "completed": "yes" }), "completed"),
        (json!({ "completed": 1 }), "completed"),
        (json!({ "title": 5 }), "title"),
        (json!({ "title": ["x"] }), "title"),
        (json!({ "description": 5 }), "description"),
        (json!({ "description": { "a": 1 } }), "description"),
        (json!({ "title": "" }), "title"),
        (json!({ "title": "t".repeat(201) }), "title"),
        (json!({ "description": "d".repeat(2001) }), "description"),
        (json!({ "completed": false, "title": 5 }), "title"),
    ] {
        assert_validation(&write(&server, &user, "PATCH", id, &body), field);
    }
    assert_eq!(fetch(&server, &user, id), all, "a refused PATCH changes nothing");
}

/// Only `POST`, `PUT` and `PATCH` routes take a body: on `GET` and `DELETE` one is not
/// read at all, so not even a malformed one changes the answer.
#[test]
fn bodies_of_get_and_delete_are_not_read() {
    let server = Server::start();
    let user = server.api_user("bodies@example.com");
    let task = create_titled(&server, &user, "with a body");
    let id = task["id"].as_str().expect("task ids are strings");
    let malformed = |req: Request| req.body(Some("application/json"), b"{not json".to_vec());

    let got = server.send(malformed(as_user(&user, "GET", &task_path(&user.id, id))));
    assert_status(&got, 200);
    assert_eq!(got.json(), task);
    let me = server.send(malformed(get("/auth/me").bearer(&user.token)));
    assert_status(&me, 200);
    assert_eq!(me.json()["email"], "bodies@example.com");

    let deleted = server.send(malformed(as_user(&user, "DELETE", &task_path(&user.id, id))));
    assert_status(&deleted, 204);
    assert_not_found(&server.send(as_user(&user, "GET", &task_path(&user.id, id))));
}

#[test]
fn delete_is_204_then_404() {
    let server = Server::start();
    let user = server.api_user("delete@example.com");
    let keep = create_titled(&server, &user, "keep");
    let gone = create_titled(&server, &user, "gone");
    let id = gone["id"].as_str().expect("task ids are strings");

    let resp = server.send(as_user(&user, "DELETE", &task_path(&user.id, id)));
    assert_status(&resp, 204);
    assert!(resp.body.is_empty(), "204 with a body: {}", resp.describe());

    assert_not_found(&server.send(as_user(&user, "GET", &task_path(&user.id, id))));
    assert_not_found(&server.send(as_user(&user, "DELETE", &task_path(&user.id, id))));
    assert_not_found(&write(&server, &user, "PUT", id, &json!({ "title": "back" })));
    assert_not_found(&write(&server, &user, "PATCH", id, &json!({ "completed": true })));
    assert_eq!(list(&server, &user, ""), vec![keep], "only the other task is left");
}

#[test]
fn title_and_description_lengths() {
    let server = Server::start();
    let user = server.api_user("lengths@example.com");
    for (body, field) in [
        (json!({}), "title"),
        (json!({ "description": "no title" }), "title"),
        (json!({ "title": "" }), "title"),
        (json!({ "title": "t".repeat(201) }), "title"),
        (json!({ "title": "é".repeat(201) }), "title"),
        (json!({ "title": 42 }), "title"),
        (json!({ "title": "ok", "description": "d".repeat(2001) }), "description"),
        (json!({ "title": "ok", "description": 42 }), "description"),
    ] {
        let resp = server.send(as_user(&user, "POST", &tasks_path(&user.id)).json(&body));
        assert_validation(&resp, field);
    }
    assert!(list(&server, &user, "").is_empty(), "refused creations store nothing");

    // The limits themselves are allowed, counted in characters (not bytes).
    let long = create(&server, &user, &json!({ "title": "é".repeat(200), "description": "ü".repeat(2000) }));
    assert_eq!(long["title"], "é".repeat(200));
    assert_eq!(long["description"], "ü".repeat(2000));
    let one = create_titled(&server, &user, "x");
    assert_eq!(one["title"], "x");
}

#[test]
fn another_users_path_is_403_for_every_method() {
    let server = Server::start();
    let (a, a_task, b, b_task) = two_users(&server);
    let b_id = b_task["id"].as_str().expect("task ids are strings");
    let a_id = a_task["id"].as_str().expect("task ids are strings");
    let nobody = "00000000-0000-0000-0000-000000000000";

    for path_user in [b.id.as_str(), nobody] {
        for (method, target, body) in [
            ("GET", tasks_path(path_user), None),
            ("GET", format!("{}?limit=10&completed=false", tasks_path(path_user)), None),
            ("POST", tasks_path(path_user), Some(json!({ "title": "planted" }))),
            ("GET", task_path(path_user, b_id), None),
            ("PUT", task_path(path_user, b_id), Some(json!({ "title": "hijacked" }))),
            ("PATCH", task_path(path_user, b_id), Some(json!({ "completed": true }))),
            ("DELETE", task_path(path_user, b_id), None),
            // A's own task id under someone else's path is still the path's problem.
            ("GET", task_path(path_user, a_id), None),
            ("DELETE", task_path(path_user, a_id), None),
        ] {
            let mut req = as_user(&a, method, &target);
            if let Some(body) = &body {
                req = req.json(body);
            }
            let resp = server.send(req);
            assert_eq!(resp.status, 403, "{method} {target}: {}", resp.describe());
            assert_forbidden(&resp);
        }
    }
    // By cookie too.
    let resp = server.send(get(&tasks_path(&b.id)).cookie(COOKIE, &a.token));
    assert_forbidden(&resp);

    // Nothing changed for B (or A).
    assert_eq!(list(&server, &b, ""), vec![b_task.clone()]);
    assert_eq!(fetch(&server, &b, b_id), b_task);
    assert_eq!(list(&server, &a, ""), vec![a_task]);
}

#[test]
fn another_users_task_on_ones_own_path_is_404() {
    let server = Server::start();
    let (a, a_task, b, b_task) = two_users(&server);
    let b_id = b_task["id"].as_str().expect("task ids are strings");
    let missing = uuid::Uuid::new_v4().to_string();

    for task_id in [b_id, missing.as_str()] {
        let mut bodies = Vec::new();
        for (method, body) in [
            ("GET", None),
            ("PUT", Some(json!({ "title": "hijacked", "completed": true }))),
            ("PATCH", Some(json!({ "description": null, "completed": true }))),
            ("DELETE", None),
        ] {
            let mut req = as_user(&a, method, &task_path(&a.id, task_id));
            if let Some(body) = &body {
                req = req.json(body);
            }
            let resp = server.send(req);
            assert_eq!(resp.status, 404, "{method} of {task_id}: {}", resp.describe());
            assert_not_found(&resp);
            bodies.push(resp.json());
        }
        // The same answer whether the task exists (B's) or not.
        let missing_answer = json!({ "detail": bodies[0]["detail"], "error_code": "NOT_FOUND", "status_code": 404 });
        for body in &bodies {
            assert_eq!(body, &missing_answer);
        }
    }
    // B's task is exactly as it was, as B sees it.
    assert_eq!(fetch(&server, &b, b_id), b_task);
    assert_eq!(list(&server, &b, ""), vec![b_task]);
    assert_eq!(list(&server, &a, ""), vec![a_task]);
}

#[test]
fn without_a_token_every_task_route_is_401() {
    let server = Server::start();
    let (a, a_task, _, _) = two_users(&server);
    let id = a_task["id"].as_str().expect("task ids are strings");
    for (method, target, body) in [
        ("GET", tasks_path(&a.id), None),
        ("POST", tasks_path(&a.id), Some(json!({ "title": "anonymous" }))),
        ("GET", task_path(&a.id, id), None),
        ("PUT", task_path(&a.id, id), Some(json!({ "title": "anonymous" }))),
        ("PATCH", task_path(&a.id, id), Some(json!({ "completed": true }))),
        ("DELETE", task_path(&a.id, id), None),
    ] {
        let mut req = Request::new(method, &target);
        if let Some(body) = &body {
            req = req.json(body);
        }
        let resp = server.send(req.clone());
        assert_eq!(resp.status, 401, "{method} {target}: {}", resp.describe());
        assert_invalid_token(&resp);
        let garbage = server.send(req.bearer("garbage"));
        assert_invalid_token(&garbage);
    }
    assert_eq!(list(&server, &a, ""), vec![a_task], "nothing changed");
}

#[test]
fn wrong_methods_are_405_with_allow() {
    let server = Server::start();
    let (a, a_task, _, _) = two_users(&server);
    let id = a_task["id"].as_str().expect("task ids are strings");
    let collection: &[&str] = &["GET", "POST"];
    let item: &[&str] = &["DELETE", "GET", "PATCH", "PUT"];
    for (method, target, allowed) in [
        ("DELETE", tasks_path(&a.id), collection),
        ("PUT", tasks_path(&a.id), collection),
        ("PATCH", tasks_path(&a.id), collection),
        ("POST", task_path(&a.id, id), item),
        ("GET", "/api/auth/signin".to_owned(), &["POST"][..]),
        ("GET", "/api/auth/signout".to_owned(), &["POST"][..]),
        ("POST", "/api/auth/me".to_owned(), &["GET"][..]),
    ] {
        let resp = server.send(as_user(&a, method, &target));
        assert_eq!(resp.status, 405, "{method} {target}: {}", resp.describe());
        assert_error(&resp, 405, "METHOD_NOT_ALLOWED");
        let allow = resp.header("allow").unwrap_or_default();
        let mut listed: Vec<&str> = allow.split(',').map(str::trim).filter(|m| !m.is_empty()).collect();
        listed.sort_unstable();
        listed.retain(|m| !matches!(*m, "HEAD" | "OPTIONS"));
        assert_eq!(listed, allowed, "{method} {target}: Allow {allow:?}");
    }
    assert_eq!(list(&server, &a, ""), vec![a_task], "nothing changed");
}
