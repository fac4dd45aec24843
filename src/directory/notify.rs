//! Where notifications leave openum: the SMTP server that voicemail to email
//! goes through, the webhooks that hear of message changes, and how often a
//! failed delivery is tried again. Part of the model (the `[smtp]`,
//! `[[webhook]]` and `[outbox]` sections), validated by `config`; read by the
//! outbox sender (`notify::sender`). Pure data.

use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

impl SmtpSecurity {
    pub fn name(self) -> &'static str {
        match self {
            SmtpSecurity::Starttls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::None => "none",
        }
    }
}

/// The SMTP server (never the password: `password_file` names where it is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    /// The From: header and envelope sender (`Name <addr>` or `addr`).
    pub from: String,
    /// The address part of `from`.
    pub from_address: String,
    /// Trust anchors (PEM) for the server's certificate beyond the system's.
    pub ca_file: Option<PathBuf>,
}

/// What a webhook hears of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookEvent {
    /// A message was left (or forwarded) in the mailbox.
    Deposited,
    /// A message became new or saved again.
    StatusChanged,
    /// A message was deleted (kept in deleted items) or removed for good.
    Deleted,
}

impl HookEvent {
    pub const ALL: [HookEvent; 3] = [
        HookEvent::Deposited,
        HookEvent::StatusChanged,
        HookEvent::Deleted,
    ];
    pub fn name(self) -> &'static str {
        match self {
            HookEvent::Deposited => "deposited",
            HookEvent::StatusChanged => "status_changed",
            HookEvent::Deleted => "deleted",
        }
    }
    pub fn parse(s: &str) -> Option<HookEvent> {
        HookEvent::ALL.into_iter().find(|e| e.name() == s)
    }
}

/// A JSON POST on message changes, signed with HMAC-SHA256 of the body under
/// the secret in `secret_file` (header `X-Openum-Signature: sha256=<hex>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    pub name: String,
    pub url: String,
    pub secret_file: PathBuf,
    /// The mailboxes it hears of; empty: all (a global webhook).
    pub mailboxes: Vec<String>,
    pub events: Vec<HookEvent>,
}

impl Webhook {
    pub fn wants(&self, mailbox: &str, ev: HookEvent) -> bool {
        self.events.contains(&ev)
            && (self.mailboxes.is_empty() || self.mailboxes.iter().any(|m| m == mailbox))
    }
}

/// How a failed delivery is tried again: after `retry_first`, doubling up to
/// `retry_max`, until `give_up_after` since it was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetryPolicy {
    #[serde(with = "super::secs")]
    pub retry_first: Duration,
    #[serde(with = "super::secs")]
    pub retry_max: Duration,
    #[serde(with = "super::secs")]
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retry_first: Duration::from_secs(60),
            retry_max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts + 1`, after `attempts` failed ones.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let mut d = self.retry_first;
        for _ in 1..attempts.min(32) {
            d = d.saturating_mul(2);
            if d >= self.retry_max {
                return self.retry_max;
            }
        }
        d.min(self.retry_max)
    }
}

/// The model's notification settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NotifySettings {
    pub smtp: Option<SmtpConfig>,
    pub webhooks: Vec<Webhook>,
    pub retry: RetryPolicy,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_wait_up_to_the_cap() {
        let r = RetryPolicy::default();
        let mins: Vec<u64> = (1..=8).map(|a| r.backoff(a).as_secs() / 60).collect();
        assert_eq!(mins, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(r.backoff(1000), Duration::from_secs(3600));
    }

    #[test]
    fn a_webhook_without_mailboxes_is_global() {
        let mut w = Webhook {
            name: "crm".into(),
            url: "http://127.0.0.1:9/h".into(),
            secret_file: "/s".into(),
            mailboxes: vec![],
            events: vec![HookEvent::Deposited],
        };
        assert!(w.wants("1001", HookEvent::Deposited));
        assert!(!w.wants("1001", HookEvent::Deleted));
        w.mailboxes = vec!["1002".into()];
        assert!(!w.wants("1001", HookEvent::Deposited));
        assert!(w.wants("1002", HookEvent::Deposited));
    }
}
