//! sled 0.34 implementation of [`MailboxStore`].
//!
//! Layout, all in the default tree so one `Batch` is atomic:
//! - `m/<mailbox>/<id>` → message metadata (JSON)
//! - `a/<id>` → audio (G.711 bytes in the message's codec)
//! - `i/<id>` → mailbox (index for lookups by id)
//! - `g/<mailbox>` → personal greeting (1 byte law tag + audio)
//! - `p/<mailbox>` → PIN hash (argon2 PHC string)
//!
//! Ids are `sled::Db::generate_id` values (monotonic across restarts) printed as 16
//! hex digits, so key order is arrival order.

use super::{MailboxStore, MessageMeta, NewMessage, PinState, StoreError};
use crate::media::g711::Law;
use std::path::Path;

#[derive(Clone)]
pub struct SledStore {
    db: sled::Db,
}

fn io(e: sled::Error) -> StoreError {
    StoreError::Io(e.to_string())
}

impl SledStore {
    /// Open (or create) the store in `dir`. Fails fast with [`StoreError::Locked`]
    /// when another process holds it.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        match sled::Config::new().path(dir).open() {
            Ok(db) => Ok(SledStore { db }),
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("lock") =>
            {
                Err(StoreError::Locked)
            }
            Err(e) => Err(io(e)),
        }
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(io)
    }

    fn meta_at(&self, key: &[u8]) -> Result<Option<MessageMeta>, StoreError> {
        self.db
            .get(key)
            .map_err(io)?
            .map(|v| serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }
}

fn law_tag(l: Law) -> u8 {
    match l {
        Law::Mu => 0,
        Law::A => 8,
    }
}

impl MailboxStore for SledStore {
    fn deposit(&self, msg: NewMessage, audio: &[u8]) -> Result<MessageMeta, StoreError> {
        let id = format!("{:016x}", self.db.generate_id().map_err(io)?);
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
        };
        let json = serde_json::to_vec(&meta).map_err(|e| StoreError::Io(e.to_string()))?;
        let mut batch = sled::Batch::default();
        batch.insert(format!("a/{id}").as_bytes(), audio);
        batch.insert(format!("i/{id}").as_bytes(), msg.mailbox.as_bytes());
        batch.insert(format!("m/{}/{id}", msg.mailbox).as_bytes(), json);
        self.db.apply_batch(batch).map_err(io)?;
        self.db.flush().map_err(io)?;
        Ok(meta)
    }

    fn list(&self, mailbox: &str) -> Result<Vec<MessageMeta>, StoreError> {
        self.db
            .scan_prefix(format!("m/{mailbox}/").as_bytes())
            .map(|kv| {
                let (_, v) = kv.map_err(io)?;
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    fn get(&self, id: &str) -> Result<MessageMeta, StoreError> {
        let mailbox = self
            .db
            .get(format!("i/{id}").as_bytes())
            .map_err(io)?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        let mailbox = String::from_utf8_lossy(&mailbox).to_string();
        self.meta_at(format!("m/{mailbox}/{id}").as_bytes())?
            .ok_or_else(|| StoreError::Corrupt(format!("index names {id} but metadata is missing")))
    }

    fn audio(&self, id: &str) -> Result<Vec<u8>, StoreError> {
        self.db
            .get(format!("a/{id}").as_bytes())
            .map_err(io)?
            .map(|v| v.to_vec())
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    fn greeting(&self, mailbox: &str) -> Result<Option<(Law, Vec<u8>)>, StoreError> {
        Ok(self
            .db
            .get(format!("g/{mailbox}").as_bytes())
            .map_err(io)?
            .and_then(|v| {
                let law = match v.first()? {
                    0 => Law::Mu,
                    8 => Law::A,
                    _ => return None,
                };
                Some((law, v[1..].to_vec()))
            }))
    }

    fn pin_state(&self, mailbox: &str) -> Result<Option<PinState>, StoreError> {
        let Some(v) = self.db.get(format!("p/{mailbox}").as_bytes()).map_err(io)? else {
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
        self.db
            .insert(format!("p/{mailbox}").as_bytes(), v)
            .map_err(io)?;
        self.flush()
    }
}

impl SledStore {
    /// Write a raw value (tests: data as an earlier version left it).
    #[cfg(test)]
    pub fn db_insert_raw(&self, key: &str, value: &[u8]) {
        let _ = self.db.insert(key.as_bytes(), value);
    }

    /// Store a personal greeting (used by tests now, by subscriber access later).
    pub fn set_greeting(&self, mailbox: &str, law: Law, audio: &[u8]) -> Result<(), StoreError> {
        let mut v = Vec::with_capacity(audio.len() + 1);
        v.push(law_tag(law));
        v.extend_from_slice(audio);
        self.db
            .insert(format!("g/{mailbox}").as_bytes(), v)
            .map_err(io)?;
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn msg(mb: &str) -> NewMessage {
        NewMessage {
            mailbox: mb.into(),
            caller_id: "5551234".into(),
            caller_name: Some("Caller".into()),
            received_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            duration_ms: 1000,
            codec: Law::A,
            call_id: "c1".into(),
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
            let a = s.deposit(msg("1001"), &[1, 2, 3]).unwrap();
            let b = s.deposit(msg("1001"), &[4; 8000]).unwrap();
            s.deposit(msg("1002"), &[5]).unwrap();
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
    fn wav_export_is_playable_pcm() {
        let wav = crate::store::to_wav(Law::A, &[0xD5; 800]).unwrap();
        let r = hound::WavReader::new(std::io::Cursor::new(wav)).unwrap();
        assert_eq!(r.spec().sample_rate, 8000);
        assert_eq!(r.len(), 800);
    }
}
