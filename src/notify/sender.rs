//! The outbox sender: a thread of its own (never a media worker, never the
//! store actor's) that works through the store's outbox ([`crate::store::outbox`]):
//! a message change becomes the deliveries the model asks for; an email goes
//! out through SMTP (lettre's blocking transport: one connection per message,
//! rustls for STARTTLS and implicit TLS); a webhook is a JSON POST signed with
//! HMAC-SHA256 (ring). A failed delivery is tried again after the model's
//! backoff (`[outbox]`: 1 min doubling to 1 h, given up after 24 h by default)
//! and every attempt is one event (`email_attempt`, `webhook_attempt`), so an
//! email that never arrived is never silent.
//!
//! A shell: reads the clock, the network and secret files; what is sent is
//! decided by [`super::plan`].

use super::plan;
use crate::directory::Directory;
use crate::directory::notify::{SmtpConfig, SmtpSecurity};
use crate::directory::{EmailAfter, EmailFormat};
use crate::store::audio::Format;
use crate::store::outbox::{Delivery, DeliveryState, Job, OutboxItem, OutboxStep};
use crate::store::{MailboxStore, MessageStatus, MessageView, StoreError};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, SystemTime};

/// What the sender is told.
pub enum Signal {
    /// Something may have been queued: look now.
    Kick,
    /// The model changed (addresses, SMTP server, webhooks).
    Model(Arc<Directory>),
    /// Finish the item in hand and stop.
    Stop,
}

/// How long a delivery may take before it counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest sleep between looks at the outbox (a retry comes due).
const IDLE: Duration = Duration::from_secs(1);

pub struct OutboxSender {
    store: Arc<dyn MailboxStore>,
    dir: Arc<Directory>,
    /// Our name in EHLO and in Message-IDs.
    fqdn: String,
}

/// Start the sender thread; the returned channel kicks, updates and stops it.
pub fn spawn(
    store: Arc<dyn MailboxStore>,
    dir: Arc<Directory>,
    fqdn: String,
) -> std::io::Result<(Sender<Signal>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut s = OutboxSender { store, dir, fqdn };
    let handle = std::thread::Builder::new()
        .name("openum-outbox".into())
        .spawn(move || s.run(rx))?;
    Ok((tx, handle))
}

/// What one attempt came to.
enum Outcome {
    Done,
    /// Try again later, unless it is too old or the failure is final.
    Failed {
        error: String,
        permanent: bool,
    },
}

impl OutboxSender {
    fn run(&mut self, rx: Receiver<Signal>) {
        loop {
            match rx.recv_timeout(IDLE) {
                Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(Signal::Model(d)) => self.dir = d,
                Ok(Signal::Kick) | Err(RecvTimeoutError::Timeout) => {}
            }
            // Take every signal waiting, so a burst of deposits is one round.
            loop {
                match rx.try_recv() {
                    Ok(Signal::Stop) => return,
                    Ok(Signal::Model(d)) => self.dir = d,
                    Ok(Signal::Kick) => {}
                    Err(_) => break,
                }
            }
            if let Err(e) = self.round(SystemTime::now()) {
                tracing::warn!(event = "outbox_store_error", error = %e, "the outbox could not be read or written; trying again");
            }
        }
    }

    /// Handle every item due at `now`.
    pub fn round(&mut self, now: SystemTime) -> Result<(), StoreError> {
        let items = self.store.outbox()?;
        metrics::gauge!("openum_outbox_depth").set(items.len() as f64);
        for item in items {
            if item.due(now) {
                self.handle(item, SystemTime::now())?;
            }
        }
        Ok(())
    }

