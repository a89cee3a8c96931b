//! A minimal blocking HTTP/1.1 client for set-up requests, start-up probes and held
//! connections (the load itself comes from `wrk`).
//!
//! It writes requests with `Content-Length` and reads responses framed by
//! `Content-Length` or chunked encoding, which is all the two servers produce.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context as _, bail};

/// How long any single read or write may block.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest response body accepted.
const MAX_BODY: usize = 16 << 20;

/// A response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("the response body is not JSON")
    }
}

/// A request to send.
#[derive(Debug, Clone, Copy)]
pub struct Req<'a> {
    /// Method.
    pub method: &'a str,
    /// Path and query.
    pub path: &'a str,
    /// Extra headers.
    pub headers: &'a [(&'a str, &'a str)],
    /// Body, sent with `Content-Length`.
    pub body: Option<&'a [u8]>,
}

impl<'a> Req<'a> {
    /// A `GET` of `path` with `headers`.
    pub fn get(path: &'a str, headers: &'a [(&'a str, &'a str)]) -> Req<'a> {
        Req { method: "GET", path, headers, body: None }
    }

    /// A `POST` of a JSON `body` to `path` with `headers`.
    pub fn post_json(path: &'a str, headers: &'a [(&'a str, &'a str)], body: &'a str) -> Req<'a> {
        Req { method: "POST", path, headers, body: Some(body.as_bytes()) }
    }

    fn encode(&self, keep_alive: bool) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/1.1\r\nhost: 127.0.0.1\r\n", self.method, self.path);
        for (name, value) in self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = self.body {
            out.push_str("content-type: application/json\r\n");
            out.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        if !keep_alive {
            out.push_str("connection: close\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(self.body.unwrap_or_default());
        bytes
    }
}

/// Sends one request on a new connection and reads the response.
pub fn send(addr: SocketAddr, req: Req<'_>) -> anyhow::Result<HttpResponse> {
    let mut connection = Connection::open(addr)?;
    connection.send(req, false)?;
    connection.receive()
}

/// One keep-alive connection.
pub struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    /// Connects to `addr`.
    pub fn open(addr: SocketAddr) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(Connection { reader: BufReader::new(stream) })
    }

    /// Writes `req` (asking to keep the connection open if `keep_alive`).
    pub fn send(&mut self, req: Req<'_>, keep_alive: bool) -> anyhow::Result<()> {
        self.reader.get_mut().write_all(&req.encode(keep_alive))?;
        Ok(())
    }

    /// Reads one response.
    pub fn receive(&mut self) -> anyhow::Result<HttpResponse> {
        read_response(&mut self.reader)
    }
}

fn read_line(reader: &mut impl BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        bail!("the connection closed mid-response");
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn read_response(reader: &mut impl BufRead) -> anyhow::Result<HttpResponse> {
    let status_line = read_line(reader)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .with_context(|| format!("bad status line {status_line:?}"))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').with_context(|| format!("bad header line {line:?}"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut response = HttpResponse { status, headers, body: Vec::new() };
    let chunked = response.header("transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked"));
    if chunked {
        response.body = read_chunked(reader)?;
    } else if let Some(length) = response.header("content-length") {
        let length: usize = length.parse().context("bad content-length")?;
        if length > MAX_BODY {
            bail!("response body too large ({length} bytes)");
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        response.body = body;
    }
    Ok(response)
}

fn read_chunked(reader: &mut impl BufRead) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let size_line = read_line(reader)?;
        let size_text = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).with_context(|| format!("bad chunk size {size_line:?}"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(reader)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            bail!("response body too large");
        }
        let mut chunk = vec![0; size];
        reader.read_exact(&mut chunk)?;
        body.extend_from_slice(&chunk);
        read_line(reader)?;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn reads_length_and_chunked_responses() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nhiHTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n";
        let mut reader = BufReader::new(&raw[..]);
        let first = read_response(&mut reader).unwrap();
        assert_eq!((first.status, first.body.as_slice(), first.header("x-a")), (200, &b"hi"[..], Some("b")));
        let second = read_response(&mut reader).unwrap();
        assert_eq!((second.status, second.body.as_slice()), (404, &b"abcd"[..]));
        assert!(read_response(&mut reader).is_err());
    }

    #[test]
    fn requests_carry_length_and_connection() {
        let req = Req::post_json("/x", &[("authorization", "Bearer t")], "{}");
        let text = String::from_utf8(req.encode(false)).unwrap();
        assert!(text.starts_with("POST /x HTTP/1.1\r\n"));
        assert!(text.contains("authorization: Bearer t\r\n"));
        assert!(text.contains("content-length: 2\r\n"));
        assert!(text.contains("connection: close\r\n"));
        assert!(text.ends_with("\r\n\r\n{}"));
    }
}
