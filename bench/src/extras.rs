//! The measurements besides steady load: start-up to the first `200`, and many idle
//! keep-alive connections held open.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::client::{self, Connection, Req};
use crate::server::{Memory, Server, ServerSpec};

/// Time from spawning a server to its first `200` on `path` with `headers`.
///
/// Includes exec, migrations check, database open, engine set-up, component load (compile
/// or cache hit), pre-instantiation, and the first request itself.
pub fn time_to_first_200(spec: &ServerSpec, path: &str, headers: &[(&str, &str)]) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let (server, _) = Server::start(spec)?;
    let result = first_200(server.addr, path, headers, started);
    server.stop();
    result
}

fn first_200(addr: SocketAddr, path: &str, headers: &[(&str, &str)], started: Instant) -> anyhow::Result<Duration> {
    let deadline = started + Duration::from_secs(300);
    loop {
        if let Ok(response) = client::send(addr, Req::get(path, headers)) {
            if response.status == 200 {
                return Ok(started.elapsed());
            }
            bail!("start-up probe got {} instead of 200", response.status);
        }
        if Instant::now() > deadline {
            bail!("no 200 within 300 s");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// What holding many keep-alive connections showed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Held {
    /// Connections opened and kept (each served one request).
    pub connections: usize,
    /// Server memory before opening them.
    pub before: Memory,
    /// Server memory with all of them open and idle.
    pub holding: Memory,
    /// Time for one request on every connection at once (all written, then all read).
    pub burst: Duration,
    /// Responses that were not `200`, or failed.
    pub errors: usize,
}

/// Opens `count` keep-alive connections to `server`, one `GET path` each, keeps them open,
/// reads the server's memory, then sends one more request on all of them at once.
pub fn hold_connections(server: &Server, count: usize, path: &str, headers: &[(&str, &str)]) -> anyhow::Result<Held> {
    let before = server.memory()?;
    let req = Req::get(path, headers);
    let mut connections = Vec::with_capacity(count);
    let mut errors = 0;
    for _ in 0..count {
        let mut connection = Connection::open(server.addr)?;
        connection.send(req, true)?;
        match connection.receive() {
            Ok(response) if response.status == 200 => {}
            _ => errors += 1,
        }
        connections.push(connection);
    }
    // Let the server settle (idle connections, decommits) before reading its memory.
    std::thread::sleep(Duration::from_millis(500));
    let holding = server.memory()?;
    let started = Instant::now();
    for connection in &mut connections {
        connection.send(req, true)?;
    }
    for connection in &mut connections {
        match connection.receive() {
            Ok(response) if response.status == 200 => {}
            _ => errors += 1,
        }
    }
    let burst = started.elapsed();
    Ok(Held { connections: connections.len(), before, holding, burst, errors })
}
