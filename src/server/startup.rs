//! The first steps of `openum serve`: where the object model comes from, and
//! the command line's overrides laid over it.
//!
//! A mailbox-role or combined node keeps its model in the store: the first
//! start bootstraps it from the configuration file (or the embedded demo),
//! later starts read it back, and a `--config` file that changed since is
//! reported and left alone (`openum config import` takes it in). A router has
//! no store and reads the file at every start. The configuration is checked
//! before anything is written to the data directory.

use crate::config::{Config, Role};
use crate::objects::{Objects, digest};
use crate::store::sled::SledStore;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// The configuration file given to `serve`, or the embedded demo's.
pub struct Source {
    pub text: String,
    /// How to name it in messages (`corp.toml`, `embedded demo config`).
    pub what: String,
    /// Given with `--config` (not the demo).
    pub explicit: bool,
}

/// `serve`'s flags that override the model for this run only.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub role: Role,
    pub sip_port: Option<u16>,
    pub sip_tls_port: Option<u16>,
    pub admin: Option<SocketAddr>,
    pub rtp_ports: Option<(u16, u16)>,
    pub max_calls: Option<usize>,
    pub workers: Option<usize>,
    /// `--insecure-admin`: allow a non-loopback admin bind without TLS.
    pub insecure_admin: bool,
    /// `--admin-tls ADDR`: the admin API over HTTPS there too.
    pub admin_tls: Option<SocketAddr>,
}

impl Overrides {
    pub fn apply(&self, cfg: &mut Config) {
        let s = &mut cfg.service;
        s.role = self.role;
        if self.role == Role::Mailbox {
            // Exchange's UM service ports, so a router and a mailbox node can
            // share a machine; the admin API moves one port up likewise.
            s.sip_port = s.mailbox_sip_port;
            s.sip_tls_port = s.mailbox_sip_tls_port;
            let port = s.admin.port();
            if port != 0 {
                s.admin.set_port(port.saturating_add(1));
            }
        }
        if let Some(p) = self.sip_port {
            s.sip_port = p;
        }
        if let Some(p) = self.sip_tls_port {
            s.sip_tls_port = p;
        }
        if let Some(a) = self.admin {
            s.admin = a;
        }
        if let Some(r) = self.rtp_ports {
            s.rtp_ports = r;
        }
        if let Some(m) = self.max_calls {
            s.max_calls_allowed = m;
        }
        if let Some(w) = self.workers {
            s.workers = w;
        }
        if let Some(a) = self.admin_tls {
            s.admin_tls = Some(a);
        }
    }
}

/// Check the configuration text (as at a first start): a refusal names the
/// file, the object and the field (or the line, for a schema error).
pub fn check_text(src: &Source, data: &Path) -> Result<Config, String> {
    let custom = crate::ivr::prompts::custom_names(&crate::ivr::prompts::custom_dir(data));
    Config::parse_layers(
        &src.text,
        None,
        None,
        &|n| custom.iter().any(|c| c == n),
        &crate::config::system_resolve,
    )
    .map_err(|e| format!("{}: {e}", src.what))
}

/// The model a node with a store runs with: bootstrapped at the first start,
/// read back afterwards. Returns it with the PINs the bootstrap hashed.
pub fn load_model(src: &Source, data: &Path, objects: &Objects) -> Result<(Config, usize), String> {
    let now = std::time::SystemTime::now();
    match objects.bootstrap(&src.text, data, now) {
        Ok(Some(out)) => {
            tracing::info!(event = "model_bootstrapped", version = out.version, source = %src.what);
            return Ok((out.config, out.pins_seeded));
        }
        Ok(None) => {}
        Err(e) => return Err(format!("{}: {e}", src.what)),
    }
    let Some((m, doc)) = objects.current().map_err(|e| e.to_string())? else {
        return Err("the store lost its object model".into());
    };
    if src.explicit && m.source_digest != digest(&src.text) {
        tracing::warn!(
            event = "config_file_ignored",
            file = %src.what,
            version = m.version,
            "the data directory keeps its own object model (changed at run time); \
             `openum config import FILE` takes the file in"
        );
    }
    let cfg = objects
        .validate(doc)
        .map_err(|e| format!("the stored object model (version {}): {e}", m.version))?;
    Ok((cfg, 0))
}

