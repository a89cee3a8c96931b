//! The route table: paths to handlers, with their methods.
//!
//! `/auth/*` is the OAuth2-flavoured surface of the backend guide; `/api/auth/*` and the
//! per-user `/api/{user_id}/tasks` are the Better-Auth-flavoured surface front-ends use.
//! Both call the same account logic.

mod auth;
mod tasks;

use itsor_accounts::config::Settings;
use itsor_accounts::{Accounts, AuthError};

use crate::{cookie, cors, ApiError, Platform, Request, Response};

/// Every route, with the path parameters it captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'p> {
    Signup,
    Token,
    Me,
    Logout,
    ApiSignup,
    ApiSignin,
    ApiMe,
    ApiSignout,
    Tasks { user_id: &'p str },
    Task { user_id: &'p str, task_id: &'p str },
}

impl<'p> Route<'p> {
    fn resolve(path: &'p str) -> Option<Route<'p>> {
        let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        Some(match segments.as_slice() {
            ["auth", "signup"] => Route::Signup,
            ["auth", "token"] => Route::Token,
            ["auth", "me"] => Route::Me,
            ["auth", "logout"] => Route::Logout,
            ["api", "auth", "signup"] => Route::ApiSignup,
            ["api", "auth", "signin"] => Route::ApiSignin,
            ["api", "auth", "me"] => Route::ApiMe,
            ["api", "auth", "signout" | "logout"] => Route::ApiSignout,
            ["api", user_id, "tasks"] if !user_id.is_empty() => Route::Tasks { user_id },
            ["api", user_id, "tasks", task_id] if !user_id.is_empty() && !task_id.is_empty() => {
                Route::Task { user_id, task_id }
            }
            _ => return None,
        })
    }

    fn methods(self) -> &'static [&'static str] {
        match self {
            Route::Me | Route::ApiMe => &["GET"],
            Route::Tasks { .. } => &["GET", "POST"],
            Route::Task { .. } => &["GET", "PUT", "PATCH", "DELETE"],
            _ => &["POST"],
        }
    }
}

/// Answers `request` on `platform`. Settings are read for every request (CORS needs them);
/// storage is touched only by routes that need it.
pub fn handle(request: &Request, platform: &impl Platform) -> Response {
    let settings = match platform.settings() {
        Ok(settings) => settings,
        Err(err) => return ApiError::from(AuthError::from(err)).into_response(),
    };
    let route = Route::resolve(&request.path);
    if cors::is_preflight(request) {
        return match route {
            Some(route) => cors::preflight(request, &settings, route.methods()).with_header("vary", "Origin"),
            None => cors::decorate(ApiError::not_found().into_response(), request, &settings),
        };
    }
    let response = route
        .ok_or_else(ApiError::not_found)
        .and_then(|route| dispatch(route, request, platform, settings.clone()))
        .unwrap_or_else(ApiError::into_response);
    cors::decorate(response, request, &settings)
}

fn dispatch<P: Platform>(
    route: Route<'_>,
    request: &Request,
    platform: &P,
    settings: Settings,
) -> Result<Response, ApiError> {
    if !route.methods().contains(&request.method.as_str()) {
        return Err(ApiError::method_not_allowed(route.methods()));
    }
    let accounts = Accounts::new(platform.database(), settings);
    match route {
        Route::Signup => auth::signup(request, &accounts),
        Route::Token => auth::token(request, &accounts),
        Route::Me | Route::ApiMe => auth::me(request, &accounts),
        Route::Logout => auth::logout(request, &accounts),
        Route::ApiSignup => auth::api_signup(request, &accounts),
        Route::ApiSignin => auth::api_signin(request, &accounts),
        Route::ApiSignout => auth::api_signout(request, &accounts),
        Route::Tasks { user_id } => tasks::collection(request, &accounts, user_id),
        Route::Task { user_id, task_id } => tasks::item(request, &accounts, user_id, task_id),
    }
}

/// The bearer token if an `Authorization` header is present (it wins over the cookie),
/// else the session cookie.
fn presented_token<'r>(request: &'r Request, settings: &Settings) -> Option<&'r str> {
    match request.header("authorization") {
        Some(value) => {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        }
        None => cookie::read(request, &settings.cookie.name),
    }
}
