//! The wire mapping: how a server's request becomes a [`Request`], and how a [`Response`]
//! goes back onto the wire.
//!
//! # Design
//!
//! The adapter is served in two places: the Wasm component (from `wasi:http`) and the
//! native benchmark reference (from hyper). Both must hand the adapter the same request and
//! send its response the same way, or the benchmark would not compare like with like. So
//! the mapping is written here once, over plain strings and bytes, and each server only
//! reads its own types into it ([`Request::from_wire`]) and writes [`Response::framed`]
//! out of it:
//!
//! * **Method** upper-cased; **target** split at its first `?` into path and query (`/`
//!   when the server has none);
//! * **header names** lower-cased, values kept as bytes; when the server hands over the
//!   authority apart from the headers (as `wasi:http` does), it becomes `host`, which the
//!   CSRF rule compares with `Origin`;
//! * **response**: status, the adapter's headers, then `content-length` for a non-empty body,
//!   so the server sends a known length instead of chunked encoding. A server that cannot
//!   send the adapter's headers sends [`Response::unsendable`] instead.

use itsor_accounts::AuthError;

use crate::{ApiError, Body, Request, Response};

impl Request {
    /// A request as a server received it: its `method` (any case), `target` (path and query,
    /// if the server has one), header fields (names in any case), the `authority` if the
    /// server keeps it apart from the headers, and the `body`.
    pub fn from_wire(
        method: &str,
        target: Option<&str>,
        headers: impl IntoIterator<Item = (String, Vec<u8>)>,
        authority: Option<&str>,
        body: Body,
    ) -> Request {
        let target = target.unwrap_or("/");
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
            None => (target.to_owned(), None),
        };
        let mut headers: Vec<(String, Vec<u8>)> =
            headers.into_iter().map(|(name, value)| (name.to_ascii_lowercase(), value)).collect();
        if let Some(authority) = authority.filter(|_| !headers.iter().any(|(name, _)| name == "host")) {
            headers.push(("host".to_owned(), authority.as_bytes().to_vec()));
        }
        Request { method: method.to_ascii_uppercase(), path, query, headers, body }
    }
}

impl Response {
    /// The response as it goes on the wire: the same, with `content-length` after the other
    /// headers when the body is not empty.
    #[must_use]
    pub fn framed(self) -> Response {
        if self.body.is_empty() {
            return self;
        }
        let length = self.body.len().to_string();
        self.with_header("content-length", length)
    }

    /// What a server sends when it cannot send a response's headers (a field its HTTP layer
    /// refuses): the generic `500`, framed.
    pub fn unsendable() -> Response {
        ApiError::from(AuthError::Internal(String::new())).into_response().framed()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    fn header(name: &str, value: &str) -> (String, Vec<u8>) {
        (name.to_owned(), value.as_bytes().to_vec())
    }

    #[test]
    fn requests_are_read_as_the_adapter_expects() {
        let headers = [header("X-A", "1"), header("x-a", "2")];
        let request = Request::from_wire("get", Some("/auth/me?x=1?y"), headers, Some("h:1"), Body::Unread);
        assert_eq!(request.method, "GET");
        assert_eq!((request.path.as_str(), request.query.as_deref()), ("/auth/me", Some("x=1?y")));
        assert_eq!(request.headers, [header("x-a", "1"), header("x-a", "2"), header("host", "h:1")]);
        let bare = Request::from_wire("POST", None, [], None, Body::Unread);
        assert_eq!((bare.path.as_str(), bare.query), ("/", None));
        assert!(bare.headers.is_empty());
    }

    #[test]
    fn a_host_header_wins_over_the_authority() {
        let request = Request::from_wire("GET", Some("/"), [header("Host", "a")], Some("b"), Body::Unread);
        assert_eq!(request.header("host"), Some("a"));
        assert_eq!(request.header_values("host").count(), 1);
    }

    #[test]
    fn framing_adds_the_length_of_a_non_empty_body() {
        let ok = Response::json(200, &serde_json::json!({"a": 1})).framed();
        assert_eq!(ok.header("content-length"), Some("7"));
        assert_eq!(ok.headers.last().map(|(name, _)| name.as_str()), Some("content-length"));
        assert_eq!(Response::empty(204).framed().header("content-length"), None);
        let unsendable = Response::unsendable();
        assert_eq!(unsendable.status, 500);
        assert_eq!(unsendable.header("content-length"), Some(unsendable.body.len().to_string().as_str()));
    }
}
