//! Messages that more than one actor sends or receives live here, so that actors
//! address each other through these types and `Recipient`s instead of importing
//! each other: the import graph stays a tree (net → endpoint, call → supervisor,
//! monitor → endpoint) with no cycle.

use crate::directory::Directory;
use crate::sip::msg::{Request, Response};
use crate::sip::transaction::{Event, Flow, Transport, TxId};
use actix::prelude::*;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

/// Bytes from the network (socket loops → endpoint).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Inbound {
    pub bytes: Vec<u8>,
    pub flow: Flow,
    /// When the socket loop read it (the SIP core's queue delay is measured from
    /// here).
    pub received: std::time::Instant,
}

/// A stream connection is up (socket loops → endpoint).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ConnOpened {
    pub id: u64,
    pub tx: UnboundedSender<Vec<u8>>,
    pub peer: SocketAddr,
    pub transport: Transport,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct ConnClosed {
    pub id: u64,
}

/// Write these bytes on a stream connection.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SendOnConn {
    pub conn: u64,
    pub bytes: Vec<u8>,
}

/// An outbound connection attempt failed; what waited for it is dropped (its
/// transactions time out and say so).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ConnFailed {
    pub transport: Transport,
    pub peer: SocketAddr,
    pub error: String,
}

/// What the transaction layer passes up to call control (endpoint → supervisor):
/// requests with their server transaction, ACKs, ACK timeouts, CANCELs.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SipEvent(pub Event);

/// Answer a server transaction (supervisor → endpoint).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Respond {
    pub tx: TxId,
    pub response: Response,
}

/// Send a request in a new client transaction (→ endpoint). With `reply`, its final
/// response or timeout comes back as a [`RequestOutcome`] carrying `tag`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SendRequest {
    pub request: Request,
    pub flow: Flow,
    pub reply: Option<(Recipient<RequestOutcome>, u64)>,
}

/// The end of a request we sent: its final response, or None (no answer in time).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RequestOutcome {
    pub tag: u64,
    pub response: Option<Response>,
}

/// A call wants to hang up: send BYE in its dialog (call → supervisor).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CallHangup {
    pub call_id: String,
}

/// A call actor is gone (call → supervisor, sent when the actor is dropped).
/// `clean` is false when it did not finish normally: it panicked or was stopped
/// on an error before its call ended.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CallGone {
    pub call_id: String,
    pub clean: bool,
    /// What the call did, for its call data record (None if it died first).
    pub report: Option<CallReport>,
}

/// A finished call's figures and outcome (call → supervisor, in [`CallGone`]).
#[derive(Debug, Clone, Default)]
pub struct CallReport {
    pub rtp_in: u64,
    pub rtp_out: u64,
    pub rtp_lost: u64,
    pub rtp_expected: u64,
    pub jitter_ms: f64,
    /// The message the call left, when it left one.
    pub message_id: Option<String>,
    /// Why nothing was kept, when a recording was not (too short, silence…).
    pub not_kept: Option<String>,
}

/// Where a call is in its flow (call → supervisor): the menu step, for the
/// list of calls in progress.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CallStep {
    pub call_id: String,
    pub step: String,
}

/// The configuration changed at run time (a gateway's status or address).
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct DirectoryChanged(pub Arc<Directory>);

/// A call's attendant asks to transfer its caller (call → supervisor).
#[derive(Message)]
#[rtype(result = "()")]
pub struct TransferRequest {
    pub call_id: String,
    pub extension: String,
}

/// A SUBSCRIBE for message waiting indication (supervisor → MWI actor).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubscribeIn {
    pub tx: TxId,
    pub request: Request,
    pub flow: Flow,
}

/// A mailbox's messages changed (the store's change feed → MWI actor).
#[derive(Message)]
#[rtype(result = "()")]
pub struct MailboxChanged(pub String);
