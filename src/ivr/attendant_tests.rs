//! The auto-attendant state machine in virtual time: every menu path of the demo
//! `MainAA`, barge-in, timeouts, retries, the failure limit, schedules and holidays,
//! transfer outcomes, dial by name.

use super::*;
use crate::config::{Config, DEMO_TOML};

const MS: Duration = Duration::from_millis(1);

fn dir_with(extra: &str, replace: Option<(&str, &str)>) -> Arc<Directory> {
    let mut text = format!("{DEMO_TOML}{extra}");
    if let Some((a, b)) = replace {
        assert!(text.contains(a), "{a}");
        text = text.replace(a, b);
    }
    Arc::new(Config::parse(&text, &|_| Vec::new()).unwrap().directory)
}

fn params(dir: Arc<Directory>, name: &str, wall: &str) -> AttendantParams {
    AttendantParams {
        name: name.into(),
        dir,
        wall: wall.parse().unwrap(),
        first_digit_timeout: Duration::from_secs(5),
        inter_digit_timeout: Duration::from_secs(2),
        transfer_timeout: Duration::from_secs(30),
    }
}

/// A driven attendant: plays finish at once unless told otherwise.
struct Run {
    a: Attendant,
    now: Instant,
    actions: Vec<AaAction>,
    steps: Vec<Step>,
}

impl Run {
    fn new(dir: Arc<Directory>, name: &str) -> Run {
        Self::at(dir, name, "2026-11-23T10:00:00Z")
    }
    fn at(dir: Arc<Directory>, name: &str, wall: &str) -> Run {
        let mut a = Attendant::new(params(dir, name, wall)).unwrap();
        let now = Instant::now();
        a.start(now);
        let mut r = Run {
            a,
            now,
            actions: vec![],
            steps: vec![],
        };
        r.collect();
        r
    }
    fn collect(&mut self) {
        while let Some(x) = self.a.poll_action() {
            self.actions.push(x);
        }
        while let Some(s) = self.a.poll_step() {
            self.steps.push(s);
        }
    }
    /// Let every queued prompt finish.
    fn play_out(&mut self) {
        for _ in 0..10 {
            if !self.a.playing {
                break;
            }
            self.now += 100 * MS;
            self.a.handle_play_done(self.now);
            self.collect();
        }
    }
    fn key(&mut self, k: char) {
        self.now += 300 * MS;
        self.a.handle_dtmf(self.now, k);
        self.collect();
    }
    fn keys(&mut self, ks: &str) {
        for k in ks.chars() {
            self.key(k);
        }
    }
    fn wait(&mut self, d: Duration) {
        self.now += d;
        self.a.handle_timeout(self.now);
        self.collect();
    }
    fn step_names(&self) -> Vec<&'static str> {
        self.steps.iter().map(|s| s.step).collect()
    }
    fn last_transfer(&self) -> Option<String> {
        self.actions.iter().rev().find_map(|a| match a {
            AaAction::Transfer { extension } => Some(extension.clone()),
            _ => None,
        })
    }
    fn left_message_for(&self) -> Option<String> {
        self.actions.iter().find_map(|a| match a {
            AaAction::LeaveMessage(p) => Some(p.extension.clone()),
            _ => None,
        })
    }
    fn hung_up(&self) -> bool {
        self.actions.contains(&AaAction::Hangup)
    }
}

fn demo() -> Arc<Directory> {
    dir_with("", None)
}

#[test]
fn greeting_then_built_menu_names_every_key() {
    let mut r = Run::new(demo(), "MainAA");
    assert_eq!(r.steps[0].step, "greeting_business");
    assert_eq!(r.steps[0].prompts, ["aa_welcome"]);
    r.play_out();
    let menu = &r.steps[1];
    assert_eq!(menu.step, "menu");
    let p = menu.prompts.join(" ");
    assert!(p.starts_with("to_reach_extension 1 0 0 1 press 1 to_reach_extension 1 0 0 2 press 2 to_leave_message_for 1 0 0 3 press 3 to_dial_by_name press 7"), "{p}");
    assert!(
        p.ends_with(
            "for_the_operator press 0 for_voice_mail_access press key_star or_enter_extension"
        ),
        "{p}"
    );
}

#[test]
fn key_2_transfers_to_1002_after_please_hold() {
    let mut r = Run::new(demo(), "MainAA");
    r.play_out();
    r.key('2');
    assert_eq!(r.step_names().last(), Some(&"key_transfer"));
    // The event names the prompt it plays.
    assert!(
        r.steps
            .last()
            .unwrap()
            .prompts
            .contains(&"please_hold".to_string())
    );
    // "Please hold" cannot be interrupted; the REFER goes when it ends.
    assert_eq!(r.last_transfer(), None);
    r.key('5');
    r.play_out();
    assert_eq!(r.last_transfer().as_deref(), Some("1002"));
    r.a.handle_transfer_result(true);
    r.collect();
    assert!(r.hung_up());
    assert_eq!(r.step_names().last(), Some(&"transferred"));
}

