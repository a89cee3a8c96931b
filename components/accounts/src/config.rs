//! Deployment settings, read from named variables with one set of defaults.
//!
//! The component reads them through `fermyon:spin/variables` on every request; the host
//! reads the same names from its environment at start-up and calls [`Settings::load`] too,
//! so an unsafe deployment is refused before it serves anything, and the rules live here
//! only.
//!
//! [`VARIABLES`] is the one table of the settings: each row gives a setting's name (its
//! environment name is the upper-case form), the aliases other guides use, its default,
//! whether it is secret, what it means and what is refused outside local/dev/test. The
//! host's `itsor serve --help` and README's configuration table are rendered from it (with
//! the host's own table, `itsor::config::HOST_SETTINGS`), and the Spin manifests are
//! checked against it. [`Settings::load`] reports every problem at once, as Spin does.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::AuthError;
pub use crate::algorithm::Algorithm;
pub use crate::limits::Limit;
use crate::password::{OWASP_2025, PasswordPolicy};

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

/// One setting: its name, default, documentation and production rule. [`VARIABLES`] is the
/// only list of settings; the host's `--help`, README's configuration table and the Spin
/// manifests' checks are all derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    /// Lower snake case, as Spin variables are named; the environment variable is its
    /// upper-case form ([`Variable::env_name`]).
    pub name: &'static str,
    /// Other environment names for this setting, used by other guides (upper case); the
    /// `itsor` host reads them when the canonical name is unset.
    pub aliases: &'static [&'static str],
    /// The value used when the variable is unset (`None` or `""`: unset by default).
    pub default: Option<&'static str>,
    /// Whether the value must never be logged or echoed.
    pub secret: bool,
    /// What the setting does and which values it takes: one or two plain sentences
    /// (backticks allowed, no `|` or line breaks: it becomes a cell of README's table).
    pub description: &'static str,
    /// What is refused or forced where `backend_env` is not local, dev or test (see
    /// [`DEVELOPMENT_ENVIRONMENTS`]), when anything is.
    pub production: Option<&'static str>,
}

impl Variable {
    /// The environment variable that sets this variable: its name in upper case
    /// (`jwt_secret` ← `JWT_SECRET`).
    pub fn env_name(&self) -> String {
        env_name(self.name)
    }
}

/// The environment variable of the setting `name`: its upper-case form.
pub fn env_name(name: &str) -> String {
    name.to_ascii_uppercase()
}

/// The setting named `name` (lower snake case), if there is one.
pub fn variable(name: &str) -> Option<&'static Variable> {
    VARIABLES.iter().find(|v| v.name == name)
}

