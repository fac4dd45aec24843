//! MwiActor: the shell of [`crate::mwi::Mwi`]. It answers SUBSCRIBEs the
//! supervisor passes on, reads counts from the store and sends NOTIFYs through
//! the endpoint whenever a mailbox changes (the store's change feed), keeps
//! subscriptions in the store, and at start sends every stored subscription and
//! unsolicited target its current state. One timer at the core's deadline
//! (retries, expiry). Every subscription change and every NOTIFY outcome is one
//! structured event (`mwi_subscription`, `mwi_notify`).

use super::endpoint::SipEndpoint;
use super::messages::{
    DirectoryChanged, MailboxChanged, RequestOutcome, Respond, SendRequest, SubscribeIn,
};
use super::store::{Run, StoreActor};
use crate::mwi::{Local, Mwi, Outcome, RECORD_KIND, Stored};
use crate::store::{Counts, MailboxStore};
use actix::prelude::*;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn wall() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub struct MwiActor {
    core: Mwi,
    store: Addr<StoreActor>,
    endpoint: Addr<SipEndpoint>,
    timer: Option<SpawnHandle>,
}

impl MwiActor {
    pub fn new(core: Mwi, store: Addr<StoreActor>, endpoint: Addr<SipEndpoint>) -> Self {
        MwiActor {
            core,
            store,
            endpoint,
            timer: None,
        }
    }

    pub fn local(address: std::net::IpAddr, plain: u16, tls: u16, fqdn: &str) -> Local {
        Local {
            address,
            plain_port: plain,
            tls_port: tls,
            fqdn: fqdn.to_string(),
        }
    }

    /// Read the counts of each mailbox of `ids` and NOTIFY them.
    fn notify_ids(&mut self, ids: Vec<String>, ctx: &mut Context<Self>) {
        let mut by_mailbox: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for id in ids {
            if let Some(m) = self.core.mailbox_of(&id) {
                by_mailbox.entry(m.to_string()).or_default().push(id);
            }
        }
        for (mailbox, ids) in by_mailbox {
            let m2 = mailbox.clone();
            self.store
                .send(Run(Box::new(move |st: &dyn MailboxStore| st.counts(&m2))))
                .into_actor(self)
                .then(move |res, act, ctx| {
                    match res {
                        Ok(Ok(c)) => act.send_notifies(&ids, c, ctx),
                        other => {
                            // Never a made-up count: say nothing until the store answers.
                            tracing::error!(event = "mwi_counts_failed", mailbox = %mailbox, error = %other.map_or_else(|e| e.to_string(), |r| r.err().map(|e| e.to_string()).unwrap_or_default()));
                        }
                    }
                    fut::ready(())
                })
                .spawn(ctx);
        }
    }

    fn send_notifies(&mut self, ids: &[String], counts: Counts, ctx: &mut Context<Self>) {
        for id in ids {
            let Some(n) = self.core.notify(id, counts, wall()) else {
                continue;
            };
            if let Some(st) = n.persist.clone() {
                self.persist(n.id.clone(), Some(st));
            }
            tracing::info!(event = "mwi_notify_sent", subscription = %n.id, new = counts.new, old = counts.old, peer = %n.flow.peer);
            self.endpoint.do_send(SendRequest {
                request: n.request,
                flow: n.flow,
                reply: Some((ctx.address().recipient(), n.tag)),
            });
        }
        self.rearm(ctx);
    }

    fn persist(&self, id: String, st: Option<Stored>) {
        let value = st.and_then(|s| serde_json::to_vec(&s).ok());
        self.store
            .do_send(Run(Box::new(move |store: &dyn MailboxStore| {
                if let Err(e) = store.set_record(RECORD_KIND, &id, value.as_deref()) {
                    tracing::error!(event = "mwi_persist_failed", subscription = %id, error = %e);
                }
            })));
    }

    fn rearm(&mut self, ctx: &mut Context<Self>) {
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        let now = Instant::now();
        if let Some(at) = self.core.poll_timeout(now, wall()) {
            let after = at.saturating_duration_since(now) + std::time::Duration::from_millis(5);
            self.timer = Some(ctx.run_later(after, |act, ctx| {
                act.timer = None;
                let (due, removed) = act.core.handle_timeout(Instant::now(), wall());
                for id in removed {
                    tracing::info!(event = "mwi_subscription", what = "expired", subscription = %id);
                    act.persist(id, None);
                }
                act.notify_ids(due, ctx);
                act.rearm(ctx);
            }));
        }
    }
}

