//! The auto-attendant call flow (New-UMAutoAttendant), sans-IO: greeting for the
//! period (business hours, after hours, holiday) and the informational
//! announcement, the main menu (custom prompt, or built from the key mappings),
//! then keys:
//!
//! - `1`–`9` as mapped: transfer to an extension, another attendant, an
//!   announcement, leave a message, dial by name;
//! - `0` the operator; `*` subscriber access; digits of an extension (dial by
//!   extension).
//!
//! **Extensions that begin with a mapped key** stay reachable through the
//! inter-digit timeout: after such a key the attendant waits `inter_digit_timeout`
//! for a second digit. If one comes, the caller is dialling an extension. If not,
//! the key's action runs. Keys no extension begins with act at once.
//!
//! **Dial by name**: the caller spells a last name on the keypad (E.161, accents
//! folded) and ends with `#`. One match is transferred. Several (up to 9) are read
//! out as `For <name spelled> at extension <digits>, press <n>`.
//!
//! Every prompt is interruptible by a key (barge-in) unless the attendant marks
//! its announcement uninterruptible. No input within `first_digit_timeout`, and
//! invalid input, count as failures. At the input-failure limit the caller hears
//! goodbye and is hung up on. Each step is one [`Step`] for the structured
//! `aa_menu` event.
//!
//! Depends on `directory` (the attendant, its dial plan's mailboxes) and
//! [`super::deposit`] for prompts and deposit parameters.

use super::deposit::{DepositParams, Prompt};
use crate::directory::schedule::{self, Period};
use crate::directory::{AutoAttendant, Directory, KeyAction, KeyMapping};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LETTERS: [&str; 26] = [
    "letter_a", "letter_b", "letter_c", "letter_d", "letter_e", "letter_f", "letter_g", "letter_h",
    "letter_i", "letter_j", "letter_k", "letter_l", "letter_m", "letter_n", "letter_o", "letter_p",
    "letter_q", "letter_r", "letter_s", "letter_t", "letter_u", "letter_v", "letter_w", "letter_x",
    "letter_y", "letter_z",
];

/// What the call must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AaAction {
    Play {
        prompts: Vec<Prompt>,
        interruptible: bool,
    },
    StopPlayback,
    /// REFER the caller to this extension; answer with
    /// [`Attendant::handle_transfer_result`].
    Transfer {
        extension: String,
    },
    /// Leave a message: the deposit flow takes over with these parameters.
    LeaveMessage(DepositParams),
    /// `*`: subscriber access (Outlook Voice Access) takes over the call.
    SubscriberAccess,
    Hangup,
}

/// One menu step, for the `aa_menu` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub attendant: String,
    pub step: &'static str,
    pub key: Option<String>,
    pub prompts: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct AttendantParams {
    pub name: String,
    pub dir: Arc<Directory>,
    /// The call's wall-clock time (chooses the schedule period).
    pub wall: jiff::Timestamp,
    pub first_digit_timeout: Duration,
    pub inter_digit_timeout: Duration,
    pub transfer_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Welcome greeting, then the info announcement (queued segments).
    Greeting,
    Menu,
    Collecting(String),
    DialByName(String),
    NameChoice(Vec<String>),
    /// "Please hold" then REFER; waiting for its outcome.
    Transferring {
        extension: String,
        sent: bool,
    },
    Announcement,
    /// "That line is not available, please leave a message", then the deposit.
    ThenMessage(String),
    /// Playing something, then hang up.
    Farewell,
    Done,
}

#[derive(Debug)]
pub struct Attendant {
    p: AttendantParams,
    aa: AutoAttendant,
    period: Period,
    ext_len: usize,
    state: State,
    failures: u32,
    playing: bool,
    interruptible: bool,
    /// Segments still to play in this state: (prompts, interruptible).
    queue: VecDeque<(Vec<Prompt>, bool)>,
    deadline: Option<Instant>,
    actions: VecDeque<AaAction>,
    steps: VecDeque<Step>,
}

