//! PIN administration over the store (Set-UMMailboxPIN and unlocking), shared by
//! the CLI (server stopped) and the admin API (server running): set a PIN chosen
//! by the admin or generated, checked against the mailbox policy (length, trivial
//! PINs, history), optionally expired so it must be changed at the next logon;
//! unlock a mailbox locked by failed logons; report a mailbox's PIN status.
//! PINs are hashed before they reach the store and never logged.

use super::{MailboxStore, PinState};
use crate::directory::{Directory, pin};
use rand::Rng;
use serde::Serialize;
use std::time::{Duration, SystemTime};

/// What `openum mailbox get` shows (never a hash).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PinStatus {
    pub extension: String,
    pub display_name: String,
    pub dial_plan: String,
    pub policy: String,
    pub pin_set: bool,
    pub pin_set_at: Option<String>,
    /// When the PIN's lifetime ends (policy PIN lifetime), if it does.
    pub pin_expires_at: Option<String>,
    pub pin_expired: bool,
    pub failed_logons: u32,
    pub locked: bool,
    /// Messages kept (not deleted), their total length, and the policy's quotas.
    pub messages: u32,
    pub stored_seconds: u64,
    pub max_messages: Option<u32>,
    pub max_stored_minutes: Option<u64>,
    pub deleted_retention_days: u32,
}

/// How to set a PIN.
#[derive(Debug, Clone)]
pub enum NewPin {
    Given(String),
    Generate,
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn parse_time(s: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(s).ok()
}

/// A mailbox and its policy, or why not.
fn mailbox_and_policy<'a>(
    dir: &'a Directory,
    extension: &str,
) -> Result<
    (
        &'a crate::directory::UmMailbox,
        &'a crate::directory::MailboxPolicy,
    ),
    String,
> {
    let mb = dir
        .mailbox_any(extension)
        .ok_or_else(|| format!("no UM mailbox with extension {extension}"))?;
    let policy = dir
        .mailbox_policy(mb)
        .ok_or_else(|| format!("mailbox {extension}: no policy {}", mb.policy))?;
    Ok((mb, policy))
}

/// The hashes of the current and earlier PINs, newest first, `n` at most (what
/// the policy's PIN history forbids).
pub fn recent_hashes(
    store: &dyn MailboxStore,
    extension: &str,
    n: usize,
) -> Result<Vec<String>, String> {
    let old = store.pin_state(extension).map_err(|e| e.to_string())?;
    Ok(old
        .iter()
        .flat_map(|s| std::iter::once(s.hash.clone()).chain(s.history.iter().cloned()))
        .take(n)
        .collect())
}

/// Why a PIN was not set: the policy rule it breaks, or anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetPinError {
    Refused(pin::PinRefusal),
    Failed(String),
}

impl From<String> for SetPinError {
    fn from(s: String) -> Self {
        SetPinError::Failed(s)
    }
}

/// Set a mailbox's PIN. Returns the PIN when it was generated (to tell the user),
/// or a refusal naming the policy rule.
pub fn set_pin(
    store: &dyn MailboxStore,
    dir: &Directory,
    extension: &str,
    how: NewPin,
    expired: bool,
    now: SystemTime,
) -> Result<Option<String>, String> {
    set_pin_checked(store, dir, extension, how, expired, now).map_err(|e| match e {
        SetPinError::Refused(r) => format!("PIN refused for {extension}: {r}"),
        SetPinError::Failed(s) => s,
    })
}

/// As [`set_pin`], with the broken rule as a value (the phone says it).
pub fn set_pin_checked(
    store: &dyn MailboxStore,
    dir: &Directory,
    extension: &str,
    how: NewPin,
    expired: bool,
    now: SystemTime,
) -> Result<Option<String>, SetPinError> {
    let (state, generated) = prepare_pin(store, dir, extension, how, expired, now)?;
    store
        .set_pin_state(extension, &state)
        .map_err(|e| e.to_string())?;
    Ok(generated)
}

/// The PIN state a new PIN gives (checked against the mailbox's policy and PIN
/// history in `dir`), without writing it: Enable-UMMailbox writes it in the
/// same commit as the mailbox. Also the PIN when it was generated.
pub fn prepare_pin(
    store: &dyn MailboxStore,
    dir: &Directory,
    extension: &str,
    how: NewPin,
    expired: bool,
    now: SystemTime,
) -> Result<(PinState, Option<String>), SetPinError> {
    let (_, policy) = mailbox_and_policy(dir, extension)?;
    let history = recent_hashes(store, extension, policy.pin_history)?;
    let (pin, generated) = match how {
        NewPin::Given(p) => (p, false),
        NewPin::Generate => {
            let mut rng = rand::thread_rng();
            let len = policy.min_pin_length;
            // Random digits until one passes every rule (nearly always the first).
            let p = (0..1000)
                .map(|_| {
                    (0..len)
                        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
                        .collect::<String>()
                })
                .find(|p| pin::check_new_pin(p, extension, len, &history).is_ok())
                .ok_or_else(|| {
                    SetPinError::Failed("could not generate a PIN that passes the policy".into())
                })?;
            (p, true)
        }
    };
    pin::check_new_pin(&pin, extension, policy.min_pin_length, &history)
        .map_err(SetPinError::Refused)?;
    let mut salt = [0u8; 16];
    rand::thread_rng().fill(&mut salt);
    let hash = pin::hash_pin(&pin, salt).map_err(|e| e.to_string())?;
    let mut earlier = history;
    earlier.truncate(policy.pin_history.saturating_sub(1).max(1));
    let state = PinState {
        hash,
        set_at: rfc3339(now),
        history: earlier,
        failures: 0,
        locked: false,
        expired,
    };
    Ok((state, generated.then_some(pin)))
}

