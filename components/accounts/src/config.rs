//! Deployment settings, read from named variables with one set of defaults.
//!
//! The component reads them through `fermyon:spin/variables` on every request; the host
//! reads the same names from its environment at start-up and calls [`Settings::load`] too,
//! so an unsafe deployment is refused before it serves anything, and the rules live here
//! only.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::limits::Limit;
use crate::password::{OWASP_2025, PasswordPolicy};
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

/// The shortest `jwt_secret` accepted outside local/dev/test, in bytes, with `HS256`,
/// `EdDSA` and `ES256`; `HS384` and `HS512` need 48 and 64 (the length of their hash, see
/// [`Algorithm::min_secret_bytes`]).
pub const MIN_SECRET_BYTES: usize = 32;

/// The fewest distinct bytes a production `jwt_secret` may have: 32 bytes of one repeated
/// character (or of two) are not a secret. Random base64 of 32 bytes has about 27.
pub const MIN_SECRET_DISTINCT_BYTES: usize = 16;

/// Placeholders that guides tell users to replace, refused as production secrets (compared
/// without regard to case). The first is the seed guide's `.env.example` value.
pub const PLACEHOLDER_SECRETS: &[&str] = &[
    "your-secret-here-minimum-32-characters",
    "<your-generated-secret-from-step-1>",
    "<same-secret-from-step-1>",
    "change-me-to-a-long-random-string-of-32-bytes",
    "changeme",
    "secret",
];

/// The most memory an Argon2id hash may use, in KiB: the guest's linear memory is capped at
/// 64 MiB by the host (`itsor::engine::MAX_MEMORY_BYTES`, which a host test checks against
/// this), and the component needs a few MiB besides the hash's blocks.
pub const MAX_PASSWORD_MEMORY_KIB: u32 = 48 * 1024;

/// The `backend_env` values with relaxed rules (development secret, weak Argon2 costs,
/// cookies without `Secure`). Any other value is production.
pub const DEVELOPMENT_ENVIRONMENTS: &[&str] = &["local", "dev", "test"];

/// The longest access-token lifetime accepted: 30 days.
pub const MAX_ACCESS_SECONDS: u32 = 30 * 24 * 60 * 60;

/// The longest session a refresh token can keep alive since its last refresh: a year.
pub const MAX_REFRESH_DAYS: u32 = 365;

/// Every variable the component reads, with its default.
pub const VARIABLES: &[Variable] = &[
    var("backend_env", Some("local")),
    Variable { name: "jwt_secret", default: Some(DEV_SECRET), secret: true },
    // The secret before the last rotation: still verifies tokens (until they expire), never
    // signs. Unset or empty: none.
    Variable { name: "jwt_secret_previous", default: None, secret: true },
    var("jwt_algorithm", Some("HS256")),
    var("jwt_access_minutes", Some("60")),
    // Overrides `jwt_access_minutes` when set: for tests and very short-lived deployments.
    var("jwt_access_seconds", None),
    var("jwt_leeway_seconds", Some("30")),
    // 0: no refresh tokens (a session lives as long as its access token). More: logins also
    // return a refresh token, and a session lives this many days since its last refresh.
    var("jwt_refresh_days", Some("0")),
    // How long after its use a refresh token still gets the same successor (two tabs
    // refreshing at once); later, presenting it revokes the session.
    var("jwt_refresh_reuse_seconds", Some("10")),
    var("jwt_issuer", Some("itsor")),
    var("session_cookie_name", Some("itsor_session")),
    var("session_cookie_secure", Some("false")),
    var("session_cookie_samesite", Some("lax")),
    // Outside local/dev/test: `__Host-` (bound to this exact host, no `Domain`) or
    // `__Secure-` (what Better Auth's `getSessionCookie()` recognises).
    var("session_cookie_prefix", Some(COOKIE_PREFIXES[0])),
    // `auto`: the account page at /account in local/dev/test only; `on` or `off` decide.
    var("account_page", Some("auto")),
    var("cors_origins", Some("http://localhost:3000")),
    var("jwt_audience", Some("")),
    var("trusted_proxies", Some("")),
    var("rate_limit_auth_requests", Some("100")),
    var("rate_limit_auth_window_seconds", Some("60")),
    var("rate_limit_login_failures", Some("5")),
    var("rate_limit_login_window_seconds", Some("900")),
    var("password_memory_kib", Some("19456")),
    var("password_iterations", Some("2")),
    var("password_parallelism", Some("1")),
    // A `postgres://` or `postgresql://` URL selects PostgreSQL (`spin:postgres`); unset,
    // empty or anything else keeps the host's SQLite `default` database. The `itsor` host
    // sets it from its own database URL; under Spin it comes from the manifest.
    Variable { name: DATABASE_URL, default: None, secret: true },
];