#[test]
fn barge_in_during_the_greeting_and_menu() {
    let mut r = Run::new(demo(), "MainAA");
    // Key 3 while the welcome plays: playback stops, a message for 1003 follows.
    r.key('3');
    assert!(r.actions.contains(&AaAction::StopPlayback));
    assert_eq!(r.left_message_for().as_deref(), Some("1003"));
    assert!(r.a.is_done());
}

#[test]
fn extensions_that_begin_with_a_mapped_key_are_reachable() {
    // 1 is mapped (transfer 1001) and extensions 1001–1003 begin with 1: after "1"
    // the attendant waits for more digits.
    let mut r = Run::new(demo(), "MainAA");
    r.play_out();
    r.key('1');
    assert_eq!(r.last_transfer(), None);
    r.keys("003");
    assert_eq!(r.step_names().last(), Some(&"dial_by_extension"));
    r.play_out();
    assert_eq!(r.last_transfer().as_deref(), Some("1003"));
    // "1" alone, then silence: the key's own action after the inter-digit timeout.
    let mut r = Run::new(demo(), "MainAA");
    r.play_out();
    r.key('1');
    r.wait(Duration::from_secs(2));
    assert_eq!(r.step_names().last(), Some(&"key_transfer"));
    r.play_out();
    assert_eq!(r.last_transfer().as_deref(), Some("1001"));
}

#[test]
fn operator_star_and_pound() {
    let mut r = Run::new(demo(), "MainAA");
    r.play_out();
    r.key('0');
    assert_eq!(r.step_names().last(), Some(&"operator"));
    r.play_out();
    assert_eq!(r.last_transfer().as_deref(), Some("1003"));

    let mut r = Run::new(demo(), "MainAA");
    r.play_out();
    r.key('*');
    let s = r.steps.last().unwrap();
    assert_eq!(s.step, "subscriber_access");
    assert!(r.a.is_done());
    let sa = r.a.subscriber_access();
    assert_eq!((sa.dial_plan.as_str(), sa.caller), ("Demo", None));

    let mut r = Run::new(demo(), "MainAA");
    r.play_out();
    r.key('#');
    assert_eq!(r.step_names().last(), Some(&"menu"));
}

#[test]
fn invalid_input_and_silence_count_to_the_failure_limit() {
    let mut r = Run::new(demo(), "MainAA");
    r.play_out();
    // An unknown extension, then silence twice: goodbye at the third failure.
    r.keys("1999");
    assert_eq!(r.step_names().last(), Some(&"menu"));
    assert!(r.steps.iter().any(|s| s.step == "invalid_extension"));
    assert_eq!(r.steps.last().unwrap().prompts[0], "extension_not_valid");
    r.play_out();
    r.wait(Duration::from_secs(5));
    assert_eq!(r.steps.last().unwrap().prompts[0], "no_input");
    r.play_out();
    r.wait(Duration::from_millis(4999));
    assert!(!r.hung_up(), "not before the first-digit timeout");
    r.wait(Duration::from_millis(1));
    assert_eq!(r.step_names().last(), Some(&"too_many_failures"));
    r.play_out();
    assert!(r.hung_up());
    // Digits after a partial extension: the inter-digit timeout ends it as invalid.
    let mut r = Run::new(demo(), "MainAA");
    r.play_out();
    r.keys("10");
    r.wait(Duration::from_secs(2));
    assert!(
        r.steps
            .iter()
            .any(|s| s.step == "invalid_extension" && s.key.as_deref() == Some("10"))
    );
    // An unmapped key no extension begins with.
    let mut r = Run::new(demo(), "MainAA");
    r.play_out();
    r.key('9');
    assert!(r.steps.iter().any(|s| s.step == "invalid_key"));
}

