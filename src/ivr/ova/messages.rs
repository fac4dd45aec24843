//! Listening to voice mail: envelopes, audio, and the keys during and after a
//! message (delete/undelete, save, next, previous, replay, envelope, call back,
//! forward). Part of [`super::Ova`]; see the module doc there for the keys.

use super::{Audio, Collect, MessageView, OvaAction, Part, Prompt, Recording, Sender, State};
use super::{Ova, speech};
use crate::store::MessageStatus;
use std::time::Instant;

impl Ova {
    /// "New message from <name | extension 1 0 0 2 | 0 1 5 5 …>, received
    /// yesterday at 3 42 PM" (or "from an unknown caller").
    fn envelope(&self, m: &MessageView) -> Vec<Prompt> {
        let mut v = vec![Prompt::Named(match m.status {
            MessageStatus::New => "msg_new",
            MessageStatus::Saved => "msg_saved",
            MessageStatus::Deleted => "msg_deleted",
        })];
        match &m.sender {
            Sender::Mailbox {
                name: Some((law, a)),
                ..
            } => {
                v.push(Prompt::Named("from"));
                v.push(Prompt::Audio(*law, a.clone()));
            }
            Sender::Mailbox { extension, .. } => {
                v.push(Prompt::Named("from"));
                v.push(Prompt::Named("extension"));
                v.extend(extension.chars().map(Prompt::Digit));
            }
            Sender::Number(n) => {
                v.push(Prompt::Named("from"));
                v.extend(n.chars().filter(char::is_ascii_digit).map(Prompt::Digit));
            }
            Sender::Unknown => v.push(Prompt::Named("from_unknown_caller")),
        }
        v.push(Prompt::Named("received"));
        let received = m.received.to_zoned(self.tz.clone()).datetime();
        let today = self.p.wall.to_zoned(self.tz.clone()).date();
        v.extend(speech::when(self.p.lang, received, today));
        v
    }

    /// Play message `i` from `part` (the envelope, the audio, or the menu after).
    pub(super) fn enter_message(&mut self, i: usize, part: Part) {
        let Some(m) = self.view.messages.get(i).cloned() else {
            return self.say(
                "no_more_messages",
                None,
                vec![Prompt::Named("no_more_messages")],
                State::Main,
            );
        };
        self.state = State::Message(i, part);
        match part {
            Part::Envelope | Part::EnvelopeOnly => {
                self.fetch(&m.id);
                let env = self.envelope(&m);
                self.play("envelope", None, env);
            }
            Part::Body | Part::WaitAudio => match self.audio.get(&m.id) {
                Some(Some((law, a))) => {
                    let p = vec![Prompt::Audio(*law, a.clone())];
                    self.state = State::Message(i, Part::Body);
                    self.play("message", None, p);
                }
                // Unreadable: say nothing of it, offer the menu.
                Some(None) => self.enter_message(i, Part::Menu),
                None => {
                    self.state = State::Message(i, Part::WaitAudio);
                    self.fetch(&m.id);
                }
            },
            Part::Menu => self.play("message_menu", None, vec![Prompt::Named("after_message")]),
        }
    }

    /// Ask the shell for a message's audio, once.
    fn fetch(&mut self, id: &str) {
        if !self.audio.contains_key(id) && self.requested.insert(id.to_string()) {
            self.actions
                .push_back(OvaAction::FetchAudio { id: id.to_string() });
        }
    }

    pub(super) fn message_play_done(&mut self, now: Instant, i: usize, part: Part) {
        match part {
            Part::Envelope => self.enter_message(i, Part::Body),
            Part::EnvelopeOnly => self.enter_message(i, Part::Menu),
            Part::Body => {
                // Heard to its end: a new message is now saved.
                if let Some(m) = self.view.messages.get_mut(i)
                    && m.status == MessageStatus::New
                {
                    m.status = MessageStatus::Saved;
                    let id = m.id.clone();
                    self.actions.push_back(OvaAction::SetStatus {
                        id,
                        status: MessageStatus::Saved,
                    });
                }
                self.enter_message(i, Part::Menu);
            }
            Part::Menu => {
                self.state = State::Message(i, Part::Menu);
                self.deadline = Some(now + self.first_digit);
            }
            Part::WaitAudio => self.state = State::Message(i, part),
        }
    }

    /// A message's audio, or None when the store could not give it.
    pub fn handle_audio(&mut self, _now: Instant, id: &str, audio: Option<Audio>) {
        self.audio.insert(id.to_string(), audio);
        if let State::Message(i, Part::WaitAudio) = self.state
            && self.view.messages.get(i).is_some_and(|m| m.id == id)
        {
            self.enter_message(i, Part::Body);
        }
    }

    fn set_status(&mut self, i: usize, status: MessageStatus) {
        if let Some(m) = self.view.messages.get_mut(i) {
            m.status = status;
            let id = m.id.clone();
            self.actions.push_back(OvaAction::SetStatus { id, status });
        }
    }

