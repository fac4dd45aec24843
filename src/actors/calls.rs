//! The supervisor's book of calls: the calls in progress (Get-UMActiveCalls:
//! gateway, dial plan, numbers, call type, state, menu step, codec, security,
//! duration) and the call data record each one leaves, refused and redirected
//! calls included. CDRs are batched and written by [`CdrSink`] on a store
//! thread, never on a media worker; the sink also drops records past the
//! retention. Reads the wall clock only to stamp records.

use super::messages::CallReport;
use crate::callctl::{Admission, Rejection};
use crate::directory::Route;
use crate::sip::msg::{addr_uri, uri_user};
use crate::store::cdr::{CallType, Cdr, CdrStore};
use actix::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

fn user(header: Option<&str>) -> String {
    header
        .map(addr_uri)
        .and_then(uri_user)
        .unwrap_or_default()
        .to_string()
}

/// A call in progress.
struct Active {
    cdr: Cdr,
    since: Instant,
    step: String,
    transfer_to: Option<String>,
}

/// A call in progress as `openum calls` and `GET /api/calls` show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActiveCall {
    pub call_id: String,
    pub gateway: String,
    pub dial_plan: String,
    pub dialed_number: String,
    pub call_type: &'static str,
    pub calling_number: String,
    pub diversion_number: Option<String>,
    pub mailbox: String,
    pub call_state: &'static str,
    pub menu_step: String,
    pub codec: String,
    pub security: String,
    pub transport: String,
    pub duration_secs: u64,
}

#[derive(Default)]
pub struct CallBook {
    active: HashMap<String, Active>,
    done: Vec<Cdr>,
}

impl CallBook {
    /// An admitted call (its media starts now, or at the ACK for a delayed offer).
    pub fn admitted(&mut self, a: &Admission, now: Instant) {
        let wall = rfc3339(SystemTime::now());
        let (call_type, mailbox) = match &a.setup.route {
            Route::Voicemail { extension, .. } => (CallType::VoiceMessage, extension.clone()),
            Route::SubscriberAccess { .. } => (
                CallType::SubscriberAccess,
                a.setup.subscriber.clone().unwrap_or_default(),
            ),
            Route::AutoAttendant { name, .. } => (CallType::AutoAttendant, name.clone()),
        };
        let h = &a.req.headers;
        let diverted = Some(user(h.get("Diversion").or_else(|| h.get("History-Info"))))
            .filter(|u| !u.is_empty());
        let (codec, security) = match &a.negotiated {
            Some(n) => (
                n.codec.name().to_string(),
                if n.srtp.is_some() { "SRTP" } else { "RTP" }.to_string(),
            ),
            None => (String::new(), String::new()),
        };
        let cdr = Cdr {
            answered_at: Some(wall.clone()),
            ended_at: String::new(),
            calling: a.setup.caller_id.clone(),
            called: uri_user(&a.req.uri).unwrap_or_default().to_string(),
            diverted_from: diverted,
            gateway: a.gateway.clone(),
            dial_plan: a.setup.route.dial_plan().to_string(),
            mailbox,
            codec,
            transport: a.flow.transport.via_name().to_string(),
            media_security: security,
            ..Cdr::new(a.req.call_id(), &wall, call_type)
        };
        self.active.insert(
            cdr.call_id.clone(),
            Active {
                cdr,
                since: now,
                step: "answering".into(),
                transfer_to: None,
            },
        );
    }

    /// The codec and security settled at the ACK (delayed offer).
    pub fn media(&mut self, call_id: &str, codec: &str, srtp: bool) {
        if let Some(a) = self.active.get_mut(call_id) {
            a.cdr.codec = codec.to_string();
            a.cdr.media_security = if srtp { "SRTP" } else { "RTP" }.into();
        }
    }

    pub fn step(&mut self, call_id: &str, step: String) {
        if let Some(a) = self.active.get_mut(call_id) {
            a.step = step;
        }
    }

    pub fn transfer_asked(&mut self, call_id: &str, extension: &str) {
        if let Some(a) = self.active.get_mut(call_id) {
            a.transfer_to = Some(extension.to_string());
        }
    }

    pub fn transfer_result(&mut self, call_id: &str, ok: bool) {
        if let Some(a) = self.active.get_mut(call_id) {
            if ok {
                a.cdr.transferred_to = a.transfer_to.take();
            } else {
                a.transfer_to = None;
            }
        }
    }

    fn finish(&mut self, call_id: &str, now: Instant, f: impl FnOnce(&mut Cdr)) {
        let Some(mut a) = self.active.remove(call_id) else {
            return;
        };
        a.cdr.ended_at = rfc3339(SystemTime::now());
        a.cdr.duration_ms = now.saturating_duration_since(a.since).as_millis() as u64;
        f(&mut a.cdr);
        if a.cdr.outcome.is_empty() {
            a.cdr.outcome = match (&a.cdr.message_id, &a.cdr.transferred_to) {
                (Some(id), _) => format!("message {id} stored"),
                (None, Some(to)) => format!("transferred to {to}"),
                _ => "abandoned".into(),
            };
        }
        if a.cdr.transferred_to.is_some() && a.cdr.call_type == CallType::AutoAttendant {
            a.cdr.call_type = CallType::Transfer;
        }
        self.record(a.cdr);
    }

