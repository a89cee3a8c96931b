//! A deliberately small HTTP/1.1 client over `TcpStream`: one request per connection
//! (`Connection: close`), exact control over the bytes sent (for malformed requests), and a
//! response parser that understands `Content-Length`, chunked bodies and close-delimited
//! bodies.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// How long one request may take before the client gives up.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// The origin a browser-like request comes from: the default `CORS_ORIGINS` entry.
pub const BROWSER_ORIGIN: &str = "http://localhost:3000";

/// A request to build and send.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    /// Like a browser, send `Origin: BROWSER_ORIGIN` on a state-changing request that
    /// carries a cookie or a form, unless an `Origin` is set explicitly or this is off.
    browser_origin: bool,
}

/// `GET target`.
pub fn get(target: &str) -> Request {
    Request::new("GET", target)
}

/// `POST target`.
pub fn post(target: &str) -> Request {
    Request::new("POST", target)
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: &str, target: &str) -> Request {
        Request {
            method: method.to_owned(),
            target: target.to_owned(),
            headers: Vec::new(),
            body: None,
            browser_origin: true,
        }
    }

    /// Sends no `Origin` unless one is set explicitly: a non-browser client, or a forged
    /// cross-site request (CSRF tests).
    pub fn without_origin(mut self) -> Request {
        self.browser_origin = false;
        self
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Whether a browser would add `Origin` (state-changing, with a cookie or a form).
    fn adds_origin(&self) -> bool {
        let unsafe_method = !matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS");
        let form = self
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("content-type") && v.starts_with("application/x-www-form-urlencoded"));
        self.browser_origin && unsafe_method && (self.has_header("cookie") || form) && !self.has_header("origin")
    }

    /// Adds a header (several with one name are allowed).
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `Authorization: Bearer token`.
    pub fn bearer(self, token: &str) -> Request {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    /// `Cookie: name=value`.
    pub fn cookie(self, name: &str, value: &str) -> Request {
        self.header("Cookie", &format!("{name}={value}"))
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, body: &Value) -> Request {
        self.body(Some("application/json"), body.to_string().into_bytes())
    }

    /// A form body with `Content-Type: application/x-www-form-urlencoded`.
    pub fn form(self, pairs: &[(&str, &str)]) -> Request {
        let encoded: Vec<String> =
            pairs.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect();
        self.body(Some("application/x-www-form-urlencoded"), encoded.join("&").into_bytes())
    }

    /// Any body, with an optional `Content-Type`; `Content-Length` is added when sent.
    pub fn body(mut self, content_type: Option<&str>, body: Vec<u8>) -> Request {
        if let Some(ct) = content_type {
            self = self.header("Content-Type", ct);
        }
        self.body = Some(body);
        self
    }

    /// The request's bytes on the wire.
    pub fn to_bytes(&self, addr: SocketAddr) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n", self.method, self.target);
        if self.adds_origin() {
            let _ = write!(head, "Origin: {BROWSER_ORIGIN}\r\n");
        }
        for (name, value) in &self.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        let body = self.body.as_deref().unwrap_or_default();
        if self.body.is_some() || self.method == "POST" || self.method == "PUT" {
            let _ = write!(head, "Content-Length: {}\r\n", body.len());
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        bytes
    }
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
pub fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names and values in order (names as sent).
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every header named `name` (case-insensitive).
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the whole response when it is not JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {}", self.describe()))
    }

    /// Every `Set-Cookie`, parsed.
    pub fn set_cookies(&self) -> Vec<SetCookie> {
        self.headers_named("set-cookie").into_iter().map(SetCookie::parse).collect()
    }

    /// A one-paragraph description for assertion messages.
    pub fn describe(&self) -> String {
        let mut s = format!("HTTP {}", self.status);
        for (n, v) in &self.headers {
            let _ = write!(s, "\n  {n}: {v}");
        }
        let text = self.text();
        let shown: String = text.chars().take(2000).collect();
        let _ = write!(s, "\n  body ({} bytes): {shown}", self.body.len());
        s
    }
}

/// One `Set-Cookie` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    /// The cookie's name.
    pub name: String,
    /// The cookie's value.
    pub value: String,
    /// Attributes: lower-cased names, values as sent.
    pub attrs: Vec<(String, Option<String>)>,
    /// The header as sent.
    pub raw: String,
}

