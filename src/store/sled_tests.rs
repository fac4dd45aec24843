//! The sled store against a real database on disk.

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

/// Every operation that changes a message keeps the mailbox's statistics equal to
/// what counting its messages gives; a store without them (an older version)
/// counts once and goes on from there.
#[test]
fn kept_statistics_follow_every_change_and_survive_their_absence() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    let check = |s: &SledStore, step: &str| {
        for mb in ["1001", "1002"] {
            let listed = s.list(mb).unwrap();
            let want = Stats::of(&listed);
            let (u, c) = (s.usage(mb).unwrap(), s.counts(mb).unwrap());
            assert_eq!(
                (u.messages, u.stored_ms),
                (want.usage().messages, want.kept_ms),
                "{step} {mb}"
            );
            assert_eq!(
                (c.new, c.old),
                (want.counts().new, want.counts().old),
                "{step} {mb}"
            );
        }
    };
    let mut ids = Vec::new();
    // A small deterministic walk over every kind of change.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for step in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + step);
        match x % 7 {
            0 | 1 => {
                let mut m = msg(if x.is_multiple_of(2) { "1001" } else { "1002" });
                m.duration_ms = 100 + x % 5000;
                ids.push(s.deposit(m, &g(&[1, 2])).unwrap().id);
            }
            2..=4 if !ids.is_empty() => {
                let id = &ids[(x / 7) as usize % ids.len()];
                let st = [
                    MessageStatus::New,
                    MessageStatus::Saved,
                    MessageStatus::Deleted,
                ][(x / 3) as usize % 3];
                s.set_status(id, st, now).unwrap();
            }
            5 if !ids.is_empty() => {
                let id = ids.remove((x / 7) as usize % ids.len());
                s.remove(&id).unwrap();
            }
            6 if !ids.is_empty() => {
                let id = ids[(x / 7) as usize % ids.len()].clone();
                ids.push(s.forward(&id, "1002", "1001", None).unwrap().id);
                let gone = s.purge_deleted("1001", now).unwrap();
                ids.retain(|i| !gone.contains(i));
            }
            _ => {}
        }
        check(&s, &format!("step {step}"));
    }
    assert!(s.list("1001").unwrap().len() + s.list("1002").unwrap().len() > 10);
    // A store of an earlier version has no statistics: they are counted, then kept.
    for mb in ["1001", "1002"] {
        s.db().unwrap().remove(stats_key(mb).as_bytes()).unwrap();
    }
    check(&s, "without statistics");
    s.deposit(msg("1001"), &g(&[3])).unwrap();
    assert!(
        s.db()
            .unwrap()
            .get(stats_key("1001").as_bytes())
            .unwrap()
            .is_some()
    );
    check(&s, "after the next deposit");
    drop(s);
    check(&reopen(dir.path()), "after a reopen");
}

#[test]
fn concurrent_deposits_lose_no_count() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let s = s.clone();
            scope.spawn(move || {
                for _ in 0..25 {
                    s.deposit(msg("1001"), &g(&[1; 80])).unwrap();
                }
            });
        }
    });
    let c = s.counts("1001").unwrap();
    assert_eq!((c.new, c.old), (100, 0));
    assert_eq!(s.usage("1001").unwrap().stored_ms, 100 * 1000);
}

/// Files sled wrote for values too large for its log (see `sled_chunks`).
fn blob_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("blobs")).map_or(0, |d| d.count())
}

#[test]
fn long_messages_and_greetings_are_kept_in_chunks_and_leave_no_blob_file() {
    let dir = tempfile::tempdir().unwrap();
    // A minute of G.711 (480 KB) is far past sled's blob threshold (128 KiB).
    let minute: Vec<u8> = (0..480_000).map(|i| (i % 251) as u8).collect();
    let id = {
        let s = SledStore::open(dir.path()).unwrap();
        let m = s.deposit(msg("1001"), &g(&minute)).unwrap();
        s.set_greeting("1001", Law::A, &minute).unwrap();
        m.id
    };
    let s = reopen(dir.path());
    assert_eq!(s.audio(&id).unwrap(), minute);
    assert_eq!(
        s.recording("1001", GreetingKind::Personal).unwrap(),
        Some((Law::A, minute.clone()))
    );
    assert_eq!(blob_files(dir.path()), 0);
    s.remove(&id).unwrap();
    assert!(matches!(s.audio(&id), Err(StoreError::NotFound(_))));
    s.set_greeting("1001", Law::A, &minute[..100]).unwrap();
    let db = s.db_for_tests();
    assert_eq!(db.scan_prefix(format!("x/a/{id}/").as_bytes()).count(), 0);
    assert_eq!(db.scan_prefix(b"x/g/1001/").count(), 1);
    assert_eq!(blob_files(dir.path()), 0);
}

#[test]
fn a_store_written_with_whole_values_still_reads_and_removes_them() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    let m = s.deposit(msg("1001"), &g(&[7; 5000])).unwrap();
    // Rewrite as versions before chunking kept it: the whole audio at a/<id>.
    let db = s.db_for_tests();
    for k in db.scan_prefix(b"x/").keys() {
        db.remove(k.unwrap()).unwrap();
    }
    db.insert(format!("a/{}", m.id), vec![7u8; 5000]).unwrap();
    db.insert("g/1001", [&[8u8][..], &[3; 900][..]].concat())
        .unwrap();
    assert_eq!(s.audio(&m.id).unwrap(), vec![7; 5000]);
    assert_eq!(s.pcm(&m.id).unwrap().1.samples.len(), 5000);
    assert_eq!(
        s.recording("1001", GreetingKind::Personal).unwrap(),
        Some((Law::A, vec![3; 900]))
    );
    s.set_greeting("1001", Law::Mu, &[4; 10]).unwrap();
    assert_eq!(db.get("g/1001").unwrap(), None);
    assert_eq!(
        s.recording("1001", GreetingKind::Personal).unwrap(),
        Some((Law::Mu, vec![4; 10]))
    );
    s.remove(&m.id).unwrap();
    assert_eq!(db.get(format!("a/{}", m.id)).unwrap(), None);
    assert_eq!(s.usage("1001").unwrap().messages, 0);
}

