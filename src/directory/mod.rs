//! The UM object model, mirroring Exchange 2013/2016 Unified Messaging: dial plans
//! (`New-UMDialPlan`), IP gateways (`New-UMIPGateway`), hunt groups
//! (`New-UMHuntGroup`), mailbox policies (`New-UMMailboxPolicy`), UM-enabled mailboxes
//! (`Enable-UMMailbox`) and auto attendants (`New-UMAutoAttendant`), plus call routing:
//! which gateway a peer is, and what a call to a number reaches.
//!
//! Pure data and lookups; no IO. Depends on `std`, serde (for the JSON the admin API
//! returns) and [`pin`] for PIN hashing.

pub mod lang;
pub mod notify;
pub mod party;
pub mod pin;
mod route;
pub mod schedule;

pub use party::Party;
pub use route::{Route, RouteError};

use serde::Serialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// How users are addressed in a dial plan (`-URIType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum UriType {
    TelExtn,
    SipName,
    E164,
}

/// `-VoIPSecurity` of a dial plan (seed 003): which transports its calls may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum VoipSecurity {
    /// SIP over UDP/TCP, media RTP.
    Unsecured,
    /// SIP over TLS, media RTP.
    SIPSecured,
    /// SIP over TLS, media SRTP.
    Secured,
}

#[derive(Debug, Clone, Serialize)]
pub struct DialPlan {
    pub name: String,
    pub uri_type: UriType,
    pub extension_digits: usize,
    pub voip_security: VoipSecurity,
    /// Subscriber access / voicemail pilot numbers (`-AccessTelephoneNumbers`).
    pub access_numbers: Vec<String>,
    pub phone_context: String,
    pub mailbox_policy: String,
    /// Optional cap on this dial plan's concurrent calls (503 + Retry-After past it).
    pub max_calls: Option<usize>,
    /// Digit collection in menus: how long to wait for the first key after a
    /// prompt, and between keys of an extension.
    #[serde(with = "secs")]
    pub first_digit_timeout: Duration,
    #[serde(with = "secs")]
    pub inter_digit_timeout: Duration,
    /// IANA time zone of the dial plan's users (message envelopes).
    pub time_zone: String,
    /// Invalid or missing menu input tolerated before goodbye
    /// (`-InputFailuresBeforeDisconnect`).
    pub input_failures_before_disconnect: u32,
    /// Wrong PINs tolerated in one call before goodbye
    /// (`-LogonFailuresBeforeDisconnect`); lockout is the policy's, across calls.
    pub logon_failures_before_disconnect: u32,
    /// `-DefaultLanguage` (en-US, fr-FR).
    pub default_language: String,
    /// RTP codecs in order of preference (`audio_codecs`; default opus, PCMU,
    /// PCMA): those an offer carries are answered.
    pub audio_codecs: Vec<crate::media::codec::AudioCodec>,
    /// Which order picks the codec we send among them (`codec_order`: the
    /// offer's by default).
    pub codec_order: crate::media::codec::CodecOrder,
    /// A call with no RTP and no SIP refresh for this long is ended with BYE
    /// (`rtp_timeout_secs`, 0: never), so a lost BYE cannot hold a call slot.
    #[serde(with = "secs")]
    pub rtp_timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct MailboxPolicy {
    pub name: String,
    pub min_pin_length: usize,
    pub max_logon_failures: u32,
    /// Earlier PINs that may not be reused.
    pub pin_history: usize,
    /// Days a PIN stays valid (0: forever); an expired PIN is changed at logon.
    pub pin_lifetime_days: u32,
    #[serde(with = "secs")]
    pub max_message: Duration,
    #[serde(with = "secs")]
    pub max_greeting: Duration,
    /// Recording stops after this much continuous silence.
    #[serde(with = "secs")]
    pub silence_timeout: Duration,
    /// Recordings shorter than this are discarded (a caller who hung up at the beep).
    #[serde(with = "secs")]
    pub min_message: Duration,
    /// Deleted messages are purged this many days after their deletion.
    pub deleted_retention_days: u32,
    /// Quotas (None: unlimited): messages kept, and their total length.
    pub max_messages: Option<u32>,
    #[serde(with = "opt_secs")]
    pub max_stored: Option<Duration>,
    /// How new messages are stored (Ogg/Opus or WAV).
    pub storage_format: crate::store::audio::Format,
    /// Voicemail to email: attach the audio (else a notice only), what to do
    /// with the message once sent, the attachment's format (None: as stored),
    /// and the size above which the audio is left out.
    pub email_attach: bool,
    pub email_after: EmailAfter,
    pub email_format: Option<EmailFormat>,
    pub email_max_bytes: u64,
}

/// The audio format of a message's email (`email_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailFormat {
    Ogg,
    Wav,
    Mp3,
}

