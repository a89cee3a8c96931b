//! Configuration: one snapshot of the environment, resolved into typed settings.
//!
//! # Design
//!
//! Everything `itsor` is told comes from three places, in decreasing priority:
//!
//! 1. command-line flags (`--host`, `--port`, `--database-url`, `--component`);
//! 2. the process environment;
//! 3. a `.env` file in the working directory (read with `dotenvy`, never searched for in
//!    parent directories, and never written back into the process environment).
//!
//! [`Environment`] merges 2 and 3 once, at start-up, into an immutable map; every later
//! decision reads that map, so nothing consults the real environment while requests are
//! served, and the resolution functions below are pure and unit-tested.
//!
//! Two kinds of settings are resolved here:
//!
//! * **Host settings** ([`ServeConfig`]): where to listen, which database file, which
//!   component, where to cache compiled code, and the request [`Limits`] (instances at once,
//!   time allowed to the guest, to a request's body and to its headers).
//! * **Component variables** ([`ComponentVariables`]): for every entry of
//!   [`itsor_accounts::config::VARIABLES`], the environment variable named by its upper-case
//!   form (`jwt_secret` ← `JWT_SECRET`). Unset variables are simply absent, so the component
//!   applies its own defaults. The host validates the same snapshot with
//!   [`itsor_accounts::config::Settings::load`] before serving ([`ComponentVariables::validate`]),
//!   so an unsafe deployment is refused at start-up with the offending *environment variable*
//!   named, and never its value.
//!
//! Every setting is one row of a table: the component's in
//! [`itsor_accounts::config::VARIABLES`], the host's own in [`HOST_SETTINGS`]. The aliases
//! ([`aliases`]), `itsor serve --help` ([`help_text`]), README's configuration table
//! (`markdown_table`, checked against README by a test) and the warning about unknown names
//! ([`unknown_settings`]) are all derived from the two. Configuration problems are
//! collected, not returned one by one: a start that fails names every problem at once
//! ([`ConfigError::All`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use itsor_accounts::config::{Settings, VARIABLES, VariableSource};

/// Default of `BACKEND_DATABASE_URL`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:///./backend/itsor.db";
/// Default of `HOST`.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// Default of `PORT`.
pub const DEFAULT_PORT: u16 = 3002;

/// Environment variable: the database URL.
pub const ENV_DATABASE_URL: &str = "BACKEND_DATABASE_URL";
/// Environment variable: the listen address.
pub const ENV_HOST: &str = "HOST";
/// Environment variable: the listen port.
pub const ENV_PORT: &str = "PORT";
/// Environment variable: the path of the component `.wasm`.
pub const ENV_COMPONENT: &str = "ITSOR_COMPONENT";
/// Environment variable: where compiled components are cached.
pub const ENV_CACHE_DIR: &str = "ITSOR_CACHE_DIR";
/// Environment variable: how many component instances may run at once ([`Limits::max_concurrent`]).
pub const ENV_MAX_CONCURRENT: &str = "ITSOR_MAX_CONCURRENT";
/// Environment variable: how many connections may be open at once ([`Limits::max_connections`]).
pub const ENV_MAX_CONNECTIONS: &str = "ITSOR_MAX_CONNECTIONS";
/// Default of `ITSOR_MAX_CONNECTIONS`: within a common file-descriptor limit of 4096 once the
/// database and the listener are counted.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 4000;
/// The most `ITSOR_MAX_CONNECTIONS` may be.
pub const MAX_MAX_CONNECTIONS: u32 = 1_000_000;
/// Environment variable: how long one request's guest may run ([`Limits::request_timeout`]).
pub const ENV_REQUEST_TIMEOUT: &str = "ITSOR_REQUEST_TIMEOUT_SECONDS";
/// Environment variable: how long a client may take to send a body ([`Limits::body_timeout`]).
pub const ENV_BODY_TIMEOUT: &str = "ITSOR_BODY_TIMEOUT_SECONDS";
/// Environment variable: how long a client may take to send a request's headers, and how
/// long an idle keep-alive connection stays open ([`Limits::header_timeout`]).
pub const ENV_HEADER_TIMEOUT: &str = "ITSOR_HEADER_TIMEOUT_SECONDS";
/// Environment variable: how long after SIGTERM connections are still accepted, with
/// `/readyz` already `503` ([`Limits::drain_delay`]).
pub const ENV_DRAIN_DELAY: &str = "ITSOR_DRAIN_SECONDS";
/// Environment variable: how long in-flight requests may take to finish once connections
/// are refused ([`Limits::shutdown_timeout`]).
pub const ENV_SHUTDOWN_TIMEOUT: &str = "ITSOR_SHUTDOWN_SECONDS";
/// Environment variable: where Prometheus metrics are served ([`ServeConfig::metrics_addr`]).
pub const ENV_METRICS_ADDR: &str = "ITSOR_METRICS_ADDR";
/// Environment variable: which export of the component `itsor serve` calls
/// ([`ServeConfig::guest_interface`]).
pub const ENV_GUEST_INTERFACE: &str = "ITSOR_GUEST_INTERFACE";

/// Default of `ITSOR_REQUEST_TIMEOUT_SECONDS`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of `ITSOR_BODY_TIMEOUT_SECONDS`.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of `ITSOR_HEADER_TIMEOUT_SECONDS`.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of `ITSOR_DRAIN_SECONDS`: a few of a load balancer's probe intervals.
pub const DEFAULT_DRAIN_DELAY: Duration = Duration::from_secs(5);
/// Default of `ITSOR_SHUTDOWN_SECONDS`: the request timeout's default, so a request that
/// started just before the signal can finish.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest any of the `*_TIMEOUT_SECONDS` settings may be.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// The SQLite URL scheme of `BACKEND_DATABASE_URL`.
const SQLITE_SCHEME: &str = "sqlite:///";

/// Environment variable: the most PostgreSQL connections one host opens
/// ([`ServeConfig::pg_pool_size`]).
pub const ENV_PG_POOL_SIZE: &str = "ITSOR_PG_POOL_SIZE";
/// The most `ITSOR_PG_POOL_SIZE` may be.
pub const MAX_PG_POOL_SIZE: u32 = 256;

/// One of the host's own settings: read by `itsor` from its environment, never given to
/// the component (so not a Spin variable). The component's settings are
/// [`itsor_accounts::config::VARIABLES`]; this is the same kind of table for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostSetting {
    /// The environment variable.
    pub name: &'static str,
    /// Other names other guides use, read when `name` is unset.
    pub aliases: &'static [&'static str],
    /// The default as documented (backticks around literal values); `""`: unset.
    pub default: &'static str,
    /// What it does and which values it takes: one or two plain sentences (backticks
    /// allowed, no `|` or line breaks).
    pub description: &'static str,
}

/// What [`HOST_SETTINGS`]' entries leave unsaid.
const HOST_SETTING: HostSetting = HostSetting { name: "", aliases: &[], default: "", description: "" };

/// Every setting of the host itself, in the order `--help` and README list them.
pub const HOST_SETTINGS: &[HostSetting] = &[
    HostSetting {
        name: ENV_DATABASE_URL,
        aliases: &["DATABASE_URL"],
        default: "`sqlite:///./backend/itsor.db`",
        description: "The database: a SQLite file (`sqlite:///relative.db` or `sqlite:////absolute.db`) or \
            PostgreSQL (`postgresql://user:password@host[:port]/database[?sslmode=require]`). The URL is never logged \
            (host, port and database name are); `--database-url` wins.",
    },
    HostSetting {
        name: ENV_PG_POOL_SIZE,
        default: "`8`",
        description: "PostgreSQL connections this host opens at most (1 to 256); the number of hosts times this must \
            stay below the server's `max_connections`.",
        ..HOST_SETTING
    },
    HostSetting {
        name: ENV_HOST,
        default: "`127.0.0.1`",
        description: "The address `itsor serve` listens on; `--host` wins.",
        ..HOST_SETTING
    },
    HostSetting {
        name: ENV_PORT,
        default: "`3002`",
        description: "The port `itsor serve` listens on; `0` picks a free one; `--port` wins.",
        ..HOST_SETTING
    },
    HostSetting {
        name: ENV_COMPONENT,
        default: "`../wasm32-wasip2/component/itsor_auth.wasm` from the binary's directory",
        description: "The component `.wasm` to serve; `--component` wins.",
        ..HOST_SETTING
    },
    HostSetting {
        name: ENV_CACHE_DIR,
        default: "`$XDG_CACHE_HOME/itsor`, else `~/.cache/itsor`",
        description: "Where compiled components are cached.",
        ..HOST_SETTING
    },
    HostSetting {
        name: ENV_MAX_CONCURRENT,
        default: "`1000`, the instance pool's size",
        description: "Component instances alive at once (1 to 1000); a request that finds none free within 1 s gets \
            `503` with `Retry-After: 1`.",
        ..HOST_SETTING
    },
    HostSetting {
        name: ENV_MAX_CONNECTIONS,
        default: "`4000`",
        description: "Connections open at once (1 to 1000000); one more gets a JSON `503` with `Retry-After: 1` and \
            is closed. Keep the file-descriptor limit above it.",
        ..HOST_SETTING
    },
    HostSetting {
        name: ENV_REQUEST_TIMEOUT,
        default: "`30`",
        description: "Seconds one request's component may run, response body and database statements included \
            (more than 0, at most 3600, fractions allowed); then it is stopped and the client gets `503 TIMEOUT`.",
        ..HOST_SETTING
    },
    HostSetting {
        name: ENV_BODY_TIMEOUT,
        default: "`10`",
        description: "Seconds a client may take to send a request body (at most 64 KiB, else `413`); then it gets \
            `408`. Limits as `ITSOR_REQUEST_TIMEOUT_SECONDS`.",
        ..HOST_SETTING
    },
    HostSetting {
        name: ENV_HEADER_TIMEOUT,
        default: "`10`",
        description: "Seconds a client may take to send a request's headers (at most 64 headers and 16 KiB, else \
            `431`), and the keep-alive idle timeout; then the connection is closed. Limits as \
            `ITSOR_REQUEST_TIMEOUT_SECONDS`.",
        ..HOST_SETTING
    },
    HostSetting {
        name: ENV_DRAIN_DELAY,
        default: "`5`",
        description: "After SIGTERM, seconds during which connections are still accepted with `/readyz` already \
            `503`, so load balancers stop sending traffic first.",
        ..HOST_SETTING
    },
    HostSetting {
        name: ENV_SHUTDOWN_TIMEOUT,
        default: "`30`",
        description: "Then, seconds in-flight requests may take to finish before the process exits.",
        ..HOST_SETTING
    },
    HostSetting {
        name: ENV_METRICS_ADDR,
        description: "An IP address and port (`127.0.0.1:9464`) where Prometheus metrics are served \
            (`GET /metrics`), never on the public port. Unset: no metrics.",
        ..HOST_SETTING
    },
    HostSetting {
        name: ENV_GUEST_INTERFACE,
        default: "`typed`",
        description: "Which export of the component serves requests: `typed` (`itsor:auth/http-handler`, one call \
            with the whole request and response) or `wasi-http` (`wasi:http/incoming-handler`, as Spin calls it). \
            Both answer byte for byte the same; a component without the typed export is served through `wasi-http`.",
        ..HOST_SETTING
    },
    HostSetting {
        name: crate::logging::ENV_LOG_FORMAT,
        default: "`text`",
        description: "`text`, or `json`: one JSON object per line.",
        ..HOST_SETTING
    },
    HostSetting {
        name: crate::logging::ENV_RUST_LOG,
        default: "`info`",
        description: "The log filter (`debug`, `itsor=debug`, ...).",
        ..HOST_SETTING
    },
];

