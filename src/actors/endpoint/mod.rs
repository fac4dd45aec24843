//! SipEndpoint: the SIP shell. Feeds datagrams and stream frames to the sans-IO
//! [`TransactionLayer`], answers requests, keeps the dialog table, and plays the
//! hunt-group supervisor role: trusted-peer check, routing (hunt group → dial plan →
//! mailbox), VoIP-security check, admission against MaxCallsAllowed, and starting
//! each call on the least-loaded worker arbiter.
//!
//! Refusals, each one structured log event (`event = "call_rejected"`) and one
//! counter: 403 untrusted peer / incompatible security, 404 unknown number, 480
//! feature not yet available, 488 no usable SDP, 503 over MaxCallsAllowed or
//! shutting down (with Retry-After). Unparseable UDP datagrams are dropped and
//! counted; addressable malformed requests get 400.

use super::Wakeup;
use super::call::{CallActor, CallInfo, LocalHangup, RemoteHangup};
use super::store::StoreActor;
use crate::config::ServiceConfig;
use crate::directory::Directory;
use crate::ivr::deposit::DepositParams;
use crate::ivr::prompts::PromptLibrary;
use crate::sdp;
use crate::sip::dialog::Dialog;
use crate::sip::msg::{self, Message, Method, Request, Response};
use crate::sip::token;
use crate::sip::transaction::{Event, Flow, TransactionLayer, Transport, TxId};
use actix::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedSender;

const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO";
const SERVER: &str = concat!("openum/", env!("CARGO_PKG_VERSION"));
/// How long an orderly shutdown waits for calls to commit before stopping anyway.
const DRAIN_LIMIT: Duration = Duration::from_secs(15);

/// Hands out RTP ports from the configured range, even numbers only (RTCP would take
/// the odd one above, RFC 3550 §11), skipping ports another process holds.
pub struct PortAllocator {
    bind: IpAddr,
    lo: u16,
    hi: u16,
    next: u16,
}

impl PortAllocator {
    pub fn new(bind: IpAddr, (lo, hi): (u16, u16)) -> Self {
        let lo = lo + lo % 2;
        // Start at a random even port so restarted or parallel servers spread out.
        let span = ((hi - lo) / 2).max(1);
        let next = lo + 2 * rand::thread_rng().gen_range(0..span);
        PortAllocator { bind, lo, hi, next }
    }

    pub fn bind(&mut self) -> Option<std::net::UdpSocket> {
        let span = (self.hi - self.lo) / 2 + 1;
        for _ in 0..span {
            let port = self.next;
            self.next = if self.next + 2 > self.hi {
                self.lo
            } else {
                self.next + 2
            };
            if let Ok(s) = std::net::UdpSocket::bind(SocketAddr::new(self.bind, port))
                && s.set_nonblocking(true).is_ok()
            {
                return Some(s);
            }
        }
        None
    }
}

mod invite;
mod monitor;
pub use monitor::{ConnFailed, GatewayStatus, GetGatewayStatus};

/// The SIP ports actually bound.
#[derive(Debug, Clone, Copy)]
pub struct SipPorts {
    pub plain: u16,
    pub tls: u16,
}
pub use invite::diverted_numbers;

/// A call waiting for its SDP answer in the ACK (delayed offer).
struct PendingCall {
    info: CallInfo,
    deposit: DepositParams,
    socket: std::net::UdpSocket,
}

enum CallState {
    Running(Addr<CallActor>),
    AwaitingAnswer(Box<PendingCall>),
    /// Transient, while moving from AwaitingAnswer to Running.
    Starting,
}

struct CallEntry {
    dialog: Dialog,
    state: CallState,
    invite_tx: Option<TxId>,
    session_id: u64,
    sdp_version: u64,
    local_media: SocketAddr,
    /// None until the offer/answer completed (delayed offer: at the ACK).
    negotiated: Option<sdp::Negotiated>,
    /// Our SRTP key material for the whole call (Secured dial plans).
    srtp_key: Option<[u8; sdp::MAX_MASTER_LEN]>,
    bye_sent: bool,
}

