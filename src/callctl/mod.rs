//! The call-control core, sans-IO: what happens to each SIP request that is not
//! transaction business. A new INVITE is decided (see `invite.rs` for the order of checks): refused (status,
//! reason, Warning, Retry-After), redirected (302 to a mailbox-role node, router
//! role), or admitted (route, dial plan, media security, codec) and, once the shell
//! has bound an RTP socket, answered. The core then owns the dialog table and each
//! call's lifecycle: early and delayed offer (RFC 3261 §13.2.1), re-INVITE (§14)
//! and UPDATE (RFC 3311) with session timers (RFC 4028; `session.rs`, `timer.rs`),
//! BYE either way (§15), CANCEL races (§9.2), ACK timeouts (§13.3.1.4), calls that
//! end or whose actor dies, MaxCallsAllowed and the per-gateway and per-dial-plan
//! limits, and draining.
//!
//! Loop contract (as `sip::transaction`): call a `handle_*`, then drain
//! [`CallControl::poll_output`] until `None`. Time is an argument; nothing here does
//! IO or reads the clock. The `Supervisor` actor is the shell.
//!
//! Depends on `directory`, `sip` (messages, dialogs, transaction ids), `sdp`, `ivr`
//! (deposit parameters) and `config` (roles, mailbox nodes).

mod body;
mod invite;
pub mod nodes;
mod session;
pub mod timer;
mod transfer;

pub use invite::{Admission, diverted_parties};
pub use transfer::sipfrag_status;

use crate::config::{MailboxNode, Role};
use crate::directory::{Directory, Route};
use crate::ivr::deposit::DepositParams;
use crate::media::codec::{AudioCodec, CodecOrder};
use crate::sdp;
use crate::sip::dialog::Dialog;
use crate::sip::msg::{self, Method, Request, Response};
use crate::sip::token;
use crate::sip::transaction::{Flow, Transport, TxId};
use nodes::NodeSet;
use rand::{SeedableRng, rngs::StdRng};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, NOTIFY, SUBSCRIBE, UPDATE";
/// The option tags we support (Supported; a Require of them is accepted).
pub const SUPPORTED: [&str; 1] = ["timer"];
pub const SERVER: &str = concat!("openum/", env!("CARGO_PKG_VERSION"));
/// Seconds a refused caller is asked to wait (503 Retry-After).
pub const RETRY_AFTER: u32 = 5;
/// The header a mailbox-role node reports its load in (OPTIONS answers), read by
/// routers: `active/max`.
pub const LOAD_HEADER: &str = "X-Openum-Load";
/// Test-only fault injection (honoured only when the service enables it).
pub const FAULT_HEADER: &str = "X-Openum-Fault";

/// What the core needs to know about the process it runs in.
#[derive(Debug, Clone)]
pub struct Settings {
    pub role: Role,
    pub fqdn: String,
    /// The address peers reach us at (Via, Contact, SDP).
    pub address: IpAddr,
    /// Our SIP ports: UDP/TCP and TLS (0 when not listening).
    pub plain_port: u16,
    pub tls_port: u16,
    /// Exchange's MaxCallsAllowed.
    pub max_calls: usize,
    pub mailbox_nodes: Vec<MailboxNode>,
    /// Honour `X-Openum-Fault` (tests only: `OPENUM_FAULT_INJECTION=1`).
    pub fault_injection: bool,
}

/// A call's place in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Answered without SDP: waiting for the answer in the ACK (delayed offer).
    AwaitingAnswer,
    /// Media and IVR run in a call actor.
    Running,
}

/// Who a call is for and how its IVR runs: known at admission.
#[derive(Debug, Clone)]
pub struct CallSetup {
    pub call_id: String,
    pub route: Route,
    /// The deposit of a voicemail call (None for an auto attendant: it decides).
    pub deposit: Option<DepositParams>,
    /// The mailbox of a voicemail call (empty for an auto attendant).
    pub mailbox: String,
    pub caller_id: String,
    pub caller_name: Option<String>,
    /// Subscriber access: the mailbox the calling number identifies.
    pub subscriber: Option<String>,
    /// Test-only: make the call actor panic this long after it starts.
    pub panic_after: Option<Duration>,
}

