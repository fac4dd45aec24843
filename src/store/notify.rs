//! A [`MailboxStore`] that tells a listener which mailbox's counts may have
//! changed (a deposit, a forward, a message marked new/saved/deleted), whoever
//! made the change: a call, the admin API, subscriber access. Message waiting
//! indication listens. The listener is set once the actors are running; changes
//! before that are not reported (MWI sends every subscriber its state when it
//! starts anyway).

use super::{
    GreetingKind, MailboxSettings, MailboxStore, MessageMeta, MessageStatus, NewMessage, PinState,
    StoreError,
};
use crate::media::g711::Law;
use std::sync::{Arc, OnceLock};

/// Called with a mailbox's extension after a change to its messages.
pub type Listener = Box<dyn Fn(&str) + Send + Sync>;

pub struct Notifying {
    inner: Arc<dyn MailboxStore>,
    listener: Arc<OnceLock<Listener>>,
}

impl Notifying {
    /// Wrap `inner`; the returned cell takes the listener later.
    pub fn new(inner: Arc<dyn MailboxStore>) -> (Notifying, Arc<OnceLock<Listener>>) {
        let listener = Arc::new(OnceLock::new());
        (
            Notifying {
                inner,
                listener: listener.clone(),
            },
            listener,
        )
    }

    fn changed(&self, mailbox: &str) {
        if let Some(l) = self.listener.get() {
            l(mailbox);
        }
    }
}

