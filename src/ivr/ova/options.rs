//! Personal options by phone: greetings and the recorded name (recorded, reviewed,
//! kept), the away greeting switch, and the PIN change (also the forced one after
//! logon with an expired PIN). Part of [`super::Ova`]; the keys are in the module
//! doc there.

use super::{Audio, Collect, MIN_RECORDING, Ova, OvaAction, Prompt, Recording, State};
use crate::directory::pin::PinRefusal;
use crate::store::GreetingKind;
use std::time::{Duration, Instant};

impl Ova {
    /// The shell set (or refused) the new PIN.
    pub fn handle_pin_changed(&mut self, _now: Instant, result: Result<(), PinRefusal>) {
        if self.state != State::Busy {
            return;
        }
        match result {
            Ok(()) if self.forced_pin_change => {
                self.forced_pin_change = false;
                // Then the summary and the main menu, as after any logon.
                let mut prompts = vec![Prompt::Named("pin_changed")];
                prompts.extend(self.summary());
                prompts.push(Prompt::Named("main_menu"));
                self.state = State::Main;
                self.play("pin_changed", None, prompts);
            }
            Ok(()) => self.say(
                "pin_changed",
                None,
                vec![Prompt::Named("pin_changed")],
                State::Options,
            ),
            Err(r) => {
                let p = match r {
                    PinRefusal::TooShort(_) | PinRefusal::NotDigits => "pin_too_short",
                    PinRefusal::InHistory(_) => "pin_reused",
                    PinRefusal::RepeatedDigit | PinRefusal::Sequence | PinRefusal::Extension => {
                        "pin_trivial"
                    }
                };
                self.say(
                    "pin_refused",
                    None,
                    vec![Prompt::Named(p)],
                    State::Collect(Collect::NewPin, String::new()),
                );
            }
        }
    }

    pub(super) fn options_key(&mut self, key: char) {
        let record = |k| State::Recording {
            what: Recording::Greeting(k),
            started: false,
        };
        match key {
            '1' => self.enter(record(GreetingKind::Personal)),
            '2' => self.enter(record(GreetingKind::Away)),
            '3' => self.enter(record(GreetingKind::Name)),
            '4' => {
                self.view.away = !self.view.away;
                self.actions.push_back(OvaAction::SetAway(self.view.away));
                let p = if self.view.away {
                    "away_on"
                } else {
                    "away_off"
                };
                self.say(
                    "away_toggled",
                    Some(key),
                    vec![Prompt::Named(p)],
                    State::Options,
                );
            }
            '5' => self.enter(State::Collect(Collect::NewPin, String::new())),
            '*' => self.enter(State::Main),
            '0' => self.enter(State::Options),
            _ => return self.failure("invalid_key", Some(key)),
        }
        self.failures = 0;
    }

    pub(super) fn review_key(&mut self, kind: GreetingKind, audio: Audio, key: char) {
        match key {
            '1' => {
                self.step("recording_kept", Some(key), &[]);
                self.state = State::Busy;
                self.actions
                    .push_back(OvaAction::SaveRecording { kind, audio });
            }
            '2' => self.enter(State::Recording {
                what: Recording::Greeting(kind),
                started: false,
            }),
            '*' => self.say(
                "recording_cancelled",
                Some(key),
                vec![Prompt::Named("recording_cancelled")],
                State::Options,
            ),
            '0' => self.enter(State::Review(kind, audio)),
            _ => self.failure("invalid_key", Some(key)),
        }
    }

    /// The recorder stopped (the caller's `#`, or the maximum length) and gives
    /// back what it recorded.
    pub fn handle_recorded(&mut self, _now: Instant, audio: Audio, duration: Duration) {
        let State::Recording {
            what,
            started: true,
        } = self.state.clone()
        else {
            return;
        };
        let short = duration < MIN_RECORDING;
        match what {
            Recording::Greeting(_) if short => self.say(
                "recording_too_short",
                None,
                vec![Prompt::Named("recording_too_short")],
                State::Options,
            ),
            Recording::Greeting(kind) => self.enter(State::Review(kind, audio)),
            Recording::Intro { to } => {
                self.step("forwarding", None, &[]);
                self.state = State::Busy;
                let id = self.view.messages[self.selected].id.clone();
                self.actions.push_back(OvaAction::Forward {
                    id,
                    to,
                    intro: (!short).then_some(audio),
                });
            }
        }
    }

    /// The shell stored (or failed to store) a recording.
    pub fn handle_saved(&mut self, _now: Instant, ok: bool) {
        if self.state != State::Busy {
            return;
        }
        let p = if ok {
            "recording_saved"
        } else {
            "recording_not_saved"
        };
        self.say(
            "recording_saved",
            None,
            vec![Prompt::Named(p)],
            State::Options,
        );
    }
}
