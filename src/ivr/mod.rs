//! Call flows as sans-IO state machines: the voicemail deposit ([`deposit`]), the
//! auto attendant ([`attendant`]), and [`call`], which runs one of them per call over
//! the media (and hands an attendant's caller to a deposit). Subscriber access
//! (Outlook Voice Access) grows here next.
//! Depends on `media` and the prompt files; never on actix, tokio or the store.

pub mod attendant;
pub mod call;
pub mod deposit;
pub mod ova;
pub mod preroll;
pub mod prompts;
pub mod speech;