    fn handle(&mut self, item: OutboxItem, now: SystemTime) -> Result<(), StoreError> {
        match &item.job {
            Job::Changed {
                event,
                removed,
                message,
            } => {
                let f = plan::fan_out(&self.dir, *event, *removed, message, now);
                if let Some(why) = &f.refused {
                    tracing::warn!(event = "email_not_sent", message_id = %message.meta.id, mailbox = %message.meta.mailbox, reason = %why);
                }
                for i in &f.items {
                    if let Job::Email { message_id, to, .. } = &i.job {
                        tracing::info!(event = "email_queued", message_id = %message_id, to = %to);
                    }
                }
                let email = f.email.map(|d| (message.meta.id.clone(), d));
                self.store.outbox_step(OutboxStep {
                    done: item.id.clone(),
                    retry: None,
                    add: f.items,
                    email,
                })
            }
            Job::Email {
                message_id,
                mailbox,
                to,
            } => {
                let (message_id, mailbox, to) = (message_id.clone(), mailbox.clone(), to.clone());
                self.email(item, &message_id, &mailbox, &to, now)
            }
            Job::Webhook {
                webhook,
                url,
                event,
                message_id,
                body,
            } => {
                let attempt = item.attempts + 1;
                let outcome = self.post(webhook, url, event.name(), &item.id, body);
                let (webhook, url, message_id) = (webhook.clone(), url.clone(), message_id.clone());
                let step = self.settle(item, outcome, now, |result, error, next| {
                    metrics::counter!("openum_webhooks_total", "result" => result).increment(1);
                    match result {
                        "failed" => tracing::warn!(event = "webhook_attempt", webhook = %webhook, url = %url, message_id = %message_id, attempt, result, error = %error.unwrap_or_default()),
                        _ => tracing::info!(event = "webhook_attempt", webhook = %webhook, url = %url, message_id = %message_id, attempt, result, error = %error.unwrap_or_default(), next_in_secs = next.map_or(0, |d| d.as_secs())),
                    }
                });
                self.store.outbox_step(step.0)
            }
        }
    }