/// Every name a setting is read under: both tables' environment names and aliases.
fn known_names() -> Vec<String> {
    let component = VARIABLES.iter().flat_map(|var| std::iter::once(var.env_name()).chain(owned(var.aliases)));
    let host = HOST_SETTINGS.iter().flat_map(|set| std::iter::once(set.name.to_owned()).chain(owned(set.aliases)));
    component.chain(host).collect()
}

fn owned(names: &'static [&'static str]) -> impl Iterator<Item = String> {
    names.iter().map(|name| (*name).to_owned())
}

/// Every alias of both tables, as `(canonical, alias)`. An alias stands in for an unset
/// canonical name; both set to different values is refused, naming both.
pub fn aliases() -> Vec<(String, &'static str)> {
    let component = VARIABLES.iter().flat_map(|var| var.aliases.iter().map(|alias| (var.env_name(), *alias)));
    let host = HOST_SETTINGS.iter().flat_map(|set| set.aliases.iter().map(|alias| (set.name.to_owned(), *alias)));
    component.chain(host).collect()
}

/// One setting as `--help` and README document it: a row of either table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingDoc {
    /// The environment variable; `None` for a component variable the host sets itself
    /// (`database_url`, from `BACKEND_DATABASE_URL`).
    pub env_name: Option<String>,
    /// The Spin variable, for a component setting.
    pub spin_name: Option<&'static str>,
    /// Other environment names read when the setting is unset.
    pub aliases: &'static [&'static str],
    /// The default (backticks around literal values), or `None` when unset by default.
    pub default: Option<String>,
    /// What it does.
    pub description: &'static str,
    /// What is refused or forced outside local/dev/test.
    pub production: Option<&'static str>,
}

/// Both tables as documented: the component's settings, then the host's.
pub fn documented_settings() -> Vec<SettingDoc> {
    let set_by_host = |env: &str| HOST_SETTINGS.iter().any(|host| host.name == env || host.aliases.contains(&env));
    let component = VARIABLES.iter().map(|var| SettingDoc {
        env_name: Some(var.env_name()).filter(|env| !set_by_host(env)),
        spin_name: Some(var.name),
        aliases: var.aliases,
        default: match var.default {
            Some("") | None => None,
            Some(_) if var.secret => Some("a development-only value".to_owned()),
            Some(value) => Some(format!("`{value}`")),
        },
        description: var.description,
        production: var.production,
    });
    let host = HOST_SETTINGS.iter().map(|set| SettingDoc {
        env_name: Some(set.name.to_owned()),
        spin_name: None,
        aliases: set.aliases,
        default: Some(set.default.to_owned()).filter(|d| !d.is_empty()),
        description: set.description,
        production: None,
    });
    component.chain(host).collect()
}

/// `text` without Markdown's backticks, for the terminal.
fn plain(text: &str) -> String {
    text.replace('`', "")
}

/// `text` wrapped to `width` columns, each line indented by `indent` spaces.
fn wrap(text: &str, indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent + line.len() + 1 + word.len() > width {
            out.push_str(&format!("{:indent$}{line}\n", ""));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{:indent$}{line}\n", ""));
    }
    out
}

/// The environment part of `itsor serve --help`, rendered from both tables.
pub fn help_text() -> String {
    const WIDTH: usize = 96;
    let mut help = String::from(
        "Settings are read from the process environment and from ./.env (the process wins; flags win over both).\n\
         An alias is read when the setting itself is unset; unknown JWT_*, SESSION_*, ITSOR_*, ... names get a warning.\n",
    );
    let docs = documented_settings();
    let groups: [(&str, Vec<&SettingDoc>); 2] = [
        (
            "Component settings (under Spin: variables of the same name in lower case; checked at start-up):",
            docs.iter().filter(|doc| doc.spin_name.is_some()).collect(),
        ),
        ("Host settings (itsor only):", docs.iter().filter(|doc| doc.spin_name.is_none()).collect()),
    ];
    for (title, docs) in groups {
        help.push('\n');
        help.push_str(title);
        help.push('\n');
        for doc in docs {
            let name = match (&doc.env_name, doc.spin_name) {
                (Some(env), _) => env.clone(),
                (None, spin) => format!("{} (set by itsor from {ENV_DATABASE_URL})", spin.unwrap_or_default()),
            };
            let aliases: Vec<String> = doc.aliases.iter().map(|alias| format!(", alias {alias}")).collect();
            help.push_str(&format!("  {name}{}\n", aliases.concat()));
            help.push_str(&wrap(&plain(doc.description), 8, WIDTH));
            if let Some(rule) = doc.production {
                help.push_str(&wrap(&plain(&format!("Outside local/dev/test: {rule}.")), 8, WIDTH));
            }
            if let Some(default) = &doc.default {
                help.push_str(&wrap(&format!("[default: {}]", plain(default)), 8, WIDTH));
            }
        }
    }
    help.trim_end().to_owned()
}

/// Prefixes of itsor's settings: a variable with one of them that is no setting is most
/// likely a misspelt one.
pub const SETTING_PREFIXES: &[&str] = &["JWT_", "SESSION_", "ITSOR_", "RATE_LIMIT_", "PASSWORD_", "BACKEND_", "CORS_"];

/// Variables with those prefixes that belong to other programs, by name or prefix: the
/// desktop session manager, `pass`, and the end-to-end suite (whose servers inherit its
/// environment).
const OTHER_PROGRAMS: &[&str] = &["SESSION_MANAGER", "PASSWORD_STORE_", "ITSOR_E2E_"];

/// Where a variable of the merged environment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The `.env` file (and not overridden by the process environment).
    DotEnv,
    /// The process environment.
    Process,
}

/// A variable that looks like a setting of itsor but is none (a misspelling, most likely).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSetting {
    /// Its name, as written.
    pub name: String,
    /// Where it was set.
    pub origin: Origin,
    /// The known setting (or alias) nearest to it by edit distance.
    pub closest: String,
}

impl fmt::Display for UnknownSetting {
    // Never the value: it may be a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = match self.origin {
            Origin::DotEnv => ".env",
            Origin::Process => "the environment",
        };
        write!(f, "{}, set in {origin}, is not a setting of itsor (did you mean {}?)", self.name, self.closest)
    }
}

/// Every variable of `env` whose name starts with one of [`SETTING_PREFIXES`] (in any case)
/// and is not a known setting or alias, with the closest known name; sorted by name.
pub fn unknown_settings(env: &Environment) -> Vec<UnknownSetting> {
    let known = known_names();
    let mut unknown: Vec<UnknownSetting> = env
        .names()
        .filter(|(name, _)| {
            let upper = name.to_ascii_uppercase();
            SETTING_PREFIXES.iter().any(|prefix| upper.starts_with(prefix))
                && !OTHER_PROGRAMS.iter().any(|other| upper.starts_with(other))
                && !known.iter().any(|known| known == name)
        })
        .map(|(name, origin)| UnknownSetting { name: name.to_owned(), origin, closest: closest_setting(name) })
        .collect();
    unknown.sort_by(|a, b| a.name.cmp(&b.name));
    unknown
}

/// The known setting or alias nearest to `name` (compared in upper case) by edit distance;
/// the first in table order among equals.
pub fn closest_setting(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    known_names().into_iter().min_by_key(|candidate| edit_distance(&upper, candidate)).unwrap_or_default()
}

/// Levenshtein distance between `a` and `b`, in bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    // `previous[j]`: the distance between the part of `a` read so far and `b[..j]`.
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for ((cb, diagonal), above) in b.iter().zip(&previous).zip(previous.iter().skip(1)) {
            let left = current.last().map_or(usize::MAX, |left| left + 1);
            current.push((diagonal + usize::from(ca != *cb)).min(above + 1).min(left));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or_default()
}

