//! The session cookie (written at login, cleared at logout, read back as a token source)
//! and, with refresh tokens, the refresh cookie, sent only to [`REFRESH_PATH`].

use itsor_accounts::config::CookieSettings;

use crate::Request;

/// The one path the refresh cookie is sent to: the JSON refresh route.
pub const REFRESH_PATH: &str = "/auth/refresh";

/// `Set-Cookie` carrying `token` for `max_age` seconds.
pub fn set(settings: &CookieSettings, token: &str, max_age: u32) -> String {
    attributes(settings, &format!("{}={token}", settings.name), "/", Some(max_age))
}

/// `Set-Cookie` carrying `token` until the browser closes (no `Max-Age`): "remember me"
/// unticked. The session itself still ends when the token does.
pub fn set_for_browser_session(settings: &CookieSettings, token: &str) -> String {
    attributes(settings, &format!("{}={token}", settings.name), "/", None)
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear(settings: &CookieSettings) -> String {
    attributes(settings, &format!("{}=", settings.name), "/", Some(0))
}

/// The refresh cookie's name: the session cookie's plus `_refresh`, with `__Secure-` for
/// `__Host-` (whose cookies must have `Path=/`, and this one is scoped to
/// [`REFRESH_PATH`]).
pub fn refresh_name(settings: &CookieSettings) -> String {
    match settings.name.strip_prefix("__Host-") {
        Some(base) => format!("__Secure-{base}_refresh"),
        None => format!("{}_refresh", settings.name),
    }
}

/// `Set-Cookie` carrying the refresh token to [`REFRESH_PATH`], for `max_age` seconds or,
/// with `None`, until the browser closes.
pub fn set_refresh(settings: &CookieSettings, token: &str, max_age: Option<u32>) -> String {
    attributes(settings, &format!("{}={token}", refresh_name(settings)), REFRESH_PATH, max_age)
}

/// `Set-Cookie` that removes the refresh cookie.
pub fn clear_refresh(settings: &CookieSettings) -> String {
    attributes(settings, &format!("{}=", refresh_name(settings)), REFRESH_PATH, Some(0))
}

fn attributes(settings: &CookieSettings, pair: &str, path: &str, max_age: Option<u32>) -> String {
    let secure = if settings.secure { "; Secure" } else { "" };
    let max_age = max_age.map(|seconds| format!("; Max-Age={seconds}")).unwrap_or_default();
    format!("{pair}; HttpOnly; Path={path}; SameSite={}{max_age}{secure}", settings.same_site.as_str())
}

/// The value of the cookie `name` in the request's `Cookie` headers.
pub fn read<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request
        .header_values("cookie")
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Body;
    use itsor_accounts::config::SameSite;

    #[test]
    fn writes_every_attribute() {
        let lax = CookieSettings { name: "s".into(), secure: false, same_site: SameSite::Lax };
        assert_eq!(set(&lax, "t", 60), "s=t; HttpOnly; Path=/; SameSite=Lax; Max-Age=60");
        let strict = CookieSettings { secure: true, same_site: SameSite::Strict, ..lax.clone() };
        assert_eq!(clear(&strict), "s=; HttpOnly; Path=/; SameSite=Strict; Max-Age=0; Secure");
        assert_eq!(set_for_browser_session(&strict, "t"), "s=t; HttpOnly; Path=/; SameSite=Strict; Secure");
        assert_eq!(
            set_refresh(&strict, "r", Some(9)),
            "s_refresh=r; HttpOnly; Path=/auth/refresh; SameSite=Strict; Max-Age=9; Secure"
        );
        assert_eq!(clear_refresh(&lax), "s_refresh=; HttpOnly; Path=/auth/refresh; SameSite=Lax; Max-Age=0");
    }

    #[test]
    fn the_refresh_cookie_of_a_host_cookie_is_secure_prefixed() {
        let host = CookieSettings { name: "__Host-itsor".into(), secure: true, same_site: SameSite::Lax };
        assert_eq!(refresh_name(&host), "__Secure-itsor_refresh");
        let secure = CookieSettings { name: "__Secure-itsor".into(), ..host };
        assert_eq!(refresh_name(&secure), "__Secure-itsor_refresh");
    }

    #[test]
    fn reads_the_named_cookie_among_others() {
        let request = Request {
            method: "GET".into(),
            path: "/".into(),
            query: None,
            headers: vec![("cookie".into(), b"a=1; itsor_session=tok; b=2".to_vec())],
            body: Body::Complete(Vec::new()),
        };
        assert_eq!(read(&request, "itsor_session"), Some("tok"));
        assert_eq!(read(&request, "itsor"), None);
    }
}
