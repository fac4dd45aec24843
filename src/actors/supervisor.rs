//! Supervisor: the shell of the call-control core ([`crate::callctl`]) and the
//! hunt-group supervisor of the product description. It receives what the SIP
//! endpoint's transaction layer passes up, asks the core, and carries out its
//! outputs: answers (through the endpoint), RTP sockets for admitted calls, one
//! [`CallActor`] per call on the least-loaded worker arbiter, hang-ups, and the
//! lifecycle of call actors — one that dies (panic or error) is noticed through its
//! lifeline, its call gets a BYE and an event, and no other call is disturbed.
//! In the router role it probes the mailbox nodes and redirects instead.
//!
//! Draining (`openum service drain`, SIGTERM): OPTIONS and new INVITEs get 503,
//! calls in progress complete, then the process exits (0; 3 when calls had to be
//! cut at the drain limit or by a second signal).

use super::call::{
    CallActor, CallInfo, Control, DtmfIn, Lifeline, LocalHangup, Refreshed, RemoteHangup,
    TransferDone, UpdateMedia,
};
use super::endpoint::SipEndpoint;
use super::messages::{
    CallGone, CallHangup, DirectoryChanged, RequestOutcome, Respond, SendRequest, SipEvent,
    SubscribeIn, TransferRequest,
};
use super::store::StoreActor;
use crate::callctl::nodes::{NodeState, parse_load};
use crate::callctl::{
    Admission, CallControl, LOAD_HEADER, Output, Settings, StartCall, options_request,
};
use crate::config::{Role, ServiceConfig};
use crate::directory::Directory;
use crate::directory::Route;
use crate::ivr::attendant::AttendantParams;
use crate::ivr::call::{CallCore, CallMode, CallParams};
use crate::ivr::ova::OvaParams;
use crate::ivr::prompts::PromptLibrary;
use crate::ivr::speech::Lang;
use crate::sip::transaction::{Event, Flow, Transport};
use actix::prelude::*;
use rand::{Rng, RngCore, SeedableRng, rngs::StdRng};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a transfer may take (REFER answered and a final NOTIFY) before the
/// caller is offered voicemail instead.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(30);

/// After the drain limit (or a second signal) hangs calls up, how long they get to
/// commit what they recorded before the process stops anyway.
const HANGUP_GRACE: Duration = Duration::from_secs(15);

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

/// What a mailbox-role process needs to run calls (a router has none of it).
pub struct Media {
    /// Store work in order (one thread): statuses, greetings, PINs.
    pub store: Addr<StoreActor>,
    /// Deposits (encoding then the durable write), one thread per core, so that
    /// many calls ending at once do not wait for each other's encoding.
    pub deposits: Addr<StoreActor>,
    /// Greetings for calls starting, on threads of their own: a call's greeting
    /// must not wait behind a retention sweep, a subscriber's listing or a
    /// deposit's encoding (sled reads run alongside its writes).
    pub reads: Addr<StoreActor>,
    pub prompts: Arc<PromptLibrary>,
    pub workers: Vec<ArbiterHandle>,
}

#[derive(Default)]
struct DrainState {
    started: bool,
    cut: bool,
}

pub struct Supervisor {
    cfg: Arc<ServiceConfig>,
    core: CallControl,
    endpoint: Addr<SipEndpoint>,
    media: Option<Media>,
    /// Running call actors, and RTP sockets of calls answered but not started.
    actors: HashMap<String, Addr<CallActor>>,
    sockets: HashMap<String, std::net::UdpSocket>,
    ports: PortAllocator,
    rng: StdRng,
    drain: DrainState,
    /// Node probes in flight (router role): tag → node.
    probes: HashMap<u64, String>,
    /// Our REFERs in flight: tag → call.
    refers: HashMap<u64, String>,
    /// Our session refreshes (UPDATE) in flight, by request tag.
    refreshes: HashMap<u64, String>,
    /// The session-timer wake-up armed, and for when.
    timer: Option<(Instant, actix::SpawnHandle)>,
    next_tag: u64,
    /// Extra recipients of directory changes (endpoint, monitor, MWI).
    listeners: Vec<Recipient<DirectoryChanged>>,
    /// Where SUBSCRIBEs go (None in the router role: 405).
    mwi: Option<Recipient<SubscribeIn>>,
    /// Calls in progress and the call data records they leave.
    book: super::calls::CallBook,
    /// Where CDRs are written, batched once a second (None: not kept).
    cdr_sink: Option<Recipient<super::calls::CdrBatch>>,
}