/// Writes every setting name of `VARIABLES` that appears as a whole word in `text` in upper
/// case, as the environment spells it (`requires session_cookie_secure=true` becomes
/// `requires SESSION_COOKIE_SECURE=true`): for problems reported by the `itsor` host.
pub fn with_env_names(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| is_name_char(c)) {
        out.push_str(&rest[..start]);
        let word = &rest[start..];
        let end = word.find(|c: char| !is_name_char(c)).unwrap_or(word.len());
        let (word, tail) = word.split_at(end);
        match variable(word) {
            Some(_) => out.push_str(&env_name(word)),
            None => out.push_str(word),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
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

/// What [`VARIABLES`]' entries leave unsaid: no alias, no default, not secret, no
/// production rule.
const SETTING: Variable =
    Variable { name: "", aliases: &[], default: None, secret: false, description: "", production: None };

/// The production rule of the Argon2id costs.
const OWASP_COSTS: Option<&str> = Some("refused below OWASP's m=19456, t=2, p=1");

/// Every variable the component reads: the one table of the settings.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "backend_env",
        default: Some("local"),
        description: "The kind of deployment: `local`, `dev` and `test` relax the rules marked \"outside local/dev/test\"; \
            anything else (`development` included) is production. Unset, `itsor serve` refuses a `HOST` that is not loopback.",
        ..SETTING
    },
    Variable {
        name: "jwt_secret",
        aliases: &["BETTER_AUTH_SECRET"],
        default: Some(DEV_SECRET),
        secret: true,
        description: "The HMAC key of access tokens (with `EdDSA` or `ES256`: the key the signing keys are encrypted \
            under in the database). Never empty.",
        production: Some(
            "refused when empty, the development default, a placeholder from a guide, shorter than 32 bytes \
             (48 with `HS384`, 64 with `HS512`) or made of fewer than 16 distinct bytes; `openssl rand -base64 64` makes one",
        ),
    },
    Variable {
        name: "jwt_secret_previous",
        aliases: &["BETTER_AUTH_SECRET_PREVIOUS"],
        secret: true,
        description: "The secret before a rotation: verifies tokens until they expire, never signs. Unset or empty: none.",
        production: Some("held to the rules of `JWT_SECRET`"),
        ..SETTING
    },
    Variable {
        name: "jwt_algorithm",
        default: Some("HS256"),
        description: "How access tokens are signed: `HS256`, `HS384` or `HS512` (with the secret), or `EdDSA` or \
            `ES256` (with keys of itsor's own, published at `/.well-known/jwks.json`; `itsor keys rotate` makes a new \
            one). No other algorithm is ever accepted.",
        ..SETTING
    },
    Variable {
        name: "jwt_access_minutes",
        default: Some("60"),
        description: "The lifetime of an access token and of its session, in minutes (1 to 43200).",
        ..SETTING
    },
    Variable {
        name: "jwt_access_seconds",
        description: "The same lifetime in seconds (1 to 2592000), overriding `JWT_ACCESS_MINUTES`: for tests and \
            short-lived deployments. Empty means unset.",
        ..SETTING
    },
    Variable {
        name: "jwt_leeway_seconds",
        default: Some("30"),
        description: "The clock skew tolerated when checking a token's `exp` and `nbf`, in seconds (0 to 300).",
        ..SETTING
    },
    Variable {
        name: "jwt_refresh_days",
        default: Some("0"),
        description: "`0`: no refresh tokens, a session lives as long as its access token. More (up to 365): logins \
            also return a refresh token, and a session lives this many days since its last refresh.",
        ..SETTING
    },
    Variable {
        name: "jwt_refresh_reuse_seconds",
        default: Some("10"),
        description: "How long after its use a refresh token still gets the same successor (two tabs refreshing at \
            once), in seconds (0 to 300); a later reuse revokes the session.",
        ..SETTING
    },
    Variable {
        name: "jwt_issuer",
        default: Some("itsor"),
        description: "The `iss` claim written into tokens and required of them.",
        ..SETTING
    },
    Variable {
        name: "jwt_audience",
        default: Some(""),
        description: "When set, the `aud` claim written into tokens and required of them.",
        ..SETTING
    },
    Variable {
        name: "session_cookie_name",
        default: Some("itsor_session"),
        description: "The name of the session cookie (an RFC 6265 token).",
        production: Some("prefixed with `SESSION_COOKIE_PREFIX` unless it starts with `__Host-` or `__Secure-`"),
        ..SETTING
    },
    Variable {
        name: "session_cookie_secure",
        default: Some("false"),
        description: "Whether the session cookie carries `Secure` (`true` or `false`); a `__Host-` or `__Secure-` \
            name and `SameSite=None` require it.",
        production: Some("always `true`, whatever is set"),
        ..SETTING
    },
    Variable {
        name: "session_cookie_samesite",
        default: Some("lax"),
        description: "The session cookie's `SameSite`: `lax`, `strict` or `none` (which requires \
            `SESSION_COOKIE_SECURE=true`).",
        ..SETTING
    },
    Variable {
        name: "session_cookie_prefix",
        default: Some(HOST_COOKIE_PREFIX),
        description: "The prefix given to the session cookie's name outside local/dev/test: `__Host-` (bound to this \
            exact host, no `Domain`) or `__Secure-` (what Better Auth's `getSessionCookie()` looks for).",
        ..SETTING
    },
    Variable {
        name: "account_page",
        default: Some("auto"),
        description: "The self-service page at `/account`: `auto` serves it in local/dev/test only; `on` or `off` \
            decide.",
        production: Some("`auto` means off"),
        ..SETTING
    },
    Variable {
        name: "cors_origins",
        default: Some("http://localhost:3000"),
        description: "Comma-separated browser origins (`https://app.example.com`) allowed to call with credentials; \
            `*` is refused.",
        ..SETTING
    },
    Variable {
        name: "trusted_proxies",
        default: Some(""),
        description: "Comma-separated CIDR blocks (`10.0.0.0/8`, `::1`) of the proxies whose `X-Forwarded-For` is \
            believed for the client's address.",
        ..SETTING
    },
    Variable {
        name: "rate_limit_auth_requests",
        default: Some("100"),
        description: "Sign-up, login and password-change requests allowed per client address and window \
            (0 to 1000000; 0 disables the limit).",
        ..SETTING
    },
    Variable {
        name: "rate_limit_auth_window_seconds",
        default: Some("60"),
        description: "The window of `RATE_LIMIT_AUTH_REQUESTS`, in seconds (1 to 86400).",
        ..SETTING
    },
    Variable {
        name: "rate_limit_login_failures",
        default: Some("5"),
        description: "Login attempts per account not followed by a success, per window (0 to 1000000; 0 disables \
            the limit).",
        ..SETTING
    },
    Variable {
        name: "rate_limit_login_window_seconds",
        default: Some("900"),
        description: "The window of `RATE_LIMIT_LOGIN_FAILURES`, in seconds (1 to 86400).",
        ..SETTING
    },
    Variable {
        name: "password_memory_kib",
        default: Some("19456"),
        description: "The Argon2id memory cost of new password hashes, in KiB (8 to 49152: what fits the component's \
            64 MiB); hashes made with other costs are upgraded at login.",
        production: OWASP_COSTS,
        ..SETTING
    },
    Variable {
        name: "password_iterations",
        default: Some("2"),
        description: "The Argon2id time cost (passes over memory) of new password hashes (1 to 64).",
        production: OWASP_COSTS,
        ..SETTING
    },
    Variable {
        name: "password_parallelism",
        default: Some("1"),
        description: "The Argon2id lanes of new password hashes (1 to 16).",
        production: OWASP_COSTS,
        ..SETTING
    },
    Variable {
        name: DATABASE_URL,
        secret: true,
        description: "Under Spin, the database: a `postgres://` or `postgresql://` URL selects PostgreSQL \
            (`spin:postgres`); unset, empty or anything else, Spin's SQLite database `default`. The `itsor` host sets \
            it from `BACKEND_DATABASE_URL`.",
        ..SETTING
    },
];

