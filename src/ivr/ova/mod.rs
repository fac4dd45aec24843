//! Outlook Voice Access, sans-IO: a subscriber calls the dial plan's subscriber
//! access number, logs on with a PIN, listens to and manages voice mail, and
//! changes personal options (greetings, recorded name, away greeting, PIN).
//!
//! - **Logon.** A caller whose number is a mailbox of the dial plan is asked for
//!   the PIN at once; anyone else (or a caller who presses `*` there) enters an
//!   extension first. Digits end with `#` (or the inter-digit timeout). The PIN
//!   is checked by the shell against the store ([`OvaAction::Logon`]), which
//!   counts failures and locks the mailbox at the policy's limit; the call ends
//!   after the dial plan's `logon_failures_before_disconnect`. An expired PIN
//!   must be changed before anything else.
//! - **Main menu** (after "You have N new messages and M saved messages"): `1`
//!   voice mail, `6` personal options, `0` or `*` the menu again.
//! - **Messages** ([`messages`]), new first (oldest first), then saved: the
//!   envelope, then the audio; keys during and after: `7` delete (on a message
//!   deleted during this call: undelete), `9` save, `#` next, `4` previous, `5`
//!   replay, `3` envelope, `2` call the sender back, `8` forward, `0` help, `*`
//!   main menu. A new message becomes saved once played to its end.
//! - **Personal options**: `1` personal greeting, `2` away greeting, `3` recorded
//!   name (each recorded after the tone, ended by `#` or the policy's maximum
//!   greeting length, played back, then `1` keep / `2` again / `*` cancel), `4`
//!   away greeting on/off, `5` change the PIN (twice; the shell enforces the
//!   policy), `*` main menu, `0` the menu again.
//!
//! Every prompt is interruptible by a key. No input within the first-digit
//! timeout, or an invalid key, is an input failure; at the dial plan's
//! `input_failures_before_disconnect` the caller hears goodbye and is hung up on.
//! Every step is an [`OvaStep`] (the `ova_menu` event). The store is reached only
//! through actions the shell answers (`handle_*`); the clock only through `now`.
//!
//! Depends on `directory` (dial plan, policy, mailboxes), `store` value types,
//! [`super::speech`] and [`super::deposit::Prompt`].

mod messages;
mod options;
#[cfg(test)]
mod tests;

use super::deposit::Prompt;
use super::speech::{self, Lang};
use crate::directory::Directory;
use crate::media::g711::Law;
use crate::store::{GreetingKind, MessageStatus};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A recording in its law.
pub type Audio = (Law, Arc<[u8]>);

/// Recordings shorter than this are taken as nothing said.
const MIN_RECORDING: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub struct OvaParams {
    pub dial_plan: String,
    pub dir: Arc<Directory>,
    /// The mailbox the calling number identifies, if any.
    pub caller: Option<String>,
    /// The call's wall-clock time (for "today" and "yesterday" in envelopes).
    pub wall: jiff::Timestamp,
    pub lang: Lang,
}

/// Who left a message, as the envelope says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A mailbox of the directory, with its recorded name if it has one.
    Mailbox {
        extension: String,
        name: Option<Audio>,
    },
    Number(String),
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    pub id: String,
    pub status: MessageStatus,
    pub sender: Sender,
    pub received: jiff::Timestamp,
}

/// The mailbox as the subscriber finds it at logon (the shell reads the store).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxView {
    /// Not deleted; new first, each group oldest first.
    pub messages: Vec<MessageView>,
    pub away: bool,
    /// The subscriber's own language, when not the dial plan's.
    pub lang: Option<Lang>,
}

/// How the shell's PIN check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogonOutcome {
    Ok {
        must_change: bool,
        view: MailboxView,
    },
    Wrong {
        locked: bool,
    },
    Locked,
    NoPin,
    /// The store could not be read.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OvaAction {
    Play(Vec<Prompt>),
    StopPlayback,
    /// Check this PIN; answer with [`Ova::handle_logon`].
    Logon {
        extension: String,
        pin: String,
    },
    /// Load a message's audio; answer with [`Ova::handle_audio`].
    FetchAudio {
        id: String,
    },
    /// Mark a message (the shell writes it and updates MWI; no answer needed).
    SetStatus {
        id: String,
        status: MessageStatus,
    },
    /// Record what the caller says, up to `max`.
    StartRecording {
        max: Duration,
    },
    /// Stop recording; answer with [`Ova::handle_recorded`].
    StopRecording,
    /// Keep a greeting or the recorded name; answer with [`Ova::handle_saved`].
    SaveRecording {
        kind: GreetingKind,
        audio: Audio,
    },
    /// Turn the away greeting on or off (no answer needed).
    SetAway(bool),
    /// Set a new PIN (policy enforced by the shell); answer with
    /// [`Ova::handle_pin_changed`].
    ChangePin {
        pin: String,
    },
    /// Copy a message to another mailbox; answer with [`Ova::handle_forwarded`].
    Forward {
        id: String,
        to: String,
        intro: Option<Audio>,
    },
    /// Transfer the caller to this number (REFER through the gateway); answer
    /// with [`Ova::handle_transfer_result`].
    Callback {
        number: String,
    },
    /// From now on, prompts in this language (the subscriber's, after logon).
    SetLanguage(Lang),
    Hangup,
}

