//! The router role's view of its mailbox-role nodes (seeds 000/001: the Client
//! Access server's UM Call Router redirects each call to a Mailbox server's UM
//! service). Health comes from SIP OPTIONS probes, one per node every probe
//! interval: a node that has not answered its previous probe when the next one is
//! due leaves the rotation (so within one interval), and comes back with its next
//! answer. Load comes from the answers (`X-Openum-Load: active/max`) plus the calls
//! redirected to the node since that report, so a burst between two probes spreads.
//!
//! Sans-IO: the shell sends the probes [`NodeSet::probe_due`] names and reports
//! answers. Depends on `config` (the node list) only.

use crate::config::MailboxNode;
use std::net::SocketAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Health {
    /// Not probed yet (used only while no node is known to be up).
    Unknown,
    Up,
    Down,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeState {
    pub node: MailboxNode,
    pub health: Health,
    /// Calls up and the node's MaxCallsAllowed, as its last answer said.
    pub reported: Option<(usize, usize)>,
    /// Calls redirected to it since that report.
    pub sent_since_report: usize,
    /// A probe is out and unanswered.
    awaiting: bool,
}

impl NodeState {
    /// Estimated load in thousandths of its capacity.
    fn load(&self) -> u64 {
        let (active, max) = self.reported.unwrap_or((0, 100));
        ((active + self.sent_since_report) as u64 * 1000) / max.max(1) as u64
    }
}

/// A node going in or out of the rotation, for the shell to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthChange {
    pub node: String,
    pub up: bool,
}

#[derive(Debug, Clone, Default)]
pub struct NodeSet {
    nodes: Vec<NodeState>,
    /// Rotates the choice among equally loaded nodes.
    turn: usize,
}

impl NodeSet {
    pub fn new(nodes: Vec<MailboxNode>) -> Self {
        NodeSet {
            nodes: nodes
                .into_iter()
                .map(|node| NodeState {
                    node,
                    health: Health::Unknown,
                    reported: None,
                    sent_since_report: 0,
                    awaiting: false,
                })
                .collect(),
            turn: 0,
        }
    }

    pub fn states(&self) -> &[NodeState] {
        &self.nodes
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Time for the next round of probes: nodes that left the previous one
    /// unanswered go down. Returns where to send OPTIONS (over UDP) and the changes.
    pub fn probe_due(&mut self) -> (Vec<(String, SocketAddr)>, Vec<HealthChange>) {
        let mut changes = Vec::new();
        let mut probes = Vec::new();
        for n in &mut self.nodes {
            if n.awaiting && n.health != Health::Down {
                n.health = Health::Down;
                changes.push(HealthChange {
                    node: n.node.name.clone(),
                    up: false,
                });
            }
            n.awaiting = true;
            probes.push((
                n.node.name.clone(),
                SocketAddr::new(n.node.address, n.node.port),
            ));
        }
        (probes, changes)
    }

    /// A node answered a probe (any final status), with its reported load if any.
    pub fn handle_answer(
        &mut self,
        name: &str,
        status: u16,
        load: Option<(usize, usize)>,
    ) -> Option<HealthChange> {
        let n = self.nodes.iter_mut().find(|n| n.node.name == name)?;
        n.awaiting = false;
        // 503 is a node draining: alive, but not for new calls.
        let up = status != 503;
        n.reported = load;
        n.sent_since_report = 0;
        let new = if up { Health::Up } else { Health::Down };
        let changed = n.health != new;
        n.health = new;
        changed.then(|| HealthChange {
            node: name.to_string(),
            up,
        })
    }

    /// A probe got no answer at all (transaction timeout or transport error).
    pub fn handle_no_answer(&mut self, name: &str) -> Option<HealthChange> {
        let n = self.nodes.iter_mut().find(|n| n.node.name == name)?;
        n.awaiting = false;
        let changed = n.health != Health::Down;
        n.health = Health::Down;
        changed.then(|| HealthChange {
            node: name.to_string(),
            up: false,
        })
    }

    /// The node for the next call: the least loaded of those up (of those not yet
    /// probed when none is up), rotating among equals. None when all are down.
    pub fn choose(&mut self) -> Option<&MailboxNode> {
        let wanted = if self.nodes.iter().any(|n| n.health == Health::Up) {
            Health::Up
        } else {
            Health::Unknown
        };
        let len = self.nodes.len();
        let start = self.turn;
        let best = (0..len)
            .map(|k| (start + k) % len.max(1))
            .filter(|&i| self.nodes[i].health == wanted)
            .min_by_key(|&i| self.nodes[i].load())?;
        self.turn = (best + 1) % len;
        let n = &mut self.nodes[best];
        n.sent_since_report += 1;
        Some(&n.node)
    }
}

/// Parse `X-Openum-Load: active/max`.
pub fn parse_load(v: &str) -> Option<(usize, usize)> {
    let (a, m) = v.trim().split_once('/')?;
    Some((a.trim().parse().ok()?, m.trim().parse().ok()?))
}