/// The administration of a store opened by `serve` or by the CLI.
pub fn objects_of(sled: &SledStore, data: &Path) -> Arc<Objects> {
    Arc::new(Objects::new(
        Arc::new(sled.clone()),
        Arc::new(sled.clone()),
        data,
        crate::config::system_resolve,
    ))
}

/// The files the configuration names (TLS certificate, key, trust anchors)
/// exist and can be read: every missing one is reported at once, naming its
/// field, before anything is written (no certificate is generated in their
/// place).
pub fn check_files(cfg: &Config) -> Result<(), String> {
    let t = &cfg.service.tls;
    let mut problems = Vec::new();
    let notify = &cfg.directory.notify;
    let smtp = notify.smtp.as_ref();
    let mut files: Vec<(String, Option<std::path::PathBuf>)> = vec![
        ("tls.cert".into(), t.cert.clone()),
        ("tls.key".into(), t.key.clone()),
        ("tls.trust_anchors".into(), t.trust_anchors.clone()),
        (
            "smtp.password_file".into(),
            smtp.and_then(|s| s.password_file.clone()),
        ),
        ("smtp.ca_file".into(), smtp.and_then(|s| s.ca_file.clone())),
    ];
    files.extend(notify.webhooks.iter().map(|w| {
        (
            format!("webhook {:?}: secret_file", w.name),
            Some(w.secret_file.clone()),
        )
    }));
    for (field, path) in &files {
        if let Some(p) = path
            && let Err(e) = std::fs::File::open(p)
        {
            problems.push(format!(
                "service {:?}: {field}: {}: {e}",
                cfg.service.fqdn,
                p.display()
            ));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(problems.join("; ")),
    }
}

/// Every port this start would listen on is free, all reported at once (with
/// the flag that moves it), before anything is written. Port 0 is always free.
pub fn check_ports(cfg: &Config) -> Result<(), String> {
    use std::net::{TcpListener, UdpSocket};
    let s = &cfg.service;
    let mut problems = Vec::new();
    let mode = s.startup_mode;
    if mode.plain() && s.sip_port != 0 {
        let a = SocketAddr::new(s.sip_bind, s.sip_port);
        if let Err(e) = TcpListener::bind(a) {
            problems.push(format!("SIP TCP port {a}: {e} (--sip-port)"));
        }
        if s.udp
            && let Err(e) = UdpSocket::bind(a)
        {
            problems.push(format!("SIP UDP port {a}: {e} (--sip-port)"));
        }
    }
    if mode.tls() && s.sip_tls_port != 0 {
        let a = SocketAddr::new(s.sip_bind, s.sip_tls_port);
        if let Err(e) = TcpListener::bind(a) {
            problems.push(format!("SIP TLS port {a}: {e} (--sip-tls-port)"));
        }
    }
    if s.admin.port() != 0
        && let Err(e) = TcpListener::bind(s.admin)
    {
        problems.push(format!("admin address {}: {e} (--admin)", s.admin));
    }
    if let Some(a) = s.admin_tls
        && a.port() != 0
        && let Err(e) = TcpListener::bind(a)
    {
        problems.push(format!("admin HTTPS address {a}: {e} (--admin-tls)"));
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(format!("cannot listen: {}", problems.join("; "))),
    }
}

/// The plain admin API stays on loopback unless `--insecure-admin` says
/// otherwise (tokens would cross the network in clear); `--admin-tls` is the
/// way beyond it.
pub fn check_admin(cfg: &Config, insecure: bool) -> Result<(), String> {
    let a = cfg.service.admin;
    if a.ip().is_loopback() || insecure {
        return Ok(());
    }
    Err(format!(
        "the admin API would listen on {a} (not loopback) without TLS: bind it to 127.0.0.1 \
         (--admin 127.0.0.1:PORT) and serve it beyond with --admin-tls ADDR (HTTPS with the \
         service certificate), or give --insecure-admin to accept bearer tokens in clear"
    ))
}
