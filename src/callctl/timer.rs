//! SIP session timers as UAS (RFC 4028), sans-IO: what an INVITE (or a
//! refresh: re-INVITE, UPDATE per RFC 3311) asks for, the 422 for an interval
//! under our Min-SE (§8.1), the headers of our 2xx (§9), and when the session
//! next needs attention: our refresh at half the interval when we are the
//! refresher (§10), or, when the peer is, the BYE a little before the interval
//! ends with no refresh (§10: the smaller of 32 s and a third of it).
//!
//! Depends on `sip::msg` only; time comes in as `Instant`s.

use crate::sip::msg::{self, Request};
use std::time::{Duration, Instant};

/// Our Min-SE: RFC 4028 §4 forbids less than 90 s.
pub const MIN_SE: u32 = 90;
/// What we allow when an offer asks for more (a lost BYE holds a call slot at
/// most this long; the RTP inactivity limit usually ends it sooner).
pub const MAX_SE: u32 = 7200;

/// Who sends the refreshes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    Uac,
    Uas,
}

impl Refresher {
    pub fn name(self) -> &'static str {
        match self {
            Refresher::Uac => "uac",
            Refresher::Uas => "uas",
        }
    }
}

/// What a request asked of the session timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// No Session-Expires: no session timer.
    None,
    /// Below our Min-SE (or the request's own): 422 with `Min-SE: min`.
    TooSmall {
        min: u32,
    },
    Timer(Params),
}

/// The session timer agreed for a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub interval: u32,
    pub refresher: Refresher,
    /// The peer supports the extension (it lists `timer` in Supported or
    /// Require): our 2xx may then Require it.
    pub peer_supports: bool,
}

fn delta(v: &str) -> Option<u32> {
    v.split(';').next()?.trim().parse().ok()
}

fn lists_timer(req: &Request, header: &str) -> bool {
    req.headers
        .get_all(header)
        .flat_map(msg::split_commas)
        .any(|t| t.trim().eq_ignore_ascii_case("timer"))
}

/// What `req` asks for (RFC 4028 §9).
pub fn ask(req: &Request) -> Ask {
    let Some(se) = req.headers.get("Session-Expires") else {
        return Ask::None;
    };
    let Some(interval) = delta(se) else {
        return Ask::None; // unparsable: treated as absent (§9 leaves it to us)
    };
    let their_min = req.headers.get("Min-SE").and_then(delta).unwrap_or(0);
    let min = MIN_SE.max(their_min);
    if interval < min {
        return Ask::TooSmall { min };
    }
    let peer_supports = lists_timer(req, "Supported") || lists_timer(req, "Require");
    let refresher = match msg::header_param(se, "refresher") {
        Some(r) if r.eq_ignore_ascii_case("uas") => Refresher::Uas,
        Some(r) if r.eq_ignore_ascii_case("uac") => Refresher::Uac,
        // §9: none given; a peer that supports timers refreshes, one that does
        // not cannot, so we do.
        _ if peer_supports => Refresher::Uac,
        _ => Refresher::Uas,
    };
    Ask::Timer(Params {
        interval: interval.min(MAX_SE),
        refresher,
        peer_supports,
    })
}

/// The headers of our 2xx (§9).
pub fn response_headers(p: &Params) -> Vec<(&'static str, String)> {
    let mut h = vec![(
        "Session-Expires",
        format!("{};refresher={}", p.interval, p.refresher.name()),
    )];
    if p.peer_supports {
        h.push(("Require", "timer".into()));
    }
    h
}

/// A running session timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimer {
    pub p: Params,
    /// The last refresh (or the session's start).
    since: Instant,
    /// Our refresh is out, not answered yet.
    pub refreshing: bool,
}

/// What is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Send a refresh (we are the refresher).
    Refresh,
    /// No refresh came: end the session with BYE.
    Expire,
}

