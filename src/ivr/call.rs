//! One voicemail call, sans-IO: joins the RTP receiver and sender, the recorder and
//! the [`Deposit`] flow. The call actor feeds it packets and timeouts and drains RTP
//! to send and [`CallEvent`]s (commit this recording, hang up).
//!
//! Loop contract (as str0m's): after any `handle_*`, drain `poll_rtp` until `None`,
//! then `poll_event` until `None`, then sleep until `poll_timeout`.

use super::deposit::{Action, Deposit, DepositParams, EndReason, Prompt};
use super::prompts::PromptLibrary;
use crate::media::g711::Law;
use crate::media::inband::InbandDetector;
use crate::media::recorder::Recorder;
use crate::media::rtp::{Clip, Received, RtpReceiver, RtpSender};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub enum CallEvent {
    /// Store this recording, then call [`CallCore::handle_committed`].
    Commit {
        law: Law,
        audio: Vec<u8>,
        duration: Duration,
        reason: EndReason,
    },
    /// A recording was thrown away (shorter than the policy minimum).
    Discarded {
        duration: Duration,
        reason: EndReason,
    },
    /// A digit was received (for logs/metrics).
    Dtmf(char),
    /// The beep is over; what the caller says from now on is recorded.
    RecordingStarted,
    /// We hang up: send BYE.
    Hangup,
}

#[derive(Debug, Clone)]
pub struct CallParams {
    pub law: Law,
    pub pt: u8,
    pub dtmf_pt: Option<u8>,
    pub remote: Option<SocketAddr>,
    pub ssrc: u32,
    pub seq: u16,
    pub ts: u32,
    pub deposit: DepositParams,
}

#[derive(Debug)]
pub struct CallCore {
    deposit: Deposit,
    rx: RtpReceiver,
    tx: RtpSender,
    remote: Option<SocketAddr>,
    recorder: Option<Recorder>,
    max_message: Duration,
    prompts: Arc<PromptLibrary>,
    personal_greeting: Option<Clip>,
    playing: bool,
    events: VecDeque<CallEvent>,
    /// In-band DTMF detection, when the caller negotiated no telephone-event.
    inband: Option<Box<InbandDetector>>,
    pcm: Vec<i16>,
    digits: Vec<char>,
}

impl CallCore {
    pub fn new(p: CallParams, prompts: Arc<PromptLibrary>) -> Self {
        let deposit_params = p.deposit;
        CallCore {
            max_message: deposit_params.max_message,
            deposit: Deposit::new(deposit_params),
            rx: RtpReceiver::new(p.pt, p.dtmf_pt),
            tx: RtpSender::new(p.law, p.pt, p.ssrc, p.seq, p.ts),
            remote: p.remote,
            recorder: None,
            prompts,
            personal_greeting: None,
            playing: false,
            events: VecDeque::new(),
            inband: p.dtmf_pt.is_none().then(Box::default),
            pcm: Vec::with_capacity(160),
            digits: Vec::new(),
        }
    }

    /// A re-INVITE moved or held the stream.
    pub fn set_remote(&mut self, remote: Option<SocketAddr>) {
        self.remote = remote;
    }

    pub fn rx_stats(&self) -> crate::media::rtp::RxStats {
        self.rx.stats
    }

    pub fn packets_sent(&self) -> u64 {
        self.tx.packets_sent
    }

    fn recorded(&self) -> Duration {
        self.recorder
            .as_ref()
            .map_or(Duration::ZERO, |r| r.duration())
    }

    /// The 200 OK went out: start the greeting (the mailbox's own, if it has one,
    /// given in any law).
    pub fn answer(&mut self, now: Instant, personal_greeting: Option<(Law, Vec<u8>)>) {
        if let Some((law, audio)) = personal_greeting {
            let ours = self.tx.law();
            let clip: Clip = if law == ours {
                audio.into()
            } else {
                audio.iter().map(|&b| ours.encode(law.decode(b))).collect()
            };
            self.personal_greeting = Some(clip);
        }
        self.deposit
            .set_personal_greeting(self.personal_greeting.is_some());
        self.deposit.start(now);
        self.run_actions(now);
    }

