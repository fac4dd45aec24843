//! Call setup in the endpoint: the INVITE decision chain (route, security, admission,
//! SDP), answering with early or delayed offer, re-INVITEs, and starting the call
//! actor on the least-loaded worker.
//!
//! Delayed offer (RFC 3261 §13.2.1, an INVITE without SDP, as Cisco CUCM and some
//! SBCs send): we answer 200 with our offer and take the answer from the ACK; the
//! call actor starts only then, because codec and remote address are unknown before.

use super::{ALLOW, CallEntry, CallState, PendingCall, SipEndpoint};
use crate::actors::call::{CallActor, CallInfo, UpdateMedia};
use crate::directory::{Route, VoipSecurity};
use crate::ivr::call::{CallCore, CallParams};
use crate::ivr::deposit::DepositParams;
use crate::sdp;
use crate::sip::dialog::Dialog;
use crate::sip::msg::{self, Request};
use crate::sip::token;
use crate::sip::transaction::{Flow, Transport, TxId};
use actix::prelude::*;
use rand::Rng;
use std::net::SocketAddr;
use std::time::Instant;

/// Numbers the call was diverted from, most recent first: Diversion (RFC 5806, the
/// topmost is the latest) then History-Info (RFC 7044, entries before the last one,
/// latest first).
pub fn diverted_numbers(req: &Request) -> Vec<String> {
    let mut v: Vec<String> = req
        .headers
        .get_all("Diversion")
        .filter_map(|d| msg::uri_user(msg::addr_uri(d)))
        .map(str::to_string)
        .collect();
    let hi: Vec<&str> = req
        .headers
        .get_all("History-Info")
        .filter_map(|h| msg::uri_user(msg::addr_uri(h)))
        .collect();
    v.extend(hi.iter().rev().skip(1).map(|s| s.to_string()));
    v
}

