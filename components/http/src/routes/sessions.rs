//! The caller's password and sessions: change the password, log out everywhere, list the
//! live sessions, revoke one.

use itsor_accounts::Accounts;
use itsor_accounts::db::Database;
use serde_json::json;

use super::auth::required_token;
use super::with_client;
use crate::body::{Accept, Fields};
use crate::{ApiError, Request, Response};

/// `POST /auth/password` `{current_password, new_password}` → `204`; every other session
/// of the user is revoked, this one stays.
pub fn change_password<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let token = required_token(request, accounts)?;
    let fields = Fields::read(request, Accept::Json)?;
    let (current, new) = (fields.string("current_password")?, fields.string("new_password")?);
    with_client(request, accounts.settings(), |client| accounts.change_password(token, current, new, client))?;
    Ok(Response::empty(204))
}

/// `POST /auth/logout-all` → `204`, every session of the user revoked, the cookie cleared.
pub fn logout_all<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    accounts.logout_all(required_token(request, accounts)?)?;
    Ok(super::auth::without_session_cookies(Response::empty(204), accounts.settings()))
}

/// `GET /auth/sessions` → `200` `[{id, created_at, expires_at, user_agent, client_addr, current}]`.
pub fn list<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let sessions = accounts.sessions(required_token(request, accounts)?)?;
    let body = sessions
        .iter()
        .map(|view| {
            json!({
                "id": view.session.id,
                "created_at": view.session.created_at,
                "expires_at": view.session.expires_at,
                "user_agent": view.session.user_agent,
                "client_addr": view.session.client_addr,
                "current": view.current,
            })
        })
        .collect();
    Ok(Response::json(200, &serde_json::Value::Array(body)))
}

/// `DELETE /auth/sessions/{id}` → `204`; another user's (or an unknown) session → `404`.
pub fn revoke<D: Database>(request: &Request, accounts: &Accounts<D>, session_id: &str) -> Result<Response, ApiError> {
    accounts.revoke_session(required_token(request, accounts)?, session_id)?;
    Ok(Response::empty(204))
}
