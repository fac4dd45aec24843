//! Numbers, dates and times spoken from a small prompt grammar, sans-IO, with a
//! language parameter: cardinals (0–999,999: "one hundred and five",
//! "twenty-one"), ordinals (1st–31st, for dates), clock times ("three forty-two
//! P M", "twelve oh five A M"), and a message envelope's time relative to the
//! listener's day ("today at …", "yesterday at …", "Monday, November twenty-third
//! at …"). Output is a list of library prompts (`prompts/<locale>/`, made by
//! `tools/gen-prompts`). French follows with the storage and languages issue.
//!
//! Depends on [`super::deposit::Prompt`] and jiff's civil dates only.

use super::deposit::Prompt;
use jiff::civil::{Date, DateTime, Weekday};

pub use crate::directory::lang::Lang;

const TEENS: [&str; 10] = [
    "n_10", "n_11", "n_12", "n_13", "n_14", "n_15", "n_16", "n_17", "n_18", "n_19",
];
const TENS: [&str; 10] = [
    "", "", "n_20", "n_30", "n_40", "n_50", "n_60", "n_70", "n_80", "n_90",
];
const ORD_UNITS: [&str; 20] = [
    "", "ord_1", "ord_2", "ord_3", "ord_4", "ord_5", "ord_6", "ord_7", "ord_8", "ord_9", "ord_10",
    "ord_11", "ord_12", "ord_13", "ord_14", "ord_15", "ord_16", "ord_17", "ord_18", "ord_19",
];
const DAYS: [&str; 7] = [
    "day_monday",
    "day_tuesday",
    "day_wednesday",
    "day_thursday",
    "day_friday",
    "day_saturday",
    "day_sunday",
];
const MONTHS: [&str; 12] = [
    "month_january",
    "month_february",
    "month_march",
    "month_april",
    "month_may",
    "month_june",
    "month_july",
    "month_august",
    "month_september",
    "month_october",
    "month_november",
    "month_december",
];

/// Every prompt name the grammar may produce (besides the digits "0"–"9").
pub fn prompt_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    v.extend(TEENS);
    v.extend(TENS.iter().filter(|t| !t.is_empty()));
    v.extend(ORD_UNITS.iter().filter(|t| !t.is_empty()));
    v.extend(["ord_20", "ord_30"]);
    v.extend(DAYS);
    v.extend(MONTHS);
    v.extend([
        "n_hundred",
        "n_thousand",
        "n_and",
        "n_oh",
        "am",
        "pm",
        "today",
        "yesterday",
        "at",
        "n_hours",
        "date_the",
    ]);
    v
}

fn digit(d: u32) -> Prompt {
    Prompt::Digit(char::from_digit(d, 10).unwrap_or('0'))
}

/// 0–99.
fn below_100(n: u32, out: &mut Vec<Prompt>) {
    match n {
        0..=9 => out.push(digit(n)),
        10..=19 => out.push(Prompt::Named(TEENS[(n - 10) as usize])),
        _ => {
            out.push(Prompt::Named(TENS[(n / 10) as usize]));
            if !n.is_multiple_of(10) {
                out.push(digit(n % 10));
            }
        }
    }
}

/// 1–999, with "and" before the tens after a hundred.
fn below_1000(n: u32, out: &mut Vec<Prompt>) {
    if n >= 100 {
        out.push(digit(n / 100));
        out.push(Prompt::Named("n_hundred"));
        if !n.is_multiple_of(100) {
            out.push(Prompt::Named("n_and"));
            below_100(n % 100, out);
        }
    } else {
        below_100(n, out);
    }
}

/// A cardinal number, 0–999,999 (larger ones are read digit by digit).
pub fn number(lang: Lang, n: u64) -> Vec<Prompt> {
    if n >= 1_000_000 {
        return n.to_string().chars().map(Prompt::Digit).collect();
    }
    if n == 0 {
        return vec![digit(0)];
    }
    let mut out = Vec::new();
    match lang {
        Lang::EnUs => below_million(n as u32, &mut out),
        Lang::FrFr => fr::below_million(n as u32, &mut out),
    }
    out
}

/// 1–999,999: "two thousand and five", "one thousand two hundred and thirty-four".
fn below_million(n: u32, out: &mut Vec<Prompt>) {
    if n >= 1000 {
        below_1000(n / 1000, out);
        out.push(Prompt::Named("n_thousand"));
        let rest = n % 1000;
        if rest != 0 {
            if rest < 100 {
                out.push(Prompt::Named("n_and"));
            }
            below_1000(rest, out);
        }
        return;
    }
    below_1000(n, out);
}

/// An ordinal, 1st–31st (days of the month); others as cardinals. In French
/// a date's day is "premier", then cardinals ("le 23 novembre").
pub fn ordinal(lang: Lang, n: u32) -> Vec<Prompt> {
    if lang == Lang::FrFr {
        return match n {
            1 => vec![Prompt::Named("ord_1")],
            n => number(lang, n as u64),
        };
    }
    match n {
        1..=19 => vec![Prompt::Named(ORD_UNITS[n as usize])],
        20 => vec![Prompt::Named("ord_20")],
        30 => vec![Prompt::Named("ord_30")],
        21..=29 | 31 => vec![
            Prompt::Named(TENS[(n / 10) as usize]),
            Prompt::Named(ORD_UNITS[(n % 10) as usize]),
        ],
        _ => number(lang, n as u64),
    }
}

