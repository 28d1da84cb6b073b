//! Connections, bounded: at most `max_connections` held (past it the server stops accepting
//! until one closes), a request's headers within `header_timeout` (hyper's header read timeout,
//! which also runs while a keep-alive connection waits idle for its next request, so it is the
//! idle timeout too), and a client that stops taking the answer's bytes for `write_stall` is
//! dropped. Bodies are held to a minimum rate where they are read ([`super::body`]). Each request
//! carries its peer address ([`ClientAddr`]).
//!
//! HTTP/1.1 only, over TLS when the server is given a certificate ([`tls_config`]) or behind a
//! TLS terminator: the tablets (reqwest) and the console speak it.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::app::{AppState, Limits};

/// Serve `router` on `listener` within `limits` until the future is dropped; over TLS when
/// `tls` is given (the handshake, too, within the header timeout).
pub(crate) async fn serve_connections(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> io::Result<()> {
    let cap = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let Ok(permit) = Arc::clone(&cap).acquire_owned().await else { return Ok(()) };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: the listener stays, the next accept may work.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (router, tls) = (router.clone(), tls.clone());
        tokio::spawn(async move {
            let io = Stalling::new(stream, limits.write_stall);
            match tls {
                None => serve_one(io, router, peer, limits).await,
                Some(acceptor) => match tokio::time::timeout(limits.header_timeout, acceptor.accept(io)).await {
                    Ok(Ok(io)) => serve_one(io, router, peer, limits).await,
                    Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
            }
            drop(permit);
        });
    }
}

/// One connection's requests, each knowing its peer.
async fn serve_one<IO>(io: IO, router: Router, peer: SocketAddr, limits: Limits)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req.map(Body::new))
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(io), service)
        .await;
    if let Err(e) = served {
        tracing::debug!(error = %e, %peer, "connection closed");
    }
}

/// The server's TLS configuration from a PEM certificate chain and its PEM private key, with the
/// leaf certificate's SHA-256 fingerprint (what tablets pin at enrollment).
pub fn tls_config(cert_pem: &[u8], key_pem: &[u8]) -> Result<(Arc<rustls::ServerConfig>, String), String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the certificate: {e}"))?;
    let leaf = chain.first().ok_or("the certificate file holds no certificate")?;
    let fingerprint = beibao_sync::trust::fingerprint(leaf.as_ref());
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("the private key: {e}"))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), fingerprint))
}

/// A connection (a TCP stream) whose writes fail once they have waited `limit` for the client to
/// take bytes.
struct Stalling<IO> {
    io: IO,
    limit: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<IO> Stalling<IO> {
    fn new(io: IO, limit: Duration) -> Stalling<IO> {
        Stalling { io, limit, stalled: None }
    }

    /// A write is pending: pending still, or an error once it has been for `limit`.
    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let limit = self.limit;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if timer.as_mut().poll(cx).is_ready() {
            self.stalled = None;
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client stopped taking the answer")));
        }
        Poll::Pending
    }

    fn written<T>(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match polled {
            Poll::Pending => self.pending(cx),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Stalling<IO> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Stalling<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, buf);
        this.written(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.written(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_flush(cx);
        this.written(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// The client's address: the connection's peer, or the last `X-Forwarded-For` entry when the
/// server is told it stands behind a proxy ([`Limits::trust_forwarded`]). Unspecified when the
/// router is driven without a connection.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<ClientAddr, Self::Rejection> {
        if state.limits().trust_forwarded {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .last()
                .and_then(|a| a.trim().parse::<IpAddr>().ok());
            if let Some(ip) = forwarded {
                return Ok(ClientAddr(ip));
            }
        }
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientAddr(peer.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))))
    }
}

#[cfg(test)]
mod tests {
    use super::Stalling;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A client that stops taking the answer: the write waits, then fails after the limit (and not
    /// before); a client that takes bytes, however slowly, resets the wait.
    #[tokio::test(start_paused = true)]
    async fn a_write_the_client_does_not_take_fails_after_the_limit() {
        let (server, mut client) = tokio::io::duplex(1024);
        let mut io = Stalling::new(server, Duration::from_secs(30));
        let answer = vec![7u8; 64 * 1024];
        let start = tokio::time::Instant::now();
        // The client takes 1 KiB every 20 s (under the limit each time): the write goes on.
        let mut taken = 0;
        let writing = io.write_all(&answer[..8 * 1024]);
        tokio::pin!(writing);
        loop {
            tokio::select! {
                done = &mut writing => { done.expect("a slow client is not dropped"); break; }
                _ = tokio::time::sleep(Duration::from_secs(20)) => {
                    let mut buf = [0u8; 1024];
                    taken += client.read(&mut buf).await.expect("read");
                }
            }
        }
        assert!(taken >= 6 * 1024, "the client took {taken} bytes along the way");
        // Now it takes nothing: the write fails once it has waited 30 s.
        let stalled = tokio::time::Instant::now();
        let err = io.write_all(&answer).await.expect_err("a stalled client is dropped");
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        let waited = stalled.elapsed();
        assert!(waited >= Duration::from_secs(30) && waited < Duration::from_secs(31), "{waited:?}");
        assert!(start.elapsed() > Duration::from_secs(100));
    }
}
