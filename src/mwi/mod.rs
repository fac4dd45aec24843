//! Message waiting indication, sans-IO: the `message-summary` event package (RFC
//! 3842) over SIP-specific event notification (RFC 6665), so that phones light
//! their message lamps.
//!
//! - **SUBSCRIBE** (§4.1 of RFC 6665) to a mailbox URI (extension, E.164 number or
//!   SIP resource identifier, read as the dial plan's URI type reads it) from a
//!   trusted IP gateway: 200 with `Expires`, then at once a NOTIFY with the
//!   current counts. Refresh in the dialog; `Expires: 0` un-subscribes (a final
//!   NOTIFY with `Subscription-State: terminated`). Refusals: 403 untrusted peer,
//!   489 another event package (with `Allow-Events`), 404 unknown mailbox, 423
//!   under `MIN_EXPIRES` (with `Min-Expires`), 481 an unknown dialog.
//! - **Unsolicited NOTIFY** (RFC 3842 §3: "the notifier MAY send … without a
//!   subscription"), for PBXs that do not subscribe: to every mailbox of the
//!   dial plan of a gateway with `message_waiting_indicator_allowed` and
//!   OutcallsAllowed (Exchange's `-MessageWaitingIndicatorAllowed`).
//! - **Delivery.** One NOTIFY in flight per subscription; a change meanwhile is
//!   sent once it is answered, with the counts of that time. No answer, or an
//!   error other than 481, is retried with backoff (1, 2, 4, 8, 16 s), then given
//!   up until the next change; 481 ends a subscription (an unsolicited target
//!   lasts as long as the configuration names it). Expired subscriptions get a final NOTIFY
//!   (`terminated;reason=timeout`) and are dropped.
//! - **Persistence.** Subscriptions are [`Stored`] records the shell keeps in the
//!   store; after a restart every live subscription, and every unsolicited
//!   target, is sent its current state.
//!
//! Counts come from the store (the shell reads them); the clock comes in as
//! `now` (monotonic, retries) and `wall` (Unix seconds, expiry, persisted).
//! Depends on `sip` (messages, dialogs, flows), `directory` and `store::Counts`.

#[cfg(test)]
mod tests;

use crate::directory::{Directory, GatewayTransport, Party};
use crate::sip::dialog::Dialog;
use crate::sip::msg::{self, Method, Request, Response};
use crate::sip::transaction::{Flow, Transport};
use crate::store::Counts;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

pub const EVENT: &str = "message-summary";
pub const CONTENT_TYPE: &str = "application/simple-message-summary";
pub const MIN_EXPIRES: u32 = 60;
pub const DEFAULT_EXPIRES: u32 = 3600;
pub const MAX_EXPIRES: u32 = 86_400;
/// The record kind subscriptions are stored under.
pub const RECORD_KIND: &str = "mwi";
const RETRIES: u32 = 5;

/// Where we are reached (for Via and Contact).
#[derive(Debug, Clone)]
pub struct Local {
    pub address: IpAddr,
    pub plain_port: u16,
    pub tls_port: u16,
    pub fqdn: String,
}

impl Local {
    fn via(&self, t: Transport) -> String {
        let port = match t {
            Transport::Tls => self.tls_port,
            _ => self.plain_port,
        };
        crate::callctl::host_port(self.address, port)
    }
}

/// A subscription as kept in the store: enough to rebuild its dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub mailbox: String,
    pub account: String,
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    pub local: String,
    pub remote: String,
    pub remote_target: String,
    #[serde(default)]
    pub route_set: Vec<String>,
    pub cseq: u32,
    pub transport: String,
    pub peer: SocketAddr,
    /// Unix seconds; 0 for an unsolicited target (it never expires).
    pub expires_at: u64,
    pub unsolicited: bool,
}

#[derive(Debug, Clone)]
struct Sub {
    mailbox: String,
    account: String,
    dialog: Dialog,
    expires_at: u64,
    unsolicited: bool,
    /// The NOTIFY in flight (its tag), and whether another change is waiting.
    in_flight: Option<u64>,
    dirty: bool,
    /// Send a final `terminated` NOTIFY, then forget this subscription.
    ending: Option<&'static str>,
    retries: u32,
    retry_at: Option<Instant>,
}

/// What to do after a SUBSCRIBE.
#[derive(Debug, Clone)]
pub struct SubscribeResult {
    pub response: Response,
    /// The subscription to NOTIFY now (with the mailbox's counts), if any.
    pub notify: Option<String>,
    /// Persist (Some) or remove (None) this subscription record.
    pub persist: Option<(String, Option<Stored>)>,
    /// For the structured log: what happened.
    pub what: &'static str,
    pub mailbox: Option<String>,
}