/// A configuration problem that stops `itsor` before it serves anything.
///
/// Messages name environment variables and flags, never the value of a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `BACKEND_DATABASE_URL` is neither a `sqlite:///` nor a `postgres://` URL. Only the
    /// URL's scheme is kept: other URLs may carry credentials.
    #[error(
        "{ENV_DATABASE_URL} (or DATABASE_URL) must look like sqlite:///./relative/path.db, sqlite:////absolute/path.db or postgresql://user:password@host/database (got a {0} URL)"
    )]
    DatabaseUrl(String),
    /// `PORT` is not a port number.
    #[error("{ENV_PORT} must be a port number from 0 to 65535 (got {0:?})")]
    Port(String),
    /// `HOST` is empty.
    #[error("{ENV_HOST} must not be empty")]
    Host,
    /// The `.env` file exists but cannot be read or parsed.
    #[error("cannot read {path}: {message}")]
    DotEnv {
        /// The file.
        path: String,
        /// What went wrong (dotenvy's message; it quotes the offending line number).
        message: String,
    },
    /// A variable and its alias are both set, to different values.
    #[error("refusing to start: {canonical} and {alias} are both set, to different values; set only one")]
    AliasConflict {
        /// Our name.
        canonical: String,
        /// The other guide's name.
        alias: &'static str,
    },
    /// A limit (`ITSOR_MAX_CONCURRENT`, `ITSOR_*_TIMEOUT_SECONDS`) is not a number in range.
    /// Limits are not secret, so the value is quoted.
    #[error("{env_var} must be {expected} (got {value:?})")]
    Limit {
        /// The environment variable to fix.
        env_var: &'static str,
        /// What it must be.
        expected: String,
        /// What it is.
        value: String,
    },
    /// `BACKEND_ENV` is unset (so the development defaults apply) while `HOST` lets other
    /// machines connect.
    #[error(
        "refusing to start: BACKEND_ENV is unset, so development defaults (the public development secret, cookies without Secure) would apply, and {host} is not a loopback address. Set BACKEND_ENV=production (with a random JWT_SECRET), or BACKEND_ENV=local to serve development defaults on purpose"
    )]
    UnsafeExposure {
        /// The listen address.
        host: String,
    },
    /// A component variable fails the account crate's validation.
    #[error("refusing to start: {env_var} {problem}")]
    Refused {
        /// The upper-case environment variable to fix, as it was set (an alias when the
        /// value came from one).
        env_var: String,
        /// What is wrong with it (never its value when it is secret), with other settings
        /// it names in upper case too.
        problem: String,
    },
    /// Several of the problems above, found in one start (at least two, none of them `All`).
    #[error("refusing to start, {} problems in the configuration:{}", .0.len(), list(.0))]
    All(Vec<ConfigError>),
}

/// The problems, one per line, each without its own `refusing to start: `.
fn list(problems: &[ConfigError]) -> String {
    problems
        .iter()
        .map(|problem| {
            let text = problem.to_string();
            format!("\n  {}", text.strip_prefix("refusing to start: ").unwrap_or(&text))
        })
        .collect()
}

impl ConfigError {
    /// `problems` as one error: `Ok` when there is none, the problem itself when there is
    /// one, [`ConfigError::All`] (flattened) otherwise.
    pub fn check(problems: Vec<ConfigError>) -> Result<(), ConfigError> {
        let mut flat: Vec<ConfigError> = problems
            .into_iter()
            .flat_map(|problem| match problem {
                ConfigError::All(inner) => inner,
                one => vec![one],
            })
            .collect();
        match flat.len() {
            0 => Ok(()),
            1 => Err(flat.remove(0)),
            _ => Err(ConfigError::All(flat)),
        }
    }

    /// Whether this is a refusal of the configuration (printed as it is, without
    /// `error:`), as opposed to a failure to read it.
    pub fn is_refusal(&self) -> bool {
        matches!(self, ConfigError::Refused { .. } | ConfigError::All(_))
    }
}

/// The problems found so far while resolving settings.
#[derive(Default)]
struct Problems(Vec<ConfigError>);

impl Problems {
    /// The value, or `None` with its problem recorded.
    fn take<T>(&mut self, result: Result<T, ConfigError>) -> Option<T> {
        result.map_err(|problem| self.0.push(problem)).ok()
    }

    /// `value` when no problem was recorded (every `None` that [`Problems::take`] returned
    /// recorded one); every problem otherwise.
    fn finish<T>(self, value: Option<T>) -> Result<T, ConfigError> {
        ConfigError::check(self.0)?;
        value.ok_or_else(|| ConfigError::All(Vec::new()))
    }
}

/// The merged environment: process variables over the `.env` file, read once.
#[derive(Clone, Default)]
pub struct Environment {
    vars: HashMap<String, String>,
    /// The names whose value came from `.env`.
    from_dotenv: HashSet<String>,
    /// Canonical names set from an alias, with the alias.
    aliased: HashMap<String, &'static str>,
}

impl fmt::Debug for Environment {
    // Values may be secrets: show names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Environment").field("names", &names).finish()
    }
}

impl Environment {
    /// Reads the process environment and, if it exists, the `.env` file at `dotenv`.
    ///
    /// Process variables win over the file. Variables whose name or value is not UTF-8 are
    /// ignored.
    pub fn load(dotenv: &Path) -> Result<Environment, ConfigError> {
        let mut env = Environment::default();
        match dotenvy::from_path_iter(dotenv) {
            Ok(iter) => {
                for item in iter {
                    let (key, value) = item.map_err(|e| dotenv_error(dotenv, &e))?;
                    env.from_dotenv.insert(key.clone());
                    env.vars.insert(key, value);
                }
            }
            Err(e) if e.not_found() => {}
            Err(e) => return Err(dotenv_error(dotenv, &e)),
        }
        for (key, value) in std::env::vars_os() {
            if let (Ok(key), Ok(value)) = (key.into_string(), value.into_string()) {
                env.from_dotenv.remove(&key);
                env.vars.insert(key, value);
            }
        }
        env.with_aliases_resolved()
    }

    /// Fills each unset canonical name from its alias; refuses conflicting pairs (all of
    /// them at once).
    fn with_aliases_resolved(mut self) -> Result<Environment, ConfigError> {
        let mut conflicts = Vec::new();
        for (canonical, alias) in aliases() {
            match (self.vars.get(&canonical), self.vars.get(alias)) {
                (Some(ours), Some(theirs)) if ours != theirs => {
                    conflicts.push(ConfigError::AliasConflict { canonical, alias });
                }
                (None, Some(theirs)) => {
                    let value = theirs.clone();
                    self.vars.insert(canonical.clone(), value);
                    self.aliased.insert(canonical, alias);
                }
                _ => {}
            }
        }
        ConfigError::check(conflicts)?;
        Ok(self)
    }

    /// An environment made of exactly these pairs, as if set in the process.
    #[cfg(test)]
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Environment {
        Environment { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(), ..Environment::default() }
    }

    /// Every name set, with where its value came from (aliases resolved into their
    /// canonical names are not listed again).
    pub fn names(&self) -> impl Iterator<Item = (&str, Origin)> {
        self.vars.keys().filter(|name| !self.aliased.contains_key(*name)).map(|name| {
            let origin = if self.from_dotenv.contains(name) { Origin::DotEnv } else { Origin::Process };
            (name.as_str(), origin)
        })
    }

    /// How the user spelt the setting `name`: the alias its value came from, or `name`.
    pub fn spelling<'a>(&'a self, name: &'a str) -> &'a str {
        self.aliased.get(name).copied().unwrap_or(name)
    }

    /// The value of `name`, if set (possibly empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value of `name`, treating an empty value as unset.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

fn dotenv_error(path: &Path, error: &dotenvy::Error) -> ConfigError {
    // dotenvy's parse errors quote the line number, not the value; I/O errors name the OS error.
    let message = match error {
        dotenvy::Error::LineParse(_, index) => format!("syntax error at character {index}"),
        other => other.to_string(),
    };
    ConfigError::DotEnv { path: path.display().to_string(), message }
}

/// The database a deployment stores in.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server: the whole `postgres://` URL, credentials included (never
    /// printed: `Debug` shows host, port and database only).
    Postgres(String),
}

impl fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseTarget::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            DatabaseTarget::Postgres(url) => f.debug_tuple("Postgres").field(&postgres_target(url)).finish(),
        }
    }
}

/// `host:port/database` of a PostgreSQL URL, for logs and errors.
pub fn postgres_target(url: &str) -> String {
    crate::postgres::parse_url(url).map_or_else(|_| "(malformed URL)".to_owned(), |c| crate::postgres::describe(&c))
}

/// Parses a database URL: `sqlite:///path` (see [`database_path`]) or a `postgres://` /
/// `postgresql://` URL, which must parse as a PostgreSQL connection URL.
pub fn database_target(url: &str) -> Result<DatabaseTarget, ConfigError> {
    if itsor_accounts::config::is_postgres_url(url) {
        crate::postgres::parse_url(url).map_err(|_| ConfigError::DatabaseUrl("malformed postgresql://".to_owned()))?;
        Ok(DatabaseTarget::Postgres(url.trim().to_owned()))
    } else {
        database_path(url).map(DatabaseTarget::Sqlite)
    }
}

/// Turns a `sqlite:///` URL into the path of the database file.
///
/// `sqlite:///./backend/itsor.db` is the relative path `./backend/itsor.db`;
/// `sqlite:////abs/x.db` is the absolute path `/abs/x.db`. A bare `sqlite:///x.db` is the
/// relative path `x.db`. Anything else (other schemes, query strings, an empty path) is refused.
pub fn database_path(url: &str) -> Result<PathBuf, ConfigError> {
    let bad = || ConfigError::DatabaseUrl(describe_url(url));
    let rest = url.trim().strip_prefix(SQLITE_SCHEME).ok_or_else(bad)?;
    if rest.is_empty() || rest.ends_with('/') || rest.contains(['?', '#']) {
        return Err(bad());
    }
    Ok(PathBuf::from(rest))
}