impl Supervisor {
    pub fn new(
        cfg: Arc<ServiceConfig>,
        dir: Arc<Directory>,
        settings: Settings,
        endpoint: Addr<SipEndpoint>,
        media: Option<Media>,
    ) -> Self {
        let mut seed = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut seed);
        let workers = media.as_ref().map_or(1, |m| m.workers.len());
        let bind = if cfg.sip_bind.is_unspecified() {
            cfg.sip_bind
        } else {
            cfg.address
        };
        Supervisor {
            ports: PortAllocator::new(bind, cfg.rtp_ports),
            core: CallControl::new(settings, dir, workers, seed),
            cfg,
            endpoint,
            media,
            actors: HashMap::new(),
            sockets: HashMap::new(),
            rng: StdRng::from_entropy(),
            drain: DrainState::default(),
            probes: HashMap::new(),
            refers: HashMap::new(),
            refreshes: HashMap::new(),
            timer: None,
            next_tag: 1,
            listeners: Vec::new(),
            mwi: None,
            book: Default::default(),
            cdr_sink: None,
        }
    }

    pub fn notify_directory_changes(mut self, to: Recipient<DirectoryChanged>) -> Self {
        self.listeners.push(to);
        self
    }

    /// Write call data records through `to`.
    pub fn with_cdr_sink(mut self, to: Recipient<super::calls::CdrBatch>) -> Self {
        self.cdr_sink = Some(to);
        self
    }

    /// Hand the records made since the last time to the sink.
    fn flush_cdrs(&mut self) {
        let batch = self.book.take_done();
        if let (false, Some(sink)) = (batch.is_empty(), &self.cdr_sink) {
            sink.do_send(super::calls::CdrBatch(batch));
        }
    }

    /// Pass SUBSCRIBEs (message waiting indication) to `to`.
    pub fn with_mwi(mut self, to: Recipient<SubscribeIn>) -> Self {
        self.mwi = Some(to);
        self
    }

    fn on_invite(&mut self, a: Admission) {
        let Some(socket) = self.ports.bind() else {
            return self
                .core
                .refuse(a, 503, "no free RTP port in the configured range");
        };
        let Ok(port) = socket.local_addr().map(|a| a.port()) else {
            return self.core.refuse(a, 503, "RTP socket has no address");
        };
        metrics::counter!("openum_calls_answered_total").increment(1);
        tracing::info!(
            event = "call_answered",
            call_id = a.req.call_id(),
            mailbox = %a.setup.mailbox,
            dial_plan = %a.setup.route.dial_plan(),
            gateway = %a.gateway,
            caller = %a.setup.caller_id,
            codec = a.negotiated.as_ref().map_or("after ACK", |n| n.codec.name()),
            dtmf_pt = %a.negotiated.as_ref().and_then(|n| n.dtmf_pt).map_or_else(|| "none".to_string(), |p| p.to_string()),
            delayed_offer = a.negotiated.is_none(),
            transport = a.flow.transport.via_name(),
            rtp_port = port,
        );
        self.sockets.insert(a.req.call_id().to_string(), socket);
        self.book.admitted(&a, Instant::now());
        let local = SocketAddr::new(self.cfg.address, port);
        self.core.accept(Instant::now(), a, local);
    }

    /// Carry out what the core decided.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        while let Some(o) = self.core.poll_output() {
            match o {
                Output::Respond { tx, response } => self.endpoint.do_send(Respond { tx, response }),
                Output::Request { request, flow } => self.endpoint.do_send(SendRequest {
                    request,
                    flow,
                    reply: None,
                }),
                Output::Start(s) => self.start_call(*s, ctx),
                Output::RemoteHangup { call_id } => {
                    tracing::info!(event = "remote_hangup", call_id = %call_id, "BYE from the caller");
                    if let Some(a) = self.actors.get(&call_id) {
                        a.do_send(RemoteHangup);
                    }
                }
                Output::LocalHangup { call_id } => {
                    if let Some(a) = self.actors.get(&call_id) {
                        a.do_send(LocalHangup);
                    }
                }
                Output::Refreshed { call_id } => {
                    if let Some(a) = self.actors.get(&call_id) {
                        a.do_send(Refreshed);
                    }
                }
                Output::Refresh {
                    call_id,
                    request,
                    flow,
                } => {
                    tracing::debug!(event = "session_refresh_sent", call_id = %call_id);
                    let tag = self.send_tracked(ctx, request, flow);
                    self.refreshes.insert(tag, call_id);
                }
                Output::SessionTimer {
                    call_id,
                    what,
                    detail,
                } => {
                    metrics::counter!("openum_session_timer_events_total", "event" => what)
                        .increment(1);
                    tracing::warn!(event = what, call_id = %call_id, detail = %detail);
                }
                Output::Refer {
                    call_id,
                    request,
                    flow,
                } => {
                    tracing::info!(event = "transfer_started", call_id = %call_id, refer_to = %request.headers.get("Refer-To").unwrap_or(""));
                    let tag = self.send_tracked(ctx, request, flow);
                    self.refers.insert(tag, call_id);
                }
                Output::TransferResult {
                    call_id,
                    ok,
                    reason,
                } => {
                    metrics::counter!("openum_transfers_total", "ok" => ok.to_string())
                        .increment(1);
                    tracing::info!(event = "transfer_result", call_id = %call_id, ok, reason = %reason);
                    self.book.transfer_result(&call_id, ok);
                    if let Some(a) = self.actors.get(&call_id) {
                        a.do_send(TransferDone { ok });
                    }
                }
                Output::Dtmf { call_id, digit } => {
                    if let Some(a) = self.actors.get(&call_id) {
                        a.do_send(DtmfIn(digit));
                    }
                }
                Output::UpdateMedia {
                    call_id,
                    remote,
                    srtp_remote_key,
                    joint,
                    unanswered,
                    dtmf_pt,
                    hold,
                } => {
                    if let Some(a) = self.actors.get(&call_id) {
                        a.do_send(UpdateMedia {
                            remote,
                            srtp_remote_key,
                            joint,
                            unanswered,
                            dtmf_pt,
                            hold,
                        });
                    }
                }
                Output::EndedBeforeMedia { call_id, reason } => {
                    self.sockets.remove(&call_id);
                    self.book
                        .ended_before_media(&call_id, &reason, Instant::now());
                    tracing::info!(event = "call_ended", call_id = %call_id, reason = %reason, "before media started");
                }
                Output::DiversionUnmatched {
                    call_id,
                    dial_plan,
                    parties,
                } => {
                    metrics::counter!("openum_diversions_unmatched_total").increment(1);
                    tracing::warn!(
                        event = "diversion_unmatched",
                        call_id = %call_id,
                        dial_plan = %dial_plan,
                        diverted_from = %parties,
                        "the call names no mailbox of the dial plan in Diversion/History-Info: it goes to subscriber access"
                    );
                }
                Output::Rejected(r) => {
                    self.book.refused(&r);
                    metrics::counter!("openum_calls_rejected_total", "status" => r.status.to_string())
                        .increment(1);
                    tracing::warn!(
                        event = "call_rejected",
                        status = r.status,
                        reason = %r.reason,
                        method = %r.method,
                        call_id = %r.call_id,
                        uri = %r.uri,
                        gateway = %r.gateway.as_deref().unwrap_or("-"),
                    );
                }
                Output::Redirected {
                    call_id,
                    node,
                    contact,
                } => {
                    self.book.redirected(&call_id, &node, &contact);
                    metrics::counter!("openum_calls_redirected_total", "node" => node.clone())
                        .increment(1);
                    tracing::info!(event = "call_redirected", call_id = %call_id, node = %node, contact = %contact);
                }
                Output::Drained { calls } => {
                    let code = if self.drain.cut { 3 } else { 0 };
                    tracing::info!(
                        event = "drain_complete",
                        calls_drained = calls,
                        cut = self.drain.cut,
                        exit_code = code
                    );
                    println!("openum: drained {calls} call(s); exiting with {code}");
                    // The last calls' records go before the process does.
                    self.flush_cdrs();
                    // Let the last responses and BYEs leave the sockets.
                    ctx.run_later(Duration::from_millis(200), move |_, _| {
                        System::current().stop_with_code(code)
                    });
                }
            }
        }
        metrics::gauge!("openum_calls_active").set(self.core.active_calls() as f64);
        for (t, n) in self.book.active_by_type() {
            metrics::gauge!("openum_calls_active_by_type", "type" => t).set(n as f64);
        }
        self.arm_session_timer(ctx);
    }

    /// Send a request whose outcome comes back as a [`RequestOutcome`] with
    /// the returned tag.
    fn send_tracked(
        &mut self,
        ctx: &mut Context<Self>,
        request: crate::sip::msg::Request,
        flow: Flow,
    ) -> u64 {
        let tag = self.next_tag;
        self.next_tag += 1;
        self.endpoint.do_send(SendRequest {
            request,
            flow,
            reply: Some((ctx.address().recipient(), tag)),
        });
        tag
    }

    /// Wake up when the earliest session timer is due (re-armed when that moves).
    fn arm_session_timer(&mut self, ctx: &mut Context<Self>) {
        let next = self.core.poll_timeout();
        if self.timer.as_ref().map(|(at, _)| *at) == next {
            return;
        }
        if let Some((_, h)) = self.timer.take() {
            ctx.cancel_future(h);
        }
        if let Some(at) = next {
            let wait = at.saturating_duration_since(Instant::now());
            let h = ctx.run_later(wait, |act, ctx| {
                act.timer = None;
                act.core.handle_timeout(Instant::now());
                act.pump(ctx);
            });
            self.timer = Some((at, h));
        }
    }

    fn start_call(&mut self, s: StartCall, ctx: &mut Context<Self>) {
        let call_id = s.setup.call_id.clone();
        let (Some(media), Some(socket)) = (self.media.as_ref(), self.sockets.remove(&call_id))
        else {
            // Cannot happen (a router admits nothing; sockets are bound at accept),
            // but if it did, the caller must not be left in silence.
            tracing::error!(event = "call_start_failed", call_id = %call_id);
            self.core.handle_call_died(Instant::now(), &call_id);
            return;
        };
        let n = &s.negotiated;
        self.book.media(&call_id, n.codec.name(), n.srtp.is_some());
        let mode = match (&s.setup.route, s.setup.deposit) {
            (Route::AutoAttendant { name, dial_plan }, _) => {
                let dir = self.core.directory().clone();
                let (first, inter) = dir
                    .dial_plan(dial_plan)
                    .map_or((Duration::from_secs(5), Duration::from_secs(2)), |d| {
                        (d.first_digit_timeout, d.inter_digit_timeout)
                    });
                CallMode::Attendant(Box::new(AttendantParams {
                    name: name.clone(),
                    dir,
                    wall: jiff::Timestamp::now(),
                    first_digit_timeout: first,
                    inter_digit_timeout: inter,
                    transfer_timeout: TRANSFER_TIMEOUT,
                }))
            }
            (Route::SubscriberAccess { dial_plan }, _) => {
                CallMode::SubscriberAccess(Box::new(OvaParams {
                    dial_plan: dial_plan.clone(),
                    dir: self.core.directory().clone(),
                    caller: s.setup.subscriber.clone(),
                    wall: jiff::Timestamp::now(),
                    lang: self
                        .core
                        .directory()
                        .dial_plan_language(dial_plan)
                        .unwrap_or_default(),
                }))
            }
            (_, Some(d)) => CallMode::Deposit(d),
            (_, None) => {
                tracing::error!(event = "call_start_failed", call_id = %call_id, "no deposit for a voicemail route");
                self.core.handle_call_died(Instant::now(), &call_id);
                return;
            }
        };
        // Prompts: the mailbox's language, the attendant's, or the dial plan's.
        let dir = self.core.directory().clone();
        let lang = match &s.setup.route {
            Route::Voicemail {
                dial_plan,
                extension,
            } => dir
                .mailbox(dial_plan, extension)
                .map(|m| dir.mailbox_language(m)),
            Route::AutoAttendant { name, .. } => dir
                .auto_attendants
                .iter()
                .find(|a| &a.name == name)
                .and_then(|a| Lang::parse(&a.language)),
            Route::SubscriberAccess { dial_plan } => dir.dial_plan_language(dial_plan),
        }
        .unwrap_or_default();
        let params = CallParams {
            lang,
            codec: n.codec,
            opus: n.opus,
            pt: n.pt,
            joint: n.joint.clone(),
            unanswered: n.unanswered.clone(),
            ptime_ms: n.ptime_ms,
            dtmf_pt: n.dtmf_pt,
            remote: n.remote,
            ssrc: self.rng.r#gen(),
            seq: self.rng.r#gen(),
            ts: self.rng.r#gen(),
            mode,
        };
        let core = CallCore::new(params, media.prompts.clone());
        let info = CallInfo {
            call_id: call_id.clone(),
            mailbox: s.setup.mailbox,
            caller_id: s.setup.caller_id,
            caller_name: s.setup.caller_name,
            worker: s.worker,
            panic_after: s.setup.panic_after,
            ova: match &s.setup.route {
                Route::SubscriberAccess { dial_plan } => {
                    Some((self.core.directory().clone(), dial_plan.clone()))
                }
                _ => None,
            },
            answered_at: Instant::now(),
            rtp_timeout: self
                .core
                .directory()
                .dial_plan(s.setup.route.dial_plan())
                .map_or(Duration::ZERO, |d| d.rtp_timeout),
        };
        let me = ctx.address();
        let (store, srtp) = (
            (
                media.store.clone(),
                media.deposits.clone(),
                media.reads.clone(),
            ),
            n.srtp.clone(),
        );
        let lifeline = Lifeline::new(call_id.clone(), me.clone().recipient());
        let control = Control::of(&me);
        let make = move |_: &mut Context<CallActor>| {
            CallActor::new(info, core, socket, control, lifeline, store, srtp)
        };
        let worker = s.worker.to_string();
        metrics::counter!("openum_worker_calls_total", "worker" => worker.clone()).increment(1);
        let load = self.core.worker_loads().get(s.worker).copied().unwrap_or(0);
        metrics::gauge!("openum_worker_calls", "worker" => worker).set(load as f64);
        let addr = match media.workers.get(s.worker) {
            Some(arbiter) => CallActor::start_in_arbiter(arbiter, make),
            None => CallActor::create(make),
        };
        self.actors.insert(call_id, addr);
    }

    fn worker_gauges(&self) {
        for (i, load) in self.core.worker_loads().iter().enumerate() {
            metrics::gauge!("openum_worker_calls", "worker" => i.to_string()).set(*load as f64);
        }
    }

    /// Router role: probe every mailbox node; those silent since the last round
    /// leave the rotation.
    fn probe_nodes(&mut self, ctx: &mut Context<Self>) {
        let (probes, changes) = self.core.nodes_mut().probe_due();
        for c in changes {
            log_node_change(&c.node, c.up, "no answer to the previous OPTIONS");
        }
        let via = self.core.via_host(Transport::Udp);
        for (name, addr) in probes {
            let request = options_request(
                &self.cfg.fqdn,
                &via,
                Transport::Udp,
                &addr.to_string(),
                &mut self.rng,
            );
            let flow = Flow {
                transport: Transport::Udp,
                peer: addr,
                conn: None,
            };
            let tag = self.send_tracked(ctx, request, flow);
            self.probes.insert(tag, name);
        }
    }

    /// Start draining; with `now_too`, also end calls in progress at once.
    fn drain(&mut self, now_too: bool, ctx: &mut Context<Self>) -> usize {
        let calls = self.core.active_calls();
        if !self.drain.started {
            self.drain.started = true;
            tracing::info!(
                event = "drain_started",
                calls,
                limit_secs = self.cfg.drain_timeout.as_secs(),
                "new calls get 503; calls in progress complete"
            );
            self.core.start_drain();
            ctx.run_later(self.cfg.drain_timeout, |act, ctx| act.cut_calls(ctx));
        }
        if now_too {
            self.cut_calls(ctx);
        }
        self.pump(ctx);
        calls
    }

    fn cut_calls(&mut self, ctx: &mut Context<Self>) {
        if self.drain.cut {
            return;
        }
        self.drain.cut = true;
        tracing::warn!(
            event = "drain_cut",
            calls = self.core.active_calls(),
            "hanging up the calls still in progress"
        );
        self.core.hang_up_all(Instant::now());
        self.pump(ctx);
        ctx.run_later(HANGUP_GRACE, |act, _| {
            tracing::warn!(event = "shutdown_forced", calls = act.core.active_calls());
            System::current().stop_with_code(3);
        });
    }
}