impl EmailFormat {
    pub fn parse(s: &str) -> Option<EmailFormat> {
        match s.to_ascii_lowercase().as_str() {
            "ogg" | "opus" => Some(EmailFormat::Ogg),
            "wav" => Some(EmailFormat::Wav),
            "mp3" => Some(EmailFormat::Mp3),
            _ => None,
        }
    }
    /// MIME type and file extension.
    pub fn mime(self) -> (&'static str, &'static str) {
        match self {
            EmailFormat::Ogg => ("audio/ogg; codecs=opus", "ogg"),
            EmailFormat::Wav => ("audio/wav", "wav"),
            EmailFormat::Mp3 => ("audio/mpeg", "mp3"),
        }
    }
}

/// What becomes of a message once it was emailed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailAfter {
    #[default]
    Keep,
    MarkSaved,
    Delete,
}

impl EmailAfter {
    pub fn parse(s: &str) -> Option<EmailAfter> {
        match s {
            "keep" => Some(EmailAfter::Keep),
            "mark_saved" => Some(EmailAfter::MarkSaved),
            "delete" => Some(EmailAfter::Delete),
            _ => None,
        }
    }
}

mod opt_secs {
    pub fn serialize<S: serde::Serializer>(
        d: &Option<std::time::Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_f64(d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
}

pub(crate) mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct IpGateway {
    pub name: String,
    /// IP literal or FQDN, as configured.
    pub address: String,
    /// Addresses the gateway is known by (the literal, or what the FQDN resolved to).
    pub resolved: Vec<IpAddr>,
    pub port: u16,
    /// Name its TLS certificate must carry (mutual TLS).
    pub fqdn: Option<String>,
    pub transport: GatewayTransport,
    pub outcalls_allowed: bool,
    /// `-Status` (Enable-/Disable-UMIPGateway).
    pub status: GatewayState,
    /// The dial plan the gateway was created with (`New-UMIPGateway -UMDialPlan`):
    /// its default hunt group sends every call there.
    pub dial_plan: Option<String>,
    /// Optional cap on concurrent calls from this gateway.
    pub max_calls: Option<usize>,
    /// Unsolicited MWI NOTIFYs for its mailboxes (`-MessageWaitingIndicatorAllowed`).
    pub mwi_allowed: bool,
}

impl IpGateway {
    /// Probed, and its calls in progress served (Disabled gateways are neither).
    pub fn enabled(&self) -> bool {
        self.status != GatewayState::Disabled
    }
}

/// An IP gateway's `-Status`: Enabled; Disabled (new calls refused, not probed);
/// NoNewCalls (calls in progress finish, new ones are refused: draining a gateway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub enum GatewayState {
    Enabled,
    Disabled,
    NoNewCalls,
}

impl GatewayState {
    pub fn parse(s: &str) -> Option<GatewayState> {
        match s.to_ascii_lowercase().as_str() {
            "enabled" => Some(GatewayState::Enabled),
            "disabled" => Some(GatewayState::Disabled),
            "nonewcalls" => Some(GatewayState::NoNewCalls),
            _ => None,
        }
    }
}

/// How openum reaches a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub enum GatewayTransport {
    Udp,
    Tcp,
    Tls,
}

