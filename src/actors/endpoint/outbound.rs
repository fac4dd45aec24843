//! Outbound stream connections (TCP, or TLS with our certificate as client
//! certificate), opened on first use and reused, with requests queued meanwhile.

use super::SipEndpoint;
use crate::actors::net;
use crate::sip::transaction::Transport;
use actix::prelude::*;
use std::net::SocketAddr;

impl SipEndpoint {
    /// Send on an outbound stream to `peer`, connecting first if needed.
    pub(super) fn send_outbound(
        &mut self,
        transport: Transport,
        peer: SocketAddr,
        bytes: Vec<u8>,
        ctx: &mut Context<Self>,
    ) {
        if let Some(id) = self.out_conns.get(&(transport, peer))
            && let Some(tx) = self.conns.get(id)
        {
            let _ = tx.send(bytes);
            return;
        }
        let queue = self.connecting.entry((transport, peer)).or_default();
        queue.push(bytes);
        if queue.len() > 1 {
            return; // a connect is already under way
        }
        let tls = match transport {
            Transport::Tls => {
                let name = self
                    .dir
                    .gateways
                    .iter()
                    .find(|g| g.resolved.contains(&peer.ip()) && g.port == peer.port())
                    .and_then(|g| g.fqdn.clone())
                    .unwrap_or_else(|| peer.ip().to_string());
                match (
                    self.tls_client.clone(),
                    rustls::pki_types::ServerName::try_from(name),
                ) {
                    (Some(c), Ok(n)) => Some((c, n)),
                    _ => {
                        self.connecting.remove(&(transport, peer));
                        return;
                    }
                }
            }
            _ => None,
        };
        actix_rt::spawn(net::connect(
            peer,
            transport,
            tls,
            net::Sink::of(&ctx.address()),
        ));
    }

    /// An outbound connection is up: remember it and flush what waited for it.
    pub(super) fn on_outbound_open(&mut self, id: u64, transport: Transport, peer: SocketAddr) {
        if let Some(queue) = self.connecting.remove(&(transport, peer)) {
            self.out_conns.insert((transport, peer), id);
            if let Some(tx) = self.conns.get(&id) {
                for b in queue {
                    let _ = tx.send(b);
                }
            }
        }
    }
}
