//! itsor's account logic: one implementation of every rule, for every way in.
//!
//! The HTTP adapter (`itsor-http`) and the component's typed `accounts` export both call
//! [`Accounts`]. It validates input ([`input`]), hashes passwords ([`password`]), signs and
//! checks tokens ([`token`]; with its own signing [`keys`] for EdDSA and ES256), rotates
//! [`refresh`] tokens and keeps users and sessions through the [`db::Database`] seam
//! ([`store`]), under one deployment's [`config::Settings`]. It compiles for
//! `wasm32-wasip2` and natively alike.

mod algorithm;
pub mod clock;
pub mod config;
pub mod db;
mod error;
pub mod input;
pub mod keys;
pub mod limits;
pub mod password;
pub mod refresh;
pub mod schema;
mod seal;
mod service;
pub mod store;
pub mod tasks;
pub mod token;

pub use error::{AuthError, UNAVAILABLE_RETRY_SECONDS};
pub use service::{AccessToken, Accounts, Client, Login, SessionView};
pub use store::{Session, User};
pub use tasks::{Task, Tasks};