/// The cookie-name prefixes a production session cookie may carry, the default first.
/// Both make browsers insist on `Secure`; `__Host-` also forbids `Domain` and requires
/// `Path=/`.
pub const COOKIE_PREFIXES: &[&str] = &[HOST_COOKIE_PREFIX, "__Secure-"];

/// The default cookie prefix outside local/dev/test: bound to this exact host.
const HOST_COOKIE_PREFIX: &str = "__Host-";

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

/// One setting that cannot be used; the message names the variable and never its value when
/// the variable is secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigProblem {
    /// The variable's name (lower snake case).
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// Why [`Settings::load`] refused a configuration: every problem found, in the order of
/// the checks (never empty). A check that needs a setting which is itself wrong is skipped,
/// so each mistake is reported once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The problems, one per wrong setting (or pair of settings that disagree).
    pub problems: Vec<ConfigProblem>,
}

impl ConfigError {
    /// The variables named, in order.
    pub fn variables(&self) -> Vec<&'static str> {
        self.problems.iter().map(|p| p.variable).collect()
    }
}

impl fmt::Display for ConfigError {
    /// One problem: `variable: problem`; several: `N problems: a: ...; b: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.problems.len() != 1 {
            write!(f, "{} problems: ", self.problems.len())?;
        }
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for AuthError {
    fn from(err: ConfigError) -> AuthError {
        AuthError::Misconfigured(err.to_string())
    }
}

/// The problems of one [`Settings::load`] so far.
#[derive(Default)]
struct Problems(Vec<ConfigProblem>);

impl Problems {
    /// The value, or `None` with its problem recorded.
    fn take<T>(&mut self, result: Result<T, ConfigProblem>) -> Option<T> {
        result.map_err(|problem| self.0.push(problem)).ok()
    }

    fn refuse(&mut self, variable: &'static str, problem: &str) {
        self.0.push(invalid(variable, problem));
    }
}