/// E.161 keypad digit for a letter (accents folded: é → e, ç → c, ß → s).
pub fn keypad(c: char) -> Option<char> {
    let c = fold(c)?;
    Some(match c {
        'a'..='c' => '2',
        'd'..='f' => '3',
        'g'..='i' => '4',
        'j'..='l' => '5',
        'm'..='o' => '6',
        'p'..='s' => '7',
        't'..='v' => '8',
        'w'..='z' => '9',
        _ => return None,
    })
}

/// A letter without its accent, lower-case; None for anything not a letter.
pub fn fold(c: char) -> Option<char> {
    let l = c.to_lowercase().next()?;
    Some(match l {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'æ' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'œ' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        'ß' => 's',
        'a'..='z' => l,
        _ => return None,
    })
}

/// The keys that spell a display name's last word.
pub fn last_name_keys(display_name: &str) -> String {
    display_name
        .split_whitespace()
        .last()
        .unwrap_or("")
        .chars()
        .filter_map(keypad)
        .collect()
}

impl Attendant {
    /// None when the attendant is unknown to `p.dir`.
    pub fn new(p: AttendantParams) -> Option<Attendant> {
        let aa = p
            .dir
            .auto_attendants
            .iter()
            .find(|a| a.name == p.name)?
            .clone();
        let ext_len = p.dir.dial_plan(&aa.dial_plan)?.extension_digits;
        let period = Self::period_of(&aa, p.wall);
        Some(Attendant {
            p,
            aa,
            period,
            ext_len,
            state: State::Greeting,
            failures: 0,
            playing: false,
            interruptible: true,
            queue: VecDeque::new(),
            deadline: None,
            actions: VecDeque::new(),
            steps: VecDeque::new(),
        })
    }