    /// The step that records an attempt's outcome (the item removed, or put back
    /// with its next time), calling `say(result, error, next wait)` once.
    fn settle(
        &self,
        item: OutboxItem,
        outcome: Outcome,
        now: SystemTime,
        say: impl FnOnce(&'static str, Option<String>, Option<Duration>),
    ) -> (OutboxStep, DeliveryState, Option<SystemTime>) {
        let attempts = item.attempts + 1;
        match outcome {
            Outcome::Done => {
                say("sent", None, None);
                (
                    OutboxStep {
                        done: item.id,
                        ..OutboxStep::default()
                    },
                    DeliveryState::Sent,
                    None,
                )
            }
            Outcome::Failed { error, permanent } => {
                let retry = &self.dir.notify.retry;
                let wait = retry.backoff(attempts);
                let too_old = item.age(now) + wait > retry.give_up_after;
                if permanent || too_old {
                    say("failed", Some(error), None);
                    return (
                        OutboxStep {
                            done: item.id,
                            ..OutboxStep::default()
                        },
                        DeliveryState::Failed,
                        None,
                    );
                }
                say("retry", Some(error.clone()), Some(wait));
                let next = now + wait;
                let again = OutboxItem {
                    attempts,
                    next_at: Some(plan::rfc3339(next)),
                    last_error: Some(error),
                    ..item.clone()
                };
                (
                    OutboxStep {
                        done: item.id,
                        retry: Some(again),
                        ..OutboxStep::default()
                    },
                    DeliveryState::Queued,
                    Some(next),
                )
            }
        }
    }

    fn email(
        &mut self,
        item: OutboxItem,
        message_id: &str,
        mailbox: &str,
        to: &str,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let message: MessageView = match self.store.get(message_id) {
            Ok(m) => m.into(),
            Err(StoreError::NotFound(_)) => {
                metrics::counter!("openum_emails_total", "result" => "dropped").increment(1);
                tracing::warn!(event = "email_dropped", message_id = %message_id, mailbox = %mailbox, to = %to, reason = "the message was removed before it could be sent");
                return self.store.outbox_step(OutboxStep {
                    done: item.id,
                    ..OutboxStep::default()
                });
            }
            Err(e) => return Err(e),
        };
        let attempt = item.attempts + 1;
        let outcome = self.send_email(&message, to);
        let last_error = match &outcome {
            Outcome::Failed { error, .. } => Some(error.clone()),
            Outcome::Done => None,
        };
        let (mut step, state, next) = self.settle(item, outcome, now, |result, error, next| {
            metrics::counter!("openum_emails_total", "result" => result).increment(1);
            let error = error.unwrap_or_default();
            match result {
                "failed" => tracing::warn!(event = "email_attempt", message_id = %message_id, mailbox = %mailbox, to = %to, attempt, result, error = %error),
                "retry" => tracing::warn!(event = "email_attempt", message_id = %message_id, mailbox = %mailbox, to = %to, attempt, result, error = %error, next_in_secs = next.map_or(0, |d| d.as_secs())),
                _ => tracing::info!(event = "email_attempt", message_id = %message_id, mailbox = %mailbox, to = %to, attempt, result),
            }
        });
        step.email = Some((
            message_id.to_string(),
            Delivery {
                state,
                to: to.to_string(),
                attempts: attempt,
                last_error,
                at: plan::rfc3339(now),
                next_at: next.map(plan::rfc3339),
            },
        ));
        self.store.outbox_step(step)?;
        if state == DeliveryState::Sent {
            self.after_sent(&message);
        }
        Ok(())
    }

    /// The policy's `email_after`: keep, mark saved, or delete (MWI follows
    /// through the store's change feed, as for a change by phone).
    fn after_sent(&self, message: &MessageView) {
        let m = &message.meta;
        let after = self
            .dir
            .policy_of(&m.mailbox)
            .map_or(EmailAfter::Keep, |p| p.email_after);
        let (status, name) = match after {
            EmailAfter::Keep => return,
            EmailAfter::MarkSaved => (MessageStatus::Saved, "mark_saved"),
            EmailAfter::Delete => (MessageStatus::Deleted, "delete"),
        };
        match self.store.set_status(&m.id, status, SystemTime::now()) {
            Ok(_) => {
                tracing::info!(event = "email_after_applied", message_id = %m.id, mailbox = %m.mailbox, action = name)
            }
            Err(e) => {
                tracing::warn!(event = "email_after_failed", message_id = %m.id, mailbox = %m.mailbox, action = name, error = %e)
            }
        }
    }

    fn send_email(&self, message: &MessageView, to: &str) -> Outcome {
        let failed = |error: String, permanent: bool| Outcome::Failed { error, permanent };
        let Some(smtp) = self.dir.notify.smtp.clone() else {
            return failed("no [smtp] server is configured".into(), false);
        };
        let attach = self
            .dir
            .policy_of(&message.meta.mailbox)
            .is_none_or(|p| p.email_attach);
        let audio = match attach {
            true => match export(
                self.store.as_ref(),
                &message.meta.id,
                plan::email_format(&self.dir, message),
            ) {
                Ok(a) => Some(a),
                Err(e) => return failed(format!("the audio could not be read: {e}"), false),
            },
            false => None,
        };
        let mut v = plan::voicemail(&self.dir, message, to, audio);
        v.domain = self.fqdn.clone();
        let bytes = super::email::compose(&v, rand::random());
        match deliver(&smtp, &self.fqdn, to, &bytes) {
            Ok(()) => Outcome::Done,
            Err((error, permanent)) => failed(error, permanent),
        }
    }

    fn post(&self, name: &str, url: &str, event: &str, delivery: &str, body: &str) -> Outcome {
        let Some(w) = self.dir.notify.webhooks.iter().find(|w| w.name == name) else {
            return Outcome::Failed {
                error: format!("webhook {name:?} is no longer in the model"),
                permanent: true,
            };
        };
        let secret = match std::fs::read(&w.secret_file) {
            Ok(s) => s,
            Err(e) => {
                return Outcome::Failed {
                    error: format!("secret_file {}: {e}", w.secret_file.display()),
                    permanent: false,
                };
            }
        };
        let signature = sign(trim_secret(&secret), body.as_bytes());
        let agent = ureq::AgentBuilder::new().timeout(WEBHOOK_TIMEOUT).build();
        let r = agent
            .post(url)
            .set("Content-Type", "application/json")
            .set("User-Agent", concat!("openum/", env!("CARGO_PKG_VERSION")))
            .set("X-Openum-Event", event)
            .set("X-Openum-Delivery", delivery)
            .set("X-Openum-Signature", &format!("sha256={signature}"))
            .send_string(body);
        match r {
            Ok(_) => Outcome::Done,
            Err(ureq::Error::Status(code, _)) => Outcome::Failed {
                error: format!("HTTP {code}"),
                // A refusal by the receiver (other than rate limits and timeouts)
                // will not change by asking again.
                permanent: (400..500).contains(&code) && code != 408 && code != 429,
            },
            Err(e) => Outcome::Failed {
                error: e.to_string(),
                permanent: false,
            },
        }
    }
}

/// A message's audio as the email attaches it.
fn export(store: &dyn MailboxStore, id: &str, f: EmailFormat) -> Result<Vec<u8>, StoreError> {
    match f {
        EmailFormat::Ogg => store.export(id, Format::Ogg),
        EmailFormat::Wav => store.export(id, Format::Wav),
        EmailFormat::Mp3 => {
            let (_, sound) = store.pcm(id)?;
            crate::store::audio::encode_mp3(&sound).map_err(StoreError::Io)
        }
    }
}

/// A secret file's key: its bytes without the line end editors add.
pub fn trim_secret(s: &[u8]) -> &[u8] {
    let mut s = s;
    while let [rest @ .., b'\n' | b'\r'] = s {
        s = rest;
    }
    s
}

/// Lower-case hex HMAC-SHA256 of `body` under `key` (`X-Openum-Signature`).
pub fn sign(key: &[u8], body: &[u8]) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&k, body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Send one message through the SMTP server. Err: the reason, and whether it
/// is final (a 5xx answer).
fn deliver(smtp: &SmtpConfig, fqdn: &str, to: &str, bytes: &[u8]) -> Result<(), (String, bool)> {
    use lettre::Transport;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::transport::smtp::extension::ClientId;
    let transient = |e: String| (e, false);
    let from: lettre::Address = smtp
        .from_address
        .parse()
        .map_err(|e| (format!("from {:?}: {e}", smtp.from_address), true))?;
    let rcpt: lettre::Address = to.parse().map_err(|e| (format!("to {to:?}: {e}"), true))?;
    let envelope = lettre::address::Envelope::new(Some(from), vec![rcpt])
        .map_err(|e| (e.to_string(), true))?;
    let tls = match smtp.security {
        SmtpSecurity::None => None,
        s => {
            let mut b = TlsParameters::builder(smtp.host.clone());
            if let Some(ca) = &smtp.ca_file {
                let pem = std::fs::read(ca)
                    .map_err(|e| transient(format!("ca_file {}: {e}", ca.display())))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| transient(format!("ca_file {}: {e}", ca.display())))?;
                b = b.add_root_certificate(cert);
            }
            let p = b.build().map_err(|e| transient(e.to_string()))?;
            Some(match s {
                SmtpSecurity::Tls => Tls::Wrapper(p),
                _ => Tls::Required(p),
            })
        }
    };
    let mut t = lettre::SmtpTransport::builder_dangerous(smtp.host.clone())
        .port(smtp.port)
        .timeout(Some(SMTP_TIMEOUT))
        .hello_name(ClientId::Domain(fqdn.to_string()));
    if let Some(tls) = tls {
        t = t.tls(tls);
    }
    if let (Some(user), Some(file)) = (&smtp.username, &smtp.password_file) {
        let pw = std::fs::read(file)
            .map_err(|e| transient(format!("password_file {}: {e}", file.display())))?;
        let pw = String::from_utf8_lossy(trim_secret(&pw)).to_string();
        t = t.credentials(lettre::transport::smtp::authentication::Credentials::new(
            user.clone(),
            pw,
        ));
    }
    t.build()
        .send_raw(&envelope, bytes)
        .map(|_| ())
        .map_err(|e| {
            // lettre's Display of a refused connection is terse: keep its source.
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                src = s.source();
            }
            (msg, e.is_permanent())
        })
}