/// Start a call's media and IVR: the shell creates the call actor on `worker`.
#[derive(Debug, Clone)]
pub struct StartCall {
    pub setup: CallSetup,
    pub worker: usize,
    pub negotiated: sdp::Negotiated,
}

/// A refusal, for the shell to log (`event="call_rejected"`) and count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub reason: String,
    pub method: String,
    pub call_id: String,
    pub uri: String,
    pub gateway: Option<String>,
    /// The From user part (the calling number).
    pub calling: String,
}

/// The user part of a request's From (empty when anonymous or unparsable).
pub(crate) fn calling_user(req: &Request) -> String {
    req.headers
        .get("From")
        .map(crate::sip::msg::addr_uri)
        .and_then(crate::sip::msg::uri_user)
        .unwrap_or_default()
        .to_string()
}

/// What the shell must do, in order.
#[derive(Debug, Clone)]
pub enum Output {
    /// Send this response in that server transaction.
    Respond { tx: TxId, response: Response },
    /// Send this request (BYE) on that flow, as a new client transaction.
    Request { request: Request, flow: Flow },
    /// Start the media of an admitted call.
    Start(Box<StartCall>),
    /// The caller hung up: tell the call actor (it commits, then reports finished).
    RemoteHangup { call_id: String },
    /// End a running call from our side (ACK never came, drain limit, shutdown,
    /// session expired).
    LocalHangup { call_id: String },
    /// The peer refreshed the session (re-INVITE, UPDATE, or answered ours):
    /// the call is alive whatever its RTP does.
    Refreshed { call_id: String },
    /// Send our session refresh; its outcome comes back through
    /// [`CallControl::handle_refresh_outcome`].
    Refresh {
        call_id: String,
        request: Request,
        flow: Flow,
    },
    /// A session-timer event to log (`what`: session_expired,
    /// refresh_unsupported).
    SessionTimer {
        call_id: String,
        what: &'static str,
        detail: String,
    },
    /// Send this REFER in the call's dialog; its outcome comes back through
    /// [`CallControl::handle_refer_outcome`].
    Refer {
        call_id: String,
        request: Request,
        flow: Flow,
    },
    /// A transfer the call asked for has ended.
    TransferResult {
        call_id: String,
        ok: bool,
        reason: String,
    },
    /// A digit arrived by SIP INFO: hand it to the call.
    Dtmf { call_id: String, digit: char },
    /// A re-INVITE moved or held the media, or re-keyed SRTP.
    UpdateMedia {
        call_id: String,
        remote: Option<SocketAddr>,
        srtp_remote_key: Option<sdp::crypto::SrtpKey>,
        /// What may arrive now (the answer's codecs, the call's first; G.711
        /// offered beside them) and the telephone-event type.
        joint: Vec<(crate::media::codec::Codec, u8)>,
        unanswered: Vec<(crate::media::codec::Codec, u8)>,
        dtmf_pt: Option<u8>,
        /// The peer holds the call (a=sendonly / inactive, RFC 3264 §8.4).
        hold: bool,
    },
    /// A call ended before any call actor ran (its RTP socket can go).
    EndedBeforeMedia { call_id: String, reason: String },
    /// A call was refused.
    Rejected(Rejection),
    /// A call to a pilot named diverting parties, none a mailbox of the dial
    /// plan: it goes to subscriber access, and the shell says so.
    DiversionUnmatched {
        call_id: String,
        dial_plan: String,
        parties: String,
    },
    /// A new call was redirected to a mailbox-role node.
    Redirected {
        call_id: String,
        node: String,
        contact: String,
    },
    /// Draining is over: every call in progress has ended.
    Drained { calls: usize },
}

/// One call in the dialog table.
#[derive(Debug, Clone)]
pub struct Call {
    pub dialog: Dialog,
    pub phase: Phase,
    pub gateway: String,
    pub route: Route,
    pub worker: usize,
    invite_tx: Option<TxId>,
    session_id: u64,
    sdp_version: u64,
    local_media: SocketAddr,
    negotiated: Option<sdp::Negotiated>,
    srtp_key: Option<[u8; sdp::MAX_MASTER_LEN]>,
    bye_sent: bool,
    /// The peer's BYE was accepted: the dialog is over for every later request
    /// (481), while the call actor still finishes (RFC 3261 §15.1.2).
    bye_received: bool,
    /// What the call actor needs when delayed offer completes at the ACK.
    pending: Option<Box<CallSetup>>,
    /// The extension a REFER of ours is transferring the caller to.
    transfer: Option<String>,
    /// The RFC 4028 session timer, when the INVITE asked for one.
    timer: Option<timer::SessionTimer>,
    /// The last refresh or re-INVITE/UPDATE (for the RTP inactivity limit).
    last_refresh: Instant,
}

