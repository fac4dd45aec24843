//! The `openum` command: `serve`, and admin verbs named after the Exchange UM cmdlets
//! they stand for. Message verbs open the store directly when the server is stopped
//! and go through the running server's admin API when it holds the store.

use clap::{Args, Parser, Subcommand};
use openum::config::Config;
use openum::server::{self, Runtime};
use openum::store::{MailboxStore, MessageMeta, StoreError, sled::SledStore, to_wav};
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
        /// Override the admin HTTP address (port 0 = any free port).
        #[arg(long)]
        admin: Option<SocketAddr>,
        /// Override the RTP port range, e.g. 30000-30999.
        #[arg(long)]
        rtp_ports: Option<String>,
        /// Override MaxCallsAllowed.
        #[arg(long)]
        max_calls: Option<usize>,
        /// Log as JSON lines instead of text.
        #[arg(long)]
        log_json: bool,
    },
    /// Voicemail messages (Get-/Export- style verbs).
    Message {
        #[command(subcommand)]
        cmd: MessageCmd,
    },
    /// Validate a configuration and print its objects.
    Config {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum MessageCmd {
    /// List a mailbox's messages, oldest first.
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        mailbox: String,
        #[arg(long)]
        json: bool,
    },
    /// Write a message's audio as a WAV file.
    Export {
        #[command(flatten)]
        common: Common,
        id: String,
        #[arg(long)]
        out: PathBuf,
    },
}

fn load_config(common: &Common) -> Result<Config, String> {
    match &common.config {
        None => Config::demo().map_err(|e| format!("embedded demo config: {e}")),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Config::parse(&text, &resolve).map_err(|e| format!("{}: {e}", p.display()))
        }
    }
}

/// DNS for gateway FQDNs, once at start (seed: a DNS change needs a restart).
fn resolve(name: &str) -> Vec<std::net::IpAddr> {
    use std::net::ToSocketAddrs;
    (name, 5060)
        .to_socket_addrs()
        .map(|it| it.map(|a| a.ip()).collect())
        .unwrap_or_default()
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

fn list(common: &Common, mailbox: &str, json: bool) -> Result<(), String> {
    let cfg = load_config(common)?;
    if cfg.directory.mailbox_any(mailbox).is_none() {
        return Err(format!("no UM mailbox with extension {mailbox}"));
    }
    let msgs: Vec<MessageMeta> = match access(&common.data)? {
        Access::Direct(s) => s.list(mailbox).map_err(|e| e.to_string())?,
        Access::Remote(url) => http_get(&format!("{url}/api/mailboxes/{mailbox}/messages"))?
            .into_json()
            .map_err(|e| e.to_string())?,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&msgs).map_err(|e| e.to_string())?
        );
    } else {
        println!(
            "{:<17} {:<8} {:<16} {:<25} {:>9} {:<5} {:>8}",
            "ID", "MAILBOX", "CALLER", "RECEIVED", "DURATION", "CODEC", "SIZE"
        );
        for m in &msgs {
            println!(
                "{:<17} {:<8} {:<16} {:<25} {:>8.1}s {:<5} {:>8}",
                m.id,
                m.mailbox,
                m.caller_id,
                m.received_at,
                m.duration_ms as f64 / 1000.0,
                m.codec.name(),
                m.size
            );
        }
        println!("{} message(s)", msgs.len());
    }
    Ok(())
}

fn export(common: &Common, id: &str, out: &Path) -> Result<(), String> {
    let wav = match access(&common.data)? {
        Access::Direct(s) => {
            let meta = s.get(id).map_err(|e| e.to_string())?;
            to_wav(meta.codec, &s.audio(id).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?
        }
        Access::Remote(url) => {
            let mut v = Vec::new();
            std::io::Read::read_to_end(
                &mut http_get(&format!("{url}/api/messages/{id}/audio.wav"))?.into_reader(),
                &mut v,
            )
            .map_err(|e| e.to_string())?;
            v
        }
    };
    std::fs::write(out, &wav).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("wrote {} ({} bytes)", out.display(), wav.len());
    Ok(())
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if json {
        b.json().init();
    } else {
        b.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Serve {
            common,
            sip_port,
            admin,
            rtp_ports,
            max_calls,
            log_json,
        } => (|| {
            init_logs(log_json);
            let mut cfg = load_config(&common)?;
            if let Some(p) = sip_port {
                cfg.service.sip_port = p;
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
            server::run(cfg, common.data)
        })(),
        Cmd::Message { cmd } => match cmd {
            MessageCmd::List {
                common,
                mailbox,
                json,
            } => list(&common, &mailbox, json),
            MessageCmd::Export { common, id, out } => export(&common, &id, &out),
        },
        Cmd::Config { common } => load_config(&common).and_then(|c| {
            serde_json::to_string_pretty(&c.directory)
                .map(|s| println!("{s}"))
                .map_err(|e| e.to_string())
        }),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("openum: {e}");
            ExitCode::FAILURE
        }
    }
}
