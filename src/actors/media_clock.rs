//! One media clock per worker thread: a single timerfd serves every call on the
//! arbiter. Calls schedule their next deadline (no syscall, no message); the clock
//! wakes at the earliest one and pokes each due call with a [`Tick`].
//!
//! Deadlines are rounded up to [`SLOT`] boundaries shared by all calls on the
//! thread, so calls whose packets fall in the same slot are served by one wake-up
//! (≈ 25,000 packets/s per worker become ≈ 2,000 wakes/s at most), while send
//! jitter stays under a slot. A timer per call (tokio's) rounds to 1 ms and drifts
//! 0–2 ms; a timerfd per call is precise but costs two syscalls per packet.
//!
//! Slot size, measured with `tools/load --driver loadgen --mode srtp` (2 cores):
//! 250 µs: 0.107 % CPU/call at 100 calls, jitter p99 0.33 ms; 500 µs: 0.081 %,
//! 0.55 ms (1,000 calls: 0.051 %, 1.07 ms); 1 ms: 0.066 %, 1.08 ms. 500 µs keeps
//! both under target at any load.

use super::timerfd::TimerFd;
use actix::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;

/// Scheduling granularity (and so the bound on added send lateness).
pub const SLOT: Duration = Duration::from_micros(500);

/// Sent to a call when its deadline (the `due` it scheduled) has come.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Tick {
    pub due: Instant,
    /// Which schedule entry fired; a tick for an entry the call has since
    /// replaced is stale and ignored (see [`ClockSlot::fired`]).
    pub id: u64,
}

/// Schedule entries: (slot, id) → (deadline as asked, who to poke).
type Schedule = BTreeMap<(Instant, u64), (Instant, Recipient<Tick>)>;

struct Clock {
    fd: AsyncFd<TimerFd>,
    epoch: Instant,
    sched: RefCell<Schedule>,
    armed: Cell<Option<Instant>>,
    next_id: Cell<u64>,
}

thread_local! {
    static CLOCK: RefCell<Option<Rc<Clock>>> = const { RefCell::new(None) };
}

impl Clock {
    fn slot(&self, at: Instant) -> Instant {
        let since = at.saturating_duration_since(self.epoch).as_nanos();
        let slot = SLOT.as_nanos();
        let rounded = since.div_ceil(slot) * slot;
        self.epoch + Duration::from_nanos(rounded as u64)
    }

    fn rearm(&self) {
        let first = self.sched.borrow().keys().next().map(|k| k.0);
        if first != self.armed.get() && self.fd.get_ref().arm(first).is_ok() {
            self.armed.set(first);
        }
    }

    async fn run(self: Rc<Self>) {
        loop {
            let Ok(mut guard) = self.fd.readable().await else {
                return;
            };
            if !guard.get_inner().drain() {
                guard.clear_ready();
                continue;
            }
            self.armed.set(None);
            let now = Instant::now();
            let due: Vec<(u64, Instant, Recipient<Tick>)> = {
                let mut s = self.sched.borrow_mut();
                let later = s.split_off(&(now + Duration::from_nanos(1), 0));
                std::mem::replace(&mut *s, later)
                    .into_iter()
                    .map(|((_, id), (at, who))| (id, at, who))
                    .collect()
            };
            for (id, at, who) in due {
                who.do_send(Tick { due: at, id });
            }
            self.rearm();
        }
    }
}

/// A call's place in its worker's clock.
#[derive(Default)]
pub struct ClockSlot {
    key: Option<(Instant, u64)>,
    clock: Option<Rc<Clock>>,
}

impl ClockSlot {
    /// Join this thread's clock (created on first use, inside the arbiter).
    pub fn attach() -> std::io::Result<ClockSlot> {
        let clock = CLOCK.with(|c| -> std::io::Result<Rc<Clock>> {
            if let Some(clock) = c.borrow().as_ref() {
                return Ok(clock.clone());
            }
            let clock = Rc::new(Clock {
                fd: TimerFd::new()?.into_async()?,
                epoch: Instant::now(),
                sched: RefCell::new(BTreeMap::new()),
                armed: Cell::new(None),
                next_id: Cell::new(0),
            });
            actix_rt::spawn(clock.clone().run());
            *c.borrow_mut() = Some(clock.clone());
            Ok(clock)
        })?;
        Ok(ClockSlot {
            key: None,
            clock: Some(clock),
        })
    }

    /// Be poked at `at` (rounded up to the next slot); None cancels. The tick
    /// carries `at` as given, for lateness accounting.
    pub fn schedule(&mut self, at: Option<Instant>, who: &Recipient<Tick>) {
        let Some(clock) = &self.clock else { return };
        let slot = at.map(|a| clock.slot(a));
        if self.key.map(|k| k.0) == slot {
            return;
        }
        let mut s = clock.sched.borrow_mut();
        if let Some(k) = self.key.take() {
            s.remove(&k);
        }
        if let (Some(slot), Some(at)) = (slot, at) {
            let id = clock.next_id.get();
            clock.next_id.set(id + 1);
            s.insert((slot, id), (at, who.clone()));
            self.key = Some((slot, id));
        }
        drop(s);
        clock.rearm();
    }

    /// A tick arrived. True when it is for the current entry (now gone from the
    /// schedule); false for a stale one, which the call should ignore.
    pub fn fired(&mut self, id: u64) -> bool {
        if self.key.is_some_and(|k| k.1 == id) {
            self.key = None;
            true
        } else {
            false
        }
    }
}

impl Drop for ClockSlot {
    fn drop(&mut self) {
        if let (Some(c), Some(k)) = (&self.clock, self.key.take()) {
            c.sched.borrow_mut().remove(&k);
        }
    }
}
