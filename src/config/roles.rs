//! The roles a process can play (`openum serve --role`) and the mailbox nodes a
//! router knows.

use serde::Deserialize;
use std::net::IpAddr;

/// A mailbox-role node as the router sees it (`[[mailbox_node]]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MailboxNode {
    pub name: String,
    pub address: IpAddr,
    /// SIP over UDP and TCP.
    pub port: u16,
    pub tls_port: u16,
}

/// Which part of the UM service this process plays (seeds 000/001): the Client
/// Access server's call router, the Mailbox server's UM service, or both at once.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Accepts calls, checks the peer and VoIP security, redirects (302) each new
    /// call to a healthy mailbox-role node.
    Router,
    /// Answers calls: voicemail, auto attendant, subscriber access (ports 5062/5063).
    Mailbox,
    /// Both in one process (the default).
    #[default]
    Combined,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s.to_ascii_lowercase().as_str() {
            "router" => Some(Role::Router),
            "mailbox" => Some(Role::Mailbox),
            "combined" => Some(Role::Combined),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Role::Router => "router",
            Role::Mailbox => "mailbox",
            Role::Combined => "combined",
        }
    }
}
