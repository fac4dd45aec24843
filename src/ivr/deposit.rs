//! The voicemail deposit call flow (what Exchange UM does when a call is diverted to
//! a mailbox): greeting → beep → record → commit → "saved, goodbye" → hang up.
//!
//! A state machine over inputs (prompt finished, DTMF, remote hangup, timer, store
//! result) producing [`Action`]s. No IO, no clock: `now` comes in.

use crate::media::g711::Law;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// A named prompt from the library.
    Named(&'static str),
    /// A digit, spoken.
    Digit(char),
    /// The mailbox's own recorded greeting.
    PersonalGreeting,
    /// An imported prompt (a custom greeting), by name.
    Custom(String),
    /// A recording from the store (a message, a recorded name), in its law.
    Audio(Law, Arc<[u8]>),
}

impl Prompt {
    /// The name a prompt is logged under.
    pub fn log_name(&self) -> String {
        match self {
            Prompt::Named(n) => n.to_string(),
            Prompt::Digit(d) => d.to_string(),
            Prompt::PersonalGreeting => "personal_greeting".into(),
            Prompt::Custom(n) => n.clone(),
            Prompt::Audio(..) => "recording".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Play(Vec<Prompt>),
    /// Stop any prompt in progress (barge-in).
    StopPlayback,
    StartRecording,
    /// Stop recording and commit what was recorded (the shell replies with
    /// [`Deposit::handle_committed`]).
    Commit {
        reason: EndReason,
    },
    /// Stop recording and throw it away (too short).
    Discard {
        reason: EndReason,
    },
    Hangup,
}

/// Why a recording ended; logged with the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum EndReason {
    Pound,
    RemoteHangup,
    MaxLength,
    Silence,
    Shutdown,
}

impl EndReason {
    /// The name logs carry (as `end=`).
    pub fn name(self) -> &'static str {
        match self {
            EndReason::Pound => "Pound",
            EndReason::RemoteHangup => "RemoteHangup",
            EndReason::MaxLength => "MaxLength",
            EndReason::Silence => "Silence",
            EndReason::Shutdown => "Shutdown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Greeting,
    Beep,
    Recording,
    Committing { remote_gone: bool },
    Goodbye,
    Done,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepositParams {
    pub extension: String,
    pub has_personal_greeting: bool,
    pub max_message: Duration,
    pub silence_timeout: Duration,
    pub min_message: Duration,
    /// The policy's quotas (None: unlimited).
    pub max_messages: Option<u32>,
    pub max_stored: Option<Duration>,
    /// The mailbox's own language, when it has one (else the call's).
    pub lang: Option<crate::directory::lang::Lang>,
    /// How the message is stored (the policy's).
    pub format: crate::store::audio::Format,
}

impl DepositParams {
    /// A deposit to `mailbox` under `policy`.
    pub fn for_mailbox(
        mailbox: &crate::directory::UmMailbox,
        policy: &crate::directory::MailboxPolicy,
    ) -> DepositParams {
        DepositParams {
            extension: mailbox.extension.clone(),
            has_personal_greeting: false,
            max_message: policy.max_message,
            silence_timeout: policy.silence_timeout,
            min_message: policy.min_message,
            max_messages: policy.max_messages,
            max_stored: policy.max_stored,
            lang: mailbox
                .language
                .as_deref()
                .and_then(crate::directory::lang::Lang::parse),
            format: policy.storage_format,
        }
    }
}

pub use crate::store::Usage;

#[derive(Debug)]
pub struct Deposit {
    p: DepositParams,
    phase: Phase,
    /// The mailbox's recorded name, for the system greeting.
    name: Option<Prompt>,
    usage: Usage,
    recording_since: Option<Instant>,
    last_voice: Option<Instant>,
    /// The caller put us on hold (RFC 3264 §8.4): the clocks of the silence
    /// and maximum-length limits stop until the call resumes.
    held_since: Option<Instant>,
    actions: VecDeque<Action>,
}

impl Deposit {
    pub fn max_message(&self) -> Duration {
        self.p.max_message
    }

    /// How the message is to be stored.
    pub fn format(&self) -> crate::store::audio::Format {
        self.p.format
    }

    pub fn new(p: DepositParams) -> Self {
        Deposit {
            p,
            phase: Phase::Greeting,
            name: None,
            usage: Usage::default(),
            recording_since: None,
            last_voice: None,
            held_since: None,
            actions: VecDeque::new(),
        }
    }

    /// The caller held (`true`) or resumed the call. A hold pauses the
    /// recording's limits; on resume they go on from where they stood, so the
    /// same message continues.
    pub fn set_hold(&mut self, now: Instant, hold: bool) {
        match (hold, self.held_since) {
            (true, None) => self.held_since = Some(now),
            (false, Some(since)) => {
                self.held_since = None;
                let held = now.saturating_duration_since(since);
                self.recording_since = self.recording_since.map(|t| t + held);
                self.last_voice = self.last_voice.map(|t| t + held);
            }
            _ => {}
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether the mailbox has its own greeting (known once the store answered).
    pub fn set_personal_greeting(&mut self, has: bool) {
        self.p.has_personal_greeting = has;
    }

    /// The mailbox's recorded name, spoken in the system greeting ("<name> is not
    /// available") instead of its extension.
    pub fn set_recorded_name(&mut self, name: Option<Prompt>) {
        self.name = name;
    }

    /// What the mailbox holds now (for the quotas).
    pub fn set_usage(&mut self, usage: Usage) {
        self.usage = usage;
    }

    /// Is the mailbox at one of its quotas?
    pub fn is_full(&self) -> bool {
        self.p
            .max_messages
            .is_some_and(|m| self.usage.messages >= m)
            || self
                .p
                .max_stored
                .is_some_and(|m| Duration::from_millis(self.usage.stored_ms) >= m)
    }

    /// The call is answered: play the greeting (or, for a full mailbox, say so,
    /// record nothing and hang up).
    pub fn start(&mut self, _now: Instant) {
        if self.is_full() {
            self.phase = Phase::Goodbye;
            self.actions
                .push_back(Action::Play(vec![Prompt::Named("mailbox_full")]));
            return;
        }
        let prompts = if self.p.has_personal_greeting {
            vec![Prompt::PersonalGreeting]
        } else if let Some(name) = self.name.clone() {
            vec![name, Prompt::Named("is_not_available")]
        } else {
            let mut v = vec![Prompt::Named("the_person_at_extension")];
            v.extend(self.p.extension.chars().map(Prompt::Digit));
            v.push(Prompt::Named("is_not_available"));
            v
        };
        self.actions.push_back(Action::Play(prompts));
    }

    /// The queued prompts finished playing.
    pub fn handle_play_done(&mut self, now: Instant) {
        match self.phase {
            Phase::Greeting => self.play_beep(),
            Phase::Beep => {
                self.phase = Phase::Recording;
                self.recording_since = Some(now);
                self.last_voice = Some(now);
                self.actions.push_back(Action::StartRecording);
            }
            Phase::Goodbye => {
                self.phase = Phase::Done;
                self.actions.push_back(Action::Hangup);
            }
            _ => {}
        }
    }

    fn play_beep(&mut self) {
        self.phase = Phase::Beep;
        self.actions
            .push_back(Action::Play(vec![Prompt::Named("beep")]));
    }

    pub fn handle_dtmf(&mut self, now: Instant, digit: char, recorded: Duration) {
        match (self.phase, digit) {
            // '#' during the greeting skips to the beep, as on most voicemail systems.
            (Phase::Greeting, '#') => {
                self.actions.push_back(Action::StopPlayback);
                self.play_beep();
            }
            (Phase::Recording, '#') => self.end_recording(now, EndReason::Pound, recorded),
            _ => {}
        }
    }

    /// Voice was heard in the recording at `at`.
    pub fn handle_voice(&mut self, at: Instant) {
        if self.phase == Phase::Recording {
            self.last_voice = Some(at);
        }
    }

    fn end_recording(&mut self, _now: Instant, reason: EndReason, recorded: Duration) {
        let remote_gone = matches!(reason, EndReason::RemoteHangup | EndReason::Shutdown);
        if recorded < self.p.min_message {
            self.actions.push_back(Action::Discard { reason });
            if remote_gone {
                self.phase = Phase::Done;
            } else {
                self.phase = Phase::Goodbye;
                self.actions
                    .push_back(Action::Play(vec![Prompt::Named("message_not_saved")]));
            }
            return;
        }
        self.phase = Phase::Committing { remote_gone };
        self.actions.push_back(Action::Commit { reason });
    }

    /// The caller hung up (BYE / CANCEL), or the server is shutting down.
    pub fn handle_hangup(&mut self, now: Instant, reason: EndReason, recorded: Duration) {
        match self.phase {
            Phase::Recording => self.end_recording(now, reason, recorded),
            Phase::Committing { .. } => self.phase = Phase::Committing { remote_gone: true },
            _ => self.phase = Phase::Done,
        }
    }

    /// The store acknowledged (or refused) the message.
    pub fn handle_committed(&mut self, ok: bool) {
        let Phase::Committing { remote_gone } = self.phase else {
            return;
        };
        if remote_gone {
            self.phase = Phase::Done;
            return;
        }
        self.phase = Phase::Goodbye;
        let p = if ok {
            "message_saved_goodbye"
        } else {
            "message_not_saved"
        };
        self.actions.push_back(Action::Play(vec![Prompt::Named(p)]));
    }

    /// Max-length and silence deadlines while recording.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase != Phase::Recording || self.held_since.is_some() {
            return None;
        }
        let max = self.recording_since? + self.p.max_message;
        let silence = self.last_voice? + self.p.silence_timeout;
        Some(max.min(silence))
    }

    pub fn handle_timeout(&mut self, now: Instant, recorded: Duration) {
        if self.phase != Phase::Recording || self.held_since.is_some() {
            return;
        }
        let (Some(since), Some(voice)) = (self.recording_since, self.last_voice) else {
            return;
        };
        if now >= since + self.p.max_message {
            self.end_recording(now, EndReason::MaxLength, recorded);
        } else if now >= voice + self.p.silence_timeout {
            self.end_recording(now, EndReason::Silence, recorded);
        }
    }

    /// The recorder filled up to the policy maximum (counted in audio, not wall time).
    pub fn handle_recording_full(&mut self, now: Instant, recorded: Duration) {
        if self.phase == Phase::Recording {
            self.end_recording(now, EndReason::MaxLength, recorded);
        }
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> DepositParams {
        DepositParams {
            extension: "1001".into(),
            has_personal_greeting: false,
            max_message: Duration::from_secs(300),
            silence_timeout: Duration::from_secs(10),
            min_message: Duration::from_millis(500),
            ..Default::default()
        }
    }

    #[test]
    fn a_full_mailbox_says_so_records_nothing_and_hangs_up() {
        let t0 = Instant::now();
        let mut p = params();
        p.max_messages = Some(2);
        p.max_stored = Some(Duration::from_secs(600));
        let mut d = Deposit::new(p.clone());
        d.set_usage(Usage {
            messages: 1,
            stored_ms: 60_000,
        });
        assert!(!d.is_full());
        d.set_usage(Usage {
            messages: 2,
            stored_ms: 60_000,
        });
        assert!(d.is_full());
        d.start(t0);
        assert_eq!(
            drain(&mut d),
            [Action::Play(vec![Prompt::Named("mailbox_full")])]
        );
        d.handle_dtmf(t0, '#', Duration::ZERO);
        d.handle_play_done(t0);
        assert_eq!(drain(&mut d), [Action::Hangup]);
        assert_eq!(d.phase(), Phase::Done);
        // By minutes too.
        let mut d = Deposit::new(p);
        d.set_usage(Usage {
            messages: 0,
            stored_ms: 600_000,
        });
        assert!(d.is_full());
    }

    fn drain(d: &mut Deposit) -> Vec<Action> {
        std::iter::from_fn(|| d.poll_action()).collect()
    }

    fn recording(t0: Instant) -> Deposit {
        let mut d = Deposit::new(params());
        d.start(t0);
        d.handle_play_done(t0);
        d.handle_play_done(t0);
        drain(&mut d);
        assert_eq!(d.phase(), Phase::Recording);
        d
    }

    #[test]
    fn greeting_names_the_extension_then_beep_then_record() {
        let t0 = Instant::now();
        let mut d = Deposit::new(params());
        d.start(t0);
        let Some(Action::Play(p)) = d.poll_action() else {
            panic!()
        };
        assert_eq!(
            p,
            [
                Prompt::Named("the_person_at_extension"),
                Prompt::Digit('1'),
                Prompt::Digit('0'),
                Prompt::Digit('0'),
                Prompt::Digit('1'),
                Prompt::Named("is_not_available")
            ]
        );
        d.handle_play_done(t0);
        assert_eq!(drain(&mut d), [Action::Play(vec![Prompt::Named("beep")])]);
        d.handle_play_done(t0);
        assert_eq!(drain(&mut d), [Action::StartRecording]);
    }

    #[test]
    fn pound_commits_then_says_goodbye_only_after_the_store_answers() {
        let t0 = Instant::now();
        let mut d = recording(t0);
        d.handle_dtmf(t0, '#', Duration::from_secs(5));
        assert_eq!(
            drain(&mut d),
            [Action::Commit {
                reason: EndReason::Pound
            }]
        );
        d.handle_committed(true);
        assert_eq!(
            drain(&mut d),
            [Action::Play(vec![Prompt::Named("message_saved_goodbye")])]
        );
        d.handle_play_done(t0);
        assert_eq!(drain(&mut d), [Action::Hangup]);
    }

    #[test]
    fn store_failure_is_said_not_hidden() {
        let t0 = Instant::now();
        let mut d = recording(t0);
        d.handle_dtmf(t0, '#', Duration::from_secs(5));
        drain(&mut d);
        d.handle_committed(false);
        assert_eq!(
            drain(&mut d),
            [Action::Play(vec![Prompt::Named("message_not_saved")])]
        );
    }

    #[test]
    fn hangup_while_recording_commits_without_prompts() {
        let t0 = Instant::now();
        let mut d = recording(t0);
        d.handle_hangup(t0, EndReason::RemoteHangup, Duration::from_secs(7));
        assert_eq!(
            drain(&mut d),
            [Action::Commit {
                reason: EndReason::RemoteHangup
            }]
        );
        d.handle_committed(true);
        assert_eq!(drain(&mut d), []);
        assert_eq!(d.phase(), Phase::Done);
    }

    #[test]
    fn too_short_recordings_are_discarded() {
        let t0 = Instant::now();
        let mut d = recording(t0);
        d.handle_hangup(t0, EndReason::RemoteHangup, Duration::from_millis(200));
        assert_eq!(
            drain(&mut d),
            [Action::Discard {
                reason: EndReason::RemoteHangup
            }]
        );
        assert_eq!(d.phase(), Phase::Done);
    }

    #[test]
    fn silence_and_max_length_limits_in_virtual_time() {
        let t0 = Instant::now();
        let mut d = recording(t0);
        assert_eq!(d.poll_timeout(), Some(t0 + Duration::from_secs(10)));
        d.handle_voice(t0 + Duration::from_secs(4));
        assert_eq!(d.poll_timeout(), Some(t0 + Duration::from_secs(14)));
        d.handle_timeout(t0 + Duration::from_secs(13), Duration::from_secs(13));
        assert!(drain(&mut d).is_empty());
        d.handle_timeout(t0 + Duration::from_secs(14), Duration::from_secs(14));
        assert_eq!(
            drain(&mut d),
            [Action::Commit {
                reason: EndReason::Silence
            }]
        );

        let mut d = recording(t0);
        let mut t = t0;
        while t < t0 + Duration::from_secs(300) {
            t += Duration::from_secs(5);
            d.handle_voice(t);
        }
        assert_eq!(d.poll_timeout(), Some(t0 + Duration::from_secs(300)));
        d.handle_timeout(t0 + Duration::from_secs(300), Duration::from_secs(300));
        assert_eq!(
            drain(&mut d),
            [Action::Commit {
                reason: EndReason::MaxLength
            }]
        );
    }

    #[test]
    fn a_hold_stops_the_silence_and_length_clocks_and_resume_goes_on() {
        let t0 = Instant::now();
        let mut d = recording(t0);
        let s = Duration::from_secs(1);
        d.handle_voice(t0 + 2 * s);
        assert_eq!(d.poll_timeout(), Some(t0 + 12 * s));
        d.set_hold(t0 + 5 * s, true);
        assert_eq!(d.poll_timeout(), None);
        // Minutes on hold: no silence end, no max length, nothing committed.
        d.handle_timeout(t0 + 400 * s, Duration::from_secs(5));
        assert_eq!(d.phase(), Phase::Recording);
        assert!(drain(&mut d).is_empty());
        d.set_hold(t0 + 405 * s, false);
        // Silence had run 3 s of its 10 before the hold: 7 s more.
        assert_eq!(d.poll_timeout(), Some(t0 + 412 * s));
        d.handle_timeout(t0 + 412 * s, Duration::from_secs(10));
        assert_eq!(
            drain(&mut d),
            [Action::Commit {
                reason: EndReason::Silence
            }]
        );
    }

    #[test]
    fn pound_in_greeting_skips_to_beep_and_hangup_there_leaves_nothing() {
        let t0 = Instant::now();
        let mut d = Deposit::new(params());
        d.start(t0);
        drain(&mut d);
        d.handle_dtmf(t0, '#', Duration::ZERO);
        assert_eq!(
            drain(&mut d),
            [
                Action::StopPlayback,
                Action::Play(vec![Prompt::Named("beep")])
            ]
        );
        d.handle_hangup(t0, EndReason::RemoteHangup, Duration::ZERO);
        assert_eq!(drain(&mut d), []);
        assert_eq!(d.phase(), Phase::Done);
    }
}
