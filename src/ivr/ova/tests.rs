//! Subscriber access in virtual time: every prompt "plays" until the test says it
//! ended; the store's answers are given by hand.

use super::*;
use crate::config::Config;
use crate::directory::pin::PinRefusal;

struct T {
    o: Ova,
    now: Instant,
    /// Everything done so far, prompts by name.
    log: Vec<String>,
}

fn names(p: &[Prompt]) -> String {
    p.iter().map(Prompt::log_name).collect::<Vec<_>>().join(" ")
}

fn view(statuses: &[(MessageStatus, Sender)]) -> MailboxView {
    MailboxView {
        messages: statuses
            .iter()
            .enumerate()
            .map(|(i, (status, sender))| MessageView {
                id: format!("m{i}"),
                status: *status,
                sender: sender.clone(),
                received: "2026-11-23T09:42:00Z".parse().unwrap(),
            })
            .collect(),
        away: false,
        lang: None,
    }
}

impl T {
    fn new(caller: Option<&str>) -> T {
        let dir = Arc::new(Config::demo().unwrap().directory);
        let o = Ova::new(OvaParams {
            dial_plan: "Demo".into(),
            dir,
            caller: caller.map(str::to_string),
            // 15:00 in Paris.
            wall: "2026-11-23T14:00:00Z".parse().unwrap(),
            lang: Lang::EnUs,
        })
        .unwrap();
        let mut t = T {
            o,
            now: Instant::now(),
            log: vec![],
        };
        t.o.start(t.now);
        t
    }

    /// Actions since the last call, as text.
    fn take(&mut self) -> Vec<String> {
        let out: Vec<String> = std::iter::from_fn(|| self.o.poll_action())
            .map(|a| match a {
                OvaAction::Play(p) => format!("play {}", names(&p)),
                OvaAction::StopPlayback => "stop".into(),
                OvaAction::Logon { extension, pin } => format!("logon {extension} {pin}"),
                OvaAction::FetchAudio { id } => format!("fetch {id}"),
                OvaAction::SetStatus { id, status } => format!("status {id} {status:?}"),
                OvaAction::StartRecording { max } => format!("record {}", max.as_secs()),
                OvaAction::StopRecording => "stop_recording".into(),
                OvaAction::SaveRecording { kind, .. } => format!("save {kind:?}"),
                OvaAction::SetAway(a) => format!("away {a}"),
                OvaAction::ChangePin { pin } => format!("change_pin {pin}"),
                OvaAction::Forward { id, to, intro } => {
                    format!("forward {id} {to} intro={}", intro.is_some())
                }
                OvaAction::Callback { number } => format!("callback {number}"),
                OvaAction::Hangup => "hangup".into(),
                OvaAction::SetLanguage(l) => format!("language {}", l.code()),
            })
            .collect();
        self.log.extend(out.iter().cloned());
        out
    }

    fn keys(&mut self, keys: &str) -> Vec<String> {
        for k in keys.chars() {
            self.now += Duration::from_millis(300);
            self.o.handle_dtmf(self.now, k);
        }
        self.take()
    }

    fn done(&mut self) -> Vec<String> {
        self.now += Duration::from_secs(1);
        self.o.handle_play_done(self.now);
        self.take()
    }

    fn wait(&mut self, d: Duration) -> Vec<String> {
        self.now += d;
        self.o.handle_timeout(self.now);
        self.take()
    }

    fn logon(&mut self, v: MailboxView) -> Vec<String> {
        self.o.handle_logon(
            self.now,
            LogonOutcome::Ok {
                must_change: false,
                view: v,
            },
        );
        self.take()
    }

    fn steps(&mut self) -> Vec<&'static str> {
        std::iter::from_fn(|| self.o.poll_step())
            .map(|s| s.step)
            .collect()
    }
}

fn audio() -> Audio {
    (Law::Mu, Arc::from(vec![0x7f_u8; 800]))
}

