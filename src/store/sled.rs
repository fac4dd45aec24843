//! sled 0.34 implementation of [`MailboxStore`].
//!
//! Layout, all in the default tree so one `Batch` is atomic:
//! - `m/<mailbox>/<id>` → message metadata (JSON)
//! - `a/<id>` → audio, in the message's format (raw G.711 in its codec, WAV or
//!   Ogg/Opus), kept as chunks under `x/a/<id>/…` (see [`super::sled_chunks`]:
//!   whole values this large leak disk space in sled 0.34)
//! - `i/<id>` → mailbox (index for lookups by id)
//! - `g/<mailbox>` → personal greeting (1 byte tag: law, or an imported file's
//!   format; then the audio); `ga/<mailbox>` the away greeting, `gn/<mailbox>`
//!   the recorded name, the same way; all chunked like audio
//! - `s/<mailbox>` → mailbox settings (JSON)
//! - `n/<mailbox>` → the mailbox's [`Stats`] (new, saved, kept length), written
//!   in the same batch as every message change, under one lock so concurrent
//!   deposits do not lose counts
//! - `p/<mailbox>` → PIN state (JSON; a bare argon2 PHC string before 0.3)
//! - `r/<kind>/<key>` → other modules' durable records (MWI subscriptions)
//! - `q/<id>` → the outbox ([`super::outbox`]): an item per message change,
//!   written in the change's own batch, and the deliveries made of it
//! - `o/model` → the object model (JSON: version, TOML document), `o/audit/<version
//!   as 16 hex>/<n>` → its audit records, `t/<id>` → API tokens (hashed); see
//!   [`super::objects`]
//!
//! Ids are `sled::Db::generate_id` values (monotonic across restarts) printed as 16
//! hex digits, so key order is arrival order.

use super::audio::{Format, Sound};
use super::outbox::{Job, OutboxItem, OutboxStep};
use super::sled_chunks as chunks;
use super::stats::Stats;
use super::{
    Counts, GreetingKind, MailboxSettings, MailboxStore, MessageMeta, MessageStatus, NewMessage,
    PinState, StoreError, Usage,
};
use crate::directory::notify::HookEvent;
use crate::media::g711::Law;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The page cache when the configuration does not say (`store_cache_mb`).
pub const DEFAULT_CACHE_MB: u64 = 64;

/// Room kept free on the store's disk beyond a message's own size (sled writes
/// in segments of 512 KiB and rewrites them as it compacts).
pub const DISK_RESERVE: u64 = 4 * 1024 * 1024;

/// Free bytes on the filesystem of `dir` for an unprivileged writer (None when it
/// cannot be asked).
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// The store. After an I/O error (a full disk) sled refuses every later write
/// until it is opened again, and may still show what it could not make durable;
/// so the failed instance is dropped and the store is reopened from disk (at the
/// next operation, retried until the disk allows it): what a caller was told is
/// not saved is not listed, and deposits work again once space is freed.
#[derive(Clone)]
pub struct SledStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: RwLock<Option<sled::Db>>,
    dir: PathBuf,
    cache_mb: u64,
    /// Held from reading a mailbox's statistics to writing them back.
    stats: Mutex<()>,
    /// Chunked values (audio, recordings): read while a reader scans a value's
    /// chunks, written while they are replaced or removed, so that a reader never
    /// joins pieces of two versions or half a removed message (sled's iterators
    /// see each batch whole per step only). Taken after `stats` when both are.
    values: RwLock<()>,
    /// Held from reading the model's version to writing the next one (the
    /// compare-and-set of [`super::objects::ObjectStore::commit_model`]).
    model: Mutex<()>,
}

fn io(e: sled::Error) -> StoreError {
    StoreError::Io(e.to_string())
}

