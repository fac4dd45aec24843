//! `openum serve`: opens the store, provisions PIN hashes, binds the SIP and admin
//! sockets, starts the actors, prints what it listens on, and runs until SIGINT or
//! SIGTERM (then drains calls, see `actors::endpoint::Shutdown`).
//!
//! `<data>/runtime.json` names the live ports and admin URL while the server runs,
//! so the CLI (and tests that ask for port 0) can find it.

use crate::actors::endpoint::{Shutdown, SipEndpoint};
use crate::actors::net;
use crate::actors::store::StoreActor;
use crate::admin::{self, AdminState};
use crate::config::Config;
use crate::directory::pin;
use crate::ivr::prompts::PromptLibrary;
use crate::store::{MailboxStore, sled::SledStore};
use actix::prelude::*;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `runtime.json` holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct Runtime {
    pub pid: u32,
    pub sip_port: u16,
    pub admin_url: String,
}

pub fn runtime_path(data: &Path) -> PathBuf {
    data.join("runtime.json")
}

pub fn store_path(data: &Path) -> PathBuf {
    data.join("store")
}

/// Hash the configured initial PINs of mailboxes that have none stored yet. PINs
/// changed later (subscriber access) are kept: config only seeds.
fn provision_pins(cfg: &Config, store: &dyn MailboxStore) -> Result<usize, String> {
    let mut n = 0;
    for m in &cfg.directory.mailboxes {
        let Some(p) = &m.initial_pin else { continue };
        if store
            .pin_hash(&m.extension)
            .map_err(|e| e.to_string())?
            .is_some()
        {
            continue;
        }
        let mut salt = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut salt);
        let h = pin::hash_pin(p, salt).map_err(|e| e.to_string())?;
        store
            .set_pin_hash(&m.extension, &h)
            .map_err(|e| e.to_string())?;
        n += 1;
    }
    Ok(n)
}

/// Bind SIP TCP and UDP on one port. Port 0 picks a port free for both.
fn bind_sip(
    cfg: &Config,
) -> std::io::Result<(std::net::TcpListener, Option<std::net::UdpSocket>, u16)> {
    let s = &cfg.service;
    let mut last_err = None;
    for _ in 0..50 {
        let tcp = std::net::TcpListener::bind(SocketAddr::new(s.sip_bind, s.sip_port))?;
        let port = tcp.local_addr()?.port();
        if !s.udp {
            return Ok((tcp, None, port));
        }
        match std::net::UdpSocket::bind(SocketAddr::new(s.sip_bind, port)) {
            Ok(u) => return Ok((tcp, Some(u), port)),
            Err(e) if s.sip_port == 0 => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| std::io::Error::other("no port free for both UDP and TCP")))
}