impl CallEntry {
    fn actor(&self) -> Option<&Addr<CallActor>> {
        match &self.state {
            CallState::Running(a) => Some(a),
            _ => None,
        }
    }
}

pub struct SipEndpoint {
    cfg: Arc<ServiceConfig>,
    dir: Arc<Directory>,
    tl: TransactionLayer,
    udp: Option<Arc<UdpSocket>>,
    /// Actual SIP ports (the config may say 0 = any): plain (UDP/TCP) and TLS.
    ports_in_use: SipPorts,
    conns: HashMap<u64, UnboundedSender<Vec<u8>>>,
    calls: HashMap<String, CallEntry>,
    workers: Vec<(ArbiterHandle, usize)>,
    store: Addr<StoreActor>,
    prompts: Arc<PromptLibrary>,
    ports: PortAllocator,
    rng: StdRng,
    timer: Wakeup,
    draining: bool,
    /// OPTIONS probes in flight, by transaction, to their gateway.
    probes: HashMap<TxId, String>,
    gateway_status: HashMap<String, GatewayStatus>,
    /// Outbound stream connections by (transport, peer), and requests waiting for
    /// one that is being opened.
    out_conns: HashMap<(Transport, SocketAddr), u64>,
    connecting: HashMap<(Transport, SocketAddr), Vec<Vec<u8>>>,
    tls_client: Option<tokio_rustls::TlsConnector>,
}

