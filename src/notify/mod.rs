//! Notifications that leave openum after a deposit: voicemail to email (the
//! message itself, composed here as RFC 5322 + MIME; the sender is a shell).
//! Pure: no IO, no clock (times come in).

pub mod email;
