//! The actix shells around the sans-IO cores: they own sockets, timers and the store
//! handle, feed inputs in and drain outputs. Nothing else in the crate imports actix
//! or tokio (besides `admin` and `server`, which wire the process together).
//!
//! - [`endpoint::SipEndpoint`]: SIP transport + transactions + dialogs, routing and
//!   admission (the hunt-group supervisor role), one per process.
//! - [`call::CallActor`]: one per call, on the least-loaded worker arbiter; RTP
//!   socket, 20 ms pacing, the IVR core.
//! - [`store::StoreActor`]: sled on a sync thread, so fsyncs never stall media.
//! - [`net`]: UDP/TCP read loops that turn bytes into messages for the endpoint.

pub mod call;
pub mod endpoint;
pub mod net;
pub mod store;