pub struct CallControl {
    s: Settings,
    dir: Arc<Directory>,
    calls: HashMap<String, Call>,
    by_gateway: HashMap<String, usize>,
    by_dial_plan: HashMap<String, usize>,
    /// Call actors per worker arbiter (least-loaded placement).
    workers: Vec<usize>,
    draining: bool,
    drained_calls: usize,
    nodes: NodeSet,
    rng: StdRng,
    out: VecDeque<Output>,
}

/// `host:port` as written in SIP (Via, Contact, URIs): IPv6 in brackets.
pub fn host_port(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V6(a) => format!("[{a}]:{port}"),
        a => format!("{a}:{port}"),
    }
}

/// The least-loaded worker (the first of equals).
pub fn least_loaded(loads: &[usize]) -> usize {
    (0..loads.len()).min_by_key(|&i| loads[i]).unwrap_or(0)
}

impl CallControl {
    /// `workers`: how many worker arbiters the shell runs; `seed`: for tags, session
    /// ids and SRTP keys (the shell passes entropy; tests a constant).
    pub fn new(s: Settings, dir: Arc<Directory>, workers: usize, seed: [u8; 32]) -> Self {
        CallControl {
            nodes: NodeSet::new(s.mailbox_nodes.clone()),
            s,
            dir,
            calls: HashMap::new(),
            by_gateway: HashMap::new(),
            by_dial_plan: HashMap::new(),
            workers: vec![0; workers.max(1)],
            draining: false,
            drained_calls: 0,
            rng: StdRng::from_seed(seed),
            out: VecDeque::new(),
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The configuration changed at run time (a gateway's status, say).
    pub fn set_directory(&mut self, dir: Arc<Directory>) {
        self.dir = dir;
    }

    pub fn directory(&self) -> &Arc<Directory> {
        &self.dir
    }

    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    pub fn worker_loads(&self) -> &[usize] {
        &self.workers
    }

    pub fn call(&self, call_id: &str) -> Option<&Call> {
        self.calls.get(call_id)
    }

    pub fn calls_of_gateway(&self, gateway: &str) -> usize {
        self.by_gateway.get(gateway).copied().unwrap_or(0)
    }

    pub fn is_draining(&self) -> bool {
        self.draining
    }

    pub fn nodes(&self) -> &NodeSet {
        &self.nodes
    }

    pub fn nodes_mut(&mut self) -> &mut NodeSet {
        &mut self.nodes
    }

    /// Our host:port as peers on `transport` reach it (Via, Contact).
    pub fn via_host(&self, transport: Transport) -> String {
        let port = match transport {
            Transport::Tls => self.s.tls_port,
            _ => self.s.plain_port,
        };
        host_port(self.s.address, port)
    }

    fn respond(&mut self, tx: TxId, mut response: Response) {
        response.headers.push("Server", SERVER);
        self.out.push_back(Output::Respond { tx, response });
    }

    /// Answer with an error and report the refusal.
    fn reject(&mut self, tx: TxId, req: &Request, status: u16, why: &str, gateway: Option<&str>) {
        self.reject_with(tx, req, status, why, gateway, &[]);
    }

    /// [`Self::reject`] with extra headers (Min-SE of a 422).
    fn reject_with(
        &mut self,
        tx: TxId,
        req: &Request,
        status: u16,
        why: &str,
        gateway: Option<&str>,
        extra: &[(&str, String)],
    ) {
        let mut r = msg::response_to(req, status, Some(&token(&mut self.rng)));
        for (n, v) in extra {
            r.headers.push(n, v.as_str());
        }
        match status {
            503 => r.headers.push("Retry-After", RETRY_AFTER.to_string()),
            405 => r.headers.push("Allow", ALLOW),
            _ => {}
        }
        if matches!(status, 403 | 480 | 488 | 503) {
            r.headers.push(
                "Warning",
                format!("399 {} \"{}\"", self.s.fqdn, why.replace('"', "'")),
            );
        }
        self.out.push_back(Output::Rejected(Rejection {
            status,
            reason: why.to_string(),
            method: req.method.as_str().to_string(),
            call_id: req.call_id().to_string(),
            uri: req.uri.clone(),
            gateway: gateway.map(str::to_string),
            calling: calling_user(req),
        }));
        self.respond(tx, r);
    }

    /// A request in (or for) a dialog, or OPTIONS. New INVITEs go to
    /// [`CallControl::handle_invite`].
    pub fn handle_request(&mut self, now: Instant, tx: TxId, req: Request) {
        match req.method {
            Method::Invite if req.to_tag().is_some() => self.on_reinvite(now, tx, req),
            Method::Bye => self.on_bye(now, tx, req),
            Method::Options => self.on_options(tx, req),
            Method::Info if req.to_tag().is_some() => self.on_info(tx, req),
            Method::Notify if req.to_tag().is_some() => self.on_notify(tx, req),
            Method::Update if req.to_tag().is_some() => self.on_update(now, tx, req),
            Method::Other(_) => self.reject(tx, &req, 501, "method not implemented", None),
            _ => self.reject(tx, &req, 405, "method not allowed here", None),
        }
    }

    fn in_dialog(&self, req: &Request) -> Option<&Call> {
        self.calls
            .get(req.call_id())
            .filter(|c| c.dialog.matches(req) && !c.bye_received)
    }

    /// INFO in a dialog (RFC 6086): DTMF relay bodies become digits of the call;
    /// an empty INFO (a keep-alive) is answered 200; other packages 415.
    fn on_info(&mut self, tx: TxId, req: Request) {
        let Some(phase) = self.in_dialog(&req).map(|c| c.phase) else {
            return self.reject(tx, &req, 481, "no such dialog", None);
        };
        if req.body.is_empty() {
            return self.respond(tx, msg::response_to(&req, 200, None));
        }
        let ct = req.headers.get("Content-Type").unwrap_or("");
        match crate::media::dtmf::info_digit(ct, &req.body) {
            Ok(Some(digit)) => {
                self.respond(tx, msg::response_to(&req, 200, None));
                if phase == Phase::Running {
                    self.out.push_back(Output::Dtmf {
                        call_id: req.call_id().to_string(),
                        digit,
                    });
                }
            }
            Ok(None) => {
                let mut r = msg::response_to(&req, 415, None);
                r.headers
                    .push("Accept", "application/dtmf-relay, application/dtmf");
                self.respond(tx, r);
            }
            Err(why) => self.reject(tx, &req, 400, why, None),
        }
    }

    fn on_options(&mut self, tx: TxId, req: Request) {
        if self.draining {
            return self.reject(tx, &req, 503, "draining: no new calls", None);
        }
        self.answer_options(tx, req);
    }

    /// 200 to an OPTIONS, with what we support and (not a router) our load.
    pub(super) fn answer_options(&mut self, tx: TxId, req: Request) {
        let mut r = msg::response_to(&req, 200, Some(&token(&mut self.rng)));
        r.headers.push("Allow", ALLOW);
        r.headers.push("Accept", "application/sdp");
        r.headers.push("Supported", SUPPORTED.join(", "));
        if self.s.role != Role::Router {
            r.headers.push(
                LOAD_HEADER,
                format!("{}/{}", self.calls.len(), self.s.max_calls),
            );
        }
        self.respond(tx, r);
    }

    fn on_bye(&mut self, now: Instant, tx: TxId, req: Request) {
        let Some(phase) = self.in_dialog(&req).map(|c| c.phase) else {
            return self.reject(tx, &req, 481, "no such dialog", None);
        };
        let r = msg::response_to(&req, 200, None);
        self.respond(tx, r);
        let call_id = req.call_id().to_string();
        if let Some(c) = self.calls.get_mut(&call_id) {
            c.bye_received = true;
            // Never a BYE of ours on a dialog the peer ended.
            c.bye_sent = true;
        }
        match phase {
            Phase::Running => self.out.push_back(Output::RemoteHangup { call_id }),
            Phase::AwaitingAnswer => {
                // Hung up before the delayed-offer ACK: nothing started, no BYE owed.
                if let Some(c) = self.calls.get_mut(&call_id) {
                    c.bye_sent = true;
                }
                self.end_before_media(now, &call_id, "caller hung up before the ACK");
            }
        }
    }

    /// The ACK for our 2xx. With delayed offer it carries the SDP answer: the call
    /// starts now, or ends (BYE) when that answer is unusable.
    pub fn handle_ack(&mut self, now: Instant, call_id: &str, body: &[u8]) {
        let Some(c) = self.calls.get_mut(call_id) else {
            return;
        };
        c.invite_tx = None;
        if c.phase != Phase::AwaitingAnswer {
            return;
        }
        let key = c.srtp_key;
        // The answer can only hold what we offered: the dial plan's codecs.
        let answer = sdp::parse(body).and_then(|s| {
            let key = key.as_ref().map(|k| &k[..]);
            sdp::negotiate(&s, key, &AudioCodec::DEFAULT, CodecOrder::Offer)
        });
        match (answer, c.pending.take()) {
            (Ok(n), Some(setup)) => {
                c.negotiated = Some(n.clone());
                self.start(*setup, n);
            }
            (Err(e), _) => {
                let why = format!("the ACK carried no usable SDP answer: {e}");
                self.out.push_back(Output::Rejected(Rejection {
                    status: 488,
                    reason: why.clone(),
                    method: "ACK".into(),
                    call_id: call_id.to_string(),
                    uri: String::new(),
                    gateway: Some(c.gateway.clone()),
                    calling: String::new(),
                }));
                self.end_before_media(now, call_id, &why);
            }
            (Ok(_), None) => {}
        }
    }

    /// Our 2xx was never acknowledged (64*T1): end the call with BYE.
    pub fn handle_ack_timeout(&mut self, now: Instant, call_id: &str) {
        match self.calls.get(call_id).map(|c| c.phase) {
            Some(Phase::Running) => self.out.push_back(Output::LocalHangup {
                call_id: call_id.to_string(),
            }),
            Some(Phase::AwaitingAnswer) => {
                self.end_before_media(now, call_id, "no ACK for our 200")
            }
            None => {}
        }
    }

    /// A CANCEL reached an INVITE before its final answer: the transaction layer
    /// answered 487 and will not send our 200, so the call never existed for the
    /// caller. End it without BYE.
    pub fn handle_cancelled(&mut self, now: Instant, invite_tx: TxId) {
        let Some(id) = self
            .calls
            .iter()
            .find(|(_, c)| c.invite_tx == Some(invite_tx))
            .map(|(id, _)| id.clone())
        else {
            return;
        };
        let phase = self.calls.get(&id).map(|c| c.phase);
        if let Some(c) = self.calls.get_mut(&id) {
            c.bye_sent = true;
        }
        match phase {
            Some(Phase::Running) => self.out.push_back(Output::RemoteHangup { call_id: id }),
            _ => self.end_before_media(now, &id, "cancelled before the answer"),
        }
    }

    /// Place a call on the least-loaded worker and tell the shell to start it.
    fn start(&mut self, setup: CallSetup, negotiated: sdp::Negotiated) {
        let worker = least_loaded(&self.workers);
        self.workers[worker] += 1;
        if let Some(c) = self.calls.get_mut(&setup.call_id) {
            c.phase = Phase::Running;
            c.worker = worker;
        }
        self.out.push_back(Output::Start(Box::new(StartCall {
            setup,
            worker,
            negotiated,
        })));
    }

    /// A new request of ours in a call's dialog (next CSeq, fresh branch), with
    /// the Via host it names and the flow it goes on.
    fn dialog_request(&mut self, call_id: &str, method: Method) -> Option<(Request, String, Flow)> {
        let branch = format!("z9hG4bK{}", token(&mut self.rng));
        let via = self.via_host(self.calls.get(call_id)?.dialog.flow.transport);
        let c = self.calls.get_mut(call_id)?;
        let mut r = c.dialog.request(method, &via, &branch);
        r.headers.push("User-Agent", SERVER);
        Some((r, via, c.dialog.flow))
    }

    /// Send BYE in a call's dialog, once. False when unknown or already sent.
    pub fn hang_up(&mut self, _now: Instant, call_id: &str) -> bool {
        let Some(c) = self.calls.get_mut(call_id).filter(|c| !c.bye_sent) else {
            return false;
        };
        c.bye_sent = true;
        let Some((request, _, flow)) = self.dialog_request(call_id, Method::Bye) else {
            return false;
        };
        self.out.push_back(Output::Request { request, flow });
        true
    }

    fn end_before_media(&mut self, now: Instant, call_id: &str, reason: &str) {
        self.hang_up(now, call_id);
        if self.calls.contains_key(call_id) {
            self.out.push_back(Output::EndedBeforeMedia {
                call_id: call_id.to_string(),
                reason: reason.to_string(),
            });
            self.forget(call_id);
        }
    }

    /// Remove a call and its counts. True when it was there.
    fn forget(&mut self, call_id: &str) -> bool {
        let Some(c) = self.calls.remove(call_id) else {
            return false;
        };
        for (map, key) in [
            (&mut self.by_gateway, c.gateway.as_str()),
            (&mut self.by_dial_plan, c.route.dial_plan()),
        ] {
            if let Some(n) = map.get_mut(key) {
                *n = n.saturating_sub(1);
            }
        }
        if c.phase == Phase::Running
            && let Some(w) = self.workers.get_mut(c.worker)
        {
            *w = w.saturating_sub(1);
        }
        if self.draining {
            self.drained_calls += 1;
            if self.calls.is_empty() {
                self.out.push_back(Output::Drained {
                    calls: self.drained_calls,
                });
            }
        }
        true
    }

    /// A call actor finished normally (it sent its BYE through us if it owed one).
    pub fn handle_call_finished(&mut self, call_id: &str) {
        self.forget(call_id);
    }

    /// A call actor died (panic or error) without finishing: BYE its dialog and
    /// forget it. Returns false when the call had already finished.
    pub fn handle_call_died(&mut self, now: Instant, call_id: &str) -> bool {
        if !self.calls.contains_key(call_id) {
            return false;
        }
        self.hang_up(now, call_id);
        self.forget(call_id)
    }

    /// Stop taking calls (OPTIONS and INVITE get 503); calls in progress go on.
    /// `Drained` is output when the last one ends (at once if there is none).
    pub fn start_drain(&mut self) -> usize {
        if !self.draining {
            self.draining = true;
            self.drained_calls = 0;
            if self.calls.is_empty() {
                self.out.push_back(Output::Drained { calls: 0 });
            }
        }
        self.calls.len()
    }

    /// The drain limit passed (or a second signal): end every call from our side.
    /// Running calls commit what they recorded first; pending ones just get BYE.
    pub fn hang_up_all(&mut self, now: Instant) {
        let ids: Vec<(String, Phase)> = self
            .calls
            .iter()
            .map(|(id, c)| (id.clone(), c.phase))
            .collect();
        for (id, phase) in ids {
            match phase {
                Phase::Running => self.out.push_back(Output::LocalHangup { call_id: id }),
                Phase::AwaitingAnswer => self.end_before_media(now, &id, "shutting down"),
            }
        }
    }
}

/// An OPTIONS probe for a gateway or a mailbox node (`target` is `host:port`).
pub fn options_request(
    fqdn: &str,
    via_host: &str,
    transport: Transport,
    target: &str,
    rng: &mut impl rand::Rng,
) -> Request {
    let mut h = msg::Headers::new();
    let branch = format!("z9hG4bK{}", token(rng));
    h.push(
        "Via",
        format!(
            "SIP/2.0/{} {via_host};branch={branch};rport",
            transport.via_name()
        ),
    );
    h.push("Max-Forwards", "70");
    h.push("From", format!("<sip:openum@{fqdn}>;tag={}", token(rng)));
    h.push("To", format!("<sip:{target}>"));
    h.push("Call-ID", format!("{}@{fqdn}", token(rng)));
    h.push("CSeq", "1 OPTIONS");
    h.push("Accept", "application/sdp");
    h.push("User-Agent", SERVER);
    Request {
        method: Method::Options,
        uri: format!("sip:{target}"),
        headers: h,
        body: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
