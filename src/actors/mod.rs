//! The actix shells around the sans-IO cores: they own sockets, timers and the store
//! handle, feed inputs in and drain outputs. Nothing else in the crate imports actix
//! or tokio (besides `admin` and `server`, which wire the process together).
//!
//! - [`endpoint::SipEndpoint`]: sockets + the transaction layer + message
//!   dispatch, one per process.
//! - [`supervisor::Supervisor`]: the shell of the sans-IO call-control core
//!   ([`crate::callctl`]): admission, routing decisions, dialogs, one call actor per
//!   call on the least-loaded worker, dead call actors, drain; in the router role,
//!   mailbox-node probing and redirects.
//! - [`call::CallActor`]: one per call, on a worker arbiter; RTP socket, 20 ms
//!   pacing, the IVR core.
//! - [`monitor::GatewayMonitor`]: OPTIONS probes of the IP gateways (event 1088).
//! - [`store::StoreActor`]: sled on a sync thread, so fsyncs never stall media.
//! - [`outbox::OutboxActor`]: passes model changes and kicks to the outbox
//!   sender's thread (email, webhooks).
//! - [`net`]: UDP/TCP/TLS read loops that turn bytes into messages for the endpoint.
//!
//! Imports go one way: `supervisor` → `call`, `endpoint`; `monitor` → `endpoint`;
//! `endpoint` → `net`. Messages several actors share live in [`messages`], and the
//! reverse directions use `Recipient`s, so no actor imports another in a circle.

pub mod call;
mod call_ova;
pub mod calls;
pub mod endpoint;
pub mod lateness;
pub mod media_clock;
pub mod messages;
pub mod monitor;
pub mod mwi;
pub mod net;
pub mod outbox;
pub mod purge;
pub mod store;
pub mod supervisor;
pub mod timerfd;

use actix::{Actor, AsyncContext, Context, SpawnHandle};
use std::time::Instant;

/// An actor's one wake-up timer, kept at its sans-IO core's `poll_timeout()`: re-armed
/// only when the deadline changes, cancelled when there is none.
#[derive(Default)]
pub struct Wakeup(Option<(Instant, SpawnHandle)>);

impl Wakeup {
    pub fn arm<A>(
        &mut self,
        ctx: &mut Context<A>,
        now: Instant,
        next: Option<Instant>,
        fire: fn(&mut A, &mut Context<A>),
    ) where
        A: Actor<Context = Context<A>>,
    {
        if self.0.as_ref().map(|t| t.0) == next {
            return;
        }
        if let Some((_, h)) = self.0.take() {
            ctx.cancel_future(h);
        }
        if let Some(at) = next {
            let h = ctx.run_later(at.saturating_duration_since(now), move |act, ctx| {
                fire(act, ctx)
            });
            self.0 = Some((at, h));
        }
    }

    /// Call first thing in the `fire` callback: the timer is spent.
    pub fn fired(&mut self) {
        self.0 = None;
    }

    /// As [`Self::fired`], also recording how late it fired (media timers).
    pub fn fired_at(&mut self, now: Instant) {
        if let Some((at, _)) = self.0.take() {
            lateness::record(now.saturating_duration_since(at));
        }
    }
}
