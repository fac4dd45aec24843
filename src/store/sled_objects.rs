//! [`ObjectStore`] on sled: the model, its audit trail and the tokens live in
//! the default tree beside the messages, so that one `Batch` writes a model
//! version, its audit records and the PIN states it sets atomically.

use super::super::objects::{AuditRecord, ModelCommit, ObjectStore, StoredModel, TokenRecord};
use super::{SledStore, StoreError};

const MODEL: &str = "o/model";

fn audit_key(version: u64, n: usize) -> String {
    format!("o/audit/{version:016x}/{n:04}")
}

fn json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::Io(e.to_string()))
}

impl ObjectStore for SledStore {
    fn model(&self) -> Result<Option<StoredModel>, StoreError> {
        let Some(v) = self.db()?.get(MODEL).map_err(|e| self.failed(e))? else {
            return Ok(None);
        };
        serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("object model: {e}")))
    }

    fn commit_model(&self, c: ModelCommit<'_>) -> Result<u64, StoreError> {
        let _cas = self.inner.model.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.model()?;
        let found = current.as_ref().map_or(0, |m| m.version);
        if found != c.expected {
            return Err(StoreError::Conflict {
                expected: c.expected,
                found,
            });
        }
        let version = found + 1;
        let model = StoredModel {
            version,
            doc: c.doc.to_string(),
            source_digest: match c.source_digest {
                Some(d) => d.to_string(),
                None => current.map(|m| m.source_digest).unwrap_or_default(),
            },
        };
        let mut batch = sled::Batch::default();
        batch.insert(MODEL, json(&model)?);
        for (n, r) in c.audit.iter().enumerate() {
            let r = AuditRecord {
                version,
                ..r.clone()
            };
            batch.insert(audit_key(version, n).as_bytes(), json(&r)?);
        }
        for (mailbox, state) in c.pins {
            batch.insert(format!("p/{mailbox}").as_bytes(), json(state)?);
        }
        self.db()?.apply_batch(batch).map_err(|e| self.failed(e))?;
        self.flush()?;
        Ok(version)
    }

    fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let start = format!("o/audit/{:016x}", after.saturating_add(1));
        let mut out = Vec::new();
        for kv in self.db()?.range(start.as_bytes()..b"o/audit0".as_slice()) {
            if out.len() >= limit {
                break;
            }
            let (_, v) = kv.map_err(|e| self.failed(e))?;
            out.push(
                serde_json::from_slice(&v)
                    .map_err(|e| StoreError::Corrupt(format!("audit record: {e}")))?,
            );
        }
        Ok(out)
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.db()?
            .scan_prefix(b"t/")
            .map(|kv| {
                let (_, v) = kv.map_err(|e| self.failed(e))?;
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(format!("token: {e}")))
            })
            .collect()
    }

    fn put_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        self.db()?
            .insert(format!("t/{}", t.id).as_bytes(), json(t)?)
            .map_err(|e| self.failed(e))?;
        self.flush()
    }

    fn remove_token(&self, id: &str) -> Result<bool, StoreError> {
        let was = self
            .db()?
            .remove(format!("t/{id}").as_bytes())
            .map_err(|e| self.failed(e))?;
        self.flush()?;
        Ok(was.is_some())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::MailboxStore;
    use crate::store::objects::contract;
    use crate::store::sled::SledStore;

    #[test]
    fn sled_meets_the_object_contract() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        contract::model(&s, &|m| s.pin_state(m).unwrap());
        contract::tokens(&s);
    }

    #[test]
    fn the_model_survives_a_reopen() {
        use crate::store::objects::{ModelCommit, ObjectStore};
        let dir = tempfile::tempdir().unwrap();
        {
            let s = SledStore::open(dir.path()).unwrap();
            s.commit_model(ModelCommit {
                expected: 0,
                doc: "x = 1\n",
                source_digest: None,
                audit: &[],
                pins: &[],
            })
            .unwrap();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let s = loop {
            match SledStore::open(dir.path()) {
                Ok(s) => break s,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(s.model().unwrap().unwrap().version, 1);
    }
}

mod cdr_impl {
    //! [`CdrStore`] on sled: `c/<ended_at>/<call_id>` (RFC 3339 sorts by time).
    use super::super::super::cdr::{Cdr, CdrQuery, CdrStore};
    use super::super::{SledStore, StoreError};

    impl CdrStore for SledStore {
        fn put_cdrs(&self, cdrs: &[Cdr]) -> Result<(), StoreError> {
            let mut batch = sled::Batch::default();
            for c in cdrs {
                let v = serde_json::to_vec(c).map_err(|e| StoreError::Io(e.to_string()))?;
                batch.insert(format!("c/{}/{}", c.ended_at, c.call_id).as_bytes(), v);
            }
            self.db()?.apply_batch(batch).map_err(|e| self.failed(e))?;
            self.flush()
        }

        fn cdrs(&self, q: &CdrQuery) -> Result<Vec<Cdr>, StoreError> {
            let start = format!("c/{}", q.since.as_deref().unwrap_or(""));
            let mut out = std::collections::VecDeque::new();
            for kv in self.db()?.range(start.as_bytes()..b"c0".as_slice()) {
                let (_, v) = kv.map_err(|e| self.failed(e))?;
                let c: Cdr = serde_json::from_slice(&v)
                    .map_err(|e| StoreError::Corrupt(format!("call data record: {e}")))?;
                if q.matches(&c) {
                    out.push_back(c);
                    if out.len() > q.limit.max(1) {
                        out.pop_front();
                    }
                }
            }
            Ok(out.into())
        }

        fn purge_cdrs(&self, before: &str) -> Result<usize, StoreError> {
            let db = self.db()?;
            let end = format!("c/{before}");
            let mut batch = sled::Batch::default();
            let mut n = 0;
            for kv in db.range(b"c/".as_slice()..end.as_bytes()) {
                let (k, _) = kv.map_err(|e| self.failed(e))?;
                batch.remove(k);
                n += 1;
            }
            db.apply_batch(batch).map_err(|e| self.failed(e))?;
            self.flush()?;
            Ok(n)
        }
    }

    #[cfg(test)]
    #[test]
    fn sled_meets_the_cdr_contract() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        crate::store::cdr::contract::cdrs(&s);
    }
}
