//! # openum — open Unified Messaging
//!
//! A self-hosted replacement for Exchange 2013/2016 Unified Messaging: PBXs and
//! gateways send calls over SIP to pilot numbers; openum answers, plays prompts,
//! reads DTMF, runs auto attendants, records voicemail into an embedded store, gives
//! subscribers access to their mailboxes by phone (Outlook Voice Access) and lights
//! their message lamps (MWI). A process plays one role: the UM
//! call router (redirects each call to a mailbox node), the UM service (answers
//! calls), or both (the default).
//!
//! # Layout
//! - [`config`] — TOML bootstrap → validated [`directory::Directory`].
//! - [`directory`] — the UM object model (dial plans, IP gateways, hunt groups,
//!   mailbox policies, UM mailboxes, auto attendants), call routing by URI type
//!   (TelExtn, E164, SipName), PIN hashing.
//! - [`callctl`] — the call-control core: the decision on each new INVITE (refuse,
//!   redirect, admit), the dialog table and each call's lifecycle, limits, drain,
//!   the router's mailbox-node choice. Sans-IO.
//! - [`sip`] — RFC 3261 messages, transactions (timers A–K), dialogs. Sans-IO.
//! - [`sdp`] — RFC 4566/3264 offer/answer. Sans-IO.
//! - [`media`] — G.711, RTP send/receive, DTMF (RFC 4733, SIP INFO bodies, in-band
//!   Goertzel), the recorder, audio import for greetings. Sans-IO.
//! - [`ivr`] — call flows (voicemail deposit, auto attendant, subscriber access),
//!   the number/date speech grammar and prompts. Sans-IO.
//! - [`mwi`] — message waiting indication (RFC 3842 over RFC 6665): subscriptions,
//!   NOTIFYs, retries, unsolicited targets. Sans-IO.
//! - [`store`] — the `MailboxStore` trait, its sled implementation, PIN
//!   administration and logon, and the change feed MWI listens to.
//! - [`actors`] — actix shells: the SIP endpoint (sockets + transactions), the
//!   supervisor (runs `callctl`, places call actors, notices dead ones), one actor
//!   per call on worker arbiters, the gateway monitor, the MWI notifier, the store
//!   on a sync thread.
//! - [`objects`] — run-time administration of the object model: every change
//!   validated whole, committed atomically with its audit records (the model
//!   lives in the store; the TOML file bootstraps it).
//! - [`admin`] — HTTP admin API and Prometheus metrics.
//! - [`probe`] — Test-UMConnectivity: openum's own test call (SIP, RTP, DTMF,
//!   the prompts it hears), for `openum test-connectivity` and the self-test.
//! - [`notify`] — voicemail to email and webhooks from the store's outbox.
//! - [`alloc`] — the allocator (jemalloc) and its figures.
//! - [`server`] — process wiring for `openum serve`.
//!
//! # The rule: protocol and call logic do no IO
//! Everything under `sip`, `sdp`, `media`, `ivr`, `mwi`, `callctl` and `directory` is synchronous,
//! takes time as a `now: Instant` argument and returns its output as values
//! (`Transmit`, `Event`, `Action`, `poll_timeout`). The actors own sockets and
//! timers and run the loop: *handle input → drain outputs → sleep until
//! `poll_timeout()`*. So RFC 3261 timers and recording limits are tested in
//! virtual time, and every parser can be fuzzed without a runtime.
//!
//! # Call path
//! 1. `actors::net` reads a datagram or a Content-Length–framed TCP/TLS message and
//!    hands it to `actors::endpoint::SipEndpoint`, which parses it (400 / drop on
//!    error), refuses peers that are no IP gateway (403) and feeds the transaction
//!    layer. What the layer passes up (requests, ACKs, CANCELs) goes to the
//!    `actors::supervisor::Supervisor`.
//! 2. The supervisor asks `callctl`. A new INVITE: draining 503; gateway Disabled
//!    403 / NoNewCalls 503; (gateway, pilot) → hunt group → dial plan → target
//!    (mailbox by extension, E.164 number or SIP resource identifier, or the
//!    diverting party on a voicemail pilot; auto attendant; subscriber access),
//!    unknown 404; VoIP security 403; in the router role a 302 to the least-loaded
//!    healthy mailbox node; MaxCallsAllowed and gateway / dial-plan limits 503 +
//!    Retry-After; no common codec 488.
//! 3. Admitted: the supervisor binds an RTP port, the core answers 200 with SDP and
//!    (at once, or at the ACK for delayed offer) asks for a `CallActor` on the
//!    least-loaded worker arbiter. The call plays the greeting and beep at 20 ms
//!    pacing, records, and on `#`/BYE/limits asks the store actor to commit. A call
//!    actor that dies is noticed through its lifeline: BYE and an event.
//! 4. The store writes the message in one atomic batch and fsyncs before the call
//!    hears "saved"; a crash before that leaves no partial message.
//!
//! # Errors
//! Panics are bugs: no input from the network may cause one. Every refusal is a SIP
//! response plus one structured `tracing` event (`event = "…"`).

pub mod actors;
pub mod admin;
pub mod alloc;
pub mod callctl;
pub mod config;
pub mod datadir;
pub mod directory;
pub mod events;
pub mod ivr;
pub mod logging;
pub mod media;
pub mod metrics_catalog;
pub mod mwi;
pub mod notify;
pub mod objects;
pub mod probe;
pub mod sdp;
pub mod server;
pub mod sip;
pub mod store;
pub mod tls;
pub mod tokens;
