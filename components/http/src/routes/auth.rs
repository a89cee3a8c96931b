//! Sign-up, login, refresh, "who am I", logout and the key set, in both surfaces' shapes.

use itsor_accounts::config::Settings;
use itsor_accounts::db::Database;
use itsor_accounts::keys::KEY_SET_MAX_AGE_SECONDS;
use itsor_accounts::{Accounts, AuthError, Login, User};
use serde_json::json;

use super::{presented_token, with_client};
use crate::body::{Accept, FIELD_REQUIRED, Fields};
use crate::{ApiError, Dialect, Request, Response, cookie};

fn register<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<User, ApiError> {
    let fields = Fields::read(request, Accept::Json)?;
    let (email, password, name) =
        (fields.string("email")?, fields.string("password")?, fields.optional_string("name")?);
    Ok(with_client(request, accounts.settings(), |client| accounts.signup(email, password, name, client))?)
}

/// `POST /auth/signup` → `201` with the whole user.
pub fn signup<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    Ok(Response::json(201, &user_json(&register(request, accounts)?)))
}

/// `POST /api/auth/signup` → `201` `{id, email, name, created_at}`.
pub fn api_signup<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let user = register(request, accounts)?;
    let body = json!({ "id": user.id, "email": user.email, "name": user.name, "created_at": user.created_at });
    Ok(Response::json(201, &body))
}

/// Logs in from JSON `{email, password}` or, where forms are accepted, the OAuth2 password
/// form `username=...&password=...`; the OAuth2 form with `grant_type=refresh_token`
/// refreshes instead.
fn log_in<D: Database>(request: &Request, accounts: &Accounts<D>, accept: Accept) -> Result<Login, ApiError> {
    let fields = Fields::read(request, accept)?;
    if fields.is_form() {
        match fields.optional_string("grant_type")? {
            None | Some("password") => {}
            Some("refresh_token") => return Ok(accounts.refresh(fields.string("refresh_token")?)?),
            Some(_) => return Err(AuthError::invalid("grant_type", "must be password or refresh_token").into()),
        }
    }
    // OAuth2's password form calls the e-mail `username`; JSON bodies call it `email`. Both
    // are read (and so type-checked) whichever is used: a malformed member is never ignored.
    let (email, username) = (fields.optional_string("email")?, fields.optional_string("username")?);
    let email = email
        .or(username)
        .ok_or_else(|| AuthError::invalid(if fields.is_form() { "username" } else { "email" }, FIELD_REQUIRED))?;
    let password = fields.string("password")?;
    Ok(with_client(request, accounts.settings(), |client| accounts.login(email, password, client))?)
}

/// `err` as an OAuth2 token endpoint reports it (RFC 6749 §5.2), for the password and
/// refresh-token grant forms on `/auth/token`: `error` and `error_description` beside the usual members. The status
/// stays itsor's (a wrong password is `401` in every format); clients raise by `error`.
/// Rate limits and outages borrow `temporarily_unavailable` and `server_error` from §4.1.2.1,
/// which §5.2 lacks.
pub fn oauth2_dialect(mut err: ApiError) -> ApiError {
    let error = match err.cause.as_deref() {
        // A wrong password, or a refresh token that is not (or no longer) good.
        Some(AuthError::InvalidCredentials | AuthError::InvalidToken | AuthError::TokenExpired) => "invalid_grant",
        Some(AuthError::InvalidInput { field, .. }) if field == "grant_type" => "unsupported_grant_type",
        Some(AuthError::RateLimited { .. } | AuthError::Unavailable(_)) => "temporarily_unavailable",
        _ if err.status >= 500 => "server_error",
        _ => "invalid_request",
    };
    err.dialect = Some(Box::new(Dialect::OAuth2 { error }));
    err
}

/// `response` with the session cookie of `login` (for the token's lifetime or, when not to
/// be remembered, Better Auth's `rememberMe: false`, until the browser closes) and its
/// refresh cookie, if it has a refresh token (for the session's lifetime, or as long).
pub(super) fn with_session_cookie<D: Database>(
    response: Response,
    accounts: &Accounts<D>,
    login: &Login,
    remember: bool,
) -> Response {
    let settings = accounts.settings();
    let cookies = &settings.cookie;
    let set_cookie = if remember {
        cookie::set(cookies, &login.access_token, login.expires_in)
    } else {
        cookie::set_for_browser_session(cookies, &login.access_token)
    };
    let response = response.with_header("set-cookie", set_cookie);
    match &login.refresh_token {
        Some(refresh) => {
            let max_age = settings.refresh_seconds.filter(|_| remember);
            response.with_header("set-cookie", cookie::set_refresh(cookies, refresh, max_age))
        }
        None => response,
    }
}

/// `response` clearing the session cookie and, where refresh tokens are issued, the
/// refresh cookie.
pub(super) fn without_session_cookies(response: Response, settings: &Settings) -> Response {
    let response = response.with_header("set-cookie", cookie::clear(&settings.cookie));
    match settings.refresh_seconds {
        Some(_) => response.with_header("set-cookie", cookie::clear_refresh(&settings.cookie)),
        None => response,
    }
}

