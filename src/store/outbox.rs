//! The outbox: what is owed to the world after a message changed (voicemail to
//! email, webhooks), kept in the store so that it survives a crash and never
//! delays a deposit.
//!
//! Every message change (a deposit or forward, a status change, a deletion or
//! removal) writes one [`Job::Changed`] item *in the change's own atomic
//! batch*: a change that is durable always has its item, and a change that is
//! not has none. The sender (`notify::sender`, a shell) turns that item into the
//! deliveries the model asks for ([`Job::Email`], [`Job::Webhook`]) with
//! [`MailboxStore::outbox_step`], which also records a message's email delivery
//! state ([`Delivery`], shown with the message), and retries failed ones.
//!
//! Depends on `directory` types only.

use super::MessageView;
use crate::directory::notify::HookEvent;
use serde::{Deserialize, Serialize};

/// One thing owed, with its delivery history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Assigned by the store (16 hex digits in arrival order); empty when new.
    #[serde(default)]
    pub id: String,
    /// When it was queued (RFC 3339 UTC): the give-up clock starts here.
    pub created_at: String,
    #[serde(default)]
    pub attempts: u32,
    /// Not before (RFC 3339 UTC); none: at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub job: Job,
}

impl OutboxItem {
    pub fn new(job: Job, now: std::time::SystemTime) -> OutboxItem {
        OutboxItem {
            id: String::new(),
            created_at: humantime::format_rfc3339_millis(now).to_string(),
            attempts: 0,
            next_at: None,
            last_error: None,
            job,
        }
    }

    /// Due at `now` (an unreadable time counts as due: never stuck).
    pub fn due(&self, now: std::time::SystemTime) -> bool {
        match self.next_at.as_deref().map(humantime::parse_rfc3339) {
            Some(Ok(t)) => t <= now,
            _ => true,
        }
    }

    /// How long it has been queued at `now`.
    pub fn age(&self, now: std::time::SystemTime) -> std::time::Duration {
        humantime::parse_rfc3339(&self.created_at)
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// A message changed; the sender decides who hears of it. `message` is the
    /// message as it was right after the change.
    Changed {
        event: HookEvent,
        /// Removed for good (not only moved to deleted items).
        #[serde(default)]
        removed: bool,
        message: Box<MessageView>,
    },
    /// Email message `message_id` of `mailbox` to `to`.
    Email {
        message_id: String,
        mailbox: String,
        to: String,
    },
    /// POST `body` to webhook `webhook` at `url`.
    Webhook {
        webhook: String,
        url: String,
        event: HookEvent,
        message_id: String,
        body: String,
    },
}

impl Job {
    pub fn kind(&self) -> &'static str {
        match self {
            Job::Changed { .. } => "changed",
            Job::Email { .. } => "email",
            Job::Webhook { .. } => "webhook",
        }
    }
}

/// Where a message's email stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Queued,
    Sent,
    Failed,
}

impl DeliveryState {
    pub fn name(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
        }
    }
}

/// A message's email delivery, as `message get` and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    pub state: DeliveryState,
    pub to: String,
    #[serde(default)]
    pub attempts: u32,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the state was last set (RFC 3339 UTC).
    pub at: String,
    /// The next attempt, while queued after a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_at: Option<String>,
}

/// One step of the sender, applied by the store in one atomic batch.
#[derive(Debug, Clone, Default)]
pub struct OutboxStep {
    /// The item handled: removed, or replaced by `retry` (same id).
    pub done: String,
    pub retry: Option<OutboxItem>,
    /// New items (their ids are assigned).
    pub add: Vec<OutboxItem>,
    /// A message's email delivery state (ignored if the message is gone).
    pub email: Option<(String, Delivery)>,
}