/// Unlock a mailbox locked by failed logons (its PIN stays).
pub fn unlock(store: &dyn MailboxStore, extension: &str) -> Result<bool, String> {
    let Some(mut s) = store.pin_state(extension).map_err(|e| e.to_string())? else {
        return Err(format!("mailbox {extension} has no PIN"));
    };
    let was = s.locked;
    s.locked = false;
    s.failures = 0;
    store
        .set_pin_state(extension, &s)
        .map_err(|e| e.to_string())?;
    Ok(was)
}

/// How a logon by phone ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logon {
    /// The PIN is right; `must_change` when it is expired (set so by the admin,
    /// or past the policy's PIN lifetime).
    Ok { must_change: bool },
    /// Wrong PIN: the consecutive failures so far, and whether this one locked
    /// the mailbox.
    Wrong { failures: u32, locked: bool },
    /// Locked by earlier failures (the PIN is not even checked).
    Locked,
    /// The mailbox has no PIN yet: no logon by phone.
    NoPin,
}

/// Check a PIN typed at logon. Failures are counted in the store (they survive
/// restarts); the policy's failure limit locks the mailbox until an admin resets
/// the PIN or unlocks it; a right PIN resets the count.
pub fn logon(
    store: &dyn MailboxStore,
    dir: &Directory,
    extension: &str,
    typed: &str,
    now: SystemTime,
) -> Result<Logon, String> {
    let (_, policy) = mailbox_and_policy(dir, extension)?;
    let Some(mut s) = store.pin_state(extension).map_err(|e| e.to_string())? else {
        return Ok(Logon::NoPin);
    };
    if s.locked {
        return Ok(Logon::Locked);
    }
    if pin::verify_pin(typed, &s.hash) {
        if s.failures != 0 {
            s.failures = 0;
            store
                .set_pin_state(extension, &s)
                .map_err(|e| e.to_string())?;
        }
        let ends = parse_time(&s.set_at)
            .filter(|_| policy.pin_lifetime_days > 0)
            .map(|t| t + Duration::from_secs(policy.pin_lifetime_days as u64 * 86_400));
        let must_change = s.expired || ends.is_some_and(|e| e <= now);
        return Ok(Logon::Ok { must_change });
    }
    s.failures += 1;
    let locked = policy.max_logon_failures > 0 && s.failures >= policy.max_logon_failures;
    s.locked = locked;
    store
        .set_pin_state(extension, &s)
        .map_err(|e| e.to_string())?;
    Ok(Logon::Wrong {
        failures: s.failures,
        locked,
    })
}

