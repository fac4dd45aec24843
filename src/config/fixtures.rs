//! Test configuration shared by the routing and call-control tests: the demo plus a
//! dial plan of each other URI type, gateways in each status, and limits.

/// Append to `DEMO_TOML`. E164Plan (pilot +14255550000, mailbox 55001 by E.164,
/// at most 1 call) through gateway `e164gw` (127.0.0.2); LyncPlan (SipName, pilot
/// 5500, mailbox 56001 by SIP resource identifier) through `lync` (127.0.0.3, at
/// most 1 call); `off` (127.0.0.4) Disabled; `draining` (127.0.0.5) NoNewCalls;
/// `any` (127.0.0.6) created without a dial plan; `nooutcalls` (127.0.0.7) to Demo
/// without OutcallsAllowed; a disabled attendant `ClosedAA` on 4199.
pub const URI_TYPES: &str = r#"
[[dial_plan]]
name = "E164Plan"
uri_type = "E164"
extension_digits = 5
voip_security = "Unsecured"
access_numbers = ["+14255550000"]
phone_context = "e164.example.com"
mailbox_policy = "Default"
max_calls = 1

[[dial_plan]]
name = "LyncPlan"
uri_type = "SipName"
extension_digits = 5
voip_security = "Unsecured"
access_numbers = ["5500"]
phone_context = "lync.example.com"
mailbox_policy = "Default"

[[ip_gateway]]
name = "e164gw"
address = "127.0.0.2"
dial_plan = "E164Plan"

[[ip_gateway]]
name = "lync"
address = "127.0.0.3"
dial_plan = "LyncPlan"
max_calls = 1

[[ip_gateway]]
name = "off"
address = "127.0.0.4"
status = "Disabled"

[[ip_gateway]]
name = "draining"
address = "127.0.0.5"
status = "NoNewCalls"

[[ip_gateway]]
name = "any"
address = "127.0.0.6"

[[auto_attendant]]
name = "ClosedAA"
dial_plan = "Demo"
pilots = ["4199"]
enabled = false

[[ip_gateway]]
name = "nooutcalls"
address = "127.0.0.7"
dial_plan = "Demo"
outcalls_allowed = false

[[mailbox]]
extension = "55001"
display_name = "Eve E164"
dial_plan = "E164Plan"
e164 = "+1 (425) 555-0123"

[[mailbox]]
extension = "56001"
display_name = "Lou Lync"
dial_plan = "LyncPlan"
sip_resource_identifier = "Lou.Lync@Lync.Example.com"
"#;