fn log_node_change(node: &str, up: bool, why: &str) {
    if up {
        tracing::info!(event = "mailbox_node_up", node, "back in the rotation");
    } else {
        tracing::warn!(
            event = "mailbox_node_down",
            node,
            reason = why,
            "out of the rotation"
        );
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        for aa in &self.core.directory().auto_attendants {
            if aa.speech_enabled && self.media.is_some() {
                tracing::info!(event = "speech_unavailable", attendant = %aa.name, "SpeechEnabled is set but no speech recogniser is configured: the attendant takes keys (DTMF)");
            }
        }
        if !self.core.nodes().is_empty() && self.media.is_none() {
            ctx.run_later(Duration::from_millis(100), |act, ctx| act.probe_nodes(ctx));
            ctx.run_interval(self.cfg.node_probe_interval, |act, ctx| {
                act.probe_nodes(ctx)
            });
        }
        self.worker_gauges();
        ctx.run_interval(Duration::from_secs(1), |act, _| act.flush_cdrs());
    }
}

impl Handler<super::messages::CallStep> for Supervisor {
    type Result = ();
    fn handle(&mut self, m: super::messages::CallStep, _: &mut Context<Self>) {
        self.book.step(&m.call_id, m.step);
    }
}

/// Get-UMActiveCalls: the calls in progress.
#[derive(Message)]
#[rtype(result = "Vec<super::calls::ActiveCall>")]
pub struct GetCalls;