/// A NOTIFY to send: the shell sends it and reports with [`Mwi::handle_outcome`].
#[derive(Debug, Clone)]
pub struct Notify {
    pub id: String,
    pub tag: u64,
    pub request: Request,
    pub flow: Flow,
    /// The record to persist with its new CSeq (None: the subscription ended).
    pub persist: Option<Stored>,
}

#[derive(Debug)]
pub struct Mwi {
    dir: std::sync::Arc<Directory>,
    local: Local,
    subs: BTreeMap<String, Sub>,
    by_tag: HashMap<u64, String>,
    next_tag: u64,
    rng: u64,
}

fn transport_of(s: &str) -> Transport {
    match s {
        "TCP" => Transport::Tcp,
        "TLS" => Transport::Tls,
        _ => Transport::Udp,
    }
}

/// The `application/simple-message-summary` body (RFC 3842 §5.2).
pub fn summary_body(account: &str, c: Counts) -> String {
    format!(
        "Messages-Waiting: {}\r\nMessage-Account: {account}\r\nVoice-Message: {}/{}\r\n",
        if c.new > 0 { "yes" } else { "no" },
        c.new,
        c.old
    )
}

/// Read `Voice-Message: new/old` back from a summary body.
pub fn parse_summary(body: &str) -> Option<Counts> {
    let line = body
        .lines()
        .find_map(|l| l.trim().strip_prefix("Voice-Message:"))?;
    let counts = line.split_whitespace().next()?;
    let (n, o) = counts.split_once('/')?;
    Some(Counts {
        new: n.parse().ok()?,
        old: o.parse().ok()?,
    })
}

/// The address a SIP URI's host names when it is an IP literal (its port, or the
/// transport's default): where to open a new connection to a subscriber.
pub fn target_addr(uri: &str, transport: Transport) -> Option<SocketAddr> {
    let rest = uri.split_once(':')?.1;
    let hostport = rest.rsplit('@').next()?.split([';', '?', '>']).next()?;
    let default = if transport == Transport::Tls {
        5061
    } else {
        5060
    };
    if let Some(v6) = hostport.strip_prefix('[') {
        let (ip, after) = v6.split_once(']')?;
        let port = after
            .strip_prefix(':')
            .map_or(Some(default), |p| p.parse().ok())?;
        return Some(SocketAddr::new(ip.parse().ok()?, port));
    }
    let (host, port) = match hostport.split_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (hostport, default),
    };
    Some(SocketAddr::new(host.parse().ok()?, port))
}

/// A stream flow's connection is gone (or never was, after a restart): open a
/// new one to the subscriber's Contact, when it names an address.
fn reconnect(d: &mut Dialog) {
    if d.flow.transport.reliable() {
        d.flow.conn = None;
        if let Some(a) = target_addr(&d.remote_target, d.flow.transport) {
            d.flow.peer = a;
        }
    }
}

impl Mwi {
    pub fn new(dir: std::sync::Arc<Directory>, local: Local, seed: u64) -> Mwi {
        Mwi {
            dir,
            local,
            subs: BTreeMap::new(),
            by_tag: HashMap::new(),
            next_tag: 1,
            rng: seed | 1,
        }
    }

    pub fn set_directory(&mut self, dir: std::sync::Arc<Directory>) {
        self.dir = dir;
    }

    fn token(&mut self) -> String {
        // xorshift64*: tags and branches need uniqueness, not secrecy.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        format!("{:x}", self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d))
    }

    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    /// Subscriptions (and unsolicited targets) of a mailbox.
    pub fn subscriptions_of(&self, mailbox: &str) -> Vec<String> {
        self.subs
            .iter()
            .filter(|(_, s)| s.mailbox == mailbox)
            .map(|(id, _)| id.clone())
            .collect()
    }

    pub fn mailbox_of(&self, id: &str) -> Option<&str> {
        self.subs.get(id).map(|s| s.mailbox.as_str())
    }

    fn stored(&self, s: &Sub) -> Stored {
        let d = &s.dialog;
        Stored {
            mailbox: s.mailbox.clone(),
            account: s.account.clone(),
            call_id: d.call_id.clone(),
            local_tag: d.local_tag.clone(),
            remote_tag: d.remote_tag.clone(),
            local: d.local.clone(),
            remote: d.remote.clone(),
            remote_target: d.remote_target.clone(),
            route_set: d.route_set.clone(),
            cseq: d.local_cseq,
            transport: d.flow.transport.via_name().to_string(),
            peer: d.flow.peer,
            expires_at: s.expires_at,
            unsolicited: s.unsolicited,
        }
    }

