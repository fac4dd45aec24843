//! Auto-attendant schedules: business hours (weekly ranges such as
//! `Mon-Fri 08:00-18:00`, a range may cross midnight) and holidays (date ranges,
//! each with its own greeting), read in the attendant's time zone. Which greeting
//! and key mapping a call gets is a pure function of the call's wall-clock time.
//!
//! Time zones come from jiff's bundled IANA database (no dependency on the host's
//! tzdata), so DST changes follow the zone's rules. Depends on `jiff` only.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::Serialize;

/// One weekly range, as written (`Mon-Fri 08:00-18:00`, `Sat,Sun 10:00-12:00`,
/// `Mon-Sun 00:00-24:00`, `Fri 22:00-02:00`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct WeeklyRange {
    pub spec: String,
    /// Days it starts on, Monday = bit 0.
    days: u8,
    /// Minutes since midnight; `end` may be ≤ `start` (it crosses midnight) or 1440.
    start: u16,
    end: u16,
}

impl From<WeeklyRange> for String {
    fn from(r: WeeklyRange) -> String {
        r.spec
    }
}

/// A holiday: from `start` to `end` inclusive, with its greeting (a prompt name)
/// or the default holiday greeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holiday {
    pub name: String,
    #[serde(serialize_with = "date_str")]
    pub start: Date,
    #[serde(serialize_with = "date_str")]
    pub end: Date,
    pub greeting: Option<String>,
}

fn date_str<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
}

/// Which part of the schedule a moment falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Business,
    AfterHours,
    /// Index into the attendant's holidays.
    Holiday(usize),
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(s: &str) -> Result<u8, String> {
    let l = s.trim().to_ascii_lowercase();
    DAYS.iter()
        .position(|d| l.starts_with(d) && l.len() >= 3)
        .map(|i| i as u8)
        .ok_or_else(|| format!("{s:?} is not a day (Mon … Sun)"))
}

fn minutes(s: &str) -> Result<u16, String> {
    let (h, m) = s
        .trim()
        .split_once(':')
        .ok_or_else(|| format!("{s:?}: write HH:MM"))?;
    let (h, m): (u16, u16) = (
        h.parse().map_err(|_| format!("{s:?}: bad hour"))?,
        m.parse().map_err(|_| format!("{s:?}: bad minute"))?,
    );
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(format!("{s:?} is not a time of day"));
    }
    Ok(h * 60 + m)
}

impl WeeklyRange {
    pub fn parse(spec: &str) -> Result<WeeklyRange, String> {
        let (days_part, times) = spec
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("{spec:?}: write e.g. \"Mon-Fri 08:00-18:00\""))?;
        let mut days = 0u8;
        for part in days_part.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day_index(a)?, day_index(b)?);
                    let mut d = a;
                    loop {
                        days |= 1 << d;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => days |= 1 << day_index(part)?,
            }
        }
        let (a, b) = times
            .trim()
            .split_once('-')
            .ok_or_else(|| format!("{spec:?}: write the hours as HH:MM-HH:MM"))?;
        let (start, end) = (minutes(a)?, minutes(b)?);
        if start == end || start == 1440 {
            return Err(format!("{spec:?}: an empty range"));
        }
        Ok(WeeklyRange {
            spec: spec.trim().to_string(),
            days,
            start,
            end,
        })
    }

    fn covers(&self, day: u8, minute: u16) -> bool {
        let on = |d: u8| self.days & (1 << d) != 0;
        if self.start < self.end {
            on(day) && minute >= self.start && minute < self.end
        } else {
            // Crosses midnight: the evening of a listed day, the morning after it.
            (on(day) && minute >= self.start) || (on((day + 6) % 7) && minute < self.end)
        }
    }
}

fn monday_index(w: Weekday) -> u8 {
    (w.to_monday_zero_offset()) as u8
}

/// The period `at` falls in for an attendant in `tz`. Holidays win over business
/// hours; no business hours at all means open around the clock.
pub fn period(tz: &TimeZone, hours: &[WeeklyRange], holidays: &[Holiday], at: Timestamp) -> Period {
    let local: Zoned = at.to_zoned(tz.clone());
    let date = local.date();
    if let Some(i) = holidays
        .iter()
        .position(|h| h.start <= date && date <= h.end)
    {
        return Period::Holiday(i);
    }
    if hours.is_empty() {
        return Period::Business;
    }
    let day = monday_index(local.weekday());
    let minute = local.hour() as u16 * 60 + local.minute() as u16;
    if hours.iter().any(|r| r.covers(day, minute)) {
        Period::Business
    } else {
        Period::AfterHours
    }
}

/// An IANA time zone by name (`Europe/Paris`, `UTC`).
pub fn time_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|e| format!("{name:?} is not a known time zone: {e}"))
}

