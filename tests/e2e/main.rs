//! End-to-end suite: drives the real `itsor` binary over HTTP on loopback.
//!
//! Every test starts its own server (its own temporary directory and SQLite file) through
//! [`support::Server`]; all servers of one run share a compilation cache so the component
//! is compiled once. Run with `cargo test --release -p itsor --test e2e -- --skip timing::`,
//! then the timing measurements alone, one at a time, as `make test` does:
//! `cargo test --release -p itsor --test e2e timing:: -- --test-threads=1`.

// A test crate: a failed expectation panics, which is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

mod adoption;
mod aliases;
mod api;
mod attacks;
mod better_auth;
mod component;
mod concurrency;
mod cors;
mod docs;
mod flow;
mod hardening;
mod input;
mod limits;
mod operations;
mod postgres_provider;
mod scaleout;
mod security;
mod signing_keys;
mod spin_manifest;
mod startup;
mod tasks;
mod timing;
mod tokens;
