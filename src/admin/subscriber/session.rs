//! Web sessions of subscribers: signing in with extension and PIN gives a
//! random `mailbox:EXT` token carried by an `HttpOnly; SameSite=Strict`
//! cookie (`Secure` over HTTPS), good for 8 hours or until signing out, and a
//! CSRF token that every change must send back. Kept in memory: a restart
//! signs everyone out, and no session ever reaches the store's token list
//! (which the API scans per request).

use crate::tokens::{Principal, Role};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const COOKIE: &str = "openum_session";
const LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// More sessions than this: the oldest go first (a flood of sign-ins cannot
/// grow memory without bound).
const MAX: usize = 10_000;

struct Session {
    extension: String,
    csrf: String,
    until: Instant,
}

#[derive(Default)]
pub struct Sessions {
    by_hash: Mutex<HashMap<String, Session>>,
}

/// A signed-in subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub extension: String,
    pub csrf: String,
    /// The SHA-256 of the session token (its id).
    pub id: String,
}

impl Subscriber {
    pub fn principal(&self) -> Principal {
        Principal {
            id: format!("web-{}", &self.id[..12]),
            role: Role::Mailbox(self.extension.clone()),
        }
    }
}

impl Sessions {
    /// A new session for `extension`: (cookie token, CSRF token).
    pub fn open(&self, extension: &str, now: Instant) -> (String, String) {
        let token = crate::tokens::generate();
        let csrf = crate::tokens::generate();
        let mut m = self.by_hash.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|_, s| s.until > now);
        if m.len() >= MAX
            && let Some(oldest) = m
                .iter()
                .min_by_key(|(_, s)| s.until)
                .map(|(k, _)| k.clone())
        {
            m.remove(&oldest);
        }
        m.insert(
            crate::tokens::hash(&token),
            Session {
                extension: extension.to_string(),
                csrf: csrf.clone(),
                until: now + LIFETIME,
            },
        );
        (token, csrf)
    }

    /// Whose session this cookie token is, if it is live.
    pub fn check(&self, token: &str, now: Instant) -> Option<Subscriber> {
        let h = crate::tokens::hash(token);
        let m = self.by_hash.lock().unwrap_or_else(|p| p.into_inner());
        let s = m.get(&h).filter(|s| s.until > now)?;
        Some(Subscriber {
            extension: s.extension.clone(),
            csrf: s.csrf.clone(),
            id: h,
        })
    }

    pub fn close(&self, token: &str) {
        let h = crate::tokens::hash(token);
        self.by_hash
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&h);
    }
}

/// The session token in a `Cookie` header.
pub fn from_cookie_header(h: &str) -> Option<String> {
    h.split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// `Set-Cookie` for a new session (`secure` over HTTPS).
pub fn set_cookie(token: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        LIFETIME.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_lives_until_it_expires_or_is_closed() {
        let s = Sessions::default();
        let t0 = Instant::now();
        let (tok, csrf) = s.open("1001", t0);
        let who = s.check(&tok, t0).unwrap();
        assert_eq!(
            (who.extension.as_str(), who.csrf.as_str()),
            ("1001", csrf.as_str())
        );
        assert_eq!(who.principal().role, Role::Mailbox("1001".into()));
        assert!(s.check("oum_forged", t0).is_none());
        assert!(
            s.check(&tok, t0 + LIFETIME + Duration::from_secs(1))
                .is_none()
        );
        s.close(&tok);
        assert!(s.check(&tok, t0).is_none());
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_tls() {
        assert_eq!(
            from_cookie_header("a=1; openum_session=oum_x; b=2").as_deref(),
            Some("oum_x")
        );
        let c = set_cookie("oum_x", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("Secure"));
        assert!(!set_cookie("oum_x", false).contains("Secure"));
    }
}
