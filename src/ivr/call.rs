//! One voicemail call, sans-IO: joins the RTP receiver and sender, the recorder and
//! the [`Deposit`] flow. The call actor feeds it packets and timeouts and drains RTP
//! to send and [`CallEvent`]s (commit this recording, hang up).
//!
//! Loop contract (as str0m's): after any `handle_*`, drain `poll_rtp` until `None`,
//! then `poll_event` until `None`, then sleep until `poll_timeout`.

use super::attendant::{AaAction, Attendant, AttendantParams, Step};
use super::deposit::{Action, Deposit, DepositParams, EndReason, Prompt};
use super::ova::{Ova, OvaAction, OvaParams, OvaStep};
use super::preroll::PreRoll;
use super::prompts::PromptLibrary;
use super::speech::Lang;
use crate::media::codec::{Codec, OpusFmtp, OpusRx, WIDEBAND};
use crate::media::g711::Law;
use crate::media::inband::InbandDetector;
use crate::media::recorder::Recorder;
use crate::media::rtp::{Clip, RtpReceiver, RtpSender};
use crate::store::Greetings;
use crate::store::audio::Captured;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub enum CallEvent {
    /// Store this recording, then call [`CallCore::handle_committed`].
    Commit {
        /// The law to store it in when the policy keeps G.711.
        law: Law,
        audio: Captured,
        duration: Duration,
        reason: EndReason,
        format: crate::store::audio::Format,
    },
    /// A recording was thrown away (shorter than the policy minimum), with
    /// what the caller sent while it ran: foreign or undecodable packets make
    /// it a loss to report, not a caller who said nothing.
    Discarded {
        duration: Duration,
        reason: EndReason,
        received: RxMark,
    },
    /// The first packet of a payload type nobody can decode (once a call).
    ForeignPayloadType { pt: u8 },
    /// The first packet on the RTP port that is not RTP (once a call): what
    /// was wrong, its length and first byte.
    MalformedRtp {
        what: &'static str,
        len: usize,
        first: u8,
    },
    /// A digit was received (for logs/metrics).
    Dtmf(char),
    /// The beep is over; what the caller says from now on is recorded. `late`:
    /// how much later than planned the greeting ended (stalls, a slow store);
    /// from [`super::preroll::MIN_SLIP`] on, the recording starts that much
    /// earlier, from the pre-roll.
    RecordingStarted { late: Duration },
    /// We hang up: send BYE.
    Hangup,
    /// An auto-attendant menu step (the `aa_menu` event).
    AaStep(Step),
    /// Transfer the caller (REFER); answer with [`CallCore::handle_transfer_result`].
    Transfer { extension: String },
    /// The attendant hands the caller to a mailbox: fetch its personal greeting and
    /// call [`CallCore::start_deposit`].
    NeedGreeting { extension: String },
    /// The deposit's greeting starts (for the `greeting_played` event).
    Greeting { lang: Lang, prompts: Vec<String> },
    /// What the caller hears once the store answered (saved, or not saved).
    Goodbye { prompts: Vec<String> },
    /// The mailbox is at a quota: the caller hears so, nothing is recorded.
    MailboxFull { usage: crate::store::Usage },
    /// The attendant handed the caller to subscriber access (of this dial plan,
    /// with this directory).
    SubscriberAccess {
        dial_plan: String,
        dir: Arc<crate::directory::Directory>,
    },
    /// A subscriber access menu step (the `ova_menu` event).
    OvaStep(OvaStep),
    /// Subscriber access needs the store: carry it out and answer through
    /// [`CallCore::ova`] (Logon, FetchAudio, SetStatus, SaveRecording, SetAway,
    /// ChangePin, Forward).
    OvaStore(OvaAction),
}

/// What the call runs from its answer.
#[derive(Debug, Clone)]
pub enum CallMode {
    Deposit(DepositParams),
    Attendant(Box<AttendantParams>),
    SubscriberAccess(Box<OvaParams>),
}

