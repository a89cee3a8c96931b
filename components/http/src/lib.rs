//! itsor's HTTP adapter: a plain [`Request`] in, a plain [`Response`] out.
//!
//! It knows routes, JSON and form bodies, cookies, bearer tokens, CORS and how every
//! [`AuthError`](itsor_accounts::AuthError) looks on the wire, and nothing about Wasm: the
//! component translates `wasi:http` to and from these types (the mapping is written once, in
//! [`Request::from_wire`] and [`Response::framed`]) and supplies a [`Platform`]; a native
//! server can serve the very same adapter. Every error answer, a server's own included, has
//! the one envelope of [`ApiError`] and a code of [`ErrorCode`] (or of the account error).
//! All rules live in `itsor-accounts`.

mod body;
mod client;
mod cookie;
mod cors;
mod csrf;
mod error;
mod message;
mod platform;
mod routes;
mod wire;

pub use error::{ApiError, Dialect, ErrorCode};
pub use message::{Body, MAX_BODY_BYTES, Request, Response};
pub use platform::Platform;
pub use routes::{handle, route_template, served_paths};