impl SipEndpoint {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: Arc<ServiceConfig>,
        dir: Arc<Directory>,
        udp: Option<Arc<UdpSocket>>,
        ports_in_use: SipPorts,
        workers: Vec<ArbiterHandle>,
        store: Addr<StoreActor>,
        prompts: Arc<PromptLibrary>,
    ) -> Self {
        let ports = PortAllocator::new(
            if cfg.sip_bind.is_unspecified() {
                cfg.sip_bind
            } else {
                cfg.address
            },
            cfg.rtp_ports,
        );
        let t1 = cfg.sip_t1;
        let gateways = dir.gateways.clone();
        SipEndpoint {
            cfg,
            dir,
            tl: TransactionLayer::with_t1(t1),
            udp,
            ports_in_use,
            conns: HashMap::new(),
            calls: HashMap::new(),
            workers: workers.into_iter().map(|w| (w, 0)).collect(),
            store,
            prompts,
            ports,
            rng: StdRng::from_entropy(),
            timer: Wakeup::default(),
            draining: false,
            probes: HashMap::new(),
            gateway_status: gateways
                .iter()
                .map(|g| (g.name.clone(), monitor::initial_status(g)))
                .collect(),
            out_conns: HashMap::new(),
            connecting: HashMap::new(),
            tls_client: None,
        }
    }

    /// Outbound TLS (probing gateways on 5061) with our certificate as client
    /// certificate.
    pub fn with_tls_client(mut self, c: tokio_rustls::TlsConnector) -> Self {
        self.tls_client = Some(c);
        self
    }

    /// Our host:port as peers on `transport` reach it (Via, Contact).
    fn via_host(&self, transport: Transport) -> String {
        let port = match transport {
            Transport::Tls => self.ports_in_use.tls,
            _ => self.ports_in_use.plain,
        };
        format!("{}:{port}", self.cfg.address)
    }

    fn send(&mut self, flow: Flow, bytes: Vec<u8>, ctx: &mut Context<Self>) {
        match flow.transport {
            Transport::Udp => {
                if let Some(u) = &self.udp
                    && let Err(e) = u.try_send_to(&bytes, flow.peer)
                {
                    tracing::warn!(event = "sip_send_failed", peer = %flow.peer, error = %e);
                }
            }
            Transport::Tcp | Transport::Tls => match flow.conn {
                Some(c) => match self.conns.get(&c) {
                    Some(tx) => {
                        let _ = tx.send(bytes);
                    }
                    None => {
                        tracing::warn!(event = "sip_send_failed", peer = %flow.peer, error = "connection closed")
                    }
                },
                // A request of ours (probe, BYE on a new connection): connect.
                None => self.send_outbound(flow.transport, flow.peer, bytes, ctx),
            },
        }
    }

    /// Send BYE in a call's dialog, once. False when the call is unknown or its BYE
    /// went already.
    fn send_bye(&mut self, now: Instant, call_id: &str) -> bool {
        let branch = format!("z9hG4bK{}", token(&mut self.rng));
        let Some(via) = self
            .calls
            .get(call_id)
            .map(|c| self.via_host(c.dialog.flow.transport))
        else {
            return false;
        };
        let Some(c) = self.calls.get_mut(call_id).filter(|c| !c.bye_sent) else {
            return false;
        };
        c.bye_sent = true;
        let mut bye = c.dialog.request(Method::Bye, &via, &branch);
        bye.headers.push("User-Agent", SERVER);
        let flow = c.dialog.flow;
        self.tl.send_request(now, &bye, flow);
        true
    }

    /// Drain the transaction layer: events, then bytes to send, then the timer.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        while let Some(ev) = self.tl.poll_event() {
            self.on_event(now, ev, ctx);
        }
        while let Some(t) = self.tl.poll_transmit() {
            self.send(t.flow, t.bytes, ctx);
        }
        let next = self.tl.poll_timeout();
        self.timer.arm(ctx, now, next, |act, ctx| {
            act.timer.fired();
            act.tl.handle_timeout(Instant::now());
            act.pump(ctx);
        });
    }

    fn respond(&mut self, now: Instant, tx: TxId, mut r: Response) {
        r.headers.push("Server", SERVER);
        self.tl.respond(now, tx, &r);
    }

    /// Answer with an error and log the refusal as one structured event.
    fn reject(&mut self, now: Instant, tx: TxId, req: &Request, status: u16, why: &str) {
        let mut r = msg::response_to(req, status, Some(&token(&mut self.rng)));
        match status {
            503 => r.headers.push("Retry-After", "5"),
            405 => r.headers.push("Allow", ALLOW),
            _ => {}
        }
        if status == 403 || status == 480 || status == 488 {
            r.headers.push(
                "Warning",
                format!("399 {} \"{}\"", self.cfg.fqdn, why.replace('"', "'")),
            );
        }
        metrics::counter!("openum_calls_rejected_total", "status" => status.to_string())
            .increment(1);
        tracing::warn!(
            event = "call_rejected",
            status,
            reason = why,
            method = req.method.as_str(),
            call_id = req.call_id(),
            uri = %req.uri,
        );
        self.respond(now, tx, r);
    }

    fn on_event(&mut self, now: Instant, ev: Event, ctx: &mut Context<Self>) {
        match ev {
            Event::Request {
                tx: Some(tx),
                request,
                flow,
            } => self.on_request(now, tx, request, flow, ctx),
            Event::Request { tx: None, .. } => {} // stray or repeated ACK
            Event::Cancelled { invite_tx } => {
                // INVITEs get their final answer in the turn they arrive, so a
                // CANCEL can only race with a call that has already been answered
                // (the caller then sends BYE). Logged for the record.
                tracing::info!(event = "call_cancelled", tx = invite_tx.0);
            }
            Event::Acked { call_id, body, .. } => self.on_acked(now, &call_id, &body, ctx),
            Event::AckTimeout { call_id, .. } => {
                tracing::warn!(event = "ack_timeout", call_id = %call_id, "no ACK for our 200 within 64*T1; ending the call");
                match self.calls.get(&call_id).map(|c| c.actor().cloned()) {
                    Some(Some(a)) => a.do_send(LocalHangup),
                    Some(None) => self.hang_up_pending(now, &call_id),
                    None => {}
                }
            }
            Event::Response { tx, response } => self.on_probe_answer(tx, response.status),
            Event::Timeout { tx } => {
                if !self.on_probe_timeout(tx) {
                    tracing::warn!(
                        event = "request_timeout",
                        tx = tx.0,
                        "no answer to our request (Timer F)"
                    );
                }
            }
        }
    }

    fn on_request(
        &mut self,
        now: Instant,
        tx: TxId,
        req: Request,
        flow: Flow,
        ctx: &mut Context<Self>,
    ) {
        match req.method {
            Method::Invite if req.to_tag().is_some() => self.on_reinvite(now, tx, req),
            Method::Invite => self.on_invite(now, tx, req, flow, ctx),
            Method::Bye => {
                let call = self
                    .calls
                    .get(req.call_id())
                    .filter(|c| c.dialog.matches(&req));
                match call.map(|c| c.actor().cloned()) {
                    Some(actor) => {
                        let r = msg::response_to(&req, 200, None);
                        self.respond(now, tx, r);
                        match actor {
                            Some(a) => a.do_send(RemoteHangup),
                            None => {
                                // Hung up before the delayed-offer ACK: nothing started.
                                if let Some(c) = self.calls.get_mut(req.call_id()) {
                                    c.bye_sent = true;
                                }
                                self.hang_up_pending(now, req.call_id());
                            }
                        }
                    }
                    None => self.reject(now, tx, &req, 481, "no such dialog"),
                }
            }
            Method::Options => {
                let mut r = msg::response_to(&req, 200, Some(&token(&mut self.rng)));
                r.headers.push("Allow", ALLOW);
                r.headers.push("Accept", "application/sdp");
                r.headers.push("Supported", "");
                self.respond(now, tx, r);
            }
            Method::Info | Method::Update | Method::Notify if req.to_tag().is_some() => {
                let ok = self
                    .calls
                    .get(req.call_id())
                    .is_some_and(|c| c.dialog.matches(&req));
                if ok {
                    let r = msg::response_to(&req, 200, None);
                    self.respond(now, tx, r);
                } else {
                    self.reject(now, tx, &req, 481, "no such dialog");
                }
            }
            Method::Other(_) => self.reject(now, tx, &req, 501, "method not implemented"),
            _ => self.reject(now, tx, &req, 405, "method not allowed here"),
        }
    }
}