#[derive(Debug, Clone, Serialize)]
pub struct HuntGroup {
    pub name: String,
    pub gateway: String,
    /// None only for the default hunt group of a gateway created without a dial
    /// plan: the pilot number then chooses the dial plan (its access numbers and
    /// auto-attendant pilots).
    pub dial_plan: Option<String>,
    /// Empty pilot = the default hunt group: any number the gateway sends.
    pub pilot: String,
    /// Made at load for a gateway (seed 004), not written in the configuration.
    pub default: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AutoAttendant {
    pub name: String,
    pub dial_plan: String,
    pub pilots: Vec<String>,
    /// Stored; with no speech recogniser the attendant takes DTMF only.
    pub speech_enabled: bool,
    /// `-Status Enabled|Disabled`: a disabled attendant does not answer (480).
    pub enabled: bool,
    pub language: String,
    /// IANA time zone its schedule is read in.
    pub time_zone: String,
    pub operator_extension: Option<String>,
    /// Invalid or missing inputs before "goodbye" and BYE.
    pub input_failures: u32,
    /// Empty: open around the clock.
    pub business_hours: Vec<schedule::WeeklyRange>,
    pub holidays: Vec<schedule::Holiday>,
    /// Library prompts replacing the default greetings and menus, if set.
    pub greetings: AaGreetings,
    pub business_keys: Vec<KeyMapping>,
    pub after_hours_keys: Vec<KeyMapping>,
    pub dial_by_extension: bool,
    /// `*` reaches the dial plan's subscriber access.
    pub star_subscriber_access: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AaGreetings {
    pub business: Option<String>,
    pub after_hours: Option<String>,
    pub business_menu: Option<String>,
    pub after_hours_menu: Option<String>,
    /// The informational announcement, played after the welcome greeting.
    pub info: Option<String>,
    pub info_uninterruptible: bool,
}

/// One key of an attendant's menu (1–9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyMapping {
    pub key: char,
    pub action: KeyAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum KeyAction {
    /// Transfer to an extension (REFER through the gateway).
    Transfer(String),
    /// Go to another auto attendant.
    Attendant(String),
    /// Play a library prompt, then the menu again.
    Announcement(String),
    /// Leave a message for a mailbox.
    LeaveMessage(String),
    DialByName,
}

#[derive(Debug, Clone, Serialize)]
pub struct UmMailbox {
    pub extension: String,
    pub display_name: String,
    pub dial_plan: String,
    pub policy: String,
    /// `-SIPResourceIdentifier`: `user@host`, how SipName dial plans find the mailbox.
    pub sip_resource_identifier: Option<String>,
    /// The mailbox's E.164 number (`+` and digits), for E164 dial plans.
    pub e164: Option<String>,
    /// PIN set at enable time; hashed into the store at first start, never persisted
    /// in clear, never serialized.
    #[serde(skip)]
    pub initial_pin: Option<String>,
    /// The subscriber's language, when not the dial plan's.
    pub language: Option<String>,
    /// Where new messages are emailed (Set-UMMailbox -EmailAddress), if anywhere.
    pub email: Option<String>,
}

/// The whole validated object model. Built by `config`, read by everything else.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Directory {
    pub dial_plans: Vec<DialPlan>,
    pub policies: Vec<MailboxPolicy>,
    pub gateways: Vec<IpGateway>,
    pub hunt_groups: Vec<HuntGroup>,
    pub auto_attendants: Vec<AutoAttendant>,
    pub mailboxes: Vec<UmMailbox>,
    /// Where notifications go (SMTP, webhooks) and how they are retried.
    pub notify: notify::NotifySettings,
    #[serde(skip)]
    by_extension: HashMap<(String, String), usize>,
    /// (dial plan, lower-case SIP resource identifier) → mailbox.
    #[serde(skip)]
    by_sip: HashMap<(String, String), usize>,
    /// (dial plan, normalised E.164) → mailbox.
    #[serde(skip)]
    by_e164: HashMap<(String, String), usize>,
}

impl Directory {
    /// Build the lookup indexes. Called once by `config` after validation.
    pub fn new(
        dial_plans: Vec<DialPlan>,
        policies: Vec<MailboxPolicy>,
        gateways: Vec<IpGateway>,
        hunt_groups: Vec<HuntGroup>,
        auto_attendants: Vec<AutoAttendant>,
        mailboxes: Vec<UmMailbox>,
    ) -> Self {
        let by_extension = mailboxes
            .iter()
            .enumerate()
            .map(|(i, m)| ((m.dial_plan.clone(), m.extension.clone()), i))
            .collect();
        let by_sip = mailboxes
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let s = m.sip_resource_identifier.as_ref()?;
                Some(((m.dial_plan.clone(), s.to_ascii_lowercase()), i))
            })
            .collect();
        let by_e164 = mailboxes
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let n = party::normalize_number(m.e164.as_ref()?)?;
                Some(((m.dial_plan.clone(), n), i))
            })
            .collect();
        Directory {
            dial_plans,
            policies,
            gateways,
            hunt_groups,
            auto_attendants,
            mailboxes,
            notify: notify::NotifySettings::default(),
            by_extension,
            by_sip,
            by_e164,
        }
    }

    /// With these notification settings.
    pub fn with_notify(mut self, n: notify::NotifySettings) -> Self {
        self.notify = n;
        self
    }

    pub fn dial_plan(&self, name: &str) -> Option<&DialPlan> {
        self.dial_plans.iter().find(|d| d.name == name)
    }
    /// The language of a mailbox's calls: its own, else its dial plan's.
    pub fn mailbox_language(&self, m: &UmMailbox) -> lang::Lang {
        m.language
            .as_deref()
            .and_then(lang::Lang::parse)
            .or_else(|| self.dial_plan_language(&m.dial_plan))
            .unwrap_or_default()
    }
    /// A dial plan's default language.
    pub fn dial_plan_language(&self, dial_plan: &str) -> Option<lang::Lang> {
        self.dial_plan(dial_plan)
            .and_then(|d| lang::Lang::parse(&d.default_language))
    }
    pub fn policy(&self, name: &str) -> Option<&MailboxPolicy> {
        self.policies.iter().find(|p| p.name == name)
    }
    pub fn mailbox(&self, dial_plan: &str, extension: &str) -> Option<&UmMailbox> {
        self.by_extension
            .get(&(dial_plan.to_string(), extension.to_string()))
            .map(|&i| &self.mailboxes[i])
    }
    pub fn mailbox_by_sip(&self, dial_plan: &str, user_at_host: &str) -> Option<&UmMailbox> {
        self.by_sip
            .get(&(dial_plan.to_string(), user_at_host.to_ascii_lowercase()))
            .map(|&i| &self.mailboxes[i])
    }
    pub fn mailbox_by_e164(&self, dial_plan: &str, number: &str) -> Option<&UmMailbox> {
        let n = party::normalize_number(number)?;
        self.by_e164
            .get(&(dial_plan.to_string(), n))
            .map(|&i| &self.mailboxes[i])
    }
    pub fn gateway(&self, name: &str) -> Option<&IpGateway> {
        self.gateways.iter().find(|g| g.name == name)
    }
    /// A mailbox by extension in any dial plan (extensions are unique per dial plan,
    /// the CLI takes the first match).
    pub fn mailbox_any(&self, extension: &str) -> Option<&UmMailbox> {
        self.mailboxes.iter().find(|m| m.extension == extension)
    }
    /// The policy governing a mailbox. Validation guarantees it exists.
    pub fn mailbox_policy(&self, mailbox: &UmMailbox) -> Option<&MailboxPolicy> {
        self.policy(&mailbox.policy)
    }
    /// The policy of the mailbox with this extension, if there is one.
    pub fn policy_of(&self, extension: &str) -> Option<&MailboxPolicy> {
        self.mailbox_any(extension)
            .and_then(|m| self.mailbox_policy(m))
    }
    /// The time zone of a mailbox's dial plan (its message dates); UTC for an
    /// extension that is no mailbox.
    pub fn mailbox_time_zone(&self, extension: &str) -> jiff::tz::TimeZone {
        self.mailbox_any(extension)
            .and_then(|m| self.dial_plan(&m.dial_plan))
            .and_then(|d| schedule::time_zone(&d.time_zone).ok())
            .unwrap_or(jiff::tz::TimeZone::UTC)
    }
    /// The configured gateway a request from `ip` belongs to, whatever its status
    /// (a Disabled gateway is still known: its new calls get a clear refusal).
    pub fn gateway_for(&self, ip: IpAddr) -> Option<&IpGateway> {
        let ip = canonical_ip(ip);
        self.gateways
            .iter()
            .find(|g| g.resolved.iter().any(|r| canonical_ip(*r) == ip))
    }
}

impl Directory {
    /// Pairs of gateways that share an address (Exchange event 1175): requests from
    /// that address cannot be told apart; the first listed gateway gets them.
    pub fn shared_gateway_addresses(&self) -> Vec<(String, String, IpAddr)> {
        let mut out = Vec::new();
        for (i, a) in self.gateways.iter().enumerate() {
            for b in &self.gateways[i + 1..] {
                if let Some(ip) = a.resolved.iter().find(|ip| b.resolved.contains(ip)) {
                    out.push((a.name.clone(), b.name.clone(), *ip));
                }
            }
        }
        out
    }

    /// Gateway FQDNs a client certificate may carry.
    pub fn gateway_fqdns(&self) -> Vec<String> {
        self.gateways
            .iter()
            .filter_map(|g| g.fqdn.clone())
            .collect()
    }
}

/// IPv4-mapped IPv6 addresses (from dual-stack sockets) compare as IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}
