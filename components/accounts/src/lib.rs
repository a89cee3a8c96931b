//! itsor's account logic: one implementation of every rule, for every way in.
//!
//! The HTTP adapter (`itsor-http`) and the component's typed `accounts` export both call
//! [`Accounts`]. It validates input ([`input`]), hashes passwords ([`password`]), signs and
//! checks tokens ([`token`]; with its own signing [`keys`] for EdDSA and ES256), rotates
//! refresh tokens and keeps users, sessions and [`tasks`] through the [`db::Database`]
//! seam, under one deployment's [`config::Settings`], telling time by the [`clock::Clock`]
//! its embedder passes in. It compiles for `wasm32-wasip2` and natively alike.
//!
//! # Module graph
//!
//! The modules form a graph without cycles, leaves first (each imports only modules
//! above it):
//!
//! - `error` ([`AuthError`]) and `algorithm` ([`config::Algorithm`]) import nothing from
//!   the crate; [`schema`] (the migrations) neither;
//! - [`clock`] → error; [`db`] → clock, error; [`input`] → error; `seal` → error;
//! - [`password`] → input; `refresh` → seal;
//! - `store` (every SQL statement, one submodule per table) → db, clock;
//! - `limits` → store; [`config`] → algorithm, limits, password;
//! - [`token`] → algorithm, config; [`keys`] → store, seal, token, config;
//!   [`tasks`] → store, input, clock;
//! - `service` ([`Accounts`]) → all of the above.
//!
//! Only what the other crates (the HTTP adapter, the component, the host, the bench and
//! the tests) use is public; the rest is `pub(crate)`.

mod algorithm;
pub mod clock;
pub mod config;
pub mod db;
mod error;
pub mod input;
pub mod keys;
mod limits;
pub mod password;
mod refresh;
pub mod schema;
mod seal;
mod service;
mod store;
pub mod tasks;
pub mod token;

pub use error::{AuthError, UNAVAILABLE_RETRY_SECONDS};
pub use service::{AccessToken, Accounts, Client, Login, SessionView};
pub use store::{Session, User};
pub use tasks::{Task, Tasks};