#[test]
fn identified_caller_logs_on_deletes_one_saves_another() {
    let mut t = T::new(Some("1001"));
    assert_eq!(t.take(), ["play ova_welcome enter_pin"]);
    assert_eq!(t.keys("13"), ["stop"]);
    assert_eq!(t.keys("5790#"), ["logon 1001 135790"]);
    assert_eq!(t.o.mailbox(), Some("1001"));
    let v = view(&[
        (
            MessageStatus::New,
            Sender::Mailbox {
                extension: "1002".into(),
                name: None,
            },
        ),
        (MessageStatus::New, Sender::Number("+33 1 55".into())),
        (MessageStatus::Saved, Sender::Unknown),
    ]);
    assert_eq!(
        t.logon(v),
        ["play you_have 2 new_messages n_and 1 saved_message main_menu"]
    );
    assert_eq!(t.done(), Vec::<String>::new());
    // Main menu, 1: the first new message's envelope (09:42 UTC is 10:42 in Paris,
    // today), its audio asked for at once.
    assert_eq!(
        t.keys("1"),
        [
            "fetch m0",
            "play msg_new from extension 1 0 0 2 received today at n_10 n_40 2 am"
        ]
    );
    // The envelope ends before the audio comes: wait for it, then play it.
    assert_eq!(t.done(), Vec::<String>::new());
    t.o.handle_audio(t.now, "m0", Some(audio()));
    assert_eq!(t.take(), ["play recording"]);
    // Key 7 during the audio: deleted, "deleted", then the next message.
    assert_eq!(
        t.keys("7"),
        ["stop", "status m0 Deleted", "play message_deleted"]
    );
    assert_eq!(
        t.done(),
        [
            "fetch m1",
            "play msg_new from 3 3 1 5 5 received today at n_10 n_40 2 am"
        ]
    );
    t.o.handle_audio(t.now, "m1", Some(audio()));
    assert_eq!(t.take(), Vec::<String>::new());
    // Heard to its end: now saved; then the menu after the message; 9 saves.
    assert_eq!(t.done(), ["play recording"]);
    assert_eq!(t.done(), ["status m1 Saved", "play after_message"]);
    assert_eq!(t.done(), Vec::<String>::new());
    assert_eq!(t.keys("9"), ["status m1 Saved", "play message_kept"]);
    assert_eq!(
        t.done(),
        [
            "fetch m2",
            "play msg_saved from_unknown_caller received today at n_10 n_40 2 am"
        ]
    );
    // # skips it; past the last message, back to the main menu.
    assert_eq!(t.keys("#"), ["stop", "play no_more_messages"]);
    assert_eq!(t.done(), ["play main_menu"]);
    let steps = t.steps();
    for s in [
        "welcome",
        "pin_entered",
        "logged_on",
        "voice_mail",
        "delete",
        "save",
        "next",
    ] {
        assert!(steps.contains(&s), "{s} in {steps:?}");
    }
}

#[test]
fn deleted_messages_come_back_with_previous_and_seven() {
    let mut t = T::new(Some("1001"));
    t.keys("135790#");
    t.logon(view(&[
        (MessageStatus::New, Sender::Unknown),
        (MessageStatus::New, Sender::Unknown),
    ]));
    t.keys("1");
    assert_eq!(
        t.keys("7"),
        ["stop", "status m0 Deleted", "play message_deleted"]
    );
    t.done();
    // 4: back to the deleted one; its envelope says so; 7 undeletes it.
    let prev = t.keys("4");
    assert!(
        prev.last().unwrap().starts_with("play msg_deleted"),
        "{prev:?}"
    );
    assert_eq!(
        t.keys("7"),
        ["stop", "status m0 Saved", "play message_undeleted"]
    );
    assert_eq!(t.done(), ["play after_message"]);
    // 4 at the first message: "this is the first message", then it again.
    assert_eq!(t.keys("4"), ["stop", "play first_message"]);
    assert!(t.done()[0].starts_with("play msg_saved"));
}

#[test]
fn unknown_caller_enters_an_extension_and_star_goes_back_to_it() {
    let mut t = T::new(None);
    assert_eq!(t.take(), ["play sa_welcome"]);
    assert_eq!(t.keys("9999#"), ["stop", "play extension_not_valid"]);
    assert_eq!(t.done(), ["play enter_extension"]);
    assert_eq!(t.keys("1002#"), ["stop", "play enter_pin"]);
    assert_eq!(t.o.mailbox(), Some("1002"));
    assert_eq!(t.keys("*"), ["stop", "play enter_extension"]);
    t.keys("1003#");
    // Digits then the inter-digit timeout count as '#'.
    t.done();
    t.keys("297531");
    assert_eq!(t.wait(Duration::from_secs(3)), ["logon 1003 297531"]);
}

