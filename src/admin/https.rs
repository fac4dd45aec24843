//! The admin API over HTTPS (`--admin-tls ADDR`, `service.admin_tls`): TLS with
//! the service certificate (the same resolver SIP TLS uses, so `certificate
//! enable` and SIGHUP swap it for both), then each connection is carried to the
//! loopback API, which checks tokens as for any client. Hand-written because
//! actix-web's own TLS would pull a second rustls build in; this is a copy loop.

use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};

/// Accept TLS connections on `listener` and carry each to `api` (plain HTTP).
pub async fn front(listener: TcpListener, acceptor: tokio_rustls::TlsAcceptor, api: SocketAddr) {
    tracing::info!(event = "admin_https_listening", address = %listener.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()));
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(event = "admin_https_accept_failed", error = %e);
                continue;
            }
        };
        let acceptor = acceptor.clone();
        actix_rt::spawn(async move {
            // A peer that never finishes its handshake holds nothing for long.
            let tls =
                tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp))
                    .await;
            let mut tls = match tls {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::info!(event = "admin_https_handshake_failed", peer = %peer, error = %e);
                    return;
                }
                Err(_) => {
                    tracing::info!(event = "admin_https_handshake_failed", peer = %peer, error = "timed out");
                    return;
                }
            };
            let mut plain = match TcpStream::connect(api).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(event = "admin_https_upstream_failed", error = %e);
                    return;
                }
            };
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
        });
    }
}
