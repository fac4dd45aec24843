//! Socket read loops for SIP: one task for the UDP socket, one per TCP or TLS
//! connection (RFC 3261 §18.3 framing by Content-Length). They move bytes only;
//! parsing and everything after happen in the endpoint actor.
//!
//! TLS connections (RFC 3261 §26.3.1, mutual TLS): rustls has verified that the
//! client certificate chains to a trust anchor during the handshake; here we also
//! require it to name a configured IP gateway FQDN. Either failure is logged as
//! `event="untrusted_certificate"` and the connection is closed.

use super::messages::{ConnClosed, ConnFailed, ConnOpened, Inbound, SendOnConn};
use crate::sip::msg::{self, frame_stream};
use crate::sip::transaction::{Flow, Transport};
use actix::{Actor, Addr, Handler, Recipient};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

/// Where the loops deliver: the endpoint, as recipients (this module does not know
/// the endpoint's type, so the two never import each other).
#[derive(Clone)]
pub struct Sink {
    inbound: Recipient<Inbound>,
    opened: Recipient<ConnOpened>,
    closed: Recipient<ConnClosed>,
    send: Recipient<SendOnConn>,
    failed: Recipient<ConnFailed>,
}

impl Sink {
    pub fn of<A>(a: &Addr<A>) -> Sink
    where
        A: Actor<Context = actix::Context<A>>
            + Handler<Inbound>
            + Handler<ConnOpened>
            + Handler<ConnClosed>
            + Handler<SendOnConn>
            + Handler<ConnFailed>,
    {
        Sink {
            inbound: a.clone().recipient(),
            opened: a.clone().recipient(),
            closed: a.clone().recipient(),
            send: a.clone().recipient(),
            failed: a.clone().recipient(),
        }
    }
}

pub async fn udp_loop(sock: Arc<UdpSocket>, ep: Sink) {
    let mut buf = vec![0u8; 65536];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((n, peer)) => ep.inbound.do_send(Inbound {
                bytes: buf[..n].to_vec(),
                flow: Flow {
                    transport: Transport::Udp,
                    peer,
                    conn: None,
                },
            }),
            // ICMP port unreachable from an earlier send shows up here on Linux.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
            Err(e) => {
                tracing::error!(event = "udp_recv_failed", error = %e);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Frame SIP messages off a byte stream and hand them to the endpoint; write what
/// the endpoint sends on this connection.
async fn serve_stream<S>(stream: S, peer: SocketAddr, transport: Transport, ep: Sink)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    ep.opened.do_send(ConnOpened {
        id,
        tx,
        peer,
        transport,
    });
    actix_rt::spawn(async move {
        while let Some(b) = rx.recv().await {
            if wr.write_all(&b).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    let flow = Flow {
        transport,
        peer,
        conn: Some(id),
    };
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 16384];
    'conn: loop {
        match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        loop {
            match frame_stream(&buf) {
                Ok(Some(len)) => {
                    let frame: Vec<u8> = buf.drain(..len).collect();
                    if frame.iter().all(|b| *b == b'\r' || *b == b'\n') {
                        continue; // keep-alive
                    }
                    ep.inbound.do_send(Inbound { bytes: frame, flow });
                }
                Ok(None) => break,
                Err(e) => {
                    // The stream cannot be re-synchronised: answer what we can, close.
                    tracing::warn!(event = "sip_stream_unframeable", %peer, transport = transport.via_name(), error = %e);
                    metrics::counter!("openum_sip_malformed_total", "transport" => transport.via_name()).increment(1);
                    if let Some(r) = msg::bad_request(&buf, &e) {
                        ep.send.do_send(SendOnConn {
                            conn: id,
                            bytes: r.to_bytes(),
                        });
                    }
                    break 'conn;
                }
            }
        }
    }
    ep.closed.do_send(ConnClosed { id });
}

/// Open an outbound connection (our requests to a gateway) and serve it like an
/// inbound one. TLS presents our certificate and verifies the gateway's against the
/// trust anchors and its FQDN.
pub async fn connect(
    peer: SocketAddr,
    transport: Transport,
    tls: Option<(
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    )>,
    ep: Sink,
) {
    let fail = |error: String| {
        ep.failed.do_send(ConnFailed {
            transport,
            peer,
            error,
        })
    };
    let tcp = match tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::net::TcpStream::connect(peer),
    )
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return fail(e.to_string()),
        Err(_) => return fail("connect timed out".into()),
    };
    let _ = tcp.set_nodelay(true);
    match tls {
        Some((connector, name)) => match connector.connect(name, tcp).await {
            Ok(s) => serve_stream(s, peer, Transport::Tls, ep).await,
            Err(e) => fail(format!("TLS: {e}")),
        },
        None => serve_stream(tcp, peer, Transport::Tcp, ep).await,
    }
}

pub async fn tcp_accept_loop(listener: TcpListener, ep: Sink) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                actix_rt::spawn(serve_stream(stream, peer, Transport::Tcp, ep.clone()));
            }
            Err(e) => {
                tracing::error!(event = "tcp_accept_failed", error = %e);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

fn untrusted(peer: SocketAddr, reason: &str) {
    metrics::counter!("openum_untrusted_certificates_total").increment(1);
    tracing::warn!(event = "untrusted_certificate", %peer, reason);
}

pub async fn tls_accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    gateway_fqdns: Arc<Vec<String>>,
    ep: Sink,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(event = "tcp_accept_failed", error = %e);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (acceptor, fqdns, ep) = (acceptor.clone(), gateway_fqdns.clone(), ep.clone());
        actix_rt::spawn(async move {
            let handshake =
                tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(stream))
                    .await;
            let tls = match handshake {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => return untrusted(peer, &format!("TLS handshake refused: {e}")),
                Err(_) => return untrusted(peer, "TLS handshake timed out"),
            };
            let certs = tls
                .get_ref()
                .1
                .peer_certificates()
                .unwrap_or_default()
                .to_vec();
            match crate::tls::gateway_name(&certs, &fqdns) {
                Some(name) => {
                    tracing::debug!(event = "tls_connected", %peer, gateway_fqdn = %name);
                    serve_stream(tls, peer, Transport::Tls, ep).await;
                }
                None => untrusted(peer, "the certificate names no configured IP gateway FQDN"),
            }
        });
    }
}