/// The OAuth2 token response (RFC 6749 §5.1) of `login`, with its cookies:
/// `{access_token, token_type, expires_in, expires_at}` and `refresh_token` when issued.
fn token_response<D: Database>(accounts: &Accounts<D>, login: &Login) -> Response {
    let mut body = json!({
        "access_token": login.access_token,
        "token_type": "bearer",
        "expires_in": login.expires_in,
        "expires_at": login.expires_at,
    });
    if let (Some(refresh), Some(object)) = (&login.refresh_token, body.as_object_mut()) {
        object.insert("refresh_token".to_owned(), json!(refresh));
    }
    with_session_cookie(Response::json(200, &body), accounts, login, true)
}

/// `POST /auth/token` (password or refresh-token grant) → `200` with the token response.
pub fn token<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let login = log_in(request, accounts, Accept::JsonOrForm)?;
    Ok(token_response(accounts, &login))
}

/// `POST /auth/refresh` with JSON `{refresh_token}` or, from a browser, the refresh cookie
/// and no body → `200` with the token response: a new access token and the refresh token's
/// successor.
pub fn refresh<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let fields = Fields::read(request, Accept::JsonOrEmpty)?;
    let presented = match fields.optional_string("refresh_token")? {
        Some(token) => token,
        None => cookie::read(request, &cookie::refresh_name(&accounts.settings().cookie))
            .ok_or_else(|| AuthError::invalid("refresh_token", FIELD_REQUIRED))?,
    };
    let login = accounts.refresh(presented)?;
    Ok(token_response(accounts, &login))
}

/// `GET /.well-known/jwks.json` and `/api/auth/jwks` → `200` with the JWK Set of the keys
/// that verify itsor's tokens (empty with HMAC), cacheable for
/// [`KEY_SET_MAX_AGE_SECONDS`].
pub fn jwks<D: Database>(accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let set = accounts.key_set()?;
    Ok(Response::json(200, &set)
        .with_only_header("cache-control", format!("public, max-age={KEY_SET_MAX_AGE_SECONDS}")))
}

/// Better Auth's `GET /api/auth/token` (its JWT plugin, `authClient.token()`) → `200
/// {token}`: a fresh access token for the presented session.
pub fn session_token<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let access = accounts.access_token(required_token(request, accounts)?)?;
    Ok(Response::json(200, &json!({ "token": access.token })))
}

/// `POST /api/auth/signin` → `200` `{user: {id, email, name}, token, expires_at}` + cookie.
pub fn api_signin<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let login = log_in(request, accounts, Accept::Json)?;
    let body = json!({
        "user": { "id": login.user.id, "email": login.user.email, "name": login.user.name },
        "token": login.access_token,
        "expires_at": login.expires_at,
    });
    Ok(with_session_cookie(Response::json(200, &body), accounts, &login, true))
}

/// `GET /auth/me` and `/api/auth/me` → `200` with the whole user.
pub fn me<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    Ok(Response::json(200, &user_json(&accounts.authenticate(required_token(request, accounts)?)?)))
}

/// The token the request presents, or [`AuthError::InvalidToken`].
pub(super) fn required_token<'r, D: Database>(
    request: &'r Request,
    accounts: &Accounts<D>,
) -> Result<&'r str, AuthError> {
    presented_token(request, accounts.settings()).ok_or(AuthError::InvalidToken)
}

/// Revokes the presented session (and with it its refresh tokens), if any: logging out
/// twice, or with a token that is no longer valid, is harmless. The caller clears the
/// cookies.
fn end_session<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<(), ApiError> {
    if let Some(token) = presented_token(request, accounts.settings()) {
        match accounts.logout(token) {
            Ok(()) | Err(AuthError::InvalidToken | AuthError::TokenExpired) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(())
}

/// `POST /auth/logout` → `204`.
pub fn logout<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    end_session(request, accounts)?;
    Ok(without_session_cookies(Response::empty(204), accounts.settings()))
}

/// `POST /api/auth/signout` (alias `/api/auth/logout`) and Better Auth's `/api/auth/sign-out`
/// → `200` `{"success": true}`.
pub fn api_signout<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    end_session(request, accounts)?;
    Ok(without_session_cookies(Response::json(200, &json!({ "success": true })), accounts.settings()))
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

/// `GET /api/auth/health` (and `/auth/health`): `200 {"status": "ok"}` when the settings are
/// valid and storage answers, else the error (`503` while the database is unreachable).
/// The probe of a deployment whose host answers none itself (Spin); `itsor` also answers
/// `/healthz` and `/readyz` without the component.
pub fn health<D: Database>(accounts: &Accounts<D>) -> Result<Response, ApiError> {
    accounts.check_storage()?;
    Ok(Response::json(200, &json!({ "status": "ok" })))
}
