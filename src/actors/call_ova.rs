//! The call actor's side of subscriber access: it carries out the store requests
//! of [`crate::ivr::ova::Ova`] on the store thread (logon with the PIN policy, the
//! mailbox view, message audio, marking, greetings, PIN change, forwarding) and
//! hands each answer back to the core. Store failures are logged and answered as
//! failures, so the caller hears an apology rather than silence.

use super::call::CallActor;
use super::store::Run;
use crate::directory::{Directory, pin};
use crate::ivr::ova::{Audio, LogonOutcome, MailboxView, MessageView, OvaAction, Sender};
use crate::store::pins::{self, Logon, NewPin};
use crate::store::{GreetingKind, MailboxSettings, MailboxStore, MessageStatus};
use actix::prelude::*;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// A store job's result, back on the call actor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StoreDone(pub Box<dyn FnOnce(&mut CallActor) + Send>);

impl Handler<StoreDone> for CallActor {
    type Result = ();
    fn handle(&mut self, m: StoreDone, ctx: &mut Context<Self>) {
        (m.0)(self);
        self.drive(ctx);
    }
}

/// What the subscriber hears at logon: messages not deleted, new first, each
/// group oldest first, with each sender resolved against the directory.
pub fn mailbox_view(
    store: &dyn MailboxStore,
    dir: &Directory,
    dial_plan: &str,
    extension: &str,
) -> Result<MailboxView, String> {
    let list = store.list(extension).map_err(|e| e.to_string())?;
    let mut messages: Vec<MessageView> = Vec::with_capacity(list.len());
    for m in list {
        let status = m.status();
        if status == MessageStatus::Deleted {
            continue;
        }
        let caller = crate::directory::Party {
            user: m.caller_id.clone(),
            host: String::new(),
        };
        let known = (!m.caller_id.is_empty())
            .then(|| dir.mailbox_for_party(dial_plan, &caller))
            .flatten()
            .map(str::to_string);
        let sender = match known {
            Some(ext) => {
                let name = store
                    .recording(&ext, GreetingKind::Name)
                    .ok()
                    .flatten()
                    .map(|(l, a)| (l, Arc::<[u8]>::from(a)));
                Sender::Mailbox {
                    extension: ext,
                    name,
                }
            }
            None if m.caller_id.chars().any(|c| c.is_ascii_digit()) => {
                Sender::Number(m.caller_id.clone())
            }
            None => Sender::Unknown,
        };
        let received = m
            .received_at
            .parse::<jiff::Timestamp>()
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        messages.push(MessageView {
            id: m.id,
            status,
            sender,
            received,
        });
    }
    // Stable: within each group the store's (arrival) order stays.
    messages.sort_by_key(|m| m.status != MessageStatus::New);
    let away = store.settings(extension).map_err(|e| e.to_string())?.away;
    let lang = dir
        .mailbox(dial_plan, extension)
        .and_then(|m| m.language.as_deref())
        .and_then(crate::ivr::speech::Lang::parse);
    Ok(MailboxView {
        messages,
        away,
        lang,
    })
}

