//! The mailbox store: voicemail messages (metadata + audio), personal greetings and
//! PIN hashes. [`MailboxStore`] is the seam; [`sled::SledStore`] the implementation
//! (sled 0.34 never reached 1.0, so nothing outside this module names it).
//!
//! Crash safety: a deposit writes metadata, audio and the id index in one atomic
//! batch and returns only after an fsync; a crash before that leaves no trace, a
//! crash after leaves a whole message. Depends on `directory` types only (and sled).

pub mod pins;
pub mod sled;

use crate::media::g711::Law;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store is locked by another process (is `openum serve` running?)")]
    Locked,
    #[error("store I/O error: {0}")]
    Io(String),
    #[error("store data is corrupt: {0}")]
    Corrupt(String),
    #[error("no such message {0}")]
    NotFound(String),
}

/// A stored voicemail's metadata, as listed by the CLI and the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageMeta {
    pub id: String,
    pub mailbox: String,
    /// Caller number (From user part), empty when anonymous.
    pub caller_id: String,
    pub caller_name: Option<String>,
    /// RFC 3339, UTC.
    pub received_at: String,
    pub duration_ms: u64,
    pub codec: Law,
    /// Audio bytes stored.
    pub size: u64,
    pub read: bool,
    pub call_id: String,
}

/// What a deposit provides; the store assigns id and size.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub mailbox: String,
    pub caller_id: String,
    pub caller_name: Option<String>,
    pub received_at: std::time::SystemTime,
    pub duration_ms: u64,
    pub codec: Law,
    pub call_id: String,
}

/// A mailbox's PIN state (Set-UMMailboxPIN, logon failures, lockout): kept in
/// the store so that it survives restarts. Never holds a PIN in clear.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinState {
    /// PHC (argon2id) hash of the current PIN.
    pub hash: String,
    /// When it was set, RFC 3339 UTC (empty when unknown: set by an old version).
    #[serde(default)]
    pub set_at: String,
    /// Hashes of earlier PINs, newest first (the policy's PIN history).
    #[serde(default)]
    pub history: Vec<String>,
    /// Consecutive failed logons.
    #[serde(default)]
    pub failures: u32,
    /// Locked out after too many failures, until an admin resets or unlocks it.
    #[serde(default)]
    pub locked: bool,
    /// Must be changed at the next logon (Set-UMMailboxPIN -PinExpired).
    #[serde(default)]
    pub expired: bool,
}

pub trait MailboxStore: Send + Sync {
    /// Store a message durably; returns only once it would survive a crash.
    fn deposit(&self, msg: NewMessage, audio: &[u8]) -> Result<MessageMeta, StoreError>;
    /// Messages of a mailbox, oldest first.
    fn list(&self, mailbox: &str) -> Result<Vec<MessageMeta>, StoreError>;
    fn get(&self, id: &str) -> Result<MessageMeta, StoreError>;
    fn audio(&self, id: &str) -> Result<Vec<u8>, StoreError>;
    fn greeting(&self, mailbox: &str) -> Result<Option<(Law, Vec<u8>)>, StoreError>;
    fn pin_hash(&self, mailbox: &str) -> Result<Option<String>, StoreError> {
        Ok(self.pin_state(mailbox)?.map(|s| s.hash))
    }
    fn pin_state(&self, mailbox: &str) -> Result<Option<PinState>, StoreError>;
    /// Write a mailbox's PIN state durably.
    fn set_pin_state(&self, mailbox: &str, state: &PinState) -> Result<(), StoreError>;
}

/// Write G.711 audio as a 16-bit PCM WAV (playable everywhere; hound writes PCM only).
pub fn to_wav(law: Law, audio: &[u8]) -> Result<Vec<u8>, StoreError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::with_capacity(audio.len() * 2 + 44));
    {
        let mut w =
            hound::WavWriter::new(&mut out, spec).map_err(|e| StoreError::Io(e.to_string()))?;
        for &b in audio {
            w.write_sample(law.decode(b))
                .map_err(|e| StoreError::Io(e.to_string()))?;
        }
        w.finalize().map_err(|e| StoreError::Io(e.to_string()))?;
    }
    Ok(out.into_inner())
}