/// A holiday date, `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, String> {
    s.trim()
        .parse::<Date>()
        .map_err(|e| format!("{s:?} is not a date (YYYY-MM-DD): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn paris() -> TimeZone {
        time_zone("Europe/Paris").unwrap()
    }

    fn hours(specs: &[&str]) -> Vec<WeeklyRange> {
        specs
            .iter()
            .map(|s| WeeklyRange::parse(s).unwrap())
            .collect()
    }

    #[test]
    fn weekday_office_hours_in_paris() {
        let h = hours(&["Mon-Fri 08:00-18:00"]);
        // Monday 2026-11-23, 08:30 in Paris is 07:30 UTC (CET, +01:00).
        assert_eq!(
            period(&paris(), &h, &[], ts("2026-11-23T07:30:00Z")),
            Period::Business
        );
        assert_eq!(
            period(&paris(), &h, &[], ts("2026-11-23T06:59:00Z")),
            Period::AfterHours
        );
        // 17:59 local is business, 18:00 is not.
        assert_eq!(
            period(&paris(), &h, &[], ts("2026-11-23T16:59:00Z")),
            Period::Business
        );
        assert_eq!(
            period(&paris(), &h, &[], ts("2026-11-23T17:00:00Z")),
            Period::AfterHours
        );
        // Saturday.
        assert_eq!(
            period(&paris(), &h, &[], ts("2026-11-28T10:00:00Z")),
            Period::AfterHours
        );
        // No hours at all: always open.
        assert_eq!(
            period(&paris(), &[], &[], ts("2026-11-28T03:00:00Z")),
            Period::Business
        );
    }

    #[test]
    fn dst_changes_move_the_utc_boundaries() {
        let h = hours(&["Mon-Fri 08:00-18:00"]);
        // Summer (CEST, +02:00): Monday 2026-06-01 08:00 local = 06:00 UTC.
        assert_eq!(
            period(&paris(), &h, &[], ts("2026-06-01T06:00:00Z")),
            Period::Business
        );
        assert_eq!(
            period(&paris(), &h, &[], ts("2026-06-01T05:59:00Z")),
            Period::AfterHours
        );
        // The spring change: Sunday 2026-03-29 02:00 → 03:00. Monday 30 March is
        // already on +02:00.
        assert_eq!(
            period(&paris(), &h, &[], ts("2026-03-30T06:00:00Z")),
            Period::Business
        );
        assert_eq!(
            period(&paris(), &h, &[], ts("2026-03-27T06:30:00Z")),
            Period::AfterHours
        );
        // The autumn change: Monday 26 October 2026 is back on +01:00.
        assert_eq!(
            period(&paris(), &h, &[], ts("2026-10-26T06:30:00Z")),
            Period::AfterHours
        );
        assert_eq!(
            period(&paris(), &h, &[], ts("2026-10-26T07:00:00Z")),
            Period::Business
        );
    }

    #[test]
    fn ranges_across_midnight_and_day_lists() {
        let h = hours(&["Fri 22:00-02:00", "Sat,Sun 10:00-12:00"]);
        let utc = TimeZone::UTC;
        assert_eq!(
            period(&utc, &h, &[], ts("2026-11-27T23:00:00Z")),
            Period::Business
        ); // Fri
        assert_eq!(
            period(&utc, &h, &[], ts("2026-11-28T01:59:00Z")),
            Period::Business
        ); // Sat early
        assert_eq!(
            period(&utc, &h, &[], ts("2026-11-28T02:00:00Z")),
            Period::AfterHours
        );
        assert_eq!(
            period(&utc, &h, &[], ts("2026-11-29T11:00:00Z")),
            Period::Business
        ); // Sun
        assert_eq!(
            period(&utc, &h, &[], ts("2026-11-26T23:00:00Z")),
            Period::AfterHours
        ); // Thu
        let all = hours(&["Mon-Sun 00:00-24:00"]);
        assert_eq!(
            period(&utc, &all, &[], ts("2026-11-29T23:59:00Z")),
            Period::Business
        );
        // A wrapping day list.
        let wk = hours(&["Sat-Mon 09:00-10:00"]);
        assert_eq!(
            period(&utc, &wk, &[], ts("2026-11-30T09:30:00Z")),
            Period::Business
        ); // Mon
        assert_eq!(
            period(&utc, &wk, &[], ts("2026-11-24T09:30:00Z")),
            Period::AfterHours
        ); // Tue
    }

    #[test]
    fn holidays_win_and_follow_the_local_date() {
        let h = hours(&["Mon-Sun 00:00-24:00"]);
        let xmas = Holiday {
            name: "Christmas".into(),
            start: parse_date("2026-12-24").unwrap(),
            end: parse_date("2026-12-26").unwrap(),
            greeting: Some("xmas".into()),
        };
        let hol = [xmas];
        // 23:30 UTC on the 23rd is already the 24th in Paris.
        assert_eq!(
            period(&paris(), &h, &hol, ts("2026-12-23T23:30:00Z")),
            Period::Holiday(0)
        );
        assert_eq!(
            period(&TimeZone::UTC, &h, &hol, ts("2026-12-23T23:30:00Z")),
            Period::Business
        );
        assert_eq!(
            period(&paris(), &h, &hol, ts("2026-12-26T22:59:00Z")),
            Period::Holiday(0)
        );
        assert_eq!(
            period(&paris(), &h, &hol, ts("2026-12-26T23:00:00Z")),
            Period::Business
        );
    }

    #[test]
    fn bad_specs_are_refused_with_reasons() {
        for bad in [
            "Mon-Fri",
            "Xyz 08:00-09:00",
            "Mon 08:00",
            "Mon 25:00-26:00",
            "Mon 08:00-08:00",
            "Mon 08:60-09:00",
        ] {
            assert!(WeeklyRange::parse(bad).is_err(), "{bad}");
        }
        assert!(time_zone("Mars/Olympus").is_err());
        assert!(parse_date("2026-13-01").is_err());
    }
}