impl Settings {
    /// Reads and validates every setting from `source`, applying defaults; refuses with
    /// every problem found, not only the first.
    pub fn load(source: &impl VariableSource) -> Result<Settings, ConfigError> {
        let get = |name: &'static str| -> String { source.get(name).unwrap_or_else(|| default_of(name).to_owned()) };
        let mut problems = Problems::default();
        let backend_env = get("backend_env").trim().to_ascii_lowercase();
        let development = is_development(&backend_env);
        let jwt_secret = get("jwt_secret");
        let jwt_algorithm = problems.take(get("jwt_algorithm").trim().parse::<Algorithm>().map_err(|_| {
            let names: Vec<&str> = Algorithm::ALL.iter().map(|alg| alg.as_str()).collect();
            invalid("jwt_algorithm", &format!("must be one of {}", names.join(", ")))
        }));
        let jwt_secret_previous = source.get("jwt_secret_previous").filter(|previous| !previous.is_empty());
        if !development {
            // With an unknown algorithm the secrets are held to the shortest length any has.
            problems.take(check_production_secret("jwt_secret", &jwt_secret, jwt_algorithm));
            if let Some(previous) = &jwt_secret_previous {
                problems.take(check_production_secret("jwt_secret_previous", previous, jwt_algorithm));
            }
        } else if jwt_secret.is_empty() {
            problems.refuse("jwt_secret", "must not be empty");
        }
        // Spin requires a default for every variable, so an empty value also means unset.
        let access_seconds = match source.get("jwt_access_seconds").filter(|s| !s.trim().is_empty()) {
            Some(seconds) => problems.take(
                parse_in_range(&seconds, 1..=MAX_ACCESS_SECONDS)
                    .ok_or_else(|| invalid("jwt_access_seconds", "must be a whole number from 1 to 2592000")),
            ),
            None => problems.take(
                parse_in_range(&get("jwt_access_minutes"), 1..=MAX_ACCESS_SECONDS / 60)
                    .map(|minutes| minutes * 60)
                    .ok_or_else(|| invalid("jwt_access_minutes", "must be a whole number from 1 to 43200")),
            ),
        };
        let jwt_leeway_seconds = problems.take(
            parse_in_range(&get("jwt_leeway_seconds"), 0..=300)
                .ok_or_else(|| invalid("jwt_leeway_seconds", "must be a whole number from 0 to 300")),
        );
        let refresh_days =
            problems.take(parse_in_range(&get("jwt_refresh_days"), 0..=MAX_REFRESH_DAYS).ok_or_else(|| {
                invalid("jwt_refresh_days", &format!("must be a whole number from 0 to {MAX_REFRESH_DAYS}"))
            }));
        let refresh_seconds = refresh_days.map(|days| (days > 0).then_some(days * 86_400));
        if let (Some(Some(refresh)), Some(access)) = (refresh_seconds, access_seconds)
            && refresh < access
        {
            problems.refuse("jwt_refresh_days", "must not be shorter than the access-token lifetime");
        }
        let refresh_reuse_seconds = problems.take(
            parse_in_range(&get("jwt_refresh_reuse_seconds"), 0..=300)
                .ok_or_else(|| invalid("jwt_refresh_reuse_seconds", "must be a whole number from 0 to 300")),
        );
        let jwt_issuer = get("jwt_issuer").trim().to_owned();
        if jwt_issuer.is_empty() {
            problems.refuse("jwt_issuer", "must not be empty");
        }
        let name = get("session_cookie_name").trim().to_owned();
        let name = if name.is_empty() || !name.bytes().all(is_cookie_name_byte) {
            problems.refuse("session_cookie_name", "must be a non-empty cookie token");
            None
        } else {
            Some(name)
        };
        let secure = problems.take(
            parse_bool(&get("session_cookie_secure"))
                .ok_or_else(|| invalid("session_cookie_secure", "must be true or false")),
        );
        // Production cookies: HTTPS only and, by their prefix, never set over plain HTTP.
        let secure = if development { secure } else { Some(true) };
        let same_site = match get("session_cookie_samesite").trim().to_ascii_lowercase().as_str() {
            "lax" => Some(SameSite::Lax),
            "strict" => Some(SameSite::Strict),
            "none" => Some(SameSite::None),
            _ => {
                problems.refuse("session_cookie_samesite", "must be lax, strict or none");
                None
            }
        };
        let cors_origins = problems.take(parse_origins(&get("cors_origins")));
        let prefix = get("session_cookie_prefix");
        let prefix = problems.take(
            COOKIE_PREFIXES
                .iter()
                .find(|known| known.eq_ignore_ascii_case(prefix.trim()))
                .ok_or_else(|| invalid("session_cookie_prefix", "must be __Host- or __Secure-")),
        );
        let prefixed = name.as_ref().map(|name| COOKIE_PREFIXES.iter().any(|known| name.starts_with(known)));
        if prefixed == Some(true) && secure == Some(false) {
            problems.refuse("session_cookie_name", "a __Host- or __Secure- name requires session_cookie_secure=true");
        }
        if same_site == Some(SameSite::None) && secure == Some(false) {
            problems.refuse("session_cookie_samesite", "none requires session_cookie_secure=true");
        }
        let name = match (name, prefixed, prefix) {
            (Some(name), Some(false), Some(prefix)) if !development => Some(format!("{prefix}{name}")),
            (name, _, _) => name,
        };
        let jwt_audience = Some(get("jwt_audience").trim().to_owned()).filter(|aud| !aud.is_empty());
        let trusted_proxies = problems.take(
            get("trusted_proxies")
                .split(',')
                .map(str::trim)
                .filter(|block| !block.is_empty())
                .map(|block| block.parse::<IpNet>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    invalid("trusted_proxies", "must be a comma-separated list of CIDR blocks like 10.0.0.0/8")
                }),
        );
        let mut number = |name: &'static str, range: std::ops::RangeInclusive<u32>| {
            problems.take(parse_in_range(&get(name), range.clone()).ok_or_else(|| {
                invalid(name, &format!("must be a whole number from {} to {}", range.start(), range.end()))
            }))
        };
        let auth_requests_limit = match (
            number("rate_limit_auth_requests", 0..=1_000_000),
            number("rate_limit_auth_window_seconds", 1..=86_400),
        ) {
            (Some(max), Some(window_seconds)) => Some(Limit { max, window_seconds }),
            _ => None,
        };
        let login_failures_limit = match (
            number("rate_limit_login_failures", 0..=1_000_000),
            number("rate_limit_login_window_seconds", 1..=86_400),
        ) {
            (Some(max), Some(window_seconds)) => Some(Limit { max, window_seconds }),
            _ => None,
        };
        let password_policy = match (
            number("password_memory_kib", 8..=MAX_PASSWORD_MEMORY_KIB),
            number("password_iterations", 1..=64),
            number("password_parallelism", 1..=16),
        ) {
            (Some(memory_kib), Some(iterations), Some(parallelism)) => {
                Some(PasswordPolicy { memory_kib, iterations, parallelism })
            }
            _ => None,
        };
        if !development && password_policy.as_ref().is_some_and(|policy| policy.weaker_than(&OWASP_2025)) {
            problems.refuse(
                "password_memory_kib",
                "Argon2id costs below OWASP's (m=19456, t=2, p=1) are for local/dev/test only",
            );
        }
        let account_page = match get("account_page").trim().to_ascii_lowercase().as_str() {
            "auto" => Some(development),
            other => problems.take(parse_bool(other).ok_or_else(|| invalid("account_page", "must be auto, on or off"))),
        };
        // Every `None` above recorded its problem.
        match (
            problems.0.is_empty(),
            jwt_algorithm,
            access_seconds,
            jwt_leeway_seconds,
            refresh_seconds,
            refresh_reuse_seconds,
            (name, secure, same_site),
            cors_origins,
            trusted_proxies,
            (auth_requests_limit, login_failures_limit),
            password_policy,
            account_page,
        ) {
            (
                true,
                Some(jwt_algorithm),
                Some(access_seconds),
                Some(jwt_leeway_seconds),
                Some(refresh_seconds),
                Some(refresh_reuse_seconds),
                (Some(name), Some(secure), Some(same_site)),
                Some(cors_origins),
                Some(trusted_proxies),
                (Some(auth_requests_limit), Some(login_failures_limit)),
                Some(password_policy),
                Some(account_page),
            ) => Ok(Settings {
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
                cookie: CookieSettings { name, secure, same_site },
                cors_origins,
                jwt_audience,
                trusted_proxies,
                auth_requests_limit,
                login_failures_limit,
                password_policy,
            }),
            _ => Err(ConfigError { problems: problems.0 }),
        }
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
    variable(name).and_then(|v| v.default).unwrap_or("")
}

