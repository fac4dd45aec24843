//! `openum message list|get|export|delete|undelete|mark-new|mark-saved|remove`: a
//! mailbox's messages with their status (new, saved, deleted), a message's audio
//! as WAV, status changes (a deleted message can be undeleted until the
//! deleted-item retention purges it), and removal for good at once. Straight on
//! the store when the server is stopped, through its admin API when it runs (so
//! MWI follows the change).

use super::{Access, Common, access, http_get, load_config, print_json};
use clap::Subcommand;
use openum::store::audio::Format;
use openum::store::{MailboxStore, MessageMeta, MessageStatus};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum MessageCmd {
    /// List a mailbox's messages, oldest first, with their status.
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        mailbox: String,
        #[arg(long)]
        json: bool,
    },
    /// One message: its metadata, status and email delivery (queued, sent or
    /// failed, with the last error).
    Get {
        #[command(flatten)]
        common: Common,
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Write a message's audio as a WAV or Ogg/Opus file (by --out's extension).
    Export {
        #[command(flatten)]
        common: Common,
        id: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Mark a message deleted (kept, undeletable, for the retention time).
    Delete {
        #[command(flatten)]
        common: Common,
        id: String,
    },
    /// Bring a deleted message back (as saved).
    Undelete {
        #[command(flatten)]
        common: Common,
        id: String,
    },
    /// Remove a message for good, now, without the deleted-item retention.
    Remove {
        #[command(flatten)]
        common: Common,
        id: String,
    },
    /// Mark a message new (unheard) again.
    MarkNew {
        #[command(flatten)]
        common: Common,
        id: String,
    },
    /// Mark a message saved (heard).
    MarkSaved {
        #[command(flatten)]
        common: Common,
        id: String,
    },
}

pub fn run(cmd: MessageCmd) -> Result<(), String> {
    match cmd {
        MessageCmd::List {
            common,
            mailbox,
            json,
        } => list(&common, &mailbox, json),
        MessageCmd::Get { common, id, json } => get(&common, &id, json),
        MessageCmd::Export { common, id, out } => export(&common, &id, &out),
        MessageCmd::Delete { common, id } => set_status(&common, &id, MessageStatus::Deleted),
        MessageCmd::Undelete { common, id } | MessageCmd::MarkSaved { common, id } => {
            set_status(&common, &id, MessageStatus::Saved)
        }
        MessageCmd::MarkNew { common, id } => set_status(&common, &id, MessageStatus::New),
        MessageCmd::Remove { common, id } => remove(&common, &id),
    }
}

fn remove(common: &Common, id: &str) -> Result<(), String> {
    match access(&common.data)? {
        Access::Direct(s) => {
            s.remove(id).map_err(|e| e.to_string())?;
        }
        Access::Remote(url) => {
            match super::request("DELETE", &format!("{url}/api/messages/{id}")).call() {
                Ok(_) => {}
                Err(ureq::Error::Status(_, r)) => {
                    let v: serde_json::Value = r.into_json().unwrap_or_default();
                    return Err(v["error"].as_str().unwrap_or("refused").to_string());
                }
                Err(e) => return Err(format!("the admin API is not reachable: {e}")),
            }
        }
    }
    println!("message {id} is removed");
    Ok(())
}

fn set_status(common: &Common, id: &str, status: MessageStatus) -> Result<(), String> {
    let m: MessageMeta = match access(&common.data)? {
        Access::Direct(s) => s
            .set_status(id, status, std::time::SystemTime::now())
            .map_err(|e| e.to_string())?,
        Access::Remote(url) => {
            let body = serde_json::json!({ "status": status });
            match super::request("POST", &format!("{url}/api/messages/{id}/status")).send_json(body)
            {
                Ok(r) => r.into_json().map_err(|e| e.to_string())?,
                Err(ureq::Error::Status(_, r)) => {
                    let v: serde_json::Value = r.into_json().unwrap_or_default();
                    return Err(v["error"].as_str().unwrap_or("refused").to_string());
                }
                Err(e) => return Err(format!("the admin API is not reachable: {e}")),
            }
        }
    };
    println!(
        "message {} of {} is now {}",
        m.id,
        m.mailbox,
        format!("{:?}", m.status()).to_lowercase()
    );
    Ok(())
}

