//! Deployment settings, read from named variables with one set of defaults.
//!
//! The component reads them through `fermyon:spin/variables` on every request; the host
//! reads the same names from its environment at start-up and calls [`Settings::load`] too,
//! so an unsafe deployment is refused before it serves anything, and the rules live here
//! only.

use std::fmt;

use crate::token::Algorithm;

/// Where setting values come from: a variables provider, the environment, a test table.
pub trait VariableSource {
    /// The value of the variable `name` (lower snake case), or `None` when it is unset.
    fn get(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> VariableSource for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// One setting: its variable name and its default (`None`: unset by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    /// Lower snake case, as Spin variables are named; the environment variable is its
    /// upper-case form.
    pub name: &'static str,
    /// The value used when the variable is unset.
    pub default: Option<&'static str>,
    /// Whether the value must never be logged or echoed.
    pub secret: bool,
}

/// The development secret: accepted only where `backend_env` is local, dev or test.
pub const DEV_SECRET: &str = "dev-secret-change-me";

/// The shortest `jwt_secret` accepted outside local/dev/test, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// The longest access-token lifetime accepted: 30 days.
pub const MAX_ACCESS_SECONDS: u32 = 30 * 24 * 60 * 60;

/// Every variable the component reads, with its default.
pub const VARIABLES: &[Variable] = &[
    var("backend_env", Some("local")),
    Variable { name: "jwt_secret", default: Some(DEV_SECRET), secret: true },
    var("jwt_algorithm", Some("HS256")),
    var("jwt_access_minutes", Some("60")),
    // Overrides `jwt_access_minutes` when set: for tests and very short-lived deployments.
    var("jwt_access_seconds", None),
    var("jwt_leeway_seconds", Some("30")),
    var("jwt_issuer", Some("itsor")),
    var("session_cookie_name", Some("itsor_session")),
    var("session_cookie_secure", Some("false")),
    var("session_cookie_samesite", Some("lax")),
    var("cors_origins", Some("http://localhost:3000")),
];

const fn var(name: &'static str, default: Option<&'static str>) -> Variable {
    Variable { name, default, secret: false }
}

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on top-level navigations from other sites, not on their sub-requests.
    Lax,
    /// Never sent on requests from other sites.
    Strict,
    /// Always sent; requires `Secure`.
    None,
}

impl SameSite {
    /// The attribute's value as written in `Set-Cookie`.
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
            SameSite::None => "None",
        }
    }
}

/// How the session cookie is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieSettings {
    /// The cookie's name.
    pub name: String,
    /// Whether the cookie carries `Secure`.
    pub secure: bool,
    /// The cookie's `SameSite`.
    pub same_site: SameSite,
}

/// Validated settings of one deployment.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// `local`, `dev`, `test`, `production`, ...
    pub backend_env: String,
    /// The HMAC key of access tokens.
    pub jwt_secret: String,
    /// The signing algorithm of access tokens.
    pub jwt_algorithm: Algorithm,
    /// Access-token (and session) lifetime in seconds.
    pub access_seconds: u32,
    /// Clock skew tolerated when checking `exp` and `nbf`, in seconds.
    pub jwt_leeway_seconds: u32,
    /// The `iss` claim written into tokens and required of them.
    pub jwt_issuer: String,
    /// The session cookie.
    pub cookie: CookieSettings,
    /// Browser origins allowed to call with credentials (exact `scheme://host[:port]`).
    pub cors_origins: Vec<String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("backend_env", &self.backend_env)
            .field("jwt_secret", &"<redacted>")
            .field("jwt_algorithm", &self.jwt_algorithm)
            .field("access_seconds", &self.access_seconds)
            .field("jwt_leeway_seconds", &self.jwt_leeway_seconds)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("cookie", &self.cookie)
            .field("cors_origins", &self.cors_origins)
            .finish()
    }
}

