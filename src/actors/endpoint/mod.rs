//! SipEndpoint: the SIP shell and nothing more. It owns the sockets (the UDP socket,
//! the stream connections, outbound connects) and the sans-IO [`TransactionLayer`]:
//! bytes in are parsed (400 or a counted drop when malformed), requests from peers
//! that are no IP gateway are refused statelessly (403), and what the transaction
//! layer passes up goes to call control (the `Supervisor`) as [`SipEvent`]s. Call
//! control answers with [`Respond`]; anyone may send a request with
//! [`SendRequest`] and get its outcome back.
//!
//! It knows neither the supervisor nor the call actors: they are `Recipient`s.

mod outbound;

use super::Wakeup;
use super::messages::{
    ConnClosed, ConnFailed, ConnOpened, DirectoryChanged, Inbound, RequestOutcome, Respond,
    SendOnConn, SendRequest, SipEvent,
};
use crate::callctl::SERVER;
use crate::directory::Directory;
use crate::sip::guard::{self, Guard, Verdict};
use crate::sip::msg::{self, Message, Method};
use crate::sip::token;
use crate::sip::transaction::{Event, Flow, TransactionLayer, Transport, TxId};
use actix::prelude::*;
use rand::{SeedableRng, rngs::StdRng};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedSender;

/// The SIP ports actually bound.
#[derive(Debug, Clone, Copy)]
pub struct SipPorts {
    pub plain: u16,
    pub tls: u16,
}

pub struct SipEndpoint {
    dir: Arc<Directory>,
    tl: TransactionLayer,
    udp: Option<Arc<UdpSocket>>,
    conns: HashMap<u64, UnboundedSender<Vec<u8>>>,
    /// Call control: where requests, ACKs and CANCELs go.
    control: Recipient<SipEvent>,
    /// Who waits for the outcome of which request we sent.
    replies: HashMap<TxId, (Recipient<RequestOutcome>, u64)>,
    rng: StdRng,
    timer: Wakeup,
    /// Outbound stream connections by (transport, peer), and requests waiting for
    /// one that is being opened.
    out_conns: HashMap<(Transport, SocketAddr), u64>,
    connecting: HashMap<(Transport, SocketAddr), Vec<Vec<u8>>>,
    tls_client: Option<tokio_rustls::TlsConnector>,
    /// Per-source rate limits and load shedding, before parsing.
    guard: Guard,
    /// When each new INVITE's datagram or message arrived, until its final
    /// answer: the INVITE→200 histogram. Bounded (a flood cannot grow it).
    invites: HashMap<TxId, Instant>,
    /// The arrival of the message being handled.
    received: Option<Instant>,
}

/// New INVITEs followed at once for the INVITE→200 histogram.
const INVITES_FOLLOWED: usize = 4096;

impl SipEndpoint {
    pub fn new(
        dir: Arc<Directory>,
        t1: Duration,
        udp: Option<Arc<UdpSocket>>,
        control: Recipient<SipEvent>,
    ) -> Self {
        SipEndpoint {
            dir,
            tl: TransactionLayer::with_t1(t1),
            udp,
            conns: HashMap::new(),
            control,
            replies: HashMap::new(),
            rng: StdRng::from_entropy(),
            timer: Wakeup::default(),
            out_conns: HashMap::new(),
            connecting: HashMap::new(),
            tls_client: None,
            guard: Guard::new(guard::GuardConfig::default()),
            invites: HashMap::new(),
            received: None,
        }
    }

    pub fn with_guard(mut self, cfg: guard::GuardConfig) -> Self {
        self.guard = Guard::new(cfg);
        self
    }

