//! A running call's session, as the call-control core keeps it: offers in the
//! dialog (re-INVITE, RFC 3261 §14; UPDATE, RFC 3311) that move, hold or
//! re-key the media, and the RFC 4028 session timer they refresh — our own
//! refreshes (UPDATE) when we are the refresher, and the BYE for a session
//! whose refreshes stopped. See [`super::timer`] for the rules.
//!
//! Part of `callctl`; depends on `sdp`, `sip` and `timer`.

use super::timer::{self, Ask, Due, SessionTimer};
use super::{CallControl, Output, Phase, SUPPORTED};
use crate::media::codec::CodecOrder;
use crate::sdp;
use crate::sip::msg::{self, Method, Request};
use crate::sip::transaction::TxId;
use std::time::Instant;

impl CallControl {
    pub(super) fn on_reinvite(&mut self, now: Instant, tx: TxId, req: Request) {
        self.offer_in_dialog(now, tx, req, false);
    }

    pub(super) fn on_update(&mut self, now: Instant, tx: TxId, req: Request) {
        self.offer_in_dialog(now, tx, req, true);
    }

    /// A re-INVITE or UPDATE: a refresh, and with SDP a new offer. An UPDATE
    /// without SDP is answered without SDP (RFC 3311 §5.2); a re-INVITE without
    /// one gets our SDP as the offer (its answer comes in the ACK).
    fn offer_in_dialog(&mut self, now: Instant, tx: TxId, req: Request, update: bool) {
        let Some(c) = self
            .calls
            .get(req.call_id())
            .filter(|c| c.dialog.matches(&req) && !c.bye_received)
        else {
            return self.reject(tx, &req, 481, "no such dialog", None);
        };
        let Some(mut n) = c.negotiated.clone() else {
            return self.reject(
                tx,
                &req,
                491,
                "the first offer/answer is not complete",
                None,
            );
        };
        let ask = timer::ask(&req);
        if let Ask::TooSmall { min } = ask {
            let why = format!("Session-Expires is below our Min-SE of {min} s");
            return self.reject_with(tx, &req, 422, &why, None, &[("Min-SE", min.to_string())]);
        }
        let body = match super::body::sdp_of(&req) {
            Ok(b) => b.into_owned(),
            Err(why) => return self.reject(tx, &req, 415, &why, None),
        };
        // With SDP the stream may move or be held. The codec we send stays
        // unless the new offer drops it (then 488); the answer lists what is
        // still joint.
        if !body.is_empty() {
            let key = c.srtp_key;
            let mut ours = vec![n.codec.preference()];
            ours.extend(n.joint.iter().map(|(c, _)| c.preference()).skip(1));
            match sdp::parse(&body).and_then(|s| {
                sdp::negotiate(&s, key.as_ref().map(|k| &k[..]), &ours, CodecOrder::Ours)
            }) {
                Ok(new) if new.pt == n.pt => {
                    if c.phase == Phase::Running {
                        self.out.push_back(Output::UpdateMedia {
                            call_id: req.call_id().to_string(),
                            remote: new.remote,
                            srtp_remote_key: new.srtp.as_ref().map(|c| c.remote_key.clone()),
                            joint: new.joint.clone(),
                            unanswered: new.unanswered.clone(),
                            dtmf_pt: new.dtmf_pt,
                            hold: new.on_hold(),
                        });
                    }
                    n.remote = new.remote;
                    n.direction = new.direction;
                    n.joint = new.joint;
                    n.unanswered = new.unanswered;
                    n.dtmf_pt = new.dtmf_pt;
                    n.dtmf_rate = new.dtmf_rate;
                    if let (Some(old), Some(new)) = (n.srtp.as_mut(), new.srtp) {
                        old.remote_key = new.remote_key;
                    }
                }
                Ok(_) | Err(sdp::SdpError::NoCommonCodec(_)) => {
                    let why = "changing the codec mid-call is not supported";
                    return self.reject(tx, &req, 488, why, None);
                }
                Err(e) => return self.reject(tx, &req, 488, &e.to_string(), None),
            }
        }
        let contact = format!("<sip:{}>", self.via_host(c.dialog.flow.transport));
        let Some(c) = self.calls.get_mut(req.call_id()) else {
            return;
        };
        // Any request in the dialog is a refresh (RFC 4028 §10); one with a
        // Session-Expires may change the interval or the refresher.
        match (ask, c.timer.as_mut()) {
            (Ask::Timer(p), Some(t)) => t.refreshed(now, Some(p)),
            (Ask::Timer(p), None) => c.timer = Some(SessionTimer::new(p, now)),
            (_, Some(t)) => t.refreshed(now, None),
            (_, None) => {}
        }
        c.last_refresh = now;
        if c.phase == Phase::Running {
            self.out.push_back(Output::Refreshed {
                call_id: req.call_id().to_string(),
            });
        }
        c.dialog.remote_cseq = req.cseq().map_or(c.dialog.remote_cseq, |x| x.seq);
        let mut r = msg::response_to(&req, 200, Some(&c.dialog.local_tag));
        r.headers.push("Contact", contact);
        r.headers.push("Allow", super::ALLOW);
        r.headers.push("Supported", SUPPORTED.join(", "));
        if let Some(t) = &c.timer {
            for (name, v) in timer::response_headers(&t.p) {
                r.headers.push(name, v);
            }
        }
        if !(update && body.is_empty()) {
            c.negotiated = Some(n.clone());
            c.sdp_version += 1;
            let answer = sdp::answer(&n, c.local_media, c.session_id, c.sdp_version);
            r.headers.push("Content-Type", "application/sdp");
            r.body = answer.into_bytes();
        }
        self.respond(tx, r);
    }