impl SledStore {
    /// Open (or create) the store in `dir` with the default page cache. Fails
    /// fast with [`StoreError::Locked`] when another process holds it.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(dir, DEFAULT_CACHE_MB)
    }

    /// As [`SledStore::open`], with a page cache of `cache_mb` MiB. sled's own
    /// default (1 GiB) lets the process grow with the number of messages
    /// stored; a bounded cache keeps memory flat (messages are written once and
    /// read rarely, so a small cache costs little).
    pub fn open_with_cache(dir: &Path, cache_mb: u64) -> Result<Self, StoreError> {
        let cfg = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_mb.max(1) * 1024 * 1024);
        match cfg.open() {
            Ok(db) => Ok(SledStore {
                inner: Arc::new(Inner {
                    db: RwLock::new(Some(db)),
                    dir: dir.to_path_buf(),
                    cache_mb,
                    stats: Mutex::new(()),
                    values: RwLock::new(()),
                    model: Mutex::new(()),
                }),
            }),
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("lock") =>
            {
                Err(StoreError::Locked)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The open database, reopened first if an I/O error closed it.
    fn db(&self) -> Result<sled::Db, StoreError> {
        if let Some(db) = self
            .inner
            .db
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            return Ok(db.clone());
        }
        let mut slot = self.inner.db.write().unwrap_or_else(|p| p.into_inner());
        if let Some(db) = slot.as_ref() {
            return Ok(db.clone());
        }
        // sled releases the failed instance's file lock once its last handle
        // drops (a background thread): wait for it, briefly.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        loop {
            match Self::open_with_cache(&self.inner.dir, self.inner.cache_mb) {
                Ok(fresh) => {
                    let db = fresh.db()?;
                    *slot = Some(db.clone());
                    tracing::warn!(event = "store_reopened", dir = %self.inner.dir.display());
                    return Ok(db);
                }
                Err(StoreError::Locked) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                Err(e) => {
                    tracing::error!(event = "store_reopen_failed", error = %e);
                    return Err(e);
                }
            }
        }
    }

    /// Map a sled error; an I/O error closes this instance (see [`SledStore`]).
    fn failed(&self, e: sled::Error) -> StoreError {
        if let sled::Error::Io(io_err) = &e {
            let mut slot = self.inner.db.write().unwrap_or_else(|p| p.into_inner());
            if slot.take().is_some() {
                tracing::error!(event = "store_io_error", error = %io_err, "closing the store; it is reopened at the next operation");
            }
        }
        io(e)
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        self.db()?.flush().map(|_| ()).map_err(|e| self.failed(e))
    }

    fn stats_lock(&self) -> MutexGuard<'_, ()> {
        self.inner.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn values_read(&self) -> RwLockReadGuard<'_, ()> {
        self.inner.values.read().unwrap_or_else(|p| p.into_inner())
    }

    fn values_write(&self) -> RwLockWriteGuard<'_, ()> {
        self.inner.values.write().unwrap_or_else(|p| p.into_inner())
    }

    /// A mailbox's statistics as kept, or counted from its messages (a store
    /// written before they were kept, or a mailbox never written to).
    fn stats(&self, db: &sled::Db, mailbox: &str) -> Result<Stats, StoreError> {
        let kept = db
            .get(stats_key(mailbox).as_bytes())
            .map_err(|e| self.failed(e))?;
        match kept.and_then(|v| Stats::from_bytes(&v)) {
            Some(s) => Ok(s),
            None => Ok(Stats::of(&self.list(mailbox)?)),
        }
    }

    /// Apply `batch` with the mailbox's statistics changed by `change`, in the
    /// same atomic write. The caller holds [`SledStore::stats_lock`] from before
    /// it read the message state it changes.
    fn apply_counted(
        &self,
        db: &sled::Db,
        mailbox: &str,
        mut batch: sled::Batch,
        change: impl FnOnce(&mut Stats),
    ) -> Result<(), StoreError> {
        let mut stats = self.stats(db, mailbox)?;
        change(&mut stats);
        batch.insert(stats_key(mailbox).as_bytes(), &stats.to_bytes());
        db.apply_batch(batch).map_err(|e| self.failed(e))
    }

    fn meta_at(&self, key: &[u8]) -> Result<Option<MessageMeta>, StoreError> {
        self.db()?
            .get(key)
            .map_err(|e| self.failed(e))?
            .map(|v| serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }
}

/// Recording tags: 0 and 8 are raw G.711 (phone recordings, by law); these
/// mark an imported file kept as it was given.
const FILE_WAV: u8 = b'W';
const FILE_OGG: u8 = b'O';

/// A recording as kept: raw G.711 (a phone recording) or an imported file.
enum Stored {
    G711(Law, Vec<u8>),
    File(Format, Vec<u8>),
}

