//! `openum mailbox enable|set|disable` (Enable-UMMailbox, Set-UMMailbox,
//! Disable-UMMailbox): UM mailboxes made or changed at run time live in
//! `DATA/mailboxes.toml`, laid over the configuration (see
//! `openum::config::overlay`). Each change is validated with the whole
//! configuration before it is written, then a running server reloads it for new
//! calls. Enabling sets a PIN (given, or generated and printed) through the same
//! path as `set-pin`; disabling keeps the mailbox's messages in the store.

use super::aa_cli::edit_overlay;
use super::{Access, Common, access, load_config};
use openum::config::overlay::{self, MAILBOXES};
use openum::store::pins::{self, NewPin};
use std::time::SystemTime;

/// What Enable-/Set-UMMailbox may set.
#[derive(Debug, Default, Clone)]
pub struct Fields {
    pub display_name: Option<String>,
    pub dial_plan: Option<String>,
    pub policy: Option<String>,
    pub sip_resource_identifier: Option<String>,
    pub e164: Option<String>,
}

impl Fields {
    fn write(&self, t: &mut toml::map::Map<String, toml::Value>) {
        for (k, v) in [
            ("display_name", &self.display_name),
            ("dial_plan", &self.dial_plan),
            ("policy", &self.policy),
            ("sip_resource_identifier", &self.sip_resource_identifier),
            ("e164", &self.e164),
        ] {
            if let Some(v) = v {
                t.insert(k.into(), toml::Value::String(v.clone()));
            }
        }
    }
}

/// Change the mailbox overlay with `f` (validated, written, reloaded).
fn edit(
    common: &Common,
    f: impl FnOnce(&str, &mut Vec<toml::Value>, &mut Vec<String>) -> Result<String, String>,
) -> Result<(), String> {
    edit_overlay(common, MAILBOXES, f)
}

/// Enable-UMMailbox: a new UM mailbox, with a PIN.
pub fn enable(
    common: &Common,
    extension: &str,
    fields: Fields,
    pin: Option<String>,
) -> Result<(), String> {
    if !extension.bytes().all(|b| b.is_ascii_digit()) || extension.is_empty() {
        return Err(format!("extension {extension:?} must be digits"));
    }
    if load_config(common)?
        .directory
        .mailbox_any(extension)
        .is_some()
    {
        return Err(format!(
            "mailbox {extension} is UM-enabled already: use set"
        ));
    }
    if fields.display_name.is_none() || fields.dial_plan.is_none() {
        return Err("enable needs --display-name and --dial-plan".into());
    }
    let ext = extension.to_string();
    edit(common, |_, mbs, removed| {
        removed.retain(|r| r != &ext);
        mbs.retain(|m| m.get("extension").and_then(|e| e.as_str()) != Some(&ext));
        let mut t = toml::map::Map::new();
        t.insert("extension".into(), toml::Value::String(ext.clone()));
        fields.write(&mut t);
        mbs.push(toml::Value::Table(t));
        Ok(format!("mailbox {ext} UM-enabled"))
    })?;
    // The PIN: through the admin API when the server runs (it has reloaded), or
    // straight on the store.
    let how = match pin {
        Some(p) => NewPin::Given(p),
        None => NewPin::Generate,
    };
    let generated = match access(&common.data) {
        Ok(Access::Direct(s)) => {
            let cfg = load_config(common)?;
            pins::set_pin(&s, &cfg.directory, extension, how, false, SystemTime::now())?
        }
        Ok(Access::Remote(url)) => {
            let body = match how {
                NewPin::Given(p) => serde_json::json!({"pin": p}),
                NewPin::Generate => serde_json::json!({"generate": true}),
            };
            super::mailbox_cli::post(&format!("{url}/api/mailboxes/{extension}/pin"), body)?
                ["generated"]
                .as_str()
                .map(str::to_string)
        }
        Err(e) => {
            return Err(format!(
                "mailbox {extension} enabled, but its PIN could not be set: {e}"
            ));
        }
    };
    match generated {
        Some(p) => println!("PIN of {extension} set to {p}"),
        None => println!("PIN of {extension} set"),
    }
    Ok(())
}

/// Set-UMMailbox: change a mailbox's fields.
pub fn set(common: &Common, extension: &str, fields: Fields) -> Result<(), String> {
    load_config(common)?
        .directory
        .mailbox_any(extension)
        .ok_or_else(|| format!("no UM mailbox with extension {extension}"))?;
    let ext = extension.to_string();
    edit(common, |base, mbs, _| {
        let pos = match mbs
            .iter()
            .position(|m| m.get("extension").and_then(|e| e.as_str()) == Some(&ext))
        {
            Some(p) => p,
            None => {
                let t = overlay::base_object(MAILBOXES, base, &ext)
                    .ok_or_else(|| format!("no UM mailbox with extension {ext}"))?;
                mbs.push(t);
                mbs.len() - 1
            }
        };
        let t = mbs[pos]
            .as_table_mut()
            .ok_or_else(|| format!("mailbox {ext} is not a table"))?;
        // A PIN never stays in an overlay in clear: it lives (hashed) in the store.
        t.remove("pin");
        fields.write(t);
        Ok(format!("mailbox {ext} changed"))
    })?;
    Ok(())
}

/// Disable-UMMailbox: no more voicemail or subscriber access for it; its
/// messages stay in the store.
pub fn disable(common: &Common, extension: &str) -> Result<(), String> {
    load_config(common)?
        .directory
        .mailbox_any(extension)
        .ok_or_else(|| format!("no UM mailbox with extension {extension}"))?;
    let ext = extension.to_string();
    edit(common, |base, mbs, removed| {
        mbs.retain(|m| m.get("extension").and_then(|e| e.as_str()) != Some(&ext));
        if overlay::base_object(MAILBOXES, base, &ext).is_some() && !removed.contains(&ext) {
            removed.push(ext.clone());
        }
        Ok(format!("mailbox {ext} UM-disabled (its messages are kept)"))
    })?;
    Ok(())
}
