//! The request and response types the adapter works on.

/// The largest request body read, in bytes; larger ones are answered with `413`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request body as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The whole body (at most [`MAX_BODY_BYTES`]).
    Complete(Vec<u8>),
    /// The body was longer than [`MAX_BODY_BYTES`]; reading stopped there.
    TooLarge,
    /// Not read, because no route of the request's method takes a body (see
    /// [`Body::is_taken_by`]); it reads as empty.
    Unread,
}

impl Body {
    /// Whether routes of `method` (upper case) read a request body. Only `POST`, `PUT` and
    /// `PATCH` do: a body on `GET`, `HEAD`, `DELETE` or `OPTIONS` has no meaning here
    /// (RFC 9110 §9.3), so an adapter may skip reading it and pass [`Body::Unread`]. That
    /// saves a fresh instance several host calls on the most frequent requests.
    pub fn is_taken_by(method: &str) -> bool {
        matches!(method, "POST" | "PUT" | "PATCH")
    }
}

/// An HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Upper-case method (`GET`, `POST`, ...).
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string (after `?`), if any.
    pub query: Option<String>,
    /// Header names lower-cased, values as received.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Body,
}

impl Request {
    /// The first value of header `name` (lower case) that is valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().filter(|(n, _)| n == name).find_map(|(_, value)| std::str::from_utf8(value).ok())
    }

    /// Every value of header `name` (lower case) that is valid UTF-8.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(n, _)| n == name).filter_map(|(_, value)| std::str::from_utf8(value).ok())
    }
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response of `value`.
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body: value.to_string().into_bytes(),
        }
    }

    /// A response of `body`, of media type `content_type`.
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), content_type.into()), ("cache-control".into(), "no-cache".into())],
            body,
        }
    }

    /// A response without a body.
    pub fn empty(status: u16) -> Response {
        Response { status, headers: vec![("cache-control".into(), "no-store".into())], body: Vec::new() }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Replaces every value of header `name` with `value` (a cacheable answer's
    /// `cache-control`, say, over the default `no-store`).
    pub fn with_only_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.retain(|(n, _)| n != name);
        self.with_header(name, value)
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}