/// What an unusable database URL looks like, without any of its secrets: its scheme.
fn describe_url(url: &str) -> String {
    match url.trim().split_once("://") {
        Some((scheme, _))
            if !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b)) =>
        {
            format!("{scheme}://")
        }
        _ => "malformed".to_owned(),
    }
}

/// Parses a port number (`0` asks the OS for a free one).
pub fn parse_port(value: &str) -> Result<u16, ConfigError> {
    value.trim().parse::<u16>().map_err(|_| ConfigError::Port(value.to_owned()))
}

/// Settings of `itsor serve` (and the database part of `itsor migrate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// Address or host name to bind.
    pub host: String,
    /// Port to bind; `0` picks a free one.
    pub port: u16,
    /// The database.
    pub database: DatabaseTarget,
    /// The most PostgreSQL connections this host opens (`ITSOR_PG_POOL_SIZE`, default
    /// [`crate::postgres::DEFAULT_POOL_SIZE`]); every host of a deployment opens its own
    /// pool, so hosts × this must stay under the server's `max_connections`.
    pub pg_pool_size: u32,
    /// The component `.wasm` file.
    pub component: PathBuf,
    /// Where compiled components are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Concurrency and time limits of request handling.
    pub limits: Limits,
    /// Where `/metrics` is served (`ITSOR_METRICS_ADDR`, `host:port`); `None`: nowhere.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Which export of the component serves requests (`ITSOR_GUEST_INTERFACE`).
    pub guest_interface: GuestInterface,
}

/// Which export of the component `itsor serve` calls for each request (see
/// [`crate::server`]'s `invoke` module). Both run the same `itsor-http` code and answer the
/// same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GuestInterface {
    /// `itsor:auth/http-handler`: the whole request in one call, the whole response back.
    #[default]
    Typed,
    /// `wasi:http/incoming-handler@0.2`: resources and streams, as Spin calls it.
    WasiHttp,
}

impl GuestInterface {
    /// The setting's value that names this interface.
    pub fn name(self) -> &'static str {
        match self {
            GuestInterface::Typed => "typed",
            GuestInterface::WasiHttp => "wasi-http",
        }
    }
}

/// `ITSOR_GUEST_INTERFACE`: `typed` (the default) or `wasi-http`, in any case.
pub fn guest_interface(env: &Environment) -> Result<GuestInterface, ConfigError> {
    let Some(value) = env.non_empty(ENV_GUEST_INTERFACE) else { return Ok(GuestInterface::default()) };
    [GuestInterface::Typed, GuestInterface::WasiHttp]
        .into_iter()
        .find(|interface| value.trim().eq_ignore_ascii_case(interface.name()))
        .ok_or_else(|| ConfigError::Limit {
            env_var: ENV_GUEST_INTERFACE,
            expected: "typed or wasi-http".to_owned(),
            value: value.to_owned(),
        })
}

/// How much of the server one request, or all of them together, may take.
///
/// The fixed limits live in [`crate::server`] (body size, header count and size, how long a
/// request waits for an instance slot); these are the ones a deployment may tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Component instances running at once (`ITSOR_MAX_CONCURRENT`, from 1 to
    /// [`crate::engine::MAX_INSTANCES`], the pool's size, which is also the default). A
    /// request that finds none free within [`crate::server::SLOT_WAIT`] gets a `503`.
    pub max_concurrent: u32,
    /// Connections open at once (`ITSOR_MAX_CONNECTIONS`, default
    /// [`DEFAULT_MAX_CONNECTIONS`]); one more is answered `503` and closed. The process's
    /// file-descriptor limit must allow this many sockets.
    pub max_connections: u32,
    /// How long one request's guest may run, from instantiation to the response head
    /// (`ITSOR_REQUEST_TIMEOUT_SECONDS`, default [`DEFAULT_REQUEST_TIMEOUT`]); past it the
    /// guest is interrupted and the client gets a `503`.
    pub request_timeout: Duration,
    /// How long a client may take to send a whole request body
    /// (`ITSOR_BODY_TIMEOUT_SECONDS`, default [`DEFAULT_BODY_TIMEOUT`]); past it, `408`.
    pub body_timeout: Duration,
    /// How long a client may take to send a request's headers, counted from the end of the
    /// previous response on a keep-alive connection (`ITSOR_HEADER_TIMEOUT_SECONDS`, default
    /// [`DEFAULT_HEADER_TIMEOUT`]); past it the connection is closed without an answer.
    pub header_timeout: Duration,
    /// How long after SIGTERM (or SIGINT) the server keeps accepting connections with
    /// `/readyz` already `503`, so load balancers stop sending traffic first
    /// (`ITSOR_DRAIN_SECONDS`, default [`DEFAULT_DRAIN_DELAY`]).
    pub drain_delay: Duration,
    /// How long in-flight requests may then take to finish before the process exits
    /// (`ITSOR_SHUTDOWN_SECONDS`, default [`DEFAULT_SHUTDOWN_TIMEOUT`]).
    pub shutdown_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_concurrent: crate::engine::MAX_INSTANCES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            drain_delay: DEFAULT_DRAIN_DELAY,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

impl Limits {
    /// Reads every limit from `env`; unset or empty variables keep their defaults. Every
    /// bad limit is reported.
    pub fn from_env(env: &Environment) -> Result<Limits, ConfigError> {
        let defaults = Limits::default();
        let mut problems = Problems::default();
        let max_concurrent =
            problems.take(env.non_empty(ENV_MAX_CONCURRENT).map_or(Ok(defaults.max_concurrent), parse_max_concurrent));
        let max_connections = problems
            .take(env.non_empty(ENV_MAX_CONNECTIONS).map_or(Ok(defaults.max_connections), parse_max_connections));
        let mut timeout = |name: &'static str, default: Duration| {
            problems.take(env.non_empty(name).map_or(Ok(default), |value| parse_timeout(name, value)))
        };
        let timeouts = (
            timeout(ENV_REQUEST_TIMEOUT, defaults.request_timeout),
            timeout(ENV_BODY_TIMEOUT, defaults.body_timeout),
            timeout(ENV_HEADER_TIMEOUT, defaults.header_timeout),
            timeout(ENV_DRAIN_DELAY, defaults.drain_delay),
            timeout(ENV_SHUTDOWN_TIMEOUT, defaults.shutdown_timeout),
        );
        let limits = match (max_concurrent, max_connections, timeouts) {
            (
                Some(max_concurrent),
                Some(max_connections),
                (
                    Some(request_timeout),
                    Some(body_timeout),
                    Some(header_timeout),
                    Some(drain_delay),
                    Some(shutdown_timeout),
                ),
            ) => Some(Limits {
                max_concurrent,
                max_connections,
                request_timeout,
                body_timeout,
                header_timeout,
                drain_delay,
                shutdown_timeout,
            }),
            _ => None,
        };
        problems.finish(limits)
    }
}

/// Parses `ITSOR_MAX_CONCURRENT`: a whole number from 1 to the pool's size.
pub fn parse_max_concurrent(value: &str) -> Result<u32, ConfigError> {
    parse_count(ENV_MAX_CONCURRENT, value, crate::engine::MAX_INSTANCES)
}

/// Parses `ITSOR_MAX_CONNECTIONS`: a whole number from 1 to [`MAX_MAX_CONNECTIONS`].
pub fn parse_max_connections(value: &str) -> Result<u32, ConfigError> {
    parse_count(ENV_MAX_CONNECTIONS, value, MAX_MAX_CONNECTIONS)
}

/// A whole number from 1 to `max`, or the error naming `env_var`.
fn parse_count(env_var: &'static str, value: &str, max: u32) -> Result<u32, ConfigError> {
    value.trim().parse::<u32>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| ConfigError::Limit {
        env_var,
        expected: format!("a whole number from 1 to {max}"),
        value: value.to_owned(),
    })
}

/// Parses a `*_TIMEOUT_SECONDS` setting: seconds, possibly fractional (`2`, `0.5`), more
/// than zero and at most [`MAX_TIMEOUT`].
pub fn parse_timeout(env_var: &'static str, value: &str) -> Result<Duration, ConfigError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| *seconds > 0.0)
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .filter(|duration| !duration.is_zero() && *duration <= MAX_TIMEOUT)
        .ok_or_else(|| ConfigError::Limit {
            env_var,
            expected: format!("a number of seconds above 0 and at most {}", MAX_TIMEOUT.as_secs()),
            value: value.to_owned(),
        })
}

