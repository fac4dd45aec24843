//! TOML bootstrap configuration: the service settings (ports, limits, addresses) and
//! the UM object model, validated into a [`Directory`]. Validation errors name the
//! object and the field, e.g. `dial_plan "Demo": extension_digits: must be 1..=20`.
//!
//! Reads no files itself (the CLI passes the text in); resolves gateway FQDNs through
//! a resolver function the caller supplies, so tests need no DNS.

use crate::directory::party::normalize_number;
use crate::directory::{
    DialPlan, Directory, GatewayState, GatewayTransport, HuntGroup, IpGateway, MailboxPolicy,
    UmMailbox, UriType, VoipSecurity, pin,
};
use crate::media::codec::{AudioCodec, CodecOrder};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

mod attendant;
pub mod change;
#[cfg(test)]
pub mod fixtures;
mod gateway;
pub mod overlay;
mod pilots;
mod roles;
mod service;
pub mod smtp;
mod webhook;

pub use gateway::{
    GatewayChange, Resolution, change_gateway, log_resolutions, resolve_gateway, system_resolve,
};
pub use roles::{MailboxNode, Role};
pub use service::{AutoCert, StartupMode, TlsConfig};

/// The demo configuration compiled into the binary.
pub const DEMO_TOML: &str = include_str!("demo.toml");

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// Not TOML, or TOML that does not fit the schema (the message gives the
    /// line, column and field).
    #[error("configuration: {0}")]
    Toml(String),
    /// A model document that does not fit the schema (unknown or mistyped field).
    #[error("configuration: {0}")]
    Schema(String),
    #[error("{kind} {name:?}: {field}: {problem}")]
    Invalid {
        kind: &'static str,
        name: String,
        field: &'static str,
        problem: String,
    },
}

fn invalid(
    kind: &'static str,
    name: &str,
    field: &'static str,
    problem: impl Into<String>,
) -> ConfigError {
    ConfigError::Invalid {
        kind,
        name: name.to_string(),
        field,
        problem: problem.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    service: RawService,
    #[serde(default)]
    mailbox_policy: Vec<RawPolicy>,
    #[serde(default)]
    dial_plan: Vec<RawDialPlan>,
    #[serde(default)]
    ip_gateway: Vec<RawGateway>,
    #[serde(default)]
    hunt_group: Vec<RawHuntGroup>,
    #[serde(default)]
    auto_attendant: Vec<attendant::RawAutoAttendant>,
    #[serde(default)]
    mailbox: Vec<RawMailbox>,
    #[serde(default)]
    mailbox_node: Vec<RawMailboxNode>,
    smtp: Option<smtp::RawSmtp>,
    #[serde(default)]
    webhook: Vec<webhook::RawWebhook>,
    outbox: Option<webhook::RawOutbox>,
}

/// A mailbox-role node a router sends calls to (`--role router`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMailboxNode {
    name: String,
    address: IpAddr,
    #[serde(default = "default_mailbox_port")]
    port: u16,
    #[serde(default = "default_mailbox_tls_port")]
    tls_port: u16,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    fqdn: String,
    address: IpAddr,
    #[serde(default = "default_bind")]
    sip_bind: IpAddr,
    #[serde(default = "default_sip_port")]
    sip_port: u16,
    #[serde(default = "yes")]
    udp: bool,
    admin: SocketAddr,
    rtp_ports: [u16; 2],
    #[serde(default = "default_max_calls")]
    max_calls_allowed: usize,
    #[serde(default = "default_locale")]
    locale: String,
    /// The store's page cache in MiB (bounds memory however many messages are
    /// stored).
    #[serde(default = "default_store_cache")]
    store_cache_mb: u64,
    #[serde(default = "default_startup_mode")]
    startup_mode: StartupMode,
    #[serde(default = "default_tls_port")]
    sip_tls_port: u16,
    #[serde(default = "default_t1")]
    sip_t1_ms: u64,
    #[serde(default = "default_options_interval")]
    options_interval_secs: u64,
    #[serde(default)]
    tls: TlsConfig,
    /// The server calls one of its own pilots this often (Test-UMConnectivity
    /// as a periodic self-test); 0: never.
    #[serde(default)]
    self_test_interval_secs: u64,
    /// The pilot the self-test calls (default: the first dial plan's first
    /// access number).
    self_test_pilot: Option<String>,
    /// Worker arbiters for call actors; 0 = one per core.
    #[serde(default)]
    workers: usize,
    #[serde(default = "default_drain_timeout")]
    drain_timeout_secs: u64,
    /// A SIP message on TCP/TLS, once begun, must be whole within this (and an
    /// inbound connection must send its first message within it).
    #[serde(default = "default_message_timeout")]
    sip_message_timeout_secs: u64,
    /// A TCP/TLS connection that sends nothing for this long is closed.
    #[serde(default = "default_idle_timeout")]
    sip_idle_timeout_secs: u64,
    /// SIP messages a second from one IP gateway before it is blocked for 10 s.
    #[serde(default = "default_rate_trusted")]
    sip_rate_limit_per_source: u32,
    /// The same for any other address (refused 403 anyway).
    #[serde(default = "default_rate_untrusted")]
    sip_rate_limit_untrusted: u32,
    /// SIP core queue delay above which new requests get 503 + Retry-After.
    #[serde(default = "default_shed_delay")]
    sip_shed_queue_delay_ms: u64,
    #[serde(default = "default_mailbox_port")]
    mailbox_sip_port: u16,
    #[serde(default = "default_mailbox_tls_port")]
    mailbox_sip_tls_port: u16,
    #[serde(default = "default_node_probe_ms")]
    node_probe_interval_ms: u64,
    /// Days call data records are kept.
    #[serde(default = "default_cdr_retention")]
    cdr_retention_days: u32,
    /// The admin API over HTTPS with the service certificate, on this address
    /// (may be beyond loopback: tokens are then encrypted).
    admin_tls: Option<SocketAddr>,
}