impl Handler<GetCalls> for Supervisor {
    type Result = MessageResult<GetCalls>;
    fn handle(&mut self, _: GetCalls, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.book.list(Instant::now()))
    }
}

impl Handler<SipEvent> for Supervisor {
    type Result = ();
    fn handle(&mut self, m: SipEvent, ctx: &mut Context<Self>) {
        let now = Instant::now();
        match m.0 {
            Event::Request {
                tx: Some(tx),
                request,
                flow,
            } => {
                if request.method == crate::sip::msg::Method::Subscribe
                    && let Some(mwi) = &self.mwi
                {
                    mwi.do_send(SubscribeIn { tx, request, flow });
                } else if request.method == crate::sip::msg::Method::Options
                    && request.to_tag().is_none()
                {
                    self.core.handle_options(tx, request, flow);
                } else if request.method == crate::sip::msg::Method::Invite
                    && request.to_tag().is_none()
                {
                    if let Some(a) = self.core.handle_invite(now, tx, request, flow) {
                        self.on_invite(a);
                    }
                } else {
                    self.core.handle_request(now, tx, request);
                }
            }
            Event::Request { tx: None, .. } => {}
            Event::Acked { call_id, body, .. } => self.core.handle_ack(now, &call_id, &body),
            Event::AckTimeout { call_id, .. } => {
                tracing::warn!(event = "ack_timeout", call_id = %call_id, "no ACK for our 200 within 64*T1; ending the call");
                self.core.handle_ack_timeout(now, &call_id);
            }
            Event::Cancelled { invite_tx } => {
                tracing::info!(event = "call_cancelled", tx = invite_tx.0);
                self.core.handle_cancelled(now, invite_tx);
            }
            // Responses and timeouts go back to whoever sent the request.
            Event::Response { .. } | Event::Timeout { .. } => {}
        }
        self.pump(ctx);
    }
}

