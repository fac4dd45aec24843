//! A mailbox's statistics as a store keeps them beside its messages: how many
//! are new, how many saved, and how long the kept ones are (deleted items count
//! for nothing). A call's start (the quotas) and the message waiting indicator
//! (the counts) read these instead of every message's metadata, so their cost
//! does not grow with the mailbox: found by the 60-minute soak, where a mailbox
//! of 18,000 messages made each call's start parse them all and greetings began
//! seconds late.
//!
//! The store updates them in the same atomic write as the message change they
//! follow. A store written before they existed has none: they are then counted
//! from the messages once, and written with the next change.
//!
//! Depends on the store's types only.

use super::{Counts, MessageMeta, MessageStatus, Usage};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub new: u64,
    pub saved: u64,
    /// Total length of the new and saved messages.
    pub kept_ms: u64,
}

impl Stats {
    /// Counted from the messages themselves.
    pub fn of<'a>(messages: impl IntoIterator<Item = &'a MessageMeta>) -> Stats {
        let mut s = Stats::default();
        for m in messages {
            s.add(m);
        }
        s
    }

    /// A message arrives in this state (or comes back to it).
    pub fn add(&mut self, m: &MessageMeta) {
        match m.status() {
            MessageStatus::New => self.new += 1,
            MessageStatus::Saved => self.saved += 1,
            MessageStatus::Deleted => return,
        }
        self.kept_ms += m.duration_ms;
    }

    /// A message leaves this state (removed, or changed to another). Saturates:
    /// statistics that somehow ran low are never made to wrap.
    pub fn remove(&mut self, m: &MessageMeta) {
        match m.status() {
            MessageStatus::New => self.new = self.new.saturating_sub(1),
            MessageStatus::Saved => self.saved = self.saved.saturating_sub(1),
            MessageStatus::Deleted => return,
        }
        self.kept_ms = self.kept_ms.saturating_sub(m.duration_ms);
    }

    pub fn usage(&self) -> Usage {
        Usage {
            messages: (self.new + self.saved).min(u32::MAX as u64) as u32,
            stored_ms: self.kept_ms,
        }
    }

    pub fn counts(&self) -> Counts {
        Counts {
            new: self.new.min(u32::MAX as u64) as u32,
            old: self.saved.min(u32::MAX as u64) as u32,
        }
    }

    /// 24 bytes: new, saved, kept_ms, big-endian.
    pub fn to_bytes(self) -> [u8; 24] {
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&self.new.to_be_bytes());
        b[8..16].copy_from_slice(&self.saved.to_be_bytes());
        b[16..].copy_from_slice(&self.kept_ms.to_be_bytes());
        b
    }

    /// None for anything but 24 bytes (then the store counts again).
    pub fn from_bytes(b: &[u8]) -> Option<Stats> {
        let b: &[u8; 24] = b.try_into().ok()?;
        let word = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        Some(Stats {
            new: word(0),
            saved: word(8),
            kept_ms: word(16),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(read: bool, deleted: bool, ms: u64) -> MessageMeta {
        MessageMeta {
            id: "1".into(),
            mailbox: "1001".into(),
            caller_id: "5".into(),
            caller_name: None,
            received_at: "2026-01-01T00:00:00Z".into(),
            duration_ms: ms,
            codec: crate::media::g711::Law::Mu,
            size: 0,
            read,
            call_id: "c".into(),
            deleted_at: deleted.then(|| "2026-01-01T00:00:00Z".to_string()),
            forwarded_by: None,
            format: Default::default(),
            rate: 8000,
            email: None,
        }
    }

    #[test]
    fn counts_kept_messages_only_and_round_trips() {
        let all = [
            meta(false, false, 1000),
            meta(true, false, 2000),
            meta(false, true, 4000),
            meta(true, true, 8000),
        ];
        let s = Stats::of(&all);
        assert_eq!(
            s,
            Stats {
                new: 1,
                saved: 1,
                kept_ms: 3000
            }
        );
        assert_eq!((s.usage().messages, s.usage().stored_ms), (2, 3000));
        assert_eq!((s.counts().new, s.counts().old), (1, 1));
        assert_eq!(Stats::from_bytes(&s.to_bytes()), Some(s));
        assert_eq!(Stats::from_bytes(b"short"), None);
    }

    #[test]
    fn a_status_change_moves_a_message_between_counts() {
        let mut s = Stats::of(&[meta(false, false, 1000)]);
        s.remove(&meta(false, false, 1000));
        s.add(&meta(true, false, 1000));
        assert_eq!((s.new, s.saved, s.kept_ms), (0, 1, 1000));
        s.remove(&meta(true, false, 1000));
        s.add(&meta(true, true, 1000));
        assert_eq!(s, Stats::default());
        // Never below zero.
        s.remove(&meta(false, false, 5));
        assert_eq!(s, Stats::default());
    }
}
