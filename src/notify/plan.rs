//! What a message change owes, decided from the model at the time it is sent:
//! the email to the mailbox's address on a deposit, and a signed POST to each
//! webhook that wants the change. Also what the email of a message says (the
//! [`email::Voicemail`] of a stored message). Pure: the model, the message and
//! the time come in.

use super::email::{Attachment, Voicemail};
use crate::directory::notify::HookEvent;
use crate::directory::{Directory, EmailFormat};
use crate::store::MessageView;
use crate::store::audio::Format;
use crate::store::outbox::{Delivery, DeliveryState, Job, OutboxItem};
use std::time::SystemTime;

/// What one `Changed` item becomes.
#[derive(Debug, Default)]
pub struct FanOut {
    pub items: Vec<OutboxItem>,
    /// The message's email state to record (queued, or failed at once when
    /// it cannot be sent at all).
    pub email: Option<Delivery>,
    /// Why an email that the mailbox asks for cannot be queued.
    pub refused: Option<String>,
}

pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Deliveries for `event` on `message`.
pub fn fan_out(
    dir: &Directory,
    event: HookEvent,
    removed: bool,
    message: &MessageView,
    now: SystemTime,
) -> FanOut {
    let mut out = FanOut::default();
    let m = &message.meta;
    if event == HookEvent::Deposited
        && let Some(to) = dir.mailbox_any(&m.mailbox).and_then(|mb| mb.email.clone())
    {
        match &dir.notify.smtp {
            Some(_) => {
                out.items.push(OutboxItem::new(
                    Job::Email {
                        message_id: m.id.clone(),
                        mailbox: m.mailbox.clone(),
                        to: to.clone(),
                    },
                    now,
                ));
                out.email = Some(Delivery {
                    state: DeliveryState::Queued,
                    to,
                    attempts: 0,
                    last_error: None,
                    at: rfc3339(now),
                    next_at: None,
                });
            }
            None => {
                let why = "no [smtp] server is configured".to_string();
                out.email = Some(Delivery {
                    state: DeliveryState::Failed,
                    to,
                    attempts: 0,
                    last_error: Some(why.clone()),
                    at: rfc3339(now),
                    next_at: None,
                });
                out.refused = Some(why);
            }
        }
    }
    for w in &dir.notify.webhooks {
        if !w.wants(&m.mailbox, event) {
            continue;
        }
        let body = serde_json::json!({
            "event": event.name(),
            "removed": removed,
            "mailbox": m.mailbox,
            "message": message,
            "at": rfc3339(now),
        });
        out.items.push(OutboxItem::new(
            Job::Webhook {
                webhook: w.name.clone(),
                url: w.url.clone(),
                event,
                message_id: m.id.clone(),
                body: body.to_string(),
            },
            now,
        ));
    }
    out
}

/// The audio format an email attaches: the policy's, else as stored (raw
/// G.711 goes as WAV: no mail client plays it).
pub fn email_format(dir: &Directory, message: &MessageView) -> EmailFormat {
    match dir
        .policy_of(&message.meta.mailbox)
        .and_then(|p| p.email_format)
    {
        Some(f) => f,
        None => match message.meta.format {
            Format::Ogg => EmailFormat::Ogg,
            _ => EmailFormat::Wav,
        },
    }
}

/// The email of a stored message. `audio` is the file in [`email_format`], or
/// None when the policy sends a notice only.
pub fn voicemail(
    dir: &Directory,
    message: &MessageView,
    to: &str,
    audio: Option<Vec<u8>>,
) -> Voicemail {
    let m = &message.meta;
    let mb = dir.mailbox_any(&m.mailbox);
    let policy = dir.policy_of(&m.mailbox);
    let lang = mb.map_or_else(
        || crate::directory::lang::Lang::EnUs,
        |mb| dir.mailbox_language(mb),
    );
    let tz = dir.mailbox_time_zone(&m.mailbox);
    let received = m
        .received_at
        .parse::<jiff::Timestamp>()
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(tz);
    let cap = policy.map_or(10 * 1024 * 1024, |p| p.email_max_bytes);
    let format = email_format(dir, message);
    let (attachment, left_out) = match audio {
        Some(bytes) if bytes.len() as u64 > cap => (None, Some(bytes.len() as u64)),
        Some(bytes) => {
            let (content_type, ext) = format.mime();
            let stamp = received.strftime("%Y-%m-%d %H%M").to_string();
            let who = super::email::caller_label(m.caller_name.as_deref(), &m.caller_id)
                .unwrap_or("anonymous");
            (
                Some(Attachment {
                    content_type,
                    filename: format!("{stamp} {who}.{ext}"),
                    bytes,
                }),
                None,
            )
        }
        None => (None, None),
    };
    let smtp_from = dir
        .notify
        .smtp
        .as_ref()
        .map_or_else(String::new, |s| s.from.clone());
    Voicemail {
        from: smtp_from,
        to: to.to_string(),
        mailbox: m.mailbox.clone(),
        mailbox_name: mb.map_or_else(|| m.mailbox.clone(), |mb| mb.display_name.clone()),
        caller_number: m.caller_id.clone(),
        caller_name: m.caller_name.clone(),
        received,
        lang,
        duration_ms: m.duration_ms,
        message_id: m.id.clone(),
        audio: attachment,
        left_out,
        transcript: None,
        domain: String::new(),
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