impl SipEndpoint {
    pub(super) fn on_invite(
        &mut self,
        now: Instant,
        tx: TxId,
        req: Request,
        flow: Flow,
        ctx: &mut Context<Self>,
    ) {
        if self.draining {
            return self.reject(now, tx, &req, 503, "shutting down");
        }
        if self.calls.contains_key(req.call_id()) {
            return self.reject(
                now,
                tx,
                &req,
                482,
                "a call with this Call-ID is already in progress",
            );
        }
        // Trust was checked on arrival; look the gateway up again for routing.
        let Some(gw) = self.dir.gateway_for(flow.peer.ip()).cloned() else {
            return self.reject(now, tx, &req, 403, "untrusted SIP peer");
        };
        let called = msg::uri_user(&req.uri).map(str::to_string);
        let diverted = diverted_numbers(&req);
        let (dial_plan, extension) = match self.dir.route(&gw, called.as_deref(), &diverted) {
            Ok(Route::Voicemail {
                dial_plan,
                extension,
            }) => (dial_plan, extension),
            Ok(Route::AutoAttendant { name }) => {
                let why = format!("auto attendant {name} is not available yet");
                return self.reject(now, tx, &req, 480, &why);
            }
            Ok(Route::SubscriberAccess { dial_plan }) => {
                let why =
                    format!("subscriber access for dial plan {dial_plan} is not available yet");
                return self.reject(now, tx, &req, 480, &why);
            }
            Err(e) => return self.reject(now, tx, &req, 404, &e.to_string()),
        };
        let Some(dp) = self.dir.dial_plan(&dial_plan) else {
            return self.reject(now, tx, &req, 500, "dial plan vanished");
        };
        // Seed 003: the dial plan's VoIP security decides the transports; a call
        // that does not fit fails with an "incompatible security setting" reason.
        let tls = flow.transport == Transport::Tls;
        if tls != (dp.voip_security != VoipSecurity::Unsecured) {
            let why = format!(
                "incompatible VoIP security setting: dial plan {} is {:?}, the call arrived over {}",
                dp.name,
                dp.voip_security,
                flow.transport.via_name()
            );
            return self.reject(now, tx, &req, 403, &why);
        }
        if self.calls.len() >= self.cfg.max_calls_allowed {
            return self.reject(now, tx, &req, 503, "MaxCallsAllowed reached");
        }
        if let Some(ct) = req.headers.get("Content-Type")
            && !req.body.is_empty()
            && !ct.to_ascii_lowercase().starts_with("application/sdp")
        {
            return self.reject(
                now,
                tx,
                &req,
                415,
                "only application/sdp bodies are accepted",
            );
        }
        // Secured dial plans key SRTP with fresh random material (StdRng is a CSPRNG).
        let srtp_key = (dp.voip_security == VoipSecurity::Secured).then(|| {
            let mut k = [0u8; sdp::MAX_MASTER_LEN];
            self.rng.fill(&mut k[..]);
            k
        });
        // Early offer: negotiate now. Delayed offer: after the ACK.
        let negotiated = if req.body.is_empty() {
            None
        } else {
            let offer = match sdp::parse(&req.body) {
                Ok(o) => o,
                Err(e) => return self.reject(now, tx, &req, 400, &format!("bad SDP: {e}")),
            };
            match sdp::negotiate(&offer, srtp_key.as_ref().map(|k| &k[..])) {
                Ok(n) => Some(n),
                Err(e) => return self.reject(now, tx, &req, 488, &e.to_string()),
            }
        };
        let Some((mailbox, policy)) = self
            .dir
            .mailbox(&dial_plan, &extension)
            .and_then(|m| Some((m, self.dir.mailbox_policy(m)?)))
        else {
            return self.reject(now, tx, &req, 500, "mailbox or policy vanished");
        };
        let Some(socket) = self.ports.bind() else {
            return self.reject(
                now,
                tx,
                &req,
                503,
                "no free RTP port in the configured range",
            );
        };
        let Ok(local_port) = socket.local_addr().map(|a| a.port()) else {
            return self.reject(now, tx, &req, 503, "RTP socket has no address");
        };
        let local_media = SocketAddr::new(self.cfg.address, local_port);

        let tag = token(&mut self.rng);
        let from = req.headers.get("From").unwrap_or("");
        let caller_id = msg::uri_user(msg::addr_uri(from)).unwrap_or("").to_string();
        let pending = PendingCall {
            info: CallInfo {
                call_id: req.call_id().to_string(),
                mailbox: mailbox.extension.clone(),
                caller_id: caller_id.clone(),
                caller_name: msg::addr_display(from).map(str::to_string),
                worker: 0,
            },
            deposit: DepositParams {
                extension: mailbox.extension.clone(),
                has_personal_greeting: false,
                max_message: policy.max_message,
                silence_timeout: policy.silence_timeout,
                min_message: policy.min_message,
            },
            socket,
        };
        let session_id: u64 = self.rng.r#gen::<u32>() as u64;
        let (body, state) = match &negotiated {
            Some(n) => (
                sdp::answer(n, local_media, session_id, 1),
                CallState::Running(self.start_call(pending, n, ctx)),
            ),
            None => (
                sdp::offer(
                    local_media,
                    session_id,
                    1,
                    srtp_key.as_ref().map(|k| &k[..]),
                ),
                CallState::AwaitingAnswer(Box::new(pending)),
            ),
        };
        let mut ok = msg::response_to(&req, 200, Some(&tag));
        let transport = match flow.transport {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
            Transport::Tls => ";transport=tls",
        };
        let user = called.as_deref().unwrap_or("openum");
        ok.headers.push(
            "Contact",
            format!("<sip:{user}@{}{transport}>", self.via_host(flow.transport)),
        );
        ok.headers.push("Allow", ALLOW);
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = body.into_bytes();
        metrics::counter!("openum_calls_answered_total").increment(1);
        tracing::info!(
            event = "call_answered",
            call_id = req.call_id(),
            mailbox = %extension,
            dial_plan = %dial_plan,
            gateway = %gw.name,
            caller = %caller_id,
            codec = negotiated.as_ref().map_or("after ACK", |n| n.law.name()),
            dtmf_pt = ?negotiated.as_ref().and_then(|n| n.dtmf_pt),
            delayed_offer = negotiated.is_none(),
            transport = flow.transport.via_name(),
            rtp_port = local_port,
        );
        self.calls.insert(
            req.call_id().to_string(),
            CallEntry {
                dialog: Dialog::from_invite(&req, &tag, flow),
                state,
                invite_tx: Some(tx),
                session_id,
                sdp_version: 1,
                local_media,
                negotiated,
                srtp_key,
                bye_sent: false,
            },
        );
        metrics::gauge!("openum_calls_active").set(self.calls.len() as f64);
        self.respond(now, tx, ok);
    }

    /// Start the call actor on the least-loaded worker arbiter.
    fn start_call(
        &mut self,
        p: PendingCall,
        n: &sdp::Negotiated,
        ctx: &mut Context<Self>,
    ) -> Addr<CallActor> {
        let params = CallParams {
            law: n.law,
            pt: n.pt,
            dtmf_pt: n.dtmf_pt,
            remote: n.remote,
            ssrc: self.rng.r#gen(),
            seq: self.rng.r#gen(),
            ts: self.rng.r#gen(),
            deposit: p.deposit,
        };
        let core = CallCore::new(params, self.prompts.clone());
        let worker = (0..self.workers.len())
            .min_by_key(|&i| self.workers[i].1)
            .unwrap_or(0);
        let mut info = p.info;
        info.worker = worker;
        let (ep, store, socket, srtp) =
            (ctx.address(), self.store.clone(), p.socket, n.srtp.clone());
        let make =
            move |_: &mut Context<CallActor>| CallActor::new(info, core, socket, ep, store, srtp);
        match self.workers.get_mut(worker) {
            Some((arbiter, load)) => {
                *load += 1;
                CallActor::start_in_arbiter(arbiter, make)
            }
            // Only without worker arbiters at all (never configured so): run here.
            None => CallActor::create(make),
        }
    }