impl SledStore {
    /// One read of a recording's key, its tag decoded (shared by the phone's and
    /// the file's view of it).
    fn stored_recording(
        &self,
        mailbox: &str,
        kind: GreetingKind,
    ) -> Result<Option<Stored>, StoreError> {
        let read = {
            let _reading = self.values_read();
            chunks::read(&self.db()?, &recording_key(mailbox, kind))
        };
        let Some(v) = read.map_err(|e| self.failed(e))? else {
            return Ok(None);
        };
        let body = v.get(1..).map(<[u8]>::to_vec).unwrap_or_default();
        Ok(Some(match v.first() {
            Some(0) => Stored::G711(Law::Mu, body),
            Some(8) => Stored::G711(Law::A, body),
            Some(&FILE_WAV) => Stored::File(Format::Wav, body),
            Some(&FILE_OGG) => Stored::File(Format::Ogg, body),
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "{kind:?} greeting of {mailbox}: unknown tag"
                )));
            }
        }))
    }
}

fn law_tag(l: Law) -> u8 {
    match l {
        Law::Mu => 0,
        Law::A => 8,
    }
}

impl MailboxStore for SledStore {
    fn deposit(&self, msg: NewMessage, sound: &Sound) -> Result<MessageMeta, StoreError> {
        // Encode before anything is written: a failure leaves no trace. Raw G.711
        // holds 8 kHz only: wideband audio asked to be G.711 is kept as WAV.
        let format = match msg.format {
            Format::G711 if sound.rate != crate::store::audio::RATE => Format::Wav,
            f => f,
        };
        let audio: Vec<u8> = match format {
            Format::G711 => sound.samples.iter().map(|&s| msg.codec.encode(s)).collect(),
            Format::Wav => crate::store::audio::wav(sound).map_err(StoreError::Io)?,
            Format::Ogg => crate::store::audio::encode_ogg_opus(sound).map_err(StoreError::Io)?,
        };
        // Refuse before writing when the disk cannot take it: sled, once a write
        // failed for space, refuses everything until reopened (and cannot reopen
        // on a full disk), so the store would stop serving reads too.
        let need = audio.len() as u64 * 2 + DISK_RESERVE;
        if let Some(free) = free_bytes(&self.inner.dir)
            && free < need
        {
            return Err(StoreError::DiskFull { free, need });
        }
        let db = self.db()?;
        let id = format!("{:016x}", db.generate_id().map_err(|e| self.failed(e))?);
        let meta = MessageMeta {
            id: id.clone(),
            mailbox: msg.mailbox.clone(),
            caller_id: msg.caller_id,
            caller_name: msg.caller_name,
            received_at: humantime::format_rfc3339_millis(msg.received_at).to_string(),
            duration_ms: msg.duration_ms,
            codec: msg.codec,
            size: audio.len() as u64,
            read: false,
            call_id: msg.call_id,
            deleted_at: None,
            forwarded_by: msg.forwarded_by,
            format,
            rate: sound.rate,
            email: None,
        };
        let json = serde_json::to_vec(&meta).map_err(|e| StoreError::Io(e.to_string()))?;
        let mut batch = sled::Batch::default();
        let owed = self.owe(
            &db,
            &mut batch,
            &meta,
            HookEvent::Deposited,
            false,
            // Now, not the message's time: a forwarded copy keeps its
            // original's, and its delivery's give-up clock starts here.
            std::time::SystemTime::now(),
        )?;
        chunks::insert(&mut batch, &audio_key(&id), &audio);
        batch.insert(format!("i/{id}").as_bytes(), msg.mailbox.as_bytes());
        batch.insert(format!("m/{}/{id}", msg.mailbox).as_bytes(), json);
        {
            let _counting = self.stats_lock();
            self.apply_counted(&db, &msg.mailbox, batch, |s| s.add(&meta))?;
        }
        if let Err(e) = db.flush() {
            // Not durable (a full disk): take the batch back, so that no one lists
            // a message its caller was told was not saved. sled usually refuses
            // this too after an I/O error; then closing the instance does it (the
            // reopened store has only what reached the disk whole).
            let mut undo = sled::Batch::default();
            if let Err(u) = chunks::remove(&mut undo, &db, &audio_key(&id)) {
                tracing::warn!(event = "store_undo_failed", id = %id, error = %u);
            }
            undo.remove(format!("i/{id}").as_bytes());
            undo.remove(format!("m/{}/{id}", msg.mailbox).as_bytes());
            undo.remove(owed.as_bytes());
            let _counting = self.stats_lock();
            let _replacing = self.values_write();
            if let Ok(mut stats) = self.stats(&db, &msg.mailbox) {
                stats.remove(&meta);
                undo.insert(stats_key(&msg.mailbox).as_bytes(), &stats.to_bytes());
            }
            if let Err(u) = db.apply_batch(undo) {
                tracing::warn!(event = "store_undo_failed", id = %id, error = %u);
            }
            return Err(self.failed(e));
        }
        Ok(meta)
    }

