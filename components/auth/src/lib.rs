//! The itsor component: `itsor:auth/service` on `wasm32-wasip2`.
//!
//! Thin glue only. [`http`] translates `wasi:http/incoming-handler` to `itsor-http`, and
//! [`typed_http`] the typed `itsor:auth/http-handler` (one record in, one out) that
//! `itsor serve` calls instead;
//! [`typed`] maps the `itsor:auth/accounts` export onto `itsor-accounts`; [`platform`]
//! supplies their storage (`spin:sqlite`) and settings (`fermyon:spin/variables`). Every
//! request gets a fresh instance from the host, so nothing here outlives one call.

mod http;
mod platform;
mod typed;
mod typed_http;

/// Generated from `wit/`; the only place in the component with `unsafe` (the canonical ABI).
#[allow(unsafe_code, missing_docs)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "itsor:auth/service",
        generate_all,
    });

    use super::Component;
    export!(Component with_types_in self);
}

/// The type that carries every export.
struct Component;