#[derive(Debug, Clone)]
pub struct CallParams {
    pub codec: Codec,
    /// The far end's Opus parameters (Opus calls).
    pub opus: OpusFmtp,
    pub pt: u8,
    /// Every codec of the answer (the call's first) and the G.711 laws the offer
    /// had beside them: any may arrive.
    pub joint: Vec<(Codec, u8)>,
    pub unanswered: Vec<(Codec, u8)>,
    /// The packet time we send G.711 at.
    pub ptime_ms: u32,
    pub dtmf_pt: Option<u8>,
    pub remote: Option<SocketAddr>,
    pub ssrc: u32,
    pub seq: u16,
    pub ts: u32,
    pub mode: CallMode,
    /// The language of the call's prompts (dial plan, auto attendant or mailbox).
    pub lang: Lang,
}

#[derive(Debug)]
pub struct CallCore {
    /// The deposit flow; for an attendant call, once the caller is handed to a
    /// mailbox.
    deposit: Option<Deposit>,
    attendant: Option<Box<Attendant>>,
    ova: Option<Box<Ova>>,
    /// A deposit waiting for its mailbox's greeting.
    pending_deposit: Option<DepositParams>,
    rx: RtpReceiver,
    tx: RtpSender,
    /// Opus calls: the decoder, while something needs the caller's audio (the
    /// recorder, in-band DTMF).
    opus_rx: Option<OpusRx>,
    remote: Option<SocketAddr>,
    recorder: Option<Recorder>,
    max_message: Duration,
    prompts: Arc<PromptLibrary>,
    personal_greeting: Option<Clip>,
    playing: bool,
    events: VecDeque<CallEvent>,
    /// In-band DTMF detection, when the caller negotiated no telephone-event.
    inband: Option<Box<InbandDetector>>,
    /// The last packet's decoded audio.
    pcm: Vec<i16>,
    digits: Vec<char>,
    lang: Lang,
    /// The caller's audio kept while a deposit's greeting runs late.
    pre_roll: PreRoll,
    /// G.711 calls: a decoder for Opus packets (a peer switching to it).
    alt_opus: Option<OpusRx>,
    /// A packet transcoded to the call's law; one upsampled to the recorder's rate.
    bytes: Vec<u8>,
    up: Vec<i16>,
    undecodable: u64,
    foreign_reported: bool,
    malformed_reported: bool,
    /// The receiver's counters when the recording started.
    rec_mark: RxMark,
    /// On hold (the caller's a=sendonly/inactive): what arrives (music on
    /// hold) is not recorded. After a resume, the first packet moves the
    /// recording's timeline (`rec_shift`, recorder units) so the message goes
    /// on without the hold's length of silence.
    held: bool,
    resumed: bool,
    rec_shift: i64,
}

impl CallCore {
    pub fn new(p: CallParams, prompts: Arc<PromptLibrary>) -> Self {
        let (mut deposit, mut attendant, mut ova) = (None, None, None);
        match p.mode {
            CallMode::Deposit(d) => deposit = Some(Deposit::new(d)),
            // An attendant or dial plan unknown to the directory it was given cannot
            // happen (the call was routed with that directory); the call then ends.
            CallMode::Attendant(a) => attendant = Attendant::new(*a).map(Box::new),
            CallMode::SubscriberAccess(o) => ova = Ova::new(*o).map(Box::new),
        }
        CallCore {
            max_message: deposit.as_ref().map_or(Duration::ZERO, |d| d.max_message()),
            deposit,
            attendant,
            ova,
            pending_deposit: None,
            rx: {
                let mut rx = RtpReceiver::new(p.codec, p.pt, p.dtmf_pt);
                rx.set_payload_types(&p.joint, &p.unanswered, p.dtmf_pt);
                rx
            },
            tx: RtpSender::new(p.codec, p.pt, p.ssrc, p.seq, p.ts, p.opus).with_ptime(p.ptime_ms),
            // In-band DTMF needs the audio from the start, at 8 kHz.
            opus_rx: (p.codec == Codec::Opus && p.dtmf_pt.is_none())
                .then(|| OpusRx::new(8000))
                .flatten(),
            remote: p.remote,
            recorder: None,
            prompts,
            personal_greeting: None,
            playing: false,
            events: VecDeque::new(),
            inband: p.dtmf_pt.is_none().then(Box::default),
            pcm: Vec::with_capacity(960),
            digits: Vec::new(),
            lang: p.lang,
            pre_roll: PreRoll::default(),
            alt_opus: None,
            bytes: Vec::with_capacity(480),
            up: Vec::with_capacity(960),
            undecodable: 0,
            foreign_reported: false,
            malformed_reported: false,
            rec_mark: RxMark::default(),
            held: false,
            resumed: false,
            rec_shift: 0,
        }
    }

