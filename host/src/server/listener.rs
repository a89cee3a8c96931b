//! The listener: connections in, under a cap, and a graceful shutdown.
//!
//! # Design
//!
//! [`serve`] accepts HTTP/1.1 connections and hands each request to a [`Service`] (the
//! component's [`App`](super::App), the metrics endpoint, or an embedder's handler):
//!
//! * **Connection cap.** At most `max_connections` connections are open at once; one more
//!   is answered `503 TOO_MANY_CONNECTIONS` (JSON, `Retry-After: 1`) straight on the socket
//!   and closed ([`refuse_connection`]).
//! * **Head.** Every connection applies the head limits of [`super::intake`] and closes when
//!   a head takes longer than `header_timeout` (counted from the end of the previous
//!   response on a keep-alive connection, so it is also the idle timeout), without an
//!   answer. The socket is wrapped in [`JsonAutomaticAnswers`], so hyper's own answers to
//!   bad heads are JSON like every other.
//! * **Graceful shutdown.** When the `shutdown` future resolves (`itsor serve` resolves it
//!   the drain delay after SIGINT or SIGTERM, once `/readyz` has turned `503`, see
//!   [`shutdown_signal`]), the server stops accepting connections, lets in-flight requests
//!   finish (up to `shutdown_timeout`) and returns.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use itsor_http::ApiError;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::answers::{JsonAutomaticAnswers, raw_error};
use super::intake::{BoxError, MAX_HEADER_BYTES, MAX_HEADERS};
use crate::config::Limits;

/// How long a connection over the connection cap is kept to be told so.
pub const REFUSAL_TIME: Duration = Duration::from_secs(1);

/// What answers the requests of a [`serve`]d connection.
pub trait Service: Send + Sync + 'static {
    /// The response body type.
    type Body: hyper::body::Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static;

    /// Answers one request from `peer` arriving on `local`; never fails.
    fn call(
        self: Arc<Self>,
        peer: SocketAddr,
        local: SocketAddr,
        req: Request<Incoming>,
    ) -> impl Future<Output = Response<Self::Body>> + Send;
}

/// Binds `host:port` (before the slow start-up work, so a busy port fails fast).
pub async fn bind(host: &str, port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind((host, port)).await.with_context(|| format!("cannot listen on {host}:{port}"))
}

/// Prints the one stdout line tests and scripts wait for: `itsor listening on http://ADDR:PORT`
/// with the port actually bound (so `--port 0` can be used).
pub fn announce(listener: &TcpListener) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "itsor listening on http://{addr}")?;
    stdout.flush()?;
    Ok(())
}

/// Serves HTTP/1.1 on `listener` until `shutdown` resolves, then drains in-flight requests.
///
/// Every connection refuses heads over the limits (`431`) and closes when a head takes
/// longer than `limits.header_timeout`; at most `limits.max_connections` are open at once
/// (the other limits are the service's business).
pub async fn serve<S: Service>(
    listener: TcpListener,
    service: Arc<S>,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let local = listener.local_addr()?;
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .keep_alive(true)
        .max_headers(MAX_HEADERS)
        .max_header_size(MAX_HEADER_BYTES)
        .header_read_timeout(limits.header_timeout);
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(limits.max_connections as usize));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Typically EMFILE: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            tracing::warn!(
                max = limits.max_connections,
                "connection refused: {} open connections",
                limits.max_connections
            );
            tokio::spawn(refuse_connection(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = Arc::clone(&service);
        let service = hyper::service::service_fn(move |req| {
            let service = Arc::clone(&service);
            async move { Ok::<_, Infallible>(service.call(peer, local, req).await) }
        });
        let stream = TokioIo::new(JsonAutomaticAnswers::new(stream));
        let connection = graceful.watch(http.serve_connection(stream, service));
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(listener = %local, "shutting down: waiting for in-flight requests");
    let grace = limits.shutdown_timeout;
    tokio::select! {
        () = graceful.shutdown() => tracing::info!(listener = %local, "all connections closed"),
        () = tokio::time::sleep(grace) => {
            tracing::warn!(listener = %local, "some connections were still open after {grace:?}");
        }
    }
    Ok(())
}

/// Answers a connection over the cap with a JSON `503` and closes it, within
/// [`REFUSAL_TIME`]. What the client already sent is read and dropped after the answer, so
/// that closing does not reset the connection before the client reads it.
async fn refuse_connection(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let answer = raw_error(ApiError::too_many_connections());
    let _ = tokio::time::timeout(REFUSAL_TIME, async {
        stream.write_all(&answer).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        std::io::Result::Ok(())
    })
    .await;
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("received SIGINT"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