impl CallActor {
    /// Run `job` on the store thread, then give its result to `then` on this
    /// actor. The job is sent without a reply channel: actix skips a request
    /// whose requester has gone, and a subscriber who presses 7 and hangs up at
    /// once must still have the message deleted. The result comes back as a
    /// message; if the call has ended by then, only the logging is lost.
    fn store_job<R: Send + 'static>(
        &mut self,
        ctx: &mut Context<Self>,
        job: impl FnOnce(&dyn MailboxStore) -> R + Send + 'static,
        then: impl FnOnce(&mut CallActor, Option<R>) + Send + 'static,
    ) {
        let me = ctx.address();
        self.store
            .do_send(Run(Box::new(move |st: &dyn MailboxStore| {
                let r = job(st);
                me.do_send(StoreDone(Box::new(move |act: &mut CallActor| {
                    then(act, Some(r))
                })));
            })));
    }

    pub(super) fn on_ova_store(&mut self, action: OvaAction, ctx: &mut Context<Self>) {
        let Some((dir, dial_plan)) = self.info.ova.clone() else {
            return;
        };
        let Some(mailbox) = self.core.ova_mailbox() else {
            return;
        };
        let call_id = self.info.call_id.clone();
        match action {
            OvaAction::Logon { extension, pin } => {
                let (ext, cid) = (extension.clone(), call_id.clone());
                self.store_job(
                    ctx,
                    move |st| logon(st, &dir, &dial_plan, &extension, &pin, &cid),
                    move |act, outcome| {
                        let outcome = outcome.unwrap_or(LogonOutcome::Failed);
                        if let LogonOutcome::Ok { must_change, view } = &outcome {
                            metrics::counter!("openum_logons_total", "result" => "ok").increment(1);
                            tracing::info!(event = "ova_logon", call_id = %act.info.call_id, mailbox = %ext, messages = view.messages.len(), must_change);
                        }
                        act.core
                            .ova(Instant::now(), |o, now| o.handle_logon(now, outcome));
                    },
                );
            }
            OvaAction::FetchAudio { id } => {
                let key = id.clone();
                self.store_job(
                    ctx,
                    move |st| -> Option<Audio> {
                        // Whatever the stored format and rate, played as 8 kHz
                        // µ-law (the call converts to its codec); resampling a
                        // wideband message runs here, on the store thread.
                        let (_, sound) = st.pcm(&id).ok()?;
                        let mu: Vec<u8> = sound
                            .at_rate(crate::store::audio::RATE)
                            .samples
                            .iter()
                            .map(|&s| crate::media::g711::Law::Mu.encode(s))
                            .collect();
                        Some((crate::media::g711::Law::Mu, mu.into()))
                    },
                    move |act, audio| {
                        let audio = audio.flatten();
                        if audio.is_none() {
                            tracing::error!(event = "ova_store_failed", call_id = %act.info.call_id, message_id = %key, error = "message audio unreadable");
                        }
                        act.core
                            .ova(Instant::now(), |o, now| o.handle_audio(now, &key, audio));
                    },
                );
            }
            OvaAction::SetStatus { id, status } => {
                self.store_job(
                    ctx,
                    move |st| st.set_status(&id, status, SystemTime::now()).map_err(|e| (id, e.to_string())),
                    move |act, res| match res {
                        Some(Ok(m)) => tracing::info!(event = "ova_message_status", call_id = %act.info.call_id, mailbox = %m.mailbox, message_id = %m.id, status = %status.name()),
                        Some(Err((id, e))) => tracing::error!(event = "ova_store_failed", call_id = %act.info.call_id, message_id = %id, error = %e),
                        None => {}
                    },
                );
            }
            OvaAction::SaveRecording { kind, audio } => {
                let mb = mailbox.clone();
                self.store_job(
                    ctx,
                    move |st| st.set_recording(&mb, kind, Some((audio.0, &audio.1))).map_err(|e| e.to_string()),
                    move |act, res| {
                        let ok = matches!(res, Some(Ok(())));
                        match res {
                            Some(Ok(())) => tracing::info!(event = "ova_recording_saved", call_id = %act.info.call_id, mailbox = %mailbox, kind = %kind.name()),
                            Some(Err(e)) => tracing::error!(event = "ova_store_failed", call_id = %act.info.call_id, mailbox = %mailbox, error = %e),
                            None => {}
                        }
                        act.core.ova(Instant::now(), |o, now| o.handle_saved(now, ok));
                    },
                );
            }
            OvaAction::SetAway(away) => {
                let mb = mailbox.clone();
                self.store_job(
                    ctx,
                    move |st| {
                        let mut s: MailboxSettings = st.settings(&mb).unwrap_or_default();
                        s.away = away;
                        st.set_settings(&mb, &s).map_err(|e| e.to_string())
                    },
                    move |act, res| match res {
                        Some(Ok(())) => tracing::info!(event = "ova_away", call_id = %act.info.call_id, mailbox = %mailbox, away),
                        Some(Err(e)) => tracing::error!(event = "ova_store_failed", call_id = %act.info.call_id, mailbox = %mailbox, error = %e),
                        None => {}
                    },
                );
            }
            OvaAction::ChangePin { pin: new } => {
                let mb = mailbox.clone();
                self.store_job(
                    ctx,
                    move |st| change_pin(st, &dir, &mb, new),
                    move |act, res| {
                        let res = match res {
                            Some(Ok(())) => {
                                tracing::info!(event = "ova_pin_changed", call_id = %act.info.call_id, mailbox = %mailbox);
                                Ok(())
                            }
                            Some(Err(Ok(r))) => {
                                tracing::info!(event = "ova_pin_refused", call_id = %act.info.call_id, mailbox = %mailbox, rule = %r);
                                Err(r)
                            }
                            Some(Err(Err(e))) => {
                                tracing::error!(event = "ova_store_failed", call_id = %act.info.call_id, mailbox = %mailbox, error = %e);
                                // Said as "too short": nothing better to say by phone.
                                Err(pin::PinRefusal::NotDigits)
                            }
                            None => Err(pin::PinRefusal::NotDigits),
                        };
                        act.core
                            .ova(Instant::now(), |o, now| o.handle_pin_changed(now, res));
                    },
                );
            }
            OvaAction::Forward { id, to, intro } => {
                let from = mailbox.clone();
                let to2 = to.clone();
                self.store_job(
                    ctx,
                    move |st| {
                        st.forward(&id, &to, &from, intro.as_ref().map(|(l, a)| (*l, &a[..])))
                            .map_err(|e| e.to_string())
                    },
                    move |act, res| {
                        let ok = matches!(res, Some(Ok(_)));
                        match res {
                            Some(Ok(m)) => tracing::info!(event = "ova_forwarded", call_id = %act.info.call_id, mailbox = %mailbox, to = %to2, message_id = %m.id),
                            Some(Err(e)) => tracing::error!(event = "ova_store_failed", call_id = %act.info.call_id, mailbox = %mailbox, error = %e),
                            None => {}
                        }
                        act.core.ova(Instant::now(), |o, now| o.handle_forwarded(now, ok));
                    },
                );
            }
            // Played, recorded or signalled by the core itself.
            OvaAction::Play(_)
            | OvaAction::StopPlayback
            | OvaAction::StartRecording { .. }
            | OvaAction::StopRecording
            | OvaAction::Callback { .. }
            | OvaAction::SetLanguage(_)
            | OvaAction::Hangup => {}
        }
    }
}

