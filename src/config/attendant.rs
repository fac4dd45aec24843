//! `[[auto_attendant]]` (New-UMAutoAttendant): name without spaces (the seed
//! warns), dial plan, pilots, status, speech flag, language, time zone, operator,
//! input-failure limit, business hours, holidays, greetings and key mappings.
//!
//! ```toml
//! [[auto_attendant]]
//! name = "MainAA"
//! dial_plan = "Demo"
//! pilots = ["4100"]
//! time_zone = "Europe/Paris"
//! operator = "1003"
//! business_hours = ["Mon-Fri 08:00-18:00"]
//! holidays = [{ name = "Christmas", start = "2026-12-24", end = "2026-12-26" }]
//! business_keys = [{ key = "1", transfer = "1001" }, { key = "7", dial_by_name = true }]
//! ```

use super::{ConfigError, digits, invalid};
use crate::directory::schedule::{self, Holiday, WeeklyRange};
use crate::directory::{AaGreetings, AutoAttendant, DialPlan, KeyAction, KeyMapping, UmMailbox};
use crate::ivr::prompts;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAutoAttendant {
    name: String,
    dial_plan: String,
    pilots: Vec<String>,
    #[serde(default)]
    speech_enabled: bool,
    #[serde(default = "yes")]
    enabled: bool,
    language: Option<String>,
    #[serde(default = "utc")]
    time_zone: String,
    operator: Option<String>,
    #[serde(default = "three")]
    input_failures: u32,
    #[serde(default)]
    business_hours: Vec<String>,
    #[serde(default)]
    holidays: Vec<RawHoliday>,
    #[serde(default)]
    greetings: RawGreetings,
    #[serde(default)]
    business_keys: Vec<RawKey>,
    #[serde(default)]
    after_hours_keys: Vec<RawKey>,
    #[serde(default = "yes")]
    dial_by_extension: bool,
    #[serde(default = "yes")]
    star_subscriber_access: bool,
}

