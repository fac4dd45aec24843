//! CallActor: the shell of one call. Owns the call's RTP socket, arms one timer at
//! the core's `poll_timeout()`, sends what `poll_rtp` yields, and turns core events
//! into store commits and BYE requests.
//!
//! It knows call control only as recipients. A [`Lifeline`] inside the actor tells
//! the supervisor when the actor is gone, however it went: a clean finish, or a
//! panic (the worker's runtime drops the actor while unwinding) — so a dying call
//! actor never leaves its caller connected to nothing.

use super::Wakeup;
use super::media_clock::{ClockSlot, Tick};
use super::messages::{CallGone, CallHangup, TransferRequest};
use super::store::{Deposit, GetGreeting, StoreActor};
use crate::ivr::call::{CallCore, CallEvent};
use crate::ivr::deposit::EndReason;
use crate::media::srtp::SrtpSession;
use crate::sdp::SrtpParams;
use crate::sdp::crypto::SrtpKey;
use crate::store::{Greetings, NewMessage};
use actix::prelude::*;
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::net::UdpSocket;
use tokio_util::codec::BytesCodec;
use tokio_util::udp::UdpFramed;

/// Who called whom, for the stored message.
#[derive(Debug, Clone)]
pub struct CallInfo {
    pub call_id: String,
    pub mailbox: String,
    pub caller_id: String,
    pub caller_name: Option<String>,
    pub worker: usize,
    /// Test-only fault injection: panic this long after the start.
    pub panic_after: Option<std::time::Duration>,
    /// For a subscriber access call: the directory it was routed with, and its
    /// dial plan.
    pub ova: Option<(Arc<crate::directory::Directory>, String)>,
    /// When the call was answered: the caller's clock starts here, so a greeting
    /// that starts later is a slip its recording takes back.
    pub answered_at: Instant,
    /// The dial plan's RTP inactivity limit (zero: none).
    pub rtp_timeout: std::time::Duration,
}

/// How a call reaches call control (recipients: no import of the supervisor).
pub struct Control {
    pub hangup: Recipient<CallHangup>,
    pub transfer: Recipient<TransferRequest>,
    pub step: Recipient<super::messages::CallStep>,
}

impl Control {
    pub fn of<A>(a: &Addr<A>) -> Control
    where
        A: Actor<Context = Context<A>>
            + Handler<CallHangup>
            + Handler<TransferRequest>
            + Handler<super::messages::CallStep>,
    {
        Control {
            hangup: a.clone().recipient(),
            transfer: a.clone().recipient(),
            step: a.clone().recipient(),
        }
    }
}

/// What to do once a mailbox's personal greeting (if any) has been fetched.
type WithGreeting = fn(&mut CallActor, Greetings, &mut Context<CallActor>);

/// Says "gone" to the supervisor when dropped; `clean` once the call finished.
pub struct Lifeline {
    call_id: String,
    to: Recipient<CallGone>,
    clean: bool,
    report: Option<super::messages::CallReport>,
}

impl Lifeline {
    pub fn new(call_id: String, to: Recipient<CallGone>) -> Self {
        Lifeline {
            call_id,
            to,
            clean: false,
            report: None,
        }
    }
}

impl Drop for Lifeline {
    fn drop(&mut self) {
        self.to.do_send(CallGone {
            call_id: std::mem::take(&mut self.call_id),
            clean: self.clean,
            report: self.report.take(),
        });
    }
}