/// Check a PIN typed at logon and, when it is right, read the mailbox.
fn logon(
    st: &dyn MailboxStore,
    dir: &Directory,
    dial_plan: &str,
    extension: &str,
    typed: &str,
    cid: &str,
) -> LogonOutcome {
    match pins::logon(st, dir, extension, typed, SystemTime::now()) {
        Ok(Logon::Ok { must_change }) => match mailbox_view(st, dir, dial_plan, extension) {
            Ok(view) => LogonOutcome::Ok { must_change, view },
            Err(e) => {
                tracing::error!(event = "ova_store_failed", call_id = %cid, mailbox = %extension, error = %e);
                LogonOutcome::Failed
            }
        },
        Ok(Logon::Wrong { failures, locked }) => {
            metrics::counter!("openum_logons_total", "result" => "failed").increment(1);
            tracing::warn!(event = "ova_logon_failed", call_id = %cid, mailbox = %extension, failures, locked);
            if locked {
                tracing::warn!(event = "mailbox_locked", call_id = %cid, mailbox = %extension, failures);
            }
            LogonOutcome::Wrong { locked }
        }
        Ok(Logon::Locked) => {
            metrics::counter!("openum_logons_total", "result" => "locked").increment(1);
            tracing::warn!(event = "ova_logon_refused", call_id = %cid, mailbox = %extension, reason = "locked");
            LogonOutcome::Locked
        }
        Ok(Logon::NoPin) => {
            tracing::warn!(event = "ova_logon_refused", call_id = %cid, mailbox = %extension, reason = "no PIN set");
            LogonOutcome::NoPin
        }
        Err(e) => {
            tracing::error!(event = "ova_store_failed", call_id = %cid, mailbox = %extension, error = %e);
            LogonOutcome::Failed
        }
    }
}

/// A PIN chosen by phone: the policy's refusal (Ok(rule)) or a store error (Err).
fn change_pin(
    st: &dyn MailboxStore,
    dir: &Directory,
    extension: &str,
    new: String,
) -> Result<(), Result<pin::PinRefusal, String>> {
    match pins::set_pin_checked(
        st,
        dir,
        extension,
        NewPin::Given(new),
        false,
        SystemTime::now(),
    ) {
        Ok(_) => Ok(()),
        Err(pins::SetPinError::Refused(r)) => Err(Ok(r)),
        Err(pins::SetPinError::Failed(e)) => Err(Err(e)),
    }
}