impl SetCookie {
    /// Parses `name=value; Attr; Attr=val`.
    pub fn parse(raw: &str) -> SetCookie {
        let mut parts = raw.split(';');
        let first = parts.next().unwrap_or_default();
        let (name, value) = first.split_once('=').unwrap_or((first, ""));
        let attrs = parts
            .map(|p| {
                let p = p.trim();
                match p.split_once('=') {
                    Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().to_owned())),
                    None => (p.to_ascii_lowercase(), None),
                }
            })
            .collect();
        SetCookie { name: name.trim().to_owned(), value: value.trim().to_owned(), attrs, raw: raw.to_owned() }
    }

    /// Whether the attribute `name` (case-insensitive) is present.
    pub fn has(&self, name: &str) -> bool {
        self.attrs.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    /// The value of the attribute `name` (case-insensitive).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_deref())
    }
}

/// Sends `bytes` (optionally closing the write half afterwards, so the server sees the end
/// of a short body) and parses the response. Write errors are ignored: a server may answer
/// and close before it has read everything (413).
pub fn try_raw(addr: SocketAddr, bytes: &[u8], half_close: bool) -> Result<Response, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let write_result = stream.write_all(bytes).and_then(|()| stream.flush());
    if half_close {
        let _ = stream.shutdown(Shutdown::Write);
    }
    read_response(&mut stream).map_err(|e| match write_result {
        Ok(()) => e,
        Err(w) => format!("{e} (after a write error: {w})"),
    })
}

/// Reads bytes on demand; a read error after some bytes counts as the end of the stream.
struct Reader<'a> {
    stream: &'a mut TcpStream,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    error: Option<String>,
}

impl Reader<'_> {
    fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        let mut chunk = [0u8; 16 * 1024];
        // A signal (the test process reaps killed children) may interrupt a read: retry it.
        let read = loop {
            match self.stream.read(&mut chunk) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match read {
            Ok(0) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) => {
                self.eof = true;
                self.error = Some(e.to_string());
                false
            }
        }
    }

    fn available(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Up to and excluding the next CRLF (or LF), consuming it.
    fn line(&mut self) -> Result<Vec<u8>, String> {
        loop {
            if let Some(i) = self.available().iter().position(|&b| b == b'\n') {
                let mut line = self.available()[..i].to_vec();
                self.pos += i + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if !self.fill() {
                return Err(self.eof_message("a line"));
            }
        }
    }

    fn exact(&mut self, n: usize) -> Result<Vec<u8>, String> {
        while self.available().len() < n {
            if !self.fill() {
                return Err(self.eof_message(&format!("{n} body bytes (got {})", self.available().len())));
            }
        }
        let out = self.available()[..n].to_vec();
        self.pos += n;
        Ok(out)
    }

    fn rest(&mut self) -> Vec<u8> {
        while self.fill() {}
        let out = self.available().to_vec();
        self.pos = self.buf.len();
        out
    }

    fn eof_message(&self, wanted: &str) -> String {
        match &self.error {
            Some(e) => format!("connection failed ({e}) while reading {wanted}; received {} bytes", self.buf.len()),
            None => format!("connection closed while reading {wanted}; received {} bytes", self.buf.len()),
        }
    }
}

fn read_response(stream: &mut TcpStream) -> Result<Response, String> {
    let mut r = Reader { stream, buf: Vec::new(), pos: 0, eof: false, error: None };
    loop {
        let status_line = String::from_utf8_lossy(&r.line()?).into_owned();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        if !version.starts_with("HTTP/1.") {
            return Err(format!("not an HTTP/1.x status line: {status_line:?}"));
        }
        let status: u16 =
            parts.next().and_then(|s| s.parse().ok()).ok_or_else(|| format!("bad status line: {status_line:?}"))?;
        let mut headers = Vec::new();
        loop {
            let line = r.line()?;
            if line.is_empty() {
                break;
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            let (name, value) = line.split_once(':').ok_or_else(|| format!("bad header line: {line:?}"))?;
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        if (100..200).contains(&status) {
            continue; // an interim response (100 Continue): the real one follows
        }
        let find = |name: &str| {
            headers.iter().find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
        };
        let body = if status == 204 || status == 304 {
            Vec::new()
        } else if find("transfer-encoding").is_some_and(|te| te.to_ascii_lowercase().contains("chunked")) {
            let mut body = Vec::new();
            loop {
                let size_line = String::from_utf8_lossy(&r.line()?).into_owned();
                let size_hex = size_line.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size_hex, 16).map_err(|_| format!("bad chunk size {size_line:?}"))?;
                if size == 0 {
                    while !r.line()?.is_empty() {}
                    break;
                }
                body.extend(r.exact(size)?);
                r.line()?;
            }
            body
        } else if let Some(len) = find("content-length") {
            let len: usize = len.parse().map_err(|_| format!("bad Content-Length {len:?}"))?;
            r.exact(len)?
        } else {
            r.rest()
        };
        return Ok(Response { status, headers, body });
    }
}
