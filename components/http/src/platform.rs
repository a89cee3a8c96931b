//! What the adapter needs from the place it runs in.

use itsor_accounts::config::{ConfigError, Settings};
use itsor_accounts::db::Database;

/// Settings and storage, supplied per request by the component (Spin variables and
/// `spin:sqlite`) or by a native server.
pub trait Platform {
    /// The storage seam.
    type Database: Database;

    /// The deployment's settings, validated.
    fn settings(&self) -> Result<Settings, ConfigError>;

    /// The database; called only by routes that touch storage.
    fn database(&self) -> Self::Database;
}
