//! The IP gateway monitor (Exchange's behaviour, seed 004): after start and then
//! every `options_interval`, each enabled gateway is sent a SIP OPTIONS over its
//! transport. No answer within Timer F → event 1088 and the gateway is marked
//! unreachable; any answer → reachable again. Status is visible through the admin
//! API (`GET /api/gateways`) and `openum gateway list`.
//!
//! Also here: outbound stream connections (TCP, TLS with our certificate as client
//! certificate), opened on first use and reused, with requests queued meanwhile.

use super::{SERVER, SipEndpoint};
use crate::actors::net;
use crate::directory::{GatewayTransport, IpGateway};
use crate::sip::msg::{Headers, Method, Request};
use crate::sip::token;
use crate::sip::transaction::{Flow, Transport, TxId};
use actix::prelude::*;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

/// What the admin API shows for a gateway.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayStatus {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub transport: GatewayTransport,
    /// None until the first probe finished.
    pub reachable: Option<bool>,
    pub last_probe: Option<String>,
    pub last_answer: Option<String>,
    /// Why it is not probed, when it is not (e.g. TLS without a TLS listener).
    pub note: Option<String>,
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl SipEndpoint {
    pub(super) fn gateway_flow(&self, g: &IpGateway) -> Result<Flow, String> {
        let ip = g
            .resolved
            .first()
            .ok_or_else(|| format!("{} has no address", g.name))?;
        let transport = match g.transport {
            GatewayTransport::Udp if self.udp.is_some() => Transport::Udp,
            GatewayTransport::Udp => return Err("UDP is not enabled on this server".into()),
            GatewayTransport::Tcp => Transport::Tcp,
            GatewayTransport::Tls if self.tls_client.is_some() => Transport::Tls,
            GatewayTransport::Tls => return Err("TLS is not running (startup mode TCP)".into()),
        };
        Ok(Flow {
            transport,
            peer: SocketAddr::new(*ip, g.port),
            conn: None,
        })
    }

    /// Send OPTIONS to every enabled gateway.
    pub(super) fn probe_gateways(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let gateways: Vec<IpGateway> = self
            .dir
            .gateways
            .iter()
            .filter(|g| g.enabled)
            .cloned()
            .collect();
        for g in gateways {
            let flow = match self.gateway_flow(&g) {
                Ok(f) => f,
                Err(note) => {
                    if let Some(s) = self.gateway_status.get_mut(&g.name) {
                        s.note = Some(note);
                    }
                    continue;
                }
            };
            let host = g.fqdn.clone().unwrap_or_else(|| g.address.clone());
            let mut h = Headers::new();
            let branch = format!("z9hG4bK{}", token(&mut self.rng));
            h.push(
                "Via",
                format!(
                    "SIP/2.0/{} {};branch={branch};rport",
                    flow.transport.via_name(),
                    self.via_host(flow.transport)
                ),
            );
            h.push("Max-Forwards", "70");
            h.push(
                "From",
                format!(
                    "<sip:openum@{}>;tag={}",
                    self.cfg.fqdn,
                    token(&mut self.rng)
                ),
            );
            h.push("To", format!("<sip:{host}:{}>", g.port));
            h.push(
                "Call-ID",
                format!("{}@{}", token(&mut self.rng), self.cfg.fqdn),
            );
            h.push("CSeq", "1 OPTIONS");
            h.push("Accept", "application/sdp");
            h.push("User-Agent", SERVER);
            let req = Request {
                method: Method::Options,
                uri: format!("sip:{host}:{}", g.port),
                headers: h,
                body: Vec::new(),
            };
            let tx = self.tl.send_request(now, &req, flow);
            self.probes.insert(tx, g.name.clone());
            if let Some(s) = self.gateway_status.get_mut(&g.name) {
                s.last_probe = Some(rfc3339(SystemTime::now()));
                s.note = None;
            }
        }
        self.pump(ctx);
    }

    /// A response to one of our requests: if it was a probe, the gateway answered.
    pub(super) fn on_probe_answer(&mut self, tx: TxId, status: u16) {
        let Some(name) = self.probes.remove(&tx) else {
            return;
        };
        let Some(s) = self.gateway_status.get_mut(&name) else {
            return;
        };
        if s.reachable != Some(true) {
            tracing::info!(event = "gateway_reachable", gateway = %name, status, "the IP gateway answers OPTIONS");
        }
        s.reachable = Some(true);
        s.last_answer = Some(rfc3339(SystemTime::now()));
    }

    /// One of our requests got no answer (Timer F).
    pub(super) fn on_probe_timeout(&mut self, tx: TxId) -> bool {
        let Some(name) = self.probes.remove(&tx) else {
            return false;
        };
        if let Some(s) = self.gateway_status.get_mut(&name) {
            if s.reachable != Some(false) {
                metrics::counter!("openum_gateway_unreachable_total").increment(1);
                tracing::warn!(
                    event = "gateway_unreachable",
                    event_id = 1088,
                    gateway = %name,
                    address = %s.address,
                    port = s.port,
                    "the IP gateway did not answer the SIP OPTIONS request"
                );
            }
            s.reachable = Some(false);
        }
        true
    }

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
        let ep = ctx.address();
        actix_rt::spawn(net::connect(peer, transport, tls, ep));
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

/// Gateway status for the admin API.
#[derive(Message)]
#[rtype(result = "Vec<GatewayStatus>")]
pub struct GetGatewayStatus;

impl Handler<GetGatewayStatus> for SipEndpoint {
    type Result = Vec<GatewayStatus>;
    fn handle(&mut self, _: GetGatewayStatus, _: &mut Context<Self>) -> Vec<GatewayStatus> {
        self.dir
            .gateways
            .iter()
            .filter_map(|g| self.gateway_status.get(&g.name).cloned())
            .collect()
    }
}

/// An outbound connection attempt failed; what waited for it is dropped (its
/// transactions time out and say so).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ConnFailed {
    pub transport: Transport,
    pub peer: SocketAddr,
    pub error: String,
}

impl Handler<ConnFailed> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: ConnFailed, _: &mut Context<Self>) {
        self.connecting.remove(&(m.transport, m.peer));
        tracing::warn!(event = "connect_failed", peer = %m.peer, transport = m.transport.via_name(), error = %m.error);
    }
}

pub(super) fn initial_status(g: &IpGateway) -> GatewayStatus {
    GatewayStatus {
        name: g.name.clone(),
        address: g.address.clone(),
        port: g.port,
        transport: g.transport,
        reachable: None,
        last_probe: None,
        last_answer: None,
        note: (!g.enabled).then(|| "disabled".to_string()),
    }
}
