//! `itsor:auth/http-handler`: the HTTP handler as one typed call, for `itsor serve`.
//!
//! The same `itsor-http` code as [`crate::http`], without `wasi:http`'s resources and
//! streams: the host passes the whole request in one record and gets the whole response
//! back in another, and passes the variables with it, so the settings cost no host call
//! (see [`Variables::Given`]). The host has already read the body (within its own size and time
//! limits) and shaped the headers as a `wasi:http` guest would see them, so this module only
//! does what [`crate::http`] does with what it reads: the body counts only for methods
//! whose routes take one, and one longer than [`MAX_BODY_BYTES`] is [`Body::TooLarge`]. The
//! response goes out as [`Response::framed`] puts it on the wire.

use itsor_http::{Body, MAX_BODY_BYTES, Request};

use crate::Component;
use crate::bindings::exports::itsor::auth::http_handler::{Guest, Request as TypedRequest, Response as TypedResponse};
use crate::platform::{SpinPlatform, Variables};

impl Guest for Component {
    fn handle(request: TypedRequest) -> TypedResponse {
        let TypedRequest { method, target, headers, body, variables } = request;
        // `host` is among the headers already: no authority to add.
        let mut read = Request::from_wire(&method, Some(&target), headers, None, Body::Unread);
        if Body::is_taken_by(&read.method) {
            read.body = if body.len() > MAX_BODY_BYTES { Body::TooLarge } else { Body::Complete(body) };
        }
        let response = itsor_http::handle(&read, &SpinPlatform::new(Variables::Given(variables))).framed();
        TypedResponse {
            status: response.status,
            headers: response.headers.into_iter().map(|(name, value)| (name, value.into_bytes())).collect(),
            body: response.body,
        }
    }
}
