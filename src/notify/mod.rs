//! Notifications that leave openum after a message changes: voicemail to email
//! (the message composed here as RFC 5322 + MIME) and signed webhooks, sent
//! from the store's persistent outbox.
//! - [`email`] and [`plan`] are pure (no IO, no clock: times come in);
//! - [`sender`] is the shell: a thread that reads the outbox, talks SMTP
//!   (lettre) and HTTP (ureq), and records each attempt.

pub mod email;
pub mod plan;
pub mod sender;
