//! sled 0.34 implementation of [`MailboxStore`].
//!
//! Layout, all in the default tree so one `Batch` is atomic:
//! - `m/<mailbox>/<id>` → message metadata (JSON)
//! - `a/<id>` → audio (G.711 bytes in the message's codec)
//! - `i/<id>` → mailbox (index for lookups by id)
//! - `g/<mailbox>` → personal greeting (1 byte law tag + audio); `ga/<mailbox>`
//!   the away greeting, `gn/<mailbox>` the recorded name, the same way
//! - `s/<mailbox>` → mailbox settings (JSON)
//! - `p/<mailbox>` → PIN state (JSON; a bare argon2 PHC string before 0.3)
//! - `r/<kind>/<key>` → other modules' durable records (MWI subscriptions)
//!
//! Ids are `sled::Db::generate_id` values (monotonic across restarts) printed as 16
//! hex digits, so key order is arrival order.

use super::audio::{Format, Sound};
use super::{
    GreetingKind, MailboxSettings, MailboxStore, MessageMeta, MessageStatus, NewMessage, PinState,
    StoreError,
};
use crate::media::g711::Law;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

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
        let Some(v) = self
            .db()?
            .get(recording_key(mailbox, kind).as_bytes())
            .map_err(|e| self.failed(e))?
        else {
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
        };
        let json = serde_json::to_vec(&meta).map_err(|e| StoreError::Io(e.to_string()))?;
        let mut batch = sled::Batch::default();
        batch.insert(format!("a/{id}").as_bytes(), audio);
        batch.insert(format!("i/{id}").as_bytes(), msg.mailbox.as_bytes());
        batch.insert(format!("m/{}/{id}", msg.mailbox).as_bytes(), json);
        db.apply_batch(batch).map_err(|e| self.failed(e))?;
        if let Err(e) = db.flush() {
            // Not durable (a full disk): take the batch back, so that no one lists
            // a message its caller was told was not saved. sled usually refuses
            // this too after an I/O error; then closing the instance does it (the
            // reopened store has only what reached the disk whole).
            let mut undo = sled::Batch::default();
            undo.remove(format!("a/{id}").as_bytes());
            undo.remove(format!("i/{id}").as_bytes());
            undo.remove(format!("m/{}/{id}", msg.mailbox).as_bytes());
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
        self.db()?
            .get(format!("a/{id}").as_bytes())
            .map_err(|e| self.failed(e))?
            .map(|v| v.to_vec())
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
        let key = recording_key(mailbox, kind);
        match audio {
            Some((law, audio)) => {
                let mut v = Vec::with_capacity(audio.len() + 1);
                v.push(law_tag(law));
                v.extend_from_slice(audio);
                self.db()?
                    .insert(key.as_bytes(), v)
                    .map_err(|e| self.failed(e))?;
            }
            None => {
                self.db()?
                    .remove(key.as_bytes())
                    .map_err(|e| self.failed(e))?;
            }
        }
        self.flush()
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
        let mut v = Vec::with_capacity(bytes.len() + 1);
        v.push(tag);
        v.extend_from_slice(bytes);
        self.db()?
            .insert(recording_key(mailbox, kind).as_bytes(), v)
            .map_err(|e| self.failed(e))?;
        self.flush()
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
        let mut m = self.get(id)?;
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
        self.db()?
            .insert(format!("m/{}/{id}", m.mailbox).as_bytes(), json)
            .map_err(|e| self.failed(e))?;
        self.flush()?;
        Ok(m)
    }

    fn remove(&self, id: &str) -> Result<(), StoreError> {
        let m = self.get(id)?;
        let mut batch = sled::Batch::default();
        batch.remove(format!("a/{id}").as_bytes());
        batch.remove(format!("i/{id}").as_bytes());
        batch.remove(format!("m/{}/{id}", m.mailbox).as_bytes());
        self.db()?.apply_batch(batch).map_err(|e| self.failed(e))?;
        self.flush()
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

    fn set_pin_state(&self, mailbox: &str, state: &PinState) -> Result<(), StoreError> {
        let v = serde_json::to_vec(state).map_err(|e| StoreError::Io(e.to_string()))?;
        self.db()?
            .insert(format!("p/{mailbox}").as_bytes(), v)
            .map_err(|e| self.failed(e))?;
        self.flush()
    }
}