impl Handler<CallHangup> for Supervisor {
    type Result = ();
    fn handle(&mut self, m: CallHangup, ctx: &mut Context<Self>) {
        if self.core.hang_up(Instant::now(), &m.call_id) {
            tracing::info!(event = "call_hangup_sent", call_id = %m.call_id);
        }
        self.pump(ctx);
    }
}

impl Handler<CallGone> for Supervisor {
    type Result = ();
    fn handle(&mut self, m: CallGone, ctx: &mut Context<Self>) {
        self.actors.remove(&m.call_id);
        self.book.gone(&m.call_id, m.report, Instant::now());
        if m.clean {
            self.core.handle_call_finished(&m.call_id);
        } else if self.core.handle_call_died(Instant::now(), &m.call_id) {
            metrics::counter!("openum_call_actors_died_total").increment(1);
            tracing::error!(event = "call_actor_died", call_id = %m.call_id, "the call actor stopped without finishing; BYE sent");
        }
        self.worker_gauges();
        self.pump(ctx);
    }
}

impl Handler<TransferRequest> for Supervisor {
    type Result = ();
    fn handle(&mut self, m: TransferRequest, ctx: &mut Context<Self>) {
        self.book.transfer_asked(&m.call_id, &m.extension);
        self.core
            .start_transfer(Instant::now(), &m.call_id, &m.extension);
        self.pump(ctx);
    }
}

