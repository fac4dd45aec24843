//! GatewayMonitor: the IP gateway monitor (Exchange's behaviour, seed 004). After
//! start and then every `options_interval`, each enabled gateway is sent a SIP
//! OPTIONS over its transport, through the endpoint. No answer within Timer F →
//! event 1088 and the gateway is marked unreachable; any answer → reachable again.
//! Status is visible through the admin API (`GET /api/gateways`) and
//! `openum gateway list`.

use super::endpoint::SipEndpoint;
use super::messages::{DirectoryChanged, RequestOutcome, SendRequest};
use crate::callctl::{host_port, options_request};
use crate::config::ServiceConfig;
use crate::directory::{Directory, GatewayState, GatewayTransport, IpGateway};
use crate::sip::transaction::{Flow, Transport};
use actix::prelude::*;
use rand::{SeedableRng, rngs::StdRng};
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

/// What the admin API shows for a gateway.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GatewayHealth {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub transport: GatewayTransport,
    pub status: GatewayState,
    pub outcalls_allowed: bool,
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

pub struct GatewayMonitor {
    cfg: Arc<ServiceConfig>,
    dir: Arc<Directory>,
    endpoint: Addr<SipEndpoint>,
    /// Our SIP ports (plain, TLS), for Via.
    ports: (u16, u16),
    udp: bool,
    tls: bool,
    health: HashMap<String, GatewayHealth>,
    /// Probes in flight: tag → gateway.
    probes: HashMap<u64, String>,
    next_tag: u64,
    rng: StdRng,
}

impl GatewayMonitor {
    pub fn new(
        cfg: Arc<ServiceConfig>,
        dir: Arc<Directory>,
        endpoint: Addr<SipEndpoint>,
        ports: (u16, u16),
        udp: bool,
        tls: bool,
    ) -> Self {
        let mut m = GatewayMonitor {
            cfg,
            dir,
            endpoint,
            ports,
            udp,
            tls,
            health: HashMap::new(),
            probes: HashMap::new(),
            next_tag: 1,
            rng: StdRng::from_entropy(),
        };
        m.refresh();
        m
    }

    /// Keep what was learnt of gateways that stay; describe the others afresh.
    fn refresh(&mut self) {
        let old = std::mem::take(&mut self.health);
        for g in &self.dir.gateways {
            let mut h = old.get(&g.name).cloned().unwrap_or(GatewayHealth {
                name: g.name.clone(),
                address: g.address.clone(),
                port: g.port,
                transport: g.transport,
                status: g.status,
                outcalls_allowed: g.outcalls_allowed,
                reachable: None,
                last_probe: None,
                last_answer: None,
                note: None,
            });
            h.address = g.address.clone();
            h.status = g.status;
            h.outcalls_allowed = g.outcalls_allowed;
            h.note = (!g.enabled()).then(|| "disabled".to_string());
            self.health.insert(g.name.clone(), h);
        }
    }

    fn flow(&self, g: &IpGateway) -> Result<Flow, String> {
        let ip = g
            .resolved
            .first()
            .ok_or_else(|| format!("{} has no address", g.name))?;
        let transport = match g.transport {
            GatewayTransport::Udp if self.udp => Transport::Udp,
            GatewayTransport::Udp => return Err("UDP is not enabled on this server".into()),
            GatewayTransport::Tcp => Transport::Tcp,
            GatewayTransport::Tls if self.tls => Transport::Tls,
            GatewayTransport::Tls => return Err("TLS is not running (startup mode TCP)".into()),
        };
        Ok(Flow {
            transport,
            peer: SocketAddr::new(*ip, g.port),
            conn: None,
        })
    }

    /// Send OPTIONS to every enabled gateway.
    fn probe(&mut self, ctx: &mut Context<Self>) {
        let dir = self.dir.clone();
        for g in dir.gateways.iter().filter(|g| g.enabled()) {
            let flow = match self.flow(g) {
                Ok(f) => f,
                Err(note) => {
                    if let Some(s) = self.health.get_mut(&g.name) {
                        s.note = Some(note);
                    }
                    continue;
                }
            };
            let port = match flow.transport {
                Transport::Tls => self.ports.1,
                _ => self.ports.0,
            };
            let host = g.fqdn.clone().unwrap_or_else(|| g.address.clone());
            let request = options_request(
                &self.cfg.fqdn,
                &host_port(self.cfg.address, port),
                flow.transport,
                &format!("{host}:{}", g.port),
                &mut self.rng,
            );
            let tag = self.next_tag;
            self.next_tag += 1;
            self.probes.insert(tag, g.name.clone());
            self.endpoint.do_send(SendRequest {
                request,
                flow,
                reply: Some((ctx.address().recipient(), tag)),
            });
            if let Some(s) = self.health.get_mut(&g.name) {
                s.last_probe = Some(rfc3339(SystemTime::now()));
                s.note = None;
            }
        }
    }
}

impl Actor for GatewayMonitor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // First probe right after start (sockets are up), then periodically.
        ctx.run_later(std::time::Duration::from_millis(200), |act, ctx| {
            act.probe(ctx)
        });
        ctx.run_interval(self.cfg.options_interval, |act, ctx| act.probe(ctx));
    }
}

impl Handler<RequestOutcome> for GatewayMonitor {
    type Result = ();
    fn handle(&mut self, m: RequestOutcome, _: &mut Context<Self>) {
        let Some(name) = self.probes.remove(&m.tag) else {
            return;
        };
        let Some(s) = self.health.get_mut(&name) else {
            return;
        };
        match m.response {
            Some(r) => {
                if s.reachable != Some(true) {
                    tracing::info!(event = "gateway_reachable", gateway = %name, status = r.status, "the IP gateway answers OPTIONS");
                }
                s.reachable = Some(true);
                s.last_answer = Some(rfc3339(SystemTime::now()));
            }
            None => {
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
        }
    }
}

impl Handler<DirectoryChanged> for GatewayMonitor {
    type Result = ();
    fn handle(&mut self, m: DirectoryChanged, _: &mut Context<Self>) {
        self.dir = m.0;
        self.refresh();
    }
}

/// Gateway status for the admin API.
#[derive(Message)]
#[rtype(result = "Vec<GatewayHealth>")]
pub struct GetGatewayStatus;

impl Handler<GetGatewayStatus> for GatewayMonitor {
    type Result = Vec<GatewayHealth>;
    fn handle(&mut self, _: GetGatewayStatus, _: &mut Context<Self>) -> Vec<GatewayHealth> {
        self.dir
            .gateways
            .iter()
            .filter_map(|g| self.health.get(&g.name).cloned())
            .collect()
    }
}