    /// The caller held or resumed the call (a re-INVITE); true when that
    /// changed anything.
    pub fn set_hold(&mut self, now: Instant, hold: bool) -> bool {
        if hold == self.held {
            return false;
        }
        self.held = hold;
        self.resumed = !hold;
        if let Some(d) = self.deposit.as_mut() {
            d.set_hold(now, hold);
        }
        true
    }

    /// A re-INVITE's answer: the payload types that may arrive from now on.
    pub fn set_payload_types(
        &mut self,
        joint: &[(Codec, u8)],
        unanswered: &[(Codec, u8)],
        dtmf_pt: Option<u8>,
    ) {
        self.rx.set_payload_types(joint, unanswered, dtmf_pt);
    }

    /// A re-INVITE moved or held the stream.
    pub fn set_remote(&mut self, remote: Option<SocketAddr>) {
        self.remote = remote;
    }

    pub fn rx_stats(&self) -> crate::media::rtp::RxStats {
        self.rx.stats
    }

    /// Loss and jitter of what the caller sent (RFC 3550).
    pub fn rx_quality(&self) -> &crate::media::quality::Quality {
        &self.rx.quality
    }

    pub fn packets_sent(&self) -> u64 {
        self.tx.packets_sent
    }

    /// Opus calls: (frames concealed by PLC, frames rebuilt from FEC, late packets
    /// dropped) by the current decoder.
    pub fn opus_stats(&self) -> (u64, u64, u64) {
        self.opus_rx.as_ref().map_or((0, 0, 0), |r| {
            (r.concealed_frames, r.fec_frames, r.late_dropped)
        })
    }

    fn recorded(&self) -> Duration {
        self.recorder
            .as_ref()
            .map_or(Duration::ZERO, |r| r.duration())
    }

    /// The 200 OK went out at `since`: start the greeting (the mailbox's own, if
    /// it has one, given in any law), or the attendant. A greeting that starts
    /// late (the store was slow to give it) is a slip the recording takes back.
    pub fn answer(&mut self, now: Instant, greetings: Greetings, since: Instant) {
        if let Some(a) = self.attendant.as_mut() {
            a.start(now);
            return self.run_actions(now);
        }
        if let Some(o) = self.ova.as_mut() {
            o.start(now);
            return self.run_actions(now);
        }
        self.pre_roll.add_slip(now.saturating_duration_since(since));
        self.begin_deposit(now, greetings);
    }

    /// The attendant's caller reaches a mailbox: its greeting has been fetched.
    pub fn start_deposit(&mut self, now: Instant, greetings: Greetings) {
        if let Some(p) = self.pending_deposit.take() {
            self.max_message = p.max_message;
            if let Some(l) = p.lang {
                self.lang = l;
            }
            self.deposit = Some(Deposit::new(p));
            self.begin_deposit(now, greetings);
        }
    }

    /// How a transfer the attendant (or a subscriber's call-back) asked for ended.
    pub fn handle_transfer_result(&mut self, now: Instant, ok: bool) {
        if let Some(a) = self.attendant.as_mut() {
            a.handle_transfer_result(ok);
        }
        if let Some(o) = self.ova.as_mut() {
            o.handle_transfer_result(now, ok);
        }
        self.run_actions(now);
    }

    /// The mailbox a subscriber access call is logged on to (or logging on to).
    pub fn ova_mailbox(&self) -> Option<String> {
        self.ova
            .as_ref()
            .and_then(|o| o.mailbox().map(str::to_string))
    }

    /// Give subscriber access the store's answer to one of its requests.
    pub fn ova(&mut self, now: Instant, answer: impl FnOnce(&mut Ova, Instant)) {
        if let Some(o) = self.ova.as_mut() {
            answer(o, now);
        }
        self.run_actions(now);
    }