pub struct CallActor {
    pub(super) info: CallInfo,
    pub(super) core: CallCore,
    std_socket: Option<std::net::UdpSocket>,
    socket: Option<Arc<UdpSocket>>,
    control: Control,
    lifeline: Lifeline,
    pub(super) store: Addr<StoreActor>,
    /// Where deposits go (a pool: encoding runs there).
    deposits: Addr<StoreActor>,
    /// Where greetings are read (a pool of its own: a call's start never waits
    /// behind other store work).
    reads: Addr<StoreActor>,
    /// The pacing timer: this worker's media clock; `timer` (tokio, 1 ms
    /// granularity) only if the clock's timerfd could not be made.
    clock: Option<(ClockSlot, Recipient<Tick>)>,
    timer: Wakeup,
    answered: bool,
    pub(super) commit_pending: bool,
    /// We must send BYE ourselves when done (server shutdown, ACK never came).
    bye_owed: bool,
    finished: bool,
    send_errors: u64,
    /// SRTP/SRTCP when the dial plan is Secured (set up in `started`).
    srtp_params: Option<SrtpParams>,
    srtp: Option<SrtpSession>,
    /// Held so the per-packet cost is one atomic add, not a registry lookup.
    rtp_in: metrics::Counter,
    rtp_out: metrics::Counter,
    /// SRTP packets refused (authentication, replay) when recording started.
    srtp_failures_at_recording: u64,
    /// The last packet from the caller or session refresh: with no RTP and no
    /// refresh for the dial plan's `rtp_timeout`, a lost BYE is assumed and the
    /// call ends (paused while the caller holds: RTP may stop then).
    last_activity: Instant,
    held: bool,
    /// For the call data record: the message left, or why none was kept.
    stored_id: Option<String>,
    not_kept: Option<String>,
}

impl CallActor {
    /// Tell the supervisor where the call is (the list of calls in progress).
    fn step(&self, step: &str) {
        self.control.step.do_send(super::messages::CallStep {
            call_id: self.info.call_id.clone(),
            step: step.to_string(),
        });
    }

    pub fn new(
        info: CallInfo,
        core: CallCore,
        socket: std::net::UdpSocket,
        control: Control,
        lifeline: Lifeline,
        (store, deposits, reads): (Addr<StoreActor>, Addr<StoreActor>, Addr<StoreActor>),
        srtp: Option<SrtpParams>,
    ) -> Self {
        CallActor {
            info,
            core,
            std_socket: Some(socket),
            socket: None,
            control,
            lifeline,
            store,
            deposits,
            reads,
            clock: None,
            timer: Wakeup::default(),
            answered: false,
            commit_pending: false,
            bye_owed: false,
            finished: false,
            send_errors: 0,
            srtp_params: srtp,
            srtp: None,
            rtp_in: metrics::counter!("openum_rtp_packets_received_total"),
            rtp_out: metrics::counter!("openum_rtp_packets_sent_total"),
            srtp_failures_at_recording: 0,
            last_activity: Instant::now(),
            held: false,
            stored_id: None,
            not_kept: None,
        }
    }

    /// When the RTP inactivity limit ends the call, if it may.
    fn inactivity_deadline(&self) -> Option<Instant> {
        (!self.info.rtp_timeout.is_zero() && !self.held && !self.bye_owed)
            .then(|| self.last_activity + self.info.rtp_timeout)
    }

    fn srtp_failures(&self) -> u64 {
        self.srtp
            .as_ref()
            .map_or(0, |s| s.auth_failures + s.replays)
    }

