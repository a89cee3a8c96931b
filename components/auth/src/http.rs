//! `wasi:http/incoming-handler`: reads the request (at most [`MAX_BODY_BYTES`] of body, and
//! only for methods whose routes take one), hands it to `itsor-http`, and writes the
//! response back.

use itsor_http::{Body, MAX_BODY_BYTES, Request, Response};

use crate::Component;
use crate::bindings::exports::wasi::http::incoming_handler::Guest;
use crate::bindings::wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use crate::bindings::wasi::io::streams::StreamError;
use crate::platform::SpinPlatform;

/// The largest chunk `blocking-write-and-flush` accepts.
const WRITE_CHUNK: usize = 4096;

impl Guest for Component {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let response = match read(request) {
            Some(request) => itsor_http::handle(&request, &SpinPlatform),
            None => itsor_http::ApiError::bad_body("Request could not be read").into_response(),
        };
        write(response, out);
    }
}

fn read(request: IncomingRequest) -> Option<Request> {
    let method = match request.method() {
        Method::Get => "GET".to_owned(),
        Method::Head => "HEAD".to_owned(),
        Method::Post => "POST".to_owned(),
        Method::Put => "PUT".to_owned(),
        Method::Delete => "DELETE".to_owned(),
        Method::Connect => "CONNECT".to_owned(),
        Method::Options => "OPTIONS".to_owned(),
        Method::Trace => "TRACE".to_owned(),
        Method::Patch => "PATCH".to_owned(),
        Method::Other(other) => other.to_ascii_uppercase(),
    };
    let target = request.path_with_query().unwrap_or_else(|| "/".to_owned());
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target, None),
    };
    let mut headers: Vec<(String, Vec<u8>)> =
        request.headers().entries().into_iter().map(|(name, value)| (name.to_ascii_lowercase(), value)).collect();
    // Hosts pass the authority apart from the headers; the CSRF rule compares it with `Origin`.
    if let Some(authority) = request.authority().filter(|_| !headers.iter().any(|(name, _)| name == "host")) {
        headers.push(("host".to_owned(), authority.into_bytes()));
    }
    let body = if Body::is_taken_by(&method) { read_body(request.consume().ok()?)? } else { Body::Unread };
    Some(Request { method, path, query, headers, body })
}

/// Reads the body up to one byte past the limit, then stops.
fn read_body(body: IncomingBody) -> Option<Body> {
    let mut bytes = Vec::new();
    {
        let stream = body.stream().ok()?;
        loop {
            match stream.blocking_read((MAX_BODY_BYTES + 1 - bytes.len()) as u64) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(_)) => return None,
            }
            if bytes.len() > MAX_BODY_BYTES {
                return Some(Body::TooLarge);
            }
        }
    }
    IncomingBody::finish(body);
    Some(Body::Complete(bytes))
}

fn write(response: Response, out: ResponseOutparam) {
    let mut headers: Vec<(String, Vec<u8>)> =
        response.headers.into_iter().map(|(name, value)| (name, value.into_bytes())).collect();
    if !response.body.is_empty() {
        // A known length lets the host send `Content-Length` instead of chunked encoding.
        headers.push(("content-length".to_owned(), response.body.len().to_string().into_bytes()));
    }
    let Ok(fields) = Fields::from_list(&headers) else {
        return write(
            itsor_http::ApiError::from(itsor_accounts::AuthError::Internal(String::new())).into_response(),
            out,
        );
    };
    let outgoing = OutgoingResponse::new(fields);
    if outgoing.set_status_code(response.status).is_err() {
        return;
    }
    let Ok(body) = outgoing.body() else { return };
    ResponseOutparam::set(out, Ok(outgoing));
    {
        let Ok(stream) = body.write() else { return };
        for chunk in response.body.chunks(WRITE_CHUNK) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                return;
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);
}