fn is_development(backend_env: &str) -> bool {
    DEVELOPMENT_ENVIRONMENTS.contains(&backend_env)
}

/// The production rules for a token secret held in `variable`.
fn check_production_secret(
    variable: &'static str,
    secret: &str,
    algorithm: Option<Algorithm>,
) -> Result<(), ConfigProblem> {
    let least = algorithm.map_or(MIN_SECRET_BYTES, |alg| MIN_SECRET_BYTES.max(alg.min_secret_bytes()));
    // `openssl rand -base64 N` prints more than N characters: always long enough.
    let make_one = format!("set a random secret (openssl rand -base64 {least})");
    if secret.is_empty() {
        Err(invalid(variable, "must be set outside local/dev/test"))
    } else if secret == DEV_SECRET {
        Err(invalid(variable, &format!("is the development default; {make_one}")))
    } else if PLACEHOLDER_SECRETS.iter().any(|placeholder| secret.trim().eq_ignore_ascii_case(placeholder)) {
        Err(invalid(variable, &format!("is a placeholder from a guide; {make_one}")))
    } else if secret.len() < least {
        let with = algorithm.map(|alg| format!(" with {alg:?}")).unwrap_or_default();
        Err(invalid(variable, &format!("must be at least {least} bytes{with} outside local/dev/test; {make_one}")))
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
    text.bytes().collect::<std::collections::BTreeSet<u8>>().len()
}

/// A comma-separated list of exact origins; `*` is refused because responses carry
/// credentials.
fn parse_origins(list: &str) -> Result<Vec<String>, ConfigProblem> {
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

fn invalid(variable: &'static str, problem: &str) -> ConfigProblem {
    ConfigProblem { variable, problem: problem.to_owned() }
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
            assert_eq!(err.variables(), ["jwt_secret"]);
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
            assert_eq!(err.variables(), ["jwt_secret"]);
            assert!(!err.to_string().contains(secret), "{err}");
        }
    }

    #[test]
    fn only_local_dev_and_test_are_development() {
        for env in DEVELOPMENT_ENVIRONMENTS {
            assert!(load(&[("backend_env", env)]).is_ok(), "{env} accepts the development secret");
        }
        for env in ["development", "staging", "prod"] {
            assert_eq!(
                load(&[("backend_env", env)]).expect_err(env).variables(),
                ["jwt_secret"],
                "{env} is production"
            );
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
        assert_eq!(load(&[("password_memory_kib", &over)]).expect_err("too big").variables(), ["password_memory_kib"]);
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
            assert_eq!(load(&[(name, value)]).expect_err("refused").variables(), [name], "{name}={value}");
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
            assert_eq!(load(&[("cors_origins", bad)]).expect_err("refused").variables(), ["cors_origins"], "{bad}");
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
        assert_eq!(err.variables(), ["session_cookie_samesite"]);
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
            assert_eq!(err.variables(), ["jwt_secret"]);
            assert!(err.to_string().contains(&format!("at least {least} bytes with {alg}")), "{err}");
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
            assert_eq!(err.variables(), ["jwt_secret_previous"]);
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
        assert_eq!(
            prod(&[("session_cookie_prefix", "none")]).expect_err("refused").variables(),
            ["session_cookie_prefix"]
        );
        // Development writes the name as given; a prefixed name needs Secure there too.
        assert_eq!(load(&better_auth).expect("loads").cookie.name, "better-auth.session_token");
        assert_eq!(
            load(&[("session_cookie_name", "__Host-s")]).expect_err("refused").variables(),
            ["session_cookie_name"]
        );
    }

    #[test]
    fn the_account_page_is_for_development_unless_decided() {
        assert!(load(&[]).expect("loads").account_page);
        let prod = [("backend_env", "production"), ("jwt_secret", STRONG)];
        assert!(!load(&prod).expect("loads").account_page);
        assert!(load(&[prod[0], prod[1], ("account_page", "on")]).expect("loads").account_page);
        assert!(!load(&[("account_page", "off")]).expect("loads").account_page);
        assert_eq!(load(&[("account_page", "sometimes")]).expect_err("refused").variables(), ["account_page"]);
    }

    #[test]
    fn weak_password_costs_only_in_development() {
        let weak = [("password_memory_kib", "1024"), ("password_iterations", "1")];
        assert_eq!(load(&weak).expect("dev allows").password_policy.memory_kib, 1024);
        let prod = [weak[0], weak[1], ("backend_env", "production"), ("jwt_secret", STRONG)];
        assert_eq!(load(&prod).expect_err("refused").variables(), ["password_memory_kib"]);
    }

    #[test]
    fn trusted_proxies_are_cidr_blocks() {
        let s = load(&[("trusted_proxies", "10.0.0.0/8, ::1, 192.168.1.7/32")]).expect("loads");
        let has = |ip: &str| s.trusted_proxies.iter().any(|net| net.contains(ip.parse().expect("ip")));
        assert!(has("10.200.3.4") && has("::1") && has("192.168.1.7"));
        assert!(!has("11.0.0.1") && !has("192.168.1.8") && !has("::2"));
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0.0/x"] {
            assert_eq!(load(&[("trusted_proxies", bad)]).expect_err("refused").variables(), ["trusted_proxies"]);
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = load(&[
            ("jwt_algorithm", "none"),
            ("session_cookie_name", "bad name"),
            ("rate_limit_login_window_seconds", "0"),
            ("password_parallelism", "99"),
        ])
        .expect_err("refused");
        assert_eq!(
            err.variables(),
            ["jwt_algorithm", "session_cookie_name", "rate_limit_login_window_seconds", "password_parallelism"]
        );
        let message = err.to_string();
        assert!(message.starts_with("4 problems: jwt_algorithm: must be one of"), "{message}");
        assert!(message.contains("; session_cookie_name: must be a non-empty cookie token"), "{message}");
        // Production: the secret and the weak costs, both named.
        let err = load(&[("backend_env", "production"), ("password_iterations", "1")]).expect_err("refused");
        assert_eq!(err.variables(), ["jwt_secret", "password_memory_kib"]);
        // One problem reads as it always did.
        let one = load(&[("jwt_issuer", " ")]).expect_err("refused");
        assert_eq!(one.to_string(), "jwt_issuer: must not be empty");
    }

    #[test]
    fn a_check_whose_input_is_wrong_is_skipped() {
        // The refresh lifetime is compared with the access lifetime only when both parse.
        let err = load(&[("jwt_access_minutes", "abc"), ("jwt_refresh_days", "1")]).expect_err("refused");
        assert_eq!(err.variables(), ["jwt_access_minutes"]);
        // `SameSite=None` needs `Secure`: not checked again when `Secure` itself is wrong.
        let err =
            load(&[("session_cookie_secure", "maybe"), ("session_cookie_samesite", "none")]).expect_err("refused");
        assert_eq!(err.variables(), ["session_cookie_secure"]);
        // The Argon2id policy is compared with OWASP's only when all three costs parse.
        let prod = [("backend_env", "production"), ("jwt_secret", STRONG), ("password_iterations", "x")];
        assert_eq!(load(&prod).expect_err("refused").variables(), ["password_iterations"]);
        // With an unknown algorithm the secret is still checked, against the shortest length.
        let err = load(&[("backend_env", "production"), ("jwt_algorithm", "RS256"), ("jwt_secret", "short")])
            .expect_err("refused");
        assert_eq!(err.variables(), ["jwt_algorithm", "jwt_secret"]);
        assert!(err.to_string().contains(&format!("at least {MIN_SECRET_BYTES} bytes outside")), "{err}");
    }

    #[test]
    fn every_setting_is_documented_once() {
        let mut names = std::collections::HashSet::new();
        for variable in VARIABLES {
            let name = variable.name;
            assert!(names.insert(variable.env_name()), "{name} is listed twice");
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{name}");
            assert_eq!(variable.env_name(), name.to_ascii_uppercase());
            for text in std::iter::once(variable.description).chain(variable.production) {
                assert!(!text.trim().is_empty(), "{name} needs a description");
                assert!(!text.contains(['|', '\n']), "{name}: no | or line break in {text:?}");
                assert!(!text.contains("  "), "{name}: a double space in {text:?}");
                assert_eq!(text.matches('`').count() % 2, 0, "{name}: unbalanced backticks in {text:?}");
            }
            assert!(variable.description.ends_with('.'), "{name}: a description is sentences");
            for alias in variable.aliases {
                assert!(alias.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "{alias}");
                assert!(names.insert((*alias).to_owned()), "{alias} is listed twice");
            }
            assert!(!variable.secret || variable.default.is_none_or(|d| d == DEV_SECRET), "{name}");
        }
        for variable in VARIABLES {
            // A setting named in another's text is spelled as the environment spells it.
            for other in VARIABLES.iter().filter(|other| other.name != variable.name) {
                let text = format!("{} {}", variable.description, variable.production.unwrap_or_default());
                assert!(!text.contains(&format!("`{}`", other.name)), "{}: write {}", variable.name, other.env_name());
            }
        }
        assert_eq!(variable("jwt_secret").map(|v| v.aliases), Some(&["BETTER_AUTH_SECRET"][..]));
        assert_eq!(variable("nonsense"), None);
    }

    #[test]
    fn the_documented_limits_are_the_checked_ones() {
        let text = |name: &str| {
            let v = variable(name).expect("a setting");
            format!("{} {}", v.description, v.production.unwrap_or_default())
        };
        let secret = text("jwt_secret");
        for needed in [
            format!("shorter than {MIN_SECRET_BYTES} bytes"),
            format!("{} with `HS384`", Algorithm::HS384.min_secret_bytes()),
            format!("{} with `HS512`", Algorithm::HS512.min_secret_bytes()),
            format!("fewer than {MIN_SECRET_DISTINCT_BYTES} distinct bytes"),
        ] {
            assert!(secret.contains(&needed), "{needed:?} not in {secret:?}");
        }
        let owasp = format!("m={}, t={}, p={}", OWASP_2025.memory_kib, OWASP_2025.iterations, OWASP_2025.parallelism);
        for name in ["password_memory_kib", "password_iterations", "password_parallelism"] {
            assert!(text(name).contains(&owasp), "{name}");
        }
        assert!(text("password_memory_kib").contains(&format!("8 to {MAX_PASSWORD_MEMORY_KIB}")));
        assert!(text("jwt_access_minutes").contains(&format!("(1 to {})", MAX_ACCESS_SECONDS / 60)));
        assert!(text("jwt_access_seconds").contains(&format!("(1 to {MAX_ACCESS_SECONDS})")));
        assert!(text("jwt_refresh_days").contains(&format!("up to {MAX_REFRESH_DAYS}")));
        for alg in Algorithm::ALL {
            assert!(text("jwt_algorithm").contains(&format!("`{}`", alg.as_str())), "{alg:?}");
        }
        for prefix in COOKIE_PREFIXES {
            assert!(text("session_cookie_prefix").contains(&format!("`{prefix}`")), "{prefix}");
        }
        for env in DEVELOPMENT_ENVIRONMENTS {
            assert!(text("backend_env").contains(&format!("`{env}`")), "{env}");
        }
        // Ranges quoted in the table are the ones refused: one past either end fails.
        for (name, low, high) in [
            ("jwt_leeway_seconds", 0, 300),
            ("jwt_refresh_reuse_seconds", 0, 300),
            ("rate_limit_auth_requests", 0, 1_000_000),
            ("rate_limit_auth_window_seconds", 1, 86_400),
            ("rate_limit_login_failures", 0, 1_000_000),
            ("rate_limit_login_window_seconds", 1, 86_400),
            ("password_iterations", 1, 64),
            ("password_parallelism", 1, 16),
        ] {
            assert!(text(name).contains(&format!("{low} to {high}")), "{name}");
            assert!(load(&[(name, &high.to_string())]).is_ok(), "{name}={high}");
            assert!(load(&[(name, &(high + 1).to_string())]).is_err(), "{name}={}", high + 1);
            if low > 0 {
                assert!(load(&[(name, &(low - 1).to_string())]).is_err(), "{name}={}", low - 1);
            }
        }
    }

    #[test]
    fn problems_can_name_settings_as_the_environment_does() {
        assert_eq!(
            with_env_names("none requires session_cookie_secure=true"),
            "none requires SESSION_COOKIE_SECURE=true"
        );
        // Whole words only: a longer name is not spelled as a shorter one plus a tail.
        assert_eq!(with_env_names("jwt_secret_previous and jwt_secret"), "JWT_SECRET_PREVIOUS and JWT_SECRET");
        assert_eq!(with_env_names("a __Host- name, not_a_setting"), "a __Host- name, not_a_setting");
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let s = load(&[("jwt_secret", "super-secret-value")]).expect("loads");
        assert!(!format!("{s:?}").contains("super-secret-value"));
    }
}