    /// Run the core to quiescence and re-arm the timer: the whole shell loop.
    pub(super) fn drive(&mut self, ctx: &mut Context<Self>) {
        if self.finished {
            return;
        }
        let now = Instant::now();
        if self.inactivity_deadline().is_some_and(|d| d <= now) {
            metrics::counter!("openum_rtp_timeouts_total").increment(1);
            tracing::warn!(
                event = "rtp_timeout",
                call_id = %self.info.call_id,
                mailbox = %self.info.mailbox,
                timeout_s = self.info.rtp_timeout.as_secs(),
                rtp_in = self.core.rx_stats().packets,
                "no RTP and no session refresh: ending the call with BYE"
            );
            self.bye_owed = true;
            self.core.handle_hangup(now, EndReason::Shutdown);
        }
        self.core.handle_timeout(now);
        let mut buf = [0u8; crate::media::rtp::MAX_PACKET];
        while let Some((n, to)) = self.core.poll_rtp(now, &mut buf) {
            let sent = match (&self.socket, self.srtp.as_mut()) {
                (Some(s), None) => s.try_send_to(&buf[..n], to).is_ok(),
                (Some(s), Some(srtp)) => match srtp.protect(&buf[..n]) {
                    Ok(p) => s.try_send_to(&p, to).is_ok(),
                    Err(_) => false,
                },
                (None, _) => false,
            };
            if sent {
                self.rtp_out.increment(1);
            } else {
                self.send_errors += 1;
            }
        }
        while let Some(ev) = self.core.poll_event() {
            self.on_event(ev, ctx);
        }
        if self.core.is_done() && !self.commit_pending {
            self.finish(ctx);
            return;
        }
        let next = match (self.core.poll_timeout(), self.inactivity_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match self.clock.as_mut() {
            Some((slot, me)) => slot.schedule(next, me),
            None => self.timer.arm(ctx, now, next, |act, ctx| {
                act.timer.fired_at(Instant::now());
                act.drive(ctx);
            }),
        }
    }

    fn on_event(&mut self, ev: CallEvent, ctx: &mut Context<Self>) {
        let i = &self.info;
        match ev {
            CallEvent::Commit {
                law,
                audio,
                duration,
                reason,
                format,
            } => {
                self.commit_pending = true;
                let msg = NewMessage {
                    mailbox: i.mailbox.clone(),
                    caller_id: i.caller_id.clone(),
                    caller_name: i.caller_name.clone(),
                    received_at: SystemTime::now(),
                    duration_ms: duration.as_millis() as u64,
                    codec: law,
                    call_id: i.call_id.clone(),
                    forwarded_by: None,
                    format,
                };
                let asked = Instant::now();
                self.deposits
                    .send(Deposit { msg, audio })
                    .into_actor(self)
                    .then(move |res, act, ctx| {
                        metrics::histogram!("openum_deposit_commit_seconds")
                            .record(asked.elapsed().as_secs_f64());
                        // The store's refusal and a lost store actor are the same failure.
                        let res = res.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string()));
                        let ok = match res {
                            Ok(meta) => {
                                metrics::counter!("openum_messages_stored_total").increment(1);
                                tracing::info!(
                                    event = "message_stored",
                                    message_id = %meta.id,
                                    mailbox = %meta.mailbox,
                                    caller = %meta.caller_id,
                                    duration_ms = meta.duration_ms,
                                    rate = meta.rate,
                                    format = %meta.format.name(),
                                    end = %reason.name(),
                                    call_id = %act.info.call_id,
                                );
                                act.stored_id = Some(meta.id.clone());
                                true
                            }
                            Err(e) => {
                                metrics::counter!("openum_messages_failed_total").increment(1);
                                tracing::error!(event = "message_store_failed", mailbox = %act.info.mailbox, call_id = %act.info.call_id, error = %e);
                                false
                            }
                        };
                        act.commit_pending = false;
                        act.core.handle_committed(Instant::now(), ok);
                        act.drive(ctx);
                        fut::ready(())
                    })
                    .spawn(ctx);
            }
            CallEvent::Discarded {
                duration,
                reason,
                received,
            } => {
                let srtp_failed = self
                    .srtp_failures()
                    .saturating_sub(self.srtp_failures_at_recording);
                // Audio came but was not audio we could keep: a loss, not a
                // caller who said nothing.
                let why = if received.foreign_pt > 0 {
                    Some("payload_type")
                } else if received.undecodable > 0 {
                    Some("undecodable")
                } else if srtp_failed > 0 {
                    Some("srtp")
                } else {
                    None
                };
                self.not_kept = Some(why.unwrap_or("too_short").to_string());
                match why {
                    Some(why) => {
                        metrics::counter!("openum_messages_not_recorded_total", "reason" => why)
                            .increment(1);
                        tracing::warn!(
                            event = "message_not_recorded",
                            mailbox = %i.mailbox,
                            call_id = %i.call_id,
                            reason = why,
                            duration_ms = duration.as_millis() as u64,
                            rtp_packets = received.packets,
                            rtp_foreign_pt = received.foreign_pt,
                            opus_undecodable = received.undecodable,
                            srtp_failures = srtp_failed,
                            end = %reason.name(),
                            "the caller's audio arrived but could not be kept"
                        );
                    }
                    None => {
                        tracing::info!(event = "message_discarded", mailbox = %i.mailbox, call_id = %i.call_id, duration_ms = duration.as_millis() as u64, rtp_packets = received.packets, end = %reason.name(), "shorter than the policy minimum");
                    }
                }
            }
            CallEvent::ForeignPayloadType { pt } => {
                tracing::warn!(
                    event = "rtp_foreign_payload_type",
                    call_id = %i.call_id,
                    mailbox = %i.mailbox,
                    pt,
                    "packets of a payload type the answer did not list are dropped"
                );
            }
            CallEvent::MalformedRtp { what, len, first } => {
                tracing::info!(
                    event = "rtp_malformed",
                    call_id = %i.call_id,
                    what,
                    len,
                    first_byte = first,
                    "a packet on the RTP port is not RTP (counted as rtp_malformed)"
                );
            }
            CallEvent::RecordingStarted { late } => {
                self.step("recording");
                self.srtp_failures_at_recording = self.srtp_failures();
                tracing::info!(event = "recording_started", call_id = %i.call_id, mailbox = %i.mailbox, greeting_late_ms = late.as_millis() as u64);
            }
            CallEvent::Dtmf(c) => {
                metrics::counter!("openum_dtmf_digits_total").increment(1);
                tracing::debug!(event = "dtmf", call_id = %i.call_id, digit = %c);
            }
            CallEvent::Hangup => {
                self.control.hangup.do_send(CallHangup {
                    call_id: i.call_id.clone(),
                });
            }
            CallEvent::AaStep(s) => {
                self.step(s.step);
                metrics::counter!("openum_aa_menu_steps_total", "step" => s.step).increment(1);
                tracing::info!(
                    event = "aa_menu",
                    call_id = %i.call_id,
                    attendant = %s.attendant,
                    step = %s.step,
                    key = %s.key.as_deref().unwrap_or("-"),
                    prompts = %s.prompts.join(","),
                );
            }
            CallEvent::Transfer { extension } => {
                self.control.transfer.do_send(TransferRequest {
                    call_id: i.call_id.clone(),
                    extension,
                });
            }
            CallEvent::OvaStep(s) => {
                self.step(s.step);
                metrics::counter!("openum_ova_menu_steps_total", "step" => s.step).increment(1);
                tracing::info!(
                    event = "ova_menu",
                    call_id = %i.call_id,
                    mailbox = %s.mailbox.as_deref().unwrap_or("-"),
                    step = %s.step,
                    key = %s.key.map_or("-".to_string(), |k| k.to_string()),
                    prompts = %s.prompts.join(","),
                );
            }
            CallEvent::OvaStore(a) => self.on_ova_store(a, ctx),
            CallEvent::Greeting { lang, prompts } => {
                self.step("greeting");
                tracing::info!(event = "greeting_played", call_id = %i.call_id, mailbox = %i.mailbox, language = %lang.code(), prompts = %prompts.join(","));
            }
            CallEvent::Goodbye { prompts } => {
                tracing::info!(event = "deposit_goodbye", call_id = %i.call_id, mailbox = %i.mailbox, prompts = %prompts.join(","));
            }
            CallEvent::MailboxFull { usage } => {
                metrics::counter!("openum_mailbox_full_total").increment(1);
                tracing::warn!(event = "mailbox_full", call_id = %i.call_id, mailbox = %i.mailbox, messages = usage.messages, stored_ms = usage.stored_ms, "at the policy's quota: nothing recorded");
            }
            CallEvent::SubscriberAccess { dial_plan, dir } => {
                tracing::info!(event = "subscriber_access", call_id = %i.call_id, dial_plan = %dial_plan, from = "auto_attendant");
                self.info.ova = Some((dir, dial_plan));
            }
            CallEvent::NeedGreeting { extension } => {
                // The caller is now leaving a message: for this mailbox.
                self.info.mailbox = extension.clone();
                self.fetch_greeting(extension, false, ctx, |act, greeting, ctx| {
                    act.core.start_deposit(Instant::now(), greeting);
                    act.drive(ctx);
                });
            }
        }
    }

    /// Fetch a mailbox's personal greeting from the store, then run `then` with it
    /// (None when it has none, or when the store failed: logged). With `wait`, the
    /// actor handles nothing else meanwhile (the call's start).
    fn fetch_greeting(
        &mut self,
        mailbox: String,
        wait: bool,
        ctx: &mut Context<Self>,
        then: WithGreeting,
    ) {
        let f = self
            .reads
            .send(GetGreeting(mailbox))
            .into_actor(self)
            .then(move |res, act, ctx| {
                let greeting = match res {
                    Ok(Ok(g)) => g,
                    other => {
                        tracing::warn!(event = "greeting_unavailable", mailbox = %act.info.mailbox, error = %other.map_or_else(|e| e.to_string(), |r| r.err().map(|e| e.to_string()).unwrap_or_default()));
                        Greetings::default()
                    }
                };
                if !act.info.mailbox.is_empty() {
                    tracing::info!(
                        event = "greeting",
                        call_id = %act.info.call_id,
                        mailbox = %act.info.mailbox,
                        own_greeting = greeting.active.is_some(),
                        recorded_name = greeting.name.is_some(),
                    );
                }
                if !act.finished {
                    then(act, greeting, ctx);
                }
                fut::ready(())
            });
        if wait {
            f.wait(ctx);
        } else {
            f.spawn(ctx);
        }
    }

    /// One datagram from the caller: RTP to the core, SRTCP only checked.
    fn on_packet(&mut self, now: Instant, pkt: &[u8]) {
        // STUN (RFC 5389: ICE connectivity checks, keep-alives from a peer
        // whose offer had ICE; we answer without it, RFC 8445 §5.1.1) and
        // DTLS start with 0b00, RTP and RTCP with version 2: such packets are
        // not media, and must not count as SRTP failures.
        if pkt.first().is_some_and(|b| b >> 6 == 0) {
            return;
        }
        self.rtp_in.increment(1);
        self.last_activity = now;
        // RFC 5761: RTCP multiplexed on the RTP port has PT 64–95 (200–204 with
        // the marker bit). We take no action on RTCP, but SRTCP is still checked.
        let rtcp = pkt.len() >= 2 && (192..=223).contains(&pkt[1]);
        match (self.srtp.as_mut(), rtcp) {
            (None, false) => self.core.handle_rtp(now, pkt),
            (None, true) => {}
            (Some(s), false) => {
                if let Ok(plain) = s.unprotect(pkt) {
                    self.core.handle_rtp(now, &plain);
                }
            }
            (Some(s), true) => {
                let _ = s.unprotect_rtcp(pkt);
            }
        }
    }

    /// Take in what the caller sent before hanging up that still waits in the
    /// socket. actix hands the actor its messages before its stream items, so on
    /// a busy worker the BYE's hangup can overtake the last packets of the
    /// message, already queued in the kernel: without this, they were lost and
    /// the message ended up short (seen in a 60-minute soak: 133 of 123,200
    /// messages 40-200 ms short, RTP and SRTP, most while builds loaded the
    /// machine).
    /// Bounded, so a peer flooding the port cannot hold the worker here.
    fn drain_socket(&mut self, now: Instant) {
        const MAX_DRAINED: usize = 256; // 5 s of 20 ms packets
        // Straight from the socket: tokio's `try_recv_from` answers WouldBlock
        // without reading while its reactor has not seen the socket readable, and
        // a starved worker's reactor has not run since the packets came.
        let Some(fd) = self.socket.as_deref().map(std::os::fd::AsRawFd::as_raw_fd) else {
            return;
        };
        let mut buf = [0u8; 2048];
        for _ in 0..MAX_DRAINED {
            // SAFETY: recv writes at most buf.len() bytes into buf, which we own.
            let n =
                unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
            if n < 0 {
                break;
            }
            self.on_packet(now, &buf[..n as usize]);
        }
    }

    fn finish(&mut self, ctx: &mut Context<Self>) {
        self.finished = true;
        if self.bye_owed {
            self.control.hangup.do_send(CallHangup {
                call_id: self.info.call_id.clone(),
            });
        }
        let rx = self.core.rx_stats();
        if rx.foreign_pt > 0 {
            metrics::counter!("openum_rtp_foreign_pt_total").increment(rx.foreign_pt);
        }
        if rx.unanswered_pt > 0 {
            metrics::counter!("openum_rtp_unanswered_pt_total").increment(rx.unanswered_pt);
        }
        let (plc, fec, late) = self.core.opus_stats();
        let (replays, auth_failures) = self
            .srtp
            .as_ref()
            .map_or((0, 0), |s| (s.replays, s.auth_failures));
        tracing::info!(
            event = "call_ended",
            call_id = %self.info.call_id,
            srtp = self.srtp.is_some(),
            rtp_in = rx.packets,
            rtp_malformed = rx.malformed,
            rtp_foreign_pt = rx.foreign_pt,
            rtp_unanswered_pt = rx.unanswered_pt,
            opus_undecodable = self.core.undecodable(),
            srtp_replays = replays,
            srtp_auth_failures = auth_failures,
            opus_plc_frames = plc,
            opus_fec_frames = fec,
            opus_late_packets = late,
            rtp_out = self.core.packets_sent(),
            rtp_send_errors = self.send_errors,
        );
        let q = self.core.rx_quality();
        self.lifeline.report = Some(super::messages::CallReport {
            rtp_in: rx.packets,
            rtp_out: self.core.packets_sent(),
            rtp_lost: q.lost(),
            rtp_expected: q.expected(),
            jitter_ms: q.jitter_ms(),
            message_id: self.stored_id.take(),
            not_kept: self.not_kept.take(),
        });
        self.lifeline.clean = true;
        ctx.stop();
    }
}

