//! Socket read loops for SIP: one task for the UDP socket, one per TCP or TLS
//! connection (RFC 3261 §18.3 framing by Content-Length). They move bytes only;
//! parsing and everything after happen in the endpoint actor.
//!
//! Slow or silent peers cannot hold a connection (the slow-loris defence of
//! RFC 5626-era servers): an inbound connection must bring its first message, and
//! any message once begun must be complete, within [`StreamLimits::message`]; a
//! connection with no bytes at all for [`StreamLimits::idle`] is closed; a TLS
//! handshake has [`TLS_HANDSHAKE`]. Each closing is `event="sip_conn_timeout"`.
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
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long a TLS handshake may take.
pub const TLS_HANDSHAKE: Duration = Duration::from_secs(10);

/// Time limits of a SIP connection (service `sip_message_timeout_secs`,
/// `sip_idle_timeout_secs`).
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    /// A message, once begun (and an inbound connection's first), must be whole
    /// within this.
    pub message: Duration,
    /// No bytes at all for this long: closed.
    pub idle: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            message: Duration::from_secs(30),
            idle: Duration::from_secs(900),
        }
    }
}

/// Where the loops deliver: the endpoint, as recipients (this module does not know
/// the endpoint's type, so the two never import each other).
#[derive(Clone)]
pub struct Sink {
    inbound: Recipient<Inbound>,
    opened: Recipient<ConnOpened>,
    closed: Recipient<ConnClosed>,
    send: Recipient<SendOnConn>,
    failed: Recipient<ConnFailed>,
    limits: StreamLimits,
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
            limits: StreamLimits::default(),
        }
    }

    pub fn with_limits(mut self, limits: StreamLimits) -> Sink {
        self.limits = limits;
        self
    }
}

/// Messages read from sockets and not yet handled by the endpoint. The actor's
/// mailbox is unbounded, so this count is the bound: past [`MAX_PENDING`] the
/// socket loops drop datagrams (UDP: the sender retransmits) and pause stream
/// reads, rather than let a flood grow memory without limit.
static PENDING: AtomicU64 = AtomicU64::new(0);
pub const MAX_PENDING: u64 = 20_000;

/// The endpoint took one inbound message off its queue.
pub fn inbound_handled() {
    PENDING.fetch_sub(1, Ordering::Relaxed);
}

fn deliver(ep: &Sink, m: Inbound) -> bool {
    if PENDING.load(Ordering::Relaxed) >= MAX_PENDING {
        metrics::counter!("openum_sip_queue_full_total").increment(1);
        return false;
    }
    PENDING.fetch_add(1, Ordering::Relaxed);
    ep.inbound.do_send(m);
    true
}

pub async fn udp_loop(sock: Arc<UdpSocket>, ep: Sink) {
    let mut buf = vec![0u8; 65536];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((n, peer)) => {
                deliver(
                    &ep,
                    Inbound {
                        bytes: buf[..n].to_vec(),
                        flow: Flow {
                            transport: Transport::Udp,
                            peer,
                            conn: None,
                        },
                        received: std::time::Instant::now(),
                    },
                );
            }
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

/// Which time limit ends a connection's wait for bytes now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// An inbound connection that has sent nothing yet.
    FirstMessage,
    /// Part of a message is buffered.
    RestOfMessage,
    /// Between messages.
    Idle,
}

impl Waiting {
    fn name(self) -> &'static str {
        match self {
            Waiting::FirstMessage => "no first message",
            Waiting::RestOfMessage => "message incomplete",
            Waiting::Idle => "idle",
        }
    }
}

/// Frame SIP messages off a byte stream and hand them to the endpoint; write what
/// the endpoint sends on this connection. `inbound`: the peer opened it (and must
/// speak first).
async fn serve_stream<S>(stream: S, peer: SocketAddr, transport: Transport, ep: Sink, inbound: bool)
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
    let limits = ep.limits;
    let opened = Instant::now();
    let mut last_bytes = opened;
    // When the message now buffered began (the partial-message clock).
    let mut message_began: Option<Instant> = None;
    let mut seen_message = !inbound;
    'conn: loop {
        let (waiting, deadline) = match message_began {
            Some(t) => (Waiting::RestOfMessage, t + limits.message),
            None if !seen_message => (Waiting::FirstMessage, opened + limits.message),
            None => (Waiting::Idle, last_bytes + limits.idle),
        };
        match tokio::time::timeout_at(deadline, rd.read(&mut chunk)).await {
            Err(_) => {
                metrics::counter!("openum_sip_conn_timeouts_total", "reason" => waiting.name())
                    .increment(1);
                tracing::warn!(event = "sip_conn_timeout", %peer, transport = transport.via_name(), reason = waiting.name(), buffered = buf.len());
                break;
            }
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => {
                last_bytes = Instant::now();
                buf.extend_from_slice(&chunk[..n]);
            }
        }
        let mut framed = false;
        loop {
            match frame_stream(&buf) {
                Ok(Some(len)) => {
                    let frame: Vec<u8> = buf.drain(..len).collect();
                    framed = true;
                    // A CRLF keep-alive (RFC 5626 §4.4.1) counts as speaking.
                    seen_message = true;
                    if frame.iter().all(|b| *b == b'\r' || *b == b'\n') {
                        continue;
                    }
                    let mut m = Inbound {
                        bytes: frame,
                        flow,
                        received: std::time::Instant::now(),
                    };
                    // A stream is not dropped from: wait for room (TCP then pushes
                    // back on the sender).
                    while PENDING.load(Ordering::Relaxed) >= MAX_PENDING {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        m.received = std::time::Instant::now();
                    }
                    deliver(&ep, m);
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
        // What is left is the start of the next message: its clock starts now if
        // a message was just framed, else it keeps running.
        let began = if framed { None } else { message_began };
        message_began = message_clock(&buf, began, last_bytes);
    }
    ep.closed.do_send(ConnClosed { id });
}

/// The partial-message clock: started when bytes of a message wait in `buf`,
/// stopped when it is empty.
fn message_clock(buf: &[u8], began: Option<Instant>, now: Instant) -> Option<Instant> {
    match (buf.is_empty(), began) {
        (true, _) => None,
        (false, Some(t)) => Some(t),
        (false, None) => Some(now),
    }
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
            Ok(s) => serve_stream(s, peer, Transport::Tls, ep, false).await,
            Err(e) => fail(format!("TLS: {e}")),
        },
        None => serve_stream(tcp, peer, Transport::Tcp, ep, false).await,
    }
}

pub async fn tcp_accept_loop(listener: TcpListener, ep: Sink) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                actix_rt::spawn(serve_stream(stream, peer, Transport::Tcp, ep.clone(), true));
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
            let handshake = tokio::time::timeout(TLS_HANDSHAKE, acceptor.accept(stream)).await;
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
                    serve_stream(tls, peer, Transport::Tls, ep, true).await;
                }
                None => untrusted(peer, "the certificate names no configured IP gateway FQDN"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_clock_runs_only_while_part_of_a_message_waits() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(message_clock(b"", Some(t0), t1), None);
        assert_eq!(message_clock(b"INV", None, t1), Some(t1));
        // Still the same message: the clock keeps its start (a slow sender cannot
        // reset it by trickling bytes).
        assert_eq!(message_clock(b"INVITE", Some(t0), t1), Some(t0));
    }
}
