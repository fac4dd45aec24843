//! Large values (message audio, recordings) kept in sled as runs of small values,
//! `x/<key>/<index>` (index as 8 hex digits, so key order is byte order).
//!
//! Why: sled 0.34 writes a tree page whose serialised size passes a quarter of a
//! segment (about 128 KiB) to a file of its own under `blobs/`, and when such a
//! page, a single blob with no deltas, is replaced, it does not schedule the old
//! file's removal (`pagecache/segment.rs`, `mark_replace`: it takes that case for
//! a pointer move). Nothing reclaims those files later, even at reopening. A leaf
//! holds up to about 17 values, so leaves of 7 s messages (15 KB each as
//! Ogg/Opus) were blobs, and removing messages in bursts (what the soak's checker
//! and a retention sweep do) left about one 200 KB file behind per 170 messages:
//! `cargo bench --bench store_churn -- --burst` went from 20 to 57 MB over 20,000
//! deposits with at most 700 messages held, and the 60-minute soak to 151 MB,
//! 137 MB of it such files. Values of at most [`CHUNK`] bytes keep every leaf far
//! under the threshold, so no page becomes a blob.
//!
//! A store written before this kept each value whole under its own key (`a/<id>`,
//! `g/<mailbox>`, …); [`read`] still finds those, and writing or removing a value
//! removes the whole one too, so old stores keep working and shrink as they churn.
//!
//! Depends on sled only; the layout is the caller's (`sled.rs`).

/// The largest piece: 17 of them and their keys stay under 80 KiB per leaf.
pub const CHUNK: usize = 4096;

fn prefix(key: &str) -> String {
    format!("x/{key}/")
}

/// Add `bytes` as `key`'s chunks to `batch`. At least one chunk is written
/// (empty for empty bytes), so that a value's presence is its first chunk's.
///
/// A value written again is first removed in the same batch ([`remove`]): chunks
/// past a shorter value's end, and a whole value an older version kept, would
/// otherwise stay (a batch applies the last operation on each key).
pub fn insert(batch: &mut sled::Batch, key: &str, bytes: &[u8]) {
    let p = prefix(key);
    if bytes.is_empty() {
        batch.insert(format!("{p}{:08x}", 0).as_bytes(), &[][..]);
    }
    for (i, c) in bytes.chunks(CHUNK).enumerate() {
        batch.insert(format!("{p}{i:08x}").as_bytes(), c);
    }
}

/// Add the removal of `key`'s value (its chunks, and any whole value an older
/// version kept) to `batch`.
pub fn remove(batch: &mut sled::Batch, db: &sled::Db, key: &str) -> sled::Result<()> {
    batch.remove(key.as_bytes());
    for k in db.scan_prefix(prefix(key).as_bytes()).keys() {
        batch.remove(k?);
    }
    Ok(())
}

/// `key`'s value: its chunks joined, or the whole value an older version kept;
/// None when there is neither.
pub fn read(db: &sled::Db, key: &str) -> sled::Result<Option<Vec<u8>>> {
    let mut out: Option<Vec<u8>> = None;
    for kv in db.scan_prefix(prefix(key).as_bytes()) {
        let (_, v) = kv?;
        out.get_or_insert_with(Vec::new).extend_from_slice(&v);
    }
    match out {
        Some(v) => Ok(Some(v)),
        None => Ok(db.get(key.as_bytes())?.map(|v| v.to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> sled::Db {
        sled::Config::new().temporary(true).open().unwrap()
    }

    fn put(db: &sled::Db, key: &str, bytes: &[u8]) {
        let mut b = sled::Batch::default();
        remove(&mut b, db, key).unwrap();
        insert(&mut b, key, bytes);
        db.apply_batch(b).unwrap();
    }

    fn keys_under(db: &sled::Db, p: &str) -> usize {
        db.scan_prefix(p.as_bytes()).count()
    }

    #[test]
    fn values_of_every_size_round_trip_in_pieces_of_at_most_a_chunk() {
        let db = db();
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 10 * CHUNK + 7] {
            let v: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            put(&db, "a/v", &v);
            assert_eq!(read(&db, "a/v").unwrap().as_deref(), Some(&v[..]), "{len}");
            assert_eq!(
                keys_under(&db, "x/a/v/"),
                len.div_ceil(CHUNK).max(1),
                "{len}"
            );
            assert!(
                db.scan_prefix(b"x/")
                    .values()
                    .all(|v| v.unwrap().len() <= CHUNK)
            );
        }
        // Neighbouring keys sharing a prefix are not mixed up.
        put(&db, "a/v2", b"other");
        assert_eq!(read(&db, "a/v").unwrap().unwrap().len(), 10 * CHUNK + 7);
        assert_eq!(read(&db, "a/v2").unwrap().as_deref(), Some(&b"other"[..]));
    }

    #[test]
    fn a_shorter_rewrite_leaves_no_stale_chunk_and_removal_leaves_nothing() {
        let db = db();
        put(&db, "g/1001", &[1; 5 * CHUNK]);
        put(&db, "g/1001", &[2; 3]);
        assert_eq!(read(&db, "g/1001").unwrap(), Some(vec![2; 3]));
        assert_eq!(keys_under(&db, "x/g/1001/"), 1);
        let mut b = sled::Batch::default();
        remove(&mut b, &db, "g/1001").unwrap();
        db.apply_batch(b).unwrap();
        assert_eq!(read(&db, "g/1001").unwrap(), None);
        assert_eq!(db.len(), 0);
    }

    #[test]
    fn a_whole_value_an_older_version_wrote_is_read_then_replaced_or_removed() {
        let db = db();
        db.insert("a/old", vec![9; 3 * CHUNK]).unwrap();
        assert_eq!(read(&db, "a/old").unwrap(), Some(vec![9; 3 * CHUNK]));
        put(&db, "a/old", &[4; 10]);
        assert_eq!(db.get("a/old").unwrap(), None);
        assert_eq!(read(&db, "a/old").unwrap(), Some(vec![4; 10]));
        db.insert("g/old", &b"whole"[..]).unwrap();
        let mut b = sled::Batch::default();
        remove(&mut b, &db, "g/old").unwrap();
        db.apply_batch(b).unwrap();
        assert_eq!(read(&db, "g/old").unwrap(), None);
    }
}