impl Actor for CallActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let Some(std_sock) = self.std_socket.take() else {
            return;
        };
        if let Some(d) = self.info.panic_after {
            ctx.run_later(d, |act, _| {
                tracing::warn!(event = "fault_injected", call_id = %act.info.call_id);
                panic!("fault injection: call actor {} panics", act.info.call_id);
            });
        }
        if let Some(p) = self.srtp_params.take() {
            match SrtpSession::with_mki(p.suite, &p.local_key, &p.remote_key, p.mki) {
                Ok(s) => self.srtp = Some(s),
                Err(e) => {
                    // Key material was checked at negotiation; this is a bug, but end
                    // the call cleanly rather than send audio unprotected.
                    tracing::error!(event = "srtp_setup_failed", call_id = %self.info.call_id, error = %e);
                    self.bye_owed = true;
                    self.finish(ctx);
                    return;
                }
            }
        }
        match ClockSlot::attach() {
            Ok(slot) => self.clock = Some((slot, ctx.address().recipient())),
            Err(e) => {
                tracing::warn!(event = "timerfd_unavailable", error = %e, "pacing with the 1 ms tokio timer")
            }
        }
        match UdpSocket::from_std(std_sock) {
            Ok(s) => {
                let s = Arc::new(s);
                ctx.add_stream(UdpFramed::new(s.clone(), BytesCodec::new()));
                self.socket = Some(s);
            }
            Err(e) => {
                tracing::error!(event = "rtp_socket_failed", call_id = %self.info.call_id, error = %e);
                self.bye_owed = true;
                self.finish(ctx);
                return;
            }
        }
        // Start with the mailbox's own greeting if it has one (none for an
        // attendant call: its mailbox is not known yet).
        let mailbox = self.info.mailbox.clone();
        self.fetch_greeting(mailbox, true, ctx, |act, greeting, ctx| {
            if !act.answered {
                act.answered = true;
                act.core
                    .answer(Instant::now(), greeting, act.info.answered_at);
                act.drive(ctx);
            }
        });
    }
}