impl Actor for SipEndpoint {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // First probe right after start (sockets are up), then periodically.
        ctx.run_later(std::time::Duration::from_millis(200), |act, ctx| {
            act.probe_gateways(ctx)
        });
        ctx.run_interval(self.cfg.options_interval, |act, ctx| {
            act.probe_gateways(ctx)
        });
    }
}

/// Bytes from the network.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Inbound {
    pub bytes: Vec<u8>,
    pub flow: Flow,
}

impl Handler<Inbound> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: Inbound, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let transport = m.flow.transport.via_name();
        match msg::parse(&m.bytes) {
            Err(e) => {
                metrics::counter!("openum_sip_malformed_total", "transport" => transport)
                    .increment(1);
                let answer = msg::bad_request(&m.bytes, &e);
                tracing::warn!(event = "sip_malformed", peer = %m.flow.peer, transport, error = %e, answered = answer.is_some());
                if let Some(mut r) = answer {
                    r.headers.push("Server", SERVER);
                    self.send(m.flow, r.to_bytes(), ctx);
                }
            }
            Ok(Message::Request(req)) => {
                if self.dir.gateway_for(m.flow.peer.ip()).is_none() {
                    // Untrusted peer: refused statelessly, also on UDP (a 403 tells a
                    // misconfigured PBX what is wrong; it costs one datagram).
                    metrics::counter!("openum_untrusted_requests_total").increment(1);
                    tracing::warn!(event = "untrusted_peer", peer = %m.flow.peer, transport, method = req.method.as_str(), call_id = req.call_id());
                    if req.method != Method::Ack {
                        let mut r = msg::response_to(&req, 403, Some(&token(&mut self.rng)));
                        r.reason = "Forbidden (not a configured IP gateway)".into();
                        r.headers.push("Server", SERVER);
                        self.send(m.flow, r.to_bytes(), ctx);
                    }
                    return;
                }
                self.tl.handle_request(now, req, m.flow);
            }
            Ok(Message::Response(r)) => self.tl.handle_response(now, r),
        }
        self.pump(ctx);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct ConnOpened {
    pub id: u64,
    pub tx: UnboundedSender<Vec<u8>>,
    pub peer: SocketAddr,
    pub transport: Transport,
}

