//! Socket read loops for SIP: one task for the UDP socket, one per TCP connection
//! (RFC 3261 §18.3 framing by Content-Length). They only move bytes; parsing and
//! everything after happen in the endpoint actor.

use super::endpoint::{ConnClosed, ConnOpened, Inbound, SipEndpoint};
use crate::sip::msg::{self, frame_stream};
use crate::sip::transaction::{Flow, Transport};
use actix::Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

pub async fn udp_loop(sock: Arc<UdpSocket>, ep: Addr<SipEndpoint>) {
    let mut buf = vec![0u8; 65536];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((n, peer)) => ep.do_send(Inbound {
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

pub async fn tcp_accept_loop(listener: TcpListener, ep: Addr<SipEndpoint>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
                let (mut rd, mut wr) = stream.into_split();
                let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
                ep.do_send(ConnOpened { id, tx, peer });
                actix_rt::spawn(async move {
                    while let Some(b) = rx.recv().await {
                        if wr.write_all(&b).await.is_err() {
                            break;
                        }
                    }
                });
                let ep = ep.clone();
                actix_rt::spawn(async move {
                    let flow = Flow {
                        transport: Transport::Tcp,
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
                                    ep.do_send(Inbound { bytes: frame, flow });
                                }
                                Ok(None) => break,
                                Err(e) => {
                                    // The stream cannot be re-synchronised: answer what
                                    // we can and close (§18.3).
                                    tracing::warn!(event = "sip_stream_unframeable", %peer, error = %e);
                                    metrics::counter!("openum_sip_malformed_total", "transport" => "tcp").increment(1);
                                    if let Some(r) = msg::bad_request(&buf, &e) {
                                        ep.do_send(super::endpoint::SendOnConn {
                                            conn: id,
                                            bytes: r.to_bytes(),
                                        });
                                    }
                                    break 'conn;
                                }
                            }
                        }
                    }
                    ep.do_send(ConnClosed { id });
                });
            }
            Err(e) => {
                tracing::error!(event = "tcp_accept_failed", error = %e);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}
