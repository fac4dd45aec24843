//! Pilot numbers must be unambiguous (seed 004: several hunt groups per gateway for
//! several auto-attendant and subscriber-access numbers).

use super::{ConfigError, invalid};
use crate::directory::party::normalize_number;
use crate::directory::{AutoAttendant, DialPlan, HuntGroup};
use std::collections::HashMap;

/// Conflicting pilots make routing ambiguous: refuse them at load, naming both
/// objects. A number may be one dial plan's access number or one auto attendant's
/// pilot, not two of these; a hunt group's pilot must belong to its own dial plan.
pub(super) fn check_pilots(
    dial_plans: &[DialPlan],
    hunt_groups: &[HuntGroup],
    auto_attendants: &[AutoAttendant],
) -> Result<(), ConfigError> {
    // number → (kind, name, dial plan) of its first owner
    let mut owners: HashMap<String, (&'static str, &str, &str)> = HashMap::new();
    let claims = dial_plans
        .iter()
        .flat_map(|d| {
            d.access_numbers
                .iter()
                .map(move |n| ("dial_plan", d.name.as_str(), d.name.as_str(), n))
        })
        .chain(auto_attendants.iter().flat_map(|a| {
            a.pilots
                .iter()
                .map(move |n| ("auto_attendant", a.name.as_str(), a.dial_plan.as_str(), n))
        }));
    for (kind, name, dp, number) in claims {
        let key = normalize_number(number)
            .unwrap_or_else(|| number.clone())
            .trim_start_matches('+')
            .to_string();
        if let Some((k2, n2, _)) = owners.insert(key, (kind, name, dp)) {
            let field = if kind == "dial_plan" {
                "access_numbers"
            } else {
                "pilots"
            };
            return Err(invalid(
                kind,
                name,
                field,
                format!("{number:?} is already a pilot of {k2} {n2:?}"),
            ));
        }
    }
    for h in hunt_groups.iter().filter(|h| !h.pilot.is_empty()) {
        let key = normalize_number(&h.pilot)
            .unwrap_or_else(|| h.pilot.clone())
            .trim_start_matches('+')
            .to_string();
        if let (Some((kind, name, dp)), Some(own)) = (owners.get(&key), &h.dial_plan)
            && dp != own
        {
            return Err(invalid(
                "hunt_group",
                &h.name,
                "pilot",
                format!(
                    "{:?} is a pilot of {kind} {name:?} in dial plan {dp:?}, not of {own:?}",
                    h.pilot
                ),
            ));
        }
    }
    Ok(())
}
