//! Command-line flags shared by the binaries of this crate.

use std::path::PathBuf;

use clap::Args;

use crate::config::Overrides;

/// Where to listen and which database: the flags `itsor serve` and `itsor-native` share.
#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    /// Address to listen on [env: HOST] [default: 127.0.0.1]
    #[arg(long, value_name = "ADDR")]
    pub host: Option<String>,
    /// Port to listen on; 0 picks a free one [env: PORT] [default: 3002]
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Database URL, sqlite:/// or postgresql:// [env: BACKEND_DATABASE_URL]
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

impl ListenArgs {
    /// These flags as configuration overrides, with the component's path if one was given.
    pub fn overrides(self, component: Option<PathBuf>) -> Overrides {
        Overrides { host: self.host, port: self.port, database_url: self.database_url, component }
    }
}