fn yes() -> bool {
    true
}
fn utc() -> String {
    "UTC".into()
}
fn three() -> u32 {
    3
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    name: String,
    start: String,
    end: Option<String>,
    greeting: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGreetings {
    business: Option<String>,
    after_hours: Option<String>,
    business_menu: Option<String>,
    after_hours_menu: Option<String>,
    info: Option<String>,
    #[serde(default)]
    info_uninterruptible: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    key: String,
    transfer: Option<String>,
    attendant: Option<String>,
    announcement: Option<String>,
    leave_message: Option<String>,
    #[serde(default)]
    dial_by_name: bool,
}

const K: &str = "auto_attendant";

fn prompt(
    name: &str,
    field: &'static str,
    p: Option<String>,
    custom: &dyn Fn(&str) -> bool,
) -> Result<Option<String>, ConfigError> {
    match p {
        Some(p) if prompts::static_name(&p).is_none() && !custom(&p) => Err(invalid(
            K,
            name,
            field,
            format!("{p:?} is not a prompt of the library nor an imported one"),
        )),
        p => Ok(p),
    }
}

fn keys(
    name: &str,
    field: &'static str,
    raw: Vec<RawKey>,
    custom: &dyn Fn(&str) -> bool,
) -> Result<Vec<KeyMapping>, ConfigError> {
    let mut out: Vec<KeyMapping> = Vec::new();
    for k in raw {
        let key = match k.key.as_str() {
            d if d.len() == 1 && ('1'..='9').contains(&d.chars().next().unwrap_or('x')) => {
                d.chars().next().unwrap_or('1')
            }
            other => {
                return Err(invalid(
                    K,
                    name,
                    field,
                    format!(
                        "key {other:?}: keys 1 to 9 can be mapped (0 is the operator, * subscriber access)"
                    ),
                ));
            }
        };
        let actions: Vec<KeyAction> = [
            k.transfer.map(KeyAction::Transfer),
            k.attendant.map(KeyAction::Attendant),
            k.announcement.map(KeyAction::Announcement),
            k.leave_message.map(KeyAction::LeaveMessage),
            k.dial_by_name.then_some(KeyAction::DialByName),
        ]
        .into_iter()
        .flatten()
        .collect();
        let [action] = <[KeyAction; 1]>::try_from(actions).map_err(|_| {
            invalid(
                K,
                name,
                field,
                format!("key {key}: give exactly one of transfer, attendant, announcement, leave_message, dial_by_name"),
            )
        })?;
        if let KeyAction::Announcement(p) = &action {
            prompt(name, field, Some(p.clone()), custom)?;
        }
        if out.iter().any(|m| m.key == key) {
            return Err(invalid(
                K,
                name,
                field,
                format!("key {key} is mapped twice"),
            ));
        }
        out.push(KeyMapping { key, action });
    }
    Ok(out)
}

pub(super) fn build(
    a: RawAutoAttendant,
    dial_plans: &[DialPlan],
    locale: &str,
    custom: &dyn Fn(&str) -> bool,
) -> Result<AutoAttendant, ConfigError> {
    let n = a.name.as_str();
    if n.is_empty() || n.contains(char::is_whitespace) {
        return Err(invalid(K, n, "name", "must be non-empty without spaces"));
    }
    if !dial_plans.iter().any(|d| d.name == a.dial_plan) {
        return Err(invalid(
            K,
            n,
            "dial_plan",
            format!("no dial_plan {:?}", a.dial_plan),
        ));
    }
    if a.pilots.is_empty() || a.pilots.iter().any(|p| !digits(p.trim_start_matches('+'))) {
        return Err(invalid(K, n, "pilots", "need at least one number"));
    }
    schedule::time_zone(&a.time_zone).map_err(|e| invalid(K, n, "time_zone", e))?;
    if !(1..=10).contains(&a.input_failures) {
        return Err(invalid(K, n, "input_failures", "must be 1..=10"));
    }
    let business_hours = a
        .business_hours
        .iter()
        .map(|s| WeeklyRange::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(K, n, "business_hours", e))?;
    let mut holidays = Vec::new();
    for h in a.holidays {
        let start = schedule::parse_date(&h.start).map_err(|e| invalid(K, n, "holidays", e))?;
        let end = match &h.end {
            Some(e) => schedule::parse_date(e).map_err(|e| invalid(K, n, "holidays", e))?,
            None => start,
        };
        if end < start {
            return Err(invalid(
                K,
                n,
                "holidays",
                format!("{}: ends before it starts", h.name),
            ));
        }
        holidays.push(Holiday {
            name: h.name,
            start,
            end,
            greeting: prompt(n, "holidays", h.greeting, custom)?,
        });
    }
    let g = a.greetings;
    let greetings = AaGreetings {
        business: prompt(n, "greetings", g.business, custom)?,
        after_hours: prompt(n, "greetings", g.after_hours, custom)?,
        business_menu: prompt(n, "greetings", g.business_menu, custom)?,
        after_hours_menu: prompt(n, "greetings", g.after_hours_menu, custom)?,
        info: prompt(n, "greetings", g.info, custom)?,
        info_uninterruptible: g.info_uninterruptible,
    };
    // The attendant's own language, else its dial plan's default language.
    let language = a
        .language
        .clone()
        .or_else(|| {
            dial_plans
                .iter()
                .find(|d| d.name == a.dial_plan)
                .map(|d| d.default_language.clone())
        })
        .unwrap_or_else(|| locale.to_string());
    super::language(&language).map_err(|e| invalid(K, n, "language", e))?;
    Ok(AutoAttendant {
        business_keys: keys(n, "business_keys", a.business_keys, custom)?,
        after_hours_keys: keys(n, "after_hours_keys", a.after_hours_keys, custom)?,
        name: a.name,
        dial_plan: a.dial_plan,
        pilots: a.pilots,
        speech_enabled: a.speech_enabled,
        enabled: a.enabled,
        language,
        time_zone: a.time_zone,
        operator_extension: a.operator,
        input_failures: a.input_failures,
        business_hours,
        holidays,
        greetings,
        dial_by_extension: a.dial_by_extension,
        star_subscriber_access: a.star_subscriber_access,
    })
}

/// Key targets and operators must exist: mailboxes of the attendant's dial plan
/// (leave a message), extensions of its length (transfer, operator), other
/// attendants.
pub(super) fn check_targets(
    aas: &[AutoAttendant],
    mailboxes: &[UmMailbox],
    dial_plans: &[DialPlan],
) -> Result<(), ConfigError> {
    for a in aas {
        let n = a.name.as_str();
        let len = dial_plans
            .iter()
            .find(|d| d.name == a.dial_plan)
            .map_or(0, |d| d.extension_digits);
        let is_ext = |e: &str| digits(e) && e.len() == len;
        if let Some(op) = &a.operator_extension
            && !is_ext(op)
        {
            return Err(invalid(
                K,
                n,
                "operator",
                format!("{op:?} is not a {len}-digit extension"),
            ));
        }
        for (field, list) in [
            ("business_keys", &a.business_keys),
            ("after_hours_keys", &a.after_hours_keys),
        ] {
            for m in list {
                match &m.action {
                    KeyAction::Transfer(e) if !is_ext(e) => {
                        return Err(invalid(
                            K,
                            n,
                            field,
                            format!("key {}: {e:?} is not a {len}-digit extension", m.key),
                        ));
                    }
                    KeyAction::LeaveMessage(e)
                        if !mailboxes
                            .iter()
                            .any(|mb| &mb.extension == e && mb.dial_plan == a.dial_plan) =>
                    {
                        return Err(invalid(
                            K,
                            n,
                            field,
                            format!("key {}: no mailbox {e} in dial plan {}", m.key, a.dial_plan),
                        ));
                    }
                    KeyAction::Attendant(x) if !aas.iter().any(|o| &o.name == x) => {
                        return Err(invalid(
                            K,
                            n,
                            field,
                            format!("key {}: no auto attendant {x:?}", m.key),
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}
