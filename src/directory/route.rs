//! Call routing: (gateway, Request-URI, Diversion/History-Info) → what answers the
//! call. This is Exchange's "hunt group → dial plan → target" decision, including
//! the voicemail-pilot case where a PBX forwards an unanswered call and names the
//! original called party in `Diversion` (RFC 5806) or `History-Info` (RFC 7044).

use super::{Directory, IpGateway};

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
    AutoAttendant { name: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("no hunt group or mailbox for number {0:?}")]
    UnknownNumber(String),
    #[error("request URI has no user part")]
    NoUser,
}

/// Match `number` against a dial plan's extensions: exact, or (for E.164/DID forms a
/// PBX may send) its last N digits where N is the dial plan's extension length.
fn extension_in<'a>(dir: &'a Directory, dial_plan: &str, number: &str) -> Option<&'a str> {
    let digits = dir.dial_plan(dial_plan)?.extension_digits;
    if let Some(m) = dir.mailbox(dial_plan, number) {
        return Some(&m.extension);
    }
    let n = number.trim_start_matches('+');
    if n.len() > digits && n.bytes().all(|b| b.is_ascii_digit()) {
        return dir
            .mailbox(dial_plan, &n[n.len() - digits..])
            .map(|m| m.extension.as_str());
    }
    None
}

impl Directory {
    /// Decide where a call goes. `diverted` lists the redirecting numbers, most
    /// recent first (the shell extracts them from Diversion / History-Info).
    pub fn route(
        &self,
        gateway: &IpGateway,
        called: Option<&str>,
        diverted: &[String],
    ) -> Result<Route, RouteError> {
        let called = called.ok_or(RouteError::NoUser)?;
        let groups: Vec<_> = self
            .hunt_groups
            .iter()
            .filter(|h| h.gateway == gateway.name)
            .collect();

        // 1. A pilot number of one of this gateway's hunt groups.
        if let Some(hg) = groups.iter().find(|h| h.pilot == called) {
            if let Some(aa) = self
                .auto_attendants
                .iter()
                .find(|a| a.dial_plan == hg.dial_plan && a.pilots.iter().any(|p| p == called))
            {
                return Ok(Route::AutoAttendant {
                    name: aa.name.clone(),
                });
            }
            // A forwarded call to the voicemail pilot: the diverting party's mailbox.
            for d in diverted {
                if let Some(ext) = extension_in(self, &hg.dial_plan, d) {
                    return Ok(Route::Voicemail {
                        dial_plan: hg.dial_plan.clone(),
                        extension: ext.to_string(),
                    });
                }
            }
            return Ok(Route::SubscriberAccess {
                dial_plan: hg.dial_plan.clone(),
            });
        }
        // 2. A mailbox extension dialled directly, in a dial plan this gateway serves
        //    (through any of its hunt groups, including the default one).
        for hg in &groups {
            if let Some(ext) = extension_in(self, &hg.dial_plan, called) {
                return Ok(Route::Voicemail {
                    dial_plan: hg.dial_plan.clone(),
                    extension: ext.to_string(),
                });
            }
        }
        // 3. The default hunt group (empty pilot) takes any other number as a pilot.
        if let Some(hg) = groups.iter().find(|h| h.pilot.is_empty())
            && self
                .dial_plan(&hg.dial_plan)
                .is_some_and(|d| d.access_numbers.iter().any(|a| a == called))
        {
            return Ok(Route::SubscriberAccess {
                dial_plan: hg.dial_plan.clone(),
            });
        }
        Err(RouteError::UnknownNumber(called.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn demo() -> Directory {
        Config::demo().unwrap().directory
    }

    #[test]
    fn routes_the_demo_numbers() {
        let d = demo();
        let gw = d.gateway_for("127.0.0.1".parse().unwrap()).unwrap().clone();
        let vm = |e: &str| Route::Voicemail {
            dial_plan: "Demo".into(),
            extension: e.into(),
        };
        assert_eq!(d.route(&gw, Some("1001"), &[]), Ok(vm("1001")));
        assert_eq!(d.route(&gw, Some("4000"), &["1002".into()]), Ok(vm("1002")));
        // An E.164 form of the diverting number still finds the 4-digit extension.
        assert_eq!(
            d.route(&gw, Some("4000"), &["+33155551003".into()]),
            Ok(vm("1003"))
        );
        assert_eq!(
            d.route(&gw, Some("4000"), &["9999".into()]),
            Ok(Route::SubscriberAccess {
                dial_plan: "Demo".into()
            })
        );
        assert_eq!(
            d.route(&gw, Some("4100"), &[]),
            Ok(Route::AutoAttendant {
                name: "MainAA".into()
            })
        );
        assert_eq!(
            d.route(&gw, Some("7777"), &[]),
            Err(RouteError::UnknownNumber("7777".into()))
        );
        assert_eq!(d.route(&gw, None, &[]), Err(RouteError::NoUser));
    }

    #[test]
    fn only_configured_gateways_are_trusted() {
        let d = demo();
        assert!(d.gateway_for("127.0.0.1".parse().unwrap()).is_some());
        assert!(d.gateway_for("::ffff:127.0.0.1".parse().unwrap()).is_some());
        assert!(d.gateway_for("10.1.2.3".parse().unwrap()).is_none());
    }
}