/// One menu step, for the `ova_menu` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvaStep {
    pub mailbox: Option<String>,
    pub step: &'static str,
    pub key: Option<char>,
    pub prompts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Collect {
    Extension,
    Pin,
    NewPin,
    ConfirmPin(String),
    ForwardTo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The envelope, then the audio.
    Envelope,
    /// The envelope alone (key 3), then the menu.
    EnvelopeOnly,
    /// The envelope is over; the audio has not arrived yet.
    WaitAudio,
    Body,
    Menu,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Recording {
    Greeting(GreetingKind),
    Intro { to: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Collect(Collect, String),
    /// Waiting for the shell (PIN check, save, PIN change, forward).
    Busy,
    Main,
    Message(usize, Part),
    ForwardChoice(String),
    /// The instructions and the tone play; then recording until `#`.
    Recording {
        what: Recording,
        started: bool,
    },
    Review(GreetingKind, Audio),
    Options,
    /// "Calling the sender", then the transfer's outcome.
    CallingBack {
        number: String,
        sent: bool,
    },
    /// Something plays, then `next`.
    Saying(Box<State>),
    Farewell,
    Done,
}

#[derive(Debug)]
pub struct Ova {
    p: OvaParams,
    tz: jiff::tz::TimeZone,
    first_digit: Duration,
    inter_digit: Duration,
    input_limit: u32,
    logon_limit: u32,
    min_pin: usize,
    max_greeting: Duration,
    state: State,
    mailbox: Option<String>,
    logon_failures: u32,
    failures: u32,
    forced_pin_change: bool,
    logged_on: bool,
    /// The message being forwarded or called back (its index).
    selected: usize,
    /// Messages whose audio was asked for.
    requested: HashSet<String>,
    view: MailboxView,
    audio: HashMap<String, Option<Audio>>,
    playing: bool,
    deadline: Option<Instant>,
    actions: VecDeque<OvaAction>,
    steps: VecDeque<OvaStep>,
}

impl Ova {
    /// None when the dial plan is unknown to `p.dir`.
    pub fn new(p: OvaParams) -> Option<Ova> {
        let dp = p.dir.dial_plan(&p.dial_plan)?.clone();
        let policy = p.dir.policy(&dp.mailbox_policy)?.clone();
        let tz =
            crate::directory::schedule::time_zone(&dp.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        Some(Ova {
            tz,
            first_digit: dp.first_digit_timeout,
            inter_digit: dp.inter_digit_timeout,
            input_limit: dp.input_failures_before_disconnect,
            logon_limit: dp.logon_failures_before_disconnect,
            min_pin: policy.min_pin_length,
            max_greeting: policy.max_greeting,
            state: State::Busy,
            mailbox: None,
            logon_failures: 0,
            failures: 0,
            forced_pin_change: false,
            logged_on: false,
            selected: 0,
            requested: HashSet::new(),
            view: MailboxView::default(),
            audio: HashMap::new(),
            playing: false,
            deadline: None,
            actions: VecDeque::new(),
            steps: VecDeque::new(),
            p,
        })
    }

    pub fn poll_action(&mut self) -> Option<OvaAction> {
        self.actions.pop_front()
    }

    pub fn poll_step(&mut self) -> Option<OvaStep> {
        self.steps.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The mailbox logged on to (or being logged on to).
    pub fn mailbox(&self) -> Option<&str> {
        self.mailbox.as_deref()
    }

    fn step(&mut self, step: &'static str, key: Option<char>, prompts: &[Prompt]) {
        self.steps.push_back(OvaStep {
            mailbox: self.mailbox.clone(),
            step,
            key,
            prompts: prompts.iter().map(Prompt::log_name).collect(),
        });
    }

    /// Play `prompts` (one step); the input deadline starts when they end.
    fn play(&mut self, step: &'static str, key: Option<char>, prompts: Vec<Prompt>) {
        self.step(step, key, &prompts);
        self.deadline = None;
        self.playing = true;
        self.actions.push_back(OvaAction::Play(prompts));
    }

    fn stop_playback(&mut self) {
        if self.playing {
            self.playing = false;
            self.actions.push_back(OvaAction::StopPlayback);
        }
    }

    /// Play `prompts`, then go to `next`.
    fn say(&mut self, step: &'static str, key: Option<char>, prompts: Vec<Prompt>, next: State) {
        self.state = State::Saying(Box::new(next));
        self.play(step, key, prompts);
    }

    fn farewell(&mut self, step: &'static str, mut prompts: Vec<Prompt>) {
        prompts.push(Prompt::Named("ova_goodbye"));
        self.state = State::Farewell;
        self.play(step, None, prompts);
    }

    /// The call is answered.
    pub fn start(&mut self, _now: Instant) {
        match self.p.caller.clone() {
            Some(ext) => {
                self.mailbox = Some(ext);
                self.state = State::Collect(Collect::Pin, String::new());
                self.play(
                    "welcome",
                    None,
                    vec![Prompt::Named("ova_welcome"), Prompt::Named("enter_pin")],
                );
            }
            None => {
                self.state = State::Collect(Collect::Extension, String::new());
                self.play("welcome", None, vec![Prompt::Named("sa_welcome")]);
            }
        }
    }

    /// Go to `s` and play what it asks.
    fn enter(&mut self, s: State) {
        match s {
            State::Collect(c, _) => {
                let p = match &c {
                    Collect::Extension => "enter_extension",
                    Collect::Pin => "enter_pin",
                    Collect::NewPin => "enter_new_pin",
                    Collect::ConfirmPin(_) => "confirm_new_pin",
                    Collect::ForwardTo => "forward_to",
                };
                self.state = State::Collect(c, String::new());
                self.play("prompt", None, vec![Prompt::Named(p)]);
            }
            State::Main => {
                self.state = State::Main;
                self.play("main_menu", None, vec![Prompt::Named("main_menu")]);
            }
            State::Options => {
                self.state = State::Options;
                self.play("options_menu", None, vec![Prompt::Named("options_menu")]);
            }
            State::Message(i, part) => self.enter_message(i, part),
            State::ForwardChoice(to) => {
                self.state = State::ForwardChoice(to);
                self.play(
                    "forward_choice",
                    None,
                    vec![Prompt::Named("forward_intro_choice")],
                );
            }
            State::Recording { what, .. } => {
                let first = match what {
                    Recording::Greeting(_) => "record_greeting",
                    Recording::Intro { .. } => "record_intro",
                };
                self.state = State::Recording {
                    what,
                    started: false,
                };
                self.play(
                    "record",
                    None,
                    vec![Prompt::Named(first), Prompt::Named("beep")],
                );
            }
            State::Review(kind, audio) => {
                let prompts = vec![
                    Prompt::Audio(audio.0, audio.1.clone()),
                    Prompt::Named("review_recording"),
                ];
                self.state = State::Review(kind, audio);
                self.play("review", None, prompts);
            }
            other => self.state = other,
        }
    }

    /// The menu again, after an input failure (or goodbye at the limit).
    fn failure(&mut self, why: &'static str, key: Option<char>) {
        self.failures += 1;
        if self.failures >= self.input_limit {
            self.step("input_failures", key, &[]);
            return self.farewell("goodbye", vec![]);
        }
        let again = match &self.state {
            State::Collect(c, _) => State::Collect(c.clone(), String::new()),
            State::Message(i, _) => State::Message(*i, Part::Menu),
            s => s.clone(),
        };
        let prompt = if why == "no_input" {
            "no_input"
        } else {
            "invalid_choice"
        };
        self.say(why, key, vec![Prompt::Named(prompt)], again);
    }

    /// "You have N new messages and M saved messages", then the main menu.
    fn summary(&self) -> Vec<Prompt> {
        let count = |n: usize, one: &'static str, many: &'static str| {
            let mut v = if n == 0 {
                vec![Prompt::Named("n_no")]
            } else {
                speech::number(self.p.lang, n as u64)
            };
            v.push(Prompt::Named(if n == 1 { one } else { many }));
            v
        };
        let new = self
            .view
            .messages
            .iter()
            .filter(|m| m.status == MessageStatus::New)
            .count();
        let saved = self
            .view
            .messages
            .iter()
            .filter(|m| m.status == MessageStatus::Saved)
            .count();
        let mut v = vec![Prompt::Named("you_have")];
        v.extend(count(new, "new_message", "new_messages"));
        v.push(Prompt::Named("n_and"));
        v.extend(count(saved, "saved_message", "saved_messages"));
        v
    }

    fn logged_on(&mut self) {
        let mut prompts = self.summary();
        prompts.push(Prompt::Named("main_menu"));
        self.state = State::Main;
        self.play("logged_on", None, prompts);
    }

    /// The queued prompts finished playing.
    pub fn handle_play_done(&mut self, now: Instant) {
        self.playing = false;
        match std::mem::replace(&mut self.state, State::Busy) {
            State::Saying(next) => self.enter(*next),
            State::Farewell => {
                self.state = State::Done;
                self.actions.push_back(OvaAction::Hangup);
            }
            State::Recording {
                what,
                started: false,
            } => {
                self.state = State::Recording {
                    what,
                    started: true,
                };
                self.actions.push_back(OvaAction::StartRecording {
                    max: self.max_greeting,
                });
            }
            State::CallingBack {
                number,
                sent: false,
            } => {
                self.actions.push_back(OvaAction::Callback {
                    number: number.clone(),
                });
                self.state = State::CallingBack { number, sent: true };
            }
            State::Message(i, part) => self.message_play_done(now, i, part),
            s @ (State::Collect(..)
            | State::Main
            | State::Options
            | State::ForwardChoice(_)
            | State::Review(..)) => {
                self.state = s;
                self.deadline = Some(now + self.first_digit);
            }
            s => self.state = s,
        }
    }

    pub fn handle_dtmf(&mut self, now: Instant, key: char) {
        if matches!(
            self.state,
            State::Busy | State::Farewell | State::Done | State::CallingBack { .. }
        ) {
            return;
        }
        if let State::Recording { started, .. } = self.state {
            // The recorder's answer (handle_recorded) moves on; other keys are
            // part of what is recorded.
            if started && key == '#' {
                self.actions.push_back(OvaAction::StopRecording);
            }
            return;
        }
        self.stop_playback();
        self.deadline = None;
        if matches!(self.state, State::Saying(_))
            && let State::Saying(next) = std::mem::replace(&mut self.state, State::Busy)
        {
            // A key during a confirmation: go straight on, and take the key there.
            self.enter(*next);
            self.stop_playback();
        }
        match self.state.clone() {
            State::Collect(c, digits) => self.collect_key(now, c, digits, key),
            State::Main => self.main_key(key),
            State::Options => self.options_key(key),
            State::Message(i, _) => self.message_key(i, key),
            State::ForwardChoice(to) => self.forward_choice_key(to, key),
            State::Review(kind, audio) => self.review_key(kind, audio, key),
            _ => {}
        }
    }

    fn collect_key(&mut self, now: Instant, c: Collect, mut digits: String, key: char) {
        match key {
            '#' => self.collected(c, digits),
            '*' if digits.is_empty() => match c {
                Collect::Pin | Collect::Extension if !self.logged_on => {
                    self.mailbox = None;
                    self.enter(State::Collect(Collect::Extension, String::new()));
                }
                Collect::NewPin | Collect::ConfirmPin(_) if !self.forced_pin_change => {
                    self.enter(State::Options)
                }
                Collect::ForwardTo => self.enter(State::Message(self.current(), Part::Menu)),
                _ => self.failure("invalid_key", Some(key)),
            },
            '*' => self.enter(State::Collect(c, String::new())),
            d if d.is_ascii_digit() => {
                digits.push(d);
                if digits.len() > 32 {
                    return self.failure("too_many_digits", None);
                }
                self.state = State::Collect(c, digits);
                self.deadline = Some(now + self.inter_digit);
            }
            _ => self.failure("invalid_key", Some(key)),
        }
    }

    fn current(&self) -> usize {
        match self.state {
            State::Message(i, _) => i,
            _ => 0,
        }
    }

    fn collected(&mut self, c: Collect, digits: String) {
        if digits.is_empty() {
            return self.failure("no_input", Some('#'));
        }
        match c {
            Collect::Extension => {
                if self.p.dir.mailbox(&self.p.dial_plan, &digits).is_some() {
                    self.failures = 0;
                    self.mailbox = Some(digits);
                    self.step("extension", None, &[]);
                    self.enter(State::Collect(Collect::Pin, String::new()));
                } else {
                    self.step("extension_unknown", None, &[]);
                    self.failures += 1;
                    if self.failures >= self.input_limit {
                        return self.farewell("goodbye", vec![]);
                    }
                    self.say(
                        "extension_not_valid",
                        None,
                        vec![Prompt::Named("extension_not_valid")],
                        State::Collect(Collect::Extension, String::new()),
                    );
                }
            }
            Collect::Pin => {
                let Some(extension) = self.mailbox.clone() else {
                    return self.enter(State::Collect(Collect::Extension, String::new()));
                };
                self.step("pin_entered", None, &[]);
                self.state = State::Busy;
                self.actions.push_back(OvaAction::Logon {
                    extension,
                    pin: digits,
                });
            }
            Collect::NewPin => {
                if digits.len() < self.min_pin {
                    return self.say(
                        "pin_refused",
                        None,
                        vec![Prompt::Named("pin_too_short")],
                        State::Collect(Collect::NewPin, String::new()),
                    );
                }
                self.enter(State::Collect(Collect::ConfirmPin(digits), String::new()))
            }
            Collect::ConfirmPin(first) => {
                if first != digits {
                    return self.say(
                        "pins_differ",
                        None,
                        vec![Prompt::Named("pins_differ")],
                        State::Collect(Collect::NewPin, String::new()),
                    );
                }
                self.step("pin_change", None, &[]);
                self.state = State::Busy;
                self.actions.push_back(OvaAction::ChangePin { pin: digits });
            }
            Collect::ForwardTo => self.forward_to(digits),
        }
    }

    /// The shell checked the PIN.
    pub fn handle_logon(&mut self, _now: Instant, outcome: LogonOutcome) {
        if self.state != State::Busy {
            return;
        }
        match outcome {
            LogonOutcome::Ok { must_change, view } => {
                if let Some(l) = view.lang
                    && l != self.p.lang
                {
                    self.p.lang = l;
                    self.actions.push_back(OvaAction::SetLanguage(l));
                }
                self.view = view;
                self.logged_on = true;
                self.failures = 0;
                if must_change {
                    self.forced_pin_change = true;
                    self.say(
                        "pin_expired",
                        None,
                        vec![Prompt::Named("pin_expired")],
                        State::Collect(Collect::NewPin, String::new()),
                    );
                } else {
                    self.logged_on();
                }
            }
            LogonOutcome::Wrong { locked: true } | LogonOutcome::Locked => {
                self.farewell("mailbox_locked", vec![Prompt::Named("mailbox_locked")])
            }
            LogonOutcome::Wrong { locked: false } => {
                self.logon_failures += 1;
                if self.logon_failures >= self.logon_limit {
                    return self.farewell("logon_failures", vec![Prompt::Named("pin_wrong")]);
                }
                self.say(
                    "pin_wrong",
                    None,
                    vec![Prompt::Named("pin_wrong")],
                    State::Collect(Collect::Pin, String::new()),
                );
            }
            LogonOutcome::NoPin => self.farewell("pin_not_set", vec![Prompt::Named("pin_not_set")]),
            LogonOutcome::Failed => {
                self.farewell("store_failed", vec![Prompt::Named("not_available")])
            }
        }
    }

    fn main_key(&mut self, key: char) {
        match key {
            '1' => {
                self.failures = 0;
                if self.view.messages.is_empty() {
                    self.say(
                        "no_messages",
                        Some(key),
                        vec![Prompt::Named("no_messages")],
                        State::Main,
                    );
                } else {
                    self.step("voice_mail", Some(key), &[]);
                    self.enter_message(0, Part::Envelope);
                }
            }
            '6' => {
                self.failures = 0;
                self.step("personal_options", Some(key), &[]);
                self.enter(State::Options);
            }
            '0' | '*' => self.enter(State::Main),
            _ => self.failure("invalid_key", Some(key)),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_none_or(|d| d > now) {
            return;
        }
        self.deadline = None;
        match self.state.clone() {
            State::Collect(c, digits) if !digits.is_empty() => self.collected(c, digits),
            State::Collect(..)
            | State::Main
            | State::Options
            | State::Message(..)
            | State::ForwardChoice(_)
            | State::Review(..) => self.failure("no_input", None),
            _ => {}
        }
    }

    pub fn handle_hangup(&mut self) {
        if matches!(self.state, State::Recording { started: true, .. }) {
            self.actions.push_back(OvaAction::StopRecording);
        }
        self.state = State::Done;
        self.deadline = None;
        self.playing = false;
    }
}