    /// Subscriptions read back from the store after a restart (expired ones are
    /// skipped). Returns their ids: send each its current state.
    pub fn restore(&mut self, records: Vec<(String, Stored)>, wall: u64) -> Vec<String> {
        let mut ids = Vec::new();
        for (id, r) in records {
            if !r.unsolicited && r.expires_at <= wall {
                continue;
            }
            let mut dialog = Dialog {
                call_id: r.call_id,
                local_tag: r.local_tag,
                remote_tag: r.remote_tag,
                local: r.local,
                remote: r.remote,
                remote_target: r.remote_target,
                route_set: r.route_set,
                local_cseq: r.cseq,
                remote_cseq: 0,
                flow: Flow {
                    transport: transport_of(&r.transport),
                    peer: r.peer,
                    conn: None,
                },
            };
            reconnect(&mut dialog);
            self.subs.insert(
                id.clone(),
                Sub {
                    mailbox: r.mailbox,
                    account: r.account,
                    dialog,
                    expires_at: r.expires_at,
                    unsolicited: r.unsolicited,
                    in_flight: None,
                    dirty: false,
                    ending: None,
                    retries: 0,
                    retry_at: None,
                },
            );
            ids.push(id);
        }
        ids
    }

    /// The unsolicited targets the directory asks for (gateways with
    /// `message_waiting_indicator_allowed` and OutcallsAllowed: every mailbox of
    /// their dial plan). Returns the ids of targets new to us (send them their
    /// state); targets no longer asked for are dropped.
    pub fn sync_unsolicited(&mut self) -> Vec<String> {
        let mut want: BTreeMap<String, (String, String, Dialog)> = BTreeMap::new();
        for g in &self.dir.gateways {
            if !(g.mwi_allowed && g.outcalls_allowed && g.enabled()) {
                continue;
            }
            let Some(ip) = g.resolved.first() else {
                continue;
            };
            let transport = match g.transport {
                GatewayTransport::Udp => Transport::Udp,
                GatewayTransport::Tcp => Transport::Tcp,
                GatewayTransport::Tls => Transport::Tls,
            };
            let host = g.fqdn.clone().unwrap_or_else(|| g.address.clone());
            let plans: Vec<&str> = match &g.dial_plan {
                Some(d) => vec![d.as_str()],
                None => self
                    .dir
                    .dial_plans
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect(),
            };
            for m in self
                .dir
                .mailboxes
                .iter()
                .filter(|m| plans.contains(&m.dial_plan.as_str()))
            {
                let id = format!("u/{}/{}", g.name, m.extension);
                let uri = format!("sip:{}@{host}", m.extension);
                let dialog = Dialog {
                    call_id: format!("mwi-{}-{}@{}", g.name, m.extension, self.local.fqdn),
                    local_tag: format!("mwi{}", m.extension),
                    remote_tag: String::new(),
                    local: format!("<sip:{}@{}>", m.extension, self.local.fqdn),
                    remote: format!("<{uri}>"),
                    remote_target: uri,
                    route_set: vec![],
                    local_cseq: 0,
                    remote_cseq: 0,
                    flow: Flow {
                        transport,
                        peer: SocketAddr::new(*ip, g.port),
                        conn: None,
                    },
                };
                let account = format!("sip:{}@{}", m.extension, self.local.fqdn);
                want.insert(id, (m.extension.clone(), account, dialog));
            }
        }
        self.subs
            .retain(|id, s| !s.unsolicited || want.contains_key(id));
        let mut new = Vec::new();
        for (id, (mailbox, account, dialog)) in want {
            if let Some(s) = self.subs.get_mut(&id) {
                // Keep the CSeq; follow an address change.
                s.dialog.flow = dialog.flow;
                s.dialog.remote_target = dialog.remote_target;
                continue;
            }
            self.subs.insert(
                id.clone(),
                Sub {
                    mailbox,
                    account,
                    dialog,
                    expires_at: 0,
                    unsolicited: true,
                    in_flight: None,
                    dirty: false,
                    ending: None,
                    retries: 0,
                    retry_at: None,
                },
            );
            new.push(id);
        }
        new
    }

    fn refuse(req: &Request, status: u16, what: &'static str) -> SubscribeResult {
        SubscribeResult {
            response: msg::response_to(req, status, None),
            notify: None,
            persist: None,
            what,
            mailbox: None,
        }
    }