/// The cookie-name prefixes a production session cookie may carry, the default first.
/// Both make browsers insist on `Secure`; `__Host-` also forbids `Domain` and requires
/// `Path=/`.
pub const COOKIE_PREFIXES: &[&str] = &["__Host-", "__Secure-"];

/// The variable naming the database: a `postgres://` URL selects PostgreSQL (see
/// [`is_postgres_url`]); unset or anything else, the host's SQLite `default`.
pub const DATABASE_URL: &str = "database_url";

/// Whether `url` names a PostgreSQL database (the component then stores through
/// `spin:postgres`).
pub fn is_postgres_url(url: &str) -> bool {
    let url = url.trim_start();
    ["postgres://", "postgresql://"]
        .iter()
        .any(|scheme| url.get(..scheme.len()).is_some_and(|s| s.eq_ignore_ascii_case(scheme)))
}

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
    /// The HMAC key of access tokens; with EdDSA or ES256, the secret the signing keys are
    /// sealed under (see [`crate::keys`]).
    pub jwt_secret: String,
    /// The key before the last rotation, which still verifies (never signs) tokens.
    pub jwt_secret_previous: Option<String>,
    /// The signing algorithm of access tokens.
    pub jwt_algorithm: Algorithm,
    /// Access-token (and session) lifetime in seconds.
    pub access_seconds: u32,
    /// Clock skew tolerated when checking `exp` and `nbf`, in seconds.
    pub jwt_leeway_seconds: u32,
    /// With refresh tokens, how long a session lives since its last refresh, in seconds.
    pub refresh_seconds: Option<u32>,
    /// How long a used refresh token still gets its successor, in seconds.
    pub refresh_reuse_seconds: u32,
    /// The `iss` claim written into tokens and required of them.
    pub jwt_issuer: String,
    /// The session cookie.
    pub cookie: CookieSettings,
    /// Browser origins allowed to call with credentials (exact `scheme://host[:port]`).
    pub cors_origins: Vec<String>,
    /// The `aud` claim written and required, when set.
    pub jwt_audience: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed (CIDR blocks).
    pub trusted_proxies: Vec<IpNet>,
    /// Sign-up, login and password-change requests per client address.
    pub auth_requests_limit: Limit,
    /// Failed logins per account.
    pub login_failures_limit: Limit,
    /// The Argon2id costs new hashes are made with; other hashes are upgraded at login.
    pub password_policy: PasswordPolicy,
    /// Whether `/account`, the self-service page, is served.
    pub account_page: bool,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("backend_env", &self.backend_env)
            .field("jwt_secret", &"<redacted>")
            .field("jwt_secret_previous", &self.jwt_secret_previous.as_ref().map(|_| "<redacted>"))
            .field("jwt_algorithm", &self.jwt_algorithm)
            .field("access_seconds", &self.access_seconds)
            .field("jwt_leeway_seconds", &self.jwt_leeway_seconds)
            .field("refresh_seconds", &self.refresh_seconds)
            .field("refresh_reuse_seconds", &self.refresh_reuse_seconds)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("cookie", &self.cookie)
            .field("cors_origins", &self.cors_origins)
            .field("jwt_audience", &self.jwt_audience)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("auth_requests_limit", &self.auth_requests_limit)
            .field("login_failures_limit", &self.login_failures_limit)
            .field("password_policy", &self.password_policy)
            .field("account_page", &self.account_page)
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
        let get = |name: &'static str| -> String { source.get(name).unwrap_or_else(|| default_of(name).to_owned()) };
        let backend_env = get("backend_env").trim().to_ascii_lowercase();
        let jwt_secret = get("jwt_secret");
        let jwt_algorithm = get("jwt_algorithm").trim().parse::<Algorithm>().map_err(|_| {
            let names: Vec<&str> = Algorithm::ALL.iter().map(|alg| alg.as_str()).collect();
            invalid("jwt_algorithm", &format!("must be one of {}", names.join(", ")))
        })?;
        let jwt_secret_previous = source.get("jwt_secret_previous").filter(|previous| !previous.is_empty());
        if !is_development(&backend_env) {
            check_production_secret("jwt_secret", &jwt_secret, jwt_algorithm)?;
            if let Some(previous) = &jwt_secret_previous {
                check_production_secret("jwt_secret_previous", previous, jwt_algorithm)?;
            }
        } else if jwt_secret.is_empty() {
            return Err(invalid("jwt_secret", "must not be empty"));
        }
        // Spin requires a default for every variable, so an empty value also means unset.
        let access_seconds = match source.get("jwt_access_seconds").filter(|s| !s.trim().is_empty()) {
            Some(seconds) => parse_in_range(&seconds, 1..=MAX_ACCESS_SECONDS)
                .ok_or_else(|| invalid("jwt_access_seconds", "must be a whole number from 1 to 2592000"))?,
            None => {
                parse_in_range(&get("jwt_access_minutes"), 1..=MAX_ACCESS_SECONDS / 60)
                    .ok_or_else(|| invalid("jwt_access_minutes", "must be a whole number from 1 to 43200"))?
                    * 60
            }
        };
        let jwt_leeway_seconds = parse_in_range(&get("jwt_leeway_seconds"), 0..=300)
            .ok_or_else(|| invalid("jwt_leeway_seconds", "must be a whole number from 0 to 300"))?;
        let refresh_days = parse_in_range(&get("jwt_refresh_days"), 0..=MAX_REFRESH_DAYS).ok_or_else(|| {
            invalid("jwt_refresh_days", &format!("must be a whole number from 0 to {MAX_REFRESH_DAYS}"))
        })?;
        let refresh_seconds = (refresh_days > 0).then_some(refresh_days * 86_400);
        if refresh_seconds.is_some_and(|refresh| refresh < access_seconds) {
            return Err(invalid("jwt_refresh_days", "must not be shorter than the access-token lifetime"));
        }
        let refresh_reuse_seconds = parse_in_range(&get("jwt_refresh_reuse_seconds"), 0..=300)
            .ok_or_else(|| invalid("jwt_refresh_reuse_seconds", "must be a whole number from 0 to 300"))?;
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
        let development = is_development(&backend_env);
        let prefix = get("session_cookie_prefix");
        let prefix = COOKIE_PREFIXES
            .iter()
            .find(|known| known.eq_ignore_ascii_case(prefix.trim()))
            .ok_or_else(|| invalid("session_cookie_prefix", "must be __Host- or __Secure-"))?;
        let mut cookie = CookieSettings { name, secure, same_site };
        let prefixed = COOKIE_PREFIXES.iter().any(|known| cookie.name.starts_with(known));
        if !development {
            // Production cookies: HTTPS only and, by their prefix, never set over plain HTTP.
            cookie.secure = true;
            if !prefixed {
                cookie.name = format!("{prefix}{}", cookie.name);
            }
        }
        if prefixed && !cookie.secure {
            return Err(invalid(
                "session_cookie_name",
                "a __Host- or __Secure- name requires session_cookie_secure=true",
            ));
        }
        if cookie.same_site == SameSite::None && !cookie.secure {
            return Err(invalid("session_cookie_samesite", "none requires session_cookie_secure=true"));
        }
        let jwt_audience = Some(get("jwt_audience").trim().to_owned()).filter(|aud| !aud.is_empty());
        let trusted_proxies = get("trusted_proxies")
            .split(',')
            .map(str::trim)
            .filter(|block| !block.is_empty())
            .map(|block| block.parse::<IpNet>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| invalid("trusted_proxies", "must be a comma-separated list of CIDR blocks like 10.0.0.0/8"))?;
        let number = |name: &'static str, range: std::ops::RangeInclusive<u32>| {
            parse_in_range(&get(name), range.clone()).ok_or_else(|| {
                invalid(name, &format!("must be a whole number from {} to {}", range.start(), range.end()))
            })
        };
        let auth_requests_limit = Limit {
            max: number("rate_limit_auth_requests", 0..=1_000_000)?,
            window_seconds: number("rate_limit_auth_window_seconds", 1..=86_400)?,
        };
        let login_failures_limit = Limit {
            max: number("rate_limit_login_failures", 0..=1_000_000)?,
            window_seconds: number("rate_limit_login_window_seconds", 1..=86_400)?,
        };
        let password_policy = PasswordPolicy {
            memory_kib: number("password_memory_kib", 8..=MAX_PASSWORD_MEMORY_KIB)?,
            iterations: number("password_iterations", 1..=64)?,
            parallelism: number("password_parallelism", 1..=16)?,
        };
        if !development && password_policy.weaker_than(&OWASP_2025) {
            return Err(invalid(
                "password_memory_kib",
                "Argon2id costs below OWASP's (m=19456, t=2, p=1) are for local/dev/test only",
            ));
        }
        let account_page = match get("account_page").trim().to_ascii_lowercase().as_str() {
            "auto" => development,
            other => parse_bool(other).ok_or_else(|| invalid("account_page", "must be auto, on or off"))?,
        };
        Ok(Settings {
            account_page,
            backend_env,
            jwt_secret,
            jwt_secret_previous,
            jwt_algorithm,
            access_seconds,
            jwt_leeway_seconds,
            refresh_seconds,
            refresh_reuse_seconds,
            jwt_issuer,
            cookie,
            cors_origins,
            jwt_audience,
            trusted_proxies,
            auth_requests_limit,
            login_failures_limit,
            password_policy,
        })
    }

    /// Whether this is a local, dev or test deployment (relaxed secret rules).
    pub fn is_development(&self) -> bool {
        is_development(&self.backend_env)
    }
}

