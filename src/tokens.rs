//! API bearer tokens: made (`openum token new --role admin|mailbox:EXT`), kept
//! hashed (SHA-256) in the store, checked on every admin API request. A token
//! is `oum_` and 43 characters of base64url (256 random bits), shown once.
//!
//! Also the local admin credential: a token made at every start, kept in
//! memory only, written to `DATA/admin.token` readable by the service's user
//! only, so the CLI on the same machine reaches the API of the server it runs
//! beside. Depends on `store::objects` types only.

use crate::store::StoreError;
use crate::store::objects::{ObjectStore, TokenRecord};
use base64::Engine;
use rand::RngCore;
use std::path::{Path, PathBuf};

/// What a token may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Everything.
    Admin,
    /// One mailbox's messages, greetings and status.
    Mailbox(String),
}

impl Role {
    pub fn parse(s: &str) -> Result<Role, String> {
        match s.split_once(':') {
            None if s == "admin" => Ok(Role::Admin),
            Some(("mailbox", ext))
                if !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_digit()) =>
            {
                Ok(Role::Mailbox(ext.to_string()))
            }
            _ => Err(format!("role {s:?}: use admin or mailbox:EXTENSION")),
        }
    }

    pub fn name(&self) -> String {
        match self {
            Role::Admin => "admin".into(),
            Role::Mailbox(e) => format!("mailbox:{e}"),
        }
    }
}

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's id (`local` for the local admin credential).
    pub id: String,
    pub role: Role,
}

impl Principal {
    /// How the audit trail names it.
    pub fn who(&self) -> String {
        format!("token {} ({})", self.id, self.role.name())
    }
}

pub fn hash(token: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random token.
pub fn generate() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    format!(
        "oum_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    )
}

/// Make and keep a token; returns it (the only time it is seen) and its record.
pub fn create(
    store: &dyn ObjectStore,
    role: &Role,
    label: Option<String>,
    now: std::time::SystemTime,
) -> Result<(String, TokenRecord), StoreError> {
    let token = generate();
    let h = hash(&token);
    let rec = TokenRecord {
        id: h[..12].to_string(),
        hash: h,
        role: role.name(),
        created_at: humantime::format_rfc3339_seconds(now).to_string(),
        label,
    };
    store.put_token(&rec)?;
    Ok((token, rec))
}

/// Whose token this is: the local credential (its hash), or a stored one.
pub fn check(
    token: &str,
    local_hash: &str,
    store: Option<&dyn ObjectStore>,
) -> Result<Option<Principal>, StoreError> {
    // Hashes are compared, not tokens: a timing difference would tell how many
    // leading digits of a SHA-256 match, which brings no token any nearer.
    let h = hash(token);
    if h == local_hash {
        return Ok(Some(Principal {
            id: "local".into(),
            role: Role::Admin,
        }));
    }
    let Some(store) = store else { return Ok(None) };
    for r in store.tokens()? {
        if r.hash == h {
            let Ok(role) = Role::parse(&r.role) else {
                tracing::warn!(event = "token_role_unknown", id = %r.id, role = %r.role);
                return Ok(None);
            };
            return Ok(Some(Principal { id: r.id, role }));
        }
    }
    Ok(None)
}

pub fn local_path(data: &Path) -> PathBuf {
    data.join("admin.token")
}

/// Write the local admin credential, readable by this user only.
pub fn write_local(data: &Path, token: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = data.join("admin.token.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(token.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(tmp, local_path(data))
}

/// The local admin credential of a running server in `data`, if readable.
pub fn read_local(data: &Path) -> Option<String> {
    std::fs::read_to_string(local_path(data))
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sled::SledStore;

    #[test]
    fn tokens_are_kept_hashed_and_checked_by_role() {
        let dir = tempfile::tempdir().unwrap();
        let s = SledStore::open(dir.path()).unwrap();
        let (t, rec) = create(
            &s,
            &Role::Mailbox("1002".into()),
            None,
            std::time::SystemTime::now(),
        )
        .unwrap();
        assert!(t.starts_with("oum_") && t.len() == 47, "{t}");
        assert!(
            !serde_json::to_string(&s.tokens().unwrap())
                .unwrap()
                .contains(&t)
        );
        let local = generate();
        let p = check(&t, &hash(&local), Some(&s)).unwrap().unwrap();
        assert_eq!(p.role, Role::Mailbox("1002".into()));
        assert_eq!(p.id, rec.id);
        assert_eq!(
            check(&local, &hash(&local), None).unwrap().unwrap().role,
            Role::Admin
        );
        assert_eq!(check("oum_wrong", &hash(&local), Some(&s)).unwrap(), None);
        s.remove_token(&rec.id).unwrap();
        assert_eq!(check(&t, &hash(&local), Some(&s)).unwrap(), None, "revoked");
    }

    #[test]
    fn roles_parse_strictly() {
        assert_eq!(Role::parse("admin").unwrap(), Role::Admin);
        assert_eq!(Role::parse("mailbox:1001").unwrap().name(), "mailbox:1001");
        for bad in ["root", "mailbox:", "mailbox:10a1", "admin:x"] {
            assert!(Role::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_local_credential_is_private_to_its_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        write_local(dir.path(), "oum_x").unwrap();
        let mode = std::fs::metadata(local_path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read_local(dir.path()).as_deref(), Some("oum_x"));
    }
}