    fn period_of(aa: &AutoAttendant, wall: jiff::Timestamp) -> Period {
        let tz = schedule::time_zone(&aa.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        schedule::period(&tz, &aa.business_hours, &aa.holidays, wall)
    }

    pub fn name(&self) -> &str {
        &self.aa.name
    }

    /// What subscriber access reached by `*` starts from: this attendant's dial
    /// plan, directory and call time.
    pub fn subscriber_access(&self) -> super::ova::OvaParams {
        super::ova::OvaParams {
            dial_plan: self.aa.dial_plan.clone(),
            dir: self.p.dir.clone(),
            caller: None,
            wall: self.p.wall,
            lang: super::speech::Lang::EnUs,
        }
    }

    pub fn period(&self) -> Period {
        self.period
    }

    pub fn poll_action(&mut self) -> Option<AaAction> {
        self.actions.pop_front()
    }

    pub fn poll_step(&mut self) -> Option<Step> {
        self.steps.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn step(&mut self, step: &'static str, key: Option<String>, prompts: &[Prompt]) {
        self.steps.push_back(Step {
            attendant: self.aa.name.clone(),
            step,
            key,
            prompts: prompts.iter().map(prompt_name).collect(),
        });
    }

    fn keys(&self) -> &[KeyMapping] {
        match self.period {
            Period::Business => &self.aa.business_keys,
            _ => &self.aa.after_hours_keys,
        }
    }

    /// Queue segments for the current state and start the first.
    fn play(&mut self, segments: Vec<(Vec<Prompt>, bool)>) {
        self.queue = segments.into();
        self.next_segment();
    }

    fn next_segment(&mut self) -> bool {
        match self.queue.pop_front() {
            Some((prompts, interruptible)) => {
                self.playing = true;
                self.interruptible = interruptible;
                self.deadline = None;
                self.actions.push_back(AaAction::Play {
                    prompts,
                    interruptible,
                });
                true
            }
            None => false,
        }
    }

    fn stop_playback(&mut self) {
        if self.playing {
            self.actions.push_back(AaAction::StopPlayback);
            self.playing = false;
        }
        self.queue.clear();
    }

    /// The call was answered: greet.
    pub fn start(&mut self, now: Instant) {
        self.state = State::Greeting;
        let welcome = match self.period {
            Period::Holiday(i) => {
                let h = &self.aa.holidays[i];
                named(h.greeting.as_deref()).unwrap_or(Prompt::Named("aa_holiday"))
            }
            Period::Business => {
                named(self.aa.greetings.business.as_deref()).unwrap_or(Prompt::Named("aa_welcome"))
            }
            Period::AfterHours => named(self.aa.greetings.after_hours.as_deref())
                .unwrap_or(Prompt::Named("aa_welcome_after_hours")),
        };
        let mut segments = vec![(vec![welcome], true)];
        if let Some(info) = named(self.aa.greetings.info.as_deref()) {
            segments.push((vec![info], !self.aa.greetings.info_uninterruptible));
        }
        let all: Vec<Prompt> = segments.iter().flat_map(|s| s.0.clone()).collect();
        let step = match self.period {
            Period::Business => "greeting_business",
            Period::AfterHours => "greeting_after_hours",
            Period::Holiday(_) => "greeting_holiday",
        };
        self.step(step, None, &all);
        self.play(segments);
        let _ = now;
    }

    fn menu_prompts(&self) -> Vec<Prompt> {
        let custom = match self.period {
            Period::Business => self.aa.greetings.business_menu.as_deref(),
            _ => self.aa.greetings.after_hours_menu.as_deref(),
        };
        if let Some(p) = named(custom) {
            return vec![p];
        }
        let mut v = Vec::new();
        for k in self.keys() {
            match &k.action {
                KeyAction::Transfer(e) => {
                    v.push(Prompt::Named("to_reach_extension"));
                    v.extend(e.chars().map(Prompt::Digit));
                }
                KeyAction::LeaveMessage(e) => {
                    v.push(Prompt::Named("to_leave_message_for"));
                    v.extend(e.chars().map(Prompt::Digit));
                }
                KeyAction::DialByName => v.push(Prompt::Named("to_dial_by_name")),
                KeyAction::Attendant(_) => v.push(Prompt::Named("to_go_to_another_menu")),
                KeyAction::Announcement(_) => v.push(Prompt::Named("to_hear_announcement")),
            }
            v.push(Prompt::Named("press"));
            v.push(Prompt::Digit(k.key));
        }
        if self.aa.operator_extension.is_some() {
            v.extend([
                Prompt::Named("for_the_operator"),
                Prompt::Named("press"),
                Prompt::Digit('0'),
            ]);
        }
        if self.aa.star_subscriber_access {
            v.extend([
                Prompt::Named("for_voice_mail_access"),
                Prompt::Named("press"),
                Prompt::Named("key_star"),
            ]);
        }
        if self.aa.dial_by_extension {
            v.push(Prompt::Named("or_enter_extension"));
        }
        v
    }

    fn back_to_menu(&mut self, before: Vec<Prompt>) {
        self.state = State::Menu;
        let menu = self.menu_prompts();
        let mut all = before.clone();
        all.extend(menu.iter().cloned());
        self.step("menu", None, &all);
        let mut segs = Vec::new();
        if !before.is_empty() {
            segs.push((before, true));
        }
        segs.push((menu, true));
        self.play(segs);
    }

    /// A failure (no input, invalid input): say why and go back to the menu, or
    /// say goodbye at the limit.
    fn failure(&mut self, why: &'static str) {
        self.failures += 1;
        if self.failures >= self.aa.input_failures {
            let bye = [Prompt::Named(why), Prompt::Named("goodbye")];
            self.step("too_many_failures", None, &bye);
            return self.farewell(bye.to_vec());
        }
        self.back_to_menu(vec![Prompt::Named(why)]);
    }

    fn farewell(&mut self, prompts: Vec<Prompt>) {
        self.stop_playback();
        self.state = State::Farewell;
        self.play(vec![(prompts, false)]);
    }

    /// The current prompt finished playing.
    pub fn handle_play_done(&mut self, now: Instant) {
        self.playing = false;
        if self.next_segment() {
            return;
        }
        match self.state.clone() {
            State::Greeting => self.back_to_menu(vec![]),
            State::Announcement => self.back_to_menu(vec![]),
            State::Menu | State::DialByName(_) | State::NameChoice(_) => {
                self.deadline = Some(now + self.p.first_digit_timeout)
            }
            State::Collecting(_) => self.deadline = Some(now + self.p.inter_digit_timeout),
            State::Transferring {
                extension,
                sent: false,
            } => {
                self.state = State::Transferring {
                    extension: extension.clone(),
                    sent: true,
                };
                self.actions.push_back(AaAction::Transfer { extension });
                self.deadline = Some(now + self.p.transfer_timeout);
            }
            State::Farewell => {
                self.state = State::Done;
                self.actions.push_back(AaAction::Hangup);
            }
            State::ThenMessage(ext) => self.leave_message(&ext),
            State::Transferring { .. } | State::Done => {}
        }
    }

    fn is_mailbox(&self, ext: &str) -> bool {
        self.p.dir.mailbox(&self.aa.dial_plan, ext).is_some()
    }

    fn mapped(&self, key: char) -> Option<KeyAction> {
        if key == '0' {
            return self.aa.operator_extension.clone().map(KeyAction::Transfer);
        }
        self.keys()
            .iter()
            .find(|k| k.key == key)
            .map(|k| k.action.clone())
    }

    /// Does any mailbox extension of the dial plan begin with `key`?
    fn extension_starts_with(&self, key: char) -> bool {
        self.aa.dial_by_extension
            && self
                .p
                .dir
                .mailboxes
                .iter()
                .any(|m| m.dial_plan == self.aa.dial_plan && m.extension.starts_with(key))
    }

    /// A key from the caller (any source).
    pub fn handle_dtmf(&mut self, now: Instant, key: char) {
        if self.playing && !self.interruptible {
            return;
        }
        match self.state.clone() {
            State::Greeting | State::Menu | State::Announcement => {
                self.stop_playback();
                self.deadline = None;
                self.menu_key(now, key);
            }
            State::Collecting(mut digits) => {
                self.stop_playback();
                if key == '#' {
                    return self.dial_extension(&digits);
                }
                if !key.is_ascii_digit() {
                    return self.failure("extension_not_valid");
                }
                digits.push(key);
                if digits.len() >= self.ext_len {
                    return self.dial_extension(&digits);
                }
                self.state = State::Collecting(digits);
                self.deadline = Some(now + self.p.inter_digit_timeout);
            }
            State::DialByName(mut keys) => {
                self.stop_playback();
                if key == '#' {
                    return self.match_names(&keys);
                }
                if key.is_ascii_digit() {
                    keys.push(key);
                }
                self.state = State::DialByName(keys);
                self.deadline = Some(now + self.p.inter_digit_timeout.max(Duration::from_secs(5)));
            }
            State::NameChoice(matches) => {
                self.stop_playback();
                let pick = key.to_digit(10).map(|d| d as usize);
                match pick
                    .and_then(|d| d.checked_sub(1))
                    .and_then(|i| matches.get(i))
                {
                    Some(ext) => {
                        let ext = ext.clone();
                        self.step("name_chosen", Some(key.to_string()), &[]);
                        self.transfer(ext);
                    }
                    None if key == '*' => self.back_to_menu(vec![]),
                    None => self.failure("extension_not_valid"),
                }
            }
            State::Transferring { .. } | State::ThenMessage(_) | State::Farewell | State::Done => {}
        }
    }

    fn menu_key(&mut self, now: Instant, key: char) {
        match key {
            '*' if self.aa.star_subscriber_access => {
                self.step("subscriber_access", Some("*".into()), &[]);
                self.state = State::Done;
                self.deadline = None;
                self.actions.push_back(AaAction::SubscriberAccess);
            }
            '#' => self.back_to_menu(vec![]),
            k if k.is_ascii_digit() => {
                let mapped = self.mapped(k);
                if mapped.is_some() && !self.extension_starts_with(k) {
                    return self.run(k, mapped);
                }
                if mapped.is_none() && !self.extension_starts_with(k) {
                    self.step("invalid_key", Some(k.to_string()), &[]);
                    return self.failure("extension_not_valid");
                }
                // An extension may begin with this key: wait for more digits.
                self.state = State::Collecting(k.to_string());
                self.deadline = Some(now + self.p.inter_digit_timeout);
                if self.ext_len == 1 {
                    self.dial_extension(&k.to_string());
                }
            }
            k => {
                self.step("invalid_key", Some(k.to_string()), &[]);
                self.failure("extension_not_valid");
            }
        }
    }

    fn run(&mut self, key: char, action: Option<KeyAction>) {
        let key_s = Some(key.to_string());
        match action {
            Some(KeyAction::Transfer(ext)) => {
                let step = if key == '0' {
                    "operator"
                } else {
                    "key_transfer"
                };
                self.step(step, key_s, &[]);
                self.transfer(ext);
            }
            Some(KeyAction::LeaveMessage(ext)) => {
                self.step("key_leave_message", key_s, &[]);
                self.leave_message(&ext);
            }
            Some(KeyAction::DialByName) => {
                self.state = State::DialByName(String::new());
                let p = vec![Prompt::Named("spell_last_name")];
                self.step("dial_by_name", key_s, &p);
                self.play(vec![(p, true)]);
            }
            Some(KeyAction::Announcement(name)) => {
                self.state = State::Announcement;
                let p: Vec<Prompt> = named(Some(&name)).into_iter().collect();
                self.step("announcement", key_s, &p);
                self.play(vec![(p, true)]);
                if !self.playing {
                    self.back_to_menu(vec![]);
                }
            }
            Some(KeyAction::Attendant(name)) => {
                let other = self
                    .p
                    .dir
                    .auto_attendants
                    .iter()
                    .find(|a| a.name == name)
                    .cloned();
                match other {
                    Some(aa) => {
                        self.step("key_attendant", key_s, &[]);
                        self.period = Self::period_of(&aa, self.p.wall);
                        self.aa = aa;
                        self.failures = 0;
                        self.start(Instant::now());
                    }
                    None => self.failure("extension_not_valid"),
                }
            }
            None => self.failure("extension_not_valid"),
        }
    }

    fn dial_extension(&mut self, digits: &str) {
        if digits.len() == 1
            && let Some(k) = digits.chars().next()
            && let Some(action) = self.mapped(k)
        {
            return self.run(k, Some(action));
        }
        if digits.len() == self.ext_len && self.is_mailbox(digits) {
            self.step("dial_by_extension", Some(digits.to_string()), &[]);
            return self.transfer(digits.to_string());
        }
        self.step("invalid_extension", Some(digits.to_string()), &[]);
        self.failure("extension_not_valid");
    }

    fn transfer(&mut self, extension: String) {
        self.stop_playback();
        // The step that chose the transfer says what it plays.
        let hold = Prompt::Named("please_hold");
        match self.steps.back_mut() {
            Some(last) => last.prompts.push(prompt_name(&hold)),
            None => self.step("transfer", Some(extension.clone()), &[hold]),
        }
        self.state = State::Transferring {
            extension,
            sent: false,
        };
        self.play(vec![(vec![Prompt::Named("please_hold")], false)]);
    }

    fn match_names(&mut self, keys: &str) {
        if keys.is_empty() {
            return self.failure("no_name_match");
        }
        let dir = self.p.dir.clone();
        let matches: Vec<(&str, &str)> = dir
            .mailboxes
            .iter()
            .filter(|m| m.dial_plan == self.aa.dial_plan)
            .filter(|m| last_name_keys(&m.display_name).starts_with(keys))
            .map(|m| (m.extension.as_str(), m.display_name.as_str()))
            .take(9)
            .collect();
        match matches.as_slice() {
            [] => {
                self.step("name_no_match", Some(keys.to_string()), &[]);
                self.failure("no_name_match");
            }
            [(ext, _)] => {
                self.step("name_match", Some(keys.to_string()), &[]);
                let ext = ext.to_string();
                self.transfer(ext);
            }
            many => {
                let mut p = Vec::new();
                for (i, (ext, name)) in many.iter().enumerate() {
                    p.push(Prompt::Named("for_name"));
                    p.extend(
                        name.chars()
                            .filter_map(fold)
                            .map(|c| Prompt::Named(LETTERS[(c as u8 - b'a') as usize])),
                    );
                    p.push(Prompt::Named("at_extension"));
                    p.extend(ext.chars().map(Prompt::Digit));
                    p.push(Prompt::Named("press"));
                    p.push(Prompt::Digit(char::from(b'1' + i as u8)));
                }
                self.step("name_choices", Some(keys.to_string()), &p);
                self.state = State::NameChoice(many.iter().map(|m| m.0.to_string()).collect());
                self.play(vec![(p, true)]);
            }
        }
    }

    fn leave_message(&mut self, ext: &str) {
        let dir = self.p.dir.clone();
        let found = dir
            .mailbox(&self.aa.dial_plan, ext)
            .and_then(|m| Some((m, dir.mailbox_policy(m)?)));
        match found {
            Some((m, policy)) => {
                self.stop_playback();
                self.state = State::Done;
                self.deadline = None;
                self.actions
                    .push_back(AaAction::LeaveMessage(DepositParams::for_mailbox(
                        m, policy,
                    )));
            }
            None => self.farewell(vec![Prompt::Named("goodbye")]),
        }
    }

    /// How the REFER ended: the transfer took (we leave the call) or not (the caller
    /// may leave a message for that extension instead).
    pub fn handle_transfer_result(&mut self, ok: bool) {
        let State::Transferring { extension, .. } = self.state.clone() else {
            return;
        };
        self.deadline = None;
        if ok {
            self.step("transferred", Some(extension), &[]);
            self.state = State::Done;
            self.actions.push_back(AaAction::Hangup);
            return;
        }
        self.step(
            "transfer_failed",
            Some(extension.clone()),
            &[Prompt::Named("transfer_failed")],
        );
        if self.is_mailbox(&extension) {
            // "Please leave a message", then that mailbox's deposit flow.
            self.state = State::ThenMessage(extension);
            self.play(vec![(vec![Prompt::Named("transfer_failed")], false)]);
        } else {
            self.farewell(vec![Prompt::Named("goodbye")]);
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_none_or(|d| d > now) {
            return;
        }
        self.deadline = None;
        match self.state.clone() {
            State::Menu | State::NameChoice(_) => {
                self.step("no_input", None, &[Prompt::Named("no_input")]);
                self.failure("no_input");
            }
            State::Collecting(digits) => self.dial_extension(&digits),
            State::DialByName(keys) if !keys.is_empty() => self.match_names(&keys),
            State::DialByName(_) => self.failure("no_input"),
            State::Transferring { .. } => self.handle_transfer_result(false),
            _ => {}
        }
    }

    pub fn handle_hangup(&mut self) {
        self.state = State::Done;
        self.deadline = None;
        self.queue.clear();
    }
}

/// A prompt by name: the library's, or an imported one.
fn named(p: Option<&str>) -> Option<Prompt> {
    let p = p?;
    Some(match crate::ivr::prompts::static_name(p) {
        Some(n) => Prompt::Named(n),
        None => Prompt::Custom(p.to_string()),
    })
}

fn prompt_name(p: &Prompt) -> String {
    p.log_name()
}

#[cfg(test)]
#[path = "attendant_tests.rs"]
mod tests;
