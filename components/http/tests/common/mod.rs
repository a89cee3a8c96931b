//! The adapter's test platform: real settings from a table, real SQLite in memory with the
//! real migrations, no Wasm.

use itsor_accounts::config::{ConfigError, Settings};
use itsor_http::Platform;

/// A native platform whose settings are `vars` (everything else at its default).
pub struct Native {
    pub db: rusqlite::Connection,
    vars: &'static [(&'static str, &'static str)],
}

impl Native {
    /// A fresh in-memory database under the settings `vars`.
    pub fn new(vars: &'static [(&'static str, &'static str)]) -> Native {
        Native { db: itsor_accounts::schema::migrated_in_memory().expect("migrates"), vars }
    }
}

impl<'a> Platform for &'a Native {
    type Database = &'a rusqlite::Connection;

    fn settings(&self) -> Result<Settings, ConfigError> {
        Settings::load(&|name: &str| self.vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    fn database(&self) -> &'a rusqlite::Connection {
        &self.db
    }
}
