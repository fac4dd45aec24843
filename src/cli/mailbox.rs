//! `openum mailbox get|set-pin|unlock` (Get-UMMailbox, Set-UMMailboxPIN, and
//! clearing a lockout; enable|set|disable|list are in `mailbox_enable`):
//! straight on the store when the server is stopped, through its admin API
//! when it runs. Refusals cite the policy rule broken.

use super::{Access, Common, access, http_get, load_config, print_json};
use clap::Subcommand;
use openum::store::pins::{self, NewPin, PinStatus};
use std::time::SystemTime;

#[derive(Subcommand)]
pub enum MailboxCmd {
    /// A mailbox and its PIN status (set, lifetime, failed logons, locked).
    Get {
        #[command(flatten)]
        common: Common,
        extension: String,
        #[arg(long)]
        json: bool,
    },
    /// Set-UMMailboxPIN: a given PIN (--pin) or a generated one (--generate, then
    /// printed); --expired makes the user change it at the next logon.
    SetPin {
        #[command(flatten)]
        common: Common,
        extension: String,
        #[arg(long, conflicts_with = "generate")]
        pin: Option<String>,
        #[arg(long)]
        generate: bool,
        #[arg(long)]
        expired: bool,
    },
    /// Unlock a mailbox locked by failed logons (the PIN stays).
    Unlock {
        #[command(flatten)]
        common: Common,
        extension: String,
    },
    /// Enable-UMMailbox: UM-enable a mailbox (a PIN is generated and printed
    /// unless --pin is given).
    Enable {
        #[command(flatten)]
        common: Common,
        extension: String,
        #[arg(long)]
        display_name: String,
        #[arg(long)]
        dial_plan: String,
        /// UM mailbox policy (default: the dial plan's).
        #[arg(long)]
        policy: Option<String>,
        #[arg(long)]
        sip_resource_identifier: Option<String>,
        #[arg(long)]
        e164: Option<String>,
        /// The subscriber's language (en-US, fr-FR; default: the dial plan's).
        #[arg(long)]
        language: Option<String>,
        /// Where new messages are emailed (voicemail to email).
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        pin: Option<String>,
    },
    /// Every UM mailbox.
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Set-UMMailbox: change a UM mailbox's display name, policy, SIP resource
    /// identifier or E.164 number.
    Set {
        #[command(flatten)]
        common: Common,
        extension: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        policy: Option<String>,
        #[arg(long)]
        sip_resource_identifier: Option<String>,
        #[arg(long)]
        e164: Option<String>,
        #[arg(long)]
        language: Option<String>,
        #[arg(long)]
        dial_plan: Option<String>,
        /// Where new messages are emailed (voicemail to email).
        #[arg(long)]
        email: Option<String>,
    },
    /// Disable-UMMailbox: no more voicemail for it (its messages are kept).
    Disable {
        #[command(flatten)]
        common: Common,
        extension: String,
    },
    /// Greetings and the recorded name as files: import, export, remove.
    Greeting {
        #[command(subcommand)]
        cmd: super::greeting::GreetingCmd,
    },
}

pub(crate) fn post(url: &str, body: serde_json::Value) -> Result<serde_json::Value, String> {
    super::http_post(url, body)
}

