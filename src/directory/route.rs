//! Call routing: (gateway, Request-URI, Diversion/History-Info) → what answers the
//! call. This is Exchange's "hunt group → dial plan → target" decision (seed 004
//! steps 2–4), including the voicemail-pilot case where a PBX forwards an unanswered
//! call and names the original called party in `Diversion` (RFC 5806) or
//! `History-Info` (RFC 7044).
//!
//! Order: (1) a pilot identifier of one of the gateway's hunt groups; (2) its
//! default hunt group (empty pilot): the dial plan's access numbers and auto
//! attendant pilots (any dial plan's, when the gateway has no dial plan); (3) a
//! mailbox called directly in a dial plan the gateway's hunt groups serve. A mailbox
//! is found by its SIP resource identifier (SipName plans), its extension, its E.164
//! number, or the last N digits of a longer number (N = the plan's extension length).

use super::party::{Party, same_number};
use super::{Directory, HuntGroup, IpGateway, UriType};

/// What a call reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Leave a message for this mailbox.
    Voicemail {
        dial_plan: String,
        extension: String,
    },
    /// A subscriber-access (Outlook Voice Access) pilot with no diverted mailbox.
    SubscriberAccess { dial_plan: String },
    /// An auto attendant's pilot.
    AutoAttendant { name: String, dial_plan: String },
}

impl Route {
    pub fn dial_plan(&self) -> &str {
        match self {
            Route::Voicemail { dial_plan, .. }
            | Route::SubscriberAccess { dial_plan }
            | Route::AutoAttendant { dial_plan, .. } => dial_plan,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("no hunt group or mailbox for {0:?}")]
    UnknownNumber(String),
    #[error("request URI has no user part")]
    NoUser,
    #[error(
        "IP gateway {0} has no hunt group: create one (New-UMHuntGroup) or link it to a dial plan"
    )]
    NoHuntGroup(String),
}

impl Directory {
    /// The mailbox a party names in a dial plan, as its URI type reads it.
    pub fn mailbox_for_party(&self, dial_plan: &str, p: &Party) -> Option<&str> {
        let dp = self.dial_plan(dial_plan)?;
        if dp.uri_type == UriType::SipName
            && let Some(m) = self.mailbox_by_sip(dial_plan, &p.user_at_host())
        {
            return Some(&m.extension);
        }
        if let Some(m) = self.mailbox(dial_plan, &p.user) {
            return Some(&m.extension);
        }
        if let Some(m) = self.mailbox_by_e164(dial_plan, &p.user) {
            return Some(&m.extension);
        }
        // The E.164 or DID form a PBX may send: its last N digits.
        let n = super::party::normalize_number(&p.user)?;
        let n = n.trim_start_matches('+');
        let digits = dp.extension_digits;
        (n.len() > digits)
            .then(|| self.mailbox(dial_plan, &n[n.len() - digits..]))
            .flatten()
            .map(|m| m.extension.as_str())
    }

    /// The hunt groups a gateway's calls go through (its default one included).
    pub fn hunt_groups_of<'a>(&'a self, gateway: &'a str) -> impl Iterator<Item = &'a HuntGroup> {
        self.hunt_groups
            .iter()
            .filter(move |h| h.gateway == gateway)
    }

    /// Dial plans a hunt group serves: its own, or every one for a default hunt
    /// group created without a dial plan.
    fn plans_of<'a>(&'a self, hg: &'a HuntGroup) -> Vec<&'a str> {
        match &hg.dial_plan {
            Some(d) => vec![d.as_str()],
            None => self.dial_plans.iter().map(|d| d.name.as_str()).collect(),
        }
    }

    /// A call to a pilot of `dial_plan`: its auto attendant, the diverting party's
    /// mailbox, or subscriber access.
    fn at_pilot(&self, dial_plan: &str, called: &Party, diverted: &[Party]) -> Route {
        if let Some(aa) = self.auto_attendants.iter().find(|a| {
            a.dial_plan == dial_plan && a.pilots.iter().any(|p| same_number(p, &called.user))
        }) {
            return Route::AutoAttendant {
                name: aa.name.clone(),
                dial_plan: dial_plan.to_string(),
            };
        }
        for d in diverted {
            if let Some(ext) = self.mailbox_for_party(dial_plan, d) {
                return Route::Voicemail {
                    dial_plan: dial_plan.to_string(),
                    extension: ext.to_string(),
                };
            }
        }
        Route::SubscriberAccess {
            dial_plan: dial_plan.to_string(),
        }
    }

    /// Is `number` one of this dial plan's pilots (access numbers, auto attendants)?
    fn is_pilot_of(&self, dial_plan: &str, number: &str) -> bool {
        self.dial_plan(dial_plan)
            .is_some_and(|d| d.access_numbers.iter().any(|a| same_number(a, number)))
            || self.auto_attendants.iter().any(|a| {
                a.dial_plan == dial_plan && a.pilots.iter().any(|p| same_number(p, number))
            })
    }

    /// Decide where a call goes. `diverted` lists the redirecting parties, most
    /// recent first (Diversion, then History-Info).
    pub fn route(
        &self,
        gateway: &IpGateway,
        called: Option<&Party>,
        diverted: &[Party],
    ) -> Result<Route, RouteError> {
        let called = called.ok_or(RouteError::NoUser)?;
        let groups: Vec<&HuntGroup> = self.hunt_groups_of(&gateway.name).collect();
        if groups.is_empty() {
            return Err(RouteError::NoHuntGroup(gateway.name.clone()));
        }
        // 1. A pilot identifier of one of this gateway's hunt groups.
        for hg in groups.iter().filter(|h| !h.pilot.is_empty()) {
            if same_number(&hg.pilot, &called.user) {
                let plans = self.plans_of(hg);
                if let Some(dp) = plans.first() {
                    return Ok(self.at_pilot(dp, called, diverted));
                }
            }
        }
        // 2. The default hunt group: the pilots of the dial plan(s) it serves.
        for hg in groups.iter().filter(|h| h.pilot.is_empty()) {
            for dp in self.plans_of(hg) {
                if self.is_pilot_of(dp, &called.user) {
                    return Ok(self.at_pilot(dp, called, diverted));
                }
            }
        }
        // 3. A mailbox dialled directly, in a dial plan this gateway serves.
        for hg in &groups {
            for dp in self.plans_of(hg) {
                if let Some(ext) = self.mailbox_for_party(dp, called) {
                    return Ok(Route::Voicemail {
                        dial_plan: dp.to_string(),
                        extension: ext.to_string(),
                    });
                }
            }
        }
        Err(RouteError::UnknownNumber(called.user.clone()))
    }
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