fn default_cdr_retention() -> u32 {
    90
}

fn default_bind() -> IpAddr {
    IpAddr::from([0, 0, 0, 0])
}
fn default_sip_port() -> u16 {
    5060
}
fn yes() -> bool {
    true
}
fn default_max_calls() -> usize {
    100
}
/// A language openum has prompts for, or why not.
pub fn language(code: &str) -> Result<crate::ivr::speech::Lang, String> {
    crate::ivr::speech::Lang::parse(code)
        .ok_or_else(|| format!("{code:?} is not a language with prompts (en-US, fr-FR)"))
}

fn default_store_cache() -> u64 {
    crate::store::sled::DEFAULT_CACHE_MB
}

fn default_locale() -> String {
    "en-US".into()
}
fn default_startup_mode() -> StartupMode {
    StartupMode::TCP
}
fn default_tls_port() -> u16 {
    5061
}
fn default_t1() -> u64 {
    500
}
fn default_options_interval() -> u64 {
    60
}
fn default_rate_trusted() -> u32 {
    10_000
}
fn default_rate_untrusted() -> u32 {
    20
}
fn default_shed_delay() -> u64 {
    200
}
fn default_message_timeout() -> u64 {
    30
}
fn default_idle_timeout() -> u64 {
    900
}
fn default_drain_timeout() -> u64 {
    600
}
fn default_mailbox_port() -> u16 {
    5062
}
fn default_mailbox_tls_port() -> u16 {
    5063
}
fn default_node_probe_ms() -> u64 {
    2000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: String,
    #[serde(default = "d_min_pin")]
    min_pin_length: usize,
    #[serde(default = "d_failures")]
    max_logon_failures: u32,
    #[serde(default = "d_pin_history")]
    pin_history: usize,
    #[serde(default = "d_pin_lifetime")]
    pin_lifetime_days: u32,
    #[serde(default = "d_max_msg")]
    max_message_secs: u64,
    #[serde(default = "d_max_msg")]
    max_greeting_secs: u64,
    #[serde(default = "d_silence")]
    silence_timeout_secs: u64,
    #[serde(default = "d_min_msg")]
    min_message_ms: u64,
    /// Days a deleted message stays undeletable before the purge removes it.
    #[serde(default = "d_retention")]
    deleted_retention_days: u32,
    /// Quotas: messages kept (not deleted) and their total minutes; none if unset.
    max_messages: Option<u32>,
    max_stored_minutes: Option<u32>,
    /// How new messages are stored: "ogg" (Ogg/Opus, the default) or "wav".
    #[serde(default = "d_storage")]
    storage_format: String,
    /// Voicemail to email: attach the audio (default true), what to do once
    /// sent ("keep", "mark_saved", "delete"), the attachment's format ("ogg",
    /// "wav"; default: as stored), the size above which the audio is left out.
    #[serde(default = "yes")]
    email_attach: bool,
    email_after: Option<String>,
    email_format: Option<String>,
    #[serde(default = "d_email_max")]
    email_max_bytes: u64,
}
fn d_email_max() -> u64 {
    10 * 1024 * 1024
}
fn d_storage() -> String {
    "ogg".into()
}
fn d_retention() -> u32 {
    14
}
fn d_min_pin() -> usize {
    6
}
fn d_failures() -> u32 {
    5
}
fn d_pin_history() -> usize {
    5
}
fn d_pin_lifetime() -> u32 {
    60
}
fn d_max_msg() -> u64 {
    300
}
fn d_silence() -> u64 {
    10
}
fn d_min_msg() -> u64 {
    500
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDialPlan {
    name: String,
    uri_type: UriType,
    extension_digits: usize,
    voip_security: VoipSecurity,
    #[serde(default)]
    access_numbers: Vec<String>,
    phone_context: String,
    mailbox_policy: String,
    max_calls: Option<usize>,
    #[serde(default = "d_first_digit")]
    first_digit_timeout_secs: u64,
    #[serde(default = "d_inter_digit")]
    inter_digit_timeout_ms: u64,
    /// IANA zone the envelopes' dates and times are spoken in.
    #[serde(default = "d_time_zone")]
    time_zone: String,
    #[serde(default = "d_three")]
    input_failures_before_disconnect: u32,
    #[serde(default = "d_three")]
    logon_failures_before_disconnect: u32,
    /// Exchange's DefaultLanguage: prompts of the dial plan's calls (en-US,
    /// fr-FR); the service's `locale` when unset.
    default_language: Option<String>,
    /// RTP codecs in order of preference (opus, PCMU, PCMA).
    audio_codecs: Option<Vec<String>>,
    /// Whose order picks the codec: "offer" (default) or "ours".
    codec_order: Option<String>,
    /// A call with no RTP and no SIP refresh for this long is ended (0: never).
    #[serde(default = "d_rtp_timeout")]
    rtp_timeout_secs: u64,
}
fn d_rtp_timeout() -> u64 {
    60
}
fn d_time_zone() -> String {
    "UTC".into()
}
fn d_three() -> u32 {
    3
}
fn d_first_digit() -> u64 {
    5
}
fn d_inter_digit() -> u64 {
    2000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGateway {
    name: String,
    address: String,
    #[serde(default = "default_sip_port")]
    port: u16,
    /// The name the gateway's TLS certificate carries (and that may be resolved).
    fqdn: Option<String>,
    /// How openum reaches it (OPTIONS probes): udp, tcp or tls. Default: tls on
    /// port 5061, else udp.
    transport: Option<String>,
    #[serde(default)]
    outcalls_allowed: bool,
    /// Legacy switch; `status` says more (Enabled, Disabled, NoNewCalls).
    #[serde(default = "yes")]
    enabled: bool,
    status: Option<String>,
    /// `New-UMIPGateway -UMDialPlan`: its default hunt group sends all calls there.
    dial_plan: Option<String>,
    max_calls: Option<usize>,
    /// Send unsolicited MWI NOTIFYs to this gateway for its dial plan's mailboxes
    /// (`-MessageWaitingIndicatorAllowed`; needs outcalls_allowed).
    #[serde(default)]
    message_waiting_indicator_allowed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHuntGroup {
    name: String,
    gateway: String,
    dial_plan: String,
    #[serde(default)]
    pilot: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMailbox {
    extension: String,
    display_name: String,
    dial_plan: String,
    policy: Option<String>,
    #[serde(alias = "sip_uri")]
    sip_resource_identifier: Option<String>,
    e164: Option<String>,
    pin: Option<String>,
    /// The subscriber's language (deposits to the mailbox, voice access).
    language: Option<String>,
    /// Where new messages are emailed.
    email: Option<String>,
}

/// Service-level settings (the `Set-UMService` part).
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub fqdn: String,
    pub address: IpAddr,
    pub sip_bind: IpAddr,
    pub sip_port: u16,
    pub udp: bool,
    pub admin: SocketAddr,
    pub rtp_ports: (u16, u16),
    /// Exchange's MaxCallsAllowed: concurrent calls before new ones get 503.
    pub max_calls_allowed: usize,
    pub locale: String,
    pub store_cache_mb: u64,
    /// Slow-loris limits of SIP connections.
    pub sip_message_timeout: Duration,
    pub sip_idle_timeout: Duration,
    /// Flood limits: messages a second per source, and the shedding threshold.
    pub sip_rate_limit_per_source: u32,
    pub sip_rate_limit_untrusted: u32,
    pub sip_shed_queue_delay: Duration,
    pub startup_mode: StartupMode,
    pub sip_tls_port: u16,
    /// RFC 3261 T1; lowering it (tests) shortens every derived timer.
    pub sip_t1: Duration,
    /// How often IP gateways are probed with OPTIONS.
    pub options_interval: Duration,
    pub tls: TlsConfig,
    /// Worker arbiters for call actors (at least 1).
    pub workers: usize,
    /// How long a drain waits for calls in progress before hanging them up.
    pub drain_timeout: Duration,
    /// The mailbox role's default SIP ports (Exchange's UM service: 5062 / 5063).
    pub mailbox_sip_port: u16,
    pub mailbox_sip_tls_port: u16,
    /// How often a router probes its mailbox nodes; a node that has not answered
    /// the previous probe when the next one is due leaves the rotation.
    pub node_probe_interval: Duration,
    pub mailbox_nodes: Vec<MailboxNode>,
    pub role: Role,
    /// How long call data records are kept.
    pub cdr_retention: Duration,
    /// The admin API's HTTPS address, if it has one.
    pub admin_tls: Option<SocketAddr>,
    /// How often the server tests itself with a call (at least 10 s), if at all.
    pub self_test_interval: Option<Duration>,
    pub self_test_pilot: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub service: ServiceConfig,
    pub directory: Directory,
    /// The DNS resolutions made while loading (logged at start).
    pub resolutions: Vec<Resolution>,
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl Config {
    /// The embedded demo configuration.
    pub fn demo() -> Result<Config, ConfigError> {
        Self::parse(DEMO_TOML, &|_| Vec::new())
    }

    /// Parse and validate. `resolve` maps a gateway FQDN to addresses (called once per
    /// FQDN gateway; an empty answer is a validation error).
    pub fn parse(text: &str, resolve: &dyn Fn(&str) -> Vec<IpAddr>) -> Result<Config, ConfigError> {
        Self::parse_layers(text, None, None, &|_| false, resolve)
    }

    /// The configuration `text` with the objects made at run time laid over it
    /// (`overlay`: auto attendants by name, and `removed` names; `mailboxes`:
    /// UM mailboxes by extension; see [`overlay`]). `custom_prompt` says whether a prompt name was imported
    /// (library prompts are always known).
    pub fn parse_layers(
        text: &str,
        overlay: Option<&str>,
        mailboxes: Option<&str>,
        custom_prompt: &dyn Fn(&str) -> bool,
        resolve: &dyn Fn(&str) -> Vec<IpAddr>,
    ) -> Result<Config, ConfigError> {
        if overlay.is_none() && mailboxes.is_none() {
            // Straight from the text, so that a schema error (an unknown field, a
            // wrong type) gives its line.
            let raw: RawConfig =
                toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))?;
            return Self::from_raw(raw, custom_prompt, resolve);
        }
        let mut value: toml::Value =
            toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))?;
        if let Some(o) = overlay {
            overlay::apply(&mut value, o)?;
        }
        if let Some(m) = mailboxes {
            overlay::apply_kind(&mut value, overlay::MAILBOXES, m)?;
        }
        Self::parse_value(value, custom_prompt, resolve)
    }

    /// Validate a model document (the TOML form, as the store keeps it).
    pub fn parse_value(
        value: toml::Value,
        custom_prompt: &dyn Fn(&str) -> bool,
        resolve: &dyn Fn(&str) -> Vec<IpAddr>,
    ) -> Result<Config, ConfigError> {
        let raw = RawConfig::deserialize(value).map_err(|e| ConfigError::Schema(e.to_string()))?;
        Self::from_raw(raw, custom_prompt, resolve)
    }

    fn from_raw(
        raw: RawConfig,
        custom_prompt: &dyn Fn(&str) -> bool,
        resolve: &dyn Fn(&str) -> Vec<IpAddr>,
    ) -> Result<Config, ConfigError> {
        let s = raw.service;
        if s.rtp_ports[0] == 0
            || s.rtp_ports[0] >= s.rtp_ports[1]
            || s.rtp_ports[1] - s.rtp_ports[0] < 2
        {
            return Err(invalid(
                "service",
                &s.fqdn,
                "rtp_ports",
                "need [low, high] with low < high - 1",
            ));
        }
        if !(10..=5000).contains(&s.sip_t1_ms) {
            return Err(invalid(
                "service",
                &s.fqdn,
                "sip_t1_ms",
                "must be 10..=5000",
            ));
        }
        if s.options_interval_secs == 0 {
            return Err(invalid(
                "service",
                &s.fqdn,
                "options_interval_secs",
                "must be at least 1",
            ));
        }
        if s.tls.cert.is_some() != s.tls.key.is_some() {
            return Err(invalid(
                "service",
                &s.fqdn,
                "tls",
                "cert and key go together",
            ));
        }
        if !(1..=600).contains(&s.sip_message_timeout_secs) {
            return Err(invalid(
                "service",
                &s.fqdn,
                "sip_message_timeout_secs",
                "must be 1..=600",
            ));
        }
        if s.sip_idle_timeout_secs < s.sip_message_timeout_secs {
            return Err(invalid(
                "service",
                &s.fqdn,
                "sip_idle_timeout_secs",
                "must be at least sip_message_timeout_secs",
            ));
        }
        for (field, v) in [
            (
                "sip_rate_limit_per_source",
                s.sip_rate_limit_per_source as u64,
            ),
            (
                "sip_rate_limit_untrusted",
                s.sip_rate_limit_untrusted as u64,
            ),
            ("sip_shed_queue_delay_ms", s.sip_shed_queue_delay_ms),
        ] {
            if v == 0 {
                return Err(invalid("service", &s.fqdn, field, "must be at least 1"));
            }
        }
        if s.max_calls_allowed == 0 {
            return Err(invalid(
                "service",
                &s.fqdn,
                "max_calls_allowed",
                "must be at least 1",
            ));
        }
        let service = ServiceConfig {
            fqdn: s.fqdn,
            address: s.address,
            sip_bind: s.sip_bind,
            sip_port: s.sip_port,
            udp: s.udp,
            admin: s.admin,
            rtp_ports: (s.rtp_ports[0], s.rtp_ports[1]),
            max_calls_allowed: s.max_calls_allowed,
            locale: s.locale,
            store_cache_mb: s.store_cache_mb,
            sip_message_timeout: Duration::from_secs(s.sip_message_timeout_secs),
            sip_idle_timeout: Duration::from_secs(s.sip_idle_timeout_secs),
            sip_rate_limit_per_source: s.sip_rate_limit_per_source,
            sip_rate_limit_untrusted: s.sip_rate_limit_untrusted,
            sip_shed_queue_delay: Duration::from_millis(s.sip_shed_queue_delay_ms),
            startup_mode: s.startup_mode,
            sip_tls_port: s.sip_tls_port,
            sip_t1: Duration::from_millis(s.sip_t1_ms),
            options_interval: Duration::from_secs(s.options_interval_secs),
            tls: s.tls,
            workers: s.workers,
            drain_timeout: Duration::from_secs(s.drain_timeout_secs),
            mailbox_sip_port: s.mailbox_sip_port,
            mailbox_sip_tls_port: s.mailbox_sip_tls_port,
            node_probe_interval: Duration::from_millis(s.node_probe_interval_ms.max(100)),
            mailbox_nodes: raw
                .mailbox_node
                .into_iter()
                .map(|n| MailboxNode {
                    name: n.name,
                    address: n.address,
                    port: n.port,
                    tls_port: n.tls_port,
                })
                .collect(),
            role: Role::Combined,
            cdr_retention: Duration::from_secs(s.cdr_retention_days.max(1) as u64 * 86_400),
            admin_tls: s.admin_tls,
            self_test_interval: (s.self_test_interval_secs > 0)
                .then(|| Duration::from_secs(s.self_test_interval_secs.max(10))),
            self_test_pilot: s.self_test_pilot,
        };
        unique(
            "mailbox_node",
            service.mailbox_nodes.iter().map(|n| n.name.as_str()),
        )?;

        let mut policies = Vec::new();
        for p in raw.mailbox_policy {
            let k = "mailbox_policy";
            if !(4..=24).contains(&p.min_pin_length) {
                return Err(invalid(k, &p.name, "min_pin_length", "must be 4..=24"));
            }
            if p.max_message_secs == 0 || p.max_message_secs > 100 * 60 {
                return Err(invalid(k, &p.name, "max_message_secs", "must be 1..=6000"));
            }
            if p.max_greeting_secs == 0 || p.max_greeting_secs > 10 * 60 {
                return Err(invalid(k, &p.name, "max_greeting_secs", "must be 1..=600"));
            }
            if p.silence_timeout_secs == 0 {
                return Err(invalid(
                    k,
                    &p.name,
                    "silence_timeout_secs",
                    "must be at least 1",
                ));
            }
            let storage_format = match crate::store::audio::Format::parse(&p.storage_format) {
                Some(f @ (crate::store::audio::Format::Ogg | crate::store::audio::Format::Wav)) => {
                    f
                }
                _ => {
                    return Err(invalid(
                        "mailbox_policy",
                        &p.name,
                        "storage_format",
                        format!("{:?}: use \"ogg\" or \"wav\"", p.storage_format),
                    ));
                }
            };
            let email_after = match p.email_after.as_deref() {
                None => crate::directory::EmailAfter::Keep,
                Some(a) => crate::directory::EmailAfter::parse(a).ok_or_else(|| {
                    invalid(
                        k,
                        &p.name,
                        "email_after",
                        format!("{a:?}: use \"keep\", \"mark_saved\" or \"delete\""),
                    )
                })?,
            };
            let email_format = match p.email_format.as_deref() {
                None => None,
                Some(f) => match crate::directory::EmailFormat::parse(f) {
                    Some(crate::directory::EmailFormat::Mp3) if !cfg!(feature = "mp3") => {
                        return Err(invalid(
                            k,
                            &p.name,
                            "email_format",
                            "\"mp3\": this build has no MP3 encoder (the mp3 feature is off): use \"ogg\" or \"wav\"",
                        ));
                    }
                    Some(f) => Some(f),
                    None => {
                        return Err(invalid(
                            k,
                            &p.name,
                            "email_format",
                            format!("{f:?}: use \"ogg\", \"wav\" or \"mp3\""),
                        ));
                    }
                },
            };
            policies.push(MailboxPolicy {
                email_attach: p.email_attach,
                email_after,
                email_format,
                email_max_bytes: p.email_max_bytes,
                storage_format,
                name: p.name,
                min_pin_length: p.min_pin_length,
                max_logon_failures: p.max_logon_failures,
                pin_history: p.pin_history.min(20),
                pin_lifetime_days: p.pin_lifetime_days,
                max_message: Duration::from_secs(p.max_message_secs),
                max_greeting: Duration::from_secs(p.max_greeting_secs),
                silence_timeout: Duration::from_secs(p.silence_timeout_secs),
                min_message: Duration::from_millis(p.min_message_ms),
                deleted_retention_days: p.deleted_retention_days,
                max_messages: p.max_messages,
                max_stored: p
                    .max_stored_minutes
                    .map(|m| Duration::from_secs(m as u64 * 60)),
            });
        }
        unique("mailbox_policy", policies.iter().map(|p| p.name.as_str()))?;

        let mut dial_plans = Vec::new();
        for d in raw.dial_plan {
            let k = "dial_plan";
            if d.name.is_empty() || d.name.contains(char::is_whitespace) {
                return Err(invalid(
                    k,
                    &d.name,
                    "name",
                    "must be non-empty without spaces",
                ));
            }
            if !(1..=20).contains(&d.extension_digits) {
                return Err(invalid(k, &d.name, "extension_digits", "must be 1..=20"));
            }
            if !(1..=60).contains(&d.first_digit_timeout_secs) {
                return Err(invalid(
                    k,
                    &d.name,
                    "first_digit_timeout_secs",
                    "must be 1..=60",
                ));
            }
            if !(500..=10_000).contains(&d.inter_digit_timeout_ms) {
                return Err(invalid(
                    k,
                    &d.name,
                    "inter_digit_timeout_ms",
                    "must be 500..=10000",
                ));
            }
            crate::directory::schedule::time_zone(&d.time_zone)
                .map_err(|e| invalid(k, &d.name, "time_zone", e))?;
            let default_language = d
                .default_language
                .clone()
                .unwrap_or_else(|| service.locale.clone());
            language(&default_language).map_err(|e| invalid(k, &d.name, "default_language", e))?;
            let audio_codecs = match &d.audio_codecs {
                None => AudioCodec::DEFAULT.to_vec(),
                Some(v) => {
                    let mut out: Vec<AudioCodec> = Vec::new();
                    for c in v {
                        let Some(c) = AudioCodec::parse(c) else {
                            return Err(invalid(
                                k,
                                &d.name,
                                "audio_codecs",
                                format!("{c:?} is not one of opus, PCMU, PCMA"),
                            ));
                        };
                        if !out.contains(&c) {
                            out.push(c);
                        }
                    }
                    if out.is_empty() {
                        return Err(invalid(k, &d.name, "audio_codecs", "names no codec"));
                    }
                    out
                }
            };
            let codec_order = match d.codec_order.as_deref() {
                None => CodecOrder::default(),
                Some(o) => CodecOrder::parse(o).ok_or_else(|| {
                    invalid(
                        k,
                        &d.name,
                        "codec_order",
                        format!("{o:?} is not \"offer\" or \"ours\""),
                    )
                })?,
            };
            if d.rtp_timeout_secs != 0 && !(10..=86_400).contains(&d.rtp_timeout_secs) {
                return Err(invalid(
                    k,
                    &d.name,
                    "rtp_timeout_secs",
                    "must be 0 (never) or 10..=86400",
                ));
            }
            for (field, v) in [
                (
                    "input_failures_before_disconnect",
                    d.input_failures_before_disconnect,
                ),
                (
                    "logon_failures_before_disconnect",
                    d.logon_failures_before_disconnect,
                ),
            ] {
                if !(1..=20).contains(&v) {
                    return Err(invalid(k, &d.name, field, "must be 1..=20"));
                }
            }
            if let Some(a) = d
                .access_numbers
                .iter()
                .find(|a| !digits(a.trim_start_matches('+')))
            {
                return Err(invalid(
                    k,
                    &d.name,
                    "access_numbers",
                    format!("{a:?} is not a number"),
                ));
            }
            if !policies.iter().any(|p| p.name == d.mailbox_policy) {
                return Err(invalid(
                    k,
                    &d.name,
                    "mailbox_policy",
                    format!("no mailbox policy {:?}", d.mailbox_policy),
                ));
            }
            dial_plans.push(DialPlan {
                name: d.name,
                uri_type: d.uri_type,
                extension_digits: d.extension_digits,
                voip_security: d.voip_security,
                access_numbers: d.access_numbers,
                phone_context: d.phone_context,
                mailbox_policy: d.mailbox_policy,
                max_calls: d.max_calls,
                first_digit_timeout: Duration::from_secs(d.first_digit_timeout_secs),
                inter_digit_timeout: Duration::from_millis(d.inter_digit_timeout_ms),
                time_zone: d.time_zone,
                input_failures_before_disconnect: d.input_failures_before_disconnect,
                logon_failures_before_disconnect: d.logon_failures_before_disconnect,
                default_language,
                audio_codecs,
                codec_order,
                rtp_timeout: Duration::from_secs(d.rtp_timeout_secs),
            });
        }
        unique("dial_plan", dial_plans.iter().map(|d| d.name.as_str()))?;

        let mut gateways = Vec::new();
        let mut resolutions = Vec::new();
        for g in raw.ip_gateway {
            let (resolved, log) = resolve_gateway(&g.name, &g.address, g.fqdn.as_deref(), resolve)?;
            resolutions.extend(log);
            let status = match g.status.as_deref() {
                None if g.enabled => GatewayState::Enabled,
                None => GatewayState::Disabled,
                Some(st) => GatewayState::parse(st).ok_or_else(|| {
                    invalid(
                        "ip_gateway",
                        &g.name,
                        "status",
                        format!("{st:?}: use Enabled, Disabled or NoNewCalls"),
                    )
                })?,
            };
            if let Some(dp) = &g.dial_plan
                && !dial_plans.iter().any(|d| &d.name == dp)
            {
                return Err(invalid(
                    "ip_gateway",
                    &g.name,
                    "dial_plan",
                    format!("no dial_plan {dp:?}"),
                ));
            }
            let transport = match g
                .transport
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("udp") => GatewayTransport::Udp,
                Some("tcp") => GatewayTransport::Tcp,
                Some("tls") => GatewayTransport::Tls,
                None if g.port == 5061 => GatewayTransport::Tls,
                None => GatewayTransport::Udp,
                Some(other) => {
                    return Err(invalid(
                        "ip_gateway",
                        &g.name,
                        "transport",
                        format!("{other:?}: use udp, tcp or tls"),
                    ));
                }
            };
            gateways.push(IpGateway {
                name: g.name,
                transport,
                address: g.address,
                resolved,
                port: g.port,
                fqdn: g.fqdn,
                outcalls_allowed: g.outcalls_allowed,
                status,
                dial_plan: g.dial_plan,
                max_calls: g.max_calls,
                mwi_allowed: g.message_waiting_indicator_allowed,
            });
        }
        unique("ip_gateway", gateways.iter().map(|g| g.name.as_str()))?;

        let mut hunt_groups = Vec::new();
        for h in raw.hunt_group {
            let k = "hunt_group";
            if !gateways.iter().any(|g| g.name == h.gateway) {
                return Err(invalid(
                    k,
                    &h.name,
                    "gateway",
                    format!("no ip_gateway {:?}", h.gateway),
                ));
            }
            if !dial_plans.iter().any(|d| d.name == h.dial_plan) {
                return Err(invalid(
                    k,
                    &h.name,
                    "dial_plan",
                    format!("no dial_plan {:?}", h.dial_plan),
                ));
            }
            if !h.pilot.is_empty() && !digits(h.pilot.trim_start_matches('+')) {
                return Err(invalid(k, &h.name, "pilot", "must be a number"));
            }
            hunt_groups.push(HuntGroup {
                name: h.name,
                gateway: h.gateway,
                dial_plan: Some(h.dial_plan),
                pilot: h.pilot,
                default: false,
            });
        }
        unique("hunt_group", hunt_groups.iter().map(|h| h.name.as_str()))?;
        // Seed 004: a gateway linked to a dial plan gets a default hunt group that sends
        // all its calls there; one created without a dial plan (and no hunt group of
        // its own) gets a default hunt group where the pilot number picks the plan.
        for g in &gateways {
            let has_own = hunt_groups.iter().any(|h| h.gateway == g.name);
            if g.dial_plan.is_some() || !has_own {
                hunt_groups.push(HuntGroup {
                    name: format!("{} (default)", g.name),
                    gateway: g.name.clone(),
                    dial_plan: g.dial_plan.clone(),
                    pilot: String::new(),
                    default: true,
                });
            }
        }
        let mut seen = HashMap::new();
        for h in &hunt_groups {
            let pilot = normalize_number(&h.pilot).unwrap_or_else(|| h.pilot.clone());
            let key = (
                h.gateway.as_str(),
                pilot.trim_start_matches('+').to_string(),
            );
            if let Some(other) = seen.insert(key, h.name.as_str()) {
                let what = if h.pilot.is_empty() {
                    "the default (empty) pilot".to_string()
                } else {
                    format!("pilot {:?}", h.pilot)
                };
                return Err(invalid(
                    "hunt_group",
                    &h.name,
                    "pilot",
                    format!(
                        "hunt group {other:?} already links gateway {:?} and {what}",
                        h.gateway
                    ),
                ));
            }
        }

        let mut auto_attendants = Vec::new();
        for a in raw.auto_attendant {
            auto_attendants.push(attendant::build(
                a,
                &dial_plans,
                &service.locale,
                custom_prompt,
            )?);
        }
        unique(
            "auto_attendant",
            auto_attendants.iter().map(|a| a.name.as_str()),
        )?;

        let mut mailboxes = Vec::new();
        for m in raw.mailbox {
            let k = "mailbox";
            let Some(dp) = dial_plans.iter().find(|d| d.name == m.dial_plan) else {
                return Err(invalid(
                    k,
                    &m.extension,
                    "dial_plan",
                    format!("no dial_plan {:?}", m.dial_plan),
                ));
            };
            if !digits(&m.extension) || m.extension.len() != dp.extension_digits {
                return Err(invalid(
                    k,
                    &m.extension,
                    "extension",
                    format!(
                        "must be {} digits (dial plan {})",
                        dp.extension_digits, dp.name
                    ),
                ));
            }
            let policy = m.policy.unwrap_or_else(|| dp.mailbox_policy.clone());
            let Some(pol) = policies.iter().find(|p| p.name == policy) else {
                return Err(invalid(
                    k,
                    &m.extension,
                    "policy",
                    format!("no mailbox_policy {policy:?}"),
                ));
            };
            if let Some(p) = &m.pin {
                pin::check_pin(p, pol.min_pin_length)
                    .map_err(|e| invalid(k, &m.extension, "pin", e.to_string()))?;
            }
            if let Some(e) = &m.e164
                && !normalize_number(e).is_some_and(|n| n.starts_with('+') && n.len() > 4)
            {
                return Err(invalid(
                    k,
                    &m.extension,
                    "e164",
                    format!("{e:?} is not an E.164 number (+ and digits)"),
                ));
            }
            if let Some(sip) = &m.sip_resource_identifier {
                let ok = sip
                    .split_once('@')
                    .is_some_and(|(u, h)| !u.is_empty() && !h.is_empty())
                    && !sip.contains(char::is_whitespace)
                    && !sip.contains(':');
                if !ok {
                    return Err(invalid(
                        k,
                        &m.extension,
                        "sip_resource_identifier",
                        format!("{sip:?}: write it as user@host"),
                    ));
                }
            }
            if m.display_name.trim().is_empty() {
                return Err(invalid(
                    k,
                    &m.extension,
                    "display_name",
                    "must not be empty",
                ));
            }
            if let Some(l) = &m.language {
                language(l).map_err(|e| invalid("mailbox", &m.extension, "language", e))?;
            }
            if let Some(e) = &m.email
                && !email_address_ok(e)
            {
                return Err(invalid(
                    k,
                    &m.extension,
                    "email",
                    format!("{e:?} is not an email address (name@domain)"),
                ));
            }
            mailboxes.push(UmMailbox {
                email: m.email,
                language: m.language,
                extension: m.extension,
                display_name: m.display_name,
                dial_plan: m.dial_plan,
                policy,
                sip_resource_identifier: m.sip_resource_identifier,
                e164: m.e164,
                initial_pin: m.pin,
            });
        }
        let mut seen = HashSet::new();
        for m in &mailboxes {
            if !seen.insert((m.dial_plan.as_str(), m.extension.as_str())) {
                return Err(invalid(
                    "mailbox",
                    &m.extension,
                    "extension",
                    "duplicate in its dial plan",
                ));
            }
        }

        let mut seen = HashMap::new();
        for m in &mailboxes {
            let keys = [
                m.sip_resource_identifier
                    .as_ref()
                    .map(|s| ("sip_resource_identifier", s.to_ascii_lowercase())),
                m.e164
                    .as_deref()
                    .and_then(normalize_number)
                    .map(|n| ("e164", n)),
            ];
            for (field, key) in keys.into_iter().flatten() {
                if let Some(other) = seen.insert((m.dial_plan.as_str(), key), &m.extension) {
                    return Err(invalid(
                        "mailbox",
                        &m.extension,
                        field,
                        format!("mailbox {other} of the same dial plan has it too"),
                    ));
                }
            }
        }
        attendant::check_targets(&auto_attendants, &mailboxes, &dial_plans)?;
        pilots::check_pilots(&dial_plans, &hunt_groups, &auto_attendants)?;

        let smtp = raw.smtp.map(smtp::build).transpose()?;
        let webhooks = raw
            .webhook
            .into_iter()
            .map(webhook::build_webhook)
            .collect::<Result<Vec<_>, _>>()?;
        unique("webhook", webhooks.iter().map(|w| w.name.as_str()))?;
        for w in &webhooks {
            if let Some(m) = w
                .mailboxes
                .iter()
                .find(|m| !mailboxes.iter().any(|x| &x.extension == *m))
            {
                return Err(invalid(
                    "webhook",
                    &w.name,
                    "mailboxes",
                    format!("no mailbox {m}"),
                ));
            }
        }
        let notify = crate::directory::notify::NotifySettings {
            smtp,
            webhooks,
            retry: webhook::build_outbox(raw.outbox)?,
        };
        Ok(Config {
            resolutions,
            service,
            directory: Directory::new(
                dial_plans,
                policies,
                gateways,
                hunt_groups,
                auto_attendants,
                mailboxes,
            )
            .with_notify(notify),
        })
    }
}

/// A plausible address: one `@`, a local part and a dotted domain, no spaces
/// or angle brackets (what goes into an SMTP envelope and a To header).
pub fn email_address_ok(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
        && e.matches('@').count() == 1
}

fn unique<'a>(kind: &'static str, names: impl Iterator<Item = &'a str>) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for n in names {
        if !seen.insert(n) {
            return Err(invalid(kind, n, "name", "duplicate"));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