#[test]
fn dial_by_name_one_match_transfers_several_are_read_out() {
    // DUR → Bob Durand, alone.
    let mut r = Run::new(demo(), "MainAA");
    r.play_out();
    r.key('7');
    assert_eq!(r.steps.last().unwrap().prompts, ["spell_last_name"]);
    r.play_out();
    r.keys("387#");
    assert_eq!(r.step_names().last(), Some(&"name_match"));
    r.play_out();
    assert_eq!(r.last_transfer().as_deref(), Some("1002"));

    // Two people whose names start alike; accents fold (Dürr → DURR).
    let extra =
        "\n[[mailbox]]\nextension = \"1004\"\ndisplay_name = \"Hans Dürr\"\ndial_plan = \"Demo\"\n";
    let mut r = Run::new(dir_with(extra, None), "MainAA");
    r.play_out();
    r.key('7');
    r.play_out();
    r.keys("387#");
    let s = r.steps.last().unwrap();
    assert_eq!(s.step, "name_choices");
    let p = s.prompts.join(" ");
    assert!(
        p.contains("for_name letter_b letter_o letter_b letter_d letter_u"),
        "{p}"
    );
    assert!(p.contains("at_extension 1 0 0 4 press 2"), "{p}");
    r.play_out();
    r.key('2');
    r.play_out();
    assert_eq!(r.last_transfer().as_deref(), Some("1004"));

    // No match: a failure, back to the menu.
    let mut r = Run::new(demo(), "MainAA");
    r.play_out();
    r.key('7');
    r.play_out();
    r.keys("999#");
    assert!(r.steps.iter().any(|s| s.step == "name_no_match"));
    assert_eq!(r.step_names().last(), Some(&"menu"));
}

#[test]
fn a_failed_transfer_offers_voicemail_for_that_extension() {
    let mut r = Run::new(demo(), "MainAA");
    r.play_out();
    r.key('2');
    r.play_out();
    r.a.handle_transfer_result(false);
    r.collect();
    assert_eq!(r.step_names().last(), Some(&"transfer_failed"));
    assert_eq!(r.left_message_for(), None, "after the prompt");
    r.play_out();
    assert_eq!(r.left_message_for().as_deref(), Some("1002"));
    // No outcome at all within the transfer timeout: the same.
    let mut r = Run::new(demo(), "MainAA");
    r.play_out();
    r.key('2');
    r.play_out();
    r.wait(Duration::from_secs(30));
    r.play_out();
    assert_eq!(r.left_message_for().as_deref(), Some("1002"));
}

const SCHEDULED: &str = r#"
[[auto_attendant]]
name = "Office"
dial_plan = "Demo"
pilots = ["4101"]
time_zone = "Europe/Paris"
business_hours = ["Mon-Fri 08:00-18:00"]
holidays = [{ name = "Christmas", start = "2026-12-24", end = "2026-12-26" }]
business_keys = [{ key = "1", transfer = "1001" }]
after_hours_keys = [{ key = "2", leave_message = "1002" }]
greetings = { info = "not_available", info_uninterruptible = true }
"#;

#[test]
fn schedules_choose_greeting_and_keys_across_dst_and_midnight() {
    let d = dir_with(SCHEDULED, None);
    // Monday 23 Nov 2026, 08:30 Paris = 07:30 UTC: business.
    let r = Run::at(d.clone(), "Office", "2026-11-23T07:30:00Z");
    assert_eq!(r.steps[0].step, "greeting_business");
    // 23:59 UTC Friday 27 Nov = 00:59 Saturday in Paris: after hours.
    let mut r = Run::at(d.clone(), "Office", "2026-11-27T23:59:00Z");
    assert_eq!(r.steps[0].step, "greeting_after_hours");
    assert_eq!(
        r.steps[0].prompts,
        ["aa_welcome_after_hours", "not_available"]
    );
    r.play_out();
    let p = r.steps[1].prompts.join(" ");
    assert!(p.starts_with("to_leave_message_for 1 0 0 2 press 2"), "{p}");
    // Summer time: 06:30 UTC on Monday 1 June is 08:30 in Paris.
    let r = Run::at(d.clone(), "Office", "2026-06-01T06:30:00Z");
    assert_eq!(r.steps[0].step, "greeting_business");
    // Christmas Eve in Paris, though still the 23rd in UTC.
    let r = Run::at(d, "Office", "2026-12-23T23:30:00Z");
    assert_eq!(r.steps[0].step, "greeting_holiday");
    assert_eq!(r.steps[0].prompts, ["aa_holiday", "not_available"]);
}

#[test]
fn an_uninterruptible_announcement_ignores_keys() {
    let d = dir_with(SCHEDULED, None);
    let mut r = Run::at(d, "Office", "2026-11-23T07:30:00Z");
    // The welcome can be interrupted…
    r.now += 100 * MS;
    r.a.handle_play_done(r.now);
    r.collect();
    // …the announcement cannot.
    r.key('1');
    assert_eq!(r.last_transfer(), None);
    assert!(!r.actions.contains(&AaAction::StopPlayback));
    r.play_out();
    assert_eq!(r.step_names().last(), Some(&"menu"));
}

#[test]
fn keypad_and_names() {
    assert_eq!(last_name_keys("Bob Durand"), "387263");
    assert_eq!(last_name_keys("Chloé Bernard"), "2376273");
    assert_eq!(last_name_keys("Élodie Fournier"), "36876437");
    assert_eq!(keypad('É'), Some('3'));
    assert_eq!(keypad('ß'), Some('7'));
    assert_eq!(keypad('-'), None);
}