/// A setting that cannot be used; the message names the variable and never its value when
/// the variable is secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The variable's name (lower snake case).
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl Settings {
    /// Reads and validates every setting from `source`, applying defaults.
    pub fn load(source: &impl VariableSource) -> Result<Settings, ConfigError> {
        let get = |name: &'static str| -> String {
            source.get(name).unwrap_or_else(|| default_of(name).to_owned())
        };
        let backend_env = get("backend_env").trim().to_ascii_lowercase();
        let jwt_secret = get("jwt_secret");
        if !is_development(&backend_env) {
            check_production_secret(&jwt_secret)?;
        } else if jwt_secret.is_empty() {
            return Err(invalid("jwt_secret", "must not be empty"));
        }
        let jwt_algorithm = get("jwt_algorithm")
            .trim()
            .parse::<Algorithm>()
            .map_err(|_| invalid("jwt_algorithm", "must be one of HS256, HS384, HS512"))?;
        // Spin requires a default for every variable, so an empty value also means unset.
        let access_seconds = match source.get("jwt_access_seconds").filter(|s| !s.trim().is_empty()) {
            Some(seconds) => parse_in_range(&seconds, 1..=MAX_ACCESS_SECONDS)
                .ok_or_else(|| invalid("jwt_access_seconds", "must be a whole number from 1 to 2592000"))?,
            None => parse_in_range(&get("jwt_access_minutes"), 1..=MAX_ACCESS_SECONDS / 60)
                .ok_or_else(|| invalid("jwt_access_minutes", "must be a whole number from 1 to 43200"))?
                * 60,
        };
        let jwt_leeway_seconds = parse_in_range(&get("jwt_leeway_seconds"), 0..=300)
            .ok_or_else(|| invalid("jwt_leeway_seconds", "must be a whole number from 0 to 300"))?;
        let jwt_issuer = get("jwt_issuer").trim().to_owned();
        if jwt_issuer.is_empty() {
            return Err(invalid("jwt_issuer", "must not be empty"));
        }
        let name = get("session_cookie_name").trim().to_owned();
        if name.is_empty() || !name.bytes().all(is_cookie_name_byte) {
            return Err(invalid("session_cookie_name", "must be a non-empty cookie token"));
        }
        let secure = parse_bool(&get("session_cookie_secure"))
            .ok_or_else(|| invalid("session_cookie_secure", "must be true or false"))?;
        let same_site = match get("session_cookie_samesite").trim().to_ascii_lowercase().as_str() {
            "lax" => SameSite::Lax,
            "strict" => SameSite::Strict,
            "none" => SameSite::None,
            _ => return Err(invalid("session_cookie_samesite", "must be lax, strict or none")),
        };
        let cors_origins = parse_origins(&get("cors_origins"))?;
        Ok(Settings {
            backend_env,
            jwt_secret,
            jwt_algorithm,
            access_seconds,
            jwt_leeway_seconds,
            jwt_issuer,
            cookie: CookieSettings { name, secure, same_site },
            cors_origins,
        })
    }

    /// Whether this is a local, dev or test deployment (relaxed secret rules).
    pub fn is_development(&self) -> bool {
        is_development(&self.backend_env)
    }
}

/// The default of a known variable; unknown names have none.
pub fn default_of(name: &str) -> &'static str {
    VARIABLES.iter().find(|v| v.name == name).and_then(|v| v.default).unwrap_or("")
}

fn is_development(backend_env: &str) -> bool {
    matches!(backend_env, "local" | "dev" | "development" | "test")
}

fn check_production_secret(secret: &str) -> Result<(), ConfigError> {
    if secret.is_empty() {
        Err(invalid("jwt_secret", "must be set outside local/dev/test"))
    } else if secret == DEV_SECRET {
        Err(invalid("jwt_secret", "is the development default; set a random secret"))
    } else if secret.len() < MIN_SECRET_BYTES {
        Err(invalid("jwt_secret", "must be at least 32 bytes outside local/dev/test"))
    } else {
        Ok(())
    }
}

