//! The mailbox store: voicemail messages (metadata + audio), personal greetings and
//! PIN hashes. [`MailboxStore`] is the seam; [`sled::SledStore`] the implementation
//! (sled 0.34 never reached 1.0, so nothing outside this module names it).
//!
//! Crash safety: a deposit writes metadata, audio and the id index in one atomic
//! batch and returns only after an fsync; a crash before that leaves no trace, a
//! crash after leaves a whole message. Depends on `directory` types only (and sled).

pub mod audio;
pub mod cdr;
pub mod greeting;
pub mod notify;
pub mod objects;
pub mod outbox;
pub mod pins;
pub mod query;
pub mod sled;
mod sled_chunks;
pub mod stats;

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
    #[error("the disk is full: {free} bytes free, {need} needed to store this safely")]
    DiskFull { free: u64, need: u64 },
    #[error(
        "the object model changed meanwhile (version {found}, the change was made against {expected}): try again"
    )]
    Conflict { expected: u64, found: u64 },
}

/// A stored voicemail's metadata, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// When it was deleted (RFC 3339 UTC): kept, and undeletable, for the
    /// retention time. Deleted messages count neither as new nor as saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// The mailbox that forwarded this copy, if it was forwarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_by: Option<String>,
    /// How the audio is stored (raw G.711 in `codec` for messages of earlier
    /// versions, which have no such field).
    #[serde(default)]
    pub format: audio::Format,
    /// The audio's sample rate: 8000, or 16000 for wideband (Opus callers).
    #[serde(default = "narrow_rate")]
    pub rate: u32,
    /// Its email, when the mailbox has an address: queued, sent or failed
    /// (with the last error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<outbox::Delivery>,
}

fn narrow_rate() -> u32 {
    audio::RATE
}

/// A message as the CLI and the admin API show it: its metadata and where it
/// stands (new, saved, deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageView {
    #[serde(flatten)]
    pub meta: MessageMeta,
    pub status: MessageStatus,
}

impl From<MessageMeta> for MessageView {
    fn from(meta: MessageMeta) -> Self {
        MessageView {
            status: meta.status(),
            meta,
        }
    }
}

impl MessageMeta {
    pub fn status(&self) -> MessageStatus {
        match (&self.deleted_at, self.read) {
            (Some(_), _) => MessageStatus::Deleted,
            (None, false) => MessageStatus::New,
            (None, true) => MessageStatus::Saved,
        }
    }
}

/// Where a message stands, as the subscriber sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    New,
    Saved,
    Deleted,
}

impl MessageStatus {
    pub fn name(self) -> &'static str {
        match self {
            MessageStatus::New => "new",
            MessageStatus::Saved => "saved",
            MessageStatus::Deleted => "deleted",
        }
    }
    /// From its name (`new`, `saved`, `deleted`).
    pub fn parse(s: &str) -> Option<MessageStatus> {
        [
            MessageStatus::New,
            MessageStatus::Saved,
            MessageStatus::Deleted,
        ]
        .into_iter()
        .find(|m| m.name() == s)
    }
}

/// A mailbox's message counts for MWI (RFC 3842 `Voice-Message: new/old`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub new: u32,
    pub old: u32,
}

/// Which recording of a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GreetingKind {
    /// The personal (unavailable) greeting.
    Personal,
    /// The away (extended absence) greeting, played instead when turned on.
    Away,
    /// The recorded name, spoken in the system greeting and message envelopes.
    Name,
}

impl GreetingKind {
    pub fn name(self) -> &'static str {
        match self {
            GreetingKind::Personal => "personal",
            GreetingKind::Away => "away",
            GreetingKind::Name => "name",
        }
    }
}

/// A mailbox's own settings (what the subscriber changes by phone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxSettings {
    /// The away greeting is on.
    #[serde(default)]
    pub away: bool,
}

/// What the deposit flow plays: the active greeting (away > personal) and the
/// recorded name, for the system greeting when there is no active one; and what
/// the mailbox holds, for the policy's quotas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Greetings {
    pub active: Option<(Law, Vec<u8>)>,
    pub name: Option<(Law, Vec<u8>)>,
    pub usage: Usage,
}

/// What a mailbox holds: messages not deleted, and their total length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub messages: u32,
    pub stored_ms: u64,
}

