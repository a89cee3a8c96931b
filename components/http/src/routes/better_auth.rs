//! The Better Auth client protocol under `/api/auth`: what the unmodified `better-auth`
//! client (`createAuthClient({ baseURL, basePath: "/api/auth" })`, 1.7) sends and needs, over
//! the same account logic as every other route.
//!
//! Shapes follow a real Better Auth 1.7.25 server: camelCase members, ISO-8601 dates, a
//! `user` of `{id, email, name, image, emailVerified, createdAt, updatedAt}`, a `session` of
//! `{id, token, userId, expiresAt, createdAt, updatedAt, ipAddress, userAgent}`, `null` from
//! `get-session` when signed out, and errors whose `code` and `message` are Better Auth's
//! (see [`dialect`]). Where itsor differs, it is on purpose:
//!
//! - `token` is itsor's access token (a JWT), so `session.token` works as a bearer token for
//!   a backend that verifies it (the seed's FastAPI code);
//! - in `list-sessions`, the `token` of every session but the caller's own is the session's
//!   id: a handle `revoke-session` accepts, not a credential;
//! - `image` is accepted and not stored (`null`); `emailVerified` is `false`;
//! - a password change always revokes the user's other sessions.

use itsor_accounts::db::Database;
use itsor_accounts::input::{NOT_THE_CURRENT_PASSWORD, PASSWORD_TOO_LONG, PASSWORD_TOO_SHORT, is_uuid};
use itsor_accounts::{Accounts, AuthError, Session, User};
use serde_json::{Value, json};

use super::auth::{required_token, with_session_cookie, without_session_cookies};
use super::{bearer_token, presented_token, with_client};
use crate::body::{Accept, FIELD_REQUIRED, Fields};
use crate::{ApiError, Dialect, Request, Response};

/// One call of the Better Auth client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `signUp.email`.
    SignUpEmail,
    /// `signIn.email`.
    SignInEmail,
    /// `getSession` / `useSession`.
    GetSession,
    /// `signOut`.
    SignOut,
    /// `changePassword`.
    ChangePassword,
    /// `listSessions`.
    ListSessions,
    /// `revokeSession`.
    RevokeSession,
    /// `revokeOtherSessions`.
    RevokeOtherSessions,
    /// `revokeSessions`.
    RevokeSessions,
    /// The JWT plugin's `token()`: an access token for the session.
    Token,
    /// The JWT plugin's key set.
    Jwks,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 11] = [
        Endpoint::SignUpEmail,
        Endpoint::SignInEmail,
        Endpoint::GetSession,
        Endpoint::SignOut,
        Endpoint::ChangePassword,
        Endpoint::ListSessions,
        Endpoint::RevokeSession,
        Endpoint::RevokeOtherSessions,
        Endpoint::RevokeSessions,
        Endpoint::Token,
        Endpoint::Jwks,
    ];

    /// The endpoint's path: also its route template.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::SignUpEmail => "/api/auth/sign-up/email",
            Endpoint::SignInEmail => "/api/auth/sign-in/email",
            Endpoint::GetSession => "/api/auth/get-session",
            Endpoint::SignOut => "/api/auth/sign-out",
            Endpoint::ChangePassword => "/api/auth/change-password",
            Endpoint::ListSessions => "/api/auth/list-sessions",
            Endpoint::RevokeSession => "/api/auth/revoke-session",
            Endpoint::RevokeOtherSessions => "/api/auth/revoke-other-sessions",
            Endpoint::RevokeSessions => "/api/auth/revoke-sessions",
            Endpoint::Token => "/api/auth/token",
            Endpoint::Jwks => "/api/auth/jwks",
        }
    }

    /// The endpoint serving `path`, if any.
    pub fn resolve(path: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|endpoint| endpoint.path() == path)
    }

    /// The methods the endpoint accepts.
    pub fn methods(self) -> &'static [&'static str] {
        match self {
            Endpoint::GetSession | Endpoint::ListSessions | Endpoint::Token | Endpoint::Jwks => &["GET"],
            _ => &["POST"],
        }
    }
}

