//! The session cookie: written at login, cleared at logout, read back as a token source.

use itsor_accounts::config::CookieSettings;

use crate::Request;

/// `Set-Cookie` carrying `token` for `max_age` seconds.
pub fn set(settings: &CookieSettings, token: &str, max_age: u32) -> String {
    attributes(settings, &format!("{}={token}", settings.name), Some(max_age))
}

/// `Set-Cookie` carrying `token` until the browser closes (no `Max-Age`): "remember me"
/// unticked. The session itself still ends when the token does.
pub fn set_for_browser_session(settings: &CookieSettings, token: &str) -> String {
    attributes(settings, &format!("{}={token}", settings.name), None)
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear(settings: &CookieSettings) -> String {
    attributes(settings, &format!("{}=", settings.name), Some(0))
}

fn attributes(settings: &CookieSettings, pair: &str, max_age: Option<u32>) -> String {
    let secure = if settings.secure { "; Secure" } else { "" };
    let max_age = max_age.map(|seconds| format!("; Max-Age={seconds}")).unwrap_or_default();
    format!("{pair}; HttpOnly; Path=/; SameSite={}{max_age}{secure}", settings.same_site.as_str())
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
        let strict = CookieSettings { secure: true, same_site: SameSite::Strict, ..lax };
        assert_eq!(clear(&strict), "s=; HttpOnly; Path=/; SameSite=Strict; Max-Age=0; Secure");
        assert_eq!(set_for_browser_session(&strict, "t"), "s=t; HttpOnly; Path=/; SameSite=Strict; Secure");
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