    /// Drain subscriber access: steps become events, actions are carried out.
    fn run_ova(&mut self, now: Instant) {
        loop {
            let Some(o) = self.ova.as_mut() else {
                return;
            };
            while let Some(step) = o.poll_step() {
                self.events.push_back(CallEvent::OvaStep(step));
            }
            let Some(action) = self.ova.as_mut().and_then(|o| o.poll_action()) else {
                return;
            };
            match action {
                OvaAction::Play(prompts) => {
                    if !self.start_play(now, &prompts)
                        && let Some(o) = self.ova.as_mut()
                    {
                        o.handle_play_done(now);
                    }
                }
                OvaAction::StopPlayback => {
                    self.tx.stop();
                    self.playing = false;
                }
                OvaAction::StartRecording { max } => {
                    // Greetings and introductions are played back by phone: 8 kHz.
                    self.recorder = Some(self.recorder_for(8000, max, now));
                    self.events.push_back(CallEvent::RecordingStarted {
                        late: Duration::ZERO,
                    });
                }
                OvaAction::StopRecording => self.ova_recorded(now),
                OvaAction::Callback { number } => self
                    .events
                    .push_back(CallEvent::Transfer { extension: number }),
                OvaAction::Hangup => self.events.push_back(CallEvent::Hangup),
                OvaAction::SetLanguage(l) => self.lang = l,
                store => self.events.push_back(CallEvent::OvaStore(store)),
            }
        }
    }

    /// Hand what was recorded to subscriber access.
    fn ova_recorded(&mut self, now: Instant) {
        let Some(r) = self.recorder.take() else {
            return;
        };
        let duration = r.duration();
        let law = self.law();
        // Recorded at 8 kHz (see `recorder_for`), kept in the call's law (µ-law
        // for Opus calls).
        let audio: Arc<[u8]> = match r.into_captured() {
            Captured::G711(_, a) => a.into(),
            Captured::Pcm(s) => s.samples.iter().map(|&x| law.encode(x)).collect(),
        };
        if let Some(o) = self.ova.as_mut() {
            o.handle_recorded(now, (law, audio), duration);
        }
    }

    /// The law of the call, or µ-law for Opus calls (what phone recordings are
    /// kept in).
    fn law(&self) -> Law {
        match self.tx.codec() {
            Codec::G711(l) => l,
            Codec::Opus => Law::Mu,
        }
    }

    /// A recorder for this call: G.711 as it comes; Opus decoded at `want` Hz
    /// (16 kHz for voicemail), or at 8 kHz when in-band DTMF already needs the
    /// decoder there. The Opus decoder starts fresh for each recording.
    fn recorder_for(&mut self, want: u32, max: Duration, now: Instant) -> Recorder {
        self.rec_shift = 0;
        self.resumed = false;
        let Codec::Opus = self.tx.codec() else {
            return Recorder::g711(self.law(), max, now);
        };
        let rate = if self.inband.is_some() { 8000 } else { want };
        if self.opus_rx.as_ref().is_none_or(|r| r.rate() != rate) {
            self.opus_rx = OpusRx::new(rate);
        }
        Recorder::pcm(rate, max, now)
    }

    fn begin_deposit(&mut self, now: Instant, greetings: Greetings) {
        if self.deposit.is_none() {
            return;
        }
        if let Some((law, audio)) = greetings.active {
            self.personal_greeting = Some(self.audio_clip(law, &audio));
        }
        let Some(deposit) = self.deposit.as_mut() else {
            return;
        };
        deposit.set_personal_greeting(self.personal_greeting.is_some());
        deposit.set_recorded_name(greetings.name.map(|(l, a)| Prompt::Audio(l, a.into())));
        deposit.set_usage(greetings.usage);
        if deposit.is_full() {
            self.events.push_back(CallEvent::MailboxFull {
                usage: greetings.usage,
            });
        }
        deposit.start(now);
        self.run_actions(now);
    }

    /// Start playing `prompts`; true when something plays.
    fn start_play(&mut self, now: Instant, prompts: &[Prompt]) -> bool {
        let clips: Vec<Clip> = prompts.iter().filter_map(|p| self.clip(p)).collect();
        self.tx.play(now, clips);
        self.playing = !self.tx.is_idle();
        self.playing
    }