/// Answers `endpoint`.
pub fn handle<D: Database>(
    endpoint: Endpoint,
    request: &Request,
    accounts: &Accounts<D>,
) -> Result<Response, ApiError> {
    match endpoint {
        Endpoint::SignUpEmail => sign_up(request, accounts),
        Endpoint::SignInEmail => sign_in(request, accounts),
        Endpoint::GetSession => get_session(request, accounts),
        Endpoint::SignOut => super::auth::api_signout(request, accounts),
        Endpoint::ChangePassword => change_password(request, accounts),
        Endpoint::ListSessions => list_sessions(request, accounts),
        Endpoint::RevokeSession => revoke_session(request, accounts),
        Endpoint::RevokeOtherSessions => {
            accounts.logout_others(required_token(request, accounts)?)?;
            Ok(status_true())
        }
        Endpoint::RevokeSessions => {
            accounts.logout_all(required_token(request, accounts)?)?;
            Ok(without_session_cookies(status_true(), accounts.settings()))
        }
        Endpoint::Token => super::auth::session_token(request, accounts),
        Endpoint::Jwks => super::auth::jwks(accounts),
    }
}

/// `POST /sign-up/email` `{email, password, name, image?, callbackURL?, rememberMe?}` →
/// `200 {token, user}` and the session cookie: sign-up signs in.
fn sign_up<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let fields = Fields::read(request, Accept::Json)?;
    let (email, password, name) =
        (fields.string("email")?, fields.string("password")?, fields.optional_string("name")?);
    fields.nullable_string("image")?;
    let remember = fields.optional_bool("rememberMe")?.unwrap_or(true);
    callback_url(&fields, accounts)?;
    let login =
        with_client(request, accounts.settings(), |client| accounts.signup_and_login(email, password, name, client))?;
    let body = json!({ "token": login.access_token, "user": user_json(&login.user) });
    Ok(with_session_cookie(Response::json(200, &body), accounts, &login, remember))
}

/// `POST /sign-in/email` `{email, password, callbackURL?, rememberMe?}` →
/// `200 {redirect, token, url?, user}` and the session cookie.
fn sign_in<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let fields = Fields::read(request, Accept::Json)?;
    let (email, password) = (fields.string("email")?, fields.string("password")?);
    let remember = fields.optional_bool("rememberMe")?.unwrap_or(true);
    let url = callback_url(&fields, accounts)?;
    let login = with_client(request, accounts.settings(), |client| accounts.login(email, password, client))?;
    let mut body = json!({ "redirect": url.is_some(), "token": login.access_token, "user": user_json(&login.user) });
    if let (Some(url), Some(object)) = (url, body.as_object_mut()) {
        object.insert("url".to_owned(), json!(url));
    }
    Ok(with_session_cookie(Response::json(200, &body), accounts, &login, remember))
}

