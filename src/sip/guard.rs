//! The SIP front door under flood, sans-IO (time is an argument): a per-source
//! rate limit in the spirit of Kamailio's pike module, checked before a message is
//! parsed, and load shedding when the SIP core falls behind.
//!
//! - **Per source.** Each source address has a token bucket (`rate` messages a
//!   second, bursts up to one second's worth). Configured IP gateways get the
//!   service's `sip_rate_limit_per_source` (an SBC carries a whole PBX's calls);
//!   any other address `sip_rate_limit_untrusted` (it can only be refused 403
//!   anyway). A source that empties its bucket is blocked for [`BLOCK`]: its
//!   messages are dropped unparsed (the cheapest thing a server can do), and the
//!   block is reported once (`event="source_blocked"`). The table is bounded
//!   ([`MAX_SOURCES`]); when full, unknown untrusted sources are dropped (a
//!   spoofed-address flood cannot grow it).
//! - **Shedding.** The delay between a datagram's arrival at the socket and its
//!   handling by the endpoint is the SIP core's queue delay. Its moving average
//!   above `sip_shed_queue_delay_ms` turns shedding on (off again below half of
//!   it): new requests (INVITE, OPTIONS, SUBSCRIBE out of dialog) are then
//!   answered 503 with Retry-After without routing, while everything in a dialog
//!   (ACK, BYE, re-INVITE, responses) still passes, so admitted calls keep clean
//!   signalling and media.
//!
//! Depends on `std` only.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How long a source that exceeded its rate stays blocked.
pub const BLOCK: Duration = Duration::from_secs(10);
/// Sources tracked at most.
pub const MAX_SOURCES: usize = 65_536;
/// Retry-After of a shed request, seconds.
pub const RETRY_AFTER: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardConfig {
    /// Messages a second from one configured IP gateway.
    pub trusted_rate: u32,
    /// Messages a second from any other address.
    pub untrusted_rate: u32,
    /// Queue delay (moving average) above which new requests are shed.
    pub shed_delay: Duration,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            trusted_rate: 10_000,
            untrusted_rate: 20,
            shed_delay: Duration::from_millis(200),
        }
    }
}

/// What to do with one inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle it.
    Pass,
    /// Handle it, but answer a new request 503 (the core is behind).
    Shed,
    /// Drop it unparsed. `newly_blocked`: this message blocked its source (log it).
    Drop { newly_blocked: bool },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    blocked_until: Option<Instant>,
}

#[derive(Debug)]
pub struct Guard {
    cfg: GuardConfig,
    sources: HashMap<IpAddr, Bucket>,
    /// Moving average of the queue delay, µs.
    delay_us: f64,
    shedding: bool,
    last_sweep: Option<Instant>,
    pub dropped: u64,
    pub shed: u64,
}

impl Guard {
    pub fn new(cfg: GuardConfig) -> Guard {
        Guard {
            cfg,
            sources: HashMap::new(),
            delay_us: 0.0,
            shedding: false,
            last_sweep: None,
            dropped: 0,
            shed: 0,
        }
    }

    pub fn is_shedding(&self) -> bool {
        self.shedding
    }

    /// One message from `ip` (a configured gateway when `trusted`), which waited
    /// `queue_delay` between the socket and now.
    pub fn check(
        &mut self,
        now: Instant,
        ip: IpAddr,
        trusted: bool,
        queue_delay: Duration,
    ) -> Verdict {
        self.observe_delay(queue_delay);
        self.sweep(now);
        let rate = if trusted {
            self.cfg.trusted_rate
        } else {
            self.cfg.untrusted_rate
        } as f64;
        if !self.sources.contains_key(&ip) && self.sources.len() >= MAX_SOURCES && !trusted {
            self.dropped += 1;
            return Verdict::Drop {
                newly_blocked: false,
            };
        }
        let b = self.sources.entry(ip).or_insert(Bucket {
            tokens: rate,
            at: now,
            blocked_until: None,
        });
        if let Some(until) = b.blocked_until {
            if now < until {
                self.dropped += 1;
                return Verdict::Drop {
                    newly_blocked: false,
                };
            }
            // The block is over: a fresh second's worth.
            b.blocked_until = None;
            b.tokens = rate;
            b.at = now;
        }
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(rate);
        b.at = now;
        if b.tokens < 1.0 {
            b.blocked_until = Some(now + BLOCK);
            self.dropped += 1;
            return Verdict::Drop {
                newly_blocked: true,
            };
        }
        b.tokens -= 1.0;
        if self.shedding {
            Verdict::Shed
        } else {
            Verdict::Pass
        }
    }

    /// A 503 was sent for a shed request (counted for the metrics).
    pub fn note_shed(&mut self) {
        self.shed += 1;
    }

