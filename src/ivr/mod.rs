//! Call flows as sans-IO state machines. This flow is the voicemail deposit;
//! auto attendant and subscriber access (Outlook Voice Access) grow here next.
//! Depends on `media` and the prompt files; never on actix, tokio or the store.

pub mod attendant;
pub mod call;
pub mod deposit;
pub mod prompts;
