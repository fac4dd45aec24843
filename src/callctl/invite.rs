//! The decision on a new INVITE, in this order (the first that applies wins):
//!
//! | check | refusal |
//! |---|---|
//! | draining | 503 + Retry-After |
//! | Call-ID already in progress | 482 |
//! | peer is no IP gateway | 403 |
//! | gateway Disabled / NoNewCalls | 403 / 503 + Retry-After, with a Warning |
//! | no hunt group, pilot or mailbox for the called party | 404 |
//! | transport does not fit the dial plan's VoIP security (seed 003) | 403 + Warning |
//! | router role: no healthy mailbox node | 503 + Retry-After (else 302) |
//! | auto attendant disabled; subscriber access (not built yet) | 480 + Warning |
//! | MaxCallsAllowed, gateway or dial-plan limit | 503 + Retry-After |
//! | a body that is not SDP | 415 |
//! | unreadable SDP / no usable codec or crypto | 400 / 488 |
//!
//! An admitted call is answered by [`CallControl::accept`] once the shell has bound
//! its RTP socket (or refused by [`CallControl::refuse`] when it could not).

use super::{CallControl, CallSetup, FAULT_HEADER, Output, Phase, SUPPORTED};
use crate::config::Role;
use crate::directory::{GatewayState, Party, Route, VoipSecurity};
use crate::ivr::deposit::DepositParams;
use crate::media::codec::AudioCodec;
use crate::sdp;
use crate::sip::dialog::Dialog;
use crate::sip::msg::{self, Request};
use crate::sip::token;
use crate::sip::transaction::{Flow, Transport, TxId};
use rand::Rng;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Parties the call was diverted from, most recent first: Diversion (RFC 5806, the
/// topmost is the latest) then History-Info (RFC 7044, entries before the last one,
/// latest first).
pub fn diverted_parties(req: &Request) -> Vec<Party> {
    let mut v: Vec<Party> = req
        .headers
        .get_all("Diversion")
        .filter_map(|d| Party::from_uri(msg::addr_uri(d)))
        .collect();
    let hi: Vec<Party> = req
        .headers
        .get_all("History-Info")
        .filter_map(|h| Party::from_uri(msg::addr_uri(h)))
        .collect();
    v.extend(hi.into_iter().rev().skip(1));
    v
}

/// An INVITE the core admitted: the shell binds an RTP socket, then calls
/// [`CallControl::accept`] (or [`CallControl::refuse`]).
#[derive(Debug)]
pub struct Admission {
    pub tx: TxId,
    pub req: Request,
    pub flow: Flow,
    pub gateway: String,
    pub setup: CallSetup,
    /// The early offer's result; None for delayed offer (negotiated at the ACK).
    pub negotiated: Option<sdp::Negotiated>,
    srtp_key: Option<[u8; sdp::MAX_MASTER_LEN]>,
    /// The dial plan's codecs, for our offer (delayed offer).
    codecs: Vec<AudioCodec>,
    /// The session timer the INVITE asked for (RFC 4028).
    timer: Option<super::timer::Params>,
}

impl CallControl {
    /// Decide on a new INVITE (no To tag). None: refused or redirected (the answer
    /// is queued). Some: admitted, waiting for the shell's RTP socket.
    pub fn handle_invite(
        &mut self,
        _now: Instant,
        tx: TxId,
        req: Request,
        flow: Flow,
    ) -> Option<Admission> {
        if self.draining {
            self.reject(tx, &req, 503, "draining: no new calls", None);
            return None;
        }
        if self.calls.contains_key(req.call_id()) {
            let why = "a call with this Call-ID is already in progress";
            self.reject(tx, &req, 482, why, None);
            return None;
        }
        let dir = self.dir.clone();
        let Some(gw) = dir.gateway_for(flow.peer.ip()) else {
            self.reject(tx, &req, 403, "untrusted SIP peer", None);
            return None;
        };
        let g = Some(gw.name.as_str());
        if !self.acceptable(tx, &req, g) {
            return None;
        }
        match gw.status {
            GatewayState::Enabled => {}
            GatewayState::Disabled => {
                let why = format!("IP gateway {} is disabled", gw.name);
                self.reject(tx, &req, 403, &why, g);
                return None;
            }
            GatewayState::NoNewCalls => {
                let why = format!("IP gateway {} takes no new calls (NoNewCalls)", gw.name);
                self.reject(tx, &req, 503, &why, g);
                return None;
            }
        }
        let called = Party::from_uri(&req.uri);
        let diverted = diverted_parties(&req);
        let route = match dir.route(gw, called.as_ref(), &diverted) {
            Ok(r) => r,
            Err(e) => {
                self.reject(tx, &req, 404, &e.to_string(), g);
                return None;
            }
        };
        if let (Route::SubscriberAccess { dial_plan }, false) = (&route, diverted.is_empty()) {
            let parties: Vec<String> = diverted.iter().map(|p| p.user.clone()).collect();
            self.out.push_back(Output::DiversionUnmatched {
                call_id: req.call_id().to_string(),
                dial_plan: dial_plan.clone(),
                parties: parties.join(","),
            });
        }
        let Some(dp) = dir.dial_plan(route.dial_plan()) else {
            self.reject(tx, &req, 500, "dial plan vanished", g);
            return None;
        };
        // Seed 003: the dial plan's VoIP security decides the transports; a call that
        // does not fit fails with an "incompatible security setting" reason.
        let tls = flow.transport == Transport::Tls;
        if tls != (dp.voip_security != VoipSecurity::Unsecured) {
            let why = format!(
                "incompatible VoIP security setting: dial plan {} is {:?}, the call arrived over {}",
                dp.name,
                dp.voip_security,
                flow.transport.via_name()
            );
            self.reject(tx, &req, 403, &why, g);
            return None;
        }
        if self.s.role == Role::Router {
            self.redirect(tx, &req, flow, called.as_ref(), g);
            return None;
        }
        let extension = match &route {
            Route::Voicemail { extension, .. } => Some(extension.clone()),
            Route::AutoAttendant { name, .. } => {
                if !dir
                    .auto_attendants
                    .iter()
                    .any(|a| &a.name == name && a.enabled)
                {
                    let why = format!("auto attendant {name} is disabled");
                    self.reject(tx, &req, 480, &why, g);
                    return None;
                }
                None
            }
            Route::SubscriberAccess { .. } => None,
        };
        if self.calls.len() >= self.s.max_calls {
            self.reject(tx, &req, 503, "MaxCallsAllowed reached", g);
            return None;
        }
        if let Some(max) = gw.max_calls
            && self.calls_of_gateway(&gw.name) >= max
        {
            let why = format!(
                "IP gateway {} has reached its limit of {max} calls",
                gw.name
            );
            self.reject(tx, &req, 503, &why, g);
            return None;
        }
        if let Some(max) = dp.max_calls
            && self.by_dial_plan.get(&dp.name).copied().unwrap_or(0) >= max
        {
            let why = format!("dial plan {} has reached its limit of {max} calls", dp.name);
            self.reject(tx, &req, 503, &why, g);
            return None;
        }
        let timer = match super::timer::ask(&req) {
            super::timer::Ask::None => None,
            super::timer::Ask::Timer(p) => Some(p),
            super::timer::Ask::TooSmall { min } => {
                let why = format!("Session-Expires is below our Min-SE of {min} s");
                self.reject_with(tx, &req, 422, &why, g, &[("Min-SE", min.to_string())]);
                return None;
            }
        };
        let body = match super::body::sdp_of(&req) {
            Ok(b) => b,
            Err(why) => {
                self.reject(tx, &req, 415, &why, g);
                return None;
            }
        };
        // Secured dial plans key SRTP with fresh random material (StdRng is a CSPRNG,
        // seeded from the OS by the shell).
        let srtp_key = (dp.voip_security == VoipSecurity::Secured).then(|| {
            let mut k = [0u8; sdp::MAX_MASTER_LEN];
            self.rng.fill(&mut k[..]);
            k
        });
        let negotiated = if body.is_empty() {
            None
        } else {
            let offer = match sdp::parse(&body) {
                Ok(o) => o,
                Err(e) => {
                    self.reject(tx, &req, 400, &format!("bad SDP: {e}"), g);
                    return None;
                }
            };
            let key = srtp_key.as_ref().map(|k| &k[..]);
            match sdp::negotiate(&offer, key, &dp.audio_codecs, dp.codec_order) {
                Ok(n) => Some(n),
                Err(e) => {
                    self.reject(tx, &req, 488, &e.to_string(), g);
                    return None;
                }
            }
        };
        let deposit = match &extension {
            Some(extension) => {
                let Some((mailbox, policy)) = dir
                    .mailbox(&dp.name, extension)
                    .and_then(|m| Some((m, dir.mailbox_policy(m)?)))
                else {
                    self.reject(tx, &req, 500, "mailbox or policy vanished", g);
                    return None;
                };
                Some(DepositParams::for_mailbox(mailbox, policy))
            }
            None => None,
        };
        let from = req.headers.get("From").unwrap_or("");
        let caller_id = msg::uri_user(msg::addr_uri(from)).unwrap_or("").to_string();
        // Subscriber access: a calling number that is one of the dial plan's
        // mailboxes goes straight to the PIN.
        let subscriber = match &route {
            Route::SubscriberAccess { dial_plan } => {
                crate::directory::Party::from_uri(msg::addr_uri(from))
                    .and_then(|p| dir.mailbox_for_party(dial_plan, &p))
                    .map(str::to_string)
            }
            _ => None,
        };
        let panic_after = self
            .s
            .fault_injection
            .then(|| req.headers.get(FAULT_HEADER))
            .flatten()
            .and_then(|v| v.strip_prefix("panic-after-ms="))
            .and_then(|ms| ms.trim().parse().ok())
            .map(Duration::from_millis);
        let setup = CallSetup {
            call_id: req.call_id().to_string(),
            mailbox: extension.unwrap_or_default(),
            deposit,
            caller_id,
            caller_name: msg::addr_display(from).map(str::to_string),
            subscriber,
            route,
            panic_after,
        };
        Some(Admission {
            tx,
            gateway: gw.name.clone(),
            req,
            flow,
            setup,
            negotiated,
            srtp_key,
            codecs: dp.audio_codecs.clone(),
            timer,
        })
    }

    /// What every new request must pass before routing (RFC 3261 §8.2.2): a URI
    /// scheme we serve (416) and no extension we do not support in `Require`
    /// (420, naming them in `Unsupported`). False when refused.
    pub(super) fn acceptable(&mut self, tx: TxId, req: &Request, g: Option<&str>) -> bool {
        let scheme = req
            .uri
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        if !matches!(scheme.as_str(), "sip" | "sips" | "tel") {
            let why = format!("unsupported URI scheme {scheme:?}");
            self.reject(tx, req, 416, &why, g);
            return false;
        }
        let required: Vec<String> = req
            .headers
            .get_all("Require")
            .flat_map(msg::split_commas)
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty() && !SUPPORTED.iter().any(|s| t.eq_ignore_ascii_case(s)))
            .collect();
        if !required.is_empty() {
            let why = format!("unsupported extension(s) required: {}", required.join(", "));
            let mut r = msg::response_to(req, 420, Some(&token(&mut self.rng)));
            r.headers.push("Unsupported", required.join(", "));
            self.out.push_back(Output::Rejected(super::Rejection {
                status: 420,
                reason: why,
                method: req.method.as_str().to_string(),
                call_id: req.call_id().to_string(),
                uri: req.uri.clone(),
                gateway: g.map(str::to_string),
                calling: super::calling_user(req),
            }));
            self.respond(tx, r);
            return false;
        }
        true
    }

    /// OPTIONS (RFC 3261 §11.2): the answer an INVITE to the same URI would
    /// get as far as routing goes — 416, 420, 404 for a number nothing serves —
    /// and 200 with our capabilities otherwise. An OPTIONS to the server itself
    /// (no user part: a keep-alive) is always 200.
    pub fn handle_options(&mut self, tx: TxId, req: Request, flow: Flow) {
        if self.draining {
            return self.reject(tx, &req, 503, "draining: no new calls", None);
        }
        let dir = self.dir.clone();
        let gw = dir.gateway_for(flow.peer.ip());
        let g = gw.map(|g| g.name.as_str());
        if !self.acceptable(tx, &req, g) {
            return;
        }
        let called = Party::from_uri(&req.uri);
        if let (Some(gw), Some(called)) = (gw, called.as_ref())
            && self.s.role != Role::Router
            && let Err(e) = dir.route(gw, Some(called), &diverted_parties(&req))
        {
            return self.reject(tx, &req, 404, &e.to_string(), g);
        }
        self.answer_options(tx, req);
    }

    /// Router role: 302 to the least-loaded healthy mailbox node.
    fn redirect(
        &mut self,
        tx: TxId,
        req: &Request,
        flow: Flow,
        called: Option<&Party>,
        gateway: Option<&str>,
    ) {
        let Some(node) = self.nodes.choose().cloned() else {
            let why = "no mailbox-role node is available";
            return self.reject(tx, req, 503, why, gateway);
        };
        let user = called.map_or("openum", |p| p.user.as_str());
        let at = |port| super::host_port(node.address, port);
        let contact = match flow.transport {
            Transport::Udp => format!("sip:{user}@{}", at(node.port)),
            Transport::Tcp => format!("sip:{user}@{};transport=tcp", at(node.port)),
            Transport::Tls => format!("sip:{user}@{};transport=tls", at(node.tls_port)),
        };
        let mut r = msg::response_to(req, 302, Some(&token(&mut self.rng)));
        r.headers.push("Contact", format!("<{contact}>"));
        self.out.push_back(Output::Redirected {
            call_id: req.call_id().to_string(),
            node: node.name.clone(),
            contact,
        });
        self.respond(tx, r);
    }

    /// The shell could not get media resources for an admitted call.
    pub fn refuse(&mut self, a: Admission, status: u16, why: &str) {
        self.reject(a.tx, &a.req, status, why, Some(&a.gateway));
    }

    /// Answer an admitted call (200 with our SDP answer, or our offer for delayed
    /// offer) and, with early offer, start it.
    pub fn accept(&mut self, now: Instant, a: Admission, local_media: SocketAddr) {
        let tag = token(&mut self.rng);
        let session_id: u64 = self.rng.r#gen::<u32>() as u64;
        let body = match &a.negotiated {
            Some(n) => sdp::answer(n, local_media, session_id, 1),
            None => sdp::offer(
                local_media,
                session_id,
                1,
                a.srtp_key.as_ref().map(|k| &k[..]),
                &a.codecs,
            ),
        };
        let mut ok = msg::response_to(&a.req, 200, Some(&tag));
        let transport = match a.flow.transport {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
            Transport::Tls => ";transport=tls",
        };
        let user = msg::uri_user(&a.req.uri).unwrap_or("openum");
        ok.headers.push(
            "Contact",
            format!(
                "<sip:{user}@{}{transport}>",
                self.via_host(a.flow.transport)
            ),
        );
        ok.headers.push("Allow", super::ALLOW);
        ok.headers.push("Supported", SUPPORTED.join(", "));
        if let Some(p) = &a.timer {
            for (n, v) in super::timer::response_headers(p) {
                ok.headers.push(n, v);
            }
        }
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = body.into_bytes();
        let call_id = a.req.call_id().to_string();
        let dial_plan = a.setup.route.dial_plan().to_string();
        *self.by_gateway.entry(a.gateway.clone()).or_default() += 1;
        *self.by_dial_plan.entry(dial_plan).or_default() += 1;
        self.calls.insert(
            call_id.clone(),
            super::Call {
                dialog: Dialog::from_invite(&a.req, &tag, a.flow),
                phase: Phase::AwaitingAnswer,
                gateway: a.gateway,
                route: a.setup.route.clone(),
                worker: 0,
                invite_tx: Some(a.tx),
                session_id,
                sdp_version: 1,
                local_media,
                negotiated: a.negotiated.clone(),
                srtp_key: a.srtp_key,
                bye_sent: false,
                bye_received: false,
                pending: None,
                transfer: None,
                timer: a.timer.map(|p| super::timer::SessionTimer::new(p, now)),
                last_refresh: now,
            },
        );
        self.respond(a.tx, ok);
        match a.negotiated {
            Some(n) => self.start(a.setup, n),
            None => {
                if let Some(c) = self.calls.get_mut(&call_id) {
                    c.pending = Some(Box::new(a.setup));
                }
            }
        }
    }
}