#[test]
fn a_reader_never_joins_two_versions_of_a_recording_or_half_a_removed_message() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    let long = vec![1u8; 20 * 4096];
    let short = vec![2u8; 4096 + 10];
    s.set_greeting("1001", Law::A, &long).unwrap();
    let ids: Vec<String> = (0..60)
        .map(|_| s.deposit(msg("1001"), &g(&long)).unwrap().id)
        .collect();
    let done = AtomicBool::new(false);
    std::thread::scope(|sc| {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                sc.spawn(|| {
                    let mut reads = 0;
                    while !done.load(Ordering::Relaxed) {
                        let (_, a) = s
                            .recording("1001", GreetingKind::Personal)
                            .unwrap()
                            .unwrap();
                        assert!(a == long || a == short, "a greeting of {} bytes", a.len());
                        for id in &ids {
                            match s.audio(id) {
                                Ok(a) => assert_eq!(a.len(), long.len(), "message {id}"),
                                Err(StoreError::NotFound(_)) => {}
                                Err(e) => panic!("{e}"),
                            }
                        }
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();
        for (i, id) in ids.iter().enumerate() {
            let v = if i % 2 == 0 { &short } else { &long };
            s.set_greeting("1001", Law::A, v).unwrap();
            s.remove(id).unwrap();
        }
        done.store(true, Ordering::Relaxed);
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
    });
}

/// Every durable message change leaves its outbox item, written with it; a
/// sender step replaces, adds and records the email state at once.
#[test]
fn message_changes_owe_outbox_items_and_steps_apply_whole() {
    use crate::directory::notify::HookEvent;
    use crate::store::outbox::*;
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    let a = s.deposit(msg("1001"), &g(&[1, 2, 3])).unwrap();
    s.set_status(&a.id, MessageStatus::Saved, SystemTime::now())
        .unwrap();
    // The same status again changes nothing and owes nothing.
    s.set_status(&a.id, MessageStatus::Saved, SystemTime::now())
        .unwrap();
    s.set_status(&a.id, MessageStatus::Deleted, SystemTime::now())
        .unwrap();
    let items = s.outbox().unwrap();
    let events: Vec<(HookEvent, String)> = items
        .iter()
        .map(|i| match &i.job {
            Job::Changed { event, message, .. } => (*event, message.status.name().to_string()),
            j => panic!("unexpected {}", j.kind()),
        })
        .collect();
    assert_eq!(
        events,
        [
            (HookEvent::Deposited, "new".to_string()),
            (HookEvent::StatusChanged, "saved".to_string()),
            (HookEvent::Deleted, "deleted".to_string()),
        ]
    );
    assert!(items.windows(2).all(|w| w[0].id < w[1].id));

    // Fan the first out into an email, with the message's state queued.
    let email = OutboxItem::new(
        Job::Email {
            message_id: a.id.clone(),
            mailbox: "1001".into(),
            to: "a@example.com".into(),
        },
        SystemTime::now(),
    );
    let delivery = Delivery {
        state: DeliveryState::Queued,
        to: "a@example.com".into(),
        attempts: 0,
        last_error: None,
        at: "2026-12-08T00:00:00Z".into(),
        next_at: None,
    };
    s.outbox_step(OutboxStep {
        done: items[0].id.clone(),
        retry: None,
        add: vec![email],
        email: Some((a.id.clone(), delivery)),
    })
    .unwrap();
    let s = {
        drop(s);
        reopen(dir.path())
    };
    let items = s.outbox().unwrap();
    assert_eq!(items.len(), 3);
    let mail = items.iter().find(|i| i.job.kind() == "email").unwrap();
    let m = s.get(&a.id).unwrap();
    assert_eq!(m.email.as_ref().unwrap().state, DeliveryState::Queued);
    assert_eq!(
        m.status(),
        MessageStatus::Deleted,
        "the step kept the status"
    );
    // A retry keeps the id and its count.
    let mut again = mail.clone();
    again.attempts = 1;
    again.last_error = Some("refused".into());
    s.outbox_step(OutboxStep {
        done: mail.id.clone(),
        retry: Some(again),
        ..OutboxStep::default()
    })
    .unwrap();
    let kept = s.outbox().unwrap();
    let mail2 = kept.iter().find(|i| i.job.kind() == "email").unwrap();
    assert_eq!((mail2.id.as_str(), mail2.attempts), (mail.id.as_str(), 1));
    // Removal owes its item too; a step on a removed message still applies.
    s.remove(&a.id).unwrap();
    s.outbox_step(OutboxStep {
        done: mail.id.clone(),
        email: Some((
            a.id.clone(),
            Delivery {
                state: DeliveryState::Sent,
                to: "a@example.com".into(),
                attempts: 2,
                last_error: None,
                at: "x".into(),
                next_at: None,
            },
        )),
        ..OutboxStep::default()
    })
    .unwrap();
    let left = s.outbox().unwrap();
    assert!(left.iter().all(|i| i.job.kind() == "changed"));
    assert!(
        left.iter()
            .any(|i| matches!(&i.job, Job::Changed { removed: true, .. }))
    );
}