    /// A SUBSCRIBE (new, refresh or un-subscribe) arrived on `flow`.
    pub fn handle_subscribe(&mut self, req: &Request, flow: Flow, wall: u64) -> SubscribeResult {
        let Some(gw) = self.dir.gateway_for(flow.peer.ip()).cloned() else {
            return Self::refuse(req, 403, "untrusted_peer");
        };
        let event = req.headers.get("Event").unwrap_or("");
        if event.split(';').next().unwrap_or("").trim() != EVENT {
            let mut r = Self::refuse(req, 489, "bad_event");
            r.response.headers.push("Allow-Events", EVENT);
            return r;
        }
        let expires = match req.headers.get("Expires") {
            Some(v) => match v.trim().parse::<u32>() {
                Ok(e) => e,
                Err(_) => return Self::refuse(req, 400, "bad_expires"),
            },
            None => DEFAULT_EXPIRES,
        };
        if expires != 0 && expires < MIN_EXPIRES {
            let mut r = Self::refuse(req, 423, "interval_too_brief");
            r.response
                .headers
                .push("Min-Expires", MIN_EXPIRES.to_string());
            return r;
        }
        let expires = expires.min(MAX_EXPIRES);
        let via = self.local.via(flow.transport);
        if let Some(to_tag) = req.to_tag() {
            // A refresh or an un-subscribe, in an existing subscription's dialog.
            let Some((id, s)) = self
                .subs
                .iter_mut()
                .find(|(_, s)| !s.unsolicited && s.dialog.matches(req))
            else {
                return Self::refuse(req, 481, "no_subscription");
            };
            let id = id.clone();
            s.dialog.flow = flow;
            let mut response = msg::response_to(req, 200, Some(to_tag));
            response.headers.push("Expires", expires.to_string());
            response.headers.push("Contact", format!("<sip:{via}>"));
            let mailbox = Some(s.mailbox.clone());
            if expires == 0 {
                s.ending = Some("noresource");
                s.dirty = false;
                return SubscribeResult {
                    response,
                    notify: Some(id.clone()),
                    persist: Some((id, None)),
                    what: "unsubscribed",
                    mailbox,
                };
            }
            s.expires_at = wall + expires as u64;
            let st = self.stored(&self.subs[&id]);
            return SubscribeResult {
                response,
                notify: Some(id.clone()),
                persist: Some((id, Some(st))),
                what: "refreshed",
                mailbox,
            };
        }
        // A new subscription: the mailbox the Request-URI names.
        let party = Party::from_uri(&req.uri);
        let plans: Vec<String> = match &gw.dial_plan {
            Some(d) => vec![d.clone()],
            None => self.dir.dial_plans.iter().map(|d| d.name.clone()).collect(),
        };
        let mailbox = party.and_then(|p| {
            plans
                .iter()
                .find_map(|dp| self.dir.mailbox_for_party(dp, &p).map(str::to_string))
        });
        let Some(mailbox) = mailbox else {
            return Self::refuse(req, 404, "unknown_mailbox");
        };
        let tag = self.token();
        let mut response = msg::response_to(req, 200, Some(&tag));
        response.headers.push("Expires", expires.to_string());
        response.headers.push("Contact", format!("<sip:{via}>"));
        let mut dialog = Dialog::from_invite(req, &tag, flow);
        dialog.local_cseq = 0;
        let id = format!("s/{}/{}", dialog.call_id, dialog.remote_tag);
        let account = format!("sip:{mailbox}@{}", self.local.fqdn);
        let sub = Sub {
            mailbox: mailbox.clone(),
            account,
            dialog,
            expires_at: wall + expires as u64,
            unsolicited: false,
            in_flight: None,
            dirty: false,
            // A fetch (Expires: 0): one NOTIFY, terminated, and nothing kept.
            ending: (expires == 0).then_some("timeout"),
            retries: 0,
            retry_at: None,
        };
        self.subs.insert(id.clone(), sub);
        let persist = (expires != 0).then(|| (id.clone(), Some(self.stored(&self.subs[&id]))));
        SubscribeResult {
            response,
            notify: Some(id),
            persist,
            what: if expires == 0 {
                "fetched"
            } else {
                "subscribed"
            },
            mailbox: Some(mailbox),
        }
    }

