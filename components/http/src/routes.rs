//! The route table and one handler per route.

use itsor_accounts::db::Database;
use itsor_accounts::{Accounts, AuthError, User};
use serde_json::json;

use crate::body::{Accept, Fields};
use crate::{cookie, ApiError, Request, Response};

/// The routes served, with their methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Signup,
    Token,
    Me,
    Logout,
}

impl Route {
    fn resolve(path: &str) -> Option<(Route, &'static [&'static str])> {
        Some(match path {
            "/auth/signup" => (Route::Signup, &["POST"]),
            "/auth/token" => (Route::Token, &["POST"]),
            "/auth/me" => (Route::Me, &["GET"]),
            "/auth/logout" => (Route::Logout, &["POST"]),
            _ => return None,
        })
    }
}

/// Answers `request`. `accounts` is called only for routes that need the account logic,
/// so unknown routes cost no storage or configuration work.
pub fn handle<D: Database>(
    request: &Request,
    accounts: impl FnOnce() -> Result<Accounts<D>, AuthError>,
) -> Response {
    dispatch(request, accounts).unwrap_or_else(ApiError::into_response)
}

fn dispatch<D: Database>(
    request: &Request,
    accounts: impl FnOnce() -> Result<Accounts<D>, AuthError>,
) -> Result<Response, ApiError> {
    let (route, methods) = Route::resolve(&request.path).ok_or_else(ApiError::not_found)?;
    if !methods.contains(&request.method.as_str()) {
        return Err(ApiError::method_not_allowed(methods));
    }
    let accounts = accounts()?;
    match route {
        Route::Signup => signup(request, &accounts),
        Route::Token => token(request, &accounts),
        Route::Me => me(request, &accounts),
        Route::Logout => logout(request, &accounts),
    }
}

fn signup<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let fields = Fields::read(request, Accept::Json)?;
    let user = accounts.signup(fields.string("email")?, fields.string("password")?, fields.optional_string("name")?)?;
    Ok(Response::json(201, &user_json(&user)))
}

/// OAuth2 password grant: JSON `{email, password}` or the form `username=...&password=...`.
fn token<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let fields = Fields::read(request, Accept::JsonOrForm)?;
    let email = match fields.optional_string("email")? {
        Some(email) => email,
        None => fields.optional_string("username")?.ok_or_else(|| AuthError::invalid("email", "field required"))?,
    };
    let login = accounts.login(email, fields.string("password")?)?;
    let body = json!({
        "access_token": login.access_token,
        "token_type": "bearer",
        "expires_in": login.expires_in,
        "expires_at": login.expires_at,
    });
    let set_cookie = cookie::set(&accounts.settings().cookie, &login.access_token, login.expires_in);
    Ok(Response::json(200, &body).with_header("set-cookie", set_cookie))
}

fn me<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let token = presented_token(request, accounts).ok_or(AuthError::InvalidToken)?;
    Ok(Response::json(200, &user_json(&accounts.authenticate(token)?)))
}

/// Revokes the presented session, if any, and always clears the cookie: logging out twice,
/// or with a token that is no longer valid, is harmless.
fn logout<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    if let Some(token) = presented_token(request, accounts) {
        match accounts.logout(token) {
            Ok(()) | Err(AuthError::InvalidToken | AuthError::TokenExpired) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(Response::empty(204).with_header("set-cookie", cookie::clear(&accounts.settings().cookie)))
}

/// The bearer token if an `Authorization: Bearer` header is present (it wins over the
/// cookie), else the session cookie.
fn presented_token<'r, D: Database>(request: &'r Request, accounts: &Accounts<D>) -> Option<&'r str> {
    match request.header("authorization") {
        Some(value) => {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        }
        None => cookie::read(request, &accounts.settings().cookie.name),
    }
}

fn user_json(user: &User) -> serde_json::Value {
    json!({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    })
}