impl SessionTimer {
    pub fn new(p: Params, now: Instant) -> Self {
        SessionTimer {
            p,
            since: now,
            refreshing: false,
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(self.p.interval as u64)
    }

    /// When the session expires unless refreshed: our BYE goes out then.
    pub fn expiry(&self) -> Instant {
        let i = self.interval();
        self.since + i - (i / 3).min(Duration::from_secs(32))
    }

    /// The next moment something is due, and what.
    pub fn next(&self) -> (Instant, Due) {
        match self.p.refresher {
            Refresher::Uas if !self.refreshing => (self.since + self.interval() / 2, Due::Refresh),
            _ => (self.expiry(), Due::Expire),
        }
    }

    /// A refresh arrived (the peer's), or ours was answered 2xx; `p` what it
    /// agreed (a refresh may change the interval and refresher, §9).
    pub fn refreshed(&mut self, now: Instant, p: Option<Params>) {
        if let Some(p) = p {
            self.p = p;
        }
        self.since = now;
        self.refreshing = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(headers: &[(&str, &str)]) -> Request {
        let mut text = String::from(
            "INVITE sip:1001@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
From: <sip:a@x>;tag=1\r\nTo: <sip:1001@x>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n",
        );
        for (n, v) in headers {
            text.push_str(&format!("{n}: {v}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        match crate::sip::msg::parse(text.as_bytes()).unwrap() {
            crate::sip::msg::Message::Request(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn what_requests_ask_for() {
        assert_eq!(ask(&invite(&[])), Ask::None);
        assert_eq!(
            ask(&invite(&[("Session-Expires", "60")])),
            Ask::TooSmall { min: 90 }
        );
        assert_eq!(
            ask(&invite(&[("Session-Expires", "100"), ("Min-SE", "120")])),
            Ask::TooSmall { min: 120 }
        );
        // Require: timer, Session-Expires: 90, no refresher: the UAC refreshes.
        let p = Params {
            interval: 90,
            refresher: Refresher::Uac,
            peer_supports: true,
        };
        assert_eq!(
            ask(&invite(&[("Require", "timer"), ("Session-Expires", "90")])),
            Ask::Timer(p)
        );
        assert_eq!(
            response_headers(&p),
            [
                ("Session-Expires", "90;refresher=uac".to_string()),
                ("Require", "timer".to_string())
            ]
        );
        // The compact form, refresher=uas, a peer without the extension.
        let Ask::Timer(p) = ask(&invite(&[("x", "1800;refresher=uas")])) else {
            panic!()
        };
        assert_eq!(
            (p.interval, p.refresher, p.peer_supports),
            (1800, Refresher::Uas, false)
        );
        assert_eq!(response_headers(&p).len(), 1);
        // No refresher and no support: we must refresh; huge intervals capped.
        let Ask::Timer(p) = ask(&invite(&[("Session-Expires", "86400")])) else {
            panic!()
        };
        assert_eq!((p.interval, p.refresher), (MAX_SE, Refresher::Uas));
    }

    #[test]
    fn refresh_and_expiry_in_virtual_time() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let uac = Params {
            interval: 90,
            refresher: Refresher::Uac,
            peer_supports: true,
        };
        let mut t = SessionTimer::new(uac, t0);
        // The peer refreshes: the BYE is due 30 s (a third) before 90 s.
        assert_eq!(t.next(), (t0 + 60 * s, Due::Expire));
        t.refreshed(t0 + 45 * s, None);
        assert_eq!(t.next(), (t0 + 105 * s, Due::Expire));
        // Longer intervals: 32 s before.
        t.refreshed(
            t0 + 50 * s,
            Some(Params {
                interval: 1800,
                ..uac
            }),
        );
        assert_eq!(t.expiry(), t0 + (50 + 1800 - 32) * s);
        // We refresh at half the interval; while ours is out, expiry rules.
        let mut t = SessionTimer::new(
            Params {
                refresher: Refresher::Uas,
                ..uac
            },
            t0,
        );
        assert_eq!(t.next(), (t0 + 45 * s, Due::Refresh));
        t.refreshing = true;
        assert_eq!(t.next(), (t0 + 60 * s, Due::Expire));
        t.refreshed(t0 + 46 * s, None);
        assert_eq!(t.next(), (t0 + 91 * s, Due::Refresh));
    }
}