    /// Build the NOTIFY carrying `counts` for subscription `id`, unless one is
    /// already in flight (then it is sent when that one is answered).
    pub fn notify(&mut self, id: &str, counts: Counts, wall: u64) -> Option<Notify> {
        let branch = format!("z9hG4bK{}", self.token());
        let tag = self.next_tag;
        let s = self.subs.get_mut(id)?;
        if s.in_flight.is_some() {
            s.dirty = true;
            return None;
        }
        s.dirty = false;
        s.retry_at = None;
        let via = self.local.via(s.dialog.flow.transport);
        let mut n = s.dialog.request(Method::Notify, &via, &branch);
        if s.unsolicited {
            // Out of any dialog (RFC 3842 §3 unsolicited NOTIFY): no To tag, and a
            // Call-ID of its own each time, as a new request.
            n.headers.set("To", s.dialog.remote.clone());
            n.headers.set(
                "Call-ID",
                format!("{}-{}", s.dialog.local_cseq, s.dialog.call_id),
            );
        }
        n.headers.push("Event", EVENT);
        let state = match s.ending {
            Some(reason) => format!("terminated;reason={reason}"),
            None if s.unsolicited => "active".to_string(),
            None => format!(
                "active;expires={}",
                s.expires_at.saturating_sub(wall).max(1)
            ),
        };
        n.headers.push("Subscription-State", state);
        n.headers.push("Contact", format!("<sip:{via}>"));
        n.headers.push("User-Agent", crate::callctl::SERVER);
        n.headers.push("Content-Type", CONTENT_TYPE);
        n.body = summary_body(&s.account, counts).into_bytes();
        s.in_flight = Some(tag);
        self.next_tag += 1;
        self.by_tag.insert(tag, id.to_string());
        let flow = s.dialog.flow;
        let persist = s.ending.is_none().then(|| self.stored(&self.subs[id]));
        Some(Notify {
            id: id.to_string(),
            tag,
            request: n,
            flow,
            persist,
        })
    }

    /// How a NOTIFY ended: its final status, or None (no answer). Returns the
    /// subscription to notify again now (a change came meanwhile), and whether
    /// the subscription ended (remove its record).
    pub fn handle_outcome(
        &mut self,
        tag: u64,
        status: Option<u16>,
        now: Instant,
    ) -> (Option<String>, Outcome) {
        let Some(id) = self.by_tag.remove(&tag) else {
            return (None, Outcome::Unknown);
        };
        let Some(s) = self.subs.get_mut(&id) else {
            return (None, Outcome::Unknown);
        };
        s.in_flight = None;
        let gone = status == Some(481) && !s.unsolicited;
        if gone || (s.ending.is_some() && status.is_some_and(|c| c < 300)) {
            self.subs.remove(&id);
            let why = if gone {
                Outcome::Ended(id)
            } else {
                Outcome::Terminated
            };
            return (None, why);
        }
        match status {
            Some(c) if c < 300 => {
                s.retries = 0;
                let again = s.dirty.then(|| id.clone());
                (again, Outcome::Delivered)
            }
            _ => {
                reconnect(&mut s.dialog);
                s.retries += 1;
                if s.retries > RETRIES {
                    s.retries = 0;
                    s.retry_at = None;
                    if s.ending.is_some() {
                        self.subs.remove(&id);
                    }
                    return (None, Outcome::GaveUp);
                }
                let backoff = Duration::from_secs(1 << (s.retries - 1));
                s.retry_at = Some(now + backoff);
                (None, Outcome::Retry(backoff))
            }
        }
    }

    pub fn poll_timeout(&self, now: Instant, wall: u64) -> Option<Instant> {
        self.subs
            .values()
            .filter_map(|s| {
                let expiry = (!s.unsolicited && s.ending.is_none())
                    .then(|| now + Duration::from_secs(s.expires_at.saturating_sub(wall)));
                [s.retry_at, expiry].into_iter().flatten().min()
            })
            .min()
    }

    /// Retries due and subscriptions expired at `now`/`wall`: the ids to NOTIFY
    /// (with current counts) and the ids whose records to remove.
    pub fn handle_timeout(&mut self, now: Instant, wall: u64) -> (Vec<String>, Vec<String>) {
        let mut due = Vec::new();
        let mut removed = Vec::new();
        for (id, s) in self.subs.iter_mut() {
            if !s.unsolicited && s.ending.is_none() && s.expires_at <= wall {
                s.ending = Some("timeout");
                removed.push(id.clone());
                if s.in_flight.is_none() {
                    due.push(id.clone());
                }
                continue;
            }
            if s.retry_at.is_some_and(|t| t <= now) && s.in_flight.is_none() {
                s.retry_at = None;
                due.push(id.clone());
            }
        }
        (due, removed)
    }
}

/// What became of a NOTIFY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// A final NOTIFY was answered: the subscription is over (its record went
    /// when it was ended).
    Terminated,
    /// 481: the subscriber has forgotten this subscription; remove its record.
    Ended(String),
    Retry(Duration),
    GaveUp,
    Unknown,
}