/// Values given on the command line; `None` falls back to the environment, then defaults.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--host`.
    pub host: Option<String>,
    /// `--port`.
    pub port: Option<u16>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--component`.
    pub component: Option<PathBuf>,
}

impl ServeConfig {
    /// Resolves every host setting: flag, then environment, then default. Every problem
    /// is reported.
    ///
    /// `exe` is the path of the running binary, used for the default component location.
    pub fn resolve(env: &Environment, flags: &Overrides, exe: Option<&Path>) -> Result<ServeConfig, ConfigError> {
        let mut problems = Problems::default();
        let host = match &flags.host {
            Some(host) => host.clone(),
            None => env.non_empty(ENV_HOST).unwrap_or(DEFAULT_HOST).to_owned(),
        };
        let host = problems.take(if host.trim().is_empty() { Err(ConfigError::Host) } else { Ok(host) });
        let port = problems.take(match (flags.port, env.non_empty(ENV_PORT)) {
            (Some(port), _) => Ok(port),
            (None, Some(value)) => parse_port(value),
            (None, None) => Ok(DEFAULT_PORT),
        });
        let database = problems.take(resolve_database(env, flags.database_url.as_deref()));
        let pg_pool_size = problems.take(pg_pool_size(env));
        let limits = problems.take(Limits::from_env(env));
        let metrics_addr = problems.take(metrics_addr(env));
        let guest_interface = problems.take(guest_interface(env));
        let config = match (host, port, database, pg_pool_size, limits, metrics_addr, guest_interface) {
            (
                Some(host),
                Some(port),
                Some(database),
                Some(pg_pool_size),
                Some(limits),
                Some(metrics_addr),
                Some(guest_interface),
            ) => Some(ServeConfig {
                host,
                port,
                database,
                pg_pool_size,
                component: resolve_component(env, flags.component.as_deref(), exe),
                cache_dir: cache_dir(env),
                limits,
                metrics_addr,
                guest_interface,
            }),
            _ => None,
        };
        problems.finish(config)
    }
}

/// Everything `itsor serve` takes from its flags and environment, checked together so that
/// a start that fails names every problem: the host's settings ([`ServeConfig::resolve`]),
/// the component's ([`ComponentVariables::validate`]) and the exposure of development
/// defaults ([`check_exposure`]).
pub fn resolve_serve(
    env: &Environment,
    flags: &Overrides,
    exe: Option<&Path>,
) -> Result<(ServeConfig, ComponentVariables, Settings), ConfigError> {
    let mut problems = Problems::default();
    let config = problems.take(ServeConfig::resolve(env, flags, exe));
    let variables = ComponentVariables::from_env(env);
    let settings = problems.take(variables.validate());
    let host = match (&config, &flags.host) {
        (Some(config), _) => Some(config.host.as_str()),
        // The address itself is wrong: whether it is exposed cannot be told.
        (None, _) if problems.0.iter().any(|problem| matches!(problem, ConfigError::Host)) => None,
        (None, Some(host)) => Some(host.as_str()),
        (None, None) => Some(env.non_empty(ENV_HOST).unwrap_or(DEFAULT_HOST)),
    };
    if let Some(host) = host {
        problems.take(check_exposure(env, host));
    }
    let resolved = match (config, settings) {
        (Some(config), Some(settings)) => {
            let variables = variables.with_database(&config.database);
            Some((config, variables, settings))
        }
        _ => None,
    };
    problems.finish(resolved)
}

/// Refuses to serve development defaults to other machines: with `BACKEND_ENV` unset the
/// development environment applies, which is safe only on a loopback address
/// (`127.0.0.0/8`, `::1`, `localhost`). Setting `BACKEND_ENV` (even to `local`) says the
/// choice was made on purpose.
pub fn check_exposure(env: &Environment, host: &str) -> Result<(), ConfigError> {
    if env.non_empty(&itsor_accounts::config::env_name("backend_env")).is_some() || is_loopback(host) {
        Ok(())
    } else {
        Err(ConfigError::UnsafeExposure { host: host.to_owned() })
    }
}

/// Whether `host` only accepts connections from this machine.
fn is_loopback(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// `ITSOR_METRICS_ADDR`: an IP address and port (`127.0.0.1:9464`, `[::]:9464`).
pub fn metrics_addr(env: &Environment) -> Result<Option<std::net::SocketAddr>, ConfigError> {
    env.non_empty(ENV_METRICS_ADDR)
        .map(|value| {
            value.trim().parse().map_err(|_| ConfigError::Limit {
                env_var: ENV_METRICS_ADDR,
                expected: "an IP address and port, such as 127.0.0.1:9464".to_owned(),
                value: value.to_owned(),
            })
        })
        .transpose()
}

/// `ITSOR_PG_POOL_SIZE`: a whole number from 1 to [`MAX_PG_POOL_SIZE`].
pub fn pg_pool_size(env: &Environment) -> Result<u32, ConfigError> {
    env.non_empty(ENV_PG_POOL_SIZE)
        .map_or(Ok(crate::postgres::DEFAULT_POOL_SIZE), |value| parse_count(ENV_PG_POOL_SIZE, value, MAX_PG_POOL_SIZE))
}

/// The database: `--database-url`, else `BACKEND_DATABASE_URL` (or its alias
/// `DATABASE_URL`), else the default SQLite file.
pub fn resolve_database(env: &Environment, flag: Option<&str>) -> Result<DatabaseTarget, ConfigError> {
    database_target(flag.or_else(|| env.non_empty(ENV_DATABASE_URL)).unwrap_or(DEFAULT_DATABASE_URL))
}

/// The database and the component's settings, as `itsor keys` needs them: `--database-url`
/// (else the environment) and the validated component variables, stored where the host
/// was told to. Every problem of both is reported at once.
pub fn resolve_database_and_settings(
    env: &Environment,
    flag: Option<&str>,
) -> Result<(DatabaseTarget, ComponentVariables, Settings), ConfigError> {
    let mut problems = Problems::default();
    let database = problems.take(resolve_database(env, flag));
    let variables = ComponentVariables::from_env(env);
    let settings = problems.take(variables.validate());
    let resolved = match (database, settings) {
        (Some(database), Some(settings)) => {
            let variables = variables.with_database(&database);
            Some((database, variables, settings))
        }
        _ => None,
    };
    problems.finish(resolved)
}

/// The component's path: the `--component` flag, else `ITSOR_COMPONENT`, else
/// [`default_component_path`].
pub fn resolve_component(env: &Environment, flag: Option<&Path>, exe: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| env.non_empty(ENV_COMPONENT).map(PathBuf::from))
        .unwrap_or_else(|| default_component_path(exe))
}

/// `<dir of exe>/../wasm32-wasip2/component/itsor_auth.wasm`: where
/// `cargo build -p itsor-auth --target wasm32-wasip2 --profile component` puts the component
/// when it shares the host's target directory (`$CARGO_TARGET_DIR/{debug,release}/itsor`).
pub fn default_component_path(exe: Option<&Path>) -> PathBuf {
    let relative = Path::new("../wasm32-wasip2/component/itsor_auth.wasm");
    match exe.and_then(Path::parent) {
        Some(dir) => dir.join(relative),
        None => relative.to_path_buf(),
    }
}

/// `ITSOR_CACHE_DIR`, else `$XDG_CACHE_HOME/itsor`, else `$HOME/.cache/itsor`, else none.
pub fn cache_dir(env: &Environment) -> Option<PathBuf> {
    if let Some(dir) = env.non_empty(ENV_CACHE_DIR) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = env.non_empty("XDG_CACHE_HOME") {
        return Some(Path::new(dir).join("itsor"));
    }
    env.non_empty("HOME").map(|home| Path::new(home).join(".cache").join("itsor"))
}

/// The component's variables, taken once from the environment.
///
/// Keys are the lower-snake-case variable names of [`VARIABLES`]; unset variables are absent.
/// `Debug` shows only which variables are set, never a value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ComponentVariables {
    values: BTreeMap<&'static str, String>,
    /// Variables whose value came from an alias, with the alias (to name it in problems).
    aliased: BTreeMap<&'static str, &'static str>,
}

impl fmt::Debug for ComponentVariables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentVariables").field("set", &self.values.keys()).finish()
    }
}

impl ComponentVariables {
    /// Reads every variable of [`VARIABLES`] from the upper-case environment variable of
    /// its name.
    pub fn from_env(env: &Environment) -> ComponentVariables {
        let mut variables = ComponentVariables::default();
        for var in VARIABLES {
            let env_name = var.env_name();
            if let Some(value) = env.get(&env_name) {
                variables.values.insert(var.name, value.to_owned());
                if let Some(alias) = var.aliases.iter().find(|alias| **alias == env.spelling(&env_name)) {
                    variables.aliased.insert(var.name, alias);
                }
            }
        }
        variables
    }

    /// These variables, with `database_url` set to `database`'s URL when it is PostgreSQL
    /// and unset otherwise: the component stores where the host was told to, whatever the
    /// environment's `DATABASE_URL` (an alias the host has already resolved) says.
    #[must_use]
    pub fn with_database(mut self, database: &DatabaseTarget) -> ComponentVariables {
        match database {
            DatabaseTarget::Postgres(url) => self.values.insert(itsor_accounts::config::DATABASE_URL, url.clone()),
            DatabaseTarget::Sqlite(_) => self.values.remove(itsor_accounts::config::DATABASE_URL),
        };
        self
    }

    /// Variables given directly, as an embedder does; names the component does not read
    /// are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> ComponentVariables {
        let values = pairs
            .into_iter()
            .filter_map(|(name, value)| {
                VARIABLES.iter().find(|var| var.name == name).map(|var| (var.name, value.to_owned()))
            })
            .collect();
        ComponentVariables { values, aliased: BTreeMap::new() }
    }

    /// The value of variable `name`, if it was set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Every variable that is set, by name: what `get` answers with a value (and the
    /// `variables` of a typed request).
    pub fn set(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .filter(|(name, _)| ComponentVariables::is_known(name))
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect()
    }

    /// Whether `name` is one of the variables the component reads.
    pub fn is_known(name: &str) -> bool {
        VARIABLES.iter().any(|var| var.name == name)
    }

    /// Validates the variables exactly as the component will, refusing unsafe settings:
    /// every problem, each naming its environment variable as it was set.
    pub fn validate(&self) -> Result<Settings, ConfigError> {
        Settings::load(self).map_err(|error| {
            let refusals = error.problems.into_iter().map(|problem| ConfigError::Refused {
                env_var: self
                    .aliased
                    .get(problem.variable)
                    .map_or_else(|| itsor_accounts::config::env_name(problem.variable), |alias| (*alias).to_owned()),
                problem: itsor_accounts::config::with_env_names(&problem.problem),
            });
            match ConfigError::check(refusals.collect()) {
                Err(error) => error,
                // `Settings::load` never fails without a problem.
                Ok(()) => ConfigError::All(Vec::new()),
            }
        })
    }
}

impl VariableSource for ComponentVariables {
    fn get(&self, name: &str) -> Option<String> {
        ComponentVariables::get(self, name).map(str::to_owned)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    /// The first line of README's settings table; the table follows it, up to [`TABLE_END`].
    const TABLE_START: &str = "<!-- settings table: generated from itsor_accounts::config::VARIABLES and \
    itsor::config::HOST_SETTINGS; ITSOR_UPDATE_README=1 cargo test -p itsor --lib readme rewrites it -->";
    /// The line after README's settings table.
    const TABLE_END: &str = "<!-- end of settings table -->";

    /// README's configuration table, rendered from both tables (between [`TABLE_START`] and
    /// [`TABLE_END`], which it does not include).
    fn markdown_table() -> String {
        let cell = |text: &str| text.replace('|', "\\|");
        let mut table = String::from("| variable | Spin variable | default | meaning |\n|---|---|---|---|\n");
        for doc in documented_settings() {
            let variable = match &doc.env_name {
                Some(env) => {
                    let aliases: Vec<String> = doc.aliases.iter().map(|alias| format!("`{alias}`")).collect();
                    match aliases.len() {
                        0 => format!("`{env}`"),
                        _ => format!("`{env}` (alias {})", aliases.join(", ")),
                    }
                }
                None => format!("(set from `{ENV_DATABASE_URL}`)"),
            };
            let spin = doc.spin_name.map_or_else(|| "(host only)".to_owned(), |name| format!("`{name}`"));
            let default = doc.default.clone().unwrap_or_else(|| "(unset)".to_owned());
            let meaning = match doc.production {
                Some(rule) => format!("{} Outside local/dev/test: {rule}.", doc.description),
                None => doc.description.to_owned(),
            };
            table.push_str(&format!("| {variable} | {spin} | {} | {} |\n", cell(&default), cell(&meaning)));
        }
        table
    }

    #[test]
    fn database_urls_map_to_paths() {
        assert_eq!(database_path(DEFAULT_DATABASE_URL).unwrap(), Path::new("./backend/itsor.db"));
        assert_eq!(database_path("sqlite:////abs/x.db").unwrap(), Path::new("/abs/x.db"));
        assert_eq!(database_path("sqlite:///x.db").unwrap(), Path::new("x.db"));
        assert_eq!(database_path(" sqlite:///x.db ").unwrap(), Path::new("x.db"));
    }

    #[test]
    fn other_database_urls_are_refused() {
        for url in [
            "",
            "mysql://localhost/itsor",
            "sqlite://x.db",
            "sqlite:///",
            "sqlite:///dir/",
            "sqlite:///x.db?mode=ro",
            "./x.db",
        ] {
            let err = database_path(url).unwrap_err();
            assert!(err.to_string().starts_with(ENV_DATABASE_URL), "{url}: {err}");
        }
        let err = database_path("mysql://user:hunter2@db/itsor").unwrap_err().to_string();
        assert!(err.contains("mysql://") && !err.contains("hunter2"), "{err}");
    }

    #[test]
    fn postgres_urls_select_postgres_and_never_show_credentials() {
        for url in ["postgresql://ada:hunter2@db.example.com/app?sslmode=require", "postgres://ada:hunter2@db:5433/app"]
        {
            let target = database_target(url).unwrap();
            assert_eq!(target, DatabaseTarget::Postgres(url.to_owned()));
            let shown = format!("{target:?}");
            assert!(!shown.contains("hunter2") && !shown.contains("ada"), "{shown}");
        }
        assert_eq!(postgres_target("postgres://ada:hunter2@db:5433/app"), "db:5433/app");
        let err = database_target("postgresql://ada:hunter2@db:port/app").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(database_target("sqlite:///x.db").unwrap(), DatabaseTarget::Sqlite(PathBuf::from("x.db")));
    }

    #[test]
    fn ports_parse_or_fail_clearly() {
        assert_eq!(parse_port("0").unwrap(), 0);
        assert_eq!(parse_port(" 8080 ").unwrap(), 8080);
        for bad in ["", "-1", "65536", "http"] {
            assert!(parse_port(bad).unwrap_err().to_string().starts_with("PORT "));
        }
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let exe = Path::new("/t/release/itsor");
        let config = ServeConfig::resolve(&Environment::default(), &Overrides::default(), Some(exe)).unwrap();
        assert_eq!(config.host, DEFAULT_HOST);
        assert_eq!(config.port, DEFAULT_PORT);
        assert_eq!(config.database, DatabaseTarget::Sqlite("./backend/itsor.db".into()));
        assert_eq!(config.pg_pool_size, crate::postgres::DEFAULT_POOL_SIZE);
        assert_eq!(config.component, Path::new("/t/release/../wasm32-wasip2/component/itsor_auth.wasm"));
        assert_eq!(config.cache_dir, None);
    }

    #[test]
    fn flags_win_over_environment() {
        let env = Environment::from_pairs([
            (ENV_HOST, "0.0.0.0"),
            (ENV_PORT, "9000"),
            (ENV_DATABASE_URL, "sqlite:///env.db"),
            (ENV_COMPONENT, "/env/c.wasm"),
        ]);
        let from_env = ServeConfig::resolve(&env, &Overrides::default(), None).unwrap();
        assert_eq!(
            (from_env.host.as_str(), from_env.port, from_env.database.clone()),
            ("0.0.0.0", 9000, DatabaseTarget::Sqlite("env.db".into()))
        );
        assert_eq!(from_env.component, Path::new("/env/c.wasm"));
        let flags = Overrides {
            host: Some("::1".into()),
            port: Some(0),
            database_url: Some("sqlite:////flag.db".into()),
            component: Some("/flag/c.wasm".into()),
        };
        let from_flags = ServeConfig::resolve(&env, &flags, None).unwrap();
        assert_eq!(
            (from_flags.host.as_str(), from_flags.port, from_flags.database.clone()),
            ("::1", 0, DatabaseTarget::Sqlite("/flag.db".into()))
        );
        assert_eq!(from_flags.component, Path::new("/flag/c.wasm"));
    }

    #[test]
    fn a_bad_port_in_the_environment_is_an_error_unless_a_flag_overrides_it() {
        let env = Environment::from_pairs([(ENV_PORT, "nope")]);
        assert!(matches!(ServeConfig::resolve(&env, &Overrides::default(), None), Err(ConfigError::Port(_))));
        let flags = Overrides { port: Some(1), ..Overrides::default() };
        assert_eq!(ServeConfig::resolve(&env, &flags, None).unwrap().port, 1);
    }

    #[test]
    fn development_defaults_are_served_only_on_loopback_unless_chosen() {
        let unset = Environment::default();
        for host in ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"] {
            assert!(check_exposure(&unset, host).is_ok(), "{host}");
        }
        for host in ["0.0.0.0", "::", "192.0.2.10", "example.com"] {
            let err = check_exposure(&unset, host).unwrap_err().to_string();
            assert!(err.contains("BACKEND_ENV") && err.contains(host), "{err}");
        }
        for chosen in ["local", "production"] {
            let env = Environment::from_pairs([("BACKEND_ENV", chosen)]);
            assert!(check_exposure(&env, "0.0.0.0").is_ok(), "{chosen}");
        }
    }

    #[test]
    fn limits_default_to_the_pool_and_the_documented_timeouts() {
        let limits = Limits::from_env(&Environment::default()).unwrap();
        assert_eq!(limits, Limits::default());
        assert_eq!(limits.max_concurrent, crate::engine::MAX_INSTANCES);
        assert_eq!(limits.request_timeout, Duration::from_secs(30));
        assert_eq!(limits.body_timeout, Duration::from_secs(10));
        assert_eq!(limits.header_timeout, Duration::from_secs(10));
        let config = ServeConfig::resolve(&Environment::default(), &Overrides::default(), None).unwrap();
        assert_eq!(config.limits, Limits::default());
    }

    #[test]
    fn the_guest_interface_is_typed_unless_set_otherwise() {
        assert_eq!(guest_interface(&Environment::default()).unwrap(), GuestInterface::Typed);
        for (value, expected) in [("typed", GuestInterface::Typed), (" WASI-HTTP ", GuestInterface::WasiHttp)] {
            let env = Environment::from_pairs([(ENV_GUEST_INTERFACE, value)]);
            assert_eq!(guest_interface(&env).unwrap(), expected);
            assert_eq!(ServeConfig::resolve(&env, &Overrides::default(), None).unwrap().guest_interface, expected);
        }
        let bad = Environment::from_pairs([(ENV_GUEST_INTERFACE, "wasi")]);
        assert!(guest_interface(&bad).unwrap_err().to_string().starts_with(ENV_GUEST_INTERFACE));
    }

    #[test]
    fn limits_are_read_from_the_environment() {
        let env = Environment::from_pairs([
            (ENV_MAX_CONCURRENT, "1"),
            (ENV_MAX_CONNECTIONS, "7"),
            (ENV_REQUEST_TIMEOUT, "2"),
            (ENV_BODY_TIMEOUT, "0.5"),
            (ENV_HEADER_TIMEOUT, " 3 "),
            (ENV_DRAIN_DELAY, "0.25"),
            (ENV_SHUTDOWN_TIMEOUT, "12"),
            (ENV_METRICS_ADDR, "127.0.0.1:9464"),
        ]);
        let config = ServeConfig::resolve(&env, &Overrides::default(), None).unwrap();
        assert_eq!(config.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
        let limits = config.limits;
        assert_eq!(
            limits,
            Limits {
                max_concurrent: 1,
                max_connections: 7,
                request_timeout: Duration::from_secs(2),
                body_timeout: Duration::from_millis(500),
                header_timeout: Duration::from_secs(3),
                drain_delay: Duration::from_millis(250),
                shutdown_timeout: Duration::from_secs(12),
            }
        );
        let bad = Environment::from_pairs([(ENV_METRICS_ADDR, "localhost")]);
        assert!(metrics_addr(&bad).unwrap_err().to_string().starts_with(ENV_METRICS_ADDR));
        // Empty means unset.
        let env = Environment::from_pairs([(ENV_MAX_CONCURRENT, ""), (ENV_BODY_TIMEOUT, "")]);
        assert_eq!(Limits::from_env(&env).unwrap(), Limits::default());
    }

    #[test]
    fn bad_limits_are_refused_naming_the_variable() {
        let max = crate::engine::MAX_INSTANCES;
        for bad in ["0", "-1", "x", "1.5", &(max + 1).to_string()] {
            let env = Environment::from_pairs([(ENV_MAX_CONCURRENT, bad)]);
            let err = Limits::from_env(&env).unwrap_err().to_string();
            assert!(err.starts_with("ITSOR_MAX_CONCURRENT must be"), "{bad}: {err}");
        }
        assert_eq!(parse_max_concurrent(&max.to_string()).unwrap(), max);
        for bad in ["0", "x", "1000001"] {
            let env = Environment::from_pairs([(ENV_MAX_CONNECTIONS, bad)]);
            let err = Limits::from_env(&env).unwrap_err().to_string();
            assert!(err.starts_with("ITSOR_MAX_CONNECTIONS must be"), "{bad}: {err}");
        }
        for name in [ENV_REQUEST_TIMEOUT, ENV_BODY_TIMEOUT, ENV_HEADER_TIMEOUT] {
            for bad in ["0", "-2", "0.0000000001", "NaN", "inf", "3601", "ten"] {
                let env = Environment::from_pairs([(name, bad)]);
                let err = Limits::from_env(&env).unwrap_err().to_string();
                assert!(err.starts_with(name), "{name}={bad}: {err}");
                assert!(err.contains(&format!("{bad:?}")), "{err}");
            }
            assert_eq!(parse_timeout(name, "3600").unwrap(), MAX_TIMEOUT);
        }
    }

    #[test]
    fn cache_dir_precedence() {
        let home = Environment::from_pairs([("HOME", "/h")]);
        assert_eq!(cache_dir(&home).unwrap(), Path::new("/h/.cache/itsor"));
        let xdg = Environment::from_pairs([("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]);
        assert_eq!(cache_dir(&xdg).unwrap(), Path::new("/x/itsor"));
        let explicit = Environment::from_pairs([("HOME", "/h"), ("XDG_CACHE_HOME", "/x"), (ENV_CACHE_DIR, "/c")]);
        assert_eq!(cache_dir(&explicit).unwrap(), Path::new("/c"));
    }

    #[test]
    fn component_variables_come_from_upper_case_names() {
        let env = Environment::from_pairs([
            ("JWT_ALGORITHM", "HS512"),
            ("BACKEND_ENV", "test"),
            ("jwt_issuer", "lower-case is not read"),
            ("UNRELATED", "x"),
        ]);
        let vars = ComponentVariables::from_env(&env);
        assert_eq!(vars.get("jwt_algorithm"), Some("HS512"));
        assert_eq!(vars.get("backend_env"), Some("test"));
        assert_eq!(vars.get("jwt_issuer"), None);
        assert_eq!(vars.get("unrelated"), None);
        assert!(ComponentVariables::is_known("jwt_secret"));
        assert!(!ComponentVariables::is_known("unrelated"));
    }

    #[test]
    fn the_set_variables_are_what_get_answers() {
        let env = Environment::from_pairs([("JWT_ALGORITHM", "HS512"), ("BACKEND_ENV", "test"), ("UNRELATED", "x")]);
        let vars = ComponentVariables::from_env(&env);
        let mut set = vars.set();
        set.sort();
        assert_eq!(
            set,
            [("backend_env".to_owned(), "test".to_owned()), ("jwt_algorithm".to_owned(), "HS512".to_owned())]
        );
        for (name, value) in &set {
            assert_eq!(vars.get(name), Some(value.as_str()));
        }
    }

    #[test]
    fn every_table_entry_is_mapped() {
        let env = Environment::from_pairs(VARIABLES.iter().map(|v| (v.env_name(), format!("value-of-{}", v.name))));
        let vars = ComponentVariables::from_env(&env);
        for var in VARIABLES {
            assert_eq!(vars.get(var.name), Some(format!("value-of-{}", var.name).as_str()));
        }
    }

    #[test]
    fn unsafe_settings_are_refused_naming_the_env_var_not_the_value() {
        let secret = "too-short-secret";
        let env = Environment::from_pairs([("BACKEND_ENV", "production"), ("JWT_SECRET", secret)]);
        let err = ComponentVariables::from_env(&env).validate().unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("refusing to start: JWT_SECRET "), "{message}");
        assert!(!message.contains(secret));
        assert!(ComponentVariables::default().validate().is_ok());
    }

    #[test]
    fn debug_output_never_shows_values() {
        let env = Environment::from_pairs([("JWT_SECRET", "hunter2-hunter2")]);
        assert!(!format!("{env:?}").contains("hunter2"));
        let vars = ComponentVariables::from_env(&env);
        assert!(!format!("{vars:?}").contains("hunter2"));
    }

    #[test]
    fn aliases_stand_in_and_conflicts_name_both() {
        let env = Environment::from_pairs([
            ("BETTER_AUTH_SECRET", "s3cret-value"),
            ("BETTER_AUTH_SECRET_PREVIOUS", "0ld-s3cret"),
            ("DATABASE_URL", "sqlite:///./x.db"),
        ])
        .with_aliases_resolved()
        .expect("aliases resolve");
        assert_eq!(env.get("JWT_SECRET"), Some("s3cret-value"));
        assert_eq!(env.get("JWT_SECRET_PREVIOUS"), Some("0ld-s3cret"));
        assert_eq!(env.get("BACKEND_DATABASE_URL"), Some("sqlite:///./x.db"));
        let same = Environment::from_pairs([("JWT_SECRET", "a"), ("BETTER_AUTH_SECRET", "a")]).with_aliases_resolved();
        assert!(same.is_ok());
        let err = Environment::from_pairs([("JWT_SECRET", "s3cret-a"), ("BETTER_AUTH_SECRET", "s3cret-b")])
            .with_aliases_resolved()
            .expect_err("conflict")
            .to_string();
        assert!(err.contains("JWT_SECRET") && err.contains("BETTER_AUTH_SECRET"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn every_env_constant_is_a_host_setting() {
        let sources = [include_str!("config.rs"), include_str!("logging.rs")];
        let constants: Vec<&str> = sources
            .iter()
            .flat_map(|source| source.lines())
            .filter(|line| line.starts_with("pub const ENV_"))
            .filter_map(|line| line.split('"').nth(1))
            .collect();
        assert!(constants.len() >= 15, "{constants:?}");
        for name in &constants {
            assert!(HOST_SETTINGS.iter().any(|setting| setting.name == *name), "{name} is not in HOST_SETTINGS");
        }
        for setting in HOST_SETTINGS {
            assert!(constants.contains(&setting.name), "{} has no ENV_ constant", setting.name);
        }
    }

    #[test]
    fn every_setting_is_documented_once() {
        let mut names = HashSet::new();
        for doc in documented_settings() {
            let name = doc.env_name.clone().or(doc.spin_name.map(str::to_owned)).unwrap_or_default();
            if let Some(env) = &doc.env_name {
                assert!(names.insert(env.clone()), "{env} is listed twice");
            }
            for alias in doc.aliases {
                assert!(names.insert((*alias).to_owned()), "{alias} is listed twice");
            }
            for text in std::iter::once(doc.description).chain(doc.production).chain(doc.default.as_deref()) {
                assert!(!text.trim().is_empty(), "{name}: empty text");
                assert!(!text.contains(['|', '\n']), "{name}: no | or line break in {text:?}");
                assert_eq!(text.matches('`').count() % 2, 0, "{name}: unbalanced backticks in {text:?}");
            }
            assert!(doc.description.ends_with('.'), "{name}: a description is sentences");
        }
        // The only component variable without an environment name is the one the host sets.
        let set_by_host: Vec<_> = documented_settings().into_iter().filter(|doc| doc.env_name.is_none()).collect();
        assert_eq!(set_by_host.len(), 1);
        assert_eq!(set_by_host[0].spin_name, Some(itsor_accounts::config::DATABASE_URL));
    }

    #[test]
    fn the_host_table_states_the_codes_defaults() {
        let default = |name: &str| HOST_SETTINGS.iter().find(|s| s.name == name).map(|s| s.default).unwrap_or_default();
        assert_eq!(default(ENV_HOST), format!("`{DEFAULT_HOST}`"));
        assert_eq!(default(ENV_PORT), format!("`{DEFAULT_PORT}`"));
        assert_eq!(default(ENV_DATABASE_URL), format!("`{DEFAULT_DATABASE_URL}`"));
        assert_eq!(default(ENV_PG_POOL_SIZE), format!("`{}`", crate::postgres::DEFAULT_POOL_SIZE));
        assert!(default(ENV_MAX_CONCURRENT).starts_with(&format!("`{}`", crate::engine::MAX_INSTANCES)));
        assert_eq!(default(ENV_MAX_CONNECTIONS), format!("`{DEFAULT_MAX_CONNECTIONS}`"));
        for (name, duration) in [
            (ENV_REQUEST_TIMEOUT, DEFAULT_REQUEST_TIMEOUT),
            (ENV_BODY_TIMEOUT, DEFAULT_BODY_TIMEOUT),
            (ENV_HEADER_TIMEOUT, DEFAULT_HEADER_TIMEOUT),
            (ENV_DRAIN_DELAY, DEFAULT_DRAIN_DELAY),
            (ENV_SHUTDOWN_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT),
        ] {
            assert_eq!(default(name), format!("`{}`", duration.as_secs()), "{name}");
        }
        assert_eq!(default(ENV_METRICS_ADDR), "");
        assert!(default(ENV_COMPONENT).contains(&default_component_path(None).display().to_string()));
    }

    #[test]
    fn aliases_come_from_both_tables() {
        let aliases = aliases();
        for pair in [("JWT_SECRET", "BETTER_AUTH_SECRET"), ("JWT_SECRET_PREVIOUS", "BETTER_AUTH_SECRET_PREVIOUS")] {
            assert!(aliases.contains(&(pair.0.to_owned(), pair.1)), "{pair:?}");
        }
        assert!(aliases.contains(&(ENV_DATABASE_URL.to_owned(), "DATABASE_URL")));
        assert_eq!(aliases.len(), 3);
    }

    #[test]
    fn readme_configuration_table_is_generated() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let start = readme.find(TABLE_START).map(|at| at + TABLE_START.len() + 1);
        let end = readme.find(TABLE_END);
        let (Some(start), Some(end)) = (start, end) else {
            panic!("README.md has no lines {TABLE_START:?} and {TABLE_END:?} around the settings table");
        };
        // A blank line on either side keeps the comments and the table separate blocks.
        let expected = format!("\n{}\n", markdown_table());
        if readme[start..end] == expected {
            return;
        }
        if std::env::var_os("ITSOR_UPDATE_README").is_some_and(|v| v == "1") {
            std::fs::write(&path, format!("{}{expected}{}", &readme[..start], &readme[end..])).unwrap();
            return;
        }
        let current: Vec<&str> = readme[start..end].lines().collect();
        let wanted: Vec<&str> = expected.lines().collect();
        let differ: Vec<String> = (0..current.len().max(wanted.len()))
            .filter(|&i| current.get(i) != wanted.get(i))
            .map(|i| {
                format!("line {}:\n- {}\n+ {}", i + 1, current.get(i).unwrap_or(&""), wanted.get(i).unwrap_or(&""))
            })
            .collect();
        panic!(
            "README.md's settings table is not the one the settings tables give; run \
             ITSOR_UPDATE_README=1 cargo test -p itsor --lib readme, or fix the table by hand:\n{}\n\nThe whole table:\n{expected}",
            differ.join("\n")
        );
    }

    #[test]
    fn the_readme_table_has_a_row_per_setting() {
        let table = markdown_table();
        assert_eq!(table.lines().count(), 2 + VARIABLES.len() + HOST_SETTINGS.len());
        assert!(
            table.contains("| `JWT_SECRET` (alias `BETTER_AUTH_SECRET`) | `jwt_secret` | a development-only value | ")
        );
        assert!(table.contains("| `HOST` | (host only) | `127.0.0.1` | "));
        assert!(table.contains("| (set from `BACKEND_DATABASE_URL`) | `database_url` | (unset) | "));
        assert!(table.contains(" Outside local/dev/test: always `true`, whatever is set. |"));
        assert!(!table.contains(itsor_accounts::config::DEV_SECRET));
    }

    #[test]
    fn edit_distance_counts_single_byte_edits() {
        assert_eq!(edit_distance("JWT_ACCES_MINUTES", "JWT_ACCESS_MINUTES"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn unknown_settings_are_named_with_the_closest_one() {
        let env = Environment::from_pairs([
            ("JWT_ACCES_MINUTES", "5"),
            ("SESSION_COOKIE_SAME_SITE", "strict"),
            ("ITSOR_MAX_CONCURENT", "4"),
            ("jwt_secret", "not-read-in-lower-case"),
            ("RATE_LIMIT_LOGIN_FAILURE", "3"),
            // Known names and aliases, other programs' variables, other prefixes: no warning.
            ("JWT_ACCESS_MINUTES", "5"),
            ("BETTER_AUTH_SECRET", "x"),
            ("DATABASE_URL", "sqlite:///x.db"),
            ("ITSOR_LOG_FORMAT", "json"),
            ("SESSION_MANAGER", "local/host:@/tmp/.ICE-unix/1"),
            ("ITSOR_E2E_CACHE_DIR", "/tmp/c"),
            ("HOME", "/h"),
            ("ACCOUNT_PAGES", "on"),
        ]);
        let found: Vec<(String, String)> =
            unknown_settings(&env).into_iter().map(|unknown| (unknown.name, unknown.closest)).collect();
        let expected = [
            ("ITSOR_MAX_CONCURENT", "ITSOR_MAX_CONCURRENT"),
            ("JWT_ACCES_MINUTES", "JWT_ACCESS_MINUTES"),
            ("RATE_LIMIT_LOGIN_FAILURE", "RATE_LIMIT_LOGIN_FAILURES"),
            ("SESSION_COOKIE_SAME_SITE", "SESSION_COOKIE_SAMESITE"),
            ("jwt_secret", "JWT_SECRET"),
        ];
        assert_eq!(found, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
        let message = unknown_settings(&env)[1].to_string();
        assert_eq!(
            message,
            "JWT_ACCES_MINUTES, set in the environment, is not a setting of itsor (did you mean JWT_ACCESS_MINUTES?)"
        );
        assert!(!unknown_settings(&env).iter().any(|u| u.to_string().contains("not-read")), "never a value");
    }

    #[test]
    fn unknown_settings_say_they_come_from_dotenv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "JWT_ACCES_MINUTES_ITSOR_TEST=5\nPATH=from-file\n").unwrap();
        let env = Environment::load(&path).unwrap();
        let unknown = unknown_settings(&env);
        let ours = unknown.iter().find(|u| u.name == "JWT_ACCES_MINUTES_ITSOR_TEST").expect("named");
        assert_eq!(ours.origin, Origin::DotEnv);
        assert!(ours.to_string().contains(", set in .env, "), "{ours}");
        assert_eq!(env.names().find(|(name, _)| *name == "PATH").map(|(_, origin)| origin), Some(Origin::Process));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let secret = "too-short-secret";
        let env = Environment::from_pairs([
            ("BACKEND_ENV", "production"),
            ("JWT_SECRET", secret),
            ("JWT_ISSUER", " "),
            (ENV_MAX_CONCURRENT, "0"),
            (ENV_BODY_TIMEOUT, "never"),
        ]);
        let err = resolve_serve(&env, &Overrides::default(), None).unwrap_err();
        let ConfigError::All(problems) = &err else { panic!("expected several problems: {err}") };
        assert_eq!(problems.len(), 4, "{err}");
        let message = err.to_string();
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines[0], "refusing to start, 4 problems in the configuration:");
        for (line, name) in lines[1..].iter().zip([ENV_MAX_CONCURRENT, ENV_BODY_TIMEOUT, "JWT_SECRET", "JWT_ISSUER"]) {
            assert!(line.starts_with(&format!("  {name} ")), "{line:?} should name {name}");
        }
        assert!(!message.contains(secret), "{message}");
        assert!(err.is_refusal());
        // The exposure check joins in too, and one problem is reported as it always was.
        let env = Environment::from_pairs([("JWT_ALGORITHM", "none")]);
        let flags = Overrides { host: Some("0.0.0.0".into()), ..Overrides::default() };
        let message = resolve_serve(&env, &flags, None).unwrap_err().to_string();
        assert!(
            message.contains("\n  JWT_ALGORITHM must be one of") && message.contains("BACKEND_ENV is unset"),
            "{message}"
        );
        let one = resolve_serve(&Environment::from_pairs([("JWT_ISSUER", "")]), &Overrides::default(), None);
        assert_eq!(one.unwrap_err().to_string(), "refusing to start: JWT_ISSUER must not be empty");
    }

    #[test]
    fn problems_name_settings_as_the_user_spelt_them() {
        let env = Environment::from_pairs([("SESSION_COOKIE_SAMESITE", "none")]);
        let err = ComponentVariables::from_env(&env).validate().unwrap_err().to_string();
        assert_eq!(err, "refusing to start: SESSION_COOKIE_SAMESITE none requires SESSION_COOKIE_SECURE=true");
        let env = Environment::from_pairs([("BACKEND_ENV", "production"), ("BETTER_AUTH_SECRET", "short-s3cret")])
            .with_aliases_resolved()
            .unwrap();
        let err = ComponentVariables::from_env(&env).validate().unwrap_err().to_string();
        assert!(err.starts_with("refusing to start: BETTER_AUTH_SECRET must be at least 32 bytes"), "{err}");
        assert!(!err.contains("short-s3cret"), "{err}");
    }

    #[test]
    fn every_alias_conflict_is_reported() {
        let err = Environment::from_pairs([
            ("JWT_SECRET", "s3cret-a"),
            ("BETTER_AUTH_SECRET", "s3cret-b"),
            ("BACKEND_DATABASE_URL", "sqlite:///a.db"),
            ("DATABASE_URL", "sqlite:///b.db"),
        ])
        .with_aliases_resolved()
        .unwrap_err()
        .to_string();
        for name in ["JWT_SECRET", "BETTER_AUTH_SECRET", "BACKEND_DATABASE_URL", "DATABASE_URL"] {
            assert!(err.contains(name), "{err}");
        }
        assert!(err.starts_with("refusing to start, 2 problems"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn dotenv_file_is_read_and_process_env_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        // PATH is always set in the process environment, so the file must not override it.
        std::fs::write(&path, "ITSOR_TEST_ONLY_IN_FILE=from-file\nPATH=from-file\n").unwrap();
        let env = Environment::load(&path).unwrap();
        assert_eq!(env.get("ITSOR_TEST_ONLY_IN_FILE"), Some("from-file"));
        assert_ne!(env.get("PATH"), Some("from-file"));
        assert!(Environment::load(&dir.path().join("missing.env")).is_ok());
        std::fs::write(&path, "NOT VALID LINE\n").unwrap();
        assert!(matches!(Environment::load(&path), Err(ConfigError::DotEnv { .. })));
    }
}