impl StreamHandler<Result<(BytesMut, SocketAddr), std::io::Error>> for CallActor {
    fn handle(
        &mut self,
        item: Result<(BytesMut, SocketAddr), std::io::Error>,
        ctx: &mut Context<Self>,
    ) {
        if let Ok((pkt, _from)) = item {
            self.on_packet(Instant::now(), &pkt);
            self.drive(ctx);
        }
    }

    /// The socket stream never ends on its own; the call ends by signalling.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

/// The worker's media clock says our deadline has come: record how late, run.
impl Handler<Tick> for CallActor {
    type Result = ();
    fn handle(&mut self, t: Tick, ctx: &mut Context<Self>) {
        let current = self
            .clock
            .as_mut()
            .is_some_and(|(slot, _)| slot.fired(t.id));
        if current {
            super::lateness::record(Instant::now().saturating_duration_since(t.due));
            self.drive(ctx);
        }
    }
}

/// The caller hung up (BYE), or the INVITE was cancelled.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemoteHangup;

impl Handler<RemoteHangup> for CallActor {
    type Result = ();
    fn handle(&mut self, _: RemoteHangup, ctx: &mut Context<Self>) {
        let now = Instant::now();
        self.drain_socket(now);
        self.core.handle_hangup(now, EndReason::RemoteHangup);
        self.drive(ctx);
    }
}

/// End the call from our side: commit what was recorded, then BYE.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LocalHangup;

impl Handler<LocalHangup> for CallActor {
    type Result = ();
    fn handle(&mut self, _: LocalHangup, ctx: &mut Context<Self>) {
        self.bye_owed = true;
        self.core.handle_hangup(Instant::now(), EndReason::Shutdown);
        self.drive(ctx);
    }
}

/// A re-INVITE moved (or held) the media, and may have re-keyed SRTP.
#[derive(Message)]
#[rtype(result = "()")]
pub struct UpdateMedia {
    pub remote: Option<SocketAddr>,
    pub srtp_remote_key: Option<SrtpKey>,
    pub joint: Vec<(crate::media::codec::Codec, u8)>,
    pub unanswered: Vec<(crate::media::codec::Codec, u8)>,
    pub dtmf_pt: Option<u8>,
    pub hold: bool,
}

impl Handler<UpdateMedia> for CallActor {
    type Result = ();
    fn handle(&mut self, m: UpdateMedia, ctx: &mut Context<Self>) {
        let now = Instant::now();
        self.last_activity = now;
        self.held = m.hold;
        self.core.set_remote(m.remote);
        self.core
            .set_payload_types(&m.joint, &m.unanswered, m.dtmf_pt);
        if self.core.set_hold(now, m.hold) {
            tracing::info!(
                event = if m.hold { "call_held" } else { "call_resumed" },
                call_id = %self.info.call_id,
                mailbox = %self.info.mailbox,
            );
        }
        if let (Some(s), Some(k)) = (self.srtp.as_mut(), m.srtp_remote_key)
            && let Err(e) = s.set_remote_key(&k)
        {
            tracing::error!(event = "srtp_rekey_failed", call_id = %self.info.call_id, error = %e);
            self.bye_owed = true;
            self.core.handle_hangup(Instant::now(), EndReason::Shutdown);
            self.drive(ctx);
        }
    }
}

/// The session was refreshed (re-INVITE, UPDATE): the call is alive.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Refreshed;

impl Handler<Refreshed> for CallActor {
    type Result = ();
    fn handle(&mut self, _: Refreshed, ctx: &mut Context<Self>) {
        self.last_activity = Instant::now();
        self.drive(ctx);
    }
}

/// A digit that came by SIP INFO.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DtmfIn(pub char);

impl Handler<DtmfIn> for CallActor {
    type Result = ();
    fn handle(&mut self, m: DtmfIn, ctx: &mut Context<Self>) {
        self.core.handle_dtmf(Instant::now(), m.0);
        self.drive(ctx);
    }
}

/// How a transfer the call asked for ended.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TransferDone {
    pub ok: bool,
}

impl Handler<TransferDone> for CallActor {
    type Result = ();
    fn handle(&mut self, m: TransferDone, ctx: &mut Context<Self>) {
        self.core.handle_transfer_result(Instant::now(), m.ok);
        self.drive(ctx);
    }
}