/// A clock time, 12-hour with A M / P M: "three forty-two P M", "twelve oh five
/// A M", "nine P M" on the hour.
pub fn time(lang: Lang, hour: u8, minute: u8) -> Vec<Prompt> {
    if lang == Lang::FrFr {
        return fr::time(hour, minute);
    }
    let h12 = match hour % 12 {
        0 => 12,
        h => h,
    };
    let mut out = number(lang, h12 as u64);
    match minute {
        0 => {}
        1..=9 => {
            out.push(Prompt::Named("n_oh"));
            out.push(digit(minute as u32));
        }
        m => below_100(m as u32, &mut out),
    }
    out.push(Prompt::Named(if hour < 12 { "am" } else { "pm" }));
    out
}

fn weekday_index(w: Weekday) -> usize {
    w.to_monday_zero_offset() as usize
}

/// When a message arrived, as the listener hears it on `today` (both in the
/// listener's time zone).
pub fn when(lang: Lang, received: DateTime, today: Date) -> Vec<Prompt> {
    let day = received.date();
    let mut out = Vec::new();
    if day == today {
        out.push(Prompt::Named("today"));
    } else if today.yesterday().ok() == Some(day) {
        out.push(Prompt::Named("yesterday"));
    } else if lang == Lang::FrFr {
        // "le lundi 23 novembre"
        out.push(Prompt::Named("date_the"));
        out.push(Prompt::Named(DAYS[weekday_index(day.weekday())]));
        out.extend(ordinal(lang, day.day() as u32));
        out.push(Prompt::Named(MONTHS[(day.month() - 1) as usize]));
    } else {
        out.push(Prompt::Named(DAYS[weekday_index(day.weekday())]));
        out.push(Prompt::Named(MONTHS[(day.month() - 1) as usize]));
        out.extend(ordinal(lang, day.day() as u32));
    }
    out.push(Prompt::Named("at"));
    out.extend(time(lang, received.hour() as u8, received.minute() as u8));
    out
}

/// French: 70–79 and 90–99 count on from soixante and quatre-vingt ("soixante
/// et onze", "quatre-vingt-onze"), "et un" in 21–61, "mille" alone for 1000,
/// 24-hour times ("quinze heures quarante-deux").
mod fr {
    use super::{Lang, Prompt, TEENS, TENS, digit};

    fn below_100(n: u32, out: &mut Vec<Prompt>) {
        match n {
            0..=9 => out.push(digit(n)),
            10..=19 => out.push(Prompt::Named(TEENS[(n - 10) as usize])),
            20..=69 => {
                out.push(Prompt::Named(TENS[(n / 10) as usize]));
                match n % 10 {
                    0 => {}
                    1 => {
                        out.push(Prompt::Named("n_and"));
                        out.push(digit(1));
                    }
                    u => out.push(digit(u)),
                }
            }
            70..=79 => {
                out.push(Prompt::Named("n_60"));
                if n == 71 {
                    out.push(Prompt::Named("n_and"));
                }
                out.push(Prompt::Named(TEENS[(n - 70) as usize]));
            }
            _ => {
                out.push(Prompt::Named("n_80"));
                match n - 80 {
                    0 => {}
                    u @ 1..=9 => out.push(digit(u)),
                    u => out.push(Prompt::Named(TEENS[(u - 10) as usize])),
                }
            }
        }
    }

    fn below_1000(n: u32, out: &mut Vec<Prompt>) {
        if n >= 100 {
            if n / 100 > 1 {
                out.push(digit(n / 100));
            }
            out.push(Prompt::Named("n_hundred"));
            if !n.is_multiple_of(100) {
                below_100(n % 100, out);
            }
        } else {
            below_100(n, out);
        }
    }

    /// 1–999,999: "mille" alone for one thousand.
    pub fn below_million(n: u32, out: &mut Vec<Prompt>) {
        if n >= 1000 {
            if n / 1000 > 1 {
                below_1000(n / 1000, out);
            }
            out.push(Prompt::Named("n_thousand"));
            if !n.is_multiple_of(1000) {
                below_1000(n % 1000, out);
            }
            return;
        }
        below_1000(n, out);
    }

