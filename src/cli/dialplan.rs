//! `openum dialplan new|set|get|list|remove` (New-/Set-/Get-/Remove-UMDialPlan).
//! A new dial plan without `--policy` gets its own `<NAME> Default Policy`, as
//! New-UMDialPlan makes one.

use super::{Common, change, list_of, put, show_object};
use clap::Subcommand;
use openum::config::change::Kind;

#[derive(clap::Args, Clone)]
pub struct Fields {
    /// TelExtn, SipName or E164.
    #[arg(long)]
    uri_type: Option<String>,
    /// Extension digits (NumberOfDigitsInExtension).
    #[arg(long)]
    digits: Option<u32>,
    /// Unsecured, SIPSecured or Secured.
    #[arg(long)]
    voip_security: Option<String>,
    /// Subscriber access numbers, comma-separated.
    #[arg(long)]
    access_numbers: Option<String>,
    /// Prompts' language (en-US, fr-FR).
    #[arg(long)]
    language: Option<String>,
    /// IANA time zone dates and times are spoken in.
    #[arg(long)]
    time_zone: Option<String>,
    /// The UM mailbox policy of its mailboxes.
    #[arg(long)]
    policy: Option<String>,
    #[arg(long)]
    phone_context: Option<String>,
    /// RTP codecs in order of preference, comma-separated (opus, PCMU, PCMA).
    #[arg(long)]
    audio_codecs: Option<String>,
    /// MaxCallsAllowed of the dial plan.
    #[arg(long)]
    max_calls: Option<u32>,
}

impl Fields {
    fn set(self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        put(&mut m, "uri_type", self.uri_type);
        put(&mut m, "extension_digits", self.digits);
        put(&mut m, "voip_security", self.voip_security);
        put(
            &mut m,
            "access_numbers",
            self.access_numbers.as_deref().map(list_of),
        );
        put(&mut m, "default_language", self.language);
        put(&mut m, "time_zone", self.time_zone);
        put(&mut m, "mailbox_policy", self.policy);
        put(&mut m, "phone_context", self.phone_context);
        put(
            &mut m,
            "audio_codecs",
            self.audio_codecs.as_deref().map(list_of),
        );
        put(&mut m, "max_calls", self.max_calls);
        m
    }
}

#[derive(Subcommand)]
pub enum DialPlanCmd {
    /// New-UMDialPlan.
    New {
        #[command(flatten)]
        common: Common,
        name: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// Set-UMDialPlan: change what is given, keep the rest.
    Set {
        #[command(flatten)]
        common: Common,
        name: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// Get-UMDialPlan.
    Get {
        #[command(flatten)]
        common: Common,
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Every dial plan.
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Remove-UMDialPlan (refused while gateways, hunt groups, attendants or
    /// mailboxes use it).
    Remove {
        #[command(flatten)]
        common: Common,
        name: String,
    },
}

pub fn run(cmd: DialPlanCmd) -> Result<(), String> {
    match cmd {
        DialPlanCmd::New {
            common,
            name,
            fields,
        } => {
            let mut obj = fields.set();
            obj.insert("name".into(), name.clone().into());
            for (f, flag) in [
                ("uri_type", "--uri-type"),
                ("extension_digits", "--digits"),
                ("voip_security", "--voip-security"),
            ] {
                if !obj.contains_key(f) {
                    return Err(format!("dialplan new needs {flag}"));
                }
            }
            obj.entry("phone_context")
                .or_insert_with(|| name.to_ascii_lowercase().into());
            let mut changes = Vec::new();
            if !obj.contains_key("mailbox_policy") {
                let policy = format!("{name} Default Policy");
                obj.insert("mailbox_policy".into(), policy.clone().into());
                let exists = super::objects_of_kind(&common, Kind::Policy)?
                    .iter()
                    .any(|p| p["name"] == policy.as_str());
                if !exists {
                    changes.push(serde_json::json!({"op": "create", "kind": "mailbox_policy", "object": {"name": policy}}));
                }
            }
            changes.push(serde_json::json!({"op": "create", "kind": "dial_plan", "object": obj}));
            let how = change(
                &common,
                serde_json::Value::Array(changes),
                serde_json::Value::Null,
                false,
            )?;
            how.say(&format!("UM dial plan {name} created"));
            Ok(())
        }
        DialPlanCmd::Set {
            common,
            name,
            fields,
        } => super::update(
            &common,
            Kind::DialPlan,
            &name,
            fields.set(),
            &format!("UM dial plan {name} changed"),
        ),
        DialPlanCmd::Get { common, name, json } => {
            show_object(&common, Kind::DialPlan, Some(&name), json)
        }
        DialPlanCmd::List { common, json } => {
            let all = super::objects_of_kind(&common, Kind::DialPlan)?;
            if json {
                return super::print_json(&all);
            }
            println!(
                "{:<16} {:<9} {:>6} {:<11} {:<18} POLICY",
                "NAME", "URI TYPE", "DIGITS", "SECURITY", "ACCESS NUMBERS"
            );
            for d in all {
                let nums: Vec<&str> = d["access_numbers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|n| n.as_str())
                    .collect();
                println!(
                    "{:<16} {:<9} {:>6} {:<11} {:<18} {}",
                    d["name"].as_str().unwrap_or(""),
                    d["uri_type"].as_str().unwrap_or(""),
                    d["extension_digits"].to_string(),
                    d["voip_security"].as_str().unwrap_or(""),
                    nums.join(","),
                    d["mailbox_policy"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
        DialPlanCmd::Remove { common, name } => super::remove(
            &common,
            Kind::DialPlan,
            &name,
            &format!("UM dial plan {name} removed"),
        ),
    }
}