    /// The ACK for our 2xx. With delayed offer it carries the SDP answer.
    pub(super) fn on_acked(
        &mut self,
        now: Instant,
        call_id: &str,
        body: &[u8],
        ctx: &mut Context<Self>,
    ) {
        let Some(entry) = self.calls.get_mut(call_id) else {
            return;
        };
        entry.invite_tx = None;
        if !matches!(entry.state, CallState::AwaitingAnswer(_)) {
            return;
        }
        let key = entry.srtp_key;
        let answer =
            sdp::parse(body).and_then(|s| sdp::negotiate(&s, key.as_ref().map(|k| &k[..])));
        let n = match answer {
            Ok(n) => n,
            Err(e) => {
                metrics::counter!("openum_calls_rejected_total", "status" => "ack-sdp")
                    .increment(1);
                tracing::warn!(event = "call_rejected", status = 488, call_id, reason = %format!("the ACK carried no usable SDP answer: {e}"));
                self.hang_up_pending(now, call_id);
                return;
            }
        };
        let Some(entry) = self.calls.get_mut(call_id) else {
            return;
        };
        let state = std::mem::replace(&mut entry.state, CallState::Starting);
        let CallState::AwaitingAnswer(p) = state else {
            return;
        };
        let actor = self.start_call(*p, &n, ctx);
        if let Some(entry) = self.calls.get_mut(call_id) {
            entry.state = CallState::Running(actor);
            entry.negotiated = Some(n);
        }
    }

    /// End a call that never got a call actor: BYE and forget it.
    pub(super) fn hang_up_pending(&mut self, now: Instant, call_id: &str) {
        self.send_bye(now, call_id);
        if self.calls.remove(call_id).is_some() {
            tracing::info!(event = "call_ended", call_id, "before media started");
        }
        metrics::gauge!("openum_calls_active").set(self.calls.len() as f64);
    }

    pub(super) fn on_reinvite(&mut self, now: Instant, tx: TxId, req: Request) {
        let Some(c) = self
            .calls
            .get_mut(req.call_id())
            .filter(|c| c.dialog.matches(&req))
        else {
            return self.reject(now, tx, &req, 481, "no such dialog");
        };
        let Some(current) = c.negotiated.clone() else {
            return self.reject(now, tx, &req, 491, "the first offer/answer is not complete");
        };
        // A refresh without SDP keeps the session; with SDP the stream may move or be
        // held. The codec stays ours unless the new offer drops it (then 488).
        let mut n = current;
        if !req.body.is_empty() {
            let key = c.srtp_key;
            match sdp::parse(&req.body)
                .and_then(|s| sdp::negotiate(&s, key.as_ref().map(|k| &k[..])))
            {
                Ok(new) if new.law == n.law => {
                    if let CallState::Running(a) = &c.state {
                        a.do_send(UpdateMedia {
                            remote: new.remote,
                            srtp_remote_key: new.srtp.as_ref().map(|c| c.remote_key.clone()),
                        });
                    }
                    n.remote = new.remote;
                    n.direction = new.direction;
                    if let (Some(old), Some(new)) = (n.srtp.as_mut(), new.srtp) {
                        old.remote_key = new.remote_key;
                    }
                }
                Ok(_) => {
                    return self.reject(
                        now,
                        tx,
                        &req,
                        488,
                        "changing the codec mid-call is not supported",
                    );
                }
                Err(e) => return self.reject(now, tx, &req, 488, &e.to_string()),
            }
        }
        c.negotiated = Some(n.clone());
        c.sdp_version += 1;
        c.dialog.remote_cseq = req.cseq().map_or(c.dialog.remote_cseq, |x| x.seq);
        let body = sdp::answer(&n, c.local_media, c.session_id, c.sdp_version);
        let tag = c.dialog.local_tag.clone();
        let flow_transport = c.dialog.flow.transport;
        let mut r = msg::response_to(&req, 200, Some(&tag));
        r.headers.push(
            "Contact",
            format!("<sip:{}>", self.via_host(flow_transport)),
        );
        r.headers.push("Content-Type", "application/sdp");
        r.body = body.into_bytes();
        self.respond(now, tx, r);
    }
}