    /// Outbound TLS (probing gateways on 5061) with our certificate as client
    /// certificate.
    pub fn with_tls_client(mut self, c: tokio_rustls::TlsConnector) -> Self {
        self.tls_client = Some(c);
        self
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

    /// Drain the transaction layer: events, then bytes to send, then the timer.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        while let Some(ev) = self.tl.poll_event() {
            self.on_event(ev);
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

    fn on_event(&mut self, ev: Event) {
        match ev {
            // A stray or repeated ACK: nothing to do.
            Event::Request { tx: None, .. } => {}
            Event::Response { tx, response } => match self.replies.remove(&tx) {
                Some((to, tag)) => to.do_send(RequestOutcome {
                    tag,
                    response: Some(response),
                }),
                None => tracing::debug!(event = "response_unclaimed", tx = tx.0),
            },
            Event::Timeout { tx } => match self.replies.remove(&tx) {
                Some((to, tag)) => to.do_send(RequestOutcome {
                    tag,
                    response: None,
                }),
                None => tracing::warn!(
                    event = "request_timeout",
                    tx = tx.0,
                    "no answer to our request (Timer F)"
                ),
            },
            other => {
                if let (
                    Event::Request {
                        tx: Some(tx),
                        request,
                        ..
                    },
                    Some(at),
                ) = (&other, self.received)
                    && request.method == Method::Invite
                    && request.to_tag().is_none()
                    && self.invites.len() < INVITES_FOLLOWED
                {
                    self.invites.insert(*tx, at);
                }
                self.control.do_send(SipEvent(other))
            }
        }
    }
}

impl Actor for SipEndpoint {
    type Context = Context<Self>;
}

impl Handler<Inbound> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: Inbound, ctx: &mut Context<Self>) {
        crate::actors::net::inbound_handled();
        let now = Instant::now();
        let transport = m.flow.transport.via_name();
        let ip = m.flow.peer.ip();
        let trusted = self.dir.gateway_for(ip).is_some();
        let verdict = self
            .guard
            .check(now, ip, trusted, now.saturating_duration_since(m.received));
        match verdict {
            Verdict::Drop { newly_blocked } => {
                metrics::counter!("openum_sip_rate_limited_total").increment(1);
                if newly_blocked {
                    tracing::warn!(event = "source_blocked", peer = %ip, trusted, transport, seconds = guard::BLOCK.as_secs(), "over its message rate: dropped unparsed");
                }
                return;
            }
            Verdict::Pass | Verdict::Shed => {}
        }
        match msg::parse(&m.bytes) {
            Err(e) => {
                metrics::counter!("openum_sip_malformed_total", "transport" => transport)
                    .increment(1);
                let answer = msg::bad_request(&m.bytes, &e);
                tracing::warn!(event = "sip_malformed", peer = %m.flow.peer, transport, error = %e, answered = answer.is_some());
                match answer {
                    Some(mut r) => {
                        r.headers.push("Server", SERVER);
                        self.send(m.flow, r.to_bytes(), ctx);
                    }
                    // Nothing to answer to on a stream: close our side rather than
                    // leave the peer waiting (dropping the writer sends FIN).
                    None => {
                        if let Some(c) = m.flow.conn
                            && self.conns.remove(&c).is_some()
                        {
                            tracing::warn!(event = "sip_stream_closed", peer = %m.flow.peer, transport, reason = "unanswerable request");
                        }
                    }
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
                if verdict == Verdict::Shed && is_new_request(&req) {
                    // Behind: refuse new work statelessly, keep serving dialogs.
                    self.guard.note_shed();
                    metrics::counter!("openum_sip_shed_total").increment(1);
                    if self.guard.shed.is_power_of_two() {
                        tracing::warn!(
                            event = "load_shed",
                            method = req.method.as_str(),
                            shed_total = self.guard.shed,
                            "the SIP core is behind: 503"
                        );
                    }
                    let mut r = msg::response_to(&req, 503, Some(&token(&mut self.rng)));
                    r.reason = "Service Unavailable (overloaded)".into();
                    r.headers
                        .push("Retry-After", guard::RETRY_AFTER.to_string());
                    r.headers.push("Server", SERVER);
                    self.send(m.flow, r.to_bytes(), ctx);
                    return;
                }
                self.received = Some(m.received);
                self.tl.handle_request(now, req, m.flow);
            }
            Ok(Message::Response(r)) => self.tl.handle_response(now, r),
        }
        self.pump(ctx);
        self.received = None;
    }
}

impl Handler<Respond> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: Respond, ctx: &mut Context<Self>) {
        if m.response.status >= 200
            && let Some(at) = self.invites.remove(&m.tx)
            && m.response.status < 300
        {
            metrics::histogram!("openum_invite_answer_seconds").record(at.elapsed().as_secs_f64());
        }
        // False when the transaction already ended (a CANCEL's 487 went first).
        if !self.tl.respond(Instant::now(), m.tx, &m.response) {
            tracing::debug!(
                event = "response_dropped",
                tx = m.tx.0,
                status = m.response.status
            );
        }
        self.pump(ctx);
    }
}

impl Handler<SendRequest> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: SendRequest, ctx: &mut Context<Self>) {
        let tx = self.tl.send_request(Instant::now(), &m.request, m.flow);
        if let Some(r) = m.reply {
            self.replies.insert(tx, r);
        }
        self.pump(ctx);
    }
}

impl Handler<DirectoryChanged> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: DirectoryChanged, _: &mut Context<Self>) {
        self.dir = m.0;
    }
}

impl Handler<ConnOpened> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: ConnOpened, _: &mut Context<Self>) {
        tracing::debug!(event = "tcp_connected", peer = %m.peer, conn = m.id);
        self.conns.insert(m.id, m.tx);
        self.on_outbound_open(m.id, m.transport, m.peer);
    }
}

impl Handler<ConnClosed> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: ConnClosed, _: &mut Context<Self>) {
        self.conns.remove(&m.id);
        self.out_conns.retain(|_, id| *id != m.id);
    }
}

impl Handler<SendOnConn> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: SendOnConn, _: &mut Context<Self>) {
        if let Some(tx) = self.conns.get(&m.conn) {
            let _ = tx.send(m.bytes);
        }
    }
}

impl Handler<ConnFailed> for SipEndpoint {
    type Result = ();
    fn handle(&mut self, m: ConnFailed, _: &mut Context<Self>) {
        self.connecting.remove(&(m.transport, m.peer));
        tracing::warn!(event = "connect_failed", peer = %m.peer, transport = m.transport.via_name(), error = %m.error);
    }
}

/// A request that starts something (a call, a subscription, a probe) rather than
/// continuing a dialog: what shedding refuses.
fn is_new_request(req: &msg::Request) -> bool {
    let in_dialog = req
        .headers
        .get("To")
        .and_then(|t| msg::header_param(t, "tag"))
        .is_some();
    !in_dialog
        && matches!(
            req.method,
            Method::Invite | Method::Options | Method::Subscribe
        )
}