    pub fn time(hour: u8, minute: u8) -> Vec<Prompt> {
        let mut out = super::number(Lang::FrFr, hour as u64);
        out.push(Prompt::Named("n_hours"));
        if minute > 0 {
            out.extend(super::number(Lang::FrFr, minute as u64));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(p: &[Prompt]) -> String {
        p.iter()
            .map(|p| match p {
                Prompt::Named(n) => n
                    .trim_start_matches("n_")
                    .trim_start_matches("ord_")
                    .to_string(),
                Prompt::Digit(d) => d.to_string(),
                _ => "?".into(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn cardinals() {
        let n = |x| say(&number(Lang::EnUs, x));
        assert_eq!(n(0), "0");
        assert_eq!(n(7), "7");
        assert_eq!(n(13), "13");
        assert_eq!(n(21), "20 1");
        assert_eq!(n(40), "40");
        assert_eq!(n(100), "1 hundred");
        assert_eq!(n(105), "1 hundred and 5");
        assert_eq!(n(999), "9 hundred and 90 9");
        assert_eq!(n(1000), "1 thousand");
        assert_eq!(n(2005), "2 thousand and 5");
        assert_eq!(n(2024), "2 thousand and 20 4");
        assert_eq!(n(1234), "1 thousand 2 hundred and 30 4");
        assert_eq!(n(71_000), "70 1 thousand");
        assert_eq!(n(1_000_000), "1 0 0 0 0 0 0");
    }

    #[test]
    fn ordinals_and_times() {
        let o = |x| say(&ordinal(Lang::EnUs, x));
        assert_eq!(o(1), "1");
        assert_eq!(o(23), "20 3");
        assert_eq!(o(30), "30");
        assert_eq!(o(31), "30 1");
        let t = |h, m| say(&time(Lang::EnUs, h, m));
        assert_eq!(t(15, 42), "3 40 2 pm");
        assert_eq!(t(0, 5), "12 oh 5 am");
        assert_eq!(t(12, 0), "12 pm");
        assert_eq!(t(9, 10), "9 10 am");
        assert_eq!(t(23, 59), "11 50 9 pm");
    }

    #[test]
    fn envelope_times_relative_to_the_listeners_day() {
        let today: Date = "2026-11-24".parse().unwrap();
        let at = |s: &str| say(&when(Lang::EnUs, s.parse().unwrap(), today));
        assert_eq!(at("2026-11-24T15:42"), "today at 3 40 2 pm");
        assert_eq!(at("2026-11-23T00:05"), "yesterday at 12 oh 5 am");
        assert_eq!(
            at("2026-11-16T09:30"),
            "day_monday month_november 16 at 9 30 am"
        );
        // Across a year boundary: 31 December is "yesterday" on 1 January.
        let jan1: Date = "2027-01-01".parse().unwrap();
        let s = say(&when(Lang::EnUs, "2026-12-31T23:00".parse().unwrap(), jan1));
        assert_eq!(s, "yesterday at 11 pm");
    }

    #[test]
    fn french_numbers() {
        let n = |x| say(&number(Lang::FrFr, x));
        assert_eq!(n(0), "0");
        assert_eq!(n(16), "16");
        assert_eq!(n(17), "17");
        assert_eq!(n(21), "20 and 1");
        assert_eq!(n(22), "20 2");
        assert_eq!(n(61), "60 and 1");
        assert_eq!(n(70), "60 10");
        assert_eq!(n(71), "60 and 11", "soixante et onze");
        assert_eq!(n(79), "60 19");
        assert_eq!(n(80), "80");
        assert_eq!(n(81), "80 1", "quatre-vingt-un, no et");
        assert_eq!(n(91), "80 11", "quatre-vingt-onze");
        assert_eq!(n(99), "80 19");
        assert_eq!(n(100), "hundred", "cent");
        assert_eq!(n(101), "hundred 1");
        assert_eq!(n(200), "2 hundred");
        assert_eq!(n(1000), "thousand", "mille");
        assert_eq!(n(2071), "2 thousand 60 and 11");
    }

    #[test]
    fn french_dates_and_times() {
        let t = |h, m| say(&time(Lang::FrFr, h, m));
        assert_eq!(t(15, 42), "15 hours 40 2", "quinze heures quarante-deux");
        assert_eq!(t(0, 5), "0 hours 5");
        assert_eq!(t(9, 0), "9 hours");
        let today: Date = "2026-11-24".parse().unwrap();
        let at = |s: &str| say(&when(Lang::FrFr, s.parse().unwrap(), today));
        assert_eq!(
            at("2026-11-23T15:42"),
            "yesterday at 15 hours 40 2",
            "hier à 15 h 42"
        );
        assert_eq!(
            at("2026-11-16T15:42"),
            "date_the day_monday 16 month_november at 15 hours 40 2",
            "le lundi 16 novembre à 15 h 42"
        );
        assert_eq!(
            at("2026-11-01T08:00"),
            "date_the day_sunday 1 month_november at 8 hours",
            "le dimanche premier novembre"
        );
        assert_eq!(Lang::parse("fr_FR"), Some(Lang::FrFr));
        assert_eq!(Lang::parse("de-DE"), None);
        assert_eq!(Lang::FrFr.code(), "fr-FR");
    }

    #[test]
    fn every_name_produced_is_a_library_prompt() {
        for n in prompt_names() {
            assert!(
                crate::ivr::prompts::static_name(n).is_some(),
                "prompt {n} missing from the library"
            );
        }
    }
}