    fn observe_delay(&mut self, d: Duration) {
        // About the last 32 messages: quick to react to a backlog, deaf to one
        // late message.
        self.delay_us += (d.as_micros() as f64 - self.delay_us) / 32.0;
        let on = self.cfg.shed_delay.as_micros() as f64;
        if !self.shedding && self.delay_us > on {
            self.shedding = true;
        } else if self.shedding && self.delay_us < on / 2.0 {
            self.shedding = false;
        }
    }

    /// Forget sources idle (full bucket, not blocked) for a while: memory stays
    /// bounded by the active sources.
    fn sweep(&mut self, now: Instant) {
        if self
            .last_sweep
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(10))
        {
            return;
        }
        self.last_sweep = Some(now);
        self.sources.retain(|_, b| {
            b.blocked_until.is_some_and(|u| u > now)
                || now.saturating_duration_since(b.at) < Duration::from_secs(10)
        });
    }

    pub fn sources(&self) -> usize {
        self.sources.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GW: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const X: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 9));
    const FAST: Duration = Duration::from_micros(50);

    fn guard() -> Guard {
        Guard::new(GuardConfig {
            trusted_rate: 100,
            untrusted_rate: 10,
            shed_delay: Duration::from_millis(200),
        })
    }

    #[test]
    fn a_source_over_its_rate_is_blocked_then_let_back() {
        let mut g = guard();
        let t0 = Instant::now();
        // An untrusted burst of 10 passes, the 11th blocks the source.
        let verdicts: Vec<Verdict> = (0..12).map(|_| g.check(t0, X, false, FAST)).collect();
        assert!(verdicts[..10].iter().all(|v| *v == Verdict::Pass));
        assert_eq!(
            verdicts[10],
            Verdict::Drop {
                newly_blocked: true
            }
        );
        assert_eq!(
            verdicts[11],
            Verdict::Drop {
                newly_blocked: false
            }
        );
        // Blocked for BLOCK even if it slows down...
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(
            g.check(t1, X, false, FAST),
            Verdict::Drop {
                newly_blocked: false
            }
        );
        // ...and back after it.
        let t2 = t0 + BLOCK + Duration::from_millis(1);
        assert_eq!(g.check(t2, X, false, FAST), Verdict::Pass);
        // The gateway, meanwhile, was never limited at its own rate.
        for i in 0..100 {
            let t = t0 + Duration::from_millis(i * 10); // 100 a second
            assert_eq!(g.check(t, GW, true, FAST), Verdict::Pass, "message {i}");
        }
        assert_eq!(g.dropped, 3);
    }

    #[test]
    fn a_steady_rate_under_the_limit_is_never_blocked() {
        let mut g = guard();
        let t0 = Instant::now();
        for i in 0..10_000u64 {
            // 9 a second from an untrusted source, for 1,111 s.
            let t = t0 + Duration::from_millis(i * 111);
            assert_eq!(g.check(t, X, false, FAST), Verdict::Pass, "message {i}");
        }
    }

    #[test]
    fn shedding_follows_the_queue_delay_with_hysteresis() {
        let mut g = guard();
        let t = Instant::now();
        let slow = Duration::from_millis(600);
        let mut shed_at = None;
        for i in 0..64 {
            if g.check(t + Duration::from_millis(i), GW, true, slow) == Verdict::Shed {
                shed_at.get_or_insert(i);
            }
        }
        // One late message is not enough; a backlog of them is.
        let first = shed_at.expect("shedding never began");
        assert!(first > 5, "shed after {first} late messages");
        assert!(g.is_shedding());
        // Delay back to normal: shedding stops once the average is below half.
        let mut passes = 0;
        for i in 0..200 {
            // 50 a second: within the gateway's rate.
            if g.check(t + Duration::from_millis(100 + i * 20), GW, true, FAST) == Verdict::Pass {
                passes += 1;
            }
        }
        assert!(!g.is_shedding());
        // About 50 messages bring the average under half the threshold.
        assert!((120..=170).contains(&passes), "{passes}");
    }

    #[test]
    fn the_source_table_is_bounded_and_swept() {
        let mut g = guard();
        let t0 = Instant::now();
        for i in 0..(MAX_SOURCES as u32 + 10) {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0b00_0000 + i));
            g.check(t0, ip, false, FAST);
        }
        assert_eq!(g.sources(), MAX_SOURCES);
        // A gateway still gets in when the table is full.
        assert_eq!(g.check(t0, GW, true, FAST), Verdict::Pass);
        // Idle sources are forgotten.
        g.check(t0 + Duration::from_secs(30), GW, true, FAST);
        assert_eq!(g.sources(), 1);
    }
}