impl Handler<RequestOutcome> for Supervisor {
    type Result = ();
    fn handle(&mut self, m: RequestOutcome, ctx: &mut Context<Self>) {
        if let Some(call_id) = self.refreshes.remove(&m.tag) {
            let status = m.response.as_ref().map(|r| r.status);
            self.core
                .handle_refresh_outcome(Instant::now(), &call_id, status);
            return self.pump(ctx);
        }
        if let Some(call_id) = self.refers.remove(&m.tag) {
            self.core
                .handle_refer_outcome(&call_id, m.response.as_ref().map(|r| r.status));
            return self.pump(ctx);
        }
        let Some(name) = self.probes.remove(&m.tag) else {
            return;
        };
        let change = match &m.response {
            Some(r) => {
                let load = r.headers.get(LOAD_HEADER).and_then(parse_load);
                self.core.nodes_mut().handle_answer(&name, r.status, load)
            }
            None => self.core.nodes_mut().handle_no_answer(&name),
        };
        if let Some(c) = change {
            let why = match &m.response {
                Some(r) => format!("OPTIONS answered {}", r.status),
                None => "OPTIONS timed out".into(),
            };
            log_node_change(&c.node, c.up, &why);
        }
    }
}

impl Handler<DirectoryChanged> for Supervisor {
    type Result = ();
    fn handle(&mut self, m: DirectoryChanged, _: &mut Context<Self>) {
        for l in &self.listeners {
            l.do_send(m.clone());
        }
        self.core.set_directory(m.0);
    }
}