    pub(super) fn message_key(&mut self, i: usize, key: char) {
        let Some(m) = self.view.messages.get(i).cloned() else {
            return self.enter(State::Main);
        };
        self.failures = 0;
        match key {
            '7' if m.status == MessageStatus::Deleted => {
                self.set_status(i, MessageStatus::Saved);
                self.say(
                    "undelete",
                    Some(key),
                    vec![Prompt::Named("message_undeleted")],
                    State::Message(i, Part::Menu),
                );
            }
            '7' => {
                self.set_status(i, MessageStatus::Deleted);
                self.say(
                    "delete",
                    Some(key),
                    vec![Prompt::Named("message_deleted")],
                    State::Message(i + 1, Part::Envelope),
                );
            }
            '9' => {
                self.set_status(i, MessageStatus::Saved);
                self.say(
                    "save",
                    Some(key),
                    vec![Prompt::Named("message_kept")],
                    State::Message(i + 1, Part::Envelope),
                );
            }
            '#' => {
                self.step("next", Some(key), &[]);
                self.enter_message(i + 1, Part::Envelope);
            }
            '4' if i == 0 => self.say(
                "previous",
                Some(key),
                vec![Prompt::Named("first_message")],
                State::Message(0, Part::Envelope),
            ),
            '4' => {
                self.step("previous", Some(key), &[]);
                self.enter_message(i - 1, Part::Envelope);
            }
            '5' => {
                self.step("replay", Some(key), &[]);
                self.enter_message(i, Part::Body);
            }
            '3' => {
                self.step("envelope", Some(key), &[]);
                self.enter_message(i, Part::EnvelopeOnly);
            }
            '2' => match m.sender {
                Sender::Mailbox { extension: n, .. } | Sender::Number(n) => {
                    self.selected = i;
                    self.state = State::CallingBack {
                        number: n,
                        sent: false,
                    };
                    self.play("call_back", Some(key), vec![Prompt::Named("calling_back")]);
                }
                Sender::Unknown => self.say(
                    "cannot_call_back",
                    Some(key),
                    vec![Prompt::Named("cannot_call_back")],
                    State::Message(i, Part::Menu),
                ),
            },
            '8' => {
                self.selected = i;
                self.step("forward", Some(key), &[]);
                self.enter(State::Collect(Collect::ForwardTo, String::new()));
            }
            '*' => {
                self.step("main_menu", Some(key), &[]);
                self.enter(State::Main);
            }
            '0' => self.enter_message(i, Part::Menu),
            _ => self.failure("invalid_key", Some(key)),
        }
    }

    /// The extension to forward to was entered.
    pub(super) fn forward_to(&mut self, to: String) {
        let i = self.selected;
        if self.p.dir.mailbox(&self.p.dial_plan, &to).is_none() {
            self.failures += 1;
            if self.failures >= self.input_limit {
                return self.farewell("goodbye", vec![]);
            }
            return self.say(
                "extension_not_valid",
                None,
                vec![Prompt::Named("extension_not_valid")],
                State::Collect(Collect::ForwardTo, String::new()),
            );
        }
        self.failures = 0;
        self.state = State::Message(i, Part::Menu);
        self.enter(State::ForwardChoice(to));
    }

    pub(super) fn forward_choice_key(&mut self, to: String, key: char) {
        match key {
            '1' => self.enter(State::Recording {
                what: Recording::Intro { to },
                started: false,
            }),
            '#' => {
                self.step("forwarding", Some(key), &[]);
                let Some(m) = self.view.messages.get(self.selected) else {
                    return self.enter(State::Main);
                };
                let id = m.id.clone();
                self.state = State::Busy;
                self.actions.push_back(OvaAction::Forward {
                    id,
                    to,
                    intro: None,
                });
            }
            '*' => self.enter(State::Message(self.selected, Part::Menu)),
            _ => self.failure("invalid_key", Some(key)),
        }
    }

    /// The shell stored (or failed to store) the forwarded copy.
    pub fn handle_forwarded(&mut self, _now: Instant, ok: bool) {
        if self.state != State::Busy {
            return;
        }
        let p = if ok {
            "message_forwarded"
        } else {
            "forward_failed"
        };
        let i = self.selected;
        self.say(
            "forwarded",
            None,
            vec![Prompt::Named(p)],
            State::Message(i, Part::Menu),
        );
    }

    /// How a call-back transfer ended: the caller is gone, or back in the menu.
    pub fn handle_transfer_result(&mut self, _now: Instant, ok: bool) {
        if !matches!(self.state, State::CallingBack { sent: true, .. }) {
            return;
        }
        if ok {
            self.step("called_back", None, &[]);
            self.state = State::Done;
            self.actions.push_back(OvaAction::Hangup);
            return;
        }
        let i = self.selected;
        self.say(
            "call_back_failed",
            None,
            vec![Prompt::Named("callback_failed")],
            State::Message(i, Part::Menu),
        );
    }
}
