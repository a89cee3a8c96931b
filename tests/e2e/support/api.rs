//! The `/api` surface (Better Auth flavour): sign-up, sign-in and "who am I" helpers, and
//! the shapes its bodies must have.

use serde_json::{Value, json};

use super::{COOKIE, PASSWORD, Response, Server, SetCookie, assert_status, get, post};

/// A user signed up and signed in through `/api/auth`.
#[derive(Debug, Clone)]
pub struct ApiUser {
    /// The user's id.
    pub id: String,
    /// The e-mail address signed up with.
    pub email: String,
    /// The `token` of the sign-in body.
    pub token: String,
    /// The whole sign-up body.
    pub signup: Value,
    /// The whole sign-in body.
    pub signin: Value,
    /// The session cookie the sign-in set.
    pub cookie: SetCookie,
}

impl Server {
    /// `POST /api/auth/signup` with a JSON body.
    pub fn api_signup_json(&self, body: &Value) -> Response {
        self.send(post("/api/auth/signup").json(body))
    }

    /// `POST /api/auth/signin` with `{email, password}`.
    pub fn api_signin(&self, email: &str, password: &str) -> Response {
        self.send(post("/api/auth/signin").json(&json!({ "email": email, "password": password })))
    }

    /// `GET /api/auth/me` with a bearer token.
    pub fn api_me_bearer(&self, token: &str) -> Response {
        self.send(get("/api/auth/me").bearer(token))
    }

    /// `GET /api/auth/me` with the default session cookie.
    pub fn api_me_cookie(&self, token: &str) -> Response {
        self.send(get("/api/auth/me").cookie(COOKIE, token))
    }

    /// Signs up `email` (password [`PASSWORD`], name `name`) and signs in, asserting `201`
    /// and `200` and the token and cookie of the sign-in.
    #[track_caller]
    pub fn api_user_named(&self, email: &str, name: &str) -> ApiUser {
        let resp = self.api_signup_json(&json!({ "email": email, "password": PASSWORD, "name": name }));
        assert_status(&resp, 201);
        let signup = resp.json();
        let id = signup["id"]
            .as_str()
            .unwrap_or_else(|| panic!("sign-up body without a string id: {}", resp.describe()))
            .to_owned();
        let resp = self.api_signin(email, PASSWORD);
        assert_status(&resp, 200);
        let signin = resp.json();
        let token = signin["token"]
            .as_str()
            .unwrap_or_else(|| panic!("sign-in body without a string token: {}", resp.describe()))
            .to_owned();
        let cookie = resp
            .set_cookies()
            .into_iter()
            .find(|c| c.name == COOKIE)
            .unwrap_or_else(|| panic!("sign-in sets no {COOKIE} cookie: {}", resp.describe()));
        ApiUser { id, email: email.to_owned(), token, signup, signin, cookie }
    }

    /// [`Server::api_user_named`] with the name `Test User`.
    #[track_caller]
    pub fn api_user(&self, email: &str) -> ApiUser {
        self.api_user_named(email, "Test User")
    }
}

/// The exact `403` body of the contract.
pub fn forbidden_body() -> Value {
    json!({ "detail": "Access forbidden", "error_code": "FORBIDDEN", "status_code": 403 })
}

/// Asserts the exact `403` of the contract (status, JSON content type and body).
#[track_caller]
pub fn assert_forbidden(resp: &Response) {
    assert_status(resp, 403);
    let ct = resp.header("content-type").unwrap_or("");
    assert!(
        ct.to_ascii_lowercase().starts_with("application/json"),
        "403 without a JSON content type: {}",
        resp.describe()
    );
    assert_eq!(resp.json(), forbidden_body(), "403 body: {}", resp.describe());
}

/// The sorted keys of a JSON object (panics on anything else).
#[track_caller]
pub fn keys_of(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> =
        value.as_object().unwrap_or_else(|| panic!("not a JSON object: {value}")).keys().cloned().collect();
    keys.sort_unstable();
    keys
}