impl Handler<ConnOpened> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: ConnOpened, _: &mut Context<Self>) {
        tracing::debug!(event = "tcp_connected", peer = %m.peer, conn = m.id);
        self.conns.insert(m.id, m.tx);
        self.on_outbound_open(m.id, m.transport, m.peer);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct ConnClosed {
    pub id: u64,
}

impl Handler<ConnClosed> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: ConnClosed, _: &mut Context<Self>) {
        self.conns.remove(&m.id);
        self.out_conns.retain(|_, id| *id != m.id);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct SendOnConn {
    pub conn: u64,
    pub bytes: Vec<u8>,
}

impl Handler<SendOnConn> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: SendOnConn, _: &mut Context<Self>) {
        if let Some(tx) = self.conns.get(&m.conn) {
            let _ = tx.send(m.bytes);
        }
    }
}

/// A call wants to hang up: send BYE in its dialog.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CallHangup {
    pub call_id: String,
}

impl Handler<CallHangup> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: CallHangup, ctx: &mut Context<Self>) {
        if self.send_bye(Instant::now(), &m.call_id) {
            tracing::info!(event = "call_hangup_sent", call_id = %m.call_id);
            self.pump(ctx);
        }
    }
}

/// A call actor stopped.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CallFinished {
    pub call_id: String,
    pub worker: usize,
}

impl Handler<CallFinished> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: CallFinished, ctx: &mut Context<Self>) {
        if self.calls.remove(&m.call_id).is_some()
            && let Some(w) = self.workers.get_mut(m.worker)
        {
            w.1 = w.1.saturating_sub(1);
        }
        metrics::gauge!("openum_calls_active").set(self.calls.len() as f64);
        if self.draining && self.calls.is_empty() {
            stop_soon(ctx);
        }
    }
}

/// Let the last BYEs leave the socket, then stop the process.
fn stop_soon(ctx: &mut Context<SipEndpoint>) {
    ctx.run_later(Duration::from_millis(200), |_, _| System::current().stop());
}

/// Orderly shutdown (SIGINT/SIGTERM): refuse new calls, let calls in progress commit
/// what they recorded and hang up, then stop.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

impl Handler<Shutdown> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        if self.draining {
            return;
        }
        self.draining = true;
        tracing::info!(event = "shutdown_started", calls = self.calls.len());
        let now = Instant::now();
        let pending: Vec<String> = self
            .calls
            .iter()
            .filter_map(|(id, c)| match c.actor() {
                Some(a) => {
                    a.do_send(LocalHangup);
                    None
                }
                None => Some(id.clone()),
            })
            .collect();
        for id in pending {
            self.hang_up_pending(now, &id);
        }
        self.pump(ctx);
        if self.calls.is_empty() {
            stop_soon(ctx);
        }
        ctx.run_later(DRAIN_LIMIT, |act, _| {
            tracing::warn!(event = "shutdown_forced", calls = act.calls.len());
            System::current().stop();
        });
    }
}

/// How many calls are up (admin API / status).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ActiveCalls;

impl Handler<ActiveCalls> for SipEndpoint {
    type Result = usize;
    fn handle(&mut self, _: ActiveCalls, _: &mut Context<Self>) -> usize {
        self.calls.len()
    }
}