/// A comma-separated list of exact origins; `*` is refused because responses carry
/// credentials.
fn parse_origins(list: &str) -> Result<Vec<String>, ConfigError> {
    let mut origins = Vec::new();
    for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let origin = origin.trim_end_matches('/');
        let well_formed = origin
            .split_once("://")
            .is_some_and(|(scheme, host)| matches!(scheme, "http" | "https") && !host.is_empty() && !host.contains('/'));
        if origin == "*" {
            return Err(invalid("cors_origins", "cannot be * (credentials are allowed); list the origins"));
        }
        if !well_formed {
            return Err(invalid("cors_origins", "must list origins like https://app.example.com"));
        }
        origins.push(origin.to_owned());
    }
    Ok(origins)
}

fn parse_in_range(value: &str, range: std::ops::RangeInclusive<u32>) -> Option<u32> {
    value.trim().parse::<u32>().ok().filter(|n| range.contains(n))
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// RFC 6265 `token` characters.
fn is_cookie_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn invalid(variable: &'static str, problem: &str) -> ConfigError {
    ConfigError { variable, problem: problem.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::load(&|name: &str| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_the_seed_defaults() {
        let s = load(&[]).expect("defaults load");
        assert_eq!(s.backend_env, "local");
        assert_eq!(s.jwt_secret, DEV_SECRET);
        assert_eq!(s.jwt_algorithm, Algorithm::HS256);
        assert_eq!(s.access_seconds, 3600);
        assert_eq!(s.jwt_leeway_seconds, 30);
        assert_eq!(s.jwt_issuer, "itsor");
        assert_eq!(s.cookie.name, "itsor_session");
        assert!(!s.cookie.secure);
        assert_eq!(s.cookie.same_site, SameSite::Lax);
    }

    #[test]
    fn production_refuses_default_empty_and_short_secrets() {
        for secret in ["", DEV_SECRET, "short-but-not-empty"] {
            let err = load(&[("backend_env", "production"), ("jwt_secret", secret)]).unwrap_err();
            assert_eq!(err.variable, "jwt_secret");
            assert!(!err.to_string().contains(secret) || secret.is_empty());
        }
        let strong = "x".repeat(MIN_SECRET_BYTES);
        assert!(load(&[("backend_env", "production"), ("jwt_secret", &strong)]).is_ok());
    }

    #[test]
    fn rejects_unknown_algorithms_and_bad_values() {
        for (name, value) in [
            ("jwt_algorithm", "none"),
            ("jwt_algorithm", "RS256"),
            ("jwt_access_minutes", "0"),
            ("jwt_access_minutes", "abc"),
            ("jwt_access_seconds", "0"),
            ("jwt_leeway_seconds", "-1"),
            ("session_cookie_secure", "maybe"),
            ("session_cookie_samesite", "sometimes"),
            ("session_cookie_name", "bad name"),
        ] {
            assert_eq!(load(&[(name, value)]).unwrap_err().variable, name, "{name}={value}");
        }
    }

    #[test]
    fn access_seconds_override_minutes() {
        let s = load(&[("jwt_access_minutes", "5"), ("jwt_access_seconds", "2")]).expect("loads");
        assert_eq!(s.access_seconds, 2);
        assert_eq!(load(&[("jwt_access_minutes", "5")]).expect("loads").access_seconds, 300);
        let empty = load(&[("jwt_access_minutes", "5"), ("jwt_access_seconds", "")]).expect("loads");
        assert_eq!(empty.access_seconds, 300);
    }

    #[test]
    fn cors_origins_are_an_exact_list() {
        assert_eq!(load(&[]).expect("loads").cors_origins, ["http://localhost:3000"]);
        let s = load(&[("cors_origins", " https://a.example , http://localhost:5173/ ")]).expect("loads");
        assert_eq!(s.cors_origins, ["https://a.example", "http://localhost:5173"]);
        assert!(load(&[("cors_origins", "")]).expect("loads").cors_origins.is_empty());
        for bad in ["*", "a.example", "ftp://a.example", "https://a.example/path"] {
            assert_eq!(load(&[("cors_origins", bad)]).unwrap_err().variable, "cors_origins", "{bad}");
        }
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let s = load(&[("jwt_secret", "super-secret-value")]).expect("loads");
        assert!(!format!("{s:?}").contains("super-secret-value"));
    }
}
