//! Routing tests: the demo numbers, each URI type, and the hunt-group rules of seed
//! 004 (pilots per gateway, default hunt groups with and without a dial plan).

use super::*;
use crate::config::fixtures::URI_TYPES;
use crate::config::{Config, DEMO_TOML};

fn demo() -> Directory {
    Config::demo().unwrap().directory
}

fn party(user: &str) -> Party {
    Party {
        user: user.into(),
        host: "pbx.example.com".into(),
    }
}

fn route(d: &Directory, gw: &str, called: &str, diverted: &[&str]) -> Result<Route, RouteError> {
    let gw = d.gateway(gw).unwrap().clone();
    let div: Vec<Party> = diverted.iter().map(|u| party(u)).collect();
    d.route(&gw, Some(&party(called)), &div)
}

fn vm(dp: &str, e: &str) -> Result<Route, RouteError> {
    Ok(Route::Voicemail {
        dial_plan: dp.into(),
        extension: e.into(),
    })
}

#[test]
fn routes_the_demo_numbers() {
    let d = demo();
    assert_eq!(route(&d, "loopback", "1001", &[]), vm("Demo", "1001"));
    assert_eq!(route(&d, "loopback", "4000", &["1002"]), vm("Demo", "1002"));
    // An E.164 form of the diverting number still finds the 4-digit extension.
    assert_eq!(
        route(&d, "loopback", "4000", &["+33155551003"]),
        vm("Demo", "1003")
    );
    assert_eq!(
        route(&d, "loopback", "4000", &["9999"]),
        Ok(Route::SubscriberAccess {
            dial_plan: "Demo".into()
        })
    );
    assert_eq!(
        route(&d, "loopback", "4100", &[]),
        Ok(Route::AutoAttendant {
            name: "MainAA".into(),
            dial_plan: "Demo".into()
        })
    );
    assert_eq!(
        route(&d, "loopback", "7777", &[]),
        Err(RouteError::UnknownNumber("7777".into()))
    );
    let gw = d.gateway("loopback").unwrap().clone();
    assert_eq!(d.route(&gw, None, &[]), Err(RouteError::NoUser));
    // Every dial plan the gateway's hunt groups serve is reachable by extension.
    assert_eq!(route(&d, "loopback", "2001", &[]), vm("SecureDemo", "2001"));
}

#[test]
fn demo_mailboxes_are_found_by_e164_and_sip_resource_identifier() {
    let d = demo();
    let alice = d.mailbox("Demo", "1001").unwrap();
    let sip = alice.sip_resource_identifier.clone().unwrap();
    let e164 = alice.e164.clone().unwrap();
    assert_eq!(route(&d, "loopback", &e164, &[]), vm("Demo", "1001"));
    // The demo Demo plan is TelExtn: a SIP URI's user part must be the extension.
    let (user, host) = sip.split_once('@').unwrap();
    let p = Party {
        user: user.into(),
        host: host.into(),
    };
    assert_eq!(d.mailbox_for_party("Demo", &p), None);
}

fn uri_types() -> Directory {
    Config::parse(&format!("{DEMO_TOML}{URI_TYPES}"), &|_| Vec::new())
        .unwrap()
        .directory
}

#[test]
fn e164_numbers_are_normalised_and_matched() {
    let d = uri_types();
    // Its own E.164 number, with or without separators; or its extension; or a
    // longer number ending in the extension.
    assert_eq!(
        route(&d, "e164gw", "+14255550123", &[]),
        vm("E164Plan", "55001")
    );
    assert_eq!(
        route(&d, "e164gw", "+1-425-555-0123", &[]),
        vm("E164Plan", "55001")
    );
    assert_eq!(route(&d, "e164gw", "55001", &[]), vm("E164Plan", "55001"));
    assert_eq!(
        route(&d, "e164gw", "+4420755001", &[]),
        vm("E164Plan", "55001")
    );
    // The pilot, written with or without '+', diverted from the E.164 number.
    assert_eq!(
        route(&d, "e164gw", "14255550000", &["+14255550123"]),
        vm("E164Plan", "55001")
    );
    assert_eq!(
        route(&d, "e164gw", "+14255550000", &[]),
        Ok(Route::SubscriberAccess {
            dial_plan: "E164Plan".into()
        })
    );
}

#[test]
fn sip_names_match_the_sip_resource_identifier() {
    let d = uri_types();
    let gw = d.gateway("lync").unwrap().clone();
    let lou = Party::from_uri("sip:lou.lync@lync.example.com;transport=tls").unwrap();
    assert_eq!(d.route(&gw, Some(&lou), &[]), vm("LyncPlan", "56001"));
    let stranger = Party::from_uri("sip:lou.lync@other.example.com").unwrap();
    assert_eq!(
        d.route(&gw, Some(&stranger), &[]),
        Err(RouteError::UnknownNumber("lou.lync".into()))
    );
    // Diverted by SIP URI to the pilot.
    let pilot = Party::from_uri("sip:5500@lync.example.com").unwrap();
    assert_eq!(d.route(&gw, Some(&pilot), &[lou]), vm("LyncPlan", "56001"));
}

#[test]
fn default_hunt_groups_follow_the_gateway_dial_plan_or_the_pilot() {
    let d = uri_types();
    // A gateway linked to a dial plan sends all its calls there: Demo's numbers are
    // unknown to it.
    assert!(
        d.hunt_groups_of("e164gw")
            .any(|h| h.default && h.dial_plan.as_deref() == Some("E164Plan"))
    );
    assert_eq!(
        route(&d, "e164gw", "1001", &[]),
        Err(RouteError::UnknownNumber("1001".into()))
    );
    // A gateway created without a dial plan: its default hunt group lets the pilot
    // choose the dial plan.
    assert_eq!(
        route(&d, "any", "4100", &[]),
        Ok(Route::AutoAttendant {
            name: "MainAA".into(),
            dial_plan: "Demo".into()
        })
    );
    assert_eq!(
        route(&d, "any", "5500", &["56001"]),
        vm("LyncPlan", "56001")
    );
    assert_eq!(route(&d, "any", "1002", &[]), vm("Demo", "1002"));
}

#[test]
fn two_hunt_groups_on_one_gateway_route_two_pilots_to_two_dial_plans() {
    let d = demo();
    assert_eq!(
        route(&d, "loopback", "5000", &["2001"]),
        vm("SecureDemo", "2001")
    );
    assert_eq!(route(&d, "loopback", "4000", &["1001"]), vm("Demo", "1001"));
    // The Secured plan's pilot does not reach a Demo mailbox.
    assert_eq!(
        route(&d, "loopback", "5000", &["1001"]),
        Ok(Route::SubscriberAccess {
            dial_plan: "SecureDemo".into()
        })
    );
}

#[test]
fn configured_gateways_are_known_whatever_their_status() {
    let d = demo();
    assert!(d.gateway_for("127.0.0.1".parse().unwrap()).is_some());
    assert!(d.gateway_for("::ffff:127.0.0.1".parse().unwrap()).is_some());
    assert!(d.gateway_for("10.1.2.3".parse().unwrap()).is_none());
}
