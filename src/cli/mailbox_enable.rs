//! `openum mailbox enable|set|disable|list` (Enable-/Set-/Disable-/Get-UMMailbox):
//! changes to the model through `super::change`. Enabling is one change with
//! its PIN (given, or generated and printed): a PIN the policy refuses leaves
//! no mailbox behind. Disabling keeps the mailbox's messages in the store
//! (listable by an admin until the retention removes them).

use super::{Common, change, put};
use openum::config::change::Kind;

/// What Enable-/Set-UMMailbox may set.
#[derive(Debug, Default, Clone)]
pub struct Fields {
    pub display_name: Option<String>,
    pub dial_plan: Option<String>,
    pub policy: Option<String>,
    pub sip_resource_identifier: Option<String>,
    pub e164: Option<String>,
    pub language: Option<String>,
    pub email: Option<String>,
}

impl Fields {
    fn set(self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        put(&mut m, "display_name", self.display_name);
        put(&mut m, "dial_plan", self.dial_plan);
        put(&mut m, "policy", self.policy);
        put(
            &mut m,
            "sip_resource_identifier",
            self.sip_resource_identifier,
        );
        put(&mut m, "e164", self.e164);
        put(&mut m, "language", self.language);
        put(&mut m, "email", self.email);
        m
    }
}

/// Enable-UMMailbox: a new UM mailbox with its PIN, in one change.
pub fn enable(
    common: &Common,
    extension: &str,
    fields: Fields,
    pin: Option<String>,
) -> Result<(), String> {
    if extension.is_empty() || !extension.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("extension {extension:?} must be digits"));
    }
    let mut obj = fields.set();
    obj.insert("extension".into(), extension.into());
    let c = serde_json::json!({"op": "create", "kind": "mailbox", "object": obj});
    let pin = match pin {
        Some(p) => serde_json::json!({"extension": extension, "pin": p}),
        None => serde_json::json!({"extension": extension, "generate": true}),
    };
    let how =
        change(common, c, pin, false).map_err(|e| e.replace("UM mailbox \"", "mailbox \""))?;
    how.say(&format!("mailbox {extension} UM-enabled"));
    match how.answer()["generated_pin"].as_str() {
        Some(p) => println!("PIN of {extension} set to {p}"),
        None => println!("PIN of {extension} set"),
    }
    Ok(())
}

/// Set-UMMailbox: change a mailbox's fields.
pub fn set(common: &Common, extension: &str, fields: Fields) -> Result<(), String> {
    let done = format!("mailbox {extension} changed");
    super::update(common, Kind::Mailbox, extension, fields.set(), &done)
}

/// Disable-UMMailbox: no more voicemail or subscriber access for it; its
/// messages stay in the store.
pub fn disable(common: &Common, extension: &str) -> Result<(), String> {
    let done = format!("mailbox {extension} UM-disabled (its messages are kept)");
    super::remove(common, Kind::Mailbox, extension, &done)
}

/// Get-UMMailbox for every mailbox.
pub fn list(common: &Common, json: bool) -> Result<(), String> {
    let all = super::objects_of_kind(common, Kind::Mailbox)?;
    if json {
        return super::print_json(&all);
    }
    println!(
        "{:<10} {:<24} {:<12} {:<10} {:<16} LANGUAGE",
        "EXTENSION", "DISPLAY NAME", "DIAL PLAN", "POLICY", "E.164"
    );
    for m in all {
        let s = |k: &str| m[k].as_str().unwrap_or("-").to_string();
        println!(
            "{:<10} {:<24} {:<12} {:<10} {:<16} {}",
            s("extension"),
            s("display_name"),
            s("dial_plan"),
            s("policy"),
            s("e164"),
            s("language")
        );
    }
    Ok(())
}