/// Orderly stop: drain (calls in progress complete), or with `now` also end the
/// calls in progress at once (a second signal). Returns the calls in progress.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct Drain {
    pub now: bool,
}

impl Handler<Drain> for Supervisor {
    type Result = usize;
    fn handle(&mut self, m: Drain, ctx: &mut Context<Self>) -> usize {
        self.drain(m.now, ctx)
    }
}

/// What the admin API shows of call control.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ControlStatus {
    pub role: Role,
    pub active_calls: usize,
    pub draining: bool,
    pub worker_calls: Vec<usize>,
    pub mailbox_nodes: Vec<NodeState>,
}

#[derive(Message)]
#[rtype(result = "ControlStatus")]
pub struct GetStatus;

impl Handler<GetStatus> for Supervisor {
    type Result = MessageResult<GetStatus>;
    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        MessageResult(ControlStatus {
            role: self.cfg.role,
            active_calls: self.core.active_calls(),
            draining: self.core.is_draining(),
            worker_calls: self.core.worker_loads().to_vec(),
            mailbox_nodes: self.core.nodes().states().to_vec(),
        })
    }
}

/// The directory in force (the admin API changes gateways on a copy of it).
#[derive(Message)]
#[rtype(result = "Arc<Directory>")]
pub struct GetDirectory;

impl Handler<GetDirectory> for Supervisor {
    type Result = MessageResult<GetDirectory>;
    fn handle(&mut self, _: GetDirectory, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.core.directory().clone())
    }
}

/// New objects from the CLI (auto attendants, imported prompts): new calls use
/// them; calls in progress keep what they started with.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reload {
    pub dir: Arc<Directory>,
    pub prompts: Arc<PromptLibrary>,
}

impl Handler<Reload> for Supervisor {
    type Result = ();
    fn handle(&mut self, m: Reload, _: &mut Context<Self>) {
        if let Some(media) = self.media.as_mut() {
            media.prompts = m.prompts;
        }
        for l in &self.listeners {
            l.do_send(DirectoryChanged(m.dir.clone()));
        }
        self.core.set_directory(m.dir);
    }
}