    fn list(&self, mailbox: &str) -> Result<Vec<MessageMeta>, StoreError> {
        self.db()?
            .scan_prefix(format!("m/{mailbox}/").as_bytes())
            .map(|kv| {
                let (_, v) = kv.map_err(|e| self.failed(e))?;
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    fn get(&self, id: &str) -> Result<MessageMeta, StoreError> {
        let mailbox = self
            .db()?
            .get(format!("i/{id}").as_bytes())
            .map_err(|e| self.failed(e))?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        let mailbox = String::from_utf8_lossy(&mailbox).to_string();
        self.meta_at(format!("m/{mailbox}/{id}").as_bytes())?
            .ok_or_else(|| StoreError::Corrupt(format!("index names {id} but metadata is missing")))
    }

    fn audio(&self, id: &str) -> Result<Vec<u8>, StoreError> {
        let db = self.db()?;
        let read = {
            let _reading = self.values_read();
            chunks::read(&db, &audio_key(id))
        };
        read.map_err(|e| self.failed(e))?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    fn recording(
        &self,
        mailbox: &str,
        kind: GreetingKind,
    ) -> Result<Option<(Law, Vec<u8>)>, StoreError> {
        let corrupt =
            |e: String| StoreError::Corrupt(format!("{kind:?} greeting of {mailbox}: {e}"));
        match self.stored_recording(mailbox, kind)? {
            None => Ok(None),
            Some(Stored::G711(law, a)) => Ok(Some((law, a))),
            Some(Stored::File(format, bytes)) => crate::store::greeting::for_phone(format, &bytes)
                .map(Some)
                .map_err(corrupt),
        }
    }

    fn set_recording(
        &self,
        mailbox: &str,
        kind: GreetingKind,
        audio: Option<(Law, &[u8])>,
    ) -> Result<(), StoreError> {
        let tagged = audio.map(|(law, audio)| (law_tag(law), audio));
        self.put_recording(&recording_key(mailbox, kind), tagged)
    }

    fn recording_file(
        &self,
        mailbox: &str,
        kind: GreetingKind,
    ) -> Result<Option<(Format, Vec<u8>)>, StoreError> {
        Ok(match self.stored_recording(mailbox, kind)? {
            None => None,
            Some(Stored::File(format, bytes)) => Some((format, bytes)),
            Some(Stored::G711(law, a)) => Some((
                Format::Wav,
                crate::store::audio::wav(&Sound::from_g711(law, &a)).map_err(StoreError::Io)?,
            )),
        })
    }

    fn set_recording_file(
        &self,
        mailbox: &str,
        kind: GreetingKind,
        format: Format,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let tag = match format {
            Format::Wav => FILE_WAV,
            Format::Ogg => FILE_OGG,
            Format::G711 => {
                return Err(StoreError::Io("a greeting file is WAV or Ogg/Opus".into()));
            }
        };
        self.put_recording(&recording_key(mailbox, kind), Some((tag, bytes)))
    }

    fn settings(&self, mailbox: &str) -> Result<MailboxSettings, StoreError> {
        match self
            .db()?
            .get(format!("s/{mailbox}").as_bytes())
            .map_err(|e| self.failed(e))?
        {
            None => Ok(MailboxSettings::default()),
            Some(v) => serde_json::from_slice(&v)
                .map_err(|e| StoreError::Corrupt(format!("settings of {mailbox}: {e}"))),
        }
    }

    fn set_settings(&self, mailbox: &str, st: &MailboxSettings) -> Result<(), StoreError> {
        let v = serde_json::to_vec(st).map_err(|e| StoreError::Io(e.to_string()))?;
        self.db()?
            .insert(format!("s/{mailbox}").as_bytes(), v)
            .map_err(|e| self.failed(e))?;
        self.flush()
    }

    fn set_status(
        &self,
        id: &str,
        status: MessageStatus,
        now: std::time::SystemTime,
    ) -> Result<MessageMeta, StoreError> {
        let counting = self.stats_lock();
        let mut m = self.get(id)?;
        let before = m.clone();
        match status {
            MessageStatus::New => {
                m.read = false;
                m.deleted_at = None;
            }
            MessageStatus::Saved => {
                m.read = true;
                m.deleted_at = None;
            }
            MessageStatus::Deleted => {
                if m.deleted_at.is_none() {
                    m.deleted_at = Some(humantime::format_rfc3339_seconds(now).to_string());
                }
            }
        }
        let json = serde_json::to_vec(&m).map_err(|e| StoreError::Io(e.to_string()))?;
        let db = self.db()?;
        let mut batch = sled::Batch::default();
        batch.insert(format!("m/{}/{id}", m.mailbox).as_bytes(), json);
        if m.status() != before.status() {
            let event = match m.status() {
                MessageStatus::Deleted => HookEvent::Deleted,
                _ => HookEvent::StatusChanged,
            };
            self.owe(&db, &mut batch, &m, event, false, now)?;
        }
        self.apply_counted(&db, &m.mailbox, batch, |s| {
            s.remove(&before);
            s.add(&m);
        })?;
        drop(counting);
        self.flush()?;
        Ok(m)
    }

    fn remove(&self, id: &str) -> Result<MessageMeta, StoreError> {
        let counting = self.stats_lock();
        let m = self.get(id)?;
        let db = self.db()?;
        let mut batch = sled::Batch::default();
        chunks::remove(&mut batch, &db, &audio_key(id)).map_err(|e| self.failed(e))?;
        batch.remove(format!("i/{id}").as_bytes());
        batch.remove(format!("m/{}/{id}", m.mailbox).as_bytes());
        self.owe(
            &db,
            &mut batch,
            &m,
            HookEvent::Deleted,
            true,
            std::time::SystemTime::now(),
        )?;
        let replacing = self.values_write();
        self.apply_counted(&db, &m.mailbox, batch, |s| s.remove(&m))?;
        drop(replacing);
        drop(counting);
        self.flush()?;
        Ok(m)
    }

    /// From the kept statistics: one key, whatever the mailbox holds.
    fn usage(&self, mailbox: &str) -> Result<Usage, StoreError> {
        Ok(self.stats(&self.db()?, mailbox)?.usage())
    }

    fn counts(&self, mailbox: &str) -> Result<Counts, StoreError> {
        Ok(self.stats(&self.db()?, mailbox)?.counts())
    }

    fn records(&self, kind: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let prefix = format!("r/{kind}/");
        self.db()?
            .scan_prefix(prefix.as_bytes())
            .map(|kv| {
                let (k, v) = kv.map_err(|e| self.failed(e))?;
                let key = String::from_utf8_lossy(&k[prefix.len()..]).to_string();
                Ok((key, v.to_vec()))
            })
            .collect()
    }

    fn set_record(&self, kind: &str, key: &str, value: Option<&[u8]>) -> Result<(), StoreError> {
        let k = format!("r/{kind}/{key}");
        match value {
            Some(v) => self.db()?.insert(k.as_bytes(), v).map(|_| ()),
            None => self.db()?.remove(k.as_bytes()).map(|_| ()),
        }
        .map_err(|e| self.failed(e))?;
        self.flush()
    }

    fn pin_state(&self, mailbox: &str) -> Result<Option<PinState>, StoreError> {
        let Some(v) = self
            .db()?
            .get(format!("p/{mailbox}").as_bytes())
            .map_err(|e| self.failed(e))?
        else {
            return Ok(None);
        };
        // Before PIN state existed the value was the bare PHC string.
        if v.starts_with(b"$") {
            return Ok(Some(PinState {
                hash: String::from_utf8_lossy(&v).to_string(),
                ..PinState::default()
            }));
        }
        serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("PIN state of {mailbox}: {e}")))
    }

    fn outbox(&self) -> Result<Vec<OutboxItem>, StoreError> {
        self.db()?
            .scan_prefix(b"q/")
            .map(|kv| {
                let (k, v) = kv.map_err(|e| self.failed(e))?;
                serde_json::from_slice(&v).map_err(|e| {
                    StoreError::Corrupt(format!("{}: {e}", String::from_utf8_lossy(&k)))
                })
            })
            .collect()
    }

    fn outbox_step(&self, step: OutboxStep) -> Result<(), StoreError> {
        let db = self.db()?;
        let mut batch = sled::Batch::default();
        batch.remove(format!("q/{}", step.done).as_bytes());
        if let Some(mut again) = step.retry {
            again.id = step.done.clone();
            self.queue(&db, &mut batch, again)?;
        }
        for item in step.add {
            self.queue(&db, &mut batch, item)?;
        }
        // The message's key is read and written under the stats lock, as every
        // other change to it is, so a status change meanwhile is not undone.
        let _counting = self.stats_lock();
        if let Some((id, delivery)) = step.email {
            match self.get(&id) {
                Ok(mut m) => {
                    m.email = Some(delivery);
                    let json = serde_json::to_vec(&m).map_err(|e| StoreError::Io(e.to_string()))?;
                    batch.insert(format!("m/{}/{id}", m.mailbox).as_bytes(), json);
                }
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        db.apply_batch(batch).map_err(|e| self.failed(e))?;
        drop(_counting);
        self.flush()
    }

    fn set_pin_state(&self, mailbox: &str, state: &PinState) -> Result<(), StoreError> {
        let v = serde_json::to_vec(state).map_err(|e| StoreError::Io(e.to_string()))?;
        self.db()?
            .insert(format!("p/{mailbox}").as_bytes(), v)
            .map_err(|e| self.failed(e))?;
        self.flush()
    }
}

impl SledStore {
    /// Put the outbox item a message change (made at `at`) owes into the
    /// change's batch; returns its key.
    fn owe(
        &self,
        db: &sled::Db,
        batch: &mut sled::Batch,
        m: &MessageMeta,
        event: HookEvent,
        removed: bool,
        at: std::time::SystemTime,
    ) -> Result<String, StoreError> {
        let item = OutboxItem::new(
            Job::Changed {
                event,
                removed,
                message: Box::new(m.clone().into()),
            },
            at,
        );
        self.queue(db, batch, item)
    }

    /// Give `item` an id (unless it has one) and put it into `batch`.
    fn queue(
        &self,
        db: &sled::Db,
        batch: &mut sled::Batch,
        mut item: OutboxItem,
    ) -> Result<String, StoreError> {
        if item.id.is_empty() {
            item.id = format!("{:016x}", db.generate_id().map_err(|e| self.failed(e))?);
        }
        let key = format!("q/{}", item.id);
        let v = serde_json::to_vec(&item).map_err(|e| StoreError::Io(e.to_string()))?;
        batch.insert(key.as_bytes(), v);
        Ok(key)
    }

    /// Write a raw value (tests: data as an earlier version left it).
    #[cfg(test)]
    pub fn db_insert_raw(&self, key: &str, value: &[u8]) {
        if let Ok(db) = self.db() {
            let _ = db.insert(key.as_bytes(), value);
        }
    }

    /// The database itself (tests: data as an earlier version left it).
    #[cfg(test)]
    pub fn db_for_tests(&self) -> sled::Db {
        self.db().expect("the store is open")
    }

    /// Replace (Some: its tag, then its bytes) or remove (None) a recording,
    /// durably.
    fn put_recording(&self, key: &str, value: Option<(u8, &[u8])>) -> Result<(), StoreError> {
        let db = self.db()?;
        {
            // Held from listing the old chunks to replacing them: a concurrent
            // writer's longer value would otherwise keep chunks past ours.
            let _replacing = self.values_write();
            let mut batch = sled::Batch::default();
            chunks::remove(&mut batch, &db, key).map_err(|e| self.failed(e))?;
            if let Some((tag, bytes)) = value {
                chunks::insert(&mut batch, key, &[&[tag][..], bytes].concat());
            }
            db.apply_batch(batch).map_err(|e| self.failed(e))?;
        }
        self.flush()
    }

    /// Store a personal greeting.
    pub fn set_greeting(&self, mailbox: &str, law: Law, audio: &[u8]) -> Result<(), StoreError> {
        self.set_recording(mailbox, GreetingKind::Personal, Some((law, audio)))
    }
}

fn audio_key(id: &str) -> String {
    format!("a/{id}")
}

fn stats_key(mailbox: &str) -> String {
    format!("n/{mailbox}")
}

fn recording_key(mailbox: &str, kind: GreetingKind) -> String {
    match kind {
        GreetingKind::Personal => format!("g/{mailbox}"),
        GreetingKind::Away => format!("ga/{mailbox}"),
        GreetingKind::Name => format!("gn/{mailbox}"),
    }
}

#[path = "sled_objects.rs"]
mod objects;

#[cfg(test)]
#[path = "sled_tests.rs"]
mod tests;