/// An IP network in CIDR notation (`10.0.0.0/8`, `::1/128`; a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    network: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `addr` lies in this network.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let prefix = u32::from(self.prefix);
        match (self.network, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = ();

    fn from_str(s: &str) -> Result<IpNet, ()> {
        let (addr, prefix) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let network: IpAddr = addr.parse().map_err(|_| ())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or(())?,
            None => max,
        };
        Ok(IpNet { network, prefix })
    }
}

/// The default of a known variable; unknown names have none.
pub fn default_of(name: &str) -> &'static str {
    VARIABLES.iter().find(|v| v.name == name).and_then(|v| v.default).unwrap_or("")
}

fn is_development(backend_env: &str) -> bool {
    DEVELOPMENT_ENVIRONMENTS.contains(&backend_env)
}

/// The production rules for a token secret held in `variable`.
fn check_production_secret(variable: &'static str, secret: &str, algorithm: Algorithm) -> Result<(), ConfigError> {
    let least = MIN_SECRET_BYTES.max(algorithm.min_secret_bytes());
    // `openssl rand -base64 N` prints more than N characters: always long enough.
    let make_one = format!("set a random secret (openssl rand -base64 {least})");
    if secret.is_empty() {
        Err(invalid(variable, "must be set outside local/dev/test"))
    } else if secret == DEV_SECRET {
        Err(invalid(variable, &format!("is the development default; {make_one}")))
    } else if PLACEHOLDER_SECRETS.iter().any(|placeholder| secret.trim().eq_ignore_ascii_case(placeholder)) {
        Err(invalid(variable, &format!("is a placeholder from a guide; {make_one}")))
    } else if secret.len() < least {
        Err(invalid(
            variable,
            &format!("must be at least {least} bytes with {algorithm:?} outside local/dev/test; {make_one}"),
        ))
    } else if distinct_bytes(secret) < MIN_SECRET_DISTINCT_BYTES {
        Err(invalid(
            variable,
            &format!("has too little variety to be random (fewer than 16 distinct bytes); {make_one}"),
        ))
    } else {
        Ok(())
    }
}