    /// The call actor is gone, with its figures when it finished.
    pub fn gone(&mut self, call_id: &str, report: Option<CallReport>, now: Instant) {
        self.finish(call_id, now, |c| match report {
            Some(r) => {
                c.rtp_in = r.rtp_in;
                c.rtp_out = r.rtp_out;
                c.rtp_lost = r.rtp_lost;
                c.jitter_ms = (r.jitter_ms * 100.0).round() / 100.0;
                c.message_id = r.message_id;
                if r.rtp_expected > 0 {
                    let loss = 100.0 * r.rtp_lost as f64 / r.rtp_expected as f64;
                    c.mos = Some(crate::media::quality::mos(
                        loss,
                        r.jitter_ms,
                        c.codec == "opus",
                    ));
                }
                if c.message_id.is_none()
                    && c.call_type == CallType::VoiceMessage
                    && let Some(why) = r.not_kept
                {
                    c.outcome = format!("no message kept ({why})");
                }
            }
            None => c.outcome = "ended by a fault (the call actor died)".into(),
        });
    }

    /// Ended before any media ran (no ACK, CANCEL).
    pub fn ended_before_media(&mut self, call_id: &str, reason: &str, now: Instant) {
        self.finish(call_id, now, |c| {
            c.outcome = format!("abandoned before media: {reason}")
        });
    }

    pub fn refused(&mut self, r: &Rejection) {
        if self.active.contains_key(&r.call_id) {
            // Refused after it was admitted (an ACK without a usable answer).
            let (status, reason) = (r.status, r.reason.clone());
            self.finish(&r.call_id, Instant::now(), |c| {
                c.call_type = CallType::Refused;
                c.status = Some(status);
                c.outcome = format!("refused {status}: {reason}");
                c.reason = Some(reason);
            });
            return;
        }
        let wall = rfc3339(SystemTime::now());
        self.record(Cdr {
            calling: r.calling.clone(),
            called: uri_user(&r.uri).unwrap_or_default().to_string(),
            gateway: r.gateway.clone().unwrap_or_default(),
            outcome: format!("refused {}: {}", r.status, r.reason),
            status: Some(r.status),
            reason: Some(r.reason.clone()),
            ..Cdr::new(&r.call_id, &wall, CallType::Refused)
        });
    }

    pub fn redirected(&mut self, call_id: &str, node: &str, contact: &str) {
        let wall = rfc3339(SystemTime::now());
        self.record(Cdr {
            outcome: format!("redirected to mailbox node {node} ({contact})"),
            status: Some(302),
            ..Cdr::new(call_id, &wall, CallType::Redirected)
        });
    }

    /// Keep a finished call's record for the next batch, and count it.
    fn record(&mut self, cdr: Cdr) {
        let status = cdr.status.unwrap_or(200).to_string();
        metrics::counter!("openum_calls_total", "type" => cdr.call_type.name(), "status" => status)
            .increment(1);
        metrics::counter!("openum_rtp_packets_lost_total").increment(cdr.rtp_lost);
        self.done.push(cdr);
    }

    /// Calls in progress by what they are (the route the call took).
    pub fn active_by_type(&self) -> [(&'static str, usize); 3] {
        let mut n = [
            (CallType::VoiceMessage.name(), 0),
            (CallType::AutoAttendant.name(), 0),
            (CallType::SubscriberAccess.name(), 0),
        ];
        for a in self.active.values() {
            if let Some(slot) = n.iter_mut().find(|(t, _)| *t == a.cdr.call_type.name()) {
                slot.1 += 1;
            }
        }
        n
    }

    /// The records made since the last batch.
    pub fn take_done(&mut self) -> Vec<Cdr> {
        std::mem::take(&mut self.done)
    }

    pub fn list(&self, now: Instant) -> Vec<ActiveCall> {
        let mut v: Vec<ActiveCall> = self
            .active
            .values()
            .map(|a| ActiveCall {
                call_id: a.cdr.call_id.clone(),
                gateway: a.cdr.gateway.clone(),
                dial_plan: a.cdr.dial_plan.clone(),
                dialed_number: a.cdr.called.clone(),
                call_type: a.cdr.call_type.name(),
                calling_number: a.cdr.calling.clone(),
                diversion_number: a.cdr.diverted_from.clone(),
                mailbox: a.cdr.mailbox.clone(),
                call_state: if a.transfer_to.is_some() {
                    "transferring"
                } else {
                    "connected"
                },
                menu_step: a.step.clone(),
                codec: a.cdr.codec.clone(),
                security: a.cdr.media_security.clone(),
                transport: a.cdr.transport.clone(),
                duration_secs: now.saturating_duration_since(a.since).as_secs(),
            })
            .collect();
        v.sort_by_key(|c| std::cmp::Reverse(c.duration_secs));
        v
    }
}

/// A batch of records to keep.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CdrBatch(pub Vec<Cdr>);

/// Writes CDRs (a sync actor on its own thread) and keeps the retention.
pub struct CdrSink {
    pub store: Arc<dyn CdrStore>,
    pub retention: Duration,
    pub last_purge: Option<Instant>,
}

impl Actor for CdrSink {
    type Context = SyncContext<Self>;
}

impl Handler<CdrBatch> for CdrSink {
    type Result = ();
    fn handle(&mut self, m: CdrBatch, _: &mut SyncContext<Self>) {
        let n = m.0.len();
        if n > 0 {
            match self.store.put_cdrs(&m.0) {
                Ok(()) => metrics::counter!("openum_cdrs_written_total").increment(n as u64),
                Err(e) => {
                    metrics::counter!("openum_cdrs_lost_total").increment(n as u64);
                    tracing::warn!(event = "cdr_write_failed", records = n, error = %e, "call data records not kept");
                }
            }
        }
        let due = self
            .last_purge
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(3600));
        if due {
            self.last_purge = Some(Instant::now());
            let before = rfc3339(SystemTime::now() - self.retention);
            match self.store.purge_cdrs(&before) {
                Ok(0) => {}
                Ok(k) => tracing::info!(event = "cdrs_purged", records = k, before = %before),
                Err(e) => tracing::warn!(event = "cdr_purge_failed", error = %e),
            }
        }
    }
}