#[test]
fn wrong_pins_end_the_call_and_a_lockout_says_so() {
    let mut t = T::new(Some("1002"));
    for _ in 0..2 {
        t.keys("000000#");
        t.o.handle_logon(t.now, LogonOutcome::Wrong { locked: false });
        assert_eq!(t.take(), ["play pin_wrong"]);
        assert_eq!(t.done(), ["play enter_pin"]);
    }
    t.keys("000000#");
    t.o.handle_logon(t.now, LogonOutcome::Wrong { locked: false });
    // The dial plan's logon failures before disconnect (3).
    assert_eq!(t.take(), ["play pin_wrong ova_goodbye"]);
    assert_eq!(t.done(), ["hangup"]);
    assert!(t.o.is_done());

    let mut t = T::new(Some("1002"));
    t.keys("000000#");
    t.o.handle_logon(t.now, LogonOutcome::Wrong { locked: true });
    assert_eq!(t.take(), ["play mailbox_locked ova_goodbye"]);
    let mut t = T::new(Some("1002"));
    t.keys("864202#");
    t.o.handle_logon(t.now, LogonOutcome::Locked);
    assert_eq!(t.take(), ["play mailbox_locked ova_goodbye"]);
    assert_eq!(t.steps().last(), Some(&"mailbox_locked"));
}

#[test]
fn an_expired_pin_must_be_changed_first() {
    let mut t = T::new(Some("1001"));
    t.keys("135790#");
    t.o.handle_logon(
        t.now,
        LogonOutcome::Ok {
            must_change: true,
            view: view(&[(MessageStatus::New, Sender::Unknown)]),
        },
    );
    assert_eq!(t.take(), ["play pin_expired"]);
    assert_eq!(t.done(), ["play enter_new_pin"]);
    // * cannot skip a forced change.
    assert_eq!(t.keys("*"), ["stop", "play invalid_choice"]);
    t.done();
    assert_eq!(t.keys("123#"), ["stop", "play pin_too_short"]);
    t.done();
    assert_eq!(t.keys("246810#"), ["stop", "play confirm_new_pin"]);
    assert_eq!(t.keys("246811#"), ["stop", "play pins_differ"]);
    t.done();
    t.keys("111111#");
    assert_eq!(t.keys("111111#"), ["stop", "change_pin 111111"]);
    t.o.handle_pin_changed(t.now, Err(PinRefusal::RepeatedDigit));
    assert_eq!(t.take(), ["play pin_trivial"]);
    t.done();
    t.keys("246810#");
    t.keys("246810#");
    t.o.handle_pin_changed(t.now, Ok(()));
    assert_eq!(
        t.take(),
        ["play pin_changed you_have 1 new_message n_and n_no saved_messages main_menu"]
    );
}

#[test]
fn no_input_and_invalid_keys_end_with_goodbye() {
    let mut t = T::new(Some("1001"));
    t.keys("135790#");
    t.logon(view(&[]));
    t.done();
    assert_eq!(t.wait(Duration::from_secs(4)), Vec::<String>::new());
    assert_eq!(t.wait(Duration::from_secs(1)), ["play no_input"]);
    assert_eq!(t.done(), ["play main_menu"]);
    t.done();
    assert_eq!(t.keys("5"), ["play invalid_choice"]);
    t.done();
    t.done();
    assert_eq!(t.wait(Duration::from_secs(5)), ["play ova_goodbye"]);
    assert_eq!(t.done(), ["hangup"]);
    assert!(t.steps().contains(&"input_failures"));
    // Nothing after the end.
    assert_eq!(t.keys("1"), Vec::<String>::new());
}

#[test]
fn personal_options_record_review_keep_and_away() {
    let mut t = T::new(Some("1001"));
    t.keys("135790#");
    t.logon(view(&[]));
    assert_eq!(t.keys("6"), ["stop", "play options_menu"]);
    assert_eq!(t.keys("1"), ["stop", "play record_greeting beep"]);
    // Keys before the tone are ignored; recording starts after it.
    assert_eq!(t.done(), ["record 300"]);
    assert_eq!(t.keys("#"), ["stop_recording"]);
    t.o.handle_recorded(t.now, audio(), Duration::from_secs(2));
    assert_eq!(t.take(), ["play recording review_recording"]);
    // 2: again; a too-short take is not offered for review.
    assert_eq!(t.keys("2"), ["stop", "play record_greeting beep"]);
    t.done();
    t.keys("#");
    t.o.handle_recorded(t.now, audio(), Duration::from_millis(200));
    assert_eq!(t.take(), ["play recording_too_short"]);
    assert_eq!(t.done(), ["play options_menu"]);
    t.keys("3");
    t.done();
    t.keys("#");
    t.o.handle_recorded(t.now, audio(), Duration::from_secs(1));
    t.take();
    assert_eq!(t.keys("1"), ["stop", "save Name"]);
    t.o.handle_saved(t.now, true);
    assert_eq!(t.take(), ["play recording_saved"]);
    assert_eq!(t.done(), ["play options_menu"]);
    assert_eq!(t.keys("4"), ["stop", "away true", "play away_on"]);
    t.done();
    assert_eq!(t.keys("4"), ["stop", "away false", "play away_off"]);
    t.done();
    // 5: change the PIN from the options; * there goes back.
    assert_eq!(t.keys("5"), ["stop", "play enter_new_pin"]);
    assert_eq!(t.keys("*"), ["stop", "play options_menu"]);
    assert_eq!(t.keys("*"), ["stop", "play main_menu"]);
}