    fn clip(&self, p: &Prompt) -> Option<Clip> {
        let law = self.tx.law();
        match p {
            Prompt::Named(n) => self.prompts.get(n, law),
            Prompt::Digit(d) => self.prompts.get(&d.to_string(), law),
            Prompt::PersonalGreeting => self.personal_greeting.clone(),
        }
    }

    fn run_actions(&mut self, now: Instant) {
        while let Some(a) = self.deposit.poll_action() {
            match a {
                Action::Play(list) => {
                    let clips: Vec<Clip> = list.iter().filter_map(|p| self.clip(p)).collect();
                    self.tx.play(now, clips);
                    if self.tx.is_idle() {
                        // Nothing playable: move on rather than wait forever.
                        self.deposit.handle_play_done(now);
                    } else {
                        self.playing = true;
                    }
                }
                Action::StopPlayback => {
                    self.tx.stop();
                    self.playing = false;
                }
                Action::StartRecording => {
                    self.recorder = Some(Recorder::new(self.tx.law(), self.max_message, now));
                    self.events.push_back(CallEvent::RecordingStarted);
                }
                Action::Commit { reason } => {
                    if let Some(r) = self.recorder.take() {
                        let duration = r.duration();
                        let law = r.law();
                        self.events.push_back(CallEvent::Commit {
                            law,
                            audio: r.into_audio(),
                            duration,
                            reason,
                        });
                    }
                }
                Action::Discard { reason } => {
                    let duration = self.recorded();
                    self.recorder = None;
                    self.events
                        .push_back(CallEvent::Discarded { duration, reason });
                }
                Action::Hangup => self.events.push_back(CallEvent::Hangup),
            }
        }
    }

    /// An RTP packet from the caller. Malformed or foreign packets are counted and
    /// otherwise ignored.
    pub fn handle_rtp(&mut self, now: Instant, packet: &[u8]) {
        match self.rx.handle(now, packet) {
            Ok(Received::Audio { index, payload }) => {
                if let Some(det) = self.inband.as_mut() {
                    let law = self.tx.law();
                    self.pcm.clear();
                    self.pcm.extend(payload.iter().map(|&b| law.decode(b)));
                    det.push(&self.pcm, &mut self.digits);
                }
                if let Some(rec) = self.recorder.as_mut() {
                    let full = rec.write(now, index, payload);
                    let (voice, recorded) = (rec.last_voice, rec.duration());
                    self.deposit.handle_voice(voice);
                    if full {
                        self.deposit.handle_recording_full(now, recorded);
                    }
                }
            }
            Ok(Received::Dtmf(c)) => self.digits.push(c),
            Ok(Received::Nothing) | Err(_) => {}
        }
        for c in std::mem::take(&mut self.digits) {
            self.dtmf(now, c);
        }
        self.run_actions(now);
    }

    /// A digit from SIP INFO (RFC 4733 and in-band digits come with the audio): one
    /// stream whatever the source.
    pub fn handle_dtmf(&mut self, now: Instant, digit: char) {
        self.dtmf(now, digit);
        self.run_actions(now);
    }

    fn dtmf(&mut self, now: Instant, c: char) {
        self.events.push_back(CallEvent::Dtmf(c));
        let recorded = self.recorded();
        self.deposit.handle_dtmf(now, c, recorded);
    }

    pub fn handle_hangup(&mut self, now: Instant, reason: EndReason) {
        let recorded = self.recorded();
        self.deposit.handle_hangup(now, reason, recorded);
        self.tx.stop();
        self.playing = false;
        self.run_actions(now);
    }

    pub fn handle_committed(&mut self, now: Instant, ok: bool) {
        self.deposit.handle_committed(ok);
        self.run_actions(now);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.tx.poll_timeout(), self.deposit.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deposit.poll_timeout().is_some_and(|t| t <= now) {
            let recorded = self.recorded();
            self.deposit.handle_timeout(now, recorded);
            self.run_actions(now);
        }
    }

