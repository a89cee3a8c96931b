//! `wasi:http/incoming-handler`: reads the request (at most [`MAX_BODY_BYTES`] of body, and
//! only for methods whose routes take one), hands it to `itsor-http`, and writes the
//! response back. How a request and a response map onto the wire is `itsor-http`'s
//! ([`Request::from_wire`], [`Response::framed`]); this module only speaks `wasi:http`.

use itsor_http::{Body, MAX_BODY_BYTES, Request, Response};

use crate::Component;
use crate::bindings::exports::wasi::http::incoming_handler::Guest;
use crate::bindings::wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use crate::bindings::wasi::io::streams::StreamError;
use crate::platform::{SpinPlatform, Variables};

/// The largest chunk `blocking-write-and-flush` accepts.
const WRITE_CHUNK: usize = 4096;

impl Guest for Component {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let response = match read(request) {
            Some(request) => itsor_http::handle(&request, &SpinPlatform::new(Variables::Imported)),
            None => itsor_http::ApiError::bad_body("Request could not be read").into_response(),
        };
        write(response, out);
    }
}

/// The request as `itsor-http` reads it ([`Request::from_wire`]), its body read only for
/// methods whose routes take one.
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
        Method::Other(other) => other,
    };
    let target = request.path_with_query();
    let authority = request.authority();
    let headers = request.headers().entries();
    let mut read = Request::from_wire(&method, target.as_deref(), headers, authority.as_deref(), Body::Unread);
    if Body::is_taken_by(&read.method) {
        read.body = read_body(request.consume().ok()?)?;
    }
    Some(read)
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

/// Sends `response` as it goes on the wire ([`Response::framed`]).
fn write(response: Response, out: ResponseOutparam) {
    send(response.framed(), out);
}

fn send(response: Response, out: ResponseOutparam) {
    let headers: Vec<(String, Vec<u8>)> =
        response.headers.into_iter().map(|(name, value)| (name, value.into_bytes())).collect();
    let Ok(fields) = Fields::from_list(&headers) else {
        return send(Response::unsendable(), out);
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
