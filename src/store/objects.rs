//! The object part of the store seam: the UM object model (dial plans, IP
//! gateways, hunt groups, auto attendants, mailbox policies, UM mailboxes,
//! mailbox nodes, service settings) as one versioned document, its audit trail,
//! and the API's bearer tokens (hashed).
//!
//! The model is kept whole, in its import/export form (TOML text, never a PIN),
//! with a version that every change raises by one. A change is a compare-and-set
//! on that version: two administrators changing objects at once cannot lose one
//! another's change, and a commit writes the document, its audit records and the
//! PIN states it sets (Enable-UMMailbox with its PIN) in one atomic, durable
//! write — all or nothing. Validation is not the store's business (see
//! `crate::objects`); the store only keeps what it is given.
//!
//! Depends on `store` types only: no sled type crosses this seam, so the
//! PostgreSQL store implements the same trait and runs [`contract`].

use super::{PinState, StoreError};
use serde::{Deserialize, Serialize};

/// The object model as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredModel {
    /// Raised by one at every commit; 0 means "no model yet".
    pub version: u64,
    /// The whole model in its import/export form (TOML).
    pub doc: String,
    /// A digest of the configuration file this model was bootstrapped from or
    /// last imported from (so `serve --config F` can tell a changed file).
    #[serde(default)]
    pub source_digest: String,
}

/// One audited change: who changed what, before and after (never a PIN).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// The model version the change made.
    pub version: u64,
    /// RFC 3339 UTC.
    pub at: String,
    /// The token's id and role (`local-admin`, `token 3f2a… (admin)`), or `cli`
    /// when the CLI worked on a stopped server's store.
    pub who: String,
    /// bootstrap, migrate, import, create, update, remove.
    pub action: String,
    /// The object kind (`dial_plan`, `mailbox`, …) or `model` for a whole one.
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

/// An API bearer token, as kept: its SHA-256, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Short public id (the hash's first 12 hex digits), for `token list|revoke`.
    pub id: String,
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// `admin` or `mailbox:EXT`.
    pub role: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// What one commit writes, atomically.
#[derive(Debug, Clone, Copy)]
pub struct ModelCommit<'a> {
    /// The version the change was made against; the commit fails with
    /// [`StoreError::Conflict`] if the stored one is another.
    pub expected: u64,
    pub doc: &'a str,
    pub source_digest: Option<&'a str>,
    /// The change's audit records (their `version` is set to the new one).
    pub audit: &'a [AuditRecord],
    /// PIN states to write with it, by mailbox.
    pub pins: &'a [(String, PinState)],
}

pub trait ObjectStore: Send + Sync {
    /// The model, or None in a store that never had one.
    fn model(&self) -> Result<Option<StoredModel>, StoreError>;
    /// Write a new model version with its audit records and PIN states, all or
    /// nothing, durably; returns the new version.
    fn commit_model(&self, c: ModelCommit<'_>) -> Result<u64, StoreError>;
    /// Audit records of versions above `after`, oldest first, at most `limit`.
    fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>, StoreError>;
    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;
    /// Keep a token durably (replacing one of the same id).
    fn put_token(&self, t: &TokenRecord) -> Result<(), StoreError>;
    /// Remove a token; false when there was none with this id.
    fn remove_token(&self, id: &str) -> Result<bool, StoreError>;
}

/// The contract every [`ObjectStore`] meets; `fresh` opens an empty store at a
/// new place, `reopen` the same store again (after a restart).
pub mod contract {
    use super::*;

    fn rec(action: &str, name: &str) -> AuditRecord {
        AuditRecord {
            version: 0,
            at: "2026-12-07T12:00:00Z".into(),
            who: "cli".into(),
            action: action.into(),
            kind: "dial_plan".into(),
            name: name.into(),
            before: None,
            after: Some(serde_json::json!({"name": name})),
        }
    }

    fn pin(hash: &str) -> PinState {
        PinState {
            hash: hash.into(),
            ..PinState::default()
        }
    }

    /// Versions, compare-and-set, atomic PIN writes, audit order, durability.
    pub fn model(s: &dyn ObjectStore, pins: &dyn Fn(&str) -> Option<PinState>) {
        assert_eq!(s.model().unwrap(), None, "a new store has no model");
        let v1 = s
            .commit_model(ModelCommit {
                expected: 0,
                doc: "a = 1\n",
                source_digest: Some("d1"),
                audit: &[rec("bootstrap", "model")],
                pins: &[("1001".into(), pin("$h1"))],
            })
            .unwrap();
        assert_eq!(v1, 1);
        let m = s.model().unwrap().unwrap();
        assert_eq!((m.version, m.doc.as_str()), (1, "a = 1\n"));
        assert_eq!(m.source_digest, "d1");
        assert_eq!(pins("1001").unwrap().hash, "$h1");

        // A commit made against an old version is refused and writes nothing.
        let stale = s.commit_model(ModelCommit {
            expected: 0,
            doc: "a = 2\n",
            source_digest: None,
            audit: &[rec("create", "X")],
            pins: &[("1002".into(), pin("$h2"))],
        });
        assert!(
            matches!(
                stale,
                Err(StoreError::Conflict {
                    expected: 0,
                    found: 1
                })
            ),
            "{stale:?}"
        );
        assert_eq!(s.model().unwrap().unwrap().doc, "a = 1\n");
        assert_eq!(pins("1002"), None, "a refused commit set no PIN");
        assert_eq!(s.audit_log(0, 100).unwrap().len(), 1);

        let v2 = s
            .commit_model(ModelCommit {
                expected: 1,
                doc: "a = 3\n",
                source_digest: None,
                audit: &[rec("create", "Corp"), rec("update", "Demo")],
                pins: &[],
            })
            .unwrap();
        assert_eq!(v2, 2);
        let m = s.model().unwrap().unwrap();
        assert_eq!(m.source_digest, "d1", "kept when a commit gives none");
        let log = s.audit_log(0, 100).unwrap();
        let names: Vec<(u64, &str)> = log.iter().map(|r| (r.version, r.name.as_str())).collect();
        assert_eq!(names, [(1, "model"), (2, "Corp"), (2, "Demo")]);
        assert_eq!(s.audit_log(1, 100).unwrap().len(), 2);
        assert_eq!(s.audit_log(0, 1).unwrap().len(), 1);
    }

    /// Tokens are kept by id, listed, and removed.
    pub fn tokens(s: &dyn ObjectStore) {
        assert!(s.tokens().unwrap().is_empty());
        let t = TokenRecord {
            id: "abc".into(),
            hash: "00ff".into(),
            role: "mailbox:1001".into(),
            created_at: "2026-12-07T12:00:00Z".into(),
            label: Some("web".into()),
        };
        s.put_token(&t).unwrap();
        s.put_token(&TokenRecord {
            id: "def".into(),
            role: "admin".into(),
            label: None,
            ..t.clone()
        })
        .unwrap();
        let mut list = s.tokens().unwrap();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(list.len(), 2);
        assert_eq!(list[0], t);
        assert!(s.remove_token("abc").unwrap());
        assert!(!s.remove_token("abc").unwrap());
        assert_eq!(s.tokens().unwrap().len(), 1);
    }
}
