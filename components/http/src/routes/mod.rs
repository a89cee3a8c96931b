//! The route table: paths to handlers, with their methods.
//!
//! `/auth/*` is the OAuth2-flavoured surface of the backend guide (with `/auth/refresh` for
//! refresh tokens, and `/.well-known/jwks.json` for services that verify tokens with the
//! published keys); `/api/auth/*` and the
//! per-user `/api/{user_id}/tasks` are the surface front-ends use: the frontend guide's
//! routes (`signup`, `signin`, `me`, `signout`) and the Better Auth client protocol
//! (`sign-up/email`, `get-session`, ...; see [`better_auth`]). All call the same account
//! logic. `/account` is a page for trying it all from a browser; `/openapi.json` describes
//! every route listed here (see [`served_paths`]) and `/docs` renders it (see [`docs`]).

mod account_page;
mod auth;
mod better_auth;
mod docs;
mod page;
mod sessions;
mod tasks;

use account_page::Asset;
use better_auth::Endpoint;
use docs::File;

use itsor_accounts::clock::WallClock;
use itsor_accounts::config::Settings;
use itsor_accounts::{Accounts, AuthError, Client};

use crate::{ApiError, Platform, Request, Response, body, client, cookie, cors, csrf};

/// Every route, with the path parameters it captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'p> {
    Signup,
    Token,
    Refresh,
    Jwks,
    Me,
    Logout,
    ApiSignup,
    ApiSignin,
    ApiMe,
    ApiSignout,
    Password,
    LogoutAll,
    Sessions,
    Session { session_id: &'p str },
    Tasks { user_id: &'p str },
    Task { user_id: &'p str, task_id: &'p str },
    Health,
    BetterAuth(Endpoint),
    Account(Asset),
    Docs(File),
}

/// The routes of fixed paths besides those of [`Endpoint`], [`Asset`] and [`File`]: each
/// path, aliases included, with its route.
const FIXED: [(&str, Route<'static>); 16] = [
    ("/auth/signup", Route::Signup),
    ("/auth/token", Route::Token),
    (cookie::REFRESH_PATH, Route::Refresh),
    ("/.well-known/jwks.json", Route::Jwks),
    ("/auth/me", Route::Me),
    ("/auth/logout", Route::Logout),
    ("/auth/password", Route::Password),
    ("/auth/logout-all", Route::LogoutAll),
    ("/auth/sessions", Route::Sessions),
    ("/api/auth/signup", Route::ApiSignup),
    ("/api/auth/signin", Route::ApiSignin),
    ("/api/auth/me", Route::ApiMe),
    ("/api/auth/signout", Route::ApiSignout),
    ("/api/auth/logout", Route::ApiSignout),
    ("/auth/health", Route::Health),
    ("/api/auth/health", Route::Health),
];

/// The routes whose paths carry parameters, as [`Route::resolve`] matches them below;
/// the parameters hold their own `:name`.
const PARAMETERISED: [Route<'static>; 3] = [
    Route::Session { session_id: ":session_id" },
    Route::Tasks { user_id: ":user_id" },
    Route::Task { user_id: ":user_id", task_id: ":task_id" },
];

impl<'p> Route<'p> {
    fn resolve(path: &'p str) -> Option<Route<'p>> {
        if let Some(endpoint) = Endpoint::resolve(path) {
            return Some(Route::BetterAuth(endpoint));
        }
        if let Some(asset) = Asset::resolve(path) {
            return Some(Route::Account(asset));
        }
        if let Some(file) = File::resolve(path) {
            return Some(Route::Docs(file));
        }
        if let Some((_, route)) = FIXED.iter().find(|(fixed, _)| *fixed == path) {
            return Some(*route);
        }
        let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        Some(match segments.as_slice() {
            ["auth", "sessions", session_id] if !session_id.is_empty() => Route::Session { session_id },
            ["api", user_id, "tasks"] if !user_id.is_empty() => Route::Tasks { user_id },
            ["api", user_id, "tasks", task_id] if !user_id.is_empty() && !task_id.is_empty() => {
                Route::Task { user_id, task_id }
            }
            _ => return None,
        })
    }

    /// The route's path template, with `:name` for each parameter: what metrics and logs
    /// name it by, so ids never appear in either.
    fn template(self) -> &'static str {
        match self {
            Route::Signup => "/auth/signup",
            Route::Token => "/auth/token",
            Route::Refresh => cookie::REFRESH_PATH,
            Route::Jwks => "/.well-known/jwks.json",
            Route::Me => "/auth/me",
            Route::Logout => "/auth/logout",
            Route::Password => "/auth/password",
            Route::LogoutAll => "/auth/logout-all",
            Route::Sessions => "/auth/sessions",
            Route::Session { .. } => "/auth/sessions/:session_id",
            Route::ApiSignup => "/api/auth/signup",
            Route::ApiSignin => "/api/auth/signin",
            Route::ApiMe => "/api/auth/me",
            Route::ApiSignout => "/api/auth/signout",
            Route::Tasks { .. } => "/api/:user_id/tasks",
            Route::Task { .. } => "/api/:user_id/tasks/:task_id",
            Route::Health => "/api/auth/health",
            Route::BetterAuth(endpoint) => endpoint.path(),
            Route::Account(asset) => asset.path(),
            Route::Docs(file) => file.path(),
        }
    }

    fn methods(self) -> &'static [&'static str] {
        match self {
            Route::Me
            | Route::ApiMe
            | Route::Sessions
            | Route::Health
            | Route::Jwks
            | Route::Account(_)
            | Route::Docs(_) => &["GET"],
            Route::BetterAuth(endpoint) => endpoint.methods(),
            Route::Session { .. } => &["DELETE"],
            Route::Tasks { .. } => &["GET", "POST"],
            Route::Task { .. } => &["GET", "PUT", "PATCH", "DELETE"],
            _ => &["POST"],
        }
    }
}

/// Every path the router serves, aliases included, with parameters as `:name`
/// (`/api/:user_id/tasks`), and the methods it accepts there: what `openapi.json` must
/// describe, no more and no less.
pub fn served_paths() -> Vec<(&'static str, &'static [&'static str])> {
    let fixed = FIXED.iter().map(|(path, route)| (*path, route.methods()));
    let parameterised = PARAMETERISED.iter().map(|route| (route.template(), route.methods()));
    let tables = Endpoint::ALL
        .into_iter()
        .map(Route::BetterAuth)
        .chain(Asset::ALL.into_iter().map(Route::Account))
        .chain(File::ALL.into_iter().map(Route::Docs))
        .map(|route| (route.template(), route.methods()));
    fixed.chain(parameterised).chain(tables).collect()
}

/// The template of the route that serves `path` (`/api/:user_id/tasks`), if any.
pub fn route_template(path: &str) -> Option<&'static str> {
    Route::resolve(path).map(Route::template)
}

/// Answers `request` on `platform`. Settings are read for every request (CORS needs them);
/// storage is touched only by routes that need it.
pub fn handle(request: &Request, platform: &impl Platform) -> Response {
    // Every answer has its declared type (JSON, or the account page's HTML, CSS and
    // JavaScript): a browser must never sniff it into something else.
    answer(request, platform).with_header("x-content-type-options", "nosniff")
}

fn answer(request: &Request, platform: &impl Platform) -> Response {
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
    let response = match route {
        // Better Auth clients call more of `/api/auth` than itsor serves (plugins, social
        // sign-in): they get their 404 in Better Auth's words too.
        None if request.path.starts_with("/api/auth/") => better_auth::dialect(ApiError::not_found()).into_response(),
        None => ApiError::not_found().into_response(),
        Some(route) => dispatch(route, request, platform, settings.clone())
            .map_err(|err| match route {
                Route::BetterAuth(_) => better_auth::dialect(err),
                Route::Token if body::media_type(request).as_deref() == Some(body::FORM) => auth::oauth2_dialect(err),
                _ => err,
            })
            .unwrap_or_else(ApiError::into_response),
    };
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
    // A bearer token is never attached by a browser on another site's behalf; anything else
    // (a cookie, a form, a sign-up, Basic credentials the browser remembered) could be a
    // forgery.
    if bearer_token(request).is_none() {
        csrf::check(request, &settings)?;
    }
    let accounts = Accounts::new(platform.database(), settings, WallClock);
    match route {
        Route::Signup => auth::signup(request, &accounts),
        Route::Token => auth::token(request, &accounts),
        Route::Refresh => auth::refresh(request, &accounts),
        Route::Jwks => auth::jwks(&accounts),
        Route::Me | Route::ApiMe => auth::me(request, &accounts),
        Route::Logout => auth::logout(request, &accounts),
        Route::ApiSignup => auth::api_signup(request, &accounts),
        Route::ApiSignin => auth::api_signin(request, &accounts),
        Route::ApiSignout => auth::api_signout(request, &accounts),
        Route::Password => sessions::change_password(request, &accounts),
        Route::LogoutAll => sessions::logout_all(request, &accounts),
        Route::Sessions => sessions::list(request, &accounts),
        Route::Session { session_id } => sessions::revoke(request, &accounts, session_id),
        Route::Tasks { user_id } => tasks::collection(request, &accounts, user_id),
        Route::Task { user_id, task_id } => tasks::item(request, &accounts, user_id, task_id),
        Route::Health => auth::health(&accounts),
        Route::BetterAuth(endpoint) => better_auth::handle(endpoint, request, &accounts),
        Route::Account(asset) => account_page::serve(asset, accounts.settings()),
        Route::Docs(file) => Ok(docs::serve(file)),
    }
}

/// Runs `f` with the request's [`Client`]: its address and user agent.
fn with_client<T>(request: &Request, settings: &Settings, f: impl FnOnce(&Client<'_>) -> T) -> T {
    let addr = client::address(request, settings);
    f(&Client { addr: addr.as_deref(), user_agent: request.header("user-agent") })
}

/// The token of an `Authorization: Bearer` header, if the request has one.
fn bearer_token(request: &Request) -> Option<&str> {
    let (scheme, token) = request.header("authorization")?.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The bearer token if there is one (it wins over the cookie, even when it is not valid),
/// else the session cookie. Other `Authorization` schemes carry no token of ours.
fn presented_token<'r>(request: &'r Request, settings: &Settings) -> Option<&'r str> {
    bearer_token(request).or_else(|| cookie::read(request, &settings.cookie.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `path` with each `:name` segment replaced by a value.
    fn instance(path: &str) -> String {
        path.split('/')
            .map(|segment| if segment.starts_with(':') { "x" } else { segment })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[test]
    fn every_served_path_resolves_to_a_route_with_its_methods() {
        let served = served_paths();
        for (path, methods) in &served {
            let route = Route::resolve(path).unwrap_or_else(|| panic!("{path} does not resolve"));
            assert_eq!(route.methods(), *methods, "{path}");
            let concrete = instance(path);
            let route = Route::resolve(&concrete).unwrap_or_else(|| panic!("{concrete} does not resolve"));
            assert_eq!(route.methods(), *methods, "{concrete}");
            if path.contains(':') {
                assert_eq!(route.template(), *path, "a parameterised path is its route's template");
            }
        }
        let mut paths: Vec<&str> = served.iter().map(|(path, _)| *path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), served.len(), "a path is listed twice");
    }

    #[test]
    fn every_route_is_listed() {
        // A new variant fails to compile here until it is given a number, and this test then
        // fails until `served_paths` lists it.
        let number = |route: Route<'_>| match route {
            Route::Signup => 0,
            Route::Token => 1,
            Route::Refresh => 2,
            Route::Jwks => 3,
            Route::Me => 4,
            Route::Logout => 5,
            Route::ApiSignup => 6,
            Route::ApiSignin => 7,
            Route::ApiMe => 8,
            Route::ApiSignout => 9,
            Route::Password => 10,
            Route::LogoutAll => 11,
            Route::Sessions => 12,
            Route::Session { .. } => 13,
            Route::Tasks { .. } => 14,
            Route::Task { .. } => 15,
            Route::Health => 16,
            Route::BetterAuth(_) => 17,
            Route::Account(_) => 18,
            Route::Docs(_) => 19,
        };
        let mut seen = [false; 20];
        for (path, _) in served_paths() {
            seen[number(Route::resolve(&instance(path)).expect("resolves"))] = true;
        }
        assert!(seen.iter().all(|seen| *seen), "a route is not listed: {seen:?}");
    }
}