pub fn run(cfg: Config, data: PathBuf) -> Result<(), String> {
    std::fs::create_dir_all(&data)
        .map_err(|e| format!("cannot create data dir {}: {e}", data.display()))?;
    let sled = SledStore::open(&store_path(&data))
        .map_err(|e| format!("{}: {e}", store_path(&data).display()))?;
    let store: Arc<dyn MailboxStore> = Arc::new(sled);
    let hashed = provision_pins(&cfg, store.as_ref())?;
    let prompts = Arc::new(PromptLibrary::embedded().map_err(|e| e.to_string())?);
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();

    let (tcp, udp, sip_port) = bind_sip(&cfg)
        .map_err(|e| format!("cannot bind SIP port {}: {e}", cfg.service.sip_port))?;
    let admin_listener = std::net::TcpListener::bind(cfg.service.admin)
        .map_err(|e| format!("cannot bind admin address {}: {e}", cfg.service.admin))?;
    let admin_addr = admin_listener.local_addr().map_err(|e| e.to_string())?;
    let dir = Arc::new(cfg.directory.clone());
    let service = Arc::new(cfg.service.clone());

    let sys = System::new();
    let setup = sys.block_on(async {
        let store_for_actor = store.clone();
        let store_addr = SyncArbiter::start(1, move || StoreActor {
            store: store_for_actor.clone(),
        });
        let n = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let workers: Vec<_> = (0..n).map(|_| Arbiter::new().handle()).collect();
        tcp.set_nonblocking(true).map_err(|e| e.to_string())?;
        let tcp = tokio::net::TcpListener::from_std(tcp).map_err(|e| e.to_string())?;
        let udp = match udp {
            Some(u) => {
                u.set_nonblocking(true).map_err(|e| e.to_string())?;
                Some(Arc::new(
                    tokio::net::UdpSocket::from_std(u).map_err(|e| e.to_string())?,
                ))
            }
            None => None,
        };
        let endpoint = SipEndpoint::new(
            service.clone(),
            dir.clone(),
            udp.clone(),
            sip_port,
            workers,
            store_addr,
            prompts,
        )
        .start();
        if let Some(u) = udp {
            actix_rt::spawn(net::udp_loop(u, endpoint.clone()));
        }
        actix_rt::spawn(net::tcp_accept_loop(tcp, endpoint.clone()));

        let state = AdminState {
            store: store.clone(),
            dir: dir.clone(),
            endpoint: endpoint.clone(),
            metrics,
        };
        let http = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(actix_web::web::Data::new(state.clone()))
                .configure(admin::routes)
        })
        .workers(1)
        .disable_signals()
        .listen(admin_listener)
        .map_err(|e| e.to_string())?
        .run();
        actix_rt::spawn(http);

        let ep = endpoint.clone();
        actix_rt::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::error!(event = "signal_setup_failed");
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!(event = "signal_received");
            ep.do_send(Shutdown);
        });
        Ok::<_, String>(())
    });
    setup?;

    let runtime = Runtime {
        pid: std::process::id(),
        sip_port,
        admin_url: format!("http://{admin_addr}"),
    };
    let text = serde_json::to_string_pretty(&runtime).map_err(|e| e.to_string())?;
    std::fs::write(runtime_path(&data), text).map_err(|e| e.to_string())?;

    print_banner(&cfg, sip_port, admin_addr, &data, hashed);
    tracing::info!(event = "started", sip_port, admin = %admin_addr, data = %data.display());
    let r = sys.run().map_err(|e| e.to_string());
    let _ = std::fs::remove_file(runtime_path(&data));
    tracing::info!(event = "stopped");
    r
}

fn print_banner(cfg: &Config, sip_port: u16, admin: SocketAddr, data: &Path, hashed: usize) {
    let s = &cfg.service;
    let d = &cfg.directory;
    let mut out = String::new();
    out.push_str(&format!(
        "openum {} ({})\n",
        env!("CARGO_PKG_VERSION"),
        s.fqdn
    ));
    out.push_str(&format!(
        "  SIP      {}:{sip_port} TCP{}  (advertised as {})\n",
        s.sip_bind,
        if s.udp { " + UDP" } else { "" },
        s.address
    ));
    out.push_str(&format!(
        "  RTP      ports {}-{}\n",
        s.rtp_ports.0, s.rtp_ports.1
    ));
    out.push_str(&format!(
        "  admin    http://{admin}/  (GET /api/mailboxes/{{ext}}/messages, /metrics)\n"
    ));
    out.push_str(&format!(
        "  data     {}  ({} PIN(s) hashed this start)\n",
        data.display(),
        hashed
    ));
    out.push_str(&format!(
        "  limits   MaxCallsAllowed {}\n",
        s.max_calls_allowed
    ));
    for dp in &d.dial_plans {
        out.push_str(&format!(
            "  dial plan {} ({:?}, {} digits, {:?}), pilot(s) {}\n",
            dp.name,
            dp.uri_type,
            dp.extension_digits,
            dp.voip_security,
            dp.access_numbers.join(", ")
        ));
    }
    for aa in &d.auto_attendants {
        out.push_str(&format!(
            "  auto attendant {} on {} (not answered yet: 480)\n",
            aa.name,
            aa.pilots.join(", ")
        ));
    }
    for g in &d.gateways {
        out.push_str(&format!(
            "  IP gateway {} at {}:{}\n",
            g.name, g.address, g.port
        ));
    }
    for m in &d.mailboxes {
        out.push_str(&format!(
            "  mailbox {} {} ({})\n",
            m.extension, m.display_name, m.dial_plan
        ));
    }
    out.push_str(&format!(
        "Call sip:1001@{}:{sip_port} to leave Alice a message, or sip:4000@… with Diversion: <sip:1001@…>.\n",
        s.address
    ));
    print!("{out}");
}
