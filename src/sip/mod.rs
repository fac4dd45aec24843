//! SIP (RFC 3261), sans-IO: message parsing/printing ([`msg`]), transactions with
//! their timers ([`transaction`]) and UAS dialogs ([`dialog`]). Nothing here touches
//! sockets or the clock; the `actors::endpoint` shell does.

pub mod dialog;
pub mod guard;
pub mod msg;
pub mod transaction;

/// A random token for tags and branches (RFC 3261 §19.3: at least 32 bits of
/// randomness; we use 64).
pub fn token(rng: &mut impl rand::Rng) -> String {
    format!("{:016x}", rng.r#gen::<u64>())
}