#[test]
fn forward_with_and_without_an_introduction_and_call_back() {
    let mut t = T::new(Some("1001"));
    t.keys("135790#");
    t.logon(view(&[
        (MessageStatus::New, Sender::Unknown),
        (
            MessageStatus::Saved,
            Sender::Mailbox {
                extension: "1002".into(),
                name: Some(audio()),
            },
        ),
    ]));
    t.keys("1");
    assert_eq!(t.keys("8"), ["stop", "play forward_to"]);
    assert_eq!(t.keys("4444#"), ["stop", "play extension_not_valid"]);
    t.done();
    assert_eq!(t.keys("1003#"), ["stop", "play forward_intro_choice"]);
    assert_eq!(t.keys("#"), ["stop", "forward m0 1003 intro=false"]);
    t.o.handle_forwarded(t.now, true);
    assert_eq!(t.take(), ["play message_forwarded"]);
    assert_eq!(t.done(), ["play after_message"]);
    // With an introduction.
    t.keys("8");
    t.keys("1003#");
    assert_eq!(t.keys("1"), ["stop", "play record_intro beep"]);
    assert_eq!(t.done(), ["record 300"]);
    t.keys("#");
    t.o.handle_recorded(t.now, audio(), Duration::from_secs(3));
    assert_eq!(t.take(), ["forward m0 1003 intro=true"]);
    t.o.handle_forwarded(t.now, false);
    assert_eq!(t.take(), ["play forward_failed"]);
    t.done();
    // 2 on an unknown caller: refused politely.
    assert_eq!(t.keys("2"), ["stop", "play cannot_call_back"]);
    t.done();
    // The next message is from 1002, with a recorded name: its envelope has it;
    // 2 calls 1002 back; a failed transfer comes back to the menu.
    let env = t.keys("#");
    assert_eq!(
        env[2],
        "play msg_saved from recording received today at n_10 n_40 2 am"
    );
    assert_eq!(t.keys("2"), ["stop", "play calling_back"]);
    assert_eq!(t.done(), ["callback 1002"]);
    t.o.handle_transfer_result(t.now, false);
    assert_eq!(t.take(), ["play callback_failed"]);
    assert_eq!(t.done(), ["play after_message"]);
    t.keys("2");
    t.done();
    t.o.handle_transfer_result(t.now, true);
    assert_eq!(t.take(), ["hangup"]);
    assert!(t.o.is_done());
}

#[test]
fn envelopes_say_yesterday_and_older_dates_in_the_dial_plan_zone() {
    let mut t = T::new(Some("1001"));
    t.keys("135790#");
    let mut v = view(&[
        (MessageStatus::New, Sender::Unknown),
        (MessageStatus::New, Sender::Unknown),
    ]);
    // 23:05 UTC on the 21st is 00:05 on the 22nd in Paris: yesterday.
    v.messages[0].received = "2026-11-21T23:05:00Z".parse().unwrap();
    v.messages[1].received = "2026-11-02T17:00:00Z".parse().unwrap();
    t.logon(v);
    let env = t.keys("1");
    assert_eq!(
        env[2],
        "play msg_new from_unknown_caller received yesterday at n_12 n_oh 5 am"
    );
    let env = t.keys("#");
    assert_eq!(
        env[2],
        "play msg_new from_unknown_caller received day_monday month_november ord_2 at 6 pm"
    );
}

#[test]
fn every_prompt_subscriber_access_names_is_in_the_library() {
    let sources = [
        include_str!("mod.rs"),
        include_str!("messages.rs"),
        include_str!("options.rs"),
    ];
    let mut n = 0;
    for src in sources {
        for part in src.split("Prompt::Named(\"").skip(1) {
            let name = part.split('"').next().unwrap();
            assert!(
                crate::ivr::prompts::static_name(name).is_some(),
                "prompt {name} is not in prompts/en-US"
            );
            n += 1;
        }
        // Names chosen in a match and then wrapped: `let p = "…"` arms.
        for line in src
            .lines()
            .filter(|l| l.contains("=> \"") && !l.contains("step"))
        {
            let name = line
                .split("=> \"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            if name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                assert!(
                    crate::ivr::prompts::static_name(name).is_some(),
                    "prompt {name} is not in prompts/en-US"
                );
                n += 1;
            }
        }
    }
    assert!(n > 40, "only {n} prompt names found");
}