pub fn run(cmd: MailboxCmd) -> Result<(), String> {
    use super::mailbox_enable::{self as admin, Fields};
    match cmd {
        MailboxCmd::Enable {
            common,
            extension,
            display_name,
            dial_plan,
            policy,
            sip_resource_identifier,
            e164,
            language,
            email,
            pin,
        } => admin::enable(
            &common,
            &extension,
            Fields {
                display_name: Some(display_name),
                dial_plan: Some(dial_plan),
                policy,
                sip_resource_identifier,
                e164,
                language,
                email,
            },
            pin,
        ),
        MailboxCmd::List { common, json } => admin::list(&common, json),
        MailboxCmd::Set {
            common,
            extension,
            display_name,
            policy,
            sip_resource_identifier,
            e164,
            language,
            dial_plan,
            email,
        } => admin::set(
            &common,
            &extension,
            Fields {
                display_name,
                dial_plan,
                policy,
                sip_resource_identifier,
                e164,
                language,
                email,
            },
        ),
        MailboxCmd::Disable { common, extension } => admin::disable(&common, &extension),
        MailboxCmd::Greeting { cmd } => super::greeting::run(cmd),
        MailboxCmd::Get {
            common,
            extension,
            json,
        } => {
            let cfg = load_config(&common)?;
            let st: PinStatus = match access(&common.data)? {
                Access::Direct(s) => {
                    pins::status(&s, &cfg.directory, &extension, SystemTime::now())?
                }
                Access::Remote(url) => {
                    let v: serde_json::Value =
                        http_get(&format!("{url}/api/mailboxes/{extension}"))?
                            .into_json()
                            .map_err(|e| e.to_string())?;
                    return if json {
                        print_json(&v)
                    } else {
                        print_status_json(&v);
                        Ok(())
                    };
                }
            };
            if json {
                return print_json(&st);
            }
            print_status_json(&serde_json::to_value(&st).map_err(|e| e.to_string())?);
            Ok(())
        }
        MailboxCmd::SetPin {
            common,
            extension,
            pin,
            generate,
            expired,
        } => {
            let how = match (pin, generate) {
                (Some(p), false) => NewPin::Given(p),
                (None, true) => NewPin::Generate,
                _ => return Err("give --pin N or --generate".into()),
            };
            let cfg = load_config(&common)?;
            let generated = match access(&common.data)? {
                Access::Direct(s) => pins::set_pin(
                    &s,
                    &cfg.directory,
                    &extension,
                    how,
                    expired,
                    SystemTime::now(),
                )?,
                Access::Remote(url) => {
                    let body = match how {
                        NewPin::Given(p) => serde_json::json!({"pin": p, "expired": expired}),
                        NewPin::Generate => {
                            serde_json::json!({"generate": true, "expired": expired})
                        }
                    };
                    let v = post(&format!("{url}/api/mailboxes/{extension}/pin"), body)?;
                    v["generated"].as_str().map(str::to_string)
                }
            };
            match generated {
                Some(p) => println!(
                    "PIN of {extension} set to {p}{}",
                    if expired {
                        " (to be changed at the next logon)"
                    } else {
                        ""
                    }
                ),
                None => println!(
                    "PIN of {extension} set{}",
                    if expired {
                        " (to be changed at the next logon)"
                    } else {
                        ""
                    }
                ),
            }
            Ok(())
        }
        MailboxCmd::Unlock { common, extension } => {
            load_config(&common)?
                .directory
                .mailbox_any(&extension)
                .ok_or_else(|| format!("no UM mailbox with extension {extension}"))?;
            let was = match access(&common.data)? {
                Access::Direct(s) => pins::unlock(&s, &extension)?,
                Access::Remote(url) => post(
                    &format!("{url}/api/mailboxes/{extension}/unlock"),
                    serde_json::json!({}),
                )?["was_locked"]
                    .as_bool()
                    .unwrap_or(false),
            };
            println!(
                "mailbox {extension} {}",
                if was { "unlocked" } else { "was not locked" }
            );
            Ok(())
        }
    }
}

fn print_status_json(v: &serde_json::Value) {
    let s = |k: &str| match &v[k] {
        serde_json::Value::String(x) => x.clone(),
        serde_json::Value::Null => "-".into(),
        other => other.to_string(),
    };
    println!("extension     {} ({})", s("extension"), s("display_name"));
    println!("dial plan     {}   policy {}", s("dial_plan"), s("policy"));
    println!(
        "PIN           set {}  at {}  expires {}  expired {}",
        s("pin_set"),
        s("pin_set_at"),
        s("pin_expires_at"),
        s("pin_expired")
    );
    println!(
        "logon         failed {}  locked {}",
        s("failed_logons"),
        s("locked")
    );
    println!(
        "usage         {} messages (max {}), {} s stored (max {} min); deleted kept {} days",
        s("messages"),
        s("max_messages"),
        s("stored_seconds"),
        s("max_stored_minutes"),
        s("deleted_retention_days")
    );
}