    /// Drain the attendant: its steps become events, its actions are carried out.
    fn run_attendant(&mut self, now: Instant) {
        loop {
            let Some(a) = self.attendant.as_mut() else {
                return;
            };
            while let Some(step) = a.poll_step() {
                self.events.push_back(CallEvent::AaStep(step));
            }
            let Some(action) = self.attendant.as_mut().and_then(|a| a.poll_action()) else {
                return;
            };
            match action {
                AaAction::Play { prompts, .. } => {
                    if !self.start_play(now, &prompts)
                        && let Some(a) = self.attendant.as_mut()
                    {
                        // Nothing playable: move on rather than wait forever.
                        a.handle_play_done(now);
                    }
                }
                AaAction::StopPlayback => {
                    self.tx.stop();
                    self.playing = false;
                }
                AaAction::Transfer { extension } => {
                    self.events.push_back(CallEvent::Transfer { extension })
                }
                AaAction::LeaveMessage(p) => {
                    self.events.push_back(CallEvent::NeedGreeting {
                        extension: p.extension.clone(),
                    });
                    self.pending_deposit = Some(p);
                }
                AaAction::SubscriberAccess => {
                    // Outlook Voice Access takes the call over from here.
                    if let Some(a) = self.attendant.take() {
                        let p = a.subscriber_access();
                        self.events.push_back(CallEvent::SubscriberAccess {
                            dial_plan: p.dial_plan.clone(),
                            dir: p.dir.clone(),
                        });
                        self.ova = Ova::new(p).map(Box::new);
                        if let Some(o) = self.ova.as_mut() {
                            o.start(now);
                        }
                    }
                    return;
                }
                AaAction::Hangup => self.events.push_back(CallEvent::Hangup),
            }
        }
    }

    fn clip(&self, p: &Prompt) -> Option<Clip> {
        let codec = self.tx.codec();
        match p {
            Prompt::Named(n) => self.prompts.get_in(self.lang, n, codec),
            Prompt::Digit(d) => self.prompts.get_in(self.lang, &d.to_string(), codec),
            Prompt::PersonalGreeting => self.personal_greeting.clone(),
            Prompt::Custom(n) => self.prompts.get_in(self.lang, n, codec),
            Prompt::Audio(l, a) => match codec {
                Codec::G711(law) if law == *l => Some(Clip::G711(a.clone())),
                _ => Some(self.audio_clip(*l, a)),
            },
        }
    }

    /// Recorded G.711 audio (a greeting, a name, a message) for this call: in its
    /// law, or as PCM an Opus call encodes as it sends.
    fn audio_clip(&self, l: Law, a: &[u8]) -> Clip {
        match self.tx.codec() {
            Codec::G711(law) => Clip::G711(a.iter().map(|&b| law.encode(l.decode(b))).collect()),
            Codec::Opus => Clip::Pcm(a.iter().map(|&b| l.decode(b)).collect()),
        }
    }

    fn run_actions(&mut self, now: Instant) {
        self.run_attendant(now);
        self.run_ova(now);
        while let Some(a) = self.deposit.as_mut().and_then(|d| d.poll_action()) {
            match a {
                Action::Play(list) => {
                    if self
                        .deposit
                        .as_ref()
                        .is_some_and(|d| d.phase() == super::deposit::Phase::Greeting)
                    {
                        self.events.push_back(CallEvent::Greeting {
                            lang: self.lang,
                            prompts: list.iter().map(Prompt::log_name).collect(),
                        });
                    }
                    if self
                        .deposit
                        .as_ref()
                        .is_some_and(|d| d.phase() == super::deposit::Phase::Goodbye)
                    {
                        self.events.push_back(CallEvent::Goodbye {
                            prompts: list.iter().map(Prompt::log_name).collect(),
                        });
                    }
                    if !self.start_play(now, &list)
                        && let Some(d) = self.deposit.as_mut()
                    {
                        // Nothing playable: move on rather than wait forever.
                        d.handle_play_done(now);
                    }
                }
                Action::StopPlayback => {
                    self.tx.stop();
                    self.playing = false;
                }
                Action::StartRecording => {
                    let rate = self.pre_roll_rate();
                    self.recorder = Some(self.recorder_for(WIDEBAND, self.max_message, now));
                    let late = self.pre_roll.slip();
                    self.rec_mark = self.rx_mark();
                    self.replay_pre_roll(now, rate);
                    self.events.push_back(CallEvent::RecordingStarted { late });
                }
                Action::Commit { reason } => {
                    if let Some(r) = self.recorder.take() {
                        let duration = r.duration();
                        let law = self.law();
                        let format = self
                            .deposit
                            .as_ref()
                            .map(|d| d.format())
                            .unwrap_or_default();
                        self.events.push_back(CallEvent::Commit {
                            law,
                            audio: r.into_captured(),
                            duration,
                            reason,
                            format,
                        });
                    }
                }
                Action::Discard { reason } => {
                    let duration = self.recorded();
                    self.recorder = None;
                    let received = self.rx_mark().since(self.rec_mark);
                    self.events.push_back(CallEvent::Discarded {
                        duration,
                        reason,
                        received,
                    });
                }
                Action::Hangup => self.events.push_back(CallEvent::Hangup),
            }
        }
    }