impl MailboxStore for Notifying {
    fn deposit(
        &self,
        msg: NewMessage,
        audio: &super::audio::Sound,
    ) -> Result<MessageMeta, StoreError> {
        let m = self.inner.deposit(msg, audio)?;
        self.changed(&m.mailbox);
        Ok(m)
    }
    fn list(&self, mailbox: &str) -> Result<Vec<MessageMeta>, StoreError> {
        self.inner.list(mailbox)
    }
    fn get(&self, id: &str) -> Result<MessageMeta, StoreError> {
        self.inner.get(id)
    }
    fn audio(&self, id: &str) -> Result<Vec<u8>, StoreError> {
        self.inner.audio(id)
    }
    fn recording(
        &self,
        mailbox: &str,
        kind: GreetingKind,
    ) -> Result<Option<(Law, Vec<u8>)>, StoreError> {
        self.inner.recording(mailbox, kind)
    }
    fn set_recording(
        &self,
        mailbox: &str,
        kind: GreetingKind,
        audio: Option<(Law, &[u8])>,
    ) -> Result<(), StoreError> {
        self.inner.set_recording(mailbox, kind, audio)
    }
    fn recording_file(
        &self,
        mailbox: &str,
        kind: GreetingKind,
    ) -> Result<Option<(super::audio::Format, Vec<u8>)>, StoreError> {
        self.inner.recording_file(mailbox, kind)
    }
    fn set_recording_file(
        &self,
        mailbox: &str,
        kind: GreetingKind,
        format: super::audio::Format,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        self.inner.set_recording_file(mailbox, kind, format, bytes)
    }
    fn settings(&self, mailbox: &str) -> Result<MailboxSettings, StoreError> {
        self.inner.settings(mailbox)
    }
    fn set_settings(&self, mailbox: &str, s: &MailboxSettings) -> Result<(), StoreError> {
        self.inner.set_settings(mailbox, s)
    }
    fn set_status(
        &self,
        id: &str,
        status: MessageStatus,
        now: std::time::SystemTime,
    ) -> Result<MessageMeta, StoreError> {
        let m = self.inner.set_status(id, status, now)?;
        self.changed(&m.mailbox);
        Ok(m)
    }
    fn remove(&self, id: &str) -> Result<MessageMeta, StoreError> {
        let m = self.inner.remove(id)?;
        // A deleted message was not counted as waiting: purging one changes nothing.
        if m.deleted_at.is_none() {
            self.changed(&m.mailbox);
        }
        Ok(m)
    }
    fn usage(&self, mailbox: &str) -> Result<super::Usage, StoreError> {
        self.inner.usage(mailbox)
    }
    fn counts(&self, mailbox: &str) -> Result<super::Counts, StoreError> {
        self.inner.counts(mailbox)
    }
    fn records(&self, kind: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.inner.records(kind)
    }
    fn set_record(&self, kind: &str, key: &str, value: Option<&[u8]>) -> Result<(), StoreError> {
        self.inner.set_record(kind, key, value)
    }
    fn outbox(&self) -> Result<Vec<super::outbox::OutboxItem>, StoreError> {
        self.inner.outbox()
    }
    fn outbox_step(&self, step: super::outbox::OutboxStep) -> Result<(), StoreError> {
        self.inner.outbox_step(step)
    }
    fn pin_state(&self, mailbox: &str) -> Result<Option<PinState>, StoreError> {
        self.inner.pin_state(mailbox)
    }
    fn set_pin_state(&self, mailbox: &str, state: &PinState) -> Result<(), StoreError> {
        self.inner.set_pin_state(mailbox, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The wrapper answers usage and counts from the store's kept statistics, not
    /// by counting every message (the trait's old default did, at every call).
    #[test]
    fn usage_and_counts_come_from_the_inner_store() {
        let dir = tempfile::tempdir().unwrap();
        let sled = Arc::new(crate::store::sled::SledStore::open(dir.path()).unwrap());
        let kept = crate::store::stats::Stats {
            new: 7,
            saved: 2,
            kept_ms: 9000,
        };
        // Statistics that counting the (absent) messages could not give.
        sled.db_insert_raw("n/1001", &kept.to_bytes());
        let (s, _) = Notifying::new(sled);
        let c = s.counts("1001").unwrap();
        assert_eq!((c.new, c.old), (7, 2));
        let u = s.usage("1001").unwrap();
        assert_eq!((u.messages, u.stored_ms), (9, 9000));
        assert!(s.list("1001").unwrap().is_empty());
    }

    #[test]
    fn deposits_forwards_and_status_changes_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let sled = Arc::new(crate::store::sled::SledStore::open(dir.path()).unwrap());
        let (s, cell) = Notifying::new(sled);
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let msg = || NewMessage {
            mailbox: "1001".into(),
            caller_id: "5551234".into(),
            caller_name: None,
            received_at: std::time::SystemTime::now(),
            duration_ms: 10,
            codec: Law::Mu,
            call_id: "c".into(),
            forwarded_by: None,
            format: crate::store::audio::Format::G711,
        };
        // Before a listener: nothing to tell, nothing fails.
        let first = s
            .deposit(msg(), &crate::store::audio::Sound::narrow(vec![1]))
            .unwrap();
        let log = seen.clone();
        assert!(
            cell.set(Box::new(move |m| log.lock().unwrap().push(m.into())))
                .is_ok()
        );
        let second = s
            .deposit(msg(), &crate::store::audio::Sound::narrow(vec![1]))
            .unwrap();
        s.set_status(
            &first.id,
            MessageStatus::Saved,
            std::time::SystemTime::now(),
        )
        .unwrap();
        s.forward(&first.id, "1003", "1001", None).unwrap();
        s.set_settings("1001", &MailboxSettings { away: true })
            .unwrap();
        assert_eq!(*seen.lock().unwrap(), ["1001", "1001", "1003"]);
        assert!(
            s.set_status("nope", MessageStatus::Saved, std::time::SystemTime::now())
                .is_err()
        );
        assert_eq!(seen.lock().unwrap().len(), 3);
        // Removing a waiting message changes the counts; removing one already
        // deleted (what the retention purge does) does not.
        s.remove(&second.id).unwrap();
        assert_eq!(seen.lock().unwrap().len(), 4);
        s.set_status(
            &first.id,
            MessageStatus::Deleted,
            std::time::SystemTime::now(),
        )
        .unwrap();
        s.remove(&first.id).unwrap();
        assert_eq!(
            *seen.lock().unwrap(),
            ["1001", "1001", "1003", "1001", "1001"]
        );
        assert!(s.remove(&first.id).is_err());
    }
}
