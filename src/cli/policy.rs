//! `openum policy new|set|get|list|remove` (New-/Set-/Get-/Remove-UMMailboxPolicy):
//! PIN rules, greeting and message limits, storage format, retention, quotas,
//! voicemail to email (attach, after, format, size cap).

use super::{Common, change, put, show_object};
use clap::Subcommand;
use openum::config::change::Kind;

#[derive(clap::Args, Clone)]
pub struct Fields {
    /// MinPINLength (4..24).
    #[arg(long)]
    min_pin_length: Option<u32>,
    /// MaxLogonAttempts before the mailbox locks.
    #[arg(long)]
    max_logon_failures: Option<u32>,
    /// PINHistoryCount.
    #[arg(long)]
    pin_history: Option<u32>,
    /// PINLifetime in days (0: never expires).
    #[arg(long)]
    pin_lifetime_days: Option<u32>,
    /// MaxGreetingDuration, seconds.
    #[arg(long)]
    max_greeting_secs: Option<u64>,
    /// Longest message, seconds.
    #[arg(long)]
    max_message_secs: Option<u64>,
    /// Silence that ends a recording, seconds.
    #[arg(long)]
    silence_timeout_secs: Option<u64>,
    /// Shorter messages are not kept, milliseconds.
    #[arg(long)]
    min_message_ms: Option<u64>,
    /// ogg (Ogg/Opus) or wav.
    #[arg(long)]
    storage_format: Option<String>,
    /// Days a deleted message stays undeletable.
    #[arg(long)]
    deleted_retention_days: Option<u32>,
    /// Quota: messages kept.
    #[arg(long)]
    max_messages: Option<u32>,
    /// Quota: minutes kept.
    #[arg(long)]
    max_stored_minutes: Option<u32>,
    /// Voicemail to email: attach the audio (true) or send a notice only (false).
    #[arg(long)]
    email_attach: Option<bool>,
    /// After a successful email: keep, mark_saved or delete.
    #[arg(long)]
    email_after: Option<String>,
    /// The emailed audio: ogg, wav or mp3 (default: as stored).
    #[arg(long)]
    email_format: Option<String>,
    /// Larger audio is left out of the email (the body says so), bytes.
    #[arg(long)]
    email_max_bytes: Option<u64>,
}

impl Fields {
    fn set(self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        put(&mut m, "min_pin_length", self.min_pin_length);
        put(&mut m, "max_logon_failures", self.max_logon_failures);
        put(&mut m, "pin_history", self.pin_history);
        put(&mut m, "pin_lifetime_days", self.pin_lifetime_days);
        put(&mut m, "max_greeting_secs", self.max_greeting_secs);
        put(&mut m, "max_message_secs", self.max_message_secs);
        put(&mut m, "silence_timeout_secs", self.silence_timeout_secs);
        put(&mut m, "min_message_ms", self.min_message_ms);
        put(&mut m, "storage_format", self.storage_format);
        put(
            &mut m,
            "deleted_retention_days",
            self.deleted_retention_days,
        );
        put(&mut m, "max_messages", self.max_messages);
        put(&mut m, "max_stored_minutes", self.max_stored_minutes);
        put(&mut m, "email_attach", self.email_attach);
        put(&mut m, "email_after", self.email_after);
        put(&mut m, "email_format", self.email_format);
        put(&mut m, "email_max_bytes", self.email_max_bytes);
        m
    }
}

#[derive(Subcommand)]
pub enum PolicyCmd {
    /// New-UMMailboxPolicy (defaults for what is not given).
    New {
        #[command(flatten)]
        common: Common,
        name: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// Set-UMMailboxPolicy.
    Set {
        #[command(flatten)]
        common: Common,
        name: String,
        #[command(flatten)]
        fields: Fields,
    },
    Get {
        #[command(flatten)]
        common: Common,
        name: String,
        #[arg(long)]
        json: bool,
    },
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Remove-UMMailboxPolicy (refused while dial plans or mailboxes use it).
    Remove {
        #[command(flatten)]
        common: Common,
        name: String,
    },
}

pub fn run(cmd: PolicyCmd) -> Result<(), String> {
    let none = serde_json::Value::Null;
    match cmd {
        PolicyCmd::New {
            common,
            name,
            fields,
        } => {
            let mut obj = fields.set();
            obj.insert("name".into(), name.clone().into());
            let c = serde_json::json!({"op": "create", "kind": "mailbox_policy", "object": obj});
            change(&common, c, none, false)?.say(&format!("UM mailbox policy {name} created"));
            Ok(())
        }
        PolicyCmd::Set {
            common,
            name,
            fields,
        } => super::update(
            &common,
            Kind::Policy,
            &name,
            fields.set(),
            &format!("UM mailbox policy {name} changed"),
        ),
        PolicyCmd::Get { common, name, json } => {
            show_object(&common, Kind::Policy, Some(&name), json)
        }
        PolicyCmd::List { common, json } => show_object(&common, Kind::Policy, None, json),
        PolicyCmd::Remove { common, name } => super::remove(
            &common,
            Kind::Policy,
            &name,
            &format!("UM mailbox policy {name} removed"),
        ),
    }
}