    fn after_rtp(&mut self, now: Instant) {
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
        match (self.deposit.as_mut(), self.attendant.as_mut()) {
            (Some(d), _) => d.handle_dtmf(now, c, recorded),
            (None, Some(a)) => a.handle_dtmf(now, c),
            (None, None) => {
                if let Some(o) = self.ova.as_mut() {
                    o.handle_dtmf(now, c)
                }
            }
        }
    }

    pub fn handle_hangup(&mut self, now: Instant, reason: EndReason) {
        let recorded = self.recorded();
        if let Some(a) = self.attendant.as_mut() {
            a.handle_hangup();
        }
        if let Some(o) = self.ova.as_mut() {
            o.handle_hangup();
            // What was being recorded (a greeting, an introduction) is dropped.
            self.recorder = None;
        }
        self.pending_deposit = None;
        self.pre_roll.clear();
        if let Some(d) = self.deposit.as_mut() {
            d.handle_hangup(now, reason, recorded);
        }
        self.tx.stop();
        self.playing = false;
        self.run_actions(now);
    }

    pub fn handle_committed(&mut self, now: Instant, ok: bool) {
        if let Some(d) = self.deposit.as_mut() {
            d.handle_committed(ok);
        }
        self.run_actions(now);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.tx.poll_timeout(),
            self.deposit.as_ref().and_then(|d| d.poll_timeout()),
            self.attendant.as_ref().and_then(|a| a.poll_timeout()),
            self.ova.as_ref().and_then(|o| o.poll_timeout()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let recorded = self.recorded();
        if let Some(d) = self.deposit.as_mut()
            && d.poll_timeout().is_some_and(|t| t <= now)
        {
            d.handle_timeout(now, recorded);
            self.run_actions(now);
        }
        if let Some(a) = self.attendant.as_mut()
            && a.poll_timeout().is_some_and(|t| t <= now)
        {
            a.handle_timeout(now);
            self.run_actions(now);
        }
        if let Some(o) = self.ova.as_mut()
            && o.poll_timeout().is_some_and(|t| t <= now)
        {
            o.handle_timeout(now);
            self.run_actions(now);
        }
    }

    /// Next RTP packet due at `now`, written into `buf` (≥ [`crate::media::rtp::MAX_PACKET`] bytes), with where to
    /// send it. Packets for a held stream (no remote) are paced but not returned.
    pub fn poll_rtp(&mut self, now: Instant, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
        loop {
            let n = self.tx.poll_packet(now, buf);
            let slip = self.tx.take_slip();
            if !slip.is_zero() && self.awaiting_recording() {
                self.pre_roll.add_slip(slip);
            }
            let n = n?;
            if self.playing && self.tx.is_idle() {
                self.playing = false;
                match (self.deposit.as_mut(), self.attendant.as_mut()) {
                    (Some(d), _) => d.handle_play_done(now),
                    (None, Some(a)) => a.handle_play_done(now),
                    (None, None) => {
                        if let Some(o) = self.ova.as_mut() {
                            o.handle_play_done(now)
                        }
                    }
                }
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
        let flow_done = match (&self.deposit, &self.attendant) {
            (Some(d), _) => d.phase() == super::deposit::Phase::Done,
            (None, Some(a)) => a.is_done() && self.pending_deposit.is_none(),
            (None, None) => self.ova.as_ref().is_none_or(|o| o.is_done()),
        };
        flow_done && self.events.is_empty()
    }

    /// The attendant's name, for an attendant call.
    pub fn attendant(&self) -> Option<&str> {
        self.attendant.as_deref().map(|a| a.name())
    }
}

mod rx;
pub use rx::RxMark;

#[cfg(test)]
#[path = "call_tests.rs"]
mod tests;