    /// Next RTP packet due at `now`, written into `buf` (≥ 172 bytes), with where to
    /// send it. Packets for a held stream (no remote) are paced but not returned.
    pub fn poll_rtp(&mut self, now: Instant, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
        loop {
            let n = self.tx.poll_packet(now, buf)?;
            if self.playing && self.tx.is_idle() {
                self.playing = false;
                self.deposit.handle_play_done(now);
                self.run_actions(now);
            }
            if let Some(to) = self.remote {
                return Some((n, to));
            }
        }
    }

    pub fn poll_event(&mut self) -> Option<CallEvent> {
        self.events.pop_front()
    }

    pub fn is_done(&self) -> bool {
        self.deposit.phase() == super::deposit::Phase::Done && self.events.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::rtp::PTIME;
    use webrtc_util::Marshal;

    fn core(prompts: Arc<PromptLibrary>) -> CallCore {
        CallCore::new(
            CallParams {
                law: Law::Mu,
                pt: 0,
                dtmf_pt: Some(101),
                remote: Some("127.0.0.1:4000".parse().unwrap()),
                ssrc: 1,
                seq: 1,
                ts: 0,
                deposit: DepositParams {
                    extension: "1001".into(),
                    has_personal_greeting: false,
                    max_message: Duration::from_secs(300),
                    silence_timeout: Duration::from_secs(10),
                    min_message: Duration::from_millis(500),
                },
            },
            prompts,
        )
    }

    fn pkt(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
        let h = rtp::header::Header {
            version: 2,
            payload_type: pt,
            sequence_number: seq,
            timestamp: ts,
            ssrc: 9,
            ..Default::default()
        };
        let mut v = vec![0u8; 12];
        h.marshal_to(&mut v).unwrap();
        v.extend_from_slice(payload);
        v
    }

    /// Drive the call in virtual time until `until`, feeding caller audio every 20 ms
    /// once recording is possible. Returns packets sent.
    fn run(c: &mut CallCore, now: &mut Instant, until: Instant, seq: &mut u16) -> usize {
        let mut sent = 0;
        let mut buf = [0u8; 200];
        let loud = [Law::Mu.encode(6000); 160];
        while *now < until {
            while c.poll_rtp(*now, &mut buf).is_some() {
                sent += 1;
            }
            c.handle_timeout(*now);
            *seq += 1;
            c.handle_rtp(*now, &pkt(0, *seq, *seq as u32 * 160, &loud));
            *now += PTIME;
        }
        sent
    }

    #[test]
    fn a_whole_deposit_in_virtual_time() {
        let mut lib = PromptLibrary::default();
        for n in super::super::prompts::names() {
            lib.insert(n, &[1000i16; 800]); // 100 ms each
        }
        let mut c = core(Arc::new(lib));
        let t0 = Instant::now();
        let mut now = t0;
        let mut seq = 0;
        c.answer(now, None);
        // Greeting (6 prompts) + beep = 700 ms = 35 packets, then recording starts.
        let sent = run(&mut c, &mut now, t0 + Duration::from_secs(3), &mut seq);
        assert_eq!(sent, 35);
        // '#' ends the recording: about 2.3 s of caller audio was recorded.
        for _ in 0..3 {
            c.handle_rtp(now, &pkt(101, 999, 777, &[11, 0x8a, 0x03, 0x20]));
        }
        let mut events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
        assert!(matches!(events.remove(0), CallEvent::RecordingStarted));
        assert!(matches!(events.remove(0), CallEvent::Dtmf('#')));
        let Some(CallEvent::Commit {
            law,
            audio,
            duration,
            reason,
        }) = events.pop()
        else {
            panic!("commit expected")
        };
        assert_eq!((law, reason), (Law::Mu, EndReason::Pound));
        assert!(
            (2200..=2400).contains(&duration.as_millis()),
            "{duration:?}"
        );
        assert_eq!(audio.len() as u128, duration.as_millis() * 8);
        // Goodbye plays only once the store has answered.
        let mut buf = [0u8; 200];
        assert!(c.poll_rtp(now, &mut buf).is_none());
        c.handle_committed(now, true);
        let until = now + Duration::from_secs(1);
        let sent = run(&mut c, &mut now, until, &mut seq);
        assert_eq!(sent, 5);
        assert!(matches!(c.poll_event(), Some(CallEvent::Hangup)));
        assert!(c.is_done());
    }
}