/// `GET /get-session` → `200 {session, user}`, or `200 null` when no live session is
/// presented (a stale cookie is cleared).
fn get_session<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let Some(token) = presented_token(request, accounts.settings()) else {
        return Ok(Response::json(200, &Value::Null));
    };
    match accounts.current_session(token) {
        Ok((user, session)) => {
            Ok(Response::json(200, &json!({ "session": session_json(&session, token), "user": user_json(&user) })))
        }
        Err(AuthError::InvalidToken | AuthError::TokenExpired) => {
            let response = Response::json(200, &Value::Null);
            let by_cookie = bearer_token(request).is_none();
            Ok(if by_cookie { without_session_cookies(response, accounts.settings()) } else { response })
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /change-password` `{currentPassword, newPassword, revokeOtherSessions?}` →
/// `200 {token, user}`; `token` is the caller's when other sessions were asked to go (they
/// always go), else `null`.
fn change_password<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let token = required_token(request, accounts)?;
    let fields = Fields::read(request, Accept::Json)?;
    let (current, new) = (fields.string("currentPassword")?, fields.string("newPassword")?);
    let revoke_others = fields.optional_bool("revokeOtherSessions")?.unwrap_or(false);
    with_client(request, accounts.settings(), |client| accounts.change_password(token, current, new, client))
        .map_err(camel_case_field)?;
    let user = accounts.authenticate(token)?;
    Ok(Response::json(200, &json!({ "token": revoke_others.then_some(token), "user": user_json(&user) })))
}

/// `GET /list-sessions` → `200 [session, ...]`, newest first.
fn list_sessions<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let token = required_token(request, accounts)?;
    let sessions = accounts.sessions(token)?;
    let list = sessions
        .iter()
        .map(|view| session_json(&view.session, if view.current { token } else { &view.session.id }))
        .collect();
    Ok(Response::json(200, &Value::Array(list)))
}

/// `POST /revoke-session` `{token}` (a session's id, as `list-sessions` gives it, or an
/// access token) → `200 {"status": true}`, also when there was nothing of the caller's to
/// revoke (an unknown id, another user's session, one already over), as Better Auth
/// answers: revoking is idempotent and says nothing about other users. Revoking one's own
/// session clears the cookie.
fn revoke_session<D: Database>(request: &Request, accounts: &Accounts<D>) -> Result<Response, ApiError> {
    let presented = required_token(request, accounts)?;
    let fields = Fields::read(request, Accept::Json)?;
    let target = fields.string("token")?;
    let session_id = if is_uuid(target) { Some(target.to_owned()) } else { accounts.session_id(target).ok() };
    if let Some(session_id) = &session_id {
        match accounts.revoke_session(presented, session_id) {
            Ok(()) | Err(AuthError::NotFound) => {}
            Err(other) => return Err(other.into()),
        }
    } else {
        // Nothing to revoke, but the caller must still hold a live session.
        accounts.authenticate(presented)?;
    }
    let own = session_id.is_some_and(|id| accounts.session_id(presented).is_ok_and(|own| own == id));
    let response = status_true();
    Ok(if own { without_session_cookies(response, accounts.settings()) } else { response })
}

fn status_true() -> Response {
    Response::json(200, &json!({ "status": true }))
}

/// The `callbackURL`, if given: a path on this site, or a URL on an origin in
/// `CORS_ORIGINS`. Anything else would make the client an open redirect.
fn callback_url<'f, D: Database>(fields: &'f Fields, accounts: &Accounts<D>) -> Result<Option<&'f str>, ApiError> {
    let Some(url) = fields.optional_string("callbackURL")? else { return Ok(None) };
    let on_allowed_origin = accounts.settings().cors_origins.iter().any(|origin| {
        url.strip_prefix(origin.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
    });
    if !has_ambiguous_characters(url) && (is_local_path(url) || on_allowed_origin) {
        Ok(Some(url))
    } else {
        Err(ApiError::invalid_callback_url())
    }
}

/// Whether `url` holds what browsers read differently from servers: a backslash (a `/` to
/// them), a control character (tabs and newlines are dropped, so `/\t/evil.example` would
/// become `//evil.example`), or an encoded slash or backslash.
fn has_ambiguous_characters(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    url.chars().any(|c| c == '\\' || c.is_control()) || lower.contains("%2f") || lower.contains("%5c")
}

/// Whether `url` is a path on this site: one leading `/`, not `//` (another host).
fn is_local_path(url: &str) -> bool {
    url.starts_with('/') && !url.starts_with("//")
}

/// Names a field as the Better Auth client sent it (`newPassword`, not `new_password`).
fn camel_case_field(err: AuthError) -> AuthError {
    match err {
        AuthError::InvalidInput { field, message } => AuthError::InvalidInput { field: camel_case(&field), message },
        other => other,
    }
}

fn camel_case(snake: &str) -> String {
    let mut words = snake.split('_');
    let first = words.next().unwrap_or_default().to_owned();
    words.fold(first, |mut name, word| {
        let mut chars = word.chars();
        if let Some(initial) = chars.next() {
            name.extend(initial.to_uppercase());
            name.push_str(chars.as_str());
        }
        name
    })
}

fn user_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "image": Value::Null,
        "emailVerified": false,
        "createdAt": user.created_at,
        "updatedAt": user.updated_at,
    })
}

fn session_json(session: &Session, token: &str) -> Value {
    json!({
        "id": session.id,
        "token": token,
        "userId": session.user_id,
        "expiresAt": session.expires_at,
        "createdAt": session.created_at,
        "updatedAt": session.created_at,
        "ipAddress": session.client_addr,
        "userAgent": session.user_agent,
    })
}