fn distinct_bytes(text: &str) -> usize {
    let mut seen = [false; 256];
    text.bytes().for_each(|b| seen[usize::from(b)] = true);
    seen.iter().filter(|&&seen| seen).count()
}

/// A comma-separated list of exact origins; `*` is refused because responses carry
/// credentials.
fn parse_origins(list: &str) -> Result<Vec<String>, ConfigError> {
    let mut origins = Vec::new();
    for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let origin = origin.trim_end_matches('/');
        let well_formed = origin.split_once("://").is_some_and(|(scheme, host)| {
            matches!(scheme, "http" | "https") && !host.is_empty() && !host.contains('/')
        });
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

    /// A production-grade secret (random base64).
    const STRONG: &str = "q3Zt8vJ1xN0bR5mW2kP7sL4dH9fG6cA+eYuT1oIiBnM=";

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
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
            let err = load(&[("backend_env", "production"), ("jwt_secret", secret)]).expect_err("refused");
            assert_eq!(err.variable, "jwt_secret");
            assert!(!err.to_string().contains(secret) || secret.is_empty());
        }
        assert!(load(&[("backend_env", "production"), ("jwt_secret", STRONG)]).is_ok());
    }

    #[test]
    fn production_refuses_low_entropy_and_placeholder_secrets() {
        let repeated = "x".repeat(MIN_SECRET_BYTES);
        let two = "ab".repeat(MIN_SECRET_BYTES);
        for secret in [
            repeated.as_str(),
            two.as_str(),
            "your-secret-here-minimum-32-characters",
            "YOUR-SECRET-HERE-MINIMUM-32-CHARACTERS",
        ] {
            let err = load(&[("backend_env", "production"), ("jwt_secret", secret)]).expect_err(secret);
            assert_eq!(err.variable, "jwt_secret");
            assert!(!err.to_string().contains(secret), "{err}");
        }
    }

    #[test]
    fn only_local_dev_and_test_are_development() {
        for env in DEVELOPMENT_ENVIRONMENTS {
            assert!(load(&[("backend_env", env)]).is_ok(), "{env} accepts the development secret");
        }
        for env in ["development", "staging", "prod"] {
            assert_eq!(load(&[("backend_env", env)]).expect_err(env).variable, "jwt_secret", "{env} is production");
        }
    }

    #[test]
    fn argon2_memory_must_fit_the_guest() {
        let max = MAX_PASSWORD_MEMORY_KIB.to_string();
        assert_eq!(
            load(&[("password_memory_kib", &max)]).expect("fits").password_policy.memory_kib,
            MAX_PASSWORD_MEMORY_KIB
        );
        let over = (MAX_PASSWORD_MEMORY_KIB + 1).to_string();
        assert_eq!(load(&[("password_memory_kib", &over)]).expect_err("too big").variable, "password_memory_kib");
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
            assert_eq!(load(&[(name, value)]).expect_err("refused").variable, name, "{name}={value}");
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
            assert_eq!(load(&[("cors_origins", bad)]).expect_err("refused").variable, "cors_origins", "{bad}");
        }
    }

    #[test]
    fn production_cookies_are_secure_and_host_prefixed() {
        let s = load(&[("backend_env", "production"), ("jwt_secret", STRONG)]).expect("loads");
        assert_eq!(s.cookie.name, "__Host-itsor_session");
        assert!(s.cookie.secure);
        let dev = load(&[]).expect("loads");
        assert_eq!(dev.cookie.name, "itsor_session");
        let err = load(&[("session_cookie_samesite", "none")]).expect_err("refused");
        assert_eq!(err.variable, "session_cookie_samesite");
        assert!(load(&[("session_cookie_samesite", "none"), ("session_cookie_secure", "true")]).is_ok());
    }

    #[test]
    fn longer_hashes_need_longer_secrets() {
        // 44 bytes: enough for HS256, not for HS384 (48) or HS512 (64).
        let prod = |alg: &str, secret: &str| {
            load(&[("backend_env", "production"), ("jwt_secret", secret), ("jwt_algorithm", alg)])
        };
        assert!(prod("HS256", STRONG).is_ok());
        for (alg, least) in [("HS384", 48), ("HS512", 64)] {
            let err = prod(alg, STRONG).expect_err(alg);
            assert_eq!(err.variable, "jwt_secret");
            assert!(err.problem.contains(&format!("at least {least} bytes with {alg}")), "{err}");
            let long = format!("{STRONG}{}", &STRONG[..least - STRONG.len()]);
            assert!(prod(alg, &long).is_ok(), "{alg} with {least} bytes");
        }
    }

    #[test]
    fn a_previous_secret_is_optional_and_held_to_the_same_rules() {
        assert_eq!(load(&[]).expect("loads").jwt_secret_previous, None);
        assert_eq!(load(&[("jwt_secret_previous", "")]).expect("loads").jwt_secret_previous, None);
        let prod = |previous: &str| {
            load(&[("backend_env", "production"), ("jwt_secret", STRONG), ("jwt_secret_previous", previous)])
        };
        let old = "Kp2Wm9Xr4Tz7Vb1Nq8Ls5Hd3Fg6Jc0Ya+eUo1iRtB=";
        assert_eq!(prod(old).expect("loads").jwt_secret_previous.as_deref(), Some(old));
        for bad in [DEV_SECRET, "short", "your-secret-here-minimum-32-characters"] {
            let err = prod(bad).expect_err(bad);
            assert_eq!(err.variable, "jwt_secret_previous");
            assert!(!err.to_string().contains(bad), "{err}");
        }
        assert!(!format!("{:?}", prod(old).expect("loads")).contains(old));
    }

    #[test]
    fn the_production_cookie_prefix_is_chosen() {
        let prod = |pairs: &[(&str, &str)]| {
            let mut all = vec![("backend_env", "production"), ("jwt_secret", STRONG)];
            all.extend_from_slice(pairs);
            load(&all)
        };
        let better_auth =
            [("session_cookie_name", "better-auth.session_token"), ("session_cookie_prefix", "__Secure-")];
        let s = prod(&better_auth).expect("loads");
        assert_eq!(s.cookie.name, "__Secure-better-auth.session_token");
        assert!(s.cookie.secure);
        // Already prefixed: kept as it is.
        assert_eq!(prod(&[("session_cookie_name", "__Secure-s")]).expect("loads").cookie.name, "__Secure-s");
        assert_eq!(prod(&[("session_cookie_prefix", "none")]).expect_err("refused").variable, "session_cookie_prefix");
        // Development writes the name as given; a prefixed name needs Secure there too.
        assert_eq!(load(&better_auth).expect("loads").cookie.name, "better-auth.session_token");
        assert_eq!(load(&[("session_cookie_name", "__Host-s")]).expect_err("refused").variable, "session_cookie_name");
    }

    #[test]
    fn the_account_page_is_for_development_unless_decided() {
        assert!(load(&[]).expect("loads").account_page);
        let prod = [("backend_env", "production"), ("jwt_secret", STRONG)];
        assert!(!load(&prod).expect("loads").account_page);
        assert!(load(&[prod[0], prod[1], ("account_page", "on")]).expect("loads").account_page);
        assert!(!load(&[("account_page", "off")]).expect("loads").account_page);
        assert_eq!(load(&[("account_page", "sometimes")]).expect_err("refused").variable, "account_page");
    }

    #[test]
    fn weak_password_costs_only_in_development() {
        let weak = [("password_memory_kib", "1024"), ("password_iterations", "1")];
        assert_eq!(load(&weak).expect("dev allows").password_policy.memory_kib, 1024);
        let prod = [weak[0], weak[1], ("backend_env", "production"), ("jwt_secret", STRONG)];
        assert_eq!(load(&prod).expect_err("refused").variable, "password_memory_kib");
    }

    #[test]
    fn trusted_proxies_are_cidr_blocks() {
        let s = load(&[("trusted_proxies", "10.0.0.0/8, ::1, 192.168.1.7/32")]).expect("loads");
        let has = |ip: &str| s.trusted_proxies.iter().any(|net| net.contains(ip.parse().expect("ip")));
        assert!(has("10.200.3.4") && has("::1") && has("192.168.1.7"));
        assert!(!has("11.0.0.1") && !has("192.168.1.8") && !has("::2"));
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0.0/x"] {
            assert_eq!(load(&[("trusted_proxies", bad)]).expect_err("refused").variable, "trusted_proxies");
        }
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let s = load(&[("jwt_secret", "super-secret-value")]).expect("loads");
        assert!(!format!("{s:?}").contains("super-secret-value"));
    }
}
