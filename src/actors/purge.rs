//! RetentionActor: the deleted-item purge. At start and then every
//! `PURGE_INTERVAL`, each UM mailbox's messages deleted longer ago than its
//! policy's `deleted_retention_days` are removed for good (on the store thread).
//! Each purge that removes something is one `messages_purged` event.

use super::messages::DirectoryChanged;
use super::store::{Run, StoreActor};
use crate::directory::Directory;
use crate::store::MailboxStore;
use actix::prelude::*;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

/// The deletion time before which messages are purged, at `now`.
pub fn cutoff(now: SystemTime, retention_days: u32) -> SystemTime {
    now.checked_sub(Duration::from_secs(retention_days as u64 * 86_400))
        .filter(|t| *t >= SystemTime::UNIX_EPOCH)
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

pub struct RetentionActor {
    dir: Arc<Directory>,
    store: Addr<StoreActor>,
}

impl RetentionActor {
    pub fn new(dir: Arc<Directory>, store: Addr<StoreActor>) -> Self {
        RetentionActor { dir, store }
    }

    fn purge(&mut self) {
        let plan: Vec<(String, u32)> = self
            .dir
            .mailboxes
            .iter()
            .filter_map(|m| {
                let p = self.dir.mailbox_policy(m)?;
                Some((m.extension.clone(), p.deleted_retention_days))
            })
            .collect();
        self.store.do_send(Run(Box::new(move |st: &dyn MailboxStore| {
            let now = SystemTime::now();
            for (ext, days) in plan {
                match st.purge_deleted(&ext, cutoff(now, days)) {
                    Ok(gone) if !gone.is_empty() => {
                        tracing::info!(event = "messages_purged", mailbox = %ext, count = gone.len(), retention_days = days)
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(event = "purge_failed", mailbox = %ext, error = %e),
                }
            }
        })));
    }
}

impl Actor for RetentionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.purge();
        ctx.run_interval(PURGE_INTERVAL, |act, _| act.purge());
    }
}

impl Handler<DirectoryChanged> for RetentionActor {
    type Result = ();
    fn handle(&mut self, m: DirectoryChanged, _: &mut Context<Self>) {
        self.dir = m.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_retention_days_back() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(cutoff(now, 14), now - Duration::from_secs(14 * 86_400));
        assert_eq!(cutoff(now, 0), now);
        assert_eq!(cutoff(SystemTime::UNIX_EPOCH, 14), SystemTime::UNIX_EPOCH);
    }
}