/// What a deposit provides; the store assigns id and size.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub mailbox: String,
    pub caller_id: String,
    pub caller_name: Option<String>,
    pub received_at: std::time::SystemTime,
    pub duration_ms: u64,
    /// The law to keep it in when `format` is G.711 (8 kHz audio only; wideband
    /// audio is kept as WAV then).
    pub codec: Law,
    pub call_id: String,
    pub forwarded_by: Option<String>,
    /// How to store it (the policy's `storage_format`).
    pub format: audio::Format,
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
    fn deposit(&self, msg: NewMessage, audio: &audio::Sound) -> Result<MessageMeta, StoreError>;
    /// Messages of a mailbox, oldest first.
    fn list(&self, mailbox: &str) -> Result<Vec<MessageMeta>, StoreError>;
    fn get(&self, id: &str) -> Result<MessageMeta, StoreError>;
    fn audio(&self, id: &str) -> Result<Vec<u8>, StoreError>;
    /// One of the mailbox's recordings.
    fn recording(
        &self,
        mailbox: &str,
        kind: GreetingKind,
    ) -> Result<Option<(Law, Vec<u8>)>, StoreError>;
    /// Store (Some) or remove (None) one of the mailbox's recordings, durably.
    fn set_recording(
        &self,
        mailbox: &str,
        kind: GreetingKind,
        audio: Option<(Law, &[u8])>,
    ) -> Result<(), StoreError>;
    /// One of the mailbox's recordings as a file: an imported one as it was
    /// kept (WAV or Ogg/Opus), a phone recording as WAV.
    fn recording_file(
        &self,
        mailbox: &str,
        kind: GreetingKind,
    ) -> Result<Option<(audio::Format, Vec<u8>)>, StoreError>;
    /// Keep an imported recording file (checked by [`greeting::import`]) durably.
    fn set_recording_file(
        &self,
        mailbox: &str,
        kind: GreetingKind,
        format: audio::Format,
        bytes: &[u8],
    ) -> Result<(), StoreError>;
    fn settings(&self, mailbox: &str) -> Result<MailboxSettings, StoreError>;
    fn set_settings(&self, mailbox: &str, s: &MailboxSettings) -> Result<(), StoreError>;
    /// Mark a message new, saved or deleted (at `now`), durably; returns it as it
    /// now is. Undeleting returns it to saved (it was listened to or kept).
    fn set_status(
        &self,
        id: &str,
        status: MessageStatus,
        now: std::time::SystemTime,
    ) -> Result<MessageMeta, StoreError>;
    /// Remove a message for good (metadata, audio, index), durably; gives what was removed.
    fn remove(&self, id: &str) -> Result<MessageMeta, StoreError>;
    /// Durable records of other modules (MWI subscriptions), opaque to the store:
    /// all of one kind, and put (Some) or remove (None) one.
    fn records(&self, kind: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    fn set_record(&self, kind: &str, key: &str, value: Option<&[u8]>) -> Result<(), StoreError>;

    /// The personal greeting (what earlier versions called the greeting).
    fn greeting(&self, mailbox: &str) -> Result<Option<(Law, Vec<u8>)>, StoreError> {
        self.recording(mailbox, GreetingKind::Personal)
    }
    /// What a deposit to `mailbox` plays.
    fn greetings(&self, mailbox: &str) -> Result<Greetings, StoreError> {
        let away = if self.settings(mailbox)?.away {
            self.recording(mailbox, GreetingKind::Away)?
        } else {
            None
        };
        let active = match away {
            Some(a) => Some(a),
            None => self.recording(mailbox, GreetingKind::Personal)?,
        };
        let name = self.recording(mailbox, GreetingKind::Name)?;
        let usage = self.usage(mailbox)?;
        Ok(Greetings {
            active,
            name,
            usage,
        })
    }
    /// Messages kept (not deleted) and their total length. Read at every call's
    /// start (the quotas): a store answers it without reading every message
    /// (see [`stats`]), and a wrapper must pass it on, so it has no default.
    fn usage(&self, mailbox: &str) -> Result<Usage, StoreError>;
    /// Remove for good the messages deleted before `before` (the deleted-item
    /// retention): metadata, audio and index in one batch each. Returns their ids.
    fn purge_deleted(
        &self,
        mailbox: &str,
        before: std::time::SystemTime,
    ) -> Result<Vec<String>, StoreError> {
        let mut gone = Vec::new();
        for m in self.list(mailbox)? {
            let Some(at) = m.deleted_at.as_deref() else {
                continue;
            };
            let Ok(at) = humantime::parse_rfc3339(at) else {
                continue;
            };
            if at <= before {
                self.remove(&m.id)?;
                gone.push(m.id);
            }
        }
        Ok(gone)
    }
    /// New and saved messages (message waiting), likewise without a default.
    fn counts(&self, mailbox: &str) -> Result<Counts, StoreError>;
    /// Forward a copy of message `id` to mailbox `to`, by `from`, with an optional
    /// spoken introduction before it (at the message's rate). The copy is new in
    /// `to`, keeps the original caller and time, and is durable on return.
    fn forward(
        &self,
        id: &str,
        to: &str,
        from: &str,
        intro: Option<(Law, &[u8])>,
    ) -> Result<MessageMeta, StoreError> {
        let (m, sound) = self.pcm(id)?;
        let mut all = match intro {
            Some((law, a)) => audio::Sound::from_g711(law, a).at_rate(sound.rate),
            None => audio::Sound {
                rate: sound.rate,
                samples: Vec::new(),
            },
        };
        let intro_ms = all.duration_ms();
        all.samples.extend_from_slice(&sound.samples);
        let received_at = humantime::parse_rfc3339(&m.received_at)
            .map_err(|e| StoreError::Corrupt(format!("message {id}: {e}")))?;
        self.deposit(
            NewMessage {
                mailbox: to.to_string(),
                caller_id: m.caller_id,
                caller_name: m.caller_name,
                received_at,
                duration_ms: m.duration_ms + intro_ms,
                codec: m.codec,
                call_id: m.call_id,
                forwarded_by: Some(from.to_string()),
                format: m.format,
            },
            &all,
        )
    }
    /// A message and its audio as PCM at its own rate, whatever its stored format.
    fn pcm(&self, id: &str) -> Result<(MessageMeta, audio::Sound), StoreError> {
        let m = self.get(id)?;
        let bytes = self.audio(id)?;
        let corrupt = |e: String| StoreError::Corrupt(format!("message {id}: {e}"));
        let sound = match m.format {
            audio::Format::G711 => audio::Sound::from_g711(m.codec, &bytes),
            audio::Format::Wav => audio::read_wav(&bytes).map_err(corrupt)?,
            audio::Format::Ogg => audio::decode_ogg_opus(&bytes).map_err(corrupt)?,
        };
        Ok((m, sound))
    }
    /// A message's audio as a file of `format`: WAV or Ogg/Opus at the message's
    /// rate, or raw G.711 in the message's law (8 kHz).
    fn export(&self, id: &str, format: audio::Format) -> Result<Vec<u8>, StoreError> {
        let m = self.get(id)?;
        if m.format == format {
            return self.audio(id);
        }
        let (m, sound) = self.pcm(id)?;
        match format {
            audio::Format::Wav => audio::wav(&sound),
            audio::Format::Ogg => audio::encode_ogg_opus(&sound),
            audio::Format::G711 => Ok(sound
                .at_rate(audio::RATE)
                .samples
                .iter()
                .map(|&s| m.codec.encode(s))
                .collect()),
        }
        .map_err(StoreError::Io)
    }
    fn pin_hash(&self, mailbox: &str) -> Result<Option<String>, StoreError> {
        Ok(self.pin_state(mailbox)?.map(|s| s.hash))
    }
    fn pin_state(&self, mailbox: &str) -> Result<Option<PinState>, StoreError>;
    /// What is owed after message changes (see [`outbox`]), oldest first.
    fn outbox(&self) -> Result<Vec<outbox::OutboxItem>, StoreError>;
    /// Apply one sender step durably and all at once.
    fn outbox_step(&self, step: outbox::OutboxStep) -> Result<(), StoreError>;
    /// Write a mailbox's PIN state durably.
    fn set_pin_state(&self, mailbox: &str, state: &PinState) -> Result<(), StoreError>;
}