pub fn list(common: &Common, mailbox: &str, json: bool) -> Result<(), String> {
    // A UM-disabled mailbox's messages stay listed until the retention removes
    // them: only an extension that is no mailbox and holds none is refused.
    let enabled = load_config(common)?
        .directory
        .mailbox_any(mailbox)
        .is_some();
    let msgs: Vec<MessageMeta> = match access(&common.data)? {
        Access::Direct(s) => s.list(mailbox).map_err(|e| e.to_string())?,
        Access::Remote(url) => http_get(&format!("{url}/api/mailboxes/{mailbox}/messages"))?
            .into_json()
            .map_err(|e| e.to_string())?,
    };
    if msgs.is_empty() && !enabled {
        return Err(format!("no UM mailbox with extension {mailbox}"));
    }
    if json {
        let views: Vec<openum::store::MessageView> = msgs.into_iter().map(Into::into).collect();
        print_json(&views)?;
    } else {
        println!(
            "{:<17} {:<8} {:<16} {:<25} {:>9} {:<5} {:>8} {:<7} {:<6}",
            "ID", "MAILBOX", "CALLER", "RECEIVED", "DURATION", "CODEC", "SIZE", "STATUS", "EMAIL"
        );
        for m in &msgs {
            println!(
                "{:<17} {:<8} {:<16} {:<25} {:>8.1}s {:<5} {:>8} {:<7} {:<6}",
                m.id,
                m.mailbox,
                m.caller_id,
                m.received_at,
                m.duration_ms as f64 / 1000.0,
                m.codec.name(),
                m.size,
                format!("{:?}", m.status()).to_lowercase(),
                m.email.as_ref().map_or("-", |e| e.state.name())
            );
        }
        println!("{} message(s)", msgs.len());
    }
    Ok(())
}

fn get(common: &Common, id: &str, json: bool) -> Result<(), String> {
    let m: MessageMeta = match access(&common.data)? {
        Access::Direct(s) => s.get(id).map_err(|e| e.to_string())?,
        Access::Remote(url) => http_get(&format!("{url}/api/messages/{id}"))?
            .into_json()
            .map_err(|e| e.to_string())?,
    };
    let v = openum::store::MessageView::from(m);
    if json {
        return print_json(&v);
    }
    let m = &v.meta;
    let caller = match &m.caller_name {
        Some(n) => format!("{n} ({})", m.caller_id),
        None => m.caller_id.clone(),
    };
    println!("id:        {}", m.id);
    println!("mailbox:   {}", m.mailbox);
    println!("caller:    {caller}");
    println!("received:  {}", m.received_at);
    println!("duration:  {:.1}s", m.duration_ms as f64 / 1000.0);
    println!(
        "format:    {} ({} Hz, {} bytes)",
        m.format.name(),
        m.rate,
        m.size
    );
    println!("status:    {}", v.status.name());
    match &m.email {
        None => println!("email:     -"),
        Some(e) => {
            println!(
                "email:     {} to {} ({} attempt(s), {})",
                e.state.name(),
                e.to,
                e.attempts,
                e.at
            );
            if let Some(err) = &e.last_error {
                println!("           last error: {err}");
            }
            if let Some(next) = &e.next_at {
                println!("           next attempt: {next}");
            }
        }
    }
    Ok(())
}

/// Write a message's audio; the file's extension says the format (`.wav`,
/// `.ogg`/`.opus`).
pub fn export(common: &Common, id: &str, out: &Path) -> Result<(), String> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("wav")
        .to_ascii_lowercase();
    let format = match Format::parse(&ext) {
        Some(f @ (Format::Wav | Format::Ogg)) => f,
        _ => return Err(format!("{}: export as .wav or .ogg", out.display())),
    };
    let wav = match access(&common.data)? {
        Access::Direct(s) => s.export(id, format).map_err(|e| e.to_string())?,
        Access::Remote(url) => {
            let name = if format == Format::Ogg {
                "audio.ogg"
            } else {
                "audio.wav"
            };
            let mut v = Vec::new();
            std::io::Read::read_to_end(
                &mut http_get(&format!("{url}/api/messages/{id}/{name}"))?.into_reader(),
                &mut v,
            )
            .map_err(|e| e.to_string())?;
            v
        }
    };
    std::fs::write(out, &wav).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("wrote {} ({} bytes)", out.display(), wav.len());
    Ok(())
}