impl SledStore {
    /// Write a raw value (tests: data as an earlier version left it).
    #[cfg(test)]
    pub fn db_insert_raw(&self, key: &str, value: &[u8]) {
        if let Ok(db) = self.db() {
            let _ = db.insert(key.as_bytes(), value);
        }
    }

    /// Store a personal greeting.
    pub fn set_greeting(&self, mailbox: &str, law: Law, audio: &[u8]) -> Result<(), StoreError> {
        self.set_recording(mailbox, GreetingKind::Personal, Some((law, audio)))
    }
}

fn recording_key(mailbox: &str, kind: GreetingKind) -> String {
    match kind {
        GreetingKind::Personal => format!("g/{mailbox}"),
        GreetingKind::Away => format!("ga/{mailbox}"),
        GreetingKind::Name => format!("gn/{mailbox}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Counts, Greetings, Usage};
    use std::time::{Duration, SystemTime};

    /// A-law bytes (the test messages' law) as the sound a call would give.
    fn g(bytes: &[u8]) -> Sound {
        Sound::from_g711(Law::A, bytes)
    }

    fn msg(mb: &str) -> NewMessage {
        NewMessage {
            mailbox: mb.into(),
            caller_id: "5551234".into(),
            caller_name: Some("Caller".into()),
            received_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            duration_ms: 1000,
            codec: Law::A,
            call_id: "c1".into(),
            forwarded_by: None,
            format: Format::G711,
        }
    }

    /// sled releases its file lock from a background thread shortly after the last
    /// handle drops, so a same-process reopen must wait for it (with a deadline).
    fn reopen(dir: &std::path::Path) -> SledStore {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match SledStore::open(dir) {
                Ok(s) => return s,
                Err(StoreError::Locked) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("reopen: {e}"),
            }
        }
    }

    #[test]
    fn deposit_list_get_audio_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<String> = {
            let s = SledStore::open(dir.path()).unwrap();
            let a = s.deposit(msg("1001"), &g(&[1, 2, 3])).unwrap();
            let b = s.deposit(msg("1001"), &g(&[4; 8000])).unwrap();
            s.deposit(msg("1002"), &g(&[5])).unwrap();
            assert_eq!(a.received_at, "2023-11-14T22:13:20.000Z");
            assert!(a.id < b.id);
            vec![a.id, b.id]
        };
        let s = reopen(dir.path());
        let list = s.list("1001").unwrap();
        assert_eq!(list.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), ids);
        assert_eq!(list[1].size, 8000);
        assert_eq!(s.get(&ids[0]).unwrap().mailbox, "1001");
        assert_eq!(s.audio(&ids[0]).unwrap(), [1, 2, 3]);
        assert!(matches!(s.get("nope"), Err(StoreError::NotFound(_))));
        assert_eq!(s.list("1002").unwrap().len(), 1);
        assert_eq!(s.list("1003").unwrap().len(), 0);
    }

    #[test]
    fn an_io_error_closes_the_instance_and_the_next_operation_reopens_it() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        let a = s.deposit(msg("1001"), &g(&[1, 2, 3])).unwrap();
        // Other errors leave the instance alone.
        let _ = s.failed(sled::Error::Unsupported("x".into()));
        assert!(s.inner.db.read().unwrap().is_some());
        // What a full disk gives sled's flush: the instance is dropped...
        let e = s.failed(sled::Error::Io(std::io::Error::other(
            "No space left on device",
        )));
        assert!(matches!(e, StoreError::Io(m) if m.contains("No space")));
        assert!(s.inner.db.read().unwrap().is_none());
        // ...and the next operation opens the store again from disk (once sled's
        // background thread has let the old instance's file lock go).
        let ids: Vec<String> = s.list("1001").unwrap().into_iter().map(|m| m.id).collect();
        assert_eq!(ids, std::slice::from_ref(&a.id));
        assert!(s.inner.db.read().unwrap().is_some());
        assert_eq!(s.audio(&a.id).unwrap(), [1, 2, 3]);
        let b = s.deposit(msg("1001"), &g(&[4, 5])).unwrap();
        assert_eq!(s.list("1001").unwrap().len(), 2);
        drop(s);
        let s = reopen(dir.path());
        assert_eq!(s.audio(&b.id).unwrap(), [4, 5]);
    }

    #[test]
    fn a_second_opener_is_told_the_store_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let _held = SledStore::open(dir.path()).unwrap();
        // Within one process sled shares the handle, so test the lock from a child.
        let st = std::process::Command::new("flock")
            .args(["-n", "-x"])
            .arg(dir.path().join("db"))
            .arg("true")
            .status()
            .expect("flock (util-linux) is needed; tools/test installs it");
        assert!(
            !st.success(),
            "sled must hold an exclusive lock on its db file"
        );
    }

    #[test]
    fn greeting_and_pin_state_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        assert_eq!(s.greeting("1001").unwrap(), None);
        s.set_greeting("1001", Law::Mu, &[9, 9]).unwrap();
        assert_eq!(s.greeting("1001").unwrap(), Some((Law::Mu, vec![9, 9])));
        let st = PinState {
            hash: "$argon2id$x".into(),
            set_at: "2026-11-23T10:00:00Z".into(),
            history: vec!["$argon2id$old".into()],
            failures: 2,
            locked: false,
            expired: true,
        };
        s.set_pin_state("1001", &st).unwrap();
        assert_eq!(s.pin_hash("1001").unwrap().as_deref(), Some("$argon2id$x"));
        assert_eq!(s.pin_state("1001").unwrap(), Some(st));
        // Garbage is reported as corruption, naming the mailbox.
        s.db_insert_raw("p/1002", b"{not json");
        let e = s.pin_state("1002").unwrap_err().to_string();
        assert!(e.contains("PIN state of 1002"), "{e}");
    }

    #[test]
    fn statuses_counts_forward_recordings_and_records() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let a = s.deposit(msg("1001"), &g(&[0xD5; 80])).unwrap();
        let b = s.deposit(msg("1001"), &g(&[0xD5; 80])).unwrap();
        assert_eq!(s.counts("1001").unwrap(), Counts { new: 2, old: 0 });
        assert_eq!(
            s.set_status(&a.id, MessageStatus::Deleted, t)
                .unwrap()
                .status(),
            MessageStatus::Deleted
        );
        s.set_status(&b.id, MessageStatus::Saved, t).unwrap();
        assert_eq!(s.counts("1001").unwrap(), Counts { new: 0, old: 1 });
        // Undelete: back to saved; the deletion time is kept only while deleted.
        let back = s.set_status(&a.id, MessageStatus::Saved, t).unwrap();
        assert_eq!(
            (back.status(), back.deleted_at),
            (MessageStatus::Saved, None)
        );
        assert!(s.set_status("nope", MessageStatus::Saved, t).is_err());
        // Forward with an A-law introduction: one stream, intro first, kept in
        // the original's format and law.
        let f = s
            .forward(&b.id, "1003", "1001", Some((Law::A, &[0xD5; 16])))
            .unwrap();
        assert_eq!((f.mailbox.as_str(), f.read), ("1003", false));
        assert_eq!(f.forwarded_by.as_deref(), Some("1001"));
        assert_eq!((f.caller_id.as_str(), f.codec), ("5551234", Law::A));
        assert_eq!(f.format, Format::G711);
        assert_eq!(f.duration_ms, 1002);
        let audio = s.audio(&f.id).unwrap();
        assert_eq!(audio.len(), 96);
        assert_eq!((audio[0], audio[16]), (0xD5, 0xD5));
        assert_eq!(s.counts("1003").unwrap(), Counts { new: 1, old: 0 });
        // Greetings: away wins only when turned on; the name comes along.
        assert_eq!(s.greetings("1002").unwrap(), Greetings::default());
        s.set_recording("1002", GreetingKind::Personal, Some((Law::Mu, &[1])))
            .unwrap();
        s.set_recording("1002", GreetingKind::Away, Some((Law::Mu, &[2])))
            .unwrap();
        s.set_recording("1002", GreetingKind::Name, Some((Law::A, &[3])))
            .unwrap();
        let g = s.greetings("1002").unwrap();
        assert_eq!(g.active, Some((Law::Mu, vec![1])));
        assert_eq!(g.name, Some((Law::A, vec![3])));
        s.set_settings("1002", &MailboxSettings { away: true })
            .unwrap();
        assert_eq!(
            s.greetings("1002").unwrap().active,
            Some((Law::Mu, vec![2]))
        );
        s.set_recording("1002", GreetingKind::Away, None).unwrap();
        assert_eq!(
            s.greetings("1002").unwrap().active,
            Some((Law::Mu, vec![1]))
        );
        // Opaque records, by kind.
        s.set_record("mwi", "k1", Some(b"v1")).unwrap();
        s.set_record("mwi", "k2", Some(b"v2")).unwrap();
        s.set_record("other", "k1", Some(b"x")).unwrap();
        s.set_record("mwi", "k1", None).unwrap();
        assert_eq!(
            s.records("mwi").unwrap(),
            vec![("k2".into(), b"v2".to_vec())]
        );
    }

    #[test]
    fn usage_and_the_retention_purge() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let a = s.deposit(msg("1001"), &g(&[1; 8])).unwrap();
        let b = s.deposit(msg("1001"), &g(&[2; 8])).unwrap();
        let c = s.deposit(msg("1001"), &g(&[3; 8])).unwrap();
        assert_eq!(
            s.usage("1001").unwrap(),
            Usage {
                messages: 3,
                stored_ms: 3000
            }
        );
        s.set_status(&a.id, MessageStatus::Deleted, t0).unwrap();
        s.set_status(
            &b.id,
            MessageStatus::Deleted,
            t0 + Duration::from_secs(86_400),
        )
        .unwrap();
        assert_eq!(s.usage("1001").unwrap().messages, 1);
        // Retention: what was deleted up to `before` goes, with its audio.
        let gone = s
            .purge_deleted("1001", t0 + Duration::from_secs(3600))
            .unwrap();
        assert_eq!(gone, std::slice::from_ref(&a.id));
        assert!(s.get(&a.id).is_err() && s.audio(&a.id).is_err());
        assert!(s.get(&b.id).is_ok() && s.get(&c.id).is_ok());
        assert_eq!(s.list("1001").unwrap().len(), 2);
        assert!(s.remove("nope").is_err());
    }

    #[test]
    fn ogg_and_wav_deposits_read_back_and_export() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        let tone: Vec<u8> = (0..16_000)
            .map(|i| Law::A.encode(((i as f64 * 0.3).sin() * 8000.0) as i16))
            .collect();
        let mut m = msg("1001");
        m.format = Format::Ogg;
        let ogg = s.deposit(m, &g(&tone)).unwrap();
        assert_eq!(ogg.format, Format::Ogg);
        assert!(ogg.size < 16_000 / 3, "{} bytes", ogg.size);
        let (_, pcm) = s.pcm(&ogg.id).unwrap();
        assert_eq!(pcm.samples.len(), 16_000);
        let wav = s.export(&ogg.id, Format::Wav).unwrap();
        assert_eq!(
            crate::store::audio::read_wav(&wav).unwrap().samples.len(),
            16_000
        );
        assert_eq!(
            s.export(&ogg.id, Format::Ogg).unwrap(),
            s.audio(&ogg.id).unwrap()
        );
        let mut m = msg("1001");
        m.format = Format::Wav;
        let w = s.deposit(m, &g(&tone)).unwrap();
        let (_, pcm) = s.pcm(&w.id).unwrap();
        let exact = g(&tone);
        assert_eq!(pcm, exact);
        // A message of an earlier version (raw G.711, no format or rate field)
        // reads too.
        let old = s.deposit(msg("1001"), &g(&tone)).unwrap();
        assert_eq!(s.audio(&old.id).unwrap(), tone, "G.711 kept byte for byte");
        let mut json = serde_json::to_value(&old).unwrap();
        json.as_object_mut().unwrap().remove("format");
        json.as_object_mut().unwrap().remove("rate");
        let back: MessageMeta = serde_json::from_value(json).unwrap();
        assert_eq!((back.format, back.rate), (Format::G711, 8000));
        assert_eq!(s.pcm(&old.id).unwrap().1, exact);
    }

    #[test]
    fn wav_export_is_playable_pcm() {
        let wav = crate::store::audio::wav(&g(&[0xD5u8; 800])).unwrap();
        let r = hound::WavReader::new(std::io::Cursor::new(wav)).unwrap();
        assert_eq!(r.spec().sample_rate, 8000);
        assert_eq!(r.len(), 800);
    }

    #[test]
    fn wideband_sound_is_kept_wideband_in_every_format() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        let wide = Sound {
            rate: 16_000,
            samples: (0..32_000)
                .map(|i| ((i as f64 * 0.2).sin() * 8000.0) as i16)
                .collect(),
        };
        for (format, kept) in [
            (Format::Ogg, Format::Ogg),
            (Format::Wav, Format::Wav),
            // Raw G.711 holds 8 kHz only: wideband becomes WAV, not lost quality.
            (Format::G711, Format::Wav),
        ] {
            let mut m = msg("1001");
            m.format = format;
            let meta = s.deposit(m, &wide).unwrap();
            assert_eq!((meta.format, meta.rate), (kept, 16_000));
            let (_, back) = s.pcm(&meta.id).unwrap();
            assert_eq!((back.rate, back.samples.len()), (16_000, 32_000));
            // Exported for a G.711 system: 8 kHz, half the samples.
            assert_eq!(s.export(&meta.id, Format::G711).unwrap().len(), 16_000);
        }
    }

    #[test]
    fn imported_greeting_files_are_kept_as_given_and_played_as_g711() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        let tone = Sound {
            rate: 16_000,
            samples: (0..16_000)
                .map(|i| ((i as f64 * 0.17).sin() * 9000.0) as i16)
                .collect(),
        };
        let ogg = crate::store::audio::encode_ogg_opus(&tone).unwrap();
        s.set_recording_file("1001", GreetingKind::Personal, Format::Ogg, &ogg)
            .unwrap();
        let back = s.recording_file("1001", GreetingKind::Personal).unwrap();
        assert_eq!(back, Some((Format::Ogg, ogg)));
        // A call gets one second of 8 kHz µ-law.
        let (law, mu) = s.greetings("1001").unwrap().active.unwrap();
        assert_eq!((law, mu.len()), (Law::Mu, 8000));
        // A phone recording exports as WAV.
        s.set_recording("1001", GreetingKind::Name, Some((Law::A, &[0xD5; 800])))
            .unwrap();
        let (f, wav) = s
            .recording_file("1001", GreetingKind::Name)
            .unwrap()
            .unwrap();
        assert_eq!(f, Format::Wav);
        assert_eq!(
            crate::store::audio::read_wav(&wav).unwrap().samples.len(),
            800
        );
        assert!(
            s.recording_file("1001", GreetingKind::Away)
                .unwrap()
                .is_none()
        );
        assert!(
            s.set_recording_file("1001", GreetingKind::Away, Format::G711, &[1])
                .is_err()
        );
    }
}