/// `err` as Better Auth reports it: its status, `code` and `message` for the same failure
/// (from Better Auth 1.7's `BASE_ERROR_CODES`); errors Better Auth has no name for keep
/// itsor's status and code. `detail`, `error_code` and `status_code` stay beside them.
pub fn dialect(mut err: ApiError) -> ApiError {
    let named: Option<(u16, &'static str, String)> = match err.cause.as_deref() {
        Some(AuthError::EmailTaken) => {
            Some((422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "User already exists. Use another email.".into()))
        }
        Some(AuthError::InvalidCredentials) => {
            Some((401, "INVALID_EMAIL_OR_PASSWORD", "Invalid email or password".into()))
        }
        Some(AuthError::InvalidToken | AuthError::TokenExpired) => Some((401, "UNAUTHORIZED", "Unauthorized".into())),
        Some(AuthError::InvalidInput { field, message }) => Some(match message.as_str() {
            PASSWORD_TOO_SHORT => (400, "PASSWORD_TOO_SHORT", "Password too short".into()),
            PASSWORD_TOO_LONG => (400, "PASSWORD_TOO_LONG", "Password too long".into()),
            NOT_THE_CURRENT_PASSWORD => (400, "INVALID_PASSWORD", "Invalid password".into()),
            message if field == "email" && message != FIELD_REQUIRED => (400, "INVALID_EMAIL", "Invalid email".into()),
            message => (400, "VALIDATION_ERROR", format!("[body.{field}] {message}")),
        }),
        _ if err.code == ApiError::CROSS_SITE => Some((403, "INVALID_ORIGIN", "Invalid origin".into())),
        _ => None,
    };
    let (status, code, message) = named.unwrap_or_else(|| (err.status, err.code, err.detail.clone()));
    err.status = status;
    err.dialect = Some(Box::new(Dialect::BetterAuth { code, message }));
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_resolves_from_its_own_path() {
        for endpoint in Endpoint::ALL {
            assert_eq!(Endpoint::resolve(endpoint.path()), Some(endpoint));
        }
        assert_eq!(Endpoint::resolve("/api/auth/sign-up"), None);
    }

    #[test]
    fn errors_carry_better_auth_codes() {
        let answer = |err: AuthError| {
            let err = dialect(err.into());
            match err.dialect.map(|dialect| *dialect) {
                Some(Dialect::BetterAuth { code, message }) => (err.status, code, message),
                other => panic!("every error gets a Better Auth code and message, not {other:?}"),
            }
        };
        assert_eq!(
            answer(AuthError::EmailTaken),
            (422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "User already exists. Use another email.".into())
        );
        assert_eq!(
            answer(AuthError::InvalidCredentials),
            (401, "INVALID_EMAIL_OR_PASSWORD", "Invalid email or password".into())
        );
        assert_eq!(answer(AuthError::invalid("newPassword", PASSWORD_TOO_SHORT)).1, "PASSWORD_TOO_SHORT");
        assert_eq!(answer(AuthError::invalid("currentPassword", NOT_THE_CURRENT_PASSWORD)).1, "INVALID_PASSWORD");
        assert_eq!(answer(AuthError::invalid("email", "must contain @")).1, "INVALID_EMAIL");
        assert_eq!(
            answer(AuthError::invalid("email", FIELD_REQUIRED)),
            (400, "VALIDATION_ERROR", "[body.email] field required".into())
        );
        assert_eq!(answer(AuthError::Forbidden), (403, "FORBIDDEN", "Access forbidden".into()));
        let csrf = dialect(ApiError::cross_site());
        assert_eq!(csrf.status, 403);
        assert!(matches!(csrf.dialect.as_deref(), Some(Dialect::BetterAuth { code: "INVALID_ORIGIN", .. })));
    }

    #[test]
    fn callback_paths_stay_on_this_site() {
        let local = |url: &str| is_local_path(url) && !has_ambiguous_characters(url);
        for path in ["/", "/dashboard", "/a/b?c=d#e"] {
            assert!(local(path), "{path}");
        }
        for away in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/%2fevil.example",
            "/%5Cevil.example",
            "https://evil.example",
            "evil",
        ] {
            assert!(!local(away), "{away:?}");
        }
    }

    #[test]
    fn field_names_are_camel_cased() {
        assert_eq!(camel_case("new_password"), "newPassword");
        assert_eq!(camel_case("current_password"), "currentPassword");
        assert_eq!(camel_case("email"), "email");
    }
}
