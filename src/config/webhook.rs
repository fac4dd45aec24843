//! `[[webhook]]` and `[outbox]`: who hears of message changes, and how failed
//! deliveries (email and webhooks) are tried again.
//!
//! ```toml
//! [[webhook]]
//! name = "crm"
//! url = "https://crm.example.com/openum"
//! secret_file = "/etc/openum/crm.secret"   # HMAC-SHA256 key; never in the model
//! mailboxes = ["1001"]                     # omitted or empty: every mailbox
//! events = ["deposited", "status_changed", "deleted"]   # the default: all
//!
//! [outbox]
//! retry_first_secs = 60      # then doubling ...
//! retry_max_secs = 3600      # ... up to this
//! give_up_hours = 24
//! ```

use super::{ConfigError, invalid};
use crate::directory::notify::{HookEvent, RetryPolicy, Webhook};
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    name: String,
    url: String,
    secret_file: std::path::PathBuf,
    #[serde(default)]
    mailboxes: Vec<String>,
    events: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutbox {
    retry_first_secs: Option<u64>,
    retry_max_secs: Option<u64>,
    give_up_hours: Option<u64>,
}

pub(super) fn build_webhook(r: RawWebhook) -> Result<Webhook, ConfigError> {
    let k = "webhook";
    let rest = r
        .url
        .strip_prefix("https://")
        .or_else(|| r.url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?']).next().unwrap_or(""));
    if host.is_none_or(|h| h.is_empty() || h.contains(char::is_whitespace)) {
        return Err(invalid(
            k,
            &r.name,
            "url",
            format!("{:?}: an http:// or https:// URL", r.url),
        ));
    }
    let events = match r.events {
        None => HookEvent::ALL.to_vec(),
        Some(list) => {
            let mut out = Vec::new();
            for e in &list {
                match HookEvent::parse(e) {
                    Some(ev) => out.push(ev),
                    None => {
                        return Err(invalid(
                            k,
                            &r.name,
                            "events",
                            format!("{e:?}: use \"deposited\", \"status_changed\" or \"deleted\""),
                        ));
                    }
                }
            }
            if out.is_empty() {
                return Err(invalid(k, &r.name, "events", "names no event"));
            }
            out
        }
    };
    Ok(Webhook {
        name: r.name,
        url: r.url,
        secret_file: r.secret_file,
        mailboxes: r.mailboxes,
        events,
    })
}

pub(super) fn build_outbox(r: Option<RawOutbox>) -> Result<RetryPolicy, ConfigError> {
    let d = RetryPolicy::default();
    let Some(r) = r else { return Ok(d) };
    let first = r
        .retry_first_secs
        .map_or(d.retry_first, Duration::from_secs);
    let max = r.retry_max_secs.map_or(d.retry_max, Duration::from_secs);
    let give_up = r
        .give_up_hours
        .map_or(d.give_up_after, |h| Duration::from_secs(h * 3600));
    if first.is_zero() {
        return Err(invalid(
            "outbox",
            "outbox",
            "retry_first_secs",
            "must be at least 1",
        ));
    }
    if max < first {
        return Err(invalid(
            "outbox",
            "outbox",
            "retry_max_secs",
            "must be at least retry_first_secs",
        ));
    }
    if give_up.is_zero() {
        return Err(invalid(
            "outbox",
            "outbox",
            "give_up_hours",
            "must be at least 1",
        ));
    }
    Ok(RetryPolicy {
        retry_first: first,
        retry_max: max,
        give_up_after: give_up,
    })
}