/// A mailbox and its PIN status at `now`.
pub fn status(
    store: &dyn MailboxStore,
    dir: &Directory,
    extension: &str,
    now: SystemTime,
) -> Result<PinStatus, String> {
    let mb = dir
        .mailbox_any(extension)
        .ok_or_else(|| format!("no UM mailbox with extension {extension}"))?;
    let policy = dir.mailbox_policy(mb);
    let lifetime = policy.map_or(0, |p| p.pin_lifetime_days);
    let usage = store.usage(extension).map_err(|e| e.to_string())?;
    let s = store.pin_state(extension).map_err(|e| e.to_string())?;
    let set_at = s.as_ref().and_then(|s| parse_time(&s.set_at));
    let ends = set_at
        .filter(|_| lifetime > 0)
        .map(|t| t + Duration::from_secs(lifetime as u64 * 86_400));
    Ok(PinStatus {
        extension: mb.extension.clone(),
        display_name: mb.display_name.clone(),
        dial_plan: mb.dial_plan.clone(),
        policy: mb.policy.clone(),
        pin_set: s.is_some(),
        pin_set_at: set_at.map(rfc3339),
        pin_expires_at: ends.map(rfc3339),
        pin_expired: s.as_ref().is_some_and(|s| s.expired) || ends.is_some_and(|e| e <= now),
        failed_logons: s.as_ref().map_or(0, |s| s.failures),
        locked: s.as_ref().is_some_and(|s| s.locked),
        messages: usage.messages,
        stored_seconds: usage.stored_ms / 1000,
        max_messages: policy.and_then(|p| p.max_messages),
        max_stored_minutes: policy.and_then(|p| p.max_stored).map(|d| d.as_secs() / 60),
        deleted_retention_days: policy.map_or(0, |p| p.deleted_retention_days),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::sled::SledStore;

    #[test]
    fn set_generate_history_expiry_and_unlock() {
        let dir = Config::demo().unwrap().directory;
        let tmp = tempfile::tempdir().unwrap();
        let store = SledStore::open(tmp.path()).unwrap();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        // Policy rules, each named.
        let e = set_pin(
            &store,
            &dir,
            "1001",
            NewPin::Given("1234".into()),
            false,
            t0,
        )
        .unwrap_err();
        assert!(e.contains("minimum PIN length"), "{e}");
        let e = set_pin(
            &store,
            &dir,
            "1001",
            NewPin::Given("123456".into()),
            false,
            t0,
        )
        .unwrap_err();
        assert!(e.contains("trivial PIN"), "{e}");
        assert!(set_pin(&store, &dir, "9999", NewPin::Generate, false, t0).is_err());
        assert_eq!(
            set_pin(
                &store,
                &dir,
                "1001",
                NewPin::Given("135790".into()),
                false,
                t0
            ),
            Ok(None)
        );
        // The same PIN again: history.
        let e = set_pin(
            &store,
            &dir,
            "1001",
            NewPin::Given("135790".into()),
            false,
            t0,
        )
        .unwrap_err();
        assert!(e.contains("PIN history"), "{e}");
        // Generated, expired: it must be changed at the next logon.
        let g = set_pin(&store, &dir, "1001", NewPin::Generate, true, t0)
            .unwrap()
            .unwrap();
        assert_eq!(g.len(), 6);
        assert!(pin::verify_pin(
            &g,
            &store.pin_hash("1001").unwrap().unwrap()
        ));
        let st = status(&store, &dir, "1001", t0).unwrap();
        assert!(st.pin_set && st.pin_expired && !st.locked);
        assert_eq!(st.pin_expires_at.as_deref(), Some("2027-03-16T08:00:00Z"));
        // The lifetime runs out by itself too.
        set_pin(
            &store,
            &dir,
            "1001",
            NewPin::Given("975318".into()),
            false,
            t0,
        )
        .unwrap();
        assert!(!status(&store, &dir, "1001", t0).unwrap().pin_expired);
        let later = t0 + Duration::from_secs(61 * 86_400);
        assert!(status(&store, &dir, "1001", later).unwrap().pin_expired);
        // Unlock clears a lockout and the failure count, and keeps the PIN.
        let mut s = store.pin_state("1001").unwrap().unwrap();
        s.locked = true;
        s.failures = 5;
        store.set_pin_state("1001", &s).unwrap();
        assert!(status(&store, &dir, "1001", t0).unwrap().locked);
        assert_eq!(unlock(&store, "1001"), Ok(true));
        let st = status(&store, &dir, "1001", t0).unwrap();
        assert!(!st.locked && st.failed_logons == 0);
        assert!(pin::verify_pin(
            "975318",
            &store.pin_hash("1001").unwrap().unwrap()
        ));
        assert!(unlock(&store, "1002").is_err());
        // Logon: wrong PINs count up, in the store, and the fifth locks.
        assert_eq!(logon(&store, &dir, "1002", "111111", t0), Ok(Logon::NoPin));
        for n in 1..=4 {
            assert_eq!(
                logon(&store, &dir, "1001", "000000", t0),
                Ok(Logon::Wrong {
                    failures: n,
                    locked: false
                })
            );
        }
        assert_eq!(
            logon(&store, &dir, "1001", "975318", t0),
            Ok(Logon::Ok { must_change: false })
        );
        assert_eq!(status(&store, &dir, "1001", t0).unwrap().failed_logons, 0);
        for _ in 0..4 {
            logon(&store, &dir, "1001", "000000", t0).unwrap();
        }
        assert_eq!(
            logon(&store, &dir, "1001", "000000", t0),
            Ok(Logon::Wrong {
                failures: 5,
                locked: true
            })
        );
        assert_eq!(logon(&store, &dir, "1001", "975318", t0), Ok(Logon::Locked));
        unlock(&store, "1001").unwrap();
        assert_eq!(
            logon(&store, &dir, "1001", "975318", later),
            Ok(Logon::Ok { must_change: true })
        );
        // A state written by an earlier version (the bare hash) still reads.
        let h = pin::hash_pin("864202", [3; 16]).unwrap();
        store.db_insert_raw("p/1002", h.as_bytes());
        assert_eq!(store.pin_hash("1002").unwrap().as_deref(), Some(h.as_str()));
    }
}
