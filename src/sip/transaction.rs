//! RFC 3261 §17 transactions, sans-IO: server INVITE (§17.2.1, with the RFC 6026
//! "Accepted" state), server non-INVITE (§17.2.2) and client non-INVITE (§17.1.2, for
//! the BYEs openum sends). Timers A–K follow §17 and Table 4; on reliable transports the
//! retransmission timers are never armed and the wait timers are zero.
//!
//! Retransmitting our 2xx to INVITE until ACK arrives is, by §13.3.1.4, the UA core's
//! job; it is done here, in the Accepted state, because the layer already owns timers
//! and the flow to send on. The 2xx's ACK is a new transaction (new branch), so it is
//! matched on (Call-ID, CSeq number) instead of the branch.
//!
//! Inputs: [`TransactionLayer::handle_request`], [`TransactionLayer::handle_response`],
//! [`TransactionLayer::respond`], [`TransactionLayer::send_request`],
//! [`TransactionLayer::handle_timeout`]. Outputs: [`TransactionLayer::poll_transmit`],
//! [`TransactionLayer::poll_event`], [`TransactionLayer::poll_timeout`].
//! Time is always an argument. Depends on [`super::msg`] only.

use super::msg::{Method, Request, Response};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// RTT estimate (§17.1.1.1).
pub const T1: Duration = Duration::from_millis(500);
/// Maximum retransmit interval for non-INVITE requests and INVITE responses.
pub const T2: Duration = Duration::from_secs(4);
/// Maximum time a message stays in the network.
pub const T4: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }
    pub fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }
}

/// Where a message came from / goes to. `conn` names a stream connection owned by the
/// shell; responses go back on the same connection (§18.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    pub transport: Transport,
    pub peer: SocketAddr,
    pub conn: Option<u64>,
}

/// Bytes the shell must send on `flow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub flow: Flow,
    pub bytes: Vec<u8>,
}

/// Opaque transaction handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub u64);

/// What the layer tells its user (the UA core).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new request to handle. ACK for a 2xx and stray ACKs come as `tx: None`.
    Request {
        tx: Option<TxId>,
        request: Request,
        flow: Flow,
    },
    /// A CANCEL matched a pending INVITE server transaction (§9.2); the layer has
    /// answered the CANCEL with 200 and the INVITE with 487. The user drops the call.
    Cancelled { invite_tx: TxId },
    /// Our 2xx to an INVITE was acknowledged. `body` is the ACK's (the SDP answer
    /// when the INVITE had no offer, RFC 3261 §13.2.1).
    Acked {
        call_id: String,
        cseq: u32,
        body: Vec<u8>,
    },
    /// Our 2xx to an INVITE was never acknowledged within 64*T1 (§13.3.1.4): the
    /// dialog must be ended with BYE.
    AckTimeout { call_id: String, cseq: u32 },
    /// A final response to a request we sent.
    Response { tx: TxId, response: Response },
    /// A request we sent got no final answer in time (Timer F / transport error).
    Timeout { tx: TxId },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    InviteServer,
    NonInviteServer,
    NonInviteClient,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Trying,
    Proceeding,
    /// §17.2.1 after a 3xx–6xx; waiting for ACK.
    Completed,
    /// Server INVITE: ACK received, absorbing ACK retransmissions (Timer I).
    Confirmed,
    /// RFC 6026 for the server INVITE after a 2xx: retransmitting it until ACK.
    Accepted,
}

#[derive(Debug)]
struct Tx {
    kind: Kind,
    state: State,
    flow: Flow,
    key: String,
    call_id: String,
    cseq: u32,
    /// Last response sent (server) or the request (client), for retransmission.
    last: Option<Vec<u8>>,
    /// Retransmission interval and its deadline (Timers A/E/G).
    interval: Duration,
    retransmit_at: Option<Instant>,
    /// When the transaction ends or times out (Timers B/F/H/I/J/K and L of RFC 6026).
    end_at: Option<Instant>,
    /// Client: the request was answered provisionally (Timer E capped at T2).
    provisional: bool,
    /// Server INVITE: the request, kept to build a 487 if a CANCEL comes.
    invite: Option<Request>,
}