impl Actor for MwiActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Subscriptions from before a restart, and the configured unsolicited
        // targets: each is sent its current state.
        self.store
            .send(Run(Box::new(|st: &dyn MailboxStore| st.records(RECORD_KIND))))
            .into_actor(self)
            .then(|res, act, ctx| {
                let records = match res {
                    Ok(Ok(r)) => r,
                    other => {
                        tracing::error!(event = "mwi_restore_failed", error = %other.map_or_else(|e| e.to_string(), |r| r.err().map(|e| e.to_string()).unwrap_or_default()));
                        Vec::new()
                    }
                };
                let parsed: Vec<(String, Stored)> = records
                    .into_iter()
                    .filter_map(|(k, v)| match serde_json::from_slice(&v) {
                        Ok(s) => Some((k, s)),
                        Err(e) => {
                            tracing::warn!(event = "mwi_record_unreadable", subscription = %k, error = %e);
                            None
                        }
                    })
                    .collect();
                let total = parsed.len();
                let mut ids = act.core.restore(parsed, wall());
                tracing::info!(event = "mwi_restored", subscriptions = ids.len(), expired = total - ids.len());
                ids.extend(act.core.sync_unsolicited());
                act.notify_ids(ids, ctx);
                fut::ready(())
            })
            .wait(ctx);
    }
}

impl Handler<SubscribeIn> for MwiActor {
    type Result = ();
    fn handle(&mut self, m: SubscribeIn, ctx: &mut Context<Self>) {
        let r = self.core.handle_subscribe(&m.request, m.flow, wall());
        let mut response = r.response;
        response.headers.push("Server", crate::callctl::SERVER);
        tracing::info!(
            event = "mwi_subscription",
            what = r.what,
            status = response.status,
            mailbox = %r.mailbox.as_deref().unwrap_or("-"),
            uri = %m.request.uri,
            peer = %m.flow.peer,
            call_id = %m.request.call_id(),
        );
        self.endpoint.do_send(Respond { tx: m.tx, response });
        if let Some((id, st)) = r.persist {
            self.persist(id, st);
        }
        if let Some(id) = r.notify {
            self.notify_ids(vec![id], ctx);
        }
        self.rearm(ctx);
    }
}

impl Handler<MailboxChanged> for MwiActor {
    type Result = ();
    fn handle(&mut self, m: MailboxChanged, ctx: &mut Context<Self>) {
        let ids = self.core.subscriptions_of(&m.0);
        if !ids.is_empty() {
            self.notify_ids(ids, ctx);
        }
    }
}

impl Handler<RequestOutcome> for MwiActor {
    type Result = ();
    fn handle(&mut self, m: RequestOutcome, ctx: &mut Context<Self>) {
        let status = m.response.as_ref().map(|r| r.status);
        let (again, outcome) = self.core.handle_outcome(m.tag, status, Instant::now());
        // The answer's status, or "none" when the NOTIFY timed out.
        let status = status.map_or_else(|| "none".to_string(), |s| s.to_string());
        let result = match &outcome {
            Outcome::Delivered => Some("delivered"),
            Outcome::Unknown => None,
            Outcome::Terminated => Some("terminated"),
            Outcome::Ended(_) => Some("ended"),
            Outcome::Retry(_) => Some("retry"),
            Outcome::GaveUp => Some("gave_up"),
        };
        if let Some(r) = result {
            metrics::counter!("openum_mwi_notifies_total", "result" => r).increment(1);
        }
        match outcome {
            Outcome::Delivered => {
                tracing::info!(event = "mwi_notify", outcome = "delivered", status = %status)
            }
            Outcome::Unknown => {}
            Outcome::Terminated => {
                tracing::info!(event = "mwi_notify", outcome = "terminated", status = %status)
            }
            Outcome::Ended(id) => {
                tracing::info!(event = "mwi_notify", outcome = "ended", status = %status, subscription = %id, "the subscriber no longer knows the subscription (481)");
                self.persist(id, None);
            }
            Outcome::Retry(after) => {
                tracing::warn!(event = "mwi_notify", outcome = "retry", status = %status, retry_ms = after.as_millis() as u64)
            }
            Outcome::GaveUp => {
                tracing::warn!(event = "mwi_notify", outcome = "gave_up", status = %status, "no answer after the last retry; next try at the next change")
            }
        }
        if let Some(id) = again {
            self.notify_ids(vec![id], ctx);
        }
        self.rearm(ctx);
    }
}

impl Handler<DirectoryChanged> for MwiActor {
    type Result = ();
    fn handle(&mut self, m: DirectoryChanged, ctx: &mut Context<Self>) {
        self.core.set_directory(m.0);
        let new = self.core.sync_unsolicited();
        self.notify_ids(new, ctx);
    }
}