    /// When a session timer next needs [`Self::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.calls
            .values()
            .filter(|c| !c.bye_sent)
            .filter_map(|c| c.timer.as_ref().map(|t| t.next().0))
            .min()
    }

    /// Session timers that are due: send our refreshes, end expired sessions.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<(String, Due)> = self
            .calls
            .iter()
            .filter(|(_, c)| !c.bye_sent)
            .filter_map(|(id, c)| {
                let (at, what) = c.timer.as_ref()?.next();
                (at <= now).then(|| (id.clone(), what))
            })
            .collect();
        for (call_id, what) in due {
            match what {
                Due::Refresh => self.send_refresh(&call_id),
                Due::Expire => self.expire(now, &call_id, "no session refresh came"),
            }
        }
    }

    /// Our refresh, by UPDATE without SDP (RFC 4028 §7.4, RFC 3311).
    fn send_refresh(&mut self, call_id: &str) {
        let Some(t) = self.calls.get_mut(call_id).and_then(|c| c.timer.as_mut()) else {
            return;
        };
        t.refreshing = true;
        let interval = t.p.interval;
        let Some((mut update, via, flow)) = self.dialog_request(call_id, Method::Update) else {
            return;
        };
        update
            .headers
            .push("Session-Expires", format!("{interval};refresher=uas"));
        update.headers.push("Supported", SUPPORTED.join(", "));
        update.headers.push("Contact", format!("<sip:{via}>"));
        self.out.push_back(Output::Refresh {
            call_id: call_id.to_string(),
            request: update,
            flow,
        });
    }

    /// What our refresh got: 2xx renews the session; a peer that does not do
    /// UPDATE (405, 501) keeps its session without timer (the RTP inactivity
    /// limit still ends a dead one); anything else, or no answer, ends it.
    pub fn handle_refresh_outcome(&mut self, now: Instant, call_id: &str, status: Option<u16>) {
        let Some(c) = self.calls.get_mut(call_id) else {
            return;
        };
        match status {
            Some(s) if (200..300).contains(&s) => {
                if let Some(t) = c.timer.as_mut() {
                    t.refreshed(now, None);
                }
                c.last_refresh = now;
                if c.phase == Phase::Running {
                    self.out.push_back(Output::Refreshed {
                        call_id: call_id.to_string(),
                    });
                }
            }
            Some(s @ (405 | 501)) => {
                c.timer = None;
                self.out.push_back(Output::SessionTimer {
                    call_id: call_id.to_string(),
                    what: "refresh_unsupported",
                    detail: format!("the peer answered {s} to our UPDATE: session timer off"),
                });
            }
            Some(s) => self.expire(now, call_id, &format!("our refresh got {s}")),
            None => self.expire(now, call_id, "our refresh got no answer"),
        }
    }

    /// End a session whose timer ran out (RFC 4028 §10): BYE, and the call
    /// actor commits what was recorded.
    fn expire(&mut self, now: Instant, call_id: &str, why: &str) {
        let Some(c) = self.calls.get_mut(call_id) else {
            return;
        };
        c.timer = None;
        let phase = c.phase;
        self.out.push_back(Output::SessionTimer {
            call_id: call_id.to_string(),
            what: "session_expired",
            detail: why.to_string(),
        });
        match phase {
            Phase::Running => self.out.push_back(Output::LocalHangup {
                call_id: call_id.to_string(),
            }),
            Phase::AwaitingAnswer => self.end_before_media(now, call_id, why),
        }
    }
}
