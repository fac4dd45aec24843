//! The `openum` command: `serve`, and admin verbs named after the Exchange UM cmdlets
//! they stand for. Message verbs open the store directly when the server is stopped
//! and go through the running server's admin API when it holds the store.

mod aa_cli;
mod greeting_cli;
mod mailbox_admin;
mod mailbox_cli;
mod message_cli;

use clap::{Args, Parser, Subcommand};
use openum::config::Config;
use openum::server::{self, Runtime};
use openum::store::{StoreError, sled::SledStore};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "openum",
    version,
    about = "Open Unified Messaging: voicemail, auto attendant and subscriber access over SIP"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Clone)]
struct Common {
    /// TOML configuration (default: the embedded demo configuration).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory (store, certificates, runtime file).
    #[arg(long, global = true, default_value = "./data")]
    data: PathBuf,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Override the SIP port (UDP and TCP; 0 = any free port).
        #[arg(long)]
        sip_port: Option<u16>,
        /// Override the SIP TLS port (0 = any free port).
        #[arg(long)]
        sip_tls_port: Option<u16>,
        /// Override the admin HTTP address (port 0 = any free port).
        #[arg(long)]
        admin: Option<SocketAddr>,
        /// Override the RTP port range, e.g. 30000-30999.
        #[arg(long)]
        rtp_ports: Option<String>,
        /// Override MaxCallsAllowed.
        #[arg(long)]
        max_calls: Option<usize>,
        /// Worker arbiters for call actors (default: one per core).
        #[arg(long)]
        workers: Option<usize>,
        /// Log as JSON lines instead of text.
        #[arg(long)]
        log_json: bool,
        /// router (UM Call Router: redirects calls to mailbox nodes), mailbox (UM
        /// service, SIP on 5062/5063) or combined (both, the default).
        #[arg(long, default_value = "combined")]
        role: String,
    },
    /// Voicemail messages (Get-/Export- style verbs).
    Message {
        #[command(subcommand)]
        cmd: message_cli::MessageCmd,
    },
    /// IP gateways (Get-UMIPGateway).
    Gateway {
        #[command(subcommand)]
        cmd: GatewayCmd,
    },
    /// The UM service itself (Set-UMService).
    Service {
        #[command(subcommand)]
        cmd: ServiceCmd,
    },
    /// TLS certificates (Import-/Enable-/Get-ExchangeCertificate).
    Certificate {
        #[command(subcommand)]
        cmd: CertificateCmd,
    },
    /// UM mailboxes: status and PINs (Get-UMMailbox, Set-UMMailboxPIN, unlock).
    Mailbox {
        #[command(subcommand)]
        cmd: mailbox_cli::MailboxCmd,
    },
    /// Auto attendants (New-/Set-/Get-/Remove-UMAutoAttendant, and importing
    /// custom greetings).
    #[command(name = "autoattendant")]
    AutoAttendant {
        #[command(subcommand)]
        cmd: aa_cli::AaCmd,
    },
    /// Validate a configuration and print its objects.
    Config {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum GatewayCmd {
    /// List IP gateways with their OPTIONS status (live when the server runs).
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Change an IP gateway (Set-UMIPGateway / Enable- / Disable-UMIPGateway): live
    /// when the server runs, and kept for the next starts.
    Set {
        #[command(flatten)]
        common: Common,
        name: String,
        /// Enabled, Disabled (new calls refused) or NoNewCalls (calls in progress
        /// finish, new ones refused).
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        outcalls_allowed: Option<bool>,
        /// A new IP address or FQDN (resolved now, then cached).
        #[arg(long)]
        address: Option<String>,
        /// The FQDN its TLS certificate carries.
        #[arg(long)]
        fqdn: Option<String>,
    },
}

#[derive(Subcommand)]
enum ServiceCmd {
    /// Set UMStartupMode (TCP, TLS or Dual), for one role (Set-UMCallRouterSettings
    /// for the router) or, without --role, for every role that has none of its own.
    /// Takes effect when the service restarts.
    SetStartupMode {
        #[command(flatten)]
        common: Common,
        mode: String,
        #[arg(long)]
        role: Option<String>,
    },
    /// Stop taking calls (OPTIONS and INVITE get 503), let the calls in progress
    /// complete, then exit. Same as SIGTERM.
    Drain {
        #[command(flatten)]
        common: Common,
    },
    /// Show the startup mode in effect and the one the next start will use.
    Show {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum CertificateCmd {
    /// Check a PEM certificate chain and key, and store them for `enable`.
    Import {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// Use an imported certificate for SIP TLS (no restart needed).
    Enable {
        #[command(flatten)]
        common: Common,
        /// Thumbprint (or a unique prefix) shown by `import` / `list`.
        thumbprint: String,
        /// Services to assign it to (only UM exists here).
        #[arg(long, default_value = "UM")]
        services: String,
    },
    /// List the generated and imported certificates, and which one is in use.
    List {
        #[command(flatten)]
        common: Common,
    },
}

/// Print a value as pretty JSON (the `--json` of the listing verbs).
fn print_json(v: &impl serde::Serialize) -> Result<(), String> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// The configuration file's text (or the embedded demo's) and what to call it.
fn config_text(common: &Common) -> Result<(String, String), String> {
    match &common.config {
        None => Ok((
            openum::config::DEMO_TOML.to_string(),
            "embedded demo config".into(),
        )),
        Some(p) => Ok((
            std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
            p.display().to_string(),
        )),
    }
}

/// The configuration with the run-time objects of the data dir laid over it (see
/// `openum::config::overlay`). Gateway FQDNs, the demo's included, resolve through
/// the system resolver.
fn load_config(common: &Common) -> Result<Config, String> {
    let (text, what) = config_text(common)?;
    openum::server::load_layers(&text, &common.data).map_err(|e| format!("{what}: {e}"))
}

/// Either the store itself (server stopped) or the running server's admin URL.
enum Access {
    Direct(SledStore),
    Remote(String),
}

fn access(data: &Path) -> Result<Access, String> {
    let path = server::store_path(data);
    if !path.exists() {
        return Err(format!(
            "no store at {} (has the server run with --data {}?)",
            path.display(),
            data.display()
        ));
    }
    match SledStore::open(&path) {
        Ok(s) => Ok(Access::Direct(s)),
        Err(StoreError::Locked) => {
            let rt = server::runtime_path(data);
            let text = std::fs::read_to_string(&rt).map_err(|_| {
                format!(
                    "the store is in use but {} is missing: is another openum running on it?",
                    rt.display()
                )
            })?;
            let r: Runtime =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", rt.display()))?;
            Ok(Access::Remote(r.admin_url))
        }
        Err(e) => Err(e.to_string()),
    }
}

fn http_get(url: &str) -> Result<ureq::Response, String> {
    ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .get(url)
        .call()
        .map_err(|e| match e {
            ureq::Error::Status(code, r) => format!(
                "{url}: HTTP {code}: {}",
                r.into_string().unwrap_or_default()
            ),
            e => format!("the server's admin API at {url} is not reachable: {e}"),
        })
}

mod admin_cli {
    //! The `service` and `certificate` verbs.
    use super::*;
    use openum::config::{GatewayChange, Role, StartupMode};
    use openum::directory::GatewayState;
    use openum::tls::{TlsFiles, certs};

    pub fn running(data: &Path) -> Option<Runtime> {
        let text = std::fs::read_to_string(server::runtime_path(data)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn gateway(cmd: GatewayCmd) -> Result<(), String> {
        let (common, json) = match cmd {
            GatewayCmd::List { common, json } => (common, json),
            GatewayCmd::Set {
                common,
                name,
                status,
                outcalls_allowed,
                address,
                fqdn,
            } => {
                let status = match status {
                    Some(s) => Some(GatewayState::parse(&s).ok_or_else(|| {
                        format!("--status {s:?}: use Enabled, Disabled or NoNewCalls")
                    })?),
                    None => None,
                };
                let change = GatewayChange {
                    status,
                    outcalls_allowed,
                    address,
                    fqdn,
                };
                return set_gateway(&common, &name, &change);
            }
        };
        let cfg = load_config(&common)?;
        let live: Option<Vec<serde_json::Value>> = match running(&common.data) {
            Some(r) => Some(
                http_get(&format!("{}/api/gateways", r.admin_url))?
                    .into_json()
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        if json {
            let v = match live {
                Some(l) => serde_json::Value::Array(l),
                None => serde_json::to_value(&cfg.directory.gateways).map_err(|e| e.to_string())?,
            };
            return print_json(&v);
        }
        println!(
            "{:<16} {:<24} {:>5} {:<5} {:<12} LAST ANSWER",
            "NAME", "ADDRESS", "PORT", "VIA", "STATUS"
        );
        for g in &cfg.directory.gateways {
            let st = live
                .as_ref()
                .and_then(|l| l.iter().find(|x| x["name"] == g.name.as_str()));
            let status = match st.map(|s| &s["reachable"]) {
                None => "not running".to_string(),
                Some(serde_json::Value::Bool(true)) => "reachable".into(),
                Some(serde_json::Value::Bool(false)) => "UNREACHABLE".into(),
                Some(_) => "probing".into(),
            };
            let last = st.and_then(|s| s["last_answer"].as_str()).unwrap_or("-");
            println!(
                "{:<16} {:<24} {:>5} {:<5} {:<12} {last}",
                g.name,
                g.address,
                g.port,
                format!("{:?}", g.transport),
                status
            );
        }
        Ok(())
    }

    fn set_gateway(common: &Common, name: &str, change: &GatewayChange) -> Result<(), String> {
        let cfg = load_config(common)?;
        if cfg.directory.gateway(name).is_none() {
            return Err(format!("no IP gateway {name:?} in the configuration"));
        }
        match running(&common.data) {
            Some(r) => {
                let url = format!("{}/api/gateways/{name}", r.admin_url);
                let body = serde_json::to_value(change).map_err(|e| e.to_string())?;
                match ureq::post(&url).send_json(body) {
                    Ok(resp) => {
                        let g: serde_json::Value = resp.into_json().map_err(|e| e.to_string())?;
                        println!(
                            "IP gateway {name}: status {}, OutcallsAllowed {}, address {} (in effect now)",
                            g["status"], g["outcalls_allowed"], g["address"]
                        );
                        Ok(())
                    }
                    Err(ureq::Error::Status(_, resp)) => Err(format!(
                        "refused: {}",
                        resp.into_string().unwrap_or_default()
                    )),
                    Err(e) => Err(format!(
                        "the server's admin API at {url} is not reachable: {e}"
                    )),
                }
            }
            None => {
                // Check it applies (names, DNS) before keeping it.
                let mut dir = cfg.directory.clone();
                openum::config::change_gateway(
                    &mut dir,
                    name,
                    change,
                    &openum::config::system_resolve,
                )
                .map_err(|e| e.to_string())?;
                let mut s = server::load_settings(&common.data)?;
                s.gateways
                    .entry(name.to_string())
                    .or_default()
                    .merge(change);
                server::save_settings(&common.data, &s)?;
                println!("IP gateway {name} changed; it takes effect when the service starts");
                Ok(())
            }
        }
    }

    pub fn service(cmd: ServiceCmd) -> Result<(), String> {
        match cmd {
            ServiceCmd::Drain { common } => {
                let r = running(&common.data)
                    .ok_or_else(|| "the service is not running".to_string())?;
                let url = format!("{}/api/service/drain", r.admin_url);
                let v: serde_json::Value = ureq::post(&url)
                    .call()
                    .map_err(|e| format!("{url}: {e}"))?
                    .into_json()
                    .map_err(|e| e.to_string())?;
                println!(
                    "draining (pid {}): {} call(s) in progress; new calls get 503; the service exits when they end",
                    r.pid, v["calls_in_progress"]
                );
                Ok(())
            }
            ServiceCmd::SetStartupMode { common, mode, role } => {
                let m = StartupMode::parse(&mode).ok_or_else(|| {
                    format!("unknown startup mode {mode:?}: use TCP, TLS or Dual")
                })?;
                let role = match role {
                    Some(r) => Some(Role::parse(&r).ok_or_else(|| {
                        format!("unknown role {r:?}: use router, mailbox or combined")
                    })?),
                    None => None,
                };
                let mut s = server::load_settings(&common.data)?;
                match role {
                    Some(r) => {
                        s.startup_modes.insert(r, m);
                    }
                    None => s.startup_mode = Some(m),
                }
                server::save_settings(&common.data, &s)?;
                let who = role.map_or("every role".to_string(), |r| {
                    format!("the {} role", r.name())
                });
                println!("UMStartupMode {m:?} for {who}.");
                match running(&common.data) {
                    Some(r) if r.startup_mode != m && role.is_none_or(|x| x == r.role) => println!(
                        "UMStartupMode set to {m:?}. The running service (pid {}) keeps {:?}: restart it for the change to take effect.",
                        r.pid, r.startup_mode
                    ),
                    Some(_) => println!("UMStartupMode set to {m:?} (already in effect)."),
                    None => println!(
                        "UMStartupMode set to {m:?}; it takes effect when the service starts."
                    ),
                }
                Ok(())
            }
            ServiceCmd::Show { common } => {
                let cfg = load_config(&common)?;
                let settings = server::load_settings(&common.data)?;
                let next = |role: Role| {
                    settings
                        .startup_mode_for(role)
                        .unwrap_or(cfg.service.startup_mode)
                };
                match running(&common.data) {
                    Some(r) => println!(
                        "running: role {}, {:?} (pid {}), next start: {:?}",
                        r.role.name(),
                        r.startup_mode,
                        r.pid,
                        next(r.role)
                    ),
                    None => println!(
                        "not running, next start: router {:?}, mailbox {:?}, combined {:?}",
                        next(Role::Router),
                        next(Role::Mailbox),
                        next(Role::Combined)
                    ),
                }
                Ok(())
            }
        }
    }

    fn reload(data: &Path) -> Result<Option<String>, String> {
        let Some(r) = running(data) else {
            return Ok(None);
        };
        let url = format!("{}/api/certificate/reload", r.admin_url);
        match ureq::post(&url).call() {
            Ok(resp) => Ok(Some(resp.into_string().unwrap_or_default())),
            Err(ureq::Error::Status(_, resp)) => Err(format!(
                "the running server refused the certificate and keeps the old one: {}",
                resp.into_string().unwrap_or_default()
            )),
            Err(e) => Err(format!("could not reach the running server at {url}: {e}")),
        }
    }

    pub fn certificate(cmd: CertificateCmd) -> Result<(), String> {
        let now = std::time::SystemTime::now();
        match cmd {
            CertificateCmd::Import { common, cert, key } => {
                let read = |p: &Path| {
                    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))
                };
                let pair = certs::PemPair {
                    cert: read(&cert)?,
                    key: read(&key)?,
                };
                let info =
                    certs::inspect(&pair, now).map_err(|e| format!("certificate refused: {e}"))?;
                TlsFiles::new(&common.data)
                    .save(&format!("imported/{}", info.thumbprint), &pair)
                    .map_err(|e| e.to_string())?;
                println!(
                    "imported {} ({}), valid until {}",
                    info.thumbprint,
                    info.names.join(", "),
                    info.not_after
                );
                println!(
                    "use it with: openum certificate enable {} --services UM",
                    &info.thumbprint[..16]
                );
                Ok(())
            }
            CertificateCmd::Enable {
                common,
                thumbprint,
                services,
            } => {
                if !services
                    .split(',')
                    .all(|s| s.trim().eq_ignore_ascii_case("UM"))
                {
                    return Err(format!("--services {services:?}: only UM is served here"));
                }
                let files = TlsFiles::new(&common.data);
                let matches: Vec<String> = files
                    .imported()
                    .into_iter()
                    .filter(|t| t.starts_with(&thumbprint.to_ascii_lowercase()))
                    .collect();
                let t = match matches.as_slice() {
                    [one] => one.clone(),
                    [] => {
                        return Err(format!(
                            "no imported certificate {thumbprint}; see `openum certificate list`"
                        ));
                    }
                    _ => {
                        return Err(format!(
                            "{thumbprint} matches several certificates; give more digits"
                        ));
                    }
                };
                let pair = files
                    .load(&format!("imported/{t}"))
                    .map_err(|e| e.to_string())?;
                certs::inspect(&pair, now).map_err(|e| format!("certificate refused: {e}"))?;
                let previous = files.active();
                files.set_active(&t).map_err(|e| e.to_string())?;
                match reload(&common.data) {
                    Ok(Some(_)) => println!(
                        "certificate {t} is now used by the running service (no restart needed)"
                    ),
                    Ok(None) => println!("certificate {t} will be used when the service starts"),
                    Err(e) => {
                        // Keep what was in use, on disk too.
                        match previous {
                            Some(p) => files.set_active(&p).map_err(|e| e.to_string())?,
                            None => std::fs::remove_file(files.dir.join("active"))
                                .map_err(|e| e.to_string())?,
                        }
                        return Err(e);
                    }
                }
                Ok(())
            }
            CertificateCmd::List { common } => {
                let cfg = load_config(&common)?;
                let files = TlsFiles::new(&common.data);
                let active = openum::tls::current_server_pair(&cfg.service, &files, now)
                    .ok()
                    .map(|(_, i, _)| i.thumbprint);
                let mut rows = Vec::new();
                for stem in ["server".to_string()].into_iter().chain(
                    files
                        .imported()
                        .into_iter()
                        .map(|t| format!("imported/{t}")),
                ) {
                    if let Ok(p) = files.load(&stem)
                        && let Ok(chain) = certs::parse_chain(&p.cert)
                        && let Ok(i) = certs::info(&chain[0])
                    {
                        let mark = if active.as_deref() == Some(i.thumbprint.as_str()) {
                            "*"
                        } else {
                            " "
                        };
                        rows.push(format!(
                            "{mark} {}  {:<28} until {}  {}",
                            &i.thumbprint[..16],
                            i.names.join(","),
                            i.not_after,
                            stem
                        ));
                    }
                }
                if rows.is_empty() {
                    println!(
                        "no certificates yet (they are created at the first start in TLS or Dual mode)"
                    );
                }
                for r in rows {
                    println!("{r}");
                }
                Ok(())
            }
        }
    }
}

/// jemalloc, not glibc's malloc: see `openum::alloc` for why and what was measured.
#[cfg(all(target_os = "linux", not(target_env = "msvc")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc reads its options from this symbol before the first allocation
/// (`_rjem_` is the crate's symbol prefix); `openum::alloc` says what each does.
#[cfg(all(target_os = "linux", not(target_env = "msvc")))]
#[unsafe(export_name = "_rjem_malloc_conf")]
#[used]
static MALLOC_CONF: &[u8; openum::alloc::MALLOC_CONF.len()] = openum::alloc::MALLOC_CONF;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Serve {
            common,
            sip_port,
            sip_tls_port,
            admin,
            rtp_ports,
            max_calls,
            workers,
            log_json,
            role,
        } => (|| {
            let logs = openum::logging::init(log_json);
            let mut cfg = load_config(&common)?;
            let role = openum::config::Role::parse(&role)
                .ok_or_else(|| format!("--role {role:?}: use router, mailbox or combined"))?;
            cfg.service.role = role;
            if role == openum::config::Role::Mailbox {
                // Exchange's UM service ports, so a router and a mailbox node can
                // share a machine; the admin API moves one port up likewise.
                cfg.service.sip_port = cfg.service.mailbox_sip_port;
                cfg.service.sip_tls_port = cfg.service.mailbox_sip_tls_port;
                let port = cfg.service.admin.port();
                if port != 0 {
                    cfg.service.admin.set_port(port.saturating_add(1));
                }
            }
            if let Some(p) = sip_port {
                cfg.service.sip_port = p;
            }
            if let Some(p) = sip_tls_port {
                cfg.service.sip_tls_port = p;
            }
            if let Some(a) = admin {
                cfg.service.admin = a;
            }
            if let Some(r) = rtp_ports {
                let (lo, hi) = r
                    .split_once('-')
                    .and_then(|(a, b)| Some((a.parse::<u16>().ok()?, b.parse::<u16>().ok()?)))
                    .filter(|(lo, hi)| *lo > 0 && lo + 2 <= *hi)
                    .ok_or_else(|| {
                        format!("--rtp-ports {r:?}: expected LOW-HIGH with LOW < HIGH - 1")
                    })?;
                cfg.service.rtp_ports = (lo, hi);
            }
            if let Some(m) = max_calls {
                if m == 0 {
                    return Err("--max-calls must be at least 1".to_string());
                }
                cfg.service.max_calls_allowed = m;
            }
            if let Some(w) = workers {
                cfg.service.workers = w;
            }
            let (base, _) = config_text(&common)?;
            let code = server::run(cfg, common.data, base);
            // What is still buffered is written before the process goes.
            drop(logs);
            code.map(|code| {
                if code != 0 {
                    std::process::exit(code);
                }
            })
        })(),
        Cmd::Message { cmd } => message_cli::run(cmd),
        Cmd::Gateway { cmd } => admin_cli::gateway(cmd),
        Cmd::Service { cmd } => admin_cli::service(cmd),
        Cmd::Certificate { cmd } => admin_cli::certificate(cmd),
        Cmd::AutoAttendant { cmd } => aa_cli::run(cmd),
        Cmd::Mailbox { cmd } => mailbox_cli::run(cmd),
        Cmd::Config { common } => load_config(&common).and_then(|c| print_json(&c.directory)),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("openum: {e}");
            ExitCode::FAILURE
        }
    }
}