impl Tx {
    fn deadline(&self) -> Option<Instant> {
        match (self.retransmit_at, self.end_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// All transactions of one SIP endpoint.
#[derive(Debug)]
pub struct TransactionLayer {
    /// T1 in force (RFC 3261 allows another value; every derived timer follows).
    t1: Duration,
    next_id: u64,
    txs: HashMap<TxId, Tx>,
    by_key: HashMap<String, TxId>,
    /// Accepted INVITE transactions by (Call-ID, CSeq) for matching 2xx ACKs.
    accepted: HashMap<(String, u32), TxId>,
    timers: BTreeSet<(Instant, TxId)>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

/// §17.2.3 matching key. RFC 2543 peers without the magic cookie fall back to the
/// dialog identifiers.
fn server_key(req: &Request, method: &Method) -> String {
    let via = req.top_via();
    let m = match method {
        Method::Ack => "INVITE",
        m => m.as_str(),
    };
    match via.as_ref().and_then(|v| v.branch.as_ref().map(|b| (v, b))) {
        Some((v, b)) if b.starts_with("z9hG4bK") => format!("s|{b}|{}|{m}", v.sent_by),
        _ => format!(
            "s|{}|{}|{}|{m}",
            req.call_id(),
            req.from_tag().unwrap_or(""),
            req.cseq().map(|c| c.seq).unwrap_or(0)
        ),
    }
}

impl Default for TransactionLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl TransactionLayer {
    pub fn new() -> Self {
        Self::with_t1(T1)
    }

    /// A layer whose T1 (and so Timers A, B, E, F, G, H, J, L) is `t1`.
    pub fn with_t1(t1: Duration) -> Self {
        TransactionLayer {
            t1,
            next_id: 0,
            txs: HashMap::new(),
            by_key: HashMap::new(),
            accepted: HashMap::new(),
            timers: BTreeSet::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// No transaction is in progress (tests use it to see timers ran to the end).
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    fn alloc(&mut self) -> TxId {
        self.next_id += 1;
        TxId(self.next_id)
    }

    fn rearm(&mut self, id: TxId, old: Option<Instant>) {
        if let Some(old) = old {
            self.timers.remove(&(old, id));
        }
        if let Some(tx) = self.txs.get(&id)
            && let Some(d) = tx.deadline()
        {
            self.timers.insert((d, id));
        }
    }

    fn remove(&mut self, id: TxId) {
        if let Some(tx) = self.txs.remove(&id) {
            if let Some(d) = tx.deadline() {
                self.timers.remove(&(d, id));
            }
            self.by_key.remove(&tx.key);
            if tx.kind == Kind::InviteServer {
                self.accepted.remove(&(tx.call_id.clone(), tx.cseq));
            }
        }
    }

    /// A request arrived. Retransmissions are absorbed (and answered with the last
    /// response); new requests become [`Event::Request`].
    pub fn handle_request(&mut self, now: Instant, request: Request, flow: Flow) {
        let Some(cseq) = request.cseq() else { return };
        let method = request.method.clone();
        let key = server_key(&request, &method);

        if method == Method::Ack {
            if let Some(&id) = self.by_key.get(&key)
                && let Some(tx) = self.txs.get_mut(&id)
                && tx.kind == Kind::InviteServer
            {
                // ACK to a non-2xx final (same branch): §17.2.1 Completed → Confirmed.
                if tx.state == State::Completed {
                    let old = tx.deadline();
                    tx.state = State::Confirmed;
                    tx.retransmit_at = None;
                    tx.end_at = Some(
                        now + if flow.transport.reliable() {
                            Duration::ZERO
                        } else {
                            T4
                        },
                    );
                    self.rearm(id, old);
                }
                return;
            }
            let dkey = (request.call_id().to_string(), cseq.seq);
            if let Some(id) = self.accepted.remove(&dkey) {
                // RFC 6026 §7.1: stop retransmitting, but stay until Timer L so late
                // INVITE retransmissions and CANCELs still find the transaction.
                if let Some(tx) = self.txs.get_mut(&id) {
                    let old = tx.deadline();
                    tx.state = State::Confirmed;
                    tx.retransmit_at = None;
                    self.rearm(id, old);
                }
                self.events.push_back(Event::Acked {
                    call_id: dkey.0,
                    cseq: dkey.1,
                    body: request.body,
                });
                return;
            }
            // ACK retransmission after we already saw one, or stray: let the core see it.
            self.events.push_back(Event::Request {
                tx: None,
                request,
                flow,
            });
            return;
        }

        if let Some(&id) = self.by_key.get(&key) {
            // Retransmission: resend the last response, if any (§17.2.1, §17.2.2).
            if let Some(tx) = self.txs.get(&id)
                && let Some(last) = &tx.last
            {
                self.transmits.push_back(Transmit {
                    flow,
                    bytes: last.clone(),
                });
            }
            return;
        }

        if method == Method::Cancel {
            // §9.2: find the INVITE with the same branch. Already answered: the CANCEL
            // has no effect but is still acknowledged with 200.
            let ikey = server_key(&request, &Method::Invite);
            let invite = self.by_key.get(&ikey).copied();
            let id = self.alloc();
            self.insert_server(id, Kind::NonInviteServer, key, &request, flow, now);
            let status = if invite.is_some() { 200 } else { 481 };
            let resp = super::msg::response_to(&request, status, None);
            self.respond(now, id, &resp);
            let pending = invite.and_then(|iid| {
                let tx = self.txs.get_mut(&iid)?;
                (tx.state == State::Proceeding).then(|| (iid, tx.invite.take()))
            });
            if let Some((invite_tx, Some(inv))) = pending {
                let tag = format!("{:x}", invite_tx.0 ^ 0x5eed_cafe);
                let r487 = super::msg::response_to(&inv, 487, Some(&tag));
                self.respond(now, invite_tx, &r487);
                self.events.push_back(Event::Cancelled { invite_tx });
            }
            return;
        }

        let id = self.alloc();
        let kind = if method == Method::Invite {
            Kind::InviteServer
        } else {
            Kind::NonInviteServer
        };
        self.insert_server(id, kind, key, &request, flow, now);
        if kind == Kind::InviteServer {
            // §17.2.1: 100 Trying at once, so the client stops retransmitting (Timer A).
            let trying = super::msg::response_to(&request, 100, None);
            self.respond(now, id, &trying);
        }
        self.events.push_back(Event::Request {
            tx: Some(id),
            request,
            flow,
        });
    }

    fn insert_server(
        &mut self,
        id: TxId,
        kind: Kind,
        key: String,
        request: &Request,
        flow: Flow,
        _now: Instant,
    ) {
        self.by_key.insert(key.clone(), id);
        self.txs.insert(
            id,
            Tx {
                kind,
                state: if kind == Kind::InviteServer {
                    State::Proceeding
                } else {
                    State::Trying
                },
                flow,
                key,
                call_id: request.call_id().to_string(),
                cseq: request.cseq().map(|c| c.seq).unwrap_or(0),
                last: None,
                interval: self.t1,
                retransmit_at: None,
                end_at: None,
                provisional: false,
                invite: (kind == Kind::InviteServer).then(|| request.clone()),
            },
        );
    }

    /// Send a response within server transaction `id`. Returns false when the
    /// transaction is gone (answered already, or timed out).
    pub fn respond(&mut self, now: Instant, id: TxId, response: &Response) -> bool {
        let Some(tx) = self.txs.get_mut(&id) else {
            return false;
        };
        if !matches!(tx.state, State::Trying | State::Proceeding) {
            return false;
        }
        let bytes = response.to_bytes();
        let old = tx.deadline();
        let reliable = tx.flow.transport.reliable();
        let status = response.status;
        tx.last = Some(bytes.clone());
        if status >= 200 {
            tx.invite = None;
        }
        self.transmits.push_back(Transmit {
            flow: tx.flow,
            bytes,
        });
        match (tx.kind, status) {
            (_, 100..=199) => tx.state = State::Proceeding,
            (Kind::InviteServer, 200..=299) => {
                tx.state = State::Accepted;
                tx.interval = self.t1;
                tx.retransmit_at = (!reliable).then(|| now + self.t1);
                tx.end_at = Some(now + 64 * self.t1);
                let k = (tx.call_id.clone(), tx.cseq);
                self.accepted.insert(k, id);
            }
            (Kind::InviteServer, _) => {
                tx.state = State::Completed;
                tx.interval = self.t1;
                tx.retransmit_at = (!reliable).then(|| now + self.t1); // Timer G
                tx.end_at = Some(now + 64 * self.t1); // Timer H
            }
            (_, _) => {
                tx.state = State::Completed;
                // Timer J: 64*T1 on UDP, zero on reliable transports.
                tx.end_at = Some(
                    now + if reliable {
                        Duration::ZERO
                    } else {
                        64 * self.t1
                    },
                );
            }
        }
        self.rearm(id, old);
        true
    }

    /// Start a client non-INVITE transaction (BYE, OPTIONS, NOTIFY) to `flow`.
    /// `request` must carry a fresh branch in its top Via.
    pub fn send_request(&mut self, now: Instant, request: &Request, flow: Flow) -> TxId {
        let id = self.alloc();
        let via = request.top_via();
        let key = format!(
            "c|{}|{}",
            via.and_then(|v| v.branch).unwrap_or_default(),
            request.method.as_str()
        );
        let bytes = request.to_bytes();
        self.transmits.push_back(Transmit {
            flow,
            bytes: bytes.clone(),
        });
        let reliable = flow.transport.reliable();
        self.by_key.insert(key.clone(), id);
        self.txs.insert(
            id,
            Tx {
                kind: Kind::NonInviteClient,
                state: State::Trying,
                flow,
                key,
                call_id: request.call_id().to_string(),
                cseq: request.cseq().map(|c| c.seq).unwrap_or(0),
                last: Some(bytes),
                interval: self.t1,
                retransmit_at: (!reliable).then(|| now + self.t1), // Timer E
                end_at: Some(now + 64 * self.t1),                  // Timer F
                provisional: false,
                invite: None,
            },
        );
        self.rearm(id, None);
        id
    }

    /// A response arrived; matched to a client transaction by branch + CSeq method
    /// (§17.1.3). Unmatched responses are dropped.
    pub fn handle_response(&mut self, now: Instant, response: Response) {
        let (Some(via), Some(cseq)) = (response.headers.top_via(), response.headers.cseq()) else {
            return;
        };
        let key = format!(
            "c|{}|{}",
            via.branch.unwrap_or_default(),
            cseq.method.as_str()
        );
        let Some(&id) = self.by_key.get(&key) else {
            return;
        };
        let Some(tx) = self.txs.get_mut(&id) else {
            return;
        };
        if tx.state == State::Completed {
            return; // retransmitted final response
        }
        let old = tx.deadline();
        if response.status < 200 {
            tx.provisional = true;
            tx.state = State::Proceeding;
            return;
        }
        tx.state = State::Completed;
        tx.retransmit_at = None;
        // Timer K
        tx.end_at = Some(
            now + if tx.flow.transport.reliable() {
                Duration::ZERO
            } else {
                T4
            },
        );
        self.rearm(id, old);
        self.events.push_back(Event::Response { tx: id, response });
    }

    /// The earliest instant at which [`Self::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// Fire every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, id));
            let Some(tx) = self.txs.get_mut(&id) else {
                continue;
            };
            if tx.end_at.is_some_and(|e| e <= now) {
                let (kind, state) = (tx.kind, tx.state);
                let (call_id, cseq) = (tx.call_id.clone(), tx.cseq);
                self.remove(id);
                match (kind, state) {
                    (Kind::InviteServer, State::Accepted) => {
                        self.events.push_back(Event::AckTimeout { call_id, cseq })
                    }
                    (Kind::NonInviteClient, State::Trying | State::Proceeding) => {
                        self.events.push_back(Event::Timeout { tx: id })
                    }
                    _ => {}
                }
                continue;
            }
            if tx.retransmit_at.is_some_and(|r| r <= now) {
                if let Some(last) = &tx.last {
                    self.transmits.push_back(Transmit {
                        flow: tx.flow,
                        bytes: last.clone(),
                    });
                }
                // Timers G / E and the 2xx schedule: double up to T2; a client
                // that has seen a provisional retransmits every T2 (§17.1.2.2).
                tx.interval = if tx.provisional {
                    T2
                } else {
                    (tx.interval * 2).min(T2)
                };
                tx.retransmit_at = Some(now + tx.interval);
            }
            self.rearm(id, None);
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}

#[cfg(test)]
#[path = "transaction_tests.rs"]
mod tests;
